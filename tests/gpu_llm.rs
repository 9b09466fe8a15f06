//! The GPU llama engine (`cuzstd::gpu::llm::GpuLlama`) on a small random llama written as a
//! GGUF here: its logits against the CPU forward pass for f16, int8 and zipper weights; the
//! streamed modes (deltas, everything, a partial VRAM budget, f16 offload) against the resident
//! ones, bit for bit, over prefill, decode steps and chunked passes; errors for bad tokens, a
//! full context, a budget below the fixed needs and a damaged delta frame (naming the layer and
//! tile), with the engine still usable after each.
//!
//! Needs an NVIDIA GPU; fails loudly without one. Run with
//! `cargo test --release --features gpu-tests --test gpu_llm`.

use std::sync::Arc;

use cuzstd::gguf::{GgmlType, Gguf, GgufWriter, Value};
use cuzstd::gpu::llm::{GpuLlama, GpuLlamaOptions, Streaming, WeightMode};
use cuzstd::gpu::Gpu;
use cuzstd::llm::{CpuSession, LinearWeight, Llama, ModelWeights, Session, SplitMix64};
use cuzstd::zipper::delta::DeltaMode;
use cuzstd::zipper::pack::{pack_bytes, PackOptions};
use cuzstd::zipper::ZipperFile;
use half::f16;

fn gpu() -> Arc<Gpu> {
    static GPU: std::sync::OnceLock<Arc<Gpu>> = std::sync::OnceLock::new();
    GPU.get_or_init(|| Arc::new(Gpu::new(0).expect("the GPU llm tests need a CUDA device"))).clone()
}

const VOCAB: u64 = 96;

/// Two blocks, width 64, 4 heads of 16 (2 kv heads), FFN 128, vocab 96, context 64; f16
/// matrices from a seeded generator, norms near 1.
fn tiny_gguf() -> Vec<u8> {
    let (d, ff, kv) = (64u64, 128u64, 32u64);
    let mut rng = SplitMix64::new(42);
    let mut f16s = |n: u64, s: f32| -> Vec<u8> {
        (0..n).flat_map(|_| f16::from_f32((rng.next_f64() as f32 * 2.0 - 1.0) * s).to_bits().to_le_bytes()).collect()
    };
    let norm = |n: u64| -> Vec<u8> { (0..n).flat_map(|i| (1.0f32 + 0.01 * (i % 7) as f32).to_le_bytes()).collect() };
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", Value::String("llama".into()));
    for (k, v) in [
        ("block_count", 2u32),
        ("context_length", 64),
        ("embedding_length", d as u32),
        ("feed_forward_length", ff as u32),
        ("attention.head_count", 4),
        ("attention.head_count_kv", 2),
        ("vocab_size", VOCAB as u32),
    ] {
        w.metadata(&format!("llama.{k}"), Value::U32(v));
    }
    w.metadata("llama.rope.freq_base", Value::F32(10000.0));
    w.metadata("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
    w.tensor("token_embd.weight", &[d, VOCAB], GgmlType::F16, f16s(d * VOCAB, 1.0));
    w.tensor("output_norm.weight", &[d], GgmlType::F32, norm(d));
    for b in 0..2 {
        w.tensor(&format!("blk.{b}.attn_norm.weight"), &[d], GgmlType::F32, norm(d));
        w.tensor(&format!("blk.{b}.ffn_norm.weight"), &[d], GgmlType::F32, norm(d));
        for (name, inp, out) in [
            ("attn_q", d, d),
            ("attn_k", d, kv),
            ("attn_v", d, kv),
            ("attn_output", d, d),
            ("ffn_gate", d, ff),
            ("ffn_up", d, ff),
            ("ffn_down", ff, d),
        ] {
            w.tensor(&format!("blk.{b}.{name}.weight"), &[inp, out], GgmlType::F16, f16s(inp * out, 0.25));
        }
    }
    w.to_bytes()
}

fn pack(gguf: &[u8], mode: DeltaMode) -> ZipperFile {
    let o = PackOptions { mode, tile_rows: 16, ..PackOptions::default() };
    let (bytes, _) = pack_bytes(gguf.to_vec(), "tiny.gguf", &o).expect("packing the tiny model");
    ZipperFile::parse(bytes).expect("parsing the container")
}

const PROMPT: [u32; 9] = [3, 1, 4, 1, 5, 9, 2, 6, 5];

/// Prefill (all logits), then greedy decode steps (last logits): every logits row in order.
fn trace(s: &mut dyn Session, steps: usize) -> Vec<Vec<f32>> {
    s.reset().unwrap();
    let vocab = s.config().vocab_size;
    let all = s.forward(&PROMPT, true).unwrap();
    let mut rows: Vec<Vec<f32>> = all.chunks(vocab).map(|r| r.to_vec()).collect();
    for _ in 0..steps {
        let next = cuzstd::llm::argmax(rows.last().unwrap());
        rows.push(s.forward(&[next], false).unwrap());
    }
    rows
}

fn assert_close(what: &str, got: &[Vec<f32>], want: &[Vec<f32>], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: rows");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let scale = w.iter().fold(1f32, |m, v| m.max(v.abs()));
        for (j, (a, b)) in g.iter().zip(w).enumerate() {
            assert!((a - b).abs() <= tol * scale, "{what}: row {i} logit {j}: GPU {a}, CPU {b}");
        }
    }
}

