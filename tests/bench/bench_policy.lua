-- bench_policy.lua: the cost of judgement.
--   * a tick over N running tests with 3 policies each (ramp linear, guard
--     threshold, recommend default) at N = 10, 100, 1000;
--   * at 1000 tests, each of the three alone (where the time goes);
--   * the per-hook-call overhead of the policy host: a tick over 1,000 tests
--     whose only policy is a guard that returns nil, minus the same tick
--     without policies, divided by the calls;
--   * the floor: the three policies' evaluate alone, in plain Lua.
-- Usage: LUA_CPATH='build/?.so' lua5.4 tests/bench/bench_policy.lua [--quick]
local sluice = require "sluice"
local quick = arg[1] == "--quick"

local function clock() return os.clock() end

local function noop_dir()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  local f = assert(io.open(dir .. "/noop.lua", "w"))
  f:write("return { kind = 'guard', name = 'noop', version = '1',\n"
    .. "  evaluate = function(view, params, ctx) return nil end }\n")
  f:close()
  return dir
end

-- An engine with n running tests, each with 200 results recorded; advance(dt)
-- moves the clock and records 10 more results per test (untimed), so every
-- tick has fresh traffic to roll into its windows and statistics, as in
-- service.
local function engine(n, policies, dirs)
  local now = 0
  local eng = sluice.engine { clock = function() return now end, policy_dirs = dirs,
                              max_tests = n + 1 }
  local ids, next_unit = {}, 0
  local function traffic(k)
    for i = 1, n do
      for _ = 1, k do
        next_unit = next_unit + 1
        local u = next_unit
        local v = eng:route("m" .. i, "u" .. u)
        eng:record(ids[i], v, u % 50 ~= 0, 10 + u % 30, { conv = u % 9 == 0 and 1 or 0 })
      end
    end
  end
  for i = 1, n do
    local m = "m" .. i
    eng:add_model { id = m, version = "a" }
    eng:add_model { id = m, version = "b" }
    ids[i] = assert(eng:create_test { name = m, model = m, control = "a", treatment = "b",
                                      success_metrics = { "conv" }, policies = policies })
    eng:start(ids[i])
  end
  traffic(200)
  return eng, function(dt) now = now + dt; traffic(10) end
end

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

-- Median wall time of one tick, in ms.
local function time_ticks(eng, advance, reps)
  local xs = {}
  for r = 1, reps do
    advance(1)
    local t0 = clock()
    assert(eng:tick())
    xs[r] = (clock() - t0) * 1000
  end
  return median(xs)
end

local three = {
  ramp = { "linear", { steps = 5, max = 50, over_hours = 24 } },
  guards = { { "threshold", { metric = "error_rate", type = "maximum", value = 0.05,
                              action = "pause", window = "5m" } } },
  recommend = { "default" },
}

