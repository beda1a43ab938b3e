#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build, then start
# sluiced on loopback with examples/sluiced-demo.json (virtual time, 120x) and
# run a small load generator against it: a canary ramps, a guard fires on a
# latency regression, the ramp holds and steps back, the canary recovers and is
# promoted. The daemon is stopped by its PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
data=$(mktemp -d)
build/sluiced --config examples/sluiced-demo.json --data "$data" --listen 127.0.0.1:7070 \
  2>"$data/sluiced.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do # wait until it listens
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 7070), 0.2)' 2>/dev/null && break
  sleep 0.1
done
python3 examples/loadgen.py --port 7070 --seconds 90
