/* reload.h - hot reload of policy directories on a libev loop.
 *
 * Provides struct sl_reload: ev_stat watchers on every policy directory, its
 * subdirectories and every policy file (libev uses inotify where it can and
 * polls at `interval` elsewhere: NFS, overlayfs), a debounce timer that
 * coalesces bursts of changes into one rescan, and a periodic rescan that
 * catches what stat cannot see (two same-size writes within one second). A
 * rescan goes through sl_host_reload: unchanged files are skipped by content
 * hash, changed ones are compiled in a fresh sandbox, self-tested and
 * swapped, broken ones keep their last good version. Uses loop.h and host.h;
 * knows nothing of HTTP. */
#ifndef SL_RELOAD_H
#define SL_RELOAD_H

#include <stdbool.h>

#include "host.h"
#include "loop.h"

struct sl_reload_opts {
    double debounce; /* seconds after the last change before rescanning; default 0.2 */
    double interval; /* stat polling interval where inotify is unavailable; default 1.0 */
    double rescan;   /* periodic full rescan, 0 = off; default 2.0 */
};

void sl_reload_opts_default(struct sl_reload_opts *o);

struct sl_reload_file; /* one watched path */

struct sl_reload {
    struct ev_loop *loop;
    struct sl_host *host;
    struct sl_reload_opts opts;
    ev_timer debounce;
    ev_timer periodic;
    struct sl_reload_file *files;             /* watched paths: dirs and policy files */
    unsigned long rescans;                    /* how many rescans ran */
    int last_changes;                         /* changes found by the last rescan */
    void (*on_rescan)(void *ud, int changes); /* optional, for tests and logs */
    void *ud;
};

/* Start watching every directory of the host's policy set. loop and host are
 * borrowed and must outlive r. */
int sl_reload_start(struct sl_reload *r, struct ev_loop *loop, struct sl_host *host,
                    const struct sl_reload_opts *o, struct sl_err *err);
/* Stop and free every watcher. */
void sl_reload_stop(struct sl_reload *r);
/* Rescan now (also what the timers call). Returns the number of changes. */
int sl_reload_rescan(struct sl_reload *r);

#endif
