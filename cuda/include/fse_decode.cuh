// FSE decoding tables (RFC 8878 "FSE Table Construction", decoder side), host and device.
#ifndef CUZSTD_FSE_DECODE_CUH
#define CUZSTD_FSE_DECODE_CUH

#include "portability.cuh"
#include "fse_common.cuh"
#include "bit_reader.cuh"
#include "decode_team.cuh"

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
    uint16_t start[257];  // start[s]: cells of positive-count symbols before s, in spread order
    uint8_t cells[512];
} cz_fse_build_scratch;

// Checks that a distribution from cz_fse_read_ncount (or a predefined one) fills a table of
// 1 << table_log cells (table_log <= 9, max_symbol <= 255).
CZ_HD inline bool cz_fse_fills_table(const int16_t* norm, unsigned max_symbol, unsigned table_log) {
    if (table_log > 9 || max_symbol > 255) return false;
    uint32_t total = 0;
    for (unsigned s = 0; s <= max_symbol; s++) total += norm[s] == -1 ? 1u : norm[s] > 0 ? (uint32_t)norm[s] : 0u;
    return total == (1u << table_log);
}

// Builds the decoding table of a distribution that passed cz_fse_fills_table into
// table[0 .. 1 << table_log), the same table as cz_fse_spread_symbols and the RFC's
// sequential construction give. One thread follows the RFC's construction. A warp team
// splits the cells between its lanes: the positive symbols' cells are the positions
// k · step (mod size) for k = 0, 1, .. that lie below the "less than 1" cells, so a cell's
// place in spread order is a count of earlier such k; a state's number counts the earlier
// cells of its symbol (matching lanes, then a per-symbol running count). Every lane returns
// when the table is complete.
CZ_HD inline void cz_fse_build_dtable_team(const int16_t* norm, unsigned max_symbol, unsigned table_log,
                                           cz_fse_dentry* table, cz_fse_build_scratch* scratch, cz_team team) {
    const uint32_t size = 1u << table_log, mask = size - 1;
    if (team.width == 1) {
        cz_fse_spread_symbols(norm, max_symbol, table_log, scratch->cells);
        for (unsigned s = 0; s <= max_symbol; s++)
            scratch->next[s] = norm[s] == -1 ? 1 : (uint16_t)(norm[s] > 0 ? norm[s] : 0);
        for (uint32_t i = 0; i < size; i++) {
            const uint8_t s = scratch->cells[i];
            const uint32_t x = scratch->next[s]++;
            const unsigned nb = table_log - cz_highbit32(x);
            table[i].symbol = s;
            table[i].nb_bits = (uint8_t)nb;
            table[i].base = (uint16_t)((x << nb) - size);
        }
        return;
    }
    // "Less than 1" symbols take the last cells in symbol order; `high` is the last other cell.
    uint32_t high = size - 1;
    if (team.lane == 0) {
        uint32_t at = 0;
        for (unsigned s = 0; s <= max_symbol; s++) {
            scratch->start[s] = (uint16_t)at;
            if (norm[s] == -1) scratch->cells[high--] = (uint8_t)s;
            else if (norm[s] > 0) at += (uint32_t)norm[s];
        }
        scratch->start[max_symbol + 1] = (uint16_t)at;
    }
    high = cz_team_shfl32(team, high, 0);
    for (unsigned s = team.lane; s <= max_symbol; s += team.width)
        scratch->next[s] = norm[s] == -1 ? 1 : (uint16_t)(norm[s] > 0 ? norm[s] : 0);
    cz_team_sync(team);
    const uint32_t step = (size >> 1) + (size >> 3) + 3;
    uint32_t placed = 0;  // positive-symbol cells placed by the earlier rounds
    for (uint32_t k0 = 0; k0 < size; k0 += team.width) {
        const uint32_t k = k0 + team.lane;
        const uint32_t p = (k * step) & mask;
        const bool mine = k < size && p <= high;
        const uint32_t ballot = cz_team_ballot(team, mine);
        if (mine) {
            const uint32_t j = placed + cz_popc32(ballot & ((1u << team.lane) - 1u));
            // The symbol s with start[s] <= j < start[s + 1].
            unsigned lo = 0, hi = max_symbol + 1;
            while (hi - lo > 1) {
                const unsigned mid = (lo + hi) >> 1;
                if (scratch->start[mid] <= j) lo = mid;
                else hi = mid;
            }
            scratch->cells[p] = (uint8_t)lo;
        }
        placed += cz_popc32(ballot);
    }
    cz_team_sync(team);
    for (uint32_t i0 = 0; i0 < size; i0 += team.width) {
        const uint32_t i = i0 + team.lane;
        const bool in = i < size;
        const uint32_t s = in ? scratch->cells[i] : 256u + team.lane;
        const uint32_t peers = cz_team_match(team, s);
        const uint32_t x = in ? scratch->next[s] + cz_popc32(peers & ((1u << team.lane) - 1u)) : 0u;
        cz_team_sync(team);  // every lane has read next[] before it changes
        if (in) {
            const unsigned nb = table_log - cz_highbit32(x);
            cz_fse_dentry e;
            e.symbol = (uint8_t)s;
            e.nb_bits = (uint8_t)nb;
            e.base = (uint16_t)((x << nb) - size);
            table[i] = e;
            if ((peers >> team.lane) == 1u) scratch->next[s] = (uint16_t)(x + 1);  // the symbol's last lane
        }
        cz_team_sync(team);
    }
}

// Builds the decoding table of a valid distribution (norm from cz_fse_read_ncount or a
// predefined one) into table[0 .. 1 << table_log); table_log <= 9. Returns false if the
// counts do not fill the table.
CZ_HD inline bool cz_fse_build_dtable(const int16_t* norm, unsigned max_symbol, unsigned table_log,
                                      cz_fse_dentry* table, cz_fse_build_scratch* scratch) {
    if (!cz_fse_fills_table(norm, max_symbol, table_log)) return false;
    cz_fse_build_dtable_team(norm, max_symbol, table_log, table, scratch, cz_team_single());
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
