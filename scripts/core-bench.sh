#!/usr/bin/env bash
# Build (Release, build/core) and run the alex core benchmark, write
# build/core-bench.json and print a ratio summary (bench/core/summarize.py).
#
# Usage: scripts/core-bench.sh [--quick] [--no-build] [--summary-only] [extra bench args...]
#   --quick         only 1M-entry datasets (a few minutes instead of ~15)
#   --no-build      skip configure/build, use the existing binary
#   --summary-only  only re-print the summary of an existing build/core-bench.json
#   --stat=S        summary statistic: cpu_min (default), cpu_mean, min, mean
#   --ab=REV        A/B instead: build git revision REV (exported to build/core-ab/src) and this
#                   checkout, run both ROUNDS times alternating (base, new, new, base, ...) with
#                   the same bench args, print per-benchmark ratios new/base (ab_compare.py);
#                   with --no-build, reuses both binaries as they are
#   --rounds=N      rounds for --ab (default 3)
#   extra args are passed to alex_core_bench, e.g. --datasets=uniform,
#   --structs=alex,absl, --sizes=1M,10M, --benchmark_filter=lookup
# Must be run from the repository root (it also cds there itself).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=build/core
OUT_JSON=build/core-bench.json
SUMMARY=build/core-bench-summary.txt

quick=0 build=1 run=1 ab_rev= rounds=3
bench_args=() summary_args=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --summary-only) build=0 run=0 ;;
    --stat=*) summary_args+=("$arg") ;;
    --ab=*) ab_rev=${arg#--ab=} ;;
    --rounds=*) rounds=${arg#--rounds=} ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) bench_args+=("$arg") ;;
  esac
done
(( quick )) && bench_args=(--quick "${bench_args[@]}")

if [[ -n "$ab_rev" ]]; then
  AB_DIR=build/core-ab
  rev=$(git rev-parse --verify "$ab_rev^{commit}")
  if (( build )); then
    rm -rf "$AB_DIR/src"
    mkdir -p "$AB_DIR/src"
    git archive "$rev" | tar -x -C "$AB_DIR/src"
    cmake -S "$AB_DIR/src" -B "$AB_DIR/build" -DCMAKE_BUILD_TYPE=Release -DALEX_BUILD_BENCH=ON -DALEX_BUILD_TESTS=OFF
    cmake --build "$AB_DIR/build" --target alex_core_bench -j"$(nproc)"
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DALEX_BUILD_BENCH=ON
    cmake --build "$BUILD_DIR" --target alex_core_bench -j"$(nproc)"
  fi
  base_bin=$(find "$AB_DIR/build" -type f -name alex_core_bench -perm -u+x | head -n1)
  new_bin=$(find "$BUILD_DIR" -type f -name alex_core_bench -perm -u+x | head -n1)
  [[ -n "$base_bin" && -n "$new_bin" ]] || { echo "alex_core_bench missing (base: '$base_bin', new: '$new_bin')" >&2; exit 1; }
  rm -f "$AB_DIR"/r*-base.* "$AB_DIR"/r*-new.*
  echo "A/B: base = $ab_rev ($(git rev-parse --short "$rev")), new = this checkout ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- alex bench || echo ', modified')); args: ${bench_args[*]}"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  start=$SECONDS
  for ((r = 1; r <= rounds; r++)); do
    order=(base new)
    (( r % 2 == 0 )) && order=(new base)
    for which in "${order[@]}"; do
      bin=$base_bin
      [[ $which == new ]] && bin=$new_bin
      echo "round $r: $which"
      "$bin" "${bench_args[@]}" --benchmark_out="$AB_DIR/r$r-$which.json" --benchmark_out_format=json \
        >"$AB_DIR/r$r-$which.log" 2>&1 || { tail -n 20 "$AB_DIR/r$r-$which.log" >&2; exit 1; }
    done
  done
  echo "benchmark wall time: $((SECONDS - start)) s; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  python3 bench/core/ab_compare.py "${summary_args[@]}" --base-label="$ab_rev" --new-label=new "$AB_DIR" | tee "$AB_DIR/ab-summary.txt"
  exit 0
fi

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
