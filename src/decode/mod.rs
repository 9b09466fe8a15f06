//! Zstandard decompression with the reference build (the `cuda/` decoder compiled for the
//! host): whole buffers of concatenated frames, with or without a dictionary.
//!
//! This is the same code the GPU kernel runs (`cuda/include/frame_decode.cuh`); results match
//! libzstd 1.5.6's one-shot `ZSTD_decompress`, with two deliberate differences:
//!
//! * by default frames with a window larger than 128 MiB are refused (see
//!   [`DecodeOptions::max_window_size`]; [`DecodeOptions::unlimited_window`] lifts it);
//! * a Huffman literals stream whose last code reads past the start of the stream is
//!   rejected (`HUFFMAN_STREAM_CORRUPT`), as RFC 8878 requires. libzstd's double-symbol
//!   Huffman decoder, which it uses for dictionary tables and for some 4-stream blocks, accepts
//!   such corrupt streams. No encoder produces them.
//!
//! libzstd's other tolerance of invalid data that 1.5.6 still has (a truncated second initial
//! state of FSE-compressed Huffman weights, `decompressor_permissive.md`) is reproduced.
#![forbid(unsafe_code)]

use std::fmt;

use crate::abi;
use crate::error::{Error, Status};
use crate::gpu::reference_decode as ffi;

pub use ffi::Workspace;

/// Default largest window: 128 MiB (windowLog 27), libzstd's default `windowLogMax`.
pub const DEFAULT_MAX_WINDOW_SIZE: u64 = 1 << 27;
/// A window limit that keeps only the format's own (windowLog <= 31), as libzstd's one-shot
/// `ZSTD_decompress` does.
pub const UNLIMITED_WINDOW: u64 = u64::MAX;

/// Limits of a decompression call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Frames whose window (single-segment frames: content size) is larger fail with
    /// `WINDOW_TOO_LARGE`. [`UNLIMITED_WINDOW`] accepts every window the format allows.
    pub max_window_size: u64,
    /// [`decompress`] refuses inputs that could need a larger output buffer
    /// (`OUTPUT_TOO_SMALL`), so a corrupt content size cannot make it allocate without bound.
    pub max_output_size: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { max_window_size: DEFAULT_MAX_WINDOW_SIZE, max_output_size: 1 << 32 }
    }
}

impl DecodeOptions {
    /// Accepts every window the format allows (libzstd one-shot behaviour).
    pub fn unlimited_window(mut self) -> Self {
        self.max_window_size = UNLIMITED_WINDOW;
        self
    }

    /// Sets the window limit to `1 << log` bytes.
    pub fn window_log_max(mut self, log: u32) -> Self {
        self.max_window_size = 1u64 << log.min(63);
        self
    }
}

/// A decoding failure: the status and where it happened.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    pub status: Status,
    /// Index of the frame (skippable frames included) that failed.
    pub frame: u32,
    /// Index of the block inside that frame.
    pub block: u32,
}

impl DecodeError {
    fn new(status: u32, detail: u32) -> Self {
        Self { status: Status(status), frame: detail >> 16, block: detail & 0xFFFF }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame {}, block {}: {}", self.frame, self.block, self.status)
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecodeError {{ {:?}, frame {}, block {} }}", self.status, self.frame, self.block)
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Item { index: e.frame as usize, status: e.status }
    }
}

/// A decompression dictionary: zstd-format (magic 0xEC30A437: entropy tables, repeat
/// offsets, content) or raw content (anything else).
#[derive(Clone)]
pub struct Dictionary {
    bytes: Vec<u8>,
    id: u32,
    content_size: u64,
}

impl Dictionary {
    /// Checks and keeps a dictionary. A zstd-format dictionary whose tables do not load
    /// fails with `DICTIONARY_CORRUPT`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, DecodeError> {
        let bytes = bytes.into();
        let (st, id, content_size) = ffi::dictionary_check(&bytes, &mut Workspace::new());
        if st != abi::CZ_STATUS_OK {
            return Err(DecodeError::new(st, 0));
        }
        Ok(Self { bytes, id, content_size })
    }

    /// The Dictionary_ID frames name it by; 0 for raw content.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether this is raw content (no entropy tables).
    pub fn is_raw_content(&self) -> bool {
        self.content_size == self.bytes.len() as u64
    }

    /// Bytes that matches may reference.
    pub fn content_size(&self) -> u64 {
        self.content_size
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dictionary")
            .field("id", &self.id)
            .field("bytes", &self.bytes.len())
            .field("content_size", &self.content_size)
            .finish()
    }
}

/// What the frame headers of a buffer say, without decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramesInfo {
    /// Sum of the frames' content sizes when every frame declares one.
    pub content_size: Option<u64>,
    /// Upper bound on the output of a valid input.
    pub bound: u64,
    /// Largest window of the frames.
    pub max_window_size: u64,
}

/// Walks the frame and block headers of `src`.
pub fn frames_info(src: &[u8]) -> Result<FramesInfo, DecodeError> {
    let (st, total, known, bound, window) = ffi::scan_frames(src);
    if st != abi::CZ_STATUS_OK {
        return Err(DecodeError::new(st, 0));
    }
    Ok(FramesInfo { content_size: known.then_some(total), bound, max_window_size: window })
}

