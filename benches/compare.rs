//! Criterion view of the comparison: libzstd -3 (all threads) and nvCOMP (device-resident,
//! timed with CUDA events through `iter_custom`) on Silesia xml tiled to 64 MiB in 64 KiB
//! chunks. The full table comes from `examples/bench.rs`; this is for tracking changes.
//!
//! Data folder: `CUZSTD_BENCH_DATA`, else `$CUZSTD_SHARED/bench-data` (the GPU bundle sets
//! it), else `data/` or `../shared/bench-data`. nvCOMP is found as in the example
//! (`NVCOMP_LIB`, next to the executable, `./lib/`).

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cuzstd::bench::cpu::{all_threads, Libzstd};
use cuzstd::bench::data::{DataSet, Input, SetSize, Source, DEFAULT_CHUNK, MIB};
use cuzstd::bench::gpu::{GpuCodec, NvcompCodec};
use cuzstd::gpu::nvcomp::{time_device, DeviceChunks, Layout, Nvcomp};
use cuzstd::gpu::Gpu;

const SET_BYTES: usize = 64 * MIB;

fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CUZSTD_BENCH_DATA") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("CUZSTD_SHARED") {
        return PathBuf::from(d).join("bench-data");
    }
    let beside_repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench-data");
    ["data", "../shared/bench-data", beside_repo]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
        .unwrap_or_else(|| "data".into())
}

fn xml_set() -> DataSet {
    let input = Input { name: "silesia/xml".into(), source: Source::File(data_dir().join("silesia/xml")) };
    DataSet::build(&input, SetSize::Bytes(SET_BYTES), DEFAULT_CHUNK).expect("silesia/xml under the data folder")
}

fn bench_libzstd(c: &mut Criterion, set: &DataSet) -> Vec<Vec<u8>> {
    let chunks = set.chunks();
    let lens = set.chunk_lens();
    let mut lz = Libzstd::new(3, all_threads());
    let mut frames = Vec::new();
    lz.compress(&chunks, &mut frames).expect("libzstd compresses");
    lz.verify("libzstd -3", &frames, &chunks).expect("libzstd frames decode to the input");
    let mut g = c.benchmark_group("xml-64MiB-64KiB/libzstd-3-all-threads");
    g.throughput(Throughput::Bytes(set.len() as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("compress", |b| {
        let mut f = Vec::new();
        b.iter_custom(|iters| (0..iters).map(|_| lz.compress(&chunks, &mut f).unwrap()).sum::<Duration>())
    });
    let mut out = vec![0u8; set.len()];
    g.bench_function("decompress", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| lz.decompress(&frames, &lens, &mut out).unwrap()).sum::<Duration>())
    });
    g.finish();
    assert!(out == set.bytes, "libzstd decoding differs from the input");
    frames
}

fn bench_nvcomp(c: &mut Criterion, set: &DataSet, zstd_frames: &[Vec<u8>]) {
    let gpu = match Gpu::new(0) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("no GPU ({e}): nvCOMP benches skipped");
            return;
        }
    };
    let codec = match Nvcomp::load(None) {
        Ok(nv) => NvcompCodec { nv },
        Err(e) => {
            eprintln!("nvCOMP not found: skipped ({e})");
            return;
        }
    };
    let stream = gpu.stream().clone();
    let align = codec.compress_input_alignment().unwrap();
    let input = DeviceChunks::upload(&stream, Layout::packed(&set.chunk_lens(), align), &set.bytes).unwrap();
    let mut verifier = Libzstd::new(1, all_threads());
    let mut g = c.benchmark_group("xml-64MiB-64KiB/nvCOMP-device");
    g.throughput(Throughput::Bytes(set.len() as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let mut job = codec.compressor(&input).unwrap();
    job.launch().unwrap();
    job.finish().unwrap();
    let own = job.output().download_chunks().unwrap();
    verifier.verify("nvCOMP frames", &own, &set.chunks()).expect("nvCOMP frames decode to the input");
    g.bench_function("compress", |b| {
        b.iter_custom(|iters| {
            let mut total = 0f64;
            for _ in 0..iters {
                total += f64::from(time_device(&stream, || job.launch()).unwrap());
                job.finish().unwrap();
            }
            Duration::from_secs_f64(total / 1e3)
        })
    });
    drop(job);

    let frame_lens: Vec<usize> = zstd_frames.iter().map(Vec::len).collect();
    let layout = Layout::packed(&frame_lens, codec.decompress_input_alignment().unwrap());
    let refs: Vec<&[u8]> = zstd_frames.iter().map(Vec::as_slice).collect();
    let packed = layout.pack(&refs);
    let frames = DeviceChunks::upload(&stream, layout, &packed).unwrap();
    let mut job = codec.decompressor(&frames, &set.chunk_lens()).unwrap();
    job.launch().unwrap();
    job.finish().unwrap();
    assert!(job.output().download().unwrap() == set.bytes, "nvCOMP decoding of libzstd frames differs");
    g.bench_function("decompress-libzstd-3-frames", |b| {
        b.iter_custom(|iters| {
            let mut total = 0f64;
            for _ in 0..iters {
                total += f64::from(time_device(&stream, || job.launch()).unwrap());
                job.finish().unwrap();
            }
            Duration::from_secs_f64(total / 1e3)
        })
    });
    g.finish();
}

fn compare(c: &mut Criterion) {
    let set = xml_set();
    let frames = bench_libzstd(c, &set);
    bench_nvcomp(c, &set, &frames);
}

criterion_group!(benches, compare);
criterion_main!(benches);
