// Forward bit writer of the encoder (host and device), bounded by its destination.
//
// Bits are appended least-significant first into a 64-bit accumulator and stored as
// little-endian bytes, which is the order zstd's decoders read backward (FSE and Huffman
// streams) or forward (FSE table descriptions). Every store is checked against `end`: a
// writer that runs out of room stops writing and remembers it (`overflow`), so callers
// check once at the end instead of at every symbol.
#ifndef CUZSTD_BIT_WRITER_CUH
#define CUZSTD_BIT_WRITER_CUH

#include "portability.cuh"

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
