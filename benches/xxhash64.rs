//! XXH64 throughput on the GPU: 1 GiB of random bytes hashed as 64 KiB buffers, timed with
//! CUDA events around each launch (the data stays on the device). Also checks every hash
//! against xxhash-rust once before timing.
//!
//! Run: `cargo bench --features gpu-tests --bench xxhash64` (or the bundle's run.sh --bench).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cuzstd::abi::cz_batch_item;
use cuzstd::gpu::{self, Gpu};

const TOTAL: usize = 1 << 30;

fn random_bytes(len: usize, mut state: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for chunk in out.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    out
}

struct Setup {
    gpu: Gpu,
    _data: cudarc::driver::CudaSlice<u8>,
    items: cudarc::driver::CudaSlice<cz_batch_item>,
    out: cudarc::driver::CudaSlice<u64>,
}

fn setup(chunk: usize) -> Setup {
    let gpu = Gpu::new(0).unwrap_or_else(|e| panic!("this bench needs a CUDA device: {e}"));
    let host = random_bytes(TOTAL, 0x9E37_79B9_7F4A_7C15);
    let stream = gpu.stream().clone();
    let data = stream.clone_htod(&host).unwrap();
    let base = gpu::device_address(&data, &stream);
    let n = TOTAL / chunk;
    let items: Vec<cz_batch_item> = (0..n)
        .map(|i| cz_batch_item { src: base + (i * chunk) as u64, src_size: chunk as u64, dst: 0, dst_capacity: 0 })
        .collect();
    let d_items = stream.clone_htod(&items).unwrap();
    let mut out = stream.alloc_zeros::<u64>(n).unwrap();
    // SAFETY (bench): every item lies inside `data`, which outlives all launches.
    #[allow(unsafe_code)]
    unsafe {
        gpu.xxh64_batch_device(&stream, &d_items.as_view(), 0, &mut out.as_view_mut()).unwrap()
    };
    let got = stream.clone_dtoh(&out).unwrap();
    for (i, h) in got.iter().enumerate() {
        let want = xxhash_rust::xxh64::xxh64(&host[i * chunk..(i + 1) * chunk], 0);
        assert_eq!(*h, want, "hash of buffer {i} differs from xxhash-rust");
    }
    Setup { gpu, _data: data, items: d_items, out }
}

fn launch_ms(s: &mut Setup) -> f32 {
    let stream = s.gpu.stream().clone();
    let start = s.gpu.timing_event(&stream).unwrap();
    // SAFETY (bench): as in setup.
    #[allow(unsafe_code)]
    unsafe {
        s.gpu.xxh64_batch_device(&stream, &s.items.as_view(), 0, &mut s.out.as_view_mut()).unwrap()
    };
    let end = s.gpu.timing_event(&stream).unwrap();
    gpu::elapsed_ms(&start, &end).unwrap()
}

fn bench(c: &mut Criterion) {
    for chunk in [64 << 10, 16 << 10, 256 << 10] {
        let mut s = setup(chunk);
        let p = s.gpu.props().clone();
        for _ in 0..5 {
            launch_ms(&mut s);
        }
        let mut times: Vec<f32> = (0..30).map(|_| launch_ms(&mut s)).collect();
        times.sort_by(f32::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "xxhash64 on {} (driver {}): 1 GiB in {} KiB buffers: {:.1} GB/s (median of 30 launches, CUDA events; min {:.3} ms, median {:.3} ms, max {:.3} ms)",
            p.name,
            p.driver_version,
            chunk >> 10,
            TOTAL as f64 / (median as f64 * 1e-3) / 1e9,
            times[0],
            median,
            times[times.len() - 1]
        );
        let mut g = c.benchmark_group("xxhash64");
        g.throughput(Throughput::Bytes(TOTAL as u64));
        g.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        g.bench_function(format!("1GiB_in_{}KiB_buffers", chunk >> 10), |b| {
            b.iter_custom(|iters| {
                let total: f64 = (0..iters).map(|_| launch_ms(&mut s) as f64).sum();
                Duration::from_secs_f64(total * 1e-3)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
