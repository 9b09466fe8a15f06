//! The sparse residual `ΔW`: which entries of `R = W − dequant(base)` are kept, as f16 values.
//!
//! - [`DeltaMode::TopK`]: per row, the `round(density · cols)` entries of largest `|R|` (ties to
//!   the lower column), values rounded to f16 (saturating at ±65504).
//! - [`DeltaMode::Lossless`]: every entry whose base does not already round to the source value,
//!   so that `to_half(dequant(base) + f32(delta))` equals the source f16 (or bf16) bits for
//!   every entry. Each stored value is verified; where rounding the exact residual to f16 does
//!   not reproduce the source, it is moved by one f16 ulp at a time (at most [`MAX_NUDGE`]) and
//!   the entries that needed it are counted. Where no residual near the exact one works (the
//!   value's f16 ulp is as coarse as the residual's and the sum lands on a tie), the base entry
//!   is set to 0 and the residual is the value itself ("rebased"). −0 and +0 count as the same value (a base of +0
//!   plus any residual is never −0, and no product can tell them apart).

use half::{bf16, f16};

/// Most ulp steps tried when a rounded residual does not reproduce the source bits.
pub const MAX_NUDGE: u32 = 4;

/// The half-precision type whose bits a lossless delta restores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HalfKind {
    F16,
    Bf16,
}

impl HalfKind {
    pub fn name(self) -> &'static str {
        match self {
            HalfKind::F16 => "f16",
            HalfKind::Bf16 => "bf16",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f16" => Some(HalfKind::F16),
            "bf16" => Some(HalfKind::Bf16),
            _ => None,
        }
    }

    /// Bits of `x` rounded to this type (round to nearest even).
    #[inline]
    pub fn bits(self, x: f32) -> u16 {
        match self {
            HalfKind::F16 => f16::from_f32(x).to_bits(),
            HalfKind::Bf16 => bf16::from_f32(x).to_bits(),
        }
    }

    #[inline]
    pub fn to_f32(self, bits: u16) -> f32 {
        match self {
            HalfKind::F16 => f16::from_bits(bits).to_f32(),
            HalfKind::Bf16 => bf16::from_bits(bits).to_f32(),
        }
    }

    /// Whether two bit patterns are the same value, counting −0 and +0 as equal: no product
    /// can tell them apart, and a base of +0 plus any residual never gives −0.
    #[inline]
    pub fn same(a: u16, b: u16) -> bool {
        a == b || (a | b) & 0x7fff == 0
    }

    /// `x` rounded to this type and widened back.
    #[inline]
    pub fn round(self, x: f32) -> f32 {
        self.to_f32(self.bits(x))
    }
}

/// How residual entries are selected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DeltaMode {
    /// Keep this fraction (0..=1) of each row's entries, the largest first. 0 = base only.
    TopK { density: f64 },
    /// Keep every entry needed to restore the source half-precision bits exactly.
    Lossless,
}

/// A row-compressed sparse matrix of f16 values (CSR): row `r` holds
/// `cols[row_ptr[r]..row_ptr[r + 1]]` (strictly increasing) with `vals` alongside.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseDelta {
    pub row_ptr: Vec<usize>,
    pub cols: Vec<u32>,
    pub vals: Vec<f16>,
}

impl SparseDelta {
    pub fn rows(&self) -> usize {
        self.row_ptr.len().saturating_sub(1)
    }

    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Entries of row `r`.
    pub fn row(&self, r: usize) -> (&[u32], &[f16]) {
        let (a, b) = (self.row_ptr[r], self.row_ptr[r + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }

    /// Adds the delta to a dense row-major matrix (`rows × cols`).
    pub fn add_to(&self, w: &mut [f32], cols: usize) {
        for r in 0..self.rows() {
            let (cs, vs) = self.row(r);
            for (&c, &v) in cs.iter().zip(vs) {
                w[r * cols + c as usize] += v.to_f32();
            }
        }
    }
}

/// What the selection did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Lossless only: entries whose f16 residual had to be moved by an ulp or more.
    pub nudged: usize,
    /// Lossless only: entries (row, column) no f16 residual restores against their base; their
    /// base was set to 0 in `base` (the caller must zero the quantized value too) and the
    /// residual is the value itself.
    pub rebased: Vec<(usize, usize)>,
}

/// The source value could not be restored from any f16 residual near the exact one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unrestorable {
    pub row: usize,
    pub col: usize,
    pub source: f32,
    pub base: f32,
}

