//! The bulk API on the CUDA backend: the same file layout and interop as the CPU and
//! reference backends, frames identical to the reference build's.

mod common;

use cuzstd::bulk::{Backend, CompressOptions, Compressor, DecompressOptions, Decompressor};
use cuzstd::format::seekable::SeekTable;
use cuzstd::Error;

fn sample(len: usize) -> Vec<u8> {
    let text = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ";
    (0..len).map(|i| text[(i * 7 + i / 97) % text.len()] ^ ((i / 4099) as u8 & 1)).collect()
}

fn with(backend: Backend, level: i32, chunk_size: usize) -> Compressor {
    Compressor::new(CompressOptions { level, chunk_size, backend, ..Default::default() }).unwrap()
}

fn decompressor(backend: Backend) -> Decompressor {
    Decompressor::new(DecompressOptions { backend, ..Default::default() }).unwrap()
}

#[test]
fn cuda_files_equal_reference_files_and_libzstd_reads_them() {
    let _gpu = common::gpu();
    let data = sample(3_000_017);
    for level in [1, 3, 9] {
        let c = with(Backend::Cuda, level, 65_536).compress(&data).unwrap();
        assert_eq!(c, with(Backend::Reference, level, 65_536).compress(&data).unwrap(), "level {level}");
        let mut out = Vec::with_capacity(data.len());
        zstd_safe::decompress(&mut out, &c).unwrap();
        assert_eq!(out, data);
        assert!(SeekTable::from_stream_end(&c).unwrap().is_some());
        assert_eq!(decompressor(Backend::Cuda).decompress(&c).unwrap(), data);
    }
}

#[test]
fn cuda_decodes_libzstd_files() {
    let _gpu = common::gpu();
    let data = sample(2_000_000);
    let cpu = with(Backend::Cpu, 19, 131_072).compress(&data).unwrap();
    assert_eq!(decompressor(Backend::Cuda).decompress(&cpu).unwrap(), data);
    let mut one = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    zstd_safe::compress(&mut one, &data, 3).unwrap();
    assert_eq!(decompressor(Backend::Cuda).decompress(&one).unwrap(), data);
}

#[test]
fn cuda_reports_the_corrupt_frame_and_auto_picks_cuda() {
    let _gpu = common::gpu();
    assert_eq!(Backend::Auto.resolve().unwrap(), Backend::Cuda);
    let data = sample(500_000);
    let mut c = with(Backend::Cuda, 3, 65_536).compress(&data).unwrap();
    let (table, _) = SeekTable::from_stream_end(&c).unwrap().unwrap();
    let at = table.entries[0].compressed_size as usize + table.entries[1].compressed_size as usize / 2;
    c[at] ^= 0xFF;
    match decompressor(Backend::Cuda).decompress(&c) {
        Err(Error::Item { index, .. }) => assert_eq!(index, 1),
        Err(Error::Format(e)) => assert_eq!(e.frame, 1),
        other => panic!("corruption not reported: {:?}", other.map(|v| v.len())),
    }
}

// ---- The overlapped pipeline (src/gpu/pipeline.rs) through the bulk API ----

use cuzstd::bulk::{Devices, PipelineOptions};

/// A compressor on the CUDA backend with a small pipeline: `group_bytes` per group (inputs
/// plus output room), `in_flight` groups per GPU.
fn piped(level: i32, chunk_size: usize, group_bytes: usize, in_flight: usize) -> Compressor {
    Compressor::new(CompressOptions {
        level,
        chunk_size,
        backend: Backend::Cuda,
        pipeline: PipelineOptions { group_bytes, in_flight },
        ..Default::default()
    })
    .unwrap()
}

