/* fuzz_metrics.c - libFuzzer target: metric checkpoints (latency sketch,
 * moments, custom metrics, window ring) as the store hands them back:
 * sl_store_unpack, then sl_engine_load_metrics into an arm of a running
 * test, then everything that reads the loaded sketch and windows (stats,
 * the snapshot with its quantiles, a tick) and a save/load round trip.
 *
 * The loader accepts only a checkpoint of the exact shape with a valid
 * checksum, so the input is applied to a real one: the base is what the
 * harness recorded (deterministic), the input's first byte is flags and
 * the rest a list of patches.
 *   flags bit 0: the arm (control 0, treatment 1)
 *   flags bit 1: keep the checksum as patched (else it is recomputed)
 *   flags bit 2: the rest is a packed checkpoint (sl_store_pack format),
 *                used instead of the base when it unpacks
 *   patch: offset (3 bytes, little-endian, modulo the size), length (1
 *          byte), then that many bytes copied over the base.
 *
 * Checks beyond the sanitizers: a loaded checkpoint saves back to itself
 * (save, load, save is stable), and packing is lossless on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "store.h"
#include "xxhash.h"

static struct sl_daemon daemon_;
static char tid[SL_ID_MAX + 1];

static void setup(void)
{
    fz_add_versions(daemon_.eng, "ranker", "v1", "v2");
    fz_start_test(daemon_.eng,
                  "{\"name\":\"t\",\"model\":\"ranker\",\"control\":\"v1\",\"treatment\":\"v2\","
                  "\"success_metrics\":[\"clicks\"]}",
                  tid);
    struct sl_err err;
    for (int i = 0; i < 200; i++) {
        struct sl_sample s = {0, (double)(i % 4)};
        daemon_.virt0 += 7;
        (void)sl_engine_record(daemon_.eng, tid, i & 1, i % 9 != 0, 0.05 * i * i, &s, 1, &err);
        if (i % 50 == 49)
            (void)sl_engine_tick(daemon_.eng, &err);
    }
}

static unsigned char *save(int arm, size_t *n)
{
    struct sl_err err;
    size_t need = sl_engine_save_metrics(daemon_.eng, tid, arm, NULL, 0, &err);
    unsigned char *buf = need ? malloc(need) : NULL;
    if (!buf || sl_engine_save_metrics(daemon_.eng, tid, arm, buf, need, &err) != need)
        fz_fail("save: %s", err.msg);
    *n = need;
    return buf;
}

static void patch(unsigned char *buf, size_t n, const uint8_t *p, size_t len)
{
    while (len >= 4) {
        size_t off = ((size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16) % n;
        size_t k = p[3];
        p += 4;
        len -= 4;
        k = k < len ? k : len;
        k = k < n - off ? k : n - off;
        memcpy(buf + off, p, k);
        p += k;
        len -= k;
    }
}

/* A loaded checkpoint saves back to what was loaded, up to the sign of a
 * zero (a -0.0 sum saves as +0.0, the sum of nothing): so the saved bytes,
 * loaded again, must save back to themselves exactly, and carry the same
 * request count. Packing is lossless; then everything that reads the loaded
 * metrics runs (before this, nothing rolled the windows). */
static void use(int arm, const unsigned char *loaded, size_t n)
{
    struct sl_err err;
    size_t m, m2;
    unsigned char *again = save(arm, &m);
    /* the checkpoint opens with a 40-byte header (shape, width, start) and
     * the request count (metrics.c, sl_mvar_header and sl_mvar_put_total) */
    enum { HEADER_AND_REQUESTS = 40 + 8 };
    if (m != n || memcmp(again, loaded, HEADER_AND_REQUESTS) != 0)
        fz_fail("a loaded checkpoint saves back different (%zu bytes, then %zu)", n, m);
    if (sl_engine_load_metrics(daemon_.eng, tid, arm, again, m, &err) != 0)
        fz_fail("a saved checkpoint does not load: %s", err.msg);
    unsigned char *third = save(arm, &m2);
    if (m2 != m || memcmp(third, again, m) != 0) {
        size_t i = 0;
        while (i < m && i < m2 && third[i] == again[i])
            i++;
        fz_fail("save, load, save is not stable (%zu bytes, then %zu; first difference at "
                "byte %zu)",
                m, m2, i);
    }
    free(third);
    size_t cap = sl_store_pack_bound(n);
    unsigned char *packed = malloc(cap);
    void *raw = NULL;
    size_t rawlen = 0, plen = packed ? sl_store_pack(again, n, packed, cap) : 0;
    if (!plen || sl_store_unpack(packed, plen, &raw, &rawlen, &err) || rawlen != n ||
        memcmp(raw, again, n) != 0)
        fz_fail("pack/unpack does not round-trip a checkpoint");
    free(raw);
    free(packed);
    free(again);
    struct sl_test_stats st;
    (void)sl_engine_test_stats(daemon_.eng, tid, &st, &err);
    static const double windows[] = {300, 1800};
    cJSON_Delete(sl_snap_test(daemon_.eng, tid, windows, 2));
    daemon_.virt0 += 60;
    (void)sl_engine_tick(daemon_.eng, &err);
}

/* FUZZ_SEEDGEN=dir: write the seeds (the base of each arm, and each packed
 * as the store keeps it) into dir and exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_SEEDGEN");
    if (!dir)
        return 0;
    fz_daemon_open(&daemon_, NULL);
    setup();
    for (int arm = 0; arm < 2; arm++) {
        size_t n;
        unsigned char *buf = save(arm, &n);
        unsigned char *packed = malloc(sl_store_pack_bound(n));
        size_t plen = packed ? sl_store_pack(buf, n, packed, sl_store_pack_bound(n)) : 0;
        char name[64];
        snprintf(name, sizeof name, "base_arm%d", arm);
        fz_write_seed(dir, name, arm, "", 0);
        snprintf(name, sizeof name, "packed_arm%d", arm);
        fz_write_seed(dir, name, 4 | arm, packed, plen);
        free(packed);
        free(buf);
    }
    fz_daemon_close(&daemon_);
    exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int flags = data[0], arm = flags & 1;
    fz_daemon_open(&daemon_, NULL);
    setup();
    size_t n;
    unsigned char *buf = save(arm, &n);
    void *raw = NULL;
    size_t rawlen = 0;
    struct sl_err err;
    if (flags & 4) {
        if (sl_store_unpack(data + 1, size - 1, &raw, &rawlen, &err) == 0 && rawlen == n)
            memcpy(buf, raw, n);
        free(raw);
    } else {
        patch(buf, n, data + 1, size - 1);
        if (!(flags & 2)) {
            uint64_t sum = XXH3_64bits(buf, n - sizeof sum);
            memcpy(buf + n - sizeof sum, &sum, sizeof sum);
        }
    }
    if (sl_engine_load_metrics(daemon_.eng, tid, arm, buf, n, &err) == 0)
        use(arm, buf, n);
    free(buf);
    fz_daemon_close(&daemon_);
    return 0;
}
