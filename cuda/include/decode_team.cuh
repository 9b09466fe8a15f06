// Who runs the decoder: one thread, or all 32 lanes of a warp together.
//
// Contract of a warp team (device only): every lane of the warp calls the decoder with the
// same arguments, converged, and gets the same results. Control flow is uniform: the
// sequential parts (headers, bitstreams, FSE states, FSE-coded Huffman weights) run
// identically in every lane, reading the same bytes; sequential parts that write shared
// state (FSE distributions, dictionary loads, Huffman code order) run in lane 0 and are
// followed by cz_team_sync; table fills, output writes and copies are split between the
// lanes.
// Every helper below that writes ends with cz_team_sync, so the bytes it wrote are visible
// to every lane when it returns.
//
// A single-thread team (cz_team_single, the reference build and one-thread kernels) runs
// the same code with width 1: the lane-parallel loops run in that one thread.
#ifndef CUZSTD_DECODE_TEAM_CUH
#define CUZSTD_DECODE_TEAM_CUH

#include "portability.cuh"

typedef struct cz_team {
    unsigned lane;   // 0 .. width - 1
    unsigned width;  // 1, or 32: a whole warp
} cz_team;

#define CZ_TEAM_MAX_WIDTH 32u
#define CZ_TEAM_FULL_MASK 0xFFFFFFFFu

CZ_HD CZ_FORCEINLINE cz_team cz_team_single() {
    cz_team t;
    t.lane = 0;
    t.width = 1;
    return t;
}

#if defined(__CUDACC__)
// The calling warp as a team; all 32 lanes must call.
__device__ CZ_FORCEINLINE cz_team cz_team_warp() {
    cz_team t;
    t.lane = threadIdx.x & 31u;
    t.width = 32;
    return t;
}
#endif

// Orders every lane's earlier memory accesses before every lane's later ones.
CZ_HD CZ_FORCEINLINE void cz_team_sync(cz_team t) {
#if defined(CZ_DEVICE)
    if (t.width > 1) __syncwarp();
#else
    (void)t;
#endif
}

// Bit i set where lane i's `p` holds.
CZ_HD CZ_FORCEINLINE uint32_t cz_team_ballot(cz_team t, bool p) {
#if defined(CZ_DEVICE)
    if (t.width > 1) return __ballot_sync(CZ_TEAM_FULL_MASK, p);
#else
    (void)t;
#endif
    return p ? 1u : 0u;
}

// Lane `from`'s v (`from` may differ between lanes).
CZ_HD CZ_FORCEINLINE uint32_t cz_team_shfl32(cz_team t, uint32_t v, unsigned from) {
#if defined(CZ_DEVICE)
    if (t.width > 1) return __shfl_sync(CZ_TEAM_FULL_MASK, v, (int)from);
#else
    (void)t;
    (void)from;
#endif
    return v;
}

CZ_HD CZ_FORCEINLINE uint64_t cz_team_shfl64(cz_team t, uint64_t v, unsigned from) {
#if defined(CZ_DEVICE)
    if (t.width > 1) return __shfl_sync(CZ_TEAM_FULL_MASK, (unsigned long long)v, (int)from);
#else
    (void)t;
    (void)from;
#endif
    return v;
}

// Bit i set where lane i's v equals the caller's.
CZ_HD CZ_FORCEINLINE uint32_t cz_team_match(cz_team t, uint32_t v) {
#if defined(CZ_DEVICE)
    if (t.width > 1) return __match_any_sync(CZ_TEAM_FULL_MASK, v);
#else
    (void)t;
    (void)v;
#endif
    return 1u;
}

// Number of set bits of x.
CZ_HD CZ_FORCEINLINE unsigned cz_popc32(uint32_t x) {
#if defined(CZ_DEVICE)
    return (unsigned)__popc(x);
#else
    return (unsigned)__builtin_popcount(x);
#endif
}

// Index of the lowest set bit of x != 0.
CZ_HD CZ_FORCEINLINE unsigned cz_lowbit32(uint32_t x) {
#if defined(CZ_DEVICE)
    return (unsigned)__ffs(x) - 1;
#else
    return (unsigned)__builtin_ctz(x);
#endif
}

