#!/usr/bin/env bash
# Builds every GPU test, bench and example in release mode into one folder (default:
# bundle/, git-ignored) with the data they need and a runner, run.sh, for a machine with an
# NVIDIA driver and no Rust toolchain.
#
#   scripts/gpu-bundle.sh [OUT_DIR]
#   OUT_DIR/run.sh            run every GPU test binary; one line per binary; non-zero on failure
#   OUT_DIR/run.sh --bench    also run the benches (criterion) after the tests
#   OUT_DIR/run.sh --only NAME[,NAME]   run only these test binaries (names without hash)
#   OUT_DIR/run.sh --pipeline  only the host-to-host pipeline measurement (bench-run.sh pipeline)
#   OUT_DIR/bench-run.sh MODE  the comparison benchmarks, the pipeline (pipeline, pipeline-1m)
#                              and `cuzstd bench` (cli); see its header
#
# Everything but the runners travels xz-compressed in payload.tar.xz (executables, test data,
# bench files, nvCOMP's library) and is unpacked by run.sh into x/ on first use. The bundle must stay under 60 MiB.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bundle}
cd "$root"

rm -rf "$out"
stage="$out/stage"
mkdir -p "$stage/bin" "$stage/bench" "$stage/examples" "$stage/tools" "$stage/root/tests" "$stage/shared" "$stage/lib"

artifacts() { # cargo args... -> "kind name path" lines of the executables built
  cargo "$@" --release --features gpu-tests --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        # A bin target is also built as its own (empty) unit-test harness: skip that one.
        if m["target"]["kind"][0] == "bin" and m["profile"]["test"]:
            continue
        print(m["target"]["kind"][0], m["target"]["name"], m["executable"])
'
}

echo "building tests, benches and examples (release, --features gpu-tests)..."
cargo build --release --features gpu-tests --tests --benches --examples
while read -r kind name path; do
  case "$kind" in
    test) [[ "$name" == gpu_* ]] && cp "$path" "$stage/bin/$name" ;;
    bench) cp "$path" "$stage/bench/$name" ;;
    example) cp "$path" "$stage/examples/$name" ;;
    bin) [ "$name" = cuzstd ] && cp "$path" "$stage/tools/$name" ;;
  esac
done < <(artifacts build --tests --benches --examples)

[ -d tests/data ] && cp -r tests/data "$stage/root/tests/"
shared=${CUZSTD_SHARED:-$root/../shared}
cp -r "$shared/bench-data" "$stage/shared/"
mkdir -p "$stage/shared/corpus/zstd-golden"
cp -r "$shared/corpus/zstd-golden/golden-compression" "$stage/shared/corpus/zstd-golden/"
# Conformance frames the GPU decoder tests read (inputs only: the tests ask libzstd for the verdict).
for d in decodecorpus/nodict/zst decodecorpus/dict/zst; do
  mkdir -p "$stage/shared/corpus/$d" && cp "$shared/corpus/$d"/* "$stage/shared/corpus/$d/"
done
mkdir -p "$stage/shared/corpus/ruzstd/decodecorpus_files"
cp "$shared/corpus/ruzstd/decodecorpus_files"/*.zst "$stage/shared/corpus/ruzstd/decodecorpus_files/"
mkdir -p "$stage/shared/models" && cp "$shared/models/smollm2-135m-reference.json" "$stage/shared/models/"
[ -d models ] && ls models/*.f16 >/dev/null 2>&1 && mkdir -p "$stage/models" && cp models/*.f16 "$stage/models/"

# nvCOMP for the comparisons, from the PyPI wheel (loaded at run time; optional).
nvcomp=$(ls "$root"/.whl/nvidia_libnvcomp_cu13-*.whl 2>/dev/null | head -1 || true)
if [ -z "$nvcomp" ]; then
  python3 -m pip download -q --no-deps -d "$root/.whl" "nvidia-libnvcomp-cu13==6.0.*" >/dev/null 2>&1 || true
  nvcomp=$(ls "$root"/.whl/nvidia_libnvcomp_cu13-*.whl 2>/dev/null | head -1 || true)
fi
if [ -n "$nvcomp" ]; then
  python3 - "$nvcomp" "$stage/lib" <<'PY'
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if os.path.basename(n).startswith("libnvcomp.so"):
            open(os.path.join(sys.argv[2], os.path.basename(n)), "wb").write(z.read(n))
PY
else
  echo "nvCOMP wheel not available: the bundle's benches will skip nvCOMP"
fi

# Every executable embeds the same kernel fatbins and reference build: a dictionary larger than
# the whole payload lets xz store those bytes once (unpacking needs about 200 MiB of memory).
tar -C "$stage" -cf - . | xz -T0 --lzma2=preset=6,dict=192MiB > "$out/payload.tar.xz"
rm -rf "$stage"
cp scripts/bundle-run.sh "$out/run.sh"
chmod +x "$out/run.sh"
[ -f scripts/bench-run.sh ] && cp scripts/bench-run.sh "$out/bench-run.sh"
[ -f scripts/plot_bench.py ] && cp scripts/plot_bench.py "$out/plot_bench.py"

size=$(du -sm "$out" | cut -f1)
echo "bundle: $out (${size} MiB)"
ls -la "$out"
tar -tJvf "$out/payload.tar.xz" | awk '{print $3, $6}' | grep -vE '/$' | sort -k2 | grep -E 'bin/|bench/|examples/|tools/|lib/' 
if [ "$size" -ge 60 ]; then
  echo "bundle is ${size} MiB, over the 60 MiB limit" >&2
  exit 1
fi
