//! The bulk API and the CLI on the reference backend (cuzstd's own encoder and decoder, host
//! build): interop with libzstd both ways, the same file layout as the CPU backend.

use std::process::Command;

use cuzstd::bulk::{Backend, CompressOptions, Compressor, DecompressOptions, Decompressor};
use cuzstd::format::seekable::SeekTable;
use cuzstd::Error;

fn sample(len: usize) -> Vec<u8> {
    let text = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ";
    (0..len).map(|i| text[(i * 7 + i / 97) % text.len()] ^ ((i / 4099) as u8 & 1)).collect()
}

fn reference(level: i32, chunk_size: usize) -> Compressor {
    Compressor::new(CompressOptions { level, chunk_size, backend: Backend::Reference, ..Default::default() }).unwrap()
}

fn ref_decompressor() -> Decompressor {
    Decompressor::new(DecompressOptions { backend: Backend::Reference, ..Default::default() }).unwrap()
}

#[test]
fn our_encoder_writes_files_libzstd_reads_with_a_seek_table() {
    let data = sample(700_001);
    for level in [1, 3, 9] {
        let c = reference(level, 65_536).compress(&data).unwrap();
        let mut out = Vec::with_capacity(data.len());
        zstd_safe::decompress(&mut out, &c).unwrap();
        assert_eq!(out, data, "level {level}");
        let (table, _) = SeekTable::from_stream_end(&c).unwrap().unwrap();
        assert_eq!(table.entries.len(), data.len().div_ceil(65_536));
        assert_eq!(ref_decompressor().decompress(&c).unwrap(), data);
    }
}

#[test]
fn our_decoder_reads_files_libzstd_and_the_cpu_backend_write() {
    let data = sample(400_000);
    let cpu = Compressor::new(CompressOptions {
        level: 19,
        chunk_size: 100_000,
        backend: Backend::Cpu,
        ..Default::default()
    })
    .unwrap()
    .compress(&data)
    .unwrap();
    assert_eq!(ref_decompressor().decompress(&cpu).unwrap(), data);
    let mut one = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    zstd_safe::compress(&mut one, &data, 5).unwrap();
    assert_eq!(ref_decompressor().decompress(&one).unwrap(), data);
}

#[test]
fn levels_outside_the_encoders_range_are_refused_on_the_reference_backend() {
    let r = Compressor::new(CompressOptions { level: 19, backend: Backend::Reference, ..Default::default() })
        .unwrap()
        .compress(b"abc");
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
}

#[test]
fn corrupt_frame_is_reported_with_its_index() {
    let data = sample(300_000);
    let mut c = reference(3, 65_536).compress(&data).unwrap();
    let (table, _) = SeekTable::from_stream_end(&c).unwrap().unwrap();
    let at = table.entries[0].compressed_size as usize + table.entries[1].compressed_size as usize / 2;
    c[at] ^= 0xFF;
    match ref_decompressor().decompress(&c) {
        Err(Error::Item { index, .. }) => assert_eq!(index, 1),
        Err(Error::Format(e)) => assert_eq!(e.frame, 1),
        other => panic!("corruption not reported: {:?}", other.map(|v| v.len())),
    }
}

#[test]
fn cli_decompresses_with_the_reference_backend_and_leaves_nothing_on_failure() {
    let dir = std::env::temp_dir().join(format!("cuzstd-bulkref-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = sample(250_000);
    std::fs::write(dir.join("in"), &data).unwrap();
    let bin = env!("CARGO_BIN_EXE_cuzstd");
    let ok = Command::new(bin).args(["--backend", "reference", "-3"]).arg(dir.join("in")).status().unwrap();
    assert!(ok.success());
    let ok = Command::new(bin)
        .args(["-d", "--backend", "reference"])
        .arg(dir.join("in.zst"))
        .arg("-o")
        .arg(dir.join("out"))
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), data);
    let mut bad = std::fs::read(dir.join("in.zst")).unwrap();
    bad[20] ^= 0x40;
    std::fs::write(dir.join("bad.zst"), &bad).unwrap();
    let o = Command::new(bin).args(["-d", "--backend", "reference"]).arg(dir.join("bad.zst")).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.zst"));
    assert!(!dir.join("bad").exists());
}
