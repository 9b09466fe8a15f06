//! The zstd seekable format (`../shared/reference/zstd_seekable_compression_format.md`):
//! a seek table in a skippable frame (magic 0x184D2A5E) at the end of a stream of
//! independent frames, so readers can jump to any frame.

/// Magic of the skippable frame that holds the seek table.
pub const SEEK_TABLE_SKIPPABLE_MAGIC: u32 = 0x184D_2A5E;
/// Last four bytes of a stream with a seek table.
pub const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
const FOOTER_LEN: usize = 9;

/// One entry: a frame's compressed and decompressed sizes, and optionally the low 32 bits of
/// the XXH64 of its decompressed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekEntry {
    pub compressed_size: u32,
    pub decompressed_size: u32,
    pub checksum: Option<u32>,
}

/// A parsed seek table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeekTable {
    pub entries: Vec<SeekEntry>,
}

impl SeekTable {
    /// Whether entries carry checksums (all or none do).
    pub fn has_checksums(&self) -> bool {
        self.entries.first().is_some_and(|e| e.checksum.is_some())
    }

    /// The skippable frame holding this table. Panics if entries mix checksummed and
    /// unchecksummed entries (the builder in this crate never does).
    pub fn to_frame(&self) -> Vec<u8> {
        let checksums = self.has_checksums();
        assert!(self.entries.iter().all(|e| e.checksum.is_some() == checksums), "mixed seek table entries");
        let entry_len = if checksums { 12 } else { 8 };
        let size = self.entries.len() * entry_len + FOOTER_LEN;
        let mut out = Vec::with_capacity(8 + size);
        out.extend_from_slice(&SEEK_TABLE_SKIPPABLE_MAGIC.to_le_bytes());
        out.extend_from_slice(&u32::try_from(size).expect("seek table under 4 GiB").to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.compressed_size.to_le_bytes());
            out.extend_from_slice(&e.decompressed_size.to_le_bytes());
            if let Some(c) = e.checksum {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out.extend_from_slice(&u32::try_from(self.entries.len()).expect("fewer than 2^32 frames").to_le_bytes());
        out.push(if checksums { 0x80 } else { 0 });
        out.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
        out
    }

    /// Reads the seek table at the end of `stream`. `Ok(None)` if the stream does not end
    /// with the seekable magic; an error if it does but the table is malformed.
    pub fn from_stream_end(stream: &[u8]) -> Result<Option<(SeekTable, usize)>, String> {
        if stream.len() < 8 + FOOTER_LEN || stream[stream.len() - 4..] != SEEKABLE_MAGIC.to_le_bytes() {
            return Ok(None);
        }
        let footer = &stream[stream.len() - FOOTER_LEN..];
        let n = u32::from_le_bytes(footer[0..4].try_into().unwrap()) as usize;
        let descriptor = footer[4];
        if descriptor & 0x7C != 0 {
            return Err(format!("seek table descriptor reserved bits are {:#04x}, should be 0", descriptor & 0x7C));
        }
        let checksums = descriptor & 0x80 != 0;
        let entry_len = if checksums { 12 } else { 8 };
        let size =
            n.checked_mul(entry_len).and_then(|s| s.checked_add(FOOTER_LEN)).ok_or("seek table size overflows")?;
        let frame_len = size.checked_add(8).ok_or("seek table size overflows")?;
        if frame_len > stream.len() {
            return Err(format!("seek table of {n} entries is longer than the stream"));
        }
        let frame = &stream[stream.len() - frame_len..];
        if frame[0..4] != SEEK_TABLE_SKIPPABLE_MAGIC.to_le_bytes() {
            return Err("seek table is not in a skippable frame with magic 0x184D2A5E".into());
        }
        if u32::from_le_bytes(frame[4..8].try_into().unwrap()) as usize != size {
            return Err("seek table frame size does not match its number of entries".into());
        }
        let entries = frame[8..8 + n * entry_len]
            .chunks_exact(entry_len)
            .map(|c| SeekEntry {
                compressed_size: u32::from_le_bytes(c[0..4].try_into().unwrap()),
                decompressed_size: u32::from_le_bytes(c[4..8].try_into().unwrap()),
                checksum: checksums.then(|| u32::from_le_bytes(c[8..12].try_into().unwrap())),
            })
            .collect();
        Ok(Some((SeekTable { entries }, frame_len)))
    }

    /// Total compressed bytes of the frames the table describes.
    pub fn compressed_len(&self) -> u64 {
        self.entries.iter().map(|e| u64::from(e.compressed_size)).sum()
    }

    /// Total decompressed bytes.
    pub fn decompressed_len(&self) -> u64 {
        self.entries.iter().map(|e| u64::from(e.decompressed_size)).sum()
    }

    /// The frame holding decompressed byte `pos`, with that frame's compressed offset and
    /// decompressed offset; `None` past the end.
    pub fn locate(&self, pos: u64) -> Option<(usize, u64, u64)> {
        let (mut c, mut d) = (0u64, 0u64);
        for (i, e) in self.entries.iter().enumerate() {
            if pos < d + u64::from(e.decompressed_size) {
                return Some((i, c, d));
            }
            c += u64::from(e.compressed_size);
            d += u64::from(e.decompressed_size);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips_with_and_without_checksums() {
        for checksum in [None, Some(0xDEAD_BEEF)] {
            let t = SeekTable {
                entries: (0..5)
                    .map(|i| SeekEntry { compressed_size: 100 + i, decompressed_size: 1000 * i, checksum })
                    .collect(),
            };
            let mut stream = vec![0u8; 17];
            let frame = t.to_frame();
            stream.extend_from_slice(&frame);
            let (parsed, len) = SeekTable::from_stream_end(&stream).unwrap().unwrap();
            assert_eq!(parsed, t);
            assert_eq!(len, frame.len());
        }
    }

    #[test]
    fn locate_finds_the_frame_of_a_position() {
        let t = SeekTable {
            entries: vec![
                SeekEntry { compressed_size: 10, decompressed_size: 100, checksum: None },
                SeekEntry { compressed_size: 20, decompressed_size: 50, checksum: None },
            ],
        };
        assert_eq!(t.locate(0), Some((0, 0, 0)));
        assert_eq!(t.locate(100), Some((1, 10, 100)));
        assert_eq!(t.locate(149), Some((1, 10, 100)));
        assert_eq!(t.locate(150), None);
    }

    #[test]
    fn malformed_tables_are_errors_not_panics() {
        assert_eq!(SeekTable::from_stream_end(b"short"), Ok(None));
        let mut bad = vec![0u8; 8];
        bad.extend_from_slice(&u32::MAX.to_le_bytes());
        bad.push(0);
        bad.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
        assert!(SeekTable::from_stream_end(&bad).is_err());
        let mut reserved = SeekTable::default().to_frame();
        let at = reserved.len() - 5;
        reserved[at] = 0x04;
        assert!(SeekTable::from_stream_end(&reserved).unwrap_err().contains("reserved"));
    }
}
