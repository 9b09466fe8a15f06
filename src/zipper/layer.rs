//! [`ZipperLinear`]: `Y = X·W_baseᵀ + X·ΔWᵀ` on the CPU from a packed weight, tile by tile.
//!
//! For each tile (in parallel) the layer decodes the tile's delta frame, and for each row of the
//! tile dequantizes the base row, adds the row's delta entries, rounds to the source half type
//! when the pack asks for it (lossless packs), and takes the dot product with every input of the
//! batch. Only one row of `W` exists at a time per worker; the dense matrix never does. This is
//! the computation the GPU fused kernel performs per block, and its test oracle.

use rayon::prelude::*;

use super::container::{PackedWeight, ZipperFile};
use super::quant::dequantize_row;
use super::{Result, ZipperError};
use crate::llm::linear::dot;
use crate::llm::Linear;

/// A packed weight as a linear layer.
#[derive(Clone, Debug)]
pub struct ZipperLinear {
    w: PackedWeight,
}

impl ZipperLinear {
    /// Wraps a packed weight after decoding every tile once, so a damaged frame is reported here
    /// (naming the tensor and tile) rather than during inference.
    pub fn new(w: PackedWeight) -> Result<Self> {
        w.verify()?;
        Ok(Self { w })
    }

    /// The weight `name` of a container.
    pub fn from_file(f: &ZipperFile, name: &str) -> Result<Self> {
        Self::new(f.weight(name)?)
    }

    pub fn weight(&self) -> &PackedWeight {
        &self.w
    }

    /// `x` holds `batch` rows of `in_features`; returns `batch` rows of `out_features`. Errors
    /// (naming the tensor and tile) if a tile does not decode, or if `x` has the wrong size.
    pub fn try_forward(&self, x: &[f32], batch: usize) -> Result<Vec<f32>> {
        let w = &self.w;
        let (rows, cols) = (w.rows, w.cols);
        if x.len() != batch * cols {
            return Err(ZipperError::InvalidArgument(format!(
                "{}: input has {} values, should be {batch} × {cols}",
                w.name,
                x.len()
            )));
        }
        let row_bytes = w.kind.row_bytes(cols);
        let spr = w.kind.scales_per_row(cols);
        // Each tile computes outᵀ for its rows (rows × batch).
        let parts: Vec<Vec<f32>> = (0..w.tiles())
            .into_par_iter()
            .map(|t| {
                let tile = w.decode_tile(t)?;
                let range = w.tile_row_range(t);
                let mut out = vec![0f32; range.len() * batch];
                let mut row = vec![0f32; cols];
                for (i, r) in range.enumerate() {
                    dequantize_row(
                        w.kind,
                        &w.base[r * row_bytes..(r + 1) * row_bytes],
                        &w.scales[r * spr..(r + 1) * spr],
                        &mut row,
                    );
                    let (cs, vs) = tile.row(i);
                    for (&c, &v) in cs.iter().zip(vs) {
                        row[c as usize] += v;
                    }
                    if let Some(h) = w.round_to {
                        for v in &mut row {
                            *v = h.round(*v);
                        }
                    }
                    for b in 0..batch {
                        out[i * batch + b] = dot(&row, &x[b * cols..(b + 1) * cols]);
                    }
                }
                Ok(out)
            })
            .collect::<Result<_>>()?;
        let mut y = vec![0f32; batch * rows];
        for (t, part) in parts.iter().enumerate() {
            for (i, r) in w.tile_row_range(t).enumerate() {
                for b in 0..batch {
                    y[b * rows + r] = part[i * batch + b];
                }
            }
        }
        Ok(y)
    }
}

impl Linear for ZipperLinear {
    fn in_features(&self) -> usize {
        self.w.cols
    }

    fn out_features(&self) -> usize {
        self.w.rows
    }

    /// Panics on a wrong input size (as `DenseLinear` does). Every tile was decoded and checked
    /// when the layer was built and the data is immutable, so decoding cannot fail here; use
    /// [`ZipperLinear::try_forward`] to get errors as values.
    fn forward(&self, x: &[f32], batch: usize) -> Vec<f32> {
        self.try_forward(x, batch).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Loads a llama model from its GGUF (configuration, norms, embedding) with every linear layer
/// the container packs taken from the container as a [`ZipperLinear`]; layers the container
/// does not pack are loaded dense from the GGUF.
pub fn load_llama<D: AsRef<[u8]>>(
    g: &crate::gguf::Gguf<D>,
    f: &ZipperFile,
) -> std::result::Result<crate::llm::Llama, crate::llm::LlmError> {
    crate::llm::Llama::from_gguf_with(g, |name, view| {
        if f.meta.weights.contains_key(name) {
            let l = ZipperLinear::from_file(f, name).map_err(|e| crate::llm::LlmError::Model(e.to_string()))?;
            Ok(Box::new(l) as Box<dyn Linear>)
        } else {
            crate::llm::model::dense_linear_from_gguf(view)
        }
    })
}
