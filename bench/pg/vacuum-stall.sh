#!/usr/bin/env bash
# How long a VACUUM of a large delete holds up unrelated commits: on a throwaway server, builds
# an alexidx index over ROWS rows, deletes them all, and runs VACUUM while another session
# commits single-row INSERTs into another alexidx-indexed table as fast as it can. Prints the
# VACUUM's time and the slowest and median commit during it.
#
# Usage: bench/pg/vacuum-stall.sh [ROWS=4000000]   (uses the installed extension)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/pg-env.sh
rows=${1:-4000000}
work=$(pg_scratch vacuum-stall)
throwaway_server "$work" 5487 <<CONF
alexidx.memory = 2GB
max_wal_size = 4GB
CONF
as_pg pg_ctl -D "$work/data" -l "$work/log" -w start >/dev/null
psql_ -c 'CREATE EXTENSION alexidx' \
  -c "CREATE TABLE big (k bigint); INSERT INTO big SELECT g FROM generate_series(1, $rows) g" \
  -c 'CREATE INDEX big_ax ON big USING alexidx (k)' -c 'CREATE TABLE small (k bigint)' \
  -c 'CREATE INDEX small_ax ON small USING alexidx (k)' -c 'DELETE FROM big' -c 'CHECKPOINT'

# commits in a loop until the VACUUM is over; each commit's latency in ms
( for i in $(seq 1 1000000); do
    [ -f "$work/vacuum.done" ] && break
    echo "INSERT INTO small VALUES ($i);"
  done ) | as_pg psql -X -q -h "$work" -p 5487 -d postgres -c '\timing on' -f - 2>&1 \
  | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' > "$work/commits" &
loop=$!
sleep 1
start=$(date +%s.%N)
psql_ -c 'VACUUM big'
end=$(date +%s.%N)
touch "$work/vacuum.done"
wait $loop || true
sort -g "$work/commits" | awk -v v="$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')" \
  '{a[NR]=$1; if ($1 > 100) slow++} END {printf "VACUUM of %s dead entries: %s s; %d commits meanwhile, median %.1f ms, p99 %.1f ms, slowest %.1f ms, %d over 100 ms\n", "'"$rows"'", v, NR, a[int((NR+1)/2)], a[int(NR*0.99)], a[NR], slow}'
