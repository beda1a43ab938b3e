/* test_server_reload.c - hot reload of policies under a real libev loop, over
 * a temporary directory: edit in place, atomic rename, syntax error, runaway
 * self_test, delete, and a ConfigMap-style symlink swap. Each step waits on
 * the loop (bounded) until the watcher has applied the change, and the time
 * from save to applied is reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "reload.h"
#include "tap.h"

static char dir[256];

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void write_policy(const char *path, const char *version, const char *extra)
{
    char src[1024];
    snprintf(src, sizeof src,
             "return { kind = 'guard', name = 'probe', version = '%s',\n"
             "  evaluate = function(view, params, ctx) return nil end,\n"
             "  %s }\n",
             version, extra ? extra : "");
    write_file(path, src);
}

static const struct sl_policy *probe(struct sl_host *h)
{
    return sl_policyset_find(sl_host_policies(h), SL_POLICY_GUARD, "probe");
}

struct waiter {
    struct sl_host *h;
    const char *want; /* version, or NULL for "gone" */
};

static bool satisfied(const struct waiter *w)
{
    const struct sl_policy *p = probe(w->h);
    return w->want ? p && strcmp(p->version, w->want) == 0 : p == NULL;
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_break(loop, EVBREAK_ONE);
}

/* Run the loop until the waiter is satisfied or 3 s pass; returns seconds. */
static double wait_for(struct ev_loop *loop, struct waiter *w)
{
    double t0 = mono();
    ev_timer t;
    ev_timer_init(&t, tick_cb, 0.01, 0.01);
    ev_timer_start(loop, &t);
    while (!satisfied(w) && mono() - t0 < 3.0)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
    return satisfied(w) ? mono() - t0 : -1;
}

static const struct sl_event *last_error(struct sl_engine *e)
{
    const struct sl_event *evs[256];
    size_t n = sl_engine_events(e, 0, evs, 256);
    for (size_t i = n; i-- > 0;)
        if (evs[i]->kind == SL_EVENT_ERROR)
            return evs[i];
    return NULL;
}

static void run_loop_briefly(struct ev_loop *loop, double seconds)
{
    double t0 = mono();
    ev_timer t;
    ev_timer_init(&t, tick_cb, 0.01, 0.01);
    ev_timer_start(loop, &t);
    while (mono() - t0 < seconds)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/sluice-reload-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    char path[400], tmp[1024];
    snprintf(path, sizeof path, "%s/probe.lua", dir);
    write_policy(path, "1", NULL);

    struct sl_engine *e = sl_engine_new(NULL, NULL);
    struct sl_host_opts ho;
    sl_host_opts_default(&ho);
    const char *dirs[] = {dir};
    ho.dirs = dirs;
    ho.ndirs = 1;
    struct sl_host *h = sl_host_new(e, &ho, NULL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct sl_reload r;
    struct sl_reload_opts ro;
    sl_reload_opts_default(&ro);
    ro.rescan = 0; /* prove the watchers alone see each change */
    ok(h && sl_reload_start(&r, loop, h, &ro, NULL) == 0, "host and watcher start");
    ok(probe(h) && strcmp(probe(h)->version, "1") == 0, "the policy is loaded at start");

    struct waiter w = {h, "2"};
    sleep(1); /* a new mtime second: stat-based watchers compare whole seconds */
    write_policy(path, "2", NULL);
    double dt = wait_for(loop, &w);
    ok(dt >= 0, "edit in place: version 2 applied (%.3f s after save)", dt);
    ok(probe(h)->generation == 2, "the swap bumped the generation");

    snprintf(tmp, sizeof tmp, "%s/.probe.lua.tmp", dir);
    write_policy(tmp, "3", NULL);
    rename(tmp, path);
    w.want = "3";
    dt = wait_for(loop, &w);
    ok(dt >= 0, "atomic rename: version 3 applied (%.3f s)", dt);

    write_file(path, "return { kind = 'guard', name = 'probe', version = '4',\n  evaluate = \n");
    run_loop_briefly(loop, 0.8);
    ok(probe(h) && strcmp(probe(h)->version, "3") == 0,
       "syntax error: the last good version stays");
    const struct sl_event *ev = last_error(e);
    ok(ev && strstr(ev->reason, "probe.lua:") != NULL, "and an error event names file:line (%s)",
       ev ? ev->reason : "none");

    sleep(1);
    write_policy(path, "5", "self_test = function() while true do end end");
    run_loop_briefly(loop, 0.8);
    ok(probe(h) && strcmp(probe(h)->version, "3") == 0,
       "runaway self_test: killed by the budget, the last good version stays");
    ev = last_error(e);
    ok(ev && (strstr(ev->reason, "budget") || strstr(ev->reason, "time")),
       "and the error says why (%s)", ev ? ev->reason : "none");

    unlink(path);
    w.want = NULL;
    dt = wait_for(loop, &w);
    ok(dt >= 0, "delete: the policy is removed (%.3f s)", dt);

    /* ConfigMap style: probe.lua -> ..data/probe.lua, ..data -> v1, then v2 */
    char v1[400], v2[400], data[400], link_tmp[400];
    snprintf(v1, sizeof v1, "%s/..v1", dir); /* dot dirs, as kubelet makes */
    snprintf(v2, sizeof v2, "%s/..v2", dir);
    snprintf(data, sizeof data, "%s/..data", dir);
    snprintf(link_tmp, sizeof link_tmp, "%s/..data_tmp", dir);
    mkdir(v1, 0700);
    mkdir(v2, 0700);
    snprintf(tmp, sizeof tmp, "%s/p.lua", v1);
    write_policy(tmp, "10", NULL);
    snprintf(tmp, sizeof tmp, "%s/p.lua", v2);
    write_policy(tmp, "11", NULL);
    if (symlink("..v1", data) != 0 || symlink("..data/p.lua", path) != 0)
        ok(false, "symlinks created");
    w.want = "10";
    dt = wait_for(loop, &w);
    ok(dt >= 0, "symlinked policy appears (%.3f s)", dt);
    if (symlink("..v2", link_tmp) != 0 || rename(link_tmp, data) != 0)
        ok(false, "symlink swapped");
    w.want = "11";
    dt = wait_for(loop, &w);
    ok(dt >= 0, "ConfigMap symlink swap: version 11 applied (%.3f s)", dt);

    sl_reload_stop(&r);
    ev_loop_destroy(loop);
    sl_host_delete(h);
    sl_engine_delete(e);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        tap_diag("could not remove %s", dir);
    return tap_done();
}
