/* bag.h - an owner's bag of copied strings and arrays, freed all at once.
 *
 * Provides deep copies for configuration structs (a test's or canary's config
 * owns every string it points to). Uses libc only. */
#ifndef SL_BAG_H
#define SL_BAG_H

#include <stddef.h>

struct sl_bag {
    void **items;
    size_t n, cap;
};

/* Copy s into the bag; NULL stays NULL. Returns NULL with *failed set on
 * allocation failure. */
char *sl_bag_strdup(struct sl_bag *b, const char *s, int *failed);
void *sl_bag_memdup(struct sl_bag *b, const void *p, size_t len, int *failed);
/* Copy an array of strings (and each string). */
const char **sl_bag_strv(struct sl_bag *b, const char *const *v, size_t n, int *failed);
void sl_bag_free(struct sl_bag *b);

#endif
