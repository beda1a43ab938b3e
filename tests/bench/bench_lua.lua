-- bench_lua.lua - ns per eng:route(model, unit) through the Lua module, next to
-- yardsticks measured in the same run.
--
--   LUA_CPATH='build/?.so' lua5.4 tests/bench/bench_lua.lua [calls-per-run [runs]]
--
-- Prints tab-separated records in bench_core's format (see bench_core.c):
--   kind  key  what  threads  tests  median  min  max  target  yardsticks
-- Each figure is the median (and min..max) over `runs` runs of `calls` calls,
-- timed with os.clock (process CPU time; the script is single-threaded). Unit
-- ids are the C bench's: "user-" + zero-padded digits, 16..24 bytes, 2^20
-- distinct, cycled in order; with 1,000 tests the model of each call comes from
-- a fixed pseudo-random sequence.

local sluice = require "sluice"

local CALLS = tonumber(arg[1]) or 1000000
local RUNS = tonumber(arg[2]) or 5
local NUNITS = 1 << 20
local UMASK = NUNITS - 1
local NSEQ = 1 << 16
local SMASK = NSEQ - 1

local units = {}
for i = 0, NUNITS - 1 do
  units[i + 1] = string.format("user-%0" .. (11 + i % 9) .. "d", i)
end

-- An engine with n running hash-routed tests, one per model; keys[] is the
-- sequence of models the calls address.
local function world(n)
  local eng = sluice.engine { clock = function() return 1000 end, max_tests = math.max(n, 100) }
  local models = {}
  for i = 1, n do
    local model = string.format("ranker-%04d", i - 1)
    assert(eng:add_model { id = model, version = "v1" })
    assert(eng:add_model { id = model, version = "v2" })
    local id = assert(eng:create_test { id = string.format("exp-%04d", i - 1), name = "bench",
                                        model = model, control = "v1", treatment = "v2" })
    assert(eng:start(id))
    if i % 64 == 0 then eng:tick() end -- frees retired routing snapshots
    models[i] = model
  end
  eng:tick()
  local keys, x = {}, 88172645463325252
  for i = 1, NSEQ do
    x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17)
    keys[i] = models[(x >> 1) % n + 1]
  end
  local variant = eng:route(models[1], units[1])
  assert(variant == "control" or variant == "treatment", "the bench must route into a test")
  return eng, keys
end

local function median_of(f)
  local t = {}
  f() -- warm-up
  for r = 1, RUNS do t[r] = f() end
  table.sort(t)
  return t[(RUNS + 1) // 2], t[1], t[RUNS]
end

local function emit(kind, key, what, tests, target, yard, f)
  local med, lo, hi = median_of(f)
  io.write(string.format("%s\t%s\t%s\t1\t%d\t%.2f\t%.2f\t%.2f\t%s\t%s\n", kind, key, what, tests,
                         med, lo, hi, target, yard))
  io.stdout:flush()
end

local function bench_route(eng, keys)
  return function()
    local t0 = os.clock()
    for i = 1, CALLS do
      local _ = eng:route(keys[(i & SMASK) + 1], units[(i & UMASK) + 1])
    end
    return (os.clock() - t0) * 1e9 / CALLS
  end
end

-- Yardstick: the same loop calling a trivial C function with the same arguments.
local function bench_c_call(eng, keys)
  local f = rawequal
  return function()
    local t0 = os.clock()
    for i = 1, CALLS do
      local _ = f(eng, keys[(i & SMASK) + 1], units[(i & UMASK) + 1])
    end
    return (os.clock() - t0) * 1e9 / CALLS
  end
end

-- Yardstick: the module's own hash of (salt, unit), no engine.
local function bench_bucket(keys)
  local bucket = sluice.bucket
  return function()
    local t0 = os.clock()
    for i = 1, CALLS do
      local _ = bucket(keys[(i & SMASK) + 1], units[(i & UMASK) + 1])
    end
    return (os.clock() - t0) * 1e9 / CALLS
  end
end

local function bench_world(n)
  local eng, keys = world(n)
  if n == 1 then
    emit("Y", "j", "Lua: rawequal(eng, model, unit), a trivial C function, same loop and arguments",
         0, "-", "-", bench_c_call(eng, keys))
    emit("Y", "k", "Lua: sluice.bucket(salt, unit), the assignment hash alone", 0, "-", "-",
         bench_bucket(keys))
  end
  emit("R", "lua-route", "Lua route: eng:route(model, unit), 1M distinct units", n, "200", "j,k",
       bench_route(eng, keys))
end

for _, n in ipairs { 1, 1000 } do
  bench_world(n)
  collectgarbage() -- the engine of the last world goes before the next is built
end
