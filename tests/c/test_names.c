/* test_names.c - the stable names of the public enums and their parsers: every
 * name written out here (as the API documents and the store persists them),
 * each parsed back to its value, and unknown names and values refused. */
#include <stdio.h>
#include <string.h>

#include "sluice.h"
#include "tap.h"

struct table {
    const char *what;
    const char *(*name)(int);
    int (*parse)(const char *); /* NULL: no parser */
    const char *const *names;   /* NULL-terminated, in enum order */
};

static const char *const health[] = {"healthy", "degraded", "unhealthy", "loading", "failed", NULL};
static const char *const test_status[] = {"draft",       "starting",  "running",
                                          "paused",      "completed", "failed",
                                          "rolled_back", "promoted",  NULL};
static const char *const canary_status[] = {"preparing",    "deploying", "monitoring", "promoting",
                                            "rolling_back", "completed", "failed",     NULL};
static const char *const verbs[] = {"start",    "pause", "resume", "stop", "promote",
                                    "rollback", "retry", "fail",   NULL};
static const char *const routing[] = {"hash", "random", "sticky", "weighted_round_robin", NULL};
static const char *const triggers[] = {
    "none",   "error_rate", "latency_increase", "success_rate_decrease", "custom_metric",
    "manual", NULL};
static const char *const ops[] = {">", "<", ">=", "<=", "==", "!=", NULL};
static const char *const decides[] = {"none",   "alert",    "set_traffic", "pause",
                                      "resume", "rollback", "promote",     NULL};
static const char *const recs[] = {"none",   "promote",          "rollback",         "continue",
                                   "extend", "increase_traffic", "decrease_traffic", NULL};
static const char *const hooks[] = {"guard", "promotion", "recommend", "ramp", NULL};

static const struct table tables[] = {
    {"health", sl_health_name, sl_health_parse, health},
    {"test status", sl_test_status_name, NULL, test_status},
    {"canary status", sl_canary_status_name, NULL, canary_status},
    {"verb", sl_verb_name, sl_verb_parse, verbs},
    {"routing", sl_routing_name, sl_routing_parse, routing},
    {"trigger", sl_trigger_name, sl_trigger_parse, triggers},
    {"op", sl_op_name, sl_op_parse, ops},
    {"decide", sl_decide_name, sl_decide_parse, decides},
    {"recommendation", sl_recommendation_name, sl_recommendation_parse, recs},
    {"hook", sl_hook_name, NULL, hooks},
};

static void test_names_round_trip(void)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        const struct table *tb = &tables[t];
        int n = 0, bad = 0;
        for (; tb->names[n]; n++) {
            if (strcmp(tb->name(n), tb->names[n]) != 0)
                bad++;
            if (tb->parse && tb->parse(tb->names[n]) != n)
                bad++;
        }
        ok(bad == 0, "%s: %d names, each named and parsed back to its value", tb->what, n);
        is_str(tb->name(n), "unknown", "one past the last value is unknown");
        is_str(tb->name(-1), "unknown", "a negative value is unknown");
        if (tb->parse) {
            char upper[64];
            snprintf(upper, sizeof upper, "%s", tb->names[n - 1]);
            for (char *p = upper; *p; p++)
                *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            ok(tb->parse("bogus") == -1 && tb->parse("") == -1 && tb->parse(NULL) == -1,
               "%s: unknown, empty and NULL names parse to -1", tb->what);
            ok(strcmp(upper, tb->names[n - 1]) == 0 || tb->parse(upper) == -1,
               "%s: parsing is case-sensitive ('%s')", tb->what, upper);
        }
    }
}

static void test_enum_values_match_names(void)
{
    is_str(sl_health_name(SL_HEALTH_UNHEALTHY), "unhealthy", "SL_HEALTH_UNHEALTHY");
    is_str(sl_test_status_name(SL_TEST_ROLLED_BACK), "rolled_back", "SL_TEST_ROLLED_BACK");
    is_str(sl_canary_status_name(SL_CANARY_ROLLING_BACK), "rolling_back", "SL_CANARY_ROLLING_BACK");
    is_str(sl_verb_name(SL_VERB_RETRY), "retry", "SL_VERB_RETRY");
    is_str(sl_routing_name(SL_ROUTING_WRR), "weighted_round_robin", "SL_ROUTING_WRR");
    is_str(sl_trigger_name(SL_TRIGGER_MANUAL), "manual", "SL_TRIGGER_MANUAL");
    is_str(sl_op_name(SL_OP_NE), "!=", "SL_OP_NE");
    is_str(sl_decide_name(SL_DECIDE_SET_TRAFFIC), "set_traffic", "SL_DECIDE_SET_TRAFFIC");
    is_str(sl_recommendation_name(SL_REC_CONTINUE), "continue", "SL_REC_CONTINUE");
    is_str(sl_hook_name(SL_HOOK_RAMP), "ramp", "SL_HOOK_RAMP");
    is_int(SL_NHOOKS, 4, "four hooks");
}

int main(void)
{
    RUN(test_names_round_trip);
    RUN(test_enum_values_match_names);
    return tap_done();
}
