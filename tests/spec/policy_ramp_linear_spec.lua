-- policy_ramp_linear_spec.lua: ramp/linear reproduces the original
-- service's gradual schedule (N equal steps up to max% over a duration).
local testing = require "sluice.testing"

local policy = testing.builtin "ramp/linear"

-- Tick every `every` hours for `hours`, applying each decision; the moves made.
local function run(params, hours, every)
  local ctx, pct, moves = testing.ctx(), 0, {}
  for tick = 0, math.floor(hours / every + 0.5) do
    local h = tick * every
    local d = testing.evaluate(policy, testing.view { age_hours = h, allocation = pct }, params, ctx)
    if d then
      pct = d.treatment
      moves[#moves + 1] = { at = h, pct = pct, reason = d.reason }
    end
  end
  return moves
end

describe("ramp/linear", function()
  it("reproduces the original's default steps over 24 h: 10..50% every 4.8 h", function()
    local moves = run(nil, 24, 0.1)
    assert.equal(5, #moves)
    local want = { { 0, 10 }, { 4.8, 20 }, { 9.6, 30 }, { 14.4, 40 }, { 19.2, 50 } }
    for i, w in ipairs(want) do
      assert.near(w[1], moves[i].at, 1e-9)
      assert.equal(w[2], moves[i].pct)
    end
    assert.equal("linear ramp step 2 of 5 (10% up to 50% over 24 h) at 4.80 h running: treatment 20% (was 10%)",
                 moves[2].reason)
  end)

  it("does not move between steps or after the last", function()
    local moves = run({ steps = 4, max = 40, over_hours = 8 }, 48, 0.25)
    assert.equal(4, #moves)
    assert.same({ 0, 2, 4, 6 }, { moves[1].at, moves[2].at, moves[3].at, moves[4].at })
    assert.equal(40, moves[4].pct)
  end)

  it("goes evenly from start to max when start is given", function()
    local moves = run({ steps = 4, max = 50, over_hours = 12, start = 5 }, 12, 0.5)
    assert.same({ 5, 20, 35, 50 }, { moves[1].pct, moves[2].pct, moves[3].pct, moves[4].pct })
  end)

  it("rounds uneven shares to 0.01%", function()
    local moves = run({ steps = 3, max = 100, over_hours = 3 }, 3, 0.5)
    assert.same({ 33.33, 66.67, 100 }, { moves[1].pct, moves[2].pct, moves[3].pct })
  end)

  it("says nothing when the allocation is already at the target", function()
    assert.is_nil(testing.evaluate(policy, testing.view { age_hours = 5, allocation = 20 }, nil, testing.ctx()))
  end)

  it("rejects impossible params with a message naming them", function()
    local v = testing.view { age_hours = 1 }
    for params, msg in pairs {
      [{ steps = 0 }] = "steps must be an integer >= 1",
      [{ max = 120 }] = "max must be in (0,100]",
      [{ over_hours = 0 }] = "over_hours must be > 0",
      [{ start = 60 }] = "start must be in [0,max]",
    } do
      assert.has_error(function() testing.evaluate(policy, v, params) end, "linear: " .. msg)
    end
  end)
end)
