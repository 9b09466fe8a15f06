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
        huf_dt: *const u16,
        huf_log: u32,
        dict_id: u32,
        dict: *const u8,
        dict_size: u64,
        results: *mut cz_item_result,
    );
    fn cz_ref_literal_dictionary(counts: *const u32, id: u32, dict: *mut u8, capacity: u64) -> u64;
    fn cz_ref_literal_frame(
        src: *const u8,
        n: u64,
        counts: *const u32,
        dict_id: u32,
        dst: *mut u8,
        capacity: u64,
        out_size: *mut u64,
    ) -> u32;
    fn cz_ref_literal_frame_decode(
        src: *const u8,
        size: u64,
        dst: *mut u8,
        capacity: u64,
        dtable: *const u16,
        log: u32,
        dict_id: u32,
        written: *mut u64,
    ) -> u32;
    fn cz_ref_literal_dictionary_table(
        dict: *const u8,
        size: u64,
        dtable: *mut u16,
        log: *mut u32,
        id: *mut u32,
    ) -> u32;
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
    // A dictionary that has no Huffman table leaves huf_log 0: every tile then goes to the
    // frame decoder with the dictionary, which reports it.
    let table = if w.dict.is_empty() { None } else { dictionary_table(&w.dict).ok() };
    let (dt, log, id) = table.unwrap_or_else(|| (vec![0u16; HUF_DTABLE_ENTRIES], 0, 0));
    // SAFETY: KernelShape::of checked base (rows × row_bytes), scales (rows × spr), tile
    // offsets (tiles + 1, from 0 to delta.len(), increasing) and row starts (tiles + 1, from
    // 0 to rows, increasing, each tile <= max_tile_rows rows); x holds batch × cols values, y
    // batch × rows, results one per tile; the workspace has the decoder's size and scratch
    // max_tile_bytes (rounded to 16) + 4 (max_tile_rows + 1) bytes, as the function requires;
    // dt holds the full decoding table (HUF_DTABLE_ENTRIES) of log bits, the dictionary its
    // length.
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
            dt.as_ptr(),
            log,
            id,
            w.dict.as_ptr(),
            w.dict.len() as u64,
            results.as_mut_ptr(),
        )
    };
    (y, results)
}

/// Entries of a Huffman decoding table as the kernels keep it (`CZ_HUF_DTABLE_SIZE`).
pub const HUF_DTABLE_ENTRIES: usize = 1 << 12;

/// The literal dictionary (`cz_write_literal_dictionary`) with ID `id` for content whose byte
/// counts are `counts`.
pub fn literal_dictionary(counts: &[u32; 256], id: u32) -> Vec<u8> {
    let mut out = vec![0u8; 1024];
    // SAFETY: counts holds 256 counters; out is writable for its length, passed as capacity.
    let n = unsafe { cz_ref_literal_dictionary(counts.as_ptr(), id, out.as_mut_ptr(), out.len() as u64) };
    // A table description is at most 129 bytes and the FSE tables well under 200: 1 KiB
    // always suffices.
    assert!(n > 0, "literal dictionary does not fit 1 KiB");
    out.truncate(n as usize);
    out
}

/// `src` as one literal frame (`cz_encode_literal_frame`) for the dictionary with ID `id`
/// built from `counts`; the error is the encoder's status.
pub fn literal_frame(src: &[u8], counts: &[u32; 256], id: u32) -> Result<Vec<u8>, u32> {
    let cap = src.len() + src.len() / 128 + 64 + 7 * 8;
    let mut out = vec![0u8; cap];
    let mut size = 0u64;
    // SAFETY: src is readable for its length, counts holds 256 counters, out is writable for
    // cap bytes (passed as the capacity), size is a valid u64.
    let st = unsafe {
        cz_ref_literal_frame(
            src.as_ptr(),
            src.len() as u64,
            counts.as_ptr(),
            id,
            out.as_mut_ptr(),
            cap as u64,
            &mut size,
        )
    };
    if st != 0 {
        return Err(st);
    }
    out.truncate(size as usize);
    Ok(out)
}

/// The Huffman decoding table of a zstd-format dictionary: the `HUF_DTABLE_ENTRIES` entries,
/// its log and the dictionary's ID; the error is the reader's status.
pub fn dictionary_table(dict: &[u8]) -> Result<(Vec<u16>, u32, u32), u32> {
    let mut dt = vec![0u16; HUF_DTABLE_ENTRIES];
    let (mut log, mut id) = (0u32, 0u32);
    // SAFETY: dict is readable for its length; dt holds the HUF_DTABLE_ENTRIES entries the
    // function fills; log and id are valid u32s.
    let st = unsafe {
        cz_ref_literal_dictionary_table(dict.as_ptr(), dict.len() as u64, dt.as_mut_ptr(), &mut log, &mut id)
    };
    if st != 0 {
        return Err(st);
    }
    Ok((dt, log, id))
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

/// The fused kernel's literal-frame decode (`cz_decode_literal_frame`) of `frame` into at most
/// `capacity` bytes with a table from [`dictionary_table`]; None when it declines the frame.
pub fn literal_frame_decode(frame: &[u8], capacity: usize, dt: &[u16], log: u32, dict_id: u32) -> Option<Vec<u8>> {
    assert_eq!(dt.len(), HUF_DTABLE_ENTRIES, "decoding table size");
    let mut out = vec![0u8; capacity];
    let mut written = 0u64;
    // SAFETY: frame is readable for its length, out writable for capacity bytes, dt holds a
    // full table (asserted) whose entries below 1 << log were filled by the table reader
    // (log <= 12), written is a valid u64.
    let ok = unsafe {
        cz_ref_literal_frame_decode(
            frame.as_ptr(),
            frame.len() as u64,
            out.as_mut_ptr(),
            capacity as u64,
            dt.as_ptr(),
            log,
            dict_id,
            &mut written,
        )
    };
    (ok == 1).then(|| {
        out.truncate(written as usize);
        out
    })
}
