// The non-linear parts of a llama forward pass on the GPU (src/gpu/llm.rs), in f32, matching
// the CPU forward pass in src/llm/model.rs operation for operation. The linear layers are the
// zipper's fused kernels (zipper.cu) or the dense f16 GEMV below.
//
// Every kernel takes its sizes as arguments and touches nothing outside the ranges its
// contract names; the host (src/gpu/llm.rs) checks the buffers hold those ranges.
//
// Kernel llm_embed       grid (n), block 128: x[i][0..d) = f32(table[ids[i]][0..d)) (f16 bits);
//                        an id >= vocab writes zeros (the host rejects such ids first).
// Kernel llm_rmsnorm     grid (rows), block 256: out[r] = x[r] · rsqrt(mean(x[r]²) + eps) ⊙ w.
//                        x and out may be the same buffer.
// Kernel llm_rope        grid ceil(n·heads·pairs / 256), block 256: rotates adjacent pairs
//                        (x[2i], x[2i+1]) of each head of row t by the angle whose cos/sin are
//                        cs[t·pairs + i] / sn[t·pairs + i]; row stride `stride` floats.
// Kernel llm_attention   grid (n_head, t_len), block 128, dynamic shared memory
//                        4·(pos0 + t_len) bytes: causal softmax attention of query row t
//                        (position pos0 + t) over cache rows 0..=pos0 + t; grouped-query heads
//                        (query head h reads kv head h / (n_head / n_head_kv)).
// Kernel llm_silu_mul    g[i] = silu(g[i]) · u[i] for i < n.
// Kernel llm_add         x[i] += y[i] for i < n.
// Kernel llm_gemv_f16    grid ceil(rows / 8), block 256 (warp per row): Y[b][r] = Σ_c X[b][c] ·
//                        W[r][c], W f16 bits rows × cols row-major with cols a multiple of 8 and
//                        W 16-byte aligned; X rows of `cols`, Y rows of `y_stride` floats.
#include <stdint.h>

#if defined(__CUDACC__)

__device__ __forceinline__ float llm_h2f(uint16_t h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ float llm_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float llm_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum (is_max = false) or maximum of v over the block (blockDim.x a multiple of 32, <= 1024);
// every thread gets the result. Uses red[0..32].
__device__ float llm_block_reduce(float v, float* red, bool is_max) {
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = is_max ? llm_warp_max(v) : llm_warp_sum(v);
    __syncthreads();  // red may still be read by a previous call
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = lane < warps ? red[lane] : (is_max ? -INFINITY : 0.f);
    r = is_max ? llm_warp_max(r) : llm_warp_sum(r);
    return r;
}

extern "C" __global__ void llm_embed(const uint16_t* __restrict__ table, const uint32_t* __restrict__ ids,
                                     uint32_t d, uint32_t vocab, float* __restrict__ x) {
    const uint32_t i = blockIdx.x, id = ids[i];
    for (uint32_t j = threadIdx.x; j < d; j += blockDim.x)
        x[(uint64_t)i * d + j] = id < vocab ? llm_h2f(table[(uint64_t)id * d + j]) : 0.f;
}

extern "C" __global__ void __launch_bounds__(256)
    llm_rmsnorm(const float* x, const float* __restrict__ w, float* out, uint32_t d, float eps) {
    __shared__ float red[32];
    const float* row = x + (uint64_t)blockIdx.x * d;
    float ss = 0.f;
    for (uint32_t j = threadIdx.x; j < d; j += blockDim.x) ss += row[j] * row[j];
    ss = llm_block_reduce(ss, red, false);
    const float r = 1.0f / sqrtf(ss / (float)d + eps);
    float* o = out + (uint64_t)blockIdx.x * d;
    for (uint32_t j = threadIdx.x; j < d; j += blockDim.x) o[j] = row[j] * r * w[j];
}

extern "C" __global__ void llm_rope(float* x, const float* __restrict__ cs, const float* __restrict__ sn, uint32_t n,
                                    uint32_t heads, uint32_t head_dim, uint32_t pairs, uint32_t stride) {
    const uint64_t k = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const uint64_t total = (uint64_t)n * heads * pairs;
    if (k >= total) return;
    const uint32_t i = (uint32_t)(k % pairs);
    const uint32_t h = (uint32_t)((k / pairs) % heads);
    const uint32_t t = (uint32_t)(k / ((uint64_t)pairs * heads));
    float* p = x + (uint64_t)t * stride + (uint64_t)h * head_dim + 2 * i;
    const float c = cs[(uint64_t)t * pairs + i], s = sn[(uint64_t)t * pairs + i];
    const float a = p[0], b = p[1];
    p[0] = a * c - b * s;
    p[1] = a * s + b * c;
}

extern "C" __global__ void __launch_bounds__(128)
    llm_attention(const float* __restrict__ q, const float* __restrict__ kc, const float* __restrict__ vc,
                  float* __restrict__ out, uint32_t pos0, uint32_t n_head, uint32_t n_head_kv, uint32_t hd,
                  float scale) {
    extern __shared__ float scores[];
    __shared__ float red[32];
    const uint32_t h = blockIdx.x, t = blockIdx.y;
    const uint32_t kvh = h / (n_head / n_head_kv);
    const uint32_t q_dim = n_head * hd, kv_dim = n_head_kv * hd;
    const uint32_t n_ctx = pos0 + t + 1;
    const float* qh = q + (uint64_t)t * q_dim + (uint64_t)h * hd;
    float mx = -INFINITY;
    for (uint32_t p = threadIdx.x; p < n_ctx; p += blockDim.x) {
        const float* kp = kc + (uint64_t)p * kv_dim + (uint64_t)kvh * hd;
        float s = 0.f;
        for (uint32_t j = 0; j < hd; j++) s += qh[j] * kp[j];
        s *= scale;
        scores[p] = s;
        mx = fmaxf(mx, s);
    }
    mx = llm_block_reduce(mx, red, true);
    float sum = 0.f;
    for (uint32_t p = threadIdx.x; p < n_ctx; p += blockDim.x) {
        const float e = expf(scores[p] - mx);
        scores[p] = e;
        sum += e;
    }
    sum = llm_block_reduce(sum, red, false);  // its leading __syncthreads publishes scores
    const float inv = 1.0f / sum;
    float* o = out + (uint64_t)t * q_dim + (uint64_t)h * hd;
    for (uint32_t j = threadIdx.x; j < hd; j += blockDim.x) {
        float acc = 0.f;
        for (uint32_t p = 0; p < n_ctx; p++) acc += scores[p] * inv * vc[(uint64_t)p * kv_dim + (uint64_t)kvh * hd + j];
        o[j] = acc;
    }
}

extern "C" __global__ void llm_silu_mul(float* __restrict__ g, const float* __restrict__ u, uint64_t n) {
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x) {
        const float v = g[i];
        g[i] = v / (1.0f + expf(-v)) * u[i];
    }
}