/// One f16 ulp towards +∞ (`up`) or −∞, by bit pattern; infinities and NaN stay put.
fn f16_step(v: f16, up: bool) -> f16 {
    let b = v.to_bits();
    if !v.is_finite() {
        return v;
    }
    let neg = b & 0x8000 != 0;
    let mag = b & 0x7fff;
    let nb = match (neg, up) {
        (false, true) => b + 1,
        (true, false) => b + 1,
        (false, false) if mag == 0 => 0x8001,
        (true, true) if mag == 0 => 0x0001,
        _ => b - 1,
    };
    f16::from_bits(nb)
}

/// The f16 residual that makes `base + delta` round to `target` (bits of `half`), and whether
/// it needed nudging; `None` if no residual within [`MAX_NUDGE`] ulps works.
pub fn lossless_residual(half: HalfKind, target: u16, base: f32) -> Option<(f16, bool)> {
    let t = half.to_f32(target);
    let first = f16::from_f32(t - base);
    let ok = |d: f16| d.is_finite() && HalfKind::same(half.bits(base + d.to_f32()), target);
    if ok(first) {
        return Some((first, false));
    }
    // Move towards the side that closes the gap first, then try the other side.
    let up_first = base + first.to_f32() < t;
    for &dir in &[up_first, !up_first] {
        let mut d = first;
        for _ in 0..MAX_NUDGE {
            d = f16_step(d, dir);
            if ok(d) {
                return Some((d, true));
            }
        }
    }
    None
}

