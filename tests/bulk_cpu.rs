//! The bulk and streaming API on the CPU backend: the file layout (chunk frames + seek
//! table), interop with libzstd both ways, and bad input.

use std::io::{Read, Write};

use cuzstd::bulk::{self, stream, Backend, CompressOptions, Compressor, DecompressOptions, Decompressor};
use cuzstd::format::seekable::SeekTable;
use cuzstd::Error;
use rand::{RngCore, SeedableRng};

fn cpu(chunk_size: usize, level: i32) -> Compressor {
    Compressor::new(CompressOptions { level, chunk_size, backend: Backend::Cpu, ..Default::default() }).unwrap()
}

fn cpu_decompressor() -> Decompressor {
    Decompressor::new(DecompressOptions { backend: Backend::Cpu, ..Default::default() }).unwrap()
}

fn sample(len: usize, seed: u64) -> Vec<u8> {
    // Compressible but not trivial: words from a small vocabulary with random noise.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let words: [&[u8]; 8] = [b"zstd ", b"frame ", b"block ", b"GPU ", b"chunk ", b"seek ", b"table ", b"\n"];
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let r = rng.next_u32();
        if r % 17 == 0 {
            out.push((r >> 8) as u8);
        } else {
            out.extend_from_slice(words[(r >> 4) as usize % 8]);
        }
    }
    out.truncate(len);
    out
}

fn libzstd_decompress(data: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 1);
    let n =
        zstd_safe::decompress(&mut out, data).unwrap_or_else(|c| panic!("libzstd: {}", zstd_safe::get_error_name(c)));
    assert_eq!(n, size);
    out
}

#[test]
fn chunked_output_decodes_with_libzstd_and_has_a_correct_seek_table() {
    let data = sample(1_000_003, 1);
    for chunk in [1 << 10, 65_536, 100_000, 1 << 20] {
        let c = cpu(chunk, 3).compress(&data).unwrap();
        assert_eq!(libzstd_decompress(&c, data.len()), data, "chunk {chunk}");
        let (table, table_len) = SeekTable::from_stream_end(&c).unwrap().expect("seek table present");
        assert_eq!(table.entries.len(), data.len().div_ceil(chunk));
        assert_eq!(table.compressed_len() as usize + table_len, c.len());
        assert_eq!(table.decompressed_len() as usize, data.len());
        for (i, e) in table.entries.iter().enumerate() {
            let piece = &data[i * chunk..((i + 1) * chunk).min(data.len())];
            assert_eq!(e.decompressed_size as usize, piece.len());
            assert_eq!(e.checksum, Some(xxhash_rust::xxh64::xxh64(piece, 0) as u32));
        }
        assert_eq!(cpu_decompressor().decompress(&c).unwrap(), data);
    }
}

#[test]
fn seek_table_lets_a_reader_decode_one_chunk_alone() {
    let data = sample(300_000, 2);
    let chunk = 65_536;
    let c = cpu(chunk, 5).compress(&data).unwrap();
    let (table, _) = SeekTable::from_stream_end(&c).unwrap().unwrap();
    let (frame, coff, doff) = table.locate(200_000).unwrap();
    let e = table.entries[frame];
    let frame_bytes = &c[coff as usize..coff as usize + e.compressed_size as usize];
    let piece = libzstd_decompress(frame_bytes, e.decompressed_size as usize);
    assert_eq!(&piece[..], &data[doff as usize..doff as usize + e.decompressed_size as usize]);
}

#[test]
fn frames_written_by_libzstd_decode() {
    let data = sample(500_000, 3);
    // One large frame.
    let one = zstd_safe_compress(&data, 19);
    assert_eq!(cpu_decompressor().decompress(&one).unwrap(), data);
    // Concatenated frames with a skippable frame between them.
    let mut cat = zstd_safe_compress(&data[..1000], 1);
    cat.extend_from_slice(&0x184D_2A51u32.to_le_bytes());
    cat.extend_from_slice(&4u32.to_le_bytes());
    cat.extend_from_slice(b"skip");
    cat.extend_from_slice(&zstd_safe_compress(&data[1000..], -5));
    assert_eq!(cpu_decompressor().decompress(&cat).unwrap(), data);
    // A frame without a content size (written by the streaming API).
    let streamed = streaming_compress(&data);
    let h = cuzstd::format::parse_frame_header(&streamed).unwrap().unwrap();
    assert_eq!(h.content_size, None);
    assert_eq!(cpu_decompressor().decompress(&streamed).unwrap(), data);
}

fn zstd_safe_compress(data: &[u8], level: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    zstd_safe::compress(&mut out, data, level).unwrap();
    out
}

fn streaming_compress(data: &[u8]) -> Vec<u8> {
    let mut cctx = zstd_safe::CCtx::create();
    let mut out = vec![0u8; zstd_safe::compress_bound(data.len()) + 64];
    let mut ob = zstd_safe::OutBuffer::around(&mut out[..]);
    let mut ib = zstd_safe::InBuffer::around(data);
    cctx.compress_stream2(&mut ob, &mut ib, zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_continue).unwrap();
    while cctx.compress_stream2(&mut ob, &mut ib, zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_end).unwrap() != 0 {}
    let n = ob.pos();
    out.truncate(n);
    out
}

