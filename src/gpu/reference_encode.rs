//! FFI to the encoder of the reference build (`cuda/frame_encode.cu` compiled for the
//! host). The safe API over it is `crate::encode`.

use crate::abi::{cz_batch_item, cz_item_result};

extern "C" {
    fn cz_ref_compress_bound(src_size: u64) -> u64;
    fn cz_ref_encode_workspace_size(max_src_size: u64, level: i32) -> u64;
    fn cz_ref_encode_counters_size() -> u64;
    fn cz_ref_encode_batch(
        items: *const cz_batch_item,
        n: u32,
        level: i32,
        flags: u32,
        ws: *mut u8,
        ws_size: u64,
        results: *mut cz_item_result,
    );
    fn cz_ref_encode_prefixed(
        base: *const u8,
        prefix_size: u64,
        src_size: u64,
        dst: *mut u8,
        capacity: u64,
        level: i32,
        flags: u32,
        ws: *mut u8,
        ws_size: u64,
        out_size: *mut u64,
    ) -> u32;
}

/// Largest frame the encoder writes for `src_size` content bytes.
pub fn compress_bound(src_size: u64) -> u64 {
    // SAFETY: pure arithmetic.
    unsafe { cz_ref_compress_bound(src_size) }
}

/// Workspace bytes the encoder needs for one frame of at most `max_src_size` bytes.
pub fn workspace_size(max_src_size: u64, level: i32) -> u64 {
    // SAFETY: pure arithmetic.
    unsafe { cz_ref_encode_workspace_size(max_src_size, level) }
}

/// Bytes of the encoder's counters (`cz_encode_counters`), the shared memory one warp of the
/// GPU kernel takes.
pub fn counters_size() -> u64 {
    // SAFETY: pure arithmetic.
    unsafe { cz_ref_encode_counters_size() }
}

/// Encodes `srcs[i]` into `dsts[i]` (one frame each) with the reference build; one result
/// per item (status, bytes written).
///
/// # Panics
/// If `srcs` and `dsts` differ in length or there are 2^32 items or more.
pub fn encode_batch(srcs: &[&[u8]], dsts: &mut [&mut [u8]], level: i32, flags: u32) -> Vec<cz_item_result> {
    assert_eq!(srcs.len(), dsts.len(), "one destination per source");
    let n = u32::try_from(srcs.len()).expect("batch of more than 2^32 items");
    let items: Vec<cz_batch_item> = srcs
        .iter()
        .zip(dsts.iter_mut())
        .map(|(s, d)| cz_batch_item {
            src: s.as_ptr() as u64,
            src_size: s.len() as u64,
            dst: d.as_mut_ptr() as u64,
            dst_capacity: d.len() as u64,
        })
        .collect();
    let max = srcs.iter().map(|s| s.len() as u64).max().unwrap_or(0);
    let ws_bytes = workspace_size(max, level);
    // u128 elements: the workspace must be 16-byte aligned.
    let mut ws = vec![0u128; (ws_bytes as usize).div_ceil(16)];
    let mut results = vec![cz_item_result::default(); srcs.len()];
    // SAFETY: every item describes a live source slice (read only) and a live, distinct
    // destination slice of exactly dst_capacity bytes, which the encoder never writes past;
    // the workspace has ws_bytes bytes, 16-byte aligned, as cz_encode_workspace_size asks for
    // the largest item at this level; `results` has room for n results.
    unsafe {
        cz_ref_encode_batch(
            items.as_ptr(),
            n,
            level,
            flags,
            ws.as_mut_ptr().cast::<u8>(),
            ws.len() as u64 * 16,
            results.as_mut_ptr(),
        )
    };
    results
}

/// Encodes `joined[prefix..]` as one frame into `dst`, with `joined[..prefix]` as a
/// raw-content dictionary. Returns (status, bytes written).
///
/// # Panics
/// If `prefix > joined.len()`.
pub fn encode_prefixed(joined: &[u8], prefix: usize, dst: &mut [u8], level: i32, flags: u32) -> (u32, u64) {
    assert!(prefix <= joined.len(), "prefix longer than the buffer");
    let ws_bytes = workspace_size(joined.len() as u64, level);
    let mut ws = vec![0u128; (ws_bytes as usize).div_ceil(16)];
    let mut size = 0u64;
    // SAFETY: `joined` is read in full (prefix_size + src_size == joined.len()); `dst` is
    // written only inside its length; the workspace is 16-byte aligned and as large as
    // cz_encode_workspace_size asks for the whole buffer at this level.
    let status = unsafe {
        cz_ref_encode_prefixed(
            joined.as_ptr(),
            prefix as u64,
            (joined.len() - prefix) as u64,
            dst.as_mut_ptr(),
            dst.len() as u64,
            level,
            flags,
            ws.as_mut_ptr().cast::<u8>(),
            ws.len() as u64 * 16,
            &mut size,
        )
    };
    (status, size)
}
