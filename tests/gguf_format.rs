//! GGUF reader on small files built here with [`GgufWriter`]: metadata of every type round-trips,
//! each supported tensor type dequantizes to hand-computed values, and malformed headers give
//! errors that name the key or tensor, never panics.

use cuzstd::gguf::{GgmlType, Gguf, GgufError, GgufWriter, Value, ValueType};
use half::{bf16, f16};

fn f16_bytes(x: f32) -> [u8; 2] {
    f16::from_f32(x).to_le_bytes()
}

/// One Q8_0 block: scale `d`, then 32 signed bytes.
fn q8_0_block(d: f32, q: &[i8; 32]) -> Vec<u8> {
    let mut b = f16_bytes(d).to_vec();
    b.extend(q.iter().map(|&v| v as u8));
    b
}

/// One Q4_0 block: scale `d`, then 16 bytes; byte j holds element j (low nibble) and j + 16 (high).
fn q4_0_block(d: f32, nibbles: &[u8; 32]) -> Vec<u8> {
    let mut b = f16_bytes(d).to_vec();
    b.extend((0..16).map(|j| nibbles[j] | (nibbles[j + 16] << 4)));
    b
}

/// One Q4_1 block: scale `d`, minimum `m`, then nibbles as in Q4_0.
fn q4_1_block(d: f32, m: f32, nibbles: &[u8; 32]) -> Vec<u8> {
    let mut b = f16_bytes(d).to_vec();
    b.extend_from_slice(&f16_bytes(m));
    b.extend((0..16).map(|j| nibbles[j] | (nibbles[j + 16] << 4)));
    b
}

fn all_value_types() -> Vec<(&'static str, Value)> {
    vec![
        ("t.u8", Value::U8(200)),
        ("t.i8", Value::I8(-100)),
        ("t.u16", Value::U16(60000)),
        ("t.i16", Value::I16(-30000)),
        ("t.u32", Value::U32(4_000_000_000)),
        ("t.i32", Value::I32(-2_000_000_000)),
        ("t.f32", Value::F32(1e-5)),
        ("t.bool", Value::Bool(true)),
        ("t.string", Value::String("héllo <|im_start|>".into())),
        ("t.strings", Value::Array(ValueType::String, vec![Value::String("a".into()), Value::String("Ġb c".into())])),
        ("t.ints", Value::Array(ValueType::I32, vec![Value::I32(1), Value::I32(-3)])),
        (
            "t.nested",
            Value::Array(ValueType::Array, vec![Value::Array(ValueType::U8, vec![Value::U8(1), Value::U8(2)])]),
        ),
        ("t.empty", Value::Array(ValueType::F64, vec![])),
        ("t.u64", Value::U64(u64::MAX)),
        ("t.i64", Value::I64(i64::MIN)),
        ("t.f64", Value::F64(std::f64::consts::PI)),
    ]
}

/// A small valid file with one tensor of each supported type.
fn sample_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", Value::String("test".into()));
    for (k, v) in all_value_types() {
        w.metadata(k, v);
    }
    let f32s: Vec<u8> = [1.5f32, -2.0, 0.25].iter().flat_map(|x| x.to_le_bytes()).collect();
    w.tensor("vec.f32", &[3], GgmlType::F32, f32s);
    let f16s: Vec<u8> = [0.5f32, -1.0, 65504.0, 0.0].iter().flat_map(|&x| f16_bytes(x)).collect();
    w.tensor("mat.f16", &[2, 2], GgmlType::F16, f16s);
    let bf16s: Vec<u8> = [3.0f32, -0.5].iter().flat_map(|&x| bf16::from_f32(x).to_le_bytes()).collect();
    w.tensor("vec.bf16", &[2], GgmlType::BF16, bf16s);
    let q8: [i8; 32] = std::array::from_fn(|i| i as i8 - 16);
    let mut q8_data = q8_0_block(0.5, &q8);
    q8_data.extend(q8_0_block(-2.0, &q8));
    w.tensor("mat.q8_0", &[32, 2], GgmlType::Q8_0, q8_data);
    let nib: [u8; 32] = std::array::from_fn(|i| (i % 16) as u8);
    w.tensor("vec.q4_0", &[32], GgmlType::Q4_0, q4_0_block(0.25, &nib));
    w.tensor("vec.q4_1", &[32], GgmlType::Q4_1, q4_1_block(0.5, -1.0, &nib));
    w
}

