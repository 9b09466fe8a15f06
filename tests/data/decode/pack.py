#!/usr/bin/env python3
"""Builds the test packs of tests/reference_decode_corpus.rs from ../shared/corpus.

A pack is a zstd-compressed (level 19) sequence of records:
  u32 LE name length, name (UTF-8), u64 LE data length, data
one record per file. The tests unpack them with libzstd (zstd-safe), the oracle itself.

Run from the repository root:  python3 tests/data/decode/pack.py
"""
import os
import struct
import subprocess
import zipfile

CORPUS = os.path.join("..", "shared", "corpus")
OUT = os.path.join("tests", "data", "decode")


def pack(name, records):
    raw = b"".join(
        struct.pack("<I", len(n.encode())) + n.encode() + struct.pack("<Q", len(d)) + d for n, d in records
    )
    out = subprocess.run(["zstd", "-19", "-q", "-c", "--stream-size=%d" % len(raw)], input=raw, stdout=subprocess.PIPE, check=True).stdout
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(out)
    print(name, len(records), "files", len(raw), "->", len(out), "bytes")


def from_zip(path):
    z = zipfile.ZipFile(path)
    return [(i.filename, z.read(i)) for i in z.infolist() if not i.is_dir()]


def from_dir(path, keep=lambda n: True):
    return [(n, open(os.path.join(path, n), "rb").read()) for n in sorted(os.listdir(path)) if keep(n)]


k = os.path.join(CORPUS, "klauspost")
for z in ["good", "regression", "decode-regression", "dict-tests-small"]:
    pack("klauspost-%s.pack.zst" % z, from_zip(os.path.join(k, z + ".zip")))

g = os.path.join(CORPUS, "zstd-golden")
recs = []
for sub in ["golden-decompression", "golden-decompression-errors", "golden-compression", "golden-dictionaries", "dict-files"]:
    recs += [(sub + "/" + n, d) for n, d in from_dir(os.path.join(g, sub), lambda n: not n.startswith("."))]
pack("zstd-golden.pack.zst", recs)
