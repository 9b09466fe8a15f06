//! CPU tests of the benchmark harness: data sets, the libzstd baseline and its verification,
//! layouts, statistics and report formatting. Nothing here touches a GPU or nvCOMP.

use std::path::PathBuf;

use cuzstd::bench::cpu::{split_even, Libzstd};
use cuzstd::bench::data::{
    chunk_lens, find_files, format_size, parse_size, random_bytes, tile, DataSet, Input, SetSize, Source, CHUNK_SIZES,
    KIB, MIB,
};
use cuzstd::bench::report::{csv_line, format_csv, format_table, utc_string, Direction, Mode, Outcome, Row, Stats};
use cuzstd::bench::run::{run_set, Config};
use cuzstd::bench::{compare, BenchError};
use cuzstd::gpu::nvcomp::Layout;

fn bench_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench-data")
}

fn small_text() -> Vec<u8> {
    let p = bench_data().join("canterbury/alice29.txt");
    std::fs::read(&p)
        .unwrap_or_else(|_| b"Alice was beginning to get very tired of sitting by her sister. ".repeat(2000))
}

#[test]
fn sizes_parse_and_print_in_binary_units() {
    assert_eq!(parse_size("64k").unwrap(), 64 * KIB);
    assert_eq!(parse_size("64KiB").unwrap(), 64 * KIB);
    assert_eq!(parse_size("16m").unwrap(), 16 * MIB);
    assert_eq!(parse_size("1g").unwrap(), 1 << 30);
    assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
    assert_eq!(parse_size("4096").unwrap(), 4096);
    assert!(parse_size("0").is_err());
    assert!(parse_size("lots").is_err());
    assert_eq!(format_size(64 * KIB), "64 KiB");
    assert_eq!(format_size(1 << 30), "1 GiB");
    assert_eq!(format_size(5_345_280), "5.10 MiB");
    assert_eq!(format_size(100), "100 B");
    assert_eq!(SetSize::parse("native").unwrap(), SetSize::Native);
    assert_eq!(SetSize::parse("1g").unwrap().label(), "1 GiB");
}

#[test]
fn tiling_repeats_the_file_to_the_exact_size() {
    let src = b"abcdefghij";
    let t = tile(src, 95);
    assert_eq!(t.len(), 95);
    for (i, b) in t.iter().enumerate() {
        assert_eq!(*b, src[i % src.len()]);
    }
    assert_eq!(tile(src, 4), b"abcd");
}

#[test]
fn chunking_covers_the_set_with_one_short_tail() {
    assert_eq!(chunk_lens(10, 4), vec![4, 4, 2]);
    assert_eq!(chunk_lens(8, 4), vec![4, 4]);
    let text = small_text();
    let input = Input { name: "alice".into(), source: Source::File(bench_data().join("canterbury/alice29.txt")) };
    for chunk in CHUNK_SIZES {
        let set = if input_exists(&input) {
            DataSet::build(&input, SetSize::Bytes(3 * MIB + 123), chunk).unwrap()
        } else {
            DataSet::new("alice", SetSize::Bytes(3 * MIB + 123), tile(&text, 3 * MIB + 123), chunk).unwrap()
        };
        assert_eq!(set.len(), 3 * MIB + 123);
        let lens = set.chunk_lens();
        assert_eq!(lens.len(), (3 * MIB + 123).div_ceil(chunk));
        assert!(lens[..lens.len() - 1].iter().all(|&l| l == chunk));
        assert_eq!(*lens.last().unwrap(), 123);
        assert_eq!(lens.iter().sum::<usize>(), set.len());
        let ranges = set.chunk_ranges();
        assert_eq!(ranges[0], 0..chunk);
        assert_eq!(ranges.last().unwrap().end, set.len());
        assert_eq!(set.chunks().len(), lens.len());
        // Sampling keeps whole leading chunks, at least one.
        assert_eq!(set.sample_chunks(2 * chunk + 1), 2);
        assert_eq!(set.sample_chunks(1), 1);
        assert_eq!(set.sample_chunks(usize::MAX), lens.len());
        assert_eq!(set.prefix_bytes(lens.len()), set.len());
    }
    assert!(DataSet::new("x", SetSize::Native, vec![1; 10], 12).is_err(), "chunk sizes are multiples of 8");
    assert!(DataSet::new("x", SetSize::Native, Vec::new(), 64).is_err(), "empty sets are refused");
}

