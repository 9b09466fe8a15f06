//! The safetensors file format, written and read here with full validation.
//!
//! ```text
//! u64 little-endian N | N bytes of UTF-8 JSON header (padded with spaces) | data
//! header: { "__metadata__": { "key": "string", ... },
//!           "name": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] }, ... }
//! ```
//!
//! Offsets are relative to the start of the data. [`SafeTensors::parse`] checks everything
//! before any tensor data is handed out: the header length is bounded and inside the file, the
//! JSON is well-formed with no duplicate keys at any level, every entry has exactly the three
//! fields with a known dtype, `product(shape) × dtype size` is computed with checked arithmetic
//! and equals `end − begin`, and the tensors tile the data section exactly (in range, no
//! overlap, no gap, nothing after the last). Errors name the tensor.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{tensor_err, Result, ZipperError};

/// Largest header accepted (the reference implementation's limit).
pub const MAX_HEADER_LEN: u64 = 100_000_000;
/// Largest rank accepted.
pub const MAX_RANK: usize = 8;

/// Element types of the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    Bool,
    U8,
    I8,
    U16,
    I16,
    F16,
    BF16,
    U32,
    I32,
    F32,
    U64,
    I64,
    F64,
}

impl Dtype {
    const ALL: [Dtype; 13] = [
        Dtype::Bool,
        Dtype::U8,
        Dtype::I8,
        Dtype::U16,
        Dtype::I16,
        Dtype::F16,
        Dtype::BF16,
        Dtype::U32,
        Dtype::I32,
        Dtype::F32,
        Dtype::U64,
        Dtype::I64,
        Dtype::F64,
    ];

    pub fn size(self) -> usize {
        match self {
            Dtype::Bool | Dtype::U8 | Dtype::I8 => 1,
            Dtype::U16 | Dtype::I16 | Dtype::F16 | Dtype::BF16 => 2,
            Dtype::U32 | Dtype::I32 | Dtype::F32 => 4,
            Dtype::U64 | Dtype::I64 | Dtype::F64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "BOOL",
            Dtype::U8 => "U8",
            Dtype::I8 => "I8",
            Dtype::U16 => "U16",
            Dtype::I16 => "I16",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::U32 => "U32",
            Dtype::I32 => "I32",
            Dtype::F32 => "F32",
            Dtype::U64 => "U64",
            Dtype::I64 => "I64",
            Dtype::F64 => "F64",
        }
    }

    pub fn parse(s: &str) -> Option<Dtype> {
        Self::ALL.into_iter().find(|d| d.name() == s)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One tensor's description; `range` is absolute within the file's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub range: std::ops::Range<usize>,
}

/// A validated safetensors file held in memory.
#[derive(Debug)]
pub struct SafeTensors {
    bytes: Vec<u8>,
    tensors: Vec<TensorEntry>,
    index: HashMap<String, usize>,
    metadata: BTreeMap<String, String>,
}

fn container_err(message: impl Into<String>) -> ZipperError {
    ZipperError::Container(message.into())
}

/// A JSON value parsed with duplicate object keys rejected at every level.
struct Strict(Value);

impl<'de> de::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E>(self) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> std::result::Result<Strict, A::Error> {
        let mut v = Vec::new();
        while let Some(Strict(x)) = a.next_element()? {
            v.push(x);
        }
        Ok(Strict(Value::Array(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> std::result::Result<Strict, A::Error> {
        let mut m = Map::new();
        while let Some((k, Strict(v))) = a.next_entry::<String, Strict>()? {
            if m.contains_key(&k) {
                return Err(de::Error::custom(format!("duplicate key {k:?}")));
            }
            m.insert(k, v);
        }
        Ok(Strict(Value::Object(m)))
    }
}

/// Parses JSON text rejecting duplicate keys.
pub fn parse_strict_json(text: &str) -> std::result::Result<Value, String> {
    serde_json::from_str::<Strict>(text).map(|s| s.0).map_err(|e| e.to_string())
}

impl SafeTensors {
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|source| ZipperError::Io { path: path.display().to_string(), source })?;
        Self::parse(bytes)
    }

    /// Validates `bytes` as a safetensors file (see the module documentation).
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() < 8 {
            return Err(container_err(format!("file is {} bytes, too short for the header length", bytes.len())));
        }
        let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        if n > MAX_HEADER_LEN {
            return Err(container_err(format!("header length is {n}, more than the limit {MAX_HEADER_LEN}")));
        }
        let data_start = 8usize + n as usize;
        if data_start > bytes.len() {
            return Err(container_err(format!(
                "header length is {n}, but the file has {} bytes after it",
                bytes.len() - 8
            )));
        }
        let text = std::str::from_utf8(&bytes[8..data_start])
            .map_err(|e| container_err(format!("header is not UTF-8: {e}")))?;
        if !text.starts_with('{') {
            return Err(container_err("header does not start with '{'"));
        }
        let json = parse_strict_json(text).map_err(|e| container_err(format!("header is not valid JSON: {e}")))?;
        let Value::Object(top) = json else {
            return Err(container_err("header is not a JSON object"));
        };
        let data_len = bytes.len() - data_start;
        let mut metadata = BTreeMap::new();
        let mut tensors = Vec::with_capacity(top.len());
        for (name, v) in top {
            if name == "__metadata__" {
                let Value::Object(m) = v else {
                    return Err(container_err("__metadata__ is not an object"));
                };
                for (k, v) in m {
                    let Value::String(s) = v else {
                        return Err(container_err(format!("__metadata__ entry {k:?} is not a string")));
                    };
                    metadata.insert(k, s);
                }
                continue;
            }
            tensors.push(parse_entry(&name, &v, data_start, data_len)?);
        }
        // The tensors must tile the data section: sorted by offset, each starting where the
        // previous one ended.
        let mut order: Vec<usize> = (0..tensors.len()).collect();
        order.sort_by_key(|&i| (tensors[i].range.start, tensors[i].range.end));
        let mut at = data_start;
        for &i in &order {
            let t = &tensors[i];
            if t.range.start < at {
                return Err(tensor_err(&t.name, "data overlaps another tensor"));
            }
            if t.range.start > at {
                return Err(tensor_err(
                    &t.name,
                    format!("data starts {} bytes after the previous tensor ends", t.range.start - at),
                ));
            }
            at = t.range.end;
        }
        if at != bytes.len() {
            return Err(container_err(format!("{} bytes after the last tensor's data", bytes.len() - at)));
        }
        let index = tensors.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        Ok(Self { bytes, tensors, index, metadata })
    }

