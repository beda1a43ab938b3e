/* test_lua_sandbox.c - escape and runaway attempts against the policy sandbox.
 *
 * Every attack runs through the real gateway (sl_sandbox_run/sl_sandbox_call)
 * and checks what the engine sees: the status, the message, the host stack,
 * and that the state still answers afterwards. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "tap.h"

struct outcome {
    int status;
    char msg[SL_ERR_MSG_MAX];
    char val[256]; /* the first result, as text */
    double secs;
    bool stack_ok; /* the host stack is as before */
};

/* A sandbox hole shows up as a hang: RUN's watchdog (tap.h) turns it into a
 * failure that names the test. */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Small, deterministic limits: budget kills before the wall clock. */
static struct sl_sandbox_limits test_limits(void)
{
    struct sl_sandbox_limits lim;
    sl_sandbox_limits_default(&lim);
    lim.memory_bytes = 4u << 20;
    lim.instructions = 1000000;
    lim.wall_ms = 5000;
    return lim;
}

static struct sl_sandbox *fresh(const struct sl_sandbox_limits *lim)
{
    struct sl_err err = {0};
    struct sl_sandbox *sb = sl_sandbox_new(lim, &err);
    if (!sb)
        tap_diag("sl_sandbox_new: %s", err.msg);
    return sb;
}

/* Never converts in place (that could allocate outside protection). */
static void value_text(lua_State *L, char *out, size_t n)
{
    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        snprintf(out, n, "%s", lua_tostring(L, -1));
        break;
    case LUA_TNUMBER:
        snprintf(out, n, "%.14g", lua_tonumber(L, -1));
        break;
    case LUA_TBOOLEAN:
        snprintf(out, n, "%s", lua_toboolean(L, -1) ? "true" : "false");
        break;
    default:
        snprintf(out, n, "%s", luaL_typename(L, -1));
    }
}

static struct outcome attack(struct sl_sandbox *sb, const char *src)
{
    struct outcome o = {.status = -1};
    struct sl_err err = {0};
    lua_State *L = sl_sandbox_state(sb);
    int top = lua_gettop(L);
    double t0 = now();
    o.status = sl_sandbox_run(sb, src, strlen(src), "=attack", 1, &err);
    o.secs = now() - t0;
    if (o.status == SL_CALL_OK) {
        value_text(L, o.val, sizeof o.val);
        lua_pop(L, 1);
    } else {
        snprintf(o.msg, sizeof o.msg, "%s", err.msg);
    }
    o.stack_ok = lua_gettop(L) == top;
    return o;
}

static bool usable(struct sl_sandbox *sb)
{
    struct outcome o = attack(sb, "return ('x'):rep(3) .. #{1, 2}");
    return o.status == SL_CALL_OK && strcmp(o.val, "xxx2") == 0;
}

static bool has(const char *s, const char *sub)
{
    bool r = strstr(s, sub) != NULL;
    if (!r)
        tap_diag("\"%.200s\" lacks \"%s\"", s, sub);
    return r;
}

/* Expect src to end with status and a message containing sub, quickly, with
 * the host stack intact and the state still usable. */
static void expect_killed(struct sl_sandbox *sb, const char *name, const char *src, int status,
                          const char *sub)
{
    struct outcome o = attack(sb, src);
    is_int(o.status, status, name);
    ok(has(o.msg, sub), "%s: message says \"%s\"", name, sub);
    ok(o.secs < 3.0, "%s: stopped in %.3f s", name, o.secs);
    ok(o.stack_ok, "%s: host stack restored", name);
    ok(usable(sb), "%s: state still usable afterwards", name);
}

static void expect_value(struct sl_sandbox *sb, const char *name, const char *src, const char *want)
{
    struct outcome o = attack(sb, src);
    if (o.status != SL_CALL_OK)
        tap_diag("%s: %s", name, o.msg);
    is_str(o.status == SL_CALL_OK ? o.val : o.msg, want, name);
}

/* ---- escapes ------------------------------------------------------------------ */

static void test_forbidden_globals_unreachable(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    static const char *const names[] = {"io",      "os",        "debug",      "require",
                                        "package", "dofile",    "loadfile",   "collectgarbage",
                                        "print",   "coroutine", "loadstring", "module",
                                        NULL};
    for (int i = 0; names[i]; i++) {
        char src[256], what[96];
        snprintf(src, sizeof src,
                 "return tostring(%s == nil and _G.%s == nil and _ENV.%s == nil "
                 "and rawget(_G, '%s') == nil)",
                 names[i], names[i], names[i], names[i]);
        snprintf(what, sizeof what, "%s unreachable via global, _G, _ENV, rawget", names[i]);
        expect_value(sb, what, src, "true");
    }
    sl_sandbox_delete(sb);
}

