#!/usr/bin/env bash
# The GPU LLM engine's device runs (tests and the docs/ZIPPER.md tables), from the folder that
# scripts/llm-bundle.sh fills (default llmb/, git-ignored; carried to the GPU machine as is).
#   llmb/go.sh part1 [zipper]  gpu_llm and gpu_zipper tests, synthetic 7B/70B rows (with
#                      `zipper`: only the zipper-weight rows); saves the first half
#                      of the model to /tmp/keep (the 98 MB GGUF does not fit one carry)
#   llmb/go.sh part2   joins it with the second half (mdlB/, carried in this call, which must
#                      follow part1 on the same warm machine), runs gpu_smollm2 and the SmolLM2
#                      table (decode and perplexity of every mode)
#   llmb/go.sh part3   gpu_llm and the synthetic SmolLM2-shaped rows (no model file needed)
# Reports go to $OUT: results.jsonl (one zipper-infer --json report per run), all.err, test logs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
x=/tmp/llmx; rm -rf "$x"; mkdir -p "$x" && tar -C "$x" -xJf "$here/p.tar.xz" || exit 1
export CUZSTD_SHARED="$x/shared" CUZSTD_MODELS="$x/models"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
Z="$x/bin/zipper-infer"
run() { # name args...
  local n=$1; shift
  echo "== $n: $*"
  ( cd "$x" && timeout 200 "$Z" --device gpu "$@" --json > "/tmp/r.json" 2> "/tmp/r.err" ); echo "rc $?"
  { echo "== $n: $*"; cat /tmp/r.err; } >> "$OUT/all.err"
  python3 -c "import json,sys; r=json.load(open('/tmp/r.json')); r['run']=sys.argv[1]; r['args']=sys.argv[2:]; print(json.dumps(r))" "$n" "$@" >> "$OUT/results.jsonl"
  tail -3 /tmp/r.err
  python3 - "/tmp/r.json" <<'PY'
import json,sys
try: r=json.load(open(sys.argv[1]))
except Exception as e: print("no json", e); sys.exit()
keys=["weights","prefill_tokens_per_s","decode_tokens_per_s","tokens_per_s","engine_bytes","device_used_by_run_bytes","streamed_bytes_per_token","copy_ms_per_forward","pcie_h2d_gbps","pcie_floor_tokens_per_s","perplexity","compare_f16","generated_ids"]
print({k:r.get(k) for k in keys if k in r})
PY
}
case "$1" in
part1)
  # /tmp survives between calls while the machine stays warm; the repository's ignored folders did not.
  if [ -f "$root/mdlA/a" ]; then mkdir -p /tmp/keep && cp "$root/mdlA/a" /tmp/keep/a && ls -la /tmp/keep; fi
  for t in gpu_llm gpu_zipper; do
    timeout 240 "$x/bin/$t" > "$OUT/$t.log" 2>&1; echo "$t rc $?"; grep -E "^test |test result|panicked" "$OUT/$t.log" | head -30
  done
  P=(--synthetic-blocks 2 --pool "$x/models/smollm2-8m.f16")
  [ "${2:-}" = zipper ] || run s7-f16 --synthetic llama-7b --weights f16 --max-tokens 16 "${P[@]}"
  [ "${2:-}" = zipper ] || run s7-int8 --synthetic llama-7b --weights int8 --max-tokens 16 "${P[@]}"
  run s7-zip --synthetic llama-7b --weights zipper --max-tokens 16 "${P[@]}"
  run s7-zip-stream --synthetic llama-7b --weights zipper --stream --max-tokens 16 "${P[@]}"
  run s7-zip-all --synthetic llama-7b --weights zipper --stream-all --max-tokens 8 "${P[@]}"
  [ "${2:-}" = zipper ] || run s7-f16-stream --synthetic llama-7b --weights f16 --stream --max-tokens 8 "${P[@]}"
  run s70-zip-all-16g --synthetic llama-70b --weights zipper --stream-all --vram-budget 16GiB --max-tokens 4 "${P[@]}"
  [ "${2:-}" = zipper ] || run s70-f16-stream-16g --synthetic llama-70b --weights f16 --stream --vram-budget 16GiB --max-tokens 2 "${P[@]}"
  run s70-zip-all-72g --synthetic llama-70b --weights zipper --stream-all --vram-budget 72GiB --max-tokens 4 "${P[@]}"
  [ "${2:-}" = zipper ] || run s70-int8-all-16g --synthetic llama-70b --weights int8 --stream-all --vram-budget 16GiB --max-tokens 4 "${P[@]}"
  [ "${2:-}" = zipper ] || run s70-int8-all-72g --synthetic llama-70b --weights int8 --stream-all --vram-budget 72GiB --max-tokens 4 "${P[@]}"
  [ "${2:-}" = zipper ] || run s7-f16-stream-16g --synthetic llama-7b --weights f16 --stream --vram-budget 16GiB --max-tokens 8 "${P[@]}"
  run s7-zip-all-16g --synthetic llama-7b --weights zipper --stream-all --vram-budget 16GiB --max-tokens 8 "${P[@]}"
  ;;
part3)
  timeout 240 "$x/bin/gpu_llm" > "$OUT/gpu_llm.log" 2>&1; echo "gpu_llm rc $?"; grep -E "^test |test result|panicked" -A2 "$OUT/gpu_llm.log" | head -30
  P=(--synthetic-blocks 2 --pool "$x/models/smollm2-8m.f16" --max-tokens 64)
  run s135-f16 --synthetic smollm2-135m --weights f16 "${P[@]}"
  run s135-f16-stream --synthetic smollm2-135m --weights f16 --stream "${P[@]}"
  run s135-f16-stream-timed --synthetic smollm2-135m --weights f16 --stream --time-copies "${P[@]}"
  run s135-zip --synthetic smollm2-135m --weights zipper "${P[@]}"
  run s135-zip-all --synthetic smollm2-135m --weights zipper --stream-all "${P[@]}"
  run s7-f16-stream --synthetic llama-7b --weights f16 --stream --max-tokens 8 --synthetic-blocks 2 --pool "$x/models/smollm2-8m.f16"
  ;;
part2)
  M=/tmp/keep/m.gguf
  if [ -f /tmp/keep/a ]; then cat /tmp/keep/a "$root/mdlB/b" > $M; else echo "part A missing: run part1 first on this machine"; exit 3; fi
  md5sum $M
  CUZSTD_SMOLLM2_GGUF=$M timeout 240 "$x/bin/gpu_smollm2" --nocapture > "$OUT/gpu_smollm2.log" 2>&1; echo "gpu_smollm2 rc $?"; grep -E "^test |test result|panicked|largest|agreement" "$OUT/gpu_smollm2.log" | head -30
  G=(--model $M --chat --prompt "What is the capital of France?" --max-tokens 64)
  Q=(--model $M --perplexity "$x/alice29.txt" --ppl-tokens 2048)
  for m in "f16" "int8" "zipper" "zipper --stream" "zipper --stream-all" "f16 --stream" "zipper --lossless"; do
    set -- $m; n=$(echo "$m" | tr -d ' -')
    run "g-$n" "${G[@]}" --weights "$@"
    if [ "$1" = f16 ]; then run "p-$n" "${Q[@]}" --weights "$@"; else run "p-$n" "${Q[@]}" --weights "$@" --compare-f16; fi
  done
  ;;
esac
