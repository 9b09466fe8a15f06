// Batched zstd compression: one frame per item.
//
// Kernel cz_encode_batch_warp
//   grid mapping: one warp per item at a time: warp g = blockIdx.x * (blockDim.x / 32) +
//                 threadIdx.x / 32 takes items g, g + W, g + 2W, ... where
//                 W = min(gridDim.x * blockDim.x / 32, slots); warps g >= W do nothing.
//                 All 32 lanes encode the item together (cz_encode_frame with cz_team_warp:
//                 match finding in batches of 32 positions, one per lane; literal and sequence
//                 counts, Huffman stream sizes, copies and the checksum's accumulators split
//                 between lanes; table builds in lane 0; the Huffman streams and the sequence
//                 bitstream 32 symbols or sequences at a time, one a lane); lane 0 writes
//                 the result. blockDim.x: a multiple of 32, at most 32 * CZ_ENCODE_WARPS.
//   shared:       fast_stride bytes per warp of the block (dynamic shared memory of
//                 blockDim.x / 32 * fast_stride bytes, fast_stride a multiple of 16): the
//                 counters, and also the hash table when fast_stride has room for it
//                 (cz_encode_fast_size; the host passes the counters' size only).
//   workspace:    warp g uses ws[g * ws_stride .. + ws_stride), ws_stride >=
//                 cz_encode_workspace_size of every item; the caller provides `slots` of them.
//   reads:        items[i] for i < n; items[i].src .. + src_size.
//   writes:       items[i].dst .. + dst_capacity (never past it), results[i] for i < n
//                 (exactly once each), the workspaces.
//   statuses:     CZ_STATUS_OK; CZ_STATUS_OUTPUT_TOO_SMALL (dst_capacity below what the
//                 item needs; cz_compress_bound never is); CZ_STATUS_WORKSPACE_TOO_SMALL
//                 (ws_stride below cz_encode_workspace_size of the item);
//                 CZ_STATUS_INVALID_ARGUMENT (content of 4 GiB or more, null pointers).
//   results[i].detail is 0.
//   flags:        CZ_ENCODE_CHECKSUM; CZ_ENCODE_PARSED: a slot may hold its item's parse from
//                 cz_encode_parse_batch_warp, launched just before with the same items,
//                 level, workspace, stride and slots; an item whose slot holds no parse of it
//                 is parsed here.
//
// Kernel cz_encode_parse_batch_warp (the first of two passes; blockDim.x as above, no shared
//   memory): warp g < min(W, n), W as above, parses item g into slot g
//   (cz_encode_parse_frame: items of one block, CZ_ENC_MIN_BLOCK .. CZ_BLOCK_SIZE_MAX bytes;
//   it leaves the others and items g >= W to the second pass). Reads items[g] and its source,
//   writes slot g only.
//
// The kernels and the reference build (a team of width 1) write the same bytes for the same
// item and level.
#include "include/abi.h"
#include "include/frame_encode.cuh"

#if defined(__CUDACC__)

#define CZ_ENCODE_WARPS 4

__device__ __forceinline__ cz_item_result cz_encode_item(cz_team team, const cz_batch_item& it, int32_t level,
                                                         uint32_t flags, uint8_t* slot, uint64_t ws_stride,
                                                         uint8_t* fast, uint64_t fast_size) {
    uint64_t size = 0;
    const uint32_t st =
        cz_encode_frame(team, reinterpret_cast<const uint8_t*>(it.src), it.src_size, reinterpret_cast<uint8_t*>(it.dst),
                        it.dst_capacity, level, flags, slot, ws_stride, fast, fast_size, &size);
    cz_item_result r;
    r.status = st;
    r.detail = 0;
    r.size = st == CZ_STATUS_OK ? size : 0;
    return r;
}

