/* pool.h - a small-block pool for one Lua state's allocator.
 *
 * A policy call makes and drops hundreds of small objects (tables, view
 * proxies, strings, closures); through malloc and free they cost about an
 * eighth of a tick. The pool hands out blocks of up to SL_POOL_MAX bytes, in
 * 16-byte size classes, from 64 KiB chunks, and keeps freed blocks on a list
 * per class for the next allocation. Chunks go back to the system only when
 * the pool is cleared (its state closed), so a state keeps up to its peak
 * of small blocks; the caller counts held chunks against its cap and says
 * when a new one may be taken. Not thread-safe: one pool per lua_State, as the state.
 * Under AddressSanitizer the pool is off (sl_pool_enabled), so that the
 * sanitiser still sees every Lua object. Uses only libc. */
#ifndef SL_POOL_H
#define SL_POOL_H

#include <stdbool.h>
#include <stddef.h>

#define SL_POOL_MAX     256 /* larger blocks are the caller's (malloc) */
#define SL_POOL_CHUNK   (64 * 1024)
#define SL_POOL_GRAIN   16
#define SL_POOL_CLASSES (SL_POOL_MAX / SL_POOL_GRAIN)

struct sl_pool_chunk;

struct sl_pool {
    void *free[SL_POOL_CLASSES]; /* freed blocks, linked through their first word */
    struct sl_pool_chunk *chunks;
    char *next, *end; /* the newest chunk's unused tail */
    size_t held;      /* bytes of chunks held */
};

/* Whether pooled blocks are used in this build (false under ASan). */
bool sl_pool_enabled(void);

/* A block of n bytes, 0 < n <= SL_POOL_MAX, aligned to 16; NULL when a new
 * chunk is needed and grow is false, or malloc gives none. */
void *sl_pool_alloc(struct sl_pool *p, size_t n, bool grow);

/* Give back block b of n bytes (n as allocated). */
void sl_pool_free(struct sl_pool *p, void *b, size_t n);

/* Whether sizes a and b share a block size (a realloc between them is a no-op). */
bool sl_pool_same_class(size_t a, size_t b);

/* Free every chunk: every block is gone. The pool is empty and reusable. */
void sl_pool_clear(struct sl_pool *p);

#endif
