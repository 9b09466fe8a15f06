//! FFI to the decoder of the reference build (`cuda/frame_decode.cu` compiled for the host).
//! The safe API over it is `crate::decode`.

use crate::abi::{cz_batch_item, cz_item_result};

extern "C" {
    fn cz_ref_decode_workspace_size() -> u64;
    fn cz_ref_decode_all(
        src: *const u8,
        src_size: u64,
        dst: *mut u8,
        dst_capacity: u64,
        dict: *const u8,
        dict_size: u64,
        workspace: *mut u64,
        max_window_size: u64,
        written: *mut u64,
        detail: *mut u32,
    ) -> u32;
    fn cz_ref_decode_staged(
        src: *const u8,
        src_size: u64,
        dst: *mut u8,
        dst_capacity: u64,
        dict: *const u8,
        dict_size: u64,
        workspace: *mut u64,
        ws_size: u64,
        max_window_size: u64,
        solo: u32,
        written: *mut u64,
        detail: *mut u32,
        staged: *mut u32,
    ) -> u32;
    fn cz_ref_decode_split(
        src: *const u8,
        src_size: u64,
        dst: *mut u8,
        dst_capacity: u64,
        dict: *const u8,
        dict_size: u64,
        workspace: *mut u64,
        max_window_size: u64,
        written: *mut u64,
        detail: *mut u32,
        split: *mut u32,
    ) -> u32;
    fn cz_ref_staged_mode_offset() -> u64;
    fn cz_ref_staged_sequences_smem() -> u64;
    fn cz_ref_staged_solo_smem() -> u64;
    fn cz_ref_staged_solo_out_smem() -> u64;
    fn cz_ref_decode_batch(
        items: *const cz_batch_item,
        n: u32,
        dict: *const u8,
        dict_size: u64,
        workspace: *mut u64,
        max_window_size: u64,
        results: *mut cz_item_result,
    );
    fn cz_ref_scan_frames(
        src: *const u8,
        src_size: u64,
        content_total: *mut u64,
        all_known: *mut u32,
        bound: *mut u64,
        max_window: *mut u64,
    ) -> u32;
    fn cz_ref_dictionary_check(
        dict: *const u8,
        size: u64,
        workspace: *mut u64,
        id: *mut u32,
        content_size: *mut u64,
    ) -> u32;
    fn cz_ref_fse_predefined_ok() -> u32;
}

/// Bytes of the decoder workspace (`cz_decode_workspace_size()` in `cuda/include/frame_decode.cuh`).
pub fn workspace_size() -> usize {
    // SAFETY: pure function of the build.
    unsafe { cz_ref_decode_workspace_size() as usize }
}

/// A decoder workspace: 8-byte aligned host memory of [`workspace_size`] bytes.
pub struct Workspace(Vec<u64>);

impl Workspace {
    pub fn new() -> Self {
        Workspace(vec![0u64; workspace_size().div_ceil(8)])
    }
}

