// Frame encoding (host and device): the sequences section (LL/OF/ML codes with
// predefined, RLE, FSE-compressed or repeated tables chosen by estimated cost), compressed
// blocks, raw and RLE blocks where they are smaller, the frame header (single segment,
// content size) and the optional XXH64 content checksum.
//
// One call encodes one frame with a team (decode_team.cuh: one thread, or the 32 lanes of a
// warp, every lane calling with the same arguments): cz_encode_frame. Its scratch memory is a
// caller-provided workspace of cz_encode_workspace_size(src_size, level) bytes, optionally
// with a small "fast" region (shared memory on the GPU) for the counters and the hash table;
// every write to the destination is bounded by its capacity, and cz_compress_bound(src_size)
// bytes always suffice. The output depends only on the content, the level and the flags: not
// on the team's width, nor on where the scratch lives.
#ifndef CUZSTD_FRAME_ENCODE_CUH
#define CUZSTD_FRAME_ENCODE_CUH

#include "portability.cuh"
#include "abi.h"
#include "format.cuh"
#include "bit_writer.cuh"
#include "fse_encode.cuh"
#include "huf_encode.cuh"
#include "lz77.cuh"
#include "xxhash64.cuh"

// Blocks shorter than this are stored raw without trying to compress them.
#define CZ_ENC_MIN_BLOCK 16

// Worst-case size of a frame of src_size content bytes: header, one 3-byte header per
// block of at most 128 KiB (every block raw at worst), checksum.
CZ_HD CZ_FORCEINLINE uint64_t cz_compress_bound(uint64_t src_size) {
    const uint64_t blocks = src_size == 0 ? 1 : (src_size + CZ_BLOCK_SIZE_MAX - 1) / CZ_BLOCK_SIZE_MAX;
    return 4 + CZ_FRAME_HEADER_MAX + CZ_CHECKSUM_SIZE + CZ_BLOCK_HEADER_SIZE * blocks + src_size;
}

// A sequence table later blocks may repeat (Repeat_Mode).
typedef struct cz_seq_table {
    uint8_t valid;
    uint8_t is_rle;
    uint8_t rle_symbol;
    uint8_t max_symbol;
    uint8_t table_log;
    uint8_t pad[3];
    int16_t norm[CZ_FSE_ENC_MAX_SYMBOL + 1];
} cz_seq_table;

// Everything a block inherits from the previous compressed block of its frame.
typedef struct cz_entropy_state {
    cz_huf_ctable huf;
    cz_seq_table seq[3];  // literal lengths, offsets, match lengths
    uint32_t rep[3];
} cz_entropy_state;

// A frame's parse made ahead of its encoding (cz_encode_parse_frame), so that the match
// finder and the entropy stages can run as separate passes (on the GPU: kernels with the
// registers and cache each needs). It holds the content it parsed and the sequences', the
// literals' and the repeat offsets' state after it; the sequences and literals themselves
// are in the workspace where the frame's encoding keeps them.
#define CZ_ENCODE_PARSED_MARK 0x70617273u
typedef struct cz_encode_parsed {
    uint64_t src;     // address of the content parsed
    uint32_t size;    // its bytes
    int32_t level;    // the level asked for
    uint32_t nseq;    // sequences at the layout's seqs
    uint32_t nlits;   // literals at the layout's lits
    uint32_t rep[3];  // repeat offsets after the parse
    uint32_t mark;    // CZ_ENCODE_PARSED_MARK until the encoding uses it
} cz_encode_parsed;

// Fixed-size part of the workspace.
typedef struct cz_encode_ctx {
    cz_entropy_state committed;  // the state after the last block written compressed
    cz_entropy_state trial;      // the state of the block being tried
    cz_huf_scratch huf;
    cz_fse_ctable ct[3];
    int16_t norm[CZ_FSE_ENC_MAX_SYMBOL + 1];
    cz_encode_parsed parsed;
} cz_encode_ctx;

// The counters the team updates together: in the fast region when there is one.
typedef struct cz_encode_counters {
    uint32_t lits[256];
    uint32_t seqs[3][CZ_FSE_ENC_MAX_SYMBOL + 1];  // literal length, offset, match length codes
    uint32_t pad[3];
} cz_encode_counters;

// Workspace layout for one frame: the context, the counters, the hash table (16-bit entries
// when the frame holds at most 65536 bytes), the chain, the literals of one block, its
// sequences and their three code arrays. The fast region, where the caller has one, holds
// the counters and, if it has room, the hash table (cz_encode_fast_size).
typedef struct cz_encode_layout {
    uint64_t counters, head, chain, lits, seqs, codes, total;
    uint64_t head_bytes;
    uint32_t max_seqs;
    cz_lz_params prm;
} cz_encode_layout;

CZ_HD CZ_FORCEINLINE uint64_t cz_align16(uint64_t x) { return (x + 15) & ~15ull; }

CZ_HD inline cz_encode_layout cz_encode_plan(uint64_t src_size, int level) {
    cz_encode_layout l;
    l.prm = cz_lz_level_params(level, src_size);
    const uint64_t block = src_size < CZ_BLOCK_SIZE_MAX ? src_size : CZ_BLOCK_SIZE_MAX;
    l.max_seqs = (uint32_t)(block / CZ_MIN_MATCH + 1);
    uint64_t at = cz_align16(sizeof(cz_encode_ctx));
    l.counters = at;
    at = cz_align16(at + sizeof(cz_encode_counters));
    l.head = at;
    l.head_bytes = (src_size <= 65536 ? 2ull : 4ull) << l.prm.hash_log;
    at = cz_align16(at + l.head_bytes);
    l.chain = at;
    if (l.prm.chain_log) at = cz_align16(at + (4ull << l.prm.chain_log));
    l.lits = at;
    at = cz_align16(at + block + 8);
    l.seqs = at;
    at = cz_align16(at + sizeof(cz_seq) * (uint64_t)l.max_seqs);
    l.codes = at;
    at = cz_align16(at + 3ull * l.max_seqs);
    l.total = at;
    return l;
}

// Bytes of workspace cz_encode_frame needs for a content of at most src_size bytes.
CZ_HD inline uint64_t cz_encode_workspace_size(uint64_t src_size, int level) {
    return cz_encode_plan(src_size, level).total;
}

// Bytes of a fast region that holds the counters and the hash table of a frame of at most
// src_size bytes (a smaller region of at least sizeof(cz_encode_counters) holds the counters).
CZ_HD inline uint64_t cz_encode_fast_size(uint64_t src_size, int level) {
    return cz_align16(sizeof(cz_encode_counters)) + cz_encode_plan(src_size, level).head_bytes;
}

// Code of a literal length / match length: the largest code whose baseline is <= value.
CZ_HD CZ_FORCEINLINE unsigned cz_ll_code(uint32_t ll) {
    if (ll < 16) return ll;
    if (ll >= 64) return cz_highbit32(ll) + 19;
    unsigned c = 16;
    while (c < 24 && cz_ll_baseline[c + 1] <= ll) c++;
    return c;
}

