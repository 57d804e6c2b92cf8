#!/usr/bin/env bash
# Build (Release, build/core) and run the alex core benchmark, write
# build/core-bench.json and print a ratio summary (bench/core/summarize.py).
#
# Usage: scripts/core-bench.sh [--quick] [--no-build] [--summary-only] [extra bench args...]
#   --quick         only 1M-entry datasets (a few minutes instead of ~15)
#   --no-build      skip configure/build, use the existing binary
#   --summary-only  only re-print the summary of an existing build/core-bench.json
#   --stat=S        summary statistic: cpu_min (default), cpu_mean, min, mean
#   extra args are passed to alex_core_bench, e.g. --datasets=uniform,
#   --structs=alex,absl, --sizes=1M,10M, --benchmark_filter=lookup
# Must be run from the repository root (it also cds there itself).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=build/core
OUT_JSON=build/core-bench.json
SUMMARY=build/core-bench-summary.txt

quick=0 build=1 run=1
bench_args=() summary_args=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --summary-only) build=0 run=0 ;;
    --stat=*) summary_args+=("$arg") ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) bench_args+=("$arg") ;;
  esac
done
(( quick )) && bench_args=(--quick "${bench_args[@]}")

if (( build )); then
  # ALEX_BUILD_BENCH=ON explicitly: the cache in build/core may have been configured without it.
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DALEX_BUILD_BENCH=ON
  cmake --build "$BUILD_DIR" --target alex_core_bench -j"$(nproc)"
fi

if (( run )); then
  bin=$(find "$BUILD_DIR" -type f -name alex_core_bench -perm -u+x | head -n1)
  if [[ -z "$bin" ]]; then
    echo "alex_core_bench not found under $BUILD_DIR (is bench/ added by the top-level CMakeLists.txt?)" >&2
    exit 1
  fi
  echo "running: $bin ${bench_args[*]} --benchmark_out=$OUT_JSON --benchmark_out_format=json"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  start=$SECONDS
  "$bin" "${bench_args[@]}" --benchmark_out="$OUT_JSON" --benchmark_out_format=json
  echo "benchmark wall time: $((SECONDS - start)) s; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

echo
python3 bench/core/summarize.py "${summary_args[@]}" "$OUT_JSON" | tee "$SUMMARY"