/// Selects the delta of a row-major `rows × cols` matrix `w` (the source values, widened to
/// f32) against its dequantized base `base` (lossless selection may set entries of `base` to
/// 0: see [`DeltaStats::rebased`]).
///
/// `max_per_row` caps the entries of any row (top-k keeps the largest under the cap); lossless
/// selection fails with the first entry it cannot restore, or a row over the cap (reported as
/// `Unrestorable` with `col = usize::MAX`).
pub fn select(
    w: &[f32],
    base: &mut [f32],
    rows: usize,
    cols: usize,
    mode: DeltaMode,
    half: HalfKind,
    max_per_row: usize,
) -> Result<(SparseDelta, DeltaStats), Unrestorable> {
    assert_eq!(w.len(), rows * cols);
    assert_eq!(base.len(), rows * cols);
    let mut d = SparseDelta { row_ptr: Vec::with_capacity(rows + 1), ..Default::default() };
    d.row_ptr.push(0);
    let mut stats = DeltaStats::default();
    let mut order: Vec<u32> = Vec::new();
    for r in 0..rows {
        let (wr, br) = (&w[r * cols..(r + 1) * cols], &mut base[r * cols..(r + 1) * cols]);
        match mode {
            DeltaMode::TopK { density } => {
                let k = ((density * cols as f64).round() as usize).min(cols).min(max_per_row);
                order.clear();
                order.extend((0..cols as u32).filter(|&c| wr[c as usize] - br[c as usize] != 0.0));
                let mag = |c: u32| (wr[c as usize] - br[c as usize]).abs();
                let by_size = |a: &u32, b: &u32| mag(*b).total_cmp(&mag(*a)).then(a.cmp(b));
                if order.len() > k {
                    if k > 0 {
                        order.select_nth_unstable_by(k - 1, by_size);
                    }
                    order.truncate(k);
                }
                order.sort_unstable();
                for &c in &order {
                    let v = (wr[c as usize] - br[c as usize]).clamp(-65504.0, 65504.0);
                    let v = f16::from_f32(v);
                    if v.to_bits() & 0x7fff != 0 {
                        d.cols.push(c);
                        d.vals.push(v);
                    }
                }
            }
            DeltaMode::Lossless => {
                let start = d.cols.len();
                for c in 0..cols {
                    let target = half.bits(wr[c]);
                    if HalfKind::same(half.bits(br[c]), target) {
                        continue;
                    }
                    let (v, nudged) = match lossless_residual(half, target, br[c]) {
                        Some(found) => found,
                        None => {
                            // Rebase: with a base of 0 the residual is the value itself.
                            let found = lossless_residual(half, target, 0.0).ok_or(Unrestorable {
                                row: r,
                                col: c,
                                source: wr[c],
                                base: br[c],
                            })?;
                            br[c] = 0.0;
                            stats.rebased.push((r, c));
                            found
                        }
                    };
                    stats.nudged += usize::from(nudged);
                    d.cols.push(c as u32);
                    d.vals.push(v);
                }
                if d.cols.len() - start > max_per_row {
                    return Err(Unrestorable { row: r, col: usize::MAX, source: 0.0, base: 0.0 });
                }
            }
        }
        d.row_ptr.push(d.cols.len());
    }
    Ok((d, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topk_keeps_the_largest_residuals_in_column_order() {
        let w = [0.0, 5.0, -7.0, 1.0, 0.0, 3.0];
        let base = [0.0; 6];
        let (d, _) =
            select(&w, &mut base.clone(), 1, 6, DeltaMode::TopK { density: 0.5 }, HalfKind::F16, usize::MAX).unwrap();
        assert_eq!(d.cols, vec![1, 2, 5]);
        assert_eq!(d.vals.iter().map(|v| v.to_f32()).collect::<Vec<_>>(), vec![5.0, -7.0, 3.0]);
        let (d, _) = select(&w, &mut base.clone(), 1, 6, DeltaMode::TopK { density: 0.5 }, HalfKind::F16, 2).unwrap();
        assert_eq!(d.cols, vec![1, 2], "cap per row");
        let (d, _) = select(&w, &mut base.clone(), 1, 6, DeltaMode::TopK { density: 0.0 }, HalfKind::F16, 9).unwrap();
        assert_eq!(d.nnz(), 0);
    }

    #[test]
    fn lossless_restores_every_bit_pattern_against_a_coarse_base() {
        // Every finite f16 in a weight-like range, against bases off by up to a few % of it.
        for half in [HalfKind::F16, HalfKind::Bf16] {
            for bits in (0u16..0x7c00).step_by(7).chain((0x8000u16..0xfc00).step_by(11)) {
                let t = match half {
                    HalfKind::F16 => f16::from_bits(bits).to_f32(),
                    HalfKind::Bf16 => bf16::from_bits(bits).to_f32(),
                };
                if !(t.abs() < 100.0 && (t == 0.0 || t.abs() > 1e-4)) {
                    continue;
                }
                let target = half.bits(t);
                // Bases as a quantizer produces them: |t − base| ≤ |t| (a base of 0 when the
                // value is under half a step, otherwise within half a step of it).
                let q = |s: f32| (t / s).round() * s;
                let bases = [t * 0.97, t * 1.013, t * 0.6, 0.0, t * 1.4, q(0.37 * t.abs()), q(7.3e-3), q(0.011)];
                for base in bases.into_iter().filter(|b| (t - b).abs() <= t.abs()) {
                    let Some((d, _)) = lossless_residual(half, target, base) else {
                        panic!("{half:?} t {t:e} base {base:e}")
                    };
                    assert!(HalfKind::same(half.bits(base + d.to_f32()), target), "{half:?} {t} base {base}");
                }
            }
        }
        // A residual as coarse as the value, on a tie: 1 + 2⁻¹⁰ against a base of 2⁻¹¹ has no
        // f16 residual; the selection rebases it.
        let t = 1.0 + 2f32.powi(-10);
        assert_eq!(lossless_residual(HalfKind::F16, HalfKind::F16.bits(t), 2f32.powi(-11)), None);
        let mut base = vec![2f32.powi(-11), 0.5];
        let w = [t, 0.5];
        let (d, stats) = select(&w, &mut base, 1, 2, DeltaMode::Lossless, HalfKind::F16, 9).unwrap();
        assert_eq!(stats.rebased, vec![(0, 0)]);
        assert_eq!((base[0], d.cols.clone(), d.vals[0].to_f32()), (0.0, vec![0], t));
    }

    #[test]
    fn step_moves_one_ulp_across_zero() {
        assert_eq!(f16_step(f16::from_bits(0), true).to_bits(), 1);
        assert_eq!(f16_step(f16::from_bits(0), false).to_bits(), 0x8001);
        assert_eq!(f16_step(f16::from_f32(1.0), true), f16::from_bits(0x3c01));
        assert_eq!(f16_step(f16::from_f32(-1.0), true), f16::from_bits(0xbbff));
    }
}
