-- Attack: misuse the read-only view: keep it beyond the call (it points into
-- engine memory that may be gone by the next tick) and read through it later,
-- and write to it to change engine state.
-- Contained when: a stale view refuses to be read, writing raises, and the
-- test's allocation is untouched; evaluate errors on every tick.
-- expect: evaluate view
local stale

return {
  kind = "guard",
  name = "hostile_view_abuse",
  version = "1",
  evaluate = function(view)
    local old = stale
    stale = view
    if old then
      local _ = old.treatment.requests
    end
    view.allocation.treatment = 100
    return { action = "rollback", reason = "ESCAPED: the view took a write" }
  end,
}
