//! GGUF (version 2 and 3) model files: parsing, validation and dequantization.
//!
//! The layout, all little-endian:
//!
//! ```text
//! magic "GGUF" | version u32 | tensor_count u64 | kv_count u64
//! kv_count × (key: string, value_type: u32, value)
//! tensor_count × (name: string, n_dims: u32, dims: n_dims × u64, ggml_type: u32, offset: u64)
//! padding to `general.alignment` (default 32)
//! tensor data; each tensor at data_start + offset, offset a multiple of the alignment
//! ```
//!
//! A string is a u64 byte length followed by UTF-8 bytes. Dimensions are listed innermost first: a
//! matrix with GGUF dims `[cols, rows]` stores `rows` rows of `cols` elements each.
//!
//! [`Gguf::parse`] validates the whole header before any tensor data is read: every count is
//! bounded by the bytes that remain, every size is computed with checked arithmetic, every
//! tensor lies inside the data section, starts on the alignment and overlaps no other tensor,
//! and names and keys are unique. Errors name the key or tensor they are about.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use half::{bf16, f16};
use rayon::prelude::*;

/// `GGUF` read as a little-endian u32.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// Alignment of the data section and of each tensor when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's limit on tensor rank.
pub const MAX_DIMS: u32 = 4;
/// Elements per parallel dequantization task.
const DEQUANT_TASK_ELEMS: usize = 1 << 16;
/// Nesting limit for arrays of arrays in metadata (the format allows nesting; files use one level).
const MAX_ARRAY_DEPTH: u32 = 8;

/// What went wrong reading a GGUF file.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("GGUF I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not a GGUF file: magic is {found:02x?}, should be \"GGUF\"")]
    BadMagic { found: [u8; 4] },
    #[error("GGUF version is {0}, should be 2 or 3")]
    UnsupportedVersion(u32),
    /// The header ends before `what` could be read.
    #[error("GGUF header truncated: {what} needs {needed} bytes at offset {offset}, file has {len}")]
    Truncated { what: String, offset: u64, needed: u64, len: u64 },
    /// A metadata entry is malformed; `key` names it.
    #[error("GGUF metadata {key:?}: {message}")]
    Metadata { key: String, message: String },
    /// A tensor description is malformed or its data does not fit; `tensor` names it.
    #[error("GGUF tensor {tensor:?}: {message}")]
    Tensor { tensor: String, message: String },
    /// Anything else about the file's structure.
    #[error("GGUF: {0}")]
    Format(String),
}

pub type Result<T, E = GgufError> = std::result::Result<T, E>;

fn meta_err(key: &str, message: impl Into<String>) -> GgufError {
    GgufError::Metadata { key: key.to_string(), message: message.into() }
}

fn tensor_err(tensor: &str, message: impl Into<String>) -> GgufError {
    GgufError::Tensor { tensor: tensor.to_string(), message: message.into() }
}

/// Type tag of a metadata value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::U8,
            1 => Self::I8,
            2 => Self::U16,
            3 => Self::I16,
            4 => Self::U32,
            5 => Self::I32,
            6 => Self::F32,
            7 => Self::Bool,
            8 => Self::String,
            9 => Self::Array,
            10 => Self::U64,
            11 => Self::I64,
            12 => Self::F64,
            _ => return None,
        })
    }

    pub fn to_u32(self) -> u32 {
        match self {
            Self::U8 => 0,
            Self::I8 => 1,
            Self::U16 => 2,
            Self::I16 => 3,
            Self::U32 => 4,
            Self::I32 => 5,
            Self::F32 => 6,
            Self::Bool => 7,
            Self::String => 8,
            Self::Array => 9,
            Self::U64 => 10,
            Self::I64 => 11,
            Self::F64 => 12,
        }
    }

    /// The fewest bytes one value of this type takes (used to bound counts before allocating).
    fn min_size(self) -> u64 {
        match self {
            Self::U8 | Self::I8 | Self::Bool => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 | Self::String => 8,
            Self::Array => 12,
        }
    }
}

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    /// Element type and elements (all of that type).
    Array(ValueType, Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Self::U8(_) => ValueType::U8,
            Self::I8(_) => ValueType::I8,
            Self::U16(_) => ValueType::U16,
            Self::I16(_) => ValueType::I16,
            Self::U32(_) => ValueType::U32,
            Self::I32(_) => ValueType::I32,
            Self::F32(_) => ValueType::F32,
            Self::Bool(_) => ValueType::Bool,
            Self::String(_) => ValueType::String,
            Self::Array(..) => ValueType::Array,
            Self::U64(_) => ValueType::U64,
            Self::I64(_) => ValueType::I64,
            Self::F64(_) => ValueType::F64,
        }
    }

    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::I8(v) => Some(v.into()),
            Self::I16(v) => Some(v.into()),
            Self::I32(v) => Some(v.into()),
            Self::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// The value as a float, if it is a float or an integer.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v.into()),
            Self::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Self::Array(_, items) => Some(items),
            _ => None,
        }
    }
}

