//! The packer: reads a GGUF or safetensors file, packs every 2-D weight (base + delta tiles) and
//! copies every other tensor, and reports sizes and errors per tensor.
//!
//! Which tensors are packed: 2-D tensors whose name ends in `.weight`, except embeddings
//! (names containing `embd`, `embed`, `wte` or `wpe`) and norms (`norm`, `ln_`) unless
//! [`PackOptions::include_embeddings`] is set. Their values are taken at the precision the
//! model computes with: F16/BF16 as stored, F32 as stored (the lossless target is then its f16
//! rounding), GGUF quantized types dequantized and rounded to f16 (as `crate::llm` loads them).
//! Other tensors are copied: F32, F16 and BF16 as stored, GGUF quantized types as F16.

use std::path::Path;
use std::time::Instant;

use half::f16;
use rayon::prelude::*;

use super::container::{self, ContainerOptions, Item, PackedWeight, PlainTensor, SourceMeta};
use super::delta::{self, DeltaMode, HalfKind, SparseDelta};
use super::frame::{self, TileCodec};
use super::quant::{Base, BaseKind};
use super::safetensors::{Dtype, SafeTensors};
use super::tile::{
    self, TileLayout, DEFAULT_MAX_TILES, DEFAULT_MAX_TILE_BYTES, DEFAULT_TILE_ROWS, MAX_COLS, MAX_TILE_BYTES_LIMIT,
};
use super::{tensor_err, Result, ZipperError};
use crate::gguf::{GgmlType, Gguf};

/// How to pack.
#[derive(Clone, Debug)]
pub struct PackOptions {
    pub kind: BaseKind,
    pub mode: DeltaMode,
    pub tile_rows: usize,
    /// A weight whose tiles of `tile_rows` rows would be more than this gets taller tiles
    /// ([`tile::rows_per_tile`]; 0: never).
    pub max_tiles: usize,
    pub max_tile_bytes: usize,
    pub layout: TileLayout,
    /// zstd level of the frames (codec `zstd`).
    pub level: i32,
    pub codec: TileCodec,
    /// Also pack embeddings and other 2-D `.weight` tensors normally copied.
    pub include_embeddings: bool,
}

impl Default for PackOptions {
    fn default() -> Self {
        Self {
            kind: BaseKind::Int8,
            mode: DeltaMode::TopK { density: 0.01 },
            tile_rows: DEFAULT_TILE_ROWS,
            max_tiles: DEFAULT_MAX_TILES,
            max_tile_bytes: DEFAULT_MAX_TILE_BYTES,
            layout: TileLayout::Planes,
            level: frame::DEFAULT_LEVEL,
            codec: TileCodec::Literal,
            include_embeddings: false,
        }
    }
}

impl PackOptions {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ZipperError::InvalidArgument(m));
        if let DeltaMode::TopK { density } = self.mode {
            if !(0.0..=1.0).contains(&density) {
                return bad(format!("density is {density}, should be in 0..=1"));
            }
        }
        if self.tile_rows == 0 || self.tile_rows > u32::MAX as usize {
            return bad(format!("tile rows is {}, should be at least 1", self.tile_rows));
        }
        if !(6..=MAX_TILE_BYTES_LIMIT).contains(&self.max_tile_bytes) {
            return bad(format!("max tile bytes is {}, should be in 6..={MAX_TILE_BYTES_LIMIT}", self.max_tile_bytes));
        }
        Ok(())
    }

    fn lossless(&self) -> bool {
        self.mode == DeltaMode::Lossless
    }
}

