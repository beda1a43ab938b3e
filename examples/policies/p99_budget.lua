-- examples/policies/p99_budget.lua: a worked custom guard (docs/policies.md).
--
-- Keep the treatment's p99 latency within a budget. The budget is absolute
-- (max_ms), and optionally relative to control too (max_over_control_ms):
-- when the whole fleet slows down, control slows with it, and blaming the
-- treatment for that would roll back a good model. One bad window is
-- noise; `breaches` consecutive breaching windows fire `action`. A window
-- with too few requests is no evidence either way: the guard abstains and
-- keeps its count (no data is not failure).
--
-- Use it from a test:
--   guards = { { "p99_budget", { max_ms = 300, max_over_control_ms = 50 } } }
-- and test it with the kit: examples/policies/p99_budget_spec.lua.

local PARAMS = { max_ms = 250, max_over_control_ms = nil, window = "5m", min_requests = 200,
                 breaches = 2, action = "pause" }

-- Baseline and candidate arms of a test or canary window.
local function arms(view, w)
  if view.kind == "canary" then return w.stable, w.canary, "canary" end
  return w.control, w.treatment, "treatment"
end

-- Why this window breaches the budget, or nil.
local function breach(p99, base_p99, p)
  if p99 > p.max_ms then return ("p99 %.0f ms > budget %d ms"):format(p99, p.max_ms) end
  if p.max_over_control_ms and base_p99 and p99 - base_p99 > p.max_over_control_ms then
    return ("p99 %.0f ms is %.0f ms over control's %.0f ms (> %d ms)"):format(
      p99, p99 - base_p99, base_p99, p.max_over_control_ms)
  end
end

local function evaluate(view, params, ctx)
  local w = view:window(params.window)
  local base, cand, name = arms(view, w)
  local p99 = cand.latency and cand.latency.p99
  if cand.requests < params.min_requests or not p99 then return nil end
  local why = breach(p99, base.latency and base.latency.p99, params)
  local st = ctx.state
  if not why then st.streak = 0; return nil end
  st.streak = (st.streak or 0) + 1
  if st.streak < params.breaches then
    ctx.log("%s: %s (breach %d of %d)", name, why, st.streak, params.breaches)
    return nil
  end
  local d = { action = params.action,
              reason = ("%s %s over %s (%d requests), %d window%s in a row"):format(
                name, why, params.window, cand.requests, st.streak, st.streak == 1 and "" or "s") }
  if view.kind == "canary" then d.trigger = "latency_increase" end
  return d
end

local function self_test()
  local arm = function(p99) return { requests = 500, latency = { p99 = p99 } } end
  local view = { kind = "test", control = arm(100), treatment = arm(400) }
  function view.window(v) return v end
  local ctx = { now = 0, state = {}, log = function() end }
  assert(evaluate(view, PARAMS, ctx) == nil, "p99_budget: the first breach is not enough")
  assert(evaluate(view, PARAMS, ctx).action == "pause", "p99_budget: the second one pauses")
end

return {
  kind = "guard", name = "p99_budget", version = "1.2.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
