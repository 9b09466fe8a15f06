// Development harness (not part of the crate): the latency of one Huffman stream's decode on
// the GPU, by cz_huf_decode_stream and by cz_huf_decode_stream_warp, the way the zipper's
// fused kernels decode a tile (every lane of two warps of a block decodes one stream of its
// tile from shared memory into shared memory). The symbols are the bytes of a file (e.g. the decoded tiles of a
// zipper container) cut into tiles of TILE bytes, each cut into 16 blocks of 4 streams as the
// 4-stream literals layout cuts a block; one Huffman code (the crate's encoder) for the whole
// file. Every output is compared with its input; a variant is timed by clock64 around each
// lane's call (mean over the tiles of the slowest lane, and the mean lane).
//
//   NV=<pip site-packages>/nvidia/cu13
//   $NV/bin/nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -I$NV/include \
//       -L$NV/lib -lcudart_static -o huf-latency scripts/huf-latency.cu
//   ./huf-latency SYMBOLS_FILE [TILE_BYTES=2656] [TILES=256]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda_runtime.h>

#include "../cuda/include/huf_decode.cuh"
namespace enc {
#include "../cuda/include/huf_encode.cuh"
}

#define CK(x)                                                                                   \
    do {                                                                                        \
        cudaError_t e_ = (x);                                                                   \
        if (e_ != cudaSuccess) {                                                                \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

constexpr int STREAMS = 64;  // per tile: 16 blocks of 4
constexpr int MAX_TILE = 8192;

struct Stream {
    uint32_t at, len, out, n;
};

template <bool WARP>
__global__ void __launch_bounds__(64) huf_tiles(const uint8_t* streams, const uint32_t* tile_at, const Stream* desc,
                                                const uint16_t* dt, uint32_t log, uint32_t tile_bytes, uint8_t* out,
                                                long long* cycles, uint32_t* status) {
    __shared__ __align__(16) uint16_t s_dt[CZ_HUF_DTABLE_SIZE];
    __shared__ __align__(16) uint8_t s_src[MAX_TILE + 16];
    __shared__ __align__(16) uint8_t s_out[MAX_TILE + 16];
    const uint32_t t = blockIdx.x;
    const uint32_t a = tile_at[t], b = tile_at[t + 1];
    for (uint32_t i = threadIdx.x; i < (1u << log); i += blockDim.x) s_dt[i] = dt[i];
    for (uint32_t i = threadIdx.x; i < b - a; i += blockDim.x) s_src[i] = streams[a + i];
    __syncthreads();
    const Stream d = desc[t * STREAMS + threadIdx.x];
    const long long t0 = clock64();
    const uint32_t st = WARP ? cz_huf_decode_stream_warp(s_dt, log, s_src + d.at, d.len, s_out + d.out, d.n)
                             : cz_huf_decode_stream(s_dt, log, s_src + d.at, d.len, s_out + d.out, d.n);
    const long long t1 = clock64();
    cycles[t * STREAMS + threadIdx.x] = t1 - t0;
    status[t * STREAMS + threadIdx.x] = st;
    __syncthreads();
    for (uint32_t i = threadIdx.x; i < tile_bytes; i += blockDim.x) out[(uint64_t)t * tile_bytes + i] = s_out[i];
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: huf-latency SYMBOLS_FILE [TILE_BYTES] [TILES]\n");
        return 2;
    }
    FILE* f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    std::vector<uint8_t> sym;
    {
        uint8_t buf[65536];
        size_t r;
        while ((r = fread(buf, 1, sizeof buf, f)) > 0) sym.insert(sym.end(), buf, buf + r);
        fclose(f);
    }
    const uint32_t tile_bytes = argc > 2 ? (uint32_t)atoi(argv[2]) : 2656;
    uint32_t tiles = argc > 3 ? (uint32_t)atoi(argv[3]) : 256;
    if (tile_bytes > MAX_TILE || tile_bytes < 16 * 4 * 8) {
        fprintf(stderr, "tile bytes in [512, %d]\n", MAX_TILE);
        return 2;
    }
    tiles = std::min<uint32_t>(tiles, (uint32_t)(sym.size() / tile_bytes));
    if (tiles == 0) {
        fprintf(stderr, "file shorter than a tile\n");
        return 2;
    }
    // One code for the whole file (the zipper's one table per weight).
    static enc::cz_huf_scratch esc;
    static enc::cz_huf_ctable ct;
    memset(&esc, 0, sizeof esc);
    uint32_t counts[256] = {0};
    for (size_t i = 0; i < (size_t)tiles * tile_bytes; i++) counts[sym[i]]++;
    enc::cz_huf_build(&ct, counts, &esc);
    uint8_t descr[256];
    const size_t dlen = enc::cz_huf_write_description(descr, sizeof descr, &ct, &esc);
    static uint16_t dt[CZ_HUF_DTABLE_SIZE];
    static cz_huf_scratch dsc;
    unsigned log = 0;
    size_t used = 0;
    if (dlen == 0 || cz_huf_read_table(descr, dlen, dt, &log, &used, &dsc) != CZ_STATUS_OK) {
        fprintf(stderr, "table description failed\n");
        return 1;
    }
    double bits = 0, total = 0;
    for (int s = 0; s < 256; s++) {
        bits += (double)counts[s] * ct.len[s];
        total += counts[s];
    }
    // Streams: block j of a tile is bytes [j * bs, (j + 1) * bs), its 4 streams as RFC 8878 cuts them.
    std::vector<uint8_t> streams;
    std::vector<uint32_t> tile_at;
    std::vector<Stream> desc;
    const uint32_t bs = tile_bytes / 16;
    uint32_t max_n = 0;
    for (uint32_t t = 0; t < tiles; t++) {
        tile_at.push_back((uint32_t)streams.size());
        const uint8_t* tb = sym.data() + (size_t)t * tile_bytes;
        uint32_t at = 0;
        for (uint32_t j = 0; j < 16; j++) {
            const uint32_t n = j == 15 ? tile_bytes - 15 * bs : bs;
            const uint32_t seg = (n + 3) / 4;
            for (uint32_t k = 0; k < 4; k++) {
                const uint32_t o = j * bs + k * seg, m = k == 3 ? n - 3 * seg : seg;
                uint8_t buf[4096];
                const size_t len = enc::cz_huf_write_stream(buf, sizeof buf, tb + o, m, &ct);
                if (len == 0) {
                    fprintf(stderr, "stream did not fit\n");
                    return 1;
                }
                streams.insert(streams.end(), buf, buf + len);
                desc.push_back({at, (uint32_t)len, o, m});
                at += (uint32_t)len;
                max_n = std::max(max_n, m);
            }
        }
        if (at > MAX_TILE) {
            fprintf(stderr, "tile streams over %d bytes\n", MAX_TILE);
            return 1;
        }
    }
    tile_at.push_back((uint32_t)streams.size());
    printf("%s: %u tiles of %u bytes, %u-byte blocks, 4 streams each (<= %u symbols), table log %u, %.2f bits a "
           "symbol\n",
           argv[1], tiles, tile_bytes, bs, max_n, log, bits / total);

    uint8_t *d_streams, *d_out;
    uint32_t *d_tile_at, *d_status;
    uint16_t* d_dt;
    Stream* d_desc;
    long long* d_cycles;
    CK(cudaMalloc(&d_streams, streams.size()));
    CK(cudaMalloc(&d_out, (size_t)tiles * tile_bytes));
    CK(cudaMalloc(&d_tile_at, tile_at.size() * 4));
    CK(cudaMalloc(&d_desc, desc.size() * sizeof(Stream)));
    CK(cudaMalloc(&d_dt, sizeof dt));
    CK(cudaMalloc(&d_cycles, desc.size() * 8));
    CK(cudaMalloc(&d_status, desc.size() * 4));
    CK(cudaMemcpy(d_streams, streams.data(), streams.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d_tile_at, tile_at.data(), tile_at.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d_desc, desc.data(), desc.size() * sizeof(Stream), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d_dt, dt, sizeof dt, cudaMemcpyHostToDevice));
    std::vector<long long> cyc(desc.size());
    std::vector<uint32_t> status(desc.size());
    std::vector<uint8_t> out((size_t)tiles * tile_bytes);
    int failures = 0;
    for (int round = 0; round < 6; round++) {
        const bool warp = round % 2 == 1;
        CK(cudaMemset(d_out, 0, (size_t)tiles * tile_bytes));
        for (int rep = 0; rep < 3; rep++) {  // the last launch is the one read back
            if (warp)
                huf_tiles<true><<<tiles, 64>>>(d_streams, d_tile_at, d_desc, d_dt, log, tile_bytes, d_out, d_cycles,
                                               d_status);
            else
                huf_tiles<false><<<tiles, 64>>>(d_streams, d_tile_at, d_desc, d_dt, log, tile_bytes, d_out, d_cycles,
                                                d_status);
            CK(cudaGetLastError());
        }
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(cyc.data(), d_cycles, cyc.size() * 8, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(status.data(), d_status, status.size() * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(out.data(), d_out, out.size(), cudaMemcpyDeviceToHost));
        bool ok = memcmp(out.data(), sym.data(), out.size()) == 0;
        for (uint32_t s : status) ok = ok && s == CZ_STATUS_OK;
        double warp_max = 0, lane_mean = 0;
        for (uint32_t t = 0; t < tiles; t++) {
            for (int w = 0; w < 2; w++) {
                long long m = 0;
                for (int l = 0; l < 32; l++) m = std::max(m, cyc[t * STREAMS + 32 * w + l]);
                warp_max += (double)m;
            }
        }
        for (long long c : cyc) lane_mean += (double)c;
        warp_max /= 2.0 * tiles;
        lane_mean /= (double)cyc.size();
        printf("round %d %-26s: slowest lane of a warp %7.0f cycles (%5.1f a symbol of the longest stream), mean lane "
               "%7.0f: %s\n",
               round / 2, warp ? "cz_huf_decode_stream_warp" : "cz_huf_decode_stream", warp_max, warp_max / max_n,
               lane_mean, ok ? "outputs ok" : "OUTPUT WRONG");
        if (!ok) failures++;
    }
    return failures ? 1 : 0;
}
