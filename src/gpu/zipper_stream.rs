//! Layer streaming for the zipper: a [`ZipperModel`] keeps each layer's compressed delta (and,
//! in [`StreamMode::Everything`], its base) in pinned host memory, and while the fused kernel
//! computes layer `l` on the compute stream a copy stream brings the next streamed layer's
//! bytes into the other of two device staging buffers (double buffering, ordered by events).
//! Layers whose parts fit in the VRAM budget stay resident and are not copied at all.
//!
//! Each call of [`ZipperModel::run`] applies every layer, in order, to its own input (as one
//! token's worth of projections does) and reports the bytes copied over PCIe and how much of
//! the copy time was hidden behind compute.

use std::sync::Arc;

use cudarc::driver::{CudaEvent, CudaSlice, CudaStream, PinnedHostSlice};

use super::zipper::{DeviceZipperWeight, LaunchParts, Residency, ZipperWorkspace};
use super::{elapsed_ms, Gpu};
use crate::abi::cz_item_result;
use crate::error::CudaContext as _;
use crate::zipper::kernel::{check_results, plan_residency};
use crate::zipper::{PackedWeight, Result, ZipperError};

pub use crate::zipper::kernel::StreamMode;

/// What one [`ZipperModel::run`] did.
#[derive(Clone, Debug, Default)]
pub struct StreamStats {
    /// Bytes copied host → device (one token's worth).
    pub bytes_copied: u64,
    /// Layers whose parts were copied.
    pub streamed_layers: usize,
    /// Sum of the copies' times on the copy stream (ms).
    pub copy_ms: f64,
    /// Sum of the kernels' times on the compute stream (ms).
    pub compute_ms: f64,
    /// From the first operation to the last (ms).
    pub wall_ms: f64,
}

impl StreamStats {
    /// Fraction of the copy time that overlapped compute: `(copy + compute − wall) / copy`,
    /// clamped to 0..=1 (1 when nothing was copied).
    pub fn hidden_fraction(&self) -> f64 {
        if self.copy_ms <= 0.0 {
            return 1.0;
        }
        ((self.copy_ms + self.compute_ms - self.wall_ms) / self.copy_ms).clamp(0.0, 1.0)
    }
}

struct Layer {
    w: DeviceZipperWeight,
    /// Pinned host copies of the streamed parts.
    host_base: Option<PinnedHostSlice<u8>>,
    host_delta: Option<PinnedHostSlice<u8>>,
    results: CudaSlice<cz_item_result>,
}

impl Layer {
    fn streamed_bytes(&self) -> usize {
        self.host_base.as_ref().map_or(0, |b| b.len()) + self.host_delta.as_ref().map_or(0, |d| d.len())
    }
}

/// One of the two device staging buffers: base then delta of a streamed layer.
struct Stage {
    base: CudaSlice<u8>,
    delta: CudaSlice<u8>,
    /// Recorded on the compute stream after the last kernel that read this buffer.
    free: Option<CudaEvent>,
}

/// Packed layers on one GPU with streaming from pinned host memory.
pub struct ZipperModel {
    gpu: Arc<Gpu>,
    copy: Arc<CudaStream>,
    layers: Vec<Layer>,
    stages: [Stage; 2],
    ws: ZipperWorkspace,
}

