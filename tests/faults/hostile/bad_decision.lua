-- Attack: a decision the core must not apply: set_traffic with NaN, then
-- (on later ticks) a treatment share of 1e308 and an action that does not
-- exist.
-- Contained when: each is refused with an error event naming the problem and
-- the allocation does not move.
-- expect: evaluate set_traffic: treatment must be a number in [0,100]
return {
  kind = "guard",
  name = "hostile_bad_decision",
  version = "1",
  evaluate = function()
    return { action = "set_traffic", treatment = 0 / 0, reason = "NaN share" }
  end,
}
