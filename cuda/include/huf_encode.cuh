// Huffman coding of literals (host and device): code lengths limited to 11 bits, canonical
// codes as RFC 8878 assigns them, the tree description (direct 4-bit weights or
// FSE-compressed weights, whichever is smaller), 1 or 4 streams, and the literals section
// (raw, RLE, compressed or treeless, chosen by size).
#ifndef CUZSTD_HUF_ENCODE_CUH
#define CUZSTD_HUF_ENCODE_CUH

#include "portability.cuh"
#include "format.cuh"
#include "bit_writer.cuh"
#include "fse_encode.cuh"
#include "decode_team.cuh"

#define CZ_HUF_ENC_MAX_BITS 11
// Fewer literals than this are stored raw or RLE: a tree description costs more than it saves.
#define CZ_HUF_MIN_LITERALS 32
// At least this many literals use 4 streams (every stream then holds at least 64 symbols).
#define CZ_HUF_4_STREAMS_FROM 256

typedef struct cz_huf_ctable {
    uint16_t code[256];
    uint8_t len[256];  // 0: symbol has no code
    unsigned max_bits;
    unsigned valid;  // 1 when the table holds a usable code
} cz_huf_ctable;

typedef struct cz_huf_scratch {
    uint32_t counts[256];
    uint32_t keys[256];      // (scaled count << 8) | symbol, sorted ascending
    uint32_t weight[512];    // tree nodes: leaves then internal nodes
    uint16_t parent[512];
    uint8_t depth[512];
    int16_t norm[16];
    uint8_t weights[256];
    cz_fse_ctable fse;
    cz_huf_ctable fresh;  // the table built for the current literals
    uint64_t plan[4];     // lane 0's choices, for the other lanes (cz_write_literals)
} cz_huf_scratch;

// Code lengths from counts[0..255] with at least two non-zero counts: a Huffman tree of
// the counts, flattened (counts shifted right) until its depth is at most 11. Writes
// t->len, t->code, t->max_bits.
CZ_HD inline void cz_huf_build(cz_huf_ctable* t, const uint32_t* counts, cz_huf_scratch* sc) {
    for (unsigned shift = 0;; shift++) {
        unsigned n = 0;
        for (unsigned s = 0; s < 256; s++) {
            if (counts[s] == 0) continue;
            const uint32_t c = shift == 0 ? counts[s] : (counts[s] >> shift) | 1u;
            const uint32_t key = (c << 8) | s;
            // Insertion into keys[0..n), ascending.
            unsigned i = n++;
            while (i > 0 && sc->keys[i - 1] > key) {
                sc->keys[i] = sc->keys[i - 1];
                i--;
            }
            sc->keys[i] = key;
        }
        for (unsigned i = 0; i < n; i++) sc->weight[i] = sc->keys[i] >> 8;
        // Two-queue construction: leaves in order, internal nodes created in order of weight.
        unsigned leaf = 0, inner = n;
        for (unsigned k = n; k < 2 * n - 1; k++) {
            unsigned pick[2];
            for (unsigned j = 0; j < 2; j++) {
                if (leaf < n && (inner >= k || sc->weight[leaf] <= sc->weight[inner])) {
                    pick[j] = leaf++;
                } else {
                    pick[j] = inner++;
                }
            }
            sc->weight[k] = sc->weight[pick[0]] + sc->weight[pick[1]];
            sc->parent[pick[0]] = (uint16_t)k;
            sc->parent[pick[1]] = (uint16_t)k;
        }
        const unsigned root = 2 * n - 2;
        sc->depth[root] = 0;
        unsigned max_depth = 0;
        for (int k = (int)root - 1; k >= 0; k--) {
            sc->depth[k] = (uint8_t)(sc->depth[sc->parent[k]] + 1);
            if (k < (int)n && sc->depth[k] > max_depth) max_depth = sc->depth[k];
        }
        if (max_depth > CZ_HUF_ENC_MAX_BITS) continue;
        for (unsigned s = 0; s < 256; s++) t->len[s] = 0;
        for (unsigned i = 0; i < n; i++) t->len[sc->keys[i] & 0xFF] = sc->depth[i];
        t->max_bits = max_depth;
        break;
    }
    // Canonical codes: longest codes first, then by symbol, counting up.
    uint32_t per_len[CZ_HUF_ENC_MAX_BITS + 2] = {0};
    for (unsigned s = 0; s < 256; s++) per_len[t->len[s]]++;
    uint32_t start[CZ_HUF_ENC_MAX_BITS + 2] = {0};
    uint32_t next = 0;
    for (unsigned l = t->max_bits; l >= 1; l--) {
        start[l] = next;
        next += per_len[l] << (t->max_bits - l);
    }
    for (unsigned s = 0; s < 256; s++) {
        const unsigned l = t->len[s];
        if (l == 0) {
            t->code[s] = 0;
            continue;
        }
        t->code[s] = (uint16_t)(start[l] >> (t->max_bits - l));
        start[l] += 1u << (t->max_bits - l);
    }
    t->valid = 1;
}

