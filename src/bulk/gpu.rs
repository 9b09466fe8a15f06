//! The CUDA and reference backends of the bulk API: cuzstd's own codec, on the GPU
//! (`gpu::encode::BatchCompressor`, `gpu::decode::BatchDecompressor`) or its host build
//! (`encode`, `decode`). Both write and read the same frames.
//!
//! The CUDA backend runs through the overlapped pipeline (`crate::gpu::pipeline`) on the
//! GPUs the options name (all visible ones by default).

use std::sync::OnceLock;

use super::plan::Devices;
use super::{CompressOptions, DecompressOptions, FrameJob};
use crate::decode::{DecodeOptions, Dictionary};
use crate::encode::{EncodeOptions, LEVEL_MAX, LEVEL_MIN};
use crate::error::{Error, Result};
use crate::gpu::Gpu;

/// The process's handle on GPU `ordinal`, opened on first use (ordinals below 64).
fn open(ordinal: usize) -> Result<&'static Gpu> {
    const MAX: usize = 64;
    static GPUS: [OnceLock<std::result::Result<Gpu, String>>; MAX] = [const { OnceLock::new() }; MAX];
    let slot =
        GPUS.get(ordinal).ok_or_else(|| Error::NoDevice(format!("GPU {ordinal} is beyond the {MAX} supported")))?;
    slot.get_or_init(|| Gpu::new(ordinal).map_err(|e| e.to_string())).as_ref().map_err(|e| Error::NoDevice(e.clone()))
}

/// The process's GPU 0, opened on first use.
pub(super) fn device() -> Result<&'static Gpu> {
    open(0)
}

/// The GPUs `devices` names, opened on first use.
pub(super) fn devices(devices: &Devices) -> Result<Vec<&'static Gpu>> {
    let count = crate::gpu::device_count()?;
    devices.resolve(count).map_err(Error::NoDevice)?.into_iter().map(open).collect()
}

fn encode_options(o: &CompressOptions) -> Result<EncodeOptions> {
    if o.dictionary.is_some() {
        return Err(Error::Unsupported("compression with a dictionary needs --backend cpu".into()));
    }
    if !(LEVEL_MIN..=LEVEL_MAX).contains(&o.level) {
        return Err(Error::InvalidArgument(format!(
            "cuzstd's encoder has levels {LEVEL_MIN}..={LEVEL_MAX}, not {} (libzstd's are on --backend cpu)",
            o.level
        )));
    }
    Ok(EncodeOptions { level: o.level, checksum: o.checksum })
}

fn decode_options(o: &DecompressOptions) -> DecodeOptions {
    DecodeOptions { max_window_size: 1u64 << o.window_log_max, max_output_size: o.max_output }
}

fn dictionary(o: &DecompressOptions) -> Result<Option<Dictionary>> {
    o.dictionary.as_ref().map(|d| Dictionary::new(d.clone()).map_err(Error::from)).transpose()
}

/// Numbers per-item errors with the frame index of the stream.
fn renumber(r: Result<Vec<u8>>, frame: usize) -> Result<Vec<u8>> {
    r.map_err(|e| match e {
        Error::Item { status, .. } => Error::Item { index: frame, status },
        other => other,
    })
}

pub(super) fn compress_chunks_cuda(chunks: &[&[u8]], o: &CompressOptions) -> Result<Vec<Vec<u8>>> {
    let opts = encode_options(o)?;
    let gpus = devices(&o.gpus)?;
    let (results, _) = crate::gpu::encode::compress_pipelined(&gpus, &opts, chunks, &o.pipeline)?;
    results.into_iter().enumerate().map(|(i, r)| renumber(r, i)).collect()
}

pub(super) fn compress_chunks_reference(chunks: &[&[u8]], o: &CompressOptions) -> Result<Vec<Vec<u8>>> {
    let opts = encode_options(o)?;
    crate::encode::compress_batch(chunks, &opts).into_iter().enumerate().map(|(i, r)| renumber(r, i)).collect()
}

pub(super) fn decompress_frames_cuda(jobs: &[FrameJob<'_>], o: &DecompressOptions) -> Result<Vec<Vec<u8>>> {
    let gpus = devices(&o.gpus)?;
    let dict = dictionary(o)?;
    let inputs: Vec<&[u8]> = jobs.iter().map(|j| j.data).collect();
    let (results, _) =
        crate::gpu::decode::decompress_pipelined(&gpus, &decode_options(o), dict.as_ref(), &inputs, &o.pipeline)?;
    results.into_iter().zip(jobs).map(|(r, j)| renumber(r, j.index)).collect()
}

/// `decompress_frames_cuda` into `outputs` (one per job, each exactly its content size).
pub(super) fn decompress_frames_cuda_into(
    jobs: &[FrameJob<'_>],
    o: &DecompressOptions,
    outputs: &crate::gpu::pipeline::Sinks<'_>,
) -> Result<()> {
    let gpus = devices(&o.gpus)?;
    let dict = dictionary(o)?;
    let inputs: Vec<&[u8]> = jobs.iter().map(|j| j.data).collect();
    let (results, _) = crate::gpu::decode::decompress_pipelined_into(
        &gpus,
        &decode_options(o),
        dict.as_ref(),
        &inputs,
        outputs,
        &o.pipeline,
    )?;
    for (r, j) in results.into_iter().zip(jobs) {
        renumber(r, j.index)?;
    }
    Ok(())
}

pub(super) fn decompress_frames_reference(jobs: &[FrameJob<'_>], o: &DecompressOptions) -> Result<Vec<Vec<u8>>> {
    let dict = dictionary(o)?;
    let opts = decode_options(o);
    jobs.iter()
        .map(|j| {
            crate::decode::decompress(j.data, dict.as_ref(), &opts)
                .map_err(|e| renumber(Err(Error::from(e)), j.index).unwrap_err())
        })
        .collect()
}
