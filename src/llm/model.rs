//! The Llama forward pass on the CPU, in f32, with a KV cache.
//!
//! Per block: `x += Wo · attn(rope(Wq·n), rope(Wk·n), Wv·n)` with `n = rmsnorm(x) ⊙ attn_norm`,
//! then `x += Wdown · (silu(Wgate·m) ⊙ Wup·m)` with `m = rmsnorm(x) ⊙ ffn_norm`. RoPE rotates
//! adjacent pairs (ggml's "normal" order, which is how GGUF stores llama q/k rows). Grouped-query
//! attention: query head `h` reads key/value head `h / (n_head / n_head_kv)`.

use std::sync::Arc;

use rayon::prelude::*;

use super::linear::{dot, DenseLinear, Linear};
use super::LlmError;
use crate::gguf::{Gguf, TensorView};

/// Shape and constants of a llama-architecture model.
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    /// Dimensions of each head that RoPE rotates (the first `rope_dim`).
    pub rope_dim: usize,
    pub rope_base: f32,
    pub rms_eps: f32,
    pub vocab_size: usize,
    pub context_length: usize,
}

impl LlamaConfig {
    /// Reads `{arch}.*` metadata; only `general.architecture = llama` is accepted.
    pub fn from_gguf<D: AsRef<[u8]>>(g: &Gguf<D>) -> Result<Self, LlmError> {
        let arch = g.get_str("general.architecture")?;
        if arch != "llama" {
            return Err(LlmError::Unsupported(format!(
                "general.architecture is {arch:?}; only \"llama\" is implemented"
            )));
        }
        let u = |k: &str| -> Result<usize, LlmError> { Ok(g.get_u64(&format!("llama.{k}"))? as usize) };
        let n_embd = u("embedding_length")?;
        let n_head = u("attention.head_count")?;
        let n_head_kv = match g.get("llama.attention.head_count_kv") {
            Some(_) => u("attention.head_count_kv")?,
            None => n_head,
        };
        if n_head == 0 || n_head_kv == 0 || n_embd % n_head != 0 || n_head % n_head_kv != 0 {
            return Err(LlmError::Model(format!(
                "width {n_embd}, {n_head} heads, {n_head_kv} kv heads: heads must divide width and kv heads divide heads"
            )));
        }
        let head_dim = n_embd / n_head;
        let rope_dim = match g.get("llama.rope.dimension_count") {
            Some(_) => u("rope.dimension_count")?,
            None => head_dim,
        };
        if rope_dim > head_dim || rope_dim % 2 != 0 {
            return Err(LlmError::Model(format!(
                "rope dimension {rope_dim} must be even and at most the head size {head_dim}"
            )));
        }
        let vocab_size = match g.get("llama.vocab_size") {
            Some(_) => u("vocab_size")?,
            None => g.get_str_array("tokenizer.ggml.tokens")?.len(),
        };
        Ok(Self {
            n_layer: u("block_count")?,
            n_embd,
            n_ff: u("feed_forward_length")?,
            n_head,
            n_head_kv,
            head_dim,
            rope_dim,
            rope_base: match g.get("llama.rope.freq_base") {
                Some(_) => g.get_f64("llama.rope.freq_base")? as f32,
                None => 10000.0,
            },
            rms_eps: g.get_f64("llama.attention.layer_norm_rms_epsilon")? as f32,
            vocab_size,
            context_length: u("context_length")?,
        })
    }

    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
}

/// The seven linear layers of a block, by their GGUF names.
pub const BLOCK_LINEARS: [&str; 7] = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];

/// One transformer block.
pub struct Block {
    pub attn_norm: Vec<f32>,
    pub wq: Box<dyn Linear>,
    pub wk: Box<dyn Linear>,
    pub wv: Box<dyn Linear>,
    pub wo: Box<dyn Linear>,
    pub ffn_norm: Vec<f32>,
    pub w_gate: Box<dyn Linear>,
    pub w_up: Box<dyn Linear>,
    pub w_down: Box<dyn Linear>,
}

