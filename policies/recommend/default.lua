-- recommend/default: what to do with a test, from its statistics.
--
-- The primary metric is the first success metric (higher is better unless
-- params.direction = "lower_is_better"), else the error rate (lower is
-- better). Its evidence is its always-valid interval (.sequential; for
-- error rate computed here from view.stats.error_rate when the engine has
-- none, as in guard/sequential), so looking every tick is safe; power and
-- needed are the primary's own, else view.stats'. In order:
--   rollback          significantly worse (p < alpha, interval on the harmful side);
--   promote           significantly better by at least minimum_effect_size, with
--                     target_sample_size per arm reached (if set);
--   decrease_traffic  not significant, worse so far, and worse still over trend_window;
--   extend            duration_hours passed, and needed says more sample is needed;
--   increase_traffic  not worse, each arm has min_samples, treatment below ramp_ceiling;
--   continue          otherwise.

local PARAMS = { direction = nil, min_samples = 1000, ramp_ceiling = 50, trend_window = "1h",
                 min_trend_requests = 200, tuning = 5000 }

local function first(list)
  return list and list[1]
end

local function always_valid(diff, s2, n, alpha, nstar)
  if s2 <= 0 then return { p = diff == 0 and 1 or 0, ci_low = diff, ci_high = diff } end
  local l = -2 * math.log(alpha)
  local tau2 = (l + math.log(l + 1)) / nstar * n * s2
  local lnl = 0.5 * math.log(s2 / (s2 + tau2)) + tau2 * diff * diff / (2 * s2 * (s2 + tau2))
  local half = math.sqrt(2 * s2 * (s2 + tau2) / tau2 * (math.log(1 / alpha) + 0.5 * math.log((s2 + tau2) / s2)))
  return { p = math.min(1, math.exp(-lnl)), ci_low = diff - half, ci_high = diff + half }
end

-- The primary metric: name, sign (+1 higher is better), diff, interval,
-- power and needed; nil while its statistics are not there yet.
local function primary(view, p, alpha)
  local name, s = first(view.config.success_metrics), view.stats
  if name then
    local m = s.metrics and s.metrics[name]
    local q = m and m.sequential
    if not (q and m.diff and q.p and q.ci_low and q.ci_high) then return nil end
    return { name = name, sign = p.direction == "lower_is_better" and -1 or 1, diff = m.diff, seq = m.sequential,
             power = m.power or s.power, needed = m.needed or s.needed }
  end
  local e, c, t = s.error_rate, view.control, view.treatment
  if not (e and e.p1 and e.p2) then return nil end
  local seq = e.sequential
  if not (seq and seq.ci_low and seq.ci_high and seq.p) then -- the engine's running one, else one look
    local s2 = e.p1 * (1 - e.p1) / c.requests + e.p2 * (1 - e.p2) / t.requests
    seq = always_valid(e.p2 - e.p1, s2, c.requests + t.requests, alpha, p.tuning)
  end
  return { name = "error_rate", sign = -1, diff = e.p2 - e.p1, seq = seq,
           power = e.power or s.power, needed = e.needed or s.needed }
end

local function show(pm, x)
  if pm.name == "error_rate" then return ("%+.2f points"):format(x * 100) end
  return ("%+.4g"):format(x)
end

-- Gain = improvement (positive is better), and its interval.
local function gains(pm)
  local lo, hi = pm.sign * pm.seq.ci_low, pm.sign * pm.seq.ci_high
  return pm.sign * pm.diff, math.min(lo, hi), math.max(lo, hi)
end

local function evidence(pm, alpha)
  return ("%s difference %s, always-valid interval [%s, %s], p %.2g (alpha %g)"):format(
    pm.name, show(pm, pm.diff), show(pm, pm.seq.ci_low), show(pm, pm.seq.ci_high), pm.seq.p, alpha)
end

