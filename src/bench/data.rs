//! Data sets: real files at native size or tiled to a target size, edge cases, weights.
//!
//! A set is one contiguous buffer cut into chunks of a fixed size (the last one shorter);
//! chunks are compressed independently, so tiling a file to 1 GiB models a large batch with
//! the file's own statistics (every chunk still sees only its own bytes).

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{BenchError, Result};

pub const KIB: usize = 1 << 10;
pub const MIB: usize = 1 << 20;
pub const GIB: usize = 1 << 30;

/// Chunk sizes the harness is meant for: 64 KiB (default), 16 KiB and 256 KiB.
pub const CHUNK_SIZES: [usize; 3] = [64 * KIB, 16 * KIB, 256 * KIB];
/// Default chunk size.
pub const DEFAULT_CHUNK: usize = 64 * KIB;
/// Batch sizes of the size curve: 1 MiB to 1 GiB in steps of 4.
pub const CURVE_SIZES: [usize; 6] = [MIB, 4 * MIB, 16 * MIB, 64 * MIB, 256 * MIB, GIB];
/// "Native" size of the generated edge sets (random, all-equal).
pub const EDGE_NATIVE: usize = 4 * MIB;

/// Parses "65536", "64k", "64KiB", "16m", "1g", "1GiB" (binary units, case-insensitive).
pub fn parse_size(s: &str) -> Result<usize> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix("ib").or_else(|| t.strip_suffix('b')).unwrap_or(&t);
    let (digits, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], KIB),
        Some('m') => (&t[..t.len() - 1], MIB),
        Some('g') => (&t[..t.len() - 1], GIB),
        _ => (t, 1),
    };
    let n: usize = digits.trim().parse().map_err(|_| BenchError::Data(format!("size {s:?}: not a number")))?;
    n.checked_mul(mult).filter(|&v| v > 0).ok_or_else(|| BenchError::Data(format!("size {s:?} is out of range")))
}

/// "64 KiB", "1 GiB", "5.10 MiB", "100003 B".
pub fn format_size(n: usize) -> String {
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if n >= unit {
            return if n % unit == 0 {
                format!("{} {name}", n / unit)
            } else {
                format!("{:.2} {name}", n as f64 / unit as f64)
            };
        }
    }
    format!("{n} B")
}

/// The size a set is built at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetSize {
    /// The file as it is (generated sets: [`EDGE_NATIVE`]).
    Native,
    /// Tiled (or cut) to exactly this many bytes.
    Bytes(usize),
}

impl SetSize {
    /// "native" or a size for [`parse_size`].
    pub fn parse(s: &str) -> Result<Self> {
        if s.trim().eq_ignore_ascii_case("native") {
            Ok(SetSize::Native)
        } else {
            parse_size(s).map(SetSize::Bytes)
        }
    }

    pub fn label(self) -> String {
        match self {
            SetSize::Native => "native".into(),
            SetSize::Bytes(n) => format_size(n),
        }
    }
}

/// Where a set's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// Several files one after the other (a folder of related files as one set).
    Concat(Vec<PathBuf>),
    /// Incompressible: a fixed-seed pseudo-random stream.
    Random,
    /// Every byte the same.
    AllEqual(u8),
}

/// A named source, e.g. `silesia/xml` or `random`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub source: Source,
}

/// One buffer cut into chunks.
#[derive(Clone, Debug)]
pub struct DataSet {
    /// Source name.
    pub name: String,
    /// The size it was asked for.
    pub size: SetSize,
    pub bytes: Vec<u8>,
    pub chunk_size: usize,
}

impl DataSet {
    pub fn new(name: impl Into<String>, size: SetSize, bytes: Vec<u8>, chunk_size: usize) -> Result<Self> {
        if bytes.is_empty() {
            return Err(BenchError::Data("empty data set".into()));
        }
        if chunk_size == 0 || chunk_size % 8 != 0 {
            return Err(BenchError::Data(format!("chunk size {chunk_size} is not a positive multiple of 8")));
        }
        Ok(Self { name: name.into(), size, bytes, chunk_size })
    }

