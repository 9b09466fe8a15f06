//! The zipper container: packing from safetensors and GGUF sources, the round trip, and every
//! class of damage rejected with an error that names the tensor (and tile).

use cuzstd::gguf::{GgmlType, Gguf, GgufWriter};
use cuzstd::zipper::delta::{DeltaMode, HalfKind};
use cuzstd::zipper::pack::{pack_bytes, pack_matrix, PackOptions};
use cuzstd::zipper::safetensors::{Dtype, SafeTensors, Writer};
use cuzstd::zipper::tile::{self, TileLayout};
use cuzstd::zipper::{frame, ZipperError, ZipperFile, ZipperLinear};
use half::{bf16, f16};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

const UP: &str = "model.layers.0.mlp.up_proj.weight";
const Q: &str = "model.layers.0.self_attn.q_proj.weight";
const HEAD: &str = "lm_head.weight";

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| ((0..4).map(|_| rng.random::<f32>()).sum::<f32>() - 2.0) * 0.05).collect()
}

fn f16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|&x| f16::from_f32(x).to_le_bytes()).collect()
}

/// A small safetensors model: three packable matrices (F16, BF16, F32) and three tensors that
/// are copied (a norm, an embedding, an integer tensor).
fn source() -> Vec<u8> {
    let mut w = Writer::new();
    w.tensor(UP, Dtype::F16, vec![40, 70], f16_bytes(&values(2800, 1))).unwrap();
    let q: Vec<u8> = values(24 * 64, 2).iter().flat_map(|&x| bf16::from_f32(x).to_le_bytes()).collect();
    w.tensor(Q, Dtype::BF16, vec![24, 64], q).unwrap();
    w.tensor(HEAD, Dtype::F32, vec![10, 33], values(330, 3).iter().flat_map(|x| x.to_le_bytes()).collect()).unwrap();
    w.tensor("model.norm.weight", Dtype::F32, vec![70], values(70, 4).iter().flat_map(|x| x.to_le_bytes()).collect())
        .unwrap();
    w.tensor("model.embed_tokens.weight", Dtype::F16, vec![10, 70], f16_bytes(&values(700, 5))).unwrap();
    w.tensor("counts", Dtype::I32, vec![3], vec![1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]).unwrap();
    w.to_bytes()
}

fn opts() -> PackOptions {
    PackOptions { tile_rows: 8, ..PackOptions::default() }
}

fn packed() -> Vec<u8> {
    pack_bytes(source(), "tiny.safetensors", &opts()).unwrap().0
}

/// Loads a container and builds every layer (decoding every tile).
fn load_all(bytes: Vec<u8>) -> Result<ZipperFile, ZipperError> {
    let f = ZipperFile::parse(bytes)?;
    let names: Vec<String> = f.weight_names().map(String::from).collect();
    for n in names {
        ZipperLinear::from_file(&f, &n)?;
    }
    Ok(f)
}

#[test]
fn safetensors_source_round_trip() {
    let src = source();
    let (bytes, report) = pack_bytes(src.clone(), "tiny.safetensors", &opts()).unwrap();
    assert_eq!(report.tensors.len(), 3);
    assert_eq!(report.plain_tensors, 3);
    let f = load_all(bytes).unwrap();
    let m = &f.meta;
    assert_eq!((m.format.as_str(), m.version, m.base.as_str(), m.mode.as_str()), ("cuzstd-zipper", 2, "int8", "topk"));
    assert_eq!(m.tile_codec, "literal");
    assert_eq!((m.density, m.tile_rows, m.layout.as_str()), (0.01, 8, "planes"));
    assert_eq!(m.source.xxh64, format!("{:016x}", xxhash_rust::xxh64::xxh64(&src, 0)));
    assert_eq!((m.source.file.as_str(), m.source.bytes), ("tiny.safetensors", src.len() as u64));
    assert_eq!(f.weight_names().collect::<Vec<_>>(), vec![HEAD, UP, Q]);
    assert_eq!((m.weights[Q].rows, m.weights[Q].cols, m.weights[Q].half.as_str()), (24, 64, "bf16"));
    assert_eq!((m.weights[HEAD].source_dtype.as_str(), m.weights[HEAD].half.as_str()), ("F32", "f16"));
    assert_eq!(m.weights[UP].tiles, 5);

    // Plain tensors are copied byte for byte.
    let st = SafeTensors::parse(src).unwrap();
    let mut plain: Vec<&str> = f.plain_tensors().map(|e| e.name.as_str()).collect();
    plain.sort();
    assert_eq!(plain, vec!["counts", "model.embed_tokens.weight", "model.norm.weight"]);
    let (_, norm) = f.plain_f32("model.norm.weight").unwrap();
    let want: Vec<f32> = values(70, 4);
    assert_eq!(norm, want);
    let (e, emb) = f.plain_f32("model.embed_tokens.weight").unwrap();
    assert_eq!(e, vec![10, 70]);
    let (_, src_emb) = st.tensor("model.embed_tokens.weight").unwrap();
    assert_eq!(f16_bytes(&emb), src_emb);
    assert!(f.plain_f32("counts").unwrap_err().to_string().contains("counts"));

    // The container's weight is the packer's weight.
    let up: Vec<f32> = values(2800, 1).iter().map(|&x| f16::from_f32(x).to_f32()).collect();
    let (direct, _) = pack_matrix(UP, &up, 40, 70, HalfKind::F16, "F16", &opts()).unwrap();
    assert_eq!(f.weight(UP).unwrap(), direct);
}

