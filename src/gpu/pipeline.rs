//! The overlapped host-to-host pipeline of the bulk API's CUDA backend.
//!
//! A batch of inputs is cut into groups (`crate::bulk::plan::plan_groups`). Each GPU runs
//! `in_flight` slots, each with its own CUDA stream and its own stream-ordered device pool.
//! A slot takes one group at a time: the host packs the group's descriptors and inputs into
//! one pinned buffer, then on the slot's stream enqueues one host-to-device copy, the kernel,
//! and one device-to-host copy of the destination slots and results into a second pinned
//! buffer. The host goes on to the next slot without waiting, so the copy in of one group,
//! the kernel of another and the copy out of a third run at the same time on different
//! streams. A slot is only synchronised when it is needed again (or at the end); then its
//! outputs are gathered. Memory stays bounded: at most `in_flight` groups per GPU are staged.
//!
//! With several GPUs, one host thread per GPU takes the next unclaimed group from a shared
//! counter, so faster devices take more groups; every group's results land at the group's
//! place, so the output does not depend on the split.
//!
//! Per-item errors carry the item's index in the whole batch (`Error::Item`), never the
//! index inside a group.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaStream, CudaView, CudaViewMut};
use rayon::prelude::*;

use super::{device_address, DeviceBuffer, DevicePool, Gpu, PinnedBuffer};
use crate::abi::{cz_batch_item, cz_item_result, CZ_STATUS_INTERNAL, CZ_STATUS_OK};
use crate::error::{CudaContext as _, Error, Result, Status};

use super::staging::ALIGN;

const ITEM_BYTES: usize = std::mem::size_of::<cz_batch_item>();

/// Whether `CUZSTD_TRACE` is set: the pipeline then prints each group's stage times to
/// stderr (a diagnostic for host-to-host throughput).
pub(crate) fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("CUZSTD_TRACE").is_some())
}

/// Milliseconds since `t`, for traces.
pub(crate) fn ms(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
const RESULT_BYTES: usize = std::mem::size_of::<cz_item_result>();

/// One result per input of a batch: the output bytes, or the input's error.
pub type ItemResults = Vec<Result<Vec<u8>>>;

/// Final destinations of a batch's outputs, one per input, each exactly as long as the
/// input's output must be: the pipeline copies each output there from its pinned staging
/// buffer (and returns an empty Vec in its place), so it is copied on the host once.
pub type Sinks<'s> = [Mutex<&'s mut [u8]>];

/// What the pipeline asks of a kernel: how much workspace a group needs and how to launch it.
pub(crate) trait GroupKernel: Sync {
    /// Workspace bytes for a group with these inputs, given a budget per group.
    fn workspace_bytes(&self, inputs: &[&[u8]], budget: usize) -> usize;

    /// Enqueues the kernel on `stream` of `gpus[device]`, for the group's `inputs`.
    ///
    /// The pipeline guarantees: `items` describe the group's inputs staged in device memory
    /// of that GPU and disjoint destination ranges of the capacities the caller gave;
    /// `workspace` has at least `workspace_bytes(inputs, ..)` bytes; `results` has room for
    /// one result per item; all of them stay allocated and untouched by anything else until
    /// the stream has run the copies that follow the launch. The implementation must enqueue
    /// only a kernel that keeps inside those ranges and writes every result.
    #[allow(clippy::too_many_arguments)]
    fn launch(
        &self,
        device: usize,
        gpu: &Gpu,
        stream: &CudaStream,
        inputs: &[&[u8]],
        items: &CudaView<'_, cz_batch_item>,
        workspace: &mut CudaViewMut<'_, u8>,
        results: &mut CudaViewMut<'_, cz_item_result>,
    ) -> Result<()>;
}

/// What a pipelined call did, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Groups the batch was cut into.
    pub groups: usize,
    /// Groups each GPU ran (in the order of the GPUs given).
    pub groups_per_device: Vec<usize>,
    /// Streams (in-flight slots) each GPU used.
    pub slots_per_device: Vec<usize>,
    /// The most pinned bytes one group staged (inputs, descriptors, outputs, results).
    pub max_group_staged_bytes: usize,
}

