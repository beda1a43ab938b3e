#include "reload.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct sl_reload_file {
    ev_stat w;
    char path[1024];
    bool seen; /* still present at the last sync */
    struct sl_reload *owner;
    struct sl_reload_file *next;
};

void sl_reload_opts_default(struct sl_reload_opts *o)
{
    o->debounce = 0.2;
    o->interval = 1.0;
    o->rescan = 2.0;
}

/* Any change: (re)start the debounce timer; the rescan runs once it is quiet. */
static void sl_reload_changed(struct ev_loop *loop, ev_stat *w, int revents)
{
    (void)revents;
    struct sl_reload_file *f = sl_container_of(w, struct sl_reload_file, w);
    ev_timer_again(loop, &f->owner->debounce);
}

static struct sl_reload_file *sl_reload_find(struct sl_reload *r, const char *path)
{
    for (struct sl_reload_file *f = r->files; f; f = f->next)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}

static void sl_reload_watch(struct sl_reload *r, const char *path)
{
    struct sl_reload_file *f = sl_reload_find(r, path);
    if (f) {
        f->seen = true;
        return;
    }
    if (!(f = calloc(1, sizeof *f)))
        return; /* the periodic rescan still covers this path */
    snprintf(f->path, sizeof f->path, "%s", path);
    f->owner = r;
    f->seen = true;
    ev_stat_init(&f->w, sl_reload_changed, f->path, r->opts.interval);
    ev_stat_start(r->loop, &f->w);
    f->next = r->files;
    r->files = f;
}

/* Watch dir, its subdirectories and every *.lua file one level down: the
 * directory catches creations, deletions and renames (and ConfigMap-style
 * symlink swaps), the files catch in-place edits. */
static void sl_reload_watch_dir(struct sl_reload *r, const char *dir, int depth)
{
    sl_reload_watch(r, dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && strcmp(e->d_name, "..data") != 0)
            continue;
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(st.st_mode) && depth == 0)
            sl_reload_watch_dir(r, path, 1);
        else if (S_ISREG(st.st_mode) && n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0)
            sl_reload_watch(r, path);
    }
    closedir(d);
}

/* Bring the watchers in line with what is on disk now. */
static void sl_reload_sync(struct sl_reload *r)
{
    for (struct sl_reload_file *f = r->files; f; f = f->next)
        f->seen = false;
    struct sl_policyset *set = sl_host_policies(r->host);
    for (size_t i = 0; i < sl_policyset_ndirs(set); i++)
        sl_reload_watch_dir(r, sl_policyset_dir(set, i), 0);
    for (struct sl_reload_file **pp = &r->files; *pp;) {
        struct sl_reload_file *f = *pp;
        if (f->seen) {
            pp = &f->next;
            continue;
        }
        ev_stat_stop(r->loop, &f->w);
        *pp = f->next;
        free(f);
    }
}

int sl_reload_rescan(struct sl_reload *r)
{
    int changes = sl_host_reload(r->host);
    sl_reload_sync(r);
    r->rescans++;
    r->last_changes = changes;
    if (r->on_rescan)
        r->on_rescan(r->ud, changes);
    return changes;
}

static void sl_reload_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sl_reload *r = w->data;
    if (w == &r->debounce)
        ev_timer_stop(r->loop, &r->debounce);
    (void)sl_reload_rescan(r);
}

int sl_reload_start(struct sl_reload *r, struct ev_loop *loop, struct sl_host *host,
                    const struct sl_reload_opts *o, struct sl_err *err)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->host = host;
    if (o)
        r->opts = *o;
    else
        sl_reload_opts_default(&r->opts);
    if (!(r->opts.debounce > 0) || r->opts.interval < 0 || r->opts.rescan < 0)
        return sl_err_set(err, SL_EINVAL, "reload: debounce must be > 0, intervals >= 0");
    ev_init(&r->debounce, sl_reload_timer);
    r->debounce.repeat = r->opts.debounce;
    r->debounce.data = r;
    ev_init(&r->periodic, sl_reload_timer);
    r->periodic.data = r;
    if (r->opts.rescan > 0) {
        ev_timer_set(&r->periodic, r->opts.rescan, r->opts.rescan);
        ev_timer_start(loop, &r->periodic);
    }
    sl_reload_sync(r);
    return 0;
}

void sl_reload_stop(struct sl_reload *r)
{
    ev_timer_stop(r->loop, &r->debounce);
    ev_timer_stop(r->loop, &r->periodic);
    while (r->files) {
        struct sl_reload_file *f = r->files;
        r->files = f->next;
        ev_stat_stop(r->loop, &f->w);
        free(f);
    }
}
