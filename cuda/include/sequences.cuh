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
#include "fse_predefined.cuh"
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

// norm[k] / max_symbol[k]: the distribution read for table k (0 LL, 1 OF, 2 ML) in FSE mode.
typedef struct cz_seq_scratch {
    int16_t norm[3][CZ_ML_MAX_SYMBOL + 1];
    uint16_t max_symbol[3];
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
// *consumed gets its size. An FSE-mode distribution goes to norm / *norm_max_symbol and,
// unless `defer_build` (then cz_seq_build_tables builds it), into the table.
// Status: OK, FSE_TABLE_CORRUPT, FSE_TABLE_MISSING, SEQUENCES_HEADER_CORRUPT (description
// past the end).
CZ_HD inline uint32_t cz_seq_read_table(unsigned mode, const uint8_t* src, size_t size, cz_fse_dentry* table,
                                        uint8_t* log, unsigned max_symbol, unsigned max_log,
                                        const cz_fse_dentry* predefined, unsigned predefined_log, bool repeat_valid,
                                        int16_t* norm, uint16_t* norm_max_symbol, bool defer_build,
                                        cz_fse_build_scratch* build, size_t* consumed) {
    *consumed = 0;
    switch (mode) {
        case CZ_SEQ_PREDEFINED:
            // The predefined tables are constants (fse_predefined.cuh): copied, not built;
            // `predefined` is null when the team has copied it already.
            if (predefined)
                for (uint32_t i = 0; i < (1u << predefined_log); i++) table[i] = predefined[i];
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
            if (!cz_fse_read_ncount(src, size, norm, &maxs, &tlog, &used)) return CZ_STATUS_FSE_TABLE_CORRUPT;
            if (tlog > max_log || !cz_fse_fills_table(norm, maxs, tlog)) return CZ_STATUS_FSE_TABLE_CORRUPT;
            *norm_max_symbol = (uint16_t)maxs;
            if (!defer_build) cz_fse_build_dtable_team(norm, maxs, tlog, table, build, cz_team_single());
            *log = (uint8_t)tlog;
            *consumed = used;
            return CZ_STATUS_OK;
        }
        default:
            return repeat_valid ? CZ_STATUS_OK : CZ_STATUS_FSE_TABLE_MISSING;
    }
}

// One thread's execution of a sequence whose checks passed: dst[0 .. len) = the `len` bytes
// `offset` behind it (reaching into the dictionary content first when offset > out->pos).
CZ_HD CZ_FORCEINLINE void cz_copy_match_single(cz_output* out, size_t offset, size_t len) {
    uint8_t* op = out->base + out->pos;
    if (offset > out->pos) {
        const size_t back = offset - out->pos;
        const uint8_t* m = out->dict + (out->dict_size - back);
        const size_t n1 = back < len ? back : len;
        memcpy(op, m, n1);
        op += n1;
        len -= n1;
        out->pos += n1;
        if (len == 0) return;
    }
    const uint8_t* m = op - offset;
    if (offset >= len) {
        memcpy(op, m, len);
    } else {
        for (size_t i = 0; i < len; i++) op[i] = m[i];
    }
    out->pos += len;
}

// The first failing check of one sequence, in the order RFC 8878's execution implies:
// literals available, room for literals and match, offset within output + dictionary.
CZ_HD CZ_FORCEINLINE uint32_t cz_seq_check(uint64_t lit_at, uint64_t ll, uint64_t ml, uint64_t off, uint64_t out_at,
                                           size_t nlits, const cz_output* out) {
    if (lit_at > nlits || ll > nlits - lit_at) return CZ_STATUS_LITERALS_OVERRUN;
    if (out_at > out->cap || ll + ml > out->cap - out_at) return CZ_STATUS_OUTPUT_TOO_SMALL;
    if (off > out_at + ll + out->dict_size) return CZ_STATUS_OFFSET_OUT_OF_RANGE;
    return CZ_STATUS_OK;
}

