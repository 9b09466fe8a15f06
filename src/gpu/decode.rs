//! GPU decompression: the `cz_decode_batch` kernel (`cuda/frame_decode.cu`). Each item is a
//! buffer of concatenated frames decoded into its own destination, with the same results
//! as the reference build (`crate::decode`).
//!
//! [`Gpu::decompress_batch_device`] works on device-resident data on the caller's stream;
//! [`BatchDecompressor`] is the host-to-host convenience (stage, launch, gather), with
//! dictionaries uploaded once and reused across batches.

use cudarc::driver::{sys, CudaSlice, CudaStream, CudaView, CudaViewMut, LaunchConfig, PushKernelArg};

use super::{device_address, Gpu, Module};
use crate::abi::{cz_batch_item, cz_item_result};
use crate::decode::{DecodeOptions, Dictionary};
use crate::error::{CudaContext as _, Error, Result};

use super::staging::ALIGN;
/// Warps per block of `cz_decode_batch_warp` (`CZ_DECODE_WARPS` in cuda/frame_decode.cu).
const WARPS_PER_BLOCK: u64 = 4;
/// Threads per block of `cz_decode_staged_sequences` (`CZ_STAGED_SEQ_LANES`).
const STAGED_SEQ_LANES: u32 = 32;
/// Threads of `cz_decode_staged_order`'s one block (`CZ_ORDER_BUCKETS`).
const STAGED_ORDER_THREADS: u32 = 1024;

/// Bytes of one decoder workspace slot (`cz_decode_workspace_size()`, rounded up to the slot
/// alignment). The kernel decodes as many items at once as the workspace has slots.
pub fn workspace_slot_size() -> u64 {
    (crate::gpu::reference_decode::workspace_size() as u64).next_multiple_of(ALIGN as u64)
}

/// Which kernel decodes a batch. All give the same results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecodeKernel {
    /// The staged decoder (`cuda/include/staged_decode.cuh`): four launches, literals by a
    /// warp per item, a one-block ordering of the items by their sequence counts, sequences
    /// by a thread per item, execution by a warp per item; small batches take a warp per
    /// item for sequences and execution instead ([`StagedSequences`]). Items it does not
    /// take (several frames, no content size, a dictionary, more sequences than a workspace
    /// slot holds, any error) are decoded as by [`DecodeKernel::Warp`] in the last launch.
    /// Needs a workspace slot per item; with fewer slots the batch runs as `Warp`. The
    /// default: faster than `Warp` on every file of docs/BENCHMARKS.md ("Staged decoder",
    /// "Small batches").
    #[default]
    Staged,
    /// [`DecodeKernel::Staged`] with its sequences and execute passes in the large-batch form
    /// whatever the batch size ([`StagedSequences::Lanes`]; for tests and measurements).
    StagedLanes,
    /// [`DecodeKernel::Staged`] with its sequences and execute passes in the small-batch form
    /// (a warp per item) whatever the batch size ([`StagedSequences::Solo`]; for tests and
    /// measurements).
    StagedSolo,
    /// `cz_decode_batch_warp`: the 32 lanes of a warp decode each item together (sequences
    /// executed 32 at a time, Huffman streams in parallel, copies split between lanes).
    Warp,
    /// `cz_decode_batch`: one thread decodes each item alone (one per 32-thread block). Slow;
    /// kept as an independent check of the warp kernel.
    Thread,
}

impl DecodeKernel {
    fn name(self) -> &'static str {
        match self {
            DecodeKernel::Thread => "cz_decode_batch",
            _ => "cz_decode_batch_warp",
        }
    }

    /// The form of the staged decoder's sequences and execute passes, for the staged kernels.
    fn staged_form(self) -> Option<StagedSequences> {
        match self {
            DecodeKernel::Staged => Some(StagedSequences::Auto),
            DecodeKernel::StagedLanes => Some(StagedSequences::Lanes),
            DecodeKernel::StagedSolo => Some(StagedSequences::Solo),
            DecodeKernel::Warp | DecodeKernel::Thread => None,
        }
    }
}

