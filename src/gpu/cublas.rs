//! cuBLAS, loaded at run time: the dense f16 GEMV that the zipper benchmark compares against
//! (case (a) of docs/ZIPPER.md). The only place with cuBLAS FFI: a hand-written subset of
//! `cublas_api.h` (handle, stream, `cublasGemmEx`). `libcublas.so.13` (or `.12`) is opened with
//! libloading from `CUBLAS_LIB`, next to the executable, or the dynamic linker's search path
//! ([`Cublas::load`]). Nothing links against cuBLAS at build time.

use std::ffi::{c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DevicePtrMut};

use super::Gpu;
use crate::error::{CudaContext as _, Error, Result};

/// `cublasStatus_t`.
type RawStatus = c_int;
type Handle = *mut c_void;
type CreateFn = unsafe extern "C" fn(*mut Handle) -> RawStatus;
type DestroyFn = unsafe extern "C" fn(Handle) -> RawStatus;
type SetStreamFn = unsafe extern "C" fn(Handle, *mut c_void) -> RawStatus;
/// (handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
///  computeType, algo)
type GemmExFn = unsafe extern "C" fn(
    Handle,
    c_int,
    c_int,
    c_int,
    c_int,
    c_int,
    *const c_void,
    *const c_void,
    c_int,
    c_int,
    *const c_void,
    c_int,
    c_int,
    *const c_void,
    *mut c_void,
    c_int,
    c_int,
    c_int,
    c_int,
) -> RawStatus;

const CUBLAS_STATUS_SUCCESS: RawStatus = 0;
const CUBLAS_OP_N: c_int = 0;
const CUBLAS_OP_T: c_int = 1;
/// `cudaDataType`: CUDA_R_32F and CUDA_R_16F.
const CUDA_R_32F: c_int = 0;
const CUDA_R_16F: c_int = 2;
/// `cublasComputeType_t` CUBLAS_COMPUTE_32F.
const CUBLAS_COMPUTE_32F: c_int = 68;
/// `cublasGemmAlgo_t` CUBLAS_GEMM_DEFAULT.
const CUBLAS_GEMM_DEFAULT: c_int = -1;

const LIB_NAMES: [&str; 2] = ["libcublas.so.13", "libcublas.so.12"];

/// The places [`Cublas::load`] tries, in order: `CUBLAS_LIB` (a file, or a folder holding the
/// library), the executable's folder and its `lib/`, then the bare names for the dynamic linker.
pub fn candidate_paths() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("CUBLAS_LIB") {
        let p = PathBuf::from(p);
        if p.is_dir() {
            out.extend(LIB_NAMES.iter().map(|n| p.join(n)));
        } else {
            out.push(p);
        }
    }
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        for n in LIB_NAMES {
            out.push(dir.join(n));
            out.push(dir.join("lib").join(n));
        }
    }
    out.extend(LIB_NAMES.iter().map(PathBuf::from));
    out
}

/// A cuBLAS handle on one GPU's context, with the entry points the benchmark uses.
pub struct Cublas {
    path: PathBuf,
    handle: Handle,
    destroy: DestroyFn,
    set_stream: SetStreamFn,
    gemm_ex: GemmExFn,
    gpu: Arc<Gpu>,
    // Declared last so the function pointers above never outlive it.
    _lib: libloading::Library,
}

fn call(what: &'static str, st: RawStatus) -> Result<()> {
    if st == CUBLAS_STATUS_SUCCESS {
        Ok(())
    } else {
        Err(Error::Unsupported(format!("{what} returned cuBLAS status {st}")))
    }
}

impl Cublas {
    /// Loads cuBLAS from the first of [`candidate_paths`] that opens and creates a handle on
    /// `gpu`'s context.
    pub fn load(gpu: Arc<Gpu>) -> Result<Self> {
        let mut tried = Vec::new();
        for path in candidate_paths() {
            let bare = path.components().count() == 1;
            if !bare && !path.is_file() {
                continue;
            }
            // SAFETY: opening a shared library runs its initialisers; libcublas's set up only
            // its own state.
            match unsafe { libloading::Library::new(&path) } {
                Ok(lib) => return Self::from_library(lib, path, gpu),
                Err(e) => tried.push(format!("{} ({e})", path.display())),
            }
        }
        Err(Error::Unsupported(format!("cuBLAS not found (set CUBLAS_LIB; tried: {})", tried.join("; "))))
    }

