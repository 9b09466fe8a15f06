// Sequences section (RFC 8878 "Sequences Section", "Sequence Execution"), host and device:
// the section header, the LL/OF/ML decoding tables in all four modes, the interleaved FSE
// bitstream, repeat offsets, and the execution of each sequence into the output.
#ifndef CUZSTD_SEQUENCES_CUH
#define CUZSTD_SEQUENCES_CUH

#include "portability.cuh"
#include "abi.h"
#include "format.cuh"
#include "fse_common.cuh"
#include "fse_decode.cuh"
#include "bit_reader.cuh"
#include "decode_team.cuh"

// The three sequence decoding tables of a frame. `valid` becomes 1 once a block with
// sequences (or a dictionary) has defined all three, which Repeat_Mode requires.
typedef struct cz_seq_tables {
    cz_fse_dentry ll[1u << CZ_LL_ACCURACY_MAX];
    cz_fse_dentry of[1u << CZ_OF_ACCURACY_MAX];
    cz_fse_dentry ml[1u << CZ_ML_ACCURACY_MAX];
    uint8_t ll_log, of_log, ml_log, valid;
} cz_seq_tables;

typedef struct cz_seq_scratch {
    int16_t norm[CZ_ML_MAX_SYMBOL + 1];
    cz_fse_build_scratch build;
} cz_seq_scratch;

// Where a frame's output goes. Matches may reach back into the frame's own output
// (base[0 .. pos)) and then into the dictionary content (dict[0 .. dict_size)), never further.
typedef struct cz_output {
    uint8_t* base;
    size_t pos;
    size_t cap;
    const uint8_t* dict;
    size_t dict_size;
    cz_team team;  // who writes the output (see decode_team.cuh)
} cz_output;

// Reads one table description of `mode` from src[0 .. size) into table/log;
// *consumed gets its size. Status: OK, FSE_TABLE_CORRUPT, FSE_TABLE_MISSING,
// SEQUENCES_HEADER_CORRUPT (description past the end).
CZ_HD inline uint32_t cz_seq_read_table(unsigned mode, const uint8_t* src, size_t size, cz_fse_dentry* table,
                                        uint8_t* log, unsigned max_symbol, unsigned max_log,
                                        const int16_t* predefined, unsigned predefined_max, unsigned predefined_log,
                                        bool repeat_valid, cz_seq_scratch* s, size_t* consumed) {
    *consumed = 0;
    switch (mode) {
        case CZ_SEQ_PREDEFINED:
            for (unsigned i = 0; i <= predefined_max; i++) s->norm[i] = predefined[i];
            if (!cz_fse_build_dtable(s->norm, predefined_max, predefined_log, table, &s->build)) {
                return CZ_STATUS_INTERNAL;
            }
            *log = (uint8_t)predefined_log;
            return CZ_STATUS_OK;
        case CZ_SEQ_RLE:
            if (size < 1) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
            if (src[0] > max_symbol) return CZ_STATUS_FSE_TABLE_CORRUPT;
            cz_fse_build_rle(table, src[0]);
            *log = 0;
            *consumed = 1;
            return CZ_STATUS_OK;
        case CZ_SEQ_FSE: {
            unsigned maxs = max_symbol, tlog = 0;
            size_t used = 0;
            if (!cz_fse_read_ncount(src, size, s->norm, &maxs, &tlog, &used)) return CZ_STATUS_FSE_TABLE_CORRUPT;
            if (tlog > max_log) return CZ_STATUS_FSE_TABLE_CORRUPT;
            if (!cz_fse_build_dtable(s->norm, maxs, tlog, table, &s->build)) return CZ_STATUS_FSE_TABLE_CORRUPT;
            *log = (uint8_t)tlog;
            *consumed = used;
            return CZ_STATUS_OK;
        }
        default:
            return repeat_valid ? CZ_STATUS_OK : CZ_STATUS_FSE_TABLE_MISSING;
    }
}

// Copies a match of `len` bytes at `offset` behind out->pos (which the caller has
// checked against the output capacity and the dictionary size).
CZ_HD CZ_FORCEINLINE void cz_copy_match(cz_output* out, size_t offset, size_t len) {
    uint8_t* op = out->base + out->pos;
    if (offset > out->pos) {
        // Starts in the dictionary content.
        const size_t back = offset - out->pos;
        const uint8_t* m = out->dict + (out->dict_size - back);
        const size_t n1 = back < len ? back : len;
        cz_team_copy(out->team, op, m, n1);
        op += n1;
        len -= n1;
        out->pos += n1;
        if (len == 0) return;
    }
    cz_team_match(out->team, op, offset, len);
    out->pos += len;
}

