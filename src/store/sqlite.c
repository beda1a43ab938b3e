/* sqlite.c - the SQLite store backend (see store.h).
 *
 * One connection in WAL mode. Every statement the backend runs is in the
 * sl_sql table below, prepared once on first use (SQLITE_PREPARE_PERSISTENT)
 * and kept in the impl; every step, bind and reset is checked. Transactions
 * nest: the outermost level is BEGIN IMMEDIATE (take the write lock up front,
 * so a second process waits on busy_timeout instead of failing at commit), the
 * inner ones are savepoints.
 *
 * Durability: the connection runs with synchronous=FULL, so the WAL is synced
 * at every commit. The daemon acknowledges a lifecycle change only after its
 * commit returns, and in WAL mode NORMAL would let the last commits vanish on
 * a power loss or kernel crash (the database stays consistent, but an
 * acknowledged "promoted" could roll back to "running"). Metric checkpoints,
 * which are rewritten every second and may lose one interval anyway, commit
 * with synchronous=NORMAL: no fsync on the loop for them; they become durable
 * with the next FULL commit or WAL checkpoint. A process crash (kill -9)
 * loses nothing committed in either mode.
 *
 * Schema: schema_version holds the version; sl_migrations[v] upgrades v to
 * v + 1 in one transaction, so schema 2 is one more function. A database of
 * a newer version is refused. A store is used by one thread at a time. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define SL_BUSY_TIMEOUT_MS 5000

enum sl_q {
    SL_Q_BEGIN = 0,
    SL_Q_COMMIT,
    SL_Q_ROLLBACK,
    SL_Q_SAVEPOINT,
    SL_Q_RELEASE,
    SL_Q_ROLLBACK_TO,
    SL_Q_MODELS_CLEAR,
    SL_Q_MODEL_PUT,
    SL_Q_OBJECT_PUT,
    SL_Q_OBJECT_STATE,
    SL_Q_OBJECT_DEL,
    SL_Q_OVERRIDES_CLEAR,
    SL_Q_OVERRIDE_PUT,
    SL_Q_METRICS_PUT,
    SL_Q_POLICY_PUT,
    SL_Q_POLICY_DEL,
    SL_Q_POLICY_DEL_ALL,
    SL_Q_EVENT_PUT,
    SL_Q_EVENTS_PRUNE,
    SL_Q_MODELS_GET,
    SL_Q_OBJECTS_GET,
    SL_Q_OVERRIDES_GET,
    SL_Q_METRICS_GET,
    SL_Q_POLICIES_GET,
    SL_Q_EVENTS_STAT,
    SL_Q_IDS_MAX,
    SL_Q_EVENTS_GET,
    SL_Q_VERSION_GET,
    SL_Q_VERSION_SET,
    SL_Q_N
};

static const char *const sl_sql[SL_Q_N] = {
    [SL_Q_BEGIN] = "BEGIN IMMEDIATE",
    [SL_Q_COMMIT] = "COMMIT",
    [SL_Q_ROLLBACK] = "ROLLBACK",
    [SL_Q_SAVEPOINT] = "SAVEPOINT sl",
    [SL_Q_RELEASE] = "RELEASE sl",
    [SL_Q_ROLLBACK_TO] = "ROLLBACK TO sl",
    [SL_Q_MODELS_CLEAR] = "DELETE FROM models",
    [SL_Q_MODEL_PUT] = "INSERT INTO models(model, version, ord, path, config, health, live) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* An object entering history takes the next place in the history order
     * and keeps it; one leaving history (never, today) loses it. */
    [SL_Q_OBJECT_PUT] =
        "INSERT INTO objects(id, kind, config, state, hist, saved_at) VALUES (?1, ?2, ?3, ?4, "
        "CASE WHEN ?5 THEN (SELECT COALESCE(MAX(hist), 0) + 1 FROM objects) END, ?6) "
        "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, config = excluded.config, "
        "state = excluded.state, saved_at = excluded.saved_at, hist = CASE WHEN excluded.hist "
        "IS NULL THEN NULL ELSE COALESCE(objects.hist, excluded.hist) END",
    [SL_Q_OBJECT_STATE] = "UPDATE objects SET state = ?2, saved_at = ?3 WHERE id = ?1",
    [SL_Q_OBJECT_DEL] = "DELETE FROM objects WHERE id = ?1",
    [SL_Q_OVERRIDES_CLEAR] = "DELETE FROM overrides WHERE id = ?1",
    [SL_Q_OVERRIDE_PUT] = "INSERT INTO overrides(id, unit, arm) VALUES (?1, ?2, ?3)",
    /* Only for saved objects; an arm whose checksum did not change is left alone. */
    [SL_Q_METRICS_PUT] =
        "INSERT INTO metrics(id, arm, checksum, at, blob) SELECT ?1, ?2, ?3, ?4, ?5 "
        "WHERE EXISTS (SELECT 1 FROM objects WHERE id = ?1) "
        "ON CONFLICT(id, arm) DO UPDATE SET checksum = excluded.checksum, at = excluded.at, "
        "blob = excluded.blob WHERE checksum IS NOT excluded.checksum",
    [SL_Q_POLICY_PUT] = "INSERT INTO policy_state(id, policy, state) VALUES (?1, ?2, ?3) "
                        "ON CONFLICT(id, policy) DO UPDATE SET state = excluded.state",
    [SL_Q_POLICY_DEL] = "DELETE FROM policy_state WHERE id = ?1 AND policy = ?2",
    [SL_Q_POLICY_DEL_ALL] = "DELETE FROM policy_state WHERE id = ?1",
    [SL_Q_EVENT_PUT] = "INSERT INTO events(seq, at, kind, subject, actor, action, from_state, "
                       "to_state, value, reason, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                       "?9, ?10, ?11) ON CONFLICT(seq) DO NOTHING",
    /* creations stay: the highest id ever handed out is read from them */
    [SL_Q_EVENTS_PRUNE] = "DELETE FROM events WHERE seq IN (SELECT seq FROM events"
                          " WHERE seq > ?3 AND seq <= ?1 AND action != 'create'"
                          " ORDER BY seq LIMIT ?2)",
    [SL_Q_MODELS_GET] = "SELECT model, version, path, config, health, live FROM models "
                        "ORDER BY ord",
    /* Active objects in creation order, then the history newest first. */
    [SL_Q_OBJECTS_GET] = "SELECT id, kind, config, state FROM objects "
                         "ORDER BY hist IS NOT NULL, hist DESC, rowid",
    [SL_Q_OVERRIDES_GET] = "SELECT unit, arm FROM overrides WHERE id = ?1",
    [SL_Q_METRICS_GET] = "SELECT arm, blob FROM metrics WHERE id = ?1",
    [SL_Q_POLICIES_GET] = "SELECT id, policy, state FROM policy_state ORDER BY id, policy",
    [SL_Q_EVENTS_STAT] = "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM events",
    /* the highest generated id ever handed out: created (the log keeps every
     * create) or still stored */
    [SL_Q_IDS_MAX] =
        "SELECT COALESCE(MAX(n), 0) FROM ("
        " SELECT CAST(substr(subject, 3) AS INTEGER) AS n FROM events"
        "  WHERE action = 'create' AND (subject GLOB 't-[0-9]*' OR subject GLOB 'c-[0-9]*')"
        " UNION ALL SELECT CAST(substr(id, 3) AS INTEGER) FROM objects"
        "  WHERE id GLOB 't-[0-9]*' OR id GLOB 'c-[0-9]*')",
    [SL_Q_EVENTS_GET] = "SELECT seq, at, kind, subject, actor, action, from_state, to_state, "
                        "value, reason, detail FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [SL_Q_VERSION_GET] = "SELECT version FROM schema_version",
    [SL_Q_VERSION_SET] = "UPDATE schema_version SET version = ?1",
};

