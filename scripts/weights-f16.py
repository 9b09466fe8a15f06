#!/usr/bin/env python3
"""Write the weights of a GGUF model as raw little-endian f16, for the benchmark harness.

Usage:
    scripts/weights-f16.py [GGUF] [OUT] [--max-mib N] [--skip NAME_PART]... [--list]

Defaults: GGUF = models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch-smollm2.sh puts it
there), OUT = models/smollm2-135m.f16 (scripts/gpu-bundle.sh ships models/*.f16). Tensors
are written in file order, each dequantized to f16 (Q4_1, Q8_0, F16 and F32 are supported;
anything else is an error).
--max-mib N stops after N MiB of output (the GPU machine receives at most 64 MiB of files
per run, so the bundle carries a prefix of the weights); --skip token_embd leaves out the
Q8_0 embedding (56 MB of f16 at the start of the file) so that a prefix holds the Q4_1
matrices of the transformer blocks, most of the model.

Parses GGUF v3 with numpy only. Never commit the output.
"""

import argparse
import os
import struct
import sys

import numpy as np

GGUF_MAGIC = b"GGUF"

# Metadata value types of GGUF v3.
SCALAR = {
    0: "<u1",  # UINT8
    1: "<i1",  # INT8
    2: "<u2",  # UINT16
    3: "<i2",  # INT16
    4: "<u4",  # UINT32
    5: "<i4",  # INT32
    6: "<f4",  # FLOAT32
    7: "<u1",  # BOOL
    10: "<u8",  # UINT64
    11: "<i8",  # INT64
    12: "<f8",  # FLOAT64
}
STRING, ARRAY = 8, 9

# ggml tensor types handled here: (name, elements per block, bytes per block).
GGML_F32, GGML_F16, GGML_Q4_1, GGML_Q8_0 = 0, 1, 3, 8
TYPES = {
    GGML_F32: ("F32", 1, 4),
    GGML_F16: ("F16", 1, 2),
    GGML_Q4_1: ("Q4_1", 32, 20),  # f16 scale d, f16 minimum m, 16 bytes of 4-bit values
    GGML_Q8_0: ("Q8_0", 32, 34),  # f16 scale d, 32 int8 values
}


class Reader:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise ValueError(f"GGUF truncated: need {n} bytes at offset {self.pos}, file has {len(self.buf)}")
        b = self.buf[self.pos : self.pos + n]
        self.pos += n
        return b

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def string(self):
        n = self.u64()
        return bytes(self.take(n)).decode("utf-8", errors="replace")

    def value(self, vtype):
        if vtype in SCALAR:
            dt = np.dtype(SCALAR[vtype])
            return np.frombuffer(self.take(dt.itemsize), dtype=dt)[0].item()
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            itype = self.u32()
            count = self.u64()
            if itype in SCALAR:
                dt = np.dtype(SCALAR[itype])
                return np.frombuffer(self.take(dt.itemsize * count), dtype=dt)
            return [self.value(itype) for _ in range(count)]
        raise ValueError(f"unknown GGUF value type {vtype} at offset {self.pos}")


