//! Row tiles and the serialisation of a tile's delta (before compression).
//!
//! A tile is a run of consecutive rows `[row_start, row_end)` with at most `tile_rows` rows and a
//! serialised delta of at most `max_tile_bytes` (default [`DEFAULT_MAX_TILE_BYTES`], so one GPU
//! block can hold it in shared memory). With `m` rows and `n` entries the payload is exactly
//! `2·m + 4·n` bytes, all little-endian u16 quantities:
//!
//! - `count[i]` for each row of the tile (entries in that row),
//! - `gap[j]` for each entry: the first entry of a row holds its column, the next ones
//!   `col − previous col − 1` (so columns are strictly increasing),
//! - `value[j]`: the entry's f16 bits.
//!
//! [`TileLayout::Plain`] stores the three arrays as u16 words one after the other;
//! [`TileLayout::Planes`] stores each array as two byte planes, all low bytes then all high
//! bytes: `count_lo[m] count_hi[m] gap_lo[n] gap_hi[n] value_lo[n] value_hi[n]`.

use half::f16;

use super::delta::SparseDelta;

/// Shared memory a tile's decoded delta may use by default: 48 KiB, what every CUDA GPU gives a
/// block without opting in.
pub const DEFAULT_MAX_TILE_BYTES: usize = 48 * 1024;
/// The largest bound accepted: 227 KiB, an H100 block's shared memory with the opt-in.
pub const MAX_TILE_BYTES_LIMIT: usize = 227 * 1024;
/// Column indices and counts are u16: at most this many input features.
pub const MAX_COLS: usize = 1 << 16;
/// Default rows per tile.
pub const DEFAULT_TILE_ROWS: usize = 16;
/// Default bound on a weight's tiles before they grow taller ([`rows_per_tile`]): the batch-1
/// fused kernel runs a block per tile, three per multiprocessor, so an H100 (132
/// multiprocessors) holds 396 tiles at once; a weight with more runs its blocks in two waves,
/// and the second wave's decode latency adds to the layer's time (docs/ZIPPER.md).
pub const DEFAULT_MAX_TILES: usize = 384;
/// The most rows a tile grows to under a tile bound: the batch-1 fused kernel's limit
/// (`FUSED1_MAX_ROWS`).
pub const MAX_GROWN_TILE_ROWS: usize = 32;

/// Rows per tile for a weight of `rows` rows: `tile_rows`, or when that makes more than
/// `max_tiles` tiles (0: no bound) the fewest rows, a multiple of 8, that make at most
/// `max_tiles`, capped at [`MAX_GROWN_TILE_ROWS`] (and never fewer than `tile_rows`).
pub fn rows_per_tile(rows: usize, tile_rows: usize, max_tiles: usize) -> usize {
    if max_tiles == 0 || rows.div_ceil(tile_rows.max(1)) <= max_tiles {
        return tile_rows;
    }
    rows.div_ceil(max_tiles).next_multiple_of(8).min(MAX_GROWN_TILE_ROWS).max(tile_rows)
}

/// Byte order of a tile's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileLayout {
    Plain,
    Planes,
}

impl TileLayout {
    pub fn name(self) -> &'static str {
        match self {
            TileLayout::Plain => "plain",
            TileLayout::Planes => "planes",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "plain" => Some(TileLayout::Plain),
            "planes" => Some(TileLayout::Planes),
            _ => None,
        }
    }
}

/// Payload bytes of a tile of `rows` rows holding `nnz` entries.
pub fn payload_len(rows: usize, nnz: usize) -> usize {
    2 * rows + 4 * nnz
}

/// Most entries one row may hold so that it fits a tile on its own.
pub fn max_entries_per_row(max_tile_bytes: usize) -> usize {
    (max_tile_bytes.saturating_sub(2) / 4).min(u16::MAX as usize)
}

