// Batched Zstandard decoding: each item of a batch is a buffer of concatenated frames
// (Zstandard and skippable) decoded into its own destination, like ZSTD_decompress.
//
// Kernel cz_decode_batch_warp (the fast one)
//   grid mapping: one warp per item at a time: warp g = blockIdx.x * (blockDim.x / 32) +
//                 threadIdx.x / 32 takes items g, g + W, g + 2W, ... where
//                 W = min(gridDim.x * blockDim.x / 32, slots); warps g >= W do nothing.
//                 All 32 lanes decode the item together (cz_decode_all with cz_team_warp);
//                 lane 0 writes the result. blockDim.x: a multiple of 32, at most
//                 32 * CZ_DECODE_WARPS. The sequence tables (5 KiB per warp) live in
//                 shared memory, the Huffman table in the workspace: measured on an H100,
//                 32 resident warps per SM at 64 registers decode faster than 12-16 warps
//                 with all tables (13 KiB per warp) in shared memory.
//   workspace:    warp g uses workspace[g * ws_stride .. + cz_decode_workspace_size()),
//                 ws_stride >= cz_decode_workspace_size() and a multiple of 8; the caller
//                 provides `slots` of them.
//   reads:        items[i] for i < n; items[i].src .. + src_size; dict[0 .. dict_size)
//                 (dict may be null with dict_size 0). Nothing else of the input.
//   writes:       items[i].dst .. + dst_capacity (only the first results[i].size bytes are
//                 meaningful), results[i] exactly once for every i < n, the workspaces.
//   statuses:     every status cz_decode_all returns: frame header (10..15), blocks (20..23),
//                 literals (30..33), sequences (40..45), checksum/content size (50, 51),
//                 OUTPUT_TOO_SMALL (60), dictionary (70, 71); INVALID_ARGUMENT for an item
//                 with a null src and a non-zero src_size.
//
// Kernels cz_decode_staged_literals, cz_decode_staged_order, cz_decode_staged_sequences,
//   cz_decode_staged_execute (the staged decoder, staged_decode.cuh; launched in this order
//   on one stream): item i uses workspace slot i, so the caller provides slots >= n.
//   grid mapping: literals and execute: one warp per item (warp g = blockIdx.x *
//                 (blockDim.x / 32) + threadIdx.x / 32 takes item g), blockDim.x = 32 *
//                 CZ_DECODE_WARPS; order: one block of CZ_ORDER_BUCKETS threads (1024);
//                 sequences: one thread per item (thread blockIdx.x * blockDim.x +
//                 threadIdx.x takes the item order put there), blockDim.x =
//                 CZ_STAGED_SEQ_LANES, dynamic shared memory CZ_STAGED_SEQ_SMEM bytes
//                 (cz_ref_staged_sequences_smem()).
//   reads/writes: as cz_decode_batch_warp; execute writes results[i] for every i < n, and
//                 decodes items the staged passes do not take with cz_decode_all.
//
//   For small batches cz_decode_staged_sequences_solo replaces the order and sequences
//   launches and cz_decode_staged_execute_solo the execute launch: one warp per item (block
//   b of 32 threads takes item b), dynamic shared memory cz_ref_staged_solo_smem() and
//   cz_ref_staged_solo_out_smem() bytes.
//
// Kernel cz_decode_batch (one thread per item; the differential check of the warp kernel)
//   grid mapping: block b takes items b, b + W, ... (W = min(gridDim.x, slots)); thread 0 of
//                 the block decodes the item alone, the other threads idle.
//   workspace, reads, writes, statuses: as cz_decode_batch_warp, with block b using slot b.
#include "include/abi.h"
#include "include/frame_decode.cuh"
#include "include/staged_decode.cuh"

// Threads per block of cz_decode_staged_sequences (a multiple of 32: its loops are
// warp-uniform), and its dynamic shared memory: each lane's read-ahead ring, then each
// lane's sequence tables.
#define CZ_STAGED_SEQ_LANES 32
#define CZ_STAGED_SEQ_RINGS_BYTES (CZ_STAGED_SEQ_LANES * CZ_LR_RING_STRIDE * 8)
#define CZ_STAGED_SEQ_SMEM (CZ_STAGED_SEQ_RINGS_BYTES + CZ_STAGED_SEQ_LANES * CZ_LANE_TABLE_STRIDE * 2)
// Dynamic shared memory of cz_decode_staged_execute_solo: items of up to 64 KiB of content
// are built there (16 bytes go to aligning it with the destination).
#define CZ_SOLO_OUT_BYTES (64u * 1024u + 16u)

