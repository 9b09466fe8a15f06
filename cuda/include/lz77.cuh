// LZ77 match finding of the encoder (host and device): a hash table of the most recent
// position per hash of `min_match` bytes, optionally a chain of earlier positions with the
// same hash (chain_log > 0), greedy or lazy (1 or 2 steps) parsing, repeat-offset matches,
// and skipping ahead faster through data that does not match.
//
// Positions are indices into the frame's content `src`; a match may reach back anywhere
// before its start in the same frame (the frame's window is its whole content). The
// tables store position + 1 so that 0 means "empty".
#ifndef CUZSTD_LZ77_CUH
#define CUZSTD_LZ77_CUH

#include "portability.cuh"
#include "format.cuh"
#include "fse_common.cuh"
#include "bit_writer.cuh"

#define CZ_LEVEL_MIN 1
#define CZ_LEVEL_MAX 12
#define CZ_LEVEL_DEFAULT 3
// Matches are looked for at positions with at least this many bytes left in the block
// (the hash reads 8 bytes).
#define CZ_LZ_TAIL 8

// Parameters of one compression level.
typedef struct cz_lz_params {
    unsigned hash_log;      // log2 of the hash table's entries
    unsigned chain_log;     // log2 of the chain's entries; 0: no chain (one candidate per hash)
    unsigned search_depth;  // candidates examined per position
    unsigned min_match;     // bytes hashed and shortest match kept (4..7)
    unsigned lazy;          // 0: greedy; 1 or 2: also try 1 or 2 positions later
    unsigned target_len;    // stop searching once a match this long is found
    unsigned skip_log;      // without a match, advance 1 + (literal run >> skip_log)
    unsigned insert_all;    // 1: index every position; 0: only the searched ones
} cz_lz_params;

// The parameters of `level` (clamped to CZ_LEVEL_MIN..CZ_LEVEL_MAX; 0 means the default),
// with tables no larger than a content of src_size bytes needs.
//
// | level | search              | depth | min match | tables (log2 entries) |
// | 1     | greedy, hash only   | 1     | 6         | hash 15               |
// | 2     | greedy, hash only   | 1     | 5         | hash 16               |
// | 3     | greedy, hash chain  | 4     | 6         | hash 15, chain 16     |
// | 4     | lazy 1, hash chain  | 6     | 5         | hash 16, chain 16     |
// | 5     | lazy 1, hash chain  | 8     | 5         | hash 16, chain 16     |
// | 6     | lazy 1, hash chain  | 12    | 5         | hash 16, chain 17     |
// | 7     | lazy 2, hash chain  | 16    | 5         | hash 16, chain 17     |
// | 8     | lazy 2, hash chain  | 24    | 5         | hash 17, chain 17     |
// | 9     | lazy 2, hash chain  | 32    | 5         | hash 17, chain 17     |
// | 10-12 | lazy 2, hash chain  | 48-128| 5         | hash 17, chain 18     |
CZ_HD inline cz_lz_params cz_lz_level_params(int level, uint64_t src_size) {
    if (level == 0) level = CZ_LEVEL_DEFAULT;
    if (level < CZ_LEVEL_MIN) level = CZ_LEVEL_MIN;
    if (level > CZ_LEVEL_MAX) level = CZ_LEVEL_MAX;
    // hash, chain, depth, min match, lazy, target, skip, insert_all
    const uint8_t rows[CZ_LEVEL_MAX][8] = {
        {15, 0, 1, 6, 0, 0, 8, 0},     {16, 0, 1, 5, 0, 0, 8, 0},     {15, 16, 4, 6, 0, 16, 7, 1},
        {16, 16, 6, 5, 1, 24, 8, 1},   {16, 16, 8, 5, 1, 32, 8, 1},   {16, 17, 12, 5, 1, 48, 8, 1},
        {16, 17, 16, 5, 2, 64, 8, 1},  {17, 17, 24, 5, 2, 64, 8, 1},  {17, 17, 32, 5, 2, 96, 8, 1},
        {17, 18, 48, 5, 2, 128, 8, 1}, {17, 18, 64, 5, 2, 192, 8, 1}, {17, 18, 128, 5, 2, 255, 8, 1},
    };
    const uint8_t* row = rows[level - 1];
    cz_lz_params p;
    p.hash_log = row[0];
    p.chain_log = row[1];
    p.search_depth = row[2];
    p.min_match = row[3];
    p.lazy = row[4];
    p.target_len = row[5] ? row[5] : 1u << 30;
    p.skip_log = row[6];
    p.insert_all = row[7];
    // Tables larger than twice (hash) or once (chain) the content only cost memory.
    unsigned size_log = 1;  // ceil(log2(src_size)), at least 1
    while (size_log < 40 && (1ull << size_log) < src_size) size_log++;
    const unsigned hash_cap = size_log + 1 < 10 ? 10 : size_log + 1;
    const unsigned chain_cap = size_log < 10 ? 10 : size_log;
    if (p.hash_log > hash_cap) p.hash_log = hash_cap;
    if (p.chain_log > chain_cap) p.chain_log = chain_cap;
    return p;
}

