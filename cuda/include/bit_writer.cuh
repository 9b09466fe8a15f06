// Forward bit writer of the encoder (host and device), bounded by its destination, and the
// same streams written by a warp (cz_team_bits, device only).
//
// Bits are appended least-significant first into a 64-bit accumulator and stored as
// little-endian bytes, which is the order zstd's decoders read backward (FSE and Huffman
// streams) or forward (FSE table descriptions). Every store is checked against `end`: a
// writer that runs out of room stops writing and remembers it (`overflow`), so callers
// check once at the end instead of at every symbol.
#ifndef CUZSTD_BIT_WRITER_CUH
#define CUZSTD_BIT_WRITER_CUH

#include "portability.cuh"
#include "decode_team.cuh"

typedef struct cz_bit_writer {
    uint8_t* start;
    uint8_t* p;    // next byte to store
    uint8_t* end;  // one past the last byte that may be stored
    uint64_t acc;  // pending bits, the oldest in bit 0
    unsigned bits; // number of pending bits (< 64)
    bool overflow;
} cz_bit_writer;

CZ_HD CZ_FORCEINLINE void cz_bw_init(cz_bit_writer* w, uint8_t* dst, size_t capacity) {
    w->start = dst;
    w->p = dst;
    w->end = dst + capacity;
    w->acc = 0;
    w->bits = 0;
    w->overflow = false;
}

// Stores every complete byte of the accumulator; keeps fewer than 8 pending bits.
CZ_HD CZ_FORCEINLINE void cz_bw_flush(cz_bit_writer* w) {
    const unsigned nbytes = w->bits >> 3;
    if ((size_t)(w->end - w->p) >= 8) {
        memcpy(w->p, &w->acc, 8);  // little-endian host and device; extra bytes rewritten later
        w->p += nbytes;
    } else {
        for (unsigned i = 0; i < nbytes; i++) {
            if (w->p < w->end) {
                *w->p++ = (uint8_t)(w->acc >> (8 * i));
            } else {
                w->overflow = true;
            }
        }
    }
    w->acc = nbytes == 8 ? 0 : w->acc >> (8 * nbytes);
    w->bits &= 7;
}

// Appends the low `nbits` (0..32) bits of `value`.
CZ_HD CZ_FORCEINLINE void cz_bw_add(cz_bit_writer* w, uint64_t value, unsigned nbits) {
    if (w->bits + nbits > 64) cz_bw_flush(w);
    const uint64_t masked = nbits >= 64 ? value : value & ((1ull << nbits) - 1);
    w->acc |= masked << w->bits;
    w->bits += nbits;
    if (w->bits >= 56) cz_bw_flush(w);
}

// Appends the end mark of a backward-read stream (a 1 bit, then zero padding to a byte)
// and stores everything. Returns the stream's size in bytes, or 0 if it did not fit.
CZ_HD inline size_t cz_bw_close_stream(cz_bit_writer* w) {
    cz_bw_add(w, 1, 1);
    cz_bw_flush(w);
    if (w->bits > 0) {
        if (w->p < w->end) {
            *w->p++ = (uint8_t)w->acc;
        } else {
            w->overflow = true;
        }
        w->acc = 0;
        w->bits = 0;
    }
    return w->overflow ? 0 : (size_t)(w->p - w->start);
}

// Stores the pending bits padded with zeros to a whole byte (forward-read data such as an
// FSE table description). Returns the size in bytes, or 0 if it did not fit.
CZ_HD inline size_t cz_bw_close_forward(cz_bit_writer* w) {
    cz_bw_flush(w);
    if (w->bits > 0) {
        if (w->p < w->end) {
            *w->p++ = (uint8_t)w->acc;
        } else {
            w->overflow = true;
        }
        w->acc = 0;
        w->bits = 0;
    }
    return w->overflow ? 0 : (size_t)(w->p - w->start);
}

#if defined(CZ_DEVICE)
// ---- Bitstreams written by a warp ----
//
// A backward-read stream is a sequence of fields, each the low bits of a value, least
// significant bit first (what cz_bw_add appends one after another). A warp writes it a round
// at a time: each lane holds its field(s) of the round, in order, as up to 128 bits
// (cz_bits128_add), a prefix sum over the lanes places them after the bits before, and the
// whole 64-bit words go to the destination. The bytes are those cz_bw_add and cz_bw_close_stream write.

// Appends the low n (<= 32) bits of v to the 128-bit value (lo, hi) that holds `used` bits.
__device__ CZ_FORCEINLINE void cz_bits128_add(uint64_t& lo, uint64_t& hi, unsigned& used, uint64_t v, unsigned n) {
    v &= (1ull << n) - 1;
    if (used < 64) {
        lo |= v << used;
        if (used + n > 64) hi |= v >> (64 - used);
    } else {
        hi |= v << (used - 64);
    }
    used += n;
}

// Words of scratch a cz_team_bits holds: 32 lanes of at most 90 bits each, after fewer than
// 64 bits left from the round before.
#define CZ_TEAM_BITS_WORDS 47

// The state of a stream being written by a warp (the same in every lane).
typedef struct cz_team_bits {
    uint64_t* buf;   // CZ_TEAM_BITS_WORDS words, 8-byte aligned, zero after the first `fill` bits
    uint8_t* dst;    // the stream's first byte
    size_t capacity;
    size_t done;     // bytes of dst written
    unsigned fill;   // bits in buf, fewer than 64 between rounds
    bool overflow;   // a byte fell at or past capacity
} cz_team_bits;

