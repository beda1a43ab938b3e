/* abtest.h - A/B tests: configuration rules and the lifecycle state machine.
 *
 * Provides struct sl_test (a normalised deep copy of the config plus state),
 * config validation that names the offending field, and the transition table
 *   draft -> starting -> running <-> paused -> completed | failed |
 *   rolled_back | promoted, with retry (failed -> starting).
 * Uses registry.h (versions must exist) and bag.h. Knows nothing of routing
 * or metrics: the engine applies the consequences of a transition. */
#ifndef SL_ABTEST_H
#define SL_ABTEST_H

#include "analysis.h"
#include "bag.h"
#include "registry.h"
#include "sluice.h"

struct sl_cell;

struct sl_test {
    struct sl_test_config cfg; /* strings and arrays owned by bag */
    struct sl_bag bag;
    struct sl_ramp_step *ramp;
    int status;
    double created_at, started_at, ended_at;
    double running_since; /* when it last entered running; < 0 when not running */
    double running_accum; /* seconds spent running before running_since */
    double treatment_pct;
    double control_pct; /* control share; the rest (if any) is not in the test */
    int ramp_step;
    struct sl_alloc_point *allocs;
    size_t nallocs, capallocs;
    char *last_reason;
    int recommendation; /* enum sl_recommendation */
    char *recommendation_reason;
    struct sl_cell *cell;        /* created on the first start */
    struct sl_analysis analysis; /* initialised with the cell */
    struct {
        char *unit;
        int arm;
    } * ov;
    size_t nov;
    bool in_history;
};

/* Validate cfg against the registry and copy it into a new test (status
 * draft). id must already be final. NULL with *err on failure. */
struct sl_test *sl_test_new(const struct sl_test_config *cfg, const char *id,
                            const struct sl_registry *reg, double now, struct sl_err *err);
void sl_test_delete(struct sl_test *t);

/* The state verb leads to from status, or -1 when illegal. */
int sl_test_next(int status, int verb);
bool sl_test_terminal(int status);
/* Running seconds as of now (excludes paused time). */
double sl_test_running_seconds(const struct sl_test *t, double now);
/* Record an allocation point in the bounded history. */
void sl_test_note_alloc(struct sl_test *t, double now, double pct);
/* The ramp step that applies after running_seconds. */
int sl_test_ramp_step(const struct sl_test *t, double running_seconds);
void sl_test_set_reason(struct sl_test *t, const char *reason);
/* Custom metric names: ids, unique, not built-in names, at most SL_MAX_METRICS. */
int sl_check_metric_names(const char *const *names, size_t n, const char *field,
                          struct sl_err *err);

#endif
