#!/usr/bin/env bash
# Restart to the first answer on one large table, without the rest of pg-bench.sh: a
# throwaway server, ROWS uniform random bigint keys (default 100M), an alexidx index and a
# btree index on copies of the column, then ROUNDS clean restarts and ROUNDS crash restarts
# (pg_ctl stop -m immediate), each timed from pg_ctl start to the first row returned through
# each index, alternating which index is asked first. Uses the installed extension.
#
# Usage: sudo bash bench/pg/restart-huge.sh [ROWS] [ROUNDS]
#   about 25 minutes and 25 GB of disk for 100M rows; alexidx.memory is set to 40 B per row
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. scripts/pg-env.sh

rows=${1:-100000000}
rounds=${2:-3}
dir=$(pg_scratch restart-huge)
data=$dir/data
port=5497
trap 'as_pg pg_ctl -D "$data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

as_pg initdb -D "$data" -A trust >/dev/null
cat >>"$data/postgresql.conf" <<EOF
shared_preload_libraries = 'alexidx'
alexidx.memory = '$(( rows * 40 / 1048576 + 256 ))MB'
port = $port
unix_socket_directories = '$dir'
shared_buffers = 1GB
max_wal_size = 20GB
checkpoint_timeout = 1h
maintenance_work_mem = 2GB
autovacuum = off
jit = off
EOF
q() { as_pg psql -X -q -At -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d postgres -c "$1"; }
now() { date +%s.%N; }

as_pg pg_ctl -D "$data" -l "$dir/log" -w start >/dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $rows rows"
q "CREATE EXTENSION alexidx"
# the same keys in both tables: a 64-bit hash of the row number, uniform over the key space
q "CREATE TABLE ax (k bigint, v bigint)"
q "INSERT INTO ax SELECT hashint8extended(g, 42), g FROM generate_series(1, $rows) g"
q "CREATE TABLE bt AS SELECT * FROM ax"
t0=$(now); q "CREATE INDEX ax_k ON ax USING alexidx (k)"; t1=$(now)
q "CREATE INDEX bt_k ON bt (k)"; t2=$(now)
q "VACUUM ANALYZE ax"; q "VACUUM ANALYZE bt"
printf 'CREATE INDEX: alexidx %.1f s, btree %.1f s\n' "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"

probe=$(( rows / 2 ))
key=$(q "SELECT k FROM ax WHERE v = $probe")
first_answer() { # TABLE -> seconds from start (caller's t0) to its first indexed row
  local got
  got=$(q "SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT v FROM $1 WHERE k = $key" | tail -1)
  [ "$got" = "$probe" ] || { echo "wrong answer from $1: '$got'" >&2; exit 1; }
}
measure() { # STOP-MODE LABEL
  local mode=$1 label=$2 i t ts ta tb
  for i in $(seq 1 "$rounds"); do
    for t in ax bt; do
      [ $(( i % 2 )) -eq 0 ] && t=$([ "$t" = ax ] && echo bt || echo ax)
      as_pg pg_ctl -D "$data" -m "$mode" -w stop >/dev/null
      ts=$(now)
      as_pg pg_ctl -D "$data" -l "$dir/log" -w start >/dev/null
      first_answer "$t"
      eval "r_$t=$(echo "$(now) - $ts" | bc)"
    done
    printf '%s %d: alexidx %.2f s, btree %.2f s, ratio %.2f\n' "$label" "$i" "$r_ax" "$r_bt" \
      "$(echo "$r_ax / $r_bt" | bc -l)"
  done
}
measure fast "clean restart"
measure immediate "crash restart"
grep -E "alexidx( sidecar)?: (took|copied|wrote|preloaded)" "$dir/log" | sed 's/^.*LOG: */  log: /' | tail -8
