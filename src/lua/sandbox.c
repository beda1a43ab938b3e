/* sandbox.c - one sandboxed Lua state per loaded policy version (see sandbox.h).
 *
 * What is closed, and how (lua-embedding.md §1.2-§1.8; each has a named test
 * in tests/c/test_lua_sandbox.c):
 *
 * - Libraries: only base, string, table, math, utf8 are opened, then the
 *   global and string tables are cut down to allow-lists. io, os, debug,
 *   package/require, coroutine are never opened; dofile, loadfile,
 *   collectgarbage, print and string.dump (removed from the real string
 *   table, so ("").dump is nil too) are dropped. warn stays but goes nowhere
 *   (no warn function is installed). registry._LOADED is emptied so that
 *   tracebacks and argument errors never walk policy-sized tables.
 * - load: text only ("t"), strings only, at most SL_LOAD_MAX bytes.
 * - String metatable: __metatable = "locked"; getmetatable("") is a string.
 * - __gc: setmetatable refuses a metatable holding __gc. Adding __gc to the
 *   metatable afterwards (plain assignment or rawset) marks nothing: Lua only
 *   marks an object for finalization when setmetatable sees __gc. So no Lua
 *   finalizer can run, in a GC step or in lua_close (they run with hooks off).
 * - xpcall: replaced; the handler runs after unwinding, as ordinary hooked code
 *   (a native handler runs with the count hook unable to stop it).
 * - Coroutines: the library is not opened and nothing else creates threads,
 *   so the hole "a coroutine created before the hook was set" cannot occur.
 * - CPU: a count hook (every SL_HOOK_COUNT instructions) is installed right
 *   after lua_newstate, before any Lua code, and never removed. Each outermost
 *   sl_sandbox_call re-arms an instruction budget and a CLOCK_MONOTONIC
 *   deadline. On exhaustion the hook raises and switches itself to count=1,
 *   so every later instruction raises again and no pcall loop can swallow
 *   the kill. The status comes from a flag the hook sets, never from the
 *   message.
 * - Long single C calls (the hook cannot preempt C):
 *   - patterns: find/match/gmatch/gsub check pattern and subject length AND an
 *     upper bound on the backtracking work of Lua's matcher (sb_pat_cost); a
 *     72-byte pattern can backtrack for minutes, so length alone is not enough.
 *   - string.rep("", huge): answered without entering the C loop.
 *   - table.insert/remove/move/concat/unpack/sort: run in C only on plain
 *     tables (no metatable) and bounded ranges (sort: 4096 elements);
 *     otherwise their element loops run as Lua code (SB_TABLE_LUA), which the
 *     hook counts. __index chains
 *     (up to 2000 tables per access) and crafted borders (#t = 2^40 with 41
 *     elements) would otherwise spin in C.
 *   - Every wrapper above checks the deadline after the C call returns, and an
 *     allocation of SL_BIG_ALLOC bytes or more past the deadline switches the
 *     hook to count=1, so data-heavy loops stop at the next instruction.
 * - Memory: the allocator refuses growth past the cap (shrinking is always
 *   allowed); Lua raises LUA_ERRMEM and the state stays usable. Blocks of up
 *   to 256 bytes come from the state's pool (pool.h), which keeps freed ones
 *   on a list per size until the state closes; the cap bounds what the state
 *   holds, large blocks plus the pool's chunks, so churning through sizes
 *   cannot make the process hold more than the cap (plus one chunk).
 * - The traceback handler never calls metamethods (__tostring of an error
 *   object is not run) and "error in error handling" is kept interned, so no
 *   error path has to allocate outside a protected call.
 *
 * Residual costs that are bounded but not preemptible: one C call or one
 * instruction over data that fits in the memory cap (an 8 MiB concatenation,
 * 3.4 ms; a pattern call at the work bound, ~12 ms; comparing long strings)
 * and up to SL_HOOK_COUNT instructions after the deadline. */
#include "sandbox.h"

#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"

/* Instructions between hook calls. Any count hook makes the VM trap on every
 * instruction; 100 keeps our C hook cheap (measured ~1.3x on a tight loop
 * against ~2.7x for 10) while bounding the overrun after a deadline. */
#define SL_HOOK_COUNT 100
/* Allocations at least this large check the deadline (big data work). */
#define SL_BIG_ALLOC 4096
/* Upper bound on the estimated steps of one pattern call; measured at
 * 0.7-1.3 ns per step, so about 10 ms. */
#define SL_PATTERN_WORK 1e7
/* Largest chunk text load() compiles (parsing is not preemptible). */
#define SL_LOAD_MAX (256 * 1024)
/* Plain-table length up to which insert/remove/move loop in C. */
#define SL_TABLE_FAST_MAX (1 << 16)
/* ... and up to which table.sort runs in C (about 1 ms for numbers). */
#define SL_SORT_FAST_MAX (1 << 12)

