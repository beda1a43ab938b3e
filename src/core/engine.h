/* engine.h - the engine object behind the public API of sluice.h.
 *
 * Provides struct sl_engine, which ties the registry, tests, canaries, router,
 * metrics and event log together and applies the consequences of every
 * lifecycle change (claims, live versions, routing snapshots, history). The
 * public functions are declared in sluice.h; this header is for core modules
 * and core tests only. Uses every other core module; knows nothing of Lua,
 * libev, HTTP or files. */
#ifndef SL_ENGINE_H
#define SL_ENGINE_H

#include "abtest.h"
#include "canary.h"
#include "events.h"
#include "registry.h"
#include "router.h"
#include "sluice.h"

struct sl_hist_item {
    int kind; /* SL_KIND_TEST or SL_KIND_CANARY */
    void *obj;
};

struct sl_idslot {
    const char *id; /* the object's own id string */
    void *obj;
    int kind; /* SL_KIND_TEST / SL_KIND_CANARY */
};

/* During a tick, the reads of the test or canary being judged are memoised:
 * its policies (three or more a tick) read the same windows and statistics,
 * and each read merges the per-thread shards and rolls windows. The memo holds
 * one object's reads and is dropped when the tick moves on, so every policy of
 * a tick judges the same figures. Statistics also depend on the allocation and
 * status in force (the SRM check and the accounting of shares): they are kept
 * only while those are unchanged. */
#define SL_MEMO_READS 6
struct sl_memo {
    const struct sl_cell *cell; /* whose reads these are; NULL outside a judge */
    int n;
    struct {
        int arm;
        double window;
        bool quantiles; /* m has its latency quantiles (sl_engine_metrics) */
        struct sl_variant_metrics m;
    } read[SL_MEMO_READS];
    bool has_stats;
    int stats_status;
    double stats_treatment, stats_control;
    struct sl_test_stats stats;
};

struct sl_engine {
    struct sl_engine_opts opts;
    struct sl_registry reg;
    struct sl_events events;
    struct sl_router router;
    struct sl_test **tests; /* active, creation order */
    size_t ntests, captests;
    struct sl_canary **canaries;
    size_t ncanaries, capcanaries;
    struct sl_hist_item *hist; /* newest first */
    size_t nhist;
    uint64_t next_id;
    bool dirty;      /* routing must be republished */
    bool in_tick;    /* defer history eviction (the tick holds object pointers) and publishing */
    double tick_now; /* the tick's moment, while in_tick */
    struct sl_evaluator evaluator; /* evaluate == NULL: no policies */
    struct sl_idslot *ids;         /* id -> test/canary (active and history) */
    size_t idmask;
    struct sl_memo *memo; /* allocated at the first tick with an evaluator */
};

/* Active or finished test/canary by id, or NULL. */
struct sl_test *sl_engine_find_test(const struct sl_engine *eng, const char *id);
struct sl_canary *sl_engine_find_canary(const struct sl_engine *eng, const char *id);

/* Rebuild the id index after tests or canaries were added or removed. */
int sl_engine_reindex(struct sl_engine *eng);

/* Rebuild and publish the routing snapshot from the current state. */
int sl_engine_republish(struct sl_engine *eng, struct sl_err *err);

#endif
