/* test_store_codec.c - the JSON codec: full configs and states round-trip
 * exactly, every decoding error names its key path, short policy forms come
 * out canonical, and a decoded config is one the core accepts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "sluice.h"
#include "tap.h"

static const char full_test[] =
    "{\"id\":\"t-42\",\"name\":\"ranker v2\",\"description\":\"new features\",\"model\":\"ranker\","
    "\"control\":\"v1\",\"treatment\":{\"model\":\"ranker\",\"version\":\"v2\"},"
    "\"ramp\":[{\"at_hours\":0,\"treatment\":5},{\"at_hours\":1.5,\"treatment\":25,\"control\":"
    "50},{\"at_hours\":24,\"treatment\":50}],\"routing\":\"weighted_round_robin\","
    "\"duration_hours\":72.25,\"target_sample_size\":123456789012,\"alpha\":0.01,"
    "\"minimum_effect_size\":0.1,\"auto_promote\":true,\"auto_rollback\":false,"
    "\"success_metrics\":[\"clicks\",\"revenue\"],\"guard_metrics\":[{\"metric\":\"error_rate\","
    "\"type\":\"maximum\",\"threshold\":0.05,\"action\":\"rollback\"},{\"metric\":\"latency_p99\","
    "\"type\":\"percentage\",\"threshold\":20,\"action\":\"reduce_traffic\"}],"
    "\"created_by\":\"ana\",\"tags\":[\"search\",\"q3\"],"
    "\"policies\":{\"recommend\":[\"bayes\"],\"ramp\":\"linear\",\"guards\":[\"srm\","
    "[\"error_rate\",{\"max\":0.05}],{\"name\":\"latency\",\"params\":{\"p\":99},\"shadow\":true}]}"
    "}";

static const char canon_policies[] =
    "{\"ramp\":{\"name\":\"linear\"},\"guards\":[{\"name\":\"srm\"},{\"name\":\"error_rate\","
    "\"params\":{\"max\":0.05}},{\"name\":\"latency\",\"params\":{\"p\":99},\"shadow\":true}],"
    "\"recommend\":{\"name\":\"bayes\"}}";

static const char full_canary[] =
    "{\"id\":\"c-7\",\"name\":\"embedder canary\",\"model\":\"embedder\",\"stable\":\"v3\","
    "\"canary\":\"v4\",\"traffic\":2.5,\"duration_minutes\":90,\"success_threshold\":0.995,"
    "\"error_threshold\":0.01,\"auto_promote\":false,\"auto_rollback\":true,"
    "\"health_check_interval_ms\":2500,\"promotion_criteria\":[{\"metric\":\"error_rate\","
    "\"op\":\"<=\",\"value\":0.01,\"for_minutes\":10},{\"metric\":\"latency_p99\",\"op\":\"<\","
    "\"value\":250,\"for_minutes\":5}],\"metrics\":[\"recall\"],\"created_by\":\"bo\","
    "\"policies\":{\"promotion\":{\"name\":\"criteria\"},\"guards\":[\"error_rate\"]}}";

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_full_test(const struct sl_test_config *c)
{
    ok(same_str(c->id, "t-42") && same_str(c->name, "ranker v2") &&
           same_str(c->description, "new features") && same_str(c->model, "ranker") &&
           same_str(c->control_version, "v1") && same_str(c->treatment_version, "v2"),
       "test: strings and both arm forms decoded");
    ok(c->nramp == 3 && c->ramp[1].at_hours == 1.5 && c->ramp[1].treatment == 25 &&
           c->ramp[1].control == 50 && c->ramp[2].control == -1 && c->ramp[0].treatment == 5,
       "test: ramp decoded, control defaults to -1");
    ok(c->routing == SL_ROUTING_WRR && c->duration_hours == 72.25 &&
           c->target_sample_size == 123456789012ULL && c->alpha == 0.01 &&
           c->minimum_effect_size == 0.1 && c->auto_promote && !c->auto_rollback,
       "test: numbers, enums and booleans decoded");
    ok(c->nsuccess == 2 && same_str(c->success_metrics[1], "revenue") && c->ntags == 2 &&
           same_str(c->tags[0], "search") && same_str(c->created_by, "ana"),
       "test: string lists decoded");
    ok(c->nguards == 2 && c->guards[1].type == SL_GUARD_PERCENTAGE &&
           c->guards[1].action == SL_ACTION_REDUCE && c->guards[0].threshold == 0.05 &&
           same_str(c->guards[0].metric, "error_rate"),
       "test: guard metrics decoded");
    is_str(c->policies, canon_policies, "test: policies in canonical form");
}

static void test_round_trip(void)
{
    struct sl_codec_test a, b;
    struct sl_err err = {0};
    ok(sl_codec_test_decode(&a, full_test, strlen(full_test), &err) == 0, "full test decodes (%s)",
       err.msg);
    check_full_test(&a.cfg);
    char *j1 = sl_codec_test_json(&a.cfg);
    ok(j1 && sl_codec_test_decode(&b, j1, strlen(j1), &err) == 0, "its encoding decodes");
    check_full_test(&b.cfg);
    char *j2 = sl_codec_test_json(&b.cfg);
    is_str(j2, j1, "encode(decode(encode(x))) == encode(x)");
    tap_diag("test config JSON: %zu bytes", strlen(j1));
    free(j1);
    free(j2);
    sl_codec_test_destroy(&a);
    sl_codec_test_destroy(&b);
    sl_codec_test_destroy(&b); /* twice is harmless */
}

