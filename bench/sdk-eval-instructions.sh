#!/usr/bin/env bash
# Instructions per @wavegate/sdk evaluation in bench/sdk-eval, counted by valgrind's callgrind: repeatable whatever
# else the machine is doing, unlike nanoseconds on a shared machine. Runs the bench's Wavegate loop twice under
# callgrind, with 0 and with N evaluations after the same warm-up, and prints (total(N) - total(0)) / N. V8 runs
# single-threaded (--single-threaded) so that its optimising compiler works in the counted thread at the same points
# in both runs. Needs valgrind (Debian: apt-get install valgrind); takes a few minutes.
#
#   npm run bench:sdk-eval:instructions        N=500000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind not found (Debian: apt-get install valgrind)" >&2; exit 1; }
n=${N:-500000}
# Inside the repository, so that the compiled bench resolves the same node_modules.
out=node_modules/.cache/sdk-eval-instructions
rm -rf "$out" && mkdir -p "$out"
npx tsc --outDir "$out/js" --module commonjs --target es2022 --esModuleInterop --skipLibCheck bench/sdk-eval.bench.ts
count() {
  SDK_EVAL_INSTRUCTIONS=$1 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" \
    node --single-threaded "$out/js/sdk-eval.bench.js" >/dev/null 2>"$out/log.$1" || { cat "$out/log.$1" >&2; exit 1; }
  awk '/^(summary|totals):/ {print $2; exit}' "$out/cg.$1"
}
base=$(count 0)
total=$(count "$n")
echo "sdk-eval instructions: $(( (total - base) / n )) per evaluation of @wavegate/sdk ($n evaluations; node $(node --version))"
