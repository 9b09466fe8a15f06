// XXH64 (the content checksum of zstd frames), written once for host and device.
//
// The hash of a buffer of length >= 32 runs four independent accumulators over
// 32-byte stripes (accumulator i takes bytes 8i..8i+7 of every stripe), merges them,
// then mixes in the tail (< 32 bytes). The GPU kernel gives each accumulator its own
// lane; cz_xxh64 below runs all four in one thread.
#ifndef CUZSTD_XXHASH64_CUH
#define CUZSTD_XXHASH64_CUH

#include "portability.cuh"

#define CZ_XXH_PRIME64_1 0x9E3779B185EBCA87ULL
#define CZ_XXH_PRIME64_2 0xC2B2AE3D27D4EB4FULL
#define CZ_XXH_PRIME64_3 0x165667B19E3779F9ULL
#define CZ_XXH_PRIME64_4 0x85EBCA77C2B2AE63ULL
#define CZ_XXH_PRIME64_5 0x27D4EB2F165667C5ULL

CZ_HD CZ_FORCEINLINE uint64_t cz_xxh64_round(uint64_t acc, uint64_t input) {
    acc += input * CZ_XXH_PRIME64_2;
    acc = cz_rotl64(acc, 31);
    return acc * CZ_XXH_PRIME64_1;
}

CZ_HD CZ_FORCEINLINE uint64_t cz_xxh64_merge_round(uint64_t acc, uint64_t val) {
    val = cz_xxh64_round(0, val);
    acc ^= val;
    return acc * CZ_XXH_PRIME64_1 + CZ_XXH_PRIME64_4;
}

// Initial value of accumulator `lane` (0..3).
CZ_HD CZ_FORCEINLINE uint64_t cz_xxh64_lane_init(uint64_t seed, unsigned lane) {
    switch (lane) {
        case 0: return seed + CZ_XXH_PRIME64_1 + CZ_XXH_PRIME64_2;
        case 1: return seed + CZ_XXH_PRIME64_2;
        case 2: return seed;
        default: return seed - CZ_XXH_PRIME64_1;
    }
}

// Folds the 8-byte words at q + 32 i, for i in [s0, s1), into one XXH64 accumulator v and
// returns it (accumulator l of a buffer p takes q = p + 8 l). On the device, when q is 8-byte
// aligned, each word is one 8-byte load and the next four stripes' words are loaded while four
// are folded, so the loads stay off the accumulator's chain of dependent rounds.
CZ_HD CZ_FORCEINLINE uint64_t cz_xxh64_fold(uint64_t v, const uint8_t* q, uint64_t s0, uint64_t s1) {
#if defined(CZ_DEVICE)
    if (((uintptr_t)q & 7u) == 0 && s0 + 4 <= s1) {
        const uint64_t* w = reinterpret_cast<const uint64_t*>(q);
        uint64_t i = s0;
        uint64_t a = w[4 * i], b = w[4 * i + 4], c = w[4 * i + 8], d = w[4 * i + 12];
        for (i += 4; i + 4 <= s1; i += 4) {
            const uint64_t a2 = w[4 * i], b2 = w[4 * i + 4], c2 = w[4 * i + 8], d2 = w[4 * i + 12];
            v = cz_xxh64_round(cz_xxh64_round(cz_xxh64_round(cz_xxh64_round(v, a), b), c), d);
            a = a2;
            b = b2;
            c = c2;
            d = d2;
        }
        v = cz_xxh64_round(cz_xxh64_round(cz_xxh64_round(cz_xxh64_round(v, a), b), c), d);
        for (; i < s1; i++) v = cz_xxh64_round(v, w[4 * i]);
        return v;
    }
#endif
    for (uint64_t i = s0; i < s1; i++) v = cz_xxh64_round(v, cz_read_le64(q + 32 * i));
    return v;
}

// Converges the four accumulators (only meaningful when the input had >= 32 bytes).
CZ_HD CZ_FORCEINLINE uint64_t cz_xxh64_converge(uint64_t v1, uint64_t v2, uint64_t v3, uint64_t v4) {
    uint64_t h = cz_rotl64(v1, 1) + cz_rotl64(v2, 7) + cz_rotl64(v3, 12) + cz_rotl64(v4, 18);
    h = cz_xxh64_merge_round(h, v1);
    h = cz_xxh64_merge_round(h, v2);
    h = cz_xxh64_merge_round(h, v3);
    h = cz_xxh64_merge_round(h, v4);
    return h;
}