/// Settings of one pipelined batch call.
#[derive(Debug, Clone, Copy)]
pub struct PipelineConfig {
    /// Groups in flight per GPU (at least 1).
    pub in_flight: usize,
    /// Workspace bytes one group may use; `None`: a quarter of the device's memory divided
    /// among the in-flight groups (at least 64 MiB).
    pub workspace_per_group: Option<usize>,
}

/// Offsets of `sizes` packed back to back at [`ALIGN`] after `start` bytes, and the end.
fn pack(start: usize, sizes: impl Iterator<Item = usize>) -> (Vec<usize>, usize) {
    let mut offsets = Vec::new();
    let mut total = start.next_multiple_of(ALIGN);
    for s in sizes {
        offsets.push(total);
        total = (total + s).next_multiple_of(ALIGN);
    }
    (offsets, total.max(ALIGN))
}

/// A group whose copies and kernel are enqueued on a slot's stream.
struct InFlight {
    group: usize,
    staged_bytes: usize,
    dst_off: Vec<usize>,
    results_at: usize,
    // Held until the stream has run: the pinned buffers are read and written by the copies,
    // the device buffers by the kernel (their pool is stream-ordered, so returning them
    // earlier would also be safe; holding them keeps the accounting simple).
    _staging_in: PinnedBuffer,
    staging_out: PinnedBuffer,
    _device: [DeviceBuffer; 3],
}

struct Slot {
    stream: Arc<CudaStream>,
    pool: DevicePool,
    pending: Option<InFlight>,
}

/// Runs `kernel` over `inputs` (destination of `capacities[i]` bytes each), group by group,
/// on `gpus`; returns one result per input, in order. The outer error is a device failure
/// (or an argument error); item failures are inner errors naming the input's index.
/// With `sinks`, output i goes to `sinks[i]` (whose length must equal `capacities[i]`), and
/// an output of any other length is an item error (status INTERNAL).
pub(crate) fn run(
    gpus: &[&Gpu],
    inputs: &[&[u8]],
    capacities: &[usize],
    groups: &[Range<usize>],
    config: PipelineConfig,
    kernel: &dyn GroupKernel,
    sinks: Option<&Sinks<'_>>,
) -> Result<(ItemResults, PipelineStats)> {
    if inputs.len() != capacities.len() {
        return Err(Error::InvalidArgument(format!("{} inputs and {} capacities", inputs.len(), capacities.len())));
    }
    if let Some(sk) = sinks {
        let fits = sk.len() == inputs.len()
            && sk.iter().zip(capacities).all(|(m, &c)| m.lock().map(|d| d.len() == c).unwrap_or(false));
        if !fits {
            return Err(Error::InvalidArgument("pipeline sinks do not match the capacities".into()));
        }
    }
    check_groups(groups, inputs.len())?;
    if gpus.is_empty() {
        return Err(Error::InvalidArgument("the pipeline was given no GPU".into()));
    }
    if config.in_flight == 0 {
        return Err(Error::InvalidArgument("pipeline in-flight count is 0, should be at least 1".into()));
    }
    let done: Vec<Mutex<Option<ItemResults>>> = groups.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let errors: Mutex<Vec<Error>> = Mutex::new(Vec::new());
    let shared =
        Shared { inputs, capacities, groups, config, kernel, sinks, done: &done, next: &next, failed: &failed };
    let per_device: Vec<Mutex<(usize, usize, usize)>> = gpus.iter().map(|_| Mutex::new((0, 0, 0))).collect();
    std::thread::scope(|s| {
        for (d, gpu) in gpus.iter().enumerate() {
            let shared = &shared;
            let errors = &errors;
            let counts = &per_device[d];
            s.spawn(move || {
                let mut c = (0, 0, 0);
                let r = device_loop(d, gpu, shared, &mut c);
                *counts.lock().unwrap_or_else(|e| e.into_inner()) = c;
                if let Err(e) = r {
                    shared.failed.store(true, Ordering::Relaxed);
                    errors.lock().unwrap_or_else(|e| e.into_inner()).push(e);
                }
            });
        }
    });
    if let Some(e) = errors.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().next() {
        return Err(e);
    }
    let mut out = Vec::with_capacity(inputs.len());
    for (g, slot) in done.into_iter().enumerate() {
        let r = slot.into_inner().unwrap_or_else(|e| e.into_inner());
        out.extend(r.ok_or_else(|| Error::InvalidArgument(format!("pipeline group {g} was never run")))?);
    }
    let counts: Vec<(usize, usize, usize)> =
        per_device.into_iter().map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner())).collect();
    let stats = PipelineStats {
        groups: groups.len(),
        groups_per_device: counts.iter().map(|c| c.0).collect(),
        slots_per_device: counts.iter().map(|c| c.1).collect(),
        max_group_staged_bytes: counts.iter().map(|c| c.2).max().unwrap_or(0),
    };
    Ok((out, stats))
}

