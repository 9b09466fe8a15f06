//! The GPU fuzz campaign: mutated frames (bit flips, byte overwrites, truncations, splices,
//! inserted and deleted ranges) decoded in batches by every GPU kernel, each item compared
//! status for status and byte for byte with the reference build (the same decoder compiled
//! for the host), which the CPU tests check against libzstd.
//!
//! The number of frames is `CUZSTD_FUZZ_FRAMES` (default 100,000), the seed
//! `CUZSTD_FUZZ_SEED` (default 1), the kernels `CUZSTD_FUZZ_KERNELS` (`staged,warp,thread`,
//! the default, or a subset). Run it under compute-sanitizer for the memory-safety
//! campaign (the bundle's `run.sh --sanitize memcheck --only gpu_fuzz`).
//!
//! Needs an NVIDIA GPU; fails loudly without one.

use std::collections::BTreeMap;

use cuzstd::decode::{self, DecodeOptions, Dictionary};
use cuzstd::gpu::decode::{BatchDecompressor, DecodeKernel};
use cuzstd::gpu::Gpu;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

const BATCH: usize = 8192;
const MAX_OUTPUT: usize = 256 << 10;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// Data of one of several shapes: text-like with repeats, random, short-period runs, or a
/// mix of them.
fn sample(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let kind = rng.random_range(0..4);
    let mut v: Vec<u8> = Vec::with_capacity(len);
    while v.len() < len {
        let k = if kind == 3 { rng.random_range(0..3) } else { kind };
        match k {
            0 if v.len() > 8 && rng.random_bool(0.6) => {
                let off = rng.random_range(1..v.len().min(3000));
                let n = rng.random_range(3..120);
                let s = v.len() - off;
                for i in 0..n {
                    v.push(v[s + i]);
                }
            }
            0 => {
                for _ in 0..rng.random_range(1..30) {
                    v.push(rng.random_range(b'a'..=b'z'));
                }
            }
            1 => {
                for _ in 0..rng.random_range(1..200) {
                    v.push(rng.random());
                }
            }
            _ => {
                let period = rng.random_range(1..9);
                let pat: Vec<u8> = (0..period).map(|_| rng.random()).collect();
                for i in 0..rng.random_range(8..500) {
                    v.push(pat[i % period]);
                }
            }
        }
    }
    v.truncate(len);
    v
}

fn libzstd_frame(data: &[u8], level: i32, checksum: bool, dict: Option<&[u8]>) -> Vec<u8> {
    let mut cctx = zstd_safe::CCtx::create();
    cctx.set_parameter(zstd_safe::CParameter::CompressionLevel(level)).unwrap();
    cctx.set_parameter(zstd_safe::CParameter::ChecksumFlag(checksum)).unwrap();
    if let Some(d) = dict {
        cctx.load_dictionary(d).unwrap();
    }
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    cctx.compress2(&mut out, data).unwrap();
    out
}

/// A valid frame: libzstd at levels -7..=19 or cuzstd's encoder at 1..=12 (dictionary
/// frames from libzstd only), sometimes two frames concatenated or a skippable frame first.
fn seed_frame(rng: &mut StdRng, dict: Option<&[u8]>) -> Vec<u8> {
    let len = match rng.random_range(0..10) {
        0 => rng.random_range(0..64),
        1..=6 => rng.random_range(64..8192),
        _ => rng.random_range(8192..40_000),
    };
    let data = sample(rng, len);
    let mut f = if dict.is_some() || rng.random_bool(0.6) {
        libzstd_frame(&data, rng.random_range(-7..=19), rng.random_bool(0.5), dict)
    } else {
        let level = rng.random_range(cuzstd::encode::LEVEL_MIN..=cuzstd::encode::LEVEL_MAX);
        cuzstd::encode::compress(&data, level).expect("cuzstd's encoder")
    };
    match rng.random_range(0..20) {
        0 => {
            let n = rng.random_range(0..2000);
            let more = sample(rng, n);
            f.extend(libzstd_frame(&more, 3, true, dict));
        }
        1 => {
            let n = rng.random_range(0..16u32);
            let mut s = (0x184D2A50u32 + rng.random_range(0..16)).to_le_bytes().to_vec();
            s.extend(n.to_le_bytes());
            s.extend((0..n).map(|_| rng.random::<u8>()));
            s.extend(f);
            f = s;
        }
        _ => {}
    }
    f
}

/// One mutation of `f` (`other` is a second frame for splices). Returns its name.
fn mutate(rng: &mut StdRng, f: &mut Vec<u8>, other: &[u8]) -> &'static str {
    if f.is_empty() {
        f.extend_from_slice(other);
        return "copy";
    }
    match rng.random_range(0..8) {
        0 => "none",
        1 => {
            for _ in 0..rng.random_range(1..=4) {
                let at = rng.random_range(0..f.len());
                f[at] ^= 1 << rng.random_range(0..8);
            }
            "bit flips"
        }
        2 => {
            for _ in 0..rng.random_range(1..=8) {
                let at = rng.random_range(0..f.len());
                f[at] = rng.random();
            }
            "byte overwrites"
        }
        3 => {
            f.truncate(rng.random_range(0..f.len()));
            "truncation"
        }
        4 => {
            let cut = rng.random_range(0..=f.len());
            let from = rng.random_range(0..=other.len());
            f.truncate(cut);
            f.extend_from_slice(&other[from..]);
            "splice"
        }
        5 => {
            let at = rng.random_range(0..f.len());
            let n = rng.random_range(1..=64).min(f.len() - at);
            for b in &mut f[at..at + n] {
                *b = rng.random();
            }
            "range overwrite"
        }
        6 => {
            let at = rng.random_range(0..f.len());
            let n = rng.random_range(1..=32).min(f.len() - at);
            let piece = f[at..at + n].to_vec();
            let to = rng.random_range(0..=f.len());
            f.splice(to..to, piece);
            "range duplicated"
        }
        _ => {
            let at = rng.random_range(0..f.len());
            let n = rng.random_range(1..=32).min(f.len() - at);
            f.drain(at..at + n);
            "range deleted"
        }
    }
}

