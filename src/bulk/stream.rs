//! Streaming compression and decompression over `io::Write` / `io::Read`, with the same
//! file layout as [`super::Compressor`]: independent chunk frames and a seek table.
//! Memory stays bounded: the encoder holds one batch of chunks, the decoder one batch of
//! frames.

use std::io::{self, Read, Write};

use super::{Compressor, Decompressor, FrameJob};
use crate::error::Error;
use crate::format;
use crate::format::seekable::{SeekEntry, SeekTable};

fn io_err(e: Error) -> io::Error {
    match e {
        Error::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

/// Compresses what is written to it into `W`. Call [`Encoder::finish`] to write the last
/// chunk and the seek table; dropping it without `finish` leaves the output incomplete.
pub struct Encoder<W: Write> {
    inner: Option<W>,
    compressor: Compressor,
    pending: Vec<u8>,
    batch_bytes: usize,
    entries: Vec<SeekEntry>,
    wrote_any: bool,
}

impl<W: Write> Encoder<W> {
    /// An encoder that compresses `batch_chunks` chunks at a time (at least 1).
    pub fn new(inner: W, compressor: Compressor, batch_chunks: usize) -> Self {
        let batch_bytes = compressor.options().chunk_size * batch_chunks.max(1);
        Self { inner: Some(inner), compressor, pending: Vec::new(), batch_bytes, entries: Vec::new(), wrote_any: false }
    }

    fn flush_batch(&mut self, all: bool) -> io::Result<()> {
        let chunk = self.compressor.options().chunk_size;
        let take = if all { self.pending.len() } else { self.pending.len() / chunk * chunk };
        // Nothing to write, except that an empty stream still gets one (empty) frame.
        if take == 0 && (!all || self.wrote_any) {
            return Ok(());
        }
        let chunks: Vec<&[u8]> =
            if take == 0 { vec![&self.pending[..0]] } else { self.pending[..take].chunks(chunk).collect() };
        let (frames, entries) = self.compressor.compress_chunks(&chunks).map_err(io_err)?;
        let w = self.inner.as_mut().expect("encoder used after finish");
        for f in &frames {
            w.write_all(f)?;
        }
        self.entries.extend(entries);
        self.wrote_any = true;
        self.pending.drain(..take);
        Ok(())
    }

    /// Writes the remaining data and the seek table; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_batch(true)?;
        let mut w = self.inner.take().expect("encoder used after finish");
        if self.compressor.options().seek_table {
            w.write_all(&SeekTable { entries: std::mem::take(&mut self.entries) }.to_frame())?;
        }
        w.flush()?;
        Ok(w)
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= self.batch_bytes {
            self.flush_batch(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.as_mut().map_or(Ok(()), Write::flush)
    }
}

/// Reads one frame (zstd or skippable) from `r` into `buf`; `Ok(false)` at a clean end.
fn read_frame<R: Read>(r: &mut R, buf: &mut Vec<u8>, index: usize, offset: u64) -> io::Result<bool> {
    buf.clear();
    let bad = |reason: String| io_err(format::FormatError { offset, frame: index, reason }.into());
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut magic[got..])?;
        if n == 0 {
            return if got == 0 { Ok(false) } else { Err(bad(format!("{got} trailing bytes are not a frame"))) };
        }
        got += n;
    }
    buf.extend_from_slice(&magic);
    let m = u32::from_le_bytes(magic);
    let mut need = |buf: &mut Vec<u8>, n: usize, what: &str| -> io::Result<()> {
        let start = buf.len();
        buf.resize(start + n, 0);
        r.read_exact(&mut buf[start..]).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                bad(format!("{what} is truncated"))
            } else {
                e
            }
        })
    };
    if m & 0xFFFF_FFF0 == format::SKIPPABLE_MAGIC_BASE {
        need(buf, 4, "skippable frame header")?;
        let size = u32::from_le_bytes(buf[4..8].try_into().unwrap()) as usize;
        need(buf, size, "skippable frame")?;
        return Ok(true);
    }
    // Header: read the descriptor, then the rest of the header it announces.
    need(buf, 1, "frame header")?;
    let fhd = buf[4];
    let ss = fhd & 0x20 != 0;
    let rest = usize::from(!ss) + [0, 1, 2, 4][(fhd & 3) as usize] + [usize::from(ss), 2, 4, 8][(fhd >> 6) as usize];
    need(buf, rest, "frame header")?;
    let header = format::parse_frame_header(buf).map_err(bad)?.expect("whole header read");
    loop {
        need(buf, 3, "block header")?;
        let at = buf.len() - 3;
        let bh = u32::from(buf[at]) | u32::from(buf[at + 1]) << 8 | u32::from(buf[at + 2]) << 16;
        let size = (bh >> 3) as usize;
        if size > format::MAX_BLOCK_SIZE {
            return Err(bad(format!("block size is {size}, should be at most {}", format::MAX_BLOCK_SIZE)));
        }
        match (bh >> 1) & 3 {
            0 | 2 => need(buf, size, "block")?,
            1 => need(buf, 1, "block")?,
            _ => return Err(bad("block type is reserved (3)".into())),
        }
        if bh & 1 != 0 {
            break;
        }
    }
    if header.checksum {
        need(buf, 4, "content checksum")?;
    }
    Ok(true)
}

/// Decompresses a zstd stream read from `R`: frames are read and decoded a batch at a
/// time (in parallel on the backend), and served in order.
pub struct Decoder<R: Read> {
    inner: R,
    decompressor: Decompressor,
    batch_bytes: usize,
    out: Vec<u8>,
    out_pos: usize,
    frames_seen: usize,
    offset: u64,
    done: bool,
}

impl<R: Read> Decoder<R> {
    /// A decoder that gathers about `batch_bytes` of compressed frames per batch.
    pub fn new(inner: R, decompressor: Decompressor, batch_bytes: usize) -> Self {
        Self {
            inner,
            decompressor,
            batch_bytes: batch_bytes.max(1),
            out: Vec::new(),
            out_pos: 0,
            frames_seen: 0,
            offset: 0,
            done: false,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut frames: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut bytes = 0usize;
        let mut buf = Vec::new();
        while bytes < self.batch_bytes {
            if !read_frame(&mut self.inner, &mut buf, self.frames_seen, self.offset)? {
                self.done = true;
                break;
            }
            self.offset += buf.len() as u64;
            bytes += buf.len();
            let index = self.frames_seen;
            self.frames_seen += 1;
            if u32::from_le_bytes(buf[..4].try_into().unwrap()) == format::ZSTD_MAGIC {
                frames.push((index, std::mem::take(&mut buf)));
            }
        }
        let jobs: Vec<FrameJob<'_>> = frames
            .iter()
            .map(|(index, data)| {
                let content_size = match format::parse_frame_header(data) {
                    Ok(Some(h)) => h.content_size,
                    _ => None,
                };
                FrameJob { index: *index, data, content_size }
            })
            .collect();
        let announced: u64 = jobs.iter().filter_map(|j| j.content_size).sum();
        if announced > self.decompressor.options().max_output {
            return Err(io_err(Error::OutputTooLarge {
                requested: announced,
                limit: self.decompressor.options().max_output,
            }));
        }
        let parts = self.decompressor.decode_frames(&jobs).map_err(io_err)?;
        self.out.clear();
        self.out_pos = 0;
        for p in parts {
            self.out.extend_from_slice(&p);
        }
        Ok(())
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}