fn engine(
    w: &ModelWeights,
    mode: WeightMode,
    streaming: Streaming,
    budget: Option<usize>,
    max_batch: usize,
) -> GpuLlama {
    engine_stages(w, mode, streaming, budget, max_batch, 3)
}

fn engine_stages(
    w: &ModelWeights,
    mode: WeightMode,
    streaming: Streaming,
    budget: Option<usize>,
    max_batch: usize,
    stages: usize,
) -> GpuLlama {
    // Copies are timed with the fixed ring depth, not with the automatic one: both paths run.
    let o = GpuLlamaOptions {
        mode,
        streaming,
        vram_budget: budget,
        max_context: 64,
        max_batch,
        stages,
        time_copies: stages != 0,
    };
    GpuLlama::new(gpu(), w, o).unwrap_or_else(|e| panic!("{mode:?} {streaming:?} {budget:?}: {e}"))
}

#[test]
fn f16_logits_match_the_cpu_forward_pass() {
    let bytes = tiny_gguf();
    let g = Gguf::parse(bytes).unwrap();
    let cpu = Llama::from_gguf(&g).unwrap();
    let want = trace(&mut CpuSession::new(&cpu), 6);
    let w = ModelWeights::from_gguf(&g, None).unwrap();
    for max_batch in [256, 4] {
        let got = trace(&mut engine(&w, WeightMode::F16, Streaming::None, None, max_batch), 6);
        assert_close(&format!("f16, max_batch {max_batch}"), &got, &want, 2e-4);
    }
}

