// The staged decoder: one frame decoded in three passes so that a batch can give each pass
// the parallelism it has (host and device; the kernels are in frame_decode.cu).
//
//   1. literals  (a team per item): checks the frame's structure and decodes every block's
//      literals (raw and RLE blocks count as literals) into one stream placed at the end of
//      the item's output, dst[lit_at .. content_size).
//   2. sequences (one thread per item): decodes every sequence of the frame (FSE states,
//      repeat offsets) into the item's slot as (literal length, match length, offset);
//      the literals a block leaves after its last sequence, and raw and RLE blocks, become
//      sequences with no match. Thread-per-item lets a warp decode 32 frames' bitstreams in
//      the instructions one frame costs a warp-per-item decoder.
//   3. execute   (a team per item): copies literals and matches to dst[0 .. content_size)
//      (cz_exec_batch, 32 sequences at a time), checks the size and the checksum.
//
// Executing in place is safe: when literal g is consumed, the output written so far is g
// plus the match bytes before it, never more than its position content_size - L + g (L
// literals in all) because the match bytes before it are at most content_size - L. So
// every write lands at or before the literal bytes still to be read.
//
// Only plain items take the staged path: one Zstandard frame, no dictionary, a
// Frame_Content_Size within the output capacity, the window within max_window_size, and no
// more sequences than the slot holds. Anything else, and any error found by a pass, sends
// the item to cz_decode_all (the fallback), which gives every status and output exactly as
// the warp decoder does; the passes only have to be right on frames they accept.
#ifndef CUZSTD_STAGED_DECODE_CUH
#define CUZSTD_STAGED_DECODE_CUH

#include "frame_decode.cuh"

#define CZ_STAGED_FALLBACK 0u  // decode the item with cz_decode_all
#define CZ_STAGED_READY 1u     // passes so far succeeded

// What the passes tell each other about one item; at the start of its slot.
typedef struct cz_staged_state {
    uint64_t content_size;
    uint64_t lit_at;       // the literal stream is dst[lit_at .. content_size)
    uint64_t checksum_at;  // offset in src of the frame's checksum, or ~0 without one
    uint64_t tables_at;    // offset in src of the block whose tables pass 1 built, or ~0
    uint32_t tables_used;  // that block's table descriptions: bytes after the Sequences header
    uint32_t mode;         // CZ_STAGED_*
    uint32_t nseq;         // sequences in the slot (pass 2)
    uint32_t work;         // pass 1: the item's sequences (0 unless READY), a measure of pass 2's work
    uint32_t order;        // the item pass 2's thread for this slot decodes (cz_staged_order)
} cz_staged_state;

// One decoded sequence, as pass 2 stores it and pass 3 loads it (one 8-byte access): the
// literal length in bits 0-17, the match length in bits 18-35 (both at most 2^17 + 3), the
// offset in bits 36-63 (below 2^28; pass 2 leaves an item with a larger one to the fallback).
typedef uint64_t cz_staged_seq;
#define CZ_STAGED_OFFSET_LIMIT (1u << 28)

CZ_HD CZ_FORCEINLINE cz_staged_seq cz_staged_pack(uint32_t ll, uint32_t ml, uint32_t off) {
    return (uint64_t)ll | ((uint64_t)ml << 18) | ((uint64_t)off << 36);
}

// An item's slot during staged decoding: it overlays the workspace slot cz_decode_all
// would use (the fallback overwrites it). The sequences fill the rest of the slot.
typedef struct cz_staged_slot {
    cz_staged_state state;
    union {
        cz_huf_scratch huf;
        cz_seq_scratch seq;
    } scratch;
    alignas(16) cz_seq_tables tables;
    cz_staged_seq seq[1];
} cz_staged_slot;

// Sequences a slot of slot_size bytes holds.
CZ_HD CZ_FORCEINLINE uint64_t cz_staged_capacity(uint64_t slot_size) {
    const uint64_t head = (uint64_t)offsetof(cz_staged_slot, seq);
    return slot_size > head ? (slot_size - head) / sizeof(cz_staged_seq) : 0;
}

// The literal-length and match-length codes as pass 2 reads them: code c's baseline in
// bits 0-23 and its extra-bit count in bits 24-31 (shared memory on the device, where lanes
// indexing different codes do not serialize as they do on __constant__ memory).
typedef struct cz_seq_codes {
    uint32_t ll[CZ_LL_MAX_SYMBOL + 1];
    uint32_t ml[CZ_ML_MAX_SYMBOL + 1];
} cz_seq_codes;

// Thread `first` of `step` fills its share of *c.
CZ_HD CZ_FORCEINLINE void cz_seq_codes_fill(cz_seq_codes* c, uint32_t first, uint32_t step) {
    for (uint32_t i = first; i <= CZ_ML_MAX_SYMBOL; i += step) {
        c->ml[i] = cz_ml_baseline[i] | ((uint32_t)cz_ml_extra_bits[i] << 24);
        if (i <= CZ_LL_MAX_SYMBOL) c->ll[i] = cz_ll_baseline[i] | ((uint32_t)cz_ll_extra_bits[i] << 24);
    }
}

// Words of a lane's read-ahead ring (cz_lane_reader), and the ring's stride between lanes
// in shared memory (one word more, so that lanes reading the same slot use different banks).
#define CZ_LR_RING 8
#define CZ_LR_RING_STRIDE (CZ_LR_RING + 1)
// Words requested ahead of the one a shift consumes.
#define CZ_LR_AHEAD 4

// A backward bit reader for one thread over a stream inside an item item[0 .. item_size).
// It holds 192 bits of the stream in three aligned 64-bit words, b0 (lowest) to b2, and
// has the next CZ_LR_AHEAD words below them on their way into a ring of CZ_LR_RING words
// (word k in ring[k % CZ_LR_RING]; shared memory on the device, filled by asynchronous
// copies that no register waits on), so that a shift waits only on a load issued
// CZ_LR_AHEAD shifts before it. Before each sequence (cz_lr_fill) it shifts words in until
// more than 128 bits lie below the read position, enough for the at most
// 31 + 16 + 16 + 9 + 9 + 8 = 89 bits a sequence reads. A word that crosses the item's ends
// is assembled from its bytes inside; bytes outside are never loaded (they read as zeros).
// Reading past the stream's start returns bits of whatever precedes it and is caught by
// cz_lr_finished.
typedef struct cz_lane_reader {
    uintptr_t a;       // the stream's address rounded down to 8 bytes: word k is at a + 8k
    int64_t a_off;     // a minus the item's address
    int64_t size;      // the item's size
    int64_t first;     // the stream's first bit, counted from a
    int32_t kb;        // b0 is word kb
    int32_t rel;       // bits of the buffer below the read position (the position is 64 kb + rel)
    uint64_t b0, b1, b2;  // words kb, kb + 1, kb + 2
    uint64_t* ring;       // CZ_LR_RING words; kb - 1 .. kb - CZ_LR_AHEAD are requested
} cz_lane_reader;

CZ_HD CZ_FORCEINLINE bool cz_lr_inside(const cz_lane_reader* r, int32_t k) {
    const int64_t at = r->a_off + 8 * (int64_t)k;
    return at >= 0 && at + 8 <= r->size;
}

