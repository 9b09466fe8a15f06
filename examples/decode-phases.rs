//! Decoder profile on one GPU: each file tiled to `--size`, cut into `--chunk` pieces,
//! compressed by libzstd at `--level`, decoded on the device by the warp kernel and by the
//! staged kernel with each form of its sequences pass (lanes: a thread per item after the
//! order launch; solo: a warp per item, the small-batch form), with the staged decoder's
//! launches (literals, order, sequences, execute) timed apart. Times are CUDA events, medians of `--runs` after two warm-ups; every output is
//! compared with the input once (a mismatch exits with status 1), and the number of items the
//! staged passes decoded themselves (not their warp fallback) is counted.
//!
//!   decode-phases --data DIR [--files a,b] [--size 1g] [--chunk 64k] [--level 3] [--runs 10]
//!
//! The comparison with nvCOMP and libzstd is `examples/bench` (bench-run.sh decoder); this is
//! the development tool that says where the staged decoder's time goes.

use cudarc::driver::CudaSlice;
use cuzstd::abi::{cz_batch_item, cz_item_result};
use cuzstd::bench::data::parse_size;
use cuzstd::decode::DecodeOptions;
use cuzstd::gpu::decode::{staged_slot_decoded, workspace_slot_size, DecodeKernel, StagedSequences};
use cuzstd::gpu::{device_address, elapsed_ms, Gpu};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let data = std::path::PathBuf::from(arg(&args, "--data", "../shared/bench-data"));
    let files = arg(&args, "--files", "silesia/xml,canterbury/plrabn12.txt,bb.binast");
    let size = parse_size(&arg(&args, "--size", "1g"))?;
    let chunk = parse_size(&arg(&args, "--chunk", "64k"))?;
    let level: i32 = arg(&args, "--level", "3").parse()?;
    let runs: usize = arg(&args, "--runs", "10").parse()?;
    let gpu = Gpu::new(0)?;
    let stream = gpu.new_stream()?;
    let options = DecodeOptions::default();
    let mut failed = false;
    println!(
        "file | frames | ratio | warp GB/s | staged form | staged GB/s | literals ms | order ms | sequences ms | execute ms | staged items"
    );
    for f in files.split(',') {
        let raw = std::fs::read(data.join(f)).map_err(|e| format!("{}: {e}", data.join(f).display()))?;
        let input: Vec<u8> = raw.iter().copied().cycle().take(size).collect();
        let pieces: Vec<&[u8]> = input.chunks(chunk).collect();
        let frames: Vec<Vec<u8>> = pieces
            .iter()
            .map(|p| zstd_safe_compress(p, level))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("libzstd: {e}"))?;
        let total: usize = frames.iter().map(Vec::len).sum();
        let flat: Vec<u8> = frames.concat();
        let d_src: CudaSlice<u8> = stream.clone_htod(&flat)?;
        let d_dst: CudaSlice<u8> = stream.alloc_zeros::<u8>(input.len())?;
        let (src0, dst0) = (device_address(&d_src, &stream), device_address(&d_dst, &stream));
        let mut items = Vec::with_capacity(frames.len());
        let (mut at, mut out) = (0u64, 0u64);
        for (fr, p) in frames.iter().zip(&pieces) {
            items.push(cz_batch_item {
                src: src0 + at,
                src_size: fr.len() as u64,
                dst: dst0 + out,
                dst_capacity: p.len() as u64,
            });
            at += fr.len() as u64;
            out += p.len() as u64;
        }
        let n = items.len();
        let d_items = stream.clone_htod(&items)?;
        let stride = workspace_slot_size() as usize;
        let mut ws = stream.alloc_zeros::<u8>(n * stride)?;
        let mut results = stream.alloc_zeros::<cz_item_result>(n)?;
        let gbs = |ms: f64| input.len() as f64 / (ms * 1e6);
        let mut time_kernel = |kernel: DecodeKernel, form: StagedSequences| -> Res<(f64, Vec<f64>, usize)> {
            let mut whole = Vec::new();
            let mut phases: Vec<Vec<f64>> = vec![Vec::new(); 4];
            for run in 0..runs + 2 {
                let a = gpu.timing_event(&stream)?;
                let ev = if kernel == DecodeKernel::Staged {
                    // SAFETY: the descriptors name d_src and d_dst (disjoint device buffers that
                    // live until after the synchronising copies below); ws holds n slots.
                    unsafe {
                        gpu.decompress_staged_phases(
                            &stream,
                            &d_items.as_view(),
                            &options,
                            &mut ws.as_view_mut(),
                            &mut results.as_view_mut(),
                            form,
                        )?
                    }
                } else {
                    // SAFETY: as above.
                    unsafe {
                        gpu.decompress_batch_device(
                            &stream,
                            &d_items.as_view(),
                            None,
                            &options,
                            kernel,
                            &mut ws.as_view_mut(),
                            &mut results.as_view_mut(),
                        )?
                    };
                    Vec::new()
                };
                let b = gpu.timing_event(&stream)?;
                stream.synchronize()?;
                if run >= 2 {
                    whole.push(f64::from(elapsed_ms(&a, &b)?));
                    for (k, w) in ev.windows(2).enumerate() {
                        phases[k].push(f64::from(elapsed_ms(&w[0], &w[1])?));
                    }
                }
            }
            let res = stream.clone_dtoh(&results)?;
            if let Some((i, r)) = res.iter().enumerate().find(|(_, r)| r.status != 0) {
                return Err(format!("{kernel:?}: item {i} failed with status {}", r.status).into());
            }
            let got = stream.clone_dtoh(&d_dst)?;
            if got != input {
                return Err(format!("{kernel:?}: output differs from the input").into());
            }
            let ph = phases.into_iter().filter(|p| !p.is_empty()).map(median).collect();
            let slots = stream.clone_dtoh(&ws)?;
            let taken = (0..n).filter(|i| staged_slot_decoded(&slots[i * stride..(i + 1) * stride])).count();
            Ok((median(whole), ph, taken))
        };
        let warp = match time_kernel(DecodeKernel::Warp, StagedSequences::Auto) {
            Ok((w, _, _)) => format!("{:.2}", gbs(w)),
            Err(e) => {
                failed = true;
                format!("FAILED: {e}")
            }
        };
        for form in [StagedSequences::Lanes, StagedSequences::Solo] {
            match time_kernel(DecodeKernel::Staged, form) {
                Ok((s, ph, taken)) => println!(
                    "{f} | {n} | {:.3} | {warp} | {form:?} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {taken}/{n}",
                    input.len() as f64 / total as f64,
                    gbs(s),
                    ph[0],
                    ph[1],
                    ph[2],
                    ph[3]
                ),
                Err(e) => {
                    failed = true;
                    println!("{f} | {n} | {form:?}: FAILED: {e}");
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

fn zstd_safe_compress(src: &[u8], level: i32) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(src.len()));
    zstd_safe::compress(&mut out, src, level).map_err(|c| zstd_safe::get_error_name(c).to_string())?;
    Ok(out)
}
