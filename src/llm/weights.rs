//! A llama model's weights on the host, in the forms a device engine uploads (`gpu::llm`):
//! dense f16 matrices, or the zipper's packed weights. Built from a GGUF file (with a zipper
//! container standing in for the layers it packs), or synthetic for shapes no file here has.

use std::sync::Arc;

use half::f16;
use rayon::prelude::*;

use super::model::{LlamaConfig, BLOCK_LINEARS};
use super::{LlmError, SplitMix64};
use crate::gguf::{Gguf, TensorView};
use crate::zipper::delta::HalfKind;
use crate::zipper::pack::{pack_matrix, PackOptions};
use crate::zipper::{PackedWeight, ZipperFile};

/// One linear layer's weight, `rows` (outputs) × `cols` (inputs).
#[derive(Clone, Debug)]
pub enum LinearWeight {
    /// f16 bits, row-major. Shared so synthetic models can repeat a block without copies.
    Dense { name: String, rows: usize, cols: usize, bits: Arc<[u16]> },
    /// A zipper-packed weight (quantized base plus compressed sparse delta).
    Packed(Arc<PackedWeight>),
}

impl LinearWeight {
    pub fn name(&self) -> &str {
        match self {
            LinearWeight::Dense { name, .. } => name,
            LinearWeight::Packed(w) => &w.name,
        }
    }

    pub fn rows(&self) -> usize {
        match self {
            LinearWeight::Dense { rows, .. } => *rows,
            LinearWeight::Packed(w) => w.rows,
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            LinearWeight::Dense { cols, .. } => *cols,
            LinearWeight::Packed(w) => w.cols,
        }
    }

    /// A dense weight from f32 values that are f16 values (rounded here otherwise).
    pub fn dense_from_f32(name: &str, rows: usize, cols: usize, values: &[f32]) -> Self {
        assert_eq!(values.len(), rows * cols, "{name}: {} values for {rows} × {cols}", values.len());
        let bits: Vec<u16> = values.par_iter().map(|&v| f16::from_f32(v).to_bits()).collect();
        LinearWeight::Dense { name: name.to_string(), rows, cols, bits: bits.into() }
    }
}

/// One transformer block; `linears` in [`BLOCK_LINEARS`] order (q, k, v, o, gate, up, down).
#[derive(Clone, Debug)]
pub struct BlockWeights {
    pub attn_norm: Arc<[f32]>,
    pub ffn_norm: Arc<[f32]>,
    pub linears: [LinearWeight; 7],
}

/// Every weight of a llama model.
#[derive(Clone, Debug)]
pub struct ModelWeights {
    pub config: LlamaConfig,
    /// Token embeddings as f16 bits, `vocab_size × n_embd` row-major.
    pub embedding: Arc<[u16]>,
    pub blocks: Vec<BlockWeights>,
    pub output_norm: Arc<[f32]>,
    /// The output head; `None` when it is tied to the embedding.
    pub output: Option<LinearWeight>,
    /// Where the weights came from, for reports ("synthetic ..." for generated ones).
    pub source: String,
}

/// Which form the block linears take when loading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinearForm {
    /// Dense f16 from the GGUF.
    Dense,
    /// From the zipper container where it packs the layer, dense f16 otherwise.
    Packed,
}

/// (rows, cols) of a block's linears in [`BLOCK_LINEARS`] order.
fn block_shapes(c: &LlamaConfig) -> [(usize, usize); 7] {
    let q_dim = c.n_head * c.head_dim;
    [
        (q_dim, c.n_embd),
        (c.kv_dim(), c.n_embd),
        (c.kv_dim(), c.n_embd),
        (c.n_embd, q_dim),
        (c.n_ff, c.n_embd),
        (c.n_ff, c.n_embd),
        (c.n_embd, c.n_ff),
    ]
}

fn dense_from_view(view: &TensorView<'_>) -> Result<LinearWeight, LlmError> {
    if view.info.dims.len() != 2 {
        return Err(LlmError::Model(format!(
            "tensor {:?} has dims {:?}, should be a matrix",
            view.info.name, view.info.dims
        )));
    }
    let (rows, cols) = view.info.rows_cols();
    Ok(LinearWeight::dense_from_f32(&view.info.name, rows, cols, &view.to_f32_via_f16()?))
}

