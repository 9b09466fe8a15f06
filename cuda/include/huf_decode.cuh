// Huffman literals decoding (RFC 8878 "Huffman Coding"), host and device: the tree
// description (direct or FSE-compressed weights), the decoding table, and the 1- and
// 4-stream bitstreams.
#ifndef CUZSTD_HUF_DECODE_CUH
#define CUZSTD_HUF_DECODE_CUH

#include "portability.cuh"
#include "abi.h"
#include "format.cuh"
#include "fse_common.cuh"
#include "fse_decode.cuh"
#include "bit_reader.cuh"
#include "decode_team.cuh"

// Decoding table entry: symbol in the low byte, code length in bits in the high byte.
// The table has 1 << table_log entries, indexed by the next table_log bits of the stream.
#define CZ_HUF_DTABLE_SIZE (1u << CZ_HUF_TABLELOG_MAX)

typedef struct cz_huf_scratch {
    uint8_t weights[CZ_HUF_MAX_SYMBOL + 1];
    // Written by cz_huf_read_weights for cz_huf_fill_dtable: the symbols of non-zero weight
    // in the order their codes are assigned (weight ascending, then symbol), and for each
    // weight k the index in `order` and the table position of its first symbol
    // (first[k + 1] ends weight k's range).
    uint8_t order[CZ_HUF_MAX_SYMBOL + 1];
    uint16_t ofirst[CZ_HUF_TABLELOG_MAX + 2];
    uint16_t first[CZ_HUF_TABLELOG_MAX + 2];
    int16_t norm[CZ_HUF_MAX_SYMBOL + 1];
    cz_fse_dentry fse[1u << CZ_HUF_WEIGHTS_FSE_LOG_MAX];
    cz_fse_build_scratch build;
} cz_huf_scratch;

// Decodes the FSE-compressed weights in src[0 .. size) into w; returns the number of
// weights or -1 (the same in every lane). Follows libzstd 1.5.6: two interleaved states,
// decoding stops once the stream is over-read, emitting the other state's symbol last.
// A team: lane 0 reads the distribution, the lanes build its table, and every lane runs the
// states alike, reading the stream (at most 127 bytes) through a window held one word per
// lane (cz_team_window); lane 0 writes the weights.
CZ_HD inline int cz_huf_fse_weights(const uint8_t* src, size_t size, uint8_t* w, cz_huf_scratch* s, cz_team team) {
    unsigned max_symbol = CZ_HUF_MAX_SYMBOL, log = 0;
    size_t hdr = 0;
    uint32_t ok = 1;
    if (team.lane == 0)
        ok = cz_fse_read_ncount(src, size, s->norm, &max_symbol, &log, &hdr) && log <= CZ_HUF_WEIGHTS_FSE_LOG_MAX &&
             cz_fse_fills_table(s->norm, max_symbol, log);
    ok = cz_team_shfl32(team, ok, 0);
    max_symbol = cz_team_shfl32(team, max_symbol, 0);
    log = cz_team_shfl32(team, log, 0);
    hdr = (size_t)cz_team_shfl64(team, hdr, 0);
    cz_team_sync(team);
    if (!ok) return -1;
    cz_fse_build_dtable_team(s->norm, max_symbol, log, s->fse, &s->build, team);
    const uint8_t* const stream = src + hdr;
    const size_t ssize = size - hdr;
    cz_bit_reader br;
    if (!cz_br_init(&br, stream, ssize)) return -1;
    cz_team_window win;
    cz_win_fill(&win, team, stream, ssize, (int64_t)(br.ptr - stream) + 8 - CZ_WINDOW_BYTES);
    // Refills the container; true when the stream was over-read (cz_br_reload's OVERFLOW).
    auto reload = [&]() {
        cz_br_reload_win(&br, &win, team, stream, ssize);
        return br.consumed > 64;
    };
    uint32_t st1 = cz_fse_init_state(&br, log);
    reload();
    uint32_t st2 = cz_fse_init_state(&br, log);
    reload();
    const int limit = CZ_HUF_MAX_SYMBOL;  // at most 255 weights are transmitted
    int n = 0;
    for (;;) {
        if (n > limit - 2) return -1;
        const cz_fse_dentry e1 = s->fse[st1];
        if (team.lane == 0) w[n] = e1.symbol;
        n++;
        st1 = e1.base + (uint32_t)cz_br_read(&br, e1.nb_bits);
        if (reload()) {
            if (team.lane == 0) w[n] = s->fse[st2].symbol;
            n++;
            break;
        }
        if (n > limit - 2) return -1;
        const cz_fse_dentry e2 = s->fse[st2];
        if (team.lane == 0) w[n] = e2.symbol;
        n++;
        st2 = e2.base + (uint32_t)cz_br_read(&br, e2.nb_bits);
        if (reload()) {
            if (team.lane == 0) w[n] = s->fse[st1].symbol;
            n++;
            break;
        }
    }
    cz_team_sync(team);
    return n;
}