struct sl_sqlite {
    sqlite3 *db;
    sqlite3_stmt *stmt[SL_Q_N];
    int depth; /* open transaction levels */
    struct sl_store_scratch scratch;
};

/* ---- statements -------------------------------------------------------------------- */

static int sl_fail(struct sl_sqlite *q, int rc, const char *what, struct sl_err *err)
{
    const char *msg =
        q->db && sqlite3_errcode(q->db) == rc ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
    return sl_err_set(err, (rc & 0xff) == SQLITE_NOMEM ? SL_ENOMEM : SL_EINTERNAL,
                      "store: %s (%.48s)", msg, what);
}

/* The cached statement id, prepared on first use. */
static sqlite3_stmt *sl_stmt(struct sl_sqlite *q, int id, struct sl_err *err)
{
    int rc = SQLITE_OK;
    if (!q->stmt[id])
        rc = sqlite3_prepare_v3(q->db, sl_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &q->stmt[id],
                                NULL);
    if (rc != SQLITE_OK)
        sl_fail(q, rc, sl_sql[id], err);
    return q->stmt[id];
}

/* Finish with st: rc is the bind or step result (DONE and ROW are fine).
 * Resets st either way, so it holds no lock and no borrowed binding. */
static int sl_finish(struct sl_sqlite *q, sqlite3_stmt *st, int rc, struct sl_err *err)
{
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sl_fail(q, rc, sqlite3_sql(st), err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

/* Step a bound statement that returns no rows; brc: the OR of its binds. */
static int sl_exec(struct sl_sqlite *q, sqlite3_stmt *st, int brc, struct sl_err *err)
{
    return sl_finish(q, st, brc != SQLITE_OK ? brc : sqlite3_step(st), err);
}

static int sl_run(struct sl_sqlite *q, int id, struct sl_err *err)
{
    sqlite3_stmt *st = sl_stmt(q, id, err);
    return st ? sl_exec(q, st, SQLITE_OK, err) : -1;
}

/* Bind a string (borrowed until the statement is reset) or NULL. */
static int sl_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int sl_bind_id(struct sl_sqlite *q, int id, const char *key, sqlite3_stmt **st,
                      struct sl_err *err)
{
    *st = sl_stmt(q, id, err);
    return *st ? sl_bind_text(*st, 1, key) : -1;
}

/* Run statement id with ?1 = key. */
static int sl_run_id(struct sl_sqlite *q, int id, const char *key, struct sl_err *err)
{
    sqlite3_stmt *st;
    int brc = sl_bind_id(q, id, key, &st, err);
    return st ? sl_exec(q, st, brc, err) : -1;
}

static const char *sl_col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* ---- transactions ------------------------------------------------------------------ */

static int sl_begin(struct sl_sqlite *q, struct sl_err *err)
{
    if (sl_run(q, q->depth ? SL_Q_SAVEPOINT : SL_Q_BEGIN, err))
        return -1;
    q->depth++;
    return 0;
}

static int sl_commit(struct sl_sqlite *q, struct sl_err *err)
{
    if (q->depth == 0)
        return sl_err_set(err, SL_ESTATE, "store: commit without a transaction");
    if (sl_run(q, q->depth == 1 ? SL_Q_COMMIT : SL_Q_RELEASE, err))
        return -1;
    q->depth--;
    return 0;
}

static int sl_rollback(struct sl_sqlite *q, struct sl_err *err)
{
    if (q->depth > 0 && sqlite3_get_autocommit(q->db))
        q->depth = 0; /* SQLite already rolled back (after a disk full or I/O error) */
    if (q->depth == 0)
        return 0;
    int rc = q->depth == 1 ? sl_run(q, SL_Q_ROLLBACK, err)
                           : sl_run(q, SL_Q_ROLLBACK_TO, err) || sl_run(q, SL_Q_RELEASE, err);
    q->depth--;
    return rc ? -1 : 0;
}

typedef int (*sl_txn_fn)(struct sl_sqlite *q, void *arg, struct sl_err *err);

/* Run fn in a (nested) transaction: all of it or nothing. */
static int sl_txn(struct sl_sqlite *q, sl_txn_fn fn, void *arg, struct sl_err *err)
{
    if (sl_begin(q, err))
        return -1;
    if (fn(q, arg, err) == 0 && sl_commit(q, err) == 0)
        return 0;
    sl_rollback(q, NULL);
    return -1;
}

static int sl_sqlite_begin(struct sl_store *s, struct sl_err *err)
{
    return sl_begin(s->impl, err);
}

static int sl_sqlite_commit(struct sl_store *s, struct sl_err *err)
{
    return sl_commit(s->impl, err);
}

static int sl_sqlite_rollback(struct sl_store *s, struct sl_err *err)
{
    return sl_rollback(s->impl, err);
}

/* ---- models ------------------------------------------------------------------------ */

static int sl_put_version(struct sl_sqlite *q, const struct sl_model_info *m,
                          const struct sl_version_info *v, int ord, struct sl_err *err)
{
    sqlite3_stmt *st;
    int brc = sl_bind_id(q, SL_Q_MODEL_PUT, m->id, &st, err);
    if (!st)
        return -1;
    brc |= sl_bind_text(st, 2, v->version);
    brc |= sqlite3_bind_int(st, 3, ord);
    brc |= sl_bind_text(st, 4, v->path);
    brc |= sl_bind_text(st, 5, v->config);
    brc |= sqlite3_bind_int(st, 6, v->health);
    brc |= sqlite3_bind_int(st, 7, m->live && strcmp(m->live, v->version) == 0);
    return sl_exec(q, st, brc, err);
}

static int sl_models_txn(struct sl_sqlite *q, void *arg, struct sl_err *err)
{
    struct sl_engine *eng = arg;
    struct sl_model_info m;
    struct sl_version_info v;
    int ord = 0;
    if (sl_run(q, SL_Q_MODELS_CLEAR, err))
        return -1;
    for (size_t i = 0; sl_engine_model_at(eng, i, &m) == 0; i++)
        for (size_t j = 0; sl_engine_model_version_at(eng, m.id, j, &v) == 0; j++)
            if (sl_put_version(q, &m, &v, ord++, err))
                return -1;
    return 0;
}

static int sl_sqlite_save_models(struct sl_store *s, struct sl_engine *eng, struct sl_err *err)
{
    return sl_txn(s->impl, sl_models_txn, eng, err);
}

/* ---- tests and canaries ------------------------------------------------------------ */

struct sl_object_row {
    struct sl_engine *eng;
    int kind;
    const char *id;
    char *config, *state;
    bool in_history;
};

static int sl_put_object(struct sl_sqlite *q, const struct sl_object_row *r, struct sl_err *err)
{
    sqlite3_stmt *st;
    int brc = sl_bind_id(q, SL_Q_OBJECT_PUT, r->id, &st, err);
    if (!st)
        return -1;
    brc |= sl_bind_text(st, 2, r->kind == SL_KIND_TEST ? "test" : "canary");
    brc |= sl_bind_text(st, 3, r->config);
    brc |= sl_bind_text(st, 4, r->state);
    brc |= sqlite3_bind_int(st, 5, r->in_history);
    brc |= sqlite3_bind_double(st, 6, sl_engine_now(r->eng));
    return sl_exec(q, st, brc, err);
}

static int sl_put_override(struct sl_sqlite *q, const char *id, const char *unit, int arm,
                           struct sl_err *err)
{
    sqlite3_stmt *st;
    int brc = sl_bind_id(q, SL_Q_OVERRIDE_PUT, id, &st, err);
    if (!st)
        return -1;
    brc |= sl_bind_text(st, 2, unit);
    brc |= sqlite3_bind_int(st, 3, arm);
    return sl_exec(q, st, brc, err);
}

/* The engine keeps no overrides for finished tests, so neither does the store. */
static int sl_object_txn(struct sl_sqlite *q, void *arg, struct sl_err *err)
{
    const struct sl_object_row *r = arg;
    const char *unit;
    int arm;
    if (sl_put_object(q, r, err) || sl_run_id(q, SL_Q_OVERRIDES_CLEAR, r->id, err))
        return -1;
    for (size_t i = 0; r->kind == SL_KIND_TEST && !r->in_history &&
                       sl_engine_override_at(r->eng, r->id, i, &unit, &arm) == 0;
         i++)
        if (sl_put_override(q, r->id, unit, arm, err))
            return -1;
    return 0;
}

static int sl_sqlite_save_object(struct sl_store *s, struct sl_engine *eng, int kind,
                                 const char *id, struct sl_err *err)
{
    struct sl_object_row r = {.eng = eng, .kind = kind, .id = id};
    int rc = -1;
    if (!(r.config = sl_store_config_json(eng, kind, id, err)) ||
        !(r.state = sl_store_state_json(eng, kind, id, &r.in_history, err)))
        goto done;
    rc = sl_txn(s->impl, sl_object_txn, &r, err);
done:
    free(r.config);
    free(r.state);
    return rc;
}

static int sl_delete_txn(struct sl_sqlite *q, void *arg, struct sl_err *err)
{
    const char *id = arg;
    /* metrics and overrides follow by ON DELETE CASCADE */
    return sl_run_id(q, SL_Q_OBJECT_DEL, id, err) || sl_run_id(q, SL_Q_POLICY_DEL_ALL, id, err) ? -1
                                                                                                : 0;
}

static int sl_sqlite_delete_object(struct sl_store *s, const char *id, struct sl_err *err)
{
    return sl_txn(s->impl, sl_delete_txn, (void *)id, err);
}

/* ---- events and policy state ------------------------------------------------------- */

static int sl_sqlite_append_event(struct sl_store *s, const struct sl_event *ev, struct sl_err *err)
{
    struct sl_sqlite *q = s->impl;
    sqlite3_stmt *st = sl_stmt(q, SL_Q_EVENT_PUT, err);
    if (!st)
        return -1;
    int brc = sqlite3_bind_int64(st, 1, (sqlite3_int64)ev->seq);
    brc |= sqlite3_bind_double(st, 2, ev->at);
    brc |= sqlite3_bind_int(st, 3, ev->kind);
    brc |= sl_bind_text(st, 4, ev->subject);
    brc |= sl_bind_text(st, 5, ev->actor);
    brc |= sl_bind_text(st, 6, ev->action);
    brc |= sl_bind_text(st, 7, ev->from);
    brc |= sl_bind_text(st, 8, ev->to);
    brc |= sqlite3_bind_double(st, 9, ev->value); /* NaN is stored as NULL */
    brc |= sl_bind_text(st, 10, ev->reason);
    brc |= sl_bind_text(st, 11, ev->detail);
    return sl_exec(q, st, brc, err);
}

static int sl_sqlite_prune_events(struct sl_store *s, uint64_t after, uint64_t upto,
                                  size_t max_rows, size_t *deleted, struct sl_err *err)
{
    struct sl_sqlite *q = s->impl;
    sqlite3_stmt *st = sl_stmt(q, SL_Q_EVENTS_PRUNE, err);
    *deleted = 0;
    if (!st)
        return -1;
    int brc = sqlite3_bind_int64(st, 1, (sqlite3_int64)upto);
    brc |= sqlite3_bind_int64(st, 2, (sqlite3_int64)max_rows);
    brc |= sqlite3_bind_int64(st, 3, (sqlite3_int64)after);
    if (sl_exec(q, st, brc, err))
        return -1;
    *deleted = (size_t)sqlite3_changes(q->db);
    return 0;
}

static int sl_sqlite_save_policy_state(struct sl_store *s, const char *id, const char *policy,
                                       const char *json, struct sl_err *err)
{
    struct sl_sqlite *q = s->impl;
    sqlite3_stmt *st;
    int brc = sl_bind_id(q, json ? SL_Q_POLICY_PUT : SL_Q_POLICY_DEL, id, &st, err);
    if (!st)
        return -1;
    brc |= sl_bind_text(st, 2, policy);
    if (json)
        brc |= sl_bind_text(st, 3, json);
    return sl_exec(q, st, brc, err);
}

/* Stored event row -> struct sl_event (detail borrowed from the row). */
static void sl_event_row(sqlite3_stmt *st, struct sl_event *ev)
{
    const char *t;
    ev->seq = (uint64_t)sqlite3_column_int64(st, 0);
    ev->at = sqlite3_column_double(st, 1);
    ev->kind = sqlite3_column_int(st, 2);
    snprintf(ev->subject, sizeof ev->subject, "%s", (t = sl_col_text(st, 3)) ? t : "");
    snprintf(ev->actor, sizeof ev->actor, "%s", (t = sl_col_text(st, 4)) ? t : "");
    snprintf(ev->action, sizeof ev->action, "%s", (t = sl_col_text(st, 5)) ? t : "");
    snprintf(ev->from, sizeof ev->from, "%s", (t = sl_col_text(st, 6)) ? t : "");
    snprintf(ev->to, sizeof ev->to, "%s", (t = sl_col_text(st, 7)) ? t : "");
    ev->value = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 8);
    snprintf(ev->reason, sizeof ev->reason, "%s", (t = sl_col_text(st, 9)) ? t : "");
    ev->detail = (char *)sqlite3_column_text(st, 10);
}

static int sl_sqlite_events(struct sl_store *s, uint64_t since, size_t limit, sl_store_event_fn fn,
                            void *ud, struct sl_err *err)
{
    struct sl_sqlite *q = s->impl;
    sqlite3_stmt *st = sl_stmt(q, SL_Q_EVENTS_GET, err);
    if (!st)
        return -1;
    sqlite3_int64 lim = limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)limit;
    int rc =
        sqlite3_bind_int64(st, 1, since > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)since);
    rc |= sqlite3_bind_int64(st, 2, lim);
    struct sl_event ev;
    if (rc == SQLITE_OK)
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            sl_event_row(st, &ev);
            if (fn(ud, &ev))
                break;
        }
    return sl_finish(q, st, rc, err);
}

