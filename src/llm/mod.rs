//! A small LLM runtime for the llama architecture (SmolLM2-135M and the like), read from GGUF.
//!
//! - [`Tokenizer`]: the file's byte-level BPE, with its control tokens matched before BPE.
//! - [`Llama`]: the forward pass on the CPU in f32 with a [`KvCache`]; every matrix product goes
//!   through the [`Linear`] trait so the zipper's compressed layers can replace the dense ones
//!   ([`Llama::from_gguf_with`]).
//! - [`generate`] with a [`Sampler`] (greedy, or temperature and top-p with a seed), streaming
//!   text through a callback.

pub mod linear;
pub mod model;
pub mod tokenizer;
pub mod weights;

pub use linear::{DenseLinear, Linear};
pub use model::{KvCache, Llama, LlamaConfig};
pub use tokenizer::{TextStream, Tokenizer};
pub use weights::{LinearWeight, ModelWeights};

use std::time::{Duration, Instant};

use crate::gguf::GgufError;

/// Errors of the LLM runtime.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// The file describes a model this runtime does not implement.
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// The file's metadata or tensors are inconsistent.
    #[error("invalid model: {0}")]
    Model(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A device engine failed (the message names the layer and tile where it can).
    #[error("device: {0}")]
    Device(String),
}

/// A model together with the positions it has seen (its KV cache): what [`generate_with`],
/// [`perplexity_with`] and [`compare_logits_with`] drive. [`CpuSession`] is the CPU one;
/// `gpu::llm::GpuLlama` the GPU one.
pub trait Session {
    fn config(&self) -> &LlamaConfig;

    /// Forgets every position.
    fn reset(&mut self) -> Result<(), LlmError>;

    /// Runs `tokens` at the next positions and returns logits: for the last token only, or for
    /// every token (`all_logits`), `n × vocab_size` row-major.
    fn forward(&mut self, tokens: &[u32], all_logits: bool) -> Result<Vec<f32>, LlmError>;
}

/// The CPU [`Llama`] with its own [`KvCache`].
pub struct CpuSession<'a> {
    pub model: &'a Llama,
    pub cache: KvCache,
}

impl<'a> CpuSession<'a> {
    pub fn new(model: &'a Llama) -> Self {
        Self { model, cache: model.new_cache() }
    }
}

impl Session for CpuSession<'_> {
    fn config(&self) -> &LlamaConfig {
        &self.model.config
    }

    fn reset(&mut self) -> Result<(), LlmError> {
        self.cache.truncate(0);
        Ok(())
    }

    fn forward(&mut self, tokens: &[u32], all_logits: bool) -> Result<Vec<f32>, LlmError> {
        self.model.forward(tokens, &mut self.cache, all_logits)
    }
}

/// How the next token is picked from the logits.
#[derive(Clone, Debug)]
pub struct SamplingParams {
    /// 0 picks the most likely token (greedy); otherwise logits are divided by it.
    pub temperature: f32,
    /// Nucleus sampling: keep the most likely tokens whose probabilities add up to `top_p`.
    pub top_p: f32,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self { temperature: 0.0, top_p: 1.0, seed: 0 }
    }
}

/// SplitMix64: a tiny seeded generator, enough for sampling reproducibly.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Picks tokens from logits according to [`SamplingParams`].
#[derive(Clone, Debug)]
pub struct Sampler {
    params: SamplingParams,
    rng: SplitMix64,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        let rng = SplitMix64::new(params.seed);
        Self { params, rng }
    }

    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        if self.params.temperature <= 0.0 {
            return argmax(logits);
        }
        let inv_t = 1.0 / self.params.temperature;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut probs: Vec<(u32, f64)> =
            logits.iter().enumerate().map(|(i, &l)| (i as u32, (((l - max) * inv_t) as f64).exp())).collect();
        probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let total: f64 = probs.iter().map(|p| p.1).sum();
        let top_p = f64::from(self.params.top_p.clamp(0.0, 1.0));
        let mut kept = 0;
        let mut mass = 0.0;
        for p in &probs {
            kept += 1;
            mass += p.1 / total;
            if mass >= top_p {
                break;
            }
        }
        let probs = &probs[..kept.max(1)];
        let kept_total: f64 = probs.iter().map(|p| p.1).sum();
        let mut r = self.rng.next_f64() * kept_total;
        for p in probs {
            if r < p.1 {
                return p.0;
            }
            r -= p.1;
        }
        probs[probs.len() - 1].0
    }
}