// Word k of the stream, assembled from the bytes inside the item (zeros elsewhere).
CZ_HD inline uint64_t cz_lr_edge_word(const cz_lane_reader* r, int32_t k) {
    const int64_t at = r->a_off + 8 * (int64_t)k;
    uint64_t v = 0;
    for (int64_t b = 0; b < 8; b++) {
        if (at + b >= 0 && at + b < r->size)
            v |= (uint64_t) * reinterpret_cast<const uint8_t*>(r->a + (uintptr_t)(8 * (int64_t)k + b)) << (8 * b);
    }
    return v;
}

// Word k now (the buffer's first words).
CZ_HD CZ_FORCEINLINE uint64_t cz_lr_word(const cz_lane_reader* r, int32_t k) {
    if (cz_lr_inside(r, k)) return *reinterpret_cast<const uint64_t*>(r->a + (uintptr_t)(8 * (int64_t)k));
    return cz_lr_edge_word(r, k);
}

// Requests word k into its ring slot (on the device one group of asynchronous copies).
CZ_HD CZ_FORCEINLINE void cz_lr_request(cz_lane_reader* r, int32_t k) {
    uint64_t* const slot = r->ring + ((uint32_t)k % CZ_LR_RING);
#if defined(CZ_DEVICE)
    if (cz_lr_inside(r, k)) {
        const unsigned dst = (unsigned)__cvta_generic_to_shared(slot);
        const void* src = reinterpret_cast<const void*>(r->a + (uintptr_t)(8 * (int64_t)k));
        asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(dst), "l"(src) : "memory");
    } else {
        *slot = cz_lr_edge_word(r, k);
    }
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#else
    *slot = cz_lr_word(r, k);
#endif
}

// Waits for every requested word: before the ring is given to another reader.
CZ_HD CZ_FORCEINLINE void cz_lr_drain() {
#if defined(CZ_DEVICE)
    asm volatile("cp.async.wait_all;\n" ::: "memory");
#endif
}

// Shifts one word into the buffer when 128 or fewer bits lie below the read position.
CZ_HD CZ_FORCEINLINE void cz_lr_shift(cz_lane_reader* r) {
    if (r->rel <= 128) {
        r->rel += 64;
        r->kb -= 1;
        r->b2 = r->b1;
        r->b1 = r->b0;
#if defined(CZ_DEVICE)
        // Word kb is the oldest of the CZ_LR_AHEAD groups in flight.
        asm volatile("cp.async.wait_group %0;\n" ::"n"(CZ_LR_AHEAD - 1) : "memory");
#endif
        r->b0 = r->ring[(uint32_t)r->kb % CZ_LR_RING];
        cz_lr_request(r, r->kb - CZ_LR_AHEAD);
    }
}

// Before a sequence (at least 40 bits lie below the read position: more than 128 after the
// previous fill, at most 89 read since): afterwards more than 128 do. The second shift is
// needed only after a sequence that read more than 64 bits.
CZ_HD CZ_FORCEINLINE void cz_lr_fill(cz_lane_reader* r) {
    cz_lr_shift(r);
    cz_lr_shift(r);
}

// Starts reading stream[0 .. size) (inside the item) with `ring` (CZ_LR_RING words, no
// copies into it in flight); false for an empty stream or a last byte without its end
// marker.
CZ_HD CZ_FORCEINLINE bool cz_lr_init(cz_lane_reader* r, const uint8_t* stream, size_t size, const uint8_t* item,
                                     size_t item_size, uint64_t* ring) {
    if (size < 1 || stream[size - 1] == 0) return false;
    const uintptr_t s = reinterpret_cast<uintptr_t>(stream);
    r->a = s & ~(uintptr_t)7;
    r->a_off = (int64_t)(r->a - reinterpret_cast<uintptr_t>(item));
    r->size = (int64_t)item_size;
    r->ring = ring;
    const int64_t delta = (int64_t)(s - r->a);
    r->first = delta * 8;
    const int64_t pos = (delta + (int64_t)size - 1) * 8 + (int64_t)cz_highbit32(stream[size - 1]);
    // The word holding bit pos - 1 on top, two below it.
    const int32_t w = (int32_t)((pos - 1) >> 6);
    r->kb = w - 2;
    r->rel = (int32_t)(pos - 64 * (int64_t)r->kb);
    for (int32_t j = 1; j <= CZ_LR_AHEAD; j++) cz_lr_request(r, r->kb - j);
    r->b0 = cz_lr_word(r, w - 2);
    r->b1 = cz_lr_word(r, w - 1);
    r->b2 = cz_lr_word(r, w);
    return true;
}

// Bits [p, p + n) of the buffer (0 <= p, p + n <= 192, n <= 32).
CZ_HD CZ_FORCEINLINE uint32_t cz_lr_bits(const cz_lane_reader* r, int32_t p, unsigned n) {
    const uint64_t lo = p < 64 ? r->b0 : p < 128 ? r->b1 : r->b2;
    const uint64_t hi = p < 64 ? r->b1 : p < 128 ? r->b2 : 0;
    const unsigned q = (unsigned)p & 63;
    const uint64_t v = (lo >> q) | ((hi << 1) << (63 - q));
    return (uint32_t)v & (uint32_t)((1ull << n) - 1);
}

// The next n (<= 32) bits: at most 128 bits may be read after a fill (with 40 or more below
// the read position before it, as cz_lr_fill leaves them).
CZ_HD CZ_FORCEINLINE uint32_t cz_lr_read(cz_lane_reader* r, unsigned n) {
    r->rel -= (int32_t)n;
    return cz_lr_bits(r, r->rel, n);
}

// The 64 bits below the read position after a fill (which leaves it in (128, 192]).
CZ_HD CZ_FORCEINLINE uint64_t cz_lr_top64(const cz_lane_reader* r) {
    const unsigned q = (unsigned)(r->rel - 128);  // 1..64: bits [64 + q, 128 + q) of the buffer
    return ((r->b1 >> 1) >> (q - 1)) | (r->b2 << (64 - q));
}

// Bits [q, q + n) of w (n <= 31; q may be 64 when n is 0).
CZ_HD CZ_FORCEINLINE uint32_t cz_bits64(uint64_t w, unsigned q, unsigned n) {
    return (uint32_t)(w >> (q & 63)) & ((1u << n) - 1);
}

// One sequence's six reads after a fill, in stream order: w[0..6) bits each with
// w[0] + w[1] + w[2] <= 63 (extra bits: offset <= 31, lengths <= 16 each) and
// w[3] + w[4] + w[5] <= 32 (states: <= 9, 9, 8), the values into v[0..6). The first three
// come from the 64 bits below the read position, the last three from the 32 bits below the
// first three, so that no read waits on another.
CZ_HD CZ_FORCEINLINE void cz_lr_sequence(cz_lane_reader* r, const unsigned w[6], uint32_t v[6]) {
    const uint64_t top = cz_lr_top64(r);
    const unsigned q0 = 64 - w[0], q1 = q0 - w[1], q2 = q1 - w[2];
    v[0] = cz_bits64(top, q0, w[0]);
    v[1] = cz_bits64(top, q1, w[1]);
    v[2] = cz_bits64(top, q2, w[2]);
    const int32_t p3 = r->rel - (int32_t)(64 - q2);
    const uint64_t low = cz_lr_bits(r, p3 - 32, 32);
    const unsigned q3 = 32 - w[3], q4 = q3 - w[4], q5 = q4 - w[5];
    v[3] = cz_bits64(low, q3, w[3]);
    v[4] = cz_bits64(low, q4, w[4]);
    v[5] = cz_bits64(low, q5, w[5]);
    r->rel = p3 - (int32_t)(32 - q5);
}

