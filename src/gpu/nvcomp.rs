//! nvCOMP 6.x batched Zstandard, loaded at run time: the baseline of the benchmark harness.
//!
//! This file is the only place with nvCOMP FFI. The bindings are a minimal hand-written
//! subset of `include/nvcomp/zstd.h`, `nvcomp.h` and `nvcomp/shared_types.h` of the
//! `nvidia-libnvcomp-cu13` 6.0 wheel; `libnvcomp.so.6` is opened with libloading from
//! `NVCOMP_LIB`, next to the executable, `./lib/`, or the dynamic linker's search path
//! ([`Nvcomp::load`]). Nothing links against nvCOMP at build time.
//!
//! It also holds the device-side plumbing the harness needs for any GPU batch codec:
//! [`Layout`] (where each chunk of a batch lives in one buffer, a pure function),
//! [`DeviceChunks`] (a batch in device memory with the pointer and size arrays nvCOMP-style
//! APIs take), and the two timers: [`time_device`] (CUDA events around the batch call) and
//! [`time_host_to_host`] (events around pinned upload, the call, and pinned download).
//!
//! Every buffer a job hands to nvCOMP is allocated on the job's stream, so its stream-ordered
//! free cannot overtake the work that uses it.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cudarc::driver::{result as cu, sys, CudaSlice, CudaStream, DevicePtr};

use super::{Gpu, PinnedBuffer};
use crate::error::{CudaContext as _, Error as CrateError};

/// `nvcompStatus_t` (a C enum, `int` on every supported ABI).
type RawStatus = c_int;
/// `cudaStream_t`, the same handle as the driver's `CUstream`.
type RawStream = *mut c_void;

const NVCOMP_SUCCESS: RawStatus = 0;

/// `nvcompBatchedZstdCompressOpts_t`: 64 reserved bytes that must be zero.
#[repr(C)]
#[derive(Clone, Copy)]
struct CompressOpts {
    reserved: [c_char; 64],
}

/// `nvcompBatchedZstdDecompressOpts_t`: the backend (`nvcompDecompressBackend_t`) and 60
/// reserved zero bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct DecompressOpts {
    backend: c_int,
    reserved: [c_char; 60],
}

/// `NVCOMP_DECOMPRESS_BACKEND_DEFAULT`: nvCOMP picks the hardware engine or CUDA.
const BACKEND_DEFAULT: c_int = 0;

const COMPRESS_OPTS: CompressOpts = CompressOpts { reserved: [0; 64] };
const DECOMPRESS_OPTS: DecompressOpts = DecompressOpts { backend: BACKEND_DEFAULT, reserved: [0; 60] };

/// `nvcompProperties_t`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RawProperties {
    version: u32,
    cudart_version: u32,
}

/// `nvcompAlignmentRequirements_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Alignments {
    pub input: usize,
    pub output: usize,
    pub temp: usize,
}

type GetPropertiesFn = unsafe extern "C" fn(*mut RawProperties) -> RawStatus;
type GetStatusStringFn = unsafe extern "C" fn(RawStatus) -> *const c_char;
type CompressAlignFn = unsafe extern "C" fn(CompressOpts, *mut Alignments) -> RawStatus;
type DecompressAlignFn = unsafe extern "C" fn(DecompressOpts, *mut Alignments) -> RawStatus;
/// (num_chunks, max_uncompressed_chunk_bytes, opts, *temp_bytes, max_total_uncompressed_bytes, stream)
type CompressTempFn = unsafe extern "C" fn(usize, usize, CompressOpts, *mut usize, usize, RawStream) -> RawStatus;
/// (max_uncompressed_chunk_bytes, opts, *max_compressed_chunk_bytes)
type CompressMaxOutFn = unsafe extern "C" fn(usize, CompressOpts, *mut usize) -> RawStatus;
/// (uncompressed_ptrs, uncompressed_bytes, max_uncompressed_chunk_bytes, num_chunks, temp, temp_bytes,
///  compressed_ptrs, compressed_bytes, opts, statuses, stream)
type CompressAsyncFn = unsafe extern "C" fn(
    *const *const c_void,
    *const usize,
    usize,
    usize,
    *mut c_void,
    usize,
    *const *mut c_void,
    *mut usize,
    CompressOpts,
    *mut RawStatus,
    RawStream,
) -> RawStatus;
/// (num_chunks, max_uncompressed_chunk_bytes, opts, *temp_bytes, max_total_uncompressed_bytes, stream)
type DecompressTempFn = unsafe extern "C" fn(usize, usize, DecompressOpts, *mut usize, usize, RawStream) -> RawStatus;
/// (compressed_ptrs, compressed_bytes, uncompressed_buffer_bytes, uncompressed_chunk_bytes, num_chunks,
///  temp, temp_bytes, uncompressed_ptrs, opts, statuses, stream)
type DecompressAsyncFn = unsafe extern "C" fn(
    *const *const c_void,
    *const usize,
    *const usize,
    *mut usize,
    usize,
    *mut c_void,
    usize,
    *const *mut c_void,
    DecompressOpts,
    *mut RawStatus,
    RawStream,
) -> RawStatus;

