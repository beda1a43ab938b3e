/* analysis.h - the running statistics of an A/B test.
 *
 * Provides struct sl_analysis, kept per test: sequential trackers (one per
 * analysed metric, fed once per tick so the always-valid p and interval are
 * running over every look the engine took), and the bookkeeping for a
 * sample-ratio check that stays right while the ramp moves: the expected
 * treatment count accumulates each tick's new traffic at the share then in
 * force. Uses stats.h and metrics.h; knows nothing of lifecycles or Lua. */
#ifndef SL_ANALYSIS_H
#define SL_ANALYSIS_H

#include "metrics.h"
#include "sluice.h"
#include "stats.h"

struct sl_analysis {
    struct sl_seq seq_error, seq_latency;
    struct sl_seq seq_metric[SL_MAX_METRICS];
    bool seq_ready;
    uint64_t seen_total; /* requests of both arms at the last accounting */
    double expected_treatment;
    double expected_control;
};

/* Set up the trackers for a test (alpha, minimum effect size). */
void sl_analysis_init(struct sl_analysis *a, double alpha, double mes, int nmetrics);
/* Add the traffic since the last call at the shares in force until now. */
void sl_analysis_account(struct sl_analysis *a, struct sl_mvar *const var[2], double control_pct,
                         double treatment_pct);
/* One look: feed every tracker with the cumulative statistics. */
void sl_analysis_look(struct sl_analysis *a, struct sl_mvar *const var[2], int nmetrics);
/* Fill *out (names borrowed from names). */
void sl_analysis_read(const struct sl_analysis *a, struct sl_mvar *const var[2], int nmetrics,
                      const char *const *names, double alpha, double mes,
                      struct sl_test_stats *out);

#endif
