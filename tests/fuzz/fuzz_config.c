/* fuzz_config.c - libFuzzer target: the text of sluiced's config file
 * through sl_config_load_text (over the defaults) and sl_config_check.
 *
 * Checks beyond the sanitizers: a file that loads leaves every string field
 * NUL-terminated within its array, and a failure always has a message. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static void check_terminated(const char *s, size_t size, const char *what)
{
    if (!memchr(s, '\0', size))
        fz_fail("config.%s is not NUL-terminated", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct sl_config c;
    struct sl_err err = {0};
    sl_config_default(&c, FZ_POLICIES);
    if (sl_config_load_text(&c, text, "fuzz.json", &err) == 0) {
        check_terminated(c.listen, sizeof c.listen, "listen");
        check_terminated(c.data_dir, sizeof c.data_dir, "data_dir");
        check_terminated(c.token, sizeof c.token, "token");
        if (c.npolicy_dirs > SL_CONFIG_MAX_DIRS)
            fz_fail("%zu policy dirs", c.npolicy_dirs);
        for (size_t i = 0; i < c.npolicy_dirs; i++)
            check_terminated(c.policy_dirs[i], sizeof c.policy_dirs[i], "policy_dirs[]");
        err.msg[0] = '\0';
        if (sl_config_check(&c, &err) != 0 && !err.msg[0])
            fz_fail("sl_config_check failed without a message");
    } else if (!err.msg[0]) {
        fz_fail("sl_config_load_text failed without a message");
    }
    free(text);
    return 0;
}
