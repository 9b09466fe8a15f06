// FSE (tANS) pieces shared by the encoder and the decoder: reading a table description
// (normalized counts) and spreading symbols over the table. Host and device.
//
// Normalized counts: norm[s] for s = 0..max_symbol, each >= -1, where -1 means "less than
// 1" (the symbol takes one cell at the end of the table). A valid distribution has
// sum(|norm[s]|) == 1 << table_log.
#ifndef CUZSTD_FSE_COMMON_CUH
#define CUZSTD_FSE_COMMON_CUH

#include "portability.cuh"
#include "format.cuh"

// Index of the highest set bit of x; x must be non-zero.
CZ_HD CZ_FORCEINLINE unsigned cz_highbit32(uint32_t x) {
#if defined(__CUDA_ARCH__)
    return 31u - (unsigned)__clz(x);
#else
    return 31u - (unsigned)__builtin_clz(x);
#endif
}

// Reads the FSE table description at src[0 .. size) (RFC 8878 "FSE Table Description").
//   norm:        out, entries 0 .. *max_symbol (as given on entry) are written; symbols the
//                description does not reach get 0.
//   max_symbol:  in: the largest symbol the caller accepts; out: the last symbol described.
//   table_log:   out: Accuracy_Log (5 .. 15; the caller checks its own limit).
//   consumed:    out: bytes of the description (rounded up to a whole byte).
// Returns false when the description is invalid: counts that do not sum to the table
// size, more symbols than max_symbol, Accuracy_Log above 15, or a description longer than
// `size` bytes. Bits past src[size - 1] read as zero, and a description that needs them
// is rejected. Never reads outside src[0 .. size).
CZ_HD inline bool cz_fse_read_ncount(const uint8_t* src, size_t size, int16_t* norm, unsigned* max_symbol,
                                     unsigned* table_log, size_t* consumed) {
    const unsigned max_sv1 = *max_symbol + 1;
    for (unsigned s = 0; s < max_sv1; s++) norm[s] = 0;
    uint64_t bitpos = 0;  // bits consumed from src
    // Reads n (<= 25) bits at bitpos without consuming them; zero past the end.
    auto peek = [&](unsigned n) -> uint32_t {
        uint64_t byte = bitpos >> 3;
        unsigned shift = (unsigned)(bitpos & 7);
        uint64_t v = 0;
        for (unsigned i = 0; i < 4; i++) {
            if (byte + i < size) v |= (uint64_t)src[byte + i] << (8 * i);
        }
        return (uint32_t)((v >> shift) & ((1ull << n) - 1));
    };
    if (size == 0) return false;
    const unsigned log = (src[0] & 0xF) + CZ_FSE_MIN_TABLELOG;
    if (log > CZ_FSE_MAX_TABLELOG) return false;
    bitpos = 4;
    *table_log = log;
    int remaining = (1 << log) + 1;
    int threshold = 1 << log;
    int nb_bits = (int)log + 1;
    unsigned sym = 0;
    bool previous0 = false;
    for (;;) {
        if (previous0) {
            // Runs of zero-probability symbols: 2-bit fields, 3 means "3 more and another field".
            for (;;) {
                uint32_t r = peek(2);
                bitpos += 2;
                sym += r;
                if (r != 3) break;
                if (sym >= max_sv1) break;
            }
            if (sym >= max_sv1) break;
        }
        const int max = (2 * threshold - 1) - remaining;
        int count;
        const uint32_t low = peek((unsigned)nb_bits - 1);
        if ((int)low < max) {
            count = (int)low;
            bitpos += (unsigned)nb_bits - 1;
        } else {
            count = (int)peek((unsigned)nb_bits);
            if (count >= threshold) count -= max;
            bitpos += (unsigned)nb_bits;
        }
        count--;  // the description stores probability + 1
        remaining -= count < 0 ? -count : count;
        norm[sym++] = (int16_t)count;
        previous0 = (count == 0);
        if (remaining < threshold) {
            if (remaining <= 1) break;
            nb_bits = (int)cz_highbit32((uint32_t)remaining) + 1;
            threshold = 1 << (nb_bits - 1);
        }
        if (sym >= max_sv1) break;
    }
    if (remaining != 1) return false;
    if (sym > max_sv1) return false;
    const uint64_t bytes = (bitpos + 7) >> 3;
    if (bytes > size) return false;
    *max_symbol = sym - 1;
    *consumed = (size_t)bytes;
    return true;
}

// Spreads the symbols of a valid distribution over the 1 << table_log cells of an FSE
// table (RFC 8878 "FSE Table Construction"): "less than 1" symbols take the last cells in
// symbol order, the others are placed with step (size/2 + size/8 + 3), skipping those cells.
// cell_symbol[0 .. 1 << table_log) receives each cell's symbol. The encoder builds its
// tables from this function; the decoder's cz_fse_build_dtable_team computes the same
// spread lane-parallel. Returns false if the counts do not fill the table exactly.
CZ_HD inline bool cz_fse_spread_symbols(const int16_t* norm, unsigned max_symbol, unsigned table_log,
                                        uint8_t* cell_symbol) {
    const uint32_t size = 1u << table_log;
    const uint32_t mask = size - 1;
    uint32_t high = size - 1;
    uint32_t total = 0;
    for (unsigned s = 0; s <= max_symbol; s++) {
        if (norm[s] == -1) {
            cell_symbol[high--] = (uint8_t)s;
            total += 1;
        } else if (norm[s] > 0) {
            total += (uint32_t)norm[s];
        }
    }
    if (total != size) return false;
    const uint32_t step = (size >> 1) + (size >> 3) + 3;
    uint32_t pos = 0;
    for (unsigned s = 0; s <= max_symbol; s++) {
        for (int i = 0; i < norm[s]; i++) {
            cell_symbol[pos] = (uint8_t)s;
            do {
                pos = (pos + step) & mask;
            } while (pos > high);
        }
    }
    return pos == 0;
}

#endif  // CUZSTD_FSE_COMMON_CUH
