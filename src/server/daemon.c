#include "daemon.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- logging ------------------------------------------------------------------- */

void sl_daemon_log(const struct sl_daemon *d, int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > d->cfg.log_level)
        return;
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    fprintf(stderr, "%s sluiced %s: ", when, names[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- the engine's clock: wall time, optionally sped up for demos --------------------- */

static double sl_daemon_clock(void *ud)
{
    struct sl_daemon *d = ud;
    return d->virt0 + (sl_clock_wall(NULL) - d->wall0) * d->cfg.clock_speed;
}

/* ---- events: counted, and queued for the store --------------------------------------- */

static void sl_daemon_mark(struct sl_daemon *d, const char *id)
{
    for (size_t i = 0; i < d->ndirty; i++)
        if (strcmp(d->dirty[i], id) == 0)
            return;
    if (d->ndirty == d->capdirty) {
        size_t cap = d->capdirty ? d->capdirty * 2 : 16;
        void *p = realloc(d->dirty, cap * sizeof *d->dirty);
        if (!p)
            return; /* the periodic checkpoint saves every object anyway */
        d->dirty = p;
        d->capdirty = cap;
    }
    snprintf(d->dirty[d->ndirty++], sizeof d->dirty[0], "%s", id);
}

static void sl_daemon_sink(void *ud, const struct sl_event *e)
{
    struct sl_daemon *d = ud;
    if (d->loading) { /* restoring what the store already holds, except: */
        if (e->kind == SL_EVENT_LIFECYCLE && strcmp(e->action, "evict") == 0)
            sl_daemon_mark(d, e->subject); /* beyond the history: goes from the store too */
        return;
    }
    sl_prom_count_event(&d->prom, e);
    if (e->kind == SL_EVENT_MODEL)
        d->models_dirty = true;
    else if (e->kind != SL_EVENT_POLICY && e->kind != SL_EVENT_ERROR)
        sl_daemon_mark(d, e->subject);
    if (!d->have_store)
        return;
    if (d->npending == d->cappending) {
        size_t cap = d->cappending ? d->cappending * 2 : 64;
        void *p = realloc(d->pending, cap * sizeof *d->pending);
        if (!p)
            return;
        d->pending = p;
        d->cappending = cap;
    }
    struct sl_event *c = &d->pending[d->npending++];
    *c = *e;
    c->detail = e->detail ? strdup(e->detail) : NULL;
}

/* ---- persistence ----------------------------------------------------------------------- */

static int sl_daemon_save_state(void *ud, const char *id, const char *policy, const char *json)
{
    struct sl_daemon *d = ud;
    return sl_store_save_policy_state(&d->store, id, policy, json, NULL);
}

static int sl_daemon_save_dirty(struct sl_daemon *d, struct sl_err *err)
{
    if (d->models_dirty && sl_store_save_models(&d->store, d->eng, err))
        return -1;
    for (size_t i = 0; i < d->ndirty; i++) {
        struct sl_test_info t;
        struct sl_canary_info k;
        const char *id = d->dirty[i];
        int rc = sl_engine_test(d->eng, id, &t, NULL) == 0
                     ? sl_store_save_test(&d->store, d->eng, id, err)
                 : sl_engine_canary(d->eng, id, &k, NULL) == 0
                     ? sl_store_save_canary(&d->store, d->eng, id, err)
                     : sl_store_delete_object(&d->store, id, err);
        if (rc)
            return -1;
    }
    for (size_t i = 0; i < d->npending; i++)
        if (sl_store_append_event(&d->store, &d->pending[i], err))
            return -1;
    if (d->host && sl_host_dirty_states(d->host, sl_daemon_save_state, d))
        return sl_err_set(err, SL_EINTERNAL, "saving a policy state failed");
    return 0;
}

static void sl_daemon_clear(struct sl_daemon *d)
{
    for (size_t i = 0; i < d->npending; i++)
        free(d->pending[i].detail);
    d->npending = 0;
    d->ndirty = 0;
    d->models_dirty = false;
}

int sl_daemon_flush(struct sl_daemon *d, struct sl_err *err)
{
    /* A policy may change its ctx.state in a tick that emits no event. */
    bool states = d->host && sl_host_states_dirty(d->host);
    if (!d->have_store || (!d->npending && !d->ndirty && !d->models_dirty && !states)) {
        sl_daemon_clear(d);
        return 0;
    }
    if (sl_store_begin(&d->store, err))
        return -1;
    if (sl_daemon_save_dirty(d, err) || sl_store_commit(&d->store, err)) {
        sl_store_rollback(&d->store, NULL);
        sl_daemon_log(d, 0, "store: %s", err->msg);
        return -1;
    }
    sl_daemon_clear(d);
    return 0;
}

/* ---- timers and signals ------------------------------------------------------------------- */

static void sl_daemon_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sl_daemon *d = sl_container_of(w, struct sl_daemon, tick_w);
    struct sl_err err;
    if (sl_engine_tick(d->eng, &err))
        sl_daemon_log(d, 0, "tick: %s", err.msg);
    if (sl_daemon_flush(d, &err))
        sl_daemon_log(d, 0, "tick: not persisted: %s", err.msg);
}

/* Keep the newest events_keep stored events (and every creation). Older
 * ones are deleted SL_PRUNE_ROWS at a time: one batch at each checkpoint,
 * and while a batch comes back full (a large log, a lowered events_keep, a
 * fast log with a long checkpoint_ms) more batches whenever the loop is
 * idle, so that pruning keeps up without one long stall. */
#define SL_PRUNE_ROWS 10000

static void sl_daemon_prune_events(struct sl_daemon *d)
{
    uint64_t keep = (uint64_t)d->cfg.events_keep, last = sl_engine_last_seq(d->eng);
    bool behind = false;
    if (d->have_store && keep > 0 && last > keep && last - keep > d->events_pruned) {
        struct sl_err err;
        size_t deleted;
        if (sl_store_prune_events(&d->store, d->events_pruned, last - keep, SL_PRUNE_ROWS, &deleted,
                                  &err))
            sl_daemon_log(d, 0, "events: not pruned: %s", err.msg);
        else if (deleted < SL_PRUNE_ROWS)
            d->events_pruned = last - keep;
        else
            behind = true;
    }
    if (behind)
        ev_idle_start(d->loop, &d->prune_w);
    else
        ev_idle_stop(d->loop, &d->prune_w);
}

static void sl_daemon_prune_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)revents;
    sl_daemon_prune_events(sl_container_of(w, struct sl_daemon, prune_w));
}

