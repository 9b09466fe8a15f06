#!/usr/bin/env python3
"""Plot throughput against batch size from the CSV of examples/bench.rs.

Usage:
    scripts/plot_bench.py BENCH.csv [MORE.csv ...] -o bench-curve.png [--set silesia/xml] [--chunk 65536]

One line per configuration (codec, operation, frames, mode, threads, level) of the chosen
set and chunk size; x is the uncompressed bytes one timed run processed (the batch size),
y the median GB/s. Only verified rows are plotted. Needs matplotlib.
"""

import argparse
import csv
import sys
from collections import defaultdict


def read_rows(paths):
    rows = []
    for p in paths:
        with open(p, newline="") as f:
            lines = [line for line in f if not line.startswith("#")]
        rows.extend(csv.DictReader(lines))
    return rows


def label(r):
    op = r["direction"]
    if op == "decompress":
        op += f" ({r['frames']} frames)"
    who = r["codec"]
    if r["codec"] == "libzstd":
        who += f" -{r['level']}, {r['threads']} threads"
    return f"{who}: {op}, {r['mode']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="+")
    ap.add_argument("-o", "--out", default="bench-curve.png")
    ap.add_argument("--set", default="silesia/xml", help="data set name as in the CSV")
    ap.add_argument("--chunk", type=int, default=65536, help="chunk size in bytes")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        r
        for r in read_rows(args.csv)
        if r["status"] == "verified" and r["set"] == args.set and int(r["chunk_size"]) == args.chunk
    ]
    if not rows:
        sys.exit(f"plot_bench: no verified rows for set {args.set!r} with chunk size {args.chunk}")
    series = defaultdict(dict)
    for r in rows:
        series[label(r)][int(r["measured_bytes"])] = float(r["median_gbps"])
    fig, ax = plt.subplots(figsize=(10, 6))
    for name in sorted(series):
        pts = sorted(series[name].items())
        if len(pts) < 2:
            continue
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ticks = sorted({x for s in series.values() for x in s})
    ax.set_xticks(ticks)
    ax.set_xticklabels([human(x) for x in ticks], rotation=30)
    ax.set_xlabel("batch size (uncompressed bytes per call)")
    ax.set_ylabel("GB/s of uncompressed bytes (median)")
    ax.set_title(args.title or f"{args.set}, {human(args.chunk)} chunks")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"plot_bench: wrote {args.out} ({len(series)} series)")


def human(n):
    for unit, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= unit:
            v = n / unit
            return f"{v:g} {name}" if v == int(v) else f"{v:.1f} {name}"
    return f"{n} B"


if __name__ == "__main__":
    main()
