//! The fused zipper kernel on the GPU (`cuda/zipper.cu` through `GpuZipperLinear` and
//! `ZipperModel`): Y against X·Ŵᵀ (Ŵ rebuilt on the CPU from the packed weight) and against the
//! CPU `ZipperLinear`, for INT8 and INT4 bases, densities 0 and 1 % and lossless, both tile
//! layouts, shapes that are not multiples of the tile, empty and dense rows, and batch sizes
//! 1..=64; a damaged delta frame is an error naming the layer and tile and writes no rows of
//! that tile; streamed layers give the same Y as resident ones; real SmolLM2 weight values (the
//! bundle's f16 weights, `$CUZSTD_MODELS`) packed three ways match X·Ŵᵀ.
//!
//! Needs an NVIDIA GPU; fails loudly without one. Run with
//! `cargo test --release --features gpu-tests --test gpu_zipper`.

mod zipper_common;

use std::sync::Arc;

use cuzstd::gpu::Gpu;
use cuzstd::zipper::kernel::reference_forward;
use cuzstd::zipper::quant::BaseKind;
use cuzstd::zipper::tile::TileLayout;
use cuzstd::zipper::{GpuZipperLinear, StreamMode, ZipperLinear, ZipperModel};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zipper_common::*;

fn gpu() -> Arc<Gpu> {
    static GPU: std::sync::OnceLock<Arc<Gpu>> = std::sync::OnceLock::new();
    GPU.get_or_init(|| Arc::new(Gpu::new(0).expect("the GPU zipper tests need a CUDA device"))).clone()
}

/// Relative tolerance against Σ|x·ŵ| (f32 sums in a different order than the f64 reference).
const REL: f64 = 1e-5;

#[test]
fn fused_kernel_matches_x_times_w_for_every_packing() {
    for &(rows, cols) in &SHAPES {
        for kind in kinds() {
            for mode in modes() {
                for (layout, codec) in LAYOUT_CODECS {
                    let w = pack_codec("t.weight", rows, cols, kind, mode, 16, layout, codec);
                    let what = reconstruct(&w);
                    let layer = GpuZipperLinear::new(gpu(), &w).unwrap();
                    let cpu = ZipperLinear::new(w.clone()).unwrap();
                    for batch in [1usize, 2, 3, 8, 17, 64] {
                        let x = inputs(batch, cols, 100 + batch as u64);
                        let tag = format!("{rows}x{cols} {kind:?} {mode:?} {layout:?} {codec:?} batch {batch}");
                        let y = layer.try_forward(&x, batch).unwrap_or_else(|e| panic!("{tag}: {e}"));
                        check(&y, &what, &x, rows, cols, batch, REL, &tag);
                        let yc = cpu.try_forward(&x, batch).unwrap();
                        for (i, (a, b)) in y.iter().zip(&yc).enumerate() {
                            let tol = 1e-3 * b.abs().max(1.0);
                            assert!((a - b).abs() <= tol, "{tag}: value {i}: GPU {a} vs CPU layer {b}");
                        }
                    }
                }
            }
        }
    }
}

/// Real f16 weights (the bundle's `$CUZSTD_MODELS/*.f16`, else `models/*.f16`, written by
/// scripts/weights-f16.py); panics when none is found.
fn real_values(n: usize) -> Vec<f32> {
    let dir = std::env::var("CUZSTD_MODELS").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/models").into());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no model directory {dir}: {e} (run scripts/weights-f16.py)"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "f16"))
        .collect();
    files.sort();
    let path = files.first().unwrap_or_else(|| panic!("no *.f16 weights in {dir} (run scripts/weights-f16.py)"));
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() >= 2 * n, "{} holds {} values, need {n}", path.display(), bytes.len() / 2);
    bytes[..2 * n].chunks_exact(2).map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32()).collect()
}

#[test]
fn real_smollm2_weight_values_match_the_cpu_layer() {
    use cuzstd::zipper::delta::{DeltaMode, HalfKind};
    use cuzstd::zipper::pack::{pack_matrix, PackOptions};
    let (rows, cols) = (576, 1536);
    let w = real_values(rows * cols);
    for (kind, mode) in [
        (BaseKind::Int8, DeltaMode::TopK { density: 0.01 }),
        (BaseKind::Int8, DeltaMode::TopK { density: 0.0 }),
        (BaseKind::Int4 { group: 64 }, DeltaMode::Lossless),
    ] {
        let o = PackOptions { kind, mode, ..PackOptions::default() };
        let p = pack_matrix("real.weight", &w, rows, cols, HalfKind::F16, "F16", &o).unwrap().0;
        let what = reconstruct(&p);
        let layer = GpuZipperLinear::new(gpu(), &p).unwrap();
        for batch in [1usize, 8] {
            let x = inputs(batch, cols, 21);
            let y = layer.try_forward(&x, batch).unwrap();
            check(&y, &what, &x, rows, cols, batch, REL, &format!("real values {kind:?} {mode:?} batch {batch}"));
        }
    }
}

#[test]
fn every_batch_size_from_1_to_64() {
    // Tiles of 4 rows and a workspace of 3 decoder slots: 12 tiles on 3 blocks, so each block
    // decodes and computes several tiles in turn (shared memory and results reused).
    let w = pack("b.weight", 45, 333, BaseKind::Int8, Mode::Density(0.02), 4, TileLayout::Planes);
    let what = reconstruct(&w);
    let ws = cuzstd::gpu::zipper::ZipperWorkspace::new(&gpu(), 3, w.tiles()).unwrap();
    let layer = GpuZipperLinear::with_workspace(gpu(), &w, Arc::new(std::sync::Mutex::new(ws))).unwrap();
    for batch in 1..=64 {
        let x = inputs(batch, 333, batch as u64);
        let y = layer.try_forward(&x, batch).unwrap();
        check(&y, &what, &x, 45, 333, batch, REL, &format!("batch {batch}"));
    }
}

