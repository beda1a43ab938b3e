/* sluice.h - the public C API of libsluice, the sluice experimentation core.
 *
 * Provides an in-memory engine that owns a model registry, A/B tests, canary
 * deployments, routing, per-variant metrics (counters, latency sketch, rolling
 * windows) and an append-only event log. Time is injected through a clock
 * callback: nothing here reads the wall clock unless you pass sl_clock_wall.
 * Uses libc, libm, pthreads and libxxhash. Knows nothing of Lua, libev, HTTP,
 * JSON or files: those layers (src/lua, src/server, src/store) sit on top and
 * talk back only through the callbacks declared here (clock, event sink).
 *
 * Thread safety, exactly:
 *   - ONE writer thread at a time may call everything except the functions
 *     marked [any thread]. The writer thread is whichever thread created the
 *     engine or the embedder's control thread; serialise writers yourself.
 *   - sl_engine_route, sl_engine_record, sl_engine_record_route and
 *     sl_engine_metric_index are [any thread]: they may run on many threads at
 *     once, concurrently with the writer. They take no lock and never allocate.
 *   - Strings returned by sl_engine_route stay valid on the calling thread until
 *     that thread's next route/record call on the same engine (or engine
 *     destruction). Copy them if you need them longer.
 *   - Retired routing snapshots are freed at the next publish (any writer call
 *     that changes routing) or sl_engine_tick once every thread that ever
 *     routed has made a later route/record call; a thread that stops routing
 *     for good should call sl_engine_thread_detach.
 *
 * Error convention: functions return 0 (or a pointer) on success, -1 (or NULL)
 * on failure and fill the caller-supplied struct sl_err, which may be NULL.
 * A failed call changes nothing. */
#ifndef SLUICE_H
#define SLUICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SLUICE_VERSION "0.1.0"

#define SL_ID_MAX         256  /* bytes; ids, model names, versions, unit ids */
#define SL_TEXT_MAX       4096 /* bytes; names, descriptions, reasons */
#define SL_MAX_METRICS    16   /* declared custom metrics per test or canary */
#define SL_MAX_TAGS       32
#define SL_MAX_RAMP       64         /* ramp schedule steps */
#define SL_MAX_CRITERIA   16         /* canary promotion criteria */
#define SL_LATENCY_MAX_MS 86400000.0 /* one day: larger values are rejected */

struct sl_engine;

/* ---- clock --------------------------------------------------------------- */

/* Returns the current time in seconds (any epoch, monotone non-decreasing). */
typedef double (*sl_clock_fn)(void *ud);

/* The wall clock (CLOCK_REALTIME, seconds since the Unix epoch). */
double sl_clock_wall(void *ud);

/* ---- enums ---------------------------------------------------------------- */

enum sl_health {
    SL_HEALTH_HEALTHY = 0,
    SL_HEALTH_DEGRADED,
    SL_HEALTH_UNHEALTHY,
    SL_HEALTH_LOADING,
    SL_HEALTH_FAILED,
};

enum sl_test_status {
    SL_TEST_DRAFT = 0,
    SL_TEST_STARTING,
    SL_TEST_RUNNING,
    SL_TEST_PAUSED,
    SL_TEST_COMPLETED,
    SL_TEST_FAILED,
    SL_TEST_ROLLED_BACK,
    SL_TEST_PROMOTED,
};

enum sl_canary_status {
    SL_CANARY_PREPARING = 0,
    SL_CANARY_DEPLOYING,
    SL_CANARY_MONITORING,
    SL_CANARY_PROMOTING,
    SL_CANARY_ROLLING_BACK,
    SL_CANARY_COMPLETED,
    SL_CANARY_FAILED,
};

