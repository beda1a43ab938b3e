#!/usr/bin/env bash
# Installs every Debian package sluice needs to build, test and benchmark.
# Idempotent: checks with dpkg first and calls apt-get only for what is missing.
# Works as root; otherwise uses sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format
  liblua5.4-dev lua5.4 lua-busted lua-check
  libev-dev libcjson-dev libxxhash-dev libhttp-parser-dev libsqlite3-dev libedit-dev
  python3 python3-scipy python3-mpmath
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
