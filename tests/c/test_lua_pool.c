/* test_lua_pool.c - the small-block pool behind each sandbox's allocator:
 * blocks are aligned, disjoint and writable, freed blocks are reused by
 * their own size class only, sizes share a class exactly when they round to
 * the same 16 bytes, chunks are taken as needed and all given back by
 * clear; and a sandboxed state that churns small objects keeps working and
 * accounts its memory as before. */
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"
#include "sandbox.h"
#include "tap.h"

/* Compile and run code in sb (nres results left on its stack): the call's
 * status, with err filled when it is not SL_CALL_OK. */
static int run_chunk(struct sl_sandbox *sb, const char *code, const char *name, int nres,
                     struct sl_err *err)
{
    lua_State *L = sl_sandbox_state(sb);
    if (luaL_loadbufferx(L, code, strlen(code), name, "t") != LUA_OK) {
        snprintf(err->msg, sizeof err->msg, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return sl_sandbox_call(sb, 0, nres, err);
}

static void test_blocks_aligned_disjoint_writable(void)
{
    struct sl_pool p = {0};
    enum { N = 5000 };
    static unsigned char *b[N];
    static size_t n[N];
    for (int i = 0; i < N; i++) {
        n[i] = (size_t)(i * 37 % SL_POOL_MAX) + 1;
        b[i] = sl_pool_alloc(&p, n[i], true);
        if (!b[i])
            break;
        memset(b[i], i & 0xff, n[i]);
    }
    bool aligned = true, intact = true;
    for (int i = 0; i < N && b[i]; i++) {
        aligned = aligned && (uintptr_t)b[i] % SL_POOL_GRAIN == 0;
        for (size_t k = 0; k < n[i]; k++)
            intact = intact && b[i][k] == (i & 0xff);
    }
    ok(b[N - 1] != NULL, "5000 blocks of 1..256 bytes allocated");
    ok(aligned, "every block aligned to %d bytes", SL_POOL_GRAIN);
    ok(intact, "no block overlaps another (each kept its own fill)");
    ok(p.held >= 5000 * 16 && p.held % (64 * 1024) == 0, "chunks taken as needed: %zu bytes",
       p.held);
    sl_pool_clear(&p);
    ok(p.held == 0 && p.chunks == NULL, "clear gives every chunk back");
}

static void test_freed_blocks_reused_by_their_class(void)
{
    struct sl_pool p = {0};
    void *a = sl_pool_alloc(&p, 40, true), *b = sl_pool_alloc(&p, 40, true);
    sl_pool_free(&p, a, 40);
    void *c = sl_pool_alloc(&p, 100, true);
    ok(c != a, "a freed 48-byte block is not handed out for 100 bytes");
    void *d = sl_pool_alloc(&p, 33, true);
    ok(d == a, "it is handed out for 33..48 bytes");
    sl_pool_free(&p, b, 48);
    sl_pool_free(&p, d, 41);
    void *e = sl_pool_alloc(&p, 48, true), *f = sl_pool_alloc(&p, 48, true);
    ok((e == d && f == b), "the free list is last in, first out");
    size_t held = p.held;
    for (int i = 0; i < 100000; i++) {
        void *x = sl_pool_alloc(&p, 24, true);
        sl_pool_free(&p, x, 24);
    }
    ok(p.held == held, "alloc/free churn takes no new chunk");
    sl_pool_clear(&p);
}

static void test_size_classes(void)
{
    ok(sl_pool_same_class(1, 16) && sl_pool_same_class(17, 32) && sl_pool_same_class(241, 256),
       "sizes rounding to the same 16 bytes share a class");
    ok(!sl_pool_same_class(16, 17) && !sl_pool_same_class(0, 1) && !sl_pool_same_class(240, 256),
       "others do not (and size 0 is in none)");
}

/* A state making and dropping many small objects (pool reuse) and big ones
 * (malloc), with strings growing across the pool boundary (realloc from a
 * pooled block to a malloc'd one and back). */
static void test_sandbox_churn_over_the_pool(void)
{
    struct sl_err err;
    struct sl_sandbox *sb = sl_sandbox_new(NULL, &err);
    ok(sb != NULL, "sandbox made");
    if (!sb)
        return;
    tap_diag("pool %s in this build", sl_pool_enabled() ? "on" : "off (ASan)");
    size_t before = sl_sandbox_memory(sb);
    const char *code = "local keep = {}\n"
                       "for i = 1, 20000 do\n"
                       "  local t = { i, tostring(i), { x = i } }\n"
                       "  if i % 100 == 0 then keep[#keep + 1] = t end\n"
                       "end\n"
                       "local s = {}\n"
                       "for i = 1, 600 do s[i] = string.rep('x', i) end\n"
                       "local t = {}\n"
                       "for i = 1, 300 do t[i] = i end\n"
                       "for i = 300, 1, -1 do t[i] = nil end\n"
                       "local a = {}\n" /* an array part of 64 slots (1 KiB, malloc'd) */
                       "for i = 1, 40 do a[i] = i end\n"
                       "for i = 5, 40 do a[i] = nil end\n"
                       "for i = 1, 8 do a['k' .. i] = i end\n" /* rehash: shrunk into the pool */
                       "local sum = 0\n"
                       "for i = 1, 4 do sum = sum + a[i] end\n"
                       "for i = 1, 8 do sum = sum + a['k' .. i] end\n"
                       "return #keep, #s[600], keep[200][3].x, #table.concat(s, '', 250, 260), "
                       "sum\n";
    lua_State *L = sl_sandbox_state(sb);
    int st = run_chunk(sb, code, "=churn", 5, &err);
    ok(st == SL_CALL_OK, "churn runs: %s", st == SL_CALL_OK ? "ok" : err.msg);
    if (st == SL_CALL_OK) {
        ok(lua_tointeger(L, -5) == 200 && lua_tointeger(L, -4) == 600 &&
               lua_tointeger(L, -3) == 20000 && lua_tointeger(L, -2) == 2805 &&
               lua_tointeger(L, -1) == 10 + 36,
           "values kept across pooled and malloc'd blocks, both ways, are intact");
        lua_pop(L, 5);
    }
    lua_gc(L, LUA_GCCOLLECT, 0);
    ok(sl_sandbox_memory(sb) < before + 64 * 1024,
       "after a full collection the state accounts about what it held before (%zu -> %zu)", before,
       sl_sandbox_memory(sb));
    sl_sandbox_delete(sb);
}

static void test_grow_false_takes_no_chunk(void)
{
    struct sl_pool p = {0};
    ok(sl_pool_alloc(&p, 32, false) == NULL && p.held == 0, "no chunk is taken when grow is false");
    void *a = sl_pool_alloc(&p, 32, true);
    ok(a && sl_pool_alloc(&p, 32, false) != NULL, "the chunk's tail still serves without growing");
    sl_pool_free(&p, a, 32);
    ok(sl_pool_alloc(&p, 32, false) == a, "and so does a freed block of the class");
    sl_pool_clear(&p);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* A policy filling its cap with small objects of one size (a list: no
 * large block), dropping them and moving to the next size: each size class
 * keeps its free blocks, so
 * without the cap counting the pool's chunks the process would hold about
 * one cap per class (measured by review: 193 MB for a 16 MiB cap). */
static void test_cap_bounds_what_the_pool_holds(void)
{
    struct sl_sandbox_limits lim;
    sl_sandbox_limits_default(&lim);
    lim.memory_bytes = 2u << 20;
    lim.instructions = 1000000000;
    lim.wall_ms = 20000;
    struct sl_err err;
    struct sl_sandbox *sb = sl_sandbox_new(&lim, &err);
    ok(sb != NULL, "sandbox with a 2 MiB cap");
    if (!sb)
        return;
    long rss0 = rss_kib();
    const char *code = "local rounds = 0\n"
                       "for len = 8, 232, 16 do\n"
                       "  local t = {}\n"
                       "  pcall(function()\n"
                       "    for i = 1, 1e6 do t = { t, string.rep('x', len) .. i } end\n"
                       "  end)\n"
                       "  t = nil\n"
                       "  rounds = rounds + 1\n"
                       "end\n"
                       "return rounds\n";
    lua_State *L = sl_sandbox_state(sb);
    int st = run_chunk(sb, code, "=classes", 1, &err);
    ok(st == SL_CALL_OK && lua_tointeger(L, -1) == 15, "15 rounds, each filling the cap: %s",
       st == SL_CALL_OK ? "ok" : err.msg);
    lua_settop(L, 0);
    size_t held = sl_sandbox_held(sb);
    long grew = rss_kib() - rss0;
    ok(held <= lim.memory_bytes + SL_POOL_CHUNK, "the state holds %zu bytes, within its cap", held);
    if (sl_pool_enabled()) /* under ASan freed memory waits in its quarantine */
        ok(grew < 3 * 2048, "the process grew %ld KiB, not a cap per size class", grew);
    st = run_chunk(sb, "return 6 * 7", "=after", 1, &err);
    ok(st == SL_CALL_OK && lua_tointeger(L, -1) == 42, "the state still answers");
    sl_sandbox_delete(sb);
}

int main(void)
{
    RUN(test_blocks_aligned_disjoint_writable);
    RUN(test_freed_blocks_reused_by_their_class);
    RUN(test_size_classes);
    RUN(test_sandbox_churn_over_the_pool);
    RUN(test_grow_false_takes_no_chunk);
    RUN(test_cap_bounds_what_the_pool_holds);
    return tap_done();
}
