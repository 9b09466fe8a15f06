// LZ77 match finding of the encoder (host and device), in batches of 32 positions.
//
// The parse of a block walks it in batches: a batch is the positions q_k = p + k * step
// (k < 32, q_k below the block's last 8 bytes), where p is the next position not yet looked
// at and step = 1 + ((p - anchor) >> skip_log) grows through data that does not match. For
// every position of a batch, independently:
//   1. its hash (min_match bytes) gives its candidate: the latest earlier position with the
//      same hash, from this batch if one has it, else from the hash table as it stood before
//      the batch. The table then holds the latest position of the batch for each hash value;
//      with a chain (chain_log > 0) every position links to its candidate.
//   2. its best match: the repeat offsets (`reps` of them, as they stood before the batch, kept
//      from 4 bytes on) and up to search_depth candidates along the chain (kept from min_match
//      bytes on), compared by an estimated gain; lengths are counted up to `cap` bytes.
// Then the parse walks the batch in order: the first position at or past the parse point with
// a match (or, lazy, one of the next 1 or 2 positions when its gain is clearly larger) becomes
// a sequence; a match of `cap` bytes is extended to its full length, every match backward over
// the literals before it; the parse point moves past the match, where the previous offset is
// tried at once (a sequence without literals, as long as it matches 4 bytes or more). The next
// batch starts at the parse point or after the batch's last position, whichever is later.
//
// This is sequential semantics written for a team (decode_team.cuh): a warp computes the 32
// positions of a batch in its 32 lanes (ballot, match_any, shuffles) and walks the results in
// every lane alike; a team of width 1 runs the same steps one position after another. Both give
// the same sequences, so the reference build and the GPU write the same frames.
//
// Positions are indices into the frame's content `src` (dictionary first, if any); a match may
// reach back anywhere before its start in the frame (the window is the whole content). Tables
// hold positions (0 doubles as "empty": a candidate is always verified); 16-bit entries when the
// frame holds at most 65536 bytes, 32-bit otherwise, which changes their size, not what they hold.
#ifndef CUZSTD_LZ77_CUH
#define CUZSTD_LZ77_CUH

#include "portability.cuh"
#include "format.cuh"
#include "fse_common.cuh"
#include "bit_writer.cuh"
#include "decode_team.cuh"

#define CZ_LEVEL_MIN 1
#define CZ_LEVEL_MAX 12
#define CZ_LEVEL_DEFAULT 3
// Matches are looked for at positions with at least this many bytes left in the block
// (the hash reads 8 bytes).
#define CZ_LZ_TAIL 8
// Positions per batch (independent of the team's width).
#define CZ_LZ_BATCH 32

// Parameters of one compression level.
typedef struct cz_lz_params {
    unsigned hash_log;      // log2 of the hash table's entries
    unsigned chain_log;     // log2 of the chain's entries; 0: no chain (one candidate per hash)
    unsigned search_depth;  // candidates examined per position
    unsigned min_match;     // bytes hashed and shortest match kept (4..7)
    unsigned lazy;          // 0: greedy; 1 or 2: also try 1 or 2 positions later
    unsigned cap;           // match lengths are counted up to this in the batch (search stops there)
    unsigned skip_log;      // without a match, the step grows by 1 every 1 << skip_log literals
    unsigned reps;          // repeat offsets tried at every position (1..3)
} cz_lz_params;

