#!/usr/bin/env python3
"""Warp stall samples per CUDA source line from an Nsight Compute source export.

    ncu ... --section SourceCounters --warp-sampling-interval 0 -o REPORT BINARY ARGS
    ncu -i REPORT.ncu-rep --page source --csv --print-source cuda,sass | gzip > lines.csv.gz
    scripts/ncu-lines.py lines.csv.gz [TOP] [--root DIR] [--stalls]

Prints the TOP lines (default 40) with the most samples: their share of all samples, the warp
instructions executed there, file:line and the line's text, read from DIR (default: this
checkout; it must hold the tree the binary was built from) by the part of the recorded path
from `cuda/` on (the device's checkout path differs).
--stalls adds each line's three largest stall reasons. The export must come from a build with
-lineinfo (CUZSTD_NVCC_FLAGS=-lineinfo).
"""
import collections
import csv
import gzip
import os
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--root" in sys.argv:
        root = sys.argv[sys.argv.index("--root") + 1]
        args.remove(root)
    if not args:
        sys.exit(__doc__)
    path, top = args[0], int(args[1]) if len(args) > 1 else 40
    opener = gzip.open if path.endswith(".gz") else open
    samples, insts = collections.Counter(), collections.Counter()
    stalls = collections.defaultdict(collections.Counter)
    cur, hdr = None, None
    with opener(path, "rt") as f:
        for r in csv.reader(f):
            if not r:
                continue
            if r[0] == "File Path":
                cur = r[1]
            elif r[0] == "Line No":
                hdr = r
            elif hdr and cur and len(r) > 2 and r[2] == "-" and r[0].isdigit():
                # Source-line rows (no SASS address); the SASS rows under them repeat the counts.
                key = (cur, int(r[0]))
                row = dict(zip(hdr[2:], r[2:]))
                samples[key] += int(row.get("Warp Stall Sampling (All Samples)", 0) or 0)
                insts[key] += int(row.get("Instructions Executed", 0) or 0)
                for h, v in row.items():
                    if h.startswith("stall_") and "(Not Issued)" not in h and v.isdigit():
                        stalls[key][h[6:]] += int(v)
    total = sum(samples.values()) or 1
    print(f"total samples {total}")
    for (fname, line), n in samples.most_common(top):
        text = "?"
        if "/cuda/" in fname:
            local = os.path.join(root, "cuda", fname.split("/cuda/", 1)[1])
            try:
                with open(local) as src:
                    text = src.read().split("\n")[line - 1].strip()[:110]
            except (OSError, IndexError):
                pass
        extra = ""
        if "--stalls" in sys.argv:
            extra = "  [" + ", ".join(f"{k} {v}" for k, v in stalls[(fname, line)].most_common(3)) + "]"
        print(f"{100 * n / total:5.1f}% {insts[(fname, line)]:>11} {os.path.basename(fname)}:{line}  {text}{extra}")


if __name__ == "__main__":
    main()