impl ZipperModel {
    /// Uploads `weights` in order. Under `mode`, the streamable parts of each layer stay
    /// resident while the running total of resident streamable bytes stays within
    /// `vram_budget` ([`plan_residency`]; scales, tile tables, workspace and staging buffers are
    /// not counted); the rest go to pinned host memory.
    pub fn new(gpu: Arc<Gpu>, weights: &[PackedWeight], mode: StreamMode, vram_budget: usize) -> Result<Self> {
        let stream = gpu.stream().clone();
        let mut layers = Vec::with_capacity(weights.len());
        let plan = plan_residency(
            &weights.iter().map(|w| (w.base.len(), w.delta.len())).collect::<Vec<_>>(),
            mode,
            vram_budget,
        );
        let (mut max_base, mut max_delta, mut max_tiles) = (1usize, 1usize, 1usize);
        for (w, &(base, delta)) in weights.iter().zip(&plan) {
            let keep = Residency { base, delta };
            let dw = gpu.zipper_upload_parts(&stream, w, keep)?;
            let host_base = if keep.base { None } else { Some(gpu.pinned_copy(&w.base)?) };
            let host_delta = if keep.delta { None } else { Some(gpu.pinned_copy(&w.delta)?) };
            if !keep.base {
                max_base = max_base.max(w.base.len());
            }
            if !keep.delta {
                max_delta = max_delta.max(w.delta.len());
            }
            max_tiles = max_tiles.max(w.tiles());
            let results = stream.alloc_zeros::<cz_item_result>(w.tiles().max(1)).ctx("allocating tile results")?;
            layers.push(Layer { w: dw, host_base, host_delta, results });
        }
        let stage = |_| -> Result<Stage> {
            Ok(Stage {
                base: stream.alloc_zeros::<u8>(max_base).ctx("allocating a staging buffer")?,
                delta: stream.alloc_zeros::<u8>(max_delta).ctx("allocating a staging buffer")?,
                free: None,
            })
        };
        let stages = [stage(0)?, stage(1)?];
        let ws = ZipperWorkspace::new(&gpu, ZipperWorkspace::default_slots(&gpu), max_tiles)?;
        let copy = gpu.new_stream()?;
        Ok(Self { gpu, copy, layers, stages, ws })
    }

    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    /// Shape (rows, cols) of layer `l`.
    pub fn layer_shape(&self, l: usize) -> (usize, usize) {
        let s = self.layers[l].w.shape();
        (s.rows as usize, s.cols as usize)
    }

    /// Bytes each [`ZipperModel::run`] copies host → device.
    pub fn streamed_bytes_per_run(&self) -> u64 {
        self.layers.iter().map(|l| l.streamed_bytes() as u64).sum()
    }

    /// Enqueues the copies of layer `l`'s streamed parts into stage `k` on the copy stream,
    /// after the compute stream is done with that stage; returns (start, end) timing events.
    fn enqueue_copy(&mut self, l: usize, k: usize) -> Result<(CudaEvent, CudaEvent)> {
        let layer = &self.layers[l];
        let stage = &mut self.stages[k];
        if let Some(e) = &stage.free {
            self.copy.wait(e).ctx("ordering a copy after compute")?;
        }
        let start = self.gpu.timing_event(&self.copy)?;
        // The sources are the pinned slices themselves (exactly the part's bytes), so the copies
        // are asynchronous DMA on the copy stream.
        if let Some(b) = &layer.host_base {
            let n = layer.w.base_bytes();
            self.copy.memcpy_htod(b, &mut stage.base.slice_mut(..n)).ctx("copying a base to the device")?;
        }
        if let Some(d) = &layer.host_delta {
            let n = layer.w.delta_bytes();
            self.copy.memcpy_htod(d, &mut stage.delta.slice_mut(..n)).ctx("copying a delta to the device")?;
        }
        let end = self.gpu.timing_event(&self.copy)?;
        Ok((start, end))
    }

