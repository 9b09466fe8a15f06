// FSE decoding tables (RFC 8878 "FSE Table Construction", decoder side), host and device.
#ifndef CUZSTD_FSE_DECODE_CUH
#define CUZSTD_FSE_DECODE_CUH

#include "portability.cuh"
#include "fse_common.cuh"
#include "bit_reader.cuh"

// One state of an FSE decoding table: the symbol it emits, how many bits the next state
// takes, and the baseline those bits are added to.
typedef struct cz_fse_dentry {
    uint16_t base;
    uint8_t symbol;
    uint8_t nb_bits;
} cz_fse_dentry;

// Scratch for building a table of up to 2^9 states over up to 256 symbols.
typedef struct cz_fse_build_scratch {
    uint16_t next[256];
    uint8_t cells[512];
} cz_fse_build_scratch;

// Builds the decoding table of a valid distribution (norm from cz_fse_read_ncount or a
// predefined one) into table[0 .. 1 << table_log); table_log <= 9. Returns false if the
// counts do not fill the table.
CZ_HD inline bool cz_fse_build_dtable(const int16_t* norm, unsigned max_symbol, unsigned table_log,
                                      cz_fse_dentry* table, cz_fse_build_scratch* scratch) {
    if (table_log > 9 || max_symbol > 255) return false;
    if (!cz_fse_spread_symbols(norm, max_symbol, table_log, scratch->cells)) return false;
    const uint32_t size = 1u << table_log;
    for (unsigned s = 0; s <= max_symbol; s++) scratch->next[s] = norm[s] == -1 ? 1 : (uint16_t)(norm[s] > 0 ? norm[s] : 0);
    for (uint32_t i = 0; i < size; i++) {
        const uint8_t s = scratch->cells[i];
        const uint32_t x = scratch->next[s]++;
        const unsigned nb = table_log - cz_highbit32(x);
        table[i].symbol = s;
        table[i].nb_bits = (uint8_t)nb;
        table[i].base = (uint16_t)((x << nb) - size);
    }
    return true;
}

// A one-state table that always emits `symbol` and reads no bits (RLE mode).
CZ_HD CZ_FORCEINLINE void cz_fse_build_rle(cz_fse_dentry* table, uint8_t symbol) {
    table[0].symbol = symbol;
    table[0].nb_bits = 0;
    table[0].base = 0;
}

CZ_HD CZ_FORCEINLINE uint32_t cz_fse_init_state(cz_bit_reader* br, unsigned table_log) {
    return (uint32_t)cz_br_read(br, table_log);
}

CZ_HD CZ_FORCEINLINE uint32_t cz_fse_next_state(const cz_fse_dentry* table, uint32_t state, cz_bit_reader* br) {
    const cz_fse_dentry e = table[state];
    return e.base + (uint32_t)cz_br_read(br, e.nb_bits);
}

#endif  // CUZSTD_FSE_DECODE_CUH
