// Development harness (not part of the crate): times the fused zipper kernel zp_linear_int8
// (zp_linear_int4 for an INT4 base) at batch 1 on one weight of a literal-codec container, the way zipper-bench times case (c)
// (CUDA events, mean of 10 back-to-back launches cycling through weight copies that together
// exceed 4x the L2 cache, median of 31 samples), beside the base GEMV zp_gemv1_* (case (b))
// and the fused kernel with ZP_BASE_ONLY; then one launch with the kernel's ZP_TL timeline hooks
// (clock64 per block and phase, cuda/zipper.cu) and the CZ_PROF hooks of the literal-frame
// decode. The fused kernel is also timed without and with the tiles' block index (built here
// as src/zipper/frame.rs builds it), alternated. Then the same (timing, check, timeline, and each
// decoding warp's phase durations) for the batch-1 kernel zp_fused1_* (one block per tile) with
// the index, without it (alternated) and with a wrong one. Y is checked against a CPU
// computation from the container (tiles decoded by the host build of cz_decode_literal_frame).
//
//   NV=<pip site-packages>/nvidia/cu13
//   $NV/bin/nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I$NV/include \
//       -L$NV/lib -lcudart_static -o fused-latency scripts/fused-latency.cu
//   ./fused-latency CONTAINER.zp        (a container of `cuzstd zipper pack --tile-codec literal`;
//                                        scripts/zipper-shapes.py writes inputs of the benchmark shapes)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <cuda_runtime.h>

#define ZP_TL_SLOTS 32
#define ZP_TL_MAXB 4096
__device__ long long g_tl[ZP_TL_MAXB * ZP_TL_SLOTS];
// Slot 15: clock64 at the block's start; 14: globaltimer at its start; 13: globaltimer at
// phase 6; slots 4 and 17 keep the latest warp; 9 / 10: CZ_PROF durations.
#define ZP_TL_START                                                                                     \
    if (threadIdx.x == 0 && blockIdx.x < ZP_TL_MAXB) {                                                  \
        long long gt;                                                                                   \
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(gt));                                          \
        g_tl[blockIdx.x * ZP_TL_SLOTS + 15] = clock64();                                                \
        g_tl[blockIdx.x * ZP_TL_SLOTS + 14] = gt;                                                       \
    }
#define ZP_TL(k)                                                                                        \
    if ((threadIdx.x & 31u) == 0 && blockIdx.x < ZP_TL_MAXB) {                                          \
        if ((k) == 4 || (k) == 17)                                                                      \
            atomicMax(&g_tl[blockIdx.x * ZP_TL_SLOTS + (k)], clock64());                                \
        else                                                                                            \
            g_tl[blockIdx.x * ZP_TL_SLOTS + (k)] = clock64();                                           \
        if ((k) == 6) {                                                                                 \
            long long gt;                                                                               \
            asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(gt));                                      \
            g_tl[blockIdx.x * ZP_TL_SLOTS + 13] = gt;                                                   \
        }                                                                                               \
    }
enum { CZP_literal_parts = 9, CZP_checksum = 10, CZP_literal_walk = 11, CZP_literal_streams = 12, CZP_literal_skip = 3,
       CZP_literal_runs = 0, CZP_streams_by_hand = 32, CZP_literals, CZP_seq_tables, CZP_seq_decode, CZP_seq_exec,
       CZP_raw_rle, CZP_huf_table, CZP_hw_fse };
