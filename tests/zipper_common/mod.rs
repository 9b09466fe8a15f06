//! Shared by the zipper kernel tests (reference build and GPU): synthetic weights, packing, and
//! Y checked against X·Ŵᵀ in f64 with Ŵ rebuilt from the packed weight on the CPU.
#![allow(dead_code)]

use cuzstd::zipper::delta::{DeltaMode, HalfKind};
use cuzstd::zipper::frame::TileCodec;
use cuzstd::zipper::pack::{pack_matrix, PackOptions};
use cuzstd::zipper::quant::{dequantize_row, BaseKind};
use cuzstd::zipper::tile::TileLayout;
use cuzstd::zipper::PackedWeight;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Weight-like f16 values: roughly normal with a few outliers, row 1 all zero and row 2 of
/// equal magnitudes (so lossless packs have an empty and a dense row).
pub fn weights(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = vec![0f32; rows * cols];
    for (i, x) in w.iter_mut().enumerate() {
        let r = i / cols;
        let v = match r {
            1 => 0.0,
            2 => {
                if rng.random::<bool>() {
                    0.03
                } else {
                    -0.03
                }
            }
            _ => {
                let n: f32 = (0..4).map(|_| rng.random::<f32>()).sum::<f32>() - 2.0;
                if rng.random::<f32>() < 0.005 {
                    n * 0.5
                } else {
                    n * 0.04
                }
            }
        };
        *x = HalfKind::F16.round(v);
    }
    w
}

pub fn inputs(batch: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..batch * cols).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
}

/// The packings the tests cover.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Density(f64),
    Lossless,
}

pub fn pack(
    name: &str,
    rows: usize,
    cols: usize,
    kind: BaseKind,
    mode: Mode,
    tile_rows: usize,
    layout: TileLayout,
) -> PackedWeight {
    pack_codec(name, rows, cols, kind, mode, tile_rows, layout, TileCodec::Literal)
}

/// Both tile codecs: `literal` (the default) and `zstd`.
pub const CODECS: [TileCodec; 2] = [TileCodec::Literal, TileCodec::Zstd];

/// The layouts and codecs the packing sweeps cover: both layouts with the default codec, and
/// planes with `zstd`.
pub const LAYOUT_CODECS: [(TileLayout, TileCodec); 3] = [
    (TileLayout::Planes, TileCodec::Literal),
    (TileLayout::Plain, TileCodec::Literal),
    (TileLayout::Planes, TileCodec::Zstd),
];

#[allow(clippy::too_many_arguments)]
pub fn pack_codec(
    name: &str,
    rows: usize,
    cols: usize,
    kind: BaseKind,
    mode: Mode,
    tile_rows: usize,
    layout: TileLayout,
    codec: TileCodec,
) -> PackedWeight {
    let w = weights(rows, cols, (rows * 7919 + cols) as u64);
    let mode = match mode {
        Mode::Density(d) => DeltaMode::TopK { density: d },
        Mode::Lossless => DeltaMode::Lossless,
    };
    // Exactly the tiles asked for (no taller tiles past the default tile bound).
    let o = PackOptions { kind, mode, tile_rows, max_tiles: 0, layout, codec, ..PackOptions::default() };
    pack_matrix(name, &w, rows, cols, HalfKind::F16, "F16", &o).expect("pack").0
}

