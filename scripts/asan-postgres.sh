#!/usr/bin/env bash
# Builds PostgreSQL 15 with AddressSanitizer and assertions (--enable-cassert) from Debian's
# postgresql-15 source package, for the sanitizer runs of the extension (make installcheck ASAN=1, prove_installcheck ASAN=1).
#
# Why build PostgreSQL at all: an ASan extension needs the ASan runtime loaded first, and on
# Debian 12 an uninstrumented postgres with libasan LD_PRELOADed deadlocks inside glibc. An
# instrumented server also checks the server's side of every call the extension makes, and
# cassert's checks (locks held, memory contexts, buffer pins) catch what ASan cannot.
#
# Usage: scripts/asan-postgres.sh [DIR]      (default: $ALEXIDX_ASAN_PG_DIR or /var/tmp/alexidx-asan-pg)
# The default lies outside the checkout: the servers run as the unprivileged user, which may
# not be able to reach a checkout under /root.
# Prints the installation prefix on its last line. A finished build (DIR/install with a stamp
# matching the flags) is reused. The source tarball is fetched with a private apt configuration
# (DIR/apt), so the machine's own sources lists are not touched; a postgresql-15_*.orig.tar.bz2
# already in DIR is used as is.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-${ALEXIDX_ASAN_PG_DIR:-/var/tmp/alexidx-asan-pg}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
prefix="$dir/install"
flags="-O1 -g -fsanitize=address -fno-omit-frame-pointer"
configure_args=(--enable-debug --enable-cassert --without-readline --without-zlib --without-icu --without-llvm)
# libstdc++ linked into every binary: ASan intercepts __cxa_throw at start-up, and if libstdc++
# only arrives later (dlopen of alexidx.so), the first C++ throw aborts in the interceptor
# ("real___cxa_throw != 0", gcc 12). The extension throws by design (a full arena, RocksDB errors)
# and converts at its boundary.
libs="-Wl,--no-as-needed -lstdc++ -Wl,--as-needed"   # PostgreSQL links with --as-needed
# the WAL tests read alexidx records with pg_walinspect; the sharding test needs postgres_fdw
# and logs the shards' plans with auto_explain; the serializable test runs two sessions
# through dblink
contrib=(pg_walinspect postgres_fdw auto_explain dblink)
stamp="$prefix/.alexidx-asan-stamp"
want_stamp="$flags ${configure_args[*]} LIBS=$libs contrib=${contrib[*]}"
# PostgreSQL's client programs free nothing at exit by design: leak reports would only be noise
# (and LeakSanitizer's exit code would hide pg_config's output from make).
export ASAN_OPTIONS=detect_leaks=0

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] && [ -x "$prefix/bin/postgres" ]; then
  echo "$prefix"; exit 0
fi

# 1. the source tarball
tarball=$(ls "$dir"/postgresql-15_*.orig.tar.bz2 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$tarball" ]; then
  apt_dir="$dir/apt"
  mirror=${ALEXIDX_DEBIAN_MIRROR:-http://deb.debian.org}
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
  cat > "$apt_dir/sources.list" <<LIST
deb-src [signed-by=$keyring] $mirror/debian bookworm main
deb-src [signed-by=$keyring] $mirror/debian bookworm-updates main
deb-src [signed-by=$keyring] $mirror/debian-security bookworm-security main
LIST
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
            -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
            -o "APT::Sandbox::User=$(id -un)" -o "Debug::NoLocking=1")
  echo "== fetching Debian's postgresql-15 source package" >&2
  apt-get "${apt_opts[@]}" -q update >&2
  # Newest first; a version listed in the index may be missing from the pool (seen for a
  # security update), so fall back to the next one.
  for v in $(apt-cache "${apt_opts[@]}" showsrc postgresql-15 | awk '/^Version:/ {print $2}' | sort -V -r -u); do
    if (cd "$dir" && apt-get "${apt_opts[@]}" -q source --download-only "postgresql-15=$v" >&2); then
      break
    fi
  done
  tarball=$(ls "$dir"/postgresql-15_*.orig.tar.bz2 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$tarball" ] || { echo "could not fetch the postgresql-15 source package" >&2; exit 1; }
fi

# 2. configure, build, install (about 6 minutes on 2 cores)
src="$dir/src"
rm -rf "$src" "$prefix"
mkdir -p "$src"
tar xjf "$tarball" -C "$src" --strip-components=1
echo "== building $(basename "$tarball" .orig.tar.bz2) with AddressSanitizer and assertions" >&2
(
  cd "$src"
  # Called from `make asan-install`, this shell inherits MAKELEVEL=1 (and MAKEFLAGS): then
  # PostgreSQL's makefiles take themselves for a sub-make and skip making their generated
  # headers (utils/errcodes.h, ...), which only the top level does. Build as a top level.
  unset MAKELEVEL MAKEFLAGS MFLAGS
  ./configure --prefix="$prefix" "${configure_args[@]}" CFLAGS="$flags" LDFLAGS="-fsanitize=address" LIBS="$libs"
  make -j"$(nproc)" -s
  make -s install
  make -s -C src/test/regress install   # pg_regress, for PGXS-style suites
  for m in "${contrib[@]}"; do make -s -C "contrib/$m" install; done
) > "$dir/build.log" 2>&1 || { tail -40 "$dir/build.log" >&2; echo "PostgreSQL build failed (see $dir/build.log)" >&2; exit 1; }
chmod -R a+rX "$prefix"
echo "$want_stamp" > "$stamp"
echo "$prefix"
