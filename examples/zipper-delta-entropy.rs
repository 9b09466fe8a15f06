//! How much of the zipper tile frames' compression a literals-only zstd frame would keep: for
//! each 2-D tensor of blocks 0 and 15 of a GGUF, packed with the default options, the tiles'
//! payload bytes, their level-3 frames (the packer's), and two estimates of frames without
//! sequences: one Huffman table over the whole payload (H1), and one literals-only block per
//! byte plane with its own Huffman table, or raw/RLE where smaller (HP). Huffman sizes are the
//! code lengths of a plain Huffman code (capped at 11 bits) plus header, table description
//! (direct weights), jump table and checksum bytes; an estimate, not an encoder.
//!
//!   zipper-delta-entropy MODEL.gguf
use cuzstd::gguf::Gguf;
use cuzstd::zipper::delta::HalfKind;
use cuzstd::zipper::frame::decompress_tile;
use cuzstd::zipper::pack::{pack_matrix, PackOptions};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

fn huff_bits(hist: &[u64; 256]) -> u64 {
    let syms: Vec<(u64, usize)> = hist.iter().enumerate().filter(|(_, &c)| c > 0).map(|(s, &c)| (c, s)).collect();
    if syms.len() <= 1 {
        return hist.iter().sum::<u64>();
    }
    // node: (weight, id); lengths via parent links
    let mut heap = BinaryHeap::new();
    let mut parent: Vec<usize> = vec![usize::MAX; 2 * syms.len()];
    for (i, &(c, _)) in syms.iter().enumerate() {
        heap.push(Reverse((c, i)));
    }
    let mut next = syms.len();
    while heap.len() > 1 {
        let Reverse((a, ia)) = heap.pop().unwrap();
        let Reverse((b, ib)) = heap.pop().unwrap();
        parent[ia] = next;
        parent[ib] = next;
        heap.push(Reverse((a + b, next)));
        next += 1;
    }
    let mut bits = 0;
    for (i, &(c, _)) in syms.iter().enumerate() {
        let mut d = 0;
        let mut n = i;
        while parent[n] != usize::MAX {
            n = parent[n];
            d += 1;
        }
        bits += c * d.min(11) as u64;
    }
    bits
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: zipper-delta-entropy MODEL.gguf");
    let g = Gguf::open(&path).unwrap();
    let names: Vec<String> = g
        .tensors()
        .iter()
        .filter(|t| t.dims.len() == 2 && t.name.starts_with("blk."))
        .map(|t| t.name.clone())
        .collect();
    let (mut tp, mut tz, mut th, mut tpp) = (0u64, 0u64, 0u64, 0u64);
    for name in names.iter().filter(|n| n.starts_with("blk.0.") || n.starts_with("blk.15.")) {
        let info = g.tensor_info(name).unwrap();
        let (cols, rows) = (info.dims[0] as usize, info.dims[1] as usize);
        let w = g.tensor(name).unwrap().to_f32().unwrap();
        let (p, _) =
            pack_matrix(name, &w, rows, cols, HalfKind::F16, &format!("{:?}", info.ggml_type), &PackOptions::default())
                .unwrap();
        let (mut sp, mut sz, mut sh, mut pp) = (0u64, 0u64, 0u64, 0u64);
        for t in 0..p.tiles() {
            let f = p.tile_frame(t);
            let pay = decompress_tile(f, 1 << 20, &p.dict).unwrap();
            let mut hist = [0u64; 256];
            for &b in &pay {
                hist[b as usize] += 1;
            }
            let maxsym = hist.iter().rposition(|&c| c > 0).unwrap_or(0);
            let hb = huff_bits(&hist).div_ceil(8);
            let streams = if pay.len() > 1024 { 6 } else { 0 };
            let est = 7 + 3 + 5 + (1 + (maxsym as u64 + 1).div_ceil(2)).min(130) + streams + hb + 1 + 4;
            sp += pay.len() as u64;
            sz += f.len() as u64;
            sh += est.min(pay.len() as u64 + 15);
            // one literals-only block per byte plane, each with its own Huffman table (or raw)
            let m = p.tile_row_range(t).len();
            let n = (pay.len() - 2 * m) / 4;
            let cuts = [0, m, 2 * m, 2 * m + n, 2 * m + 2 * n, 2 * m + 3 * n, 2 * m + 4 * n];
            let mut e = 7 + 4u64;
            for k in 0..6 {
                let pl = &pay[cuts[k]..cuts[k + 1]];
                if pl.is_empty() {
                    continue;
                }
                let mut h = [0u64; 256];
                for &b in pl {
                    h[b as usize] += 1;
                }
                let ms = h.iter().rposition(|&c| c > 0).unwrap_or(0);
                let distinct = h.iter().filter(|&&c| c > 0).count();
                let blk = if distinct == 1 {
                    3 + 1 + 4
                } else {
                    let hb = huff_bits(&h).div_ceil(8);
                    let st = if pl.len() > 1024 { 6 } else { 0 };
                    (3 + 5 + (1 + (ms as u64 + 1).div_ceil(2)).min(130) + st + hb + 1).min(3 + 3 + pl.len() as u64 + 1)
                };
                e += blk;
            }
            pp += e;
        }
        println!("{name:32} {rows}x{cols} tiles {} payload {sp} level3 {sz} ({:.3}x) huffman-only est {sh} ({:.3}x) per-plane huffman {pp} ({:.3}x)", p.tiles(), sp as f64 / sz as f64, sp as f64 / sh as f64, sp as f64 / pp as f64);
        tp += sp;
        tz += sz;
        th += sh;
        tpp += pp;
    }
    println!(
        "total payload {tp} level3 {tz} ({:.3}x) huffman-only est {th} ({:.3}x) per-plane huffman {tpp} ({:.3}x)",
        tp as f64 / tz as f64,
        tp as f64 / th as f64,
        tp as f64 / tpp as f64
    );
}