-- The primary metric's gain over a recent window, or nil when too thin.
local function recent_gain(view, p, pm)
  local w = view:window(p.trend_window)
  local c, t = w.control, w.treatment
  if c.requests < p.min_trend_requests or t.requests < p.min_trend_requests then return nil end
  if pm.name == "error_rate" then
    return c.error_rate and t.error_rate and -(t.error_rate - c.error_rate)
  end
  local mc, mt = c.metrics and c.metrics[pm.name], t.metrics and t.metrics[pm.name]
  return mc and mt and mc.mean and mt.mean and pm.sign * (mt.mean - mc.mean)
end

local function significant(view, pm, alpha, n)
  local cfg = view.config
  local gain, lo, hi = gains(pm)
  if pm.seq.p >= alpha then return nil end
  local ev = evidence(pm, alpha)
  if hi < 0 then return "rollback", "treatment is significantly worse: " .. ev end
  if lo <= 0 then return nil end
  local mes, target = cfg.minimum_effect_size or 0, cfg.target_sample_size or 0
  if gain < mes then
    return "continue", ("significantly better but by %s, below the minimum effect %g: %s"):format(
      show(pm, gain), mes, ev)
  end
  if target > 0 and n < target then
    return "continue", ("significantly better; %d of the target %d per arm so far: %s"):format(n, target, ev)
  end
  return "promote", "treatment is significantly better: " .. ev
end

local function trend(view, p, pm, alpha)
  local gain = pm.sign * pm.diff
  local recent = recent_gain(view, p, pm)
  if gain >= 0 or not recent or recent >= gain then return nil end
  return "decrease_traffic", ("treatment trending worse on %s: %s over the last %s vs %s overall"
    .. " (not significant yet: %s)"):format(
    pm.name, show(pm, pm.sign * recent), p.trend_window, show(pm, pm.diff), evidence(pm, alpha))
end

local function extend(view, pm, alpha)
  local cfg = view.config
  local dur = cfg.duration_hours or 0
  if dur <= 0 or view.age_hours < dur or not (pm.needed and pm.needed > 0) then return nil end
  return "extend", ("%g h planned and %.1f h run without a decision; about %d more per arm needed"
    .. " for effect %g (power now %.2f): %s"):format(
    dur, view.age_hours, pm.needed, cfg.minimum_effect_size or 0, pm.power or 0, evidence(pm, alpha))
end

local function grow(view, p, pm, alpha, n)
  local share, srm = view.allocation.treatment, view.stats.srm
  if pm.sign * pm.diff < 0 or n < p.min_samples or share >= p.ramp_ceiling then return nil end
  if srm and srm.p and srm.p < 0.001 then return nil end
  return "increase_traffic", ("healthy at %g%% with %d per arm (%s): room to grow to %g%%"):format(
    share, n, evidence(pm, alpha), p.ramp_ceiling)
end

local function evaluate(view, params)
  local c, t = view.control, view.treatment
  local n, alpha = math.min(c.requests, t.requests), view.config.alpha or 0.05
  local pm = view.stats and n >= 2 and primary(view, params, alpha)
  if not pm then
    return { recommendation = "continue", reason = ("too little data yet: %d and %d requests"):format(c.requests, t.requests) }
  end
  local rec, why = significant(view, pm, alpha, n)
  if not rec then rec, why = trend(view, params, pm, alpha) end
  if not rec then rec, why = extend(view, pm, alpha) end
  if not rec then rec, why = grow(view, params, pm, alpha, n) end
  if not rec then rec, why = "continue", "no decision yet: " .. evidence(pm, alpha) end
  return { recommendation = rec, reason = why }
end

local function self_test()
  local arm = function(n) return { requests = n } end
  local view = { kind = "test", age_hours = 1, allocation = { treatment = 50 }, control = arm(20000), treatment = arm(20000),
                 config = { alpha = 0.05 }, stats = { error_rate = { p1 = 0.01, p2 = 0.03 } } }
  function view.window(v) return v end
  assert(evaluate(view, PARAMS).recommendation == "rollback", "default: 3% vs 1% errors rolls back")
  view.stats.error_rate.p2 = 0.002
  assert(evaluate(view, PARAMS).recommendation == "promote", "default: 0.2% vs 1% errors promotes")
end

return {
  kind = "recommend", name = "default", version = "1.0.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
