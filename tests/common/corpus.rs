//! The conformance corpus as the decoder tests read it, and libzstd's verdict on a frame.

use std::path::{Path, PathBuf};

/// Output capacity given to both decoders: what the frame headers promise, when that is
/// believable, else 1 MiB. Both get the same, so capacity never decides a difference.
pub fn capacity(src: &[u8]) -> usize {
    match cuzstd::decode::frames_info(src) {
        Ok(info) => info.content_size.unwrap_or(info.bound).min(1 << 28) as usize,
        Err(_) => 1 << 20,
    }
}

/// libzstd's one-shot decode of `src` into at most `cap` bytes: the output, or its error name.
pub fn libzstd(src: &[u8], dict: Option<&[u8]>, cap: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(cap);
    let mut dctx = zstd_safe::DCtx::create();
    let r = match dict {
        Some(d) => dctx.decompress_using_dict(&mut out, src, d),
        None => dctx.decompress(&mut out, src),
    };
    r.map(|_| out).map_err(|c| zstd_safe::get_error_name(c).to_string())
}

/// The records of a pack in `tests/data/decode` (a zstd frame of `name_len u32, name, data_len
/// u64, data` records; see that folder's README).
pub fn unpack(file: &str) -> Vec<(String, Vec<u8>)> {
    let path = super::data().join("decode").join(file);
    let packed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let size = zstd_safe::get_frame_content_size(&packed).ok().flatten().expect("pack has a content size") as usize;
    let mut raw = Vec::with_capacity(size);
    zstd_safe::decompress(&mut raw, &packed).expect("pack decodes");
    let mut recs = Vec::new();
    let mut p = 0usize;
    while p < raw.len() {
        let nl = u32::from_le_bytes(raw[p..p + 4].try_into().unwrap()) as usize;
        let name = String::from_utf8(raw[p + 4..p + 4 + nl].to_vec()).unwrap();
        p += 4 + nl;
        let dl = u64::from_le_bytes(raw[p..p + 8].try_into().unwrap()) as usize;
        recs.push((name, raw[p + 8..p + 8 + dl].to_vec()));
        p += 8 + dl;
    }
    recs
}

/// `corpus/` of the shared material; panics naming it when it is missing.
pub fn shared_corpus() -> PathBuf {
    let p = super::shared().join("corpus");
    assert!(
        p.is_dir(),
        "{} is missing: the decodecorpus sets live there (see tests/data/decode/README.md)",
        p.display()
    );
    p
}

/// The files of `dir` in name order.
pub fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}
