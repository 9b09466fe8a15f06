//! SmolLM2-135M-Instruct on the CPU against the float32 reference in
//! `../shared/models/smollm2-135m-reference.json` (weights dequantized to f16, greedy decoding).
//!
//! Needs the model: run `scripts/fetch-smollm2.sh` (or point `CUZSTD_SMOLLM2_GGUF` at the file).
//! Without it these tests fail; they never pass silently.

use std::path::PathBuf;
use std::sync::OnceLock;

use cuzstd::gguf::Gguf;
use cuzstd::llm::{self, GenerateOptions, Llama, SamplingParams, Tokenizer};
use serde::Deserialize;

const MODEL_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const LOGIT_TOLERANCE: f32 = 0.05;

#[derive(Deserialize)]
struct Case {
    prompt: String,
    prompt_ids: Vec<u32>,
    first_step_top10: Vec<(u32, f32)>,
    greedy_ids: Vec<u32>,
    greedy_text: String,
}

fn model_path() -> PathBuf {
    match std::env::var_os("CUZSTD_SMOLLM2_GGUF") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(MODEL_NAME),
    }
}

fn reference_path() -> PathBuf {
    let shared = match std::env::var_os("CUZSTD_SHARED_DIR") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("shared"),
    };
    shared.join("models").join("smollm2-135m-reference.json")
}

fn reference() -> Vec<(String, Case)> {
    let path = reference_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("reading {}: {e} (set CUZSTD_SHARED_DIR to the folder holding models/)", path.display())
    });
    let map: std::collections::BTreeMap<String, Case> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    assert!(!map.is_empty(), "{} has no cases", path.display());
    map.into_iter().collect()
}

struct Loaded {
    tokenizer: Tokenizer,
    model: Llama,
}

fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let path = model_path();
        assert!(
            path.exists(),
            "model file {} is missing: run scripts/fetch-smollm2.sh (or set CUZSTD_SMOLLM2_GGUF)",
            path.display()
        );
        let gguf = Gguf::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let tokenizer = Tokenizer::from_gguf(&gguf).expect("tokenizer");
        let model = Llama::from_gguf(&gguf).expect("model");
        Loaded { tokenizer, model }
    })
}

#[test]
fn model_config_matches_smollm2() {
    let c = &loaded().model.config;
    assert_eq!(
        (c.n_layer, c.n_embd, c.n_ff, c.n_head, c.n_head_kv, c.head_dim, c.vocab_size),
        (30, 576, 1536, 9, 3, 64, 49152)
    );
    assert_eq!(c.rope_dim, 64);
    assert_eq!(c.rope_base, 100000.0);
    assert!((c.rms_eps - 1e-5).abs() < 1e-9);
    let t = &loaded().tokenizer;
    assert_eq!((t.bos_id(), t.eos_id(), t.vocab_size()), (Some(1), Some(2), 49152));
}

#[test]
fn prompts_tokenize_to_reference_ids() {
    let t = &loaded().tokenizer;
    for (name, case) in reference() {
        let ids = t.encode(&case.prompt).unwrap();
        assert_eq!(ids, case.prompt_ids, "{name}: prompt ids");
        assert_eq!(t.decode(&ids), case.prompt, "{name}: prompt round trip");
    }
}

#[test]
fn tokenizer_round_trips_text() {
    let t = &loaded().tokenizer;
    for s in [
        "Hello, world! 12345 numbers, ünïcödé, 日本語, emoji 🦀.\n\tTabs  and  spaces ",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n",
        "",
    ] {
        let ids = t.encode(s).unwrap();
        assert_eq!(t.decode(&ids), s);
    }
    // Special tokens are single ids; digits are split one per token.
    assert_eq!(t.encode("<|im_start|><|im_end|>").unwrap(), vec![1, 2]);
    let digits = t.encode("2024").unwrap();
    assert_eq!(digits.len(), 4, "digits should be split individually: {digits:?}");
}

