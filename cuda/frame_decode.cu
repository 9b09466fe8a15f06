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
// Kernel cz_decode_batch (one thread per item; the differential check of the warp kernel)
//   grid mapping: block b takes items b, b + W, ... (W = min(gridDim.x, slots)); thread 0 of
//                 the block decodes the item alone, the other threads idle.
//   workspace, reads, writes, statuses: as cz_decode_batch_warp, with block b using slot b.
#include "include/abi.h"
#include "include/frame_decode.cuh"

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
