/* fuzz_admin.c - libFuzzer target: bytes on one admin (REPL) connection:
 * the "<length>\n<bytes>" framing, then each frame's Lua in the REPL's
 * sandbox with the helpers over a fresh daemon (in-memory engine, the
 * built-in policies, a model ranker with two versions and a running test
 * t-1). The REPL's budget is cut to 2M instructions and 20 ms per chunk
 * so that a runaway chunk costs little; the limits are what is tested,
 * not their size.
 *
 * Input: the byte stream a client sends; when the first byte is not a
 * digit it is the size of the pieces the rest is sent in.
 *
 * Checks beyond the sanitizers: the server's replies are well-formed frames,
 * each a JSON object with a boolean "ok" and a string "out". */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static struct sl_daemon daemon_;

static void setup(void)
{
    char id[SL_ID_MAX + 1];
    fz_add_versions(daemon_.eng, "ranker", "v1", "v2");
    fz_start_test(daemon_.eng,
                  "{\"name\":\"t\",\"model\":\"ranker\",\"control\":\"v1\","
                  "\"treatment\":\"v2\",\"success_metrics\":[\"clicks\"]}",
                  id);
}

static void check_replies(const char *p, size_t n)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        char *end;
        unsigned long len = strtoul(p, &end, 10);
        if (!nl || end != nl || len > n - (size_t)(nl - p) - 1)
            fz_fail("reply frame header broken: %.*s", (int)(n < 40 ? n : 40), p);
        n -= (size_t)(nl - p) + 1;
        p = nl + 1;
        cJSON *j = cJSON_ParseWithLength(p, len);
        if (!cJSON_IsObject(j) || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "ok")) ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "out")))
            fz_fail("reply is not {ok, out, ...}: %.*s", (int)(len < 200 ? len : 200), p);
        cJSON_Delete(j);
        p += len;
        n -= len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t piece = 0;
    if (size && !(data[0] >= '0' && data[0] <= '9')) {
        piece = data[0];
        data++;
        size--;
    }
    fz_daemon_open(&daemon_, FZ_POLICIES);
    daemon_.admin.limits.instructions = 2000000;
    daemon_.admin.limits.wall_ms = 20;
    setup();
    size_t n;
    char *out = fz_converse(&daemon_, true, data, size, piece, &n);
    if (getenv("FUZZ_VERBOSE"))
        fwrite(out, 1, n, stderr);
    check_replies(out, n);
    free(out);
    fz_daemon_close(&daemon_);
    return 0;
}