/// Checks that `groups` cover `0..n` in order, each non-empty.
fn check_groups(groups: &[Range<usize>], n: usize) -> Result<()> {
    let mut at = 0;
    for (i, g) in groups.iter().enumerate() {
        if g.start != at || g.end <= g.start {
            return Err(Error::InvalidArgument(format!(
                "pipeline group {i} is {g:?}, should start at {at} and be non-empty"
            )));
        }
        at = g.end;
    }
    if at != n {
        return Err(Error::InvalidArgument(format!("pipeline groups cover {at} of {n} inputs")));
    }
    Ok(())
}

struct Shared<'a, 's> {
    inputs: &'a [&'a [u8]],
    capacities: &'a [usize],
    groups: &'a [Range<usize>],
    config: PipelineConfig,
    kernel: &'a dyn GroupKernel,
    sinks: Option<&'a Sinks<'s>>,
    done: &'a [Mutex<Option<ItemResults>>],
    next: &'a AtomicUsize,
    failed: &'a AtomicBool,
}

/// Runs groups on one GPU until none is left; `counts` receives (groups run, slots used,
/// most bytes staged by one group).
fn device_loop(d: usize, gpu: &Gpu, sh: &Shared<'_, '_>, counts: &mut (usize, usize, usize)) -> Result<()> {
    let in_flight = sh.config.in_flight;
    let budget =
        sh.config.workspace_per_group.unwrap_or_else(|| (gpu.props().total_memory / 4 / in_flight).max(64 << 20));
    let mut slots = Vec::with_capacity(in_flight);
    let mut k = 0usize;
    let result = (|| -> Result<()> {
        loop {
            if sh.failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            let g = sh.next.fetch_add(1, Ordering::Relaxed);
            if g >= sh.groups.len() {
                break;
            }
            if slots.len() < in_flight {
                let stream = gpu.new_stream()?;
                let pool = gpu.new_pool(stream.clone(), gpu.pool_poison());
                slots.push(Slot { stream, pool, pending: None });
            }
            let slot = &mut slots[k % in_flight];
            k += 1;
            if let Some(p) = slot.pending.take() {
                finish(&slot.stream, p, sh)?;
            }
            let p = enqueue(d, gpu, slot, g, budget, sh)?;
            counts.0 += 1;
            counts.1 = counts.1.max(k.min(in_flight));
            counts.2 = counts.2.max(p.staged_bytes);
            slot.pending = Some(p);
        }
        // Drain in the order the groups were enqueued.
        let len = slots.len();
        for j in 0..len {
            let slot = &mut slots[(k + j) % len];
            if let Some(p) = slot.pending.take() {
                finish(&slot.stream, p, sh)?;
            }
        }
        Ok(())
    })();
    // Let every stream finish before the buffers it uses go back to their pools: after an
    // error here, or when another GPU's failure stopped this loop with groups in flight
    // (after a clean drain this returns at once).
    for s in &slots {
        let _ = s.stream.synchronize();
    }
    result
}

