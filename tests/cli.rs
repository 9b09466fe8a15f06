//! The `cuzstd` command line on the CPU backend: zstd's habits, interop, and failure
//! behaviour (non-zero exit, message naming the file, no partial output file).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cuzstd"));
    c.arg("--backend").arg("cpu");
    c
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cuzstd-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (((i * 2654435761usize) >> 13) % 23) as u8 + b'a').collect()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("cuzstd runs")
}

fn run_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn libzstd_decompress(data: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    zstd_safe::decompress(&mut out, data).unwrap();
    out
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("cuzstd-tmp"))
        .collect()
}

#[test]
fn file_round_trip_with_default_names() {
    let d = tmpdir("names");
    let src = d.join("data.txt");
    let data = sample(3_000_000);
    std::fs::write(&src, &data).unwrap();
    let o = run(bin().arg("-3").arg(&src));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let zst = d.join("data.txt.zst");
    let packed = std::fs::read(&zst).unwrap();
    assert!(packed.len() < data.len() / 2);
    assert_eq!(libzstd_decompress(&packed, data.len()), data, "zstd reads our file");
    std::fs::remove_file(&src).unwrap();
    let o = run(bin().arg("-d").arg(&zst));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&src).unwrap(), data);
    assert!(zst.exists(), "sources are kept by default");
}

#[test]
fn stdin_to_stdout_both_ways() {
    let data = sample(200_000);
    let o = run_stdin(bin().arg("-19"), &data);
    assert!(o.status.success());
    assert_eq!(libzstd_decompress(&o.stdout, data.len()), data);
    let o2 = run_stdin(bin().arg("-d").arg("-"), &o.stdout);
    assert!(o2.status.success());
    assert_eq!(o2.stdout, data);
}