#[test]
fn gguf_source_lossless() {
    // Q8_0 matrix (64 inputs × 8 outputs), an F16 matrix, a Q8_0 embedding and an F32 norm.
    let mut rng = StdRng::seed_from_u64(7);
    let mut q8 = Vec::new();
    for _ in 0..8 * 2 {
        q8.extend_from_slice(&f16::from_f32(0.01 + rng.random::<f32>() * 0.01).to_le_bytes());
        q8.extend((0..32).map(|_| rng.random::<i8>() as u8));
    }
    let mut g = GgufWriter::new();
    g.metadata("general.architecture", cuzstd::gguf::Value::String("llama".into()));
    g.tensor("blk.0.attn_q.weight", &[64, 8], GgmlType::Q8_0, q8.clone());
    g.tensor("blk.0.ffn_down.weight", &[40, 6], GgmlType::F16, f16_bytes(&values(240, 8)));
    g.tensor("token_embd.weight", &[64, 8], GgmlType::Q8_0, q8);
    g.tensor(
        "blk.0.attn_norm.weight",
        &[64],
        GgmlType::F32,
        values(64, 9).iter().flat_map(|x| x.to_le_bytes()).collect(),
    );
    let bytes = g.to_bytes();
    let gguf = Gguf::parse(bytes.clone()).unwrap();
    let o = PackOptions { mode: DeltaMode::Lossless, ..opts() };
    let (c, report) = pack_bytes(bytes, "tiny.gguf", &o).unwrap();
    assert!(report.tensors.iter().all(|t| t.err_final == 0.0));
    let f = load_all(c).unwrap();
    assert_eq!(f.meta.source.format, "gguf");
    assert_eq!(f.meta.mode, "lossless");
    assert_eq!(f.meta.weights["blk.0.attn_q.weight"].source_dtype, "Q8_0");
    assert_eq!(f.meta.weights["blk.0.attn_q.weight"].round_to, "f16");
    // The lossless layer computes with the f16 values the LLM runtime loads.
    let w = gguf.tensor("blk.0.attn_q.weight").unwrap().to_f32_via_f16().unwrap();
    let layer = ZipperLinear::from_file(&f, "blk.0.attn_q.weight").unwrap();
    let x: Vec<f32> = (0..2 * 64).map(|i| (i as f32 * 0.37).sin()).collect();
    let y = cuzstd::llm::Linear::forward(&layer, &x, 2);
    for b in 0..2 {
        for r in 0..8 {
            let want: f64 = (0..64).map(|c| f64::from(w[r * 64 + c]) * f64::from(x[b * 64 + c])).sum();
            assert!((f64::from(y[b * 8 + r]) - want).abs() < 1e-5, "b {b} r {r}");
        }
    }
    // Quantized plain tensors are copied as F16; F32 as F32.
    let (shape, emb) = f.plain_f32("token_embd.weight").unwrap();
    assert_eq!(shape, vec![8, 64]);
    assert_eq!(emb, gguf.tensor("token_embd.weight").unwrap().to_f32_via_f16().unwrap());
    assert_eq!(f.plain_f32("blk.0.attn_norm.weight").unwrap().1, values(64, 9));
}

// ---- Damage. `edit` rewrites a container's header and data, then (unless told not to)
// recomputes the checksums so the damage reaches the deeper checks.

struct Parts {
    header: Map<String, Value>,
    data: Vec<u8>,
}

fn split(bytes: &[u8]) -> Parts {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    Parts { header, data: bytes[8 + n..].to_vec() }
}