impl Workspace {
    /// Start of the workspace, for FFI calls that take it.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u64 {
        self.0.as_mut_ptr()
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

fn dict_parts(dict: Option<&[u8]>) -> (*const u8, u64) {
    match dict {
        Some(d) => (d.as_ptr(), d.len() as u64),
        None => (std::ptr::null(), 0),
    }
}

/// Decodes every frame of `src` into `dst`; returns (status, bytes written, detail).
pub fn decode_all(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&[u8]>,
    ws: &mut Workspace,
    max_window_size: u64,
) -> (u32, usize, u32) {
    let (dp, ds) = dict_parts(dict);
    let mut written = 0u64;
    let mut detail = 0u32;
    // SAFETY: src and dict are live slices only read within their lengths; dst is written
    // only within dst.len(); the workspace holds workspace_size() bytes, 8-byte aligned, and
    // is borrowed mutably for the call; the out-pointers are valid locals.
    let st = unsafe {
        cz_ref_decode_all(
            src.as_ptr(),
            src.len() as u64,
            dst.as_mut_ptr(),
            dst.len() as u64,
            dp,
            ds,
            ws.0.as_mut_ptr(),
            max_window_size,
            &mut written,
            &mut detail,
        )
    };
    (st, written as usize, detail)
}

/// Decodes one item with the fused zipper kernel's two-team decode
/// (`cuda/include/frame_decode.cuh`, "one frame decoded by two teams"), its parts run one after
/// another, falling back to the frame decoder where they do not take it, as the kernel does;
/// returns (status, bytes written, detail, whether the split parts decoded it).
pub fn decode_split(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&[u8]>,
    ws: &mut Workspace,
    max_window_size: u64,
) -> (u32, usize, u32, bool) {
    let (dp, ds) = dict_parts(dict);
    let (mut written, mut detail, mut split) = (0u64, 0u32, 0u32);
    // SAFETY: src and dict are live slices only read within their lengths; dst is written
    // only within dst.len(); the workspace holds workspace_size() bytes, 8-byte aligned, and
    // is borrowed mutably for the call; the out-pointers are valid locals.
    let st = unsafe {
        cz_ref_decode_split(
            src.as_ptr(),
            src.len() as u64,
            dst.as_mut_ptr(),
            dst.len() as u64,
            dp,
            ds,
            ws.0.as_mut_ptr(),
            max_window_size,
            &mut written,
            &mut detail,
            &mut split,
        )
    };
    (st, written as usize, detail, split != 0)
}

/// Decodes one item with the staged decoder's passes (`cuda/include/staged_decode.cuh`),
/// falling back to the frame decoder where they do not take it, as the staged kernels do;
/// returns (status, bytes written, detail, whether the staged passes decoded it). The
/// passes keep the item's sequences in the workspace, so its size bounds how many they take.
/// With `solo` the sequences pass is the small-batch form (a team per item) instead of the
/// thread-per-item one.
pub fn decode_staged(
    src: &[u8],
    dst: &mut [u8],
    dict: Option<&[u8]>,
    ws: &mut Workspace,
    max_window_size: u64,
    solo: bool,
) -> (u32, usize, u32, bool) {
    let (dp, ds) = dict_parts(dict);
    let (mut written, mut detail, mut staged) = (0u64, 0u32, 0u32);
    // SAFETY: as decode_all; the workspace is 8-byte aligned and ws.0.len() * 8 bytes long,
    // the size passed.
    let st = unsafe {
        cz_ref_decode_staged(
            src.as_ptr(),
            src.len() as u64,
            dst.as_mut_ptr(),
            dst.len() as u64,
            dp,
            ds,
            ws.0.as_mut_ptr(),
            ws.0.len() as u64 * 8,
            max_window_size,
            u32::from(solo),
            &mut written,
            &mut detail,
            &mut staged,
        )
    };
    (st, written as usize, detail, staged != 0)
}

/// Offset in a workspace slot of the staged decoder's mode word (`cz_staged_state::mode`).
pub fn staged_mode_offset() -> usize {
    // SAFETY: pure function of the build.
    unsafe { cz_ref_staged_mode_offset() as usize }
}

/// Dynamic shared memory of the staged sequences kernel (`CZ_STAGED_SEQ_SMEM`): each
/// lane's read-ahead ring and sequence tables.
pub fn staged_sequences_smem() -> u32 {
    // SAFETY: pure function of the build.
    unsafe { cz_ref_staged_sequences_smem() as u32 }
}

/// Dynamic shared memory of the small-batch sequences kernel (`cz_decode_staged_sequences_solo`):
/// its copy of a block's sequence bitstream.
pub fn staged_solo_smem() -> u32 {
    // SAFETY: pure function of the build.
    unsafe { cz_ref_staged_solo_smem() as u32 }
}

/// Dynamic shared memory of the small-batch execute kernel (`cz_decode_staged_execute_solo`):
/// the content it builds an item in.
pub fn staged_solo_out_smem() -> u32 {
    // SAFETY: pure function of the build.
    unsafe { cz_ref_staged_solo_out_smem() as u32 }
}

/// Decodes a batch like the GPU kernel: `srcs[i]` into `dsts[i]`, one result per item.
pub fn decode_batch(
    srcs: &[&[u8]],
    dsts: &mut [&mut [u8]],
    dict: Option<&[u8]>,
    ws: &mut Workspace,
    max_window_size: u64,
) -> Vec<cz_item_result> {
    assert_eq!(srcs.len(), dsts.len(), "one destination per source");
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
    let mut results = vec![cz_item_result::default(); items.len()];
    let n = u32::try_from(items.len()).expect("batch of more than 2^32 items");
    let (dp, ds) = dict_parts(dict);
    // SAFETY: each item describes a live source slice (read only) and a live, distinct,
    // mutably borrowed destination slice; `results` has n entries; the workspace is valid
    // as in decode_all.
    unsafe { cz_ref_decode_batch(items.as_ptr(), n, dp, ds, ws.0.as_mut_ptr(), max_window_size, results.as_mut_ptr()) };
    results
}

/// What `cz_scan_frames` reports: (status, content total, all frames have a content size,
/// output bound, largest window).
pub fn scan_frames(src: &[u8]) -> (u32, u64, bool, u64, u64) {
    let (mut total, mut known, mut bound, mut window) = (0u64, 0u32, 0u64, 0u64);
    // SAFETY: src is only read within its length; out-pointers are valid locals.
    let st =
        unsafe { cz_ref_scan_frames(src.as_ptr(), src.len() as u64, &mut total, &mut known, &mut bound, &mut window) };
    (st, total, known != 0, bound, window)
}

/// Loads a dictionary as the decoder would: (status, Dictionary_ID, content size).
pub fn dictionary_check(dict: &[u8], ws: &mut Workspace) -> (u32, u32, u64) {
    let (mut id, mut csize) = (0u32, 0u64);
    // SAFETY: dict is only read within its length; the workspace is valid as in decode_all.
    let st =
        unsafe { cz_ref_dictionary_check(dict.as_ptr(), dict.len() as u64, ws.0.as_mut_ptr(), &mut id, &mut csize) };
    (st, id, csize)
}

/// Whether the decoder's constant predefined FSE tables (`cuda/include/fse_predefined.cuh`) equal
/// the tables the FSE builder makes from the predefined distributions.
pub fn fse_predefined_tables_ok() -> bool {
    // SAFETY: pure function of the build's constants.
    unsafe { cz_ref_fse_predefined_ok() != 0 }
}

#[cfg(test)]
extern "C" {
    fn cz_ref_lane_reader_probe(stream: *const u8, size: u64, widths: *const u8, groups: u64, values: *mut u32) -> u32;
    fn cz_ref_rep_scan_probe(of_values: *const u32, lls: *const u32, n: u32, offs: *mut u32, hist: *mut u32);
    #[allow(clippy::too_many_arguments)]
    fn cz_ref_huf_stream_probe(
        desc: *const u8,
        desc_size: u64,
        src: *const u8,
        size: u64,
        n: u32,
        warp: u32,
        fast: *mut u8,
        serial: *mut u8,
        st_fast: *mut u32,
        st_serial: *mut u32,
        log: *mut u32,
    ) -> u32;
}

/// One Huffman stream decoded by the decoder's `cz_huf_decode_stream` (or, with `warp`,
/// `cz_huf_decode_stream_warp`) and by a bit-serial reading of the same table (see
/// `cz_ref_huf_stream_probe`), from the tree description `desc`: the table log, then (output,
/// status) of each for `n` symbols of `stream`, the decoder's output starting `shift` bytes
/// into its buffer (its alignment). `None` when the description is rejected.
#[cfg(test)]
#[allow(clippy::type_complexity)]
fn huf_stream_probe(
    desc: &[u8],
    stream: &[u8],
    n: usize,
    shift: usize,
    warp: bool,
) -> Option<(u32, (Vec<u8>, u32), (Vec<u8>, u32))> {
    let mut fast = vec![0xA5u8; n + shift + 8];
    let mut serial = vec![0xA5u8; n + 8];
    let (mut st_fast, mut st_serial, mut log) = (0u32, 0u32, 0u32);
    // SAFETY: desc and stream are live for their lengths; fast[shift ..] and serial hold at
    // least n bytes, what the probe writes; the three u32s are live.
    let r = unsafe {
        cz_ref_huf_stream_probe(
            desc.as_ptr(),
            desc.len() as u64,
            stream.as_ptr(),
            stream.len() as u64,
            n as u32,
            u32::from(warp),
            fast[shift..].as_mut_ptr(),
            serial.as_mut_ptr(),
            &mut st_fast,
            &mut st_serial,
            &mut log,
        )
    };
    (r == 1).then(|| (log, (fast[shift..].to_vec(), st_fast), (serial, st_serial)))
}

/// The small-batch sequences pass's repeat-offset scan (see `cz_ref_rep_scan_probe`) over up
/// to 32 sequences (offset value, literal length) from `hist`: each sequence's offset, and
/// the history after the last.
#[cfg(test)]
fn rep_scan_probe(seqs: &[(u32, u32)], hist: [u32; 3]) -> (Vec<u32>, [u32; 3]) {
    assert!(seqs.len() <= 32);
    let of_values: Vec<u32> = seqs.iter().map(|s| s.0).collect();
    let lls: Vec<u32> = seqs.iter().map(|s| s.1).collect();
    let mut offs = vec![0u32; seqs.len()];
    let mut h = hist;
    // SAFETY: the three arrays hold seqs.len() values each and h three, what the probe
    // reads and writes.
    unsafe {
        cz_ref_rep_scan_probe(of_values.as_ptr(), lls.as_ptr(), seqs.len() as u32, offs.as_mut_ptr(), h.as_mut_ptr())
    };
    (offs, h)
}

/// The staged sequences pass's bit reader over `stream` (see `cz_ref_lane_reader_probe`):
/// the values of the reads `widths` names (3 initial reads, then groups of 6), and whether
/// they consumed the stream exactly; `None` when the stream has no end marker.
#[cfg(test)]
fn lane_reader_probe(stream: &[u8], widths: &[u8]) -> Option<(Vec<u32>, bool)> {
    assert!(widths.len() >= 3 && (widths.len() - 3) % 6 == 0);
    assert!(widths.iter().all(|&w| w <= 32));
    let groups = (widths.len() - 3) / 6;
    assert!(widths[3..].chunks(6).all(|g| g.iter().map(|&w| u32::from(w)).sum::<u32>() <= 89));
    let mut values = vec![0u32; widths.len()];
    // SAFETY: stream and widths are live for their lengths; values holds one u32 per width,
    // which is what the probe writes.
    let r = unsafe {
        cz_ref_lane_reader_probe(
            stream.as_ptr(),
            stream.len() as u64,
            widths.as_ptr(),
            groups as u64,
            values.as_mut_ptr(),
        )
    };
    (r != 2).then_some((values, r == 1))
}

#[cfg(test)]
mod tests {
    use rand::{Rng, RngCore, SeedableRng};