/// A ggml tensor element type. Every type ggml defines a block size for is listed so that any
/// file can be validated; [`GgmlType::can_dequantize`] says which ones this module decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    I8,
    I16,
    I32,
    I64,
    F64,
    BF16,
}

impl GgmlType {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            9 => Self::Q8_1,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            15 => Self::Q8K,
            24 => Self::I8,
            25 => Self::I16,
            26 => Self::I32,
            27 => Self::I64,
            28 => Self::F64,
            30 => Self::BF16,
            _ => return None,
        })
    }

    pub fn to_u32(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q8_1 => 9,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Q8K => 15,
            Self::I8 => 24,
            Self::I16 => 25,
            Self::I32 => 26,
            Self::I64 => 27,
            Self::F64 => 28,
            Self::BF16 => 30,
        }
    }

    /// Elements per block (1 for plain types).
    pub fn block_elems(self) -> u64 {
        match self {
            Self::F32 | Self::F16 | Self::BF16 | Self::I8 | Self::I16 | Self::I32 => 1,
            Self::I64 | Self::F64 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 | Self::Q8_1 => 32,
            Self::Q2K | Self::Q3K | Self::Q4K | Self::Q5K | Self::Q6K | Self::Q8K => 256,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> u64 {
        match self {
            Self::I8 => 1,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::F32 | Self::I32 => 4,
            Self::I64 | Self::F64 => 8,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q8_1 => 36,
            Self::Q2K => 84,
            Self::Q3K => 110,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
            Self::Q8K => 292,
        }
    }

    /// Whether [`TensorView::to_f32`] and friends decode this type.
    pub fn can_dequantize(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::BF16 | Self::Q8_0 | Self::Q4_0 | Self::Q4_1)
    }

    /// Bytes that `n_elems` elements take, or `None` if `n_elems` is not a whole number of
    /// blocks or the size overflows.
    pub fn bytes_for(self, n_elems: u64) -> Option<u64> {
        if n_elems % self.block_elems() != 0 {
            return None;
        }
        (n_elems / self.block_elems()).checked_mul(self.block_bytes())
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q8_1 => "Q8_1",
            Self::Q2K => "Q2_K",
            Self::Q3K => "Q3_K",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::Q8K => "Q8_K",
            Self::I8 => "I8",
            Self::I16 => "I16",
            Self::I32 => "I32",
            Self::I64 => "I64",
            Self::F64 => "F64",
            Self::BF16 => "BF16",
        };
        f.write_str(name)
    }
}

/// Where a tensor is and what it holds, as validated by [`Gguf::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions innermost first, as in the file.
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Offset relative to the start of the data section.
    pub offset: u64,
    /// Product of `dims`.
    pub n_elems: u64,
    /// Size of the tensor's data in bytes.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// Rows and columns when the tensor is viewed as a matrix: columns = `dims[0]`, rows = the
    /// product of the other dimensions (1 for a vector).
    pub fn rows_cols(&self) -> (usize, usize) {
        let cols = self.dims.first().copied().unwrap_or(1);
        let rows: u64 = self.dims.iter().skip(1).product();
        (rows as usize, cols as usize)
    }
}