struct sl_sandbox {
    lua_State *L;
    struct sl_sandbox_limits lim;
    size_t used, peak;   /* bytes Lua holds (as it asked for them) */
    size_t malloced;     /* of which in blocks from malloc (above SL_POOL_MAX) */
    struct sl_pool pool; /* the small ones (pool.h); the cap bounds malloced + pool.held */
    bool pooled;         /* whether the pool is used (not under ASan) */
    long budget;         /* instructions left in the current call */
    double deadline;     /* CLOCK_MONOTONIC seconds */
    int killed;          /* 0, SL_CALL_BUDGET or SL_CALL_TIMEOUT: set by the hook */
    int depth;           /* nesting of sl_sandbox_call; the outermost arms */
    char killmsg[96];
};

static char sb_errerr_key; /* registry key: the interned "error in error handling" */

void sl_sandbox_limits_default(struct sl_sandbox_limits *lim)
{
    lim->memory_bytes = 16u << 20;
    lim->instructions = 10000000;
    lim->wall_ms = 50;
    lim->pattern_bytes = 256;
    lim->subject_bytes = 65536;
}

static double sb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct sl_sandbox *sb_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* ---- budget: the count hook and the kill switch -------------------------------- */

static void sb_hook(lua_State *L, lua_Debug *ar);

static void sb_kill(struct sl_sandbox *sb, int why)
{
    sb->killed = why;
    if (why == SL_CALL_BUDGET)
        snprintf(sb->killmsg, sizeof sb->killmsg, "instruction budget exceeded (%ld instructions)",
                 sb->lim.instructions);
    else
        snprintf(sb->killmsg, sizeof sb->killmsg, "wall-time budget exceeded (%g ms)",
                 sb->lim.wall_ms);
    /* From now on every instruction raises: a pcall that catches one error
     * runs into the next at its very next instruction. */
    lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, 1);
}

/* Charge one hook period and check the clock; true once the call is killed. */
static bool sb_over(struct sl_sandbox *sb)
{
    if (sb->killed)
        return true;
    sb->budget -= SL_HOOK_COUNT;
    if (sb_now() >= sb->deadline)
        sb_kill(sb, SL_CALL_TIMEOUT);
    else if (sb->budget <= 0)
        sb_kill(sb, SL_CALL_BUDGET);
    return sb->killed != 0;
}

/* May raise. The position is the interrupted function's own line (level 0),
 * not its caller's, hence no luaL_error. */
static void sb_hook(lua_State *L, lua_Debug *ar)
{
    struct sl_sandbox *sb = sb_of(L);
    if (!sb_over(sb))
        return;
    lua_getinfo(L, "Sl", ar);
    if (ar->currentline > 0)
        lua_pushfstring(L, "%s:%d: %s", ar->short_src, ar->currentline, sb->killmsg);
    else
        lua_pushfstring(L, "%s: %s", ar->short_src, sb->killmsg);
    lua_error(L);
}

/* After a C call the hook could not interrupt. May raise. */
static void sb_check_deadline(lua_State *L)
{
    struct sl_sandbox *sb = sb_of(L);
    if (sb->depth == 0)
        return;
    if (!sb->killed && sb_now() >= sb->deadline)
        sb_kill(sb, SL_CALL_TIMEOUT);
    if (sb->killed)
        luaL_error(L, "%s", sb->killmsg);
}

static void sb_arm(struct sl_sandbox *sb)
{
    sb->killed = 0;
    sb->budget = sb->lim.instructions;
    sb->deadline = sb_now() + sb->lim.wall_ms / 1000.0;
    lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, SL_HOOK_COUNT);
}

/* ---- memory: the capped allocator ---------------------------------------------- */

/* Blocks of up to SL_POOL_MAX bytes come from the state's pool, larger ones
 * from malloc; Lua gives a block's size back with it, so the size says where
 * a block came from. */
static bool sb_pooled(const struct sl_sandbox *sb, size_t size)
{
    return sb->pooled && size <= SL_POOL_MAX;
}

/* What the state holds from the system: its large blocks and the pool's
 * chunks, free blocks included (a free list serves its own size only). */
static size_t sb_held(const struct sl_sandbox *sb)
{
    return sb->malloced + sb->pool.held;
}

static void sb_release(struct sl_sandbox *sb, void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    if (sb_pooled(sb, size)) {
        sl_pool_free(&sb->pool, ptr, size);
    } else {
        free(ptr);
        sb->malloced -= size;
    }
}

/* The cap bounds what the state holds, not only what Lua asked for: else
 * the pool's free lists, one per size class, could each grow to the cap.
 * Growth past it is refused. A shrink may still take a new chunk (Lua
 * assumes a shrink never fails; it frees a larger block, so at most one
 * chunk goes over). */
