/* host.h - the policy host: implements the core's struct sl_evaluator.
 *
 * Provides struct sl_host, which owns the policy set loaded from directories
 * and, on each tick, for every policy a test or canary names: builds a
 * read-only view of it inside the policy's own sandboxed state (recording
 * every field read), merges params over the policy's defaults, gives it ctx
 * (now, a per-test per-policy state kept as JSON across ticks and reloads,
 * log), calls evaluate through the sandbox gateway, and turns the result
 * into a struct sl_decision for the core to apply. A failing policy abstains
 * and becomes an error event; after max_failures in a row its test is paused.
 * Uses sluice.h, sandbox.h, policy.h, lsl_json.h and cJSON. Talks back to the
 * engine only through the public API (reads, sl_engine_emit). */
#ifndef SL_HOST_H
#define SL_HOST_H

#include "policy.h"
#include "sandbox.h"
#include "sluice.h"

struct sl_host_opts {
    const char *const *dirs; /* policy directories, borrowed */
    size_t ndirs;
    struct sl_sandbox_limits limits;
    int max_failures; /* consecutive failures before the test is paused; default 5, 0 = never */
};

void sl_host_opts_default(struct sl_host_opts *o);

struct sl_host;

/* Create a host over eng (borrowed; it must outlive the host), load every
 * policy and install the host as eng's evaluator. */
struct sl_host *sl_host_new(struct sl_engine *eng, const struct sl_host_opts *o,
                            struct sl_err *err);
/* Uninstall from the engine and free. NULL does nothing. */
void sl_host_delete(struct sl_host *h);

/* Evaluate one policy entry, as a policies config lists it ({"name": ...,
 * "params": {...}}), for hook on test or canary id, whatever its config
 * names: what `sluice simulate --shadow` asks a candidate beside the
 * configured policies. Returns 1 with a decision in *out (out->inputs
 * malloc'd, the caller frees it), 0 when the policy had no opinion or failed
 * (an error event, as on a tick), -1 with err when entry is not such an
 * object. */
int sl_host_evaluate_entry(struct sl_host *h, int kind, const char *id, int hook,
                           const char *entry_json, struct sl_decision *out, struct sl_err *err);

/* Rescan all directories / one file; returns the number of changes. */
int sl_host_reload(struct sl_host *h);
int sl_host_reload_file(struct sl_host *h, const char *path);
struct sl_policyset *sl_host_policies(struct sl_host *h);

/* Check a canonical policies config (JSON text, see docs/policies.md):
 * structure, and that each named policy is loaded with the right kind. */
int sl_host_check_config(struct sl_host *h, const char *json, int kind, struct sl_err *err);

/* ctx.state of (id, policy) as JSON text, or NULL; and its replacement
 * (the store layer persists and restores these). */
const char *sl_host_state(const struct sl_host *h, const char *id, const char *policy);
int sl_host_set_state(struct sl_host *h, const char *id, const char *policy, const char *json,
                      struct sl_err *err);

/* Call fn for every ctx.state changed since the last call (json NULL: the
 * state was removed) and mark them saved; the store persists them. Returns
 * fn's first nonzero result, else 0. */
int sl_host_dirty_states(struct sl_host *h,
                         int (*fn)(void *ud, const char *id, const char *policy, const char *json),
                         void *ud);
/* Whether any ctx.state changed since it was last handed to the store. */
bool sl_host_states_dirty(const struct sl_host *h);

/* The newest n ctx.log lines, oldest first: i-th line or NULL. */
size_t sl_host_log_count(const struct sl_host *h);
const char *sl_host_log_at(const struct sl_host *h, size_t i);

#endif
