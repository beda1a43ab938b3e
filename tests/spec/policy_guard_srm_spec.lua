-- policy_guard_srm_spec.lua: guard/srm pauses a test whose arms' traffic
-- does not match its allocation, and only with enough traffic to tell.
local testing = require "sluice.testing"

local policy = testing.builtin "guard/srm"

local function split(n_c, n_t, alloc, stats)
  return testing.view { allocation = alloc or 50, control = { requests = n_c }, treatment = { requests = n_t },
                        stats = stats }
end

describe("guard/srm", function()
  it("pauses on a 40/60 split of a 50/50 test, with the observed and expected split", function()
    local d = testing.evaluate(policy, split(1200, 800))
    assert.equal("pause", d.action)
    assert.truthy(d.reason:find("^sample ratio mismatch: treatment got 40.00%% of 2000 requests %(800%), expected 50.00%% %(chi2 80.0, p "),
                  d.reason)
    assert.truthy(d.reason:find("< 0.001)", 1, true))
  end)

  it("accepts a split that matches the allocation within chance", function()
    assert.is_nil(testing.evaluate(policy, split(5040, 4960)))
    assert.is_nil(testing.evaluate(policy, split(8000, 2000, 20)))
  end)

  it("compares with the configured allocation, not 50/50", function()
    local d = testing.evaluate(policy, split(7000, 3000, 20))
    assert.truthy(d.reason:find("treatment got 30.00% of 10000 requests (3000), expected 20.00%", 1, true), d.reason)
  end)

  it("quotes the engine's expected share, which integrates a ramp's allocations", function()
    -- now at 50%, but most of the run was at 20%: the engine expects 30% overall
    local d = testing.evaluate(policy, split(8000, 2000, 50, { srm = { p = 1e-20, chi2 = 95, expected_treatment_share = 0.3 } }))
    assert.truthy(d.reason:find("treatment got 20.00% of 10000 requests (2000), expected 30.00%", 1, true), d.reason)
  end)

  it("abstains below min_requests however extreme the split", function()
    local tiny = split(150, 50, 50, { srm = { p = 1e-6 } })
    assert.is_nil(testing.evaluate(policy, tiny))
    assert.is_table(testing.evaluate(policy, tiny, { min_requests = 200 }))
  end)

  it("uses params.p as the threshold and params.action", function()
    local v = split(1000, 1000, 50, { srm = { chi2 = 7, p = 0.008 } })
    assert.is_nil(testing.evaluate(policy, v))
    local d = testing.evaluate(policy, v, { p = 0.01, action = "alert" })
    assert.equal("alert", d.action)
    assert.truthy(d.reason:find("p 0.008 < 0.01", 1, true), d.reason)
  end)

  it("abstains when the core has no srm statistic", function()
    assert.is_nil(testing.evaluate(policy, testing.view { control = { requests = 9000 }, treatment = { requests = 1000 },
                                                          stats = false }))
  end)
end)
