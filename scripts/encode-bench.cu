// Development harness (not part of the crate): the encoder kernel alone, cz_encode_batch_warp
// launched the way src/gpu/encode.rs launches it (4 warps a block, counters in shared memory,
// the carveout its resident blocks need, a workspace slot per frame), on a file tiled to SIZE
// bytes and cut into 64 KiB frames, in one pass (cz_encode_batch_warp) and in two
// (cz_encode_parse_batch_warp, then cz_encode_batch_warp with CZ_ENCODE_PARSED; the parse
// kernel's time is given apart). Built with -D flags it times variants of the encoder
// without the Rust build. Every GPU frame of every 16th chunk is compared byte for byte with
// the frame the host build of the same code writes (cz_encode_frame with a one-thread team);
// the ratio counts every frame. Timed by CUDA events around the launch, median of RUNS after
// two warm-ups.
//
//   NV=<pip site-packages>/nvidia/cu13
//   $NV/bin/nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I$NV/include \
//       -L$NV/lib -lcudart_static [-DCZ_...] -o encode-bench scripts/encode-bench.cu
//   ./encode-bench FILE[,FILE...] [LEVELS=1,3] [SIZE_MIB=1024] [RUNS=10]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <cuda_runtime.h>

#include "../cuda/frame_encode.cu"

