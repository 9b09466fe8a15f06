//! FFI to the reference build: the `cuda/` sources compiled for the host by build.rs.
//! The safe API over it is `crate::reference`.

use std::ffi::{c_char, CStr};

use crate::abi::cz_batch_item;

extern "C" {
    fn cz_ref_xxh64_batch(items: *const cz_batch_item, n: u32, seed: u64, out: *mut u64);
    fn cz_ref_xxh64_streaming(p: *const u8, len: u64, cuts: *const u64, ncuts: u32, seed: u64) -> u64;
    fn cz_ref_abi_layout(out: *mut u64, cap: u32) -> u32;
    fn cz_ref_status_name(code: u32) -> *const c_char;
    fn cz_ref_status_message(code: u32) -> *const c_char;
}

fn item_for(buf: &[u8]) -> cz_batch_item {
    cz_batch_item { src: buf.as_ptr() as u64, src_size: buf.len() as u64, dst: 0, dst_capacity: 0 }
}

/// XXH64 of each input with `seed`, computed by the reference build.
pub fn xxh64_batch(inputs: &[&[u8]], seed: u64) -> Vec<u64> {
    let items: Vec<cz_batch_item> = inputs.iter().map(|b| item_for(b)).collect();
    let mut out = vec![0u64; inputs.len()];
    let n = u32::try_from(items.len()).expect("batch of more than 2^32 items");
    // SAFETY: every item points at a live slice of exactly src_size bytes, which the
    // function only reads; `out` has room for n hashes.
    unsafe { cz_ref_xxh64_batch(items.as_ptr(), n, seed, out.as_mut_ptr()) };
    out
}

/// XXH64 of `data` fed to the streaming state in pieces split at `cuts`.
pub fn xxh64_streaming(data: &[u8], cuts: &[u64], seed: u64) -> u64 {
    let ncuts = u32::try_from(cuts.len()).expect("too many cuts");
    // SAFETY: `data` and `cuts` are live for the call and only read; the function clamps
    // every cut to data.len().
    unsafe { cz_ref_xxh64_streaming(data.as_ptr(), data.len() as u64, cuts.as_ptr(), ncuts, seed) }
}

/// The ABI layout table as the host C++ compiler sees it.
pub fn abi_layout() -> Vec<u64> {
    let mut out = vec![0u64; 256];
    // SAFETY: the function writes at most `cap` entries into `out`.
    let n = unsafe { cz_ref_abi_layout(out.as_mut_ptr(), out.len() as u32) } as usize;
    assert!(n <= out.len(), "ABI layout table larger than the probe's buffer");
    out.truncate(n);
    out
}

fn static_str(p: *const c_char) -> Option<&'static str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null results point at string literals of the reference build, which are
    // NUL-terminated and live for the whole program.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// The name of a status code (`cuda/include/status.cuh`).
pub fn status_name(code: u32) -> Option<&'static str> {
    // SAFETY: pure lookup in a static table.
    static_str(unsafe { cz_ref_status_name(code) })
}

/// The message of a status code (`cuda/include/status.cuh`).
pub fn status_message(code: u32) -> Option<&'static str> {
    // SAFETY: pure lookup in a static table.
    static_str(unsafe { cz_ref_status_message(code) })
}
