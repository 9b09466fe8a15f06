//! The zipper's fused layer on the GPU (`cuda/zipper.cu`): upload a packed weight, run
//! `zp_linear_int8` / `zp_linear_int4` on a stream, check every tile's status.
//!
//! [`DeviceZipperWeight`] is a packed weight on the device (base, scales, the tiles' frames,
//! tile offsets and row starts), uploaded from a [`PackedWeight`] whose structure
//! [`KernelShape::of`] checked; the frames themselves are checked by the kernel, tile by tile
//! (a damaged frame gives an error naming the tensor and tile, and no rows of that tile).
//! [`GpuZipperLinear`] is the host-to-host layer implementing [`crate::llm::Linear`].

use std::sync::{Arc, Mutex};

use cudarc::driver::{
    sys, CudaSlice, CudaStream, CudaView, CudaViewMut, DevicePtr, DevicePtrMut, DeviceRepr, LaunchConfig,
    PinnedHostSlice, PushKernelArg,
};

use super::{param, Gpu, Module};
use crate::abi::cz_item_result;
use crate::error::{CudaContext as _, Error};
use crate::llm::Linear;
use crate::zipper::kernel::{check_results, KernelShape, BLOCK, FLAG_BASE_ONLY, FLAG_ROUND_BF16, FLAG_ROUND_F16};
use crate::zipper::{PackedWeight, Result, ZipperError, ZipperLinear};

/// Threads per block of `zp_fused1_*` (`ZP_F1_BLOCK`: 8 computing warps and 2 decoding ones).
const FUSED1_BLOCK: u32 = 320;
/// Most rows of a tile `zp_fused1_*` takes (`ZP_F1_MAX_ROWS`).
pub const FUSED1_MAX_ROWS: u32 = 32;
/// Shortest base row (bytes) that batch-1 launches give to `zp_fused1_*`: on an H100 it was
/// as fast or faster than the general kernel on rows of 4096 and 11008 bytes and slower on
/// rows of 576 and 1536 (docs/ZIPPER.md, "The batch-1 fused kernel").
pub const FUSED1_MIN_ROW_BYTES: usize = 4096;

/// A packed weight on the device.
pub struct DeviceZipperWeight {
    name: String,
    shape: KernelShape,
    /// None when the base is streamed (see [`Residency`]).
    base: Option<CudaSlice<u8>>,
    base_len: usize,
    scales: CudaSlice<f32>,
    /// None when the delta is streamed.
    delta: Option<CudaSlice<u8>>,
    delta_len: usize,
    offsets: CudaSlice<u64>,
    tile_rows: CudaSlice<u32>,
    /// The literal dictionary (one zero byte without one) and its Huffman decoding table
    /// (`HUF_DTABLE_ENTRIES` entries; `huf_log` 0 without a dictionary).
    dict: CudaSlice<u8>,
    dict_len: usize,
    huf_dt: CudaSlice<u16>,
    huf_log: u32,
    dict_id: u32,
    /// Tile buffer of the batch-1 kernel (`zp_fused1_*`): room for the largest frame content
    /// with the frame staged behind it, at most `max_tile_bytes`.
    fused1_cap: u32,
    /// The tiles' block indexes for the fused kernels ([`crate::zipper::frame::block_index`],
    /// `BLOCK_INDEX_ENTRIES` per tile), derived from the frames at upload: the kernels check
    /// each against the frame they read, so a streamed frame that differs only costs the walk.
    block_index: CudaSlice<u16>,
}

/// Entries of the decoding table uploaded for a weight without a dictionary (never read).
const NO_DICT_TABLE_ENTRIES: usize = 8;

/// Device bytes of a weight's dictionary and Huffman decoding table once uploaded (a weight
/// without a dictionary still gets a one-byte dictionary and a small table).
pub fn dictionary_device_bytes(w: &PackedWeight) -> usize {
    if w.dict.is_empty() {
        1 + 2 * NO_DICT_TABLE_ENTRIES
    } else {
        w.dict.len() + 2 * super::reference_zipper::HUF_DTABLE_ENTRIES
    }
}

/// Which parts of a weight [`Gpu::zipper_upload_parts`] keeps on the device; the others are
/// passed to each launch ([`LaunchParts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Residency {
    pub base: bool,
    pub delta: bool,
}

impl Residency {
    pub const ALL: Residency = Residency { base: true, delta: true };
}

/// Per-launch inputs of [`Gpu::zipper_linear_parts`] besides the weight.
#[derive(Default)]
pub struct LaunchParts<'a, 'b> {
    /// Device copy of the base when it is not resident (exactly the weight's bytes).
    pub base: Option<&'a CudaView<'b, u8>>,
    /// Device copy of the delta when it is not resident (exactly the weight's bytes).
    pub delta: Option<&'a CudaView<'b, u8>>,
    /// Ignore the delta: `Y = X · base` (each weight still rounded when the pack asks). No frame
    /// is read or decoded; for measuring the base alone.
    pub base_only: bool,
}

