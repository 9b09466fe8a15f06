// Development harness (not part of the crate): times INT8 base GEMV variants (batch 1) on
// Llama-7B shapes against the shipped zp_gemv1_int8, the way zipper-bench times case (b):
// CUDA events, mean of 10 back-to-back launches cycling through enough weight copies to
// exceed 4x the L2 cache, median of 15 samples; every variant's Y checked against the CPU.
//
//   NV=<pip site-packages>/nvidia/cu13
//   $NV/bin/nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I$NV/include -Icuda/include \
//       -L$NV/lib -lcudart_static -o gemv-variants scripts/gemv-variants.cu
//   ./gemv-variants
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda_runtime.h>
#include "../cuda/zipper.cu"

#define CK(x)                                                                                      \
    do {                                                                                           \
        cudaError_t e = (x);                                                                       \
        if (e != cudaSuccess) {                                                                    \
            printf("CUDA %s at %d: %s\n", #x, __LINE__, cudaGetErrorString(e));                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

// Variant P: two rows per warp, GV vectors per row per step, the next step's loads issued
// before the current step is used (one step of software pipelining across the warp's
// flattened (row pair, step) sequence). PDL: wait for the previous grid before reading X.
template <int GV, bool PDL>
__device__ __forceinline__ void gemv_pipe(const float* __restrict__ X, float* __restrict__ Y, uint32_t rows,
                                          uint32_t cols, const uint8_t* __restrict__ base,
                                          const float* __restrict__ scales) {
    const uint32_t lane = threadIdx.x & 31u;
    const uint32_t nv = cols / 16;
    const uint32_t steps = (nv + 32 * GV - 1) / (32 * GV);
    const uint32_t pairs = (rows + 1) / 2;
    const uint32_t nw = gridDim.x * (blockDim.x / 32);
    const uint32_t wg = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (wg >= pairs) {
        if (PDL) asm volatile("griddepcontrol.launch_dependents;");
        return;
    }
    const uint32_t my_pairs = (pairs - wg + nw - 1) / nw;
    const uint32_t total = my_pairs * steps;
    uint4 buf[2][GV][2];
    auto load = [&](int slot, uint32_t p, uint32_t k) {
        const uint32_t r0 = 2 * p, r1 = min(2 * p + 1, rows - 1);
        const uint4* q0 = reinterpret_cast<const uint4*>(base + (uint64_t)r0 * cols);
        const uint4* q1 = reinterpret_cast<const uint4*>(base + (uint64_t)r1 * cols);
#pragma unroll
        for (int u = 0; u < GV; u++) {
            const uint32_t v = k * 32 * GV + 32u * u + lane;
            buf[slot][u][0] = v < nv ? zp_ld_stream(q0 + v) : make_uint4(0, 0, 0, 0);
            buf[slot][u][1] = v < nv ? zp_ld_stream(q1 + v) : make_uint4(0, 0, 0, 0);
        }
    };
    uint32_t p = wg, k = 0;
    load(0, p, 0);
    if (PDL) {
        asm volatile("griddepcontrol.launch_dependents;");
        asm volatile("griddepcontrol.wait;" ::: "memory");
    }
    float a0 = 0.f, a1 = 0.f;
    // One step: use buffer USE, load the next step into the other (constant indices, so the
    // buffers stay in registers).
#define GV_STEP(USE)                                                                    \
    {                                                                                   \
        uint32_t pn = p, kn = k + 1;                                                    \
        if (kn == steps) {                                                              \
            kn = 0;                                                                     \
            pn = p + nw;                                                                \
        }                                                                               \
        if (j + 1 < total) load(USE ^ 1, pn, kn);                                       \
        _Pragma("unroll") for (int u = 0; u < GV; u++) {                                \
            const uint32_t v = k * 32 * GV + 32u * u + lane;                            \
            if (v < nv) {                                                               \
                float d[2];                                                             \
                const uint4 w2[2] = {buf[USE][u][0], buf[USE][u][1]};                   \
                zp_vector_dot_rows<8, 2, true>(w2, X + v * 16, d);                      \
                a0 += d[0];                                                             \
                a1 += d[1];                                                             \
            }                                                                           \
        }                                                                               \
        if (kn == 0) {                                                                  \
            const float s0 = zp_warp_sum(a0), s1 = zp_warp_sum(a1);                     \
            if (lane == 0) {                                                            \
                Y[2 * p] = s0 * __ldg(scales + 2 * p);                                  \
                if (2 * p + 1 < rows) Y[2 * p + 1] = s1 * __ldg(scales + 2 * p + 1);    \
            }                                                                           \
            a0 = a1 = 0.f;                                                              \
        }                                                                               \
        p = pn;                                                                         \
        k = kn;                                                                         \
    }
    for (uint32_t j = 0; j < total; j++) {
        GV_STEP(0)
        if (++j >= total) break;
        GV_STEP(1)
    }
#undef GV_STEP
}

template <int GV, bool PDL, int MINB>
__global__ void __launch_bounds__(256, MINB) k_pipe(const float* X, float* Y, uint32_t rows, uint32_t cols,
                                                    const uint8_t* base, const float* scales) {
    gemv_pipe<GV, PDL>(X, Y, rows, cols, base, scales);
}

// The batch-1 GEMV before the split-K form: two rows per warp (zp_gemv_rows through the
// any-batch entry at batch 1), one wave of blocks.
__global__ void __launch_bounds__(256, 4) k_pairs(const float* X, float* Y, uint32_t batch, uint32_t rows,
                                                  uint32_t cols, const uint8_t* base, const float* scales,
                                                  uint32_t spr, uint32_t group, uint32_t tiles,
                                                  cz_item_result* results) {
    zp_gemv_q<8, false>(X, Y, batch, rows, cols, base, scales, spr, group, tiles, results);
}

// The shipped kernel with PDL waits added (to see what overlapping launches alone buys).
__global__ void __launch_bounds__(256, 4) k_shipped_pdl(const float* X, float* Y, uint32_t batch, uint32_t rows,
                                                        uint32_t cols, const uint8_t* base, const float* scales,
                                                        uint32_t spr, uint32_t group, uint32_t tiles,
                                                        cz_item_result* results) {
    asm volatile("griddepcontrol.launch_dependents;");
    asm volatile("griddepcontrol.wait;" ::: "memory");
    zp_gemv_q<8, true>(X, Y, batch, rows, cols, base, scales, spr, group, tiles, results);
}

// Variant T: each warp streams its rows through a private ring of S stages in shared memory
// with bulk asynchronous copies (cp.async.bulk, completion counted on one mbarrier per stage):
// lane 0 keeps S pieces (two rows x PIECE bytes) in flight while the warp computes on the
// oldest one, so the bytes in flight do not depend on registers. Warp g takes the contiguous
// row pairs [pairs*g/nw, pairs*(g+1)/nw). Needs cols % 16 == 0 (16-byte aligned rows).
__device__ __forceinline__ uint32_t t_smem(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void t_wait(uint32_t bar, uint32_t parity) {
    uint32_t ok;
    do {
        asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                     : "=r"(ok)
                     : "r"(bar), "r"(parity)
                     : "memory");
    } while (!ok);
}
template <int WPB, int S, int PIECE, int MINB>
__global__ void __launch_bounds__(WPB * 32, MINB) k_tma(const float* __restrict__ X, float* __restrict__ Y, uint32_t rows,
                                                        uint32_t cols, const uint8_t* __restrict__ base,
                                                        const float* __restrict__ scales) {
    extern __shared__ __align__(128) uint8_t t_sm[];
    const uint32_t w = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    uint8_t* ring = t_sm + (size_t)w * S * 2 * PIECE;
    uint64_t* bars = reinterpret_cast<uint64_t*>(t_sm + (size_t)WPB * S * 2 * PIECE) + w * S;
    const uint32_t pairs = (rows + 1) / 2, nw = gridDim.x * WPB, g = blockIdx.x * WPB + w;
    const uint32_t p0 = (uint32_t)((uint64_t)pairs * g / nw), p1 = (uint32_t)((uint64_t)pairs * (g + 1) / nw);
    const uint32_t ppr = (cols + PIECE - 1) / PIECE;
    const uint32_t total = (p1 - p0) * ppr;
    if (lane == 0) {
        for (int s = 0; s < S; s++) asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(t_smem(bars + s)));
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncwarp();
    auto issue = [&](uint32_t j) {
        const uint32_t s = j % S, p = p0 + j / ppr, c0 = (j % ppr) * PIECE, len = min((uint32_t)PIECE, cols - c0);
        const uint32_t r0 = 2 * p, r1 = min(2 * p + 1, rows - 1);
        const uint32_t bar = t_smem(bars + s);
        asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(2 * len) : "memory");
        asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                         t_smem(ring + (size_t)s * 2 * PIECE)),
                     "l"(base + (uint64_t)r0 * cols + c0), "r"(len), "r"(bar)
                     : "memory");
        asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                         t_smem(ring + (size_t)s * 2 * PIECE + PIECE)),
                     "l"(base + (uint64_t)r1 * cols + c0), "r"(len), "r"(bar)
                     : "memory");
    };
    if (lane == 0)
        for (uint32_t j = 0; j < total && j < (uint32_t)S; j++) issue(j);
    float a0 = 0.f, a1 = 0.f;
    for (uint32_t j = 0; j < total; j++) {
        const uint32_t s = j % S, k = j % ppr, c0 = k * PIECE, len = min((uint32_t)PIECE, cols - c0);
        t_wait(t_smem(bars + s), (j / S) & 1u);
        const uint4* v0 = reinterpret_cast<const uint4*>(ring + (size_t)s * 2 * PIECE);
        const uint4* v1 = reinterpret_cast<const uint4*>(ring + (size_t)s * 2 * PIECE + PIECE);
        for (uint32_t v = lane; v < len / 16; v += 32) {
            const uint4 w2[2] = {v0[v], v1[v]};
            float d[2];
            zp_vector_dot_rows<8, 2, true>(w2, X + c0 + v * 16, d);
            a0 += d[0];
            a1 += d[1];
        }
        __syncwarp();
        if (lane == 0 && j + S < total) {
            asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
            issue(j + S);
        }
        if (k == ppr - 1) {
            const uint32_t p = p0 + j / ppr;
            const float s0 = zp_warp_sum(a0), s1 = zp_warp_sum(a1);
            if (lane == 0) {
                Y[2 * p] = s0 * __ldg(scales + 2 * p);
                if (2 * p + 1 < rows) Y[2 * p + 1] = s1 * __ldg(scales + 2 * p + 1);
            }
            a0 = a1 = 0.f;
        }
    }
}

