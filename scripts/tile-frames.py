#!/usr/bin/env python3
"""Writes the delta tile frames of three layers of a zipper container (blk.3 ffn_up, attn_q,
ffn_down by default) as records for scripts/tile-decode-latency.cu: u32 frame size, u32 content
size, the frame, its content (decoded by the zstd CLI, with the layer's literal dictionary
`NAME.dict` when the container has one: the tile codec `literal`'s frames name it).

    python3 scripts/tile-frames.py CONTAINER.zp OUT.frames [TENSOR...]"""
import json
import struct
import subprocess
import sys
import tempfile

src, out = sys.argv[1], sys.argv[2]
layers = sys.argv[3:] or ["blk.3.ffn_up.weight", "blk.3.attn_q.weight", "blk.3.ffn_down.weight"]
b = open(src, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
header = json.loads(b[8:8 + n])
base = 8 + n


def tensor(name):
    s, e = header[name]["data_offsets"]
    return b[base + s:base + e]


def content_size(f):
    fhd = f[4]
    single, fcs, did = (fhd >> 5) & 1, fhd >> 6, fhd & 3
    p = 5 + (0 if single else 1) + [0, 1, 2, 4][did]
    size = [1 if single else 0, 2, 4, 8][fcs]
    v = int.from_bytes(f[p:p + size], "little")
    return v + 256 if size == 2 else v


frames, raw = [], b""
for layer in layers:
    delta, offsets = tensor(layer + ".delta"), tensor(layer + ".tile_offsets")
    offs = struct.unpack("<%dQ" % (len(offsets) // 8), offsets)
    mine = [delta[offs[i]:offs[i + 1]] for i in range(len(offs) - 1)]
    frames += mine
    with tempfile.NamedTemporaryFile() as d:
        cmd = ["zstd", "-d", "-c"]
        if layer + ".dict" in header:
            d.write(tensor(layer + ".dict"))
            d.flush()
            cmd += ["-D", d.name]
        raw += subprocess.run(cmd, input=b"".join(mine), capture_output=True, check=True).stdout
with open(out, "wb") as f:
    p = 0
    for fr in frames:
        r = content_size(fr)
        f.write(struct.pack("<II", len(fr), r))
        f.write(fr)
        f.write(raw[p:p + r])
        p += r
assert p == len(raw)
print(len(frames), "frames", file=sys.stderr)
