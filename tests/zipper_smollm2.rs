//! The zipper on SmolLM2-135M's real layers (Q4_1 in the GGUF, dequantized to f16 as the LLM
//! runtime loads them). Needs the model: run `scripts/fetch-smollm2.sh` (or point
//! `CUZSTD_SMOLLM2_GGUF` at the file); without it these tests fail.

use std::path::PathBuf;
use std::sync::OnceLock;

use cuzstd::gguf::Gguf;
use cuzstd::llm::Linear;
use cuzstd::zipper::delta::{self, DeltaMode, HalfKind};
use cuzstd::zipper::pack::{pack_bytes, pack_matrix, PackOptions};
use cuzstd::zipper::quant::{Base, BaseKind};
use cuzstd::zipper::{tile, ZipperFile, ZipperLinear};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MODEL_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn model_path() -> PathBuf {
    match std::env::var_os("CUZSTD_SMOLLM2_GGUF") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(MODEL_NAME),
    }
}

fn model_bytes() -> &'static Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = model_path();
        assert!(
            path.exists(),
            "model file {} is missing: run scripts/fetch-smollm2.sh (or set CUZSTD_SMOLLM2_GGUF)",
            path.display()
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

fn gguf() -> Gguf<&'static [u8]> {
    Gguf::parse(model_bytes().as_slice()).expect("GGUF")
}

/// X·Ŵᵀ in f64 with Ŵ from the quantizer and selection alone, compared with the layer.
fn check_layer(name: &str, w: &[f32], rows: usize, cols: usize, o: &PackOptions) -> (f64, f64) {
    let (p, rep) = pack_matrix(name, w, rows, cols, HalfKind::F16, "Q4_1", o).unwrap();
    let mut base = Base::quantize(w, rows, cols, o.kind).dequantize();
    let (d, _) =
        delta::select(w, &mut base, rows, cols, o.mode, HalfKind::F16, tile::max_entries_per_row(o.max_tile_bytes))
            .unwrap();
    d.add_to(&mut base, cols);
    if o.mode == DeltaMode::Lossless {
        for x in &mut base {
            *x = HalfKind::F16.round(*x);
        }
        assert_eq!(base, w, "{name}: lossless reconstruction is the source");
    }
    let layer = ZipperLinear::new(p).unwrap();
    let mut rng = StdRng::seed_from_u64(rows as u64 ^ cols as u64);
    // Every batch shape class on the small layer; batches 1 and 5 on the large ones (keeps the
    // f64 reference cheap).
    let batches: &[usize] = if rows * cols <= 192 * 576 { &[1, 7, 64] } else { &[1, 5] };
    for &batch in batches {
        let x: Vec<f32> = (0..batch * cols).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        let y = layer.forward(&x, batch);
        for b in 0..batch {
            for r in 0..rows {
                let (mut want, mut mag) = (0f64, 0f64);
                for c in 0..cols {
                    let v = f64::from(x[b * cols + c]) * f64::from(base[r * cols + c]);
                    want += v;
                    mag += v.abs();
                }
                let got = f64::from(y[b * rows + r]);
                assert!((got - want).abs() <= 1e-5 * mag + 1e-6, "{name} {o:?} batch {b} row {r}: {got} vs {want}");
            }
        }
    }
    (rep.err_base, rep.err_final)
}

#[test]
fn real_layers_through_every_mode() {
    let g = gguf();
    for name in ["blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.7.ffn_down.weight", "blk.29.ffn_up.weight"] {
        let t = g.tensor(name).unwrap();
        let (rows, cols) = t.info.rows_cols();
        let w = t.to_f32_via_f16().unwrap();
        for (kind, mode) in [
            (BaseKind::Int8, DeltaMode::TopK { density: 0.01 }),
            (BaseKind::Int8, DeltaMode::Lossless),
            (BaseKind::Int4 { group: 64 }, DeltaMode::TopK { density: 0.01 }),
            (BaseKind::Int4 { group: 32 }, DeltaMode::TopK { density: 0.0 }),
        ] {
            let o = PackOptions { kind, mode, ..PackOptions::default() };
            let (eb, ef) = check_layer(name, &w, rows, cols, &o);
            match mode {
                DeltaMode::Lossless => assert_eq!(ef, 0.0),
                DeltaMode::TopK { density } if density > 0.0 => assert!(ef < eb, "{name} {kind:?}: {ef} !< {eb}"),
                _ => assert_eq!(ef, eb),
            }
            if kind == BaseKind::Int8 {
                assert!(eb < 0.02, "{name}: INT8 relative error {eb}");
            }
        }
    }
}

/// Packs the whole model losslessly and runs it through the LLM runtime: the first-step logits
/// equal the dense f16 model's up to summation order. Slow (packs 106 M weights): run with
/// `cargo test --test zipper_smollm2 -- --ignored`.
#[test]
#[ignore]
fn lossless_model_matches_the_dense_model() {
    let g = gguf();
    let o = PackOptions { mode: DeltaMode::Lossless, ..PackOptions::default() };
    let (bytes, report) = pack_bytes(model_bytes().clone(), MODEL_NAME, &o).unwrap();
    assert_eq!(report.tensors.len(), 210);
    assert!(report.tensors.iter().all(|t| t.err_final == 0.0));
    let f = ZipperFile::parse(bytes).unwrap();
    let zipped = cuzstd::zipper::layer::load_llama(&g, &f).unwrap();
    let dense = cuzstd::llm::Llama::from_gguf(&g).unwrap();
    let tokens = [1u32, 9690, 198, 19556, 28, 2683, 359, 346, 47, 2, 198];
    let a = dense.forward(&tokens, &mut dense.new_cache(), false).unwrap();
    let b = zipped.forward(&tokens, &mut zipped.new_cache(), false).unwrap();
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    eprintln!("largest first-step logit difference, lossless zipper vs dense f16: {worst:e}");
    assert!(worst < 1e-3, "{worst}");
    assert_eq!(cuzstd::llm::argmax(&a), cuzstd::llm::argmax(&b));
}
