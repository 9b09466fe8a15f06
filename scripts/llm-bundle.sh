#!/usr/bin/env bash
# Builds llmb/ (git-ignored) for scripts/llm-device-run.sh: the GPU LLM test binaries and
# zipper-infer (release, xz-compressed with the f16 value pool, the SmolLM2 reference and
# alice29.txt), the runner as llmb/go.sh, and the model split in two halves, mdlA/a and mdlB/b,
# each carried by its own call (a carry holds at most 64 MiB).
#   scripts/llm-bundle.sh      then, on the device: part1 with carry [llmb, mdlA], part2 with [llmb, mdlB]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
shared=${CUZSTD_SHARED:-$root/../shared}
model=${CUZSTD_SMOLLM2_GGUF:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
cargo build --release --features gpu-tests --test gpu_llm --test gpu_zipper --test gpu_smollm2 --example zipper-infer
rm -rf llmb mdlA mdlB
mkdir -p llmb/stage/bin llmb/stage/models llmb/stage/shared/models mdlA mdlB
for t in gpu_llm gpu_zipper gpu_smollm2; do
  cp "$(ls -t target/release/deps/$t-* | grep -v '\.d$' | head -1)" "llmb/stage/bin/$t"
done
cp target/release/examples/zipper-infer llmb/stage/bin/
cp models/*.f16 llmb/stage/models/
cp "$shared/models/smollm2-135m-reference.json" llmb/stage/shared/models/
cp "$shared/bench-data/canterbury/alice29.txt" llmb/stage/
tar -C llmb/stage -cf - . | xz -T0 --lzma2=preset=6,dict=64MiB > llmb/p.tar.xz
rm -rf llmb/stage
cp scripts/llm-device-run.sh llmb/go.sh
if [ -f "$model" ]; then
  head -c 49000000 "$model" > mdlA/a
  tail -c +49000001 "$model" > mdlB/b
fi
du -sh llmb mdlA mdlB