static void test_string_dump_unreachable(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_value(sb, "string.dump is nil", "return tostring(string.dump)", "nil");
    expect_value(sb, "(\"\").dump via the string metatable is nil", "return tostring((\"\").dump)",
                 "nil");
    expect_value(sb, "getmetatable(\"\").__index does not reach the string table",
                 "return tostring(getmetatable('').__index)", "nil");
    expect_value(sb, "rawget(string, 'dump') is nil", "return tostring(rawget(string, 'dump'))",
                 "nil");
    sl_sandbox_delete(sb);
}

static void test_string_metatable_locked(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_value(sb, "getmetatable('') returns the lock, not the metatable",
                 "return getmetatable('')", "locked");
    struct outcome o =
        attack(sb, "getmetatable('').__index = {upper = function() return 'pwned' end}");
    is_int(o.status, SL_CALL_ERROR, "assigning through getmetatable('') fails");
    o = attack(sb, "setmetatable('', {})");
    is_int(o.status, SL_CALL_ERROR, "setmetatable on a string fails");
    expect_value(sb, "string methods intact after tampering attempts", "return ('abc'):upper()",
                 "ABC");
    sl_sandbox_delete(sb);
}

static void test_string_table_changes_stay_in_their_state(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *a = fresh(&lim), *b = fresh(&lim);
    expect_value(a, "policy A replaces string.upper in its own state",
                 "string.upper = function() return 'pwned' end return ('x'):upper()", "pwned");
    expect_value(b, "policy B's ('canary'):upper() is unaffected", "return ('canary'):upper()",
                 "CANARY");
    sl_sandbox_delete(a);
    sl_sandbox_delete(b);
}

/* A real binary chunk, made by an unsandboxed state. */
struct dump {
    char buf[4096];
    size_t len;
};

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    struct dump *d = ud;
    (void)L;
    if (sz > sizeof d->buf - d->len)
        return 1;
    memcpy(d->buf + d->len, p, sz);
    d->len += sz;
    return 0;
}

static void test_binary_chunks_refused(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    lua_State *plain = luaL_newstate();
    static struct dump d;
    luaL_loadstring(plain, "return 'from bytecode'");
    int dumped = lua_dump(plain, dump_writer, &d, 0);
    ok(dumped == 0 && d.len > 4, "made a %zu-byte binary chunk", d.len);
    const char *bc = d.buf;
    size_t len = d.len;

    struct sl_err err = {0};
    int st = sl_sandbox_run(sb, bc, len, "=bytecode", 1, &err);
    is_int(st, SL_CALL_ERROR, "host-side run of a binary chunk is refused");
    ok(has(err.msg, "binary chunk"), "refusal names the binary chunk");

    lua_State *L = sl_sandbox_state(sb);
    lua_pushlstring(L, bc, len);
    lua_setglobal(L, "bytecode");
    expect_value(sb, "load() of a real binary chunk returns nil + message",
                 "local f, m = load(bytecode) return tostring(f) .. ' ' .. m",
                 "nil attempt to load a binary chunk (mode is 't')");
    expect_value(sb, "load() with mode 'b' is refused outright",
                 "local f, m = load(bytecode, 'x', 'b') return tostring(f) .. ' ' .. m",
                 "nil binary chunks are not allowed in the sandbox");
    expect_value(sb, "load() of bytecode with mode 't' still refuses",
                 "local f, m = load(bytecode, 'x', 't') return tostring(f)", "nil");
    expect_value(sb, "load(\"\\27Lua...\") is refused as binary",
                 "local f, m = load('\\27Lua\\84\\0') return tostring(f) .. ' ' .. m",
                 "nil attempt to load a binary chunk (mode is 't')");
    struct outcome o = attack(sb, "return load(function() return 'return 1' end)");
    is_int(o.status, SL_CALL_ERROR, "load() with a reader function raises (strings only)");
    expect_value(sb, "text load still works, with an env",
                 "return load('return x + 1', 'c', 't', {x = 41})()", "42");
    lua_close(plain);
    sl_sandbox_delete(sb);
}

static void test_gc_metamethod_refused(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_killed(sb, "setmetatable with __gc is refused",
                  "setmetatable({}, {__gc = function() while true do end end})", SL_CALL_ERROR,
                  "__gc metamethods are not allowed");
    expect_killed(sb, "__gc = true placeholder is refused too", "setmetatable({}, {__gc = true})",
                  SL_CALL_ERROR, "__gc");
    expect_killed(sb, "reusing a metatable that gained __gc is refused",
                  "local mt = {} setmetatable({}, mt) mt.__gc = function() end "
                  "setmetatable({}, mt)",
                  SL_CALL_ERROR, "__gc");
    sl_sandbox_delete(sb);
}

