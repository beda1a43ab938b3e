/* test_lua_policy.c - the policy contract, and policy sets over real directories.
 *
 * Contract cases load the files in tests/fixtures/policies (the working
 * directory is the repository root). Set cases build directories under a
 * mkdtemp in /tmp and edit, break, delete, override and symlink-swap files. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <lauxlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "tap.h"

#define FIX "tests/fixtures/policies/"

static struct sl_sandbox_limits test_limits(void)
{
    struct sl_sandbox_limits lim;
    sl_sandbox_limits_default(&lim);
    lim.memory_bytes = 4u << 20;
    lim.instructions = 1000000;
    lim.wall_ms = 5000;
    return lim;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool starts_with(const char *s, const char *prefix)
{
    bool r = s && strncmp(s, prefix, strlen(prefix)) == 0;
    if (!r)
        tap_diag("\"%s\" does not start with \"%s\"", s ? s : "(null)", prefix);
    return r;
}

/* ---- files --------------------------------------------------------------------- */

static void mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(buf, 0755);
            *s = '/';
        }
    }
    mkdir(buf, 0755);
}

/* Write dir/rel (creating directories), replacing it atomically by rename. */
static void put(const char *dir, const char *rel, const char *text)
{
    char path[1024], tmp[1100], parent[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '/') = '\0';
    mkdirs(parent);
    snprintf(tmp, sizeof tmp, "%s/.tmp-write", parent);
    FILE *f = fopen(tmp, "w");
    fputs(text, f);
    fclose(f);
    rename(tmp, path);
}

static void put_policy(const char *dir, const char *rel, const char *kind, const char *name,
                       const char *version)
{
    char text[512];
    snprintf(text, sizeof text,
             "return { kind = '%s', name = '%s', version = '%s',\n"
             "  evaluate = function() return '%s' end }\n",
             kind, name, version, version);
    put(dir, rel, text);
}

static void path_of(char *out, size_t n, const char *dir, const char *rel)
{
    snprintf(out, n, "%s/%s", dir, rel);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void temp_dir(char *out, size_t n)
{
    snprintf(out, n, "/tmp/sluice-policy-XXXXXX");
    if (!mkdtemp(out))
        tap_diag("mkdtemp failed");
}

/* Call p's evaluate with no arguments; its string result or "". */
static const char *evaluate_text(struct sl_policy *p, char *out, size_t n)
{
    struct sl_err err;
    lua_State *L = sl_sandbox_state(p->sb);
    out[0] = '\0';
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->evaluate_ref);
    if (sl_sandbox_call(p->sb, 0, 1, &err) != SL_CALL_OK)
        return out;
    if (lua_type(L, -1) == LUA_TSTRING)
        snprintf(out, n, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return out;
}

/* ---- the contract ------------------------------------------------------------- */

static void test_good_policy_loads_with_its_contract(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_err err = {0};
    struct sl_policy *p = sl_policy_load_file(FIX "good.lua", &lim, &err);
    ok(p != NULL, "good.lua loads (%s)", err.msg);
    if (!p)
        return;
    is_str(p->name, "p99_budget", "name");
    is_int(p->kind, SL_POLICY_GUARD, "kind");
    is_str(p->version, "1.2.0", "version");
    is_str(p->file, FIX "good.lua", "file kept");
    is_int(p->generation, 1, "generation 1");
    lua_State *L = sl_sandbox_state(p->sb);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->params_ref);
    lua_getfield(L, -1, "max_ms");
    is_int(lua_tointeger(L, -1), 250, "params_ref holds the defaults");
    lua_pop(L, 2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->evaluate_ref);
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, 300);
    lua_setfield(L, -2, "p99");
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->params_ref);
    lua_newtable(L);
    int st = sl_sandbox_call(p->sb, 3, 1, &err);
    is_int(st, SL_CALL_OK, "evaluate runs through the gateway");
    lua_getfield(L, -1, "action");
    is_str(lua_tostring(L, -1), "pause", "evaluate decides from view and params");
    lua_pop(L, 2);
    is_int(lua_gettop(L), 0, "loading leaves the policy's stack empty");
    sl_policy_delete(p);
    sl_policy_delete(NULL);
}

static void expect_refused(const char *fixture, const char *want_prefix)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_err err = {0};
    char path[256];
    snprintf(path, sizeof path, FIX "%s", fixture);
    double t0 = now();
    struct sl_policy *p = sl_policy_load_file(path, &lim, &err);
    ok(p == NULL, "%s is refused", fixture);
    ok(starts_with(err.msg, want_prefix), "%s: message is \"%s...\"", fixture, want_prefix);
    ok(now() - t0 < 2.0, "%s: refused in %.3f s", fixture, now() - t0);
    sl_policy_delete(p);
}

