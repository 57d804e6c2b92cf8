#!/usr/bin/env bash
# Range scans over rows deleted but not yet vacuumed: on a throwaway server, two copies of a
# ROWS-row table, one indexed by alexidx and one by btree, lose 90% of a range's rows; then the
# same 10,000-row-wide range query runs on each, alternating, ROUNDS times. The first scan of
# each index visits every dead row and marks its entry (kill_prior_tuple); later scans skip
# the marked entries. Prints the first scan's time and the median of the later ones per index.
#
# Usage: bench/pg/dead-rows.sh [ROWS=1000000] [ROUNDS=15]   (uses the installed extension)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/pg-env.sh
rows=${1:-1000000}
rounds=${2:-15}
work=$(pg_scratch dead-rows)
throwaway_server "$work" 5488 <<CONF
alexidx.memory = 1GB
shared_buffers = 512MB
CONF
as_pg pg_ctl -D "$work/data" -l "$work/log" -w start >/dev/null
lo=$((rows / 10)); hi=$((lo + 100000))
psql_ -At -c 'CREATE EXTENSION alexidx' \
  -c "CREATE TABLE ax (k bigint, v int); INSERT INTO ax SELECT g, g FROM generate_series(1, $rows) g" \
  -c 'CREATE TABLE bt AS SELECT * FROM ax' \
  -c 'CREATE INDEX ax_k ON ax USING alexidx (k)' -c 'CREATE INDEX bt_k ON bt (k)' \
  -c 'VACUUM ANALYZE ax, bt' \
  -c "DELETE FROM ax WHERE k BETWEEN $lo AND $hi AND k % 10 <> 0" \
  -c "DELETE FROM bt WHERE k BETWEEN $lo AND $hi AND k % 10 <> 0" -c 'CHECKPOINT'
# one scan's execution time in ms (EXPLAIN ANALYZE, the index forced)
scan() {
  psql_ -At -c 'SET enable_seqscan = off' -c 'SET enable_bitmapscan = off' \
    -c "EXPLAIN (ANALYZE, TIMING OFF) SELECT sum(v) FROM $1 WHERE k BETWEEN $lo AND $hi" \
    | sed -n 's/^Execution Time: \([0-9.]*\) ms/\1/p'
}
declare -A first later
for t in ax bt; do first[$t]=$(scan $t); later[$t]=""; done
for r in $(seq 1 "$rounds"); do
  for t in ax bt; do later[$t]+="$(scan $t) "; done
done
ax_med=$(echo "${later[ax]}" | median); bt_med=$(echo "${later[bt]}" | median)
echo "range of 100,000 keys with 90% of its rows deleted (not vacuumed), $rows rows, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "first scan:  alexidx ${first[ax]} ms, btree ${first[bt]} ms"
echo "later scans: alexidx $ax_med ms, btree $bt_med ms (median of $rounds each, alternating); ratio $(awk -v a="$ax_med" -v b="$bt_med" 'BEGIN {printf "%.2f", a / b}')"