extern "C" __global__ void llm_add(float* __restrict__ x, const float* __restrict__ y, uint64_t n) {
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
        x[i] += y[i];
}

// Rows of X handled per pass over a weight row (the row is re-read from L1/L2 for the next).
#define LLM_BT 4
// 16-byte weight loads issued together per lane.
#define LLM_UNROLL 4

extern "C" __global__ void __launch_bounds__(256)
    llm_gemv_f16(const float* __restrict__ X, float* __restrict__ Y, uint32_t batch, uint32_t rows, uint32_t cols,
                 uint32_t y_stride, const uint16_t* __restrict__ W) {
    const unsigned warp = threadIdx.x >> 5, lane = threadIdx.x & 31u;
    const uint32_t r = blockIdx.x * 8 + warp;
    if (r >= rows) return;
    const uint4* wrow = reinterpret_cast<const uint4*>(W + (uint64_t)r * cols);
    const uint32_t nvec = cols / 8;
    for (uint32_t b0 = 0; b0 < batch; b0 += LLM_BT) {
        float acc[LLM_BT] = {0.f, 0.f, 0.f, 0.f};
        // Four independent 16-byte loads in flight per lane before any is used.
        for (uint32_t v0 = lane; v0 < nvec; v0 += 32 * LLM_UNROLL) {
            uint4 wv[LLM_UNROLL];
#pragma unroll
            for (int u = 0; u < LLM_UNROLL; u++) {
                const uint32_t v = v0 + 32u * u;
                wv[u] = v < nvec ? __ldg(wrow + v) : make_uint4(0u, 0u, 0u, 0u);
            }
#pragma unroll
            for (int u = 0; u < LLM_UNROLL; u++) {
                const uint32_t v = v0 + 32u * u;
                if (v >= nvec) break;
                const uint32_t pair[4] = {wv[u].x, wv[u].y, wv[u].z, wv[u].w};
                float wf[8];
#pragma unroll
                for (int k = 0; k < 8; k++) wf[k] = llm_h2f((uint16_t)(pair[k / 2] >> (16 * (k % 2))));
#pragma unroll
                for (int bb = 0; bb < LLM_BT; bb++) {
                    if (b0 + bb >= batch) break;
                    const float* xp = X + (uint64_t)(b0 + bb) * cols + 8 * v;
                    float s = 0.f;
#pragma unroll
                    for (int k = 0; k < 8; k++) s += xp[k] * wf[k];
                    acc[bb] += s;
                }
            }
        }
#pragma unroll
        for (int bb = 0; bb < LLM_BT; bb++) {
            const float s = llm_warp_sum(acc[bb]);
            if (lane == 0 && b0 + bb < batch) Y[(uint64_t)(b0 + bb) * y_stride + r] = s;
        }
    }
}

#endif
