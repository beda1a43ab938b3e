/* fuzz_state.c - libFuzzer target: the JSON (de)serialisation of what the
 * store keeps and the API accepts (src/store/codec.c), and restoring
 * decoded state into an engine as sl_store_load does.
 *
 * Input: a selector byte, then JSON text.
 *   0 test config      1 canary config     2 model version
 *   3 test state (restored under a fixed test config, then snapshotted)
 *   4 canary state (the same for a canary)
 *   5 a `policies` value for a test, 6 for a canary
 *   7 base64 text (the analysis blob's encoding)
 *
 * Checks beyond the sanitizers, per codec.h's contract: what decodes
 * encodes to JSON that decodes again and encodes to the same text (a fixed
 * point after one round), canonical policies are canonical (canonicalising
 * them again changes nothing), and base64 round-trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_common.h"

static struct sl_daemon daemon_;

#define FZ_ROUND_TRIP(type, decode, encode, destroy, field, text, len)                             \
    do {                                                                                           \
        struct type a, b;                                                                          \
        struct sl_err rt_err;                                                                      \
        if (decode(&a, text, len, &rt_err) == 0) {                                                 \
            char *j1 = encode(&a.field);                                                           \
            if (!j1 || decode(&b, j1, strlen(j1), &rt_err) != 0)                                   \
                fz_fail(#decode ": its own encoding does not decode: %s", j1 ? rt_err.msg : "");   \
            char *j2 = encode(&b.field);                                                           \
            if (!j2 || strcmp(j1, j2) != 0)                                                        \
                fz_fail(#encode ": not a fixed point:\n%s\n%s", j1, j2 ? j2 : "");                 \
            free(j1);                                                                              \
            free(j2);                                                                              \
            destroy(&b);                                                                           \
        }                                                                                          \
        destroy(&a);                                                                               \
    } while (0)

static void policies(const char *text, size_t len, int kind)
{
    struct sl_err err;
    char *c1 = sl_codec_policies(text, len, kind, &err);
    if (!c1)
        return;
    char *c2 = sl_codec_policies(c1, strlen(c1), kind, &err);
    if (!c2 || strcmp(c1, c2) != 0)
        fz_fail("canonical policies are not canonical:\n%s\n%s", c1, c2 ? c2 : err.msg);
    free(c1);
    free(c2);
}

static void base64(const char *text, size_t len)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    if (sl_codec_unbase64(text, len, &raw, &n) != 0)
        return;
    char *again = sl_codec_base64(raw, n);
    unsigned char *raw2 = NULL;
    size_t n2 = 0;
    if (!again || sl_codec_unbase64(again, strlen(again), &raw2, &n2) != 0 || n2 != n ||
        (n && memcmp(raw, raw2, n) != 0))
        fz_fail("base64 does not round-trip");
    free(raw);
    free(raw2);
    free(again);
}

static const char test_cfg[] =
    "{\"id\":\"t-9\",\"name\":\"t\",\"model\":\"ranker\",\"control\":\"v1\","
    "\"treatment\":\"v2\",\"success_metrics\":[\"clicks\"]}";
static const char canary_cfg[] =
    "{\"id\":\"c-9\",\"name\":\"c\",\"model\":\"ranker\",\"canary\":\"v2\"}";

/* Restore a decoded state under a fixed config, read it back through the
 * snapshot, and check that the exported state encodes as a fixed point. */
static void restore_test(const char *text, size_t len)
{
    struct sl_codec_test cfg;
    struct sl_codec_test_state st;
    struct sl_err err;
    if (sl_codec_test_decode(&cfg, test_cfg, strlen(test_cfg), &err))
        fz_fail("setup: %s", err.msg);
    if (sl_codec_test_state_decode(&st, text, len, &err) == 0 &&
        sl_engine_restore_test(daemon_.eng, &cfg.cfg, &st.st, &err) == 0) {
        static const double windows[] = {300, 1800};
        struct sl_test_state now;
        cJSON_Delete(sl_snap_test(daemon_.eng, "t-9", windows, 2));
        if (sl_engine_test_state(daemon_.eng, "t-9", &now, &err))
            fz_fail("restored test has no state: %s", err.msg);
        char *j = sl_codec_test_state_json(&now);
        if (!j)
            fz_fail("restored test state does not encode");
        FZ_ROUND_TRIP(sl_codec_test_state, sl_codec_test_state_decode, sl_codec_test_state_json,
                      sl_codec_test_state_destroy, st, j, strlen(j));
        free(j);
        daemon_.virt0 += 3600;
        (void)sl_engine_tick(daemon_.eng, &err);
    }
    sl_codec_test_state_destroy(&st);
    sl_codec_test_destroy(&cfg);
}

static void restore_canary(const char *text, size_t len)
{
    struct sl_codec_canary cfg;
    struct sl_codec_canary_state st;
    struct sl_err err;
    if (sl_codec_canary_decode(&cfg, canary_cfg, strlen(canary_cfg), &err))
        fz_fail("setup: %s", err.msg);
    if (sl_codec_canary_state_decode(&st, text, len, &err) == 0 &&
        sl_engine_restore_canary(daemon_.eng, &cfg.cfg, &st.st, &err) == 0) {
        static const double windows[] = {300, 1800};
        struct sl_canary_state now;
        cJSON_Delete(sl_snap_canary(daemon_.eng, "c-9", windows, 2));
        if (sl_engine_canary_state(daemon_.eng, "c-9", &now, &err))
            fz_fail("restored canary has no state: %s", err.msg);
        char *j = sl_codec_canary_state_json(&now);
        if (!j)
            fz_fail("restored canary state does not encode");
        FZ_ROUND_TRIP(sl_codec_canary_state, sl_codec_canary_state_decode,
                      sl_codec_canary_state_json, sl_codec_canary_state_destroy, st, j, strlen(j));
        free(j);
        daemon_.virt0 += 3600;
        (void)sl_engine_tick(daemon_.eng, &err);
    }
    sl_codec_canary_state_destroy(&st);
    sl_codec_canary_destroy(&cfg);
}