// A lane's sequence tables in pass 2: one 16-bit entry per state, the state's symbol (bits
// 10-15) and x (bits 0-9), the number whose top bit gives the state's bit count, log -
// highbit(x), and whose shift by it the next state's base, (x << bits) - 2^log. LL at
// [0, 512), OF at [512, 768), ML at [768, 1280); lanes' tables are CZ_LANE_TABLE_STRIDE
// entries apart (two more than their size, so that lanes reading the same state use
// different banks).
#define CZ_LANE_TABLE_OF 512u
#define CZ_LANE_TABLE_ML 768u
#define CZ_LANE_TABLE_ENTRIES 1280u
#define CZ_LANE_TABLE_STRIDE 1282u

// Table t (2^log states) into dst[0 .. 2^log).
CZ_HD inline void cz_lane_table_fill(const cz_fse_dentry* t, unsigned log, uint16_t* dst) {
    const uint32_t size = 1u << log;
    for (uint32_t i = 0; i < size; i++) {
        const uint32_t w = *reinterpret_cast<const uint32_t*>(t + i);  // (16-byte aligned tables)
        const uint32_t nb = w >> 24, sym = (w >> 16) & 0xff;
        dst[i] = (uint16_t)((((w & 0xffff) + size) >> nb) | (sym << 10));
    }
}

// Every bit consumed, none more.
CZ_HD CZ_FORCEINLINE bool cz_lr_finished(const cz_lane_reader* r) {
    return 64 * (int64_t)r->kb + r->rel == r->first;
}

// Pass 2's table work for one block, done in pass 1 where a team shares it: the Sequences
// section sec[0 .. size) of a block is parsed and, when it has sequences, lane 0 reads the
// table descriptions and the team builds the FSE tables (slot->tables, with the predefined
// ones copied). *used gets the descriptions' size. Returns false for a section pass 2 would
// reject; true with *has_seq false when the block has none.
CZ_HD inline bool cz_staged_tables(cz_team team, const uint8_t* sec, size_t size, cz_staged_slot* slot,
                                   bool* has_seq, uint32_t* used) {
    uint32_t nb_seq = 0;
    uint8_t modes = 0;
    size_t sp = 0;
    *has_seq = false;
    *used = 0;
    if (cz_parse_sequences_header(sec, size, &nb_seq, &modes, &sp) != CZ_STATUS_OK) return false;
    if (nb_seq == 0) return true;
    cz_seq_tables* const t = &slot->tables;
    cz_seq_copy_predefined(team, modes, t);
    uint32_t st = CZ_STATUS_OK;
    size_t u = 0;
    if (team.lane == 0) st = cz_seq_read_tables(modes, sec + sp, size - sp, t, &slot->scratch.seq, &u, true, true);
    st = cz_team_shfl32(team, st, 0);
    u = (size_t)cz_team_shfl64(team, u, 0);
    cz_team_sync(team);
    if (st != CZ_STATUS_OK) return false;
    cz_seq_build_tables(modes, t, &slot->scratch.seq, team);
    cz_team_sync(team);
    *has_seq = true;
    *used = (uint32_t)u;
    return true;
}

// Pass 1 for the item src[0 .. src_size) -> dst[0 .. dst_capacity). `huf_table` holds
// CZ_HUF_DTABLE_SIZE entries (shared memory on the device). Sets slot->state, and builds the
// sequence tables of the first block that has sequences (cz_staged_tables).
CZ_HD inline void cz_staged_literals(cz_team team, const uint8_t* src, size_t src_size, uint8_t* dst,
                                     size_t dst_capacity, size_t dict_size, uint64_t max_window_size,
                                     cz_staged_slot* slot, uint16_t* huf_table) {
    cz_staged_state s;
    s.mode = CZ_STAGED_FALLBACK;
    s.nseq = 0;
    s.content_size = 0;
    s.lit_at = 0;
    s.checksum_at = ~0ull;
    s.tables_at = ~0ull;
    s.tables_used = 0;
    s.work = 0;
    s.order = 0;
    if (team.lane == 0) slot->tables.valid = 0;
    cz_frame_header h;
    // Structure: one Zstandard frame with a content size, no dictionary, and the blocks
    // and checksum filling src exactly. L: the literals of all blocks.
    bool ok = dict_size == 0 && dst != nullptr && src_size >= 5 &&
              cz_parse_frame_header(src, src_size, &h) == CZ_STATUS_OK && h.dict_id == 0 &&
              h.content_size != CZ_CONTENT_SIZE_UNKNOWN && h.content_size <= dst_capacity &&
              (max_window_size == CZ_WINDOW_UNLIMITED || h.window_size <= max_window_size);
    const size_t block_max = ok ? (h.window_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.window_size : CZ_BLOCK_SIZE_MAX) : 0;
    uint64_t total = 0, work = 0;
    size_t ip = ok ? h.header_size : 0;
    while (ok) {
        if (src_size - ip < CZ_BLOCK_HEADER_SIZE) {
            ok = false;
            break;
        }
        const uint32_t bh = cz_read_le16(src + ip) | ((uint32_t)src[ip + 2] << 16);
        ip += CZ_BLOCK_HEADER_SIZE;
        const unsigned type = (bh >> 1) & 3;
        const size_t bsize = bh >> 3;
        const size_t csize = type == CZ_BLOCK_RLE ? 1 : bsize;
        // (libzstd 1.5.6 copies raw and RLE blocks over the maximum size; the fallback does
        // as it does, the records here hold at most 18-bit literal runs.)
        if (type == CZ_BLOCK_RESERVED || csize > src_size - ip || bsize > block_max) {
            ok = false;
            break;
        }
        if (type == CZ_BLOCK_COMPRESSED) {
            cz_literals_header lh;
            if (cz_parse_literals_header(src + ip, bsize, block_max, &lh) != CZ_STATUS_OK) {
                ok = false;
                break;
            }
            total += lh.n;
            uint32_t nb_seq = 0;
            uint8_t modes = 0;
            size_t sp = 0;
            if (cz_parse_sequences_header(src + ip + lh.section, bsize - lh.section, &nb_seq, &modes, &sp) ==
                CZ_STATUS_OK)
                work += nb_seq;
        } else {
            total += bsize;
        }
        work += 1;  // the block's literal run
        ip += csize;
        if (bh & 1) break;
    }
    if (ok && h.checksum) {
        s.checksum_at = ip;
        ip += CZ_CHECKSUM_SIZE;
    }
    ok = ok && ip == src_size && total <= h.content_size;
    if (ok) {
        s.content_size = h.content_size;
        s.lit_at = h.content_size - total;
        // Pass over the blocks again, writing the literal stream.
        uint8_t* lits = dst + s.lit_at;
        uint32_t huf_log = 0, huf_valid = 0;
        ip = h.header_size;
        for (;;) {
            const uint32_t bh = cz_read_le16(src + ip) | ((uint32_t)src[ip + 2] << 16);
            ip += CZ_BLOCK_HEADER_SIZE;
            const unsigned type = (bh >> 1) & 3;
            const size_t bsize = bh >> 3;
            if (type == CZ_BLOCK_RLE) {
                cz_team_fill(team, lits, src[ip], bsize);
                lits += bsize;
                ip += 1;
            } else if (type == CZ_BLOCK_RAW) {
                cz_team_copy(team, lits, src + ip, bsize);
                lits += bsize;
                ip += bsize;
            } else {
                cz_literals_header lh;
                cz_parse_literals_header(src + ip, bsize, block_max, &lh);
                if (lh.type == CZ_LITERALS_RAW) {
                    cz_team_copy(team, lits, src + ip + lh.hsize, lh.n);
                } else if (lh.type == CZ_LITERALS_RLE) {
                    cz_team_fill(team, lits, src[ip + lh.hsize], lh.n);
                } else if (cz_decode_huffman_literals(src + ip, &lh, huf_table, &huf_log, &huf_valid,
                                                      &slot->scratch.huf, lits, team) != CZ_STATUS_OK) {
                    ok = false;
                    break;
                }
                if (s.tables_at == ~0ull) {
                    // (The Huffman scratch is free again: the union holds the sequences' now.)
                    cz_team_sync(team);
                    bool has_seq = false;
                    uint32_t used = 0;
                    if (!cz_staged_tables(team, src + ip + lh.section, bsize - lh.section, slot, &has_seq, &used)) {
                        ok = false;
                        break;
                    }
                    if (has_seq) {
                        s.tables_at = ip;
                        s.tables_used = used;
                    }
                }
                lits += lh.n;
                ip += bsize;
            }
            if (bh & 1) break;
        }
    }
    if (ok) {
        s.mode = CZ_STAGED_READY;
        s.work = work < 0xffffffffu ? (uint32_t)work : 0xffffffffu;
    }
    cz_team_sync(team);
    if (team.lane == 0) slot->state = s;
    cz_team_sync(team);
}