#[test]
fn wide_layers_stage_x_in_several_passes_and_match() {
    // 12,000 columns: 48 KB per staged X row, so batch 17 runs in passes of one row; INT4 with
    // groups of 128 and tiles of 5 rows.
    for (kind, mode) in [(BaseKind::Int8, Mode::Density(0.01)), (BaseKind::Int4 { group: 128 }, Mode::Lossless)] {
        let w = pack("wide.weight", 23, 12_000, kind, mode, 5, TileLayout::Planes);
        let what = reconstruct(&w);
        let layer = GpuZipperLinear::new(gpu(), &w).unwrap();
        for batch in [1usize, 17] {
            let x = inputs(batch, 12_000, 7);
            let y = layer.try_forward(&x, batch).unwrap();
            check(&y, &what, &x, 23, 12_000, batch, REL, &format!("wide {kind:?} {mode:?} batch {batch}"));
        }
    }
}

#[test]
fn base_only_launch_equals_the_density_0_pack_of_the_same_weight() {
    use cuzstd::gpu::zipper::ZipperWorkspace;
    for kind in kinds() {
        let p0 = pack("z.weight", 70, 577, kind, Mode::Density(0.0), 16, TileLayout::Planes);
        let p1 = pack("z.weight", 70, 577, kind, Mode::Density(0.01), 16, TileLayout::Planes);
        assert_eq!(p0.base, p1.base, "top-k packs share the base");
        let g = gpu();
        let s = g.stream().clone();
        let d1 = g.zipper_upload(&p1).unwrap();
        let mut ws = ZipperWorkspace::new(&g, 4, p1.tiles()).unwrap();
        for batch in [1usize, 17] {
            let x = inputs(batch, 577, 4);
            let dx = s.clone_htod(&x).unwrap();
            let mut dy = s.alloc_zeros::<f32>(batch * 70).unwrap();
            g.zipper_linear_base_only(&s, &d1, &dx.slice(..), batch, &mut dy.slice_mut(..), &mut ws).unwrap();
            ws.check(&s, &d1).unwrap();
            let y = s.clone_dtoh(&dy).unwrap();
            check(&y, &reconstruct(&p0), &x, 70, 577, batch, REL, &format!("base only {kind:?} batch {batch}"));
        }
    }
}

/// Shapes whose rows are whole 16-byte words (INT8 columns a multiple of 16, INT4 of 32), so
/// the kernel reads the base as vectors (`zp_tile_base_products`): rows shorter and longer
/// than one 32-lane step, a step count that is not a multiple of the loads in flight, tiles of
/// 16 rows over 8 and 7 warps, a last tile of 1 row; through the fused launch (warps 1..7
/// compute while warp 0 decodes) and the base-only launch (the GEMV: at batch 1 each row's
/// columns split between a block's 8 warps, 4 rows per block, so also warps with no columns and
/// a last block of fewer rows; else row pairs per warp; or for lossless packs, whose weights are
/// rounded, the kernel without the decoder).
#[test]
fn vector_rows_of_aligned_shapes_match_x_times_w() {
    use cuzstd::gpu::zipper::ZipperWorkspace;
    let shapes = [(33usize, 32usize), (17, 1056), (40, 4096), (9, 2080)];
    let kinds = [BaseKind::Int8, BaseKind::Int4 { group: 32 }, BaseKind::Int4 { group: 128 }];
    let g = gpu();
    let s = g.stream().clone();
    for &(rows, cols) in &shapes {
        for kind in kinds {
            for mode in [Mode::Density(0.0), Mode::Density(0.01), Mode::Lossless] {
                let w = pack("v.weight", rows, cols, kind, mode, 16, TileLayout::Planes);
                let what = reconstruct(&w);
                let layer = GpuZipperLinear::new(gpu(), &w).unwrap();
                let d = g.zipper_upload(&w).unwrap();
                let mut ws = ZipperWorkspace::new(&g, 2, w.tiles()).unwrap();
                for batch in [1usize, 3, 5, 64] {
                    let tag = format!("{rows}x{cols} {kind:?} {mode:?} batch {batch}");
                    let x = inputs(batch, cols, 31 + batch as u64);
                    let y = layer.try_forward(&x, batch).unwrap_or_else(|e| panic!("{tag}: {e}"));
                    check(&y, &what, &x, rows, cols, batch, REL, &tag);
                    // The base alone (rounded as the pack asks), with X 16-byte aligned and,
                    // at batch 1, one float past an aligned address (the GEMV's scalar path).
                    let want0 = base_alone(&w);
                    for shift in if batch == 1 { 0..2 } else { 0..1 } {
                        let mut xs = vec![0f32; shift];
                        xs.extend_from_slice(&x);
                        let dx = s.clone_htod(&xs).unwrap();
                        let mut dy = s.alloc_zeros::<f32>(batch * rows).unwrap();
                        g.zipper_linear_base_only(&s, &d, &dx.slice(shift..), batch, &mut dy.slice_mut(..), &mut ws)
                            .unwrap();
                        ws.check(&s, &d).unwrap();
                        let y0 = s.clone_dtoh(&dy).unwrap();
                        check(&y0, &want0, &x, rows, cols, batch, REL, &format!("{tag} base only, X shifted {shift}"));
                    }
                }
            }
        }
    }
}

/// The dequantized base of `w` (rows × cols), each weight rounded as the pack asks: what a
/// base-only launch multiplies by.
fn base_alone(w: &cuzstd::zipper::PackedWeight) -> Vec<f32> {
    use cuzstd::zipper::quant::dequantize_row;
    let (rb, spr) = (w.kind.row_bytes(w.cols), w.kind.scales_per_row(w.cols));
    let mut out = vec![0f32; w.rows * w.cols];
    for r in 0..w.rows {
        let row = &mut out[r * w.cols..(r + 1) * w.cols];
        dequantize_row(w.kind, &w.base[r * rb..(r + 1) * rb], &w.scales[r * spr..(r + 1) * spr], row);
        if let Some(h) = w.round_to {
            row.iter_mut().for_each(|v| *v = h.round(*v));
        }
    }
    out
}