/// A llama model ready to run.
pub struct Llama {
    pub config: LlamaConfig,
    /// Token embeddings, `vocab_size × n_embd` row-major.
    pub embedding: Arc<[f32]>,
    pub blocks: Vec<Block>,
    pub output_norm: Vec<f32>,
    pub output: Box<dyn Linear>,
}

/// Dequantizes a GGUF tensor the way the reference does: to f16, then used as f32.
pub fn tensor_f32_via_f16(view: &TensorView<'_>) -> Result<Vec<f32>, LlmError> {
    Ok(view.to_f32_via_f16()?)
}

/// Builds a dense [`Linear`] from a GGUF matrix (GGUF dims `[in, out]`), dequantized via f16.
pub fn dense_linear_from_gguf(view: &TensorView<'_>) -> Result<Box<dyn Linear>, LlmError> {
    if view.info.dims.len() != 2 {
        return Err(LlmError::Model(format!(
            "tensor {:?} has dims {:?}, should be a matrix",
            view.info.name, view.info.dims
        )));
    }
    let (rows, cols) = view.info.rows_cols();
    Ok(Box::new(DenseLinear::new(tensor_f32_via_f16(view)?.into(), rows, cols)))
}

impl Llama {
    /// Loads every weight dense (f16 values held as f32).
    pub fn from_gguf<D: AsRef<[u8]>>(g: &Gguf<D>) -> Result<Self, LlmError> {
        Self::from_gguf_with(g, |_, view| dense_linear_from_gguf(view))
    }

    /// Loads the model with `make_linear(name, tensor)` building each block's linear layer, so
    /// compressed or GPU layers can stand in for the dense ones. Norms and the embedding are
    /// always loaded here; the output head uses `output.weight` through `make_linear` when the
    /// file has one, and is otherwise tied to the embedding (dense).
    pub fn from_gguf_with<D, F>(g: &Gguf<D>, mut make_linear: F) -> Result<Self, LlmError>
    where
        D: AsRef<[u8]>,
        F: FnMut(&str, &TensorView<'_>) -> Result<Box<dyn Linear>, LlmError>,
    {
        let config = LlamaConfig::from_gguf(g)?;
        let c = &config;
        let vector = |name: &str, len: usize| -> Result<Vec<f32>, LlmError> {
            let t = g.tensor(name)?;
            if t.info.n_elems != len as u64 {
                return Err(LlmError::Model(format!(
                    "tensor {name:?} has {} elements, should have {len}",
                    t.info.n_elems
                )));
            }
            tensor_f32_via_f16(&t)
        };
        let mut linear = |name: &str, out: usize, inp: usize| -> Result<Box<dyn Linear>, LlmError> {
            let t = g.tensor(name)?;
            let l = make_linear(name, &t)?;
            if l.out_features() != out || l.in_features() != inp {
                return Err(LlmError::Model(format!(
                    "tensor {name:?} is {} × {}, should be {out} × {inp}",
                    l.out_features(),
                    l.in_features()
                )));
            }
            Ok(l)
        };

        let emb = g.tensor("token_embd.weight")?;
        if emb.info.dims != [c.n_embd as u64, c.vocab_size as u64] {
            return Err(LlmError::Model(format!(
                "token_embd.weight has dims {:?}, should be [{}, {}]",
                emb.info.dims, c.n_embd, c.vocab_size
            )));
        }
        let embedding: Arc<[f32]> = tensor_f32_via_f16(&emb)?.into();

        let mut blocks = Vec::with_capacity(c.n_layer);
        for l in 0..c.n_layer {
            let n = |s: &str| format!("blk.{l}.{s}.weight");
            blocks.push(Block {
                attn_norm: vector(&n("attn_norm"), c.n_embd)?,
                wq: linear(&n("attn_q"), c.n_head * c.head_dim, c.n_embd)?,
                wk: linear(&n("attn_k"), c.kv_dim(), c.n_embd)?,
                wv: linear(&n("attn_v"), c.kv_dim(), c.n_embd)?,
                wo: linear(&n("attn_output"), c.n_embd, c.n_head * c.head_dim)?,
                ffn_norm: vector(&n("ffn_norm"), c.n_embd)?,
                w_gate: linear(&n("ffn_gate"), c.n_ff, c.n_embd)?,
                w_up: linear(&n("ffn_up"), c.n_ff, c.n_embd)?,
                w_down: linear(&n("ffn_down"), c.n_embd, c.n_ff)?,
            });
        }
        let output_norm = vector("output_norm.weight", c.n_embd)?;
        let output: Box<dyn Linear> = if g.tensor_info("output.weight").is_some() {
            linear("output.weight", c.vocab_size, c.n_embd)?
        } else {
            Box::new(DenseLinear::new(embedding.clone(), c.vocab_size, c.n_embd))
        };
        Ok(Self { config, embedding, blocks, output_norm, output })
    }

    /// A fresh KV cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(&self.config)
    }

