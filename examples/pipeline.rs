//! Host-to-host throughput of the bulk API's CUDA backend (the overlapped pipeline), beside
//! the pure PCIe ceiling measured in the same run.
//!
//! ```text
//! cargo build --release --example pipeline
//! target/release/examples/pipeline --data ../shared/bench-data --size 1g
//! ```
//! The data set is every file of the data folder concatenated and tiled to `--size` (real
//! data, not generated). For each chunk size, group size and in-flight count it times
//! `Compressor::compress` and `Decompressor::decompress` (input and output in ordinary host
//! memory, wall clock, median of `--runs`), after verifying once that libzstd decodes the
//! compressed stream to the input and that the CUDA backend decodes it back. The PCIe
//! ceiling is pinned host-to-device and device-to-host `cuMemcpyAsync` of `--pcie-bytes`,
//! timed with CUDA events. With two or more GPUs visible it also times 1..N GPUs. Exits
//! non-zero if any output differs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use cuzstd::bench::data::{find_files, format_size, parse_size, tile, DataSet, SetSize};
use cuzstd::bulk::{
    plan::plan_groups, Backend, CompressOptions, Compressor, DecompressOptions, Decompressor, Devices, PipelineOptions,
};
use cuzstd::gpu::{elapsed_ms, Gpu};