#[test]
fn metadata_of_every_type_round_trips() {
    let g = Gguf::parse(sample_writer().to_bytes()).unwrap();
    assert_eq!(g.version(), 3);
    assert_eq!(g.alignment(), 32);
    assert_eq!(g.data_start() % 32, 0);
    for (k, v) in all_value_types() {
        assert_eq!(g.get(k), Some(&v), "{k}");
    }
    assert_eq!(g.get_str("general.architecture").unwrap(), "test");
    assert_eq!(g.get_str_array("t.strings").unwrap(), vec!["a", "Ġb c"]);
    assert_eq!(g.get_i64_array("t.ints").unwrap(), vec![1, -3]);
    assert_eq!(g.get_u64("t.u16").unwrap(), 60000);
    assert!((g.get_f64("t.f32").unwrap() - 1e-5).abs() < 1e-12);
    // Wrong-type and missing lookups name the key.
    let e = g.get_str("t.u8").unwrap_err().to_string();
    assert!(e.contains("t.u8"), "{e}");
    let e = g.get_u64("no.such.key").unwrap_err().to_string();
    assert!(e.contains("no.such.key") && e.contains("missing"), "{e}");
    assert_eq!(g.metadata().len(), all_value_types().len() + 1);
}

#[test]
fn tensors_dequantize_per_ggml_layouts() {
    let g = Gguf::parse(sample_writer().to_bytes()).unwrap();
    assert_eq!(g.tensors().len(), 6);
    for t in g.tensors() {
        assert_eq!(t.offset % g.alignment(), 0, "{}", t.name);
    }

    assert_eq!(g.tensor("vec.f32").unwrap().to_f32().unwrap(), vec![1.5, -2.0, 0.25]);
    let info = g.tensor_info("mat.f16").unwrap();
    assert_eq!(info.rows_cols(), (2, 2));
    assert_eq!(g.tensor("mat.f16").unwrap().to_f32().unwrap(), vec![0.5, -1.0, 65504.0, 0.0]);
    assert_eq!(g.tensor("vec.bf16").unwrap().to_f32().unwrap(), vec![3.0, -0.5]);

    let q8 = g.tensor("mat.q8_0").unwrap();
    assert_eq!((q8.info.n_elems, q8.info.n_bytes), (64, 68));
    assert_eq!(q8.info.rows_cols(), (2, 32));
    let v = q8.to_f32().unwrap();
    for i in 0..32 {
        assert_eq!(v[i], (i as f32 - 16.0) * 0.5);
        assert_eq!(v[32 + i], (i as f32 - 16.0) * -2.0);
    }

    // Q4_0: element j < 16 from the low nibble of byte j, element j + 16 from its high nibble.
    let v = g.tensor("vec.q4_0").unwrap().to_f32().unwrap();
    let want: Vec<f32> = (0..32).map(|i| ((i % 16) as f32 - 8.0) * 0.25).collect();
    assert_eq!(v, want, "q4_0");
    let v = g.tensor("vec.q4_1").unwrap().to_f32().unwrap();
    let want: Vec<f32> = (0..32).map(|i| (i % 16) as f32 * 0.5 - 1.0).collect();
    assert_eq!(v, want, "q4_1");
    let h = g.tensor("vec.q4_1").unwrap().to_f16().unwrap();
    assert_eq!(h[3], f16::from_f32(0.5));
    let via = g.tensor("vec.q4_1").unwrap().to_f32_via_f16().unwrap();
    assert_eq!(via, v);

    let e = g.tensor("missing.weight").unwrap_err().to_string();
    assert!(e.contains("missing.weight"), "{e}");
}

#[test]
fn nibble_order_is_distinguishable() {
    // Distinct nibbles per element so a swapped low/high order or interleaving would show.
    let nib: [u8; 32] = std::array::from_fn(|i| ((i * 7 + 3) % 16) as u8);
    let mut w = GgufWriter::new();
    w.tensor("q", &[32], GgmlType::Q4_0, q4_0_block(1.0, &nib));
    let g = Gguf::parse(w.to_bytes()).unwrap();
    let v = g.tensor("q").unwrap().to_f32().unwrap();
    let want: Vec<f32> = nib.iter().map(|&n| n as f32 - 8.0).collect();
    assert_eq!(v, want);
}