static void *sb_resize(struct sl_sandbox *sb, void *ptr, size_t osize, size_t nsize)
{
    bool from = ptr && sb_pooled(sb, osize), to = sb_pooled(sb, nsize);
    bool shrink = ptr && nsize <= osize;
    size_t held = sb_held(sb), cap = sb->lim.memory_bytes, room = held < cap ? cap - held : 0;
    if (!from && !to) {
        size_t old = ptr ? osize : 0;
        if (nsize > old && nsize - old > room)
            return NULL;
        void *np = realloc(ptr, nsize);
        if (np)
            sb->malloced = sb->malloced - old + nsize;
        return np;
    }
    if (from && to && sl_pool_same_class(osize, nsize))
        return ptr;
    void *np = to              ? sl_pool_alloc(&sb->pool, nsize, shrink || room >= SL_POOL_CHUNK)
               : nsize <= room ? malloc(nsize)
                               : NULL;
    if (np == NULL && shrink) {
        /* malloc itself failed. The block stays: it holds nsize bytes, and
         * freed as nsize it joins that class's list (a malloc'd one then
         * belongs to the pool and is not given back when the state closes:
         * a leak of one block, when the process is out of memory). */
        if (!from)
            sb->malloced -= osize;
        return ptr;
    }
    if (np && !to)
        sb->malloced += nsize;
    if (np && ptr) {
        memcpy(np, ptr, osize < nsize ? osize : nsize);
        sb_release(sb, ptr, osize);
    }
    return np;
}

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct sl_sandbox *sb = ud;
    if (ptr == NULL)
        osize = 0; /* then osize is an object-type tag, not a size */
    if (nsize == 0) {
        sb_release(sb, ptr, osize);
        sb->used -= osize;
        return NULL;
    }
    void *np = sb_resize(sb, ptr, osize, nsize); /* refuses growth past the cap */
    if (np == NULL)
        return NULL;
    sb->used = sb->used - osize + nsize;
    if (sb->used > sb->peak)
        sb->peak = sb->used;
    /* Big allocations mean big work inside one instruction: past the
     * deadline, make the very next instruction call the hook. lua_sethook is
     * safe to call from anywhere (it is meant for signal handlers). */
    if (nsize >= SL_BIG_ALLOC && sb->depth > 0 && !sb->killed && sb_now() >= sb->deadline)
        lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, 1);
    return np;
}

/* ---- the gateway ---------------------------------------------------------------- */

/* Message handler: never runs metamethods (an error object's __tostring is
 * untrusted code), so only strings and numbers are shown as text. */
static int sb_msgh(lua_State *L)
{
    const char *msg;
    int t = lua_type(L, 1);
    if (t == LUA_TSTRING || t == LUA_TNUMBER)
        msg = lua_tostring(L, 1);
    else
        msg = lua_pushfstring(L, "(error object is a %s value)", lua_typename(L, t));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int sb_status(const struct sl_sandbox *sb, int st)
{
    if (sb->killed)
        return sb->killed;
    if (st == LUA_OK)
        return SL_CALL_OK;
    return st == LUA_ERRMEM ? SL_CALL_MEMORY : SL_CALL_ERROR;
}

/* Fill err for a failed call whose error object (if st != LUA_OK) is on top.
 * A kill can also end in LUA_OK (a pcall result returned in tail position),
 * hence the fallback to the hook's message. Only reads strings: converting a
 * number here could allocate outside a protected call. */
static void sb_seterr(const struct sl_sandbox *sb, int status, int st, struct sl_err *err)
{
    const char *msg = sb->killed ? sb->killmsg : "(no error message)";
    if (st != LUA_OK && lua_type(sb->L, -1) == LUA_TSTRING)
        msg = lua_tostring(sb->L, -1);
    if (status == SL_CALL_MEMORY)
        sl_err_set(err, SL_ENOMEM, "%s", msg);
    else
        sl_err_set(err, status == SL_CALL_ERROR ? SL_EINVAL : SL_ELIMIT, "%s", msg);
}

int sl_sandbox_call(struct sl_sandbox *sb, int nargs, int nresults, struct sl_err *err)
{
    lua_State *L = sb->L;
    int fn = lua_gettop(L) - nargs;
    if (!lua_checkstack(L, 2)) {
        lua_settop(L, fn - 1);
        sl_err_set(err, SL_ENOMEM, "Lua stack overflow");
        return SL_CALL_MEMORY;
    }
    lua_pushcfunction(L, sb_msgh);
    lua_insert(L, fn);
    if (sb->depth++ == 0)
        sb_arm(sb); /* nested calls (host callbacks) share the outer budget */
    int st = lua_pcall(L, nargs, nresults, fn);
    sb->depth--;
    int status = sb_status(sb, st);
    if (status == SL_CALL_OK) {
        lua_remove(L, fn);
        return SL_CALL_OK;
    }
    sb_seterr(sb, status, st, err);
    lua_settop(L, fn - 1);
    return status;
}

int sl_sandbox_run(struct sl_sandbox *sb, const char *src, size_t len, const char *name,
                   int nresults, struct sl_err *err)
{
    lua_State *L = sb->L;
    if (!lua_checkstack(L, 3)) {
        sl_err_set(err, SL_ENOMEM, "Lua stack overflow");
        return SL_CALL_MEMORY;
    }
    int st = luaL_loadbufferx(L, src, len, name, "t"); /* never bytecode */
    if (st == LUA_OK)
        return sl_sandbox_call(sb, 0, nresults, err);
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "load failed";
    sl_err_set(err, st == LUA_ERRMEM ? SL_ENOMEM : SL_EINVAL, "%s", msg);
    lua_pop(L, 1);
    return st == LUA_ERRMEM ? SL_CALL_MEMORY : SL_CALL_ERROR;
}

/* ---- replaced base functions ----------------------------------------------------- */

/* load(chunk [, chunkname [, mode [, env]]]): strings only, text only. */
static int sb_load(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, s);
    const char *mode = luaL_optstring(L, 3, "bt");
    int env = !lua_isnone(L, 4) ? 4 : 0;
    const char *why = NULL;
    if (strchr(mode, 't') == NULL)
        why = "binary chunks are not allowed in the sandbox";
    else if (len > SL_LOAD_MAX)
        why = "chunk too large for the sandbox";
    else if (luaL_loadbufferx(L, s, len, name, "t") != LUA_OK)
        why = lua_tostring(L, -1);
    if (why) {
        luaL_pushfail(L);
        lua_pushstring(L, why);
        return 2;
    }
    if (env != 0) { /* set env as the chunk's first upvalue (_ENV) */
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    sb_check_deadline(L);
    return 1;
}

/* xpcall(f, msgh, ...): pcall, then the handler on the error object after
 * unwinding, so the handler runs as ordinary hooked code. */
static int sb_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    lua_insert(L, 3); /* STACK: f, msgh, f, args... */
    if (lua_pcall(L, n - 2, LUA_MULTRET, 0) == LUA_OK) {
        lua_pushboolean(L, 1);
        lua_replace(L, 2); /* STACK: f, true, results... */
        return lua_gettop(L) - 1;
    }
    lua_pushvalue(L, 2);
    lua_insert(L, -2); /* STACK: f, msgh, msgh, err */
    lua_pcall(L, 1, 1, 0);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

/* setmetatable(t, mt): the stock checks, plus: mt must not hold __gc. */
static int sb_setmetatable(lua_State *L)
{
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "__gc metamethods are not allowed in the sandbox");
    }
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* ---- string functions: pattern cost, rep ------------------------------------------ */