#[test]
fn gpu_agrees_with_the_reference_build_of_the_kernel() {
    let w = pack("r.weight", 70, 577, BaseKind::Int4 { group: 64 }, Mode::Lossless, 16, TileLayout::Plain);
    let layer = GpuZipperLinear::new(gpu(), &w).unwrap();
    let x = inputs(5, 577, 3);
    let g = layer.try_forward(&x, 5).unwrap();
    let r = reference_forward(&w, &x, 5).unwrap();
    for (i, (a, b)) in g.iter().zip(&r).enumerate() {
        assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "value {i}: GPU {a} vs reference build {b}");
    }
}

#[test]
fn damaged_delta_frame_is_an_error_naming_layer_and_tile() {
    for codec in CODECS {
        let w = pack_codec(
            "blk.7.attn_q.weight",
            53,
            150,
            BaseKind::Int8,
            Mode::Density(0.05),
            16,
            TileLayout::Planes,
            codec,
        );
        let x = inputs(2, 150, 1);
        let good = GpuZipperLinear::new(gpu(), &w).unwrap().try_forward(&x, 2).unwrap();
        let mut rng = StdRng::seed_from_u64(11);
        let mut caught = 0;
        for _ in 0..60 {
            let t = rng.random_range(0..w.tiles());
            let (a, b) = (w.tile_offsets[t] as usize, w.tile_offsets[t + 1] as usize);
            let mut bad = w.clone();
            let at = rng.random_range(a..b);
            bad.delta[at] ^= 1 << rng.random_range(0..8);
            // Uploading checks structure only; the frame is checked by the kernel.
            let layer = GpuZipperLinear::new(gpu(), &bad).unwrap();
            // The reference build of the kernel gives the same verdict.
            let cpu = reference_forward(&bad, &x, 2);
            match layer.try_forward(&x, 2) {
                Err(e) => {
                    let m = e.to_string();
                    assert!(m.contains("blk.7.attn_q.weight") && m.contains(&format!("tile {t}")), "{m}");
                    assert_eq!(cpu.map_err(|c| c.to_string()), Err(m), "{codec:?}: flip at byte {at}");
                    caught += 1;
                }
                Ok(y) => {
                    assert_eq!(y, good, "{codec:?}: a flip at byte {at} of tile {t} changed Y without an error");
                    assert!(cpu.is_ok(), "{codec:?}: flip at byte {at}: the reference build rejects it");
                }
            }
        }
        assert!(caught >= 50, "{codec:?}: only {caught} of 60 bit flips were caught");
        // A truncated frame (tile 1 loses its last byte, tile 2 starts one byte early).
        let mut bad = w.clone();
        bad.tile_offsets[2] -= 1;
        let e = GpuZipperLinear::new(gpu(), &bad).unwrap().try_forward(&x, 2).unwrap_err().to_string();
        assert!(e.contains("tile 1"), "{e}");
    }
}

#[test]
fn tile_header_failures_keep_their_status_through_the_two_warp_decode() {
    // A tile whose frame header fails the kernel's checks (no checksum flag; a wrong magic)
    // must report that status, as the reference build does, not the size mismatch that an
    // undecoded tile would show; with either codec (literal tiles are decoded by warp 0 alone).
    for codec in CODECS {
        let w = pack_codec(
            "blk.3.attn_v.weight",
            53,
            150,
            BaseKind::Int8,
            Mode::Density(0.05),
            16,
            TileLayout::Planes,
            codec,
        );
        let x = inputs(2, 150, 4);
        let t = 1;
        let at = w.tile_offsets[t] as usize;
        let mut no_checksum = w.clone();
        no_checksum.delta[at + 4] &= !0x04; // Frame_Header_Descriptor: Content_Checksum_Flag
        let mut bad_magic = w.clone();
        bad_magic.delta[at] ^= 0x01;
        for (bad, status) in [(&no_checksum, "TILE_FRAME_UNCHECKED"), (&bad_magic, "UNKNOWN_MAGIC")] {
            let cpu = reference_forward(bad, &x, 2).unwrap_err().to_string();
            assert!(cpu.contains(status) && cpu.contains(&format!("tile {t}")), "{codec:?} reference build: {cpu}");
            let e = GpuZipperLinear::new(gpu(), bad).unwrap().try_forward(&x, 2).unwrap_err().to_string();
            assert!(e.contains(status) && e.contains(&format!("tile {t}")), "{codec:?} GPU: {e}");
        }
    }
}

#[test]
fn bad_entries_found_by_parallel_warps_report_the_first_one_like_the_reference_build() {
    // Tile 1 re-encoded with a column past the row, an infinite value, or both in two rows (a
    // well-formed frame with a matching checksum): every warp checks its own rows after the
    // decode, and the tile's status must still name the first bad entry in entry order, as the
    // reference build's serial checks do; lossless packs check in warp 0 before the products.
    for codec in CODECS {
        for mode in [Mode::Density(0.05), Mode::Lossless] {
            let w = pack_codec("blk.2.ffn_up.weight", 53, 150, BaseKind::Int8, mode, 16, TileLayout::Planes, codec);
            for (status, edit) in bad_entry_cases() {
                let (bad, j) = with_edited_tile(&w, 1, edit);
                let layer = GpuZipperLinear::new(gpu(), &bad).unwrap();
                for batch in [1, 3] {
                    let x = inputs(batch, 150, 6);
                    let cpu = reference_forward(&bad, &x, batch).unwrap_err().to_string();
                    assert!(cpu.contains(status) && cpu.contains(&format!("(detail {j:#x})")), "{cpu}");
                    let e = layer.try_forward(&x, batch).unwrap_err().to_string();
                    assert_eq!(e, cpu, "{codec:?} {mode:?} batch {batch}");
                }
            }
        }
    }
}

