//! Whole-buffer compression and decompression, in the shape of the `zstd` crate's `bulk`
//! module: [`compress`], [`decompress`], [`compress_to_buffer`], and the configurable
//! [`Compressor`] / [`Decompressor`].
//!
//! Inputs are cut into chunks of `chunk_size` bytes, each compressed as an independent
//! frame with its content size (and XXH64 checksum by default), followed by a seek table in
//! the zstd seekable format. The result is plain zstd: `zstd -d` reads it, and seekable
//! readers can jump to any chunk. Decompression accepts any standard zstd stream: chunked
//! files (frames decoded in parallel), one large frame, concatenated and skippable frames.
//!
//! Backends ([`Backend`]): `Cuda` runs cuzstd's kernels, `Reference` the host build of the same
//! code, `Cpu` libzstd on all cores, all with the same file layout; `Auto` is CUDA when a device
//! opens, else the CPU (said once on stderr).

mod cpu;
mod gpu;
pub mod plan;
pub mod stream;

pub use plan::{Devices, PipelineOptions};

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::format::seekable::{SeekEntry, SeekTable};
use crate::format::{self, FrameKind, FrameSpan};

/// Default chunk size: 256 KiB, chosen by measurement (docs/BENCHMARKS.md, "Host-to-host
/// pipeline"): the GPU codec works one frame per thread (encoder) or warp (decoder), so on an
/// H100 host-to-host compression ran 2.5 / 1.3 / 0.46 GB/s at 64 KiB / 256 KiB / 1 MiB
/// chunks and decompression 4.4-6.0 / 4.6-5.4 / 4.4-4.5 GB/s, while libzstd -3 ratios on
/// Silesia xml were 6.63 / 7.39 / 8.16: 256 KiB keeps most of the ratio and the GPU busy.
pub const DEFAULT_CHUNK_SIZE: usize = 256 << 10;
/// Smallest and largest chunk sizes accepted (the seek table stores sizes as u32).
pub const MIN_CHUNK_SIZE: usize = 1 << 10;
pub const MAX_CHUNK_SIZE: usize = 1 << 30;
/// Default compression level, as libzstd's.
pub const DEFAULT_LEVEL: i32 = 3;

/// Where the codec runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The best backend available here; chosen once per process and reported on stderr.
    #[default]
    Auto,
    /// cuzstd's CUDA kernels.
    Cuda,
    /// libzstd on the CPU, multi-threaded over chunks.
    Cpu,
    /// The host build of cuzstd's GPU code (slow; for debugging and machines without a GPU).
    Reference,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Backend::Auto),
            "cuda" => Ok(Backend::Cuda),
            "cpu" => Ok(Backend::Cpu),
            "reference" => Ok(Backend::Reference),
            _ => Err(format!("unknown backend `{s}` (auto, cuda, cpu, reference)")),
        }
    }
}

static AUTO_REPORTED: AtomicBool = AtomicBool::new(false);

impl Backend {
    /// The concrete backend `self` stands for on this machine: `Auto` is CUDA when a device
    /// opens, else the CPU (said once on stderr); `Cuda` fails without a device.
    pub fn resolve(self) -> Result<Backend> {
        match self {
            Backend::Auto => match gpu::device() {
                Ok(_) => Ok(Backend::Cuda),
                Err(e) => {
                    if !AUTO_REPORTED.swap(true, Ordering::Relaxed) {
                        eprintln!("cuzstd: using the CPU backend ({e})");
                    }
                    Ok(Backend::Cpu)
                }
            },
            Backend::Cuda => gpu::device().map(|_| Backend::Cuda),
            other => Ok(other),
        }
    }
}

static FEW_FRAMES_REPORTED: AtomicBool = AtomicBool::new(false);

/// GPU decoding speed of one frame (one warp decodes it), bytes per second: the lower end of
/// what an H100 showed on 64 KiB frames (2026-11-23: 24 GB/s over 4,224 warps for English
/// text, 51 GB/s for XML).
const GPU_BYTES_PER_S_PER_FRAME: f64 = 6e6;
/// GPU decoding speed of a batch with enough frames to fill the GPU (the same runs).
const GPU_BYTES_PER_S: f64 = 25e9;
/// libzstd's decoding speed on one core.
const CPU_BYTES_PER_S_PER_THREAD: f64 = 1e9;