/* The verbs of both state machines; sl_engine_act applies one. */
enum sl_verb {
    SL_VERB_START = 0, /* test: draft -> starting; canary: preparing -> deploying */
    SL_VERB_PAUSE,     /* test: running -> paused */
    SL_VERB_RESUME,    /* test: paused -> running */
    SL_VERB_STOP,      /* test: starting|running|paused -> completed; canary: preparing ->
                          completed; on a failed test or canary: archive it */
    SL_VERB_PROMOTE,   /* test -> promoted; canary monitoring -> promoting */
    SL_VERB_ROLLBACK,  /* test -> rolled_back; canary deploying|monitoring -> rolling_back */
    SL_VERB_RETRY,     /* test or canary: failed -> starting / deploying */
    SL_VERB_FAIL,      /* test: starting|running|paused -> failed; canary: any live -> failed */
};

enum sl_routing {
    SL_ROUTING_HASH = 0, /* sticky by unit id through the documented hash (default) */
    SL_ROUTING_RANDOM,   /* independent draw per request */
    SL_ROUTING_STICKY,   /* explicit overrides + remembered first assignment */
    SL_ROUTING_WRR,      /* weighted round robin: exact shares, deterministic interleave */
};

enum sl_kind { SL_KIND_NONE = 0, SL_KIND_TEST, SL_KIND_CANARY };

/* Arms. Tests: control/treatment. Canaries: stable/canary. */
enum sl_arm { SL_ARM_CONTROL = 0, SL_ARM_TREATMENT = 1 };

enum sl_rollback_trigger {
    SL_TRIGGER_NONE = 0,
    SL_TRIGGER_ERROR_RATE,
    SL_TRIGGER_LATENCY_INCREASE,
    SL_TRIGGER_SUCCESS_RATE_DECREASE,
    SL_TRIGGER_CUSTOM_METRIC,
    SL_TRIGGER_MANUAL,
};

enum sl_op { SL_OP_GT = 0, SL_OP_LT, SL_OP_GE, SL_OP_LE, SL_OP_EQ, SL_OP_NE };

/* Stable lower-case names ("running", "rolled_back", "weighted_round_robin", ">=")
 * and their parsers (return -1 for an unknown name). */
const char *sl_health_name(int h);
const char *sl_test_status_name(int s);
const char *sl_canary_status_name(int s);
const char *sl_verb_name(int v);
const char *sl_routing_name(int r);
const char *sl_trigger_name(int t);
const char *sl_op_name(int op);
int sl_health_parse(const char *s);
int sl_verb_parse(const char *s);
int sl_routing_parse(const char *s);
int sl_trigger_parse(const char *s);
int sl_op_parse(const char *s);

/* ---- engine --------------------------------------------------------------- */

struct sl_event;
typedef void (*sl_event_sink_fn)(void *ud, const struct sl_event *ev);

struct sl_engine_opts {
    sl_clock_fn clock; /* NULL: sl_clock_wall */
    void *clock_ud;
    int max_tests;         /* concurrent starting/running/paused tests; default 100 */
    int max_canaries;      /* concurrent live canaries; default 100 */
    int history;           /* finished tests/canaries kept, newest first; default 100 */
    int shards;            /* private recording shards (threads that record without
                              atomics); default 1. Threads beyond them share one more
                              shard that uses atomic adds. */
    double window_seconds; /* rolling window slot width; default 60 */
    int window_slots;      /* slots kept; default 30 (30 minutes) */
    int event_ring;        /* events kept in memory; default 4096 */
    int sticky_capacity;   /* remembered assignments per sticky test; default 65536 */
    sl_event_sink_fn sink; /* called for every event, on the writer thread */
    void *sink_ud;
};

/* Fill *opts with the defaults above. */
void sl_engine_opts_default(struct sl_engine_opts *opts);

/* Create an engine. opts is borrowed (copied); NULL means defaults. */
struct sl_engine *sl_engine_new(const struct sl_engine_opts *opts, struct sl_err *err);

/* Destroy an engine and everything it owns. NULL does nothing. No other thread
 * may be inside route/record. */
void sl_engine_delete(struct sl_engine *eng);

/* Current engine time: the injected clock, or during a tick the moment the
 * tick began (everything a tick evaluates happens at one moment). */
double sl_engine_now(const struct sl_engine *eng);

/* ---- model registry ------------------------------------------------------- */

