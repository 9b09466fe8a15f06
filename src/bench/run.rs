//! One data set through every baseline: libzstd rows, then the GPU codecs' rows.

use super::cpu::{all_threads, Libzstd};
use super::data::{format_size, DataSet};
use super::gpu::{sample_note, ForeignFrames, GpuBench};
use super::report::{measure, Direction, Mode, Outcome, Row};
use super::{compare, Result};

/// What to measure for each set.
#[derive(Clone, Debug)]
pub struct Config {
    /// libzstd levels.
    pub levels: Vec<i32>,
    /// libzstd thread counts (e.g. 1 and all).
    pub threads: Vec<usize>,
    pub runs: usize,
    pub warmup: usize,
    /// Per thread, the most bytes a libzstd row at a level below [`HIGH_LEVEL`] is measured
    /// on; larger sets are measured on their first chunks (the rate of independent chunks
    /// does not depend on how many follow).
    pub sample_per_thread: usize,
    /// The same for levels >= [`HIGH_LEVEL`] (level 19 runs at a few MB/s per thread).
    pub sample_per_thread_high: usize,
    /// libzstd levels whose frames of the whole set the GPU codecs decode.
    pub gpu_decode_levels: Vec<i32>,
    /// High-level frames for GPU decoding are only made for sets up to this size.
    pub gpu_decode_high_limit: usize,
}

/// Levels from here on are sampled with [`Config::sample_per_thread_high`].
pub const HIGH_LEVEL: i32 = 10;

impl Default for Config {
    fn default() -> Self {
        Self {
            levels: vec![1, 3, 19],
            threads: vec![1, all_threads()],
            runs: 10,
            warmup: 2,
            sample_per_thread: 64 << 20,
            sample_per_thread_high: 1 << 20,
            gpu_decode_levels: vec![1, 3, 19],
            gpu_decode_high_limit: 64 << 20,
        }
    }
}

impl Config {
    fn cap(&self, level: i32, threads: usize) -> usize {
        let per = if level >= HIGH_LEVEL { self.sample_per_thread_high } else { self.sample_per_thread };
        per.saturating_mul(threads)
    }

    fn wants_gpu_frames(&self, level: i32, set_len: usize) -> bool {
        self.gpu_decode_levels.contains(&level) && (level < HIGH_LEVEL || set_len <= self.gpu_decode_high_limit)
    }
}

fn base_row(set: &DataSet, level: i32, threads: usize, dir: Direction) -> Row {
    Row {
        set: set.name.clone(),
        size: set.size.label(),
        set_bytes: set.len(),
        chunk_size: set.chunk_size,
        codec: "libzstd".into(),
        level: level.to_string(),
        threads: threads.to_string(),
        direction: dir,
        frames: if dir == Direction::Decompress { format!("libzstd -{level}") } else { "-".into() },
        mode: Mode::Cpu,
        measured_bytes: 0,
        compressed_bytes: 0,
        outcome: Outcome::Failed("not run".into()),
        note: String::new(),
    }
}

/// The libzstd rows of one (level, threads): compression and decompression, each verified
/// once, then timed. Returns the rows and the frames when they cover the whole set.
fn libzstd_rows(set: &DataSet, cfg: &Config, level: i32, threads: usize) -> (Vec<Row>, Option<Vec<Vec<u8>>>) {
    let mut c = base_row(set, level, threads, Direction::Compress);
    let mut d = base_row(set, level, threads, Direction::Decompress);
    let all_chunks = set.chunks();
    let k = set.sample_chunks(cfg.cap(level, threads));
    let measured = set.prefix_bytes(k);
    let chunks = &all_chunks[..k];
    let lens: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
    for r in [&mut c, &mut d] {
        r.measured_bytes = measured;
        if k < all_chunks.len() {
            r.note = format!(
                "{}; capped at {} per thread",
                sample_note(measured, set.len()),
                format_size(measured / threads.max(1))
            );
        }
    }
    let mut lz = Libzstd::new(level, threads);
    let mut frames = Vec::new();
    let run = || -> Result<(Outcome, Outcome)> {
        lz.compress(chunks, &mut frames)?;
        lz.verify(&format!("libzstd -{level} frames"), &frames, chunks)?;
        let compressed: usize = frames.iter().map(Vec::len).sum();
        c.compressed_bytes = compressed;
        d.compressed_bytes = compressed;
        let cs = measure(cfg.warmup, cfg.runs, || Ok(lz.compress(chunks, &mut frames)?.as_secs_f64()))?;
        let mut out = vec![0u8; measured];
        lz.decompress(&frames, &lens, &mut out)?;
        compare(&format!("libzstd -{level} decoding"), &out, &set.bytes[..measured])?;
        let ds = measure(cfg.warmup, cfg.runs, || Ok(lz.decompress(&frames, &lens, &mut out)?.as_secs_f64()))?;
        Ok((Outcome::Verified(cs), Outcome::Verified(ds)))
    };
    let mut run = run;
    match run() {
        Ok((co, dout)) => {
            c.outcome = co;
            d.outcome = dout;
        }
        Err(e) => {
            c.outcome = Outcome::Failed(e.to_string());
            d.outcome = Outcome::Failed(e.to_string());
        }
    }
    let ok = c.stats().is_some() && d.stats().is_some();
    let full = (ok && k == all_chunks.len()).then_some(frames);
    (vec![c, d], full)
}

/// All rows of one set: libzstd (when `cpu`), then the GPU codecs (when `gpu` is given),
/// which also decode libzstd's frames of the whole set at [`Config::gpu_decode_levels`].
/// `progress` is told what runs next.
pub fn run_set(
    set: &DataSet,
    cfg: &Config,
    cpu: bool,
    gpu: Option<&GpuBench<'_>>,
    progress: &mut dyn FnMut(&str),
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut foreign: Vec<ForeignFrames> = Vec::new();
    let all = cfg.threads.iter().copied().max().unwrap_or(1);
    for &level in &cfg.levels {
        for &threads in &cfg.threads {
            if !cpu {
                continue;
            }
            progress(&format!("{} ({}): libzstd -{level}, {threads} thread(s)", set.name, set.size.label()));
            let (r, frames) = libzstd_rows(set, cfg, level, threads);
            rows.extend(r);
            if let (Some(frames), true) = (frames, gpu.is_some() && threads == all) {
                if cfg.wants_gpu_frames(level, set.len()) && !foreign.iter().any(|f| f.label == label(level)) {
                    foreign.push(ForeignFrames { label: label(level), frames });
                }
            }
        }
    }
    if let Some(g) = gpu {
        // Frames for GPU decoding that the timed rows did not cover whole (sampled, or the
        // CPU rows were skipped): compress the whole set once, untimed.
        let mut lz = Libzstd::new(1, all_threads());
        for &level in &cfg.gpu_decode_levels {
            if foreign.iter().any(|f| f.label == label(level)) || !cfg.wants_gpu_frames(level, set.len()) {
                continue;
            }
            progress(&format!("{} ({}): libzstd -{level} frames for GPU decoding", set.name, set.size.label()));
            let mut frames = Vec::new();
            let mut maker = Libzstd::new(level, all_threads());
            match maker.compress(&set.chunks(), &mut frames) {
                Ok(_) => foreign.push(ForeignFrames { label: label(level), frames }),
                Err(e) => progress(&format!("could not make libzstd -{level} frames: {e}")),
            }
        }
        progress(&format!("{} ({}): GPU codecs", set.name, set.size.label()));
        rows.extend(g.run_set(set, &foreign, &mut lz));
    }
    rows
}

fn label(level: i32) -> String {
    format!("libzstd -{level}")
}
