//! Paths shared by the integration tests. The GPU bundle (scripts/gpu-bundle.sh) runs test
//! binaries away from the source tree; it points these variables at its own copies.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod corpus;

/// The crate root: `CUZSTD_TEST_ROOT` if set, else the source tree the test was built from.
pub fn root() -> PathBuf {
    std::env::var_os("CUZSTD_TEST_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// `tests/data` under [`root`].
pub fn data() -> PathBuf {
    root().join("tests").join("data")
}

/// The project's shared material: `CUZSTD_SHARED` if set, else `../shared` beside the root.
pub fn shared() -> PathBuf {
    std::env::var_os("CUZSTD_SHARED").map(PathBuf::from).unwrap_or_else(|| root().join("..").join("shared"))
}

/// Opens GPU 0 or panics with the reason: GPU tests never pass without a device.
#[cfg(feature = "gpu-tests")]
pub fn gpu() -> cuzstd::gpu::Gpu {
    cuzstd::gpu::Gpu::new(0).unwrap_or_else(|e| panic!("GPU test needs a CUDA device and the NVIDIA driver: {e}"))
}
