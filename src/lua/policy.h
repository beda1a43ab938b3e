/* policy.h - one loaded policy version, and the set of them from directories.
 *
 * Provides sl_policy_load (source -> fresh sandbox -> run chunk -> contract
 * check -> self_test under budget) and struct sl_policyset, which scans policy
 * directories, loads new or changed files (by content hash), keeps the last
 * good version of a file on any error, and reports each change through a
 * callback. Uses sandbox.h and libxxhash; knows nothing of engines: the
 * policy host (host.c) looks policies up by kind and name at each tick. */
#ifndef SL_POLICY_H
#define SL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "sandbox.h"

enum sl_policy_kind {
    SL_POLICY_GUARD = 0,
    SL_POLICY_PROMOTION,
    SL_POLICY_RAMP,
    SL_POLICY_RECOMMEND,
};

const char *sl_policy_kind_name(int kind); /* "guard", ... */
int sl_policy_kind_parse(const char *s);   /* -1 if unknown */

struct sl_policy {
    char name[64];
    char version[32];
    int kind;
    char file[1024];
    uint64_t hash;       /* XXH3_64bits of the source */
    unsigned generation; /* 1 for the first load of this file, +1 per swap */
    struct sl_sandbox *sb;
    int evaluate_ref; /* registry refs in the policy's own state */
    int params_ref;   /* the defaults table (may be an empty table) */
    int table_ref;    /* the whole returned table */
};

/* Load a policy from source. file is used for messages and kept. On failure
 * NULL and err->msg is "file:line: message" where a line is known. */
struct sl_policy *sl_policy_load(const char *file, const char *src, size_t len,
                                 const struct sl_sandbox_limits *lim, struct sl_err *err);
/* Read the file and load it. */
struct sl_policy *sl_policy_load_file(const char *path, const struct sl_sandbox_limits *lim,
                                      struct sl_err *err);
void sl_policy_delete(struct sl_policy *p);

/* ---- sets of policies ---------------------------------------------------------- */

struct sl_policyset;

/* Called after each load attempt: p is the new version (NULL on failure, then
 * err says why and the previous version, if any, stays), or a removal
 * (p NULL, err NULL). */
typedef void (*sl_policy_change_fn)(void *ud, const char *file, const struct sl_policy *p,
                                    const struct sl_err *err);

/* A set over dirs (borrowed, copied). Each dir holds *.lua files directly or
 * one level down (policies/<kind>/<name>.lua), or is itself one policy file
 * (any name: a candidate, a file given on a command line). Later dirs
 * override earlier ones for the same kind and name. Nothing is loaded until
 * reload. */
struct sl_policyset *sl_policyset_new(const char *const *dirs, size_t ndirs,
                                      const struct sl_sandbox_limits *lim,
                                      sl_policy_change_fn on_change, void *ud, struct sl_err *err);
void sl_policyset_delete(struct sl_policyset *set);

/* Rescan every dir: load new and changed files, drop deleted ones (their
 * policies disappear), keep the last good version of files that fail.
 * Returns the number of changes (loads, swaps, removals). */
int sl_policyset_reload(struct sl_policyset *set);
/* Reload one file (after a watcher saw it change); same rules. */
int sl_policyset_reload_file(struct sl_policyset *set, const char *path);

/* The current policy of kind and name, or NULL. Valid until the next reload. */
struct sl_policy *sl_policyset_find(const struct sl_policyset *set, int kind, const char *name);
size_t sl_policyset_count(const struct sl_policyset *set);
struct sl_policy *sl_policyset_at(const struct sl_policyset *set, size_t i);

/* The last load error of a file still in the set (NULL if its last load was
 * good), for eng:policies(). */
const char *sl_policyset_error(const struct sl_policyset *set, const char *file);
/* Files whose last load failed and that have no policy among
 * sl_policyset_at (they never loaded, or their kept version is overridden):
 * the i-th error message, with its file in *file (both valid until the next
 * reload). Added for eng:policies(). */
size_t sl_policyset_error_count(const struct sl_policyset *set);
const char *sl_policyset_error_at(const struct sl_policyset *set, size_t i, const char **file);
size_t sl_policyset_ndirs(const struct sl_policyset *set);
const char *sl_policyset_dir(const struct sl_policyset *set, size_t i);

#endif
