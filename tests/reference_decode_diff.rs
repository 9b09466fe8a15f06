//! Differential tests of the reference-build decoder against libzstd 1.5.6 (zstd-safe):
//! frames made by libzstd at every level from -7 to 22, with and without checksums and
//! content sizes, long windows, trained and raw-content dictionaries, multi-frame buffers;
//! and mutated frames, where both must agree on accepting or rejecting.

use std::sync::OnceLock;

use cuzstd::decode::{self, DecodeOptions, Dictionary};
use proptest::prelude::*;
use rand::{Rng, RngCore, SeedableRng};
use zstd_safe::CParameter;

/// Deterministic test data of one of several shapes, all of which zstd finds structure in
/// differently: random bytes, text, near-repeats with short and long offsets, byte runs.
fn sample(seed: u64, len: usize, style: u8) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut v = Vec::with_capacity(len);
    const WORDS: [&str; 16] = [
        "the ",
        "zstd ",
        "frame ",
        "block ",
        "literal ",
        "match ",
        "offset ",
        "GPU ",
        "decode ",
        "table ",
        "of ",
        "and ",
        "window ",
        "\n",
        "sequence ",
        "huffman ",
    ];
    while v.len() < len {
        match style % 5 {
            0 => v.push(rng.random()),
            1 => v.extend_from_slice(WORDS[rng.random_range(0..WORDS.len())].as_bytes()),
            2 if v.len() > 16 => {
                let off = if rng.random_bool(0.8) {
                    rng.random_range(1..64.min(v.len()))
                } else {
                    rng.random_range(1..v.len())
                };
                let n = rng.random_range(3..300);
                let start = v.len() - off;
                for i in 0..n {
                    let b = v[start + i];
                    v.push(if rng.random_bool(0.01) { rng.random() } else { b });
                }
            }
            3 => {
                let b: u8 = rng.random();
                let n = rng.random_range(1..2000);
                v.extend(std::iter::repeat_n(b, n));
            }
            _ => {
                let n = rng.random_range(1..200);
                let mut chunk = vec![0u8; n];
                rng.fill_bytes(&mut chunk);
                for c in chunk.iter_mut() {
                    *c &= 0x1F;
                }
                v.extend_from_slice(&chunk);
            }
        }
    }
    v.truncate(len);
    v
}

fn compress(data: &[u8], level: i32, checksum: bool, content_size: bool, dict: Option<&[u8]>) -> Vec<u8> {
    let mut cctx = zstd_safe::CCtx::create();
    cctx.set_parameter(CParameter::CompressionLevel(level)).unwrap();
    cctx.set_parameter(CParameter::ChecksumFlag(checksum)).unwrap();
    cctx.set_parameter(CParameter::ContentSizeFlag(content_size)).unwrap();
    if let Some(d) = dict {
        cctx.load_dictionary(d).unwrap();
    }
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    cctx.compress2(&mut out, data).unwrap();
    out
}

fn libzstd(src: &[u8], dict: Option<&[u8]>, cap: usize) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(cap);
    let mut dctx = zstd_safe::DCtx::create();
    match dict {
        Some(d) => dctx.decompress_using_dict(&mut out, src, d),
        None => dctx.decompress(&mut out, src),
    }
    .map(|_| out)
}

fn ours(src: &[u8], dict: Option<&Dictionary>, cap: usize) -> Result<Vec<u8>, decode::DecodeError> {
    let mut out = vec![0u8; cap];
    let n = decode::decompress_into(src, &mut out, dict, &DecodeOptions::default().unlimited_window())?;
    out.truncate(n);
    Ok(out)
}

/// The staged decoder's host run (`decode::decompress_staged_into`): the result, and whether
/// its passes (not its fallback) decoded the frame.
fn ours_staged(src: &[u8], dict: Option<&Dictionary>, cap: usize) -> (Result<Vec<u8>, decode::DecodeError>, bool) {
    ours_staged_form(src, dict, cap, false)
}

/// As [`ours_staged`], with the sequences pass the GPU runs for small batches when `solo`
/// (`decode::decompress_staged_solo_into`).
fn ours_staged_form(
    src: &[u8],
    dict: Option<&Dictionary>,
    cap: usize,
    solo: bool,
) -> (Result<Vec<u8>, decode::DecodeError>, bool) {
    let mut out = vec![0u8; cap];
    let run = if solo { decode::decompress_staged_solo_into } else { decode::decompress_staged_into };
    let (r, by_passes) = run(src, &mut out, dict, &DecodeOptions::default().unlimited_window());
    (
        r.map(|n| {
            out.truncate(n);
            out
        }),
        by_passes,
    )
}