// Bytes a lane copies per step of a warp's batch copies (each sequence's literals and match
// are cut into units of this many, so that one lookup of a unit's sequence serves them all),
// and the units per lane loaded before they are stored (memory-level parallelism).
#define CZ_EXEC_UNIT 4
#define CZ_EXEC_UNROLL 2

template <unsigned N>
struct cz_count {
    static constexpr unsigned value = N;
};

// Runs copy(count, t0) over t0 = 0, width, .. below total: UNROLL rounds of the team's
// width at a time while more than one is left, the last one alone (every lane of a team
// runs all the rounds it is given, used or not, and most batches' copies are short).
template <unsigned UNROLL, class Copy>
CZ_HD CZ_FORCEINLINE void cz_exec_rounds(unsigned width, uint32_t total, Copy copy) {
    uint32_t t0 = 0;
    for (; t0 < total && total - t0 > width; t0 += UNROLL * width)
        copy(cz_count<UNROLL>(), t0);
    for (; t0 < total; t0 += width) copy(cz_count<1>(), t0);
}

// Executes `cnt` decoded sequences, one per lane (lane j < cnt holds sequence j of the batch:
// literal length ll, match length ml, offset off), as if executed one after another:
// the first sequence (in order) that fails a check gives the status and nothing of the
// batch is written then. Otherwise all literals are copied first (each lane a unit of
// CZ_EXEC_UNIT bytes of one sequence's at a time), then the matches in rounds: a round
// copies every match whose source bytes are final (before the batch's first match, in
// literals, in the dictionary, or written by a match of an earlier round); a match longer
// than its offset repeats the `offset` bytes before it (dst[i] = src[i % offset]), so it
// never reads its own output.
// Positions inside a batch fit 32 bits (ll, ml < 2^18 each, 32 sequences).
CZ_HD inline uint32_t cz_exec_batch(cz_team tm, unsigned cnt, uint32_t ll, uint32_t ml, uint32_t off,
                                    const uint8_t* lits, size_t nlits, size_t* lit_pos, cz_output* out) {
    if (tm.width == 1) {
        if (cnt == 0) return CZ_STATUS_OK;
        const uint32_t st = cz_seq_check(*lit_pos, ll, ml, off, out->pos, nlits, out);
        if (st != CZ_STATUS_OK) return st;
        // The staged decoder keeps the literals in the output buffer, at or after their
        // destination: a forward copy.
        uint8_t* const d = out->base + out->pos;
        const uint8_t* const l = lits + *lit_pos;
        if (d + ll <= l || l + ll <= d) {
            if (ll) memcpy(d, l, ll);
        } else {
            for (uint32_t i = 0; i < ll; i++) d[i] = l[i];
        }
        *lit_pos += ll;
        out->pos += ll;
        cz_copy_match_single(out, off, ml);
        return CZ_STATUS_OK;
    }
    if (cnt == 0) return CZ_STATUS_OK;
    const bool active = tm.lane < cnt;
    if (!active) ll = ml = off = 0;
    const uint32_t lit_incl = cz_team_scan32(tm, ll);
    const uint32_t out_incl = cz_team_scan32(tm, ll + ml);
    const uint32_t lit_rel = lit_incl - ll;        // this sequence's literals, from *lit_pos
    const uint32_t out_rel = out_incl - ll - ml;   // its output, from out->pos
    const uint32_t code = active ? cz_seq_check(*lit_pos + lit_rel, ll, ml, off, out->pos + out_rel, nlits, out)
                                 : (uint32_t)CZ_STATUS_OK;
    const uint32_t bad = cz_team_ballot(tm, code != CZ_STATUS_OK);
    if (bad) return cz_team_shfl32(tm, code, cz_lowbit32(bad));

    uint8_t* const base = out->base + out->pos;
    const unsigned last = tm.width - 1;
    // Literals: the batch's literal bytes s = lit_rel_k + i (i < ll_k, k the sequence) go to
    // base[s + dlit_k]; sequence k's are cut into ceil(ll_k / CZ_EXEC_UNIT) units, unit t
    // holding s = a_k + CZ_EXEC_UNIT * t .. + CZ_EXEC_UNIT (below lit_incl_k).
    {
        const uint32_t total = cz_team_shfl32(tm, lit_incl, last);
        const uint32_t units = (ll + CZ_EXEC_UNIT - 1) / CZ_EXEC_UNIT;
        const uint32_t u_incl = cz_team_scan32(tm, units);
        const uint32_t u_total = cz_team_shfl32(tm, u_incl, last);
        const int32_t a = (int32_t)lit_rel - (int32_t)(CZ_EXEC_UNIT * (u_incl - units));
        const int32_t dlit = (int32_t)out_rel - (int32_t)lit_rel;
        const uint8_t* ls = lits + *lit_pos;
        auto copy = [&](auto count, uint32_t t0) {
            constexpr unsigned U = decltype(count)::value;
            uint8_t v[U][CZ_EXEC_UNIT];
            int32_t s0[U], e[U], dd[U];
            CZ_UNROLL
            for (unsigned u = 0; u < U; u++) {
                const uint32_t t = t0 + u * tm.width + tm.lane;
                const unsigned k = cz_team_find(tm, u_incl, t);
                s0[u] = cz_team_shfl32(tm, (uint32_t)a, k) + (int32_t)(CZ_EXEC_UNIT * t);
                const int32_t end = (int32_t)cz_team_shfl32(tm, lit_incl, k);  // (every lane shuffles)
                e[u] = t < u_total ? end : 0;
                dd[u] = (int32_t)cz_team_shfl32(tm, (uint32_t)dlit, k);
                CZ_UNROLL
                for (unsigned j = 0; j < CZ_EXEC_UNIT; j++) v[u][j] = s0[u] + (int32_t)j < e[u] ? ls[s0[u] + j] : 0;
            }
            // The literals may lie in the output ahead of their destination (the staged
            // decoder): every lane has loaded before any lane stores.
            cz_team_sync(tm);
            CZ_UNROLL
            for (unsigned u = 0; u < U; u++) {
                CZ_UNROLL
                for (unsigned j = 0; j < CZ_EXEC_UNIT; j++)
                    if (s0[u] + (int32_t)j < e[u]) base[s0[u] + (int32_t)j + dd[u]] = v[u][j];
            }
        };
        cz_exec_rounds<CZ_EXEC_UNROLL>(tm.width, u_total, copy);
        *lit_pos += total;
    }
    cz_team_sync(tm);

    // Matches, in rounds of the matches whose source bytes are final. Lane j reads
    // base[a .. a + need) (a < -out->pos: the dictionary's end).
    const uint32_t ms = out_rel + ll;
    const int64_t a = (int64_t)ms - (int64_t)off;
    const uint32_t need = off < ml ? off : ml;
    const int64_t first_ms = cz_team_shfl32(tm, ms, 0);  // (every lane must shuffle)
    const bool indep = !active || ml == 0 || a + (int64_t)need <= first_ms;
    uint32_t dep = 0;  // earlier lanes of the batch whose match output lane j reads
    if (cz_team_ballot(tm, !indep)) {
        // Match k writes [ms_k, out_incl_k); both ends grow with k, so the matches that
        // overlap [a, hi) are the lanes k_lo .. k_hi - 1 (empty matches left out).
        const int64_t hi = a + (int64_t)need;
        // (Every lane shuffles: the finds run unconditionally.)
        const unsigned f_lo = cz_team_find(tm, out_incl, a < 0 ? 0u : (uint32_t)a);
        const unsigned f_hi = cz_team_find(tm, ms, hi <= 0 ? 0u : (uint32_t)(hi - 1));
        const unsigned k_lo = a < 0 ? 0u : f_lo;
        const unsigned k_hi = hi <= 0 ? 0u : f_hi;
        const uint32_t nonempty = cz_team_ballot(tm, ml != 0);
        const unsigned top = k_hi < tm.lane ? k_hi : tm.lane;
        if (!indep && top > k_lo) dep = (uint32_t)(((1ull << top) - 1) & ~((1ull << k_lo) - 1)) & nonempty;
    }
    const int64_t pos0 = (int64_t)out->pos;
    const uint8_t* const dict_end = out->dict + out->dict_size;
    uint32_t pending = cz_team_ballot(tm, active);
    while (pending) {
        // Byte i of match k (i < ml_k) is base[ms_k + i] = base[ms_k - off_k + (i % off_k)]
        // (a match longer than its offset repeats the offset's bytes); its units as above.
        const bool mine = (pending >> tm.lane) & 1u;
        const uint32_t ready = cz_team_ballot(tm, mine && (dep & pending) == 0);
        const uint32_t units = (ready >> tm.lane) & 1u ? (ml + CZ_EXEC_UNIT - 1) / CZ_EXEC_UNIT : 0;
        const uint32_t u_incl = cz_team_scan32(tm, units);
        const uint32_t u_excl = u_incl - units;
        const uint32_t u_total = cz_team_shfl32(tm, u_incl, last);
        auto copy = [&](auto count, uint32_t t0) {
            constexpr unsigned U = decltype(count)::value;
            uint8_t v[U][CZ_EXEC_UNIT];
            uint32_t d[U], n[U];
            CZ_UNROLL
            for (unsigned u = 0; u < U; u++) {
                const uint32_t t = t0 + u * tm.width + tm.lane;
                const unsigned k = cz_team_find(tm, u_incl, t);
                const uint32_t i0 = CZ_EXEC_UNIT * (t - cz_team_shfl32(tm, u_excl, k));
                const uint32_t ms_k = cz_team_shfl32(tm, ms, k);
                const uint32_t ml_k = cz_team_shfl32(tm, ml, k);
                const uint32_t off_k = cz_team_shfl32(tm, off, k);
                d[u] = ms_k + i0;
                n[u] = t < u_total ? (ml_k - i0 < CZ_EXEC_UNIT ? ml_k - i0 : CZ_EXEC_UNIT) : 0;
                const int64_t src = (int64_t)ms_k - (int64_t)off_k;
                uint32_t r = n[u] == 0 ? 0 : (i0 < off_k ? i0 : i0 % off_k);
                CZ_UNROLL
                for (unsigned j = 0; j < CZ_EXEC_UNIT; j++) {
                    v[u][j] = 0;
                    if (j < n[u]) {
                        const int64_t p = src + r;
                        v[u][j] = p < -pos0 ? dict_end[p + pos0] : base[p];
                    }
                    r = r + 1 == off_k ? 0 : r + 1;
                }
            }
            CZ_UNROLL
            for (unsigned u = 0; u < U; u++) {
                CZ_UNROLL
                for (unsigned j = 0; j < CZ_EXEC_UNIT; j++)
                    if (j < n[u]) base[d[u] + j] = v[u][j];
            }
        };
        cz_exec_rounds<CZ_EXEC_UNROLL>(tm.width, u_total, copy);
        cz_team_sync(tm);
        pending &= ~ready;
    }
    out->pos += cz_team_shfl32(tm, out_incl, last);
    return CZ_STATUS_OK;
}

