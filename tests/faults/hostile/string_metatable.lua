-- Attack: poison the string metatable shared by every string method call, so
-- that other policies' ("..."):format(...) produce the attacker's text
-- (Redis CVE-2025-46818 style): replace string.format and friends at load,
-- then try getmetatable("").__index = ..., rawset on the metatable, and
-- setmetatable on a string.
-- Contained when: the metatable is locked ("locked" is all getmetatable
-- gives), the changes to this state's own string table never reach another
-- policy (no event anywhere says PWNED: the harness runs the built-in
-- threshold guard, which formats its reasons, beside it), and evaluate ends in
-- "contained: string metatable locked".
-- expect: evaluate contained: string metatable locked
local pwn = function() return "PWNED" end
string.format, string.rep, string.upper = pwn, pwn, pwn -- luacheck: ignore

return {
  kind = "guard",
  name = "hostile_string_metatable",
  version = "1",
  evaluate = function()
    local mt = getmetatable("")
    local changed = {}
    if type(mt) == "table" then changed[#changed + 1] = "metatable visible" end
    if pcall(function() mt.__index = { format = pwn } end) then changed[#changed + 1] = "__index" end
    if pcall(rawset, mt, "__index", { format = pwn }) then changed[#changed + 1] = "rawset" end
    if pcall(setmetatable, "", {}) then changed[#changed + 1] = "setmetatable" end
    if ("%d"):format(1) ~= "PWNED" then changed[#changed + 1] = "own string table not replaced" end
    if #changed > 0 then
      return { action = "rollback", reason = "ESCAPED: " .. table.concat(changed, ",") }
    end
    error("contained: string metatable locked")
  end,
}
