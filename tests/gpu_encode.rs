//! GPU compression (`cz_encode_batch_warp`): every frame decodes with libzstd, and is
//! byte-identical to the reference build's frame for the same input and options.
//! Needs an NVIDIA GPU; fails loudly without one.

use cuzstd::encode::{self, EncodeOptions, LEVEL_DEFAULT, LEVEL_FAST, LEVEL_HIGH, LEVEL_MAX, LEVEL_MIN};
use cuzstd::gpu::encode::BatchCompressor;
use cuzstd::gpu::Gpu;
mod common;

fn gpu() -> Gpu {
    common::gpu()
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn shared_file(rel: &str) -> Vec<u8> {
    let p = common::shared().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Compresses `chunks` on the GPU and with the reference build; checks identity, the
/// bound and libzstd decoding. Returns the total compressed size.
fn check(gpu: &Gpu, chunks: &[&[u8]], options: EncodeOptions, budget: Option<usize>) -> usize {
    let mut c = BatchCompressor::new(gpu, options);
    if let Some(b) = budget {
        c = c.with_workspace_budget(b);
    }
    let ours = c.compress(chunks).expect("the launch succeeds");
    let reference = encode::compress_batch(chunks, &options);
    assert_eq!(ours.len(), chunks.len());
    let mut total = 0;
    for (i, ((g, r), data)) in ours.iter().zip(&reference).zip(chunks).enumerate() {
        let g = g.as_ref().unwrap_or_else(|e| panic!("chunk {i}: GPU status {e}"));
        let r = r.as_ref().unwrap();
        assert!(
            g == r,
            "chunk {i} ({} bytes, level {}): GPU frame differs from the reference build's",
            data.len(),
            options.level
        );
        assert!(g.len() <= encode::compress_bound(data.len()));
        let mut out = vec![0u8; data.len().max(1)];
        let n = zstd_safe::decompress(&mut out[..], g)
            .unwrap_or_else(|c| panic!("chunk {i}: libzstd rejects the GPU frame: {}", zstd_safe::get_error_name(c)));
        assert!(&out[..n] == *data, "chunk {i}: libzstd output differs");
        total += g.len();
    }
    total
}

#[test]
fn edge_cases_every_level_match_reference() {
    let gpu = gpu();
    let words: Vec<u8> = (0..300_000u32)
        .map(|i| b"the quick brown fox jumps over the lazy dog "[(i as usize * 7 + (i as usize / 97)) % 44])
        .collect();
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![1],
        vec![9; 100_000],
        noise(70_000, 3),
        words[..65_536].to_vec(),
        words[..100_001].to_vec(),
        words.clone(),
        (0..=255u8).cycle().take(50_000).collect(),
    ];
    let chunks: Vec<&[u8]> = cases.iter().map(|c| c.as_slice()).collect();
    for level in LEVEL_MIN..=LEVEL_MAX {
        check(&gpu, &chunks, EncodeOptions::level(level), None);
    }
    check(&gpu, &chunks, EncodeOptions { level: LEVEL_DEFAULT, checksum: false }, None);
}

#[test]
fn bench_files_64k_chunks_match_reference() {
    let gpu = gpu();
    for f in [
        "bench-data/silesia/xml",
        "bench-data/mapsdatazrh",
        "bench-data/Mark.Twain-Tom.Sawyer.txt",
        "bench-data/random_org_10k.bin",
    ] {
        let data = shared_file(f);
        let chunks: Vec<&[u8]> = data.chunks(65_536).collect();
        for level in [LEVEL_FAST, LEVEL_DEFAULT, LEVEL_HIGH] {
            let total = check(&gpu, &chunks, EncodeOptions::level(level), None);
            println!("{f}: level {level}: {} -> {total} (ratio {:.3})", data.len(), data.len() as f64 / total as f64);
        }
    }
}

#[test]
fn fewer_workspace_slots_than_chunks() {
    // One slot: every chunk goes through the same workspace, one after another.
    let gpu = gpu();
    let data = shared_file("bench-data/html.txt");
    let chunks: Vec<&[u8]> = data.chunks(5_000).collect();
    let one_slot = encode::workspace_size(5_000, LEVEL_HIGH);
    check(&gpu, &chunks, EncodeOptions::level(LEVEL_HIGH), Some(one_slot));
    check(&gpu, &chunks, EncodeOptions::level(LEVEL_HIGH), Some(3 * one_slot + 7));
}

#[test]
fn sixteen_mib_chunk_matches_reference() {
    let gpu = gpu();
    let mut big = shared_file("bench-data/bb.binast");
    big.extend_from_slice(&shared_file("bench-data/silesia/xml"));
    assert!(big.len() >= 16 << 20);
    big.truncate(16 << 20);
    let chunk = big.as_slice();
    check(&gpu, &[chunk], EncodeOptions::level(LEVEL_FAST), None);
}

/// Kernel throughput on device-resident data (no copies timed): silesia/xml tiled to
/// 256 MiB, 64 KiB chunks, levels 1, 3 and 9. Prints GB/s of input; asserts only that every
/// chunk compressed and that a sample of frames matches the reference build.
#[test]
fn device_throughput_report() {
    use cuzstd::abi::{cz_batch_item, cz_item_result};
    use cuzstd::gpu::encode::workspace_slot_size;
    use cuzstd::gpu::{device_address, elapsed_ms};

    let gpu = gpu();
    let stream = gpu.stream().clone();
    let xml = shared_file("bench-data/silesia/xml");
    const CHUNK: usize = 65_536;
    let total = 256usize << 20;
    let data: Vec<u8> = xml.iter().copied().cycle().take(total).collect();
    let n = total / CHUNK;
    let bound = encode::compress_bound(CHUNK).next_multiple_of(256);
    let d_src = stream.clone_htod(&data).expect("copying the input");
    let d_dst = stream.alloc_zeros::<u8>(n * bound).expect("allocating the output");
    let src_base = device_address(&d_src, &stream);
    let dst_base = device_address(&d_dst, &stream);
    let items: Vec<cz_batch_item> = (0..n)
        .map(|i| cz_batch_item {
            src: src_base + (i * CHUNK) as u64,
            src_size: CHUNK as u64,
            dst: dst_base + (i * bound) as u64,
            dst_capacity: bound as u64,
        })
        .collect();
    let d_items = stream.clone_htod(&items).expect("copying descriptors");
    let mut d_results = stream.alloc_zeros::<cz_item_result>(n).expect("allocating results");
    for level in [LEVEL_FAST, LEVEL_DEFAULT, LEVEL_HIGH] {
        let options = EncodeOptions::level(level);
        let stride = workspace_slot_size(CHUNK as u64, level) as usize;
        let slots = n.min((gpu.props().total_memory / 4) / stride);
        let mut d_ws = stream.alloc_zeros::<u8>(stride * slots).expect("allocating the workspace");
        let run = |ws: &mut cudarc::driver::CudaSlice<u8>, res: &mut cudarc::driver::CudaSlice<cz_item_result>| {
            let start = gpu.timing_event(&stream).unwrap();
            // SAFETY: every item's source lies in d_src and its destination (compress_bound
            // bytes) in d_dst, disjoint; all buffers outlive the synchronisation below.
            unsafe {
                gpu.compress_batch_device(
                    &stream,
                    &d_items.as_view(),
                    CHUNK as u64,
                    &options,
                    &mut ws.as_view_mut(),
                    &mut res.as_view_mut(),
                )
                .expect("launch")
            };
            let end = gpu.timing_event(&stream).unwrap();
            stream.synchronize().unwrap();
            elapsed_ms(&start, &end).unwrap()
        };
        run(&mut d_ws, &mut d_results); // warm-up (module load)
        let ms = run(&mut d_ws, &mut d_results);
        let results = stream.clone_dtoh(&d_results).unwrap();
        let out = stream.clone_dtoh(&d_dst).unwrap();
        let mut compressed = 0u64;
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.status, 0, "chunk {i}: status {}", r.status);
            compressed += r.size;
        }
        for i in [0, n / 2, n - 1] {
            let frame = &out[i * bound..i * bound + results[i].size as usize];
            let want = encode::compress_with(&data[i * CHUNK..(i + 1) * CHUNK], &options).unwrap();
            assert!(frame == want.as_slice(), "chunk {i}: GPU frame differs from the reference build's");
        }
        println!(
            "level {level}: {} chunks of 64 KiB, {slots} workspace slots: {ms:.2} ms, {:.2} GB/s, ratio {:.3}",
            n,
            total as f64 / (ms as f64 * 1e6),
            total as f64 / compressed as f64
        );
    }
}
