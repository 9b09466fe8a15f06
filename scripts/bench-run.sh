#!/usr/bin/env bash
# Runs the comparison benchmark (examples/bench) on the GPU machine, from the bundle that
# scripts/gpu-bundle.sh builds (copied there as bench-run.sh), or from any folder holding
# the bench binary, lib/libnvcomp.so.6 and a data folder.
#
#   bench-run.sh MODE [extra flags for the bench binary...]
#
# MODE (each fits well inside one 10-minute device command; run `probe`, then `sanity`):
#   probe    load nvCOMP and print its version, alignments and sizes (seconds)
#   sanity   nvCOMP only, Silesia xml and the Canterbury texts (canterbury/* is the four
#            concatenated) tiled to 1 GiB, libzstd -3 frames: the issue's cross-check
#            (~130/~80 GB/s decoding libzstd -3 frames, ~18/~8 GB/s compressing)
#   native   every file (and canterbury/*, the edge sets, the weights) at native size
#   1g       Silesia xml, the Canterbury texts, canterbury/*, bb.binast tiled to 1 GiB
#   1g-more  the weights, random, all-equal and the small files (pi, e, html, Mark Twain,
#            mapsdatazrh, random_org) tiled to 1 GiB
#   curve    Silesia xml at 1 MiB .. 1 GiB (libzstd -3 all threads, nvCOMP), plus the PNG
#   chunks   Silesia xml at 1 GiB with 16 KiB and 256 KiB chunks
#   cuzstd   cuzstd's GPU codec (levels 1, 3) beside nvCOMP and libzstd -3: Silesia xml and the
#            Canterbury texts at 1 GiB (the other modes leave cuzstd out to stay within a command)
#   decoder  cuzstd's staged (default) and warp decoders beside nvCOMP and libzstd: Silesia xml, the
#            Canterbury texts and bb.binast at 1 GiB, libzstd -3 and cuzstd -1 frames
#   small    issue 4's small-input target: Silesia xml, canterbury/* and bb.binast at 1, 4 and 16
#            MiB (64 KiB chunks, libzstd -3 frames): cuzstd's staged and warp decoders, nvCOMP,
#            libzstd on 16 threads
#   pipeline     examples/pipeline: host-to-host bulk API throughput on all bench files tiled to
#                1 GiB, 64 KiB chunks, several group sizes and in-flight counts, the PCIe ceiling,
#                and the scaling over GPUs when several are visible (a few minutes)
#   pipeline-1m  the same with 1 MiB chunks (the bulk API's default chunk size)
#   cli          `cuzstd bench` on Silesia xml (the CLI's comparison table)
#
# Writes bench-MODE.csv, bench-MODE.txt (table and progress) and, for curve, bench-curve.png
# to $OUT when set (else ./bench-results/). The binary refuses to report unverified rows.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-}
[ -n "$mode" ] || { sed -n '2,34p' "$0"; exit 2; }
shift

# The gpu-bundle layout keeps data and libraries in payload.tar.xz; unpack once.
if [ -f "$here/payload.tar.xz" ] && [ ! -d "$here/x" ]; then
  mkdir -p "$here/x" && tar -C "$here/x" -xJf "$here/payload.tar.xz" || { echo "could not unpack payload" >&2; exit 1; }
fi
first() { for p in "$@"; do [ -e "$p" ] && { echo "$p"; return 0; }; done; return 1; }
case "$mode" in
  pipeline|pipeline-1m|cli)
    data=$(first "${CUZSTD_SHARED:-/nonexistent}/bench-data" "$here/x/shared/bench-data" "$here/data" "$here/../shared/bench-data") ||
      { echo "bench-run: no data folder (x/shared/bench-data, data/)" >&2; exit 1; }
    lib=$(first "${NVCOMP_LIB:-/nonexistent}" "$here/x/lib/libnvcomp.so.6" "$here/lib/libnvcomp.so.6") && export NVCOMP_LIB="$lib"
    out=${OUT:-$here/bench-results}
    mkdir -p "$out"
    if [ "$mode" = cli ]; then
      tool=$(first "$here/x/tools/cuzstd" "$here/target/release/cuzstd") || { echo "bench-run: no cuzstd binary" >&2; exit 1; }
      cmd=("$tool" bench "$data/silesia/xml" "$@")
    else
      tool=$(first "$here/x/examples/pipeline" "$here/target/release/examples/pipeline") ||
        { echo "bench-run: no pipeline binary" >&2; exit 1; }
      chunk=64k; [ "$mode" = pipeline-1m ] && chunk=1m
      cmd=("$tool" --data "$data" --chunk "$chunk" "$@")
    fi
    {
      echo "# bench-run.sh $mode $*"
      echo "# host: $(uname -srm), $(nproc) threads"
      nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.max,pcie.link.width.max --format=csv,noheader 2>/dev/null | sed 's/^/# gpu: /'
      echo "# command: ${cmd[*]}"
    } | tee "$out/bench-$mode.txt"
    start=$(date +%s)
    "${cmd[@]}" 2>&1 | tee -a "$out/bench-$mode.txt"
    rc=${PIPESTATUS[0]}
    echo "# bench-run: $mode finished with status $rc in $(( $(date +%s) - start )) s" | tee -a "$out/bench-$mode.txt"
    exit $rc ;;
