-- ramp/gated: advance through params.steps only as the evidence allows.
--
-- It starts at the first step. It advances one step when, at the current
-- step, each arm has seen min_samples requests and quiet_minutes have
-- passed since the step began and since the last hold. A hold is this
-- policy's own check over params.window (both arms with min_requests
-- there): the treatment's error rate above control's by more than
-- max_error_delta, or its p99 above control's by more than max_p99_ratio.
-- The first tick of a hold steps back one step; further hold ticks only
-- extend the quiet period. At most one step per tick, so after a lag (say
-- the engine was down for hours) it climbs back one gate at a time, each
-- gate re-checked at its own step. If someone else moved the allocation
-- (a guard's reduce_traffic, an operator), the ramp re-anchors at the
-- highest step not above it and that step's gate starts over.
--
-- ctx.state: index (current step), pct (the share it is at), since (when
-- it began), base_c/base_t (each arm's cumulative requests then),
-- last_hold, holding.

local PARAMS = {
  steps = { 1, 5, 10, 25, 50 }, min_samples = 1000, quiet_minutes = 30,
  window = "5m", min_requests = 100, max_error_delta = 0.01, max_p99_ratio = 1.5,
}

-- Baseline and candidate arms of a view or window, and their names.
local function arms(v, kind)
  if kind == "canary" then return v.stable, v.canary, "stable", "canary" end
  return v.control, v.treatment, "control", "treatment"
end

local function current(view)
  local a = view.allocation
  if view.kind == "canary" then return a.canary end
  return a.treatment
end

local function count(list)
  local n = 0
  for _ in ipairs(list) do n = n + 1 end
  return n
end

-- Enter step index at pct (the step's share, or where someone else put it).
local function begin_step(st, index, pct, now, base, cand)
  st.index, st.pct, st.since, st.base_c, st.base_t = index, pct, now, base.requests, cand.requests
end

-- A sentence saying why the window is a hold, or nil.
local function hold_reason(view, p)
  local base, cand, bn, cn = arms(p.window and view:window(p.window) or view, view.kind)
  if base.requests < p.min_requests or cand.requests < p.min_requests then return nil end
  local e1, e2 = base.error_rate, cand.error_rate
  if e1 and e2 and e2 - e1 > p.max_error_delta then
    return ("%s error rate %.2f%% vs %s %.2f%% over %s (+%.2f points > %.2f)"):format(
      cn, e2 * 100, bn, e1 * 100, p.window, (e2 - e1) * 100, p.max_error_delta * 100)
  end
  local q1, q2 = base.latency and base.latency.p99, cand.latency and cand.latency.p99
  if q1 and q2 and q1 > 0 and q2 / q1 > p.max_p99_ratio then
    return ("%s p99 %.0f ms vs %s %.0f ms over %s (x%.2f > x%.2f)"):format(
      cn, q2, bn, q1, p.window, q2 / q1, p.max_p99_ratio)
  end
end

local function set(p, index, why)
  return { action = "set_traffic", treatment = p.steps[index],
           reason = ("%s: %g%% (step %d of %d)"):format(why, p.steps[index], index, count(p.steps)) }
end

local function on_hold(st, p, now, base, cand, why, ctx)
  st.last_hold = now
  if st.holding then ctx.log("still holding: %s", why); return nil end
  st.holding = true
  if st.index <= 1 then ctx.log("hold at the first step: %s", why); return nil end
  begin_step(st, st.index - 1, p.steps[st.index - 1], now, base, cand)
  return set(p, st.index, "hold: " .. why .. "; step back to")
end

-- The highest step not above pct (1 if pct is below them all).
local function anchor(steps, pct)
  local best = 1
  for i, s in ipairs(steps) do
    if s <= pct then best = i end
  end
  return best
end

local function gate(st, p, now, base, cand)
  if st.index >= count(p.steps) then return nil end
  if base.requests < st.base_c or cand.requests < st.base_t then -- counters restarted
    st.base_c, st.base_t = 0, 0
  end
  local n_c, n_t = base.requests - st.base_c, cand.requests - st.base_t
  local quiet = now - math.max(st.since, st.last_hold or st.since)
  if n_c < p.min_samples or n_t < p.min_samples or quiet < p.quiet_minutes * 60 then return nil end
  local from = st.pct
  begin_step(st, st.index + 1, p.steps[st.index + 1], now, base, cand)
  return set(p, st.index, ("gate passed at %g%% (%d and %d requests at the step, quiet %.0f min); advance to"):format(
    from, n_c, n_t, quiet / 60))
end

local function evaluate(view, params, ctx)
  local st, now = ctx.state, ctx.now
  local base, cand = arms(view, view.kind)
  if not st.index then
    begin_step(st, 1, params.steps[1], now, base, cand)
    return set(params, 1, "gated ramp starts at")
  end
  local why = hold_reason(view, params)
  if why then return on_hold(st, params, now, base, cand, why, ctx) end
  st.holding = false
  local pct = current(view)
  if pct ~= st.pct then
    begin_step(st, anchor(params.steps, pct), pct, now, base, cand)
    ctx.log("allocation %g%% was moved by someone else: the ramp re-anchors at step %d", pct, st.index)
    return nil
  end
  return gate(st, params, now, base, cand)
end

local function self_test()
  local arm = function(n) return { requests = n, error_rate = 0.01, latency = { p99 = 100 } } end
  local view = { kind = "test", allocation = { treatment = 1 }, control = arm(5000), treatment = arm(5000) }
  function view.window(v) return v end
  local ctx = { now = 0, state = {}, log = function() end }
  assert(evaluate(view, PARAMS, ctx).treatment == 1, "gated: starts at the first step")
  view.control, view.treatment, ctx.now = arm(6000), arm(6000), 3600
  assert(evaluate(view, PARAMS, ctx).treatment == 5, "gated: a passed gate advances one step")
end

return {
  kind = "ramp", name = "gated", version = "1.0.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
