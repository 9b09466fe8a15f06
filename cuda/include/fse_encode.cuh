// FSE (tANS) encoding (host and device): normalizing counts, writing a table description,
// building an encoding table from a distribution, and encoding symbols.
//
// The encoder's state x lives in [L, 2L) (L = 1 << table_log); the decoder's state for the
// same cell is x - L. Symbols are spread over cells with cz_fse_spread_symbols, the
// function the decoder uses, so both sides agree on every cell.
#ifndef CUZSTD_FSE_ENCODE_CUH
#define CUZSTD_FSE_ENCODE_CUH

#include "portability.cuh"
#include "format.cuh"
#include "fse_common.cuh"
#include "bit_writer.cuh"

#define CZ_FSE_ENC_MAX_SYMBOL 52     // largest alphabet of the encoder: match length codes
#define CZ_FSE_ENC_MAX_TABLELOG 9

typedef struct cz_fse_ctable {
    uint16_t state[1u << CZ_FSE_ENC_MAX_TABLELOG];  // cells of symbol s from cumul[s], ascending, + L
    uint16_t cumul[CZ_FSE_ENC_MAX_SYMBOL + 1];
    uint16_t count[CZ_FSE_ENC_MAX_SYMBOL + 1];       // |norm|, "less than 1" counted as 1
    uint8_t cell_symbol[1u << CZ_FSE_ENC_MAX_TABLELOG];
    unsigned table_log;
} cz_fse_ctable;

// Builds an encoding table from a valid distribution norm[0..max_symbol] (max_symbol <= 52,
// table_log <= 9). Returns false if the distribution does not fill the table.
CZ_HD inline bool cz_fse_build_ctable(cz_fse_ctable* t, const int16_t* norm, unsigned max_symbol,
                                      unsigned table_log) {
    if (max_symbol > CZ_FSE_ENC_MAX_SYMBOL || table_log > CZ_FSE_ENC_MAX_TABLELOG) return false;
    if (!cz_fse_spread_symbols(norm, max_symbol, table_log, t->cell_symbol)) return false;
    const uint32_t size = 1u << table_log;
    uint32_t cum = 0;
    uint16_t seen[CZ_FSE_ENC_MAX_SYMBOL + 1];
    for (unsigned s = 0; s <= max_symbol; s++) {
        const uint32_t c = norm[s] == -1 ? 1u : (norm[s] > 0 ? (uint32_t)norm[s] : 0u);
        t->cumul[s] = (uint16_t)cum;
        t->count[s] = (uint16_t)c;
        seen[s] = 0;
        cum += c;
    }
    for (uint32_t u = 0; u < size; u++) {
        const unsigned s = t->cell_symbol[u];
        t->state[t->cumul[s] + seen[s]++] = (uint16_t)(size + u);
    }
    t->table_log = table_log;
    return true;
}

// The state that starts encoding with symbol s (its first cell; the decoder's last
// update from it reads table_log - highbit(count) >= 1 bits).
CZ_HD CZ_FORCEINLINE uint32_t cz_fse_init_state(const cz_fse_ctable* t, unsigned s) {
    return t->state[t->cumul[s]];
}

// Encodes symbol s: writes the low bits of the state and moves to a cell of s.
CZ_HD CZ_FORCEINLINE void cz_fse_encode(cz_bit_writer* w, const cz_fse_ctable* t, uint32_t* x, unsigned s) {
    const uint32_t c = t->count[s];
    const unsigned nb0 = t->table_log - cz_highbit32(c);
    const unsigned nb = (*x >> nb0) >= c ? nb0 : nb0 - 1;
    cz_bw_add(w, *x, nb);
    *x = t->state[t->cumul[s] + (*x >> nb) - c];
}

// Writes the final state (the decoder's starting state) in table_log bits.
CZ_HD CZ_FORCEINLINE void cz_fse_flush_state(cz_bit_writer* w, const cz_fse_ctable* t, uint32_t x) {
    cz_bw_add(w, x, t->table_log);
}

// Estimated cost in 1/256 bits of coding `count` occurrences of a symbol of normalized
// count `norm` (>= 1, or -1) in a table of 1 << table_log cells.
CZ_HD CZ_FORCEINLINE uint64_t cz_fse_symbol_cost_q8(uint32_t count, int norm, unsigned table_log) {
    const uint32_t n = norm < 0 ? 1u : (uint32_t)norm;
    return (uint64_t)count * ((table_log << 8) - cz_log2_q8(n));
}