CZ_HD CZ_FORCEINLINE unsigned cz_ml_code(uint32_t ml) {
    const uint32_t base = ml - 3;
    if (base < 32) return base;
    if (base >= 128) return cz_highbit32(base) + 36;
    unsigned c = 32;
    while (c < 42 && cz_ml_baseline[c + 1] <= ml) c++;
    return c;
}

// Chooses the mode of one of the three code streams and writes its table description at
// dst (if any). counts[0..max_symbol] are the code counts of nseq sequences. prev is the
// table Repeat_Mode would use; next receives the table of this block. ct receives the
// encoding table (unused for RLE). Returns the mode, or -1 if nothing fits; *written gets
// the description's size.
CZ_HD inline int cz_choose_seq_table(uint8_t* dst, size_t capacity, size_t* written, const uint32_t* counts,
                                     unsigned max_symbol, uint32_t nseq, const int16_t* predef_norm,
                                     unsigned predef_max, unsigned predef_log, unsigned max_log,
                                     const cz_seq_table* prev, cz_seq_table* next, cz_fse_ctable* ct,
                                     int16_t* norm) {
    *written = 0;
    unsigned distinct = 0, single = 0;
    for (unsigned s = 0; s <= max_symbol; s++) {
        if (counts[s]) {
            distinct++;
            single = s;
        }
    }
    if (distinct == 1) {
        if (prev->valid && prev->is_rle && prev->rle_symbol == single) {
            *next = *prev;
            return CZ_SEQ_REPEAT;
        }
        if (capacity < 1) return -1;
        dst[0] = (uint8_t)single;
        *written = 1;
        next->valid = 1;
        next->is_rle = 1;
        next->rle_symbol = (uint8_t)single;
        return CZ_SEQ_RLE;
    }
    const uint64_t none = ~0ull;
    // Predefined distribution.
    uint64_t c_predef = max_symbol <= predef_max ? 0 : none;
    for (unsigned s = 0; s <= max_symbol && c_predef != none; s++) {
        if (!counts[s]) continue;
        if (predef_norm[s] == 0) c_predef = none;
        else c_predef += cz_fse_symbol_cost_q8(counts[s], predef_norm[s], predef_log);
    }
    // The previous block's table.
    uint64_t c_repeat = prev->valid && !prev->is_rle && max_symbol <= prev->max_symbol ? 0 : none;
    for (unsigned s = 0; s <= max_symbol && c_repeat != none; s++) {
        if (!counts[s]) continue;
        if (prev->norm[s] == 0) c_repeat = none;
        else c_repeat += cz_fse_symbol_cost_q8(counts[s], prev->norm[s], prev->table_log);
    }
    // A new table, described at dst.
    const unsigned log = cz_fse_choose_table_log(nseq, distinct, max_log);
    cz_fse_normalize(counts, max_symbol, nseq, log, norm);
    const size_t hsize = cz_fse_write_ncount(dst, capacity, norm, max_symbol, log);
    uint64_t c_new = hsize ? (uint64_t)hsize * 8 * 256 : none;
    for (unsigned s = 0; s <= max_symbol && c_new != none; s++) {
        if (counts[s]) c_new += cz_fse_symbol_cost_q8(counts[s], norm[s], log);
    }
    if (c_repeat != none && c_repeat <= c_predef && c_repeat <= c_new) {
        *next = *prev;
        cz_fse_build_ctable(ct, prev->norm, prev->max_symbol, prev->table_log);
        return CZ_SEQ_REPEAT;
    }
    if (c_predef != none && c_predef <= c_new) {
        next->valid = 1;
        next->is_rle = 0;
        next->max_symbol = (uint8_t)predef_max;
        next->table_log = (uint8_t)predef_log;
        for (unsigned s = 0; s <= CZ_FSE_ENC_MAX_SYMBOL; s++) next->norm[s] = s <= predef_max ? predef_norm[s] : 0;
        cz_fse_build_ctable(ct, next->norm, predef_max, predef_log);
        return CZ_SEQ_PREDEFINED;
    }
    if (c_new == none) return -1;
    next->valid = 1;
    next->is_rle = 0;
    next->max_symbol = (uint8_t)max_symbol;
    next->table_log = (uint8_t)log;
    for (unsigned s = 0; s <= CZ_FSE_ENC_MAX_SYMBOL; s++) next->norm[s] = s <= max_symbol ? norm[s] : 0;
    if (!cz_fse_build_ctable(ct, norm, max_symbol, log)) return -1;
    *written = hsize;
    return CZ_SEQ_FSE;
}

// The sequences' bitstream (codes at `codes` as cz_write_sequences lays them out, tables in
// ctx->ct and ctx->trial.seq). Returns its size, or 0 if it does not fit.
CZ_HD inline size_t cz_write_seq_bitstream(uint8_t* dst, size_t capacity, const cz_seq* seqs, uint32_t nseq,
                                           const uint8_t* codes, const cz_encode_ctx* ctx) {
    const uint8_t* llc = codes;
    const uint8_t* ofc = codes + nseq;
    const uint8_t* mlc = codes + 2 * (size_t)nseq;
    const bool rle_ll = ctx->trial.seq[0].is_rle, rle_of = ctx->trial.seq[1].is_rle,
               rle_ml = ctx->trial.seq[2].is_rle;
    const cz_fse_ctable* tll = &ctx->ct[0];
    const cz_fse_ctable* tof = &ctx->ct[1];
    const cz_fse_ctable* tml = &ctx->ct[2];

    // The bitstream: sequences last to first; per sequence the three states move, then
    // the extra bits of LL, ML and OF, so the decoder reads OF, ML, LL extras and then
    // updates LL, ML, OF.
    cz_bit_writer w;
    cz_bw_init(&w, dst, capacity);
    uint32_t sll = 0, sof = 0, sml = 0;
    const uint32_t last = nseq - 1;
    if (!rle_ml) sml = cz_fse_init_state(tml, mlc[last]);
    if (!rle_of) sof = cz_fse_init_state(tof, ofc[last]);
    if (!rle_ll) sll = cz_fse_init_state(tll, llc[last]);
    // Each step loads the next (earlier) sequence before coding the current one, so the
    // loads overlap the dependent state updates.
    cz_seq sq = seqs[last];
    uint8_t l = llc[last], o = ofc[last], m = mlc[last];
    for (int64_t i = last; i >= 0; i--) {
        const int64_t j = i > 0 ? i - 1 : 0;
        const cz_seq nsq = seqs[j];
        const uint8_t nl = llc[j], no = ofc[j], nm = mlc[j];
        if (i != (int64_t)last) {
            if (!rle_of) cz_fse_encode(&w, tof, &sof, o);
            if (!rle_ml) cz_fse_encode(&w, tml, &sml, m);
            if (!rle_ll) cz_fse_encode(&w, tll, &sll, l);
        }
        cz_bw_add(&w, sq.lit_len - cz_ll_baseline[l], cz_ll_extra_bits[l]);
        cz_bw_add(&w, sq.match_len - cz_ml_baseline[m], cz_ml_extra_bits[m]);
        cz_bw_add(&w, sq.off_base - (1u << o), o);
        if (w.overflow) return 0;
        sq = nsq;
        l = nl;
        o = no;
        m = nm;
    }
    if (!rle_ml) cz_fse_flush_state(&w, tml, sml);
    if (!rle_of) cz_fse_flush_state(&w, tof, sof);
    if (!rle_ll) cz_fse_flush_state(&w, tll, sll);
    return cz_bw_close_stream(&w);
}

