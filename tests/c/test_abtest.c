/* test_abtest.c - A/B test configuration validation: every field the core
 * checks is given a bad value once, and the create call must fail with the
 * right code, a message naming the field, and no test left behind. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sluice.h"
#include "tap.h"

static struct sl_engine *eng;

static struct sl_test_config base(void)
{
    return (struct sl_test_config){
        .name = "t", .model = "ranker", .control_version = "v1", .treatment_version = "v2"};
}

/* Create cfg; it must fail with code and a message containing want. */
static void refused(const struct sl_test_config *cfg, int code, const char *want, const char *what)
{
    struct sl_err err = {0};
    size_t before = sl_engine_test_count(eng);
    int rc = sl_engine_create_test(eng, cfg, NULL, &err);
    ok(rc == -1 && err.code == code && strstr(err.msg, want) != NULL, "%s: refused (%s: %s)", what,
       sl_err_name(err.code), err.msg);
    is_int((long long)sl_engine_test_count(eng), (long long)before, "  and no test was created");
}

static void test_a_valid_config_is_accepted(void)
{
    struct sl_test_config c = base();
    char id[SL_ID_MAX + 1];
    struct sl_err err;
    ok(sl_engine_create_test(eng, &c, id, &err) == 0, "the base config is valid (%s)", id);
    c.id = "fixed";
    ok(sl_engine_create_test(eng, &c, id, &err) == 0 && strcmp(id, "fixed") == 0,
       "a given id is used");
    refused(&c, SL_EEXIST, "fixed", "a duplicate id");
}

static void test_names_and_texts(void)
{
    struct sl_test_config c = base();
    c.name = NULL;
    refused(&c, SL_EINVAL, "name: required", "no name");
    c.name = "";
    refused(&c, SL_EINVAL, "name: required", "an empty name");
    static char big[SL_TEXT_MAX + 2];
    memset(big, 'x', SL_TEXT_MAX + 1);
    c = base();
    c.description = big;
    refused(&c, SL_EINVAL, "description: longer than 4096 bytes", "a description over the limit");
    c = base();
    c.created_by = big;
    refused(&c, SL_EINVAL, "created_by", "created_by over the limit");
    c = base();
    c.id = "has space";
    refused(&c, SL_EINVAL, "id: ids may not contain", "an id with a space");
    c = base();
    static char policies[65538];
    memset(policies, ' ', 65537);
    c.policies = policies;
    refused(&c, SL_EINVAL, "policies: longer than 65536 bytes", "policies text over the limit");
    c = base();
    c.model = "nope";
    refused(&c, SL_ENOTFOUND, "unknown model 'nope'", "an unknown model");
    c = base();
    c.treatment_version = "v9";
    refused(&c, SL_ENOTFOUND, "treatment: model 'ranker' has no version 'v9'",
            "an unknown treatment version");
}

static void test_numbers(void)
{
    struct sl_test_config c = base();
    c.routing = 4;
    refused(&c, SL_EINVAL, "routing: unknown strategy 4", "routing past the last strategy");
    c.routing = -1;
    refused(&c, SL_EINVAL, "routing", "a negative routing");
    c = base();
    c.duration_hours = -1;
    refused(&c, SL_EINVAL, "duration_hours", "a negative duration");
    c.duration_hours = INFINITY;
    refused(&c, SL_EINVAL, "duration_hours", "an infinite duration");
    c = base();
    c.alpha = 1;
    refused(&c, SL_EINVAL, "alpha: 1 is not a significance level", "alpha = 1");
    c.alpha = NAN;
    refused(&c, SL_EINVAL, "alpha", "alpha = NaN");
    c = base();
    c.minimum_effect_size = -0.1;
    refused(&c, SL_EINVAL, "minimum_effect_size", "a negative minimum effect");
    c.minimum_effect_size = NAN;
    refused(&c, SL_EINVAL, "minimum_effect_size", "a NaN minimum effect");
}