    pub fn tensors(&self) -> &[TensorEntry] {
        &self.tensors
    }

    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    pub fn entry(&self, name: &str) -> Option<&TensorEntry> {
        self.index.get(name).map(|&i| &self.tensors[i])
    }

    pub fn data(&self, entry: &TensorEntry) -> &[u8] {
        &self.bytes[entry.range.clone()]
    }

    /// The tensor `name` with its data, or an error naming it when absent.
    pub fn tensor(&self, name: &str) -> Result<(&TensorEntry, &[u8])> {
        let e = self.entry(name).ok_or_else(|| tensor_err(name, "missing from the container"))?;
        Ok((e, self.data(e)))
    }
}

fn parse_entry(name: &str, v: &Value, data_start: usize, data_len: usize) -> Result<TensorEntry> {
    let err = |m: String| tensor_err(name, m);
    if name.is_empty() {
        return Err(err("empty tensor name".into()));
    }
    let Value::Object(o) = v else {
        return Err(err("entry is not an object".into()));
    };
    for k in o.keys() {
        if !["dtype", "shape", "data_offsets"].contains(&k.as_str()) {
            return Err(err(format!("unknown field {k:?}")));
        }
    }
    let dtype = match o.get("dtype") {
        Some(Value::String(s)) => Dtype::parse(s).ok_or_else(|| err(format!("unknown dtype {s:?}")))?,
        _ => return Err(err("dtype is missing or not a string".into())),
    };
    let shape: Vec<u64> = match o.get("shape") {
        Some(Value::Array(a)) if a.len() <= MAX_RANK => a
            .iter()
            .map(|d| d.as_u64().ok_or_else(|| err(format!("shape element {d} is not a non-negative integer"))))
            .collect::<Result<_>>()?,
        Some(Value::Array(a)) => return Err(err(format!("rank is {}, more than {MAX_RANK}", a.len()))),
        _ => return Err(err("shape is missing or not an array".into())),
    };
    let offsets: Vec<u64> = match o.get("data_offsets") {
        Some(Value::Array(a)) if a.len() == 2 => a
            .iter()
            .map(|d| d.as_u64().ok_or_else(|| err(format!("data offset {d} is not a non-negative integer"))))
            .collect::<Result<_>>()?,
        _ => return Err(err("data_offsets is missing or not a pair".into())),
    };
    let (begin, end) = (offsets[0], offsets[1]);
    if begin > end || end > data_len as u64 {
        return Err(err(format!("data_offsets [{begin}, {end}] are not inside the {data_len} bytes of data")));
    }
    let bytes = shape
        .iter()
        .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(format!("size of shape {shape:?} overflows")))?;
    if bytes != end - begin {
        return Err(err(format!("{dtype} × {shape:?} is {bytes} bytes, but data_offsets span {}", end - begin)));
    }
    Ok(TensorEntry {
        name: name.to_string(),
        dtype,
        shape,
        range: data_start + begin as usize..data_start + end as usize,
    })
}

/// Builds a safetensors file; tensors are laid out in the order they are added.
#[derive(Default)]
pub struct Writer {
    tensors: Vec<(String, Dtype, Vec<u64>, Vec<u8>)>,
    names: HashSet<String>,
    metadata: BTreeMap<String, String>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn metadata(&mut self, key: &str, value: String) -> &mut Self {
        self.metadata.insert(key.to_string(), value);
        self
    }