struct sl_version_config {
    const char *model;   /* required */
    const char *version; /* required */
    const char *path;    /* optional artefact location */
    const char *config;  /* optional free-form configuration (e.g. JSON text) */
    int health;          /* enum sl_health; default healthy */
    bool live;           /* make this version live (first version is live anyway) */
};

/* Register a model version (creating the model on first use). Duplicate
 * (model, version) is SL_EEXIST. */
int sl_engine_add_version(struct sl_engine *eng, const struct sl_version_config *cfg,
                          struct sl_err *err);
int sl_engine_set_health(struct sl_engine *eng, const char *model, const char *version, int health,
                         struct sl_err *err);
int sl_engine_set_live(struct sl_engine *eng, const char *model, const char *version,
                       const char *actor, struct sl_err *err);

struct sl_version_info {
    const char *version, *path, *config;
    int health;
    double loaded_at; /* engine time of registration */
};
struct sl_model_info {
    const char *id;
    const char *live;       /* live version */
    const char *claimed_by; /* test or canary id routing this model, or NULL */
    size_t nversions;
};
/* Models in registration order. Pointers borrowed until the next writer call. */
size_t sl_engine_model_count(const struct sl_engine *eng);
int sl_engine_model_at(const struct sl_engine *eng, size_t i, struct sl_model_info *out);
int sl_engine_model(const struct sl_engine *eng, const char *id, struct sl_model_info *out,
                    struct sl_err *err);
int sl_engine_model_version_at(const struct sl_engine *eng, const char *model, size_t i,
                               struct sl_version_info *out);

/* ---- A/B tests ------------------------------------------------------------ */

struct sl_ramp_step {
    double at_hours;  /* offset from the start of running, hours, increasing */
    double treatment; /* percent in [0,100] */
    double control;   /* percent; < 0 means 100 - treatment */
};

enum sl_guard_type {
    SL_GUARD_MAXIMUM = 0,
    SL_GUARD_MINIMUM,
    SL_GUARD_PERCENTAGE,
    SL_GUARD_ABSOLUTE
};
enum sl_guard_action { SL_ACTION_PAUSE = 0, SL_ACTION_ROLLBACK, SL_ACTION_ALERT, SL_ACTION_REDUCE };

/* A guard metric as the original service configured it. The core stores it;
 * the policy host's threshold guard evaluates it. */
struct sl_guard_config {
    const char *metric;
    int type; /* enum sl_guard_type */
    double threshold;
    int action; /* enum sl_guard_action */
};

struct sl_test_config {
    const char *id;   /* NULL: generated ("t-<n>") */
    const char *name; /* required */
    const char *description;
    const char *model;           /* control and treatment are versions of this model */
    const char *control_version; /* required, registered */
    const char *treatment_version;
    const struct sl_ramp_step *ramp; /* NULL/0: one step {0, treatment 50} */
    size_t nramp;
    int routing;                 /* enum sl_routing */
    double duration_hours;       /* 0: open-ended */
    uint64_t target_sample_size; /* per variant; 0: none */
    double alpha;                /* significance level in (0,1); 0 means 0.05 */
    double minimum_effect_size;  /* >= 0 */
    bool auto_promote, auto_rollback;
    const char *const *success_metrics; /* declared custom metric names */
    size_t nsuccess;
    const struct sl_guard_config *guards;
    size_t nguards;
    const char *created_by;
    const char *const *tags;
    size_t ntags;
    const char *policies; /* opaque policy configuration text, kept for upper layers */
};

/* Create a draft test. On success copies the id into id_out (SL_ID_MAX+1 bytes,
 * may be NULL). Validation errors name the field. */
int sl_engine_create_test(struct sl_engine *eng, const struct sl_test_config *cfg, char *id_out,
                          struct sl_err *err);

/* Apply a lifecycle verb to a test or canary. actor and reason are recorded in
 * the event (borrowed; NULL allowed). An illegal transition is SL_ESTATE with a
 * message naming the current state and the verb. */
int sl_engine_act(struct sl_engine *eng, const char *id, int verb, const char *actor,
                  const char *reason, struct sl_err *err);