#[test]
fn empty_input_round_trips() {
    let c = cpu(65_536, 3).compress(&[]).unwrap();
    assert_eq!(libzstd_decompress(&c, 0), Vec::<u8>::new());
    assert_eq!(cpu_decompressor().decompress(&c).unwrap(), Vec::<u8>::new());
    assert_eq!(cpu_decompressor().decompress(&[]).unwrap(), Vec::<u8>::new());
}

#[test]
fn truncated_input_is_an_error_naming_the_frame() {
    let data = sample(200_000, 4);
    let c = cpu(65_536, 3).compress(&data).unwrap();
    for cut in [1, 5, 100, c.len() / 2, c.len() - 1] {
        let r = cpu_decompressor().decompress(&c[..cut]);
        assert!(matches!(r, Err(Error::Format(_))), "cut at {cut}: {r:?}");
    }
}

#[test]
fn corrupt_frame_is_an_error_naming_the_frame() {
    let data = sample(200_000, 5);
    let c = cpu(65_536, 3).compress(&data).unwrap();
    let (table, _) = SeekTable::from_stream_end(&c).unwrap().unwrap();
    // Flip a byte inside the payload of frame 2 (after its header).
    let at = (table.entries[0].compressed_size + table.entries[1].compressed_size) as usize + 40;
    let mut bad = c.clone();
    bad[at] ^= 0x55;
    match cpu_decompressor().decompress(&bad) {
        Err(Error::Frame { frame, .. }) => assert_eq!(frame, 2),
        Err(Error::Format(e)) => assert_eq!(e.frame, 2),
        other => panic!("corruption not detected: {:?}", other.map(|v| v.len())),
    }
}

#[test]
fn seek_table_that_does_not_match_the_frames_is_rejected() {
    let data = sample(200_000, 6);
    let c = cpu(65_536, 3).compress(&data).unwrap();
    let first = cpu(65_536, 3).compress(&data[..65_536]).unwrap();
    let (t1, l1) = SeekTable::from_stream_end(&first).unwrap().unwrap();
    // The frames of `c` followed by the table of `first` (which lists one frame).
    let (_, l) = SeekTable::from_stream_end(&c).unwrap().unwrap();
    let mut spliced = c[..c.len() - l].to_vec();
    spliced.extend_from_slice(&first[first.len() - l1..]);
    assert_eq!(t1.entries.len(), 1);
    assert!(matches!(cpu_decompressor().decompress(&spliced), Err(Error::Format(_))));
}

#[test]
fn compress_to_buffer_reports_a_small_destination() {
    let data = sample(100_000, 7);
    let mut small = vec![0u8; 100];
    assert!(matches!(cpu(65_536, 3).compress_to_buffer(&data, &mut small), Err(Error::OutputTooLarge { .. })));
    let mut big = vec![0u8; 200_000];
    let n = cpu(65_536, 3).compress_to_buffer(&data, &mut big).unwrap();
    assert_eq!(libzstd_decompress(&big[..n], data.len()), data);
}

#[test]
fn streaming_round_trip_with_bounded_batches() {
    let data = sample(3_000_000, 8);
    let compressor = cpu(65_536, 3);
    let mut enc = stream::Encoder::new(Vec::new(), compressor.clone(), 4);
    for piece in data.chunks(7777) {
        enc.write_all(piece).unwrap();
    }
    let c = enc.finish().unwrap();
    assert_eq!(c, compressor.compress(&data).unwrap(), "streaming and whole-buffer layouts are identical");
    let mut dec = stream::Decoder::new(&c[..], cpu_decompressor(), 256 << 10);
    let mut out = Vec::new();
    dec.read_to_end(&mut out).unwrap();
    assert_eq!(out, data);
}

#[test]
fn streaming_decoder_rejects_truncated_input() {
    let data = sample(300_000, 9);
    let c = cpu(65_536, 3).compress(&data).unwrap();
    let mut dec = stream::Decoder::new(&c[..c.len() - 3], cpu_decompressor(), 1 << 20);
    let mut out = Vec::new();
    let e = dec.read_to_end(&mut out).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
}

#[test]
fn announced_sizes_over_the_limit_are_refused_before_allocating() {
    // A frame header announcing 2^40 bytes with a single empty raw block.
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0xC0 | 0x20, 0, 0, 0, 0, 0, 1, 0, 0];
    f.extend_from_slice(&[1, 0, 0]);
    let d = Decompressor::new(DecompressOptions { backend: Backend::Cpu, max_output: 1 << 30, ..Default::default() })
        .unwrap();
    assert!(matches!(d.decompress(&f), Err(Error::OutputTooLarge { .. })));
}

#[test]
fn one_shot_helpers_use_the_default_layout() {
    let data = sample(50_000, 10);
    let c = bulk::compress(&data, 1).unwrap();
    assert!(SeekTable::from_stream_end(&c).unwrap().is_some());
    assert_eq!(bulk::decompress(&c).unwrap(), data);
}
