/* test_lua_pool.c - the small-block pool behind each sandbox's allocator:
 * blocks are aligned, disjoint and writable, freed blocks are reused by
 * their own size class only, sizes share a class exactly when they round to
 * the same 16 bytes, chunks are taken as needed and all given back by
 * clear; and a sandboxed state that churns small objects keeps working and
 * accounts its memory as before. */
#include <lauxlib.h>
#include <stdint.h>
#include <string.h>

#include "pool.h"
#include "sandbox.h"
#include "tap.h"

static void test_blocks_aligned_disjoint_writable(void)
{
    struct sl_pool p = {0};
    enum { N = 5000 };
    static unsigned char *b[N];
    static size_t n[N];
    for (int i = 0; i < N; i++) {
        n[i] = (size_t)(i * 37 % SL_POOL_MAX) + 1;
        b[i] = sl_pool_alloc(&p, n[i]);
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
    void *a = sl_pool_alloc(&p, 40), *b = sl_pool_alloc(&p, 40);
    sl_pool_free(&p, a, 40);
    void *c = sl_pool_alloc(&p, 100);
    ok(c != a, "a freed 48-byte block is not handed out for 100 bytes");
    void *d = sl_pool_alloc(&p, 33);
    ok(d == a, "it is handed out for 33..48 bytes");
    sl_pool_free(&p, b, 48);
    sl_pool_free(&p, d, 41);
    void *e = sl_pool_alloc(&p, 48), *f = sl_pool_alloc(&p, 48);
    ok((e == d && f == b), "the free list is last in, first out");
    size_t held = p.held;
    for (int i = 0; i < 100000; i++) {
        void *x = sl_pool_alloc(&p, 24);
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
                       "return #keep, #s[600], keep[200][3].x, #table.concat(s, '', 250, 260)\n";
    lua_State *L = sl_sandbox_state(sb);
    int st = luaL_loadbufferx(L, code, strlen(code), "=churn", "t");
    ok(st == LUA_OK, "chunk compiles");
    st = sl_sandbox_call(sb, 0, 4, &err);
    ok(st == SL_CALL_OK, "churn runs: %s", st == SL_CALL_OK ? "ok" : err.msg);
    if (st == SL_CALL_OK) {
        ok(lua_tointeger(L, -4) == 200 && lua_tointeger(L, -3) == 600 &&
               lua_tointeger(L, -2) == 20000 && lua_tointeger(L, -1) == 2805,
           "values kept across pooled and malloc'd blocks are intact");
        lua_pop(L, 4);
    }
    lua_gc(L, LUA_GCCOLLECT, 0);
    ok(sl_sandbox_memory(sb) < before + 64 * 1024,
       "after a full collection the state accounts about what it held before (%zu -> %zu)", before,
       sl_sandbox_memory(sb));
    sl_sandbox_delete(sb);
}

int main(void)
{
    RUN(test_blocks_aligned_disjoint_writable);
    RUN(test_freed_blocks_reused_by_their_class);
    RUN(test_size_classes);
    RUN(test_sandbox_churn_over_the_pool);
    return tap_done();
}