#[test]
fn packed_modes_match_the_cpu_zipper_layers() {
    let bytes = tiny_gguf();
    let g = Gguf::parse(bytes.clone()).unwrap();
    for (mode, wm) in [
        (DeltaMode::TopK { density: 0.05 }, WeightMode::Zipper),
        (DeltaMode::Lossless, WeightMode::Zipper),
        (DeltaMode::TopK { density: 0.0 }, WeightMode::Int8),
    ] {
        let f = pack(&bytes, mode);
        let cpu = cuzstd::zipper::layer::load_llama(&g, &f).unwrap();
        let want = trace(&mut CpuSession::new(&cpu), 5);
        let w = ModelWeights::from_gguf(&g, Some(&f)).unwrap();
        assert!(w.blocks.iter().all(|b| b.linears.iter().all(|l| matches!(l, LinearWeight::Packed(_)))));
        let got = trace(&mut engine(&w, wm, Streaming::None, None, 256), 5);
        assert_close(&format!("{mode:?}"), &got, &want, 2e-4);
    }
    // Lossless zipper weights are the f16 weights: logits agree with the dense model too.
    let f = pack(&bytes, DeltaMode::Lossless);
    let lossless = trace(
        &mut engine(&ModelWeights::from_gguf(&g, Some(&f)).unwrap(), WeightMode::Zipper, Streaming::None, None, 256),
        4,
    );
    let dense =
        trace(&mut engine(&ModelWeights::from_gguf(&g, None).unwrap(), WeightMode::F16, Streaming::None, None, 256), 4);
    assert_close("lossless against f16", &lossless, &dense, 2e-4);
    // Int8 mode on a container with deltas ignores them: the base alone, like a density-0 pack.
    let with_delta = ModelWeights::from_gguf(&g, Some(&pack(&bytes, DeltaMode::TopK { density: 0.05 }))).unwrap();
    let base_only = ModelWeights::from_gguf(&g, Some(&pack(&bytes, DeltaMode::TopK { density: 0.0 }))).unwrap();
    assert_eq!(
        trace(&mut engine(&with_delta, WeightMode::Int8, Streaming::None, None, 256), 3),
        trace(&mut engine(&base_only, WeightMode::Int8, Streaming::None, None, 256), 3)
    );
}

#[test]
fn streamed_modes_give_the_resident_logits_bit_for_bit() {
    let bytes = tiny_gguf();
    let g = Gguf::parse(bytes.clone()).unwrap();
    let f = pack(&bytes, DeltaMode::TopK { density: 0.05 });
    let w = ModelWeights::from_gguf(&g, Some(&f)).unwrap();
    let mut resident = engine(&w, WeightMode::Zipper, Streaming::None, None, 4);
    assert_eq!(resident.memory().streamed_bytes_per_forward, 0);
    let want = trace(&mut resident, 7);
    let full = engine(&w, WeightMode::Zipper, Streaming::All, None, 4).memory().clone();
    assert_eq!(full.streamed_layers, 14);
    // A budget between the fixed needs and everything: some layers resident, some streamed.
    let partial_budget = full.engine_bytes + full.streamed_bytes_per_forward / 2;
    // Three buffers (the ring wraps inside a pass) and the automatic depth (16 here: more
    // buffers than streamed layers, so copies of the next pass queue up).
    for (streaming, budget, stages) in [
        (Streaming::Deltas, None, 3),
        (Streaming::All, None, 3),
        (Streaming::All, Some(partial_budget), 3),
        (Streaming::All, None, 0),
    ] {
        let mut e = engine_stages(&w, WeightMode::Zipper, streaming, budget, 4, stages);
        let m = e.memory().clone();
        assert!(m.streamed_bytes_per_forward > 0, "{streaming:?} {budget:?} streams nothing");
        if budget.is_some() {
            assert!(m.streamed_layers < 14 && m.streamed_bytes_per_forward < full.streamed_bytes_per_forward);
            assert!(m.engine_bytes <= partial_budget, "engine {} over budget {partial_budget}", m.engine_bytes);
        }
        // Twice: the streaming ring carries over between passes and sessions.
        for round in 0..2 {
            assert_eq!(trace(&mut e, 7), want, "{streaming:?} {budget:?} round {round}");
        }
        let st = e.take_stats();
        assert!(st.forwards > 0 && st.bytes_streamed == st.forwards * m.streamed_bytes_per_forward as u64);
        assert_eq!(st.copy_ms > 0.0, stages != 0, "copy times only when asked");
    }
    let dense = ModelWeights::from_gguf(&g, None).unwrap();
    let want = trace(&mut engine(&dense, WeightMode::F16, Streaming::None, None, 4), 5);
    let mut off = engine(&dense, WeightMode::F16, Streaming::Deltas, None, 4);
    assert_eq!(off.memory().streamed_layers, 14);
    assert_eq!(trace(&mut off, 5), want, "f16 offload");
    // The INT8 base alone (base-only GEMV launches, programmatic on sm_90+, each loading its
    // first weights before the previous kernel ends) with every layer streamed.
    let want = trace(&mut engine(&w, WeightMode::Int8, Streaming::None, None, 4), 5);
    let mut int8 = engine(&w, WeightMode::Int8, Streaming::All, None, 4);
    assert!(int8.memory().streamed_bytes_per_forward > 0, "int8 streams nothing");
    assert_eq!(trace(&mut int8, 5), want, "int8, everything streamed");
}