__device__ __forceinline__ void cz_encode_warps(const cz_batch_item* __restrict__ items, uint32_t n, int32_t level,
                                                uint32_t flags, uint8_t* __restrict__ ws, uint64_t ws_stride,
                                                uint64_t slots, uint32_t fast_stride,
                                                cz_item_result* __restrict__ results) {
    extern __shared__ __align__(16) uint8_t cz_encode_shared[];
    const unsigned warp = threadIdx.x >> 5;
    if (warp >= CZ_ENCODE_WARPS) return;
    const uint64_t warps = (uint64_t)gridDim.x * (blockDim.x >> 5);
    const uint64_t w = warps < slots ? warps : slots;
    const uint64_t g = (uint64_t)blockIdx.x * (blockDim.x >> 5) + warp;
    if (g >= w) return;
    const cz_team team = cz_team_warp();
    uint8_t* slot = ws + g * ws_stride;
    uint8_t* fast = fast_stride ? cz_encode_shared + (size_t)warp * fast_stride : nullptr;
    for (uint64_t i = g; i < n; i += w) {
        const cz_item_result r = cz_encode_item(team, items[i], level, flags, slot, ws_stride, fast, fast_stride);
        if (team.lane == 0) results[i] = r;
    }
}

// At most 72 registers per thread: 7 blocks (28 warps) per SM. Measured on an H100 (2026-11-24,
// 1 GiB of silesia/xml and of the Canterbury texts, 64 KiB chunks, GB/s at levels 1 / 3 / 9)
// against 8 (64 registers), 6 (80) and 5 (96) blocks per SM: xml 12.09 / 11.17 / 2.91 against
// 11.47 / 10.71 / 2.86, 11.62 / 10.67 / 2.73 and 11.73 / 10.69 / 2.54; Canterbury 6.86 / 6.09 /
// 1.99 against 6.42 / 5.85 / 2.08, 6.90 / 6.02 / 1.85 and 7.06 / 6.01 / 1.72. 128 registers (16
// warps) were slower on xml at every level (2026-11-23). With the shared-memory carveout set
// (2026-11-24 14:30 UTC) 7 still beat 6 and 8 at levels 1 and 3 on both. CZ_ENCODE_MIN_BLOCKS
// overrides it for such measurements (CUZSTD_NVCC_FLAGS).
#ifndef CZ_ENCODE_MIN_BLOCKS
#define CZ_ENCODE_MIN_BLOCKS 7
#endif
// The match finder as a pass of its own: 70 registers without spills at 7 blocks per SM
// (the whole encoder spills at its 72).
#ifndef CZ_PARSE_MIN_BLOCKS
#define CZ_PARSE_MIN_BLOCKS 7
#endif
extern "C" __global__ void __launch_bounds__(32 * CZ_ENCODE_WARPS, CZ_PARSE_MIN_BLOCKS)
    cz_encode_parse_batch_warp(const cz_batch_item* __restrict__ items, uint32_t n, int32_t level,
                               uint8_t* __restrict__ ws, uint64_t ws_stride, uint64_t slots) {
    const unsigned warp = threadIdx.x >> 5;
    if (warp >= CZ_ENCODE_WARPS) return;
    const uint64_t warps = (uint64_t)gridDim.x * (blockDim.x >> 5);
    const uint64_t w = warps < slots ? warps : slots;
    const uint64_t g = (uint64_t)blockIdx.x * (blockDim.x >> 5) + warp;
    if (g >= w || g >= n) return;
    const cz_batch_item it = items[g];
    cz_encode_parse_frame(cz_team_warp(), reinterpret_cast<const uint8_t*>(it.src), it.src_size, level,
                          ws + g * ws_stride, ws_stride);
}

extern "C" __global__ void __launch_bounds__(32 * CZ_ENCODE_WARPS, CZ_ENCODE_MIN_BLOCKS)
    cz_encode_batch_warp(const cz_batch_item* __restrict__ items, uint32_t n, int32_t level, uint32_t flags,
                         uint8_t* __restrict__ ws, uint64_t ws_stride, uint64_t slots, uint32_t fast_stride,
                         cz_item_result* __restrict__ results) {
    cz_encode_warps(items, n, level, flags, ws, ws_stride, slots, fast_stride, results);
}

