//! One comparison table: libzstd, nvCOMP (and later cuzstd) on the same data in one run.
//!
//! ```text
//! cargo build --release --features gpu-tests --example bench
//! target/release/examples/bench --data ../shared/bench-data --sizes native,1g --csv bench.csv
//! ```
//! Every row is verified once (decompressed and compared) before it is timed; rows that fail
//! print FAILED with the reason and no numbers. Without a GPU or without nvCOMP the GPU rows
//! are skipped with a message. `--help` lists the flags.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use cuzstd::bench::compare;
use cuzstd::bench::cpu::all_threads;
use cuzstd::bench::data::{self, format_size, parse_size, DataSet, Input, SetSize, Source};
use cuzstd::bench::gpu::{GpuBench, GpuCodec};
use cuzstd::bench::report::{format_csv, Outcome, Row};
use cuzstd::bench::run::{run_set, Config};
use cuzstd::gpu::decode::DecodeKernel;
use cuzstd::gpu::nvcomp::{Nvcomp, NvcompError};
use cuzstd::gpu::Gpu;

#[derive(Parser, Debug)]
#[command(about = "Benchmark cuzstd's baselines (libzstd, nvCOMP) on the same data in one run")]
struct Args {
    /// Folder of input files (every file under it is a data set).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Only sets whose name contains one of these (comma-separated), e.g. "xml,canterbury".
    #[arg(long, value_delimiter = ',')]
    files: Vec<String>,
    /// Set sizes: "native" and/or sizes like 1g, 256m (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "native,1g")]
    sizes: Vec<String>,
    /// Chunk sizes (comma-separated): 64k (default), 16k, 256k.
    #[arg(long, value_delimiter = ',', default_value = "64k")]
    chunk: Vec<String>,
    /// Timed runs per configuration (the median is reported; at least 10 for the report).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Untimed warm-up runs per configuration.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// libzstd levels (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,3,19")]
    levels: Vec<i32>,
    /// libzstd thread counts (comma-separated numbers or "all").
    #[arg(long, value_delimiter = ',', default_value = "1,all")]
    threads: Vec<String>,
    /// Per thread, the most bytes a libzstd row at levels below 10 measures (larger sets are
    /// measured on their first chunks, and the table says so).
    #[arg(long, default_value = "64m")]
    cpu_sample: String,
    /// The same for levels of 10 and more (level 19 runs at a few MB/s per thread).
    #[arg(long, default_value = "1m")]
    cpu_sample_high: String,
    /// libzstd levels whose frames of the whole set the GPU codecs decode.
    #[arg(long, value_delimiter = ',', default_value = "1,3,19")]
    gpu_decode_levels: Vec<i32>,
    /// Level >= 10 frames for GPU decoding only for sets up to this size.
    #[arg(long, default_value = "64m")]
    gpu_decode_high_limit: String,
    /// Skip the generated edge sets (random, all-equal).
    #[arg(long)]
    no_edge: bool,
    /// Raw f16 weights file (scripts/weights-f16.py) to add as the set "weights-f16".
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Skip libzstd.
    #[arg(long)]
    no_cpu: bool,
    /// Skip the GPU codecs.
    #[arg(long)]
    no_gpu: bool,
    /// Skip the host-to-host GPU rows.
    #[arg(long)]
    no_h2h: bool,
    /// Path of libnvcomp.so.6 (or its folder); otherwise NVCOMP_LIB, next to the executable,
    /// ./lib/, the dynamic linker's path.
    #[arg(long)]
    nvcomp_lib: Option<PathBuf>,
    /// Also run the size curve: these sets at batch sizes 1 MiB..1 GiB.
    #[arg(long)]
    curve: bool,
    /// Sets of the size curve (name substrings).
    #[arg(long, value_delimiter = ',', default_value = "silesia/xml")]
    curve_files: Vec<String>,
    /// Batch sizes of the size curve.
    #[arg(long, value_delimiter = ',', default_value = "1m,4m,16m,64m,256m,1g")]
    curve_sizes: Vec<String>,
    /// Only the size curve (no table sets).
    #[arg(long)]
    curve_only: bool,
    /// Write the rows as CSV here (rewritten after every set).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Load nvCOMP and print what it reports (version, alignments, sizes); needs no GPU.
    #[arg(long)]
    probe_nvcomp: bool,
    /// cuzstd GPU compression levels, one column each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,3,9")]
    cuzstd_levels: Vec<i32>,
    /// Further cuzstd decode kernels to time as columns of their own (comma-separated:
    /// staged, staged-lanes, staged-solo, warp, thread; the default staged kernel always runs).
    #[arg(long, value_delimiter = ',')]
    decode_kernels: Vec<String>,
    /// Leave cuzstd's columns out (baseline-only runs).
    #[arg(long)]
    no_cuzstd: bool,
    /// List the data sets and exit.
    #[arg(long)]
    list: bool,
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(failed) if failed > 0 => {
            eprintln!("{failed} configuration(s) FAILED verification or a call; see the table");
            std::process::exit(2);
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CUZSTD_SHARED").map(|s| PathBuf::from(s).join("bench-data")) {
        if d.is_dir() {
            return d;
        }
    }
    for p in ["data", "../shared/bench-data", "/work/shared/bench-data"] {
        if Path::new(p).is_dir() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("data")
}

fn load_nvcomp(args: &Args) -> Result<Nvcomp, NvcompError> {
    Nvcomp::load(args.nvcomp_lib.as_deref())
}

fn probe(args: &Args) -> AnyResult<()> {
    let nv = match load_nvcomp(args) {
        Ok(nv) => nv,
        Err(NvcompError::NotFound(where_)) => {
            println!("nvCOMP not found: skipped ({where_})");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    println!("nvCOMP {} (built with CUDA runtime {}) from {}", nv.version(), nv.cudart_version(), nv.path().display());
    println!("compress alignments:   {:?}", nv.compress_alignments()?);
    println!("decompress alignments: {:?}", nv.decompress_alignments()?);
    for c in data::CHUNK_SIZES {
        println!("max compressed size of a {} chunk: {} bytes", format_size(c), nv.max_compressed_chunk_size(c)?);
    }
    println!("status 12: {}", nv.status_string(12));
    Ok(())
}

/// The GPU codecs of this run: cuzstd at each of `--cuzstd-levels`, then nvCOMP.
fn gpu_codecs<'g>(args: &Args, gpu: &'g Gpu) -> Vec<Box<dyn GpuCodec + 'g>> {
    let levels: &[i32] = if args.no_cuzstd { &[] } else { &args.cuzstd_levels };
    let mut notes = Vec::new();
    let extra: Vec<DecodeKernel> = args
        .decode_kernels
        .iter()
        .map(|k| match k.as_str() {
            "warp" => DecodeKernel::Warp,
            "thread" => DecodeKernel::Thread,
            "staged" => DecodeKernel::Staged,
            "staged-lanes" => DecodeKernel::StagedLanes,
            "staged-solo" => DecodeKernel::StagedSolo,
            other => {
                eprintln!(
                    "--decode-kernels: unknown kernel {other:?} (staged, staged-lanes, staged-solo, warp, thread)"
                );
                std::process::exit(2)
            }
        })
        .collect();
    let codecs = compare::gpu_codecs(gpu, levels, &extra, args.nvcomp_lib.as_deref(), &mut notes);
    for n in notes {
        eprintln!("{n}");
    }
    codecs
}

fn parse_threads(list: &[String]) -> AnyResult<Vec<usize>> {
    let mut v = Vec::new();
    for t in list {
        let n = if t.trim() == "all" { all_threads() } else { t.trim().parse()? };
        if n > 0 && !v.contains(&n) {
            v.push(n);
        }
    }
    Ok(v)
}

fn run(args: &Args) -> AnyResult<usize> {
    if args.probe_nvcomp {
        probe(args)?;
        return Ok(0);
    }
    let t0 = Instant::now();
    let data_dir = args.data.clone().unwrap_or_else(default_data_dir);
    let mut inputs = data::find_files(&data_dir)?;
    if let Some(w) = &args.weights {
        if w.is_file() {
            inputs.push(Input { name: "weights-f16".into(), source: Source::File(w.clone()) });
        } else {
            eprintln!("weights file {} not found: skipped", w.display());
        }
    }
    if !args.no_edge {
        inputs.extend(data::edge_inputs());
    }
    let curve_inputs = data::select(inputs.clone(), &args.curve_files);
    let inputs = data::select(inputs, &args.files);
    if args.list {
        for i in &inputs {
            println!("{}", i.name);
        }
        return Ok(0);
    }
    if args.runs < 10 {
        eprintln!("note: {} timed runs per configuration; the report asks for at least 10", args.runs);
    }
    let sizes = args.sizes.iter().map(|s| SetSize::parse(s)).collect::<Result<Vec<_>, _>>()?;
    let chunks = args.chunk.iter().map(|s| parse_size(s)).collect::<Result<Vec<_>, _>>()?;
    let curve_sizes = args.curve_sizes.iter().map(|s| parse_size(s)).collect::<Result<Vec<_>, _>>()?;
    let cfg = Config {
        levels: args.levels.clone(),
        threads: parse_threads(&args.threads)?,
        runs: args.runs.max(1),
        warmup: args.warmup,
        sample_per_thread: parse_size(&args.cpu_sample)?,
        sample_per_thread_high: parse_size(&args.cpu_sample_high)?,
        gpu_decode_levels: args.gpu_decode_levels.clone(),
        gpu_decode_high_limit: parse_size(&args.gpu_decode_high_limit)?,
    };

    let gpu = if args.no_gpu {
        None
    } else {
        match Gpu::new(0) {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!("no GPU ({e}): GPU rows skipped");
                None
            }
        }
    };
    let codecs = gpu.as_ref().map(|g| gpu_codecs(args, g)).unwrap_or_default();
    let env = compare::environment(&data_dir.display().to_string(), gpu.as_ref(), &codecs);
    for (k, v) in &env {
        println!("{k}: {v}");
    }
    let bench = gpu.as_ref().filter(|_| !codecs.is_empty()).map(|g| GpuBench {
        gpu: g,
        codecs,
        runs: cfg.runs,
        warmup: cfg.warmup,
        h2h: !args.no_h2h,
    });