/// Splits the rows of `delta` into tiles of at most `tile_rows` rows and `max_tile_bytes` of
/// payload; returns the `n_tiles + 1` row starts (first 0, last `rows`). Every row must fit on
/// its own (the selection caps rows at [`max_entries_per_row`]); a row that does not is
/// returned as the error.
pub fn plan(delta: &SparseDelta, tile_rows: usize, max_tile_bytes: usize) -> Result<Vec<usize>, usize> {
    let rows = delta.rows();
    let mut starts = vec![0];
    let (mut in_tile, mut bytes) = (0usize, 0usize);
    for r in 0..rows {
        let row_bytes = payload_len(1, delta.row_ptr[r + 1] - delta.row_ptr[r]);
        if row_bytes > max_tile_bytes {
            return Err(r);
        }
        if in_tile == tile_rows || bytes + row_bytes > max_tile_bytes {
            starts.push(r);
            in_tile = 0;
            bytes = 0;
        }
        in_tile += 1;
        bytes += row_bytes;
    }
    if rows > 0 {
        starts.push(rows);
    }
    Ok(starts)
}

/// Serialises rows `rows` of `delta` in `layout`.
pub fn encode(delta: &SparseDelta, rows: std::ops::Range<usize>, layout: TileLayout) -> Vec<u8> {
    let (a, b) = (delta.row_ptr[rows.start], delta.row_ptr[rows.end]);
    let m = rows.len();
    let n = b - a;
    let mut counts = Vec::with_capacity(m);
    let mut gaps = Vec::with_capacity(n);
    for r in rows {
        let (cs, _) = delta.row(r);
        counts.push(cs.len() as u16);
        let mut next = 0u32;
        for &c in cs {
            gaps.push((c - next) as u16);
            next = c + 1;
        }
    }
    let vals: Vec<u16> = delta.vals[a..b].iter().map(|v| v.to_bits()).collect();
    let mut out = Vec::with_capacity(payload_len(m, n));
    for part in [&counts, &gaps, &vals] {
        match layout {
            TileLayout::Plain => part.iter().for_each(|w| out.extend_from_slice(&w.to_le_bytes())),
            TileLayout::Planes => {
                out.extend(part.iter().map(|w| *w as u8));
                out.extend(part.iter().map(|w| (*w >> 8) as u8));
            }
        }
    }
    out
}

/// A decoded tile: CSR over the tile's rows, columns within the matrix, values widened to f32.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecodedTile {
    pub row_ptr: Vec<usize>,
    pub cols: Vec<u32>,
    pub vals: Vec<f32>,
}

impl DecodedTile {
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.row_ptr[i], self.row_ptr[i + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }
}

