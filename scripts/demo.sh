#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build, run the demo
# (an A/B test ramping over 24 virtual hours while synthetic traffic is routed
# and recorded through the Lua module).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
LUA_CPATH='build/?.so' LUA_PATH='lua/?.lua;lua/?/init.lua' lua5.4 examples/demo.lua
