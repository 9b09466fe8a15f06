//! Runs SmolLM2-135M-Instruct (or another llama GGUF) on the CPU or the GPU and reports its
//! speed, memory and quality.
//!
//! ```text
//! scripts/fetch-smollm2.sh
//! cargo run --release --example zipper-infer -- --chat --prompt "What is the capital of France?"
//! cargo run --release --example zipper-infer -- --device gpu --weights zipper --stream
//! cargo run --release --example zipper-infer -- --device gpu --perplexity ../shared/bench-data/canterbury/alice29.txt --weights zipper --compare-f16
//! cargo run --release --example zipper-infer -- --device gpu --synthetic llama-70b --weights zipper --stream-all --vram-budget 16GiB
//! ```
//!
//! Weights (`--weights`): `f16` dense (dequantized from the GGUF; the reference), `int8` (the
//! zipper's quantized base alone) or `zipper` (base plus sparse delta). The packed modes take a
//! container from `cuzstd zipper pack` (`--packed FILE`) or pack the GGUF in memory at start-up
//! (`--density P`, `--lossless`, `--base int8|int4:G`; int8 mode packs with density 0).
//!
//! Device (`--device`): `cpu` (f32 forward pass, rayon) or `gpu` (`cuzstd::gpu::llm`). On the GPU,
//! `--stream` keeps the deltas (zipper) or the dense layers (f16) in pinned host memory and copies
//! them every token, `--stream-all` the bases too; `--vram-budget BYTES` (suffixes KiB, MiB, GiB)
//! keeps streamable parts resident while they fit.
//!
//! `--synthetic SHAPE` (`llama-7b`, `llama-13b`, `llama-70b`, `smollm2-135m`) runs the same engine
//! on random weights of that shape, values drawn from real f16 weights (`--pool FILE`, default
//! `models/*.f16`); `--synthetic-blocks N` distinct blocks are generated and repeated over the
//! layers (each layer still has its own device copy or its own transfer). Its speed is real; its
//! text and quality are meaningless, and every report says SYNTHETIC.
//!
//! The report (stderr, or `--json` on stdout): prefill and decode tokens/s, device memory, bytes
//! copied host → GPU per token and the PCIe bandwidth measured in the same run, and the floor
//! that bandwidth sets.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use cuzstd::gguf::Gguf;
use cuzstd::gpu::llm::{pcie_h2d_gbps, GpuLlama, GpuLlamaOptions, Streaming, WeightMode};
use cuzstd::gpu::Gpu;
use cuzstd::llm::weights::synthetic_config;
use cuzstd::llm::{self, CpuSession, GenerateOptions, Llama, ModelWeights, SamplingParams, Session, Tokenizer};
use cuzstd::zipper::delta::DeltaMode;
use cuzstd::zipper::pack::{pack_bytes, PackOptions};
use cuzstd::zipper::{BaseKind, ZipperFile};
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Device {
    Cpu,
    Gpu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Weights {
    F16,
    Int8,
    Zipper,
}

#[derive(Parser, Debug)]
#[command(about = "LLM inference on zipper-compressed weights, on the CPU or the GPU")]
struct Args {
    /// GGUF model file.
    #[arg(long, default_value = "models/SmolLM2-135M-Instruct.Q4_1.gguf")]
    model: PathBuf,
    /// Prompt text (special tokens such as <|im_start|> are recognised).
    #[arg(long, default_value = "Once upon a time, there was a little")]
    prompt: String,
    /// Wrap the prompt in the chat template as one user turn.
    #[arg(long)]
    chat: bool,
    #[arg(long, default_value_t = 64)]
    max_tokens: usize,
    /// 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
    /// GPU ordinal for --device gpu.
    #[arg(long, default_value_t = 0)]
    gpu: usize,
    /// Weight representation.
    #[arg(long, value_enum, default_value_t = Weights::F16)]
    weights: Weights,
    /// Zipper container (`cuzstd zipper pack`) for --weights int8|zipper; without it the GGUF is
    /// packed in memory.
    #[arg(long, value_name = "FILE")]
    packed: Option<PathBuf>,
    /// In-memory packing: fraction of each row's residual kept (zipper mode).
    #[arg(long, default_value_t = 0.01)]
    density: f64,
    /// In-memory packing: keep every residual entry (bit-exact f16 weights).
    #[arg(long)]
    lossless: bool,
    /// In-memory packing: base quantization, int8 or int4:GROUP.
    #[arg(long, default_value = "int8")]
    base: String,
    /// With --perplexity and a packed mode: also run the f16 model and compare logits.
    #[arg(long)]
    compare_f16: bool,
    /// GPU: stream the deltas (zipper) or the dense layers (f16) from host memory every token.
    #[arg(long)]
    stream: bool,
    /// GPU: stream bases and deltas.
    #[arg(long)]
    stream_all: bool,
    /// GPU: device memory budget for the engine (bytes; KiB/MiB/GiB suffixes).
    #[arg(long, value_parser = parse_bytes)]
    vram_budget: Option<u64>,
    /// GPU: random weights shaped like this model (llama-7b, llama-13b, llama-70b, smollm2-135m).
    #[arg(long, value_name = "SHAPE")]
    synthetic: Option<String>,
    /// Distinct random blocks generated for --synthetic (repeated over the layers).
    #[arg(long, default_value_t = 2)]
    synthetic_blocks: usize,
    /// Prompt length (random token ids) for --synthetic.
    #[arg(long, default_value_t = 16)]
    synthetic_prompt: usize,
    /// f16 value pool for --synthetic (real weights, `scripts/weights-f16.py`); default: the
    /// first models/*.f16.
    #[arg(long, value_name = "FILE")]
    pool: Option<PathBuf>,
    /// GPU: time every weight copy with CUDA events (reported per forward pass).
    #[arg(long)]
    time_copies: bool,
    /// Print the report as one JSON object on stdout instead of streaming text.
    #[arg(long)]
    json: bool,
    /// Instead of generating, report perplexity over the first `--ppl-tokens` tokens of FILE.
    #[arg(long, value_name = "FILE")]
    perplexity: Option<PathBuf>,
    #[arg(long, default_value_t = 2048)]
    ppl_tokens: usize,
    /// Tokens per forward pass when computing perplexity.
    #[arg(long, default_value_t = 256)]
    ppl_chunk: usize,
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mul) =
        [("KiB", 1u64 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)]
            .iter()
            .find_map(|(suf, m)| t.strip_suffix(suf).map(|n| (n, *m)))
            .unwrap_or((t, 1));
    let v: f64 = num.trim().parse().map_err(|_| format!("{s:?} is not a byte count (e.g. 16GiB)"))?;
    if v.is_nan() || v < 0.0 {
        return Err(format!("{s:?} is not a non-negative byte count"));
    }
    Ok((v * mul as f64) as u64)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zipper-infer: {e}");
            ExitCode::FAILURE
        }
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn check_args(a: &Args) -> Res<()> {
    if a.device == Device::Cpu && (a.stream || a.stream_all || a.vram_budget.is_some() || a.synthetic.is_some()) {
        return Err("--stream, --stream-all, --vram-budget and --synthetic need --device gpu".into());
    }
    if a.stream && a.stream_all {
        return Err("choose one of --stream and --stream-all".into());
    }
    if a.weights == Weights::F16 && a.stream_all {
        return Err("f16 weights have no base and delta: use --stream to stream the dense layers".into());
    }
    if a.weights == Weights::Int8 && a.stream {
        return Err("int8 mode has no deltas to stream: use --stream-all to stream the bases".into());
    }
    if a.compare_f16 && (a.weights == Weights::F16 || a.perplexity.is_none()) {
        return Err("--compare-f16 needs --perplexity FILE and --weights int8|zipper".into());
    }
    if a.synthetic.is_some() && (a.perplexity.is_some() || a.packed.is_some()) {
        return Err(
            "--synthetic generates its own weights: no --packed or --perplexity (quality is meaningless there)".into(),
        );
    }
    Ok(())
}

