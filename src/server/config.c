#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice.h"

static const char *const sl_log_levels[] = {"error", "warn", "info", "debug", NULL};

void sl_config_default(struct sl_config *c, const char *builtin_policies)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:7070");
    snprintf(c->data_dir, sizeof c->data_dir, "./sluice-data");
    if (builtin_policies)
        snprintf(c->policy_dirs[c->npolicy_dirs++], sizeof c->policy_dirs[0], "%s",
                 builtin_policies);
    c->tick_ms = 1000;
    c->checkpoint_ms = 1000;
    c->events_keep = 1000000;
    struct sl_engine_opts eo;
    sl_engine_opts_default(&eo);
    c->max_tests = eo.max_tests; /* the engine's own default */
    c->max_body_bytes = 1 << 20;
    c->max_header_bytes = 8192;
    c->idle_timeout_ms = 30000;
    c->log_level = 2;
    c->clock_speed = 1;
}

/* ---- typed setters shared by the file and the flags -------------------------------- */

static int sl_set_string(char *dst, size_t size, const char *v, const char *key, struct sl_err *err)
{
    if (!v || strlen(v) >= size)
        return sl_err_set(err, SL_EINVAL, "%s: expected a string of at most %zu bytes", key,
                          size - 1);
    snprintf(dst, size, "%s", v);
    return 0;
}

static int sl_set_number(double *dst, double v, double min, double max, const char *key,
                         struct sl_err *err)
{
    if (!(v >= min && v <= max) || !isfinite(v))
        return sl_err_set(err, SL_EINVAL, "%s: %g is outside [%g, %g]", key, v, min, max);
    *dst = v;
    return 0;
}

static int sl_set_level(struct sl_config *c, const char *v, struct sl_err *err)
{
    for (int i = 0; v && sl_log_levels[i]; i++)
        if (strcmp(v, sl_log_levels[i]) == 0) {
            c->log_level = i;
            return 0;
        }
    return sl_err_set(err, SL_EINVAL, "log_level: expected error, warn, info or debug");
}

static int sl_add_dir(struct sl_config *c, const char *v, const char *key, struct sl_err *err)
{
    if (c->npolicy_dirs == SL_CONFIG_MAX_DIRS)
        return sl_err_set(err, SL_ELIMIT, "%s: at most %d directories", key, SL_CONFIG_MAX_DIRS);
    return sl_set_string(c->policy_dirs[c->npolicy_dirs++], sizeof c->policy_dirs[0], v, key, err);
}

/* ---- the JSON file ----------------------------------------------------------------- */

static int sl_file_number(const cJSON *v, double *dst, double min, double max, struct sl_err *err)
{
    if (!cJSON_IsNumber(v))
        return sl_err_set(err, SL_EINVAL, "%s: expected a number", v->string);
    return sl_set_number(dst, v->valuedouble, min, max, v->string, err);
}

static int sl_file_size(const cJSON *v, size_t *dst, double min, double max, struct sl_err *err)
{
    double d;
    if (sl_file_number(v, &d, min, max, err))
        return -1;
    *dst = (size_t)d;
    return 0;
}

static int sl_file_dirs(struct sl_config *c, const cJSON *v, struct sl_err *err)
{
    if (!cJSON_IsArray(v))
        return sl_err_set(err, SL_EINVAL, "policy_dirs: expected a list of paths");
    c->npolicy_dirs = 0;
    for (const cJSON *d = v->child; d; d = d->next)
        if (sl_add_dir(c, cJSON_GetStringValue(d), "policy_dirs", err))
            return -1;
    return 0;
}

