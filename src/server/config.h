/* config.h - sluiced's configuration: JSON file, then flags, then checks.
 *
 * Provides struct sl_config with the embedded defaults (127.0.0.1:7070,
 * ./sluice-data, the built-in policies), sl_config_load_file (unknown keys
 * and bad values are errors naming the key), sl_config_parse_args (flags
 * override the file) and sl_config_check (e.g. a non-loopback listen address
 * without a token refuses to start unless allow_remote is set). Uses cJSON;
 * knows nothing of the engine. */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define SL_CONFIG_MAX_DIRS 16

struct sl_config {
    char listen[128];
    char data_dir[512];
    char policy_dirs[SL_CONFIG_MAX_DIRS][512];
    size_t npolicy_dirs;
    double tick_ms, checkpoint_ms;
    double events_keep; /* newest stored events kept (creations always); 0 = all */
    double max_tests;   /* engine's max_tests (active tests); read at start-up */
    char token[256];
    size_t max_body_bytes, max_header_bytes;
    double idle_timeout_ms;
    int log_level; /* 0 error, 1 warn, 2 info, 3 debug */
    bool allow_remote;
    double clock_speed; /* virtual seconds per real second (demos); default 1 */
    char config_file[512];
};

void sl_config_default(struct sl_config *c, const char *builtin_policies);
int sl_config_load_file(struct sl_config *c, const char *path, struct sl_err *err);
/* The same from the file's text (NUL-terminated, borrowed); path names it
 * in messages and becomes c->config_file. */
int sl_config_load_text(struct sl_config *c, const char *text, const char *path,
                        struct sl_err *err);
/* A whole text file of at most 1 MiB, NUL-terminated (malloc'd), or NULL
 * with *err naming the path. Config files and simulate scenarios use it. */
char *sl_read_text(const char *path, struct sl_err *err);
/* Parse argv (argv[0] skipped). Sets *exit_now with the status to exit with
 * for --help / --version (after printing). */
int sl_config_parse_args(struct sl_config *c, int argc, char **argv, int *exit_now,
                         struct sl_err *err);
int sl_config_check(const struct sl_config *c, struct sl_err *err);
const char *sl_config_usage(void);

#endif
