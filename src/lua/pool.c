/* pool.c - the small-block pool (see pool.h). */
#include "pool.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define SL_POOL_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_POOL_ON 0
#endif
#endif
#ifndef SL_POOL_ON
#define SL_POOL_ON 1
#endif

struct sl_pool_chunk {
    alignas(SL_POOL_GRAIN) struct sl_pool_chunk *next;
    alignas(SL_POOL_GRAIN) unsigned char data[];
};

bool sl_pool_enabled(void)
{
    return SL_POOL_ON;
}

static size_t sl_pool_class(size_t n)
{
    return (n - 1) / SL_POOL_GRAIN;
}

bool sl_pool_same_class(size_t a, size_t b)
{
    return a && b && sl_pool_class(a) == sl_pool_class(b);
}

void *sl_pool_alloc(struct sl_pool *p, size_t n, bool grow)
{
    size_t c = sl_pool_class(n), size = (c + 1) * SL_POOL_GRAIN;
    void *b = p->free[c];
    if (b) {
        p->free[c] = *(void **)b;
        return b;
    }
    if ((size_t)(p->end - p->next) < size) {
        /* The old tail (under SL_POOL_MAX bytes) is left unused. */
        struct sl_pool_chunk *k = grow ? malloc(SL_POOL_CHUNK) : NULL;
        if (k == NULL)
            return NULL;
        k->next = p->chunks;
        p->chunks = k;
        p->held += SL_POOL_CHUNK;
        p->next = (char *)k->data;
        p->end = (char *)k + SL_POOL_CHUNK;
    }
    b = p->next;
    p->next += size;
    return b;
}

void sl_pool_free(struct sl_pool *p, void *b, size_t n)
{
    size_t c = sl_pool_class(n);
    *(void **)b = p->free[c];
    p->free[c] = b;
}

void sl_pool_clear(struct sl_pool *p)
{
    while (p->chunks) {
        struct sl_pool_chunk *k = p->chunks;
        p->chunks = k->next;
        free(k);
    }
    *p = (struct sl_pool){0};
}