#define CK(x)                                                                                   \
    do {                                                                                        \
        cudaError_t e_ = (x);                                                                   \
        if (e_ != cudaSuccess) {                                                                \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

static std::vector<uint8_t> read_file(const std::string& path) {
    FILE* f = fopen(path.c_str(), "rb");
    if (!f) {
        perror(path.c_str());
        exit(1);
    }
    std::vector<uint8_t> v;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + n);
    fclose(f);
    return v;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE[,FILE...] [LEVELS=1,3] [SIZE_MIB=1024] [RUNS=10]\n", argv[0]);
        return 2;
    }
    std::vector<uint8_t> file;
    for (std::string s = argv[1]; !s.empty();) {
        const size_t c = s.find(',');
        const std::vector<uint8_t> part = read_file(s.substr(0, c));
        file.insert(file.end(), part.begin(), part.end());
        s = c == std::string::npos ? "" : s.substr(c + 1);
    }
    std::vector<int> levels;
    for (std::string s = argc > 2 ? argv[2] : "1,3"; !s.empty();) {
        const size_t c = s.find(',');
        levels.push_back(atoi(s.substr(0, c).c_str()));
        s = c == std::string::npos ? "" : s.substr(c + 1);
    }
    const size_t size = (size_t)(argc > 3 ? atol(argv[3]) : 1024) << 20;
    const int runs = argc > 4 ? atoi(argv[4]) : 10;
    if (file.empty() || size == 0 || runs < 1) return 2;
    const size_t chunk = 65536, n = size / chunk;
    std::vector<uint8_t> data(n * chunk);
    for (size_t i = 0; i < data.size(); i++) data[i] = file[i % file.size()];
    const uint64_t bound = (cz_compress_bound(chunk) + 255) & ~255ull;

    uint8_t *d_src, *d_dst;
    CK(cudaMalloc(&d_src, data.size()));
    CK(cudaMalloc(&d_dst, n * bound));
    CK(cudaMemcpy(d_src, data.data(), data.size(), cudaMemcpyHostToDevice));
    std::vector<cz_batch_item> items(n);
    for (size_t i = 0; i < n; i++) {
        items[i].src = (uint64_t)(uintptr_t)(d_src + i * chunk);
        items[i].src_size = chunk;
        items[i].dst = (uint64_t)(uintptr_t)(d_dst + i * bound);
        items[i].dst_capacity = bound;
    }
    cz_batch_item* d_items;
    cz_item_result* d_res;
    CK(cudaMalloc(&d_items, n * sizeof(cz_batch_item)));
    CK(cudaMalloc(&d_res, n * sizeof(cz_item_result)));
    CK(cudaMemcpy(d_items, items.data(), n * sizeof(cz_batch_item), cudaMemcpyHostToDevice));
    const uint32_t fast_stride = (uint32_t)cz_align16(sizeof(cz_encode_counters));
    const uint32_t shared = CZ_ENCODE_WARPS * fast_stride;
    int per_sm = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, cz_encode_batch_warp, 32 * CZ_ENCODE_WARPS, shared));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    const int carveout = std::min(100, std::max(1, (int)((per_sm * (shared + 1024) * 100 + prop.sharedMemPerMultiprocessor - 1) /
                                                        prop.sharedMemPerMultiprocessor)));
    CK(cudaFuncSetAttribute(cz_encode_batch_warp, cudaFuncAttributePreferredSharedMemoryCarveout, carveout));
    cudaFuncAttributes fa;
    CK(cudaFuncGetAttributes(&fa, cz_encode_batch_warp));
    printf("%s: %zu MiB of %s, %zu frames of 64 KiB; %d registers, %d blocks/SM, carveout %d %%\n", prop.name,
           size >> 20, argv[1], n, fa.numRegs, per_sm, carveout);

    CK(cudaFuncSetAttribute(cz_encode_parse_batch_warp, cudaFuncAttributePreferredSharedMemoryCarveout, 0));
    CK(cudaFuncGetAttributes(&fa, cz_encode_parse_batch_warp));
    printf("parse kernel: %d registers, %d bytes of local memory a thread\n", fa.numRegs, (int)fa.localSizeBytes);
    for (const int level : levels) {
        const uint64_t stride = (cz_encode_workspace_size(chunk, level) + 255) & ~255ull;
        uint8_t* d_ws;
        CK(cudaMalloc(&d_ws, n * stride));
        CK(cudaMemset(d_ws, 0, n * stride));
        const uint32_t grid = (uint32_t)((n + CZ_ENCODE_WARPS - 1) / CZ_ENCODE_WARPS);
        cudaEvent_t e0, e1, e2;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        CK(cudaEventCreate(&e2));
        // split: the parse kernel, then the encoder with CZ_ENCODE_PARSED.
        for (const bool split : {false, true}) {
            const uint32_t flags = CZ_ENCODE_CHECKSUM | (split ? CZ_ENCODE_PARSED : 0u);
            std::vector<float> ms, ms_parse;
            for (int r = 0; r < runs + 2; r++) {
                CK(cudaEventRecord(e0));
                if (split) {
                    cz_encode_parse_batch_warp<<<grid, 32 * CZ_ENCODE_WARPS>>>(d_items, (uint32_t)n, level, d_ws, stride,
                                                                             n);
                    CK(cudaGetLastError());
                }
                CK(cudaEventRecord(e1));
                cz_encode_batch_warp<<<grid, 32 * CZ_ENCODE_WARPS, shared>>>(d_items, (uint32_t)n, level, flags, d_ws,
                                                                             stride, n, fast_stride, d_res);
                CK(cudaGetLastError());
                CK(cudaEventRecord(e2));
                CK(cudaEventSynchronize(e2));
                float t, tp;
                CK(cudaEventElapsedTime(&t, e0, e2));
                CK(cudaEventElapsedTime(&tp, e0, e1));
                if (r >= 2) {
                    ms.push_back(t);
                    ms_parse.push_back(tp);
                }
            }
            std::vector<cz_item_result> res(n);
            CK(cudaMemcpy(res.data(), d_res, n * sizeof(cz_item_result), cudaMemcpyDeviceToHost));
            uint64_t total = 0;
            for (size_t i = 0; i < n; i++) {
                if (res[i].status != CZ_STATUS_OK) {
                    fprintf(stderr, "level %d frame %zu: status %u\n", level, i, res[i].status);
                    return 1;
                }
                total += res[i].size;
            }
            // The host build of the same code writes the same frames.
            std::vector<uint8_t> ws(cz_encode_workspace_size(chunk, level)), ref(bound), got(bound);
            size_t checked = 0;
            for (size_t i = 0; i < n; i += 16) {
                uint64_t sz = 0;
                const uint32_t st = cz_encode_frame(cz_team_single(), data.data() + i * chunk, chunk, ref.data(), bound,
                                                    level, CZ_ENCODE_CHECKSUM, ws.data(), ws.size(), nullptr, 0, &sz);
                CK(cudaMemcpy(got.data(), d_dst + i * bound, res[i].size, cudaMemcpyDeviceToHost));
                if (st != CZ_STATUS_OK || sz != res[i].size || memcmp(ref.data(), got.data(), sz) != 0) {
                    fprintf(stderr, "level %d frame %zu differs from the host build (%llu against %llu bytes)\n",
                            level, i, (unsigned long long)res[i].size, (unsigned long long)sz);
                    return 1;
                }
                checked++;
            }
            std::sort(ms.begin(), ms.end());
            std::sort(ms_parse.begin(), ms_parse.end());
            const double med = ms[ms.size() / 2];
            printf("level %d %s: ratio %.4f, %.3f ms median (min %.3f, max %.3f; parse kernel %.3f), %.2f GB/s; %zu "
                   "frames equal to the host build's\n",
                   level, split ? "two passes" : "one pass  ", (double)data.size() / total, med, ms.front(), ms.back(),
                   ms_parse[ms_parse.size() / 2], data.size() / med / 1e6, checked);
        }
        CK(cudaFree(d_ws));
    }
    return 0;
}