fn piped_decompressor(group_bytes: usize, in_flight: usize, dictionary: Option<Vec<u8>>) -> Decompressor {
    Decompressor::new(DecompressOptions {
        backend: Backend::Cuda,
        pipeline: PipelineOptions { group_bytes, in_flight },
        dictionary,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn pipeline_with_more_groups_than_slots_and_odd_group_size_equals_reference() {
    let _gpu = common::gpu();
    let data = sample(3_000_017);
    let chunk = 65_536;
    let want = with(Backend::Reference, 3, chunk).compress(&data).unwrap();
    // 300_001 bytes per group is not a multiple of the chunk size (each chunk weighs about
    // 2 * 64 KiB: input plus compress_bound), so groups hold 2 chunks: 23 groups for 46
    // chunks, through 1, 2 and 3 slots.
    for in_flight in [1, 2, 3] {
        let got = piped(3, chunk, 300_001, in_flight).compress(&data).unwrap();
        assert_eq!(got, want, "in_flight {in_flight}");
        for (g, f) in [(300_001, 2), (1 << 20, 3), (10, 1)] {
            assert_eq!(piped_decompressor(g, f, None).decompress(&got).unwrap(), data, "group {g}, in_flight {f}");
        }
    }
    // A group smaller than one chunk: every chunk is a group of its own.
    assert_eq!(piped(3, chunk, 1000, 2).compress(&data).unwrap(), want);
}

#[test]
fn pipeline_stats_show_groups_beyond_the_slots_and_bounded_staging() {
    let gpu = common::gpu();
    let data = sample(5_000_000);
    let chunks: Vec<&[u8]> = data.chunks(100_000).collect();
    let opts = cuzstd::encode::EncodeOptions { level: 1, checksum: true };
    let pipe = PipelineOptions { group_bytes: 450_000, in_flight: 2 };
    let (frames, stats) = cuzstd::gpu::encode::compress_pipelined(&[&gpu], &opts, &chunks, &pipe).unwrap();
    eprintln!("{stats:?}");
    assert_eq!(stats.groups, 25, "50 chunks of ~200 KB weight in groups of 450 KB");
    assert_eq!(stats.groups_per_device, vec![25]);
    assert_eq!(stats.slots_per_device, vec![2]);
    // One group stages two chunks, two compress_bound slots, descriptors, results, alignment.
    assert!(stats.max_group_staged_bytes <= 450_000 + 4096, "staged {} bytes", stats.max_group_staged_bytes);
    let reference = cuzstd::encode::compress_batch(&chunks, &opts);
    for (i, (f, r)) in frames.iter().zip(&reference).enumerate() {
        assert_eq!(f.as_ref().unwrap(), r.as_ref().unwrap(), "frame {i}");
    }
}

#[test]
fn pipeline_names_the_corrupt_frame_of_a_later_group() {
    let _gpu = common::gpu();
    let data = sample(2_000_000);
    let mut c = piped(1, 32_768, 100_000, 2).compress(&data).unwrap();
    let (table, _) = SeekTable::from_stream_end(&c).unwrap().unwrap();
    let bad = 41;
    let at: usize = table.entries[..bad].iter().map(|e| e.compressed_size as usize).sum::<usize>()
        + table.entries[bad].compressed_size as usize / 2;
    // Flip a byte inside frame 41's compressed blocks (checksums make any change detectable).
    c[at] ^= 0x5A;
    match piped_decompressor(100_000, 2, None).decompress(&c) {
        Err(Error::Item { index, .. }) => assert_eq!(index, bad),
        Err(Error::Format(e)) => assert_eq!(e.frame, bad),
        other => panic!("corruption of frame {bad} not reported: {:?}", other.map(|v| v.len())),
    }
}

#[test]
fn pipeline_reports_truncated_streams() {
    let _gpu = common::gpu();
    let data = sample(700_000);
    let c = piped(3, 65_536, 200_000, 2).compress(&data).unwrap();
    let (table, _) = SeekTable::from_stream_end(&c).unwrap().unwrap();
    let frames_end: usize = table.entries.iter().map(|e| e.compressed_size as usize).sum();
    // Cut inside the last frame: the stream no longer parses, and the error names that frame.
    let cut = &c[..frames_end - 5];
    match piped_decompressor(200_000, 2, None).decompress(cut) {
        Err(Error::Format(e)) => assert_eq!(e.frame, table.entries.len() - 1, "{e}"),
        Err(Error::Item { index, .. }) => assert_eq!(index, table.entries.len() - 1),
        other => panic!("truncation not reported: {:?}", other.map(|v| v.len())),
    }
}

#[test]
fn pipeline_decodes_libzstd_dictionary_frames() {
    let _gpu = common::gpu();
    let data = sample(1_500_000);
    let dict: Vec<u8> = sample(40_000).into_iter().rev().collect();
    let cpu = Compressor::new(CompressOptions {
        level: 5,
        chunk_size: 50_000,
        backend: Backend::Cpu,
        dictionary: Some(dict.clone()),
        ..Default::default()
    })
    .unwrap()
    .compress(&data)
    .unwrap();
    assert_eq!(piped_decompressor(120_000, 3, Some(dict)).decompress(&cpu).unwrap(), data);
    // Without the dictionary every frame fails, and the error names the first.
    match piped_decompressor(120_000, 3, None).decompress(&cpu) {
        Err(Error::Item { index, .. }) => assert_eq!(index, 0),
        other => panic!("missing dictionary not reported: {:?}", other.map(|v| v.len())),
    }
}

#[test]
fn pipeline_streams_through_encoder_and_decoder() {
    use std::io::{Read, Write};
    let _gpu = common::gpu();
    let data = sample(1_234_567);
    let c = piped(1, 16_384, 70_000, 2);
    let mut enc = cuzstd::bulk::stream::Encoder::new(Vec::new(), c.clone(), 20);
    for part in data.chunks(77_777) {
        enc.write_all(part).unwrap();
    }
    let out = enc.finish().unwrap();
    assert_eq!(out, c.compress(&data).unwrap(), "streamed and whole-buffer files differ");
    let mut dec = cuzstd::bulk::stream::Decoder::new(&out[..], piped_decompressor(70_000, 2, None), 200_000);
    let mut back = Vec::new();
    dec.read_to_end(&mut back).unwrap();
    assert_eq!(back, data);
}

// ---- Several GPUs ----

#[test]
fn two_handles_on_gpu0_split_groups_and_match_one_handle() {
    // Runs on any machine with one GPU: the multi-GPU split logic with GPU 0 opened twice.
    let a = common::gpu();
    let b = common::gpu();
    let data = sample(4_000_000);
    let chunks: Vec<&[u8]> = data.chunks(50_000).collect();
    let opts = cuzstd::encode::EncodeOptions { level: 1, checksum: true };
    let pipe = PipelineOptions { group_bytes: 110_000, in_flight: 2 };
    let (one, s1) = cuzstd::gpu::encode::compress_pipelined(&[&a], &opts, &chunks, &pipe).unwrap();
    let (two, s2) = cuzstd::gpu::encode::compress_pipelined(&[&a, &b], &opts, &chunks, &pipe).unwrap();
    eprintln!("one handle: {s1:?}\ntwo handles: {s2:?}");
    assert_eq!(s2.groups, 80);
    assert_eq!(s2.groups_per_device.iter().sum::<usize>(), 80);
    assert!(s2.groups_per_device.iter().all(|&g| g > 0), "a handle ran no group: {:?}", s2.groups_per_device);
    let one: Vec<Vec<u8>> = one.into_iter().map(Result::unwrap).collect();
    let two: Vec<Vec<u8>> = two.into_iter().map(Result::unwrap).collect();
    assert_eq!(one, two);
    let frames: Vec<&[u8]> = two.iter().map(Vec::as_slice).collect();
    let dopts = cuzstd::decode::DecodeOptions { max_window_size: 1 << 27, max_output_size: 1 << 40 };
    let (back, _) = cuzstd::gpu::decode::decompress_pipelined(&[&a, &b], &dopts, None, &frames, &pipe).unwrap();
    for (i, (r, c)) in back.into_iter().zip(&chunks).enumerate() {
        assert_eq!(&r.unwrap(), c, "chunk {i}");
    }
}

#[test]
fn all_visible_gpus_give_the_output_of_gpu0_alone() {
    // With one visible GPU this checks that `Devices::All` resolves to exactly [0] and gives
    // GPU 0's output; with several it compares the split across all of them with GPU 0 alone.
    let _gpu = common::gpu();
    let count = cuzstd::gpu::device_count().unwrap();
    eprintln!("{count} GPU(s) visible");
    assert_eq!(Devices::All.resolve(count).unwrap(), (0..count).collect::<Vec<_>>());
    let data = sample(6_000_000);
    let mk = |gpus: Devices| {
        Compressor::new(CompressOptions {
            level: 3,
            chunk_size: 65_536,
            backend: Backend::Cuda,
            gpus,
            pipeline: PipelineOptions { group_bytes: 400_000, in_flight: 2 },
            ..Default::default()
        })
        .unwrap()
    };
    let all = mk(Devices::All).compress(&data).unwrap();
    assert_eq!(all, mk(Devices::List(vec![0])).compress(&data).unwrap());
    if count > 1 {
        let last = mk(Devices::List(vec![count - 1])).compress(&data).unwrap();
        assert_eq!(all, last, "GPU {} alone differs from all GPUs", count - 1);
    }
    let d = Decompressor::new(DecompressOptions {
        backend: Backend::Cuda,
        gpus: Devices::All,
        pipeline: PipelineOptions { group_bytes: 300_000, in_flight: 3 },
        ..Default::default()
    })
    .unwrap();
    assert_eq!(d.decompress(&all).unwrap(), data);
    // A device that is not there is an error naming it.
    let err = mk(Devices::List(vec![count])).compress(&data).unwrap_err().to_string();
    assert!(err.contains(&format!("GPU {count}")), "{err}");
}

// ---- 4 GiB round trip ----

/// `len` bytes of text-like data: words drawn by a per-MiB SplitMix64 stream from a
/// vocabulary of 4096 generated words, so it compresses (about 3-4x) but never repeats at
/// any short period, and has no zero byte.
fn big_text(len: usize) -> Vec<u8> {
    use rayon::prelude::*;
    const BLOCK: usize = 1 << 20;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let words: Vec<Vec<u8>> = (0..4096)
        .map(|_| {
            let r = next();
            let n = 2 + (r % 9) as usize;
            (0..n).map(|k| b'a' + ((r >> (8 + 5 * k)) % 26) as u8).collect()
        })
        .collect();
    let mut out = vec![0u8; len];
    out.par_chunks_mut(BLOCK).enumerate().for_each(|(b, block)| {
        let mut s = (b as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut i = 0;
        while i < block.len() {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let w = &words[(z % 4096) as usize];
            let sep: &[u8] = if z >> 60 == 0 { b".\n" } else { b" " };
            for &c in w.iter().chain(sep) {
                if i == block.len() {
                    break;
                }
                block[i] = c;
                i += 1;
            }
        }
    });
    out
}

#[test]
fn round_trip_of_4_gib_at_level_1() {
    use rayon::prelude::*;
    let _gpu = common::gpu();
    let t = std::time::Instant::now();
    let len = (4usize << 30) + 12_345;
    let data = big_text(len);
    assert!(!data.contains(&0));
    eprintln!("generated {len} bytes in {:.1} s", t.elapsed().as_secs_f64());
    let c = Compressor::new(CompressOptions { level: 1, backend: Backend::Cuda, ..Default::default() }).unwrap();
    let t = std::time::Instant::now();
    let packed = c.compress(&data).unwrap();
    eprintln!(
        "compressed to {} bytes (ratio {:.2}) in {:.1} s",
        packed.len(),
        len as f64 / packed.len() as f64,
        t.elapsed().as_secs_f64()
    );
    assert!(packed.len() < len / 2, "text-like data should compress: {} of {len}", packed.len());
    let (table, _) = SeekTable::from_stream_end(&packed).unwrap().unwrap();
    assert_eq!(table.entries.len(), len.div_ceil(cuzstd::bulk::DEFAULT_CHUNK_SIZE));
    // libzstd reads a frame from the start, the middle and the end of the stream.
    let mut at = 0usize;
    let offsets: Vec<usize> = table
        .entries
        .iter()
        .map(|e| {
            let o = at;
            at += e.compressed_size as usize;
            o
        })
        .collect();
    for i in [0, table.entries.len() / 2, table.entries.len() - 1] {
        let f = &packed[offsets[i]..offsets[i] + table.entries[i].compressed_size as usize];
        let mut out = Vec::with_capacity(cuzstd::bulk::DEFAULT_CHUNK_SIZE);
        zstd_safe::decompress(&mut out, f).unwrap();
        let start = i * cuzstd::bulk::DEFAULT_CHUNK_SIZE;
        assert!(out == data[start..start + out.len()], "libzstd's decode of frame {i} differs");
    }
    let t = std::time::Instant::now();
    let back = decompressor(Backend::Cuda).decompress(&packed).unwrap();
    eprintln!("decompressed in {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(back.len(), data.len());
    const PIECE: usize = 64 << 20;
    let bad: Vec<usize> = back
        .par_chunks(PIECE)
        .zip(data.par_chunks(PIECE))
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i)
        .collect();
    assert!(bad.is_empty(), "64 MiB pieces that differ: {bad:?}");
}

#[test]
fn pipeline_on_a_poisoning_pool_reuses_buffers_and_equals_the_reference() {
    // Every recycled device buffer is filled with 0xA5 before reuse: a kernel output the
    // pipeline read back without the kernel writing it would show up as a difference.
    let gpu = cuzstd::gpu::Gpu::with_options(0, cuzstd::gpu::GpuOptions { pool_poison: Some(0xA5) })
        .unwrap_or_else(|e| panic!("GPU test needs a CUDA device and the NVIDIA driver: {e}"));
    let data = sample(2_500_000);
    // Chunks of varying size, so later groups reuse buffers of earlier, larger groups.
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut at = 0;
    for k in 0.. {
        if at == data.len() {
            break;
        }
        let n = (20_000 + (k * 7_919) % 60_000).min(data.len() - at);
        chunks.push(&data[at..at + n]);
        at += n;
    }
    let opts = cuzstd::encode::EncodeOptions { level: 3, checksum: true };
    let pipe = PipelineOptions { group_bytes: 150_000, in_flight: 1 };
    let (frames, stats) = cuzstd::gpu::encode::compress_pipelined(&[&gpu], &opts, &chunks, &pipe).unwrap();
    assert!(stats.groups > 10, "{stats:?}");
    let reference = cuzstd::encode::compress_batch(&chunks, &opts);
    let frames: Vec<Vec<u8>> = frames.into_iter().map(Result::unwrap).collect();
    for (i, (f, r)) in frames.iter().zip(&reference).enumerate() {
        assert_eq!(f, r.as_ref().unwrap(), "frame {i}");
    }
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let dopts = cuzstd::decode::DecodeOptions { max_window_size: 1 << 27, max_output_size: 1 << 40 };
    let (back, _) = cuzstd::gpu::decode::decompress_pipelined(&[&gpu], &dopts, None, &refs, &pipe).unwrap();
    for (i, (b, c)) in back.into_iter().zip(&chunks).enumerate() {
        assert_eq!(&b.unwrap(), c, "chunk {i}");
    }
}