#[test]
fn frames_written_by_libzstd_decompress_with_dash_o() {
    let d = tmpdir("interop");
    let data = sample(400_000);
    let mut packed = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    zstd_safe::compress(&mut packed, &data, 7).unwrap();
    std::fs::write(d.join("in.bin"), &packed).unwrap();
    let o = run(bin().arg("-d").arg(d.join("in.bin")).arg("-o").arg(d.join("out.bin")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(d.join("out.bin")).unwrap(), data);
}

#[test]
fn existing_output_is_not_overwritten_without_force() {
    let d = tmpdir("force");
    std::fs::write(d.join("a"), sample(1000)).unwrap();
    std::fs::write(d.join("a.zst"), b"precious").unwrap();
    let o = run(bin().arg(d.join("a")));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    assert_eq!(std::fs::read(d.join("a.zst")).unwrap(), b"precious");
    let o = run(bin().arg("-f").arg(d.join("a")));
    assert!(o.status.success());
    assert_ne!(std::fs::read(d.join("a.zst")).unwrap(), b"precious");
}

#[test]
fn rm_removes_the_source_only_after_success() {
    let d = tmpdir("rm");
    std::fs::write(d.join("a"), sample(5000)).unwrap();
    assert!(run(bin().arg("--rm").arg(d.join("a"))).status.success());
    assert!(!d.join("a").exists());
    std::fs::write(d.join("bad.zst"), b"not zstd at all").unwrap();
    assert!(!run(bin().arg("-d").arg("--rm").arg(d.join("bad.zst"))).status.success());
    assert!(d.join("bad.zst").exists(), "a failed input is not removed");
}

#[test]
fn corrupt_input_fails_naming_file_and_frame_and_leaves_no_output() {
    let d = tmpdir("corrupt");
    let data = sample(500_000);
    std::fs::write(d.join("x"), &data).unwrap();
    assert!(run(bin().arg("--chunk-size").arg("64K").arg(d.join("x"))).status.success());
    let mut packed = std::fs::read(d.join("x.zst")).unwrap();
    let n = packed.len();
    packed.truncate(n - 30);
    std::fs::write(d.join("t.zst"), &packed).unwrap();
    let o = run(bin().arg("-d").arg(d.join("t.zst")));
    assert!(!o.status.success());
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(msg.contains("t.zst") && msg.contains("frame"), "{msg}");
    assert!(!d.join("t").exists(), "no partial output");
    assert!(leftovers(&d).is_empty(), "no temporary file left: {:?}", leftovers(&d));
}

#[test]
fn dictionary_round_trip_and_missing_dictionary_is_an_error() {
    let d = tmpdir("dict");
    let samples: Vec<Vec<u8>> = (0..2000)
        .map(|i| {
            format!("{{\"id\":{i},\"name\":\"user{}\",\"tags\":[\"alpha\",\"beta{}\"]}}", i * 7, i % 13).into_bytes()
        })
        .collect();
    let sizes: Vec<usize> = samples.iter().map(Vec::len).collect();
    let mut dict = Vec::with_capacity(4096);
    zstd_safe::train_from_buffer(&mut dict, &samples.concat(), &sizes).unwrap();
    std::fs::write(d.join("dict"), &dict).unwrap();
    let msg = b"{\"id\":77,\"name\":\"user539\",\"tags\":[\"alpha\",\"beta12\"]}".to_vec();
    std::fs::write(d.join("m"), &msg).unwrap();
    assert!(run(bin().arg("-D").arg(d.join("dict")).arg(d.join("m"))).status.success());
    std::fs::remove_file(d.join("m")).unwrap();
    let o = run(bin().arg("-d").arg(d.join("m.zst")));
    assert!(!o.status.success(), "a frame that needs a dictionary does not decode without it");
    assert!(!d.join("m").exists());
    let o = run(bin().arg("-d").arg("-D").arg(d.join("dict")).arg(d.join("m.zst")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(d.join("m")).unwrap(), msg);
}

#[test]
fn unknown_suffix_and_bad_flags_are_errors() {
    let d = tmpdir("suffix");
    std::fs::write(d.join("plain"), b"x").unwrap();
    let o = run(bin().arg("-d").arg(d.join("plain")));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown suffix"));
    assert!(!run(bin().arg("-22").arg(d.join("plain"))).status.success(), "-22 needs --ultra");
    assert!(!run(bin().arg("--chunk-size").arg("12Q").arg(d.join("plain"))).status.success());
}

// ---- cuzstd bench (CPU columns; the GPU columns need a device) ----

fn bench_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cuzstd"))
}

#[test]
fn bench_prints_libzstd_rows_and_says_why_gpu_columns_are_missing() {
    let d = tmpdir("bench");
    let f = d.join("small.txt");
    std::fs::write(&f, sample(200_000)).unwrap();
    let out =
        run(bench_cmd().args(["bench", "--runs", "1", "--warmup", "0", "--levels", "1,3", "--threads", "1"]).arg(&f));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let name = f.display().to_string();
    for level in ["1", "3"] {
        for op in ["compress", "decompress"] {
            let row = stdout.lines().find(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                cells.len() > 6 && cells[0] == name && cells[3] == "libzstd" && cells[4] == level && cells[6] == op
            });
            assert!(row.is_some(), "no libzstd -{level} {op} row:\n{stdout}");
            assert!(!row.unwrap().contains("FAILED"), "{}", row.unwrap());
        }
    }
    assert!(stdout.contains("Summary at libzstd level 3"), "{stdout}");
    let gpu_present = cuzstd::gpu::device_count().map(|n| n > 0).unwrap_or(false);
    if gpu_present {
        assert!(stdout.contains("cuzstd"), "a GPU is present but no cuzstd rows:\n{stdout}");
    } else {
        let note = stdout.lines().find(|l| l.starts_with("note: GPU columns (cuzstd, nvCOMP) unavailable: "));
        let note = note.unwrap_or_else(|| panic!("no note on the missing GPU columns:\n{stdout}"));
        assert!(note.len() > "note: GPU columns (cuzstd, nvCOMP) unavailable: ".len() + 5, "no reason: {note}");
    }
    // --no-gpu says so explicitly.
    let out = run(bench_cmd()
        .args(["bench", "--no-gpu", "--runs", "1", "--warmup", "0", "--levels", "1", "--threads", "1"])
        .arg(&f));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("unavailable: left out by --no-gpu"));
}

#[test]
fn bench_fails_on_a_missing_file_and_without_files() {
    let d = tmpdir("bench-missing");
    let f = d.join("nope.bin");
    let out = run(bench_cmd().args(["bench", "--runs", "1"]).arg(&f));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.bin"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(bench_cmd().arg("bench"));
    assert!(!out.status.success());
}

#[test]
fn gpu_list_and_pipeline_flags_are_checked() {
    let d = tmpdir("gpus");
    let f = d.join("a.txt");
    std::fs::write(&f, sample(10_000)).unwrap();
    for (list, msg) in [("0,0", "twice"), ("x", "not a device number")] {
        let out = run(bin().args(["--gpus", list, "-c"]).arg(&f));
        assert!(!out.status.success(), "--gpus {list} accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains(msg), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = run(bin().args(["--in-flight", "0", "-c"]).arg(&f));
    assert!(!out.status.success(), "--in-flight 0 accepted");
    assert!(String::from_utf8_lossy(&out.stderr).contains("in-flight count is 0"));
    // On the CPU backend the GPU list is not used; a valid one is accepted.
    let out = run(bin().args(["--gpus", "0,1", "-c"]).arg(&f));
    assert!(out.status.success());
    assert_eq!(libzstd_decompress(&out.stdout, 10_000), sample(10_000));
}
