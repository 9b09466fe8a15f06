// Development harness (not part of the crate): the latency of one warp decoding zipper literal
// tile frames with cz_decode_literal_frame (one frame per block, tile in shared memory, the
// dictionary's decoding table copied into shared memory first), and of its pieces alone: the
// first group's block walk (mode 1) and the content checksum (mode 2); mode 3 first copies the
// frame into the end of the shared tile buffer and decodes from there, as the fused kernel does
// (zp_fetch_tile in cuda/zipper.cu); modes 4 and 5 decode the first group's streams by hand,
// every lane's or lane 0's only; mode 6 is mode 3 timing a second decode of the same frame (the
// code then in the instruction caches).
// Phases inside cz_decode_literal_frame come from its CZ_PROF_* hooks. Every decoded tile is
// checked.
//
//   frames: records u32 frame size, u32 content size, frame, content (all of one layer);
//   dict: that layer's literal dictionary (W.dict of the container).
//   NV=<pip site-packages>/nvidia/cu13
//   $NV/bin/nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I$NV/include -L$NV/lib \
//       -lcudart_static -o literal-decode-latency scripts/literal-decode-latency.cu
//   ./literal-decode-latency FRAMES DICT
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cstring>
#include <algorithm>
#include <cuda_runtime.h>
__device__ unsigned long long g_prof[16];
enum { CZP_literal_parts, CZP_checksum, CZP_streams_by_hand, CZP_literals, CZP_seq_tables, CZP_seq_decode, CZP_seq_exec, CZP_raw_rle, CZP_huf_table, CZP_hw_fse, CZP_literal_walk, CZP_literal_streams, CZP_literal_runs, CZP_literal_skip };
#ifdef __CUDA_ARCH__
#define CZ_PROF_BEGIN(p) long long cz_prof_t_##p = clock64();
#define CZ_PROF_END(p, t) if ((t).lane == 0) atomicAdd(&g_prof[CZP_##p], (unsigned long long)(clock64() - cz_prof_t_##p));
#else
#define CZ_PROF_BEGIN(p)
#define CZ_PROF_END(p, t)
#endif
#include "../cuda/include/abi.h"
#include "../cuda/include/frame_decode.cuh"
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %d: %s\n", #x, __LINE__, cudaGetErrorString(e)); exit(1); } } while (0)

// Walks the first group of blocks of the literal frame src[0 .. size) and gives slot `slot` its
// part; false when the frame is not a literal frame as far as that group shows.
__device__ bool first_group_part(const uint8_t* src, size_t size, uint32_t slot, cz_literal_part* p) {
    cz_frame_header h;
    if (cz_parse_frame_header(src, size, &h) != CZ_STATUS_OK) return false;
    size_t ip = h.header_size;
    uint64_t op = 0;
    uint32_t blocks = 0;
    bool last = false;
    return cz_literal_group(src, size, &ip, &op, h.content_size,
                            h.content_size < CZ_BLOCK_SIZE_MAX ? h.content_size : CZ_BLOCK_SIZE_MAX, true, &blocks,
                            slot, p, &last);
}

