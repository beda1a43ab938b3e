/* fuzz_common.c - see fuzz_common.h. */
#include "fuzz_common.h"

#include "codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FZ_IDLE_TURNS 3 /* loop turns without progress before our side is shut */

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void fz_write_seed(const char *dir, const char *name, int first, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    unsigned char b = (unsigned char)first;
    if (!f || fwrite(&b, 1, 1, f) != 1 || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        fz_fail("cannot write %s", path);
}

double fz_clock(void *ud)
{
    return ((const struct sl_daemon *)ud)->virt0;
}

void fz_daemon_open(struct sl_daemon *d, const char *policy_dir)
{
    struct sl_err err;
    memset(d, 0, sizeof *d);
    sl_config_default(&d->cfg, FZ_POLICIES);
    d->cfg.log_level = -1; /* quiet */
    d->admin.fd = -1;
    d->loop = ev_default_loop(EVFLAG_AUTO);
    if (!d->loop)
        fz_fail("no libev loop");
    d->started = ev_now(d->loop);
    d->virt0 = FZ_T0;
    struct sl_engine_opts eo;
    sl_engine_opts_default(&eo);
    eo.clock = fz_clock;
    eo.clock_ud = d;
    if (!(d->eng = sl_engine_new(&eo, &err)))
        fz_fail("engine: %s", err.msg);
    if (policy_dir) {
        const char *dirs[] = {policy_dir};
        struct sl_host_opts ho;
        sl_host_opts_default(&ho);
        ho.dirs = dirs;
        ho.ndirs = 1;
        if (!(d->host = sl_host_new(d->eng, &ho, &err)))
            fz_fail("host: %s", err.msg);
    }
    struct sl_http_opts o;
    sl_http_opts_default(&o);
    o.max_body_bytes = d->cfg.max_body_bytes;
    o.max_header_bytes = d->cfg.max_header_bytes;
    o.routes = sl_api_routes;
    o.nroutes = sl_api_nroutes;
    o.ud = d;
    if (sl_http_server_init(&d->http, d->loop, &o, &err))
        fz_fail("http: %s", err.msg);
    sl_admin_init(&d->admin, d->loop, d);
}

void fz_add_versions(struct sl_engine *eng, const char *model, const char *v1, const char *v2)
{
    const char *vs[] = {v1, v2};
    for (size_t i = 0; i < 2; i++) {
        struct sl_version_config cfg = {.model = model, .version = vs[i]};
        struct sl_err err;
        if (sl_engine_add_version(eng, &cfg, &err))
            fz_fail("setup: %s", err.msg);
    }
}

void fz_start_test(struct sl_engine *eng, const char *json, char *id)
{
    struct sl_codec_test t;
    struct sl_err err;
    if (sl_codec_test_decode(&t, json, strlen(json), &err) ||
        sl_engine_create_test(eng, &t.cfg, id, &err) ||
        sl_engine_act(eng, id, SL_VERB_START, "fuzz", NULL, &err))
        fz_fail("setup: %s", err.msg);
    sl_codec_test_destroy(&t);
}

void fz_daemon_close(struct sl_daemon *d)
{
    sl_http_server_stop(&d->http);
    sl_admin_stop(&d->admin);
    sl_host_delete(d->host);
    sl_engine_delete(d->eng);
    free(d->pending);
    free(d->dirty);
    memset(d, 0, sizeof *d);
}

struct fz_buf {
    char *p;
    size_t len, cap;
};

static void fz_put(struct fz_buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        if (!(b->p = realloc(b->p, b->cap)))
            fz_fail("out of memory");
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Read what the server sent: false once it closed. */
static bool fz_drain(int fd, struct fz_buf *out, bool *progress)
{
    char tmp[65536];
    for (;;) {
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r > 0) {
            fz_put(out, tmp, (size_t)r);
            *progress = true;
        } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            return true;
        } else {
            return false; /* closed (or reset) */
        }
    }
}

char *fz_converse(struct sl_daemon *d, bool admin, const uint8_t *data, size_t n, size_t piece,
                  size_t *outlen)
{
    int sv[2];
    struct sl_err err;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        fz_fail("socketpair: %s", strerror(errno));
    if (admin)
        (void)sl_admin_adopt(&d->admin, sv[1], true, (unsigned)getuid());
    else
        (void)sl_http_server_adopt(&d->http, sv[1]);
    struct fz_buf out = {0};
    fz_put(&out, "", 0);
    size_t off = 0;
    int idle = 0;
    bool shut = false, open = true;
    while (open) {
        bool progress = false;
        if (off < n) {
            size_t k = piece && piece < n - off ? piece : n - off;
            ssize_t w = send(sv[0], data + off, k, MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w, progress = true;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                off = n; /* the server closed: the rest is not wanted */
        }
        ev_run(d->loop, EVRUN_NOWAIT);
        open = fz_drain(sv[0], &out, &progress);
        if (progress) /* as the daemon's tick timer would: starting objects start */
            (void)sl_engine_tick(d->eng, &err);
        idle = progress ? 0 : idle + 1;
        if (open && !shut && off == n && idle >= FZ_IDLE_TURNS) {
            shutdown(sv[0], SHUT_WR);
            shut = true;
        }
    }
    close(sv[0]);
    /* The server may still hold its end (a lingering HTTP connection): run
     * the loop until the connection is gone, so the next input starts clean. */
    while (admin ? d->admin.conns != NULL : d->http.nconns > 0)
        ev_run(d->loop, EVRUN_NOWAIT);
    *outlen = out.len;
    return out.p;
}