// Decodes a Sequences section src[0 .. size) and executes it with the block's literals
// lits[0 .. nlits). Repeat offsets `rep` carry over between blocks.
// Status: OK, SEQUENCES_HEADER_CORRUPT, FSE_TABLE_CORRUPT, FSE_TABLE_MISSING,
// SEQUENCE_STREAM_CORRUPT, LITERALS_OVERRUN, OFFSET_OUT_OF_RANGE, OUTPUT_TOO_SMALL.
CZ_HD inline uint32_t cz_decode_sequences(const uint8_t* src, size_t size, const uint8_t* lits, size_t nlits,
                                          cz_seq_tables* t, uint32_t* rep, cz_seq_scratch* s, cz_output* out) {
    if (size < 1) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
    size_t ip = 0;
    uint32_t nb_seq = src[ip++];
    if (nb_seq >= 128) {
        if (nb_seq == 255) {
            if (ip + 2 > size) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
            nb_seq = cz_read_le16(src + ip) + CZ_LONG_NB_SEQ;
            ip += 2;
        } else {
            if (ip >= size) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
            nb_seq = ((nb_seq - 128) << 8) + src[ip++];
        }
    }
    size_t lit_pos = 0;
    if (nb_seq > 0) {
        if (ip >= size) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
        const uint8_t modes = src[ip++];
        if (modes & 3) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
        size_t used = 0;
        uint32_t st;
        st = cz_seq_read_table(modes >> 6, src + ip, size - ip, t->ll, &t->ll_log, CZ_LL_MAX_SYMBOL, CZ_LL_ACCURACY_MAX,
                               cz_ll_predefined_norm, CZ_LL_MAX_SYMBOL, CZ_LL_PREDEFINED_LOG, t->valid, s, &used);
        if (st != CZ_STATUS_OK) return st;
        ip += used;
        st = cz_seq_read_table((modes >> 4) & 3, src + ip, size - ip, t->of, &t->of_log, CZ_OF_MAX_SYMBOL,
                               CZ_OF_ACCURACY_MAX, cz_of_predefined_norm, CZ_OF_PREDEFINED_MAX_SYMBOL,
                               CZ_OF_PREDEFINED_LOG, t->valid, s, &used);
        if (st != CZ_STATUS_OK) return st;
        ip += used;
        st = cz_seq_read_table((modes >> 2) & 3, src + ip, size - ip, t->ml, &t->ml_log, CZ_ML_MAX_SYMBOL, CZ_ML_ACCURACY_MAX,
                               cz_ml_predefined_norm, CZ_ML_MAX_SYMBOL, CZ_ML_PREDEFINED_LOG, t->valid, s, &used);
        if (st != CZ_STATUS_OK) return st;
        ip += used;
        t->valid = 1;

        cz_bit_reader br;
        if (!cz_br_init(&br, src + ip, size - ip)) return CZ_STATUS_SEQUENCE_STREAM_CORRUPT;
        uint32_t ll_state = cz_fse_init_state(&br, t->ll_log);
        cz_br_reload(&br);
        uint32_t of_state = cz_fse_init_state(&br, t->of_log);
        cz_br_reload(&br);
        uint32_t ml_state = cz_fse_init_state(&br, t->ml_log);
        cz_br_reload(&br);
        uint64_t r0 = rep[0], r1 = rep[1], r2 = rep[2];
        for (uint32_t i = 0; i < nb_seq; i++) {
            const unsigned of_code = t->of[of_state].symbol;
            const unsigned ll_code = t->ll[ll_state].symbol;
            const unsigned ml_code = t->ml[ml_state].symbol;
            // of_code <= 31 (table symbols are bounded by the description reader).
            const uint64_t of_value = ((uint64_t)1 << of_code) + cz_br_read(&br, of_code);
            cz_br_reload(&br);
            const uint64_t ml = cz_ml_baseline[ml_code] + cz_br_read(&br, cz_ml_extra_bits[ml_code]);
            cz_br_reload(&br);
            const uint64_t ll = cz_ll_baseline[ll_code] + cz_br_read(&br, cz_ll_extra_bits[ll_code]);
            cz_br_reload(&br);
            uint64_t offset;
            if (of_value > 3) {
                offset = of_value - 3;
                r2 = r1;
                r1 = r0;
                r0 = offset;
            } else {
                const unsigned idx = (unsigned)of_value - 1 + (ll == 0 ? 1 : 0);
                if (idx == 0) {
                    offset = r0;
                } else if (idx == 1) {
                    offset = r1;
                    r1 = r0;
                    r0 = offset;
                } else {
                    offset = idx == 2 ? r2 : r0 - 1;
                    if (offset == 0) return CZ_STATUS_OFFSET_OUT_OF_RANGE;
                    r2 = r1;
                    r1 = r0;
                    r0 = offset;
                }
            }
            if (i + 1 < nb_seq) {
                ll_state = cz_fse_next_state(t->ll, ll_state, &br);
                ml_state = cz_fse_next_state(t->ml, ml_state, &br);
                cz_br_reload(&br);
                of_state = cz_fse_next_state(t->of, of_state, &br);
                cz_br_reload(&br);
            }
            // Execute.
            if (ll > nlits - lit_pos) return CZ_STATUS_LITERALS_OVERRUN;
            if (ll + ml > out->cap - out->pos) return CZ_STATUS_OUTPUT_TOO_SMALL;
            cz_team_copy(out->team, out->base + out->pos, lits + lit_pos, (size_t)ll);
            lit_pos += (size_t)ll;
            out->pos += (size_t)ll;
            if (offset > out->pos + out->dict_size) return CZ_STATUS_OFFSET_OUT_OF_RANGE;
            cz_copy_match(out, (size_t)offset, (size_t)ml);
        }
        if (!cz_br_finished(&br)) return CZ_STATUS_SEQUENCE_STREAM_CORRUPT;
        rep[0] = (uint32_t)r0;
        rep[1] = (uint32_t)r1;
        rep[2] = (uint32_t)r2;
    } else if (ip != size) {
        return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
    }
    const size_t rest = nlits - lit_pos;
    if (rest > out->cap - out->pos) return CZ_STATUS_OUTPUT_TOO_SMALL;
    cz_team_copy(out->team, out->base + out->pos, lits + lit_pos, rest);
    out->pos += rest;
    return CZ_STATUS_OK;
}

#endif  // CUZSTD_SEQUENCES_CUH
