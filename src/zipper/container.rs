//! The zipper container: a safetensors file holding, for each packed weight `W`,
//!
//! | tensor | dtype | shape |
//! |---|---|---|
//! | `W.base` | I8 (INT8) or U8 (INT4, two nibbles per byte) | `[rows, cols]` or `[rows, ceil(cols/2)]` |
//! | `W.scales` | F32 | `[rows]` (INT8) or `[rows, ceil(cols/group)]` (INT4) |
//! | `W.delta` | U8 | `[bytes]`: the tiles' zstd frames back to back |
//! | `W.tile_offsets` | U64 | `[tiles + 1]`: frame `t` is `delta[off[t]..off[t+1]]` |
//! | `W.tile_rows` | U32 | `[tiles + 1]`: tile `t` holds rows `rows[t]..rows[t+1]` |
//!
//! plus every other tensor of the source copied as-is (F32, F16 or BF16) under its own name, and
//! `__metadata__["zipper"]`: a JSON document ([`ZipperMeta`]) with the format name and version,
//! the packing options, the source file's hash, each weight's shape and tiling, and the XXH64 of
//! every tensor's bytes.
//!
//! [`ZipperFile::parse`] validates everything except the compressed contents of the frames:
//! the safetensors framing, the metadata, every tensor's dtype and shape against it, the
//! checksums, finite non-negative scales, tile offsets and row starts (first, monotone, last),
//! and that each tile's bytes are exactly one zstd frame declaring a content size within the
//! tile bound. [`PackedWeight::decode_tile`] / [`PackedWeight::verify`] decode the frames.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::delta::HalfKind;
use super::frame::{self, TileCodec};
use super::quant::BaseKind;
use super::safetensors::{parse_strict_json, Dtype, SafeTensors, Writer};
use super::tile::{self, DecodedTile, TileLayout, MAX_COLS, MAX_TILE_BYTES_LIMIT};
use super::{tensor_err, tile_err, Result, ZipperError};

/// `format` field of the metadata.
pub const FORMAT: &str = "cuzstd-zipper";
/// The version this code writes. Version 2 added `tile_codec` and the `.dict` tensors; version
/// 1 files (always tile codec `zstd`) are still read.
pub const VERSION: u32 = 2;
/// Key of the metadata document in `__metadata__`.
pub const META_KEY: &str = "zipper";

/// Suffixes of a packed weight's tensors.
pub const BASE: &str = ".base";
pub const SCALES: &str = ".scales";
pub const DELTA: &str = ".delta";
pub const TILE_OFFSETS: &str = ".tile_offsets";
pub const TILE_ROWS: &str = ".tile_rows";
/// The weight's literal dictionary (tile codec `literal` only).
pub const DICT: &str = ".dict";
/// Largest literal dictionary accepted (ours are under 400 bytes).
pub const MAX_DICT_BYTES: usize = 4096;

/// The source file the container was packed from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceMeta {
    /// File name (without directories).
    pub file: String,
    /// `gguf` or `safetensors`.
    pub format: String,
    pub bytes: u64,
    /// XXH64 (seed 0) of the whole file, 16 hex digits.
    pub xxh64: String,
}

/// One packed weight's description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightMeta {
    pub rows: u64,
    pub cols: u64,
    /// The source's element type (e.g. `F16`, `BF16`, `F32`, `Q4_1`).
    pub source_dtype: String,
    /// `f16` or `bf16`: the half type a lossless delta restores (F32 and quantized GGUF
    /// sources are taken at f16).
    pub half: String,
    /// `none`, or the half type each reconstructed weight is rounded to before the product
    /// (lossless packs: the layer then computes with exactly the source values).
    pub round_to: String,
    pub tiles: u64,
    /// Delta entries in all tiles.
    pub nnz: u64,
}