#ifdef __CUDA_ARCH__
#define CZ_PROF_BEGIN(p) long long cz_prof_t_##p = clock64();
// Durations of the literal decode's phases, in slots 0 .. 15 for the first decoding warp of
// zp_fused1 (any warp of zp_linear) and 16 .. 31 for the second (warp ZP_F1_COMPUTE + 1 = 9).
#define CZ_PROF_END(p, t)                                                                               \
    if ((t).lane == 0 && CZP_##p < 16 && blockIdx.x < ZP_TL_MAXB)                                        \
        g_tl[blockIdx.x * ZP_TL_SLOTS + CZP_##p + ((threadIdx.x >> 5) == 9 ? 16 : 0)] = clock64() - cz_prof_t_##p;
#else
#define CZ_PROF_BEGIN(p)
#define CZ_PROF_END(p, t)
#endif
#include "../cuda/zipper.cu"

#define CK(x)                                                                        \
    do {                                                                             \
        cudaError_t e = (x);                                                         \
        if (e != cudaSuccess) {                                                      \
            printf("CUDA %s at %d: %s\n", #x, __LINE__, cudaGetErrorString(e));     \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static std::vector<uint8_t> file;
static std::string header;

// data of the tensor whose name ends with `suffix` (the first such).
static std::vector<uint8_t> tensor(const std::string& suffix) {
    const std::string key = suffix + "\":{";
    size_t k = header.find(key);
    if (k == std::string::npos) {
        printf("no tensor *%s\n", suffix.c_str());
        exit(1);
    }
    size_t d = header.find("data_offsets", k);
    size_t a0 = header.find('[', d) + 1, c = header.find(',', a0), e = header.find(']', c);
    const uint64_t lo = std::stoull(header.substr(a0, c - a0)), hi = std::stoull(header.substr(c + 1, e - c - 1));
    const uint64_t base = 8 + std::stoull(std::to_string(header.size()));
    return std::vector<uint8_t>(file.begin() + base + lo, file.begin() + base + hi);
}

static uint64_t meta_num(const std::string& key) {
    size_t k = header.find("\\\"" + key + "\\\":");
    if (k == std::string::npos) {
        printf("no metadata %s\n", key.c_str());
        exit(1);
    }
    return std::stoull(header.substr(k + key.size() + 5));
}

template <class T>
static T* up(const void* p, size_t bytes) {
    void* d;
    CK(cudaMalloc(&d, std::max<size_t>(bytes, 16)));
    CK(cudaMemcpy(d, p, bytes, cudaMemcpyHostToDevice));
    return (T*)d;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        printf("usage: fused-latency CONTAINER.zp\n");
        return 2;
    }
    FILE* f = fopen(argv[1], "rb");
    if (!f) return 2;
    fseek(f, 0, SEEK_END);
    file.resize(ftell(f));
    fseek(f, 0, SEEK_SET);
    if (fread(file.data(), 1, file.size(), f) != file.size()) return 2;
    fclose(f);
    uint64_t hlen;
    memcpy(&hlen, file.data(), 8);
    header.assign((const char*)file.data() + 8, hlen);
    const uint32_t rows = (uint32_t)meta_num("rows"), cols = (uint32_t)meta_num("cols");
    const uint32_t max_tile_bytes = (uint32_t)meta_num("max_tile_bytes"), tile_rows_max = (uint32_t)meta_num("tile_rows");
    const bool planes = header.find("\\\"layout\\\":\\\"planes\\\"") != std::string::npos;
    const bool int4 = header.find("\\\"base\\\":\\\"int4\\\"") != std::string::npos;
    const uint32_t group = int4 ? (uint32_t)meta_num("group_size") : 0;
    const uint32_t spr = int4 ? (cols + group - 1) / group : 1, row_bytes = int4 ? (cols + 1) / 2 : cols;
    const uint32_t flags = planes ? ZP_LAYOUT_PLANES : 0;
    auto base = tensor(".base"), delta = tensor(".delta"), dict = tensor(".dict"), sc = tensor(".scales");
    auto offb = tensor(".tile_offsets"), rowb = tensor(".tile_rows");
    const uint32_t tiles = (uint32_t)(rowb.size() / 4 - 1);
    std::vector<uint64_t> off(tiles + 1);
    std::vector<uint32_t> trow(tiles + 1);
    memcpy(off.data(), offb.data(), offb.size());
    memcpy(trow.data(), rowb.data(), rowb.size());
    std::vector<float> scales((size_t)rows * spr);
    memcpy(scales.data(), sc.data(), 4ull * rows * spr);
    // The dictionary's Huffman decoding table (as src/gpu/reference_zipper.rs builds it).
    std::vector<uint16_t> dt(CZ_HUF_DTABLE_SIZE, 0);
    cz_huf_scratch scr;
    unsigned log = 0;
    size_t used = 0;
    if (cz_huf_read_table(dict.data() + CZ_DICT_HEADER_SIZE, dict.size() - CZ_DICT_HEADER_SIZE, dt.data(), &log,
                          &used, &scr) != CZ_STATUS_OK) {
        printf("dictionary table\n");
        return 1;
    }
    const uint32_t dict_id = cz_read_le32(dict.data() + 4);
    printf("%u x %u, %u tiles of <= %u rows, delta %zu bytes, dict %zu bytes, table log %u, planes %d\n", rows, cols,
           tiles, tile_rows_max, delta.size(), dict.size(), log, (int)planes);

    // X and the CPU result.
    std::vector<float> X(cols);
    uint32_t s = 12345;
    for (auto& x : X) {
        s = s * 1664525u + 1013904223u;
        x = ((int)(s >> 9) % 2001 - 1000) / 1000.f;
    }
    std::vector<double> ref(rows), ref_base(rows);
    {
        std::vector<uint8_t> tile(max_tile_bytes);
        std::vector<uint32_t> rs(tile_rows_max + 1);
        for (uint32_t t = 0; t < tiles; t++) {
            size_t w = 0;
            if (!cz_decode_literal_frame(delta.data() + off[t], off[t + 1] - off[t], tile.data(), tile.size(), dt.data(),
                                         log, dict_id, cz_team_single(), &w)) {
                printf("tile %u: host decode declined\n", t);
                return 1;
            }
            const uint32_t r0 = trow[t], m = trow[t + 1] - r0;
            uint32_t n = 0, detail = 0;
            if (zp_tile_prepare_serial(tile.data(), w, m, cols, flags, rs.data(), &n, &detail) != CZ_STATUS_OK) {
                printf("tile %u: prepare failed\n", t);
                return 1;
            }
            for (uint32_t i = 0; i < m; i++) {
                const uint32_t r = r0 + i;
                double acc = 0;
                for (uint32_t c = 0; c < cols; c++) {
                    const uint8_t* q = &base[(uint64_t)r * row_bytes];
                    const int v = int4 ? (int)((c & 1) ? q[c >> 1] >> 4 : q[c >> 1] & 15) - 8 : (int8_t)q[c];
                    acc += (double)X[c] * v * scales[(uint64_t)r * spr + (int4 ? c / group : 0)];
                }
                ref_base[r] = acc;
                for (uint32_t j = rs[i]; j < rs[i + 1]; j++)
                    acc += (double)X[zp_tile_word(tile.data(), flags, 2 * m, n, j)] *
                           zp_f16_to_f32((uint16_t)zp_tile_word(tile.data(), flags, 2 * m + 2 * n, n, j));
                ref[r] = acc;
            }
        }
    }

    int dev = 0, sms = 0, optin = 0;
    CK(cudaGetDevice(&dev));
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    CK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    const size_t l2 = 50u << 20;
    const int copies = (int)std::max<size_t>(2, (4 * l2) / (base.size() + delta.size()) + 1);
    std::vector<uint8_t*> dbase(copies), ddelta(copies);
    for (int c = 0; c < copies; c++) {
        dbase[c] = up<uint8_t>(base.data(), base.size());
        ddelta[c] = up<uint8_t>(delta.data(), delta.size());
    }
    float* dX = up<float>(X.data(), 4 * cols);
    float* dY;
    CK(cudaMalloc(&dY, 4 * rows));
    float* dS = up<float>(scales.data(), 4ull * rows * spr);
    uint64_t* dOff = up<uint64_t>(off.data(), 8 * off.size());
    uint32_t* dRows = up<uint32_t>(trow.data(), 4 * trow.size());
    uint16_t* dDt = up<uint16_t>(dt.data(), 2 * dt.size());
    uint8_t* dDict = up<uint8_t>(dict.data(), dict.size());
    const uint32_t slots = std::min<uint32_t>(2 * sms, tiles);
    const uint64_t ws_stride = (cz_decode_workspace_size() + 255) & ~(uint64_t)255;
    uint8_t* dWs;
    CK(cudaMalloc(&dWs, slots * ws_stride));
    cz_item_result* dRes;
    CK(cudaMalloc(&dRes, sizeof(cz_item_result) * tiles));
    // The tiles' block indexes (as src/zipper/frame.rs block_index builds them).
    std::vector<uint16_t> bidx((size_t)tiles * ZP_BLOCK_INDEX, 0);
    uint32_t indexed = 0;
    for (uint32_t t = 0; t < tiles; t++) {
        const uint8_t* fr = delta.data() + off[t];
        const size_t fs = off[t + 1] - off[t];
        cz_frame_header fh;
        if (fs > 65535 || cz_parse_frame_header(fr, fs, &fh) != CZ_STATUS_OK) continue;
        size_t at = fh.header_size;
        uint16_t e[ZP_BLOCK_INDEX] = {0};
        bool done = false;
        for (int j = 0; j < ZP_BLOCK_INDEX && at + 3 <= fs; j++) {
            const uint32_t b = fr[at] | (fr[at + 1] << 8) | (fr[at + 2] << 16);
            e[j] = (uint16_t)at;
            at += 3 + (((b >> 1) & 3) == 1 ? 1 : b >> 3);
            if (at > fs) break;
            if (b & 1) {
                done = true;
                break;
            }
        }
        if (!done) continue;
        memcpy(&bidx[(size_t)t * ZP_BLOCK_INDEX], e, sizeof e);
        indexed++;
    }
    printf("block index: %u of %u tiles\n", indexed, tiles);
    uint16_t* dIdx = up<uint16_t>(bidx.data(), bidx.size() * 2);
    // A wrong index (block 1 one byte off): every tile falls back to the walk, Y unchanged.
    std::vector<uint16_t> bad = bidx;
    for (uint32_t t = 0; t < tiles; t++)
        if (bad[(size_t)t * ZP_BLOCK_INDEX + 1]) bad[(size_t)t * ZP_BLOCK_INDEX + 1]++;
    uint16_t* dBad = up<uint16_t>(bad.data(), bad.size() * 2);
    auto* kernel = int4 ? zp_linear_int4 : zp_linear_int8;
    auto* gemv_kernel = int4 ? zp_gemv1_int4 : zp_gemv1_int8;
    cudaFuncAttributes fa;
    CK(cudaFuncGetAttributes(&fa, kernel));
    const int limit = optin - (int)fa.sharedSizeBytes;
    CK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, limit));
    const size_t smem = zp_shared_bytes(max_tile_bytes, tile_rows_max, 1, cols, 1);
    printf("%s: %d registers, %zu static + %zu dynamic shared bytes, local %zu; grid %u\n",
           int4 ? "zp_linear_int4" : "zp_linear_int8", fa.numRegs,
           (size_t)fa.sharedSizeBytes, smem, (size_t)fa.localSizeBytes, slots);

    const uint16_t* gidx = dIdx;  // the general kernel's block index (null: none)
    auto fused = [&](int c, uint32_t fl) {
        kernel<<<slots, ZP_BLOCK, smem>>>(dX, dY, 1, rows, cols, dbase[c], dS, spr, group, ddelta[c], dOff, dRows,
                                                  tiles, fl, max_tile_bytes, tile_rows_max, 1, dWs, ws_stride, dDt, log,
                                                  dict_id, dDict, dict.size(), gidx, dRes);
    };
    auto gemv = [&](int c) {
        const uint32_t grid = (rows + ZP_SK_ROWS - 1) / ZP_SK_ROWS;  // as src/gpu/zipper.rs launches it
        gemv_kernel<<<grid, ZP_BLOCK_GEMV>>>(dX, dY, 1, rows, cols, dbase[c], dS, spr, group, tiles, dRes);
    };
    auto check = [&](const char* what, const std::vector<double>& ref) {
        CK(cudaDeviceSynchronize());
        std::vector<cz_item_result> res(tiles);
        CK(cudaMemcpy(res.data(), dRes, sizeof(cz_item_result) * tiles, cudaMemcpyDeviceToHost));
        for (uint32_t t = 0; t < tiles; t++)
            if (res[t].status != CZ_STATUS_OK) {
                printf("%s: tile %u status %u detail %u\n", what, t, res[t].status, res[t].detail);
                exit(1);
            }
        std::vector<float> y(rows);
        CK(cudaMemcpy(y.data(), dY, 4 * rows, cudaMemcpyDeviceToHost));
        double worst = 0;
        for (uint32_t r = 0; r < rows; r++) worst = std::max(worst, std::fabs(y[r] - ref[r]) / (1.0 + std::fabs(ref[r])));
        printf("%s: max error %.3g %s\n", what, worst, worst < 1e-3 ? "ok" : "WRONG");
        if (!(worst < 1e-3)) exit(1);
    };
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    auto timeit = [&](auto&& launch) {
        int c = 0;
        for (int i = 0; i < 20; i++) launch(c++ % copies);
        std::vector<float> v;
        for (int k = 0; k < 31; k++) {
            CK(cudaEventRecord(e0));
            for (int i = 0; i < 10; i++) launch(c++ % copies);
            CK(cudaEventRecord(e1));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            v.push_back(ms * 100.f);  // µs per launch
        }
        CK(cudaGetLastError());
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double bytes = (double)base.size() + 4.0 * rows * spr + 4.0 * cols;
    const float tb = timeit(gemv);
    check(int4 ? "(b) zp_gemv1_int4" : "(b) zp_gemv1_int8", ref_base);
    const float tf0 = timeit([&](int c) { fused(c, flags | ZP_BASE_ONLY); });
    check("fused base-only", ref_base);
    // The general kernel without its block index, then with it, twice each.
    for (int rep = 0; rep < 2; rep++) {
        for (const uint16_t* ix : {(const uint16_t*)nullptr, (const uint16_t*)dIdx}) {
            gidx = ix;
            CK(cudaMemset(dY, 0xff, 4ull * rows));
            const float t = timeit([&](int c) { fused(c, flags); });
            check(ix ? "(c) general, block index" : "(c) general, no index", ref);
            printf("(c) general kernel %s %.2f us\n", ix ? "block index" : "no index", t);
        }
    }
    gidx = dIdx;
    const float tc = timeit([&](int c) { fused(c, flags); });
    check(int4 ? "(c) zp_linear_int4" : "(c) zp_linear_int8", ref);
    printf("(b) gemv1 %.2f us (%.0f GB/s) | fused base-only %.2f us | (c) fused %.2f us | (c)/(b) %.2f\n", tb,
           bytes / tb / 1e3, tf0, tc, tc / tb);

    // Timeline of one launch (after the timed ones: weights of copy 0 are cold again).
    auto timeline = [&](const char* what, auto&& launch, uint32_t nblocks) {
    std::vector<long long> zero(ZP_TL_MAXB * ZP_TL_SLOTS, 0);
    CK(cudaMemcpyToSymbol(g_tl, zero.data(), zero.size() * 8));
    launch(0);
    CK(cudaDeviceSynchronize());
    std::vector<long long> tl(ZP_TL_MAXB * ZP_TL_SLOTS);
    CK(cudaMemcpyFromSymbol(tl.data(), g_tl, tl.size() * 8));
    const char* names[] = {"X staged", "header parsed", "tile decoded", "tile prepared", "base done (last warp)",
                           "block sync", "Y written", "row starts", "table + frame fetched"};
    const uint32_t nb = std::min<uint32_t>(nblocks, ZP_TL_MAXB);
    long long g0 = tl[14], g1 = 0;
    for (uint32_t b = 0; b < nb; b++) {
        g0 = std::min(g0, tl[b * ZP_TL_SLOTS + 14]);
        g1 = std::max(g1, tl[b * ZP_TL_SLOTS + 13]);
    }
    printf("%s timeline, cycles from each block's start (mean / max over %u blocks):\n", what, nb);
    for (int k = 0; k <= 8; k++) {
        double sum = 0;
        long long mx = 0;
        for (uint32_t b = 0; b < nb; b++) {
            const long long v = tl[b * ZP_TL_SLOTS + k] - tl[b * ZP_TL_SLOTS + 15];
            sum += v;
            mx = std::max(mx, v);
        }
        printf("  %-22s %9.0f %9lld\n", names[k], sum / nb, mx);
    }
    const char* durations[] = {"literal parts", "checksum", "literal walk", "literal streams"};
    for (int k = 9; k <= 12; k++) {
        double sum = 0, sum2 = 0;
        for (uint32_t b = 0; b < nb; b++) sum += tl[b * ZP_TL_SLOTS + k], sum2 += tl[b * ZP_TL_SLOTS + 16 + k];
        printf("  %-22s %9.0f %9.0f (durations: first / second decoding warp)\n", durations[k - 9], sum / nb, sum2 / nb);
    }
    if (std::string(what).find("fused1") != std::string::npos) {
        // The tail after the block barrier (slots 17, 18, 20: free in the second warp's range).
        const char* tail[] = {"rows done (last warp)", "checksum checked", "second barrier"};
        const int tat[] = {17, 18, 20};
        for (int i = 0; i < 3; i++) {
            double sum = 0;
            for (uint32_t b = 0; b < nb; b++) sum += tl[b * ZP_TL_SLOTS + tat[i]] - tl[b * ZP_TL_SLOTS + 15];
            printf("  %-22s %9.0f\n", tail[i], sum / nb);
        }
        const char* more[] = {"literal runs", "literal skip"};
        const int at[] = {0, 3};
        for (int i = 0; i < 2; i++) {
            double sum = 0, sum2 = 0;
            for (uint32_t b = 0; b < nb; b++) sum += tl[b * ZP_TL_SLOTS + at[i]], sum2 += tl[b * ZP_TL_SLOTS + 16 + at[i]];
            printf("  %-22s %9.0f %9.0f (durations: first / second decoding warp)\n", more[i], sum / nb, sum2 / nb);
        }
    }
    long long s0 = 0, s1 = 0;
    for (uint32_t b = 0; b < nb; b++) s1 = std::max(s1, tl[b * ZP_TL_SLOTS + 14] - g0);
    for (uint32_t b = 0; b < nb; b++) s0 += tl[b * ZP_TL_SLOTS + 14] - g0;
    printf("  block starts: mean %.0f ns, last %lld ns after the first; last block end %lld ns\n", (double)s0 / nb, s1,
           g1 - g0);
    };
    timeline("zp_linear", [&](int c) { fused(c, flags); }, slots);

    // The batch-1 fused kernel's builds (grid: one block per tile; tile buffer as
    // src/gpu/zipper.rs sizes it; lock words after the workspace slots).
    uint64_t most_content = 0, most_frame = 0;
    for (uint32_t t = 0; t < tiles; t++) {
        cz_frame_header fh;
        if (cz_parse_frame_header(delta.data() + off[t], off[t + 1] - off[t], &fh) != CZ_STATUS_OK) return 1;
        most_content = std::max<uint64_t>(most_content, fh.content_size);
        most_frame = std::max<uint64_t>(most_frame, off[t + 1] - off[t]);
    }
    const uint32_t cap1 = (uint32_t)std::min<uint64_t>((most_content + most_frame + 32 + 15) & ~15ull, max_tile_bytes);
    uint8_t* dWs1;
    CK(cudaMalloc(&dWs1, slots * ws_stride + 4 * slots));
    CK(cudaMemset(dWs1 + slots * ws_stride, 0, 4 * slots));
    uint32_t* dLocks = (uint32_t*)(dWs1 + slots * ws_stride);
    struct F1 { const char* name; void (*k)(const float*, float*, uint32_t, uint32_t, const uint8_t*, const float*, uint32_t, uint32_t, const uint8_t*, const uint64_t*, const uint32_t*, uint32_t, uint32_t, uint32_t, uint8_t*, uint64_t, uint32_t*, uint32_t, const uint16_t*, uint32_t, uint32_t, const uint8_t*, uint64_t, const uint16_t*, cz_item_result*); uint32_t block; const uint16_t* index; };
    auto* k1 = int4 ? zp_fused1_int4 : zp_fused1_int8;
    // With and without the block index, twice each (alternated).
    const F1 builds[] = {
        {int4 ? "zp_fused1_int4 (block index)" : "zp_fused1_int8 (block index)", k1, ZP_F1_BLOCK, dIdx},
        {int4 ? "zp_fused1_int4 (no index)" : "zp_fused1_int8 (no index)", k1, ZP_F1_BLOCK, nullptr},
        {int4 ? "zp_fused1_int4 (block index)" : "zp_fused1_int8 (block index)", k1, ZP_F1_BLOCK, dIdx},
        {int4 ? "zp_fused1_int4 (no index)" : "zp_fused1_int8 (no index)", k1, ZP_F1_BLOCK, nullptr},
        {int4 ? "zp_fused1_int4 (wrong index)" : "zp_fused1_int8 (wrong index)", k1, ZP_F1_BLOCK, dBad},
    };
    for (const F1& b1 : builds) {
        CK(cudaMemset(dY, 0xff, 4ull * rows));  // NaN: a row not written fails the check
        cudaFuncAttributes a1;
        CK(cudaFuncGetAttributes(&a1, b1.k));
        CK(cudaFuncSetAttribute(b1.k, cudaFuncAttributeMaxDynamicSharedMemorySize, optin - (int)a1.sharedSizeBytes));
        printf("%s: %d registers, local %zu, tile buffer %u bytes, grid %u x %u\n", b1.name, a1.numRegs,
               (size_t)a1.localSizeBytes, cap1, tiles, b1.block);
        auto launch1 = [&](int c) {
            b1.k<<<tiles, b1.block, cap1>>>(dX, dY, rows, cols, dbase[c], dS, spr, group, ddelta[c], dOff, dRows, tiles,
                                           flags, cap1, dWs1, ws_stride, dLocks, slots, dDt, log, dict_id, dDict,
                                           dict.size(), b1.index, dRes);
        };
        const float t1 = timeit(launch1);
        check(b1.name, ref);
        printf("(c) %s %.2f us | (c)/(b) %.2f\n", b1.name, t1, t1 / tb);
        timeline(b1.name, launch1, tiles);
    }
    return 0;
}