/// The same capacity for both decoders: what the headers promise, else a fixed bound.
fn capacity(src: &[u8]) -> usize {
    match decode::frames_info(src) {
        Ok(info) => (info.content_size.unwrap_or(info.bound) as usize).min(MAX_OUTPUT),
        Err(_) => 4096,
    }
}

#[test]
fn gpu_mutated_frames_match_the_reference_build() {
    let frames_total = env_u64("CUZSTD_FUZZ_FRAMES", 100_000) as usize;
    let kernels: Vec<DecodeKernel> = std::env::var("CUZSTD_FUZZ_KERNELS")
        .unwrap_or_else(|_| "staged,staged-solo,warp,thread".into())
        .split(',')
        .map(|k| match k.trim() {
            "warp" => DecodeKernel::Warp,
            "thread" => DecodeKernel::Thread,
            "staged" => DecodeKernel::Staged,
            "staged-solo" => DecodeKernel::StagedSolo,
            "staged-lanes" => DecodeKernel::StagedLanes,
            other => {
                panic!(
                    "CUZSTD_FUZZ_KERNELS: unknown kernel {other:?} (staged, staged-solo, staged-lanes, warp, thread)"
                )
            }
        })
        .collect();
    let seed = env_u64("CUZSTD_FUZZ_SEED", 1);
    let gpu = Gpu::new(0).expect("the GPU fuzz campaign needs a CUDA device");
    let options = DecodeOptions::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let dict_bytes = sample(&mut rng, 16 << 10);
    let dict = Dictionary::new(dict_bytes.clone()).expect("raw-content dictionary");

    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_mutation: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut decoded_ok = 0usize;
    let mut done = 0usize;
    let mut batch_no = 0u64;
    while done < frames_total {
        let n = BATCH.min(frames_total - done);
        // Every fourth batch is made and decoded with the dictionary.
        let with_dict = batch_no % 4 == 3;
        let d = with_dict.then_some(dict_bytes.as_slice());
        let seeds: Vec<u64> = (0..n).map(|_| rng.random()).collect();
        let made: Vec<(Vec<u8>, &'static str)> = seeds
            .par_iter()
            .map(|&s| {
                let mut r = StdRng::seed_from_u64(s);
                let mut f = seed_frame(&mut r, d);
                let other = seed_frame(&mut r, d);
                let m = mutate(&mut r, &mut f, &other);
                (f, m)
            })
            .collect();
        let inputs: Vec<&[u8]> = made.iter().map(|(f, _)| f.as_slice()).collect();
        let caps: Vec<usize> = inputs.iter().map(|s| capacity(s)).collect();
        let want: Vec<Result<Vec<u8>, u32>> = inputs
            .par_iter()
            .zip(&caps)
            .map(|(src, &cap)| {
                let mut out = vec![0u8; cap];
                match decode::decompress_into(src, &mut out, with_dict.then_some(&dict), &options) {
                    Ok(k) => {
                        out.truncate(k);
                        Ok(out)
                    }
                    Err(e) => Err(e.status.0),
                }
            })
            .collect();
        for &kernel in &kernels {
            let mut dec = BatchDecompressor::new(&gpu, options).with_kernel(kernel);
            if with_dict {
                dec = dec.with_dictionary(&dict).unwrap();
            }
            let got = dec.decompress_with_capacities(&inputs, &caps).expect("device failure");
            assert_eq!(got.len(), n);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                let what =
                    || format!("{kernel:?}, batch {batch_no}, item {i} ({}, {} bytes)", made[i].1, inputs[i].len());
                match (g, w) {
                    (Ok(g), Ok(w)) => assert!(g == w, "{}: outputs differ", what()),
                    (Err(cuzstd::Error::Item { index, status }), Err(s)) => {
                        assert_eq!(*index, i, "{}", what());
                        assert_eq!(status.0, *s, "{}: status differs", what());
                    }
                    (g, w) => panic!(
                        "{}: GPU {:?}, reference {:?}",
                        what(),
                        g.as_ref().map(Vec::len),
                        w.as_ref().map(Vec::len)
                    ),
                }
            }
        }
        for (w, (_, m)) in want.iter().zip(&made) {
            *by_mutation.entry(m).or_default() += 1;
            match w {
                Ok(_) => decoded_ok += 1,
                Err(s) => *by_status.entry(cuzstd::Status(*s).to_string()).or_default() += 1,
            }
        }
        done += n;
        batch_no += 1;
    }
    eprintln!(
        "fuzz: {done} frames in {batch_no} batches (seed {seed}), kernels {kernels:?} agree with the reference build"
    );
    eprintln!("fuzz: {decoded_ok} decoded, {} rejected", done - decoded_ok);
    eprintln!("fuzz: mutations {by_mutation:?}");
    eprintln!("fuzz: statuses {by_status:?}");
    assert_eq!(done, frames_total);
    // A campaign in which nearly nothing decodes or nearly nothing fails tests too little.
    assert!(decoded_ok > done / 20 && decoded_ok < done * 19 / 20, "{decoded_ok} of {done} decoded");
}
