#!/usr/bin/env bash
# The README's test command: installs what is missing (Debian packages), builds everything,
# runs every suite through the Makefile's test targets, and ends with one line
# "N passed, N failed", counting ctest cases, pg_regress tests and TAP assertions.
#
#   core (GoogleTest, Release)         make check-core
#   core (GoogleTest, ASan + UBSan)    make check-core ASAN=1
#   extension (pg_regress)             make installcheck, a temporary preloaded instance
#   extension (TAP: restarts, crashes) make prove_installcheck, file by file
#   extension (pg_regress, ASan)       make installcheck ASAN=1, on an ASan + cassert PostgreSQL
#   extension (TAP, ASan)              make prove_installcheck ASAN=1, the files on AlexidxRel.pm
#
# A suite also fails when a server process died of a crash signal, failed an assertion or drew
# an AddressSanitizer report, even if every check passed: the tests kill processes only with
# SIGKILL, and a crashed sidecar worker is restarted quietly.
#
# PostgreSQL refuses to run as root. As root, the server-side suites run as `postgres` on a
# copy of the tree that user owns (a checkout under /root is out of its reach).
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
. scripts/pg-env.sh

# ---- the core library ----
run_core() { # name make-args...
  local name=$1 log="$log_dir/$1.log" total fail; shift
  make check-core "$@" > "$log" 2>&1
  total=$(grep -Eo 'out of [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  fail=$(grep -Eo '[0-9]+ tests failed' "$log" | tail -1 | grep -Eo '^[0-9]+' || echo 0)
  [ "${total:-0}" -eq 0 ] && { step_failed "$name (no tests ran)" "$log"; return; }
  [ "$fail" -gt 0 ] && grep -E "Failed|\*\*\*" "$log" | head -20
  count "$name" $((total - fail)) "$fail"
}
run_core core
run_core core-asan ASAN=1

# ---- the extension ----
echo "== building and installing the extension"
if ! { make -j"$(nproc 2>/dev/null || echo 2)" && make install; } > "$log_dir/extension.log" 2>&1; then
  step_failed "extension build" "$log_dir/extension.log"
  [ ${#failures[@]} -gt 0 ] && echo "failures: ${failures[*]}"
  echo "$passed passed, $failed failed"; exit 1
fi

# Where the server-side suites run, and as whom.
tree=$(test_tree)
out=$(pg_scratch out)
# A small file system for the tests that fill the sidecar's disk (026_disk_full): only root
# can mount one; without it those tests skip and say so.
small_fs=
if [ "$(id -u)" -eq 0 ] && mkdir -p "$out/smallfs" &&
   mount -t tmpfs -o size=512m,mode=0700 tmpfs "$out/smallfs" 2>/dev/null; then
  chown "$PG_USER" "$out/smallfs"
  small_fs="$out/smallfs"
fi
cleanup() {
  [ -n "$small_fs" ] && { umount "$small_fs" || umount -l "$small_fs" || true; }
  rm -rf "$out"
  [ "$tree" != "$root" ] && rm -rf "$tree"
}
trap cleanup EXIT

pg_make() { as_pg env ALEXIDX_SMALL_FS="$small_fs" make -C "$tree" --no-print-directory "$@"; }

# pg_regress: one count per test. A run whose every test is "ok" but that failed anyway (a
# crash, a sanitizer report, a worker that never started) counts one failure.
run_regress() { # name make-args...
  local name=$1 log="$log_dir/$1.log" st=0 ok bad dir="$out/$1"; shift
  pg_make installcheck TEST_OUT="$dir" "$@" > "$log" 2>&1 || st=$?
  ok=$(grep -cE '\.\.\. ok' "$log" || true)
  bad=$(grep -cE '\.\.\. FAILED' "$log" || true)
  if [ $((ok + bad)) -eq 0 ]; then step_failed "$name (no tests ran)" "$log"; return 1; fi
  local server_log="$dir/regress/log/postmaster.log"
  if ! grep -q 'alexidx sidecar started' "$server_log" 2>/dev/null; then
    echo "== $name: the sidecar worker never started: was the extension loaded?" >> "$log"; st=1
  fi
  server_crashes '[0-9]+' "$server_log" >> "$log" && st=1
  if [ "$st" -ne 0 ]; then
    cat "$log"
    [ -f "$dir/regress/regression.diffs" ] && head -300 "$dir/regress/regression.diffs"
    [ "$bad" -eq 0 ] && { ok=$((ok - 1)); bad=1; }
  fi
  count "$name" "$ok" "$bad"
  [ "$st" -eq 0 ]
}

# TAP: file by file, counting assertions. A file that fails without a failed assertion (it
# died, its plan was wrong, a server process crashed) counts one failure.
run_tap() { # name make-args -- files...
  local name=$1 ok=0 bad=0 t file log st a b dir="$out/$1"; shift
  local args=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done; shift
  for t in "$@"; do
    file=$(basename "$t" .pl); log="$log_dir/$name-$file.log"; st=0
    # each file starts with an empty small file system
    [ -n "$small_fs" ] && find "$small_fs" -mindepth 1 -delete
    pg_make prove_installcheck TEST_OUT="$dir" PROVE_FLAGS=-v PROVE_TESTS="t/$file.pl" "${args[@]}" > "$log" 2>&1 || st=$?
    # every server process's log: a crash signal other than SIGKILL, an assertion, ASan
    server_crashes '4|6|7|8|11' "$dir"/tap/tmp_check/log/*.log >> "$log" && st=3
    a=$(grep -cE '^ok [0-9]+' "$log" || true)
    b=$(grep -cE '^not ok [0-9]+' "$log" || true)
    [ "$st" -ne 0 ] && [ "$b" -eq 0 ] && b=1
    ok=$((ok + a)); bad=$((bad + b))
    if [ "$st" -eq 0 ]; then
      echo "   $name $file: $a passed"
    else
      echo "   $name $file: FAILED ($b failed, $a passed)"; tail -80 "$log"
      for f in "$dir"/tap/tmp_check/log/regress_log_* "$dir"/tap/tmp_check/log/*.log; do
        [ -f "$f" ] || continue
        echo "---- tail of $f ----"; tail -40 "$f"
      done
    fi
  done
  count "$name" "$ok" "$bad"
}

run_regress pg_regress
run_tap TAP -- test/t/*.pl

# Both again with the extension and PostgreSQL built with AddressSanitizer (and PostgreSQL's
# assertions); the first run builds that PostgreSQL (about 6 minutes). The TAP files are the
# reliability ones (those that start their servers through AlexidxRel.pm).
if make asan-install > "$log_dir/asan-install.log" 2>&1; then
  if run_regress pg_regress-asan ASAN=1; then
    run_tap TAP-asan ASAN=1 -- $(grep -l 'use AlexidxRel' test/t/*.pl)
  fi
else
  step_failed "ASan build" "$log_dir/asan-install.log"
fi

[ ${#failures[@]} -gt 0 ] && echo "failures: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
