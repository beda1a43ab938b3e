/* daemon.h - sluiced: the engine, the policy host, the store, the HTTP API,
 * hot reload, ticks, checkpoints and signals on one libev loop.
 *
 * Provides struct sl_daemon and its lifecycle (start, run, stop) plus what
 * the API handlers (api.c) share with it: flushing pending events and dirty
 * objects to the store before a mutating request is acknowledged. Uses every
 * layer below: core (sluice.h), store (store.h), Lua (host.h) and the server
 * pieces (http.h, reload.h, prom.h). */
#ifndef SL_DAEMON_H
#define SL_DAEMON_H

#include "admin.h"
#include "config.h"
#include "host.h"
#include "http.h"
#include "loop.h"
#include "prom.h"
#include "reload.h"
#include "store.h"

struct sl_daemon {
    struct sl_config cfg;
    struct ev_loop *loop;
    struct sl_engine *eng;
    struct sl_host *host;
    struct sl_store store;
    bool have_store;
    struct sl_http_server http;
    struct sl_reload reload;
    struct sl_admin admin; /* <data_dir>/sluiced.sock: the REPL */
    ev_timer tick_w, checkpoint_w;
    ev_idle prune_w; /* goes on pruning the event log while it is behind */
    ev_signal sigterm_w, sigint_w, sighup_w;
    struct sl_prom_counters prom;
    double started;           /* wall clock at start */
    double wall0, virt0;      /* the engine clock: virt0 + (wall - wall0) * speed */
    struct sl_event *pending; /* events not yet in the store (detail owned) */
    size_t npending, cappending;
    char (*dirty)[SL_ID_MAX + 1]; /* test/canary ids to save */
    size_t ndirty, capdirty;
    bool models_dirty;
    uint64_t events_pruned; /* stored events up to this seq are pruned (events_keep) */
    bool loading;           /* restoring from the store: its events are already stored */
    int argc;
    char **argv;
    int exit_code;
};

/* Start everything (store recovery included); logs what was recovered.
 * argv (borrowed for the daemon's life) is re-applied over the config file
 * on SIGHUP, so flags keep winning over the file as they did at start. */
int sl_daemon_start(struct sl_daemon *d, const struct sl_config *cfg, int argc, char **argv,
                    struct sl_err *err);
/* Run the loop until a signal stops it; returns the exit code. */
int sl_daemon_run(struct sl_daemon *d);
/* Flush, checkpoint, close. */
void sl_daemon_stop(struct sl_daemon *d);

/* Persist pending events and dirty objects in one transaction. */
int sl_daemon_flush(struct sl_daemon *d, struct sl_err *err);
void sl_daemon_log(const struct sl_daemon *d, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* api.c: the route table. */
extern const struct sl_http_route sl_api_routes[];
extern const size_t sl_api_nroutes;

#endif
