#!/usr/bin/env bash
# Compiled inference vs a bare GEMM with the merged weight vs the uncompiled adapter, on one
# backend, for one adapted 4096x4096 layer and a model of three, batch 64 (JitInferenceBenchmark).
# Short settings for a scalar CPU backend (about a second per 4096x4096x64 GEMM): expect ~6 min.
# Usage: scripts/bench-jit.sh [JMH options], which replace the short defaults below,
#   e.g. scripts/bench-jit.sh -f 1 -wi 1 -i 2 -p size=1024
# Ratios come from one run, so they compare like with like on a noisy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/benchmarks-jar.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [[ $# -eq 0 ]]; then
  set -- -f 1 -wi 1 -w 3s -i 3 -r 4s
fi
java -jar "$jar" JitInferenceBenchmark "$@" \
  -jvmArgs "-Xmx6g --add-modules jdk.incubator.vector -Dloradrop.backend=${LORADROP_BACKEND:-cpu}" \
  -rf csv -rff "$out/result.csv"
echo
echo "Ratios (same run; lower is better for the first, higher is better for the second):"
awk -F, '
  { sub(/\r$/, "") }
  NR == 1 { for (i = 1; i <= NF; i++) { gsub(/"/, "", $i); col[$i] = i }; next }
  { gsub(/"/, "");
    name = $col["Benchmark"]; sub(/.*\./, "", name)
    key = "layers=" $col["Param: layers"] " size=" $col["Param: size"] " batch=" $col["Param: batch"] " rank=" $col["Param: rank"]
    score[key, name] = $col["Score"]; keys[key] = 1 }
  END { for (k in keys) {
          c = score[k, "compiled"]; g = score[k, "bareGemm"]; u = score[k, "uncompiled"]
          printf "  %s: compiled %.1f ms, bare GEMM %.1f ms, uncompiled %.1f ms; compiled/bareGemm = %.3f, uncompiled/compiled = %.3f\n", k, c, g, u, c / g, u / c } }
' "$out/result.csv"
