/* prom.h - Prometheus text exposition (format 0.0.4) of the engine's state.
 *
 * Provides sl_prom_write: per test/canary and variant request and error
 * counters, latency as a summary in milliseconds, allocation gauges, tests and
 * canaries by status, decisions by action, policy errors and reloads, and
 * build info; all names sluice_*, units in names. Label values are escaped.
 * Counters that only the daemon sees (decisions, reloads) come in struct
 * sl_prom_counters, which the daemon keeps from its event sink. Uses the
 * public API only. */
#ifndef SL_PROM_H
#define SL_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

#define SL_PROM_ACTIONS 16

struct sl_prom_counters {
    const char *action_names[SL_PROM_ACTIONS]; /* decision actions seen */
    uint64_t actions[SL_PROM_ACTIONS];
    size_t nactions;
    uint64_t policy_errors, policy_loads, http_requests, http_errors;
};

/* Count one event (called from the daemon's event sink). */
void sl_prom_count_event(struct sl_prom_counters *c, const struct sl_event *e);

typedef void (*sl_prom_emit_fn)(void *ud, const char *s, size_t n);

void sl_prom_write(struct sl_engine *eng, const struct sl_prom_counters *c, sl_prom_emit_fn emit,
                   void *ud);

#endif
