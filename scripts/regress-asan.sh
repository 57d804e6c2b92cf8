#!/usr/bin/env bash
# Runs the pg_regress suite (sql/ + expected/) with the extension built with AddressSanitizer,
# on a PostgreSQL that is itself built with AddressSanitizer and assertions
# (scripts/asan-postgres.sh, from Debian's source package; built once, then reused).
#
# The run fails when a test's output differs, when ASan reports anything (reports go to files
# under the work directory), or when any server process died of a signal or a failed assertion
# during the run, even if the tests' output came out right (a crashed sidecar worker is
# restarted and could otherwise go unnoticed).
#
# Usage: scripts/regress-asan.sh [SRC]   (SRC: source tree, default this checkout's work tree)
# Exit code 0 when every test passes and nothing was reported.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh

prefix=$(bash scripts/asan-extension.sh ${1:+"$1"} | tail -1)
asan_pg_config="$prefix/bin/pg_config"
asan_regress="$prefix/lib/postgresql/pgxs/src/test/regress/pg_regress"
export ASAN_OPTIONS=detect_leaks=0

work=$(pg_scratch asan)
trap 'rm -rf "$work"' EXIT

cp -r sql expected "$work"/
mkdir -p "$work/asan"
cat > "$work/regress.conf" <<CONF
shared_preload_libraries = 'alexidx'
alexidx.memory = 256MB
max_connections = 20
alexidx.sweep_interval = 1
CONF
[ "$(id -u)" -eq 0 ] && chown -R "$PG_USER" "$work"

tests=$(cd sql && ls *.sql | sed 's/\.sql$//' | sort)
status=0
echo "== pg_regress on PostgreSQL $("$asan_pg_config" --version | awk '{print $2}') with AddressSanitizer and assertions"
( cd "$work" && as_pg env ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$work/asan/report" \
    "$asan_regress" --temp-instance="$work/instance" --temp-config="$work/regress.conf" \
    --inputdir="$work" --outputdir="$work" --bindir="$prefix/bin" --dbname=alexidx_regression \
    $tests ) || status=$?
if [ $status -ne 0 ] && [ -f "$work/regression.diffs" ]; then
  echo "---- regression.diffs (first 200 lines) ----"; head -200 "$work/regression.diffs"
fi

log="$work/log/postmaster.log"
if ! grep -q 'alexidx sidecar started' "$log" 2>/dev/null; then
  echo "== the sidecar worker never started: was the extension loaded?"; status=1
fi
if grep -nE 'TRAP:|terminated by signal|was terminated by exception' "$log" 2>/dev/null; then
  echo "== a server process crashed or failed an assertion (above); first trap:"
  grep -m1 -A25 'TRAP:' "$log" || true
  status=1
fi
reports=$(ls "$work"/asan/ 2>/dev/null | wc -l)
if [ "$reports" -gt 0 ]; then
  echo "---- AddressSanitizer reports ($reports) ----"
  for f in "$work"/asan/*; do echo "== $f"; head -80 "$f"; done
  status=1
else
  echo "== AddressSanitizer: no reports"
fi
exit $status
