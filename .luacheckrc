-- luacheck configuration (Debian lua-check): `luacheck .` checks every Lua file.
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

-- Fixtures of policies the loader must refuse or contain. syntax_error.lua is
-- broken on purpose; escape_attempt.lua reaches for what the sandbox removes.
files["tests/fixtures/policies"] = { std = "sluice_policy" }
files["tests/fixtures/policies/escape_attempt.lua"] = { std = "lua54" }
exclude_files = { "tests/fixtures/policies/syntax_error.lua", "build*/**" }