/// What can go wrong with nvCOMP.
#[derive(Debug, thiserror::Error)]
pub enum NvcompError {
    /// No `libnvcomp.so.6` in any place searched.
    #[error("nvCOMP not found (searched: {0})")]
    NotFound(String),
    /// The library was found but lacks a symbol of the 6.x API.
    #[error("{path}: symbol {symbol} missing ({source}); is it nvCOMP 6.x?")]
    Symbol {
        path: String,
        symbol: &'static str,
        #[source]
        source: libloading::Error,
    },
    /// An nvCOMP call returned an error status.
    #[error("{call} returned {status} ({message})")]
    Call { call: &'static str, status: i32, message: String },
    /// One chunk of a batch failed.
    #[error("chunk {index}: nvCOMP status {status} ({message})")]
    Chunk { index: usize, status: i32, message: String },
    /// A chunk's reported size is impossible (larger than its buffer, or not the expected size).
    #[error("chunk {index}: size {size} bytes, should be {expected}")]
    ChunkSize { index: usize, size: usize, expected: String },
    #[error(transparent)]
    Gpu(#[from] CrateError),
}

impl From<cudarc::driver::DriverError> for NvcompError {
    fn from(source: cudarc::driver::DriverError) -> Self {
        NvcompError::Gpu(CrateError::Cuda { context: "a CUDA call for nvCOMP", source })
    }
}

pub type Result<T, E = NvcompError> = std::result::Result<T, E>;

/// The nvCOMP library, loaded, with the entry points the harness uses.
pub struct Nvcomp {
    path: PathBuf,
    version: u32,
    cudart_version: u32,
    get_status_string: GetStatusStringFn,
    compress_align: CompressAlignFn,
    decompress_align: DecompressAlignFn,
    compress_temp: CompressTempFn,
    compress_max_out: CompressMaxOutFn,
    compress_async: CompressAsyncFn,
    decompress_temp: DecompressTempFn,
    decompress_async: DecompressAsyncFn,
    // Declared last so the function pointers above never outlive it.
    _lib: libloading::Library,
}

const LIB_NAME: &str = "libnvcomp.so.6";

/// The places [`Nvcomp::load`] tries, in order: `explicit`, `NVCOMP_LIB` (a file, or a
/// folder holding the library), the executable's folder and its `lib/`, `./lib/`, then the
/// bare name for the dynamic linker (`LD_LIBRARY_PATH`, ldconfig), then common install
/// folders.
pub fn candidate_paths(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut push_file_or_dir = |p: PathBuf| {
        if p.is_dir() {
            out.push(p.join(LIB_NAME));
        } else {
            out.push(p);
        }
    };
    if let Some(p) = explicit {
        push_file_or_dir(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("NVCOMP_LIB") {
        push_file_or_dir(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        out.push(dir.join(LIB_NAME));
        out.push(dir.join("lib").join(LIB_NAME));
    }
    out.push(PathBuf::from("lib").join(LIB_NAME));
    out.push(PathBuf::from(LIB_NAME));
    for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/lib", "/usr/local/cuda/lib64", "/opt/nvcomp/lib"]
    {
        out.push(Path::new(dir).join(LIB_NAME));
    }
    out
}

impl Nvcomp {
    /// Loads nvCOMP from the first of [`candidate_paths`] that opens.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let candidates = candidate_paths(explicit);
        let mut tried = Vec::new();
        for path in &candidates {
            // A bare name goes to the dynamic linker; a path must exist.
            let bare = path.components().count() == 1;
            if !bare && !path.is_file() {
                continue;
            }
            // SAFETY: opening a shared library runs its initialisers; libnvcomp's only set up
            // its own state (static CUDA runtime, logging) and touch nothing of ours.
            match unsafe { libloading::Library::new(path) } {
                Ok(lib) => return Self::from_library(lib, path.clone()),
                Err(e) => tried.push(format!("{} ({e})", path.display())),
            }
        }
        if tried.is_empty() {
            tried.push(candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
        }
        Err(NvcompError::NotFound(tried.join("; ")))
    }

    fn from_library(lib: libloading::Library, path: PathBuf) -> Result<Self> {
        let shown = path.display().to_string();
        macro_rules! sym {
            ($name:literal, $ty:ty) => {{
                // SAFETY: the symbol has the C signature `$ty`, transcribed from the nvCOMP 6.0
                // headers (see the type alias); the pointer is copied out and stored next to
                // the Library, which outlives it.
                let s: libloading::Symbol<$ty> = unsafe { lib.get(concat!($name, "\0").as_bytes()) }
                    .map_err(|source| NvcompError::Symbol { path: shown.clone(), symbol: $name, source })?;
                *s
            }};
        }
        let get_properties = sym!("nvcompGetProperties", GetPropertiesFn);
        let get_status_string = sym!("nvcompGetStatusString", GetStatusStringFn);
        let compress_align = sym!("nvcompBatchedZstdCompressGetRequiredAlignments", CompressAlignFn);
        let decompress_align = sym!("nvcompBatchedZstdDecompressGetRequiredAlignments", DecompressAlignFn);
        let compress_temp = sym!("nvcompBatchedZstdCompressGetTempSize", CompressTempFn);
        let compress_max_out = sym!("nvcompBatchedZstdCompressGetMaxOutputChunkSize", CompressMaxOutFn);
        let compress_async = sym!("nvcompBatchedZstdCompressAsync", CompressAsyncFn);
        let decompress_temp = sym!("nvcompBatchedZstdDecompressGetTempSize", DecompressTempFn);
        let decompress_async = sym!("nvcompBatchedZstdDecompressAsync", DecompressAsyncFn);
        let mut props = RawProperties::default();
        // SAFETY: nvcompGetProperties writes one nvcompProperties_t through a valid pointer.
        let st = unsafe { get_properties(&mut props) };
        let mut nv = Self {
            path,
            version: 0,
            cudart_version: 0,
            get_status_string,
            compress_align,
            decompress_align,
            compress_temp,
            compress_max_out,
            compress_async,
            decompress_temp,
            decompress_async,
            _lib: lib,
        };
        nv.check("nvcompGetProperties", st)?;
        nv.version = props.version;
        nv.cudart_version = props.cudart_version;
        Ok(nv)
    }

    /// Where the library was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The library version, e.g. "6.0.0" (from `nvcompGetProperties`).
    pub fn version(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", v / 1000, (v % 1000) / 100, v % 100)
    }

    /// The CUDA runtime version nvCOMP was built with, e.g. "13.0 (13000)" (raw value in
    /// parentheses, as `nvcompGetProperties` reports it).
    pub fn cudart_version(&self) -> String {
        let v = self.cudart_version;
        format!("{}.{} ({v})", v / 1000, (v % 1000) / 10)
    }

    /// nvCOMP's sentence for a status.
    pub fn status_string(&self, status: i32) -> String {
        // SAFETY: nvcompGetStatusString takes any status value and returns a pointer to a
        // static NUL-terminated string (or null, handled below).
        let p = unsafe { (self.get_status_string)(status) };
        if p.is_null() {
            return "unknown status".into();
        }
        // SAFETY: non-null pointers from nvcompGetStatusString point at static C strings.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    fn check(&self, call: &'static str, status: RawStatus) -> Result<()> {
        if status == NVCOMP_SUCCESS {
            Ok(())
        } else {
            Err(NvcompError::Call { call, status, message: self.status_string(status) })
        }
    }

    /// Buffer alignments nvCOMP requires for compression.
    pub fn compress_alignments(&self) -> Result<Alignments> {
        let mut a = Alignments::default();
        // SAFETY: passes the options by value (a 64-byte plain struct, as declared) and a
        // valid pointer to one nvcompAlignmentRequirements_t.
        let st = unsafe { (self.compress_align)(COMPRESS_OPTS, &mut a) };
        self.check("nvcompBatchedZstdCompressGetRequiredAlignments", st)?;
        Ok(a)
    }

    /// Buffer alignments nvCOMP requires for decompression.
    pub fn decompress_alignments(&self) -> Result<Alignments> {
        let mut a = Alignments::default();
        // SAFETY: options by value (int + 60 bytes, as declared) and a valid out pointer.
        let st = unsafe { (self.decompress_align)(DECOMPRESS_OPTS, &mut a) };
        self.check("nvcompBatchedZstdDecompressGetRequiredAlignments", st)?;
        Ok(a)
    }

    /// Largest compressed size of a chunk of at most `max_chunk` bytes.
    pub fn max_compressed_chunk_size(&self, max_chunk: usize) -> Result<usize> {
        let mut out = 0usize;
        // SAFETY: plain values in, one size_t written through a valid pointer.
        let st = unsafe { (self.compress_max_out)(max_chunk, COMPRESS_OPTS, &mut out) };
        self.check("nvcompBatchedZstdCompressGetMaxOutputChunkSize", st)?;
        Ok(out)
    }

    /// Plans the compression of every chunk of `input` into its own output slot: allocates
    /// the slots, the scratch and the statuses on `input`'s stream. Nothing runs yet.
    pub fn compress_job<'a>(&'a self, input: &'a DeviceChunks) -> Result<CompressJob<'a>> {
        let stream = input.stream.clone();
        let n = input.len();
        let max_chunk = input.layout.lens.iter().copied().max().unwrap_or(0);
        let total = input.layout.lens.iter().sum::<usize>();
        let align = self.compress_alignments()?;
        check_alignment(&input.layout, align.input, "compression input")?;
        let mut temp_bytes = 0usize;
        stream.context().bind_to_thread()?;
        // SAFETY: plain values in, one size_t written through a valid pointer; the stream
        // handle is live (owned by `input`) and the call enqueues nothing.
        let st = unsafe { (self.compress_temp)(n, max_chunk, COMPRESS_OPTS, &mut temp_bytes, total, raw(&stream)) };
        self.check("nvcompBatchedZstdCompressGetTempSize", st)?;
        let slot = self.max_compressed_chunk_size(max_chunk)?;
        let output = DeviceChunks::alloc(&stream, Layout::slots(&vec![slot; n], align.output.max(8)))?;
        let temp = stream.alloc_zeros::<u8>(temp_bytes.max(1))?;
        let statuses = stream.alloc_zeros::<i32>(n.max(1))?;
        Ok(CompressJob { nv: self, input, output, temp, temp_bytes, statuses, max_chunk })
    }

    /// Plans the decompression of every frame of `frames` into a buffer of `out_lens[i]`
    /// bytes (the exact decompressed sizes; outputs are packed back to back).
    pub fn decompress_job<'a>(&'a self, frames: &'a DeviceChunks, out_lens: &[usize]) -> Result<DecompressJob<'a>> {
        let stream = frames.stream.clone();
        let n = frames.len();
        if out_lens.len() != n {
            return Err(CrateError::InvalidArgument(format!("{} output sizes for {n} frames", out_lens.len())).into());
        }
        let max_chunk = out_lens.iter().copied().max().unwrap_or(0);
        let total = out_lens.iter().sum::<usize>();
        let align = self.decompress_alignments()?;
        check_alignment(&frames.layout, align.input, "decompression input")?;
        let mut temp_bytes = 0usize;
        stream.context().bind_to_thread()?;
        // SAFETY: plain values in, one size_t written through a valid pointer; live stream,
        // nothing enqueued.
        let st = unsafe { (self.decompress_temp)(n, max_chunk, DECOMPRESS_OPTS, &mut temp_bytes, total, raw(&stream)) };
        self.check("nvcompBatchedZstdDecompressGetTempSize", st)?;
        let output = DeviceChunks::alloc(&stream, Layout::packed(out_lens, align.output.max(1)))?;
        let temp = stream.alloc_zeros::<u8>(temp_bytes.max(1))?;
        let statuses = stream.alloc_zeros::<i32>(n.max(1))?;
        Ok(DecompressJob { nv: self, frames, output, temp, temp_bytes, statuses })
    }

    fn gather_statuses(&self, stream: &Arc<CudaStream>, statuses: &CudaSlice<i32>, n: usize) -> Result<()> {
        let st = stream.clone_dtoh(statuses)?;
        if let Some((index, &status)) = st.iter().take(n).enumerate().find(|(_, &s)| s != NVCOMP_SUCCESS) {
            return Err(NvcompError::Chunk { index, status, message: self.status_string(status) });
        }
        Ok(())
    }
}

fn raw(stream: &CudaStream) -> RawStream {
    stream.cu_stream() as RawStream
}

fn check_alignment(layout: &Layout, align: usize, what: &str) -> Result<()> {
    if let Some(i) = layout.offsets.iter().position(|o| align > 1 && o % align != 0) {
        return Err(CrateError::InvalidArgument(format!(
            "{what}: chunk {i} at offset {} is not aligned to {align} bytes",
            layout.offsets[i]
        ))
        .into());
    }
    Ok(())
}

/// One nvCOMP compression of a batch, ready to launch any number of times.
pub struct CompressJob<'a> {
    nv: &'a Nvcomp,
    input: &'a DeviceChunks,
    output: DeviceChunks,
    temp: CudaSlice<u8>,
    temp_bytes: usize,
    statuses: CudaSlice<i32>,
    max_chunk: usize,
}

impl CompressJob<'_> {
    /// Enqueues `nvcompBatchedZstdCompressAsync` on the stream; returns without waiting.
    pub fn launch(&self) -> Result<()> {
        let stream = self.input.stream.clone();
        stream.context().bind_to_thread()?;
        let n = self.input.len();
        if n == 0 {
            return Ok(());
        }
        let (in_ptrs, _g1) = self.input.d_ptrs.device_ptr(&stream);
        let (in_lens, _g2) = self.input.d_lens.device_ptr(&stream);
        let (temp, _g3) = self.temp.device_ptr(&stream);
        let (out_ptrs, _g4) = self.output.d_ptrs.device_ptr(&stream);
        let (out_lens, _g5) = self.output.d_lens.device_ptr(&stream);
        let (statuses, _g6) = self.statuses.device_ptr(&stream);
        // SAFETY: every pointer is device memory of this context allocated on `stream`:
        // `n` input pointers/sizes describing ranges inside `input.data` (Layout keeps them in
        // bounds and aligned as nvCOMP asked), `n` output pointers to slots of
        // GetMaxOutputChunkSize(max_chunk) bytes each inside `output.data`, `n` size_t and
        // `n` status entries to write, and `temp_bytes` of scratch as GetTempSize asked for
        // these n, max_chunk and total. All of them live in `self`/`self.input` and are
        // freed in stream order, after this work.
        let st = unsafe {
            (self.nv.compress_async)(
                in_ptrs as usize as *const *const c_void,
                in_lens as usize as *const usize,
                self.max_chunk,
                n,
                temp as usize as *mut c_void,
                self.temp_bytes,
                out_ptrs as usize as *const *mut c_void,
                out_lens as usize as *mut usize,
                COMPRESS_OPTS,
                statuses as usize as *mut RawStatus,
                raw(&stream),
            )
        };
        self.nv.check("nvcompBatchedZstdCompressAsync", st)
    }

    /// Waits for the stream, checks every chunk's status and records the compressed sizes.
    pub fn finish(&mut self) -> Result<&DeviceChunks> {
        let stream = self.input.stream.clone();
        stream.synchronize()?;
        self.nv.gather_statuses(&stream, &self.statuses, self.input.len())?;
        self.output.read_lens()?;
        Ok(&self.output)
    }

    /// The output slots (sizes valid after [`CompressJob::finish`]).
    pub fn output(&self) -> &DeviceChunks {
        &self.output
    }
}

/// One nvCOMP decompression of a batch, ready to launch any number of times.
pub struct DecompressJob<'a> {
    nv: &'a Nvcomp,
    frames: &'a DeviceChunks,
    output: DeviceChunks,
    temp: CudaSlice<u8>,
    temp_bytes: usize,
    statuses: CudaSlice<i32>,
}

impl DecompressJob<'_> {
    /// Enqueues `nvcompBatchedZstdDecompressAsync` on the stream; returns without waiting.
    pub fn launch(&self) -> Result<()> {
        let stream = self.frames.stream.clone();
        stream.context().bind_to_thread()?;
        let n = self.frames.len();
        if n == 0 {
            return Ok(());
        }
        let (in_ptrs, _g1) = self.frames.d_ptrs.device_ptr(&stream);
        let (in_lens, _g2) = self.frames.d_lens.device_ptr(&stream);
        let (out_caps, _g3) = self.output.d_caps.device_ptr(&stream);
        let (out_lens, _g4) = self.output.d_lens.device_ptr(&stream);
        let (temp, _g5) = self.temp.device_ptr(&stream);
        let (out_ptrs, _g6) = self.output.d_ptrs.device_ptr(&stream);
        let (statuses, _g7) = self.statuses.device_ptr(&stream);
        // SAFETY: device memory of this context allocated on `stream`: `n` frame pointers and
        // sizes inside `frames.data` (aligned as nvCOMP asked), `n` output capacities and `n`
        // output pointers to disjoint ranges of exactly that many bytes inside `output.data`,
        // `n` size_t and `n` statuses to write, and the scratch GetTempSize asked for. All
        // live in `self`/`self.frames` and are freed in stream order, after this work.
        let st = unsafe {
            (self.nv.decompress_async)(
                in_ptrs as usize as *const *const c_void,
                in_lens as usize as *const usize,
                out_caps as usize as *const usize,
                out_lens as usize as *mut usize,
                n,
                temp as usize as *mut c_void,
                self.temp_bytes,
                out_ptrs as usize as *const *mut c_void,
                DECOMPRESS_OPTS,
                statuses as usize as *mut RawStatus,
                raw(&stream),
            )
        };
        self.nv.check("nvcompBatchedZstdDecompressAsync", st)
    }

    /// Waits, checks every chunk's status and that each decoded to its expected size.
    pub fn finish(&mut self) -> Result<&DeviceChunks> {
        let stream = self.frames.stream.clone();
        stream.synchronize()?;
        self.nv.gather_statuses(&stream, &self.statuses, self.frames.len())?;
        self.output.read_lens()?;
        let l = &self.output.layout;
        if let Some(i) = (0..l.len()).find(|&i| l.lens[i] != l.capacities[i]) {
            return Err(NvcompError::ChunkSize {
                index: i,
                size: l.lens[i],
                expected: format!("{} (the chunk's original size)", l.capacities[i]),
            });
        }
        Ok(&self.output)
    }

    /// The decompressed chunks, packed back to back (valid after [`DecompressJob::finish`]).
    pub fn output(&self) -> &DeviceChunks {
        &self.output
    }
}

/// Where the chunks of a batch live inside one buffer. A pure description: no memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Start of chunk `i`.
    pub offsets: Vec<usize>,
    /// Bytes in use in chunk `i` (inputs: the chunk; outputs: written by the device).
    pub lens: Vec<usize>,
    /// Bytes reserved for chunk `i` (>= its length).
    pub capacities: Vec<usize>,
    /// Bytes of the whole buffer (end of the last reservation).
    pub total: usize,
}