// The weights w[0 .. n) read, the rest of cz_huf_read_weights (one thread).
CZ_HD inline uint32_t cz_huf_order_weights(int n, unsigned* table_log, cz_huf_scratch* s) {
    uint8_t* w = s->weights;
    // n weights are transmitted; the last symbol's weight is implied.
    uint32_t rank[CZ_HUF_TABLELOG_MAX + 2] = {0};
    uint32_t total = 0;
    for (int i = 0; i < n; i++) {
        if (w[i] > CZ_HUF_TABLELOG_MAX) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
        rank[w[i]]++;
        total += (1u << w[i]) >> 1;
    }
    if (total == 0) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
    const unsigned log = cz_highbit32(total) + 1;
    if (log > CZ_HUF_TABLELOG_MAX) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
    const uint32_t rest = (1u << log) - total;
    if (rest != (1u << cz_highbit32(rest))) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
    const unsigned last_w = cz_highbit32(rest) + 1;
    w[n] = (uint8_t)last_w;
    rank[last_w]++;
    if (rank[1] < 2 || (rank[1] & 1)) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
    const int nsym = n + 1;
    // Codes are assigned from the lowest weight (longest code) upwards, symbols in order
    // within a weight; a symbol of weight k covers 2^(k-1) consecutive table entries.
    uint32_t next[CZ_HUF_TABLELOG_MAX + 2];
    uint32_t at = 0, idx = 0;
    for (unsigned k = 1; k <= log + 1; k++) {
        s->first[k] = (uint16_t)at;
        s->ofirst[k] = (uint16_t)idx;
        next[k] = idx;
        if (k <= log) {
            at += rank[k] << (k - 1);
            idx += rank[k];
        }
    }
    for (int sym = 0; sym < nsym; sym++) {
        const unsigned wk = w[sym];
        if (wk != 0) s->order[next[wk]++] = (uint8_t)sym;
    }
    *table_log = log;
    return CZ_STATUS_OK;
}

// Reads a Huffman tree description from src[0 .. size) into s (weights, code order and
// ranges for cz_huf_fill_dtable). On success *consumed is the description's size and
// *table_log the longest code length (the same in every lane of a team). Status:
// CZ_STATUS_OK or CZ_STATUS_HUFFMAN_TABLE_CORRUPT.
CZ_HD inline uint32_t cz_huf_read_weights(const uint8_t* src, size_t size, unsigned* table_log, size_t* consumed,
                                          cz_huf_scratch* s, cz_team team) {
    if (size == 0) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
    const unsigned header = src[0];
    int n;
    size_t used;
    uint8_t* w = s->weights;
    if (header >= 128) {
        n = (int)header - 127;
        used = ((size_t)n + 1) / 2 + 1;
        if (used > size) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
        for (int i = (int)team.lane; i < n; i += (int)team.width) {
            const uint8_t b = src[1 + i / 2];
            w[i] = (i & 1) ? (b & 15) : (b >> 4);
        }
        cz_team_sync(team);
    } else {
        used = (size_t)header + 1;
        if (used > size) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
        CZ_PROF_BEGIN(hw_fse);
        n = cz_huf_fse_weights(src + 1, header, w, s, team);
        CZ_PROF_END(hw_fse, team);
        if (n < 0) return CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
    }
    uint32_t st = CZ_STATUS_OK;
    unsigned log = 0;
    if (team.lane == 0) st = cz_huf_order_weights(n, &log, s);
    st = cz_team_shfl32(team, st, 0);
    log = cz_team_shfl32(team, log, 0);
    cz_team_sync(team);
    if (st != CZ_STATUS_OK) return st;
    *table_log = log;
    *consumed = used;
    return CZ_STATUS_OK;
}

