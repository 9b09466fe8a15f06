//! Property: every frame the encoder (reference build) writes decodes with libzstd and with
//! our decoder to the input, at the level and checksum setting taken from the first byte,
//! and is never larger than `compress_bound`.
#![no_main]

use cuzstd::encode::{self, EncodeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let (options, data) = match input.split_first() {
        Some((&b, rest)) => (EncodeOptions { level: (b % 13) as i32, checksum: b & 0x80 != 0 }, rest),
        None => (EncodeOptions::default(), input),
    };
    let frame = encode::compress_with(data, &options).expect("compression succeeds below 4 GiB");
    assert!(frame.len() <= encode::compress_bound(data.len()));
    let mut out = vec![0u8; data.len().max(1)];
    let n = zstd_safe::decompress(&mut out[..], &frame).expect("libzstd decodes the frame");
    assert_eq!(&out[..n], data, "libzstd output differs from the input");
    let ours = cuzstd::decode::decompress(&frame, None, &cuzstd::decode::DecodeOptions::default())
        .expect("our decoder decodes the frame");
    assert_eq!(ours, data, "our decoder's output differs from the input");
});