fn input_exists(i: &Input) -> bool {
    matches!(&i.source, Source::File(p) if p.is_file())
}

#[test]
fn native_size_is_the_file_itself() {
    let p = bench_data().join("pi.txt");
    if !p.is_file() {
        eprintln!("{} missing: skipped", p.display());
        return;
    }
    let input = Input { name: "pi.txt".into(), source: Source::File(p.clone()) };
    let set = DataSet::build(&input, SetSize::Native, 64 * KIB).unwrap();
    assert_eq!(set.bytes, std::fs::read(&p).unwrap());
}

#[test]
fn edge_sets_are_incompressible_and_all_equal() {
    let r = random_bytes(MIB, 7);
    assert_eq!(r.len(), MIB);
    assert_eq!(r, random_bytes(MIB, 7), "deterministic");
    let edges = cuzstd::bench::data::edge_inputs();
    assert_eq!(edges.len(), 2);
    let random = DataSet::build(&edges[0], SetSize::Bytes(MIB), 64 * KIB).unwrap();
    let equal = DataSet::build(&edges[1], SetSize::Bytes(MIB), 64 * KIB).unwrap();
    assert!(equal.bytes.iter().all(|&b| b == equal.bytes[0]));
    let mut lz = Libzstd::new(3, 2);
    let mut frames = Vec::new();
    lz.compress(&random.chunks(), &mut frames).unwrap();
    let c: usize = frames.iter().map(Vec::len).sum();
    assert!(c >= random.len(), "random data does not compress ({c} of {})", random.len());
    lz.compress(&equal.chunks(), &mut frames).unwrap();
    let c: usize = frames.iter().map(Vec::len).sum();
    assert!(c * 100 < equal.len(), "all-equal data compresses well ({c} of {})", equal.len());
}

#[test]
fn shared_bench_data_is_found_with_relative_names() {
    let dir = bench_data();
    if !dir.is_dir() {
        eprintln!("{} missing: skipped", dir.display());
        return;
    }
    let files = find_files(&dir).unwrap();
    let names: Vec<&str> = files.iter().map(|i| i.name.as_str()).collect();
    assert!(names.contains(&"silesia/xml"), "{names:?}");
    assert!(names.contains(&"canterbury/alice29.txt"), "{names:?}");
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted");
    let some = cuzstd::bench::data::select(files, &["canterbury".to_string()]);
    assert_eq!(some.len(), 5, "four texts and canterbury/*");
    let all = some.iter().find(|i| i.name == "canterbury/*").expect("the folder as one set");
    let set = DataSet::build(all, SetSize::Native, 64 * KIB).unwrap();
    let parts: usize = some
        .iter()
        .filter(|i| i.name != "canterbury/*")
        .map(|i| DataSet::build(i, SetSize::Native, 64 * KIB).unwrap().len())
        .sum();
    assert_eq!(set.len(), parts);
    assert!(set.bytes.starts_with(&std::fs::read(dir.join("canterbury/alice29.txt")).unwrap()));
}

#[test]
fn threads_split_chunks_evenly() {
    assert_eq!(split_even(10, 3), vec![0..4, 4..7, 7..10]);
    assert_eq!(split_even(2, 8), vec![0..1, 1..2]);
    assert_eq!(split_even(0, 4), vec![0..0]);
}

#[test]
fn libzstd_round_trips_on_one_and_several_threads() {
    let text = tile(&small_text(), 2 * MIB + 5);
    let set = DataSet::new("t", SetSize::Native, text, 64 * KIB).unwrap();
    let chunks = set.chunks();
    let lens = set.chunk_lens();
    for threads in [1, 3] {
        let mut lz = Libzstd::new(1, threads);
        let mut frames = Vec::new();
        lz.compress(&chunks, &mut frames).unwrap();
        assert_eq!(frames.len(), chunks.len());
        lz.verify("round trip", &frames, &chunks).unwrap();
        let mut out = vec![0u8; set.len()];
        lz.decompress(&frames, &lens, &mut out).unwrap();
        assert!(out == set.bytes);
        // Each chunk is one standard frame that plain zstd decodes.
        let one = zstd_safe::decompress(&mut vec![0u8; lens[0]], &frames[0]).unwrap();
        assert_eq!(one, lens[0]);
    }
}

