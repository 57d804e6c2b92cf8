#!/usr/bin/env bash
# The README's test command: installs what is missing (Debian packages), builds everything,
# runs every suite, and ends with one line "N passed, N failed".
#
#   core (GoogleTest, Release)         ctest on build/core
#   core (GoogleTest, ASan + UBSan)    ctest on build/asan
#   extension (pg_regress)             scripts/regress.sh on a temporary preloaded server
#   extension (TAP: restarts, crashes) scripts/tap.sh, one count per test file
#   extension (pg_regress, ASan)       scripts/regress-asan.sh, on an ASan + cassert PostgreSQL
#   extension (TAP, ASan)              scripts/tap-asan.sh, the reliability files on that build
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log_dir="$root/build/test-logs"
mkdir -p "$log_dir"

passed=0
failed=0
failures=()

count() { # name passed failed
  passed=$((passed + $2)); failed=$((failed + $3))
  [ "$3" -gt 0 ] && failures+=("$1 ($3 failed)")
  echo "== $1: $2 passed, $3 failed"
}

step_failed() { # name log
  echo "== $1: FAILED (see $2)"; tail -40 "$2"
  failed=$((failed + 1)); failures+=("$1")
}

echo "== installing dependencies"
if ! bash scripts/install-deps.sh > "$log_dir/deps.log" 2>&1; then
  step_failed "dependencies" "$log_dir/deps.log"
  echo "$passed passed, $failed failed"; exit 1
fi

jobs=$(nproc 2>/dev/null || echo 2)

run_ctest() { # name builddir extra-cmake-args...
  local name=$1 dir=$2; shift 2
  local log="$log_dir/$name.log"
  if ! { cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DALEX_BUILD_BENCH=OFF "$@" &&
         cmake --build "$dir" -j"$jobs"; } > "$log" 2>&1; then
    step_failed "$name build" "$log"; return
  fi
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" > "$log.ctest" 2>&1
  local total fail
  total=$(grep -Eo 'out of [0-9]+' "$log.ctest" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  fail=$(grep -Eo '[0-9]+ tests failed' "$log.ctest" | tail -1 | grep -Eo '^[0-9]+' || echo 0)
  [ "${total:-0}" -eq 0 ] && { step_failed "$name (no tests ran)" "$log.ctest"; return; }
  [ "$fail" -gt 0 ] && grep -E "Failed|\*\*\*" "$log.ctest" | head -20
  count "$name" $((total - fail)) "$fail"
}

run_ctest "core" build/core
run_ctest "core-asan" build/asan -DALEX_SANITIZE=ON

echo "== building and installing the extension"
if ! { make -j"$jobs" && make install; } > "$log_dir/extension.log" 2>&1; then
  step_failed "extension build" "$log_dir/extension.log"
else
  bash scripts/regress.sh > "$log_dir/regress.log" 2>&1
  ok=$(grep -cE '\.\.\. ok' "$log_dir/regress.log" || true)
  bad=$(grep -cE '\.\.\. FAILED' "$log_dir/regress.log" || true)
  if [ $((ok + bad)) -eq 0 ]; then step_failed "pg_regress (no tests ran)" "$log_dir/regress.log"
  else
    [ "$bad" -gt 0 ] && cat "$log_dir/regress.log"
    count "pg_regress" "$ok" "$bad"
  fi

  tap_ok=0; tap_bad=0
  for t in test/t/*.pl; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .pl)
    if bash scripts/tap.sh "$t" > "$log_dir/tap-$name.log" 2>&1; then
      tap_ok=$((tap_ok + 1)); echo "   TAP $name: ok"
    else
      tap_bad=$((tap_bad + 1)); echo "   TAP $name: FAILED"; tail -60 "$log_dir/tap-$name.log"
    fi
  done
  count "TAP" "$tap_ok" "$tap_bad"

  # The pg_regress suite again, with the extension and PostgreSQL built with AddressSanitizer
  # (and PostgreSQL's assertions); the first run builds that PostgreSQL (about 6 minutes).
  bash scripts/regress-asan.sh > "$log_dir/regress-asan.log" 2>&1
  asan_status=$?
  ok=$(grep -cE '\.\.\. ok' "$log_dir/regress-asan.log" || true)
  bad=$(grep -cE '\.\.\. FAILED' "$log_dir/regress-asan.log" || true)
  if [ $((ok + bad)) -eq 0 ]; then step_failed "pg_regress-asan (no tests ran)" "$log_dir/regress-asan.log"
  else
    [ "$asan_status" -ne 0 ] && tail -80 "$log_dir/regress-asan.log"
    # a sanitizer report or a crash fails the run even when every output matched
    [ "$asan_status" -ne 0 ] && [ "$bad" -eq 0 ] && { ok=$((ok - 1)); bad=1; }
    count "pg_regress-asan" "$ok" "$bad"

    # The reliability TAP files again, on the same ASan installation (one count per file).
    asan_prefix=$(bash scripts/asan-postgres.sh | tail -1)   # built by the step above: reused
    tap_ok=0; tap_bad=0
    for t in $(grep -l 'use AlexidxRel' test/t/*.pl); do
      name=$(basename "$t" .pl)
      if ALEXIDX_ASAN_PREFIX="$asan_prefix" bash scripts/tap-asan.sh "$t" > "$log_dir/tap-asan-$name.log" 2>&1; then
        tap_ok=$((tap_ok + 1)); echo "   TAP (ASan) $name: ok"
      else
        tap_bad=$((tap_bad + 1)); echo "   TAP (ASan) $name: FAILED"; tail -80 "$log_dir/tap-asan-$name.log"
      fi
    done
    count "TAP-asan" "$tap_ok" "$tap_bad"
  fi
fi

[ ${#failures[@]} -gt 0 ] && echo "failures: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