impl Parts {
    fn meta(&self) -> Value {
        serde_json::from_str(self.header["__metadata__"]["zipper"].as_str().unwrap()).unwrap()
    }
    fn set_meta(&mut self, m: &Value) {
        self.header["__metadata__"]["zipper"] = Value::String(m.to_string());
    }
    fn range(&self, name: &str) -> std::ops::Range<usize> {
        let o = &self.header[name]["data_offsets"];
        o[0].as_u64().unwrap() as usize..o[1].as_u64().unwrap() as usize
    }
    fn resum(&mut self) {
        let mut m = self.meta();
        let names: Vec<String> = self.header.keys().filter(|k| *k != "__metadata__").cloned().collect();
        for n in names {
            let sum = xxhash_rust::xxh64::xxh64(&self.data[self.range(&n)], 0);
            m["checksums"][&n] = Value::String(format!("{sum:016x}"));
        }
        self.set_meta(&m);
    }
    /// Replaces tensor `name`'s bytes (and shape, for 1-D tensors), shifting the tensors after it.
    fn replace(&mut self, name: &str, bytes: Vec<u8>) {
        let r = self.range(name);
        let delta = bytes.len() as i64 - r.len() as i64;
        self.data.splice(r.clone(), bytes.clone());
        for (k, v) in self.header.iter_mut() {
            if k == "__metadata__" {
                continue;
            }
            let o = &mut v["data_offsets"];
            let (a, b) = (o[0].as_u64().unwrap(), o[1].as_u64().unwrap());
            if k == name {
                o[1] = Value::from((b as i64 + delta) as u64);
                if v["shape"].as_array().unwrap().len() == 1 {
                    let size = match v["dtype"].as_str().unwrap() {
                        "U64" => 8,
                        "U32" => 4,
                        _ => 1,
                    };
                    v["shape"] = Value::from(vec![bytes.len() as u64 / size]);
                }
            } else if a >= r.end as u64 {
                o[0] = Value::from((a as i64 + delta) as u64);
                o[1] = Value::from((b as i64 + delta) as u64);
            }
        }
    }
    fn join(&self) -> Vec<u8> {
        let mut text = Value::Object(self.header.clone()).to_string();
        while text.len() % 8 != 0 {
            text.push(' ');
        }
        let mut out = (text.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(&self.data);
        out
    }
}

fn u64s(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn offsets(p: &Parts, w: &str) -> Vec<u64> {
    p.data[p.range(&format!("{w}.tile_offsets"))]
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// Applies `damage` (with checksums recomputed after it when `resum`) and returns the error.
fn damaged(resum: bool, damage: impl FnOnce(&mut Parts)) -> String {
    let mut p = split(&packed());
    damage(&mut p);
    if resum {
        p.resum();
    }
    match load_all(p.join()) {
        Ok(_) => panic!("damage not detected"),
        Err(e) => e.to_string(),
    }
}

fn expect(err: &str, needles: &[&str]) {
    for n in needles {
        assert!(err.contains(n), "error {err:?} should mention {n:?}");
    }
}

#[test]
fn framing_damage() {
    let good = packed();
    let e = |b: Vec<u8>| ZipperFile::parse(b).unwrap_err().to_string();
    expect(&e(good[..good.len() - 1].to_vec()), &["counts", "not inside"]);
    let mut extra = good.clone();
    extra.push(0);
    expect(&e(extra), &["after the last"]);
    expect(&e(good[..20].to_vec()), &["header length"]);
    let mut long = good.clone();
    long[..8].copy_from_slice(&(u64::MAX).to_le_bytes());
    expect(&e(long), &["limit"]);
    let mut json = good.clone();
    json[8] = b'[';
    expect(&e(json), &["start with"]);
    let mut brace = good.clone();
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let close = good[8..8 + n].iter().rposition(|&c| c == b'}').unwrap();
    brace[8 + close] = b' ';
    expect(&e(brace), &["JSON"]);
    expect(&damaged(false, |p| p.data[5] ^= 1), &["XXH64", "damaged"]);
}

#[test]
fn metadata_damage() {
    expect(
        &damaged(false, |p| {
            p.header["__metadata__"].as_object_mut().unwrap().remove("zipper");
        }),
        &["no \"zipper\""],
    );
    let meta = |f: fn(&mut Value)| {
        damaged(true, move |p| {
            let mut m = p.meta();
            f(&mut m);
            p.set_meta(&m);
        })
    };
    expect(&meta(|m| m["version"] = Value::from(3)), &["version", "only 1 and 2"]);
    expect(&meta(|m| m["version"] = Value::from(1)), &["version 1 has no tile_codec"]);
    expect(
        &meta(|m| {
            m.as_object_mut().unwrap().remove("tile_codec");
        }),
        &["tile_codec is missing"],
    );
    expect(&meta(|m| m["tile_codec"] = Value::from("huffman")), &["unknown tile codec"]);
    // A literal pack read as zstd: its dictionaries are not expected.
    expect(&meta(|m| m["tile_codec"] = Value::from("zstd")), &[".dict", "tile codec is zstd"]);
    expect(&meta(|m| m["format"] = Value::from("other")), &["format"]);
    expect(&meta(|m| m["extra"] = Value::from(1)), &["unknown field"]);
    expect(&meta(|m| m["base"] = Value::from("int3")), &["int3"]);
    expect(&meta(|m| m["layout"] = Value::from("zigzag")), &["layout"]);
    expect(&meta(|m| m["tile_rows"] = Value::from(0)), &["tile_rows"]);
    expect(&meta(|m| m["tile_rows"] = Value::from(4)), &[HEAD, "tile 0", "more than 4"]);
    expect(&meta(|m| m["max_tile_bytes"] = Value::from(40)), &["more than the tile bound"]);
    expect(&meta(|m| m["density"] = Value::from(3.0)), &["density"]);
    expect(&meta(|m| m["weights"][UP]["nnz"] = Value::from(1)), &[UP, "metadata says 1"]);
    expect(&meta(|m| m["weights"][UP]["tiles"] = Value::from(4)), &[UP, "tile_offsets", "should be U64 [5]"]);
    expect(&meta(|m| m["weights"][UP]["cols"] = Value::from(71)), &[UP, "base", "should be I8 [40, 71]"]);
    expect(&meta(|m| m["weights"][UP]["cols"] = Value::from(70000)), &[UP, "shape"]);
    expect(&meta(|m| m["weights"][UP]["round_to"] = Value::from("f8")), &[UP, "round_to"]);
    expect(&meta(|m| m["weights"]["ghost.weight"] = m["weights"][UP].clone()), &["ghost.weight.base", "missing"]);
    expect(&meta(|m| m["checksums"]["ghost"] = Value::from("00")), &["ghost", "not in the container"]);
}

/// The literal dictionary of a weight: missing, of another shape, or not a dictionary.
#[test]
fn literal_dictionary_damage() {
    let dict = format!("{UP}.dict");
    expect(
        &damaged(true, |p| {
            p.header.remove(&dict);
        }),
        &["after the previous"],
    );
    expect(&damaged(true, |p| p.header[&dict]["dtype"] = Value::from("I8")), &[&dict, "should be U8"]);
    expect(
        &damaged(true, |p| {
            let r = p.range(&dict);
            p.data[r.start] ^= 0xff; // the dictionary magic
        }),
        &[&dict, "not a zstd dictionary"],
    );
    // The Huffman table description's header byte: the table no longer reads, or no longer
    // decodes the tiles (then the frames fail against their checksums).
    let err = damaged(true, |p| {
        let r = p.range(&dict);
        p.data[r.start + 8] ^= 0x5a;
    });
    assert!(err.contains(UP), "{err}");
}

/// Version 1 files (before tile codecs) hold zstd tiles and no dictionaries; they still load.
#[test]
fn version_1_zstd_containers_still_load() {
    let o = PackOptions { codec: frame::TileCodec::Zstd, ..opts() };
    let (bytes, _) = pack_bytes(source(), "tiny.safetensors", &o).unwrap();
    let mut p = split(&bytes);
    let mut m = p.meta();
    assert_eq!(m["tile_codec"], Value::from("zstd"));
    m.as_object_mut().unwrap().remove("tile_codec");
    m["version"] = Value::from(1);
    p.set_meta(&m);
    p.resum();
    let f = load_all(p.join()).unwrap();
    assert_eq!((f.meta.version, f.meta.tile_codec.as_str()), (1, "zstd"));
    assert!(f.weight(UP).unwrap().dict.is_empty());
}

#[test]
fn tensor_damage() {
    let scales = format!("{UP}.scales");
    expect(
        &damaged(true, |p| {
            let r = p.range(&scales);
            p.data[r.start..r.start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        }),
        &[&scales, "scale 0"],
    );
    expect(
        &damaged(true, |p| {
            let r = p.range(&scales);
            p.data[r.start..r.start + 4].copy_from_slice(&(-1f32).to_le_bytes());
        }),
        &[&scales],
    );
    expect(&damaged(true, |p| p.header[&scales]["dtype"] = Value::from("U32")), &[&scales, "should be F32"]);
    expect(
        &damaged(true, |p| {
            p.header.remove(&scales);
        }),
        &["after the previous"],
    );
    let base = format!("{UP}.base");
    expect(&damaged(true, |p| p.header[&base]["shape"] = Value::from(vec![70, 40])), &[&base, "should be I8 [40, 70]"]);
    // Overlap: the scales claim the base's last bytes.
    expect(
        &damaged(true, |p| {
            let r = p.range(&base);
            p.header[&base]["data_offsets"][1] = Value::from(r.end as u64 + 4);
            p.header[&base]["shape"] = Value::from(vec![40 * 70 + 4]);
        }),
        &["overlaps"],
    );
}

#[test]
fn tile_table_damage() {
    let to = format!("{UP}.tile_offsets");
    let tr = format!("{UP}.tile_rows");
    expect(
        &damaged(true, |p| {
            let mut o = offsets(p, UP);
            o[0] = 1;
            p.replace(&to, u64s(&o));
        }),
        &[&to, "from 0"],
    );
    expect(
        &damaged(true, |p| {
            let mut o = offsets(p, UP);
            *o.last_mut().unwrap() -= 1;
            p.replace(&to, u64s(&o));
        }),
        &[&to],
    );
    expect(
        &damaged(true, |p| {
            let mut o = offsets(p, UP);
            o.swap(1, 2);
            p.replace(&to, u64s(&o));
        }),
        &[UP, "tile 1", "not increasing"],
    );
    // Two frames in one tile: offsets 0, 2, 3, ... with offset 1 dropped and the count fixed.
    expect(
        &damaged(true, |p| {
            let mut o = offsets(p, UP);
            o[1] = o[2];
            p.replace(&to, u64s(&o));
            let r = p.range(&tr);
            let mut rows: Vec<u32> =
                p.data[r.clone()].chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().unwrap())).collect();
            rows[1] = rows[2];
            p.data[r].copy_from_slice(&rows.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>());
        }),
        &[UP, "tile 0"],
    );
    expect(
        &damaged(true, |p| {
            let r = p.range(&tr);
            p.data[r.start + 4..r.start + 8].copy_from_slice(&0u32.to_le_bytes());
        }),
        &[UP, "tile 0", "rows 0..0"],
    );
    expect(
        &damaged(true, |p| {
            let r = p.range(&tr);
            p.data[r.end - 4..r.end].copy_from_slice(&41u32.to_le_bytes());
        }),
        &[&tr, "40 rows"],
    );
}

#[test]
fn frame_damage_names_the_tile() {
    let delta = format!("{UP}.delta");
    // Not a zstd frame.
    expect(
        &damaged(true, |p| {
            let o = offsets(p, UP);
            let r = p.range(&delta);
            p.data[r.start + o[2] as usize] ^= 0xff;
        }),
        &[UP, "tile 2", "magic"],
    );
    // A frame whose payload is well-formed zstd but not a valid tile: a column out of range.
    let bad_tile = |payload: Vec<u8>| {
        let delta = delta.clone();
        move |p: &mut Parts| {
            let frame = frame::compress_tile(&payload, 3).unwrap();
            let o = offsets(p, UP);
            let r = p.range(&delta);
            let mut d = p.data[r.clone()].to_vec();
            let (a, b) = (o[1] as usize, o[2] as usize);
            d.splice(a..b, frame.clone());
            let shift = frame.len() as i64 - (b - a) as i64;
            let o2: Vec<u64> =
                o.iter().enumerate().map(|(i, &x)| if i >= 2 { (x as i64 + shift) as u64 } else { x }).collect();
            p.replace(&delta, d);
            p.replace(&format!("{UP}.tile_offsets"), u64s(&o2));
        }
    };
    // 8 rows: counts 1,0,...; one entry at column 70 (of 70); value 1.0.
    let mut cols70 = vec![1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    cols70.extend_from_slice(&[70, 0]);
    cols70.extend_from_slice(&f16::ONE.to_bits().to_le_bytes());
    expect(&damaged(true, bad_tile(cols70)), &[UP, "tile 1", "column 70"]);
    let mut short = vec![2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    short.extend_from_slice(&[1, 0, 0, 0]);
    expect(&damaged(true, bad_tile(short)), &[UP, "tile 1", "should be"]);
    let mut inf = vec![1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    inf.extend_from_slice(&[3, 0]);
    inf.extend_from_slice(&f16::INFINITY.to_bits().to_le_bytes());
    expect(&damaged(true, bad_tile(inf)), &[UP, "tile 1", "non-finite"]);
}

/// Every single-bit flip in a tile's frame either is reported (naming the tensor and tile) or
/// leaves the decoded tile unchanged (e.g. a flip in an unused header field): never a wrong Y.
#[test]
fn every_bit_flip_in_a_frame_is_caught_or_harmless() {
    let good = split(&packed());
    let w0 = ZipperFile::parse(good.join()).unwrap().weight(UP).unwrap();
    let delta = format!("{UP}.delta");
    let o = offsets(&good, UP);
    let r = good.range(&delta);
    let (a, b) = (r.start + o[3] as usize, r.start + o[4] as usize);
    let (mut caught, mut harmless) = (0, 0);
    for byte in a..b {
        for bit in 0..8 {
            let mut p = Parts { header: good.header.clone(), data: good.data.clone() };
            p.data[byte] ^= 1 << bit;
            p.resum();
            match load_all(p.join()) {
                Err(e) => {
                    expect(&e.to_string(), &[UP, "tile 3"]);
                    caught += 1;
                }
                Ok(f) => {
                    let w = f.weight(UP).unwrap();
                    assert_eq!(w.decode_tile(3).unwrap(), w0.decode_tile(3).unwrap(), "byte {byte} bit {bit}");
                    harmless += 1;
                }
            }
        }
    }
    assert!(caught > 8 * (b - a) * 9 / 10, "{caught} caught, {harmless} harmless");
}

/// Random damage anywhere (with and without checksums fixed up) never panics.
#[test]
fn random_damage_never_panics() {
    let good = packed();
    let mut rng = StdRng::seed_from_u64(11);
    for i in 0..400 {
        let mut p = split(&good);
        let mut bytes = if i % 2 == 0 {
            let n = p.data.len();
            for _ in 0..rng.random_range(1..4) {
                p.data[rng.random_range(0..n)] ^= rng.random::<u8>() | 1;
            }
            p.resum();
            p.join()
        } else {
            good.clone()
        };
        if i % 2 == 1 {
            let n = bytes.len();
            match i % 3 {
                0 => bytes.truncate(rng.random_range(0..n)),
                _ => {
                    let at = rng.random_range(0..n);
                    bytes[at] = rng.random();
                }
            }
        }
        let _ = load_all(bytes);
    }
}

#[test]
fn layouts_and_options_are_recorded() {
    for layout in [TileLayout::Plain, TileLayout::Planes] {
        let o =
            PackOptions { layout, kind: cuzstd::zipper::BaseKind::Int4 { group: 32 }, max_tile_bytes: 100, ..opts() };
        let (bytes, _) = pack_bytes(source(), "tiny.safetensors", &o).unwrap();
        let f = load_all(bytes).unwrap();
        assert_eq!((f.meta.layout.as_str(), f.meta.group_size, f.meta.max_tile_bytes), (layout.name(), Some(32), 100));
        let w = f.weight(UP).unwrap();
        for t in 0..w.tiles() {
            assert!(frame::inspect_tile(w.tile_frame(t), 100).unwrap() <= 100);
            assert!(w.tile_row_range(t).len() <= 8);
        }
        assert!(tile::max_entries_per_row(100) >= 1);
    }
}

/// A weight that would have more tiles than `max_tiles` gets taller ones (a multiple of 8
/// rows), and the container's row bound follows, so the file loads.
#[test]
fn tall_weights_get_taller_tiles_within_the_container_bound() {
    let mut w = Writer::new();
    w.tensor(UP, Dtype::F16, vec![400, 16], f16_bytes(&values(6400, 9))).unwrap();
    w.tensor(Q, Dtype::F16, vec![40, 16], f16_bytes(&values(640, 10))).unwrap();
    let o = PackOptions { tile_rows: 2, max_tiles: 100, ..PackOptions::default() };
    let (bytes, _) = pack_bytes(w.to_bytes(), "tall.safetensors", &o).unwrap();
    let f = load_all(bytes).unwrap();
    assert_eq!(f.meta.tile_rows, 8);
    let (up, q) = (f.weight(UP).unwrap(), f.weight(Q).unwrap());
    assert_eq!((up.tiles(), q.tiles()), (50, 20)); // 400 rows in tiles of 8; 40 keep tiles of 2
}
