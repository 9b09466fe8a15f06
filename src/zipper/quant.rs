//! The quantized base of a weight: INT8 with one symmetric scale per output row, or INT4 with
//! one symmetric scale per group of `group` consecutive inputs of a row.
//!
//! Storage, row-major, rows = output features, cols = input features:
//! - INT8: `rows × cols` signed bytes `q`; `rows` f32 scales; `w ≈ f32(q) · scale[r]`.
//! - INT4: `rows × ceil(cols / 2)` bytes; element `c` of a row is in byte `c / 2`, the low nibble
//!   for even `c` and the high nibble for odd `c`, holding `q + 8` with `q` in −8..=7 (the packer
//!   writes −7..=7; a padding nibble at the end of an odd-length row is 0 and never read);
//!   `rows × ceil(cols / group)` f32 scales; `w ≈ f32(q) · scale[r][c / group]`.
//!
//! Dequantization is one f32 multiply per element, so the GPU and CPU agree bit for bit.

use super::{Result, ZipperError};

/// Group sizes accepted for INT4 scales.
pub const INT4_GROUPS: [usize; 3] = [32, 64, 128];

/// How the base is quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseKind {
    Int8,
    Int4 { group: usize },
}

impl BaseKind {
    /// The name used in metadata and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BaseKind::Int8 => "int8",
            BaseKind::Int4 { .. } => "int4",
        }
    }

    /// `int8`, or `int4` with a group size from [`INT4_GROUPS`].
    pub fn parse(name: &str, group: Option<usize>) -> Result<Self> {
        match name {
            "int8" => Ok(BaseKind::Int8),
            "int4" => {
                let group = group.unwrap_or(64);
                if !INT4_GROUPS.contains(&group) {
                    return Err(ZipperError::InvalidArgument(format!(
                        "INT4 group size is {group}, should be one of {INT4_GROUPS:?}"
                    )));
                }
                Ok(BaseKind::Int4 { group })
            }
            other => Err(ZipperError::InvalidArgument(format!("base kind is {other:?}, should be int8 or int4"))),
        }
    }

    /// Bytes of quantized values in one row of `cols` elements.
    pub fn row_bytes(self, cols: usize) -> usize {
        match self {
            BaseKind::Int8 => cols,
            BaseKind::Int4 { .. } => cols.div_ceil(2),
        }
    }

    /// Scales per row.
    pub fn scales_per_row(self, cols: usize) -> usize {
        match self {
            BaseKind::Int8 => 1,
            BaseKind::Int4 { group } => cols.div_ceil(group),
        }
    }

    fn qmax(self) -> f32 {
        match self {
            BaseKind::Int8 => 127.0,
            BaseKind::Int4 { .. } => 7.0,
        }
    }
}

/// A quantized base: values and scales as stored in the container.
#[derive(Clone, Debug, PartialEq)]
pub struct Base {
    pub kind: BaseKind,
    pub rows: usize,
    pub cols: usize,
    /// `rows × kind.row_bytes(cols)` bytes (INT8 values as two's complement).
    pub data: Vec<u8>,
    /// `rows × kind.scales_per_row(cols)` scales.
    pub scales: Vec<f32>,
}

/// Symmetric scale for a group whose largest magnitude is `amax` (0 for an all-zero group).
fn scale_for(amax: f32, qmax: f32) -> f32 {
    if amax > 0.0 {
        amax / qmax
    } else {
        0.0
    }
}

fn quantize_value(w: f32, scale: f32, qmax: f32) -> i32 {
    if scale == 0.0 {
        0
    } else {
        (w / scale).round().clamp(-qmax, qmax) as i32
    }
}

impl Base {
    /// Quantizes a row-major `rows × cols` matrix of finite values.
    pub fn quantize(w: &[f32], rows: usize, cols: usize, kind: BaseKind) -> Base {
        assert_eq!(w.len(), rows * cols, "matrix is not {rows} × {cols}");
        let qmax = kind.qmax();
        let row_bytes = kind.row_bytes(cols);
        let mut data = vec![0u8; rows * row_bytes];
        let mut scales = Vec::with_capacity(rows * kind.scales_per_row(cols));
        for (r, src) in w.chunks_exact(cols.max(1)).take(rows).enumerate() {
            let dst = &mut data[r * row_bytes..(r + 1) * row_bytes];
            match kind {
                BaseKind::Int8 => {
                    let s = scale_for(src.iter().fold(0f32, |m, x| m.max(x.abs())), qmax);
                    scales.push(s);
                    for (d, &x) in dst.iter_mut().zip(src) {
                        *d = quantize_value(x, s, qmax) as i8 as u8;
                    }
                }
                BaseKind::Int4 { group } => {
                    for (g, chunk) in src.chunks(group).enumerate() {
                        let s = scale_for(chunk.iter().fold(0f32, |m, x| m.max(x.abs())), qmax);
                        scales.push(s);
                        for (i, &x) in chunk.iter().enumerate() {
                            let c = g * group + i;
                            let nib = (quantize_value(x, s, qmax) + 8) as u8;
                            dst[c / 2] |= if c % 2 == 0 { nib } else { nib << 4 };
                        }
                    }
                }
            }
        }
        Base { kind, rows, cols, data, scales }
    }