/* Set the treatment share of a running or paused test (policy decisions,
 * operators). Percent in [0,100]. */
int sl_engine_set_allocation(struct sl_engine *eng, const char *id, double treatment_pct,
                             const char *actor, const char *reason, struct sl_err *err);

/* Sticky routing: pin a unit to an arm (-1 removes the override). */
int sl_engine_set_override(struct sl_engine *eng, const char *test_id, const char *unit, int arm,
                           struct sl_err *err);

struct sl_alloc_point {
    double at;        /* engine time */
    double treatment; /* percent */
};

struct sl_test_info {
    const struct sl_test_config *config;     /* normalised copy; strings owned by the engine */
    int status;                              /* enum sl_test_status */
    double created_at, started_at, ended_at; /* engine time; 0 = not yet */
    double running_seconds;                  /* time spent running (excludes paused) */
    double treatment_pct;                    /* current allocation */
    int ramp_step;                           /* index of the current ramp step, -1 before start */
    const struct sl_alloc_point *alloc_history; /* oldest first */
    size_t nalloc_history;
    const char *last_reason; /* reason of the last lifecycle change */
    int recommendation;      /* enum sl_recommendation, latest */
    const char *recommendation_reason;
    bool in_history;
};

/* Look up a test (active or in history). Pointers borrowed until the next
 * writer call. */
int sl_engine_test(const struct sl_engine *eng, const char *id, struct sl_test_info *out,
                   struct sl_err *err);
/* Active (not finished) tests in creation order. */
size_t sl_engine_test_count(const struct sl_engine *eng);
int sl_engine_test_at(const struct sl_engine *eng, size_t i, struct sl_test_info *out);
/* Finished tests and canaries, newest first: i-th id or NULL. */
size_t sl_engine_history_count(const struct sl_engine *eng);
const char *sl_engine_history_at(const struct sl_engine *eng, size_t i, int *kind);

/* ---- canaries ------------------------------------------------------------- */

struct sl_criterion {
    const char *metric; /* "error_rate", "success_rate", "latency_p99", ... or custom */
    int op;             /* enum sl_op */
    double value;
    double for_minutes; /* required duration the criterion must hold */
};

struct sl_canary_config {
    const char *id;     /* NULL: generated ("c-<n>") */
    const char *name;   /* required */
    const char *model;  /* required */
    const char *stable; /* stable version; NULL: the model's live version */
    const char *canary; /* required, registered */
    double traffic;     /* percent to the canary while monitoring; default 10 */
    double duration_minutes;
    double success_threshold; /* success rate the canary must keep, in [0,1] */
    double error_threshold;   /* error rate that triggers rollback, in [0,1] */
    bool auto_promote, auto_rollback;
    double health_check_interval_ms; /* default 10000 */
    const struct sl_criterion *criteria;
    size_t ncriteria;
    const char *const *metrics; /* declared custom metric names */
    size_t nmetrics;
    const char *created_by;
    const char *policies;
};

struct sl_health_check {
    double at;
    int health;        /* canary version health at the check */
    double error_rate; /* canary error rate over the last window slot */
    bool passed;
};

struct sl_canary_info {
    const struct sl_canary_config *config;
    int status;
    double created_at, started_at, ended_at;
    double traffic_pct;                   /* current canary share */
    const struct sl_health_check *checks; /* oldest first, bounded */
    size_t nchecks;
    int rollback_trigger; /* enum sl_rollback_trigger, set on rollback */
    const char *outcome;  /* "promoted", "rolled_back", "failed" or NULL */
    const char *last_reason;
    bool in_history;
};

int sl_engine_create_canary(struct sl_engine *eng, const struct sl_canary_config *cfg, char *id_out,
                            struct sl_err *err);
int sl_engine_canary(const struct sl_engine *eng, const char *id, struct sl_canary_info *out,
                     struct sl_err *err);
