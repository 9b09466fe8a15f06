// Development harness (not part of the crate): times cz_decode_all kernel variants (warps per
// block, register budget, tables in shared or global memory) on 64 KiB libzstd frames tiled
// to 1 GiB, checks every status and the first tile's bytes, and profiles the decoder's phases
// with clock64 (the CZ_PROF_* hooks of decode_team.cuh).
//
//   python3 scripts/decode-phases-frames.py FILE OUT.frames      # 64 KiB chunks, zstd -3
//   NV=<pip site-packages>/nvidia/cu13
//   $NV/bin/nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I$NV/include -L$NV/lib \
//       -lcudart_static -o decode-phases scripts/decode-phases.cu
//   ./decode-phases OUT.frames...        (TARGET_MB=n for a smaller tile)
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <cstring>
#include <cuda_runtime.h>

__device__ unsigned long long g_prof[8];
__device__ int g_prof_on;
enum { CZP_literals, CZP_seq_tables, CZP_seq_decode, CZP_seq_exec, CZP_raw_rle, CZP_checksum };
#ifdef __CUDA_ARCH__
#define CZ_PROF_BEGIN(p) long long cz_prof_t_##p = clock64();
#define CZ_PROF_END(p, t) if (g_prof_on && (t).lane == 0) atomicAdd(&g_prof[CZP_##p], (unsigned long long)(clock64() - cz_prof_t_##p));
#else
#define CZ_PROF_BEGIN(p)
#define CZ_PROF_END(p, t)
#endif
#include "../cuda/include/abi.h"
#include "../cuda/include/frame_decode.cuh"

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %d: %s\n", #x, __LINE__, cudaGetErrorString(e)); exit(1); } } while (0)

template <int WARPS, int MINB, int SHARED>
__global__ void __launch_bounds__(32 * WARPS, MINB) kern(const cz_batch_item* items, uint32_t n, uint8_t* workspace,
                                                         uint64_t ws_stride, uint64_t slots, cz_item_result* results) {
    __shared__ cz_decode_tables tables[SHARED == 1 ? WARPS : 1];
    __shared__ cz_seq_tables seqt[SHARED == 2 ? WARPS : 1];
    const unsigned warp = threadIdx.x >> 5;
    const uint64_t warps = (uint64_t)gridDim.x * (blockDim.x >> 5);
    const uint64_t w = warps < slots ? warps : slots;
    const uint64_t g = (uint64_t)blockIdx.x * (blockDim.x >> 5) + warp;
    if (g >= w) return;
    const cz_team team = cz_team_warp();
    cz_decode_workspace* ws = reinterpret_cast<cz_decode_workspace*>(workspace + g * ws_stride);
    for (uint64_t i = g; i < n; i += w) {
        const cz_batch_item it = items[i];
        size_t written = 0;
        uint32_t detail = 0;
        uint32_t st = cz_decode_all((const uint8_t*)it.src, it.src_size, (uint8_t*)it.dst, it.dst_capacity, nullptr, 0, ws,
                                    CZ_WINDOW_UNLIMITED, &written, &detail, team, SHARED == 1 ? &tables[warp] : nullptr,
                                    SHARED == 2 ? &seqt[warp] : nullptr);
        if (team.lane == 0) {
            results[i].status = st;
            results[i].detail = detail;
            results[i].size = written;
        }
    }
}

struct Chunk { std::vector<uint8_t> z, raw; };

typedef void (*KernFn)(const cz_batch_item*, uint32_t, uint8_t*, uint64_t, uint64_t, cz_item_result*);

