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
    uint32_t mode;         // CZ_STAGED_*
    uint32_t nseq;         // sequences in the slot (pass 2)
} cz_staged_state;

// One decoded sequence, as pass 2 stores it and pass 3 loads it (one 16-byte access).
typedef struct CZ_ALIGN16 cz_staged_seq {
    uint32_t ll, ml, off, pad;
} cz_staged_seq;

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

// The literal-length and match-length code tables (baseline, extra bits) where pass 2 reads
// them: shared memory on the device, where lanes indexing different codes do not serialize
// as they do on __constant__ memory.
typedef struct cz_seq_codes {
    const uint32_t* ll_base;
    const uint8_t* ll_extra;
    const uint32_t* ml_base;
    const uint8_t* ml_extra;
} cz_seq_codes;

// A backward bit reader for one thread over a stream inside an item item[0 .. item_size).
// It buffers 192 bits and, before each sequence, shifts in aligned 64-bit words until more
// than 128 bits lie below the read position (a sequence reads at most 31 + 16 + 16 + 9 + 9
// + 8 = 89, so one word is not always enough): the reads of a sequence wait on no load
// between them, and a load serves about two sequences. A word that crosses the item's ends is
// assembled from its bytes inside; bytes outside are never loaded. Positions are bits from
// the stream's start rounded down to 8 bytes. Reading past the stream's start returns bits
// of whatever precedes it (or zeros) and is caught by cz_lr_finished.
typedef struct cz_lane_reader {
    uintptr_t a;         // the stream's address rounded down to 8 bytes
    uintptr_t lo, hi;    // the item: [lo, hi)
    int64_t pos;         // bits at and above pos are consumed
    int64_t first;       // the stream's first bit
    int64_t base;        // the buffer holds bits [base, base + 192); a multiple of 64
    uint64_t b0, b1, b2; // bits from base, base + 64, base + 128
} cz_lane_reader;

CZ_HD CZ_FORCEINLINE uint64_t cz_lr_word(const cz_lane_reader* r, int64_t k) {
    // The word's offset in the item; it is loaded whole when it lies inside.
    const int64_t at = (int64_t)(r->a - r->lo) + 8 * k;
    const int64_t size = (int64_t)(r->hi - r->lo);
    if (at >= 0 && at + 8 <= size) return *reinterpret_cast<const uint64_t*>(r->lo + (uintptr_t)at);
    uint64_t v = 0;
    for (int64_t b = 0; b < 8; b++) {
        if (at + b >= 0 && at + b < size) v |= (uint64_t) * reinterpret_cast<const uint8_t*>(r->lo + (uintptr_t)(at + b)) << (8 * b);
    }
    return v;
}

// Shifts one word into the buffer when 128 or fewer bits lie below pos.
CZ_HD CZ_FORCEINLINE void cz_lr_shift(cz_lane_reader* r) {
    if (r->pos - r->base <= 128) {
        r->base -= 64;
        r->b2 = r->b1;
        r->b1 = r->b0;
        r->b0 = cz_lr_word(r, r->base >> 6);
    }
}

// Before a sequence (at least 14 bits lie below pos: more than 128 after the previous fill,
// less at most 89 read since; more than 102 after cz_lr_init and the initial states):
// afterwards more than 128 do. The second shift is needed only after a sequence that read
// more than 64 bits.
CZ_HD CZ_FORCEINLINE void cz_lr_fill(cz_lane_reader* r) {
    cz_lr_shift(r);
    cz_lr_shift(r);
}

