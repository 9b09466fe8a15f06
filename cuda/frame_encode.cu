// Batched zstd compression: one frame per item.
//
// Kernel cz_encode_batch
//   grid mapping: one thread encodes one item at a time (cz_encode_frame, all stages in
//                 that thread); thread t of the grid takes items t, t + T, t + 2T, ...
//                 (T = total threads) and uses workspace slot t, ws + t * ws_stride.
//                 Any grid and block size.
//   reads:        items[i] for i < n; items[i].src .. + src_size.
//   writes:       items[i].dst .. + dst_capacity (never past it), results[i] for i < n
//                 (exactly once each), workspace slots [0, T) of ws_stride bytes.
//   statuses:     CZ_STATUS_OK; CZ_STATUS_OUTPUT_TOO_SMALL (dst_capacity below what the
//                 item needs; cz_compress_bound never is); CZ_STATUS_WORKSPACE_TOO_SMALL
//                 (ws_stride below cz_encode_workspace_size of the item);
//                 CZ_STATUS_INVALID_ARGUMENT (content of 4 GiB or more, null pointers).
//   results[i].detail is 0.
#include "include/abi.h"
#include "include/frame_encode.cuh"

#if defined(__CUDACC__)

extern "C" __global__ void cz_encode_batch(const cz_batch_item* __restrict__ items, uint32_t n, int32_t level,
                                           uint32_t flags, uint8_t* __restrict__ ws, uint64_t ws_stride,
                                           cz_item_result* __restrict__ results) {
    const uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const uint64_t threads = (uint64_t)gridDim.x * blockDim.x;
    uint8_t* slot = ws + t * ws_stride;
    for (uint64_t i = t; i < n; i += threads) {
        const cz_batch_item it = items[i];
        uint64_t size = 0;
        const uint32_t st = cz_encode_frame(reinterpret_cast<const uint8_t*>(it.src), it.src_size,
                                            reinterpret_cast<uint8_t*>(it.dst), it.dst_capacity, level, flags, slot,
                                            ws_stride, &size);
        cz_item_result r;
        r.status = st;
        r.detail = 0;
        r.size = st == CZ_STATUS_OK ? size : 0;
        results[i] = r;
    }
}

#else  // reference build

CZ_REF_API uint64_t cz_ref_compress_bound(uint64_t src_size) { return cz_compress_bound(src_size); }

CZ_REF_API uint64_t cz_ref_encode_workspace_size(uint64_t max_src_size, int32_t level) {
    return cz_encode_workspace_size(max_src_size, level);
}

// Host counterpart of cz_encode_batch with the same contract, items one after another in
// a single workspace of ws_size bytes.
CZ_REF_API void cz_ref_encode_batch(const cz_batch_item* items, uint32_t n, int32_t level, uint32_t flags,
                                    uint8_t* ws, uint64_t ws_size, cz_item_result* results) {
    for (uint32_t i = 0; i < n; i++) {
        uint64_t size = 0;
        const uint32_t st =
            cz_encode_frame(reinterpret_cast<const uint8_t*>(items[i].src), items[i].src_size,
                            reinterpret_cast<uint8_t*>(items[i].dst), items[i].dst_capacity, level, flags, ws,
                            ws_size, &size);
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
    return cz_encode_frame_prefixed(base, prefix_size, src_size, dst, capacity, level, flags, ws, ws_size,
                                    out_size);
}

#endif
