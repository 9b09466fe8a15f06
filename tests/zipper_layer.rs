//! ZipperLinear on synthetic matrices: Y against X·Ŵ with Ŵ reconstructed independently of the
//! tile encoding, frames, container and layer (from the base quantizer and the delta selection),
//! for INT8 and INT4 bases, densities 0, 1 %, 10 %, 100 % and lossless, shapes that are not
//! multiples of the tile size, empty and dense rows, and batch sizes from 1 to 64.

use cuzstd::llm::Linear;
use cuzstd::zipper::container::{self, ContainerOptions, Item, SourceMeta};
use cuzstd::zipper::delta::{self, DeltaMode, HalfKind};
use cuzstd::zipper::frame;
use cuzstd::zipper::pack::{pack_matrix, PackOptions};
use cuzstd::zipper::quant::{Base, BaseKind};
use cuzstd::zipper::tile::{self, TileLayout};
use cuzstd::zipper::{ZipperFile, ZipperLinear};
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Weight-like values: roughly normal with a few outliers, an all-zero row 1 and a row 2 of
/// equal magnitudes, rounded to `half`.
fn weights(rows: usize, cols: usize, half: HalfKind, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = vec![0f32; rows * cols];
    for (i, x) in w.iter_mut().enumerate() {
        let (r, _c) = (i / cols, i % cols);
        let v = if r == 1 {
            0.0
        } else if r == 2 {
            if rng.random::<bool>() {
                0.03
            } else {
                -0.03
            }
        } else {
            let n: f32 = (0..4).map(|_| rng.random::<f32>()).sum::<f32>() - 2.0;
            if rng.random::<f32>() < 0.005 {
                n * 0.5
            } else {
                n * 0.04
            }
        };
        *x = half.round(v);
    }
    w
}

fn inputs(batch: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..batch * cols).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
}

/// Ŵ from the quantizer and the selection alone.
fn reconstruct(w: &[f32], rows: usize, cols: usize, half: HalfKind, o: &PackOptions) -> Vec<f32> {
    let mut base = Base::quantize(w, rows, cols, o.kind);
    let mut bq = base.dequantize();
    let (d, stats) =
        delta::select(w, &mut bq, rows, cols, o.mode, half, tile::max_entries_per_row(o.max_tile_bytes)).unwrap();
    for &(r, c) in &stats.rebased {
        base.set_zero(r, c);
    }
    assert_eq!(base.dequantize(), bq, "rebased entries are zero in the base");
    d.add_to(&mut bq, cols);
    if o.mode == DeltaMode::Lossless {
        for x in &mut bq {
            *x = half.round(*x);
        }
    }
    bq
}

/// Checks `y` (batch × rows) against X·Wᵀ in f64, with a tolerance relative to Σ|x·w|.
#[allow(clippy::too_many_arguments)]
fn check(y: &[f32], w: &[f32], x: &[f32], rows: usize, cols: usize, batch: usize, rel: f64, what: &str) {
    assert_eq!(y.len(), batch * rows, "{what}");
    for b in 0..batch {
        for r in 0..rows {
            let (mut want, mut mag) = (0f64, 0f64);
            for c in 0..cols {
                let p = f64::from(x[b * cols + c]) * f64::from(w[r * cols + c]);
                want += p;
                mag += p.abs();
            }
            let got = f64::from(y[b * rows + r]);
            assert!((got - want).abs() <= rel * mag + 1e-6, "{what}: batch {b} row {r}: {got} vs {want} (Σ|xw| {mag})");
        }
    }
}

fn opts(kind: BaseKind, mode: DeltaMode, tile_rows: usize) -> PackOptions {
    PackOptions { kind, mode, tile_rows, ..PackOptions::default() }
}

fn to_container(p: &cuzstd::zipper::PackedWeight, o: &PackOptions) -> ZipperFile {
    let co = ContainerOptions {
        kind: o.kind,
        lossless: o.mode == DeltaMode::Lossless,
        density: 0.0,
        tile_rows: o.tile_rows,
        max_tile_bytes: o.max_tile_bytes,
        layout: o.layout,
        level: o.level,
        codec: o.codec,
        source: SourceMeta { file: "synthetic".into(), format: "safetensors".into(), bytes: 0, xxh64: "0".repeat(16) },
    };
    ZipperFile::parse(container::write(&[Item::Packed(p.clone())], &co).unwrap()).unwrap()
}

const MODES: [DeltaMode; 5] = [
    DeltaMode::TopK { density: 0.0 },
    DeltaMode::TopK { density: 0.01 },
    DeltaMode::TopK { density: 0.1 },
    DeltaMode::TopK { density: 1.0 },
    DeltaMode::Lossless,
];
const KINDS: [BaseKind; 3] = [BaseKind::Int8, BaseKind::Int4 { group: 32 }, BaseKind::Int4 { group: 128 }];