// Accuracy log for `total` symbols with `distinct` different values, at most max_log.
CZ_HD inline unsigned cz_fse_choose_table_log(uint32_t total, unsigned distinct, unsigned max_log) {
    unsigned log = max_log;
    // Tables much larger than the number of symbols coded only cost header bits.
    const unsigned from_src = total > 4 ? cz_highbit32(total - 1) - 1 : 1;
    if (from_src < log) log = from_src;
    // Every present symbol needs a cell, with some room to spare.
    const unsigned need = distinct > 1 ? cz_highbit32(distinct - 1) + 2 : 1;
    if (need > log) log = need;
    if (log < CZ_FSE_MIN_TABLELOG) log = CZ_FSE_MIN_TABLELOG;
    if (log > max_log) log = max_log;
    return log;
}

// Normalizes counts[0..max_symbol] (summing to total > 0, with at least two non-zero
// counts and at most 1 << table_log of them) to norm[] summing to 1 << table_log, every
// present symbol at least 1. Deterministic integer arithmetic.
CZ_HD inline void cz_fse_normalize(const uint32_t* counts, unsigned max_symbol, uint32_t total,
                                   unsigned table_log, int16_t* norm) {
    const int32_t size = 1 << table_log;
    int32_t sum = 0;
    unsigned largest = 0;
    for (unsigned s = 0; s <= max_symbol; s++) {
        if (counts[s] > counts[largest]) largest = s;
        if (counts[s] == 0) {
            norm[s] = 0;
            continue;
        }
        int32_t n = (int32_t)(((uint64_t)counts[s] * (uint32_t)size + total / 2) / total);
        if (n < 1) n = 1;
        norm[s] = (int16_t)n;
        sum += n;
    }
    int32_t diff = size - sum;
    if (diff > 0) {
        norm[largest] = (int16_t)(norm[largest] + diff);
        return;
    }
    // Too many cells handed out (rounding up and the minimum of 1): take them back from the
    // largest counts, at most half of a symbol's cells at a time.
    while (diff < 0) {
        unsigned best = 0;
        for (unsigned s = 1; s <= max_symbol; s++) {
            if (norm[s] > norm[best]) best = s;
        }
        int32_t take = (norm[best] - 1 + 1) / 2;
        if (take > -diff) take = -diff;
        if (take < 1) take = 1;
        norm[best] = (int16_t)(norm[best] - take);
        diff += take;
    }
}

// Writes the FSE table description of norm[0..max_symbol] (RFC 8878 "FSE Table
// Description") at dst. Returns its size in bytes, or 0 if it does not fit in capacity.
CZ_HD inline size_t cz_fse_write_ncount(uint8_t* dst, size_t capacity, const int16_t* norm, unsigned max_symbol,
                                       unsigned table_log) {
    cz_bit_writer w;
    cz_bw_init(&w, dst, capacity);
    cz_bw_add(&w, table_log - CZ_FSE_MIN_TABLELOG, 4);
    int32_t remaining = (1 << table_log) + 1;
    int32_t threshold = 1 << table_log;
    unsigned nb_bits = table_log + 1;
    unsigned s = 0;
    while (remaining > 1 && s <= max_symbol) {
        const int32_t count = norm[s];
        int32_t value = count + 1;  // -1 -> 0, 0 -> 1, n -> n + 1
        const int32_t max = 2 * threshold - 1 - remaining;
        if (value < max) {
            cz_bw_add(&w, (uint32_t)value, nb_bits - 1);  // short form: one bit less
        } else {
            if (value >= threshold) value += max;
            cz_bw_add(&w, (uint32_t)value, nb_bits);
        }
        remaining -= count < 0 ? -count : count;
        s++;
        if (count == 0) {
            // Run of further zero probabilities: 2-bit fields, 3 means "3 more, continue".
            unsigned run = 0;
            while (s + run <= max_symbol && norm[s + run] == 0) run++;
            s += run;
            while (run >= 3) {
                cz_bw_add(&w, 3, 2);
                run -= 3;
            }
            cz_bw_add(&w, run, 2);
        }
        while (remaining < threshold && threshold > 1) {
            nb_bits--;
            threshold >>= 1;
        }
    }
    if (remaining != 1) return 0;
    return cz_bw_close_forward(&w);
}

#endif  // CUZSTD_FSE_ENCODE_CUH
