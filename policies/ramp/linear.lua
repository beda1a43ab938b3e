-- ramp/linear: the original service's gradual schedule.
--
-- `steps` equal steps up to `max` percent, spread evenly over `over_hours`
-- of running time: step i (1-based) starts at (i-1)*over_hours/steps hours
-- with max*i/steps percent, so the defaults give 10, 20, 30, 40, 50% at
-- 0, 4.8, 9.6, 14.4 and 19.2 h. With `start`, the steps go evenly from start
-- to max instead (start at 0 h, max at the last step). Shares are rounded to
-- 0.01%. Traffic moves as in ramp/steps (see hold_overrides there).

local PARAMS = { steps = 5, max = 50, over_hours = 24, start = nil, hold_overrides = true }

local function round2(x) return math.floor(x * 100 + 0.5) / 100 end

local function check(p)
  if math.type(p.steps) ~= "integer" or p.steps < 1 then error("linear: steps must be an integer >= 1", 0) end
  if type(p.max) ~= "number" or p.max <= 0 or p.max > 100 then error("linear: max must be in (0,100]", 0) end
  if type(p.over_hours) ~= "number" or p.over_hours <= 0 then error("linear: over_hours must be > 0", 0) end
  if p.start ~= nil and (type(p.start) ~= "number" or p.start < 0 or p.start > p.max) then
    error("linear: start must be in [0,max]", 0)
  end
end

-- Step i: when it starts, and its treatment share.
local function at_hours(p, i) return (i - 1) * p.over_hours / p.steps end

local function share(p, i)
  local pct = p.max * i / p.steps
  if p.start then pct = p.steps == 1 and p.max or p.start + (p.max - p.start) * (i - 1) / (p.steps - 1) end
  return round2(pct)
end

-- The schedule as {at_hours, treatment} steps.
local function schedule(p)
  local out = {}
  for i = 1, p.steps do out[i] = { at_hours = at_hours(p, i), treatment = share(p, i) } end
  return out
end

-- The step in force after age hours: the last one started. Computed, not
-- searched, as the tick calls this for every test; the two loops only mend
-- the rounding of the division, so steps start exactly where schedule says.
local function step_at(p, age)
  local t = age + 1e-9
  local i = math.max(1, math.min(p.steps, math.floor(t * p.steps / p.over_hours) + 1))
  while i < p.steps and at_hours(p, i + 1) <= t do i = i + 1 end
  while i > 1 and at_hours(p, i) > t do i = i - 1 end
  return i
end

local function current(view)
  local a = view.allocation
  if view.kind == "canary" then return a.canary end
  return a.treatment
end

local function evaluate(view, params, ctx)
  check(params)
  local index = step_at(params, view.age_hours)
  local st, target = ctx.state, share(params, index)
  local entered = st.step ~= index or st.target ~= target
  st.step, st.target = index, target
  if params.hold_overrides and not entered then return nil end
  local now = current(view)
  if now == target then return nil end
  return {
    action = "set_traffic", treatment = target,
    reason = ("linear ramp step %d of %d (%g%% up to %g%% over %g h) at %.2f h running: treatment %g%% (was %g%%)"):format(
      index, params.steps, share(params, 1), params.max, params.over_hours, view.age_hours, target, now),
  }
end

local function self_test()
  local plan = schedule(PARAMS)
  assert(#plan == 5 and plan[1].treatment == 10 and plan[5].treatment == 50, "linear: 10..50% in 5 steps")
  assert(math.abs(plan[2].at_hours - 4.8) < 1e-9, "linear: the second step starts at 4.8 h")
  for tenth = 0, 250 do -- step_at agrees with the schedule, boundaries included
    local age, last = tenth * 0.096, 0
    for i, s in ipairs(plan) do if s.at_hours <= age + 1e-9 then last = i end end
    assert(step_at(PARAMS, age) == last, "linear: the step in force at " .. age .. " h")
  end
  local view = { kind = "test", age_hours = 5, allocation = { treatment = 10, control = 90 } }
  local d = evaluate(view, PARAMS, { now = 0, state = {}, log = function() end })
  assert(d and d.treatment == 20, "linear: 20% at 5 h")
end

return {
  kind = "ramp", name = "linear", version = "1.0.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