// True when p holds in any lane of the calling warp (device; every lane calls), or p (host).
CZ_HD CZ_FORCEINLINE bool cz_lanes_any(bool p) {
#if defined(CZ_DEVICE)
    return __any_sync(CZ_TEAM_FULL_MASK, p);
#else
    return p;
#endif
}

// The ordering of pass 2's items (cz_decode_staged_order, device only): counting sort by
// work, most first, in CZ_ORDER_BUCKETS buckets of 2^CZ_ORDER_SHIFT sequences (the last
// taking everything above).
#define CZ_ORDER_BUCKETS 1024u
#define CZ_ORDER_SHIFT 5u

CZ_HD CZ_FORCEINLINE uint32_t cz_order_bucket(uint32_t work) {
    const uint32_t b = work >> CZ_ORDER_SHIFT;
    return CZ_ORDER_BUCKETS - 1 - (b < CZ_ORDER_BUCKETS - 1 ? b : CZ_ORDER_BUCKETS - 1);
}

// The next block of an item pass 1 accepted, as pass 2 walks it (both forms): the header
// at src + *ip is read and *ip moved past the block. A raw or RLE block is a run of `lits`
// literals; a compressed block (content at `block`) has `lits` literals and its Sequences
// section sec[0 .. size).
typedef struct cz_staged_block {
    const uint8_t* block;
    const uint8_t* sec;
    size_t size;
    uint64_t lits;
    bool compressed, last;
} cz_staged_block;

CZ_HD CZ_FORCEINLINE cz_staged_block cz_staged_next_block(const uint8_t* src, size_t* ip, size_t block_max) {
    cz_staged_block b;
    const uint32_t bh = cz_read_le16(src + *ip) | ((uint32_t)src[*ip + 2] << 16);
    *ip += CZ_BLOCK_HEADER_SIZE;
    const unsigned type = (bh >> 1) & 3;
    const size_t bsize = bh >> 3;
    b.last = bh & 1;
    b.compressed = type == CZ_BLOCK_COMPRESSED;
    b.block = src + *ip;
    b.sec = nullptr;
    b.size = 0;
    if (!b.compressed) {
        b.lits = bsize;
        *ip += type == CZ_BLOCK_RLE ? 1 : bsize;
    } else {
        cz_literals_header lh;
        cz_parse_literals_header(b.block, bsize, block_max, &lh);
        b.sec = b.block + lh.section;
        b.size = bsize - lh.section;
        b.lits = lh.n;
        *ip += bsize;
    }
    return b;
}