/// A dictionary resident on the device, for [`Gpu::decompress_batch_device`].
pub struct DeviceDictionary {
    bytes: CudaSlice<u8>,
    id: u32,
}

impl DeviceDictionary {
    /// The Dictionary_ID (0 for raw content).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The dictionary bytes on the device.
    pub fn bytes(&self) -> &CudaSlice<u8> {
        &self.bytes
    }
}

impl Gpu {
    /// Copies a dictionary to the device (synchronously on the work stream) for reuse by
    /// any number of batches.
    pub fn upload_dictionary(&self, dict: &Dictionary) -> Result<DeviceDictionary> {
        let bytes = self.stream.clone_htod(dict.as_bytes()).ctx("copying a dictionary to the device")?;
        Ok(DeviceDictionary { bytes, id: dict.id() })
    }

    /// Decodes each item's `src .. src + src_size` (concatenated frames) into `dst .. dst +
    /// dst_capacity`, asynchronously on `stream`; `results[i]` receives the status, the
    /// failing frame and block in `detail` ((frame << 16) | block) and the decoded size.
    /// `workspace` holds one or more slots of [`workspace_slot_size`] bytes; at most that
    /// many items are decoded concurrently. `dict`, when given, is used for every item.
    /// `kernel` picks the implementation ([`DecodeKernel`]).
    ///
    /// # Safety
    /// Until the stream has run this launch: every source range must be readable device
    /// memory of this context, every destination range writable device memory of this
    /// context, and no destination may overlap another item's destination, any source, the
    /// dictionary, the workspace or `results`.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn decompress_batch_device(
        &self,
        stream: &CudaStream,
        items: &CudaView<'_, cz_batch_item>,
        dict: Option<&DeviceDictionary>,
        options: &DecodeOptions,
        kernel: DecodeKernel,
        workspace: &mut CudaViewMut<'_, u8>,
        results: &mut CudaViewMut<'_, cz_item_result>,
    ) -> Result<()> {
        let n = items.len();
        if n > results.len() {
            return Err(Error::InvalidArgument(format!("{n} items but room for {} results", results.len())));
        }
        let n32 = u32::try_from(n).map_err(|_| Error::InvalidArgument("more than 2^32 items".into()))?;
        if n == 0 {
            return Ok(());
        }
        let stride = workspace_slot_size();
        let slots = workspace.len() as u64 / stride;
        if slots == 0 {
            return Err(Error::InvalidArgument(format!(
                "workspace of {} bytes holds no slot of {stride} bytes",
                workspace.len()
            )));
        }
        if let Some(form) = kernel.staged_form() {
            if slots >= n as u64 {
                return self
                    .decompress_staged(stream, items, n32, dict, options, workspace, stride, results, form, None);
            }
        }
        let teams = slots.min(n as u64);
        let (grid, block) = match kernel {
            DecodeKernel::Thread => (teams, 32),
            _ => (teams.div_ceil(WARPS_PER_BLOCK), 32 * WARPS_PER_BLOCK as u32),
        };
        let grid = u32::try_from(grid).map_err(|_| Error::InvalidArgument("batch too large for one launch".into()))?;
        let (dict_addr, dict_size) = match dict {
            Some(d) => (device_address(&d.bytes, stream), d.bytes.len() as u64),
            None => (0u64, 0u64),
        };
        let f = self.function(Module::FrameDecode, kernel.name())?;
        let cfg = LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (block, 1, 1), shared_mem_bytes: 0 };
        let max_window = options.max_window_size;
        let mut b = stream.launch_builder(&f);
        b.arg(items)
            .arg(&n32)
            .arg(&dict_addr)
            .arg(&dict_size)
            .arg(workspace)
            .arg(&stride)
            .arg(&slots)
            .arg(&max_window)
            .arg(results);
        // SAFETY: the kernel reads the n descriptors of `items`, the source ranges they name
        // (readable by this function's contract) and dict[0 .. dict_size) (a live device
        // slice of that length, or null with size 0); it writes each destination only inside
        // its capacity (disjoint from everything else by contract), results[0..n)
        // (results.len() >= n), and workspace slots g < slots of `stride` >=
        // cz_decode_workspace_size() bytes, all inside `workspace` (slots = len / stride); the
        // kernels use no slot at or past `slots`. The warp kernel's block is 32 *
        // WARPS_PER_BLOCK threads, the size its launch bounds are declared for.
        unsafe { b.launch(cfg) }.ctx("launching a decode kernel")?;
        Ok(())
    }
}

