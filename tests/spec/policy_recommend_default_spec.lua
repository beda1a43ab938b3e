-- policy_recommend_default_spec.lua: recommend/default reaches each of its
-- six recommendations in a case built for it, and says why with numbers.
local testing = require "sluice.testing"

local policy = testing.builtin "recommend/default"

-- A test with n requests per arm (treatment share `alloc`) and error rates e_c, e_t.
local function test(opts)
  local n_c, n_t = opts.n_c or opts.n or 20000, opts.n_t or opts.n or 20000
  return testing.view {
    age_hours = opts.age or 10, allocation = opts.alloc or 50,
    control = { requests = n_c, errors = math.floor(n_c * (opts.e_c or 0.01) + 0.5) },
    treatment = { requests = n_t, errors = math.floor(n_t * (opts.e_t or 0.01) + 0.5) },
    config = opts.config, windows = opts.windows, stats = opts.stats,
  }
end

local function rec(v, params) return testing.evaluate(policy, v, params) end

describe("recommend/default on error rate", function()
  it("recommends rollback when the treatment is significantly worse", function()
    local d = rec(test { e_t = 0.03 })
    assert.equal("rollback", d.recommendation)
    assert.truthy(d.reason:find("^treatment is significantly worse: error_rate difference %+2.00 points, always%-valid interval %[%+1.5%d points, %+2.4%d points%]"),
                  d.reason)
  end)

  it("recommends promote when significantly better by at least the minimum effect", function()
    local d = rec(test { e_t = 0.005, config = { minimum_effect_size = 0.002 } })
    assert.equal("promote", d.recommendation)
    assert.truthy(d.reason:find("^treatment is significantly better: error_rate difference %-0.50 points"), d.reason)
  end)

  it("keeps going when better but by less than the minimum effect", function()
    local d = rec(test { e_t = 0.005, config = { minimum_effect_size = 0.01 } })
    assert.equal("continue", d.recommendation)
    assert.truthy(d.reason:find("significantly better but by +0.50 points, below the minimum effect 0.01", 1, true), d.reason)
  end)

  it("keeps going when better but short of target_sample_size", function()
    local d = rec(test { e_t = 0.005, config = { target_sample_size = 50000 } })
    assert.equal("continue", d.recommendation)
    assert.truthy(d.reason:find("20000 of the target 50000 per arm", 1, true), d.reason)
    assert.equal("promote", rec(test { e_t = 0.005, config = { target_sample_size = 20000 } }).recommendation)
  end)

  it("recommends decrease_traffic on a degrading trend that is not significant yet", function()
    local d = rec(test { n = 5000, e_t = 0.011, windows = {
      ["1h"] = { control = { requests = 1000, errors = 10 }, treatment = { requests = 1000, errors = 20 } } } })
    assert.equal("decrease_traffic", d.recommendation)
    assert.truthy(d.reason:find("treatment trending worse on error_rate: +1.00 points over the last 1h vs +0.10 points overall",
                                1, true), d.reason)
    -- the same recent numbers on a thin window are no trend
    local thin = rec(test { n = 5000, e_t = 0.011, windows = {
      ["1h"] = { control = { requests = 100, errors = 1 }, treatment = { requests = 100, errors = 2 } } } })
    assert.are_not.equal("decrease_traffic", thin.recommendation)
  end)

  it("recommends extend when the duration has passed and more sample is needed", function()
    local d = rec(test { n = 5000, e_t = 0.0102, age = 30, config = { duration_hours = 24, minimum_effect_size = 0.001 } })
    assert.equal("extend", d.recommendation)
    local needed = testing.view { control = { requests = 5000, errors = 50 }, treatment = { requests = 5000, errors = 51 },
                                  config = { minimum_effect_size = 0.001 } }.stats.needed
    assert.truthy(d.reason:find(("24 h planned and 30.0 h run without a decision; about %d more per arm needed for effect 0.001")
                                :format(needed), 1, true), d.reason)
    assert.are_not.equal("extend", rec(test { n = 5000, e_t = 0.0102, age = 20,
                                              config = { duration_hours = 24, minimum_effect_size = 0.001 } }).recommendation)
  end)

  it("recommends increase_traffic when healthy with enough sample below the ceiling", function()
    local d = rec(test { n_c = 9000, n_t = 1000, alloc = 10 })
    assert.equal("increase_traffic", d.recommendation)
    assert.truthy(d.reason:find("^healthy at 10%% with 1000 per arm"), d.reason)
    assert.truthy(d.reason:find("room to grow to 50%", 1, true))
    assert.equal("continue", rec(test { n_c = 9500, n_t = 500, alloc = 5 }).recommendation)      -- too little sample
    assert.equal("continue", rec(test { n_c = 9000, n_t = 1000, alloc = 10 }, { min_samples = 2000 }).recommendation)
  end)

  it("does not increase traffic on a sample-ratio mismatch", function()
    local d = rec(test { n_c = 9000, n_t = 1000, alloc = 10, stats = { srm = { p = 1e-6 } } })
    assert.equal("continue", d.recommendation)
  end)

  it("recommends continue at the ceiling with nothing to decide, with the numbers", function()
    local d = rec(test { n = 5000 })
    assert.equal("continue", d.recommendation)
    assert.truthy(d.reason:find("^no decision yet: error_rate difference %+0.00 points, always%-valid interval %[%-0.%d%d points, %+0.%d%d points%], p 1 %(alpha 0.05%)$"),
                  d.reason)
  end)

  it("reads the engine's running interval for error rate, or computes one look without it", function()
    local engine = rec(test { e_t = 0.0101, stats = { error_rate = { sequential = { p = 0.001, ci_low = 0.002, ci_high = 0.004 } } } })
    assert.equal("rollback", engine.recommendation)
    assert.truthy(engine.reason:find("always-valid interval [+0.20 points, +0.40 points], p 0.001", 1, true), engine.reason)
    local own = rec(test { e_t = 0.03, stats = { error_rate = { sequential = false } } })
    assert.equal("rollback", own.recommendation)
    assert.truthy(own.reason:find("[+1.55 points, +2.45 points]", 1, true), own.reason)
  end)

  it("recommends continue with too little data", function()
    local d = rec(test { n = 1 })
    assert.same({ recommendation = "continue", reason = "too little data yet: 1 and 1 requests" }, d)
  end)
end)