// Starts reading stream[0 .. size) (inside the item); false for an empty stream or a last
// byte without its end marker.
CZ_HD CZ_FORCEINLINE bool cz_lr_init(cz_lane_reader* r, const uint8_t* stream, size_t size, const uint8_t* item,
                                     size_t item_size) {
    if (size < 1 || stream[size - 1] == 0) return false;
    const uintptr_t s = reinterpret_cast<uintptr_t>(stream);
    r->a = s & ~(uintptr_t)7;
    r->lo = reinterpret_cast<uintptr_t>(item);
    r->hi = r->lo + item_size;
    const int64_t delta = (int64_t)(s - r->a);
    r->first = delta * 8;
    r->pos = (delta + (int64_t)size - 1) * 8 + (int64_t)cz_highbit32(stream[size - 1]);
    // The word holding bit pos - 1 on top, two below it.
    const int64_t w = (r->pos - 1) >> 6;
    r->base = (w - 2) * 64;
    r->b0 = cz_lr_word(r, w - 2);
    r->b1 = cz_lr_word(r, w - 1);
    r->b2 = cz_lr_word(r, w);
    return true;
}

// The next n (<= 32) bits; at most 128 bits may be read after a fill (bits below the buffer
// read as zeros).
CZ_HD CZ_FORCEINLINE uint32_t cz_lr_read(cz_lane_reader* r, unsigned n) {
    r->pos -= n;
    int64_t p = r->pos - r->base;  // <= 192 - n
    if (p > 191) p = 191;           // (n == 0: nothing is read)
    uint64_t v;
    if (p < 0) {
        v = 0;
    } else if (p >= 128) {
        v = r->b2 >> (p - 128);
    } else {
        const uint64_t lo = p >= 64 ? r->b1 : r->b0, hi = p >= 64 ? r->b2 : r->b1;
        const unsigned q = (unsigned)(p & 63);
        v = q == 0 ? lo : (lo >> q) | (hi << (64 - q));
    }
    return (uint32_t)(v & ((1ull << n) - 1));
}

// One entry of a sequence decoding table, loaded in one 4-byte access.
CZ_HD CZ_FORCEINLINE cz_fse_dentry cz_lr_entry(const cz_fse_dentry* t, uint32_t i) {
    // (The slot's tables are 16-byte aligned.)
    const uint32_t w = *reinterpret_cast<const uint32_t*>(t + i);
    cz_fse_dentry e;
    e.base = (uint16_t)w;
    e.symbol = (uint8_t)(w >> 16);
    e.nb_bits = (uint8_t)(w >> 24);
    return e;
}

// Every bit consumed, none more.
CZ_HD CZ_FORCEINLINE bool cz_lr_finished(const cz_lane_reader* r) { return r->pos == r->first; }

// Pass 1 for the item src[0 .. src_size) -> dst[0 .. dst_capacity). `huf_table` holds
// CZ_HUF_DTABLE_SIZE entries (shared memory on the device). Sets slot->state.
CZ_HD inline void cz_staged_literals(cz_team team, const uint8_t* src, size_t src_size, uint8_t* dst,
                                     size_t dst_capacity, size_t dict_size, uint64_t max_window_size,
                                     cz_staged_slot* slot, uint16_t* huf_table) {
    cz_staged_state s;
    s.mode = CZ_STAGED_FALLBACK;
    s.nseq = 0;
    s.content_size = 0;
    s.lit_at = 0;
    s.checksum_at = ~0ull;
    cz_frame_header h;
    // Structure: one Zstandard frame with a content size, no dictionary, and the blocks
    // and checksum filling src exactly. L: the literals of all blocks.
    bool ok = dict_size == 0 && dst != nullptr && src_size >= 5 &&
              cz_parse_frame_header(src, src_size, &h) == CZ_STATUS_OK && h.dict_id == 0 &&
              h.content_size != CZ_CONTENT_SIZE_UNKNOWN && h.content_size <= dst_capacity &&
              (max_window_size == CZ_WINDOW_UNLIMITED || h.window_size <= max_window_size);
    const size_t block_max = ok ? (h.window_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.window_size : CZ_BLOCK_SIZE_MAX) : 0;
    uint64_t total = 0;
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
        if (type == CZ_BLOCK_RESERVED || csize > src_size - ip) {
            ok = false;
            break;
        }
        if (type == CZ_BLOCK_COMPRESSED) {
            cz_literals_header lh;
            if (bsize > block_max || cz_parse_literals_header(src + ip, bsize, block_max, &lh) != CZ_STATUS_OK) {
                ok = false;
                break;
            }
            total += lh.n;
        } else {
            total += bsize;
        }
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
                lits += lh.n;
                ip += bsize;
            }
            if (bh & 1) break;
        }
    }
    if (ok) s.mode = CZ_STAGED_READY;
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

