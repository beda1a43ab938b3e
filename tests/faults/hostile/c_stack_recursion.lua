-- Attack: overflow the C stack of the daemon's loop thread: recursion that
-- goes through C on each level (an __index function indexing itself, and
-- string.gsub callbacks calling gsub).
-- Contained when: Lua's C-stack limit turns it into a "stack overflow"
-- error, not a segfault; the daemon keeps serving.
-- expect: evaluate stack overflow
return {
  kind = "guard",
  name = "hostile_c_stack_recursion",
  version = "1",
  evaluate = function()
    local function f() return ("x"):gsub("x", f) end
    pcall(f)
    local t = setmetatable({}, { __index = function(t, k) return t[k] end })
    return t.x
  end,
}