size_t sl_engine_canary_count(const struct sl_engine *eng);
int sl_engine_canary_at(const struct sl_engine *eng, size_t i, struct sl_canary_info *out);
/* Roll a canary back naming what triggered it (enum sl_rollback_trigger). */
int sl_engine_rollback_canary(struct sl_engine *eng, const char *id, int trigger, const char *actor,
                              const char *reason, struct sl_err *err);
/* Set the canary share of a monitoring canary. */
int sl_engine_set_canary_traffic(struct sl_engine *eng, const char *id, double pct,
                                 const char *actor, const char *reason, struct sl_err *err);

/* ---- judgement: the evaluator interface ------------------------------------ */

/* The core never runs policy code itself: on each tick it asks an evaluator
 * (the Lua policy host in src/lua implements one) for decisions, then
 * validates, applies and logs them. */
enum sl_hook { SL_HOOK_GUARD = 0, SL_HOOK_PROMOTION, SL_HOOK_RECOMMEND, SL_HOOK_RAMP, SL_NHOOKS };

enum sl_decide {
    SL_DECIDE_NONE = 0,    /* no opinion (also: a recommendation only) */
    SL_DECIDE_ALERT,       /* log it, change nothing */
    SL_DECIDE_SET_TRAFFIC, /* treatment/canary share := treatment */
    SL_DECIDE_PAUSE,
    SL_DECIDE_RESUME,
    SL_DECIDE_ROLLBACK,
    SL_DECIDE_PROMOTE,
};

enum sl_recommendation {
    SL_REC_NONE = 0,
    SL_REC_PROMOTE,
    SL_REC_ROLLBACK,
    SL_REC_CONTINUE,
    SL_REC_EXTEND,
    SL_REC_INCREASE_TRAFFIC,
    SL_REC_DECREASE_TRAFFIC,
};

struct sl_decision {
    int hook;           /* enum sl_hook */
    int action;         /* enum sl_decide */
    double treatment;   /* percent, for SL_DECIDE_SET_TRAFFIC */
    int recommendation; /* enum sl_recommendation, for SL_HOOK_RECOMMEND */
    int trigger;        /* enum sl_rollback_trigger, for canary rollbacks */
    bool shadow;        /* evaluated and logged, never applied */
    char policy[64];    /* policy name */
    char version[32];   /* policy version */
    char reason[512];
    char *inputs; /* JSON object of what the policy read; malloc'd by the
                     evaluator, freed by the core (may be NULL) */
};

struct sl_evaluator {
    void *ud;
    /* Evaluate the policies of `hook` configured for test or canary `id`
     * (kind enum sl_kind). Write up to max decisions to out, each one whole
     * (out is not cleared beforehand), and their number to *nout (a policy
     * with no opinion writes none). Return how many policies are configured
     * for the hook (0: the core applies its own
     * default, e.g. the ramp schedule), or -1 with err when the host itself
     * fails. A failing policy is not a host failure: the host logs it and
     * abstains. Called on the writer thread during sl_engine_tick. */
    int (*evaluate)(void *ud, struct sl_engine *eng, int kind, const char *id, int hook,
                    struct sl_decision *out, size_t max, size_t *nout, struct sl_err *err);
};

/* Install (or with NULL remove) the evaluator; copied. sl_engine_evaluator
 * gives the one installed (evaluate NULL: none), e.g. to wrap it. */
void sl_engine_set_evaluator(struct sl_engine *eng, const struct sl_evaluator *ev);
struct sl_evaluator sl_engine_evaluator(const struct sl_engine *eng);

/* Validate and apply one decision to a test or canary, as a tick would, and
 * log it (shadow decisions are only logged). */
int sl_engine_apply(struct sl_engine *eng, const char *id, const struct sl_decision *d,
                    struct sl_err *err);
/* Would the judge log a non-shadow recommendation rec of test id? False only
 * when it repeats the test's current recommendation and the auto flags do not
 * act on it (recommendations are logged when they change): an evaluator may
 * then skip gathering the decision's inputs, which nobody would read. */
