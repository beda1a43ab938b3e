/* test_registry.c - the model registry through the engine: version
 * validation (each bad field refused with its code and name, nothing added),
 * many models (the index grows), health and live-version changes and their
 * refusals. */
#include <stdio.h>
#include <string.h>

#include "sluice.h"
#include "tap.h"

static struct sl_engine *eng;

static void refused(const struct sl_version_config *cfg, int code, const char *want,
                    const char *what)
{
    struct sl_err err = {0};
    size_t before = sl_engine_model_count(eng);
    int rc = sl_engine_add_version(eng, cfg, &err);
    ok(rc == -1 && err.code == code && strstr(err.msg, want) != NULL, "%s: refused (%s: %s)", what,
       sl_err_name(err.code), err.msg);
    is_int((long long)sl_engine_model_count(eng), (long long)before, "  and no model was added");
}

static void test_version_validation(void)
{
    struct sl_version_config c = {.model = NULL, .version = "v1"};
    refused(&c, SL_EINVAL, "model: must be a non-empty id", "no model");
    c.model = "m";
    c.version = "";
    refused(&c, SL_EINVAL, "version: must be a non-empty id", "an empty version");
    static char longid[SL_ID_MAX + 2];
    memset(longid, 'a', SL_ID_MAX + 1);
    c.version = longid;
    refused(&c, SL_EINVAL, "version: id is 257 bytes, the limit is 256",
            "a version over 256 bytes");
    c.version = "v 1";
    refused(&c, SL_EINVAL, "version: ids may not contain spaces", "a version with a space");
    c.version = "v1";
    static char longtext[SL_TEXT_MAX + 2];
    memset(longtext, 'p', SL_TEXT_MAX + 1);
    c.path = longtext;
    refused(&c, SL_EINVAL, "path: longer than 4096 bytes", "a path over the limit");
    c.path = NULL;
    static char config[65538];
    memset(config, ' ', 65537);
    c.config = config;
    refused(&c, SL_EINVAL, "config: longer than 65536 bytes", "a config over the limit");
    c.config = NULL;
    c.health = SL_HEALTH_FAILED + 1;
    refused(&c, SL_EINVAL, "health: unknown value 5", "an unknown health");
    c.health = SL_HEALTH_LOADING;
    c.path = "/models/m/v1";
    c.config = "{\"k\":1}";
    struct sl_err err;
    ok(sl_engine_add_version(eng, &c, &err) == 0, "a valid version is added");
    refused(&c, SL_EEXIST, "model 'm' already has version 'v1'", "the same version again");
    struct sl_version_info vi;
    ok(sl_engine_model_version_at(eng, "m", 0, &vi) == 0 && strcmp(vi.path, "/models/m/v1") == 0 &&
           strcmp(vi.config, "{\"k\":1}") == 0 && vi.health == SL_HEALTH_LOADING,
       "path, config and health are kept");
}

static void test_many_models(void)
{
    struct sl_err err;
    char name[32];
    int added = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "model-%d", i);
        struct sl_version_config c = {.model = name, .version = "v1"};
        struct sl_version_config c2 = {.model = name, .version = "v2", .live = (i % 2 == 0)};
        added +=
            sl_engine_add_version(eng, &c, &err) == 0 && sl_engine_add_version(eng, &c2, &err) == 0;
    }
    is_int(added, 300, "300 models of two versions each are added");
    int found = 0, live_ok = 0;
    for (int i = 0; i < 300; i++) {
        struct sl_model_info mi;
        snprintf(name, sizeof name, "model-%d", i);
        if (sl_engine_model(eng, name, &mi, NULL) != 0)
            continue;
        found += strcmp(mi.id, name) == 0 && mi.nversions == 2;
        live_ok += strcmp(mi.live, i % 2 == 0 ? "v2" : "v1") == 0;
    }
    is_int(found, 300, "every model is found by id after the index grew");
    is_int(live_ok, 300, "live = true on the second version makes it live");
    struct sl_model_info mi;
    ok(sl_engine_model(eng, "model-300", &mi, &err) == -1 && err.code == SL_ENOTFOUND,
       "an unknown model is not found (%s)", err.msg);
}

static void test_health_and_live(void)
{
    struct sl_err err;
    ok(sl_engine_set_health(eng, "m", "v1", SL_HEALTH_DEGRADED, &err) == 0, "set_health");
    struct sl_version_info vi;
    sl_engine_model_version_at(eng, "m", 0, &vi);
    is_str(sl_health_name(vi.health), "degraded", "the new health is kept");
    ok(sl_engine_set_health(eng, "m", "v1", 9, &err) == -1 && err.code == SL_EINVAL,
       "an unknown health is refused (%s)", err.msg);
    ok(sl_engine_set_health(eng, "m", "v9", SL_HEALTH_HEALTHY, &err) == -1 &&
           err.code == SL_ENOTFOUND,
       "an unknown version is not found (%s)", err.msg);
    ok(sl_engine_set_health(eng, "zz", "v1", SL_HEALTH_HEALTHY, &err) == -1 &&
           err.code == SL_ENOTFOUND,
       "an unknown model is not found (%s)", err.msg);
    struct sl_version_config v2 = {.model = "m", .version = "v2"};
    sl_engine_add_version(eng, &v2, NULL);
    ok(sl_engine_set_live(eng, "m", "v2", "ops", &err) == 0, "set_live");
    struct sl_model_info mi;
    sl_engine_model(eng, "m", &mi, NULL);
    is_str(mi.live, "v2", "v2 is live");
    ok(sl_engine_set_live(eng, "m", "v3", "ops", &err) == -1 && err.code == SL_ENOTFOUND,
       "set_live to an unknown version is refused (%s)", err.msg);
    struct sl_test_config t = {
        .name = "t", .model = "m", .control_version = "v2", .treatment_version = "v1"};
    char id[SL_ID_MAX + 1];
    ok(sl_engine_create_test(eng, &t, id, &err) == 0 &&
           sl_engine_act(eng, id, SL_VERB_START, "ops", NULL, &err) == 0,
       "a test claims the model");
    ok(sl_engine_set_live(eng, "m", "v1", "ops", &err) == -1 && err.code == SL_ECONFLICT &&
           strstr(err.msg, id),
       "set_live on a claimed model is a conflict naming the claim (%s)", err.msg);
    struct sl_version_config clash = {.model = id, .version = "v1"};
    refused(&clash, SL_EEXIST, "is already a test or canary id", "a model named like a test");
}

int main(void)
{
    eng = sl_engine_new(NULL, NULL);
    RUN(test_version_validation);
    RUN(test_many_models);
    RUN(test_health_and_live);
    sl_engine_delete(eng);
    return tap_done();
}
