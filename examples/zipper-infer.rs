//! Runs SmolLM2-135M-Instruct (or another llama GGUF) and reports its speed.
//!
//! ```text
//! scripts/fetch-smollm2.sh
//! cargo run --release --example zipper-infer -- --chat --prompt "What is the capital of France?"
//! cargo run --release --example zipper-infer -- --perplexity ../shared/bench-data/canterbury/alice29.txt
//! ```
//!
//! Only the CPU path exists so far: dense weights dequantized to f16 and computed in f32
//! (`--weights f16`), or the zipper's CPU layer over a container from `cuzstd zipper pack`
//! (`--weights zipper --packed FILE`; `--weights int8` takes a base-only container, packed with
//! `--density 0`). `--compare-f16` with `--perplexity` reports the quality of a packed mode
//! against f16: top-1 agreement, largest logit difference and both perplexities. The GPU modes
//! (`--device gpu`, `--stream`, `--stream-all`, `--vram-budget`) are accepted and refused with a
//! message until they are implemented.
//! `--json` prints the report as one JSON object on stdout (the generated text then goes only
//! into the JSON).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use cuzstd::gguf::Gguf;
use cuzstd::llm::{self, GenerateOptions, Llama, SamplingParams, Tokenizer};
use cuzstd::zipper::ZipperFile;

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
#[command(about = "LLM inference on GGUF weights (CPU path; zipper GPU modes to come)")]
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
    /// Weight representation: f16 (dense), or int8 / zipper from the container given by --packed.
    #[arg(long, value_enum, default_value_t = Weights::F16)]
    weights: Weights,
    /// Zipper container (`cuzstd zipper pack`) for --weights int8|zipper.
    #[arg(long, value_name = "FILE")]
    packed: Option<PathBuf>,
    /// With --perplexity and a packed mode: also run the f16 model and compare logits.
    #[arg(long)]
    compare_f16: bool,
    /// Stream the deltas (zipper) or the dense layers (f16) from host memory.
    #[arg(long)]
    stream: bool,
    /// Stream base and deltas.
    #[arg(long)]
    stream_all: bool,
    /// VRAM budget in bytes for streamed modes.
    #[arg(long)]
    vram_budget: Option<u64>,
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

