// Constants and tables of the Zstandard format (RFC 8878), shared by the encoder and the
// decoder, on the host and the device.
//
// Everything here is a number from the specification
// (shared/reference/zstd_compression_format.md); nothing depends on an implementation choice.
#ifndef CUZSTD_FORMAT_CUH
#define CUZSTD_FORMAT_CUH

#include "portability.cuh"

// Tables of constants: in constant memory on the device, plain static data on the host.
#if defined(__CUDA_ARCH__)
#define CZ_TABLE static __constant__ const
#else
#define CZ_TABLE static const
#endif

// ---- magic numbers ----------------------------------------------------------------------
#define CZ_ZSTD_MAGIC 0xFD2FB528u                 // Zstandard frame, little-endian
#define CZ_SKIPPABLE_MAGIC_BASE 0x184D2A50u      // skippable frames: 0x184D2A50..0x184D2A5F
#define CZ_SKIPPABLE_MAGIC_MASK 0xFFFFFFF0u
#define CZ_DICT_MAGIC 0xEC30A437u                 // zstd-format dictionary

CZ_HD CZ_FORCEINLINE bool cz_is_skippable_magic(uint32_t magic) {
    return (magic & CZ_SKIPPABLE_MAGIC_MASK) == CZ_SKIPPABLE_MAGIC_BASE;
}

// ---- frame header ---------------------------------------------------------------------
#define CZ_FRAME_HEADER_MIN 2           // descriptor + 1 byte (window descriptor or FCS)
#define CZ_FRAME_HEADER_MAX 14          // descriptor, window, 4-byte dict ID, 8-byte FCS
#define CZ_WINDOWLOG_ABSOLUTE_MIN 10    // Window_Descriptor exponent 0
#define CZ_WINDOWLOG_LIMIT_DEFAULT 27   // the decoder's default limit (128 MiB), as libzstd
#define CZ_WINDOWLOG_LIMIT_MAX 31       // largest window the decoder can be allowed (2 GiB)
#define CZ_CHECKSUM_SIZE 4              // low 32 bits of XXH64(content, seed 0)

// Frame_Header_Descriptor fields.
#define CZ_FHD_DICT_ID_FLAG(b) ((b) & 3u)
#define CZ_FHD_CHECKSUM_FLAG(b) (((b) >> 2) & 1u)
#define CZ_FHD_RESERVED_BIT(b) (((b) >> 3) & 1u)
#define CZ_FHD_UNUSED_BIT(b) (((b) >> 4) & 1u)
#define CZ_FHD_SINGLE_SEGMENT(b) (((b) >> 5) & 1u)
#define CZ_FHD_FCS_FLAG(b) ((b) >> 6)

// Bytes of Dictionary_ID for Dictionary_ID_Flag 0..3.
CZ_HD CZ_FORCEINLINE unsigned cz_dict_id_field_size(unsigned flag) { return flag == 3 ? 4u : flag; }
// Bytes of Frame_Content_Size for FCS_Field_Size flag 0..3 (flag 0: 1 byte if single segment).
CZ_HD CZ_FORCEINLINE unsigned cz_fcs_field_size(unsigned flag, unsigned single_segment) {
    return flag == 0 ? single_segment : (1u << flag);
}

// Window size of a Window_Descriptor byte.
CZ_HD CZ_FORCEINLINE uint64_t cz_window_size_of_descriptor(uint8_t wd) {
    const unsigned exponent = wd >> 3, mantissa = wd & 7u;
    const uint64_t base = 1ull << (CZ_WINDOWLOG_ABSOLUTE_MIN + exponent);
    return base + (base >> 3) * mantissa;
}

// ---- blocks ------------------------------------------------------------------------------
#define CZ_BLOCK_HEADER_SIZE 3
#define CZ_BLOCK_SIZE_MAX (128u * 1024u)  // Block_Maximum_Size is min(window, this)

enum cz_block_type { CZ_BLOCK_RAW = 0, CZ_BLOCK_RLE = 1, CZ_BLOCK_COMPRESSED = 2, CZ_BLOCK_RESERVED = 3 };

