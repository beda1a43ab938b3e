-- Attack: grow ctx.state (persisted per test and policy, saved to SQLite) to
-- megabytes, and put values in it that JSON cannot hold (a function, a cycle).
-- Contained when: the call fails with a "ctx.state: ..." error and the old
-- state stays; nothing large reaches the store. (The cycle used to write past
-- the end of the Lua stack and crash the daemon: tests/c/test_lua_json.c.)
-- expect: evaluate ctx.state
return {
  kind = "guard",
  name = "hostile_state_bomb",
  version = "1",
  evaluate = function(_, _, ctx)
    ctx.state.blob = ("S"):rep(1 << 20)
    ctx.state.fn = function() end
    ctx.state.self = ctx.state
  end,
}
