#!/usr/bin/env bash
# A/B of the index's share of INSERT time between two revisions of the extension, on one
# throwaway server: builds each revision's alexidx.so, then alternates them (A B A B ...),
# restarting the server with each, and times the same bulk INSERT into a table with an
# alexidx index and into the same table without one. Prints each run, then the median index
# share (indexed time - plain time) per revision and the ratio B/A.
#
# Usage: bench/pg/ab-insert.sh REV_A REV_B [ROWS=1000000] [ROUNDS=3]
# Installs into the system PostgreSQL (as `make install` does) and leaves REV_B installed
# at the end; run `make install` afterwards to get the work tree's build back.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/pg-env.sh
rev_a=$1 rev_b=$2 rows=${3:-1000000} rounds=${4:-3}
work=$(pg_scratch ab-insert)

for rev in "$rev_a" "$rev_b"; do
  mkdir -p "$work/src-$rev"
  git archive "$rev" | tar xf - -C "$work/src-$rev"
  make -C "$work/src-$rev" -j2 >/dev/null
  cp "$work/src-$rev/alexidx.so" "$work/$rev.so"
done
libdir=$($PG_CONFIG --pkglibdir)

throwaway_server "$work" 5488 <<CONF
alexidx.memory = 2GB
CONF
ms() { # SQL: prints the elapsed milliseconds of one statement
  psql_ -At -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}

declare -A shares
for round in $(seq "$rounds"); do
  for rev in "$rev_a" "$rev_b"; do
    as_pg pg_ctl -D "$work/data" stop -m fast >/dev/null 2>&1 || true
    install -m 755 "$work/$rev.so" "$libdir/alexidx.so"
    as_pg pg_ctl -D "$work/data" -l "$work/log" -w start >/dev/null
    psql_ -c 'DROP TABLE IF EXISTS t, p; DROP EXTENSION IF EXISTS alexidx; CREATE EXTENSION alexidx' \
      -c 'CREATE TABLE t (k bigint, v int); CREATE INDEX t_ax ON t USING alexidx (k)' \
      -c 'CREATE TABLE p (k bigint, v int)' -c 'CHECKPOINT'
    load="SELECT (hashint8(g) % 1000000000)::bigint, g FROM generate_series(1, $rows) g"
    indexed=$(ms "INSERT INTO t $load")
    plain=$(ms "INSERT INTO p $load")
    share=$(awk -v a="$indexed" -v b="$plain" 'BEGIN {printf "%.1f", a - b}')
    echo "round $round $rev: indexed ${indexed} ms, plain ${plain} ms, index share ${share} ms"
    shares[$rev]+="$share "
  done
done
ma=$(echo "${shares[$rev_a]}" | median)
mb=$(echo "${shares[$rev_b]}" | median)
echo "median index share: $rev_a ${ma} ms, $rev_b ${mb} ms, ratio B/A $(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.3f", b / a}')"