#else  // reference build

CZ_REF_API uint64_t cz_ref_compress_bound(uint64_t src_size) { return cz_compress_bound(src_size); }

CZ_REF_API uint64_t cz_ref_encode_workspace_size(uint64_t max_src_size, int32_t level) {
    return cz_encode_workspace_size(max_src_size, level);
}

CZ_REF_API uint64_t cz_ref_encode_counters_size(void) { return cz_align16(sizeof(cz_encode_counters)); }

// Host counterpart of cz_encode_batch_warp with the same contract, items one after another in
// a single workspace of ws_size bytes; with CZ_ENCODE_PARSED each item is encoded in two
// passes (cz_encode_parse_frame, then cz_encode_frame), as the GPU does with
// cz_encode_parse_batch_warp before cz_encode_batch_warp.
CZ_REF_API void cz_ref_encode_batch(const cz_batch_item* items, uint32_t n, int32_t level, uint32_t flags,
                                    uint8_t* ws, uint64_t ws_size, cz_item_result* results) {
    for (uint32_t i = 0; i < n; i++) {
        uint64_t size = 0;
        if (flags & CZ_ENCODE_PARSED) {
            cz_encode_parse_frame(cz_team_single(), reinterpret_cast<const uint8_t*>(items[i].src), items[i].src_size,
                                  level, ws, ws_size);
        }
        const uint32_t st =
            cz_encode_frame(cz_team_single(), reinterpret_cast<const uint8_t*>(items[i].src), items[i].src_size,
                            reinterpret_cast<uint8_t*>(items[i].dst), items[i].dst_capacity, level, flags, ws,
                            ws_size, nullptr, 0, &size);
        results[i].status = st;
        results[i].detail = 0;
        results[i].size = st == CZ_STATUS_OK ? size : 0;
    }
}

// One frame of base[prefix_size .. prefix_size + src_size) with base[0..prefix_size) as a
// raw-content dictionary (cz_encode_frame_prefixed); returns the status, *out_size the size.
CZ_REF_API uint32_t cz_ref_encode_prefixed(const uint8_t* base, uint64_t prefix_size, uint64_t src_size,
                                           uint8_t* dst, uint64_t capacity, int32_t level, uint32_t flags,
                                           uint8_t* ws, uint64_t ws_size, uint64_t* out_size) {
    return cz_encode_frame_prefixed(cz_team_single(), base, prefix_size, src_size, dst, capacity, level, flags, ws,
                                    ws_size, nullptr, 0, out_size);
}

// Literal frames for the zipper's packer (cz_encode_literal_frame), one thread.
// Writes at dict[0 .. capacity) the literal dictionary (cz_write_literal_dictionary) with ID
// id for content whose byte counts are counts[0..255]; returns its size, 0 if it does not fit.
CZ_REF_API uint64_t cz_ref_literal_dictionary(const uint32_t* counts, uint32_t id, uint8_t* dict, uint64_t capacity) {
    cz_huf_ctable t;
    cz_huf_scratch sc;
    cz_literal_table(counts, &t, &sc);
    return cz_write_literal_dictionary(dict, (size_t)capacity, id, &t, &sc);
}

// Encodes src[0 .. n) as a literal frame (cz_encode_literal_frame) for the dictionary with ID
// dict_id built from `counts` (the same counts as its cz_ref_literal_dictionary); returns a
// status, the frame's size in *out_size.
CZ_REF_API uint32_t cz_ref_literal_frame(const uint8_t* src, uint64_t n, const uint32_t* counts, uint32_t dict_id,
                                         uint8_t* dst, uint64_t capacity, uint64_t* out_size) {
    cz_huf_ctable t;
    cz_huf_scratch sc;
    uint32_t scratch_counts[256];
    cz_literal_table(counts, &t, &sc);
    return cz_encode_literal_frame(cz_team_single(), src, n, dict_id, &t, dst, capacity, &sc, scratch_counts,
                                   out_size);
}

#endif
