/* sluice.c - the sluice command line.
 *
 *   sluice policy check FILE|DIR...   compile, check the contract, run self_test
 *   sluice policy test DIR            run a directory of busted specs with the
 *                                     policy author kit (sluice.testing) on the path
 *   sluice status [ID] [--json] [--watch N] [--url URL]
 *                                     a running sluiced's tests and canaries
 *   sluice version | help
 *
 * One table serves dispatch and help. Uses the policy loader (src/lua) only;
 * the daemon-facing commands (repl, status) arrive with sluiced. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "policy.h"
#include "sluice.h"

struct sl_command {
    const char *name;
    const char *usage;
    const char *help;
    int (*run)(int argc, char **argv);
};

static int sl_cmd_help(int argc, char **argv);

/* ---- policy check ----------------------------------------------------------- */

static int sl_check_file(const char *path, const struct sl_sandbox_limits *lim)
{
    struct sl_err err;
    struct sl_policy *p = sl_policy_load_file(path, lim, &err);
    if (!p) {
        fprintf(stderr, "FAIL %s\n", err.msg);
        return 1;
    }
    printf("ok   %-9s %-20s %-8s %s\n", sl_policy_kind_name(p->kind), p->name, p->version, path);
    sl_policy_delete(p);
    return 0;
}

static bool sl_is_lua(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".lua") == 0 &&
           !(n > 9 && strcmp(name + n - 9, "_spec.lua") == 0);
}

/* Check every policy file in dir and one level down (specs are skipped). */
static int sl_check_dir(const char *dir, const struct sl_sandbox_limits *lim, int depth,
                        int *checked)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), failed = 0;
    if (n < 0) {
        fprintf(stderr, "FAIL %s: %s\n", dir, strerror(errno));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth == 0)
                failed += sl_check_dir(path, lim, 1, checked);
            else if (S_ISREG(st.st_mode) && sl_is_lua(names[i]->d_name) && ++*checked)
                failed += sl_check_file(path, lim);
        }
        free(names[i]);
    }
    free(names);
    return failed;
}

static int sl_cmd_policy_check(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: sluice policy check FILE|DIR...\n");
        return 2;
    }
    struct sl_sandbox_limits lim;
    sl_sandbox_limits_default(&lim);
    int failed = 0, checked = 0;
    for (int i = 0; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "FAIL %s: %s\n", argv[i], strerror(errno));
            failed++;
        } else if (S_ISDIR(st.st_mode)) {
            failed += sl_check_dir(argv[i], &lim, 0, &checked);
        } else {
            checked++;
            failed += sl_check_file(argv[i], &lim);
        }
    }
    printf("%d checked, %d failed\n", checked, failed);
    return failed ? 1 : 0;
}

/* ---- policy test --------------------------------------------------------------- */

static const char *sl_env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static int sl_cmd_policy_test(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: sluice policy test DIR\n");
        return 2;
    }
    const char *kit = sl_env_or("SLUICE_LUA_DIR", SLUICE_SOURCE_DIR "/lua");
    const char *cdir = sl_env_or("SLUICE_CPATH_DIR", SLUICE_BINARY_DIR);
    char lpath[4096], cpath[2048];
    snprintf(lpath, sizeof lpath, "--lpath=%s/?.lua;%s/?/init.lua;%s/?.lua", kit, kit, argv[0]);
    snprintf(cpath, sizeof cpath, "--cpath=%s/?.so", cdir);
    setenv("SLUICE_POLICY_DIRS", sl_env_or("SLUICE_POLICY_DIRS", SLUICE_SOURCE_DIR "/policies"), 0);
    char *args[] = {"lua5.4", "/usr/bin/busted", lpath, cpath, "--pattern=_spec", argv[0], NULL};
    execvp(args[0], args);
    fprintf(stderr, "sluice: cannot run lua5.4 /usr/bin/busted: %s (apt-get install lua-busted)\n",
            strerror(errno));
    return 127;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static int sl_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("sluice %s\n", SLUICE_VERSION);
    return 0;
}

static const struct sl_command sl_commands[] = {
    {"policy check", "FILE|DIR...", "compile policies, check their contract, run self_test",
     sl_cmd_policy_check},
    {"policy test", "DIR", "run busted specs with the policy author kit", sl_cmd_policy_test},
    {"status", "[ID] [--json]", "tests and canaries of a running sluiced (--watch N, --url URL)",
     sl_cmd_status},
    {"repl", "[--data DIR]", "a Lua REPL on a running sluiced (or --socket PATH)", sl_cmd_repl},
    {"simulate", "SCENARIO.json", "a rollout in virtual time: timeline, verdict, --svg plot",
     sl_cmd_simulate},
    {"version", "", "print the version", sl_cmd_version},
    {"help", "", "this list", sl_cmd_help},
};

#define SL_NCOMMANDS (sizeof sl_commands / sizeof sl_commands[0])

static int sl_cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: sluice COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < SL_NCOMMANDS; i++)
        printf("  %-13s %-12s %s\n", sl_commands[i].name, sl_commands[i].usage,
               sl_commands[i].help);
    return 0;
}

/* Match the command's words against argv; returns how many argv items it used. */
static int sl_match(const char *name, int argc, char **argv)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", name);
    int used = 0;
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "), used++)
        if (used >= argc || strcmp(argv[used], w) != 0)
            return 0;
    return used;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return sl_cmd_help(0, NULL), 2;
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return sl_cmd_help(0, NULL);
    if (strcmp(argv[1], "--version") == 0)
        return sl_cmd_version(0, NULL);
    for (size_t i = 0; i < SL_NCOMMANDS; i++) {
        int used = sl_match(sl_commands[i].name, argc - 1, argv + 1);
        if (used)
            return sl_commands[i].run(argc - 1 - used, argv + 1 + used);
    }
    fprintf(stderr, "sluice: unknown command '%s' (try: sluice help)\n", argv[1]);
    return 2;
}