fn check_shape(w: &LinearWeight, rows: usize, cols: usize) -> Result<(), LlmError> {
    if w.rows() != rows || w.cols() != cols {
        return Err(LlmError::Model(format!(
            "tensor {:?} is {} × {}, should be {rows} × {cols}",
            w.name(),
            w.rows(),
            w.cols()
        )));
    }
    Ok(())
}

impl ModelWeights {
    /// Loads a GGUF llama. With `packed`, every block linear (and the output head) the
    /// container packs comes from it; the rest, norms and the embedding come from the GGUF.
    pub fn from_gguf<D: AsRef<[u8]>>(g: &Gguf<D>, packed: Option<&ZipperFile>) -> Result<Self, LlmError> {
        let config = LlamaConfig::from_gguf(g)?;
        let c = &config;
        let vector = |name: &str, len: usize| -> Result<Arc<[f32]>, LlmError> {
            let t = g.tensor(name)?;
            if t.info.n_elems != len as u64 {
                return Err(LlmError::Model(format!(
                    "tensor {name:?} has {} elements, should have {len}",
                    t.info.n_elems
                )));
            }
            Ok(t.to_f32_via_f16()?.into())
        };
        let linear = |name: &str, rows: usize, cols: usize| -> Result<LinearWeight, LlmError> {
            let w = match packed {
                Some(f) if f.meta.weights.contains_key(name) => {
                    LinearWeight::Packed(Arc::new(f.weight(name).map_err(|e| LlmError::Model(format!("{name}: {e}")))?))
                }
                _ => dense_from_view(&g.tensor(name)?)?,
            };
            check_shape(&w, rows, cols)?;
            Ok(w)
        };
        let emb = g.tensor("token_embd.weight")?;
        if emb.info.dims != [c.n_embd as u64, c.vocab_size as u64] {
            return Err(LlmError::Model(format!(
                "token_embd.weight has dims {:?}, should be [{}, {}]",
                emb.info.dims, c.n_embd, c.vocab_size
            )));
        }
        let embedding: Vec<u16> = emb.to_f32_via_f16()?.par_iter().map(|&v| f16::from_f32(v).to_bits()).collect();
        let mut blocks = Vec::with_capacity(c.n_layer);
        for l in 0..c.n_layer {
            let n = |s: &str| format!("blk.{l}.{s}.weight");
            let mut ls = Vec::with_capacity(7);
            for (s, (rows, cols)) in BLOCK_LINEARS.iter().zip(block_shapes(c)) {
                ls.push(linear(&n(s), rows, cols)?);
            }
            blocks.push(BlockWeights {
                attn_norm: vector(&n("attn_norm"), c.n_embd)?,
                ffn_norm: vector(&n("ffn_norm"), c.n_embd)?,
                linears: ls.try_into().expect("seven linears"),
            });
        }
        let output = match g.tensor_info("output.weight") {
            Some(_) => Some(linear("output.weight", c.vocab_size, c.n_embd)?),
            None => None,
        };
        let source = match packed {
            Some(f) => format!(
                "GGUF with zipper container ({} base, {} delta, density {})",
                f.meta.base, f.meta.mode, f.meta.density
            ),
            None => "GGUF".to_string(),
        };
        Ok(Self {
            config: config.clone(),
            embedding: embedding.into(),
            blocks,
            output_norm: vector("output_norm.weight", c.n_embd)?,
            output,
            source,
        })
    }