// Fills the decoding table of log bits from s (after cz_huf_read_weights): entry i holds
// the symbol whose code is a prefix of i and that code's length. A team splits the entries
// between its lanes; the caller syncs the team before the table is read.
CZ_HD inline void cz_huf_fill_dtable(uint16_t* dtable, unsigned log, const cz_huf_scratch* s, cz_team team) {
    for (unsigned k = 1; k <= log; k++) {
        const uint32_t start = s->first[k], end = s->first[k + 1], o = s->ofirst[k];
        const uint16_t len = (uint16_t)((log + 1 - k) << 8);
        for (uint32_t i = start + team.lane; i < end; i += team.width)
            dtable[i] = (uint16_t)(s->order[o + ((i - start) >> (k - 1))] | len);
    }
}

// cz_huf_read_weights and cz_huf_fill_dtable by one thread.
CZ_HD inline uint32_t cz_huf_read_table(const uint8_t* src, size_t size, uint16_t* dtable, unsigned* table_log,
                                        size_t* consumed, cz_huf_scratch* s) {
    const uint32_t st = cz_huf_read_weights(src, size, table_log, consumed, s, cz_team_single());
    if (st == CZ_STATUS_OK) cz_huf_fill_dtable(dtable, *table_log, s, cz_team_single());
    return st;
}

// Reads the 4-byte word at src[o .. o + 4) of a stream src[0 .. size), o = (the word's
// address aligned to 4) - src, with zeros for the bytes outside [0, size): an aligned load
// when the word lies inside the stream, else the bytes that do. Never loads outside it.
CZ_HD CZ_FORCEINLINE uint32_t cz_huf_stream_word(const uint8_t* src, size_t size, int32_t o) {
    if (o >= 0 && (uint64_t)o + 4 <= size) {
#ifdef __CUDA_ARCH__
        return *reinterpret_cast<const uint32_t*>(src + o);  // 4-byte aligned by the choice of o
#else
        uint32_t v;
        memcpy(&v, src + o, 4);
        return v;
#endif
    }
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        if (o + k >= 0 && (uint64_t)(o + k) < size) v |= (uint32_t)src[o + k] << (8 * k);
    return v;
}

// The bits of a Huffman stream src[0 .. size), read from its end: they wait, highest first,
// at the top of a 64-bit container holding `avail` bits, which takes the stream's aligned
// 4-byte words from the end down (the next one already loaded). The words at both ends, which
// the stream may fill only in part, are read byte by byte once (the top one at the start, the
// bottom one, `low`, too); below the stream start the words read as zeros.
typedef struct cz_huf_bits {
    uint64_t c;
    unsigned avail;
    uint32_t next, low;
    int32_t o, o0, o_low;  // next's word, the top word and the bottom word (offsets from src)
    unsigned k0;           // bytes of the stream in the top word
} cz_huf_bits;

// size < 2^31.
CZ_HD CZ_FORCEINLINE void cz_huf_bits_init(cz_huf_bits* b, const uint8_t* src, size_t size) {
    const unsigned skip = 8 - cz_highbit32(src[size - 1]);  // the end marker and the zeros above it
    const int32_t mis = (int32_t)((uintptr_t)src & 3u);
    b->o0 = (((int32_t)size - 1 + mis) & ~3) - mis;
    b->o_low = -mis;
    b->k0 = (unsigned)((int32_t)size - b->o0);
    b->c = ((uint64_t)cz_huf_stream_word(src, size, b->o0) << (64 - 8 * b->k0)) << skip;
    b->avail = 8 * b->k0 - skip;
    b->low = cz_huf_stream_word(src, size, b->o_low);
    b->o = b->o0 - 4;
    b->next = b->o > b->o_low ? cz_huf_stream_word(src, size, b->o) : 0u;
}

// Takes the next word when avail <= 32 (leaving >= 32 bits): `next`, or `low` when it is the
// bottom word (chosen here, at its use, so that no instruction waits on a load before then).
// The word after it is loaded here, one refill ahead of its use; words strictly between the
// two ends are whole and aligned.
CZ_HD CZ_FORCEINLINE void cz_huf_bits_refill(cz_huf_bits* b, const uint8_t* src) {
    if (b->avail <= 32) {
        const uint32_t cur = b->o == b->o_low ? b->low : b->next;
        b->c |= (uint64_t)cur << (32 - b->avail);
        b->avail += 32;
        b->o -= 4;
        uint32_t w = 0;
        if (b->o > b->o_low) {
#ifdef __CUDA_ARCH__
            w = *reinterpret_cast<const uint32_t*>(src + b->o);  // aligned, inside the stream
#else
            memcpy(&w, src + b->o, 4);
#endif
        }
        b->next = w;
    }
}

