-- Attack: flood the engine with what evaluate returns: a decision whose
-- reason is 1 MiB, with 5,000 extra fields, after reading the view's
-- fields hundreds of times (the recorded inputs attached to the event).
-- Contained when: the decision is taken but its reason is cut to the engine's
-- fixed size and the recorded inputs are bounded, so every stored event stays
-- small; the daemon's RSS stays bounded.
-- expect: decision alert
return {
  kind = "guard",
  name = "hostile_huge_return",
  version = "1",
  evaluate = function(view)
    local d = { action = "alert", reason = ("R"):rep(1 << 20) }
    for i = 1, 5000 do d["k" .. i] = i end
    for _ = 1, 500 do local _ = view.treatment.requests + view.control.requests end
    return d
  end,
}
