//! The benchmark harness: cuzstd against libzstd and nvCOMP on the same data in one run.
//!
//! * [`data`] builds the data sets: each file at its native size or tiled to a target size
//!   (1 GiB by default), cut into independent chunks; random and all-equal edge cases; model
//!   weights as raw f16.
//! * [`cpu`] is the libzstd baseline (zstd-safe): one context per thread, chunks split
//!   evenly over the threads, each chunk one frame.
//! * [`gpu`] times GPU batch codecs through the [`gpu::GpuCodec`] trait: nvCOMP now, cuzstd's
//!   `BatchCompressor`/`BatchDecompressor` once they land (see the trait's documentation).
//! * [`compare`] is the run shared by `cuzstd bench` and `examples/bench.rs`: codecs, header,
//!   report.
//! * [`report`] holds the measured rows, the statistics (median of the timed runs), and the
//!   table and CSV output.
//!
//! Every row is verified once (decompress and compare) before it is timed; a row that fails
//! verification carries the error instead of numbers, and the table says so.
#![forbid(unsafe_code)]

pub mod compare;
pub mod cpu;
pub mod cuzstd;
pub mod data;
pub mod gpu;
pub mod report;
pub mod run;

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Gpu(#[from] crate::Error),
    #[error("nvCOMP: {0}")]
    Nvcomp(#[from] crate::gpu::nvcomp::NvcompError),
    #[error("libzstd: {0}")]
    Zstd(String),
    /// Output that does not match the input: the row is not reported.
    #[error("verification failed: {0}")]
    Verify(String),
    #[error("{0}")]
    Data(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Where the first difference between `got` and `want` is, as an error, or `Ok`.
pub fn compare(what: &str, got: &[u8], want: &[u8]) -> Result<()> {
    if got.len() != want.len() {
        return Err(BenchError::Verify(format!("{what}: {} bytes, should be {}", got.len(), want.len())));
    }
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
        return Err(BenchError::Verify(format!("{what}: byte {at} is {:#04x}, should be {:#04x}", got[at], want[at])));
    }
    Ok(())
}
