#!/usr/bin/env bash
# Square GEMM on the CPU backend and on raw ND4J, one call of each in turn in one process
# (InterleavedGemm), so both see the same machine from moment to moment: a fairer comparison than
# one JMH run on a shared machine whose speed drifts. Each call follows a pause (--pause-ms, 300 by
# default), because OpenBLAS's idle worker spins a whole core for about 100 ms after each call,
# which slowed the next loradrop call by 5-13 %. Prints every pair of calls, then the means, the
# medians and the cpu/ND4J throughput ratio. About a minute with the defaults.
# Usage: scripts/bench-interleaved.sh [--size N] [--type float|double] [--calls N] [--threads N]
#        [--pause-ms N]
# The JVM is $JAVA_HOME/bin/java when JAVA_HOME is set, else java on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/benchmarks-jar.sh
threads=2
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --threads) threads=${args[$((i + 1))]:-2} ;;
    --threads=*) threads=${args[$i]#--threads=} ;;
  esac
done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$threads}
"${JAVA_HOME:+$JAVA_HOME/bin/}java" -Xmx8g --add-modules jdk.incubator.vector \
  -Dorg.bytedeco.javacpp.cachedir="$PWD/benchmarks/target/javacpp-cache" \
  -cp "$jar" dev.loradrop.benchmarks.InterleavedGemm "$@"
