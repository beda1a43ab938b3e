-- guard/sequential: roll back when an always-valid interval shows harm.
--
-- metric: a custom success metric (default: the test's first), read from
-- view.stats.metrics[metric].sequential; or "error_rate" (the default when
-- the test has no success metrics): view.stats.error_rate.sequential when
-- the engine provides it, else computed here from view.stats.error_rate and
-- the arms' requests with GrowthBook's asymptotic confidence sequence
-- (tuning = N*, the total sample decisions are expected at). The interval is for treatment -
-- control; harm beyond margin means it lies entirely below -margin
-- (direction "higher_is_better", the default for custom metrics) or
-- entirely above +margin ("lower_is_better", the default for error rate).
-- Because the interval is valid at every look, checking it every tick does
-- not inflate false alarms the way a fixed-horizon p-value would.

local PARAMS = { metric = nil, margin = 0, direction = nil, action = "rollback",
                 min_requests = 100, tuning = 5000 }

local function first(list)
  return list and list[1]
end

-- Always-valid interval for diff with variance s2 after n units (both arms).
local function always_valid(diff, s2, n, alpha, nstar)
  if s2 <= 0 then return { p = diff == 0 and 1 or 0, ci_low = diff, ci_high = diff } end
  local l = -2 * math.log(alpha)
  local tau2 = (l + math.log(l + 1)) / nstar * n * s2
  local lnl = 0.5 * math.log(s2 / (s2 + tau2)) + tau2 * diff * diff / (2 * s2 * (s2 + tau2))
  local half = math.sqrt(2 * s2 * (s2 + tau2) / tau2 * (math.log(1 / alpha) + 0.5 * math.log((s2 + tau2) / s2)))
  return { p = math.min(1, math.exp(-lnl)), ci_low = diff - half, ci_high = diff + half }
end

local function error_rate_interval(view, base, cand, params)
  local e = view.stats.error_rate
  local core = e and e.sequential
  if core and core.ci_low and core.ci_high then return core end -- the engine's running one
  if not (e and e.p1 and e.p2) then return nil end
  local s2 = e.p1 * (1 - e.p1) / base.requests + e.p2 * (1 - e.p2) / cand.requests
  return always_valid(e.p2 - e.p1, s2, base.requests + cand.requests, view.config.alpha or 0.05, params.tuning)
end

local function show(metric, x)
  if x == 0 then return "0" end
  if metric == "error_rate" then return ("%+.2f points"):format(x * 100) end
  return ("%+.4g"):format(x)
end

-- The always-valid interval of metric, or nil.
local function interval(view, base, cand, params, metric)
  if metric == "error_rate" then return error_rate_interval(view, base, cand, params) end
  local s = view.stats.metrics and view.stats.metrics[metric]
  return s and s.sequential
end

local function harm_reason(metric, seq, lower, margin, canary)
  local arm, other = canary and "canary" or "treatment", canary and "stable" or "control"
  return ("always-valid interval for %s (%s - %s) is [%s, %s], entirely %s %s (p %.2g): the %s is worse"):format(
    metric, arm, other, show(metric, seq.ci_low), show(metric, seq.ci_high), lower and "above" or "below",
    show(metric, lower and margin or -margin), seq.p or 0, arm)
end

local function evaluate(view, params)
  if not view.stats then return nil end
  local canary = view.kind == "canary"
  local base, cand = canary and view.stable or view.control, canary and view.canary or view.treatment
  if base.requests < params.min_requests or cand.requests < params.min_requests then return nil end
  local metric = params.metric or first(view.config.success_metrics) or "error_rate"
  local seq = interval(view, base, cand, params, metric)
  if not (seq and seq.ci_low and seq.ci_high) then return nil end
  local direction = params.direction or (metric == "error_rate" and "lower_is_better" or "higher_is_better")
  local lower, m = direction == "lower_is_better", params.margin
  if (lower and seq.ci_low <= m) or (not lower and seq.ci_high >= -m) then return nil end
  local d = { action = params.action, reason = harm_reason(metric, seq, lower, m, canary) }
  if canary then d.trigger = metric == "error_rate" and "error_rate" or "custom_metric" end
  return d
end

local function self_test()
  local arm = function(n) return { requests = n } end
  local view = { kind = "test", control = arm(20000), treatment = arm(20000), config = {},
                 stats = { error_rate = { p1 = 0.01, p2 = 0.03 } } }
  local d = evaluate(view, { margin = 0, action = "rollback", min_requests = 100, tuning = 5000 })
  assert(d and d.action == "rollback", "sequential: 3% vs 1% errors on 20,000 each is harm")
  view.stats.error_rate.p2 = 0.0105
  assert(evaluate(view, { margin = 0, action = "rollback", min_requests = 100, tuning = 5000 }) == nil,
         "sequential: 1.05% vs 1% is not")
end

return {
  kind = "guard", name = "sequential", version = "1.0.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