#[test]
fn a_failed_tile_writes_none_of_its_rows_and_the_others_are_right() {
    use cuzstd::gpu::zipper::ZipperWorkspace;
    let w = pack("blk.1.ffn_gate.weight", 53, 150, BaseKind::Int8, Mode::Density(0.05), 16, TileLayout::Planes);
    let x = inputs(3, 150, 8);
    let good = ZipperLinear::new(w.clone()).unwrap().try_forward(&x, 3).unwrap();
    // The first flip from the middle of tile 2's frame on that the reference build rejects.
    let t = 2;
    let mid = (w.tile_offsets[t] + w.tile_offsets[t + 1]) as usize / 2;
    let bad = (mid..w.tile_offsets[t + 1] as usize)
        .map(|at| {
            let mut b = w.clone();
            b.delta[at] ^= 0x10;
            b
        })
        .find(|b| reference_forward(b, &x, 3).is_err())
        .expect("some flip in tile 2 is caught");
    let g = gpu();
    let s = g.stream().clone();
    let d = g.zipper_upload(&bad).unwrap();
    let mut ws = ZipperWorkspace::new(&g, 2, bad.tiles()).unwrap();
    let dx = s.clone_htod(&x).unwrap();
    let mut dy = s.clone_htod(&vec![f32::NAN; 3 * 53]).unwrap();
    g.zipper_linear(&s, &d, &dx.slice(..), 3, &mut dy.slice_mut(..), &mut ws).unwrap();
    let e = ws.check(&s, &d).unwrap_err().to_string();
    assert!(e.contains("blk.1.ffn_gate.weight") && e.contains("tile 2"), "{e}");
    let y = s.clone_dtoh(&dy).unwrap();
    let rows = bad.tile_row_range(t);
    for b in 0..3 {
        for r in 0..53 {
            let v = y[b * 53 + r];
            if rows.contains(&r) {
                assert!(v.is_nan(), "row {r} of the failed tile was written ({v})");
            } else {
                let want = good[b * 53 + r];
                assert!((v - want).abs() <= 1e-3 * want.abs().max(1.0), "batch {b} row {r}: {v} vs {want}");
            }
        }
    }
}

#[test]
fn streamed_layers_give_the_same_y_as_resident_ones() {
    let ws: Vec<_> = [(53usize, 150usize, 0.01f64), (192, 576, 0.01), (70, 577, 0.0), (96, 1000, 0.05)]
        .iter()
        .enumerate()
        .map(|(i, &(r, c, d))| {
            pack(&format!("blk.{i}.w"), r, c, BaseKind::Int8, Mode::Density(d), 16, TileLayout::Planes)
        })
        .collect();
    for batch in [1usize, 3] {
        let xs: Vec<Vec<f32>> = ws.iter().enumerate().map(|(i, w)| inputs(batch, w.cols, i as u64)).collect();
        let mut resident = ZipperModel::new(gpu(), &ws, StreamMode::Resident, 0).unwrap();
        let (want, st0) = resident.run_host(&xs, batch).unwrap();
        assert_eq!(st0.bytes_copied, 0);
        for (l, w) in ws.iter().enumerate() {
            check(&want[l], &reconstruct(w), &xs[l], w.rows, w.cols, batch, REL, &format!("resident layer {l}"));
        }
        let delta_total: usize = ws.iter().map(|w| w.delta.len()).sum();
        let all: usize = ws.iter().map(|w| w.delta.len() + w.base.len()).sum();
        for (mode, budget, copied) in [
            (StreamMode::Deltas, 0, delta_total),
            (StreamMode::Everything, 0, all),
            (StreamMode::Everything, ws[0].base.len() + ws[0].delta.len(), all - ws[0].base.len() - ws[0].delta.len()),
        ] {
            let mut m = ZipperModel::new(gpu(), &ws, mode, budget).unwrap();
            for run in 0..3 {
                let (got, st) = m.run_host(&xs, batch).unwrap();
                assert_eq!(got, want, "{mode:?} budget {budget} run {run}: streamed Y differs from resident");
                assert_eq!(st.bytes_copied as usize, copied, "{mode:?} budget {budget}");
                assert!(st.copy_ms > 0.0 && st.compute_ms > 0.0 && st.wall_ms > 0.0, "{mode:?}: timings {st:?}");
                assert_eq!(st.streamed_layers, if budget == 0 { ws.len() } else { ws.len() - 1 });
            }
        }
    }
}

#[test]
fn streamed_model_reports_a_damaged_frame_by_layer_and_tile() {
    let mut ws: Vec<_> = (0..3)
        .map(|i| {
            pack(
                &format!("blk.{i}.ffn_down.weight"),
                40,
                200,
                BaseKind::Int8,
                Mode::Density(0.05),
                16,
                TileLayout::Planes,
            )
        })
        .collect();
    let at = ws[2].tile_offsets[1] as usize + 6;
    ws[2].delta[at] ^= 0x40;
    let xs: Vec<Vec<f32>> = ws.iter().map(|w| inputs(1, w.cols, 2)).collect();
    let mut m = ZipperModel::new(gpu(), &ws, StreamMode::Deltas, 0).unwrap();
    let e = m.run_host(&xs, 1).unwrap_err().to_string();
    assert!(e.contains("blk.2.ffn_down.weight") && e.contains("tile 1"), "{e}");
}

#[test]
fn graph_replays_of_the_fused_layer_read_each_new_input() {
    use cuzstd::gpu::zipper::ZipperWorkspace;
    let (rows, cols, batch) = (96, 256, 2);
    let w = pack("blk.2.attn_q.weight", rows, cols, BaseKind::Int8, Mode::Density(0.02), 16, TileLayout::Planes);
    let cpu = ZipperLinear::new(w.clone()).unwrap();
    // A context of its own: a capture must not see the other tests' launches.
    let g = Gpu::new(0).expect("the GPU zipper tests need a CUDA device");
    let s = g.stream().clone();
    let d = g.zipper_upload(&w).unwrap();
    let mut ws = ZipperWorkspace::new(&g, ZipperWorkspace::default_slots(&g), w.tiles()).unwrap();
    for programmatic in [true, false] {
        g.set_programmatic_launch(programmatic);
        let mut dx = s.clone_htod(&inputs(batch, cols, 1)).unwrap();
        let mut dy = s.alloc_zeros::<f32>(batch * rows).unwrap();
        // SAFETY: d, dx, dy and ws outlive every replay (the graph is dropped at the end of this
        // iteration, before them), only this stream uses them, and the context is this test's own.
        let graph = unsafe {
            g.capture_graph(&s, || {
                g.zipper_linear(&s, &d, &dx.slice(..), batch, &mut dy.slice_mut(..), &mut ws)
                    .map_err(|e| cuzstd::Error::InvalidArgument(format!("launch during the capture: {e}")))
            })
        }
        .unwrap();
        // Nothing ran during the capture.
        assert!(s.clone_dtoh(&dy).unwrap().iter().all(|&v| v == 0.0), "the capture ran the kernel");
        for seed in [2u64, 3, 4] {
            let x = inputs(batch, cols, seed);
            s.memcpy_htod(&x, &mut dx).unwrap();
            graph.launch().unwrap();
            ws.check(&s, &d).unwrap();
            let y = s.clone_dtoh(&dy).unwrap();
            let want = cpu.try_forward(&x, batch).unwrap();
            for (i, (a, b)) in y.iter().zip(&want).enumerate() {
                let tag = format!("programmatic {programmatic}, input {seed}, value {i}");
                assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{tag}: graph {a} vs CPU {b}");
            }
        }
    }
}