def parse(buf):
    """Returns (version, metadata dict, tensor list, data offset); tensors are dicts with
    name, dims (innermost first), type, offset (relative to the data section), count."""
    r = Reader(buf)
    if bytes(r.take(4)) != GGUF_MAGIC:
        raise ValueError("not a GGUF file (magic is not 'GGUF')")
    version = r.u32()
    if version != 3:
        raise ValueError(f"GGUF version {version}, this script reads version 3")
    n_tensors = r.u64()
    n_kv = r.u64()
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.u32())
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.u32()
        if n_dims > 4:
            raise ValueError(f"tensor {name}: {n_dims} dimensions, should be at most 4")
        dims = [r.u64() for _ in range(n_dims)]
        ttype = r.u32()
        offset = r.u64()
        count = int(np.prod(dims, dtype=np.uint64)) if dims else 1
        tensors.append({"name": name, "dims": dims, "type": ttype, "offset": offset, "count": count})
    alignment = int(meta.get("general.alignment", 32))
    data_start = (r.pos + alignment - 1) // alignment * alignment
    # Validate every tensor before touching data: known type, whole blocks, in bounds.
    data_len = len(buf) - data_start
    for t in tensors:
        if t["type"] not in TYPES:
            raise ValueError(f"tensor {t['name']}: ggml type {t['type']} is not supported here")
        _, per_block, block_bytes = TYPES[t["type"]]
        if t["count"] % per_block:
            raise ValueError(f"tensor {t['name']}: {t['count']} elements, not whole blocks of {per_block}")
        t["nbytes"] = t["count"] // per_block * block_bytes
        if t["offset"] % alignment or t["offset"] + t["nbytes"] > data_len:
            raise ValueError(f"tensor {t['name']}: bytes {t['offset']}..+{t['nbytes']} outside the data section")
    return version, meta, tensors, data_start


def dequantize(raw, ttype, count):
    """raw bytes of one tensor -> float16 array of `count` elements, in GGUF element order."""
    if ttype == GGML_F32:
        return np.frombuffer(raw, dtype="<f4", count=count).astype(np.float16)
    if ttype == GGML_F16:
        return np.frombuffer(raw, dtype="<f2", count=count).copy()
    if ttype == GGML_Q8_0:
        blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 34)
        d = blocks[:, 0:2].copy().view("<f2").astype(np.float32)
        q = blocks[:, 2:34].view(np.int8).astype(np.float32)
        return (q * d).astype(np.float16).reshape(-1)
    if ttype == GGML_Q4_1:
        blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 20)
        d = blocks[:, 0:2].copy().view("<f2").astype(np.float32)
        m = blocks[:, 2:4].copy().view("<f2").astype(np.float32)
        qs = blocks[:, 4:20]
        # Element j of a block is the low nibble of byte j (j < 16), element 16 + j its high nibble.
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
        return (q * d + m).astype(np.float16).reshape(-1)
    raise ValueError(f"ggml type {ttype} not supported")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gguf", nargs="?", default=os.path.join(root, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("out", nargs="?", default=os.path.join(root, "models", "smollm2-135m.f16"))
    ap.add_argument("--max-mib", type=float, default=None, help="stop after this many MiB of output")
    ap.add_argument("--skip", action="append", default=[], help="skip tensors whose name contains this (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the tensors and exit")
    args = ap.parse_args()

    if not os.path.isfile(args.gguf):
        sys.exit(f"weights-f16: {args.gguf} not found; run scripts/fetch-smollm2.sh first")
    with open(args.gguf, "rb") as f:
        buf = memoryview(f.read())
    version, meta, tensors, data_start = parse(buf)
    if args.list:
        print(f"GGUF v{version}, {len(meta)} metadata keys, {len(tensors)} tensors, data at {data_start}")
        for t in tensors:
            print(f"{t['name']:40s} {TYPES[t['type']][0]:5s} dims {t['dims']}")
        return

    limit = None if args.max_mib is None else int(args.max_mib * (1 << 20))
    written = 0
    kinds = {}
    tmp = args.out + ".part"
    with open(tmp, "wb") as out:
        for t in tensors:
            if limit is not None and written >= limit:
                break
            if any(k in t["name"] for k in args.skip):
                continue
            start = data_start + t["offset"]
            raw = buf[start : start + t["nbytes"]]
            h = dequantize(raw, t["type"], t["count"]).astype("<f2").tobytes()
            if limit is not None:
                h = h[: limit - written]
            out.write(h)
            written += len(h)
            name = TYPES[t["type"]][0]
            kinds[name] = kinds.get(name, 0) + 1
    os.replace(tmp, args.out)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"weights-f16: wrote {written} bytes of f16 ({summary}) to {args.out}")


if __name__ == "__main__":
    main()
