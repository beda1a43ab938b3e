/* codec.c - JSON <-> sluice configs and state (see codec.h).
 *
 * Every JSON form is described once, by a table of fields (key, type, offset
 * in the C struct, default); one generic decoder and one generic encoder walk
 * the tables, so the two directions cannot drift apart and a key path for an
 * error message falls out of the walk. Decoded strings point into the cJSON
 * tree, which the decoded struct keeps; arrays and texts the tree does not
 * hold are malloc'd blocks recorded in the struct's sl_codec_mem. cJSON's
 * allocation hooks are left at malloc/free, so its printed text is freed with
 * free(). */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "codec.h"

#define SL_PATH_MAX 300

enum sl_ftype {
    SL_F_STR = 0,  /* const char *, borrowed from the tree */
    SL_F_NUM,      /* double */
    SL_F_NUMN,     /* double, null <-> NaN */
    SL_F_BOOL,     /* bool */
    SL_F_INT,      /* int, integral */
    SL_F_U64,      /* uint64_t, integral in [0, 2^53] */
    SL_F_ENUM,     /* int, by name */
    SL_F_STRS,     /* const char *const *; count (size_t) at aux */
    SL_F_OBJS,     /* array of sub->size structs; count (size_t) at aux */
    SL_F_ARM,      /* version string or {model, version}; model (const char *) at aux */
    SL_F_POLICIES, /* canonical policies text; aux is the kind (enum sl_kind) */
    SL_F_JSON,     /* any JSON value kept as its text */
    SL_F_BLOB,     /* base64 bytes (const void *); length (size_t) at aux */
    SL_F_NTYPES
};

enum { SL_FF_REQUIRED = 1, SL_FF_OMIT_NEG = 2 };

struct sl_table;

struct sl_field {
    const char *key;
    int type; /* enum sl_ftype */
    size_t off, aux;
    double dflt; /* numbers, booleans and enums when absent */
    int flags;   /* SL_FF_* */
    const char *(*name)(int);
    int nnames;                 /* SL_F_ENUM: names 0 .. nnames-1 */
    const struct sl_table *sub; /* SL_F_OBJS */
};

struct sl_table {
    const struct sl_field *f;
    size_t n;
    size_t size; /* one element, for SL_F_OBJS */
};

#define FLD(S, k, t, m, ...)                                                                       \
    {                                                                                              \
        .key = k, .type = t, .off = offsetof(S, m), __VA_ARGS__                                    \
    }
#define TABLE(S, fields)                                                                           \
    {                                                                                              \
        fields, sizeof fields / sizeof fields[0], sizeof(S)                                        \
    }

/* ---- names the core does not export ------------------------------------------------ */

static const char *sl_guard_type_name(int v)
{
    static const char *const n[] = {"maximum", "minimum", "percentage", "absolute"};
    return v >= 0 && v < 4 ? n[v] : "unknown";
}

static const char *sl_guard_action_name(int v)
{
    static const char *const n[] = {"pause", "rollback", "alert", "reduce_traffic"};
    return v >= 0 && v < 4 ? n[v] : "unknown";
}

/* ---- the forms --------------------------------------------------------------------- */

static const struct sl_field sl_ramp_fields[] = {
    FLD(struct sl_ramp_step, "at_hours", SL_F_NUM, at_hours),
    FLD(struct sl_ramp_step, "treatment", SL_F_NUM, treatment, .flags = SL_FF_REQUIRED),
    FLD(struct sl_ramp_step, "control", SL_F_NUM, control, .dflt = -1, .flags = SL_FF_OMIT_NEG),
};
static const struct sl_table sl_ramp_form = TABLE(struct sl_ramp_step, sl_ramp_fields);

static const struct sl_field sl_guard_fields[] = {
    FLD(struct sl_guard_config, "metric", SL_F_STR, metric),
    FLD(struct sl_guard_config, "type", SL_F_ENUM, type, .name = sl_guard_type_name, .nnames = 4),
    FLD(struct sl_guard_config, "threshold", SL_F_NUM, threshold),
    FLD(struct sl_guard_config, "action", SL_F_ENUM, action, .dflt = SL_ACTION_ALERT,
        .name = sl_guard_action_name, .nnames = 4),
};
static const struct sl_table sl_guard_form = TABLE(struct sl_guard_config, sl_guard_fields);