// One sequence: lit_len literals, then match_len bytes from off_base (RFC 8878
// Offset_Value: 1..3 repeat offsets, offset + 3 otherwise).
typedef struct cz_seq {
    uint32_t lit_len;
    uint32_t match_len;
    uint32_t off_base;
} cz_seq;

// The Offset_Value that codes `offset` after lit_len literals, given the repeat offsets
// rep[0..2]; updates rep as the decoder will.
CZ_HD inline uint32_t cz_encode_offset(uint32_t* rep, uint32_t offset, uint32_t lit_len) {
    uint32_t idx = 4;  // which repeat slot (0..3, where 3 is rep[0] - 1), 4: none
    if (lit_len > 0) {
        if (offset == rep[0]) idx = 0;
        else if (offset == rep[1]) idx = 1;
        else if (offset == rep[2]) idx = 2;
    } else {
        if (offset == rep[1]) idx = 1;
        else if (offset == rep[2]) idx = 2;
        else if (rep[0] > 1 && offset == rep[0] - 1) idx = 3;
    }
    if (idx == 4) {
        rep[2] = rep[1];
        rep[1] = rep[0];
        rep[0] = offset;
        return offset + 3;
    }
    const uint32_t value = lit_len > 0 ? idx + 1 : idx;  // idx >= 1 when lit_len == 0
    if (idx == 1) {
        rep[1] = rep[0];
        rep[0] = offset;
    } else if (idx >= 2) {
        rep[2] = rep[1];
        rep[1] = rep[0];
        rep[0] = offset;
    }
    return value;
}

// Length of the common prefix of a and b (b < a), not reading at or past `end` from a.
CZ_HD CZ_FORCEINLINE uint32_t cz_lz_count(const uint8_t* a, const uint8_t* b, const uint8_t* end) {
    const uint8_t* const start = a;
    while (a + 8 <= end) {
        const uint64_t diff = cz_read_le64(a) ^ cz_read_le64(b);
        if (diff) return (uint32_t)(a - start) + (cz_ctz64(diff) >> 3);
        a += 8;
        b += 8;
    }
    while (a < end && *a == *b) {
        a++;
        b++;
    }
    return (uint32_t)(a - start);
}

CZ_HD CZ_FORCEINLINE uint32_t cz_lz_hash(const uint8_t* p, unsigned min_match, unsigned hash_log) {
    const uint64_t v = cz_read_le64(p) << (64 - 8 * min_match);
    return (uint32_t)((v * 0xCF1BBCDCB7A56463ull) >> (64 - hash_log));
}

typedef struct cz_lz_state {
    const uint8_t* src;   // the frame's content
    uint32_t* head;       // 1 << hash_log entries
    uint32_t* chain;      // 1 << chain_log entries, or null
    cz_lz_params prm;
    uint32_t next_insert; // positions below this are in the tables (insert_all mode)
} cz_lz_state;

typedef struct cz_lz_match {
    uint32_t len;     // 0: none
    uint32_t offset;  // distance back
    int32_t gain;     // estimated bits saved, for comparing candidates
} cz_lz_match;

CZ_HD CZ_FORCEINLINE void cz_lz_insert(cz_lz_state* st, uint32_t pos) {
    const uint32_t h = cz_lz_hash(st->src + pos, st->prm.min_match, st->prm.hash_log);
    if (st->chain) st->chain[pos & ((1u << st->prm.chain_log) - 1)] = st->head[h];
    st->head[h] = pos + 1;
}

CZ_HD CZ_FORCEINLINE int32_t cz_lz_gain(uint32_t len, uint32_t off_base) {
    return (int32_t)(4 * len) - (int32_t)cz_highbit32(off_base);
}

