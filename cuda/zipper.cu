// Zipper fused layer: Y = X · Ŵᵀ for a weight packed as a quantized base plus one sparse
// delta zstd frame per row tile (docs/ZIPPER.md), without ever forming W.
//
//   X: batch × cols f32, row-major.   Y: batch × rows f32, row-major.
//   Ŵ[r][c] = f32(q[r][c]) · scale[r][c / group] + Δ[r][c], rounded to f16/bf16 when the pack
//   asks for it (round_to, lossless packs).
//
// Kernels zp_linear_int8 / zp_linear_int4 (and their one-tile-per-block builds zp_linear1_*)
//   grid mapping: block b takes tiles b, b + gridDim.x, ...; each tile's rows are written by
//                 that block only (no atomics, no global scratch for the delta). The `1` builds
//                 (zp_linear1_*) and zp_base_* take tile b only: their grid covers every tile
//                 (without the loop over tiles ptxas keeps the kernel's values in registers:
//                 48 bytes of spills against 448).
//                 blockDim.x == ZP_BLOCK (256: warps 0 and 1 decode, warps 2..7 compute;
//                 layers with a literal dictionary (huf_log != 0) and base-only launches:
//                 warp 0 decodes, warps 1..7 compute).
//                 Per tile:
//                 - literal dictionary: warp 0 copies the dictionary's Huffman decoding table
//                   huf_dt (first tile only) and the tile's literal frame (to the end of the tile
//                   buffer, when it fits) into shared memory in one round trip (zp_fetch_tile),
//                   reads the frame header from the copy and decodes the frame from it when the
//                   content ends before it, one Huffman stream per lane (zp_decode_tile_layer,
//                   cz_decode_literal_frame), other frames and errors through cz_decode_all
//                   with the dictionary;
//                 - otherwise warps 0 and 1: decode the tile's frame into shared memory, warp 1 the
//                   sequences (zp_decode_tile_sequences) while warp 0 decodes the literals,
//                   then warp 0 executes them (zp_decode_tile_literals; frames the split
//                   path does not take go to zp_decode_tile: cz_decode_all with
//                   cz_team_warp);
//                 - warp 0 then checks the entry count against the decoded size and computes
//                   the rows' first entries (with round_to it also checks every entry and turns
//                   the gap-coded columns into absolute columns, zp_row_columns, row by row);
//                 - meanwhile, without round_to, the computing warps compute the base products
//                   of the tile's rows into shared memory (X staged in shared memory by those
//                   warps at the start, reductions with shuffles): zp_tile_base_products
//                   (16-byte loads streamed across the warp's rows) when zp_vector_rows holds,
//                   else warp per row with 4-byte words; with round_to every weight needs its
//                   delta first, so all warps compute after the decode;
//                 - after the block barrier, without round_to, each warp checks its rows'
//                   entries and turns their columns into absolute columns (zp_row_columns;
//                   the tile's first bad entry goes to s_bad) and adds their sparse dot with X
//                   to the rows' products; after a second barrier the block writes the tile's
//                   rows of Y, only when every entry was good.
// Kernels zp_base_int8 / zp_base_int4: the same without the decoder (as if ZP_BASE_ONLY were
//                 always set), for base-only launches of packs with round_to (base-only
//                 launches of other packs use zp_gemv*, below). The host passes
//                 max_tile_bytes 0 (no tile buffer) and any grid (no workspace is used).
//   shared memory: zp_shared_bytes(...) dynamic bytes (the host computes the same sum).
//   workspace:    block b uses workspace[b * ws_stride ..) for the decoder
//                 (ws_stride >= cz_decode_workspace_size(), multiple of 8); gridDim.x slots
//                 (zp_linear_* without ZP_BASE_ONLY only).
//   reads:        X[0 .. batch * cols), base[0 .. rows * row_bytes), scales[0 .. rows * spr),
//                 tile_offsets[0 .. tiles], tile_rows[0 .. tiles], delta[off[0] .. off[tiles]),
//                 huf_dt[0 .. max(8, 1 << huf_log)) (16-byte aligned) when huf_log != 0,
//                 dict[0 .. dict_size), and block_index[t * ZP_BLOCK_INDEX .. + ZP_BLOCK_INDEX)
//                 for the tiles decoded when block_index is not null (any values: the literal
//                 path checks them against the frame and walks its blocks when they do not
//                 hold, so statuses and Y do not depend on them).
//                 With ZP_BASE_ONLY in flags no frame is read and every tile counts as
//                 empty (Y = X · base, rounded as the flags ask).
//   writes:       results[t] for every t < tiles; Y[b][r] for the rows of every tile whose
//                 status is OK, nothing of a failed tile's rows.
//   statuses:     every status of cz_decode_all; TILE_FRAME_UNCHECKED (no content size, no
//                 checksum flag, content size over max_tile_bytes), TILE_SIZE_MISMATCH,
//                 TILE_COLUMN_OUT_OF_RANGE, TILE_VALUE_NOT_FINITE. detail: the decoder's
//                 (frame << 16 | block), or for tile checks the entry index.
//   launch:       may be launched with programmatic stream serialization (sm_90+): every block
//                 allows the next kernel to start at once (zp_pdl_allow); before zp_pdl_wait only
//                 warp 0 of a literal-dictionary layer runs, reading its first tile's frame, the
//                 table and the dictionary (which no kernel writes) into shared memory, and it
//                 waits before it falls back to the workspace.
//   host contract (checked by src/gpu/zipper.rs): offsets and row starts strictly increasing
//                 and inside delta / rows, each tile at most max_tile_rows rows, x_rows >= 1.
#include "include/abi.h"
#include "include/frame_decode.cuh"

#define ZP_BLOCK 256
// ZP_TL_START / ZP_TL(phase): timeline hooks of a development harness (scripts/fused-latency.cu
// records clock64 per block and phase); no-ops otherwise.
#ifndef ZP_TL
#define ZP_TL_START
#define ZP_TL(phase)
#endif
#define ZP_WARPS (ZP_BLOCK / 32)
// Batch rows computed per pass over a weight row (accumulators per lane).
#define ZP_BT 4

enum zp_flags {
    ZP_LAYOUT_PLANES = 1,  // tile words stored as low-byte plane then high-byte plane
    ZP_ROUND_F16 = 2,      // round each reconstructed weight to f16
    ZP_ROUND_BF16 = 4,     // round each reconstructed weight to bf16
    ZP_BASE_ONLY = 8,      // ignore the delta: no frame is read, every tile counts as empty
};

// ---- half precision (host and device, bit-exact with the `half` crate's conversions) ----

CZ_HD CZ_FORCEINLINE uint32_t zp_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

CZ_HD CZ_FORCEINLINE float zp_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// f16 bits of x, rounded to nearest even (overflow to infinity, NaN stays NaN).
CZ_HD inline uint16_t zp_f32_to_f16(float x) {
    const uint32_t u = zp_f32_bits(x);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | (a > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // >= 65520 rounds to infinity
    if (a >= 0x38800000u) {                                    // normal f16
        const uint32_t b = a - 0x38000000u;
        return (uint16_t)(sign | ((b + 0x0fffu + ((b >> 13) & 1u)) >> 13));
    }
    if (a <= 0x33000000u) return (uint16_t)sign;  // <= 2^-25 rounds to zero
    const uint32_t e = a >> 23;
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;  // 14..24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u))) r++;
    return (uint16_t)(sign | r);
}

CZ_HD inline float zp_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu) return zp_bits_f32(sign | 0x7f800000u | (m << 13));
    if (e != 0) return zp_bits_f32(sign | ((e + 112u) << 23) | (m << 13));
    // zero or subnormal: m · 2^-24, exact in f32
    const float v = (float)m * 5.9604644775390625e-8f;
    return sign ? -v : v;
}

// zp_f16_to_f32 for the device's own conversion where NaN payloads do not matter (the same
// value for every finite or infinite h; the host build keeps zp_f16_to_f32).
CZ_HD CZ_FORCEINLINE float zp_f16_bits_to_f32(uint16_t h) {
#if defined(CZ_DEVICE)
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
#else
    return zp_f16_to_f32(h);
#endif
}

