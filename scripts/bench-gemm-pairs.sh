#!/usr/bin/env bash
# Square GEMM on the CPU backend against raw ND4J: GemmBenchmark (JMH, the settings of
# bench-cpu.sh) run in pairs of one-row runs whose order alternates (cpu then ND4J, then ND4J then
# cpu, ...), so that neither side always meets the machine first. On a shared machine whose speed
# drifts by a third over minutes, one JMH run's ratio moves by 10 % or more; the median of the
# pairs' ratios is the figure to quote. Prints each pair's throughputs and cpu / ND4J ratio, then
# the median and the geometric mean of the ratios. About 80 s a pair.
# Usage: scripts/bench-gemm-pairs.sh [--pairs N] [--size N] [--type float|double]
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=5
size=2048
type=float
while [[ $# -gt 0 ]]; do
  case "$1" in
    --pairs) pairs=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --type) type=$2; shift 2 ;;
    *) echo "unknown option: $1 (expected --pairs N, --size N or --type float|double)" >&2; exit 2 ;;
  esac
done
if ! [[ "$pairs" =~ ^[1-9][0-9]*$ && "$size" =~ ^[1-9][0-9]*$ ]]; then
  echo "--pairs and --size take a positive whole number (got --pairs '$pairs', --size '$size')" >&2
  exit 2
fi
if [[ "$type" != float && "$type" != double ]]; then
  echo "--type takes float or double (got '$type')" >&2
  exit 2
fi
source scripts/benchmarks-jar.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
out=$(mktemp -d)
ratios=()
echo "$type GEMM $size^3, 2 threads: ops/s (JMH -f 1 -wi 2 -w 2s -i 5 -r 3s), cpu / ND4J"
for ((i = 1; i <= pairs; i++)); do
  order=$([[ $((i % 2)) -eq 1 ]] && echo cpu,nd4j || echo nd4j,cpu)
  java -jar "$jar" GemmBenchmark -p size="$size" -p type="$type" -p threads=2 -p via="$order" \
    -f 1 -wi 2 -w 2s -i 5 -r 3s \
    -jvmArgs "-Xmx8g --add-modules jdk.incubator.vector -Dorg.bytedeco.javacpp.cachedir=$PWD/benchmarks/target/javacpp-cache" \
    -rf csv -rff "$out/pair$i.csv" > "$out/pair$i.log" 2>&1
  line=$(awk -F, '
    function unq(s) { gsub(/"/, "", s); sub(/\r$/, "", s); return s }
    NR == 1 { for (i = 1; i <= NF; i++) col[unq($i)] = i; next }
    { s[unq($col["Param: via"])] = unq($col["Score"]) + 0 }
    END { printf "%.3f %.3f %.4f", s["cpu"], s["nd4j"], s["cpu"] / s["nd4j"] }' "$out/pair$i.csv")
  read -r cpu nd4j ratio <<< "$line"
  ratios+=("$ratio")
  printf 'pair %2d (%-9s): cpu %7.3f  nd4j %7.3f  cpu/nd4j %.3f\n' "$i" "$order" "$cpu" "$nd4j" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '
  { r[NR] = $1; l += log($1) }
  END {
    m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
    printf "cpu / ND4J over %d pairs: median %.3f, geometric mean %.3f, range %.3f-%.3f\n", NR, m, exp(l / NR), r[1], r[NR]
  }'
echo "(JMH logs: $out)"