// Best match at position p (p + CZ_LZ_TAIL <= block_end), bytes matched up to block_end;
// then indexes p.
CZ_HD inline cz_lz_match cz_lz_find(cz_lz_state* st, uint32_t p, uint32_t block_end, const uint32_t* rep) {
    const uint8_t* src = st->src;
    const uint8_t* ip = src + p;
    const uint8_t* end = src + block_end;
    cz_lz_match best;
    best.len = 0;
    best.offset = 0;
    best.gain = 0;
    const uint32_t mm = st->prm.min_match;
    // Repeat offsets: cheap to code, so kept from 4 bytes on.
    for (unsigned i = 0; i < 3; i++) {
        const uint32_t r = rep[i];
        if (r == 0 || r > p) continue;
        if (cz_read_le32(ip) != cz_read_le32(ip - r)) continue;
        const uint32_t len = cz_lz_count(ip, ip - r, end);
        const int32_t g = cz_lz_gain(len, i + 1);
        if (len >= 4 && g > best.gain) {
            best.len = len;
            best.offset = r;
            best.gain = g;
        }
    }
    if (st->prm.insert_all) {
        for (uint32_t i = st->next_insert; i < p; i++) cz_lz_insert(st, i);
    }
    const uint32_t h = cz_lz_hash(ip, mm, st->prm.hash_log);
    uint32_t cand = st->head[h];
    const uint32_t chain_size = st->chain ? 1u << st->prm.chain_log : 0;
    const uint32_t chain_mask = chain_size - 1;
    unsigned attempts = st->prm.search_depth;
    while (cand != 0 && attempts-- > 0) {
        const uint32_t c = cand - 1;
        if (c >= p) break;
        const uint8_t* cp = src + c;
        const uint32_t probe = best.len < (uint32_t)(end - ip) ? best.len : 0;
        if (cp[probe] == ip[probe] && cz_read_le32(cp) == cz_read_le32(ip)) {
            const uint32_t len = cz_lz_count(ip, cp, end);
            if (len >= mm) {
                const int32_t g = cz_lz_gain(len, p - c + 3);
                if (g > best.gain) {
                    best.len = len;
                    best.offset = p - c;
                    best.gain = g;
                    if (len >= st->prm.target_len || ip + len == end) break;
                }
            }
        }
        if (!st->chain || c + chain_size < p) break;  // no chain, or c's link was overwritten
        const uint32_t next = st->chain[c & chain_mask];
        if (next == 0 || next - 1 >= c) break;
        cand = next;
    }
    if (st->chain) st->chain[p & chain_mask] = st->head[h];
    st->head[h] = p + 1;
    if (st->next_insert <= p) st->next_insert = p + 1;
    return best;
}

// Parses src[block_start .. block_end) into sequences (appended to seqs, at most max_seqs)
// and literals (appended to lits, at most block_end - block_start bytes). rep[] holds the
// repeat offsets on entry and is updated as the decoder will update it. Returns the number
// of sequences; *nlits receives the number of literals (the last run, after the last
// sequence, included).
CZ_HD inline uint32_t cz_lz_parse_block(cz_lz_state* st, uint32_t block_start, uint32_t block_end, uint32_t* rep,
                                        cz_seq* seqs, uint32_t max_seqs, uint8_t* lits, uint32_t* nlits) {
    const uint8_t* src = st->src;
    uint32_t anchor = block_start;
    uint32_t p = block_start;
    uint32_t nseq = 0;
    uint32_t nl = 0;
    const uint32_t limit = block_end >= block_start + CZ_LZ_TAIL ? block_end - CZ_LZ_TAIL : block_start;
    const unsigned lazy = st->prm.lazy;
    while (p < limit && nseq < max_seqs) {
        cz_lz_match m = cz_lz_find(st, p, block_end, rep);
        if (m.len == 0) {
            p += 1 + ((p - anchor) >> st->prm.skip_log);
            continue;
        }
        // Lazy matching: a later start that gains enough replaces the current match.
        for (;;) {
            bool moved = false;
            for (unsigned k = 1; k <= lazy; k++) {
                const uint32_t q = p + k;
                if (q >= limit) break;
                const cz_lz_match m2 = cz_lz_find(st, q, block_end, rep);
                if (m2.len != 0 && m2.gain > m.gain + (k == 1 ? 4 : 7)) {
                    m = m2;
                    p = q;
                    moved = true;
                    break;
                }
            }
            if (!moved) break;
        }
        // Extend backward over literals that match too.
        uint32_t start = p;
        while (start > anchor && start > m.offset && src[start - 1] == src[start - 1 - m.offset]) {
            start--;
            m.len++;
        }
        const uint32_t ll = start - anchor;
        for (uint32_t i = anchor; i < start; i++) lits[nl++] = src[i];
        seqs[nseq].lit_len = ll;
        seqs[nseq].match_len = m.len;
        seqs[nseq].off_base = cz_encode_offset(rep, m.offset, ll);
        nseq++;
        p = start + m.len;
        anchor = p;
        if (!st->prm.insert_all && p - 2 > start && p - 2 + CZ_LZ_TAIL <= block_end) {
            cz_lz_insert(st, p - 2);
        }
    }
    for (uint32_t i = anchor; i < block_end; i++) lits[nl++] = src[i];
    *nlits = nl;
    return nseq;
}

#endif  // CUZSTD_LZ77_CUH