/// Programmatic launches of the base GEMV (on by default on sm_90+) let each kernel start while
/// the one before it ends; chained layers, each reading the previous one's output, must still
/// read it complete: 24 base-only launches back to back ping-pong between two buffers, with
/// and without programmatic launches, against the same chain computed on the CPU.
#[test]
fn chained_base_gemvs_read_the_previous_output_with_and_without_programmatic_launches() {
    use cuzstd::gpu::zipper::ZipperWorkspace;
    let n = 1024;
    let w = pack("chain.weight", n, n, BaseKind::Int8, Mode::Density(0.0), 16, TileLayout::Planes);
    let wb = base_alone(&w);
    let x0 = inputs(1, n, 77);
    // One step of the CPU chain (the weights' gain is below 1: 24 steps stay in f32's range).
    let step = |x: &[f32]| -> Vec<f32> {
        (0..n).map(|r| (0..n).map(|c| f64::from(wb[r * n + c]) * f64::from(x[c])).sum::<f64>() as f32).collect()
    };
    let g = Gpu::new(0).expect("the GPU zipper tests need a CUDA device");
    let s = g.stream().clone();
    let d = g.zipper_upload(&w).unwrap();
    let mut ws = ZipperWorkspace::new(&g, 2, w.tiles()).unwrap();
    for programmatic in [true, false] {
        g.set_programmatic_launch(programmatic);
        let mut a = s.clone_htod(&x0).unwrap();
        let mut b = s.alloc_zeros::<f32>(n).unwrap();
        let mut want = x0.clone();
        for k in 0..24 {
            if k % 2 == 0 {
                g.zipper_linear_base_only(&s, &d, &a.slice(..), 1, &mut b.slice_mut(..), &mut ws).unwrap();
            } else {
                g.zipper_linear_base_only(&s, &d, &b.slice(..), 1, &mut a.slice_mut(..), &mut ws).unwrap();
            }
            want = step(&want);
        }
        ws.check(&s, &d).unwrap();
        let got = s.clone_dtoh(&a).unwrap();
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0 && scale.is_finite(), "degenerate chain (max {scale})");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-3 * scale, "programmatic {programmatic}, value {i}: GPU {g} vs CPU {w}");
        }
    }
}

/// The handle of the tests that switch the batch-1 fused kernel off and on (not the other
/// tests' handle, whose launches must not see the switch), and the lock those switches hold.
fn gpu_b1() -> &'static (Gpu, std::sync::Mutex<()>) {
    static GPU: std::sync::OnceLock<(Gpu, std::sync::Mutex<()>)> = std::sync::OnceLock::new();
    GPU.get_or_init(|| (Gpu::new(0).expect("the GPU zipper tests need a CUDA device"), std::sync::Mutex::new(())))
}

/// Y of `w` at batch 1 on gpu_b1() through a workspace of 2 decoder slots, with the batch-1
/// fused kernel on or off.
fn forward_batch1(w: &cuzstd::zipper::PackedWeight, x: &[f32], fused1: bool) -> Result<Vec<f32>, String> {
    use cuzstd::gpu::zipper::ZipperWorkspace;
    let (g, lock) = gpu_b1();
    let _switch = lock.lock().unwrap_or_else(|e| e.into_inner());
    let s = g.stream().clone();
    let d = g.zipper_upload(w).map_err(|e| e.to_string())?;
    let mut ws = ZipperWorkspace::new(g, 2, w.tiles()).unwrap();
    let dx = s.clone_htod(x).unwrap();
    let mut dy = s.alloc_zeros::<f32>(w.rows).unwrap();
    g.set_batch1_fused_kernel(fused1);
    let r = g.zipper_linear(&s, &d, &dx.slice(..), 1, &mut dy.slice_mut(..), &mut ws);
    g.set_batch1_fused_kernel(true);
    r.map_err(|e| e.to_string())?;
    ws.check(&s, &d).map_err(|e| e.to_string())?;
    Ok(s.clone_dtoh(&dy).unwrap())
}

/// Batch 1 on rows of 4096 bytes or more (the batch-1 fused kernel, `zp_fused1_*`, here with few
/// tiles): Y against X·Ŵᵀ and the general kernel, tiles of 16 rows and fewer, INT8 and INT4,
/// densities 0, 1 % and 5 %.
#[test]
fn batch_one_kernel_for_long_rows_matches_x_times_w_and_the_general_kernel() {
    let g = &gpu_b1().0;
    let kinds = [BaseKind::Int8, BaseKind::Int4 { group: 32 }, BaseKind::Int4 { group: 128 }];
    for &(rows, cols, tile_rows) in &[(40usize, 4096usize, 16usize), (37, 4608, 16), (21, 8192, 4), (10, 12288, 3)] {
        for kind in kinds {
            for mode in [Mode::Density(0.0), Mode::Density(0.01), Mode::Density(0.05)] {
                let w = pack("l.weight", rows, cols, kind, mode, tile_rows, TileLayout::Planes);
                let tag = format!("{rows}x{cols} tiles of {tile_rows} {kind:?} {mode:?}");
                // INT4 rows of 4096 and 4608 columns are under 4096 bytes: the general kernel.
                let long = kind.row_bytes(cols) >= 4096;
                assert_eq!(g.zipper_upload(&w).unwrap().batch1_fused_kernel_applies(), long, "{tag}");
                let x = inputs(1, cols, 77);
                let y = forward_batch1(&w, &x, true).unwrap_or_else(|e| panic!("{tag}: {e}"));
                check(&y, &reconstruct(&w), &x, rows, cols, 1, REL, &tag);
                let y_general = forward_batch1(&w, &x, false).unwrap();
                for (i, (a, b)) in y.iter().zip(&y_general).enumerate() {
                    assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{tag}: row {i}: {a} vs general kernel {b}");
                }
            }
        }
    }
}

