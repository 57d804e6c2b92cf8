#!/usr/bin/env bash
# Runs the pg_regress suite (scripts/regress.sh) with the extension built with AddressSanitizer,
# on a PostgreSQL that is itself built with AddressSanitizer and assertions
# (scripts/asan-postgres.sh, from Debian's source package; built once, then reused).
#
# The run fails when a test's output differs, when a server process crashed or failed an
# assertion (regress.sh checks the server's log), or when ASan reported anything (reports go to
# files in a scratch directory).
#
# Usage: scripts/regress-asan.sh [SRC]   (SRC: source tree, default this checkout's work tree)
# Exit code 0 when every test passes and nothing was reported.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh

prefix=$(bash scripts/asan-extension.sh ${1:+"$1"} | tail -1)
reports=$(pg_scratch asan-reports)
trap 'rm -rf "$reports"' EXIT

status=0
echo "== pg_regress on PostgreSQL $(ASAN_OPTIONS=detect_leaks=0 "$prefix/bin/pg_config" --version | awk '{print $2}') with AddressSanitizer and assertions"
ALEXIDX_PG_BINDIR="$prefix/bin" \
  ALEXIDX_PG_REGRESS="$prefix/lib/postgresql/pgxs/src/test/regress/pg_regress" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$reports/report" \
  bash scripts/regress.sh || status=$?
asan_reports "$reports" || status=1
exit $status
