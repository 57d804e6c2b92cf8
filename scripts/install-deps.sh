#!/usr/bin/env bash
# Installs, from Debian's packages, everything alexidx needs to build, test, benchmark and demo.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  postgresql-15 postgresql-server-dev-15 postgresql-contrib postgresql-15-repack
  librocksdb-dev libboost-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libipc-run-perl gnuplot-nox python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
