#!/usr/bin/env bash
# Long reliability scenarios, kept out of CI (scripts/test-all.sh). They take from tens of
# minutes to hours and need several GB of memory and disk:
#
#   test/t/long/100_big_transaction.pl  one 10M-row transaction (ALEXIDX_LONG_ROWS), immediate
#                                       stop, every row found through the index; a second one
#                                       killed mid-flush leaves nothing after VACUUM
#                                       (alexidx.memory = 4GB)
#   test/t/long/101_concurrency_long.pl 8 inserting clients, 3 rounds of ALEXIDX_LONG_SECS
#                                       (default 300) seconds, each ended by a SIGKILL of the
#                                       whole server; no acknowledged row lost
#   test/t/013_concurrency.pl           repeated ALEXIDX_LONG_REPEAT times (default 5)
#
# Usage: scripts/reliability-long.sh [TAP files...]   (the extension must be installed, or set
# ALEXIDX_INSTALL_PATH to a scripts/private-pg.sh installation). Ends with "N passed, N failed".
# Each file runs through `make prove_installcheck`, as the server's user when run as root.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh
passed=0; failed=0
tree=$(test_tree)
out=$(pg_scratch long)
trap 'rm -rf "$out"; [ "$tree" != "$(pwd)" ] && rm -rf "$tree"' EXIT
tap() { # test/t/FILE.pl
  as_pg make -C "$tree" --no-print-directory prove_installcheck TEST_OUT="$out" PROVE_FLAGS=-v \
    PROVE_TESTS="${1#test/}"
}
run() { # name command...
  local name=$1; shift
  local start=$SECONDS
  if "$@" > "/tmp/alexidx-long-$name.log" 2>&1; then passed=$((passed + 1)); echo "ok   $name ($((SECONDS - start)) s)"
  else failed=$((failed + 1)); echo "FAIL $name ($((SECONDS - start)) s), log: /tmp/alexidx-long-$name.log"; tail -30 "/tmp/alexidx-long-$name.log"; fi
  grep -E '^# .*lost = ' "/tmp/alexidx-long-$name.log" || true
}
if [ $# -gt 0 ]; then
  for t in "$@"; do run "$(basename "$t" .pl)" tap "$t"; done
else
  for t in test/t/long/*.pl; do run "$(basename "$t" .pl)" tap "$t"; done
  for i in $(seq 1 "${ALEXIDX_LONG_REPEAT:-5}"); do run "013_concurrency_$i" tap test/t/013_concurrency.pl; done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