static void write_seed(const char *dir, const char *name, int sel, const char *text)
{
    fz_write_seed(dir, name, sel, text ? text : "", text ? strlen(text) : 0);
}

/* FUZZ_SEEDGEN=dir: write the seeds - what the encoders produce for a test
 * and a canary that ran for a while, their configs and a model version -
 * into dir and exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_SEEDGEN");
    if (!dir)
        return 0;
    struct sl_err err;
    char tid[SL_ID_MAX + 1], cid[SL_ID_MAX + 1];
    fz_daemon_open(&daemon_, NULL);
    fz_add_versions(daemon_.eng, "ranker", "v1", "v2");
    fz_add_versions(daemon_.eng, "search", "s1", "s2");
    fz_start_test(daemon_.eng,
                  "{\"name\":\"t\",\"model\":\"ranker\",\"control\":\"v1\","
                  "\"treatment\":\"v2\",\"success_metrics\":[\"clicks\"],"
                  "\"ramp\":[{\"at_hours\":0,\"treatment\":10},{\"at_hours\":1,"
                  "\"treatment\":50}]}",
                  tid);
    struct sl_codec_canary c;
    static const char canary[] = "{\"name\":\"c\",\"model\":\"search\",\"canary\":\"s2\"}";
    if (sl_codec_canary_decode(&c, canary, strlen(canary), &err) ||
        sl_engine_create_canary(daemon_.eng, &c.cfg, cid, &err) ||
        sl_engine_act(daemon_.eng, cid, SL_VERB_START, "fuzz", NULL, &err))
        fz_fail("seedgen: %s", err.msg);
    sl_codec_canary_destroy(&c);
    for (int i = 0; i < 400; i++) {
        const char *id = i & 2 ? cid : tid;
        struct sl_sample s = {0, 1};
        (void)sl_engine_record(daemon_.eng, id, i & 1, i % 11 != 0, 3.0 + i % 50, &s, id == tid,
                               &err);
        daemon_.virt0 += 30;
        if (i % 40 == 39)
            (void)sl_engine_tick(daemon_.eng, &err);
    }
    struct sl_test_info ti;
    struct sl_canary_info ci;
    struct sl_test_state ts;
    struct sl_canary_state cs;
    if (sl_engine_test(daemon_.eng, tid, &ti, &err) ||
        sl_engine_canary(daemon_.eng, cid, &ci, &err) ||
        sl_engine_test_state(daemon_.eng, tid, &ts, &err) ||
        sl_engine_canary_state(daemon_.eng, cid, &cs, &err))
        fz_fail("seedgen: %s", err.msg);
    char *texts[] = {sl_codec_test_json(ti.config), sl_codec_canary_json(ci.config),
                     sl_codec_test_state_json(&ts), sl_codec_canary_state_json(&cs),
                     sl_codec_base64(ts.analysis, ts.analysis_len)};
    write_seed(dir, "test_config", 0, texts[0]);
    write_seed(dir, "canary_config", 1, texts[1]);
    write_seed(dir, "version", 2,
               "{\"id\":\"ranker\",\"version\":\"v3\",\"path\":\"s3://m/v3\","
               "\"config\":{\"threads\":4},\"health\":\"loading\",\"live\":false}");
    write_seed(dir, "test_state", 3, texts[2]);
    write_seed(dir, "canary_state", 4, texts[3]);
    write_seed(dir, "test_policies", 5,
               "{\"guards\":[[\"threshold\",{\"metric\":\"error_rate\"}],"
               "[\"srm\"]],\"recommend\":\"default\",\"ramp\":{\"name\":"
               "\"linear\",\"params\":{\"steps\":3},\"shadow\":true}}");
    write_seed(dir, "canary_policies", 6, "{\"ramp\":[\"gated\"],\"promotion\":[\"criteria\"]}");
    write_seed(dir, "analysis_base64", 7, texts[4]);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        free(texts[i]);
    fz_daemon_close(&daemon_);
    exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = size - 1;
    fz_daemon_open(&daemon_, NULL);
    fz_add_versions(daemon_.eng, "ranker", "v1", "v2");
    switch (data[0] % 8) {
    case 0:
        FZ_ROUND_TRIP(sl_codec_test, sl_codec_test_decode, sl_codec_test_json,
                      sl_codec_test_destroy, cfg, text, len);
        break;
    case 1:
        FZ_ROUND_TRIP(sl_codec_canary, sl_codec_canary_decode, sl_codec_canary_json,
                      sl_codec_canary_destroy, cfg, text, len);
        break;
    case 2:
        FZ_ROUND_TRIP(sl_codec_version, sl_codec_version_decode, sl_codec_version_json,
                      sl_codec_version_destroy, cfg, text, len);
        break;
    case 3:
        restore_test(text, len);
        break;
    case 4:
        restore_canary(text, len);
        break;
    case 5:
    case 6:
        policies(text, len, data[0] % 8 == 5 ? SL_KIND_TEST : SL_KIND_CANARY);
        break;
    default:
        base64(text, len);
        break;
    }
    fz_daemon_close(&daemon_);
    free(text);
    return 0;
}