// Bits needed to code the symbols counted in counts[] with table t; UINT64_MAX if some
// present symbol has no code in t.
CZ_HD inline uint64_t cz_huf_cost_bits(const cz_huf_ctable* t, const uint32_t* counts) {
    uint64_t bits = 0;
    for (unsigned s = 0; s < 256; s++) {
        if (counts[s] == 0) continue;
        if (t->len[s] == 0) return ~0ull;
        bits += (uint64_t)counts[s] * t->len[s];
    }
    return bits;
}

// Writes the Huffman tree description of t (header byte and weights) at dst. Returns its
// size, or 0 if it cannot be represented in capacity bytes.
CZ_HD inline size_t cz_huf_write_description(uint8_t* dst, size_t capacity, const cz_huf_ctable* t,
                                             cz_huf_scratch* sc) {
    unsigned last = 0;  // the last present symbol: its weight is implied
    for (unsigned s = 0; s < 256; s++) {
        if (t->len[s]) last = s;
    }
    const unsigned nw = last;
    uint32_t wcount[16] = {0};
    unsigned max_w = 0, distinct = 0;
    for (unsigned s = 0; s < nw; s++) {
        const uint8_t w = t->len[s] ? (uint8_t)(t->max_bits + 1 - t->len[s]) : 0;
        sc->weights[s] = w;
        if (wcount[w]++ == 0) distinct++;
        if (w > max_w) max_w = w;
    }
    size_t direct = nw <= 128 ? 1 + (nw + 1) / 2 : 0;
    // FSE-compressed weights: 2 states over one stream, accuracy log at most 6.
    size_t fse = 0;
    if (nw >= 2 && distinct >= 2 && capacity > 1) {
        const unsigned log = cz_fse_choose_table_log(nw, distinct, CZ_HUF_WEIGHTS_FSE_LOG_MAX);
        cz_fse_normalize(wcount, max_w, nw, log, sc->norm);
        const size_t cap = capacity - 1 < 127 ? capacity - 1 : 127;
        size_t hsize = cz_fse_write_ncount(dst + 1, cap, sc->norm, max_w, log);
        if (hsize && cz_fse_build_ctable(&sc->fse, sc->norm, max_w, log)) {
            cz_bit_writer w;
            cz_bw_init(&w, dst + 1 + hsize, cap - hsize);
            // Weight i is coded by state 1 if i is even, by state 2 if odd; the last two
            // weights start the states, the rest are encoded from the end.
            uint32_t st[2];
            st[(nw - 1) & 1] = cz_fse_init_state(&sc->fse, sc->weights[nw - 1]);
            st[(nw - 2) & 1] = cz_fse_init_state(&sc->fse, sc->weights[nw - 2]);
            for (int i = (int)nw - 3; i >= 0; i--) {
                cz_fse_encode(&w, &sc->fse, &st[i & 1], sc->weights[i]);
            }
            cz_fse_flush_state(&w, &sc->fse, st[1]);
            cz_fse_flush_state(&w, &sc->fse, st[0]);
            const size_t ssize = cz_bw_close_stream(&w);
            if (ssize) fse = 1 + hsize + ssize;
        }
    }
    if (fse && (direct == 0 || fse < direct)) {
        dst[0] = (uint8_t)(fse - 1);
        return fse <= capacity ? fse : 0;
    }
    if (direct == 0 || direct > capacity) return 0;
    dst[0] = (uint8_t)(127 + nw);
    for (unsigned i = 0; i < nw; i += 2) {
        const uint8_t hi = sc->weights[i];
        const uint8_t lo = i + 1 < nw ? sc->weights[i + 1] : 0;
        dst[1 + i / 2] = (uint8_t)((hi << 4) | lo);
    }
    return direct;
}

