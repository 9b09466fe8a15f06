//! The one place where a tile's payload becomes a zstd frame and back.
//!
//! Each tile is ONE independent zstd frame: no dictionary, the content size in the frame header
//! (so a decoder knows the output size before decoding), and an XXH64 content checksum (so a
//! damaged frame is an error rather than wrong values). The CPU backend is libzstd through
//! zstd-safe; the GPU encoder will replace [`compress_tile`] behind the same signature.

use std::cell::RefCell;

use zstd_safe::{CCtx, CParameter, DCtx};

/// Magic number of a zstd frame, little-endian.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Default compression level for tiles.
pub const DEFAULT_LEVEL: i32 = 3;

thread_local! {
    static CCTX: RefCell<Option<CCtx<'static>>> = const { RefCell::new(None) };
    static DCTX: RefCell<Option<DCtx<'static>>> = const { RefCell::new(None) };
}

fn zname(code: zstd_safe::ErrorCode) -> String {
    zstd_safe::get_error_name(code).to_string()
}

/// Compresses `payload` as one frame with content size and checksum.
pub fn compress_tile(payload: &[u8], level: i32) -> Result<Vec<u8>, String> {
    CCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let cctx = slot.get_or_insert_with(CCtx::create);
        cctx.reset(zstd_safe::ResetDirective::SessionAndParameters).map_err(zname)?;
        cctx.set_parameter(CParameter::CompressionLevel(level)).map_err(zname)?;
        cctx.set_parameter(CParameter::ContentSizeFlag(true)).map_err(zname)?;
        cctx.set_parameter(CParameter::ChecksumFlag(true)).map_err(zname)?;
        let mut out = Vec::with_capacity(zstd_safe::compress_bound(payload.len()));
        cctx.compress2(&mut out, payload).map_err(zname)?;
        Ok(out)
    })
}

/// Checks that `frame` is exactly one zstd frame whose header declares a content size of at
/// most `max_size`, and returns that size. Reads the frame and block headers only.
pub fn inspect_tile(frame: &[u8], max_size: usize) -> Result<usize, String> {
    if frame.len() < 4 || frame[..4] != ZSTD_MAGIC {
        return Err(format!("delta frame does not start with the zstd magic ({} bytes)", frame.len()));
    }
    let size = match zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n,
        Ok(None) => return Err("delta frame header has no content size".into()),
        Err(_) => return Err("delta frame header is malformed".into()),
    };
    if size > max_size as u64 {
        return Err(format!("delta frame declares {size} bytes of content, more than the tile bound {max_size}"));
    }
    match zstd_safe::find_frame_compressed_size(frame) {
        Ok(n) if n == frame.len() => Ok(size as usize),
        Ok(n) => Err(format!("delta holds {} bytes but its zstd frame ends after {n}", frame.len())),
        Err(code) => Err(format!("delta frame is malformed: {}", zname(code))),
    }
}

/// Decompresses one tile frame (after [`inspect_tile`] with the same bound), checking its
/// checksum and that the output has the declared size.
pub fn decompress_tile(frame: &[u8], max_size: usize) -> Result<Vec<u8>, String> {
    let size = inspect_tile(frame, max_size)?;
    DCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let dctx = slot.get_or_insert_with(DCtx::create);
        let mut out = Vec::with_capacity(size);
        let n = dctx.decompress(&mut out, frame).map_err(|c| format!("delta frame does not decode: {}", zname(c)))?;
        if n != size {
            return Err(format!("delta frame decoded to {n} bytes, its header says {size}"));
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 13) as u8).collect();
        let f = compress_tile(&payload, DEFAULT_LEVEL).unwrap();
        assert_eq!(inspect_tile(&f, 5000).unwrap(), 5000);
        assert_eq!(decompress_tile(&f, 5000).unwrap(), payload);
        assert!(inspect_tile(&f, 4999).unwrap_err().contains("bound"));
        let mut two = f.clone();
        two.extend_from_slice(&f);
        assert!(inspect_tile(&two, 5000).unwrap_err().contains("ends after"));
        assert!(inspect_tile(&f[..f.len() - 1], 5000).is_err());
        let mut bad = f.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1; // checksum byte
        assert!(decompress_tile(&bad, 5000).unwrap_err().contains("does not decode"));
        assert!(inspect_tile(b"abcd", 10).unwrap_err().contains("magic"));
        let empty = compress_tile(&[], DEFAULT_LEVEL).unwrap();
        assert_eq!(decompress_tile(&empty, 0).unwrap(), Vec::<u8>::new());
    }
}