static void test_canary_round_trip(void)
{
    struct sl_codec_canary a, b;
    struct sl_err err = {0};
    ok(sl_codec_canary_decode(&a, full_canary, strlen(full_canary), &err) == 0,
       "full canary decodes (%s)", err.msg);
    const struct sl_canary_config *c = &a.cfg;
    ok(same_str(c->stable, "v3") && same_str(c->canary, "v4") && c->traffic == 2.5 &&
           c->success_threshold == 0.995 && c->health_check_interval_ms == 2500 &&
           c->auto_rollback && c->nmetrics == 1 && same_str(c->metrics[0], "recall"),
       "canary: fields decoded");
    ok(c->ncriteria == 2 && c->criteria[0].op == SL_OP_LE && c->criteria[1].op == SL_OP_LT &&
           c->criteria[1].value == 250 && c->criteria[0].for_minutes == 10,
       "canary: promotion criteria decoded");
    is_str(c->policies,
           "{\"guards\":[{\"name\":\"error_rate\"}],\"promotion\":{\"name\":\"criteria\"}}",
           "canary: policies canonical, keys in hook order");
    char *j1 = sl_codec_canary_json(c);
    ok(j1 && sl_codec_canary_decode(&b, j1, strlen(j1), &err) == 0, "canary encoding decodes");
    char *j2 = sl_codec_canary_json(&b.cfg);
    is_str(j2, j1, "canary: encode(decode(encode(x))) == encode(x)");
    free(j1);
    free(j2);
    sl_codec_canary_destroy(&a);
    sl_codec_canary_destroy(&b);

    ok(sl_codec_canary_decode(&a, "{\"name\":\"n\"}", 12, &err) == 0 && a.cfg.traffic == 10 &&
           a.cfg.health_check_interval_ms == 10000 && a.cfg.policies == NULL,
       "canary defaults: traffic 10, health checks every 10 s, no policies");
    sl_codec_canary_destroy(&a);
}

static void test_defaults_and_null(void)
{
    struct sl_codec_test t;
    const char *j = "{\"name\":\"x\",\"description\":null,\"guard_metrics\":[{\"metric\":\"m\"}]}";
    struct sl_err err = {0};
    ok(sl_codec_test_decode(&t, j, strlen(j), &err) == 0, "a minimal test decodes");
    ok(t.cfg.description == NULL && t.cfg.alpha == 0.05 && t.cfg.routing == SL_ROUTING_HASH &&
           t.cfg.nramp == 0 && t.cfg.ramp == NULL && t.cfg.policies == NULL,
       "null is absent; alpha 0.05, hash routing, no ramp");
    ok(t.cfg.guards[0].type == SL_GUARD_MAXIMUM && t.cfg.guards[0].action == SL_ACTION_ALERT,
       "a guard defaults to maximum / alert");
    sl_codec_test_destroy(&t);
}

