/* store.c - the backend-independent half of the store (see store.h).
 *
 * The sl_store_* calls forward to the backend's ops; the helpers below turn
 * engine objects into their stored JSON form and stored rows back into engine
 * objects, so that a second backend only moves rows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "store.h"

/* ---- forwarding -------------------------------------------------------------------- */

static int sl_store_closed(struct sl_err *err)
{
    return sl_err_set(err, SL_ESTATE, "store: not open");
}

#define SL_FORWARD(s, err, call) ((s) && (s)->ops ? (s)->ops->call : sl_store_closed(err))

void sl_store_close(struct sl_store *s)
{
    if (s && s->ops)
        s->ops->close(s);
    if (s)
        *s = (struct sl_store){0};
}

int sl_store_begin(struct sl_store *s, struct sl_err *err)
{
    return SL_FORWARD(s, err, begin(s, err));
}

int sl_store_commit(struct sl_store *s, struct sl_err *err)
{
    return SL_FORWARD(s, err, commit(s, err));
}

int sl_store_rollback(struct sl_store *s, struct sl_err *err)
{
    return SL_FORWARD(s, err, rollback(s, err));
}

int sl_store_save_models(struct sl_store *s, struct sl_engine *eng, struct sl_err *err)
{
    return SL_FORWARD(s, err, save_models(s, eng, err));
}

int sl_store_save_test(struct sl_store *s, struct sl_engine *eng, const char *id,
                       struct sl_err *err)
{
    return SL_FORWARD(s, err, save_object(s, eng, SL_KIND_TEST, id, err));
}

int sl_store_save_canary(struct sl_store *s, struct sl_engine *eng, const char *id,
                         struct sl_err *err)
{
    return SL_FORWARD(s, err, save_object(s, eng, SL_KIND_CANARY, id, err));
}

int sl_store_delete_object(struct sl_store *s, const char *id, struct sl_err *err)
{
    return SL_FORWARD(s, err, delete_object(s, id, err));
}

int sl_store_append_event(struct sl_store *s, const struct sl_event *ev, struct sl_err *err)
{
    return SL_FORWARD(s, err, append_event(s, ev, err));
}

int sl_store_prune_events(struct sl_store *s, uint64_t after, uint64_t upto, size_t max_rows,
                          size_t *deleted, struct sl_err *err)
{
    *deleted = 0;
    return SL_FORWARD(s, err, prune_events(s, after, upto, max_rows, deleted, err));
}

int sl_store_save_policy_state(struct sl_store *s, const char *id, const char *policy,
                               const char *json, struct sl_err *err)
{
    return SL_FORWARD(s, err, save_policy_state(s, id, policy, json, err));
}

int sl_store_checkpoint(struct sl_store *s, struct sl_engine *eng, struct sl_err *err)
{
    return SL_FORWARD(s, err, checkpoint(s, eng, err));
}

int sl_store_load(struct sl_store *s, struct sl_engine *eng, sl_store_policy_fn fn, void *ud,
                  struct sl_store_report *rep, struct sl_err *err)
{
    memset(rep, 0, sizeof *rep);
    return SL_FORWARD(s, err, load(s, eng, fn, ud, rep, err));
}

int sl_store_events(struct sl_store *s, uint64_t since, size_t limit, sl_store_event_fn fn,
                    void *ud, struct sl_err *err)
{
    return SL_FORWARD(s, err, events(s, since, limit, fn, ud, err));
}

/* ---- save everything --------------------------------------------------------------- */

struct sl_save_all {
    struct sl_store *s;
    struct sl_engine *eng;
    struct sl_err *err;
};

static int sl_save_visit(void *ud, int kind, const char *id, bool in_history)
{
    struct sl_save_all *a = ud;
    (void)in_history;
    return a->s->ops->save_object(a->s, a->eng, kind, id, a->err);
}

