//! The ABI of cuda/include/abi.h as the host C++ compiler sees it, against the Rust types
//! bindgen generated from it; and the status table that names every code.

use cuzstd::{abi, reference, Status};

#[test]
fn reference_build_layout_matches_rust() {
    let rust = abi::layout_table();
    let cpp = reference::abi_layout();
    assert_eq!(cpp.len(), rust.len(), "CZ_ABI_STRUCTS/CZ_ABI_FIELDS and abi::layout_table() list different members");
    assert_eq!(cpp, rust);
}

#[test]
fn every_status_in_abi_h_has_a_name_and_message() {
    let codes = [
        abi::CZ_STATUS_OK,
        abi::CZ_STATUS_NOT_STARTED,
        abi::CZ_STATUS_INVALID_ARGUMENT,
        abi::CZ_STATUS_INTERNAL,
        abi::CZ_STATUS_UNKNOWN_MAGIC,
        abi::CZ_STATUS_FRAME_HEADER_TRUNCATED,
        abi::CZ_STATUS_FRAME_HEADER_RESERVED_BIT,
        abi::CZ_STATUS_WINDOW_TOO_LARGE,
        abi::CZ_STATUS_WINDOW_TOO_SMALL,
        abi::CZ_STATUS_DICTIONARY_ID_MISMATCH,
        abi::CZ_STATUS_BLOCK_TYPE_RESERVED,
        abi::CZ_STATUS_BLOCK_TOO_LARGE,
        abi::CZ_STATUS_SOURCE_TRUNCATED,
        abi::CZ_STATUS_TRAILING_BYTES,
        abi::CZ_STATUS_LITERALS_HEADER_CORRUPT,
        abi::CZ_STATUS_HUFFMAN_TABLE_CORRUPT,
        abi::CZ_STATUS_HUFFMAN_STREAM_CORRUPT,
        abi::CZ_STATUS_HUFFMAN_TABLE_MISSING,
        abi::CZ_STATUS_SEQUENCES_HEADER_CORRUPT,
        abi::CZ_STATUS_FSE_TABLE_CORRUPT,
        abi::CZ_STATUS_FSE_TABLE_MISSING,
        abi::CZ_STATUS_SEQUENCE_STREAM_CORRUPT,
        abi::CZ_STATUS_OFFSET_OUT_OF_RANGE,
        abi::CZ_STATUS_LITERALS_OVERRUN,
        abi::CZ_STATUS_CHECKSUM_MISMATCH,
        abi::CZ_STATUS_CONTENT_SIZE_MISMATCH,
        abi::CZ_STATUS_OUTPUT_TOO_SMALL,
        abi::CZ_STATUS_WORKSPACE_TOO_SMALL,
        abi::CZ_STATUS_DICTIONARY_CORRUPT,
        abi::CZ_STATUS_DICTIONARY_MISSING,
        abi::CZ_STATUS_TILE_FRAME_UNCHECKED,
        abi::CZ_STATUS_TILE_SIZE_MISMATCH,
        abi::CZ_STATUS_TILE_COLUMN_OUT_OF_RANGE,
        abi::CZ_STATUS_TILE_VALUE_NOT_FINITE,
    ];
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/cuda/include/abi.h")).unwrap();
    let in_header = header.lines().filter(|l| l.trim_start().starts_with("CZ_STATUS_")).count();
    assert_eq!(in_header, codes.len(), "abi.h defines a status this test does not list");
    for code in codes {
        let s = Status(code);
        let name = s.name().unwrap_or_else(|| panic!("status {code} has no name in status.cuh"));
        assert!(header.contains(&format!("CZ_STATUS_{name} = {code}")), "name {name} does not match code {code}");
        assert_ne!(s.message(), "unknown status code");
    }
    assert_eq!(Status(9999).name(), None);
    assert_eq!(
        Status(abi::CZ_STATUS_CHECKSUM_MISMATCH).to_string(),
        "content checksum does not match (status 50 CHECKSUM_MISMATCH)"
    );
}