/// Whether the GPU is expected to decode frames of these (decoded) sizes faster than libzstd
/// on `threads` threads: the GPU's time is bounded below by its largest frame (one warp
/// each), the CPU's parallelism by the number of frames.
pub(crate) fn gpu_decode_pays(sizes: &[u64], threads: usize) -> bool {
    if sizes.is_empty() {
        return true;
    }
    let total: u64 = sizes.iter().sum();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let gpu = (largest as f64 / GPU_BYTES_PER_S_PER_FRAME).max(total as f64 / GPU_BYTES_PER_S);
    let cpu = total as f64 / (sizes.len().min(threads.max(1)) as f64 * CPU_BYTES_PER_S_PER_THREAD);
    gpu <= cpu
}

/// Settings of a [`Compressor`].
#[derive(Debug, Clone)]
pub struct CompressOptions {
    pub level: i32,
    pub chunk_size: usize,
    /// XXH64 content checksum in every frame, and in the seek table (default on, like the
    /// zstd CLI).
    pub checksum: bool,
    /// Append a seek table (default on).
    pub seek_table: bool,
    /// Worker threads for the CPU backend (0 = all cores).
    pub threads: usize,
    pub backend: Backend,
    /// Raw-content or zstd-format dictionary; frames then carry its ID and need it to decode.
    pub dictionary: Option<Vec<u8>>,
    /// GPUs of the CUDA backend (default: all visible).
    pub gpus: Devices,
    /// Group size and groups in flight of the CUDA backend's pipeline.
    pub pipeline: PipelineOptions,
}

impl Default for CompressOptions {
    fn default() -> Self {
        Self {
            level: DEFAULT_LEVEL,
            chunk_size: DEFAULT_CHUNK_SIZE,
            checksum: true,
            seek_table: true,
            threads: 0,
            backend: Backend::Auto,
            dictionary: None,
            gpus: Devices::All,
            pipeline: PipelineOptions::default(),
        }
    }
}

impl CompressOptions {
    fn validate(&self) -> Result<()> {
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return Err(Error::InvalidArgument(format!(
                "chunk size {} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE}",
                self.chunk_size
            )));
        }
        let (lo, hi) = (zstd_safe::min_c_level(), zstd_safe::max_c_level());
        if !(lo..=hi).contains(&self.level) {
            return Err(Error::InvalidArgument(format!("level {} is outside {lo}..={hi}", self.level)));
        }
        self.pipeline.validate().map_err(Error::InvalidArgument)
    }
}