impl DeviceZipperWeight {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn shape(&self) -> &KernelShape {
        &self.shape
    }

    /// Bytes held on the device (resident parts, scales, tile tables).
    pub fn device_bytes(&self) -> usize {
        self.base.as_ref().map_or(0, |b| b.len())
            + 4 * self.scales.len()
            + self.delta.as_ref().map_or(0, |d| d.len())
            + self.dict.len()
            + 2 * self.huf_dt.len()
            + 8 * self.offsets.len()
            + 4 * self.tile_rows.len()
            + 2 * self.block_index.len()
    }

    /// Bytes of the compressed delta (the tiles' frames).
    pub fn delta_bytes(&self) -> usize {
        self.delta_len
    }

    /// Bytes of the quantized base values (without scales).
    pub fn base_bytes(&self) -> usize {
        self.base_len
    }

    /// Whether batch-1 launches of this weight take the batch-1 fused kernel (`zp_fused1_*`,
    /// see [`Gpu::set_batch1_fused_kernel`]) when X and the base are 16-byte aligned: tiles
    /// are literal frames (a literal dictionary), weights are not rounded, tiles have at most
    /// [`FUSED1_MAX_ROWS`] rows, and rows of at least [`FUSED1_MIN_ROW_BYTES`] bytes are read as
    /// 16-byte vectors (a multiple of 16 bytes; INT4 groups of a multiple of 32 columns).
    pub fn batch1_fused_kernel_applies(&self) -> bool {
        let s = &self.shape;
        let row_bytes = self.base_len / s.rows.max(1) as usize;
        let cols_per_vector = if s.bits == 8 { 16 } else { 32 };
        self.huf_log != 0
            && s.flags & (FLAG_ROUND_F16 | FLAG_ROUND_BF16) == 0
            && s.max_tile_rows <= FUSED1_MAX_ROWS
            && row_bytes >= FUSED1_MIN_ROW_BYTES
            && row_bytes % 16 == 0
            && s.cols % cols_per_vector == 0
            && (s.bits == 8 || s.group % 32 == 0)
    }

    /// The resident base on the device (None when it is streamed).
    pub fn base_device(&self) -> Option<&CudaSlice<u8>> {
        self.base.as_ref()
    }
}

/// Copies `v` to the device; an empty `v` becomes a one-element buffer of `T::default()` (the
/// kernel reads nothing of it), so every pointer passed to a launch is a live allocation.
fn upload<T: DeviceRepr + Default + Clone + Unpin>(stream: &Arc<CudaStream>, v: &[T]) -> crate::Result<CudaSlice<T>> {
    if v.is_empty() {
        stream.clone_htod(&[T::default()]).ctx("copying a weight to the device")
    } else {
        stream.clone_htod(v).ctx("copying a weight to the device")
    }
}

/// The batch-1 kernel's tile buffer for `w`: the largest tile frame's content plus the largest
/// frame (staged behind the content) and 32 bytes of alignment, rounded to 16 and at most
/// `max_tile_bytes`; `max_tile_bytes` when a frame header does not give its content size (such
/// a frame fails in the kernel anyway). A frame streamed later with more content than this gets
/// TILE_FRAME_UNCHECKED.
fn fused1_tile_buffer(w: &PackedWeight, max_tile_bytes: u32) -> u32 {
    let mut content = 0u64;
    let mut frame = 0u64;
    for pair in w.tile_offsets.windows(2) {
        let f = &w.delta[pair[0] as usize..pair[1] as usize];
        match crate::format::parse_frame_header(f) {
            Ok(Some(h)) if h.content_size.is_some() => {
                content = content.max(h.content_size.unwrap_or(0));
                frame = frame.max(f.len() as u64);
            }
            _ => return max_tile_bytes,
        }
    }
    (content + frame + 32).next_multiple_of(16).min(u64::from(max_tile_bytes)) as u32
}

/// Decoder workspace slots and per-tile results of the fused kernel; one can serve any number
/// of layers launched one after another on one stream.
pub struct ZipperWorkspace {
    slots: CudaSlice<u8>,
    nslots: usize,
    results: CudaSlice<cz_item_result>,
}

impl ZipperWorkspace {
    /// Workspace for up to `slots` concurrently decoding blocks and `tiles` tiles per layer
    /// (both grow on demand in [`Gpu::zipper_linear`]).
    pub fn new(gpu: &Gpu, slots: usize, tiles: usize) -> crate::Result<Self> {
        let stride = super::decode::workspace_slot_size() as usize;
        let nslots = slots.max(1);
        // The slots, then one lock word per slot (zp_fused1_*), all zero.
        let slots_buf =
            gpu.stream().alloc_zeros::<u8>(nslots * stride + 4 * nslots).ctx("allocating the decoder workspace")?;
        let results = gpu.stream().alloc_zeros::<cz_item_result>(tiles.max(1)).ctx("allocating tile results")?;
        Ok(Self { slots: slots_buf, nslots, results })
    }