int sl_store_save_all(struct sl_store *s, struct sl_engine *eng, struct sl_err *err)
{
    struct sl_save_all a = {s, eng, err};
    if (sl_store_begin(s, err))
        return -1;
    if (s->ops->save_models(s, eng, err) || sl_store_each_object(eng, sl_save_visit, &a)) {
        sl_store_rollback(s, NULL);
        return -1;
    }
    return sl_store_commit(s, err);
}

int sl_store_each_object(struct sl_engine *eng, sl_store_visit_fn fn, void *ud)
{
    int rc = 0;
    struct sl_test_info t;
    struct sl_canary_info k;
    for (size_t i = 0; rc == 0 && sl_engine_test_at(eng, i, &t) == 0; i++)
        rc = fn(ud, SL_KIND_TEST, t.config->id, false);
    for (size_t i = 0; rc == 0 && sl_engine_canary_at(eng, i, &k) == 0; i++)
        rc = fn(ud, SL_KIND_CANARY, k.config->id, false);
    for (size_t i = sl_engine_history_count(eng); rc == 0 && i-- > 0;) {
        int kind = SL_KIND_NONE;
        const char *id = sl_engine_history_at(eng, i, &kind);
        rc = fn(ud, kind, id, true);
    }
    return rc;
}

/* ---- the stored form --------------------------------------------------------------- */

char *sl_store_config_json(struct sl_engine *eng, int kind, const char *id, struct sl_err *err)
{
    struct sl_test_info t;
    struct sl_canary_info k;
    char *text = NULL;
    if (kind == SL_KIND_TEST && sl_engine_test(eng, id, &t, err) == 0)
        text = sl_codec_test_json(t.config);
    else if (kind == SL_KIND_CANARY && sl_engine_canary(eng, id, &k, err) == 0)
        text = sl_codec_canary_json(k.config);
    else
        return NULL;
    if (!text)
        sl_err_set(err, SL_ENOMEM, "store: out of memory encoding '%s'", id);
    return text;
}

char *sl_store_state_json(struct sl_engine *eng, int kind, const char *id, bool *in_history,
                          struct sl_err *err)
{
    struct sl_test_state t;
    struct sl_canary_state k;
    char *text = NULL;
    if (kind == SL_KIND_TEST && sl_engine_test_state(eng, id, &t, err) == 0) {
        text = sl_codec_test_state_json(&t);
        *in_history = t.in_history;
    } else if (kind == SL_KIND_CANARY && sl_engine_canary_state(eng, id, &k, err) == 0) {
        text = sl_codec_canary_state_json(&k);
        *in_history = k.in_history;
    } else {
        return NULL;
    }
    if (!text)
        sl_err_set(err, SL_ENOMEM, "store: out of memory encoding '%s'", id);
    return text;
}

/* ---- restoring --------------------------------------------------------------------- */

