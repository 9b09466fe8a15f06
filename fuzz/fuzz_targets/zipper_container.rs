//! Property: on any bytes, the zipper container parser (safetensors framing, metadata, tensor
//! types and shapes, tile tables, frame headers), tile decoding and a forward pass return an
//! error or a result; they never panic, loop or read out of range.
//!
//! The first byte's low bit chooses whether the tensors' XXH64 sums are checked: without them,
//! mutated data reaches the structural checks behind the sums.
#![no_main]

use cuzstd::zipper::{ZipperFile, ZipperLinear};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let Ok(f) = ZipperFile::parse_with(bytes.to_vec(), mode & 1 == 0) else {
        return;
    };
    let names: Vec<String> = f.weight_names().map(String::from).collect();
    for name in names {
        let Ok(layer) = ZipperLinear::from_file(&f, &name) else {
            continue;
        };
        let (rows, cols) = (layer.weight().rows, layer.weight().cols);
        // Bounded work: only small layers are multiplied.
        if rows.saturating_mul(cols) <= 1 << 16 {
            let y = layer.try_forward(&vec![1.0; 2 * cols], 2).expect("a verified layer multiplies");
            assert_eq!(y.len(), 2 * rows);
        }
    }
    let plain: Vec<String> = f.plain_tensors().map(|e| e.name.clone()).collect();
    for name in plain {
        let _ = f.plain_f32(&name);
    }
});
