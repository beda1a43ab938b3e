/* test_store_pack.c - zero-run packing of metric checkpoints: sparse and dense
 * inputs round-trip within the bound, a real checkpoint shrinks, and every
 * kind of malformed packing is refused rather than read out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice.h"
#include "store.h"
#include "tap.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* n bytes where roughly one in `sparse` is nonzero, zero runs of every length. */
static void fill(unsigned char *b, size_t n, unsigned sparse)
{
    for (size_t i = 0; i < n; i++)
        b[i] = next_rand() % sparse == 0 ? (unsigned char)(1 + next_rand() % 255) : 0;
}

static bool round_trip(const unsigned char *b, size_t n, size_t *packed)
{
    unsigned char *p = malloc(sl_store_pack_bound(n));
    size_t k = sl_store_pack(b, n, p, sl_store_pack_bound(n));
    void *out = NULL;
    size_t m = 0;
    bool good = k > 0 && k <= sl_store_pack_bound(n) &&
                sl_store_unpack(p, k, &out, &m, NULL) == 0 && m == n && memcmp(out, b, n) == 0;
    *packed = k;
    free(out);
    free(p);
    return good;
}

static void test_round_trips(void)
{
    static const unsigned sparsity[] = {1, 2, 3, 7, 16, 100, 5000};
    bool good = true;
    size_t worst_over = 0;
    unsigned char *b = malloc(90000);
    for (size_t s = 0; s < sizeof sparsity / sizeof sparsity[0]; s++)
        for (size_t n = 1; n < 70000; n = n * 3 + 1) {
            fill(b, n, sparsity[s]);
            size_t k;
            good &= round_trip(b, n, &k);
            worst_over = k > n && k - n > worst_over ? k - n : worst_over;
        }
    ok(good, "random inputs of 1..66k bytes, dense to sparse, round-trip");
    ok(worst_over <= 48 + 66000 / 4, "packing stays within its bound (worst +%zu bytes)",
       worst_over);
    memset(b, 0, 1000);
    size_t k;
    ok(round_trip(b, 1000, &k) && k < 8, "all zeros pack to a few bytes (%zu)", k);
    memset(b, 7, 1000);
    ok(round_trip(b, 1000, &k) && k <= sl_store_pack_bound(1000), "no zero words (%zu bytes)", k);
    unsigned char small[1] = {0};
    ok(round_trip(small, 1, &k), "one zero byte");
    ok(sl_store_pack(b, 1000, b + 2000, 1000) == 0, "a destination below the bound is refused");
    free(b);
}

static double clock_s;
static double test_clock(void *ud)
{
    (void)ud;
    return clock_s;
}

static void test_idle_arms(struct sl_engine *e)
{
    struct sl_store_scratch s = {0};
    const void *blob;
    size_t len, raw = sl_engine_save_metrics(e, "t", 0, NULL, 0, NULL);
    uint64_t sum;
    struct sl_test_config c2 = {.id = "idle",
                                .name = "i",
                                .model = "m",
                                .control_version = "v1",
                                .treatment_version = "v2"};
    sl_engine_act(e, "t", SL_VERB_STOP, "u", NULL, NULL);
    sl_engine_create_test(e, &c2, NULL, NULL);
    ok(sl_store_metrics_blob(e, "idle", 0, &s, &blob, &len, &sum, NULL) == 0,
       "a draft test has no checkpoint");
    sl_engine_act(e, "idle", SL_VERB_START, "u", NULL, NULL);
    ok(sl_store_metrics_blob(e, "idle", 1, &s, &blob, &len, &sum, NULL) == 1,
       "an empty arm has a checkpoint");
    tap_diag("empty arm: %zu bytes raw, %zu packed", raw, len);
    sl_store_scratch_free(&s);
}

