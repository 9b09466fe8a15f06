// Backward bit reader for FSE and Huffman bitstreams (RFC 8878 "Bitstream"), host and device.
//
// A stream is read from its last byte towards its first; the highest set bit of the last
// byte is a marker that is not data. The reader keeps 64 bits in `container`; `consumed`
// counts the bits already taken from its top. It only ever loads the bytes
// src[0 .. size): streams of 8 bytes or more load whole 8-byte windows inside the stream,
// shorter ones are assembled byte by byte.
//
// Bits requested past the start of the stream do not fault: `read` returns bits of the
// container selected modulo 64, exactly as libzstd's reader does, so that the one case where
// libzstd 1.5.6 tolerates reading past the start (the second initial state of FSE-compressed
// Huffman weights) decodes the same way. Every other decoder requires `cz_br_finished`
// (all bits consumed, none more) after its last symbol, which rejects any over-read.
#ifndef CUZSTD_BIT_READER_CUH
#define CUZSTD_BIT_READER_CUH

#include "portability.cuh"
#include "fse_common.cuh"
#include "decode_team.cuh"

enum cz_br_state {
    CZ_BR_UNFINISHED = 0,   // at least 57 bits are available
    CZ_BR_END_OF_BUFFER = 1,  // the container holds the first bytes of the stream, bits remain
    CZ_BR_COMPLETED = 2,    // all bits consumed exactly
    CZ_BR_OVERFLOW = 3      // more bits consumed than the stream has
};

typedef struct cz_bit_reader {
    uint64_t container;
    uint32_t consumed;  // bits taken from the top of the container; > 64 after an over-read
    const uint8_t* start;
    const uint8_t* ptr;  // the container was loaded from ptr[0 .. 8) (ptr == start for short streams)
} cz_bit_reader;

// Starts reading src[0 .. size). Returns false for an empty stream or a last byte of 0
// (no end marker).
CZ_HD CZ_FORCEINLINE bool cz_br_init(cz_bit_reader* br, const uint8_t* src, size_t size) {
    if (size < 1) return false;
    const uint8_t last = src[size - 1];
    if (last == 0) return false;
    br->start = src;
    if (size >= 8) {
        br->ptr = src + size - 8;
        br->container = cz_read_le64(br->ptr);
        br->consumed = 8 - cz_highbit32(last);
    } else {
        br->ptr = src;
        uint64_t c = 0;
        for (size_t i = 0; i < size; i++) c |= (uint64_t)src[i] << (8 * i);
        br->container = c;
        br->consumed = 8 - cz_highbit32(last) + (uint32_t)(8 - size) * 8;
    }
    return true;
}

// Next n bits (n <= 56), not consumed. Past the stream start the result is the container
// bits selected modulo 64 (see the file comment).
CZ_HD CZ_FORCEINLINE uint64_t cz_br_look(const cz_bit_reader* br, unsigned n) {
    const unsigned shift = (64u - br->consumed - n) & 63u;
    return (br->container >> shift) & ((1ull << n) - 1);
}

CZ_HD CZ_FORCEINLINE uint64_t cz_br_read(cz_bit_reader* br, unsigned n) {
    uint64_t v = cz_br_look(br, n);
    br->consumed += n;
    return v;
}

// Next n bits (1 <= n <= 56) with zeros past the stream start, for table lookups where a
// short final code is followed by no more data.
CZ_HD CZ_FORCEINLINE uint32_t cz_br_peek_padded(const cz_bit_reader* br, unsigned n) {
    return (uint32_t)((br->container << (br->consumed & 63u)) >> ((64u - n) & 63u));
}