#if defined(__CUDACC__)

#define CZ_DECODE_WARPS 4
// Blocks per SM the register budget is set for (64 registers per thread).
#define CZ_DECODE_MIN_BLOCKS 8

// One item's result: decodes it with `team` (every lane of the team calls).
__device__ __forceinline__ cz_item_result cz_decode_item(const cz_batch_item& it, const uint8_t* dict,
                                                         uint64_t dict_size, cz_decode_workspace* ws,
                                                         uint64_t max_window_size, cz_team team,
                                                         cz_decode_tables* tables, cz_seq_tables* seq_tables) {
    cz_item_result r;
    r.detail = 0;
    r.size = 0;
    if (it.src == 0 && it.src_size != 0) {
        r.status = CZ_STATUS_INVALID_ARGUMENT;
        return r;
    }
    size_t written = 0;
    uint32_t detail = 0;
    r.status = cz_decode_all(reinterpret_cast<const uint8_t*>(it.src), (size_t)it.src_size,
                             reinterpret_cast<uint8_t*>(it.dst), (size_t)it.dst_capacity, dict, (size_t)dict_size, ws,
                             max_window_size, &written, &detail, team, tables, seq_tables);
    r.detail = detail;
    r.size = r.status == CZ_STATUS_OK ? written : 0;
    return r;
}

extern "C" __global__ void __launch_bounds__(32 * CZ_DECODE_WARPS, CZ_DECODE_MIN_BLOCKS)
    cz_decode_batch_warp(const cz_batch_item* __restrict__ items, uint32_t n, const uint8_t* dict, uint64_t dict_size,
                         uint8_t* workspace, uint64_t ws_stride, uint64_t slots, uint64_t max_window_size,
                         cz_item_result* __restrict__ results) {
    __shared__ cz_seq_tables seq_tables[CZ_DECODE_WARPS];
    const unsigned warp = threadIdx.x >> 5;
    if (warp >= CZ_DECODE_WARPS) return;
    const uint64_t warps = (uint64_t)gridDim.x * (blockDim.x >> 5);
    const uint64_t w = warps < slots ? warps : slots;
    const uint64_t g = (uint64_t)blockIdx.x * (blockDim.x >> 5) + warp;
    if (g >= w) return;
    const cz_team team = cz_team_warp();
    cz_decode_workspace* ws = reinterpret_cast<cz_decode_workspace*>(workspace + g * ws_stride);
    for (uint64_t i = g; i < n; i += w) {
        const cz_batch_item it = items[i];
        const cz_item_result r =
            cz_decode_item(it, dict, dict_size, ws, max_window_size, team, nullptr, &seq_tables[warp]);
        if (team.lane == 0) results[i] = r;
    }
}

// cz_decode_item out of line: the staged execute kernel's own path then keeps its registers.
__device__ __noinline__ cz_item_result cz_decode_item_fallback(const cz_batch_item& it, const uint8_t* dict,
                                                               uint64_t dict_size, cz_decode_workspace* ws,
                                                               uint64_t max_window_size, cz_seq_tables* seq_tables) {
    return cz_decode_item(it, dict, dict_size, ws, max_window_size, cz_team_warp(), nullptr, seq_tables);
}

// Six blocks per multiprocessor (80 registers): the Huffman streams' waits on their table
// entries are better hidden by more warps than helped by more registers
// (docs/BENCHMARKS.md, "The literals kernel at 6 blocks per SM").
#define CZ_LITERALS_MIN_BLOCKS 6
extern "C" __global__ void __launch_bounds__(32 * CZ_DECODE_WARPS, CZ_LITERALS_MIN_BLOCKS)
    cz_decode_staged_literals(const cz_batch_item* __restrict__ items, uint32_t n, uint64_t dict_size,
                              uint8_t* workspace, uint64_t ws_stride, uint64_t max_window_size) {
    __shared__ uint16_t huf_tables[CZ_DECODE_WARPS][CZ_HUF_DTABLE_SIZE];
    const unsigned warp = threadIdx.x >> 5;
    if (warp >= CZ_DECODE_WARPS) return;
    const uint64_t g = (uint64_t)blockIdx.x * CZ_DECODE_WARPS + warp;
    if (g >= n) return;
    const cz_batch_item it = items[g];
    cz_staged_slot* slot = reinterpret_cast<cz_staged_slot*>(workspace + g * ws_stride);
    cz_staged_literals(cz_team_warp(), reinterpret_cast<const uint8_t*>(it.src), it.src ? (size_t)it.src_size : 0,
                       reinterpret_cast<uint8_t*>(it.dst), (size_t)it.dst_capacity, (size_t)dict_size, max_window_size,
                       slot, huf_tables[warp]);
}