/* A test whose arms saw wide latencies in every window slot. */
static struct sl_engine *busy_engine(void)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    clock_s = 1000;
    struct sl_engine *e = sl_engine_new(&o, NULL);
    struct sl_version_config v = {.model = "m", .version = "v1"};
    sl_engine_add_version(e, &v, NULL);
    v.version = "v2";
    sl_engine_add_version(e, &v, NULL);
    struct sl_test_config c = {
        .id = "t", .name = "t", .model = "m", .control_version = "v1", .treatment_version = "v2"};
    sl_engine_create_test(e, &c, NULL, NULL);
    sl_engine_act(e, "t", SL_VERB_START, "u", NULL, NULL);
    for (int k = 0; k < 40; k++) {
        for (int i = 0; i < 2000; i++)
            sl_engine_record(e, "t", i & 1, i % 9 != 0, 2.0 + (i % 700) * 0.9 * (1 + k % 3), NULL,
                             0, NULL);
        clock_s += 60;
        sl_engine_tick(e, NULL);
    }
    return e;
}

static void test_real_checkpoint(void)
{
    struct sl_engine *e = busy_engine();
    struct sl_store_scratch s = {0};
    const void *blob;
    size_t len;
    uint64_t sum;
    ok(sl_store_metrics_blob(e, "t", 0, &s, &blob, &len, &sum, NULL) == 1,
       "a running test's arm has a checkpoint");
    size_t raw = sl_engine_save_metrics(e, "t", 0, NULL, 0, NULL);
    tap_diag("busy arm (30 full window slots): %zu bytes raw, %zu packed (%.1fx)", raw, len,
             (double)raw / (double)len);
    ok(len < raw / 5, "a busy checkpoint packs at least 5x");
    const void *blobs[2] = {blob, NULL};
    size_t lens[2] = {len, 0};
    struct sl_store_report rep = {0};
    struct sl_variant_metrics before, after;
    sl_engine_metrics(e, "t", 0, 0, &before, NULL);
    ok(sl_store_restore_metrics(e, "t", blobs, lens, &rep) == 0 && rep.metrics == 1 &&
           sl_engine_metrics(e, "t", 0, 0, &after, NULL) == 0 && after.requests == before.requests,
       "the packed checkpoint loads back");
    sl_store_scratch_free(&s);
    test_idle_arms(e);
    sl_engine_delete(e);
}

static bool refused(const unsigned char *p, size_t n)
{
    void *out = (void *)1;
    size_t m = 1;
    struct sl_err err = {0};
    int rc = sl_store_unpack(p, n, &out, &m, &err);
    return rc == -1 && out == NULL && m == 0 && strstr(err.msg, "malformed");
}

static void test_malformed(void)
{
    /* 4 units and a 3-byte tail: "abcd", 0, 5, 0, "xyz" */
    unsigned char raw[19] = {'a', 'b', 'c', 'd', 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 'x', 'y', 'z'};
    unsigned char p[64];
    size_t k = sl_store_pack(raw, sizeof raw, p, sizeof p);
    void *out = NULL;
    size_t m;
    ok(k > 0 && sl_store_unpack(p, k, &out, &m, NULL) == 0 && m == 19 && !memcmp(out, raw, 19),
       "a units-and-tail packing decodes (%zu bytes)", k);
    free(out);
    p[k] = 0;
    ok(refused(p, k - 1), "a truncated packing (tail short)");
    ok(refused(p, k + 1), "bytes after the tail");
    static const unsigned char empty_raw[] = {0};
    static const unsigned char bad_varint[] = {0x80, 0x80, 0x80};
    static const unsigned char empty_run[] = {8, 1};
    static const unsigned char zero_unit[] = {8, 0};
    static const unsigned char wide_unit[] = {4, 0x80, 0x80, 0x80, 0x80, 0x20};
    static const unsigned char run_past[] = {8, 7};
    static const unsigned char units_past[] = {4, 2, 2};
    static const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    ok(refused(empty_raw, 1), "raw length 0");
    ok(refused(bad_varint, sizeof bad_varint), "a varint that never ends");
    ok(refused(empty_run, sizeof empty_run), "a run of no zero units (no progress)");
    ok(refused(zero_unit, sizeof zero_unit), "a zero unit written as a value");
    ok(refused(wide_unit, sizeof wide_unit), "a unit wider than 32 bits");
    ok(refused(run_past, sizeof run_past), "zero units past the raw length");
    ok(refused(units_past, sizeof units_past), "units past the raw length");
    ok(refused(huge, sizeof huge), "an absurd raw length (no giant allocation)");
    ok(refused(raw, 0), "no input");
}

int main(void)
{
    test_round_trips();
    test_real_checkpoint();
    test_malformed();
    return tap_done();
}
