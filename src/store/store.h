/* store.h - persistence of an engine behind a small backend interface.
 *
 * Provides struct sl_store, a backend (struct sl_store_ops: SQLite now,
 * Redis later) behind one set of calls: save models, save a test or canary
 * (config + runtime state + sticky overrides), delete an evicted object,
 * append to the event log, save policy ctx.state, checkpoint metrics, load
 * everything back into an empty engine, and read the stored event log. Also
 * the backend-independent pieces a backend reuses (restoring one object, its
 * metrics, a model version; walking an engine's objects).
 *
 * Every call is a transaction of its own unless the caller has opened one
 * with sl_store_begin; calls nest (an inner failure undoes only itself), and
 * nothing a call wrote is durable before the outermost commit returns. Each
 * outermost commit of a lifecycle change costs a sync to disk, so a caller
 * with many changes at once (a tick's decisions and their events) should
 * wrap them in one transaction. A store is used by one thread at a time.
 *
 * Uses the public core API (sluice.h) and codec.h (configs and state are
 * kept as their JSON form). Knows nothing of Lua, libev or HTTP: the daemon
 * calls it, and it talks back only through the callbacks below (policy state
 * to the policy host at load, events to whoever reads the log). */
#ifndef SL_STORE_H
#define SL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

struct sl_store;

/* Hand one stored policy ctx.state (JSON text, borrowed for the call) to the
 * policy host. Return -1 with err to have it reported (loading goes on). */
typedef int (*sl_store_policy_fn)(void *ud, const char *id, const char *policy, const char *json,
                                  struct sl_err *err);
/* One stored event (borrowed for the call). Return nonzero to stop. */
typedef int (*sl_store_event_fn)(void *ud, const struct sl_event *ev);

#define SL_STORE_MAX_FAILURES 16

/* Something that could not be restored (the rest was). */
struct sl_store_failure {
    char id[SL_ID_MAX + 1]; /* object id, "model/version", or "id/policy" */
    char what[16];          /* "model" "config" "state" "restore" "metrics" "overrides" "policy" */
    char msg[SL_ERR_MSG_MAX];
};

/* What sl_store_load recovered. */
struct sl_store_report {
    size_t versions;      /* model versions registered */
    size_t tests;         /* active tests */
    size_t canaries;      /* active canaries */
    size_t history;       /* finished tests and canaries */
    size_t metrics;       /* objects whose metric checkpoints were loaded */
    size_t overrides;     /* sticky overrides */
    size_t policy_states; /* ctx.state entries accepted by the callback */
    uint64_t events;      /* events in the stored log */
    uint64_t last_seq;    /* highest stored event seq; the engine continues after it */
    size_t nfailures;     /* all failures; the first SL_STORE_MAX_FAILURES are kept */
    struct sl_store_failure failures[SL_STORE_MAX_FAILURES];
};

struct sl_store_ops {
    const char *name; /* "sqlite" */
    void (*close)(struct sl_store *s);
    int (*begin)(struct sl_store *s, struct sl_err *err);
    int (*commit)(struct sl_store *s, struct sl_err *err);
    int (*rollback)(struct sl_store *s, struct sl_err *err);
    int (*save_models)(struct sl_store *s, struct sl_engine *eng, struct sl_err *err);
    int (*save_object)(struct sl_store *s, struct sl_engine *eng, int kind, const char *id,
                       struct sl_err *err);
    int (*delete_object)(struct sl_store *s, const char *id, struct sl_err *err);
    int (*append_event)(struct sl_store *s, const struct sl_event *ev, struct sl_err *err);
    int (*prune_events)(struct sl_store *s, uint64_t after, uint64_t upto, size_t max_rows,
                        size_t *deleted, struct sl_err *err);
    int (*save_policy_state)(struct sl_store *s, const char *id, const char *policy,
                             const char *json, struct sl_err *err);
    int (*checkpoint)(struct sl_store *s, struct sl_engine *eng, struct sl_err *err);
    int (*load)(struct sl_store *s, struct sl_engine *eng, sl_store_policy_fn fn, void *ud,
                struct sl_store_report *rep, struct sl_err *err);
    int (*events)(struct sl_store *s, uint64_t since, size_t limit, sl_store_event_fn fn, void *ud,
                  struct sl_err *err);
};

