//! The fused layer kernel's side of a packed weight, without a device: the launch geometry
//! (`cuda/zipper.cu`), the checks that make a launch safe, the shared-memory plan, and the
//! reference build of the kernel (the same tile checks and weight reconstruction on the CPU).
//!
//! X and Y are f32 (as in [`super::ZipperLinear`]): `Y[b][r] = Σ_c X[b][c] · Ŵ[r][c]`.

use super::container::PackedWeight;
use super::delta::HalfKind;
use super::quant::BaseKind;
use super::tile::{TileLayout, MAX_COLS};
use super::{tensor_err, tile_err, Result, ZipperError};
use crate::abi::cz_item_result;
use crate::error::Status;

/// Threads of one block of the fused kernel (`ZP_BLOCK`): warp 0 decodes, warps 1..7 compute.
pub const BLOCK: u32 = 256;
/// Shared memory for staged X rows the planner aims for (more rows are staged per pass when
/// they fit in this; one row is always staged).
pub const X_STAGE_BYTES: usize = 64 << 10;
/// Static shared memory of the kernel (status words and the decoder's entropy tables and
/// table-reading scratch, `cz_decode_tables`), rounded up.
pub const STATIC_SHARED_BYTES: usize = 17 << 10;

/// `zp_flags` of `cuda/zipper.cu`.
pub const FLAG_PLANES: u32 = 1;
pub const FLAG_ROUND_F16: u32 = 2;
pub const FLAG_ROUND_BF16: u32 = 4;
/// Launch-only flag: skip the delta (no frame read), `Y = X · base`.
pub const FLAG_BASE_ONLY: u32 = 8;

/// Everything the kernel needs to know about a weight besides its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelShape {
    pub rows: u32,
    pub cols: u32,
    /// 8 (INT8) or 4 (INT4).
    pub bits: u32,
    /// Scales per row.
    pub spr: u32,
    /// INT4 group size (columns per scale); `cols` rounded up for INT8 (unused there).
    pub group: u32,
    pub flags: u32,
    pub max_tile_bytes: u32,
    /// Most rows of any tile of this weight.
    pub max_tile_rows: u32,
    pub tiles: u32,
}

fn align16(v: usize) -> usize {
    v.next_multiple_of(16)
}

impl KernelShape {
    /// Checks everything the kernel's host contract requires of `w` (lengths of the base and
    /// scales, tile offsets from 0 to the delta's length and row starts from 0 to `rows`, both
    /// strictly increasing, `cols <= 65536`) and returns its launch shape. Errors name the tensor.
    pub fn of(w: &PackedWeight) -> Result<Self> {
        let bad = |m: String| tensor_err(&w.name, m);
        if w.cols == 0 || w.cols > MAX_COLS || w.rows > u32::MAX as usize {
            return Err(bad(format!("shape {} × {} is outside the kernel's range (cols 1..=65536)", w.rows, w.cols)));
        }
        let row_bytes = w.kind.row_bytes(w.cols);
        let spr = w.kind.scales_per_row(w.cols);
        if w.base.len() != w.rows * row_bytes {
            return Err(bad(format!("base holds {} bytes, should be {}", w.base.len(), w.rows * row_bytes)));
        }
        if w.scales.len() != w.rows * spr {
            return Err(bad(format!("scales hold {} values, should be {}", w.scales.len(), w.rows * spr)));
        }
        let tiles = w.tile_offsets.len().saturating_sub(1);
        if w.tile_rows.len() != tiles + 1 || tiles > u32::MAX as usize {
            return Err(bad(format!(
                "{} tile offsets and {} row starts, should be tiles + 1 each",
                w.tile_offsets.len(),
                w.tile_rows.len()
            )));
        }
        if w.tile_offsets.first() != Some(&0) || w.tile_offsets.last() != Some(&(w.delta.len() as u64)) {
            return Err(bad("tile offsets do not run from 0 to the delta's length".into()));
        }
        if w.tile_rows.first() != Some(&0) || w.tile_rows.last().map(|&r| r as usize) != Some(w.rows) {
            return Err(bad("tile row starts do not run from 0 to rows".into()));
        }
        let mut max_tile_rows = 0u32;
        for t in 0..tiles {
            if w.tile_offsets[t + 1] <= w.tile_offsets[t] {
                return Err(tile_err(&w.name, t, "tile offsets are not strictly increasing"));
            }
            if w.tile_rows[t + 1] <= w.tile_rows[t] {
                return Err(tile_err(&w.name, t, "tile row starts are not strictly increasing"));
            }
            max_tile_rows = max_tile_rows.max(w.tile_rows[t + 1] - w.tile_rows[t]);
        }
        let max_tile_bytes = u32::try_from(w.max_tile_bytes).map_err(|_| bad("tile bound over 4 GiB".into()))?;
        let (bits, group) = match w.kind {
            BaseKind::Int8 => (8, w.cols as u32),
            BaseKind::Int4 { group } => (4, group as u32),
        };
        let mut flags = if w.layout == TileLayout::Planes { FLAG_PLANES } else { 0 };
        flags |= match w.round_to {
            None => 0,
            Some(HalfKind::F16) => FLAG_ROUND_F16,
            Some(HalfKind::Bf16) => FLAG_ROUND_BF16,
        };
        Ok(KernelShape {
            rows: w.rows as u32,
            cols: w.cols as u32,
            bits,
            spr: spr as u32,
            group,
            flags,
            max_tile_bytes,
            max_tile_rows,
            tiles: tiles as u32,
        })
    }