// Between the literals and sequences kernels: orders the n items by the work pass 1
// counted (cz_order_bucket), writing to slot g's state.order the item the sequences
// kernel's thread g decodes, so that a warp's lanes get items of about the same length (its
// loop runs as long as its longest lane) and the longest items run first. One block of
// CZ_ORDER_BUCKETS threads; thread t owns bucket t.
extern "C" __global__ void __launch_bounds__(CZ_ORDER_BUCKETS)
    cz_decode_staged_order(uint32_t n, uint8_t* workspace, uint64_t ws_stride) {
    __shared__ uint32_t hist[CZ_ORDER_BUCKETS];
    __shared__ uint32_t warp_sums[CZ_ORDER_BUCKETS / 32];
    auto state = [&](uint32_t i) {
        return &reinterpret_cast<cz_staged_slot*>(workspace + (uint64_t)i * ws_stride)->state;
    };
    const uint32_t t = threadIdx.x, lane = t & 31, warp = t >> 5;
    hist[t] = 0;
    __syncthreads();
    for (uint32_t i = t; i < n; i += CZ_ORDER_BUCKETS) atomicAdd(&hist[cz_order_bucket(state(i)->work)], 1u);
    __syncthreads();
    // Exclusive prefix sums of the counts: within warps, then over the warps' totals.
    const uint32_t c = hist[t];
    uint32_t inc = c;
    for (unsigned d = 1; d < 32; d <<= 1) {
        const uint32_t v = __shfl_up_sync(0xffffffffu, inc, d);
        if (lane >= d) inc += v;
    }
    if (lane == 31) warp_sums[warp] = inc;
    __syncthreads();
    if (warp == 0) {
        uint32_t w = warp_sums[lane], winc = w;
        for (unsigned d = 1; d < 32; d <<= 1) {
            const uint32_t v = __shfl_up_sync(0xffffffffu, winc, d);
            if (lane >= d) winc += v;
        }
        warp_sums[lane] = winc - w;
    }
    __syncthreads();
    hist[t] = warp_sums[warp] + inc - c;
    __syncthreads();
    for (uint32_t i = t; i < n; i += CZ_ORDER_BUCKETS) state(atomicAdd(&hist[cz_order_bucket(state(i)->work)], 1u))->order = i;
}

extern "C" __global__ void __launch_bounds__(CZ_STAGED_SEQ_LANES)
    cz_decode_staged_sequences(const cz_batch_item* __restrict__ items, uint32_t n, uint8_t* workspace,
                               uint64_t ws_stride) {
    __shared__ cz_seq_codes codes;
    extern __shared__ __align__(16) uint8_t cz_seq_smem[];  // CZ_STAGED_SEQ_SMEM bytes
    cz_seq_codes_fill(&codes, threadIdx.x, blockDim.x);
    __syncthreads();
    uint64_t* const rings = reinterpret_cast<uint64_t*>(cz_seq_smem);
    uint16_t* const tables = reinterpret_cast<uint16_t*>(cz_seq_smem + CZ_STAGED_SEQ_RINGS_BYTES);
    // Every lane of a warp calls cz_staged_sequences (its loops are warp-uniform). Thread g
    // decodes the item cz_decode_staged_order put at position g.
    const uint64_t g = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    cz_batch_item it = {};
    uint64_t item = 0;
    bool mine = g < n;
    if (mine) {
        item = reinterpret_cast<const cz_staged_slot*>(workspace + g * ws_stride)->state.order;
        mine = item < n;  // (always: the order is a permutation)
    }
    if (mine) it = items[item];
    cz_staged_slot* slot = mine ? reinterpret_cast<cz_staged_slot*>(workspace + item * ws_stride) : nullptr;
    cz_staged_sequences(mine, reinterpret_cast<const uint8_t*>(it.src), (size_t)it.src_size, slot,
                        cz_staged_capacity(ws_stride), &codes, tables + threadIdx.x * CZ_LANE_TABLE_STRIDE,
                        rings + threadIdx.x * CZ_LR_RING_STRIDE);
}