/// The container's metadata document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZipperMeta {
    pub format: String,
    pub version: u32,
    /// `int8` or `int4`.
    pub base: String,
    /// INT4 group size along the input dimension; absent for INT8.
    pub group_size: Option<u32>,
    /// `topk` or `lossless`.
    pub mode: String,
    /// Requested fraction of entries per row for `topk`; 0 for `lossless`.
    pub density: f64,
    /// Most rows per tile.
    pub tile_rows: u32,
    /// Most bytes of a tile's decompressed delta.
    pub max_tile_bytes: u32,
    /// `plain` or `planes` (see [`super::tile`]).
    pub layout: String,
    /// zstd level the frames were compressed with (tile codec `zstd`).
    pub level: i32,
    /// `literal` or `zstd` (see [`super::frame`]); absent in version 1 (`zstd`).
    #[serde(default = "zstd_codec")]
    pub tile_codec: String,
    pub source: SourceMeta,
    pub weights: BTreeMap<String, WeightMeta>,
    /// XXH64 of every tensor's bytes, 16 hex digits.
    pub checksums: BTreeMap<String, String>,
}

fn zstd_codec() -> String {
    TileCodec::Zstd.name().into()
}

impl ZipperMeta {
    pub fn codec(&self) -> Result<TileCodec> {
        TileCodec::parse(&self.tile_codec)
            .ok_or_else(|| ZipperError::Metadata(format!("unknown tile codec {:?}", self.tile_codec)))
    }

    pub fn base_kind(&self) -> Result<BaseKind> {
        let bad = |m: String| ZipperError::Metadata(m);
        match (self.base.as_str(), self.group_size) {
            ("int8", None) => Ok(BaseKind::Int8),
            ("int4", Some(g)) => BaseKind::parse("int4", Some(g as usize)).map_err(|e| bad(e.to_string())),
            (b, g) => Err(bad(format!("base {b:?} with group size {g:?} is not int8 or int4 with a group"))),
        }
    }

    pub fn tile_layout(&self) -> Result<TileLayout> {
        TileLayout::parse(&self.layout)
            .ok_or_else(|| ZipperError::Metadata(format!("unknown layout {:?}", self.layout)))
    }
}

/// One packed weight, in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedWeight {
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    pub kind: BaseKind,
    pub layout: TileLayout,
    pub max_tile_bytes: usize,
    /// Quantized values, `rows × kind.row_bytes(cols)`.
    pub base: Vec<u8>,
    /// `rows × kind.scales_per_row(cols)`.
    pub scales: Vec<f32>,
    /// The tiles' frames back to back.
    pub delta: Vec<u8>,
    /// `tiles + 1` offsets into `delta`.
    pub tile_offsets: Vec<u64>,
    /// `tiles + 1` row starts.
    pub tile_rows: Vec<u32>,
    pub source_dtype: String,
    pub half: HalfKind,
    pub round_to: Option<HalfKind>,
    pub nnz: u64,
    /// The literal dictionary every tile frame is coded with; empty for tile codec `zstd`.
    pub dict: Vec<u8>,
}

impl PackedWeight {
    pub fn codec(&self) -> TileCodec {
        if self.dict.is_empty() {
            TileCodec::Zstd
        } else {
            TileCodec::Literal
        }
    }

    pub fn tiles(&self) -> usize {
        self.tile_offsets.len().saturating_sub(1)
    }

    /// Rows of tile `t`.
    pub fn tile_row_range(&self, t: usize) -> std::ops::Range<usize> {
        self.tile_rows[t] as usize..self.tile_rows[t + 1] as usize
    }

    /// The compressed frame of tile `t`.
    pub fn tile_frame(&self, t: usize) -> &[u8] {
        &self.delta[self.tile_offsets[t] as usize..self.tile_offsets[t + 1] as usize]
    }

    /// Decompresses and parses tile `t`; errors name the tensor and tile.
    pub fn decode_tile(&self, t: usize) -> Result<DecodedTile> {
        let payload = frame::decompress_tile(self.tile_frame(t), self.max_tile_bytes, &self.dict)
            .map_err(|m| tile_err(&self.name, t, m))?;
        tile::decode(&payload, self.tile_row_range(t).len(), self.cols, self.layout)
            .map_err(|m| tile_err(&self.name, t, m))
    }

    /// Decodes every tile and checks the entry count against the metadata.
    pub fn verify(&self) -> Result<()> {
        let mut nnz = 0u64;
        for t in 0..self.tiles() {
            nnz += self.decode_tile(t)?.cols.len() as u64;
        }
        if nnz != self.nnz {
            return Err(tensor_err(&self.name, format!("tiles hold {nnz} delta entries, metadata says {}", self.nnz)));
        }
        Ok(())
    }