static void test_gc_added_later_never_runs(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    lua_State *L = sl_sandbox_state(sb);
    struct outcome o = attack(sb, "local mt = {} "
                                  "for i = 1, 100 do setmetatable({}, mt) end "
                                  "mt.__gc = function() ran = true end "
                                  "rawset(mt, '__gc', function() ran = true end) "
                                  "local keep = setmetatable({}, {__index = mt})");
    is_int(o.status, SL_CALL_OK, "adding __gc after setmetatable (plain and rawset) is accepted");
    lua_gc(L, LUA_GCCOLLECT);
    lua_gc(L, LUA_GCCOLLECT);
    expect_value(sb, "...but no finalizer ran in a full collection", "return tostring(ran)", "nil");
    double t0 = now();
    sl_sandbox_delete(sb);
    ok(now() - t0 < 1.0, "lua_close runs no policy finalizer (closed in %.3f s)", now() - t0);
}

/* ---- runaways -------------------------------------------------------------------- */

static void test_loops_killed_by_instruction_budget(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_killed(sb, "while true do end", "while true do end", SL_CALL_BUDGET,
                  "attack:1: instruction budget exceeded");
    expect_killed(sb, "::a:: goto a", "::a:: goto a", SL_CALL_BUDGET, "instruction budget");
    expect_killed(sb, "repeat until false", "local x = 0 repeat x = x + 1 until false",
                  SL_CALL_BUDGET, "instruction budget");
    expect_killed(sb, "infinite tail calls", "local function f() return f() end return f()",
                  SL_CALL_BUDGET, "instruction budget");
    sl_sandbox_delete(sb);
}

static void test_pcall_cannot_swallow_the_kill(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_killed(sb, "while true do pcall(function() while true do end end) end",
                  "while true do pcall(function() while true do end end) end", SL_CALL_BUDGET,
                  "instruction budget");
    expect_killed(sb, "pcall(error) loop catching every kill",
                  "local n = 0 while true do local ok = pcall(function() while true do end end) "
                  "n = n + 1 end",
                  SL_CALL_BUDGET, "instruction budget");
    expect_killed(sb, "killed pcall result returned in tail position",
                  "return pcall(function() while true do end end)", SL_CALL_BUDGET,
                  "instruction budget");
    expect_killed(sb, "nested pcall layers",
                  "local function f(d) if d == 0 then while true do end end "
                  "while true do pcall(f, d - 1) end end f(5)",
                  SL_CALL_BUDGET, "instruction budget");
    sl_sandbox_delete(sb);
}

static void test_xpcall_handler_runs_hooked(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_killed(sb, "xpcall with a looping handler",
                  "xpcall(error, function() while true do end end)", SL_CALL_BUDGET,
                  "instruction budget");
    expect_killed(sb, "xpcall with a looping handler inside a pcall loop",
                  "while true do pcall(xpcall, error, function() while true do end end) end",
                  SL_CALL_BUDGET, "instruction budget");
    expect_value(sb, "xpcall still reports through its handler",
                 "local ok, m = xpcall(function() error('x', 0) end, "
                 "function(e) return 'handled ' .. e end) return tostring(ok) .. ' ' .. m",
                 "false handled x");
    expect_value(sb, "xpcall success passes results",
                 "local ok, a, b = xpcall(function(x) return x, x + 1 end, error, 1) "
                 "return tostring(ok) .. a .. b",
                 "true12");
    struct outcome o = attack(sb, "local function loop() assert(pcall(loop)) end "
                                  "return xpcall(loop, loop)");
    ok(o.status == SL_CALL_OK || o.status == SL_CALL_ERROR,
       "xpcall(loop, loop) (Lua 5.4.4 C-stack bug) ends without a crash (status %d)", o.status);
    ok(usable(sb), "state usable after xpcall(loop, loop)");
    sl_sandbox_delete(sb);
}

static void test_close_metamethod_runs_hooked(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_killed(sb, "<close> variable with a looping __close",
                  "do local x <close> = setmetatable({}, {__close = function() "
                  "while true do end end}) end",
                  SL_CALL_BUDGET, "instruction budget");
    expect_killed(sb, "<close> looping while an error unwinds",
                  "local x <close> = setmetatable({}, {__close = function() "
                  "while true do end end}) error('boom')",
                  SL_CALL_BUDGET, "instruction budget");
    sl_sandbox_delete(sb);
}

static void test_metamethods_and_callbacks_are_counted(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_killed(sb, "looping __tostring via string.format",
                  "return string.format('%s', setmetatable({}, {__tostring = function() "
                  "while true do end end}))",
                  SL_CALL_BUDGET, "instruction budget");
    expect_killed(sb, "looping table.sort comparator",
                  "table.sort({3, 2, 1}, function(a, b) while true do end end)", SL_CALL_BUDGET,
                  "instruction budget");
    expect_killed(sb, "looping gsub replacement function",
                  "return ('aaa'):gsub('a', function() while true do end end)", SL_CALL_BUDGET,
                  "instruction budget");
    expect_killed(sb, "looping __index",
                  "return setmetatable({}, {__index = function() "
                  "while true do end end}).x",
                  SL_CALL_BUDGET, "instruction budget");
    sl_sandbox_delete(sb);
}

