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

# A pg_regress run: one count per test file. A run that failed with every file "ok" (a crash or
# a sanitizer report) counts one of them as failed.
run_regress() { # name script
  local name=$1 log="$log_dir/$1.log" st=0 ok bad
  bash "$2" > "$log" 2>&1 || st=$?
  ok=$(grep -cE '\.\.\. ok' "$log" || true)
  bad=$(grep -cE '\.\.\. FAILED' "$log" || true)
  if [ $((ok + bad)) -eq 0 ]; then step_failed "$name (no tests ran)" "$log"; return 1; fi
  [ "$st" -ne 0 ] && cat "$log"
  [ "$st" -ne 0 ] && [ "$bad" -eq 0 ] && { ok=$((ok - 1)); bad=1; }
  count "$name" "$ok" "$bad"
}

# TAP files run one by one through a runner script: one count per file.
run_tap() { # name runner files...
  local name=$1 runner=$2 ok=0 bad=0 t file; shift 2
  for t in "$@"; do
    file=$(basename "$t" .pl)
    if bash "$runner" "$t" > "$log_dir/$name-$file.log" 2>&1; then
      ok=$((ok + 1)); echo "   $name $file: ok"
    else
      bad=$((bad + 1)); echo "   $name $file: FAILED"; tail -80 "$log_dir/$name-$file.log"
    fi
  done
  count "$name" "$ok" "$bad"
}

echo "== building and installing the extension"
if ! { make -j"$jobs" && make install; } > "$log_dir/extension.log" 2>&1; then
  step_failed "extension build" "$log_dir/extension.log"
else
  run_regress pg_regress scripts/regress.sh
  run_tap TAP scripts/tap.sh test/t/*.pl

  # Both again with the extension and PostgreSQL built with AddressSanitizer (and PostgreSQL's
  # assertions); the first run builds that PostgreSQL (about 6 minutes). The TAP files are the
  # reliability ones, on the installation regress-asan.sh made.
  if run_regress pg_regress-asan scripts/regress-asan.sh; then
    ALEXIDX_ASAN_PREFIX=$(bash scripts/asan-postgres.sh | tail -1) \
      run_tap TAP-asan scripts/tap-asan.sh $(grep -l 'use AlexidxRel' test/t/*.pl)
  fi
fi

[ ${#failures[@]} -gt 0 ] && echo "failures: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