#[test]
fn bad_requests_are_errors_and_the_engine_recovers() {
    let bytes = tiny_gguf();
    let g = Gguf::parse(bytes.clone()).unwrap();
    let f = pack(&bytes, DeltaMode::TopK { density: 0.05 });
    let w = ModelWeights::from_gguf(&g, Some(&f)).unwrap();
    let mut e = engine(&w, WeightMode::Zipper, Streaming::All, None, 4);
    let want = trace(&mut e, 3);
    e.reset().unwrap();
    let err = e.forward(&[VOCAB as u32], false).unwrap_err().to_string();
    assert!(err.contains("vocabulary"), "{err}");
    e.reset().unwrap();
    e.forward(&[1; 60], false).unwrap();
    let err = e.forward(&[1; 5], false).unwrap_err().to_string();
    assert!(err.contains("context"), "{err}");
    assert_eq!(trace(&mut e, 3), want, "after errors");
    let err = GpuLlama::new(
        gpu(),
        &w,
        GpuLlamaOptions {
            mode: WeightMode::Zipper,
            streaming: Streaming::All,
            vram_budget: Some(1 << 10),
            max_context: 64,
            max_batch: 4,
            ..GpuLlamaOptions::default()
        },
    )
    .err()
    .expect("a 1 KiB budget cannot hold the KV cache")
    .to_string();
    assert!(err.contains("budget"), "{err}");
    let err = GpuLlama::new(gpu(), &w, GpuLlamaOptions { mode: WeightMode::F16, ..GpuLlamaOptions::default() })
        .err()
        .expect("f16 mode refuses packed weights")
        .to_string();
    assert!(err.contains("dense"), "{err}");
}

#[test]
fn damaged_delta_frame_is_an_error_naming_layer_and_tile() {
    let bytes = tiny_gguf();
    let g = Gguf::parse(bytes.clone()).unwrap();
    let f = pack(&bytes, DeltaMode::TopK { density: 0.05 });
    let mut w = ModelWeights::from_gguf(&g, Some(&f)).unwrap();
    let LinearWeight::Packed(p) = &w.blocks[1].linears[5] else { panic!("packed ffn_up") };
    let mut p = (**p).clone();
    assert!(p.tiles() >= 2);
    // Flip bytes in the middle of tile 1's frame.
    let (a, b) = (p.tile_offsets[1] as usize, p.tile_offsets[2] as usize);
    for i in (a + (b - a) / 2)..(a + (b - a) / 2 + 4).min(b) {
        p.delta[i] ^= 0xa5;
    }
    w.blocks[1].linears[5] = LinearWeight::Packed(Arc::new(p));
    for streaming in [Streaming::None, Streaming::Deltas] {
        let mut e = engine(&w, WeightMode::Zipper, streaming, None, 256);
        let err = e.forward(&PROMPT, false).unwrap_err().to_string();
        assert!(err.contains("blk.1.ffn_up.weight") && err.contains("tile 1"), "{streaming:?}: {err}");
        // Still an error (not a wrong answer) the second time, with the ring realigned.
        e.reset().unwrap();
        assert!(e.forward(&PROMPT, false).is_err());
    }
    // Int8 mode never reads the delta.
    let mut e = engine(&w, WeightMode::Int8, Streaming::None, None, 256);
    e.forward(&PROMPT, false).unwrap();
}
