//! The reference build's XXH64 against xxhash-rust.

use cuzstd::reference;
use proptest::prelude::*;
use rand::{Rng, RngCore, SeedableRng};
use xxhash_rust::xxh64::xxh64;

#[test]
fn edge_lengths_match_xxhash_rust() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut data = vec![0u8; 300];
    rng.fill_bytes(&mut data);
    let lens = [0usize, 1, 3, 4, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 300];
    let inputs: Vec<&[u8]> = lens.iter().map(|&l| &data[..l]).collect();
    for seed in [0u64, 1, 0x9E37_79B9_7F4A_7C15, u64::MAX] {
        let got = reference::xxh64_batch(&inputs, seed);
        for (i, input) in inputs.iter().enumerate() {
            assert_eq!(got[i], xxh64(input, seed), "len {} seed {seed:#x}", input.len());
        }
    }
}

#[test]
fn unaligned_starts_match_xxhash_rust() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut data = vec![0u8; 4096 + 8];
    rng.fill_bytes(&mut data);
    let inputs: Vec<&[u8]> = (0..8).map(|o| &data[o..o + 4096 - o * 3]).collect();
    let got = reference::xxh64_batch(&inputs, 7);
    for (i, input) in inputs.iter().enumerate() {
        assert_eq!(got[i], xxh64(input, 7));
    }
}

#[test]
fn many_random_buffers_match_xxhash_rust() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let buffers: Vec<Vec<u8>> = (0..2000)
        .map(|_| {
            let len = if rng.random_bool(0.1) { rng.random_range(0..1 << 20) } else { rng.random_range(0..4096) };
            let mut b = vec![0u8; len];
            rng.fill_bytes(&mut b);
            b
        })
        .collect();
    let inputs: Vec<&[u8]> = buffers.iter().map(Vec::as_slice).collect();
    let got = reference::xxh64_batch(&inputs, 0);
    for (i, input) in inputs.iter().enumerate() {
        assert_eq!(got[i], xxh64(input, 0), "buffer {i} of {} bytes", input.len());
    }
}

proptest! {
    #[test]
    fn streaming_state_matches_one_shot(
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        mut cuts in proptest::collection::vec(0u64..2000, 0..8),
        seed in any::<u64>(),
    ) {
        cuts.sort_unstable();
        prop_assert_eq!(reference::xxh64_streaming(&data, &cuts, seed), xxh64(&data, seed));
    }
}