static void sl_daemon_checkpoint(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sl_daemon *d = sl_container_of(w, struct sl_daemon, checkpoint_w);
    struct sl_err err;
    if (d->have_store && sl_store_checkpoint(&d->store, d->eng, &err))
        sl_daemon_log(d, 0, "checkpoint: %s", err.msg);
    sl_daemon_prune_events(d);
}

/* SIGHUP: re-read the config file (what can change live: token, log level,
 * tick and checkpoint intervals, events_keep; listen, data_dir and policy_dirs need a
 * restart and are reported) and rescan the policy directories. */
static void sl_daemon_reconfigure(struct sl_daemon *d)
{
    struct sl_config c;
    struct sl_err err;
    int exit_now;
    /* As at start: defaults, then the file, then the command line's flags. */
    sl_config_default(&c, d->cfg.npolicy_dirs ? d->cfg.policy_dirs[0] : NULL);
    if (d->cfg.config_file[0] && sl_config_parse_args(&c, d->argc, d->argv, &exit_now, &err) == 0 &&
        sl_config_check(&c, &err) == 0) {
        if (strcmp(c.listen, d->cfg.listen) || strcmp(c.data_dir, d->cfg.data_dir))
            sl_daemon_log(d, 1, "SIGHUP: listen and data_dir changes need a restart");
        memcpy(d->cfg.token, c.token, sizeof c.token);
        d->cfg.log_level = c.log_level;
        d->cfg.tick_ms = c.tick_ms;
        d->cfg.checkpoint_ms = c.checkpoint_ms;
        d->cfg.events_keep = c.events_keep;
        d->tick_w.repeat = c.tick_ms / 1000.0;
        d->checkpoint_w.repeat = c.checkpoint_ms / 1000.0;
        ev_timer_again(d->loop, &d->tick_w);
        ev_timer_again(d->loop, &d->checkpoint_w);
        sl_daemon_log(d, 2, "SIGHUP: %s reloaded", d->cfg.config_file);
    } else if (d->cfg.config_file[0]) {
        sl_daemon_log(d, 0, "SIGHUP: config not reloaded, keeping the old one: %s", err.msg);
    }
    int n = d->host ? sl_reload_rescan(&d->reload) : 0;
    sl_daemon_log(d, 2, "SIGHUP: policies rescanned, %d changed", n);
}