static const struct sl_field sl_test_fields[] = {
    FLD(struct sl_test_config, "id", SL_F_STR, id),
    FLD(struct sl_test_config, "name", SL_F_STR, name),
    FLD(struct sl_test_config, "description", SL_F_STR, description),
    FLD(struct sl_test_config, "model", SL_F_STR, model),
    FLD(struct sl_test_config, "control", SL_F_ARM, control_version,
        .aux = offsetof(struct sl_test_config, model)),
    FLD(struct sl_test_config, "treatment", SL_F_ARM, treatment_version,
        .aux = offsetof(struct sl_test_config, model)),
    FLD(struct sl_test_config, "ramp", SL_F_OBJS, ramp,
        .aux = offsetof(struct sl_test_config, nramp), .sub = &sl_ramp_form),
    FLD(struct sl_test_config, "routing", SL_F_ENUM, routing, .name = sl_routing_name, .nnames = 4),
    FLD(struct sl_test_config, "duration_hours", SL_F_NUM, duration_hours),
    FLD(struct sl_test_config, "target_sample_size", SL_F_U64, target_sample_size),
    FLD(struct sl_test_config, "alpha", SL_F_NUM, alpha, .dflt = 0.05),
    FLD(struct sl_test_config, "minimum_effect_size", SL_F_NUM, minimum_effect_size),
    FLD(struct sl_test_config, "auto_promote", SL_F_BOOL, auto_promote),
    FLD(struct sl_test_config, "auto_rollback", SL_F_BOOL, auto_rollback),
    FLD(struct sl_test_config, "success_metrics", SL_F_STRS, success_metrics,
        .aux = offsetof(struct sl_test_config, nsuccess)),
    FLD(struct sl_test_config, "guard_metrics", SL_F_OBJS, guards,
        .aux = offsetof(struct sl_test_config, nguards), .sub = &sl_guard_form),
    FLD(struct sl_test_config, "created_by", SL_F_STR, created_by),
    FLD(struct sl_test_config, "tags", SL_F_STRS, tags,
        .aux = offsetof(struct sl_test_config, ntags)),
    FLD(struct sl_test_config, "policies", SL_F_POLICIES, policies, .aux = SL_KIND_TEST),
};
static const struct sl_table sl_test_form = TABLE(struct sl_test_config, sl_test_fields);

static const struct sl_field sl_crit_fields[] = {
    FLD(struct sl_criterion, "metric", SL_F_STR, metric),
    FLD(struct sl_criterion, "op", SL_F_ENUM, op, .dflt = SL_OP_GE, .name = sl_op_name,
        .nnames = 6),
    FLD(struct sl_criterion, "value", SL_F_NUM, value),
    FLD(struct sl_criterion, "for_minutes", SL_F_NUM, for_minutes),
};
static const struct sl_table sl_crit_form = TABLE(struct sl_criterion, sl_crit_fields);

static const struct sl_field sl_canary_fields[] = {
    FLD(struct sl_canary_config, "id", SL_F_STR, id),
    FLD(struct sl_canary_config, "name", SL_F_STR, name),
    FLD(struct sl_canary_config, "model", SL_F_STR, model),
    FLD(struct sl_canary_config, "stable", SL_F_STR, stable),
    FLD(struct sl_canary_config, "canary", SL_F_STR, canary),
    FLD(struct sl_canary_config, "traffic", SL_F_NUM, traffic, .dflt = 10),
    FLD(struct sl_canary_config, "duration_minutes", SL_F_NUM, duration_minutes),
    FLD(struct sl_canary_config, "success_threshold", SL_F_NUM, success_threshold),
    FLD(struct sl_canary_config, "error_threshold", SL_F_NUM, error_threshold),
    FLD(struct sl_canary_config, "auto_promote", SL_F_BOOL, auto_promote),
    FLD(struct sl_canary_config, "auto_rollback", SL_F_BOOL, auto_rollback),
    FLD(struct sl_canary_config, "health_check_interval_ms", SL_F_NUM, health_check_interval_ms,
        .dflt = 10000),
    FLD(struct sl_canary_config, "promotion_criteria", SL_F_OBJS, criteria,
        .aux = offsetof(struct sl_canary_config, ncriteria), .sub = &sl_crit_form),
    FLD(struct sl_canary_config, "metrics", SL_F_STRS, metrics,
        .aux = offsetof(struct sl_canary_config, nmetrics)),
    FLD(struct sl_canary_config, "created_by", SL_F_STR, created_by),
    FLD(struct sl_canary_config, "policies", SL_F_POLICIES, policies, .aux = SL_KIND_CANARY),
};
static const struct sl_table sl_canary_form = TABLE(struct sl_canary_config, sl_canary_fields);

static const struct sl_field sl_version_fields[] = {
    FLD(struct sl_version_config, "id", SL_F_STR, model),
    FLD(struct sl_version_config, "version", SL_F_STR, version),
    FLD(struct sl_version_config, "path", SL_F_STR, path),
    FLD(struct sl_version_config, "config", SL_F_JSON, config),
    FLD(struct sl_version_config, "health", SL_F_ENUM, health, .name = sl_health_name, .nnames = 5),
    FLD(struct sl_version_config, "live", SL_F_BOOL, live),
};
static const struct sl_table sl_version_form = TABLE(struct sl_version_config, sl_version_fields);

static const struct sl_field sl_alloc_fields[] = {
    FLD(struct sl_alloc_point, "at", SL_F_NUM, at),
    FLD(struct sl_alloc_point, "treatment", SL_F_NUM, treatment),
};
static const struct sl_table sl_alloc_form = TABLE(struct sl_alloc_point, sl_alloc_fields);

