#!/usr/bin/env bash
# Runs the pg_regress suite (sql/ + expected/) against an AddressSanitizer build of the
# extension. PostgreSQL itself is not instrumented: the ASan runtime is loaded into every
# server process with LD_PRELOAD, leak detection is off (PostgreSQL frees by memory context,
# not by free()), and any report is written to a file under the work directory, which fails
# the run. The ASan build lives in a private, relocated installation (scripts/private-pg.sh):
# the system-wide alexidx.so is neither used nor touched.
#
# Usage: scripts/regress-asan.sh [SRC]   (SRC: source tree, default this checkout's work tree)
# Exit code 0 when every test passes and ASan reported nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh

work=$(pg_scratch asan)
trap 'rm -rf "$work"' EXIT
echo "== building the ASan extension into a private installation"
install_path=$(ALEXIDX_SANITIZE=address bash scripts/private-pg.sh "$work/pg" ${1:+"$1"} | tail -1)
libasan=$(gcc -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "no libasan.so ($libasan)" >&2; exit 1; }

# Probe first: on Debian 12 (glibc 2.36, gcc 12's libasan) an uninstrumented postgres or psql
# with libasan preloaded deadlocks on glibc-internal locks (bindtextdomain at start, freelocale
# at exit); fail fast with a message instead of hanging pg_regress.
if ! timeout 20 env LD_PRELOAD="$libasan" ASAN_OPTIONS=detect_leaks=0 "$install_path/bin/postgres" -V >/dev/null 2>&1; then
  echo "regress-asan: '$install_path/bin/postgres -V' does not run with LD_PRELOAD=$libasan" >&2
  echo "regress-asan: (a known deadlock of uninstrumented binaries with preloaded ASan on this platform); not run" >&2
  exit 2
fi

cp -r sql expected "$work"/
mkdir -p "$work/asan"
cat > "$work/regress.conf" <<CONF
shared_preload_libraries = 'alexidx'
alexidx.memory = 256MB
max_connections = 20
CONF
[ "$(id -u)" -eq 0 ] && chown -R "$PG_USER" "$work"

tests=$(cd sql && ls *.sql | sed 's/\.sql$//' | sort)
status=0
echo "== pg_regress with LD_PRELOAD=$libasan"
( cd "$work" && as_pg env LD_PRELOAD="$libasan" \
    ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=$work/asan/report:detect_stack_use_after_return=0:handle_segv=0" \
    "$PG_REGRESS" --temp-instance="$work/instance" --temp-config="$work/regress.conf" \
    --inputdir="$work" --outputdir="$work" --bindir="$install_path/bin" --dbname=alexidx_regression \
    $tests ) || status=$?
if [ $status -ne 0 ] && [ -f "$work/regression.diffs" ]; then
  echo "---- regression.diffs (first 200 lines) ----"; head -200 "$work/regression.diffs"
fi
reports=$(ls "$work"/asan/ 2>/dev/null | wc -l)
if [ "$reports" -gt 0 ]; then
  echo "---- AddressSanitizer reports ($reports) ----"
  for f in "$work"/asan/*; do echo "== $f"; head -60 "$f"; done
  status=1
else
  echo "== AddressSanitizer: no reports"
fi
grep -q 'alexidx sidecar started' "$work"/log/postmaster.log 2>/dev/null ||
  grep -rq 'alexidx sidecar started' "$work"/instance/data/log "$work"/log 2>/dev/null || true
exit $status