/// After a [`DecodeKernel::Staged`] launch that had a slot per item: whether the staged
/// passes (rather than the warp decoder they fall back to) decoded the item whose workspace
/// slot (copied to the host) this is. For tests and diagnostics.
pub fn staged_slot_decoded(slot: &[u8]) -> bool {
    let at = crate::gpu::reference_decode::staged_mode_offset();
    slot.get(at..at + 4).is_some_and(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) == 1)
}

/// The form of the staged decoder's sequences and execute passes (a diagnostic choice; the
/// decoder picks by batch size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagedSequences {
    /// Each pass solo for batches of at most its items per multiprocessor
    /// ([`SOLO_ITEMS_PER_SM`], [`SOLO_EXECUTE_ITEMS_PER_SM`]), else as `Lanes`.
    Auto,
    /// Sequences by a thread per item, items ordered by work (`cz_decode_staged_order`,
    /// `cz_decode_staged_sequences`), execution by a warp per item in the destination: the
    /// most items in flight.
    Lanes,
    /// A warp per item in both passes: sequences by a short chain over the bitstream and
    /// tables in shared memory (`cz_decode_staged_sequences_solo`), execution in shared
    /// memory for items of up to 64 KiB (`cz_decode_staged_execute_solo`): the shortest time
    /// per item.
    Solo,
}

/// Items per multiprocessor up to which the staged decoder's sequences pass takes a warp
/// per item (as [`StagedSequences::Solo`]): measured faster than the thread per item up to
/// 1,024 items on an H100 (docs/BENCHMARKS.md, "Small batches").
pub const SOLO_ITEMS_PER_SM: u32 = 8;

/// Items per multiprocessor up to which the staged decoder's execute pass builds each item
/// in shared memory (64 KiB a block: three fit an SM, one wave).
pub const SOLO_EXECUTE_ITEMS_PER_SM: u32 = 3;

impl Gpu {
    /// [`Gpu::decompress_batch_device`] with the staged kernel, recording an event on `stream`
    /// before, between and after its four launches (literals, order, sequences, execute) so that
    /// [`super::elapsed_ms`] between neighbours times each pass once the stream has run them.
    /// A diagnostic: fails when the workspace has fewer slots than items.
    ///
    /// # Safety
    /// As [`Gpu::decompress_batch_device`].
    pub unsafe fn decompress_staged_phases(
        &self,
        stream: &CudaStream,
        items: &CudaView<'_, cz_batch_item>,
        options: &DecodeOptions,
        workspace: &mut CudaViewMut<'_, u8>,
        results: &mut CudaViewMut<'_, cz_item_result>,
        form: StagedSequences,
    ) -> Result<Vec<cudarc::driver::CudaEvent>> {
        let n = u32::try_from(items.len()).map_err(|_| Error::InvalidArgument("more than 2^32 items".into()))?;
        let stride = workspace_slot_size();
        if (workspace.len() as u64 / stride) < u64::from(n) || results.len() < items.len() {
            return Err(Error::InvalidArgument(
                "the staged decoder needs a workspace slot and a result per item".into(),
            ));
        }
        let mut events = Vec::with_capacity(5);
        self.decompress_staged(stream, items, n, None, options, workspace, stride, results, form, Some(&mut events))?;
        Ok(events)
    }

