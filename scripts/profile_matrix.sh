#!/usr/bin/env bash
# The release profile, chosen by measurement (docs/benchmarks.md). For each
# candidate, builds the deployable binaries with `cargo lambda build --release` (as
# `sam build` and `make cold-start` do) with the profile given through cargo's
# CARGO_PROFILE_RELEASE_* settings, then prints the build time, the poller's bootstrap and
# zip sizes, its cold start (the cold-start tool, 20 runs) and one steady 10,000-peer cycle
# by that build's `peerwatch poll` (the bench tool with --binary-only: CPU time and peak RSS).
# Each candidate is a full release build (~12 min here): figures are printed, not asserted.
#
#   scripts/profile_matrix.sh [NAME=OPT:LTO:CODEGEN_UNITS:PANIC ...]
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo-lambda finds zig (the ziglang package beside it in .venv) on PATH, as `sam build` does.
export PATH="$PWD/.venv/bin:$PATH"
CARGO_LAMBDA=${CARGO_LAMBDA:-cargo-lambda}
PY=${PY:-.venv/bin/python}
OUT=target/profile-matrix
mkdir -p "$OUT"
if [ $# -eq 0 ]; then
    set -- default=3:thin:1:abort size=s:fat:1:unwind speed=3:fat:1:unwind
fi
cargo build --offline --workspace --bins

for spec in "$@"; do
    name=${spec%%=*}
    IFS=: read -r opt lto cgu panic <<<"${spec#*=}"
    echo "== $name: opt-level=$opt lto=$lto codegen-units=$cgu panic=$panic" | tee "$OUT/$name.txt"
    start=$(date +%s)
    CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt CARGO_PROFILE_RELEASE_LTO=$lto \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=$cgu CARGO_PROFILE_RELEASE_PANIC=$panic \
    CARGO_PROFILE_RELEASE_STRIP=true \
        sh -c "'$CARGO_LAMBDA' lambda build --release -p peerwatch-poller --bin poller --output-format zip &&
               '$CARGO_LAMBDA' lambda build --release -p peerwatch-cli --bin peerwatch --output-format zip" \
        >"$OUT/$name.build.log" 2>&1
    echo "build: $(( $(date +%s) - start )) s" | tee -a "$OUT/$name.txt"
    rm -rf "$OUT/$name" && mkdir -p "$OUT/$name"
    for bin in poller peerwatch; do
        "$PY" -m zipfile -e "target/lambda/$bin/bootstrap.zip" "$OUT/$name/$bin"
        chmod +x "$OUT/$name/$bin/bootstrap"
    done
    echo "poller bootstrap: $(stat -c %s "$OUT/$name/poller/bootstrap") bytes;" \
         "bootstrap.zip (cargo lambda): $(stat -c %s target/lambda/poller/bootstrap.zip) bytes" | tee -a "$OUT/$name.txt"
    target/debug/cold-start "$OUT/$name/poller/bootstrap" 20 | tee -a "$OUT/$name.txt"
    PEERWATCH_PYTHON="$PY" target/debug/bench --sizes 10000 --binary-only \
        --binary "$OUT/$name/peerwatch/bootstrap" | grep "steady cycle" | tee -a "$OUT/$name.txt"
done
cat "$OUT"/*.txt