static void sl_daemon_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct sl_daemon *d = w->data;
    if (w == &d->sighup_w) {
        sl_daemon_reconfigure(d);
        return;
    }
    sl_daemon_log(d, 2, "signal %d: flushing and stopping", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

static void sl_daemon_signals(struct sl_daemon *d)
{
    ev_signal *ws[] = {&d->sigterm_w, &d->sigint_w, &d->sighup_w};
    int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        ev_signal_init(ws[i], sl_daemon_signal, sigs[i]);
        ws[i]->data = d;
        ev_signal_start(d->loop, ws[i]);
    }
    signal(SIGPIPE, SIG_IGN);
}

/* ---- start-up ----------------------------------------------------------------------------- */

static int sl_daemon_dirs(struct sl_daemon *d, struct sl_err *err)
{
    if (mkdir(d->cfg.data_dir, 0700) != 0 && errno != EEXIST)
        return sl_err_set(err, SL_EINVAL, "data_dir: cannot create %s: %s", d->cfg.data_dir,
                          strerror(errno));
    (void)chmod(d->cfg.data_dir, 0700);
    return 0;
}

/* Policy states come out of the store before the host exists (the host's
 * own start-up events must follow the restored log), so they wait here. */
struct sl_saved_state {
    char *id, *policy, *json;
};

struct sl_saved_states {
    struct sl_saved_state *v;
    size_t n, cap;
};