    /// The four launches of the staged decoder (three with the solo sequences pass, which
    /// needs no order); item i uses workspace slot i (the caller checked slots >= n). With
    /// `events`, records one before, between and after them (the solo form records the
    /// order's two events back to back).
    #[allow(clippy::too_many_arguments)]
    fn decompress_staged(
        &self,
        stream: &CudaStream,
        items: &CudaView<'_, cz_batch_item>,
        n: u32,
        dict: Option<&DeviceDictionary>,
        options: &DecodeOptions,
        workspace: &mut CudaViewMut<'_, u8>,
        stride: u64,
        results: &mut CudaViewMut<'_, cz_item_result>,
        form: StagedSequences,
        mut events: Option<&mut Vec<cudarc::driver::CudaEvent>>,
    ) -> Result<()> {
        let mark = |events: &mut Option<&mut Vec<cudarc::driver::CudaEvent>>| -> Result<()> {
            if let Some(v) = events.as_deref_mut() {
                v.push(self.timing_event(stream)?);
            }
            Ok(())
        };
        mark(&mut events)?;
        let dict_size = dict.map_or(0u64, |d| d.bytes.len() as u64);
        let max_window = options.max_window_size;
        let warp_grid = u32::try_from((n as u64).div_ceil(WARPS_PER_BLOCK))
            .map_err(|_| Error::InvalidArgument("batch too large for one launch".into()))?;
        let warp_cfg = LaunchConfig {
            grid_dim: (warp_grid, 1, 1),
            block_dim: (32 * WARPS_PER_BLOCK as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        let lit = self.function(Module::FrameDecode, "cz_decode_staged_literals")?;
        let mut b = stream.launch_builder(&lit);
        b.arg(items).arg(&n).arg(&dict_size).arg(&mut *workspace).arg(&stride).arg(&max_window);
        // SAFETY: the kernel reads the n descriptors of `items` and the source ranges they
        // name (readable by decompress_batch_device's contract); warp g < n writes only slot
        // g of `workspace` (n slots of `stride` bytes fit: checked by the caller) and item g's
        // destination inside its capacity. Block size 32 * WARPS_PER_BLOCK matches the
        // kernel's launch bounds and its per-warp shared tables.
        unsafe { b.launch(warp_cfg) }.ctx("launching the staged decoder (literals)")?;
        mark(&mut events)?;
        let sms = self.props().multiprocessors;
        let (solo, solo_execute) = match form {
            StagedSequences::Solo => (true, true),
            StagedSequences::Lanes => (false, false),
            StagedSequences::Auto => (n <= SOLO_ITEMS_PER_SM * sms, n <= SOLO_EXECUTE_ITEMS_PER_SM * sms),
        };
        if solo {
            mark(&mut events)?;
            let seq = self.function(Module::FrameDecode, "cz_decode_staged_sequences_solo")?;
            let smem = crate::gpu::reference_decode::staged_solo_smem();
            seq.set_attribute(sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem as i32)
                .ctx("setting the staged decoder's shared memory")?;
            let seq_cfg = LaunchConfig { grid_dim: (n, 1, 1), block_dim: (32, 1, 1), shared_mem_bytes: smem };
            let mut b = stream.launch_builder(&seq);
            b.arg(items).arg(&n).arg(&mut *workspace).arg(&stride);
            // SAFETY: block g < n reads item g's source and writes only slot g of `workspace`
            // (n slots of `stride` bytes fit: checked by the caller); one warp per block, the
            // kernel's launch bounds, and the cz_ref_staged_solo_smem() bytes of dynamic shared
            // memory it stages a bitstream in (allowed just above).
            unsafe { b.launch(seq_cfg) }.ctx("launching the staged decoder (solo sequences)")?;
        } else {
            self.staged_order_and_sequences(stream, items, n, workspace, stride, &mut events)?;
        }
        mark(&mut events)?;
        self.staged_execute(stream, items, n, dict, options, workspace, stride, results, warp_cfg, solo_execute)?;
        mark(&mut events)?;
        Ok(())
    }

    /// The thread-per-item sequences pass and the order it needs (StagedSequences::Lanes).
    fn staged_order_and_sequences(
        &self,
        stream: &CudaStream,
        items: &CudaView<'_, cz_batch_item>,
        n: u32,
        workspace: &mut CudaViewMut<'_, u8>,
        stride: u64,
        events: &mut Option<&mut Vec<cudarc::driver::CudaEvent>>,
    ) -> Result<()> {
        let order = self.function(Module::FrameDecode, "cz_decode_staged_order")?;
        let order_cfg =
            LaunchConfig { grid_dim: (1, 1, 1), block_dim: (STAGED_ORDER_THREADS, 1, 1), shared_mem_bytes: 0 };
        let mut b = stream.launch_builder(&order);
        b.arg(&n).arg(&mut *workspace).arg(&stride);
        // SAFETY: reads the work counts and writes the order fields of slots 0 .. n of
        // `workspace` (n slots of `stride` bytes fit, as above); one block of
        // STAGED_ORDER_THREADS threads, the kernel's launch bounds and bucket count.
        unsafe { b.launch(order_cfg) }.ctx("launching the staged decoder (order)")?;
        if let Some(v) = events.as_deref_mut() {
            v.push(self.timing_event(stream)?);
        }
        let seq = self.function(Module::FrameDecode, "cz_decode_staged_sequences")?;
        let smem = crate::gpu::reference_decode::staged_sequences_smem();
        seq.set_attribute(sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem as i32)
            .ctx("setting the staged decoder's shared memory")?;
        let seq_cfg = LaunchConfig {
            grid_dim: (n.div_ceil(STAGED_SEQ_LANES), 1, 1),
            block_dim: (STAGED_SEQ_LANES, 1, 1),
            shared_mem_bytes: smem,
        };
        let mut b = stream.launch_builder(&seq);
        b.arg(items).arg(&n).arg(&mut *workspace).arg(&stride);
        // SAFETY: thread g < n reads item g's source and writes only slot g of `workspace`
        // (as above); STAGED_SEQ_LANES threads per block, the kernel's launch bounds, and the
        // CZ_STAGED_SEQ_SMEM bytes of shared memory its lanes divide (allowed just above).
        unsafe { b.launch(seq_cfg) }.ctx("launching the staged decoder (sequences)")?;
        Ok(())
    }

    /// The staged decoder's last launch (execution, and the fallback for items the passes
    /// left): block shape `warp_cfg` as for the literals launch, or with `solo` a warp per
    /// item that builds each item of up to 64 KiB in shared memory.
    #[allow(clippy::too_many_arguments)]
    fn staged_execute(
        &self,
        stream: &CudaStream,
        items: &CudaView<'_, cz_batch_item>,
        n: u32,
        dict: Option<&DeviceDictionary>,
        options: &DecodeOptions,
        workspace: &mut CudaViewMut<'_, u8>,
        stride: u64,
        results: &mut CudaViewMut<'_, cz_item_result>,
        warp_cfg: LaunchConfig,
        solo: bool,
    ) -> Result<()> {
        let (dict_addr, dict_size) = match dict {
            Some(d) => (device_address(&d.bytes, stream), d.bytes.len() as u64),
            None => (0u64, 0u64),
        };
        let max_window = options.max_window_size;
        let (exec, cfg) = if solo {
            let f = self.function(Module::FrameDecode, "cz_decode_staged_execute_solo")?;
            let smem = crate::gpu::reference_decode::staged_solo_out_smem();
            f.set_attribute(sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem as i32)
                .ctx("setting the staged decoder's shared memory")?;
            (f, LaunchConfig { grid_dim: (n, 1, 1), block_dim: (32, 1, 1), shared_mem_bytes: smem })
        } else {
            (self.function(Module::FrameDecode, "cz_decode_staged_execute")?, warp_cfg)
        };
        let mut b = stream.launch_builder(&exec);
        b.arg(items)
            .arg(&n)
            .arg(&dict_addr)
            .arg(&dict_size)
            .arg(&mut *workspace)
            .arg(&stride)
            .arg(&max_window)
            .arg(results);
        // SAFETY: warp g < n reads item g's source, slot g and dict[0 .. dict_size) (a live
        // device slice of that length, or null with size 0), writes item g's destination
        // inside its capacity, slot g (as a decoder workspace when it falls back: stride >=
        // cz_decode_workspace_size()) and results[g] (results.len() >= n, checked by the
        // caller). Block size as for the literals launch; the solo kernel takes one warp per
        // block (its launch bounds) and the cz_ref_staged_solo_out_smem() bytes of dynamic
        // shared memory allowed just above.
        unsafe { b.launch(cfg) }.ctx("launching the staged decoder (execute)")?;
        Ok(())
    }
}

/// Host-to-host batch decompression on the GPU: one output per input buffer, each the
/// concatenation of the input's frames, as `crate::decode::decompress` gives.
pub struct BatchDecompressor<'g> {
    gpu: &'g Gpu,
    options: DecodeOptions,
    dict: Option<DeviceDictionary>,
    kernel: DecodeKernel,
    workspace_budget: usize,
}

impl<'g> BatchDecompressor<'g> {
    /// A decompressor with `options` whose workspace is at most 1/8 of the device's memory.
    pub fn new(gpu: &'g Gpu, options: DecodeOptions) -> Self {
        let workspace_budget = (gpu.props().total_memory / 8).max(64 << 20);
        Self { gpu, options, dict: None, kernel: DecodeKernel::default(), workspace_budget }
    }

