#!/usr/bin/env bash
# The CPU backend against raw ND4J (OpenBLAS), in one JMH run with the GC profiler:
#   GemmBenchmark          sgemm and dgemm at 1024^3 and 2048^3, 2 threads each side
#   LoRADropStepBenchmark  a LoRA-drop training step (forward + backward, base frozen, float32,
#                          p = 0.1) and inference at (64, 4096, 4096, 16), (32, 1024, 1024, 8) and
#                          (256, 768, 768, 8)
#   MaskBenchmark          a 64 x 4096 ELEMENT mask alone
# Each cpu case runs right before its nd4j peer (JMH orders cases by parameter name; see `via`).
# About 8 minutes with the defaults. Usage: scripts/bench-cpu.sh [JMH options], which replace the
# defaults below. Prints a table of ratios (cpu / nd4j, same run) and GFLOP/s; the share of the
# peak is against 440 GFLOP/s, the float32 FMA peak of 2 AVX-512 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/benchmarks-jar.sh
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
if [[ $# -eq 0 ]]; then
  set -- -f 1 -wi 2 -w 2s -i 5 -r 3s
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
java -jar "$jar" 'GemmBenchmark|LoRADropStepBenchmark|MaskBenchmark' "$@" -prof gc \
  -jvmArgs "-Xmx8g --add-modules jdk.incubator.vector -Dorg.bytedeco.javacpp.cachedir=$PWD/benchmarks/target/javacpp-cache" \
  -rf csv -rff "$out/result.csv" | tee "$out/log.txt"
echo
echo "Results ($out/result.csv):"
awk -F, '
  function unq(s) { gsub(/"/, "", s); sub(/\r$/, "", s); return s }
  NR == 1 { for (i = 1; i <= NF; i++) col[unq($i)] = i; next }
  {
    name = unq($col["Benchmark"]); score = unq($col["Score"]) + 0
    via = unq($col["Param: via"])
    metric = ""
    if (index(name, ":") > 0) { metric = substr(name, index(name, ":") + 1); name = substr(name, 1, index(name, ":") - 1) }
    sub(/^dev\.loradrop\.benchmarks\./, "", name)
    key = name
    if ("Param: size" in col && unq($col["Param: size"]) != "") key = key " " unq($col["Param: type"]) " n=" unq($col["Param: size"])
    if ("Param: shape" in col && unq($col["Param: shape"]) != "") key = key " " unq($col["Param: mode"]) " " unq($col["Param: shape"])
    if (metric == "gc.alloc.rate.norm") { alloc[key, via] = score; next }
    if (metric != "") next
    s[key, via] = score; unit[key] = unq($col["Unit"]); keys[key] = 1
    sz[key] = unq($col["Param: size"]) + 0
  }
  END {
    printf "%-44s %12s %12s %10s %14s %16s\n", "benchmark", "cpu", "nd4j", "cpu/nd4j", "cpu GFLOP/s", "cpu B/op (gc)"
    for (k in keys) {
      c = s[k, "cpu"]; n = s[k, "nd4j"]
      g = ""
      if (k ~ /GemmBenchmark/) { g = sprintf("%.1f (%.0f%%)", 2 * sz[k] ^ 3 * c / 1e9, 100 * 2 * sz[k] ^ 3 * c / 1e9 / 440) }
      printf "%-44s %12.3f %12.3f %10.3f %14s %16.0f   [%s]\n", k, c, n, (n > 0 ? c / n : 0), g, alloc[k, "cpu"], unit[k] | "sort"
    }
    close("sort")
  }' "$out/result.csv"
echo "(ops/s: higher is better, cpu/nd4j > 1 means the CPU backend is faster; ms/op and us/op:"
echo " lower is better, cpu/nd4j < 1 means the CPU backend is faster.)"
