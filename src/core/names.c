/* names.c - stable lower-case names of the public enums and their parsers.
 * One table per enum serves both directions. */
#include <string.h>

#include "sluice.h"

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

static const char *const health_names[] = {"healthy", "degraded", "unhealthy", "loading", "failed"};
static const char *const test_names[] = {"draft",     "starting", "running",     "paused",
                                         "completed", "failed",   "rolled_back", "promoted"};
static const char *const canary_names[] = {"preparing",    "deploying", "monitoring", "promoting",
                                           "rolling_back", "completed", "failed"};
static const char *const verb_names[] = {"start",   "pause",    "resume", "stop",
                                         "promote", "rollback", "retry",  "fail"};
static const char *const routing_names[] = {"hash", "random", "sticky", "weighted_round_robin"};
static const char *const trigger_names[] = {
    "none", "error_rate", "latency_increase", "success_rate_decrease", "custom_metric", "manual"};
static const char *const decide_names[] = {"none",   "alert",    "set_traffic", "pause",
                                           "resume", "rollback", "promote"};
static const char *const rec_names[] = {"none",   "promote",          "rollback",        "continue",
                                        "extend", "increase_traffic", "decrease_traffic"};
static const char *const hook_names[] = {"guard", "promotion", "recommend", "ramp"};
static const char *const op_names[] = {">", "<", ">=", "<=", "==", "!="};

static const char *sl_name(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "unknown";
}

static int sl_parse(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *sl_health_name(int h)
{
    return sl_name(health_names, COUNT(health_names), h);
}
const char *sl_test_status_name(int s)
{
    return sl_name(test_names, COUNT(test_names), s);
}
const char *sl_canary_status_name(int s)
{
    return sl_name(canary_names, COUNT(canary_names), s);
}
const char *sl_verb_name(int v)
{
    return sl_name(verb_names, COUNT(verb_names), v);
}
const char *sl_routing_name(int r)
{
    return sl_name(routing_names, COUNT(routing_names), r);
}
const char *sl_trigger_name(int t)
{
    return sl_name(trigger_names, COUNT(trigger_names), t);
}
const char *sl_op_name(int op)
{
    return sl_name(op_names, COUNT(op_names), op);
}
int sl_health_parse(const char *s)
{
    return sl_parse(health_names, COUNT(health_names), s);
}
int sl_verb_parse(const char *s)
{
    return sl_parse(verb_names, COUNT(verb_names), s);
}
int sl_routing_parse(const char *s)
{
    return sl_parse(routing_names, COUNT(routing_names), s);
}
int sl_trigger_parse(const char *s)
{
    return sl_parse(trigger_names, COUNT(trigger_names), s);
}
int sl_op_parse(const char *s)
{
    return sl_parse(op_names, COUNT(op_names), s);
}
const char *sl_decide_name(int a)
{
    return sl_name(decide_names, COUNT(decide_names), a);
}
const char *sl_recommendation_name(int r)
{
    return sl_name(rec_names, COUNT(rec_names), r);
}
const char *sl_hook_name(int h)
{
    return sl_name(hook_names, COUNT(hook_names), h);
}
int sl_decide_parse(const char *s)
{
    return sl_parse(decide_names, COUNT(decide_names), s);
}
int sl_recommendation_parse(const char *s)
{
    return sl_parse(rec_names, COUNT(rec_names), s);
}
