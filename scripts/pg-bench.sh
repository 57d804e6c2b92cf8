#!/usr/bin/env bash
# PostgreSQL-level benchmark: alexidx next to btree in one throwaway PostgreSQL 15 instance.
#
# Usage: sudo bash scripts/pg-bench.sh [--rows 1M] [--huge] [--no-build] [--check] [--duration S]
#   (default)      1M and 10M rows, sequential and uniform random bigint keys (~20-25 minutes)
#   --rows 1M      only 1M rows (a quick run, ~5 minutes); any comma list works: --rows 1M,10M
#   --huge         adds 100M rows (needs ~16 GB of RAM and an hour or more)
#   --dists D      any of seq,uni,uuid4,uuid7 (default seq,uni)
#   --no-build     use the system-wide installed extension (default: build this checkout's HEAD
#                  commit into a private relocated PostgreSQL tree, leaving the system install alone)
#   --check        run alexidx_check after each dataset
#   --no-standby   skip the streaming standby whose sidecar apply lag is measured under 8 writers
#   --duration S   seconds per pgbench run (default 4 for 1M, 10 for larger sets; lookups and
#                  ranges run 3 alternating rounds of 3 s for 1M, 5 s for larger sets)
# Writes build/bench/pg-bench.csv, pg-bench.txt (the table), pg-bench.png (chart) and
# pg-bench-plans.txt (EXPLAIN ANALYZE of a lookup and a range on each index).
# MAKE_ARGS is passed to make, e.g. MAKE_ARGS='PG_CXXFLAGS=...' for other compiler flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
. scripts/pg-env.sh

build=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --rows|--dists|--duration) args+=("$1" "$2"); shift ;;
    --rows=*|--dists=*|--duration=*|--huge|--check|--no-standby) args+=("$1") ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

[ -x "$PG_BIN/pgbench" ] || { echo "pgbench not found in $PG_BIN (install postgresql-15)" >&2; exit 1; }
command -v gnuplot >/dev/null || echo "note: gnuplot not installed, no chart (apt-get install gnuplot-nox)" >&2

core="ALEX core library (alex/include @ $(git log -1 --format=%h -- alex/include 2>/dev/null || echo '?'))"

work=$(pg_scratch pgbench)
if [ $build -eq 1 ]; then
  # A private build and relocated install: the run keeps its library across its restarts even
  # if the system-wide alexidx.so changes meanwhile (a shared machine).
  echo "building alexidx $(git log -1 --format=%h) into a private PostgreSQL tree under $work/pg ..." >&2
  core="$core; extension built from commit $(git log -1 --format=%h)"
  # shellcheck disable=SC2086
  # HEAD, not the work tree: a consistent, named state even while others edit the files
  mkdir -p "$work/src"
  git archive HEAD | tar xf - -C "$work/src"
  PG_BIN=$(bash scripts/private-pg.sh "$work/pg" "$work/src" ${MAKE_ARGS:-} | tail -1)/bin
  export PG_BIN
fi
cleanup() {
  if [ -f "$work/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

mkdir -p "$root/build/bench"
status=0
python3 "$root/bench/pg/pg_bench.py" --workdir "$work" --out "$root/build/bench" --core "$core" \
  "${args[@]}" || status=$?
if [ $status -ne 0 ] && [ -f "$work/server.log" ]; then
  echo "---- server log (last 40 lines) ----" >&2
  tail -40 "$work/server.log" >&2
fi
exit $status