static void test_contract_violations_name_file_and_line(void)
{
    expect_refused("missing_evaluate.lua",
                   FIX "missing_evaluate.lua: evaluate must be a function, not nil");
    expect_refused("wrong_kind.lua", FIX "wrong_kind.lua: unknown kind \"gaurd\"");
    expect_refused("bad_name.lua", FIX "bad_name.lua: name \"p99 budget!\" must be an identifier");
    expect_refused("not_a_table.lua", FIX "not_a_table.lua: the file must return a table, not "
                                          "string");
    expect_refused("syntax_error.lua", FIX "syntax_error.lua:4: ");
    expect_refused("self_test_fails.lua",
                   FIX "self_test_fails.lua:7: self_test failed: assertion failed!");
    expect_refused("self_test_assert_message.lua",
                   FIX "self_test_assert_message.lua:8: self_test failed: expected 5 steps");
    expect_refused("runaway_self_test.lua",
                   FIX "runaway_self_test.lua:7: self_test failed: instruction budget exceeded");
    expect_refused("memory_hog.lua", FIX "memory_hog.lua: not enough memory");
    expect_refused("index_trap.lua", FIX "index_trap.lua: evaluate must be a function, not nil");
    expect_refused("no_such_file.lua", FIX "no_such_file.lua: cannot read");
}

static void test_contract_edge_values(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_err err = {0};
    struct sl_policy *p = sl_policy_load_file(FIX "version_number.lua", &lim, &err);
    ok(p && strcmp(p->version, "3") == 0, "a numeric version becomes \"3\"");
    ok(p && p->kind == SL_POLICY_PROMOTION, "kind promotion");
    sl_policy_delete(p);
    p = sl_policy_load_file(FIX "escape_attempt.lua", &lim, &err);
    ok(p != NULL, "a policy probing for os/io/require loads and finds none (%s)", err.msg);
    sl_policy_delete(p);

    static const char *const bad[][2] = {
        {"return {kind='guard', name='x', version='', evaluate=print}", "version"},
        {"return {kind='guard', name='x', version='1\\n2', evaluate=function() end}", "version"},
        {"return {kind='guard', name='x', version=('9'):rep(32), evaluate=function() end}",
         "version"},
        {"return {kind='guard', name=('n'):rep(64), version='1', evaluate=function() end}", "name"},
        {"return {kind='guard', name='1abc', version='1', evaluate=function() end}", "name"},
        {"return {kind='guard', name='x', version='1', evaluate=function() end, params=1}",
         "params must be a table"},
        {"return {kind='guard', name='x', version='1', evaluate=function() end, self_test=1}",
         "self_test must be a function"},
        {"return {kind=1, name='x', version='1', evaluate=function() end}", "kind"},
        {"return setmetatable({kind='guard', name='x', version='1'}, "
         "{__index = {evaluate = function() end}})",
         "evaluate must be a function"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = sl_policy_load("inline.lua", bad[i][0], strlen(bad[i][0]), &lim, &err);
        ok(p == NULL && strstr(err.msg, bad[i][1]) && !strchr(err.msg, '\n'),
           "contract refuses case %zu (%s), in one line", i, bad[i][1]);
        if (p == NULL)
            tap_diag("%s", err.msg);
        sl_policy_delete(p);
    }
    const char *ok_src = "return {kind='recommend', name=('n'):rep(63), version=('9'):rep(31), "
                         "evaluate=function() end}";
    p = sl_policy_load("inline.lua", ok_src, strlen(ok_src), &lim, &err);
    ok(p != NULL, "63-byte name and 31-byte version are accepted (%s)", err.msg);
    sl_policy_delete(p);
}

/* Lua shortens chunk names over 60 bytes to "...tail"; messages must still
 * start with the whole path. */
static void test_long_paths_kept_whole_in_messages(void)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_err err = {0};
    char dir[256], path[512];
    temp_dir(dir, sizeof dir);
    const char *rel = "a-directory-name-long-enough-to-be-shortened-by-lua/guard/p.lua";
    put(dir, rel, "return {\n  kind = = 'guard' }\n");
    path_of(path, sizeof path, dir, rel);
    ok(strlen(path) > 60, "path is %zu bytes", strlen(path));
    struct sl_policy *p = sl_policy_load_file(path, &lim, &err);
    char want[600];
    snprintf(want, sizeof want, "%s:2: ", path);
    ok(p == NULL && starts_with(err.msg, want), "syntax error names the whole path and line 2");
    put(dir, rel,
        "return { kind = 'guard', name = 'p', version = '1',\n"
        "  evaluate = function() end,\n"
        "  self_test = function() error('nope') end }\n");
    p = sl_policy_load_file(path, &lim, &err);
    snprintf(want, sizeof want, "%s:3: self_test failed: nope", path);
    ok(p == NULL && starts_with(err.msg, want), "runtime error names the whole path and line 3");
    rm_rf(dir);
}

