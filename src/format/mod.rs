//! Host-side parsing of the zstd container: frame headers and frame boundaries
//! (RFC 8878 section 3.1), and the seekable format's seek table ([`seekable`]).
//!
//! This is what the bulk API needs to split a stream into independent frames and to size
//! their outputs before handing them to a batch decoder; it does not decode blocks.

pub mod seekable;

use std::fmt;

/// Magic number of a zstd frame.
pub const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Skippable frames use magics 0x184D2A50..=0x184D2A5F.
pub const SKIPPABLE_MAGIC_BASE: u32 = 0x184D_2A50;
/// Largest block size (128 KiB).
pub const MAX_BLOCK_SIZE: usize = 128 << 10;

/// A problem in the container structure, at a byte offset of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub offset: u64,
    pub frame: usize,
    pub reason: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame {} at byte {}: {}", self.frame, self.offset, self.reason)
    }
}

impl std::error::Error for FormatError {}

/// The fields of a zstd frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Bytes of the header, magic included.
    pub header_len: usize,
    pub window_size: u64,
    pub dictionary_id: u32,
    pub content_size: Option<u64>,
    pub single_segment: bool,
    pub checksum: bool,
}

/// What one frame of a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Zstd(FrameHeader),
    /// A skippable frame; `magic_low` is the low nibble of its magic (0..=15).
    Skippable {
        magic_low: u8,
    },
}