/// Sizes and errors of one packed weight.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorReport {
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    /// `rows × cols × 2`.
    pub f16_bytes: u64,
    /// Quantized values plus scales.
    pub base_bytes: u64,
    /// The tiles' frames.
    pub delta_bytes: u64,
    /// The tiles' payloads before compression.
    pub delta_raw_bytes: u64,
    pub tiles: usize,
    pub nnz: u64,
    /// Lossless: entries whose f16 residual was moved by an ulp to restore the source.
    pub nudged: u64,
    /// Lossless: entries whose base was set to 0 because no residual restored them.
    pub rebased: u64,
    /// `‖W − dequant(base)‖ / ‖W‖`.
    pub err_base: f64,
    /// `‖W − Ŵ‖ / ‖W‖` with the delta applied (and the rounding a lossless pack asks for).
    pub err_final: f64,
    /// `‖W‖²`, to combine errors over tensors.
    pub norm2: f64,
}

impl TensorReport {
    /// f16 bytes over packed bytes (base + scales + delta).
    pub fn ratio(&self) -> f64 {
        self.f16_bytes as f64 / (self.base_bytes + self.delta_bytes) as f64
    }

    /// zstd's ratio on the delta alone.
    pub fn delta_ratio(&self) -> f64 {
        if self.delta_bytes == 0 {
            0.0
        } else {
            self.delta_raw_bytes as f64 / self.delta_bytes as f64
        }
    }

    /// Delta entries over weights.
    pub fn density(&self) -> f64 {
        self.nnz as f64 / (self.f16_bytes / 2).max(1) as f64
    }
}

/// The whole pack.
#[derive(Clone, Debug, Default)]
pub struct PackReport {
    pub tensors: Vec<TensorReport>,
    /// Tensors copied as-is, and their bytes.
    pub plain_tensors: usize,
    pub plain_bytes: u64,
    pub source_bytes: u64,
    pub container_bytes: u64,
    pub seconds: f64,
}

impl PackReport {
    /// The sum over packed weights (errors: of the whole set, ‖·‖ over all entries).
    pub fn total(&self) -> TensorReport {
        let mut t = TensorReport {
            name: "total".into(),
            rows: 0,
            cols: 0,
            f16_bytes: 0,
            base_bytes: 0,
            delta_bytes: 0,
            delta_raw_bytes: 0,
            tiles: 0,
            nnz: 0,
            nudged: 0,
            rebased: 0,
            err_base: 0.0,
            err_final: 0.0,
            norm2: 0.0,
        };
        let (mut eb, mut ef, mut n2) = (0.0, 0.0, 0.0);
        for r in &self.tensors {
            t.f16_bytes += r.f16_bytes;
            t.base_bytes += r.base_bytes;
            t.delta_bytes += r.delta_bytes;
            t.delta_raw_bytes += r.delta_raw_bytes;
            t.tiles += r.tiles;
            t.nnz += r.nnz;
            t.nudged += r.nudged;
            t.rebased += r.rebased;
            t.rows += r.rows;
            t.cols = t.cols.max(r.cols);
            t.norm2 += r.norm2;
            let w2 = r.norm2;
            eb += r.err_base * r.err_base * w2;
            ef += r.err_final * r.err_final * w2;
            n2 += w2;
        }
        if n2 > 0.0 {
            t.err_base = (eb / n2).sqrt();
            t.err_final = (ef / n2).sqrt();
        }
        t
    }
}