// The next symbol from the container (which holds at least one code).
CZ_HD CZ_FORCEINLINE uint32_t cz_huf_next(cz_huf_bits* b, const uint16_t* dt, unsigned down) {
    const uint16_t e = dt[b->c >> down];
    const unsigned len = e >> 8;
    b->c <<= len;
    b->avail -= len;
    return (uint8_t)e;
}

// Decodes exactly n symbols from one stream src[0 .. size) into dst, K codes per refill
// check (K * log <= 32: 3 for table logs <= 10, else 2); size < 2^31, n <= 2^28. The output
// is written in aligned 4-byte words between single bytes at its ends (a store per byte
// costs the memory system a request per byte). The stream must be consumed exactly: one
// consumed past its start fails the final count, and a final code shorter than the table
// log looks up its entry with zeros after it, as libzstd does.
template <int K>
CZ_HD CZ_FORCEINLINE uint32_t cz_huf_decode_stream_k(const uint16_t* dt, unsigned log, const uint8_t* src,
                                                     size_t size, uint8_t* dst, uint32_t n) {
    cz_huf_bits b;
    cz_huf_bits_init(&b, src, size);
    const unsigned down = 64u - log;
    uint32_t i = 0;
    for (; i < n && ((uintptr_t)(dst + i) & 3u) != 0; i++) {
        cz_huf_bits_refill(&b, src);
        dst[i] = (uint8_t)cz_huf_next(&b, dt, down);
    }
    // 4K symbols per round: four refills of K codes, K words.
    for (; i + 4 * K <= n; i += 4 * K) {
        uint32_t sym[4 * K];
        CZ_UNROLL
        for (int r = 0; r < 4; r++) {
            cz_huf_bits_refill(&b, src);
            CZ_UNROLL
            for (int k = 0; k < K; k++) sym[r * K + k] = cz_huf_next(&b, dt, down);
        }
        CZ_UNROLL
        for (int j = 0; j < K; j++) {
            const uint32_t w = sym[4 * j] | (sym[4 * j + 1] << 8) | (sym[4 * j + 2] << 16) | (sym[4 * j + 3] << 24);
#ifdef __CUDA_ARCH__
            *reinterpret_cast<uint32_t*>(dst + i + 4 * j) = w;  // aligned
#else
            memcpy(dst + i + 4 * j, &w, 4);
#endif
        }
    }
    for (; i < n; i++) {
        cz_huf_bits_refill(&b, src);
        dst[i] = (uint8_t)cz_huf_next(&b, dt, down);
    }
    // Bits taken into the container: 8 * k0, then 32 per word after it.
    const int64_t loaded = 8 * (int64_t)b.k0 + 8 * ((int64_t)b.o0 - 4 - b.o);
    return loaded - (int64_t)b.avail == 8 * (int64_t)size ? CZ_STATUS_OK : CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
}

// Decodes exactly n symbols from one stream src[0 .. size) into dst. The stream must be
// consumed exactly. Status: OK or HUFFMAN_STREAM_CORRUPT.
CZ_HD inline uint32_t cz_huf_decode_stream(const uint16_t* dt, unsigned log, const uint8_t* src, size_t size,
                                           uint8_t* dst, size_t n) {
    // n is at most a block's literals (128 KiB); the bound keeps the word offsets of a stream
    // over-read by n codes within int32.
    if (log == 0 || log > CZ_HUF_TABLELOG_MAX || size == 0 || size >= 0x7FFFFFFF || n > (1u << 28) ||
        src[size - 1] == 0)
        return CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
    return log <= 10 ? cz_huf_decode_stream_k<3>(dt, log, src, size, dst, (uint32_t)n)
                     : cz_huf_decode_stream_k<2>(dt, log, src, size, dst, (uint32_t)n);
}

