-- policy_guard_threshold_spec.lua: guard/threshold on every metric and type
-- the original had, with k-of-n, cooldown, abstention and canary triggers.
local testing = require "sluice.testing"

local policy = testing.builtin "guard/threshold"

local function errors(n_c, e_c, n_t, e_t, extra)
  local spec = { control = { requests = n_c, errors = e_c }, treatment = { requests = n_t, errors = e_t } }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return testing.view(spec)
end

local BAD, GOOD = errors(1000, 10, 1000, 50), errors(1000, 10, 1000, 12)

describe("guard/threshold types", function()
  it("maximum fires above the value, with the numbers in the reason", function()
    local d = testing.evaluate(policy, BAD, { value = 0.02, action = "rollback" })
    assert.same({ action = "rollback",
                  reason = "error_rate 5.00% > maximum 2.00% over the whole run (1000 requests), in 1 of the last 1 checks" }, d)
    assert.is_nil(testing.evaluate(policy, GOOD, { value = 0.02 }))
  end)

  it("minimum fires below the value", function()
    local p = { metric = "success_rate", type = "minimum", value = 0.97 }
    local d = testing.evaluate(policy, BAD, p)
    assert.equal("pause", d.action)
    assert.truthy(d.reason:find("success_rate 95.00% < minimum 97.00%", 1, true))
    assert.is_nil(testing.evaluate(policy, GOOD, p))
  end)

  it("percentage compares treatment/control - 1 with the value, either direction", function()
    local v = testing.view { control = { requests = 500, p99 = 100 }, treatment = { requests = 500, p99 = 130 } }
    local d = testing.evaluate(policy, v, { metric = "latency_p99", type = "percentage", value = 0.2 })
    assert.truthy(d.reason:find("latency_p99 130.0 ms vs control 100.0 ms (+30.0%, limit +20.0%)", 1, true), d.reason)
    assert.is_nil(testing.evaluate(policy, v, { metric = "latency_p99", type = "percentage", value = 0.5 }))
    -- a negative value guards a drop: success rate 95% vs 99% is -4.0%
    local s = errors(1000, 10, 1000, 50)
    assert.is_table(testing.evaluate(policy, s, { metric = "success_rate", type = "percentage", value = -0.03 }))
    assert.is_nil(testing.evaluate(policy, s, { metric = "success_rate", type = "percentage", value = -0.05 }))
  end)

  it("percentage and absolute differ on the same numbers", function()
    local v = errors(10000, 100, 10000, 150) -- 1.0% vs 1.5%: +50% relative, 0.5 points absolute
    assert.is_table(testing.evaluate(policy, v, { type = "percentage", value = 0.4 }))
    assert.is_nil(testing.evaluate(policy, v, { type = "absolute", value = 0.01 }))
    assert.is_table(testing.evaluate(policy, v, { type = "absolute", value = 0.004 }))
    assert.is_nil(testing.evaluate(policy, v, { type = "percentage", value = 0.6 }))
  end)

  it("absolute fires on a difference either way", function()
    local v = testing.view { control = { requests = 500, mean = 200 }, treatment = { requests = 500, mean = 120 } }
    local d = testing.evaluate(policy, v, { metric = "latency_mean", type = "absolute", value = 50 })
    assert.truthy(d.reason:find("difference 80.0 ms, limit 50.0 ms", 1, true), d.reason)
  end)

  it("reads throughput, requests and custom metrics (metrics.<name> or a bare name)", function()
    local v = testing.view {
      age_seconds = 100,
      control = { requests = 1000, metrics = { ctr = { count = 1000, mean = 0.10 } } },
      treatment = { requests = 400, metrics = { ctr = { count = 400, mean = 0.07 } } },
    }
    assert.truthy(testing.evaluate(policy, v, { metric = "throughput", type = "minimum", value = 5 })
      .reason:find("throughput 4.0 req/s < minimum 5.0 req/s", 1, true))
    assert.is_table(testing.evaluate(policy, v, { metric = "requests", type = "percentage", value = -0.5 }))
    for _, m in ipairs { "metrics.ctr", "ctr" } do
      local d = testing.evaluate(policy, v, { metric = m, type = "percentage", value = -0.2 })
      assert.truthy(d.reason:find("(-30.0%, limit -20.0%)", 1, true), d.reason)
    end
    assert.is_nil(testing.evaluate(policy, v, { metric = "metrics.nope", type = "maximum", value = 0 }))
  end)

  it("reads over params.window", function()
    local v = errors(10000, 100, 10000, 110, { windows = {
      ["5m"] = { control = { requests = 300, errors = 3 }, treatment = { requests = 300, errors = 30 } } } })
    assert.is_nil(testing.evaluate(policy, v, { value = 0.02 }))
    local d = testing.evaluate(policy, v, { value = 0.02, window = "5m" })
    assert.truthy(d.reason:find("error_rate 10.00% > maximum 2.00% over 5m (300 requests)", 1, true), d.reason)
  end)

  it("rejects params it cannot act on", function()
    assert.has_error(function() testing.evaluate(policy, BAD, {}) end, "threshold: params.value (a number) is required")
    assert.has_error(function() testing.evaluate(policy, BAD, { value = 1, type = "max" }) end,
                     'threshold: unknown type "max"')
    assert.has_error(function() testing.evaluate(policy, BAD, { value = 1, action = "explode" }) end,
                     'threshold: unknown action "explode"')
    assert.has_error(function() testing.evaluate(policy, BAD, { value = 1, k = 3, n = 2 }) end)
  end)
end)

