//! The libzstd baseline through zstd-safe: one compression and one decompression context per
//! thread, the chunks split into equal contiguous groups, one group per thread
//! (`std::thread::scope`); each chunk becomes one standard zstd frame (no checksum, the
//! library's default).

use std::ops::Range;
use std::time::{Duration, Instant};

use zstd_safe::{CCtx, DCtx};

use super::{compare, BenchError, Result};

/// libzstd at one level with a fixed number of threads, contexts kept across runs.
pub struct Libzstd {
    level: i32,
    cctxs: Vec<CCtx<'static>>,
    dctxs: Vec<DCtx<'static>>,
}

/// The library version, e.g. "1.5.6".
pub fn version() -> String {
    zstd_safe::version_string().to_string()
}

/// Threads the machine offers.
pub fn all_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// `n` items split into at most `parts` contiguous ranges whose sizes differ by at most one.
pub fn split_even(n: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, n.max(1));
    let (base, extra) = (n / parts, n % parts);
    let mut at = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            at += len;
            at - len..at
        })
        .collect()
}

fn zstd_err(what: &str, code: usize) -> BenchError {
    BenchError::Zstd(format!("{what}: {}", zstd_safe::get_error_name(code)))
}

impl Libzstd {
    pub fn new(level: i32, threads: usize) -> Self {
        let threads = threads.max(1);
        Self {
            level,
            cctxs: (0..threads).map(|_| CCtx::create()).collect(),
            dctxs: (0..threads).map(|_| DCtx::create()).collect(),
        }
    }

    pub fn level(&self) -> i32 {
        self.level
    }

    pub fn threads(&self) -> usize {
        self.cctxs.len()
    }

    /// Compresses each chunk into `frames[i]` (resized to the chunk count; buffers are reused
    /// between calls). Returns the wall time of the compression itself.
    pub fn compress(&mut self, chunks: &[&[u8]], frames: &mut Vec<Vec<u8>>) -> Result<Duration> {
        let bound = chunks.iter().map(|c| zstd_safe::compress_bound(c.len())).max().unwrap_or(0);
        frames.resize_with(chunks.len(), Vec::new);
        for f in frames.iter_mut() {
            f.clear();
            f.reserve(bound);
        }
        let groups = split_even(chunks.len(), self.cctxs.len());
        let level = self.level;
        let start = Instant::now();
        if groups.len() == 1 {
            compress_group(&mut self.cctxs[0], chunks, frames, level)?;
        } else {
            std::thread::scope(|s| -> Result<()> {
                let mut rest: &mut [Vec<u8>] = frames;
                let mut handles = Vec::new();
                for (g, ctx) in groups.iter().zip(self.cctxs.iter_mut()) {
                    let (mine, tail) = rest.split_at_mut(g.len());
                    rest = tail;
                    let src = &chunks[g.clone()];
                    handles.push(s.spawn(move || compress_group(ctx, src, mine, level)));
                }
                for h in handles {
                    h.join().map_err(|_| BenchError::Zstd("a compression thread panicked".into()))??;
                }
                Ok(())
            })?;
        }
        Ok(start.elapsed())
    }

    /// Decompresses `frames[i]` into `out`, cut into chunks of `lens[i]` bytes back to back;
    /// each frame must decode to exactly its length. Returns the wall time.
    pub fn decompress(&mut self, frames: &[Vec<u8>], lens: &[usize], out: &mut [u8]) -> Result<Duration> {
        if frames.len() != lens.len() || lens.iter().sum::<usize>() != out.len() {
            return Err(BenchError::Data(format!(
                "{} frames, {} sizes, {} output bytes do not match",
                frames.len(),
                lens.len(),
                out.len()
            )));
        }
        let groups = split_even(frames.len(), self.dctxs.len());
        let start = Instant::now();
        if groups.len() == 1 {
            decompress_group(&mut self.dctxs[0], frames, lens, out, 0)?;
        } else {
            std::thread::scope(|s| -> Result<()> {
                let mut rest: &mut [u8] = out;
                let mut handles = Vec::new();
                for (g, ctx) in groups.iter().zip(self.dctxs.iter_mut()) {
                    let bytes: usize = lens[g.clone()].iter().sum();
                    let (mine, tail) = rest.split_at_mut(bytes);
                    rest = tail;
                    let (f, l, first) = (&frames[g.clone()], &lens[g.clone()], g.start);
                    handles.push(s.spawn(move || decompress_group(ctx, f, l, mine, first)));
                }
                for h in handles {
                    h.join().map_err(|_| BenchError::Zstd("a decompression thread panicked".into()))??;
                }
                Ok(())
            })?;
        }
        Ok(start.elapsed())
    }

    /// Decodes `frames` with this object's contexts and compares with `chunks`: the check
    /// behind every "verified" row (also used for frames written by GPU codecs).
    pub fn verify(&mut self, what: &str, frames: &[Vec<u8>], chunks: &[&[u8]]) -> Result<()> {
        let lens: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
        let mut out = vec![0u8; lens.iter().sum()];
        self.decompress(frames, &lens, &mut out).map_err(|e| BenchError::Verify(format!("{what}: {e}")))?;
        let mut at = 0;
        for (i, c) in chunks.iter().enumerate() {
            compare(&format!("{what}, chunk {i}"), &out[at..at + c.len()], c)?;
            at += c.len();
        }
        Ok(())
    }
}

fn compress_group(ctx: &mut CCtx<'static>, chunks: &[&[u8]], frames: &mut [Vec<u8>], level: i32) -> Result<()> {
    for (c, f) in chunks.iter().zip(frames.iter_mut()) {
        ctx.compress(f, c, level).map_err(|e| zstd_err("compress", e))?;
    }
    Ok(())
}

fn decompress_group(
    ctx: &mut DCtx<'static>,
    frames: &[Vec<u8>],
    lens: &[usize],
    out: &mut [u8],
    first: usize,
) -> Result<()> {
    let mut at = 0;
    for (i, (f, &l)) in frames.iter().zip(lens).enumerate() {
        let dst = &mut out[at..at + l];
        let n = ctx.decompress(dst, f).map_err(|e| zstd_err(&format!("frame {}", first + i), e))?;
        if n != l {
            return Err(BenchError::Verify(format!("frame {} decoded to {n} bytes, should be {l}", first + i)));
        }
        at += l;
    }
    Ok(())
}