fn threads(n: usize) -> usize {
    if n > 0 {
        n
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Compresses whole buffers. Reusable across calls.
#[derive(Debug, Clone, Default)]
pub struct Compressor {
    options: CompressOptions,
}

impl Compressor {
    pub fn new(options: CompressOptions) -> Result<Self> {
        options.validate()?;
        Ok(Self { options })
    }

    pub fn options(&self) -> &CompressOptions {
        &self.options
    }

    /// Compresses `chunks` into one frame each (in order); returns the frames and their
    /// seek-table entries.
    pub(crate) fn compress_chunks(&self, chunks: &[&[u8]]) -> Result<(Vec<Vec<u8>>, Vec<SeekEntry>)> {
        let o = &self.options;
        // Levels and dictionaries only libzstd has stay on the CPU when the choice is automatic.
        let gpu_encodable =
            o.dictionary.is_none() && (crate::encode::LEVEL_MIN..=crate::encode::LEVEL_MAX).contains(&o.level);
        let backend = if o.backend == Backend::Auto && !gpu_encodable { Backend::Cpu } else { o.backend.resolve()? };
        let frames = match backend {
            Backend::Cpu => cpu::compress_chunks(chunks, o, threads(o.threads))?,
            Backend::Cuda => gpu::compress_chunks_cuda(chunks, o)?,
            Backend::Reference => gpu::compress_chunks_reference(chunks, o)?,
            Backend::Auto => unreachable!("resolve() never returns Auto"),
        };
        let entries = chunks
            .par_iter()
            .zip(&frames)
            .map(|(c, f)| SeekEntry {
                compressed_size: f.len() as u32,
                decompressed_size: c.len() as u32,
                checksum: o.checksum.then(|| xxhash_rust::xxh64::xxh64(c, 0) as u32),
            })
            .collect();
        Ok((frames, entries))
    }

    /// Compresses `data` into a new buffer.
    pub fn compress(&self, data: &[u8]) -> Result<Vec<u8>> {
        let chunks: Vec<&[u8]> =
            if data.is_empty() { vec![data] } else { data.chunks(self.options.chunk_size).collect() };
        let (mut frames, entries) = self.compress_chunks(&chunks)?;
        if self.options.seek_table {
            frames.push(SeekTable { entries }.to_frame());
        }
        Ok(concat(&frames))
    }

    /// Compresses `data` into `dst`; returns the bytes written, or an error if `dst` is too
    /// small (in which case `dst`'s contents are unspecified).
    pub fn compress_to_buffer(&self, data: &[u8], dst: &mut [u8]) -> Result<usize> {
        let out = self.compress(data)?;
        if out.len() > dst.len() {
            return Err(Error::OutputTooLarge { requested: out.len() as u64, limit: dst.len() as u64 });
        }
        dst[..out.len()].copy_from_slice(&out);
        Ok(out.len())
    }
}

/// Settings of a [`Decompressor`].
#[derive(Debug, Clone)]
pub struct DecompressOptions {
    /// Largest window accepted, as log2 (default 27 = 128 MiB, like libzstd).
    pub window_log_max: u32,
    /// Largest total output accepted, in bytes (protects against headers that announce
    /// absurd sizes).
    pub max_output: u64,
    /// Raw-content or zstd-format dictionary.
    pub dictionary: Option<Vec<u8>>,
    /// Worker threads for the CPU backend (0 = all cores).
    pub threads: usize,
    pub backend: Backend,
    /// GPUs of the CUDA backend (default: all visible).
    pub gpus: Devices,
    /// Group size and groups in flight of the CUDA backend's pipeline.
    pub pipeline: PipelineOptions,
}

impl Default for DecompressOptions {
    fn default() -> Self {
        Self {
            window_log_max: 27,
            max_output: 1 << 40,
            dictionary: None,
            threads: 0,
            backend: Backend::Auto,
            gpus: Devices::All,
            pipeline: PipelineOptions::default(),
        }
    }
}

/// Decompresses whole buffers. Reusable across calls.
#[derive(Debug, Clone, Default)]
pub struct Decompressor {
    options: DecompressOptions,
}

/// A zstd frame to decode, with the output size its header promises (if any).
pub(crate) struct FrameJob<'a> {
    pub index: usize,
    pub data: &'a [u8],
    pub content_size: Option<u64>,
}

impl Decompressor {
    pub fn new(options: DecompressOptions) -> Result<Self> {
        if !(10..=31).contains(&options.window_log_max) {
            return Err(Error::InvalidArgument(format!(
                "window log max {} is outside 10..=31",
                options.window_log_max
            )));
        }
        options.pipeline.validate().map_err(Error::InvalidArgument)?;
        Ok(Self { options })
    }

    pub fn options(&self) -> &DecompressOptions {
        &self.options
    }

    /// The backend that decodes `jobs`: the configured one, where `Auto` also moves streams
    /// of few large frames to the CPU (see [`gpu_decode_pays`]).
    fn decode_backend(&self, jobs: &[FrameJob<'_>]) -> Result<Backend> {
        let o = &self.options;
        let backend = o.backend.resolve()?;
        if o.backend == Backend::Auto && backend == Backend::Cuda {
            let sizes: Vec<u64> = jobs.iter().map(|j| j.content_size.unwrap_or(4 * j.data.len() as u64)).collect();
            if !gpu_decode_pays(&sizes, threads(o.threads)) {
                if !FEW_FRAMES_REPORTED.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "cuzstd: decoding on the CPU: {} frame(s) too large for the GPU decoder, which decodes each \
                         frame in one warp (--backend cuda forces the GPU)",
                        jobs.len()
                    );
                }
                return Ok(Backend::Cpu);
            }
        }
        Ok(backend)
    }

    /// Decodes the given frames; returns their contents in order.
    pub(crate) fn decode_frames(&self, jobs: &[FrameJob<'_>]) -> Result<Vec<Vec<u8>>> {
        self.decode_frames_on(jobs, self.decode_backend(jobs)?)
    }

    fn decode_frames_on(&self, jobs: &[FrameJob<'_>], backend: Backend) -> Result<Vec<Vec<u8>>> {
        let o = &self.options;
        match backend {
            Backend::Cpu => cpu::decompress_frames(jobs, o, threads(o.threads)),
            Backend::Cuda => gpu::decompress_frames_cuda(jobs, o),
            Backend::Reference => gpu::decompress_frames_reference(jobs, o),
            Backend::Auto => unreachable!("resolve() never returns Auto"),
        }
    }

    /// On the CUDA backend, when every frame announces its size: decodes straight into one
    /// output buffer (each frame's output copied from pinned staging once). `None` when this
    /// does not apply; `OutputTooLarge` when the buffer cannot be reserved.
    fn decode_into_one_buffer(&self, jobs: &[FrameJob<'_>], backend: Backend) -> Result<Option<Vec<u8>>> {
        if jobs.is_empty() || backend != Backend::Cuda {
            return Ok(None);
        }
        let Some(sizes) =
            jobs.iter().map(|j| j.content_size.and_then(|c| usize::try_from(c).ok())).collect::<Option<Vec<usize>>>()
        else {
            return Ok(None);
        };
        let Some(total) = sizes.iter().try_fold(0usize, |a, &b| a.checked_add(b)) else { return Ok(None) };
        // A failed reservation is an ordinary error here, where a failed allocation would abort.
        let mut probe: Vec<u8> = Vec::new();
        if probe.try_reserve_exact(total).is_err() {
            return Err(Error::OutputTooLarge { requested: total as u64, limit: 0 });
        }
        drop(probe);
        // Zeroed pages come without a memset pass; the copies fault them in, on all threads.
        let mut out = vec![0u8; total];
        {
            let mut slices = Vec::with_capacity(sizes.len());
            let mut rest = out.as_mut_slice();
            for &n in &sizes {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
                slices.push(std::sync::Mutex::new(head));
                rest = tail;
            }
            gpu::decompress_frames_cuda_into(jobs, &self.options, &slices)?;
        }
        Ok(Some(out))
    }

    /// Decompresses a whole zstd stream.
    pub fn decompress(&self, data: &[u8]) -> Result<Vec<u8>> {
        let t0 = std::time::Instant::now();
        let spans = format::frames(data)?;
        check_seek_table(data, &spans)?;
        let jobs = frame_jobs(data, &spans);
        let announced: u64 = jobs.iter().filter_map(|j| j.content_size).sum();
        if announced > self.options.max_output {
            return Err(Error::OutputTooLarge { requested: announced, limit: self.options.max_output });
        }
        let t_parse = crate::gpu::pipeline::ms(t0);
        let t1 = std::time::Instant::now();
        let backend = self.decode_backend(&jobs)?;
        if let Some(out) = self.decode_into_one_buffer(&jobs, backend)? {
            if crate::gpu::pipeline::tracing() {
                eprintln!(
                    "cuzstd trace: decompress {} frames into one buffer: parse {t_parse:.1} ms, decode {:.1} ms",
                    jobs.len(),
                    crate::gpu::pipeline::ms(t1)
                );
            }
            return Ok(out);
        }
        let parts = self.decode_frames_on(&jobs, backend)?;
        let t_decode = crate::gpu::pipeline::ms(t1);
        let total: usize = parts.iter().map(Vec::len).sum();
        if total as u64 > self.options.max_output {
            return Err(Error::OutputTooLarge { requested: total as u64, limit: self.options.max_output });
        }
        let t2 = std::time::Instant::now();
        let out = concat(&parts);
        if crate::gpu::pipeline::tracing() {
            eprintln!(
                "cuzstd trace: decompress {} frames: parse {t_parse:.1} ms, decode {t_decode:.1} ms, concat {:.1} ms",
                jobs.len(),
                crate::gpu::pipeline::ms(t2)
            );
        }
        Ok(out)
    }
}

/// The concatenation of `parts`, copied by all cores (a fresh buffer of a gigabyte costs as
/// much in page faults as in copying; both spread over the threads).
fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = parts.iter().map(Vec::len).sum();
    // Zeroed memory comes from fresh pages without a memset pass; the copies below fault the
    // pages in, spread over the threads. (Callers bound `total` by their output limit.)
    let mut out = vec![0u8; total];
    let mut slices: Vec<(&mut [u8], &[u8])> = Vec::with_capacity(parts.len());
    let mut rest = out.as_mut_slice();
    for p in parts {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(p.len());
        slices.push((head, p));
        rest = tail;
    }
    slices.into_par_iter().with_min_len(4).for_each(|(d, s)| d.copy_from_slice(s));
    out
}

pub(crate) fn frame_jobs<'a>(data: &'a [u8], spans: &[FrameSpan]) -> Vec<FrameJob<'a>> {
    spans
        .iter()
        .enumerate()
        .filter_map(|(index, s)| match s.kind {
            FrameKind::Zstd(h) => {
                Some(FrameJob { index, data: &data[s.offset..s.offset + s.len], content_size: h.content_size })
            }
            FrameKind::Skippable { .. } => None,
        })
        .collect()
}

