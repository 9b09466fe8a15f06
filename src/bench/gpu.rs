//! GPU batch codecs as the harness sees them, and their measurement.
//!
//! # Plugging in cuzstd
//! The harness times anything that implements [`GpuCodec`]: build a job for a batch once
//! (allocations and planning, untimed), then [`GpuJob::launch`] enqueues the whole batch on
//! the batch's stream and returns without waiting (the timed part: CUDA events are recorded
//! just before and just after it), and [`GpuJob::finish`] waits and checks every chunk's
//! status. When cuzstd's `BatchCompressor`/`BatchDecompressor` land, wrap them in a type
//! implementing [`GpuCodec`] (inputs and outputs are [`DeviceChunks`]: one device buffer
//! plus device arrays of chunk addresses, capacities and sizes) and add it to the list the
//! example builds in `gpu_codecs()`; every table, CSV and plot then gains its columns. A
//! decoder-only codec returns `false` from [`GpuCodec::can_compress`] and is still timed on
//! libzstd's and the other codecs' frames.

use std::sync::Arc;

use super::cpu::Libzstd;
use super::data::{format_size, DataSet};
use super::report::{measure, Direction, Mode, Outcome, Row};
use super::{compare, BenchError, Result};
use crate::gpu::nvcomp::{self, DeviceChunks, Layout, Nvcomp};
use crate::gpu::Gpu;

/// One planned batch operation of a GPU codec.
pub trait GpuJob {
    /// Enqueues the whole batch on the stream of its buffers; must not wait for it.
    fn launch(&self) -> Result<()>;
    /// Waits for the batch, checks every chunk's status, and makes the output sizes valid.
    fn finish(&mut self) -> Result<()>;
    /// The output chunks (sizes valid after [`GpuJob::finish`]).
    fn output(&self) -> &DeviceChunks;
}

/// A GPU batch codec: nvCOMP here, cuzstd later.
pub trait GpuCodec {
    /// Column name, e.g. "nvCOMP".
    fn name(&self) -> String;
    /// Version for the report.
    fn version(&self) -> String;
    /// Whether it compresses (a decode-only codec still decodes everyone's frames).
    fn can_compress(&self) -> bool {
        true
    }
    /// Alignment every compression input chunk must start at.
    fn compress_input_alignment(&self) -> Result<usize>;
    /// Alignment every compressed frame handed to decompression must start at.
    fn decompress_input_alignment(&self) -> Result<usize>;
    /// Plans compressing each chunk of `input` into one zstd frame.
    fn compressor<'a>(&'a self, input: &'a DeviceChunks) -> Result<Box<dyn GpuJob + 'a>>;
    /// Plans decompressing each frame of `frames` into `out_lens[i]` bytes, packed back to
    /// back in the output.
    fn decompressor<'a>(&'a self, frames: &'a DeviceChunks, out_lens: &[usize]) -> Result<Box<dyn GpuJob + 'a>>;
    /// What a host-to-host compression run copies back, for the table's note.
    fn h2h_compress_note(&self) -> String;
}

/// nvCOMP's batched Zstandard.
pub struct NvcompCodec {
    pub nv: Nvcomp,
}

struct NvCompress<'a>(nvcomp::CompressJob<'a>);
struct NvDecompress<'a>(nvcomp::DecompressJob<'a>);

impl GpuJob for NvCompress<'_> {
    fn launch(&self) -> Result<()> {
        Ok(self.0.launch()?)
    }
    fn finish(&mut self) -> Result<()> {
        self.0.finish()?;
        Ok(())
    }
    fn output(&self) -> &DeviceChunks {
        self.0.output()
    }
}

impl GpuJob for NvDecompress<'_> {
    fn launch(&self) -> Result<()> {
        Ok(self.0.launch()?)
    }
    fn finish(&mut self) -> Result<()> {
        self.0.finish()?;
        Ok(())
    }
    fn output(&self) -> &DeviceChunks {
        self.0.output()
    }
}

impl GpuCodec for NvcompCodec {
    fn name(&self) -> String {
        "nvCOMP".into()
    }
    fn version(&self) -> String {
        format!("{} (CUDA runtime {}, {})", self.nv.version(), self.nv.cudart_version(), self.nv.path().display())
    }
    fn compress_input_alignment(&self) -> Result<usize> {
        Ok(self.nv.compress_alignments()?.input.max(1))
    }
    fn decompress_input_alignment(&self) -> Result<usize> {
        // The header's most restrictive decompression alignment is 8; packing frames at 8
        // costs nothing and holds whatever the library reports.
        Ok(self.nv.decompress_alignments()?.input.max(8))
    }
    fn compressor<'a>(&'a self, input: &'a DeviceChunks) -> Result<Box<dyn GpuJob + 'a>> {
        Ok(Box::new(NvCompress(self.nv.compress_job(input)?)))
    }
    fn decompressor<'a>(&'a self, frames: &'a DeviceChunks, out_lens: &[usize]) -> Result<Box<dyn GpuJob + 'a>> {
        Ok(Box::new(NvDecompress(self.nv.decompress_job(frames, out_lens)?)))
    }
    fn h2h_compress_note(&self) -> String {
        "h2h copies back every chunk's full output slot (nvCOMP writes each frame into a max-size slot)".into()
    }
}