/* ---- checkpoints ------------------------------------------------------------------- */

struct sl_ckpt {
    struct sl_sqlite *q;
    struct sl_engine *eng;
    struct sl_err *err;
};

static int sl_ckpt_state(struct sl_ckpt *c, int kind, const char *id)
{
    bool in_history;
    char *state = sl_store_state_json(c->eng, kind, id, &in_history, c->err);
    sqlite3_stmt *st;
    int rc = -1, brc;
    if (!state)
        goto done;
    brc = sl_bind_id(c->q, SL_Q_OBJECT_STATE, id, &st, c->err);
    if (!st)
        goto done;
    brc |= sl_bind_text(st, 2, state);
    brc |= sqlite3_bind_double(st, 3, sl_engine_now(c->eng));
    rc = sl_exec(c->q, st, brc, c->err);
done:
    free(state);
    return rc;
}

static int sl_ckpt_arm(struct sl_ckpt *c, const char *id, int arm)
{
    const void *blob;
    size_t len;
    uint64_t sum;
    int got = sl_store_metrics_blob(c->eng, id, arm, &c->q->scratch, &blob, &len, &sum, c->err);
    if (got <= 0)
        return got; /* 0: not started, no metrics */
    sqlite3_stmt *st;
    int brc = sl_bind_id(c->q, SL_Q_METRICS_PUT, id, &st, c->err);
    if (!st)
        return -1;
    brc |= sqlite3_bind_int(st, 2, arm);
    brc |= sqlite3_bind_int64(st, 3, (sqlite3_int64)sum);
    brc |= sqlite3_bind_double(st, 4, sl_engine_now(c->eng));
    brc |= sqlite3_bind_blob64(st, 5, blob, len, SQLITE_STATIC);
    return sl_exec(c->q, st, brc, c->err);
}

