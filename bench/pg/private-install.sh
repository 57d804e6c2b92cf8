#!/usr/bin/env bash
# Builds alexidx from this checkout's last commit (HEAD: a consistent, named state even while
# others edit the work tree) and installs
# it into a private, relocated copy of the PostgreSQL 15 installation under DIR, so that a
# benchmark's restarts keep using the library it started with even if somebody runs
# `make install` on a shared machine meanwhile. Prints the relocated bin directory.
#
# Usage: bench/pg/private-install.sh DIR [make VAR=value ...]
# PostgreSQL finds lib/ and share/ relative to its binary: bin is copied, the rest symlinked,
# except the alexidx files, which are real.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. scripts/pg-env.sh
dir=${1:?usage: $0 DIR [make VAR=value ...]}
shift
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bindir=$($PG_CONFIG --bindir)
libdir=$($PG_CONFIG --pkglibdir)
sharedir=$($PG_CONFIG --sharedir)
root="$dir/root"

rm -rf "$root" "$dir/src"
mkdir -p "$root$bindir" "$root$libdir" "$root$sharedir/extension" "$dir/src"
cp -a "$bindir"/. "$root$bindir"/
for f in "$libdir"/*; do
  case "$(basename "$f")" in alexidx*) ;; *) ln -s "$f" "$root$libdir/" ;; esac
done
for f in "$sharedir"/*; do
  [ "$(basename "$f")" = extension ] || ln -s "$f" "$root$sharedir/"
done
for f in "$sharedir"/extension/*; do
  case "$(basename "$f")" in alexidx*) ;; *) ln -s "$f" "$root$sharedir/extension/" ;; esac
done

git archive HEAD | tar xf - -C "$dir/src"
(cd "$dir/src" && make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" "$@" >"$dir/build.log" 2>&1) ||
  { tail -30 "$dir/build.log" >&2; echo "build failed (see $dir/build.log)" >&2; exit 1; }
install -m 755 "$dir/src/alexidx.so" "$root$libdir/alexidx.so"
install -m 644 "$dir/src/alexidx.control" "$dir"/src/alexidx--*.sql "$root$sharedir/extension/"
[ "$(id -u)" -eq 0 ] && chmod -R a+rX "$dir"
[ "$("$root$bindir/pg_config" --pkglibdir)" = "$root$libdir" ] ||
  { echo "the copied PostgreSQL binaries do not relocate" >&2; exit 1; }
echo "$root$bindir"
