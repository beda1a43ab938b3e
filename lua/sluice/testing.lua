--- sluice.testing: the policy author kit.
--
-- Build views and contexts shaped like the ones the engine hands to a
-- policy (docs/policies.md), load policy files in a restricted environment
-- close to the sandbox, and evaluate them with params merged over their
-- defaults, so a busted spec can pin a policy's decisions and reasons:
--
--     local testing = require "sluice.testing"
--     local p = assert(testing.load "policies/guard/threshold.lua")
--     local v = testing.view { control = { requests = 1000, errors = 10 },
--                              treatment = { requests = 1000, errors = 40 } }
--     local d = testing.evaluate(p, v, { value = 0.02, action = "rollback" })
--     assert.equal("rollback", d.action)
--
-- Works without the compiled `sluice` module. When `require "sluice"`
-- succeeds and it has `stats`, the fixed-horizon numbers in view.stats come
-- from it; otherwise from the closed forms below (normal approximations:
-- good to about 1e-7, which is plenty for deciding, not for reference values).
--
-- Not modelled: the sandbox's memory cap, wall-time budget, pattern length
-- limits and locked string metatable (the real host enforces them; `sluice
-- policy check` runs a file through it).
-- @module sluice.testing
local testing = {}

local has_core, core = pcall(require, "sluice")
local core_stats = has_core and type(core) == "table" and core.stats or nil

-- ---- small helpers ---------------------------------------------------------

local UNITS = { s = 1, m = 60, h = 3600, d = 86400 }

--- Seconds in a window spec.
-- @param spec `"30s"`, `"5m"`, `"1h"`, `"2d"`, a bare number string, or a number of seconds
-- @return seconds (a number); raises on anything else
function testing.seconds(spec)
  if type(spec) == "number" then return spec end
  local n, unit = tostring(spec):match("^%s*(%d+%.?%d*)%s*([smhd]?)%s*$")
  if not n then error(("bad window spec %q (want e.g. \"30s\", \"5m\", \"1h\" or seconds)"):format(tostring(spec)), 2) end
  return tonumber(n) * UNITS[unit ~= "" and unit or "s"]
end

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = deep_copy(x) end
  return t
end

-- b's values over a's, recursively for tables on both sides; returns a new table.
local function deep_merge(a, b)
  local t = deep_copy(a) or {}
  for k, v in pairs(b or {}) do
    if type(v) == "table" and type(t[k]) == "table" then t[k] = deep_merge(t[k], v) else t[k] = deep_copy(v) end
  end
  return t
end

-- ---- closed-form statistics (used when sluice.stats is absent) ------------

-- erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' erfcc,
-- a Chebyshev fit), so tail probabilities keep their relative accuracy.
local function erfc(x)
  local z = math.abs(x)
  local t = 1 / (1 + 0.5 * z)
  local r = t * math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
    + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
    + t * (-0.82215223 + t * 0.17087277)))))))))
  return x >= 0 and r or 2 - r
end

local function normal_sf(z) return 0.5 * erfc(z / math.sqrt(2)) end

-- Acklam's rational approximation of the normal quantile (relative error < 1.2e-9).
local A = { -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
            -30.66479806614716, 2.506628277459239 }
local B = { -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
            -13.28068155288572 }
local C = { -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
            4.374664141464968, 2.938163982698783 }
local D = { 0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416 }

