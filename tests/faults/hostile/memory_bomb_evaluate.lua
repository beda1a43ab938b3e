-- Attack: exhaust memory on every tick, three ways: a doubling string, a
-- table of 1 MiB strings kept in a global (so it survives the call), and a huge
-- string.rep.
-- Contained when: each stops at the state's memory cap with "not enough
-- memory", the failed call leaves the daemon serving, and its RSS stays
-- bounded across many ticks.
-- expect: evaluate not enough memory
-- luacheck: globals hoard
return {
  kind = "guard",
  name = "hostile_memory_bomb_evaluate",
  version = "1",
  evaluate = function()
    pcall(function() local s = "x" while true do s = s .. s end end)
    pcall(function() local _ = string.rep("x", 1 << 40) end)
    hoard = hoard or {} -- a global: it survives the call
    while true do hoard[#hoard + 1] = ("y"):rep(1 << 20) .. #hoard end
  end,
}