/// More tiles than the GPU holds at three blocks per multiprocessor (the batch-1 fused kernel,
/// one block per tile), against X·Ŵᵀ, with tiles of 4 rows (frames of one group of blocks) and
/// 16 (two groups, one for each decoding warp); and tiles of the kernel's most rows, 32.
#[test]
fn batch_one_kernel_for_many_tiles() {
    let g = &gpu_b1().0;
    let mp = g.props().multiprocessors as usize;
    for (tile_rows, many) in [(4, 3 * mp + 36), (16, 3 * mp + 36), (32, mp + 5)] {
        let rows = tile_rows * many;
        let w = pack("m.weight", rows, 4096, BaseKind::Int8, Mode::Density(0.01), tile_rows, TileLayout::Planes);
        assert_eq!(w.tiles(), many);
        assert!(g.zipper_upload(&w).unwrap().batch1_fused_kernel_applies(), "tiles of {tile_rows} rows");
        let x = inputs(1, 4096, 9);
        let y = forward_batch1(&w, &x, true).unwrap();
        check(&y, &reconstruct(&w), &x, rows, 4096, 1, REL, &format!("{many} tiles of {tile_rows} rows"));
    }
}

/// A layer of the batch-1 fused kernel's shape (40×4096 INT8, 1 %, tiles of `tile_rows` rows:
/// 8 give frames of one group of blocks, 16 of two) and its input.
fn long_row_layer(tile_rows: usize) -> (cuzstd::zipper::PackedWeight, Vec<f32>) {
    let w = pack("blk.9.ffn_up.weight", 40, 4096, BaseKind::Int8, Mode::Density(0.01), tile_rows, TileLayout::Planes);
    (w, inputs(1, 4096, 5))
}

/// Bit flips in the tiles of a batch-1 fused layer, frames of one and of two block groups (the
/// second group decoded by the second decoding warp): the reference build's verdict, the tile
/// named, no change of Y without an error.
#[test]
fn batch_one_kernel_reports_damaged_frames_like_the_reference_build() {
    for tile_rows in [8, 16] {
        damaged_frames_batch_one(tile_rows);
    }
}

fn damaged_frames_batch_one(tile_rows: usize) {
    let g = &gpu_b1().0;
    let (w, x) = long_row_layer(tile_rows);
    assert!(g.zipper_upload(&w).unwrap().batch1_fused_kernel_applies());
    // Frames of 2 KiB of content or more hold two groups of 8 blocks (cz_literal_frame_blocks).
    let content = |t: usize| {
        let f = &w.delta[w.tile_offsets[t] as usize..w.tile_offsets[t + 1] as usize];
        cuzstd::zipper::frame::inspect_tile(f, w.max_tile_bytes).unwrap()
    };
    let two_groups = (0..w.tiles()).filter(|&t| content(t) >= 2048).count();
    assert_eq!(two_groups > 0, tile_rows == 16, "tiles of {tile_rows}: {two_groups} frames of two groups");
    let good = forward_batch1(&w, &x, true).unwrap();
    let mut rng = StdRng::seed_from_u64(21 + tile_rows as u64);
    let mut caught = 0;
    for _ in 0..40 {
        let t = rng.random_range(0..w.tiles());
        let at = rng.random_range(w.tile_offsets[t] as usize..w.tile_offsets[t + 1] as usize);
        let mut bad = w.clone();
        bad.delta[at] ^= 1 << rng.random_range(0..8);
        let cpu = reference_forward(&bad, &x, 1).map_err(|e| e.to_string());
        match forward_batch1(&bad, &x, true) {
            Err(e) => {
                assert!(e.contains("blk.9.ffn_up.weight") && e.contains(&format!("tile {t}")), "{e}");
                assert_eq!(cpu, Err(e), "tiles of {tile_rows}: flip at byte {at}");
                caught += 1;
            }
            Ok(y) => {
                assert_eq!(y, good, "tiles of {tile_rows}: a flip at byte {at} of tile {t} changed Y without an error");
                assert!(cpu.is_ok(), "tiles of {tile_rows}: flip at byte {at}: the reference build rejects it");
            }
        }
    }
    assert!(caught >= 30, "tiles of {tile_rows}: only {caught} of 40 bit flips were caught");
}

/// A tile whose content decodes but whose checksum field does not match: the batch-1 kernel
/// checks the checksum while the other warps take the tile's rows, and the mismatch must still
/// be the tile's error (the reference build's, CHECKSUM_MISMATCH at the frame's last block),
/// for frames of one and of two block groups, in the first, a middle and the last tile.
#[test]
fn batch_one_kernel_names_a_checksum_mismatch_found_while_rows_are_taken() {
    for tile_rows in [8, 16] {
        let (w, x) = long_row_layer(tile_rows);
        for t in [0, w.tiles() / 2, w.tiles() - 1] {
            let mut bad = w.clone();
            let last = w.tile_offsets[t + 1] as usize - 1; // the checksum field's top byte
            bad.delta[last] ^= 0x10;
            let cpu = reference_forward(&bad, &x, 1).map_err(|e| e.to_string());
            let e = forward_batch1(&bad, &x, true).expect_err("a checksum mismatch must be an error");
            assert!(e.contains("CHECKSUM_MISMATCH") && e.contains(&format!("tile {t}")), "tiles of {tile_rows}: {e}");
            assert_eq!(cpu, Err(e.clone()), "tiles of {tile_rows}, tile {t}");
            assert_eq!(forward_batch1(&bad, &x, false), Err(e), "tiles of {tile_rows}, tile {t}: general kernel");
        }
    }
}

