//! Errors of the crate, with the context of where they happened.

use std::fmt;

/// A status code written by a kernel or the reference build (`cz_status` in
/// `cuda/include/abi.h`). The numbers are stable; names and messages come from the same
/// table the CUDA code uses (`cuda/include/status.cuh`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub u32);

impl Status {
    pub const OK: Status = Status(crate::abi::CZ_STATUS_OK);

    pub fn is_ok(self) -> bool {
        self == Self::OK
    }

    /// The code's name, e.g. `CHECKSUM_MISMATCH`, or `None` for a number abi.h does not define.
    pub fn name(self) -> Option<&'static str> {
        crate::gpu::reference_status_name(self.0)
    }

    /// A sentence describing the code.
    pub fn message(self) -> &'static str {
        crate::gpu::reference_status_message(self.0).unwrap_or("unknown status code")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (status {} {})", self.message(), self.0, self.name().unwrap_or("UNKNOWN"))
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Status({} {})", self.0, self.name().unwrap_or("UNKNOWN"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A CUDA driver call failed.
    #[error("CUDA error while {context}: {source}")]
    Cuda {
        context: &'static str,
        #[source]
        source: cudarc::driver::DriverError,
    },
    /// No usable NVIDIA driver or device.
    #[error("no CUDA device: {0}")]
    NoDevice(String),
    /// One item of a batch failed; the others are unaffected.
    #[error("item {index}: {status}")]
    Item { index: usize, status: Status },
    /// The caller passed something the call cannot take.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The input is not a well-formed zstd stream (found while splitting it into frames).
    #[error("corrupt input: {0}")]
    Format(#[from] crate::format::FormatError),
    /// A frame failed to decode or encode on a backend that reports errors as text
    /// (libzstd on the CPU backend).
    #[error("frame {frame}: {message}")]
    Frame { frame: usize, message: String },
    /// The requested backend or feature is not available in this build or on this machine.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An output would exceed the limit the caller set (or memory could not be reserved).
    #[error("output of {requested} bytes exceeds the limit of {limit} bytes")]
    OutputTooLarge { requested: u64, limit: u64 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches what the crate was doing to a driver error.
pub(crate) trait CudaContext<T> {
    fn ctx(self, context: &'static str) -> Result<T>;
}

impl<T> CudaContext<T> for std::result::Result<T, cudarc::driver::DriverError> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Cuda { context, source })
    }
}