    /// The default number of decoder slots for `gpu`: two blocks per multiprocessor.
    pub fn default_slots(gpu: &Gpu) -> usize {
        2 * gpu.props().multiprocessors as usize
    }

    /// The decoder slots and their count, for [`Gpu::zipper_linear_parts`].
    pub fn slots_mut(&mut self) -> (&mut CudaSlice<u8>, usize) {
        (&mut self.slots, self.nslots)
    }

    /// Bytes held on the device.
    pub fn device_bytes(&self) -> usize {
        self.slots.len() + std::mem::size_of::<cz_item_result>() * self.results.len()
    }

    /// Reads the results of the last launch for `w` (synchronises `stream`) and returns the
    /// first failing tile as an error naming the tensor and tile.
    pub fn check(&self, stream: &Arc<CudaStream>, w: &DeviceZipperWeight) -> Result<()> {
        let tiles = w.shape.tiles as usize;
        if tiles == 0 {
            return Ok(());
        }
        let r = stream.clone_dtoh(&self.results.slice(..tiles)).ctx("reading tile results")?;
        check_results(&w.name, &r)
    }
}

impl Gpu {
    /// A page-locked host copy of `bytes` (exactly `bytes.len()` long, which must be > 0),
    /// for asynchronous host-to-device copies.
    pub fn pinned_copy(&self, bytes: &[u8]) -> crate::Result<PinnedHostSlice<u8>> {
        if bytes.is_empty() {
            return Err(Error::InvalidArgument("pinned copy of 0 bytes".into()));
        }
        // SAFETY: the allocation holds uninitialised bytes (valid u8 values); every byte is
        // written below before anything reads it.
        let mut p = unsafe { self.ctx.alloc_pinned::<u8>(bytes.len()) }.ctx("allocating pinned memory")?;
        p.as_mut_slice().ctx("mapping pinned memory")?.copy_from_slice(bytes);
        Ok(p)
    }

    /// Uploads a packed weight (synchronously on `stream`). Checks its structure
    /// ([`KernelShape::of`]) but not its frames, which the kernel checks on every launch.
    pub fn zipper_upload_on(&self, stream: &Arc<CudaStream>, w: &PackedWeight) -> Result<DeviceZipperWeight> {
        self.zipper_upload_parts(stream, w, Residency::ALL)
    }

    /// [`Gpu::zipper_upload_on`] keeping only the parts `keep` names resident (scales and tile
    /// tables always are).
    pub fn zipper_upload_parts(
        &self,
        stream: &Arc<CudaStream>,
        w: &PackedWeight,
        keep: Residency,
    ) -> Result<DeviceZipperWeight> {
        let shape = KernelShape::of(w)?;
        let fused1_cap = fused1_tile_buffer(w, shape.max_tile_bytes);
        let block_index: Vec<u16> =
            (0..w.tiles()).flat_map(|t| crate::zipper::frame::block_index(w.tile_frame(t))).collect();
        let (dt, huf_log, dict_id) = if w.dict.is_empty() {
            (vec![0u16; NO_DICT_TABLE_ENTRIES], 0, 0)
        } else {
            super::reference_zipper::dictionary_table(&w.dict).map_err(|st| ZipperError::Tensor {
                tensor: w.name.clone(),
                message: format!("literal dictionary has no valid Huffman table (status {st})"),
            })?
        };
        Ok(DeviceZipperWeight {
            name: w.name.clone(),
            shape,
            base: if keep.base { Some(upload(stream, &w.base)?) } else { None },
            base_len: w.base.len(),
            scales: upload(stream, &w.scales)?,
            delta: if keep.delta { Some(upload(stream, &w.delta)?) } else { None },
            delta_len: w.delta.len(),
            offsets: upload(stream, &w.tile_offsets)?,
            tile_rows: upload(stream, &w.tile_rows)?,
            dict: upload(stream, if w.dict.is_empty() { &[0u8][..] } else { &w.dict })?,
            dict_len: w.dict.len(),
            huf_dt: upload(stream, &dt)?,
            huf_log,
            dict_id,
            fused1_cap,
            block_index: upload(stream, &block_index)?,
        })
    }

    /// [`Gpu::zipper_upload_on`] on the work stream.
    pub fn zipper_upload(&self, w: &PackedWeight) -> Result<DeviceZipperWeight> {
        self.zipper_upload_on(&self.stream, w)
    }

    /// `y[b][r] = Σ_c x[b][c] · Ŵ[r][c]` for `batch` rows of `x` (batch × cols) into `y`
    /// (batch × rows), asynchronously on `stream`; then [`ZipperWorkspace::check`] reports
    /// failed tiles (whose rows of `y` are left unwritten). Grows `ws` when it is too small
    /// for this layer (which synchronises `stream`).
    pub fn zipper_linear(
        &self,
        stream: &Arc<CudaStream>,
        w: &DeviceZipperWeight,
        x: &CudaView<'_, f32>,
        batch: usize,
        y: &mut CudaViewMut<'_, f32>,
        ws: &mut ZipperWorkspace,
    ) -> Result<()> {
        let tiles = w.shape.tiles as usize;
        if ws.results.len() < tiles {
            ws.results = stream.alloc_zeros::<cz_item_result>(tiles).ctx("allocating tile results")?;
        }
        let ZipperWorkspace { slots, nslots, results } = ws;
        self.zipper_linear_parts(
            stream,
            w,
            &LaunchParts::default(),
            x,
            batch,
            y,
            slots,
            *nslots,
            &mut results.slice_mut(..),
        )
    }

