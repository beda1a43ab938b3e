/* registry.h - the model registry: models, their versions and the live version.
 *
 * Provides struct sl_registry (writer-thread only): models with versions
 * (path, free-form config, health, load time), each model's live version and
 * which test or canary currently claims its traffic. Also the id rules shared
 * by every engine object. Uses bag.h; knows nothing of routing or metrics. */
#ifndef SL_REGISTRY_H
#define SL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice.h"

struct sl_version {
    char *version, *path, *config;
    int health;
    double loaded_at;
};

struct sl_model {
    char *id;
    struct sl_version *versions;
    size_t n, cap;
    size_t live;            /* index into versions */
    const char *claimed_by; /* borrowed id of the claiming test/canary, or NULL */
    void *claim;            /* the claiming struct sl_test / sl_canary */
    int claim_kind;         /* SL_KIND_TEST / SL_KIND_CANARY */
};

struct sl_registry {
    struct sl_model **models; /* stable pointers, registration order */
    size_t n, cap;
    struct sl_model **index; /* open addressing by id hash, 2x n or more */
    size_t imask;
};

void sl_registry_destroy(struct sl_registry *r);
struct sl_model *sl_registry_find(const struct sl_registry *r, const char *id);
/* Record (or with id NULL clear) the test or canary claiming m's traffic. */
void sl_model_claim(struct sl_model *m, const char *id, int kind, void *obj);
struct sl_version *sl_model_version(const struct sl_model *m, const char *version);
/* Add a version (model created on first use). */
int sl_registry_add(struct sl_registry *r, const struct sl_version_config *cfg, double now,
                    struct sl_err *err);
/* The registered version or SL_ENOTFOUND naming what is missing. */
struct sl_version *sl_registry_require(const struct sl_registry *r, const char *model,
                                       const char *version, const char *field, struct sl_err *err);

/* Ids: 1..SL_ID_MAX bytes of printable ASCII without spaces or '/' (they
 * appear in URLs). field names the offending configuration key. */
int sl_check_id(const char *s, const char *field, struct sl_err *err);
/* Free text: NULL or at most SL_TEXT_MAX bytes. */
int sl_check_text(const char *s, const char *field, struct sl_err *err);

#endif