    /// Builds `input` at `size` with chunks of `chunk_size`.
    pub fn build(input: &Input, size: SetSize, chunk_size: usize) -> Result<Self> {
        let bytes = match (&input.source, size) {
            (Source::File(p), SetSize::Native) => read_file(p)?,
            (Source::File(p), SetSize::Bytes(n)) => tile(&read_file(p)?, n),
            (Source::Concat(ps), s) => {
                let mut all = Vec::new();
                for p in ps {
                    all.extend_from_slice(&read_file(p)?);
                }
                match s {
                    SetSize::Native => all,
                    SetSize::Bytes(n) => tile(&all, n),
                }
            }
            (Source::Random, s) => random_bytes(native_or(s, EDGE_NATIVE), 0x6375_7a73_7464),
            (Source::AllEqual(b), s) => vec![*b; native_or(s, EDGE_NATIVE)],
        };
        Self::new(input.name.clone(), size, bytes, chunk_size)
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Sizes of the chunks.
    pub fn chunk_lens(&self) -> Vec<usize> {
        chunk_lens(self.len(), self.chunk_size)
    }

    /// Where each chunk lies in [`DataSet::bytes`].
    pub fn chunk_ranges(&self) -> Vec<Range<usize>> {
        let mut at = 0;
        self.chunk_lens()
            .into_iter()
            .map(|l| {
                at += l;
                at - l..at
            })
            .collect()
    }

    pub fn chunks(&self) -> Vec<&[u8]> {
        self.bytes.chunks(self.chunk_size).collect()
    }

    /// The number of leading chunks that fit in `max_bytes` (at least one): the sample a
    /// slow configuration is measured on.
    pub fn sample_chunks(&self, max_bytes: usize) -> usize {
        let n = self.chunk_lens().len();
        (max_bytes / self.chunk_size).clamp(1, n)
    }

    /// Bytes in the first `chunks` chunks.
    pub fn prefix_bytes(&self, chunks: usize) -> usize {
        (chunks * self.chunk_size).min(self.len())
    }
}

fn native_or(size: SetSize, native: usize) -> usize {
    match size {
        SetSize::Native => native,
        SetSize::Bytes(n) => n,
    }
}

fn read_file(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| BenchError::Data(format!("{}: {e}", p.display())))
}

/// Chunk sizes of a buffer of `total` bytes cut every `chunk` bytes.
pub fn chunk_lens(total: usize, chunk: usize) -> Vec<usize> {
    assert!(chunk > 0);
    let mut v = vec![chunk; total / chunk];
    if total % chunk != 0 {
        v.push(total % chunk);
    }
    v
}

/// `src` repeated until exactly `target` bytes (cut mid-copy; a longer `src` is truncated).
pub fn tile(src: &[u8], target: usize) -> Vec<u8> {
    assert!(!src.is_empty(), "cannot tile an empty file");
    let mut out = Vec::with_capacity(target);
    while out.len() < target {
        let take = src.len().min(target - out.len());
        out.extend_from_slice(&src[..take]);
    }
    out
}

/// `len` pseudo-random bytes (SplitMix64), the same for the same seed on every machine.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Every regular file under `dir` (recursively), named by its path relative to `dir`
/// with `/` separators, sorted by name; and for every subfolder holding several files, one
/// more set `folder/*` of its files concatenated in name order (e.g. `canterbury/*`).
pub fn find_files(dir: &Path) -> Result<Vec<Input>> {
    let files = find_plain_files(dir)?;
    let mut folders: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for i in &files {
        if let (Some((folder, _)), Source::File(p)) = (i.name.rsplit_once('/'), &i.source) {
            match folders.iter_mut().find(|(f, _)| f == folder) {
                Some((_, v)) => v.push(p.clone()),
                None => folders.push((folder.to_string(), vec![p.clone()])),
            }
        }
    }
    let mut out = files;
    for (folder, paths) in folders {
        if paths.len() > 1 {
            out.push(Input { name: format!("{folder}/*"), source: Source::Concat(paths) });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn find_plain_files(dir: &Path) -> Result<Vec<Input>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<Input>) -> Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| BenchError::Data(format!("{}: {e}", dir.display())))?
            .collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let ft = std::fs::metadata(&path)?.file_type();
            if ft.is_dir() {
                walk(root, &path, out)?;
            } else if ft.is_file() && std::fs::metadata(&path)?.len() > 0 {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let name = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                if !name.starts_with('.') && !name.contains("/.") {
                    out.push(Input { name, source: Source::File(path) });
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The two generated edge cases: `random` (incompressible) and `all-equal` (bytes 0x61).
pub fn edge_inputs() -> Vec<Input> {
    vec![
        Input { name: "random".into(), source: Source::Random },
        Input { name: "all-equal".into(), source: Source::AllEqual(b'a') },
    ]
}

/// Keeps the inputs whose name contains one of `filters` (all of them when empty).
pub fn select(inputs: Vec<Input>, filters: &[String]) -> Vec<Input> {
    if filters.is_empty() {
        return inputs;
    }
    inputs.into_iter().filter(|i| filters.iter().any(|f| i.name.contains(f.as_str()))).collect()
}
