//! cuzstd's own GPU codec as a column of the harness, through the same device buffers the
//! other codecs use (`Gpu::compress_job` / `Gpu::decompress_job`).

use super::gpu::{GpuCodec, GpuJob};
use super::Result;
use crate::decode::DecodeOptions;
use crate::encode::EncodeOptions;
use crate::gpu::decode::DecodeKernel;
use crate::gpu::device_jobs::{CompressJob, DecompressJob};
use crate::gpu::nvcomp::DeviceChunks;
use crate::gpu::Gpu;

/// cuzstd at one compression level (decoding needs no level).
pub struct CuzstdCodec<'g> {
    pub gpu: &'g Gpu,
    pub level: i32,
    pub kernel: DecodeKernel,
    /// Most device memory a batch's workspace may take; fewer slots means fewer items in flight.
    pub workspace_budget: usize,
}

impl<'g> CuzstdCodec<'g> {
    pub fn new(gpu: &'g Gpu, level: i32) -> Self {
        Self { gpu, level, kernel: DecodeKernel::default(), workspace_budget: 8 << 30 }
    }
}

impl GpuJob for CompressJob<'_> {
    fn launch(&self) -> Result<()> {
        Ok(CompressJob::launch(self)?)
    }
    fn finish(&mut self) -> Result<()> {
        Ok(CompressJob::finish(self)?)
    }
    fn output(&self) -> &DeviceChunks {
        CompressJob::output(self)
    }
}

impl GpuJob for DecompressJob<'_> {
    fn launch(&self) -> Result<()> {
        Ok(DecompressJob::launch(self)?)
    }
    fn finish(&mut self) -> Result<()> {
        Ok(DecompressJob::finish(self)?)
    }
    fn output(&self) -> &DeviceChunks {
        DecompressJob::output(self)
    }
}

impl GpuCodec for CuzstdCodec<'_> {
    fn name(&self) -> String {
        if self.kernel == DecodeKernel::default() {
            format!("cuzstd -{}", self.level)
        } else {
            format!("cuzstd -{} ({:?} decoder)", self.level, self.kernel)
        }
    }
    fn version(&self) -> String {
        format!("{} (kernels {})", env!("CARGO_PKG_VERSION"), crate::gpu::kernels::ARCHS)
    }
    fn compress_input_alignment(&self) -> Result<usize> {
        Ok(1)
    }
    fn decompress_input_alignment(&self) -> Result<usize> {
        Ok(1)
    }
    fn compressor<'a>(&'a self, input: &'a DeviceChunks) -> Result<Box<dyn GpuJob + 'a>> {
        Ok(Box::new(self.gpu.compress_job(input, EncodeOptions::level(self.level), self.workspace_budget)?))
    }
    fn decompressor<'a>(&'a self, frames: &'a DeviceChunks, out_lens: &[usize]) -> Result<Box<dyn GpuJob + 'a>> {
        let job =
            self.gpu.decompress_job(frames, out_lens, DecodeOptions::default(), self.kernel, self.workspace_budget)?;
        Ok(Box::new(job))
    }
    fn h2h_compress_note(&self) -> String {
        "h2h copies back every chunk's full output slot (compress bound)".into()
    }
}