#if defined(CZ_DEVICE)
// Bytes of scratch cz_team_seq_bitstream needs: the words of a cz_team_bits, 3 x 32 state
// outputs, 3 x 32 symbols' table entries.
#define CZ_SEQ_BITSTREAM_SCRATCH (8 * CZ_TEAM_BITS_WORDS + 192 + 384)

// cz_write_seq_bitstream by a warp, writing the same bytes. The sequences go 32 at a time: the
// lanes look up the table entries of the round's symbols, lanes 0, 1 and 2 step the offset,
// match length and literal length states through them (a state's next value depends on the
// one before), then lane j packs sequence j's fields (three states' low bits, then the extra
// bits of LL, ML and OF; at most 90 bits) and the warp appends them (cz_team_bits_round).
// scratch: 8-byte aligned, CZ_SEQ_BITSTREAM_SCRATCH bytes (shared memory where the caller has
// it).
__device__ inline size_t cz_team_seq_bitstream(cz_team t, uint8_t* dst, size_t capacity, const cz_seq* seqs,
                                               uint32_t nseq, const uint8_t* codes, const cz_encode_ctx* ctx,
                                               uint8_t* scratch) {
    const uint8_t* llc = codes;
    const uint8_t* ofc = codes + nseq;
    const uint8_t* mlc = codes + 2 * (size_t)nseq;
    const bool rle_ll = ctx->trial.seq[0].is_rle, rle_of = ctx->trial.seq[1].is_rle,
               rle_ml = ctx->trial.seq[2].is_rle;
    cz_team_bits bits = cz_team_bits_begin(t, reinterpret_cast<uint64_t*>(scratch), dst, capacity);
    // [OF, ML, LL][32]: a state's low bits | their count << 12
    uint16_t* const __restrict__ st = reinterpret_cast<uint16_t*>(scratch + 8 * CZ_TEAM_BITS_WORDS);
    // [OF, ML, LL][32]: the symbol's cells' start | count << 10 | (table_log - highbit(count)) << 20
    uint32_t* const __restrict__ ent = reinterpret_cast<uint32_t*>(scratch + 8 * CZ_TEAM_BITS_WORDS + 192);
    const unsigned lane = t.lane;
    // Lane k < 3 runs one state: 0 offsets (table 1), 1 match lengths (table 2), 2 literal
    // lengths (table 0).
    const unsigned ti = lane == 0 ? 1u : lane == 1 ? 2u : 0u;
    const cz_fse_ctable* ct = &ctx->ct[ti];
    const uint8_t* kc = lane == 0 ? ofc : lane == 1 ? mlc : llc;
    const bool chain = lane < 3 && !ctx->trial.seq[ti].is_rle;
    const uint32_t last = nseq - 1;
    uint32_t x = chain ? cz_fse_init_state(ct, kc[last]) : 0u;
    for (uint32_t t0 = 0; t0 < nseq; t0 += 32) {
        const uint32_t cnt = nseq - t0 < 32 ? nseq - t0 : 32u;
        if (lane < cnt) {
            const uint32_t i = last - (t0 + lane);
            const uint8_t sym[3] = {ofc[i], mlc[i], llc[i]};
            CZ_UNROLL
            for (unsigned k = 0; k < 3; k++) {
                const cz_fse_ctable* kt = &ctx->ct[k == 0 ? 1 : k == 1 ? 2 : 0];
                const uint32_t c = kt->count[sym[k]];
                const uint32_t nb0 = c ? kt->table_log - cz_highbit32(c) : 0;
                ent[k * 32 + lane] = kt->cumul[sym[k]] | (c << 10) | (nb0 << 20);
            }
        }
        __syncwarp();
        if (chain) {
            for (uint32_t j = 0; j < cnt; j++) {
                uint32_t out = 0;
                if (t0 + j != 0) {  // the last sequence's symbols start the states
                    const uint32_t e = ent[lane * 32 + j];
                    const uint32_t c = (e >> 10) & 0x3FF, nb0 = e >> 20;
                    const unsigned nb = (x >> nb0) >= c ? nb0 : nb0 - 1;
                    out = (x & ((1u << nb) - 1)) | (nb << 12);
                    x = ct->state[(e & 0x3FF) + (x >> nb) - c];
                }
                st[lane * 32 + j] = (uint16_t)out;
            }
        }
        __syncwarp();
        uint64_t lo = 0, hi = 0;
        unsigned used = 0;
        if (lane < cnt) {
            const uint32_t i = last - (t0 + lane);
            if (!rle_of) cz_bits128_add(lo, hi, used, st[lane] & 0xFFFu, st[lane] >> 12);
            if (!rle_ml) cz_bits128_add(lo, hi, used, st[32 + lane] & 0xFFFu, st[32 + lane] >> 12);
            if (!rle_ll) cz_bits128_add(lo, hi, used, st[64 + lane] & 0xFFFu, st[64 + lane] >> 12);
            const cz_seq sq = seqs[i];
            const unsigned l = llc[i], m = mlc[i], o = ofc[i];
            cz_bits128_add(lo, hi, used, sq.lit_len - cz_ll_baseline[l], cz_ll_extra_bits[l]);
            cz_bits128_add(lo, hi, used, sq.match_len - cz_ml_baseline[m], cz_ml_extra_bits[m]);
            cz_bits128_add(lo, hi, used, sq.off_base - (1u << o), o);
        }
        cz_team_bits_round(t, &bits, lo, hi, used);  // its syncs also end the round's reads of st
    }
    // The final states (match length, offset, literal length: the decoder reads them first).
    const uint32_t x_of = __shfl_sync(CZ_TEAM_FULL_MASK, x, 0);
    const uint32_t x_ml = __shfl_sync(CZ_TEAM_FULL_MASK, x, 1);
    const uint32_t x_ll = __shfl_sync(CZ_TEAM_FULL_MASK, x, 2);
    uint64_t extra = 0;
    unsigned nbits = 0;
    if (!rle_ml) {
        extra |= (uint64_t)(x_ml & ((1u << ctx->ct[2].table_log) - 1)) << nbits;
        nbits += ctx->ct[2].table_log;
    }
    if (!rle_of) {
        extra |= (uint64_t)(x_of & ((1u << ctx->ct[1].table_log) - 1)) << nbits;
        nbits += ctx->ct[1].table_log;
    }
    if (!rle_ll) {
        extra |= (uint64_t)(x_ll & ((1u << ctx->ct[0].table_log) - 1)) << nbits;
        nbits += ctx->ct[0].table_log;
    }
    return cz_team_bits_close(t, &bits, extra, nbits);
}
#endif