static const struct sl_field sl_tstate_fields[] = {
    FLD(struct sl_test_state, "status", SL_F_ENUM, status, .name = sl_test_status_name,
        .nnames = 8),
    FLD(struct sl_test_state, "created_at", SL_F_NUM, created_at),
    FLD(struct sl_test_state, "started_at", SL_F_NUM, started_at),
    FLD(struct sl_test_state, "ended_at", SL_F_NUM, ended_at),
    FLD(struct sl_test_state, "running_seconds", SL_F_NUM, running_seconds),
    FLD(struct sl_test_state, "treatment_pct", SL_F_NUM, treatment_pct),
    FLD(struct sl_test_state, "control_pct", SL_F_NUM, control_pct),
    FLD(struct sl_test_state, "ramp_step", SL_F_INT, ramp_step, .dflt = -1),
    FLD(struct sl_test_state, "allocs", SL_F_OBJS, allocs,
        .aux = offsetof(struct sl_test_state, nallocs), .sub = &sl_alloc_form),
    FLD(struct sl_test_state, "last_reason", SL_F_STR, last_reason),
    FLD(struct sl_test_state, "recommendation", SL_F_ENUM, recommendation,
        .name = sl_recommendation_name, .nnames = 7),
    FLD(struct sl_test_state, "recommendation_reason", SL_F_STR, recommendation_reason),
    FLD(struct sl_test_state, "in_history", SL_F_BOOL, in_history),
    FLD(struct sl_test_state, "analysis", SL_F_BLOB, analysis,
        .aux = offsetof(struct sl_test_state, analysis_len)),
};
static const struct sl_table sl_tstate_form = TABLE(struct sl_test_state, sl_tstate_fields);

static const struct sl_field sl_check_fields[] = {
    FLD(struct sl_health_check, "at", SL_F_NUM, at),
    FLD(struct sl_health_check, "health", SL_F_ENUM, health, .name = sl_health_name, .nnames = 5),
    FLD(struct sl_health_check, "error_rate", SL_F_NUMN, error_rate),
    FLD(struct sl_health_check, "passed", SL_F_BOOL, passed),
};
static const struct sl_table sl_check_form = TABLE(struct sl_health_check, sl_check_fields);

static const struct sl_field sl_kstate_fields[] = {
    FLD(struct sl_canary_state, "status", SL_F_ENUM, status, .name = sl_canary_status_name,
        .nnames = 7),
    FLD(struct sl_canary_state, "created_at", SL_F_NUM, created_at),
    FLD(struct sl_canary_state, "started_at", SL_F_NUM, started_at),
    FLD(struct sl_canary_state, "ended_at", SL_F_NUM, ended_at),
    FLD(struct sl_canary_state, "traffic_pct", SL_F_NUM, traffic_pct),
    FLD(struct sl_canary_state, "last_check", SL_F_NUM, last_check),
    FLD(struct sl_canary_state, "checks", SL_F_OBJS, checks,
        .aux = offsetof(struct sl_canary_state, nchecks), .sub = &sl_check_form),
    FLD(struct sl_canary_state, "trigger", SL_F_ENUM, trigger, .name = sl_trigger_name,
        .nnames = 6),
    FLD(struct sl_canary_state, "outcome", SL_F_STR, outcome),
    FLD(struct sl_canary_state, "last_reason", SL_F_STR, last_reason),
    FLD(struct sl_canary_state, "in_history", SL_F_BOOL, in_history),
};
static const struct sl_table sl_kstate_form = TABLE(struct sl_canary_state, sl_kstate_fields);

/* ---- owned memory ------------------------------------------------------------------ */

/* Record p as owned by m; on failure free p and return NULL. */
static void *sl_mem_keep(struct sl_codec_mem *m, void *p)
{
    void **b = p ? realloc(m->blocks, (m->nblocks + 1) * sizeof *b) : NULL;
    if (!b) {
        free(p);
        return NULL;
    }
    m->blocks = b;
    b[m->nblocks++] = p;
    return p;
}

static void sl_mem_free(struct sl_codec_mem *m)
{
    for (size_t i = 0; i < m->nblocks; i++)
        free(m->blocks[i]);
    free(m->blocks);
    cJSON_Delete(m->tree);
    *m = (struct sl_codec_mem){0};
}

/* ---- field access by offset -------------------------------------------------------- */

static void *sl_at(void *base, size_t off)
{
    return (char *)base + off;
}

static const void *sl_cat(const void *base, size_t off)
{
    return (const char *)base + off;
}

static void sl_put_ptr(void *base, size_t off, const void *p)
{
    memcpy(sl_at(base, off), &p, sizeof p);
}

static const void *sl_get_ptr(const void *base, size_t off)
{
    const void *p;
    memcpy(&p, sl_cat(base, off), sizeof p);
    return p;
}

static void sl_put_size(void *base, size_t off, size_t n)
{
    memcpy(sl_at(base, off), &n, sizeof n);
}

static size_t sl_get_size(const void *base, size_t off)
{
    size_t n;
    memcpy(&n, sl_cat(base, off), sizeof n);
    return n;
}

/* ---- decoding ---------------------------------------------------------------------- */

struct sl_dec {
    struct sl_codec_mem *mem;
    struct sl_err *err;
};

/* Key paths longer than SL_PATH_MAX end in "...". */
static void sl_path_fit(char *buf, int n)
{
    if (n >= SL_PATH_MAX)
        memcpy(buf + SL_PATH_MAX - 4, "...", 4);
}

static void sl_path(char *buf, const char *path, const char *key)
{
    sl_path_fit(buf, snprintf(buf, SL_PATH_MAX, "%s%s%s", path, *path ? "." : "", key));
}

static void sl_path_index(char *buf, const char *path, size_t i)
{
    sl_path_fit(buf, snprintf(buf, SL_PATH_MAX, "%s[%zu]", path, i + 1));
}

