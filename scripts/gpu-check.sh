#!/usr/bin/env bash
# On a machine with an OpenCL GPU: runs the conformance kit and the 100-step training parity test
# on the 'gpu' backend, then times LoRA-drop training steps on backend-cpu and on the GPU and
# prints the ratio of the median step times. Also runs on PoCL (a CPU) as a smoke test, where the
# ratio means nothing.
#
#   scripts/gpu-check.sh [DEVICE]      DEVICE: loradrop.gpu.device, an index or a name part
#   LORADROP_TIMING_ARGS="-Dloradrop.timing.batch=512 -Dloradrop.timing.in=4096" scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

device_args=()
if [ $# -ge 1 ] && [ -n "$1" ]; then
  device_args=("-Dloradrop.gpu.device=$1")
fi
log="backend-gpu/target/gpu-check.log"

if command -v clinfo >/dev/null 2>&1; then
  echo "== OpenCL devices (clinfo -l)"
  clinfo -l || true
fi

echo "== Conformance kit and training parity on the 'gpu' backend"
rm -rf backend-gpu/target/surefire-reports
./mvnw -B -q -pl backend-gpu -am verify ${device_args[@]+"${device_args[@]}"} \
  -Dtest='GpuBackendConformanceTest,TrainingParityTest,GpuBackendProviderTest' \
  -Dsurefire.failIfNoSpecifiedTests=false
reports=backend-gpu/target/surefire-reports
# The no-OpenCL execution writes its own reports (suffix -no-opencl-platform); count only ours.
skipped=$(for f in "$reports"/TEST-*.xml; do
            case "$f" in *no-opencl-platform*) ;; *) grep -o '<testsuite[^>]*' "$f" ;; esac
          done | grep -o 'skipped="[0-9]*"' | tr -dc '0-9\n' | awk '{s+=$1} END {print s+0}')
if [ "$skipped" != "0" ]; then
  echo "!! $skipped test(s) were skipped: the gpu backend is unavailable here:" >&2
  grep -ho 'skipped message="[^"]*"' "$reports"/TEST-*Contract*.xml 2>/dev/null | head -n 1 >&2 || true
  exit 1
fi
echo "   passed, nothing skipped"

echo "== Training-step timing, cpu vs gpu"
# shellcheck disable=SC2086
./mvnw -B -pl backend-gpu -am test ${device_args[@]+"${device_args[@]}"} -Dloradrop.timing=true ${LORADROP_TIMING_ARGS:-} \
  -Dtest=TrainingStepTiming -Dsurefire.failIfNoSpecifiedTests=false > "$log" 2>&1 \
  || { tail -n 60 "$log" >&2; exit 1; }
grep -o 'LoRA-drop training step.*' "$log" | tail -n 1
