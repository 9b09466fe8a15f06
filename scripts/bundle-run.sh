#!/usr/bin/env bash
# The GPU bundle's runner (copied to bundle/run.sh by scripts/gpu-bundle.sh).
# Runs each GPU test binary, prints one line per binary, exits non-zero on any failure.
#   run.sh [--bench] [--only NAME[,NAME...]] [--sanitize memcheck|racecheck] [--zipper [--zipper-args "ARGS"]]
#   --zipper   after the tests, run the zipper fused-layer benchmark (examples/zipper-bench.rs);
#              its output checks fail the run. --only none skips the tests.
#   run.sh --pipeline [FLAGS...]   only the host-to-host pipeline measurement (examples/pipeline
#                                  through bench-run.sh pipeline; FLAGS go to the example)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=0; only=""; sanitize=""; zipper=0; zipper_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench=1 ;;
    --zipper) zipper=1 ;;
    --zipper-args) zipper_args=$2; shift ;;
    --only) only=",$2,"; shift ;;
    --sanitize) sanitize=$2; shift ;;
    --pipeline) shift; exec "$here/bench-run.sh" pipeline "$@" ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ ! -d "$here/x" ]; then
  mkdir -p "$here/x" && tar -C "$here/x" -xJf "$here/payload.tar.xz" || { echo "could not unpack payload" >&2; exit 1; }
fi
export CUZSTD_TEST_ROOT="$here/x/root" CUZSTD_SHARED="$here/x/shared" CUZSTD_MODELS="$here/x/models"
export LD_LIBRARY_PATH="$here/x/lib:${LD_LIBRARY_PATH:-}" NVCOMP_LIB="$here/x/lib/libnvcomp.so.6"
logs=${OUT:-/tmp/cuzstd-logs}
mkdir -p "$logs"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'

fail=0; ran=0; not_run=0
for t in "$here"/x/bin/*; do
  name=$(basename "$t")
  [ -n "$only" ] && [[ "$only" != *",$name,"* ]] && continue
  # The 98 MB model does not fit the bundle: gpu_smollm2 runs only when it is given.
  if [ "$name" = gpu_smollm2 ] && [ ! -f "${CUZSTD_SMOLLM2_GGUF:-/nonexistent}" ]; then
    echo "NOT RUN $name: set CUZSTD_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch-smollm2.sh)"
    not_run=$((not_run + 1))
    continue
  fi
  ran=$((ran + 1))
  cmd=("$t")
  [ -n "$sanitize" ] && cmd=(compute-sanitizer --tool "$sanitize" --error-exitcode 99 "$t")
  start=$(date +%s.%N)
  "${cmd[@]}" > "$logs/$name.log" 2>&1
  rc=$?
  secs=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')" 2>/dev/null || echo "?")
  summary=$(grep -E '^test result:' "$logs/$name.log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "PASS $name (${secs}s): $summary"
  else
    echo "FAIL $name (rc $rc, ${secs}s): $summary"
    grep -E "panicked|FAILED|failed|error" "$logs/$name.log" | head -20
    fail=1
  fi
done
[ $ran -gt 0 ] || [ "$only" = ",none," ] || { echo "no test binary ran" >&2; fail=1; }

if [ $zipper -eq 1 ]; then
  # Case (a) is cuBLAS, loaded at run time: the first libcublas.so.13 (or .12) of the Python
  # installation's NVIDIA wheels when CUBLAS_LIB is not set (the bench says when none is found).
  if [ -z "${CUBLAS_LIB:-}" ]; then
    CUBLAS_LIB=$(python3 -c "
import glob, site
hits = [p for d in site.getsitepackages() for n in ('13', '12')
        for p in sorted(glob.glob(d + '/nvidia/**/libcublas.so.' + n, recursive=True))]
print(hits[0] if hits else '')" 2>/dev/null)
  fi
  if [ -n "${CUBLAS_LIB:-}" ]; then
    export CUBLAS_LIB LD_LIBRARY_PATH="$(dirname "$CUBLAS_LIB"):$LD_LIBRARY_PATH"
  fi
  echo "== zipper-bench $zipper_args"
  # shellcheck disable=SC2086
  "$here/x/examples/zipper-bench" $zipper_args 2>&1 | tee "$logs/zipper-bench.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "FAIL zipper-bench"; fail=1; }
fi

if [ $bench -eq 1 ]; then
  for b in "$here"/x/bench/*; do
    name=$(basename "$b")
    echo "== bench $name"
    (cd /tmp && "$b" --bench 2>&1 | tee "$logs/bench-$name.log" | grep -vE "^(Benchmarking|Warming|Collecting|Analyzing)") || fail=1
  done
fi
echo "summary: $ran test binaries ran, $not_run not run, $([ $fail -eq 0 ] && echo all that ran passed || echo FAILURES)"
exit $fail
