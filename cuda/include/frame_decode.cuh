// Frame decoding (RFC 8878 "Frames", "Blocks", "Literals Section", "Dictionary Format"),
// host and device: the one-frame decoder that the batched kernel, the reference build and
// fused kernels all call.
//
// Entry points
//   cz_decode_frame  decodes one Zstandard frame (or skips one skippable frame).
//   cz_decode_all    decodes a buffer of concatenated frames into one output, like libzstd's
//                    one-shot ZSTD_decompress.
//   cz_decode_workspace_size() is the size of the workspace both need.
//
// Safety: every read stays inside src[0 .. src_size) and the dictionary, every write inside
// dst[0 .. dst_capacity) and the workspace; corrupt input returns a named status.
// Threads: one thread decodes a frame, or a whole warp together (decode_team.cuh): then
// the sequences are executed a batch of 32 at a time, the four Huffman streams decode in
// four lanes, output copies are split between the lanes. The workspace must not be shared
// by two concurrent calls.
#ifndef CUZSTD_FRAME_DECODE_CUH
#define CUZSTD_FRAME_DECODE_CUH

#include "portability.cuh"
#include "abi.h"
#include "format.cuh"
#include "fse_common.cuh"
#include "fse_decode.cuh"
#include "huf_decode.cuh"
#include "sequences.cuh"
#include "xxhash64.cuh"

#define CZ_CONTENT_SIZE_UNKNOWN 0xFFFFFFFFFFFFFFFFull
// max_window_size value that applies only the format's own limit (windowLog <= 31), as
// libzstd's one-shot ZSTD_decompress does.
#define CZ_WINDOW_UNLIMITED 0xFFFFFFFFFFFFFFFFull

typedef struct cz_frame_header {
    uint64_t window_size;
    uint64_t content_size;  // CZ_CONTENT_SIZE_UNKNOWN when absent
    uint32_t dict_id;
    uint32_t header_size;  // magic included
    uint32_t checksum;     // Content_Checksum_Flag
    uint32_t single_segment;
} cz_frame_header;

// Scratch of the table readers (Huffman weights and their FSE table, FSE distributions and
// spreads): written and read back by the sequential parts of a table read.
typedef union cz_decode_scratch {
    cz_huf_scratch huf;
    cz_seq_scratch seq;
} cz_decode_scratch;

// The decoding tables, the hottest data of the decoder, and the scratch their reads go
// through: a caller can keep them in shared memory (cz_decode_all's `tables`); by default
// they live in the workspace.
typedef struct cz_decode_tables {
    uint16_t huf[CZ_HUF_DTABLE_SIZE];
    cz_seq_tables seq;
    cz_decode_scratch scratch;
} cz_decode_tables;

// Everything the decoder keeps for one frame. Lives wherever the caller puts it (global
// memory in the batched kernel); 8-byte aligned.
typedef struct cz_decode_workspace {
    cz_decode_tables own;
    uint16_t* huf_t;      // the tables in use: in `own` or the caller's (set by each entry point)
    cz_seq_tables* seq_t;
    uint32_t rep[CZ_REP_NUM];
    uint32_t huf_log;
    uint32_t huf_valid;
    cz_decode_scratch* scratch;  // in `own` or the caller's tables
    uint8_t literals[CZ_BLOCK_SIZE_MAX];
} cz_decode_workspace;

CZ_HD CZ_FORCEINLINE size_t cz_decode_workspace_size() { return sizeof(cz_decode_workspace); }

// Points the workspace at the tables to use: `tables` (both tables and the readers'
// scratch) or the workspace's own, then `seq_tables` for the sequence tables alone if given.
CZ_HD CZ_FORCEINLINE void cz_decode_use_tables(cz_decode_workspace* ws, cz_decode_tables* tables,
                                               cz_seq_tables* seq_tables) {
    cz_decode_tables* t = tables ? tables : &ws->own;
    ws->huf_t = t->huf;
    ws->scratch = &t->scratch;
    ws->seq_t = seq_tables ? seq_tables : &t->seq;
}

// Parses a frame header at src (magic included). Status: OK, UNKNOWN_MAGIC,
// FRAME_HEADER_TRUNCATED, FRAME_HEADER_RESERVED_BIT, WINDOW_TOO_LARGE (windowLog > 31).
CZ_HD inline uint32_t cz_parse_frame_header(const uint8_t* src, size_t size, cz_frame_header* h) {
    if (size < 4) return CZ_STATUS_FRAME_HEADER_TRUNCATED;
    if (cz_read_le32(src) != CZ_ZSTD_MAGIC) return CZ_STATUS_UNKNOWN_MAGIC;
    if (size < 5) return CZ_STATUS_FRAME_HEADER_TRUNCATED;
    const uint8_t fhd = src[4];
    const unsigned single = CZ_FHD_SINGLE_SEGMENT(fhd);
    const unsigned did_size = cz_dict_id_field_size(CZ_FHD_DICT_ID_FLAG(fhd));
    const unsigned fcs_size = cz_fcs_field_size(CZ_FHD_FCS_FLAG(fhd), single);
    const size_t hsize = 5 + (single ? 0 : 1) + did_size + fcs_size;
    if (size < hsize) return CZ_STATUS_FRAME_HEADER_TRUNCATED;
    if (CZ_FHD_RESERVED_BIT(fhd)) return CZ_STATUS_FRAME_HEADER_RESERVED_BIT;
    size_t pos = 5;
    uint64_t window = 0;
    if (!single) {
        const uint8_t wd = src[pos++];
        if ((wd >> 3) + CZ_WINDOWLOG_ABSOLUTE_MIN > CZ_WINDOWLOG_LIMIT_MAX) return CZ_STATUS_WINDOW_TOO_LARGE;
        window = cz_window_size_of_descriptor(wd);
    }
    uint32_t did = 0;
    if (did_size == 1) did = src[pos];
    if (did_size == 2) did = cz_read_le16(src + pos);
    if (did_size == 4) did = cz_read_le32(src + pos);
    pos += did_size;
    uint64_t fcs = CZ_CONTENT_SIZE_UNKNOWN;
    if (fcs_size == 1) fcs = src[pos];
    if (fcs_size == 2) fcs = (uint64_t)cz_read_le16(src + pos) + 256;
    if (fcs_size == 4) fcs = cz_read_le32(src + pos);
    if (fcs_size == 8) fcs = cz_read_le64(src + pos);
    if (single) window = fcs;
    h->window_size = window;
    h->content_size = fcs;
    h->dict_id = did;
    h->header_size = (uint32_t)hsize;
    h->checksum = CZ_FHD_CHECKSUM_FLAG(fhd);
    h->single_segment = single;
    return CZ_STATUS_OK;
}

// Loads a dictionary: a zstd-format dictionary (magic 0xEC30A437, at least 8 bytes) puts
// its entropy tables and repeat offsets into ws; anything else is raw content.
// *content/*content_size get the part matches may reference, *id the Dictionary_ID (0 for
// raw content). Status: OK or DICTIONARY_CORRUPT. The tables go to ws->huf_t and
// ws->seq_t, which the caller sets (cz_decode_use_tables).
CZ_HD inline uint32_t cz_load_dictionary(const uint8_t* dict, size_t size, cz_decode_workspace* ws,
                                         const uint8_t** content, size_t* content_size, uint32_t* id) {
    cz_seq_tables* const seq = ws->seq_t;
    seq->valid = 0;
    ws->huf_valid = 0;
    ws->rep[0] = CZ_REP_INIT_0;
    ws->rep[1] = CZ_REP_INIT_1;
    ws->rep[2] = CZ_REP_INIT_2;
    *id = 0;
    *content = dict;
    *content_size = dict ? size : 0;
    if (!dict || size < CZ_DICT_HEADER_SIZE || cz_read_le32(dict) != CZ_DICT_MAGIC) return CZ_STATUS_OK;
    if (size <= CZ_DICT_HEADER_SIZE) return CZ_STATUS_DICTIONARY_CORRUPT;
    *id = cz_read_le32(dict + 4);
    size_t pos = CZ_DICT_HEADER_SIZE;
    size_t used = 0;
    unsigned log = 0;
    if (cz_huf_read_table(dict + pos, size - pos, ws->huf_t, &log, &used, &ws->scratch->huf) != CZ_STATUS_OK) {
        return CZ_STATUS_DICTIONARY_CORRUPT;
    }
    ws->huf_log = log;
    pos += used;
    struct {
        cz_fse_dentry* table;
        uint8_t* log;
        unsigned max_symbol, max_log;
    } kinds[3] = {{seq->of, &seq->of_log, CZ_OF_MAX_SYMBOL, CZ_OF_ACCURACY_MAX},
                  {seq->ml, &seq->ml_log, CZ_ML_MAX_SYMBOL, CZ_ML_ACCURACY_MAX},
                  {seq->ll, &seq->ll_log, CZ_LL_MAX_SYMBOL, CZ_LL_ACCURACY_MAX}};
    for (int k = 0; k < 3; k++) {
        unsigned maxs = kinds[k].max_symbol, tlog = 0;
        if (!cz_fse_read_ncount(dict + pos, size - pos, ws->scratch->seq.norm[0], &maxs, &tlog, &used)) {
            return CZ_STATUS_DICTIONARY_CORRUPT;
        }
        if (tlog > kinds[k].max_log) return CZ_STATUS_DICTIONARY_CORRUPT;
        if (!cz_fse_build_dtable(ws->scratch->seq.norm[0], maxs, tlog, kinds[k].table, &ws->scratch->seq.build)) {
            return CZ_STATUS_DICTIONARY_CORRUPT;
        }
        *kinds[k].log = (uint8_t)tlog;
        pos += used;
    }
    if (size - pos < 12) return CZ_STATUS_DICTIONARY_CORRUPT;
    const size_t csize = size - pos - 12;
    for (int i = 0; i < 3; i++) {
        const uint32_t r = cz_read_le32(dict + pos + 4 * i);
        if (r == 0 || r > csize) return CZ_STATUS_DICTIONARY_CORRUPT;
        ws->rep[i] = r;
    }
    seq->valid = 1;
    ws->huf_valid = 1;
    *content = dict + pos + 12;
    *content_size = csize;
    return CZ_STATUS_OK;
}