void sl_store_report_fail(struct sl_store_report *rep, const char *id, const char *what,
                          const char *fmt, ...)
{
    if (rep->nfailures++ >= SL_STORE_MAX_FAILURES)
        return;
    struct sl_store_failure *f = &rep->failures[rep->nfailures - 1];
    snprintf(f->id, sizeof f->id, "%s", id ? id : "");
    snprintf(f->what, sizeof f->what, "%s", what);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

int sl_store_restore_version(struct sl_engine *eng, const struct sl_version_config *cfg,
                             struct sl_store_report *rep)
{
    struct sl_err e;
    if (sl_engine_add_version(eng, cfg, &e) == 0) {
        rep->versions++;
        return 0;
    }
    char id[SL_ID_MAX + 1];
    snprintf(id, sizeof id, "%.128s/%.127s", cfg->model ? cfg->model : "",
             cfg->version ? cfg->version : "");
    sl_store_report_fail(rep, id, "model", "%s", e.msg);
    return -1;
}

static void sl_count_restored(struct sl_store_report *rep, int kind, bool in_history)
{
    if (in_history)
        rep->history++;
    else if (kind == SL_KIND_TEST)
        rep->tests++;
    else
        rep->canaries++;
}

static int sl_restore_test(struct sl_engine *eng, const char *id, const char *config,
                           const char *state, struct sl_store_report *rep)
{
    struct sl_codec_test c = {0};
    struct sl_codec_test_state s = {0};
    struct sl_err e;
    int rc = -1;
    if (sl_codec_test_decode(&c, config, strlen(config), &e)) {
        sl_store_report_fail(rep, id, "config", "%s", e.msg);
        goto done;
    }
    if (sl_codec_test_state_decode(&s, state, strlen(state), &e)) {
        sl_store_report_fail(rep, id, "state", "%s", e.msg);
        goto done;
    }
    c.cfg.id = id; /* the row's key is the id */
    if ((rc = sl_engine_restore_test(eng, &c.cfg, &s.st, &e)))
        sl_store_report_fail(rep, id, "restore", "%s", e.msg);
    else
        sl_count_restored(rep, SL_KIND_TEST, s.st.in_history);
done:
    sl_codec_test_destroy(&c);
    sl_codec_test_state_destroy(&s);
    return rc;
}

static int sl_restore_canary(struct sl_engine *eng, const char *id, const char *config,
                             const char *state, struct sl_store_report *rep)
{
    struct sl_codec_canary c = {0};
    struct sl_codec_canary_state s = {0};
    struct sl_err e;
    int rc = -1;
    if (sl_codec_canary_decode(&c, config, strlen(config), &e)) {
        sl_store_report_fail(rep, id, "config", "%s", e.msg);
        goto done;
    }
    if (sl_codec_canary_state_decode(&s, state, strlen(state), &e)) {
        sl_store_report_fail(rep, id, "state", "%s", e.msg);
        goto done;
    }
    c.cfg.id = id;
    if ((rc = sl_engine_restore_canary(eng, &c.cfg, &s.st, &e)))
        sl_store_report_fail(rep, id, "restore", "%s", e.msg);
    else
        sl_count_restored(rep, SL_KIND_CANARY, s.st.in_history);
done:
    sl_codec_canary_destroy(&c);
    sl_codec_canary_state_destroy(&s);
    return rc;
}

int sl_store_restore_object(struct sl_engine *eng, int kind, const char *id, const char *config,
                            const char *state, struct sl_store_report *rep)
{
    if (kind == SL_KIND_TEST)
        return sl_restore_test(eng, id, config, state, rep);
    if (kind == SL_KIND_CANARY)
        return sl_restore_canary(eng, id, config, state, rep);
    sl_store_report_fail(rep, id, "config", "unknown kind %d", kind);
    return -1;
}

/* Checkpoints of both arms as they are now (empty, right after a restore). */
static int sl_save_arms(struct sl_engine *eng, const char *id, void *buf[2], size_t len[2],
                        struct sl_err *err)
{
    for (int arm = 0; arm < 2; arm++) {
        len[arm] = sl_engine_save_metrics(eng, id, arm, NULL, 0, err);
        buf[arm] = len[arm] ? malloc(len[arm]) : NULL;
        if (!buf[arm])
            return len[arm] ? sl_err_set(err, SL_ENOMEM, "out of memory") : -1;
        sl_engine_save_metrics(eng, id, arm, buf[arm], len[arm], err);
    }
    return 0;
}

/* Unpack both arms' stored blobs (NULL stays NULL). */
static int sl_unpack_arms(const void *const blob[2], const size_t len[2], void *raw[2],
                          size_t rawlen[2], struct sl_err *err)
{
    for (int arm = 0; arm < 2; arm++)
        if (blob[arm] && sl_store_unpack(blob[arm], len[arm], &raw[arm], &rawlen[arm], err)) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof err->msg - n, " (arm %d)", arm);
            return -1;
        }
    return 0;
}