/// If the stream ends with a seek table, checks that it describes the frames before it.
fn check_seek_table(data: &[u8], spans: &[FrameSpan]) -> Result<()> {
    let Some(last) = spans.last() else { return Ok(()) };
    if !matches!(last.kind, FrameKind::Skippable { magic_low: 0xE }) {
        return Ok(());
    }
    let table = match format::seekable::SeekTable::from_stream_end(data) {
        Ok(Some((t, _))) => t,
        Ok(None) => return Ok(()),
        Err(reason) => {
            return Err(format::FormatError { offset: last.offset as u64, frame: spans.len() - 1, reason }.into())
        }
    };
    let described = &spans[..spans.len() - 1];
    let mismatch = table.entries.len() != described.len()
        || table.entries.iter().zip(described).any(|(e, s)| e.compressed_size as usize != s.len);
    if mismatch {
        return Err(format::FormatError {
            offset: last.offset as u64,
            frame: spans.len() - 1,
            reason: format!(
                "seek table lists {} frames that do not match the {} frames of the stream",
                table.entries.len(),
                described.len()
            ),
        }
        .into());
    }
    Ok(())
}

/// Compresses `data` at `level` with the default options (chunked frames, checksums, seek
/// table, automatic backend).
pub fn compress(data: &[u8], level: i32) -> Result<Vec<u8>> {
    Compressor::new(CompressOptions { level, ..Default::default() })?.compress(data)
}