/* What Lua's backtracking matcher can do with a pattern (lstrlib.c match). */
struct sb_pat {
    int stars;  /* items quantified by * + - that have more pattern after them */
    int opts;   /* items quantified by ? that have more pattern after them */
    int linear; /* %b, back-references, a trailing quantifier: O(n) per path */
};

/* End of the single-character class at p[i] (lstrlib's classEnd), tolerant of
 * malformed patterns: the matcher raises on those itself. */
static size_t sb_class_end(const char *p, size_t i, size_t m)
{
    if (p[i] == '%')
        return i + 2 < m ? i + 2 : m;
    if (p[i] != '[')
        return i + 1;
    if (++i < m && p[i] == '^')
        i++;
    do {
        if (i >= m)
            return m;
        if (p[i++] == '%' && i < m)
            i++;
    } while (i < m && p[i] != ']');
    return i < m ? i + 1 : m;
}

/* Length of the item at p[i] that is never quantified (captures, %b, %f,
 * back-references, a final $), or 0 for a single-character item. */
static size_t sb_fixed_item(const char *p, size_t i, size_t m, struct sb_pat *pt)
{
    if (p[i] == '(' || p[i] == ')' || (p[i] == '$' && i + 1 == m))
        return 1;
    if (p[i] != '%' || i + 1 >= m)
        return 0;
    if (p[i + 1] == 'b') {
        pt->linear++;
        return i + 4 <= m ? 4 : m - i;
    }
    if (p[i + 1] == 'f')
        return i + 2 < m ? sb_class_end(p, i + 2, m) - i : m - i;
    if (p[i + 1] >= '0' && p[i + 1] <= '9') {
        pt->linear++;
        return 2;
    }
    return 0;
}

/* Count the quantified items. A quantifier followed only by ')' never
 * backtracks (its first expansion completes the match): it costs one scan. */
