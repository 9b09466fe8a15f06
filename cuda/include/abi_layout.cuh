// The layout table of the ABI structs, computed by whichever compiler includes this
// file. The ABI probe runs it on the device and in the reference build; Rust computes
// the same table from its bindgen types and the tests compare the three.
//
// Table format: for each struct in CZ_ABI_STRUCTS order, {sizeof, alignof}; then for
// each field in CZ_ABI_FIELDS order, {offsetof, sizeof}.
#ifndef CUZSTD_ABI_LAYOUT_CUH
#define CUZSTD_ABI_LAYOUT_CUH

#include "portability.cuh"
#include "abi.h"

#define CZ_ABI_STRUCTS(S) \
    S(cz_batch_item)      \
    S(cz_item_result)     \
    S(cz_launch_info)

#define CZ_ABI_FIELDS(F)                 \
    F(cz_batch_item, src)                \
    F(cz_batch_item, src_size)           \
    F(cz_batch_item, dst)                \
    F(cz_batch_item, dst_capacity)       \
    F(cz_item_result, status)            \
    F(cz_item_result, detail)            \
    F(cz_item_result, size)              \
    F(cz_launch_info, grid_dim)          \
    F(cz_launch_info, block_dim)         \
    F(cz_launch_info, items)             \
    F(cz_launch_info, reserved)

// Writes the table into out[0..cap) and returns the number of entries it has.
CZ_HD inline uint32_t cz_abi_layout(uint64_t* out, uint32_t cap) {
    uint32_t n = 0;
#define CZ_PUT(v)                     \
    do {                              \
        if (n < cap) out[n] = (v);    \
        n++;                          \
    } while (0)
#define CZ_STRUCT_ENTRY(T) \
    CZ_PUT(sizeof(T));     \
    CZ_PUT(alignof(T));
#define CZ_FIELD_ENTRY(T, f)   \
    CZ_PUT(offsetof(T, f));    \
    CZ_PUT(sizeof(((T*)0)->f));
    CZ_ABI_STRUCTS(CZ_STRUCT_ENTRY)
    CZ_ABI_FIELDS(CZ_FIELD_ENTRY)
#undef CZ_FIELD_ENTRY
#undef CZ_STRUCT_ENTRY
#undef CZ_PUT
    return n;
}

#endif  // CUZSTD_ABI_LAYOUT_CUH
