//! The reference build: the CUDA codec sources in `cuda/`, compiled for the host by the
//! C++ compiler. Same code as the kernels, run on the CPU: the oracle of the GPU tests and
//! the codec CI checks against libzstd.

pub use crate::gpu::reference::{abi_layout, xxh64_batch, xxh64_streaming};