/* ---- sets over directories ----------------------------------------------------- */

struct events {
    int loads, failures, removals;
    unsigned generation;
    char file[1024];
    char error[SL_ERR_MSG_MAX];
};

static void on_change(void *ud, const char *file, const struct sl_policy *p,
                      const struct sl_err *err)
{
    struct events *ev = ud;
    snprintf(ev->file, sizeof ev->file, "%s", file);
    if (p) {
        ev->loads++;
        ev->generation = p->generation;
    } else if (err) {
        ev->failures++;
        snprintf(ev->error, sizeof ev->error, "%s", err->msg);
    } else {
        ev->removals++;
    }
}

static struct sl_policyset *new_set(const char *a, const char *b, struct events *ev)
{
    struct sl_sandbox_limits lim = test_limits();
    struct sl_err err = {0};
    const char *dirs[] = {a, b};
    struct sl_policyset *set = sl_policyset_new(dirs, b ? 2 : 1, &lim, on_change, ev, &err);
    if (!set)
        tap_diag("sl_policyset_new: %s", err.msg);
    return set;
}

static const char *version_of(struct sl_policyset *set, int kind, const char *name)
{
    struct sl_policy *p = sl_policyset_find(set, kind, name);
    return p ? p->version : "(none)";
}

static void test_set_scans_dir_and_one_level_down(void)
{
    char dir[256];
    struct events ev = {0};
    temp_dir(dir, sizeof dir);
    put_policy(dir, "guard/a.lua", "guard", "a", "1");
    put_policy(dir, "ramp/b.lua", "ramp", "b", "1");
    put_policy(dir, "top.lua", "recommend", "top", "1");
    put_policy(dir, ".hidden.lua", "guard", "hidden", "1");
    put_policy(dir, "guard/.swap.lua", "guard", "swap", "1");
    put_policy(dir, "guard/deeper/c.lua", "guard", "c", "1");
    put_policy(dir, ".dotdir/d.lua", "guard", "d", "1");
    put(dir, "notes.txt", "return {}");
    put(dir, "guard/README", "not lua");
    struct sl_policyset *set = new_set(dir, NULL, &ev);
    is_int((long long)sl_policyset_count(set), 0, "nothing loaded before the first reload");
    is_int(sl_policyset_reload(set), 3, "first reload loads the 3 policy files");
    is_int(ev.loads, 3, "one callback per load");
    is_int((long long)sl_policyset_count(set), 3, "3 policies");
    ok(sl_policyset_find(set, SL_POLICY_GUARD, "hidden") == NULL, "dotfiles are ignored");
    ok(sl_policyset_find(set, SL_POLICY_GUARD, "swap") == NULL, "dotfiles in subdirs too");
    ok(sl_policyset_find(set, SL_POLICY_GUARD, "c") == NULL, "two levels down is ignored");
    ok(sl_policyset_find(set, SL_POLICY_GUARD, "d") == NULL, "dot directories are ignored");
    ok(sl_policyset_find(set, SL_POLICY_RAMP, "a") == NULL, "find matches the kind too");
    is_str(sl_policyset_at(set, 0)->name, "a", "at() is sorted by kind: guard first");
    is_str(sl_policyset_at(set, 1)->name, "b", "then ramp");
    is_str(sl_policyset_at(set, 2)->name, "top", "then recommend");
    ok(sl_policyset_at(set, 3) == NULL, "at() past the end is NULL");
    is_int((long long)sl_policyset_ndirs(set), 1, "one dir");
    is_str(sl_policyset_dir(set, 0), dir, "the dir is copied");
    sl_policyset_delete(set);
    rm_rf(dir);
}

