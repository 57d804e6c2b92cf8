#!/usr/bin/env bash
# Runs TAP files (default: every test/t/*.pl that starts its servers through AlexidxRel.pm)
# with the extension built with AddressSanitizer, on the ASan + cassert PostgreSQL of
# scripts/asan-postgres.sh. Fails on a failed check, on any ASan report, and on a server process
# that crashed or failed an assertion (scripts/tap.sh checks the servers' logs).
#
# Usage: scripts/tap-asan.sh [test/t/NAME.pl ...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh

# ALEXIDX_ASAN_PREFIX: an installation scripts/asan-extension.sh already made (skips the build)
prefix=${ALEXIDX_ASAN_PREFIX:-$(bash scripts/asan-extension.sh | tail -1)}
reports=$(pg_scratch asan-reports)
trap 'rm -rf "$reports"' EXIT
files=("$@")
[ ${#files[@]} -eq 0 ] && mapfile -t files < <(grep -l 'use AlexidxRel' test/t/*.pl)

status=0
ALEXIDX_INSTALL_PATH="$prefix" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$reports/report" \
  bash scripts/tap.sh "${files[@]}" || status=$?
asan_reports "$reports" || status=1
exit $status
