-- Attack: raise an error object whose __tostring never returns and whose
-- __index and __name are traps, hoping the host's message handler converts
-- it to text outside the budget.
-- Contained when: the handler runs no metamethod and reports "(error object
-- is a table value)".
-- expect: evaluate error object is a table value
return {
  kind = "guard",
  name = "hostile_error_object",
  version = "1",
  evaluate = function()
    error(setmetatable({}, {
      __tostring = function() while true do end end,
      __index = function() while true do end end,
      __name = "Evil",
    }))
  end,
}