#[test]
fn custom_alignment_is_honoured() {
    let mut w = GgufWriter::new();
    w.alignment(64);
    w.tensor("a", &[3], GgmlType::F32, vec![0; 12]);
    w.tensor("b", &[5], GgmlType::F32, [7.0f32; 5].iter().flat_map(|x| x.to_le_bytes()).collect());
    let g = Gguf::parse(w.to_bytes()).unwrap();
    assert_eq!(g.alignment(), 64);
    assert_eq!(g.data_start() % 64, 0);
    assert_eq!(g.tensor_info("b").unwrap().offset, 64);
    assert_eq!(g.tensor("b").unwrap().to_f32().unwrap(), vec![7.0; 5]);
}

#[test]
fn unsupported_types_are_validated_but_not_decoded() {
    let mut w = GgufWriter::new();
    w.tensor("k", &[256], GgmlType::Q4K, vec![0; 144]);
    let g = Gguf::parse(w.to_bytes()).unwrap();
    let e = g.tensor("k").unwrap().to_f32().unwrap_err().to_string();
    assert!(e.contains("\"k\"") && e.contains("Q4_K"), "{e}");
}

/// Parses `bytes`, expecting an error whose message contains every one of `needles`.
fn expect_err(bytes: Vec<u8>, needles: &[&str]) -> GgufError {
    let e = Gguf::parse(bytes).expect_err("should fail");
    let msg = e.to_string();
    for n in needles {
        assert!(msg.contains(n), "error {msg:?} should mention {n:?}");
    }
    e
}

fn one_tensor(name: &str, dims: &[u64], ty: GgmlType, data: Vec<u8>) -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.tensor(name, dims, ty, data);
    w.to_bytes()
}

/// Byte offset of the field right after tensor `name`'s dims, i.e. its type (single-tensor files
/// without metadata: header 24 bytes, then name length, name, n_dims, dims).
fn type_field_offset(name: &str, n_dims: usize) -> usize {
    24 + 8 + name.len() + 4 + 8 * n_dims
}