fn unsupported(args: &Args) -> Option<String> {
    let mut missing = Vec::new();
    if args.device != Device::Cpu {
        missing.push("--device gpu".to_string());
    }
    if args.stream {
        missing.push("--stream".into());
    }
    if args.stream_all {
        missing.push("--stream-all".into());
    }
    if args.vram_budget.is_some() {
        missing.push("--vram-budget".into());
    }
    (!missing.is_empty()).then(|| {
        format!(
            "{}: not implemented yet on the CPU path (--device cpu with --weights f16|int8|zipper runs today)",
            missing.join(", ")
        )
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(msg) = unsupported(&args) {
        eprintln!("zipper-infer: {msg}");
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zipper-infer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    if !args.model.exists() {
        return Err(format!("model file {} not found; run scripts/fetch-smollm2.sh first", args.model.display()).into());
    }
    let weights_name = format!("{:?}", args.weights).to_lowercase();
    let packed = match (args.weights, &args.packed) {
        (Weights::F16, None) => None,
        (Weights::F16, Some(_)) => return Err("--packed needs --weights int8 or --weights zipper".into()),
        (_, None) => {
            return Err(format!("--weights {weights_name} needs --packed FILE (from `cuzstd zipper pack`)").into())
        }
        (w, Some(path)) => {
            let f = ZipperFile::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let base_only = f.meta.mode == "topk" && f.meta.density == 0.0;
            if w == Weights::Int8 && !(base_only && f.meta.base == "int8") {
                return Err(format!(
                    "--weights int8 needs an int8 base-only container (packed with --density 0); {} has base {}, mode {}, density {}",
                    path.display(),
                    f.meta.base,
                    f.meta.mode,
                    f.meta.density
                )
                .into());
            }
            Some(f)
        }
    };
    if args.compare_f16 && (packed.is_none() || args.perplexity.is_none()) {
        return Err("--compare-f16 needs --perplexity FILE and --weights int8|zipper".into());
    }
    let t0 = Instant::now();
    let gguf = Gguf::open(&args.model)?;
    let tokenizer = Tokenizer::from_gguf(&gguf)?;
    let model = match &packed {
        None => Llama::from_gguf(&gguf)?,
        Some(f) => cuzstd::zipper::layer::load_llama(&gguf, f)?,
    };
    let dense = if args.compare_f16 { Some(Llama::from_gguf(&gguf)?) } else { None };
    drop(gguf);
    let load_s = t0.elapsed().as_secs_f64();
    let c = &model.config;
    let weights_desc = match &packed {
        None => "f16 (as f32)".to_string(),
        Some(f) => format!(
            "{weights_name} ({} base, {} delta, density {}, CPU ZipperLinear)",
            f.meta.base, f.meta.mode, f.meta.density
        ),
    };
    eprintln!(
        "loaded {} in {load_s:.2} s: {} blocks, width {}, {} heads ({} kv), vocab {}; device cpu, weights {weights_desc}, {} threads",
        args.model.display(),
        c.n_layer,
        c.n_embd,
        c.n_head,
        c.n_head_kv,
        c.vocab_size,
        rayon::current_num_threads()
    );

    if let Some(path) = &args.perplexity {
        let text = std::fs::read_to_string(path)?;
        let mut ids = tokenizer.encode(&text)?;
        ids.truncate(args.ppl_tokens);
        let t = Instant::now();
        // With --compare-f16 one pass over both models gives the perplexity and the comparison.
        let (ppl, scored, comparison) = match &dense {
            Some(d) => {
                let c = llm::compare_logits(d, &model, &ids, args.ppl_chunk)?;
                (c.candidate_perplexity, ids.len() - 1, Some(c))
            }
            None => {
                let (ppl, scored) = llm::perplexity(&model, &ids, args.ppl_chunk)?;
                (ppl, scored, None)
            }
        };
        let secs = t.elapsed().as_secs_f64();
        if args.json {
            let report = serde_json::json!({
                "model": args.model.display().to_string(),
                "device": "cpu",
                "weights": weights_name,
                "load_s": load_s,
                "perplexity": ppl,
                "compare_f16": comparison.as_ref().map(|c| serde_json::json!({
                    "positions": c.positions,
                    "top1_agreement": c.top1_agreement,
                    "max_abs_logit_diff": c.max_abs_diff,
                    "f16_perplexity": c.reference_perplexity,
                    "perplexity": c.candidate_perplexity,
                })),
                "perplexity_file": path.display().to_string(),
                "perplexity_tokens": ids.len(),
                "predicted_tokens": scored,
                "chunk_tokens": args.ppl_chunk,
                "seconds": secs,
                "tokens_per_s": ids.len() as f64 / secs,
            });
            println!("{report}");
        } else {
            println!(
                "perplexity {ppl:.4} over {scored} predicted tokens (first {} tokens of {}, chunks of {}), {secs:.1} s, {:.1} tokens/s{}",
                ids.len(),
                path.display(),
                args.ppl_chunk,
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
        return Ok(());
    }

    let prompt_text = if args.chat { Tokenizer::chat_prompt(&args.prompt) } else { args.prompt.clone() };
    let prompt = tokenizer.encode(&prompt_text)?;
    let opts = GenerateOptions {
        max_tokens: args.max_tokens,
        sampling: SamplingParams { temperature: args.temperature, top_p: args.top_p, seed: args.seed },
        stop_tokens: tokenizer.eos_id().into_iter().collect(),
    };
    let mut stdout = std::io::stdout();
    if !args.chat && !args.json {
        print!("{}", args.prompt);
        let _ = stdout.flush();
    }
    let gen = llm::generate(&model, &tokenizer, &prompt, &opts, |piece| {
        if !args.json {
            print!("{piece}");
            let _ = stdout.flush();
        }
    })?;
    if args.json {
        let report = serde_json::json!({
            "model": args.model.display().to_string(),
            "device": "cpu",
            "weights": weights_name,
            "threads": rayon::current_num_threads(),
            "load_s": load_s,
            "prompt": prompt_text,
            "prompt_tokens": gen.prompt_tokens,
            "generated_ids": gen.tokens,
            "text": gen.text,
            "stopped_on_eos": gen.stopped_on_token,
            "prefill_s": gen.prefill_time.as_secs_f64(),
            "prefill_tokens_per_s": gen.prefill_tokens_per_s(),
            "decode_s": gen.decode_time.as_secs_f64(),
            "decode_steps": gen.decode_steps,
            "decode_tokens_per_s": gen.decode_tokens_per_s(),
            "temperature": args.temperature,
            "top_p": args.top_p,
            "seed": args.seed,
        });
        println!("{report}");
        return Ok(());
    }
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
    Ok(())
}
