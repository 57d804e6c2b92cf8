#!/usr/bin/env bash
# Runs the pg_regress suite (sql/ + expected/) against a temporary server with alexidx preloaded.
# The extension must be installed (make install). Prints pg_regress's summary; exit code 1 on failure.
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
( cd "$work" && as_pg "$PG_REGRESS" --temp-instance="$work/instance" --temp-config="$work/regress.conf" \
    --inputdir="$work" --outputdir="$work" --bindir="$PG_BIN" --dbname=alexidx_regression \
    $tests ) || status=$?
if [ -f "$work/regression.diffs" ] && [ $status -ne 0 ]; then
  echo "---- regression.diffs (first 300 lines) ----"
  head -300 "$work/regression.diffs"
  mkdir -p results && cp "$work/regression.diffs" "$work"/results/*.out results/ 2>/dev/null || true
fi
rm -rf "$work"
exit $status
