//! FFI to the reference build of the fused zipper kernel (`cuda/zipper.cu` compiled for the
//! host). The safe API over it is `crate::zipper::kernel`.

use crate::abi::cz_item_result;
use crate::zipper::kernel::KernelShape;
use crate::zipper::PackedWeight;

extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn cz_ref_zipper_linear(
        bits: u32,
        x: *const f32,
        y: *mut f32,
        batch: u32,
        rows: u32,
        cols: u32,
        base: *const u8,
        scales: *const f32,
        spr: u32,
        group: u32,
        delta: *const u8,
        tile_offsets: *const u64,
        tile_rows: *const u32,
        tiles: u32,
        flags: u32,
        max_tile_bytes: u32,
        max_tile_rows: u32,
        workspace: *mut u64,
        scratch: *mut u8,
        results: *mut cz_item_result,
    );
    fn cz_ref_zp_f32_to_f16(x: f32) -> u16;
    fn cz_ref_zp_f16_to_f32(h: u16) -> f32;
    fn cz_ref_zp_f32_to_bf16(x: f32) -> u16;
}

/// Runs `cz_ref_zipper_linear` on `w` (whose shape `s` came from `KernelShape::of(w)`, so
/// every length the function reads is checked); returns Y (rows of failed tiles are 0) and one
/// result per tile. The caller checks `x.len() == batch * cols`.
pub fn linear(s: &KernelShape, w: &PackedWeight, x: &[f32], batch: usize) -> (Vec<f32>, Vec<cz_item_result>) {
    assert_eq!(x.len(), batch * s.cols as usize, "input size");
    let mut y = vec![0f32; batch * s.rows as usize];
    let mut results = vec![cz_item_result { status: 1, detail: 0, size: 0 }; s.tiles as usize];
    let mut ws = super::reference_decode::Workspace::new();
    let mut scratch = vec![0u8; (s.max_tile_bytes as usize).next_multiple_of(16) + 4 * (s.max_tile_rows as usize + 1)];
    // SAFETY: KernelShape::of checked base (rows × row_bytes), scales (rows × spr), tile
    // offsets (tiles + 1, from 0 to delta.len(), increasing) and row starts (tiles + 1, from
    // 0 to rows, increasing, each tile <= max_tile_rows rows); x holds batch × cols values, y
    // batch × rows, results one per tile; the workspace has the decoder's size and scratch
    // max_tile_bytes (rounded to 16) + 4 (max_tile_rows + 1) bytes, as the function requires.
    unsafe {
        cz_ref_zipper_linear(
            s.bits,
            x.as_ptr(),
            y.as_mut_ptr(),
            batch as u32,
            s.rows,
            s.cols,
            w.base.as_ptr(),
            w.scales.as_ptr(),
            s.spr,
            s.group,
            w.delta.as_ptr(),
            w.tile_offsets.as_ptr(),
            w.tile_rows.as_ptr(),
            s.tiles,
            s.flags,
            s.max_tile_bytes,
            s.max_tile_rows,
            ws.as_mut_ptr(),
            scratch.as_mut_ptr(),
            results.as_mut_ptr(),
        )
    };
    (y, results)
}

/// The kernels' f32 → f16 bits conversion (round to nearest even).
pub fn f32_to_f16(x: f32) -> u16 {
    // SAFETY: pure function.
    unsafe { cz_ref_zp_f32_to_f16(x) }
}

/// The kernels' f16 bits → f32 conversion.
pub fn f16_to_f32(h: u16) -> f32 {
    // SAFETY: pure function.
    unsafe { cz_ref_zp_f16_to_f32(h) }
}

/// The kernels' f32 → bf16 bits conversion (round to nearest even).
pub fn f32_to_bf16(x: f32) -> u16 {
    // SAFETY: pure function.
    unsafe { cz_ref_zp_f32_to_bf16(x) }
}
