// Output copies shared with a warp: the decoder runs in one thread (the leader); when it is
// given a team, long copies into the output are split with the other 31 lanes of its warp.
//
// Protocol (device only): the leader writes a command into the team's mailbox (shared
// memory), passes a __syncwarp, copies its share (bytes 0, 32, 64, ...), and passes a
// second __syncwarp; each helper lane loops in cz_team_help: __syncwarp, read the command,
// copy its share (bytes lane, lane + 32, ...), __syncwarp. CZ_TEAM_DONE ends the helpers'
// loop. After the second barrier the whole copy is visible to the leader. The reference
// build and single-thread callers pass no mailbox and copy alone.
#ifndef CUZSTD_DECODE_TEAM_CUH
#define CUZSTD_DECODE_TEAM_CUH

#include "portability.cuh"

enum cz_team_op { CZ_TEAM_COPY = 0, CZ_TEAM_FILL = 1, CZ_TEAM_MATCH = 2, CZ_TEAM_DONE = 3 };

typedef struct cz_team_cmd {
    uint8_t* dst;
    const uint8_t* src;  // COPY: source; MATCH: the `offset` bytes the match repeats
    uint64_t n;
    uint64_t offset;
    uint32_t op;
    uint32_t value;  // FILL byte
} cz_team_cmd;

typedef struct cz_team {
    cz_team_cmd* box;  // null: the caller copies alone
} cz_team;

// Copies shorter than this are not worth two barriers.
#define CZ_TEAM_MIN_BYTES 64

CZ_HD CZ_FORCEINLINE cz_team cz_team_single() {
    cz_team t;
    t.box = nullptr;
    return t;
}

// Lane `lane` of 32's share of a command.
CZ_HD CZ_FORCEINLINE void cz_team_share(const cz_team_cmd& c, unsigned lane) {
    switch (c.op) {
        case CZ_TEAM_COPY:
            for (uint64_t i = lane; i < c.n; i += 32) c.dst[i] = c.src[i];
            break;
        case CZ_TEAM_FILL:
            for (uint64_t i = lane; i < c.n; i += 32) c.dst[i] = (uint8_t)c.value;
            break;
        default:
            // dst[i] = dst[i - offset] in order: with the offset bytes before dst final,
            // dst[i] = src[i % offset] (src = dst - offset), independent of other bytes.
            for (uint64_t i = lane; i < c.n; i += 32) c.dst[i] = c.src[c.offset >= c.n ? i : i % c.offset];
            break;
    }
}

#if defined(__CUDA_ARCH__)
__device__ __forceinline__ void cz_team_run(cz_team t, const cz_team_cmd& c) {
    *t.box = c;
    __syncwarp();
    cz_team_share(c, 0);
    __syncwarp();
}

// Helper lanes (1..31) of a warp whose lane 0 decodes with this mailbox: returns when the
// leader calls cz_team_finish.
__device__ __forceinline__ void cz_team_help(cz_team_cmd* box, unsigned lane) {
    for (;;) {
        __syncwarp();
        const cz_team_cmd c = *box;
        if (c.op == CZ_TEAM_DONE) break;
        cz_team_share(c, lane);
        __syncwarp();
    }
    __syncwarp();
}

// The leader's side of ending cz_team_help.
__device__ __forceinline__ void cz_team_finish(cz_team_cmd* box) {
    box->op = CZ_TEAM_DONE;
    __syncwarp();
    __syncwarp();
}
#endif

// dst[0 .. n) = src[0 .. n); the ranges do not overlap.
CZ_HD CZ_FORCEINLINE void cz_team_copy(cz_team t, uint8_t* dst, const uint8_t* src, size_t n) {
#if defined(__CUDA_ARCH__)
    if (t.box && n >= CZ_TEAM_MIN_BYTES) {
        cz_team_cmd c;
        c.dst = dst;
        c.src = src;
        c.n = n;
        c.offset = 0;
        c.op = CZ_TEAM_COPY;
        c.value = 0;
        cz_team_run(t, c);
        return;
    }
#else
    (void)t;
#endif
    if (n) memcpy(dst, src, n);
}

CZ_HD CZ_FORCEINLINE void cz_team_fill(cz_team t, uint8_t* dst, uint8_t v, size_t n) {
#if defined(__CUDA_ARCH__)
    if (t.box && n >= CZ_TEAM_MIN_BYTES) {
        cz_team_cmd c;
        c.dst = dst;
        c.src = nullptr;
        c.n = n;
        c.offset = 0;
        c.op = CZ_TEAM_FILL;
        c.value = v;
        cz_team_run(t, c);
        return;
    }
#else
    (void)t;
#endif
    if (n) memset(dst, v, n);
}

// dst[i] = dst[i - offset] for i = 0 .. len, in order (offset >= 1; the bytes before dst are
// final).
CZ_HD CZ_FORCEINLINE void cz_team_match(cz_team t, uint8_t* dst, size_t offset, size_t len) {
    const uint8_t* m = dst - offset;
#if defined(__CUDA_ARCH__)
    if (t.box && len >= CZ_TEAM_MIN_BYTES) {
        cz_team_cmd c;
        c.dst = dst;
        c.src = m;
        c.n = len;
        c.offset = offset;
        c.op = CZ_TEAM_MATCH;
        c.value = 0;
        cz_team_run(t, c);
        return;
    }
#else
    (void)t;
#endif
    if (offset >= len) {
        if (len) memcpy(dst, m, len);
    } else {
        for (size_t i = 0; i < len; i++) dst[i] = m[i];
    }
}

#endif  // CUZSTD_DECODE_TEAM_CUH
