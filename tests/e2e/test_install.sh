#!/usr/bin/env bash
# Install sluice into a temporary prefix, build examples/embed_c against the
# installed copy through pkg-config, and run it with the installed policies.
# Also runs examples/embed_lua against the installed Lua module and helpers.
set -euo pipefail
build=${1:?usage: test_install.sh BUILD_DIR SOURCE_DIR}
src=${2:?}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name sluice.pc)
libdir=$(dirname "$(dirname "$pc")")
libdir=${libdir#"$prefix/"}
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
echo "pkg-config: $(pkg-config --cflags --libs sluice)"
cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra "$src/examples/embed_c/main.c" \
   $(pkg-config --cflags --libs sluice) -lev -o "$prefix/embed"
LD_LIBRARY_PATH="$prefix/$libdir" "$prefix/embed" "$(pkg-config --variable=policydir sluice)"
for f in bin/sluiced bin/sluice include/sluice/sluice.h "$libdir/lua/5.4/sluice.so" \
         share/lua/5.4/sluice/testing.lua share/sluice/policies/guard/threshold.lua; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
LUA_CPATH="$prefix/$libdir/lua/5.4/?.so" LUA_PATH="$prefix/share/lua/5.4/?.lua" \
  lua5.4 "$src/examples/embed_lua/main.lua" "$prefix/share/sluice/policies"
echo "install: ok"