static int sl_fail(struct sl_dec *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sl_fail(struct sl_dec *d, const char *where, const char *fmt, ...)
{
    char msg[SL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_err_set(d->err, SL_EINVAL, "%s%s%s", where, *where ? ": " : "", msg);
}

static int sl_nomem(struct sl_dec *d)
{
    return sl_err_set(d->err, SL_ENOMEM, "out of memory decoding JSON");
}

typedef bool (*sl_known_fn)(const void *ctx, const char *key);

/* Every key known, none twice. */
static int sl_check_keys(struct sl_dec *d, const cJSON *obj, const char *path, sl_known_fn known,
                         const void *ctx)
{
    char where[SL_PATH_MAX];
    for (const cJSON *c = obj->child; c; c = c->next) {
        sl_path(where, path, c->string);
        if (!known(ctx, c->string))
            return sl_fail(d, where, "unknown key");
        for (const cJSON *p = obj->child; p != c; p = p->next)
            if (strcmp(p->string, c->string) == 0)
                return sl_fail(d, where, "duplicate key");
    }
    return 0;
}

static bool sl_known_field(const void *ctx, const char *key)
{
    const struct sl_table *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->f[i].key, key) == 0)
            return true;
    return false;
}

static bool sl_known_name(const void *ctx, const char *key)
{
    for (const char *const *k = ctx; *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

typedef int (*sl_dec_fn)(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                         const char *where);

static int sl_dec_table(struct sl_dec *d, const cJSON *obj, const struct sl_table *t, void *base,
                        const char *path);

static int sl_dec_str(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                      const char *where)
{
    if (!cJSON_IsString(v))
        return sl_fail(d, where, "expected a string");
    sl_put_ptr(base, f->off, v->valuestring);
    return 0;
}

static int sl_dec_num(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                      const char *where)
{
    if (!cJSON_IsNumber(v))
        return sl_fail(d, where, "expected a number");
    memcpy(sl_at(base, f->off), &v->valuedouble, sizeof(double));
    return 0;
}

static int sl_dec_bool(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                       const char *where)
{
    if (!cJSON_IsBool(v))
        return sl_fail(d, where, "expected true or false");
    *(bool *)sl_at(base, f->off) = cJSON_IsTrue(v);
    return 0;
}

static int sl_dec_int(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                      const char *where)
{
    double x = cJSON_IsNumber(v) ? v->valuedouble : 0.5;
    if (x != floor(x) || x < -2147483648.0 || x > 2147483647.0)
        return sl_fail(d, where, "expected an integer");
    *(int *)sl_at(base, f->off) = (int)x;
    return 0;
}

static int sl_dec_u64(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                      const char *where)
{
    double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (x != floor(x) || x < 0 || x > 9007199254740992.0)
        return sl_fail(d, where, "expected a whole number >= 0");
    *(uint64_t *)sl_at(base, f->off) = (uint64_t)x;
    return 0;
}

static int sl_dec_enum(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                       const char *where)
{
    char list[256] = "";
    if (!cJSON_IsString(v))
        return sl_fail(d, where, "expected a string");
    for (int i = 0; i < f->nnames; i++) {
        if (strcmp(v->valuestring, f->name(i)) == 0) {
            *(int *)sl_at(base, f->off) = i;
            return 0;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", f->name(i));
    }
    return sl_fail(d, where, "unknown value '%.64s' (%s)", v->valuestring, list);
}

static int sl_dec_strs(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                       const char *where)
{
    if (!cJSON_IsArray(v))
        return sl_fail(d, where, "expected an array");
    size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
    const char **s = n ? sl_mem_keep(d->mem, calloc(n, sizeof *s)) : NULL;
    if (n && !s)
        return sl_nomem(d);
    char at[SL_PATH_MAX];
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        sl_path_index(at, where, i);
        if (!cJSON_IsString(e))
            return sl_fail(d, at, "expected a string");
        s[i] = e->valuestring;
    }
    sl_put_ptr(base, f->off, s);
    sl_put_size(base, f->aux, n);
    return 0;
}

static int sl_dec_objs(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                       const char *where)
{
    if (!cJSON_IsArray(v))
        return sl_fail(d, where, "expected an array");
    size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
    char *a = n ? sl_mem_keep(d->mem, calloc(n, f->sub->size)) : NULL;
    if (n && !a)
        return sl_nomem(d);
    char at[SL_PATH_MAX];
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        sl_path_index(at, where, i);
        if (sl_dec_table(d, e, f->sub, a + i * f->sub->size, at))
            return -1;
    }
    sl_put_ptr(base, f->off, a);
    sl_put_size(base, f->aux, n);
    return 0;
}

/* An optional string member of obj (absent or null: NULL). */
static int sl_dec_member(struct sl_dec *d, const cJSON *obj, const char *key, const char *path,
                         const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char where[SL_PATH_MAX];
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    sl_path(where, path, key);
    if (!cJSON_IsString(v))
        return sl_fail(d, where, "expected a string");
    *out = v->valuestring;
    return 0;
}

/* "version" or {"model": .., "version": ..}; the model must agree with the one
 * already decoded (the "model" key or the other arm). */
static int sl_dec_arm(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                      const char *where)
{
    static const char *const keys[] = {"model", "version", NULL};
    if (cJSON_IsString(v))
        return sl_dec_str(d, v, f, base, where);
    if (!cJSON_IsObject(v))
        return sl_fail(d, where, "expected a version string or {model, version}");
    const char *model, *version, *have = sl_get_ptr(base, f->aux);
    if (sl_check_keys(d, v, where, sl_known_name, keys) ||
        sl_dec_member(d, v, "model", where, &model) ||
        sl_dec_member(d, v, "version", where, &version))
        return -1;
    char at[SL_PATH_MAX];
    sl_path(at, where, "model");
    if (model && have && strcmp(model, have) != 0)
        return sl_fail(d, at, "'%.64s' differs from '%.64s': both arms are versions of one model",
                       model, have);
    if (model)
        sl_put_ptr(base, f->aux, model);
    sl_put_ptr(base, f->off, version);
    return 0;
}

static char *sl_canon_policies(struct sl_dec *d, const cJSON *v, int kind, const char *where);

static int sl_dec_policies(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                           const char *where)
{
    char *text = sl_canon_policies(d, v, (int)f->aux, where);
    if (!text)
        return -1;
    if (!sl_mem_keep(d->mem, text))
        return sl_nomem(d);
    sl_put_ptr(base, f->off, text);
    return 0;
}

static int sl_dec_json(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                       const char *where)
{
    (void)where;
    char *text = sl_mem_keep(d->mem, cJSON_PrintUnformatted(v));
    if (!text)
        return sl_nomem(d);
    sl_put_ptr(base, f->off, text);
    return 0;
}

static int sl_dec_blob(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                       const char *where)
{
    unsigned char *bytes = NULL;
    size_t n = 0;
    if (!cJSON_IsString(v))
        return sl_fail(d, where, "expected a base64 string");
    if (sl_codec_unbase64(v->valuestring, strlen(v->valuestring), &bytes, &n))
        return sl_fail(d, where, "not valid base64");
    if (bytes && !sl_mem_keep(d->mem, bytes))
        return sl_nomem(d);
    sl_put_ptr(base, f->off, bytes);
    sl_put_size(base, f->aux, n);
    return 0;
}

static const sl_dec_fn sl_decoders[SL_F_NTYPES] = {
    [SL_F_STR] = sl_dec_str,   [SL_F_NUM] = sl_dec_num,           [SL_F_NUMN] = sl_dec_num,
    [SL_F_BOOL] = sl_dec_bool, [SL_F_INT] = sl_dec_int,           [SL_F_U64] = sl_dec_u64,
    [SL_F_ENUM] = sl_dec_enum, [SL_F_STRS] = sl_dec_strs,         [SL_F_OBJS] = sl_dec_objs,
    [SL_F_ARM] = sl_dec_arm,   [SL_F_POLICIES] = sl_dec_policies, [SL_F_JSON] = sl_dec_json,
    [SL_F_BLOB] = sl_dec_blob,
};

/* An absent key (or null): its default. */
static int sl_dec_absent(struct sl_dec *d, const cJSON *v, const struct sl_field *f, void *base,
                         const char *where)
{
    if (f->flags & SL_FF_REQUIRED)
        return sl_fail(d, where, "required");
    double x = f->type == SL_F_NUMN && v ? NAN : f->dflt;
    if (f->type == SL_F_NUM || f->type == SL_F_NUMN)
        memcpy(sl_at(base, f->off), &x, sizeof x);
    else if (f->type == SL_F_INT || f->type == SL_F_ENUM)
        *(int *)sl_at(base, f->off) = (int)x;
    else if (f->type == SL_F_BOOL)
        *(bool *)sl_at(base, f->off) = x != 0;
    return 0;
}

static int sl_dec_table(struct sl_dec *d, const cJSON *obj, const struct sl_table *t, void *base,
                        const char *path)
{
    if (!cJSON_IsObject(obj))
        return sl_fail(d, path, "expected an object");
    if (sl_check_keys(d, obj, path, sl_known_field, t))
        return -1;
    char where[SL_PATH_MAX];
    for (size_t i = 0; i < t->n; i++) {
        const struct sl_field *f = &t->f[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->key);
        sl_path(where, path, f->key);
        int rc = !v || cJSON_IsNull(v) ? sl_dec_absent(d, v, f, base, where)
                                       : sl_decoders[f->type](d, v, f, base, where);
        if (rc)
            return -1;
    }
    return 0;
}

/* Parse text that must hold exactly one JSON value. */
static cJSON *sl_parse(const char *json, size_t len, struct sl_err *err)
{
    const char *end = NULL;
    cJSON *tree = json ? cJSON_ParseWithLengthOpts(json, len, &end, false) : NULL;
    if (!tree) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        sl_err_set(err, SL_EINVAL, "invalid JSON near byte %zu", at);
        return NULL;
    }
    while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (end < json + len && *end) {
        sl_err_set(err, SL_EINVAL, "invalid JSON: extra text at byte %zu", (size_t)(end - json));
        cJSON_Delete(tree);
        return NULL;
    }
    return tree;
}