// Pass 2 for small batches: one warp per item (block b takes item b), dynamic shared
// memory CZ_SOLO_STREAM_WORDS words (cz_ref_staged_solo_smem()).
extern "C" __global__ void __launch_bounds__(32)
    cz_decode_staged_sequences_solo(const cz_batch_item* __restrict__ items, uint32_t n, uint8_t* workspace,
                                    uint64_t ws_stride) {
    __shared__ cz_seq_codes codes;
    __shared__ uint32_t et[CZ_LANE_TABLE_ENTRIES];
    __shared__ cz_solo_rec rec[32];
    extern __shared__ __align__(16) uint32_t cz_solo_words[];  // CZ_SOLO_STREAM_WORDS words
    const uint64_t g = blockIdx.x;
    if (g >= n) return;
    cz_seq_codes_fill(&codes, threadIdx.x, blockDim.x);
    __syncwarp();
    const cz_batch_item it = items[g];
    cz_staged_sequences_solo(cz_team_warp(), reinterpret_cast<const uint8_t*>(it.src), (size_t)it.src_size,
                             reinterpret_cast<cz_staged_slot*>(workspace + g * ws_stride),
                             cz_staged_capacity(ws_stride), &codes, et, cz_solo_words, rec);
}

// Pass 3 for item g by the calling warp: the staged execution (in `work` when given, see
// cz_staged_execute), else the fallback with `seq_tables`; writes results[g].
__device__ __forceinline__ void cz_staged_execute_item(const cz_batch_item* __restrict__ items, uint64_t g,
                                                       const uint8_t* dict, uint64_t dict_size, uint8_t* workspace,
                                                       uint64_t ws_stride, uint64_t max_window_size,
                                                       cz_item_result* __restrict__ results, uint8_t* work,
                                                       size_t work_size, cz_seq_tables* seq_tables) {
    const cz_team team = cz_team_warp();
    const cz_batch_item it = items[g];
    uint8_t* const slot = workspace + g * ws_stride;
    cz_item_result r;
    if (cz_staged_execute(team, reinterpret_cast<const uint8_t*>(it.src), reinterpret_cast<uint8_t*>(it.dst),
                          reinterpret_cast<const cz_staged_slot*>(slot), work, work_size)) {
        r.status = CZ_STATUS_OK;
        r.detail = 0;
        r.size = reinterpret_cast<const cz_staged_slot*>(slot)->state.content_size;
    } else {
        r = cz_decode_item_fallback(it, dict, dict_size, reinterpret_cast<cz_decode_workspace*>(slot), max_window_size,
                                    seq_tables);
        // The slot's state says which path decoded the item (cz_staged_mode_offset).
        __syncwarp();
        if (team.lane == 0) reinterpret_cast<cz_staged_slot*>(slot)->state.mode = CZ_STAGED_FALLBACK;
    }
    if (team.lane == 0) results[g] = r;
}

extern "C" __global__ void __launch_bounds__(32 * CZ_DECODE_WARPS, CZ_DECODE_MIN_BLOCKS)
    cz_decode_staged_execute(const cz_batch_item* __restrict__ items, uint32_t n, const uint8_t* dict,
                             uint64_t dict_size, uint8_t* workspace, uint64_t ws_stride, uint64_t max_window_size,
                             cz_item_result* __restrict__ results) {
    __shared__ cz_seq_tables seq_tables[CZ_DECODE_WARPS];
    const unsigned warp = threadIdx.x >> 5;
    if (warp >= CZ_DECODE_WARPS) return;
    const uint64_t g = (uint64_t)blockIdx.x * CZ_DECODE_WARPS + warp;
    if (g >= n) return;
    cz_staged_execute_item(items, g, dict, dict_size, workspace, ws_stride, max_window_size, results, nullptr, 0,
                           &seq_tables[warp]);
}