// Pass 2 for an item pass 1 left READY: its sequences into slot->seq (at most `capacity`),
// or mode FALLBACK. On the device every lane of a warp calls it (`mine`: the lane has an
// item; src, src_size and slot are then its item's): the lanes decode their items side by
// side, one sequence each per step of a warp-uniform loop, so that lanes whose items differ
// in length or branch differently stay converged instead of running one after another.
// `lt` (CZ_LANE_TABLE_ENTRIES) and `ring` (CZ_LR_RING words) are the lane's own, in shared
// memory on the device.
CZ_HD inline void cz_staged_sequences(bool mine, const uint8_t* src, size_t src_size, cz_staged_slot* slot,
                                      uint64_t capacity, const cz_seq_codes* codes, uint16_t* lt, uint64_t* ring) {
    cz_staged_state* const state = mine ? &slot->state : nullptr;
    bool more_blocks = mine && state->mode == CZ_STAGED_READY;  // a block of the item is left
    bool ok = true;
    size_t ip = 0, block_max = 0;
    cz_seq_tables* const t = mine ? &slot->tables : nullptr;
    cz_staged_seq* const out = mine ? slot->seq : nullptr;
    uint64_t n = 0;
    cz_seq_state ss = cz_seq_state_start();
    if (more_blocks) {
        cz_frame_header h;
        cz_parse_frame_header(src, src_size, &h);
        block_max = h.window_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.window_size : CZ_BLOCK_SIZE_MAX;
        ip = h.header_size;
    }
    const uint64_t tables_at = more_blocks ? state->tables_at : ~0ull;
    auto put = [&](uint64_t at, uint32_t ll, uint32_t ml, uint32_t off) { out[at] = cz_staged_pack(ll, ml, off); };
    while (cz_lanes_any(more_blocks)) {
        // Start the lane's next block: raw and RLE blocks are one literal run; a compressed
        // block's tables are read (unless pass 1 built them) and copied into the lane's, and
        // its bitstream opened.
        uint32_t nb_seq = 0;
        uint64_t lits_left = 0;
        bool last = false;
        unsigned ll_log = 0, of_log = 0, ml_log = 0;
        cz_lane_reader br = {};
        if (more_blocks) {
            const cz_staged_block blk = cz_staged_next_block(src, &ip, block_max);
            last = blk.last;
            lits_left = blk.lits;
            if (blk.compressed) {
                const uint8_t* const block = blk.block;
                const uint8_t* const sec = blk.sec;
                const size_t size = blk.size;
                uint8_t modes = 0;
                size_t sp = 0, used = 0;
                if (cz_parse_sequences_header(sec, size, &nb_seq, &modes, &sp) != CZ_STATUS_OK) {
                    ok = false;
                } else if (nb_seq > 0) {
                    const bool built = (uint64_t)(block - src) == tables_at;
                    if (built) used = state->tables_used;
                    ok = nb_seq <= capacity - n &&
                         (built || cz_seq_read_tables(modes, sec + sp, size - sp, t, &slot->scratch.seq, &used, false) ==
                                       CZ_STATUS_OK) &&
                         used <= size - sp && cz_lr_init(&br, sec + sp + used, size - sp - used, src, src_size, ring);
                    if (ok) {
                        ll_log = t->ll_log;
                        of_log = t->of_log;
                        ml_log = t->ml_log;
                        cz_lane_table_fill(t->ll, ll_log, lt);
                        cz_lane_table_fill(t->of, of_log, lt + CZ_LANE_TABLE_OF);
                        cz_lane_table_fill(t->ml, ml_log, lt + CZ_LANE_TABLE_ML);
                        ss.ll = cz_lr_read(&br, ll_log);
                        ss.of = cz_lr_read(&br, of_log);
                        ss.ml = cz_lr_read(&br, ml_log);
                    }
                }
            }
            if (!ok) nb_seq = 0;
        }
        // The sequences, one per lane per step. The chain from one sequence to the next is
        // the three table reads, the code reads, the six read positions and the new states;
        // the offset and the literal count are off it and free of branches.
        uint32_t k = 0;
        while (cz_lanes_any(k < nb_seq)) {
            if (k < nb_seq) {
                cz_lr_fill(&br);
                const uint32_t el = lt[ss.ll], eo = lt[CZ_LANE_TABLE_OF + ss.of], em = lt[CZ_LANE_TABLE_ML + ss.ml];
                const uint32_t xl = el & 1023, xo = eo & 1023, xm = em & 1023;
                const uint32_t cl = codes->ll[el >> 10], cm = codes->ml[em >> 10], co = eo >> 10;
                const unsigned nl = ll_log - cz_highbit32(xl), no = of_log - cz_highbit32(xo),
                               nm = ml_log - cz_highbit32(xm);
                // No state update after the last sequence: its reads take 0 bits.
                const unsigned upd = k + 1 < nb_seq ? 0xffu : 0u;
                const unsigned w[6] = {co, cm >> 24, cl >> 24, nl & upd, nm & upd, no & upd};
                uint32_t v[6];
                cz_lr_sequence(&br, w, v);
                ss.ll = (xl << nl) - (1u << ll_log) + v[3];
                ss.ml = (xm << nm) - (1u << ml_log) + v[4];
                ss.of = (xo << no) - (1u << of_log) + v[5];
                // of_code <= 31 (table symbols are bounded by the description reader).
                const uint32_t of_value = (1u << co) + v[0];
                const uint32_t ml = (cm & 0xffffff) + v[1];
                const uint32_t ll = (cl & 0xffffff) + v[2];
                // Repeat offsets (cz_seq_offset) by selection.
                const bool fresh = of_value > 3;
                const uint32_t idx = of_value - 1 + (ll == 0 ? 1u : 0u);  // 0..3 when !fresh
                const uint32_t rep_a = (idx & 1) ? ss.r1 : ss.r0, rep_b = (idx & 1) ? ss.r0 - 1 : ss.r2;
                const uint32_t rep = (idx & 2) ? rep_b : rep_a;
                const uint32_t off = fresh ? of_value - 3 : rep;
                const bool keep0 = !fresh && idx == 0;  // offset_1 again: history unchanged
                const bool swap = !fresh && idx == 1;   // offset_2: the first two swap
                ss.r2 = keep0 || swap ? ss.r2 : ss.r1;
                ss.r1 = keep0 ? ss.r1 : ss.r0;
                ss.r0 = off;
                const bool bad = off == 0 || off >= CZ_STAGED_OFFSET_LIMIT || ll > lits_left;
                put(n + k, ll, ml, off);
                lits_left -= bad ? 0 : ll;
                k++;
                if (bad) {
                    ok = false;
                    nb_seq = 0;
                }
            }
        }
        if (more_blocks) {
            ok = ok && (nb_seq == 0 || cz_lr_finished(&br));
            cz_lr_drain();
            n += nb_seq;
            // The literals the block leaves (all of a raw or RLE block's bytes).
            if (ok && lits_left) {
                if (n >= capacity) {
                    ok = false;
                } else {
                    put(n++, (uint32_t)lits_left, 0, 0);
                }
            }
            if (!ok || last) more_blocks = false;
        }
    }
    if (mine && state->mode == CZ_STAGED_READY) {
        if (ok) {
            state->nseq = (uint32_t)n;
        } else {
            state->mode = CZ_STAGED_FALLBACK;
        }
    }
}

// Pass 2 with a team per item (the small-batch form). With few items most of the GPU is
// idle and pass 2 takes as long as one item's chain of sequences, which the thread-per-item
// form above runs at about 200 instructions a sequence (bit reader ring, lane tables, its
// warp-uniform loop). Here the team copies each block's sequence bitstream and its three
// tables, packed for the chain (cz_solo_entry), into shared memory; lane 0 runs only the
// chain of state updates over them (cz_solo_chain), and the team reads the values of 32
// sequences at a time (cz_solo_finish). The slot gets what cz_staged_sequences gives it:
// the same records, or mode FALLBACK (also for a bitstream over CZ_SOLO_STREAM_BYTES).

// The largest sequence bitstream the team copies, and the buffer it is copied into:
// CZ_SOLO_PAD bytes before it (so that reads 128 bits below any position at or above the
// stream's start stay inside), CZ_SOLO_PAD after it and up to 3 of alignment.
#define CZ_SOLO_STREAM_BYTES (48u * 1024u)
#define CZ_SOLO_PAD 16u
#define CZ_SOLO_STREAM_WORDS ((CZ_SOLO_STREAM_BYTES + 2u * CZ_SOLO_PAD + 4u) / 4u)

// A state's entry for the chain: the next state's base (bits 0-9), the state's bit count
// (10-13), the symbol (14-19) and its extra-bit count (27-31, one shift from the entry on
// the chain). `w` is the cz_fse_dentry's bits (base, symbol, bit count from the bottom),
// `codes` the LL or ML codes (baseline | extra << 24), or null for OF, whose extra-bit
// count is the symbol.
CZ_HD CZ_FORCEINLINE uint32_t cz_solo_entry(uint32_t w, const uint32_t* codes) {
    const uint32_t base = w & 0xffffu, sym = (w >> 16) & 0xffu, nb = w >> 24;
    const uint32_t extra = codes ? codes[sym] >> 24 : sym;
    return base | (nb << 10) | (sym << 14) | (extra << 27);
}

// An entry's symbol and its extra-bit count.
CZ_HD CZ_FORCEINLINE uint32_t cz_solo_sym(uint32_t e) { return (e >> 14) & 63u; }
CZ_HD CZ_FORCEINLINE uint32_t cz_solo_extra(uint32_t e) { return e >> 27; }