static void test_version(void)
{
    struct sl_codec_version v, w;
    struct sl_err err = {0};
    const char *j = "{\"id\":\"ranker\",\"version\":\"v2\",\"path\":\"s3://m/v2\","
                    "\"config\":{\"layers\":[1,2],\"name\":\"x\"},\"health\":\"degraded\","
                    "\"live\":true}";
    ok(sl_codec_version_decode(&v, j, strlen(j), &err) == 0, "a model version decodes");
    ok(same_str(v.cfg.model, "ranker") && same_str(v.cfg.version, "v2") &&
           v.cfg.health == SL_HEALTH_DEGRADED && v.cfg.live,
       "version: id is the model, health by name, live");
    is_str(v.cfg.config, "{\"layers\":[1,2],\"name\":\"x\"}", "version: config kept as JSON text");
    char *e = sl_codec_version_json(&v.cfg);
    ok(e && strstr(e, "\"config\":{\"layers\":[1,2],\"name\":\"x\"}"),
       "version: JSON config encoded as the value (%s)", e ? e : "(null)");
    ok(e && sl_codec_version_decode(&w, e, strlen(e), &err) == 0 &&
           same_str(w.cfg.config, v.cfg.config) && same_str(w.cfg.path, "s3://m/v2"),
       "version: round trip");
    free(e);
    sl_codec_version_destroy(&w);
    struct sl_version_config raw = {.model = "m", .version = "v", .config = "fast=1"};
    e = sl_codec_version_json(&raw);
    ok(e && strstr(e, "\"config\":\"fast=1\""), "version: non-JSON config text becomes a string");
    free(e);
    sl_codec_version_destroy(&v);
}

struct bad_case {
    int form; /* 0 test, 1 canary, 2 version, 3 test state, 4 canary state */
    const char *json;
    const char *want; /* prefix of the message */
};

