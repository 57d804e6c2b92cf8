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
