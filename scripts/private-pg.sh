#!/usr/bin/env bash
# Builds the extension out of tree and installs it into a private, relocated copy of the
# PostgreSQL 15 installation, so that a test run does not depend on (or overwrite) the
# alexidx.so installed system-wide, which a shared machine may change at any moment.
#
# Usage: scripts/private-pg.sh DIR [SRC] [make VAR=value ...]
#   DIR   where to put it (DIR/build: the build, DIR/root: the relocated installation)
#   SRC   source tree (default: this checkout's tracked files, as they are in the work tree)
# Prints the install path to give PostgreSQL::Test::Cluster (install_path) or pg_regress
# (--bindir=PATH/bin); the TAP helpers pick it up from ALEXIDX_INSTALL_PATH:
#   ALEXIDX_INSTALL_PATH=$(scripts/private-pg.sh /tmp/axpg | tail -1) make prove_installcheck ...
# (The sanitizer build has a PostgreSQL of its own: scripts/asan-extension.sh.)
#
# How the relocation works: PostgreSQL finds its lib and share directories relative to the
# running binary, so DIR/root mirrors /usr/lib/postgresql/15/{bin,lib} and /usr/share/postgresql/15
# with copied binaries and symlinked libraries/data, except the alexidx files, which are real.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-env.sh

dir=${1:?usage: $0 DIR [SRC] [make VAR=value ...]}
shift
src=
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then src=$1; shift; fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

bindir=$($PG_CONFIG --bindir)
libdir=$($PG_CONFIG --pkglibdir)
sharedir=$($PG_CONFIG --sharedir)
root="$dir/root"

# 1. the relocated installation (rebuilt from scratch each time: it is small)
rm -rf "$root"
mkdir -p "$root$bindir" "$root$libdir" "$root$sharedir/extension"
cp -a "$bindir"/. "$root$bindir"/
for f in "$libdir"/*; do
  case "$(basename "$f")" in alexidx*) continue ;; esac
  ln -s "$f" "$root$libdir/$(basename "$f")"
done
for f in "$sharedir"/*; do
  [ "$(basename "$f")" = extension ] && continue
  ln -s "$f" "$root$sharedir/$(basename "$f")"
done
for f in "$sharedir"/extension/*; do
  case "$(basename "$f")" in alexidx*) continue ;; esac
  ln -s "$f" "$root$sharedir/extension/$(basename "$f")"
done

# 2. the build
rm -rf "$dir/build"
mkdir -p "$dir/build"
copy_source "$dir/build" "$src"
make_args=("$@")
printf '%s\n' "${make_args[@]+"${make_args[@]}"}" | grep -q '^PG_CXXFLAGS=' ||
  make_args+=("PG_CXXFLAGS=-std=c++20 -fPIC -I./alex/include -I./am")
(cd "$dir/build" && make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" "${make_args[@]+"${make_args[@]}"}" >"$dir/build.log" 2>&1) ||
  { tail -30 "$dir/build.log"; echo "build failed (see $dir/build.log)" >&2; exit 1; }

# 3. install the alexidx files into the relocated tree only
install -m 755 "$dir/build/alexidx.so" "$root$libdir/alexidx.so"
install -m 644 "$dir/build/alexidx.control" "$dir"/build/alexidx--*.sql "$root$sharedir/extension/"
[ "$(id -u)" -eq 0 ] && chmod -R a+rX "$dir"
[ "$("$root$bindir/pg_config" --pkglibdir)" = "$root$libdir" ] ||
  { echo "the copied binaries do not relocate" >&2; exit 1; }
echo "$root$(dirname "$bindir")"
