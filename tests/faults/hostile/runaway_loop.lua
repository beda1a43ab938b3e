-- Attack: never return from evaluate, and swallow the kill: an endless loop
-- inside pcall, itself inside an endless loop, plus a goto loop.
-- Contained when: the budget kill cannot be caught (the hook keeps firing
-- after the first kill), evaluate ends in "budget exceeded" every tick, and
-- after five failures in a row the host pauses the test.
-- expect: evaluate budget exceeded
return {
  kind = "guard",
  name = "hostile_runaway_loop",
  version = "1",
  evaluate = function()
    while true do
      pcall(function() while true do end end)
      pcall(function() ::top:: goto top end)
    end
  end,
}