fn pack_options(a: &Args) -> Res<PackOptions> {
    let kind = match a.base.as_str() {
        "int8" => BaseKind::Int8,
        b => match b.strip_prefix("int4:").and_then(|g| g.parse().ok()) {
            Some(group) => BaseKind::Int4 { group },
            None => return Err(format!("--base {b}: expected int8 or int4:GROUP (32, 64 or 128)").into()),
        },
    };
    let mode = match (a.weights, a.lossless) {
        (Weights::Int8, _) => DeltaMode::TopK { density: 0.0 },
        (_, true) => DeltaMode::Lossless,
        (_, false) => DeltaMode::TopK { density: a.density },
    };
    let o = PackOptions { kind, mode, ..PackOptions::default() };
    o.validate()?;
    Ok(o)
}

/// The container for a packed mode: `--packed FILE`, or the GGUF packed in memory.
fn container(a: &Args) -> Res<Option<ZipperFile>> {
    if a.weights == Weights::F16 {
        if a.packed.is_some() {
            return Err("--packed needs --weights int8 or --weights zipper".into());
        }
        return Ok(None);
    }
    let f = match &a.packed {
        Some(path) => ZipperFile::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => {
            let o = pack_options(a)?;
            let t = Instant::now();
            let bytes = std::fs::read(&a.model).map_err(|e| format!("{}: {e}", a.model.display()))?;
            let name = a.model.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let (packed, report) = pack_bytes(bytes, &name, &o)?;
            let tot = report.total();
            eprintln!(
                "packed {} in memory in {:.1} s: {} matrices, delta {} bytes, container {} bytes",
                a.model.display(),
                t.elapsed().as_secs_f64(),
                report.tensors.len(),
                tot.delta_bytes,
                report.container_bytes
            );
            ZipperFile::parse(packed)?
        }
    };
    let base_only = f.meta.mode == "topk" && f.meta.density == 0.0;
    if a.weights == Weights::Int8 && a.device == Device::Cpu && !(base_only && f.meta.base == "int8") {
        return Err(format!(
            "--weights int8 on the CPU needs an int8 base-only container (packed with --density 0); this one has base {}, mode {}, density {}",
            f.meta.base, f.meta.mode, f.meta.density
        )
        .into());
    }
    Ok(Some(f))
}