static void test_set_reload_follows_edits(void)
{
    char dir[256], a[512], out[64];
    struct events ev = {0};
    temp_dir(dir, sizeof dir);
    path_of(a, sizeof a, dir, "guard/a.lua");
    put_policy(dir, "guard/a.lua", "guard", "a", "1");
    put_policy(dir, "ramp/b.lua", "ramp", "b", "1");
    struct sl_policyset *set = new_set(dir, NULL, &ev);
    sl_policyset_reload(set);
    struct sl_policy *first = sl_policyset_find(set, SL_POLICY_GUARD, "a");

    is_int(sl_policyset_reload(set), 0, "unchanged files: no changes");
    put_policy(dir, "guard/a.lua", "guard", "a", "1"); /* same bytes, new inode and mtime */
    is_int(sl_policyset_reload(set), 0, "rewritten with the same content: no reload");
    ok(sl_policyset_find(set, SL_POLICY_GUARD, "a") == first, "the same version is kept");
    is_int(ev.loads, 2, "no load callbacks for unchanged files");

    put_policy(dir, "guard/a.lua", "guard", "a", "2");
    is_int(sl_policyset_reload(set), 1, "a changed file is one change");
    struct sl_policy *second = sl_policyset_find(set, SL_POLICY_GUARD, "a");
    is_str(second->version, "2", "the new version is active");
    is_int(second->generation, 2, "generation 2");
    is_int(ev.generation, 2, "the callback saw generation 2");
    is_str(evaluate_text(second, out, sizeof out), "2", "the new code runs");

    put(dir, "guard/a.lua", "return {\n  kind = 'guard',\n  name = = 'a' }\n");
    is_int(sl_policyset_reload(set), 0, "a broken edit changes nothing");
    is_str(version_of(set, SL_POLICY_GUARD, "a"), "2", "the last good version stays");
    is_int(sl_policyset_find(set, SL_POLICY_GUARD, "a")->generation, 2, "still generation 2");
    is_str(evaluate_text(sl_policyset_find(set, SL_POLICY_GUARD, "a"), out, sizeof out), "2",
           "and keeps running");
    char want[600];
    snprintf(want, sizeof want, "%s:3: ", a);
    ok(starts_with(sl_policyset_error(set, a), want), "the error is recorded with file:line");
    is_int(ev.failures, 1, "one failure callback");
    ok(starts_with(ev.error, want), "the callback got file:line too");
    is_int((long long)sl_policyset_error_count(set), 0,
           "a file whose last good version runs is not in the never-loaded list");
    sl_policyset_reload(set);
    is_int(ev.failures, 1, "the same broken content is not retried");

    put(dir, "guard/a.lua",
        "return { kind = 'guard', name = 'a', version = '9',\n"
        "  evaluate = function() end,\n"
        "  self_test = function() while true do end end }\n");
    sl_policyset_reload(set);
    is_str(version_of(set, SL_POLICY_GUARD, "a"), "2", "a runaway self_test keeps version 2");
    ok(strstr(sl_policyset_error(set, a), "instruction budget exceeded") != NULL,
       "and records the budget error");

    put_policy(dir, "guard/a.lua", "guard", "a", "3");
    is_int(sl_policyset_reload(set), 1, "fixing the file loads it");
    is_int(sl_policyset_find(set, SL_POLICY_GUARD, "a")->generation, 3, "generation 3");
    ok(sl_policyset_error(set, a) == NULL, "the error is cleared");
    sl_policyset_delete(set);
    rm_rf(dir);
}

static void test_set_deleted_file_is_removed(void)
{
    char dir[256], b[512];
    struct events ev = {0};
    temp_dir(dir, sizeof dir);
    put_policy(dir, "guard/a.lua", "guard", "a", "1");
    put_policy(dir, "ramp/b.lua", "ramp", "b", "1");
    struct sl_policyset *set = new_set(dir, NULL, &ev);
    sl_policyset_reload(set);
    path_of(b, sizeof b, dir, "ramp/b.lua");
    unlink(b);
    is_int(sl_policyset_reload(set), 1, "a deleted file is one change");
    ok(sl_policyset_find(set, SL_POLICY_RAMP, "b") == NULL, "its policy is gone");
    is_int((long long)sl_policyset_count(set), 1, "one policy left");
    is_int(ev.removals, 1, "one removal callback");
    is_str(ev.file, b, "naming the file");
    sl_policyset_delete(set);
    rm_rf(dir);
}

