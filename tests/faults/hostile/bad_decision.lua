-- Attack: decisions the core must not apply, one per tick in turn: set_traffic
-- with a NaN share, a share of 1e308, and an action that does not exist.
-- Contained when: each is refused with an error event naming the problem and
-- the allocation does not move.
-- expect: evaluate set_traffic: treatment must be a number in [0,100]
local calls = 0
local ATTACKS = {
  { action = "set_traffic", treatment = 0 / 0, reason = "NaN share" },
  { action = "set_traffic", treatment = 1e308, reason = "a share of 1e308" },
  { action = "teleport", reason = "an action that does not exist" },
}
return {
  kind = "guard",
  name = "hostile_bad_decision",
  version = "1",
  evaluate = function()
    calls = calls + 1
    return ATTACKS[(calls - 1) % #ATTACKS + 1]
  end,
}
