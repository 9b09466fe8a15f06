// Names and messages of the status codes in abi.h: the single place that describes them.
// The reference build exports cz_ref_status_name / cz_ref_status_message for Rust.
#ifndef CUZSTD_STATUS_CUH
#define CUZSTD_STATUS_CUH

#include "portability.cuh"
#include "abi.h"

// X(code, NAME, message)
#define CZ_STATUS_TABLE(X)                                                                       \
    X(CZ_STATUS_OK, "OK", "no error")                                                            \
    X(CZ_STATUS_NOT_STARTED, "NOT_STARTED", "the kernel never processed this item")              \
    X(CZ_STATUS_INVALID_ARGUMENT, "INVALID_ARGUMENT", "invalid argument")                        \
    X(CZ_STATUS_INTERNAL, "INTERNAL", "internal error in cuzstd")                                \
    X(CZ_STATUS_UNKNOWN_MAGIC, "UNKNOWN_MAGIC", "unknown frame magic number")                    \
    X(CZ_STATUS_FRAME_HEADER_TRUNCATED, "FRAME_HEADER_TRUNCATED", "frame header is truncated")   \
    X(CZ_STATUS_FRAME_HEADER_RESERVED_BIT, "FRAME_HEADER_RESERVED_BIT",                          \
      "frame header reserved bit is set, should be 0")                                           \
    X(CZ_STATUS_WINDOW_TOO_LARGE, "WINDOW_TOO_LARGE", "window size is larger than the limit")    \
    X(CZ_STATUS_WINDOW_TOO_SMALL, "WINDOW_TOO_SMALL", "window size is smaller than the minimum") \
    X(CZ_STATUS_DICTIONARY_ID_MISMATCH, "DICTIONARY_ID_MISMATCH",                                \
      "frame's dictionary ID does not match the dictionary given")                               \
    X(CZ_STATUS_BLOCK_TYPE_RESERVED, "BLOCK_TYPE_RESERVED", "block type is reserved (3)")        \
    X(CZ_STATUS_BLOCK_TOO_LARGE, "BLOCK_TOO_LARGE", "block is larger than the block size limit") \
    X(CZ_STATUS_SOURCE_TRUNCATED, "SOURCE_TRUNCATED", "input ends inside the frame")             \
    X(CZ_STATUS_TRAILING_BYTES, "TRAILING_BYTES", "bytes after the last frame are not a frame")  \
    X(CZ_STATUS_LITERALS_HEADER_CORRUPT, "LITERALS_HEADER_CORRUPT",                              \
      "literals section header is corrupt")                                                      \
    X(CZ_STATUS_HUFFMAN_TABLE_CORRUPT, "HUFFMAN_TABLE_CORRUPT",                                  \
      "Huffman tree description is corrupt")                                                     \
    X(CZ_STATUS_HUFFMAN_STREAM_CORRUPT, "HUFFMAN_STREAM_CORRUPT",                                \
      "Huffman-coded literals stream is corrupt")                                                \
    X(CZ_STATUS_HUFFMAN_TABLE_MISSING, "HUFFMAN_TABLE_MISSING",                                  \
      "treeless literals block without a previous Huffman table")                                \
    X(CZ_STATUS_SEQUENCES_HEADER_CORRUPT, "SEQUENCES_HEADER_CORRUPT",                            \
      "sequences section header is corrupt")                                                     \
    X(CZ_STATUS_FSE_TABLE_CORRUPT, "FSE_TABLE_CORRUPT", "FSE table description is corrupt")      \
    X(CZ_STATUS_FSE_TABLE_MISSING, "FSE_TABLE_MISSING",                                          \
      "repeat mode without a previous FSE table")                                                \
    X(CZ_STATUS_SEQUENCE_STREAM_CORRUPT, "SEQUENCE_STREAM_CORRUPT",                              \
      "sequence bitstream is corrupt")                                                           \
    X(CZ_STATUS_OFFSET_OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE",                                      \
      "match offset reaches before the window or dictionary")                                    \
    X(CZ_STATUS_LITERALS_OVERRUN, "LITERALS_OVERRUN",                                            \
      "sequences use more literals than the block has")                                          \
    X(CZ_STATUS_CHECKSUM_MISMATCH, "CHECKSUM_MISMATCH", "content checksum does not match")       \
    X(CZ_STATUS_CONTENT_SIZE_MISMATCH, "CONTENT_SIZE_MISMATCH",                                  \
      "decoded size differs from the frame content size")                                        \
    X(CZ_STATUS_OUTPUT_TOO_SMALL, "OUTPUT_TOO_SMALL", "output capacity is too small")            \
    X(CZ_STATUS_WORKSPACE_TOO_SMALL, "WORKSPACE_TOO_SMALL", "workspace is too small")            \
    X(CZ_STATUS_DICTIONARY_CORRUPT, "DICTIONARY_CORRUPT", "dictionary is corrupt")               \
    X(CZ_STATUS_DICTIONARY_MISSING, "DICTIONARY_MISSING",                                        \
      "frame needs a dictionary that was not given")                                             \
    X(CZ_STATUS_TILE_FRAME_UNCHECKED, "TILE_FRAME_UNCHECKED",                                    \
      "delta frame lacks a content size or checksum, or exceeds the tile bound")                 \
    X(CZ_STATUS_TILE_SIZE_MISMATCH, "TILE_SIZE_MISMATCH",                                        \
      "delta tile size is not 2 * rows + 4 * entries")                                           \
    X(CZ_STATUS_TILE_COLUMN_OUT_OF_RANGE, "TILE_COLUMN_OUT_OF_RANGE",                            \
      "delta entry column is beyond the last column")                                            \
    X(CZ_STATUS_TILE_VALUE_NOT_FINITE, "TILE_VALUE_NOT_FINITE", "delta entry value is not finite")

// Returns NULL for a code that abi.h does not define.
CZ_HD inline const char* cz_status_name(uint32_t code) {
#define CZ_NAME_CASE(c, name, msg) \
    case c: return name;
    switch (code) { CZ_STATUS_TABLE(CZ_NAME_CASE) default: return nullptr; }
#undef CZ_NAME_CASE
}

CZ_HD inline const char* cz_status_message(uint32_t code) {
#define CZ_MSG_CASE(c, name, msg) \
    case c: return msg;
    switch (code) { CZ_STATUS_TABLE(CZ_MSG_CASE) default: return nullptr; }
#undef CZ_MSG_CASE
}

#endif  // CUZSTD_STATUS_CUH