    /// A model of `config`'s shape with weights drawn at random from `pool` (for example real
    /// f16 weights, so the value distribution is a real model's), norms of 1 and a tied head.
    /// Only `distinct` different blocks are generated; block `l` is block `l % distinct`
    /// (sharing host memory: each block still gets its own device copy or its own transfer).
    /// With `pack`, the block linears are packed by the zipper packer; otherwise dense f16.
    pub fn synthetic(
        config: &LlamaConfig,
        pool: &[f32],
        distinct: usize,
        seed: u64,
        pack: Option<&PackOptions>,
    ) -> Result<Self, LlmError> {
        let c = config;
        if pool.is_empty() || distinct == 0 || c.n_layer == 0 {
            return Err(LlmError::InvalidArgument("synthetic weights need a value pool, blocks and layers".into()));
        }
        let draw = |n: usize, seed: u64| -> Vec<f32> {
            const TASK: usize = 1 << 16;
            let mut v = vec![0f32; n];
            v.par_chunks_mut(TASK).enumerate().for_each(|(i, ch)| {
                let mut r = SplitMix64::new(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                for x in ch {
                    *x = pool[(r.next_u64() % pool.len() as u64) as usize];
                }
            });
            v
        };
        let emb = draw(c.vocab_size * c.n_embd, seed);
        let embedding: Vec<u16> = emb.par_iter().map(|&v| f16::from_f32(v).to_bits()).collect();
        let shapes = block_shapes(c);
        let ones: Arc<[f32]> = vec![1f32; c.n_embd].into();
        let mut distinct_blocks = Vec::with_capacity(distinct.min(c.n_layer));
        for b in 0..distinct.min(c.n_layer) {
            let mut ls = Vec::with_capacity(7);
            for (i, (s, (rows, cols))) in BLOCK_LINEARS.iter().zip(shapes).enumerate() {
                let name = format!("blk.{b}.{s}.weight");
                let v = draw(rows * cols, seed.wrapping_add(1 + (b * 7 + i) as u64));
                ls.push(match pack {
                    Some(o) => LinearWeight::Packed(Arc::new(
                        pack_matrix(&name, &v, rows, cols, HalfKind::F16, "F16", o)
                            .map_err(|e| LlmError::Model(e.to_string()))?
                            .0,
                    )),
                    None => LinearWeight::dense_from_f32(&name, rows, cols, &v),
                });
            }
            distinct_blocks.push(BlockWeights {
                attn_norm: ones.clone(),
                ffn_norm: ones.clone(),
                linears: ls.try_into().expect("seven linears"),
            });
        }
        let blocks = (0..c.n_layer).map(|l| distinct_blocks[l % distinct_blocks.len()].clone()).collect();
        Ok(Self {
            config: c.clone(),
            embedding: embedding.into(),
            blocks,
            output_norm: ones,
            output: None,
            source: format!(
                "SYNTHETIC weights ({} distinct random blocks repeated over {} layers, values drawn from a real-weight pool)",
                distinct_blocks.len(),
                c.n_layer
            ),
        })
    }
}

/// Shapes of well-known llama models for synthetic runs: `llama-7b`, `llama-13b`,
/// `llama-70b`, `smollm2-135m`.
pub fn synthetic_config(shape: &str) -> Option<LlamaConfig> {
    let cfg = |n_layer, n_embd, n_ff, n_head, n_head_kv, vocab_size, rope_base: f32| {
        let head_dim = n_embd / n_head;
        LlamaConfig {
            n_layer,
            n_embd,
            n_ff,
            n_head,
            n_head_kv,
            head_dim,
            rope_dim: head_dim,
            rope_base,
            rms_eps: 1e-5,
            vocab_size,
            context_length: 4096,
        }
    };
    Some(match shape {
        "llama-7b" => cfg(32, 4096, 11008, 32, 32, 32000, 10000.0),
        "llama-13b" => cfg(40, 5120, 13824, 40, 40, 32000, 10000.0),
        "llama-70b" => cfg(80, 8192, 28672, 64, 8, 32000, 10000.0),
        "smollm2-135m" => cfg(30, 576, 1536, 9, 3, 49152, 100000.0),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::{GgmlType, GgufWriter, Value};
    use crate::zipper::delta::DeltaMode;
    use crate::zipper::pack::pack_bytes;

    /// One block, width 16, 2 heads (1 kv head), FFN 32, vocab 8; f16 tensors.
    fn tiny() -> Vec<u8> {
        let mut rng = SplitMix64::new(7);
        let mut f16s = |n: u64| -> Vec<u8> {
            (0..n).flat_map(|_| f16::from_f32(rng.next_f64() as f32 - 0.5).to_bits().to_le_bytes()).collect()
        };
        let ones = |n: u64| -> Vec<u8> { (0..n).flat_map(|_| 1f32.to_le_bytes()).collect() };
        let mut w = GgufWriter::new();
        w.metadata("general.architecture", Value::String("llama".into()));
        for (k, v) in [
            ("block_count", 1u32),
            ("context_length", 32),
            ("embedding_length", 16),
            ("feed_forward_length", 32),
            ("attention.head_count", 2),
            ("attention.head_count_kv", 1),
            ("vocab_size", 8),
        ] {
            w.metadata(&format!("llama.{k}"), Value::U32(v));
        }
        w.metadata("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
        w.tensor("token_embd.weight", &[16, 8], GgmlType::F16, f16s(128));
        w.tensor("output_norm.weight", &[16], GgmlType::F32, ones(16));
        w.tensor("blk.0.attn_norm.weight", &[16], GgmlType::F32, ones(16));
        w.tensor("blk.0.ffn_norm.weight", &[16], GgmlType::F32, ones(16));
        for (name, inp, out) in [
            ("attn_q", 16, 16),
            ("attn_k", 16, 8),
            ("attn_v", 16, 8),
            ("attn_output", 16, 16),
            ("ffn_gate", 16, 32),
            ("ffn_up", 16, 32),
            ("ffn_down", 32, 16),
        ] {
            w.tensor(&format!("blk.0.{name}.weight"), &[inp, out], GgmlType::F16, f16s(inp * out));
        }
        w.to_bytes()
    }

    #[test]
    fn gguf_weights_dense_and_packed_have_the_model_shapes() {
        let bytes = tiny();
        let g = Gguf::parse(bytes.clone()).unwrap();
        let dense = ModelWeights::from_gguf(&g, None).unwrap();
        assert_eq!(dense.embedding.len(), 8 * 16);
        assert!(dense.output.is_none(), "tied head");
        let shapes: Vec<(usize, usize)> = dense.blocks[0].linears.iter().map(|l| (l.rows(), l.cols())).collect();
        assert_eq!(shapes, vec![(16, 16), (8, 16), (8, 16), (16, 16), (32, 16), (32, 16), (16, 32)]);
        // Dense bits are the file's f16 values (q's first row).
        let LinearWeight::Dense { bits, .. } = &dense.blocks[0].linears[0] else { panic!("dense") };
        let q = g.tensor("blk.0.attn_q.weight").unwrap().to_f32_via_f16().unwrap();
        assert!(bits.iter().zip(&q).all(|(b, v)| f16::from_bits(*b).to_f32() == *v));

        let o = PackOptions { mode: DeltaMode::TopK { density: 0.1 }, ..PackOptions::default() };
        let f = ZipperFile::parse(pack_bytes(bytes, "tiny.gguf", &o).unwrap().0).unwrap();
        let packed = ModelWeights::from_gguf(&g, Some(&f)).unwrap();
        assert!(packed.blocks[0].linears.iter().all(|l| matches!(l, LinearWeight::Packed(_))));
        assert!(packed.source.contains("zipper"), "{}", packed.source);
    }

    #[test]
    fn synthetic_weights_repeat_distinct_blocks_and_say_so() {
        let c = LlamaConfig { n_layer: 5, vocab_size: 64, ..synthetic_config("smollm2-135m").unwrap() };
        let pool: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 1e-4).collect();
        let w = ModelWeights::synthetic(&c, &pool, 2, 1, None).unwrap();
        assert_eq!(w.blocks.len(), 5);
        assert!(w.source.starts_with("SYNTHETIC"), "{}", w.source);
        let bits = |l: usize| match &w.blocks[l].linears[4] {
            LinearWeight::Dense { bits, .. } => bits.clone(),
            LinearWeight::Packed(_) => panic!("dense"),
        };
        // Block l is block l % 2: the same host memory, and the two distinct blocks differ.
        assert!(Arc::ptr_eq(&bits(0), &bits(2)) && Arc::ptr_eq(&bits(1), &bits(3)));
        assert_ne!(bits(0), bits(1));
        assert!(ModelWeights::synthetic(&c, &[], 2, 1, None).is_err());
        assert!(synthetic_config("no-such-model").is_none());
        assert_eq!(synthetic_config("llama-70b").map(|c| (c.n_layer, c.n_head_kv)), Some((80, 8)));
    }
}
