//! The host-to-host side of the batch calls (`BatchCompressor`, `BatchDecompressor`):
//! inputs packed into pinned memory, copied to pooled device memory with one destination
//! slot per input, one launch, then results and outputs copied back.

use cudarc::driver::{CudaView, CudaViewMut};

use super::{device_address, Gpu};
use crate::abi::{cz_batch_item, cz_item_result, CZ_STATUS_INTERNAL, CZ_STATUS_OK};
use crate::error::{CudaContext as _, Error, Result, Status};

/// Alignment of every staged input, destination slot and workspace slot.
pub(crate) const ALIGN: usize = 256;

/// Offsets of `sizes` packed back to back at [`ALIGN`], and the total (at least one ALIGN).
fn pack(sizes: impl Iterator<Item = usize>) -> (Vec<usize>, usize) {
    let mut offsets = Vec::new();
    let mut total = 0usize;
    for s in sizes {
        offsets.push(total);
        total = (total + s).next_multiple_of(ALIGN);
    }
    (offsets, total.max(ALIGN))
}

/// Stages `inputs` with a destination of `capacities[i]` bytes each, hands the launch the
/// descriptors, a workspace of `workspace_bytes` and room for one result per input, and
/// returns each input's output (`Error::Item` with the input's index where the device
/// reported a failure). The outer error is a device failure.
///
/// `launch` must enqueue on `gpu.stream()` a kernel that reads each descriptor's source
/// range, writes at most its destination capacity, uses only the workspace given, and writes
/// all results; the buffers it is given live until the copies that follow it.
pub(crate) fn run_batch(
    gpu: &Gpu,
    inputs: &[&[u8]],
    capacities: &[usize],
    workspace_bytes: usize,
    launch: impl FnOnce(
        &CudaView<'_, cz_batch_item>,
        &mut CudaViewMut<'_, u8>,
        &mut CudaViewMut<'_, cz_item_result>,
    ) -> Result<()>,
) -> Result<Vec<Result<Vec<u8>>>> {
    if inputs.len() != capacities.len() {
        return Err(Error::InvalidArgument(format!("{} inputs and {} capacities", inputs.len(), capacities.len())));
    }
    let n = inputs.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let stream = gpu.stream();
    let (src_off, src_total) = pack(inputs.iter().map(|s| s.len()));
    let (dst_off, dst_total) = pack(capacities.iter().copied());

    let mut staging = gpu.pinned_pool().alloc(src_total)?;
    {
        let host = staging.buf_mut().as_mut_slice().ctx("mapping pinned memory")?;
        for (s, &o) in inputs.iter().zip(&src_off) {
            host[o..o + s.len()].copy_from_slice(s);
        }
    }
    let mut d_src = gpu.pool().alloc(src_total)?;
    {
        let mut dst = d_src.buf_mut().slice_mut(..src_total);
        stream
            .memcpy_htod(&staging.buf().as_slice().ctx("mapping pinned memory")?[..src_total], &mut dst)
            .ctx("copying inputs to the device")?;
    }
    let d_dst = gpu.pool().alloc(dst_total)?;
    let mut d_ws = gpu.pool().alloc(workspace_bytes.max(1))?;
    let (src_base, dst_base) = (device_address(d_src.buf(), stream), device_address(d_dst.buf(), stream));
    let items: Vec<cz_batch_item> = (0..n)
        .map(|i| cz_batch_item {
            src: src_base + src_off[i] as u64,
            src_size: inputs[i].len() as u64,
            dst: dst_base + dst_off[i] as u64,
            dst_capacity: capacities[i] as u64,
        })
        .collect();
    let d_items = stream.clone_htod(&items).ctx("copying descriptors")?;
    let mut d_results = gpu.pool().alloc(n * std::mem::size_of::<cz_item_result>())?;
    let results = {
        // SAFETY: the pooled buffer holds at least n results, and every bit pattern of
        // cz_item_result ({u32, u32, u64}) is a valid value; the kernel writes all n.
        let mut res =
            unsafe { d_results.buf_mut().transmute_mut::<cz_item_result>(n) }.expect("pooled buffer holds n results");
        let mut ws = d_ws.buf_mut().slice_mut(..workspace_bytes.max(1));
        launch(&d_items.as_view(), &mut ws, &mut res)?;
        stream.clone_dtoh(&res).ctx("copying results back")?
    };
    let host = stream.clone_dtoh(&d_dst.buf().slice(..dst_total)).ctx("copying outputs back")?;
    Ok(results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.status != CZ_STATUS_OK {
                return Err(Error::Item { index: i, status: Status(r.status) });
            }
            if r.size as usize > capacities[i] {
                return Err(Error::Item { index: i, status: Status(CZ_STATUS_INTERNAL) });
            }
            Ok(host[dst_off[i]..dst_off[i] + r.size as usize].to_vec())
        })
        .collect())
}
