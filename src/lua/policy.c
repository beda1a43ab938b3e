/* policy.c - loaded policy versions and the set of them (see policy.h).
 *
 * A load is: fresh sandbox -> run the chunk ("@file", text only) -> contract
 * check in protected C reading the returned table with lua_rawget only (an
 * __index on it could raise or loop) -> self_test under the same budget.
 * Every failure becomes "file:line: message", or "file: message" when no line
 * is known.
 *
 * The set keeps one record per file. A file is reloaded only when the XXH3
 * hash of its content differs from its last load attempt, so an unchanged
 * broken file is not retried and an unchanged good one keeps its state. On
 * success the new version replaces the old (generation + 1) and the old
 * sandbox is closed; on failure the old version stays and the error is kept.
 *
 * Same kind and name in two files: the file of the later directory wins;
 * within one directory the lexically later path (strcmp) wins, so
 * "guard/x.lua" beats "a.lua" and "b/x.lua" beats "a/x.lua". Losers stay
 * loaded and take over if the winner goes away.
 *
 * Callbacks run after the set has been updated (find/at already show the
 * change) and must not reload or delete the set. A directory that cannot be
 * listed for a reason other than being gone keeps what was loaded from it. */
#include "policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define SL_POLICY_FILE_MAX (4u << 20) /* bytes; larger files are refused */

static const char *const sl_kind_names[] = {"guard", "promotion", "ramp", "recommend"};
#define SL_NKINDS (sizeof sl_kind_names / sizeof sl_kind_names[0])

const char *sl_policy_kind_name(int kind)
{
    return kind >= 0 && (size_t)kind < SL_NKINDS ? sl_kind_names[kind] : "unknown";
}

