//! cuzstd: Zstandard (RFC 8878) on NVIDIA GPUs.
//!
//! The codec lives in `cuda/` as `__host__ __device__` code compiled twice: by nvcc into the
//! kernels that [`gpu`] launches, and by the host C++ compiler into the [`reference`] build,
//! which runs the same code on the CPU (for tests, debugging, and machines without a GPU).
//!
//! Only [`gpu`] uses cudarc or `unsafe`; the rest of the crate is safe Rust.
#![deny(unsafe_code)]

pub mod abi;
pub mod bench;
pub mod bulk;
pub mod decode;
pub mod encode;
pub mod error;
pub mod format;
pub mod gguf;
#[allow(unsafe_code)]
pub mod gpu;
pub mod llm;
pub mod pool;
pub mod reference;
pub mod zipper;

pub use error::{Error, Result, Status};