// cz_huf_bits_refill for cz_huf_decode_stream_warp: when avail <= 32, takes the next word
// (`next`, or `low` when it is the bottom word, chosen here at its use so that no instruction
// waits on a load before then) and loads the word after it, one refill ahead of its use (words
// strictly between the two ends are whole and aligned); leaves >= 32 bits (>= 33 when the
// container held any). Returns the term to OR into the container (0 without a refill): it
// fills only the bits below the `avail` the container held, so a caller may look up a code in
// the container before the OR when it held at least the table log's bits. Written with
// selects and one guarded load, so that the lanes of a warp, which refill at different
// symbols, need not branch.
CZ_HD CZ_FORCEINLINE uint64_t cz_huf_bits_fetch(cz_huf_bits* b, const uint8_t* src) {
    const bool r = b->avail <= 32;
    const uint32_t cur = b->o == b->o_low ? b->low : b->next;
    const unsigned sh = r ? 32u - b->avail : 0u;
    const uint64_t add = r ? (uint64_t)cur << sh : 0u;
    b->avail += r ? 32u : 0u;
    b->o -= r ? 4 : 0;
    uint32_t w = 0;
    if (r && b->o > b->o_low) {
#ifdef __CUDA_ARCH__
        w = *reinterpret_cast<const uint32_t*>(src + b->o);  // aligned, inside the stream
#else
        memcpy(&w, src + b->o, 4);
#endif
    }
    b->next = r ? w : b->next;
    return add;
}

// Whether K codes of a table of log bits leave a whole table index in a container that held
// one before its refill (then >= 33 bits): K * log <= 33 - log. Then the first code after a
// refill can be looked up before the refill's OR (see cz_huf_bits_fetch).
#define CZ_HUF_INDEX_LEFT(K, log) ((K) * (log) <= 33 - (log))

// Entry i of a decoding table: through its 32-bit shared-memory address `ts` when S (the
// table is in shared memory; the address is computed once, not at every symbol), else dt[i].
template <bool S, typename T>
CZ_HD CZ_FORCEINLINE uint32_t cz_huf_entry(const T* dt, uint32_t ts, uint32_t i) {
#ifdef __CUDA_ARCH__
    if (S) {
        if (sizeof(T) == 2) {
            uint16_t v;
            asm("ld.shared.u16 %0, [%1];" : "=h"(v) : "r"(ts + 2 * i));
            return v;
        }
        uint32_t v;
        asm("ld.shared.u32 %0, [%1];" : "=r"(v) : "r"(ts + 4 * i));
        return v;
    }
#endif
    (void)ts;
    return dt[i];
}

// The shared-memory address of a table for cz_huf_entry<true> (0 on the host).
template <typename T>
CZ_HD CZ_FORCEINLINE uint32_t cz_huf_table_address(const T* dt) {
#ifdef __CUDA_ARCH__
    return (uint32_t)__cvta_generic_to_shared(dt);
#else
    (void)dt;
    return 0;
#endif
}

// Whether a table is in shared memory (never on the host).
template <typename T>
CZ_HD CZ_FORCEINLINE bool cz_huf_table_shared(const T* dt) {
#ifdef __CUDA_ARCH__
    return __isShared(dt);
#else
    (void)dt;
    return false;
#endif
}

// cz_huf_next with cz_huf_entry.
template <bool S>
CZ_HD CZ_FORCEINLINE uint32_t cz_huf_next_s(cz_huf_bits* b, const uint16_t* dt, uint32_t ts, unsigned down) {
    const uint32_t e = cz_huf_entry<S>(dt, ts, (uint32_t)(b->c >> down));
    const unsigned len = e >> 8;
    b->c <<= len;
    b->avail -= len;
    return (uint8_t)e;
}

// One refill and K lookups (K * log <= 32), the next m symbols (m may exceed K: then K) into
// dst[0 .. min(m, K)), a byte each; lookups past m consume nothing and store nothing, so the
// lanes of a warp run a group alike. With PRE (CZ_HUF_INDEX_LEFT(K, log), the container holding
// a whole index) the first code is looked up before the refill's OR, which then runs beside the
// lookup instead of before it.
template <int K, bool PRE, bool S>
CZ_HD CZ_FORCEINLINE void cz_huf_group(cz_huf_bits* b, const uint16_t* dt, uint32_t ts, unsigned down,
                                       const uint8_t* src, uint8_t* dst, uint32_t m) {
    const uint64_t c0 = b->c;
    const uint64_t add = cz_huf_bits_fetch(b, src);
    CZ_UNROLL
    for (int k = 0; k < K; k++) {
        const uint64_t look = k > 0 ? b->c : PRE ? c0 : c0 | add;
        const uint32_t e = cz_huf_entry<S>(dt, ts, (uint32_t)(look >> down));
        const bool act = (uint32_t)k < m;
        const unsigned len = act ? e >> 8 : 0u;
        b->c = (k == 0 ? c0 | add : b->c) << len;
        b->avail -= len;
        if (act) dst[k] = (uint8_t)e;
    }
}