static const struct bad_case bad_cases[] = {
    {0, "{\"name\":5}", "name: expected a string"},
    {0, "{\"nme\":\"x\"}", "nme: unknown key"},
    {0, "{\"name\":\"a\",\"name\":\"b\"}", "name: duplicate key"},
    {0, "{\"ramp\":{}}", "ramp: expected an array"},
    {0, "{\"ramp\":[{\"treatment\":1},2]}", "ramp[2]: expected an object"},
    {0, "{\"ramp\":[{\"treatment\":1},{\"treatment\":\"x\"}]}",
     "ramp[2].treatment: expected a number"},
    {0, "{\"ramp\":[{\"at_hours\":1}]}", "ramp[1].treatment: required"},
    {0, "{\"ramp\":[{\"treatment\":1,\"ctrl\":2}]}", "ramp[1].ctrl: unknown key"},
    {0, "{\"routing\":\"bogus\"}", "routing: unknown value 'bogus' (hash, random, sticky,"},
    {0, "{\"routing\":1}", "routing: expected a string"},
    {0, "{\"target_sample_size\":1.5}", "target_sample_size: expected a whole number"},
    {0, "{\"target_sample_size\":-1}", "target_sample_size: expected a whole number"},
    {0, "{\"alpha\":\"0.05\"}", "alpha: expected a number"},
    {0, "{\"auto_promote\":\"yes\"}", "auto_promote: expected true or false"},
    {0, "{\"success_metrics\":[\"a\",1]}", "success_metrics[2]: expected a string"},
    {0, "{\"tags\":\"x\"}", "tags: expected an array"},
    {0, "{\"guard_metrics\":[{\"type\":\"most\"}]}", "guard_metrics[1].type: unknown value"},
    {0, "{\"guard_metrics\":[{\"threshold\":\"x\"}]}", "guard_metrics[1].threshold: expected"},
    {0, "{\"guard_metrics\":[{\"action\":\"panic\"}]}", "guard_metrics[1].action: unknown value"},
    {0, "{\"treatment\":5}", "treatment: expected a version string or {model, version}"},
    {0, "{\"model\":\"m\",\"treatment\":{\"model\":\"k\",\"version\":\"v\"}}",
     "treatment.model: 'k' differs from 'm'"},
    {0, "{\"control\":{\"model\":\"k\"},\"treatment\":{\"model\":\"j\"}}",
     "treatment.model: 'j' differs from 'k'"},
    {0, "{\"treatment\":{\"model\":1}}", "treatment.model: expected a string"},
    {0, "{\"treatment\":{\"versio\":\"v\"}}", "treatment.versio: unknown key"},
    {0, "{\"policies\":\"linear\"}", "policies: expected an object"},
    {0, "{\"policies\":{\"promotion\":\"p\"}}", "policies.promotion: unknown key"},
    {0, "{\"policies\":{\"ramp\":5}}", "policies.ramp: expected \"name\""},
    {0, "{\"policies\":{\"ramp\":[\"a\",{},3]}}", "policies.ramp: expected \"name\""},
    {0, "{\"policies\":{\"ramp\":[\"a\",5]}}", "policies.ramp: expected \"name\""},
    {0, "{\"policies\":{\"guards\":\"srm\"}}", "policies.guards: expected an array"},
    {0, "{\"policies\":{\"guards\":[\"srm\",{\"name\":\"x\",\"params\":3}]}}",
     "policies.guards[2].params: expected an object"},
    {0, "{\"policies\":{\"ramp\":{\"name\":\"x\",\"shadow\":\"yes\"}}}",
     "policies.ramp.shadow: expected true or false"},
    {0, "{\"policies\":{\"ramp\":{\"nam\":\"x\"}}}", "policies.ramp.nam: unknown key"},
    {0, "{\"policies\":{\"ramp\":{\"params\":{}}}}", "policies.ramp.name: expected a policy name"},
    {0, "{\"policies\":{\"guards\":[[1]]}}", "policies.guards[1]: expected \"name\""},
    {0, "{", "invalid JSON near byte"},
    {0, "{} x", "invalid JSON: extra text at byte 3"},
    {0, "[1]", "expected an object"},
    {1, "{\"promotion_criteria\":[{\"op\":\"=>\"}]}", "promotion_criteria[1].op: unknown value"},
    {1, "{\"traffic\":\"10%\"}", "traffic: expected a number"},
    {1, "{\"policies\":{\"recommend\":\"bayes\"}}", "policies.recommend: unknown key"},
    {1, "{\"metrics\":[null]}", "metrics[1]: expected a string"},
    {1, "{\"promotion_criteria\":[{\"metric\":\"e\"},{\"for_minutes\":true}]}",
     "promotion_criteria[2].for_minutes: expected a number"},
    {2, "{\"id\":3}", "id: expected a string"},
    {2, "{\"health\":\"sick\"}", "health: unknown value 'sick'"},
    {2, "{\"live\":1}", "live: expected true or false"},
    {3, "{\"status\":\"walking\"}", "status: unknown value"},
    {3, "{\"analysis\":\"!!!!\"}", "analysis: not valid base64"},
    {3, "{\"allocs\":[{\"at\":1,\"treatment\":\"x\"}]}", "allocs[1].treatment: expected a number"},
    {3, "{\"ramp_step\":1.5}", "ramp_step: expected an integer"},
    {4, "{\"checks\":[{\"health\":\"ok\"}]}", "checks[1].health: unknown value"},
    {4, "{\"trigger\":\"boom\"}", "trigger: unknown value"},
};

/* Decode json as form; return the error message or NULL on success. */
static const char *decode_form(int form, const char *json, struct sl_err *err)
{
    size_t n = strlen(json);
    int rc;
    union {
        struct sl_codec_test t;
        struct sl_codec_canary c;
        struct sl_codec_version v;
        struct sl_codec_test_state ts;
        struct sl_codec_canary_state cs;
    } u;
    if (form == 0)
        rc = sl_codec_test_decode(&u.t, json, n, err), sl_codec_test_destroy(&u.t);
    else if (form == 1)
        rc = sl_codec_canary_decode(&u.c, json, n, err), sl_codec_canary_destroy(&u.c);
    else if (form == 2)
        rc = sl_codec_version_decode(&u.v, json, n, err), sl_codec_version_destroy(&u.v);
    else if (form == 3)
        rc = sl_codec_test_state_decode(&u.ts, json, n, err), sl_codec_test_state_destroy(&u.ts);
    else
        rc = sl_codec_canary_state_decode(&u.cs, json, n, err),
        sl_codec_canary_state_destroy(&u.cs);
    return rc ? err->msg : NULL;
}

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct sl_err err = {0};
        const char *msg = decode_form(c->form, c->json, &err);
        ok(msg && strncmp(msg, c->want, strlen(c->want)) == 0 && err.code == SL_EINVAL,
           "error names the key: %s -> %s", c->json, msg ? msg : "(accepted)");
    }
    struct sl_codec_test t;
    struct sl_err err = {0};
    ok(sl_codec_test_decode(&t, "{\"name\":7}", 10, &err) == -1 && t.cfg.name == NULL &&
           t.mem.tree == NULL && t.mem.nblocks == 0,
       "a failed decode leaves the struct empty");
    ok(sl_codec_test_decode(&t, NULL, 0, &err) == -1, "NULL text is refused");
}