// Variant S (split K in the block): a block of 8 warps takes RB consecutive rows; warp w reads
// the columns [cols*w/8, cols*(w+1)/8) of all RB rows (U vectors per row in flight per lane),
// and the 8 partial sums of each row are added in shared memory in a fixed order.
// Loads of variant S: LD 0 as zp_ld_stream; 1 and 2 add the L2 prefetch hints .L2::128B /
// .L2::256B.
template <int LD>
__device__ __forceinline__ uint4 t_ld(const uint4* p) {
    uint4 v;
    if (LD == 1)
        asm("ld.global.nc.L1::no_allocate.L2::128B.v4.u32 {%0, %1, %2, %3}, [%4];"
            : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
            : "l"(p));
    else if (LD == 2)
        asm("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
            : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
            : "l"(p));
    else
        v = zp_ld_stream(p);
    return v;
}
template <int RB, int U, int MINB, int WB = 8, int LD = 0>
__global__ void __launch_bounds__(WB * 32, MINB) k_splitk(const float* __restrict__ X, float* __restrict__ Y,
                                                     uint32_t rows, uint32_t cols, const uint8_t* __restrict__ base,
                                                     const float* __restrict__ scales) {
    __shared__ float part[WB][RB];
    const uint32_t w = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    const uint32_t r0 = blockIdx.x * RB;
    const uint32_t nv = cols / 16, vb = nv * w / WB, ve = nv * (w + 1) / WB;
    const uint4* q[RB];
#pragma unroll
    for (int i = 0; i < RB; i++) q[i] = reinterpret_cast<const uint4*>(base + (uint64_t)min(r0 + i, rows - 1) * cols);
    float acc[RB];
#pragma unroll
    for (int i = 0; i < RB; i++) acc[i] = 0.f;
    for (uint32_t v = vb + lane; v < ve; v += 32 * U) {
        uint4 wv[U][RB];
#pragma unroll
        for (int u = 0; u < U; u++)
#pragma unroll
            for (int i = 0; i < RB; i++) wv[u][i] = v + 32 * u < ve ? t_ld<LD>(q[i] + v + 32 * u) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (v + 32 * u >= ve) break;
            float d[RB];
            zp_vector_dot_rows<8, RB, true>(wv[u], X + (v + 32 * u) * 16, d);
#pragma unroll
            for (int i = 0; i < RB; i++) acc[i] += d[i];
        }
    }
