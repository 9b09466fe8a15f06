//! The CPU backend: libzstd (through zstd-safe), one context per worker thread, chunks
//! handed out in order by an atomic counter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use zstd_safe::{CCtx, CParameter, DCtx, DParameter, InBuffer, OutBuffer};

use super::{CompressOptions, DecompressOptions, FrameJob};
use crate::error::{Error, Result};

/// Runs `work(i)` for i in 0..n on `threads` threads; results in order, first error wins.
fn parallel<T: Send>(n: usize, threads: usize, work: impl Fn(usize) -> Result<T> + Sync) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T>>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = work(i);
                let failed = r.is_err();
                results.lock().unwrap()[i] = Some(r);
                if failed {
                    next.store(n, Ordering::Relaxed);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(n);
    for r in results.into_inner().unwrap() {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            None => {} // skipped after an earlier error, which is returned below
        }
    }
    if out.len() == n {
        Ok(out)
    } else {
        Err(Error::InvalidArgument("a worker stopped early".into()))
    }
}

fn zerr(frame: usize, code: zstd_safe::ErrorCode) -> Error {
    Error::Frame { frame, message: zstd_safe::get_error_name(code).to_string() }
}

pub(super) fn compress_chunks(chunks: &[&[u8]], o: &CompressOptions, threads: usize) -> Result<Vec<Vec<u8>>> {
    thread_local! {
        static CCTX: std::cell::RefCell<Option<CCtx<'static>>> = const { std::cell::RefCell::new(None) };
    }
    parallel(chunks.len(), threads, |i| {
        CCTX.with(|cell| {
            let mut slot = cell.borrow_mut();
            let cctx = slot.get_or_insert_with(CCtx::create);
            cctx.reset(zstd_safe::ResetDirective::SessionAndParameters).map_err(|c| zerr(i, c))?;
            cctx.set_parameter(CParameter::CompressionLevel(o.level)).map_err(|c| zerr(i, c))?;
            cctx.set_parameter(CParameter::ChecksumFlag(o.checksum)).map_err(|c| zerr(i, c))?;
            cctx.set_parameter(CParameter::ContentSizeFlag(true)).map_err(|c| zerr(i, c))?;
            if let Some(d) = &o.dictionary {
                cctx.load_dictionary(d).map_err(|c| zerr(i, c))?;
            }
            let mut out = Vec::with_capacity(zstd_safe::compress_bound(chunks[i].len()));
            cctx.compress2(&mut out, chunks[i]).map_err(|c| zerr(i, c))?;
            Ok(out)
        })
    })
}

pub(super) fn decompress_frames(jobs: &[FrameJob<'_>], o: &DecompressOptions, threads: usize) -> Result<Vec<Vec<u8>>> {
    parallel(jobs.len(), threads, |i| {
        let job = &jobs[i];
        let mut dctx = DCtx::create();
        dctx.set_parameter(DParameter::WindowLogMax(o.window_log_max)).map_err(|c| zerr(job.index, c))?;
        if let Some(d) = &o.dictionary {
            dctx.load_dictionary(d).map_err(|c| zerr(job.index, c))?;
        }
        match job.content_size {
            Some(size) => {
                let size = usize::try_from(size)
                    .map_err(|_| Error::OutputTooLarge { requested: size, limit: usize::MAX as u64 })?;
                let mut out = Vec::new();
                out.try_reserve_exact(size)
                    .map_err(|_| Error::OutputTooLarge { requested: size as u64, limit: o.max_output })?;
                let n = dctx.decompress(&mut out, job.data).map_err(|c| zerr(job.index, c))?;
                if n != size {
                    return Err(Error::Frame {
                        frame: job.index,
                        message: format!("decoded {n} bytes, frame header says {size}"),
                    });
                }
                Ok(out)
            }
            None => decode_streaming(&mut dctx, job, o.max_output),
        }
    })
}

/// Decodes a frame whose header has no content size, growing the output as needed.
fn decode_streaming(dctx: &mut DCtx<'_>, job: &FrameJob<'_>, limit: u64) -> Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut input = InBuffer::around(job.data);
    let mut chunk = vec![0u8; 1 << 17];
    loop {
        let mut ob = OutBuffer::around(&mut chunk[..]);
        let hint = dctx.decompress_stream(&mut ob, &mut input).map_err(|c| zerr(job.index, c))?;
        let produced = ob.pos();
        out.extend_from_slice(&chunk[..produced]);
        if out.len() as u64 > limit {
            return Err(Error::OutputTooLarge { requested: out.len() as u64, limit });
        }
        if hint == 0 {
            return Ok(out);
        }
        if input.pos() == job.data.len() && produced == 0 {
            return Err(Error::Frame { frame: job.index, message: "frame is truncated".into() });
        }
    }
}