static void test_memory_bombs_stop_at_the_cap(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    size_t before = sl_sandbox_memory(sb);
    expect_killed(sb, "string.rep of 1 GiB", "return string.rep('x', 1 << 30)", SL_CALL_MEMORY,
                  "not enough memory");
    expect_killed(sb, "s = s .. s", "local s = 'x' while true do s = s .. s end", SL_CALL_MEMORY,
                  "not enough memory");
    expect_killed(sb, "table growth", "local t = {} for i = 1, 1e8 do t[i] = i end", SL_CALL_MEMORY,
                  "not enough memory");
    expect_killed(sb, "tables of tables", "local t = {} while true do t[#t + 1] = {} end",
                  SL_CALL_MEMORY, "not enough memory");
    expect_killed(sb, "table.concat bomb",
                  "local t = {} for i = 1, 1e5 do t[i] = ('x'):rep(100) .. i end "
                  "return table.concat(t, table.concat(t))",
                  SL_CALL_MEMORY, "not enough memory");
    expect_killed(sb, "bomb kept alive in a global", "big = {} for i = 1, 1e8 do big[i] = i end",
                  SL_CALL_MEMORY, "not enough memory");
    ok(sl_sandbox_peak(sb) <= lim.memory_bytes, "peak %zu stays within the 4 MiB cap",
       sl_sandbox_peak(sb));
    attack(sb, "big = nil junk = nil");
    lua_gc(sl_sandbox_state(sb), LUA_GCCOLLECT);
    ok(sl_sandbox_memory(sb) < before + (256u << 10),
       "memory back near the start after the bombs are dropped (%zu vs %zu)", sl_sandbox_memory(sb),
       before);
    sl_sandbox_delete(sb);
}

/* A policy that keeps memory pinned at the cap and then fails: every error
 * path (message, traceback) may find no memory; the host must not panic. */
static void test_memory_pinned_at_the_cap(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    lua_State *L = sl_sandbox_state(sb);
    struct outcome o = attack(sb, "pcall(function() while true do junk = {junk} end end) "
                                  "error(('y'):rep(64) .. tostring(junk))");
    ok(o.status == SL_CALL_MEMORY || o.status == SL_CALL_ERROR,
       "error with memory pinned at the cap is reported (status %d: %.40s)", o.status, o.msg);
    ok(o.stack_ok, "host stack restored");
    o = attack(sb, "local t = {} for i = 1, 100 do t[i] = {} end");
    ok(o.status == SL_CALL_MEMORY || o.status == SL_CALL_OK, "next call fails cleanly or runs");
    lua_pushnil(L);
    lua_setglobal(L, "junk");
    lua_gc(L, LUA_GCCOLLECT);
    ok(usable(sb), "usable again once the host drops the pinned data");
    sl_sandbox_delete(sb);
}

static void test_string_rep_huge_counts(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    struct outcome o = attack(sb, "return #string.rep('', math.maxinteger)");
    is_str(o.val, "0", "string.rep('', math.maxinteger) returns '' at once");
    ok(o.secs < 0.1, "...in %.4f s (the stock loop would spin 2^63 times)", o.secs);
    o = attack(sb, "return #string.rep('', math.maxinteger, '')");
    is_str(o.val, "0", "string.rep('', maxinteger, '') returns '' at once");
    expect_killed(sb, "string.rep('x', math.maxinteger)", "return string.rep('x', math.maxinteger)",
                  SL_CALL_ERROR, "resulting string too large");
    expect_killed(sb, "('ab'):rep(1e8, ',')", "return ('ab'):rep(1e8, ',')", SL_CALL_MEMORY,
                  "not enough memory");
    sl_sandbox_delete(sb);
}