static int sl_file_key(struct sl_config *c, const cJSON *v, struct sl_err *err)
{
    const char *k = v->string, *s = cJSON_GetStringValue(v);
    if (strcmp(k, "listen") == 0)
        return sl_set_string(c->listen, sizeof c->listen, s, k, err);
    if (strcmp(k, "data_dir") == 0)
        return sl_set_string(c->data_dir, sizeof c->data_dir, s, k, err);
    if (strcmp(k, "token") == 0)
        return sl_set_string(c->token, sizeof c->token, s, k, err);
    if (strcmp(k, "policy_dirs") == 0)
        return sl_file_dirs(c, v, err);
    if (strcmp(k, "tick_ms") == 0)
        return sl_file_number(v, &c->tick_ms, 10, 3600000, err);
    if (strcmp(k, "checkpoint_ms") == 0)
        return sl_file_number(v, &c->checkpoint_ms, 10, 3600000, err);
    if (strcmp(k, "max_tests") == 0)
        return sl_file_number(v, &c->max_tests, 1, 100000, err);
    if (strcmp(k, "events_keep") == 0)
        return sl_file_number(v, &c->events_keep, 0, 1e12, err);
    if (strcmp(k, "idle_timeout_ms") == 0)
        return sl_file_number(v, &c->idle_timeout_ms, 100, 3600000, err);
    if (strcmp(k, "clock_speed") == 0)
        return sl_file_number(v, &c->clock_speed, 0.001, 1e6, err);
    if (strcmp(k, "max_body_bytes") == 0)
        return sl_file_size(v, &c->max_body_bytes, 1024, 1 << 30, err);
    if (strcmp(k, "max_header_bytes") == 0)
        return sl_file_size(v, &c->max_header_bytes, 512, 1 << 20, err);
    if (strcmp(k, "log_level") == 0)
        return sl_set_level(c, s, err);
    if (strcmp(k, "allow_remote") == 0) {
        if (!cJSON_IsBool(v))
            return sl_err_set(err, SL_EINVAL, "allow_remote: expected true or false");
        c->allow_remote = cJSON_IsTrue(v);
        return 0;
    }
    return sl_err_set(err, SL_EINVAL, "unknown key '%s'", k);
}

char *sl_read_text(const char *path, struct sl_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) {
        sl_err_set(err, SL_ENOTFOUND, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        rewind(f);
        buf = n >= 0 && n < (1 << 20) ? calloc(1, (size_t)n + 1) : NULL;
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf)
        sl_err_set(err, SL_EINVAL, "cannot read %s (or larger than 1 MiB)", path);
    return buf;
}

int sl_config_load_file(struct sl_config *c, const char *path, struct sl_err *err)
{
    char *text = sl_read_text(path, err);
    if (!text)
        return -1;
    int rc = sl_config_load_text(c, text, path, err);
    free(text);
    return rc;
}

