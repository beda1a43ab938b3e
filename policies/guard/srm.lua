-- guard/srm: pause on a sample-ratio mismatch.
--
-- Fires when view.stats.srm.p (Pearson chi-square of the arms' requests
-- against the allocation) is below params.p, once the arms together have
-- min_requests. The reason quotes the observed split and the expected one
-- (view.stats.srm.expected_treatment_share where the engine gives it). A mismatch means assignment or logging is
-- broken, so every other statistic of the test is suspect: the default
-- action is pause.

local PARAMS = { p = 0.001, min_requests = 1000, action = "pause" }

-- The engine's expected share integrates the allocation over the run (a
-- ramp changes it); without one, the current allocation.
local function expected_share(view, srm)
  if srm.expected_treatment_share then return srm.expected_treatment_share end
  local a = view.allocation
  local b, c = a.control or a.stable, a.treatment or a.canary
  return c / (b + c)
end

local function evaluate(view, params)
  local srm = view.stats and view.stats.srm
  if not (srm and srm.p) or srm.p >= params.p then return nil end
  local canary = view.kind == "canary"
  local base, cand = canary and view.stable or view.control, canary and view.canary or view.treatment
  local total = base.requests + cand.requests
  if total < params.min_requests then return nil end
  local name = canary and "canary" or "treatment"
  return {
    action = params.action,
    reason = ("sample ratio mismatch: %s got %.2f%% of %d requests (%d), expected %.2f%% (chi2 %.1f, p %.2g < %g)"):format(
      name, cand.requests / total * 100, total, cand.requests, expected_share(view, srm) * 100, srm.chi2 or 0, srm.p,
      params.p),
  }
end

local function self_test()
  local view = { kind = "test", allocation = { treatment = 50, control = 50 },
                 control = { requests = 1200 }, treatment = { requests = 800 },
                 stats = { srm = { chi2 = 80, df = 1, p = 4e-19 } } }
  local d = evaluate(view, PARAMS)
  assert(d and d.action == "pause", "srm: a 40/60 split of a 50/50 test pauses")
end

return {
  kind = "guard", name = "srm", version = "1.0.0",
  params = PARAMS, evaluate = evaluate, self_test = self_test,
}