int sl_policy_kind_parse(const char *s)
{
    for (size_t i = 0; s && i < SL_NKINDS; i++)
        if (strcmp(s, sl_kind_names[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- error messages: "file:line: message" ------------------------------------------ */

/* Lua names the chunk by a short_src that may be a truncated form of file. */
static void sl_short_src(lua_State *L, const char *chunkname, char *out, size_t n)
{
    lua_Debug ar;
    out[0] = '\0'; /* unknown: messages then carry no line */
    if (luaL_loadbufferx(L, "", 0, chunkname, "t") != LUA_OK) {
        lua_pop(L, 1);
        return;
    }
    if (lua_getinfo(L, ">S", &ar))
        snprintf(out, n, "%s", ar.short_src);
}

/* The line after "src:" at s, or 0. */
static long sl_line_at(const char *s, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || strncmp(s, src, n) != 0 || s[n] != ':')
        return 0;
    char *end;
    long line = strtol(s + n + 1, &end, 10);
    return end > s + n + 1 && *end == ':' ? line : 0;
}

/* The first frame of src in a traceback ("\n\tsrc:12: in ..."), or 0. */
static long sl_line_in_traceback(const char *msg, const char *src)
{
    const char *tb = strstr(msg, "\nstack traceback:");
    for (const char *s = tb; s && (s = strstr(s, "\n\t")) != NULL; s += 2) {
        long line = sl_line_at(s + 2, src);
        if (line > 0)
            return line;
    }
    return 0;
}

/* err = "file[:line]: <what><message>", msg being a Lua message about src
 * (its first line; the traceback is dropped but searched for a line). */
static void sl_policy_fail(struct sl_err *err, int code, const char *file, const char *src,
                           const char *what, const char *msg)
{
    const char *text = msg;
    long line = sl_line_at(msg, src);
    if (line > 0) {
        text = strchr(msg + strlen(src) + 1, ':') + 1; /* past "src:line:" */
        text += *text == ' ';
    } else {
        line = sl_line_in_traceback(msg, src);
    }
    const char *tb = strstr(text, "\nstack traceback:");
    int len = tb ? (int)(tb - text) : (int)strlen(text);
    if (line > 0)
        sl_err_set(err, code, "%s:%ld: %s%.*s", file, line, what, len, text);
    else
        sl_err_set(err, code, "%s: %s%.*s", file, what, len, text);
}

/* ---- the contract ----------------------------------------------------------------- */

struct sl_contract {
    struct sl_policy *p;
    char why[160]; /* the violation, empty if none */
};

static int sl_why(struct sl_contract *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int sl_why(struct sl_contract *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* A policy-supplied value fit to quote in a message: control bytes become
 * '?' (messages end up in events and logs), and it is cut to fit out. */
static const char *sl_quote(char *out, size_t n, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    out[i] = '\0';
    return out;
}

/* Push t[key] of the table at 1 without metamethods; return its type. */
static int sl_rawfield(lua_State *L, const char *key)
{
    lua_pushstring(L, key);
    return lua_rawget(L, 1);
}

static bool sl_is_name(const char *s, size_t n)
{
    if (n == 0 || n >= sizeof((struct sl_policy *)0)->name || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static bool sl_is_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return n > 0;
}

static int sl_check_kind_name(lua_State *L, struct sl_contract *c)
{
    char q[40];
    size_t n;
    if (sl_rawfield(L, "kind") != LUA_TSTRING)
        return sl_why(c, "kind must be one of guard, promotion, ramp, recommend");
    c->p->kind = sl_policy_kind_parse(lua_tostring(L, -1));
    if (c->p->kind < 0)
        return sl_why(c, "unknown kind \"%s\" (one of guard, promotion, ramp, recommend)",
                      sl_quote(q, sizeof q, lua_tostring(L, -1)));
    if (sl_rawfield(L, "name") != LUA_TSTRING)
        return sl_why(c, "name must be a string");
    const char *name = lua_tolstring(L, -1, &n);
    if (!sl_is_name(name, n))
        return sl_why(c, "name \"%s\" must be an identifier of at most 63 bytes",
                      sl_quote(q, sizeof q, name));
    memcpy(c->p->name, name, n + 1);
    return 0;
}

static int sl_check_version(lua_State *L, struct sl_contract *c)
{
    char q[40];
    size_t n;
    int t = sl_rawfield(L, "version");
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        return sl_why(c, "version must be a string or a number, not %s", lua_typename(L, t));
    const char *v = lua_tolstring(L, -1, &n); /* converts the copy on the stack only */
    if (n >= sizeof c->p->version || !sl_is_printable(v, n))
        return sl_why(c, "version \"%s\" must be 1 to 31 printable bytes",
                      sl_quote(q, sizeof q, v));
    memcpy(c->p->version, v, n + 1);
    return 0;
}

static int sl_check_functions(lua_State *L, struct sl_contract *c)
{
    int t = sl_rawfield(L, "evaluate");
    if (t != LUA_TFUNCTION)
        return sl_why(c, "evaluate must be a function, not %s", lua_typename(L, t));
    t = sl_rawfield(L, "params");
    if (t != LUA_TNIL && t != LUA_TTABLE)
        return sl_why(c, "params must be a table, not %s", lua_typename(L, t));
    t = sl_rawfield(L, "self_test");
    if (t != LUA_TNIL && t != LUA_TFUNCTION)
        return sl_why(c, "self_test must be a function, not %s", lua_typename(L, t));
    return 0;
}

/* Protected (runs through sl_sandbox_call): check the value at 1 against the
 * contract, take registry refs, and return self_test (or nil).
 * Arg 2 is the struct sl_contract. [-0, +1, m] */
static int sl_contract_check(lua_State *L)
{
    struct sl_contract *c = lua_touserdata(L, 2);
    lua_settop(L, 1);
    if (!lua_istable(L, 1)) {
        sl_why(c, "the file must return a table, not %s", luaL_typename(L, 1));
        return 0;
    }
    if (sl_check_kind_name(L, c) || sl_check_version(L, c) || sl_check_functions(L, c))
        return 0;
    lua_settop(L, 1);
    sl_rawfield(L, "evaluate");
    c->p->evaluate_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (sl_rawfield(L, "params") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    c->p->params_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 1);
    c->p->table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    sl_rawfield(L, "self_test");
    return 1;
}

/* ---- loading one policy ----------------------------------------------------------- */

/* Run the chunk and check what it returns; self_test is left on top (a
 * function or nil). 0 or -1 with err in "file[:line]: message" form. */
static int sl_policy_run(struct sl_policy *p, const char *src, size_t len, const char *short_src,
                         struct sl_err *err)
{
    char chunkname[sizeof p->file + 1];
    struct sl_err e;
    struct sl_contract c = {.p = p, .why = ""};
    lua_State *L = sl_sandbox_state(p->sb);
    snprintf(chunkname, sizeof chunkname, "@%s", p->file);
    int st = sl_sandbox_run(p->sb, src, len, chunkname, 1, &e);
    if (st != SL_CALL_OK) {
        sl_policy_fail(err, e.code, p->file, short_src, "", e.msg);
        return -1;
    }
    lua_pushcfunction(L, sl_contract_check);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, &c);
    if (sl_sandbox_call(p->sb, 2, 1, &e) != SL_CALL_OK) {
        sl_policy_fail(err, e.code, p->file, short_src, "", e.msg);
        return -1;
    }
    if (c.why[0]) {
        lua_pop(L, 1);
        return sl_err_set(err, SL_EINVAL, "%s: %s", p->file, c.why);
    }
    return 0;
}

static int sl_policy_self_test(struct sl_policy *p, const char *short_src, struct sl_err *err)
{
    struct sl_err e;
    lua_State *L = sl_sandbox_state(p->sb);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (sl_sandbox_call(p->sb, 0, 0, &e) == SL_CALL_OK)
        return 0;
    sl_policy_fail(err, e.code, p->file, short_src, "self_test failed: ", e.msg);
    return -1;
}

struct sl_policy *sl_policy_load(const char *file, const char *src, size_t len,
                                 const struct sl_sandbox_limits *lim, struct sl_err *err)
{
    char chunkname[sizeof((struct sl_policy *)0)->file + 1], short_src[LUA_IDSIZE];
    bool ok = false;
    struct sl_policy *p = calloc(1, sizeof *p);
    if (p == NULL) {
        sl_err_set(err, SL_ENOMEM, "%s: out of memory", file);
        return NULL;
    }
    if (strlen(file) >= sizeof p->file) {
        sl_err_set(err, SL_EINVAL, "%.64s...: path too long", file);
        goto done;
    }
    strcpy(p->file, file);
    p->hash = XXH3_64bits(src, len);
    p->generation = 1;
    p->evaluate_ref = p->params_ref = p->table_ref = LUA_NOREF;
    if ((p->sb = sl_sandbox_new(lim, err)) == NULL)
        goto done;
    snprintf(chunkname, sizeof chunkname, "@%s", file);
    sl_short_src(sl_sandbox_state(p->sb), chunkname, short_src, sizeof short_src);
    ok = sl_policy_run(p, src, len, short_src, err) == 0 &&
         sl_policy_self_test(p, short_src, err) == 0;
done:
    if (!ok) {
        sl_policy_delete(p);
        p = NULL;
    }
    return p;
}

/* Read a whole regular file (at most SL_POLICY_FILE_MAX bytes). */
static char *sl_read_file(const char *path, size_t *len, struct sl_err *err)
{
    char *buf = NULL;
    struct stat st;
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block us */
    if (fd < 0 || fstat(fd, &st) != 0) {
        sl_err_set(err, SL_ENOTFOUND, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)SL_POLICY_FILE_MAX) {
        sl_err_set(err, SL_EINVAL, "%s: not a regular file of at most %u bytes", path,
                   SL_POLICY_FILE_MAX);
        goto done;
    }
    size_t cap = (size_t)st.st_size + 1; /* the spare byte detects a file still growing */
    buf = malloc(cap);
    for (*len = 0; buf && *len < cap && (n = read(fd, buf + *len, cap - *len)) > 0;)
        *len += (size_t)n;
    if (buf == NULL || n < 0 || *len == cap) {
        sl_err_set(err, SL_EINVAL, "%s: cannot read: %s", path,
                   buf == NULL ? "out of memory"
                   : n < 0     ? strerror(errno)
                               : "it changed while being read");
        free(buf);
        buf = NULL;
    }
done:
    if (fd >= 0)
        close(fd);
    return buf;
}

struct sl_policy *sl_policy_load_file(const char *path, const struct sl_sandbox_limits *lim,
                                      struct sl_err *err)
{
    size_t len;
    char *src = sl_read_file(path, &len, err);
    if (src == NULL)
        return NULL;
    struct sl_policy *p = sl_policy_load(path, src, len, lim, err);
    free(src);
    return p;
}

void sl_policy_delete(struct sl_policy *p)
{
    if (p == NULL)
        return;
    sl_sandbox_delete(p->sb); /* the refs live in its registry */
    free(p);
}

/* ---- sets of policies -------------------------------------------------------------- */

struct sl_policy_file {
    char *path;
    size_t dir;               /* the (last) directory it was found in */
    uint64_t hash;            /* content of the last load attempt */
    bool attempted;           /* hash is meaningful */
    bool seen;                /* found by the scan in progress */
    bool active;              /* its policy is the one sl_policyset_find returns */
    struct sl_policy *policy; /* the last good version, or NULL */
    char *error;              /* the last load error, or NULL */
};

struct sl_policyset {
    char **dirs;
    size_t ndirs;
    struct sl_sandbox_limits lim;
    sl_policy_change_fn on_change;
    void *ud;
    struct sl_policy_file **files;
    size_t nfiles;
    struct sl_policy_file **active; /* winners, sorted by (kind, name) */
    size_t nactive;
    struct sl_policy_file **failed; /* error and not active */
    size_t nfailed;
};

static int sl_cmp_kind_name(int ka, const char *na, int kb, const char *nb)
{
    return ka != kb ? (ka < kb ? -1 : 1) : strcmp(na, nb);
}

static int sl_cmp_active(const void *a, const void *b)
{
    const struct sl_policy *pa = (*(struct sl_policy_file *const *)a)->policy;
    const struct sl_policy *pb = (*(struct sl_policy_file *const *)b)->policy;
    return sl_cmp_kind_name(pa->kind, pa->name, pb->kind, pb->name);
}

/* Does a override b (same kind and name)? */
static bool sl_wins(const struct sl_policy_file *a, const struct sl_policy_file *b)
{
    return a->dir != b->dir ? a->dir > b->dir : strcmp(a->path, b->path) > 0;
}

/* Put f among the winners: replace the holder of its (kind, name) if f wins. */
static void sl_index_one(struct sl_policyset *set, struct sl_policy_file *f)
{
    for (size_t i = 0; i < set->nactive; i++) {
        const struct sl_policy *q = set->active[i]->policy;
        if (q->kind == f->policy->kind && strcmp(q->name, f->policy->name) == 0) {
            if (sl_wins(f, set->active[i]))
                set->active[i] = f;
            return;
        }
    }
    set->active[set->nactive++] = f;
}

/* Rebuild the winners and the failed list after any change. */
static void sl_index(struct sl_policyset *set)
{
    set->nactive = set->nfailed = 0;
    for (size_t i = 0; i < set->nfiles; i++) {
        set->files[i]->active = false;
        if (set->files[i]->policy)
            sl_index_one(set, set->files[i]);
    }
    for (size_t i = 0; i < set->nactive; i++)
        set->active[i]->active = true;
    qsort(set->active, set->nactive, sizeof *set->active, sl_cmp_active);
    for (size_t i = 0; i < set->nfiles; i++)
        if (set->files[i]->error && !set->files[i]->active)
            set->failed[set->nfailed++] = set->files[i];
}

static struct sl_policy_file *sl_file_find(const struct sl_policyset *set, const char *path)
{
    for (size_t i = 0; i < set->nfiles; i++)
        if (strcmp(set->files[i]->path, path) == 0)
            return set->files[i];
    return NULL;
}

/* A new record; the three arrays grow together (each holds at most nfiles). */
static struct sl_policy_file *sl_file_add(struct sl_policyset *set, const char *path)
{
    size_t n = set->nfiles + 1;
    struct sl_policy_file *f = calloc(1, sizeof *f);
    struct sl_policy_file **a = realloc(set->files, n * sizeof *a);
    if (a)
        set->files = a;
    struct sl_policy_file **b = a ? realloc(set->active, n * sizeof *b) : NULL;
    if (b)
        set->active = b;
    struct sl_policy_file **c = b ? realloc(set->failed, n * sizeof *c) : NULL;
    if (c)
        set->failed = c;
    if (f == NULL || c == NULL || (f->path = strdup(path)) == NULL) {
        free(f);
        return NULL;
    }
    set->files[set->nfiles++] = f;
    return f;
}

static void sl_file_free(struct sl_policy_file *f)
{
    sl_policy_delete(f->policy);
    free(f->error);
    free(f->path);
    free(f);
}

static void sl_file_set_error(struct sl_policy_file *f, const char *msg)
{
    free(f->error);
    f->error = strdup(msg);
}

/* Drop the record at index i. 1 if a policy went away. */
static int sl_file_remove(struct sl_policyset *set, size_t i)
{
    struct sl_policy_file *f = set->files[i];
    int changed = f->policy != NULL;
    set->files[i] = set->files[--set->nfiles];
    sl_policy_delete(f->policy);
    f->policy = NULL;
    sl_index(set);
    if (set->on_change)
        set->on_change(set->ud, f->path, NULL, NULL);
    sl_file_free(f);
    return changed;
}

/* Load f if its content changed since the last attempt. 1 on a load or swap. */
static int sl_file_refresh(struct sl_policyset *set, struct sl_policy_file *f)
{
    struct sl_err e;
    size_t len;
    struct sl_policy *p = NULL;
    char *src = sl_read_file(f->path, &len, &e);
    uint64_t hash = src ? XXH3_64bits(src, len) : 0;
    if (src && f->attempted && f->hash == hash) {
        free(src);
        return 0;
    }
    f->attempted = src != NULL; /* a read error is retried on the next scan */
    f->hash = hash;
    if (src)
        p = sl_policy_load(f->path, src, len, &set->lim, &e);
    free(src);
    if (p) {
        p->generation = f->policy ? f->policy->generation + 1 : 1;
        sl_policy_delete(f->policy);
        f->policy = p;
        free(f->error);
        f->error = NULL;
    } else {
        sl_file_set_error(f, e.msg);
    }
    sl_index(set);
    if (set->on_change)
        set->on_change(set->ud, f->path, p, p ? NULL : &e);
    return p != NULL;
}

static bool sl_is_policy_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".lua") == 0;
}

/* Found path in dir d: record it and load it if it changed. */
static int sl_visit(struct sl_policyset *set, const char *path, size_t d)
{
    struct sl_policy_file *f = sl_file_find(set, path);
    if (f == NULL && (f = sl_file_add(set, path)) == NULL)
        return 0; /* out of memory: seen again on the next scan */
    f->seen = true;
    if (f->dir != d) { /* also listed under a later dir: it ranks from there */
        f->dir = d;
        sl_index(set);
    }
    return sl_file_refresh(set, f);
}

/* A directory that cannot be listed for a reason other than being gone
 * (EACCES, EMFILE...) keeps what was loaded from it. */
static void sl_keep_under(struct sl_policyset *set, const char *dir)
{
    size_t n = strlen(dir);
    for (size_t i = 0; i < set->nfiles; i++)
        if (strncmp(set->files[i]->path, dir, n) == 0 &&
            (set->files[i]->path[n] == '/' || set->files[i]->path[n] == '\0'))
            set->files[i]->seen = true;
}

static int sl_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible entry names of dir, sorted; NULL with errno on failure. */
static char **sl_list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    char **names = NULL, **grown;
    struct dirent *de;
    *n = 0;
    if (d == NULL)
        return NULL;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* dotfiles, and ConfigMap's ..data and ..2024_... dirs */
        if ((grown = realloc(names, (*n + 2) * sizeof *names)) == NULL)
            break;
        names = grown;
        if ((names[*n] = strdup(de->d_name)) == NULL)
            break;
        ++*n;
    }
    closedir(d);
    if (names == NULL && (names = calloc(1, sizeof *names)) == NULL)
        return NULL;
    qsort(names, *n, sizeof *names, sl_cmp_str);
    return names;
}

/* Visit *.lua in dir, and one level down when depth is 0. */
static int sl_scan_dir(struct sl_policyset *set, const char *dir, size_t d, int depth)
{
    size_t n;
    int changes = 0;
    char **names = sl_list_dir(dir, &n);
    if (names == NULL && errno == ENOTDIR && depth == 0) {
        struct stat st; /* a set entry naming one file: that file, whatever its name */
        if (stat(dir, &st) == 0 && S_ISREG(st.st_mode))
            return sl_visit(set, dir, d);
    }
    if (names == NULL) {
        if (errno != ENOENT && errno != ENOTDIR)
            sl_keep_under(set, dir);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        char *path = malloc(strlen(dir) + strlen(names[i]) + 2);
        if (path)
            sprintf(path, "%s/%s", dir, names[i]);
        if (path && stat(path, &st) == 0) { /* stat: symlinks are followed */
            if (S_ISREG(st.st_mode) && sl_is_policy_name(names[i]))
                changes += sl_visit(set, path, d);
            else if (S_ISDIR(st.st_mode) && depth == 0)
                changes += sl_scan_dir(set, path, d, 1);
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return changes;
}

int sl_policyset_reload(struct sl_policyset *set)
{
    int changes = 0;
    for (size_t i = 0; i < set->nfiles; i++)
        set->files[i]->seen = false;
    for (size_t d = 0; d < set->ndirs; d++)
        changes += sl_scan_dir(set, set->dirs[d], d, 0);
    for (size_t i = set->nfiles; i-- > 0;)
        if (!set->files[i]->seen)
            changes += sl_file_remove(set, i);
    return changes;
}

/* Is path a policy file of dir ("dir/x.lua" or "dir/sub/x.lua"), or the
 * file dir names? */
static bool sl_in_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (strcmp(path, dir) == 0)
        return true;
    if (strncmp(path, dir, n) != 0 || path[n] != '/')
        return false;
    const char *rel = path + n + 1, *slash = strchr(rel, '/');
    if (slash && (rel[0] == '.' || strchr(slash + 1, '/')))
        return false;
    return sl_is_policy_name(slash ? slash + 1 : rel);
}

int sl_policyset_reload_file(struct sl_policyset *set, const char *path)
{
    struct stat st;
    size_t d = set->ndirs;
    for (size_t i = 0; i < set->ndirs; i++)
        if (sl_in_dir(path, set->dirs[i]))
            d = i; /* the last one, as a full scan would find it */
    if (d == set->ndirs)
        return 0;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return sl_visit(set, path, d);
    for (size_t i = 0; i < set->nfiles; i++)
        if (strcmp(set->files[i]->path, path) == 0)
            return sl_file_remove(set, i);
    return 0;
}

static char *sl_dir_copy(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, dir, n);
        s[n] = '\0';
    }
    return s;
}