// The header of a Literals section (RFC 8878 "Literals Section Header").
typedef struct cz_literals_header {
    uint32_t type;     // CZ_LITERALS_RAW, _RLE, _COMPRESSED or _TREELESS
    uint32_t single;   // Huffman-coded: one stream (else four)
    size_t hsize;      // bytes of the header
    size_t n;          // Regenerated_Size: the number of literals
    size_t csize;      // Huffman-coded: Compressed_Size (tree description included)
    size_t section;    // bytes of the whole section (header and content)
} cz_literals_header;

// Parses the Literals section header at src[0 .. size) and checks that the section lies
// inside it and regenerates at most block_max literals. Status: OK or
// LITERALS_HEADER_CORRUPT.
CZ_HD inline uint32_t cz_parse_literals_header(const uint8_t* src, size_t size, size_t block_max,
                                               cz_literals_header* h) {
    if (size < 2) return CZ_STATUS_LITERALS_HEADER_CORRUPT;
    const unsigned type = src[0] & 3;
    const unsigned sf = (src[0] >> 2) & 3;
    h->type = type;
    h->single = 0;
    h->csize = 0;
    if (type == CZ_LITERALS_RAW || type == CZ_LITERALS_RLE) {
        if (sf == 0 || sf == 2) {
            h->hsize = 1;
            h->n = src[0] >> 3;
        } else if (sf == 1) {
            h->hsize = 2;
            h->n = cz_read_le16(src) >> 4;
        } else {
            if (size < 3) return CZ_STATUS_LITERALS_HEADER_CORRUPT;
            h->hsize = 3;
            h->n = (cz_read_le16(src) | ((uint32_t)src[2] << 16)) >> 4;
        }
        if (h->n > block_max) return CZ_STATUS_LITERALS_HEADER_CORRUPT;
        h->section = h->hsize + (type == CZ_LITERALS_RAW ? h->n : 1);
        return h->section > size ? CZ_STATUS_LITERALS_HEADER_CORRUPT : CZ_STATUS_OK;
    }
    if (size < 5) return CZ_STATUS_LITERALS_HEADER_CORRUPT;
    const uint32_t lhc = cz_read_le32(src);
    h->single = sf == 0;
    if (sf <= 1) {
        h->hsize = 3;
        h->n = (lhc >> 4) & 0x3FF;
        h->csize = (lhc >> 14) & 0x3FF;
    } else if (sf == 2) {
        h->hsize = 4;
        h->n = (lhc >> 4) & 0x3FFF;
        h->csize = lhc >> 18;
    } else {
        h->hsize = 5;
        h->n = (lhc >> 4) & 0x3FFFF;
        h->csize = (lhc >> 22) + ((size_t)src[4] << 10);
    }
    if (h->n > block_max) return CZ_STATUS_LITERALS_HEADER_CORRUPT;
    if (!h->single && h->n < CZ_LITERALS_4_STREAMS_MIN) return CZ_STATUS_LITERALS_HEADER_CORRUPT;
    h->section = h->hsize + h->csize;
    return h->section > size ? CZ_STATUS_LITERALS_HEADER_CORRUPT : CZ_STATUS_OK;
}

// Decodes the content of a Huffman-coded Literals section (header h, section at src) into
// dst[0 .. h->n): reads a new tree into dtable (CZ_LITERALS_COMPRESSED) or reuses the one
// there (*valid, *log: the table's state, carried between blocks). Status: OK,
// HUFFMAN_TABLE_MISSING, HUFFMAN_TABLE_CORRUPT, HUFFMAN_STREAM_CORRUPT.
CZ_HD inline uint32_t cz_decode_huffman_literals(const uint8_t* src, const cz_literals_header* h, uint16_t* dtable,
                                                 uint32_t* log, uint32_t* valid, cz_huf_scratch* scratch, uint8_t* dst,
                                                 cz_team team) {
    if (h->type == CZ_LITERALS_TREELESS && !*valid) return CZ_STATUS_HUFFMAN_TABLE_MISSING;
    const uint8_t* p = src + h->hsize;
    size_t psize = h->csize;
    if (h->type == CZ_LITERALS_COMPRESSED) {
        if (!h->single && psize == 0) return CZ_STATUS_HUFFMAN_STREAM_CORRUPT;
        // The team reads the description into shared scratch (cz_huf_read_weights), then
        // fills the table.
        size_t used = 0;
        CZ_PROF_BEGIN(huf_table);
        unsigned l = 0;
        uint32_t st = cz_huf_read_weights(p, psize, &l, &used, scratch, team);
        if (st == CZ_STATUS_OK && used >= psize) st = CZ_STATUS_HUFFMAN_TABLE_CORRUPT;
        // Every lane has the same st and l (log and valid may be per-lane variables).
        *valid = st == CZ_STATUS_OK;
        if (st == CZ_STATUS_OK) {
            *log = l;
            cz_huf_fill_dtable(dtable, l, scratch, team);
            cz_team_sync(team);
        }
        CZ_PROF_END(huf_table, team);
        if (st != CZ_STATUS_OK) return st;
        p += used;
        psize -= used;
    }
    return h->single ? cz_huf_decode_1stream_team(dtable, *log, p, psize, dst, h->n, team)
                     : cz_huf_decode_4streams(dtable, *log, p, psize, dst, h->n, team);
}

// Decodes a Literals section at src[0 .. size) (the start of a compressed block).
// *lits points at the literals (inside src for raw literals, else ws->literals),
// *nlits is their count and *consumed the section size.
CZ_HD inline uint32_t cz_decode_literals(const uint8_t* src, size_t size, size_t block_max, cz_decode_workspace* ws,
                                         const uint8_t** lits, size_t* nlits, size_t* consumed, cz_team team) {
    // A treeless section without a table is reported before its sizes are checked.
    if (size >= 5 && (src[0] & 3) == CZ_LITERALS_TREELESS && !ws->huf_valid) return CZ_STATUS_HUFFMAN_TABLE_MISSING;
    cz_literals_header h;
    uint32_t st = cz_parse_literals_header(src, size, block_max, &h);
    if (st != CZ_STATUS_OK) return st;
    if (h.type == CZ_LITERALS_RAW) {
        *lits = src + h.hsize;
    } else if (h.type == CZ_LITERALS_RLE) {
        cz_team_fill(team, ws->literals, src[h.hsize], h.n);
        *lits = ws->literals;
    } else {
        st = cz_decode_huffman_literals(src, &h, ws->huf_t, &ws->huf_log, &ws->huf_valid, &ws->scratch->huf,
                                        ws->literals, team);
        if (st != CZ_STATUS_OK) return st;
        *lits = ws->literals;
    }
    *nlits = h.n;
    *consumed = h.section;
    return CZ_STATUS_OK;
}

// XXH64 (seed 0) of p[0 .. len): a team runs the four accumulators in lanes 0..3.
CZ_HD inline uint64_t cz_team_xxh64(cz_team team, const uint8_t* p, uint64_t len) {
    if (team.width < 4 || len < 32) return cz_xxh64(p, len, 0);
    const uint64_t stripes = len >> 5;
    uint64_t v = cz_xxh64_lane_init(0, team.lane & 3u);
    if (team.lane < 4) v = cz_xxh64_fold(v, p + 8 * team.lane, 0, stripes);
    const uint64_t v1 = cz_team_shfl64(team, v, 0), v2 = cz_team_shfl64(team, v, 1);
    const uint64_t v3 = cz_team_shfl64(team, v, 2), v4 = cz_team_shfl64(team, v, 3);
    return cz_xxh64_finish(cz_xxh64_converge(v1, v2, v3, v4) + len, p + (stripes << 5), len);
}

