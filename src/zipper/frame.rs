//! The one place where a tile's payload becomes a zstd frame and back.
//!
//! Each tile is ONE independent zstd frame with the content size in the frame header (so a
//! decoder knows the output size before decoding) and an XXH64 content checksum (so a damaged
//! frame is an error rather than wrong values). Two codecs ([`TileCodec`]):
//!
//! * `literal` (default): the weight has one zstd-format dictionary holding a Huffman table
//!   built from all its tiles' bytes ([`literal_dictionary`]); each tile is a frame of blocks
//!   without sequences whose literals use that table (treeless), cut into up to 32 Huffman
//!   streams below 2 KiB of content and up to 64 from there (`cz_encode_literal_frame`, our
//!   encoder's reference build). The fused kernel decodes such a frame with a table built once
//!   per layer, one stream per lane (the batch-1 kernel: the two groups of 32 in two warps).
//! * `zstd`: libzstd at a level, no dictionary (LZ matches and a Huffman table per frame: a
//!   better ratio, a much slower decode in the fused kernel).
//!
//! Decompression on the CPU is libzstd through zstd-safe (with the dictionary when there is
//! one), so every tile is also checked against the reference implementation of the format.

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

/// How a weight's tiles are coded (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileCodec {
    Literal,
    Zstd,
}

impl TileCodec {
    pub fn name(self) -> &'static str {
        match self {
            TileCodec::Literal => "literal",
            TileCodec::Zstd => "zstd",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "literal" => Some(TileCodec::Literal),
            "zstd" => Some(TileCodec::Zstd),
            _ => None,
        }
    }
}

/// Byte counts of tile payloads, the input of [`literal_dictionary`].
pub fn byte_counts<'a>(payloads: impl IntoIterator<Item = &'a [u8]>) -> [u32; 256] {
    let mut c = [0u64; 256];
    for p in payloads {
        for &b in p {
            c[b as usize] += 1;
        }
    }
    // Scaled down (order kept) when a count would not fit in u32.
    let max = c.iter().copied().max().unwrap_or(0);
    let shift = (64 - max.leading_zeros()).saturating_sub(31);
    c.map(|v| if v == 0 { 0 } else { ((v >> shift) as u32).max(1) })
}

/// Dictionary ID of the literal dictionary of tensor `name`: from XXH64 of the name, in
/// 32768 ..= 2^31 − 1 (the range the format leaves to private dictionaries).
pub fn dictionary_id(name: &str) -> u32 {
    32768 + (xxhash_rust::xxh64::xxh64(name.as_bytes(), 0) % ((1u64 << 31) - 32768)) as u32
}

/// The literal dictionary for tiles whose byte counts are `counts` (a zstd-format
/// dictionary: Huffman table, predefined sequence tables, 8 bytes of content).
pub fn literal_dictionary(counts: &[u32; 256], id: u32) -> Vec<u8> {
    crate::gpu::reference_zipper::literal_dictionary(counts, id)
}

/// Compresses `payload` as one literal frame for the dictionary `literal_dictionary(counts, id)`.
pub fn compress_tile_literal(payload: &[u8], counts: &[u32; 256], id: u32) -> Result<Vec<u8>, String> {
    crate::gpu::reference_zipper::literal_frame(payload, counts, id)
        .map_err(|st| format!("literal frame encoder failed with status {st}"))
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

/// Decompresses one tile frame (after [`inspect_tile`] with the same bound) with the weight's
/// dictionary (empty: none), checking its checksum and that the output has the declared size.
pub fn decompress_tile(frame: &[u8], max_size: usize, dict: &[u8]) -> Result<Vec<u8>, String> {
    let size = inspect_tile(frame, max_size)?;
    DCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let dctx = slot.get_or_insert_with(DCtx::create);
        let mut out = Vec::with_capacity(size);
        let n = if dict.is_empty() {
            dctx.decompress(&mut out, frame)
        } else {
            dctx.decompress_using_dict(&mut out, frame, dict)
        }
        .map_err(|c| format!("delta frame does not decode: {}", zname(c)))?;
        if n != size {
            return Err(format!("delta frame decoded to {n} bytes, its header says {size}"));
        }
        Ok(out)
    })
}

/// Entries of one tile's block index ([`block_index`]; `ZP_BLOCK_INDEX` in cuda/zipper.cu).
pub const BLOCK_INDEX_ENTRIES: usize = 32;

