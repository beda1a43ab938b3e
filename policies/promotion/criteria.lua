-- promotion/criteria: the original service's canary promotion and rollback.
--
-- Promote when every criterion of view.config.promotion_criteria
-- ({metric, op, value, for_minutes}; op one of > < >= <= == !=) has held
-- without a break for its for_minutes, the latest health check passed, and
-- config.duration_minutes (if set) have passed. A criterion that stops
-- holding, or cannot be read, starts its clock over. Roll back, naming the
-- trigger, when the canary's success rate is below config.success_threshold
-- (success_rate_decrease), its error rate above config.error_threshold
-- (error_rate), or its p99 above the stable version's by more than
-- max_latency_increase (0.5 = +50%; latency_increase). Thresholds of 0 are
-- unset. Metrics are read over params.window (false: the whole run) and
-- nothing is judged below min_requests. ctx.state.since maps each criterion
-- to the time it started holding.

local PARAMS = { max_latency_increase = 0.5, min_requests = 100, window = "5m" }

local OPS = {
  [">"] = function(a, b) return a > b end, ["<"] = function(a, b) return a < b end,
  [">="] = function(a, b) return a >= b end, ["<="] = function(a, b) return a <= b end,
  ["=="] = function(a, b) return a == b end, ["!="] = function(a, b) return a ~= b end,
}
local LATENCY = { latency = "mean", latency_mean = "mean", latency_p50 = "p50", latency_p90 = "p90",
                  latency_p95 = "p95", latency_p99 = "p99", latency_p999 = "p999" }
local PLAIN = { error_rate = true, success_rate = true, throughput = true, requests = true }

local function read(arm, metric)
  if PLAIN[metric] then return arm[metric] end
  if LATENCY[metric] then return arm.latency and arm.latency[LATENCY[metric]] end
  local m = arm.metrics and arm.metrics[metric:match("^metrics%.(.+)$") or metric]
  return m and m.mean
end

local function show(metric, v)
  if v == nil then return "unknown" end
  if metric == "error_rate" or metric == "success_rate" then return ("%.2f%%"):format(v * 100) end
  if LATENCY[metric] then return ("%.1f ms"):format(v) end
  return ("%.4g"):format(v)
end

-- A rollback trigger and reason, or nil.
local function rollback(cfg, p, stable, canary)
  local s, e = canary.success_rate, canary.error_rate
  if (cfg.success_threshold or 0) > 0 and s and s < cfg.success_threshold then
    return "success_rate_decrease", ("canary success rate %.2f%% < threshold %.2f%% (%d requests)"):format(
      s * 100, cfg.success_threshold * 100, canary.requests)
  end
  if (cfg.error_threshold or 0) > 0 and e and e > cfg.error_threshold then
    return "error_rate", ("canary error rate %.2f%% > threshold %.2f%% (%d requests)"):format(
      e * 100, cfg.error_threshold * 100, canary.requests)
  end
  local q1, q2 = stable.latency and stable.latency.p99, canary.latency and canary.latency.p99
  if p.max_latency_increase and stable.requests >= p.min_requests and q1 and q2 and q1 > 0
     and q2 / q1 - 1 > p.max_latency_increase then
    return "latency_increase", ("canary p99 %.1f ms vs stable %.1f ms (%+.0f%% > %+.0f%%)"):format(
      q2, q1, (q2 / q1 - 1) * 100, p.max_latency_increase * 100)
  end
end

-- Update since-times; true if all held long enough, and a phrase per criterion.
local function criteria(list, arm, st, now)
  local since, all, lines = {}, true, {}
  for _, c in ipairs(list) do
    local op = OPS[c.op] or error(("criteria: unknown op %q"):format(tostring(c.op)), 0)
    local key, v = ("%s %s %s"):format(c.metric, c.op, c.value), read(arm, c.metric)
    local holds = v ~= nil and op(v, c.value)
    since[key] = holds and ((st.since or {})[key] or now) or nil
    local held = holds and (now - since[key]) / 60 or 0
    all = all and holds and held >= (c.for_minutes or 0)
    lines[#lines + 1] = ("%s %s %s %g (%.0f of %g min)"):format(
      c.metric, show(c.metric, v), c.op, c.value, held, c.for_minutes or 0)
  end
  st.since = since
  return all, lines
end

local function latest_health(view)
  local last
  for _, h in ipairs(view.health or {}) do last = h end
  return last
end

local function evaluate(view, params, ctx)
  local w = params.window and view:window(params.window) or view
  local stable, canary = w.stable or w.control, w.canary or w.treatment
  if canary.requests < params.min_requests then return nil end
  local cfg = view.config
  local trig, why = rollback(cfg, params, stable, canary)
  if trig then return { action = "rollback", trigger = trig, reason = why } end
  local all, lines = criteria(cfg.promotion_criteria or {}, canary, ctx.state, ctx.now)
  local health, dur = latest_health(view), (cfg.duration_minutes or 0) * 60
  if not (all and health and health.passed and view.age_seconds >= dur) then return nil end
  if #lines == 0 and dur == 0 then return nil end -- nothing to judge by: leave it to the operator
  return { action = "promote", reason = ("promotion criteria met: %s; health check passed; running %.0f min"):format(
    #lines > 0 and table.concat(lines, "; ") or "none set", view.age_seconds / 60) }
end

local function self_test()
  local canary = { requests = 1000, success_rate = 0.995, error_rate = 0.005, latency = { mean = 400, p99 = 900 } }
  local view = { kind = "canary", age_seconds = 3600, stable = { requests = 9000, latency = { p99 = 800 } },
                 canary = canary, health = { { at = 0, passed = true } },
                 config = { promotion_criteria = { { metric = "success_rate", op = ">=", value = 0.99, for_minutes = 30 } } } }
  local ctx = { now = 0, state = {}, log = function() end }
  local p = { min_requests = 100, max_latency_increase = 0.5 }
  assert(evaluate(view, p, ctx) == nil, "criteria: not yet held for 30 minutes")
  ctx.now = 1800
  assert(evaluate(view, p, ctx).action == "promote", "criteria: held for 30 minutes")
end

return {
  kind = "promotion", name = "criteria", version = "1.0.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