// Writes the sequences section of seqs[0..nseq) at dst. Returns its size, or 0 if it
// does not fit. ctx->trial.seq receives the tables later blocks may repeat. Every lane of
// the team calls: the lanes compute the codes and count them (counts: 3 x 53 counters),
// lane 0 chooses the tables; a warp writes the bitstream together (cz_team_seq_bitstream,
// with `scratch`, the counters' memory: 16-byte aligned, sizeof(cz_encode_counters) bytes,
// spent by then), a team of one with cz_write_seq_bitstream.
CZ_HD inline size_t cz_write_sequences(cz_team t, uint8_t* dst, size_t capacity, const cz_seq* seqs, uint32_t nseq,
                                       uint8_t* codes, cz_encode_ctx* ctx, uint32_t (*counts)[CZ_FSE_ENC_MAX_SYMBOL + 1],
                                       uint8_t* scratch) {
    (void)scratch;  // a team of one has no use for it
    if (capacity < 4) return 0;
    const size_t hsize = nseq < 128 ? 1 : nseq < CZ_LONG_NB_SEQ ? 2 : 3;
    if (t.lane == 0) {
        if (nseq < 128) {
            dst[0] = (uint8_t)nseq;
        } else if (nseq < CZ_LONG_NB_SEQ) {
            dst[0] = (uint8_t)((nseq >> 8) + 0x80);
            dst[1] = (uint8_t)nseq;
        } else {
            dst[0] = 0xFF;
            dst[1] = (uint8_t)(nseq - CZ_LONG_NB_SEQ);
            dst[2] = (uint8_t)((nseq - CZ_LONG_NB_SEQ) >> 8);
        }
    }
    cz_team_sync(t);
    if (nseq == 0) return hsize;
    uint8_t* llc = codes;
    uint8_t* ofc = codes + nseq;
    uint8_t* mlc = codes + 2 * (size_t)nseq;
    cz_team_zero32(t, &counts[0][0], 3 * (CZ_FSE_ENC_MAX_SYMBOL + 1));
    for (uint32_t i = t.lane; i < nseq; i += t.width) {
        const unsigned l = cz_ll_code(seqs[i].lit_len);
        const unsigned o = cz_highbit32(seqs[i].off_base);
        const unsigned m = cz_ml_code(seqs[i].match_len);
        llc[i] = (uint8_t)l;
        ofc[i] = (uint8_t)o;
        mlc[i] = (uint8_t)m;
        cz_team_count(t, &counts[0][l]);
        cz_team_count(t, &counts[1][o]);
        cz_team_count(t, &counts[2][m]);
    }
    cz_team_sync(t);
    unsigned maxs[3];
    for (unsigned k = 0; k < 3; k++) {
        uint32_t mx = 0;
        for (unsigned s = t.lane; s <= CZ_FSE_ENC_MAX_SYMBOL; s += t.width) {
            if (counts[k][s]) mx = s;
        }
        maxs[k] = cz_team_max32(t, mx);
    }
    uint64_t size = 0;
    if (t.lane == 0) {
        size_t pos = hsize;
        const size_t mode_at = pos++;
        int modes[3];
        const int16_t* predef[3] = {cz_ll_predefined_norm, cz_of_predefined_norm, cz_ml_predefined_norm};
        const unsigned predef_max[3] = {CZ_LL_MAX_SYMBOL, CZ_OF_PREDEFINED_MAX_SYMBOL, CZ_ML_MAX_SYMBOL};
        const unsigned predef_log[3] = {CZ_LL_PREDEFINED_LOG, CZ_OF_PREDEFINED_LOG, CZ_ML_PREDEFINED_LOG};
        const unsigned max_log[3] = {CZ_LL_ACCURACY_MAX, CZ_OF_ACCURACY_MAX, CZ_ML_ACCURACY_MAX};
        bool ok = true;
        for (unsigned k = 0; k < 3 && ok; k++) {
            size_t w = 0;
            modes[k] = cz_choose_seq_table(dst + pos, capacity - pos, &w, counts[k], maxs[k], nseq, predef[k],
                                           predef_max[k], predef_log[k], max_log[k], &ctx->committed.seq[k],
                                           &ctx->trial.seq[k], &ctx->ct[k], ctx->norm);
            if (modes[k] < 0) ok = false;
            pos += w;
        }
        if (ok) {
            dst[mode_at] = (uint8_t)((modes[0] << 6) | (modes[1] << 4) | (modes[2] << 2));
            if (t.width == 1) {
                const size_t bs = cz_write_seq_bitstream(dst + pos, capacity - pos, seqs, nseq, codes, ctx);
                size = bs ? pos + bs : 0;
            } else {
                size = pos;  // where the team writes the bitstream
            }
        }
    }
#if defined(CZ_DEVICE)
    if (t.width > 1) {
        // The counters are spent: their memory is the bitstream's scratch.
        static_assert(sizeof(cz_encode_counters) >= CZ_SEQ_BITSTREAM_SCRATCH, "scratch of the sequence bitstream");
        const size_t at = (size_t)cz_team_shfl64(t, size, 0);  // 0: the tables did not fit
        cz_team_sync(t);
        if (at == 0) return 0;
        const size_t bs = cz_team_seq_bitstream(t, dst + at, capacity - at, seqs, nseq, codes, ctx,
                                                scratch);
        return bs ? at + bs : 0;
    }
#endif
    return (size_t)cz_team_shfl64(t, size, 0);
}

// Compresses src[block_start .. block_end) into a compressed block body at dst. Returns
// its size, or 0 if it does not fit in capacity. On success ctx->trial holds the state
// the next block inherits. With `parsed` (the frame's only block, parsed by
// cz_encode_parse_frame) the sequences and literals already in the workspace are used
// instead of parsing. Every lane of the team calls with the same arguments.
CZ_HD inline size_t cz_compress_block(cz_team t, cz_encode_ctx* ctx, cz_lz_state* lz, const cz_encode_layout* l,
                                      uint8_t* ws, cz_encode_counters* counters, uint32_t block_start,
                                      uint32_t block_end, uint8_t* dst, size_t capacity,
                                      const cz_encode_parsed* parsed) {
    if (t.lane == 0) ctx->trial = ctx->committed;
    cz_team_sync(t);
    uint8_t* lits = ws + l->lits;
    cz_seq* seqs = (cz_seq*)(ws + l->seqs);
    uint8_t* codes = ws + l->codes;
    uint32_t nlits = 0;
    uint32_t rep[3] = {ctx->committed.rep[0], ctx->committed.rep[1], ctx->committed.rep[2]};
    uint32_t nseq;
    if (parsed) {
        nseq = parsed->nseq;
        nlits = parsed->nlits;
        for (unsigned k = 0; k < 3; k++) rep[k] = parsed->rep[k];
    } else {
        nseq = cz_lz_parse_block(t, lz, block_start, block_end, rep, seqs, l->max_seqs, lits, &nlits);
    }
    if (t.lane == 0) {
        ctx->trial.rep[0] = rep[0];
        ctx->trial.rep[1] = rep[1];
        ctx->trial.rep[2] = rep[2];
    }
    cz_team_sync(t);
    const size_t lsize = cz_write_literals(t, dst, capacity, lits, nlits, &ctx->committed.huf, &ctx->trial.huf,
                                           &ctx->huf, counters->lits);
    if (lsize == 0) return 0;
    const size_t ssize = cz_write_sequences(t, dst + lsize, capacity - lsize, seqs, nseq, codes, ctx, counters->seqs,
                                            reinterpret_cast<uint8_t*>(counters));
    if (ssize == 0) return 0;
    return lsize + ssize;
}