/// A parsed and validated GGUF file over its bytes (`Vec<u8>`, or a memory map supplied by the
/// caller through any `AsRef<[u8]>`).
pub struct Gguf<D = Vec<u8>> {
    data: D,
    version: u32,
    alignment: u64,
    data_start: u64,
    metadata: Vec<(String, Value)>,
    meta_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
}

impl<D> fmt::Debug for Gguf<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gguf")
            .field("version", &self.version)
            .field("alignment", &self.alignment)
            .field("data_start", &self.data_start)
            .field("metadata_entries", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl Gguf<Vec<u8>> {
    /// Reads the whole file into memory and parses it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GgufError::Io { path: path.display().to_string(), source })?;
        Self::parse(bytes)
    }
}

impl<D: AsRef<[u8]>> Gguf<D> {
    /// Parses and validates the header of a GGUF file held in `data`.
    pub fn parse(data: D) -> Result<Self> {
        let bytes = data.as_ref();
        let mut r = Reader { buf: bytes, pos: 0 };
        let magic: [u8; 4] = r.take("magic", 4)?.try_into().expect("4 bytes");
        if magic != GGUF_MAGIC {
            return Err(GgufError::BadMagic { found: magic });
        }
        let version = r.u32("version")?;
        if version != 2 && version != 3 {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let tensor_count = r.u64("tensor count")?;
        let kv_count = r.u64("metadata count")?;
        // A key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at
        // least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes.
        if kv_count > r.remaining() / 13 {
            return Err(GgufError::Format(format!(
                "metadata count {kv_count} cannot fit in the {} bytes that follow",
                r.remaining()
            )));
        }
        let mut metadata = Vec::with_capacity(kv_count.min(1 << 12) as usize);
        let mut meta_index = HashMap::with_capacity(kv_count.min(1 << 12) as usize);
        for i in 0..kv_count {
            let key = r.string(&format!("metadata key #{i}"))?;
            let ty = r.u32(&format!("type of metadata {key:?}"))?;
            let ty = ValueType::from_u32(ty)
                .ok_or_else(|| meta_err(&key, format!("value type is {ty}, should be 0..=12")))?;
            let value = r.value(&key, ty, 0)?;
            if meta_index.insert(key.clone(), metadata.len()).is_some() {
                return Err(meta_err(&key, "key appears more than once"));
            }
            metadata.push((key, value));
        }

        let alignment = match meta_index.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(&i) => match metadata[i].1 {
                Value::U32(a) if a > 0 && a.is_power_of_two() => a.into(),
                ref v => return Err(meta_err("general.alignment", format!("is {v:?}, should be a u32 power of two"))),
            },
        };

        if tensor_count > r.remaining() / 24 {
            return Err(GgufError::Format(format!(
                "tensor count {tensor_count} cannot fit in the {} bytes that follow",
                r.remaining()
            )));
        }
        let mut tensors = Vec::with_capacity(tensor_count.min(1 << 14) as usize);
        let mut tensor_index = HashMap::with_capacity(tensor_count.min(1 << 14) as usize);
        for i in 0..tensor_count {
            let name = r.string(&format!("name of tensor #{i}"))?;
            let n_dims = r.u32(&format!("rank of tensor {name:?}"))?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(tensor_err(&name, format!("rank is {n_dims}, should be 1..={MAX_DIMS}")));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for d in 0..n_dims {
                dims.push(r.u64(&format!("dimension {d} of tensor {name:?}"))?);
            }
            let ty = r.u32(&format!("type of tensor {name:?}"))?;
            let ggml_type =
                GgmlType::from_u32(ty).ok_or_else(|| tensor_err(&name, format!("ggml type {ty} is unknown")))?;
            let offset = r.u64(&format!("offset of tensor {name:?}"))?;
            let n_elems = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| tensor_err(&name, format!("element count of {dims:?} overflows")))?;
            if dims[0] % ggml_type.block_elems() != 0 {
                return Err(tensor_err(
                    &name,
                    format!(
                        "innermost dimension is {}, should be a multiple of {} for {ggml_type}",
                        dims[0],
                        ggml_type.block_elems()
                    ),
                ));
            }
            let n_bytes = ggml_type
                .bytes_for(n_elems)
                .ok_or_else(|| tensor_err(&name, format!("byte size of {dims:?} overflows")))?;
            if offset % alignment != 0 {
                return Err(tensor_err(
                    &name,
                    format!("offset {offset} is not a multiple of the alignment {alignment}"),
                ));
            }
            if tensor_index.insert(name.clone(), tensors.len()).is_some() {
                return Err(tensor_err(&name, "name appears more than once"));
            }
            tensors.push(TensorInfo { name, dims, ggml_type, offset, n_elems, n_bytes });
        }