// Pass 3 for small batches (with cz_decode_staged_sequences_solo): one warp per item (block
// b takes item b), dynamic shared memory cz_ref_staged_solo_out_smem() bytes in which an
// item whose content fits is built.
extern "C" __global__ void __launch_bounds__(32)
    cz_decode_staged_execute_solo(const cz_batch_item* __restrict__ items, uint32_t n, const uint8_t* dict,
                                  uint64_t dict_size, uint8_t* workspace, uint64_t ws_stride,
                                  uint64_t max_window_size, cz_item_result* __restrict__ results) {
    __shared__ cz_seq_tables seq_tables;
    extern __shared__ __align__(16) uint8_t cz_solo_out[];  // CZ_SOLO_OUT_BYTES
    const uint64_t g = blockIdx.x;
    if (g >= n) return;
    cz_staged_execute_item(items, g, dict, dict_size, workspace, ws_stride, max_window_size, results, cz_solo_out,
                           CZ_SOLO_OUT_BYTES, &seq_tables);
}

extern "C" __global__ void cz_decode_batch(const cz_batch_item* __restrict__ items, uint32_t n, const uint8_t* dict,
                                           uint64_t dict_size, uint8_t* workspace, uint64_t ws_stride, uint64_t slots,
                                           uint64_t max_window_size, cz_item_result* __restrict__ results) {
    if (threadIdx.x != 0) return;
    const uint64_t w = gridDim.x < slots ? gridDim.x : slots;
    if (blockIdx.x >= w) return;
    cz_decode_workspace* ws = reinterpret_cast<cz_decode_workspace*>(workspace + (uint64_t)blockIdx.x * ws_stride);
    for (uint64_t i = blockIdx.x; i < n; i += w) {
        results[i] = cz_decode_item(items[i], dict, dict_size, ws, max_window_size, cz_team_single(), nullptr, nullptr);
    }
}

#else  // reference build

#include <stdlib.h>

CZ_REF_API uint64_t cz_ref_decode_workspace_size(void) { return cz_decode_workspace_size(); }

// Host counterpart of one item of cz_decode_batch: decodes src into dst with a caller
// workspace of cz_ref_decode_workspace_size() bytes (8-byte aligned).
CZ_REF_API uint32_t cz_ref_decode_all(const uint8_t* src, uint64_t src_size, uint8_t* dst, uint64_t dst_capacity,
                                      const uint8_t* dict, uint64_t dict_size, void* workspace,
                                      uint64_t max_window_size, uint64_t* written, uint32_t* detail) {
    size_t w = 0;
    const uint32_t st = cz_decode_all(src, (size_t)src_size, dst, (size_t)dst_capacity, dict, (size_t)dict_size,
                                      static_cast<cz_decode_workspace*>(workspace), max_window_size, &w, detail);
    *written = st == CZ_STATUS_OK ? w : 0;
    return st;
}

// The staged decoder on the host, for one item: the three passes in order with one
// thread, then cz_decode_all where they do not take the item, as the staged kernels do.
// `workspace` holds ws_size bytes (>= cz_ref_decode_workspace_size(), 8-byte aligned);
// *staged is 1 when the passes decoded the item, 0 when the fallback did.
// With `solo` pass 2 is the small-batch form (cz_staged_sequences_solo, one team).
CZ_REF_API uint32_t cz_ref_decode_staged(const uint8_t* src, uint64_t src_size, uint8_t* dst, uint64_t dst_capacity,
                                         const uint8_t* dict, uint64_t dict_size, void* workspace, uint64_t ws_size,
                                         uint64_t max_window_size, uint32_t solo, uint64_t* written,
                                         uint32_t* detail, uint32_t* staged) {
    uint16_t huf[CZ_HUF_DTABLE_SIZE];
    cz_staged_slot* slot = static_cast<cz_staged_slot*>(workspace);
    cz_staged_literals(cz_team_single(), src, src ? (size_t)src_size : 0, dst, (size_t)dst_capacity,
                       (size_t)dict_size, max_window_size, slot, huf);
    cz_seq_codes codes;
    cz_seq_codes_fill(&codes, 0, 1);
    if (solo) {
        uint32_t et[CZ_LANE_TABLE_ENTRIES];
        uint32_t words[CZ_SOLO_STREAM_WORDS];
        cz_solo_rec rec[1];
        cz_staged_sequences_solo(cz_team_single(), src, (size_t)src_size, slot, cz_staged_capacity(ws_size), &codes,
                                 et, words, rec);
    } else {
        uint16_t lane_tables[CZ_LANE_TABLE_ENTRIES];
        uint64_t ring[CZ_LR_RING];
        cz_staged_sequences(true, src, (size_t)src_size, slot, cz_staged_capacity(ws_size), &codes, lane_tables,
                            ring);
    }
    uint8_t* const work = solo ? static_cast<uint8_t*>(malloc(CZ_SOLO_OUT_BYTES)) : nullptr;
    const bool done = cz_staged_execute(cz_team_single(), src, dst, slot, work, work ? CZ_SOLO_OUT_BYTES : 0);
    free(work);
    if (done) {
        *staged = 1;
        *written = slot->state.content_size;
        *detail = 0;
        return CZ_STATUS_OK;
    }
    *staged = 0;
    size_t w = 0;
    const uint32_t st = cz_decode_all(src, (size_t)src_size, dst, (size_t)dst_capacity, dict, (size_t)dict_size,
                                      static_cast<cz_decode_workspace*>(workspace), max_window_size, &w, detail);
    *written = st == CZ_STATUS_OK ? w : 0;
    return st;
}