// Decodes one frame at src[0 .. src_size) into dst[0 .. dst_capacity) with an optional
// dictionary (dict may be null). A skippable frame is skipped (0 bytes written).
// max_window_size: frames whose window (or, single-segment, content size) exceeds it fail
// with WINDOW_TOO_LARGE; CZ_WINDOW_UNLIMITED keeps only the format's limit.
// On OK, *src_consumed is the frame's size and *dst_written the bytes it produced.
// *detail is the index of the block that failed (0 for header errors). `team` and
// `tables`: see cz_decode_all.
CZ_HD inline uint32_t cz_decode_frame(const uint8_t* src, size_t src_size, uint8_t* dst, size_t dst_capacity,
                                      const uint8_t* dict, size_t dict_size, cz_decode_workspace* ws,
                                      uint64_t max_window_size, size_t* src_consumed, size_t* dst_written,
                                      uint32_t* detail, cz_team team = cz_team_single(),
                                      cz_decode_tables* tables = nullptr, cz_seq_tables* seq_tables = nullptr) {
    cz_decode_use_tables(ws, tables, seq_tables);
    *src_consumed = 0;
    *dst_written = 0;
    *detail = 0;
    if (src_size >= 4 && cz_is_skippable_magic(cz_read_le32(src))) {
        if (src_size < 8) return CZ_STATUS_SOURCE_TRUNCATED;
        const uint64_t len = (uint64_t)cz_read_le32(src + 4) + 8;
        if (len > src_size) return CZ_STATUS_SOURCE_TRUNCATED;
        *src_consumed = (size_t)len;
        return CZ_STATUS_OK;
    }
    cz_frame_header h;
    uint32_t st = cz_parse_frame_header(src, src_size, &h);
    if (st != CZ_STATUS_OK) return st;
    if (src_size < (size_t)h.header_size + CZ_BLOCK_HEADER_SIZE) return CZ_STATUS_SOURCE_TRUNCATED;
    if (max_window_size != CZ_WINDOW_UNLIMITED && h.window_size > max_window_size) return CZ_STATUS_WINDOW_TOO_LARGE;
    cz_output out;
    out.team = team;
    uint32_t dict_id = 0;
    out.dict = dict;
    out.dict_size = 0;
    // Loading builds tables in shared scratch: lane 0 loads, the others wait.
    if (team.lane == 0) st = cz_load_dictionary(dict, dict_size, ws, &out.dict, &out.dict_size, &dict_id);
    st = cz_team_shfl32(team, st, 0);
    dict_id = cz_team_shfl32(team, dict_id, 0);
    out.dict = dict + (cz_team_shfl64(team, (uint64_t)(out.dict - dict), 0));
    out.dict_size = (size_t)cz_team_shfl64(team, out.dict_size, 0);
    cz_team_sync(team);
    if (st != CZ_STATUS_OK) return st;
    if (h.dict_id != 0 && h.dict_id != dict_id) {
        return dict ? CZ_STATUS_DICTIONARY_ID_MISMATCH : CZ_STATUS_DICTIONARY_MISSING;
    }
    out.base = dst;
    out.pos = 0;
    out.cap = dst ? dst_capacity : 0;
    // A frame whose declared content size fits the buffer writes no more than that size: a
    // block that would go past it is the frame's error (CONTENT_SIZE_MISMATCH at that block),
    // not the buffer's, so the verdict does not depend on how much room the caller gave.
    const bool sized = h.content_size != CZ_CONTENT_SIZE_UNKNOWN && h.content_size <= out.cap;
    if (sized) out.cap = (size_t)h.content_size;
    const uint32_t overflow = sized ? CZ_STATUS_CONTENT_SIZE_MISMATCH : CZ_STATUS_OUTPUT_TOO_SMALL;
    const size_t block_max = h.window_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.window_size : CZ_BLOCK_SIZE_MAX;
    size_t ip = h.header_size;
    for (uint32_t block = 0;; block++) {
        *detail = block;
        if (src_size - ip < CZ_BLOCK_HEADER_SIZE) return CZ_STATUS_SOURCE_TRUNCATED;
        const uint32_t bh = cz_read_le16(src + ip) | ((uint32_t)src[ip + 2] << 16);
        ip += CZ_BLOCK_HEADER_SIZE;
        const bool last = bh & 1;
        const unsigned type = (bh >> 1) & 3;
        const size_t bsize = bh >> 3;
        if (type == CZ_BLOCK_RESERVED) return CZ_STATUS_BLOCK_TYPE_RESERVED;
        if (type == CZ_BLOCK_RLE) {
            if (src_size - ip < 1) return CZ_STATUS_SOURCE_TRUNCATED;
            if (bsize > out.cap - out.pos) return overflow;
            CZ_PROF_BEGIN(raw_rle);
            cz_team_fill(team, out.base + out.pos, src[ip], bsize);
            CZ_PROF_END(raw_rle, team);
            out.pos += bsize;
            ip += 1;
        } else {
            if (bsize > src_size - ip) return CZ_STATUS_SOURCE_TRUNCATED;
            if (type == CZ_BLOCK_RAW) {
                if (bsize > out.cap - out.pos) return overflow;
                CZ_PROF_BEGIN(raw_rle);
                cz_team_copy(team, out.base + out.pos, src + ip, bsize);
                CZ_PROF_END(raw_rle, team);
                out.pos += bsize;
            } else {
                if (bsize > block_max) return CZ_STATUS_BLOCK_TOO_LARGE;
                const uint8_t* lits = nullptr;
                size_t nlits = 0, lsize = 0;
                CZ_PROF_BEGIN(literals);
                st = cz_decode_literals(src + ip, bsize, block_max, ws, &lits, &nlits, &lsize, team);
                CZ_PROF_END(literals, team);
                if (st != CZ_STATUS_OK) return st;
                st = cz_decode_sequences(src + ip + lsize, bsize - lsize, lits, nlits, ws->seq_t, ws->rep,
                                         &ws->scratch->seq, &out);
                if (st == CZ_STATUS_OUTPUT_TOO_SMALL) return overflow;
                if (st != CZ_STATUS_OK) return st;
            }
            ip += bsize;
        }
        if (last) break;
    }
    if (h.content_size != CZ_CONTENT_SIZE_UNKNOWN && out.pos != h.content_size) return CZ_STATUS_CONTENT_SIZE_MISMATCH;
    if (h.checksum) {
        if (src_size - ip < CZ_CHECKSUM_SIZE) return CZ_STATUS_SOURCE_TRUNCATED;
        const uint32_t want = cz_read_le32(src + ip);
        CZ_PROF_BEGIN(checksum);
        const uint32_t got = (uint32_t)cz_team_xxh64(team, out.base, out.pos);
        CZ_PROF_END(checksum, team);
        if (want != got) return CZ_STATUS_CHECKSUM_MISMATCH;
        ip += CZ_CHECKSUM_SIZE;
    }
    *src_consumed = ip;
    *dst_written = out.pos;
    return CZ_STATUS_OK;
}

// Decodes every frame of src[0 .. src_size) (Zstandard and skippable, concatenated) into
// dst, one after another, like ZSTD_decompress: each frame starts afresh (its matches can
// reach its own output and the dictionary, not earlier frames). 1..4 bytes left after the
// last frame are TRAILING_BYTES. *detail: (frame index << 16) | block index of the failure.
// team: one thread (default) or a whole warp (cz_team_warp: all 32 lanes call with the same
// arguments and get the same results; see decode_team.cuh). tables: where the decoding
// tables live (for example shared memory, one per team), or null for the workspace;
// seq_tables: the sequence tables alone (5 KiB) somewhere else, or null.
CZ_HD inline uint32_t cz_decode_all(const uint8_t* src, size_t src_size, uint8_t* dst, size_t dst_capacity,
                                    const uint8_t* dict, size_t dict_size, cz_decode_workspace* ws,
                                    uint64_t max_window_size, size_t* dst_written, uint32_t* detail,
                                    cz_team team = cz_team_single(), cz_decode_tables* tables = nullptr,
                                    cz_seq_tables* seq_tables = nullptr) {
    size_t ip = 0, op = 0;
    *dst_written = 0;
    *detail = 0;
    for (uint32_t frame = 0; src_size - ip >= 5; frame++) {
        size_t used = 0, wrote = 0;
        uint32_t block = 0;
        const uint32_t st = cz_decode_frame(src + ip, src_size - ip, dst ? dst + op : nullptr, dst_capacity - op, dict,
                                            dict_size, ws, max_window_size, &used, &wrote, &block, team, tables,
                                            seq_tables);
        if (st != CZ_STATUS_OK) {
            *detail = (frame << 16) | (block & 0xFFFF);
            return st;
        }
        ip += used;
        op += wrote;
    }
    if (ip != src_size) return CZ_STATUS_TRAILING_BYTES;
    *dst_written = op;
    return CZ_STATUS_OK;
}

// ---- One frame decoded by two teams at once (the fused zipper kernel) ----
//
// The literals and the sequences of a compressed block are independent until execution.
// For a simple frame, team L decodes the literals (cz_split_literals) while team S decodes
// the sequences into storage (cz_split_sequences); after a barrier of the caller's, team L
// executes them and checks the frame (cz_split_finish). A frame is simple when src holds
// exactly one Zstandard frame with no dictionary ID, a Frame_Content_Size within
// dst_capacity, a window within max_window_size and one block, compressed and last, whose
// sequences fit the storage (the workspace's literal buffer after the literals). Anything
// else, and every error, makes cz_split_finish return false: the caller then decodes the
// frame with cz_decode_all, which gives the frame's exact status. The decoded bytes of a
// frame the split path accepts are the frame's content: both paths execute the same
// sequences on the same literals.

