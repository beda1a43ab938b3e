#include "registry.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int sl_check_id(const char *s, const char *field, struct sl_err *err)
{
    if (!s || !*s)
        return sl_err_set(err, SL_EINVAL, "%s: must be a non-empty id", field);
    size_t n = strlen(s);
    if (n > SL_ID_MAX)
        return sl_err_set(err, SL_EINVAL, "%s: id is %zu bytes, the limit is %d", field, n,
                          SL_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '/')
            return sl_err_set(err, SL_EINVAL,
                              "%s: ids may not contain spaces, '/' or control characters", field);
    }
    return 0;
}

int sl_check_text(const char *s, const char *field, struct sl_err *err)
{
    if (s && strlen(s) > SL_TEXT_MAX)
        return sl_err_set(err, SL_EINVAL, "%s: longer than %d bytes", field, SL_TEXT_MAX);
    return 0;
}

struct sl_model *sl_registry_find(const struct sl_registry *r, const char *id)
{
    if (!id || !r->index)
        return NULL;
    for (size_t i = XXH3_64bits(id, strlen(id)) & r->imask; r->index[i]; i = (i + 1) & r->imask)
        if (strcmp(r->index[i]->id, id) == 0)
            return r->index[i];
    return NULL;
}

/* Rebuild the index at twice the size when it is half full. */
static int sl_registry_reindex(struct sl_registry *r)
{
    if (r->index && (r->n + 1) * 2 <= r->imask + 1)
        return 0;
    size_t size = 16;
    while (size < (r->n + 1) * 4)
        size *= 2;
    struct sl_model **index = calloc(size, sizeof *index);
    if (!index)
        return -1;
    for (size_t k = 0; k < r->n; k++) {
        size_t i = XXH3_64bits(r->models[k]->id, strlen(r->models[k]->id)) & (size - 1);
        while (index[i])
            i = (i + 1) & (size - 1);
        index[i] = r->models[k];
    }
    free(r->index);
    r->index = index;
    r->imask = size - 1;
    return 0;
}

static void sl_registry_insert(struct sl_registry *r, struct sl_model *m)
{
    size_t i = XXH3_64bits(m->id, strlen(m->id)) & r->imask;
    while (r->index[i])
        i = (i + 1) & r->imask;
    r->index[i] = m;
}

void sl_model_claim(struct sl_model *m, const char *id, int kind, void *obj)
{
    m->claimed_by = id;
    m->claim = id ? obj : NULL;
    m->claim_kind = id ? kind : 0;
}

struct sl_version *sl_model_version(const struct sl_model *m, const char *version)
{
    for (size_t i = 0; m && version && i < m->n; i++)
        if (strcmp(m->versions[i].version, version) == 0)
            return &m->versions[i];
    return NULL;
}

struct sl_version *sl_registry_require(const struct sl_registry *r, const char *model,
                                       const char *version, const char *field, struct sl_err *err)
{
    struct sl_model *m = sl_registry_find(r, model);
    if (!m) {
        sl_err_set(err, SL_ENOTFOUND, "%s: unknown model '%s'", field, model ? model : "");
        return NULL;
    }
    struct sl_version *v = sl_model_version(m, version);
    if (!v)
        sl_err_set(err, SL_ENOTFOUND, "%s: model '%s' has no version '%s'", field, model,
                   version ? version : "");
    return v;
}

static struct sl_model *sl_registry_new_model(struct sl_registry *r, const char *id)
{
    if (sl_registry_reindex(r))
        return NULL;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct sl_model **ms = realloc(r->models, cap * sizeof *ms);
        if (!ms)
            return NULL;
        r->models = ms;
        r->cap = cap;
    }
    struct sl_model *m = calloc(1, sizeof *m);
    if (m && !(m->id = strdup(id))) {
        free(m);
        m = NULL;
    }
    if (m) {
        r->models[r->n++] = m;
        sl_registry_insert(r, m);
    }
    return m;
}

static int sl_version_fill(struct sl_version *v, const struct sl_version_config *cfg, double now)
{
    memset(v, 0, sizeof *v);
    v->version = strdup(cfg->version);
    v->path = cfg->path ? strdup(cfg->path) : NULL;
    v->config = cfg->config ? strdup(cfg->config) : NULL;
    v->health = cfg->health;
    v->loaded_at = now;
    if (!v->version || (cfg->path && !v->path) || (cfg->config && !v->config)) {
        free(v->version);
        free(v->path);
        free(v->config);
        return -1;
    }
    return 0;
}

static int sl_version_check(const struct sl_registry *r, const struct sl_version_config *cfg,
                            struct sl_err *err)
{
    if (sl_check_id(cfg->model, "model", err) || sl_check_id(cfg->version, "version", err) ||
        sl_check_text(cfg->path, "path", err))
        return -1;
    if (cfg->config && strlen(cfg->config) > 65536)
        return sl_err_set(err, SL_EINVAL, "config: longer than 65536 bytes");
    if (cfg->health < 0 || cfg->health > SL_HEALTH_FAILED)
        return sl_err_set(err, SL_EINVAL, "health: unknown value %d", cfg->health);
    if (sl_model_version(sl_registry_find(r, cfg->model), cfg->version))
        return sl_err_set(err, SL_EEXIST, "model '%s' already has version '%s'", cfg->model,
                          cfg->version);
    return 0;
}

int sl_registry_add(struct sl_registry *r, const struct sl_version_config *cfg, double now,
                    struct sl_err *err)
{
    if (sl_version_check(r, cfg, err))
        return -1;
    struct sl_model *m = sl_registry_find(r, cfg->model);
    bool created = !m;
    if (!m && !(m = sl_registry_new_model(r, cfg->model)))
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4;
        struct sl_version *vs = realloc(m->versions, cap * sizeof *vs);
        if (!vs)
            goto nomem;
        m->versions = vs;
        m->cap = cap;
    }
    if (sl_version_fill(&m->versions[m->n], cfg, now))
        goto nomem;
    if (cfg->live)
        m->live = m->n;
    m->n++;
    return 0;
nomem:
    if (created) { /* leave the registry as it was */
        r->n--;
        free(r->index); /* rebuilt without m */
        r->index = NULL;
        (void)sl_registry_reindex(r);
        free(m->versions);
        free(m->id);
        free(m);
    }
    return sl_err_set(err, SL_ENOMEM, "out of memory");
}

void sl_registry_destroy(struct sl_registry *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct sl_model *m = r->models[i];
        for (size_t j = 0; j < m->n; j++) {
            free(m->versions[j].version);
            free(m->versions[j].path);
            free(m->versions[j].config);
        }
        free(m->versions);
        free(m->id);
        free(m);
    }
    free(r->models);
    free(r->index);
    memset(r, 0, sizeof *r);
}