    let mut rows: Vec<Row> = Vec::new();
    let mut progress = |msg: &str| eprintln!("[{:>6.1} s] {msg}", t0.elapsed().as_secs_f64());
    let write_csv = |rows: &[Row]| -> AnyResult<()> {
        if let Some(p) = &args.csv {
            std::fs::write(p, format_csv(&env, rows))?;
        }
        Ok(())
    };

    let mut jobs: Vec<(&Input, SetSize, usize, Config)> = Vec::new();
    if !args.curve_only {
        for &size in &sizes {
            for &chunk in &chunks {
                for input in &inputs {
                    jobs.push((input, size, chunk, cfg.clone()));
                }
            }
        }
    }
    if args.curve || args.curve_only {
        // The curve: libzstd -3 on all threads and the GPU codecs (which decode libzstd -3 frames).
        let curve_cfg = Config {
            levels: vec![3],
            threads: vec![cfg.threads.iter().copied().max().unwrap_or(1)],
            gpu_decode_levels: vec![3],
            ..cfg.clone()
        };
        for &size in &curve_sizes {
            for input in &curve_inputs {
                jobs.push((input, SetSize::Bytes(size), chunks[0], curve_cfg.clone()));
            }
        }
    }
    for (input, size, chunk, cfg) in jobs {
        let set = match DataSet::build(input, size, chunk) {
            Ok(s) => s,
            Err(e) => {
                progress(&format!("{}: {e}: skipped", input.name));
                continue;
            }
        };
        progress(&format!(
            "{} at {} ({}), chunks of {}",
            set.name,
            size.label(),
            format_size(set.len()),
            format_size(chunk)
        ));
        let new = run_set(&set, &cfg, !args.no_cpu, bench.as_ref(), &mut progress);
        for r in &new {
            if let Outcome::Failed(e) = &r.outcome {
                progress(&format!("FAILED {} {} {} {}: {e}", r.set, r.codec, r.direction.as_str(), r.mode.as_str()));
            }
        }
        rows.extend(new);
        write_csv(&rows)?;
    }

    println!();
    print!("{}", compare::format_report(&rows, &cfg));
    println!("total time {:.1} s", t0.elapsed().as_secs_f64());
    write_csv(&rows)?;
    if rows.is_empty() {
        return Err("nothing was measured (no GPU codec available and libzstd skipped, or no data set)".into());
    }
    Ok(compare::failures(&rows))
}