typedef struct cz_split_frame {
    size_t block_at;      // the block's first byte (after its header)
    size_t block_size;
    size_t block_max;
    uint64_t content_size;
    uint32_t checksum;    // Content_Checksum_Flag
    cz_literals_header lits;
} cz_split_frame;

// True when src[0 .. src_size) is a simple frame (see above); fills *f.
CZ_HD inline bool cz_split_parse(const uint8_t* src, size_t src_size, size_t dst_capacity, uint64_t max_window_size,
                                 cz_split_frame* f) {
    if (src_size < 4 || cz_is_skippable_magic(cz_read_le32(src))) return false;
    cz_frame_header h;
    if (cz_parse_frame_header(src, src_size, &h) != CZ_STATUS_OK) return false;
    if (h.dict_id != 0 || h.content_size == CZ_CONTENT_SIZE_UNKNOWN || h.content_size > dst_capacity) return false;
    if (max_window_size != CZ_WINDOW_UNLIMITED && h.window_size > max_window_size) return false;
    size_t ip = h.header_size;
    if (src_size - ip < CZ_BLOCK_HEADER_SIZE) return false;
    const uint32_t bh = cz_read_le16(src + ip) | ((uint32_t)src[ip + 2] << 16);
    ip += CZ_BLOCK_HEADER_SIZE;
    f->block_size = bh >> 3;
    f->block_max = h.window_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.window_size : CZ_BLOCK_SIZE_MAX;
    if (!(bh & 1) || ((bh >> 1) & 3) != CZ_BLOCK_COMPRESSED || f->block_size > f->block_max) return false;
    const size_t tail = h.checksum ? CZ_CHECKSUM_SIZE : 0;
    if (src_size - ip < tail || src_size - ip - tail != f->block_size) return false;
    if (cz_parse_literals_header(src + ip, f->block_size, f->block_max, &f->lits) != CZ_STATUS_OK) return false;
    f->block_at = ip;
    f->content_size = h.content_size;
    f->checksum = h.checksum;
    return true;
}

// Where team S stores the sequences of a block with n literals: after the literals in the
// workspace's literal buffer; *cap gets how many fit.
CZ_HD CZ_FORCEINLINE cz_seq_triple* cz_split_store(cz_decode_workspace* ws, size_t n, uint32_t* cap) {
    const size_t at = (n + 15) & ~(size_t)15;
    *cap = at < CZ_BLOCK_SIZE_MAX ? (uint32_t)((CZ_BLOCK_SIZE_MAX - at) / sizeof(cz_seq_triple)) : 0u;
    return reinterpret_cast<cz_seq_triple*>(ws->literals + at);
}

// Team S: decodes the sequences of a simple frame with its own tables t and scratch s
// (not the ones team L uses) into the workspace. *nseq and *ok (1: stored, 0: the frame
// needs cz_decode_all) are written by every lane alike.
CZ_HD inline void cz_split_sequences(const uint8_t* src, size_t src_size, size_t dst_capacity,
                                     uint64_t max_window_size, cz_decode_workspace* ws, cz_seq_tables* t,
                                     cz_seq_scratch* s, cz_team team, uint32_t* nseq, uint32_t* ok) {
    cz_split_frame f;
    uint32_t good = 0, n = 0;
    if (cz_split_parse(src, src_size, dst_capacity, max_window_size, &f) && f.lits.section <= f.block_size) {
        uint32_t cap = 0;
        cz_seq_triple* const store = cz_split_store(ws, f.lits.n, &cap);
        t->valid = 0;
        uint32_t rep[CZ_REP_NUM] = {CZ_REP_INIT_0, CZ_REP_INIT_1, CZ_REP_INIT_2};
        cz_output out;
        out.base = nullptr;
        out.pos = 0;
        out.cap = 0;
        out.dict = nullptr;
        out.dict_size = 0;
        out.team = team;
        const size_t at = f.block_at + f.lits.section;
        good = cz_decode_sequences(src + at, f.block_size - f.lits.section, nullptr, f.lits.n, t, rep, s, &out, store,
                                   cap, &n) == CZ_STATUS_OK;
    }
    cz_team_sync(team);
    *nseq = n;
    *ok = good;
}

// Team L: decodes the literals of a simple frame (tables: as for cz_decode_all). Returns 1
// with *lits / *nlits set, or 0 when the frame needs cz_decode_all.
CZ_HD inline uint32_t cz_split_literals(const uint8_t* src, size_t src_size, size_t dst_capacity,
                                        uint64_t max_window_size, cz_decode_workspace* ws, cz_decode_tables* tables,
                                        cz_team team, const uint8_t** lits, size_t* nlits) {
    cz_decode_use_tables(ws, tables, nullptr);
    ws->huf_valid = 0;
    cz_team_sync(team);
    cz_split_frame f;
    if (!cz_split_parse(src, src_size, dst_capacity, max_window_size, &f)) return 0;
    size_t lsize = 0;
    CZ_PROF_BEGIN(literals);
    const uint32_t st = cz_decode_literals(src + f.block_at, f.block_size, f.block_max, ws, lits, nlits, &lsize, team);
    CZ_PROF_END(literals, team);
    return st == CZ_STATUS_OK;
}

// Team L, after the caller's barrier (team S's results visible): executes the stored
// sequences into dst and checks the content size and checksum. True with *dst_written set
// when the frame decoded; false when the caller must decode it with cz_decode_all.
CZ_HD inline bool cz_split_finish(const uint8_t* src, size_t src_size, uint8_t* dst, size_t dst_capacity,
                                  uint64_t max_window_size, cz_decode_workspace* ws, cz_team team,
                                  const uint8_t* lits, size_t nlits, uint32_t lits_ok, uint32_t seq_ok,
                                  uint32_t nseq, size_t* dst_written) {
    *dst_written = 0;
    cz_split_frame f;
    if (!lits_ok || !seq_ok || !dst || !cz_split_parse(src, src_size, dst_capacity, max_window_size, &f)) return false;
    if (f.lits.n != nlits) return false;
    uint32_t cap = 0;
    const cz_seq_triple* const store = cz_split_store(ws, nlits, &cap);
    cz_output out;
    out.base = dst;
    out.pos = 0;
    out.cap = dst_capacity;
    out.dict = nullptr;
    out.dict_size = 0;
    out.team = team;
    if (cz_exec_stored(store, nseq, lits, nlits, &out) != CZ_STATUS_OK) return false;
    if (out.pos != f.content_size) return false;
    if (f.checksum) {
        const uint32_t want = cz_read_le32(src + src_size - CZ_CHECKSUM_SIZE);
        CZ_PROF_BEGIN(checksum);
        const uint32_t got = (uint32_t)cz_team_xxh64(team, out.base, out.pos);
        CZ_PROF_END(checksum, team);
        if (want != got) return false;
    }
    *dst_written = out.pos;
    return true;
}

// Walks the frames of src[0 .. src_size) without decoding them: checks each header and
// block header and adds up what the output can need. *content_total is the sum of the
// frames' Frame_Content_Size where every frame has one (*all_known = 1); *bound is an
// upper bound on the output of a valid input (content size where known, else raw and RLE
// block sizes plus Block_Maximum_Size per compressed block); *max_window the largest
// window. Status: as cz_decode_frame for header-level problems.
CZ_HD inline uint32_t cz_scan_frames(const uint8_t* src, size_t src_size, uint64_t* content_total, uint32_t* all_known,
                                     uint64_t* bound, uint64_t* max_window) {
    *content_total = 0;
    *all_known = 1;
    *bound = 0;
    *max_window = 0;
    size_t ip = 0;
    while (src_size - ip >= 5) {
        const uint8_t* f = src + ip;
        const size_t left = src_size - ip;
        if (cz_is_skippable_magic(cz_read_le32(f))) {
            if (left < 8) return CZ_STATUS_SOURCE_TRUNCATED;
            const uint64_t len = (uint64_t)cz_read_le32(f + 4) + 8;
            if (len > left) return CZ_STATUS_SOURCE_TRUNCATED;
            ip += (size_t)len;
            continue;
        }
        cz_frame_header h;
        const uint32_t st = cz_parse_frame_header(f, left, &h);
        if (st != CZ_STATUS_OK) return st;
        if (h.window_size > *max_window) *max_window = h.window_size;
        const uint64_t block_max = h.window_size < CZ_BLOCK_SIZE_MAX ? h.window_size : CZ_BLOCK_SIZE_MAX;
        size_t p = h.header_size;
        uint64_t frame_bound = 0;
        for (;;) {
            if (left - p < CZ_BLOCK_HEADER_SIZE) return CZ_STATUS_SOURCE_TRUNCATED;
            const uint32_t bh = cz_read_le16(f + p) | ((uint32_t)f[p + 2] << 16);
            p += CZ_BLOCK_HEADER_SIZE;
            const unsigned type = (bh >> 1) & 3;
            const size_t bsize = bh >> 3;
            if (type == CZ_BLOCK_RESERVED) return CZ_STATUS_BLOCK_TYPE_RESERVED;
            const size_t csize = type == CZ_BLOCK_RLE ? 1 : bsize;
            if (csize > left - p) return CZ_STATUS_SOURCE_TRUNCATED;
            frame_bound += type == CZ_BLOCK_COMPRESSED ? block_max : bsize;
            p += csize;
            if (bh & 1) break;
        }
        if (h.checksum) {
            if (left - p < CZ_CHECKSUM_SIZE) return CZ_STATUS_SOURCE_TRUNCATED;
            p += CZ_CHECKSUM_SIZE;
        }
        if (h.content_size == CZ_CONTENT_SIZE_UNKNOWN) {
            *all_known = 0;
        } else {
            *content_total += h.content_size;
            if (h.content_size < frame_bound) frame_bound = h.content_size;
        }
        *bound += frame_bound;
        ip += p;
    }
    if (ip != src_size) return CZ_STATUS_TRAILING_BYTES;
    return CZ_STATUS_OK;
}