    #[test]
    fn constant_predefined_fse_tables_equal_the_built_ones() {
        assert!(super::fse_predefined_tables_ok(), "regenerate with scripts/gen-fse-predefined.py");
    }

    /// RFC 8878's repeat offsets, one sequence after another: the offset, and the history
    /// updated.
    fn model_offset(h: &mut [u32; 3], of_value: u32, ll: u32) -> u32 {
        if of_value > 3 {
            let off = of_value - 3;
            *h = [off, h[0], h[1]];
            return off;
        }
        let idx = of_value - 1 + u32::from(ll == 0);
        let off = match idx {
            0 => h[0],
            1 => h[1],
            2 => h[2],
            _ => h[0].wrapping_sub(1),
        };
        if idx != 0 {
            *h = if idx == 1 { [off, h[0], h[2]] } else { [off, h[0], h[1]] };
        }
        off
    }

    #[test]
    fn repeat_offset_scan_gives_the_sequential_offsets_for_every_batch_size() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for case in 0..2000 {
            let n = 1 + case % 32;
            // Mostly repeat codes (1..3) with literal lengths of 0 and not, some new offsets.
            let seqs: Vec<(u32, u32)> = (0..n)
                .map(|_| {
                    let v = if rng.random_bool(0.7) { rng.random_range(1..=3) } else { rng.random_range(4..5000) };
                    (v, if rng.random_bool(0.4) { 0 } else { rng.random_range(1..40) })
                })
                .collect();
            let start = [rng.random_range(1..100u32), rng.random_range(1..100), rng.random_range(1..100)];
            let (offs, hist) = super::rep_scan_probe(&seqs, start);
            let mut h = start;
            for (i, &(v, ll)) in seqs.iter().enumerate() {
                assert_eq!(offs[i], model_offset(&mut h, v, ll), "case {case}: sequence {i} of {n}");
            }
            assert_eq!(hist, h, "case {case}: history after {n}");
        }
    }