/// Compresses `data` at `level` into `dst`; returns the bytes written.
pub fn compress_to_buffer(data: &[u8], dst: &mut [u8], level: i32) -> Result<usize> {
    Compressor::new(CompressOptions { level, ..Default::default() })?.compress_to_buffer(data, dst)
}

/// Decompresses any zstd stream with the default options.
pub fn decompress(data: &[u8]) -> Result<Vec<u8>> {
    Decompressor::default().decompress(data)
}

#[cfg(test)]
mod gpu_choice_tests {
    use super::gpu_decode_pays;

    #[test]
    fn one_large_frame_decodes_on_the_cpu() {
        assert!(!gpu_decode_pays(&[1 << 30], 16));
        assert!(!gpu_decode_pays(&[64 << 20; 4], 16));
    }

    #[test]
    fn many_small_frames_decode_on_the_gpu() {
        assert!(gpu_decode_pays(&vec![64 << 10; 16384], 16));
        assert!(gpu_decode_pays(&vec![256 << 10; 4096], 16));
        assert!(gpu_decode_pays(&[], 16));
    }

    #[test]
    fn few_small_frames_follow_the_core_count() {
        // A handful of 64 KiB frames: one warp each against one core each.
        assert!(!gpu_decode_pays(&[64 << 10; 4], 16));
    }
}