// cz_huf_decode_stream_k for lanes that decode a stream each at once: K codes per refill
// check (K * log <= 32), the first after each refill looked up before its OR when PRE
// (CZ_HUF_INDEX_LEFT); size < 2^31, n <= 2^28. The output is written in aligned 4-byte words
// between single bytes at its ends (a store per byte costs the memory system a request per
// byte); the symbols before the first word and after the last go in groups of K
// (cz_huf_group). The stream must be consumed exactly: one consumed past its start fails the
// final count, and a final code shorter than the table log looks up its entry with zeros after
// it, as libzstd does. S: dt is in shared memory.
template <int K, bool PRE, bool S>
CZ_HD CZ_FORCEINLINE uint32_t cz_huf_decode_stream_warp_k(const uint16_t* dt, unsigned log, const uint8_t* src,
                                                          size_t size, uint8_t* dst, uint32_t n) {
    const uint32_t ts = S ? cz_huf_table_address(dt) : 0u;
    cz_huf_bits b;
    cz_huf_bits_init(&b, src, size);
    if (PRE) b.c |= cz_huf_bits_fetch(&b, src);  // >= 32 bits: a whole index for the first group
    const unsigned down = 64u - log;
    const uint32_t head = (4u - (uint32_t)((uintptr_t)dst & 3u)) & 3u;
    uint32_t i = head < n ? head : n;
    for (uint32_t p = 0; p < i; p += K) cz_huf_group<K, PRE, S>(&b, dt, ts, down, src, dst + p, i - p);
    // 4K symbols per round: four refills of K codes, K words.
    for (; i + 4 * K <= n; i += 4 * K) {
        uint32_t sym[4 * K];
        CZ_UNROLL
        for (int r = 0; r < 4; r++) {
            const uint64_t c0 = b.c;
            const uint64_t add = cz_huf_bits_fetch(&b, src);
            const uint32_t e = cz_huf_entry<S>(dt, ts, (uint32_t)((PRE ? c0 : c0 | add) >> down));
            const unsigned len = e >> 8;
            b.c = (c0 | add) << len;
            b.avail -= len;
            sym[r * K] = (uint8_t)e;
            CZ_UNROLL
            for (int k = 1; k < K; k++) sym[r * K + k] = cz_huf_next_s<S>(&b, dt, ts, down);
        }
        CZ_UNROLL
        for (int j = 0; j < K; j++) {
            const uint32_t w = sym[4 * j] | (sym[4 * j + 1] << 8) | (sym[4 * j + 2] << 16) | (sym[4 * j + 3] << 24);
#ifdef __CUDA_ARCH__
            *reinterpret_cast<uint32_t*>(dst + i + 4 * j) = w;  // aligned
#else
            memcpy(dst + i + 4 * j, &w, 4);
#endif
        }
    }
    for (; i < n; i += K) cz_huf_group<K, PRE, S>(&b, dt, ts, down, src, dst + i, n - i);
    // Bits taken into the container: 8 * k0, then 32 per word after it.
    const int64_t loaded = 8 * (int64_t)b.k0 + 8 * ((int64_t)b.o0 - 4 - b.o);
    return loaded - (int64_t)b.avail == 8 * (int64_t)size ? CZ_STATUS_OK : CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
}