// The team fills et (LL at 0, OF at CZ_LANE_TABLE_OF, ML at CZ_LANE_TABLE_ML) from t.
CZ_HD inline void cz_solo_tables_fill(cz_team team, const cz_seq_tables* t, const cz_seq_codes* codes, uint32_t* et) {
    const uint32_t nl = 1u << t->ll_log, no = 1u << t->of_log, nm = 1u << t->ml_log;
    const uint32_t* const ll = reinterpret_cast<const uint32_t*>(t->ll);
    const uint32_t* const of = reinterpret_cast<const uint32_t*>(t->of);
    const uint32_t* const ml = reinterpret_cast<const uint32_t*>(t->ml);
    for (uint32_t i = team.lane; i < nl; i += team.width) et[i] = cz_solo_entry(ll[i], codes->ll);
    for (uint32_t i = team.lane; i < no; i += team.width) et[CZ_LANE_TABLE_OF + i] = cz_solo_entry(of[i], nullptr);
    for (uint32_t i = team.lane; i < nm; i += team.width) et[CZ_LANE_TABLE_ML + i] = cz_solo_entry(ml[i], codes->ml);
}

// The team copies the 4-byte words around stream[0 .. size) (inside item[0 .. item_size))
// into sw: word k of sw is the word at (stream rounded down to 4) - CZ_SOLO_PAD + 4k, with
// the bytes outside the item read as zeros (and never loaded). Returns the stream's first
// bit in sw; the caller checked size + 3 <= CZ_SOLO_STREAM_BYTES.
CZ_HD inline uint32_t cz_solo_stage(cz_team team, const uint8_t* stream, size_t size, const uint8_t* item,
                                    size_t item_size, uint32_t* sw) {
    const uintptr_t a = (reinterpret_cast<uintptr_t>(stream) & ~(uintptr_t)3) - CZ_SOLO_PAD;
    const uint32_t lead = (uint32_t)(reinterpret_cast<uintptr_t>(stream) & 3);
    const uint32_t words = (CZ_SOLO_PAD + lead + (uint32_t)size + CZ_SOLO_PAD + 3) / 4;
    const uintptr_t lo = reinterpret_cast<uintptr_t>(item), hi = lo + item_size;
    for (uint32_t k = team.lane; k < words; k += team.width) {
        const uintptr_t w = a + 4 * (uintptr_t)k;
        uint32_t v = 0;
        if (w >= lo && w + 4 <= hi) {
            v = *reinterpret_cast<const uint32_t*>(w);
        } else {
            for (uint32_t b = 0; b < 4; b++)
                if (w + b >= lo && w + b < hi) v |= (uint32_t) * reinterpret_cast<const uint8_t*>(w + b) << (8 * b);
        }
        sw[k] = v;
    }
    return 8 * (CZ_SOLO_PAD + lead);
}

// Bits [p, p + 32) of the staged words.
CZ_HD CZ_FORCEINLINE uint32_t cz_solo_bits32(const uint32_t* sw, uint32_t p) {
    const uint32_t lo = sw[p >> 5], hi = sw[(p >> 5) + 1];
#if defined(CZ_DEVICE)
    return __funnelshift_r(lo, hi, p & 31);
#else
    return (uint32_t)((((uint64_t)hi << 32) | lo) >> (p & 31));
#endif
}

// The top n (<= 31) bits of u; 0 for n = 0 (one funnel shift on the device).
CZ_HD CZ_FORCEINLINE uint32_t cz_top32(uint32_t u, unsigned n) {
#if defined(CZ_DEVICE)
    return __funnelshift_l(u, 0u, n);
#else
    return (uint32_t)(((uint64_t)u << n) >> 32);
#endif
}

// A function on the repeat-offset history (r0, r1, r2), as a sequence applies it: entry j
// of the result is (src_j == 3 ? 0 : h[src_j]) + a_j, src_j in bits 2j .. 2j + 1 of src.
// Such functions compose into functions of the same form, so a team finds every
// sequence's offset with one prefix scan (cz_solo_finish).
typedef struct cz_rep_fn {
    uint32_t src, a0, a1, a2;
} cz_rep_fn;

// The function of a sequence with offset value of_value and literal length ll
// (cz_seq_offset): a new offset pushes the history; repeat k takes h[k] to the front
// (k = 3: h[0] - 1, pushed).
CZ_HD CZ_FORCEINLINE cz_rep_fn cz_rep_fn_of(uint32_t of_value, uint32_t ll) {
    cz_rep_fn f;
    f.a1 = f.a2 = 0;
    const uint32_t idx = of_value - 1 + (ll == 0 ? 1u : 0u);  // 0..3 when of_value <= 3
    if (of_value > 3) {
        f.src = 0x13;  // (const, h0, h1)
        f.a0 = of_value - 3;
    } else {
        f.src = idx == 0 ? 0x24u : idx == 1 ? 0x21u : idx == 2 ? 0x12u : 0x10u;
        f.a0 = idx == 3 ? 0xffffffffu : 0u;
    }
    return f;
}

// g after f.
CZ_HD CZ_FORCEINLINE cz_rep_fn cz_rep_compose(cz_rep_fn g, cz_rep_fn f) {
    uint32_t a[3] = {g.a0, g.a1, g.a2};
    uint32_t src = 0;
    CZ_UNROLL
    for (unsigned j = 0; j < 3; j++) {
        const uint32_t k = (g.src >> (2 * j)) & 3u;
        const uint32_t fk = (f.src >> (2 * k)) & 3u;
        const uint32_t fa = k == 0 ? f.a0 : k == 1 ? f.a1 : f.a2;
        src |= (k == 3 ? 3u : fk) << (2 * j);
        a[j] += k == 3 ? 0u : fa;
    }
    cz_rep_fn r;
    r.src = src;
    r.a0 = a[0];
    r.a1 = a[1];
    r.a2 = a[2];
    return r;
}

// Entry j of f applied to (h0, h1, h2).
CZ_HD CZ_FORCEINLINE uint32_t cz_rep_apply(cz_rep_fn f, unsigned j, uint32_t h0, uint32_t h1, uint32_t h2) {
    const uint32_t k = (f.src >> (2 * j)) & 3u;
    const uint32_t a = j == 0 ? f.a0 : j == 1 ? f.a1 : f.a2;
    return (k == 0 ? h0 : k == 1 ? h1 : k == 2 ? h2 : 0u) + a;
}

// What lane 0's chain leaves of a sequence for the team (cz_solo_finish): the read position
// above its extra bits, and its three table entries.
typedef struct CZ_ALIGN16 cz_solo_rec {
    uint32_t pos, el, eo, em;
} cz_solo_rec;