CZ_HD CZ_FORCEINLINE void cz_put_block_header(uint8_t* p, unsigned last, unsigned type, uint32_t size) {
    const uint32_t v = last | (type << 1) | (size << 3);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
}

// Whether src[from .. to) (to - from >= 2) holds one byte value only.
CZ_HD inline bool cz_team_all_same(cz_team t, const uint8_t* src, uint32_t from, uint32_t to) {
    const uint8_t b = src[from];
    if (t.width == 1) {
        for (uint32_t i = from + 1; i < to; i++) {
            if (src[i] != b) return false;
        }
        return true;
    }
    for (uint32_t i0 = from + 1; i0 < to; i0 += t.width) {
        const uint32_t i = i0 + t.lane;
        if (cz_team_ballot(t, i < to && src[i] != b)) return false;
    }
    return true;
}

// XXH64 of p[0 .. len) by a team: lanes 0..3 run the four accumulators.
CZ_HD inline uint64_t cz_team_xxh64(cz_team t, const uint8_t* p, uint64_t len, uint64_t seed) {
    if (t.width == 1 || len < 32) return cz_xxh64(p, len, seed);
    const uint64_t stripes = len / 32;
    uint64_t v = 0;
    if (t.lane < 4) {
        v = cz_xxh64_lane_init(seed, t.lane);
        const uint8_t* q = p + 8 * t.lane;
        uint64_t s = 0;
        for (; s + 4 <= stripes; s += 4) {
            const uint64_t a = cz_lz_read64(q + 32 * s), b = cz_lz_read64(q + 32 * s + 32);
            const uint64_t c = cz_lz_read64(q + 32 * s + 64), d = cz_lz_read64(q + 32 * s + 96);
            v = cz_xxh64_round(cz_xxh64_round(cz_xxh64_round(cz_xxh64_round(v, a), b), c), d);
        }
        for (; s < stripes; s++) v = cz_xxh64_round(v, cz_lz_read64(q + 32 * s));
    }
    const uint64_t v1 = cz_team_shfl64(t, v, 0), v2 = cz_team_shfl64(t, v, 1);
    const uint64_t v3 = cz_team_shfl64(t, v, 2), v4 = cz_team_shfl64(t, v, 3);
    const uint64_t h = cz_xxh64_converge(v1, v2, v3, v4) + len;
    return cz_xxh64_finish(h, p + 32 * stripes, len);
}

// Appends Content_Checksum (the low 32 bits of XXH64(src[0 .. n), seed 0)) at dst[*pos] and
// advances *pos; false when fewer than 4 bytes of capacity are left. Lane 0 writes.
CZ_HD inline bool cz_put_checksum(cz_team t, uint8_t* dst, uint64_t capacity, uint64_t* pos, const uint8_t* src,
                                  uint64_t n) {
    if (capacity - *pos < CZ_CHECKSUM_SIZE) return false;
    const uint32_t x = (uint32_t)cz_team_xxh64(t, src, n, 0);
    if (t.lane == 0) {
        for (unsigned i = 0; i < 4; i++) dst[*pos + i] = (uint8_t)(x >> (8 * i));
    }
    *pos += CZ_CHECKSUM_SIZE;
    return true;
}

// The match finder's state for a frame laid out by l: content base (dictionary first),
// hash table at head, chain in the workspace.
CZ_HD inline cz_lz_state cz_encode_lz_state(const cz_encode_layout* l, const uint8_t* base, uint8_t* head,
                                            uint8_t* ws) {
    cz_lz_state lz;
    lz.src = base;
    lz.head.h16 = l->head_bytes == (2ull << l->prm.hash_log) ? (uint16_t*)head : nullptr;
    lz.head.h32 = lz.head.h16 ? nullptr : (uint32_t*)head;
    lz.chain = l->prm.chain_log ? (uint32_t*)(ws + l->chain) : nullptr;
    lz.prm = l->prm;
    return lz;
}

// The first pass of a frame encoded in two (the second is cz_encode_frame with
// CZ_ENCODE_PARSED, same content, level and workspace): parses src[0..src_size) as the
// frame's only block, with the hash table in the workspace, and records the result in the
// workspace (ctx->parsed). Frames that are not one block cz_encode_frame would compress
// (fewer than CZ_ENC_MIN_BLOCK or more than CZ_BLOCK_SIZE_MAX bytes, one byte value
// throughout) and workspaces too small are left unparsed, and the second pass does all
// the work, as it does for a frame whose parse does not match it. Every lane of team t calls
// with the same arguments.
CZ_HD inline void cz_encode_parse_frame(cz_team t, const uint8_t* src, uint64_t src_size, int level, uint8_t* ws,
                                        uint64_t ws_size) {
    if (ws == nullptr || src_size > CZ_BLOCK_SIZE_MAX) return;
    const cz_encode_layout l = cz_encode_plan(src_size, level);
    if (ws_size < l.total) return;
    cz_encode_ctx* ctx = (cz_encode_ctx*)ws;
    if (t.lane == 0) ctx->parsed.mark = 0;
    const uint32_t n = (uint32_t)src_size;
    if (src == nullptr || n < CZ_ENC_MIN_BLOCK || cz_team_all_same(t, src, 0, n)) return;
    uint8_t* head = ws + l.head;
    cz_lz_state lz = cz_encode_lz_state(&l, src, head, ws);
    cz_team_zero32(t, (uint32_t*)head, l.head_bytes / 4);
    cz_team_sync(t);
    uint32_t rep[3] = {CZ_REP_INIT_0, CZ_REP_INIT_1, CZ_REP_INIT_2};
    uint32_t nlits = 0;
    const uint32_t nseq = cz_lz_parse_block(t, &lz, 0, n, rep, (cz_seq*)(ws + l.seqs), l.max_seqs, ws + l.lits, &nlits);
    if (t.lane == 0) {
        ctx->parsed.src = (uint64_t)(uintptr_t)src;
        ctx->parsed.size = n;
        ctx->parsed.level = level;
        ctx->parsed.nseq = nseq;
        ctx->parsed.nlits = nlits;
        for (unsigned k = 0; k < 3; k++) ctx->parsed.rep[k] = rep[k];
        ctx->parsed.mark = CZ_ENCODE_PARSED_MARK;
    }
    cz_team_sync(t);
}

