//! `cuzstd`: compress and decompress files with zstd's command-line habits.
//!
//! ```text
//! cuzstd [-#] [-d] [-o OUT | -c] [-f] [-k | --rm] [-q | -v] [-T#] [-D DICT]
//!        [--chunk-size N] [--backend auto|cuda|cpu|reference] [--gpus all|0,1]
//!        [--group-size N] [--in-flight N] [FILE...]
//! cuzstd bench [OPTIONS] FILE...     (comparison table: libzstd, nvCOMP, cuzstd GPU)
//! ```
//! With no FILE, or FILE `-`, it reads stdin and writes stdout. Output files are written to
//! a temporary name beside the target and renamed when complete, so a failure leaves no
//! partial output file.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use cuzstd::bulk::{
    stream, Backend, CompressOptions, Compressor, DecompressOptions, Decompressor, Devices, PipelineOptions,
};

#[derive(Parser, Debug)]
#[command(name = "cuzstd", version, about = "Zstandard on NVIDIA GPUs, with zstd's command-line habits")]
struct Cli {
    /// Decompress.
    #[arg(short = 'd', long = "decompress")]
    decompress: bool,
    /// Compression level (also written -1 .. -19; 20..22 need --ultra).
    #[arg(long = "level", allow_hyphen_values = true)]
    level: Option<i32>,
    /// Allow levels 20..22.
    #[arg(long)]
    ultra: bool,
    /// Negative levels: --fast=N is level -N.
    #[arg(long, num_args = 0..=1, default_missing_value = "1")]
    fast: Option<u32>,
    /// Output file (one input only).
    #[arg(short = 'o')]
    output: Option<PathBuf>,
    /// Write to standard output.
    #[arg(short = 'c', long = "stdout")]
    stdout: bool,
    /// Overwrite existing outputs; allow compressed output to a terminal.
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Keep source files (the default).
    #[arg(short = 'k', long = "keep")]
    keep: bool,
    /// Remove source files after success.
    #[arg(long = "rm")]
    rm: bool,
    /// Fewer messages.
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count)]
    quiet: u8,
    /// More messages.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbose: u8,
    /// Worker threads for the CPU backend (0: all cores).
    #[arg(short = 'T', long = "threads", default_value_t = 0)]
    threads: usize,
    /// Dictionary file (raw content or zstd format).
    #[arg(short = 'D')]
    dictionary: Option<PathBuf>,
    /// Size of the independent chunks (frames) of compressed output, e.g. 65536, 64K, 1M.
    #[arg(long = "chunk-size", value_parser = parse_size)]
    chunk_size: Option<usize>,
    /// Where the codec runs.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Do not write content checksums.
    #[arg(long = "no-check")]
    no_check: bool,
    /// GPUs of the CUDA backend: `all` or a list such as `0,1`.
    #[arg(long, default_value = "all")]
    gpus: Devices,
    /// Bytes staged per pipeline group on the GPU (inputs plus output room), e.g. 512M.
    #[arg(long = "group-size", value_parser = parse_size)]
    group_size: Option<usize>,
    /// Pipeline groups in flight per GPU.
    #[arg(long = "in-flight")]
    in_flight: Option<usize>,
    /// Files to process; none or `-` means standard input.
    files: Vec<PathBuf>,
}

fn parse_size(s: &str) -> Result<usize, String> {
    let (num, mult) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        None => (s, 1usize),
        Some((i, _)) => {
            let mult = match s[i..].to_ascii_uppercase().trim_end_matches("IB").trim_end_matches('B') {
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                "" => 1,
                other => return Err(format!("unknown size suffix `{other}`")),
            };
            (&s[..i], mult)
        }
    };
    num.parse::<usize>()
        .map_err(|e| format!("`{s}`: {e}"))?
        .checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Rewrites zstd's `-#` level flags (`-3`, `-19`) into `--level=#` for clap.
fn normalise_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut files_only = false;
    for a in args {
        if files_only {
            out.push(a);
            continue;
        }
        if a == "--" {
            files_only = true;
            out.push(a);
        } else if a.len() > 1 && a.starts_with('-') && a[1..].bytes().all(|b| b.is_ascii_digit()) {
            out.push(format!("--level={}", &a[1..]));
        } else {
            out.push(a);
        }
    }
    out
}

struct Job {
    input: Option<PathBuf>,
    output: Option<PathBuf>,
}

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

