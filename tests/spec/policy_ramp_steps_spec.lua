-- policy_ramp_steps_spec.lua: ramp/steps follows an explicit schedule, moves
-- traffic when it enters a step, and does not fight a guard or an operator.
local testing = require "sluice.testing"

local policy = testing.builtin "ramp/steps"

local RAMP = { { at_hours = 0, treatment = 5 }, { at_hours = 2, treatment = 20 }, { at_hours = 6, treatment = 50 } }

local function view(age_hours, pct, extra)
  local spec = { age_hours = age_hours, allocation = pct, ramp = RAMP }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return testing.view(spec)
end

describe("ramp/steps", function()
  it("defaults to the test's own view.ramp", function()
    local d = testing.evaluate(policy, view(0.1, 50), nil, testing.ctx())
    assert.same({ action = "set_traffic", treatment = 5,
                  reason = "ramp step 1 of 3 (from 0 h) at 0.10 h running: treatment 5% (was 50%)" }, d)
  end)

  it("moves to each step as running time passes it, and only then", function()
    local ctx, pct, moves = testing.ctx(), 50, {}
    for tick = 0, 8 * 4 do -- every 15 minutes for 8 hours
      local h = tick / 4
      local d = testing.evaluate(policy, view(h, pct), nil, ctx)
      if d then pct = d.treatment; moves[#moves + 1] = { h, pct } end
    end
    assert.same({ { 0, 5 }, { 2, 20 }, { 6, 50 } }, moves)
  end)

  it("says nothing when the allocation is already at the step", function()
    assert.is_nil(testing.evaluate(policy, view(3, 20), nil, testing.ctx()))
  end)

  it("abstains before the first step starts", function()
    local late = { { at_hours = 1, treatment = 10 } }
    assert.is_nil(testing.evaluate(policy, view(0.5, 0), { schedule = late }, testing.ctx()))
    assert.equal(10, testing.evaluate(policy, view(1, 0), { schedule = late }, testing.ctx()).treatment)
  end)

  it("takes params.schedule over view.ramp", function()
    local d = testing.evaluate(policy, view(3, 5), { schedule = { { at_hours = 0, treatment = 1 },
                                                                 { at_hours = 2.5, treatment = 7.5 } } })
    assert.equal(7.5, d.treatment)
    assert.truthy(d.reason:find("step 2 of 2", 1, true))
  end)

  it("leaves a guard's reduction alone until the next step", function()
    local ctx = testing.ctx()
    assert.equal(20, testing.evaluate(policy, view(2, 5), nil, ctx).treatment)
    -- a guard halves traffic to 10%: the same step does not undo it
    assert.is_nil(testing.evaluate(policy, view(3, 10), nil, ctx))
    assert.is_nil(testing.evaluate(policy, view(5.9, 10), nil, ctx))
    assert.equal(50, testing.evaluate(policy, view(6, 10), nil, ctx).treatment)
  end)

  it("pulls traffic back to the schedule every tick with hold_overrides = false", function()
    local ctx = testing.ctx()
    testing.evaluate(policy, view(2, 5), { hold_overrides = false }, ctx)
    local d = testing.evaluate(policy, view(3, 10), { hold_overrides = false }, ctx)
    assert.equal(20, d.treatment)
  end)

  it("ramps a canary's share", function()
    local v = testing.view { kind = "canary", age_hours = 2.5, allocation = 5, ramp = RAMP }
    local d = testing.evaluate(policy, v, nil, testing.ctx())
    assert.equal(20, d.treatment)
    assert.truthy(d.reason:find("(was 5%)", 1, true))
  end)
end)
