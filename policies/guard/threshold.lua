-- guard/threshold: the original service's guard metrics, with anti-flapping.
--
-- metric: error_rate, success_rate, latency_mean, latency_p50/p90/p95/p99/
-- p999, throughput, requests, or a custom metric's mean ("metrics.<name>" or
-- a bare name). type: maximum (treatment > value), minimum (treatment <
-- value), percentage (treatment/control - 1 beyond value: a positive value
-- fires on an increase above it, a negative one on a decrease below it),
-- absolute (|treatment - control| > value). Read over params.window (nil:
-- the whole test). The condition must hold in k of the last n evaluations
-- (abstentions are not evaluations); then the guard fires, forgets those
-- evaluations and stays quiet for cooldown_minutes. action: pause, rollback,
-- alert or reduce_traffic (set_traffic to reduce_to, default half the
-- current share). Below min_requests in an arm it compares, it abstains:
-- no data is not failure. Canaries get the rollback trigger of the metric.

local PARAMS = {
  metric = "error_rate", type = "maximum", value = nil, action = "pause", window = nil,
  k = 1, n = 1, cooldown_minutes = 0, min_requests = 100, reduce_to = nil,
}

local LATENCY = { latency_mean = "mean", latency_p50 = "p50", latency_p90 = "p90",
                  latency_p95 = "p95", latency_p99 = "p99", latency_p999 = "p999" }
local PLAIN = { error_rate = true, success_rate = true, throughput = true, requests = true }
local ACTIONS = { pause = "pause", rollback = "rollback", alert = "alert", reduce_traffic = "set_traffic" }
local RATES = { error_rate = true, success_rate = true }

local function read(arm, metric)
  if PLAIN[metric] then return arm[metric] end
  if LATENCY[metric] then return arm.latency and arm.latency[LATENCY[metric]] end
  local m = arm.metrics and arm.metrics[metric:match("^metrics%.(.+)$") or metric]
  return m and m.mean
end

local function trigger(metric)
  if metric == "error_rate" then return "error_rate" end
  if metric == "success_rate" then return "success_rate_decrease" end
  if LATENCY[metric] then return "latency_increase" end
  return "custom_metric"
end

local function show(metric, v)
  if RATES[metric] then return ("%.2f%%"):format(v * 100) end
  if LATENCY[metric] then return ("%.1f ms"):format(v) end
  if metric == "throughput" then return ("%.1f req/s"):format(v) end
  return ("%.4g"):format(v)
end

-- Each type: does the condition hold (cheap: every tick, every test), and
-- the phrase with the numbers (formatted only when it is reported).
local HOLDS = {
  maximum = function(t, _, v) return t > v end,
  minimum = function(t, _, v) return t < v end,
  percentage = function(t, c, v)
    local change = c ~= 0 and t / c - 1 or (t == 0 and 0 or math.huge)
    return (v >= 0 and change > v) or (v < 0 and change < v)
  end,
  absolute = function(t, c, v) return math.abs(t - c) > v end,
}

local PHRASE = {
  maximum = function(m, t, _, v)
    return ("%s %s %s maximum %s"):format(m, show(m, t), t > v and ">" or "<=", show(m, v))
  end,
  minimum = function(m, t, _, v)
    return ("%s %s %s minimum %s"):format(m, show(m, t), t < v and "<" or ">=", show(m, v))
  end,
  percentage = function(m, t, c, v, bn)
    local change = c ~= 0 and t / c - 1 or (t == 0 and 0 or math.huge)
    return ("%s %s vs %s %s (%+.1f%%, limit %+.1f%%)"):format(m, show(m, t), bn, show(m, c), change * 100, v * 100)
  end,
  absolute = function(m, t, c, v, bn)
    return ("%s %s vs %s %s (difference %s, limit %s)"):format(
      m, show(m, t), bn, show(m, c), show(m, math.abs(t - c)), show(m, v))
  end,
}

local function check(p)
  if type(p.value) ~= "number" then error("threshold: params.value (a number) is required", 0) end
  if not HOLDS[p.type] then error(("threshold: unknown type %q"):format(tostring(p.type)), 0) end
  if not ACTIONS[p.action] then error(("threshold: unknown action %q"):format(tostring(p.action)), 0) end
  if not (p.k >= 1 and p.n >= p.k) then error("threshold: need 1 <= k <= n", 0) end
end

-- Push one evaluation into the ring of the last n; how many held.
local function record(st, held, n)
  local ring = st.ring or {}
  ring[#ring + 1] = held
  while #ring > n do table.remove(ring, 1) end
  st.ring = ring
  local hits = 0
  for _, h in ipairs(ring) do if h then hits = hits + 1 end end
  return hits
end

local function decide(view, p, what)
  local d = { action = ACTIONS[p.action], reason = what }
  if p.action == "reduce_traffic" then
    local a = view.allocation
    local cur = view.kind == "canary" and a.canary or a.treatment
    local to = p.reduce_to or cur / 2
    if to >= cur then return nil end
    d.treatment, d.reason = to, ("%s: reduce traffic %g%% -> %g%%"):format(what, cur, to)
  end
  if view.kind == "canary" then d.trigger = trigger(p.metric) end
  return d
end

local function evaluate(view, params, ctx)
  check(params)
  local w = params.window and view:window(params.window) or view
  local canary = view.kind == "canary"
  local base, cand = canary and w.stable or w.control, canary and w.canary or w.treatment
  local relative = params.type == "percentage" or params.type == "absolute"
  if cand.requests < params.min_requests or (relative and base.requests < params.min_requests) then return nil end
  local t, c = read(cand, params.metric), relative and read(base, params.metric) or 0
  if t == nil or c == nil then return nil end
  local st = ctx.state
  local limit = params.value
  local hits = record(st, HOLDS[params.type](t, c, limit), params.n)
  if hits < params.k then return nil end
  local phrase = PHRASE[params.type](params.metric, t, c, limit, canary and "stable" or "control")
  if st.fired_at and ctx.now - st.fired_at < params.cooldown_minutes * 60 then
    ctx.log("cooling down: %s", phrase)
    return nil
  end
  local what = ("%s over %s (%d requests), in %d of the last %d checks"):format(
    phrase, params.window or "the whole run", cand.requests, hits, params.n)
  local d = decide(view, params, what)
  if d then st.fired_at, st.ring = ctx.now, {} end
  return d
end

local function self_test()
  local arm = function(n, e) return { requests = n, errors = e, error_rate = e / n } end
  local view = { kind = "test", allocation = { treatment = 50 }, control = arm(1000, 10), treatment = arm(1000, 50) }
  function view.window(v) return v end
  local p = {}
  for k, v in pairs(PARAMS) do p[k] = v end
  p.value, p.action = 0.02, "rollback"
  local d = evaluate(view, p, { now = 0, state = {}, log = function() end })
  assert(d and d.action == "rollback", "threshold: 5% errors > maximum 2% rolls back")
end

return {
  kind = "guard", name = "threshold", version = "1.0.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