    /// A backward bit stream model: reads n bits below `pos`, most significant first.
    fn model_read(stream: &[u8], pos: &mut i64, n: u8) -> u32 {
        let mut v = 0u32;
        for _ in 0..n {
            *pos -= 1;
            let bit = if *pos >= 0 { (stream[(*pos / 8) as usize] >> (*pos % 8)) & 1 } else { 0 };
            v = (v << 1) | u32::from(bit);
        }
        v
    }

    #[test]
    fn lane_reader_refills_for_sequences_that_read_up_to_89_bits_back_to_back() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(89);
        for case in 0..200 {
            // Stream sizes around word boundaries and item offsets of every alignment.
            let size = 1 + rng.random_range(0..600usize);
            let mut stream = vec![0u8; size];
            rng.fill_bytes(&mut stream);
            if stream[size - 1] == 0 {
                stream[size - 1] = 1;
            }
            let last = stream[size - 1];
            let total = 8 * (size as i64 - 1) + i64::from(7 - last.leading_zeros() as u8);
            // Widths: the initial states, then sequences: mostly the most a sequence can
            // read (31 + 16 + 16 + 9 + 9 + 8), some random ones.
            let mut widths = vec![9u8, 8, 9];
            let mut used = 26i64;
            while used < total {
                let g: [u8; 6] = if case % 2 == 0 || rng.random_bool(0.5) {
                    [31, 16, 16, 9, 9, 8]
                } else {
                    [
                        rng.random_range(0..=31),
                        rng.random_range(0..=16),
                        rng.random_range(0..=16),
                        rng.random_range(0..=9),
                        rng.random_range(0..=9),
                        rng.random_range(0..=8),
                    ]
                };
                used += g.iter().map(|&w| i64::from(w)).sum::<i64>();
                widths.extend_from_slice(&g);
            }
            let (got, finished) = super::lane_reader_probe(&stream, &widths).expect("stream has an end marker");
            let mut pos = total;
            for (k, &w) in widths.iter().enumerate() {
                let want = model_read(&stream, &mut pos, w);
                // Past the stream's start only the verdict matters.
                if pos >= 0 {
                    assert_eq!(got[k], want, "case {case}: read {k} of {w} bits");
                }
            }
            assert_eq!(finished, pos == 0, "case {case}: end verdict");
        }
    }

    /// Code lengths of a random complete prefix code of `symbols` codes, the longest `log`
    /// bits: one chain of splits reaching depth log, then leaves split at random or, when
    /// `balanced`, the shallowest first (codes of nearly equal length: long codes, which leave
    /// the decoder's container emptiest, are then common in random streams).
    fn random_code_lengths(rng: &mut impl Rng, symbols: usize, log: u32, balanced: bool) -> Vec<u32> {
        let mut depths = vec![0u32];
        // A chain to depth log first (the deepest leaves come in pairs, as the format needs).
        for _ in 0..log {
            let d = depths.pop().unwrap();
            depths.extend([d + 1, d + 1]);
        }
        while depths.len() < symbols {
            let splittable: Vec<usize> = (0..depths.len()).filter(|&i| depths[i] < log).collect();
            if splittable.is_empty() {
                break;
            }
            let i = if balanced {
                *splittable.iter().min_by_key(|&&i| depths[i]).unwrap()
            } else {
                splittable[rng.random_range(0..splittable.len())]
            };
            let d = depths.swap_remove(i);
            depths.extend([d + 1, d + 1]);
        }
        depths
    }

    /// The direct tree description (4-bit weights, up to 128 of them) of code lengths given
    /// to symbols 0.. in a shuffled order; the last symbol's weight is left implied.
    fn direct_description(rng: &mut impl Rng, lengths: &[u32], log: u32) -> Vec<u8> {
        let mut lens = lengths.to_vec();
        for i in (1..lens.len()).rev() {
            lens.swap(i, rng.random_range(0..=i));
        }
        // Spread the symbols over 0..=128 with gaps (weight 0), the last one present.
        let mut weights = Vec::new();
        for (k, &l) in lens.iter().enumerate() {
            let room = 128 - weights.len() - (lens.len() - k - 1);
            if k + 1 < lens.len() && room > 1 && rng.random_bool(0.2) {
                weights.push(0u8);
            }
            weights.push((log + 1 - l) as u8);
        }
        weights.pop(); // implied
        assert!(weights.len() <= 128);
        let mut desc = vec![(127 + weights.len()) as u8];
        for pair in weights.chunks(2) {
            desc.push((pair[0] << 4) | pair.get(1).copied().unwrap_or(0));
        }
        desc
    }

    /// Both Huffman stream decoders (`cz_huf_decode_stream`; `cz_huf_decode_stream_warp`, with
    /// its grouped refills and the first code of a group looked up before the refill's OR at
    /// table logs <= 8 and 11; both storing words between the output's unaligned ends) give
    /// what one code at a time gives, for every table log 1..=12, every output alignment,
    /// random streams (most of which do not end on a code boundary) and symbol counts around
    /// the one that consumes the stream.
    #[test]
    fn huffman_streams_decode_like_a_bit_serial_reader_at_every_table_log() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x48_55_46);
        let mut exact = 0usize;
        for case in 0..6000u32 {
            let log = 1 + case % 12;
            let symbols = if log == 1 { 2 } else { rng.random_range(2..=(1usize << log).min(129)) };
            let lengths = random_code_lengths(&mut rng, symbols, log, case % 3 != 0);
            let desc = direct_description(&mut rng, &lengths, log);
            let size = rng.random_range(1..=80usize);
            let mut stream = vec![0u8; size + 3];
            rng.fill_bytes(&mut stream);
            let at = rng.random_range(0..=3usize); // the stream's alignment
            if stream[at + size - 1] == 0 {
                stream[at + size - 1] = 1 << rng.random_range(0..8);
            }
            let stream = &stream[at..at + size];
            // The count that ends the stream exactly, when one does: a first probe with a
            // generous count tells where the codes fall.
            let probe = super::huf_stream_probe(&desc, stream, 8 * size + 8, 0, false).expect("description accepted");
            assert_eq!(probe.0, log, "case {case}: table log");
            let serial = &probe.2 .0;
            let mut pos = 8 * size as i64 - (8 - i64::from(stream[size - 1].ilog2()));
            let mut ends = None;
            for (i, &s) in serial.iter().take(8 * size + 8).enumerate() {
                let len = i64::from(lengths_of(&desc, log, s));
                pos -= len;
                if pos <= 0 {
                    ends = Some(i + 1);
                    break;
                }
            }
            let base = ends.unwrap_or(8);
            for n in [base, base.saturating_sub(1), base + 1, base + 7, 0, rng.random_range(0..=3 * size)] {
                for warp in [false, true] {
                    let shift = rng.random_range(0..4usize);
                    let (_, (fast, st_fast), (serial, st_serial)) =
                        super::huf_stream_probe(&desc, stream, n, shift, warp).expect("description accepted");
                    let tag =
                        format!("case {case}: warp form {warp}, log {log}, {size}-byte stream, n {n}, shift {shift}");
                    assert_eq!(st_fast, st_serial, "{tag}: status");
                    assert_eq!(&fast[..n], &serial[..n], "{tag}: symbols");
                    assert_eq!(&fast[n..n + 8], &[0xA5; 8], "{tag}: wrote past n");
                    if st_fast == 0 {
                        exact += 1;
                    }
                }
            }
        }
        // Enough of the streams decode exactly for the accepted path to be tested as well.
        assert!(exact > 2000, "only {exact} exact decodes");
    }

    /// The code length of symbol `s` under the direct description `desc` of table log `log`.
    fn lengths_of(desc: &[u8], log: u32, s: u8) -> u32 {
        let nw = usize::from(desc[0]) - 127;
        let w = |i: usize| {
            let b = desc[1 + i / 2];
            if i % 2 == 0 {
                u32::from(b >> 4)
            } else {
                u32::from(b & 15)
            }
        };
        let given: u32 = (0..nw).map(|i| (1u32 << w(i)) >> 1).sum();
        let weight = if usize::from(s) < nw {
            w(usize::from(s))
        } else {
            // The implied last weight.
            ((1u32 << log) - given).ilog2() + 1
        };
        log + 1 - weight
    }
}