fn enqueue(d: usize, gpu: &Gpu, slot: &mut Slot, g: usize, budget: usize, sh: &Shared<'_, '_>) -> Result<InFlight> {
    let range = sh.groups[g].clone();
    let inputs = &sh.inputs[range.clone()];
    let caps = &sh.capacities[range.clone()];
    let n = inputs.len();
    let stream = &slot.stream;
    // Input side: [descriptors | inputs]; output side: [destinations | results].
    let (src_off, src_total) = pack(n * ITEM_BYTES, inputs.iter().map(|s| s.len()));
    let (dst_off, dst_end) = pack(0, caps.iter().copied());
    let results_at = dst_end;
    let out_total = results_at + n * RESULT_BYTES;
    let ws_bytes = sh.kernel.workspace_bytes(inputs, budget).max(1);

    let t0 = std::time::Instant::now();
    let mut d_src = slot.pool.alloc(src_total)?;
    let mut d_dst = slot.pool.alloc(out_total)?;
    let mut d_ws = slot.pool.alloc(ws_bytes)?;
    let t_dev = ms(t0);
    let (src_base, dst_base) = (device_address(d_src.buf(), stream), device_address(d_dst.buf(), stream));

    let t1 = std::time::Instant::now();
    let mut staging_in = gpu.pinned_pool().alloc(src_total)?;
    let t_pin = ms(t1);
    let t2 = std::time::Instant::now();
    {
        let host = &mut staging_in.buf_mut().as_mut_slice().ctx("mapping pinned memory")?[..src_total];
        let (desc, mut rest) = host.split_at_mut(n * ITEM_BYTES);
        for (i, chunk) in desc.chunks_exact_mut(ITEM_BYTES).enumerate() {
            let fields =
                [src_base + src_off[i] as u64, inputs[i].len() as u64, dst_base + dst_off[i] as u64, caps[i] as u64];
            for (f, v) in chunk.chunks_exact_mut(8).zip(fields) {
                f.copy_from_slice(&v.to_le_bytes());
            }
        }
        // Disjoint destination slices, one per input, filled in parallel.
        let mut parts: Vec<(&mut [u8], &[u8])> = Vec::with_capacity(n);
        let mut pos = n * ITEM_BYTES;
        for (s, &o) in inputs.iter().zip(&src_off) {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(o - pos);
            let (dst, tail) = tail.split_at_mut(s.len());
            parts.push((dst, s));
            rest = tail;
            pos = o + s.len();
        }
        parts.into_par_iter().with_min_len(4).for_each(|(dst, s)| dst.copy_from_slice(s));
    }
    let t_pack = ms(t2);
    let t3 = std::time::Instant::now();
    {
        let host = &staging_in.buf().as_slice().ctx("mapping pinned memory")?[..src_total];
        let mut dst = d_src.buf_mut().slice_mut(..src_total);
        // Pinned source: the copy is asynchronous. The staging buffer is held in InFlight
        // and not written again until this slot's stream is synchronised (finish()).
        stream.memcpy_htod(host, &mut dst).ctx("copying a group to the device")?;
    }
    // From here on the stream may be reading `staging_in`: on any error, wait for it before
    // the buffers go back to their pools.
    let launched = (|| -> Result<PinnedBuffer> {
        {
            let src_view = d_src.buf().slice(..n * ITEM_BYTES);
            // SAFETY: the first n * 32 bytes of the device buffer hold n cz_batch_item written
            // above in their #[repr(C)] layout (four little-endian u64), copied in stream order
            // before any reader; every bit pattern is a valid cz_batch_item.
            let items = unsafe { src_view.transmute::<cz_batch_item>(n) }.expect("room for n descriptors");
            let mut res_bytes = d_dst.buf_mut().slice_mut(results_at..results_at + n * RESULT_BYTES);
            // SAFETY: n * 16 bytes at a 256-aligned offset; every bit pattern of cz_item_result
            // ({u32, u32, u64}) is a valid value, and the kernel writes all n.
            let mut results = unsafe { res_bytes.transmute_mut::<cz_item_result>(n) }.expect("room for n results");
            let mut ws = d_ws.buf_mut().slice_mut(..ws_bytes);
            sh.kernel.launch(d, gpu, stream, inputs, &items, &mut ws, &mut results)?;
        }
        let mut staging_out = gpu.pinned_pool().alloc(out_total)?;
        {
            let host = &mut staging_out.buf_mut().as_mut_slice().ctx("mapping pinned memory")?[..out_total];
            // Pinned destination: asynchronous; read only after finish() synchronises the stream.
            stream.memcpy_dtoh(&d_dst.buf().slice(..out_total), host).ctx("copying a group back")?;
        }
        Ok(staging_out)
    })();
    let staging_out = match launched {
        Ok(b) => b,
        Err(e) => {
            let _ = stream.synchronize();
            return Err(e);
        }
    };
    if tracing() {
        eprintln!(
            "cuzstd trace: group {g} ({n} items, {src_total} B in, {out_total} B out, {ws_bytes} B workspace): device alloc \
             {t_dev:.1} ms, pinned alloc {t_pin:.1} ms, pack {t_pack:.1} ms, enqueue {:.1} ms",
            ms(t3)
        );
    }
    Ok(InFlight {
        group: g,
        staged_bytes: src_total + out_total,
        dst_off,
        results_at,
        _staging_in: staging_in,
        staging_out,
        _device: [d_src, d_dst, d_ws],
    })
}