// Encodes content[0..src_size) as one zstd frame at dst[0..capacity) with `level` and
// `flags` (CZ_ENCODE_CHECKSUM, CZ_ENCODE_PARSED), where content = base + prefix_size and
// base[0..prefix_size) is a raw-content dictionary that matches may reference (prefix_size 0:
// no dictionary). The frame is the same with and without CZ_ENCODE_PARSED.
// ws is a workspace of ws_size bytes, 16-byte aligned, of at least
// cz_encode_workspace_size(prefix_size + src_size, level). fast (16-byte aligned, may be
// null) is a region of fast_size bytes the team may use instead of parts of the workspace
// (cz_encode_fast_size); the output does not depend on it. Every lane of team t calls with the
// same arguments and gets the same status and size.
//
// Without a dictionary the frame is single-segment (window = content size); with one, it
// declares a window covering dictionary and content. The content size is always written.
// Returns a status: CZ_STATUS_OK with *out_size the frame's size;
// CZ_STATUS_OUTPUT_TOO_SMALL (capacity below what this input needs; cz_compress_bound
// always suffices); CZ_STATUS_WORKSPACE_TOO_SMALL; CZ_STATUS_INVALID_ARGUMENT (dictionary
// and content of 4 GiB or more together, or a null pointer with a non-zero size).
CZ_HD inline uint32_t cz_encode_frame_prefixed(cz_team t, const uint8_t* base, uint64_t prefix_size,
                                               uint64_t src_size, uint8_t* dst, uint64_t capacity, int level,
                                               uint32_t flags, uint8_t* ws, uint64_t ws_size, uint8_t* fast,
                                               uint64_t fast_size, uint64_t* out_size) {
    *out_size = 0;
    if (src_size >= 0xFFFFFFFFull || prefix_size >= 0xFFFFFFFFull - src_size) return CZ_STATUS_INVALID_ARGUMENT;
    if ((base == nullptr && (src_size || prefix_size)) || (dst == nullptr && capacity)) {
        return CZ_STATUS_INVALID_ARGUMENT;
    }
    const uint32_t prefix = (uint32_t)prefix_size;
    const uint32_t n = (uint32_t)src_size;
    const uint8_t* src = base + prefix;
    const cz_encode_layout l = cz_encode_plan(prefix_size + src_size, level);
    if (ws == nullptr || ws_size < l.total) return CZ_STATUS_WORKSPACE_TOO_SMALL;
    const bool checksum = (flags & CZ_ENCODE_CHECKSUM) != 0;

    // Frame header: magic, descriptor, window descriptor (with a dictionary), content size.
    uint8_t header[4 + CZ_FRAME_HEADER_MAX];
    size_t h = 0;
    header[h++] = 0x28;
    header[h++] = 0xB5;
    header[h++] = 0x2F;
    header[h++] = 0xFD;
    const bool single = prefix == 0;
    unsigned fcs_flag, fcs_bytes;
    if (single && n < 256) {
        fcs_flag = 0;
        fcs_bytes = 1;
    } else if (n >= 256 && n < 65536 + 256) {
        fcs_flag = 1;
        fcs_bytes = 2;
    } else {
        fcs_flag = 2;
        fcs_bytes = 4;
    }
    header[h++] = (uint8_t)((fcs_flag << 6) | (single ? 1u << 5 : 0u) | (checksum ? 1u << 2 : 0u));
    if (!single) {
        // The smallest window (1 KiB .. 3.75 TiB in steps of 1/8 of a power of two) that
        // covers the dictionary and the content.
        const uint64_t need = (uint64_t)prefix + n;
        uint8_t wd = 0;
        for (unsigned e = 0; e < 32; e++) {
            const uint64_t b = 1ull << (CZ_WINDOWLOG_ABSOLUTE_MIN + e);
            unsigned m = 0;
            while (m < 8 && b + (b >> 3) * m < need) m++;
            if (m < 8) {
                wd = (uint8_t)((e << 3) | m);
                break;
            }
        }
        header[h++] = wd;
    }
    const uint32_t fcs = fcs_flag == 1 ? n - 256 : n;
    for (unsigned i = 0; i < fcs_bytes; i++) header[h++] = (uint8_t)(fcs >> (8 * i));
    if (capacity < h) return CZ_STATUS_OUTPUT_TOO_SMALL;
    if (t.lane == 0) memcpy(dst, header, h);
    uint64_t pos = h;

    // Where the counters and the hash table live.
    const uint64_t counters_bytes = cz_align16(sizeof(cz_encode_counters));
    cz_encode_counters* counters = (cz_encode_counters*)(ws + l.counters);
    uint8_t* head = ws + l.head;
    if (fast != nullptr && fast_size >= counters_bytes) {
        counters = (cz_encode_counters*)fast;
        if (fast_size >= counters_bytes + l.head_bytes) head = fast + counters_bytes;
    }
    cz_encode_ctx* ctx = (cz_encode_ctx*)ws;
    // A parse made ahead for this content (cz_encode_parse_frame), used once.
    cz_encode_parsed parsed = ctx->parsed;
    const bool use_parsed = (flags & CZ_ENCODE_PARSED) != 0 && parsed.mark == CZ_ENCODE_PARSED_MARK &&
                            prefix == 0 && parsed.src == (uint64_t)(uintptr_t)src && parsed.size == n &&
                            parsed.level == level && parsed.nseq <= l.max_seqs && parsed.nlits <= n;
    cz_team_sync(t);
    if (t.lane == 0) ctx->parsed.mark = 0;
    cz_lz_state lz = cz_encode_lz_state(&l, base, head, ws);
    // The chain needs no clearing: a link is only followed from a position indexed in this
    // frame, whose link was written when it was indexed (position 0 doubles as "empty", and
    // its link is never followed).
    if (!use_parsed) cz_team_zero32(t, (uint32_t*)head, l.head_bytes / 4);
    if (t.lane == 0) {
        // Index the dictionary, one position after another.
        for (uint32_t i = 0; i < prefix && i + CZ_LZ_TAIL <= prefix + n; i++) cz_lz_insert(&lz, i);
        ctx->committed.huf.valid = 0;
        for (unsigned k = 0; k < 3; k++) ctx->committed.seq[k].valid = 0;
        ctx->committed.rep[0] = CZ_REP_INIT_0;
        ctx->committed.rep[1] = CZ_REP_INIT_1;
        ctx->committed.rep[2] = CZ_REP_INIT_2;
    }
    cz_team_sync(t);

    uint32_t bstart = 0;
    do {
        const uint32_t bend = n - bstart > CZ_BLOCK_SIZE_MAX ? bstart + CZ_BLOCK_SIZE_MAX : n;
        const uint32_t len = bend - bstart;
        const unsigned last = bend == n ? 1u : 0u;
        if (capacity - pos < CZ_BLOCK_HEADER_SIZE) return CZ_STATUS_OUTPUT_TOO_SMALL;
        uint8_t* bh = dst + pos;
        const uint64_t room = capacity - pos - CZ_BLOCK_HEADER_SIZE;
        const bool all_same = len > 1 && cz_team_all_same(t, src, bstart, bend);
        if (all_same) {
            if (room < 1) return CZ_STATUS_OUTPUT_TOO_SMALL;
            if (t.lane == 0) {
                cz_put_block_header(bh, last, CZ_BLOCK_RLE, len);
                bh[3] = src[bstart];
            }
            pos += CZ_BLOCK_HEADER_SIZE + 1;
        } else {
            size_t csize = 0;
            if (len >= CZ_ENC_MIN_BLOCK) {
                // Compressed only if strictly smaller than the raw block.
                const uint64_t cap = room < (uint64_t)len - 1 ? room : (uint64_t)len - 1;
                csize = cz_compress_block(t, ctx, &lz, &l, ws, counters, prefix + bstart, prefix + bend,
                                          bh + CZ_BLOCK_HEADER_SIZE, (size_t)cap, use_parsed ? &parsed : nullptr);
            }
            if (csize) {
                if (t.lane == 0) {
                    cz_put_block_header(bh, last, CZ_BLOCK_COMPRESSED, (uint32_t)csize);
                    ctx->committed = ctx->trial;
                }
                cz_team_sync(t);
                pos += CZ_BLOCK_HEADER_SIZE + csize;
            } else {
                if (room < len) return CZ_STATUS_OUTPUT_TOO_SMALL;
                if (t.lane == 0) cz_put_block_header(bh, last, CZ_BLOCK_RAW, len);
                cz_team_copy(t, bh + CZ_BLOCK_HEADER_SIZE, src + bstart, len);
                pos += CZ_BLOCK_HEADER_SIZE + len;
            }
        }
        bstart = bend;
    } while (bstart < n);

    if (checksum && !cz_put_checksum(t, dst, capacity, &pos, src, n)) return CZ_STATUS_OUTPUT_TOO_SMALL;
    cz_team_sync(t);
    *out_size = pos;
    return CZ_STATUS_OK;
}

