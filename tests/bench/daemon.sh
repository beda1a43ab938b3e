#!/usr/bin/env bash
# tests/bench/daemon.sh - sluiced under wrk, beside nginx serving a static 200
# in the same run (the yardstick), all on loopback; both servers are started
# here and stopped by their PIDs. Prints a markdown table.
#
#   tests/bench/daemon.sh [--quick]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
secs=10
[ "${1:-}" = --quick ] && secs=3
scripts/install-deps.sh --bench >/dev/null
cmake --build build --target sluiced >/dev/null
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

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

# ---- sluiced: a model with a running 50/50 test
sport=$(free_port)
build/sluiced --listen "127.0.0.1:$sport" --data "$tmp/data" --log-level error &
pids+=($!)
wait_port "$sport"
post() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sport$1" -H 'Content-Type: application/json' -d "$2"; }
post /v1/models '{"id":"ranker","version":"v1"}' >/dev/null
post /v1/models '{"id":"ranker","version":"v2"}' >/dev/null
post /v1/tests '{"id":"t1","name":"bench","model":"ranker","control":"v1","treatment":"v2"}' >/dev/null
post /v1/tests/t1/start '' >/dev/null

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
cat >"$tmp/record.lua" <<LUA
local f = io.open("$tmp/batch.json"); local body = f:read("a"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "application/json"
LUA

run() { # name, url, script -> "req/s p99_ms"
    local out
    out=$(wrk -t2 -c64 -d"${secs}s" --latency ${3:+-s "$3"} "$2")
    local rps p99
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '/ 99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) sub(/ms/,"",v); else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}')
    echo "$rps $p99"
}
read -r ng_rps ng_p99 <<<"$(run nginx "http://127.0.0.1:$nport/")"
read -r rt_rps rt_p99 <<<"$(run route "http://127.0.0.1:$sport/v1/route" "$tmp/route.lua")"
read -r r1_rps r1_p99 <<<"$(run route1 "http://127.0.0.1:$sport/v1/route" "$tmp/route1.lua")"
read -r rc_rps rc_p99 <<<"$(run record "http://127.0.0.1:$sport/v1/record" "$tmp/record.lua")"

met() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = dir == "ge" ? v >= t : v <= t; print ok ? "yes" : "**no**" }'; }
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`tests/bench/daemon.sh${1:+ $1}\`: wrk -t2 -c64 -d${secs}s on loopback, $(nproc) CPUs shared by wrk and the server."
echo
echo "| what | req/s | results/s | p99 | target | met? | vs nginx |"
echo "|---|---|---|---|---|---|---|"
awk -v r="$ng_rps" -v p="$ng_p99" 'BEGIN { printf "| nginx 1 worker, static 200 (yardstick) | %.0f | — | %.2f ms | — | — | 1.00× |\n", r, p }'
awk -v r="$rt_rps" -v p="$rt_p99" -v n="$ng_rps" -v m1="$(met "$rt_rps" 100000 ge)" -v m2="$(met "$rt_p99" 5 le)" \
    'BEGIN { printf "| sluiced POST /v1/route, 1M distinct units (a wrk Lua generator builds each body) | %.0f | — | %.2f ms | ≥ 100k req/s, p99 ≤ 5 ms | %s, %s | %.2f× |\n", r, p, m1, m2, r / n }'
awk -v r="$r1_rps" -v p="$r1_p99" -v n="$ng_rps" -v m1="$(met "$r1_rps" 100000 ge)" -v m2="$(met "$r1_p99" 5 le)" \
    'BEGIN { printf "| sluiced POST /v1/route, one fixed body (no wrk Lua per request, like the nginx row) | %.0f | — | %.2f ms | ≥ 100k req/s, p99 ≤ 5 ms | %s, %s | %.2f× |\n", r, p, m1, m2, r / n }'
awk -v r="$rc_rps" -v p="$rc_p99" -v n="$ng_rps" -v m="$(met "$(awk -v r="$rc_rps" 'BEGIN{print r*1000}')" 1000000 ge)" \
    'BEGIN { printf "| sluiced POST /v1/record, batches of 1,000 | %.0f | %.0f | %.2f ms | ≥ 1M results/s | %s | — |\n", r, r * 1000, p, m }'