fn plan(cli: &Cli) -> Result<Vec<Job>, String> {
    let inputs: Vec<Option<PathBuf>> = if cli.files.is_empty() {
        vec![None]
    } else {
        cli.files.iter().map(|f| if is_stdin(f) { None } else { Some(f.clone()) }).collect()
    };
    if cli.output.is_some() && inputs.len() > 1 {
        return Err("-o can only be used with a single input file".into());
    }
    inputs
        .into_iter()
        .map(|input| {
            let output = if cli.stdout {
                None
            } else if let Some(o) = &cli.output {
                if is_stdin(o) {
                    None
                } else {
                    Some(o.clone())
                }
            } else {
                match &input {
                    None => None,
                    Some(i) if cli.decompress => {
                        let name = i.to_string_lossy();
                        let stem =
                            name.strip_suffix(".zst").or_else(|| name.strip_suffix(".zstd")).ok_or_else(|| {
                                format!("{}: unknown suffix (expected .zst); use -o to name the output", i.display())
                            })?;
                        Some(PathBuf::from(stem))
                    }
                    Some(i) => {
                        let mut s = i.clone().into_os_string();
                        s.push(".zst");
                        Some(PathBuf::from(s))
                    }
                }
            };
            Ok(Job { input, output })
        })
        .collect()
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bar: Option<indicatif::ProgressBar>,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Some(b) = &self.bar {
            b.inc(n as u64);
        }
        Ok(n)
    }
}

fn run_job(cli: &Cli, job: &Job, compressor: &Compressor, decompressor: &Decompressor) -> Result<(u64, u64), String> {
    let in_name = job.input.as_ref().map_or("stdin".to_string(), |p| p.display().to_string());
    let err = |e: &dyn std::fmt::Display| format!("{in_name}: {e}");

    let (reader, size): (Box<dyn Read>, Option<u64>) = match &job.input {
        None => (Box::new(io::stdin().lock()), None),
        Some(p) => {
            let f = File::open(p).map_err(|e| err(&e))?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(BufReader::with_capacity(1 << 20, f)), size)
        }
    };
    let show_bar = cli.quiet == 0 && io::stderr().is_terminal() && size.is_some_and(|s| s > (64 << 20));
    let bar = show_bar.then(|| {
        let b = indicatif::ProgressBar::new(size.unwrap_or(0));
        b.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message(in_name.clone());
        b
    });
    let mut reader = Counting { inner: reader, bar, count: 0 };

    // Output: stdout, or a temporary file renamed into place on success.
    let (tmp, mut writer): (Option<(PathBuf, PathBuf)>, Box<dyn Write>) = match &job.output {
        None => {
            if !cli.decompress && !cli.force && io::stdout().is_terminal() {
                return Err(err(&"stdout is a console, aborting (use -f to force, or -o FILE)"));
            }
            (None, Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock())))
        }
        Some(out) => {
            if out.exists() && !cli.force {
                return Err(format!("{}: already exists; not overwritten (use -f)", out.display()));
            }
            let mut tmp_name = out.clone().into_os_string();
            tmp_name.push(format!(".cuzstd-tmp-{}", std::process::id()));
            let tmp = PathBuf::from(tmp_name);
            let f = File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            (Some((tmp, out.clone())), Box::new(BufWriter::with_capacity(1 << 20, f)))
        }
    };

    let result = (|| -> io::Result<u64> {
        if cli.decompress {
            let mut dec = stream::Decoder::new(&mut reader, decompressor.clone(), 64 << 20);
            let n = io::copy(&mut dec, &mut writer)?;
            writer.flush()?;
            Ok(n)
        } else {
            let batch = (compressor.options().threads.max(1) * 4).max(16);
            let mut enc =
                stream::Encoder::new(CountingWriter { inner: &mut writer, count: 0 }, compressor.clone(), batch);
            io::copy(&mut reader, &mut enc)?;
            let w = enc.finish()?;
            let n = w.count;
            writer.flush()?;
            Ok(n)
        }
    })();
    if let Some(b) = &reader.bar {
        b.finish_and_clear();
    }
    drop(writer);
    match result {
        Ok(written) => {
            if let Some((tmp, out)) = &tmp {
                fs::rename(tmp, out).map_err(|e| format!("{}: {e}", out.display()))?;
            }
            Ok((reader.count, written))
        }
        Err(e) => {
            if let Some((tmp, _)) = &tmp {
                let _ = fs::remove_file(tmp);
            }
            Err(err(&e))
        }
    }
}

struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("bench") {
        return bench(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("zipper") {
        return cuzstd::zipper::cli::main(&args[2..]);
    }
    let cli = match Cli::try_parse_from(normalise_args(args.into_iter())) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cuzstd: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> Result<bool, String> {
    let mut level = cli.level.unwrap_or(cuzstd::bulk::DEFAULT_LEVEL);
    if let Some(f) = cli.fast {
        level = -(f as i32);
    }
    if level > 19 && !cli.ultra {
        return Err(format!("level {level} needs --ultra"));
    }
    if cli.level == Some(0) {
        level = cuzstd::bulk::DEFAULT_LEVEL;
    }
    let dictionary = match &cli.dictionary {
        Some(p) => Some(fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let defaults = PipelineOptions::default();
    let pipeline = PipelineOptions {
        group_bytes: cli.group_size.unwrap_or(defaults.group_bytes),
        in_flight: cli.in_flight.unwrap_or(defaults.in_flight),
    };
    let compressor = Compressor::new(CompressOptions {
        level,
        chunk_size: cli.chunk_size.unwrap_or(cuzstd::bulk::DEFAULT_CHUNK_SIZE),
        checksum: !cli.no_check,
        threads: cli.threads,
        backend: cli.backend,
        dictionary: dictionary.clone(),
        gpus: cli.gpus.clone(),
        pipeline,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let decompressor = Decompressor::new(DecompressOptions {
        dictionary,
        threads: cli.threads,
        backend: cli.backend,
        gpus: cli.gpus.clone(),
        pipeline,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    if cli.rm && cli.keep {
        return Err("--rm and -k contradict each other".into());
    }
    let jobs = plan(cli)?;
    let mut ok = true;
    for job in &jobs {
        match run_job(cli, job, &compressor, &decompressor) {
            Ok((read, written)) => {
                if cli.verbose > 0 || (cli.quiet == 0 && jobs.len() > 1) {
                    let name = job.input.as_ref().map_or("stdin".into(), |p| p.display().to_string());
                    let (raw, packed) = if cli.decompress { (written, read) } else { (read, written) };
                    let pct = if raw > 0 { 100.0 * packed as f64 / raw as f64 } else { 0.0 };
                    eprintln!("{name:20}: {pct:6.2}%   ({raw} => {packed} bytes)");
                }
                if cli.rm {
                    if let (Some(input), Some(_)) = (&job.input, &job.output) {
                        fs::remove_file(input).map_err(|e| format!("{}: {e}", input.display()))?;
                    }
                }
            }
            Err(e) => {
                if cli.quiet < 2 {
                    eprintln!("cuzstd: {e}");
                }
                ok = false;
            }
        }
    }
    Ok(ok)
}

/// `cuzstd bench FILE...`: the comparison table of docs/BENCHMARKS.md for the given files.
#[derive(Parser, Debug)]
#[command(
    name = "cuzstd bench",
    about = "Compare libzstd, nvCOMP and cuzstd's GPU codec on files (each at its native size, cut into chunks)"
)]
struct BenchCli {
    /// Files to measure.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Chunk size: every chunk is one independent frame.
    #[arg(long, default_value = "64K", value_parser = parse_size)]
    chunk: usize,
    /// libzstd levels (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,3,19")]
    levels: Vec<i32>,
    /// libzstd thread counts (comma-separated numbers or "all").
    #[arg(long, value_delimiter = ',', default_value = "1,all")]
    threads: Vec<String>,
    /// Timed runs per row (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Untimed warm-up runs per row.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// cuzstd GPU compression levels (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,3")]
    cuzstd_levels: Vec<i32>,
    /// Path of libnvcomp.so.6 (or its folder); otherwise NVCOMP_LIB and the usual places.
    #[arg(long)]
    nvcomp_lib: Option<PathBuf>,
    /// Leave the GPU columns out.
    #[arg(long)]
    no_gpu: bool,
    /// Skip the host-to-host GPU rows.
    #[arg(long)]
    no_h2h: bool,
}

fn bench(args: &[String]) -> ExitCode {
    let cli = match BenchCli::try_parse_from(std::iter::once("cuzstd bench".to_string()).chain(args.iter().cloned())) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    match run_bench(&cli) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failed) => {
            eprintln!("cuzstd bench: {failed} row(s) FAILED verification or a call; see the table");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("cuzstd bench: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_bench(cli: &BenchCli) -> Result<usize, String> {
    use cuzstd::bench::compare::{compare_files, failures, format_report, CompareOptions};
    use cuzstd::bench::cpu::all_threads;
    use cuzstd::bench::run::Config;
    let mut threads = Vec::new();
    for t in &cli.threads {
        let n = if t.trim() == "all" {
            all_threads()
        } else {
            t.trim().parse().map_err(|_| format!("--threads: `{t}` is not a number or `all`"))?
        };
        if n > 0 && !threads.contains(&n) {
            threads.push(n);
        }
    }
    if cli.chunk == 0 || cli.chunk % 8 != 0 {
        return Err(format!("--chunk {} is not a positive multiple of 8", cli.chunk));
    }
    let config = Config {
        levels: cli.levels.clone(),
        threads,
        runs: cli.runs.max(1),
        warmup: cli.warmup,
        gpu_decode_levels: cli.levels.iter().copied().filter(|&l| l <= 3).collect(),
        ..Config::default()
    };
    let opts = CompareOptions {
        config: config.clone(),
        chunk_size: cli.chunk,
        no_gpu: cli.no_gpu,
        cuzstd_levels: cli.cuzstd_levels.clone(),
        nvcomp_lib: cli.nvcomp_lib.clone(),
        h2h: !cli.no_h2h,
    };
    let t0 = std::time::Instant::now();
    let mut progress = |msg: &str| eprintln!("[{:>6.1} s] {msg}", t0.elapsed().as_secs_f64());
    let report = compare_files(&cli.files, &opts, &mut progress).map_err(|e| e.to_string())?;
    for (k, v) in &report.environment {
        println!("{k}: {v}");
    }
    for n in &report.notes {
        println!("note: {n}");
    }
    println!();
    print!("{}", format_report(&report.rows, &config));
    Ok(failures(&report.rows))
}