        let header_end = r.pos as u64;
        let data_start = header_end
            .checked_next_multiple_of(alignment)
            .ok_or_else(|| GgufError::Format("data section start overflows".into()))?;
        let file_len = bytes.len() as u64;
        if data_start > file_len && !tensors.is_empty() {
            return Err(GgufError::Format(format!(
                "data section would start at {data_start}, past the end of the file ({file_len} bytes)"
            )));
        }
        let data_len = file_len.saturating_sub(data_start);
        for t in &tensors {
            let end = t.offset.checked_add(t.n_bytes).ok_or_else(|| tensor_err(&t.name, "offset + size overflows"))?;
            if end > data_len {
                return Err(tensor_err(
                    &t.name,
                    format!("data [{}, {end}) lies outside the data section of {data_len} bytes", t.offset),
                ));
            }
        }
        let mut order: Vec<usize> = (0..tensors.len()).collect();
        order.sort_by_key(|&i| (tensors[i].offset, tensors[i].n_bytes));
        for pair in order.windows(2) {
            let (a, b) = (&tensors[pair[0]], &tensors[pair[1]]);
            if a.n_bytes > 0 && b.n_bytes > 0 && a.offset + a.n_bytes > b.offset {
                return Err(tensor_err(&b.name, format!("data at offset {} overlaps tensor {:?}", b.offset, a.name)));
            }
        }

        Ok(Self { data, version, alignment, data_start, metadata, meta_index, tensors, tensor_index })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute file offset of the data section.
    pub fn data_start(&self) -> u64 {
        self.data_start
    }

    /// All metadata entries in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.meta_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// The entry `key`, or an error naming it when absent.
    pub fn require(&self, key: &str) -> Result<&Value> {
        self.get(key).ok_or_else(|| meta_err(key, "missing"))
    }

    /// A non-negative integer entry of any integer type.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        let v = self.require(key)?;
        v.as_u64().ok_or_else(|| meta_err(key, format!("is {:?}, should be a non-negative integer", v.value_type())))
    }

    /// A numeric entry as f64.
    pub fn get_f64(&self, key: &str) -> Result<f64> {
        let v = self.require(key)?;
        v.as_f64().ok_or_else(|| meta_err(key, format!("is {:?}, should be a number", v.value_type())))
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        let v = self.require(key)?;
        v.as_str().ok_or_else(|| meta_err(key, format!("is {:?}, should be a string", v.value_type())))
    }

    /// An array entry of strings.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>> {
        let v = self.require(key)?;
        let items =
            v.as_array().ok_or_else(|| meta_err(key, format!("is {:?}, should be an array", v.value_type())))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| item.as_str().ok_or_else(|| meta_err(key, format!("element {i} is not a string"))))
            .collect()
    }

    /// An array entry of integers, as i64.
    pub fn get_i64_array(&self, key: &str) -> Result<Vec<i64>> {
        let v = self.require(key)?;
        let items =
            v.as_array().ok_or_else(|| meta_err(key, format!("is {:?}, should be an array", v.value_type())))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| item.as_i64().ok_or_else(|| meta_err(key, format!("element {i} is not an integer"))))
            .collect()
    }

    /// All tensor descriptions in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// The tensor `name` with its data, or an error naming it when absent.
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>> {
        let info = self.tensor_info(name).ok_or_else(|| tensor_err(name, "missing"))?;
        Ok(self.view(info))
    }

    fn view<'a>(&'a self, info: &'a TensorInfo) -> TensorView<'a> {
        // In range: checked in `parse`.
        let start = (self.data_start + info.offset) as usize;
        let bytes = &self.data.as_ref()[start..start + info.n_bytes as usize];
        TensorView { info, bytes }
    }
}

