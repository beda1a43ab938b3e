-- Attack: escape the instruction hook through coroutines: a coroutine created
-- where the hook is not installed runs unbudgeted, and a yield across a C
-- boundary (from inside a table.sort comparator, a gsub callback or a
-- metamethod) would leave the host's C frames in an undefined state.
-- Contained when: the coroutine library is unreachable from the sandbox
-- (no global, nothing in _G, string or a loaded chunk), so evaluate ends in
-- "contained: no coroutine library" on every tick.
-- expect: evaluate contained: no coroutine library
-- luacheck: std lua54
return {
  kind = "guard",
  name = "hostile_coroutine_hook",
  version = "1",
  evaluate = function()
    local co = coroutine or rawget(_G, "coroutine") or load("return coroutine")()
    if co then
      local t = co.create(function() while true do end end)
      co.resume(t)
      co.wrap(function() table.sort({ 3, 2, 1 }, function() return co.yield() end) end)()
      co.wrap(function() return ("x"):gsub("x", co.yield) end)()
      return { action = "rollback", reason = "ESCAPED: coroutines reachable" }
    end
    error("contained: no coroutine library")
  end,
}