static void sb_pat_scan(const char *p, size_t m, struct sb_pat *pt)
{
    size_t i = 0, last_end = 0;
    int *last = NULL;
    while (i < m) {
        size_t fixed = sb_fixed_item(p, i, m, pt);
        if (fixed) {
            i += fixed;
            continue;
        }
        i = sb_class_end(p, i, m);
        if (i < m && (p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?')) {
            last = p[i] == '?' ? &pt->opts : &pt->stars;
            (*last)++;
            last_end = ++i;
        }
    }
    while (last && last_end < m && p[last_end] == ')')
        last_end++;
    if (last && last_end == m) {
        (*last)--;
        pt->linear++;
    }
}

/* Upper bound on the matcher's steps over an n-byte subject: each path fixes
 * one expansion length per quantified item (C(n+k, k) ways, 2 per '?'), an
 * unanchored search adds the start position as one more item, and a path
 * costs the pattern length plus n per linear item. Measured: 0.7-1.3 ns/step. */
static double sb_pat_cost(const char *p, size_t m, size_t n, bool anchored)
{
    struct sb_pat pt = {0, 0, 0};
    sb_pat_scan(p, m, &pt);
    int k = pt.stars + (anchored ? 0 : 1);
    double paths = ldexp(1.0, pt.opts < 200 ? pt.opts : 200);
    for (int i = 1; i <= k && paths <= SL_PATTERN_WORK; i++)
        paths = paths * ((double)n + i) / i;
    return paths * ((double)m + 1 + (double)pt.linear * (double)n);
}

static bool sb_has_specials(const char *p, size_t m)
{
    for (const char *s = "^$*+?.([%-"; *s; s++)
        if (memchr(p, *s, m))
            return true;
    return false;
}

enum { SB_FIND = 0, SB_MATCH, SB_GMATCH, SB_GSUB };

/* Raise unless the pattern call is cheap enough to run uninterrupted. */
static void sb_check_pattern(lua_State *L, int op)
{
    const struct sl_sandbox *sb = sb_of(L);
    size_t n, m;
    luaL_checklstring(L, 1, &n);
    const char *p = luaL_checklstring(L, 2, &m);
    if (m > sb->lim.pattern_bytes)
        luaL_error(L, "pattern too long for the sandbox (%I bytes > %I)", (lua_Integer)m,
                   (lua_Integer)sb->lim.pattern_bytes);
    if (n > sb->lim.subject_bytes)
        luaL_error(L, "subject too long for a pattern in the sandbox (%I bytes > %I)",
                   (lua_Integer)n, (lua_Integer)sb->lim.subject_bytes);
    if (op == SB_FIND && (lua_toboolean(L, 4) || !sb_has_specials(p, m)))
        return; /* plain search: length limits bound it */
    bool anchored = op != SB_GMATCH && m > 0 && p[0] == '^';
    if (anchored) {
        p++;
        m--;
    }
    if (sb_pat_cost(p, m, n, anchored) > SL_PATTERN_WORK)
        luaL_error(L, "pattern too complex for a %I-byte subject in the sandbox", (lua_Integer)n);
}

/* Run the stock C function (upvalue 1) on this very frame, so its argument
 * errors name the caller's line and the function as the caller wrote it. */
static int sb_call_stock(lua_State *L)
{
    lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(1));
    int nres = f(L);
    sb_check_deadline(L);
    return nres;
}

static int sb_str_find(lua_State *L)
{
    sb_check_pattern(L, SB_FIND);
    return sb_call_stock(L);
}

static int sb_str_match(lua_State *L)
{
    sb_check_pattern(L, SB_MATCH);
    return sb_call_stock(L);
}

static int sb_str_gsub(lua_State *L)
{
    sb_check_pattern(L, SB_GSUB);
    return sb_call_stock(L);
}

/* The gmatch iterator (upvalue 1) with the deadline checked after each step. */
static int sb_gmatch_step(lua_State *L)
{
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, LUA_MULTRET);
    sb_check_deadline(L);
    return lua_gettop(L);
}

static int sb_str_gmatch(lua_State *L)
{
    sb_check_pattern(L, SB_GMATCH);
    sb_call_stock(L);
    lua_pushcclosure(L, sb_gmatch_step, 1);
    return 1;
}

/* string.rep(s, n [, sep]): the stock loop runs n times even when s and sep
 * are empty (string.rep("", math.maxinteger) never returns). */
static int sb_str_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0 && l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return sb_call_stock(L);
}

/* ---- table functions: C on plain tables, Lua loops otherwise --------------------- */

/* Element loops as Lua code (counted by the hook). Called from the C wrappers
 * below with validated arguments; level 3 errors blame the policy's line. */
static const char SB_TABLE_LUA[] =
    "local type, error, format = type, error, string.format\n"
    "local H = {}\n"
    "function H.shift_up(t, e, pos) for i = e, pos + 1, -1 do t[i] = t[i - 1] end end\n"
    "function H.shift_down(t, pos, size)\n"
    "  while pos < size do t[pos] = t[pos + 1]; pos = pos + 1 end\n"
    "  return pos\n"
    "end\n"
    "function H.move(a1, f, e, t, a2, back)\n"
    "  if back then for i = e - f, 0, -1 do a2[t + i] = a1[f + i] end\n"
    "  else for i = 0, e - f do a2[t + i] = a1[f + i] end end\n"
    "end\n"
    "function H.collect(t, i, j, strict)\n"
    "  local buf, n = {}, 0\n"
    "  for k = i, j do\n"
    "    local v = t[k]\n"
    "    if strict and type(v) ~= 'string' and type(v) ~= 'number' then\n"
    "      error(format(\"invalid value (%s) at index %d in table for 'concat'\", type(v), k), 3)\n"
    "    end\n"
    "    n = n + 1; buf[n] = v\n"
    "  end\n"
    "  return buf\n"
    "end\n"
    "local function less(a, b) return a < b end\n"
    "function H.heapsort(t, n, lt)\n"
    "  lt = lt or less\n"
    "  local function sift(i, m)\n"
    "    local v = t[i]\n"
    "    while 2 * i <= m do\n"
    "      local c = 2 * i\n"
    "      if c < m and lt(t[c], t[c + 1]) then c = c + 1 end\n"
    "      if not lt(v, t[c]) then break end\n"
    "      t[i] = t[c]; i = c\n"
    "    end\n"
    "    t[i] = v\n"
    "  end\n"
    "  for i = n // 2, 1, -1 do sift(i, n) end\n"
    "  for m = n, 2, -1 do t[1], t[m] = t[m], t[1]; sift(1, m - 1) end\n"
    "end\n"
    "return H\n";