static void test_policies(void)
{
    struct sl_err err = {0};
    const char *in = "{\"guards\":[{\"name\":\"srm\",\"shadow\":false}],\"ramp\":[\"step\","
                     "{\"at\":[1,2]}],\"recommend\":{\"name\":\"freq\",\"params\":null}}";
    char *c = sl_codec_policies(in, strlen(in), SL_KIND_TEST, &err);
    is_str(c,
           "{\"ramp\":{\"name\":\"step\",\"params\":{\"at\":[1,2]}},\"guards\":[{\"name\":"
           "\"srm\",\"shadow\":false}],\"recommend\":{\"name\":\"freq\"}}",
           "short forms canonicalised, hook order fixed, null params dropped");
    char *again = c ? sl_codec_policies(c, strlen(c), SL_KIND_TEST, &err) : NULL;
    is_str(again, c, "the canonical form is a fixed point");
    free(c);
    free(again);
    c = sl_codec_policies("{}", 2, SL_KIND_CANARY, &err);
    is_str(c, "{}", "empty policies stay empty");
    free(c);
    c = sl_codec_policies("{\"promotion\":\"p\"}", 17, SL_KIND_TEST, &err);
    ok(!c && strncmp(err.msg, "policies.promotion: unknown key", 31) == 0,
       "promotion is not a test hook (%s)", err.msg);
}

static void test_state_round_trip(void)
{
    unsigned char blob[77];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (unsigned char)(i * 37 + 11);
    struct sl_alloc_point allocs[] = {{1000.5, 5}, {4600.25, 25}, {1e9 + 0.1, 100.0 / 3}};
    struct sl_test_state st = {.status = SL_TEST_PAUSED,
                               .created_at = 999.0,
                               .started_at = 1000.5,
                               .running_seconds = 1234.5678901234567,
                               .treatment_pct = 100.0 / 3,
                               .control_pct = 200.0 / 3,
                               .ramp_step = 2,
                               .allocs = allocs,
                               .nallocs = 3,
                               .last_reason = "guard \"srm\" fired",
                               .recommendation = SL_REC_EXTEND,
                               .recommendation_reason = "needs 1200 more",
                               .analysis = blob,
                               .analysis_len = sizeof blob};
    char *j = sl_codec_test_state_json(&st);
    struct sl_codec_test_state d;
    struct sl_err err = {0};
    ok(j && sl_codec_test_state_decode(&d, j, strlen(j), &err) == 0, "test state round trip");
    const struct sl_test_state *s = &d.st;
    ok(s->status == st.status && s->running_seconds == st.running_seconds &&
           s->treatment_pct == st.treatment_pct && s->control_pct == st.control_pct &&
           s->ramp_step == 2 && s->recommendation == SL_REC_EXTEND && !s->in_history &&
           s->ended_at == 0,
       "test state: numbers bit-exact, enums by name");
    ok(s->nallocs == 3 && s->allocs[2].at == allocs[2].at &&
           s->allocs[2].treatment == allocs[2].treatment,
       "test state: allocation history");
    ok(s->analysis_len == sizeof blob && memcmp(s->analysis, blob, sizeof blob) == 0,
       "test state: the analysis blob survives base64");
    ok(same_str(s->last_reason, st.last_reason) &&
           same_str(s->recommendation_reason, st.recommendation_reason),
       "test state: reasons");
    free(j);
    sl_codec_test_state_destroy(&d);
}

