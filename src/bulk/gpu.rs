//! The CUDA and reference backends of the bulk API: cuzstd's own codec, on the GPU
//! (`gpu::encode::BatchCompressor`, `gpu::decode::BatchDecompressor`) or its host build
//! (`encode`, `decode`). Both write and read the same frames.

use std::sync::OnceLock;

use super::{CompressOptions, DecompressOptions, FrameJob};
use crate::decode::{DecodeOptions, Dictionary};
use crate::encode::{EncodeOptions, LEVEL_MAX, LEVEL_MIN};
use crate::error::{Error, Result};
use crate::gpu::Gpu;

/// The process's GPU 0, opened on first use.
pub(super) fn device() -> Result<&'static Gpu> {
    static GPU: OnceLock<std::result::Result<Gpu, String>> = OnceLock::new();
    GPU.get_or_init(|| Gpu::new(0).map_err(|e| e.to_string())).as_ref().map_err(|e| Error::NoDevice(e.clone()))
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
    let gpu = device()?;
    let results = crate::gpu::encode::BatchCompressor::new(gpu, opts).compress(chunks)?;
    results.into_iter().enumerate().map(|(i, r)| renumber(r, i)).collect()
}

pub(super) fn compress_chunks_reference(chunks: &[&[u8]], o: &CompressOptions) -> Result<Vec<Vec<u8>>> {
    let opts = encode_options(o)?;
    crate::encode::compress_batch(chunks, &opts).into_iter().enumerate().map(|(i, r)| renumber(r, i)).collect()
}

pub(super) fn decompress_frames_cuda(jobs: &[FrameJob<'_>], o: &DecompressOptions) -> Result<Vec<Vec<u8>>> {
    let gpu = device()?;
    let mut d = crate::gpu::decode::BatchDecompressor::new(gpu, decode_options(o));
    if let Some(dict) = dictionary(o)? {
        d = d.with_dictionary(&dict)?;
    }
    let inputs: Vec<&[u8]> = jobs.iter().map(|j| j.data).collect();
    let results = d.decompress(&inputs)?;
    results.into_iter().zip(jobs).map(|(r, j)| renumber(r, j.index)).collect()
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