/// A tensor's description and its raw bytes.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    pub info: &'a TensorInfo,
    pub bytes: &'a [u8],
}

impl TensorView<'_> {
    fn check_type(&self) -> Result<()> {
        if self.info.ggml_type.can_dequantize() {
            Ok(())
        } else {
            Err(tensor_err(&self.info.name, format!("cannot dequantize type {}", self.info.ggml_type)))
        }
    }

    /// All elements as f32.
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        self.check_type()?;
        let ty = self.info.ggml_type;
        let mut out = vec![0f32; self.info.n_elems as usize];
        // Whole blocks per task, decoded in parallel.
        let elems = (DEQUANT_TASK_ELEMS / ty.block_elems() as usize).max(1) * ty.block_elems() as usize;
        let bytes = elems / ty.block_elems() as usize * ty.block_bytes() as usize;
        out.par_chunks_mut(elems).zip(self.bytes.par_chunks(bytes)).for_each(|(o, b)| dequantize_into(ty, b, o));
        Ok(out)
    }

    /// All elements rounded to f16 (the dequantized value computed in f32, then rounded once).
    pub fn to_f16(&self) -> Result<Vec<f16>> {
        Ok(self.to_f32()?.into_iter().map(f16::from_f32).collect())
    }

    /// All elements rounded to f16 and widened back to f32: the values a model dequantized to f16
    /// computes with.
    pub fn to_f32_via_f16(&self) -> Result<Vec<f32>> {
        let mut v = self.to_f32()?;
        v.par_chunks_mut(DEQUANT_TASK_ELEMS).for_each(|c| {
            for x in c {
                *x = f16::from_f32(*x).to_f32();
            }
        });
        Ok(v)
    }
}

/// Decodes `bytes` of type `ty` into `out` (`out.len()` elements; `bytes` must hold exactly
/// that many). Panics on an undecodable type or a size mismatch; [`TensorView`] checks both.
pub fn dequantize_into(ty: GgmlType, bytes: &[u8], out: &mut [f32]) {
    assert_eq!(ty.bytes_for(out.len() as u64), Some(bytes.len() as u64), "size mismatch for {ty}");
    let rd16 = |b: &[u8]| f16::from_le_bytes([b[0], b[1]]).to_f32();
    match ty {
        GgmlType::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        GgmlType::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = rd16(b);
            }
        }
        GgmlType::BF16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = bf16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        GgmlType::Q8_0 => {
            for (o, b) in out.chunks_exact_mut(32).zip(bytes.chunks_exact(34)) {
                let d = rd16(&b[0..2]);
                for (x, &q) in o.iter_mut().zip(&b[2..34]) {
                    *x = f32::from(q as i8) * d;
                }
            }
        }
        GgmlType::Q4_0 => {
            for (o, b) in out.chunks_exact_mut(32).zip(bytes.chunks_exact(18)) {
                let d = rd16(&b[0..2]);
                let (lo, hi) = o.split_at_mut(16);
                for (j, &q) in b[2..18].iter().enumerate() {
                    lo[j] = (f32::from(q & 0x0f) - 8.0) * d;
                    hi[j] = (f32::from(q >> 4) - 8.0) * d;
                }
            }
        }
        GgmlType::Q4_1 => {
            for (o, b) in out.chunks_exact_mut(32).zip(bytes.chunks_exact(20)) {
                let d = rd16(&b[0..2]);
                let m = rd16(&b[2..4]);
                let (lo, hi) = o.split_at_mut(16);
                for (j, &q) in b[4..20].iter().enumerate() {
                    lo[j] = f32::from(q & 0x0f) * d + m;
                    hi[j] = f32::from(q >> 4) * d + m;
                }
            }
        }
        other => panic!("dequantize_into: type {other} is not supported"),
    }
}