static void test_pattern_backtracking_refused(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_killed(sb, "string.find(('a'):rep(40), ('a?'):rep(40)..('a'):rep(40))",
                  "return string.find(('a'):rep(40), ('a?'):rep(40)..('a'):rep(40))", SL_CALL_ERROR,
                  "pattern too complex");
    expect_killed(sb, "(\"x\"):find method form of the same",
                  "local s = ('a'):rep(40) return s:find(('a?'):rep(40)..('a'):rep(40))",
                  SL_CALL_ERROR, "pattern too complex");
    expect_killed(sb, "match/gsub/gmatch variants",
                  "local p = ('a?'):rep(30)..('a'):rep(30) local s = ('a'):rep(30) "
                  "pcall(s.match, s, p) pcall(s.gsub, s, p, '') return s:gmatch(p)()",
                  SL_CALL_ERROR, "pattern too complex");
    expect_killed(sb, "polynomial a*a*b over 64 KiB (short pattern)",
                  "return ('a'):rep(65536):find('a*a*b')", SL_CALL_ERROR, "pattern too complex");
    expect_killed(sb, "pattern longer than pattern_bytes", "return ('a'):find(('%a'):rep(200))",
                  SL_CALL_ERROR, "pattern too long");
    expect_killed(sb, "subject longer than subject_bytes", "return ('a'):rep(70000):find('b')",
                  SL_CALL_ERROR, "subject too long");
    expect_killed(sb, "plain find with a long needle is length-limited",
                  "return ('a'):rep(70000):find(('a'):rep(100), 1, true)", SL_CALL_ERROR,
                  "subject too long");
    expect_value(sb, "ordinary patterns still work",
                 "local k, v = ('max_ms=250'):match('^([%w_]+)=(%d+)$') return k .. ' ' .. v",
                 "max_ms 250");
    expect_value(sb, "gmatch iterates",
                 "local n = 0 for w in ('a bb ccc'):gmatch('%a+') do n = n + #w end return n", "6");
    expect_value(sb, "gsub with captures", "return (('5m 30s'):gsub('(%d+)(%a)', '%2%1'))",
                 "m5 s30");
    expect_value(sb, "trim idiom on a 100-byte string",
                 "return #(('  ' .. ('x'):rep(96) .. '  '):match('^%s*(.-)%s*$'))", "96");
    expect_value(sb, "literal find on 64 KiB", "return (('a'):rep(65535) .. 'b'):find('ab')",
                 "65535");
    sl_sandbox_delete(sb);
}

static void test_deep_recursion_is_an_error(void)
{
    struct sl_sandbox_limits lim = test_limits();
    lim.memory_bytes = 256u << 20; /* room for the full Lua stack */
    lim.instructions = 100000000;
    struct sl_sandbox *sb = fresh(&lim);
    struct outcome o = attack(sb, "local function f() return 1 + f() end return f()");
    ok(o.status == SL_CALL_ERROR && has(o.msg, "stack overflow"),
       "unbounded Lua recursion: stack overflow error (status %d)", o.status);
    ok(usable(sb), "state usable after a Lua stack overflow");
    expect_killed(sb, "C-stack recursion through __index",
                  "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) "
                  "return t.x",
                  SL_CALL_ERROR, "stack overflow");
    expect_killed(sb, "recursion through string.gsub callbacks",
                  "local function f() return ('x'):gsub('x', f) end return f()", SL_CALL_ERROR,
                  "stack overflow");
    sl_sandbox_delete(sb);

    lim = test_limits(); /* 4 MiB: memory runs out before the stack limit */
    sb = fresh(&lim);
    o = attack(sb, "local function f() return 1 + f() end return f()");
    ok(o.status == SL_CALL_MEMORY || o.status == SL_CALL_ERROR,
       "recursion under a small cap ends in an error (status %d)", o.status);
    ok(usable(sb), "state usable after that");
    sl_sandbox_delete(sb);
}

static void test_error_objects_not_stringified_by_handler(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    expect_killed(sb, "error(table with looping __tostring)",
                  "error(setmetatable({}, {__tostring = function() called = true "
                  "while true do end end}))",
                  SL_CALL_ERROR, "(error object is a table value)");
    expect_value(sb, "the handler never called __tostring", "return tostring(called)", "nil");
    expect_killed(sb, "error(table with __name)", "error(setmetatable({}, {__name = 'Evil'}))",
                  SL_CALL_ERROR, "(error object is a table value)");
    expect_killed(sb, "error(nil)", "error()", SL_CALL_ERROR, "(error object is a nil value)");
    expect_killed(sb, "error(number) keeps the number", "error(42)", SL_CALL_ERROR, "42");
    expect_killed(sb, "runtime error carries file:line and a traceback",
                  "local t = nil\nreturn t.x", SL_CALL_ERROR, "attack:2: attempt to index");
    struct outcome o = attack(sb, "local t = nil\nreturn t.x");
    ok(has(o.msg, "stack traceback:"), "error message has a traceback");
    sl_sandbox_delete(sb);
}

static void test_wall_time_runaway_with_few_instructions(void)
{
    struct sl_sandbox_limits lim = test_limits();
    lim.instructions = 1000000000000L;
    lim.wall_ms = 100;
    struct sl_sandbox *sb = fresh(&lim);
    struct outcome o = attack(sb, "while true do local s = string.rep('x', 61440) end");
    is_int(o.status, SL_CALL_TIMEOUT, "60 KiB string.rep loop under a huge instruction budget");
    ok(has(o.msg, "wall-time budget exceeded"), "message says wall-time");
    ok(o.secs >= 0.1 && o.secs < 0.5, "stopped %.3f s after a 100 ms budget", o.secs);
    o = attack(sb, "local s = ('x'):rep(1 << 20) while true do local t = s .. 'y' end");
    is_int(o.status, SL_CALL_TIMEOUT, "1 MiB concatenation loop (one instruction each)");
    ok(o.secs < 0.5, "stopped %.3f s after a 100 ms budget", o.secs);
    o = attack(sb, "while true do end");
    is_int(o.status, SL_CALL_TIMEOUT, "pure loop under a huge instruction budget times out");
    o = attack(sb, "while true do pcall(function() while true do end end) end");
    is_int(o.status, SL_CALL_TIMEOUT, "a pcall loop cannot swallow the timeout either");
    ok(usable(sb), "state usable after timeouts (budget re-armed per call)");
    sl_sandbox_delete(sb);
}