fn mode_name(a: &Args) -> String {
    let mut m = format!("{:?}", a.weights).to_lowercase();
    if a.stream {
        m.push_str(" --stream");
    }
    if a.stream_all {
        m.push_str(" --stream-all");
    }
    m
}

fn run(a: &Args) -> Res<()> {
    check_args(a)?;
    if a.synthetic.is_none() && !a.model.exists() {
        return Err(format!("model file {} not found; run scripts/fetch-smollm2.sh first", a.model.display()).into());
    }
    match a.device {
        Device::Cpu => run_cpu(a),
        Device::Gpu => run_gpu(a),
    }
}

/// Prompt ids: the tokenizer's for a real model.
fn prompt_ids(a: &Args, tokenizer: &Tokenizer) -> Res<(String, Vec<u32>)> {
    let text = if a.chat { Tokenizer::chat_prompt(&a.prompt) } else { a.prompt.clone() };
    let ids = tokenizer.encode(&text)?;
    Ok((text, ids))
}

fn gen_options(a: &Args, tokenizer: Option<&Tokenizer>) -> GenerateOptions {
    GenerateOptions {
        max_tokens: a.max_tokens,
        sampling: SamplingParams { temperature: a.temperature, top_p: a.top_p, seed: a.seed },
        stop_tokens: tokenizer.and_then(|t| t.eos_id()).into_iter().collect(),
    }
}

