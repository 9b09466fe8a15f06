//! The GPU runtime: the only module of the crate that uses cudarc or `unsafe`.
//!
//! [`Gpu`] owns a CUDA context on one device, a work stream, the lazily loaded kernel
//! modules (fatbins embedded at build time, see build.rs), a stream-ordered device memory
//! pool and a pinned host pool. Each kernel has one safe method here; every launch carries a
//! `SAFETY:` comment stating why its arguments satisfy the kernel's contract (written
//! above the kernel in `cuda/`).

pub mod cublas;
pub mod decode;
pub mod device_jobs;
pub mod encode;
pub mod llm;
pub mod nvcomp;
pub mod pipeline;
pub mod pool;
pub mod reference;
pub mod reference_decode;
pub mod reference_encode;
pub mod reference_zipper;
mod staging;
pub mod zipper;
pub mod zipper_stream;

use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{
    sys, CudaContext, CudaEvent, CudaFunction, CudaModule, CudaSlice, CudaStream, CudaView, CudaViewMut, DevicePtr,
    DeviceRepr, LaunchConfig, PushKernelArg, ValidAsZeroBits,
};
use cudarc::nvrtc::Ptx;

use crate::abi::cz_batch_item;
use crate::error::{CudaContext as _, Error, Result};
pub use pool::{DeviceBuffer, DevicePool, PinnedBuffer, PinnedPool};

pub(crate) use reference::{status_message as reference_status_message, status_name as reference_status_name};

/// The embedded kernel modules, one per `cuda/*.cu`.
pub mod kernels {
    include!(concat!(env!("OUT_DIR"), "/kernels.rs"));
}

// SAFETY: cz_batch_item is a #[repr(C)] struct of four u64 (abi.h), plain data on both sides.
unsafe impl DeviceRepr for cz_batch_item {}
// SAFETY: all-zero bits are a valid cz_batch_item (null addresses, zero sizes).
unsafe impl ValidAsZeroBits for cz_batch_item {}
// SAFETY: cz_item_result is #[repr(C)] {u32, u32, u64}, plain data on both sides.
unsafe impl DeviceRepr for crate::abi::cz_item_result {}
// SAFETY: zero is CZ_STATUS_OK with size 0, a valid value.
unsafe impl ValidAsZeroBits for crate::abi::cz_item_result {}

/// Kernel modules; each is loaded into the context on first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    AbiProbe,
    Xxhash64,
    FrameEncode,
    FrameDecode,
    Zipper,
    Llm,
}

impl Module {
    const ALL: [Module; 6] =
        [Module::AbiProbe, Module::Xxhash64, Module::FrameEncode, Module::FrameDecode, Module::Zipper, Module::Llm];

    fn image(self) -> &'static [u8] {
        match self {
            Module::AbiProbe => kernels::ABI_PROBE,
            Module::Xxhash64 => kernels::XXHASH64,
            Module::FrameEncode => kernels::FRAME_ENCODE,
            Module::FrameDecode => kernels::FRAME_DECODE,
            Module::Zipper => kernels::ZIPPER,
            Module::Llm => kernels::LLM,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|m| *m == self).unwrap()
    }
}

/// What the runtime reads off the device once.
#[derive(Debug, Clone)]
pub struct DeviceProps {
    pub ordinal: usize,
    pub name: String,
    pub compute_capability: (i32, i32),
    pub multiprocessors: u32,
    pub total_memory: usize,
    pub l2_bytes: usize,
    /// Shared memory a block may opt into (`cudaFuncSetAttribute`), in bytes.
    pub max_shared_per_block_optin: usize,
    /// Shared memory of one multiprocessor at the largest carveout, in bytes.
    pub max_shared_per_multiprocessor: usize,
    /// Driver API version, e.g. 13000 for CUDA 13.0.
    pub driver_version: i32,
}

/// A handle on one GPU. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    modules: [OnceLock<Arc<CudaModule>>; Module::ALL.len()],
    functions: Mutex<Vec<(Module, &'static str, CudaFunction)>>,
    /// Resident blocks per multiprocessor of (module, kernel, threads per block), no dynamic
    /// shared memory: a driver query per kernel, not per launch.
    occupancy: Mutex<Vec<(Module, &'static str, u32, u32)>>,
    props: DeviceProps,
    pool: DevicePool,
    pinned: PinnedPool,
    poison: Option<u8>,
    /// Launch the kernels that support it with programmatic stream serialization (sm_90+).
    programmatic: std::sync::atomic::AtomicBool,
    /// Run batch-1 zipper layers with a literal dictionary through `zp_fused1_*`.
    batch1_fused: std::sync::atomic::AtomicBool,
}

/// Whether the NVIDIA driver library can be loaded on this machine.
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen libcuda; no driver call is made.
    unsafe { sys::is_culib_present() }
}