/// Cursor over the header bytes; every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }

    fn take(&mut self, what: &str, n: u64) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(GgufError::Truncated {
                what: what.to_string(),
                offset: self.pos as u64,
                needed: n,
                len: self.buf.len() as u64,
            });
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.take(what, N as u64)?.try_into().expect("exact length"))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        let bytes = self.take(what, len)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| GgufError::Format(format!("{what} is not valid UTF-8: {e}")))
    }

    fn value(&mut self, key: &str, ty: ValueType, depth: u32) -> Result<Value> {
        let what = format!("value of metadata {key:?}");
        Ok(match ty {
            ValueType::U8 => Value::U8(self.array::<1>(&what)?[0]),
            ValueType::I8 => Value::I8(self.array::<1>(&what)?[0] as i8),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(&what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(&what)?)),
            ValueType::U32 => Value::U32(u32::from_le_bytes(self.array(&what)?)),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(&what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(&what)?)),
            ValueType::U64 => Value::U64(u64::from_le_bytes(self.array(&what)?)),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(&what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(&what)?)),
            ValueType::Bool => match self.array::<1>(&what)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(meta_err(key, format!("bool byte is {b}, should be 0 or 1"))),
            },
            ValueType::String => {
                let len = self.u64(&what)?;
                let bytes = self.take(&what, len)?;
                Value::String(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|e| meta_err(key, format!("string is not valid UTF-8: {e}")))?,
                )
            }
            ValueType::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(meta_err(key, format!("arrays nested deeper than {MAX_ARRAY_DEPTH}")));
                }
                let elem = self.u32(&what)?;
                let elem = ValueType::from_u32(elem)
                    .ok_or_else(|| meta_err(key, format!("array element type is {elem}, should be 0..=12")))?;
                let count = self.u64(&what)?;
                if count > self.remaining() / elem.min_size() {
                    return Err(meta_err(
                        key,
                        format!("array of {count} {elem:?} cannot fit in the {} bytes that follow", self.remaining()),
                    ));
                }
                // Grown as elements parse, so a large count costs memory only if the bytes exist.
                let mut items = Vec::with_capacity(count.min(1 << 16) as usize);
                for _ in 0..count {
                    items.push(self.value(key, elem, depth + 1)?);
                }
                Value::Array(elem, items)
            }
        })
    }
}

/// Builds GGUF files in memory: for tests, fuzzing seeds and tools that write small models.
#[derive(Default)]
pub struct GgufWriter {
    metadata: Vec<(String, Value)>,
    tensors: Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>,
    alignment: Option<u32>,
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `general.alignment` (written as a metadata entry).
    pub fn alignment(&mut self, alignment: u32) -> &mut Self {
        self.alignment = Some(alignment);
        self.metadata.push(("general.alignment".into(), Value::U32(alignment)));
        self
    }

    pub fn metadata(&mut self, key: &str, value: Value) -> &mut Self {
        self.metadata.push((key.to_string(), value));
        self
    }

    /// Adds a tensor with raw data already encoded as `ty` (dims innermost first).
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: GgmlType, data: Vec<u8>) -> &mut Self {
        self.tensors.push((name.to_string(), dims.to_vec(), ty, data));
        self
    }

    /// Serialises the file: header, tensor infos, padding, then each tensor's data aligned.
    pub fn to_bytes(&self) -> Vec<u8> {
        let align = u64::from(self.alignment.unwrap_or(DEFAULT_ALIGNMENT as u32)).max(1);
        let mut out = Vec::new();
        out.extend_from_slice(&GGUF_MAGIC);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            write_string(&mut out, key);
            out.extend_from_slice(&value.value_type().to_u32().to_le_bytes());
            write_value(&mut out, value);
        }
        let mut offset = 0u64;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        for (name, dims, ty, data) in &self.tensors {
            write_string(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&ty.to_u32().to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offsets.push(offset);
            offset = (offset + data.len() as u64).next_multiple_of(align);
        }
        let data_start = (out.len() as u64).next_multiple_of(align);
        out.resize(data_start as usize, 0);
        for ((_, _, _, data), off) in self.tensors.iter().zip(offsets) {
            out.resize((data_start + off) as usize, 0);
            out.extend_from_slice(data);
        }
        out
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::String(s) => write_string(out, s),
        Value::Array(ty, items) => {
            out.extend_from_slice(&ty.to_u32().to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                write_value(out, item);
            }
        }
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
    }
}
