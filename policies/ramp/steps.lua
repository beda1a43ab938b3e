-- ramp/steps: an explicit schedule of {at_hours, treatment} steps.
--
-- params.schedule (default: the test's own view.ramp) lists the steps in
-- time order; the step in force is the last one whose at_hours has passed
-- (running time, paused time excluded). Traffic moves when the schedule
-- enters a step, and only if the allocation is not already there. With
-- hold_overrides (the default) the policy then leaves the allocation alone
-- until the next step, so a guard's reduce_traffic or an operator's change
-- is not undone on the next quiet tick; without it the allocation is pulled
-- back to the schedule on every tick.

local PARAMS = { schedule = nil, hold_overrides = true }

local function current(view)
  local a = view.allocation
  if view.kind == "canary" then return a.canary end
  return a.treatment
end

-- Index and step in force at age_hours (0, nil before the first), and the count.
local function step_at(schedule, age_hours)
  local index, step, count = 0, nil, 0
  for i, s in ipairs(schedule) do
    count = i
    if s.at_hours <= age_hours + 1e-9 then index, step = i, s end
  end
  return index, step, count
end

local function evaluate(view, params, ctx)
  local schedule = params.schedule or view.ramp
  local index, step, count = step_at(schedule, view.age_hours)
  if index == 0 then return nil end
  local st, target = ctx.state, step.treatment
  local entered = st.step ~= index or st.target ~= target
  st.step, st.target = index, target
  if params.hold_overrides and not entered then return nil end
  local now = current(view)
  if now == target then return nil end
  return {
    action = "set_traffic", treatment = target,
    reason = ("ramp step %d of %d (from %g h) at %.2f h running: treatment %g%% (was %g%%)"):format(
      index, count, step.at_hours, view.age_hours, target, now),
  }
end

local function self_test()
  local view = { kind = "test", age_hours = 2, allocation = { treatment = 5, control = 95 },
                 ramp = { { at_hours = 0, treatment = 5 }, { at_hours = 1, treatment = 20 } } }
  local params = { hold_overrides = true }
  local d = evaluate(view, params, { now = 0, state = {}, log = function() end })
  assert(d and d.treatment == 20, "steps: at 2 h the second step (20%) is in force")
end

return {
  kind = "ramp", name = "steps", version = "1.0.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
