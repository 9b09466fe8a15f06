//! The reference build of the fused zipper kernel (`cuda/zipper.cu` on the CPU): its decoder
//! call, tile checks and weight reconstruction give X·Ŵᵀ for every base, density, layout and
//! awkward shape; a damaged delta frame is an error naming the tensor and tile; its half
//! conversions agree with the `half` crate bit for bit.

mod zipper_common;

use cuzstd::zipper::kernel::reference_forward;
use cuzstd::zipper::tile::TileLayout;
use cuzstd::zipper::ZipperLinear;
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zipper_common::*;

#[test]
fn reference_kernel_matches_x_times_w_for_every_packing() {
    for &(rows, cols) in &SHAPES {
        for kind in kinds() {
            for mode in modes() {
                for (layout, codec) in LAYOUT_CODECS {
                    let w = pack_codec("t.weight", rows, cols, kind, mode, 16, layout, codec);
                    let what = reconstruct(&w);
                    let cpu = ZipperLinear::new(w.clone()).unwrap();
                    for batch in [1usize, 3, 17] {
                        let x = inputs(batch, cols, batch as u64);
                        let y = reference_forward(&w, &x, batch).unwrap();
                        let tag = format!("{rows}x{cols} {kind:?} {mode:?} {layout:?} {codec:?} batch {batch}");
                        check(&y, &what, &x, rows, cols, batch, 1e-5, &tag);
                        let yc = cpu.try_forward(&x, batch).unwrap();
                        check(&yc, &what, &x, rows, cols, batch, 1e-5, &format!("CPU layer {tag}"));
                    }
                }
            }
        }
    }
}

#[test]
fn damaged_delta_frames_name_the_tensor_and_tile_or_change_nothing() {
    for codec in CODECS {
        let w = pack_codec(
            "blk.3.ffn_up.weight",
            53,
            150,
            cuzstd::zipper::BaseKind::Int8,
            Mode::Density(0.05),
            16,
            TileLayout::Planes,
            codec,
        );
        let x = inputs(2, 150, 9);
        let good = reference_forward(&w, &x, 2).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let mut errors = 0;
        for _ in 0..300 {
            let t = rng.random_range(0..w.tiles());
            let (a, b) = (w.tile_offsets[t] as usize, w.tile_offsets[t + 1] as usize);
            let mut bad = w.clone();
            let at = rng.random_range(a..b);
            bad.delta[at] ^= 1 << rng.random_range(0..8);
            match reference_forward(&bad, &x, 2) {
                Err(e) => {
                    let m = e.to_string();
                    assert!(m.contains("blk.3.ffn_up.weight") && m.contains(&format!("tile {t}")), "{m}");
                    errors += 1;
                }
                Ok(y) => assert_eq!(y, good, "{codec:?}: a flip at byte {at} of tile {t} changed Y without an error"),
            }
        }
        assert!(errors > 250, "{codec:?}: only {errors} of 300 bit flips were caught");
    }
}

/// The fused kernel's literal-frame decode (`cz_decode_literal_frame`, run here by its
/// reference build) against libzstd with the dictionary: on every tile of literal packs it is
/// taken and gives libzstd's bytes; on damaged tiles it either declines (the kernel then runs
/// the full decoder) or gives exactly what libzstd gives, never bytes libzstd rejects.
#[test]
fn literal_frame_decode_agrees_with_libzstd_on_good_and_damaged_tiles() {
    use cuzstd::gpu::reference_zipper::{dictionary_table, literal_frame_decode};
    use cuzstd::zipper::frame::decompress_tile;
    let mut rng = StdRng::seed_from_u64(77);
    let (mut taken, mut declined, mut damaged_taken) = (0, 0, 0);
    for &(rows, cols) in &SHAPES {
        for mode in modes() {
            let w = pack("t.weight", rows, cols, cuzstd::zipper::BaseKind::Int8, mode, 16, TileLayout::Planes);
            let (dt, log, id) = dictionary_table(&w.dict).unwrap();
            for t in 0..w.tiles() {
                let f = w.tile_frame(t);
                let want = decompress_tile(f, w.max_tile_bytes, &w.dict).unwrap();
                let got = literal_frame_decode(f, w.max_tile_bytes, &dt, log, id);
                assert_eq!(got.as_deref(), Some(&want[..]), "{rows}x{cols} {mode:?} tile {t}");
                taken += 1;
                for _ in 0..20 {
                    let mut bad = f.to_vec();
                    let at = rng.random_range(0..bad.len());
                    bad[at] ^= 1 << rng.random_range(0..8);
                    let lib = decompress_tile(&bad, w.max_tile_bytes, &w.dict).ok();
                    match literal_frame_decode(&bad, w.max_tile_bytes, &dt, log, id) {
                        None => declined += 1,
                        Some(v) => {
                            assert_eq!(Some(&v), lib.as_ref(), "{rows}x{cols} tile {t}: flip at {at}");
                            damaged_taken += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(taken >= 30 && declined > 20 * taken / 2, "{taken} tiles, {declined} damaged declined");
    eprintln!("{taken} tiles decoded; damaged: {declined} declined, {damaged_taken} decoded as libzstd does");
}

#[test]
fn half_conversions_match_the_half_crate() {
    use cuzstd::gpu::reference_zipper::{f16_to_f32, f32_to_bf16, f32_to_f16};
    for h in 0..=u16::MAX {
        let want = f16::from_bits(h).to_f32();
        let got = f16_to_f32(h);
        assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "f16 {h:#06x}: {got} vs {want}");
        if want.is_finite() {
            assert_eq!(f32_to_f16(want), h, "f16 {h:#06x} round trip");
        }
    }
    let mut rng = StdRng::seed_from_u64(1);
    let specials = [
        0.0f32,
        -0.0,
        65504.0,
        65519.99,
        65520.0,
        1e-8,
        f32::from_bits(0x3300_0000), // 2^-25: a tie, rounds to 0
        f32::from_bits(0x3300_0001),
        5.96e-8,
        6.1e-5,
        -3.0e38,
        f32::INFINITY,
    ];
    let randoms = (0..200_000).map(|_| f32::from_bits(rng.random::<u32>())).filter(|x| x.is_finite());
    for x in specials.into_iter().chain(randoms) {
        assert_eq!(f32_to_f16(x), f16::from_f32(x).to_bits(), "f16 of {x:e} ({:#010x})", x.to_bits());
        assert_eq!(f32_to_bf16(x), bf16::from_f32(x).to_bits(), "bf16 of {x:e}");
    }
}

#[test]
fn bad_entries_of_a_well_formed_tile_give_the_first_bad_entry_in_entry_order() {
    // Tile 1 re-encoded with a column past the row, an infinite value, or both in two rows: the
    // frame decodes and its checksum matches, so only the tile checks reject it, naming the
    // first bad entry (the kernel checks rows in parallel and must report the same one).
    for codec in CODECS {
        for mode in [Mode::Density(0.05), Mode::Lossless] {
            let w = pack_codec(
                "blk.2.ffn_up.weight",
                53,
                150,
                cuzstd::zipper::BaseKind::Int8,
                mode,
                16,
                TileLayout::Planes,
                codec,
            );
            let x = inputs(2, 150, 6);
            for (status, edit) in bad_entry_cases() {
                let (bad, j) = with_edited_tile(&w, 1, edit);
                let e = reference_forward(&bad, &x, 2).unwrap_err().to_string();
                assert!(
                    e.contains(status) && e.contains("tile 1") && e.contains(&format!("(detail {j:#x})")),
                    "{codec:?} {mode:?}: want {status} at entry {j}: {e}"
                );
            }
        }
    }
}
