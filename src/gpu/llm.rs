//! A llama forward pass on one GPU (`cuda/llm.cu` for norms, RoPE, attention and the MLP's
//! gate; the zipper's fused kernels or a dense f16 GEMV for the linear layers), with the
//! weight streaming of the zipper: parts of layers kept in pinned host memory are copied to
//! the device on a copy stream a few layers ahead of the compute stream.
//!
//! [`GpuLlama`] holds a model uploaded from [`ModelWeights`] in one of three [`WeightMode`]s and
//! implements [`Session`], so `llm::generate_with` and friends drive it like the CPU model.
//! Activations, the KV cache and logits are f32; results match the CPU forward pass up to the
//! order of summation.
//!
//! Streaming ([`Streaming`]): the streamable parts of every linear layer (dense f16 weights in
//! f16 mode; deltas, and with `All` the quantized bases, in the packed modes) stay resident in
//! forward order while the VRAM budget allows, and the others are copied from pinned host
//! memory into a ring of `stages` device buffers every forward pass. The copy of the `i`-th
//! streamed layer waits for the compute stream to be done with the layer that used its stage
//! before; the compute stream waits for the copy. The ring runs across forward passes, so the
//! first layers of the next token are copied while this token's last layers and the output head
//! compute.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use cudarc::driver::{
    sys, CudaEvent, CudaSlice, CudaStream, CudaView, CudaViewMut, LaunchConfig, PinnedHostSlice, PushKernelArg,
};

use super::zipper::{DeviceZipperWeight, LaunchParts, Residency, ZipperWorkspace};
use super::{elapsed_ms, Gpu, Module};
use crate::abi::cz_item_result;
use crate::error::CudaContext as _;
use crate::llm::{LinearWeight, LlamaConfig, LlmError, ModelWeights, Session};
use crate::zipper::kernel::check_results;

/// How the block linears are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightMode {
    /// Dense f16 weights (the reference); packed weights are refused.
    F16,
    /// The packed weights' quantized bases alone (deltas are not uploaded or read).
    Int8,
    /// Base plus delta, fused.
    Zipper,
}

/// Which parts of the linear layers may live in host memory and be copied every forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streaming {
    /// Everything resident.
    None,
    /// Deltas (zipper mode) or dense weights (f16 mode).
    Deltas,
    /// Deltas and bases (packed modes) or dense weights (f16 mode).
    All,
}

/// Options of [`GpuLlama::new`].
#[derive(Clone, Debug)]
pub struct GpuLlamaOptions {
    pub mode: WeightMode,
    pub streaming: Streaming,
    /// Bound on the device memory the engine allocates, in bytes. With streaming, streamable
    /// parts stay resident (in forward order) while the total stays within it; without, a model
    /// that does not fit is an error. `None`: no bound (streamable parts are all streamed).
    pub vram_budget: Option<usize>,
    /// Positions the KV cache holds (prompt plus generated tokens).
    pub max_context: usize,
    /// Tokens per forward launch sequence; longer inputs run in pieces of this many.
    pub max_batch: usize,
    /// Device buffers in the streaming ring (2 = double buffering; 0 = chosen from the layer
    /// sizes: 3 to 16 buffers, about 64 MiB).
    pub stages: usize,
    /// Time every copy with CUDA events ([`RunStats::copy_ms`]); costs two events per copy.
    pub time_copies: bool,
}

impl Default for GpuLlamaOptions {
    fn default() -> Self {
        Self {
            mode: WeightMode::F16,
            streaming: Streaming::None,
            vram_budget: None,
            max_context: 2048,
            max_batch: 256,
            stages: 0,
            time_copies: false,
        }
    }
}

/// Device memory of a [`GpuLlama`], in bytes.
#[derive(Clone, Debug, Default)]
pub struct MemoryReport {
    /// Everything the engine allocated (weights, tables, KV cache, activations, staging).
    pub engine_bytes: usize,
    /// Linear-layer bytes resident on the device (bases, deltas, dense weights, scales and tile
    /// tables), plus the embedding and norms.
    pub resident_weight_bytes: usize,
    /// Linear-layer bytes copied from host memory in every forward pass.
    pub streamed_bytes_per_forward: usize,
    pub kv_cache_bytes: usize,
    pub staging_bytes: usize,
    /// Layers (of all linear layers) with at least one streamed part.
    pub streamed_layers: usize,
    pub layers: usize,
}

/// Counters over the forward passes since [`GpuLlama::take_stats`].
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    pub forwards: u64,
    pub tokens: u64,
    /// Weight bytes copied host → device and consumed by those passes.
    pub bytes_streamed: u64,
    /// GPU time of those copies on the copy stream (ms); 0 unless
    /// [`GpuLlamaOptions::time_copies`].
    pub copy_ms: f64,
}

enum Kind {
    Dense { w: Option<CudaSlice<u8>>, bytes: usize },
    Packed { w: Box<DeviceZipperWeight>, base_only: bool, results_at: usize },
}

struct Lin {
    name: String,
    rows: usize,
    cols: usize,
    kind: Kind,
    /// Pinned host copies of the streamed parts: the dense weight or the base, then the delta.
    host_a: Option<Arc<PinnedHostSlice<u8>>>,
    host_b: Option<Arc<PinnedHostSlice<u8>>>,
}

impl Lin {
    fn a_len(&self) -> usize {
        match &self.kind {
            Kind::Dense { bytes, .. } => *bytes,
            Kind::Packed { w, .. } => w.base_bytes(),
        }
    }

    /// Offset of the delta in a stage buffer.
    fn b_offset(&self) -> usize {
        if self.host_a.is_some() {
            self.a_len().next_multiple_of(256)
        } else {
            0
        }
    }

    fn streamed_bytes(&self) -> usize {
        self.host_a.as_ref().map_or(0, |h| h.len()) + self.host_b.as_ref().map_or(0, |h| h.len())
    }

    fn stage_bytes(&self) -> usize {
        match (&self.host_a, &self.host_b) {
            (_, Some(b)) => self.b_offset() + b.len(),
            (Some(a), None) => a.len(),
            (None, None) => 0,
        }
    }
}

struct Copy {
    /// (start, end) timing events when the options ask for copy times.
    timing: Option<(CudaEvent, CudaEvent)>,
    bytes: u64,
}