#[test]
fn corrupt_headers_give_errors() {
    let good = sample_writer().to_bytes();

    let mut b = good.clone();
    b[0] = b'X';
    assert!(matches!(Gguf::parse(b), Err(GgufError::BadMagic { .. })));

    let mut b = good.clone();
    b[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(matches!(Gguf::parse(b), Err(GgufError::UnsupportedVersion(1))));

    // Absurd counts are refused before allocating.
    let mut b = good.clone();
    b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    expect_err(b, &["tensor count"]);
    let mut b = good.clone();
    b[16..24].copy_from_slice(&(1u64 << 60).to_le_bytes());
    expect_err(b, &["metadata count"]);

    // Every truncation of the header is an error, never a panic.
    let g = Gguf::parse(good.clone()).unwrap();
    for len in 0..g.data_start() as usize {
        assert!(Gguf::parse(good[..len].to_vec()).is_err(), "prefix of {len} bytes parsed");
    }
    // Cutting into the data section names the tensor that no longer fits.
    let last = g.tensors().iter().max_by_key(|t| t.offset).unwrap().name.clone();
    expect_err(good[..good.len() - 1].to_vec(), &[&last, "outside the data section"]);
}

#[test]
fn bad_metadata_names_the_key() {
    let mut w = GgufWriter::new();
    w.metadata("my.key", Value::Bool(true));
    let mut b = w.to_bytes();
    b[24 + 8 + "my.key".len() + 4] = 2;
    expect_err(b, &["my.key", "bool"]);

    let mut w = GgufWriter::new();
    w.metadata("my.type", Value::U8(1));
    let mut b = w.to_bytes();
    let ty_at = 24 + 8 + "my.type".len();
    b[ty_at..ty_at + 4].copy_from_slice(&99u32.to_le_bytes());
    expect_err(b, &["my.type", "99"]);

    let mut w = GgufWriter::new();
    w.metadata("my.array", Value::Array(ValueType::U32, vec![Value::U32(1)]));
    let mut b = w.to_bytes();
    let count_at = 24 + 8 + "my.array".len() + 4 + 4;
    b[count_at..count_at + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    expect_err(b, &["my.array", "cannot fit"]);

    let mut w = GgufWriter::new();
    w.metadata("my.str", Value::String("ab".into()));
    let mut b = w.to_bytes();
    b[24 + 8 + "my.str".len() + 4 + 8 + 1] = 0xff;
    expect_err(b, &["my.str", "UTF-8"]);

    let mut w = GgufWriter::new();
    w.metadata("dup", Value::U8(1)).metadata("dup", Value::U8(2));
    expect_err(w.to_bytes(), &["dup", "more than once"]);

    let mut w = GgufWriter::new();
    w.metadata("general.alignment", Value::U32(24));
    expect_err(w.to_bytes(), &["general.alignment", "power of two"]);
    let mut w = GgufWriter::new();
    w.metadata("general.alignment", Value::U64(32));
    expect_err(w.to_bytes(), &["general.alignment"]);
}

#[test]
fn bad_tensor_infos_name_the_tensor() {
    // Unknown ggml type.
    let mut b = one_tensor("w.bad_type", &[4], GgmlType::F32, vec![0; 16]);
    let at = type_field_offset("w.bad_type", 1);
    b[at..at + 4].copy_from_slice(&5u32.to_le_bytes());
    expect_err(b, &["w.bad_type", "ggml type 5"]);

    // Rank 0 and rank 5.
    for rank in [0u32, 5] {
        let mut b = one_tensor("w.rank", &[4], GgmlType::F32, vec![0; 16]);
        let at = 24 + 8 + "w.rank".len();
        b[at..at + 4].copy_from_slice(&rank.to_le_bytes());
        expect_err(b, &["w.rank", "rank"]);
    }

    // Innermost dimension not a whole number of blocks.
    expect_err(one_tensor("w.blocks", &[16, 2], GgmlType::Q4_1, vec![0; 20]), &["w.blocks", "multiple of 32"]);

    // Element count overflow.
    let mut b = one_tensor("w.huge", &[4, 4], GgmlType::F32, vec![0; 64]);
    let at = 24 + 8 + "w.huge".len() + 4;
    b[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    b[at + 8..at + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    expect_err(b, &["w.huge", "overflows"]);

    // Data past the end of the file.
    let mut b = one_tensor("w.big", &[4], GgmlType::F32, vec![0; 16]);
    let at = 24 + 8 + "w.big".len() + 4;
    b[at..at + 8].copy_from_slice(&1000u64.to_le_bytes());
    expect_err(b, &["w.big", "outside the data section"]);

    // Offset + size overflows.
    let mut b = one_tensor("w.wrap", &[8], GgmlType::F32, vec![0; 32]);
    let at = type_field_offset("w.wrap", 1) + 4;
    b[at..at + 8].copy_from_slice(&(u64::MAX - 31).to_le_bytes());
    expect_err(b, &["w.wrap", "overflows"]);

    // Misaligned offset.
    let mut b = one_tensor("w.misaligned", &[4], GgmlType::F32, vec![0; 64]);
    let at = type_field_offset("w.misaligned", 1) + 4;
    b[at..at + 8].copy_from_slice(&4u64.to_le_bytes());
    expect_err(b, &["w.misaligned", "alignment"]);

    // Overlapping tensors: point the second at the first's offset.
    let mut w = GgufWriter::new();
    w.tensor("w.first", &[8], GgmlType::F32, vec![0; 32]);
    w.tensor("w.second", &[8], GgmlType::F32, vec![0; 32]);
    let mut b = w.to_bytes();
    let second_off_at = type_field_offset("w.first", 1) + 4 + 8 + 8 + "w.second".len() + 4 + 8 + 4;
    assert_eq!(u64::from_le_bytes(b[second_off_at..second_off_at + 8].try_into().unwrap()), 32);
    b[second_off_at..second_off_at + 8].copy_from_slice(&0u64.to_le_bytes());
    expect_err(b, &["overlaps", "w.first"]);

    // Duplicate names.
    let mut w = GgufWriter::new();
    w.tensor("w.dup", &[8], GgmlType::F32, vec![0; 32]);
    w.tensor("w.dup", &[8], GgmlType::F32, vec![0; 32]);
    expect_err(w.to_bytes(), &["w.dup", "more than once"]);
}

#[test]
fn random_corruption_never_panics() {
    let good = sample_writer().to_bytes();
    let header_len = Gguf::parse(good.clone()).unwrap().data_start() as usize;
    // A fixed xorshift sequence: flip bytes of the header at pseudo-random places.
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..2000 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % header_len as u64) as usize;
            b[at] = next() as u8;
        }
        if let Ok(g) = Gguf::parse(b) {
            // Whatever parses must be safe to read in full.
            for t in g.tensors() {
                let _ = g.tensor(&t.name).unwrap().to_f32();
            }
        }
    }
}
