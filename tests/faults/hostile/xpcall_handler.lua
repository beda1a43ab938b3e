-- Attack: an xpcall message handler that never returns. With the stock xpcall
-- the handler runs while the instruction hook is disabled, so it would hold
-- the daemon's loop forever.
-- Contained when: the handler runs under the budget (the sandbox's xpcall
-- calls it after unwinding), so the call is killed and evaluate ends in a
-- "budget exceeded" error; the daemon answers /v1/route throughout.
-- expect: evaluate budget exceeded
return {
  kind = "guard",
  name = "hostile_xpcall_handler",
  version = "1",
  evaluate = function()
    xpcall(function() error("trigger the handler") end, function() while true do end end)
    return { action = "rollback", reason = "ESCAPED: the handler returned" }
  end,
}
