//! The batched XXH64 kernel against xxhash-rust and the reference build.

mod common;

use cuzstd::abi::cz_batch_item;
use cuzstd::reference;
use rand::{Rng, RngCore, SeedableRng};
use xxhash_rust::xxh64::xxh64;

#[test]
fn edge_lengths_match_xxhash_rust() {
    let gpu = common::gpu();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut data = vec![0u8; 1024];
    rng.fill_bytes(&mut data);
    let lens = [0usize, 1, 2, 3, 4, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 129, 131, 1000, 1024];
    let inputs: Vec<&[u8]> = lens.iter().map(|&l| &data[..l]).collect();
    for seed in [0u64, 1, u64::MAX] {
        let got = gpu.xxh64_batch(&inputs, seed).unwrap();
        for (input, h) in inputs.iter().zip(&got) {
            assert_eq!(*h, xxh64(input, seed), "len {} seed {seed}", input.len());
        }
    }
}

#[test]
fn ten_thousand_random_buffers_match_xxhash_rust_and_reference() {
    let gpu = common::gpu();
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let mut checked = 0usize;
    let mut bytes = 0usize;
    for round in 0..10 {
        let buffers: Vec<Vec<u8>> = (0..1000)
            .map(|_| {
                let len = rng.random_range(0..(1usize << 20));
                let mut b = vec![0u8; len];
                rng.fill_bytes(&mut b);
                b
            })
            .collect();
        let refs: Vec<&[u8]> = buffers.iter().map(Vec::as_slice).collect();
        let seed = round as u64 * 0x1234_5678_9abc;
        let got = gpu.xxh64_batch(&refs, seed).unwrap();
        let host = reference::xxh64_batch(&refs, seed);
        for (i, b) in refs.iter().enumerate() {
            assert_eq!(got[i], xxh64(b, seed), "round {round} buffer {i} ({} bytes)", b.len());
            assert_eq!(got[i], host[i]);
        }
        checked += refs.len();
        bytes += refs.iter().map(|b| b.len()).sum::<usize>();
    }
    eprintln!("{checked} buffers, {bytes} bytes checked");
    assert_eq!(checked, 10_000);
}

#[test]
fn unaligned_device_buffers_match_xxhash_rust() {
    let gpu = common::gpu();
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let mut data = vec![0u8; 1 << 16];
    rng.fill_bytes(&mut data);
    let stream = gpu.stream();
    let d_data = stream.clone_htod(&data).unwrap();
    let base = cuzstd::gpu::device_address(&d_data, stream);
    // Starts at every residue mod 16, lengths crossing the 32-byte stripe boundaries.
    let ranges: Vec<(usize, usize)> =
        (0..64).map(|i| (i * 997 % 16 + i * 1000, [0, 1, 31, 32, 33, 200, 999][i % 7])).collect();
    let items: Vec<cz_batch_item> = ranges
        .iter()
        .map(|&(o, l)| cz_batch_item { src: base + o as u64, src_size: l as u64, dst: 0, dst_capacity: 0 })
        .collect();
    let d_items = stream.clone_htod(&items).unwrap();
    let mut d_out = stream.alloc_zeros::<u64>(items.len()).unwrap();
    // SAFETY (test): every range lies inside d_data, alive until clone_dtoh synchronises.
    #[allow(unsafe_code)]
    unsafe {
        gpu.xxh64_batch_device(stream, &d_items.as_view(), 5, &mut d_out.as_view_mut()).unwrap();
    }
    let got = stream.clone_dtoh(&d_out).unwrap();
    for (i, &(o, l)) in ranges.iter().enumerate() {
        assert_eq!(got[i], xxh64(&data[o..o + l], 5), "offset {o} len {l}");
    }
}

#[test]
fn too_small_output_is_rejected_before_launch() {
    let gpu = common::gpu();
    let stream = gpu.stream();
    let items = vec![cz_batch_item::default(); 4];
    let d_items = stream.clone_htod(&items).unwrap();
    let mut d_out = stream.alloc_zeros::<u64>(3).unwrap();
    #[allow(unsafe_code)]
    let r = unsafe { gpu.xxh64_batch_device(stream, &d_items.as_view(), 0, &mut d_out.as_view_mut()) };
    assert!(matches!(r, Err(cuzstd::Error::InvalidArgument(_))), "{r:?}");
}