#pragma unroll
    for (int i = 0; i < RB; i++) {
        const float t = zp_warp_sum(acc[i]);
        if (lane == 0) part[w][i] = t;
    }
    __syncthreads();
    if (threadIdx.x < RB && r0 + threadIdx.x < rows) {
        float t = 0.f;
#pragma unroll
        for (int k = 0; k < WB; k++) t += part[k][threadIdx.x];
        Y[r0 + threadIdx.x] = t * __ldg(scales + r0 + threadIdx.x);
    }
}

__global__ void k_empty(const uint8_t*) {}

struct Shape {
    uint32_t rows, cols;
};

static float median(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int main() {
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    const int sms = prop.multiProcessorCount;
    printf("%s, %d SMs, L2 %d MB\n", prop.name, sms, prop.l2CacheSize >> 20);
    // HBM reference: the read probe over 2 GiB.
    {
        const uint64_t words = (2ull << 30) / 16;
        uint4* src;
        uint32_t* out;
        CK(cudaMalloc(&src, words * 16));
        CK(cudaMemset(src, 1, words * 16));
        CK(cudaMalloc(&out, 4 << 20));
        cudaEvent_t e0, e1;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        std::vector<float> t;
        for (int i = 0; i < 7; i++) {
            CK(cudaEventRecord(e0));
            zp_read_probe<<<sms * 8, 256>>>(src, words, out);
            CK(cudaEventRecord(e1));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            if (i >= 2) t.push_back(ms);
        }
        printf("read probe: %.0f GB/s\n", words * 16 / (median(t) * 1e-3) / 1e9);
        CK(cudaFree(src));
        CK(cudaFree(out));
    }
    const Shape shapes[] = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
    for (const Shape& sh : shapes) {
        const uint64_t wbytes = (uint64_t)sh.rows * sh.cols;
        const int copies = (int)std::max<uint64_t>(2, (4ull * prop.l2CacheSize + wbytes - 1) / wbytes);
        std::vector<int8_t> hq(wbytes);
        std::vector<float> hs(sh.rows), hx(sh.cols);
        uint32_t r = 12345;
        for (auto& v : hq) {
            r = r * 1664525u + 1013904223u;
            v = (int8_t)((r >> 24) % 255 - 127);
        }
        for (auto& v : hs) {
            r = r * 1664525u + 1013904223u;
            v = 1e-3f * (1 + (r >> 24) % 100);
        }
        for (auto& v : hx) {
            r = r * 1664525u + 1013904223u;
            v = ((int)(r >> 16) % 2001 - 1000) * 1e-3f;
        }
        std::vector<double> ref(sh.rows);
        for (uint32_t i = 0; i < sh.rows; i++) {
            double s = 0;
            for (uint32_t c = 0; c < sh.cols; c++) s += (double)hq[(uint64_t)i * sh.cols + c] * hx[c];
            ref[i] = s * hs[i];
        }
        uint8_t* dq;
        float *ds, *dx, *dy;
        cz_item_result* dres;
        CK(cudaMalloc(&dq, wbytes * copies));
        for (int c = 0; c < copies; c++) CK(cudaMemcpy(dq + wbytes * c, hq.data(), wbytes, cudaMemcpyHostToDevice));
        CK(cudaMalloc(&ds, sh.rows * 4));
        CK(cudaMemcpy(ds, hs.data(), sh.rows * 4, cudaMemcpyHostToDevice));
        CK(cudaMalloc(&dx, sh.cols * 4));
        CK(cudaMemcpy(dx, hx.data(), sh.cols * 4, cudaMemcpyHostToDevice));
        CK(cudaMalloc(&dy, sh.rows * 4));
        const uint32_t tiles = (sh.rows + 15) / 16;
        CK(cudaMalloc(&dres, tiles * sizeof(cz_item_result)));
        printf("\n%ux%u INT8 (%.1f MB), %d copies\n", sh.rows, sh.cols, wbytes / 1e6, copies);

        auto run = [&](const char* name, auto launch) {
            cudaEvent_t e0, e1;
            CK(cudaEventCreate(&e0));
            CK(cudaEventCreate(&e1));
            std::vector<float> t;
            int c = 0;
            for (int s = 0; s < 17; s++) {
                CK(cudaEventRecord(e0));
                for (int i = 0; i < 10; i++) launch(dq + wbytes * (c++ % copies));
                CK(cudaEventRecord(e1));
                CK(cudaEventSynchronize(e1));
                CK(cudaGetLastError());
                float ms;
                CK(cudaEventElapsedTime(&ms, e0, e1));
                if (s >= 2) t.push_back(ms * 1e3f / 10);
            }
            CK(cudaMemset(dy, 0, sh.rows * 4));
            launch(dq);
            CK(cudaDeviceSynchronize());
            std::vector<float> y(sh.rows);
            CK(cudaMemcpy(y.data(), dy, sh.rows * 4, cudaMemcpyDeviceToHost));
            double maxerr = 0;
            for (uint32_t i = 0; i < sh.rows; i++) maxerr = std::max(maxerr, std::fabs(y[i] - ref[i]) / (1e-3 + std::fabs(ref[i])));
            const float us = median(t);
            printf("  %-34s %8.2f us  %7.0f GB/s  %s (max rel err %.1e)\n", name, us, wbytes / (us * 1e-6) / 1e9,
                   strstr(name, "(no Y)") ? "-" : maxerr < 1e-3 ? "ok" : "WRONG", maxerr);
        };
        auto occ = [&](const void* f) {
            int b = 0;
            CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&b, f, 256, 0));
            return b;
        };
        // Floors for this size: the read probe over exactly one weight copy, and an empty kernel.
        uint32_t* dsink;
        CK(cudaMalloc(&dsink, 4 * sms * 8));
        run("read probe, one copy (no Y)", [&](const uint8_t* q) {
            zp_read_probe<<<sms * 8, 256>>>(reinterpret_cast<const uint4*>(q), wbytes / 16, dsink);
        });
        run("empty kernel (no Y)", [&](const uint8_t* q) { k_empty<<<sms * 8, 256>>>(q); });
        const uint32_t gship = (sh.rows + ZP_SK_ROWS - 1) / ZP_SK_ROWS;  // as src/gpu/zipper.rs launches it
        run("shipped zp_gemv1_int8", [&](const uint8_t* q) {
            zp_gemv1_int8<<<gship, 256>>>(dx, dy, 1, sh.rows, sh.cols, q, ds, 1, sh.cols, tiles, dres);
        });
        auto pdl_launch = [&](auto kernel, uint32_t grid, auto... args) {
            cudaLaunchConfig_t cfg = {};
            cfg.gridDim = grid;
            cfg.blockDim = 256;
            cudaLaunchAttribute at[1];
            at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
            at[0].val.programmaticStreamSerializationAllowed = 1;
            cfg.attrs = at;
            cfg.numAttrs = 1;
            CK(cudaLaunchKernelEx(&cfg, kernel, args...));
        };
        const uint32_t gpairs = std::min<uint32_t>(sh.rows / 16, occ((const void*)k_pairs) * sms);
        run("row pairs per warp (before split-K)", [&](const uint8_t* q) {
            k_pairs<<<gpairs, 256>>>(dx, dy, 1, sh.rows, sh.cols, q, ds, 1, sh.cols, tiles, dres);
        });
        run("shipped + PDL", [&](const uint8_t* q) {
            pdl_launch(k_shipped_pdl, gship, (const float*)dx, dy, 1u, sh.rows, sh.cols, q, (const float*)ds, 1u,
                       sh.cols, tiles, dres);
        });
#define PIPE(GV, MINB)                                                                                       \
    {                                                                                                        \
        const uint32_t g = std::min<uint32_t>((sh.rows + 15) / 16, occ((const void*)k_pipe<GV, false, MINB>) * sms); \
        char n1[64], n2[64];                                                                                 \
        snprintf(n1, 64, "pipelined GV=%d minb=%d grid %u", GV, MINB, g);                                    \
        snprintf(n2, 64, "pipelined GV=%d minb=%d + PDL", GV, MINB);                                         \
        run(n1, [&](const uint8_t* q) { k_pipe<GV, false, MINB><<<g, 256>>>(dx, dy, sh.rows, sh.cols, q, ds); }); \
        run(n2, [&](const uint8_t* q) {                                                                      \
            pdl_launch(k_pipe<GV, true, MINB>, g, (const float*)dx, dy, sh.rows, sh.cols, q, (const float*)ds); \
        });                                                                                                  \
    }
#define TMA(WPB, S, PIECE, MINB)                                                                              \
    {                                                                                                        \
        const size_t smem = (size_t)WPB * S * (2 * PIECE + 8);                                               \
        auto kf = k_tma<WPB, S, PIECE, MINB>;                                                                \
        CK(cudaFuncSetAttribute(kf, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));                \
        int b = 0;                                                                                           \
        CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&b, kf, WPB * 32, smem));                           \
        const uint32_t g = std::min<uint32_t>((sh.rows / 2 + WPB - 1) / WPB, b * sms);                       \
        char n1[80];                                                                                         \
        snprintf(n1, 80, "tma wpb=%d S=%d piece=%d grid %u (%d/SM)", WPB, S, PIECE, g, b);                   \
        run(n1, [&](const uint8_t* q) { kf<<<g, WPB * 32, smem>>>(dx, dy, sh.rows, sh.cols, q, ds); });      \
    }