fn run_cpu(a: &Args) -> Res<()> {
    let packed = container(a)?;
    let t0 = Instant::now();
    let gguf = Gguf::open(&a.model)?;
    let tokenizer = Tokenizer::from_gguf(&gguf)?;
    let model = match &packed {
        None => Llama::from_gguf(&gguf)?,
        Some(f) => cuzstd::zipper::layer::load_llama(&gguf, f)?,
    };
    let dense = if a.compare_f16 { Some(Llama::from_gguf(&gguf)?) } else { None };
    drop(gguf);
    let load_s = t0.elapsed().as_secs_f64();
    let c = &model.config;
    eprintln!(
        "loaded {} in {load_s:.2} s: {} blocks, width {}, {} heads ({} kv), vocab {}; device cpu ({} threads), weights {}",
        a.model.display(),
        c.n_layer,
        c.n_embd,
        c.n_head,
        c.n_head_kv,
        c.vocab_size,
        rayon::current_num_threads(),
        mode_name(a)
    );
    let mut session = CpuSession::new(&model);
    let mut reference = dense.as_ref().map(CpuSession::new);
    let base = json!({
        "model": a.model.display().to_string(),
        "device": "cpu",
        "threads": rayon::current_num_threads(),
        "weights": mode_name(a),
        "load_s": load_s,
    });
    let report = finish(a, &tokenizer, &mut session, reference.as_mut().map(|r| r as &mut dyn Session), base)?;
    if a.json {
        println!("{report}");
    }
    Ok(())
}

fn pool_values(a: &Args) -> Res<(Vec<f32>, String)> {
    let path = match &a.pool {
        Some(p) => p.clone(),
        None => {
            let mut files: Vec<PathBuf> = std::fs::read_dir("models")
                .map(|rd| {
                    rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "f16")).collect()
                })
                .unwrap_or_default();
            files.sort();
            files.into_iter().next().ok_or(
                "--synthetic needs a pool of real f16 weights: --pool FILE or models/*.f16 (scripts/weights-f16.py)",
            )?
        }
    };
    let b = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Vec<f32> = b
        .chunks_exact(2)
        .map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
        .filter(|x| x.is_finite())
        .collect();
    if v.len() < 1 << 16 {
        return Err(format!("{}: only {} finite f16 values", path.display(), v.len()).into());
    }
    Ok((v, path.display().to_string()))
}