    /// Dequantizes row `r` into `out` (`cols` elements).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let rb = self.kind.row_bytes(self.cols);
        let spr = self.kind.scales_per_row(self.cols);
        dequantize_row(
            self.kind,
            &self.data[r * rb..(r + 1) * rb],
            &self.scales[r * spr..(r + 1) * spr],
            &mut out[..self.cols],
        );
    }

    /// Sets the quantized value at (`r`, `c`) to 0.
    pub fn set_zero(&mut self, r: usize, c: usize) {
        let rb = self.kind.row_bytes(self.cols);
        match self.kind {
            BaseKind::Int8 => self.data[r * rb + c] = 0,
            BaseKind::Int4 { .. } => {
                let b = &mut self.data[r * rb + c / 2];
                *b = if c % 2 == 0 { (*b & 0xf0) | 8 } else { (*b & 0x0f) | 0x80 };
            }
        }
    }

    /// The whole dequantized matrix (for the packer's error report and for tests).
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        for r in 0..self.rows {
            self.dequantize_row(r, &mut out[r * self.cols..(r + 1) * self.cols]);
        }
        out
    }
}

/// Dequantizes one row from its stored bytes and scales (`out.len()` = cols). The slices must
/// have the sizes [`BaseKind::row_bytes`] and [`BaseKind::scales_per_row`] give.
pub fn dequantize_row(kind: BaseKind, data: &[u8], scales: &[f32], out: &mut [f32]) {
    match kind {
        BaseKind::Int8 => {
            let s = scales[0];
            for (o, &q) in out.iter_mut().zip(data) {
                *o = f32::from(q as i8) * s;
            }
        }
        BaseKind::Int4 { group } => {
            for (g, chunk) in out.chunks_mut(group).enumerate() {
                let s = scales[g];
                for (i, o) in chunk.iter_mut().enumerate() {
                    let c = g * group + i;
                    let byte = data[c / 2];
                    let nib = if c % 2 == 0 { byte & 0x0f } else { byte >> 4 };
                    *o = f32::from(nib as i8 - 8) * s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_round_trips_grid_values_and_bounds_the_error() {
        let (rows, cols) = (3, 5);
        let w = [1.0, -0.5, 0.25, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 2.0, -1.0, 0.1, 0.2];
        let b = Base::quantize(&w, rows, cols, BaseKind::Int8);
        assert_eq!(b.scales[1], 0.0, "an all-zero row has scale 0");
        let d = b.dequantize();
        for r in 0..rows {
            let s = b.scales[r];
            for c in 0..cols {
                assert!((d[r * cols + c] - w[r * cols + c]).abs() <= s * 0.5 + 1e-7);
            }
        }
        assert_eq!(d[0], 1.0);
        assert_eq!(d[4], -1.0);
    }

    #[test]
    fn int4_packs_two_nibbles_and_handles_partial_groups() {
        let (rows, cols) = (2, 37); // odd, and not a multiple of the group
        let w: Vec<f32> = (0..rows * cols).map(|i| ((i * 13 % 29) as f32 - 14.0) * 0.01).collect();
        let b = Base::quantize(&w, rows, cols, BaseKind::Int4 { group: 32 });
        assert_eq!(b.data.len(), rows * 19);
        assert_eq!(b.scales.len(), rows * 2);
        let d = b.dequantize();
        for r in 0..rows {
            for c in 0..cols {
                let s = b.scales[r * 2 + c / 32];
                assert!((d[r * cols + c] - w[r * cols + c]).abs() <= s * 0.5 + 1e-7, "r {r} c {c}");
            }
            assert_eq!(b.data[r * 19 + 18] >> 4, 0, "padding nibble");
        }
        let mut z = b.clone();
        z.set_zero(1, 36);
        z.set_zero(0, 3);
        let dz = z.dequantize();
        for i in 0..rows * cols {
            let want = if i == cols + 36 || i == 3 { 0.0 } else { d[i] };
            assert_eq!(dz[i], want, "element {i}");
        }
    }

    #[test]
    fn base_kind_parsing() {
        assert_eq!(BaseKind::parse("int4", Some(128)).unwrap(), BaseKind::Int4 { group: 128 });
        assert!(BaseKind::parse("int4", Some(48)).is_err());
        assert!(BaseKind::parse("int3", None).is_err());
    }
}
