-- demo.lua: a 24-hour A/B test of a ranking model, ramped over virtual time.
-- Synthetic traffic is routed and recorded every 15 virtual minutes; the
-- engine advances the ramp schedule on ticks. Runs in well under a second.
--
--   LUA_CPATH='build/?.so' lua5.4 examples/demo.lua
local sluice = require "sluice"

math.randomseed(7)
local now = 0
local eng = sluice.engine { clock = function() return now end, window_seconds = 60, window_slots = 30 }

assert(eng:add_model { id = "ranker", version = "v1", path = "s3://models/ranker/v1" })
assert(eng:add_model { id = "ranker", version = "v2", path = "s3://models/ranker/v2" })
local id = assert(eng:create_test {
  name = "ranker v2: distilled encoder",
  model = "ranker", control = "v1", treatment = "v2",
  ramp = {
    { at_hours = 0, treatment = 5 }, { at_hours = 2, treatment = 10 },
    { at_hours = 6, treatment = 25 }, { at_hours = 12, treatment = 50 },
  },
  success_metrics = { "clicks" },
  created_by = "demo",
})
assert(eng:start(id))

-- Each variant's behaviour: v2 is faster and slightly more engaging.
local behaviour = {
  control = { median_ms = 42, sigma = 0.35, error_rate = 0.010, ctr = 0.110 },
  treatment = { median_ms = 35, sigma = 0.30, error_rate = 0.008, ctr = 0.118 },
}

local function lognormal(median, sigma)
  local u1, u2 = 1 - math.random(), math.random()
  return median * math.exp(sigma * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))
end

local function serve(user)
  local variant = eng:route("ranker", user)
  local b = behaviour[variant]
  local ok = math.random() >= b.error_rate
  local clicked = (ok and math.random() < b.ctr) and 1 or 0
  assert(eng:record(id, variant, ok, lognormal(b.median_ms, b.sigma), { clicks = clicked }))
end

local function row(label, m)
  return string.format("%-9s %7d req  %5.2f%% err  p50 %5.1f ms  p99 %5.1f ms  ctr %5.2f%%",
    label, m.requests, 100 * m.error_rate, m.latency.p50 or 0, m.latency.p99 or 0,
    m.requests > 0 and 100 * m.metrics.clicks.sum / m.requests or 0)
end

print(("sluice %s demo: test %s on model ranker (v1 control, v2 treatment)\n"):format(sluice.version, id))
local step = 15 * 60
for t = step, 24 * 3600, step do
  for _ = 1, 2000 do serve("user-" .. math.random(1, 50000)) end
  now = t
  assert(eng:tick())
  if t % (3 * 3600) == 0 then
    local s = eng:test(id)
    print(("hour %2d  allocation %3d%% treatment   last 30 min:"):format(t // 3600, s.allocation.treatment))
    print("  " .. row("control", eng:metrics(id, "control", 1800)))
    print("  " .. row("treatment", eng:metrics(id, "treatment", 1800)))
  end
end

local s = eng:test(id)
print("\ncumulative after 24 h:")
print("  " .. row("control", s.metrics.control))
print("  " .. row("treatment", s.metrics.treatment))
assert(eng:promote(id, "demo: treatment faster with no error regression"))
print(("\npromoted: ranker now serves %s"):format(select(2, eng:route("ranker", "user-1"))))
print("\nevent log:")
for _, e in ipairs(eng:events(12)) do
  print(("  #%-3d %6.2f h  %-10s %-12s %-11s %s"):format(e.seq, e.at / 3600, e.kind, e.action,
    e.to or (e.value and ("%g%%"):format(e.value) or ""), e.reason or ""))
end