static int sl_decode_item(struct sl_codec_mem *mem, void *base, const struct sl_table *t,
                          const cJSON *obj, struct sl_err *err)
{
    struct sl_dec d = {mem, err};
    memset(base, 0, t->size);
    if (sl_dec_table(&d, obj, t, base, "") == 0)
        return 0;
    sl_mem_free(mem);
    memset(base, 0, t->size);
    return -1;
}

static int sl_decode_text(struct sl_codec_mem *mem, void *base, const struct sl_table *t,
                          const char *json, size_t len, struct sl_err *err)
{
    *mem = (struct sl_codec_mem){0};
    memset(base, 0, t->size);
    cJSON *tree = sl_parse(json, len, err);
    if (!tree)
        return -1;
    mem->tree = tree;
    return sl_decode_item(mem, base, t, tree, err);
}

/* ---- policies ---------------------------------------------------------------------- */

static int sl_policy_check(struct sl_dec *d, const cJSON *name, const cJSON *params,
                           const cJSON *shadow, const char *where)
{
    char at[SL_PATH_MAX];
    const char *key = !cJSON_IsString(name)               ? "name"
                      : params && !cJSON_IsObject(params) ? "params"
                      : shadow && !cJSON_IsBool(shadow)   ? "shadow"
                                                          : NULL;
    if (!key)
        return 0;
    sl_path(at, where, key);
    return sl_fail(d, at, "expected %s",
                   key[0] == 'n'   ? "a policy name"
                   : key[0] == 'p' ? "an object"
                                   : "true or false");
}