esac
bin=$(first "$here/x/examples/bench" "$here/examples/bench" "$here/bench" "$here/bin/bench" "$here/target/release/examples/bench") ||
  { echo "bench-run: no bench binary next to $0" >&2; exit 1; }
[ -d "$bin" ] && bin="$bin/bench"
data=$(first "${CUZSTD_SHARED:-/nonexistent}/bench-data" "$here/x/shared/bench-data" "$here/data" "$here/../shared/bench-data") ||
  { echo "bench-run: no data folder (x/shared/bench-data, data/)" >&2; exit 1; }
lib=$(first "${NVCOMP_LIB:-/nonexistent}" "$here/x/lib/libnvcomp.so.6" "$here/lib/libnvcomp.so.6") && export NVCOMP_LIB="$lib"
weights=$(ls "$here"/x/models/*.f16 "$here"/models/*.f16 2>/dev/null | head -1)
out=${OUT:-$here/bench-results}
mkdir -p "$out"

args=(--data "$data" --csv "$out/bench-$mode.csv")
[ -n "$weights" ] && args+=(--weights "$weights")
case "$mode" in
  probe)    args=(--probe-nvcomp) ;;
  sanity)   args+=(--no-cuzstd --files silesia/xml,canterbury --sizes 1g --no-cpu --no-edge --levels 3 --gpu-decode-levels 3) ;;
  native)   args+=(--no-cuzstd --sizes native) ;;
  1g)       args+=(--no-cuzstd --sizes 1g --no-edge --files silesia/xml,canterbury,bb.binast --gpu-decode-levels 1,3) ;;
  1g-more)  args+=(--no-cuzstd --sizes 1g --files weights-f16,random,all-equal,pi.txt,e.txt,html.txt,Mark.Twain,mapsdatazrh,random_org --gpu-decode-levels 1,3) ;;
  curve)    args+=(--no-cuzstd --curve-only --curve-files silesia/xml) ;;
  chunks)   args+=(--no-cuzstd --sizes 1g --files silesia/xml --no-edge --chunk 16k,256k --gpu-decode-levels 1,3) ;;
  cuzstd)   args+=(--sizes 1g --no-edge --files silesia/xml,canterbury/* --levels 3 --threads all --gpu-decode-levels 3 --cuzstd-levels 1,3) ;;
  small)    args+=(--sizes 1m,4m,16m --no-edge --files silesia/xml,canterbury/*,bb.binast --levels 3 --threads all --gpu-decode-levels 3 --cuzstd-levels 1 --decode-kernels warp --runs 30) ;;
  decoder)  args+=(--sizes 1g --no-edge --files silesia/xml,canterbury/*,bb.binast --levels 3 --threads all --gpu-decode-levels 3 --cuzstd-levels 1 --decode-kernels warp) ;;
  *) echo "bench-run: unknown mode $mode" >&2; exit 2 ;;
esac

{
  echo "# bench-run.sh $mode $*"
  echo "# host: $(uname -srm), $(nproc) threads"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null | sed 's/^/# gpu: /'
  nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | sed 's/^/# /'
  echo "# binary: $bin"
  echo "# nvCOMP: ${NVCOMP_LIB:-not found}"
  echo "# data: $data${weights:+, weights: $weights}"
} | tee "$out/bench-$mode.txt"

start=$(date +%s)
"$bin" "${args[@]}" "$@" 2>&1 | tee -a "$out/bench-$mode.txt"
rc=${PIPESTATUS[0]}
echo "# bench-run: $mode finished with status $rc in $(( $(date +%s) - start )) s" | tee -a "$out/bench-$mode.txt"

if [ "$mode" = curve ] && [ -f "$out/bench-curve.csv" ]; then
  plot=$(first "$here/plot_bench.py" "$here/scripts/plot_bench.py" "$(dirname "$0")/plot_bench.py") &&
    python3 "$plot" "$out/bench-curve.csv" -o "$out/bench-curve.png" --set silesia/xml ||
    echo "bench-run: no plot (plot_bench.py or matplotlib missing); make it from bench-curve.csv"
fi
exit $rc