/// Index of the largest logit (the first one on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// The `k` largest logits as (token, logit), largest first.
pub fn top_k(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = logits.iter().enumerate().map(|(i, &l)| (i as u32, l)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}

/// Options of [`generate`].
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    /// Stop after emitting one of these tokens (it is included in the output ids, not in the text).
    pub stop_tokens: Vec<u32>,
}

/// What [`generate`] did, with its timings.
#[derive(Clone, Debug, Default)]
pub struct Generation {
    pub prompt_tokens: usize,
    pub tokens: Vec<u32>,
    pub text: String,
    /// Logits after the prompt (the distribution of the first generated token).
    pub first_logits: Vec<f32>,
    pub prefill_time: Duration,
    pub decode_time: Duration,
    /// Forward passes in the decode phase (generated tokens after the first).
    pub decode_steps: usize,
    pub stopped_on_token: bool,
}

impl Generation {
    pub fn prefill_tokens_per_s(&self) -> f64 {
        self.prompt_tokens as f64 / self.prefill_time.as_secs_f64()
    }

    pub fn decode_tokens_per_s(&self) -> f64 {
        self.decode_steps as f64 / self.decode_time.as_secs_f64()
    }
}

/// Runs the prompt in one batched forward pass, then generates up to `opts.max_tokens` tokens,
/// calling `on_text` with each piece of text as soon as it is complete UTF-8. Uses a fresh
/// KV cache.
pub fn generate(
    model: &Llama,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    opts: &GenerateOptions,
    on_text: impl FnMut(&str),
) -> Result<Generation, LlmError> {
    generate_with(&mut CpuSession::new(model), tokenizer, prompt, opts, on_text)
}

/// [`generate`] on any [`Session`], which is reset first.
pub fn generate_with(
    model: &mut dyn Session,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    opts: &GenerateOptions,
    mut on_text: impl FnMut(&str),
) -> Result<Generation, LlmError> {
    model.reset()?;
    let mut sampler = Sampler::new(opts.sampling.clone());
    let mut stream = TextStream::new();
    let mut gen = Generation { prompt_tokens: prompt.len(), ..Default::default() };

    let start = Instant::now();
    let mut logits = model.forward(prompt, false)?;
    gen.prefill_time = start.elapsed();
    gen.first_logits = logits.clone();

    let decode_start = Instant::now();
    for step in 0..opts.max_tokens {
        if step > 0 {
            logits = model.forward(&gen.tokens[gen.tokens.len() - 1..], false)?;
            gen.decode_steps += 1;
        }
        let id = sampler.sample(&logits);
        gen.tokens.push(id);
        if opts.stop_tokens.contains(&id) {
            gen.stopped_on_token = true;
            break;
        }
        let piece = stream.push(tokenizer.token_bytes(id));
        if !piece.is_empty() {
            gen.text.push_str(&piece);
            on_text(&piece);
        }
    }
    let rest = stream.finish();
    if !rest.is_empty() {
        gen.text.push_str(&rest);
        on_text(&rest);
    }
    gen.decode_time = decode_start.elapsed();
    Ok(gen)
}

/// Perplexity of `tokens` under the model: `exp(mean(−log p(tokens[i] | tokens[..i])))` over
/// `i ≥ 1`, evaluated in chunks of `chunk` tokens sharing one KV cache. Returns
/// (perplexity, tokens scored).
pub fn perplexity(model: &Llama, tokens: &[u32], chunk: usize) -> Result<(f64, usize), LlmError> {
    perplexity_with(&mut CpuSession::new(model), tokens, chunk)
}

/// [`perplexity`] on any [`Session`], which is reset first.
pub fn perplexity_with(model: &mut dyn Session, tokens: &[u32], chunk: usize) -> Result<(f64, usize), LlmError> {
    if tokens.len() < 2 {
        return Err(LlmError::InvalidArgument("perplexity needs at least two tokens".into()));
    }
    let vocab = model.config().vocab_size;
    model.reset()?;
    let mut nll = 0f64;
    let mut scored = 0usize;
    for (ci, part) in tokens.chunks(chunk.max(1)).enumerate() {
        let logits = model.forward(part, true)?;
        for (j, row) in logits.chunks_exact(vocab).enumerate() {
            let next = ci * chunk.max(1) + j + 1;
            if next >= tokens.len() {
                break;
            }
            nll += neg_log_prob(row, tokens[next]);
            scored += 1;
        }
    }
    Ok(((nll / scored as f64).exp(), scored))
}

