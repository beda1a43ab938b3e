/* canary.h - canary deployments: configuration rules and the state machine.
 *
 * Provides struct sl_canary and the transition table
 *   preparing -> deploying -> monitoring -> promoting | rolling_back ->
 *   completed | failed, with retry (failed -> deploying); stop on a failed
 *   canary archives it (it stays "failed").
 * deploying -> monitoring and promoting/rolling_back -> completed happen on
 * tick (the engine drives them). Uses registry.h and bag.h; knows nothing of
 * routing or metrics. */
#ifndef SL_CANARY_H
#define SL_CANARY_H

#include "bag.h"
#include "registry.h"
#include "sluice.h"

#define SL_CANARY_CHECKS 32

struct sl_cell;

struct sl_canary {
    struct sl_canary_config cfg;
    struct sl_bag bag;
    int status;
    double created_at, started_at, ended_at;
    double traffic_pct;
    double last_check;
    struct sl_health_check checks[SL_CANARY_CHECKS]; /* oldest first */
    size_t nchecks;
    int trigger;
    const char *outcome;
    char *last_reason;
    struct sl_cell *cell;
    bool in_history;
};

struct sl_canary *sl_canary_new(const struct sl_canary_config *cfg, const char *id,
                                const struct sl_registry *reg, double now, struct sl_err *err);
void sl_canary_delete(struct sl_canary *c);
int sl_canary_next(int status, int verb);
bool sl_canary_live(int status); /* claims its model's traffic */
void sl_canary_note_check(struct sl_canary *c, const struct sl_health_check *check);
void sl_canary_set_reason(struct sl_canary *c, const char *reason);

#endif
