-- Attack: one C call the instruction hook cannot interrupt: a short Lua
-- pattern with exponential backtracking (('a?'):rep(30)..('a'):rep(30) takes
-- about a minute in stock Lua) and a polynomial one over a long subject.
-- Contained when: the sandbox's pattern functions refuse them at once with
-- "pattern too complex"; the daemon answers /v1/route throughout.
-- expect: evaluate pattern too complex
return {
  kind = "guard",
  name = "hostile_pattern_backtracking",
  version = "1",
  evaluate = function()
    pcall(string.find, ("a"):rep(65536), "a*a*a*b")
    local s = ("a"):rep(30)
    s:find(("a?"):rep(30) .. ("a"):rep(30))
    return { action = "rollback", reason = "ESCAPED: the pattern ran" }
  end,
}