__global__ void lit_kernel(const cz_batch_item* items, uint32_t n, const uint16_t* dt_g, uint32_t log, uint32_t id,
                           long long* cycles, uint32_t* ok_out, int mode) {
    __shared__ __align__(16) uint8_t tile[40960];
    __shared__ __align__(16) uint16_t dt[CZ_HUF_DTABLE_SIZE];
    const cz_team team = cz_team_warp();
    const uint32_t i = blockIdx.x;
    if (i >= n) return;
    const cz_batch_item it = items[i];
    const uint8_t* src = (const uint8_t*)it.src;
    long long t0 = clock64();
    const uint32_t words = ((1u << log) + 7) / 8;
    for (uint32_t k = team.lane; k < words; k += 32) reinterpret_cast<uint4*>(dt)[k] = reinterpret_cast<const uint4*>(dt_g)[k];
    __syncwarp();
    long long t1 = clock64();
    uint32_t ok = 0;
    if (mode == 3 || mode == 6) {
        const uint64_t size = it.src_size, mis = (uintptr_t)src & 15u;
        const uint64_t at = (sizeof(tile) - size - mis) & ~(uint64_t)15;
        uint8_t* stage = tile + at + mis;
        const uint64_t head = min(size, (uint64_t)((16u - mis) & 15u));
        if (team.lane < head) stage[team.lane] = src[team.lane];
        const uint64_t words = (size - head) / 16;
#pragma unroll 4
        for (uint64_t k = team.lane; k < words; k += 32)
            reinterpret_cast<uint4*>(stage + head)[k] = __ldg(reinterpret_cast<const uint4*>(src + head) + k);
        for (uint64_t k = head + 16 * words + team.lane; k < size; k += 32) stage[k] = src[k];
        __syncwarp();
        size_t w = 0;
        if (mode == 6) {  // a first decode, untimed: the second runs with the code in the instruction caches
            cz_decode_literal_frame(stage, size, tile, at, dt, log, id, team, &w);
            __syncwarp();
            t1 = clock64();
        }
        ok = cz_decode_literal_frame(stage, size, tile, at, dt, log, id, team, &w) && w == it.dst_capacity;
    } else if (mode == 4 || mode == 5) {
        // The walk and the streams by hand from global memory: every lane its part (4), or
        // lane 0 alone (5), no checksum.
        cz_literal_part p;
        const bool walked = first_group_part(src, it.src_size, team.lane, &p);
        __syncwarp();
        long long tw = clock64();
        if ((mode == 4 || team.lane == 0) && walked && p.kind == 2)
            ok = cz_huf_decode_stream(dt, log, src + p.at, p.len, tile + p.out, p.n) == CZ_STATUS_OK;
        else
            ok = 1;
        ok = __all_sync(0xffffffffu, ok);
        __syncwarp();
        if (team.lane == 0) atomicAdd(&g_prof[2], (unsigned long long)(clock64() - tw));
    } else if (mode == 0) {
        size_t w = 0;
        ok = cz_decode_literal_frame(src, it.src_size, tile, sizeof(tile), dt, log, id, team, &w) && w == it.dst_capacity;
    } else if (mode == 1) {
        cz_literal_part p;
        ok = first_group_part(src, it.src_size, team.lane, &p);
    } else {
        ok = cz_team_xxh64(team, (const uint8_t*)it.dst, it.dst_capacity) != 1;
    }
    __syncwarp();
    long long t2 = clock64();
    if ((mode == 0 || mode == 3 || mode == 6) && ok) {
        const uint8_t* want = (const uint8_t*)it.dst;
        for (uint32_t k = team.lane; k < it.dst_capacity; k += 32) if (tile[k] != want[k]) ok = 0;
        ok = __all_sync(0xffffffffu, ok);
    }
    if (team.lane == 0) {
        cycles[2 * i] = t1 - t0;
        cycles[2 * i + 1] = t2 - t1;
        ok_out[i] = ok;
    }
}