    /// Floats per staged X row (`zp_x_stride`).
    pub fn x_stride(&self) -> usize {
        (self.cols as usize).next_multiple_of(8)
    }

    /// Dynamic shared memory of one block for `batch` inputs with `x_rows` staged at a time
    /// (`zp_shared_bytes` in `cuda/zipper.cu`).
    pub fn shared_bytes(&self, batch: usize, x_rows: usize) -> usize {
        let mtr = self.max_tile_rows as usize;
        align16(self.max_tile_bytes as usize)
            + align16(4 * mtr * batch)
            + align16(4 * (mtr + 1))
            + 4 * x_rows * self.x_stride()
    }

    /// X rows staged per pass for `batch` inputs: all of them when they fit in
    /// [`X_STAGE_BYTES`], else as many as fit (at least one), such that the block's shared
    /// memory stays within `limit` bytes (the device's opt-in maximum). Errors when even one
    /// row does not fit.
    pub fn plan_x_rows(&self, batch: usize, limit: usize) -> Result<usize> {
        if batch == 0 {
            return Err(ZipperError::InvalidArgument("batch is 0".into()));
        }
        let row = 4 * self.x_stride();
        let fixed = self.shared_bytes(batch, 0) + STATIC_SHARED_BYTES;
        let room = limit.saturating_sub(fixed);
        if room < row {
            return Err(ZipperError::InvalidArgument(format!(
                "fused kernel needs {} bytes of shared memory for batch {batch} ({} columns, tiles of up to {} rows \
                 and {} bytes), the device gives {limit}",
                fixed + row,
                self.cols,
                self.max_tile_rows,
                self.max_tile_bytes
            )));
        }
        let want = (X_STAGE_BYTES / row).max(1);
        Ok(batch.min(want).min(room / row))
    }
}

/// What a streaming model may copy from host memory per run (see `gpu::zipper_stream`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamMode {
    /// Bases and deltas resident (nothing copied per run).
    Resident,
    /// Bases resident; deltas streamed unless they fit in the budget.
    Deltas,
    /// Bases and deltas streamed unless they fit in the budget.
    Everything,
}

/// Which parts of each layer stay on the device: `(base, delta)` bytes per layer in, `(keep
/// base, keep delta)` per layer out. Under `mode`, a layer's streamable parts stay resident
/// while the running total of resident streamable bytes (in layer order) is within `budget`;
/// parts that are not streamable under `mode`, and empty parts, always stay.
pub fn plan_residency(parts: &[(usize, usize)], mode: StreamMode, budget: usize) -> Vec<(bool, bool)> {
    let stream_base = mode == StreamMode::Everything;
    let stream_delta = mode != StreamMode::Resident;
    let mut used = 0usize;
    parts
        .iter()
        .map(|&(base, delta)| {
            let movable = if stream_base { base } else { 0 } + if stream_delta { delta } else { 0 };
            let keep_all = mode == StreamMode::Resident || used.saturating_add(movable) <= budget;
            if keep_all {
                used += movable;
            }
            (keep_all || !stream_base || base == 0, keep_all || !stream_delta || delta == 0)
        })
        .collect()
}