static void test_set_lists_files_that_never_loaded(void)
{
    char dir[256], bad[512];
    struct events ev = {0};
    temp_dir(dir, sizeof dir);
    put_policy(dir, "guard/a.lua", "guard", "a", "1");
    put(dir, "guard/bad.lua", "return {\n  kind = 'guard', name = 'bad' }\n");
    struct sl_policyset *set = new_set(dir, NULL, &ev);
    is_int(sl_policyset_reload(set), 1, "the good file loads");
    path_of(bad, sizeof bad, dir, "guard/bad.lua");
    is_int((long long)sl_policyset_error_count(set), 1, "the broken file is listed");
    const char *file = NULL, *msg = sl_policyset_error_at(set, 0, &file);
    is_str(file, bad, "error_at gives its file");
    ok(msg && strstr(msg, "version must be a string or a number"), "and its error: %s",
       msg ? msg : "(null)");
    ok(sl_policyset_error_at(set, 1, &file) == NULL && file == NULL, "error_at past the end");
    unlink(bad);
    is_int(sl_policyset_reload(set), 0, "deleting a file that never loaded removes no policy");
    is_int((long long)sl_policyset_error_count(set), 0, "...but it leaves the error list");
    is_int(ev.removals, 1, "and is reported as a removal");
    sl_policyset_delete(set);
    rm_rf(dir);
}

static void test_set_later_dir_overrides_earlier(void)
{
    char a[256], b[256], path[512];
    struct events ev = {0};
    temp_dir(a, sizeof a);
    temp_dir(b, sizeof b);
    put_policy(a, "guard/x.lua", "guard", "x", "from-a");
    put_policy(b, "x.lua", "guard", "x", "from-b");
    struct sl_policyset *set = new_set(a, b, &ev);
    sl_policyset_reload(set);
    is_str(version_of(set, SL_POLICY_GUARD, "x"), "from-b", "dirs (a, b): b wins");
    is_int((long long)sl_policyset_count(set), 1, "one policy per kind and name");
    struct events ev2 = {0};
    struct sl_policyset *rev = new_set(b, a, &ev2);
    sl_policyset_reload(rev);
    is_str(version_of(rev, SL_POLICY_GUARD, "x"), "from-a", "dirs (b, a): a wins");
    sl_policyset_delete(rev);

    path_of(path, sizeof path, b, "x.lua");
    unlink(path);
    sl_policyset_reload(set);
    is_str(version_of(set, SL_POLICY_GUARD, "x"), "from-a",
           "when the winner goes, the overridden version takes over");

    put_policy(a, "dup.lua", "guard", "dup", "flat");
    put_policy(a, "guard/dup.lua", "guard", "dup", "nested");
    put_policy(a, "zz.lua", "ramp", "r", "zz");
    put_policy(a, "ramp/r.lua", "ramp", "r", "ramp-dir");
    sl_policyset_reload(set);
    is_str(version_of(set, SL_POLICY_GUARD, "dup"), "nested",
           "within a dir the lexically later path wins (guard/dup.lua > dup.lua)");
    is_str(version_of(set, SL_POLICY_RAMP, "r"), "zz",
           "within a dir the lexically later path wins (zz.lua > ramp/r.lua)");
    sl_policyset_delete(set);

    /* Overlapping dirs (a, a/guard): a/guard/x2.lua is found from both and
     * ranks from the later one, beating a/x2.lua of the earlier dir. */
    char sub[512];
    path_of(sub, sizeof sub, a, "guard");
    put_policy(a, "x2.lua", "guard", "x2", "flat");
    put_policy(a, "guard/x2.lua", "guard", "x2", "in-later-dir");
    set = new_set(a, sub, &ev);
    sl_policyset_reload(set);
    is_str(version_of(set, SL_POLICY_GUARD, "x2"), "in-later-dir",
           "a file listed under two dirs ranks from the later one");
    sl_policyset_delete(set);
    rm_rf(a);
    rm_rf(b);
}

/* Kubernetes ConfigMap volumes: dir/x.lua -> ..data/x.lua, dir/..data ->
 * ..<timestamp>; an update repoints ..data with one rename. The dot
 * directories are skipped by the scan, so x.lua is the only policy file. */