    /// [`Gpu::zipper_linear`] ignoring the delta (`LaunchParts::base_only`): the base alone,
    /// through the same kernel, for measurements.
    pub fn zipper_linear_base_only(
        &self,
        stream: &Arc<CudaStream>,
        w: &DeviceZipperWeight,
        x: &CudaView<'_, f32>,
        batch: usize,
        y: &mut CudaViewMut<'_, f32>,
        ws: &mut ZipperWorkspace,
    ) -> Result<()> {
        let tiles = w.shape.tiles as usize;
        if ws.results.len() < tiles {
            ws.results = stream.alloc_zeros::<cz_item_result>(tiles).ctx("allocating tile results")?;
        }
        let parts = LaunchParts { base_only: true, ..Default::default() };
        let ZipperWorkspace { slots, nslots, results } = ws;
        self.zipper_linear_parts(stream, w, &parts, x, batch, y, slots, *nslots, &mut results.slice_mut(..))
    }

    /// [`Gpu::zipper_linear`] with the parts of `w` that are not resident taken from `parts`
    /// (each exactly the weight's bytes: lengths are checked here, contents by the kernel),
    /// decoder slots from `ws` and per-tile results written to `results` (at least one per
    /// tile; read them with [`check_results`]).
    #[allow(clippy::too_many_arguments)]
    pub fn zipper_linear_parts(
        &self,
        stream: &Arc<CudaStream>,
        w: &DeviceZipperWeight,
        parts: &LaunchParts<'_, '_>,
        x: &CudaView<'_, f32>,
        batch: usize,
        y: &mut CudaViewMut<'_, f32>,
        slots: &mut CudaSlice<u8>,
        nslots: usize,
        results: &mut CudaViewMut<'_, cz_item_result>,
    ) -> Result<()> {
        let s = &w.shape;
        let bad = |m: String| ZipperError::InvalidArgument(format!("{}: {m}", w.name));
        if batch == 0 || batch > u32::MAX as usize {
            return Err(bad(format!("batch is {batch}")));
        }
        if x.len() != batch * s.cols as usize {
            return Err(bad(format!("input has {} values, should be {batch} × {}", x.len(), s.cols)));
        }
        if y.len() != batch * s.rows as usize {
            return Err(bad(format!("output has room for {} values, should be {batch} × {}", y.len(), s.rows)));
        }
        let base_view = match (&w.base, parts.base) {
            (Some(b), _) => b.slice(..),
            (None, Some(v)) if v.len() == w.base_len => v.slice(..),
            (None, Some(v)) => {
                return Err(bad(format!("streamed base has {} bytes, should be {}", v.len(), w.base_len)))
            }
            (None, None) => return Err(bad("base is neither resident nor given".into())),
        };
        let delta_view = match (&w.delta, parts.delta) {
            // Never read with base_only: any live u8 address will do.
            _ if parts.base_only => base_view.slice(..0),
            (Some(d), _) => d.slice(..),
            (None, Some(v)) if v.len() == w.delta_len => v.slice(..),
            (None, Some(v)) => {
                return Err(bad(format!("streamed delta has {} bytes, should be {}", v.len(), w.delta_len)))
            }
            (None, None) => return Err(bad("delta is neither resident nor given".into())),
        };
        if s.tiles == 0 {
            return Ok(());
        }
        if parts.base_only && s.flags & (FLAG_ROUND_F16 | FLAG_ROUND_BF16) == 0 {
            return self.zipper_gemv_base(stream, &w.name, s, &base_view, &w.scales, x, batch, y, results);
        }
        if !parts.base_only
            && batch == 1
            && w.batch1_fused_kernel_applies()
            && self.batch1_fused_kernel()
            && self.zipper_fused1(stream, w, &base_view, &delta_view, x, y, slots, nslots, results)?
        {
            return Ok(());
        }
        // Other base-only launches (weights rounded to f16 / bf16) run the kernels without the
        // decoder (fewer registers) and without the tile buffer in shared memory.
        // A block per tile when the workspace has a slot for every tile: the `1` builds, which
        // take one tile each (without the loop over tiles they spill far less).
        let one = s.tiles as usize <= nslots;
        let name = match (s.bits, parts.base_only, one) {
            (8, false, false) => "zp_linear_int8",
            (_, false, false) => "zp_linear_int4",
            (8, false, true) => "zp_linear1_int8",
            (_, false, true) => "zp_linear1_int4",
            (8, true, _) => "zp_base_int8",
            (_, true, _) => "zp_base_int4",
        };
        let base_shape;
        let s = if parts.base_only {
            base_shape = KernelShape { max_tile_bytes: 0, ..s.clone() };
            &base_shape
        } else {
            s
        };
        let f = self.function(Module::Zipper, name)?;
        // The dynamic part may use what the static variables leave of the opt-in maximum.
        let static_smem = f.shared_size_bytes().ctx("reading the fused kernel's static shared memory")?;
        let limit = self.props.max_shared_per_block_optin.saturating_sub(static_smem.max(0) as usize);
        let x_rows = s.plan_x_rows(batch, limit)?;
        let smem = s.shared_bytes(batch, x_rows);
        let tiles = s.tiles as usize;
        let stride = super::decode::workspace_slot_size() as usize;
        if results.len() < tiles || nslots == 0 || slots.len() < nslots * stride {
            return Err(bad(format!(
                "{} results for {tiles} tiles, {} workspace bytes for {nslots} slots",
                results.len(),
                slots.len()
            )));
        }
        let stride = stride as u64;
        // The base kernels use no workspace: a block per tile, scheduled by the hardware.
        let grid = if parts.base_only { tiles } else { nslots.min(tiles) } as u32;
        let flags = s.flags | if parts.base_only { FLAG_BASE_ONLY } else { 0 };
        // Always the same value (the most any launch may ask for), so launches from several
        // threads never see another launch's smaller setting.
        f.set_attribute(
            sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            i32::try_from(limit).map_err(|_| bad("shared memory size".into()))?,
        )
        .ctx("setting the fused kernel's shared memory")?;
        let (batch32, x_rows32, dict_len) = (batch as u32, x_rows as u32, w.dict_len as u64);
        let (xp, _g0) = x.device_ptr(stream);
        let (yp, _g1) = y.device_ptr_mut(stream);
        let (bp, _g2) = base_view.device_ptr(stream);
        let (sp, _g3) = w.scales.device_ptr(stream);
        let (dp, _g4) = delta_view.device_ptr(stream);
        let (op, _g5) = w.offsets.device_ptr(stream);
        let (tp, _g6) = w.tile_rows.device_ptr(stream);
        let (wp, _g7) = slots.device_ptr_mut(stream);
        let (hp, _g8) = w.huf_dt.device_ptr(stream);
        let (cp, _g9) = w.dict.device_ptr(stream);
        let (rp, _g10) = results.device_ptr_mut(stream);
        let (ip, _g11) = w.block_index.device_ptr(stream);
        let mut params = [
            param(&xp),
            param(&yp),
            param(&batch32),
            param(&s.rows),
            param(&s.cols),
            param(&bp),
            param(&sp),
            param(&s.spr),
            param(&s.group),
            param(&dp),
            param(&op),
            param(&tp),
            param(&s.tiles),
            param(&flags),
            param(&s.max_tile_bytes),
            param(&s.max_tile_rows),
            param(&x_rows32),
            param(&wp),
            param(&stride),
            param(&hp),
            param(&w.huf_log),
            param(&w.dict_id),
            param(&cp),
            param(&dict_len),
            param(&ip),
            param(&rp),
        ];
        // SAFETY: the kernel's host contract holds: `w` was uploaded from a weight that
        // KernelShape::of checked (base rows × row_bytes, scales rows × spr, tiles + 1 offsets
        // from 0 to the delta's length and row starts from 0 to rows, strictly increasing, no
        // tile over max_tile_rows rows; block_index holds BLOCK_INDEX_ENTRIES entries per tile,
        // built at upload), and the base and delta read here have exactly that weight's lengths
        // (resident copies, or streamed views checked above); x holds batch × cols and y
        // batch × rows floats (checked above); for the fused kernels grid <=
        // nslots workspace slots of `stride` >= cz_decode_workspace_size() bytes inside
        // `slots` (the base kernels read no workspace); the one-tile kernels (zp_linear1_*,
        // zp_base_*) get grid == tiles (zp_linear1_* only when tiles <= nslots); results hold >= tiles
        // entries (checked above); huf_dt holds the dictionary's full decoding table
        // (HUF_DTABLE_ENTRIES, huf_log <= 12, from the reference build's reader) or, with
        // huf_log 0, is never read; dict holds dict_len bytes (the uploaded dictionary);
        // blockDim is ZP_BLOCK; the dynamic shared memory is zp_shared_bytes(...) for these
        // arguments, within the device's opt-in limit (plan_x_rows) and set as the function's
        // maximum above. Frames are only read inside their offsets and decoded into shared
        // memory bounded by max_tile_bytes. With FLAG_BASE_ONLY (the zp_base_* kernels, given
        // max_tile_bytes 0 and shared memory planned for it) no frame is read and no tile
        // buffer is used. The parameters are those values in the kernel's order and types
        // (device addresses as u64). Programmatic launches are allowed by the kernels' contract:
        // before griddepcontrol.wait only warp 0 of a literal-dictionary layer runs, reading the
        // frame, table and dictionary into shared memory; the workspace, X, Y and results are
        // used after it.
        unsafe { self.launch_ex(&f, stream, grid, BLOCK, smem as u32, &mut params, self.programmatic_launch()) }?;
        Ok(())
    }

