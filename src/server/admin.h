/* admin.h - the admin Unix socket of sluiced: a sandboxed Lua REPL on the
 * live engine.
 *
 * Provides struct sl_admin: a Unix socket (mode 0600, in the 0700 data dir;
 * peers are checked with SO_PEERCRED: same uid or root only; never TCP).
 * Frames both ways are "<decimal length>\n<bytes>". A request is Lua source;
 * the reply is JSON {"ok": bool, "out": text, "incomplete": bool}, where
 * incomplete means "the chunk ends early, send more lines" (lua.c's <eof>
 * rule). Each connection gets its own sandboxed Lua state (the policy
 * sandbox, with a larger budget) whose helpers see the live engine: tests(),
 * test(id), canaries(), canary(id), models(), events(n), policies(), stats,
 * route(model, unit) (the real router; no metric is recorded) and the admin verbs
 * pause/resume/stop/promote/rollback(id, reason), logged with actor
 * "repl:<uid>" and committed before they answer. Code runs on the loop under
 * an instruction and wall-time budget, so a runaway is interrupted and HTTP
 * is served again right after; one frame runs per loop turn, and replies are
 * queued behind EV_WRITE, so neither a pipelining nor a non-reading client
 * holds the loop. Uses loop.h, sandbox.h and the daemon. */
#ifndef SL_ADMIN_H
#define SL_ADMIN_H

#include <stdbool.h>

#include "loop.h"
#include "sandbox.h"

struct sl_daemon;
struct sl_admin_conn;

struct sl_admin {
    struct ev_loop *loop;
    struct sl_daemon *daemon;
    int fd;
    char path[512];
    ev_io accept_w;
    struct sl_admin_conn *conns;
    struct sl_sandbox_limits limits;
};

/* Listen on path (an existing socket file is replaced). */
int sl_admin_start(struct sl_admin *a, struct ev_loop *loop, struct sl_daemon *d, const char *path,
                   struct sl_err *err);
/* Fill *a as sl_admin_start does, without a socket: connections then come
 * only through sl_admin_adopt (the fuzz targets use a socketpair). */
void sl_admin_init(struct sl_admin *a, struct ev_loop *loop, struct sl_daemon *d);
/* Serve fd, a connected non-blocking stream socket, as a REPL connection of
 * user uid; peer_ok false refuses it as a foreign user is refused. fd is
 * taken: closed with the connection, or at once on refusal (then -1). */
int sl_admin_adopt(struct sl_admin *a, int fd, bool peer_ok, unsigned uid);
void sl_admin_stop(struct sl_admin *a);

#endif