#[test]
fn y_matches_the_reconstruction_for_every_base_mode_and_batch() {
    let (rows, cols) = (53, 150); // neither a multiple of the tile rows nor of the INT4 group
    let w = weights(rows, cols, HalfKind::F16, 1);
    let batches = [1, 2, 3, 5, 8, 13, 31, 64];
    for kind in KINDS {
        for mode in MODES {
            for layout in [TileLayout::Planes, TileLayout::Plain] {
                let o = PackOptions { layout, ..opts(kind, mode, 16) };
                let (p, rep) = pack_matrix("m.weight", &w, rows, cols, HalfKind::F16, "F16", &o).unwrap();
                assert_eq!(p.tiles(), 4, "53 rows in tiles of 16");
                let what = format!("{kind:?} {mode:?} {layout:?}");
                let w_hat = reconstruct(&w, rows, cols, HalfKind::F16, &o);
                let layer = ZipperLinear::new(p.clone()).unwrap();
                let from_file = ZipperLinear::from_file(&to_container(&p, &o), "m.weight").unwrap();
                for (i, &batch) in batches.iter().enumerate() {
                    let x = inputs(batch, cols, 100 + i as u64);
                    let y = layer.try_forward(&x, batch).unwrap();
                    check(&y, &w_hat, &x, rows, cols, batch, 1e-5, &what);
                    assert_eq!(from_file.forward(&x, batch), y, "{what}: container round trip");
                    if mode == DeltaMode::Lossless {
                        check(&y, &w, &x, rows, cols, batch, 1e-5, &what);
                    }
                }
                match mode {
                    DeltaMode::Lossless => assert_eq!(rep.err_final, 0.0, "{what}"),
                    DeltaMode::TopK { density } if density > 0.0 => {
                        assert!(rep.err_final < rep.err_base, "{what}: {} !< {}", rep.err_final, rep.err_base)
                    }
                    _ => assert_eq!(rep.err_final, rep.err_base, "{what}"),
                }
            }
        }
    }
}

#[test]
fn every_batch_size_from_1_to_64() {
    let (rows, cols) = (19, 40);
    let w = weights(rows, cols, HalfKind::F16, 2);
    let o = opts(BaseKind::Int8, DeltaMode::TopK { density: 0.05 }, 4);
    let (p, _) = pack_matrix("m.weight", &w, rows, cols, HalfKind::F16, "F16", &o).unwrap();
    let w_hat = reconstruct(&w, rows, cols, HalfKind::F16, &o);
    let layer: Box<dyn Linear> = Box::new(ZipperLinear::new(p).unwrap());
    assert_eq!((layer.out_features(), layer.in_features()), (rows, cols));
    for batch in 1..=64 {
        let x = inputs(batch, cols, batch as u64);
        check(&layer.forward(&x, batch), &w_hat, &x, rows, cols, batch, 1e-5, "batch");
    }
}

#[test]
fn lossless_restores_f16_and_bf16_sources_bit_exactly() {
    for half in [HalfKind::F16, HalfKind::Bf16] {
        for kind in KINDS {
            let (rows, cols) = (40, 70);
            let w = weights(rows, cols, half, 3);
            let o = opts(kind, DeltaMode::Lossless, 8);
            let (p, rep) = pack_matrix("m.weight", &w, rows, cols, half, half.name(), &o).unwrap();
            assert_eq!(p.round_to, Some(half));
            // Independent of the layer: base + decoded tiles, rounded, equals the source bits.
            let mut w_hat = Base { kind, rows, cols, data: p.base.clone(), scales: p.scales.clone() }.dequantize();
            for t in 0..p.tiles() {
                let d = p.decode_tile(t).unwrap();
                for (i, r) in p.tile_row_range(t).enumerate() {
                    let (cs, vs) = d.row(i);
                    for (&c, &v) in cs.iter().zip(vs) {
                        w_hat[r * cols + c as usize] += v;
                    }
                }
            }
            for i in 0..w.len() {
                assert!(HalfKind::same(half.bits(w_hat[i]), half.bits(w[i])), "{half:?} {kind:?} element {i}");
            }
            assert!(rep.nnz > (rows * cols / 2) as u64, "{half:?} {kind:?}: INT8/INT4 bases are coarser than f16");
            // The layer computes with exactly the source values.
            let layer = ZipperLinear::new(p).unwrap();
            let x = inputs(3, cols, 9);
            check(&layer.forward(&x, 3), &w, &x, rows, cols, 3, 1e-6, "lossless");
        }
    }
}

