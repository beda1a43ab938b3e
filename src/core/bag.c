#include "bag.h"

#include <stdlib.h>
#include <string.h>

static void *sl_bag_keep(struct sl_bag *b, void *p, int *failed)
{
    if (!p) {
        *failed = 1;
        return NULL;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        void **items = realloc(b->items, cap * sizeof *items);
        if (!items) {
            free(p);
            *failed = 1;
            return NULL;
        }
        b->items = items;
        b->cap = cap;
    }
    b->items[b->n++] = p;
    return p;
}

void *sl_bag_memdup(struct sl_bag *b, const void *p, size_t len, int *failed)
{
    if (!p || len == 0)
        return NULL;
    void *q = malloc(len);
    if (q)
        memcpy(q, p, len);
    return sl_bag_keep(b, q, failed);
}

char *sl_bag_strdup(struct sl_bag *b, const char *s, int *failed)
{
    return s ? sl_bag_memdup(b, s, strlen(s) + 1, failed) : NULL;
}

const char **sl_bag_strv(struct sl_bag *b, const char *const *v, size_t n, int *failed)
{
    if (!v || n == 0)
        return NULL;
    const char **out = sl_bag_keep(b, calloc(n, sizeof *out), failed);
    for (size_t i = 0; out && i < n; i++)
        out[i] = sl_bag_strdup(b, v[i], failed);
    return out;
}

void sl_bag_free(struct sl_bag *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i]);
    free(b->items);
    b->items = NULL;
    b->n = b->cap = 0;
}
