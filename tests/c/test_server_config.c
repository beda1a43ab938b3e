/* test_server_config.c - sluiced's max_tests setting (--max-tests, the
 * "max_tests" config key): parsed and range-checked like the other numbers,
 * and handed to the daemon's engine, so a daemon can run more than the
 * engine's default of 100 active tests (and fewer, when asked).
 *
 * Regression: the daemon had no way to set max_tests, so no daemon could hold
 * more than 100 active tests (the benchmarks' 1,000-test start-up could not run). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "tap.h"

static int parse(struct sl_config *c, int argc, char **argv, struct sl_err *err)
{
    int exit_now;
    memset(err, 0, sizeof *err);
    sl_config_default(c, NULL);
    return sl_config_parse_args(c, argc, argv, &exit_now, err);
}

static void check_parsing(void)
{
    struct sl_config c;
    struct sl_err err = {0};
    sl_config_default(&c, NULL);
    is_int((long long)c.max_tests, 100, "default max_tests is the engine's 100");

    char *ok_args[] = {"sluiced", "--max-tests", "1000", NULL};
    ok(parse(&c, 3, ok_args, &err) == 0, "--max-tests 1000 parses (%s)", err.msg);
    is_int((long long)c.max_tests, 1000, "--max-tests sets max_tests");

    char *zero[] = {"sluiced", "--max-tests", "0", NULL};
    ok(parse(&c, 3, zero, &err) == -1 && strstr(err.msg, "max_tests"),
       "--max-tests 0 is refused naming max_tests (%s)", err.msg);
    char *word[] = {"sluiced", "--max-tests", "many", NULL};
    ok(parse(&c, 3, word, &err) == -1, "--max-tests many is refused (%s)", err.msg);

    char path[] = "/tmp/sluice-config-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    ok(f != NULL, "temporary config file");
    if (!f)
        return;
    fputs("{\"max_tests\": 3}", f);
    fclose(f);
    char *file_args[] = {"sluiced", "--config", path, NULL};
    ok(parse(&c, 3, file_args, &err) == 0, "config key max_tests parses (%s)", err.msg);
    is_int((long long)c.max_tests, 3, "the config file sets max_tests");
    char *both[] = {"sluiced", "--config", path, "--max-tests", "7", NULL};
    ok(parse(&c, 5, both, &err) == 0 && c.max_tests == 7, "the flag wins over the file");
    f = fopen(path, "w");
    fputs("{\"max_tests\": 1e9}", f);
    fclose(f);
    ok(parse(&c, 3, file_args, &err) == -1 && strstr(err.msg, "max_tests"),
       "max_tests out of range in the file is refused naming it (%s)", err.msg);
    unlink(path);
}

/* Start n+1 tests in a daemon whose max_tests is n: n start, the last is SL_ELIMIT. */
static void check_daemon_limit(int n)
{
    static struct sl_daemon d;
    struct sl_config c;
    struct sl_err err = {0};
    char dir[] = "/tmp/sluice-maxtests-XXXXXX";
    ok(mkdtemp(dir) != NULL, "temporary data directory");
    sl_config_default(&c, NULL);
    snprintf(c.listen, sizeof c.listen, "127.0.0.1:0");
    snprintf(c.data_dir, sizeof c.data_dir, "%s", dir);
    c.log_level = 0;
    c.max_tests = n;
    memset(&d, 0, sizeof d);
    char *argv[] = {"sluiced", NULL};
    if (!ok(sl_daemon_start(&d, &c, 1, argv, &err) == 0, "daemon starts (%s)", err.msg)) {
        sl_daemon_stop(&d);
        return;
    }
    int started = 0, last_code = 0;
    for (int i = 0; i <= n; i++) {
        char model[32], id[SL_ID_MAX + 1];
        snprintf(model, sizeof model, "m%d", i);
        struct sl_version_config v1 = {.model = model, .version = "v1"};
        struct sl_version_config v2 = {.model = model, .version = "v2"};
        struct sl_test_config t = {
            .name = "limit", .model = model, .control_version = "v1", .treatment_version = "v2"};
        if (sl_engine_add_version(d.eng, &v1, &err) || sl_engine_add_version(d.eng, &v2, &err) ||
            sl_engine_create_test(d.eng, &t, id, &err)) {
            ok(0, "test %d set up (%s)", i, err.msg);
            break;
        }
        if (sl_engine_act(d.eng, id, SL_VERB_START, "test", NULL, &err) == 0)
            started++;
        else
            last_code = err.code;
    }
    is_int(started, n, "max_tests tests start in the daemon");
    is_int(last_code, SL_ELIMIT, "the one beyond max_tests is refused with SL_ELIMIT");
    sl_daemon_stop(&d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ok(system(cmd) == 0, "data directory removed");
}

static void check_daemon_limits(void)
{
    check_daemon_limit(3);
    check_daemon_limit(150); /* above the engine's default of 100 */
}

int main(void)
{
    RUN(check_parsing);
    RUN(check_daemon_limits);
    return tap_done();
}
