//! The comparison run shared by `cuzstd bench` and `examples/bench.rs`: which GPU codecs
//! take part (and why not, when none can), the environment header, and the printed report.

use std::path::{Path, PathBuf};

use super::cpu::{self, all_threads};
use super::cuzstd::CuzstdCodec;
use super::data::{format_size, DataSet, Input, SetSize, Source};
use super::gpu::{GpuBench, GpuCodec, NvcompCodec};
use super::report::{format_summary, format_table, utc_string, Outcome, Row};
use super::run::{run_set, Config};
use super::Result;
use crate::gpu::decode::DecodeKernel;
use crate::gpu::nvcomp::{Nvcomp, NvcompError};
use crate::gpu::Gpu;

/// Opens GPU 0 for the GPU columns, or says why there are none.
pub fn open_gpu() -> std::result::Result<Gpu, String> {
    Gpu::new(0).map_err(|e| e.to_string())
}

/// The GPU codecs of a run: cuzstd at each of `cuzstd_levels`, then nvCOMP if it loads
/// (from `nvcomp_lib`, else `NVCOMP_LIB`, next to the executable, ./lib/ or the linker's
/// path). What was left out, and why, goes to `notes`.
/// `extra_decoders`: further cuzstd decode kernels to time, each as its own column at every
/// level (the default kernel always has one).
pub fn gpu_codecs<'g>(
    gpu: &'g Gpu,
    cuzstd_levels: &[i32],
    extra_decoders: &[DecodeKernel],
    nvcomp_lib: Option<&Path>,
    notes: &mut Vec<String>,
) -> Vec<Box<dyn GpuCodec + 'g>> {
    let mut codecs: Vec<Box<dyn GpuCodec + 'g>> = Vec::new();
    for &level in cuzstd_levels {
        codecs.push(Box::new(CuzstdCodec::new(gpu, level)));
        for &kernel in extra_decoders.iter().filter(|&&k| k != DecodeKernel::default()) {
            codecs.push(Box::new(CuzstdCodec { kernel, ..CuzstdCodec::new(gpu, level) }));
        }
    }
    match Nvcomp::load(nvcomp_lib) {
        Ok(nv) => codecs.push(Box::new(NvcompCodec { nv })),
        Err(NvcompError::NotFound(where_)) => {
            notes.push(format!("nvCOMP not found: its columns are skipped ({where_})"))
        }
        Err(e) => notes.push(format!("nvCOMP could not be loaded: {e}: its columns are skipped")),
    }
    codecs
}

/// The header lines of a report: date, command, host, libzstd, GPU and codec versions.
pub fn environment(data: &str, gpu: Option<&Gpu>, codecs: &[Box<dyn GpuCodec + '_>]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    env.push(("date".into(), utc_string(now)));
    env.push(("command".into(), std::env::args().collect::<Vec<_>>().join(" ")));
    env.push(("host threads".into(), all_threads().to_string()));
    env.push(("libzstd".into(), cpu::version()));
    env.push(("cuzstd".into(), env!("CARGO_PKG_VERSION").into()));
    env.push(("data".into(), data.into()));
    if let Some(g) = gpu {
        let p = g.props();
        env.push((
            "GPU".into(),
            format!(
                "{} (sm_{}{}, {} SMs, {})",
                p.name,
                p.compute_capability.0,
                p.compute_capability.1,
                p.multiprocessors,
                format_size(p.total_memory)
            ),
        ));
        env.push(("CUDA driver API".into(), format!("{}.{}", p.driver_version / 1000, (p.driver_version % 1000) / 10)));
    }
    for c in codecs {
        env.push((c.name(), c.version()));
    }
    env
}

/// The table, one summary per libzstd level among 3 and 1 that was measured, and the notes
/// on how to read them.
pub fn format_report(rows: &[Row], cfg: &Config) -> String {
    let mut s = String::new();
    s.push_str(&format_table(rows));
    for level in [3, 1] {
        if cfg.levels.contains(&level) || cfg.gpu_decode_levels.contains(&level) {
            s.push('\n');
            s.push_str(&format!(
                "Summary at libzstd level {level} (GB/s of uncompressed bytes, medians; all rows above):\n"
            ));
            s.push_str(&format_summary(rows, level));
        }
    }
    s.push('\n');
    s.push_str(&format!(
        "GB/s = uncompressed bytes / median time / 1e9 over {} timed runs after {} warm-up runs; every row's output was verified once.\n",
        cfg.runs, cfg.warmup
    ));
    s.push_str(
        "cpu: wall clock around libzstd calls; device: CUDA events around the batch call, data on the GPU; h2h: events around pinned upload + call + pinned download.\n",
    );
    s
}

/// Rows that failed verification or a call.
pub fn failures(rows: &[Row]) -> usize {
    rows.iter().filter(|r| matches!(r.outcome, Outcome::Failed(_))).count()
}

/// Settings of [`compare_files`].
#[derive(Debug, Clone)]
pub struct CompareOptions {
    pub config: Config,
    pub chunk_size: usize,
    /// Leave the GPU columns out even if a GPU is present.
    pub no_gpu: bool,
    pub cuzstd_levels: Vec<i32>,
    pub nvcomp_lib: Option<PathBuf>,
    /// Also time host to host.
    pub h2h: bool,
}

/// What [`compare_files`] measured.
pub struct CompareReport {
    pub environment: Vec<(String, String)>,
    /// Why columns are missing (no GPU, no nvCOMP), for the reader.
    pub notes: Vec<String>,
    pub rows: Vec<Row>,
}

/// Every file at its native size, cut into chunks of `chunk_size`, through libzstd and,
/// when a GPU opens, cuzstd and nvCOMP. Files that cannot be read are an error.
pub fn compare_files(
    files: &[PathBuf],
    opts: &CompareOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<CompareReport> {
    let mut notes = Vec::new();
    let gpu = if opts.no_gpu {
        notes.push("GPU columns (cuzstd, nvCOMP) unavailable: left out by --no-gpu".into());
        None
    } else {
        match open_gpu() {
            Ok(g) => Some(g),
            Err(e) => {
                notes.push(format!("GPU columns (cuzstd, nvCOMP) unavailable: {e}"));
                None
            }
        }
    };
    let codecs = match &gpu {
        Some(g) => gpu_codecs(g, &opts.cuzstd_levels, &[], opts.nvcomp_lib.as_deref(), &mut notes),
        None => Vec::new(),
    };
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let environment = environment(&names.join(", "), gpu.as_ref(), &codecs);
    let bench = gpu.as_ref().filter(|_| !codecs.is_empty()).map(|g| GpuBench {
        gpu: g,
        codecs,
        runs: opts.config.runs,
        warmup: opts.config.warmup,
        h2h: opts.h2h,
    });
    let mut rows = Vec::new();
    for f in files {
        let input = Input { name: f.display().to_string(), source: Source::File(f.clone()) };
        let set = DataSet::build(&input, SetSize::Native, opts.chunk_size)?;
        progress(&format!("{} ({}), chunks of {}", set.name, format_size(set.len()), format_size(opts.chunk_size)));
        rows.extend(run_set(&set, &opts.config, true, bench.as_ref(), progress));
    }
    Ok(CompareReport { environment, notes, rows })
}