// bf16 bits of a finite or infinite x, rounded to nearest even; NaN stays a quiet NaN.
CZ_HD CZ_FORCEINLINE uint16_t zp_f32_to_bf16(float x) {
    const uint32_t u = zp_f32_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// x rounded as the flags ask (ZP_ROUND_F16 / ZP_ROUND_BF16), else x.
CZ_HD CZ_FORCEINLINE float zp_round_weight(float x, uint32_t flags) {
    if (flags & ZP_ROUND_F16) return zp_f16_to_f32(zp_f32_to_f16(x));
    if (flags & ZP_ROUND_BF16) return zp_bits_f32((uint32_t)zp_f32_to_bf16(x) << 16);
    return x;
}

// ---- tile payload (docs/ZIPPER.md "Tile encoding") ----

// Word i of the array of `len` u16 words starting at byte `at`.
CZ_HD CZ_FORCEINLINE uint32_t zp_tile_word(const uint8_t* buf, uint32_t flags, uint32_t at, uint32_t len,
                                           uint32_t i) {
    if (flags & ZP_LAYOUT_PLANES) return (uint32_t)buf[at + i] | ((uint32_t)buf[at + len + i] << 8);
    return (uint32_t)buf[at + 2 * i] | ((uint32_t)buf[at + 2 * i + 1] << 8);
}

CZ_HD CZ_FORCEINLINE void zp_tile_set_word(uint8_t* buf, uint32_t flags, uint32_t at, uint32_t len, uint32_t i,
                                           uint32_t v) {
    if (flags & ZP_LAYOUT_PLANES) {
        buf[at + i] = (uint8_t)v;
        buf[at + len + i] = (uint8_t)(v >> 8);
    } else {
        buf[at + 2 * i] = (uint8_t)v;
        buf[at + 2 * i + 1] = (uint8_t)(v >> 8);
    }
}

CZ_HD CZ_FORCEINLINE bool zp_f16_finite(uint32_t bits) { return ((bits >> 10) & 0x1fu) != 0x1fu; }

// Quantized value of element c of a row (INT8: byte c as signed; INT4: nibble c, minus 8).
template <int BITS>
CZ_HD CZ_FORCEINLINE float zp_q(const uint8_t* row, uint32_t c) {
    if (BITS == 8) return (float)(int8_t)row[c];
    const uint32_t b = row[c >> 1];
    return (float)((int)((c & 1u) ? (b >> 4) : (b & 15u)) - 8);
}

// Bytes of one row of quantized values.
CZ_HD CZ_FORCEINLINE uint32_t zp_row_bytes(int bits, uint32_t cols) { return bits == 8 ? cols : (cols + 1) / 2; }

// Checks a decoded tile of m rows and `size` bytes and rewrites its gap-coded columns as
// absolute columns (same words); row_start[0 .. m] receives each row's first entry index.
// Serial form of what warp 0 of the kernel does, used by the reference build.
CZ_HD inline uint32_t zp_tile_prepare_serial(uint8_t* buf, uint64_t size, uint32_t m, uint32_t cols, uint32_t flags,
                                             uint32_t* row_start, uint32_t* n_out, uint32_t* detail) {
    *detail = 0;
    if (size < 2ull * m) return CZ_STATUS_TILE_SIZE_MISMATCH;
    uint32_t n = 0;
    for (uint32_t i = 0; i < m; i++) {
        row_start[i] = n;
        n += zp_tile_word(buf, flags, 0, m, i);
    }
    row_start[m] = n;
    if (size != 2ull * m + 4ull * n) return CZ_STATUS_TILE_SIZE_MISMATCH;
    const uint32_t gaps = 2 * m, vals = 2 * m + 2 * n;
    for (uint32_t i = 0; i < m; i++) {
        uint32_t next = 0;
        for (uint32_t j = row_start[i]; j < row_start[i + 1]; j++) {
            const uint32_t c = next + zp_tile_word(buf, flags, gaps, n, j);
            if (c >= cols) {
                *detail = j;
                return CZ_STATUS_TILE_COLUMN_OUT_OF_RANGE;
            }
            if (!zp_f16_finite(zp_tile_word(buf, flags, vals, n, j))) {
                *detail = j;
                return CZ_STATUS_TILE_VALUE_NOT_FINITE;
            }
            zp_tile_set_word(buf, flags, gaps, n, j, c);
            next = c + 1;
        }
    }
    *n_out = n;
    return CZ_STATUS_OK;
}

// Bytes of dynamic shared memory of one block (the host computes the same).
CZ_HD CZ_FORCEINLINE uint64_t zp_align16(uint64_t v) { return (v + 15) & ~(uint64_t)15; }
CZ_HD CZ_FORCEINLINE uint64_t zp_x_stride(uint32_t cols) { return (cols + 7u) & ~7u; }  // floats per staged X row
CZ_HD CZ_FORCEINLINE uint64_t zp_shared_bytes(uint32_t max_tile_bytes, uint32_t max_tile_rows, uint32_t batch,
                                              uint32_t cols, uint32_t x_rows) {
    return zp_align16(max_tile_bytes) + zp_align16(4ull * max_tile_rows * batch) +
           zp_align16(4ull * (max_tile_rows + 1)) + 4ull * x_rows * zp_x_stride(cols);
}

#if defined(__CUDACC__)

// Barrier of the two decoding warps: warp 1 has stored the tile's sequences.
__device__ __forceinline__ void zp_split_sync() { asm volatile("bar.sync 2, 64;" ::: "memory"); }

// Programmatic dependent launch (sm_90+; no-ops before): zp_pdl_allow lets the next kernel of
// the stream, when it is launched with programmatic stream serialization, start while this one
// runs; zp_pdl_wait waits until the kernels before this one have finished and their writes are
// visible. Between the two a kernel may only read what no earlier kernel of the stream writes.
__device__ __forceinline__ void zp_pdl_allow() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void zp_pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// The one call into the decoder: decodes the tile frame src[0 .. size) into dst (capacity cap)
// with the layer's dictionary (dict may be null) and the warp's lanes, its Huffman and FSE
// tables in `tables` (shared memory: the tables are
// built and read for every tile, and a tile frame is small, so their latency is most of its
// decode time). Called by all 32 lanes of the warp with the same arguments (cz_decode_all with
// cz_team_warp, decode_team.cuh); every lane gets the status, *written and *detail. Not inlined:
// the full decoder is the literal path's fallback, and inlining it at each call site grows the
// kernel's code and its register pressure on the hot path.
__device__ __noinline__ uint32_t zp_decode_tile(const uint8_t* src, uint64_t size, uint8_t* dst, uint32_t cap,
                                                   const uint8_t* dict, uint64_t dict_size, cz_decode_workspace* ws,
                                                   cz_decode_tables* tables, uint64_t* written, uint32_t* detail) {
    size_t w = 0;
    const uint32_t st = cz_decode_all(src, (size_t)size, dst, cap, dict, (size_t)dict_size, ws, CZ_WINDOW_UNLIMITED, &w,
                                      detail, cz_team_warp(), tables);
    *written = st == CZ_STATUS_OK ? w : 0;
    return st;
}

// The tile decode of the fused kernel, warp 0's part: while warp 1 decodes the frame's
// sequences (zp_decode_tile_sequences), warp 0 decodes its literals; after zp_split_sync it
// executes the sequences (frame_decode.cuh, "one frame decoded by two teams"). A frame the
// split path does not take, or any error, is decoded again by zp_decode_tile, which gives
// the status. `check`: the status of the tile's header checks; when it is not OK only the
// barrier is kept and `check` is returned.
__device__ __forceinline__ uint32_t zp_decode_tile_literals(uint32_t check, const uint8_t* src, uint64_t size,
                                                            uint8_t* dst, uint32_t cap, cz_decode_workspace* ws,
                                                            cz_decode_tables* tables, const uint32_t* seq_ok,
                                                            const uint32_t* nseq, uint64_t* written,
                                                            uint32_t* detail) {
    const uint8_t* lits = nullptr;
    size_t nlits = 0;
    const cz_team team = cz_team_warp();
    const uint32_t lits_ok = check == CZ_STATUS_OK &&
                             cz_split_literals(src, (size_t)size, cap, CZ_WINDOW_UNLIMITED, ws, tables, team, &lits, &nlits);
    zp_split_sync();
    if (check != CZ_STATUS_OK) return check;
    size_t w = 0;
    if (cz_split_finish(src, (size_t)size, dst, cap, CZ_WINDOW_UNLIMITED, ws, team, lits, nlits, lits_ok, *seq_ok,
                        *nseq, &w)) {
        *written = w;
        *detail = 0;
        return CZ_STATUS_OK;
    }
    return zp_decode_tile(src, size, dst, cap, nullptr, 0, ws, tables, written, detail);
}

// The batch-1 fused kernels' shape (zp_fused1_*, below).
#define ZP_F1_COMPUTE 8                                    // computing warps
#define ZP_F1_DECODE 2                                     // decoding warps
#define ZP_F1_BLOCK (32 * (ZP_F1_COMPUTE + ZP_F1_DECODE))  // threads per block
#define ZP_F1_MAX_ROWS 32                                  // most rows of a tile
#define ZP_F1_DECODE_BAR 1                                 // named barrier of the decoding warps
#define ZP_F1_FETCH_BAR 2                                  // the computing warps wait there for the decode's loads
#define ZP_F1_ROWS_BAR 3                                   // the computing warps wait there for the decoded tile
// Entries per tile of a block index (the kernels' block_index): entry j is where block j's
// header starts in the tile's frame, 0 past the last block or when the tile has no index
// (more blocks than CZ_LITERAL_WARP_MAX_BLOCKS, a frame of 64 KiB or more, not a zstd frame).
// The index only saves the walk of the block chain: the kernel checks it against the frame
// (cz_literal_chain_hinted) and walks the chain when it does not hold.
#define ZP_BLOCK_INDEX 32

// Copies `words` 16-byte words from `table` to `table_to` (may be 0) and the frame src[0 .. size)
// to shared memory at stage (stage ≡ src mod 16) with all loads of each round of up to 256
// words per warp issued before any store, so that both copies cost one memory round trip: the
// bytes before src's first 16-byte boundary and after its last one are loaded one per lane
// (fewer than 16 each), the rest as 16-byte words. Called by all 32 lanes of `parts` warps
// (this one is `part`) with the same arguments; each warp is synced, and with parts > 1 the
// caller syncs the warps before the copies are read. With `arrive` each warp arrives once at
// zp_fused1's named barrier ZP_F1_FETCH_BAR as soon as its first round of loads is issued.
__device__ __forceinline__ void zp_fetch_tile(const uint4* __restrict__ table, uint4* table_to, uint32_t words,
                                              const uint8_t* __restrict__ src, uint32_t size, uint8_t* stage,
                                              uint32_t part = 0, uint32_t parts = 1, bool arrive = false) {
    const uint32_t lane = threadIdx.x & 31u, t = 32u * part + lane, stride = 32u * parts;
    const uint32_t head = min(size, (16u - (uint32_t)((uintptr_t)src & 15u)) & 15u);
    const uint32_t fw = (size - head) / 16, tail_at = head + 16 * fw, tail = size - tail_at;
    const uint8_t hb = part == 0 && lane < head ? __ldg(src + lane) : 0;
    const uint8_t tb = part == 0 && lane < tail ? __ldg(src + tail_at + lane) : 0;
    const uint4* from = reinterpret_cast<const uint4*>(src + head);
    uint4* to = reinterpret_cast<uint4*>(stage + head);
    const uint32_t total = words + fw;
    for (uint32_t base = 0; base < total; base += 8 * stride) {
        uint4 v[8];
#pragma unroll
        for (int u = 0; u < 8; u++) {
            const uint32_t i = base + t + stride * u;
            v[u] = i < words ? __ldg(table + i) : i < total ? __ldg(from + (i - words)) : make_uint4(0, 0, 0, 0);
        }
        if (arrive && base == 0) asm volatile("bar.arrive %0, %1;" ::"n"(ZP_F1_FETCH_BAR), "n"(ZP_F1_BLOCK) : "memory");
#pragma unroll
        for (int u = 0; u < 8; u++) {
            const uint32_t i = base + t + stride * u;
            if (i < words)
                table_to[i] = v[u];
            else if (i < total)
                to[i - words] = v[u];
        }
    }
    if (arrive && total == 0) asm volatile("bar.arrive %0, %1;" ::"n"(ZP_F1_FETCH_BAR), "n"(ZP_F1_BLOCK) : "memory");
    if (part == 0 && lane < head) stage[lane] = hb;
    if (part == 0 && lane < tail) stage[tail_at + lane] = tb;
    __syncwarp();
}

// The literal path of zp_decode_tile_layer: true when it gave the tile's outcome (*st OK with
// *written bytes, or a header status), false when the frame needs the full decoder (another
// frame form, or an error the literal path does not name). `huf`: the table's place in shared
// memory (CZ_HUF_DTABLE_SIZE entries), filled when *table_ready is false. With warps > 1 the
// call is made by that many warps (this one warp k, the same arguments otherwise), which share
// the copies and the frame's block groups (cz_decode_literal_frame_warps, named barrier `bar`,
// `verdicts` its shared words); warp 0's outcome is the tile's, the others' means nothing.
// `later` (warps > 1, warp 0's): the content checksum is left to the caller as that function
// says (an OK outcome is then OK only if cz_literal_sum_check passes). With `fetch_arrive`
// (zp_fused1's decoding warps) each calling warp arrives at ZP_F1_FETCH_BAR once its loads of
// the table and frame are issued (zp_fetch_tile). `hint`: this lane's entry of the tile's block
// index (cz_literal_chain_hinted), 0 without one.
__device__ __forceinline__ bool zp_decode_tile_literal(const uint8_t* src, uint64_t size, uint8_t* dst, uint32_t cap,
                                                       const uint16_t* huf_dt, uint32_t huf_log, uint32_t dict_id,
                                                       uint16_t* huf, bool* table_ready, uint64_t* written,
                                                       uint32_t* detail, uint32_t* st, uint32_t k = 0,
                                                       uint32_t warps = 1, uint32_t bar = 0,
                                                       uint32_t* verdicts = nullptr, cz_literal_sum* later = nullptr,
                                                       bool fetch_arrive = false, uint32_t hint = 0) {
    // 8 table entries per 16-byte word (huf_dt is padded).
    const uint32_t words = *table_ready ? 0u : ((1u << huf_log) + 7) / 8;
    const uint64_t mis = (uintptr_t)src & 15u;
    const bool staged = size + mis + 16 <= cap;
    const uint64_t at = staged ? (cap - size - mis) & ~(uint64_t)15 : 0;  // 16-byte aligned (dst is)
    zp_fetch_tile(reinterpret_cast<const uint4*>(huf_dt), reinterpret_cast<uint4*>(huf), words, src,
                  staged ? (uint32_t)size : 0u, dst + at + mis, k, warps, fetch_arrive);
    if (warps > 1) asm volatile("bar.sync %0, %1;" ::"r"(bar), "r"(32 * warps) : "memory");
    *table_ready = true;
    ZP_TL(8);
    const uint8_t* from = staged ? dst + at + mis : src;
    cz_frame_header h;
    *st = cz_parse_frame_header(from, (size_t)size, &h);
    if (*st == CZ_STATUS_OK && (h.content_size == CZ_CONTENT_SIZE_UNKNOWN || h.content_size > cap || !h.checksum))
        *st = CZ_STATUS_TILE_FRAME_UNCHECKED;
    *detail = 0;
    *written = 0;
    if (*st != CZ_STATUS_OK) return true;
    ZP_TL(1);
    uint64_t room = cap;
    if (staged && at >= h.content_size) {
        room = at;
    } else {
        from = src;
    }
    size_t w = 0;
    if (warps > 1 ? cz_decode_literal_frame_warps(from, (size_t)size, dst, (size_t)room, huf, huf_log, dict_id, k, warps,
                                                  bar, verdicts, &w, later, &h, hint)
                  : cz_decode_literal_frame(from, (size_t)size, dst, (size_t)room, huf, huf_log, dict_id, cz_team_warp(),
                                            &w, hint)) {
        *written = w;
        return true;
    }
    *table_ready = false;  // the full decoder overwrites the table
    return false;
}

// The tile decode of a layer with a literal dictionary (huf_log != 0), warp 0 alone: the tile
// frame is decoded with the dictionary's Huffman decoding table, copied into tables->huf when
// *table_ready is false (it is overwritten when a tile falls back), each of its Huffman streams
// in its own lane (cz_decode_literal_frame). When the frame fits at the end of the tile buffer
// it is copied there together with the table (zp_fetch_tile: one memory round trip), its header
// read from the copy, and decoded from the copy when the content (its header's size) ends
// before it, so that the decode's dependent reads (block headers, stream refills, raw runs) hit
// shared memory. Status TILE_FRAME_UNCHECKED for a frame without content size or checksum or
// with more content than the buffer holds; a frame of another form, and any error, is decoded
// again by zp_decode_tile from global memory with the dictionary, which gives the status.
// `hint`: this lane's entry of the tile's block index (0: none; see ZP_BLOCK_INDEX).
__device__ __forceinline__ uint32_t zp_decode_tile_layer(const uint8_t* src, uint64_t size, uint8_t* dst, uint32_t cap,
                                                         const uint16_t* huf_dt, uint32_t huf_log, uint32_t dict_id,
                                                         const uint8_t* dict, uint64_t dict_size,
                                                         cz_decode_workspace* ws, cz_decode_tables* tables,
                                                         bool* table_ready, uint64_t* written, uint32_t* detail,
                                                         uint32_t hint = 0) {
    uint32_t st;
    if (zp_decode_tile_literal(src, size, dst, cap, huf_dt, huf_log, dict_id, tables->huf, table_ready, written, detail,
                               &st, 0, 1, 0, nullptr, nullptr, false, hint))
        return st;
    zp_pdl_wait();  // the workspace slot may still be in use by the previous kernel's block
    return zp_decode_tile(src, size, dst, cap, dict, dict_size, ws, tables, written, detail);
}

// Warp 1's part: the frame's sequences into the workspace, with the workspace's own
// sequence tables (warp 0's are in shared memory), results in *seq_ok / *nseq.
__device__ __forceinline__ void zp_decode_tile_sequences(const uint8_t* src, uint64_t size, uint32_t cap,
                                                         cz_decode_workspace* ws, uint32_t* seq_ok, uint32_t* nseq) {
    cz_split_sequences(src, (size_t)size, cap, CZ_WINDOW_UNLIMITED, ws, &ws->own.seq, &ws->own.scratch.seq,
                       cz_team_warp(), nseq, seq_ok);
    zp_split_sync();
}

__device__ __forceinline__ float zp_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Barrier of the compute warps (w_first .. ZP_WARPS-1) only, while the decoding warps decode.
__device__ __forceinline__ void zp_compute_sync(uint32_t w_first) {
    asm volatile("bar.sync 1, %0;" ::"r"(ZP_BLOCK - 32 * w_first) : "memory");
}


// 4 bytes of a row starting at byte `at` (bytes past row_bytes read as 0).
__device__ __forceinline__ uint32_t zp_load_word(const uint8_t* row, uint32_t at, uint32_t row_bytes,
                                                 bool aligned) {
    if (aligned && at + 4 <= row_bytes) return __ldg(reinterpret_cast<const unsigned int*>(row + at));
    uint32_t v = 0;
    for (uint32_t k = 0; k < 4; k++)
        if (at + k < row_bytes) v |= (uint32_t)__ldg(row + at + k) << (8 * k);
    return v;
}

// First entry index in [lo, hi) whose absolute column is >= c (columns increase).
__device__ __forceinline__ uint32_t zp_lower_bound(const uint8_t* tile, uint32_t flags, uint32_t gaps, uint32_t n,
                                                   uint32_t lo, uint32_t hi, uint32_t c) {
    while (lo < hi) {
        const uint32_t mid = (lo + hi) >> 1;
        if (zp_tile_word(tile, flags, gaps, n, mid) < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// One warp: out[b] = Σ_c xs[b][c] · Ŵ[row][c] for b < nb (xs: nb staged X rows of stride xstride).
// With `with_delta`, each weight gets its delta entry (entries [e0, e1) of the prepared tile)
// and the flags' rounding before the product; without, Ŵ is the dequantized base alone.
template <int BITS>
__device__ void zp_row_products(const uint8_t* __restrict__ qrow, uint32_t row_bytes, const float* __restrict__ srow,
                                uint32_t group, uint32_t cols, const float* xs, uint32_t xstride, uint32_t nb,
                                float* out, bool with_delta, const uint8_t* tile, uint32_t flags, uint32_t gaps,
                                uint32_t vals, uint32_t n, uint32_t e0, uint32_t e1) {
    const unsigned lane = threadIdx.x & 31u;
    constexpr uint32_t PER_WORD = BITS == 8 ? 4 : 8;  // elements in one 4-byte word
    constexpr int U = 4;                              // words in flight per lane
    const uint32_t nwords = (row_bytes + 3) / 4;
    const bool aligned = (row_bytes & 3u) == 0 && ((uintptr_t)qrow & 3u) == 0;
    const float s8 = BITS == 8 ? __ldg(srow) : 0.f;
    for (uint32_t b0 = 0; b0 < nb; b0 += ZP_BT) {
        float acc[ZP_BT];
#pragma unroll
        for (int bb = 0; bb < ZP_BT; bb++) acc[bb] = 0.f;
        for (uint32_t w0 = lane; w0 < nwords; w0 += 32 * U) {
            uint32_t q[U];
#pragma unroll
            for (int u = 0; u < U; u++) {
                const uint32_t wi = w0 + 32u * u;
                q[u] = wi < nwords ? zp_load_word(qrow, 4 * wi, row_bytes, aligned) : 0u;
            }
#pragma unroll
            for (int u = 0; u < U; u++) {
                const uint32_t wi = w0 + 32u * u;
                if (wi >= nwords) break;
                const uint32_t c0 = wi * PER_WORD;
                const float s = BITS == 8 ? s8 : __ldg(srow + c0 / group);
                float wv[PER_WORD];
#pragma unroll
                for (uint32_t k = 0; k < PER_WORD; k++) {
                    float qv;
                    if (BITS == 8)
                        qv = (float)(int8_t)(q[u] >> (8 * k));
                    else
                        qv = (float)((int)((q[u] >> (4 * k)) & 15u) - 8);
                    wv[k] = qv * s;
                }
                if (with_delta) {
                    uint32_t j = zp_lower_bound(tile, flags, gaps, n, e0, e1, c0);
                    for (; j < e1; j++) {
                        const uint32_t c = zp_tile_word(tile, flags, gaps, n, j);
                        if (c >= c0 + PER_WORD) break;
#pragma unroll
                        for (uint32_t k = 0; k < PER_WORD; k++)
                            if (c == c0 + k) wv[k] += zp_f16_to_f32((uint16_t)zp_tile_word(tile, flags, vals, n, j));
                    }
#pragma unroll
                    for (uint32_t k = 0; k < PER_WORD; k++) wv[k] = zp_round_weight(wv[k], flags);
                }
#pragma unroll
                for (int bb = 0; bb < ZP_BT; bb++) {
                    if (b0 + bb >= nb) break;
                    // xs rows are padded with zeros up to a multiple of 8 floats, so whole
                    // words read in range; padding elements (q of 0 or a padding nibble) meet x = 0.
                    const float4* xp = reinterpret_cast<const float4*>(xs + (uint64_t)(b0 + bb) * xstride + c0);
#pragma unroll
                    for (uint32_t k4 = 0; k4 < PER_WORD / 4; k4++) {
                        const float4 x = xp[k4];
                        acc[bb] += x.x * wv[4 * k4] + x.y * wv[4 * k4 + 1] + x.z * wv[4 * k4 + 2] + x.w * wv[4 * k4 + 3];
                    }
                }
            }
        }
#pragma unroll
        for (int bb = 0; bb < ZP_BT; bb++) {
            const float v = zp_warp_sum(acc[bb]);
            if (lane == 0 && b0 + bb < nb) out[b0 + bb] = v;
        }
    }
    (void)cols;
}

// Whether zp_tile_base_products may read the base as 16-byte vectors: every row starts on a
// 16-byte boundary (row_bytes a multiple of 16; `base` itself is 16-byte aligned) and, for
// INT4, a vector's 32 columns share one scale (group a multiple of 32).
__device__ __forceinline__ bool zp_vector_rows(int bits, uint32_t row_bytes, uint32_t group, const uint8_t* base) {
    return (row_bytes & 15u) == 0 && ((uintptr_t)base & 15u) == 0 && (bits == 8 || (group & 31u) == 0);
}

// A 16-byte vector of weights, read once: through the non-coherent path without allocating
// in L1, so the streamed weights do not evict X, which every warp of the SM reads again.
__device__ __forceinline__ uint4 zp_ld_stream(const uint4* p) {
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
}

// 16 floats of X at x (16-byte aligned): from shared memory, or with XG from global memory
// through the read-only cache (X is small and read by every warp, so it stays in L1).
template <bool XG>
__device__ __forceinline__ float4 zp_x4(const float* x, int i) {
    if (XG) return __ldg(reinterpret_cast<const float4*>(x) + i);
    return reinterpret_cast<const float4*>(x)[i];
}

// Σ_k x[k] · q_k over the 16 (INT8) or 32 (INT4) quantized values of each of R 16-byte vectors
// (R rows, same columns) against the same floats of X, each word of X loaded once for all R
// rows; q_k as stored (INT8: signed byte; INT4: nibble - 8; element 2j is the low nibble of
// byte j). Bytes become floats by placing them in the mantissa of 2^23. The lanes of a warp read
// vectors 64 (INT8) or 128 (INT4) bytes of X apart, so with X in shared memory (!XG) each lane
// takes X's chunks in its own rotated order: the 32 lanes' loads of one step then spread over
// all shared-memory banks (INT8) or 8 of their groups of 4 (INT4), where in the same order 16
// (32) lanes would wait on the same 4 banks.
template <int BITS, int R, bool XG>
__device__ __forceinline__ void zp_vector_dot_rows(const uint4 (&v)[R], const float* x, float (&d)[R]) {
    const uint32_t lane = threadIdx.x & 31u;
#pragma unroll
    for (int r = 0; r < R; r++) d[r] = 0.f;
    if (BITS == 8) {
        const uint32_t rot = XG ? 0u : (lane >> 1) & 3u;
#pragma unroll
        for (uint32_t i = 0; i < 4; i++) {
            const uint32_t c = (i + rot) & 3u;  // chunk c: columns 4c .. 4c + 3, word c of the vector
            const float4 xv = zp_x4<XG>(x, (int)c);
            const float xs[4] = {xv.x, xv.y, xv.z, xv.w};
#pragma unroll
            for (int r = 0; r < R; r++) {
                const uint32_t w = c == 0 ? v[r].x : c == 1 ? v[r].y : c == 2 ? v[r].z : v[r].w;
                const uint32_t u = w ^ 0x80808080u;  // signed byte + 128, as an unsigned byte
#pragma unroll
                for (int k = 0; k < 4; k++)
                    d[r] = fmaf(xs[k], __int_as_float(__byte_perm(u, 0x4b000000u, 0x7540 + k)) - 8388736.f, d[r]);
            }
        }
    } else {
        // Word c: columns 8c .. 8c + 7 (chunks 2c and 2c + 1); rotating the word over 4 lanes
        // spreads a step over 8 banks groups (not all 32: fewer registers than chunk order).
        const uint32_t rot = XG ? 0u : lane & 3u;
#pragma unroll
        for (uint32_t i = 0; i < 4; i++) {
            const uint32_t c = (i + rot) & 3u;
            const float4 x0 = zp_x4<XG>(x, (int)(2 * c)), x1 = zp_x4<XG>(x, (int)(2 * c + 1));
            const float xs[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
#pragma unroll
            for (int r = 0; r < R; r++) {
                const uint32_t w = c == 0 ? v[r].x : c == 1 ? v[r].y : c == 2 ? v[r].z : v[r].w;
                const uint32_t lo = w & 0x0f0f0f0fu, hi = (w >> 4) & 0x0f0f0f0fu;
#pragma unroll
                for (int k = 0; k < 4; k++) {
                    d[r] = fmaf(xs[2 * k], __int_as_float(__byte_perm(lo, 0x4b000000u, 0x7540 + k)) - 8388616.f, d[r]);
                    d[r] = fmaf(xs[2 * k + 1], __int_as_float(__byte_perm(hi, 0x4b000000u, 0x7540 + k)) - 8388616.f,
                                d[r]);
                }
            }
        }
    }
}

// One group of VU consecutive 32-vector steps of a warp's rows in flight: the loaded vectors,
// their scales, and the (tile row, step) of the group's first slot.
template <int VU>
struct zp_vgroup {
    uint4 q[VU];
    float sc[VU];
    uint32_t row, k;
};

// Issues the loads of the group of steps starting at step j0 of the warp, whose first slot is
// (row, k); advances (row, k) past the group. Slots past `total` or past the row's nv vectors
// load nothing.
template <int BITS, int VU>
__device__ __forceinline__ void zp_vgroup_load(zp_vgroup<VU>& g, const uint4* __restrict__ vbase,
                                               const float* __restrict__ tscales, uint32_t spr, uint32_t group,
                                               uint32_t nv, uint32_t steps, uint32_t nw, uint32_t total,
                                               uint32_t j0, uint32_t lane, uint32_t& row, uint32_t& k) {
    constexpr uint32_t COLS_PER_VEC = BITS == 8 ? 16 : 32;
    g.row = row;
    g.k = k;
#pragma unroll
    for (int u = 0; u < VU; u++) {
        const uint32_t v = k * 32 + lane;
        const bool valid = j0 + u < total && v < nv;
        g.q[u] = valid ? zp_ld_stream(vbase + (uint64_t)row * nv + v) : make_uint4(0, 0, 0, 0);
        g.sc[u] = valid ? __ldg(tscales + (uint64_t)row * spr + (BITS == 8 ? 0 : v * COLS_PER_VEC / group)) : 0.f;
        if (++k == steps) {
            k = 0;
            row += nw;
        }
    }
}

// Consumes a loaded group: adds each slot's products to acc and, at a row's last step, writes
// the warp's sums for that row to out.
template <int BITS, int NB, int VU>
__device__ __forceinline__ void zp_vgroup_use(const zp_vgroup<VU>& g, float (&acc)[NB], const float* xs,
                                              uint32_t xstride, float* out, uint32_t ostride, uint32_t nv,
                                              uint32_t steps, uint32_t nw, uint32_t total, uint32_t j0,
                                              uint32_t lane) {
    constexpr uint32_t COLS_PER_VEC = BITS == 8 ? 16 : 32;
    uint32_t row = g.row, k = g.k;
#pragma unroll
    for (int u = 0; u < VU; u++) {
        if (j0 + u >= total) break;
        const uint32_t v = k * 32 + lane;
        if (v < nv) {
            const uint4 q[1] = {g.q[u]};
#pragma unroll
            for (int bb = 0; bb < NB; bb++) {
                float d[1];
                zp_vector_dot_rows<BITS, 1, false>(q, xs + (uint64_t)bb * xstride + v * COLS_PER_VEC, d);
                acc[bb] += g.sc[u] * d[0];
            }
        }
        if (++k == steps) {  // the row's last step (the same slot for every lane)
#pragma unroll
            for (int bb = 0; bb < NB; bb++) {
                const float s = zp_warp_sum(acc[bb]);
                if (lane == 0) out[(uint64_t)row * ostride + bb] = s;
                acc[bb] = 0.f;
            }
            k = 0;
            row += nw;
        }
    }
}

// Base products of one tile with 16-byte loads (zp_vector_rows must hold) for NB batch rows:
// for each of the tile's m rows i and b < NB, out[i * ostride + b] = Σ_c x[b][c] · q[i][c] ·
// scale, x[b] at xs + b * xstride in shared memory. Warps
// [w_first, w_first + nw) of the block share the work: warp w takes rows w - w_first,
// w - w_first + nw, ..., and streams them as one sequence of 32-vector steps, in groups of VU
// steps whose loads are all issued before any is used (VU0 / (1 or 2 for NB > 2) steps, up to
// 4 KiB per warp), so a warp's loads run on across its rows. Each product is the vector's dot
// with X times the vector's scale, summed per lane in row order and then across the warp (a
// fixed order: results do not vary between runs).
template <int BITS, int NB, int VU0>
__device__ void zp_tile_base_products_nb(const uint8_t* __restrict__ tbase, uint32_t m, uint32_t row_bytes,
                                         const float* __restrict__ tscales, uint32_t spr, uint32_t group,
                                         const float* xs, uint32_t xstride, float* out, uint32_t ostride,
                                         uint32_t w_first, uint32_t nw) {
    const uint32_t lane = threadIdx.x & 31u, wi = (threadIdx.x >> 5) - w_first;
    if (wi >= m) return;
    constexpr int VU = VU0 / (NB > 2 ? 2 : 1);
    const uint32_t nv = row_bytes / 16, steps = (nv + 31) / 32;
    const uint32_t my_rows = (m - wi + nw - 1) / nw, total = my_rows * steps;
    const uint4* vbase = reinterpret_cast<const uint4*>(tbase);
    float acc[NB];
#pragma unroll
    for (int bb = 0; bb < NB; bb++) acc[bb] = 0.f;
    uint32_t row = wi, k = 0;  // the next slot to load
    for (uint32_t j0 = 0; j0 < total; j0 += VU) {
        zp_vgroup<VU> g;
        zp_vgroup_load<BITS, VU>(g, vbase, tscales, spr, group, nv, steps, nw, total, j0, lane, row, k);
        zp_vgroup_use<BITS, NB, VU>(g, acc, xs, xstride, out, ostride, nv, steps, nw, total, j0, lane);
    }
}

// zp_tile_base_products_nb for nb batch rows (xs and out advanced per group of up to ZP_BT).
// Groups of 8 steps for rows of at least ZP_LONG_ROW bytes, else 4: measured on H100 with
// 16-row INT8 tiles, 8 steps were faster for 11008-byte rows (the base products bound the
// kernel there and 4 steps leave too few bytes in flight), 4 for 4096-byte rows (the longer
// unrolled loop stalled the warps on instruction fetch, and the tile decode beside them).
#define ZP_LONG_ROW 8192
template <int BITS>
__device__ void zp_tile_base_products(const uint8_t* __restrict__ tbase, uint32_t m, uint32_t row_bytes,
                                      const float* __restrict__ tscales, uint32_t spr, uint32_t group,
                                      const float* xs, uint32_t xstride, uint32_t nb, float* out, uint32_t ostride,
                                      uint32_t w_first, uint32_t nw) {
    const bool long_rows = row_bytes >= ZP_LONG_ROW;
    for (uint32_t b0 = 0; b0 < nb; b0 += ZP_BT) {
        const float* x = xs + (uint64_t)b0 * xstride;
#define ZP_PRODUCTS(N)                                                                                          \
    if (long_rows)                                                                                             \
        zp_tile_base_products_nb<BITS, N, 8>(tbase, m, row_bytes, tscales, spr, group, x, xstride, out + b0, ostride, \
                                             w_first, nw);                                                     \
    else                                                                                                       \
        zp_tile_base_products_nb<BITS, N, 4>(tbase, m, row_bytes, tscales, spr, group, x, xstride, out + b0, ostride, \
                                             w_first, nw);
        switch (min(nb - b0, (uint32_t)ZP_BT)) {
            case 1:
                ZP_PRODUCTS(1)
                break;
            case 2:
                ZP_PRODUCTS(2)
                break;
            case 3:
                ZP_PRODUCTS(3)
                break;
            default:
                ZP_PRODUCTS(ZP_BT)
        }
#undef ZP_PRODUCTS
    }
}

// Stages X rows [b0, b0 + nb) into xs (stride zp_x_stride(cols), zero padded) with the
// threads [first, first + count) of the block.
__device__ __forceinline__ void zp_stage_x(const float* __restrict__ X, uint32_t cols, uint32_t b0, uint32_t nb,
                                           float* xs, uint32_t first, uint32_t count) {
    const uint32_t stride = (uint32_t)zp_x_stride(cols);
    if ((cols & 3u) == 0 && ((uintptr_t)X & 15u) == 0) {
        // 16-byte words: every X row starts on a 16-byte boundary, padding words are zeros.
        const uint32_t s4 = stride / 4, c4 = cols / 4;
        const float4* X4 = reinterpret_cast<const float4*>(X) + (uint64_t)b0 * c4;
        float4* xs4 = reinterpret_cast<float4*>(xs);
#pragma unroll 4
        for (uint32_t i = threadIdx.x - first; i < nb * s4; i += count) {
            const uint32_t b = i / s4, c = i % s4;
            xs4[i] = c < c4 ? __ldg(X4 + (uint64_t)b * c4 + c) : make_float4(0.f, 0.f, 0.f, 0.f);
        }
        return;
    }
    for (uint32_t i = threadIdx.x - first; i < nb * stride; i += count) {
        const uint32_t b = i / stride, c = i % stride;
        xs[i] = c < cols ? __ldg(X + (uint64_t)(b0 + b) * cols + c) : 0.f;
    }
}

// One row's entries [e0, e1) of a prepared tile, by a warp (all 32 lanes, same arguments): checks
// them and rewrites their gap-coded columns as absolute columns in place (a warp scan of gap + 1
// per 32 entries). Returns the first bad entry (column >= cols first, then a value that is not
// finite, as zp_tile_prepare_serial) with its status in *why, or 0xffffffff.
__device__ __forceinline__ uint32_t zp_row_columns(uint8_t* tile, uint32_t flags, uint32_t m, uint32_t n,
                                                   uint32_t cols, uint32_t e0, uint32_t e1, uint32_t* why) {
    const uint32_t lane = threadIdx.x & 31u;
    const bool planes = (flags & ZP_LAYOUT_PLANES) != 0;
    const uint32_t step = planes ? 1u : 2u;
    uint8_t* gl = tile + 2 * m;
    uint8_t* gh = gl + (planes ? n : 1u);
    const uint8_t* vh = tile + 2 * m + 2 * n + (planes ? n : 1u);  // values' high bytes (sign, exponent)
    uint32_t carry = 0;  // the previous entry's column + 1
    for (uint32_t j0 = e0; j0 < e1; j0 += 32) {
        const uint32_t j = j0 + lane;
        const bool in = j < e1;
        const uint32_t g = in ? ((uint32_t)gl[j * step] | ((uint32_t)gh[j * step] << 8)) + 1u : 0u;
        const uint32_t hi = in ? vh[j * step] : 0u;
        uint32_t v = g;
        for (int o = 1; o < 32; o <<= 1) {
            const uint32_t up = __shfl_up_sync(0xffffffffu, v, o);
            if ((int)lane >= o) v += up;
        }
        const uint32_t c = carry + v - 1u;
        uint32_t mine = CZ_STATUS_OK;
        if (in && c >= cols)
            mine = CZ_STATUS_TILE_COLUMN_OUT_OF_RANGE;
        else if (in && (hi & 0x7cu) == 0x7cu)  // exponent all ones: infinity or NaN
            mine = CZ_STATUS_TILE_VALUE_NOT_FINITE;
        const unsigned mask = __ballot_sync(0xffffffffu, mine != CZ_STATUS_OK);
        if (mask) {
            const int first = __ffs(mask) - 1;
            *why = __shfl_sync(0xffffffffu, mine, first);
            return j0 + (uint32_t)first;
        }
        if (in) {
            gl[j * step] = (uint8_t)c;
            gh[j * step] = (uint8_t)(c >> 8);
        }
        carry += __shfl_sync(0xffffffffu, v, 31);
    }
    return 0xffffffffu;
}

// One row of a decoded tile per half-warp (all 32 lanes call; lanes 16h .. 16h + 15 take the
// row whose entries are [e0, e1), their own arguments): the row's entries are checked as
// zp_row_columns checks them (*bad: the row's first bad entry, its status in *why, or
// 0xffffffff) and, the tile only read, every lane of the half gets the row's sparse dot with the
// batch-1 input X (cols floats) in *dot when no entry is bad. Lane l of a half takes the l-th
// sixteenth of the row's entries, a contiguous run: it sums its gaps, one scan of 16 lane sums
// places each run's first column, then each lane walks its run (the columns, the checks and the
// products, X read through the read-only cache) and a 16-lane sum adds the products. An empty
// range is a row without entries.
__device__ __forceinline__ void zp_row_dot_half(const uint8_t* tile, uint32_t flags, uint32_t m, uint32_t n,
                                                uint32_t cols, uint32_t e0, uint32_t e1,
                                                const float* __restrict__ X, uint32_t* bad, uint32_t* why,
                                                float* dot) {
    const uint32_t lane = threadIdx.x & 31u, hl = lane & 15u, half = lane & 16u;
    const bool planes = (flags & ZP_LAYOUT_PLANES) != 0;
    const uint32_t step = planes ? 1u : 2u;
    const uint8_t* gl = tile + 2 * m;
    const uint8_t* gh = gl + (planes ? n : 1u);
    const uint8_t* vl = tile + 2 * m + 2 * n;    // values' low bytes
    const uint8_t* vh = vl + (planes ? n : 1u);  // values' high bytes (sign, exponent)
    const uint32_t len = e1 - e0, per = (len + 15) >> 4;
    const uint32_t a = e0 + min(hl * per, len), z = e0 + min(hl * per + per, len);
    // Columns before this lane's run: the sum of (gap + 1) over the row's earlier entries.
    uint32_t s = 0;
#pragma unroll 4
    for (uint32_t j = a; j < z; j++) s += ((uint32_t)gl[j * step] | ((uint32_t)gh[j * step] << 8)) + 1u;
    uint32_t incl = s;
#pragma unroll
    for (int o = 1; o < 16; o <<= 1) {
        const uint32_t up = __shfl_up_sync(0xffffffffu, incl, o, 16);
        if ((int)hl >= o) incl += up;
    }
    uint32_t c = incl - s, first = 0xffffffffu, mine = CZ_STATUS_OK;
    float d = 0.f;
#pragma unroll 4
    for (uint32_t j = a; j < z; j++) {
        c += ((uint32_t)gl[j * step] | ((uint32_t)gh[j * step] << 8)) + 1u;
        const uint32_t col = c - 1u, hi = vh[j * step];
        if (col >= cols) {
            first = j;
            mine = CZ_STATUS_TILE_COLUMN_OUT_OF_RANGE;
            break;
        }
        if ((hi & 0x7cu) == 0x7cu) {  // exponent all ones: infinity or NaN
            first = j;
            mine = CZ_STATUS_TILE_VALUE_NOT_FINITE;
            break;
        }
        d += __ldg(X + col) * zp_f16_bits_to_f32((uint16_t)(vl[j * step] | (hi << 8)));
    }
    // The row's first bad entry: the lowest lane of the half that has one (runs are in order).
    const uint32_t flagged = (__ballot_sync(0xffffffffu, first != 0xffffffffu) >> half) & 0xffffu;
    const uint32_t from = half + (flagged ? (uint32_t)__ffs(flagged) - 1u : 0u);
    const uint32_t f = __shfl_sync(0xffffffffu, first, from), w = __shfl_sync(0xffffffffu, mine, from);
    *bad = flagged ? f : 0xffffffffu;
    *why = flagged ? w : (uint32_t)CZ_STATUS_OK;
#pragma unroll
    for (int o = 8; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
    *dot = d;
}

// A tile's result: its status and detail, and its decoded size when the status is OK.
__device__ __forceinline__ void zp_tile_result(cz_item_result* r, uint32_t st, uint32_t detail, uint64_t size) {
    cz_item_result res;
    res.status = st;
    res.detail = detail;
    res.size = st == CZ_STATUS_OK ? size : 0;
    *r = res;
}

// All 32 lanes of one warp, after a tile's decode with status *st and `written` content bytes:
// row_start[0 .. m] gets each row's first entry (the counts summed with a warp scan) and the
// entry count is returned; *st becomes TILE_SIZE_MISMATCH when the content is not exactly
// 2m + 4n bytes. Nothing is done (0 returned) when *st is not OK.
__device__ __forceinline__ uint32_t zp_tile_row_starts(const uint8_t* tile, uint32_t flags, uint32_t m,
                                                       uint64_t written, uint32_t* row_start, uint32_t* st) {
    const uint32_t lane = threadIdx.x & 31u;
    uint32_t n = 0;
    if (*st == CZ_STATUS_OK && written < 2ull * m) *st = CZ_STATUS_TILE_SIZE_MISMATCH;
    if (*st != CZ_STATUS_OK) return 0;
    for (uint32_t i0 = 0; i0 < m; i0 += 32) {
        const uint32_t i = i0 + lane;
        const uint32_t own = i < m ? zp_tile_word(tile, flags, 0, m, i) : 0u;
        uint32_t v = own;
        for (int o = 1; o < 32; o <<= 1) {
            const uint32_t up = __shfl_up_sync(0xffffffffu, v, o);
            if ((int)lane >= o) v += up;
        }
        if (i < m) row_start[i] = n + v - own;
        n += __shfl_sync(0xffffffffu, v, 31);
    }
    if (lane == 0) row_start[m] = n;
    if (written != 2ull * m + 4ull * n) *st = CZ_STATUS_TILE_SIZE_MISMATCH;
    return n;
}

template <int BITS, bool FUSED, bool ONE>
__device__ __forceinline__ void zp_linear(const float* __restrict__ X, float* __restrict__ Y, uint32_t batch, uint32_t rows,
                          uint32_t cols, const uint8_t* __restrict__ base, const float* __restrict__ scales,
                          uint32_t spr, uint32_t group, const uint8_t* __restrict__ delta,
                          const uint64_t* __restrict__ tile_offsets, const uint32_t* __restrict__ tile_rows,
                          uint32_t tiles, uint32_t flags, uint32_t max_tile_bytes, uint32_t max_tile_rows,
                          uint32_t x_rows, uint8_t* workspace, uint64_t ws_stride,
                          const uint16_t* __restrict__ huf_dt, uint32_t huf_log, uint32_t dict_id,
                          const uint8_t* __restrict__ dict, uint64_t dict_size,
                          const uint16_t* __restrict__ block_index, cz_item_result* __restrict__ results) {
    extern __shared__ __align__(16) uint8_t zp_smem[];
    __shared__ uint32_t s_status, s_detail, s_n, s_seq_ok, s_nseq, s_bad;
    __shared__ uint64_t s_size;
    uint8_t* tile = zp_smem;
    float* ybuf = reinterpret_cast<float*>(zp_smem + zp_align16(max_tile_bytes));
    uint32_t* row_start =
        reinterpret_cast<uint32_t*>(reinterpret_cast<uint8_t*>(ybuf) + zp_align16(4ull * max_tile_rows * batch));
    float* xs = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(row_start) + zp_align16(4ull * (max_tile_rows + 1)));
    const uint32_t xstride = (uint32_t)zp_x_stride(cols);

    const unsigned warp = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    const uint32_t row_bytes = zp_row_bytes(BITS, cols);
    const bool round = (flags & (ZP_ROUND_F16 | ZP_ROUND_BF16)) != 0;
    const bool x_resident = x_rows >= batch;
    const bool base_only = !FUSED || (flags & ZP_BASE_ONLY) != 0;
    // Literal-dictionary layers decode in warp 0 alone; others in warps 0 and 1 (split).
    const bool split = !base_only && huf_log == 0;
    const uint32_t w_first = split ? 2 : 1;  // the first computing warp
    bool table_ready = false;                // warp 0: the dictionary's table is in shared memory
    const bool vec = zp_vector_rows(BITS, row_bytes, group, base);
    cz_decode_workspace* ws = reinterpret_cast<cz_decode_workspace*>(workspace + (uint64_t)blockIdx.x * ws_stride);

    ZP_TL_START;
    // Programmatic launches: warp 0 of a literal-dictionary layer decodes its first tile (global
    // reads of the frame and table only, into shared memory) before waiting for the previous
    // kernel; every other warp waits first (they read X, and the two-warp decode uses the
    // workspace slot that the previous kernel's block of the same index may still use).
    zp_pdl_allow();
    if (warp != 0 || split || base_only) zp_pdl_wait();
    if (x_resident && warp >= w_first) {
        // The computing warps stage X for all: the decoding warps start on their tile at once
        // and read xs only after the tile's block barrier.
        zp_stage_x(X, cols, 0, batch, xs, 32 * w_first, ZP_BLOCK - 32 * w_first);
        zp_compute_sync(w_first);
    }
    ZP_TL(0);
    for (uint32_t t = blockIdx.x; t < tiles; t = ONE ? tiles : t + gridDim.x) {
        const uint32_t r0 = tile_rows[t], m = tile_rows[t + 1] - r0;
        if (warp == 0 && base_only) {
            for (uint32_t i = lane; i <= m; i += 32) row_start[i] = 0;
            if (lane == 0) {
                s_status = CZ_STATUS_OK;
                s_detail = 0;
                s_size = 0;
                s_n = 0;
                s_bad = 0xffffffffu;
            }
        } else if (warp == 0) {
            if constexpr (FUSED) {
                __shared__ __align__(16) cz_decode_tables s_tables;  // the decoding warp's entropy tables
                // Decode and prepare the tile.
                const uint64_t off = tile_offsets[t], size = tile_offsets[t + 1] - off;
                uint32_t st = CZ_STATUS_OK, detail = 0;
                uint64_t written = 0;
                if (split) {
                    if (lane == 0) {
                        cz_frame_header h;
                        st = cz_parse_frame_header(delta + off, (size_t)size, &h);
                        if (st == CZ_STATUS_OK && (h.content_size == CZ_CONTENT_SIZE_UNKNOWN ||
                                                   h.content_size > max_tile_bytes || !h.checksum))
                            st = CZ_STATUS_TILE_FRAME_UNCHECKED;
                    }
                    st = __shfl_sync(0xffffffffu, st, 0);
                    st = zp_decode_tile_literals(st, delta + off, size, tile, max_tile_bytes, ws, &s_tables, &s_seq_ok,
                                                 &s_nseq, &written, &detail);
                } else {
                    // Lane j's entry of the tile's block index (only a hint).
                    const uint32_t hint =
                        block_index ? __ldg(block_index + (uint64_t)t * ZP_BLOCK_INDEX + lane) : 0u;
                    st = zp_decode_tile_layer(delta + off, size, tile, max_tile_bytes, huf_dt, huf_log, dict_id, dict,
                                              dict_size, ws, &s_tables, &table_ready, &written, &detail, hint);
                }
                st = __shfl_sync(0xffffffffu, st, 0);
                detail = __shfl_sync(0xffffffffu, detail, 0);
                written = __shfl_sync(0xffffffffu, written, 0);
                zp_pdl_wait();  // before the block barrier, after which Y and results are written
                __syncwarp();
                ZP_TL(2);
                const uint32_t n = zp_tile_row_starts(tile, flags, m, written, row_start, &st);
                __syncwarp();
                ZP_TL(7);
                if (st == CZ_STATUS_OK && round) {
                    // The row products need absolute columns (without round_to each warp converts its
                    // own rows after the block barrier).
                    for (uint32_t i = 0; i < m; i++) {
                        uint32_t why = CZ_STATUS_OK;
                        const uint32_t bad = zp_row_columns(tile, flags, m, n, cols, row_start[i], row_start[i + 1], &why);
                        if (bad != 0xffffffffu) {
                            st = why;
                            detail = bad;
                            break;
                        }
                    }
                }
                if (lane == 0) {
                    s_status = st;
                    s_detail = detail;
                    s_size = written;
                    s_n = n;
                    s_bad = 0xffffffffu;
                }
                ZP_TL(3);
            }
        }
        if (warp == 1 && split) {
            if constexpr (FUSED) {
                const uint64_t off = tile_offsets[t], size = tile_offsets[t + 1] - off;
                zp_decode_tile_sequences(delta + off, size, max_tile_bytes, ws, &s_seq_ok, &s_nseq);
            }
        } else if (!round && warp != 0) {
            // Base products of the tile's rows (while warp 0, and warp 1 when split, decode).
            const uint32_t nw = ZP_WARPS - w_first;
            for (uint32_t b0 = 0; b0 < batch; b0 += x_rows) {
                const uint32_t nb = min(x_rows, batch - b0);
                if (!x_resident) {
                    zp_compute_sync(w_first);  // previous users of xs are done
                    zp_stage_x(X, cols, b0, nb, xs, 32 * w_first, ZP_BLOCK - 32 * w_first);
                    zp_compute_sync(w_first);
                }
                if (vec) {
                    zp_tile_base_products<BITS>(base + (uint64_t)r0 * row_bytes, m, row_bytes,
                                                scales + (uint64_t)r0 * spr, spr, group, xs, xstride, nb, ybuf + b0,
                                                batch, w_first, nw);
                } else {
                    for (uint32_t i = warp - w_first; i < m; i += nw) {
                        const uint32_t r = r0 + i;
                        zp_row_products<BITS>(base + (uint64_t)r * row_bytes, row_bytes, scales + (uint64_t)r * spr,
                                              group, cols, xs, xstride, nb, ybuf + (uint64_t)i * batch + b0, false,
                                              nullptr, flags, 0, 0, 0, 0, 0);
                    }
                }
            }
            ZP_TL(4);
        }
        __syncthreads();
        ZP_TL(5);
        uint32_t st = s_status, detail = s_detail;
        const uint32_t n = s_n;
        const uint32_t gaps = 2 * m, vals = 2 * m + 2 * n;
        if (st == CZ_STATUS_OK) {
            if (round) {
                // Every weight needs its delta and rounding: all warps compute now.
                for (uint32_t b0 = 0; b0 < batch; b0 += x_rows) {
                    const uint32_t nb = min(x_rows, batch - b0);
                    if (!x_resident) {
                        __syncthreads();
                        zp_stage_x(X, cols, b0, nb, xs, 0, ZP_BLOCK);
                        __syncthreads();
                    }
                    for (uint32_t i = warp; i < m; i += ZP_WARPS) {
                        const uint32_t r = r0 + i;
                        zp_row_products<BITS>(base + (uint64_t)r * row_bytes, row_bytes, scales + (uint64_t)r * spr,
                                              group, cols, xs, xstride, nb, ybuf + (uint64_t)i * batch + b0, true, tile,
                                              flags, gaps, vals, n, row_start[i], row_start[i + 1]);
                    }
                }
                __syncwarp();
            } else {
                // Delta entries: each warp checks its rows' entries and turns their columns into
                // absolute columns (the tile's first bad entry, in entry order, goes to s_bad), then
                // adds their sparse dot with X to the rows' base products.
                for (uint32_t i = warp; i < m; i += ZP_WARPS) {
                    const uint32_t e0 = row_start[i], e1 = row_start[i + 1];
                    uint32_t why = CZ_STATUS_OK;
                    const uint32_t bad = zp_row_columns(tile, flags, m, n, cols, e0, e1, &why);
                    if (bad != 0xffffffffu) {
                        if (lane == 0)
                            atomicMin(&s_bad, (bad << 1) | (why == CZ_STATUS_TILE_VALUE_NOT_FINITE ? 1u : 0u));
                        continue;
                    }
                    for (uint32_t b = 0; b < batch; b++) {
                        float d = 0.f;
                        for (uint32_t j = e0 + lane; j < e1; j += 32) {
                            const uint32_t c = zp_tile_word(tile, flags, gaps, n, j);
                            const float x = x_resident ? xs[(uint64_t)b * xstride + c] : __ldg(X + (uint64_t)b * cols + c);
                            d += x * zp_f16_to_f32((uint16_t)zp_tile_word(tile, flags, vals, n, j));
                        }
                        d = zp_warp_sum(d);
                        if (lane == 0) ybuf[(uint64_t)i * batch + b] += d;
                    }
                }
            }
            __syncthreads();
            const uint32_t bad = s_bad;
            if (bad != 0xffffffffu) {
                st = (bad & 1u) ? CZ_STATUS_TILE_VALUE_NOT_FINITE : CZ_STATUS_TILE_COLUMN_OUT_OF_RANGE;
                detail = bad >> 1;
            } else {
                // The output rows, once the whole tile is known to be good.
                for (uint32_t k = threadIdx.x; k < m * batch; k += ZP_BLOCK) {
                    const uint32_t i = k / batch, b = k - i * batch;
                    Y[(uint64_t)b * rows + r0 + i] = ybuf[k];
                }
            }
        }
        ZP_TL(6);
        if (threadIdx.x == 0) zp_tile_result(results + t, st, detail, s_size);
        __syncthreads();  // shared memory is reused by the next tile
    }
}

#define ZP_KERNEL(NAME, BITS, FUSED, ONE, MIN_BLOCKS)                                                                 \
    extern "C" __global__ void __launch_bounds__(ZP_BLOCK, MIN_BLOCKS)                                                          \
        NAME(const float* X, float* Y, uint32_t batch, uint32_t rows, uint32_t cols, const uint8_t* base,              \
             const float* scales, uint32_t spr, uint32_t group, const uint8_t* delta, const uint64_t* tile_offsets,    \
             const uint32_t* tile_rows, uint32_t tiles, uint32_t flags, uint32_t max_tile_bytes,                       \
             uint32_t max_tile_rows, uint32_t x_rows, uint8_t* workspace, uint64_t ws_stride,                          \
             const uint16_t* huf_dt, uint32_t huf_log, uint32_t dict_id, const uint8_t* dict, uint64_t dict_size,       \
             const uint16_t* block_index, cz_item_result* results) {                                                   \
        zp_linear<BITS, FUSED, ONE>(X, Y, batch, rows, cols, base, scales, spr, group, delta, tile_offsets, tile_rows, \
                               tiles, flags, max_tile_bytes, max_tile_rows, x_rows, workspace, ws_stride, huf_dt,      \
                               huf_log, dict_id, dict, dict_size, block_index, results);                               \
    }

ZP_KERNEL(zp_linear_int8, 8, true, false, 2)
ZP_KERNEL(zp_linear_int4, 4, true, false, 2)
ZP_KERNEL(zp_linear1_int8, 8, true, true, 2)
ZP_KERNEL(zp_linear1_int4, 4, true, true, 2)
ZP_KERNEL(zp_base_int8, 8, false, true, 2)
ZP_KERNEL(zp_base_int4, 4, false, true, 2)

// Kernels zp_gemv_int8 / zp_gemv_int4 (any batch) and zp_gemv1_int8 / zp_gemv1_int4 (batch 1,
// fewer registers): Y = X · baseᵀ (the base alone, no rounding) for base-only launches of
// packs without round_to.
//   grid mapping: batch 1 with vector rows (below): block b computes the ZP_SK_ROWS rows from
//                 ZP_SK_ROWS · b, then from ZP_SK_ROWS · (b + B) (B blocks), its 8 warps each
//                 taking one eighth of the row's vectors for all those rows (zp_gemv1_split).
//                 Otherwise warp w of the grid computes the ZP_GR rows from ZP_GR · w, then from
//                 ZP_GR · (w + W) (W warps in the grid), for every batch row (passes of up to
//                 ZP_BT). Either way the rows share each load of X, which is most of the traffic
//                 through L1 (4 bytes of X per weight). Thread i of the grid writes
//                 results[i + k · T] = OK (T threads in the grid) for the tiles. Any grid of
//                 256-thread blocks.
//   loads:        16-byte vectors of the rows (ZP_GV per row in flight per lane; one per row in the
//                 batch-1 split form), read without
//                 allocating in L1, and 16-byte words of X through the read-only cache, when
//                 base, X and the rows allow it (zp_vector_rows, X 16-byte aligned, cols a
//                 multiple of a vector's columns); else bytes of the rows and single floats.
//   reads:        X[0 .. batch * cols), base[0 .. rows * row_bytes), scales[0 .. rows * spr).
//   writes:       Y[0 .. batch * rows), results[0 .. tiles).
//   launch:       may be launched with programmatic stream serialization (sm_90+): the kernel
//                 allows its successor to start at once (zp_pdl_allow) and, before zp_pdl_wait,
//                 only loads weight rows (batch-1 split form: its first vectors).
#define ZP_BLOCK_GEMV 256  // threads per block of the base GEMV kernels
#define ZP_GR 2  // rows per warp (4 measured no faster on H100)
#define ZP_GV 2  // vectors of each row in flight per lane (4 measured slower on H100)
template <int BITS, int NB, bool VEC, int GV>
__device__ __forceinline__ void zp_gemv_rows(const float* __restrict__ X, float* __restrict__ Y, uint32_t rows,
                                             uint32_t cols, const uint8_t* __restrict__ base, uint32_t row_bytes,
                                             const float* __restrict__ scales, uint32_t spr, uint32_t group,
                                             uint32_t r0) {
    constexpr int R = ZP_GR;
    const uint32_t lane = threadIdx.x & 31u;
    constexpr uint32_t CPV = BITS == 8 ? 16 : 32;  // columns per 16-byte vector
    // Rows past the last one repeat the last one (loaded, not written).
    const uint8_t* q[R];
    const float* sr[R];
#pragma unroll
    for (int i = 0; i < R; i++) {
        const uint32_t r = min(r0 + i, rows - 1);
        q[i] = base + (uint64_t)r * row_bytes;
        sr[i] = scales + (uint64_t)r * spr;
    }
    float acc[NB][R];
#pragma unroll
    for (int bb = 0; bb < NB; bb++)
#pragma unroll
        for (int i = 0; i < R; i++) acc[bb][i] = 0.f;
    if (VEC) {
        const uint32_t nv = cols / CPV;
        float t[R];
#pragma unroll
        for (int i = 0; i < R; i++) t[i] = BITS == 8 ? __ldg(sr[i]) : 0.f;
        for (uint32_t v0 = lane; v0 < nv; v0 += 32 * GV) {
            uint4 w[GV][R];
#pragma unroll
            for (int u = 0; u < GV; u++) {
                const uint32_t v = v0 + 32u * u;
#pragma unroll
                for (int i = 0; i < R; i++)
                    w[u][i] = v < nv ? zp_ld_stream(reinterpret_cast<const uint4*>(q[i]) + v) : make_uint4(0, 0, 0, 0);
            }
#pragma unroll
            for (int u = 0; u < GV; u++) {
                const uint32_t v = v0 + 32u * u;
                if (v >= nv) break;
                float c[R];
#pragma unroll
                for (int i = 0; i < R; i++) c[i] = BITS == 8 ? t[i] : __ldg(sr[i] + v * CPV / group);
#pragma unroll
                for (int bb = 0; bb < NB; bb++) {
                    float d[R];
                    zp_vector_dot_rows<BITS, R, true>(w[u], X + (uint64_t)bb * cols + v * CPV, d);
#pragma unroll
                    for (int i = 0; i < R; i++) acc[bb][i] += c[i] * d[i];
                }
            }
        }
    } else {
        for (uint32_t c = lane; c < cols; c += 32) {
            const uint32_t g = BITS == 8 ? 0 : c / group;
            float m[R];
#pragma unroll
            for (int i = 0; i < R; i++) m[i] = zp_q<BITS>(q[i], c) * __ldg(sr[i] + g);
#pragma unroll
            for (int bb = 0; bb < NB; bb++) {
                const float x = __ldg(X + (uint64_t)bb * cols + c);
#pragma unroll
                for (int i = 0; i < R; i++) acc[bb][i] += x * m[i];
            }
        }
    }
#pragma unroll
    for (int bb = 0; bb < NB; bb++)
#pragma unroll
        for (int i = 0; i < R; i++) {
            const float v = zp_warp_sum(acc[bb][i]);
            if (lane == 0 && r0 + i < rows) Y[(uint64_t)bb * rows + r0 + i] = v;
        }
}

#define ZP_SK_ROWS 4
// One warp's share of a batch-1 product over ZP_SK_ROWS weight rows (rows[i], 16-byte vector
// rows): the sums over the vectors [vb, ve) of each row times X, reduced over the warp (every
// lane gets them; INT8 sums are left unscaled, INT4 ones carry their group scales). One vector
// of each row is in flight per lane; the first ones are loaded before zp_pdl_wait, which is
// called then unless *waited (and *waited set).
template <int BITS>
__device__ __forceinline__ void zp_split_row_sums(const float* __restrict__ X, const uint8_t* __restrict__ base,
                                                  uint32_t row_bytes, const float* __restrict__ scales, uint32_t spr,
                                                  uint32_t group, const uint32_t (&rows)[ZP_SK_ROWS], uint32_t vb,
                                                  uint32_t ve, bool* waited, float (&sum)[ZP_SK_ROWS]) {
    constexpr int RB = ZP_SK_ROWS;
    constexpr uint32_t CPV = BITS == 8 ? 16 : 32;  // columns per 16-byte vector
    const uint32_t lane = threadIdx.x & 31u;
    const uint4* q[RB];
    const float* sr[RB];
#pragma unroll
    for (int i = 0; i < RB; i++) {
        q[i] = reinterpret_cast<const uint4*>(base + (uint64_t)rows[i] * row_bytes);
        sr[i] = scales + (uint64_t)rows[i] * spr;
        sum[i] = 0.f;
    }
    uint32_t v = vb + lane;
    uint4 wv[RB];
    if (v < ve) {
#pragma unroll
        for (int i = 0; i < RB; i++) wv[i] = zp_ld_stream(q[i] + v);
    }
    if (!*waited) {
        zp_pdl_wait();
        *waited = true;
    }
    while (v < ve) {
        float d[RB];
        zp_vector_dot_rows<BITS, RB, true>(wv, X + (uint64_t)v * CPV, d);
#pragma unroll
        for (int i = 0; i < RB; i++) sum[i] += BITS == 8 ? d[i] : d[i] * __ldg(sr[i] + v * CPV / group);
        v += 32;
        if (v < ve) {
#pragma unroll
            for (int i = 0; i < RB; i++) wv[i] = zp_ld_stream(q[i] + v);
        }
    }
#pragma unroll
    for (int i = 0; i < RB; i++) sum[i] = zp_warp_sum(sum[i]);
}

// Batch-1 GEMV with the columns split between the block's 8 warps (see the kernels' contract
// below): every warp keeps one 16-byte vector of each of the block's ZP_SK_ROWS rows in flight
// per lane, so short and long rows alike put 8 · ZP_SK_ROWS loads per lane position in flight
// per block, and the grid holds rows / ZP_SK_ROWS blocks of equal work (no partial second
// round of row pairs). The warps' partial sums are added in a fixed order (deterministic).
// Needs vector rows (zp_vector_rows, cols % CPV == 0, X 16-byte aligned) and 256 threads.
// Each lane loads its first vectors of the block's rows before zp_pdl_wait (the weights, which
// no kernel writes), so under a programmatic launch they are on their way while the previous
// kernel ends; X is read and Y written only after the wait. Later vectors are loaded after the
// previous ones are used, as before (one vector per row in flight per lane).
template <int BITS>
__device__ __forceinline__ void zp_gemv1_split(const float* __restrict__ X, float* __restrict__ Y, uint32_t rows,
                                               uint32_t cols, const uint8_t* __restrict__ base, uint32_t row_bytes,
                                               const float* __restrict__ scales, uint32_t spr, uint32_t group) {
    constexpr int RB = ZP_SK_ROWS;
    constexpr uint32_t CPV = BITS == 8 ? 16 : 32;  // columns per 16-byte vector
    __shared__ float part[ZP_BLOCK_GEMV / 32][RB];
    const uint32_t w = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    const uint32_t nv = cols / CPV;
    const uint32_t vb = nv * w / (ZP_BLOCK_GEMV / 32), ve = nv * (w + 1) / (ZP_BLOCK_GEMV / 32);
    bool waited = false;
    for (uint32_t r0 = blockIdx.x * RB; r0 < rows; r0 += gridDim.x * RB) {
        uint32_t rs[RB];
#pragma unroll
        for (int i = 0; i < RB; i++) rs[i] = min(r0 + i, rows - 1);  // rows past the last repeat it (not written)
        float sum[RB];
        zp_split_row_sums<BITS>(X, base, row_bytes, scales, spr, group, rs, vb, ve, &waited, sum);
        if (lane == 0) {
#pragma unroll
            for (int i = 0; i < RB; i++) part[w][i] = sum[i];
        }
        __syncthreads();
        if (threadIdx.x < RB && r0 + threadIdx.x < rows) {
            float t = 0.f;
#pragma unroll
            for (int k = 0; k < ZP_BLOCK_GEMV / 32; k++) t += part[k][threadIdx.x];
            Y[r0 + threadIdx.x] = BITS == 8 ? t * __ldg(scales + (uint64_t)(r0 + threadIdx.x) * spr) : t;
        }
        if (r0 + gridDim.x * RB < rows) __syncthreads();  // part is reused by the next rows
    }
    if (!waited) zp_pdl_wait();
}

template <int BITS, bool BATCH1>
__device__ __forceinline__ void zp_gemv_q(const float* __restrict__ X, float* __restrict__ Y, uint32_t batch, uint32_t rows,
                          uint32_t cols, const uint8_t* __restrict__ base, const float* __restrict__ scales,
                          uint32_t spr, uint32_t group, uint32_t tiles, cz_item_result* __restrict__ results) {
    zp_pdl_allow();
    const uint32_t row_bytes = zp_row_bytes(BITS, cols);
    constexpr uint32_t CPV = BITS == 8 ? 16 : 32;
    const bool vec = zp_vector_rows(BITS, row_bytes, group, base) && cols % CPV == 0 && ((uintptr_t)X & 15u) == 0;
    if (BATCH1 && vec) {
        zp_gemv1_split<BITS>(X, Y, rows, cols, base, row_bytes, scales, spr, group);  // waits (zp_pdl_wait)
    } else {
        zp_pdl_wait();
    }
    const uint64_t nthreads = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; t < tiles; t += nthreads)
        zp_tile_result(results + t, CZ_STATUS_OK, 0, 0);
    if (BATCH1 && vec) return;
    const uint64_t nwarps = nthreads / 32;
    constexpr int GV = ZP_GV;
    for (uint64_t wp = ((uint64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32; ZP_GR * wp < rows; wp += nwarps) {
        const uint32_t r = (uint32_t)(ZP_GR * wp);
        for (uint32_t b0 = 0; b0 < batch; b0 += ZP_BT) {
            const float* x = X + (uint64_t)b0 * cols;
            float* y = Y + (uint64_t)b0 * rows;
            const uint32_t nb = min(batch - b0, (uint32_t)ZP_BT);
#define ZP_GEMV_CASE(N)                                                                           \
    if (vec)                                                                                      \
        zp_gemv_rows<BITS, N, true, GV>(x, y, rows, cols, base, row_bytes, scales, spr, group, r); \
    else                                                                                          \
        zp_gemv_rows<BITS, N, false, GV>(x, y, rows, cols, base, row_bytes, scales, spr, group, r);
            if (BATCH1 || nb == 1) {
                ZP_GEMV_CASE(1)
            } else if (nb == 2) {
                ZP_GEMV_CASE(2)
            } else if (nb == 3) {
                ZP_GEMV_CASE(3)
            } else {
                ZP_GEMV_CASE(ZP_BT)
            }
#undef ZP_GEMV_CASE
        }
    }
}

#define ZP_GEMV_KERNEL(NAME, BITS, BATCH1, MIN_BLOCKS)                                                           \
    extern "C" __global__ void __launch_bounds__(ZP_BLOCK_GEMV, MIN_BLOCKS)                                                \
        NAME(const float* X, float* Y, uint32_t batch, uint32_t rows, uint32_t cols, const uint8_t* base,        \
             const float* scales, uint32_t spr, uint32_t group, uint32_t tiles, cz_item_result* results) {        \
        zp_gemv_q<BITS, BATCH1>(X, Y, batch, rows, cols, base, scales, spr, group, tiles, results);              \
    }

ZP_GEMV_KERNEL(zp_gemv_int8, 8, false, 2)
ZP_GEMV_KERNEL(zp_gemv_int4, 4, false, 2)
// batch == 1 only (fewer registers: more warps, and bytes, in flight per multiprocessor).
ZP_GEMV_KERNEL(zp_gemv1_int8, 8, true, 4)
ZP_GEMV_KERNEL(zp_gemv1_int4, 4, true, 4)

// Kernels zp_fused1_int8 / zp_fused1_int4 (three blocks per multiprocessor): the fused layer at batch 1
// for layers with a literal dictionary (huf_log != 0), no round_to and vector rows
// (zp_vector_rows, cols a multiple of a vector's columns, X 16-byte aligned), shaped like the
// batch-1 GEMV (zp_gemv1_split) with two more warps that decode.
//   grid mapping: block b takes tile b (grid >= tiles; blocks past the last tile do nothing);
//                 each tile's rows of Y are written by its block only, once (no atomics on Y, no
//                 global scratch for the delta). blockDim.x == ZP_F1_BLOCK: warps 0..ZP_F1_COMPUTE-1 compute the base
//                 products of the tile's rows in groups of ZP_SK_ROWS, warp w over the w-th
//                 share of each row's 16-byte vectors (partial sums in shared memory, added in
//                 a fixed order); warps ZP_F1_COMPUTE and ZP_F1_COMPUTE + 1 decode the tile's
//                 literal frame into shared memory together (zp_decode_tile_literal: the table
//                 and frame copies split between them, each finds the frame's block chain (from
//                 the tile's block index when block_index is not null and the index holds, see
//                 ZP_BLOCK_INDEX; else by walking it), the frame's first group of 8 blocks is
//                 decoded by the first, the second by the second, and so on), and the first
//                 computes the row starts. The computing
//                 warps issue their first loads only once both decoding warps have issued
//                 theirs (named barrier ZP_F1_FETCH_BAR). Once the tile and its row starts are
//                 ready (the decoding warps meet at ZP_F1_DECODE_BAR and arrive at
//                 ZP_F1_ROWS_BAR, where the computing warps wait after their base products) the
//                 first decoding warp checks the content checksum while the second and the
//                 computing warps take rows from a shared counter, two a warp, one per
//                 half-warp: check their columns and add their sparse dot with X (read from
//                 global memory) in one pass that only reads the tile (zp_row_dot_half; the
//                 checking warp hashes the same bytes). So where the base takes longer than the
//                 decode, the checksum and most rows are done before the base ends. After a
//                 block barrier the tile's rows of Y (base sums added in a fixed order, times
//                 the row's scale, plus the sparse dot) are written when the checksum matched
//                 and every entry was good (a mismatch is the tile's status, CHECKSUM_MISMATCH
//                 at the frame's last block, as the full decoder gives it).
//   fallback:     a frame the literal path does not take (and any error it does not name) is
//                 decoded by cz_decode_all (zp_decode_tile) in a workspace slot taken under a
//                 lock: slot s of workspace[s * ws_stride ..) is held while locks[s] is 1
//                 (locks[0 .. nslots), 0 when no kernel runs). A block only spins on a lock
//                 while another running block holds it.
//   shared memory: `cap` dynamic bytes: the tile buffer (decoded content, and the frame staged
//                 behind it when it fits); frames with more content than cap get
//                 TILE_FRAME_UNCHECKED.
//   reads/writes/statuses: as zp_linear_* with batch 1 (tiles of at most ZP_F1_MAX_ROWS rows),
//                 and block_index[t * ZP_BLOCK_INDEX .. + ZP_BLOCK_INDEX) for every tile t when
//                 block_index is not null (any values: statuses and Y do not depend on them).
//   launch:       may be launched with programmatic stream serialization (sm_90+): the
//                 decoding warps read their tile's frame, block index and the table before
//                 zp_pdl_wait, the computing warps their first weight vectors; X, Y, results,
//                 locks and the workspace are touched after it.
template <int BITS>
__device__ __forceinline__ void zp_fused1(const float* __restrict__ X, float* __restrict__ Y, uint32_t rows,
                                          uint32_t cols, const uint8_t* __restrict__ base,
                                          const float* __restrict__ scales, uint32_t spr, uint32_t group,
                                          const uint8_t* __restrict__ delta, const uint64_t* __restrict__ tile_offsets,
                                          const uint32_t* __restrict__ tile_rows, uint32_t tiles, uint32_t flags,
                                          uint32_t cap, uint8_t* workspace, uint64_t ws_stride, uint32_t* locks,
                                          uint32_t nslots, const uint16_t* __restrict__ huf_dt, uint32_t huf_log,
                                          uint32_t dict_id, const uint8_t* __restrict__ dict, uint64_t dict_size,
                                          const uint16_t* __restrict__ block_index,
                                          cz_item_result* __restrict__ results) {
    extern __shared__ __align__(16) uint8_t zp_smem[];
    __shared__ __align__(16) uint16_t s_huf[CZ_HUF_DTABLE_SIZE];
    __shared__ float part[ZP_F1_COMPUTE][ZP_F1_MAX_ROWS];
    __shared__ float s_d[ZP_F1_MAX_ROWS], s_scale[ZP_F1_MAX_ROWS];  // each row's sparse dot and scale
    __shared__ uint32_t row_start[ZP_F1_MAX_ROWS + 1];
    __shared__ uint32_t s_status, s_detail, s_bad, s_sum, s_next, s_verdicts[ZP_F1_DECODE];
    __shared__ cz_literal_sum s_sums[4];  // the checksum's state from the decode to its check
    __shared__ uint64_t s_size;
    constexpr int RB = ZP_SK_ROWS;
    constexpr uint32_t CPV = BITS == 8 ? 16 : 32;  // columns per 16-byte vector
    uint8_t* tile = zp_smem;
    const uint32_t warp = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    const uint32_t row_bytes = zp_row_bytes(BITS, cols);
    const uint32_t nv = cols / CPV;
    const uint32_t vb = nv * warp / ZP_F1_COMPUTE, ve = nv * (warp + 1) / ZP_F1_COMPUTE;
    bool waited = false, table_ready = false;
    ZP_TL_START;
    zp_pdl_allow();
    // One tile per block: a loop over several tiles kept the decoding warps' values live through
    // the computing warps' loop, and ptxas then spilled the loaded weight vectors.
    if (blockIdx.x < tiles) {
        const uint32_t t = blockIdx.x;
        const uint32_t r0 = tile_rows[t], m = tile_rows[t + 1] - r0;
        if (warp >= ZP_F1_COMPUTE) {
            // The decoding warps (k = 0 .. ZP_F1_DECODE - 1) share the frame; warp k = 0 does the rest.
            const uint32_t k = warp - ZP_F1_COMPUTE;
            const uint64_t off = tile_offsets[t], size = tile_offsets[t + 1] - off;
            // Lane j's entry of the tile's block index (loaded with the frame; only a hint).
            const uint32_t hint = block_index ? __ldg(block_index + (uint64_t)t * ZP_BLOCK_INDEX + lane) : 0u;
            uint64_t written = 0;
            uint32_t st, detail = 0;
            cz_literal_sum sum;
            const bool took = zp_decode_tile_literal(delta + off, size, tile, cap, huf_dt, huf_log, dict_id, s_huf,
                                                     &table_ready, &written, &detail, &st, k, ZP_F1_DECODE,
                                                     ZP_F1_DECODE_BAR, s_verdicts, &sum, true, hint);
            if (k == 0) {
                // The checksum's state waits in shared memory (live in registers through the
                // fallback and the row starts, it made ptxas spill in the decode).
                const bool sum_pending = took && st == CZ_STATUS_OK;
                if (sum_pending && lane < 4) s_sums[lane] = sum;
                if (!took) {
                    if (!waited) {
                        zp_pdl_wait();  // the workspace and locks may still be in use by the previous kernel
                        waited = true;
                    }
                    uint32_t slot = blockIdx.x % nslots;
                    if (lane == 0) {
                        while (atomicCAS(locks + slot, 0u, 1u) != 0u) {
                            slot = slot + 1 == nslots ? 0 : slot + 1;
                            __nanosleep(256);
                        }
                        __threadfence();
                    }
                    slot = __shfl_sync(0xffffffffu, slot, 0);
                    __syncwarp();
                    cz_decode_workspace* ws = reinterpret_cast<cz_decode_workspace*>(workspace + (uint64_t)slot * ws_stride);
                    st = zp_decode_tile(delta + off, size, tile, cap, dict, dict_size, ws, nullptr, &written, &detail);
                    __syncwarp();
                    if (lane == 0) {
                        __threadfence();
                        atomicExch(locks + slot, 0u);
                    }
                }
                st = __shfl_sync(0xffffffffu, st, 0);
                detail = __shfl_sync(0xffffffffu, detail, 0);
                written = __shfl_sync(0xffffffffu, written, 0);
                __syncwarp();
                ZP_TL(2);
                zp_tile_row_starts(tile, flags, m, written, row_start, &st);
                ZP_TL(7);
                if (lane == 0) {
                    s_status = st;
                    s_detail = detail;
                    s_size = written;
                    s_bad = 0xffffffffu;
                    s_sum = 0u;
                    s_next = 0u;
                }
                // The tile is ready: the other decoding warp and, once done with the base, the
                // computing warps take its rows while this warp checks the content checksum,
                // whenever the decode succeeded (a mismatch is the tile's status whatever the
                // row starts or the rows find, as when the full decoder names it).
                asm volatile("bar.sync %0, %1;" ::"n"(ZP_F1_DECODE_BAR), "n"(32 * ZP_F1_DECODE) : "memory");
                asm volatile("bar.arrive %0, %1;" ::"n"(ZP_F1_ROWS_BAR), "n"(ZP_F1_BLOCK) : "memory");
                if (sum_pending) {
                    cz_literal_sum chk = s_sums[lane & 3u];
                    if (!cz_literal_sum_check(&chk, tile) && lane == 0) s_sum = 1u;
                }
                ZP_TL(18);
            } else {
                asm volatile("bar.sync %0, %1;" ::"n"(ZP_F1_DECODE_BAR), "n"(32 * ZP_F1_DECODE) : "memory");
                asm volatile("bar.arrive %0, %1;" ::"n"(ZP_F1_ROWS_BAR), "n"(ZP_F1_BLOCK) : "memory");
            }
        } else {
            // Base products of the tile's rows, ZP_SK_ROWS at a time (rows past the tile's last
            // repeat it and are not kept).
            // The decoding warps' loads go first (their round trip starts the decode's chain).
            asm volatile("bar.sync %0, %1;" ::"n"(ZP_F1_FETCH_BAR), "n"(ZP_F1_BLOCK) : "memory");
            for (uint32_t g0 = 0; g0 < m; g0 += RB) {
                uint32_t rs[RB];
#pragma unroll
                for (int i = 0; i < RB; i++) rs[i] = r0 + min(g0 + i, m - 1);
                float sum[RB];
                zp_split_row_sums<BITS>(X, base, row_bytes, scales, spr, group, rs, vb, ve, &waited, sum);
                if (lane == 0) {
#pragma unroll
                    for (int i = 0; i < RB; i++)
                        if (g0 + i < m) part[warp][g0 + i] = sum[i];
                }
            }
            ZP_TL(4);
            asm volatile("bar.sync %0, %1;" ::"n"(ZP_F1_ROWS_BAR), "n"(ZP_F1_BLOCK) : "memory");
        }
        ZP_TL(5);
        // Rows are taken two at a time, one per half-warp, by whichever warp is free first: the
        // second decoding warp as soon as the tile is ready, the computing warps after their
        // base (the first decoding warp checks the checksum meanwhile).
        if (warp != ZP_F1_COMPUTE && s_status == CZ_STATUS_OK) {
            if (!waited) {
                zp_pdl_wait();  // X is read below
                waited = true;
            }
            const uint32_t n = row_start[m];
            for (;;) {
                uint32_t i = 0;
                if (lane == 0) i = atomicAdd(&s_next, 2u);
                i = __shfl_sync(0xffffffffu, i, 0);
                if (i >= m) break;
                const uint32_t row = i + (lane >> 4);
                const bool has = row < m;
                // The row's scale is loaded first: its global-memory latency then passes
                // during the row's columns.
                const float scale = BITS == 8 && has ? __ldg(scales + (uint64_t)(r0 + row) * spr) : 1.f;
                const uint32_t e0 = has ? row_start[row] : 0u, e1 = has ? row_start[row + 1] : 0u;
                uint32_t bad, why;
                float d;
                // Columns checked and the dot taken in one pass, the tile only read (the
                // checking warp may still be hashing it).
                zp_row_dot_half(tile, flags, m, n, cols, e0, e1, X, &bad, &why, &d);
                if (has && (lane & 15u) == 0) {
                    if (bad != 0xffffffffu) {
                        atomicMin(&s_bad, (bad << 1) | (why == CZ_STATUS_TILE_VALUE_NOT_FINITE ? 1u : 0u));
                    } else {
                        s_d[row] = d;
                        s_scale[row] = scale;
                    }
                }
            }
            ZP_TL(17);
        }
        if (!waited) {
            zp_pdl_wait();  // the tile's result is written below
            waited = true;
        }
        __syncthreads();
        ZP_TL(20);
        uint32_t st = s_status, detail = s_detail;
        uint64_t written = s_size;
        if (s_sum == 1u) {
            st = CZ_STATUS_CHECKSUM_MISMATCH;
            detail = s_sums[0].blocks - 1;
            written = 0;
        } else if (st == CZ_STATUS_OK) {
            const uint32_t bad = s_bad;
            if (bad != 0xffffffffu) {
                st = (bad & 1u) ? CZ_STATUS_TILE_VALUE_NOT_FINITE : CZ_STATUS_TILE_COLUMN_OUT_OF_RANGE;
                detail = bad >> 1;
            } else if (threadIdx.x < m) {
                float b = 0.f;
#pragma unroll
                for (int k = 0; k < ZP_F1_COMPUTE; k++) b += part[k][threadIdx.x];
                Y[r0 + threadIdx.x] = (BITS == 8 ? b * s_scale[threadIdx.x] : b) + s_d[threadIdx.x];
            }
        }
        if (threadIdx.x == 32 * ZP_F1_COMPUTE) zp_tile_result(results + t, st, detail, written);
        ZP_TL(6);
    }
    if (!waited) zp_pdl_wait();
}

#define ZP_FUSED1_KERNEL(NAME, BITS, MB)                                                                                 \
    extern "C" __global__ void __launch_bounds__(ZP_F1_BLOCK, MB)                                                      \
        NAME(const float* X, float* Y, uint32_t rows, uint32_t cols, const uint8_t* base, const float* scales,        \
             uint32_t spr, uint32_t group, const uint8_t* delta, const uint64_t* tile_offsets,                       \
             const uint32_t* tile_rows, uint32_t tiles, uint32_t flags, uint32_t cap, uint8_t* workspace,            \
             uint64_t ws_stride, uint32_t* locks, uint32_t nslots, const uint16_t* huf_dt, uint32_t huf_log,        \
             uint32_t dict_id, const uint8_t* dict, uint64_t dict_size, const uint16_t* block_index,                 \
             cz_item_result* results) {                                                                               \
        zp_fused1<BITS>(X, Y, rows, cols, base, scales, spr, group, delta, tile_offsets, tile_rows, tiles, flags, cap, \
                        workspace, ws_stride, locks, nslots, huf_dt, huf_log, dict_id, dict, dict_size, block_index,  \
                        results);                                                                                     \
    }

// Three blocks per multiprocessor (64 registers). A two-block build (96 registers) was slower
// on every Llama-7B shape of docs/ZIPPER.md once the kernel took one tile per block.
ZP_FUSED1_KERNEL(zp_fused1_int8, 8, 3)
ZP_FUSED1_KERNEL(zp_fused1_int4, 4, 3)

// Reads `words` 16-byte words (a bandwidth probe): each thread sums its words and writes one
// value per block so the loads cannot be removed. Grid-stride, any grid.
extern "C" __global__ void zp_read_probe(const uint4* __restrict__ src, uint64_t words, uint32_t* __restrict__ out) {
    uint32_t acc = 0;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += (uint64_t)gridDim.x * blockDim.x) {
        const uint4 v = __ldg(src + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    for (int o = 16; o > 0; o >>= 1) acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
    if ((threadIdx.x & 31u) == 0) atomicXor(out + blockIdx.x, acc);
}

// f16 GEMV baseline: Y[b][r] = Σ_c X[b][c] · W[r][c] with W f16 row-major (rows × cols, cols
// a multiple of 8), X/Y f32; warp per row, 16-byte loads of W, batch <= ZP_BT per launch row
// pass. Grid: ceil(rows / 8) blocks of 256.
extern "C" __global__ void __launch_bounds__(256)
    zp_gemv_f16(const float* __restrict__ X, float* __restrict__ Y, uint32_t batch, uint32_t rows, uint32_t cols,
                const uint16_t* __restrict__ W) {
    const unsigned warp = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    const uint32_t r = blockIdx.x * 8 + warp;
    if (r >= rows) return;
    const uint4* wrow = reinterpret_cast<const uint4*>(W + (uint64_t)r * cols);
    const uint32_t nvec = cols / 8;
    for (uint32_t b0 = 0; b0 < batch; b0 += ZP_BT) {
        float acc[ZP_BT] = {0.f, 0.f, 0.f, 0.f};
        for (uint32_t v = lane; v < nvec; v += 32) {
            const uint4 w = __ldg(wrow + v);
            const uint32_t pair[4] = {w.x, w.y, w.z, w.w};
            float wf[8];
#pragma unroll
            for (int k = 0; k < 8; k++) {
                const unsigned short h = (unsigned short)(pair[k / 2] >> (16 * (k % 2)));
                asm("cvt.f32.f16 %0, %1;" : "=f"(wf[k]) : "h"(h));
            }
#pragma unroll
            for (int bb = 0; bb < ZP_BT; bb++) {
                if (b0 + bb >= batch) break;
                const float4* xp = reinterpret_cast<const float4*>(X + (uint64_t)(b0 + bb) * cols + 8 * v);
                const float4 x0 = __ldg(xp), x1 = __ldg(xp + 1);
                acc[bb] += x0.x * wf[0] + x0.y * wf[1] + x0.z * wf[2] + x0.w * wf[3] + x1.x * wf[4] + x1.y * wf[5] +
                           x1.z * wf[6] + x1.w * wf[7];
            }
        }
#pragma unroll
        for (int bb = 0; bb < ZP_BT; bb++) {
            const float s = zp_warp_sum(acc[bb]);
            if (lane == 0 && b0 + bb < batch) Y[(uint64_t)(b0 + bb) * rows + r] = s;
        }
    }
}

#else  // reference build

// Host counterpart of the fused kernel (one thread, tile by tile), with the same decoder call,
// tile checks and weight reconstruction (every weight reconstructed with its delta, then
// rounded as the flags ask); sums run in column order. `bits` is 8 or 4. Writes results[t]
// for every tile and Y rows only for tiles whose status is OK. workspace: at least
// cz_decode_workspace_size() bytes, 8-byte aligned; scratch: max_tile_bytes bytes plus
// 4 * (max_tile_rows + 1) bytes. huf_dt .. dict_size: the layer's literal dictionary and its
// Huffman decoding table (huf_log 0: none), as the kernel takes them.
CZ_REF_API void cz_ref_zipper_linear(uint32_t bits, const float* X, float* Y, uint32_t batch, uint32_t rows,
                                     uint32_t cols, const uint8_t* base, const float* scales, uint32_t spr,
                                     uint32_t group, const uint8_t* delta, const uint64_t* tile_offsets,
                                     const uint32_t* tile_rows, uint32_t tiles, uint32_t flags,
                                     uint32_t max_tile_bytes, uint32_t max_tile_rows, void* workspace,
                                     uint8_t* scratch, const uint16_t* huf_dt, uint32_t huf_log, uint32_t dict_id,
                                     const uint8_t* dict, uint64_t dict_size, cz_item_result* results) {
    uint8_t* tile = scratch;
    uint32_t* row_start = reinterpret_cast<uint32_t*>(scratch + zp_align16(max_tile_bytes));
    const uint32_t row_bytes = zp_row_bytes((int)bits, cols);
    for (uint32_t t = 0; t < tiles; t++) {
        const uint32_t r0 = tile_rows[t], m = tile_rows[t + 1] - r0;
        const uint64_t off = tile_offsets[t], size = tile_offsets[t + 1] - off;
        cz_item_result res;
        res.status = CZ_STATUS_OK;
        res.detail = 0;
        res.size = 0;
        cz_frame_header h;
        uint32_t st = cz_parse_frame_header(delta + off, (size_t)size, &h);
        if (st == CZ_STATUS_OK &&
            (h.content_size == CZ_CONTENT_SIZE_UNKNOWN || h.content_size > max_tile_bytes || !h.checksum))
            st = CZ_STATUS_TILE_FRAME_UNCHECKED;
        size_t written = 0;
        uint32_t detail = 0, n = 0;
        if (st == CZ_STATUS_OK && huf_log != 0) {
            // The kernel's literal-frame decode, and cz_decode_all with the dictionary where the
            // kernel falls back to it.
            cz_decode_workspace* ws = static_cast<cz_decode_workspace*>(workspace);
            if (!cz_decode_literal_frame(delta + off, (size_t)size, tile, max_tile_bytes, huf_dt, huf_log, dict_id,
                                         cz_team_single(), &written))
                st = cz_decode_all(delta + off, (size_t)size, tile, max_tile_bytes, dict, (size_t)dict_size, ws,
                                   CZ_WINDOW_UNLIMITED, &written, &detail);
        } else if (st == CZ_STATUS_OK) {
            // The kernel's two-warp decode, its parts one after another (sequences, then
            // literals, then execution), and cz_decode_all where the kernel falls back to it.
            cz_decode_workspace* ws = static_cast<cz_decode_workspace*>(workspace);
            const cz_team one = cz_team_single();
            uint32_t seq_ok = 0, nseq = 0;
            cz_split_sequences(delta + off, (size_t)size, max_tile_bytes, CZ_WINDOW_UNLIMITED, ws, &ws->own.seq,
                               &ws->own.scratch.seq, one, &nseq, &seq_ok);
            const uint8_t* lits = nullptr;
            size_t nlits = 0;
            const uint32_t lits_ok = cz_split_literals(delta + off, (size_t)size, max_tile_bytes, CZ_WINDOW_UNLIMITED,
                                                       ws, nullptr, one, &lits, &nlits);
            if (!cz_split_finish(delta + off, (size_t)size, tile, max_tile_bytes, CZ_WINDOW_UNLIMITED, ws, one, lits,
                                 nlits, lits_ok, seq_ok, nseq, &written))
                st = cz_decode_all(delta + off, (size_t)size, tile, max_tile_bytes, nullptr, 0, ws, CZ_WINDOW_UNLIMITED,
                                   &written, &detail);
        }
        if (st == CZ_STATUS_OK && m > max_tile_rows) st = CZ_STATUS_INVALID_ARGUMENT;
        if (st == CZ_STATUS_OK) st = zp_tile_prepare_serial(tile, written, m, cols, flags, row_start, &n, &detail);
        res.status = st;
        res.detail = detail;
        if (st == CZ_STATUS_OK) {
            res.size = written;
            const uint32_t gaps = 2 * m, vals = 2 * m + 2 * n;
            for (uint32_t i = 0; i < m; i++) {
                const uint32_t r = r0 + i;
                const uint8_t* q = base + (uint64_t)r * row_bytes;
                const float* s = scales + (uint64_t)r * spr;
                for (uint32_t b = 0; b < batch; b++) {
                    float acc = 0.f;
                    uint32_t j = row_start[i];
                    for (uint32_t c = 0; c < cols; c++) {
                        float w = (bits == 8 ? zp_q<8>(q, c) : zp_q<4>(q, c)) * s[bits == 8 ? 0 : c / group];
                        if (j < row_start[i + 1] && zp_tile_word(tile, flags, gaps, n, j) == c) {
                            w += zp_f16_to_f32((uint16_t)zp_tile_word(tile, flags, vals, n, j));
                            j++;
                        }
                        acc += X[(uint64_t)b * cols + c] * zp_round_weight(w, flags);
                    }
                    Y[(uint64_t)b * rows + r] = acc;
                }
            }
        }
        results[t] = res;
    }
}

// The Huffman decoding table of a literal dictionary (any zstd-format dictionary with
// entropy tables): fills dtable[0 .. CZ_HUF_DTABLE_SIZE) (entries past 1 << *log zero) and
// *log, *id. Status: OK, DICTIONARY_CORRUPT (no dictionary magic) or the table reader's.
CZ_REF_API uint32_t cz_ref_literal_dictionary_table(const uint8_t* dict, uint64_t size, uint16_t* dtable,
                                                    uint32_t* log, uint32_t* id) {
    *log = 0;
    *id = 0;
    for (uint32_t i = 0; i < CZ_HUF_DTABLE_SIZE; i++) dtable[i] = 0;
    if (size < CZ_DICT_HEADER_SIZE || cz_read_le32(dict) != CZ_DICT_MAGIC) return CZ_STATUS_DICTIONARY_CORRUPT;
    cz_huf_scratch sc;
    unsigned l = 0;
    size_t used = 0;
    const uint32_t st =
        cz_huf_read_table(dict + CZ_DICT_HEADER_SIZE, (size_t)size - CZ_DICT_HEADER_SIZE, dtable, &l, &used, &sc);
    if (st != CZ_STATUS_OK) return st;
    *log = l;
    *id = cz_read_le32(dict + 4);
    return CZ_STATUS_OK;
}

// cz_decode_literal_frame by one thread (the kernel's literal-frame decode): 1 with
// *written set when it decodes src[0 .. size) into dst[0 .. capacity), 0 when it declines.
CZ_REF_API uint32_t cz_ref_literal_frame_decode(const uint8_t* src, uint64_t size, uint8_t* dst, uint64_t capacity,
                                                const uint16_t* dtable, uint32_t log, uint32_t dict_id,
                                                uint64_t* written) {
    size_t w = 0;
    const bool ok =
        cz_decode_literal_frame(src, (size_t)size, dst, (size_t)capacity, dtable, log, dict_id, cz_team_single(), &w);
    *written = ok ? w : 0;
    return ok ? 1u : 0u;
}

// f16 / bf16 conversions of the kernels, for tests against the `half` crate.
CZ_REF_API uint16_t cz_ref_zp_f32_to_f16(float x) { return zp_f32_to_f16(x); }
CZ_REF_API float cz_ref_zp_f16_to_f32(uint16_t h) { return zp_f16_to_f32(h); }
CZ_REF_API uint16_t cz_ref_zp_f32_to_bf16(float x) { return zp_f32_to_bf16(x); }

#endif
