-- Attack: hang the loader: a self_test (run at load, before the policy is
-- installed) that never returns.
-- Contained when: the self_test runs under the same budget as evaluate, the
-- load fails with "budget exceeded", the policy is never installed, and the
-- daemon keeps serving while it loads.
-- expect: load budget exceeded
return {
  kind = "guard",
  name = "hostile_runaway_self_test",
  version = "1",
  evaluate = function() end,
  self_test = function() while true do end end,
}
