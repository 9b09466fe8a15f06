// Development harness (not part of the crate): the latency of one warp decoding small zipper
// tile frames with cz_decode_all, frame after frame (grid 1) and one frame per block (grid n),
// output in global or shared memory (tables in shared memory with the latter), every output
// checked, with the clock64 phase profile of the CZ_PROF_* hooks.
//
//   python3 scripts/tile-frames.py CONTAINER.zp OUT.frames   # tile frames of a zipper container
//   NV=<pip site-packages>/nvidia/cu13
//   $NV/bin/nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I$NV/include -L$NV/lib \
//       -lcudart_static -o tile-decode-latency scripts/tile-decode-latency.cu
//   ./tile-decode-latency OUT.frames
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cstring>
#include <cuda_runtime.h>
__device__ unsigned long long g_prof[12];
__device__ int g_prof_on;
enum { CZP_literals, CZP_seq_tables, CZP_seq_decode, CZP_seq_exec, CZP_raw_rle, CZP_checksum, CZP_huf_table, CZP_hw_fse };
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

__global__ void seq_kernel(const cz_batch_item* items, uint32_t n, uint8_t* ws_mem, long long* cycles, cz_item_result* res, int shared_dst) {
    extern __shared__ uint8_t sm[];
    __shared__ cz_decode_tables tabs;
    const cz_team team = cz_team_warp();
    cz_decode_workspace* ws = reinterpret_cast<cz_decode_workspace*>(ws_mem + (size_t)blockIdx.x * ((sizeof(cz_decode_workspace) + 255) & ~255ull));
    for (uint32_t i = blockIdx.x; i < n; i += gridDim.x) {
        const cz_batch_item it = items[i];
        __syncwarp();
        long long t0 = clock64();
        size_t w = 0; uint32_t detail = 0;
        uint8_t* dst = shared_dst ? sm : (uint8_t*)it.dst;
        uint32_t st = cz_decode_all((const uint8_t*)it.src, it.src_size, dst, it.dst_capacity, nullptr, 0, ws, CZ_WINDOW_UNLIMITED, &w, &detail, team, shared_dst ? &tabs : nullptr);
        __syncwarp();
        long long t1 = clock64();
        if (shared_dst) for (uint32_t k = team.lane; k < w; k += 32) ((uint8_t*)it.dst)[k] = sm[k];
        if (team.lane == 0) { cycles[i] = t1 - t0; res[i].status = st; res[i].size = w; }
    }
}

int main(int argc, char** argv) {
    FILE* f = fopen(argv[1], "rb");
    std::vector<std::vector<uint8_t>> z, raw; uint32_t hdr[2];
    while (fread(hdr, 4, 2, f) == 2) { std::vector<uint8_t> a(hdr[0]), b(hdr[1]); fread(a.data(), 1, hdr[0], f); fread(b.data(), 1, hdr[1], f); z.push_back(a); raw.push_back(b); }
    const uint32_t n = z.size();
    std::vector<size_t> zo(n), dout(n); size_t zt = 0, dt = 0;
    for (uint32_t i = 0; i < n; i++) { zo[i] = zt; zt += (z[i].size() + 255) & ~255ull; dout[i] = dt; dt += (raw[i].size() + 255) & ~255ull; }
    std::vector<uint8_t> hz(zt); for (uint32_t i = 0; i < n; i++) memcpy(&hz[zo[i]], z[i].data(), z[i].size());
    uint8_t *dz, *dd, *dws; cz_batch_item* di; cz_item_result* dr; long long* dc;
    CK(cudaMalloc(&dz, zt)); CK(cudaMalloc(&dd, dt)); CK(cudaMemcpy(dz, hz.data(), zt, cudaMemcpyHostToDevice));
    std::vector<cz_batch_item> items(n);
    for (uint32_t i = 0; i < n; i++) { items[i].src = (uint64_t)(dz + zo[i]); items[i].src_size = z[i].size(); items[i].dst = (uint64_t)(dd + dout[i]); items[i].dst_capacity = raw[i].size(); }
    CK(cudaMalloc(&di, n * sizeof(cz_batch_item))); CK(cudaMemcpy(di, items.data(), n * sizeof(cz_batch_item), cudaMemcpyHostToDevice));
    CK(cudaMalloc(&dr, n * sizeof(cz_item_result))); CK(cudaMalloc(&dc, n * 8));
    const size_t stride = (sizeof(cz_decode_workspace) + 255) & ~255ull;
    CK(cudaMalloc(&dws, stride * n));
    printf("%u frames, workspace %zu bytes\n", n, sizeof(cz_decode_workspace));
    CK(cudaFuncSetAttribute(seq_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 << 10));
    const char* names[8] = {"literals", "seq_tables", "seq_decode", "seq_exec", "raw_rle", "checksum", "(huf_table)", "(hw_fse)"};
    for (int shared_dst = 0; shared_dst < 2; shared_dst++) for (int grid : {1, (int)n}) {
        for (int rep = 0; rep < 3; rep++) {
            int on = rep == 2; CK(cudaMemcpyToSymbol(g_prof_on, &on, sizeof on));
            unsigned long long zz[12] = {0}; CK(cudaMemcpyToSymbol(g_prof, zz, sizeof zz));
            cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
            CK(cudaEventRecord(e0));
            seq_kernel<<<grid, 32, 64 << 10>>>(di, n, dws, dc, dr, shared_dst);
            CK(cudaGetLastError()); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
            float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
            std::vector<long long> cyc(n); CK(cudaMemcpy(cyc.data(), dc, n * 8, cudaMemcpyDeviceToHost));
            std::vector<cz_item_result> res(n); CK(cudaMemcpy(res.data(), dr, n * sizeof(cz_item_result), cudaMemcpyDeviceToHost));
            size_t bad = 0; for (uint32_t i = 0; i < n; i++) if (res[i].status || res[i].size != raw[i].size()) bad++;
            std::vector<uint8_t> out(dt); CK(cudaMemcpy(out.data(), dd, dt, cudaMemcpyDeviceToHost));
            for (uint32_t i = 0; i < n; i++) if (memcmp(&out[dout[i]], raw[i].data(), raw[i].size())) bad++;
            double avg = 0; long long mx = 0; for (auto c : cyc) { avg += c; mx = c > mx ? c : mx; } avg /= n;
            printf("dst+tables %s grid %3d rep %d: kernel %.3f ms, per frame avg %.0f cycles max %lld, %s\n", shared_dst ? "smem" : "glob", grid, rep, ms, avg, mx, bad ? "BAD" : "ok");
            if (on) { unsigned long long p[12]; CK(cudaMemcpyFromSymbol(p, g_prof, sizeof p)); double sum = 0;
                for (int k = 0; k < 8; k++) { printf("   %-10s %8.0f cycles/frame\n", names[k], (double)p[k] / n); if (k < 6) sum += p[k]; }
                printf("   other      %8.0f cycles/frame\n", avg - sum / n); }
        }
    }
    return 0;
}