fn finish(stream: &CudaStream, p: InFlight, sh: &Shared<'_, '_>) -> Result<()> {
    let t0 = std::time::Instant::now();
    stream.synchronize().ctx("waiting for a pipeline group")?;
    let t_wait = ms(t0);
    let t1 = std::time::Instant::now();
    let range = sh.groups[p.group].clone();
    let host = p.staging_out.buf().as_slice().ctx("mapping pinned memory")?;
    let sinks = sh.sinks.map(|k| &k[range.clone()]);
    let results = gather(host, p.results_at, &p.dst_off, &sh.capacities[range.clone()], range.start, sinks);
    if tracing() {
        eprintln!("cuzstd trace: group {}: wait {t_wait:.1} ms, gather {:.1} ms", p.group, ms(t1));
    }
    *sh.done[p.group].lock().unwrap_or_else(|e| e.into_inner()) = Some(results);
    Ok(())
}

/// Reads a group's copied-back output: `dst_off.len()` results of 16 bytes ({u32 status,
/// u32 detail, u64 size}, little-endian) at `results_at`, and item i's output at
/// `dst_off[i]`. Item i of the group is item `first + i` of the batch, the index its error
/// carries; a size beyond the capacity is an internal error, never an out-of-range read.
/// With `sinks` (one per item of the group), item i's output is copied into `sinks[i]` and
/// must fill it exactly; its result is then an empty Vec.
fn gather(
    host: &[u8],
    results_at: usize,
    dst_off: &[usize],
    caps: &[usize],
    first: usize,
    sinks: Option<&Sinks<'_>>,
) -> ItemResults {
    (0..dst_off.len())
        .into_par_iter()
        .with_min_len(4)
        .map(|i| {
            let r = &host[results_at + i * RESULT_BYTES..][..RESULT_BYTES];
            let status = u32::from_le_bytes(r[0..4].try_into().unwrap());
            let size = u64::from_le_bytes(r[8..16].try_into().unwrap());
            let index = first + i;
            if status != CZ_STATUS_OK {
                return Err(Error::Item { index, status: Status(status) });
            }
            if size > caps[i] as u64 {
                return Err(Error::Item { index, status: Status(CZ_STATUS_INTERNAL) });
            }
            let out = &host[dst_off[i]..dst_off[i] + size as usize];
            match sinks {
                None => Ok(out.to_vec()),
                Some(k) => {
                    let mut d = k[i].lock().unwrap_or_else(|e| e.into_inner());
                    if d.len() != out.len() {
                        return Err(Error::Item { index, status: Status(CZ_STATUS_INTERNAL) });
                    }
                    d.copy_from_slice(out);
                    Ok(Vec::new())
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_aligns_after_a_header() {
        let (off, end) = pack(3 * ITEM_BYTES, [10usize, 0, 300].into_iter());
        assert_eq!(off, vec![256, 512, 512]);
        assert_eq!(end, 1024);
        assert_eq!(pack(0, std::iter::empty()), (vec![], ALIGN));
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn groups_must_cover_the_batch() {
        assert!(check_groups(&[0..2, 2..5], 5).is_ok());
        assert!(check_groups(&[0..2, 3..5], 5).is_err());
        assert!(check_groups(&[0..2], 5).is_err());
        assert!(check_groups(&[0..0], 0).is_err());
        assert!(check_groups(&[], 0).is_ok());
    }

    #[test]
    fn gather_into_sinks_fills_them_and_rejects_a_size_that_does_not_fit() {
        // Items at 0 and 256 (capacity 5 and 3), results at 512.
        let mut host = vec![0u8; 512 + 2 * RESULT_BYTES];
        host[..5].copy_from_slice(b"hello");
        host[256..258].copy_from_slice(b"ab");
        let result = |size: u64| {
            let mut r = [0u8; RESULT_BYTES];
            r[..4].copy_from_slice(&CZ_STATUS_OK.to_le_bytes());
            r[8..].copy_from_slice(&size.to_le_bytes());
            r
        };
        host[512..528].copy_from_slice(&result(5));
        host[528..544].copy_from_slice(&result(2));
        let (mut a, mut b) = ([0u8; 5], [9u8; 3]);
        {
            let sinks = [Mutex::new(&mut a[..]), Mutex::new(&mut b[..])];
            let out = gather(&host, 512, &[0, 256], &[5, 3], 7, Some(&sinks));
            assert!(out[0].as_ref().is_ok_and(|v| v.is_empty()));
            match &out[1] {
                Err(Error::Item { index, status }) => assert_eq!((*index, status.0), (8, CZ_STATUS_INTERNAL)),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(&a, b"hello");
        assert_eq!(b, [9u8; 3], "a sink the output does not fill is left alone");
    }

    #[test]
    fn gather_names_items_by_their_batch_index() {
        // Three items at 0, 256, 512 (capacity 200 each), results at 768.
        let mut host = vec![0u8; 768 + 3 * RESULT_BYTES];
        host[..5].copy_from_slice(b"hello");
        host[256..259].copy_from_slice(b"abc");
        let result = |status: u32, size: u64| {
            let mut r = [0u8; RESULT_BYTES];
            r[..4].copy_from_slice(&status.to_le_bytes());
            r[8..].copy_from_slice(&size.to_le_bytes());
            r
        };
        host[768..784].copy_from_slice(&result(CZ_STATUS_OK, 5));
        host[784..800].copy_from_slice(&result(7, 0));
        host[800..816].copy_from_slice(&result(CZ_STATUS_OK, 201));
        let out = gather(&host, 768, &[0, 256, 512], &[200, 200, 200], 40, None);
        assert_eq!(out[0].as_ref().unwrap(), b"hello");
        match &out[1] {
            Err(Error::Item { index, status }) => assert_eq!((*index, status.0), (41, 7)),
            other => panic!("{other:?}"),
        }
        match &out[2] {
            Err(Error::Item { index, status }) => assert_eq!((*index, status.0), (42, CZ_STATUS_INTERNAL)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn byte_layouts_written_and_read_here_match_the_abi() {
        // enqueue() writes descriptors and gather() reads results as raw little-endian bytes.
        use std::mem::offset_of;
        assert_eq!(ITEM_BYTES, 32);
        assert_eq!(
            [
                offset_of!(cz_batch_item, src),
                offset_of!(cz_batch_item, src_size),
                offset_of!(cz_batch_item, dst),
                offset_of!(cz_batch_item, dst_capacity)
            ],
            [0, 8, 16, 24]
        );
        assert_eq!(RESULT_BYTES, 16);
        assert_eq!([offset_of!(cz_item_result, status), offset_of!(cz_item_result, size)], [0, 8]);
    }
}