#[derive(Parser, Debug)]
#[command(about = "Host-to-host throughput of cuzstd's bulk API on the GPU, and the PCIe ceiling")]
struct Args {
    /// Folder of input files (all concatenated, then tiled to --size).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Size of the data set.
    #[arg(long, default_value = "1g")]
    size: String,
    /// Chunk sizes (comma-separated): each chunk is one frame.
    #[arg(long, value_delimiter = ',', default_value = "64k,1m")]
    chunk: Vec<String>,
    /// Group sizes (comma-separated; "all" = the whole batch in one group).
    #[arg(long, value_delimiter = ',', default_value = "256m,all")]
    group: Vec<String>,
    /// In-flight group counts (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    in_flight: Vec<usize>,
    /// cuzstd compression level.
    #[arg(long, default_value_t = 1)]
    level: i32,
    /// Timed runs per configuration (median reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Bytes per PCIe copy measurement.
    #[arg(long, default_value = "1g")]
    pcie_bytes: String,
    /// Skip the multi-GPU scaling table.
    #[arg(long)]
    no_scaling: bool,
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CUZSTD_SHARED").map(|s| PathBuf::from(s).join("bench-data")) {
        if d.is_dir() {
            return d;
        }
    }
    for p in ["../shared/bench-data", "/work/shared/bench-data", "data"] {
        if Path::new(p).is_dir() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("data")
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(0) => {}
        Ok(bad) => {
            eprintln!("pipeline: {bad} configuration(s) FAILED verification");
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!("pipeline: error: {e}");
            std::process::exit(1);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Pinned host-to-device and device-to-host copy bandwidth (GB/s, median of 5), and both
/// directions at once on two streams (GB/s of each direction).
fn pcie(gpu: &Gpu, bytes: usize) -> AnyResult<(f64, f64, f64)> {
    let mut host = gpu.pinned_pool().alloc(bytes)?;
    host.buf_mut().as_mut_slice()?[..bytes].fill(0x5A);
    let mut host2 = gpu.pinned_pool().alloc(bytes)?;
    let mut dev = gpu.pool().alloc(bytes)?;
    let dev2 = gpu.pool().alloc(bytes)?;
    let s = gpu.stream().clone();
    let s2 = gpu.new_stream()?;
    let time = |f: &mut dyn FnMut() -> AnyResult<()>, stream: &std::sync::Arc<cudarc::driver::CudaStream>| {
        let mut v = Vec::new();
        for i in 0..6 {
            let a = gpu.timing_event(stream)?;
            f()?;
            let b = gpu.timing_event(stream)?;
            b.synchronize()?;
            if i > 0 {
                v.push(bytes as f64 / (elapsed_ms(&a, &b)? as f64 / 1e3) / 1e9);
            }
        }
        AnyResult::Ok(median(v))
    };
    let h2d = time(
        &mut || {
            let src = &host.buf().as_slice()?[..bytes];
            s.memcpy_htod(src, &mut dev.buf_mut().slice_mut(..bytes))?;
            Ok(())
        },
        &s,
    )?;
    let d2h = time(
        &mut || {
            let dst = &mut host2.buf_mut().as_mut_slice()?[..bytes];
            s.memcpy_dtoh(&dev.buf().slice(..bytes), dst)?;
            Ok(())
        },
        &s,
    )?;
    // Both directions at once: H2D on the work stream, D2H on a second stream, timed by
    // the work stream after it has waited for the second.
    let both = time(
        &mut || {
            let src = &host.buf().as_slice()?[..bytes];
            s.memcpy_htod(src, &mut dev.buf_mut().slice_mut(..bytes))?;
            let dst = &mut host2.buf_mut().as_mut_slice()?[..bytes];
            s2.memcpy_dtoh(&dev2.buf().slice(..bytes), dst)?;
            s.join(&s2)?;
            Ok(())
        },
        &s,
    )?;
    s.synchronize()?;
    s2.synchronize()?;
    Ok((h2d, d2h, both))
}

struct Measured {
    comp_gbps: f64,
    dec_gbps: f64,
    ratio: f64,
}

/// Verifies once, then times compress and decompress through the bulk API.
fn measure(
    data: &[u8],
    chunk: usize,
    pipeline: PipelineOptions,
    gpus: Devices,
    level: i32,
    runs: usize,
) -> AnyResult<Result<Measured, String>> {
    let c = Compressor::new(CompressOptions {
        level,
        chunk_size: chunk,
        backend: Backend::Cuda,
        gpus: gpus.clone(),
        pipeline,
        ..Default::default()
    })?;
    let d = Decompressor::new(DecompressOptions { backend: Backend::Cuda, gpus, pipeline, ..Default::default() })?;
    let packed = c.compress(data)?;
    // libzstd (CPU backend, all cores) must read the stream back to the input.
    let cpu = Decompressor::new(DecompressOptions { backend: Backend::Cpu, ..Default::default() })?;
    if let Some(e) = differs("libzstd decode", &cpu.decompress(&packed)?, data) {
        return Ok(Err(e));
    }
    if let Some(e) = differs("cuzstd decode", &d.decompress(&packed)?, data) {
        return Ok(Err(e));
    }
    let mut ct = Vec::new();
    let mut dt = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let p = c.compress(data)?;
        ct.push(t.elapsed().as_secs_f64());
        if p != packed {
            return Ok(Err("compressed output changed between runs".into()));
        }
        let t = Instant::now();
        let out = d.decompress(&packed)?;
        dt.push(t.elapsed().as_secs_f64());
        if let Some(e) = differs("cuzstd decode (timed run)", &out, data) {
            return Ok(Err(e));
        }
    }
    let n = data.len() as f64;
    Ok(Ok(Measured { comp_gbps: n / median(ct) / 1e9, dec_gbps: n / median(dt) / 1e9, ratio: n / packed.len() as f64 }))
}

fn differs(what: &str, got: &[u8], want: &[u8]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("{what}: {} bytes, should be {}", got.len(), want.len()));
    }
    let at = got.iter().zip(want).position(|(a, b)| a != b)?;
    Some(format!("{what}: byte {at} differs"))
}

