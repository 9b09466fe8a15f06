//! GPU compression: the `cz_encode_batch_warp` kernel (`cuda/frame_encode.cu`), one zstd frame
//! per item, byte-identical to the reference build's output (`crate::encode`).
//!
//! [`Gpu::compress_batch_device`] works on device-resident data; [`BatchCompressor`] is
//! the host-to-host convenience that stages inputs, launches and gathers the frames.

use cudarc::driver::sys::CUfunction_attribute;
use cudarc::driver::{CudaStream, CudaView, CudaViewMut, LaunchConfig, PushKernelArg};

use super::{Gpu, Module};
use crate::abi::{cz_batch_item, cz_item_result};
use crate::encode::EncodeOptions;
use crate::error::{CudaContext as _, Error, Result};

use super::staging::ALIGN;

/// Workspace bytes of one slot: one frame of at most `max_src_size` bytes at `level`,
/// rounded up to the slot alignment. The kernel encodes as many frames at once as the
/// workspace has slots.
pub fn workspace_slot_size(max_src_size: u64, level: i32) -> u64 {
    crate::gpu::reference_encode::workspace_size(max_src_size, level).next_multiple_of(ALIGN as u64)
}

/// Warps per block of `cz_encode_batch_warp` (`CZ_ENCODE_WARPS` in cuda/frame_encode.cu).
const ENCODE_WARPS: u64 = 4;

/// Shared memory bytes per warp: the encoder's counters (cz_encode_counters). The kernel could
/// also keep the hash table there (cz_encode_fast_size); measured on an H100 (2026-11-23,
/// silesia/xml, 64 KiB chunks) that ran slower (level 1: 5.4 against 10.1 GB/s), because the
/// table's 16 KiB per warp cut the resident warps per SM from 32 to about 12.
fn fast_stride() -> u32 {
    crate::gpu::reference_encode::counters_size().next_multiple_of(16) as u32
}

