/* sandbox.h - one sandboxed Lua state per loaded policy version.
 *
 * Provides a lua_State built from an allow-list (base, string, table, math,
 * utf8; no io/os/debug/package/require/dofile/loadfile/collectgarbage/print/
 * string.dump; text-only load; locked string metatable; setmetatable refusing
 * __gc; xpcall whose handler runs after unwinding; length-limited string
 * patterns), a memory cap enforced by its allocator, and the one gateway for
 * every call into it: an instruction-count hook armed before any user code,
 * a wall-clock deadline checked in the hook, and a traceback message handler
 * that runs no metamethods. See ../shared/reference/lua-embedding.md.
 * Uses the Lua 5.4 C API and err.h; knows nothing of engines or policies. */
#ifndef SL_SANDBOX_H
#define SL_SANDBOX_H

#include <lua.h>
#include <stddef.h>

#include "core/err.h"

struct sl_sandbox_limits {
    size_t memory_bytes;  /* per state; default 16 MiB */
    long instructions;    /* per call, VM instructions; default 10,000,000 */
    double wall_ms;       /* per call; default 50 */
    size_t pattern_bytes; /* max pattern length for find/match/gmatch/gsub; default 256 */
    size_t subject_bytes; /* max subject length for patterned calls; default 65536 */
};

/* Fill *lim with the defaults above. */
void sl_sandbox_limits_default(struct sl_sandbox_limits *lim);

/* How a call ended. */
enum sl_call_status {
    SL_CALL_OK = 0,
    SL_CALL_ERROR,   /* a runtime error (message has file:line and a traceback) */
    SL_CALL_BUDGET,  /* instruction budget exhausted */
    SL_CALL_TIMEOUT, /* wall-time budget exhausted */
    SL_CALL_MEMORY,  /* memory cap reached */
};

struct sl_sandbox;

/* A fresh sandboxed state. NULL with err on failure. */
struct sl_sandbox *sl_sandbox_new(const struct sl_sandbox_limits *lim, struct sl_err *err);
/* Close the state (no finalizers can run: __gc is refused). NULL does nothing. */
void sl_sandbox_delete(struct sl_sandbox *sb);
lua_State *sl_sandbox_state(struct sl_sandbox *sb);

/* Compile src (text only, never bytecode) as chunk `name` ("@file.lua" style
 * for file:line messages) and run it under the budget; its results are left
 * on the stack (nresults, or LUA_MULTRET). Returns enum sl_call_status. */
int sl_sandbox_run(struct sl_sandbox *sb, const char *src, size_t len, const char *name,
                   int nresults, struct sl_err *err);

/* The gateway: call the function below nargs arguments on the stack with the
 * budget re-armed, a traceback handler and status mapped to enum
 * sl_call_status; on error the stack is left as before the function was
 * pushed and err holds the message. */
int sl_sandbox_call(struct sl_sandbox *sb, int nargs, int nresults, struct sl_err *err);

/* Bytes the state's objects take (as Lua asked for them), and their peak. */
size_t sl_sandbox_memory(const struct sl_sandbox *sb);
size_t sl_sandbox_peak(const struct sl_sandbox *sb);
/* Bytes the state holds from the system: its large blocks and the pool's
 * chunks, free small blocks included. The memory cap bounds this. */
size_t sl_sandbox_held(const struct sl_sandbox *sb);

#endif