fn run(args: &Args) -> AnyResult<usize> {
    let t0 = Instant::now();
    let count = cuzstd::gpu::device_count()?;
    if count == 0 {
        return Err("no CUDA device is visible".into());
    }
    let gpu = Gpu::new(0)?;
    let p = gpu.props();
    println!(
        "GPU 0: {} (sm_{}{}, {} SMs, {}), {count} GPU(s) visible",
        p.name,
        p.compute_capability.0,
        p.compute_capability.1,
        p.multiprocessors,
        format_size(p.total_memory)
    );
    println!("host threads: {}", std::thread::available_parallelism().map_or(1, |n| n.get()));

    let pcie_bytes = parse_size(&args.pcie_bytes)?;
    let (h2d, d2h, both) = pcie(&gpu, pcie_bytes)?;
    println!(
        "PCIe ceiling (pinned cuMemcpyAsync of {}, CUDA events, median of 5): H2D {h2d:.2} GB/s, D2H {d2h:.2} GB/s, \
         both at once {both:.2} GB/s each way",
        format_size(pcie_bytes)
    );

    let dir = args.data.clone().unwrap_or_else(default_data_dir);
    let mut all = Vec::new();
    for input in find_files(&dir)? {
        let set = DataSet::build(&input, SetSize::Native, 64 << 10)?;
        all.extend_from_slice(&set.bytes);
    }
    if all.is_empty() {
        return Err(format!("no data under {}", dir.display()).into());
    }
    let size = parse_size(&args.size)?;
    let data = tile(&all, size);
    println!(
        "data: every file under {} ({}) tiled to {}",
        dir.display(),
        format_size(all.len()),
        format_size(data.len())
    );
    println!(
        "GB/s = uncompressed bytes / median wall time of {} runs of Compressor::compress or Decompressor::decompress \
         (host memory in, host memory out); every configuration verified first (libzstd and cuzstd decode).",
        args.runs
    );
    println!();
    println!(
        "{:>8} | {:>8} | {:>9} | {:>6} | {:>6} | {:>10} | {:>10} | {:>13} | {:>13}",
        "chunk", "group", "in-flight", "groups", "ratio", "comp GB/s", "dec GB/s", "comp % of H2D", "dec % of D2H"
    );
    let mut failed = 0;
    let mut best: Option<(f64, usize, PipelineOptions)> = None;
    for c in &args.chunk {
        let chunk = parse_size(c)?;
        for g in &args.group {
            let group_bytes = if g == "all" { usize::MAX } else { parse_size(g)? };
            for &in_flight in &args.in_flight {
                let pipeline = PipelineOptions { group_bytes, in_flight };
                // Groups of the compression side (input plus compress_bound per chunk).
                let groups = plan_groups(
                    data.chunks(chunk).map(|s| s.len() + cuzstd::encode::compress_bound(s.len())),
                    group_bytes,
                )
                .len();
                match measure(&data, chunk, pipeline, Devices::List(vec![0]), args.level, args.runs)? {
                    Ok(m) => {
                        println!(
                            "{:>8} | {:>8} | {:>9} | {:>6} | {:>6.3} | {:>10.3} | {:>10.3} | {:>12.0}% | {:>12.0}%",
                            format_size(chunk),
                            g,
                            in_flight,
                            groups,
                            m.ratio,
                            m.comp_gbps,
                            m.dec_gbps,
                            100.0 * m.comp_gbps / h2d,
                            100.0 * m.dec_gbps / d2h
                        );
                        let score = m.comp_gbps.min(m.dec_gbps);
                        if best.as_ref().is_none_or(|b| score > b.0) {
                            best = Some((score, chunk, pipeline));
                        }
                    }
                    Err(e) => {
                        println!("{:>8} | {:>8} | {:>9} | FAILED: {e}", format_size(chunk), g, in_flight);
                        failed += 1;
                    }
                }
            }
        }
    }
    if count >= 2 && !args.no_scaling {
        if let Some((_, chunk, pipeline)) = best {
            println!();
            println!(
                "Scaling over GPUs (chunk {}, group {}, in-flight {}: the best setting above):",
                format_size(chunk),
                if pipeline.group_bytes == usize::MAX { "all".into() } else { format_size(pipeline.group_bytes) },
                pipeline.in_flight
            );
            println!(
                "{:>5} | {:>10} | {:>10} | {:>12} | {:>12}",
                "GPUs", "comp GB/s", "dec GB/s", "comp speedup", "dec speedup"
            );
            let mut base: Option<(f64, f64)> = None;
            for n in 1..=count {
                match measure(&data, chunk, pipeline, Devices::List((0..n).collect()), args.level, args.runs)? {
                    Ok(m) => {
                        let (bc, bd) = *base.get_or_insert((m.comp_gbps, m.dec_gbps));
                        println!(
                            "{n:>5} | {:>10.3} | {:>10.3} | {:>11.2}x | {:>11.2}x",
                            m.comp_gbps,
                            m.dec_gbps,
                            m.comp_gbps / bc,
                            m.dec_gbps / bd
                        );
                    }
                    Err(e) => {
                        println!("{n:>5} | FAILED: {e}");
                        failed += 1;
                    }
                }
            }
        }
    } else if count < 2 {
        println!();
        println!("Scaling over GPUs: not measured ({count} GPU visible)");
    }
    println!();
    println!("total time {:.1} s", t0.elapsed().as_secs_f64());
    Ok(failed)
}
