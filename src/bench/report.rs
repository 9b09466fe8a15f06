//! Measured rows, their statistics, and the table and CSV they are reported in.

use std::fmt::Write as _;

use super::data::format_size;
use super::Result;

/// Timed runs of one configuration, in seconds per run.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub runs: usize,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
}

impl Stats {
    /// Statistics of `times` (seconds); `None` when empty or not all finite and positive.
    pub fn from_times(times: &[f64]) -> Option<Self> {
        if times.is_empty() || times.iter().any(|t| !t.is_finite() || *t <= 0.0) {
            return None;
        }
        let mut t = times.to_vec();
        t.sort_by(f64::total_cmp);
        let n = t.len();
        let median_s = if n % 2 == 1 { t[n / 2] } else { (t[n / 2 - 1] + t[n / 2]) / 2.0 };
        Some(Self { runs: n, median_s, min_s: t[0], max_s: t[n - 1] })
    }

    /// GB/s (10^9 bytes per second) of `bytes` at the median time.
    pub fn gbps(&self, bytes: usize) -> f64 {
        bytes as f64 / self.median_s / 1e9
    }
}

/// Runs `f` `warmup` times untimed, then `runs` times; `f` returns the seconds it measured.
pub fn measure(warmup: usize, runs: usize, mut f: impl FnMut() -> Result<f64>) -> Result<Stats> {
    for _ in 0..warmup {
        f()?;
    }
    let times = (0..runs.max(1)).map(|_| f()).collect::<Result<Vec<f64>>>()?;
    Stats::from_times(&times)
        .ok_or_else(|| super::BenchError::Data(format!("timer returned an unusable time among {times:?}")))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Compress,
    Decompress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Compress => "compress",
            Direction::Decompress => "decompress",
        }
    }
}

/// What the clock covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Host wall clock around the libzstd calls (data in host memory).
    Cpu,
    /// CUDA events around the batch call; data already on the device.
    Device,
    /// CUDA events around pinned upload, the batch call and pinned download.
    HostToHost,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cpu => "cpu",
            Mode::Device => "device",
            Mode::HostToHost => "h2h",
        }
    }
}

/// The result of one configuration: numbers only after its output was verified.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Output verified once (decompressed and compared with the input), then timed.
    Verified(Stats),
    /// Verification or a call failed: no numbers are reported.
    Failed(String),
}

/// One configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Data set name, e.g. `silesia/xml`.
    pub set: String,
    /// "native" or the tiled size, e.g. "1 GiB".
    pub size: String,
    /// Uncompressed bytes of the whole set.
    pub set_bytes: usize,
    pub chunk_size: usize,
    /// "libzstd", "nvCOMP", later "cuzstd".
    pub codec: String,
    /// Compression level ("-" where the codec has none).
    pub level: String,
    /// CPU threads, or "gpu".
    pub threads: String,
    pub direction: Direction,
    /// For decompression: who wrote the frames, e.g. "libzstd -3"; "-" for compression.
    pub frames: String,
    pub mode: Mode,
    /// Uncompressed bytes one timed run processes (the whole set, or a sample of it).
    pub measured_bytes: usize,
    /// Compressed bytes of those (frame bytes, without padding between frames).
    pub compressed_bytes: usize,
    pub outcome: Outcome,
    /// Anything the reader must know (sampling, what h2h includes).
    pub note: String,
}

impl Row {
    /// Uncompressed / compressed bytes, for verified rows.
    pub fn ratio(&self) -> Option<f64> {
        (self.compressed_bytes > 0 && self.stats().is_some())
            .then(|| self.measured_bytes as f64 / self.compressed_bytes as f64)
    }

    /// Median GB/s of uncompressed bytes, for verified rows.
    pub fn gbps(&self) -> Option<f64> {
        match &self.outcome {
            Outcome::Verified(s) => Some(s.gbps(self.measured_bytes)),
            Outcome::Failed(_) => None,
        }
    }