// The two-team decode of the fused zipper kernel (frame_decode.cuh, "one frame decoded by
// two teams") on the host, for one item: its parts in order with one thread (sequences,
// literals, execution), then cz_decode_all where they do not take the item, as the kernel
// does. No dictionary: with one the item goes to cz_decode_all. *split is 1 when the parts
// decoded the item, 0 when the fallback did.
CZ_REF_API uint32_t cz_ref_decode_split(const uint8_t* src, uint64_t src_size, uint8_t* dst, uint64_t dst_capacity,
                                        const uint8_t* dict, uint64_t dict_size, void* workspace,
                                        uint64_t max_window_size, uint64_t* written, uint32_t* detail,
                                        uint32_t* split) {
    cz_decode_workspace* ws = static_cast<cz_decode_workspace*>(workspace);
    *split = 0;
    if (!dict && src) {
        const cz_team one = cz_team_single();
        uint32_t seq_ok = 0, nseq = 0;
        cz_split_sequences(src, (size_t)src_size, (size_t)dst_capacity, max_window_size, ws, &ws->own.seq,
                           &ws->own.scratch.seq, one, &nseq, &seq_ok);
        const uint8_t* lits = nullptr;
        size_t nlits = 0, w = 0;
        const uint32_t lits_ok =
            cz_split_literals(src, (size_t)src_size, (size_t)dst_capacity, max_window_size, ws, nullptr, one, &lits, &nlits);
        if (cz_split_finish(src, (size_t)src_size, dst, (size_t)dst_capacity, max_window_size, ws, one, lits, nlits,
                            lits_ok, seq_ok, nseq, &w)) {
            *split = 1;
            *written = w;
            *detail = 0;
            return CZ_STATUS_OK;
        }
    }
    size_t w = 0;
    const uint32_t st = cz_decode_all(src, (size_t)src_size, dst, (size_t)dst_capacity, dict, (size_t)dict_size, ws,
                                      max_window_size, &w, detail);
    *written = st == CZ_STATUS_OK ? w : 0;
    return st;
}

// The small-batch sequences pass's repeat offsets (cz_solo_finish) on n <= 32 sequences
// (of_values[i], lls[i]) from the initial history: lane i's function is the composition of
// functions 0 .. i by the warp scan's steps (Hillis-Steele: at distance d, lane i >= d
// composes lane i - d's function of the step before before its own), applied to the
// history. offs[i] gets sequence i's offset, hist[0 .. 3) the history after the last.
CZ_REF_API void cz_ref_rep_scan_probe(const uint32_t* of_values, const uint32_t* lls, uint32_t n, uint32_t* offs,
                                      uint32_t* hist) {
    cz_rep_fn f[32], g[32];
    for (uint32_t i = 0; i < 32; i++) {
        f[i].src = 0x24;
        f[i].a0 = f[i].a1 = f[i].a2 = 0;
        if (i < n) f[i] = cz_rep_fn_of(of_values[i], lls[i]);
    }
    for (uint32_t d = 1; d < 32; d <<= 1) {
        for (uint32_t i = 0; i < 32; i++) g[i] = i >= d ? cz_rep_compose(f[i], f[i - d]) : f[i];
        for (uint32_t i = 0; i < 32; i++) f[i] = g[i];
    }
    for (uint32_t i = 0; i < n; i++) offs[i] = cz_rep_apply(f[i], 0, hist[0], hist[1], hist[2]);
    if (n > 0) {
        const cz_rep_fn l = f[n - 1];
        const uint32_t h0 = hist[0], h1 = hist[1], h2 = hist[2];
        hist[0] = cz_rep_apply(l, 0, h0, h1, h2);
        hist[1] = cz_rep_apply(l, 1, h0, h1, h2);
        hist[2] = cz_rep_apply(l, 2, h0, h1, h2);
    }
}