/// The block index of one tile frame for the fused kernels: entry j is the offset in
/// `frame` of block j's header, the entries past the last block 0. All zero (no index) when
/// `frame` is not a zstd frame whose blocks all lie inside it, has more than
/// [`BLOCK_INDEX_ENTRIES`] blocks or reaches 64 KiB. The kernel checks an index against the
/// frame before it uses it (and walks the blocks when it does not hold), so an index only
/// saves time; it is derived from the frame, never stored in the container.
pub fn block_index(frame: &[u8]) -> [u16; BLOCK_INDEX_ENTRIES] {
    let mut index = [0u16; BLOCK_INDEX_ENTRIES];
    let Ok(Some(h)) = crate::format::parse_frame_header(frame) else {
        return index;
    };
    if frame.len() > usize::from(u16::MAX) {
        return index;
    }
    let mut at = h.header_len;
    for slot in index.iter_mut() {
        if frame.len() < at + 3 {
            return [0; BLOCK_INDEX_ENTRIES];
        }
        let b = u32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], 0]);
        *slot = at as u16;
        at += 3 + if (b >> 1) & 3 == 1 { 1 } else { (b >> 3) as usize };
        if at > frame.len() {
            return [0; BLOCK_INDEX_ENTRIES];
        }
        if b & 1 == 1 {
            return index;
        }
    }
    [0; BLOCK_INDEX_ENTRIES] // more blocks than entries
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index lists every block header of a literal frame in order, and is empty for frames
    /// of more blocks than it holds, cut frames and bytes that are not a frame.
    #[test]
    fn block_index_lists_each_block_header_and_is_empty_when_it_cannot() {
        for n in [1usize, 96, 2047, 2700, 5000] {
            let p: Vec<u8> = (0..n as u32).map(|i| (i.wrapping_mul(2654435761) >> 26) as u8).collect();
            let counts = byte_counts([p.as_slice()]);
            let f = compress_tile_literal(&p, &counts, 40000).unwrap();
            let idx = block_index(&f);
            let nb = idx.iter().take_while(|&&e| e != 0).count();
            assert_eq!(nb, (n / 96).clamp(1, if n < 2048 { 8 } else { 16 }), "{n} bytes");
            assert!(idx[nb..].iter().all(|&e| e == 0));
            let h = crate::format::parse_frame_header(&f).unwrap().unwrap();
            let mut at = h.header_len;
            for (j, &e) in idx[..nb].iter().enumerate() {
                assert_eq!(e as usize, at, "{n} bytes, block {j}");
                let b = u32::from_le_bytes([f[at], f[at + 1], f[at + 2], 0]);
                assert_eq!(b & 1 == 1, j + 1 == nb, "{n} bytes: last-block flag of block {j}");
                at += 3 + if (b >> 1) & 3 == 1 { 1 } else { (b >> 3) as usize };
            }
            assert_eq!(at + 4, f.len(), "{n} bytes: the blocks end at the checksum");
            assert_eq!(block_index(&f[..f.len() - 6]), [0; BLOCK_INDEX_ENTRIES], "{n} bytes cut");
        }
        // 33 raw blocks of one byte: one more than the index holds; 32 fit.
        let raw_blocks = |blocks: usize| {
            let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x20, blocks as u8];
            for j in 0..blocks {
                let last = u32::from(j + 1 == blocks);
                f.extend_from_slice(&(last | 1 << 3).to_le_bytes()[..3]);
                f.push(j as u8);
            }
            f
        };
        assert_eq!(block_index(&raw_blocks(32))[31], 6 + 31 * 4);
        assert_eq!(block_index(&raw_blocks(33)), [0; BLOCK_INDEX_ENTRIES]);
        assert_eq!(block_index(b"not a frame"), [0; BLOCK_INDEX_ENTRIES]);
        assert_eq!(block_index(&[]), [0; BLOCK_INDEX_ENTRIES]);
    }

    #[test]
    fn round_trip_and_checks() {
        let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 13) as u8).collect();
        let f = compress_tile(&payload, DEFAULT_LEVEL).unwrap();
        assert_eq!(inspect_tile(&f, 5000).unwrap(), 5000);
        assert_eq!(decompress_tile(&f, 5000, &[]).unwrap(), payload);
        assert!(inspect_tile(&f, 4999).unwrap_err().contains("bound"));
        let mut two = f.clone();
        two.extend_from_slice(&f);
        assert!(inspect_tile(&two, 5000).unwrap_err().contains("ends after"));
        assert!(inspect_tile(&f[..f.len() - 1], 5000).is_err());
        let mut bad = f.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1; // checksum byte
        assert!(decompress_tile(&bad, 5000, &[]).unwrap_err().contains("does not decode"));
        assert!(inspect_tile(b"abcd", 10).unwrap_err().contains("magic"));
        let empty = compress_tile(&[], DEFAULT_LEVEL).unwrap();
        assert_eq!(decompress_tile(&empty, 0, &[]).unwrap(), Vec::<u8>::new());
    }

    /// Literal frames hold one group of at most 8 blocks below 2 KiB of content and up to 16
    /// blocks (two groups, one per decoding warp of the batch-1 kernel) from there.
    #[test]
    fn literal_frames_have_one_block_group_below_2_kib_and_two_from_there() {
        // Blocks of a frame, from its block headers (an RLE block holds one byte).
        let blocks = |f: &[u8]| {
            let h = crate::format::parse_frame_header(f).unwrap().unwrap();
            let (mut at, mut n) = (h.header_len, 0usize);
            loop {
                let b = u32::from_le_bytes([f[at], f[at + 1], f[at + 2], 0]);
                at += 3 + if (b >> 1) & 3 == 1 { 1 } else { (b >> 3) as usize };
                n += 1;
                if b & 1 == 1 {
                    return n;
                }
            }
        };
        for n in [1usize, 95, 96, 500, 767, 768, 2047, 2048, 2700, 5000, 70_000] {
            let p: Vec<u8> = (0..n as u32).map(|i| (i.wrapping_mul(2654435761) >> 26) as u8).collect();
            let counts = byte_counts([p.as_slice()]);
            let f = compress_tile_literal(&p, &counts, 40000).unwrap();
            let most = if n < 2048 { 8 } else { 16 };
            assert_eq!(blocks(&f), (n / 96).clamp(1, most), "{n} bytes");
            assert_eq!(decompress_tile(&f, n, &literal_dictionary(&counts, 40000)).unwrap(), p, "{n} bytes");
        }
    }

    /// Literal frames and their dictionary are plain zstd: libzstd decodes them with the
    /// dictionary and refuses them without it or with another layer's.
    #[test]
    fn literal_frames_decode_with_libzstd_and_need_their_dictionary() {
        let payloads: Vec<Vec<u8>> = (0..6u32)
            .map(|k| {
                let n = [0usize, 1, 31, 300, 2700, 70_000][k as usize];
                (0..n as u32)
                    .map(|i| (i.wrapping_mul(2654435761).wrapping_add(k) >> 27) as u8 * (1 + (i % 3 == 0) as u8))
                    .collect()
            })
            .collect();
        let counts = byte_counts(payloads.iter().map(|p| p.as_slice()));
        let id = dictionary_id("blk.0.attn_q.weight");
        assert!((32768..1 << 31).contains(&id));
        let dict = literal_dictionary(&counts, id);
        let other = literal_dictionary(&counts, dictionary_id("blk.1.attn_q.weight"));
        let mut coded = 0;
        for p in &payloads {
            let f = compress_tile_literal(p, &counts, id).unwrap();
            assert_eq!(inspect_tile(&f, 70_000).unwrap(), p.len());
            assert_eq!(&decompress_tile(&f, 70_000, &dict).unwrap(), p);
            assert!(decompress_tile(&f, 70_000, &other).is_err(), "another layer's dictionary");
            if p.len() >= 300 {
                assert!(decompress_tile(&f, 70_000, &[]).is_err(), "no dictionary");
                assert!(f.len() < p.len(), "{} bytes coded as {}", p.len(), f.len());
                coded += 1;
            }
        }
        assert_eq!(coded, 3);
        // One byte value everywhere: the dictionary still has a table of two symbols.
        let zeros = [0u8; 64];
        let c0 = byte_counts([&zeros[..]]);
        let d0 = literal_dictionary(&c0, 40000);
        let f0 = compress_tile_literal(&zeros, &c0, 40000).unwrap();
        assert_eq!(decompress_tile(&f0, 64, &d0).unwrap(), zeros);
    }
}