/// Tiles of a batch-1 fused layer as plain libzstd frames (not literal frames): decoded by the
/// full decoder in a workspace slot taken under its lock, one tile and then every tile (each
/// block of the launch wants one of the workspace's two slots).
#[test]
fn batch_one_kernel_decodes_plain_zstd_tiles_in_locked_workspace_slots() {
    use cuzstd::zipper::frame;
    let (w, x) = long_row_layer(8);
    let good = forward_batch1(&w, &x, true).unwrap();
    let payloads = tile_payloads(&w);
    for replaced in [vec![1usize], (0..w.tiles()).collect()] {
        let mut z = w.clone();
        z.delta.clear();
        z.tile_offsets = vec![0];
        for (t, p) in payloads.iter().enumerate() {
            if replaced.contains(&t) {
                z.delta.extend_from_slice(&frame::compress_tile(p, frame::DEFAULT_LEVEL).unwrap());
            } else {
                z.delta.extend_from_slice(&w.delta[w.tile_offsets[t] as usize..w.tile_offsets[t + 1] as usize]);
            }
            z.tile_offsets.push(z.delta.len() as u64);
        }
        let y = forward_batch1(&z, &x, true).unwrap_or_else(|e| panic!("{} zstd tiles: {e}", replaced.len()));
        assert_close(&y, &good, &format!("{} zstd tiles", replaced.len()));
    }
}

/// `content` as one literal frame of `blocks` raw blocks of about equal size (single segment,
/// content size, checksum, no dictionary ID): a frame the literal decoders take block by block.
fn raw_block_frame(content: &[u8], blocks: usize) -> Vec<u8> {
    let n = content.len();
    assert!((256..65792).contains(&n) && blocks >= 1 && blocks <= n);
    let mut f = 0xFD2F_B528u32.to_le_bytes().to_vec();
    f.push((1 << 6) | (1 << 5) | (1 << 2)); // 2-byte content size, single segment, checksum
    f.extend_from_slice(&((n - 256) as u16).to_le_bytes());
    for b in 0..blocks {
        let (s, e) = (n * b / blocks, n * (b + 1) / blocks);
        let header = (((e - s) as u32) << 3) | u32::from(b + 1 == blocks); // raw block
        f.extend_from_slice(&header.to_le_bytes()[..3]);
        f.extend_from_slice(&content[s..e]);
    }
    f.extend_from_slice(&(xxhash_rust::xxh64::xxh64(content, 0) as u32).to_le_bytes());
    f
}

/// The decoding warps of the batch-1 kernel and the general kernel's decoding warp take literal
/// frames of up to 32 blocks (each warp walks the block chain once, lane j keeping block j);
/// frames of more blocks go to the full decoder. Tiles rewritten as frames of 1, 31, 32, 33 and
/// 40 raw blocks must give the layer's Y in both kernels.
#[test]
fn batch_one_kernel_takes_literal_frames_of_up_to_32_blocks_and_hands_on_longer_ones() {
    use cuzstd::zipper::frame;
    let (w, x) = long_row_layer(16);
    let good = forward_batch1(&w, &x, true).unwrap();
    let payloads = tile_payloads(&w);
    for blocks in [1usize, 31, 32, 33, 40] {
        let mut z = w.clone();
        z.delta.clear();
        z.tile_offsets = vec![0];
        for p in &payloads {
            let f = raw_block_frame(p, blocks);
            assert_eq!(frame::decompress_tile(&f, w.max_tile_bytes, &w.dict).unwrap(), *p, "{blocks} blocks");
            z.delta.extend_from_slice(&f);
            z.tile_offsets.push(z.delta.len() as u64);
        }
        assert!(g_applies(&z), "{blocks} blocks");
        for fused1 in [true, false] {
            let what = format!("frames of {blocks} raw blocks, batch-1 kernel {fused1}");
            let y = forward_batch1(&z, &x, fused1).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_close(&y, &good, &what);
        }
    }
}

fn g_applies(w: &cuzstd::zipper::PackedWeight) -> bool {
    gpu_b1().0.zipper_upload(w).unwrap().batch1_fused_kernel_applies()
}

/// Each tile's decoded content (through libzstd with the layer's dictionary).
fn tile_payloads(w: &cuzstd::zipper::PackedWeight) -> Vec<Vec<u8>> {
    (0..w.tiles())
        .map(|t| {
            let f = &w.delta[w.tile_offsets[t] as usize..w.tile_offsets[t + 1] as usize];
            cuzstd::zipper::frame::decompress_tile(f, w.max_tile_bytes, &w.dict).unwrap()
        })
        .collect()
}

fn assert_close(y: &[f32], want: &[f32], what: &str) {
    for (i, (a, b)) in y.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{what}: row {i}: {a} vs {b}");
    }
}

/// Where each block header of the zstd frame `f` starts (walking the headers; the frame must be
/// well formed).
fn block_header_offsets(f: &[u8]) -> Vec<usize> {
    let fhd = f[4];
    let single = fhd & 0x20 != 0;
    let dict = [0, 1, 2, 4][(fhd & 3) as usize];
    let fcs = [if single { 1 } else { 0 }, 2, 4, 8][(fhd >> 6) as usize];
    let mut p = 5 + usize::from(!single) + dict + fcs;
    let mut at = Vec::new();
    loop {
        at.push(p);
        let h = u32::from_le_bytes([f[p], f[p + 1], f[p + 2], 0]);
        let size = (h >> 3) as usize;
        p += 3 + if (h >> 1) & 3 == 1 { 1 } else { size };
        if h & 1 == 1 {
            return at;
        }
    }
}

