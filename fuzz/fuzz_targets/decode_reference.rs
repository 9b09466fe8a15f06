//! Arbitrary bytes into the reference-build decoder: it must never crash, hang or read or
//! write out of bounds (run under ASan by cargo-fuzz), and it must never accept an input that
//! libzstd 1.5.6 rejects nor produce different bytes for one both accept.
//!
//! Input layout: byte 0 selects the mode; with a dictionary, bytes 1..3 give its length
//! (little-endian u16, clamped) and the dictionary precedes the frames.
#![no_main]

use cuzstd::decode::{self, DecodeOptions, Dictionary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (dict_bytes, src) = if mode & 1 == 1 && rest.len() >= 2 {
        let n = (u16::from_le_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        (Some(&rest[2..2 + n]), &rest[2 + n..])
    } else {
        (None, rest)
    };
    let dict = match dict_bytes.map(|b| Dictionary::new(b.to_vec())) {
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => return,
        None => None,
    };
    // A small, fixed capacity keeps every case fast; both decoders get the same.
    let cap = if mode & 2 == 2 { 1 << 16 } else { 1 << 20 };
    let mut out = vec![0u8; cap];
    let opts = DecodeOptions::default().unlimited_window();
    let ours = decode::decompress_into(src, &mut out, dict.as_ref(), &opts);
    let mut want = Vec::with_capacity(cap);
    let mut dctx = zstd_safe::DCtx::create();
    let theirs = match dict_bytes {
        Some(d) => dctx.decompress_using_dict(&mut want, src, d),
        None => dctx.decompress(&mut want, src),
    };
    if let Ok(n) = ours {
        assert!(
            theirs.is_ok(),
            "cuzstd accepts what libzstd rejects: {:?}",
            theirs.err().map(zstd_safe::get_error_name)
        );
        assert!(out[..n] == want[..], "outputs differ");
    }
    // Decoding the same input twice into a dirty buffer gives the same bytes.
    if let Ok(n) = ours {
        let mut again = vec![0xA5u8; cap];
        let m = decode::decompress_into(src, &mut again, dict.as_ref(), &opts).expect("second decode");
        assert_eq!(n, m);
        assert!(again[..m] == out[..n]);
    }
    let _ = decode::frames_info(src);
});