int main(int argc, char** argv) {
    if (argc < 3) { printf("usage: %s FRAMES DICT\n", argv[0]); return 2; }
    FILE* f = fopen(argv[1], "rb");
    std::vector<uint8_t> all;
    { uint8_t b[65536]; size_t r; while ((r = fread(b, 1, sizeof b, f)) > 0) all.insert(all.end(), b, b + r); fclose(f); }
    FILE* g = fopen(argv[2], "rb");
    std::vector<uint8_t> dict(4096);
    dict.resize(fread(dict.data(), 1, dict.size(), g));
    fclose(g);
    std::vector<uint16_t> dt(CZ_HUF_DTABLE_SIZE, 0);
    cz_huf_scratch sc;
    unsigned log = 0;
    size_t used = 0;
    if (cz_huf_read_table(dict.data() + 8, dict.size() - 8, dt.data(), &log, &used, &sc) != CZ_STATUS_OK) { printf("bad dict\n"); return 1; }
    const uint32_t id = cz_read_le32(dict.data() + 4);
    std::vector<cz_batch_item> items;
    std::vector<size_t> at;
    size_t p = 0;
    while (p + 8 <= all.size()) {
        uint32_t fs, cs;
        memcpy(&fs, &all[p], 4); memcpy(&cs, &all[p + 4], 4);
        at.push_back(p + 8);
        cz_batch_item it{};
        it.src_size = fs; it.dst_capacity = cs;
        items.push_back(it);
        p += 8 + fs + cs;
    }
    const uint32_t n = items.size();
    uint8_t* d_all; CK(cudaMalloc(&d_all, all.size())); CK(cudaMemcpy(d_all, all.data(), all.size(), cudaMemcpyHostToDevice));
    for (uint32_t i = 0; i < n; i++) { items[i].src = (uint64_t)(d_all + at[i]); items[i].dst = (uint64_t)(d_all + at[i] + items[i].src_size); }
    cz_batch_item* d_items; CK(cudaMalloc(&d_items, n * sizeof(cz_batch_item))); CK(cudaMemcpy(d_items, items.data(), n * sizeof(cz_batch_item), cudaMemcpyHostToDevice));
    uint16_t* d_dt; CK(cudaMalloc(&d_dt, dt.size() * 2)); CK(cudaMemcpy(d_dt, dt.data(), dt.size() * 2, cudaMemcpyHostToDevice));
    long long* d_cyc; CK(cudaMalloc(&d_cyc, 16ull * n));
    uint32_t* d_ok; CK(cudaMalloc(&d_ok, 4ull * n));
    printf("%u frames, table log %u, dict id %u\n", n, log, id);
    const char* names[7] = {"decode (walk + streams + checksum)", "block walk alone", "checksum alone",
                            "decode from shared memory (staged)", "walk + every lane's stream (global)",
                            "walk + lane 0's stream only (global)", "staged decode, second time"};
    for (int mode = 0; mode < 7; mode++) {
        for (int rep = 0; rep < 3; rep++) {
            unsigned long long zero[16] = {0};
            CK(cudaMemcpyToSymbol(g_prof, zero, sizeof zero));
            cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
            cudaEventRecord(a);
            lit_kernel<<<n, 32>>>(d_items, n, d_dt, log, id, d_cyc, d_ok, mode);
            cudaEventRecord(b); CK(cudaEventSynchronize(b)); CK(cudaGetLastError());
            float ms; cudaEventElapsedTime(&ms, a, b);
            std::vector<long long> cyc(2 * n); std::vector<uint32_t> ok(n);
            CK(cudaMemcpy(cyc.data(), d_cyc, 16ull * n, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(ok.data(), d_ok, 4ull * n, cudaMemcpyDeviceToHost));
            uint32_t good = 0; std::vector<long long> c1, c2;
            for (uint32_t i = 0; i < n; i++) { good += ok[i]; c1.push_back(cyc[2 * i]); c2.push_back(cyc[2 * i + 1]); }
            std::sort(c1.begin(), c1.end()); std::sort(c2.begin(), c2.end());
            if (rep == 2) printf("%-36s table copy median %lld cycles; part median %lld, max %lld cycles; kernel %.2f us; ok %u/%u\n",
                                 names[mode], c1[n / 2], c2[n / 2], c2[n - 1], ms * 1e3, good, n);
            unsigned long long prof[16];
            CK(cudaMemcpyFromSymbol(prof, g_prof, sizeof prof));
            if (rep == 2 && (mode == 0 || mode == 3))
                printf("    per frame: parts (walks + streams) %llu cycles (walk %llu, streams %llu), checksum %llu cycles\n",
                       prof[0] / n, prof[10] / n, prof[11] / n, prof[1] / n);
            if (rep == 2 && (mode == 4 || mode == 5)) printf("    per frame: streams %llu cycles\n", prof[2] / n);
        }
    }
    return 0;
}