#define SB_TAB_R 1
#define SB_TAB_W 2
#define SB_TAB_L 4

static bool sb_plain(lua_State *L, int i)
{
    if (lua_type(L, i) != LUA_TTABLE)
        return false;
    if (!lua_getmetatable(L, i))
        return true;
    lua_pop(L, 1);
    return false;
}

static int sb_has_metafield(lua_State *L, const char *key, int n)
{
    lua_pushstring(L, key);
    return lua_rawget(L, -n) != LUA_TNIL;
}

/* ltablib's checktab: a table, or anything with the needed metamethods. */
static void sb_checktab(lua_State *L, int arg, int what)
{
    int n = 1;
    if (lua_type(L, arg) == LUA_TTABLE)
        return;
    if (lua_getmetatable(L, arg) && (!(what & SB_TAB_R) || sb_has_metafield(L, "__index", ++n)) &&
        (!(what & SB_TAB_W) || sb_has_metafield(L, "__newindex", ++n)) &&
        (!(what & SB_TAB_L) || sb_has_metafield(L, "__len", ++n)))
        lua_pop(L, n);
    else
        luaL_checktype(L, arg, LUA_TTABLE);
}

/* Call the Lua helper `name` (in upvalue 2) with nargs values on top. */
static void sb_helper(lua_State *L, const char *name, int nargs, int nres)
{
    lua_getfield(L, lua_upvalueindex(2), name);
    lua_insert(L, -nargs - 1);
    lua_call(L, nargs, nres);
}

static lua_Integer sb_len(lua_State *L, int what)
{
    sb_checktab(L, 1, what | SB_TAB_L);
    return luaL_len(L, 1);
}

/* table.insert(t, [pos,] v) */
static int sb_tab_insert(lua_State *L)
{
    int nargs = lua_gettop(L);
    if (sb_plain(L, 1) && lua_rawlen(L, 1) < SL_TABLE_FAST_MAX)
        return sb_call_stock(L);
    lua_Integer e = luaL_intop(+, sb_len(L, SB_TAB_R | SB_TAB_W), 1);
    if (nargs == 2) {
        lua_seti(L, 1, e);
        return 0;
    }
    if (nargs != 3)
        return luaL_error(L, "wrong number of arguments to 'insert'");
    lua_Integer pos = luaL_checkinteger(L, 2);
    luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
    lua_pushvalue(L, 1);
    lua_pushinteger(L, e);
    lua_pushinteger(L, pos);
    sb_helper(L, "shift_up", 3, 0);
    lua_seti(L, 1, pos); /* t[pos] = v */
    return 0;
}

/* table.remove(t [, pos]) */
static int sb_tab_remove(lua_State *L)
{
    if (sb_plain(L, 1) && lua_rawlen(L, 1) < SL_TABLE_FAST_MAX)
        return sb_call_stock(L);
    lua_Integer size = sb_len(L, SB_TAB_R | SB_TAB_W);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
    lua_settop(L, 1);
    lua_geti(L, 1, pos); /* the result */
    lua_pushvalue(L, 1);
    lua_pushinteger(L, pos);
    lua_pushinteger(L, size);
    sb_helper(L, "shift_down", 3, 1);
    lua_Integer last = lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_seti(L, 1, last);
    return 1;
}

static bool sb_move_is_fast(lua_State *L)
{
    int okf, oke;
    lua_Integer f = lua_tointegerx(L, 2, &okf);
    lua_Integer e = lua_tointegerx(L, 3, &oke);
    if (!sb_plain(L, 1) || !(lua_isnoneornil(L, 5) || sb_plain(L, 5)))
        return false;
    return !okf || !oke || e < f || (lua_Unsigned)e - (lua_Unsigned)f < SL_TABLE_FAST_MAX;
}

/* table.move(a1, f, e, t [, a2]) */
static int sb_tab_move(lua_State *L)
{
    if (sb_move_is_fast(L))
        return sb_call_stock(L);
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    sb_checktab(L, 1, SB_TAB_R);
    sb_checktab(L, tt, SB_TAB_W);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        luaL_argcheck(L, t <= LUA_MAXINTEGER - (e - f + 1) + 1, 4, "destination wrap around");
        bool forward = t > e || t > f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ));
        lua_pushvalue(L, 1);
        lua_pushinteger(L, f);
        lua_pushinteger(L, e);
        lua_pushinteger(L, t);
        lua_pushvalue(L, tt);
        lua_pushboolean(L, !forward);
        sb_helper(L, "move", 6, 0);
    }
    lua_pushvalue(L, tt);
    return 1;
}