impl Layout {
    /// Chunks of `lens` bytes back to back, each start rounded up to `align` (>= 1).
    pub fn packed(lens: &[usize], align: usize) -> Self {
        let align = align.max(1);
        let mut offsets = Vec::with_capacity(lens.len());
        let mut at = 0usize;
        for &l in lens {
            at = at.next_multiple_of(align);
            offsets.push(at);
            at += l;
        }
        Self { offsets, lens: lens.to_vec(), capacities: lens.to_vec(), total: at }
    }

    /// Empty slots of `capacities` bytes (lengths 0 until the device writes them).
    pub fn slots(capacities: &[usize], align: usize) -> Self {
        let mut l = Self::packed(capacities, align);
        l.lens = vec![0; capacities.len()];
        l
    }

    /// Checks what the device code relies on: one offset, length and capacity per chunk,
    /// every length within its capacity, and reservations in increasing order, disjoint,
    /// inside `total`.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let n = self.offsets.len();
        if self.lens.len() != n || self.capacities.len() != n {
            return Err(format!("{n} offsets, {} lengths, {} capacities", self.lens.len(), self.capacities.len()));
        }
        let mut end_prev = 0usize;
        for i in 0..n {
            let (o, l, c) = (self.offsets[i], self.lens[i], self.capacities[i]);
            if l > c {
                return Err(format!("chunk {i}: length {l} exceeds its capacity {c}"));
            }
            if o < end_prev {
                return Err(format!("chunk {i} at {o} overlaps the previous chunk, which ends at {end_prev}"));
            }
            end_prev = o.checked_add(c).ok_or_else(|| format!("chunk {i}: offset {o} + capacity {c} overflows"))?;
        }
        if end_prev > self.total {
            return Err(format!("chunks end at {end_prev}, past the buffer's {} bytes", self.total));
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Copies `chunks` to their places in a new buffer of `total` bytes (gaps are zero).
    pub fn pack(&self, chunks: &[&[u8]]) -> Vec<u8> {
        assert_eq!(chunks.len(), self.len(), "one chunk per slot");
        let mut out = vec![0u8; self.total];
        for ((c, &o), &cap) in chunks.iter().zip(&self.offsets).zip(&self.capacities) {
            assert!(c.len() <= cap, "chunk larger than its slot");
            out[o..o + c.len()].copy_from_slice(c);
        }
        out
    }

    /// The in-use bytes of chunk `i` inside a buffer with this layout.
    pub fn chunk<'b>(&self, buf: &'b [u8], i: usize) -> &'b [u8] {
        &buf[self.offsets[i]..self.offsets[i] + self.lens[i]]
    }
}

