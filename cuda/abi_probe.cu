// ABI probe: reports the layout of the structs in abi.h as this compiler sees them.
//
// Kernel cz_abi_probe
//   grid mapping: one thread (launch <<<1, 1>>>).
//   writes:       out[0 .. min(cap, table length)), and *count = table length.
//   statuses:     none.
#include "include/abi_layout.cuh"
#include "include/status.cuh"

#if defined(__CUDACC__)

extern "C" __global__ void cz_abi_probe(uint64_t* out, uint32_t cap, uint32_t* count) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *count = cz_abi_layout(out, cap);
}

#else  // reference build

CZ_REF_API uint32_t cz_ref_abi_layout(uint64_t* out, uint32_t cap) { return cz_abi_layout(out, cap); }

CZ_REF_API const char* cz_ref_status_name(uint32_t code) { return cz_status_name(code); }

CZ_REF_API const char* cz_ref_status_message(uint32_t code) { return cz_status_message(code); }

#endif