static int sl_daemon_restore_state(void *ud, const char *id, const char *policy, const char *json,
                                   struct sl_err *err)
{
    struct sl_saved_states *s = ud;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        void *v = realloc(s->v, cap * sizeof *s->v);
        if (!v)
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    struct sl_saved_state *e = &s->v[s->n];
    e->id = strdup(id);
    e->policy = strdup(policy);
    e->json = json ? strdup(json) : NULL;
    if (!e->id || !e->policy || (json && !e->json)) {
        free(e->id);
        free(e->policy);
        free(e->json);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    s->n++;
    return 0;
}

static void sl_daemon_apply_states(struct sl_daemon *d, struct sl_saved_states *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct sl_err err;
        if (d->host && sl_host_set_state(d->host, s->v[i].id, s->v[i].policy, s->v[i].json, &err))
            sl_daemon_log(d, 1, "policy state %s/%s not restored: %s", s->v[i].id, s->v[i].policy,
                          err.msg);
        free(s->v[i].id);
        free(s->v[i].policy);
        free(s->v[i].json);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int sl_daemon_open_store(struct sl_daemon *d, struct sl_saved_states *states,
                                struct sl_err *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s/sluice.db", d->cfg.data_dir);
    if (sl_store_sqlite_open(&d->store, path, err))
        return -1;
    d->have_store = true;
    struct sl_store_report rep;
    d->loading = true;
    int rc = sl_store_load(&d->store, d->eng, sl_daemon_restore_state, states, &rep, err);
    d->loading = false;
    if (rc)
        return -1;
    char line[512];
    sl_store_report_line(&rep, line, sizeof line);
    sl_daemon_log(d, 2, "recovered from %s: %s", path, line);
    for (size_t i = 0; i < rep.nfailures && i < SL_STORE_MAX_FAILURES; i++)
        sl_daemon_log(d, 1, "could not restore %s (%s): %s", rep.failures[i].id,
                      rep.failures[i].what, rep.failures[i].msg);
    return 0;
}

static int sl_daemon_engine(struct sl_daemon *d, struct sl_err *err)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = sl_daemon_clock;
    o.clock_ud = d;
    o.max_tests = (int)d->cfg.max_tests;
    o.sink = sl_daemon_sink;
    o.sink_ud = d;
    d->wall0 = sl_clock_wall(NULL);
    d->virt0 = d->wall0;
    d->eng = sl_engine_new(&o, err);
    return d->eng ? 0 : -1;
}

static int sl_daemon_host(struct sl_daemon *d, struct sl_err *err)
{
    struct sl_host_opts ho;
    sl_host_opts_default(&ho);
    const char *dirs[SL_CONFIG_MAX_DIRS];
    for (size_t i = 0; i < d->cfg.npolicy_dirs; i++)
        dirs[i] = d->cfg.policy_dirs[i];
    ho.dirs = dirs;
    ho.ndirs = d->cfg.npolicy_dirs;
    if (ho.ndirs && !(d->host = sl_host_new(d->eng, &ho, err)))
        return -1;
    return 0;
}

static int sl_daemon_serve(struct sl_daemon *d, struct sl_err *err)
{
    struct sl_http_opts ho;
    sl_http_opts_default(&ho);
    ho.listen = d->cfg.listen;
    ho.max_body_bytes = d->cfg.max_body_bytes;
    ho.max_header_bytes = d->cfg.max_header_bytes;
    ho.idle_timeout_ms = (unsigned)d->cfg.idle_timeout_ms;
    ho.routes = sl_api_routes;
    ho.nroutes = sl_api_nroutes;
    ho.ud = d;
    if (sl_http_server_start(&d->http, d->loop, &ho, err))
        return -1;
    if (d->host && sl_reload_start(&d->reload, d->loop, d->host, NULL, err))
        return -1;
    char sock[600];
    snprintf(sock, sizeof sock, "%s/sluiced.sock", d->cfg.data_dir);
    struct sl_err aerr;
    if (sl_admin_start(&d->admin, d->loop, d, sock, &aerr)) {
        if (aerr.code == SL_ESTATE) {
            *err = aerr;
            return -1;
        }
        sl_daemon_log(d, 1, "no REPL: %s", aerr.msg); /* HTTP does not depend on it */
    }
    ev_timer_init(&d->tick_w, sl_daemon_tick, d->cfg.tick_ms / 1000.0, d->cfg.tick_ms / 1000.0);
    ev_timer_start(d->loop, &d->tick_w);
    double cp = d->cfg.checkpoint_ms / 1000.0;
    ev_timer_init(&d->checkpoint_w, sl_daemon_checkpoint, cp, cp);
    ev_timer_start(d->loop, &d->checkpoint_w);
    ev_idle_init(&d->prune_w, sl_daemon_prune_idle);
    sl_daemon_signals(d);
    return 0;
}

int sl_daemon_start(struct sl_daemon *d, const struct sl_config *cfg, int argc, char **argv,
                    struct sl_err *err)
{
    memset(d, 0, sizeof *d);
    d->admin.fd = -1; /* nothing to close if start-up fails before the REPL */
    d->cfg = *cfg;
    d->argc = argc;
    d->argv = argv;
    if (sl_config_check(&d->cfg, err) || sl_daemon_dirs(d, err))
        return -1;
    if (!(d->loop = ev_default_loop(EVFLAG_AUTO)))
        return sl_err_set(err, SL_EINTERNAL, "libev: no event loop");
    d->started = ev_now(d->loop);
    struct sl_saved_states states = {0};
    int rc =
        sl_daemon_engine(d, err) || sl_daemon_open_store(d, &states, err) || sl_daemon_host(d, err);
    sl_daemon_apply_states(d, &states);
    if (rc || sl_daemon_serve(d, err) || sl_daemon_flush(d, err)) /* policy loading's events */
        return -1;
    sl_daemon_log(d, 2, "sluiced %s listening on http://%s (port %d), data in %s, %zu policy dirs",
                  SLUICE_VERSION, d->cfg.listen, sl_http_server_port(&d->http), d->cfg.data_dir,
                  d->cfg.npolicy_dirs);
    return 0;
}

int sl_daemon_run(struct sl_daemon *d)
{
    ev_run(d->loop, 0);
    return d->exit_code;
}

void sl_daemon_stop(struct sl_daemon *d)
{
    struct sl_err err;
    if (d->eng && sl_daemon_flush(d, &err))
        sl_daemon_log(d, 0, "shutdown: flush failed: %s", err.msg);
    if (d->have_store && d->eng && sl_store_checkpoint(&d->store, d->eng, &err))
        sl_daemon_log(d, 0, "shutdown: checkpoint failed: %s", err.msg);
    if (d->loop) {
        sl_http_server_stop(&d->http);
        sl_admin_stop(&d->admin);
        if (d->host)
            sl_reload_stop(&d->reload);
        ev_timer_stop(d->loop, &d->tick_w);
        ev_timer_stop(d->loop, &d->checkpoint_w);
        ev_idle_stop(d->loop, &d->prune_w);
    }
    if (d->have_store)
        sl_store_close(&d->store);
    sl_host_delete(d->host);
    sl_engine_delete(d->eng);
    sl_daemon_clear(d);
    free(d->pending);
    free(d->dirty);
    sl_daemon_log(d, 2, "stopped");
}