// Starts a stream at dst[0 .. capacity) with buf as its scratch. Every lane calls.
__device__ inline cz_team_bits cz_team_bits_begin(cz_team t, uint64_t* buf, uint8_t* dst, size_t capacity) {
    for (unsigned i = t.lane; i < CZ_TEAM_BITS_WORDS; i += 32) buf[i] = 0;
    __syncwarp();
    cz_team_bits b;
    b.buf = buf;
    b.dst = dst;
    b.capacity = capacity;
    b.done = 0;
    b.fill = 0;
    b.overflow = false;
    return b;
}

// Appends every lane's `used` (<= 128) bits (lo, hi), lane 0's first, and writes the words
// completed. Every lane calls.
__device__ inline void cz_team_bits_round(cz_team t, cz_team_bits* b, uint64_t lo, uint64_t hi, unsigned used) {
    unsigned incl = used;
    for (unsigned d = 1; d < 32; d <<= 1) {
        const unsigned v = __shfl_up_sync(CZ_TEAM_FULL_MASK, incl, d);
        if (t.lane >= d) incl += v;
    }
    const unsigned total = __shfl_sync(CZ_TEAM_FULL_MASK, incl, 31);
    if (used) {
        const unsigned at = b->fill + incl - used, w = at >> 6, sh = at & 63;
        unsigned long long* buf = reinterpret_cast<unsigned long long*>(b->buf);
        atomicOr(&buf[w], (unsigned long long)(lo << sh));
        if (sh + used > 64) atomicOr(&buf[w + 1], (unsigned long long)(sh ? (lo >> (64 - sh)) | (hi << sh) : hi));
        if (sh + used > 128) atomicOr(&buf[w + 2], (unsigned long long)(hi >> (64 - sh)));
    }
    __syncwarp();
    b->fill += total;
    const unsigned words = b->fill >> 6;
    for (unsigned i = t.lane; i < 8 * words; i += 32) {
        if (b->done + i < b->capacity) {
            b->dst[b->done + i] = (uint8_t)(b->buf[i >> 3] >> (8 * (i & 7)));
        } else {
            b->overflow = true;
        }
    }
    const uint64_t carry = b->buf[words];
    __syncwarp();
    for (unsigned i = t.lane; i < CZ_TEAM_BITS_WORDS; i += 32) b->buf[i] = i == 0 ? carry : 0;
    __syncwarp();
    b->done += 8 * (size_t)words;
    b->fill &= 63;
}

// Appends `extra` (<= 40 bits, the same in every lane) and the end mark, writes the rest.
// Returns the stream's size, or 0 if it did not fit. Every lane calls.
__device__ inline size_t cz_team_bits_close(cz_team t, cz_team_bits* b, uint64_t extra, unsigned extra_bits) {
    uint64_t lo = b->buf[0], hi = 0;
    unsigned used = b->fill;
    cz_bits128_add(lo, hi, used, extra & 0xFFFFFFFFull, extra_bits < 32 ? extra_bits : 32);
    if (extra_bits > 32) cz_bits128_add(lo, hi, used, extra >> 32, extra_bits - 32);
    cz_bits128_add(lo, hi, used, 1, 1);
    const unsigned tail = (used + 7) >> 3;
    bool overflow = b->overflow;
    if (t.lane < tail) {
        if (b->done + t.lane < b->capacity) {
            b->dst[b->done + t.lane] = (uint8_t)(t.lane < 8 ? lo >> (8 * t.lane) : hi >> (8 * (t.lane - 8)));
        } else {
            overflow = true;
        }
    }
    __syncwarp();
    if (__any_sync(CZ_TEAM_FULL_MASK, overflow)) return 0;
    return b->done + tail;
}
#endif

// Bits of integer log2 with 8 fractional bits: cz_log2_q8(x) ~ 256 * log2(x) for x >= 1.
// Integer-only so the host and the device make identical cost-based choices.
CZ_HD inline uint32_t cz_log2_q8(uint32_t x) {
    if (x == 0) return 0;
    unsigned hb = 31u;
    while (!(x >> hb)) hb--;
    // Mantissa in Q16, in [1, 2).
    uint64_t m = hb >= 16 ? (uint64_t)x >> (hb - 16) : (uint64_t)x << (16 - hb);
    uint32_t frac = 0;
    for (int i = 7; i >= 0; i--) {
        m = (m * m) >> 16;
        if (m >= (2ull << 16)) {
            m >>= 1;
            frac |= 1u << i;
        }
    }
    return (hb << 8) | frac;
}

// Index of the lowest set bit of a non-zero 64-bit value.
CZ_HD CZ_FORCEINLINE unsigned cz_ctz64(uint64_t x) {
#if defined(__CUDA_ARCH__)
    return (unsigned)__ffsll((long long)x) - 1u;
#else
    return (unsigned)__builtin_ctzll(x);
#endif
}

// Copies n bytes forward one at a time; safe when dst <= src for overlapping ranges.
CZ_HD inline void cz_copy_forward(uint8_t* dst, const uint8_t* src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

#endif  // CUZSTD_BIT_WRITER_CUH