describe("guard/threshold flapping control", function()
  it("fires exactly when the condition held in k of the last n checks", function()
    local ctx, p = testing.ctx(), { value = 0.02, k = 3, n = 5 }
    local seq = { BAD, GOOD, BAD, GOOD, BAD } -- the third bad check is the fifth
    for i, v in ipairs(seq) do
      local d = testing.evaluate(policy, v, p, ctx)
      if i < 5 then assert.is_nil(d, "check " .. i) else assert.truthy(d.reason:find("in 3 of the last 5 checks", 1, true)) end
    end
  end)

  it("forgets checks older than n", function()
    local ctx, p = testing.ctx(), { value = 0.02, k = 2, n = 3 }
    for i, v in ipairs { BAD, GOOD, GOOD, BAD } do
      assert.is_nil(testing.evaluate(policy, v, p, ctx), "check " .. i) -- the first BAD left the ring
    end
    assert.is_table(testing.evaluate(policy, BAD, p, ctx))
  end)

  it("starts counting afresh after firing", function()
    local ctx, p = testing.ctx(), { value = 0.02, k = 2, n = 3 }
    testing.evaluate(policy, BAD, p, ctx)
    assert.is_table(testing.evaluate(policy, BAD, p, ctx))
    assert.is_nil(testing.evaluate(policy, BAD, p, ctx))
    assert.is_table(testing.evaluate(policy, BAD, p, ctx))
  end)

  it("stays quiet for cooldown_minutes after firing, then fires again if still bad", function()
    local clock = testing.clock(0)
    local ctx, p = testing.ctx { clock = clock }, { value = 0.02, cooldown_minutes = 10 }
    assert.is_table(testing.evaluate(policy, BAD, p, ctx))
    for _ = 1, 9 do
      clock:advance("1m")
      assert.is_nil(testing.evaluate(policy, BAD, p, ctx))
    end
    assert.truthy(ctx.logs[#ctx.logs]:find("cooling down", 1, true))
    clock:advance("59s")
    assert.is_nil(testing.evaluate(policy, BAD, p, ctx))
    clock:advance("1s")
    assert.is_table(testing.evaluate(policy, BAD, p, ctx))
  end)

  it("abstains below min_requests, and abstentions are not checks", function()
    local thin = errors(1000, 10, 50, 25)
    assert.is_nil(testing.evaluate(policy, thin, { value = 0.02 }))
    local ctx, p = testing.ctx(), { value = 0.02, k = 2, n = 2 }
    testing.evaluate(policy, BAD, p, ctx)
    testing.evaluate(policy, thin, p, ctx)
    assert.is_table(testing.evaluate(policy, BAD, p, ctx))
    -- relative types need control's requests too
    local thin_control = errors(50, 0, 1000, 50)
    assert.is_table(testing.evaluate(policy, thin_control, { value = 0.02 }))
    assert.is_nil(testing.evaluate(policy, thin_control, { type = "absolute", value = 0.01 }))
  end)
end)

describe("guard/threshold actions", function()
  it("pause, rollback and alert pass through", function()
    for _, a in ipairs { "pause", "rollback", "alert" } do
      assert.equal(a, testing.evaluate(policy, BAD, { value = 0.02, action = a }).action)
    end
  end)

  it("reduce_traffic halves the current share, or sets reduce_to", function()
    local v = errors(1000, 10, 1000, 50, { allocation = 40 })
    local d = testing.evaluate(policy, v, { value = 0.02, action = "reduce_traffic" })
    assert.equal("set_traffic", d.action)
    assert.equal(20, d.treatment)
    assert.equal(": reduce traffic 40% -> 20%", d.reason:sub(-#": reduce traffic 40% -> 20%"))
    assert.equal(5, testing.evaluate(policy, v, { value = 0.02, action = "reduce_traffic", reduce_to = 5 }).treatment)
    assert.is_nil(testing.evaluate(policy, v, { value = 0.02, action = "reduce_traffic", reduce_to = 40 }))
  end)

  it("names the rollback trigger for canaries, by metric", function()
    local v = testing.view { kind = "canary",
      stable = { requests = 1000, errors = 10, p99 = 100, metrics = { ctr = { count = 1000, mean = 0.1 } } },
      canary = { requests = 1000, errors = 100, p99 = 300, metrics = { ctr = { count = 1000, mean = 0.01 } } } }
    for metric, want in pairs {
      error_rate = { "maximum", 0.02, "error_rate" },
      success_rate = { "minimum", 0.95, "success_rate_decrease" },
      latency_p99 = { "percentage", 0.5, "latency_increase" },
      latency_mean = { "maximum", -1, "latency_increase" },
      ["metrics.ctr"] = { "minimum", 0.05, "custom_metric" },
    } do
      local v2 = metric == "latency_mean" and testing.view { kind = "canary", stable = { requests = 1000, mean = 1 },
                                                             canary = { requests = 1000, mean = 2 } } or v
      local d = testing.evaluate(policy, v2, { metric = metric, type = want[1], value = want[2], action = "rollback" })
      assert.equal(want[3], d.trigger, metric)
    end
    assert.truthy(testing.evaluate(policy, v, { metric = "latency_p99", type = "percentage", value = 0.5 })
      .reason:find("vs stable 100.0 ms", 1, true))
    assert.is_nil(testing.evaluate(policy, BAD, { value = 0.02, action = "rollback" }).trigger) -- tests: none
  end)
end)
