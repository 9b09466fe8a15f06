//! The GPU runtime: ABI layout on the device, device properties, and the pools.

mod common;

use cuzstd::gpu::{Gpu, GpuOptions};
use cuzstd::{abi, reference};

#[test]
fn device_abi_layout_matches_rust_and_reference_build() {
    let gpu = common::gpu();
    let device = gpu.abi_probe().unwrap();
    assert_eq!(device, abi::layout_table(), "device layout differs from the Rust bindings");
    assert_eq!(device, reference::abi_layout(), "device layout differs from the host C++ build");
}

#[test]
fn device_properties_are_read() {
    let gpu = common::gpu();
    let p = gpu.props();
    eprintln!("{p:?}");
    assert!(!p.name.is_empty());
    assert!(p.multiprocessors > 0 && p.total_memory > 0 && p.l2_bytes > 0);
    assert!(p.compute_capability.0 >= 7);
    assert!(p.driver_version >= 12000);
    assert!(cuzstd::gpu::kernels::ARCHS.contains("sm_90"));
}

fn read_back(gpu: &Gpu, buf: &cuzstd::gpu::DeviceBuffer) -> Vec<u8> {
    gpu.stream().clone_dtoh(buf.buf()).unwrap()
}

#[test]
fn recycled_device_buffer_is_zeroed_on_request() {
    let gpu = common::gpu();
    let pool = gpu.pool();
    let mut a = pool.alloc(1 << 20).unwrap();
    let pattern: Vec<u8> = (0..a.capacity()).map(|i| (i * 7 + 3) as u8).collect();
    gpu.stream().memcpy_htod(&pattern, a.buf_mut()).unwrap();
    assert_eq!(read_back(&gpu, &a), pattern);
    let addr = cuzstd::gpu::device_address(a.buf(), gpu.stream());
    drop(a);
    let before = pool.stats();
    let b = pool.alloc_zeroed(1 << 20).unwrap();
    assert_eq!(cuzstd::gpu::device_address(b.buf(), gpu.stream()), addr, "the cached buffer was reused");
    assert_eq!(pool.stats().reuses, before.reuses + 1);
    assert!(read_back(&gpu, &b).iter().all(|&x| x == 0), "old bytes leaked into a zeroed buffer");
}

#[test]
fn poisoning_pool_scrubs_recycled_buffers() {
    let gpu = Gpu::with_options(0, GpuOptions { pool_poison: Some(0xA5) })
        .unwrap_or_else(|e| panic!("GPU test needs a CUDA device: {e}"));
    let pool = gpu.pool();
    let mut a = pool.alloc(65536).unwrap();
    gpu.stream().memcpy_htod(&vec![0x11u8; 65536], a.buf_mut()).unwrap();
    drop(a);
    let b = pool.alloc(60000).unwrap();
    assert!(read_back(&gpu, &b).iter().all(|&x| x == 0xA5));
}

#[test]
fn smaller_batch_after_larger_one_returns_only_its_own_hashes() {
    // With a poisoning pool, any hash slot the kernel failed to write would read 0xA5A5...
    let gpu = Gpu::with_options(0, GpuOptions { pool_poison: Some(0xA5) })
        .unwrap_or_else(|e| panic!("GPU test needs a CUDA device: {e}"));
    let big: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 100 + i]).collect();
    let big_refs: Vec<&[u8]> = big.iter().map(Vec::as_slice).collect();
    let h1 = gpu.xxh64_batch(&big_refs, 0).unwrap();
    assert_eq!(h1, reference::xxh64_batch(&big_refs, 0));
    // 900 hashes fall in the same size class as 1000, so the second batch reuses the first
    // batch's output buffer, whose last 100 slots still hold old hashes.
    let small: Vec<Vec<u8>> = (0..900).map(|i| vec![(i * 3) as u8; 100 + i]).collect();
    let small_refs: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
    let reuses = gpu.pool().stats().reuses;
    let h2 = gpu.xxh64_batch(&small_refs, 0).unwrap();
    assert!(gpu.pool().stats().reuses > reuses, "second batch reused the first batch's buffers");
    assert_eq!(h2.len(), 900);
    assert_eq!(h2, reference::xxh64_batch(&small_refs, 0));
}

#[test]
fn pool_statistics_track_use_cache_and_trim() {
    let gpu = common::gpu();
    let pool = gpu.new_pool(gpu.new_stream().unwrap(), None);
    let a = pool.alloc(3 << 20).unwrap();
    let b = pool.alloc(1 << 20).unwrap();
    let s = pool.stats();
    assert_eq!(s.in_use, a.capacity() + b.capacity());
    assert_eq!(s.fresh_allocations, 2);
    drop(a);
    drop(b);
    let s = pool.stats();
    assert_eq!((s.in_use, s.cached), (0, (3 << 20) + (1 << 20)));
    let (free_before, _) = gpu.context().mem_get_info().unwrap();
    pool.trim();
    gpu.context().synchronize().unwrap();
    assert_eq!(pool.stats().cached, 0);
    let (free_after, _) = gpu.context().mem_get_info().unwrap();
    eprintln!("free before trim {free_before}, after {free_after}");
    assert_eq!(pool.stats().peak, (3 << 20) + (1 << 20));
}

#[test]
fn pinned_pool_round_trips_through_the_device() {
    let gpu = common::gpu();
    let mut staging = gpu.pinned_pool().alloc(1 << 16).unwrap();
    let data: Vec<u8> = (0..1 << 16).map(|i| (i % 251) as u8).collect();
    staging.buf_mut().as_mut_slice().unwrap()[..data.len()].copy_from_slice(&data);
    let mut dev = gpu.pool().alloc(1 << 16).unwrap();
    gpu.stream().memcpy_htod(staging.buf(), dev.buf_mut()).unwrap();
    assert_eq!(&read_back(&gpu, &dev)[..data.len()], &data[..]);
}