static void test_table_functions_cannot_spin_in_c(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    const char *border = "local t = {} for k = 0, 40 do t[1 << k] = true end t[5] = true ";
    char src[512];
    expect_value(sb, "a 42-element table can claim #t = 2^40",
                 "local t = {} for k = 0, 40 do t[1 << k] = true end t[5] = true return #t",
                 "1099511627776");
    snprintf(src, sizeof src, "%s table.insert(t, 1, 0)", border);
    expect_killed(sb, "table.insert(t, 1, v) with #t = 2^40", src, SL_CALL_BUDGET,
                  "instruction budget");
    snprintf(src, sizeof src, "%s table.remove(t, 1)", border);
    expect_killed(sb, "table.remove(t, 1) with #t = 2^40", src, SL_CALL_BUDGET,
                  "instruction budget");
    expect_killed(sb, "table.move over 2^63 indices", "table.move({}, 1, math.maxinteger - 1, 2)",
                  SL_CALL_BUDGET, "instruction budget");
    expect_killed(sb, "table.insert with a lying __len",
                  "local t = setmetatable({}, {__len = function() return 1 << 50 end}) "
                  "table.insert(t, 1, 0)",
                  SL_CALL_BUDGET, "instruction budget");
    expect_value(sb, "plain tables still take the C paths",
                 "local t = {3, 1, 2} table.insert(t, 4) table.insert(t, 1, 0) "
                 "table.remove(t, 1) table.sort(t) table.move(t, 1, 2, 5) "
                 "return table.concat(t, ',') .. ' ' .. select('#', table.unpack(t))",
                 "1,2,3,4,1,2 6");
    expect_value(sb, "tables with metatables take the counted paths",
                 "local t = setmetatable({3, 1, 2}, {}) table.insert(t, 4) "
                 "table.insert(t, 1, 0) table.remove(t, 1) table.sort(t, function(a, b) "
                 "return a > b end) table.move(t, 1, 2, 5) "
                 "return table.concat(t, ',') .. ' ' .. select('#', table.unpack(t))",
                 "4,3,2,1,4,3 6");
    expect_killed(sb, "concat errors name the policy's line",
                  "local t = setmetatable({1, {}}, {})\nreturn table.concat(t)", SL_CALL_ERROR,
                  "attack:2: invalid value (table) at index 2 in table for 'concat'");
    expect_killed(sb, "argument errors keep the stock wording",
                  "return table.insert(setmetatable({}, {}), 5, 1)", SL_CALL_ERROR,
                  "bad argument #2 to 'insert' (position out of bounds)");
    sl_sandbox_delete(sb);
}

/* The stock sort of a table filling a 16 MiB cap runs 165 ms in one C call;
 * past 4096 elements the sandbox sorts with counted Lua code instead. */
static void test_large_sorts_are_counted(void)
{
    struct sl_sandbox_limits lim = test_limits();
    lim.instructions = 5000000;
    struct sl_sandbox *sb = fresh(&lim);
    struct outcome o = attack(sb, "t = {} for i = 1, 100000 do t[i] = (i * 7919) % 100003 end");
    is_int(o.status, SL_CALL_OK, "a 100k-element table is built");
    o = attack(sb, "table.sort(t)");
    is_int(o.status, SL_CALL_BUDGET, "sorting it runs out of instructions instead of stalling");
    static const char check[] = "local function sorted(t, lt) for i = 2, #t do "
                                "if lt(t[i], t[i - 1]) then return false end end return true end "
                                "local function mk(n) local t = {} for i = 1, n do "
                                "t[i] = (i * 7919) % 5003 end return t end ";
    char src[1024];
    snprintf(src, sizeof src,
             "%s local a = mk(5000) table.sort(a) "
             "local b = mk(5000) table.sort(b, function(x, y) return x > y end) "
             "local c = setmetatable(mk(300), {}) table.sort(c) "
             "local d = mk(100) table.sort(d) "
             "return tostring(sorted(a, function(x, y) return x < y end) and "
             "sorted(b, function(x, y) return x > y end) and #a == 5000 and "
             "sorted(c, function(x, y) return x < y end) and "
             "sorted(d, function(x, y) return x < y end))",
             check);
    expect_value(sb, "heapsort and the stock sort both sort (asc, desc, metatable)", src, "true");
    expect_killed(sb, "heapsort with a nil hole reports the comparison",
                  "local t = {} for i = 1, 5000 do t[i] = i end t[2500] = nil "
                  "table.sort(t, nil) ",
                  SL_CALL_ERROR, "attempt to compare");
    sl_sandbox_delete(sb);
}