// ---- Literal frames with a table given in advance (the fused zipper kernel) ----
//
// A literal frame (cz_encode_literal_frame in frame_encode.cuh) is a frame whose blocks are
// raw, RLE, or compressed with raw, RLE or treeless Huffman literals and no sequences. Given
// the decoding table of its dictionary's Huffman table, such a frame needs no table build, and
// its parts (each Huffman stream, each raw or RLE run) are independent. The blocks are taken in
// groups of CZ_LITERAL_GROUP blocks, slot 4j + k of a group (k < 4) being stream k of block j,
// or its one raw or RLE run (k = 0): a team deals the 32 slots to its lanes, every lane decodes
// its own stream, and the team copies the runs together. A whole warp walks the block chain
// once (lane j keeps block j, cz_literal_blocks_warp) and checks the blocks in parallel;
// narrower teams (and the reference build) walk each group's headers in turn (cz_literal_group).

#define CZ_LITERAL_FRAME_MAX_BLOCKS 64  // frames of more blocks are left to cz_decode_all
#define CZ_LITERAL_GROUP 8              // blocks per group (4 slots each)
#define CZ_LITERAL_SLOTS (4 * CZ_LITERAL_GROUP)

// One independent part of a literal frame's content.
typedef struct cz_literal_part {
    uint32_t kind;  // 0 copy, 1 fill with src[at], 2 Huffman stream, 3 nothing (an unused slot)
    uint32_t at;    // first byte in the frame
    uint32_t len;   // bytes in the frame (copy, stream)
    uint32_t out;   // first byte of the content
    uint32_t n;     // bytes of content
} cz_literal_part;

// The raw and RLE runs among the parts p of a team's lanes (hundreds of bytes each): the whole
// team copies each one in turn (dst[out ..) from src[at ..), or filled with src[at]).
CZ_HD CZ_FORCEINLINE void cz_literal_runs(cz_team team, const cz_literal_part* p, const uint8_t* src, uint8_t* dst) {
    uint32_t runs = cz_team_ballot(team, p->kind < 2);
    while (runs) {
        const unsigned l = cz_lowbit32(runs);
        runs &= runs - 1;
        const uint32_t kind = cz_team_shfl32(team, p->kind, l), at = cz_team_shfl32(team, p->at, l);
        const uint32_t out = cz_team_shfl32(team, p->out, l), n = cz_team_shfl32(team, p->n, l);
        if (kind == 0) {
            cz_team_copy(team, dst + out, src + at, n);
        } else {
            cz_team_fill(team, dst + out, src[at], n);
        }
    }
}

// Reads the header of the next block of a literal frame at src[*p] (the frame's ++*blocks-th),
// checks it (size within block_max and the frame, a type other than reserved, a compressed block
// of at least 2 bytes) and moves *p past the block; *start gets the block's first byte after its
// header, *h the header. False when the check fails.
CZ_HD CZ_FORCEINLINE bool cz_literal_block_step(const uint8_t* src, size_t size, size_t* p, size_t block_max,
                                                uint32_t* blocks, uint32_t* start, uint32_t* h) {
    if (++*blocks > CZ_LITERAL_FRAME_MAX_BLOCKS || size - *p < CZ_BLOCK_HEADER_SIZE) return false;
    const uint32_t b = cz_read_le16(src + *p) | ((uint32_t)src[*p + 2] << 16);
    const unsigned type = (b >> 1) & 3;
    const size_t bsize = b >> 3;
    const size_t at = *p + CZ_BLOCK_HEADER_SIZE;
    const size_t in = type == CZ_BLOCK_RLE ? 1 : bsize;
    if (type == CZ_BLOCK_RESERVED || bsize > block_max || size - at < in) return false;
    if (type == CZ_BLOCK_COMPRESSED && bsize < 2) return false;
    *start = (uint32_t)at;
    *h = b;
    *p = at + in;
    return true;
}

// Walks the next group of up to CZ_LITERAL_GROUP blocks of a literal frame src[0 .. size)
// (size < 2^32) starting at src[*ip], content bytes [0 .. *op) already accounted for, and gives
// `slot` (< CZ_LITERAL_SLOTS) its part. False when the blocks show that the frame is not a
// literal frame of content_size bytes (or is damaged); else *ip and *op are past the group,
// *blocks counts the blocks so far and *last tells whether the group ends with the last block.
// Reads src[0 .. size) only; the result does not depend on `slot` other than through *part.
CZ_HD inline bool cz_literal_group(const uint8_t* src, size_t size, size_t* ip, uint64_t* op, uint64_t content_size,
                                   size_t block_max, bool have_table, uint32_t* blocks, uint32_t slot,
                                   cz_literal_part* part, bool* last) {
    uint32_t at[CZ_LITERAL_GROUP], bh[CZ_LITERAL_GROUP];
    size_t p = *ip;
    uint32_t nb = 0;
    bool end = false;
    // The block headers: each block's start follows from the previous header alone.
    CZ_UNROLL
    for (int j = 0; j < CZ_LITERAL_GROUP; j++) {
        at[j] = 0;
        bh[j] = 0;
        if (end) continue;
        if (!cz_literal_block_step(src, size, &p, block_max, blocks, &at[j], &bh[j])) return false;
        nb++;
        end = (bh[j] & 1) != 0;
    }
    // The blocks' contents: literal headers and jump tables (independent reads).
    uint64_t o = *op;
    part->kind = 3;
    part->at = part->len = part->out = part->n = 0;
    CZ_UNROLL
    for (int j = 0; j < CZ_LITERAL_GROUP; j++) {
        if ((uint32_t)j >= nb) continue;
        const unsigned type = (bh[j] >> 1) & 3;
        const size_t bsize = bh[j] >> 3, b0 = at[j];
        const uint32_t k = slot - 4u * (uint32_t)j;  // this slot's stream of block j when < 4
        if (content_size - o < (type == CZ_BLOCK_COMPRESSED ? 0 : bsize)) return false;
        if (type != CZ_BLOCK_COMPRESSED) {
            if (k == 0) {
                part->kind = type == CZ_BLOCK_RAW ? 0u : 1u;
                part->at = (uint32_t)b0;
                part->len = type == CZ_BLOCK_RAW ? (uint32_t)bsize : 1u;
                part->out = (uint32_t)o;
                part->n = (uint32_t)bsize;
            }
            o += bsize;
            continue;
        }
        cz_literals_header lh;
        if (cz_parse_literals_header(src + b0, bsize, block_max, &lh) != CZ_STATUS_OK) return false;
        // Exactly one byte after the literals: Number_of_Sequences 0.
        if (lh.section + 1 != bsize || src[b0 + bsize - 1] != 0 || content_size - o < lh.n) return false;
        const size_t s0 = b0 + lh.hsize;
        if (lh.type == CZ_LITERALS_RAW || lh.type == CZ_LITERALS_RLE) {
            if (k == 0) {
                part->kind = lh.type == CZ_LITERALS_RAW ? 0u : 1u;
                part->at = (uint32_t)s0;
                part->len = lh.type == CZ_LITERALS_RAW ? (uint32_t)lh.n : 1u;
                part->out = (uint32_t)o;
                part->n = (uint32_t)lh.n;
            }
        } else if (lh.type == CZ_LITERALS_TREELESS && have_table) {
            if (lh.single) {
                if (k == 0) {
                    part->kind = 2;
                    part->at = (uint32_t)s0;
                    part->len = (uint32_t)lh.csize;
                    part->out = (uint32_t)o;
                    part->n = (uint32_t)lh.n;
                }
            } else {
                if (lh.csize < 10) return false;
                const size_t l0 = cz_read_le16(src + s0), l1 = cz_read_le16(src + s0 + 2), l2 = cz_read_le16(src + s0 + 4);
                if (CZ_HUF_JUMP_TABLE_SIZE + l0 + l1 + l2 > lh.csize) return false;
                const size_t seg = (lh.n + 3) / 4;
                if (3 * seg > lh.n) return false;
                if (k < 4) {
                    part->kind = 2;
                    part->at = (uint32_t)(s0 + CZ_HUF_JUMP_TABLE_SIZE + (k > 0 ? l0 : 0) + (k > 1 ? l1 : 0) +
                                          (k > 2 ? l2 : 0));
                    part->len = (uint32_t)(k == 0   ? l0
                                           : k == 1 ? l1
                                           : k == 2 ? l2
                                                    : lh.csize - CZ_HUF_JUMP_TABLE_SIZE - l0 - l1 - l2);
                    part->out = (uint32_t)(o + k * seg);
                    part->n = (uint32_t)(k < 3 ? seg : lh.n - 3 * seg);
                }
            }
        } else {
            return false;  // a new Huffman table, or treeless without one
        }
        o += lh.n;
    }
    *ip = p;
    *op = o;
    *last = end;
    return true;
}