/// A batch of chunks in one device buffer, with the device arrays batch APIs take:
/// chunk addresses, capacities and lengths (`size_t`).
pub struct DeviceChunks {
    stream: Arc<CudaStream>,
    layout: Layout,
    data: CudaSlice<u8>,
    d_ptrs: CudaSlice<u64>,
    d_caps: CudaSlice<u64>,
    d_lens: CudaSlice<u64>,
}

impl DeviceChunks {
    /// Zeroed device memory for `layout` on `stream`, with its address/size tables.
    pub fn alloc(stream: &Arc<CudaStream>, layout: Layout) -> Result<Self> {
        layout.validate().map_err(|e| CrateError::InvalidArgument(format!("batch layout: {e}")))?;
        let data = stream.alloc_zeros::<u8>(layout.total.max(1))?;
        let base = super::device_address(&data, stream);
        let ptrs: Vec<u64> = layout.offsets.iter().map(|&o| base + o as u64).collect();
        let caps: Vec<u64> = layout.capacities.iter().map(|&c| c as u64).collect();
        let lens: Vec<u64> = layout.lens.iter().map(|&c| c as u64).collect();
        let d_ptrs = upload_table(stream, &ptrs)?;
        let d_caps = upload_table(stream, &caps)?;
        let d_lens = upload_table(stream, &lens)?;
        Ok(Self { stream: stream.clone(), layout, data, d_ptrs, d_caps, d_lens })
    }