/* Each access through an __index chain walks up to 2000 tables in C inside one
 * instruction. In a Lua loop the hook still runs every 100 instructions; the
 * stock concat/unpack would walk 100k x 1900 tables (seconds) in one C call. */
static void test_index_chains_stay_interruptible(void)
{
    struct sl_sandbox_limits lim = test_limits();
    lim.instructions = 1000000000000L;
    lim.wall_ms = 100;
    lim.memory_bytes = 16u << 20;
    struct sl_sandbox *sb = fresh(&lim);
    static const char chain[] = "local last = {} for i = 1, 100000 do last[i] = 'x' end "
                                "local t = last for i = 1, 1900 do "
                                "t = setmetatable({}, {__index = t}) end ";
    char src[512];
    snprintf(src, sizeof src, "%s return #table.concat(t, '', 1, 100000)", chain);
    struct outcome o = attack(sb, src);
    is_int(o.status, SL_CALL_TIMEOUT, "table.concat through a 1900-table __index chain");
    ok(o.secs < 0.5, "...stopped %.3f s after a 100 ms budget", o.secs);
    snprintf(src, sizeof src, "%s return select('#', table.unpack(t, 1, 100000))", chain);
    o = attack(sb, src);
    is_int(o.status, SL_CALL_TIMEOUT, "table.unpack through a 1900-table __index chain");
    ok(o.secs < 0.5, "...stopped %.3f s after a 100 ms budget", o.secs);
    snprintf(src, sizeof src,
             "%s table.sort(setmetatable({}, {__index = t, __len = function() "
             "return 100000 end}))",
             chain);
    o = attack(sb, src);
    is_int(o.status, SL_CALL_TIMEOUT, "table.sort through a 1900-table __index chain");
    ok(o.secs < 0.5, "...stopped %.3f s after a 100 ms budget", o.secs);
    sl_sandbox_delete(sb);
}

/* nap(ms): a host binding that sleeps without allocating. */
static int nap(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
}

/* The hook runs every 100 instructions; these chunks pass the deadline inside
 * a C call and then run fewer than 100 more, so only the other checks can
 * notice: a big allocation, and the deadline check after pattern calls. */
static void test_deadline_noticed_between_hook_calls(void)
{
    struct sl_sandbox_limits lim = test_limits();
    lim.wall_ms = 100;
    struct sl_sandbox *sb = fresh(&lim);
    lua_State *L = sl_sandbox_state(sb);
    lua_pushcfunction(L, nap);
    lua_setglobal(L, "nap");
    struct outcome o = attack(sb, "nap(150) done = true return 'finished'");
    is_str(o.val, "finished", "control: the count hook alone does not see a passed deadline");
    o = attack(sb, "local s = ('x'):rep(4096) nap(150) local t = s .. s return 'finished'");
    is_int(o.status, SL_CALL_TIMEOUT, "an 8 KiB allocation after the deadline stops the call");
    o = attack(sb, "nap(150) local i = ('abc'):find('b') return 'finished'");
    is_int(o.status, SL_CALL_TIMEOUT, "a pattern call after the deadline stops the call");
    o = attack(sb, "nap(150) local f = load('return 1') return 'finished'");
    is_int(o.status, SL_CALL_TIMEOUT, "load() after the deadline stops the call");
    o = attack(sb, "nap(150) local v = 0 for w in ('a b'):gmatch('%a') do v = v + 1 end "
                   "return 'finished'");
    is_int(o.status, SL_CALL_TIMEOUT, "a gmatch step after the deadline stops the call");
    sl_sandbox_delete(sb);
}

/* Argument errors and tracebacks look function names up in _LOADED; with _G
 * there, every error would walk all of a policy's globals in C. */
static void test_error_names_do_not_walk_globals(void)
{
    struct sl_sandbox_limits lim = test_limits();
    lim.memory_bytes = 32u << 20;
    struct sl_sandbox *sb = fresh(&lim);
    struct outcome o = attack(sb, "for i = 1, 100000 do _G['g' .. i] = i end "
                                  "for i = 1, 5000 do pcall(string.rep) end return 'done'");
    is_str(o.val, "done", "5000 argument errors with 100k globals");
    ok(o.secs < 3.0, "...take %.3f s, not a walk over _G each", o.secs);
    sl_sandbox_delete(sb);
}

/* A host binding that re-enters the gateway: nested calls share the budget. */
static int again(lua_State *L)
{
    struct sl_sandbox *sb = lua_touserdata(L, lua_upvalueindex(1));
    struct sl_err err;
    lua_settop(L, 1);
    if (sl_sandbox_call(sb, 0, 0, &err) != SL_CALL_OK)
        return luaL_error(L, "%s", err.msg);
    return 0;
}

