-- p99_budget_spec.lua: how a policy author tests a custom guard with the kit.
-- Run: lua5.4 /usr/bin/busted --lpath='lua/?.lua' examples/policies/p99_budget_spec.lua
local testing = require "sluice.testing"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local policy = assert(testing.load(here .. "p99_budget.lua"))

-- A test whose last five minutes had these p99s and request counts.
local function window(p99_t, p99_c, n)
  return testing.view {
    control = { requests = 50000 }, treatment = { requests = 50000 },
    windows = { ["5m"] = { control = { requests = n or 1000, p99 = p99_c or 100 },
                           treatment = { requests = n or 1000, p99 = p99_t } } },
  }
end

describe("p99_budget guard", function()
  local ctx
  before_each(function() ctx = testing.ctx() end)

  it("fires after `breaches` windows in a row over budget, with the numbers", function()
    assert.is_nil(testing.evaluate(policy, window(300), nil, ctx))
    assert.same({ "treatment: p99 300 ms > budget 250 ms (breach 1 of 2)" }, ctx.logs)
    local d = testing.evaluate(policy, window(310), nil, ctx)
    assert.same({ action = "pause",
                  reason = "treatment p99 310 ms > budget 250 ms over 5m (1000 requests), 2 windows in a row" }, d)
  end)

  it("starts counting again after a good window", function()
    testing.evaluate(policy, window(300), nil, ctx)
    testing.evaluate(policy, window(200), nil, ctx)
    assert.is_nil(testing.evaluate(policy, window(300), nil, ctx))
  end)

  it("abstains on a thin window without losing the count", function()
    testing.evaluate(policy, window(300), nil, ctx)
    assert.is_nil(testing.evaluate(policy, window(900, 100, 50), nil, ctx))
    assert.is_table(testing.evaluate(policy, window(300), nil, ctx))
  end)

  it("judges relative to control when max_over_control_ms is set", function()
    local params = { max_ms = 1000, max_over_control_ms = 50, breaches = 1 }
    assert.is_nil(testing.evaluate(policy, window(400, 380), params, ctx)) -- the fleet is slow, not the model
    local d = testing.evaluate(policy, window(400, 300), params, ctx)
    assert.equal("treatment p99 400 ms is 100 ms over control's 300 ms (> 50 ms) over 5m (1000 requests), 1 window in a row",
                 d.reason)
  end)

  it("rolls a canary back with the latency trigger when configured to", function()
    local v = testing.view { kind = "canary", windows = { ["5m"] = {
      stable = { requests = 9000, p99 = 100 }, canary = { requests = 1000, p99 = 600 } } } }
    local d = testing.evaluate(policy, v, { breaches = 1, action = "rollback" }, ctx)
    assert.equal("rollback", d.action)
    assert.equal("latency_increase", d.trigger)
    assert.truthy(d.reason:find("^canary p99 600 ms"))
  end)

  it("reads only what it needs (what the engine will attach to the event)", function()
    local v = window(300)
    testing.evaluate(policy, v, nil, ctx)
    assert.same({ "kind = test", "window(5m).control.latency.p99 = 100", "window(5m).treatment.latency.p99 = 300",
                  "window(5m).treatment.requests = 1000" }, testing.reads(v))
  end)
end)