static int sl_ckpt_visit(void *ud, int kind, const char *id, bool in_history)
{
    struct sl_ckpt *c = ud;
    if (!in_history && sl_ckpt_state(c, kind, id))
        return -1;
    return sl_ckpt_arm(c, id, 0) || sl_ckpt_arm(c, id, 1) ? -1 : 0;
}

static int sl_ckpt_txn(struct sl_sqlite *q, void *arg, struct sl_err *err)
{
    struct sl_ckpt c = {q, arg, err};
    return sl_store_each_object(c.eng, sl_ckpt_visit, &c);
}

static int sl_pragma(struct sl_sqlite *q, const char *sql, struct sl_err *err)
{
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sl_fail(q, rc, sql, err);
}

static int sl_sqlite_checkpoint(struct sl_store *s, struct sl_engine *eng, struct sl_err *err)
{
    struct sl_sqlite *q = s->impl;
    bool own = q->depth == 0; /* inside a caller's transaction its commit decides */
    if (own && sl_pragma(q, "PRAGMA synchronous=NORMAL", err))
        return -1;
    int rc = sl_txn(q, sl_ckpt_txn, eng, err);
    if (own && sl_pragma(q, "PRAGMA synchronous=FULL", rc ? NULL : err))
        rc = -1;
    return rc;
}