/// What the GPU side of a run needs.
pub struct GpuBench<'g> {
    pub gpu: &'g Gpu,
    pub codecs: Vec<Box<dyn GpuCodec + 'g>>,
    pub runs: usize,
    pub warmup: usize,
    /// Also time host to host (pinned upload + call + pinned download).
    pub h2h: bool,
}

/// Frames another codec wrote for the whole set, to be decoded by every GPU codec.
pub struct ForeignFrames {
    /// e.g. "libzstd -3".
    pub label: String,
    pub frames: Vec<Vec<u8>>,
}

fn ms_to_s(ms: f32) -> f64 {
    f64::from(ms) / 1e3
}

impl GpuBench<'_> {
    fn stream(&self) -> &Arc<cudarc::driver::CudaStream> {
        self.gpu.stream()
    }

    fn row(&self, set: &DataSet, codec: &dyn GpuCodec, dir: Direction, frames: &str, mode: Mode) -> Row {
        Row {
            set: set.name.clone(),
            size: set.size.label(),
            set_bytes: set.len(),
            chunk_size: set.chunk_size,
            codec: codec.name(),
            level: "-".into(),
            threads: "gpu".into(),
            direction: dir,
            frames: frames.into(),
            mode,
            measured_bytes: set.len(),
            compressed_bytes: 0,
            outcome: Outcome::Failed("not run".into()),
            note: String::new(),
        }
    }

    /// Every GPU codec on `set`: compression (verified by libzstd decoding its frames),
    /// decompression of its own frames and of each of `foreign`, device-resident and host
    /// to host.
    pub fn run_set(&self, set: &DataSet, foreign: &[ForeignFrames], verifier: &mut Libzstd) -> Vec<Row> {
        let mut rows = Vec::new();
        for codec in &self.codecs {
            let codec = codec.as_ref();
            let mut own: Option<ForeignFrames> = None;
            if codec.can_compress() {
                let mut dev = self.row(set, codec, Direction::Compress, "-", Mode::Device);
                let mut h2h = self.row(set, codec, Direction::Compress, "-", Mode::HostToHost);
                h2h.note = codec.h2h_compress_note();
                match self.compress(set, codec, verifier) {
                    Ok((frames, d, h)) => {
                        let cb = frames.iter().map(Vec::len).sum();
                        dev.compressed_bytes = cb;
                        h2h.compressed_bytes = cb;
                        dev.outcome = d;
                        h2h.outcome = h.unwrap_or(Outcome::Failed("h2h not run".into()));
                        own = Some(ForeignFrames { label: codec.name(), frames });
                    }
                    Err(e) => {
                        dev.outcome = Outcome::Failed(e.to_string());
                        h2h.outcome = Outcome::Failed(e.to_string());
                    }
                }
                rows.push(dev);
                if self.h2h {
                    rows.push(h2h);
                }
            }
            for f in own.iter().chain(foreign) {
                let cb = f.frames.iter().map(Vec::len).sum();
                let mut dev = self.row(set, codec, Direction::Decompress, &f.label, Mode::Device);
                let mut h2h = self.row(set, codec, Direction::Decompress, &f.label, Mode::HostToHost);
                dev.compressed_bytes = cb;
                h2h.compressed_bytes = cb;
                match self.decompress(set, codec, &f.frames) {
                    Ok((d, h)) => {
                        dev.outcome = d;
                        h2h.outcome = h.unwrap_or(Outcome::Failed("h2h not run".into()));
                    }
                    Err(e) => {
                        dev.outcome = Outcome::Failed(e.to_string());
                        h2h.outcome = Outcome::Failed(e.to_string());
                    }
                }
                rows.push(dev);
                if self.h2h {
                    rows.push(h2h);
                }
            }
        }
        self.gpu.pinned_pool().trim();
        rows
    }

    fn upload_input(&self, set: &DataSet, align: usize) -> Result<(DeviceChunks, Vec<u8>)> {
        let lens = set.chunk_lens();
        let layout = Layout::packed(&lens, align);
        // Chunk sizes are multiples of 8, so with nvCOMP's alignments the layout is the set
        // itself; otherwise the chunks are repacked.
        let packed = if layout.total == set.len() { Vec::new() } else { layout.pack(&set.chunks()) };
        let bytes = if packed.is_empty() { &set.bytes[..] } else { &packed[..] };
        Ok((DeviceChunks::upload(self.stream(), layout, bytes)?, packed))
    }

    #[allow(clippy::type_complexity)]
    fn compress(
        &self,
        set: &DataSet,
        codec: &dyn GpuCodec,
        verifier: &mut Libzstd,
    ) -> Result<(Vec<Vec<u8>>, Outcome, Option<Outcome>)> {
        let stream = self.stream().clone();
        let (input, packed) = self.upload_input(set, codec.compress_input_alignment()?)?;
        let chunks = set.chunks();
        let mut job = codec.compressor(&input)?;
        job.launch()?;
        job.finish()?;
        let frames = job.output().download_chunks()?;
        verifier.verify(&format!("{} frames decoded by libzstd", codec.name()), &frames, &chunks)?;
        let device = measure(self.warmup, self.runs, || {
            let ms = nvcomp::time_device(&stream, || job.launch())?;
            job.finish()?;
            Ok(ms_to_s(ms))
        });
        let device = device.map_or_else(|e| Outcome::Failed(e.to_string()), Outcome::Verified);
        let h2h = if self.h2h {
            let r = (|| -> Result<Outcome> {
                let up_bytes = input.layout().total;
                let pin_in = nvcomp::pinned_copy(self.gpu, if packed.is_empty() { &set.bytes } else { &packed })?;
                let down_bytes = job.output().layout().total;
                let mut pin_out = nvcomp::pinned_buffer(self.gpu, down_bytes)?;
                let mut verified = false;
                let stats = measure(self.warmup, self.runs, || {
                    let ms = nvcomp::time_host_to_host(
                        &stream,
                        &pin_in,
                        &input,
                        up_bytes,
                        || job.launch(),
                        job.output(),
                        down_bytes,
                        &mut pin_out,
                    )?;
                    job.finish()?;
                    if !verified {
                        let host = nvcomp::pinned_bytes(&pin_out, down_bytes)?;
                        let layout = job.output().layout();
                        let got: Vec<Vec<u8>> = (0..layout.len()).map(|i| layout.chunk(host, i).to_vec()).collect();
                        verifier.verify(&format!("{} h2h frames decoded by libzstd", codec.name()), &got, &chunks)?;
                        verified = true;
                    }
                    Ok(ms_to_s(ms))
                })?;
                Ok(Outcome::Verified(stats))
            })();
            Some(r.unwrap_or_else(|e| Outcome::Failed(e.to_string())))
        } else {
            None
        };
        Ok((frames, device, h2h))
    }

    fn decompress(
        &self,
        set: &DataSet,
        codec: &dyn GpuCodec,
        frames: &[Vec<u8>],
    ) -> Result<(Outcome, Option<Outcome>)> {
        let stream = self.stream().clone();
        let lens = set.chunk_lens();
        if frames.len() != lens.len() {
            return Err(BenchError::Data(format!("{} frames for {} chunks", frames.len(), lens.len())));
        }
        let layout =
            Layout::packed(&frames.iter().map(Vec::len).collect::<Vec<_>>(), codec.decompress_input_alignment()?);
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let packed = layout.pack(&refs);
        let dev_frames = DeviceChunks::upload(&stream, layout, &packed)?;
        let mut job = codec.decompressor(&dev_frames, &lens)?;
        job.launch()?;
        job.finish()?;
        let out_total = job.output().layout().total;
        if out_total != set.len() {
            return Err(BenchError::Data(format!("output layout of {out_total} bytes for a set of {}", set.len())));
        }
        compare(&format!("{} decoding", codec.name()), &job.output().download()?, &set.bytes)?;
        let device = measure(self.warmup, self.runs, || {
            let ms = nvcomp::time_device(&stream, || job.launch())?;
            job.finish()?;
            Ok(ms_to_s(ms))
        })
        .map_or_else(|e| Outcome::Failed(e.to_string()), Outcome::Verified);
        let h2h = if self.h2h {
            let r = (|| -> Result<Outcome> {
                let pin_in = nvcomp::pinned_copy(self.gpu, &packed)?;
                let mut pin_out = nvcomp::pinned_buffer(self.gpu, set.len())?;
                let mut verified = false;
                let stats = measure(self.warmup, self.runs, || {
                    let ms = nvcomp::time_host_to_host(
                        &stream,
                        &pin_in,
                        &dev_frames,
                        packed.len(),
                        || job.launch(),
                        job.output(),
                        set.len(),
                        &mut pin_out,
                    )?;
                    job.finish()?;
                    if !verified {
                        compare(
                            &format!("{} h2h decoding", codec.name()),
                            nvcomp::pinned_bytes(&pin_out, set.len())?,
                            &set.bytes,
                        )?;
                        verified = true;
                    }
                    Ok(ms_to_s(ms))
                })?;
                Ok(Outcome::Verified(stats))
            })();
            Some(r.unwrap_or_else(|e| Outcome::Failed(e.to_string())))
        } else {
            None
        };
        Ok((device, h2h))
    }
}

/// "5.10 MiB of 1 GiB" style label for sampled rows.
pub fn sample_note(measured: usize, total: usize) -> String {
    format!("first {} of {}", format_size(measured), format_size(total))
}
