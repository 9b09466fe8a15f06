/* The one definition of every struct and status code shared by Rust and CUDA.
 *
 * build.rs turns this header into Rust with bindgen (module `cuzstd::gpu::abi` and
 * `cuzstd::reference::abi`); kernels and the reference build include it directly.
 * The layout is checked at run time on both sides by the ABI probe
 * (cuda/abi_probe.cu, tests/abi_layout.rs, tests/gpu_runtime.rs).
 *
 * Rules: plain C, fixed-width fields only, explicit padding, device addresses as uint64_t.
 * Status codes are stable numbers: never renumber, only add; gaps group them by stage.
 */
#ifndef CUZSTD_ABI_H
#define CUZSTD_ABI_H

#include <stdint.h>

/* Per-item status written by the device. */
enum cz_status {
    CZ_STATUS_OK = 0,

    /* 1..9: generic */
    CZ_STATUS_NOT_STARTED = 1,      /* initial value: the kernel never reached this item */
    CZ_STATUS_INVALID_ARGUMENT = 2, /* null pointer, size over the limits of the call */
    CZ_STATUS_INTERNAL = 3,         /* an invariant of the implementation failed */

    /* 10..19: frame header */
    CZ_STATUS_UNKNOWN_MAGIC = 10,
    CZ_STATUS_FRAME_HEADER_TRUNCATED = 11,
    CZ_STATUS_FRAME_HEADER_RESERVED_BIT = 12,
    CZ_STATUS_WINDOW_TOO_LARGE = 13,
    CZ_STATUS_WINDOW_TOO_SMALL = 14,
    CZ_STATUS_DICTIONARY_ID_MISMATCH = 15,

    /* 20..29: blocks */
    CZ_STATUS_BLOCK_TYPE_RESERVED = 20,
    CZ_STATUS_BLOCK_TOO_LARGE = 21,
    CZ_STATUS_SOURCE_TRUNCATED = 22,
    CZ_STATUS_TRAILING_BYTES = 23,

    /* 30..39: literals */
    CZ_STATUS_LITERALS_HEADER_CORRUPT = 30,
    CZ_STATUS_HUFFMAN_TABLE_CORRUPT = 31,
    CZ_STATUS_HUFFMAN_STREAM_CORRUPT = 32,
    CZ_STATUS_HUFFMAN_TABLE_MISSING = 33,

    /* 40..49: sequences */
    CZ_STATUS_SEQUENCES_HEADER_CORRUPT = 40,
    CZ_STATUS_FSE_TABLE_CORRUPT = 41,
    CZ_STATUS_FSE_TABLE_MISSING = 42,
    CZ_STATUS_SEQUENCE_STREAM_CORRUPT = 43,
    CZ_STATUS_OFFSET_OUT_OF_RANGE = 44,
    CZ_STATUS_LITERALS_OVERRUN = 45,

    /* 50..59: frame end */
    CZ_STATUS_CHECKSUM_MISMATCH = 50,
    CZ_STATUS_CONTENT_SIZE_MISMATCH = 51,

    /* 60..69: caller-provided space */
    CZ_STATUS_OUTPUT_TOO_SMALL = 60,
    CZ_STATUS_WORKSPACE_TOO_SMALL = 61,

    /* 70..79: dictionaries */
    CZ_STATUS_DICTIONARY_CORRUPT = 70,
    CZ_STATUS_DICTIONARY_MISSING = 71,

    /* 80..89: zipper tiles (cuda/zipper.cu) */
    CZ_STATUS_TILE_FRAME_UNCHECKED = 80,  /* no content size, no checksum, or over the tile bound */
    CZ_STATUS_TILE_SIZE_MISMATCH = 81,    /* decoded size is not 2 * rows + 4 * entries */
    CZ_STATUS_TILE_COLUMN_OUT_OF_RANGE = 82,
    CZ_STATUS_TILE_VALUE_NOT_FINITE = 83
};

/* Flags of the encoder (cz_encode_frame, the compression kernels). */
enum cz_encode_flags {
    CZ_ENCODE_CHECKSUM = 1, /* append the XXH64 content checksum (low 32 bits) */
    /* the workspace may hold the item's parse from a first pass (cz_encode_parse_frame,
     * the kernel cz_encode_parse_batch_warp): used where it matches the item, else the
     * item is parsed as without the flag; the frames are the same either way */
    CZ_ENCODE_PARSED = 2
};

/* One item of a batch: a source range and a destination range, as device (or, in the
 * reference build, host) addresses. */
typedef struct cz_batch_item {
    uint64_t src;
    uint64_t src_size;
    uint64_t dst;
    uint64_t dst_capacity;
} cz_batch_item;

/* What the device reports for one item of a batch. `size` is the number of bytes
 * written to the item's destination when status is CZ_STATUS_OK, else 0. `detail` is
 * stage-specific (for decoders: the index of the block that failed). */
typedef struct cz_item_result {
    uint32_t status;
    uint32_t detail;
    uint64_t size;
} cz_item_result;

/* Device-side counters a kernel may report, e.g. for tests of work distribution. */
typedef struct cz_launch_info {
    uint32_t grid_dim;
    uint32_t block_dim;
    uint32_t items;
    uint32_t reserved;
} cz_launch_info;

#endif /* CUZSTD_ABI_H */