/// One frame of a stream: where it is and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpan {
    pub offset: usize,
    pub len: usize,
    pub kind: FrameKind,
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Parses the header of the zstd frame at the start of `data`.
/// Returns `Ok(None)` when `data` is too short to hold the whole header.
pub fn parse_frame_header(data: &[u8]) -> Result<Option<FrameHeader>, String> {
    if data.len() < 5 {
        return Ok(None);
    }
    let magic = le32(data);
    if magic != ZSTD_MAGIC {
        return Err(format!("magic number is {magic:#010x}, should be {ZSTD_MAGIC:#010x}"));
    }
    let fhd = data[4];
    let fcs_flag = fhd >> 6;
    let single_segment = fhd & 0x20 != 0;
    if fhd & 0x08 != 0 {
        return Err("frame header descriptor reserved bit is set, should be 0".into());
    }
    let checksum = fhd & 0x04 != 0;
    let did_len = [0usize, 1, 2, 4][(fhd & 3) as usize];
    let fcs_len = match fcs_flag {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let header_len = 5 + usize::from(!single_segment) + did_len + fcs_len;
    if data.len() < header_len {
        return Ok(None);
    }
    let mut at = 5;
    let mut window_size = 0u64;
    if !single_segment {
        let wd = data[at];
        at += 1;
        let exponent = u64::from(wd >> 3);
        let mantissa = u64::from(wd & 7);
        let base = 1u64 << (10 + exponent);
        window_size = base + (base / 8) * mantissa;
    }
    let mut dictionary_id = 0u32;
    for i in 0..did_len {
        dictionary_id |= u32::from(data[at + i]) << (8 * i);
    }
    at += did_len;
    let content_size = match fcs_len {
        0 => None,
        1 => Some(u64::from(data[at])),
        2 => Some(u64::from(u16::from_le_bytes([data[at], data[at + 1]])) + 256),
        4 => Some(u64::from(le32(&data[at..]))),
        _ => Some(u64::from_le_bytes(data[at..at + 8].try_into().unwrap())),
    };
    if single_segment {
        window_size = content_size.unwrap_or(0);
    }
    Ok(Some(FrameHeader { header_len, window_size, dictionary_id, content_size, single_segment, checksum }))
}

/// Length of the zstd frame at the start of `data` (header, blocks, checksum), found by
/// walking the block headers. `Ok(None)` if `data` ends inside the frame.
pub fn zstd_frame_len(data: &[u8], header: &FrameHeader) -> Result<Option<usize>, String> {
    let mut at = header.header_len;
    loop {
        if data.len() < at + 3 {
            return Ok(None);
        }
        let bh = u32::from(data[at]) | u32::from(data[at + 1]) << 8 | u32::from(data[at + 2]) << 16;
        at += 3;
        let last = bh & 1 != 0;
        let block_type = (bh >> 1) & 3;
        let block_size = (bh >> 3) as usize;
        let stored = match block_type {
            0 | 2 => block_size,
            1 => 1,
            _ => return Err("block type is reserved (3)".into()),
        };
        if block_size > MAX_BLOCK_SIZE {
            return Err(format!("block size is {block_size}, should be at most {MAX_BLOCK_SIZE}"));
        }
        at = match at.checked_add(stored) {
            Some(a) => a,
            None => return Err("block size overflows".into()),
        };
        if data.len() < at {
            return Ok(None);
        }
        if last {
            break;
        }
    }
    if header.checksum {
        at += 4;
        if data.len() < at {
            return Ok(None);
        }
    }
    Ok(Some(at))
}

/// Splits a stream into its frames: zstd frames and skippable frames, in order. Any byte
/// that does not start a frame, or a frame cut short, is an error naming the frame and offset.
pub fn frames(data: &[u8]) -> Result<Vec<FrameSpan>, FormatError> {
    let mut spans = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let frame = spans.len();
        let err = |reason: String| FormatError { offset: at as u64, frame, reason };
        let rest = &data[at..];
        if rest.len() < 4 {
            return Err(err(format!("{} trailing bytes are not a frame", rest.len())));
        }
        let magic = le32(rest);
        if magic & 0xFFFF_FFF0 == SKIPPABLE_MAGIC_BASE {
            if rest.len() < 8 {
                return Err(err("skippable frame header is truncated".into()));
            }
            let size = le32(&rest[4..]) as usize;
            let len = 8usize.checked_add(size).filter(|&l| l <= rest.len());
            let len = len.ok_or_else(|| err(format!("skippable frame of {size} bytes is truncated")))?;
            spans.push(FrameSpan { offset: at, len, kind: FrameKind::Skippable { magic_low: (magic & 0xF) as u8 } });
            at += len;
            continue;
        }
        let header = parse_frame_header(rest).map_err(&err)?.ok_or_else(|| err("frame header is truncated".into()))?;
        let len = zstd_frame_len(rest, &header).map_err(&err)?.ok_or_else(|| err("frame is truncated".into()))?;
        spans.push(FrameSpan { offset: at, len, kind: FrameKind::Zstd(header) });
        at += len;
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress(data: &[u8], level: i32) -> Vec<u8> {
        let mut out = vec![0u8; zstd_safe::compress_bound(data.len())];
        let n = zstd_safe::compress(&mut out[..], data, level).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn headers_of_libzstd_frames_are_parsed() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let frame = compress(&data, 3);
        let h = parse_frame_header(&frame).unwrap().unwrap();
        assert_eq!(h.content_size, Some(100_000));
        assert_eq!(h.dictionary_id, 0);
        let len = zstd_frame_len(&frame, &h).unwrap().unwrap();
        assert_eq!(len, frame.len());
    }

    #[test]
    fn concatenated_and_skippable_frames_are_split_in_order() {
        let a = compress(b"hello hello hello", 1);
        let b = compress(&[7u8; 5000], 19);
        let mut stream = a.clone();
        stream.extend_from_slice(&0x184D_2A53u32.to_le_bytes());
        stream.extend_from_slice(&3u32.to_le_bytes());
        stream.extend_from_slice(b"xyz");
        stream.extend_from_slice(&b);
        let spans = frames(&stream).unwrap();
        assert_eq!(spans.len(), 3);
        assert_eq!((spans[0].offset, spans[0].len), (0, a.len()));
        assert_eq!(spans[1].kind, FrameKind::Skippable { magic_low: 3 });
        assert_eq!(spans[1].len, 11);
        assert_eq!((spans[2].offset, spans[2].len), (a.len() + 11, b.len()));
    }

    #[test]
    fn truncated_frame_is_an_error_naming_the_frame() {
        let a = compress(b"some data that compresses, some data that compresses", 3);
        let mut stream = a.clone();
        stream.extend_from_slice(&a[..a.len() - 2]);
        let e = frames(&stream).unwrap_err();
        assert_eq!((e.frame, e.offset), (1, a.len() as u64));
        assert!(e.reason.contains("truncated"), "{e}");
    }

    #[test]
    fn garbage_after_frames_is_an_error() {
        let mut stream = compress(b"abc", 1);
        stream.extend_from_slice(b"garbage!");
        let e = frames(&stream).unwrap_err();
        assert!(e.reason.contains("magic"), "{e}");
        let mut stream = compress(b"abc", 1);
        stream.extend_from_slice(b"ab");
        assert!(frames(&stream).unwrap_err().reason.contains("trailing"));
    }

    #[test]
    fn reserved_bit_is_rejected() {
        let mut f = compress(b"abc", 1);
        f[4] |= 0x08;
        assert!(parse_frame_header(&f).unwrap_err().contains("reserved"));
    }
}