#[test]
fn libzstd_verification_catches_corrupt_frames_and_wrong_output() {
    let set = DataSet::new("t", SetSize::Native, tile(&small_text(), 256 * KIB), 64 * KIB).unwrap();
    let chunks = set.chunks();
    let mut lz = Libzstd::new(3, 2);
    let mut frames = Vec::new();
    lz.compress(&chunks, &mut frames).unwrap();
    // Frames of other data decode fine but do not match.
    let mut swapped = frames.clone();
    swapped.swap(0, 1);
    let mut other = chunks.clone();
    other[0] = &set.bytes[7..7 + chunks[0].len()];
    assert!(matches!(lz.verify("shifted", &frames, &other), Err(BenchError::Verify(_))));
    // A damaged frame does not verify.
    let mut bad = frames.clone();
    let mid = bad[2].len() / 2;
    bad[2].truncate(mid);
    assert!(lz.verify("truncated", &bad, &chunks).is_err());
    assert!(compare("x", b"abc", b"abd").is_err());
    assert!(compare("x", b"abc", b"ab").is_err());
    compare("x", b"abc", b"abc").unwrap();
}

#[test]
fn layouts_align_chunk_starts_and_pack_chunks() {
    let l = Layout::packed(&[5, 3, 8], 4);
    assert_eq!(l.offsets, vec![0, 8, 12]);
    assert_eq!(l.total, 20);
    let packed = l.pack(&[b"aaaaa", b"bbb", b"cccccccc"]);
    assert_eq!(packed.len(), 20);
    assert_eq!(l.chunk(&packed, 1), b"bbb");
    assert_eq!(&packed[5..8], &[0, 0, 0], "gaps are zero");
    let s = Layout::slots(&[10, 10], 8);
    assert_eq!((s.offsets.clone(), s.lens.clone(), s.total), (vec![0, 16], vec![0, 0], 26));
    // A set cut into 64 KiB chunks is its own packed layout (no repacking for the GPU).
    let lens = chunk_lens(MIB + 100, 64 * KIB);
    assert_eq!(Layout::packed(&lens, 8).total, MIB + 100);
}

#[test]
fn statistics_take_the_median_and_refuse_bad_times() {
    let s = Stats::from_times(&[3.0, 1.0, 2.0]).unwrap();
    assert_eq!((s.median_s, s.min_s, s.max_s, s.runs), (2.0, 1.0, 3.0, 3));
    assert_eq!(Stats::from_times(&[1.0, 2.0, 3.0, 10.0]).unwrap().median_s, 2.5);
    assert!(Stats::from_times(&[]).is_none());
    assert!(Stats::from_times(&[1.0, 0.0]).is_none());
    assert!((Stats::from_times(&[0.5]).unwrap().gbps(1_000_000_000) - 2.0).abs() < 1e-12);
}

fn row(outcome: Outcome) -> Row {
    Row {
        set: "silesia/xml".into(),
        size: "1 GiB".into(),
        set_bytes: 1 << 30,
        chunk_size: 64 * KIB,
        codec: "nvCOMP".into(),
        level: "-".into(),
        threads: "gpu".into(),
        direction: Direction::Decompress,
        frames: "libzstd -3".into(),
        mode: Mode::Device,
        measured_bytes: 1 << 30,
        compressed_bytes: 1 << 27,
        outcome,
        note: "a, \"quoted\" note".into(),
    }
}

#[test]
fn table_and_csv_report_numbers_only_for_verified_rows() {
    let ok = row(Outcome::Verified(Stats::from_times(&[0.01, 0.011, 0.012]).unwrap()));
    let bad = row(Outcome::Failed("chunk 3: byte 7 differs".into()));
    assert_eq!(ok.ratio(), Some(8.0));
    assert!(bad.gbps().is_none());
    let t = format_table(&[ok.clone(), bad.clone()]);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 4, "{t}");
    assert!(lines[0].starts_with("set "));
    assert!(lines[2].contains("97.61"), "{t}");
    assert!(lines[3].contains("FAILED") && lines[3].contains("not reported: chunk 3"), "{t}");
    assert!(!lines[3].contains("97.61") && !lines[3].contains("8.000"));
    let ok_csv = csv_line(&ok);
    assert!(ok_csv.contains(",verified,3,"), "{ok_csv}");
    assert!(ok_csv.ends_with("\"a, \"\"quoted\"\" note\""), "{ok_csv}");
    let bad_csv = csv_line(&bad);
    assert!(bad_csv.contains(",failed,0,,,,,"), "{bad_csv}");
    let full = format_csv(&[("GPU".into(), "H100".into())], &[ok, bad]);
    let mut it = full.lines();
    assert_eq!(it.next(), Some("# GPU: H100"));
    let header = it.next().unwrap();
    assert_eq!(header.split(',').count(), 20);
}