// The team copies the predefined tables that `modes` asks for (cz_seq_read_tables then skips
// them when told so).
CZ_HD CZ_FORCEINLINE void cz_seq_copy_predefined(cz_team tm, unsigned modes, cz_seq_tables* t) {
    if ((modes >> 6) == CZ_SEQ_PREDEFINED)
        for (uint32_t i = tm.lane; i < (1u << CZ_LL_PREDEFINED_LOG); i += tm.width) t->ll[i] = cz_ll_predefined_dtable[i];
    if (((modes >> 4) & 3) == CZ_SEQ_PREDEFINED)
        for (uint32_t i = tm.lane; i < (1u << CZ_OF_PREDEFINED_LOG); i += tm.width) t->of[i] = cz_of_predefined_dtable[i];
    if (((modes >> 2) & 3) == CZ_SEQ_PREDEFINED)
        for (uint32_t i = tm.lane; i < (1u << CZ_ML_PREDEFINED_LOG); i += tm.width) t->ml[i] = cz_ml_predefined_dtable[i];
}

// Reads the three table descriptions (LL, OF, ML) of a Sequences section with
// Compression_Modes `modes` from src[0 .. size); *consumed gets their total size. With
// `predefined_copied` the predefined tables are already in place (cz_seq_copy_predefined);
// with `defer_builds` the FSE-mode tables are left to cz_seq_build_tables.
CZ_HD inline uint32_t cz_seq_read_tables(unsigned modes, const uint8_t* src, size_t size, cz_seq_tables* t,
                                         cz_seq_scratch* s, size_t* consumed, bool predefined_copied,
                                         bool defer_builds = false) {
    size_t ip = 0, used = 0;
    uint32_t st;
    st = cz_seq_read_table(modes >> 6, src + ip, size - ip, t->ll, &t->ll_log, CZ_LL_MAX_SYMBOL, CZ_LL_ACCURACY_MAX,
                           predefined_copied ? nullptr : cz_ll_predefined_dtable, CZ_LL_PREDEFINED_LOG, t->valid, s->norm[0],
                           &s->max_symbol[0], defer_builds, &s->build, &used);
    if (st != CZ_STATUS_OK) return st;
    ip += used;
    st = cz_seq_read_table((modes >> 4) & 3, src + ip, size - ip, t->of, &t->of_log, CZ_OF_MAX_SYMBOL,
                           CZ_OF_ACCURACY_MAX, predefined_copied ? nullptr : cz_of_predefined_dtable, CZ_OF_PREDEFINED_LOG, t->valid,
                           s->norm[1], &s->max_symbol[1], defer_builds, &s->build, &used);
    if (st != CZ_STATUS_OK) return st;
    ip += used;
    st = cz_seq_read_table((modes >> 2) & 3, src + ip, size - ip, t->ml, &t->ml_log, CZ_ML_MAX_SYMBOL, CZ_ML_ACCURACY_MAX,
                           predefined_copied ? nullptr : cz_ml_predefined_dtable, CZ_ML_PREDEFINED_LOG, t->valid, s->norm[2],
                           &s->max_symbol[2], defer_builds, &s->build, &used);
    if (st != CZ_STATUS_OK) return st;
    ip += used;
    t->valid = 1;
    *consumed = ip;
    return CZ_STATUS_OK;
}