// The parameters of `level` (clamped to CZ_LEVEL_MIN..CZ_LEVEL_MAX; 0 means the default),
// with tables no larger than a content of src_size bytes needs.
//
// | level | search                 | depth | min match | tables (log2 entries) |
// | 1     | lazy 1, hash only      | 1     | 6         | hash 11-13 (below)    |
// | 2     | lazy 1, hash only      | 1     | 6         | hash 13               |
// | 3     | lazy 1, hash only      | 1     | 5         | hash 14               |
// | 4     | lazy 1, hash chain     | 2     | 5         | hash 13, chain 16     |
// | 5     | lazy 1, hash chain     | 4     | 5         | hash 14, chain 16     |
// | 6     | lazy 1, hash chain     | 8     | 5         | hash 15, chain 16     |
// | 7     | lazy 2, hash chain     | 16    | 5         | hash 16, chain 17     |
// | 8     | lazy 2, hash chain     | 24    | 5         | hash 16, chain 17     |
// | 9     | lazy 2, hash chain     | 32    | 5         | hash 17, chain 17     |
// | 10-12 | lazy 2, hash chain     | 48-128| 5         | hash 17, chain 18     |
// Lazy matching looks 1 or 2 positions ahead inside the batch (the results are there), so
// it costs the walk only. All levels try the three repeat offsets at every position.
// Level 1's table has one entry per 32 positions of the frame, 2^11 to 2^13 of them (2^11,
// 4 KiB, for frames of up to 64 KiB): on the GPU thousands of frames are encoded at once and their
// tables together outgrow the L2 cache (measured on an H100, 64 KiB chunks: hash 11 against 13
// ran 12 % faster on silesia/xml and 43 % on the Canterbury texts, for ratios 6.175 against
// 6.490 and 2.166 against 2.348). Larger frames keep 2^13 entries: a table that small against
// their many positions loses too much (text of 4096 distinct words in 256 KiB chunks no longer
// compressed 2:1 with 2^11).
CZ_HD inline cz_lz_params cz_lz_level_params(int level, uint64_t src_size) {
    if (level == 0) level = CZ_LEVEL_DEFAULT;
    if (level < CZ_LEVEL_MIN) level = CZ_LEVEL_MIN;
    if (level > CZ_LEVEL_MAX) level = CZ_LEVEL_MAX;
    // hash, chain, depth, min match, lazy, cap, skip, reps
    const uint8_t rows[CZ_LEVEL_MAX][8] = {
        {13, 0, 1, 6, 1, 32, 8, 3},    {13, 0, 1, 6, 1, 32, 8, 3},    {14, 0, 1, 5, 1, 32, 8, 3},
        {13, 16, 2, 5, 1, 32, 8, 3},   {14, 16, 4, 5, 1, 48, 8, 3},   {15, 16, 8, 5, 1, 64, 8, 3},
        {16, 17, 16, 5, 2, 64, 8, 3},  {16, 17, 24, 5, 2, 96, 8, 3},  {17, 17, 32, 5, 2, 96, 8, 3},
        {17, 18, 48, 5, 2, 128, 8, 3}, {17, 18, 64, 5, 2, 192, 8, 3}, {17, 18, 128, 5, 2, 255, 8, 3},
    };
    const uint8_t* row = rows[level - 1];
    cz_lz_params p;
    p.hash_log = row[0];
    p.chain_log = row[1];
    p.search_depth = row[2];
    p.min_match = row[3];
    p.lazy = row[4];
    p.cap = row[5];
    p.skip_log = row[6];
    p.reps = row[7];
    // Tables larger than twice (hash) or once (chain) the content only cost memory.
    unsigned size_log = 1;  // ceil(log2(src_size)), at least 1
    while (size_log < 40 && (1ull << size_log) < src_size) size_log++;
    const unsigned hash_cap = size_log + 1 < 10 ? 10 : size_log + 1;
    const unsigned chain_cap = size_log < 10 ? 10 : size_log;
    if (p.hash_log > hash_cap) p.hash_log = hash_cap;
    if (level == 1) {
        const unsigned per32 = size_log > 16 ? size_log - 5 : 11;  // one entry per 32 positions
        if (p.hash_log > per32) p.hash_log = per32;
    }
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


// Little-endian loads of the match finder. On the GPU from aligned 4-byte words (funnel
// shifts), reading only words that hold at least one of the bytes asked for.
CZ_HD CZ_FORCEINLINE uint32_t cz_lz_read32(const uint8_t* p) {
#if defined(CZ_DEVICE)
    const uintptr_t a = (uintptr_t)p;
    const unsigned* w = reinterpret_cast<const unsigned*>(a & ~(uintptr_t)3);
    const unsigned sh = (unsigned)(a & 3) * 8;
    const unsigned w0 = __ldg(w);
    const unsigned w1 = sh ? __ldg(w + 1) : 0u;
    return __funnelshift_r(w0, w1, sh);
#else
    return cz_read_le32(p);
#endif
}

CZ_HD CZ_FORCEINLINE uint64_t cz_lz_read64(const uint8_t* p) {
#if defined(CZ_DEVICE)
    const uintptr_t a = (uintptr_t)p;
    const unsigned* w = reinterpret_cast<const unsigned*>(a & ~(uintptr_t)3);
    const unsigned sh = (unsigned)(a & 3) * 8;
    const unsigned w0 = __ldg(w), w1 = __ldg(w + 1);
    const unsigned w2 = sh ? __ldg(w + 2) : 0u;
    return ((uint64_t)__funnelshift_r(w1, w2, sh) << 32) | __funnelshift_r(w0, w1, sh);
#else
    return cz_read_le64(p);
#endif
}

// Length of the common prefix of a and b (b < a), not reading at or past `end` from a.
CZ_HD CZ_FORCEINLINE uint32_t cz_lz_count(const uint8_t* a, const uint8_t* b, const uint8_t* end) {
    const uint8_t* const start = a;
    while (a + 8 <= end) {
        const uint64_t diff = cz_lz_read64(a) ^ cz_lz_read64(b);
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

// cz_lz_count by a whole team: 8 bytes per lane and round. Same result at every width.
CZ_HD inline uint32_t cz_team_match_len(cz_team t, const uint8_t* a, const uint8_t* b, const uint8_t* end) {
    if (t.width == 1) return cz_lz_count(a, b, end);
    const size_t total = (size_t)(end - a);
    size_t done = 0;
    for (;;) {
        const size_t at = done + 8 * (size_t)t.lane;
        uint32_t len = 0;  // bytes equal from `at`, 8 meaning all of them
        if (at + 8 <= total) {
            const uint64_t diff = cz_lz_read64(a + at) ^ cz_lz_read64(b + at);
            len = diff ? cz_ctz64(diff) >> 3 : 8;
        } else if (at < total) {
            while (at + len < total && a[at + len] == b[at + len]) len++;
        }
        const uint32_t stop = cz_team_ballot(t, len < 8);
        if (stop) {
            const unsigned f = cz_lowbit32(stop);
            return (uint32_t)(done + 8 * f + cz_team_shfl32(t, len, f));
        }
        done += 8 * (size_t)t.width;
    }
}

// Hash of the first min_match bytes of `bytes` (8 bytes read little-endian).
CZ_HD CZ_FORCEINLINE uint32_t cz_lz_hash_of(uint64_t bytes, unsigned min_match, unsigned hash_log) {
    const uint64_t v = bytes << (64 - 8 * min_match);
    return (uint32_t)((v * 0xCF1BBCDCB7A56463ull) >> (64 - hash_log));
}

CZ_HD CZ_FORCEINLINE uint32_t cz_lz_hash(const uint8_t* p, unsigned min_match, unsigned hash_log) {
    return cz_lz_hash_of(cz_lz_read64(p), min_match, hash_log);
}

// The hash table: 16-bit entries (h16) when every position fits, else 32-bit (h32).
typedef struct cz_lz_table {
    uint16_t* h16;
    uint32_t* h32;
} cz_lz_table;

CZ_HD CZ_FORCEINLINE uint32_t cz_lz_table_get(cz_lz_table t, uint32_t h) { return t.h16 ? t.h16[h] : t.h32[h]; }

CZ_HD CZ_FORCEINLINE void cz_lz_table_set(cz_lz_table t, uint32_t h, uint32_t pos) {
    if (t.h16) {
        t.h16[h] = (uint16_t)pos;
    } else {
        t.h32[h] = pos;
    }
}

typedef struct cz_lz_state {
    const uint8_t* src;  // the frame's content
    cz_lz_table head;    // 1 << hash_log entries
    uint32_t* chain;     // 1 << chain_log entries, or null
    cz_lz_params prm;
} cz_lz_state;

// Indexes position pos (dictionaries: one at a time, in order).
CZ_HD CZ_FORCEINLINE void cz_lz_insert(cz_lz_state* st, uint32_t pos) {
    const uint32_t h = cz_lz_hash(st->src + pos, st->prm.min_match, st->prm.hash_log);
    const uint32_t old = cz_lz_table_get(st->head, h);
    if (st->chain) st->chain[pos & ((1u << st->prm.chain_log) - 1)] = old;
    cz_lz_table_set(st->head, h, pos);
}

CZ_HD CZ_FORCEINLINE int32_t cz_lz_gain(uint32_t len, uint32_t off_base) {
    return (int32_t)(4 * len) - (int32_t)cz_highbit32(off_base);
}

typedef struct cz_lz_match {
    uint32_t len;     // 0: none
    uint32_t offset;  // distance back
    int32_t gain;     // estimated bits saved, for comparing candidates
} cz_lz_match;

// Step 2 of a batch for position q (q + CZ_LZ_TAIL <= block_end; here: its first 8 bytes)
// whose first candidate is cand, once the batch up to position `last` is in the tables: the best match, lengths
// counted up to prm.cap bytes and block_end.
CZ_HD inline cz_lz_match cz_lz_probe(const cz_lz_state* st, uint32_t q, uint64_t here, uint32_t cand,
                                     uint32_t last, uint32_t block_end, const uint32_t* rep) {
    const uint8_t* src = st->src;
    const uint8_t* ip = src + q;
    const uint8_t* lim = src + (block_end - q > st->prm.cap ? q + st->prm.cap : block_end);
    cz_lz_match best;
    best.len = 0;
    best.offset = 0;
    best.gain = 0;
    // Repeat offsets: 4-byte checks first (cheaper than 8-byte loads on the GPU: measured
    // 9.5 against 8.7 GB/s at level 3 on an H100).
    const uint32_t here32 = (uint32_t)here;
    for (unsigned i = 0; i < st->prm.reps; i++) {
        const uint32_t r = rep[i];
        if (r == 0 || r > q) continue;
        if (here32 != cz_lz_read32(ip - r)) continue;
        const uint32_t len = cz_lz_count(ip, ip - r, lim);
        const int32_t g = cz_lz_gain(len, i + 1);
        if (g > best.gain) {
            best.len = len;
            best.offset = r;
            best.gain = g;
        }
    }
    const uint32_t chain_size = st->chain ? 1u << st->prm.chain_log : 0;
    const uint32_t chain_mask = chain_size - 1;
    uint32_t c = cand;
    for (unsigned attempts = st->prm.search_depth; attempts > 0; attempts--) {
        if (c >= q) break;
        if (cz_lz_read32(src + c) == here32) {
            const uint32_t len = cz_lz_count(ip, src + c, lim);
            if (len >= st->prm.min_match) {
                const int32_t g = cz_lz_gain(len, q - c + 3);
                if (g > best.gain) {
                    best.len = len;
                    best.offset = q - c;
                    best.gain = g;
                    if (ip + len == lim) break;
                }
            }
        }
        if (!st->chain || c + chain_size <= last) break;  // no chain, or c's link was overwritten
        const uint32_t next = st->chain[c & chain_mask];
        if (next >= c) break;
        c = next;
    }
    return best;
}

// Parses src[block_start .. block_end) into sequences (appended to seqs, at most max_seqs)
// and literals (appended to lits, at most block_end - block_start bytes). rep[] holds the
// repeat offsets on entry and is updated as the decoder will update it. Returns the number
// of sequences; *nlits receives the number of literals (the last run, after the last
// sequence, included). Every lane of the team calls with the same arguments and gets the
// same results; lane 0 writes seqs, the lanes share the literal copies.
CZ_HD inline uint32_t cz_lz_parse_block(cz_team team, cz_lz_state* st, uint32_t block_start, uint32_t block_end,
                                        uint32_t* rep, cz_seq* seqs, uint32_t max_seqs, uint8_t* lits,
                                        uint32_t* nlits) {
    const uint8_t* src = st->src;
    const cz_lz_params prm = st->prm;
    uint32_t anchor = block_start;
    uint32_t p = block_start;
    uint32_t nseq = 0;
    uint32_t nl = 0;
    const uint32_t limit = block_end >= block_start + CZ_LZ_TAIL ? block_end - CZ_LZ_TAIL : block_start;
    const uint32_t chain_mask = prm.chain_log ? (1u << prm.chain_log) - 1 : 0;
    // Width 1: the batch's results, position by position.
    uint32_t one_len[CZ_LZ_BATCH], one_off[CZ_LZ_BATCH];
    int32_t one_gain[CZ_LZ_BATCH];
    while (p < limit && nseq < max_seqs) {
        const uint32_t step = 1 + ((p - anchor) >> prm.skip_log);
        const uint32_t span = step == 1 ? limit - p : (limit - p + step - 1) / step;
        const unsigned count = span < CZ_LZ_BATCH ? span : CZ_LZ_BATCH;
        const uint32_t last = p + (count - 1) * step;  // the batch's last position
        const uint32_t rep0[3] = {rep[0], rep[1], rep[2]};
        uint32_t found = 0;
        cz_lz_match mine;  // this lane's position (warp teams)
        mine.len = 0;
        mine.offset = 0;
        mine.gain = 0;
        if (team.width == 1) {
            // Every position of the batch enters the tables before any is searched, as in a warp.
            for (unsigned k = 0; k < count; k++) {
                const uint32_t q = p + k * step;
                const uint32_t h = cz_lz_hash(src + q, prm.min_match, prm.hash_log);
                one_off[k] = cz_lz_table_get(st->head, h);
                cz_lz_table_set(st->head, h, q);
                if (st->chain) st->chain[q & chain_mask] = one_off[k];
            }
            for (unsigned k = 0; k < count; k++) {
                const uint32_t q = p + k * step;
                const cz_lz_match m = cz_lz_probe(st, q, cz_lz_read64(src + q), one_off[k], last, block_end, rep0);
                one_len[k] = m.len;
                one_off[k] = m.offset;
                one_gain[k] = m.gain;
                if (m.len) found |= 1u << k;
            }
        } else {
#if defined(CZ_DEVICE)
            const unsigned k = team.lane;
            const bool valid = k < count;
            const uint32_t q = p + k * step;
            const uint64_t here = valid ? cz_lz_read64(src + q) : 0;
            const uint32_t h = valid ? cz_lz_hash_of(here, prm.min_match, prm.hash_log) : 0xFFFFFFFFu;
            const uint32_t peers = __match_any_sync(CZ_TEAM_FULL_MASK, h);
            const uint32_t lower = peers & ((1u << k) - 1);
            const uint32_t old = valid ? cz_lz_table_get(st->head, h) : 0;
            const uint32_t cand = lower ? p + (31 - __clz(lower)) * step : old;
            __syncwarp();
            const uint32_t higher = k == 31 ? 0u : peers & (~0u << (k + 1));
            if (valid && !higher) cz_lz_table_set(st->head, h, q);
            if (valid && st->chain) st->chain[q & chain_mask] = cand;
            __syncwarp();
            if (valid) mine = cz_lz_probe(st, q, here, cand, last, block_end, rep0);
            found = __ballot_sync(CZ_TEAM_FULL_MASK, mine.len != 0);
#endif
        }
        // The walk, identical in every lane.
        uint32_t cur = p;
        bool full = false;
        for (;;) {
            const uint32_t kmin = cur <= p ? 0 : step == 1 ? cur - p : (cur - p + step - 1) / step;
            const uint32_t avail = kmin >= count ? 0u : found & (~0u << kmin);
            if (!avail) break;
            unsigned k = cz_lowbit32(avail);
            uint32_t len, off;
            int32_t gain;
            // Position k's result, from lane k (called by every lane alike).
            auto fetch = [&](unsigned from) {
                if (team.width == 1) {
                    len = one_len[from];
                    off = one_off[from];
                    gain = one_gain[from];
                } else {
                    len = cz_team_shfl32(team, mine.len, from);
                    off = cz_team_shfl32(team, mine.offset, from);
                    gain = (int32_t)cz_team_shfl32(team, (uint32_t)mine.gain, from);
                }
            };
            fetch(k);
            if (prm.lazy && step == 1) {
                // A later start that gains enough replaces the current match.
                for (;;) {
                    const unsigned k1 = k + 1 < CZ_LZ_BATCH ? k + 1 : k;
                    const unsigned k2 = k + 2 < CZ_LZ_BATCH ? k + 2 : k;
                    int32_t g1, g2;
                    if (team.width == 1) {
                        g1 = one_gain[k1];
                        g2 = one_gain[k2];
                    } else {
                        g1 = (int32_t)cz_team_shfl32(team, (uint32_t)mine.gain, k1);
                        g2 = (int32_t)cz_team_shfl32(team, (uint32_t)mine.gain, k2);
                    }
                    unsigned to = k;
                    if (k + 1 < count && ((found >> (k + 1)) & 1u) && g1 > gain + 4) {
                        to = k + 1;
                    } else if (prm.lazy >= 2 && k + 2 < count && ((found >> (k + 2)) & 1u) && g2 > gain + 7) {
                        to = k + 2;
                    }
                    if (to == k) break;
                    k = to;
                    fetch(k);
                }
            }
            const uint32_t q = p + k * step;
            // A match counted up to the cap may go on.
            if (len >= prm.cap) len = cz_team_match_len(team, src + q, src + q - off, src + block_end);
            // Extend backward over literals that match too.
            uint32_t start = q;
            while (start > anchor && start > off && src[start - 1] == src[start - 1 - off]) {
                start--;
                len++;
            }
            const uint32_t ll = start - anchor;
            cz_team_copy(team, lits + nl, src + anchor, ll);
            nl += ll;
            const uint32_t off_base = cz_encode_offset(rep, off, ll);
            if (team.lane == 0) {
                seqs[nseq].lit_len = ll;
                seqs[nseq].match_len = len;
                seqs[nseq].off_base = off_base;
            }
            nseq++;
            cur = start + len;
            anchor = cur;
            // Right after a match, the previous offset (now rep[1]) often goes on: try it as a
            // sequence without literals.
            while (nseq < max_seqs && cur < limit && rep[1] <= cur &&
                   cz_lz_read32(src + cur) == cz_lz_read32(src + cur - rep[1])) {
                const uint32_t r = rep[1];
                const uint32_t rlen = cz_team_match_len(team, src + cur, src + cur - r, src + block_end);
                const uint32_t rb = cz_encode_offset(rep, r, 0);
                if (team.lane == 0) {
                    seqs[nseq].lit_len = 0;
                    seqs[nseq].match_len = rlen;
                    seqs[nseq].off_base = rb;
                }
                nseq++;
                cur += rlen;
                anchor = cur;
            }
            if (nseq >= max_seqs) {
                full = true;
                break;
            }
        }
        const uint32_t next = p + count * step;
        p = cur > next ? cur : next;
        if (full) break;
    }
    cz_team_copy(team, lits + nl, src + anchor, block_end - anchor);
    nl += block_end - anchor;
    *nlits = nl;
    return nseq;
}

#endif  // CUZSTD_LZ77_CUH