/// Decodes every frame of `src` into `dst`; returns the number of bytes written.
pub fn decompress_into(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&Dictionary>,
    options: &DecodeOptions,
) -> Result<usize, DecodeError> {
    decompress_into_with(src, dst, dict, options, &mut Workspace::new())
}

/// [`decompress_into`] with a caller-kept workspace (saves its allocation across calls).
pub fn decompress_into_with(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&Dictionary>,
    options: &DecodeOptions,
    ws: &mut Workspace,
) -> Result<usize, DecodeError> {
    let (st, written, detail) = ffi::decode_all(src, dst, dict.map(|d| d.as_bytes()), ws, options.max_window_size);
    if st != abi::CZ_STATUS_OK {
        return Err(DecodeError::new(st, detail));
    }
    Ok(written)
}

/// The GPU's staged decoder (`cuda/include/staged_decode.cuh`) run on the host with one
/// thread: its three passes where they take `src`, else the frame decoder, exactly as the
/// staged kernels do. Returns the result (always that of [`decompress_into`]) and whether the
/// staged passes decoded it. For testing the passes; [`decompress_into`] is the faster
/// host decoder.
pub fn decompress_staged_into(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&Dictionary>,
    options: &DecodeOptions,
) -> (Result<usize, DecodeError>, bool) {
    staged_into(src, dst, dict, options, false)
}

/// [`decompress_staged_into`] with the sequences and execute passes the GPU runs for small
/// batches (a team per item, `cz_staged_sequences_solo`; execution in a separate buffer):
/// the same result and flag, for testing those passes.
pub fn decompress_staged_solo_into(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&Dictionary>,
    options: &DecodeOptions,
) -> (Result<usize, DecodeError>, bool) {
    staged_into(src, dst, dict, options, true)
}

fn staged_into(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&Dictionary>,
    options: &DecodeOptions,
    solo: bool,
) -> (Result<usize, DecodeError>, bool) {
    let mut ws = Workspace::new();
    with_path(ffi::decode_staged(src, dst, dict.map(|d| d.as_bytes()), &mut ws, options.max_window_size, solo))
}

/// A host run of a GPU decode path, (status, written, detail, whether the path itself
/// decoded the input), as the result and that flag.
fn with_path((st, written, detail, by_path): (u32, usize, u32, bool)) -> (Result<usize, DecodeError>, bool) {
    if st != abi::CZ_STATUS_OK {
        return (Err(DecodeError::new(st, detail)), by_path);
    }
    (Ok(written), by_path)
}

/// The fused zipper kernel's tile decode (two warps: literals and sequences at once, see
/// `cuda/include/frame_decode.cuh`) run on the host with one thread: its parts where they take
/// `src`, else the frame decoder, exactly as the kernel does. Returns the result (always that
/// of [`decompress_into`]) and whether the split parts decoded it. For testing the parts.
pub fn decompress_split_into(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&Dictionary>,
    options: &DecodeOptions,
) -> (Result<usize, DecodeError>, bool) {
    let mut ws = Workspace::new();
    with_path(ffi::decode_split(src, dst, dict.map(|d| d.as_bytes()), &mut ws, options.max_window_size))
}

/// Decodes every frame of `src` into a new vector sized from the frame headers.
pub fn decompress(src: &[u8], dict: Option<&Dictionary>, options: &DecodeOptions) -> Result<Vec<u8>, DecodeError> {
    let info = frames_info(src)?;
    let need = info.content_size.unwrap_or(info.bound);
    if need > options.max_output_size {
        return Err(DecodeError::new(abi::CZ_STATUS_OUTPUT_TOO_SMALL, 0));
    }
    let mut out = vec![0u8; need as usize];
    let n = decompress_into(src, &mut out, dict, options)?;
    out.truncate(n);
    Ok(out)
}

/// Picks the dictionary a buffer's first frame names (by Dictionary_ID) from `dicts`.
/// Returns `None` when the frame names none (ID 0) or none of `dicts` has its ID.
pub fn select_dictionary<'a>(src: &[u8], dicts: &'a [Dictionary]) -> Option<&'a Dictionary> {
    let id = first_frame_dict_id(src)?;
    dicts.iter().find(|d| d.id == id)
}

/// The Dictionary_ID of the first Zstandard frame of `src` (skippable frames skipped), if
/// it names one.
pub fn first_frame_dict_id(src: &[u8]) -> Option<u32> {
    let mut p = 0usize;
    while src.len() - p >= 8 {
        let magic = u32::from_le_bytes(src[p..p + 4].try_into().ok()?);
        if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
            let len = u32::from_le_bytes(src[p + 4..p + 8].try_into().ok()?) as usize;
            p = p.checked_add(8)?.checked_add(len)?;
            continue;
        }
        if magic != 0xFD2F_B528 {
            return None;
        }
        let fhd = *src.get(p + 4)?;
        let single = (fhd >> 5) & 1 == 1;
        let at = p + 5 + usize::from(!single);
        let id = match fhd & 3 {
            0 => 0,
            1 => u32::from(*src.get(at)?),
            2 => u32::from(u16::from_le_bytes(src.get(at..at + 2)?.try_into().ok()?)),
            _ => u32::from_le_bytes(src.get(at..at + 4)?.try_into().ok()?),
        };
        return (id != 0).then_some(id);
    }
    None
}

/// Bytes of the decoder workspace each concurrent decode needs (the size of
/// `cz_decode_workspace` in `cuda/include/frame_decode.cuh`).
pub fn workspace_size() -> usize {
    ffi::workspace_size()
}
