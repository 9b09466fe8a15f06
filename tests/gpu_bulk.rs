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