impl Gpu {
    /// Compresses each item's `src .. src + src_size` into one frame at `dst .. dst +
    /// dst_capacity`, asynchronously on `stream`; `results[i]` receives the status and the
    /// frame's size (`OUTPUT_TOO_SMALL` when dst_capacity is below what the item needs,
    /// which `crate::encode::compress_bound(src_size)` never is). `max_src_size` must be at
    /// least every item's src_size; `workspace` holds one or more slots of
    /// [`workspace_slot_size`]`(max_src_size, level)` bytes, and at most that many items are
    /// encoded concurrently, one warp each, in two launches: the match finder
    /// (`cz_encode_parse_batch_warp`, items of up to one block) and the rest
    /// (`cz_encode_batch_warp`).
    ///
    /// # Safety
    /// Until the stream has run this launch: every source range must be readable device
    /// memory of this context, every destination range writable device memory of this
    /// context, and no destination may overlap another item's destination, any source, the
    /// workspace or `results`.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn compress_batch_device(
        &self,
        stream: &CudaStream,
        items: &CudaView<'_, cz_batch_item>,
        max_src_size: u64,
        options: &EncodeOptions,
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
        let stride = workspace_slot_size(max_src_size, options.level);
        let slots = workspace.len() as u64 / stride;
        if slots == 0 {
            return Err(Error::InvalidArgument(format!(
                "workspace of {} bytes holds no slot of {stride} bytes",
                workspace.len()
            )));
        }
        // Warp g uses slot g; warps past min(slots, n) return at once.
        let warps = slots.min(n as u64);
        let grid = u32::try_from(warps.div_ceil(ENCODE_WARPS))
            .map_err(|_| Error::InvalidArgument("batch too large for one launch".into()))?;
        let fast_stride = fast_stride();
        let f = self.function(Module::FrameEncode, "cz_encode_batch_warp")?;
        let shared = (ENCODE_WARPS as u32) * fast_stride;
        if shared > 48 << 10 {
            f.set_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared as i32)
                .ctx("raising the encoder's shared memory limit")?;
        }
        // Shared memory carveout: what the resident blocks need (1 KiB of each block is the
        // system's), the rest of the multiprocessor's memory stays L1 cache for the match
        // finder's scattered reads. On an H100 (2026-11-24) this 25 % ran 3-8 % faster than the
        // driver's choice at levels 1 and 3 (docs/BENCHMARKS.md, "Warp encoder"). Always the
        // same value for a device, so concurrent launches agree.
        let per_sm = self.blocks_per_sm(Module::FrameEncode, "cz_encode_batch_warp", 32 * ENCODE_WARPS as u32)?;
        let need = per_sm as usize * (shared as usize + 1024);
        let carveout = (need * 100).div_ceil(self.props.max_shared_per_multiprocessor.max(1)).clamp(1, 100);
        f.set_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, carveout as i32)
            .ctx("setting the encoder's shared memory carveout")?;
        let level = options.level;
        // First pass: the match finder alone (cz_encode_parse_batch_warp: its registers
        // without spills, no shared memory so all of it is L1 cache), each item of one block
        // parsed into its slot; the encoder then takes the parses (CZ_ENCODE_PARSED) and parses
        // the rest itself. On an H100 (2026-11-25, 1 GiB, 64 KiB chunks, levels 1 / 3,
        // scripts/encode-bench.cu) the two passes ran 25 % / 13 % faster than one on
        // silesia/xml and 17 % / 9 % on the Canterbury texts (docs/BENCHMARKS.md, "Warp encoder").
        let parse = self.function(Module::FrameEncode, "cz_encode_parse_batch_warp")?;
        parse
            .set_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 0)
            .ctx("setting the parse kernel's shared memory carveout")?;
        let parse_cfg =
            LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (32 * ENCODE_WARPS as u32, 1, 1), shared_mem_bytes: 0 };
        let mut b = stream.launch_builder(&parse);
        b.arg(items).arg(&n32).arg(&level).arg(&mut *workspace).arg(&stride).arg(&slots);
        // SAFETY: the kernel reads the n descriptors of `items` and the source ranges they
        // name (readable by this function's contract) and writes only slot g of `stride`
        // bytes of `workspace` for each warp g < min(slots, grid * ENCODE_WARPS, n), every
        // one inside `workspace` (slots = workspace.len() / stride); stride >=
        // cz_encode_workspace_size of every item.
        unsafe { b.launch(parse_cfg) }.ctx("launching cz_encode_parse_batch_warp")?;
        let cfg = LaunchConfig {
            grid_dim: (grid, 1, 1),
            block_dim: (32 * ENCODE_WARPS as u32, 1, 1),
            shared_mem_bytes: shared,
        };
        let flags = options.flags() | crate::abi::CZ_ENCODE_PARSED;
        let mut b = stream.launch_builder(&f);
        b.arg(items).arg(&n32).arg(&level).arg(&flags).arg(workspace).arg(&stride).arg(&slots).arg(&fast_stride);
        b.arg(results);
        // SAFETY: the kernel reads the n descriptors of `items` and the source ranges they
        // name (readable by this function's contract), writes each destination only inside
        // its capacity (disjoint from everything else by contract), results[0..n)
        // (results.len() >= n), and slot g of `stride` bytes for each warp g < min(slots,
        // grid * ENCODE_WARPS), inside `workspace`, and its block's `shared` bytes of shared
        // memory (ENCODE_WARPS regions of fast_stride bytes). stride >=
        // cz_encode_workspace_size of every item, since every src_size <= max_src_size and the
        // size grows with src_size.
        unsafe { b.launch(cfg) }.ctx("launching cz_encode_batch_warp")?;
        Ok(())
    }
}

/// Host-to-host batch compression on the GPU: one frame per input, byte-identical to
/// `crate::encode::compress_batch` with the same options.
pub struct BatchCompressor<'g> {
    gpu: &'g Gpu,
    options: EncodeOptions,
    workspace_budget: usize,
}

impl<'g> BatchCompressor<'g> {
    /// A compressor with `options` whose workspace is at most 1/8 of the device's memory.
    pub fn new(gpu: &'g Gpu, options: EncodeOptions) -> Self {
        let workspace_budget = (gpu.props().total_memory / 8).max(64 << 20);
        Self { gpu, options, workspace_budget }
    }