#[test]
fn utc_dates_are_civil_dates() {
    assert_eq!(utc_string(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc_string(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(utc_string(1_700_000_000), "2023-11-14 22:13:20 UTC");
}

#[test]
fn cpu_run_of_a_set_verifies_and_samples_slow_levels() {
    let set = DataSet::new("t", SetSize::Bytes(512 * KIB), tile(&small_text(), 512 * KIB), 64 * KIB).unwrap();
    let cfg = Config {
        levels: vec![1, 19],
        threads: vec![1, 2],
        runs: 2,
        warmup: 0,
        sample_per_thread: 64 * MIB,
        sample_per_thread_high: 64 * KIB,
        gpu_decode_levels: vec![],
        gpu_decode_high_limit: 0,
    };
    let rows = run_set(&set, &cfg, true, None, &mut |_| {});
    assert_eq!(rows.len(), 2 * 2 * 2);
    for r in &rows {
        assert!(r.stats().is_some(), "{r:?}");
        assert_eq!(r.codec, "libzstd");
        assert!(r.ratio().unwrap() > 1.5);
    }
    let l19: Vec<&Row> = rows.iter().filter(|r| r.level == "19").collect();
    assert_eq!(l19[0].measured_bytes, 64 * KIB);
    assert!(l19[0].note.contains("first 64 KiB of 512 KiB"), "{}", l19[0].note);
    assert_eq!(l19[2].measured_bytes, 128 * KIB, "the cap is per thread");
    let l1 = rows.iter().find(|r| r.level == "1").unwrap();
    assert_eq!(l1.measured_bytes, set.len());
    assert!(l1.note.is_empty());
}

#[test]
fn layouts_that_would_send_the_device_out_of_bounds_are_refused() {
    Layout::packed(&[5, 3, 8], 4).validate().unwrap();
    Layout::slots(&[10, 10], 8).validate().unwrap();
    let mut l = Layout::packed(&[8, 8], 8);
    l.total = 15;
    assert!(l.validate().unwrap_err().contains("past the buffer"));
    let mut l = Layout::packed(&[8, 8], 8);
    l.offsets[1] = 4;
    assert!(l.validate().unwrap_err().contains("overlaps"));
    let mut l = Layout::packed(&[8, 8], 8);
    l.lens[0] = 9;
    assert!(l.validate().unwrap_err().contains("exceeds its capacity"));
    let mut l = Layout::packed(&[8], 8);
    l.offsets[0] = usize::MAX;
    assert!(l.validate().is_err());
}

#[test]
fn summary_pivots_one_level_into_columns() {
    let stats = || Outcome::Verified(Stats::from_times(&[0.01]).unwrap());
    let mut zc = row(stats());
    zc.codec = "libzstd".into();
    zc.level = "3".into();
    zc.threads = "16".into();
    zc.direction = Direction::Compress;
    zc.frames = "-".into();
    zc.mode = Mode::Cpu;
    let mut z1 = zc.clone();
    z1.level = "1".into();
    let mut nvd = row(stats());
    nvd.frames = "libzstd -3".into();
    let mut nv1 = nvd.clone();
    nv1.frames = "libzstd -1".into();
    let mut nvc = row(Outcome::Failed("bad".into()));
    nvc.direction = Direction::Compress;
    nvc.frames = "-".into();
    let s = cuzstd::bench::report::format_summary(&[zc, z1, nvd, nv1, nvc], 3);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 3, "{s}");
    assert!(lines[0].contains("zstd-3 16T comp") && lines[0].contains("nvCOMP dec zstd-3 device"), "{s}");
    assert!(!lines[0].contains("zstd-1") && !s.contains("dec zstd-1"), "{s}");
    assert!(lines[2].contains("107.37") && lines[2].contains("FAILED") && lines[2].contains("8.000"), "{s}");
}
