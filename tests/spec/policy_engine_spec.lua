-- policy_engine_spec.lua: the built-in policies driving a real in-memory
-- engine through its C policy host, in virtual time.
--   * a 24 h test whose gated ramp advances, holds while a guard fires on a
--     latency regression, steps back, recovers, and is promoted;
--   * a canary rolled back by a threshold guard on an error spike;
--   * hot reload of a policy file, and a broken file keeping the last good one;
--   * sandbox limits: a runaway user policy abstains, is logged, and after
--     repeated failures its test is paused.
local sluice = require "sluice"

local function lognormal(rand, median, sigma)
  local u1, u2 = 1 - rand(), rand()
  return median * math.exp(sigma * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))
end

-- A deterministic generator (so the scenario replays exactly).
local function rng(seed)
  local s = seed
  return function()
    s = (s * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
    return (s >> 11) / 4503599627370496.0
  end
end

local function events_where(eng, pred)
  local out = {}
  for _, e in ipairs(eng:events { since = 0, limit = 100000 }) do
    if pred(e) then out[#out + 1] = e end
  end
  return out
end

-- An engine with the built-in policies, model "m" at v1 and v2, and a clock
-- the test moves (clock.now, seconds).
local function engine_m()
  local clock = { now = 0 }
  local eng = sluice.engine { clock = function() return clock.now end, policy_dirs = { "policies" } }
  eng:add_model { id = "m", version = "v1" }
  eng:add_model { id = "m", version = "v2" }
  return eng, clock
end

describe("policies in a running engine", function()
  it("ramps a test over 24 h: advances, holds on a guard, steps back, recovers, promotes", function()
    local now = 0
    local eng = sluice.engine { clock = function() return now end, policy_dirs = { "policies" } }
    eng:add_model { id = "ranker", version = "v1" }
    eng:add_model { id = "ranker", version = "v2" }
    local id = assert(eng:create_test {
      name = "ranker v2", model = "ranker", control = "v1", treatment = "v2",
      success_metrics = { "conversion" }, minimum_effect_size = 0.01,
      target_sample_size = 30000, auto_promote = true,
      policies = {
        ramp = { "gated", { steps = { 5, 10, 25, 50 }, min_samples = 300, quiet_minutes = 30,
                            window = "15m", min_requests = 50, max_p99_ratio = 1.5 } },
        guards = { { "threshold", { metric = "latency_p99", type = "percentage", value = 0.5,
                                    action = "alert", window = "15m", min_requests = 50 } } },
        recommend = { "default", { min_samples = 1000 } },
      },
    })
    assert(eng:start(id))
    local rand = rng(42)
    local regression = function(t) return t >= 6 * 3600 and t < 9 * 3600 end
    local shares, status = {}, nil
    for step = 1, 24 * 12 do                    -- 5-minute steps
      for _ = 1, 600 do
        local variant = eng:route("ranker", "user-" .. math.floor(rand() * 1e7))
        if variant == "control" or variant == "treatment" then
          local slow = variant == "treatment" and regression(now)
          local latency = lognormal(rand, slow and 90 or 40, 0.3)
          local rate = variant == "treatment" and 0.115 or 0.10
          eng:record(id, variant, true, latency, { conversion = rand() < rate and 1 or 0 })
        end
      end
      now = step * 300
      assert(eng:tick())
      local s = eng:test(id)
      shares[#shares + 1] = { t = now, pct = s.allocation.treatment }
      status = s.status
      if status ~= "running" then break end
    end

    local alerts = events_where(eng, function(e) return e.kind == "decision" and e.actor == "policy:threshold" end)
    assert.is_true(#alerts > 0, "the latency guard fired during the regression")
    local first_alert = alerts[1].at
    assert.is_true(first_alert >= 6 * 3600 and first_alert < 9 * 3600, "guard fired at " .. first_alert)
    -- the ramp advanced before the regression, stepped back during it, advanced after
    local before, low_during, after = 0, 100, 0
    for _, p in ipairs(shares) do
      if p.t < 6 * 3600 then before = math.max(before, p.pct) end
      if p.t >= 6 * 3600 and p.t < 9.5 * 3600 then low_during = math.min(low_during, p.pct) end
      if p.t >= 10 * 3600 then after = math.max(after, p.pct) end
    end
    assert.is_true(before >= 10, "advanced to " .. before .. "% before the regression")
    assert.is_true(low_during < before, "stepped back to " .. low_during .. "% during it")
    assert.is_true(after > low_during, "recovered to " .. after .. "% after it")
    -- on a tick where the guard fired the ramp never went up (it may step back)
    local fired, prev = {}, 0
    for _, a in ipairs(alerts) do fired[a.at] = true end
    for _, m in ipairs(events_where(eng, function(e) return e.kind == "allocation" end)) do
      if fired[m.at] then assert.is_true(m.value < prev, "moved up at " .. m.at) end
      prev = m.value
    end
    for _, e in ipairs(events_where(eng, function(e) return e.action == "set_traffic/held" end)) do
      assert.is_true(fired[e.at], "an advance is held only while the guard fires")
    end
    local last_alert = alerts[#alerts].at
    for _, p in ipairs(shares) do
      if p.t > first_alert and p.t <= last_alert then
        assert.is_true(p.pct <= before, "held at or below " .. before .. "% while the guard fired")
      end
    end
    assert.are.equal("promoted", status)
    local promoted = events_where(eng, function(e) return e.kind == "lifecycle" and e.to == "promoted" end)[1]
    assert.truthy(promoted.reason:find("conversion"), promoted.reason)
    assert.is_true(promoted.at > 9 * 3600, "promoted after recovering, at " .. promoted.at / 3600 .. " h")
    local decision = events_where(eng, function(e) return e.kind == "decision" and e.action == "promote" end)[1]
    assert.truthy(decision.detail:find('"policy":"default"', 1, true))
    assert.truthy(decision.detail:find('"inputs":{', 1, true))
    -- list reads are recorded under their index, e.g. the first success metric
    assert.truthy(decision.detail:find('"config.success_metrics.1":"conversion"', 1, true), decision.detail)
    -- every logged change of recommendation carries its inputs (repeats are not logged)
    local recs = events_where(eng, function(e) return e.kind == "decision" and e.actor == "policy:default" end)
    assert.is_true(#recs >= 2, #recs .. " recommendation changes logged")
    for _, e in ipairs(recs) do
      assert.truthy(e.detail:find('"inputs":{"', 1, true), e.action .. ": " .. tostring(e.detail))
    end
  end)

  it("rolls a canary back on an error spike, with the trigger and the numbers", function()
    local eng, clock = engine_m()
    local id = assert(eng:create_canary {
      name = "v2 canary", model = "m", canary = "v2", traffic = 20, auto_rollback = true,
      policies = { guards = { { "threshold", { metric = "error_rate", type = "maximum", value = 0.05,
                                               action = "rollback", window = "5m", min_requests = 30 } } } },
    })
    eng:start(id)
    local rand = rng(7)
    for step = 1, 24 do
      for _ = 1, 500 do
        local variant = eng:route("m", "u" .. math.floor(rand() * 1e6))
        local bad = variant == "canary" and clock.now >= 3600 and 0.12 or 0.01
        eng:record(id, variant, rand() >= bad, 20)
      end
      clock.now = step * 300
      eng:tick()
    end
    local c = eng:canary(id)
    assert.are.equal("completed", c.status)
    assert.are.equal("rolled_back", c.outcome)
    assert.are.equal("error_rate", c.rollback_trigger)
    local d = events_where(eng, function(e) return e.kind == "decision" and e.action == "rollback" end)[1]
    assert.is_true(d.at > 3600, "rolled back after the spike")
    assert.truthy(d.reason:find("error_rate"), d.reason)
    assert.truthy(d.detail:find("canary.error_rate", 1, true), "inputs name what was read: " .. d.detail)
    assert.are.equal("v1", select(2, eng:route("m", "anyone")))
  end)

  -- Found by a review of the embedding docs: guard_metrics were stored and
  -- reported but nothing evaluated them.
  it("guard_metrics_never_evaluated: a test's guard_metrics act with no policies named", function()
    local eng, clock = engine_m()
    local id = assert(eng:create_test {
      name = "guarded", model = "m", control = "v1", treatment = "v2",
      guard_metrics = { { metric = "error_rate", type = "maximum", threshold = 0.05,
                          action = "pause" } },
    })
    assert(eng:start(id))
    for i = 1, 400 do
      assert(eng:record(id, "control", true, 20))
      assert(eng:record(id, "treatment", i % 5 ~= 0, 20))   -- 20% errors > 5%
    end
    clock.now = clock.now + 60
    eng:tick()
    assert.are.equal("paused", eng:test(id).status)
    local why = events_where(eng, function(e)
      return e.actor == "policy:threshold" and e.action == "pause"
    end)
    assert.is_true(#why >= 1)   -- the decision, and the transition it made
    assert.truthy(why[1].reason:find("error_rate 20.00%% > maximum 5.00%%"))
  end)

  it("guard_metrics under their limit leave the test running", function()
    local eng, clock = engine_m()
    local id = assert(eng:create_test {
      name = "fine", model = "m", control = "v1", treatment = "v2",
      guard_metrics = { { metric = "error_rate", threshold = 0.05, action = "rollback" } },
    })
    assert(eng:start(id))
    for i = 1, 400 do
      assert(eng:record(id, "treatment", i % 50 ~= 0, 20))   -- 2% errors
    end
    clock.now = clock.now + 60
    eng:tick()
    assert.are.equal("running", eng:test(id).status)
  end)

  it("guard_metrics without a threshold policy loaded: said once, not every tick", function()
    local now = 0
    local eng = sluice.engine { clock = function() return now end,
                                policy_dirs = { "examples/policies" } }   -- no threshold there
    eng:add_model { id = "m", version = "v1" }
    eng:add_model { id = "m", version = "v2" }
    local id = assert(eng:create_test {
      name = "g", model = "m", control = "v1", treatment = "v2",
      guard_metrics = { { metric = "error_rate", threshold = 0.05, action = "pause" } },
    })
    assert(eng:start(id))
    for _ = 1, 3 do
      now = now + 60
      eng:tick()
    end
    local said = events_where(eng, function(e)
      return e.kind == "error" and e.reason:find("threshold guard policy", 1, true) ~= nil
    end)
    assert.are.equal(1, #said)
    assert.are.equal("running", eng:test(id).status)
  end)

  describe("user policies", function()
    local dir
    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -p " .. dir))
    end)
    after_each(function() os.execute("rm -rf " .. dir) end)

    local function write(name, text)
      local f = assert(io.open(dir .. "/" .. name, "w"))
      f:write(text)
      f:close()
    end

    local function guard(version, body)
      return ("return { kind = 'guard', name = 'mine', version = '%s',\n"
        .. "  evaluate = function(view, params, ctx) %s end }\n"):format(version, body)
    end

    local function setup()
      local now = 0
      local eng = sluice.engine { clock = function() return now end, policy_dirs = { dir },
                                  max_policy_failures = 3 }
      eng:add_model { id = "m", version = "v1" }
      eng:add_model { id = "m", version = "v2" }
      local id = assert(eng:create_test { name = "t", model = "m", control = "v1", treatment = "v2",
                                          policies = { guards = { { "mine" } } } })
      eng:start(id)
      return eng, id, function() now = now + 60; return eng:tick() end
    end

    it("reloads a changed policy and keeps the last good version of a broken one", function()
      write("mine.lua", guard("1", "return nil"))
      local eng, id, tick = setup()
      tick()
      assert.are.equal("running", eng:test(id).status)
      write("mine.lua", guard("2", "return { action = 'pause', reason = 'v2 says pause' }"))
      assert.are.equal(1, eng:reload_policies())
      tick()
      assert.are.equal("paused", eng:test(id).status)
      write("mine.lua", "return { kind = 'guard', name = 'mine', version = '3', evaluate = ")
      eng:reload_policies()
      local listed = {}
      for _, p in ipairs(eng:policies()) do listed[#listed + 1] = p end
      assert.are.equal("2", listed[1].version)
      assert.truthy(listed[1].error:find("mine.lua:%d"), listed[1].error)
      local err = events_where(eng, function(e) return e.kind == "error" and e.action == "load" end)[1]
      assert.truthy(err.reason:find("mine.lua:%d"), err.reason)
    end)

    it("contains a runaway policy: it abstains, is logged, and its test is paused after 3 failures", function()
      write("mine.lua", guard("1", "while true do end"))
      local eng, id, tick = setup()
      for _ = 1, 2 do tick() end
      assert.are.equal("running", eng:test(id).status)
      local errs = events_where(eng, function(e) return e.kind == "error" and e.actor == "policy:mine" end)
      assert.are.equal(2, #errs)
      assert.truthy(errs[1].reason:find("budget") or errs[1].reason:find("time"), errs[1].reason)
      tick()
      local s = eng:test(id)
      assert.are.equal("paused", s.status)
      assert.truthy(s.last_reason:find("3 times"), s.last_reason)
    end)

    it("logs a shadow policy's verdict once per change and never applies it", function()
      write("mine.lua", guard("1", "return { action = 'pause', reason = 'would pause' }"))
      local now = 0
      local eng = sluice.engine { clock = function() return now end, policy_dirs = { dir } }
      eng:add_model { id = "m", version = "v1" }
      eng:add_model { id = "m", version = "v2" }
      local id = assert(eng:create_test { name = "t", model = "m", control = "v1", treatment = "v2",
                                          policies = { guards = { { "mine", shadow = true } } } })
      eng:start(id)
      for _ = 1, 3 do now = now + 60; eng:tick() end
      assert.are.equal("running", eng:test(id).status)
      local shadows = events_where(eng, function(e) return e.detail and e.detail:find('"shadow":true', 1, true) end)
      assert.are.equal(1, #shadows)
      assert.are.equal("pause", shadows[1].action)
    end)

    it("iterates view arrays with pairs and ipairs (regression: keys became strings)", function()
      write("mine.lua", [[
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            local keys = {}
            for k, step in pairs(view.ramp) do keys[#keys + 1] = math.type(k) .. ':' .. step.treatment end
            local n = 0
            for _ in ipairs(view.ramp) do n = n + 1 end
            return { action = 'alert', reason = table.concat(keys, ',') .. ' n=' .. n }
          end }]])
      local eng, id, tick = setup()
      tick()
      local alert = events_where(eng, function(e) return e.action == "alert" end)[1]
      assert.are.equal("integer:50.0 n=1", alert and alert.reason, id)
    end)

    it("builds an arm's latency and metrics on first read; pairs sees them, nothing hidden", function()
      write("mine.lua", [[
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            local seen = {}
            for _, arm in ipairs { view.treatment, view:window('5m').treatment } do
              local keys = {}
              for k, v in pairs(arm) do keys[#keys + 1] = type(k) .. ':' .. k .. (type(v) == 'number' and '' or '/' .. type(v)) end
              table.sort(keys)
              seen[#seen + 1] = table.concat(keys, ',')
            end
            local p99 = view.control.latency.p99
            return { action = 'alert', reason = seen[1] .. ' | ' .. seen[2] .. ' | p99 ' .. p99 }
          end }]])
      local eng, id, tick = setup()
      for i = 1, 40 do eng:record(id, i % 2 == 0 and "control" or "treatment", true, 20 + i) end
      tick()
      local alert = events_where(eng, function(e) return e.action == "alert" end)[1]
      local want = "string:error_rate,string:errors,string:latency/userdata,string:metrics/userdata," ..
                   "string:requests,string:span_seconds,string:success_rate,string:successes,string:throughput"
      assert.truthy(alert, id)
      local a, b, p99 = alert.reason:match("^(.-) | (.-) | p99 (.+)$")
      assert.are.equal(want, a)
      assert.are.equal(want, b)
      assert.is_true(tonumber(p99) >= 58 and tonumber(p99) <= 61, p99)
      assert.truthy(alert.detail:find('"control.latency.p99":', 1, true), alert.detail)
    end)

    it("builds the root view's fields on first read; pairs sees every one", function()
      write("mine.lua", [[
        local stash
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            if stash then
              local ok, err = pcall(function() return stash:window('5m') end)
              return { action = 'alert', reason = 'stale window: ' .. tostring(ok) .. ' ' .. tostring(err) }
            end
            stash = view
            local keys = {}
            for k, v in pairs(view) do keys[#keys + 1] = k .. ':' .. type(v) end
            table.sort(keys)
            local parts = {}
            for k, v in pairs(view.stats) do parts[#parts + 1] = k .. ':' .. type(v) end
            table.sort(parts)
            return { action = 'alert', reason = table.concat(keys, ',') .. ' | ' .. view.kind .. ' ' ..
                     view.status .. ' ' .. view.allocation.treatment .. ' ' .. view.id .. ' | ' ..
                     table.concat(parts, ',') .. ' ' .. view.stats.srm.df }
          end }]])
      local eng, id, tick = setup()
      tick()
      tick()
      local alerts = events_where(eng, function(e) return e.action == "alert" end)
      assert.are.equal("age_hours:number,age_seconds:number,allocation:userdata,allocation_history:userdata," ..
        "config:userdata,control:userdata,id:string,kind:string,model:string,name:string,ramp:userdata," ..
        "ramp_step:number,stats:userdata,status:string,treatment:userdata,window:function" ..
        " | test running 50.0 " .. id .. " | error_rate:userdata,latency:userdata,metrics:userdata,srm:userdata 1",
        alerts[1] and alerts[1].reason)
      assert.truthy(alerts[2] and alerts[2].reason:find("stale window: false", 1, true) and
                    alerts[2].reason:find("outside its evaluate call", 1, true), alerts[2] and alerts[2].reason)
    end)

    it("refuses to build a stashed arm's or statistics' parts in a later call (regression: use after free)", function()
      write("mine.lua", [[
        local arm, stats
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            if arm then
              local a_ok, a_err = pcall(function() return arm.metrics end)
              local s_ok, s_err = pcall(function() return stats.metrics end)
              return { action = 'alert', reason = tostring(a_ok) .. ' ' .. tostring(a_err) .. ' | ' ..
                       tostring(s_ok) .. ' ' .. tostring(s_err) }
            end
            arm, stats = view.treatment, view.stats
          end }]])
      local eng, _, tick = setup()
      tick()
      tick()
      local alert = events_where(eng, function(e) return e.action == "alert" end)[1]
      local reason = alert and alert.reason or ""
      local _, n = reason:gsub("outside its evaluate call", "")
      assert.are.equal(2, n, reason)
      assert.truthy(reason:find("^false .* | false "), reason)
    end)

    it("refuses a ctx.log stashed from an earlier call (regression: read a dead frame)", function()
      write("mine.lua", [[
        local stash
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            if stash then stash('late') end
            stash = ctx.log
          end }]])
      local eng, id, tick = setup()
      tick()
      tick()
      local errs = events_where(eng, function(e) return e.kind == "error" and e.actor == "policy:mine" end)
      assert.are.equal(1, #errs, id)
      assert.truthy(errs[1].reason:find("outside its evaluate call", 1, true), errs[1].reason)
    end)

    it("pauses again after a resume when the policy keeps failing (regression)", function()
      write("mine.lua", guard("1", "error('broken')"))
      local eng, id, tick = setup()
      for _ = 1, 3 do tick() end
      assert.are.equal("paused", eng:test(id).status)
      assert.is_true(eng:resume(id))
      for _ = 1, 3 do tick() end
      assert.are.equal("paused", eng:test(id).status)
    end)

    it("keeps ctx.state across ticks, drops what a failed call did to it, keeps a replaced table", function()
      write("mine.lua", [[
        local calls = 0
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            calls = calls + 1
            local st = ctx.state
            st.n = (st.n or 0) + 1
            st.trail = (st.trail or '') .. st.n
            ctx.log('n', st.n, st.trail)
            if calls == 2 then error('fails after changing its state') end
            if calls == 4 then ctx.state = { n = 100, trail = 'new' } end
          end }]])
      local eng, id, tick = setup()
      for _ = 1, 5 do tick() end
      local lines = {}
      for _, l in ipairs(eng:policy_log()) do lines[#lines + 1] = l:match("mine: (.*)$") end
      assert.are.same({ "n 1 1", "n 2 12", "n 2 12", "n 3 123", "n 101 new101" }, lines)
      local errs = events_where(eng, function(e) return e.kind == "error" and e.actor == "policy:mine" end)
      assert.are.equal(1, #errs, id)
    end)

    it("keeps every test's ctx.state when the live-state cache starts over (more tests than it holds)", function()
      write("mine.lua", [[
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            ctx.state.n = (ctx.state.n or 0) + 1
            if view.name == 'a' then ctx.log('a', ctx.state.n) end
          end }]])
      local now = 0
      local eng = sluice.engine { clock = function() return now end, policy_dirs = { dir } }
      local function test(name)
        eng:add_model { id = name, version = "v1" }
        eng:add_model { id = name, version = "v2" }
        local id = assert(eng:create_test { name = name, model = name, control = "v1", treatment = "v2",
                                            policies = { guards = { { "mine" } } } })
        assert(eng:start(id))
        return id
      end
      test("a")
      -- one test runs beside "a" at a time: the cache holds 2 * 2 + 64 states,
      -- so 100 finished tests make it start over at least once
      for i = 1, 100 do
        local id = test("b" .. i)
        now = now + 60
        assert(eng:tick())
        assert(eng:stop(id))
      end
      local log = eng:policy_log(1)
      assert.truthy(log[1] and log[1]:find("mine: a 100", 1, true), log[1])
    end)

    it("keeps each test's ctx.state its own when a policy hands two tests one table", function()
      write("mine.lua", [[
        local DEFAULT = { n = 0 }
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            if ctx.state.n == nil then ctx.state = DEFAULT end
            ctx.state.n = ctx.state.n + 1
            ctx.log(view.name, ctx.state.n)
          end }]])
      local now = 0
      local eng = sluice.engine { clock = function() return now end, policy_dirs = { dir } }
      for i = 1, 2 do
        eng:add_model { id = "m" .. i, version = "v1" }
        eng:add_model { id = "m" .. i, version = "v2" }
        assert(eng:start(assert(eng:create_test { name = "t" .. i, model = "m" .. i, control = "v1",
                                                  treatment = "v2", policies = { guards = { { "mine" } } } })))
      end
      for t = 1, 3 do now = t * 60; assert(eng:tick()) end
      local lines = {}
      for _, l in ipairs(eng:policy_log()) do lines[#lines + 1] = l:match("mine: (.*)$") end
      -- the first tick shares DEFAULT (the policy's doing); after that each
      -- test goes on from its own saved state
      assert.are.same({ "t1 1", "t2 2", "t1 2", "t2 3", "t1 3", "t2 4" }, lines)
    end)

    it("keeps a large ctx.state (parsed each call rather than kept live) across ticks", function()
      write("mine.lua", [[
        return { kind = 'guard', name = 'mine', version = '1',
          evaluate = function(view, params, ctx)
            local st = ctx.state
            st.blob = st.blob or string.rep('x', 6000)
            st.n = (st.n or 0) + 1
            ctx.log('n', st.n, #st.blob)
          end }]])
      local eng, _, tick = setup()
      for _ = 1, 3 do tick() end
      assert.truthy(eng:policy_log(1)[1]:find("mine: n 3 6000", 1, true), eng:policy_log(1)[1])
    end)

    it("records the fields a policy read after it re-read one in a loop past the recording cap", function()
      -- 5,000 reads of one field fill the recorder (2,048 reads) with repeats;
      -- compacting them leaves room for the fields read afterwards
      write("mine.lua", guard("1", [[
        local c, n = view.control, 0
        for _ = 1, 5000 do n = n + c.requests end
        local a = view.allocation.treatment
        for _ = 1, 5000 do n = n + view.treatment.requests end
        return { action = 'alert', reason = 'read ' .. n .. ' at ' .. a .. '% and ' .. view.status }]]))
      local eng, id, tick = setup()
      tick()
      local alert = events_where(eng, function(e) return e.action == "alert" end)[1]
      assert.truthy(alert, "the policy decided")
      local detail = alert.detail
      for _, field in ipairs { '"control.requests":', '"allocation.treatment":', '"treatment.requests":',
                               '"status":"running"' } do
        assert.truthy(detail:find(field, 1, true), field .. " in " .. detail)
      end
      assert.is_nil(detail:find("truncated", 1, true), detail)
      assert.are.equal("running", eng:test(id).status)
    end)

    it("keeps the inputs that fit in 8 KiB when a policy read more, and says it cut them", function()
      write("mine.lua", guard("1", [[
        local n = 0
        for i = 1, 600 do n = n + view:window(i).control.requests end
        return { action = 'alert', reason = 'read ' .. n }]]))
      local eng, _, tick = setup()
      tick()
      local alert = events_where(eng, function(e) return e.action == "alert" end)[1]
      local inputs = alert.detail:match('"inputs":(%b{})')
      assert.truthy(inputs, alert.detail)
      assert.truthy(inputs:find('"truncated":true', 1, true), inputs)
      assert.truthy(inputs:find('"window(1).control.requests":0', 1, true), "the first fields read are kept")
      local kept = select(2, inputs:gsub('control%.requests', ''))
      assert.is_true(kept > 150 and kept < 600, kept .. " of 600 fields kept")
      assert.is_true(#inputs <= 8192, #inputs .. " bytes")
    end)

    it("takes one policy file as an entry of policy_dirs, whatever its name, and reloads it", function()
      write("mine.candidate", guard("1", "return nil"))
      write("other.lua", guard("9", "return nil")) -- beside it, not in the set
      local now = 0
      local eng = sluice.engine { clock = function() return now end,
                                  policy_dirs = { dir .. "/mine.candidate" } }
      local loaded = eng:policies()
      assert.are.equal(1, #loaded)
      assert.are.equal("1", loaded[1].version)
      assert.are.equal(dir .. "/mine.candidate", loaded[1].file)
      write("mine.candidate", guard("2", "return nil"))
      assert.are.equal(1, eng:reload_policies())
      assert.are.equal("2", eng:policies()[1].version)
      os.remove(dir .. "/mine.candidate")
      assert.are.equal(1, eng:reload_policies())
      assert.are.equal(0, #eng:policies())
    end)

    it("copies default params nested deeper than the C stack's promised slots", function()
      -- each level of the copy holds stack slots; 30 levels (copied 16 deep,
      -- the rest shared)
      -- overran the Lua stack before it was grown as it goes (ASan saw it)
      write("mine.lua", [[
        local deep = { leaf = 1 }
        for _ = 1, 30 do deep = { next = deep, x = 1, y = 2 } end
        return { kind = 'guard', name = 'mine', version = '1', params = { deep = deep },
          evaluate = function(view, params, ctx)
            local d, n = params.deep, 0
            while type(d) == 'table' and d.next do d, n = d.next, n + 1 end
            ctx.log('depth', n)
          end }]])
      local eng, _, tick = setup()
      tick()
      assert.truthy(eng:policy_log(1)[1]:find("mine: depth 30", 1, true), eng:policy_log(1)[1])
    end)

    it("gives a policy a read-only view, params over defaults, and state across ticks", function()
      write("mine.lua", [[
        return { kind = 'guard', name = 'mine', version = '1', params = { limit = 2, keep = 'x' },
          evaluate = function(view, params, ctx)
            local ok = pcall(function() view.status = 'hacked' end)
            ctx.state.n = (ctx.state.n or 0) + 1
            ctx.log('tick', ctx.state.n, params.limit, params.keep, ok)
            if ctx.state.n >= params.limit then
              return { action = 'alert', reason = 'seen ' .. ctx.state.n .. ' ticks of ' .. view.id }
            end
          end }]])
      local now = 0
      local eng = sluice.engine { clock = function() return now end, policy_dirs = { dir } }
      eng:add_model { id = "m", version = "v1" }
      eng:add_model { id = "m", version = "v2" }
      local id = assert(eng:create_test { name = "t", model = "m", control = "v1", treatment = "v2",
                                          policies = { guards = { { "mine", { limit = 3 } } } } })
      eng:start(id)
      for _ = 1, 3 do now = now + 60; eng:tick() end
      local log = eng:policy_log()
      assert.truthy(log[1]:find("tick 1 3 x false", 1, true), log[1])
      local alert = events_where(eng, function(e) return e.action == "alert" end)[1]
      assert.are.equal("seen 3 ticks of " .. id, alert.reason)
      assert.truthy(alert.detail:find('"id":"' .. id .. '"', 1, true), alert.detail)
      eng:reload_policies()
      now = now + 60; eng:tick()
      assert.truthy(eng:policy_log(1)[1]:find("tick 4", 1, true), "state survives a reload")
    end)
  end)
end)
