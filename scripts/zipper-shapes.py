#!/usr/bin/env python3
"""Write one-weight safetensors files of benchmark shapes for scripts/fused-latency.cu.

Usage:
    scripts/zipper-shapes.py MODELS_DIR OUT_DIR [NAME[,NAME]...]

Each file holds one F16 matrix `blk.0.NAME.weight` whose values are taken in order from the
first *.f16 file in MODELS_DIR (scripts/weights-f16.py writes it; zipper-bench takes its value
pool the same way), non-finite values dropped, repeated as needed, the shapes following one
another through the pool. Shapes (rows x cols): attn 4096x4096, down 4096x11008, gate
11008x4096, t2k 2048x2048, t2kup 5632x2048, t3k 3072x3072, and SmolLM2-135M's s576 576x576,
s192 192x576, s1536 1536x576, sdown 576x1536; all by default. Pack a file with
`cuzstd zipper pack OUT_DIR/NAME.safetensors NAME.zp [--base int4 --group 64]` and time it with
`fused-latency NAME.zp`.
"""
import glob
import json
import struct
import sys

import numpy as np

SHAPES = [("attn", 4096, 4096), ("down", 4096, 11008), ("gate", 11008, 4096), ("t2k", 2048, 2048),
          ("t2kup", 5632, 2048), ("t3k", 3072, 3072), ("s576", 576, 576), ("s192", 192, 576),
          ("s1536", 1536, 576), ("sdown", 576, 1536)]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    pool = np.fromfile(sorted(glob.glob(sys.argv[1] + "/*.f16"))[0], dtype=np.float16)
    pool = pool[np.isfinite(pool)]
    wanted = sys.argv[3].split(",") if len(sys.argv) > 3 else [n for n, _, _ in SHAPES]
    off = 0
    for name, rows, cols in SHAPES:
        idx = (off + np.arange(rows * cols)) % len(pool)
        off += rows * cols
        if name not in wanted:
            continue
        data = pool[idx].astype("<f2").tobytes()
        head = {f"blk.0.{name}.weight": {"dtype": "F16", "shape": [rows, cols], "data_offsets": [0, len(data)]}}
        h = json.dumps(head).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        with open(f"{sys.argv[2]}/{name}.safetensors", "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + data)


if __name__ == "__main__":
    main()