    /// Uploads `bytes` (a buffer laid out as `layout`, e.g. from [`Layout::pack`]).
    pub fn upload(stream: &Arc<CudaStream>, layout: Layout, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != layout.total {
            return Err(CrateError::InvalidArgument(format!(
                "{} bytes for a layout of {} bytes",
                bytes.len(),
                layout.total
            ))
            .into());
        }
        let mut d = Self::alloc(stream, layout)?;
        if !bytes.is_empty() {
            stream.memcpy_htod(bytes, &mut d.data)?;
        }
        Ok(d)
    }

    /// The stream everything of this batch runs on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn len(&self) -> usize {
        self.layout.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }

    /// Device address of the start of the buffer (chunk i is at `+ layout().offsets[i]`).
    pub fn base_address(&self) -> u64 {
        super::device_address(&self.data, &self.stream)
    }

    /// Sets the chunk lengths from sizes a kernel reported by other means (each must fit
    /// its slot), on the host and in the device table.
    pub fn set_lens(&mut self, lens: &[usize]) -> Result<()> {
        if lens.len() != self.len() {
            return Err(CrateError::InvalidArgument(format!("{} lengths for {} chunks", lens.len(), self.len())).into());
        }
        for (i, (&l, &cap)) in lens.iter().zip(&self.layout.capacities).enumerate() {
            if l > cap {
                return Err(NvcompError::ChunkSize { index: i, size: l, expected: format!("<= {cap}") });
            }
        }
        let table: Vec<u64> = lens.iter().map(|&l| l as u64).collect();
        if !table.is_empty() {
            self.stream.memcpy_htod(&table, &mut self.d_lens)?;
        }
        self.layout.lens = lens.to_vec();
        Ok(())
    }

    /// Copies the device-written chunk lengths into the layout (waits for the stream).
    pub fn read_lens(&mut self) -> Result<()> {
        let lens = self.stream.clone_dtoh(&self.d_lens)?;
        for (i, (&l, &cap)) in lens.iter().zip(&self.layout.capacities).enumerate() {
            if l as usize > cap {
                return Err(NvcompError::ChunkSize { index: i, size: l as usize, expected: format!("<= {cap}") });
            }
        }
        self.layout.lens = lens.into_iter().map(|l| l as usize).collect();
        Ok(())
    }

    /// The whole buffer, copied to the host (waits for the stream).
    pub fn download(&self) -> Result<Vec<u8>> {
        let mut v = self.stream.clone_dtoh(&self.data)?;
        v.truncate(self.layout.total);
        Ok(v)
    }

    /// Each chunk's in-use bytes, copied to the host.
    pub fn download_chunks(&self) -> Result<Vec<Vec<u8>>> {
        let all = self.download()?;
        Ok((0..self.len()).map(|i| self.layout.chunk(&all, i).to_vec()).collect())
    }
}

