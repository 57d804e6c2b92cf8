#!/usr/bin/env bash
# Builds the extension with AddressSanitizer and installs it into the ASan + cassert PostgreSQL
# of scripts/asan-postgres.sh (built first if needed). Prints that installation's prefix on its
# last line: give it to pg_regress (--bindir=PREFIX/bin) or to the TAP helpers
# (ALEXIDX_INSTALL_PATH=PREFIX).
#
# Usage: scripts/asan-extension.sh [SRC]   (SRC: source tree, default this checkout's work tree)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh

prefix=$(bash scripts/asan-postgres.sh | tail -1)
pg_config="$prefix/bin/pg_config"
export ASAN_OPTIONS=detect_leaks=0

build=$(mktemp -d "${TMPDIR:-/tmp}/alexidx-asan-build.XXXXXX")
trap 'rm -rf "$build"' EXIT
copy_source "$build" "${1:-}"
echo "== building the ASan extension against $prefix" >&2
# The C files get PostgreSQL's CFLAGS, which carry -fsanitize=address; the C++ ones get it here.
(cd "$build" &&
   make -j"$(nproc)" PG_CONFIG="$pg_config" \
     PG_CXXFLAGS="-std=c++20 -fPIC -I./alex/include -I./am -fsanitize=address -fno-omit-frame-pointer" \
     SHLIB_LINK="-lrocksdb -lstdc++ -fsanitize=address" &&
   make install PG_CONFIG="$pg_config") > "$build/build.log" 2>&1 ||
  { tail -30 "$build/build.log" >&2; echo "ASan extension build failed" >&2; exit 1; }
asan_symbols=$(nm -D "$prefix/lib/postgresql/alexidx.so" | grep -c __asan_report || true)
[ "$asan_symbols" -gt 0 ] || { echo "alexidx.so is not instrumented" >&2; exit 1; }
chmod -R a+rX "$prefix"
echo "$prefix"