int main(int argc, char** argv) {
    const char* names[6] = {"literals", "seq_tables", "seq_decode", "seq_exec", "raw_rle", "checksum"};
    for (int a = 1; a < argc; a++) {
        FILE* f = fopen(argv[a], "rb");
        if (!f) { printf("cannot open %s\n", argv[a]); return 1; }
        std::vector<Chunk> chunks;
        uint32_t hdr[2];
        while (fread(hdr, 4, 2, f) == 2) {
            Chunk c; c.z.resize(hdr[0]); c.raw.resize(hdr[1]);
            if (fread(c.z.data(), 1, hdr[0], f) != hdr[0] || fread(c.raw.data(), 1, hdr[1], f) != hdr[1]) return 1;
            chunks.push_back(std::move(c));
        }
        fclose(f);
        const size_t target = getenv("TARGET_MB") ? (size_t)atoi(getenv("TARGET_MB")) << 20 : 1ull << 30;
        std::vector<size_t> zoff, doff, zs, ds;
        size_t ztot = 0, dtot = 0, raw_total = 0, z_total = 0;
        for (size_t i = 0; raw_total < target; i++) {
            const Chunk& c = chunks[i % chunks.size()];
            zoff.push_back(ztot); doff.push_back(dtot); zs.push_back(c.z.size()); ds.push_back(c.raw.size());
            ztot += (c.z.size() + 255) & ~255ull; dtot += (c.raw.size() + 255) & ~255ull; raw_total += c.raw.size();
            z_total += c.z.size();
        }
        const uint32_t n = zoff.size();
        std::vector<uint8_t> hz(ztot);
        for (uint32_t i = 0; i < n; i++) memcpy(&hz[zoff[i]], chunks[i % chunks.size()].z.data(), zs[i]);
        uint8_t *dz, *dd, *dws; cz_batch_item* ditems; cz_item_result* dres;
        CK(cudaMalloc(&dz, ztot)); CK(cudaMalloc(&dd, dtot));
        CK(cudaMemcpy(dz, hz.data(), ztot, cudaMemcpyHostToDevice));
        std::vector<cz_batch_item> items(n);
        for (uint32_t i = 0; i < n; i++) { items[i].src = (uint64_t)(dz + zoff[i]); items[i].src_size = zs[i]; items[i].dst = (uint64_t)(dd + doff[i]); items[i].dst_capacity = ds[i]; }
        CK(cudaMalloc(&ditems, n * sizeof(cz_batch_item))); CK(cudaMalloc(&dres, n * sizeof(cz_item_result)));
        CK(cudaMemcpy(ditems, items.data(), n * sizeof(cz_batch_item), cudaMemcpyHostToDevice));
        const uint64_t stride = (sizeof(cz_decode_workspace) + 255) & ~255ull;
        const uint64_t slots = std::min<uint64_t>(n, 16384);
        CK(cudaMalloc(&dws, stride * slots));
        printf("== %s: %u frames, %.1f MiB -> %.1f MiB (ratio %.3f)\n", argv[a], n, z_total / 1048576.0, raw_total / 1048576.0,
               (double)raw_total / z_total);
        struct V { const char* name; KernFn fn; int warps; } vs[] = {
            {"w4 minb8 seqshared", kern<4, 8, 2>, 4},
            {"w4 minb6 seqshared", kern<4, 6, 2>, 4},
            {"w2 minb8 shared", kern<2, 8, 1>, 2},
            {"w4 minb8 global", kern<4, 8, 0>, 4},




        };
        for (auto& v : vs) {
            cudaFuncAttributes at; CK(cudaFuncGetAttributes(&at, v.fn));
            int blocks = 0; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, v.fn, 32 * v.warps, 0));
            const uint32_t grid = (slots + v.warps - 1) / v.warps;
            cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
            std::vector<float> ts;
            for (int r = 0; r < 12; r++) {
                CK(cudaMemset(dres, 0xFF, n * sizeof(cz_item_result)));
                CK(cudaEventRecord(e0));
                v.fn<<<grid, 32 * v.warps>>>(ditems, n, dws, stride, slots, dres);
                CK(cudaGetLastError());
                CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
                float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); if (r >= 2) ts.push_back(ms);
            }
            std::sort(ts.begin(), ts.end());
            std::vector<cz_item_result> res(n);
            CK(cudaMemcpy(res.data(), dres, n * sizeof(cz_item_result), cudaMemcpyDeviceToHost));
            size_t bad = 0;
            for (uint32_t i = 0; i < n; i++) if (res[i].status != 0 || res[i].size != ds[i]) bad++;
            const size_t m = std::min<size_t>(n, chunks.size());
            std::vector<uint8_t> out(doff[m - 1] + ds[m - 1]);
            CK(cudaMemcpy(out.data(), dd, out.size(), cudaMemcpyDeviceToHost));
            for (size_t i = 0; i < m; i++) if (memcmp(&out[doff[i]], chunks[i].raw.data(), ds[i])) bad++;
            const float med = ts[ts.size() / 2];
            printf("%-18s regs %3d lmem %4zu blocks/SM %2d: %7.3f ms  %7.2f GB/s  %s\n", v.name, at.numRegs, at.localSizeBytes, blocks, med,
                   raw_total / (med * 1e6), bad ? "BAD" : "verified");
        }
        // Phase profile with the first variant.
        int on = 1; CK(cudaMemcpyToSymbol(g_prof_on, &on, sizeof on));
        unsigned long long z[8] = {0}; CK(cudaMemcpyToSymbol(g_prof, z, sizeof z));
        vs[0].fn<<<(slots + 3) / 4, 128>>>(ditems, n, dws, stride, slots, dres);
        CK(cudaDeviceSynchronize());
        unsigned long long p[8]; CK(cudaMemcpyFromSymbol(p, g_prof, sizeof p));
        on = 0; CK(cudaMemcpyToSymbol(g_prof_on, &on, sizeof on));
        unsigned long long sum = 0; for (int i = 0; i < 6; i++) sum += p[i];
        printf("phases (cycles per frame, share):");
        for (int i = 0; i < 6; i++) printf(" %s %.0f (%.1f%%)", names[i], (double)p[i] / n, 100.0 * p[i] / (sum ? sum : 1));
        printf("\n");
        cudaFree(dz); cudaFree(dd); cudaFree(dws); cudaFree(ditems); cudaFree(dres);
    }
    return 0;
}