/// Both decoders with the same capacity; panics with a description when they disagree.
fn assert_same_verdict(src: &[u8], dict_bytes: Option<&[u8]>, cap: usize) {
    assert_same_verdict_except(src, dict_bytes, cap, false)
}

/// As [`assert_same_verdict`]; with `allow_huffman_tail` set, one known divergence on
/// corrupt input passes: libzstd's double-symbol Huffman decoder (used for dictionary tables
/// and for some 4-stream blocks) accepts a stream whose last code reads past the stream
/// start (it clamps the bit count), which RFC 8878 makes invalid and cuzstd rejects with
/// HUFFMAN_STREAM_CORRUPT. Nothing else may differ.
fn assert_same_verdict_except(src: &[u8], dict_bytes: Option<&[u8]>, cap: usize, allow_huffman_tail: bool) {
    let dict = dict_bytes.map(|b| Dictionary::new(b.to_vec()).expect("dictionary loads"));
    let want = libzstd(src, dict_bytes, cap);
    let got = ours(src, dict.as_ref(), cap);
    for solo in [false, true] {
        let (staged, _) = ours_staged_form(src, dict.as_ref(), cap, solo);
        assert!(
            staged == got,
            "the staged decoder (solo sequences pass: {solo}) gives {:?}, the frame decoder {:?}",
            staged.map(|v| v.len()),
            got.as_ref().map(|v| v.len())
        );
    }
    match (&want, &got) {
        (Ok(w), Ok(g)) => assert!(w == g, "outputs differ: libzstd {} bytes, cuzstd {} bytes", w.len(), g.len()),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e))
            if allow_huffman_tail && e.status == cuzstd::Status(cuzstd::abi::CZ_STATUS_HUFFMAN_STREAM_CORRUPT) => {}
        (Ok(w), Err(e)) => panic!("libzstd decodes {} bytes, cuzstd fails: {e}", w.len()),
        (Err(c), Ok(g)) => {
            panic!("libzstd fails ({}), cuzstd decodes {} bytes", zstd_safe::get_error_name(*c), g.len())
        }
    }
}

