-- engine_spec.lua: the sluice Lua module's engine, sketch and bucket, as a
-- policy author or embedder uses them. Virtual time throughout.
local sluice = require "sluice"

local function new_engine(opts)
  local clock = { t = 1000 }
  opts = opts or {}
  opts.clock = function() return clock.t end
  local eng = sluice.engine(opts)
  assert(eng:add_model { id = "ranker", version = "v1" })
  assert(eng:add_model { id = "ranker", version = "v2", path = "/models/v2", config = '{"k":1}' })
  return eng, clock
end

local function basic_test(eng, extra)
  local cfg = { name = "new ranker", model = "ranker", control = "v1", treatment = "v2" }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(eng:create_test(cfg))
end

describe("sluice module", function()
  it("has a version string", function()
    assert.is_string(sluice.version)
    assert.truthy(sluice.version:match("^%d+%.%d+%.%d+$"))
  end)

  it("bucket is deterministic, in [0,1), and salt-dependent", function()
    local a = sluice.bucket("salt", "user-1")
    assert.are.equal(a, sluice.bucket("salt", "user-1"))
    assert.is_true(a >= 0 and a < 1)
    assert.are_not.equal(a, sluice.bucket("other", "user-1"))
  end)
end)

describe("sluice.sketch", function()
  it("estimates quantiles within 1% of the exact ones", function()
    local s, xs = sluice.sketch(), {}
    local seed = 42
    for i = 1, 20000 do
      seed = (seed * 1103515245 + 12345) % 2147483648
      local x = 1 + 999 * seed / 2147483648
      xs[i] = x
      s:add(x)
    end
    table.sort(xs)
    for _, q in ipairs { 0.5, 0.9, 0.99 } do
      local exact = xs[math.ceil(q * #xs)]
      assert.is_true(math.abs(s:quantile(q) - exact) / exact <= 0.01, "q=" .. q)
    end
    assert.are.equal(20000, s:count())
  end)

  it("merges like adding everything to one sketch", function()
    local a, b, all = sluice.sketch(), sluice.sketch(), sluice.sketch()
    for i = 1, 1000 do a:add(i); all:add(i) end
    for i = 1, 500 do b:add(i * 3); all:add(i * 3) end
    a:merge(b)
    assert.are.equal(all:count(), a:count())
    assert.are.equal(all:quantile(0.95), a:quantile(0.95))
  end)

  it("rejects NaN and negative values and is empty-safe", function()
    local s = sluice.sketch()
    assert.is_nil(s:quantile(0.5))
    assert.has_error(function() s:add(0 / 0) end)
    assert.has_error(function() s:add(-1) end)
    assert.has_error(function() s:quantile(2) end)
  end)
end)

describe("engine", function()
  it("runs a test end to end: create, start, route, record, snapshot, promote", function()
    local eng = new_engine()
    local id = basic_test(eng, { success_metrics = { "clicks" }, tags = { "search" } })
    assert.are.equal("draft", eng:test(id).status)
    assert.are.equal("live", (eng:route("ranker", "u1")))
    assert.is_true(eng:start(id))
    local seen = { control = 0, treatment = 0 }
    for i = 1, 2000 do
      local variant, version, tid = eng:route("ranker", "user-" .. i)
      assert.are.equal(id, tid)
      assert.are.equal(variant == "control" and "v1" or "v2", version)
      seen[variant] = seen[variant] + 1
      assert.is_true(eng:record(id, variant, i % 10 ~= 0, 20 + i % 7, { clicks = 1 }))
    end
    assert.is_true(seen.control > 800 and seen.treatment > 800)
    local snap = eng:test(id)
    assert.are.equal("running", snap.status)
    assert.are.equal(50, snap.allocation.treatment)
    assert.are.equal(seen.treatment, snap.metrics.treatment.requests)
    assert.are.equal(seen.control, snap.metrics.control.metrics.clicks.count)
    assert.is_true(snap.metrics.treatment.latency.p99 >= 20 and snap.metrics.treatment.latency.p99 <= 27)
    assert.near(0.1, snap.metrics.control.error_rate, 0.02)
    assert.are.same({ "search" }, snap.tags)
    assert.is_true(eng:promote(id, "treatment wins"))
    assert.are.equal("promoted", eng:test(id).status)
    local variant, version = eng:route("ranker", "u1")
    assert.are.equal("live", variant)
    assert.are.equal("v2", version)
    assert.are.equal(id, eng:history(1)[1].id)
  end)

  it("returns nil, message for illegal transitions and unknown ids", function()
    local eng = new_engine()
    local id = basic_test(eng)
    local ok, msg = eng:pause(id)
    assert.is_nil(ok)
    assert.truthy(msg:find("draft") and msg:find("pause"))
    ok, msg = eng:start("nope")
    assert.is_nil(ok)
    assert.truthy(msg:find("nope"))
    assert.are.equal("draft", eng:test(id).status)
  end)

  it("raises on misuse: unknown keys and wrong types", function()
    local eng = new_engine()
    assert.has_error(function() eng:create_test { name = "x", model = "ranker", control = "v1", treatment = "v2", colour = "red" } end,
      "test: unknown key 'colour'")
    assert.has_error(function() eng:create_test { name = 5, model = "ranker" } end)
    assert.has_error(function() eng:add_model { id = "m", version = "v", bogus = 1 } end)
    assert.has_error(function() sluice.engine { clok = 1 } end)
    assert.has_error(function() eng:record("x", "control", "yes", 1) end)
  end)

  it("rejects bad values with a message naming the field, changing nothing", function()
    local eng = new_engine()
    local cases = {
      { ramp = { { at_hours = 0, treatment = 120 } }, "treatment" },
      { ramp = { { at_hours = 2, treatment = 10 }, { at_hours = 1, treatment = 20 } }, "forward in time" },
      { ramp = { { at_hours = 0, treatment = 60, control = 60 } }, "exceeds 100" },
      { alpha = 1.5, "alpha" },
      { treatment = "v9", "v9" },
      { id = string.rep("x", 300), "256" },
    }
    for _, c in ipairs(cases) do
      local want = table.remove(c)
      local cfg = { name = "x", model = "ranker", control = "v1", treatment = "v2" }
      for k, v in pairs(c) do cfg[k] = v end
      local id, msg = eng:create_test(cfg)
      assert.is_nil(id)
      assert.truthy(msg:find(want, 1, true), msg)
    end
    assert.are.equal(0, #eng:tests())
    -- not even an id: the next ones are the first ones
    assert.are.equal("t-1", basic_test(eng))
    assert.is_nil(eng:create_test { name = "x", model = "ranker", control = "v1", treatment = "v9" })
    assert.are.equal("t-2", basic_test(eng))
    assert.is_nil(eng:create_canary { name = "c", model = "ranker", canary = "v9" })
    assert.are.equal("c-3", assert(eng:create_canary { name = "c", model = "ranker", canary = "v2" }))
  end)

  it("ramps over virtual time and records the allocation history", function()
    local eng, clock = new_engine()
    local id = basic_test(eng, { ramp = { { at_hours = 0, treatment = 10 }, { at_hours = 1, treatment = 30 }, { at_hours = 2, treatment = 60 } } })
    eng:start(id)
    assert.are.equal(10, eng:test(id).allocation.treatment)
    clock.t = clock.t + 3600; eng:tick()
    assert.are.equal(30, eng:test(id).allocation.treatment)
    clock.t = clock.t + 3600; eng:tick()
    local snap = eng:test(id)
    assert.are.equal(60, snap.allocation.treatment)
    assert.are.equal(3, #snap.allocation_history)
    assert.are.equal(3, snap.ramp_step)
  end)

  it("keeps rolling windows separate from cumulative metrics", function()
    local eng, clock = new_engine { window_seconds = 10, window_slots = 6 }
    local id = basic_test(eng)
    eng:start(id)
    -- A tick closes what was recorded since the previous tick into the slot
    -- current at that tick: tick at least once per slot (the daemon ticks every second).
    for _ = 1, 100 do eng:record(id, "treatment", false, 5) end
    eng:tick()
    clock.t = clock.t + 120
    for _ = 1, 10 do eng:record(id, "treatment", true, 50) end
    eng:tick()
    local last = eng:metrics(id, "treatment", 30)
    local all = eng:metrics(id, "treatment")
    assert.are.equal(10, last.requests)
    assert.are.equal(0, last.errors)
    assert.are.equal(110, all.requests)
    assert.are.equal(100, all.errors)
  end)

  it("routes canaries, rolls back with a trigger, and leaves the live version", function()
    local eng = new_engine()
    local id = assert(eng:create_canary { name = "c", model = "ranker", canary = "v2", traffic = 20,
      promotion_criteria = { { metric = "error_rate", op = "<", value = 0.01, for_minutes = 10 } } })
    eng:start(id)
    local n = 0
    for i = 1, 5000 do if eng:route("ranker", "u" .. i) == "canary" then n = n + 1 end end
    assert.is_true(n > 850 and n < 1150, n)
    assert.is_true(eng:rollback(id, "p99 up 40%", "latency_increase"))
    eng:tick()
    local c = eng:canary(id)
    assert.are.equal("completed", c.status)
    assert.are.equal("rolled_back", c.outcome)
    assert.are.equal("latency_increase", c.rollback_trigger)
    assert.are.equal("<", c.promotion_criteria[1].op)
    assert.are.equal("v1", select(2, eng:route("ranker", "u1")))
  end)

  it("logs every lifecycle change with actor and reason", function()
    local eng = new_engine()
    local id = basic_test(eng)
    eng:start(id)
    eng:pause(id, "investigating")
    local evs = eng:events(3)
    local last = evs[#evs]
    assert.are.equal("pause", last.action)
    assert.are.equal("running", last.from)
    assert.are.equal("paused", last.to)
    assert.are.equal("investigating", last.reason)
    assert.are.equal("user", last.actor)
    local since = eng:events { since = last.seq - 1 }
    assert.are.equal(1, #since)
  end)

  it("returns an engine for an options table without a clock (regression)", function()
    local eng = sluice.engine { max_tests = 5 }
    assert.truthy(tostring(eng):find("sluice.engine", 1, true))
    assert.is_true(eng:add_model { id = "m", version = "v1" })
  end)

  it("reports a failing clock as an error instead of crashing", function()
    local calls = 0
    local eng = sluice.engine { clock = function()
      calls = calls + 1
      if calls > 3 then error("clock broke") end
      return calls
    end }
    assert.has_error(function()
      for _ = 1, 10 do eng:tick() end
    end)
  end)
end)