// Mixes the final `len & 31` bytes at `tail` into h, then avalanches.
CZ_HD inline uint64_t cz_xxh64_finish(uint64_t h, const uint8_t* tail, uint64_t len) {
    uint64_t rem = len & 31;
    const uint8_t* p = tail;
    while (rem >= 8) {
        h ^= cz_xxh64_round(0, cz_read_le64(p));
        h = cz_rotl64(h, 27) * CZ_XXH_PRIME64_1 + CZ_XXH_PRIME64_4;
        p += 8;
        rem -= 8;
    }
    if (rem >= 4) {
        h ^= (uint64_t)cz_read_le32(p) * CZ_XXH_PRIME64_1;
        h = cz_rotl64(h, 23) * CZ_XXH_PRIME64_2 + CZ_XXH_PRIME64_3;
        p += 4;
        rem -= 4;
    }
    while (rem > 0) {
        h ^= (uint64_t)(*p) * CZ_XXH_PRIME64_5;
        h = cz_rotl64(h, 11) * CZ_XXH_PRIME64_1;
        p++;
        rem--;
    }
    h ^= h >> 33;
    h *= CZ_XXH_PRIME64_2;
    h ^= h >> 29;
    h *= CZ_XXH_PRIME64_3;
    h ^= h >> 32;
    return h;
}

// Streaming state, so a decoder can hash its output as it produces it.
typedef struct cz_xxh64_state {
    uint64_t v[4];
    uint64_t total_len;
    uint64_t seed;
    uint8_t buf[32];
    uint32_t buf_len;
} cz_xxh64_state;

CZ_HD inline void cz_xxh64_init(cz_xxh64_state* s, uint64_t seed) {
    for (unsigned i = 0; i < 4; i++) s->v[i] = cz_xxh64_lane_init(seed, i);
    s->total_len = 0;
    s->seed = seed;
    s->buf_len = 0;
}

CZ_HD inline void cz_xxh64_stripe(cz_xxh64_state* s, const uint8_t* p) {
    s->v[0] = cz_xxh64_round(s->v[0], cz_read_le64(p));
    s->v[1] = cz_xxh64_round(s->v[1], cz_read_le64(p + 8));
    s->v[2] = cz_xxh64_round(s->v[2], cz_read_le64(p + 16));
    s->v[3] = cz_xxh64_round(s->v[3], cz_read_le64(p + 24));
}

CZ_HD inline void cz_xxh64_update(cz_xxh64_state* s, const uint8_t* p, uint64_t len) {
    s->total_len += len;
    if (s->buf_len > 0) {
        while (len > 0 && s->buf_len < 32) {
            s->buf[s->buf_len++] = *p++;
            len--;
        }
        if (s->buf_len < 32) return;
        cz_xxh64_stripe(s, s->buf);
        s->buf_len = 0;
    }
    while (len >= 32) {
        cz_xxh64_stripe(s, p);
        p += 32;
        len -= 32;
    }
    while (len > 0) {
        s->buf[s->buf_len++] = *p++;
        len--;
    }
}

CZ_HD inline uint64_t cz_xxh64_digest(const cz_xxh64_state* s) {
    uint64_t h;
    if (s->total_len >= 32) {
        h = cz_xxh64_converge(s->v[0], s->v[1], s->v[2], s->v[3]);
    } else {
        h = s->seed + CZ_XXH_PRIME64_5;
    }
    h += s->total_len;
    return cz_xxh64_finish(h, s->buf, s->buf_len);
}

// One-shot hash of `len` bytes at `p`, in one thread.
CZ_HD inline uint64_t cz_xxh64(const uint8_t* p, uint64_t len, uint64_t seed) {
    uint64_t h;
    const uint8_t* q = p;
    if (len >= 32) {
        uint64_t v1 = cz_xxh64_lane_init(seed, 0), v2 = cz_xxh64_lane_init(seed, 1);
        uint64_t v3 = cz_xxh64_lane_init(seed, 2), v4 = cz_xxh64_lane_init(seed, 3);
        const uint8_t* end = p + (len & ~(uint64_t)31);
        while (q < end) {
            v1 = cz_xxh64_round(v1, cz_read_le64(q));
            v2 = cz_xxh64_round(v2, cz_read_le64(q + 8));
            v3 = cz_xxh64_round(v3, cz_read_le64(q + 16));
            v4 = cz_xxh64_round(v4, cz_read_le64(q + 24));
            q += 32;
        }
        h = cz_xxh64_converge(v1, v2, v3, v4);
    } else {
        h = seed + CZ_XXH_PRIME64_5;
    }
    h += len;
    return cz_xxh64_finish(h, q, len);
}

#endif  // CUZSTD_XXHASH64_CUH
