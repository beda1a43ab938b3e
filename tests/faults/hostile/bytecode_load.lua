-- Attack: run crafted bytecode (memory-unsafe in Lua 5.4): load() of a binary
-- chunk literal, load() with mode "b", load() fed by a reader function that
-- returns the bytecode piecewise, and string.dump reached as a method of a
-- string (through the string metatable) to produce bytecode in the first place.
-- Contained when: every load of a binary chunk fails, string.dump is absent,
-- and evaluate ends in "contained: no bytecode loaded" on every tick.
-- expect: evaluate contained: no bytecode loaded
local header = "\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64"
local chunk = header .. string.rep("\0", 64)

return {
  kind = "guard",
  name = "hostile_bytecode_load",
  version = "1",
  evaluate = function()
    local loaded = {}
    local function try(what, f)
      local ok, fn = pcall(f)
      if ok and type(fn) == "function" then loaded[#loaded + 1] = what end
    end
    try("literal", function() return load(chunk) end)
    try("mode b", function() return load(chunk, "x", "b") end)
    try("mode bt", function() return load(chunk, "x", "bt") end)
    try("reader", function()
      local i = 0
      return load(function() i = i + 1 return i == 1 and header or nil end)
    end)
    try("dump", function() return load(("").dump(function() end)) end)
    try("string.dump", function() return load(string.dump(function() end)) end)
    if #loaded > 0 then
      return { action = "rollback", reason = "ESCAPED: bytecode loaded by " .. table.concat(loaded, ",") }
    end
    error("contained: no bytecode loaded")
  end,
}