    /// Runs `tokens` at positions `cache.len()..`, appends their keys and values to `cache`,
    /// and returns logits: for the last token only, or for every token (`all_logits`), as
    /// `n × vocab_size` row-major.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache, all_logits: bool) -> Result<Vec<f32>, LlmError> {
        let c = &self.config;
        let t_len = tokens.len();
        if t_len == 0 {
            return Err(LlmError::InvalidArgument("forward needs at least one token".into()));
        }
        if cache.n_layer() != c.n_layer || cache.kv_dim != c.kv_dim() {
            return Err(LlmError::InvalidArgument("KV cache belongs to another model shape".into()));
        }
        let pos0 = cache.len();
        if pos0 + t_len > c.context_length {
            return Err(LlmError::InvalidArgument(format!(
                "{} tokens exceed the context length {}",
                pos0 + t_len,
                c.context_length
            )));
        }
        let d = c.n_embd;
        let mut x = Vec::with_capacity(t_len * d);
        for &t in tokens {
            let t = t as usize;
            if t >= c.vocab_size {
                return Err(LlmError::InvalidArgument(format!(
                    "token id {t} is outside the vocabulary of {}",
                    c.vocab_size
                )));
            }
            x.extend_from_slice(&self.embedding[t * d..(t + 1) * d]);
        }
        let rope = RopeTable::new(c, pos0, t_len);

        for (l, blk) in self.blocks.iter().enumerate() {
            let h = rms_norm(&x, &blk.attn_norm, c.rms_eps);
            let mut q = blk.wq.forward(&h, t_len);
            let mut k = blk.wk.forward(&h, t_len);
            let v = blk.wv.forward(&h, t_len);
            rope.apply(&mut q, c.n_head, c.head_dim);
            rope.apply(&mut k, c.n_head_kv, c.head_dim);
            cache.k[l].extend_from_slice(&k);
            cache.v[l].extend_from_slice(&v);
            let att = attention(c, &q, &cache.k[l], &cache.v[l], pos0, t_len);
            let o = blk.wo.forward(&att, t_len);
            add_assign(&mut x, &o);

            let h = rms_norm(&x, &blk.ffn_norm, c.rms_eps);
            let mut gate = blk.w_gate.forward(&h, t_len);
            let up = blk.w_up.forward(&h, t_len);
            for (g, u) in gate.iter_mut().zip(&up) {
                *g = *g / (1.0 + (-*g).exp()) * u;
            }
            let down = blk.w_down.forward(&gate, t_len);
            add_assign(&mut x, &down);
        }
        cache.len += t_len;

        let (rows, n) = if all_logits { (&x[..], t_len) } else { (&x[(t_len - 1) * d..], 1) };
        let h = rms_norm(rows, &self.output_norm, c.rms_eps);
        Ok(self.output.forward(&h, n))
    }
}

/// Keys and values of every layer for the positions seen so far.
#[derive(Clone, Debug)]
pub struct KvCache {
    /// Per layer, `len × kv_dim` row-major (RoPE already applied to keys).
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    kv_dim: usize,
    len: usize,
}

impl KvCache {
    pub fn new(c: &LlamaConfig) -> Self {
        Self { k: vec![Vec::new(); c.n_layer], v: vec![Vec::new(); c.n_layer], kv_dim: c.kv_dim(), len: 0 }
    }

