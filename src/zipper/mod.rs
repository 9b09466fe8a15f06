//! Zipper: linear-layer weights kept as a quantized base plus a sparse residual stored as
//! independent zstd frames, one per row tile, so a GPU block can decode its tile's delta into
//! shared memory and apply it inside the matrix product without ever materialising `W`.
//!
//! The host-side parts live here:
//! - [`quant`]: the base (INT8 with one symmetric scale per output row, or INT4 with group-wise
//!   scales along the input dimension) and its dequantization.
//! - [`delta`]: which residual entries are kept (the largest per row up to a density, or every
//!   entry needed to restore the source f16/bf16 bits exactly).
//! - [`tile`]: rows grouped into tiles, a tile's delta serialised (per-row counts, gap-coded
//!   column indices, f16 values; plain or split byte planes) and parsed back with full checks.
//! - [`frame`]: the one place that compresses and decompresses a tile as one zstd frame.
//! - [`safetensors`]: the container format (written and read here, validated fully on load).
//! - [`container`]: the zipper's tensors and metadata inside a safetensors file.
//! - [`pack`]: the packer (GGUF or safetensors in, container and report out).
//! - [`layer`]: [`ZipperLinear`], the CPU layer (test oracle for the GPU kernel, and the path
//!   on machines without a GPU), implementing [`crate::llm::Linear`].
//! - [`cli`]: `cuzstd zipper pack`.
//! - [`kernel`]: the fused GPU kernel's launch shape, host-contract checks, shared-memory and
//!   residency plans, and its reference build on the CPU. The device side is
//!   `crate::gpu::zipper` ([`GpuZipperLinear`], [`zipper_linear`] with the CPU layer as the
//!   fallback) and `crate::gpu::zipper_stream` ([`ZipperModel`]: layers streamed from pinned
//!   host memory).
//!
//! The container layout and tile encoding are described in `docs/ZIPPER.md`.

pub mod cli;
pub mod container;
pub mod delta;
pub mod frame;
pub mod kernel;
pub mod layer;
pub mod pack;
pub mod quant;
pub mod safetensors;
pub mod tile;

pub use crate::gpu::zipper::{zipper_linear, GpuZipperLinear, ZipperWorkspace};
pub use crate::gpu::zipper_stream::{StreamMode, StreamStats, ZipperModel};
pub use container::{PackedWeight, ZipperFile, ZipperMeta};
pub use delta::{DeltaMode, HalfKind};
pub use layer::ZipperLinear;
pub use pack::{pack_file, PackOptions, PackReport, TensorReport};
pub use quant::BaseKind;
pub use tile::TileLayout;

/// What went wrong packing, loading or running zipper weights. Every variant about data names
/// the tensor (and the tile where there is one).
#[derive(Debug, thiserror::Error)]
pub enum ZipperError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The safetensors framing is malformed (header length, JSON, offsets).
    #[error("container: {0}")]
    Container(String),
    /// A tensor of the container (or of a safetensors input) is malformed.
    #[error("tensor {tensor:?}: {message}")]
    Tensor { tensor: String, message: String },
    /// One tile's delta frame of a packed weight is malformed.
    #[error("tensor {tensor:?}, tile {tile}: {message}")]
    Tile { tensor: String, tile: usize, message: String },
    /// The zipper metadata is missing, malformed or of an unsupported version.
    #[error("zipper metadata: {0}")]
    Metadata(String),
    #[error(transparent)]
    Gguf(#[from] crate::gguf::GgufError),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A device call failed (not a problem of the data).
    #[error("GPU: {0}")]
    Gpu(#[from] crate::error::Error),
}

pub type Result<T, E = ZipperError> = std::result::Result<T, E>;

pub(crate) fn tensor_err(tensor: &str, message: impl Into<String>) -> ZipperError {
    ZipperError::Tensor { tensor: tensor.to_string(), message: message.into() }
}

pub(crate) fn tile_err(tensor: &str, tile: usize, message: impl Into<String>) -> ZipperError {
    ZipperError::Tile { tensor: tensor.to_string(), tile, message: message.into() }
}