static const cJSON *sl_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static cJSON *sl_policy_make(struct sl_dec *d, const cJSON *name, const cJSON *params,
                             const cJSON *shadow)
{
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddStringToObject(e, "name", name->valuestring) ||
        (params && !cJSON_AddItemToObject(e, "params", cJSON_Duplicate(params, true))) ||
        (shadow && !cJSON_AddBoolToObject(e, "shadow", cJSON_IsTrue(shadow)))) {
        cJSON_Delete(e);
        sl_nomem(d);
        return NULL;
    }
    return e;
}

static cJSON *sl_policy_object(struct sl_dec *d, const cJSON *v, const char *where)
{
    static const char *const keys[] = {"name", "params", "shadow", NULL};
    const cJSON *name = sl_member(v, "name"), *params = sl_member(v, "params"),
                *shadow = sl_member(v, "shadow");
    if (sl_check_keys(d, v, where, sl_known_name, keys) ||
        sl_policy_check(d, name, params, shadow, where))
        return NULL;
    return sl_policy_make(d, name, params, shadow);
}

/* One entry in any of its forms, as {"name", "params"?, "shadow"?}. */
static cJSON *sl_policy_entry(struct sl_dec *d, const cJSON *v, const char *where)
{
    if (cJSON_IsObject(v))
        return sl_policy_object(d, v, where);
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    const cJSON *name = cJSON_IsString(v) ? v : n >= 1 ? cJSON_GetArrayItem(v, 0) : NULL;
    const cJSON *params = n == 2 ? cJSON_GetArrayItem(v, 1) : NULL;
    if (cJSON_IsString(name) && n <= 2 && (!params || cJSON_IsObject(params)))
        return sl_policy_make(d, name, params, NULL);
    sl_fail(d, where, "expected \"name\", [\"name\", {params}] or {name, params?, shadow?}");
    return NULL;
}

static cJSON *sl_policy_hook(struct sl_dec *d, const cJSON *v, const char *hook, const char *where)
{
    if (strcmp(hook, "guards") != 0)
        return sl_policy_entry(d, v, where);
    if (!cJSON_IsArray(v)) {
        sl_fail(d, where, "expected an array of policies");
        return NULL;
    }
    cJSON *list = cJSON_CreateArray();
    char at[SL_PATH_MAX];
    size_t i = 0;
    for (const cJSON *e = v->child; list && e; e = e->next, i++) {
        sl_path_index(at, where, i);
        cJSON *c = sl_policy_entry(d, e, at);
        if (!c || !cJSON_AddItemToArray(list, c)) {
            cJSON_Delete(c);
            cJSON_Delete(list);
            return NULL;
        }
    }
    if (!list)
        sl_nomem(d);
    return list;
}

static const char *const sl_test_hooks[] = {"ramp", "guards", "recommend", NULL};
static const char *const sl_canary_hooks[] = {"ramp", "guards", "promotion", NULL};

static char *sl_canon_policies(struct sl_dec *d, const cJSON *v, int kind, const char *where)
{
    static const char *const order[] = {"ramp", "guards", "promotion", "recommend"};
    if (!cJSON_IsObject(v)) {
        sl_fail(d, where, "expected an object");
        return NULL;
    }
    if (sl_check_keys(d, v, where, sl_known_name,
                      kind == SL_KIND_CANARY ? sl_canary_hooks : sl_test_hooks))
        return NULL;
    cJSON *root = cJSON_CreateObject();
    char at[SL_PATH_MAX], *text = NULL;
    for (size_t i = 0; root && i < 4; i++) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, order[i]);
        if (!h)
            continue;
        sl_path(at, where, order[i]);
        cJSON *c = sl_policy_hook(d, h, order[i], at);
        if (!c || !cJSON_AddItemToObject(root, order[i], c)) {
            cJSON_Delete(c);
            goto done;
        }
    }
    if (!root || !(text = cJSON_PrintUnformatted(root)))
        sl_nomem(d);
done:
    cJSON_Delete(root);
    return text;
}