    /// Sets the most workspace memory one call may use (at least one slot is always used).
    pub fn with_workspace_budget(mut self, bytes: usize) -> Self {
        self.workspace_budget = bytes;
        self
    }

    pub fn options(&self) -> &EncodeOptions {
        &self.options
    }

    /// Compresses each input into its own frame. The outer error is a device failure; the
    /// inner results are per input (an input of 4 GiB or more fails with
    /// `INVALID_ARGUMENT`).
    pub fn compress(&self, inputs: &[&[u8]]) -> Result<Vec<Result<Vec<u8>>>> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let capacities: Vec<usize> = inputs.iter().map(|s| crate::encode::compress_bound(s.len())).collect();
        let max_src = inputs.iter().map(|s| s.len() as u64).max().unwrap_or(0);
        let stride = workspace_slot_size(max_src, self.options.level) as usize;
        let slots = (self.workspace_budget / stride).clamp(1, inputs.len());
        let gpu = self.gpu;
        super::staging::run_batch(gpu, inputs, &capacities, stride * slots, |items, ws, res| {
            // SAFETY: run_batch's descriptors name its staged sources and disjoint destination
            // slots of compress_bound bytes; they, the workspace and the results live until
            // run_batch's copies after this launch; max_src bounds every source size.
            unsafe { gpu.compress_batch_device(gpu.stream(), items, max_src, &self.options, ws, res) }
        })
    }
}

/// The encoder as a pipeline kernel.
struct EncodeGroups<'a> {
    options: &'a EncodeOptions,
}

fn max_len(inputs: &[&[u8]]) -> u64 {
    inputs.iter().map(|s| s.len() as u64).max().unwrap_or(0)
}

impl super::pipeline::GroupKernel for EncodeGroups<'_> {
    fn workspace_bytes(&self, inputs: &[&[u8]], budget: usize) -> usize {
        let stride = workspace_slot_size(max_len(inputs), self.options.level) as usize;
        stride * (budget / stride).clamp(1, inputs.len().max(1))
    }

    #[allow(clippy::too_many_arguments)]
    fn launch(
        &self,
        _device: usize,
        gpu: &Gpu,
        stream: &CudaStream,
        inputs: &[&[u8]],
        items: &CudaView<'_, cz_batch_item>,
        workspace: &mut CudaViewMut<'_, u8>,
        results: &mut CudaViewMut<'_, cz_item_result>,
    ) -> Result<()> {
        // SAFETY: the pipeline's descriptors name its staged copies of `inputs` and disjoint
        // destinations of compress_bound bytes on this GPU; they, the workspace and the
        // results stay allocated until the stream has run the copies after this launch
        // (GroupKernel::launch); max_len(inputs) bounds every source size.
        unsafe { gpu.compress_batch_device(stream, items, max_len(inputs), self.options, workspace, results) }
    }
}

/// Compresses each input into its own frame on `gpus` through the overlapped pipeline
/// (`super::pipeline`): groups of about `pipeline.group_bytes` (input plus compress_bound
/// per input), `pipeline.in_flight` groups in flight per GPU. Frames are byte-identical to
/// [`BatchCompressor::compress`]; an item error names the input's index in `inputs`.
pub fn compress_pipelined(
    gpus: &[&Gpu],
    options: &EncodeOptions,
    inputs: &[&[u8]],
    pipeline: &crate::bulk::plan::PipelineOptions,
) -> Result<(Vec<Result<Vec<u8>>>, super::pipeline::PipelineStats)> {
    pipeline.validate().map_err(Error::InvalidArgument)?;
    let capacities: Vec<usize> = inputs.iter().map(|s| crate::encode::compress_bound(s.len())).collect();
    let groups =
        crate::bulk::plan::plan_groups(inputs.iter().zip(&capacities).map(|(s, c)| s.len() + c), pipeline.group_bytes);
    let config = super::pipeline::PipelineConfig { in_flight: pipeline.in_flight, workspace_per_group: None };
    super::pipeline::run(gpus, inputs, &capacities, &groups, config, &EncodeGroups { options }, None)
}
