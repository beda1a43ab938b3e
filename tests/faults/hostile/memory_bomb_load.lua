-- Attack: exhaust the daemon's memory while the policy file is being loaded
-- (its top-level chunk runs before any contract check): a 1 GiB string.rep,
-- then, should that be caught, a table of 1 MiB strings.
-- Contained when: the state's allocator refuses growth past its cap, the load
-- fails with "not enough memory", the policy is never installed, and the
-- daemon's RSS stays bounded.
-- expect: load not enough memory
local t = { string.rep("x", 1 << 30) } -- luacheck: ignore (filled only to exhaust memory)
for i = 1, 1e9 do t[i] = ("x"):rep(1 << 20) .. i end
return { kind = "guard", name = "hostile_memory_bomb_load", version = "1", evaluate = function() end }
