#!/usr/bin/env bash
# Installs every Debian package sluice needs to build, test and benchmark.
# Idempotent: checks with dpkg first and calls apt-get only for what is missing.
# Works as root; otherwise uses sudo.
set -euo pipefail

# --bench adds what tests/bench/run compares against: nginx, redis-server and
# redis-benchmark (redis-tools), and Node.js with npm for the JavaScript SDKs
# unless a node and an npm are already on PATH (e.g. from another apt source).
# Services are kept from starting on install: the benchmark starts its own on
# loopback.
PACKAGES=(
  build-essential cmake pkg-config clang-format
  liblua5.4-dev lua5.4 lua-busted lua-check
  libev-dev libcjson-dev libxxhash-dev libhttp-parser-dev libsqlite3-dev libedit-dev sqlite3
  wrk curl
  python3 python3-scipy python3-mpmath
  clang-14 libclang-rt-14-dev
  lcov
)

if [ "${1:-}" = --bench ]; then
  PACKAGES+=(nginx-light redis-server redis-tools)
  command -v node >/dev/null || PACKAGES+=(nodejs)
  command -v npm >/dev/null || PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then # no service may start because of this install
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee $policy >/dev/null && $SUDO chmod +x $policy
  trap '$SUDO rm -f $policy' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