// Builds the FSE-mode tables of `modes` whose distributions cz_seq_read_tables read with
// `defer_builds` (and checked), the team's lanes sharing each build.
CZ_HD inline void cz_seq_build_tables(unsigned modes, cz_seq_tables* t, cz_seq_scratch* s, cz_team tm) {
    if ((modes >> 6) == CZ_SEQ_FSE) cz_fse_build_dtable_team(s->norm[0], s->max_symbol[0], t->ll_log, t->ll, &s->build, tm);
    if (((modes >> 4) & 3) == CZ_SEQ_FSE)
        cz_fse_build_dtable_team(s->norm[1], s->max_symbol[1], t->of_log, t->of, &s->build, tm);
    if (((modes >> 2) & 3) == CZ_SEQ_FSE)
        cz_fse_build_dtable_team(s->norm[2], s->max_symbol[2], t->ml_log, t->ml, &s->build, tm);
}

// The decoding state of a sequence bitstream: the three FSE states and the repeat offsets.
typedef struct cz_seq_state {
    uint32_t ll, of, ml;
    uint32_t r0, r1, r2;
} cz_seq_state;

// A frame's state before its first sequence: states 0, the initial repeat offsets.
CZ_HD CZ_FORCEINLINE cz_seq_state cz_seq_state_start() {
    cz_seq_state s;
    s.ll = s.of = s.ml = 0;
    s.r0 = CZ_REP_INIT_0;
    s.r1 = CZ_REP_INIT_1;
    s.r2 = CZ_REP_INIT_2;
    return s;
}