/* ---- load -------------------------------------------------------------------------- */

struct sl_load {
    struct sl_engine *eng;
    sl_store_policy_fn fn;
    void *ud;
    struct sl_store_report *rep;
};

static int sl_load_seq(struct sl_sqlite *q, struct sl_load *l, struct sl_err *err)
{
    sqlite3_stmt *st = sl_stmt(q, SL_Q_EVENTS_STAT, err);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        l->rep->events = (uint64_t)sqlite3_column_int64(st, 0);
        l->rep->last_seq = (uint64_t)sqlite3_column_int64(st, 1);
        /* before anything is registered: restore-time events number after the log */
        sl_engine_set_next_seq(l->eng, l->rep->last_seq + 1);
    }
    if (sl_finish(q, st, rc, err))
        return -1;
    /* ids too: one evicted from history is in no table but the log */
    if (!(st = sl_stmt(q, SL_Q_IDS_MAX, err)))
        return -1;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
        sl_engine_set_next_id(l->eng, (uint64_t)sqlite3_column_int64(st, 0) + 1);
    return sl_finish(q, st, rc, err);
}

static int sl_load_models(struct sl_sqlite *q, struct sl_load *l, struct sl_err *err)
{
    sqlite3_stmt *st = sl_stmt(q, SL_Q_MODELS_GET, err);
    int rc;
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sl_version_config v = {
            .model = sl_col_text(st, 0),
            .version = sl_col_text(st, 1),
            .path = sl_col_text(st, 2),
            .config = sl_col_text(st, 3),
            .health = sqlite3_column_int(st, 4),
            .live = sqlite3_column_int(st, 5) != 0,
        };
        sl_store_restore_version(l->eng, &v, l->rep);
    }
    return sl_finish(q, st, rc, err);
}

