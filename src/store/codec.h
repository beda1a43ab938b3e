/* codec.h - JSON <-> sluice configurations and runtime state, with cJSON.
 *
 * Provides decoding of the JSON forms of a test config, a canary config and a
 * model version (the keys of the HTTP API and the Lua module, see README.md)
 * into the core's config structs, their encoding back to JSON, the
 * canonical form of a `policies` value, and the JSON form of a test's or a
 * canary's runtime state (what the store keeps beside the config).
 *
 * Decoding checks structure only: unknown keys, duplicate keys and wrong
 * types are SL_EINVAL errors whose message starts with the key path
 * ("ramp[2].treatment: expected a number"; array indices are 1-based, as in
 * the policy host's messages). A JSON null counts as an absent key. Value
 * ranges, required fields and registered versions are the core's to check
 * (sl_engine_create_test and friends); policy names are the policy host's.
 *
 * A decoded struct owns everything its config points to: keep it until the
 * config is no longer used, then call its _destroy. Encoders return malloc'd
 * text (the caller frees it) or NULL when out of memory; decoding what an
 * encoder wrote gives the same struct back (doubles round-trip exactly).
 *
 * Uses the public core API (sluice.h) and cJSON; knows nothing of SQLite,
 * Lua, libev or HTTP. The store (store.h) and the HTTP server call it. */
#ifndef SL_CODEC_H
#define SL_CODEC_H

#include <stddef.h>

#include "sluice.h"

struct cJSON;

/* What a decoded struct owns (private: use the _destroy functions). */
struct sl_codec_mem {
    struct cJSON *tree; /* the parsed document strings point into, or NULL */
    void **blocks;      /* malloc'd arrays and texts */
    size_t nblocks;
};

struct sl_codec_test {
    struct sl_test_config cfg;
    struct sl_codec_mem mem;
};
struct sl_codec_canary {
    struct sl_canary_config cfg;
    struct sl_codec_mem mem;
};
struct sl_codec_version {
    struct sl_version_config cfg;
    struct sl_codec_mem mem;
};
struct sl_codec_test_state {
    struct sl_test_state st; /* noverrides is 0: the store keeps overrides apart */
    struct sl_codec_mem mem;
};
struct sl_codec_canary_state {
    struct sl_canary_state st;
    struct sl_codec_mem mem;
};

/* ---- configs ----------------------------------------------------------------------- */

/* Decode a test config from JSON text (len bytes; the text is borrowed for the
 * call). Keys: id, name, description, model, control, treatment (a version
 * string or {model, version}), ramp [{at_hours, treatment, control?}],
 * routing, duration_hours, target_sample_size, alpha, minimum_effect_size,
 * auto_promote, auto_rollback, success_metrics [..], guard_metrics [{metric,
 * type, threshold, action}], created_by, tags [..], policies. Defaults as in
 * the Lua module (alpha 0.05, guard type "maximum", action "alert"). On
 * failure *out is left empty (destroying it is harmless). */
int sl_codec_test_decode(struct sl_codec_test *out, const char *json, size_t len,
                         struct sl_err *err);
/* The same from an already parsed object, which is borrowed: it must outlive
 * *out's use (strings point into it). */
int sl_codec_test_from(struct sl_codec_test *out, const struct cJSON *obj, struct sl_err *err);
void sl_codec_test_destroy(struct sl_codec_test *t);
/* Encode a test config (borrowed). policies text that is not JSON is kept
 * as a JSON string (which decoding then refuses). */
char *sl_codec_test_json(const struct sl_test_config *cfg);

/* Canary keys: id, name, model, stable, canary, traffic (default 10),
 * duration_minutes, success_threshold, error_threshold, auto_promote,
 * auto_rollback, health_check_interval_ms (default 10000),
 * promotion_criteria [{metric, op, value, for_minutes}], metrics [..],
 * created_by, policies. */
int sl_codec_canary_decode(struct sl_codec_canary *out, const char *json, size_t len,
                           struct sl_err *err);
int sl_codec_canary_from(struct sl_codec_canary *out, const struct cJSON *obj, struct sl_err *err);
void sl_codec_canary_destroy(struct sl_codec_canary *c);
char *sl_codec_canary_json(const struct sl_canary_config *cfg);

/* Model version keys: id (the model), version, path, config (any JSON value,
 * kept as its JSON text), health (a name), live. Encoding writes config
 * text that parses as JSON as that value, other text as a string. */
int sl_codec_version_decode(struct sl_codec_version *out, const char *json, size_t len,
                            struct sl_err *err);
int sl_codec_version_from(struct sl_codec_version *out, const struct cJSON *obj,
                          struct sl_err *err);
void sl_codec_version_destroy(struct sl_codec_version *v);
char *sl_codec_version_json(const struct sl_version_config *cfg);

/* Canonicalise a `policies` value for a test or canary (kind enum sl_kind):
 * {"ramp": E, "guards": [E, ...], "recommend": E (tests), "promotion": E
 * (canaries)} where each entry E may be "name", ["name"], ["name", {params}]
 * or {"name": .., "params": {..}, "shadow": bool}. Returns malloc'd canonical
 * text: keys in the order ramp, guards, promotion, recommend, each entry
 * {"name", "params"?, "shadow"?} with only what was given (the form the Lua
 * module stores). Errors name the path ("policies.guards[2].params"). */
char *sl_codec_policies(const char *json, size_t len, int kind, struct sl_err *err);

/* ---- runtime state ----------------------------------------------------------------- */

/* A test's state: status (a name), created_at, started_at, ended_at,
 * running_seconds, treatment_pct, control_pct, ramp_step, allocs [{at,
 * treatment}], last_reason, recommendation (a name), recommendation_reason,
 * in_history, analysis (the opaque blob, base64). st is borrowed. */
char *sl_codec_test_state_json(const struct sl_test_state *st);
int sl_codec_test_state_decode(struct sl_codec_test_state *out, const char *json, size_t len,
                               struct sl_err *err);
void sl_codec_test_state_destroy(struct sl_codec_test_state *s);

/* A canary's state: status, created_at, started_at, ended_at, traffic_pct,
 * last_check, checks [{at, health, error_rate, passed}], trigger, outcome,
 * last_reason, in_history. */
char *sl_codec_canary_state_json(const struct sl_canary_state *st);
int sl_codec_canary_state_decode(struct sl_codec_canary_state *out, const char *json, size_t len,
                                 struct sl_err *err);
void sl_codec_canary_state_destroy(struct sl_codec_canary_state *s);

/* ---- base64 (RFC 4648, padded) ----------------------------------------------------- */

/* Encode n bytes: malloc'd NUL-terminated text, or NULL when out of memory. */
char *sl_codec_base64(const void *data, size_t n);
/* Decode text of len bytes into malloc'd *out (*n bytes; NULL for empty
 * input). Returns -1 on bad input or no memory. */
int sl_codec_unbase64(const char *text, size_t len, unsigned char **out, size_t *n);

#endif