bool sl_engine_recommendation_logged(const struct sl_engine *eng, const char *id, int rec);
/* Among n verdicts (recommend or promotion decisions) of test or canary id,
 * the index of the one the judge acts on: the first that its auto flags act
 * on, else the last (shadow ones never); -1 if none. */
int sl_engine_verdict_pick(const struct sl_engine *eng, int kind, const char *id,
                           const struct sl_decision *d, size_t n);

const char *sl_decide_name(int action);
const char *sl_recommendation_name(int rec);
/* Among the guard decisions of a tick, the highest rank is applied (rollback
 * beats pause beats reduce traffic beats alert); -1 for an unknown action. */
int sl_decide_rank(int action);
const char *sl_hook_name(int hook);
int sl_decide_parse(const char *s);
int sl_recommendation_parse(const char *s);

/* ---- ticks ---------------------------------------------------------------- */

/* Advance the engine to the clock's current time: roll metric windows, finish
 * starting/deploying/promoting/rolling-back transitions, apply ramp schedules,
 * record canary health checks, free retired routing snapshots. Writer thread. */
int sl_engine_tick(struct sl_engine *eng, struct sl_err *err);

/* ---- routing (hot path) --------------------------------------------------- */

struct sl_cell; /* opaque per-test routing cell, for sl_engine_record_route */

struct sl_route {
    int kind;            /* enum sl_kind: NONE when the live version serves */
    int arm;             /* enum sl_arm; -1 for kind NONE */
    const char *id;      /* test or canary id, NULL for NONE */
    const char *variant; /* "control" "treatment" "stable" "canary" "live" */
    const char *model;
    const char *version; /* the model version to serve */
    const struct sl_cell *cell;
};

/* [any thread] Route a request. key is a model id or a test/canary id (a
 * model id is looked up first); unit is the unit id (user id, else request
 * id), 1..SL_ID_MAX bytes. A model nothing claims answers its live version. */
int sl_engine_route(struct sl_engine *eng, const char *key, const char *unit, struct sl_route *out,
                    struct sl_err *err);

/* ---- recording (hot path) ------------------------------------------------- */

struct sl_sample {
    int metric; /* index from sl_engine_metric_index */
    double value;
};

/* [any thread] Index of a declared custom metric of a test/canary, or -1. */
int sl_engine_metric_index(struct sl_engine *eng, const char *id, const char *metric);

/* [any thread] Record one result. latency_ms must be finite, >= 0 and
 * <= SL_LATENCY_MAX_MS; sample values finite. On error nothing is recorded. */
int sl_engine_record(struct sl_engine *eng, const char *id, int arm, bool ok, double latency_ms,
                     const struct sl_sample *samples, size_t nsamples, struct sl_err *err);

/* [any thread] Same, using the cell of a route result on this thread (skips
 * the id lookup). The route result must come from the same thread. */
int sl_engine_record_route(struct sl_engine *eng, const struct sl_route *route, bool ok,
                           double latency_ms, const struct sl_sample *samples, size_t nsamples,
                           struct sl_err *err);

/* [any thread] This thread will not route or record again: stop holding back
 * snapshot reclamation. */
void sl_engine_thread_detach(struct sl_engine *eng);

/* ---- metrics (writer thread) ---------------------------------------------- */

enum { SL_Q50 = 0, SL_Q90, SL_Q95, SL_Q99, SL_Q999, SL_NQUANTILES };

struct sl_metric_stats {
    const char *name;
    uint64_t count;
    double sum, sumsq, min, max; /* min/max are NaN when count == 0 */
};

struct sl_variant_metrics {
    uint64_t requests, successes, errors;
    double error_rate;                /* errors / requests, 0 when no requests */
    double throughput;                /* requests per second over the span */
    double span_seconds;              /* the time the figures cover */
    double latency_mean, latency_var; /* var: sample variance (n - 1) */
    double latency_min, latency_max;
    double quantiles[SL_NQUANTILES]; /* p50 p90 p95 p99 p99.9; NaN when empty */
    size_t nmetrics;
    struct sl_metric_stats metrics[SL_MAX_METRICS];
};