// Codes src[0..n) as one Huffman stream (symbols written last to first, so the decoder,
// reading backward, meets them first to last). Returns its size, 0 if it did not fit.
CZ_HD inline size_t cz_huf_write_stream(uint8_t* dst, size_t capacity, const uint8_t* src, size_t n,
                                        const cz_huf_ctable* t) {
    cz_bit_writer w;
    cz_bw_init(&w, dst, capacity);
    size_t i = n;
    while (i >= 4) {
        const uint8_t a = src[i - 1], b = src[i - 2], c = src[i - 3], d = src[i - 4];
        cz_bw_add(&w, t->code[a], t->len[a]);
        cz_bw_add(&w, t->code[b], t->len[b]);
        cz_bw_add(&w, t->code[c], t->len[c]);
        cz_bw_add(&w, t->code[d], t->len[d]);
        i -= 4;
        if (w.overflow) return 0;
    }
    while (i > 0) {
        const uint8_t a = src[--i];
        cz_bw_add(&w, t->code[a], t->len[a]);
    }
    return cz_bw_close_stream(&w);
}

#if defined(CZ_DEVICE)
// cz_huf_write_stream by a warp, writing the same bytes: 128 symbols a round, four
// consecutive ones a lane (at most 44 bits; cz_team_bits_round). buf: CZ_TEAM_BITS_WORDS words
// of scratch, 8-byte aligned.
__device__ inline size_t cz_team_huf_stream(cz_team t, uint8_t* dst, size_t capacity, const uint8_t* src, size_t n,
                                            const cz_huf_ctable* table, uint64_t* buf) {
    cz_team_bits b = cz_team_bits_begin(t, buf, dst, capacity);
    for (size_t r = 0; r < n; r += 128) {
        uint64_t lo = 0, hi = 0;
        unsigned used = 0;
        CZ_UNROLL
        for (unsigned k = 0; k < 4; k++) {
            const size_t at = r + 4 * t.lane + k;  // position in the stream's order
            if (at < n) {
                const uint8_t s = src[n - 1 - at];
                const unsigned len = table->len[s];
                cz_bits128_add(lo, hi, used, table->code[s], len);
            }
        }
        cz_team_bits_round(t, &b, lo, hi, used);
    }
    return cz_team_bits_close(t, &b, 0, 0);
}
#endif

// Writes a raw (or, with type CZ_LITERALS_RLE, RLE) literals section. Returns its size or 0
// if it does not fit. Every lane of the team calls; lane 0 writes the header, all copy.
CZ_HD inline size_t cz_write_raw_literals(cz_team t, uint8_t* dst, size_t capacity, const uint8_t* lits, size_t n,
                                          unsigned type) {
    const size_t h = n <= 31 ? 1 : n <= 4095 ? 2 : 3;
    const size_t body = type == CZ_LITERALS_RLE ? 1 : n;
    if (capacity < h + body) return 0;
    if (t.lane == 0) {
        if (h == 1) {
            dst[0] = (uint8_t)(type | (n << 3));
        } else if (h == 2) {
            dst[0] = (uint8_t)(type | (1u << 2) | ((n & 15) << 4));
            dst[1] = (uint8_t)(n >> 4);
        } else {
            dst[0] = (uint8_t)(type | (3u << 2) | ((n & 15) << 4));
            dst[1] = (uint8_t)(n >> 4);
            dst[2] = (uint8_t)(n >> 12);
        }
        if (type == CZ_LITERALS_RLE) dst[h] = lits[0];
    }
    if (type != CZ_LITERALS_RLE) cz_team_copy(t, dst + h, lits, n);
    cz_team_sync(t);
    return h + body;
}

