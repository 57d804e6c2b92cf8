#!/usr/bin/env bash
# A five-minute tour of alexidx for newcomers; no PostgreSQL knowledge needed.
#
#   sudo bash scripts/demo.sh        (or: make demo)
#
# On a Debian 12 machine it installs what is missing (scripts/install-deps.sh), builds and
# installs the extension, starts a throwaway PostgreSQL 15 server with alexidx preloaded,
# loads 3 million time-series events into two identical tables, indexes one with alexidx and
# the other with PostgreSQL's own btree, runs typical queries on both with EXPLAIN ANALYZE,
# prints a comparison, then stops and deletes the server. Nothing else on the machine changes
# (apart from the packages and the installed extension).
#
# Options: --no-build (use the installed extension), --rows N (default 3000000).
# MAKE_ARGS is passed to make.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
rows=3000000
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --rows) rows=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo

step "1/6 Installing missing Debian packages (PostgreSQL 15, RocksDB, compilers)"
bash scripts/install-deps.sh
echo "ok"

if [ $build -eq 1 ]; then
  step "2/6 Building and installing the extension (make && make install)"
  # shellcheck disable=SC2086
  make -j"$(nproc)" ${MAKE_ARGS:-} >/dev/null
  # shellcheck disable=SC2086
  $SUDO make install ${MAKE_ARGS:-} >/dev/null
  echo "installed into $(pg_config --pkglibdir 2>/dev/null || echo the PostgreSQL library directory)"
else
  step "2/6 Using the installed extension (--no-build)"
fi