struct sl_policyset *sl_policyset_new(const char *const *dirs, size_t ndirs,
                                      const struct sl_sandbox_limits *lim,
                                      sl_policy_change_fn on_change, void *ud, struct sl_err *err)
{
    bool ok = false;
    struct sl_policyset *set = calloc(1, sizeof *set);
    if (set == NULL || (ndirs && (set->dirs = calloc(ndirs, sizeof *set->dirs)) == NULL))
        goto done;
    for (set->ndirs = 0; set->ndirs < ndirs; set->ndirs++)
        if ((set->dirs[set->ndirs] = sl_dir_copy(dirs[set->ndirs])) == NULL)
            goto done;
    if (lim)
        set->lim = *lim;
    else
        sl_sandbox_limits_default(&set->lim);
    set->on_change = on_change;
    set->ud = ud;
    ok = true;
done:
    if (!ok) {
        sl_err_set(err, SL_ENOMEM, "policy set: out of memory");
        sl_policyset_delete(set);
        set = NULL;
    }
    return set;
}

void sl_policyset_delete(struct sl_policyset *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->nfiles; i++)
        sl_file_free(set->files[i]);
    for (size_t i = 0; i < set->ndirs; i++)
        free(set->dirs[i]);
    free(set->dirs);
    free(set->files);
    free(set->active);
    free(set->failed);
    free(set);
}