// Pass 2 for an item pass 1 left READY: its sequences into slot->seq (at most `capacity`),
// or mode FALLBACK. On the device every lane of a warp calls it (`mine`: the lane has an
// item; src, src_size and slot are then its item's): the lanes decode their items side by
// side, one sequence each per step of a warp-uniform loop, so that lanes whose items differ
// in length or branch differently stay converged instead of running one after another.
CZ_HD inline void cz_staged_sequences(bool mine, const uint8_t* src, size_t src_size, cz_staged_slot* slot,
                                      uint64_t capacity, const cz_seq_codes* codes) {
    cz_staged_state* const state = mine ? &slot->state : nullptr;
    bool more_blocks = mine && state->mode == CZ_STAGED_READY;  // a block of the item is left
    bool ok = true;
    size_t ip = 0, block_max = 0;
    cz_seq_tables* const t = mine ? &slot->tables : nullptr;
    cz_staged_seq* const out = mine ? slot->seq : nullptr;
    uint64_t n = 0;
    cz_seq_state ss;
    ss.r0 = CZ_REP_INIT_0;
    ss.r1 = CZ_REP_INIT_1;
    ss.r2 = CZ_REP_INIT_2;
    ss.ll = ss.of = ss.ml = 0;
    if (more_blocks) {
        cz_frame_header h;
        cz_parse_frame_header(src, src_size, &h);
        block_max = h.window_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.window_size : CZ_BLOCK_SIZE_MAX;
        ip = h.header_size;
        t->valid = 0;
    }
    auto put = [&](uint64_t at, uint32_t ll, uint32_t ml, uint32_t off) {
        cz_staged_seq q;
        q.ll = ll;
        q.ml = ml;
        q.off = off;
        q.pad = 0;
        out[at] = q;
    };
    while (cz_lanes_any(more_blocks)) {
        // Start the lane's next block: raw and RLE blocks are one literal run; a compressed
        // block's tables are read and its bitstream opened.
        uint32_t nb_seq = 0;
        uint64_t lits_left = 0;
        bool last = false;
        cz_lane_reader br;
        br.pos = br.first = 0;
        if (more_blocks) {
            const uint32_t bh = cz_read_le16(src + ip) | ((uint32_t)src[ip + 2] << 16);
            ip += CZ_BLOCK_HEADER_SIZE;
            const unsigned type = (bh >> 1) & 3;
            const size_t bsize = bh >> 3;
            last = bh & 1;
            if (type != CZ_BLOCK_COMPRESSED) {
                lits_left = bsize;
                ip += type == CZ_BLOCK_RLE ? 1 : bsize;
            } else {
                const uint8_t* const block = src + ip;
                cz_literals_header lh;
                cz_parse_literals_header(block, bsize, block_max, &lh);
                const uint8_t* const sec = block + lh.section;
                const size_t size = bsize - lh.section;
                uint8_t modes = 0;
                size_t sp = 0, used = 0;
                lits_left = lh.n;
                ip += bsize;
                if (cz_parse_sequences_header(sec, size, &nb_seq, &modes, &sp) != CZ_STATUS_OK) {
                    ok = false;
                } else if (nb_seq > 0) {
                    ok = nb_seq <= capacity - n &&
                         cz_seq_read_tables(modes, sec + sp, size - sp, t, &slot->scratch.seq, &used, false) ==
                             CZ_STATUS_OK &&
                         cz_lr_init(&br, sec + sp + used, size - sp - used, src, src_size);
                    if (ok) {
                        ss.ll = cz_lr_read(&br, t->ll_log);
                        ss.of = cz_lr_read(&br, t->of_log);
                        ss.ml = cz_lr_read(&br, t->ml_log);
                    }
                }
            }
            if (!ok) nb_seq = 0;
        }
        // The sequences, one per lane per step.
        const cz_fse_dentry* const llt = mine ? t->ll : nullptr;
        const cz_fse_dentry* const oft = mine ? t->of : nullptr;
        const cz_fse_dentry* const mlt = mine ? t->ml : nullptr;
        uint32_t k = 0;
        while (cz_lanes_any(k < nb_seq)) {
            if (k < nb_seq) {
                cz_lr_fill(&br);
                const cz_fse_dentry eo = cz_lr_entry(oft, ss.of), el = cz_lr_entry(llt, ss.ll),
                                    em = cz_lr_entry(mlt, ss.ml);
                // of_code <= 31 (table symbols are bounded by the description reader).
                const uint32_t of_value = (1u << eo.symbol) + cz_lr_read(&br, eo.symbol);
                const uint32_t ml = codes->ml_base[em.symbol] + cz_lr_read(&br, codes->ml_extra[em.symbol]);
                const uint32_t ll = codes->ll_base[el.symbol] + cz_lr_read(&br, codes->ll_extra[el.symbol]);
                const uint32_t off = cz_seq_offset(&ss, of_value, ll);
                const uint32_t llb = ll <= lits_left ? ll : 0;
                put(n + k, ll, ml, off);
                lits_left -= llb;
                // No state update after the last sequence: its reads take 0 bits.
                const unsigned upd = k + 1 < nb_seq ? 1u : 0u;
                ss.ll = el.base + cz_lr_read(&br, el.nb_bits * upd);
                ss.ml = em.base + cz_lr_read(&br, em.nb_bits * upd);
                ss.of = eo.base + cz_lr_read(&br, eo.nb_bits * upd);
                k++;
                if (off == 0 || llb != ll) {
                    ok = false;
                    nb_seq = 0;
                }
            }
        }
        if (more_blocks) {
            ok = ok && (nb_seq == 0 || cz_lr_finished(&br));
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

// Pass 3 for an item passes 1 and 2 left READY: executes its sequences into dst. Returns
// true with the item decoded (content_size bytes), false when it needs the fallback.
CZ_HD inline bool cz_staged_execute(cz_team team, const uint8_t* src, uint8_t* dst, const cz_staged_slot* slot) {
    const cz_staged_state s = slot->state;
    if (s.mode != CZ_STAGED_READY) return false;
    cz_output out;
    out.team = team;
    out.base = dst;
    out.pos = 0;
    out.cap = (size_t)s.content_size;
    out.dict = nullptr;
    out.dict_size = 0;
    const uint8_t* const lits = dst + s.lit_at;
    const size_t nlits = (size_t)(s.content_size - s.lit_at);
    size_t lit_pos = 0;
    const cz_staged_seq* seq = slot->seq;
    for (uint32_t b = 0; b < s.nseq; b += team.width) {
        const unsigned cnt = s.nseq - b < team.width ? s.nseq - b : team.width;
        uint32_t ll = 0, ml = 0, off = 0;
        if (team.lane < cnt) {
            const cz_staged_seq q = seq[b + team.lane];
            ll = q.ll;
            ml = q.ml;
            off = q.off;
        }
        if (cz_exec_batch(team, cnt, ll, ml, off, lits, nlits, &lit_pos, &out) != CZ_STATUS_OK) return false;
    }
    if (out.pos != s.content_size || lit_pos != nlits) return false;
    if (s.checksum_at != ~0ull) {
        const uint32_t got = (uint32_t)cz_team_xxh64(team, dst, out.pos);
        if (got != cz_read_le32(src + s.checksum_at)) return false;
    }
    return true;
}

#endif  // CUZSTD_STAGED_DECODE_CUH