fn run_gpu(a: &Args) -> Res<()> {
    let gpu = Arc::new(Gpu::new(a.gpu)?);
    let props = gpu.props().clone();
    let used_before = GpuLlama::device_used(&gpu)?;
    let t0 = Instant::now();
    let mut tokenizer = None;
    let (weights, reference_weights) = match &a.synthetic {
        Some(shape) => {
            let config = synthetic_config(shape).ok_or_else(|| format!("unknown --synthetic shape {shape:?}"))?;
            let (pool, pool_name) = pool_values(a)?;
            let pack = match a.weights {
                Weights::F16 => None,
                _ => Some(pack_options(a)?),
            };
            let w = ModelWeights::synthetic(&config, &pool, a.synthetic_blocks, a.seed ^ 0x5eed, pack.as_ref())?;
            eprintln!("{} ({shape}), value pool {pool_name}", w.source);
            (w, None)
        }
        None => {
            let packed = container(a)?;
            let gguf = Gguf::open(&a.model)?;
            tokenizer = Some(Tokenizer::from_gguf(&gguf)?);
            let w = ModelWeights::from_gguf(&gguf, packed.as_ref())?;
            let r = if a.compare_f16 { Some(ModelWeights::from_gguf(&gguf, None)?) } else { None };
            (w, r)
        }
    };
    let c = weights.config.clone();
    // The KV cache holds what this run needs.
    let max_context = match (&a.perplexity, &tokenizer) {
        (Some(_), _) => a.ppl_tokens + 1,
        (None, Some(t)) => prompt_ids(a, t)?.1.len() + a.max_tokens + 1,
        (None, None) => a.synthetic_prompt.max(1) + a.max_tokens.max(1) + 2,
    }
    .min(c.context_length);
    let opts = GpuLlamaOptions {
        mode: match a.weights {
            Weights::F16 => WeightMode::F16,
            Weights::Int8 => WeightMode::Int8,
            Weights::Zipper => WeightMode::Zipper,
        },
        streaming: if a.stream_all {
            Streaming::All
        } else if a.stream {
            Streaming::Deltas
        } else {
            Streaming::None
        },
        vram_budget: a.vram_budget.map(|b| b as usize),
        max_context,
        time_copies: a.time_copies,
        max_batch: if a.synthetic.is_some() { a.synthetic_prompt.max(1) } else { a.ppl_chunk.clamp(1, 512) },
        ..GpuLlamaOptions::default()
    };
    let mut engine = GpuLlama::new(gpu.clone(), &weights, opts.clone())?;
    let mut reference = match &reference_weights {
        Some(w) => Some(GpuLlama::new(
            gpu.clone(),
            w,
            GpuLlamaOptions { mode: WeightMode::F16, streaming: Streaming::None, vram_budget: None, ..opts.clone() },
        )?),
        None => None,
    };
    drop(reference_weights);
    let load_s = t0.elapsed().as_secs_f64();
    let mem = engine.memory().clone();
    let streamed = mem.streamed_bytes_per_forward as f64;
    let pcie = if streamed > 0.0 { Some(pcie_h2d_gbps(&gpu, 256 << 20, 7)?) } else { None };
    eprintln!(
        "loaded in {load_s:.2} s: {} blocks, width {}, {} heads ({} kv), vocab {}; {} ({} SMs, driver {}), weights {} ({})",
        c.n_layer,
        c.n_embd,
        c.n_head,
        c.n_head_kv,
        c.vocab_size,
        props.name,
        props.multiprocessors,
        props.driver_version,
        mode_name(a),
        weights.source
    );
    eprintln!(
        "device memory: engine {:.1} MiB (resident weights {:.1} MiB, KV cache {:.1} MiB, staging {:.1} MiB); streamed per token {:.2} MiB from {} of {} layers{}",
        mem.engine_bytes as f64 / 1048576.0,
        mem.resident_weight_bytes as f64 / 1048576.0,
        mem.kv_cache_bytes as f64 / 1048576.0,
        mem.staging_bytes as f64 / 1048576.0,
        streamed / 1048576.0,
        mem.streamed_layers,
        mem.layers,
        pcie.map(|p| format!("; PCIe host→device {p:.1} GB/s (pinned, 256 MiB, median of 7)")).unwrap_or_default()
    );
    let base = json!({
        "model": match &a.synthetic { Some(s) => format!("SYNTHETIC {s}"), None => a.model.display().to_string() },
        "weights_source": weights.source,
        "device": props.name,
        "driver": props.driver_version,
        "weights": mode_name(a),
        "vram_budget": a.vram_budget,
        "load_s": load_s,
        "engine_bytes": mem.engine_bytes,
        "resident_weight_bytes": mem.resident_weight_bytes,
        "kv_cache_bytes": mem.kv_cache_bytes,
        "staging_bytes": mem.staging_bytes,
        "streamed_bytes_per_token": mem.streamed_bytes_per_forward,
        "streamed_layers": mem.streamed_layers,
        "layers": mem.layers,
        "pcie_h2d_gbps": pcie,
    });
    drop(weights);
    let mut report = match &tokenizer {
        Some(t) => finish(a, t, &mut engine, reference.as_mut().map(|r| r as &mut dyn Session), base)?,
        None => synthetic_run(a, &mut engine, base)?,
    };
    let st = engine.take_stats();
    let used_after = GpuLlama::device_used(&gpu)?;
    let per_forward = if st.forwards > 0 { st.bytes_streamed as f64 / st.forwards as f64 } else { 0.0 };
    let copy_ms_per_forward = if st.forwards > 0 { st.copy_ms / st.forwards as f64 } else { 0.0 };
    let floor = pcie.filter(|_| per_forward > 0.0).map(|p| p * 1e9 / per_forward);
    let r = report.as_object_mut().expect("report object");
    r.insert("device_used_bytes_before".into(), json!(used_before));
    r.insert("device_used_bytes_after".into(), json!(used_after));
    r.insert("device_used_by_run_bytes".into(), json!(used_after.saturating_sub(used_before)));
    r.insert("forwards".into(), json!(st.forwards));
    r.insert("streamed_bytes_per_forward_measured".into(), json!(per_forward));
    r.insert("copy_ms_per_forward".into(), json!(a.time_copies.then_some(copy_ms_per_forward)));
    r.insert("pcie_floor_tokens_per_s".into(), json!(floor));
    if a.json {
        println!("{report}");
    } else {
        eprintln!(
            "device memory used by this process: {:.1} MiB (driver, after the run, less before the engine){}",
            used_after.saturating_sub(used_before) as f64 / 1048576.0,
            match floor {
                Some(f) => format!(
                    "; copies {:.2} MiB per forward{}; PCIe floor {f:.2} tokens/s",
                    per_forward / 1048576.0,
                    if a.time_copies {
                        format!(" taking {copy_ms_per_forward:.2} ms of copy-stream time")
                    } else {
                        String::new()
                    }
                ),
                None => String::new(),
            }
        );
    }
    Ok(())
}