#[test]
fn density_zero_is_the_base_alone_and_dense_rows_fit_the_tile_bound() {
    let (rows, cols) = (30, 300);
    let w = weights(rows, cols, HalfKind::F16, 4);
    let o = opts(BaseKind::Int8, DeltaMode::TopK { density: 0.0 }, 16);
    let (p, rep) = pack_matrix("m.weight", &w, rows, cols, HalfKind::F16, "F16", &o).unwrap();
    assert_eq!((rep.nnz, p.nnz), (0, 0));
    let base = Base::quantize(&w, rows, cols, BaseKind::Int8).dequantize();
    let x = inputs(2, cols, 5);
    check(&ZipperLinear::new(p).unwrap().forward(&x, 2), &base, &x, rows, cols, 2, 1e-5, "density 0");

    // Every entry kept, with a tile bound of 2 KiB: a row of 300 entries is 1202 bytes, so at
    // most one such row per tile (row 1 is all zero and row 2 nearly exact: they share).
    let o = PackOptions { max_tile_bytes: 2048, ..opts(BaseKind::Int8, DeltaMode::TopK { density: 1.0 }, 16) };
    let (p, _) = pack_matrix("m.weight", &w, rows, cols, HalfKind::F16, "F16", &o).unwrap();
    assert!((rows - 2..=rows).contains(&p.tiles()), "{} tiles", p.tiles());
    for t in 0..p.tiles() {
        assert!(frame::inspect_tile(p.tile_frame(t), 2048).unwrap() <= 2048);
    }
    let w_hat = reconstruct(&w, rows, cols, HalfKind::F16, &o);
    check(&ZipperLinear::new(p).unwrap().forward(&x, 2), &w_hat, &x, rows, cols, 2, 1e-5, "dense");

    // A bound below one dense row: top-k caps each row at the bound; lossless refuses.
    let o = PackOptions { max_tile_bytes: 402, ..opts(BaseKind::Int8, DeltaMode::TopK { density: 1.0 }, 16) };
    let (p, _) = pack_matrix("m.weight", &w, rows, cols, HalfKind::F16, "F16", &o).unwrap();
    assert!(p.nnz <= (rows * 100) as u64);
    let o = PackOptions { mode: DeltaMode::Lossless, ..o };
    let e = pack_matrix("m.weight", &w, rows, cols, HalfKind::F16, "F16", &o).unwrap_err().to_string();
    assert!(e.contains("m.weight") && e.contains("tile bound"), "{e}");
}

#[test]
fn shapes_and_bad_inputs() {
    for (rows, cols, tile_rows) in [(1, 1, 16), (1, 7, 1), (17, 1, 16), (33, 65, 32), (5, 129, 2)] {
        let w = weights(rows, cols, HalfKind::F16, 6);
        for kind in KINDS {
            let o = opts(kind, DeltaMode::TopK { density: 0.3 }, tile_rows);
            let (p, _) = pack_matrix("m.weight", &w, rows, cols, HalfKind::F16, "F16", &o).unwrap();
            assert_eq!(p.tiles(), rows.div_ceil(tile_rows));
            let w_hat = reconstruct(&w, rows, cols, HalfKind::F16, &o);
            let x = inputs(4, cols, 7);
            let what = format!("{rows}x{cols} {kind:?}");
            check(&ZipperLinear::new(p).unwrap().forward(&x, 4), &w_hat, &x, rows, cols, 4, 1e-5, &what);
        }
    }
    let o = PackOptions::default();
    let e = pack_matrix("bad.weight", &[1.0, f32::NAN], 1, 2, HalfKind::F16, "F32", &o).unwrap_err().to_string();
    assert!(e.contains("bad.weight") && e.contains("NaN"), "{e}");
    assert!(pack_matrix("z.weight", &[], 0, 4, HalfKind::F16, "F32", &o).is_err());
    let (p, _) = pack_matrix("m.weight", &[0.5; 6], 2, 3, HalfKind::F16, "F32", &o).unwrap();
    let e = ZipperLinear::new(p).unwrap().try_forward(&[1.0; 5], 2).unwrap_err().to_string();
    assert!(e.contains("m.weight"), "{e}");
}

#[test]
fn bf16_values_survive_a_lossy_pack_within_the_reported_error() {
    let (rows, cols) = (24, 96);
    let w = weights(rows, cols, HalfKind::Bf16, 8);
    assert!(w.iter().all(|&v| bf16::from_f32(v).to_f32() == v));
    let o = opts(BaseKind::Int4 { group: 64 }, DeltaMode::TopK { density: 0.01 }, 16);
    let (p, rep) = pack_matrix("m.weight", &w, rows, cols, HalfKind::Bf16, "BF16", &o).unwrap();
    assert!(rep.err_final > 0.0 && rep.err_final < rep.err_base && rep.err_base < 0.2, "{rep:?}");
    assert_eq!(p.round_to, None);
    let _ = f16::ONE;
}
