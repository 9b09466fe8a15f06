//! Pool backends on the device: stream-ordered device memory and pinned host memory.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaSlice, CudaStream, PinnedHostSlice};

use crate::error::{CudaContext as _, Result};
use crate::pool::{Backend, Pool, Pooled};

/// Device memory allocated and freed in stream order on one stream
/// (`cuMemAllocAsync`/`cuMemFreeAsync` where the device supports them). Buffers are reused
/// on the same stream, so stream order makes reuse safe without host synchronisation.
pub struct DeviceBackend {
    stream: Arc<CudaStream>,
}

impl Backend for DeviceBackend {
    type Buf = CudaSlice<u8>;

    fn alloc(&self, bytes: usize) -> Result<CudaSlice<u8>> {
        // SAFETY: the memory is uninitialised; the pool's contract (module docs of
        // crate::pool) is that only bytes a kernel wrote, or that were zeroed or poisoned,
        // are read back.
        unsafe { self.stream.alloc::<u8>(bytes) }.ctx("allocating device memory")
    }

    fn fill(&self, buf: &mut CudaSlice<u8>, byte: u8) -> Result<()> {
        if byte == 0 {
            return self.stream.memset_zeros(buf).ctx("zeroing device memory");
        }
        let ptr = {
            use cudarc::driver::DevicePtrMut;
            let (ptr, _sync) = buf.device_ptr_mut(&self.stream);
            ptr
        };
        // SAFETY: ptr..ptr+len is the whole allocation of `buf`, which stays alive (owned by
        // the pool or the caller) until the stream has run the memset.
        unsafe { cudarc::driver::result::memset_d8_async(ptr, byte, buf.len(), self.stream.cu_stream()) }
            .ctx("filling device memory")
    }
}

/// A pool of device memory bound to one stream.
pub type DevicePool = Pool<DeviceBackend>;
/// A buffer on loan from a [`DevicePool`].
pub type DeviceBuffer = Pooled<DeviceBackend>;

impl DeviceBackend {
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }
}

/// A device pool on `stream`; `poison` as in [`Pool::new`].
pub fn device_pool(stream: Arc<CudaStream>, poison: Option<u8>) -> DevicePool {
    Pool::new(DeviceBackend { stream }, poison)
}

/// Page-locked host memory (not write-combined, so the host can read it back quickly),
/// used to stage copies between host and device.
pub struct PinnedBackend {
    ctx: Arc<CudaContext>,
}

impl Backend for PinnedBackend {
    type Buf = PinnedHostSlice<u8>;

    fn alloc(&self, bytes: usize) -> Result<PinnedHostSlice<u8>> {
        // SAFETY: the memory is uninitialised bytes, valid for u8; callers write before
        // they read, or the pool fills it.
        unsafe { self.ctx.alloc_pinned_with_flags::<u8>(bytes, 0) }.ctx("allocating pinned host memory")
    }

    fn fill(&self, buf: &mut PinnedHostSlice<u8>, byte: u8) -> Result<()> {
        buf.as_mut_slice().ctx("waiting for pinned memory")?.fill(byte);
        Ok(())
    }
}

/// A pool of pinned host memory.
pub type PinnedPool = Pool<PinnedBackend>;
/// A buffer on loan from a [`PinnedPool`].
pub type PinnedBuffer = Pooled<PinnedBackend>;

pub fn pinned_pool(ctx: Arc<CudaContext>) -> PinnedPool {
    Pool::new(PinnedBackend { ctx }, None)
}