static void test_set_follows_configmap_symlink_swap(void)
{
    char dir[256], link[512], tmp[512], file[512];
    struct events ev = {0};
    temp_dir(dir, sizeof dir);
    put_policy(dir, "..v1/x.lua", "guard", "x", "1");
    put_policy(dir, "..v2/x.lua", "guard", "x", "2");
    path_of(link, sizeof link, dir, "..data");
    path_of(tmp, sizeof tmp, dir, "..data_tmp");
    path_of(file, sizeof file, dir, "x.lua");
    ok(symlink("..v1", link) == 0 && symlink("..data/x.lua", file) == 0, "ConfigMap layout");
    struct sl_policyset *set = new_set(dir, NULL, &ev);
    is_int(sl_policyset_reload(set), 1, "one policy through the symlinks");
    is_str(version_of(set, SL_POLICY_GUARD, "x"), "1", "version 1");
    ok(symlink("..v2", tmp) == 0 && rename(tmp, link) == 0, "..data repointed to ..v2");
    is_int(sl_policyset_reload(set), 1, "the swap is seen by a rescan");
    is_str(version_of(set, SL_POLICY_GUARD, "x"), "2", "version 2");
    is_int(sl_policyset_find(set, SL_POLICY_GUARD, "x")->generation, 2, "generation 2");
    ok(symlink("..v1", tmp) == 0 && rename(tmp, link) == 0, "..data repointed back to ..v1");
    is_int(sl_policyset_reload_file(set, file), 1, "reload_file of x.lua sees it too");
    is_str(version_of(set, SL_POLICY_GUARD, "x"), "1", "version 1 again");
    is_int(sl_policyset_find(set, SL_POLICY_GUARD, "x")->generation, 3, "generation 3");
    sl_policyset_delete(set);
    rm_rf(dir);
}

static void test_set_reload_one_file(void)
{
    char dir[256], a[512], other[512];
    struct events ev = {0};
    temp_dir(dir, sizeof dir);
    path_of(a, sizeof a, dir, "guard/a.lua");
    struct sl_policyset *set = new_set(dir, NULL, &ev);
    sl_policyset_reload(set);
    put_policy(dir, "guard/a.lua", "guard", "a", "1");
    is_int(sl_policyset_reload_file(set, a), 1, "a new file loads");
    is_int(sl_policyset_reload_file(set, a), 0, "unchanged: nothing");
    put_policy(dir, "guard/a.lua", "guard", "a", "2");
    is_int(sl_policyset_reload_file(set, a), 1, "changed: swapped");
    is_int(sl_policyset_find(set, SL_POLICY_GUARD, "a")->generation, 2, "generation 2");
    unlink(a);
    is_int(sl_policyset_reload_file(set, a), 1, "deleted: removed");
    ok(sl_policyset_find(set, SL_POLICY_GUARD, "a") == NULL, "gone");
    put_policy(dir, "guard/.a.lua", "guard", "dot", "1");
    put_policy(dir, "guard/deep/a.lua", "guard", "deep", "1");
    path_of(other, sizeof other, dir, "guard/.a.lua");
    is_int(sl_policyset_reload_file(set, other), 0, "a dotfile is not a policy file");
    path_of(other, sizeof other, dir, "guard/deep/a.lua");
    is_int(sl_policyset_reload_file(set, other), 0, "two levels down is not either");
    is_int(sl_policyset_reload_file(set, FIX "good.lua"), 0, "a file outside the dirs: 0");
    is_int((long long)sl_policyset_count(set), 0, "nothing was loaded from those");
    sl_policyset_delete(set);
    sl_policyset_delete(NULL);
    rm_rf(dir);
}

static void test_kind_names_round_trip(void)
{
    static const char *const names[] = {"guard", "promotion", "ramp", "recommend"};
    for (int k = 0; k < 4; k++) {
        is_str(sl_policy_kind_name(k), names[k], "kind name");
        is_int(sl_policy_kind_parse(names[k]), k, "kind parse");
    }
    is_int(sl_policy_kind_parse("gaurd"), -1, "unknown kind parses to -1");
    is_int(sl_policy_kind_parse(NULL), -1, "NULL parses to -1");
    is_str(sl_policy_kind_name(9), "unknown", "out-of-range kind name");
}

int main(void)
{
    RUN(test_good_policy_loads_with_its_contract);
    RUN(test_contract_violations_name_file_and_line);
    RUN(test_contract_edge_values);
    RUN(test_long_paths_kept_whole_in_messages);
    RUN(test_set_scans_dir_and_one_level_down);
    RUN(test_set_reload_follows_edits);
    RUN(test_set_deleted_file_is_removed);
    RUN(test_set_lists_files_that_never_loaded);
    RUN(test_set_later_dir_overrides_earlier);
    RUN(test_set_follows_configmap_symlink_swap);
    RUN(test_set_reload_one_file);
    RUN(test_kind_names_round_trip);
    return tap_done();
}
