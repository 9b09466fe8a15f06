//! The GPU decoder (`cz_decode_batch`) on the shared corpus and on libzstd-made frames: each
//! batch item must get libzstd 1.5.6's one-shot verdict (byte-exact output, or an error),
//! and a corrupt item must not disturb the other items of its batch.
//!
//! Needs an NVIDIA GPU; fails loudly without one. Run with
//! `cargo test --release --features gpu-tests --test gpu_decode`.

mod common;

use common::corpus::{capacity, libzstd, shared_corpus, unpack};

use std::path::{Path, PathBuf};

use cuzstd::decode::{self, DecodeOptions, Dictionary};
use cuzstd::gpu::decode::{workspace_slot_size, BatchDecompressor, DecodeKernel};

const KERNELS: [DecodeKernel; 5] = [
    DecodeKernel::Thread,
    DecodeKernel::Warp,
    DecodeKernel::Staged,
    DecodeKernel::StagedLanes,
    DecodeKernel::StagedSolo,
];
use cuzstd::gpu::Gpu;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

fn gpu() -> &'static Gpu {
    static GPU: std::sync::OnceLock<Gpu> = std::sync::OnceLock::new();
    GPU.get_or_init(|| Gpu::new(0).expect("the GPU decode tests need a CUDA device"))
}

fn options() -> DecodeOptions {
    DecodeOptions::default().unlimited_window()
}

/// Decodes `inputs` as one GPU batch and compares every item with libzstd; returns the
/// disagreements.
fn gpu_batch_disagreements(
    names: &[String],
    inputs: &[&[u8]],
    dict: Option<&[u8]>,
    kernel: DecodeKernel,
) -> Vec<String> {
    let caps: Vec<usize> = inputs.iter().map(|s| capacity(s)).collect();
    let mut dec = BatchDecompressor::new(gpu(), options()).with_kernel(kernel);
    if let Some(d) = dict {
        dec = dec.with_dictionary(&Dictionary::new(d.to_vec()).expect("dictionary loads")).unwrap();
    }
    let got = dec.decompress_with_capacities(inputs, &caps).expect("device failure");
    assert_eq!(got.len(), inputs.len());
    let mut bad = Vec::new();
    for (i, g) in got.iter().enumerate() {
        let want = libzstd(inputs[i], dict, caps[i]);
        match (&want, g) {
            (Ok(w), Ok(g)) if w == g => {}
            (Err(_), Err(_)) => {}
            (Ok(w), Ok(g)) => bad.push(format!("{}: output differs ({} vs {} bytes)", names[i], w.len(), g.len())),
            (Ok(w), Err(e)) => bad.push(format!("{}: libzstd decodes {} bytes, GPU fails: {e}", names[i], w.len())),
            (Err(e), Ok(g)) => bad.push(format!("{}: libzstd fails ({e}), GPU decodes {} bytes", names[i], g.len())),
        }
    }
    bad
}