    fn meta(&self) -> WeightMeta {
        WeightMeta {
            rows: self.rows as u64,
            cols: self.cols as u64,
            source_dtype: self.source_dtype.clone(),
            half: self.half.name().into(),
            round_to: self.round_to.map_or("none", |h| h.name()).into(),
            tiles: self.tiles() as u64,
            nnz: self.nnz,
        }
    }
}

/// A tensor copied as-is.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainTensor {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub data: Vec<u8>,
}

/// What goes into a container, in file order.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Packed(PackedWeight),
    Plain(PlainTensor),
}

/// Options recorded in the metadata (everything but the weights and checksums).
#[derive(Clone, Debug)]
pub struct ContainerOptions {
    pub kind: BaseKind,
    pub lossless: bool,
    pub density: f64,
    pub tile_rows: usize,
    pub max_tile_bytes: usize,
    pub layout: TileLayout,
    pub level: i32,
    pub codec: TileCodec,
    pub source: SourceMeta,
}

fn hex64(v: u64) -> String {
    format!("{v:016x}")
}

fn le_bytes<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    v.iter().flat_map(|&x| f(x)).collect()
}

/// Serialises `items` into a container.
pub fn write(items: &[Item], o: &ContainerOptions) -> Result<Vec<u8>> {
    let mut w = Writer::new();
    let mut meta = ZipperMeta {
        format: FORMAT.into(),
        version: VERSION,
        base: o.kind.name().into(),
        group_size: match o.kind {
            BaseKind::Int8 => None,
            BaseKind::Int4 { group } => Some(group as u32),
        },
        mode: if o.lossless { "lossless" } else { "topk" }.into(),
        density: if o.lossless { 0.0 } else { o.density },
        tile_rows: o.tile_rows as u32,
        max_tile_bytes: o.max_tile_bytes as u32,
        layout: o.layout.name().into(),
        level: o.level,
        tile_codec: o.codec.name().into(),
        source: o.source.clone(),
        weights: BTreeMap::new(),
        checksums: BTreeMap::new(),
    };
    let mut add = |w: &mut Writer, name: String, dtype: Dtype, shape: Vec<u64>, data: Vec<u8>| -> Result<()> {
        meta.checksums.insert(name.clone(), hex64(xxhash_rust::xxh64::xxh64(&data, 0)));
        w.tensor(&name, dtype, shape, data)?;
        Ok(())
    };
    let mut weights = BTreeMap::new();
    for item in items {
        match item {
            Item::Plain(t) => add(&mut w, t.name.clone(), t.dtype, t.shape.clone(), t.data.clone())?,
            Item::Packed(p) => {
                if p.kind != o.kind
                    || p.layout != o.layout
                    || p.max_tile_bytes != o.max_tile_bytes
                    || p.codec() != o.codec
                {
                    return Err(tensor_err(&p.name, "packed with options other than the container's"));
                }
                let (r, c) = (p.rows as u64, p.cols as u64);
                let (base_dtype, base_shape) = match p.kind {
                    BaseKind::Int8 => (Dtype::I8, vec![r, c]),
                    BaseKind::Int4 { .. } => (Dtype::U8, vec![r, p.kind.row_bytes(p.cols) as u64]),
                };
                let scale_shape = match p.kind {
                    BaseKind::Int8 => vec![r],
                    BaseKind::Int4 { .. } => vec![r, p.kind.scales_per_row(p.cols) as u64],
                };
                let n = &p.name;
                add(&mut w, format!("{n}{BASE}"), base_dtype, base_shape, p.base.clone())?;
                add(&mut w, format!("{n}{SCALES}"), Dtype::F32, scale_shape, le_bytes(&p.scales, f32::to_le_bytes))?;
                add(&mut w, format!("{n}{DELTA}"), Dtype::U8, vec![p.delta.len() as u64], p.delta.clone())?;
                let t = p.tile_offsets.len() as u64;
                add(
                    &mut w,
                    format!("{n}{TILE_OFFSETS}"),
                    Dtype::U64,
                    vec![t],
                    le_bytes(&p.tile_offsets, u64::to_le_bytes),
                )?;
                add(&mut w, format!("{n}{TILE_ROWS}"), Dtype::U32, vec![t], le_bytes(&p.tile_rows, u32::to_le_bytes))?;
                if !p.dict.is_empty() {
                    add(&mut w, format!("{n}{DICT}"), Dtype::U8, vec![p.dict.len() as u64], p.dict.clone())?;
                }
                weights.insert(p.name.clone(), p.meta());
            }
        }
    }
    meta.weights = weights;
    w.metadata(META_KEY, serde_json::to_string(&meta).expect("metadata serialises"));
    Ok(w.to_bytes())
}