// The offset of a sequence with Offset_Value of_value and literal length ll, updating the
// repeat offsets in s (RFC 8878 "Repeat Offsets"); 0 for a repeat offset that resolves to
// 0 (offset_1 - 1 with offset_1 == 1), which is invalid.
CZ_HD CZ_FORCEINLINE uint32_t cz_seq_offset(cz_seq_state* s, uint32_t of_value, uint32_t ll) {
    uint32_t offset;
    if (of_value > 3) {
        offset = of_value - 3;
        s->r2 = s->r1;
        s->r1 = s->r0;
        s->r0 = offset;
        return offset;
    }
    const unsigned idx = of_value - 1 + (ll == 0 ? 1 : 0);
    if (idx == 0) return s->r0;
    if (idx == 1) {
        offset = s->r1;
        s->r1 = s->r0;
        s->r0 = offset;
        return offset;
    }
    offset = idx == 2 ? s->r2 : s->r0 - 1;
    if (offset == 0) return 0;
    s->r2 = s->r1;
    s->r1 = s->r0;
    s->r0 = offset;
    return offset;
}

// Decodes the next sequence of the bitstream read by br into *ll, *ml, *off and, when
// `more` (another sequence follows), advances the three states; reload(br) refills the
// container (called after the offset and match length, and at the end). Returns false,
// with the states left as they were, for a repeat offset that resolves to 0
// (OFFSET_OUT_OF_RANGE).
template <class Reload>
CZ_HD CZ_FORCEINLINE bool cz_seq_decode_one(const cz_seq_tables* t, cz_seq_state* s, cz_bit_reader* br, bool more,
                                            Reload reload, uint32_t* ll_out, uint32_t* ml_out, uint32_t* off_out) {
    const cz_fse_dentry eo = t->of[s->of], el = t->ll[s->ll], em = t->ml[s->ml];
    // After a reload the container holds >= 57 bits or the rest of the stream: offset
    // (<= 31 bits) and match length (<= 16) fit, then literal length (<= 16) and the three
    // states (<= 26). of_code <= 31 (table symbols are bounded by the description reader).
    const uint32_t of_value = (1u << eo.symbol) + (uint32_t)cz_br_read(br, eo.symbol);
    const uint32_t ml = cz_ml_baseline[em.symbol] + (uint32_t)cz_br_read(br, cz_ml_extra_bits[em.symbol]);
    reload(br);
    const uint32_t ll = cz_ll_baseline[el.symbol] + (uint32_t)cz_br_read(br, cz_ll_extra_bits[el.symbol]);
    const uint32_t offset = cz_seq_offset(s, of_value, ll);
    if (offset == 0) return false;
    if (more) {
        s->ll = el.base + (uint32_t)cz_br_read(br, el.nb_bits);
        s->ml = em.base + (uint32_t)cz_br_read(br, em.nb_bits);
        s->of = eo.base + (uint32_t)cz_br_read(br, eo.nb_bits);
    }
    reload(br);
    *ll_out = ll;
    *ml_out = ml;
    *off_out = offset;
    return true;
}

