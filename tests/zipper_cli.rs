//! `cuzstd zipper pack|verify` end to end on a small safetensors model.

use std::path::PathBuf;
use std::process::Command;

use cuzstd::zipper::safetensors::{Dtype, Writer};
use cuzstd::zipper::ZipperFile;

fn tmp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("cuzstd-zipper-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cuzstd")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pack_report_and_verify() {
    let dir = tmp_dir();
    let src = dir.join("model.safetensors");
    let mut w = Writer::new();
    let vals: Vec<u8> =
        (0..48 * 40).flat_map(|i| half::f16::from_f32(((i * 37 % 101) as f32 - 50.0) * 1e-3).to_le_bytes()).collect();
    w.tensor("layers.0.proj.weight", Dtype::F16, vec![48, 40], vals).unwrap();
    w.tensor("layers.0.norm.weight", Dtype::F32, vec![40], vec![0; 160]).unwrap();
    w.write(&src).unwrap();
    let out = dir.join("model.zipper.safetensors");
    let (src_s, out_s) = (src.to_str().unwrap(), out.to_str().unwrap());

    let (code, stdout, stderr) =
        run(&["zipper", "pack", src_s, out_s, "--base", "int4", "--group", "32", "--density", "5", "--tile-rows", "8"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("base int4 (group 32), density 5%, tile rows 8"), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("layers.0.proj.weight")).expect("per-tensor line");
    assert!(line.contains("48x40") && line.contains(" 3840 "), "{line}");
    assert!(stdout.lines().any(|l| l.starts_with("total")), "{stdout}");
    assert!(stdout.contains("copied tensors: 1"), "{stdout}");
    let f = ZipperFile::open(&out).unwrap();
    assert_eq!((f.meta.tile_rows, f.meta.density, f.meta.group_size), (8, 0.05, Some(32)));
    assert_eq!(f.meta.weights["layers.0.proj.weight"].tiles, 6);

    let (code, stdout, _) = run(&["zipper", "verify", out_s]);
    assert_eq!(code, 0);
    assert!(stdout.contains("ok (1 packed weights, 6 tiles"), "{stdout}");

    let (code, _, stderr) = run(&["zipper", "pack", src_s, out_s, "--lossless"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(ZipperFile::open(&out).unwrap().meta.mode, "lossless");

    // Errors: a bad option, a missing input, a damaged container.
    let (code, _, _) = run(&["zipper", "pack", src_s, out_s, "--base", "int3"]);
    assert_eq!(code, 2);
    let (code, _, stderr) = run(&["zipper", "pack", "/nonexistent/x.safetensors", out_s]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/x.safetensors"), "{stderr}");
    let mut bytes = std::fs::read(&out).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    std::fs::write(&out, bytes).unwrap();
    let (code, _, stderr) = run(&["zipper", "verify", out_s]);
    assert_eq!(code, 1);
    assert!(stderr.contains("damaged"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