/// A dictionary trained with zstd's builder on samples like the ones the tests compress.
fn trained_dictionary() -> &'static [u8] {
    static DICT: OnceLock<Vec<u8>> = OnceLock::new();
    DICT.get_or_init(|| {
        let samples: Vec<Vec<u8>> =
            (0..400).map(|i| sample(1000 + i, 300 + (i as usize % 7) * 100, (i % 3) as u8 + 1)).collect();
        let flat: Vec<u8> = samples.concat();
        let sizes: Vec<usize> = samples.iter().map(Vec::len).collect();
        let mut dict = Vec::with_capacity(16 * 1024);
        zstd_safe::train_from_buffer(&mut dict, &flat, &sizes).expect("dictionary training");
        dict
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn frames_from_every_level_decode_like_libzstd(
        seed in any::<u64>(), len in 0usize..200_000, style in 0u8..5, level in -7i32..=22,
        checksum in any::<bool>(), content_size in any::<bool>(),
    ) {
        let data = sample(seed, len, style);
        let c = compress(&data, level, checksum, content_size, None);
        let got = ours(&c, None, data.len()).unwrap_or_else(|e| panic!("level {level}: {e}"));
        prop_assert!(got == data, "level {} round trip differs", level);
        assert_same_verdict(&c, None, data.len());
        // One frame with a content size and few enough sequences for a slot: the staged
        // passes decode it themselves.
        if content_size && len <= 32 << 10 {
            for solo in [false, true] {
                let (r, by_passes) = ours_staged_form(&c, None, data.len(), solo);
                prop_assert!(by_passes && r.as_ref().ok() == Some(&data), "level {} len {} solo {}: staged passes refused", level, len, solo);
            }
        }
    }

    #[test]
    fn frames_with_a_trained_dictionary_decode_like_libzstd(
        seed in any::<u64>(), len in 0usize..20_000, style in 1u8..4, level in -7i32..=22, checksum in any::<bool>(),
    ) {
        let dict = trained_dictionary();
        let data = sample(seed, len, style);
        let c = compress(&data, level, checksum, true, Some(dict));
        let d = Dictionary::new(dict.to_vec()).unwrap();
        prop_assert!(d.id() != 0);
        let got = ours(&c, Some(&d), data.len()).unwrap_or_else(|e| panic!("level {level}: {e}"));
        prop_assert!(got == data);
        assert_same_verdict(&c, Some(dict), data.len());
    }

    #[test]
    fn frames_with_a_raw_content_dictionary_decode_like_libzstd(
        seed in any::<u64>(), len in 0usize..20_000, level in 1i32..=19,
    ) {
        let prefix = sample(seed ^ 0x55, 8192, 2);
        let mut data = prefix[1000..5000].to_vec();
        data.extend(sample(seed, len, 2));
        let c = compress(&data, level, true, true, Some(&prefix));
        let d = Dictionary::new(prefix.clone()).unwrap();
        prop_assert!(d.is_raw_content());
        let got = ours(&c, Some(&d), data.len()).unwrap_or_else(|e| panic!("level {level}: {e}"));
        prop_assert!(got == data);
        assert_same_verdict(&c, Some(&prefix), data.len());
    }

    #[test]
    fn mutated_frames_get_the_same_verdict_as_libzstd(
        seed in any::<u64>(), len in 0usize..30_000, style in 0u8..5, level in -3i32..=19,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        use_dict in any::<bool>(),
    ) {
        let dict = use_dict.then(trained_dictionary);
        let data = sample(seed, len, style);
        let mut c = compress(&data, level, seed & 1 == 0, seed & 2 == 0, dict);
        for (at, bit) in &flips {
            let i = at.index(c.len());
            c[i] ^= 1 << bit;
        }
        if let Some(cut) = cut {
            c.truncate(cut.index(c.len() + 1));
        }
        assert_same_verdict_except(&c, dict, len + 1024, true);
    }
}

#[test]
fn long_window_frames_decode_like_libzstd() {
    // 6 MiB with repeats 3 MiB apart: only a window >= 4 MiB finds them.
    let base = sample(7, 3 << 20, 0);
    let mut data = base.clone();
    data.extend_from_slice(&base);
    for (wlog, ldm) in [(22u32, false), (23, true), (27, true)] {
        let mut cctx = zstd_safe::CCtx::create();
        cctx.set_parameter(CParameter::CompressionLevel(3)).unwrap();
        cctx.set_parameter(CParameter::WindowLog(wlog)).unwrap();
        cctx.set_parameter(CParameter::EnableLongDistanceMatching(ldm)).unwrap();
        cctx.set_parameter(CParameter::ChecksumFlag(true)).unwrap();
        let mut c = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
        cctx.compress2(&mut c, &data).unwrap();
        if wlog >= 22 {
            assert!(c.len() < data.len() * 3 / 4, "windowLog {wlog}: the repeat was not found ({} bytes)", c.len());
        }
        let got = decode::decompress(&c, None, &DecodeOptions::default()).unwrap();
        assert!(got == data, "windowLog {wlog}");
        assert_same_verdict(&c, None, data.len());
    }
}

/// Huffman streams are read in aligned 4-byte words with the partial words at both ends
/// read byte by byte, so where a stream starts modulo 4 changes the reads: every frame must
/// decode alike (and truncated ones fail alike) with the input at each of the 4 alignments.
#[test]
fn frames_decode_alike_at_every_input_alignment() {
    let dict = trained_dictionary();
    let d = Dictionary::new(dict.to_vec()).unwrap();
    for (seed, len) in [(1u64, 40usize), (2, 700), (3, 5_000), (4, 20_000), (5, 100_000)] {
        for style in 1u8..4 {
            let data = sample(seed, len, style);
            for (level, with_dict) in [(-3, false), (1, false), (3, false), (19, false), (3, true)] {
                let c = compress(&data, level, true, true, if with_dict { Some(dict) } else { None });
                let dref = if with_dict { Some(&d) } else { None };
                let mut buf = vec![0u8; c.len() + 3];
                for off in 0..4 {
                    buf[off..off + c.len()].copy_from_slice(&c);
                    let src = &buf[off..off + c.len()];
                    let got = ours(src, dref, data.len());
                    assert!(
                        got.as_ref().ok() == Some(&data),
                        "seed {seed} len {len} style {style} level {level} dict {with_dict} offset {off}: {:?}",
                        got.err()
                    );
                    // The small-batch sequences pass copies the bitstream in aligned words.
                    let (lanes, by_lanes) = ours_staged_form(src, dref, data.len(), false);
                    let (solo, by_solo) = ours_staged_form(src, dref, data.len(), true);
                    assert!(
                        solo.as_ref().ok() == Some(&data) && lanes.as_ref().ok() == Some(&data) && by_solo == by_lanes,
                        "seed {seed} len {len} style {style} level {level} dict {with_dict} offset {off}: \
                         staged passes (solo {by_solo}, lanes {by_lanes}) {:?} {:?}",
                        solo.err(),
                        lanes.err()
                    );
                    for cut in [1usize, 4, 9] {
                        if cut < c.len() {
                            assert!(
                                ours(&src[..c.len() - cut], dref, data.len()).is_err(),
                                "seed {seed} len {len} style {style} level {level} offset {off}: \
                                 {cut} bytes short decoded"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn concatenated_and_skippable_frames_decode_into_one_output() {
    let a = sample(1, 5000, 1);
    let b = sample(2, 70_000, 2);
    let mut buf = compress(&a, 3, true, true, None);
    // A skippable frame (magic 0x184D2A5E, 5 bytes of payload) between two frames.
    buf.extend_from_slice(&[0x5E, 0x2A, 0x4D, 0x18, 5, 0, 0, 0, 1, 2, 3, 4, 5]);
    buf.extend(compress(&b, 19, false, false, None));
    let got = decode::decompress(&buf, None, &DecodeOptions::default()).unwrap();
    let mut want = a.clone();
    want.extend_from_slice(&b);
    assert!(got == want);
    assert_same_verdict(&buf, None, want.len());
    // Matches never reach into an earlier frame, and 1..4 stray bytes after the last frame fail.
    buf.extend_from_slice(&[0x28, 0xB5]);
    assert_eq!(
        decode::decompress(&buf, None, &DecodeOptions::default()).unwrap_err().status,
        cuzstd::Status(cuzstd::abi::CZ_STATUS_TRAILING_BYTES)
    );
}

#[test]
fn checksum_mismatch_is_reported_as_such() {
    let data = sample(3, 10_000, 1);
    let mut c = compress(&data, 3, true, true, None);
    let n = c.len();
    c[n - 1] ^= 0x40;
    let e = decode::decompress(&c, None, &DecodeOptions::default()).unwrap_err();
    assert_eq!(e.status, cuzstd::Status(cuzstd::abi::CZ_STATUS_CHECKSUM_MISMATCH));
}

#[test]
fn frame_naming_a_dictionary_fails_without_it() {
    let dict = trained_dictionary();
    let c = compress(&sample(4, 3000, 1), 3, true, true, Some(dict));
    let e = decode::decompress(&c, None, &DecodeOptions::default()).unwrap_err();
    assert_eq!(e.status, cuzstd::Status(cuzstd::abi::CZ_STATUS_DICTIONARY_MISSING));
    let raw = Dictionary::new(b"not a zstd dictionary, raw content".to_vec()).unwrap();
    let e = decode::decompress(&c, Some(&raw), &DecodeOptions::default()).unwrap_err();
    assert_eq!(e.status, cuzstd::Status(cuzstd::abi::CZ_STATUS_DICTIONARY_ID_MISMATCH));
    let d = Dictionary::new(dict.to_vec()).unwrap();
    assert_eq!(decode::select_dictionary(&c, std::slice::from_ref(&d)).map(|d| d.id()), Some(d.id()));
}

#[test]
fn output_capacity_one_byte_short_fails_cleanly() {
    let data = sample(5, 50_000, 2);
    for level in [-5, 3, 19] {
        let c = compress(&data, level, false, false, None);
        let mut out = vec![0u8; data.len() - 1];
        let e = decode::decompress_into(&c, &mut out, None, &DecodeOptions::default()).unwrap_err();
        assert_eq!(e.status, cuzstd::Status(cuzstd::abi::CZ_STATUS_OUTPUT_TOO_SMALL), "level {level}");
    }
}

#[test]
fn block_past_the_declared_content_size_fails_there_whatever_the_capacity() {
    // Content size 300, then raw blocks of 200, 200 and 50 bytes: the second block goes past
    // the declared size. With room for the declared size, or far more, the verdict is the
    // frame's (CONTENT_SIZE_MISMATCH at block 1), the same for every capacity (the zipper's
    // kernels decode a tile into buffers of different sizes and must agree); below the
    // declared size it is the buffer's (OUTPUT_TOO_SMALL).
    let data = sample(6, 450, 1);
    let f = frame_of_blocks(
        300,
        &[(0, 200, data[..200].to_vec()), (0, 200, data[200..400].to_vec()), (0, 50, data[400..].to_vec())],
    );
    for cap in [300, 301, 400, 450, 1 << 16] {
        let e = ours(&f, None, cap).unwrap_err();
        assert_eq!(e.status, cuzstd::Status(cuzstd::abi::CZ_STATUS_CONTENT_SIZE_MISMATCH), "capacity {cap}");
        assert_eq!((e.frame, e.block), (0, 1), "capacity {cap}");
        assert!(libzstd(&f, None, cap).is_err(), "libzstd rejects it too (capacity {cap})");
    }
    // The same for an RLE block and for a compressed block whose sequences run past it.
    let rle = frame_of_blocks(300, &[(0, 200, data[..200].to_vec()), (1, 150, vec![7])]);
    let e = ours(&rle, None, 4096).unwrap_err();
    assert_eq!((e.status.0, e.block), (cuzstd::abi::CZ_STATUS_CONTENT_SIZE_MISMATCH, 1));
    let long = sample(7, 20_000, 2);
    let mut c = compress(&long, 3, false, true, None);
    assert_eq!(c[4] >> 6, 1, "a 2-byte content size field");
    let at = if c[4] & 0x20 != 0 { 5 } else { 6 }; // after the window descriptor, if any
    let fcs = u16::from_le_bytes([c[at], c[at + 1]]) as usize + 256;
    assert_eq!(fcs, long.len());
    // Declared one byte short (so that no offset can reach past a single-segment window).
    c[at..at + 2].copy_from_slice(&((fcs - 256 - 1) as u16).to_le_bytes());
    for cap in [fcs - 1, fcs, 1 << 20] {
        let e = ours(&c, None, cap).unwrap_err();
        assert_eq!(e.status, cuzstd::Status(cuzstd::abi::CZ_STATUS_CONTENT_SIZE_MISMATCH), "capacity {cap}");
    }
    let e = ours(&f, None, 299).unwrap_err();
    assert_eq!(e.status, cuzstd::Status(cuzstd::abi::CZ_STATUS_OUTPUT_TOO_SMALL));
}

/// A single-segment frame (4-byte content size) of the given blocks: (type, size, content).
fn frame_of_blocks(content_size: u32, blocks: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0xA0];
    f.extend_from_slice(&content_size.to_le_bytes());
    for (i, (kind, size, body)) in blocks.iter().enumerate() {
        let last = u32::from(i + 1 == blocks.len());
        let h = (size << 3) | (kind << 1) | last;
        f.extend_from_slice(&h.to_le_bytes()[..3]);
        f.extend_from_slice(body);
    }
    f
}

#[test]
fn raw_and_rle_blocks_over_128_kib_leave_the_staged_passes_and_decode_as_libzstd_does() {
    // RFC 8878 caps a block at min(window, 128 KiB), yet libzstd 1.5.6's one-shot decoder
    // copies larger raw and RLE blocks. The staged passes store a literal run in 18 bits, so
    // they leave such frames to their fallback (the frame decoder), which gives libzstd's result.
    let big = 300_000u32;
    let data = sample(5, big as usize, 1);
    let raw = frame_of_blocks(big, &[(0, big, data.clone())]);
    let rle = frame_of_blocks(big, &[(1, big, vec![b'z'])]);
    for f in [&raw, &rle] {
        assert_same_verdict(f, None, big as usize);
        let (staged, by_passes) = ours_staged(f, None, big as usize);
        assert_eq!(staged.map_err(|e| e.to_string()), libzstd(f, None, big as usize).map_err(|c| c.to_string()));
        assert!(!by_passes, "the fallback, not the passes, decodes a block over 128 KiB");
    }
    // The same content in blocks of at most 128 KiB decodes, by the passes themselves.
    let third = big / 3;
    let ok = frame_of_blocks(
        big,
        &[
            (0, third, data[..third as usize].to_vec()),
            (0, third, data[third as usize..2 * third as usize].to_vec()),
            (0, big - 2 * third, data[2 * third as usize..].to_vec()),
        ],
    );
    let (staged, by_passes) = ours_staged(&ok, None, big as usize);
    assert_eq!(staged.expect("decodes"), data);
    assert!(by_passes, "the passes, not the fallback, decode it");
    assert_same_verdict(&ok, None, big as usize);
}

#[test]
fn staged_passes_keep_64_kib_frames_of_11000_short_sequences() {
    // A 64 KiB block of 5-byte matches between single literals holds ~10,900 sequences; the
    // staged passes took ~8,500 (16-byte records in a slot) and sent more to the fallback.
    let mut data = Vec::with_capacity(65536);
    let mut x = 1u32;
    while data.len() < 65536 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        data.push((x >> 24) as u8);
        let at = data.len();
        for i in 0..5 {
            let c = if at > 64 { data[at - 64 + i] } else { b'a' };
            data.push(c);
        }
    }
    data.truncate(65536);
    let frame = compress(&data, 3, false, true, None);
    let (staged, by_passes) = ours_staged(&frame, None, data.len());
    assert_eq!(staged.expect("decodes"), data);
    assert!(by_passes, "the passes, not the fallback, decode a frame of many short sequences");
}