// Refills the container; returns the state. Never loads outside the stream.
CZ_HD CZ_FORCEINLINE cz_br_state cz_br_reload(cz_bit_reader* br) {
    if (br->consumed > 64) return CZ_BR_OVERFLOW;
    if (br->ptr >= br->start + 8) {
        br->ptr -= br->consumed >> 3;
        br->consumed &= 7;
        br->container = cz_read_le64(br->ptr);
        return CZ_BR_UNFINISHED;
    }
    if (br->ptr == br->start) return br->consumed < 64 ? CZ_BR_END_OF_BUFFER : CZ_BR_COMPLETED;
    uint32_t bytes = br->consumed >> 3;
    cz_br_state st = CZ_BR_UNFINISHED;
    if ((size_t)(br->ptr - br->start) < bytes) {
        bytes = (uint32_t)(br->ptr - br->start);
        st = CZ_BR_END_OF_BUFFER;
    }
    br->ptr -= bytes;
    br->consumed -= bytes * 8;
    br->container = cz_read_le64(br->ptr);
    return st;
}

// True when every bit of the stream has been consumed and no more.
CZ_HD CZ_FORCEINLINE bool cz_br_finished(const cz_bit_reader* br) {
    return br->ptr == br->start && br->consumed == 64;
}

// A team's view of a bitstream stream[0 .. size): each lane holds one 4-byte word of a
// 128-byte window, so a container reload is three shuffles instead of a memory access; the
// window moves (one load per lane) when a reload leaves it. Bytes outside the stream are
// never loaded (they read as zero in the window and are never asked for).
typedef struct cz_team_window {
    int64_t base;  // offset in the stream of lane 0's word
    uint32_t word;
} cz_team_window;

#define CZ_WINDOW_BYTES 128

CZ_HD CZ_FORCEINLINE void cz_win_fill(cz_team_window* w, cz_team tm, const uint8_t* stream, size_t size,
                                      int64_t base) {
    w->base = base;
    uint32_t v = 0;
    const int64_t at = base + 4 * (int64_t)tm.lane;
    if (at >= 0 && at + 4 <= (int64_t)size) {
        v = cz_read_le32(stream + at);
    } else {
        for (int b = 0; b < 4; b++) {
            if (at + b >= 0 && at + b < (int64_t)size) v |= (uint32_t)stream[at + b] << (8 * b);
        }
    }
    w->word = v;
}

// The 8 bytes at stream[p .. p + 8) (inside the stream), in every lane.
CZ_HD CZ_FORCEINLINE uint64_t cz_win_read64(cz_team_window* w, cz_team tm, const uint8_t* stream, size_t size,
                                            size_t p) {
    if (tm.width == 1) return cz_read_le64(stream + p);
    int64_t off = (int64_t)p - w->base;
    if (off < 0 || off + 8 > CZ_WINDOW_BYTES) {
        cz_win_fill(w, tm, stream, size, (int64_t)p + 8 - CZ_WINDOW_BYTES);
        off = CZ_WINDOW_BYTES - 8;
    }
    const unsigned i = (unsigned)off >> 2, sh = ((unsigned)off & 3u) * 8;
    const uint32_t w0 = cz_team_shfl32(tm, w->word, i);
    const uint32_t w1 = cz_team_shfl32(tm, w->word, (i + 1) & 31u);
    const uint32_t w2 = cz_team_shfl32(tm, w->word, (i + 2) & 31u);
    const uint64_t lo = (uint64_t)w0 | ((uint64_t)w1 << 32);
    return sh ? (lo >> sh) | ((uint64_t)w2 << (64 - sh)) : lo;
}

// cz_br_reload (same results) for a reader over stream[0 .. size), loading through `w`.
CZ_HD CZ_FORCEINLINE void cz_br_reload_win(cz_bit_reader* br, cz_team_window* w, cz_team tm, const uint8_t* stream,
                                           size_t size) {
    if (br->consumed > 64) return;
    if (br->ptr >= br->start + 8) {
        br->ptr -= br->consumed >> 3;
        br->consumed &= 7;
        br->container = cz_win_read64(w, tm, stream, size, (size_t)(br->ptr - stream));
        return;
    }
    if (br->ptr == br->start) return;
    uint32_t bytes = br->consumed >> 3;
    if ((size_t)(br->ptr - br->start) < bytes) bytes = (uint32_t)(br->ptr - br->start);
    br->ptr -= bytes;
    br->consumed -= bytes * 8;
    br->container = cz_win_read64(w, tm, stream, size, (size_t)(br->ptr - stream));
}

#endif  // CUZSTD_BIT_READER_CUH