fn files(dir: &Path, ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v.into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn check_set(set: &str, recs: &[(String, Vec<u8>)], dict: Option<&[u8]>) {
    assert!(!recs.is_empty(), "{set}: empty");
    let names: Vec<String> = recs.iter().map(|r| r.0.clone()).collect();
    let inputs: Vec<&[u8]> = recs.iter().map(|r| r.1.as_slice()).collect();
    for kernel in KERNELS {
        let bad = gpu_batch_disagreements(&names, &inputs, dict, kernel);
        assert!(
            bad.is_empty(),
            "{set}, {kernel:?} kernel: {} of {} items disagree with libzstd:\n{}",
            bad.len(),
            recs.len(),
            bad.join("\n")
        );
    }
}

#[test]
fn gpu_decodecorpus_without_dictionary_matches_libzstd() {
    let recs = files(&shared_corpus().join("decodecorpus/nodict/zst"), "zst");
    assert_eq!(recs.len(), 150);
    check_set("decodecorpus nodict", &recs, None);
}

#[test]
fn gpu_decodecorpus_with_dictionary_matches_libzstd() {
    let dir = shared_corpus().join("decodecorpus/dict/zst");
    let dict = std::fs::read(dir.join("dictionary")).unwrap();
    let recs = files(&dir, "zst");
    assert_eq!(recs.len(), 50);
    check_set("decodecorpus dict", &recs, Some(&dict));
}

#[test]
fn gpu_ruzstd_files_match_libzstd() {
    check_set("ruzstd", &files(&shared_corpus().join("ruzstd/decodecorpus_files"), "zst"), None);
}

#[test]
fn gpu_zstd_golden_and_klauspost_sets_match_libzstd() {
    let golden: Vec<_> =
        unpack("zstd-golden.pack.zst").into_iter().filter(|(n, _)| n.starts_with("golden-decompression")).collect();
    check_set("zstd golden", &golden, None);
    for pack in ["klauspost-good.pack.zst", "klauspost-regression.pack.zst", "klauspost-decode-regression.pack.zst"] {
        check_set(pack, &unpack(pack), None);
    }
    let dict_recs = unpack("klauspost-dict-tests-small.pack.zst");
    for d in ["d0", "d1", "d2", "d3"] {
        let dict = dict_recs.iter().find(|(n, _)| *n == format!("{d}.dict")).unwrap().1.clone();
        let frames: Vec<_> = dict_recs.iter().filter(|(n, _)| n.starts_with(&format!("{d}/"))).cloned().collect();
        check_set(d, &frames, Some(&dict));
    }
}

fn sample(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut v: Vec<u8> = Vec::with_capacity(len);
    while v.len() < len {
        if v.len() > 8 && rng.random_bool(0.6) {
            let off = rng.random_range(1..v.len().min(5000));
            let n = rng.random_range(3..200);
            let s = v.len() - off;
            for i in 0..n {
                let b = v[s + i];
                v.push(b);
            }
        } else {
            let n = rng.random_range(1..40);
            for _ in 0..n {
                v.push(rng.random_range(b'a'..=b'z'));
            }
        }
    }
    v.truncate(len);
    v
}

fn compress(data: &[u8], level: i32, checksum: bool) -> Vec<u8> {
    let mut cctx = zstd_safe::CCtx::create();
    cctx.set_parameter(zstd_safe::CParameter::CompressionLevel(level)).unwrap();
    cctx.set_parameter(zstd_safe::CParameter::ChecksumFlag(checksum)).unwrap();
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    cctx.compress2(&mut out, data).unwrap();
    out
}

#[test]
fn gpu_corrupt_items_do_not_disturb_the_rest_of_the_batch() {
    let datas: Vec<Vec<u8>> = (0..64).map(|i| sample(i, 1000 + 3000 * i as usize)).collect();
    let mut frames: Vec<Vec<u8>> =
        datas.iter().enumerate().map(|(i, d)| compress(d, (i % 20) as i32 - 1, true)).collect();
    // Every third item is corrupted: truncated, bit-flipped, garbage, or empty.
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    for (i, f) in frames.iter_mut().enumerate() {
        if i % 3 != 1 {
            continue;
        }
        match (i / 3) % 4 {
            0 => f.truncate(f.len() / 2),
            1 => {
                let at = rng.random_range(4..f.len());
                f[at] ^= 0x10;
            }
            2 => f.iter_mut().for_each(|b| *b = rng.random()),
            _ => f.truncate(3),
        }
    }
    let inputs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    // A small workspace budget makes each block (slot) decode several items in turn.
    let caps: Vec<usize> = datas.iter().map(|d| d.len()).collect();
    for kernel in KERNELS {
        let dec = BatchDecompressor::new(gpu(), options())
            .with_kernel(kernel)
            .with_workspace_budget(4 * workspace_slot_size() as usize);
        let got = dec.decompress_with_capacities(&inputs, &caps).unwrap();
        for (i, g) in got.iter().enumerate() {
            if i % 3 != 1 {
                assert!(
                    g.as_ref().is_ok_and(|o| *o == datas[i]),
                    "{kernel:?}: intact item {i}: {:?}",
                    g.as_ref().err()
                );
            } else {
                let want = libzstd(inputs[i], None, caps[i]);
                assert_eq!(want.is_ok(), g.is_ok(), "corrupt item {i}: libzstd {want:?}, GPU {:?}", g.as_ref().err());
                if let (Ok(w), Ok(g)) = (&want, g) {
                    assert!(w == g, "corrupt item {i}: outputs differ");
                }
            }
        }
    }
}

#[test]
fn gpu_matches_the_reference_build_status_for_status() {
    // Same code on both sides: the status (not only the verdict) must agree.
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut frames = Vec::new();
    for i in 0..200u64 {
        let mut f = compress(&sample(i, rng.random_range(0..50_000)), rng.random_range(-5..=19), i % 2 == 0);
        for _ in 0..rng.random_range(0..3) {
            let at = rng.random_range(0..f.len());
            f[at] ^= 1 << rng.random_range(0..8);
        }
        frames.push(f);
    }
    let inputs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let caps: Vec<usize> = inputs.iter().map(|s| capacity(s)).collect();
    for kernel in KERNELS {
        let got = BatchDecompressor::new(gpu(), options())
            .with_kernel(kernel)
            .decompress_with_capacities(&inputs, &caps)
            .unwrap();
        for (i, g) in got.iter().enumerate() {
            let mut out = vec![0u8; caps[i]];
            let r = decode::decompress_into(inputs[i], &mut out, None, &options());
            match (r, g) {
                (Ok(n), Ok(g)) => assert!(out[..n] == g[..], "item {i}: outputs differ"),
                (Err(e), Err(cuzstd::Error::Item { index, status })) => {
                    assert_eq!(*index, i);
                    assert_eq!(e.status, *status, "item {i}");
                }
                (r, g) => panic!("{kernel:?}: item {i}: reference {r:?}, GPU {:?}", g.as_ref().map(Vec::len)),
            }
        }
    }
}

#[test]
fn gpu_dictionary_is_reused_across_batches() {
    let samples: Vec<Vec<u8>> = (0..300).map(|i| sample(500 + i, 400)).collect();
    let flat = samples.concat();
    let sizes: Vec<usize> = samples.iter().map(Vec::len).collect();
    let mut dict_bytes = Vec::with_capacity(16 << 10);
    zstd_safe::train_from_buffer(&mut dict_bytes, &flat, &sizes).unwrap();
    let dict = Dictionary::new(dict_bytes.clone()).unwrap();
    for kernel in KERNELS {
        let dec = BatchDecompressor::new(gpu(), options()).with_kernel(kernel).with_dictionary(&dict).unwrap();
        for batch in 0..3u64 {
            let datas: Vec<Vec<u8>> = (0..20).map(|i| sample(batch * 100 + i, 2000)).collect();
            let frames: Vec<Vec<u8>> = datas
                .iter()
                .map(|d| {
                    let mut cctx = zstd_safe::CCtx::create();
                    let mut out = Vec::with_capacity(zstd_safe::compress_bound(d.len()));
                    cctx.compress_using_dict(&mut out, d, &dict_bytes, 5).unwrap();
                    out
                })
                .collect();
            let inputs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
            let got = dec.decompress(&inputs).unwrap();
            for (i, g) in got.into_iter().enumerate() {
                assert!(g.unwrap() == datas[i], "{kernel:?}: batch {batch} item {i}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn gpu_batches_of_libzstd_frames_decode_like_libzstd(
        seeds in proptest::collection::vec((any::<u64>(), 0usize..150_000, -7i32..=22, any::<bool>()), 1..12),
    ) {
        let datas: Vec<Vec<u8>> = seeds.iter().map(|&(s, len, _, _)| sample(s, len)).collect();
        let frames: Vec<Vec<u8>> =
            datas.iter().zip(&seeds).map(|(d, &(_, _, level, ck))| compress(d, level, ck)).collect();
        let inputs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        for kernel in KERNELS {
            let got = BatchDecompressor::new(gpu(), options()).with_kernel(kernel).decompress(&inputs).unwrap();
            for (i, g) in got.into_iter().enumerate() {
                prop_assert!(g.unwrap() == datas[i], "{:?}: item {} differs", kernel, i);
            }
        }
    }
}

/// Decodes `frames` through `Gpu::decompress_batch_device` on a stream of its own, one device
/// buffer per source and per destination (capacities `caps`), with a workspace of `slots`
/// slots; returns the results, the outputs and the workspace as the launch left it.
fn decode_device_resident(
    frames: &[Vec<u8>],
    caps: &[usize],
    kernel: DecodeKernel,
    slots: usize,
) -> (Vec<cuzstd::abi::cz_item_result>, Vec<Vec<u8>>, Vec<u8>) {
    use cuzstd::abi::{cz_batch_item, cz_item_result};
    use cuzstd::gpu::device_address;
    let gpu = gpu();
    let stream = gpu.new_stream().unwrap();
    let d_src: Vec<_> = frames.iter().map(|f| stream.clone_htod(f).unwrap()).collect();
    let d_dst: Vec<_> = caps.iter().map(|&c| stream.alloc_zeros::<u8>(c).unwrap()).collect();
    let mut ws = stream.alloc_zeros::<u8>(slots * workspace_slot_size() as usize).unwrap();
    let mut results = stream.alloc_zeros::<cz_item_result>(frames.len()).unwrap();
    let items: Vec<cz_batch_item> = (0..frames.len())
        .map(|i| cz_batch_item {
            src: device_address(&d_src[i], &stream),
            src_size: frames[i].len() as u64,
            dst: device_address(&d_dst[i], &stream),
            dst_capacity: caps[i] as u64,
        })
        .collect();
    let d_items = stream.clone_htod(&items).unwrap();
    // SAFETY: every descriptor names a live device allocation of exactly the given size;
    // destinations are distinct allocations; all of them outlive the synchronising copies.
    unsafe {
        gpu.decompress_batch_device(
            &stream,
            &d_items.as_view(),
            None,
            &options(),
            kernel,
            &mut ws.as_view_mut(),
            &mut results.as_view_mut(),
        )
        .unwrap()
    };
    let res = stream.clone_dtoh(&results).unwrap();
    let outs = d_dst.iter().map(|d| stream.clone_dtoh(d).unwrap()).collect();
    (res, outs, stream.clone_dtoh(&ws).unwrap())
}

#[test]
fn gpu_device_resident_batch_runs_on_the_callers_stream() {
    let datas: Vec<Vec<u8>> = (0..8).map(|i| sample(700 + i, 10_000 * (i as usize + 1))).collect();
    let frames: Vec<Vec<u8>> = datas.iter().map(|d| compress(d, 7, true)).collect();
    let caps: Vec<usize> = datas.iter().map(Vec::len).collect();
    for kernel in KERNELS {
        // Fewer slots than items (the staged kernel then runs as the warp kernel).
        let (res, outs, _) = decode_device_resident(&frames, &caps, kernel, 3);
        for (i, r) in res.iter().enumerate() {
            assert_eq!(r.status, cuzstd::abi::CZ_STATUS_OK, "{kernel:?}: item {i}");
            assert_eq!(r.size as usize, datas[i].len());
            assert!(outs[i] == datas[i], "{kernel:?}: item {i}");
        }
    }
}

#[test]
fn gpu_staged_passes_decode_plain_frames_without_the_fallback() {
    use cuzstd::gpu::decode::staged_slot_decoded;
    // Plain frames (one frame, content size, no dictionary) at several levels, with and
    // without checksums, and one of two frames that must take the fallback.
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut datas: Vec<Vec<u8>> = Vec::new();
    for (i, level) in [1, 3, 7, 19, -5, 3, 12, 22].into_iter().enumerate() {
        let d = sample(900 + i as u64, 8_000 * (i + 1));
        frames.push(compress(&d, level, i % 2 == 0));
        datas.push(d);
    }
    let two = [frames[0].clone(), frames[1].clone()].concat();
    datas.push([datas[0].clone(), datas[1].clone()].concat());
    frames.push(two);
    let n = frames.len();
    let stride = workspace_slot_size() as usize;
    let caps: Vec<usize> = datas.iter().map(Vec::len).collect();
    for kernel in [DecodeKernel::StagedLanes, DecodeKernel::StagedSolo] {
        let (res, outs, slots) = decode_device_resident(&frames, &caps, kernel, n);
        for i in 0..n {
            assert_eq!(res[i].status, cuzstd::abi::CZ_STATUS_OK, "{kernel:?}: item {i}");
            assert!(outs[i] == datas[i], "{kernel:?}: item {i}: output differs");
            let by_passes = staged_slot_decoded(&slots[i * stride..(i + 1) * stride]);
            assert_eq!(by_passes, i + 1 < n, "{kernel:?}: item {i}: decoded by the staged passes: {by_passes}");
        }
    }
}

#[test]
fn gpu_single_large_frame_decodes_like_libzstd() {
    // One 8 MiB frame from libzstd -19 (the zstd CLI's habit for big files): the warp kernel
    // decodes it in one warp, so it is slow; correctness is the point, the time is printed.
    let data = sample(4242, 8 << 20);
    let mut cctx = zstd_safe::CCtx::create();
    cctx.set_parameter(zstd_safe::CParameter::CompressionLevel(19)).unwrap();
    cctx.set_parameter(zstd_safe::CParameter::ChecksumFlag(true)).unwrap();
    let mut frame = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    cctx.compress2(&mut frame, &data).unwrap();
    assert_eq!(cuzstd::format::frames(&frame).unwrap().len(), 1, "one frame");
    let t = std::time::Instant::now();
    let mut out = Vec::with_capacity(data.len());
    zstd_safe::DCtx::create().decompress(&mut out, &frame).unwrap();
    let cpu = t.elapsed();
    assert!(out == data);
    let kernel = DecodeKernel::Warp;
    let dec = BatchDecompressor::new(gpu(), options()).with_kernel(kernel);
    let t = std::time::Instant::now();
    let got = dec.decompress(&[&frame]).unwrap().pop().unwrap().expect("decodes");
    let gpu_time = t.elapsed();
    assert!(got == data, "{kernel:?}: output differs");
    eprintln!(
        "single {} MiB frame (libzstd -19, ratio {:.2}): GPU {kernel:?} {:.3} s host-to-host, libzstd one core {:.3} s",
        data.len() >> 20,
        data.len() as f64 / frame.len() as f64,
        gpu_time.as_secs_f64(),
        cpu.as_secs_f64()
    );
}
