#!/usr/bin/env bash
# tests/bench/daemon.sh - the daemon under load, beside its yardsticks in the
# same run, all on loopback with the same client settings (wrk -t2 -c64, or
# redis-benchmark --threads 2 -c 64); every server is started here on a free
# port and stopped by its PID:
#   nginx  1 worker serving a static 200           vs  sluiced POST /v1/route
#   redis-server (no persistence), SET with -P 16  vs  sluiced POST /v1/record
#                                                      (batches of 1,000 results)
# The workloads run interleaved, `runs` rounds of each, so drift hits all sides
# alike. Prints one tab-separated record per workload and round (tests/bench/run
# takes medians and ratios):
#   round  key  requests/s  results/s  p99_ms
#
#   BUILD_DIR=build-bench tests/bench/daemon.sh [--quick] [--runs N] [--secs S]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
secs=4 runs=5 conns=64 set_n=2000000
while [ $# -gt 0 ]; do
    case $1 in
    --quick) secs=2 runs=3 set_n=1000000; shift ;;
    --runs) runs=$2; shift 2 ;;
    --secs) secs=$2; shift 2 ;;
    *) echo "usage: $0 [--quick] [--runs N] [--secs S]" >&2; exit 2 ;;
    esac
done
for tool in nginx wrk redis-server redis-benchmark curl python3; do
    command -v "$tool" >/dev/null || { echo "daemon.sh: $tool missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
done
cmake --build "$build" --target sluiced >/dev/null
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0; sleep 0.05; done; echo "daemon.sh: nothing listens on port $1" >&2; return 1; }

# ---- nginx: one worker, keep-alive without a request cap, a fixed JSON body
nport=$(free_port)
cat >"$tmp/nginx.conf" <<NGINX
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$nport; location / { return 200 '{"ok":true}'; } }
}
NGINX
nginx -c "$tmp/nginx.conf" -g 'daemon off;' &
pids+=($!)
wait_port "$nport"

# ---- redis: no RDB snapshots, no AOF, its working directory in $tmp
rport=$(free_port)
redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$tmp" \
    --daemonize no --loglevel warning --logfile "$tmp/redis.log" &
pids+=($!)
wait_port "$rport"

# ---- sluiced: a model with a running 50/50 test
sport=$(free_port)
"$build/sluiced" --listen "127.0.0.1:$sport" --data "$tmp/data" --log-level error &
pids+=($!)
wait_port "$sport"
post() {
    local code
    code=$(curl -s -o "$tmp/post.out" -w '%{http_code}' "http://127.0.0.1:$sport$1" \
        -H 'Content-Type: application/json' -d "$2")
    case $code in 2??) ;; *) echo "daemon.sh: POST $1 -> $code $(cat "$tmp/post.out")" >&2; exit 1 ;; esac
}
post /v1/models '{"id":"ranker","version":"v1"}'
post /v1/models '{"id":"ranker","version":"v2"}'
post /v1/tests '{"id":"t1","name":"bench","model":"ranker","control":"v1","treatment":"v2"}'
post /v1/tests/t1/start ''

cat >"$tmp/route.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/route", { ["Content-Type"] = "application/json" },
                    '{"model":"ranker","unit":"user-' .. (n % 1000000) .. '"}')
end
LUA
cat >"$tmp/route1.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"ranker","unit":"user-42"}'
wrk.headers["Content-Type"] = "application/json"
LUA
python3 - "$tmp/batch.json" <<'PY'
import json, sys
items = [{"test": "t1", "variant": "control" if i % 2 else "treatment", "ok": i % 50 != 0,
          "latency_ms": 10 + i % 90} for i in range(1000)]
open(sys.argv[1], "w").write(json.dumps(items))
PY
# Every non-2xx response counts as an error in wrk's summary; a run with any is refused.
cat >"$tmp/record.lua" <<LUA
local f = io.open("$tmp/batch.json"); local body = f:read("a"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "application/json"
LUA

wrk_run() { # round key per_request url [script] -> one record
    local out rps p99 res
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency ${5:+-s "$5"} "$4")
    if echo "$out" | grep -q 'Non-2xx\|Socket errors'; then
        echo "daemon.sh: $2 had errors:" >&2; echo "$out" >&2; exit 1
    fi
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '/ 99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) sub(/ms/,"",v); else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}')
    res=$(awk -v r="$rps" -v k="$3" 'BEGIN { print k == 0 ? "-" : r * k }')
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$rps" "$res" "$p99"
}
redis_run() { # round -> one record (a SET is one result)
    local out
    out=$(redis-benchmark -h 127.0.0.1 -p "$rport" -t set -P 16 -c "$conns" --threads 2 \
        -n "$set_n" -r 1000000 --csv)
    echo "$out" | awk -F'"' -v r="$1" '$2 == "SET" { printf "%s\tredis-set\t%s\t%s\t%s\n", r, $4, $4, $14 }'
}
for r in $(seq "$runs"); do
    wrk_run "$r" nginx 0 "http://127.0.0.1:$nport/"
    wrk_run "$r" route 0 "http://127.0.0.1:$sport/v1/route" "$tmp/route.lua"
    wrk_run "$r" route1 0 "http://127.0.0.1:$sport/v1/route" "$tmp/route1.lua"
    wrk_run "$r" record 1000 "http://127.0.0.1:$sport/v1/record" "$tmp/record.lua"
    redis_run "$r"
done