static void test_ramps(void)
{
    struct sl_test_config c = base();
    struct sl_ramp_step steps[SL_MAX_RAMP + 1];
    for (int i = 0; i <= SL_MAX_RAMP; i++)
        steps[i] = (struct sl_ramp_step){.at_hours = i, .treatment = 10, .control = -1};
    c.ramp = steps;
    c.nramp = SL_MAX_RAMP;
    struct sl_err err;
    ok(sl_engine_create_test(eng, &c, NULL, &err) == 0, "a ramp of %d steps is accepted",
       SL_MAX_RAMP);
    c.nramp = SL_MAX_RAMP + 1;
    refused(&c, SL_EINVAL, "ramp: 65 steps, the limit is 64", "one step too many");
    c.nramp = 2;
    steps[1].at_hours = -2;
    refused(&c, SL_EINVAL, "ramp[2].at_hours: must be a number >= 0", "a negative step time");
    steps[1].at_hours = NAN;
    refused(&c, SL_EINVAL, "ramp[2].at_hours", "a NaN step time");
    steps[1].at_hours = 0;
    refused(&c, SL_EINVAL, "ramp[2].at_hours: steps must go forward", "a step not after the last");
    steps[1].at_hours = 1;
    steps[1].treatment = NAN;
    refused(&c, SL_EINVAL, "ramp[2].treatment", "a NaN share");
    steps[1].treatment = 60;
    steps[1].control = 50;
    refused(&c, SL_EINVAL, "ramp[2]: control 50 + treatment 60 exceeds 100", "shares over 100");
    steps[1].control = 40;
    ok(sl_engine_create_test(eng, &c, NULL, &err) == 0, "shares that sum to 100 are accepted");
}

static void test_metrics_guards_tags(void)
{
    struct sl_test_config c = base();
    const char *many[SL_MAX_METRICS + 1];
    char names[SL_MAX_METRICS + 1][8];
    for (int i = 0; i <= SL_MAX_METRICS; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i);
        many[i] = names[i];
    }
    c.success_metrics = many;
    c.nsuccess = SL_MAX_METRICS + 1;
    refused(&c, SL_EINVAL, "success_metrics: 17 metrics, the limit is 16", "17 metrics");
    const char *builtin[] = {"clicks", "latency_p99"};
    c.success_metrics = builtin;
    c.nsuccess = 2;
    refused(&c, SL_EINVAL, "'latency_p99' is a built-in metric", "a built-in metric name");
    const char *twice[] = {"clicks", "clicks"};
    c.success_metrics = twice;
    refused(&c, SL_EINVAL, "'clicks' is listed twice", "a metric listed twice");
    const char *bad_id[] = {"a/b"};
    c.success_metrics = bad_id;
    c.nsuccess = 1;
    refused(&c, SL_EINVAL, "success_metrics", "a metric name with '/'");

    c = base();
    struct sl_guard_config g[33];
    for (int i = 0; i < 33; i++)
        g[i] = (struct sl_guard_config){.metric = "error_rate", .threshold = 0.1};
    c.guards = g;
    c.nguards = 33;
    refused(&c, SL_EINVAL, "guard_metrics: 33 guards, the limit is 32", "33 guards");
    c.nguards = 1;
    g[0].metric = NULL;
    refused(&c, SL_EINVAL, "guard_metrics.metric", "a guard without a metric");
    g[0].metric = "error_rate";
    g[0].type = SL_GUARD_ABSOLUTE + 1;
    refused(&c, SL_EINVAL, "guard_metrics[1].type: unknown", "an unknown guard type");
    g[0].type = SL_GUARD_MAXIMUM;
    g[0].action = SL_ACTION_REDUCE + 1;
    refused(&c, SL_EINVAL, "guard_metrics[1].action: unknown", "an unknown guard action");
    g[0].action = SL_ACTION_PAUSE;
    g[0].threshold = INFINITY;
    refused(&c, SL_EINVAL, "guard_metrics[1].threshold: not a number", "an infinite threshold");

    c = base();
    const char *tags[SL_MAX_TAGS + 1];
    for (int i = 0; i <= SL_MAX_TAGS; i++)
        tags[i] = "tag";
    c.tags = tags;
    c.ntags = SL_MAX_TAGS + 1;
    refused(&c, SL_EINVAL, "tags: 33 tags, the limit is 32", "33 tags");
    c.ntags = 2;
    tags[1] = "";
    refused(&c, SL_EINVAL, "tags[2]: must be 1..256 bytes", "an empty tag");
    tags[1] = NULL;
    refused(&c, SL_EINVAL, "tags[2]", "a NULL tag");
}

int main(void)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.max_tests = 1000;
    eng = sl_engine_new(&o, NULL);
    struct sl_version_config v1 = {.model = "ranker", .version = "v1"};
    struct sl_version_config v2 = {.model = "ranker", .version = "v2"};
    sl_engine_add_version(eng, &v1, NULL);
    sl_engine_add_version(eng, &v2, NULL);
    RUN(test_a_valid_config_is_accepted);
    RUN(test_names_and_texts);
    RUN(test_numbers);
    RUN(test_ramps);
    RUN(test_metrics_guards_tags);
    sl_engine_delete(eng);
    return tap_done();
}