    fn from_library(lib: libloading::Library, path: PathBuf, gpu: Arc<Gpu>) -> Result<Self> {
        macro_rules! sym {
            ($name:literal, $ty:ty) => {{
                // SAFETY: the symbol has the C signature `$ty`, transcribed from cublas_api.h
                // (see the type alias); the pointer is stored next to the Library, which
                // outlives it.
                let s: libloading::Symbol<$ty> = unsafe { lib.get(concat!($name, "\0").as_bytes()) }
                    .map_err(|e| Error::Unsupported(format!("{}: symbol {} missing ({e})", path.display(), $name)))?;
                *s
            }};
        }
        let create = sym!("cublasCreate_v2", CreateFn);
        let destroy = sym!("cublasDestroy_v2", DestroyFn);
        let set_stream = sym!("cublasSetStream_v2", SetStreamFn);
        let gemm_ex = sym!("cublasGemmEx", GemmExFn);
        gpu.ctx.bind_to_thread().ctx("binding the context for cuBLAS")?;
        let mut handle: Handle = std::ptr::null_mut();
        // SAFETY: cublasCreate writes one handle through a valid pointer; the GPU's context is
        // current on this thread.
        call("cublasCreate", unsafe { create(&mut handle) })?;
        Ok(Self { path, handle, destroy, set_stream, gemm_ex, gpu, _lib: lib })
    }

    /// The library that was loaded.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `y[b][r] = Σ_c x[b][c] · w[r][c]` on `stream`: `w` rows × cols f16 (row-major), `x`
    /// batch × cols f16, `y` batch × rows f32, f32 accumulation (`cublasGemmEx`, CUBLAS_COMPUTE_32F).
    #[allow(clippy::too_many_arguments)]
    pub fn gemv_f16(
        &self,
        stream: &Arc<CudaStream>,
        w: &CudaSlice<u16>,
        rows: usize,
        cols: usize,
        x: &CudaSlice<u16>,
        batch: usize,
        y: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let fits = |v: usize| i32::try_from(v).is_ok();
        if w.len() != rows * cols || x.len() != batch * cols || y.len() != batch * rows {
            return Err(Error::InvalidArgument(format!(
                "cuBLAS GEMV: w {} x {} y {} values for {rows} x {cols}, batch {batch}",
                w.len(),
                x.len(),
                y.len()
            )));
        }
        if !fits(rows) || !fits(cols) || !fits(batch) {
            return Err(Error::InvalidArgument(format!("cuBLAS GEMV: {rows} x {cols}, batch {batch} too large")));
        }
        self.gpu.ctx.bind_to_thread().ctx("binding the context for cuBLAS")?;
        let (alpha, beta) = (1f32, 0f32);
        let (wp, _gw) = w.device_ptr(stream);
        let (xp, _gx) = x.device_ptr(stream);
        let (yp, _gy) = y.device_ptr_mut(stream);
        // SAFETY: the handle lives on this GPU's context (current); the stream belongs to it.
        call("cublasSetStream", unsafe { (self.set_stream)(self.handle, stream.cu_stream() as *mut c_void) })?;
        // Column-major view: w is a cols × rows matrix (lda cols), used transposed; x is cols ×
        // batch (ldb cols), y rows × batch (ldc rows): y = wᵀ x.
        // SAFETY: w holds rows × cols halves, x batch × cols halves, y batch × rows floats
        // (checked above), all device allocations of this context; alpha and beta are host
        // floats read during the call (the handle's default host pointer mode).
        call("cublasGemmEx", unsafe {
            (self.gemm_ex)(
                self.handle,
                CUBLAS_OP_T,
                CUBLAS_OP_N,
                rows as c_int,
                batch as c_int,
                cols as c_int,
                (&alpha as *const f32).cast(),
                wp as *const c_void,
                CUDA_R_16F,
                cols as c_int,
                xp as *const c_void,
                CUDA_R_16F,
                cols as c_int,
                (&beta as *const f32).cast(),
                yp as *mut c_void,
                CUDA_R_32F,
                rows as c_int,
                CUBLAS_COMPUTE_32F,
                CUBLAS_GEMM_DEFAULT,
            )
        })
    }
}

impl Drop for Cublas {
    fn drop(&mut self) {
        if self.gpu.ctx.bind_to_thread().is_ok() {
            // SAFETY: the handle was created by cublasCreate and is destroyed once.
            let _ = unsafe { (self.destroy)(self.handle) };
        }
    }
}