// Writes the literals section of lits[0..n) at dst: RLE when every literal is the same,
// Huffman-coded (with a new table, or treeless with `prev` when that is cheaper) when it
// is smaller than raw, raw otherwise. `next` receives the table later blocks may repeat
// (prev's, unless a new table was written). Returns the size, or 0 if it does not fit.
// With fresh_allowed false no new table is written: the section is RLE, treeless with prev
// (when prev codes every literal and that is smaller than raw) or raw. Huffman-coded
// sections of at least four_from literals use 4 streams, shorter ones 1.
//
// Every lane of the team calls with the same arguments: the lanes count the literals
// (counts: 256 counters, in fast memory on the GPU) and the bits of each stream; lane 0 builds
// the table and its description; a warp writes the streams one after another
// (cz_team_huf_stream), each at its final place (stream sizes are known from the code lengths
// before any is written), a team of one with cz_huf_write_stream.
CZ_HD inline size_t cz_write_literals(cz_team t, uint8_t* dst, size_t capacity, const uint8_t* lits, size_t n,
                                      const cz_huf_ctable* prev, cz_huf_ctable* next, cz_huf_scratch* sc,
                                      uint32_t* counts, bool fresh_allowed = true,
                                      size_t four_from = CZ_HUF_4_STREAMS_FROM) {
    if (t.lane == 0 && next != prev) *next = *prev;
    cz_team_sync(t);
    if (n == 0) return cz_write_raw_literals(t, dst, capacity, lits, 0, CZ_LITERALS_RAW);
    cz_team_zero32(t, counts, 256);
    for (size_t i = t.lane; i < n; i += t.width) cz_team_count(t, counts + lits[i]);
    cz_team_sync(t);
    uint32_t d = 0;
    for (unsigned s = t.lane; s < 256; s += t.width) d += counts[s] != 0;
    const unsigned distinct = cz_team_sum32(t, d);
    if (distinct == 1 && n > 1) return cz_write_raw_literals(t, dst, capacity, lits, n, CZ_LITERALS_RLE);
    const size_t raw_size = n + (n <= 31 ? 1 : n <= 4095 ? 2 : 3);
    if (distinct >= 2 && n >= CZ_HUF_MIN_LITERALS && n < (1u << 18) && capacity > 5) {
        const bool four = n >= four_from;
        const size_t header = !four ? 3 : n < 1024 ? 3 : n < 16384 ? 4 : 5;
        uint8_t* body = dst + 5;  // widest header; the description moves down once the size is known
        const size_t body_cap = capacity - 5;
        if (t.lane == 0) {
            // The sizes a new table and the previous one would give, in bytes (estimates).
            const uint64_t prev_bits = prev->valid ? cz_huf_cost_bits(prev, counts) : ~0ull;
            size_t desc = 0;
            bool treeless = prev_bits != ~0ull;
            if (fresh_allowed) {
                cz_huf_build(&sc->fresh, counts, sc);
                const uint64_t fresh_bits = cz_huf_cost_bits(&sc->fresh, counts);
                desc = cz_huf_write_description(body, body_cap, &sc->fresh, sc);
                treeless = treeless && (prev_bits + 7) / 8 <= (fresh_bits + 7) / 8 + desc;
            }
            sc->plan[0] = treeless;
            sc->plan[1] = desc;
        }
        cz_team_sync(t);
        const bool treeless = sc->plan[0] != 0;
        const size_t desc = treeless ? 0 : (size_t)sc->plan[1];
        if (treeless || desc) {
            const cz_huf_ctable* table = treeless ? prev : &sc->fresh;
            // Bits of each stream, then the streams' sizes (with the end mark).
            const size_t seg = four ? (n + 3) / 4 : n;
            uint32_t b[4] = {0, 0, 0, 0};
            for (size_t i = t.lane; i < n; i += t.width) {
                const unsigned k = (unsigned)(i >= seg) + (unsigned)(i >= 2 * seg) + (unsigned)(i >= 3 * seg);
                const uint32_t l = table->len[lits[i]];
                b[0] += k == 0 ? l : 0;
                b[1] += k == 1 ? l : 0;
                b[2] += k == 2 ? l : 0;
                b[3] += k == 3 ? l : 0;
            }
            size_t sizes[4];
            size_t streams = four ? CZ_HUF_JUMP_TABLE_SIZE : 0;
            bool ok = true;
            for (unsigned k = 0; k < 4; k++) {
                sizes[k] = (cz_team_sum32(t, b[k]) + 8) / 8;
                if (k < 3 && sizes[k] > 0xFFFF) ok = false;
                if (four || k == 0) streams += sizes[k];
            }
            const size_t total = desc + streams;
            if (ok && total <= body_cap && total + header < raw_size && total < (1u << 18) && (four || total < 1024)) {
                const unsigned type = treeless ? CZ_LITERALS_TREELESS : CZ_LITERALS_COMPRESSED;
                const size_t h = !four ? 3 : (n < 1024 && total < 1024) ? 3 : (n < 16384 && total < 16384) ? 4 : 5;
                uint8_t* at = dst + h + desc;
                if (t.lane == 0) {
                    const unsigned sf = !four ? 0u : h == 3 ? 1u : h == 4 ? 2u : 3u;
                    const unsigned size_bits = h == 3 ? 10 : h == 4 ? 14 : 18;
                    const uint64_t v = (uint64_t)type | ((uint64_t)sf << 2) | ((uint64_t)n << 4) |
                                       ((uint64_t)total << (4 + size_bits));
                    cz_copy_forward(dst + h, body, desc);
                    for (size_t i = 0; i < h; i++) dst[i] = (uint8_t)(v >> (8 * i));
                    if (four) {
                        for (unsigned k = 0; k < 3; k++) {
                            at[2 * k] = (uint8_t)sizes[k];
                            at[2 * k + 1] = (uint8_t)(sizes[k] >> 8);
                        }
                    }
                    if (!treeless) *next = sc->fresh;
                }
                cz_team_sync(t);
                if (four) at += CZ_HUF_JUMP_TABLE_SIZE;
                const unsigned nstreams = four ? 4 : 1;
#if defined(CZ_DEVICE)
                if (t.width > 1) {
                    // A warp writes the streams one after another; the counts are spent, their
                    // memory is the scratch.
                    static_assert(256 * sizeof(uint32_t) >= 8 * CZ_TEAM_BITS_WORDS, "scratch of the streams");
                    size_t from = 0;
                    for (unsigned k = 0; k < nstreams; k++) {
                        const size_t len = !four ? n : k < 3 ? seg : n - 3 * seg;
                        cz_team_huf_stream(t, at + from, sizes[k], lits + seg * k, len, table,
                                           reinterpret_cast<uint64_t*>(counts));
                        from += sizes[k];
                    }
                    return h + total;
                }
#endif
                for (unsigned k = t.lane; k < nstreams; k += t.width) {
                    size_t from = 0;
                    for (unsigned j = 0; j < k; j++) from += sizes[j];
                    const size_t len = !four ? n : k < 3 ? seg : n - 3 * seg;
                    cz_huf_write_stream(at + from, sizes[k], lits + seg * k, len, table);
                }
                cz_team_sync(t);
                return h + total;
            }
        }
    }
    return cz_write_raw_literals(t, dst, capacity, lits, n, CZ_LITERALS_RAW);
}

#endif  // CUZSTD_HUF_ENCODE_CUH
