-- testing_spec.lua: the policy author kit (sluice.testing) builds views
-- shaped like docs/policies.md, loads policies as the sandbox would, and
-- evaluates them with the engine's rules.
local testing = require "sluice.testing"

local function tmpfile(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local MINIMAL = [[
return { kind = "guard", name = "g", version = "0.1.0", params = { limit = 5, list = { 1, 2 } },
         evaluate = function() end }
]]

describe("testing.view", function()
  local v = testing.view {
    control = { requests = 1000, errors = 10, p99 = 120, mean = 50, sd = 20 },
    treatment = { requests = 1000, errors = 30, p99 = 180, mean = 55, sd = 20 },
    age_hours = 2, allocation = 20,
  }

  it("derives rates, successes and throughput from the counts", function()
    assert.equal(990, v.control.successes)
    assert.equal(0.03, v.treatment.error_rate)
    assert.equal(0.97, v.treatment.success_rate)
    assert.near(1000 / 7200, v.control.throughput, 1e-12)
    assert.equal(180, v.treatment.latency.p99)
    assert.is_nil(v.treatment.latency.p50) -- not given: not invented
  end)

  it("fills identity, age, allocation, config and ramp", function()
    assert.equal("test", v.kind)
    assert.equal("running", v.status)
    assert.equal(7200, v.age_seconds)
    assert.equal(20, v.allocation.treatment)
    assert.equal(80, v.allocation.control)
    assert.equal(0.05, v.config.alpha)
    assert.equal(1, v.ramp_step)
    assert.equal(80, v.ramp[1].control)
  end)

  it("leaves rates and latency nil for an arm without requests", function()
    local e = testing.view { control = { requests = 0, p99 = 100 }, treatment = { requests = 10 } }
    assert.is_nil(e.control.error_rate)
    assert.is_nil(e.control.success_rate)
    assert.is_nil(e.control.latency.p99)
    assert.equal(0, e.treatment.error_rate)
  end)

  it("is read-only at every depth, and says what was written", function()
    assert.has_error(function() v.kind = "canary" end, "the view is read-only (tried to set kind)")
    assert.has_error(function() v.treatment.latency.p99 = 1 end,
                     "the view is read-only (tried to set treatment.latency.p99)")
  end)

  it("supports pairs, ipairs and # on its tables", function()
    local keys = {}
    for k in pairs(v.allocation) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.same({ "control", "treatment" }, keys)
    assert.equal(1, #v.ramp)
    for i, s in ipairs(v.ramp) do assert.equal(1, i); assert.equal(20, s.treatment) end
  end)

  it("builds custom metrics from {count, mean, sd} or {count, sum, sumsq}", function()
    local m = testing.view { treatment = { requests = 4, metrics = {
      a = { count = 4, mean = 2, sd = 1 }, b = { count = 2, sum = 6, sumsq = 20 } } } }
    assert.equal(8, m.treatment.metrics.a.sum)
    assert.equal(3 + 16, m.treatment.metrics.a.sumsq)
    assert.equal(3, m.treatment.metrics.b.mean)
  end)
end)

describe("view:window", function()
  local v = testing.view {
    control = { requests = 1000 }, treatment = { requests = 1000 },
    windows = { ["5m"] = { control = { requests = 100, errors = 1 }, treatment = { requests = 90, errors = 9 } } },
  }

  it("returns the window given under that span, by any spelling of it", function()
    for _, spec in ipairs { "5m", "300s", 300, "300" } do
      local w = v:window(spec)
      assert.equal(90, w.treatment.requests)
      assert.equal(0.1, w.treatment.error_rate)
      assert.equal(300, w.span_seconds)
      assert.near(90 / 300, w.treatment.throughput, 1e-12)
    end
  end)

  it("falls back to the cumulative arms for a span it was not given", function()
    local w = v:window("1h")
    assert.equal(1000, w.control.requests)
    assert.equal(3600, w.span_seconds)
    assert.equal(1000, v:window().control.requests)
  end)

  it("is read-only and rejects a malformed spec", function()
    assert.has_error(function() v:window("5m").control.requests = 1 end)
    assert.has_error(function() v:window("five minutes") end)
  end)
end)

describe("view.stats", function()
  it("runs the two-proportion z-test on the error counts", function()
    local s = testing.view { control = { requests = 1000, errors = 10 },
                             treatment = { requests = 1000, errors = 30 } }.stats.error_rate
    -- pooled p = 0.02: z = 0.02 / sqrt(0.02 * 0.98 * 2/1000) = 3.1944
    assert.near(3.19438, s.z, 1e-4)
    assert.near(0.0014, s.p, 1e-4)
    assert.near(0.02, s.diff, 1e-12)
    local half = 1.959964 * math.sqrt(0.01 * 0.99 / 1000 + 0.03 * 0.97 / 1000)
    assert.near(0.02 - half, s.ci_low, 1e-6)
  end)

  it("checks the sample ratio against the allocation", function()
    local s = testing.view { allocation = 50, control = { requests = 1200 }, treatment = { requests = 800 } }.stats.srm
    assert.near(80, s.chi2, 1e-9)
    assert.is_true(s.p < 1e-15)
    local ok = testing.view { allocation = 20, control = { requests = 8000 }, treatment = { requests = 2000 } }.stats.srm
    assert.near(0, ok.chi2, 1e-9)
    assert.near(1, ok.p, 1e-6)
  end)

  it("gives each custom metric a Welch result and a consistent always-valid interval", function()
    local v = testing.view {
      control = { requests = 5000, metrics = { ctr = { count = 5000, mean = 0.10, sd = 0.3 } } },
      treatment = { requests = 5000, metrics = { ctr = { count = 5000, mean = 0.13, sd = 0.3 } } },
    }
    local m = v.stats.metrics.ctr
    assert.near(0.03, m.diff, 1e-12)
    assert.near(0.03 / math.sqrt(2 * 0.09 / 5000), m.t, 1e-6)
    local seq = m.sequential
    assert.is_true(seq.ci_low < m.ci_low and seq.ci_high > m.ci_high) -- wider than fixed-horizon
    assert.equal(seq.p < 0.05, seq.ci_low > 0)                        -- p and interval agree
  end)

  it("reports power and the per-arm sample still needed for the minimum effect", function()
    local v = testing.view { config = { minimum_effect_size = 0.01 },
                             control = { requests = 1000, errors = 100 }, treatment = { requests = 1000, errors = 100 } }
    local sd2 = 0.1 * 0.9
    local need = math.ceil(2 * sd2 * (1.959964 + 0.841621) ^ 2 / 0.01 ^ 2)
    assert.near(need - 1000, v.stats.needed, 1)
    assert.is_true(v.stats.power > 0.05 and v.stats.power < 0.2)
  end)

  it("carries the engine's extra analysis fields", function()
    local v = testing.view { config = { success_metrics = { "ctr", "dwell" } },
                             control = { requests = 100, errors = 1, mean = 10, sd = 2,
                                         metrics = { ctr = { count = 100, mean = 0.1, sd = 0.3 } } },
                             treatment = { requests = 80, errors = 2, mean = 12, sd = 3,
                                           metrics = { ctr = { count = 80, mean = 0.2, sd = 0.4 } } } }
    local s = v.stats
    assert.same({ 100, 80 }, { s.error_rate.n1, s.error_rate.n2 })
    assert.near(math.sqrt(0.01 * 0.99 / 100 + 0.025 * 0.975 / 80), s.error_rate.se, 1e-12)
    assert.equal(1, s.error_rate.sequential.looks)
    assert.same({ 10, 12 }, { s.latency.mean1, s.latency.mean2 })
    assert.equal(9, v.treatment.latency.var)
    assert.equal(3600, v.treatment.span_seconds)
    assert.near(0.2, s.metrics.ctr.mean2, 1e-12)
    assert.same({ 0, 0 }, { s.metrics.dwell.n1, s.metrics.dwell.n2 }) -- declared, nothing recorded yet
    assert.is_nil(s.metrics.dwell.diff)
    assert.equal(0.5, s.srm.expected_treatment_share)
  end)

  it("deep-merges given stats over the computed ones, or leaves them out", function()
    local v = testing.view { control = { requests = 10 }, treatment = { requests = 10 },
                             stats = { srm = { p = 1e-9 } } }
    assert.equal(1e-9, v.stats.srm.p)
    assert.is_number(v.stats.srm.chi2)
    assert.is_nil(testing.view { stats = false }.stats)
  end)
end)

describe("canary views", function()
  local v = testing.view { kind = "canary", allocation = 5,
                           stable = { requests = 9500 }, canary = { requests = 500, errors = 5 },
                           health = { { at = 1, health = "healthy", error_rate = 0, passed = true } } }
  it("use stable/canary arms and shares", function()
    assert.equal("monitoring", v.status)
    assert.equal(5, v.allocation.canary)
    assert.equal(95, v.allocation.stable)
    assert.equal(0.01, v.canary.error_rate)
    assert.is_nil(v.treatment)
    assert.equal(500, v:window("5m").canary.requests)
    assert.is_true(v.health[1].passed)
    assert.equal(0, v.config.error_threshold)
  end)
end)

describe("testing.reads", function()
  it("lists the fields a policy read, with their values", function()
    local v = testing.view { treatment = { requests = 7, p99 = 99 } }
    local _, _ = v.treatment.latency.p99, v:window("5m").treatment.requests
    assert.same({ "treatment.latency.p99 = 99", "window(5m).treatment.requests = 7" }, testing.reads(v))
  end)
end)

describe("testing.clock and testing.ctx", function()
  it("advances by seconds or a span", function()
    local c = testing.clock(100)
    assert.equal(160, c:advance(60))
    assert.equal(460, c:advance("5m"))
    assert.equal(0, c:set(0))
  end)

  it("gives ctx a state, a log collector, and now from a clock", function()
    local c = testing.clock(10)
    local ctx = testing.ctx { clock = c, state = { x = 1 } }
    assert.equal(10, ctx.now)
    c:advance("1m")
    assert.equal(70, ctx.now)
    ctx.log("%d of %s", 3, "five")
    ctx.log("plain")
    assert.same({ "3 of five", "plain" }, ctx.logs)
    assert.equal(1, ctx.state.x)
    assert.equal(42, testing.ctx { now = 42 }.now)
  end)
end)

describe("testing.load", function()
  it("loads a policy and checks its contract", function()
    local p = assert(testing.load(tmpfile(MINIMAL)))
    assert.equal("g", p.name)
    assert.equal(5, p.params.limit)
  end)

  it("loads every built-in (their self_tests pass)", function()
    for _, kn in ipairs { "ramp/steps", "ramp/linear", "ramp/gated", "guard/threshold", "guard/srm",
                          "guard/sequential", "promotion/criteria", "recommend/default" } do
      local p = testing.builtin(kn)
      assert.equal(kn, p.kind .. "/" .. p.name)
    end
  end)

  it("reports a syntax error with the file and line", function()
    local path = tmpfile("return {\n kind = 'guard',,\n}")
    local p, err = testing.load(path)
    assert.is_nil(p)
    assert.truthy(err:find(path, 1, true) and err:find(":2:", 1, true), err)
  end)

  it("rejects contract breaches, naming the field", function()
    local cases = {
      ["return 1"] = "must return a table",
      ["return { kind = 'ramps', name = 'x', version = '1', evaluate = function() end }"] = "kind must be",
      ["return { kind = 'ramp', version = '1', evaluate = function() end }"] = "name must be",
      ["return { kind = 'ramp', name = 'x', evaluate = function() end }"] = "version must be",
      ["return { kind = 'ramp', name = 'x', version = '1' }"] = "evaluate must be",
      ["return { kind = 'ramp', name = 'x', version = '1', evaluate = print() }"] = "attempt to call a nil value",
    }
    for src, want in pairs(cases) do
      local p, err = testing.load(tmpfile(src))
      assert.is_nil(p, src)
      assert.truthy(err:find(want, 1, true), src .. " -> " .. tostring(err))
    end
  end)

  it("runs self_test and reports its failure", function()
    local p, err = testing.load(tmpfile([[return { kind = "ramp", name = "x", version = "1",
      evaluate = function() end, self_test = function() assert(false, "boom") end }]]))
    assert.is_nil(p)
    assert.truthy(err:find("self_test: .*boom"), err)
  end)

  it("gives policies the sandbox's globals only", function()
    local path = tmpfile([[
      local seen = {}
      for _, k in ipairs { "io", "os", "require", "print", "dofile", "loadfile", "collectgarbage",
                           "coroutine", "debug", "package" } do
        if _G[k] ~= nil then seen[#seen + 1] = k end
      end
      local gc_ok = pcall(setmetatable, {}, { __gc = function() end })
      local bin_ok = pcall(load, function() return nil end)
      return { kind = "guard", name = "probe", version = "1", evaluate = function() end,
               seen = table.concat(seen, ","), gc_ok = gc_ok, bin_ok = bin_ok, dump = string.dump }
    ]])
    local p = assert(testing.load(path))
    assert.equal("", p.seen)
    assert.is_false(p.gc_ok)
    assert.is_false(p.bin_ok)
    assert.is_nil(p.dump)
  end)
end)

describe("testing.evaluate", function()
  local p
  before_each(function() p = assert(testing.load(tmpfile(MINIMAL))) end)

  it("merges params over the defaults without changing the defaults", function()
    p.evaluate = function(_, params)
      params.list[1] = 99
      return { action = "alert", reason = ("limit %d, extra %s"):format(params.limit, params.extra) }
    end
    local d = testing.evaluate(p, testing.view(), { extra = "yes" })
    assert.equal("limit 5, extra yes", d.reason)
    assert.same({ 1, 2 }, p.params.list)
  end)

  it("sets ctx.hook and ctx.policy", function()
    local ctx = testing.ctx()
    p.evaluate = function(_, _, c) return { action = "alert", reason = c.hook .. "/" .. c.policy } end
    assert.equal("guard/g", testing.evaluate(p, testing.view(), nil, ctx).reason)
  end)

  it("raises on decisions the core would refuse", function()
    local bad = {
      { { action = "pause" }, "reason is required" },
      { { action = "promote", reason = "r" }, "action promote is not a guard action" },
      { { action = "set_traffic", treatment = 120, reason = "r" }, "treatment 120 is outside [0,100]" },
      { { action = "pause", reason = "r", treatement = 5 }, 'unknown decision field "treatement"' },
      { { action = "rollback", trigger = "latency", reason = "r" }, "unknown trigger latency" },
    }
    for _, case in ipairs(bad) do
      p.evaluate = function() return case[1] end
      local ok, err = pcall(testing.evaluate, p, testing.view())
      assert.is_false(ok)
      assert.truthy(err:find("guard g returned an invalid decision: " .. case[2], 1, true), err)
    end
    p.evaluate = function() return { action = "rollback", trigger = "latency_increase", reason = "r" } end
    assert.equal("rollback", testing.evaluate(p, testing.view()).action)
  end)

  it("raises when ctx.state would not survive persistence", function()
    for _, bad in ipairs { function() end, { [1] = 1, [3] = 3 }, { 1, x = 2 }, 0 / 0, { [true] = 1 } } do
      p.evaluate = function(_, _, ctx) ctx.state.v = bad end
      assert.has_error(function() testing.evaluate(p, testing.view()) end)
    end
    p.evaluate = function(_, _, ctx) ctx.state.v = { 1, 2, { a = "b", c = true } } end
    assert.is_nil(testing.evaluate(p, testing.view()))
  end)

  it("stops a runaway policy at the instruction budget, even through pcall", function()
    p.evaluate = function() while true do pcall(function() while true do end end) end end
    local old = testing.budget
    testing.budget = 100000
    assert.has_error(function() testing.evaluate(p, testing.view()) end, "instruction budget of 100000 exceeded")
    testing.budget = old
  end)
end)