/// A validated container.
#[derive(Debug)]
pub struct ZipperFile {
    pub meta: ZipperMeta,
    st: SafeTensors,
}

impl ZipperFile {
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|source| ZipperError::Io { path: path.display().to_string(), source })?;
        Self::parse(bytes)
    }

    /// Validates a container (see the module documentation). Never panics on any input.
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        Self::parse_with(bytes, true)
    }

    /// [`ZipperFile::parse`], optionally without comparing the tensors' XXH64 sums (every
    /// structural check still runs; a fuzz target uses this to reach the checks behind the sums).
    pub fn parse_with(bytes: Vec<u8>, verify_checksums: bool) -> Result<Self> {
        let st = SafeTensors::parse(bytes)?;
        let text = st
            .metadata()
            .get(META_KEY)
            .ok_or_else(|| ZipperError::Metadata(format!("__metadata__ has no {META_KEY:?} entry")))?;
        let json = parse_strict_json(text).map_err(|e| ZipperError::Metadata(format!("not valid JSON: {e}")))?;
        let format = json.get("format").and_then(|v| v.as_str()).unwrap_or("");
        if format != FORMAT {
            return Err(ZipperError::Metadata(format!("format is {format:?}, should be {FORMAT:?}")));
        }
        let version = json.get("version").and_then(|v| v.as_u64());
        match version {
            Some(1) if json.get("tile_codec").is_none() => {}
            Some(1) => return Err(ZipperError::Metadata("version 1 has no tile_codec field".into())),
            Some(v) if v == u64::from(VERSION) && json.get("tile_codec").is_some() => {}
            Some(v) if v == u64::from(VERSION) => return Err(ZipperError::Metadata("tile_codec is missing".into())),
            v => return Err(ZipperError::Metadata(format!("version is {v:?}, only 1 and {VERSION} are supported"))),
        }
        let meta: ZipperMeta =
            serde_json::from_value(json).map_err(|e| ZipperError::Metadata(format!("malformed: {e}")))?;
        let f = Self { meta, st };
        f.validate(verify_checksums)?;
        Ok(f)
    }

    fn validate(&self, verify_checksums: bool) -> Result<()> {
        let m = &self.meta;
        let bad = |s: String| Err(ZipperError::Metadata(s));
        m.base_kind()?;
        m.tile_layout()?;
        m.codec()?;
        if m.tile_rows == 0 {
            return bad("tile_rows is 0".into());
        }
        if !(6..=MAX_TILE_BYTES_LIMIT as u32).contains(&m.max_tile_bytes) {
            return bad(format!("max_tile_bytes is {}, should be in 6..={MAX_TILE_BYTES_LIMIT}", m.max_tile_bytes));
        }
        match m.mode.as_str() {
            "lossless" => {}
            "topk" if (0.0..=1.0).contains(&m.density) => {}
            other => return bad(format!("mode {other:?} with density {} is not valid", m.density)),
        }
        // Every tensor has a checksum and matches it; every checksum names a tensor.
        for e in self.st.tensors() {
            let want = m.checksums.get(&e.name).ok_or_else(|| tensor_err(&e.name, "no checksum in the metadata"))?;
            let got = hex64(xxhash_rust::xxh64::xxh64(self.st.data(e), 0));
            if verify_checksums && *want != got {
                return Err(tensor_err(&e.name, format!("XXH64 is {got}, metadata says {want}: the data is damaged")));
            }
        }
        if let Some(name) = m.checksums.keys().find(|n| self.st.entry(n).is_none()) {
            return Err(tensor_err(name, "has a checksum but is not in the container"));
        }
        for name in m.weights.keys() {
            self.load_weight(name, false)?;
        }
        Ok(())
    }

    fn typed<'a>(&'a self, name: &str, dtype: Dtype, shape: &[u64]) -> Result<&'a [u8]> {
        let (e, data) = self.st.tensor(name)?;
        if e.dtype != dtype || e.shape != shape {
            return Err(tensor_err(name, format!("is {} {:?}, should be {dtype} {shape:?}", e.dtype, e.shape)));
        }
        Ok(data)
    }

    /// Names of the packed weights.
    pub fn weight_names(&self) -> impl Iterator<Item = &str> {
        self.meta.weights.keys().map(String::as_str)
    }

    /// The plain (not packed) tensors' descriptions.
    pub fn plain_tensors(&self) -> impl Iterator<Item = &super::safetensors::TensorEntry> {
        self.st.tensors().iter().filter(move |e| !self.is_packed_part(&e.name))
    }

    fn is_packed_part(&self, name: &str) -> bool {
        [BASE, SCALES, DELTA, TILE_OFFSETS, TILE_ROWS, DICT]
            .iter()
            .any(|s| name.strip_suffix(s).is_some_and(|w| self.meta.weights.contains_key(w)))
    }

    /// A plain tensor widened to f32, with its shape (F32, F16 or BF16).
    pub fn plain_f32(&self, name: &str) -> Result<(Vec<u64>, Vec<f32>)> {
        let (e, d) = self.st.tensor(name)?;
        let v = match e.dtype {
            Dtype::F32 => d.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Dtype::F16 => d.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
            Dtype::BF16 => d.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
            other => return Err(tensor_err(name, format!("is {other}, not a float type"))),
        };
        Ok((e.shape.clone(), v))
    }

    /// The packed weight `name`, copied out of the file and validated (except the frames'
    /// compressed contents: see [`PackedWeight::verify`]).
    pub fn weight(&self, name: &str) -> Result<PackedWeight> {
        self.load_weight(name, true)?.ok_or_else(|| tensor_err(name, "was not copied"))
    }

    /// Validates the weight `name`; returns it copied out of the file when `copy` is set.
    fn load_weight(&self, name: &str, copy: bool) -> Result<Option<PackedWeight>> {
        let m = &self.meta;
        let wm = m.weights.get(name).ok_or_else(|| tensor_err(name, "is not a packed weight of this container"))?;
        let err = |s: String| tensor_err(name, s);
        let kind = m.base_kind()?;
        if wm.rows == 0 || wm.rows > u64::from(u32::MAX) || wm.cols == 0 || wm.cols > MAX_COLS as u64 {
            return Err(err(format!("shape {} × {} is outside 1..=2^32-1 × 1..={MAX_COLS}", wm.rows, wm.cols)));
        }
        let (rows, cols) = (wm.rows as usize, wm.cols as usize);
        let half = HalfKind::parse(&wm.half).ok_or_else(|| err(format!("half type {:?} is unknown", wm.half)))?;
        let round_to = match wm.round_to.as_str() {
            "none" => None,
            s => Some(HalfKind::parse(s).ok_or_else(|| err(format!("round_to {s:?} is unknown")))?),
        };
        let (r, c) = (wm.rows, wm.cols);
        let base = match kind {
            BaseKind::Int8 => self.typed(&format!("{name}{BASE}"), Dtype::I8, &[r, c])?,
            BaseKind::Int4 { .. } => {
                self.typed(&format!("{name}{BASE}"), Dtype::U8, &[r, kind.row_bytes(cols) as u64])?
            }
        };
        let scale_shape = match kind {
            BaseKind::Int8 => vec![r],
            BaseKind::Int4 { .. } => vec![r, kind.scales_per_row(cols) as u64],
        };
        let scales: Vec<f32> = self
            .typed(&format!("{name}{SCALES}"), Dtype::F32, &scale_shape)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(i) = scales.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(tensor_err(&format!("{name}{SCALES}"), format!("scale {i} is {}", scales[i])));
        }
        let dname = format!("{name}{DELTA}");
        let (de, delta) = self.st.tensor(&dname)?;
        if de.dtype != Dtype::U8 || de.shape.len() != 1 {
            return Err(tensor_err(&dname, format!("is {} {:?}, should be U8 [bytes]", de.dtype, de.shape)));
        }
        let t = wm.tiles;
        if t == 0 || t > wm.rows {
            return Err(err(format!("{t} tiles for {} rows", wm.rows)));
        }
        let oname = format!("{name}{TILE_OFFSETS}");
        let offsets: Vec<u64> = self
            .typed(&oname, Dtype::U64, &[t + 1])?
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        let rname = format!("{name}{TILE_ROWS}");
        let row_starts: Vec<u32> = self
            .typed(&rname, Dtype::U32, &[t + 1])?
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        if offsets[0] != 0 || *offsets.last().expect("t + 1 ≥ 2") != delta.len() as u64 {
            return Err(tensor_err(&oname, format!("should run from 0 to the delta's {} bytes", delta.len())));
        }
        if row_starts[0] != 0 || u64::from(*row_starts.last().expect("t + 1 ≥ 2")) != wm.rows {
            return Err(tensor_err(&rname, format!("should run from 0 to {} rows", wm.rows)));
        }
        let layout = m.tile_layout()?;
        let dname = format!("{name}{DICT}");
        let dict = match (m.codec()?, self.st.entry(&dname).is_some()) {
            (TileCodec::Zstd, false) => &[][..],
            (TileCodec::Zstd, true) => return Err(tensor_err(&dname, "is present, but the tile codec is zstd")),
            (TileCodec::Literal, false) => return Err(tensor_err(&dname, "is missing (tile codec literal)")),
            (TileCodec::Literal, true) => {
                let (e, d) = self.st.tensor(&dname)?;
                if e.dtype != Dtype::U8 || e.shape.len() != 1 || !(8..=MAX_DICT_BYTES as u64).contains(&e.shape[0]) {
                    return Err(tensor_err(
                        &dname,
                        format!("is {} {:?}, should be U8 [8..={MAX_DICT_BYTES}]", e.dtype, e.shape),
                    ));
                }
                crate::gpu::reference_zipper::dictionary_table(d).map_err(|st| {
                    tensor_err(&dname, format!("is not a zstd dictionary with a Huffman table (status {st})"))
                })?;
                d
            }
        };
        // Both tables strictly increasing (with the ends checked above, every range is then
        // inside the delta and the rows) before any frame is looked at.
        for i in 0..t as usize {
            let (o0, o1) = (offsets[i], offsets[i + 1]);
            if o1 <= o0 {
                return Err(tile_err(name, i, format!("frame offsets {o0}..{o1} are not increasing")));
            }
            let (r0, r1) = (row_starts[i], row_starts[i + 1]);
            if r1 <= r0 || r1 - r0 > m.tile_rows {
                return Err(tile_err(
                    name,
                    i,
                    format!("rows {r0}..{r1} are empty, decreasing or more than {}", m.tile_rows),
                ));
            }
        }
        for i in 0..t as usize {
            let (r0, r1) = (row_starts[i], row_starts[i + 1]);
            let size =
                frame::inspect_tile(&delta[offsets[i] as usize..offsets[i + 1] as usize], m.max_tile_bytes as usize)
                    .map_err(|s| tile_err(name, i, s))?;
            if size < 2 * (r1 - r0) as usize {
                return Err(tile_err(
                    name,
                    i,
                    format!("frame content is {size} bytes, too short for {} row counts", r1 - r0),
                ));
            }
        }
        let p = copy.then(|| PackedWeight {
            name: name.to_string(),
            rows,
            cols,
            kind,
            layout,
            max_tile_bytes: m.max_tile_bytes as usize,
            base: base.to_vec(),
            scales,
            delta: delta.to_vec(),
            tile_offsets: offsets,
            tile_rows: row_starts,
            source_dtype: wm.source_dtype.clone(),
            half,
            round_to,
            nnz: wm.nnz,
            dict: dict.to_vec(),
        });
        Ok(p)
    }
}