    /// The batch-1 fused layer (`zp_fused1_int8` / `zp_fused1_int4`) for a weight with a literal
    /// dictionary, no rounding and at most [`FUSED1_MAX_ROWS`] rows a tile (the caller checked
    /// those, [`DeviceZipperWeight::batch1_fused_kernel_applies`], the views' lengths and batch
    /// 1); false, without launching, when X or the base is not 16-byte aligned or the tile
    /// buffer does not fit the device's shared memory.
    #[allow(clippy::too_many_arguments)]
    fn zipper_fused1(
        &self,
        stream: &Arc<CudaStream>,
        w: &DeviceZipperWeight,
        base_view: &CudaView<'_, u8>,
        delta_view: &CudaView<'_, u8>,
        x: &CudaView<'_, f32>,
        y: &mut CudaViewMut<'_, f32>,
        slots: &mut CudaSlice<u8>,
        nslots: usize,
        results: &mut CudaViewMut<'_, cz_item_result>,
    ) -> Result<bool> {
        let s = &w.shape;
        let bad = |m: String| ZipperError::InvalidArgument(format!("{}: {m}", w.name));
        let (xp, _g0) = x.device_ptr(stream);
        let (bp, _g2) = base_view.device_ptr(stream);
        if bp % 16 != 0 || xp % 16 != 0 {
            return Ok(false);
        }
        let tiles = s.tiles as usize;
        let stride = super::decode::workspace_slot_size() as usize;
        if results.len() < tiles || nslots == 0 || slots.len() < nslots * stride + 4 * nslots {
            return Err(bad(format!(
                "{} results for {tiles} tiles, {} workspace bytes for {nslots} slots and their locks",
                results.len(),
                slots.len()
            )));
        }
        let name = if s.bits == 8 { "zp_fused1_int8" } else { "zp_fused1_int4" };
        let f = self.function(Module::Zipper, name)?;
        let cap = w.fused1_cap;
        let static_smem = f.shared_size_bytes().ctx("reading the fused kernel's static shared memory")?;
        let limit = self.props.max_shared_per_block_optin.saturating_sub(static_smem.max(0) as usize);
        if cap as usize > limit {
            return Ok(false);
        }
        f.set_attribute(
            sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            i32::try_from(limit).map_err(|_| bad("shared memory size".into()))?,
        )
        .ctx("setting the fused kernel's shared memory")?;
        let (stride, nslots32, dict_len) = (stride as u64, nslots as u32, w.dict_len as u64);
        let (yp, _g1) = y.device_ptr_mut(stream);
        let (sp, _g3) = w.scales.device_ptr(stream);
        let (dp, _g4) = delta_view.device_ptr(stream);
        let (op, _g5) = w.offsets.device_ptr(stream);
        let (tp, _g6) = w.tile_rows.device_ptr(stream);
        let (wp, _g7) = slots.device_ptr_mut(stream);
        let lp = wp + stride * nslots as u64;
        let (hp, _g8) = w.huf_dt.device_ptr(stream);
        let (cp, _g9) = w.dict.device_ptr(stream);
        let (rp, _g10) = results.device_ptr_mut(stream);
        let (ip, _g11) = w.block_index.device_ptr(stream);
        let mut params = [
            param(&xp),
            param(&yp),
            param(&s.rows),
            param(&s.cols),
            param(&bp),
            param(&sp),
            param(&s.spr),
            param(&s.group),
            param(&dp),
            param(&op),
            param(&tp),
            param(&s.tiles),
            param(&s.flags),
            param(&cap),
            param(&wp),
            param(&stride),
            param(&lp),
            param(&nslots32),
            param(&hp),
            param(&w.huf_log),
            param(&w.dict_id),
            param(&cp),
            param(&dict_len),
            param(&ip),
            param(&rp),
        ];
        // SAFETY: the kernel's host contract holds: `w` was uploaded from a weight that
        // KernelShape::of checked (base rows × row_bytes, scales rows × spr, tiles + 1 offsets
        // from 0 to the delta's length and row starts from 0 to rows, strictly increasing, no
        // tile over max_tile_rows <= ZP_F1_MAX_ROWS rows), and the base and delta read here have
        // exactly that weight's lengths (checked by the caller); batch is 1, x holds cols and y
        // rows floats (checked by the caller); the rows, X and the columns allow 16-byte vectors
        // (checked above); nslots workspace slots of `stride` >= cz_decode_workspace_size()
        // bytes, then nslots lock words, lie inside `slots` (checked above; zeroed at
        // allocation and left at zero by every launch); results hold >= tiles entries; huf_dt
        // holds the dictionary's full decoding table (huf_log != 0, from the reference build's
        // reader); dict holds dict_len bytes; block_index holds BLOCK_INDEX_ENTRIES entries per
        // tile (built at upload, one per tile of `w`); blockDim is ZP_F1_BLOCK; the dynamic shared
        // memory is `cap` bytes, within the opt-in limit and set as the function's maximum
        // above. Programmatic launches are allowed by the kernel's contract: before
        // griddepcontrol.wait it reads only frames, block indexes, the table and weight rows; X, Y, results,
        // locks and the workspace after it.
        unsafe { self.launch_ex(&f, stream, s.tiles, FUSED1_BLOCK, cap, &mut params, self.programmatic_launch()) }?;
        Ok(true)
    }