/* Metrics of one arm. window_seconds 0 = cumulative since the test started;
 * otherwise whole window slots: the current (partial) slot plus the
 * ceil(window_seconds / slot width) - 1 before it. */
int sl_engine_metrics(struct sl_engine *eng, const char *id, int arm, double window_seconds,
                      struct sl_variant_metrics *out, struct sl_err *err);
/* The same without the latency histogram: quantiles (and a window's
 * latency_min and latency_max) are NaN. For readers of counts, rates, means
 * and custom metrics: the histogram pass is most of a read's cost. */
int sl_engine_counts(struct sl_engine *eng, const char *id, int arm, double window_seconds,
                     struct sl_variant_metrics *out, struct sl_err *err);

/* Latency quantile q in [0,1] of one arm over a window (0 = cumulative). */
int sl_engine_latency_quantile(struct sl_engine *eng, const char *id, int arm,
                               double window_seconds, double q, double *out, struct sl_err *err);

/* ---- statistics of a test (control vs treatment; diff = treatment - control) -- */

struct sl_metric_analysis {
    const char *name;                      /* "error_rate", "latency" or a success metric */
    bool valid;                            /* false until both arms have >= 2 observations */
    uint64_t n1, n2;                       /* observations per arm */
    double mean1, mean2;                   /* rates for error_rate */
    double diff, se, p, ci_low, ci_high;   /* fixed-horizon: two-proportion z for
                                              error_rate, Welch t otherwise */
    double seq_p, seq_ci_low, seq_ci_high; /* always-valid (running over ticks) */
    uint64_t looks;                        /* ticks that fed the sequential test */
    double power;                          /* achieved for minimum_effect_size (NaN if unset) */
    double needed; /* more units per arm needed for 80% power (NaN if unset) */
};

struct sl_test_stats {
    double srm_chi2, srm_p; /* observed split vs the allocation actually in force */
    double expected_treatment_share;
    struct sl_metric_analysis error_rate, latency;
    size_t nmetrics;
    struct sl_metric_analysis metrics[SL_MAX_METRICS]; /* the success metrics */
};

/* Statistics of a started test, computed from its cumulative metrics; the
 * sequential figures are those of the last tick. The sequential test uses a
 * mixture SPRT with tau^2 = minimum_effect_size^2 when the test sets one, else
 * GrowthBook's asymptotic confidence sequence (N* = 5000). */
int sl_engine_test_stats(struct sl_engine *eng, const char *id, struct sl_test_stats *out,
                         struct sl_err *err);

/* Bytes of metric memory held for one variant (shards, windows, sketch). */
size_t sl_engine_variant_bytes(const struct sl_engine *eng, const char *id, int arm);

/* ---- persistence (what a store saves and restores) ------------------------ */

/* Checkpoint one arm's metric accumulators and windows (host-local binary
 * format with a checksum; see metrics.h). Returns the bytes needed, writing
 * only when cap suffices; 0 with err if id/arm is unknown or not started. */
size_t sl_engine_save_metrics(struct sl_engine *eng, const char *id, int arm, void *buf, size_t cap,
                              struct sl_err *err);
/* Replace one arm's metrics from a checkpoint. Writer thread, before any
 * other thread records. A bad checkpoint is rejected and changes nothing. */
int sl_engine_load_metrics(struct sl_engine *eng, const char *id, int arm, const void *buf,
                           size_t len, struct sl_err *err);

/* A test's runtime state beyond its config. Exported pointers are borrowed
 * until the next writer call. */
struct sl_test_state {
    int status;
    double created_at, started_at, ended_at, running_seconds;
    double treatment_pct, control_pct;
    int ramp_step;
    const struct sl_alloc_point *allocs;
    size_t nallocs;
    const char *last_reason;
    int recommendation;
    const char *recommendation_reason;
    bool in_history;
    const void *analysis; /* sequential trackers and SRM bookkeeping (opaque) */
    size_t analysis_len;
    size_t noverrides; /* sticky overrides: sl_engine_override_at */
};

int sl_engine_test_state(const struct sl_engine *eng, const char *id, struct sl_test_state *out,
                         struct sl_err *err);