    /// Runs every layer `l` on `xs[l]` (batch × cols_l, on the device) into `ys[l]` (batch ×
    /// rows_l), streaming as configured; waits for the work, checks every tile of every layer
    /// (errors name the layer and tile) and returns what was copied and how it overlapped.
    pub fn run(&mut self, xs: &[CudaSlice<f32>], batch: usize, ys: &mut [CudaSlice<f32>]) -> Result<StreamStats> {
        let n = self.layers.len();
        if xs.len() != n || ys.len() != n {
            return Err(ZipperError::InvalidArgument(format!(
                "{} inputs and {} outputs for {n} layers",
                xs.len(),
                ys.len()
            )));
        }
        let compute = self.gpu.stream().clone();
        let t0 = self.gpu.timing_event(&compute)?;
        self.copy.wait(&t0).ctx("ordering the copy stream")?;
        let streamed: Vec<usize> = (0..n).filter(|&l| self.layers[l].streamed_bytes() > 0).collect();
        let mut copies: Vec<(CudaEvent, CudaEvent)> = Vec::with_capacity(streamed.len());
        let mut kernels: Vec<(CudaEvent, CudaEvent)> = Vec::with_capacity(n);
        if let Some(&first) = streamed.first() {
            copies.push(self.enqueue_copy(first, 0)?);
        }
        let mut next = 0usize; // index into `streamed` of the next streamed layer to run
        for l in 0..n {
            let is_streamed = next < streamed.len() && streamed[next] == l;
            let k = next % 2;
            if is_streamed {
                // Prefetch the following streamed layer into the other stage, then wait for ours.
                if let Some(&after) = streamed.get(next + 1) {
                    copies.push(self.enqueue_copy(after, 1 - k)?);
                }
                compute.wait(&copies[next].1).ctx("ordering compute after a copy")?;
            }
            let start = self.gpu.timing_event(&compute)?;
            {
                let (layer, stage) = (&mut self.layers[l], &self.stages[k]);
                // Views of the stage only for the parts this layer streams (the stage is sized
                // for streamed parts only).
                let base_view = layer.host_base.as_ref().map(|_| stage.base.slice(..layer.w.base_bytes()));
                let delta_view = layer.host_delta.as_ref().map(|_| stage.delta.slice(..layer.w.delta_bytes()));
                let parts = LaunchParts { base: base_view.as_ref(), delta: delta_view.as_ref(), base_only: false };
                let (slots, nslots) = self.ws.slots_mut();
                self.gpu.zipper_linear_parts(
                    &compute,
                    &layer.w,
                    &parts,
                    &xs[l].slice(..),
                    batch,
                    &mut ys[l].slice_mut(..),
                    slots,
                    nslots,
                    &mut layer.results.slice_mut(..),
                )?;
            }
            let end = self.gpu.timing_event(&compute)?;
            if is_streamed {
                self.stages[k].free = Some(self.gpu.timing_event(&compute)?);
                next += 1;
            }
            kernels.push((start, end));
        }
        let t1 = self.gpu.timing_event(&compute)?;
        compute.join(&self.copy).ctx("joining the copy stream")?;
        compute.synchronize().ctx("waiting for the layers")?;
        for layer in &self.layers {
            let tiles = layer.w.shape().tiles as usize;
            if tiles > 0 {
                let r = compute.clone_dtoh(&layer.results.slice(..tiles)).ctx("reading tile results")?;
                check_results(layer.w.name(), &r)?;
            }
        }
        let mut st = StreamStats {
            bytes_copied: self.streamed_bytes_per_run(),
            streamed_layers: streamed.len(),
            ..Default::default()
        };
        for (a, b) in &copies {
            st.copy_ms += f64::from(elapsed_ms(a, b)?);
        }
        for (a, b) in &kernels {
            st.compute_ms += f64::from(elapsed_ms(a, b)?);
        }
        st.wall_ms = f64::from(elapsed_ms(&t0, &t1)?);
        for s in &mut self.stages {
            s.free = None;
        }
        Ok(st)
    }

    /// [`ZipperModel::run`] from and to host memory (inputs copied before, outputs after).
    pub fn run_host(&mut self, xs: &[Vec<f32>], batch: usize) -> Result<(Vec<Vec<f32>>, StreamStats)> {
        let stream = self.gpu.stream().clone();
        let dx = xs.iter().map(|x| stream.clone_htod(x).ctx("copying an input")).collect::<crate::Result<Vec<_>>>()?;
        let mut dy = (0..self.layers.len())
            .map(|l| {
                let (rows, _) = self.layer_shape(l);
                stream.alloc_zeros::<f32>(batch * rows).ctx("allocating an output")
            })
            .collect::<crate::Result<Vec<_>>>()?;
        let st = self.run(&dx, batch, &mut dy)?;
        let ys = dy.iter().map(|y| stream.clone_dtoh(y).ctx("copying an output")).collect::<crate::Result<Vec<_>>>()?;
        Ok((ys, st))
    }
}
