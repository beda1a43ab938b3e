-- engine_verbs_spec.lua: the engine methods the other specs do not drive —
-- stop/fail/retry, set_traffic, override, now, variant_bytes, closing, the
-- injected clock's failures and the policy options — each with what it must do.
local sluice = require "sluice"

local function engine(opts)
  local clock = { t = 100 }
  opts = opts or {}
  opts.clock = opts.clock or function() return clock.t end
  local eng = sluice.engine(opts)
  assert(eng:add_model { id = "ranker", version = "v1" })
  assert(eng:add_model { id = "ranker", version = "v2" })
  return eng, clock
end

local function new_test(eng, extra)
  local cfg = { name = "t", model = "ranker", control = "v1", treatment = "v2" }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(eng:create_test(cfg))
end

describe("engine lifecycle verbs", function()
  it("fail, retry and stop move a test through failed -> running -> completed", function()
    local eng = engine()
    local id = new_test(eng)
    assert.is_true(eng:start(id))
    assert.is_true(eng:fail(id, "model crashed"))
    assert.are.equal("failed", eng:test(id).status)
    assert.are.equal("v1", select(2, eng:route("ranker", "u"))) -- a failed test routes nothing
    assert.is_true(eng:retry(id))
    assert.are.equal("running", eng:test(id).status)
    assert.is_true(eng:stop(id, "enough"))
    assert.are.equal("completed", eng:test(id).status)
    local ok, msg = eng:stop(id)
    assert.is_nil(ok)
    assert.truthy(msg:match("completed"), msg)
    local reasons = {}
    for _, e in ipairs(eng:events(50)) do reasons[#reasons + 1] = e.reason end
    assert.truthy(table.concat(reasons, "|"):find("model crashed", 1, true))
  end)

  it("retry is refused unless the test failed", function()
    local eng = engine()
    local id = new_test(eng)
    assert(eng:start(id))
    local ok, msg = eng:retry(id)
    assert.is_nil(ok)
    assert.is_string(msg)
    assert.are.equal("running", eng:test(id).status)
  end)
end)

describe("engine:set_traffic", function()
  it("sets the treatment share of a running test and rejects bad values", function()
    local eng = engine()
    local id = new_test(eng)
    local ok, msg = eng:set_traffic(id, 30)
    assert.is_nil(ok)
    assert.truthy(msg:match("draft"), msg)
    assert(eng:start(id))
    assert.is_true(eng:set_traffic(id, 30, "ramp by hand"))
    assert.are.equal(30, eng:test(id).allocation.treatment)
    assert.are.equal(70, eng:test(id).allocation.control)
    for _, bad in ipairs { 101, -1, 0 / 0, math.huge } do
      ok, msg = eng:set_traffic(id, bad)
      assert.is_nil(ok, tostring(bad))
      assert.truthy(msg:match("outside %[0,100%]"), msg)
    end
    assert.are.equal(30, eng:test(id).allocation.treatment)
    assert.has_error(function() eng:set_traffic(id, "lots") end)
  end)
end)

describe("engine:override", function()
  it("pins a unit on a sticky test, and unpins it with nil", function()
    local eng = engine()
    local id = new_test(eng, { routing = "sticky" })
    assert(eng:start(id))
    assert.is_true(eng:override(id, "user-1", "treatment"))
    local variant, version, tid = eng:route("ranker", "user-1")
    assert.are.same({ "treatment", "v2", id }, { variant, version, tid })
    assert.is_true(eng:override(id, "user-1", "control"))
    assert.are.equal("control", (eng:route("ranker", "user-1")))
    assert.is_true(eng:override(id, "user-1"))
    assert.has_error(function() eng:override(id, "user-1", "both") end)
  end)

  it("is refused on a hash-routed test", function()
    local eng = engine()
    local id = new_test(eng)
    assert(eng:start(id))
    local ok, msg = eng:override(id, "user-1", "treatment")
    assert.is_nil(ok)
    assert.truthy(msg:match("sticky"), msg)
  end)
end)

describe("engine:now, variant_bytes, close", function()
  it("now is the injected clock and never goes backwards", function()
    local eng, clock = engine()
    assert.are.equal(100, eng:now())
    clock.t = 250
    assert.are.equal(250, eng:now())
    clock.t = 50
    assert.are.equal(250, eng:now())
  end)

  it("variant_bytes is positive for a test's arm and 0 for an unknown id", function()
    local eng = engine()
    local id = new_test(eng)
    assert(eng:start(id))
    assert.is_true(eng:variant_bytes(id, "control") > 1000)
    assert.are.equal(eng:variant_bytes(id, "control"), eng:variant_bytes(id, "treatment"))
    assert.are.equal(0, eng:variant_bytes("nope", "control"))
    assert.has_error(function() eng:variant_bytes(id, "left") end)
  end)

  it("a closed engine says so and refuses calls", function()
    local name
    do
      local eng <close> = engine()
      new_test(eng)
      assert.are.equal("sluice.engine(1 tests, 0 canaries)", tostring(eng))
      name = eng
    end
    assert.are.equal("sluice.engine(closed)", tostring(name))
    assert.has_error(function() name:now() end, "engine is closed")
  end)
end)

describe("engine clock failures", function()
  it("a clock that raises makes the call raise with its message", function()
    local broken = false
    local eng = engine { clock = function()
      if broken then error("ntp is down", 0) end
      return 10
    end }
    broken = true
    assert.has_error(function() eng:now() end, "clock failed: ntp is down")
    broken = false
    assert.are.equal(10, eng:now()) -- the error is reported once
  end)

  it("a clock that returns a non-number or NaN raises naming the type", function()
    local value = 5
    local eng = engine { clock = function() return value end }
    value = "soon"
    assert.has_error(function() eng:tick() end, "clock returned a string, not a finite number")
    value = 0 / 0
    assert.has_error(function() eng:now() end, "clock returned a number, not a finite number")
    value = 6
    assert.are.equal(6, eng:now())
  end)
end)

describe("engine policy options", function()
  local dirs = { (os.getenv("SLUICE_ROOT") or ".") .. "/policies" }

  it("accepts policy_limits and loads the built-ins", function()
    local eng = engine { policy_dirs = dirs,
                         policy_limits = { memory_bytes = 8 << 20, instructions = 2e6, wall_ms = 20 } }
    local names = {}
    for _, p in ipairs(eng:policies()) do names[p.name] = true end
    assert.is_true(names.threshold and names.gated and true)
  end)

  it("rejects malformed policy options naming the key", function()
    assert.has_error(function() sluice.engine { policy_dirs = {} } end,
                     "engine.policy_dirs: empty list")
    assert.has_error(function() sluice.engine { policy_dirs = { 42 } } end,
                     "engine.policy_dirs[1]: expected a path")
    assert.has_error(function() sluice.engine { policy_dirs = "policies" } end)
    local ok, err = pcall(sluice.engine, { policy_dirs = dirs, policy_limits = { cpu = 1 } })
    assert.is_false(ok)
    assert.truthy(tostring(err):match("cpu"), err)
  end)

  it("a missing directory loads nothing; a limit the sandbox refuses fails each policy", function()
    local eng = sluice.engine { policy_dirs = { "/nonexistent/sluice-policies" } }
    assert.are.same({}, eng:policies())
    for _, case in ipairs { { { instructions = 0 }, "instruction budget must be positive" },
                            { { wall_ms = -1 }, "wall%-time budget must be positive" },
                            { { memory_bytes = 1 }, "memory cap too small" } } do
      eng = sluice.engine { policy_dirs = dirs, policy_limits = case[1] }
      local list = eng:policies()
      assert.is_true(#list > 0)
      for _, p in ipairs(list) do
        assert.is_nil(p.name, p.file)
        assert.truthy(p.error and p.error:match(case[2]), p.error)
      end
    end
  end)

  it("rejects engine options the core refuses", function()
    local ok, err = pcall(sluice.engine, { shards = 0 })
    assert.is_false(ok)
    assert.truthy(tostring(err):match("^engine: "), err)
  end)
end)

describe("engine:record metrics", function()
  it("rejects undeclared metrics and non-numeric values, recording nothing", function()
    local eng = engine()
    local id = new_test(eng, { success_metrics = { "clicks" } })
    assert(eng:start(id))
    local ok, msg = eng:record(id, "control", true, 5, { views = 1 })
    assert.is_nil(ok)
    assert.truthy(msg:match("'views' is not declared"), msg)
    assert.has_error(function() eng:record(id, "control", true, 5, { clicks = "one" }) end,
                     "record: metrics must map names to numbers")
    assert.has_error(function() eng:record(id, "control", true, 5, { 1 }) end,
                     "record: metrics must map names to numbers")
    assert.are.equal(0, eng:metrics(id, "control").requests)
    assert.is_true(eng:record(id, "control", true, 5, { clicks = 2 }))
    assert.are.equal(1, eng:metrics(id, "control").requests)
  end)
end)

describe("engine:set_health and engine:set_live", function()
  it("change a version's health and the live version, refusing unknown ones", function()
    local eng = engine()
    assert.is_true(eng:set_health("ranker", "v2", "degraded"))
    assert.are.equal("degraded", eng:models()[1].versions[2].health)
    assert.has_error(function() eng:set_health("ranker", "v2", "sick") end,
                     "health: unknown value 'sick'")
    local ok, msg = eng:set_health("ranker", "v9", "healthy")
    assert.is_nil(ok)
    assert.truthy(msg:match("no version 'v9'"), msg)
    assert.is_true(eng:set_live("ranker", "v2"))
    assert.are.equal("v2", eng:models()[1].live)
    assert.are.equal("v2", select(2, eng:route("ranker", "u")))
    ok, msg = eng:set_live("ranker", "v9")
    assert.is_nil(ok)
    assert.truthy(msg:match("no version 'v9'"), msg)
    assert.are.equal("v2", eng:models()[1].live)
  end)
end)

describe("engine:create_test config shapes", function()
  local function refused(extra, want)
    local eng = engine()
    assert(eng:add_model { id = "other", version = "v1" })
    local cfg = { name = "t", model = "ranker", control = "v1", treatment = "v2" }
    for k, v in pairs(extra) do cfg[k] = v end
    local ok, err = pcall(eng.create_test, eng, cfg)
    assert.is_false(ok)
    assert.truthy(tostring(err):find(want, 1, true), err)
    assert.are.same({}, eng:tests())
  end

  it("takes a version as {model=, version=} of the same model", function()
    local eng = engine()
    local id = assert(eng:create_test { name = "t", model = "ranker", control = "v1",
                                        treatment = { model = "ranker", version = "v2" } })
    assert.are.equal("v2", eng:test(id).treatment.version)
    refused({ treatment = { model = "other", version = "v1" } }, "treatment.model: 'other' differs")
    refused({ treatment = 5 }, "treatment: expected a version string or {model=, version=}")
  end)

  it("refuses malformed ramps, guards, metrics and choices naming the key", function()
    refused({ ramp = { { at_hours = 0 } } }, "test.ramp[1].treatment: required")
    refused({ ramp = { 5 } }, "test.ramp[1]: expected {at_hours=, treatment=}")
    refused({ ramp = { x = 1 } }, "test.ramp: expected an array (keys 1..n)")
    refused({ ramp = "fast" }, "test.ramp: expected an array, got a string")
    refused({ guard_metrics = { 5 } }, "test.guard_metrics[1]: expected a table")
    refused({ target_sample_size = -1 }, "test.target_sample_size: must be a count >= 0")
    refused({ success_metrics = { 1 } }, "test.success_metrics[1]: expected a string")
    refused({ routing = "magic" }, "test.routing: unknown value 'magic'")
  end)

  it("refuses a canary criterion that is not a table", function()
    local eng = engine()
    assert.has_error(function()
      eng:create_canary { name = "k", model = "ranker", canary = "v2", promotion_criteria = { 5 } }
    end, "canary.promotion_criteria[1]: expected a table")
  end)
end)
