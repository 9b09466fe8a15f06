//! Zstandard compression with the reference build (the `cuda/` encoder compiled for the
//! host): one standard frame per input, readable by any zstd decoder.
//!
//! The same code runs in the GPU kernel (`cuda/frame_encode.cu`, see
//! `crate::gpu::encode`), and both produce identical bytes for the same input, level and
//! options. Frames carry their content size and, unless disabled, the XXH64 content checksum.
//!
//! Levels ([`LEVEL_MIN`]..=[`LEVEL_MAX`], 0 means [`LEVEL_DEFAULT`]). The match finder works
//! in batches of 32 positions (one per lane of a warp on the GPU, see `cuda/include/lz77.cuh`);
//! lazy matching looks ahead inside the batch:
//!
//! | level | name    | match finder                                          |
//! |-------|---------|-------------------------------------------------------|
//! | 1     | fast    | one hash table (2^13), lazy (1 step), 6-byte minimum   |
//! | 2     |         | one hash table (2^14), lazy (1 step), 6-byte minimum   |
//! | 3     | default | one hash table (2^14), lazy (1 step), 5-byte minimum   |
//! | 4-6   |         | hash chain of depth 2-8, lazy (1 step), 5-byte         |
//! | 7-9   | high: 9 | hash chain of depth 16-32, lazy (2 steps), 5-byte      |
//! | 10-12 |         | hash chain of depth 48-128, lazy (2 steps), 5-byte     |
//!
//! Ratios measured with the reference build on 64 KiB chunks of `bench-data/silesia/xml`
//! (libzstd 1.5 on the same chunks: 6.27 at -1, 6.63 at -3, 7.63 at -9): level 1: 6.47,
//! level 3: 6.42, level 4: 6.83, level 5: 7.13, level 9: 7.51, level 12: 7.56. On the four
//! Canterbury texts concatenated: 2.35, 2.45, 2.48, 2.54, 2.58, 2.59 (libzstd: 2.33, 2.47).
#![forbid(unsafe_code)]

use crate::abi;
use crate::error::{Error, Result, Status};
use crate::gpu::reference_encode as ffi;

/// Fastest level.
pub const LEVEL_FAST: i32 = 1;
/// The default level.
pub const LEVEL_DEFAULT: i32 = 3;
/// The high-ratio level.
pub const LEVEL_HIGH: i32 = 9;
/// Smallest level.
pub const LEVEL_MIN: i32 = 1;
/// Largest level; higher numbers are clamped to it.
pub const LEVEL_MAX: i32 = 12;

/// Largest content of one frame: 4 GiB - 2 bytes (positions are 32-bit).
pub const MAX_FRAME_CONTENT: u64 = 0xFFFF_FFFE;

/// Settings of a compression call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Compression level, see the module documentation.
    pub level: i32,
    /// Append the XXH64 content checksum (on by default, like the zstd CLI).
    pub checksum: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self { level: LEVEL_DEFAULT, checksum: true }
    }
}

impl EncodeOptions {
    /// The default options at `level`.
    pub fn level(level: i32) -> Self {
        Self { level, ..Self::default() }
    }

    /// The flags word of the encoder ABI.
    pub fn flags(&self) -> u32 {
        if self.checksum {
            abi::CZ_ENCODE_CHECKSUM
        } else {
            0
        }
    }
}

/// Largest frame the encoder writes for `src_size` content bytes: incompressible data grows
/// by the frame header, 3 bytes per 128 KiB block and the checksum.
pub fn compress_bound(src_size: usize) -> usize {
    ffi::compress_bound(src_size as u64) as usize
}

/// Workspace bytes one frame of at most `max_src_size` bytes needs at `level` (on the
/// device, per concurrently encoded frame).
pub fn workspace_size(max_src_size: usize, level: i32) -> usize {
    ffi::workspace_size(max_src_size as u64, level) as usize
}

fn check_size(index: usize, len: usize) -> Result<()> {
    if len as u64 > MAX_FRAME_CONTENT {
        return Err(Error::Item { index, status: Status(abi::CZ_STATUS_INVALID_ARGUMENT) });
    }
    Ok(())
}

/// Compresses `src` into one frame at `level` with the checksum.
pub fn compress(src: &[u8], level: i32) -> Result<Vec<u8>> {
    compress_with(src, &EncodeOptions::level(level))
}

/// Compresses `src` into one frame with `options`.
pub fn compress_with(src: &[u8], options: &EncodeOptions) -> Result<Vec<u8>> {
    compress_batch(&[src], options).pop().expect("one result per input")
}