/// Generation (or perplexity) on a session with its tokenizer; prints the text (unless
/// `--json`) and a human summary on stderr; returns the report, `base` plus the run's fields.
fn finish(
    a: &Args,
    tokenizer: &Tokenizer,
    model: &mut dyn Session,
    reference: Option<&mut dyn Session>,
    mut base: serde_json::Value,
) -> Res<serde_json::Value> {
    let r = base.as_object_mut().expect("report object");
    if let Some(path) = &a.perplexity {
        let text = std::fs::read_to_string(path)?;
        let mut ids = tokenizer.encode(&text)?;
        ids.truncate(a.ppl_tokens);
        let t = Instant::now();
        let (ppl, scored, comparison) = match reference {
            Some(refm) => {
                let c = llm::compare_logits_with(refm, model, &ids, a.ppl_chunk)?;
                (c.candidate_perplexity, ids.len() - 1, Some(c))
            }
            None => {
                let (ppl, scored) = llm::perplexity_with(model, &ids, a.ppl_chunk)?;
                (ppl, scored, None)
            }
        };
        let secs = t.elapsed().as_secs_f64();
        r.insert("perplexity".into(), json!(ppl));
        r.insert(
            "compare_f16".into(),
            json!(comparison.as_ref().map(|c| json!({
                "positions": c.positions,
                "top1_agreement": c.top1_agreement,
                "max_abs_logit_diff": c.max_abs_diff,
                "f16_perplexity": c.reference_perplexity,
                "perplexity": c.candidate_perplexity,
            }))),
        );
        r.insert("perplexity_file".into(), json!(path.display().to_string()));
        r.insert("perplexity_tokens".into(), json!(ids.len()));
        r.insert("predicted_tokens".into(), json!(scored));
        r.insert("chunk_tokens".into(), json!(a.ppl_chunk));
        r.insert("seconds".into(), json!(secs));
        r.insert("tokens_per_s".into(), json!(ids.len() as f64 / secs));
        if !a.json {
            println!(
                "perplexity {ppl:.4} over {scored} predicted tokens (first {} tokens of {}, chunks of {}), {secs:.2} s, {:.1} tokens/s{}",
                ids.len(),
                path.display(),
                a.ppl_chunk,
                ids.len() as f64 / secs,
                if comparison.is_some() { " (both models)" } else { "" }
            );
            if let Some(c) = &comparison {
                println!(
                    "against f16 over {} positions: top-1 agreement {:.4}, largest logit difference {:.4}, perplexity {:.4} (f16 {:.4})",
                    c.positions, c.top1_agreement, c.max_abs_diff, c.candidate_perplexity, c.reference_perplexity
                );
            }
        }
        return Ok(base);
    }
    let (prompt_text, prompt) = prompt_ids(a, tokenizer)?;
    let opts = gen_options(a, Some(tokenizer));
    let mut stdout = std::io::stdout();
    if !a.chat && !a.json {
        print!("{}", a.prompt);
        let _ = stdout.flush();
    }
    let gen = llm::generate_with(model, tokenizer, &prompt, &opts, |piece| {
        if !a.json {
            print!("{piece}");
            let _ = stdout.flush();
        }
    })?;
    if !a.json {
        println!();
        eprintln!(
            "prompt {} tokens: prefill {:.3} s ({:.1} tokens/s); generated {} tokens{}: decode {:.3} s over {} steps ({:.2} tokens/s)",
            gen.prompt_tokens,
            gen.prefill_time.as_secs_f64(),
            gen.prefill_tokens_per_s(),
            gen.tokens.len(),
            if gen.stopped_on_token { " (stopped at end of turn)" } else { "" },
            gen.decode_time.as_secs_f64(),
            gen.decode_steps,
            gen.decode_tokens_per_s(),
        );
    }
    let top10 = llm::top_k(&gen.first_logits, 10);
    for (k, v) in [
        ("prompt", json!(prompt_text)),
        ("prompt_ids", json!(prompt)),
        ("prompt_tokens", json!(gen.prompt_tokens)),
        ("generated_ids", json!(gen.tokens)),
        ("text", json!(gen.text)),
        ("first_step_top10", json!(top10)),
        ("stopped_on_eos", json!(gen.stopped_on_token)),
        ("prefill_s", json!(gen.prefill_time.as_secs_f64())),
        ("prefill_tokens_per_s", json!(gen.prefill_tokens_per_s())),
        ("decode_s", json!(gen.decode_time.as_secs_f64())),
        ("decode_steps", json!(gen.decode_steps)),
        ("decode_tokens_per_s", json!(gen.decode_tokens_per_s())),
        ("temperature", json!(a.temperature)),
        ("top_p", json!(a.top_p)),
        ("seed", json!(a.seed)),
    ] {
        r.insert(k.into(), v);
    }
    Ok(base)
}