// The Sequences section header at src[0 .. size): *nb_seq, *modes (when nb_seq > 0) and
// *consumed, its size. Status: OK or SEQUENCES_HEADER_CORRUPT (also for a section with no
// sequences that does not end there, and for reserved mode bits).
CZ_HD inline uint32_t cz_parse_sequences_header(const uint8_t* src, size_t size, uint32_t* nb_seq, uint8_t* modes,
                                                size_t* consumed) {
    if (size < 1) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
    size_t ip = 0;
    uint32_t n = src[ip++];
    if (n >= 128) {
        if (n == 255) {
            if (ip + 2 > size) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
            n = cz_read_le16(src + ip) + CZ_LONG_NB_SEQ;
            ip += 2;
        } else {
            if (ip >= size) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
            n = ((n - 128) << 8) + src[ip++];
        }
    }
    *nb_seq = n;
    *modes = 0;
    if (n == 0) {
        *consumed = ip;
        return ip == size ? CZ_STATUS_OK : CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
    }
    if (ip >= size) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
    *modes = src[ip++];
    if (*modes & 3) return CZ_STATUS_SEQUENCES_HEADER_CORRUPT;
    *consumed = ip;
    return CZ_STATUS_OK;
}

// One decoded sequence kept for later execution (cz_exec_stored).
typedef struct cz_seq_triple {
    uint32_t ll, ml, off;
} cz_seq_triple;