/* Load what is there; on a refusal put both arms back to empty. */
static int sl_load_arms(struct sl_engine *eng, const char *id, void *const raw[2],
                        const size_t len[2], void *const empty[2], const size_t elen[2],
                        struct sl_err *err)
{
    int arm = 0;
    while (arm < 2 &&
           (!raw[arm] || sl_engine_load_metrics(eng, id, arm, raw[arm], len[arm], err) == 0))
        arm++;
    if (arm == 2)
        return 0;
    for (int a = 0; a < 2; a++)
        sl_engine_load_metrics(eng, id, a, empty[a], elen[a], NULL);
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, " (arm %d)", arm);
    return -1;
}

int sl_store_restore_metrics(struct sl_engine *eng, const char *id, const void *const blob[2],
                             const size_t len[2], struct sl_store_report *rep)
{
    void *empty[2] = {NULL, NULL}, *raw[2] = {NULL, NULL};
    size_t elen[2] = {0, 0}, rawlen[2] = {0, 0};
    struct sl_err e = {0};
    int rc = -1;
    if (!blob[0] && !blob[1])
        return 0;
    if (sl_unpack_arms(blob, len, raw, rawlen, &e) || sl_save_arms(eng, id, empty, elen, &e) ||
        sl_load_arms(eng, id, raw, rawlen, empty, elen, &e)) {
        sl_store_report_fail(rep, id, "metrics", "%s; restored without metrics", e.msg);
        goto done;
    }
    rep->metrics++;
    rc = 0;
done:
    for (int arm = 0; arm < 2; arm++) {
        free(empty[arm]);
        free(raw[arm]);
    }
    return rc;
}

/* ---- checkpoint blobs -------------------------------------------------------------- */

static unsigned char *sl_grow(unsigned char **buf, size_t *cap, size_t n)
{
    if (n > *cap) {
        unsigned char *b = realloc(*buf, n);
        if (!b)
            return NULL;
        *buf = b;
        *cap = n;
    }
    return *buf;
}

void sl_store_scratch_free(struct sl_store_scratch *s)
{
    free(s->raw);
    free(s->packed);
    *s = (struct sl_store_scratch){0};
}

int sl_store_metrics_blob(struct sl_engine *eng, const char *id, int arm,
                          struct sl_store_scratch *s, const void **blob, size_t *len,
                          uint64_t *checksum, struct sl_err *err)
{
    /* one call when the scratch is big enough already (every call after the first) */
    size_t n = sl_engine_save_metrics(eng, id, arm, s->raw, s->rawcap, NULL);
    if (n < sizeof *checksum)
        return 0;
    if (n > s->rawcap && (!sl_grow(&s->raw, &s->rawcap, n) ||
                          !sl_engine_save_metrics(eng, id, arm, s->raw, n, NULL)))
        return sl_err_set(err, SL_ENOMEM, "store: out of memory checkpointing '%s'", id);
    if (!sl_grow(&s->packed, &s->packedcap, sl_store_pack_bound(n)))
        return sl_err_set(err, SL_ENOMEM, "store: out of memory checkpointing '%s'", id);
    memcpy(checksum, s->raw + n - sizeof *checksum, sizeof *checksum); /* the core's own */
    *len = sl_store_pack(s->raw, n, s->packed, s->packedcap);
    *blob = s->packed;
    return 1;
}

void sl_store_report_line(const struct sl_store_report *rep, char *buf, size_t size)
{
    snprintf(buf, size,
             "restored %zu model versions, %zu tests, %zu canaries, %zu finished (metrics for "
             "%zu), %zu overrides, %zu policy states; event log: %llu events up to seq %llu; "
             "%zu failures",
             rep->versions, rep->tests, rep->canaries, rep->history, rep->metrics, rep->overrides,
             rep->policy_states, (unsigned long long)rep->events, (unsigned long long)rep->last_seq,
             rep->nfailures);
}