    /// `y = x · baseᵀ` for a pack without rounding, two rows per warp (`zp_gemv_int8` /
    /// `zp_gemv_int4`, the `zp_gemv1_*` forms at batch 1), every tile's result set to OK;
    /// asynchronously on `stream`.
    #[allow(clippy::too_many_arguments)]
    fn zipper_gemv_base(
        &self,
        stream: &Arc<CudaStream>,
        tensor: &str,
        s: &KernelShape,
        base: &CudaView<'_, u8>,
        scales: &CudaSlice<f32>,
        x: &CudaView<'_, f32>,
        batch: usize,
        y: &mut CudaViewMut<'_, f32>,
        results: &mut CudaViewMut<'_, cz_item_result>,
    ) -> Result<()> {
        let tiles = s.tiles as usize;
        if results.len() < tiles {
            return Err(ZipperError::InvalidArgument(format!("{tensor}: {} results for {tiles} tiles", results.len())));
        }
        let name = match (s.bits, batch) {
            (8, 1) => "zp_gemv1_int8",
            (_, 1) => "zp_gemv1_int4",
            (8, _) => "zp_gemv_int8",
            _ => "zp_gemv_int4",
        };
        let f = self.function(Module::Zipper, name)?;
        // Batch 1: one block per ZP_SK_ROWS (4) rows, all of equal work (the kernel falls back
        // to row pairs per warp, striding, for rows it cannot read as vectors). Otherwise one
        // wave of blocks (two rows per warp, 16 per block), at most one block per 16 rows.
        let grid = if batch == 1 {
            s.rows.div_ceil(4).max(1)
        } else {
            let per_sm = self.blocks_per_sm(Module::Zipper, name, 256)?;
            s.rows.div_ceil(16).clamp(1, per_sm * self.props.multiprocessors)
        };
        let batch32 = batch as u32;
        let (xp, _gx) = x.device_ptr(stream);
        let (yp, _gy) = y.device_ptr_mut(stream);
        let (bp, _gb) = base.device_ptr(stream);
        let (sp, _gs) = scales.device_ptr(stream);
        let (rp, _gr) = results.device_ptr_mut(stream);
        let mut params = [
            param(&xp),
            param(&yp),
            param(&batch32),
            param(&s.rows),
            param(&s.cols),
            param(&bp),
            param(&sp),
            param(&s.spr),
            param(&s.group),
            param(&s.tiles),
            param(&rp),
        ];
        // SAFETY: the caller (zipper_linear_parts) checked x (batch × cols floats), y (batch ×
        // rows floats) and that base has the weight's rows × row_bytes bytes; scales hold rows
        // × spr floats (KernelShape::of); results hold >= tiles entries (checked above). The
        // kernel strides over rows and tiles with any grid; blockDim is 256. The parameters are
        // those values in the kernel's order and types (device addresses as u64). Programmatic
        // launches are allowed by the kernels' contract: before griddepcontrol.wait they only
        // load weight rows, which no kernel writes.
        unsafe { self.launch_ex(&f, stream, grid, 256, 0, &mut params, self.programmatic_launch()) }?;
        Ok(())
    }

