// Portability layer: the codec stages under cuda/ are written once and compiled twice,
// by nvcc for the GPU and by the host C++17 compiler for the reference build.
//
// CZ_HD      marks a function usable on both sides (__host__ __device__ under nvcc).
// CZ_DEVICE  is defined when the current pass generates device code.
// CZ_REFERENCE_BUILD is defined when the file is compiled as plain C++ (no nvcc).
#ifndef CUZSTD_PORTABILITY_CUH
#define CUZSTD_PORTABILITY_CUH

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#if defined(__CUDACC__)
#define CZ_HD __host__ __device__
#define CZ_FORCEINLINE __forceinline__
#if defined(__CUDA_ARCH__)
#define CZ_DEVICE 1
#endif
#else
#define CZ_HD
#define CZ_FORCEINLINE inline __attribute__((always_inline))
#define CZ_REFERENCE_BUILD 1
#endif

// Full unrolling of the next loop where the compiler supports the pragma (nvcc).
#if defined(__CUDACC__)
#define CZ_UNROLL _Pragma("unroll")
#else
#define CZ_UNROLL
#endif

// 16-byte alignment of a type (so that the device loads and stores it in one access).
#if defined(__CUDACC__)
#define CZ_ALIGN16 __align__(16)
#else
#define CZ_ALIGN16 alignas(16)
#endif

// Host entry points of the reference build use C linkage so Rust can call them.
#define CZ_REF_API extern "C"

CZ_HD CZ_FORCEINLINE uint64_t cz_rotl64(uint64_t x, unsigned r) {
    return (x << (r & 63)) | (x >> ((64 - r) & 63));
}

// Little-endian loads from possibly unaligned addresses. The caller guarantees
// that every byte read lies inside its buffer.
CZ_HD CZ_FORCEINLINE uint64_t cz_read_le64(const uint8_t* p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

CZ_HD CZ_FORCEINLINE uint32_t cz_read_le32(const uint8_t* p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

CZ_HD CZ_FORCEINLINE uint32_t cz_read_le16(const uint8_t* p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

#endif  // CUZSTD_PORTABILITY_CUH
