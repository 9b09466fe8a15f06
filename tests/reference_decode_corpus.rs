//! The reference-build decoder against libzstd 1.5.6's one-shot verdict on every file of the
//! shared corpus: byte-exact output where libzstd decodes, an error where it rejects.
//!
//! Small sets are packed in tests/data/decode (see its README); the decodecorpus sets
//! (16 MB of frames) are read from ../shared/corpus, which CI provides.

mod common;

use common::corpus::{capacity, libzstd, read_dir_sorted, shared_corpus, unpack};

use cuzstd::decode::{self, DecodeOptions, Dictionary};

/// Compares one input; returns a description of the disagreement, if any.
fn check(name: &str, src: &[u8], dict: Option<&[u8]>) -> Option<String> {
    let cap = capacity(src);
    let want = libzstd(src, dict, cap);
    let d = dict.map(|b| Dictionary::new(b.to_vec()));
    let got = match d {
        Some(Err(e)) => Err(e),
        Some(Ok(ref d)) => {
            let mut out = vec![0u8; cap];
            decode::decompress_into(src, &mut out, Some(d), &DecodeOptions::default().unlimited_window()).map(|n| {
                out.truncate(n);
                out
            })
        }
        None => {
            let mut out = vec![0u8; cap];
            decode::decompress_into(src, &mut out, None, &DecodeOptions::default().unlimited_window()).map(|n| {
                out.truncate(n);
                out
            })
        }
    };
    for (path, run) in [
        ("staged decoder", decode::decompress_staged_into as HostPath),
        ("staged decoder, solo sequences pass", decode::decompress_staged_solo_into as HostPath),
        ("split tile decode", decode::decompress_split_into as HostPath),
    ] {
        if let Some(problem) = check_path(name, path, run, src, dict, cap, &got) {
            return Some(problem);
        }
    }
    match (&want, &got) {
        (Ok(w), Ok(g)) if w == g => None,
        (Ok(w), Ok(g)) => {
            Some(format!("{name}: output differs ({} bytes from libzstd, {} from cuzstd)", w.len(), g.len()))
        }
        (Err(_), Err(_)) => None,
        (Ok(w), Err(e)) => Some(format!("{name}: libzstd decodes {} bytes, cuzstd fails: {e}", w.len())),
        (Err(e), Ok(g)) => Some(format!("{name}: libzstd fails ({e}), cuzstd decodes {} bytes", g.len())),
    }
}

/// A host run of a GPU decode path (`decode::decompress_staged_into`, `decompress_split_into`).
type HostPath = fn(&[u8], &mut [u8], Option<&Dictionary>, &DecodeOptions) -> (Result<usize, decode::DecodeError>, bool);

/// A GPU decode path run on the host (the staged passes, the zipper kernel's two-team tile
/// decode) must give the frame decoder's result on every input, output and error alike.
fn check_path(
    name: &str,
    path: &str,
    run: HostPath,
    src: &[u8],
    dict: Option<&[u8]>,
    cap: usize,
    want: &Result<Vec<u8>, cuzstd::decode::DecodeError>,
) -> Option<String> {
    let d = match dict.map(|b| Dictionary::new(b.to_vec())) {
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => return None,
        None => None,
    };
    let mut out = vec![0u8; cap];
    let (got, by_path) = run(src, &mut out, d.as_ref(), &DecodeOptions::default().unlimited_window());
    let got = got.map(|n| {
        out.truncate(n);
        out
    });
    match (want, &got) {
        (Ok(w), Ok(g)) if w == g => None,
        (Err(a), Err(b)) if a == b => None,
        _ => Some(format!(
            "{name}: {path} (decoded by the path itself: {by_path}) gives {:?}, the frame decoder {:?}",
            got.as_ref().map(|v| v.len()),
            want.as_ref().map(|v| v.len())
        )),
    }
}