// Decodes a Sequences section src[0 .. size) and executes it with the block's literals
// lits[0 .. nlits). Repeat offsets `rep` carry over between blocks. A team decodes the
// sequences in every lane alike, a batch of `width` at a time, and executes each batch
// together (cz_exec_batch).
// With `store` the sequences are not executed: they go to store[0 .. *stored) (more than
// store_cap is WORKSPACE_TOO_SMALL), nothing is written to out and lits is not read;
// cz_exec_stored executes them.
// Status: OK, SEQUENCES_HEADER_CORRUPT, FSE_TABLE_CORRUPT, FSE_TABLE_MISSING,
// SEQUENCE_STREAM_CORRUPT, LITERALS_OVERRUN, OFFSET_OUT_OF_RANGE, OUTPUT_TOO_SMALL,
// WORKSPACE_TOO_SMALL (store only).
CZ_HD inline uint32_t cz_decode_sequences(const uint8_t* src, size_t size, const uint8_t* lits, size_t nlits,
                                          cz_seq_tables* t, uint32_t* rep, cz_seq_scratch* s, cz_output* out,
                                          cz_seq_triple* store = nullptr, uint32_t store_cap = 0,
                                          uint32_t* stored = nullptr) {
    const cz_team tm = out->team;
    if (store) {
        *stored = 0;
    }
    uint32_t nb_seq = 0;
    uint8_t modes = 0;
    size_t ip = 0;
    uint32_t st = cz_parse_sequences_header(src, size, &nb_seq, &modes, &ip);
    if (st != CZ_STATUS_OK) return st;
    if (store && nb_seq > store_cap) return CZ_STATUS_WORKSPACE_TOO_SMALL;
    size_t lit_pos = 0;
    if (nb_seq > 0) {
        // Lane 0 reads the table descriptions into shared scratch, then the team builds the
        // FSE-mode tables. The predefined tables are constants the whole team copies.
        size_t used = 0;
        CZ_PROF_BEGIN(seq_tables);
        cz_seq_copy_predefined(tm, modes, t);
        if (tm.lane == 0) st = cz_seq_read_tables(modes, src + ip, size - ip, t, s, &used, true, true);
        st = cz_team_shfl32(tm, st, 0);
        used = (size_t)cz_team_shfl64(tm, used, 0);
        cz_team_sync(tm);
        if (st == CZ_STATUS_OK) cz_seq_build_tables(modes, t, s, tm);
        CZ_PROF_END(seq_tables, tm);
        if (st != CZ_STATUS_OK) return st;
        ip += used;

        const uint8_t* const stream = src + ip;
        const size_t ssize = size - ip;
        cz_bit_reader br;
        if (!cz_br_init(&br, stream, ssize)) return CZ_STATUS_SEQUENCE_STREAM_CORRUPT;
        cz_team_window win;
        cz_win_fill(&win, tm, stream, ssize, (int64_t)(br.ptr - stream) + 8 - CZ_WINDOW_BYTES);
        auto reload = [&](cz_bit_reader* b) { cz_br_reload_win(b, &win, tm, stream, ssize); };
        cz_seq_state ss;
        ss.ll = cz_fse_init_state(&br, t->ll_log);
        reload(&br);
        ss.of = cz_fse_init_state(&br, t->of_log);
        reload(&br);
        ss.ml = cz_fse_init_state(&br, t->ml_log);
        reload(&br);
        ss.r0 = rep[0];
        ss.r1 = rep[1];
        ss.r2 = rep[2];
        uint32_t pending = CZ_STATUS_OK;  // a decoding error after the batch's good sequences
        for (uint32_t b = 0; b < nb_seq && pending == CZ_STATUS_OK; b += tm.width) {
            unsigned cnt = nb_seq - b < tm.width ? nb_seq - b : tm.width;
            uint32_t my_ll = 0, my_ml = 0, my_off = 0;
            CZ_PROF_BEGIN(seq_decode);
            for (unsigned k = 0; k < cnt; k++) {
                uint32_t ll, ml, offset;
                if (!cz_seq_decode_one(t, &ss, &br, b + k + 1 < nb_seq, reload, &ll, &ml, &offset)) {
                    pending = CZ_STATUS_OFFSET_OUT_OF_RANGE;
                    cnt = k;
                    break;
                }
                if (k == tm.lane) {
                    my_ll = ll;
                    my_ml = ml;
                    my_off = offset;
                }
            }
            CZ_PROF_END(seq_decode, tm);
            if (store) {
                for (unsigned k = tm.lane; k < cnt; k += tm.width) {
                    cz_seq_triple q;
                    q.ll = my_ll;
                    q.ml = my_ml;
                    q.off = my_off;
                    store[b + k] = q;
                }
                *stored = b + cnt;
                continue;
            }
            CZ_PROF_BEGIN(seq_exec);
            st = cz_exec_batch(tm, cnt, my_ll, my_ml, my_off, lits, nlits, &lit_pos, out);
            CZ_PROF_END(seq_exec, tm);
            if (st != CZ_STATUS_OK) return st;
        }
        if (pending != CZ_STATUS_OK) return pending;
        if (!cz_br_finished(&br)) return CZ_STATUS_SEQUENCE_STREAM_CORRUPT;
        // Every lane stores the same values; every lane read rep[] above.
        rep[0] = ss.r0;
        rep[1] = ss.r1;
        rep[2] = ss.r2;
    }
    if (store) return CZ_STATUS_OK;
    const size_t rest = nlits - lit_pos;
    if (rest > out->cap - out->pos) return CZ_STATUS_OUTPUT_TOO_SMALL;
    cz_team_copy(tm, out->base + out->pos, lits + lit_pos, rest);
    out->pos += rest;
    return CZ_STATUS_OK;
}