fn upload_table(stream: &Arc<CudaStream>, v: &[u64]) -> Result<CudaSlice<u64>> {
    if v.is_empty() {
        return Ok(stream.alloc_zeros::<u64>(1)?);
    }
    Ok(stream.clone_htod(v)?)
}

/// A pinned host buffer from the GPU's pinned pool holding `bytes` at its start.
pub fn pinned_copy(gpu: &Gpu, bytes: &[u8]) -> Result<PinnedBuffer> {
    let mut p = gpu.pinned_pool().alloc(bytes.len().max(1))?;
    p.buf_mut().as_mut_slice().ctx("mapping pinned memory")?[..bytes.len()].copy_from_slice(bytes);
    Ok(p)
}

/// A pinned host buffer of at least `len` bytes from the GPU's pinned pool.
pub fn pinned_buffer(gpu: &Gpu, len: usize) -> Result<PinnedBuffer> {
    Ok(gpu.pinned_pool().alloc(len.max(1))?)
}

/// The first `len` bytes of a pinned buffer (waits for pending copies into it).
pub fn pinned_bytes(buf: &PinnedBuffer, len: usize) -> Result<&[u8]> {
    Ok(&buf.buf().as_slice().ctx("mapping pinned memory")?[..len])
}

/// Milliseconds of GPU time between events recorded on `stream` just before and just after
/// `work` enqueues its batch. Waits for the end event.
pub fn time_device<E: From<NvcompError>>(
    stream: &Arc<CudaStream>,
    work: impl FnOnce() -> std::result::Result<(), E>,
) -> std::result::Result<f32, E> {
    let ctx = stream.context();
    let start = ctx.new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT)).map_err(NvcompError::from)?;
    let end = ctx.new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT)).map_err(NvcompError::from)?;
    start.record(stream).map_err(NvcompError::from)?;
    let r = work();
    end.record(stream).map_err(NvcompError::from)?;
    end.synchronize().map_err(NvcompError::from)?;
    r?;
    Ok(start.elapsed_ms(&end).map_err(NvcompError::from)?)
}