local function tail_ppf(p) -- p < 0.02425: the lower tail
  local q = math.sqrt(-2 * math.log(p))
  return (((((C[1] * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) * q + C[6])
       / ((((D[1] * q + D[2]) * q + D[3]) * q + D[4]) * q + 1)
end

local function normal_ppf(p)
  if p <= 0 then return -math.huge elseif p >= 1 then return math.huge end
  if p < 0.02425 then return tail_ppf(p) end
  if p > 1 - 0.02425 then return -tail_ppf(1 - p) end
  local q = p - 0.5
  local r = q * q
  return (((((A[1] * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * r + A[6]) * q
       / (((((B[1] * r + B[2]) * r + B[3]) * r + B[4]) * r + B[5]) * r + 1)
end

testing.normal_sf, testing.normal_ppf = normal_sf, normal_ppf

-- Two proportions: pooled z for the p-value, unpooled Wald interval.
local function proportions(s1, n1, s2, n2, alpha)
  if n1 == 0 or n2 == 0 then
    local p1, p2 = n1 > 0 and s1 / n1 or 0, n2 > 0 and s2 / n2 or 0
    return { p1 = p1, p2 = p2, diff = p2 - p1, z = 0, p = 1, ci_low = -1, ci_high = 1 }
  end
  local p1, p2 = s1 / n1, s2 / n2
  local pool = (s1 + s2) / (n1 + n2)
  local r = { p1 = p1, p2 = p2, diff = p2 - p1, z = 0, p = 1, ci_low = 0, ci_high = 0 }
  if pool == 0 or pool == 1 then return r end
  r.z = (p2 - p1) / math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
  r.p = math.min(1, 2 * normal_sf(math.abs(r.z)))
  local half = normal_ppf(1 - alpha / 2) * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
  r.ci_low, r.ci_high = r.diff - half, r.diff + half
  return r
end

-- Welch on means; p and interval from the normal approximation (df reported).
local function welch(m1, v1, n1, m2, v2, n2, alpha)
  local a, b = v1 / n1, v2 / n2
  local se = math.sqrt(a + b)
  local diff = m2 - m1
  local df = se > 0 and (a + b) ^ 2 / (a * a / (n1 - 1) + b * b / (n2 - 1)) or n1 + n2 - 2
  if se == 0 then
    local z = diff == 0 and 0 or (diff > 0 and math.huge or -math.huge)
    return { diff = diff, se = 0, t = z, df = df, p = diff == 0 and 1 or 0, ci_low = diff, ci_high = diff }
  end
  local t = diff / se
  local half = normal_ppf(1 - alpha / 2) * se
  return { diff = diff, se = se, t = t, df = df, p = math.min(1, 2 * normal_sf(math.abs(t))),
           ci_low = diff - half, ci_high = diff + half }
end

-- Pearson chi-square for two arms against the configured shares (df = 1).
local function srm(o1, o2, w1, w2)
  local total = o1 + o2
  if total == 0 then return { chi2 = 0, df = 1, p = 1 } end
  local e1, e2 = total * w1 / (w1 + w2), total * w2 / (w1 + w2)
  if e1 == 0 or e2 == 0 then
    local bad = (e1 == 0 and o1 > 0) or (e2 == 0 and o2 > 0)
    return { chi2 = bad and math.huge or 0, df = 0, p = bad and 0 or 1 }
  end
  local chi2 = (o1 - e1) ^ 2 / e1 + (o2 - e2) ^ 2 / e2
  return { chi2 = chi2, df = 1, p = math.min(1, erfc(math.sqrt(chi2 / 2))) }
end

--- Always-valid p-value and interval for one look: GrowthBook's asymptotic
-- confidence sequence (Waudby-Smith et al.), i.e. the normal-mixture mSPRT
-- with mixing variance tau2 = rho2 * n * s2.
-- @param diff treatment - control
-- @param s2 the variance of diff (v1/n1 + v2/n2)
-- @param n units in both arms together
-- @param alpha two-sided level
-- @param nstar tuning: the total sample at which decisions are expected (default 5000)
-- @return `{p, ci_low, ci_high}`
function testing.always_valid(diff, s2, n, alpha, nstar)
  if s2 <= 0 or n <= 0 then return { p = diff == 0 and 1 or 0, ci_low = diff, ci_high = diff } end
  local l = -2 * math.log(alpha)
  local tau2 = (l + math.log(l + 1)) / (nstar or 5000) * n * s2
  local lnl = 0.5 * math.log(s2 / (s2 + tau2)) + tau2 * diff * diff / (2 * s2 * (s2 + tau2))
  local half = math.sqrt(2 * s2 * (s2 + tau2) / tau2 * (math.log(1 / alpha) + 0.5 * math.log((s2 + tau2) / s2)))
  return { p = math.min(1, math.exp(-lnl)), ci_low = diff - half, ci_high = diff + half }
end

-- Use the core's function when it exists and accepts the call; else ours.
local function stat(name, fallback, ...)
  local f = core_stats and core_stats[name]
  if f then
    local ok, r = pcall(f, ...)
    if ok and type(r) == "table" then return r end
  end
  return fallback(...)
end

-- The core's SRM takes lists: sluice.stats.srm({o1, o2}, {w1, w2}).
local function core_srm(o1, o2, w1, w2)
  local f = core_stats and core_stats.srm
  local ok, r = pcall(f or error, { o1, o2 }, { w1, w2 })
  return ok and type(r) == "table" and r or nil
end

-- ---- arms, windows, stats -------------------------------------------------

local LATENCY = { "mean", "sd", "min", "max", "p50", "p90", "p95", "p99", "p999" } -- and var = sd^2

local function build_metric(m)
  local r = { count = m.count or 0, min = m.min, max = m.max }
  if m.sum then
    r.sum, r.sumsq = m.sum, m.sumsq
  else -- from mean and sd
    r.sum = (m.mean or 0) * r.count
    r.sumsq = (r.count - 1) * (m.sd or 0) ^ 2 + r.count * (m.mean or 0) ^ 2
  end
  if r.count > 0 then r.mean = r.sum / r.count end
  return r
end

local function build_arm(spec, span)
  spec = spec or {}
  local n = spec.requests or 0
  local errors = spec.errors or (spec.successes and n - spec.successes)
                 or (spec.error_rate and math.floor(spec.error_rate * n + 0.5)) or 0
  local arm = { requests = n, errors = errors, successes = spec.successes or n - errors,
                latency = {}, metrics = {} }
  if n > 0 then arm.error_rate, arm.success_rate = errors / n, arm.successes / n end
  arm.throughput = spec.throughput or (span and span > 0 and n / span) or nil
  arm.span_seconds = span
  local lat = spec.latency or spec
  for _, q in ipairs(LATENCY) do arm.latency[q] = n > 0 and lat[q] or nil end
  arm.latency.var = arm.latency.sd and arm.latency.sd ^ 2
  for name, m in pairs(spec.metrics or {}) do arm.metrics[name] = build_metric(m) end
  return arm
end

local function metric_var(m)
  if m.count < 2 then return 0 end
  return math.max(0, (m.sumsq - m.sum * m.sum / m.count) / (m.count - 1))
end

-- Achieved power and per-arm sample still needed (80% power) for effect delta.
local function power_needed(delta, sd, n, alpha)
  if not delta or delta <= 0 or sd <= 0 or n < 2 then return nil, nil end
  local z = normal_ppf(1 - alpha / 2)
  local se = sd * math.sqrt(2 / n)
  local power = 1 - normal_sf(delta / se - z) + normal_sf(delta / se + z)
  local need = math.ceil(2 * sd * sd * (z + normal_ppf(0.8)) ^ 2 / (delta * delta))
  return power, math.max(0, need - n)
end

-- A Welch analysis as the engine reports it: n1, n2, mean1, mean2, the
-- test's fields, and the always-valid `sequential` {p, ci_low, ci_high, looks}.
local function analysis(m1, v1, n1, m2, v2, n2, alpha)
  local r = { n1 = n1, n2 = n2, mean1 = m1, mean2 = m2 }
  if n1 < 2 or n2 < 2 then return r end
  for k, v in pairs(stat("welch", welch, m1, v1, n1, m2, v2, n2, alpha)) do r[k] = v end
  r.sequential = testing.always_valid(m2 - m1, v1 / n1 + v2 / n2, n1 + n2, alpha)
  r.sequential.looks = 1
  return r
end

local function metric_stats(c, t, cfg)
  local alpha = cfg.alpha or 0.05
  local r = analysis(c.mean or 0, metric_var(c), c.count, t.mean or 0, metric_var(t), t.count, alpha)
  local sd = math.sqrt((metric_var(c) + metric_var(t)) / 2)
  r.power, r.needed = power_needed(cfg.minimum_effect_size, sd, math.min(c.count, t.count), alpha)
  return r
end

local function primary_sd(c, t, cfg)
  local m = cfg.success_metrics and cfg.success_metrics[1]
  local mc, mt = m and c.metrics[m], m and t.metrics[m]
  if mc and mt and mc.count > 1 and mt.count > 1 then
    return math.sqrt((metric_var(mc) + metric_var(mt)) / 2), math.min(mc.count, mt.count)
  end
  local total = c.requests + t.requests
  local p = total > 0 and (c.errors + t.errors) / total or 0
  return math.sqrt(p * (1 - p)), math.min(c.requests, t.requests)
end

local function latency_stats(c, t, alpha)
  local a, b = c.latency, t.latency
  if not (a.mean and b.mean and a.sd and b.sd) then return { n1 = c.requests, n2 = t.requests } end
  return analysis(a.mean, a.var, c.requests, b.mean, b.var, t.requests, alpha)
end

-- The two-proportion test on errors, with the engine's extra fields.
local function error_stats(c, t, alpha)
  local r = stat("proportions", proportions, c.errors, c.requests, t.errors, t.requests, alpha)
  r.n1, r.n2 = c.requests, t.requests
  if c.requests < 2 or t.requests < 2 then return r end
  local s2 = r.p1 * (1 - r.p1) / c.requests + r.p2 * (1 - r.p2) / t.requests
  r.se, r.sequential = math.sqrt(s2), testing.always_valid(r.diff, s2, c.requests + t.requests, alpha)
  r.sequential.looks = 1
  return r
end

local function compute_stats(c, t, alloc_c, alloc_t, cfg)
  local alpha = cfg.alpha or 0.05
  local s = {
    error_rate = error_stats(c, t, alpha),
    latency = latency_stats(c, t, alpha),
    srm = core_srm(c.requests, t.requests, alloc_c, alloc_t) or srm(c.requests, t.requests, alloc_c, alloc_t),
    metrics = {},
  }
  s.srm.expected_treatment_share = alloc_t / (alloc_c + alloc_t)
  local names = {}
  for name in pairs(c.metrics) do names[name] = true end
  for _, name in ipairs(cfg.success_metrics or {}) do names[name] = true end
  local none = { count = 0, sum = 0, sumsq = 0 }
  for name in pairs(names) do
    s.metrics[name] = metric_stats(c.metrics[name] or none, t.metrics[name] or none, cfg)
  end
  local sd, n = primary_sd(c, t, cfg)
  s.power, s.needed = power_needed(cfg.minimum_effect_size, sd, n, alpha)
  return s
end

-- ---- read-only proxies ----------------------------------------------------

local reads_of = setmetatable({}, { __mode = "k" }) -- proxy -> { path = value }

local function readonly(data, path, reads)
  local proxy, cache = {}, {}
  local function wrap(k, v)
    if type(v) ~= "table" then
      if reads and type(v) ~= "function" then reads[path .. tostring(k)] = v end
      return v
    end
    cache[k] = cache[k] or readonly(v, path .. tostring(k) .. ".", reads)
    return cache[k]
  end
  setmetatable(proxy, {
    __index = function(_, k) return wrap(k, data[k]) end,
    __newindex = function(_, k)
      error(("the view is read-only (tried to set %s%s)"):format(path, tostring(k)), 2)
    end,
    __len = function() return #data end,
    __pairs = function()
      return function(_, k)
        local nk, nv = next(data, k)
        if nk ~= nil then return nk, wrap(nk, nv) end
      end, proxy, nil
    end,
    __metatable = "sluice.View",
  })
  return proxy
end

--- The fields a view (or a window of it) has had read, as a sorted list of
-- `"path = value"` strings — what the engine attaches to a decision's event.
-- @param view a view from `testing.view`
function testing.reads(view)
  local out = {}
  for k, v in pairs(reads_of[view] or {}) do out[#out + 1] = ("%s = %s"):format(k, tostring(v)) end
  table.sort(out)
  return out
end

-- ---- views ----------------------------------------------------------------

local TEST_CONFIG = { alpha = 0.05, minimum_effect_size = 0, target_sample_size = 0,
                      duration_hours = 0, auto_promote = false, auto_rollback = false,
                      success_metrics = {} }
local CANARY_CONFIG = { traffic = 10, duration_minutes = 0, success_threshold = 0,
                        error_threshold = 0, auto_promote = false, auto_rollback = false,
                        promotion_criteria = {}, health_check_interval_ms = 10000 }

local function allocation_of(spec, canary)
  local a = spec.allocation
  local t = type(a) == "table" and (a.treatment or a.canary) or a or (canary and 10 or 50)
  local c = type(a) == "table" and (a.control or a.stable) or 100 - t
  if canary then return { canary = t, stable = c }, c, t end
  return { treatment = t, control = c }, c, t
end

local function ramp_step_of(ramp, age_hours)
  local step = 0
  for i, s in ipairs(ramp) do
    if s.at_hours <= age_hours + 1e-9 then step = i end
  end
  return step
end

-- Arm specs of a test or a canary, by either pair of names.
local function arm_specs(spec, canary)
  if canary then return spec.stable or spec.control, spec.canary or spec.treatment end
  return spec.control, spec.treatment
end

local function build_pair(spec, canary, span)
  local c_spec, t_spec = arm_specs(spec, canary)
  local c, t = build_arm(c_spec, span), build_arm(t_spec, span)
  local pair = { span_seconds = span }
  if canary then pair.stable, pair.canary = c, t else pair.control, pair.treatment = c, t end
  return pair, c, t
end

local function make_window_fn(spec, canary, cumulative)
  local windows = {}
  for key, w in pairs(spec.windows or {}) do
    local secs = testing.seconds(key)
    windows[secs] = build_pair(w, canary, w.span_seconds or secs)
  end
  return function(self, wspec)
    local reads = reads_of[self]
    if wspec == nil then return readonly(cumulative, "window().", reads) end
    local secs = testing.seconds(wspec)
    return readonly(windows[secs] or cumulative, ("window(%s)."):format(tostring(wspec)), reads)
  end
end

--- Build a read-only view shaped like the engine's (docs/policies.md).
--
-- Every field has a sensible default; give only what the policy reads:
--
--     testing.view {
--       kind = "test",                        -- or "canary"
--       control   = { requests = 1000, errors = 10, p99 = 120 },   -- canaries: stable
--       treatment = { requests = 1000, errors = 30, p99 = 180,      -- canaries: canary
--                     metrics = { ctr = { count = 1000, mean = 0.1, sd = 0.3 } } },
--       age_hours = 3,                        -- or age_seconds
--       allocation = 20,                      -- treatment (canary) percent, or a table
--       windows = { ["5m"] = { control = {...}, treatment = {...} } },
--       config = { alpha = 0.05, success_metrics = { "ctr" } },
--       ramp = { { at_hours = 0, treatment = 10 }, ... },
--       health = { { at = 0, health = "healthy", error_rate = 0, passed = true } },
--       stats = { ... },                      -- deep-merged over the computed stats; false: none
--     }
--
-- An arm spec takes `requests`, `errors` (or `successes`, or `error_rate`),
-- latency fields directly or as `latency = {...}`, `throughput` (default
-- requests per second over the span) and `metrics[name]` as
-- `{count, sum, sumsq}` or `{count, mean, sd}`. Derived fields follow the
-- contract: `error_rate`/`success_rate` are nil without requests, latency
-- fields are nil without requests; each arm also carries `span_seconds` and
-- `latency.var`, as the engine's does. `view.stats` is computed from the
-- arms: `error_rate` (two-proportion z, plus the engine's n1, n2, se and
-- `sequential`), `latency` and `metrics[name]` for every custom metric and
-- success metric (Welch: n1, n2, mean1, mean2, diff, se, t, df, p, ci_low,
-- ci_high, `sequential` = {p, ci_low, ci_high, looks}, and per metric
-- power/needed), `srm` (chi2, df, p, expected_treatment_share) and the
-- top-level `power`/`needed` of the first success metric, else of the error
-- rate. The always-valid intervals are one look of GrowthBook's confidence
-- sequence (`testing.always_valid`), not the engine's running intersection.
--
-- `view:window(spec)` returns the window given under that span (keys and
-- specs compare in seconds, so `"5m"`, `"300s"` and `300` are the same) or,
-- when there is none, the cumulative arms. Writing to the view raises.
-- @param spec the table above (may be nil)
-- @return the read-only view
function testing.view(spec)
  spec = spec or {}
  local canary = spec.kind == "canary"
  local age_s = spec.age_seconds or (spec.age_hours or 1) * 3600
  local alloc, w_c, w_t = allocation_of(spec, canary)
  local data, c, t = build_pair(spec, canary, age_s)
  data.span_seconds = nil
  data.kind = canary and "canary" or "test"
  data.id = spec.id or (canary and "c-1" or "t-1")
  data.name, data.model = spec.name or "test", spec.model or "model"
  data.status = spec.status or (canary and "monitoring" or "running")
  data.age_seconds, data.age_hours = age_s, age_s / 3600
  data.allocation = alloc
  data.config = deep_merge(canary and CANARY_CONFIG or TEST_CONFIG, spec.config)
  data.ramp = deep_copy(spec.ramp) or { { at_hours = 0, treatment = w_t, control = w_c } }
  for _, s in ipairs(data.ramp) do s.control = s.control or 100 - s.treatment end
  data.ramp_step = spec.ramp_step or ramp_step_of(data.ramp, data.age_hours)
  if canary then data.health = deep_copy(spec.health) or {} end
  if spec.stats ~= false then
    data.stats = deep_merge(compute_stats(c, t, w_c, w_t, data.config), spec.stats)
  end
  local cumulative = build_pair(spec, canary, age_s)
  data.window = make_window_fn(spec, canary, cumulative)
  local reads = {}
  local view = readonly(data, "", reads)
  reads_of[view] = reads
  return view
end

-- ---- clock and ctx --------------------------------------------------------

--- A fake clock for driving policies through virtual time.
-- `c:now()`, `c:advance(dt)` (seconds or a spec like `"5m"`; returns the new
-- time), `c:set(t)`.
-- @param t0 start time in seconds (default 0)
function testing.clock(t0)
  local c = { t = t0 or 0 }
  function c.now(self) return self.t end
  function c.advance(self, dt) self.t = self.t + testing.seconds(dt); return self.t end
  function c.set(self, t) self.t = t; return t end
  return c
end

--- A ctx like the engine's: `now`, `state`, `log(fmt, ...)`, `hook`, `policy`,
-- plus `logs` (the formatted lines `log` collected, for assertions).
-- @param opts `{ now = seconds, clock = testing.clock(), state = {}, hook =, policy = }`;
--   with `clock`, `ctx.now` reads the clock on every access
-- @return ctx
function testing.ctx(opts)
  opts = opts or {}
  local logs = {}
  local ctx = { state = opts.state or {}, logs = logs, hook = opts.hook, policy = opts.policy }
  ctx.log = function(fmt, ...)
    logs[#logs + 1] = select("#", ...) > 0 and tostring(fmt):format(...) or tostring(fmt)
  end
  if opts.clock then
    local clock = opts.clock
    return setmetatable(ctx, { __index = function(_, k) if k == "now" then return clock:now() end end })
  end
  ctx.now = opts.now or 0
  return ctx
end

-- ---- loading and checking policies ----------------------------------------

local BASE = { "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
               "rawlen", "rawset", "select", "getmetatable", "tonumber", "tostring", "type",
               "xpcall", "_VERSION" }

local function copy_lib(lib)
  local t = {}
  for k, v in pairs(lib) do t[k] = v end
  return t
end

--- A fresh environment with the sandbox's globals only (base without
-- print/dofile/loadfile/require/collectgarbage, string without dump, table,
-- math, utf8; text-only `load`; `setmetatable` refusing `__gc`).
function testing.sandbox_env()
  local env = {}
  for _, k in ipairs(BASE) do env[k] = _G[k] end
  env.string, env.table, env.math, env.utf8 = copy_lib(string), copy_lib(table), copy_lib(math), copy_lib(utf8)
  env.string.dump = nil
  env.setmetatable = function(t, mt)
    if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
      error("setmetatable: __gc is not allowed in a policy", 2)
    end
    return setmetatable(t, mt)
  end
  env.load = function(chunk, name, _, e)
    if type(chunk) ~= "string" then error("load: policies may load text chunks only", 2) end
    return load(chunk, name, "t", e or env)
  end
  env._G = env
  return env
end

local KINDS = { guard = true, promotion = true, ramp = true, recommend = true }

--- Check a policy table against the contract (kind, name, version,
-- evaluate; params and self_test optional).
-- @return true, or nil and a message
function testing.check(p)
  if type(p) ~= "table" then return nil, ("a policy file must return a table (got %s)"):format(type(p)) end
  if not KINDS[p.kind] then
    return nil, ("kind must be guard, promotion, ramp or recommend (got %s)"):format(tostring(p.kind))
  end
  if type(p.name) ~= "string" or not p.name:match("^[%w_%-%.]+$") then
    return nil, ("name must be a non-empty word (got %s)"):format(tostring(p.name))
  end
  if type(p.version) ~= "string" or p.version == "" then return nil, "version must be a non-empty string" end
  if type(p.evaluate) ~= "function" then return nil, "evaluate must be a function" end
  if p.params ~= nil and type(p.params) ~= "table" then return nil, "params must be a table" end
  if p.self_test ~= nil and type(p.self_test) ~= "function" then return nil, "self_test must be a function" end
  return true
end

--- Load a policy file as the host would: compile it as text in a fresh
-- restricted environment, run it, check the contract and run its
-- self_test.
-- @param path the policy file
-- @return the policy table, or nil and `"path: message"` (with the line
--   where Lua knows it)
function testing.load(path)
  local chunk, err = loadfile(path, "t", testing.sandbox_env())
  if not chunk then return nil, err end
  local ok, p = pcall(chunk)
  if not ok then return nil, tostring(p) end
  local good, why = testing.check(p)
  if not good then return nil, ("%s: %s"):format(path, why) end
  if p.self_test then
    local passed, msg = pcall(p.self_test)
    if not passed then return nil, ("%s: self_test: %s"):format(path, tostring(msg)) end
  end
  return p
end

--- The repository's top directory (SLUICE_ROOT, else found from this file).
function testing.root()
  local env = os.getenv("SLUICE_ROOT")
  if env and env ~= "" then return env end
  local src = debug.getinfo(1, "S").source
  local dir = src:match("^@(.*)lua/sluice/testing%.lua$")
  return dir and (dir == "" and "." or dir:gsub("/$", "")) or "."
end

--- Load a built-in policy by `"kind/name"`, e.g. `testing.builtin "guard/srm"`;
-- raises if it does not load.
function testing.builtin(kind_name)
  local p, err = testing.load(("%s/policies/%s.lua"):format(testing.root(), kind_name))
  if not p then error(err, 2) end
  return p
end

-- ---- evaluating -----------------------------------------------------------

local ACTIONS = {
  guard = { pause = true, resume = true, rollback = true, alert = true, set_traffic = true },
  ramp = { set_traffic = true },
  promotion = { promote = true, rollback = true },
}
local RECOMMENDATIONS = { promote = true, rollback = true, continue = true, extend = true,
                          increase_traffic = true, decrease_traffic = true }
local TRIGGERS = { error_rate = true, latency_increase = true, success_rate_decrease = true,
                   custom_metric = true }
local KEYS = { action = true, treatment = true, trigger = true, reason = true, recommendation = true }

local function decision_error(kind, d)
  if type(d) ~= "table" then return ("a decision is nil or a table (got %s)"):format(type(d)) end
  for k in pairs(d) do if not KEYS[k] then return ("unknown decision field %q"):format(tostring(k)) end end
  if type(d.reason) ~= "string" or d.reason == "" then return "reason is required" end
  if kind == "recommend" then
    return not RECOMMENDATIONS[d.recommendation] and ("unknown recommendation %s"):format(tostring(d.recommendation)) or nil
  end
  if not ACTIONS[kind][d.action] then return ("action %s is not a %s action"):format(tostring(d.action), kind) end
  if d.action == "set_traffic" and not (type(d.treatment) == "number" and d.treatment >= 0 and d.treatment <= 100) then
    return ("treatment %s is outside [0,100]"):format(tostring(d.treatment))
  end
  if d.trigger ~= nil and not TRIGGERS[d.trigger] then return ("unknown trigger %s"):format(tostring(d.trigger)) end
  return nil
end

--- Check a decision as the core would.
-- @param kind the policy's kind
-- @param d the decision
-- @return true, or nil and a message
function testing.check_decision(kind, d)
  local err = decision_error(kind, d)
  if err then return nil, err end
  return true
end

local MAX_STATE = 64 * 1024

-- Serialised size of a JSON-like value, or nil and why it is not JSON-like.
local function json_size(v, path)
  local tv = type(v)
  if tv == "string" then return #v + 2 end
  if tv == "boolean" then return 5 end
  if tv == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil, path .. " is not a finite number" end
    return #tostring(v)
  end
  if tv ~= "table" then return nil, ("%s is a %s"):format(path, tv) end
  local size, n, strings = 2, 0, false
  for k, x in pairs(v) do
    n = n + 1
    if type(k) == "string" then strings = true elseif math.type(k) ~= "integer" then
      return nil, ("%s has a %s key"):format(path, type(k))
    end
    local s, err = json_size(x, ("%s.%s"):format(path, tostring(k)))
    if not s then return nil, err end
    size = size + s + #tostring(k) + 4
  end
  if strings and n ~= #v and #v > 0 then return nil, path .. " mixes array and string keys" end
  if not strings and n ~= #v then return nil, path .. " is a sparse array" end
  return size
end

--- Check that a ctx.state value would survive the engine's persistence:
-- strings, finite numbers, booleans, tables that are either dense arrays or
-- string-keyed, at most 64 KiB serialised.
-- @return true, or nil and a message
function testing.check_state(state)
  local size, err = json_size(state, "state")
  if not size then return nil, err end
  if size > MAX_STATE then return nil, ("state is %d bytes serialised, over 64 KiB"):format(size) end
  return true
end

-- Run fn under an instruction budget, like the sandbox, so a runaway loop
-- fails the spec instead of hanging it. fn runs in its own coroutine because
-- hooks are per thread: once over budget, every instruction of that thread
-- raises (a pcall in the policy cannot swallow it) and the caller's thread
-- is never hooked.
local function budgeted(budget, fn, ...)
  local co, used, step = coroutine.create(fn), 0, 1000
  local msg = ("instruction budget of %d exceeded"):format(budget)
  local function stop() error(msg, 0) end
  debug.sethook(co, function()
    used = used + step
    if used > budget then
      debug.sethook(co, stop, "", 1)
      stop()
    end
  end, "", step)
  local r = table.pack(coroutine.resume(co, ...))
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

testing.budget = 10000000

--- Evaluate a policy as the engine would: params merged over the policy's
-- defaults (the given values win; copies, so the policy cannot change
-- either), a ctx (a fresh `testing.ctx()` if nil), the call under the
-- sandbox's instruction budget (`testing.budget`). Raises if the decision is
-- invalid for the policy's kind or ctx.state is no longer JSON-like.
-- @param policy a table from `testing.load`/`testing.builtin`
-- @param view a view from `testing.view`
-- @param params the test's params (may be nil)
-- @param ctx a ctx from `testing.ctx` (may be nil)
-- @return the decision (nil when the policy abstains)
function testing.evaluate(policy, view, params, ctx)
  assert(testing.check(policy))
  ctx = ctx or testing.ctx()
  if rawget(ctx, "hook") == nil then ctx.hook = policy.kind end
  if rawget(ctx, "policy") == nil then ctx.policy = policy.name end
  local merged = deep_copy(policy.params) or {}
  for k, v in pairs(params or {}) do merged[k] = deep_copy(v) end
  local d = budgeted(testing.budget, policy.evaluate, view, merged, ctx)
  assert(testing.check_state(ctx.state))
  if d ~= nil then
    local err = decision_error(policy.kind, d)
    if err then error(("%s %s returned an invalid decision: %s"):format(policy.kind, policy.name, err), 2) end
  end
  return d
end

return testing