static int sl_load_overrides(struct sl_sqlite *q, struct sl_load *l, const char *id,
                             struct sl_err *err)
{
    sqlite3_stmt *st;
    int rc = sl_bind_id(q, SL_Q_OVERRIDES_GET, id, &st, err);
    struct sl_err e;
    if (!st)
        return -1;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sl_engine_set_override(l->eng, id, sl_col_text(st, 0), sqlite3_column_int(st, 1), &e) ==
            0)
            l->rep->overrides++;
        else
            sl_store_report_fail(l->rep, id, "overrides", "%s", e.msg);
        rc = SQLITE_OK;
    }
    return sl_finish(q, st, rc, err);
}

/* Copy the blob of a metrics row into blob[arm] (first row per arm wins). */
static int sl_copy_blob(sqlite3_stmt *st, void *blob[2], size_t len[2])
{
    int arm = sqlite3_column_int(st, 0);
    if (arm < 0 || arm > 1 || blob[arm])
        return SQLITE_OK;
    size_t n = (size_t)sqlite3_column_bytes(st, 1);
    const void *b = sqlite3_column_blob(st, 1);
    if (!(blob[arm] = malloc(n ? n : 1)))
        return SQLITE_NOMEM;
    if (n)
        memcpy(blob[arm], b, n);
    len[arm] = n;
    return SQLITE_OK;
}