struct sl_store {
    const struct sl_store_ops *ops;
    void *impl;
};

/* ---- backends ---------------------------------------------------------------------- */

/* Open (creating it with mode 0600 if needed, in an existing directory) the
 * SQLite database at path and bring its schema up to date. A database written
 * by a newer sluice (a schema version this code does not know) or a file that
 * is not a sluice database is refused with SL_EINVAL. Fills *out. */
int sl_store_sqlite_open(struct sl_store *out, const char *path, struct sl_err *err);

/* Copy the database at src to a new file dst (mode 0600) without writing to
 * src: a consistent snapshot, the WAL included, even while a daemon runs. */
int sl_store_sqlite_snapshot(const char *src, const char *dst, struct sl_err *err);

/* The schema version this build writes. */
int sl_store_sqlite_schema_version(void);

/* ---- calls (each forwards to the backend) ------------------------------------------ */

/* Close the store and clear *s. An open transaction is rolled back. NULL or a
 * closed store does nothing. */
void sl_store_close(struct sl_store *s);

/* Transactions: begin/commit/rollback nest. A failed commit leaves its
 * transaction open: roll it back. Rolling back with none open does nothing. */
int sl_store_begin(struct sl_store *s, struct sl_err *err);
int sl_store_commit(struct sl_store *s, struct sl_err *err);
int sl_store_rollback(struct sl_store *s, struct sl_err *err);

/* Replace the stored models by eng's: every model with its versions (path,
 * config, health) and its live version, in registration order. */
int sl_store_save_models(struct sl_store *s, struct sl_engine *eng, struct sl_err *err);

/* Replace the stored row of test/canary id: config, runtime state and (tests)
 * sticky overrides. An object entering history keeps its place in the history
 * order from the first save that sees it there. SL_ENOTFOUND for an unknown id. */
int sl_store_save_test(struct sl_store *s, struct sl_engine *eng, const char *id,
                       struct sl_err *err);
int sl_store_save_canary(struct sl_store *s, struct sl_engine *eng, const char *id,
                         struct sl_err *err);

/* Models, then every active test and canary, then the history oldest first,
 * in one transaction (first start, shutdown, or a store that fell behind). */
int sl_store_save_all(struct sl_store *s, struct sl_engine *eng, struct sl_err *err);

/* Forget an object (evicted from the engine's history): its row, metrics,
 * overrides and policy states. Unknown ids are not an error. */
int sl_store_delete_object(struct sl_store *s, const char *id, struct sl_err *err);

/* Append one event to the log (keyed by seq; appending a seq again changes
 * nothing). ev is borrowed. */
int sl_store_append_event(struct sl_store *s, const struct sl_event *ev, struct sl_err *err);

/* Forget the oldest stored events with after < seq <= upto, at most
 * max_rows of them (*deleted says how many: fewer than max_rows means none
 * is left), except the creations of tests and canaries (kept so that no id
 * is ever handed out twice). after is where an earlier prune was complete:
 * below it only creations are left, and the search starts past them. Keep
 * upto below the newest seq: the next one is numbered from what is stored. */
int sl_store_prune_events(struct sl_store *s, uint64_t after, uint64_t upto, size_t max_rows,
                          size_t *deleted, struct sl_err *err);

/* Save the ctx.state of (id, policy); json NULL deletes it. */
int sl_store_save_policy_state(struct sl_store *s, const char *id, const char *policy,
                               const char *json, struct sl_err *err);

/* Checkpoint the metric accumulators (both arms) of every started test and
 * canary, active and in history, and the runtime state of the active ones
 * (running time, allocation, sequential trackers, health checks), in one
 * transaction. Only objects already saved are checkpointed; an unchanged arm
 * is not rewritten. Writer thread of eng. */
int sl_store_checkpoint(struct sl_store *s, struct sl_engine *eng, struct sl_err *err);