    /// Reads `words` 16-byte words of `src` (a bandwidth probe, `zp_read_probe`) on `stream`;
    /// `out` holds one value per block of `grid`.
    pub fn zipper_read_probe(
        &self,
        stream: &Arc<CudaStream>,
        src: &CudaSlice<u8>,
        grid: u32,
        out: &mut CudaSlice<u32>,
    ) -> crate::Result<()> {
        let words = (src.len() / 16) as u64;
        if out.len() < grid as usize || grid == 0 {
            return Err(Error::InvalidArgument(format!("{} outputs for a grid of {grid}", out.len())));
        }
        if src.len() % 16 != 0 {
            return Err(Error::InvalidArgument("probe buffer is not a multiple of 16 bytes".into()));
        }
        let f = self.function(Module::Zipper, "zp_read_probe")?;
        let cfg = LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let mut b = stream.launch_builder(&f);
        b.arg(src).arg(&words).arg(out);
        // SAFETY: the kernel reads words × 16 <= src.len() bytes of `src` (a 256-byte aligned
        // allocation, so the 16-byte loads are aligned) and xors one u32 per block into
        // out[0..grid) (out.len() >= grid).
        unsafe { b.launch(cfg) }.ctx("launching zp_read_probe")?;
        Ok(())
    }

    /// Dense f16 GEMV baseline (`zp_gemv_f16`): `y[b][r] = Σ_c x[b][c] · w[r][c]` with `w`
    /// f16 bits, rows × cols row-major, cols a multiple of 8.
    #[allow(clippy::too_many_arguments)]
    pub fn zipper_gemv_f16(
        &self,
        stream: &Arc<CudaStream>,
        w: &CudaSlice<u16>,
        rows: usize,
        cols: usize,
        x: &CudaSlice<f32>,
        batch: usize,
        y: &mut CudaSlice<f32>,
    ) -> crate::Result<()> {
        if cols % 8 != 0 || w.len() != rows * cols || x.len() != batch * cols || y.len() != batch * rows {
            return Err(Error::InvalidArgument(format!(
                "GEMV of {rows} × {cols} (cols a multiple of 8) with batch {batch}: w {}, x {}, y {} values",
                w.len(),
                x.len(),
                y.len()
            )));
        }
        let f = self.function(Module::Zipper, "zp_gemv_f16")?;
        let grid = u32::try_from(rows.div_ceil(8)).map_err(|_| Error::InvalidArgument("too many rows".into()))?;
        let cfg = LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let (b32, r32, c32) = (batch as u32, rows as u32, cols as u32);
        let mut b = stream.launch_builder(&f);
        b.arg(x).arg(y).arg(&b32).arg(&r32).arg(&c32).arg(w);
        // SAFETY: the kernel reads w[0 .. rows × cols) with 16-byte loads at row starts that are
        // multiples of 16 bytes (cols % 8 == 0, aligned allocation), x[0 .. batch × cols) as
        // float4 (cols % 8 == 0), and writes y[0 .. batch × rows); all lengths checked above.
        unsafe { b.launch(cfg) }.ctx("launching zp_gemv_f16")?;
        Ok(())
    }
}

