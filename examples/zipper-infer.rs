//! Runs SmolLM2-135M-Instruct (or another llama GGUF) and reports its speed.
//!
//! ```text
//! scripts/fetch-smollm2.sh
//! cargo run --release --example zipper-infer -- --chat --prompt "What is the capital of France?"
//! cargo run --release --example zipper-infer -- --perplexity ../shared/bench-data/canterbury/alice29.txt
//! ```
//!
//! Only the CPU path exists so far: dense weights dequantized to f16 and computed in f32. The
//! GPU weight modes (`--device gpu`, `--weights int8|zipper`, `--stream`, `--stream-all`,
//! `--vram-budget`) are accepted and refused with a message until they are implemented.
//! `--json` prints the report as one JSON object on stdout (the generated text then goes only
//! into the JSON).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use cuzstd::gguf::Gguf;
use cuzstd::llm::{self, GenerateOptions, Llama, SamplingParams, Tokenizer};

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
    /// Weight representation (only f16 exists on the CPU path).
    #[arg(long, value_enum, default_value_t = Weights::F16)]
    weights: Weights,
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
    if args.weights != Weights::F16 {
        missing.push(format!("--weights {:?}", args.weights).to_lowercase());
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
            "{}: not implemented yet on the CPU path (only --device cpu --weights f16 runs today)",
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
    let t0 = Instant::now();
    let gguf = Gguf::open(&args.model)?;
    let tokenizer = Tokenizer::from_gguf(&gguf)?;
    let model = Llama::from_gguf(&gguf)?;
    drop(gguf);
    let load_s = t0.elapsed().as_secs_f64();
    let c = &model.config;
    eprintln!(
        "loaded {} in {load_s:.2} s: {} blocks, width {}, {} heads ({} kv), vocab {}; device cpu, weights f16 (as f32), {} threads",
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
        let (ppl, scored) = llm::perplexity(&model, &ids, args.ppl_chunk)?;
        let secs = t.elapsed().as_secs_f64();
        if args.json {
            let report = serde_json::json!({
                "model": args.model.display().to_string(),
                "device": "cpu",
                "weights": "f16",
                "load_s": load_s,
                "perplexity": ppl,
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
                "perplexity {ppl:.4} over {scored} predicted tokens (first {} tokens of {}, chunks of {}), {secs:.1} s, {:.1} tokens/s",
                ids.len(),
                path.display(),
                args.ppl_chunk,
                ids.len() as f64 / secs
            );
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
            "weights": "f16",
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