int sl_engine_override_at(const struct sl_engine *eng, const char *id, size_t i, const char **unit,
                          int *arm);

/* Recreate a test in the state it was saved in (no transitions are replayed
 * and no lifecycle events are logged). Its versions must be registered. A
 * running test resumes its running time from now. History entries are
 * appended to the history in the order they are restored (restore newest
 * first). */
int sl_engine_restore_test(struct sl_engine *eng, const struct sl_test_config *cfg,
                           const struct sl_test_state *st, struct sl_err *err);

struct sl_canary_state {
    int status;
    double created_at, started_at, ended_at, traffic_pct, last_check;
    const struct sl_health_check *checks;
    size_t nchecks;
    int trigger;
    const char *outcome; /* "promoted", "rolled_back", "failed" or NULL */
    const char *last_reason;
    bool in_history;
};

int sl_engine_canary_state(const struct sl_engine *eng, const char *id, struct sl_canary_state *out,
                           struct sl_err *err);
int sl_engine_restore_canary(struct sl_engine *eng, const struct sl_canary_config *cfg,
                             const struct sl_canary_state *st, struct sl_err *err);

/* Events restored from a store keep their sequence numbers: later events
 * continue after the highest one seen. */
void sl_engine_set_next_seq(struct sl_engine *eng, uint64_t next);
/* Generated ids (t-N, c-N) continue from next or above: a store that saw
 * t-41 sets 42, so an id evicted from history is never handed out again
 * (only raises). */
void sl_engine_set_next_id(struct sl_engine *eng, uint64_t next);

/* ---- events --------------------------------------------------------------- */

enum sl_event_kind {
    SL_EVENT_MODEL = 0,  /* model version registered, health, live version */
    SL_EVENT_LIFECYCLE,  /* a state transition */
    SL_EVENT_ALLOCATION, /* traffic share changed */
    SL_EVENT_DECISION,   /* a policy decision (applied or shadow) */
    SL_EVENT_HEALTH,     /* a canary health check */
    SL_EVENT_ERROR,      /* a failure worth a trace (policy error, ...) */
    SL_EVENT_POLICY,     /* a policy loaded, reloaded or removed */
};

struct sl_event {
    uint64_t seq;                /* 1, 2, 3, ... per engine */
    double at;                   /* engine time */
    int kind;                    /* enum sl_event_kind */
    char subject[SL_ID_MAX + 1]; /* test/canary/model id */
    char actor[64];              /* "engine", "user", "policy:<name>", "repl:<uid>" */
    char action[32];             /* verb or decision ("start", "set_traffic", ...) */
    char from[16], to[16];       /* states, or "" */
    double value;                /* allocation percent etc., NaN when unused */
    char reason[512];
    char *detail; /* optional JSON text (policy inputs), owned by the ring */
};

/* Append a decision/error event from an upper layer (policy host, REPL).
 * detail is borrowed (copied). */
int sl_engine_emit(struct sl_engine *eng, int kind, const char *subject, const char *actor,
                   const char *action, const char *reason, const char *detail, double value,
                   struct sl_err *err);
/* Events with seq > since, oldest first, at most max; returns how many were
 * written to out[] (pointers borrowed until the next writer call). */
size_t sl_engine_events(const struct sl_engine *eng, uint64_t since, const struct sl_event **out,
                        size_t max);
uint64_t sl_engine_last_seq(const struct sl_engine *eng);

/* ---- hashing (documented formula, reproducible elsewhere) ------------------ */

/* The assignment fraction of a unit under a salt, in [0,1), resolution 2^-53:
 *   seed = XXH3_64bits(salt bytes)            (libxxhash 0.8, XXH3 64-bit)
 *   h    = XXH3_64bits_withSeed(unit bytes, seed)
 *   fraction = (h >> 11) * 2^-53
 * A unit is in treatment iff fraction < treatment_percent / 100. */
double sl_bucket(const char *salt, size_t saltlen, const char *unit, size_t unitlen);

#endif