// The sequences pass's bit reader on stream[0 .. size) (an item of its own): three initial
// reads of widths[0 .. 3), then `groups` sequences of six reads each (widths[3 + 6g ..
// 3 + 6g + 6), read by cz_lr_sequence: at most 63 bits in the first three, 32 in the last three),
// each after cz_lr_fill, as pass 2
// reads them.
// Writes each value read to values[]; returns 1 when the reads consumed the stream
// exactly, 0 when not, 2 when cz_lr_init rejects the stream.
CZ_REF_API uint32_t cz_ref_lane_reader_probe(const uint8_t* stream, uint64_t size, const uint8_t* widths,
                                             uint64_t groups, uint32_t* values) {
    cz_lane_reader r;
    uint64_t ring[CZ_LR_RING];
    if (!cz_lr_init(&r, stream, (size_t)size, stream, (size_t)size, ring)) return 2;
    for (int j = 0; j < 3; j++) values[j] = cz_lr_read(&r, widths[j]);
    for (uint64_t g = 0; g < groups; g++) {
        cz_lr_fill(&r);
        unsigned w[6];
        for (int j = 0; j < 6; j++) w[j] = widths[3 + 6 * g + j];
        cz_lr_sequence(&r, w, values + 3 + 6 * g);
    }
    return cz_lr_finished(&r) ? 1 : 0;
}

// A Huffman stream read one code at a time, a bit at a time, with the table dt of log bits:
// the model cz_ref_huf_stream_probe holds both stream decoders to (the same input checks, the
// symbols, and OK only when the n codes end exactly at the stream's start).
static uint32_t cz_huf_serial(const uint16_t* dt, unsigned log, const uint8_t* src, size_t size, uint8_t* dst,
                              size_t n) {
    if (size == 0 || src[size - 1] == 0) return CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
    int64_t pos = 8 * (int64_t)size - (8 - (int64_t)cz_highbit32(src[size - 1]));  // bits below the end marker
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = 0;
        for (unsigned k = 0; k < log; k++) {
            const int64_t q = pos - 1 - (int64_t)k;  // bits below the start read as zeros
            idx = (idx << 1) | (q >= 0 ? (src[q >> 3] >> (q & 7)) & 1u : 0u);
        }
        dst[i] = (uint8_t)dt[idx];
        pos -= dt[idx] >> 8;
    }
    return pos == 0 ? CZ_STATUS_OK : CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
}

// cz_huf_decode_stream (warp 0) or cz_huf_decode_stream_warp (warp 1) against cz_huf_serial:
// reads the tree description desc[0 .. desc_size) (returns 0 when it is rejected, else 1 and
// its table log in *log), then decodes n symbols of src[0 .. size) with both, into fast[0 .. n)
// and serial[0 .. n), their statuses in *st_fast and *st_serial.
CZ_REF_API uint32_t cz_ref_huf_stream_probe(const uint8_t* desc, uint64_t desc_size, const uint8_t* src,
                                            uint64_t size, uint32_t n, uint32_t warp, uint8_t* fast,
                                            uint8_t* serial, uint32_t* st_fast, uint32_t* st_serial,
                                            uint32_t* log) {
    uint16_t dt[CZ_HUF_DTABLE_SIZE];
    cz_huf_scratch sc;
    unsigned l = 0;
    size_t used = 0;
    if (cz_huf_read_table(desc, (size_t)desc_size, dt, &l, &used, &sc) != CZ_STATUS_OK) return 0;
    *log = l;
    *st_fast = warp ? cz_huf_decode_stream_warp(dt, l, src, (size_t)size, fast, n)
                    : cz_huf_decode_stream(dt, l, src, (size_t)size, fast, n);
    *st_serial = cz_huf_serial(dt, l, src, (size_t)size, serial, n);
    return 1;
}