/// A packed weight as a linear layer on the GPU: inputs are copied to the device, the fused
/// kernel runs on the [`Gpu`]'s work stream, outputs are copied back.
pub struct GpuZipperLinear {
    gpu: Arc<Gpu>,
    w: DeviceZipperWeight,
    ws: Arc<Mutex<ZipperWorkspace>>,
}

impl GpuZipperLinear {
    /// Uploads `w` with its own workspace.
    pub fn new(gpu: Arc<Gpu>, w: &PackedWeight) -> Result<Self> {
        let ws = ZipperWorkspace::new(&gpu, ZipperWorkspace::default_slots(&gpu), w.tiles())?;
        Self::with_workspace(gpu, w, Arc::new(Mutex::new(ws)))
    }

    /// Uploads `w`, sharing `ws` with other layers (one workspace serves a whole model).
    pub fn with_workspace(gpu: Arc<Gpu>, w: &PackedWeight, ws: Arc<Mutex<ZipperWorkspace>>) -> Result<Self> {
        let w = gpu.zipper_upload(w)?;
        Ok(Self { gpu, w, ws })
    }

    pub fn device_weight(&self) -> &DeviceZipperWeight {
        &self.w
    }

    /// `x` holds `batch` rows of `in_features`; returns `batch` rows of `out_features`. A
    /// damaged delta frame is an error naming the tensor and tile.
    pub fn try_forward(&self, x: &[f32], batch: usize) -> Result<Vec<f32>> {
        let stream = self.gpu.stream();
        let s = self.w.shape();
        if x.len() != batch * s.cols as usize || batch == 0 {
            return Err(ZipperError::InvalidArgument(format!(
                "{}: input has {} values, should be {batch} × {} (batch >= 1)",
                self.w.name,
                x.len(),
                s.cols
            )));
        }
        let dx = stream.clone_htod(x).ctx("copying the input")?;
        let mut dy = stream.alloc_zeros::<f32>(batch * s.rows as usize).ctx("allocating the output")?;
        let mut ws = self.ws.lock().unwrap_or_else(|e| e.into_inner());
        self.gpu.zipper_linear(stream, &self.w, &dx.slice(..), batch, &mut dy.slice_mut(..), &mut ws)?;
        ws.check(stream, &self.w)?;
        Ok(stream.clone_dtoh(&dy).ctx("copying the output")?)
    }
}

impl Linear for GpuZipperLinear {
    fn in_features(&self) -> usize {
        self.w.shape.cols as usize
    }

    fn out_features(&self) -> usize {
        self.w.shape.rows as usize
    }

    /// Panics on a wrong input size or a failed tile; [`GpuZipperLinear::try_forward`] returns
    /// errors as values.
    fn forward(&self, x: &[f32], batch: usize) -> Vec<f32> {
        self.try_forward(x, batch).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The layer for `w` on `gpu` when one is given (the fused kernel), else the CPU
/// [`ZipperLinear`] (which decodes and checks every tile once here).
pub fn zipper_linear(w: PackedWeight, gpu: Option<&Arc<Gpu>>) -> Result<Box<dyn Linear>> {
    match gpu {
        Some(g) => Ok(Box::new(GpuZipperLinear::new(g.clone(), &w)?)),
        None => Ok(Box::new(ZipperLinear::new(w)?)),
    }
}