char *sl_codec_policies(const char *json, size_t len, int kind, struct sl_err *err)
{
    struct sl_codec_mem mem = {0};
    struct sl_dec d = {&mem, err};
    cJSON *tree = sl_parse(json, len, err);
    char *text = tree ? sl_canon_policies(&d, tree, kind, "policies") : NULL;
    cJSON_Delete(tree);
    return text;
}

/* ---- encoding ---------------------------------------------------------------------- */

typedef int (*sl_enc_fn)(cJSON *obj, const struct sl_field *f, const void *base);

static int sl_enc_table(cJSON *obj, const struct sl_table *t, const void *base);

static int sl_enc_str(cJSON *obj, const struct sl_field *f, const void *base)
{
    const char *s = sl_get_ptr(base, f->off);
    return !s || cJSON_AddStringToObject(obj, f->key, s) ? 0 : -1;
}

static int sl_enc_num(cJSON *obj, const struct sl_field *f, const void *base)
{
    double x;
    memcpy(&x, sl_cat(base, f->off), sizeof x);
    if ((f->flags & SL_FF_OMIT_NEG) && x < 0)
        return 0;
    /* cJSON writes non-finite numbers as null: NaN for SL_F_NUMN, the default otherwise. */
    return cJSON_AddNumberToObject(obj, f->key, x) ? 0 : -1;
}

static int sl_enc_bool(cJSON *obj, const struct sl_field *f, const void *base)
{
    return cJSON_AddBoolToObject(obj, f->key, *(const bool *)sl_cat(base, f->off)) ? 0 : -1;
}

static int sl_enc_int(cJSON *obj, const struct sl_field *f, const void *base)
{
    return cJSON_AddNumberToObject(obj, f->key, *(const int *)sl_cat(base, f->off)) ? 0 : -1;
}

static int sl_enc_u64(cJSON *obj, const struct sl_field *f, const void *base)
{
    double x = (double)*(const uint64_t *)sl_cat(base, f->off);
    return cJSON_AddNumberToObject(obj, f->key, x) ? 0 : -1;
}

static int sl_enc_enum(cJSON *obj, const struct sl_field *f, const void *base)
{
    const char *name = f->name(*(const int *)sl_cat(base, f->off));
    return cJSON_AddStringToObject(obj, f->key, name) ? 0 : -1;
}

static int sl_enc_strs(cJSON *obj, const struct sl_field *f, const void *base)
{
    const char *const *s = sl_get_ptr(base, f->off);
    size_t n = sl_get_size(base, f->aux);
    cJSON *a = cJSON_AddArrayToObject(obj, f->key);
    for (size_t i = 0; a && i < n; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(s[i])))
            return -1;
    return a ? 0 : -1;
}

static int sl_enc_objs(cJSON *obj, const struct sl_field *f, const void *base)
{
    const char *a = sl_get_ptr(base, f->off);
    size_t n = sl_get_size(base, f->aux);
    cJSON *list = cJSON_AddArrayToObject(obj, f->key);
    for (size_t i = 0; list && i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!cJSON_AddItemToArray(list, e) || sl_enc_table(e, f->sub, a + i * f->sub->size))
            return -1;
    }
    return list ? 0 : -1;
}

/* Text that parses as JSON goes in as that value, anything else as a string. */
static int sl_enc_json(cJSON *obj, const struct sl_field *f, const void *base)
{
    const char *s = sl_get_ptr(base, f->off);
    if (!s)
        return 0;
    cJSON *v = cJSON_ParseWithOpts(s, NULL, true);
    if (!v)
        v = cJSON_CreateString(s);
    return cJSON_AddItemToObject(obj, f->key, v) ? 0 : -1;
}

static int sl_enc_blob(cJSON *obj, const struct sl_field *f, const void *base)
{
    const void *p = sl_get_ptr(base, f->off);
    if (!p)
        return 0;
    char *text = sl_codec_base64(p, sl_get_size(base, f->aux));
    int rc = text && cJSON_AddStringToObject(obj, f->key, text) ? 0 : -1;
    free(text);
    return rc;
}

static const sl_enc_fn sl_encoders[SL_F_NTYPES] = {
    [SL_F_STR] = sl_enc_str,   [SL_F_NUM] = sl_enc_num,       [SL_F_NUMN] = sl_enc_num,
    [SL_F_BOOL] = sl_enc_bool, [SL_F_INT] = sl_enc_int,       [SL_F_U64] = sl_enc_u64,
    [SL_F_ENUM] = sl_enc_enum, [SL_F_STRS] = sl_enc_strs,     [SL_F_OBJS] = sl_enc_objs,
    [SL_F_ARM] = sl_enc_str,   [SL_F_POLICIES] = sl_enc_json, [SL_F_JSON] = sl_enc_json,
    [SL_F_BLOB] = sl_enc_blob,
};

static int sl_enc_table(cJSON *obj, const struct sl_table *t, const void *base)
{
    if (!obj)
        return -1;
    for (size_t i = 0; i < t->n; i++)
        if (sl_encoders[t->f[i].type](obj, &t->f[i], base))
            return -1;
    return 0;
}

static char *sl_encode(const struct sl_table *t, const void *base)
{
    cJSON *obj = cJSON_CreateObject();
    char *text = sl_enc_table(obj, t, base) ? NULL : cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    return text;
}

/* ---- the public functions ---------------------------------------------------------- */

