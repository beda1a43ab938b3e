-- Attack: a __gc finalizer that never returns. Finalizers run with the hook
-- disabled (during a GC step, and again in lua_close when the policy is
-- replaced), so one would hang the daemon. Two ways in: adding __gc to a
-- metatable after setmetatable (which Lua ignores for finalization), then
-- churning garbage to force collections; and setmetatable with __gc directly.
-- Contained when: the late __gc never runs (the daemon keeps answering while
-- garbage is collected), and the direct form is refused with "__gc
-- metamethods are not allowed".
-- expect: evaluate __gc metamethods are not allowed
local mt = {}
local keep = setmetatable({}, mt)
mt.__gc = function() while true do end end

return {
  kind = "guard",
  name = "hostile_gc_finalizer",
  version = "1",
  evaluate = function()
    setmetatable({}, mt) -- garbage at once, with a __gc added late
    for _ = 1, 20000 do local _ = { keep } end
    setmetatable({}, { __gc = function() while true do end end })
    return { action = "rollback", reason = "ESCAPED: __gc accepted" }
  end,
}