/// Every bit of every block header of three tiles flipped, one at a time (sizes that reach past
/// the frame or stop short of it, reserved and swapped block types, a last-block flag set early
/// or cleared): the batch-1 kernel's and the general kernel's decoding warps walk the block chain,
/// and both must give the reference build's verdict: its error, naming the tile, or (when it
/// decodes) the layer's Y unchanged. The batch-1 kernel decodes a frame that its literal path
/// declines into its tile buffer, sized from the layer's largest frame (docs/ZIPPER.md), not
/// into `max_tile_bytes` as the reference build does: a block that makes the content longer
/// than the frame header says must still get the same status and block (CONTENT_SIZE_MISMATCH)
/// from both, however much room each has.
#[test]
fn block_header_bit_flips_get_the_reference_verdict_in_both_kernels() {
    let (w, x) = long_row_layer(16);
    // Each kernel's Y of the undamaged layer (the same content gives the same sums, bit for bit).
    let good = [forward_batch1(&w, &x, true).unwrap(), forward_batch1(&w, &x, false).unwrap()];
    let (flips, two_groups) = block_header_flips(&w, &x, &good, |bad, fused1| forward_batch1(bad, &x, fused1));
    assert!(two_groups >= 2 && flips >= (2 * 9 + 1) * 24, "{flips} flips, {two_groups} frames of two groups");
}

/// Flips every bit of every block header of tiles 0, 1 and the last of `w`, one at a time, and
/// runs each damaged copy through `forward` with the batch-1 kernel on and off: each gives the
/// reference build's error naming the tile, or (when the reference build decodes it) Y equal to
/// `good` (the undamaged Y of each kernel). Returns the flips made and how many of the tiles
/// have more than one group of 8 blocks.
fn block_header_flips(
    w: &cuzstd::zipper::PackedWeight,
    x: &[f32],
    good: &[Vec<f32>; 2],
    forward: impl Fn(&cuzstd::zipper::PackedWeight, bool) -> Result<Vec<f32>, String>,
) -> (usize, usize) {
    let (mut flips, mut grouped) = (0, 0);
    for t in [0, 1, w.tiles() - 1] {
        let (a, b) = (w.tile_offsets[t] as usize, w.tile_offsets[t + 1] as usize);
        let headers = block_header_offsets(&w.delta[a..b]);
        grouped += usize::from(headers.len() > 8);
        for h in headers {
            for bit in 0..24 {
                let mut bad = w.clone();
                bad.delta[a + h + bit / 8] ^= 1 << (bit % 8);
                let cpu = reference_forward(&bad, x, 1).map_err(|e| e.to_string());
                for (k, fused1) in [true, false].into_iter().enumerate() {
                    let what = format!("tile {t}, block header at {h}, bit {bit}, batch-1 kernel {fused1}");
                    match forward(&bad, fused1) {
                        Err(e) => {
                            assert!(e.contains(&format!("tile {t}")), "{what}: {e}");
                            let want = cpu.as_ref().expect_err(&format!("{what}: only the kernel fails: {e}"));
                            assert_eq!(want, &e, "{what}");
                        }
                        Ok(y) => {
                            assert!(cpu.is_ok(), "{what}: the reference build rejects it: {cpu:?}");
                            assert_eq!(y, good[k], "{what}: Y changed without an error");
                        }
                    }
                }
                flips += 1;
            }
        }
    }
    (flips, grouped)
}

/// Y of `w` at batch 1 through the batch-1 fused kernel (`fused1`) or the general one with the
/// delta streamed: the weight is uploaded without its delta (so its block index comes from `w`'s
/// frames) and each launch reads `delta` (a copy of `w.delta`'s length) instead.
fn forward_batch1_stale_index(
    w: &cuzstd::zipper::PackedWeight,
    delta: &[u8],
    x: &[f32],
    fused1: bool,
) -> Result<Vec<f32>, String> {
    use cuzstd::gpu::zipper::{LaunchParts, Residency, ZipperWorkspace};
    let (g, lock) = gpu_b1();
    let _switch = lock.lock().unwrap_or_else(|e| e.into_inner());
    let s = g.stream().clone();
    let d = g.zipper_upload_parts(&s, w, Residency { base: true, delta: false }).map_err(|e| e.to_string())?;
    assert!(d.batch1_fused_kernel_applies());
    let mut ws = ZipperWorkspace::new(g, 2, w.tiles()).unwrap();
    let dd = s.clone_htod(delta).unwrap();
    let dx = s.clone_htod(x).unwrap();
    let mut dy = s.alloc_zeros::<f32>(w.rows).unwrap();
    let mut results = s.alloc_zeros::<cuzstd::abi::cz_item_result>(w.tiles()).unwrap();
    let view = dd.slice(..);
    let parts = LaunchParts { base: None, delta: Some(&view), base_only: false };
    let (slots, nslots) = ws.slots_mut();
    g.set_batch1_fused_kernel(fused1);
    let r = g.zipper_linear_parts(
        &s,
        &d,
        &parts,
        &dx.slice(..),
        1,
        &mut dy.slice_mut(..),
        slots,
        nslots,
        &mut results.slice_mut(..),
    );
    g.set_batch1_fused_kernel(true);
    r.map_err(|e| e.to_string())?;
    let r = s.clone_dtoh(&results).unwrap();
    cuzstd::zipper::kernel::check_results(d.name(), &r).map_err(|e| e.to_string())?;
    Ok(s.clone_dtoh(&dy).unwrap())
}

/// The fused kernels' block index is built from the frames at upload; a streamed delta whose
/// block headers differ (here every bit of every block header of three tiles flipped, one at
/// a time, after the upload) must not be read through the stale index: each launch of either
/// kernel gives the reference build's verdict on the bytes it read, and the undamaged delta the
/// resident Y.
#[test]
fn batch_one_kernel_checks_its_block_index_against_the_streamed_frames() {
    let (w, x) = long_row_layer(16);
    let good = [forward_batch1(&w, &x, true).unwrap(), forward_batch1(&w, &x, false).unwrap()];
    for (k, fused1) in [true, false].into_iter().enumerate() {
        let y = forward_batch1_stale_index(&w, &w.delta, &x, fused1).unwrap();
        assert_eq!(y, good[k], "undamaged streamed delta, batch-1 kernel {fused1}");
    }
    let (flips, _) =
        block_header_flips(&w, &x, &good, |bad, fused1| forward_batch1_stale_index(&w, &bad.delta, &x, fused1));
    assert!(flips >= (2 * 9 + 1) * 24, "{flips} flips");
}
