-- policy_promotion_criteria_spec.lua: promotion/criteria promotes a canary
-- only after every criterion held for its full duration with healthy
-- checks, and rolls it back with the right trigger.
local testing = require "sluice.testing"

local policy = testing.builtin "promotion/criteria"

local CRITERIA = {
  { metric = "success_rate", op = ">=", value = 0.99, for_minutes = 30 },
  { metric = "latency_mean", op = "<", value = 1000, for_minutes = 10 },
}

-- A canary view; `canary` overrides the healthy canary arm's fields.
local function canary(opts)
  opts = opts or {}
  local arm = { requests = 2000, errors = 4, mean = 400, p99 = 900 }
  for k, v in pairs(opts.canary or {}) do arm[k] = v end
  return testing.view {
    kind = "canary", age_seconds = opts.age or 3600, allocation = 10,
    stable = { requests = 18000, errors = 36, mean = 380, p99 = 850 }, canary = arm,
    config = { promotion_criteria = opts.criteria or CRITERIA, success_threshold = 0.95, error_threshold = 0.05,
               duration_minutes = opts.duration },
    health = { { at = 0, health = "healthy", error_rate = 0.002, passed = opts.healthy ~= false } },
  }
end

-- Evaluate every 5 minutes from ctx's clock; the first decision and when.
local function first_decision(clock, ctx, minutes, view_at)
  for _ = 0, minutes, 5 do
    local d = testing.evaluate(policy, view_at(clock:now() / 60), nil, ctx)
    if d then return d, clock:now() / 60 end
    clock:advance("5m")
  end
end

describe("promotion/criteria", function()
  it("promotes only once every criterion has held for its full duration", function()
    local clock = testing.clock(0)
    local ctx = testing.ctx { clock = clock }
    local d, at = first_decision(clock, ctx, 120, function() return canary() end)
    assert.equal(30, at)
    assert.equal("promote", d.action)
    assert.equal("promotion criteria met: success_rate 99.80% >= 0.99 (30 of 30 min); latency_mean 400.0 ms < 1000 "
                 .. "(30 of 10 min); health check passed; running 60 min", d.reason)
  end)

  it("starts a criterion's clock over when it breaks", function()
    local clock = testing.clock(0)
    local ctx = testing.ctx { clock = clock }
    local dip = function(m) -- success rate 98.5% (not a rollback) at minute 25 only
      return canary { canary = m == 25 and { errors = 30 } or {} }
    end
    local d, at = first_decision(clock, ctx, 120, dip)
    assert.equal(60, at) -- 30 minutes from minute 30, not from 0
    assert.equal("promote", d.action)
  end)

  it("treats an unreadable metric as not holding", function()
    local clock = testing.clock(0)
    local ctx = testing.ctx { clock = clock }
    local crit = { { metric = "metrics.quality", op = ">", value = 0.5, for_minutes = 5 } }
    assert.is_nil(first_decision(clock, ctx, 60, function() return canary { criteria = crit } end))
    assert.same({}, ctx.state.since)
  end)

  it("needs the latest health check to have passed", function()
    local clock = testing.clock(0)
    local ctx = testing.ctx { clock = clock }
    assert.is_nil(first_decision(clock, ctx, 60, function() return canary { healthy = false } end))
    assert.equal("promote", testing.evaluate(policy, canary(), nil, ctx).action) -- criteria kept their clocks
  end)

  it("waits for config.duration_minutes", function()
    local ctx = testing.ctx { now = 3600 }
    ctx.state.since = { ["success_rate >= 0.99"] = 0, ["latency_mean < 1000"] = 0 }
    assert.is_nil(testing.evaluate(policy, canary { age = 3000, duration = 60 }, nil, ctx))
    assert.equal("promote", testing.evaluate(policy, canary { age = 3600, duration = 60 }, nil, ctx).action)
  end)

  it("supports every operator", function()
    for op, want in pairs { [">"] = true, ["<"] = false, [">="] = true, ["<="] = false, ["=="] = false, ["!="] = true } do
      local ctx = testing.ctx { now = 0 }
      local crit = { { metric = "latency_p99", op = op, value = 800, for_minutes = 0 } }
      local d = testing.evaluate(policy, canary { criteria = crit }, nil, ctx)
      assert.equal(want, d ~= nil, op)
    end
    assert.has_error(function()
      testing.evaluate(policy, canary { criteria = { { metric = "error_rate", op = "=>", value = 1 } } })
    end, 'criteria: unknown op "=>"')
  end)

  it("does not promote with nothing to judge by", function()
    assert.is_nil(testing.evaluate(policy, canary { criteria = {} }, nil, testing.ctx()))
  end)
end)

describe("promotion/criteria rollback", function()
  it("rolls back below the success threshold (success_rate_decrease)", function()
    local d = testing.evaluate(policy, canary { canary = { errors = 150 } })
    assert.same({ action = "rollback", trigger = "success_rate_decrease",
                  reason = "canary success rate 92.50% < threshold 95.00% (2000 requests)" }, d)
  end)

  it("rolls back above the error threshold (error_rate)", function()
    local v = testing.view { kind = "canary", stable = { requests = 1000 }, canary = { requests = 1000, errors = 60 },
                             config = { error_threshold = 0.05 } }
    local d = testing.evaluate(policy, v)
    assert.equal("error_rate", d.trigger)
    assert.equal("canary error rate 6.00% > threshold 5.00% (1000 requests)", d.reason)
  end)

  it("rolls back on a p99 increase over stable beyond max_latency_increase (latency_increase)", function()
    local d = testing.evaluate(policy, canary { canary = { p99 = 1400 } })
    assert.equal("latency_increase", d.trigger)
    assert.equal("canary p99 1400.0 ms vs stable 850.0 ms (+65% > +50%)", d.reason)
    assert.is_nil(testing.evaluate(policy, canary { canary = { p99 = 1400 } }, { max_latency_increase = 1 }, testing.ctx()))
  end)

  it("judges over params.window", function()
    local v = testing.view { kind = "canary", stable = { requests = 9000 }, canary = { requests = 1000, errors = 10 },
                             config = { error_threshold = 0.05 },
                             windows = { ["5m"] = { stable = { requests = 900 }, canary = { requests = 100, errors = 20 } } } }
    assert.truthy(testing.evaluate(policy, v).reason:find("20.00%", 1, true))
    assert.is_nil(testing.evaluate(policy, v, { window = false }))
  end)

  it("judges nothing below min_requests", function()
    assert.is_nil(testing.evaluate(policy, canary { canary = { requests = 50, errors = 50 } }))
  end)
end)