// cz_encode_frame_prefixed without a dictionary: src[0..src_size) as one single-segment
// frame, workspace of cz_encode_workspace_size(src_size, level) bytes.
CZ_HD inline uint32_t cz_encode_frame(cz_team t, const uint8_t* src, uint64_t src_size, uint8_t* dst,
                                      uint64_t capacity, int level, uint32_t flags, uint8_t* ws, uint64_t ws_size,
                                      uint8_t* fast, uint64_t fast_size, uint64_t* out_size) {
    return cz_encode_frame_prefixed(t, src, 0, src_size, dst, capacity, level, flags, ws, ws_size, fast, fast_size,
                                    out_size);
}

// ---- Literal frames: Huffman-coded literals with one table shared through a dictionary ----
//
// A literal frame holds content as blocks without sequences whose literals are coded with the
// Huffman table of a zstd-format dictionary (treeless sections; RLE and raw blocks where they
// are smaller). No table is described in the frame, so a decoder that already holds the
// dictionary's decoding table (cz_decode_literal_frame) builds nothing per frame, and the
// content is cut into blocks of 4 streams so that up to CZ_LITERAL_FRAME_STREAMS streams can be
// decoded at once. These are plain zstd frames: libzstd decodes them with the dictionary.

#define CZ_LITERAL_FRAME_STREAMS 64        // the content is cut into at most this many streams
#define CZ_LITERAL_ONE_GROUP_BELOW 2048    // frames of less content keep to 8 blocks (32 streams)
#define CZ_LITERAL_BLOCK_MIN 96            // a block holds at least this much (unless the frame is smaller)
#define CZ_LITERAL_4_STREAMS_FROM 64       // Huffman-coded blocks of at least this many literals use 4 streams
// Small blocks of 4 streams let a warp decode small tiles with short streams: on H100, 16-row
// tiles of 576 columns (~420 content bytes, 1 % delta) went from one block of 4 streams of ~104
// symbols to 4 blocks of 4 streams of ~26: the fused layer's time fell by 24 %, the delta bytes
// grew by 10 % (docs/ZIPPER.md, "Tile encoding").
#define CZ_LITERAL_DICT_CONTENT 8          // dictionary content: 8 zero bytes (repeat offsets 1, 4, 8 lie inside it)

// Blocks of a literal frame of n content bytes: n / CZ_LITERAL_BLOCK_MIN, within 1 .. 8 below
// CZ_LITERAL_ONE_GROUP_BELOW bytes (one group of a decoding warp's 32 lanes) and 1 ..
// CZ_LITERAL_FRAME_STREAMS / 4 from there (two groups, which two warps decode at once), and
// enough that none exceeds CZ_BLOCK_SIZE_MAX.
CZ_HD CZ_FORCEINLINE uint32_t cz_literal_frame_blocks(uint32_t n) {
    uint32_t b = n / CZ_LITERAL_BLOCK_MIN;
    const uint32_t most = n < CZ_LITERAL_ONE_GROUP_BELOW ? 8u : CZ_LITERAL_FRAME_STREAMS / 4;
    if (b > most) b = most;
    if (b < 1) b = 1;
    const uint32_t need = (uint32_t)(((uint64_t)n + CZ_BLOCK_SIZE_MAX - 1) / CZ_BLOCK_SIZE_MAX);
    return b > need ? b : need;
}

// The Huffman table of a literal dictionary for content whose byte counts are counts[0..255]
// (any counts; symbols are added so that the table has at least two).
CZ_HD inline void cz_literal_table(const uint32_t* counts, cz_huf_ctable* t, cz_huf_scratch* sc) {
    uint32_t c[256];
    unsigned present = 0, any = 0;
    for (unsigned s = 0; s < 256; s++) {
        c[s] = counts[s];
        if (c[s]) {
            present++;
            any = s;
        }
    }
    if (present == 0) c[0] = c[1] = 1;
    if (present == 1) c[any ^ 1u] = 1;
    cz_huf_build(t, c, sc);
    t->valid = 1;
}

