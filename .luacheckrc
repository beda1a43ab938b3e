-- luacheck configuration (Debian lua-check): `luacheck policies lua tests/spec`.
std = "lua54"
max_line_length = 130

-- Policies run in the sandbox: only what it provides (docs/policies.md, "The sandbox").
stds.sluice_policy = {
  read_globals = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
    "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type",
    "xpcall", "load", "string", "table", "math", "utf8", "_G", "_ENV", "_VERSION",
  },
}

files["policies"] = { std = "sluice_policy" }
files["examples/policies"] = { std = "sluice_policy" }
files["examples/policies/*_spec.lua"] = { std = "lua54+busted" }
files["tests/spec"] = { std = "lua54+busted", max_line_length = false }
