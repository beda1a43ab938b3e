-- sketch_spec.lua: the sketch's summary methods from Lua (sum, min, max, mean,
-- counts, tostring, the count argument of add) against exact figures.
local sluice = require "sluice"

describe("sluice.sketch summaries", function()
  it("sum, min, max and mean are exact", function()
    local s = sluice.sketch()
    for _, x in ipairs { 4, 0.5, 250, 10.25 } do s:add(x) end
    assert.are.equal(264.75, s:sum())
    assert.are.equal(0.5, s:min())
    assert.are.equal(250, s:max())
    assert.are.equal(264.75 / 4, s:mean())
  end)

  it("an empty sketch has sum 0 and no min, max or mean", function()
    local s = sluice.sketch()
    assert.are.equal(0, s:sum())
    assert.is_nil(s:min())
    assert.is_nil(s:max())
    assert.is_nil(s:mean())
    assert.are.equal("sluice.sketch(empty)", tostring(s))
  end)

  it("add(x, n) counts x n times; n = 0 adds nothing; a negative n raises", function()
    local a, b = sluice.sketch(), sluice.sketch()
    assert.are.equal(a, a:add(7, 3)) -- returns itself, for chaining
    for _ = 1, 3 do b:add(7) end
    assert.are.equal(3, a:count())
    assert.are.equal(21, a:sum())
    assert.are.same(b:counts(), a:counts())
    a:add(9, 0)
    assert.are.equal(3, a:count())
    assert.has_error(function() a:add(1, -1) end, "bad argument #2 to 'add' (count must be >= 0)")
  end)

  it("counts() has one entry per bucket and sums to count()", function()
    local s = sluice.sketch()
    s:add(0.01) -- below the tracked range: the underflow bucket
    s:add(1e9)  -- above it: the overflow bucket
    for i = 1, 100 do s:add(i) end
    local c, total, nonzero = s:counts(), 0, 0
    for _, n in ipairs(c) do
      total = total + n
      if n > 0 then nonzero = nonzero + 1 end
    end
    assert.are.equal(s:count(), total)
    assert.are.equal(1, c[1])
    assert.are.equal(1, c[#c])
    assert.is_true(nonzero > 50 and nonzero <= 100, "distinct buckets: " .. nonzero)
    -- the extremes are reported exactly, not as bucket values
    assert.are.equal(0.01, s:quantile(0))
    assert.are.equal(1e9, s:quantile(1))
  end)

  it("tostring shows the count and the median and p99", function()
    local s = sluice.sketch()
    for i = 1, 1000 do s:add(i) end
    local n, p50, p99 = tostring(s):match("^sluice%.sketch%(n=(%d+), p50=([%d.]+), p99=([%d.]+)%)$")
    assert.are.equal("1000", n)
    assert.is_true(math.abs(tonumber(p50) - 500) / 500 <= 0.01, p50)
    assert.is_true(math.abs(tonumber(p99) - 990) / 990 <= 0.01, p99)
  end)

  it("methods check their receiver", function()
    local s = sluice.sketch()
    assert.has_error(function() s.sum({}) end)
    assert.has_error(function() s:merge({}) end)
    assert.has_error(function() s:add("x") end)
  end)
end)