fn assert_all_agree(set: &str, failures: Vec<String>, checked: usize) {
    assert!(checked > 0, "{set}: no files checked");
    assert!(
        failures.is_empty(),
        "{set}: {} of {checked} files disagree with libzstd:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn zstd_golden_files_get_libzstd_verdict() {
    let recs = unpack("zstd-golden.pack.zst");
    let mut failures = Vec::new();
    let mut n = 0;
    for (name, data) in &recs {
        if name.starts_with("golden-decompression") {
            n += 1;
            failures.extend(check(name, data, None));
        }
    }
    assert_all_agree("zstd golden", failures, n);
}

#[test]
fn zstd_golden_must_decode_files_decode() {
    for (name, data) in unpack("zstd-golden.pack.zst") {
        if name.starts_with("golden-decompression/") {
            let out = decode::decompress(&data, None, &DecodeOptions::default());
            assert!(out.is_ok(), "{name}: {:?}", out.err());
        }
    }
}

#[test]
fn zstd_golden_must_fail_files_fail_as_libzstd_does() {
    // libzstd 1.5.6 still accepts truncated_huff_state.zst (decompressor_permissive.md); the
    // verdict test above checks that we match it. The others must fail.
    for (name, data) in unpack("zstd-golden.pack.zst") {
        if name.starts_with("golden-decompression-errors/") && !name.contains("truncated_huff_state") {
            let r = decode::decompress(&data, None, &DecodeOptions::default());
            assert!(r.is_err(), "{name} decoded");
        }
    }
}

#[test]
fn golden_compression_inputs_round_trip_with_golden_dictionaries() {
    let recs = unpack("zstd-golden.pack.zst");
    let inputs: Vec<_> = recs.iter().filter(|(n, _)| n.starts_with("golden-compression/")).collect();
    let dicts: Vec<_> =
        recs.iter().filter(|(n, _)| n.starts_with("golden-dictionaries/") || n.starts_with("dict-files/")).collect();
    assert!(!inputs.is_empty() && !dicts.is_empty());
    let mut failures = Vec::new();
    let mut n = 0;
    for (iname, input) in &inputs {
        for level in [1, 3, 19] {
            let mut c = Vec::with_capacity(zstd_safe::compress_bound(input.len()));
            zstd_safe::compress(&mut c, input, level).unwrap();
            n += 1;
            failures.extend(check(&format!("{iname} level {level}"), &c, None));
            for (dname, dict) in &dicts {
                let mut cctx = zstd_safe::CCtx::create();
                let mut c = Vec::with_capacity(zstd_safe::compress_bound(input.len()));
                if cctx.compress_using_dict(&mut c, input, dict, level).is_ok() {
                    n += 1;
                    failures.extend(check(&format!("{iname} level {level} dict {dname}"), &c, Some(dict)));
                }
            }
        }
    }
    assert_all_agree("golden round trips", failures, n);
}

#[test]
fn split_tile_decode_takes_single_block_frames_itself() {
    // A split decode that sent everything to its fallback would pass the verdict tests; this
    // checks that its parts decode the frames they are meant for (one compressed block with
    // a content size, as the zipper's tile frames are) and leave the others to the fallback.
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut took = 0;
    for (i, size) in [300usize, 2_656, 9_000, 40_000, 100_000].into_iter().enumerate() {
        // Compressible bytes: short random runs repeated at random distances, as tile planes.
        let mut data = Vec::with_capacity(size);
        while data.len() < size {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let back = (rng >> 8) as usize % 64 + 1;
            if data.len() > back && rng & 3 != 0 {
                let at = data.len() - back;
                data.push(data[at]);
            } else {
                data.push((rng >> 32) as u8 % 40);
            }
        }
        data.truncate(size);
        let mut cctx = zstd_safe::CCtx::create();
        cctx.set_parameter(zstd_safe::CParameter::CompressionLevel(3)).unwrap();
        cctx.set_parameter(zstd_safe::CParameter::ChecksumFlag(true)).unwrap();
        let mut frame = vec![0u8; zstd_safe::compress_bound(size)];
        let n = cctx.compress2(&mut frame[..], &data).unwrap();
        frame.truncate(n);
        let opts = DecodeOptions::default();
        let mut out = vec![0u8; size];
        let (r, split) = decode::decompress_split_into(&frame, &mut out, None, &opts);
        assert_eq!(r.ok(), Some(size), "frame {i}: {size} bytes");
        assert_eq!(out, data, "frame {i}: {size} bytes");
        assert!(split, "frame {i} ({size} bytes, one block) went to the fallback");
        took += 1;
        // The same frame twice is two frames: the fallback's, with the same result.
        let two = [frame.as_slice(), frame.as_slice()].concat();
        let mut out2 = vec![0u8; 2 * size];
        let (r2, split2) = decode::decompress_split_into(&two, &mut out2, None, &opts);
        assert_eq!(r2.ok(), Some(2 * size));
        assert!(!split2, "two concatenated frames were taken by the split parts");
        // A flipped checksum bit fails exactly as in the frame decoder.
        let mut bad = frame.clone();
        *bad.last_mut().unwrap() ^= 1;
        let (rb, _) = decode::decompress_split_into(&bad, &mut out, None, &opts);
        let want = decode::decompress_into(&bad, &mut vec![0u8; size], None, &opts);
        assert_eq!(rb.err(), want.err(), "frame {i}: corrupt checksum");
    }
    assert_eq!(took, 5);
}

#[test]
fn staged_passes_decode_the_plain_decodecorpus_frames_themselves() {
    // A staged decoder that sent everything to its fallback would pass the verdict tests;
    // this checks that its passes do the work on frames they are meant for.
    let dir = shared_corpus().join("decodecorpus/nodict/zst");
    let (mut plain, mut staged) = (0, 0);
    for p in read_dir_sorted(&dir) {
        let data = std::fs::read(&p).unwrap();
        let info = decode::frames_info(&data);
        let Ok(info) = info else { continue };
        let Some(size) = info.content_size else { continue };
        let mut out = vec![0u8; size as usize];
        let opts = DecodeOptions::default().unlimited_window();
        if decode::decompress_into(&data, &mut out, None, &opts).is_err()
            || decode::first_frame_dict_id(&data).is_some()
        {
            continue;
        }
        plain += 1;
        let (r, by_passes) = decode::decompress_staged_into(&data, &mut out, None, &opts);
        assert!(r.is_ok(), "{}: {:?}", p.display(), r.err());
        staged += usize::from(by_passes);
        // A slot holds over 8,000 sequences of at least 3 bytes: every frame of up to 24 KiB fits.
        assert!(by_passes || size > 24 << 10, "{}: {size} bytes, decoded by the fallback", p.display());
        // The small-batch sequences pass takes the same frames (their bitstreams are far
        // below its 48 KiB buffer).
        let (rs, by_solo) = decode::decompress_staged_solo_into(&data, &mut out, None, &opts);
        assert!(rs.is_ok(), "{}: solo: {:?}", p.display(), rs.err());
        assert_eq!(by_solo, by_passes, "{}: the solo pass and the thread pass disagree", p.display());
    }
    eprintln!("staged passes decoded {staged} of {plain} frames with a content size");
    assert!(plain >= 50, "only {plain} plain frames");
    assert!(staged * 2 >= plain, "staged passes decoded only {staged} of {plain} plain frames");
}

#[test]
fn decodecorpus_frames_without_dictionary_get_libzstd_verdict() {
    let dir = shared_corpus().join("decodecorpus/nodict/zst");
    let mut failures = Vec::new();
    let mut n = 0;
    for p in read_dir_sorted(&dir) {
        let data = std::fs::read(&p).unwrap();
        n += 1;
        failures.extend(check(&p.display().to_string(), &data, None));
    }
    assert_eq!(n, 150);
    assert_all_agree("decodecorpus nodict", failures, n);
}

#[test]
fn decodecorpus_frames_with_dictionary_get_libzstd_verdict() {
    let dir = shared_corpus().join("decodecorpus/dict/zst");
    let dict = std::fs::read(dir.join("dictionary")).unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for p in read_dir_sorted(&dir) {
        if p.extension().is_some_and(|e| e == "zst") {
            let data = std::fs::read(&p).unwrap();
            n += 1;
            failures.extend(check(&p.display().to_string(), &data, Some(&dict)));
        }
    }
    assert_eq!(n, 50);
    assert_all_agree("decodecorpus dict", failures, n);
}

#[test]
fn decodecorpus_outputs_match_the_recorded_originals() {
    // Independent of libzstd: the generator's own record of each frame's content.
    let base = shared_corpus().join("decodecorpus");
    let dict = Dictionary::new(std::fs::read(base.join("dict/zst/dictionary")).unwrap()).unwrap();
    for (sub, d) in [("nodict", None), ("dict", Some(&dict))] {
        for p in read_dir_sorted(&base.join(sub).join("zst")) {
            if p.extension().is_none_or(|e| e != "zst") {
                continue;
            }
            let data = std::fs::read(&p).unwrap();
            let orig = std::fs::read(base.join(sub).join("orig").join(p.file_stem().unwrap())).unwrap();
            let got = decode::decompress(&data, d, &DecodeOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(got == orig, "{}: output differs from orig/", p.display());
        }
    }
}

#[test]
fn ruzstd_decodecorpus_files_get_libzstd_verdict() {
    let dir = shared_corpus().join("ruzstd/decodecorpus_files");
    let mut failures = Vec::new();
    let mut n = 0;
    for p in read_dir_sorted(&dir) {
        if p.extension().is_some_and(|e| e == "zst") {
            let data = std::fs::read(&p).unwrap();
            n += 1;
            failures.extend(check(&p.display().to_string(), &data, None));
        }
    }
    assert_all_agree("ruzstd", failures, n);
}

fn klauspost_set(pack: &str) {
    let recs = unpack(pack);
    let mut failures = Vec::new();
    for (name, data) in &recs {
        failures.extend(check(name, data, None));
    }
    assert_all_agree(pack, failures, recs.len());
}

#[test]
fn klauspost_good_files_get_libzstd_verdict() {
    klauspost_set("klauspost-good.pack.zst");
}

#[test]
fn klauspost_regression_crashers_get_libzstd_verdict() {
    klauspost_set("klauspost-regression.pack.zst");
}

#[test]
fn klauspost_decode_regression_crashers_get_libzstd_verdict() {
    klauspost_set("klauspost-decode-regression.pack.zst");
}

#[test]
fn klauspost_dictionary_frames_get_libzstd_verdict() {
    let recs = unpack("klauspost-dict-tests-small.pack.zst");
    let mut failures = Vec::new();
    let mut n = 0;
    for (name, data) in &recs {
        let Some((dir, _)) = name.split_once('/') else { continue };
        let dict = &recs.iter().find(|(n, _)| *n == format!("{dir}.dict")).unwrap_or_else(|| panic!("{dir}.dict")).1;
        n += 1;
        failures.extend(check(name, data, Some(dict)));
    }
    assert_all_agree("klauspost dict-tests-small", failures, n);
}

#[test]
fn window_beyond_the_default_limit_is_refused_and_accepted_when_allowed() {
    // A frame header declaring a 256 MiB window (windowLog 28), then one empty raw block.
    let frame = [0x28, 0xB5, 0x2F, 0xFD, 0x00, (28 - 10) << 3, 0x01, 0x00, 0x00];
    let e = decode::decompress(&frame, None, &DecodeOptions::default()).unwrap_err();
    assert_eq!(e.status, cuzstd::Status(cuzstd::abi::CZ_STATUS_WINDOW_TOO_LARGE));
    let out = decode::decompress(&frame, None, &DecodeOptions::default().window_log_max(28)).unwrap();
    assert!(out.is_empty());
}