int sl_config_load_text(struct sl_config *c, const char *text, const char *path, struct sl_err *err)
{
    cJSON *root = cJSON_Parse(text);
    int rc = 0;
    if (!cJSON_IsObject(root))
        rc = sl_err_set(err, SL_EINVAL, "%s: not a JSON object (near '%.20s')", path,
                        cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
    for (const cJSON *v = root ? root->child : NULL; v && rc == 0; v = v->next)
        rc = sl_file_key(c, v, err);
    if (rc == 0)
        snprintf(c->config_file, sizeof c->config_file, "%s", path);
    else if (err && !strstr(err->msg, path)) {
        char msg[SL_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "%.100s: %.200s", path, msg);
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- flags ----------------------------------------------------------------------- */

const char *sl_config_usage(void)
{
    return "usage: sluiced [--config FILE] [options]\n"
           "  --config FILE        JSON config (keys: listen, data_dir, policy_dirs, tick_ms,\n"
           "                       checkpoint_ms, max_tests, events_keep, token,\n"
           "                       max_body_bytes, max_header_bytes, idle_timeout_ms, log_level,\n"
           "                       allow_remote, clock_speed)\n"
           "  --listen ADDR:PORT   default 127.0.0.1:7070\n"
           "  --data DIR           data directory (SQLite, admin socket); default ./sluice-data\n"
           "  --policies DIR|FILE  add a policy directory, or one policy file (after the\n"
           "                       built-in directory)\n"
           "  --token TOKEN        require 'Authorization: Bearer TOKEN' on mutating calls\n"
           "  --tick-ms N          evaluation tick (default 1000)\n"
           "  --checkpoint-ms N    metric checkpoint interval (default 1000)\n"
           "  --max-tests N        tests active at once (starting/running/paused; default 100)\n"
           "  --events-keep N      stored events kept, newest first (creations of tests and\n"
           "                       canaries always; default 1000000; 0 keeps every event)\n"
           "  --log-level LEVEL    error | warn | info | debug\n"
           "  --allow-remote       allow a non-loopback listen address without a token\n"
           "  --version, --help\n";
}

static int sl_flag_value(int argc, char **argv, int *i, const char **v, struct sl_err *err)
{
    if (*i + 1 >= argc)
        return sl_err_set(err, SL_EINVAL, "%s: needs a value", argv[*i]);
    *v = argv[++*i];
    return 0;
}

static int sl_flag(struct sl_config *c, const char *f, const char *v, struct sl_err *err)
{
    if (strcmp(f, "--listen") == 0)
        return sl_set_string(c->listen, sizeof c->listen, v, "listen", err);
    if (strcmp(f, "--data") == 0)
        return sl_set_string(c->data_dir, sizeof c->data_dir, v, "data_dir", err);
    if (strcmp(f, "--token") == 0)
        return sl_set_string(c->token, sizeof c->token, v, "token", err);
    if (strcmp(f, "--policies") == 0)
        return sl_add_dir(c, v, "policies", err);
    if (strcmp(f, "--log-level") == 0)
        return sl_set_level(c, v, err);
    char *end;
    double d = strtod(v, &end);
    if (*end != '\0')
        return sl_err_set(err, SL_EINVAL, "%s: '%s' is not a number", f, v);
    if (strcmp(f, "--tick-ms") == 0)
        return sl_set_number(&c->tick_ms, d, 10, 3600000, "tick_ms", err);
    if (strcmp(f, "--checkpoint-ms") == 0)
        return sl_set_number(&c->checkpoint_ms, d, 10, 3600000, "checkpoint_ms", err);
    if (strcmp(f, "--max-tests") == 0)
        return sl_set_number(&c->max_tests, d, 1, 100000, "max_tests", err);
    if (strcmp(f, "--events-keep") == 0)
        return sl_set_number(&c->events_keep, d, 0, 1e12, "events_keep", err);
    return sl_err_set(err, SL_EINVAL, "unknown option '%s' (see --help)", f);
}

int sl_config_parse_args(struct sl_config *c, int argc, char **argv, int *exit_now,
                         struct sl_err *err)
{
    *exit_now = -1;
    for (int i = 1; i < argc; i++) { /* --config first: flags override the file */
        if (strcmp(argv[i], "--config") == 0) {
            const char *v = NULL;
            if (sl_flag_value(argc, argv, &i, &v, err) || sl_config_load_file(c, v, err))
                return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = NULL;
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            fputs(sl_config_usage(), stdout);
            *exit_now = 0;
            return 0;
        }
        if (strcmp(f, "--version") == 0) {
            printf("sluiced %s\n", SLUICE_VERSION);
            *exit_now = 0;
            return 0;
        }
        if (strcmp(f, "--allow-remote") == 0) {
            c->allow_remote = true;
            continue;
        }
        static const char *const with_value[] = {
            "--config",    "--listen",      "--data",    "--token",
            "--policies",  "--log-level",   "--tick-ms", "--checkpoint-ms",
            "--max-tests", "--events-keep", NULL};
        size_t k = 0;
        while (with_value[k] && strcmp(with_value[k], f) != 0)
            k++;
        if (!with_value[k])
            return sl_err_set(err, SL_EINVAL, "unknown option '%s' (see --help)", f);
        if (sl_flag_value(argc, argv, &i, &v, err))
            return -1;
        if (strcmp(f, "--config") != 0 && sl_flag(c, f, v, err))
            return -1;
    }
    return 0;
}

static bool sl_loopback(const char *listen)
{
    return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "localhost:", 10) == 0 ||
           strncmp(listen, "[::1]:", 6) == 0;
}

int sl_config_check(const struct sl_config *c, struct sl_err *err)
{
    if (!strrchr(c->listen, ':'))
        return sl_err_set(err, SL_EINVAL, "listen: expected HOST:PORT, got '%s'", c->listen);
    if (!sl_loopback(c->listen) && !c->token[0] && !c->allow_remote)
        return sl_err_set(err, SL_EINVAL,
                          "listen: %s is not loopback and no token is set; set token, or "
                          "allow_remote to run without one",
                          c->listen);
    if (!c->data_dir[0])
        return sl_err_set(err, SL_EINVAL, "data_dir: empty");
    if (c->events_keep != floor(c->events_keep))
        return sl_err_set(err, SL_EINVAL, "events_keep: %g is not a whole number of events",
                          c->events_keep);
    return 0;
}