    /// Positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn n_layer(&self) -> usize {
        self.k.len()
    }

    /// Forgets every position after the first `len`.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            for (k, v) in self.k.iter_mut().zip(&mut self.v) {
                k.truncate(len * self.kv_dim);
                v.truncate(len * self.kv_dim);
            }
            self.len = len;
        }
    }
}

/// Cosines and sines for positions `pos0..pos0 + n`, pair `i` at angle `pos · base^(−2i/rope_dim)`.
struct RopeTable {
    cos: Vec<f32>,
    sin: Vec<f32>,
    pairs: usize,
}

/// RoPE cosines and sines for positions `pos0..pos0 + n`: `n × rope_dim / 2` values each, pair
/// `i` of position `p` at angle `p · base^(−2i/rope_dim)` (computed in f64, rounded to f32).
pub fn rope_cos_sin(c: &LlamaConfig, pos0: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
    let pairs = c.rope_dim / 2;
    let mut cos = Vec::with_capacity(n * pairs);
    let mut sin = Vec::with_capacity(n * pairs);
    for p in pos0..pos0 + n {
        for i in 0..pairs {
            let freq = (c.rope_base as f64).powf(-2.0 * i as f64 / c.rope_dim as f64);
            let angle = p as f64 * freq;
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    (cos, sin)
}

impl RopeTable {
    fn new(c: &LlamaConfig, pos0: usize, n: usize) -> Self {
        let (cos, sin) = rope_cos_sin(c, pos0, n);
        Self { cos, sin, pairs: c.rope_dim / 2 }
    }

    /// Rotates `x` (`n` rows of `heads × head_dim`) in place, adjacent pairs.
    fn apply(&self, x: &mut [f32], heads: usize, head_dim: usize) {
        for (t, row) in x.chunks_exact_mut(heads * head_dim).enumerate() {
            let cos = &self.cos[t * self.pairs..(t + 1) * self.pairs];
            let sin = &self.sin[t * self.pairs..(t + 1) * self.pairs];
            for head in row.chunks_exact_mut(head_dim) {
                for i in 0..self.pairs {
                    let (a, b) = (head[2 * i], head[2 * i + 1]);
                    head[2 * i] = a * cos[i] - b * sin[i];
                    head[2 * i + 1] = a * sin[i] + b * cos[i];
                }
            }
        }
    }
}

/// Causal attention for `t_len` new queries at positions `pos0..`, over the cached keys and
/// values (which already include the new positions). Returns `t_len × (n_head · head_dim)`.
fn attention(c: &LlamaConfig, q: &[f32], k: &[f32], v: &[f32], pos0: usize, t_len: usize) -> Vec<f32> {
    let hd = c.head_dim;
    let q_dim = c.n_head * hd;
    let kv_dim = c.kv_dim();
    let group = c.n_head / c.n_head_kv;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut out = vec![0f32; t_len * q_dim];
    // One task per (token, head).
    out.par_chunks_mut(hd).enumerate().for_each(|(i, o)| {
        let (t, h) = (i / c.n_head, i % c.n_head);
        let kvh = h / group;
        let qh = &q[t * q_dim + h * hd..t * q_dim + (h + 1) * hd];
        let n_ctx = pos0 + t + 1;
        let mut scores: Vec<f32> =
            (0..n_ctx).map(|p| dot(qh, &k[p * kv_dim + kvh * hd..p * kv_dim + (kvh + 1) * hd]) * scale).collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for s in &mut scores {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = 1.0 / sum;
        for (p, s) in scores.iter().enumerate() {
            let w = s * inv;
            let vp = &v[p * kv_dim + kvh * hd..p * kv_dim + (kvh + 1) * hd];
            for (oj, vj) in o.iter_mut().zip(vp) {
                *oj += w * vj;
            }
        }
    });
    out
}

/// RMSNorm of each row of `x` (rows of `w.len()`), scaled by `w`.
fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(d) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
        let r = 1.0 / (ms + eps).sqrt();
        out.extend(row.iter().zip(w).map(|(v, g)| v * r * g));
    }
    out
}

fn add_assign(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}