/// Number of CUDA devices, or an error naming why there are none.
pub fn device_count() -> Result<usize> {
    if !driver_present() {
        return Err(Error::NoDevice("the NVIDIA driver library (libcuda.so) was not found".into()));
    }
    let n = CudaContext::device_count().ctx("counting devices")?;
    Ok(n.max(0) as usize)
}

/// Settings of a [`Gpu`] handle.
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuOptions {
    /// Fill every recycled device buffer with this byte before reuse, so a kernel that fails
    /// to write part of its output is caught by tests (costs a memset per reuse).
    pub pool_poison: Option<u8>,
}

impl Gpu {
    /// Opens device `ordinal`: creates its context and a work stream, reads its properties.
    pub fn new(ordinal: usize) -> Result<Self> {
        Self::with_options(ordinal, GpuOptions::default())
    }

    /// [`Gpu::new`] with settings.
    pub fn with_options(ordinal: usize, options: GpuOptions) -> Result<Self> {
        let count = device_count()?;
        if ordinal >= count {
            return Err(Error::NoDevice(format!("device {ordinal} requested, {count} present")));
        }
        let ctx = CudaContext::new(ordinal).ctx("creating the CUDA context")?;
        let stream = ctx.new_stream().ctx("creating a stream")?;
        let attr = |a| ctx.attribute(a).ctx("reading a device attribute");
        use sys::CUdevice_attribute::*;
        let mut driver_version = 0i32;
        // SAFETY: writes one int through a valid pointer.
        unsafe { sys::cuDriverGetVersion(&mut driver_version) }.result().ctx("reading the driver version")?;
        let props = DeviceProps {
            ordinal,
            name: ctx.name().ctx("reading the device name")?,
            compute_capability: ctx.compute_capability().ctx("reading the compute capability")?,
            multiprocessors: attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as u32,
            total_memory: ctx.total_mem().ctx("reading the memory size")?,
            l2_bytes: attr(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)? as usize,
            max_shared_per_block_optin: attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)? as usize,
            max_shared_per_multiprocessor: attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR)? as usize,
            driver_version,
        };
        let pool = pool::device_pool(stream.clone(), options.pool_poison);
        let pinned = pool::pinned_pool(ctx.clone());
        let programmatic = std::sync::atomic::AtomicBool::new(props.compute_capability.0 >= 9);
        Ok(Self {
            ctx,
            stream,
            modules: Default::default(),
            functions: Mutex::new(Vec::new()),
            occupancy: Mutex::new(Vec::new()),
            props,
            pool,
            pinned,
            poison: options.pool_poison,
            programmatic,
            batch1_fused: std::sync::atomic::AtomicBool::new(true),
        })
    }

    pub fn props(&self) -> &DeviceProps {
        &self.props
    }

    /// Whether the kernels that support it (the zipper's fused, base and GEMV kernels) are
    /// launched with programmatic stream serialization: each may start, and fetch its weights
    /// or decode its first delta tile, while the kernel before it in the stream ends. On by default on compute capability 9.0 and newer
    /// (where it exists); `false` gives ordinary launches, for comparison.
    pub fn set_programmatic_launch(&self, on: bool) {
        let on = on && self.props.compute_capability.0 >= 9;
        self.programmatic.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// See [`Gpu::set_programmatic_launch`].
    pub fn programmatic_launch(&self) -> bool {
        self.programmatic.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether zipper layers at batch 1 whose tiles are literal frames (a literal dictionary, no
    /// rounding, rows of at least 4096 bytes read as 16-byte vectors, at most 16 rows a tile)
    /// run through the batch-1 fused kernel
    /// (`zp_fused1_*`: the base GEMV's shape plus a decoding warp per block) rather than the
    /// general fused kernel (`zp_linear_*`). On by default; `false` is for comparison.
    pub fn set_batch1_fused_kernel(&self, on: bool) {
        self.batch1_fused.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// See [`Gpu::set_batch1_fused_kernel`].
    pub fn batch1_fused_kernel(&self) -> bool {
        self.batch1_fused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Launches `f` on `stream` (cuLaunchKernelEx), with programmatic stream serialization when
    /// `programmatic`. The caller orders the buffers' use on `stream` (cudarc's `device_ptr`
    /// guards, held until this returns, do that).
    ///
    /// # Safety
    /// `params` point to the kernel's arguments, in its order and with its types (device
    /// pointers as `u64` addresses), valid until the call returns; grid, block, shared memory and
    /// arguments satisfy the kernel's contract; with `programmatic`, that contract allows
    /// programmatic launches (before `griddepcontrol.wait` the kernel reads nothing an earlier
    /// kernel writes and writes nothing an earlier kernel uses).
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn launch_ex(
        &self,
        f: &CudaFunction,
        stream: &CudaStream,
        grid: u32,
        block: u32,
        shared: u32,
        params: &mut [*mut std::ffi::c_void],
        programmatic: bool,
    ) -> Result<()> {
        let mut attr = sys::CUlaunchAttribute {
            id: sys::CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION,
            pad: [0; 4],
            // SAFETY: all-zero bytes are a valid value of this C union of plain data.
            value: unsafe { std::mem::zeroed() },
        };
        attr.value.programmaticStreamSerializationAllowed = 1;
        let cfg = sys::CUlaunchConfig {
            gridDimX: grid,
            gridDimY: 1,
            gridDimZ: 1,
            blockDimX: block,
            blockDimY: 1,
            blockDimZ: 1,
            sharedMemBytes: shared,
            hStream: stream.cu_stream(),
            attrs: &mut attr,
            numAttrs: u32::from(programmatic),
        };
        self.ctx.bind_to_thread().ctx("binding the context")?;
        // SAFETY: the caller's contract (above); cfg and attr live until the call returns.
        unsafe { sys::cuLaunchKernelEx(&cfg, f.cu_function(), params.as_mut_ptr(), std::ptr::null_mut()) }
            .result()
            .ctx("launching a kernel")
    }

    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The stream the convenience methods use.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// A new stream on this device, for callers that overlap work.
    pub fn new_stream(&self) -> Result<Arc<CudaStream>> {
        self.ctx.new_stream().ctx("creating a stream")
    }

    /// The device memory pool of the work stream.
    pub fn pool(&self) -> &DevicePool {
        &self.pool
    }

    /// A device pool on another stream; `poison` as in [`crate::pool::Pool::new`].
    pub fn new_pool(&self, stream: Arc<CudaStream>, poison: Option<u8>) -> DevicePool {
        pool::device_pool(stream, poison)
    }

    /// The poison byte of this handle's pools ([`GpuOptions::pool_poison`]); pools made for
    /// other streams by the pipeline use it too.
    pub fn pool_poison(&self) -> Option<u8> {
        self.poison
    }

    /// The pinned host pool.
    pub fn pinned_pool(&self) -> &PinnedPool {
        &self.pinned
    }

    fn module(&self, m: Module) -> Result<Arc<CudaModule>> {
        let slot = &self.modules[m.index()];
        if let Some(module) = slot.get() {
            return Ok(module.clone());
        }
        let module = self.ctx.load_module(Ptx::from_binary(m.image().to_vec())).ctx("loading a kernel module")?;
        Ok(slot.get_or_init(|| module).clone())
    }

    /// Blocks of `block` threads (no dynamic shared memory) of kernel `name` that fit on one
    /// multiprocessor, at least 1; queried once per kernel and block size.
    fn blocks_per_sm(&self, m: Module, name: &'static str, block: u32) -> Result<u32> {
        let mut cache = self.occupancy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&(_, _, _, n)) = cache.iter().find(|(mm, nn, b, _)| *mm == m && *nn == name && *b == block) {
            return Ok(n);
        }
        let f = self.function(m, name)?;
        let n = f.occupancy_max_active_blocks_per_multiprocessor(block, 0, None).ctx("reading a kernel's occupancy")?;
        cache.push((m, name, block, n.max(1)));
        Ok(n.max(1))
    }

    fn function(&self, m: Module, name: &'static str) -> Result<CudaFunction> {
        let mut cache = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, f)) = cache.iter().find(|(mm, n, _)| *mm == m && *n == name) {
            return Ok(f.clone());
        }
        let f = self.module(m)?.load_function(name).ctx("looking up a kernel")?;
        cache.push((m, name, f.clone()));
        Ok(f)
    }

    /// The ABI layout table (see `cuda/include/abi_layout.cuh`) as the device compiler sees it.
    pub fn abi_probe(&self) -> Result<Vec<u64>> {
        let f = self.function(Module::AbiProbe, "cz_abi_probe")?;
        let cap = 256u32;
        let mut table = self.stream.alloc_zeros::<u64>(cap as usize).ctx("allocating the probe table")?;
        let mut count = self.stream.alloc_zeros::<u32>(1).ctx("allocating the probe count")?;
        let cfg = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (1, 1, 1), shared_mem_bytes: 0 };
        let mut b = self.stream.launch_builder(&f);
        b.arg(&mut table).arg(&cap).arg(&mut count);
        // SAFETY: cz_abi_probe writes at most `cap` u64 into `table` (cap entries allocated)
        // and one u32 into `count`.
        unsafe { b.launch(cfg) }.ctx("launching cz_abi_probe")?;
        let n = self.stream.clone_dtoh(&count).ctx("reading the probe count")?[0] as usize;
        let mut t = self.stream.clone_dtoh(&table).ctx("reading the probe table")?;
        if n > t.len() {
            return Err(Error::InvalidArgument(format!("ABI table of {n} entries exceeds the probe's {cap}")));
        }
        t.truncate(n);
        Ok(t)
    }

    /// XXH64 of each device buffer described by `items` (only `src` and `src_size` are
    /// read), written to `out[0..items.len())`, asynchronously on `stream`.
    ///
    /// # Safety
    /// Every `items[i].src .. + src_size` must be readable device memory of this context
    /// until the stream has run this launch; the kernel reads exactly those bytes.
    /// [`Gpu::xxh64_batch`] is the safe host-to-host form.
    pub unsafe fn xxh64_batch_device(
        &self,
        stream: &CudaStream,
        items: &CudaView<'_, cz_batch_item>,
        seed: u64,
        out: &mut CudaViewMut<'_, u64>,
    ) -> Result<()> {
        let n = items.len();
        if n > out.len() {
            return Err(Error::InvalidArgument(format!("{n} items but room for {} hashes", out.len())));
        }
        let n32 = u32::try_from(n).map_err(|_| Error::InvalidArgument("more than 2^32 items".into()))?;
        if n == 0 {
            return Ok(());
        }
        let f = self.function(Module::Xxhash64, "cz_xxh64_batch")?;
        const BLOCK: u32 = 256;
        let grid = u32::try_from((4 * n as u64).div_ceil(BLOCK as u64))
            .map_err(|_| Error::InvalidArgument("batch too large for one launch".into()))?;
        let cfg = LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (BLOCK, 1, 1), shared_mem_bytes: 0 };
        let mut b = stream.launch_builder(&f);
        b.arg(items).arg(&n32).arg(&seed).arg(out);
        // SAFETY: the grid has >= 4n threads in blocks of 256 (a multiple of 32), as the
        // kernel requires; it reads the n descriptors of `items` and the ranges they describe
        // (readable by this function's contract), and writes out[0..n) (out.len() >= n).
        unsafe { b.launch(cfg) }.ctx("launching cz_xxh64_batch")?;
        Ok(())
    }

    /// XXH64 of each host buffer, computed on the GPU: the inputs are packed into one pinned
    /// staging buffer (each start aligned to 16 bytes), copied to pooled device memory,
    /// hashed, and the hashes copied back.
    pub fn xxh64_batch(&self, inputs: &[&[u8]], seed: u64) -> Result<Vec<u64>> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let mut offsets = Vec::with_capacity(inputs.len());
        let mut total = 0usize;
        for b in inputs {
            offsets.push(total);
            total = (total + b.len()).next_multiple_of(16);
        }
        let total = total.max(16);
        let mut staging = self.pinned.alloc(total)?;
        {
            let host = staging.buf_mut().as_mut_slice().ctx("mapping pinned memory")?;
            for (b, &o) in inputs.iter().zip(&offsets) {
                host[o..o + b.len()].copy_from_slice(b);
            }
        }
        let mut data = self.pool.alloc(total)?;
        {
            let mut dst = data.buf_mut().slice_mut(..total);
            self.stream
                .memcpy_htod(&staging.buf().as_slice().ctx("mapping pinned memory")?[..total], &mut dst)
                .ctx("copying inputs to the device")?;
        }
        let base = device_address(data.buf(), &self.stream);
        let items: Vec<cz_batch_item> = inputs
            .iter()
            .zip(&offsets)
            .map(|(b, &o)| cz_batch_item { src: base + o as u64, src_size: b.len() as u64, dst: 0, dst_capacity: 0 })
            .collect();
        let d_items = self.stream.clone_htod(&items).ctx("copying descriptors")?;
        let n = inputs.len();
        let mut d_out = self.pool.alloc(n * 8)?;
        let hashes = {
            // SAFETY: the pooled buffer holds at least n * 8 bytes, and u64 has no invalid bit
            // patterns; the kernel writes all n values before they are read back.
            let mut out = unsafe { d_out.buf_mut().transmute_mut::<u64>(n) }.expect("pooled buffer holds n hashes");
            // SAFETY: every item lies inside `data`, which lives until after the synchronising
            // copy below.
            unsafe { self.xxh64_batch_device(&self.stream, &d_items.as_view(), seed, &mut out)? };
            self.stream.clone_dtoh(&out).ctx("copying hashes back")?
        };
        Ok(hashes)
    }

    /// Records an event on `stream` that can time work (`elapsed_ms`).
    pub fn timing_event(&self, stream: &CudaStream) -> Result<CudaEvent> {
        stream.record_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT)).ctx("recording an event")
    }

    /// Records the work `f` enqueues on `stream` into a CUDA graph instead of running it, for
    /// replay with [`GpuGraph::launch`] (one host call for all of it, as an inference engine
    /// runs a decoding step). `f` must enqueue everything on `stream` and nothing that
    /// synchronises or allocates from the host (uploads, `clone_dtoh`, pool growth). An error
    /// from `f` or from the capture ends the capture and is returned.
    ///
    /// # Safety
    /// Every device buffer the recorded work uses must stay allocated, and must not be used by
    /// another stream, until the graph's last replay has finished (the graph keeps their
    /// addresses, not the buffers); and no other thread may use this GPU while `f` runs:
    /// cudarc's automatic ordering of slices between streams is off during the capture (its
    /// events would tie the graph to work outside it), so the replayed work is ordered only by
    /// `stream`.
    pub unsafe fn capture_graph(&self, stream: &Arc<CudaStream>, f: impl FnOnce() -> Result<()>) -> Result<GpuGraph> {
        let tracking = self.ctx.is_event_tracking();
        // SAFETY: tracking is turned off only for the capture, whose work is ordered by the one
        // capturing stream (the caller's contract), and restored below on every path.
        unsafe { self.ctx.disable_event_tracking() };
        let restore = || {
            if tracking {
                // SAFETY: restores the context's earlier setting.
                unsafe { self.ctx.enable_event_tracking() };
            }
        };
        if let Err(e) = stream.begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) {
            restore();
            return Err(e).ctx("beginning a graph capture");
        }
        let body = f();
        let ended = stream.end_capture(sys::CUgraphInstantiate_flags(0));
        restore();
        body?;
        match ended.ctx("ending a graph capture")? {
            Some(graph) => Ok(GpuGraph { graph }),
            None => Err(Error::InvalidArgument("the graph capture recorded nothing".into())),
        }
    }
}

/// Work recorded by [`Gpu::capture_graph`], replayed on the stream it was captured from.
pub struct GpuGraph {
    graph: cudarc::driver::CudaGraph,
}

impl GpuGraph {
    /// Enqueues one replay of the recorded work on its stream.
    pub fn launch(&self) -> Result<()> {
        self.graph.launch().ctx("launching a CUDA graph")
    }
}

/// A kernel parameter for [`Gpu::launch_ex`]: the address of the argument's value.
pub(crate) fn param<T>(v: &T) -> *mut std::ffi::c_void {
    (v as *const T).cast_mut().cast()
}

/// Milliseconds between two events recorded by [`Gpu::timing_event`].
pub fn elapsed_ms(start: &CudaEvent, end: &CudaEvent) -> Result<f32> {
    start.elapsed_ms(end).ctx("reading event times")
}

/// Device address of a slice (for building `cz_batch_item` tables).
pub fn device_address<T>(slice: &CudaSlice<T>, stream: &CudaStream) -> u64 {
    let (ptr, _sync) = slice.device_ptr(stream);
    ptr
}