// Lane 0's chain over `cnt` sequences of a block, from the states (*sl, *so, *sm) and the
// read position *pos over the staged words sw (the stream's first bit at `first`): each
// sequence's record into rec[0 .. cnt), then the next states and position. `final`: the
// block's last sequence is the last of these (its state reads take 0 bits). False when a
// position falls below `first`. Only the entry loads, the bit counts and one window per
// sequence are on this chain; the values are read by the team.
CZ_HD inline bool cz_solo_chain(const uint32_t* sw, uint32_t first, uint32_t* pos_io, uint32_t* sl_io, uint32_t* so_io,
                                uint32_t* sm_io, uint32_t cnt, bool final, const uint32_t* et, cz_solo_rec* rec) {
    // (p32: the read position less 32, the start of the 32-bit window below it.)
    uint32_t p32 = *pos_io - 32, sl = *sl_io, so = *so_io, sm = *sm_io;
    for (uint32_t j = 0; j < cnt; j++) {
        if (p32 + 32 < first) return false;
        const uint32_t el = et[sl], eo = et[CZ_LANE_TABLE_OF + so], em = et[CZ_LANE_TABLE_ML + sm];
        cz_solo_rec r;
        r.pos = p32 + 32;
        r.el = el;
        r.eo = eo;
        r.em = em;
        rec[j] = r;
        const unsigned upd = final && j + 1 == cnt ? 0u : 15u;
        const unsigned nl = (el >> 10) & upd, nm = (em >> 10) & upd, no = (eo >> 10) & upd;
        const uint32_t q32 = p32 - cz_solo_extra(eo) - cz_solo_extra(em) - cz_solo_extra(el);
        const uint32_t u = cz_solo_bits32(sw, q32);
        sl = (el & 1023) + cz_top32(u, nl);
        sm = (em & 1023) + cz_top32(u << nl, nm);
        so = (eo & 1023) + cz_top32(u << (nl + nm), no);
        p32 = q32 - nl - nm - no;
    }
    *pos_io = p32 + 32;
    *sl_io = sl;
    *so_io = so;
    *sm_io = sm;
    return true;
}

// The team turns cnt (<= width) records into sequences: lane j < cnt reads record j's
// extra bits and values, one prefix scan of their repeat-offset functions gives every
// offset from the history (*r0, *r1, *r2), and the records go to out[0 .. cnt) (coalesced).
// Updates the history and *left (the block's literals not yet taken); false when a
// sequence is invalid (offset 0 or over the staged limit, literals overrun).
CZ_HD inline bool cz_solo_finish(cz_team team, const uint32_t* sw, const cz_solo_rec* rec, uint32_t cnt,
                                 const cz_seq_codes* codes, uint32_t* r0, uint32_t* r1, uint32_t* r2, uint32_t* left,
                                 cz_staged_seq* out) {
    uint32_t ll = 0, ml = 0;
    cz_rep_fn f;
    f.src = 0x24;  // identity
    f.a0 = f.a1 = f.a2 = 0;
    const bool mine = team.lane < cnt;
    if (mine) {
        const cz_solo_rec r = rec[team.lane];
        const unsigned xo = cz_solo_extra(r.eo), xm = cz_solo_extra(r.em), xl = cz_solo_extra(r.el);
        const uint32_t p1 = r.pos - xo, p2 = p1 - xm;
        const uint32_t of_x = cz_top32(cz_solo_bits32(sw, r.pos - 32), xo);
        const uint32_t ml_x = cz_top32(cz_solo_bits32(sw, p1 - 32), xm);
        const uint32_t ll_x = cz_top32(cz_solo_bits32(sw, p2 - 32), xl);
        const uint32_t of_value = (1u << cz_solo_sym(r.eo)) + of_x;
        ml = (codes->ml[cz_solo_sym(r.em)] & 0xffffff) + ml_x;
        ll = (codes->ll[cz_solo_sym(r.el)] & 0xffffff) + ll_x;
        f = cz_rep_fn_of(of_value, ll);
    }
#if defined(CZ_DEVICE)
    if (team.width > 1) {
        for (unsigned d = 1; d < 32; d <<= 1) {
            cz_rep_fn e;
            e.src = __shfl_up_sync(CZ_TEAM_FULL_MASK, f.src, d);
            e.a0 = __shfl_up_sync(CZ_TEAM_FULL_MASK, f.a0, d);
            e.a1 = __shfl_up_sync(CZ_TEAM_FULL_MASK, f.a1, d);
            e.a2 = __shfl_up_sync(CZ_TEAM_FULL_MASK, f.a2, d);
            if (team.lane >= d) f = cz_rep_compose(f, e);
        }
    }
#endif
    const uint32_t h0 = *r0, h1 = *r1, h2 = *r2;
    const uint32_t off = cz_rep_apply(f, 0, h0, h1, h2);
    const uint32_t lits = cz_team_scan32(team, ll);
    const bool bad = mine && (off == 0 || off >= CZ_STAGED_OFFSET_LIMIT || lits > *left);
    if (mine) out[team.lane] = cz_staged_pack(ll, ml, off);
    if (cz_team_ballot(team, bad) != 0) return false;
    const unsigned last = cnt - 1;
    *r0 = cz_team_shfl32(team, off, last);
    *r1 = cz_team_shfl32(team, cz_rep_apply(f, 1, h0, h1, h2), last);
    *r2 = cz_team_shfl32(team, cz_rep_apply(f, 2, h0, h1, h2), last);
    *left -= cz_team_shfl32(team, lits, last);
    return true;
}

// One block's nb_seq (> 0) sequences by the team: the stream staged in sw (first bit at
// `first`, the read position below the end marker at `pos`), the tables in et; rounds of
// lane 0's chain (cz_solo_chain, `team.width` sequences) and the team's finish
// (cz_solo_finish) through rec (team.width records). Writes out[0 .. nb_seq), updates the
// repeat offsets in ss and *lits_left; false when the block is invalid or its stream not
// consumed exactly.
CZ_HD inline bool cz_solo_block(cz_team team, const uint32_t* sw, uint32_t first, uint32_t pos, uint32_t nb_seq,
                                const uint32_t* et, unsigned ll_log, unsigned of_log, unsigned ml_log,
                                const cz_seq_codes* codes, cz_seq_state* ss, uint64_t* lits_left, cz_solo_rec* rec,
                                cz_staged_seq* out) {
    if (pos < first + ll_log + of_log + ml_log) return false;
    uint32_t sl, so, sm;
    {
        const uint32_t u = cz_solo_bits32(sw, pos - 32);
        const uint32_t u1 = u << ll_log;
        sl = cz_top32(u, ll_log);
        so = cz_top32(u1, of_log);
        sm = cz_top32(u1 << of_log, ml_log);
        pos -= ll_log + of_log + ml_log;
    }
    // (A block holds at most 128 KiB of literals.)
    uint32_t left = (uint32_t)*lits_left;
    uint32_t r0 = ss->r0, r1 = ss->r1, r2 = ss->r2;
    bool ok = true;
    for (uint32_t k = 0; k < nb_seq && ok; k += team.width) {
        const uint32_t cnt = nb_seq - k < team.width ? nb_seq - k : team.width;
        uint32_t chained = 0;
        if (team.lane == 0) chained = cz_solo_chain(sw, first, &pos, &sl, &so, &sm, cnt, k + cnt == nb_seq, et, rec);
        ok = cz_team_shfl32(team, chained, 0) != 0;
        cz_team_sync(team);
        ok = ok && cz_solo_finish(team, sw, rec, cnt, codes, &r0, &r1, &r2, &left, out + k);
        cz_team_sync(team);
    }
    ss->r0 = r0;
    ss->r1 = r1;
    ss->r2 = r2;
    *lits_left = left;
    return ok && cz_team_shfl32(team, pos, 0) == first;
}