#if defined(__CUDACC__)
// The part of slot k (< 4) of a literal frame's block whose header bh is at src[b0 - 3] (the
// block inside the frame, as cz_literal_block_step checked): its checks (literal header, a
// block that ends after its literals with Number_of_Sequences 0, treeless Huffman literals
// only with a table), the block's content bytes in *n and, when this slot has a part, that
// part in *q with `out` relative to the block's first content byte (a raw or RLE run is slot
// 0's). False when a check fails.
__device__ CZ_FORCEINLINE bool cz_literal_block_part(const uint8_t* src, uint32_t b0, uint32_t bh, uint32_t k,
                                                     size_t block_max, bool have_table, uint32_t* n,
                                                     cz_literal_part* q) {
    const unsigned type = (bh >> 1) & 3;
    const uint32_t bsize = bh >> 3;
    if (type != CZ_BLOCK_COMPRESSED) {
        *n = bsize;
        if (k == 0) {
            q->kind = type == CZ_BLOCK_RAW ? 0u : 1u;
            q->at = b0;
            q->len = type == CZ_BLOCK_RAW ? bsize : 1u;
            q->n = bsize;
        }
        return true;
    }
    cz_literals_header lh;
    // Exactly one byte after the literals: Number_of_Sequences 0.
    if (cz_parse_literals_header(src + b0, bsize, block_max, &lh) != CZ_STATUS_OK || lh.section + 1 != bsize ||
        src[b0 + bsize - 1] != 0)
        return false;
    *n = (uint32_t)lh.n;
    const uint32_t s0 = b0 + (uint32_t)lh.hsize;
    if (lh.type == CZ_LITERALS_RAW || lh.type == CZ_LITERALS_RLE) {
        if (k == 0) {
            q->kind = lh.type == CZ_LITERALS_RAW ? 0u : 1u;
            q->at = s0;
            q->len = lh.type == CZ_LITERALS_RAW ? *n : 1u;
            q->n = *n;
        }
        return true;
    }
    if (lh.type != CZ_LITERALS_TREELESS || !have_table) return false;  // a new Huffman table, or treeless without one
    if (lh.single) {
        if (k == 0) {
            q->kind = 2;
            q->at = s0;
            q->len = (uint32_t)lh.csize;
            q->n = *n;
        }
        return true;
    }
    if (lh.csize < 10) return false;
    const uint32_t l0 = cz_read_le16(src + s0), l1 = cz_read_le16(src + s0 + 2), l2 = cz_read_le16(src + s0 + 4);
    const uint32_t seg = (*n + 3) / 4;
    if (CZ_HUF_JUMP_TABLE_SIZE + l0 + l1 + l2 > lh.csize || 3 * seg > *n) return false;
    q->kind = 2;
    q->at = s0 + CZ_HUF_JUMP_TABLE_SIZE + (k > 0 ? l0 : 0) + (k > 1 ? l1 : 0) + (k > 2 ? l2 : 0);
    q->len = k == 0   ? l0
             : k == 1 ? l1
             : k == 2 ? l2
                      : (uint32_t)lh.csize - CZ_HUF_JUMP_TABLE_SIZE - l0 - l1 - l2;
    q->out = k * seg;
    q->n = k < 3 ? seg : *n - 3 * seg;
    return true;
}

#endif

// The header checks of a literal frame src[0 .. size) (size < 2^32): one zstd frame, single
// segment, a content size of at most dst_capacity, no dictionary or the one with ID dict_id.
// True with *h the parsed header when they pass.
// With `parsed` (src's header as cz_parse_frame_header gave it, status OK) the header is not
// parsed again.
CZ_HD CZ_FORCEINLINE bool cz_literal_frame_header(const uint8_t* src, size_t size, size_t dst_capacity,
                                                  uint32_t dict_id, cz_frame_header* h,
                                                  const cz_frame_header* parsed = nullptr) {
    if (size < 4 || size >= 0xFFFFFFFFull || cz_is_skippable_magic(cz_read_le32(src))) return false;
    if (parsed) {
        *h = *parsed;
    } else if (cz_parse_frame_header(src, size, h) != CZ_STATUS_OK) {
        return false;
    }
    return h->single_segment && (h->dict_id == 0 || h->dict_id == dict_id) &&
           h->content_size != CZ_CONTENT_SIZE_UNKNOWN && h->content_size <= dst_capacity;
}

// Whether a literal frame with header h whose last block ends at src[ip] after op content bytes
// ends as it must: all its content, then only the checksum (when it has one).
CZ_HD CZ_FORCEINLINE bool cz_literal_frame_ends(const cz_frame_header* h, size_t size, size_t ip, uint64_t op) {
    return op == h->content_size && size - ip == (h->checksum ? CZ_CHECKSUM_SIZE : 0u);
}

#if defined(__CUDACC__)
#define CZ_LITERAL_WARP_MAX_BLOCKS 32  // a warp's chain walk leaves frames of more blocks to the caller

// The byte at shared-memory address a.
__device__ CZ_FORCEINLINE uint32_t cz_lds_u8(uint32_t a) {
    uint32_t v;
    asm volatile("ld.shared.u8 %0, [%1];" : "=r"(v) : "r"(a));
    return v;
}

// The block chain of a literal frame src[0 .. size) (size < 2^32) from its first block at
// src[ip]: every lane walks it alike, reading each block header (3 bytes) and moving past the
// block, with nothing else on the dependent chain (the headers are checked afterwards, one
// lane per block); lane j keeps block j's first byte after its header (*at) and its header
// (*h). *nb gets the block count and *end where the last block ends. False when a header lies
// outside the frame, a block's content reaches past the frame or the frame has more than
// CZ_LITERAL_WARP_MAX_BLOCKS blocks. SHARED: src is in shared memory (read with 32-bit shared
// addresses, which keeps 64-bit address arithmetic off the chain).
template <bool SHARED>
__device__ CZ_FORCEINLINE bool cz_literal_chain(const uint8_t* src, uint32_t size, uint32_t ip, uint32_t* at,
                                                uint32_t* h, uint32_t* nb, uint32_t* end) {
    const uint32_t lane = threadIdx.x & 31u;
    const uint32_t sa = SHARED ? (uint32_t)__cvta_generic_to_shared(src) : 0u;
    uint32_t p = ip, j = 0;
    bool ok = size - p >= CZ_BLOCK_HEADER_SIZE && p <= size;
    *at = *h = 0;
    while (ok) {
        const uint32_t b =
            SHARED ? cz_lds_u8(sa + p) | (cz_lds_u8(sa + p + 1) << 8) | (cz_lds_u8(sa + p + 2) << 16)
                   : (uint32_t)src[p] | ((uint32_t)src[p + 1] << 8) | ((uint32_t)src[p + 2] << 16);
        const uint32_t a = p + CZ_BLOCK_HEADER_SIZE;
        const uint32_t in = ((b >> 1) & 3) == CZ_BLOCK_RLE ? 1u : b >> 3;
        if (j == lane) {
            *at = a;
            *h = b;
        }
        j++;
        ok = in <= size - a;
        p = a + in;
        if (b & 1) break;
        ok = ok && j < CZ_LITERAL_WARP_MAX_BLOCKS && size - p >= CZ_BLOCK_HEADER_SIZE;
    }
    *nb = j;
    *end = p;
    return ok;
}

// The content bytes of a literal frame's block with header h whose first byte after the header
// is src[at] (inside a frame of `size` bytes), and whether the header passes the block checks
// of cz_literal_block_step (a type other than reserved, at most block_max, a compressed block of
// at least 2 bytes). A compressed block's content is its literals header's Regenerated_Size,
// read without the header's other checks (cz_literal_block_part checks them and must find
// the same size).
__device__ CZ_FORCEINLINE bool cz_literal_block_content(const uint8_t* src, uint32_t size, uint32_t at, uint32_t h,
                                                        uint32_t block_max, uint32_t* n) {
    const uint32_t type = (h >> 1) & 3, bsize = h >> 3;
    *n = bsize;
    if (type == CZ_BLOCK_RESERVED || bsize > block_max || (type == CZ_BLOCK_COMPRESSED && bsize < 2)) return false;
    if (type == CZ_BLOCK_COMPRESSED) {
        const uint32_t x = (uint32_t)src[at] | ((uint32_t)src[at + 1] << 8) |
                           (at + 2 < size ? (uint32_t)src[at + 2] << 16 : 0u);
        const uint32_t sf = (x >> 2) & 3;
        *n = (x & 3) < 2 ? (sf == 1 ? (x & 0xFFFFu) >> 4 : sf == 3 ? x >> 4 : (x & 0xFFu) >> 3)
                         : (x >> 4) & (sf <= 1 ? 0x3FFu : sf == 2 ? 0x3FFFu : 0x3FFFFu);
    }
    return true;
}