/// Ŵ (rows × cols) rebuilt from the packed weight on the CPU: dequantized base plus every
/// tile's entries, rounded as the pack asks.
pub fn reconstruct(w: &PackedWeight) -> Vec<f32> {
    let (rows, cols) = (w.rows, w.cols);
    let rb = w.kind.row_bytes(cols);
    let spr = w.kind.scales_per_row(cols);
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        dequantize_row(
            w.kind,
            &w.base[r * rb..(r + 1) * rb],
            &w.scales[r * spr..(r + 1) * spr],
            &mut out[r * cols..(r + 1) * cols],
        );
    }
    for t in 0..w.tiles() {
        let tile = w.decode_tile(t).expect("tile decodes");
        for (i, r) in w.tile_row_range(t).enumerate() {
            let (cs, vs) = tile.row(i);
            for (&c, &v) in cs.iter().zip(vs) {
                out[r * cols + c as usize] += v;
            }
        }
    }
    if let Some(h) = w.round_to {
        for v in &mut out {
            *v = h.round(*v);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
/// Checks `y` (batch × rows) against X·Ŵᵀ computed in f64: |y − want| ≤ rel · Σ|x·ŵ| + 1e-6.
pub fn check(y: &[f32], what_w: &[f32], x: &[f32], rows: usize, cols: usize, batch: usize, rel: f64, what: &str) {
    assert_eq!(y.len(), batch * rows, "{what}: output length");
    for b in 0..batch {
        for r in 0..rows {
            let (mut want, mut mag) = (0f64, 0f64);
            for c in 0..cols {
                let p = f64::from(x[b * cols + c]) * f64::from(what_w[r * cols + c]);
                want += p;
                mag += p.abs();
            }
            let got = f64::from(y[b * rows + r]);
            assert!((got - want).abs() <= rel * mag + 1e-6, "{what}: batch {b} row {r}: {got} vs {want} (Σ|xw| {mag})");
        }
    }
}

/// Shapes not multiples of the tile size (rows) or of 4/8/16 (cols), and a square one.
pub const SHAPES: [(usize, usize); 4] = [(53, 150), (37, 1001), (16, 64), (70, 577)];

pub fn kinds() -> [BaseKind; 2] {
    [BaseKind::Int8, BaseKind::Int4 { group: 32 }]
}

pub fn modes() -> [Mode; 3] {
    [Mode::Density(0.0), Mode::Density(0.01), Mode::Lossless]
}

/// The weight with tile `t`'s payload edited by `edit(payload, m, n)` (planes layout: m rows,
/// n entries) and the tile re-encoded as a well-formed frame of the weight's codec (a literal
/// frame for the weight's own dictionary: the byte counts of the original payloads), so that
/// only the tile checks can reject it; with the value `edit` returns.
pub fn with_edited_tile(
    w: &PackedWeight,
    t: usize,
    edit: impl Fn(&mut [u8], usize, usize) -> usize,
) -> (PackedWeight, usize) {
    use cuzstd::zipper::frame;
    assert_eq!(w.layout, TileLayout::Planes, "the edit helper reads the planes layout");
    let frames: Vec<&[u8]> =
        (0..w.tiles()).map(|i| &w.delta[w.tile_offsets[i] as usize..w.tile_offsets[i + 1] as usize]).collect();
    let payloads: Vec<Vec<u8>> =
        frames.iter().map(|f| frame::decompress_tile(f, w.max_tile_bytes, &w.dict).expect("tile decodes")).collect();
    let m = w.tile_row_range(t).len();
    let p = &payloads[t];
    let n: usize = (0..m).map(|i| p[i] as usize | (p[m + i] as usize) << 8).sum();
    let mut edited = p.clone();
    let value = edit(&mut edited, m, n);
    let f = match w.codec() {
        TileCodec::Literal => {
            let counts = frame::byte_counts(payloads.iter().map(|p| p.as_slice()));
            frame::compress_tile_literal(&edited, &counts, frame::dictionary_id(&w.name)).expect("literal frame")
        }
        TileCodec::Zstd => frame::compress_tile(&edited, frame::DEFAULT_LEVEL).expect("zstd frame"),
    };
    let mut out = w.clone();
    out.delta.clear();
    out.tile_offsets = vec![0];
    for (i, old) in frames.iter().enumerate() {
        out.delta.extend_from_slice(if i == t { &f } else { old });
        out.tile_offsets.push(out.delta.len() as u64);
    }
    (out, value)
}

/// Entry `j`'s gap word (planes layout, m rows, n entries) set to `v`.
pub fn set_gap(p: &mut [u8], m: usize, n: usize, j: usize, v: u16) {
    p[2 * m + j] = v as u8;
    p[2 * m + n + j] = (v >> 8) as u8;
}

/// Entry `j`'s f16 value (planes layout) set to `bits`.
pub fn set_value(p: &mut [u8], m: usize, n: usize, j: usize, bits: u16) {
    p[2 * m + 2 * n + j] = bits as u8;
    p[2 * m + 3 * n + j] = (bits >> 8) as u8;
}

/// The first entry of row `i` of a payload (planes layout).
pub fn row_first_entry(p: &[u8], m: usize, i: usize) -> usize {
    (0..i).map(|k| p[k] as usize | (p[m + k] as usize) << 8).sum()
}

/// Tile edits for the entry checks, each with the status and detail (entry index) the first bad
/// entry gives: a column past the row's end, an infinite value, and both in two rows (the
/// earlier entry wins). Rows 1 and 3 of the tile must hold at least two entries.
#[allow(clippy::type_complexity)]
pub fn bad_entry_cases() -> Vec<(&'static str, Box<dyn Fn(&mut [u8], usize, usize) -> usize>)> {
    vec![
        (
            "TILE_COLUMN_OUT_OF_RANGE",
            Box::new(|p: &mut [u8], m, n| {
                let j = row_first_entry(p, m, 1) + 1;
                set_gap(p, m, n, j, u16::MAX);
                j
            }),
        ),
        (
            "TILE_VALUE_NOT_FINITE",
            Box::new(|p: &mut [u8], m, n| {
                let j = row_first_entry(p, m, 3);
                set_value(p, m, n, j, 0x7c00);
                j
            }),
        ),
        (
            "TILE_VALUE_NOT_FINITE",
            Box::new(|p: &mut [u8], m, n| {
                let (jv, jc) = (row_first_entry(p, m, 1) + 1, row_first_entry(p, m, 3));
                set_value(p, m, n, jv, 0xfe00);
                set_gap(p, m, n, jc, u16::MAX);
                jv
            }),
        ),
    ]
}
