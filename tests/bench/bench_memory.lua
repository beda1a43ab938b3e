-- bench_memory.lua - memory per test of an in-process engine (the Lua module):
-- the process's resident set (VmRSS) before and after building an engine with
-- n running tests, divided by n. Each test has its own model with two versions,
-- runs hash-routed at 50/50 with the default windows, has 200 recorded
-- results (so its metric memory is touched, not only allocated) and has been
-- through a tick (one tick per `burst` starts: each start retires the routing
-- snapshot, and a tick frees the retired ones). The unit ids and strings the loop makes are garbage-collected
-- before each reading, so the delta is what the engine holds.
--
--   LUA_CPATH='build/?.so' lua5.4 tests/bench/bench_memory.lua [n [burst]]
--
-- Prints one tab-separated record:
--   n  burst  rss_before_bytes  rss_after_bytes  rss_per_test_bytes  metric_bytes_per_test
-- metric_bytes_per_test is the engine's own count (eng:variant_bytes) for the
-- two variants of one test, for comparison with the RSS figure.
local sluice = require "sluice"

local n = tonumber(arg[1]) or 1000
local burst = tonumber(arg[2]) or 1

local function rss()
  collectgarbage()
  collectgarbage()
  local f = assert(io.open("/proc/self/status"))
  local kb = assert(f:read("a"):match("VmRSS:%s*(%d+) kB"), "no VmRSS in /proc/self/status")
  f:close()
  return tonumber(kb) * 1024
end

local units = {}
for u = 1, 200 do units[u] = "user-" .. u end
local before = rss()
local eng = sluice.engine { clock = function() return 1000 end, max_tests = n }
local first
for i = 1, n do
  local m = string.format("ranker-%04d", i)
  assert(eng:add_model { id = m, version = "v1" })
  assert(eng:add_model { id = m, version = "v2" })
  local id = assert(eng:create_test { name = m, model = m, control = "v1", treatment = "v2" })
  assert(eng:start(id))
  for u = 1, 200 do
    local v = eng:route(m, units[u])
    assert(eng:record(id, v, u % 50 ~= 0, 10 + u % 30))
  end
  first = first or id
  if i % burst == 0 then eng:tick() end
end
eng:tick()
local after = rss()
local metric = eng:variant_bytes(first, "control") + eng:variant_bytes(first, "treatment")
io.write(string.format("%d\t%d\t%d\t%d\t%.0f\t%d\n", n, burst, before, after, (after - before) / n, metric))