// cz_literal_chain from a block index: `hint` is lane j's claim of where block j's header
// starts in the frame (0 in lanes past the last block; a block-start table kept beside the
// frames, which may be stale or wrong). Every lane reads its block's header at once and the
// claims are checked against each other: block 0 at ip, block j + 1 where block j ends, the
// last-block flag on block nb - 1 only, every header and block inside the frame, at most
// CZ_LITERAL_WARP_MAX_BLOCKS blocks. True, the same in every lane, when all of that holds: the
// claims are then exactly the chain cz_literal_chain walks, and *at, *h, *nb and *end are what
// it gives. False (outputs unspecified) when any check fails; the caller then walks the chain.
__device__ CZ_FORCEINLINE bool cz_literal_chain_hinted(const uint8_t* src, uint32_t size, uint32_t ip,
                                                       uint32_t hint, uint32_t* at, uint32_t* h, uint32_t* nb,
                                                       uint32_t* end) {
    const uint32_t lane = threadIdx.x & 31u;
    const uint32_t present = __ballot_sync(CZ_TEAM_FULL_MASK, hint != 0);
    const uint32_t count = (uint32_t)__popc(present);
    // The claims must be a prefix of the lanes (uniform: no lane reads anything otherwise).
    if (count == 0 || present != (count == 32 ? ~0u : (1u << count) - 1u)) return false;
    bool good = true;
    uint32_t b = 0, a = 0, e = 0;
    if (lane < count) {
        good = hint <= size && size - hint >= CZ_BLOCK_HEADER_SIZE;
        if (good) {
            b = (uint32_t)src[hint] | ((uint32_t)src[hint + 1] << 8) | ((uint32_t)src[hint + 2] << 16);
            a = hint + CZ_BLOCK_HEADER_SIZE;
            const uint32_t in = ((b >> 1) & 3) == CZ_BLOCK_RLE ? 1u : b >> 3;
            good = in <= size - a && ((b & 1u) != 0) == (lane + 1 == count);
            e = a + in;
        }
    }
    const uint32_t next = __shfl_down_sync(CZ_TEAM_FULL_MASK, hint, 1);
    if (lane + 1 < count) good = good && e == next;
    if (lane == 0) good = good && hint == ip;
    if (!__all_sync(CZ_TEAM_FULL_MASK, good)) return false;
    *at = a;
    *h = b;
    *nb = count;
    *end = __shfl_sync(CZ_TEAM_FULL_MASK, e, (int)(count - 1));
    return true;
}

// Every lane of a warp, for the literal frame src[0 .. size) whose header h passed
// cz_literal_frame_header: walks the block chain once (cz_literal_chain; with a block index,
// `hint` as cz_literal_chain_hinted takes it, the index checked in parallel instead when it
// holds), checks block j and reads its content size in lane j (cz_literal_block_content: *n, 0
// in lanes past the last block), and scans the sizes: *incl is the content up to the end of
// lane j's block. *nb gets the block count. True, the same in every lane, when the chain and
// every block's header check pass and the blocks' content and end match the frame's
// (cz_literal_frame_ends). The outcome does not depend on `hint`.
__device__ inline bool cz_literal_blocks_warp(const uint8_t* src, size_t size, const cz_frame_header* h,
                                              size_t block_max, uint32_t* at, uint32_t* bh, uint32_t* n,
                                              uint32_t* incl, uint32_t* nb, uint32_t hint = 0) {
    const uint32_t lane = threadIdx.x & 31u;
    uint32_t end;
    *n = 0;
    const uint32_t ip = (uint32_t)h->header_size;
    bool ok = cz_literal_chain_hinted(src, (uint32_t)size, ip, hint, at, bh, nb, &end) ||
              (__isShared(src) ? cz_literal_chain<true>(src, (uint32_t)size, ip, at, bh, nb, &end)
                               : cz_literal_chain<false>(src, (uint32_t)size, ip, at, bh, nb, &end));
    const bool bad = ok && lane < *nb && !cz_literal_block_content(src, (uint32_t)size, *at, *bh, (uint32_t)block_max, n);
    ok = ok && !__any_sync(CZ_TEAM_FULL_MASK, bad);
    uint32_t v = *n;
    for (int o = 1; o < 32; o <<= 1) {
        const uint32_t up = __shfl_up_sync(CZ_TEAM_FULL_MASK, v, o);
        if ((int)lane >= o) v += up;
    }
    *incl = v;
    return ok && cz_literal_frame_ends(h, size, end, __shfl_sync(CZ_TEAM_FULL_MASK, v, 31));
}

// Lane l's part of group g of the blocks cz_literal_blocks_warp walked (at, bh, n, incl as it
// left them): stream l % 4 of block 8g + l / 4, or that block's raw or RLE run (l % 4 = 0),
// with `out` in the content (cz_literal_block_part, which checks the block and must find the
// same content size). False, the same in every lane, when a block check fails.
__device__ inline bool cz_literal_group_part(const uint8_t* src, uint32_t g, uint32_t at, uint32_t bh, uint32_t n,
                                             uint32_t incl, uint32_t nb, size_t block_max, bool have_table,
                                             cz_literal_part* p) {
    const uint32_t lane = threadIdx.x & 31u;
    const uint32_t b = g * CZ_LITERAL_GROUP + (lane >> 2);
    const uint32_t b_at = __shfl_sync(CZ_TEAM_FULL_MASK, at, (int)(b & 31u));
    const uint32_t b_h = __shfl_sync(CZ_TEAM_FULL_MASK, bh, (int)(b & 31u));
    const uint32_t b_n = __shfl_sync(CZ_TEAM_FULL_MASK, n, (int)(b & 31u));
    const uint32_t b_before = __shfl_sync(CZ_TEAM_FULL_MASK, incl, (int)(b & 31u)) - b_n;
    p->kind = 3;
    p->at = p->len = p->out = p->n = 0;
    uint32_t pn = 0;
    const bool wrong =
        b < nb && (!cz_literal_block_part(src, b_at, b_h, lane & 3u, block_max, have_table, &pn, p) || pn != b_n);
    if (__any_sync(CZ_TEAM_FULL_MASK, wrong)) return false;
    p->out += b_before;
    return true;
}
#endif

// Decodes the literal frame src[0 .. size) into dst[0 .. dst_capacity) with the Huffman
// decoding table dt (log bits; log 0: no table) of the dictionary whose ID is dict_id. True
// when src is exactly one single-segment literal frame with a content size within
// dst_capacity and a dictionary ID of 0 or dict_id, every part decodes and the content
// matches the checksum when there is one: *written is then the content size. False for
// anything else, damaged or not: the caller decodes such frames with cz_decode_all (with the
// dictionary), which gives the frame's status. Every lane of the team (width 1 or a divisor of
// 32) calls with the same arguments and gets the same result; slots i, i + width, ... of each
// group go to lane i: a Huffman stream is decoded by its lane, a raw or RLE run is copied by
// the whole team. `hint`: with a whole warp, this lane's entry of a block index
// (cz_literal_chain_hinted; 0: none), which changes how fast the block chain is found, never
// the result. Reads src[0 .. size) and dt only; writes dst[0 .. content size) only.
CZ_HD inline bool cz_decode_literal_frame(const uint8_t* src, size_t size, uint8_t* dst, size_t dst_capacity,
                                          const uint16_t* dt, unsigned log, uint32_t dict_id, cz_team team,
                                          size_t* written, uint32_t hint = 0) {
    (void)hint;  // read by whole warps on the GPU only
    cz_frame_header h;
    if (!cz_literal_frame_header(src, size, dst_capacity, dict_id, &h)) return false;
    const size_t block_max = h.content_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.content_size : CZ_BLOCK_SIZE_MAX;
    bool ok = true, last = false, ends_checked = false;
    size_t ip = h.header_size;
    uint64_t op = 0;
    uint32_t blocks = 0;
    CZ_PROF_BEGIN(literal_parts);
#if defined(CZ_DEVICE)
    if (team.width == 32) {
        // A whole warp: the block chain walked once (lane j keeps block j, at most
        // CZ_LITERAL_WARP_MAX_BLOCKS), then the groups in order.
        uint32_t at, bh, n, incl, nb = 0;
        if (!cz_literal_blocks_warp(src, size, &h, block_max, &at, &bh, &n, &incl, &nb, hint)) return false;
        for (uint32_t g = 0; g * CZ_LITERAL_GROUP < nb; g++) {
            cz_literal_part p;
            if (!cz_literal_group_part(src, g, at, bh, n, incl, nb, block_max, log != 0, &p)) return false;
            if (p.kind == 2 && ok) ok = cz_huf_decode_stream_warp(dt, log, src + p.at, p.len, dst + p.out, p.n) == CZ_STATUS_OK;
            cz_literal_runs(team, &p, src, dst);
        }
        last = true;  // every group taken; cz_literal_blocks_warp checked where the blocks end
        ends_checked = true;
    }
#endif
    while (!last) {
        size_t ip_next = ip;
        uint64_t op_next = op;
        uint32_t blocks_next = blocks;
        for (uint32_t slot = team.lane; slot < CZ_LITERAL_SLOTS; slot += team.width) {
            CZ_PROF_BEGIN(literal_walk);
            ip_next = ip;
            op_next = op;
            blocks_next = blocks;
            cz_literal_part p;
            const bool walked = cz_literal_group(src, size, &ip_next, &op_next, h.content_size, block_max, log != 0,
                                                 &blocks_next, slot, &p, &last);
            if (!walked) return false;
            CZ_PROF_END(literal_walk, team);
            // Huffman streams: each lane its own.
            CZ_PROF_BEGIN(literal_streams);
            if (p.kind == 2 && ok) ok = cz_huf_decode_stream_warp(dt, log, src + p.at, p.len, dst + p.out, p.n) == CZ_STATUS_OK;
            CZ_PROF_END(literal_streams, team);
            cz_literal_runs(team, &p, src, dst);
        }
        ip = ip_next;
        op = op_next;
        blocks = blocks_next;
    }
    CZ_PROF_END(literal_parts, team);
    if (!ends_checked && !cz_literal_frame_ends(&h, size, ip, op)) return false;
    if (cz_team_ballot(team, !ok)) return false;
    cz_team_sync(team);
    CZ_PROF_BEGIN(checksum);
    const bool sum_ok = !h.checksum ||
                        (uint32_t)cz_team_xxh64(team, dst, h.content_size) == cz_read_le32(src + size - CZ_CHECKSUM_SIZE);
    CZ_PROF_END(checksum, team);
    if (!sum_ok) return false;
    *written = (size_t)h.content_size;
    return true;
}

