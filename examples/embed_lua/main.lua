-- embed_lua: sluice embedded in a Lua program with the built-in policies.
-- Routes and records synthetic traffic in-process and ticks the engine; time
-- is virtual (one tick = one simulated minute). The treatment's error rate
-- jumps after minute 30 and the threshold guard rolls the test back.
--
--   LUA_CPATH='build/?.so' lua5.4 examples/embed_lua/main.lua [policy_dir]
-- Exit status 0 when the guard rolled the test back, 1 otherwise.
local sluice = require "sluice"

local policy_dir = arg[1] or "policies"
local now = 0
local eng = sluice.engine { clock = function() return now end, policy_dirs = { policy_dir } }
assert(eng:add_model { id = "ranker", version = "v1" })
assert(eng:add_model { id = "ranker", version = "v2" })
local id = assert(eng:create_test {
  id = "checkout-model", name = "ranker v2", model = "ranker", control = "v1", treatment = "v2",
  policies = { guards = { { "threshold", { metric = "error_rate", type = "maximum", value = 0.05,
                                           action = "rollback", window = "5m" } } } },
})
assert(eng:start(id))

local seed = 42
local function uniform()
  seed = (seed * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
  return (seed >> 11) / 4503599627370496.0
end

local minutes = 0
while minutes < 120 and eng:test(id).status == "running" do
  for _ = 1, 2000 do
    local variant = eng:route("ranker", "user-" .. math.floor(uniform() * 100000))
    if variant == "control" or variant == "treatment" then
      local bad = (variant == "treatment" and now > 30 * 60) and 0.08 or 0.01
      eng:record(id, variant, uniform() >= bad, 20 + 30 * uniform())
    end
  end
  now = now + 60
  minutes = minutes + 1
  assert(eng:tick())
end
local t = eng:test(id)
print(("after %d simulated minutes: %s (%s)"):format(minutes, t.status, t.last_reason or ""))
os.exit(t.status == "rolled_back" and 0 or 1)