/// The copy ring. Stage `k` serves the copies `c` with `c % stages == k`; its `ready` event is
/// recorded after each copy into it and its `free` event after each kernel that read it. Both
/// are re-recorded every round: a wait captures the record made before it, and each record is
/// waited on before the next record of the same event is made (copy `c + stages` is enqueued
/// only after use `c` has waited and launched).
struct Streamer {
    copy: Arc<CudaStream>,
    /// Linear indices with streamed parts, in forward order.
    order: Vec<usize>,
    stages: Vec<CudaSlice<u8>>,
    ready: Vec<CudaEvent>,
    free: Vec<CudaEvent>,
    /// Whether `free[k]` has been recorded since the ring was (re)started.
    free_recorded: Vec<bool>,
    time_copies: bool,
    /// Enqueued copies not yet used, oldest first (global indices next_use..next_copy).
    pending: VecDeque<Copy>,
    /// Used copies whose timings are read after the forward pass.
    used: Vec<Copy>,
    next_copy: u64,
    next_use: u64,
}

struct Buffers {
    ids: CudaSlice<u32>,
    cos: CudaSlice<f32>,
    sin: CudaSlice<f32>,
    /// The residual stream.
    x: CudaSlice<f32>,
    /// Linear inputs and outputs, indexed by [`Act`].
    acts: Vec<CudaSlice<f32>>,
}

/// Activation buffers a linear layer reads or writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    H = 0,
    Q = 1,
    Att = 2,
    O = 3,
    Gate = 4,
    Up = 5,
    Logits = 6,
}

/// `(&v[i], &mut v[j])` for `i != j`.
fn read_write<T>(v: &mut [T], i: usize, j: usize) -> (&T, &mut T) {
    assert_ne!(i, j, "a layer's input and output are different buffers");
    if i < j {
        let (a, b) = v.split_at_mut(j);
        (&a[i], &mut b[0])
    } else {
        let (a, b) = v.split_at_mut(i);
        (&b[0], &mut a[j])
    }
}

/// A llama model on one GPU with its KV cache.
pub struct GpuLlama {
    gpu: Arc<Gpu>,
    config: LlamaConfig,
    opts: GpuLlamaOptions,
    embedding: CudaSlice<u16>,
    attn_norm: Vec<CudaSlice<f32>>,
    ffn_norm: Vec<CudaSlice<f32>>,
    output_norm: CudaSlice<f32>,
    /// 7 per block in `BLOCK_LINEARS` order, then the output head when it is not tied.
    lins: Vec<Lin>,
    k_cache: Vec<CudaSlice<f32>>,
    v_cache: Vec<CudaSlice<f32>>,
    bufs: Buffers,
    ws: ZipperWorkspace,
    results: CudaSlice<cz_item_result>,
    streamer: Option<Streamer>,
    pos: usize,
    stats: RunStats,
    memory: MemoryReport,
}

fn dev_err(e: impl std::fmt::Display) -> LlmError {
    LlmError::Device(e.to_string())
}