/// How far a candidate model's logits are from a reference's on the same tokens (teacher
/// forcing): the quality numbers of a compressed or quantized mode against f16.
#[derive(Clone, Debug, PartialEq)]
pub struct LogitComparison {
    /// Positions compared.
    pub positions: usize,
    /// Fraction of positions where both models' most likely next token is the same.
    pub top1_agreement: f64,
    /// Largest |candidate − reference| over every logit of every position.
    pub max_abs_diff: f32,
    /// Perplexity of each model over the same tokens (positions 1.. scored).
    pub reference_perplexity: f64,
    pub candidate_perplexity: f64,
}

/// Runs `tokens` through both models in chunks of `chunk` and compares their logits.
pub fn compare_logits(
    reference: &Llama,
    candidate: &Llama,
    tokens: &[u32],
    chunk: usize,
) -> Result<LogitComparison, LlmError> {
    compare_logits_with(&mut CpuSession::new(reference), &mut CpuSession::new(candidate), tokens, chunk)
}

/// [`compare_logits`] on any two [`Session`]s, which are reset first.
pub fn compare_logits_with(
    reference: &mut dyn Session,
    candidate: &mut dyn Session,
    tokens: &[u32],
    chunk: usize,
) -> Result<LogitComparison, LlmError> {
    let vocab = reference.config().vocab_size;
    if candidate.config().vocab_size != vocab {
        return Err(LlmError::InvalidArgument("models have different vocabularies".into()));
    }
    if tokens.len() < 2 {
        return Err(LlmError::InvalidArgument("comparison needs at least two tokens".into()));
    }
    let chunk = chunk.max(1);
    reference.reset()?;
    candidate.reset()?;
    let (mut agree, mut positions, mut max_abs_diff) = (0usize, 0usize, 0f32);
    let (mut nll_a, mut nll_b, mut scored) = (0f64, 0f64, 0usize);
    for (ci, part) in tokens.chunks(chunk).enumerate() {
        let la = reference.forward(part, true)?;
        let lb = candidate.forward(part, true)?;
        for (j, (ra, rb)) in la.chunks_exact(vocab).zip(lb.chunks_exact(vocab)).enumerate() {
            positions += 1;
            agree += usize::from(argmax(ra) == argmax(rb));
            for (x, y) in ra.iter().zip(rb) {
                max_abs_diff = max_abs_diff.max((x - y).abs());
            }
            if let Some(&next) = tokens.get(ci * chunk + j + 1) {
                nll_a += neg_log_prob(ra, next);
                nll_b += neg_log_prob(rb, next);
                scored += 1;
            }
        }
    }
    Ok(LogitComparison {
        positions,
        top1_agreement: agree as f64 / positions as f64,
        max_abs_diff,
        reference_perplexity: (nll_a / scored as f64).exp(),
        candidate_perplexity: (nll_b / scored as f64).exp(),
    })
}