/// Turns per-tile results into the first error, naming the tensor and tile.
pub fn check_results(name: &str, results: &[cz_item_result]) -> Result<()> {
    for (t, r) in results.iter().enumerate() {
        if r.status != 0 {
            return Err(tile_err(
                name,
                t,
                format!("delta tile failed in the fused kernel: {} (detail {:#x})", Status(r.status), r.detail),
            ));
        }
    }
    Ok(())
}

/// `Y = X · Ŵᵀ` with the reference build of the fused kernel (`cz_ref_zipper_linear`): the
/// kernel's own decoder call, tile checks and weight reconstruction, on one CPU thread.
/// Errors name the tensor and the first failing tile.
pub fn reference_forward(w: &PackedWeight, x: &[f32], batch: usize) -> Result<Vec<f32>> {
    let s = KernelShape::of(w)?;
    if x.len() != batch * w.cols {
        return Err(ZipperError::InvalidArgument(format!(
            "{}: input has {} values, should be {batch} × {}",
            w.name,
            x.len(),
            w.cols
        )));
    }
    let (y, results) = crate::gpu::reference_zipper::linear(&s, w, x, batch);
    check_results(&w.name, &results)?;
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(cols: u32, mtr: u32, mtb: u32) -> KernelShape {
        KernelShape {
            rows: 100,
            cols,
            bits: 8,
            spr: 1,
            group: cols,
            flags: 0,
            max_tile_bytes: mtb,
            max_tile_rows: mtr,
            tiles: 7,
        }
    }

    #[test]
    fn residency_follows_the_mode_and_the_budget_in_layer_order() {
        let parts = [(100, 10), (200, 20), (50, 5), (0, 0)];
        assert_eq!(plan_residency(&parts, StreamMode::Resident, 0), vec![(true, true); 4]);
        assert_eq!(
            plan_residency(&parts, StreamMode::Deltas, 0),
            vec![(true, false), (true, false), (true, false), (true, true)]
        );
        // 10 fits, 10 + 20 does not, 10 + 5 does.
        assert_eq!(
            plan_residency(&parts, StreamMode::Deltas, 15),
            vec![(true, true), (true, false), (true, true), (true, true)]
        );
        assert_eq!(
            plan_residency(&parts, StreamMode::Everything, 110),
            vec![(true, true), (false, false), (false, false), (true, true)]
        );
        assert_eq!(plan_residency(&parts, StreamMode::Everything, usize::MAX), vec![(true, true); 4]);
    }

    #[test]
    fn shared_memory_plan_matches_the_kernel_layout_and_respects_the_limit() {
        let s = shape(4096, 16, 49152);
        // delta 49152 + ybuf 16·1·4 + row starts 17·4 → 80 + X 1·4096·4
        assert_eq!(s.shared_bytes(1, 1), 49152 + 64 + 80 + 16384);
        assert_eq!(s.plan_x_rows(1, 227 << 10).unwrap(), 1);
        assert_eq!(s.plan_x_rows(64, 227 << 10).unwrap(), 4); // 64 KiB of 16 KiB rows
        let odd = shape(11001, 16, 49152);
        assert_eq!(odd.x_stride(), 11008);
        assert_eq!(odd.plan_x_rows(3, 227 << 10).unwrap(), 1);
        // A limit that leaves room for two rows caps the staging at two.
        let lim = s.shared_bytes(64, 2) + STATIC_SHARED_BYTES;
        assert_eq!(s.plan_x_rows(64, lim).unwrap(), 2);
        assert!(s.plan_x_rows(64, lim - 4 * 4096 - 1).is_err());
        assert!(s.plan_x_rows(0, 227 << 10).is_err());
    }
}
