#!/usr/bin/env bash
# Runs the TAP suites under test/t (PostgreSQL::Test::Cluster) as the server's user.
# Usage: scripts/tap.sh [test/t/NAME.pl ...]   (default: every test/t/*.pl)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh

work=$(pg_scratch tap)
cp -r test "$work"/
[ "$(id -u)" -eq 0 ] && chown -R "$PG_USER" "$work"
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(test/t/*.pl)
# A small file system for tests that fill the sidecar's disk (026_disk_full): only root can
# mount one; without it those tests skip and say so.
small_fs=
if [ "$(id -u)" -eq 0 ] && mkdir -p "$work/smallfs" &&
   mount -t tmpfs -o size=512m,mode=0700 tmpfs "$work/smallfs" 2>/dev/null; then
  chown "$PG_USER" "$work/smallfs"
  small_fs="$work/smallfs"
fi
status=0
( cd "$work/test" && as_pg env TESTDIR="$work/test" PG_REGRESS="$PG_REGRESS" ALEXIDX_SMALL_FS="$small_fs" \
    prove -I "$PG_TAP_LIB" -v "${files[@]/#test\//}" ) || status=$?
[ -n "$small_fs" ] && { umount "$small_fs" || umount -l "$small_fs" || true; }
# A server process that died of a crash signal or a failed assertion fails the run even when
# every check passed: the tests kill processes only with SIGKILL, and a crashed sidecar worker
# is restarted quietly. (Exit code 3 tells this apart.)
if server_crashes '4|6|7|8|11' "$work"/test/tmp_check/log/*.log; then
  [ $status -eq 0 ] && status=3
fi
if [ $status -ne 0 ]; then
  # regress_log_*: the test's own output, where a die message lands
  for f in "$work"/test/tmp_check/log/regress_log_* "$work"/test/tmp_check/log/*.log; do
    [ -f "$f" ] || continue
    echo "---- tail of $f ----"; tail -40 "$f"
  done
fi
[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
exit $status