static void test_canary_state_round_trip(void)
{
    struct sl_err err = {0};
    struct sl_health_check checks[] = {{10, SL_HEALTH_HEALTHY, 0.001, true},
                                       {20, SL_HEALTH_DEGRADED, NAN, false}};
    struct sl_canary_state ks = {.status = SL_CANARY_FAILED,
                                 .created_at = 5,
                                 .started_at = 6,
                                 .ended_at = 30,
                                 .traffic_pct = 12.5,
                                 .last_check = 20,
                                 .checks = checks,
                                 .nchecks = 2,
                                 .trigger = SL_TRIGGER_ERROR_RATE,
                                 .outcome = "failed",
                                 .in_history = true};
    char *j = sl_codec_canary_state_json(&ks);
    struct sl_codec_canary_state kd;
    ok(j && sl_codec_canary_state_decode(&kd, j, strlen(j), &err) == 0, "canary state round trip");
    ok(kd.st.status == SL_CANARY_FAILED && kd.st.in_history && kd.st.nchecks == 2 &&
           kd.st.checks[0].error_rate == 0.001 && isnan(kd.st.checks[1].error_rate) &&
           !kd.st.checks[1].passed && kd.st.checks[1].health == SL_HEALTH_DEGRADED &&
           kd.st.trigger == SL_TRIGGER_ERROR_RATE && same_str(kd.st.outcome, "failed"),
       "canary state: checks (NaN error rate as null), trigger, outcome");
    free(j);
    sl_codec_canary_state_destroy(&kd);
}

static void test_base64(void)
{
    bool good = true;
    unsigned char in[10];
    for (size_t n = 0; n <= sizeof in; n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)(0xF0 ^ (i * 91));
        char *t = sl_codec_base64(in, n);
        unsigned char *out = NULL;
        size_t m;
        good &= t && strlen(t) == (n + 2) / 3 * 4 &&
                sl_codec_unbase64(t, strlen(t), &out, &m) == 0 && m == n &&
                (n == 0 || memcmp(out, in, n) == 0);
        if (n > 0)
            free(out);
        free(t);
    }
    ok(good, "base64 round-trips 0..10 bytes");
    unsigned char *out = NULL;
    size_t m;
    ok(sl_codec_unbase64("QUJD=", 5, &out, &m) == -1 &&
           sl_codec_unbase64("QU=D", 4, &out, &m) == -1 &&
           sl_codec_unbase64("QQ==QUJD", 8, &out, &m) == -1,
       "bad base64 is refused (length, padding in the middle)");
    ok(sl_codec_unbase64("QUI=", 4, &out, &m) == 0 && m == 2 && memcmp(out, "AB", 2) == 0,
       "padded base64 decodes");
    free(out);
}

/* A decoded config is one the core accepts, and what the core keeps encodes back
 * to the same JSON. */
static void test_with_engine(void)
{
    struct sl_engine *e = sl_engine_new(NULL, NULL);
    const char *versions[] = {"v1", "v2"};
    for (int i = 0; i < 2; i++) {
        struct sl_version_config v = {.model = "ranker", .version = versions[i]};
        sl_engine_add_version(e, &v, NULL);
    }
    struct sl_codec_test t;
    struct sl_err err = {0};
    sl_codec_test_decode(&t, full_test, strlen(full_test), &err);
    ok(sl_engine_create_test(e, &t.cfg, NULL, &err) == 0, "the core accepts the decoded test (%s)",
       err.msg);
    sl_codec_test_destroy(&t);
    struct sl_test_info info;
    sl_engine_test(e, "t-42", &info, NULL);
    char *core = sl_codec_test_json(info.config);
    ok(core && strstr(core, "{\"at_hours\":0,\"treatment\":5,\"control\":95}"),
       "the core's normalised copy encodes (ramp control filled in)");
    struct sl_codec_test again;
    char *back = core && sl_codec_test_decode(&again, core, strlen(core), &err) == 0
                     ? sl_codec_test_json(&again.cfg)
                     : NULL;
    is_str(back, core, "and round-trips");
    if (back)
        sl_codec_test_destroy(&again);
    free(back);
    free(core);
    sl_engine_delete(e);
}

int main(void)
{
    test_round_trip();
    test_canary_round_trip();
    test_defaults_and_null();
    test_version();
    test_errors();
    test_policies();
    test_state_round_trip();
    test_canary_state_round_trip();
    test_base64();
    test_with_engine();
    return tap_done();
}
