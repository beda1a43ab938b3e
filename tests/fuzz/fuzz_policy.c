/* fuzz_policy.c - libFuzzer target: arbitrary policy source through the
 * policy host: sandboxed load, contract check and self_test (sl_policy_load,
 * via the host's policy set), then, if it loaded, one test (guard, ramp or
 * recommend policy) or canary (promotion policy) that names it, a few
 * recorded results on both arms and two ticks an hour apart, which call its
 * evaluate hook with a real view, params and ctx.
 *
 * Input: the text of a .lua file. The seeds are the built-in policies and
 * the test fixtures (broken and hostile policies).
 *
 * Checks beyond the sanitizers: the host and the engine survive any source
 * (a failing or hostile policy becomes an error event, never a crash), and
 * a policy that loaded is listed with a known kind. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "fuzz_common.h"

static char dir[64];
static char file[128];

static void cleanup(void)
{
    unlink(file);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/sluice-fuzz-policy-XXXXXX");
    if (!mkdtemp(dir))
        fz_fail("mkdtemp failed");
    snprintf(file, sizeof file, "%s/fuzz.lua", dir);
    atexit(cleanup);
    return 0;
}

/* A test or canary config naming the policy; NULL for a kind no object names. */
static char *config_for(const struct sl_policy *p)
{
    static const char *const keys[] = {[SL_POLICY_GUARD] = "guards",
                                       [SL_POLICY_PROMOTION] = "promotion",
                                       [SL_POLICY_RAMP] = "ramp",
                                       [SL_POLICY_RECOMMEND] = "recommend"};
    if (p->kind < 0 || p->kind > SL_POLICY_RECOMMEND)
        fz_fail("policy %s has kind %d", p->name, p->kind);
    cJSON *o = cJSON_CreateObject(), *pol = cJSON_AddObjectToObject(o, "policies");
    cJSON *name = cJSON_CreateString(p->name);
    if (p->kind == SL_POLICY_GUARD) {
        cJSON *a = cJSON_AddArrayToObject(pol, keys[p->kind]);
        cJSON_AddItemToArray(a, name);
    } else {
        cJSON_AddItemToObject(pol, keys[p->kind], name);
    }
    cJSON_AddStringToObject(o, "model", "ranker");
    if (p->kind == SL_POLICY_PROMOTION) {
        cJSON_AddStringToObject(o, "canary", "v2");
    } else {
        cJSON_AddStringToObject(o, "control", "v1");
        cJSON_AddStringToObject(o, "treatment", "v2");
        cJSON_AddItemToObject(o, "success_metrics",
                              cJSON_CreateStringArray((const char *[]){"clicks"}, 1));
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static int create(struct sl_engine *eng, int kind, const char *json, char *id, struct sl_err *err)
{
    int rc;
    if (kind == SL_POLICY_PROMOTION) {
        struct sl_codec_canary c;
        rc = sl_codec_canary_decode(&c, json, strlen(json), err) ||
             sl_engine_create_canary(eng, &c.cfg, id, err);
        sl_codec_canary_destroy(&c);
    } else {
        struct sl_codec_test t;
        rc = sl_codec_test_decode(&t, json, strlen(json), err) ||
             sl_engine_create_test(eng, &t.cfg, id, err);
        sl_codec_test_destroy(&t);
    }
    return rc;
}

/* Make the policy run: an object naming it, results, two ticks. */
static void exercise(struct sl_daemon *d, const struct sl_policy *p)
{
    char id[SL_ID_MAX + 1];
    struct sl_err err;
    char *json = config_for(p);
    if (!json)
        fz_fail("out of memory");
    fz_add_versions(d->eng, "ranker", "v1", "v2");
    if (create(d->eng, p->kind, json, id, &err) == 0 &&
        sl_engine_act(d->eng, id, SL_VERB_START, "fuzz", NULL, &err) == 0) {
        for (int i = 0; i < 40; i++) {
            struct sl_sample s = {0, (double)(i % 3)};
            (void)sl_engine_record(d->eng, id, i & 1, i % 7 != 0, 10.0 + i, &s,
                                   p->kind == SL_POLICY_PROMOTION ? 0 : 1, &err);
        }
        for (int i = 0; i < 2; i++) {
            d->virt0 += 3600;
            (void)sl_engine_tick(d->eng, &err);
        }
    }
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sl_daemon d;
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fz_fail("cannot write %s", file);
    fz_daemon_open(&d, dir);
    struct sl_policyset *set = sl_host_policies(d.host);
    if (sl_policyset_count(set) > 1)
        fz_fail("one file gave %zu policies", sl_policyset_count(set));
    if (sl_policyset_count(set) == 1)
        exercise(&d, sl_policyset_at(set, 0));
    fz_daemon_close(&d);
    return 0;
}