    pub fn stats(&self) -> Option<&Stats> {
        match &self.outcome {
            Outcome::Verified(s) => Some(s),
            Outcome::Failed(_) => None,
        }
    }
}

/// A throughput with two decimals, or three significant digits below 1 GB/s.
pub fn format_gbps(x: f64) -> String {
    if x >= 1.0 {
        format!("{x:.2}")
    } else if x >= 0.01 {
        format!("{x:.3}")
    } else {
        format!("{x:.5}")
    }
}

/// The human table: one line per row, grouped as given.
pub fn format_table(rows: &[Row]) -> String {
    let header = [
        "set",
        "size",
        "chunk",
        "codec",
        "level",
        "threads",
        "op",
        "frames",
        "mode",
        "measured",
        "ratio",
        "GB/s",
        "min..max GB/s",
        "runs",
        "note",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let (gb, range, runs) = match &r.outcome {
            Outcome::Verified(s) => (
                format_gbps(s.gbps(r.measured_bytes)),
                format!(
                    "{}..{}",
                    format_gbps(r.measured_bytes as f64 / s.max_s / 1e9),
                    format_gbps(r.measured_bytes as f64 / s.min_s / 1e9)
                ),
                s.runs.to_string(),
            ),
            Outcome::Failed(_) => ("FAILED".into(), "-".into(), "0".into()),
        };
        let note = match &r.outcome {
            Outcome::Failed(e) => format!("not reported: {e}"),
            Outcome::Verified(_) => r.note.clone(),
        };
        cells.push(vec![
            r.set.clone(),
            r.size.clone(),
            format_size(r.chunk_size),
            r.codec.clone(),
            r.level.clone(),
            r.threads.clone(),
            r.direction.as_str().into(),
            r.frames.clone(),
            r.mode.as_str().into(),
            format_size(r.measured_bytes),
            r.ratio().map_or("-".into(), |x| format!("{x:.3}")),
            gb,
            range,
            runs,
            note,
        ]);
    }
    let cols = header.len();
    let widths: Vec<usize> =
        (0..cols).map(|c| cells.iter().map(|row| row[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, row) in cells.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let numeric = matches!(c, 10..=13) && i > 0;
            if c + 1 == cols {
                let _ = write!(line, "{cell}");
            } else if numeric {
                let _ = write!(line, "{cell:>w$} | ", w = widths[c]);
            } else {
                let _ = write!(line, "{cell:<w$} | ", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 3 * (cols - 1);
            out.push_str(&"-".repeat(total.min(200)));
            out.push('\n');
        }
    }
    out
}

/// CSV header of [`csv_line`].
pub const CSV_HEADER: &str = "set,size,set_bytes,chunk_size,codec,level,threads,direction,frames,mode,\
measured_bytes,compressed_bytes,ratio,status,runs,median_s,min_s,max_s,median_gbps,note";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One CSV record (no newline). Failed rows have status `failed`, empty numbers and the
/// error in `note`.
pub fn csv_line(r: &Row) -> String {
    let (status, runs, med, min, max, gbps, note) = match &r.outcome {
        Outcome::Verified(s) => (
            "verified",
            s.runs.to_string(),
            format!("{:.9}", s.median_s),
            format!("{:.9}", s.min_s),
            format!("{:.9}", s.max_s),
            format!("{:.4}", s.gbps(r.measured_bytes)),
            r.note.clone(),
        ),
        Outcome::Failed(e) => {
            ("failed", "0".into(), String::new(), String::new(), String::new(), String::new(), e.clone())
        }
    };
    let fields = [
        csv_field(&r.set),
        csv_field(&r.size),
        r.set_bytes.to_string(),
        r.chunk_size.to_string(),
        csv_field(&r.codec),
        csv_field(&r.level),
        csv_field(&r.threads),
        r.direction.as_str().into(),
        csv_field(&r.frames),
        r.mode.as_str().into(),
        r.measured_bytes.to_string(),
        r.compressed_bytes.to_string(),
        r.ratio().map_or(String::new(), |x| format!("{x:.4}")),
        status.into(),
        runs,
        med,
        min,
        max,
        gbps,
        csv_field(&note),
    ];
    fields.join(",")
}

/// The whole CSV: `# key: value` lines for the environment, the header, the rows.
pub fn format_csv(env: &[(String, String)], rows: &[Row]) -> String {
    let mut out = String::new();
    for (k, v) in env {
        let _ = writeln!(out, "# {k}: {v}");
    }
    out.push_str(CSV_HEADER);
    out.push('\n');
    for r in rows {
        out.push_str(&csv_line(r));
        out.push('\n');
    }
    out
}

/// UTC date and time of `secs` since the Unix epoch, "YYYY-MM-DD HH:MM:SS UTC".
pub fn utc_string(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Short column label of a row's configuration for [`format_summary`].
fn summary_label(r: &Row) -> String {
    let who = if r.codec == "libzstd" { format!("zstd-{} {}T", r.level, r.threads) } else { r.codec.clone() };
    let op = match r.direction {
        Direction::Compress => "comp".to_string(),
        Direction::Decompress if r.codec == "libzstd" => "dec".to_string(),
        Direction::Decompress if r.frames == r.codec => "dec own".to_string(),
        Direction::Decompress => format!("dec {}", r.frames.replace("libzstd ", "zstd")),
    };
    match r.mode {
        Mode::Cpu => format!("{who} {op}"),
        m => format!("{who} {op} {}", m.as_str()),
    }
}

/// A pivot of the rows at one libzstd level: one line per (set, size, chunk), one column
/// per configuration (GB/s; FAILED where verification failed), plus the level's ratio.
/// Rows of other levels are left out; GPU rows decoding other levels' frames too.
pub fn format_summary(rows: &[Row], level: i32) -> String {
    let lvl = level.to_string();
    let frames = format!("libzstd -{level}");
    let keep = |r: &&Row| {
        (r.codec == "libzstd" && r.level == lvl)
            || (r.codec != "libzstd"
                && (r.direction == Direction::Compress || r.frames == frames || r.frames == r.codec))
    };
    let mut cols: Vec<String> = Vec::new();
    let mut keys: Vec<(String, String, usize)> = Vec::new();
    for r in rows.iter().filter(keep) {
        let c = summary_label(r);
        if !cols.contains(&c) {
            cols.push(c);
        }
        let k = (r.set.clone(), r.size.clone(), r.chunk_size);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut header = vec!["set".to_string(), "size".into(), "chunk".into(), format!("ratio -{level}")];
    header.extend(cols.iter().cloned());
    let mut cells = vec![header];
    for (set, size, chunk) in &keys {
        let mine: Vec<&Row> =
            rows.iter().filter(keep).filter(|r| &r.set == set && &r.size == size && r.chunk_size == *chunk).collect();
        let ratio = mine
            .iter()
            .find(|r| r.codec == "libzstd" && r.measured_bytes == r.set_bytes && r.ratio().is_some())
            .or_else(|| mine.iter().find(|r| r.codec == "libzstd" && r.ratio().is_some()))
            .and_then(|r| r.ratio())
            .map_or("-".into(), |x| format!("{x:.3}"));
        let mut line = vec![set.clone(), size.clone(), format_size(*chunk), ratio];
        for c in &cols {
            let cell = match mine.iter().find(|r| &summary_label(r) == c) {
                None => "-".into(),
                Some(r) => match &r.outcome {
                    Outcome::Verified(s) => format_gbps(s.gbps(r.measured_bytes)),
                    Outcome::Failed(_) => "FAILED".into(),
                },
            };
            line.push(cell);
        }
        cells.push(line);
    }
    let widths: Vec<usize> =
        (0..cells[0].len()).map(|c| cells.iter().map(|row| row[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, row) in cells.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(
                |(c, cell)| {
                    if c < 3 {
                        format!("{cell:<w$}", w = widths[c])
                    } else {
                        format!("{cell:>w$}", w = widths[c])
                    }
                },
            )
            .collect();
        out.push_str(line.join(" | ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-|-"));
            out.push('\n');
        }
    }
    out
}
