/* snapshot.h - engine state as JSON for the HTTP API (GET routes).
 *
 * Provides cJSON builders for a test (config, status, allocation and its
 * history, cumulative and windowed metrics per variant, statistics,
 * recommendation), a canary, the model list, events and loaded policies.
 * Field names match the Lua module's snapshots (src/lua/lsl_snapshot.c) and
 * docs/policies.md. Uses cJSON and the public API only. */
#ifndef SL_SNAPSHOT_H
#define SL_SNAPSHOT_H

#include <cjson/cJSON.h>

#include "sluice.h"

struct sl_policyset;

/* NULL if id is unknown. windows: extra window lengths in seconds to include
 * under "windows" (e.g. {300, 1800}). */
cJSON *sl_snap_test(struct sl_engine *eng, const char *id, const double *windows, size_t nwin);
cJSON *sl_snap_canary(struct sl_engine *eng, const char *id, const double *windows, size_t nwin);
cJSON *sl_snap_models(struct sl_engine *eng);
cJSON *sl_snap_event(const struct sl_event *e);
cJSON *sl_snap_policies(struct sl_policyset *set);
/* One variant's metrics object. */
cJSON *sl_snap_metrics(const struct sl_variant_metrics *m);

#endif