/// Milliseconds of GPU time for a host-to-host batch: copy `up_bytes` from pinned `up` into
/// `up_to`'s buffer, run `work`, copy `down_bytes` of `down_from`'s buffer into pinned
/// `down`, all in order on `stream`, between two events. Waits for the end.
#[allow(clippy::too_many_arguments)]
pub fn time_host_to_host<E: From<NvcompError>>(
    stream: &Arc<CudaStream>,
    up: &PinnedBuffer,
    up_to: &DeviceChunks,
    up_bytes: usize,
    work: impl FnOnce() -> std::result::Result<(), E>,
    down_from: &DeviceChunks,
    down_bytes: usize,
    down: &mut PinnedBuffer,
) -> std::result::Result<f32, E> {
    let ctx = stream.context();
    ctx.bind_to_thread().map_err(NvcompError::from)?;
    let check = |what: &str, n: usize, limits: &[usize]| -> Result<()> {
        if limits.iter().any(|&l| n > l) {
            return Err(CrateError::InvalidArgument(format!("{what}: {n} bytes exceed a buffer of {limits:?}")).into());
        }
        Ok(())
    };
    if !Arc::ptr_eq(&up_to.stream, stream) || !Arc::ptr_eq(&down_from.stream, stream) {
        return Err(NvcompError::from(CrateError::InvalidArgument(
            "host-to-host timing on a stream other than the batch's".into(),
        ))
        .into());
    }
    check("upload", up_bytes, &[up.len(), up_to.data.len()])?;
    check("download", down_bytes, &[down.len(), down_from.data.len()])?;
    let src = &up.buf().as_slice().ctx("mapping pinned memory").map_err(NvcompError::from)?[..up_bytes];
    let dst = &mut down.buf_mut().as_mut_slice().ctx("mapping pinned memory").map_err(NvcompError::from)?[..down_bytes];
    let (up_ptr, _g1) = up_to.data.device_ptr(stream);
    let (down_ptr, _g2) = down_from.data.device_ptr(stream);
    let start = ctx.new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT)).map_err(NvcompError::from)?;
    let end = ctx.new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT)).map_err(NvcompError::from)?;
    start.record(stream).map_err(NvcompError::from)?;
    // SAFETY: `src` is pinned host memory of `up_bytes` bytes borrowed for this whole
    // function, and up_ptr..+up_bytes lies inside `up_to.data` (checked above); the stream is
    // synchronised below before either borrow ends, on success and on error.
    let r1 = unsafe { cu::memcpy_htod_async(up_ptr, src, stream.cu_stream()) };
    let r2 = if r1.is_ok() { work() } else { Ok(()) };
    // SAFETY: as above, with `dst` (pinned, `down_bytes`) and down_ptr..+down_bytes inside
    // `down_from.data`; the copy is ordered after `work` on the same stream.
    let r3 = if r1.is_ok() && r2.is_ok() {
        unsafe { cu::memcpy_dtoh_async(dst, down_ptr, stream.cu_stream()) }
    } else {
        Ok(())
    };
    let r4 = end.record(stream);
    if let Err(e) = stream.synchronize() {
        // Without a completed synchronisation nothing proves the copies are done with the
        // borrowed pinned buffers; stop rather than hand them back.
        eprintln!("cuzstd: synchronising the stream after host-to-host copies failed ({e}); aborting");
        std::process::abort();
    }
    r1.map_err(NvcompError::from)?;
    r2?;
    r3.map_err(NvcompError::from)?;
    r4.map_err(NvcompError::from)?;
    Ok(start.elapsed_ms(&end).map_err(NvcompError::from)?)
}