#[test]
fn greedy_generation_matches_reference() {
    let l = loaded();
    for (name, case) in reference() {
        let opts = GenerateOptions {
            max_tokens: case.greedy_ids.len(),
            sampling: SamplingParams::default(),
            stop_tokens: vec![],
        };
        let mut streamed = String::new();
        let gen = llm::generate(&l.model, &l.tokenizer, &case.prompt_ids, &opts, |s| streamed.push_str(s)).unwrap();

        let mut worst = 0f32;
        for &(id, want) in &case.first_step_top10 {
            let got = gen.first_logits[id as usize];
            worst = worst.max((got - want).abs());
            assert!(
                (got - want).abs() <= LOGIT_TOLERANCE,
                "{name}: first-step logit of token {id} is {got}, reference {want}"
            );
        }
        let ours: Vec<u32> = llm::top_k(&gen.first_logits, 10).iter().map(|p| p.0).collect();
        assert_eq!(ours[0], case.first_step_top10[0].0, "{name}: first-step argmax");
        eprintln!("{name}: largest first-step logit difference over the reference top 10: {worst:.4}");

        assert_eq!(gen.tokens, case.greedy_ids, "{name}: greedy ids");
        assert_eq!(l.tokenizer.decode(&gen.tokens), case.greedy_text, "{name}: greedy text");
        assert_eq!(streamed, case.greedy_text, "{name}: streamed text");
    }
}

#[test]
fn batched_prefill_matches_token_by_token() {
    let l = loaded();
    let ids = l.tokenizer.encode("The quick brown fox").unwrap();
    let mut a = l.model.new_cache();
    let batched = l.model.forward(&ids, &mut a, true).unwrap();
    let mut b = l.model.new_cache();
    let vocab = l.model.config.vocab_size;
    for (i, &id) in ids.iter().enumerate() {
        let one = l.model.forward(&[id], &mut b, false).unwrap();
        let row = &batched[i * vocab..(i + 1) * vocab];
        let diff = one.iter().zip(row).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(diff < 1e-3, "position {i}: largest logit difference {diff}");
    }
}

#[test]
fn sampling_is_reproducible_by_seed() {
    let l = loaded();
    let prompt = l.tokenizer.encode(&Tokenizer::chat_prompt("Tell me a story.")).unwrap();
    let run = |seed| {
        let opts = GenerateOptions {
            max_tokens: 6,
            sampling: SamplingParams { temperature: 0.8, top_p: 0.9, seed },
            stop_tokens: vec![2],
        };
        llm::generate(&l.model, &l.tokenizer, &prompt, &opts, |_| {}).unwrap().tokens
    };
    let first = run(42);
    assert!(!first.is_empty());
    assert_eq!(first, run(42));
}

/// The `zipper-infer` example binary, which `cargo test` builds next to the test binaries.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/llm_cpu-<hash> → target/<profile>/examples/zipper-infer
    let dir = exe.parent().and_then(|d| d.parent()).expect("target profile folder");
    let bin = dir.join("examples").join(format!("zipper-infer{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds it; with a test filter run `cargo build --example zipper-infer` first",
        bin.display()
    );
    bin
}

#[test]
fn example_runs_end_to_end_on_the_cpu() {
    let bin = example_binary();
    let model = model_path();
    assert!(model.exists(), "model file {} is missing: run scripts/fetch-smollm2.sh", model.display());
    let out = std::process::Command::new(&bin)
        .args(["--model", model.to_str().unwrap(), "--chat", "--prompt", "What is the capital of France?"])
        .args(["--max-tokens", "12", "--json"])
        .output()
        .expect("running zipper-infer");
    assert!(out.status.success(), "zipper-infer failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report on stdout");
    assert_eq!(report["text"], "The capital of France is Paris.");
    assert_eq!(report["stopped_on_eos"], true);
    assert_eq!(report["prompt_tokens"], 16);
    assert!(report["decode_tokens_per_s"].as_f64().unwrap() > 0.0);
    assert!(report["prefill_tokens_per_s"].as_f64().unwrap() > 0.0);

    // GPU-only options on the CPU are refused with the reason.
    let out = std::process::Command::new(&bin)
        .args(["--model", model.to_str().unwrap(), "--weights", "zipper", "--stream"])
        .output()
        .expect("running zipper-infer");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--device gpu"), "{err}");
    assert!(out.stdout.is_empty());

    // A packed mode without a container packs the GGUF in memory (int8: density 0).
    let out = std::process::Command::new(&bin)
        .args(["--model", model.to_str().unwrap(), "--weights", "int8", "--max-tokens", "3", "--json"])
        .output()
        .expect("running zipper-infer");
    assert!(out.status.success(), "zipper-infer --weights int8 failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report on stdout");
    assert_eq!(report["weights"], "int8");
    assert_eq!(report["generated_ids"].as_array().map(|a| a.len()), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("packed"), "the in-memory pack is reported");
}