static void test_nested_gateway_calls_share_the_budget(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    lua_State *L = sl_sandbox_state(sb);
    lua_pushlightuserdata(L, sb);
    lua_pushcclosure(L, again, 1);
    lua_setglobal(L, "again");
    expect_killed(sb, "a loop of host callbacks cannot refill its budget",
                  "while true do again(function() for i = 1, 10 do end end) end", SL_CALL_BUDGET,
                  "instruction budget");
    expect_killed(sb, "a loop inside a host callback is killed",
                  "again(function() while true do end end)", SL_CALL_BUDGET, "instruction budget");
    sl_sandbox_delete(sb);
}

/* ---- the gateway itself --------------------------------------------------------- */

static void test_gateway_contract(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_sandbox *sb = fresh(&lim);
    lua_State *L = sl_sandbox_state(sb);
    struct sl_err err = {0};
    struct outcome o = attack(sb, "x = = 1");
    is_int(o.status, SL_CALL_ERROR, "syntax error is SL_CALL_ERROR");
    ok(has(o.msg, "attack:1:"), "syntax error has chunk:line");
    ok(o.stack_ok, "syntax error leaves the stack as it was");

    attack(sb, "function add(a, b) return a + b end");
    lua_pushinteger(L, 7); /* something of the host's below */
    lua_getglobal(L, "add");
    lua_pushinteger(L, 40);
    lua_pushinteger(L, 2);
    int st = sl_sandbox_call(sb, 2, 1, &err);
    is_int(st, SL_CALL_OK, "sl_sandbox_call runs a function");
    is_int(lua_tointeger(L, -1), 42, "its result replaces function and arguments");
    is_int(lua_gettop(L), 2, "nothing else is left on the stack");
    lua_settop(L, 1);
    lua_getglobal(L, "add");
    lua_pushinteger(L, 1);
    lua_newtable(L);
    st = sl_sandbox_call(sb, 2, 1, &err);
    is_int(st, SL_CALL_ERROR, "a failing call returns SL_CALL_ERROR");
    is_int(lua_gettop(L), 1, "on error the stack is as before the function was pushed");
    is_int(lua_tointeger(L, 1), 7, "the host's value below is untouched");
    lua_settop(L, 0);
    expect_value(sb, "warn() is harmless and silent", "warn('@on') warn('x') return 1", "1");
    sl_sandbox_delete(sb);
    sl_sandbox_delete(NULL);
    ok(1, "sl_sandbox_delete(NULL) does nothing");
}

static void test_limits_validated(void)
{
    struct sl_err err = {0};
    struct sl_sandbox_limits lim = test_limits();
    lim.instructions = 0;
    ok(sl_sandbox_new(&lim, &err) == NULL && err.code == SL_EINVAL,
       "zero instruction budget refused");
    lim = test_limits();
    lim.wall_ms = 0;
    ok(sl_sandbox_new(&lim, &err) == NULL && err.code == SL_EINVAL, "zero wall budget refused");
    lim = test_limits();
    lim.memory_bytes = 4096;
    ok(sl_sandbox_new(&lim, &err) == NULL && err.code == SL_ENOMEM,
       "a cap too small for the libraries fails cleanly: %s", err.msg);
    struct sl_sandbox *sb = sl_sandbox_new(NULL, &err);
    ok(sb != NULL, "NULL limits mean the defaults");
    ok(sb && sl_sandbox_memory(sb) < 64u << 10, "a fresh sandbox is small (%zu bytes)",
       sb ? sl_sandbox_memory(sb) : 0);
    sl_sandbox_delete(sb);
}

int main(void)
{
    RUN(test_forbidden_globals_unreachable);
    RUN(test_string_dump_unreachable);
    RUN(test_string_metatable_locked);
    RUN(test_string_table_changes_stay_in_their_state);
    RUN(test_binary_chunks_refused);
    RUN(test_gc_metamethod_refused);
    RUN(test_gc_added_later_never_runs);
    RUN(test_loops_killed_by_instruction_budget);
    RUN(test_pcall_cannot_swallow_the_kill);
    RUN(test_xpcall_handler_runs_hooked);
    RUN(test_close_metamethod_runs_hooked);
    RUN(test_metamethods_and_callbacks_are_counted);
    RUN(test_memory_bombs_stop_at_the_cap);
    RUN(test_memory_pinned_at_the_cap);
    RUN(test_string_rep_huge_counts);
    RUN(test_pattern_backtracking_refused);
    RUN(test_deep_recursion_is_an_error);
    RUN(test_error_objects_not_stringified_by_handler);
    RUN(test_wall_time_runaway_with_few_instructions);
    RUN(test_table_functions_cannot_spin_in_c);
    RUN(test_large_sorts_are_counted);
    RUN(test_index_chains_stay_interruptible);
    RUN(test_deadline_noticed_between_hook_calls);
    RUN(test_error_names_do_not_walk_globals);
    RUN(test_nested_gateway_calls_share_the_budget);
    RUN(test_gateway_contract);
    RUN(test_limits_validated);
    return tap_done();
}
