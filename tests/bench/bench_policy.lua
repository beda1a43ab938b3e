-- bench_policy.lua: the cost of judgement.
--   * a tick over N running tests with 3 policies each (ramp linear, guard
--     threshold, recommend default) at N = 10, 100, 1000;
--   * the per-hook-call overhead of the policy host: a tick over 1,000 tests
--     whose only policy is a guard that returns nil, minus the same tick
--     without policies, divided by the calls.
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

-- An engine with n running tests, each with some traffic recorded.
local function engine(n, policies, dirs)
  local now = 0
  local eng = sluice.engine { clock = function() return now end, policy_dirs = dirs,
                              max_tests = n + 1 }
  for i = 1, n do
    local m = "m" .. i
    eng:add_model { id = m, version = "a" }
    eng:add_model { id = m, version = "b" }
    local id = assert(eng:create_test { name = m, model = m, control = "a", treatment = "b",
                                        success_metrics = { "conv" }, policies = policies })
    eng:start(id)
    for u = 1, 200 do
      local v = eng:route(m, "u" .. u)
      eng:record(id, v, u % 50 ~= 0, 10 + u % 30, { conv = u % 9 == 0 and 1 or 0 })
    end
  end
  return eng, function(dt) now = now + dt end
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
for _, n in ipairs { 10, 100, 1000 } do
  local eng, advance = engine(n, three, { "policies" })
  time_ticks(eng, advance, 2) -- warm up (first evaluations load state)
  rows[#rows + 1] = { n = n, ms = time_ticks(eng, advance, reps) }
end

local dir = noop_dir()
local n = 1000
local bare, adv1 = engine(n, nil, nil)
local noop, adv2 = engine(n, { guards = { { "noop" } } }, { dir })
time_ticks(bare, adv1, 2)
time_ticks(noop, adv2, 2)
local t_bare = time_ticks(bare, adv1, reps)
local t_noop = time_ticks(noop, adv2, reps)
os.execute("rm -rf " .. dir)

print("| what | tests | ms per tick (median) | per test | target |")
print("|---|---|---|---|---|")
for _, r in ipairs(rows) do
  print(("| tick, 3 policies per test (linear, threshold, default) | %d | %.2f | %.1f µs | %s |"):format(
    r.n, r.ms, r.ms * 1000 / r.n, r.n == 1000 and "≤ 10 ms" or "—"))
end
print(("| tick, no policies (core only: windows, statistics) | %d | %.2f | %.1f µs | — |"):format(
  n, t_bare, t_bare * 1000 / n))
print(("| tick, one no-op guard per test | %d | %.2f | %.1f µs | — |"):format(n, t_noop, t_noop * 1000 / n))
print(("| policy host overhead per hook call (no-op − none) / calls | %d | — | %.2f µs | ≤ 5 µs |"):format(
  n, (t_noop - t_bare) * 1000 / n))