// cz_huf_decode_stream (the same symbols, writes and status for any input) for the lanes of a
// warp that each decode a stream at once, the zipper's tiles: the lanes, which refill at
// different symbols, do not branch (the refill is selects, cz_huf_bits_fetch; the symbols
// before the first aligned output word and after the last go in predicated groups of K); at
// table logs <= 8 and 11 the first code after a refill is looked up before the refill's OR,
// which then leaves the dependent chain; a table in shared memory is read through its 32-bit
// address. Shorter per lane, but more instructions a symbol than cz_huf_decode_stream, which
// is the faster of the two where many warps share an SM (the bulk decoder's literals).
CZ_HD inline uint32_t cz_huf_decode_stream_warp(const uint16_t* dt, unsigned log, const uint8_t* src, size_t size,
                                                uint8_t* dst, size_t n) {
    // n is at most a block's literals (128 KiB); the bound keeps the word offsets of a stream
    // over-read by n codes within int32.
    if (log == 0 || log > CZ_HUF_TABLELOG_MAX || size == 0 || size >= 0x7FFFFFFF || n > (1u << 28) ||
        src[size - 1] == 0)
        return CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
    // Logs 9, 10 and 12 would leave no whole index after K codes: they take the refill's OR first.
    static_assert(CZ_HUF_INDEX_LEFT(3, 8) && CZ_HUF_INDEX_LEFT(2, 11) && !CZ_HUF_INDEX_LEFT(3, 9), "");
    if (cz_huf_table_shared(dt))
        return log <= 8    ? cz_huf_decode_stream_warp_k<3, true, true>(dt, log, src, size, dst, (uint32_t)n)
               : log <= 10 ? cz_huf_decode_stream_warp_k<3, false, true>(dt, log, src, size, dst, (uint32_t)n)
               : log == 11 ? cz_huf_decode_stream_warp_k<2, true, true>(dt, log, src, size, dst, (uint32_t)n)
                           : cz_huf_decode_stream_warp_k<2, false, true>(dt, log, src, size, dst, (uint32_t)n);
    return log <= 8    ? cz_huf_decode_stream_warp_k<3, true, false>(dt, log, src, size, dst, (uint32_t)n)
           : log <= 10 ? cz_huf_decode_stream_warp_k<3, false, false>(dt, log, src, size, dst, (uint32_t)n)
           : log == 11 ? cz_huf_decode_stream_warp_k<2, true, false>(dt, log, src, size, dst, (uint32_t)n)
                       : cz_huf_decode_stream_warp_k<2, false, false>(dt, log, src, size, dst, (uint32_t)n);
}

// cz_huf_decode_stream by a team: lane 0 decodes, the others wait for its literals.
CZ_HD inline uint32_t cz_huf_decode_1stream_team(const uint16_t* dt, unsigned log, const uint8_t* src, size_t size,
                                                 uint8_t* dst, size_t n, cz_team team) {
    uint32_t st = CZ_STATUS_OK;
    if (team.lane == 0) st = cz_huf_decode_stream(dt, log, src, size, dst, n);
    st = cz_team_shfl32(team, st, 0);
    cz_team_sync(team);
    return st;
}

// Decodes n literals from the 4-stream layout src[0 .. size) (6-byte jump table, then
// four streams; streams 1-3 regenerate ceil(n/4) literals each, stream 4 the rest).
// A team decodes the four streams in lanes 0..3 at once; the status is the first failing
// stream's, as if decoded in order.
CZ_HD inline uint32_t cz_huf_decode_4streams(const uint16_t* dt, unsigned log, const uint8_t* src, size_t size,
                                             uint8_t* dst, size_t n, cz_team team) {
    if (size < 10 || n < CZ_LITERALS_4_STREAMS_MIN) return CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
    const size_t l1 = cz_read_le16(src), l2 = cz_read_le16(src + 2), l3 = cz_read_le16(src + 4);
    const size_t head = CZ_HUF_JUMP_TABLE_SIZE + l1 + l2 + l3;
    if (head > size) return CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
    const size_t l4 = size - head;
    const size_t seg = (n + 3) / 4;
    if (3 * seg > n) return CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
    const uint8_t* p = src + CZ_HUF_JUMP_TABLE_SIZE;
    uint32_t st = CZ_STATUS_OK;
    for (unsigned k = team.lane; k < 4 && st == CZ_STATUS_OK; k += team.width) {
        const size_t at = k == 0 ? 0 : k == 1 ? l1 : k == 2 ? l1 + l2 : l1 + l2 + l3;
        const size_t len = k == 0 ? l1 : k == 1 ? l2 : k == 2 ? l3 : l4;
        st = cz_huf_decode_stream(dt, log, p + at, len, dst + k * seg, k == 3 ? n - 3 * seg : seg);
    }
    const uint32_t bad = cz_team_ballot(team, st != CZ_STATUS_OK);
    if (bad) st = cz_team_shfl32(team, st, cz_lowbit32(bad));
    cz_team_sync(team);
    return st;
}

#endif  // CUZSTD_HUF_DECODE_CUH
