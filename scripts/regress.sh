#!/usr/bin/env bash
# Runs the pg_regress suite (sql/ + expected/) against a temporary server with alexidx preloaded.
# The extension must be installed (make install). Prints pg_regress's summary; exit code 1 on
# failure. A run also fails when the sidecar worker never started, or when a server process died
# of a signal or a failed assertion, even if every output matched: nothing in the suite kills a
# process, and a crashed sidecar worker is restarted quietly.
#
# ALEXIDX_PG_BINDIR and ALEXIDX_PG_REGRESS: another installation's binaries and pg_regress
# (scripts/regress-asan.sh); the environment (ASAN_OPTIONS, say) reaches the server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh

work=$(pg_scratch regress)
cp -r sql expected "$work"/
cat > "$work/regress.conf" <<CONF
shared_preload_libraries = 'alexidx'
alexidx.memory = 256MB
max_connections = 20
alexidx.sweep_interval = 1
CONF
[ "$(id -u)" -eq 0 ] && chown -R "$PG_USER" "$work"

tests=$(cd sql && ls *.sql | sed 's/\.sql$//' | sort)
status=0
( cd "$work" && as_pg "${ALEXIDX_PG_REGRESS:-$PG_REGRESS}" --temp-instance="$work/instance" \
    --temp-config="$work/regress.conf" --inputdir="$work" --outputdir="$work" \
    --bindir="${ALEXIDX_PG_BINDIR:-$PG_BIN}" --dbname=alexidx_regression $tests ) || status=$?
if [ -f "$work/regression.diffs" ] && [ $status -ne 0 ]; then
  echo "---- regression.diffs (first 300 lines) ----"
  head -300 "$work/regression.diffs"
  mkdir -p results && cp "$work/regression.diffs" "$work"/results/*.out results/ 2>/dev/null || true
fi
log="$work/log/postmaster.log"
if ! grep -q 'alexidx sidecar started' "$log" 2>/dev/null; then
  echo "== the sidecar worker never started: was the extension loaded?"; status=1
fi
server_crashes '[0-9]+' "$log" && status=1
rm -rf "$work"
exit $status