// Writes a zstd-format dictionary for literal frames at dst: magic, Dictionary_ID id, the
// description of Huffman table t, the predefined offset, match-length and literal-length
// distributions as its FSE tables, repeat offsets 1, 4, 8 and CZ_LITERAL_DICT_CONTENT zero bytes
// of content. Returns its size, or 0 if it does not fit in capacity.
CZ_HD inline size_t cz_write_literal_dictionary(uint8_t* dst, size_t capacity, uint32_t id, const cz_huf_ctable* t,
                                                cz_huf_scratch* sc) {
    if (capacity < CZ_DICT_HEADER_SIZE) return 0;
    for (unsigned i = 0; i < 4; i++) {
        dst[i] = (uint8_t)(CZ_DICT_MAGIC >> (8 * i));
        dst[4 + i] = (uint8_t)(id >> (8 * i));
    }
    size_t pos = CZ_DICT_HEADER_SIZE;
    const size_t desc = cz_huf_write_description(dst + pos, capacity - pos, t, sc);
    if (desc == 0) return 0;
    pos += desc;
    const int16_t* norms[3] = {cz_of_predefined_norm, cz_ml_predefined_norm, cz_ll_predefined_norm};
    const unsigned maxs[3] = {CZ_OF_PREDEFINED_MAX_SYMBOL, CZ_ML_MAX_SYMBOL, CZ_LL_MAX_SYMBOL};
    const unsigned logs[3] = {CZ_OF_PREDEFINED_LOG, CZ_ML_PREDEFINED_LOG, CZ_LL_PREDEFINED_LOG};
    for (unsigned k = 0; k < 3; k++) {
        const size_t n = cz_fse_write_ncount(dst + pos, capacity - pos, norms[k], maxs[k], logs[k]);
        if (n == 0) return 0;
        pos += n;
    }
    const uint32_t reps[3] = {CZ_REP_INIT_0, CZ_REP_INIT_1, CZ_REP_INIT_2};
    if (capacity - pos < 12 + CZ_LITERAL_DICT_CONTENT) return 0;
    for (unsigned k = 0; k < 3; k++) {
        for (unsigned i = 0; i < 4; i++) dst[pos++] = (uint8_t)(reps[k] >> (8 * i));
    }
    for (unsigned i = 0; i < CZ_LITERAL_DICT_CONTENT; i++) dst[pos++] = 0;
    return pos;
}

// Encodes src[0..n) as one literal frame at dst[0..capacity) for the dictionary with ID
// dict_id (0: the frame names none) whose Huffman table is `table` (cz_literal_table): single
// segment, content size, XXH64 checksum, cz_literal_frame_blocks(n) blocks of about equal size,
// each RLE (one byte value), compressed (treeless literals and no sequences) or raw, whichever is
// smallest. sc and counts (256 counters) are scratch. Every lane of team t calls with the same
// arguments. Returns CZ_STATUS_OK with *out_size the frame's size, CZ_STATUS_OUTPUT_TOO_SMALL
// (cz_compress_bound(n) + 4 always suffices) or CZ_STATUS_INVALID_ARGUMENT (n >= 4 GiB).
CZ_HD inline uint32_t cz_encode_literal_frame(cz_team t, const uint8_t* src, uint64_t n, uint32_t dict_id,
                                              const cz_huf_ctable* table, uint8_t* dst, uint64_t capacity,
                                              cz_huf_scratch* sc, uint32_t* counts, uint64_t* out_size) {
    *out_size = 0;
    if (n >= 0xFFFFFFFFull || (src == nullptr && n)) return CZ_STATUS_INVALID_ARGUMENT;
    uint8_t header[4 + CZ_FRAME_HEADER_MAX];
    size_t h = 0;
    for (unsigned i = 0; i < 4; i++) header[h++] = (uint8_t)(CZ_ZSTD_MAGIC >> (8 * i));
    const unsigned fcs_flag = n < 256 ? 0u : n < 65536 + 256 ? 1u : 2u;
    const unsigned fcs_bytes = fcs_flag == 0 ? 1u : fcs_flag == 1 ? 2u : 4u;
    header[h++] = (uint8_t)((fcs_flag << 6) | (1u << 5) | (1u << 2) | (dict_id ? 3u : 0u));
    if (dict_id) {
        for (unsigned i = 0; i < 4; i++) header[h++] = (uint8_t)(dict_id >> (8 * i));
    }
    const uint32_t fcs = fcs_flag == 1 ? (uint32_t)n - 256 : (uint32_t)n;
    for (unsigned i = 0; i < fcs_bytes; i++) header[h++] = (uint8_t)(fcs >> (8 * i));
    if (capacity < h) return CZ_STATUS_OUTPUT_TOO_SMALL;
    if (t.lane == 0) memcpy(dst, header, h);
    uint64_t pos = h;
    const uint32_t blocks = cz_literal_frame_blocks((uint32_t)n);
    for (uint32_t b = 0; b < blocks; b++) {
        const uint32_t bstart = (uint32_t)(n * b / blocks), bend = (uint32_t)(n * (b + 1) / blocks);
        const uint32_t len = bend - bstart;
        const unsigned last = b + 1 == blocks ? 1u : 0u;
        if (capacity - pos < CZ_BLOCK_HEADER_SIZE) return CZ_STATUS_OUTPUT_TOO_SMALL;
        uint8_t* bh = dst + pos;
        const uint64_t room = capacity - pos - CZ_BLOCK_HEADER_SIZE;
        if (len > 1 && cz_team_all_same(t, src, bstart, bend)) {
            if (room < 1) return CZ_STATUS_OUTPUT_TOO_SMALL;
            if (t.lane == 0) {
                cz_put_block_header(bh, last, CZ_BLOCK_RLE, len);
                bh[3] = src[bstart];
            }
            pos += CZ_BLOCK_HEADER_SIZE + 1;
            cz_team_sync(t);
            continue;
        }
        // Compressed only if strictly smaller than the raw block.
        size_t csize = 0;
        if (len > 1) {
            const uint64_t cap = room < (uint64_t)len - 1 ? room : (uint64_t)len - 1;
            const size_t lsize = cap > 1 ? cz_write_literals(t, bh + CZ_BLOCK_HEADER_SIZE, (size_t)cap - 1, src + bstart,
                                                             len, table, &sc->fresh, sc, counts, false,
                                                             CZ_LITERAL_4_STREAMS_FROM)
                                         : 0;
            const bool coded = lsize && ((bh[CZ_BLOCK_HEADER_SIZE] & 3u) == CZ_LITERALS_TREELESS);
            if (coded) {
                if (t.lane == 0) bh[CZ_BLOCK_HEADER_SIZE + lsize] = 0;  // Number_of_Sequences
                csize = lsize + 1;
            }
        }
        if (csize) {
            if (t.lane == 0) cz_put_block_header(bh, last, CZ_BLOCK_COMPRESSED, (uint32_t)csize);
            pos += CZ_BLOCK_HEADER_SIZE + csize;
        } else {
            if (room < len) return CZ_STATUS_OUTPUT_TOO_SMALL;
            if (t.lane == 0) cz_put_block_header(bh, last, CZ_BLOCK_RAW, len);
            cz_team_copy(t, bh + CZ_BLOCK_HEADER_SIZE, src + bstart, len);
            pos += CZ_BLOCK_HEADER_SIZE + len;
        }
        cz_team_sync(t);
    }
    if (!cz_put_checksum(t, dst, capacity, &pos, src, n)) return CZ_STATUS_OUTPUT_TOO_SMALL;
    cz_team_sync(t);
    *out_size = pos;
    return CZ_STATUS_OK;
}

#endif  // CUZSTD_FRAME_ENCODE_CUH
