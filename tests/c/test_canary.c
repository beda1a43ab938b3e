/* test_canary.c - canary configuration validation: every field the core
 * checks is given a bad value once; the create call must fail with the right
 * code and a message naming the field, and leave no canary behind. Also the
 * defaults a valid config gets (stable = the live version, traffic 10%,
 * health checks every 10 s). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sluice.h"
#include "tap.h"

static struct sl_engine *eng;

static struct sl_canary_config base(void)
{
    return (struct sl_canary_config){.name = "k", .model = "ranker", .canary = "v2"};
}

static void refused(const struct sl_canary_config *cfg, int code, const char *want,
                    const char *what)
{
    struct sl_err err = {0};
    size_t before = sl_engine_canary_count(eng);
    int rc = sl_engine_create_canary(eng, cfg, NULL, &err);
    ok(rc == -1 && err.code == code && strstr(err.msg, want) != NULL, "%s: refused (%s: %s)", what,
       sl_err_name(err.code), err.msg);
    is_int((long long)sl_engine_canary_count(eng), (long long)before,
           "  and no canary was created");
}

static void test_defaults(void)
{
    struct sl_canary_config c = base();
    char id[SL_ID_MAX + 1];
    struct sl_err err;
    struct sl_canary_info k;
    ok(sl_engine_create_canary(eng, &c, id, &err) == 0 && sl_engine_canary(eng, id, &k, &err) == 0,
       "the base config is valid (%s)", id);
    is_str(k.config->stable, "v1", "stable defaults to the live version");
    near(k.config->traffic, 10, 0, "traffic defaults to 10%");
    near(k.config->health_check_interval_ms, 10000, 0, "health checks default to every 10 s");
    is_str(sl_canary_status_name(k.status), "preparing", "a new canary is preparing");
}

static void test_fields(void)
{
    struct sl_canary_config c = base();
    c.name = "";
    refused(&c, SL_EINVAL, "name: required", "an empty name");
    c = base();
    c.id = "a/b";
    refused(&c, SL_EINVAL, "id: ids may not contain", "an id with '/'");
    c = base();
    c.canary = "v1";
    refused(&c, SL_EINVAL, "canary: 'v1' is already the stable version", "canary == stable");
    c = base();
    c.stable = "v7";
    refused(&c, SL_ENOTFOUND, "stable: model 'ranker' has no version 'v7'", "an unknown stable");
    c = base();
    c.model = "nope";
    refused(&c, SL_ENOTFOUND, "unknown model", "an unknown model");
    c = base();
    c.traffic = 100.5;
    refused(&c, SL_EINVAL, "traffic: 100.5 is outside [0,100]", "traffic over 100");
    c.traffic = NAN;
    refused(&c, SL_EINVAL, "traffic", "NaN traffic");
    c = base();
    c.duration_minutes = -5;
    refused(&c, SL_EINVAL, "duration_minutes: must be a number >= 0", "a negative duration");
    c = base();
    c.health_check_interval_ms = 99;
    refused(&c, SL_EINVAL, "health_check_interval_ms: must be >= 100", "health checks at 99 ms");
    c.health_check_interval_ms = INFINITY;
    refused(&c, SL_EINVAL, "health_check_interval_ms", "infinite health check interval");
    c = base();
    c.success_threshold = 1.5;
    refused(&c, SL_EINVAL, "success_threshold: 1.5 is outside [0,1]", "a success threshold > 1");
    c = base();
    c.error_threshold = -0.1;
    refused(&c, SL_EINVAL, "error_threshold", "a negative error threshold");
    c = base();
    static char policies[65538];
    memset(policies, ' ', 65537);
    c.policies = policies;
    refused(&c, SL_EINVAL, "policies: longer than 65536 bytes", "policies text over the limit");
    c = base();
    const char *metrics[] = {"errors"};
    c.metrics = metrics;
    c.nmetrics = 1;
    refused(&c, SL_EINVAL, "metrics: 'errors' is a built-in metric", "a built-in metric name");
}

static void test_criteria(void)
{
    struct sl_canary_config c = base();
    struct sl_criterion cr[SL_MAX_CRITERIA + 1];
    for (int i = 0; i <= SL_MAX_CRITERIA; i++)
        cr[i] = (struct sl_criterion){.metric = "error_rate", .op = SL_OP_LT, .value = 0.01};
    c.criteria = cr;
    c.ncriteria = SL_MAX_CRITERIA + 1;
    refused(&c, SL_EINVAL, "promotion_criteria: 17 criteria, the limit is 16", "17 criteria");
    c.ncriteria = 1;
    cr[0].metric = "";
    refused(&c, SL_EINVAL, "promotion_criteria.metric", "a criterion without a metric");
    cr[0].metric = "error_rate";
    cr[0].op = SL_OP_NE + 1;
    refused(&c, SL_EINVAL, "promotion_criteria[1].op: unknown operator", "an unknown operator");
    cr[0].op = SL_OP_LT;
    cr[0].value = NAN;
    refused(&c, SL_EINVAL, "promotion_criteria[1].value: not a number", "a NaN value");
    cr[0].value = 0.01;
    cr[0].for_minutes = -1;
    refused(&c, SL_EINVAL, "promotion_criteria[1].for_minutes: must be >= 0",
            "a negative duration");
    cr[0].for_minutes = 5;
    struct sl_err err;
    char id[SL_ID_MAX + 1];
    struct sl_canary_info k;
    ok(sl_engine_create_canary(eng, &c, id, &err) == 0 &&
           sl_engine_canary(eng, id, &k, NULL) == 0 && k.config->ncriteria == 1 &&
           strcmp(k.config->criteria[0].metric, "error_rate") == 0 &&
           k.config->criteria[0].for_minutes == 5,
       "a valid criterion is accepted and copied");
}

int main(void)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.max_canaries = 1000;
    eng = sl_engine_new(&o, NULL);
    struct sl_version_config v1 = {.model = "ranker", .version = "v1"};
    struct sl_version_config v2 = {.model = "ranker", .version = "v2"};
    sl_engine_add_version(eng, &v1, NULL);
    sl_engine_add_version(eng, &v2, NULL);
    RUN(test_defaults);
    RUN(test_fields);
    RUN(test_criteria);
    sl_engine_delete(eng);
    return tap_done();
}