/// Synthetic weights: a prompt of random ids, then `--max-tokens` greedy steps; speed only.
fn synthetic_run(a: &Args, engine: &mut GpuLlama, mut base: serde_json::Value) -> Res<serde_json::Value> {
    let vocab = engine.config().vocab_size as u64;
    let mut rng = llm::SplitMix64::new(a.seed);
    let prompt: Vec<u32> = (0..a.synthetic_prompt.max(1)).map(|_| (rng.next_u64() % vocab) as u32).collect();
    engine.reset()?;
    // Warm-up: one forward pass (module loading, first copies), then start again.
    engine.forward(&prompt[..1], false)?;
    engine.reset()?;
    let _ = engine.take_stats();
    let t = Instant::now();
    let mut logits = engine.forward(&prompt, false)?;
    let prefill = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let steps = a.max_tokens.max(1);
    let mut ids = Vec::with_capacity(steps);
    for _ in 0..steps {
        let id = llm::argmax(&logits);
        ids.push(id);
        logits = engine.forward(&[id], false)?;
    }
    let decode = t.elapsed().as_secs_f64();
    let r = base.as_object_mut().expect("report object");
    r.insert("prompt_tokens".into(), json!(prompt.len()));
    r.insert("prefill_s".into(), json!(prefill));
    r.insert("prefill_tokens_per_s".into(), json!(prompt.len() as f64 / prefill));
    r.insert("decode_steps".into(), json!(steps));
    r.insert("decode_s".into(), json!(decode));
    r.insert("decode_tokens_per_s".into(), json!(steps as f64 / decode));
    if !a.json {
        eprintln!(
            "SYNTHETIC weights: prompt {} tokens: prefill {prefill:.3} s ({:.2} tokens/s); {steps} decode steps: {decode:.3} s ({:.3} tokens/s)",
            prompt.len(),
            prompt.len() as f64 / prefill,
            steps as f64 / decode
        );
    }
    Ok(base)
}
