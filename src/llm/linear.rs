//! Linear layers: the one operation the zipper replaces.
//!
//! The forward pass only calls [`Linear::forward`]; a dense f32 matrix ([`DenseLinear`]) is the
//! CPU reference, and compressed or GPU layers implement the same trait.

use std::sync::Arc;

use rayon::prelude::*;

/// `y = x · Wᵀ` for a weight `W` of `out_features × in_features`.
pub trait Linear: Send + Sync {
    fn in_features(&self) -> usize;
    fn out_features(&self) -> usize;

    /// `x` holds `batch` rows of `in_features` (row-major); returns `batch` rows of
    /// `out_features`.
    fn forward(&self, x: &[f32], batch: usize) -> Vec<f32>;
}

/// A dense row-major f32 weight, `rows` (outputs) × `cols` (inputs). The storage is shared so a
/// tied output head can use the embedding table without a copy.
#[derive(Clone)]
pub struct DenseLinear {
    weight: Arc<[f32]>,
    rows: usize,
    cols: usize,
}

impl DenseLinear {
    /// Panics if `weight.len() != rows * cols`.
    pub fn new(weight: Arc<[f32]>, rows: usize, cols: usize) -> Self {
        assert_eq!(weight.len(), rows * cols, "dense weight is not {rows} × {cols}");
        Self { weight, rows, cols }
    }

    pub fn weight(&self) -> &[f32] {
        &self.weight
    }
}

impl std::fmt::Debug for DenseLinear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DenseLinear({} × {})", self.rows, self.cols)
    }
}

/// Rows per parallel task: enough work per task to amortise scheduling.
const ROWS_PER_TASK: usize = 64;

impl Linear for DenseLinear {
    fn in_features(&self) -> usize {
        self.cols
    }

    fn out_features(&self) -> usize {
        self.rows
    }

    fn forward(&self, x: &[f32], batch: usize) -> Vec<f32> {
        assert_eq!(x.len(), batch * self.cols, "input is not {batch} × {}", self.cols);
        let (rows, cols) = (self.rows, self.cols);
        // Computed as outᵀ (rows × batch) so each task owns a contiguous slice; transposed below.
        let mut out_t = vec![0f32; rows * batch];
        out_t.par_chunks_mut(ROWS_PER_TASK * batch).zip(self.weight.par_chunks(ROWS_PER_TASK * cols)).for_each(
            |(out, w)| {
                for (o, row) in out.chunks_exact_mut(batch).zip(w.chunks_exact(cols)) {
                    // Four inputs at a time share each load of the weight row.
                    let mut b = 0;
                    while b + 4 <= batch {
                        let xs = [0, 1, 2, 3].map(|i| &x[(b + i) * cols..(b + i + 1) * cols]);
                        o[b..b + 4].copy_from_slice(&dot4(row, xs));
                        b += 4;
                    }
                    for (bi, ob) in o.iter_mut().enumerate().skip(b) {
                        *ob = dot(row, &x[bi * cols..(bi + 1) * cols]);
                    }
                }
            },
        );
        if batch == 1 {
            return out_t;
        }
        let mut out = vec![0f32; rows * batch];
        for r in 0..rows {
            for b in 0..batch {
                out[b * rows + r] = out_t[r * batch + b];
            }
        }
        out
    }
}

/// Dot product with eight independent partial sums (vectorisable, and a fixed summation order).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Four dot products of `w` with `xs[0..4]`, each summed in the same order as [`dot`].
#[inline]
fn dot4(w: &[f32], xs: [&[f32]; 4]) -> [f32; 4] {
    let n = w.len();
    assert!(xs.iter().all(|x| x.len() == n));
    let mut acc = [[0f32; 8]; 4];
    let full = n / 8 * 8;
    for (c, wc) in w[..full].chunks_exact(8).enumerate() {
        for (a, x) in acc.iter_mut().zip(&xs) {
            let xc = &x[c * 8..c * 8 + 8];
            for i in 0..8 {
                a[i] += wc[i] * xc[i];
            }
        }
    }
    let mut out = [0f32; 4];
    for ((o, a), x) in out.iter_mut().zip(&acc).zip(&xs) {
        let mut tail = 0f32;
        for (wi, xi) in w[full..].iter().zip(&x[full..]) {
            tail += wi * xi;
        }
        *o = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])) + tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_matches_naive_for_every_batch() {
        let (rows, cols) = (131, 37);
        let w: Vec<f32> = (0..rows * cols).map(|i| ((i * 7 % 23) as f32 - 11.0) * 0.1).collect();
        let lin = DenseLinear::new(w.clone().into(), rows, cols);
        for batch in [1, 2, 4, 5, 9] {
            let x: Vec<f32> = (0..batch * cols).map(|i| ((i * 5 % 17) as f32 - 8.0) * 0.25).collect();
            let y = lin.forward(&x, batch);
            for b in 0..batch {
                for r in 0..rows {
                    let want: f32 = (0..cols).map(|c| w[r * cols + c] * x[b * cols + c]).sum();
                    let got = y[b * rows + r];
                    assert!((want - got).abs() < 1e-3, "b {b} r {r}: {got} vs {want}");
                }
            }
        }
    }
}