local reps = quick and 3 or 9
local rows = {}
local first_ms -- the first tick at 1,000 tests: every ramp sets its first step
local AT_SCALE = 1000 -- tests in the first-tick, per-policy, no-op and floor rows
for _, n in ipairs { 10, 100, AT_SCALE } do
  local eng, advance = engine(n, three, { "policies" })
  local first = time_ticks(eng, advance, 1) -- (first evaluations also load state)
  if n == AT_SCALE then first_ms = first end
  time_ticks(eng, advance, 1) -- warm up
  rows[#rows + 1] = { n = n, ms = time_ticks(eng, advance, reps) }
end

local alone = {
  { "ramp/linear", { ramp = three.ramp } },
  { "guard/threshold (5m window)", { guards = three.guards } },
  { "recommend/default", { recommend = three.recommend } },
}
for _, a in ipairs(alone) do
  local eng, advance = engine(AT_SCALE, a[2], { "policies" })
  time_ticks(eng, advance, 2)
  a.ms = time_ticks(eng, advance, reps)
end

local dir = noop_dir()
local n = AT_SCALE
local bare, adv1 = engine(n, nil, nil)
local noop, adv2 = engine(n, { guards = { { "noop" } } }, { dir })
time_ticks(bare, adv1, 2)
time_ticks(noop, adv2, 2)
local t_bare = time_ticks(bare, adv1, reps)
local t_noop = time_ticks(noop, adv2, reps)
os.execute("rm -rf " .. dir)

-- The floor: the three built-in policies' evaluate run in plain Lua 5.4, with
-- no sandbox, hook, view proxies, recording, engine or statistics, over plain
-- tables holding figures like a bench tick's (both arms past min_requests, no
-- guard firing, the recommendation "continue" with its evidence). What the
-- judgement itself costs in this interpreter, before anything sluice adds.
local function floor_us(file, params)
  local p = assert(loadfile(file, "t", setmetatable({}, { __index = _G })))()
  local merged = {}
  for k, v in pairs(p.params or {}) do merged[k] = v end
  for k, v in pairs(params or {}) do merged[k] = v end
  local function arm(count, e, conv)
    return { requests = count, errors = e, error_rate = e / count, success_rate = 1 - e / count,
             throughput = count / 60,
             latency = { mean = 25, p50 = 24, p90 = 36, p95 = 38, p99 = 39, p999 = 39 },
             metrics = { conv = { mean = conv, count = count } } }
  end
  local view = {
    kind = "test", status = "running", age_hours = 0.2, age_seconds = 720, id = "t1",
    allocation = { treatment = 10, control = 90 },
    control = arm(4500, 90, 0.11), treatment = arm(600, 10, 0.1),
    config = { alpha = 0.05, success_metrics = { "conv" } },
    stats = { srm = { p = 0.5 }, error_rate = { p1 = 0.02, p2 = 0.017 },
              metrics = { conv = { diff = -0.01, p = 0.7, ci_low = -0.08, ci_high = 0.06,
                                   sequential = { p = 0.96, ci_low = -0.29, ci_high = 0.18 } } } },
  }
  function view.window(v) return v end
  local ctx = { now = 720, state = { step = 1, target = 10 }, log = function() end }
  local calls = quick and 20000 or 200000
  local t0 = clock()
  for _ = 1, calls do p.evaluate(view, merged, ctx) end
  return (clock() - t0) / calls * 1e6
end
local f_ramp = floor_us("policies/ramp/linear.lua", three.ramp[2])
local f_guard = floor_us("policies/guard/threshold.lua", three.guards[1][2])
local f_rec = floor_us("policies/recommend/default.lua", nil)
local f_sum = f_ramp + f_guard + f_rec

print("| what | tests | ms per tick (median) | per test | target |")
print("|---|---|---|---|---|")
for _, r in ipairs(rows) do
  print(("| tick, 3 policies per test (linear, threshold, default) | %d | %.2f | %.1f µs | %s |"):format(
    r.n, r.ms, r.ms * 1000 / r.n, r.n == AT_SCALE and "≤ 10 ms" or "—"))
end
print(("| the first tick, 3 policies, every test's ramp setting its first step (one tick) | %d | %.2f | %.1f µs | — |"):format(
  AT_SCALE, first_ms, first_ms * 1000 / AT_SCALE))
for _, a in ipairs(alone) do
  print(("| tick, %s alone | %d | %.2f | %.1f µs | — |"):format(a[1], AT_SCALE, a.ms, a.ms * 1000 / AT_SCALE))
end
print(("| tick, no policies (core only: windows, statistics) | %d | %.2f | %.1f µs | — |"):format(
  n, t_bare, t_bare * 1000 / n))
print(("| tick, one no-op guard per test | %d | %.2f | %.1f µs | — |"):format(n, t_noop, t_noop * 1000 / n))
print(("| policy host overhead per hook call (no-op − none) / calls | %d | — | %.2f µs | ≤ 5 µs |"):format(
  n, (t_noop - t_bare) * 1000 / n))
print(("| floor: the three policies' evaluate in plain Lua 5.4, no sandbox, view, engine or statistics"
  .. " (linear %.2f + threshold %.2f + default %.2f µs) | %d | %.2f | %.1f µs | — |"):format(
  f_ramp, f_guard, f_rec, n, f_sum * n / 1000, f_sum))
