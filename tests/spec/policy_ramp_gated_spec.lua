-- policy_ramp_gated_spec.lua: ramp/gated advances one gate at a time on
-- samples and quiet time, steps back on a hold, and never skips a gate.
local testing = require "sluice.testing"

local policy = testing.builtin "ramp/gated"

-- A test receiving `rate` requests a minute, split by the allocation; the
-- 5-minute window shows the given error rates and p99s on `win` requests per arm.
local function world(rate)
  local w = { clock = testing.clock(0), rate = rate or 20000, c = 0, t = 0, pct = 50, win = 500,
              err_c = 0.01, err_t = 0.01, p99_c = 100, p99_t = 100, path = {} }
  w.ctx = testing.ctx { clock = w.clock }
  function w.view(self)
    local function arm(e, p99) return { requests = self.win, error_rate = e, p99 = p99 } end
    return testing.view {
      age_seconds = self.clock:now() + 60, allocation = self.pct,
      control = { requests = self.c }, treatment = { requests = self.t },
      windows = { ["5m"] = { control = arm(self.err_c, self.p99_c), treatment = arm(self.err_t, self.p99_t) } },
    }
  end
  -- Let traffic flow for `minutes`, then evaluate once and apply the decision.
  function w.tick(self, minutes, params)
    self.clock:advance(minutes * 60)
    self.c = self.c + math.floor(self.rate * minutes * (100 - self.pct) / 100)
    self.t = self.t + math.floor(self.rate * minutes * self.pct / 100)
    local d = testing.evaluate(policy, self:view(), params, self.ctx)
    if d then self.pct = d.treatment; self.path[#self.path + 1] = d.treatment end
    return d
  end
  return w
end

describe("ramp/gated", function()
  it("starts at the first step", function()
    local d = world():tick(1)
    assert.same({ action = "set_traffic", treatment = 1, reason = "gated ramp starts at: 1% (step 1 of 5)" }, d)
  end)

  it("waits for min_samples per arm at the step even when quiet long enough", function()
    local w = world(1000) -- 10 treatment requests a minute at 1%
    w:tick(1)
    assert.is_nil(w:tick(60))                -- 600 treatment requests: not yet
    local d = w:tick(45)                      -- 1050
    assert.equal(5, d.treatment)
    assert.equal("gate passed at 1% (103950 and 1050 requests at the step, quiet 105 min); advance to: 5% (step 2 of 5)",
                 d.reason)
  end)

  it("waits for quiet_minutes at the step even with samples to spare", function()
    local w = world()
    w:tick(1)
    assert.is_nil(w:tick(29))
    assert.equal(5, w:tick(1).treatment)
  end)

  it("climbs one step per passed gate to the top and stays there", function()
    local w = world()
    for _ = 1, 20 do w:tick(30) end
    assert.same({ 1, 5, 10, 25, 50 }, w.path)
  end)

  it("steps back one step on a hold, once per hold, and restarts the quiet period from its end", function()
    local w = world()
    for _ = 1, 3 do w:tick(30) end
    assert.equal(10, w.pct)
    w.err_t = 0.05
    local d = w:tick(1)
    assert.equal(5, d.treatment)
    assert.equal("hold: treatment error rate 5.00% vs control 1.00% over 5m (+4.00 points > 1.00); step back to: "
                 .. "5% (step 2 of 5)", d.reason)
    assert.is_nil(w:tick(10))                 -- still bad: no further step back
    assert.truthy(w.ctx.logs[#w.ctx.logs]:find("still holding", 1, true))
    w.err_t = 0.012
    assert.is_nil(w:tick(29))                 -- 29 quiet minutes since the last hold
    assert.equal(10, w:tick(1).treatment)
    assert.same({ 1, 5, 10, 5, 10 }, w.path)
  end)

  it("holds on a p99 ratio above max_p99_ratio", function()
    local w = world()
    for _ = 1, 4 do w:tick(30) end
    w.p99_t = 160
    local d = w:tick(1)
    assert.equal(10, d.treatment)
    assert.truthy(d.reason:find("treatment p99 160 ms vs control 100 ms over 5m (x1.60 > x1.50)", 1, true), d.reason)
  end)

  it("does not hold on a window too thin to judge (no data is not failure)", function()
    local w = world()
    w:tick(1)
    w.win, w.err_t = 50, 0.5
    assert.equal(5, w:tick(30).treatment)
  end)

  it("does nothing on a hold at the first step but log it", function()
    local w = world()
    w:tick(1)
    w.err_t = 0.2
    assert.is_nil(w:tick(1))
    assert.truthy(w.ctx.logs[1]:find("hold at the first step", 1, true))
  end)

  it("catches up after a lag one gate at a time, re-checking each", function()
    local w = world()
    w:tick(1)
    assert.equal(5, w:tick(30).treatment)
    -- the engine was down for 6 hours; traffic kept flowing and every gate would have passed
    assert.equal(10, w:tick(360).treatment)  -- one step, not three
    assert.is_nil(w:tick(1))                  -- the new step's own gate: samples yes, quiet no
    assert.is_nil(w:tick(28))
    w.err_t = 0.05
    assert.equal(5, w:tick(1).treatment)      -- and a hold during catch-up still steps back
    assert.same({ 1, 5, 10, 5 }, w.path)
  end)

  it("re-anchors when someone else moved the allocation", function()
    local w = world()
    for _ = 1, 4 do w:tick(30) end
    assert.equal(25, w.pct)
    w.pct = 12.5                              -- a guard's reduce_traffic
    assert.is_nil(w:tick(1))
    assert.truthy(w.ctx.logs[#w.ctx.logs]:find("re-anchors at step 3", 1, true))
    assert.is_nil(w:tick(29))
    local d = w:tick(1)
    assert.equal(25, d.treatment)
    assert.truthy(d.reason:find("^gate passed at 12.5%%"), d.reason)
  end)

  it("takes its steps and gates from params", function()
    local w = world()
    local params = { steps = { 10, 100 }, quiet_minutes = 5, min_samples = 10 }
    assert.equal(10, w:tick(1, params).treatment)
    assert.equal(100, w:tick(5, params).treatment)
  end)

  it("keeps only JSON-like state", function()
    local w = world()
    for _ = 1, 3 do w:tick(30) end
    assert.is_true(testing.check_state(w.ctx.state))
    assert.equal(3, w.ctx.state.index)
  end)
end)