// Executes n sequences stored by cz_decode_sequences with the block's literals
// lits[0 .. nlits), then copies the literals left after the last one: the same output and
// statuses as the execution cz_decode_sequences does itself.
CZ_HD inline uint32_t cz_exec_stored(const cz_seq_triple* store, uint32_t n, const uint8_t* lits, size_t nlits,
                                     cz_output* out) {
    const cz_team tm = out->team;
    size_t lit_pos = 0;
    for (uint32_t b = 0; b < n; b += tm.width) {
        const unsigned cnt = n - b < tm.width ? n - b : tm.width;
        cz_seq_triple q;
        q.ll = q.ml = q.off = 0;
        if (tm.lane < cnt) q = store[b + tm.lane];
        CZ_PROF_BEGIN(seq_exec);
        const uint32_t st = cz_exec_batch(tm, cnt, q.ll, q.ml, q.off, lits, nlits, &lit_pos, out);
        CZ_PROF_END(seq_exec, tm);
        if (st != CZ_STATUS_OK) return st;
    }
    const size_t rest = nlits - lit_pos;
    if (rest > out->cap - out->pos) return CZ_STATUS_OUTPUT_TOO_SMALL;
    cz_team_copy(tm, out->base + out->pos, lits + lit_pos, rest);
    out->pos += rest;
    return CZ_STATUS_OK;
}

#endif  // CUZSTD_SEQUENCES_CUH