#if defined(__CUDACC__)
// Folds stripes [s0, s1) of p (32 bytes each) into lane l's XXH64 accumulator v (lanes 0..3 of
// a warp; the others keep v) and returns s1. The warp's writes to p must be visible (synced).
__device__ CZ_FORCEINLINE uint64_t cz_xxh64_lanes(uint64_t& v, const uint8_t* p, uint64_t s0, uint64_t s1) {
    const uint32_t lane = threadIdx.x & 31u;
    if (lane < 4) v = cz_xxh64_fold(v, p + 8 * lane, s0, s1);
    return s1;
}

// The content checksum of a literal frame decoded by cz_decode_literal_frame_warps, while
// it is being checked: lanes 0..3 of the checking warp hold their XXH64 accumulators `v` over
// the content's 32-byte stripes [0, hashed); `want` is the frame's checksum field, `blocks`
// the frame's block count (a mismatch is reported at its last block, as cz_decode_all does).
typedef struct cz_literal_sum {
    uint64_t v, hashed, content;
    uint32_t want, blocks;
} cz_literal_sum;

// Whether the content dst[0 .. s->content) matches s's checksum: the stripes from s->hashed
// on are folded in by lanes 0..3, the rest as XXH64 ends. All 32 lanes of the warp that holds
// s call it; the content must be visible to them.
__device__ inline bool cz_literal_sum_check(cz_literal_sum* s, const uint8_t* dst) {
    const cz_team team = cz_team_warp();
    uint64_t x;
    if (s->content < 32) {
        x = cz_xxh64(dst, s->content, 0);
    } else {
        const uint64_t stripes = s->content / 32;
        cz_xxh64_lanes(s->v, dst, s->hashed, stripes);
        const uint64_t v1 = cz_team_shfl64(team, s->v, 0), v2 = cz_team_shfl64(team, s->v, 1);
        const uint64_t v3 = cz_team_shfl64(team, s->v, 2), v4 = cz_team_shfl64(team, s->v, 3);
        x = cz_xxh64_finish(cz_xxh64_converge(v1, v2, v3, v4) + s->content, dst + 32 * stripes, s->content);
    }
    return (uint32_t)x == s->want;
}

// cz_decode_literal_frame by `warps` warps of a block at once, for frames of at most
// CZ_LITERAL_WARP_MAX_BLOCKS blocks (false for others): every warp walks the frame's block chain
// (cz_literal_chain), checks the blocks one lane each and scans their content sizes, and warp k
// (0 <= k < warps) decodes groups k, k + warps, ... of CZ_LITERAL_GROUP blocks (lane l: stream
// l % 4 of the group's block l / 4, cz_literal_block_part; the runs copied by the whole warp);
// then the warps meet at named barrier `bar`
// (32 * warps threads; 0 < bar < 16, warps > 1) and warp 0 checks the content checksum (the
// stripes of its first group's content hashed before the barrier, the rest after). Every
// lane of the warps calls with the same arguments but k; verdicts[0 .. warps) is shared memory
// that no other code uses until the warps have returned. Warp 0's result is the frame's, as
// cz_decode_literal_frame's (with *written); the other warps' result is only whether the
// parts decoded. With `later` (warp 0's, not null) the checksum is not checked here: warp 0
// returns true with *written when every part decoded, the frame has a checksum and *later
// holds it (cz_literal_sum_check then gives the frame's verdict: a mismatch makes it
// cz_decode_all's CHECKSUM_MISMATCH at block later->blocks - 1). `parsed`: the frame's header
// when the caller has parsed it (cz_literal_frame_header). `hint`: this lane's entry of a block
// index (cz_literal_chain_hinted; 0: none), which changes how fast the chain is found, never
// the result. Reads src[0 .. size) and dt only;
// writes dst[0 .. content size) only.
__device__ inline bool cz_decode_literal_frame_warps(const uint8_t* src, size_t size, uint8_t* dst,
                                                     size_t dst_capacity, const uint16_t* dt, unsigned log,
                                                     uint32_t dict_id, uint32_t k, uint32_t warps, uint32_t bar,
                                                     uint32_t* verdicts, size_t* written,
                                                     cz_literal_sum* later = nullptr,
                                                     const cz_frame_header* parsed = nullptr, uint32_t hint = 0) {
    const cz_team team = cz_team_warp();
    cz_literal_sum sum;
    sum.v = cz_xxh64_lane_init(0, team.lane & 3u);  // warp 0's checksum: stripes [0, sum.hashed)
    sum.hashed = 0;
    sum.blocks = 0;
    cz_frame_header h;
    bool ok = cz_literal_frame_header(src, size, dst_capacity, dict_id, &h, parsed);
    if (ok) {
        const size_t block_max = h.content_size < CZ_BLOCK_SIZE_MAX ? (size_t)h.content_size : CZ_BLOCK_SIZE_MAX;
        const bool hash = k == 0 && h.checksum && h.content_size >= 32;
        // Every warp walks the block chain (lane j keeps block j), checks the blocks one lane
        // each, and adds their content sizes up (a warp scan): then it knows where each of its
        // groups' blocks starts in the frame and in the content.
        CZ_PROF_BEGIN(literal_walk);
        uint32_t at, bh, n, incl, nb = 0;
        ok = cz_literal_blocks_warp(src, size, &h, block_max, &at, &bh, &n, &incl, &nb, hint);
        sum.blocks = nb;
        CZ_PROF_END(literal_walk, team);
        for (uint32_t g = k; ok && g * CZ_LITERAL_GROUP < nb; g += warps) {
            CZ_PROF_BEGIN(literal_parts);
            cz_literal_part p;
            if (!cz_literal_group_part(src, g, at, bh, n, incl, nb, block_max, log != 0, &p)) {
                ok = false;
                break;
            }
            CZ_PROF_END(literal_parts, team);
            CZ_PROF_BEGIN(literal_streams);
            const bool good = p.kind != 2 || cz_huf_decode_stream_warp(dt, log, src + p.at, p.len, dst + p.out, p.n) == CZ_STATUS_OK;
            CZ_PROF_END(literal_streams, team);
            CZ_PROF_BEGIN(literal_runs);
            cz_literal_runs(team, &p, src, dst);
            CZ_PROF_END(literal_runs, team);
            ok = !cz_team_ballot(team, !good);
            if (g == 0 && hash) {
                __syncwarp();  // the lanes' streams are in dst
                const uint32_t group_end = __shfl_sync(CZ_TEAM_FULL_MASK, incl, CZ_LITERAL_GROUP - 1);
                sum.hashed = cz_xxh64_lanes(sum.v, dst, 0, (nb > CZ_LITERAL_GROUP ? group_end : h.content_size) / 32);
            }
        }
    }
    if (team.lane == 0) verdicts[k] = ok ? 1u : 0u;
    asm volatile("bar.sync %0, %1;" ::"r"(bar), "r"(32 * warps) : "memory");
    for (uint32_t i = 0; i < warps; i++) ok = ok && verdicts[i] != 0;
    if (!ok || k != 0) return ok;
    if (h.checksum) {
        sum.content = h.content_size;
        sum.want = cz_read_le32(src + size - CZ_CHECKSUM_SIZE);
        if (later) {
            *later = sum;
        } else {
            CZ_PROF_BEGIN(checksum);
            const bool sum_ok = cz_literal_sum_check(&sum, dst);
            CZ_PROF_END(checksum, team);
            if (!sum_ok) return false;
        }
    } else if (later) {
        return false;
    }
    *written = (size_t)h.content_size;
    return true;
}
#endif

#endif  // CUZSTD_FRAME_DECODE_CUH