describe("recommend/default on a success metric", function()
  local function ctr(mean_t, config)
    config = config or {}
    config.success_metrics = { "ctr" }
    return testing.view {
      config = config, allocation = 50, age_hours = 10,
      control = { requests = 20000, metrics = { ctr = { count = 20000, mean = 0.100, sd = 0.3 } } },
      treatment = { requests = 20000, metrics = { ctr = { count = 20000, mean = mean_t, sd = 0.3 } } },
    }
  end

  it("uses the first success metric, higher is better", function()
    assert.equal("promote", rec(ctr(0.115)).recommendation)
    assert.equal("rollback", rec(ctr(0.085)).recommendation)
    assert.equal("continue", rec(ctr(0.101)).recommendation)
    assert.truthy(rec(ctr(0.085)).reason:find("ctr difference -0.015", 1, true))
  end)

  it("waits for the success metric's statistics rather than judging by error rate", function()
    local v = testing.view { config = { success_metrics = { "ctr" } },
                             control = { requests = 20000, errors = 200 }, treatment = { requests = 20000, errors = 800 } }
    local d = rec(v)
    assert.same({ recommendation = "continue", reason = "too little data yet: 20000 and 20000 requests" }, d)
  end)

  it("extends on the success metric's own needed", function()
    local v = ctr(0.1005, { duration_hours = 1, minimum_effect_size = 0.005 })
    local d = rec(v)
    assert.equal("extend", d.recommendation)
    assert.truthy(d.reason:find(("about %d more per arm needed for effect 0.005"):format(v.stats.metrics.ctr.needed), 1, true),
                  d.reason)
  end)

  it("reverses with direction = lower_is_better", function()
    assert.equal("rollback", rec(ctr(0.115), { direction = "lower_is_better" }).recommendation)
    assert.equal("promote", rec(ctr(0.085), { direction = "lower_is_better" }).recommendation)
  end)
end)