/// Parses a tile's payload of `rows` rows of a matrix with `cols` columns, checking that its
/// length is exactly what the counts say, that every column is in range and increasing, and
/// that every value is finite. The message says what is wrong.
pub fn decode(bytes: &[u8], rows: usize, cols: usize, layout: TileLayout) -> Result<DecodedTile, String> {
    if bytes.len() < 2 * rows {
        return Err(format!("delta is {} bytes, too short for the counts of {rows} rows", bytes.len()));
    }
    // Word i of an array of `len` words starting at `at`.
    let word = |at: usize, len: usize, i: usize| -> u16 {
        match layout {
            TileLayout::Plain => u16::from_le_bytes([bytes[at + 2 * i], bytes[at + 2 * i + 1]]),
            TileLayout::Planes => u16::from_le_bytes([bytes[at + i], bytes[at + len + i]]),
        }
    };
    let n: usize = (0..rows).map(|i| word(0, rows, i) as usize).sum();
    let want = payload_len(rows, n);
    if bytes.len() != want {
        return Err(format!("delta is {} bytes, should be {want} for {rows} rows holding {n} entries", bytes.len()));
    }
    let (gaps_at, vals_at) = (2 * rows, 2 * rows + 2 * n);
    let mut t =
        DecodedTile { row_ptr: Vec::with_capacity(rows + 1), cols: Vec::with_capacity(n), vals: Vec::with_capacity(n) };
    t.row_ptr.push(0);
    let mut j = 0;
    for i in 0..rows {
        let count = word(0, rows, i) as usize;
        let mut next = 0usize;
        for _ in 0..count {
            let c = next + word(gaps_at, n, j) as usize;
            if c >= cols {
                return Err(format!("row {i} of the tile: entry {j} is at column {c}, should be below {cols}"));
            }
            let v = f16::from_bits(word(vals_at, n, j));
            if !v.is_finite() {
                return Err(format!("row {i} of the tile: entry {j} has the non-finite value {v}"));
            }
            t.cols.push(c as u32);
            t.vals.push(v.to_f32());
            next = c + 1;
            j += 1;
        }
        t.row_ptr.push(j);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SparseDelta {
        SparseDelta {
            row_ptr: vec![0, 2, 2, 5],
            cols: vec![0, 300, 1, 2, 999],
            vals: [1.0, -2.0, 0.5, 0.25, 3.0].iter().map(|&v| f16::from_f32(v)).collect(),
        }
    }

    #[test]
    fn both_layouts_round_trip_and_have_the_documented_size() {
        let d = sample();
        for layout in [TileLayout::Plain, TileLayout::Planes] {
            let bytes = encode(&d, 0..3, layout);
            assert_eq!(bytes.len(), payload_len(3, 5));
            let t = decode(&bytes, 3, 1000, layout).unwrap();
            assert_eq!(t.row_ptr, vec![0, 2, 2, 5]);
            assert_eq!(t.cols, d.cols);
            assert_eq!(t.vals, vec![1.0, -2.0, 0.5, 0.25, 3.0]);
            let tail = encode(&d, 1..3, layout);
            assert_eq!(decode(&tail, 2, 1000, layout).unwrap().cols, vec![1, 2, 999]);
        }
        // Plain: counts 2, 0, 3 then gaps 0, 299, 1, 0, 996.
        assert_eq!(&encode(&d, 0..3, TileLayout::Plain)[..16], &[2, 0, 0, 0, 3, 0, 0, 0, 43, 1, 1, 0, 0, 0, 228, 3]);
        assert_eq!(&encode(&d, 0..3, TileLayout::Planes)[..6], &[2, 0, 3, 0, 0, 0]);
    }

    #[test]
    fn decode_rejects_each_kind_of_damage() {
        let d = sample();
        let good = encode(&d, 0..3, TileLayout::Plain);
        let mut long = good.clone();
        long.push(0);
        assert!(decode(&long, 3, 1000, TileLayout::Plain).unwrap_err().contains("should be"));
        assert!(decode(&good[..4], 3, 1000, TileLayout::Plain).unwrap_err().contains("too short"));
        assert!(decode(&good, 3, 999, TileLayout::Plain).unwrap_err().contains("column 999"));
        let mut nan = good.clone();
        let at = good.len() - 2;
        nan[at..].copy_from_slice(&f16::NAN.to_bits().to_le_bytes());
        assert!(decode(&nan, 3, 1000, TileLayout::Plain).unwrap_err().contains("non-finite"));
        let mut count = good;
        count[0] = 3;
        assert!(decode(&count, 3, 1000, TileLayout::Plain).unwrap_err().contains("should be"));
    }

    #[test]
    fn plan_respects_rows_and_bytes() {
        let d = sample();
        assert_eq!(plan(&d, 2, 1 << 20).unwrap(), vec![0, 2, 3]);
        // Row 2 alone is 14 bytes; rows 0..2 are 10 + 2.
        assert_eq!(plan(&d, 16, 14).unwrap(), vec![0, 2, 3]);
        assert_eq!(plan(&d, 16, 13).unwrap_err(), 2);
        assert_eq!(plan(&SparseDelta { row_ptr: vec![0], ..Default::default() }, 4, 64).unwrap(), vec![0]);
    }

    #[test]
    fn tiles_grow_taller_only_past_the_tile_bound() {
        // Llama-7B's 4096 rows keep 16-row tiles (256); 11008 rows would make 688, so 32 (344).
        assert_eq!(rows_per_tile(4096, 16, DEFAULT_MAX_TILES), 16);
        assert_eq!(rows_per_tile(11008, 16, DEFAULT_MAX_TILES), 32);
        assert_eq!(rows_per_tile(16 * 384, 16, 384), 16);
        assert_eq!(rows_per_tile(16 * 384 + 1, 16, 384), 24); // a multiple of 8
                                                              // Capped at the batch-1 kernel's 32 rows (more tiles than the bound then), never
                                                              // below tile_rows, and no bound at 0.
        assert_eq!(rows_per_tile(28672, 16, 384), MAX_GROWN_TILE_ROWS);
        assert_eq!(rows_per_tile(1 << 20, 64, 384), 64);
        assert_eq!(rows_per_tile(11008, 16, 0), 16);
        assert_eq!(rows_per_tile(0, 16, 384), 16);
    }
}