int sl_codec_test_decode(struct sl_codec_test *out, const char *json, size_t len,
                         struct sl_err *err)
{
    return sl_decode_text(&out->mem, &out->cfg, &sl_test_form, json, len, err);
}

int sl_codec_test_from(struct sl_codec_test *out, const struct cJSON *obj, struct sl_err *err)
{
    out->mem = (struct sl_codec_mem){0};
    return sl_decode_item(&out->mem, &out->cfg, &sl_test_form, obj, err);
}

void sl_codec_test_destroy(struct sl_codec_test *t)
{
    sl_mem_free(&t->mem);
    memset(&t->cfg, 0, sizeof t->cfg);
}

char *sl_codec_test_json(const struct sl_test_config *cfg)
{
    return sl_encode(&sl_test_form, cfg);
}

int sl_codec_canary_decode(struct sl_codec_canary *out, const char *json, size_t len,
                           struct sl_err *err)
{
    return sl_decode_text(&out->mem, &out->cfg, &sl_canary_form, json, len, err);
}

int sl_codec_canary_from(struct sl_codec_canary *out, const struct cJSON *obj, struct sl_err *err)
{
    out->mem = (struct sl_codec_mem){0};
    return sl_decode_item(&out->mem, &out->cfg, &sl_canary_form, obj, err);
}

void sl_codec_canary_destroy(struct sl_codec_canary *c)
{
    sl_mem_free(&c->mem);
    memset(&c->cfg, 0, sizeof c->cfg);
}

char *sl_codec_canary_json(const struct sl_canary_config *cfg)
{
    return sl_encode(&sl_canary_form, cfg);
}

int sl_codec_version_decode(struct sl_codec_version *out, const char *json, size_t len,
                            struct sl_err *err)
{
    return sl_decode_text(&out->mem, &out->cfg, &sl_version_form, json, len, err);
}

int sl_codec_version_from(struct sl_codec_version *out, const struct cJSON *obj, struct sl_err *err)
{
    out->mem = (struct sl_codec_mem){0};
    return sl_decode_item(&out->mem, &out->cfg, &sl_version_form, obj, err);
}

void sl_codec_version_destroy(struct sl_codec_version *v)
{
    sl_mem_free(&v->mem);
    memset(&v->cfg, 0, sizeof v->cfg);
}

char *sl_codec_version_json(const struct sl_version_config *cfg)
{
    return sl_encode(&sl_version_form, cfg);
}

char *sl_codec_test_state_json(const struct sl_test_state *st)
{
    return sl_encode(&sl_tstate_form, st);
}

int sl_codec_test_state_decode(struct sl_codec_test_state *out, const char *json, size_t len,
                               struct sl_err *err)
{
    return sl_decode_text(&out->mem, &out->st, &sl_tstate_form, json, len, err);
}

void sl_codec_test_state_destroy(struct sl_codec_test_state *s)
{
    sl_mem_free(&s->mem);
    memset(&s->st, 0, sizeof s->st);
}

char *sl_codec_canary_state_json(const struct sl_canary_state *st)
{
    return sl_encode(&sl_kstate_form, st);
}

int sl_codec_canary_state_decode(struct sl_codec_canary_state *out, const char *json, size_t len,
                                 struct sl_err *err)
{
    return sl_decode_text(&out->mem, &out->st, &sl_kstate_form, json, len, err);
}

void sl_codec_canary_state_destroy(struct sl_codec_canary_state *s)
{
    sl_mem_free(&s->mem);
    memset(&s->st, 0, sizeof s->st);
}

/* ---- base64 ------------------------------------------------------------------------ */

static const char sl_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *sl_codec_base64(const void *data, size_t n)
{
    const unsigned char *p = data;
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; out && i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = sl_b64[v >> 18 & 63];
        *o++ = sl_b64[v >> 12 & 63];
        *o++ = i + 1 < n ? sl_b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? sl_b64[v & 63] : '=';
    }
    if (out)
        *o = '\0';
    return out;
}

static int sl_b64_value(char c)
{
    const char *p = c ? strchr(sl_b64, c) : NULL;
    return p ? (int)(p - sl_b64) : -1;
}

/* Four characters -> up to three bytes; returns how many, or -1. */
static int sl_b64_quad(const char *q, unsigned char *out, bool last)
{
    int pad = (q[3] == '=') + (q[2] == '=' && q[3] == '=');
    if (pad && !last)
        return -1;
    uint32_t v = 0;
    for (int k = 0; k < 4 - pad; k++) {
        int x = sl_b64_value(q[k]);
        if (x < 0)
            return -1;
        v = v << 6 | (uint32_t)x;
    }
    v <<= 6 * pad;
    out[0] = (unsigned char)(v >> 16);
    out[1] = (unsigned char)(v >> 8);
    out[2] = (unsigned char)v;
    return 3 - pad;
}

int sl_codec_unbase64(const char *text, size_t len, unsigned char **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (len == 0)
        return 0;
    unsigned char *buf = len % 4 == 0 ? malloc(len / 4 * 3) : NULL;
    int rc = -1;
    if (!buf)
        goto done;
    for (size_t i = 0; i < len; i += 4) {
        int got = sl_b64_quad(text + i, buf + *n, i + 4 == len);
        if (got < 0)
            goto done;
        *n += (size_t)got;
    }
    *out = buf;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    if (rc)
        *n = 0;
    return rc;
}
