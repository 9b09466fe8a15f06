//! SmolLM2-135M-Instruct on the GPU engine against the float32 reference in
//! `smollm2-135m-reference.json` (weights dequantized to f16, greedy decoding): f16 weights
//! reproduce the greedy ids and text exactly and the first-step top-10 logits within 0.05; the
//! lossless zipper (packed in memory, every layer streamed too) gives the same ids and logits as
//! f16; 1 % and base-only are reported (eprintln), not required to match.
//!
//! Needs an NVIDIA GPU and the model (`CUZSTD_SMOLLM2_GGUF`, default models/ under the crate;
//! `scripts/fetch-smollm2.sh`) and the reference (`CUZSTD_SHARED_DIR`, default ../shared); fails
//! loudly without them (`CUZSTD_SHARED` also names the shared folder, as in the bundle). Run with `cargo test --release --features gpu-tests --test gpu_smollm2`.

use std::path::PathBuf;
use std::sync::Arc;

use cuzstd::gguf::Gguf;
use cuzstd::gpu::llm::{GpuLlama, GpuLlamaOptions, Streaming, WeightMode};
use cuzstd::gpu::Gpu;
use cuzstd::llm::{self, GenerateOptions, ModelWeights, SamplingParams, Session, Tokenizer};
use cuzstd::zipper::delta::DeltaMode;
use cuzstd::zipper::pack::{pack_bytes, PackOptions};
use cuzstd::zipper::ZipperFile;
use serde::Deserialize;

const LOGIT_TOLERANCE: f32 = 0.05;

#[derive(Deserialize)]
struct Case {
    prompt_ids: Vec<u32>,
    first_step_top10: Vec<(u32, f32)>,
    greedy_ids: Vec<u32>,
    greedy_text: String,
}

fn model_path() -> PathBuf {
    match std::env::var_os("CUZSTD_SMOLLM2_GGUF") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join("SmolLM2-135M-Instruct.Q4_1.gguf"),
    }
}

fn reference() -> Vec<(String, Case)> {
    let shared = match std::env::var_os("CUZSTD_SHARED_DIR").or_else(|| std::env::var_os("CUZSTD_SHARED")) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("shared"),
    };
    let path = shared.join("models").join("smollm2-135m-reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let map: std::collections::BTreeMap<String, Case> = serde_json::from_str(&text).expect("reference JSON");
    map.into_iter().collect()
}

struct Loaded {
    gguf_bytes: Vec<u8>,
    gguf: Gguf,
    tokenizer: Tokenizer,
}

fn loaded() -> &'static Loaded {
    static L: std::sync::OnceLock<Loaded> = std::sync::OnceLock::new();
    L.get_or_init(|| {
        let p = model_path();
        let gguf_bytes = std::fs::read(&p).unwrap_or_else(|e| {
            panic!("model file {}: {e} (scripts/fetch-smollm2.sh or CUZSTD_SMOLLM2_GGUF)", p.display())
        });
        let gguf = Gguf::parse(gguf_bytes.clone()).expect("parsing the GGUF");
        let tokenizer = Tokenizer::from_gguf(&gguf).expect("tokenizer");
        Loaded { gguf_bytes, gguf, tokenizer }
    })
}

fn gpu() -> Arc<Gpu> {
    static GPU: std::sync::OnceLock<Arc<Gpu>> = std::sync::OnceLock::new();
    GPU.get_or_init(|| Arc::new(Gpu::new(0).expect("the GPU SmolLM2 tests need a CUDA device"))).clone()
}

fn engine(packed: Option<DeltaMode>, mode: WeightMode, streaming: Streaming) -> GpuLlama {
    let l = loaded();
    let f = packed.map(|m| {
        let o = PackOptions { mode: m, ..PackOptions::default() };
        ZipperFile::parse(pack_bytes(l.gguf_bytes.clone(), "smollm2.gguf", &o).expect("packing").0).expect("container")
    });
    let w = ModelWeights::from_gguf(&l.gguf, f.as_ref()).expect("weights");
    let o = GpuLlamaOptions { mode, streaming, max_context: 512, ..GpuLlamaOptions::default() };
    GpuLlama::new(gpu(), &w, o).expect("engine")
}

fn greedy(e: &mut dyn Session, case: &Case) -> llm::Generation {
    let opts =
        GenerateOptions { max_tokens: case.greedy_ids.len(), sampling: SamplingParams::default(), stop_tokens: vec![] };
    llm::generate_with(e, &loaded().tokenizer, &case.prompt_ids, &opts, |_| {}).expect("generation")
}

#[test]
fn f16_on_the_gpu_reproduces_the_reference() {
    let mut e = engine(None, WeightMode::F16, Streaming::None);
    for (name, case) in reference() {
        let gen = greedy(&mut e, &case);
        let mut worst = 0f32;
        for &(id, want) in &case.first_step_top10 {
            let got = gen.first_logits[id as usize];
            worst = worst.max((got - want).abs());
            assert!((got - want).abs() <= LOGIT_TOLERANCE, "{name}: logit of {id} is {got}, reference {want}");
        }
        eprintln!("{name}: largest first-step top-10 logit difference {worst:.4}");
        assert_eq!(gen.tokens, case.greedy_ids, "{name}: greedy ids");
        assert_eq!(loaded().tokenizer.decode(&gen.tokens), case.greedy_text, "{name}: text");
    }
}

#[test]
fn lossless_zipper_matches_f16_resident_and_streamed() {
    let mut dense = engine(None, WeightMode::F16, Streaming::None);
    let mut lossless = engine(Some(DeltaMode::Lossless), WeightMode::Zipper, Streaming::None);
    let mut streamed = engine(Some(DeltaMode::Lossless), WeightMode::Zipper, Streaming::All);
    let mut f16_offload = engine(None, WeightMode::F16, Streaming::Deltas);
    for (name, case) in reference() {
        let a = greedy(&mut dense, &case);
        for (what, e) in [
            ("lossless", &mut lossless as &mut dyn Session),
            ("lossless --stream-all", &mut streamed),
            ("f16 --stream", &mut f16_offload),
        ] {
            let b = greedy(e, &case);
            assert_eq!(b.tokens, a.tokens, "{name}: {what} ids");
            let diff = a.first_logits.iter().zip(&b.first_logits).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(diff <= 1e-3, "{name}: {what} first-step logits differ by {diff}");
            eprintln!("{name}: {what}: same ids, largest first-step logit difference {diff:.2e}");
        }
    }
}

#[test]
fn lossy_modes_are_reported() {
    let mut dense = engine(None, WeightMode::F16, Streaming::None);
    let text = "One morning, when Gregor Samsa woke from troubled dreams, he found himself transformed in his bed into a horrible vermin.";
    let ids = loaded().tokenizer.encode(text).unwrap();
    for (what, mut e) in [
        ("zipper 1 %", engine(Some(DeltaMode::TopK { density: 0.01 }), WeightMode::Zipper, Streaming::Deltas)),
        ("int8", engine(Some(DeltaMode::TopK { density: 0.0 }), WeightMode::Int8, Streaming::None)),
    ] {
        let c = llm::compare_logits_with(&mut dense, &mut e, &ids, 64).expect("comparison");
        assert!(c.candidate_perplexity.is_finite() && c.top1_agreement > 0.0);
        eprintln!(
            "{what}: top-1 agreement {:.3}, largest logit difference {:.3}, perplexity {:.3} (f16 {:.3}) over {} positions",
            c.top1_agreement, c.max_abs_diff, c.candidate_perplexity, c.reference_perplexity, c.positions
        );
    }
}