/// The bytes of a u16 slice (little-endian on host and device).
fn u16_bytes(v: &[u16]) -> &[u8] {
    // SAFETY: u16 has no padding and any byte pattern is a valid u8; the length covers exactly
    // the slice's memory, which stays borrowed for the returned lifetime.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

fn upload<T: cudarc::driver::DeviceRepr + Clone + Unpin + Default>(
    s: &Arc<CudaStream>,
    v: &[T],
    what: &str,
) -> Result<CudaSlice<T>, LlmError> {
    if v.is_empty() {
        return s.clone_htod(&[T::default()]).map_err(|e| dev_err(format!("copying {what}: {e}")));
    }
    s.clone_htod(v).map_err(|e| dev_err(format!("copying {what}: {e}")))
}

fn zeros<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits>(
    s: &Arc<CudaStream>,
    n: usize,
    what: &str,
) -> Result<CudaSlice<T>, LlmError> {
    s.alloc_zeros::<T>(n.max(1)).map_err(|e| dev_err(format!("allocating {what} ({n} values): {e}")))
}

/// The linears of `w` in forward order.
fn linears_of(w: &ModelWeights) -> Vec<&LinearWeight> {
    let mut v: Vec<&LinearWeight> = w.blocks.iter().flat_map(|b| b.linears.iter()).collect();
    if let Some(o) = &w.output {
        v.push(o);
    }
    v
}

impl GpuLlama {
    /// Uploads `w` as `opts` asks. Fails with a message naming the sizes when the fixed parts
    /// alone exceed the VRAM budget, or when the model does not fit without streaming.
    pub fn new(gpu: Arc<Gpu>, w: &ModelWeights, opts: GpuLlamaOptions) -> Result<Self, LlmError> {
        let c = w.config.clone();
        let s = gpu.stream().clone();
        if opts.max_context == 0 || opts.max_batch == 0 || opts.stages == 1 {
            return Err(LlmError::InvalidArgument(
                "max_context and max_batch must be >= 1, stages 0 (automatic) or >= 2".into(),
            ));
        }
        if c.n_head % c.n_head_kv != 0 || c.rope_dim > c.head_dim || c.rope_dim % 2 != 0 {
            return Err(LlmError::Model("heads, kv heads or rope dimension are inconsistent".into()));
        }
        let lws = linears_of(w);
        for l in &lws {
            match (opts.mode, l) {
                (WeightMode::F16, LinearWeight::Packed(p)) => {
                    return Err(LlmError::InvalidArgument(format!(
                        "{}: f16 mode needs dense weights, this one is packed",
                        p.name
                    )))
                }
                (_, LinearWeight::Dense { name, cols, .. }) if cols % 8 != 0 => {
                    return Err(LlmError::Unsupported(format!(
                        "{name}: the dense GEMV needs a column count that is a multiple of 8, not {cols}"
                    )))
                }
                _ => {}
            }
        }
        let f32b = 4usize;
        let (d, q_dim, kv, ff, vocab, b) =
            (c.n_embd, c.n_head * c.head_dim, c.kv_dim(), c.n_ff, c.vocab_size, opts.max_batch);
        let kv_cache_bytes = 2 * c.n_layer * opts.max_context * kv * f32b;
        let act_bytes = f32b * b * (3 * d + 2 * q_dim + 2 * ff + vocab + c.rope_dim) + 4 * b;
        let emb_bytes = 2 * w.embedding.len() + f32b * d * (2 * c.n_layer + 1);
        let ws_slots = ZipperWorkspace::default_slots(&gpu);
        let ws_bytes = ws_slots * super::decode::workspace_slot_size() as usize;

        // Streamable parts per linear: (a = dense weight or base, b = delta), with their sizes.
        let packed_delta = opts.mode == WeightMode::Zipper;
        let parts: Vec<((usize, bool), (usize, bool))> = lws
            .iter()
            .map(|l| match l {
                LinearWeight::Dense { bits, .. } => {
                    ((2 * bits.len(), opts.mode == WeightMode::F16 && opts.streaming != Streaming::None), (0, false))
                }
                LinearWeight::Packed(p) => (
                    (p.base.len(), opts.streaming == Streaming::All),
                    (if packed_delta { p.delta.len() } else { 0 }, packed_delta && opts.streaming != Streaming::None),
                ),
            })
            .collect();
        let small: usize = lws
            .iter()
            .map(|l| match l {
                LinearWeight::Dense { .. } => 0,
                LinearWeight::Packed(p) => {
                    4 * p.scales.len()
                        + 8 * p.tile_offsets.len()
                        + 4 * p.tile_rows.len()
                        + 16 * p.tiles()
                        + super::zipper::dictionary_device_bytes(p)
                }
            })
            .sum();
        let fixed_weights: usize =
            parts.iter().map(|((a, sa), (bb, sb))| (if *sa { 0 } else { *a }) + (if *sb { 0 } else { *bb })).sum();
        let max_stage = parts
            .iter()
            .map(|((a, sa), (bb, sb))| match (sa, sb) {
                (_, true) => (if *sa { a.next_multiple_of(256) } else { 0 }) + bb,
                (true, false) => *a,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        let any_streamable = max_stage > 0;
        // Ring depth: what the caller asks, or enough buffers for ~64 MiB of small layers (at
        // least 3, at most 16), so many small copies queue ahead of compute.
        let stages = match opts.stages {
            0 if any_streamable => ((64usize << 20) / max_stage).clamp(3, 16),
            0 => 3,
            n => n,
        };
        let staging_est = if any_streamable { stages * max_stage } else { 0 };
        // Slack for one-element allocations standing in for empty tables.
        let slack = 4096 + 64 * lws.len();
        let fixed = kv_cache_bytes + act_bytes + emb_bytes + ws_bytes + small + fixed_weights + staging_est + slack;
        // Which streamable parts stay resident: within the budget, spread evenly over the forward
        // order (each part kept when its share of the budget has accumulated), so the copy
        // stream has work while resident layers compute.
        let mut keep: Vec<(bool, bool)> = parts.iter().map(|((_, sa), (_, sb))| (!sa, !sb)).collect();
        if let Some(budget) = opts.vram_budget {
            if fixed > budget {
                return Err(LlmError::InvalidArgument(format!(
                    "VRAM budget {budget} bytes is below the engine's fixed needs of {fixed} bytes (KV cache {kv_cache_bytes}, activations {act_bytes}, embedding and norms {emb_bytes}, decoder workspace {ws_bytes}, tables {small}, non-streamable weights {fixed_weights}, staging {staging_est}){}",
                    if any_streamable { "" } else { "; --stream or --stream-all makes weights streamable" }
                )));
            }
            let mut left = budget - fixed;
            let streamable: usize =
                parts.iter().map(|((a, sa), (bb, sb))| (if *sa { *a } else { 0 }) + (if *sb { *bb } else { 0 })).sum();
            let share = if streamable == 0 { 0.0 } else { (left as f64 / streamable as f64).min(1.0) };
            let mut credit = 0f64;
            for (k, ((a, sa), (bb, sb))) in keep.iter_mut().zip(&parts) {
                for (keep_part, bytes, streamable_part) in [(&mut k.0, *a, *sa), (&mut k.1, *bb, *sb)] {
                    if !streamable_part {
                        continue;
                    }
                    credit += share * bytes as f64;
                    if credit >= bytes as f64 && bytes <= left {
                        *keep_part = true;
                        left -= bytes;
                        credit -= bytes as f64;
                    }
                }
            }
        }

        // Upload.
        let embedding = upload(&s, &w.embedding, "the embedding")?;
        let attn_norm = w.blocks.iter().map(|bk| upload(&s, &bk.attn_norm, "a norm")).collect::<Result<Vec<_>, _>>()?;
        let ffn_norm = w.blocks.iter().map(|bk| upload(&s, &bk.ffn_norm, "a norm")).collect::<Result<Vec<_>, _>>()?;
        let output_norm = upload(&s, &w.output_norm, "the output norm")?;
        let mut pinned: HashMap<(usize, u8), Arc<PinnedHostSlice<u8>>> = HashMap::new();
        let mut pin = |key: (usize, u8), bytes: &[u8]| -> Result<Arc<PinnedHostSlice<u8>>, LlmError> {
            if let Some(p) = pinned.get(&key) {
                return Ok(p.clone());
            }
            let p = Arc::new(gpu.pinned_copy(bytes).map_err(dev_err)?);
            pinned.insert(key, p.clone());
            Ok(p)
        };
        let mut lins = Vec::with_capacity(lws.len());
        let mut results_total = 0usize;
        let mut resident_weight_bytes = emb_bytes;
        for (l, &(ka, kb)) in lws.iter().zip(&keep) {
            let lin = match l {
                LinearWeight::Dense { name, rows, cols, bits } => {
                    let bytes = u16_bytes(bits);
                    let (wdev, host_a) = if ka {
                        resident_weight_bytes += bytes.len();
                        (Some(upload(&s, bytes, name)?), None)
                    } else {
                        (None, Some(pin((Arc::as_ptr(bits) as *const u16 as usize, 0), bytes)?))
                    };
                    Lin {
                        name: name.clone(),
                        rows: *rows,
                        cols: *cols,
                        kind: Kind::Dense { w: wdev, bytes: bytes.len() },
                        host_a,
                        host_b: None,
                    }
                }
                LinearWeight::Packed(p) => {
                    let base_only = opts.mode == WeightMode::Int8;
                    // An empty delta has nothing to stream and stays "resident".
                    let keep_parts = Residency { base: ka, delta: (kb || p.delta.is_empty()) && !base_only };
                    let dw = gpu.zipper_upload_parts(&s, p, keep_parts).map_err(dev_err)?;
                    resident_weight_bytes += dw.device_bytes();
                    let key = Arc::as_ptr(p) as usize;
                    let host_a = if ka { None } else { Some(pin((key, 1), &p.base)?) };
                    let host_b =
                        if kb || base_only || p.delta.is_empty() { None } else { Some(pin((key, 2), &p.delta)?) };
                    let results_at = results_total;
                    results_total += p.tiles();
                    Lin {
                        name: p.name.clone(),
                        rows: p.rows,
                        cols: p.cols,
                        kind: Kind::Packed { w: Box::new(dw), base_only, results_at },
                        host_a,
                        host_b,
                    }
                }
            };
            lins.push(lin);
        }
        let order: Vec<usize> = (0..lins.len()).filter(|&i| lins[i].streamed_bytes() > 0).collect();
        let stage_bytes = order.iter().map(|&i| lins[i].stage_bytes()).max().unwrap_or(0);
        let streamer = if order.is_empty() {
            None
        } else {
            let buffers =
                (0..stages).map(|_| zeros::<u8>(&s, stage_bytes, "a staging buffer")).collect::<Result<Vec<_>, _>>()?;
            Some(Streamer {
                copy: gpu.new_stream().map_err(dev_err)?,
                order,
                stages: buffers,
                ready: (0..stages)
                    .map(|_| gpu.context().new_event(None))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(dev_err)?,
                free: (0..stages)
                    .map(|_| gpu.context().new_event(None))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(dev_err)?,
                free_recorded: vec![false; stages],
                time_copies: opts.time_copies,
                pending: VecDeque::new(),
                used: Vec::new(),
                next_copy: 0,
                next_use: 0,
            })
        };
        let streamed_layers = streamer.as_ref().map_or(0, |st| st.order.len());
        let streamed_bytes_per_forward: usize = lins.iter().map(Lin::streamed_bytes).sum();
        let staging_bytes = streamer.as_ref().map_or(0, |st| st.stages.len() * stage_bytes.max(1));
        let k_cache = (0..c.n_layer)
            .map(|_| zeros::<f32>(&s, opts.max_context * kv, "the KV cache"))
            .collect::<Result<Vec<_>, _>>()?;
        let v_cache = (0..c.n_layer)
            .map(|_| zeros::<f32>(&s, opts.max_context * kv, "the KV cache"))
            .collect::<Result<Vec<_>, _>>()?;
        let bufs = Buffers {
            ids: zeros(&s, b, "token ids")?,
            cos: zeros(&s, b * c.rope_dim / 2, "RoPE table")?,
            sin: zeros(&s, b * c.rope_dim / 2, "RoPE table")?,
            x: zeros(&s, b * d, "activations")?,
            acts: vec![
                zeros(&s, b * d, "activations")?,
                zeros(&s, b * q_dim, "activations")?,
                zeros(&s, b * q_dim, "activations")?,
                zeros(&s, b * d, "activations")?,
                zeros(&s, b * ff, "activations")?,
                zeros(&s, b * ff, "activations")?,
                zeros(&s, b * vocab, "logits")?,
            ],
        };
        let ws = ZipperWorkspace::new(&gpu, ws_slots, 1).map_err(dev_err)?;
        let results = zeros::<cz_item_result>(&s, results_total, "tile results")?;
        // Attention keeps one score per position in shared memory, in whole 16-byte words (see
        // `attention`).
        let att_smem = 4 * opts.max_context.next_multiple_of(4);
        let f = gpu.function(Module::Llm, "llm_attention").map_err(dev_err)?;
        let static_smem = f.shared_size_bytes().map_err(dev_err)?.max(0) as usize;
        let limit = gpu.props().max_shared_per_block_optin.saturating_sub(static_smem);
        if att_smem > limit {
            return Err(LlmError::Unsupported(format!(
                "a context of {} positions needs {att_smem} bytes of shared memory for attention scores; the device allows {limit}",
                opts.max_context
            )));
        }
        f.set_attribute(sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, limit as i32)
            .map_err(dev_err)?;
        s.synchronize().map_err(dev_err)?;
        // What was allocated (empty buffers hold one element).
        let engine_bytes = resident_weight_bytes
            + results.len() * std::mem::size_of::<cz_item_result>()
            + k_cache.iter().chain(&v_cache).map(|c| 4 * c.len()).sum::<usize>()
            + 4 * (bufs.x.len() + bufs.cos.len() + bufs.sin.len() + bufs.ids.len())
            + bufs.acts.iter().map(|a| 4 * a.len()).sum::<usize>()
            + ws.device_bytes()
            + staging_bytes;
        let memory = MemoryReport {
            engine_bytes,
            resident_weight_bytes,
            streamed_bytes_per_forward,
            kv_cache_bytes,
            staging_bytes,
            streamed_layers,
            layers: lins.len(),
        };
        Ok(Self {
            gpu,
            config: c,
            opts,
            embedding,
            attn_norm,
            ffn_norm,
            output_norm,
            lins,
            k_cache,
            v_cache,
            bufs,
            ws,
            results,
            streamer,
            pos: 0,
            stats: RunStats::default(),
            memory,
        })
    }

    pub fn memory(&self) -> &MemoryReport {
        &self.memory
    }

    pub fn options(&self) -> &GpuLlamaOptions {
        &self.opts
    }

    /// Device memory in use on `gpu` by every process (total − free), from the driver.
    pub fn device_used(gpu: &Gpu) -> Result<usize, LlmError> {
        gpu.context().bind_to_thread().map_err(dev_err)?;
        let (free, total) = gpu.context().mem_get_info().map_err(dev_err)?;
        Ok(total - free)
    }

    /// The counters since the last call, reset.
    pub fn take_stats(&mut self) -> RunStats {
        std::mem::take(&mut self.stats)
    }

    /// Positions in the KV cache.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Drops queued copies and realigns the streaming ring with the start of a forward pass
    /// (after an error part-way through one).
    fn reset_streaming(&mut self) {
        let s = self.gpu.stream().clone();
        let _ = s.synchronize();
        if let Some(st) = &mut self.streamer {
            let _ = st.copy.synchronize();
            st.pending.clear();
            st.used.clear();
            st.free_recorded.iter_mut().for_each(|r| *r = false);
            st.next_copy = 0;
            st.next_use = 0;
        }
    }

    fn forward_inner(&mut self, tokens: &[u32], all_logits: bool) -> Result<Vec<f32>, LlmError> {
        let c = self.config.clone();
        if tokens.is_empty() {
            return Err(LlmError::InvalidArgument("forward needs at least one token".into()));
        }
        if let Some(&t) = tokens.iter().find(|&&t| t as usize >= c.vocab_size) {
            return Err(LlmError::InvalidArgument(format!(
                "token id {t} is outside the vocabulary of {}",
                c.vocab_size
            )));
        }
        if self.pos + tokens.len() > self.opts.max_context.min(c.context_length) {
            return Err(LlmError::InvalidArgument(format!(
                "{} positions exceed the context of {} (engine max_context {}, model {})",
                self.pos + tokens.len(),
                self.opts.max_context.min(c.context_length),
                self.opts.max_context,
                c.context_length
            )));
        }
        let mut out = Vec::new();
        let chunks: Vec<&[u32]> = tokens.chunks(self.opts.max_batch).collect();
        for (i, part) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            if all_logits || last {
                out.extend(self.forward_chunk(part, all_logits)?);
            } else {
                self.forward_chunk(part, false)?;
            }
        }
        Ok(out)
    }

    /// One piece of at most max_batch tokens at positions pos..; returns the logits asked for.
    fn forward_chunk(&mut self, tokens: &[u32], all_logits: bool) -> Result<Vec<f32>, LlmError> {
        let c = self.config.clone();
        let t = tokens.len();
        let pos0 = self.pos;
        let gpu = self.gpu.clone();
        let s = gpu.stream().clone();
        let (d, q_dim, kv, ff, vocab) = (c.n_embd, c.n_head * c.head_dim, c.kv_dim(), c.n_ff, c.vocab_size);
        let pairs = c.rope_dim / 2;
        let (cos, sin) = crate::llm::model::rope_cos_sin(&c, pos0, t);
        {
            let b = &mut self.bufs;
            s.memcpy_htod(tokens, &mut b.ids.slice_mut(..t)).map_err(dev_err)?;
            if pairs > 0 {
                s.memcpy_htod(&cos, &mut b.cos.slice_mut(..t * pairs)).map_err(dev_err)?;
                s.memcpy_htod(&sin, &mut b.sin.slice_mut(..t * pairs)).map_err(dev_err)?;
            }
        }
        let k = Kernels { gpu: &gpu, s: &s };
        k.embed(&self.embedding, &self.bufs.ids.slice(..t), t, d, vocab, &mut self.bufs.x.slice_mut(..t * d))?;
        for l in 0..c.n_layer {
            let li = l * 7;
            k.rmsnorm(
                &self.bufs.x.slice(..t * d),
                &self.attn_norm[l],
                &mut self.bufs.acts[Act::H as usize].slice_mut(..t * d),
                t,
                d,
                c.rms_eps,
            )?;
            self.linear(li, Act::H, t, Dst::Act(Act::Q))?;
            self.linear(li + 1, Act::H, t, Dst::K(l, pos0))?;
            self.linear(li + 2, Act::H, t, Dst::V(l, pos0))?;
            if pairs > 0 {
                let (cs, sn) = (self.bufs.cos.slice(..t * pairs), self.bufs.sin.slice(..t * pairs));
                k.rope(
                    &mut self.bufs.acts[Act::Q as usize].slice_mut(..t * q_dim),
                    &cs,
                    &sn,
                    t,
                    c.n_head,
                    c.head_dim,
                    pairs,
                    q_dim,
                )?;
                k.rope(
                    &mut self.k_cache[l].slice_mut(pos0 * kv..(pos0 + t) * kv),
                    &cs,
                    &sn,
                    t,
                    c.n_head_kv,
                    c.head_dim,
                    pairs,
                    kv,
                )?;
            }
            {
                let (qb, ob) = read_write(&mut self.bufs.acts, Act::Q as usize, Act::Att as usize);
                k.attention(
                    &qb.slice(..t * q_dim),
                    &self.k_cache[l].slice(..(pos0 + t) * kv),
                    &self.v_cache[l].slice(..(pos0 + t) * kv),
                    &mut ob.slice_mut(..t * q_dim),
                    pos0,
                    t,
                    &c,
                )?;
            }
            self.linear(li + 3, Act::Att, t, Dst::Act(Act::O))?;
            k.add(&mut self.bufs.x.slice_mut(..t * d), &self.bufs.acts[Act::O as usize].slice(..t * d))?;
            k.rmsnorm(
                &self.bufs.x.slice(..t * d),
                &self.ffn_norm[l],
                &mut self.bufs.acts[Act::H as usize].slice_mut(..t * d),
                t,
                d,
                c.rms_eps,
            )?;
            self.linear(li + 4, Act::H, t, Dst::Act(Act::Gate))?;
            self.linear(li + 5, Act::H, t, Dst::Act(Act::Up))?;
            {
                let (ub, gb) = read_write(&mut self.bufs.acts, Act::Up as usize, Act::Gate as usize);
                k.silu_mul(&mut gb.slice_mut(..t * ff), &ub.slice(..t * ff))?;
            }
            self.linear(li + 6, Act::Gate, t, Dst::Act(Act::O))?;
            k.add(&mut self.bufs.x.slice_mut(..t * d), &self.bufs.acts[Act::O as usize].slice(..t * d))?;
        }
        let (r0, rows) = if all_logits { (0, t) } else { (t - 1, 1) };
        k.rmsnorm(
            &self.bufs.x.slice(r0 * d..t * d),
            &self.output_norm,
            &mut self.bufs.acts[Act::H as usize].slice_mut(..rows * d),
            rows,
            d,
            c.rms_eps,
        )?;
        if c.n_layer * 7 < self.lins.len() {
            self.linear(c.n_layer * 7, Act::H, rows, Dst::Act(Act::Logits))?;
        } else {
            let e = self.embedding.slice(..);
            let (hb, lb) = read_write(&mut self.bufs.acts, Act::H as usize, Act::Logits as usize);
            k.gemv(
                &e,
                2 * self.embedding.len(),
                vocab,
                d,
                &hb.slice(..rows * d),
                rows,
                &mut lb.slice_mut(..rows * vocab),
            )?;
        }
        let logits = s.clone_dtoh(&self.bufs.acts[Act::Logits as usize].slice(..rows * vocab)).map_err(dev_err)?;
        // Tile statuses of every packed layer of this pass.
        if self.lins.iter().any(|l| matches!(l.kind, Kind::Packed { .. })) {
            let r = s.clone_dtoh(&self.results).map_err(dev_err)?;
            for lin in &self.lins {
                if let Kind::Packed { w, results_at, .. } = &lin.kind {
                    let tiles = w.shape().tiles as usize;
                    check_results(&lin.name, &r[*results_at..*results_at + tiles]).map_err(dev_err)?;
                }
            }
        }
        if let Some(st) = &mut self.streamer {
            for cp in st.used.drain(..) {
                if let Some((a, b)) = &cp.timing {
                    self.stats.copy_ms += f64::from(elapsed_ms(a, b).map_err(dev_err)?);
                }
                self.stats.bytes_streamed += cp.bytes;
            }
        }
        self.pos += t;
        self.stats.forwards += 1;
        self.stats.tokens += t as u64;
        Ok(logits)
    }

    /// Runs linear `i` from `src` (batch rows) into `dst`, taking its streamed parts from the
    /// ring.
    fn linear(&mut self, i: usize, src: Act, batch: usize, dst: Dst) -> Result<(), LlmError> {
        let gpu = self.gpu.clone();
        let s = gpu.stream().clone();
        let (rows, cols) = (self.lins[i].rows, self.lins[i].cols);
        // Streamed parts: make sure this layer's copy is queued (and a few after it), and order
        // the compute stream after it.
        let mut stage = None;
        if self.lins[i].streamed_bytes() > 0 {
            let st = self.streamer.as_mut().expect("streamed layers have a streamer");
            let n = st.order.len() as u64;
            let u = st.next_use;
            if st.order[(u % n) as usize] != i {
                return Err(LlmError::Device(format!("streaming ring out of order at {}", self.lins[i].name)));
            }
            Self::enqueue_until(&gpu, st, &self.lins, u + 1)?;
            let cp = st.pending.pop_front().expect("copy enqueued");
            let k = (u % st.stages.len() as u64) as usize;
            s.wait(&st.ready[k]).map_err(dev_err)?;
            st.used.push(cp);
            stage = Some(k);
        }
        {
            let lin = &self.lins[i];
            let (x_len, y_len) = (batch * cols, batch * rows);
            let kv = self.config.kv_dim();
            let (xb, mut y) = match dst {
                Dst::Act(a) => {
                    let (xb, yb) = read_write(&mut self.bufs.acts, src as usize, a as usize);
                    (xb, yb.slice_mut(..y_len))
                }
                Dst::K(l, p) => (&self.bufs.acts[src as usize], self.k_cache[l].slice_mut(p * kv..p * kv + y_len)),
                Dst::V(l, p) => (&self.bufs.acts[src as usize], self.v_cache[l].slice_mut(p * kv..p * kv + y_len)),
            };
            let x = xb.slice(..x_len);
            let stage_buf = stage.map(|k| &self.streamer.as_ref().expect("streamer").stages[k]);
            let k = Kernels { gpu: &gpu, s: &s };
            match &lin.kind {
                Kind::Dense { w, bytes } => {
                    let wv = match (w, stage_buf) {
                        (Some(w), _) => w.slice(..),
                        (None, Some(sb)) => sb.slice(..*bytes),
                        (None, None) => {
                            return Err(LlmError::Device(format!("{}: weight neither resident nor staged", lin.name)))
                        }
                    };
                    k.gemv(&wv, *bytes, rows, cols, &x, batch, &mut y)?;
                }
                Kind::Packed { w, base_only, results_at } => {
                    let base_view = match (&lin.host_a, stage_buf) {
                        (Some(_), Some(sb)) => Some(sb.slice(..w.base_bytes())),
                        _ => None,
                    };
                    let delta_view = match (&lin.host_b, stage_buf) {
                        (Some(_), Some(sb)) => Some(sb.slice(lin.b_offset()..lin.b_offset() + w.delta_bytes())),
                        _ => None,
                    };
                    let parts =
                        LaunchParts { base: base_view.as_ref(), delta: delta_view.as_ref(), base_only: *base_only };
                    let tiles = w.shape().tiles as usize;
                    let mut res = self.results.slice_mut(*results_at..*results_at + tiles);
                    let (slots, nslots) = self.ws.slots_mut();
                    gpu.zipper_linear_parts(&s, w, &parts, &x, batch, &mut y, slots, nslots, &mut res)
                        .map_err(dev_err)?;
                }
            }
        }
        if let Some(k) = stage {
            let st = self.streamer.as_mut().expect("streamer");
            st.free[k].record(&s).map_err(dev_err)?;
            st.free_recorded[k] = true;
            st.next_use += 1;
            let ahead = st.next_use + st.stages.len() as u64 - 1;
            Self::enqueue_until(&gpu, st, &self.lins, ahead)?;
        }
        Ok(())
    }

    /// Enqueues ring copies until `next_copy >= until` (never more than `stages` ahead of
    /// the next use).
    fn enqueue_until(gpu: &Gpu, st: &mut Streamer, lins: &[Lin], until: u64) -> Result<(), LlmError> {
        let n = st.order.len() as u64;
        let stages = st.stages.len() as u64;
        while st.next_copy < until && st.next_copy < st.next_use + stages {
            let c = st.next_copy;
            let lin = &lins[st.order[(c % n) as usize]];
            let k = (c % stages) as usize;
            if st.free_recorded[k] {
                st.copy.wait(&st.free[k]).map_err(dev_err)?;
            }
            let start = if st.time_copies { Some(gpu.timing_event(&st.copy).map_err(dev_err)?) } else { None };
            let buf = &mut st.stages[k];
            if let Some(a) = &lin.host_a {
                st.copy.memcpy_htod(&**a, &mut buf.slice_mut(..a.len())).map_err(dev_err)?;
            }
            if let Some(bp) = &lin.host_b {
                let off = lin.b_offset();
                st.copy.memcpy_htod(&**bp, &mut buf.slice_mut(off..off + bp.len())).map_err(dev_err)?;
            }
            st.ready[k].record(&st.copy).map_err(dev_err)?;
            let timing = match start {
                Some(a) => Some((a, gpu.timing_event(&st.copy).map_err(dev_err)?)),
                None => None,
            };
            st.pending.push_back(Copy { timing, bytes: lin.streamed_bytes() as u64 });
            st.next_copy += 1;
        }
        Ok(())
    }
}

impl Drop for GpuLlama {
    /// The ring keeps copies for the next pass in flight: wait for both streams before the
    /// staging buffers, weights and pinned sources are freed.
    fn drop(&mut self) {
        if let Some(st) = &self.streamer {
            let _ = st.copy.synchronize();
        }
        let _ = self.gpu.stream().synchronize();
    }
}

impl Session for GpuLlama {
    fn config(&self) -> &LlamaConfig {
        &self.config
    }

    fn reset(&mut self) -> Result<(), LlmError> {
        self.pos = 0;
        Ok(())
    }

    fn forward(&mut self, tokens: &[u32], all_logits: bool) -> Result<Vec<f32>, LlmError> {
        let r = self.forward_inner(tokens, all_logits);
        if r.is_err() {
            self.reset_streaming();
        }
        r
    }
}

/// Where a linear layer writes.
/// Host-to-device copy bandwidth from pinned memory in GB/s: the median of `runs` timed copies
/// of `bytes` (CUDA events) after one warm-up copy.
pub fn pcie_h2d_gbps(gpu: &Gpu, bytes: usize, runs: usize) -> Result<f64, LlmError> {
    let s = gpu.stream().clone();
    let host = gpu.pinned_copy(&vec![0x5au8; bytes.max(1)]).map_err(dev_err)?;
    let mut dev = zeros::<u8>(&s, bytes.max(1), "a bandwidth probe")?;
    s.memcpy_htod(&host, &mut dev).map_err(dev_err)?;
    let mut ms = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let a = gpu.timing_event(&s).map_err(dev_err)?;
        s.memcpy_htod(&host, &mut dev).map_err(dev_err)?;
        let b = gpu.timing_event(&s).map_err(dev_err)?;
        s.synchronize().map_err(dev_err)?;
        ms.push(f64::from(elapsed_ms(&a, &b).map_err(dev_err)?));
    }
    ms.sort_by(f64::total_cmp);
    Ok(bytes.max(1) as f64 / (ms[ms.len() / 2] * 1e-3) / 1e9)
}

#[derive(Clone, Copy)]
enum Dst {
    Act(Act),
    /// Key rows of layer .0 from position .1.
    K(usize, usize),
    V(usize, usize),
}

/// Launch wrappers for `cuda/llm.cu`; each checks the sizes its kernel's contract needs.
struct Kernels<'a> {
    gpu: &'a Gpu,
    s: &'a Arc<CudaStream>,
}