/* Push a plain copy of t[i..j], t at index 1 (a counted Lua loop). */
static void sb_collect(lua_State *L, lua_Integer i, lua_Integer j, bool strict)
{
    lua_pushvalue(L, 1);
    lua_pushinteger(L, i);
    lua_pushinteger(L, j);
    lua_pushboolean(L, strict);
    sb_helper(L, "collect", 4, 1);
}

/* table.concat(t [, sep [, i [, j]]]) */
static int sb_tab_concat(lua_State *L)
{
    if (sb_plain(L, 1))
        return sb_call_stock(L); /* raw loop, stops at the first non-string */
    lua_Integer last = sb_len(L, SB_TAB_R);
    luaL_optlstring(L, 2, "", NULL);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_opt(L, luaL_checkinteger, 4, last);
    if (i > last) {
        lua_pushliteral(L, "");
        return 1;
    }
    sb_collect(L, i, last, true);
    lua_replace(L, 1);
    lua_settop(L, 2); /* STACK: buf, sep */
    return sb_call_stock(L);
}

/* table.unpack(t [, i [, j]]) */
static int sb_tab_unpack(lua_State *L)
{
    if (sb_plain(L, 1))
        return sb_call_stock(L); /* at most LUAI_MAXSTACK raw reads */
    lua_Integer i = luaL_optinteger(L, 2, 1);
    lua_Integer e = luaL_opt(L, luaL_checkinteger, 3, luaL_len(L, 1));
    if (i > e)
        return 0;
    lua_Unsigned n = (lua_Unsigned)e - (lua_Unsigned)i;
    if (n >= (unsigned int)INT_MAX || !lua_checkstack(L, (int)(++n)))
        return luaL_error(L, "too many results to unpack");
    sb_collect(L, i, e, false);
    lua_replace(L, 1);
    lua_settop(L, 1); /* STACK: buf */
    lua_pushinteger(L, 1);
    lua_pushinteger(L, (lua_Integer)n);
    return sb_call_stock(L);
}

/* table.sort(t [, comp]): the stock sort on small plain tables; anything
 * else is heapsorted by Lua code (a 500k-element stock sort under a 16 MiB
 * cap runs 165 ms in one C call). */
static int sb_tab_sort(lua_State *L)
{
    if (sb_plain(L, 1) && lua_rawlen(L, 1) <= SL_SORT_FAST_MAX)
        return sb_call_stock(L);
    lua_Integer n = sb_len(L, SB_TAB_R | SB_TAB_W);
    if (n <= 1)
        return 0;
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, n);
    lua_pushvalue(L, 2);
    sb_helper(L, "heapsort", 3, 0); /* heapsort(t, n, comp) */
    return 0;
}

/* ---- building the state ----------------------------------------------------------- */

static const char *const sb_globals_allowed[] = {
    "_G",     "_VERSION", "assert",   "error",        "getmetatable", "ipairs",
    "load",   "next",     "pairs",    "pcall",        "rawequal",     "rawget",
    "rawlen", "rawset",   "select",   "setmetatable", "string",       "table",
    "math",   "utf8",     "tonumber", "tostring",     "type",         "warn",
    "xpcall", NULL};

static const char *const sb_string_allowed[] = {
    "byte", "char",     "find", "format",  "gmatch", "gsub",   "len",   "lower", "match",
    "pack", "packsize", "rep",  "reverse", "sub",    "unpack", "upper", NULL};

static bool sb_listed(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(key, *list) == 0)
            return true;
    return false;
}

/* Delete every key of the table on top that is not in the allow-list. */
static void sb_keep_only(lua_State *L, const char *const *allowed)
{
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || !sb_listed(lua_tostring(L, -1), allowed)) {
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, -4); /* clearing during traversal is allowed */
        }
    }
}

static void sb_open_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
}

/* Replace t[name] (t on top) by a C closure over the stock function and, if
 * helpers is nonzero, the Lua helper table at that index. */
static void sb_wrap(lua_State *L, const char *name, lua_CFunction fn, int helpers)
{
    lua_getfield(L, -1, name);
    if (helpers)
        lua_pushvalue(L, helpers);
    lua_pushcclosure(L, fn, helpers ? 2 : 1);
    lua_setfield(L, -2, name);
}

static void sb_setup_base(lua_State *L)
{
    lua_pushglobaltable(L);
    sb_keep_only(L, sb_globals_allowed);
    lua_pushcfunction(L, sb_load);
    lua_setfield(L, -2, "load");
    lua_pushcfunction(L, sb_xpcall);
    lua_setfield(L, -2, "xpcall");
    lua_pushcfunction(L, sb_setmetatable);
    lua_setfield(L, -2, "setmetatable");
    lua_pop(L, 1);
}