// Inclusive prefix sum of v over lanes 0 .. lane.
CZ_HD CZ_FORCEINLINE uint64_t cz_team_scan64(cz_team t, uint64_t v) {
#if defined(CZ_DEVICE)
    if (t.width > 1) {
        for (unsigned d = 1; d < 32; d <<= 1) {
            const uint64_t y = __shfl_up_sync(CZ_TEAM_FULL_MASK, (unsigned long long)v, d);
            if (t.lane >= d) v += y;
        }
    }
#else
    (void)t;
#endif
    return v;
}

CZ_HD CZ_FORCEINLINE uint32_t cz_team_scan32(cz_team t, uint32_t v) {
#if defined(CZ_DEVICE)
    if (t.width > 1) {
        for (unsigned d = 1; d < 32; d <<= 1) {
            const uint32_t y = __shfl_up_sync(CZ_TEAM_FULL_MASK, v, d);
            if (t.lane >= d) v += y;
        }
    }
#else
    (void)t;
#endif
    return v;
}

// The number of lanes whose (nondecreasing over lanes) `incl` is <= x: with `incl` an
// inclusive prefix sum of lengths, the lane whose range holds position x.
CZ_HD CZ_FORCEINLINE unsigned cz_team_find(cz_team t, uint32_t incl, uint32_t x) {
    unsigned k = 0;
#if defined(CZ_DEVICE)
    if (t.width > 1) {
        for (unsigned step = 16; step >= 1; step >>= 1) {
            const uint32_t v = __shfl_sync(CZ_TEAM_FULL_MASK, incl, (int)(k + step - 1));
            if (v <= x) k += step;
        }
        return k;
    }
#else
    (void)t;
#endif
    (void)incl;
    (void)x;
    return k;
}

// dst[0 .. n) = src[0 .. n); the ranges do not overlap.
CZ_HD CZ_FORCEINLINE void cz_team_copy(cz_team t, uint8_t* dst, const uint8_t* src, size_t n) {
    if (t.width == 1) {
        if (n) memcpy(dst, src, n);
        return;
    }
    for (size_t i = t.lane; i < n; i += t.width) dst[i] = src[i];
    cz_team_sync(t);
}

CZ_HD CZ_FORCEINLINE void cz_team_fill(cz_team t, uint8_t* dst, uint8_t v, size_t n) {
    if (t.width == 1) {
        if (n) memset(dst, v, n);
        return;
    }
    for (size_t i = t.lane; i < n; i += t.width) dst[i] = v;
    cz_team_sync(t);
}

// Sum and maximum of v over the team's lanes, in every lane.
CZ_HD CZ_FORCEINLINE uint32_t cz_team_sum32(cz_team t, uint32_t v) {
#if defined(CZ_DEVICE)
    if (t.width > 1) {
        for (unsigned d = 16; d >= 1; d >>= 1) v += __shfl_xor_sync(CZ_TEAM_FULL_MASK, v, (int)d);
    }
#else
    (void)t;
#endif
    return v;
}

CZ_HD CZ_FORCEINLINE uint32_t cz_team_max32(cz_team t, uint32_t v) {
#if defined(CZ_DEVICE)
    if (t.width > 1) {
        for (unsigned d = 16; d >= 1; d >>= 1) {
            const uint32_t o = __shfl_xor_sync(CZ_TEAM_FULL_MASK, v, (int)d);
            v = o > v ? o : v;
        }
    }
#else
    (void)t;
#endif
    return v;
}

// dst[0 .. n) = 0 in 4-byte words.
CZ_HD CZ_FORCEINLINE void cz_team_zero32(cz_team t, uint32_t* dst, size_t n) {
    for (size_t i = t.lane; i < n; i += t.width) dst[i] = 0;
    cz_team_sync(t);
}

// (*counter)++ where several lanes may count the same counter at once.
CZ_HD CZ_FORCEINLINE void cz_team_count(cz_team t, uint32_t* counter) {
#if defined(CZ_DEVICE)
    if (t.width > 1) {
        atomicAdd(counter, 1u);
        return;
    }
#else
    (void)t;
#endif
    (*counter)++;
}

// Profiling hooks around the decoder's phases: empty unless the includer defines
// CZ_PROF_BEGIN(phase) and CZ_PROF_END(phase, team) (a development harness timing phases
// with clock64). Phases: literals, seq_tables, seq_decode, seq_exec, raw_rle, checksum.
#ifndef CZ_PROF_BEGIN
#define CZ_PROF_BEGIN(phase)
#define CZ_PROF_END(phase, team)
#endif

#endif  // CUZSTD_DECODE_TEAM_CUH