static int sl_load_metrics(struct sl_sqlite *q, struct sl_load *l, const char *id,
                           struct sl_err *err)
{
    void *blob[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    sqlite3_stmt *st;
    int rc = sl_bind_id(q, SL_Q_METRICS_GET, id, &st, err);
    if (!st)
        return -1;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        rc = sl_copy_blob(st, blob, len);
    if ((rc = sl_finish(q, st, rc, err)) == 0)
        sl_store_restore_metrics(l->eng, id, (const void *const *)blob, len, l->rep);
    free(blob[0]);
    free(blob[1]);
    return rc;
}

static int sl_load_object(struct sl_sqlite *q, struct sl_load *l, sqlite3_stmt *st,
                          struct sl_err *err)
{
    const char *id = sl_col_text(st, 0), *kind = sl_col_text(st, 1);
    const char *config = sl_col_text(st, 2), *state = sl_col_text(st, 3);
    int k = kind && strcmp(kind, "test") == 0     ? SL_KIND_TEST
            : kind && strcmp(kind, "canary") == 0 ? SL_KIND_CANARY
                                                  : SL_KIND_NONE;
    if (!id ||
        sl_store_restore_object(l->eng, k, id, config ? config : "", state ? state : "", l->rep))
        return 0; /* reported; the rest goes on */
    if (k == SL_KIND_TEST && sl_load_overrides(q, l, id, err))
        return -1;
    return sl_load_metrics(q, l, id, err);
}

static int sl_load_objects(struct sl_sqlite *q, struct sl_load *l, struct sl_err *err)
{
    sqlite3_stmt *st = sl_stmt(q, SL_Q_OBJECTS_GET, err);
    int rc;
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (sl_load_object(q, l, st, err)) {
            sqlite3_reset(st);
            return -1;
        }
    return sl_finish(q, st, rc, err);
}

static void sl_load_policy(struct sl_load *l, sqlite3_stmt *st)
{
    const char *id = sl_col_text(st, 0), *policy = sl_col_text(st, 1);
    struct sl_err e = {0};
    char key[SL_ID_MAX + 1];
    if (l->fn(l->ud, id, policy, sl_col_text(st, 2), &e) == 0) {
        l->rep->policy_states++;
        return;
    }
    snprintf(key, sizeof key, "%.128s/%.127s", id ? id : "", policy ? policy : "");
    sl_store_report_fail(l->rep, key, "policy", "%s", e.msg[0] ? e.msg : "refused");
}

static int sl_load_policies(struct sl_sqlite *q, struct sl_load *l, struct sl_err *err)
{
    sqlite3_stmt *st = l->fn ? sl_stmt(q, SL_Q_POLICIES_GET, err) : NULL;
    int rc;
    if (!st)
        return l->fn ? -1 : 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        sl_load_policy(l, st);
    return sl_finish(q, st, rc, err);
}

static int sl_load_txn(struct sl_sqlite *q, void *arg, struct sl_err *err)
{
    struct sl_load *l = arg;
    return sl_load_seq(q, l, err) || sl_load_models(q, l, err) || sl_load_objects(q, l, err) ||
                   sl_load_policies(q, l, err)
               ? -1
               : 0;
}

static int sl_sqlite_load(struct sl_store *s, struct sl_engine *eng, sl_store_policy_fn fn,
                          void *ud, struct sl_store_report *rep, struct sl_err *err)
{
    struct sl_load l = {eng, fn, ud, rep};
    return sl_txn(s->impl, sl_load_txn, &l, err);
}

/* ---- schema ------------------------------------------------------------------------ */

static int sl_migrate_v1(struct sl_sqlite *q, struct sl_err *err)
{
    static const char sql[] =
        "CREATE TABLE schema_version (version INTEGER NOT NULL);"
        "INSERT INTO schema_version VALUES (0);"
        "CREATE TABLE models (model TEXT NOT NULL, version TEXT NOT NULL, ord INTEGER NOT NULL,"
        " path TEXT, config TEXT, health INTEGER NOT NULL, live INTEGER NOT NULL,"
        " PRIMARY KEY (model, version)) WITHOUT ROWID;"
        "CREATE TABLE objects (id TEXT PRIMARY KEY NOT NULL,"
        " kind TEXT NOT NULL CHECK (kind IN ('test', 'canary')),"
        " config TEXT NOT NULL, state TEXT NOT NULL,"
        " hist INTEGER," /* place in the history (larger = newer); NULL while active */
        " saved_at REAL NOT NULL);"
        "CREATE INDEX objects_by_hist ON objects (hist);"
        "CREATE TABLE overrides (id TEXT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,"
        " unit TEXT NOT NULL, arm INTEGER NOT NULL CHECK (arm IN (0, 1)),"
        " PRIMARY KEY (id, unit)) WITHOUT ROWID;"
        /* blob: the packed checkpoint (a few KB); a rowid table, blob last so
         * that the checksum is read without the overflow pages */
        "CREATE TABLE metrics (id TEXT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,"
        " arm INTEGER NOT NULL CHECK (arm IN (0, 1)), checksum INTEGER NOT NULL,"
        " at REAL NOT NULL, blob BLOB NOT NULL, PRIMARY KEY (id, arm));"
        "CREATE TABLE policy_state (id TEXT NOT NULL, policy TEXT NOT NULL,"
        " state TEXT NOT NULL, PRIMARY KEY (id, policy)) WITHOUT ROWID;"
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, at REAL NOT NULL, kind INTEGER NOT NULL,"
        " subject TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
        " from_state TEXT NOT NULL, to_state TEXT NOT NULL, value REAL, reason TEXT NOT NULL,"
        " detail TEXT);";
    return sl_pragma(q, sql, err);
}

/* sl_migrations[v] upgrades a database of version v to v + 1. */
typedef int (*sl_migrate_fn)(struct sl_sqlite *q, struct sl_err *err);
static const sl_migrate_fn sl_migrations[] = {sl_migrate_v1};
#define SL_SCHEMA_VERSION ((int)(sizeof sl_migrations / sizeof sl_migrations[0]))

int sl_store_sqlite_schema_version(void)
{
    return SL_SCHEMA_VERSION;
}

/* The version of an open database: 0 when empty. */
static int sl_schema_read(struct sl_sqlite *q, int *version, struct sl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, "SELECT name FROM sqlite_schema WHERE type = 'table'", -1,
                                &st, NULL);
    bool tables = false, ours = false;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        tables = true;
        ours |= strcmp(sl_col_text(st, 0), "schema_version") == 0;
        rc = SQLITE_OK;
    }
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return sl_fail(q, rc, "reading the schema", err);
    if (tables && !ours)
        return sl_err_set(err, SL_EINVAL, "store: not a sluice database (no schema_version)");
    *version = 0;
    if (!ours)
        return 0;
    if (!(st = sl_stmt(q, SL_Q_VERSION_GET, err)))
        return -1;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    if (rc == SQLITE_DONE) {
        sl_finish(q, st, rc, NULL);
        return sl_err_set(err, SL_EINVAL, "store: schema_version is empty");
    }
    return sl_finish(q, st, rc, err);
}