struct sl_policy *sl_policyset_find(const struct sl_policyset *set, int kind, const char *name)
{
    size_t lo = 0, hi = set->nactive;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sl_policy *p = set->active[mid]->policy;
        int c = sl_cmp_kind_name(kind, name, p->kind, p->name);
        if (c == 0)
            return set->active[mid]->policy;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t sl_policyset_count(const struct sl_policyset *set)
{
    return set->nactive;
}

struct sl_policy *sl_policyset_at(const struct sl_policyset *set, size_t i)
{
    return i < set->nactive ? set->active[i]->policy : NULL;
}

const char *sl_policyset_error(const struct sl_policyset *set, const char *file)
{
    const struct sl_policy_file *f = sl_file_find(set, file);
    return f ? f->error : NULL;
}

size_t sl_policyset_error_count(const struct sl_policyset *set)
{
    return set->nfailed;
}

const char *sl_policyset_error_at(const struct sl_policyset *set, size_t i, const char **file)
{
    if (i >= set->nfailed) {
        if (file)
            *file = NULL;
        return NULL;
    }
    if (file)
        *file = set->failed[i]->path;
    return set->failed[i]->error;
}

size_t sl_policyset_ndirs(const struct sl_policyset *set)
{
    return set->ndirs;
}

const char *sl_policyset_dir(const struct sl_policyset *set, size_t i)
{
    return i < set->ndirs ? set->dirs[i] : NULL;
}