. scripts/pg-env.sh
work=$(pg_scratch demo)
port=54330
cleanup() {
  if [ -f "$work/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 ||
      as_pg "$PG_BIN/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

step "3/6 Starting a throwaway PostgreSQL 15 server in $work"
as_pg "$PG_BIN/initdb" -D "$work/data" -U postgres --no-sync -E UTF8 --locale=C >/dev/null 2>&1
cat >> "$work/data/postgresql.auto.conf" <<CONF
# alexidx keeps its trees in shared memory: it must be loaded when the server starts,
# and alexidx.memory must hold every alexidx index (about 40 bytes per row is plenty).
shared_preload_libraries = 'alexidx'
alexidx.memory = 512MB
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
shared_buffers = 1GB
maintenance_work_mem = 512MB
jit = off
CONF
as_pg "$PG_BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
psql_() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres "$@"; }
psql_ -d postgres -c "CREATE DATABASE demo;"
psql_ -d demo -c "CREATE EXTENSION alexidx;"
echo "server up, alexidx $(psql_ -d demo -Atc 'SELECT alexidx_version()') loaded"

step "4/6 Loading $rows events (30 days of readings from 1,000 devices) into two identical tables"
cat <<'TXT'
   events_ax and events_bt: id bigint, ts timestamptz, device_id int, payload text
   Events arrive roughly in time order (a few seconds of jitter), as from a real fleet.
TXT
psql_ -d demo <<SQL
CREATE TABLE events_ax (id bigint, ts timestamptz, device_id int, payload text);
INSERT INTO events_ax
SELECT g,
       timestamptz '2024-06-01 00:00+00'
         + make_interval(secs => g * (30 * 86400.0 / $rows) + (random() * 10 - 5)),
       1 + (random() * 999)::int,
       'temp=' || round((20 + random() * 15)::numeric, 2) || ' battery=' || (random() * 100)::int
FROM generate_series(1, $rows) g;
CREATE TABLE events_bt AS SELECT * FROM events_ax;
VACUUM ANALYZE events_ax;
VACUUM ANALYZE events_bt;
SQL
psql_ -d demo -c "SELECT count(*) AS events, min(ts), max(ts), pg_size_pretty(pg_relation_size('events_ax')) AS table_size FROM events_ax;"

step "5/6 Creating the indexes: alexidx on events_ax(ts), btree on events_bt(ts)"
# Timing of each CREATE INDEX as psql reports it.
build_ms() { psql_ -d demo -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'; }
echo "   CREATE INDEX events_ax_ts ON events_ax USING alexidx (ts);"
ax_ms=$(build_ms "CREATE INDEX events_ax_ts ON events_ax USING alexidx (ts);")
echo "   CREATE INDEX events_bt_ts ON events_bt (ts);"
bt_ms=$(build_ms "CREATE INDEX events_bt_ts ON events_bt (ts);")
psql_ -d demo -c "CHECKPOINT;" >/dev/null
psql_ -d demo -c "SELECT entries, depth, model_nodes, data_nodes, pg_size_pretty(shared_bytes) AS shared_memory,
                         round(avg_search_distance::numeric, 2) AS avg_search_distance,
                         pg_size_pretty(sidecar_bytes) AS sidecar_on_disk
                  FROM alexidx_stats('events_ax_ts');"
echo "   (alexidx_stats: the tree in shared memory, and its durable copy in the RocksDB sidecar)"

step "6/6 Typical queries, with EXPLAIN ANALYZE"
echo "   Sequential scans are switched off so that both tables answer through their index."
point_ts=$(psql_ -d demo -Atc "SELECT ts FROM events_ax WHERE id = $((rows / 3 + 7))")
declare -a names queries
names+=("point lookup (ts = an existing timestamp)")
queries+=("SELECT id, device_id, payload FROM %T WHERE ts = '$point_ts'")
names+=("last hour (count, average of a column)")
queries+=("SELECT count(*), avg(device_id) FROM %T WHERE ts >= (timestamptz '2024-07-01 00:00+00' - interval '1 hour')")
names+=("10 newest events (ORDER BY ts DESC LIMIT 10)")
queries+=("SELECT id, ts, device_id FROM %T ORDER BY ts DESC LIMIT 10")
names+=("count in a 6-hour window")
queries+=("SELECT count(*) FROM %T WHERE ts BETWEEN '2024-06-15 00:00+00' AND '2024-06-15 06:00+00'")

psql_ -d demo <<'SQL' >/dev/null
CREATE FUNCTION exec_ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  SET LOCAL enable_seqscan = off;
  EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO plan;
  RETURN (plan->0->>'Execution Time')::float8;
END $$;
CREATE FUNCTION fmt_ms(ms float8) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN ms < 1 THEN round((ms * 1000)::numeric, 1) || ' us'
              ELSE round(ms::numeric, 2) || ' ms' END $$;
CREATE TABLE results (pos int, what text, alexidx text, btree text, ratio numeric);
SQL
{
  echo "INSERT INTO results VALUES (1, 'CREATE INDEX time', '$(printf '%.0f' "$ax_ms") ms', '$(printf '%.0f' "$bt_ms") ms', round($ax_ms / $bt_ms, 2));"
  echo "INSERT INTO results SELECT 2, 'size on disk', pg_size_pretty(a), pg_size_pretty(b), round(a::numeric / b, 2)
        FROM (SELECT pg_relation_size('events_ax_ts') + (SELECT sidecar_bytes FROM alexidx_stats('events_ax_ts')) AS a,
                     pg_relation_size('events_bt_ts') AS b) s;"
  echo "INSERT INTO results SELECT 3, 'shared memory', pg_size_pretty(shared_bytes), 'pages in shared_buffers', NULL
        FROM alexidx_stats('events_ax_ts');"
} | psql_ -d demo >/dev/null

for i in "${!names[@]}"; do
  q_ax=${queries[$i]//%T/events_ax}
  q_bt=${queries[$i]//%T/events_bt}
  printf '\n%s-- %s%s\n' "$bold" "${names[$i]}" "$plain"
  echo "$q_ax;"
  psql_ -d demo -c "SET enable_seqscan = off;" -c "EXPLAIN (ANALYZE, COSTS OFF) $q_ax;" | sed 's/^/   /'
  echo "   same query on the btree table:"
  psql_ -d demo -c "SET enable_seqscan = off;" -c "EXPLAIN (ANALYZE, COSTS OFF) $q_bt;" |
    grep -E "Scan|Execution Time" | sed 's/^/   /'
  # average execution time of 25 runs each, after a warm-up run in the same session
  sq_ax=${q_ax//\'/\'\'}; sq_bt=${q_bt//\'/\'\'}
  psql_ -d demo >/dev/null <<SQL
SELECT exec_ms('$sq_ax'), exec_ms('$sq_bt');  -- first run in a session pays for catalog lookups
INSERT INTO results
SELECT 10 + $i, '${names[$i]//\'/\'\'}', fmt_ms(a), fmt_ms(b), round((a / b)::numeric, 2)
FROM (SELECT (SELECT avg(exec_ms('$sq_ax')) FROM generate_series(1, 25)) AS a,
             (SELECT avg(exec_ms('$sq_bt')) FROM generate_series(1, 25)) AS b) s;
SQL
done

printf '\n%s== Summary: alexidx next to btree on %s events%s\n' "$bold" "$rows" "$plain"
psql_ -d demo -c "SELECT what, alexidx, btree, ratio AS \"alexidx/btree\" FROM results ORDER BY pos;"
cat <<'TXT'
Query times: average server-side execution time of 25 runs (EXPLAIN ANALYZE), caches warm.
ratio < 1: alexidx smaller or faster. The alexidx tree lives in shared memory (alexidx.memory);
its durable copy is the RocksDB sidecar in $PGDATA/pg_alexidx. See README.md for more.
TXT
step "Stopping and removing the throwaway server"
cleanup
trap - EXIT INT TERM
echo "done"