/// Compresses `src` into `dst`, returning the frame's size. Fails with `OUTPUT_TOO_SMALL`
/// when `dst` is too small for this input (never when it has [`compress_bound`] bytes).
pub fn compress_into(src: &[u8], dst: &mut [u8], options: &EncodeOptions) -> Result<usize> {
    check_size(0, src.len())?;
    let r = ffi::encode_batch(&[src], &mut [dst], options.level, options.flags());
    let r = r[0];
    if r.status != abi::CZ_STATUS_OK {
        return Err(Error::Item { index: 0, status: Status(r.status) });
    }
    Ok(r.size as usize)
}

/// Compresses each input into its own frame; one result per input, in order. An input that
/// fails (only possible for inputs over [`MAX_FRAME_CONTENT`]) does not affect the others.
/// Inputs are spread over the machine's cores.
pub fn compress_batch(inputs: &[&[u8]], options: &EncodeOptions) -> Vec<Result<Vec<u8>>> {
    let mut outs: Vec<Vec<u8>> = inputs.iter().map(|s| vec![0u8; compress_bound(s.len())]).collect();
    let mut slots: Vec<usize> = Vec::with_capacity(inputs.len());
    let mut srcs: Vec<&[u8]> = Vec::with_capacity(inputs.len());
    let mut errors: Vec<Option<Error>> = (0..inputs.len()).map(|_| None).collect();
    for (i, s) in inputs.iter().enumerate() {
        match check_size(i, s.len()) {
            Ok(()) => {
                slots.push(i);
                srcs.push(s);
            }
            Err(e) => errors[i] = Some(e),
        }
    }
    let results = {
        let mut dsts: Vec<&mut [u8]> = Vec::with_capacity(slots.len());
        let mut rest: &mut [Vec<u8>] = &mut outs;
        let mut at = 0;
        for &i in &slots {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(i - at);
            let (item, tail) = tail.split_first_mut().expect("slot index in range");
            dsts.push(item.as_mut_slice());
            rest = tail;
            at = i + 1;
        }
        // Items are independent: groups of them run on their own threads, each group with
        // its own workspace; the frames do not depend on the grouping.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(srcs.len()).max(1);
        let per = srcs.len().div_ceil(threads).max(1);
        let mut results = Vec::with_capacity(srcs.len());
        std::thread::scope(|scope| {
            let handles: Vec<_> = srcs
                .chunks(per)
                .zip(dsts.chunks_mut(per))
                .map(|(s, d)| scope.spawn(move || ffi::encode_batch(s, d, options.level, options.flags())))
                .collect();
            for h in handles {
                results.extend(h.join().expect("an encoder thread panicked"));
            }
        });
        results
    };
    for (&i, r) in slots.iter().zip(&results) {
        if r.status != abi::CZ_STATUS_OK {
            errors[i] = Some(Error::Item { index: i, status: Status(r.status) });
        } else {
            outs[i].truncate(r.size as usize);
        }
    }
    outs.into_iter()
        .zip(errors)
        .map(|(o, e)| match e {
            Some(e) => Err(e),
            None => Ok(o),
        })
        .collect()
}

/// Compresses `src` into one frame that references `dictionary`, a raw-content dictionary
/// (any bytes; the decoder must be given the same bytes, e.g. libzstd's
/// `ZSTD_decompress_usingDict`). The frame declares a window covering dictionary and
/// content, and no dictionary ID. Reference build only; the GPU kernel takes no dictionary.
pub fn compress_with_dictionary(src: &[u8], dictionary: &[u8], options: &EncodeOptions) -> Result<Vec<u8>> {
    check_size(0, src.len() + dictionary.len())?;
    let mut joined = Vec::with_capacity(dictionary.len() + src.len());
    joined.extend_from_slice(dictionary);
    joined.extend_from_slice(src);
    let mut out = vec![0u8; compress_bound(src.len())];
    let (status, size) = ffi::encode_prefixed(&joined, dictionary.len(), &mut out, options.level, options.flags());
    if status != abi::CZ_STATUS_OK {
        return Err(Error::Item { index: 0, status: Status(status) });
    }
    out.truncate(size as usize);
    Ok(out)
}

/// Splits `data` into chunks of `chunk_size` bytes (the last one shorter) and compresses
/// each into its own frame. Concatenated, the frames decode to `data`.
///
/// # Panics
/// If `chunk_size` is 0.
pub fn compress_chunks(data: &[u8], chunk_size: usize, options: &EncodeOptions) -> Result<Vec<Vec<u8>>> {
    assert!(chunk_size > 0, "chunk size of 0");
    let chunks: Vec<&[u8]> = if data.is_empty() { vec![data] } else { data.chunks(chunk_size).collect() };
    compress_batch(&chunks, options).into_iter().collect()
}