    /// Uses `dict` for every input of every later batch (uploaded once, here).
    pub fn with_dictionary(mut self, dict: &Dictionary) -> Result<Self> {
        self.dict = Some(self.gpu.upload_dictionary(dict)?);
        Ok(self)
    }

    /// Sets the most workspace memory one call may use (at least one slot is always used).
    pub fn with_workspace_budget(mut self, bytes: usize) -> Self {
        self.workspace_budget = bytes;
        self
    }

    /// Picks the kernel ([`DecodeKernel::Warp`] unless set).
    pub fn with_kernel(mut self, kernel: DecodeKernel) -> Self {
        self.kernel = kernel;
        self
    }

    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    /// Decodes each input into a buffer sized from its frame headers (content sizes where
    /// present, else the block-size bound; inputs whose headers do not parse get 0 bytes and
    /// fail on the device). The outer error is a device failure; the inner results are per
    /// input (`Error::Item` with the input's index).
    pub fn decompress(&self, inputs: &[&[u8]]) -> Result<Vec<Result<Vec<u8>>>> {
        let caps: Vec<usize> = inputs
            .iter()
            .map(|s| match crate::decode::frames_info(s) {
                Ok(i) => i.content_size.unwrap_or(i.bound).min(self.options.max_output_size) as usize,
                Err(_) => 0,
            })
            .collect();
        self.decompress_with_capacities(inputs, &caps)
    }