// Dynamic shared memory of cz_decode_staged_sequences (its launch passes this many bytes).
CZ_REF_API uint64_t cz_ref_staged_sequences_smem(void) { return CZ_STAGED_SEQ_SMEM; }

// Dynamic shared memory of cz_decode_staged_sequences_solo.
CZ_REF_API uint64_t cz_ref_staged_solo_smem(void) { return CZ_SOLO_STREAM_WORDS * 4; }

// Dynamic shared memory of cz_decode_staged_execute_solo.
CZ_REF_API uint64_t cz_ref_staged_solo_out_smem(void) { return CZ_SOLO_OUT_BYTES; }

// Where a workspace slot holds the staged state's mode after the staged kernels: 1 when
// the staged passes decoded the item, 0 when the fallback did.
CZ_REF_API uint64_t cz_ref_staged_mode_offset(void) {
    return offsetof(cz_staged_slot, state) + offsetof(cz_staged_state, mode);
}

// The batch form of the reference build: same contract as cz_decode_batch, one workspace.
CZ_REF_API void cz_ref_decode_batch(const cz_batch_item* items, uint32_t n, const uint8_t* dict, uint64_t dict_size,
                                    void* workspace, uint64_t max_window_size, cz_item_result* results) {
    for (uint32_t i = 0; i < n; i++) {
        size_t w = 0;
        uint32_t detail = 0;
        const uint32_t st =
            cz_decode_all(reinterpret_cast<const uint8_t*>(items[i].src), (size_t)items[i].src_size,
                          reinterpret_cast<uint8_t*>(items[i].dst), (size_t)items[i].dst_capacity, dict,
                          (size_t)dict_size, static_cast<cz_decode_workspace*>(workspace), max_window_size, &w, &detail);
        results[i].status = st;
        results[i].detail = detail;
        results[i].size = st == CZ_STATUS_OK ? w : 0;
    }
}

// 1 when the constant predefined FSE decoding tables (fse_predefined.cuh) equal what
// cz_fse_build_dtable builds from the predefined distributions, else 0.
CZ_REF_API uint32_t cz_ref_fse_predefined_ok() {
    const int16_t* norms[3] = {cz_ll_predefined_norm, cz_ml_predefined_norm, cz_of_predefined_norm};
    const unsigned max_symbol[3] = {CZ_LL_MAX_SYMBOL, CZ_ML_MAX_SYMBOL, CZ_OF_PREDEFINED_MAX_SYMBOL};
    const unsigned log[3] = {CZ_LL_PREDEFINED_LOG, CZ_ML_PREDEFINED_LOG, CZ_OF_PREDEFINED_LOG};
    const cz_fse_dentry* constant[3] = {cz_ll_predefined_dtable, cz_ml_predefined_dtable, cz_of_predefined_dtable};
    for (int k = 0; k < 3; k++) {
        cz_fse_dentry built[1 << 9];
        cz_fse_build_scratch scratch;
        if (!cz_fse_build_dtable(norms[k], max_symbol[k], log[k], built, &scratch)) return 0;
        for (uint32_t i = 0; i < (1u << log[k]); i++) {
            const cz_fse_dentry a = built[i], b = constant[k][i];
            if (a.base != b.base || a.symbol != b.symbol || a.nb_bits != b.nb_bits) return 0;
        }
    }
    return 1;
}

CZ_REF_API uint32_t cz_ref_scan_frames(const uint8_t* src, uint64_t src_size, uint64_t* content_total,
                                       uint32_t* all_known, uint64_t* bound, uint64_t* max_window) {
    return cz_scan_frames(src, (size_t)src_size, content_total, all_known, bound, max_window);
}

// Dictionary_ID of a zstd-format dictionary (0 for raw content), and whether its entropy
// tables load. Status: OK or DICTIONARY_CORRUPT.
CZ_REF_API uint32_t cz_ref_dictionary_check(const uint8_t* dict, uint64_t size, void* workspace, uint32_t* id,
                                            uint64_t* content_size) {
    const uint8_t* content = nullptr;
    size_t csize = 0;
    cz_decode_workspace* w = static_cast<cz_decode_workspace*>(workspace);
    cz_decode_use_tables(w, nullptr, nullptr);
    const uint32_t st =
        cz_load_dictionary(dict, (size_t)size, w, &content, &csize, id);
    *content_size = csize;
    return st;
}

#endif