static int sl_schema_step(struct sl_sqlite *q, int v, struct sl_err *err)
{
    if (sl_migrations[v](q, err))
        return -1;
    sqlite3_stmt *st = sl_stmt(q, SL_Q_VERSION_SET, err);
    return st ? sl_exec(q, st, sqlite3_bind_int(st, 1, v + 1), err) : -1;
}

static int sl_schema_txn(struct sl_sqlite *q, void *arg, struct sl_err *err)
{
    int v;
    (void)arg;
    if (sl_schema_read(q, &v, err))
        return -1;
    if (v > SL_SCHEMA_VERSION)
        return sl_err_set(err, SL_EINVAL,
                          "store: the database has schema version %d, newer than this sluice "
                          "(which knows versions up to %d): upgrade sluice",
                          v, SL_SCHEMA_VERSION);
    for (; v < SL_SCHEMA_VERSION; v++)
        if (sl_schema_step(q, v, err))
            return -1;
    return 0;
}

/* ---- open and close ---------------------------------------------------------------- */

static void sl_sqlite_free(struct sl_sqlite *q)
{
    if (!q)
        return;
    sl_rollback(q, NULL);
    for (int i = 0; i < SL_Q_N; i++)
        sqlite3_finalize(q->stmt[i]);
    sqlite3_close(q->db);
    sl_store_scratch_free(&q->scratch);
    free(q);
}

static void sl_sqlite_close(struct sl_store *s)
{
    sl_sqlite_free(s->impl);
    s->impl = NULL;
}

/* Create the file ourselves: SQLite would create it 0644, and its -wal and
 * -shm files take the database file's mode. */
static int sl_create_file(const char *path, struct sl_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return sl_err_set(err, SL_EINVAL, "store: cannot open '%s': %s", path, strerror(errno));
    close(fd);
    return 0;
}

static int sl_journal_wal(struct sl_sqlite *q, struct sl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW &&
        sqlite3_stricmp(sl_col_text(st, 0), "wal") != 0)
        rc = SQLITE_CANTOPEN;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return sl_fail(q, rc, "PRAGMA journal_mode=WAL", err);
    return 0;
}

static int sl_connect(struct sl_sqlite *q, const char *path, struct sl_err *err)
{
    int rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return sl_fail(q, rc, path, err);
    if ((rc = sqlite3_extended_result_codes(q->db, 1)) != SQLITE_OK ||
        (rc = sqlite3_busy_timeout(q->db, SL_BUSY_TIMEOUT_MS)) != SQLITE_OK)
        return sl_fail(q, rc, "configuring the connection", err);
    return sl_journal_wal(q, err) || sl_pragma(q, "PRAGMA foreign_keys=ON", err) ||
                   sl_pragma(q, "PRAGMA synchronous=FULL", err)
               ? -1
               : 0;
}

static const struct sl_store_ops sl_sqlite_ops = {
    .name = "sqlite",
    .close = sl_sqlite_close,
    .begin = sl_sqlite_begin,
    .commit = sl_sqlite_commit,
    .rollback = sl_sqlite_rollback,
    .save_models = sl_sqlite_save_models,
    .save_object = sl_sqlite_save_object,
    .delete_object = sl_sqlite_delete_object,
    .append_event = sl_sqlite_append_event,
    .prune_events = sl_sqlite_prune_events,
    .save_policy_state = sl_sqlite_save_policy_state,
    .checkpoint = sl_sqlite_checkpoint,
    .load = sl_sqlite_load,
    .events = sl_sqlite_events,
};

int sl_store_sqlite_open(struct sl_store *out, const char *path, struct sl_err *err)
{
    struct sl_sqlite *q = calloc(1, sizeof *q);
    int rc = -1;
    *out = (struct sl_store){0};
    if (!q) {
        sl_err_set(err, SL_ENOMEM, "store: out of memory");
        goto done;
    }
    if (sl_create_file(path, err) || sl_connect(q, path, err) ||
        sl_txn(q, sl_schema_txn, NULL, err))
        goto done;
    *out = (struct sl_store){&sl_sqlite_ops, q};
    q = NULL;
    rc = 0;
done:
    sl_sqlite_free(q);
    return rc;
}

int sl_store_sqlite_snapshot(const char *src, const char *dst, struct sl_err *err)
{
    sqlite3 *from = NULL, *to = NULL;
    if (access(src, R_OK) != 0)
        return sl_err_set(err, SL_EINVAL, "store: cannot read '%s': %s", src, strerror(errno));
    if (sl_create_file(dst, err))
        return -1;
    int rc = sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_open_v2(dst, &to, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
        int step = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
        rc = b ? sqlite3_backup_finish(b) : sqlite3_errcode(to);
        if (rc == SQLITE_OK && step != SQLITE_DONE)
            rc = step;
    }
    if (rc != SQLITE_OK)
        sl_err_set(err, SL_EINVAL, "store: cannot snapshot '%s': %s", src,
                   sqlite3_errmsg(to ? to : from));
    sqlite3_close(to);
    sqlite3_close(from);
    return rc == SQLITE_OK ? 0 : -1;
}