    /// Decodes each input into a buffer of `capacities[i]` bytes.
    pub fn decompress_with_capacities(&self, inputs: &[&[u8]], capacities: &[usize]) -> Result<Vec<Result<Vec<u8>>>> {
        if inputs.len() != capacities.len() {
            return Err(Error::InvalidArgument(format!("{} inputs and {} capacities", inputs.len(), capacities.len())));
        }
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let stride = workspace_slot_size() as usize;
        let slots = (self.workspace_budget / stride).clamp(1, inputs.len().max(1));
        let gpu = self.gpu;
        super::staging::run_batch(gpu, inputs, capacities, stride * slots, |items, ws, res| {
            // SAFETY: run_batch's descriptors name its staged sources and disjoint destination
            // slots of the given capacities; they, the dictionary (owned by self), the
            // workspace and the results live until run_batch's copies after this launch.
            unsafe {
                gpu.decompress_batch_device(
                    gpu.stream(),
                    items,
                    self.dict.as_ref(),
                    &self.options,
                    self.kernel,
                    ws,
                    res,
                )
            }
        })
    }
}

/// Output capacity for decoding `src` (concatenated frames): the content sizes where the
/// headers give them, else the block-size bound, at most `options.max_output_size`; 0 when
/// the headers do not parse (the device then reports the error).
pub fn output_capacity(src: &[u8], options: &DecodeOptions) -> usize {
    match crate::decode::frames_info(src) {
        Ok(i) => i.content_size.unwrap_or(i.bound).min(options.max_output_size) as usize,
        Err(_) => 0,
    }
}

/// The decoder as a pipeline kernel: one uploaded dictionary per GPU.
struct DecodeGroups<'a> {
    options: &'a DecodeOptions,
    dicts: Vec<DeviceDictionary>,
}

