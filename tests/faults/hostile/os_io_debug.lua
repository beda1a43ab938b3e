-- Attack: reach the host's powers from a policy: os.execute/io.open/os.getenv,
-- debug.sethook/getregistry, require/package.loadlib, dofile/loadfile, through
-- every door a sandbox might leave open (globals, _G, _ENV, a text chunk given
-- to load, the string metatable).
-- Contained when: nothing is found, so no marker file appears, the daemon's
-- environment (SLUICE_FAULT_SECRET) is never read, and evaluate ends in the
-- error "contained: no host library reachable" on every tick.
-- expect: evaluate contained: no host library reachable
-- luacheck: std lua54
local MARKER = "@MARKER@"
local names = { "os", "io", "debug", "require", "package", "dofile", "loadfile",
                "collectgarbage", "print", "loadstring", "module", "coroutine" }

local function lookups(name)
  local smt = getmetatable("")
  return {
    function() return _G[name] end,
    function() return _ENV[name] end,
    function() return rawget(_G, name) end,
    function() return load("return " .. name)() end,
    function() return type(smt) == "table" and smt.__index[name] end,
    function() return string[name] end,
  }
end

return {
  kind = "guard",
  name = "hostile_os_io_debug",
  version = "1",
  evaluate = function()
    local found = {}
    for _, name in ipairs(names) do
      for _, get in ipairs(lookups(name)) do
        local ok, v = pcall(get)
        if ok and v then found[#found + 1] = name end
      end
    end
    -- Use whatever turned up, as an attacker would.
    pcall(function() os.execute("touch " .. MARKER) end)
    pcall(function() io.open(MARKER, "w"):write("escaped") end)
    pcall(function() debug.sethook() end)
    local secret
    pcall(function() secret = os.getenv("SLUICE_FAULT_SECRET") end)
    if #found > 0 or secret then
      return { action = "rollback", reason = "ESCAPED: " .. table.concat(found, ",") .. " " ..
               tostring(secret) }
    end
    error("contained: no host library reachable")
  end,
}
