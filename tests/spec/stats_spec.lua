-- sluice.stats: the Lua binding of src/core/stats.
-- Reference numbers are rows of tests/stats/*.tsv (mpmath, see gen_vectors.py);
-- the C tests check the whole files, this spec checks that the binding passes
-- arguments, defaults, results and errors through faithfully.
local sluice = require "sluice"
local stats = sluice.stats

local function close(want, got, tol)
  tol = tol or 1e-12
  assert.is_number(got)
  assert.is_true(got == want or math.abs(got - want) <= tol * math.abs(want),
    ("got %.17g, want %.17g"):format(got, want))
end

local function keys(t)
  local k = {}
  for name in pairs(t) do k[#k + 1] = name end
  table.sort(k)
  return table.concat(k, " ")
end

local function raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, tostring(err))
end

describe("sluice.stats", function()
  it("exposes every function of the statistics module", function()
    assert.equal("bh chi2_sf holm mann_whitney mann_whitney_counts mde msprt normal_cdf " ..
      "normal_ppf power proportions sample_size sequential srm t_cdf t_ppf welch welch_relative",
      keys(stats))
  end)

  describe("welch", function()
    it("returns exactly the documented fields", function()
      assert.equal("ci_high ci_low df diff p se t", keys(stats.welch(10, 4, 2, 13, 9, 2)))
    end)

    it("matches the reference at tiny n (treatment minus control)", function()
      local r = stats.welch(10, 4, 2, 13, 9, 2)
      close(3, r.diff)
      close(1.1766968108291043, r.t, 1e-9)
      close(1.7422680412371134, r.df, 1e-9)
      close(0.3752533675580585, r.p, 1e-9)
      close(-9.68134036705793, r.ci_low, 1e-9)
      close(15.68134036705793, r.ci_high, 1e-9)
    end)

    it("defaults alpha to 0.05 and honours another one", function()
      local d, a05, a01 = stats.welch(10, 4, 2, 13, 9, 2), stats.welch(10, 4, 2, 13, 9, 2, 0.05),
        stats.welch(10, 4, 2, 13, 9, 2, 0.01)
      assert.equal(a05.ci_low, d.ci_low)
      close(-29.62321718987297, a01.ci_low, 1e-9)
    end)

    it("reports p far below 1e-16 instead of 0", function()
      close(2.0171980084363916e-50, stats.welch(10, 1, 500, 11, 1, 500).p, 1e-9)
    end)

    it("raises on misuse with the core's message", function()
      raises("sluice.stats.welch: n1 must be at least 2", stats.welch, 10, 4, 1, 13, 9, 2)
      raises("v2 %(variance%) must be a finite number >= 0", stats.welch, 10, 4, 5, 13, -9, 2)
      raises("m1 must be a finite number", stats.welch, 0 / 0, 4, 5, 13, 9, 2)
      raises("alpha must be in %(0, 1%)", stats.welch, 10, 4, 5, 13, 9, 2, 1)
      raises("alpha must be in %(0, 1%)", stats.welch, 10, 4, 5, 13, 9, 2, 0)
      raises("number expected", stats.welch, 10, 4, 5, "lots", 9, 2)
      raises("number expected", stats.welch, 10, 4, 5)
    end)
  end)

  describe("welch_relative", function()
    it("returns GrowthBook's relative lift and delta-method CI", function()
      local r = stats.welch_relative(100, 400, 50, 108, 2500, 20)
      assert.equal("ci_high ci_low df diff p se t", keys(r))
      close(0.08, r.diff)
      close(0.11590133735207718, r.se, 1e-9)
      close(21.47571530473723, r.df, 1e-9)
      close(0.49743431953094364, r.p, 1e-9)
      close(-0.16070534057504146, r.ci_low, 1e-9)
    end)

    it("returns nil and a message when the control mean is 0", function()
      local r, msg = stats.welch_relative(0, 1, 10, 1, 1, 10)
      assert.is_nil(r)
      assert.matches("undefined", msg)
    end)

    it("still raises on misuse when the control mean is 0", function()
      raises("n1 must be at least 2", stats.welch_relative, 0, 1, 1, 1, 1, 10)
    end)
  end)

  describe("proportions", function()
    it("returns the pooled z-test and the unpooled Wald CI", function()
      local r = stats.proportions(20, 100, 30, 100)
      assert.equal("ci_high ci_low diff p p1 p2 z", keys(r))
      close(0.2, r.p1)
      close(0.3, r.p2)
      close(1.632993161855452, r.z, 1e-9)
      close(0.10247043485974942, r.p, 1e-9)
      close(-0.019219954858942408, r.ci_low, 1e-9)
      close(0.2192199548589424, r.ci_high, 1e-9)
    end)

    it("gives the documented result for degenerate inputs", function()
      local empty = stats.proportions(0, 0, 3, 10)
      assert.same({0, 1, -1, 1}, {empty.z, empty.p, empty.ci_low, empty.ci_high})
      local none = stats.proportions(0, 50, 0, 70)
      assert.same({0, 1, 0, 0}, {none.z, none.p, none.ci_low, none.ci_high})
    end)

    it("raises when successes exceed trials", function()
      raises("s1 %(11%) exceeds n1 %(10%)", stats.proportions, 11, 10, 3, 10)
    end)
  end)

  describe("srm", function()
    it("tests counts against weights that need not sum to 1", function()
      local r = stats.srm({5100, 4900}, {50, 50})
      assert.equal("chi2 df p", keys(r))
      close(4, r.chi2, 1e-12)
      assert.equal(1, r.df)
      assert.equal("integer", math.type(r.df))
      close(0.04550026389635842, r.p, 1e-9)
    end)

    it("treats traffic on a zero-weight arm as a certain mismatch", function()
      local r = stats.srm({100, 3, 110}, {1, 0, 1})
      assert.same({math.huge, 1, 0}, {r.chi2, r.df, r.p})
      assert.equal(1, stats.srm({100, 0, 110}, {1, 0, 1}).df)
    end)

    it("raises on bad input", function()
      raises("2 counts but 3 weights", stats.srm, {1, 2}, {1, 1, 1})
      raises("at least 2 positive", stats.srm, {1, 2}, {0, 0})
      raises("element 2 is not a number", stats.srm, {1, "2"}, {1, 1})
      raises("table expected", stats.srm, 5, {1, 1})
    end)
  end)

  describe("mann_whitney", function()
    it("returns U of the first sample, z and the two-sided p", function()
      local r = stats.mann_whitney({1, 2, 3}, {4, 5})
      assert.equal("p u z", keys(r))
      assert.equal(0, r.u)
      close(-1.4433756729740643, r.z, 1e-9)
      close(0.1489146731787657, r.p, 1e-9)
    end)

    it("over bucket counts equals the test over the expanded samples", function()
      local c1, c2 = {5, 10, 20, 10, 5, 0}, {2, 8, 18, 14, 6, 2}
      local x, y = {}, {}
      for b, n in ipairs(c1) do for _ = 1, n do x[#x + 1] = b end end
      for b, n in ipairs(c2) do for _ = 1, n do y[#y + 1] = b end end
      local byc, bys = stats.mann_whitney_counts(c1, c2), stats.mann_whitney(x, y)
      close(1020, byc.u)
      close(0.09976028931327341, byc.p, 1e-9)
      assert.same(bys, byc)
    end)

    it("raises on empty samples and bad elements", function()
      raises("empty sample", stats.mann_whitney, {}, {1, 2})
      raises("not a number", stats.mann_whitney, {1, {}}, {1, 2})
      raises("x%[2%] is NaN", stats.mann_whitney, {1, 0 / 0}, {1, 2})
      raises("count 2 is not an integer >= 0", stats.mann_whitney_counts, {1, -1}, {1, 2})
      raises("count 1 is not an integer >= 0", stats.mann_whitney_counts, {1.5, 1}, {1, 2})
      raises("3 buckets against 2", stats.mann_whitney_counts, {1, 1, 1}, {1, 2})
      raises("empty sample", stats.mann_whitney_counts, {0, 0}, {1, 2})
    end)
  end)

  describe("power, sample_size, mde", function()
    it("match the two-sided z-test reference", function()
      close(0.5160052739761748, stats.power(0.2, 1, 200), 1e-9)
      close(0.2801581787013579, stats.mde(1, 200, 0.8), 1e-9)
      assert.equal(393, stats.sample_size(0.2, 1, 0.8))
      assert.equal("integer", math.type(stats.sample_size(0.2, 1, 0.8)))
    end)

    it("are consistent with one another", function()
      local n = stats.sample_size(0.1, 2, 0.9, 0.01)
      assert.is_true(stats.power(0.1, 2, n, 0.01) >= 0.9)
      assert.is_true(stats.power(0.1, 2, n - 1, 0.01) < 0.9)
      close(0.8, stats.power(stats.mde(3, 500, 0.8), 3, 500), 1e-12)
    end)

    it("raise on impossible designs", function()
      raises("delta must not be 0", stats.sample_size, 0, 1, 0.8)
      raises("power must be in %(alpha, 1%)", stats.sample_size, 0.1, 1, 0.01)
      raises("sd must be a finite number > 0", stats.power, 0.1, -1, 100)
      raises("n_per_arm must be at least 2", stats.mde, 1, 1, 0.8)
    end)
  end)

  describe("msprt", function()
    it("returns lambda, the one-look p and the always-valid CI", function()
      local r = stats.msprt(-0.3, 0.004, 0.05)
      assert.equal("ci_high ci_low lambda p", keys(r))
      close(9093.560675466322, r.lambda, 1e-9)
      close(0.00010996792518225755, r.p, 1e-9)
      close(-0.4926830202291479, r.ci_low, 1e-9)
      close(-0.10731697977085208, r.ci_high, 1e-9)
    end)

    it("raises on a non-positive variance or mixing variance", function()
      raises("s2 must be a finite number > 0", stats.msprt, 0.1, 0, 1)
      raises("tau2 must be a finite number > 0", stats.msprt, 0.1, 1, 0)
    end)
  end)

  describe("sequential", function()
    local looks = {
      {10, 4, 100, 10.3, 4, 100}, {10, 4, 300, 10.4, 4, 300}, {10, 4, 600, 10.45, 4, 600},
      {10, 4, 900, 10.1, 4, 900}, {10, 4, 2000, 10.0, 4, 2000},
    }

    it("is a sluice.Sequential with a protected metatable", function()
      local s = stats.sequential {tau2 = 0.01}
      assert.equal("userdata", type(s))
      assert.equal("sluice.Sequential", getmetatable(s))
      assert.matches("^sluice%.Sequential%(msprt, looks 0, p 1,", tostring(s))
    end)

    it("reports a running-minimum p and a nested CI however often it looks", function()
      local s = stats.sequential {tau2 = 0.01}
      local lastp, lo, hi = 1, -math.huge, math.huge
      for i, l in ipairs(looks) do
        local r = s:update(table.unpack(l))
        assert.equal("ci_high ci_low diff lambda looks p se", keys(r))
        assert.equal(i, r.looks)
        local one = stats.msprt(l[4] - l[1], l[2] / l[3] + l[5] / l[6], 0.01)
        assert.equal(math.min(lastp, one.p), r.p)
        assert.is_true(r.ci_low >= lo and r.ci_high <= hi)
        lastp, lo, hi = r.p, r.ci_low, r.ci_high
      end
      local st = s:state()
      assert.same({method = "msprt", alpha = 0.05, tau2 = 0.01, theta0 = 0, n_star = 5000,
        relative = false, looks = 5, p = lastp, ci_low = lo, ci_high = hi}, st)
    end)

    it("gives GrowthBook's numbers in growthbook mode", function()
      local s = stats.sequential {method = "growthbook"}
      local r1 = s:update(10, 16, 500, 10.4, 17, 510)
      close(0.7590091230698147, r1.p, 1e-9)
      close(-0.4585538510715678, r1.ci_low, 1e-9)
      s:update(10, 16.2, 1500, 10.3, 16.5, 1490)
      local r3 = s:update(10.02, 16.1, 4000, 10.35, 16.4, 4020)
      close(0.007304308790178019, r3.p, 1e-9)
      local r4 = s:update(10.01, 16, 9000, 10.2, 16.2, 9050)
      close(0.04101815708671273, r4.p, 1e-9) -- per look, as GrowthBook: it rose
      close(0.003887769539541423, r4.ci_low, 1e-9)
    end)

    it("raises on bad options and bad looks", function()
      raises("tau2 must be a finite number > 0", stats.sequential, {})
      raises("tau2 must be a finite number > 0", stats.sequential)
      raises("unknown option 'tua2'", stats.sequential, {tua2 = 1})
      raises("method must be 'msprt' or 'growthbook'", stats.sequential, {method = "bayes"})
      raises("alpha must be in %(0, 1%)", stats.sequential, {tau2 = 1, alpha = 2})
      raises("relative must be a boolean", stats.sequential, {tau2 = 1, relative = 1})
      local s = stats.sequential {tau2 = 1}
      raises("n2 must be at least 2", s.update, s, 1, 1, 10, 1, 1, 1)
      raises("v1 %(variance%) must be", s.update, s, 1, -1, 10, 1, 1, 10)
      raises("sluice.Sequential expected", s.update, {}, 1, 1, 10, 1, 1, 10)
      assert.equal(0, s:state().looks)
    end)
  end)

  describe("distribution functions", function()
    it("match the mpmath reference, tails included", function()
      close(-1.9599639845400543, stats.normal_ppf(0.025))
      close(0.975, stats.normal_cdf(1.9599639845400543))
      close(2.2281388519862744, stats.t_ppf(0.975, 10))
      close(-164.55767348048852, stats.t_ppf(0.025, 0.5))
      close(0.007696219036651151, stats.t_cdf(-5, 3))
      close(4.190166279344146e-52, stats.t_cdf(-30, 100))
      close(0.050043521248705106, stats.chi2_sf(3.84, 1))
      assert.equal(stats.normal_cdf(1.5), stats.t_cdf(1.5, math.huge))
    end)

    it("raise on NaN, probabilities outside [0, 1] and df <= 0", function()
      raises("must not be NaN", stats.normal_cdf, 0 / 0)
      raises("probability must be in %[0, 1%]", stats.normal_ppf, 1.5)
      raises("degrees of freedom must be > 0", stats.t_cdf, 1, 0)
      raises("degrees of freedom must be > 0", stats.t_ppf, 0.5, -3)
      raises("degrees of freedom must be > 0", stats.chi2_sf, 1, 0 / 0)
    end)
  end)

  describe("holm and bh", function()
    local p = {1e-20, 0.3, 0.7, 0.049, 0.0001, 0.8, 0.012}

    it("adjust p-values as their definitions say", function()
      local holm, bh = stats.holm(p), stats.bh(p)
      local want_holm = {7e-20, 0.9, 1, 0.196, 0.0006, 1, 0.06}
      local want_bh = {7e-20, 0.42, 0.8, 0.08575, 0.00035, 0.8, 0.028}
      for i = 1, #p do
        close(want_holm[i], holm[i], 1e-15)
        close(want_bh[i], bh[i], 1e-15)
      end
      assert.equal(0.3, p[2]) -- the argument is not modified
    end)

    it("raise on p-values outside [0, 1] and on an empty list", function()
      raises("p%-value 2 must be in %[0, 1%]", stats.holm, {0.1, 2})
      raises("no p%-values", stats.bh, {})
    end)
  end)
end)