#define SPLITK(RB, U, MINB, WB, LD)                                                                           \
    {                                                                                                        \
        const uint32_t g = (sh.rows + RB - 1) / RB;                                                          \
        int b = 0;                                                                                           \
        CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&b, k_splitk<RB, U, MINB, WB, LD>, WB * 32, 0));    \
        char n1[80];                                                                                         \
        snprintf(n1, 80, "split-K rows/block=%d U=%d minb=%d warps=%d ld=%d (%d/SM)", RB, U, MINB, WB, LD, b); \
        run(n1, [&](const uint8_t* q) { k_splitk<RB, U, MINB, WB, LD><<<g, WB * 32>>>(dx, dy, sh.rows, sh.cols, q, ds); }); \
    }
        PIPE(2, 2)
        TMA(8, 3, 2048, 1)
        TMA(16, 2, 2048, 1)
        TMA(8, 8, 512, 1)
        SPLITK(4, 1, 4, 8, 0)
        SPLITK(4, 1, 4, 8, 1)
        SPLITK(4, 1, 4, 8, 2)
        SPLITK(4, 2, 4, 8, 0)
        SPLITK(4, 1, 8, 4, 0)
        SPLITK(8, 1, 4, 8, 2)
        CK(cudaFree(dq));
        CK(cudaFree(ds));
        CK(cudaFree(dx));
        CK(cudaFree(dy));
        CK(cudaFree(dres));
    }
    return 0;
}