/// −log softmax(logits)[token], computed stably in f64.
fn neg_log_prob(logits: &[f32], token: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum::<f64>().ln() + f64::from(max);
    lse - f64::from(logits[token as usize])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::{GgmlType, Gguf, GgufWriter, Value};

    /// A one-block llama (width 32, 4 heads, 2 kv heads, FFN 64, vocab 16) with F32 weights from
    /// a seeded generator; `scale` multiplies the weights of the matrices.
    fn tiny_llama(seed: u64, scale: f32) -> Llama {
        let (d, ff, vocab, kv) = (32u64, 64u64, 16u64, 16u64);
        let mut rng = SplitMix64::new(seed);
        let mut rand = |n: u64, s: f32| -> Vec<u8> {
            (0..n).flat_map(|_| ((rng.next_f64() as f32 * 2.0 - 1.0) * s).to_le_bytes()).collect()
        };
        let ones = |n: u64| -> Vec<u8> { (0..n).flat_map(|_| 1f32.to_le_bytes()).collect() };
        let mut w = GgufWriter::new();
        w.metadata("general.architecture", Value::String("llama".into()));
        for (k, v) in [
            ("block_count", 1u32),
            ("context_length", 64),
            ("embedding_length", d as u32),
            ("feed_forward_length", ff as u32),
            ("attention.head_count", 4),
            ("attention.head_count_kv", 2),
            ("vocab_size", vocab as u32),
        ] {
            w.metadata(&format!("llama.{k}"), Value::U32(v));
        }
        w.metadata("llama.rope.freq_base", Value::F32(10000.0));
        w.metadata("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
        w.tensor("token_embd.weight", &[d, vocab], GgmlType::F32, rand(d * vocab, 1.0));
        w.tensor("output_norm.weight", &[d], GgmlType::F32, ones(d));
        w.tensor("blk.0.attn_norm.weight", &[d], GgmlType::F32, ones(d));
        w.tensor("blk.0.ffn_norm.weight", &[d], GgmlType::F32, ones(d));
        for (name, inp, out) in [
            ("attn_q", d, d),
            ("attn_k", d, kv),
            ("attn_v", d, kv),
            ("attn_output", d, d),
            ("ffn_gate", d, ff),
            ("ffn_up", d, ff),
            ("ffn_down", ff, d),
        ] {
            w.tensor(&format!("blk.0.{name}.weight"), &[inp, out], GgmlType::F32, rand(inp * out, 0.3 * scale));
        }
        Llama::from_gguf(&Gguf::parse(w.to_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn tiny_model_cache_matches_batched_forward() {
        let m = tiny_llama(1, 1.0);
        assert_eq!((m.config.head_dim, m.config.kv_dim()), (8, 16));
        let tokens = [3u32, 1, 4, 1, 5, 9, 2, 6];
        let mut c = m.new_cache();
        let all = m.forward(&tokens, &mut c, true).unwrap();
        assert_eq!(c.len(), tokens.len());
        // Token by token, and in two chunks after truncating the cache.
        let mut c1 = m.new_cache();
        for (i, &t) in tokens.iter().enumerate() {
            let l = m.forward(&[t], &mut c1, false).unwrap();
            for (x, y) in l.iter().zip(&all[i * 16..(i + 1) * 16]) {
                assert!((x - y).abs() < 1e-5, "position {i}");
            }
        }
        c1.truncate(5);
        let tail = m.forward(&tokens[5..], &mut c1, true).unwrap();
        for (x, y) in tail.iter().zip(&all[5 * 16..]) {
            assert!((x - y).abs() < 1e-5);
        }
        assert!(m.forward(&[16], &mut m.new_cache(), false).is_err(), "token outside the vocabulary");
        let mut long = m.new_cache();
        assert!(m.forward(&[0; 65], &mut long, false).is_err(), "past the context length");
    }

    #[test]
    fn comparison_of_a_model_with_itself_and_another() {
        let a = tiny_llama(1, 1.0);
        let tokens: Vec<u32> = (0..20).map(|i| (i * 7 % 16) as u32).collect();
        let same = compare_logits(&a, &tiny_llama(1, 1.0), &tokens, 6).unwrap();
        assert_eq!((same.positions, same.top1_agreement, same.max_abs_diff), (20, 1.0, 0.0));
        assert_eq!(same.reference_perplexity, same.candidate_perplexity);
        let (ppl, scored) = perplexity(&a, &tokens, 6).unwrap();
        assert_eq!(scored, 19);
        assert!((ppl - same.reference_perplexity).abs() < 1e-9 * ppl);
        let other = compare_logits(&a, &tiny_llama(1, 1.5), &tokens, 20).unwrap();
        assert!(other.max_abs_diff > 0.0);
        assert!(other.top1_agreement <= 1.0);
    }

    #[test]
    fn greedy_and_top_p_sampling() {
        let logits = [0.0, 3.0, 1.0, 3.0];
        assert_eq!(argmax(&logits), 1);
        let mut s = Sampler::new(SamplingParams::default());
        assert_eq!(s.sample(&logits), 1);
        // A tiny top-p keeps only the most likely token.
        let mut s = Sampler::new(SamplingParams { temperature: 1.0, top_p: 1e-6, seed: 7 });
        for _ in 0..20 {
            assert_eq!(s.sample(&[0.0, 5.0, 1.0]), 1);
        }
        // Same seed, same draws; all tokens reachable with top_p = 1.
        let draw = |seed| {
            let mut s = Sampler::new(SamplingParams { temperature: 1.0, top_p: 1.0, seed });
            (0..200).map(|_| s.sample(&[0.0, 0.5, 1.0])).collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        let d = draw(3);
        for t in 0..3 {
            assert!(d.contains(&t), "token {t} never drawn");
        }
    }

    #[test]
    fn top_k_orders_by_logit() {
        assert_eq!(top_k(&[1.0, 4.0, 2.0, 4.0], 3), vec![(1, 4.0), (3, 4.0), (2, 2.0)]);
    }
}