static void sb_setup_string(lua_State *L)
{
    lua_getglobal(L, LUA_STRLIBNAME); /* the table the string metatable indexes */
    sb_keep_only(L, sb_string_allowed);
    sb_wrap(L, "find", sb_str_find, 0);
    sb_wrap(L, "match", sb_str_match, 0);
    sb_wrap(L, "gmatch", sb_str_gmatch, 0);
    sb_wrap(L, "gsub", sb_str_gsub, 0);
    sb_wrap(L, "rep", sb_str_rep, 0);
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}

static void sb_setup_table(lua_State *L)
{
    if (luaL_loadbufferx(L, SB_TABLE_LUA, sizeof SB_TABLE_LUA - 1, "=[sandbox]", "t") != LUA_OK)
        lua_error(L);
    lua_call(L, 0, 1);
    int helpers = lua_gettop(L);
    lua_getglobal(L, LUA_TABLIBNAME);
    sb_wrap(L, "insert", sb_tab_insert, helpers);
    sb_wrap(L, "remove", sb_tab_remove, helpers);
    sb_wrap(L, "move", sb_tab_move, helpers);
    sb_wrap(L, "concat", sb_tab_concat, helpers);
    sb_wrap(L, "unpack", sb_tab_unpack, helpers);
    sb_wrap(L, "sort", sb_tab_sort, helpers);
    lua_pop(L, 2);
}

/* Runs protected (opening libraries can raise LUA_ERRMEM), before any user
 * code and already under the count hook. */
static int sb_open(lua_State *L)
{
    sb_open_libs(L);
    sb_setup_base(L);
    sb_setup_string(L);
    sb_setup_table(L);
    /* Tracebacks and argument errors search _LOADED for function names; an
     * empty one keeps that search from walking policy-sized tables. */
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    /* Lua builds this message after unwinding, outside any protection; kept
     * interned, it never needs a (possibly refused) allocation. */
    lua_pushliteral(L, "error in error handling");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &sb_errerr_key);
    /* Generational: policies allocate short-lived tables on every evaluation,
     * the case it is made for (30-40% less GC CPU measured in
     * lua-embedding.md §5.3), and the lua5.4 CLI and busted run the specs in
     * this mode too. */
    lua_gc(L, LUA_GCGEN, 0, 0);
    return 0;
}

static int sb_check_limits(const struct sl_sandbox_limits *lim, struct sl_err *err)
{
    if (lim->instructions <= 0)
        return sl_err_set(err, SL_EINVAL, "sandbox: instruction budget must be positive");
    if (!(lim->wall_ms > 0) || !isfinite(lim->wall_ms))
        return sl_err_set(err, SL_EINVAL, "sandbox: wall-time budget must be positive");
    return 0;
}

struct sl_sandbox *sl_sandbox_new(const struct sl_sandbox_limits *lim, struct sl_err *err)
{
    bool ok = false;
    struct sl_sandbox *sb = calloc(1, sizeof *sb);
    if (sb == NULL) {
        sl_err_set(err, SL_ENOMEM, "sandbox: out of memory");
        return NULL;
    }
    if (lim)
        sb->lim = *lim;
    else
        sl_sandbox_limits_default(&sb->lim);
    if (sb_check_limits(&sb->lim, err) < 0)
        goto done;
    sb->pooled = sl_pool_enabled();
    sb->L = lua_newstate(sb_alloc, sb);
    if (sb->L == NULL) {
        sl_err_set(err, SL_ENOMEM, "sandbox: memory cap too small for a Lua state");
        goto done;
    }
    lua_setwarnf(sb->L, NULL, NULL);                           /* warn() goes nowhere */
    lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, SL_HOOK_COUNT); /* before any Lua code */
    lua_pushcfunction(sb->L, sb_open);
    ok = sl_sandbox_call(sb, 0, 0, err) == SL_CALL_OK;
done:
    if (!ok) {
        sl_sandbox_delete(sb);
        sb = NULL;
    }
    return sb;
}

void sl_sandbox_delete(struct sl_sandbox *sb)
{
    if (sb == NULL)
        return;
    if (sb->L) {
        /* Any Lua code lua_close could still reach dies at once. */
        sb->depth = 0;
        sb->killed = SL_CALL_BUDGET;
        snprintf(sb->killmsg, sizeof sb->killmsg, "sandbox closing");
        lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, 1);
        lua_close(sb->L);
    }
    sl_pool_clear(&sb->pool);
    free(sb);
}

lua_State *sl_sandbox_state(struct sl_sandbox *sb)
{
    return sb->L;
}

size_t sl_sandbox_memory(const struct sl_sandbox *sb)
{
    return sb->used;
}

size_t sl_sandbox_held(const struct sl_sandbox *sb)
{
    return sb_held(sb);
}

size_t sl_sandbox_peak(const struct sl_sandbox *sb)
{
    return sb->peak;
}