    /// Adds a tensor; errors if the name is taken or the bytes do not match dtype × shape.
    pub fn tensor(&mut self, name: &str, dtype: Dtype, shape: Vec<u64>, data: Vec<u8>) -> Result<&mut Self> {
        let want = shape.iter().try_fold(dtype.size() as u64, |a, &d| a.checked_mul(d));
        if want != Some(data.len() as u64) {
            return Err(tensor_err(name, format!("{} bytes for {dtype} × {shape:?}", data.len())));
        }
        if name == "__metadata__" || name.is_empty() || !self.names.insert(name.to_string()) {
            return Err(tensor_err(name, "name is empty, reserved or already used"));
        }
        self.tensors.push((name.to_string(), dtype, shape, data));
        Ok(self)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = Map::new();
        if !self.metadata.is_empty() {
            let m: Map<String, Value> =
                self.metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            header.insert("__metadata__".into(), Value::Object(m));
        }
        let mut at = 0u64;
        for (name, dtype, shape, data) in &self.tensors {
            let end = at + data.len() as u64;
            header.insert(
                name.clone(),
                serde_json::json!({ "dtype": dtype.name(), "shape": shape, "data_offsets": [at, end] }),
            );
            at = end;
        }
        let mut text = serde_json::to_string(&Value::Object(header)).expect("JSON of strings and numbers");
        while text.len() % 8 != 0 {
            text.push(' ');
        }
        let mut out = Vec::with_capacity(8 + text.len() + at as usize);
        out.extend_from_slice(&(text.len() as u64).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        for (_, _, _, data) in &self.tensors {
            out.extend_from_slice(data);
        }
        out
    }

    /// Writes the file atomically (see [`write_file`]).
    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        write_file(path, &self.to_bytes())
    }
}

/// Writes `bytes` to `path` atomically: a temporary file next to it, renamed over it.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let io = |source| ZipperError::Io { path: path.display().to_string(), source };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp-zipper");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn round_trip() {
        let mut w = Writer::new();
        w.metadata("k", "v".into());
        w.tensor("a", Dtype::F32, vec![2], vec![0; 8]).unwrap();
        w.tensor("b", Dtype::U8, vec![0], vec![]).unwrap();
        w.tensor("c", Dtype::I8, vec![3, 1], vec![1, 2, 3]).unwrap();
        assert!(w.tensor("a", Dtype::U8, vec![0], vec![]).is_err());
        assert!(w.tensor("d", Dtype::U16, vec![3], vec![0; 5]).is_err());
        let bytes = w.to_bytes();
        assert_eq!((bytes.len() - 8 - 11) % 8, 0, "header padded to 8");
        let st = SafeTensors::parse(bytes).unwrap();
        assert_eq!(st.metadata()["k"], "v");
        let (e, d) = st.tensor("c").unwrap();
        assert_eq!((e.dtype, e.shape.clone(), d), (Dtype::I8, vec![3, 1], &[1u8, 2, 3][..]));
        assert!(st.tensor("zz").is_err());
    }

    #[test]
    fn rejects_malformed_headers() {
        let t = |h: &str, d: &[u8]| SafeTensors::parse(file(h, d)).unwrap_err().to_string();
        assert!(t(r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, &[0; 2]).contains("duplicate"));
        assert!(
            t(r#"{"a":{"dtype":"U8","dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, &[0; 2]).contains("duplicate")
        );
        assert!(t(r#"{"a":{"dtype":"X9","shape":[2],"data_offsets":[0,2]}}"#, &[0; 2]).contains("unknown dtype"));
        assert!(t(r#"{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,2]}}"#, &[0; 2]).contains("span"));
        assert!(t(r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,3]}}"#, &[0; 2]).contains("not inside"));
        assert!(t(r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, &[0; 2]).contains("overlaps"));
        assert!(t(r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, &[0; 2]).contains("after the previous"));
        assert!(t(r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, &[0; 2]).contains("after the last"));
        assert!(t(r#"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,2]}}"#, &[0; 2])
            .contains("overflows"));
        assert!(t(r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1}}"#, &[0; 2]).contains("unknown field"));
        assert!(t(r#"{"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}}"#, &[0; 2]).contains("non-negative"));
        assert!(t(r#"{"__metadata__":{"k":1}}"#, &[]).contains("not a string"));
        assert!(t(r#"{"a":1"#, &[]).contains("JSON"));
        assert!(t(r#"[1]"#, &[]).contains("start with"));
        let mut huge = file("{}", &[]);
        huge[..8].copy_from_slice(&(MAX_HEADER_LEN + 1).to_le_bytes());
        assert!(SafeTensors::parse(huge).unwrap_err().to_string().contains("limit"));
        let mut past = file("{}", &[]);
        past[..8].copy_from_slice(&100u64.to_le_bytes());
        assert!(SafeTensors::parse(past).unwrap_err().to_string().contains("after it"));
        assert!(SafeTensors::parse(vec![1, 2, 3]).is_err());
    }
}
