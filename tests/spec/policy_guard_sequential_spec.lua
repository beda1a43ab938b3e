-- policy_guard_sequential_spec.lua: guard/sequential rolls back only when
-- the always-valid interval lies beyond the margin on the harmful side.
local testing = require "sluice.testing"

local policy = testing.builtin "guard/sequential"

local function rates(n, e_c, e_t, extra)
  local spec = { control = { requests = n, errors = math.floor(n * e_c + 0.5) },
                 treatment = { requests = n, errors = math.floor(n * e_t + 0.5) } }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return testing.view(spec)
end

-- A test whose success metric ctr has the given always-valid interval.
local function ctr(lo, hi, p, extra)
  local spec = { config = { success_metrics = { "ctr" } },
                 control = { requests = 5000 }, treatment = { requests = 5000 },
                 stats = { metrics = { ctr = { diff = (lo + hi) / 2, sequential = { p = p or 0.001, ci_low = lo, ci_high = hi } } } } }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return testing.view(spec)
end

describe("guard/sequential on error rate (no success metrics)", function()
  it("rolls back when the interval is entirely above zero, quoting it", function()
    local d = testing.evaluate(policy, rates(20000, 0.01, 0.03))
    local seq = testing.always_valid(0.02, (0.01 * 0.99 + 0.03 * 0.97) / 20000, 40000, 0.05)
    assert.equal("rollback", d.action)
    assert.equal(("always-valid interval for error_rate (treatment - control) is [%+.2f points, %+.2f points], "
                  .. "entirely above 0 (p %.2g): the treatment is worse"):format(
                  seq.ci_low * 100, seq.ci_high * 100, seq.p), d.reason)
  end)

  it("uses the engine's running interval when it has one", function()
    local v = rates(20000, 0.01, 0.0105, { stats = { error_rate = { sequential = { p = 0.01, ci_low = 0.001, ci_high = 0.004 } } } })
    local d = testing.evaluate(policy, v)
    assert.truthy(d.reason:find("is [+0.10 points, +0.40 points], entirely above 0 (p 0.01)", 1, true), d.reason)
  end)

  it("computes one look of the confidence sequence when the engine has none", function()
    local v = rates(20000, 0.01, 0.016, { stats = { error_rate = { sequential = false } } })
    local seq = testing.always_valid(0.006, (0.01 * 0.99 + 0.016 * 0.984) / 20000, 40000, 0.05)
    local d = testing.evaluate(policy, v)
    assert.truthy(d.reason:find(("[%+.2f points, %+.2f points]"):format(seq.ci_low * 100, seq.ci_high * 100), 1, true),
                  d.reason)
    local tuned = testing.always_valid(0.006, (0.01 * 0.99 + 0.016 * 0.984) / 20000, 40000, 0.05, 500)
    assert.truthy(testing.evaluate(policy, v, { tuning = 500 }).reason:find(
      ("[%+.2f points, %+.2f points]"):format(tuned.ci_low * 100, tuned.ci_high * 100), 1, true))
    assert.are_not.equal(("%.4f"):format(seq.ci_low), ("%.4f"):format(tuned.ci_low)) -- tuning is not a no-op
  end)

  it("stays quiet on a difference within chance or an improvement", function()
    assert.is_nil(testing.evaluate(policy, rates(20000, 0.01, 0.0105)))
    assert.is_nil(testing.evaluate(policy, rates(20000, 0.01, 0.005)))
  end)

  it("needs the harm to clear the margin", function()
    local v = rates(20000, 0.01, 0.016) -- interval about [+0.24, +0.96] points
    assert.is_table(testing.evaluate(policy, v))
    assert.is_nil(testing.evaluate(policy, v, { margin = 0.003 }))
  end)

  it("is stricter than a fixed-horizon test looked at every tick", function()
    local v = rates(5000, 0.01, 0.0145) -- fixed-horizon p about 0.04: significant at one look
    assert.is_true(v.stats.error_rate.p < 0.05)
    assert.is_nil(testing.evaluate(policy, v))
  end)

  it("abstains below min_requests", function()
    assert.is_nil(testing.evaluate(policy, rates(90, 0.01, 0.5)))
  end)
end)

describe("guard/sequential on a success metric", function()
  it("defaults to the first success metric, higher is better", function()
    local d = testing.evaluate(policy, ctr(-0.03, -0.01))
    assert.equal("always-valid interval for ctr (treatment - control) is [-0.03, -0.01], entirely below 0 "
                 .. "(p 0.001): the treatment is worse", d.reason)
    assert.is_nil(testing.evaluate(policy, ctr(-0.03, 0.01)))
    assert.is_nil(testing.evaluate(policy, ctr(0.01, 0.03)))
  end)

  it("honours direction and margin", function()
    assert.is_nil(testing.evaluate(policy, ctr(-0.03, -0.01), { direction = "lower_is_better" }))
    assert.is_table(testing.evaluate(policy, ctr(0.01, 0.03), { direction = "lower_is_better" }))
    assert.is_nil(testing.evaluate(policy, ctr(-0.03, -0.01), { margin = 0.02 }))
    assert.is_table(testing.evaluate(policy, ctr(-0.05, -0.03), { margin = 0.02 }))
  end)

  it("can be pointed at error rate or another metric explicitly", function()
    local v = ctr(0.01, 0.03, 0.001, { control = { requests = 20000, errors = 200 },
                                       treatment = { requests = 20000, errors = 600 } })
    assert.is_table(testing.evaluate(policy, v, { metric = "error_rate" }))
    assert.is_nil(testing.evaluate(policy, v, { metric = "latency_budget" })) -- no such statistic: abstain
  end)

  it("names the canary trigger", function()
    local k = testing.view { kind = "canary", stable = { requests = 20000, errors = 200 },
                             canary = { requests = 20000, errors = 600 } }
    local d = testing.evaluate(policy, k)
    assert.equal("error_rate", d.trigger)
    assert.truthy(d.reason:find("(canary - stable)", 1, true))
    local c = ctr(-0.03, -0.01, 0.001, { kind = "canary" })
    assert.equal("custom_metric", testing.evaluate(policy, c).trigger)
  end)
end)
