// Batched XXH64: one 64-bit hash per input buffer, any number of buffers of any size.
//
// Kernel cz_xxh64_batch
//   grid mapping: 4 consecutive lanes of a warp own one buffer; lane k of the group runs
//                 accumulator k over every 32-byte stripe, the group's lane 0 merges the
//                 accumulators (shuffles of width 4) and hashes the tail.
//                 threads = 4 * n, any block size that is a multiple of 32.
//   reads:        items[i].src .. +items[i].src_size for i < n (bytes outside are never read)
//   writes:       out[i] for i < n, exactly once each
//   statuses:     none; a null src with a non-zero size is the caller's bug and is
//                 rejected on the host before launch.
#include "include/abi.h"
#include "include/xxhash64.cuh"

#if defined(__CUDACC__)

// Loads 8 bytes of a buffer; aligned addresses take one 64-bit load.
__device__ __forceinline__ uint64_t cz_load8(const uint8_t* p) {
    if ((reinterpret_cast<uintptr_t>(p) & 7) == 0) {
        return __ldg(reinterpret_cast<const unsigned long long*>(p));
    }
    return cz_read_le64(p);
}

extern "C" __global__ void cz_xxh64_batch(const cz_batch_item* __restrict__ items, uint32_t n,
                                          uint64_t seed, uint64_t* __restrict__ out) {
    const uint64_t tid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const uint64_t item = tid >> 2;
    const unsigned lane = threadIdx.x & 3;
    // Groups of 4 lanes never straddle a warp; a group past the end still takes part in
    // the shuffles of its warp with a zero-length buffer.
    const bool active = item < n;
    const uint8_t* p = active ? reinterpret_cast<const uint8_t*>(items[item].src) : nullptr;
    const uint64_t len = active ? items[item].src_size : 0;
    const uint64_t stripes = len >> 5;

    uint64_t v = cz_xxh64_lane_init(seed, lane);
    const uint8_t* q = active ? p + 8 * lane : nullptr;
    uint64_t s = 0;
    // Eight stripes per iteration keep eight independent loads in flight per lane, which
    // matters when few large buffers leave most of the GPU's threads idle.
    for (; s + 8 <= stripes; s += 8) {
        uint64_t w[8];
#pragma unroll
        for (int k = 0; k < 8; k++) w[k] = cz_load8(q + 32 * k);
#pragma unroll
        for (int k = 0; k < 8; k++) v = cz_xxh64_round(v, w[k]);
        q += 256;
    }
    for (; s < stripes; s++) {
        v = cz_xxh64_round(v, cz_load8(q));
        q += 32;
    }

    const unsigned base = threadIdx.x & 31 & ~3u;
    const unsigned mask = 0xffffffffu;
    uint64_t v1 = __shfl_sync(mask, v, base + 0);
    uint64_t v2 = __shfl_sync(mask, v, base + 1);
    uint64_t v3 = __shfl_sync(mask, v, base + 2);
    uint64_t v4 = __shfl_sync(mask, v, base + 3);
    if (!active || lane != 0) return;

    uint64_t h = len >= 32 ? cz_xxh64_converge(v1, v2, v3, v4) : seed + CZ_XXH_PRIME64_5;
    h += len;
    out[item] = cz_xxh64_finish(h, p + (stripes << 5), len);
}

#else  // reference build

// Host counterpart of cz_xxh64_batch with the same contract; returns nothing.
CZ_REF_API void cz_ref_xxh64_batch(const cz_batch_item* items, uint32_t n, uint64_t seed,
                                   uint64_t* out) {
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t* p = reinterpret_cast<const uint8_t*>(items[i].src);
        out[i] = cz_xxh64(p, items[i].src_size, seed);
    }
}

// Streaming interface of the reference build, exposed so tests can check that
// cz_xxh64_update gives the one-shot hash for every split of the input.
CZ_REF_API uint64_t cz_ref_xxh64_streaming(const uint8_t* p, uint64_t len, const uint64_t* cuts,
                                           uint32_t ncuts, uint64_t seed) {
    cz_xxh64_state s;
    cz_xxh64_init(&s, seed);
    uint64_t at = 0;
    for (uint32_t i = 0; i < ncuts; i++) {
        uint64_t cut = cuts[i] < len ? cuts[i] : len;
        if (cut < at) continue;
        cz_xxh64_update(&s, p + at, cut - at);
        at = cut;
    }
    cz_xxh64_update(&s, p + at, len - at);
    return cz_xxh64_digest(&s);
}

#endif
