#!/usr/bin/env python3
"""Cuts FILE into 64 KiB chunks, compresses each with the zstd CLI at -3 without a checksum
(like ZSTD_compress), and writes OUT as records: u32 compressed size, u32 raw size, the
frame, the raw chunk. Input of scripts/decode-phases.cu."""
import struct
import subprocess
import sys

src, out = sys.argv[1], sys.argv[2]
chunk = 65536
data = open(src, "rb").read()
with open(out, "wb") as f:
    for i in range(0, len(data), chunk):
        c = data[i:i + chunk]
        z = subprocess.run(["zstd", "-3", "--no-check", "-q", "-c"], input=c, capture_output=True, check=True).stdout
        f.write(struct.pack("<II", len(z), len(c)))
        f.write(z)
        f.write(c)
