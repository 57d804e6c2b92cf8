#!/usr/bin/env bash
# VACUUM of a column with few distinct values: on a throwaway server, two copies of a
# ROWS-row table whose indexed column holds DISTINCT values (each repeated ROWS / DISTINCT
# times), one indexed by alexidx and one by btree, lose their oldest tenth of rows (the first
# heap pages, so each key's run of entries loses a stretch at its start, in TID order); then
# each is vacuumed, alternating, ROUNDS times from the same state (the deleted rows are put
# back and deleted again between rounds). Prints each index's VACUUM time (median) and the
# ratio. A column of a handful of statuses or types, vacuumed after old rows go, is the case.
#
# Usage: bench/pg/vacuum-duplicates.sh [ROWS=1000000] [DISTINCT=10] [ROUNDS=3]   (uses the installed extension)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/pg-env.sh
rows=${1:-1000000}
distinct=${2:-10}
rounds=${3:-3}
work=$(pg_scratch vacuum-dups)
throwaway_server "$work" 5489 <<CONF
alexidx.memory = 1GB
shared_buffers = 512MB
CONF
as_pg pg_ctl -D "$work/data" -l "$work/log" -w start >/dev/null
old=$((rows / 10))
psql_ -At -c 'CREATE EXTENSION alexidx' \
  -c "CREATE TABLE ax (id bigint, d int); INSERT INTO ax SELECT g, g % $distinct FROM generate_series(1, $rows) g" \
  -c 'CREATE TABLE bt AS SELECT * FROM ax' \
  -c 'CREATE INDEX ax_d ON ax USING alexidx (d)' -c 'CREATE INDEX bt_d ON bt (d)' \
  -c 'VACUUM ANALYZE ax, bt'
# one VACUUM's time in ms, after deleting the oldest rows (and putting them back afterwards)
vacuum_ms() {
  psql_ -At -c "DELETE FROM $1 WHERE id <= $old" -c 'CHECKPOINT' >/dev/null
  local t0 t1
  t0=$(date +%s%N)
  psql_ -At -c "VACUUM $1" >/dev/null
  t1=$(date +%s%N)
  psql_ -At -c "INSERT INTO $1 SELECT g, g % $distinct FROM generate_series(1, $old) g" >/dev/null
  echo $(((t1 - t0) / 1000000))
}
declare -A ms
for r in $(seq 1 "$rounds"); do
  for t in ax bt; do ms[$t]+="$(vacuum_ms $t) "; done
done
ax_med=$(echo "${ms[ax]}" | median); bt_med=$(echo "${ms[bt]}" | median)
echo "VACUUM after deleting the oldest $old of $rows rows, $distinct distinct keys, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "alexidx: ${ms[ax]}ms; btree: ${ms[bt]}ms"
echo "median: alexidx $ax_med ms, btree $bt_med ms; ratio $(awk -v a="$ax_med" -v b="$bt_med" 'BEGIN {printf "%.2f", a / b}')"