/* Restore everything into an empty engine whose versions are not registered
 * yet: models, active tests and canaries, the history newest first, their
 * metric checkpoints and sticky overrides, then every policy state through fn
 * (may be NULL); the engine's event numbering continues after the stored log.
 * A row that cannot be restored is skipped and reported in *rep (an object
 * whose metrics are bad is restored without metrics); only a storage failure
 * returns -1, leaving the engine partly restored (discard it). Registering
 * the models makes the core log "add_version" events: a sink that persists
 * events should ignore those it receives during load. */
int sl_store_load(struct sl_store *s, struct sl_engine *eng, sl_store_policy_fn fn, void *ud,
                  struct sl_store_report *rep, struct sl_err *err);

/* Stored events with seq > since, oldest first, at most limit, to fn. */
int sl_store_events(struct sl_store *s, uint64_t since, size_t limit, sl_store_event_fn fn,
                    void *ud, struct sl_err *err);

/* One line summing up a report ("restored 3 versions, 2 tests, ... 1 failure"). */
void sl_store_report_line(const struct sl_store_report *rep, char *buf, size_t size);

/* ---- for backends: the engine side, independent of the storage --------------------- */

/* Note a failure in rep. */
void sl_store_report_fail(struct sl_store_report *rep, const char *id, const char *what,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Visit every test and canary of eng: active tests, active canaries, then the
 * history oldest first. Stops at and returns fn's first nonzero result. */
typedef int (*sl_store_visit_fn)(void *ud, int kind, const char *id, bool in_history);
int sl_store_each_object(struct sl_engine *eng, sl_store_visit_fn fn, void *ud);

/* The stored form of a test or canary (kind enum sl_kind): malloc'd JSON of
 * its config, and of its runtime state (*in_history set). NULL with err for
 * an unknown id or no memory. */
char *sl_store_config_json(struct sl_engine *eng, int kind, const char *id, struct sl_err *err);
char *sl_store_state_json(struct sl_engine *eng, int kind, const char *id, bool *in_history,
                          struct sl_err *err);

/* Register one stored model version; a failure is reported. */
int sl_store_restore_version(struct sl_engine *eng, const struct sl_version_config *cfg,
                             struct sl_store_report *rep);

/* Restore a test or canary from its stored JSON; a failure is reported
 * (what: "config", "state" or "restore"). */
int sl_store_restore_object(struct sl_engine *eng, int kind, const char *id, const char *config,
                            const char *state, struct sl_store_report *rep);

/* Metric checkpoints as backends store them: packed (zero runs replaced by
 * their length; see pack.c). pack writes at most sl_store_pack_bound(n)
 * bytes and returns how many, or 0 when cap is below the bound. unpack
 * checks the packing and returns a malloc'd copy of the raw bytes. */
size_t sl_store_pack_bound(size_t n);
size_t sl_store_pack(const void *src, size_t n, void *dst, size_t cap);
int sl_store_unpack(const void *src, size_t n, void **out, size_t *len, struct sl_err *err);

/* Buffers reused from one checkpoint to the next. */
struct sl_store_scratch {
    unsigned char *raw, *packed;
    size_t rawcap, packedcap;
};
void sl_store_scratch_free(struct sl_store_scratch *s);

/* One arm's metric checkpoint, packed into s: *blob (borrowed from s until
 * its next use), *len, and *checksum (changes whenever the checkpoint does).
 * Returns 1, or 0 when the object has no metrics (not started or unknown),
 * or -1 when out of memory. */
int sl_store_metrics_blob(struct sl_engine *eng, const char *id, int arm,
                          struct sl_store_scratch *s, const void **blob, size_t *len,
                          uint64_t *checksum, struct sl_err *err);

/* Load the stored (packed) checkpoints of both arms (blob[arm] NULL: none)
 * all or nothing: when one is refused, both arms are left empty and it is
 * reported. */
int sl_store_restore_metrics(struct sl_engine *eng, const char *id, const void *const blob[2],
                             const size_t len[2], struct sl_store_report *rep);

#endif