/// Is `name` (of a 2-D tensor) a weight the packer packs by default?
pub fn is_packable_name(name: &str, include_embeddings: bool) -> bool {
    if !name.ends_with(".weight") {
        return false;
    }
    if include_embeddings {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    !["embd", "embed", "wte", "wpe", "norm", "ln_"].iter().any(|s| lower.contains(s))
}

/// Packs one `rows × cols` matrix of source values `w` (f32 holding the source precision),
/// whose lossless target is `half`.
pub fn pack_matrix(
    name: &str,
    w: &[f32],
    rows: usize,
    cols: usize,
    half: HalfKind,
    source_dtype: &str,
    o: &PackOptions,
) -> Result<(PackedWeight, TensorReport)> {
    o.validate()?;
    if rows == 0 || rows > u32::MAX as usize || cols == 0 || cols > MAX_COLS {
        return Err(tensor_err(name, format!("shape {rows} × {cols} is outside 1..=2^32-1 × 1..={MAX_COLS}")));
    }
    if w.len() != rows * cols {
        return Err(tensor_err(name, format!("{} values for {rows} × {cols}", w.len())));
    }
    if let Some(i) = w.iter().position(|x| !x.is_finite()) {
        return Err(tensor_err(name, format!("element {i} (row {}, column {}) is {}", i / cols, i % cols, w[i])));
    }
    let mut base = Base::quantize(w, rows, cols, o.kind);
    let mut bq = base.dequantize();
    let max_row = tile::max_entries_per_row(o.max_tile_bytes);
    let (delta, stats) = delta::select(w, &mut bq, rows, cols, o.mode, half, max_row).map_err(|u| {
        if u.col == usize::MAX {
            tensor_err(
                name,
                format!(
                    "row {} needs more than {max_row} delta entries for a lossless pack; raise the tile bound",
                    u.row
                ),
            )
        } else {
            tensor_err(
                name,
                format!(
                    "row {}, column {}: no f16 residual restores {} from the base value {}",
                    u.row, u.col, u.source, u.base
                ),
            )
        }
    })?;
    for &(r, c) in &stats.rebased {
        base.set_zero(r, c);
    }
    let round_to = o.lossless().then_some(half);

    // Reconstruction, verified bit-exact for lossless packs, and the error report.
    let mut rec = bq.clone();
    delta.add_to(&mut rec, cols);
    if let Some(h) = round_to {
        for x in &mut rec {
            *x = h.round(*x);
        }
        if let Some(i) = (0..w.len()).find(|&i| !HalfKind::same(h.bits(rec[i]), h.bits(w[i]))) {
            return Err(tensor_err(name, format!("lossless check failed at row {}, column {}", i / cols, i % cols)));
        }
    }
    let (mut n2, mut eb, mut ef) = (0f64, 0f64, 0f64);
    for i in 0..w.len() {
        let x = f64::from(w[i]);
        n2 += x * x;
        eb += (x - f64::from(bq[i])).powi(2);
        ef += (x - f64::from(rec[i])).powi(2);
    }
    let rel = |e: f64| if n2 > 0.0 { (e / n2).sqrt() } else { e.sqrt() };

    let (packed, raw, dict) = encode_tiles(name, &delta, o)?;
    let report = TensorReport {
        name: name.to_string(),
        rows,
        cols,
        f16_bytes: (rows * cols * 2) as u64,
        base_bytes: (base.data.len() + base.scales.len() * 4) as u64,
        delta_bytes: (packed.0.len() + dict.len()) as u64,
        delta_raw_bytes: raw,
        tiles: packed.1.len() - 1,
        nnz: delta.nnz() as u64,
        nudged: stats.nudged as u64,
        rebased: stats.rebased.len() as u64,
        err_base: rel(eb),
        err_final: rel(ef),
        norm2: n2,
    };
    let (delta_bytes, tile_offsets, tile_rows) = packed;
    let weight = PackedWeight {
        name: name.to_string(),
        rows,
        cols,
        kind: o.kind,
        layout: o.layout,
        max_tile_bytes: o.max_tile_bytes,
        base: base.data,
        scales: base.scales,
        delta: delta_bytes,
        tile_offsets,
        tile_rows,
        source_dtype: source_dtype.to_string(),
        half,
        round_to,
        nnz: delta.nnz() as u64,
        dict,
    };
    Ok((weight, report))
}

type Tiles = (Vec<u8>, Vec<u64>, Vec<u32>);

/// Plans the tiles and compresses each as one frame; returns (frames, offsets, row starts),
/// the payload bytes before compression and the literal dictionary (empty for codec `zstd`).
fn encode_tiles(name: &str, delta: &SparseDelta, o: &PackOptions) -> Result<(Tiles, u64, Vec<u8>)> {
    let starts = tile::plan(delta, tile::rows_per_tile(delta.rows(), o.tile_rows, o.max_tiles), o.max_tile_bytes)
        .map_err(|r| tensor_err(name, format!("row {r} does not fit a tile of {} bytes", o.max_tile_bytes)))?;
    let payloads: Vec<Vec<u8>> = (0..starts.len() - 1)
        .into_par_iter()
        .map(|t| tile::encode(delta, starts[t]..starts[t + 1], o.layout))
        .collect();
    let (counts, id, dict) = match o.codec {
        TileCodec::Zstd => ([0u32; 256], 0, Vec::new()),
        TileCodec::Literal => {
            let counts = frame::byte_counts(payloads.iter().map(|p| p.as_slice()));
            let id = frame::dictionary_id(name);
            (counts, id, frame::literal_dictionary(&counts, id))
        }
    };
    let frames: Vec<(Vec<u8>, usize)> = payloads
        .into_par_iter()
        .enumerate()
        .map(|(t, payload)| {
            let f = match o.codec {
                TileCodec::Zstd => frame::compress_tile(&payload, o.level),
                TileCodec::Literal => frame::compress_tile_literal(&payload, &counts, id),
            }
            .map_err(|m| super::tile_err(name, t, format!("compression failed: {m}")))?;
            Ok((f, payload.len()))
        })
        .collect::<Result<_>>()?;
    let mut bytes = Vec::with_capacity(frames.iter().map(|f| f.0.len()).sum());
    let mut offsets = vec![0u64];
    let mut raw = 0u64;
    for (f, n) in frames {
        bytes.extend_from_slice(&f);
        offsets.push(bytes.len() as u64);
        raw += n as u64;
    }
    Ok(((bytes, offsets, starts.iter().map(|&r| r as u32).collect()), raw, dict))
}

/// A tensor of a source file, ready to pack or copy.
struct SourceTensor {
    name: String,
    /// Outermost dimension first.
    shape: Vec<u64>,
    kind: SourceKind,
}

enum SourceKind {
    /// Values to pack (rows × cols), their lossless target and their source type's name.
    Matrix {
        values: Vec<f32>,
        half: HalfKind,
        dtype: String,
    },
    Plain {
        dtype: Dtype,
        data: Vec<u8>,
    },
}

fn read_gguf(bytes: Vec<u8>, o: &PackOptions) -> Result<Vec<SourceTensor>> {
    let g = Gguf::parse(bytes)?;
    let mut out = Vec::new();
    for info in g.tensors() {
        let view = g.tensor(&info.name)?;
        let shape: Vec<u64> = info.dims.iter().rev().copied().collect();
        let ty = info.ggml_type;
        if !ty.can_dequantize() {
            return Err(tensor_err(&info.name, format!("GGUF type {ty} cannot be read")));
        }
        let kind = if info.dims.len() == 2 && is_packable_name(&info.name, o.include_embeddings) {
            let (values, half) = match ty {
                GgmlType::BF16 | GgmlType::F32 => {
                    (view.to_f32()?, if ty == GgmlType::BF16 { HalfKind::Bf16 } else { HalfKind::F16 })
                }
                _ => (view.to_f32_via_f16()?, HalfKind::F16),
            };
            SourceKind::Matrix { values, half, dtype: ty.to_string() }
        } else {
            match ty {
                GgmlType::F32 => SourceKind::Plain { dtype: Dtype::F32, data: view.bytes.to_vec() },
                GgmlType::F16 => SourceKind::Plain { dtype: Dtype::F16, data: view.bytes.to_vec() },
                GgmlType::BF16 => SourceKind::Plain { dtype: Dtype::BF16, data: view.bytes.to_vec() },
                _ => SourceKind::Plain {
                    dtype: Dtype::F16,
                    data: view.to_f16()?.iter().flat_map(|v: &f16| v.to_le_bytes()).collect(),
                },
            }
        };
        out.push(SourceTensor { name: info.name.clone(), shape, kind });
    }
    Ok(out)
}

fn read_safetensors(bytes: Vec<u8>, o: &PackOptions) -> Result<Vec<SourceTensor>> {
    let st = SafeTensors::parse(bytes)?;
    let mut entries: Vec<_> = st.tensors().to_vec();
    entries.sort_by_key(|e| e.range.start);
    let mut out = Vec::new();
    for e in entries {
        let data = st.data(&e);
        let float = matches!(e.dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16);
        let kind = if e.shape.len() == 2 && float && is_packable_name(&e.name, o.include_embeddings) {
            let (values, half): (Vec<f32>, _) = match e.dtype {
                Dtype::F32 => (
                    data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
                    HalfKind::F16,
                ),
                Dtype::F16 => {
                    (data.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(), HalfKind::F16)
                }
                _ => (
                    data.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
                    HalfKind::Bf16,
                ),
            };
            SourceKind::Matrix { values, half, dtype: e.dtype.name().to_string() }
        } else {
            SourceKind::Plain { dtype: e.dtype, data: data.to_vec() }
        };
        out.push(SourceTensor { name: e.name.clone(), shape: e.shape.clone(), kind });
    }
    Ok(out)
}

/// Packs the source bytes (GGUF or safetensors, told apart by the GGUF magic) and returns the
/// container bytes and the report. `file_name` is recorded in the metadata.
pub fn pack_bytes(source: Vec<u8>, file_name: &str, o: &PackOptions) -> Result<(Vec<u8>, PackReport)> {
    o.validate()?;
    let started = Instant::now();
    let source_meta = SourceMeta {
        file: file_name.to_string(),
        format: if source.starts_with(b"GGUF") { "gguf" } else { "safetensors" }.into(),
        bytes: source.len() as u64,
        xxh64: format!("{:016x}", xxhash_rust::xxh64::xxh64(&source, 0)),
    };
    let mut report = PackReport { source_bytes: source.len() as u64, ..Default::default() };
    let tensors = if source_meta.format == "gguf" { read_gguf(source, o)? } else { read_safetensors(source, o)? };
    let mut items = Vec::with_capacity(tensors.len());
    for t in tensors {
        match t.kind {
            SourceKind::Matrix { values, half, dtype } => {
                let (rows, cols) = (t.shape[0] as usize, t.shape[1] as usize);
                let (w, r) = pack_matrix(&t.name, &values, rows, cols, half, &dtype, o)?;
                report.tensors.push(r);
                items.push(Item::Packed(w));
            }
            SourceKind::Plain { dtype, data } => {
                report.plain_tensors += 1;
                report.plain_bytes += data.len() as u64;
                items.push(Item::Plain(PlainTensor { name: t.name, dtype, shape: t.shape, data }));
            }
        }
    }
    // The container's row bound: the tallest tile (tiles may have grown past o.tile_rows).
    let tallest = items
        .iter()
        .filter_map(|i| match i {
            Item::Packed(w) => w.tile_rows.windows(2).map(|r| (r[1] - r[0]) as usize).max(),
            Item::Plain(_) => None,
        })
        .max()
        .unwrap_or(0);
    let opts = ContainerOptions {
        kind: o.kind,
        lossless: o.lossless(),
        density: match o.mode {
            DeltaMode::TopK { density } => density,
            DeltaMode::Lossless => 0.0,
        },
        tile_rows: o.tile_rows.max(tallest),
        max_tile_bytes: o.max_tile_bytes,
        layout: o.layout,
        level: o.level,
        codec: o.codec,
        source: source_meta,
    };
    let bytes = container::write(&items, &opts)?;
    report.container_bytes = bytes.len() as u64;
    report.seconds = started.elapsed().as_secs_f64();
    Ok((bytes, report))
}

/// Packs the file `input` into the container `output`.
pub fn pack_file(input: &Path, output: &Path, o: &PackOptions) -> Result<PackReport> {
    let source =
        std::fs::read(input).map_err(|source| ZipperError::Io { path: input.display().to_string(), source })?;
    let file_name = input.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let (bytes, report) = pack_bytes(source, &file_name, o)?;
    super::safetensors::write_file(output, &bytes)?;
    Ok(report)
}