// ---- literals section ------------------------------------------------------------------
enum cz_literals_type {
    CZ_LITERALS_RAW = 0,
    CZ_LITERALS_RLE = 1,
    CZ_LITERALS_COMPRESSED = 2,
    CZ_LITERALS_TREELESS = 3
};

#define CZ_HUF_MAX_SYMBOL 255
#define CZ_HUF_TABLELOG_SPEC_MAX 11      // Max_Number_of_Bits in the specification
#define CZ_HUF_TABLELOG_MAX 12           // what libzstd's decoder accepts (HUF_TABLELOG_MAX)
#define CZ_HUF_WEIGHTS_FSE_LOG_MAX 6     // accuracy log limit of FSE-compressed weights
#define CZ_LITERALS_4_STREAMS_MIN 6      // fewer literals cannot use 4 streams
#define CZ_HUF_JUMP_TABLE_SIZE 6

// ---- sequences section -----------------------------------------------------------------
enum cz_seq_mode { CZ_SEQ_PREDEFINED = 0, CZ_SEQ_RLE = 1, CZ_SEQ_FSE = 2, CZ_SEQ_REPEAT = 3 };

#define CZ_LONG_NB_SEQ 0x7F00u  // Number_of_Sequences byte 255: 0x7F00 + next 2 bytes

#define CZ_LL_MAX_SYMBOL 35
#define CZ_ML_MAX_SYMBOL 52
#define CZ_OF_MAX_SYMBOL 31      // codes above 28 appear only with windows beyond 256 MiB
#define CZ_LL_ACCURACY_MAX 9
#define CZ_ML_ACCURACY_MAX 9
#define CZ_OF_ACCURACY_MAX 8
#define CZ_LL_PREDEFINED_LOG 6
#define CZ_ML_PREDEFINED_LOG 6
#define CZ_OF_PREDEFINED_LOG 5
#define CZ_FSE_MIN_TABLELOG 5    // Accuracy_Log = 5 + low 4 bits of the table description
#define CZ_FSE_MAX_TABLELOG 15   // largest Accuracy_Log a description can encode (5 + 15 is rejected)
#define CZ_MIN_MATCH 3
#define CZ_REP_NUM 3
#define CZ_REP_INIT_0 1
#define CZ_REP_INIT_1 4
#define CZ_REP_INIT_2 8

CZ_TABLE uint32_t cz_ll_baseline[CZ_LL_MAX_SYMBOL + 1] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,   9,   10,  11,  12,   13,   14,   15,    16,    18,
    20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
CZ_TABLE uint8_t cz_ll_extra_bits[CZ_LL_MAX_SYMBOL + 1] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

CZ_TABLE uint32_t cz_ml_baseline[CZ_ML_MAX_SYMBOL + 1] = {
    3,  4,  5,  6,  7,  8,  9,  10, 11, 12,  13,  14,  15,  16,   17,   18,   19,   20,
    21, 22, 23, 24, 25, 26, 27, 28, 29, 30,  31,  32,  33,  34,   35,   37,   39,   41,
    43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539};
CZ_TABLE uint8_t cz_ml_extra_bits[CZ_ML_MAX_SYMBOL + 1] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// Offset code N: Offset_Value = (1 << N) + N extra bits; values 1..3 are repeat offsets.
CZ_HD CZ_FORCEINLINE uint32_t cz_of_baseline(unsigned code) { return 1u << code; }
CZ_HD CZ_FORCEINLINE unsigned cz_of_extra_bits(unsigned code) { return code; }

// Predefined distributions (normalized counts, -1 = "less than 1").
CZ_TABLE int16_t cz_ll_predefined_norm[CZ_LL_MAX_SYMBOL + 1] = {
    4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1};
CZ_TABLE int16_t cz_ml_predefined_norm[CZ_ML_MAX_SYMBOL + 1] = {
    1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1,  1,  1,  1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1};
#define CZ_OF_PREDEFINED_MAX_SYMBOL 28
CZ_TABLE int16_t cz_of_predefined_norm[CZ_OF_PREDEFINED_MAX_SYMBOL + 1] = {
    1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1};

// ---- dictionaries --------------------------------------------------------------------------
#define CZ_DICT_HEADER_SIZE 8  // magic + Dictionary_ID

#endif  // CUZSTD_FORMAT_CUH
