//! cuzstd's batch kernels over [`DeviceChunks`] (the device buffers the benchmark harness and
//! nvCOMP's bindings use): safe because a `DeviceChunks` owns its memory and its layout is
//! validated, so every descriptor built here names a live, disjoint range.

use std::cell::RefCell;

use cudarc::driver::CudaSlice;

use super::decode::{self, DecodeKernel};
use super::encode;
use super::nvcomp::{DeviceChunks, Layout};
use super::Gpu;
use crate::abi::{cz_batch_item, cz_item_result};
use crate::decode::DecodeOptions;
use crate::encode::EncodeOptions;
use crate::error::{CudaContext as _, Error, Result, Status};

fn items(src: &DeviceChunks, dst: &DeviceChunks) -> Vec<cz_batch_item> {
    let (sb, db) = (src.base_address(), dst.base_address());
    let (sl, dl) = (src.layout(), dst.layout());
    (0..sl.len())
        .map(|i| cz_batch_item {
            src: sb + sl.offsets[i] as u64,
            src_size: sl.lens[i] as u64,
            dst: db + dl.offsets[i] as u64,
            dst_capacity: dl.capacities[i] as u64,
        })
        .collect()
}

/// Descriptors, workspace, results and output of one planned batch.
struct Plan<'a> {
    gpu: &'a Gpu,
    _src: &'a DeviceChunks,
    items: CudaSlice<cz_batch_item>,
    workspace: RefCell<CudaSlice<u8>>,
    results: RefCell<CudaSlice<cz_item_result>>,
    out: DeviceChunks,
}

impl<'a> Plan<'a> {
    fn new(gpu: &'a Gpu, src: &'a DeviceChunks, out: DeviceChunks, slot: u64, budget: usize) -> Result<Self> {
        let stream = src.stream();
        let list = items(src, &out);
        let n = list.len().max(1);
        let slots = (budget as u64 / slot.max(1)).clamp(1, n as u64);
        let workspace = stream.alloc_zeros::<u8>((slots * slot) as usize).ctx("allocating the workspace")?;
        let items = if list.is_empty() {
            stream.alloc_zeros::<cz_batch_item>(1).ctx("allocating descriptors")?
        } else {
            stream.clone_htod(&list).ctx("copying descriptors")?
        };
        let results = stream.alloc_zeros::<cz_item_result>(n).ctx("allocating results")?;
        Ok(Plan { gpu, _src: src, items, workspace: RefCell::new(workspace), results: RefCell::new(results), out })
    }

    /// Waits for the batch, checks every item's status, records the output sizes.
    fn finish(&mut self) -> Result<()> {
        let stream = self.out.stream().clone();
        let results = stream.clone_dtoh(&*self.results.borrow()).ctx("reading results")?;
        let n = self.out.len();
        let mut lens = Vec::with_capacity(n);
        for (index, r) in results.iter().take(n).enumerate() {
            if r.status != 0 {
                return Err(Error::Item { index, status: Status(r.status) });
            }
            lens.push(r.size as usize);
        }
        self.out.set_lens(&lens).map_err(|e| Error::InvalidArgument(e.to_string()))
    }
}

/// Compression of every chunk of a [`DeviceChunks`] into one frame each, relaunchable.
pub struct CompressJob<'a> {
    plan: Plan<'a>,
    options: EncodeOptions,
    max_src: u64,
}

/// Decompression of every frame of a [`DeviceChunks`], relaunchable.
pub struct DecompressJob<'a> {
    plan: Plan<'a>,
    kernel: DecodeKernel,
    options: DecodeOptions,
}

impl Gpu {
    /// Plans compressing each chunk of `input` at `options.level`; the workspace takes at most
    /// `budget` bytes (at least one slot).
    pub fn compress_job<'a>(
        &'a self,
        input: &'a DeviceChunks,
        options: EncodeOptions,
        budget: usize,
    ) -> Result<CompressJob<'a>> {
        let lens = &input.layout().lens;
        let max_src = lens.iter().copied().max().unwrap_or(0) as u64;
        let caps: Vec<usize> = lens.iter().map(|&l| crate::encode::compress_bound(l)).collect();
        let out = DeviceChunks::alloc(input.stream(), Layout::slots(&caps, 16))
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let slot = encode::workspace_slot_size(max_src, options.level);
        Ok(CompressJob { plan: Plan::new(self, input, out, slot, budget)?, options, max_src })
    }

    /// Plans decompressing each frame of `frames` into `out_lens[i]` bytes.
    pub fn decompress_job<'a>(
        &'a self,
        frames: &'a DeviceChunks,
        out_lens: &[usize],
        options: DecodeOptions,
        kernel: DecodeKernel,
        budget: usize,
    ) -> Result<DecompressJob<'a>> {
        if out_lens.len() != frames.len() {
            return Err(Error::InvalidArgument(format!("{} output sizes for {} frames", out_lens.len(), frames.len())));
        }
        let out = DeviceChunks::alloc(frames.stream(), Layout::slots(out_lens, 16))
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let slot = decode::workspace_slot_size();
        Ok(DecompressJob { plan: Plan::new(self, frames, out, slot, budget)?, kernel, options })
    }
}

impl CompressJob<'_> {
    /// Enqueues the batch on the chunks' stream.
    pub fn launch(&self) -> Result<()> {
        let p = &self.plan;
        let mut ws = p.workspace.borrow_mut();
        let mut res = p.results.borrow_mut();
        // SAFETY: the descriptors name the chunks of `_src` (borrowed for 'a) and the disjoint
        // slots of `out` (owned), both validated layouts; workspace and results are owned.
        unsafe {
            p.gpu.compress_batch_device(
                p.out.stream(),
                &p.items.as_view().slice(..p.out.len()),
                self.max_src,
                &self.options,
                &mut ws.as_view_mut(),
                &mut res.as_view_mut(),
            )
        }
    }

    /// Waits, checks every chunk's status, sets the output sizes.
    pub fn finish(&mut self) -> Result<()> {
        self.plan.finish()
    }

    pub fn output(&self) -> &DeviceChunks {
        &self.plan.out
    }
}

impl DecompressJob<'_> {
    /// Enqueues the batch on the frames' stream.
    pub fn launch(&self) -> Result<()> {
        let p = &self.plan;
        let mut ws = p.workspace.borrow_mut();
        let mut res = p.results.borrow_mut();
        // SAFETY: as in CompressJob::launch.
        unsafe {
            p.gpu.decompress_batch_device(
                p.out.stream(),
                &p.items.as_view().slice(..p.out.len()),
                None,
                &self.options,
                self.kernel,
                &mut ws.as_view_mut(),
                &mut res.as_view_mut(),
            )
        }
    }

    /// Waits, checks every frame's status, sets the output sizes.
    pub fn finish(&mut self) -> Result<()> {
        self.plan.finish()
    }

    pub fn output(&self) -> &DeviceChunks {
        &self.plan.out
    }
}
