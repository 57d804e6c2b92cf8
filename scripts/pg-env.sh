# Sourced by the other scripts: where PostgreSQL 15 lives, and who runs it.
# PostgreSQL refuses to run as root; as root we run servers as the unprivileged `postgres` user
# (created by the postgresql-common package).
PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BIN/pg_config
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config)
PGXS_DIR=$(cd "$(dirname "$($PG_CONFIG --pgxs)")/../.." && pwd)
PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress"
PG_TAP_LIB="$PGXS_DIR/src/test/perl"
export PATH="$PG_BIN:$PATH"

if [ "$(id -u)" -eq 0 ]; then
  PG_USER=postgres
  as_pg() { runuser -u "$PG_USER" -- env PATH="$PATH" "$@"; }
else
  PG_USER=$(id -un)
  as_pg() { "$@"; }
fi

# A scratch directory the server's user owns.
pg_scratch() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/alexidx-$1.XXXXXX")
  chmod 755 "$d"
  [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$d"
  echo "$d"
}

# A throwaway server for the scripts in bench/pg: initdb into DIR/data with alexidx preloaded,
# the unix socket in DIR on PORT, autovacuum off, and the postgresql.conf lines given on stdin;
# stopped and removed (with DIR) when the script exits. The caller starts it (pg_ctl -D
# DIR/data -l DIR/log -w start). psql_ runs psql on it (quiet, stopping at the first error).
throwaway_server() { # DIR PORT
  SERVER_DIR=$1 SERVER_PORT=$2
  trap 'as_pg pg_ctl -D "$SERVER_DIR/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$SERVER_DIR"' EXIT
  as_pg initdb -D "$SERVER_DIR/data" -A trust >/dev/null 2>&1
  {
    printf "shared_preload_libraries = 'alexidx'\nport = %s\nunix_socket_directories = '%s'\nautovacuum = off\n" \
      "$SERVER_PORT" "$SERVER_DIR"
    cat
  } >> "$SERVER_DIR/data/postgresql.conf"
}
psql_() { as_pg psql -X -q -h "$SERVER_DIR" -p "$SERVER_PORT" -d postgres -v ON_ERROR_STOP=1 "$@"; }
# The median of the numbers on stdin, separated by spaces or newlines (the bench/pg scripts'
# alternating rounds).
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Prints the tree that the server-side test targets (make installcheck, prove_installcheck)
# run in: this checkout, or as root a copy of it that the server's user owns (PostgreSQL
# refuses to run as root, and a checkout under /root is out of that user's reach). The caller
# removes a copy when done (it is not this checkout).
test_tree() {
  if [ "$(id -u)" -eq 0 ]; then
    local d
    d=$(pg_scratch tree)
    copy_source "$d"
    chown -R "$PG_USER" "$d"
    echo "$d"
  else
    pwd
  fi
}

# Copies a source tree to DEST for an out-of-tree build: SRC's files minus build outputs, or,
# without SRC, this checkout's tracked files as they are in the work tree.
copy_source() { # DEST [SRC]
  if [ -n "${2:-}" ]; then
    (cd "$2" && tar cf - --exclude='./build' --exclude='*.o' --exclude='*.so' .) | tar xf - -C "$1"
  else
    git ls-files -z | xargs -0 tar cf - | tar xf - -C "$1"
  fi
}

# Prints the lines of server logs that show a process dying of one of SIGNALS (a regex of
# signal numbers) or a failed assertion, then the first assertion's backtrace; returns 0 if
# there were any.
server_crashes() { # SIGNALS LOG...
  local signals=$1; shift
  grep -HnE "TRAP:|terminated by signal ($signals)[^0-9]|terminated by exception|AddressSanitizer" "$@" 2>/dev/null || return 1
  echo "== a server process crashed or failed an assertion (above)"
  grep -h -m1 -A25 'TRAP:' "$@" 2>/dev/null || true
  return 0
}