impl super::pipeline::GroupKernel for DecodeGroups<'_> {
    fn workspace_bytes(&self, inputs: &[&[u8]], budget: usize) -> usize {
        let stride = workspace_slot_size() as usize;
        stride * (budget / stride).clamp(1, inputs.len().max(1))
    }

    #[allow(clippy::too_many_arguments)]
    fn launch(
        &self,
        device: usize,
        gpu: &Gpu,
        stream: &CudaStream,
        _inputs: &[&[u8]],
        items: &CudaView<'_, cz_batch_item>,
        workspace: &mut CudaViewMut<'_, u8>,
        results: &mut CudaViewMut<'_, cz_item_result>,
    ) -> Result<()> {
        let dict = self.dicts.get(device);
        // SAFETY: the pipeline's descriptors name its staged inputs and disjoint destinations
        // of the given capacities on this GPU; they, the workspace and the results stay
        // allocated until the stream has run the copies after this launch
        // (GroupKernel::launch); the dictionary was uploaded to this same GPU (dicts[device])
        // and lives as long as self.
        unsafe {
            gpu.decompress_batch_device(stream, items, dict, self.options, DecodeKernel::default(), workspace, results)
        }
    }
}

/// Decodes each input (concatenated frames) into its own output on `gpus` through the
/// overlapped pipeline (`super::pipeline`), with capacities from [`output_capacity`];
/// results equal [`BatchDecompressor::decompress`]'s. An item error names the input's index.
pub fn decompress_pipelined(
    gpus: &[&Gpu],
    options: &DecodeOptions,
    dict: Option<&Dictionary>,
    inputs: &[&[u8]],
    pipeline: &crate::bulk::plan::PipelineOptions,
) -> Result<(Vec<Result<Vec<u8>>>, super::pipeline::PipelineStats)> {
    let capacities: Vec<usize> = inputs.iter().map(|s| output_capacity(s, options)).collect();
    decode_pipelined(gpus, options, dict, inputs, &capacities, None, pipeline)
}

/// [`decompress_pipelined`] for inputs whose decoded sizes are known (every frame has a
/// Frame_Content_Size): output i is written into `outputs[i]`, which must be exactly that
/// long; a frame that decodes to another size fails (CONTENT_SIZE_MISMATCH or INTERNAL).
/// The results hold empty Vecs for the items written. Saves one host copy of every output.
pub fn decompress_pipelined_into(
    gpus: &[&Gpu],
    options: &DecodeOptions,
    dict: Option<&Dictionary>,
    inputs: &[&[u8]],
    outputs: &super::pipeline::Sinks<'_>,
    pipeline: &crate::bulk::plan::PipelineOptions,
) -> Result<(Vec<Result<Vec<u8>>>, super::pipeline::PipelineStats)> {
    let capacities: Vec<usize> =
        outputs.iter().map(|m| m.lock().map(|d| d.len()).unwrap_or_else(|e| e.into_inner().len())).collect();
    decode_pipelined(gpus, options, dict, inputs, &capacities, Some(outputs), pipeline)
}

fn decode_pipelined(
    gpus: &[&Gpu],
    options: &DecodeOptions,
    dict: Option<&Dictionary>,
    inputs: &[&[u8]],
    capacities: &[usize],
    sinks: Option<&super::pipeline::Sinks<'_>>,
    pipeline: &crate::bulk::plan::PipelineOptions,
) -> Result<(Vec<Result<Vec<u8>>>, super::pipeline::PipelineStats)> {
    pipeline.validate().map_err(Error::InvalidArgument)?;
    let groups =
        crate::bulk::plan::plan_groups(inputs.iter().zip(capacities).map(|(s, c)| s.len() + c), pipeline.group_bytes);
    let dicts = match dict {
        // Empty when there is no dictionary: dicts.get(device) is then None for every GPU.
        Some(d) => gpus.iter().map(|g| g.upload_dictionary(d)).collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let config = super::pipeline::PipelineConfig { in_flight: pipeline.in_flight, workspace_per_group: None };
    super::pipeline::run(gpus, inputs, capacities, &groups, config, &DecodeGroups { options, dicts }, sinks)
}