fn elementwise_grid(n: usize) -> u32 {
    n.div_ceil(256).clamp(1, 4096) as u32
}

impl Kernels<'_> {
    fn embed(
        &self,
        table: &CudaSlice<u16>,
        ids: &CudaView<'_, u32>,
        n: usize,
        d: usize,
        vocab: usize,
        x: &mut CudaViewMut<'_, f32>,
    ) -> Result<(), LlmError> {
        if ids.len() < n || x.len() < n * d || table.len() < vocab * d {
            return Err(LlmError::Device("embedding sizes".into()));
        }
        let f = self.gpu.function(Module::Llm, "llm_embed").map_err(dev_err)?;
        let cfg = LaunchConfig { grid_dim: (n as u32, 1, 1), block_dim: (128, 1, 1), shared_mem_bytes: 0 };
        let (d32, v32) = (d as u32, vocab as u32);
        let mut b = self.s.launch_builder(&f);
        b.arg(table).arg(ids).arg(&d32).arg(&v32).arg(x);
        // SAFETY: n blocks read ids[0..n) (ids holds >= n) and table rows below vocab (table
        // holds vocab × d), and write x[0 .. n·d) (x holds >= n·d); checked above.
        unsafe { b.launch(cfg) }.ctx("launching llm_embed").map_err(dev_err)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn rmsnorm(
        &self,
        x: &CudaView<'_, f32>,
        w: &CudaSlice<f32>,
        out: &mut CudaViewMut<'_, f32>,
        rows: usize,
        d: usize,
        eps: f32,
    ) -> Result<(), LlmError> {
        if x.len() < rows * d || out.len() < rows * d || w.len() < d {
            return Err(LlmError::Device("rmsnorm sizes".into()));
        }
        let f = self.gpu.function(Module::Llm, "llm_rmsnorm").map_err(dev_err)?;
        let cfg = LaunchConfig { grid_dim: (rows as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let d32 = d as u32;
        let mut b = self.s.launch_builder(&f);
        b.arg(x).arg(w).arg(out).arg(&d32).arg(&eps);
        // SAFETY: block r reads x[r·d .. (r+1)·d) and w[0..d), writes out[r·d .. (r+1)·d) for
        // r < rows; all three hold that much (checked above).
        unsafe { b.launch(cfg) }.ctx("launching llm_rmsnorm").map_err(dev_err)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn rope(
        &self,
        x: &mut CudaViewMut<'_, f32>,
        cos: &CudaView<'_, f32>,
        sin: &CudaView<'_, f32>,
        n: usize,
        heads: usize,
        head_dim: usize,
        pairs: usize,
        stride: usize,
    ) -> Result<(), LlmError> {
        if x.len() < (n - 1) * stride + heads * head_dim
            || cos.len() < n * pairs
            || sin.len() < n * pairs
            || 2 * pairs > head_dim
        {
            return Err(LlmError::Device("rope sizes".into()));
        }
        let total = n * heads * pairs;
        let f = self.gpu.function(Module::Llm, "llm_rope").map_err(dev_err)?;
        let cfg =
            LaunchConfig { grid_dim: (total.div_ceil(256) as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let (n32, h32, hd32, p32, s32) = (n as u32, heads as u32, head_dim as u32, pairs as u32, stride as u32);
        let mut b = self.s.launch_builder(&f);
        b.arg(x).arg(cos).arg(sin).arg(&n32).arg(&h32).arg(&hd32).arg(&p32).arg(&s32);
        // SAFETY: thread k < n·heads·pairs touches x[t·stride + h·head_dim + 2i + {0,1}] with
        // 2i + 1 < head_dim, inside (n−1)·stride + heads·head_dim <= x.len(), and reads
        // cos/sin[t·pairs + i] < n·pairs; checked above.
        unsafe { b.launch(cfg) }.ctx("launching llm_rope").map_err(dev_err)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        q: &CudaView<'_, f32>,
        kc: &CudaView<'_, f32>,
        vc: &CudaView<'_, f32>,
        out: &mut CudaViewMut<'_, f32>,
        pos0: usize,
        t: usize,
        c: &LlamaConfig,
    ) -> Result<(), LlmError> {
        let (q_dim, kv) = (c.n_head * c.head_dim, c.kv_dim());
        if q.len() < t * q_dim || out.len() < t * q_dim || kc.len() < (pos0 + t) * kv || vc.len() < (pos0 + t) * kv {
            return Err(LlmError::Device("attention sizes".into()));
        }
        let f = self.gpu.function(Module::Llm, "llm_attention").map_err(dev_err)?;
        // Whole 16-byte words: the compiled kernel reads the scores 4 at a time, also the last
        // 1-3 (compute-sanitizer memcheck reported those reads past an allocation of exactly
        // pos0 + t scores).
        let smem = 4 * (pos0 + t).next_multiple_of(4);
        let cfg = LaunchConfig {
            grid_dim: (c.n_head as u32, t as u32, 1),
            block_dim: (128, 1, 1),
            shared_mem_bytes: smem as u32,
        };
        let (p32, h32, kvh32, hd32) = (pos0 as u32, c.n_head as u32, c.n_head_kv as u32, c.head_dim as u32);
        let scale = 1.0f32 / (c.head_dim as f32).sqrt();
        let mut b = self.s.launch_builder(&f);
        b.arg(q).arg(kc).arg(vc).arg(out).arg(&p32).arg(&h32).arg(&kvh32).arg(&hd32).arg(&scale);
        // SAFETY: block (h, t) reads q row t, cache rows 0..=pos0+t (kc/vc hold (pos0+t)·kv_dim
        // floats), writes out row t's head h (out holds t·q_dim); n_head is a multiple of
        // n_head_kv (checked in GpuLlama::new); its pos0+t+1 <= pos0+t_len scores, rounded up
        // to whole 16-byte words, fit in the dynamic shared memory given here, which
        // GpuLlama::new checked against the device's opt-in limit (max_context rounded alike)
        // and set as the function's maximum.
        unsafe { b.launch(cfg) }.ctx("launching llm_attention").map_err(dev_err)?;
        Ok(())
    }

    fn silu_mul(&self, g: &mut CudaViewMut<'_, f32>, u: &CudaView<'_, f32>) -> Result<(), LlmError> {
        let n = g.len() as u64;
        if u.len() < g.len() {
            return Err(LlmError::Device("silu sizes".into()));
        }
        let f = self.gpu.function(Module::Llm, "llm_silu_mul").map_err(dev_err)?;
        let cfg =
            LaunchConfig { grid_dim: (elementwise_grid(g.len()), 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let mut b = self.s.launch_builder(&f);
        b.arg(g).arg(u).arg(&n);
        // SAFETY: grid-stride over i < n = g.len() <= u.len().
        unsafe { b.launch(cfg) }.ctx("launching llm_silu_mul").map_err(dev_err)?;
        Ok(())
    }

    fn add(&self, x: &mut CudaViewMut<'_, f32>, y: &CudaView<'_, f32>) -> Result<(), LlmError> {
        let n = x.len() as u64;
        if y.len() < x.len() {
            return Err(LlmError::Device("add sizes".into()));
        }
        let f = self.gpu.function(Module::Llm, "llm_add").map_err(dev_err)?;
        let cfg =
            LaunchConfig { grid_dim: (elementwise_grid(x.len()), 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let mut b = self.s.launch_builder(&f);
        b.arg(x).arg(y).arg(&n);
        // SAFETY: grid-stride over i < n = x.len() <= y.len().
        unsafe { b.launch(cfg) }.ctx("launching llm_add").map_err(dev_err)?;
        Ok(())
    }

    /// `w` is `w_bytes` bytes of f16 bits (rows × cols) at a 256-byte aligned address.
    #[allow(clippy::too_many_arguments)]
    fn gemv<T>(
        &self,
        w: &CudaView<'_, T>,
        w_bytes: usize,
        rows: usize,
        cols: usize,
        x: &CudaView<'_, f32>,
        batch: usize,
        y: &mut CudaViewMut<'_, f32>,
    ) -> Result<(), LlmError>
    where
        T: cudarc::driver::DeviceRepr,
    {
        if cols % 8 != 0
            || w_bytes < 2 * rows * cols
            || w.len() * std::mem::size_of::<T>() < w_bytes
            || x.len() < batch * cols
            || y.len() < batch * rows
        {
            return Err(LlmError::Device(format!("GEMV sizes: {rows} × {cols}, batch {batch}")));
        }
        let f = self.gpu.function(Module::Llm, "llm_gemv_f16").map_err(dev_err)?;
        let cfg =
            LaunchConfig { grid_dim: (rows.div_ceil(8) as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let (b32, r32, c32) = (batch as u32, rows as u32, cols as u32);
        let mut b = self.s.launch_builder(&f);
        b.arg(x).arg(y).arg(&b32).arg(&r32).arg(&c32).arg(&r32).arg(w);
        // SAFETY: warps read W rows r < rows (rows × cols f16 = 2·rows·cols <= the view's
        // bytes) with 16-byte loads from the view's start, which is an allocation start or a
        // staging buffer start (256-byte aligned) and cols % 8 == 0 keeps row starts 16-byte
        // aligned; X[0 .. batch·cols) and Y[0 .. batch·rows) (y_stride = rows) are inside
        // x and y; all checked above.
        unsafe { b.launch(cfg) }.ctx("launching llm_gemv_f16").map_err(dev_err)?;
        Ok(())
    }
}