// Pass 2 for an item pass 1 left READY, by a team (every lane calls, with the same
// arguments): as cz_staged_sequences. `et` (CZ_LANE_TABLE_ENTRIES words), `sw`
// (CZ_SOLO_STREAM_WORDS words) and `rec` (team.width records) are the team's, in shared
// memory on the device.
CZ_HD inline void cz_staged_sequences_solo(cz_team team, const uint8_t* src, size_t src_size, cz_staged_slot* slot,
                                           uint64_t capacity, const cz_seq_codes* codes, uint32_t* et, uint32_t* sw,
                                           cz_solo_rec* rec) {
    cz_staged_state* const state = &slot->state;
    if (state->mode != CZ_STAGED_READY) return;
    cz_frame_header h;
    cz_parse_frame_header(src, src_size, &h);
    const size_t block_max = h.window_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.window_size : CZ_BLOCK_SIZE_MAX;
    size_t ip = h.header_size;
    const uint64_t tables_at = state->tables_at;
    cz_staged_seq* const out = slot->seq;
    uint64_t n = 0;
    cz_seq_state ss = cz_seq_state_start();
    bool ok = true;
    for (;;) {
        // Pass 1 checked the structure: every block is inside the item and parses.
        const cz_staged_block blk = cz_staged_next_block(src, &ip, block_max);
        const bool last = blk.last;
        uint64_t lits_left = blk.lits;
        if (blk.compressed) {
            const uint8_t* const block = blk.block;
            const uint8_t* const sec = blk.sec;
            const size_t size = blk.size;
            uint32_t nb_seq = 0;
            uint8_t modes = 0;
            size_t sp = 0;
            if (cz_parse_sequences_header(sec, size, &nb_seq, &modes, &sp) != CZ_STATUS_OK) {
                ok = false;
            } else if (nb_seq > 0) {
                uint32_t used = 0;
                if ((uint64_t)(block - src) == tables_at) {
                    used = state->tables_used;
                } else {
                    bool has_seq = false;
                    ok = cz_staged_tables(team, sec, size, slot, &has_seq, &used) && has_seq;
                }
                const uint8_t* const stream = sec + sp + used;
                const size_t ssize = ok && used <= size - sp ? size - sp - used : 0;
                ok = ok && nb_seq <= capacity - n && ssize >= 1 && stream[ssize - 1] != 0 &&
                     ssize + 3 <= CZ_SOLO_STREAM_BYTES;
                if (ok) {
                    const cz_seq_tables* const t = &slot->tables;
                    cz_solo_tables_fill(team, t, codes, et);
                    const uint32_t first = cz_solo_stage(team, stream, ssize, src, src_size, sw);
                    const uint32_t top = first + 8 * (uint32_t)(ssize - 1) + cz_highbit32(stream[ssize - 1]);
                    cz_team_sync(team);
                    ok = cz_solo_block(team, sw, first, top, nb_seq, et, t->ll_log, t->of_log, t->ml_log, codes, &ss,
                                       &lits_left, rec, out + n);
                    n += nb_seq;
                }
            }
        }
        // The literals the block leaves (all of a raw or RLE block's bytes).
        if (ok && lits_left) {
            if (n >= capacity) {
                ok = false;
            } else {
                if (team.lane == 0) out[n] = cz_staged_pack((uint32_t)lits_left, 0, 0);
                n++;
            }
        }
        if (!ok || last) break;
    }
    cz_team_sync(team);
    if (team.lane == 0) {
        if (ok) {
            state->nseq = (uint32_t)n;
        } else {
            state->mode = CZ_STAGED_FALLBACK;
        }
    }
}

// dst[0 .. n) = src[0 .. n) for ranges congruent modulo 16 that do not overlap: the team
// copies 16-byte vectors between a head and a tail of single bytes.
CZ_HD inline void cz_team_copy16(cz_team t, uint8_t* dst, const uint8_t* src, size_t n) {
#if defined(CZ_DEVICE)
    if (t.width > 1) {
        const size_t to16 = (16 - ((uintptr_t)dst & 15)) & 15;
        const size_t head = to16 < n ? to16 : n;
        const size_t vecs = (n - head) / 16;
        const size_t tail = head + 16 * vecs;
        if (t.lane < head) dst[t.lane] = src[t.lane];
        uint4* const d = reinterpret_cast<uint4*>(dst + head);
        const uint4* const s = reinterpret_cast<const uint4*>(src + head);
        for (size_t i = t.lane; i < vecs; i += t.width) d[i] = s[i];
        if (tail + t.lane < n) dst[tail + t.lane] = src[tail + t.lane];
        cz_team_sync(t);
        return;
    }
#endif
    (void)t;
    if (n) memcpy(dst, src, n);
}

// Pass 3 for an item passes 1 and 2 left READY: executes its sequences into dst. Returns
// true with the item decoded (content_size bytes), false when it needs the fallback. With
// `work` (work_size bytes, 16-byte aligned; shared memory on the device) an item whose
// content fits is built there, its literals copied in first and the content copied out
// last, so that the copies of the sequences read and write near memory.
CZ_HD inline bool cz_staged_execute(cz_team team, const uint8_t* src, uint8_t* dst, const cz_staged_slot* slot,
                                    uint8_t* work = nullptr, size_t work_size = 0) {
    const cz_staged_state s = slot->state;
    if (s.mode != CZ_STAGED_READY) return false;
    // (Congruent with dst modulo 16, for cz_team_copy16.)
    const bool near = work != nullptr && s.content_size + 16 <= work_size;
    uint8_t* const base = near ? work + ((uintptr_t)dst & 15) : dst;
    if (near) cz_team_copy16(team, base + s.lit_at, dst + s.lit_at, (size_t)(s.content_size - s.lit_at));
    cz_output out;
    out.team = team;
    out.base = base;
    out.pos = 0;
    out.cap = (size_t)s.content_size;
    out.dict = nullptr;
    out.dict_size = 0;
    const uint8_t* const lits = base + s.lit_at;
    const size_t nlits = (size_t)(s.content_size - s.lit_at);
    size_t lit_pos = 0;
    const cz_staged_seq* seq = slot->seq;
    // Each batch's records are loaded a batch ahead (a batch waited on its own load).
    cz_staged_seq next = team.lane < s.nseq ? seq[team.lane] : 0;
    for (uint32_t b = 0; b < s.nseq; b += team.width) {
        const unsigned cnt = s.nseq - b < team.width ? s.nseq - b : team.width;
        const cz_staged_seq q = next;
        const uint64_t ahead = (uint64_t)b + team.width + team.lane;
        next = ahead < s.nseq ? seq[ahead] : 0;
        uint32_t ll = 0, ml = 0, off = 0;
        if (team.lane < cnt) {
            ll = (uint32_t)q & 0x3FFFFu;
            ml = (uint32_t)(q >> 18) & 0x3FFFFu;
            off = (uint32_t)(q >> 36);
        }
        if (cz_exec_batch(team, cnt, ll, ml, off, lits, nlits, &lit_pos, &out) != CZ_STATUS_OK) return false;
    }
    if (out.pos != s.content_size || lit_pos != nlits) return false;
    if (s.checksum_at != ~0ull) {
        const uint32_t got = (uint32_t)cz_team_xxh64(team, base, out.pos);
        if (got != cz_read_le32(src + s.checksum_at)) return false;
    }
    if (near) cz_team_copy16(team, dst, base, (size_t)s.content_size);
    return true;
}

#endif  // CUZSTD_STAGED_DECODE_CUH
