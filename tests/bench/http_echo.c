/* http_echo.c - the HTTP layer alone, for wrk: one route, GET /ping ->
 * {"ok":true}, on 127.0.0.1:PORT (argv[1], default 7071), one loop, one
 * thread. Not a test; SIGINT/SIGTERM stop it. Build by hand:
 *
 *   gcc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Isrc -Isrc/core -Isrc/server \
 *       tests/bench/http_echo.c src/server/http.c src/core/err.c \
 *       -lev -lhttp_parser -o /tmp/http_echo
 *   /tmp/http_echo 7071 & wrk -t2 -c64 -d10s --latency http://127.0.0.1:7071/ping */
#include <stdio.h>
#include <stdlib.h>

#include "http.h"

static int ping(void *ud, const struct sl_http_request *req, struct sl_http_response *res)
{
    (void)ud;
    (void)req;
    return sl_http_respond_json(res, 200, "{\"ok\":true}");
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
    static const struct sl_http_route routes[] = {{"GET", "/ping", ping}};
    struct ev_loop *loop = ev_default_loop(0);
    struct sl_http_server srv;
    struct sl_http_opts o;
    struct sl_err err = {0};
    char addr[64];
    ev_signal sigint, sigterm;
    snprintf(addr, sizeof addr, "127.0.0.1:%s", argc > 1 ? argv[1] : "7071");
    sl_http_opts_default(&o);
    o.listen = addr;
    o.routes = routes;
    o.nroutes = 1;
    if (sl_http_server_start(&srv, loop, &o, &err) < 0) {
        fprintf(stderr, "http_echo: %s\n", err.msg);
        return 1;
    }
    ev_signal_init(&sigint, on_signal, SIGINT);
    ev_signal_init(&sigterm, on_signal, SIGTERM);
    ev_signal_start(loop, &sigint);
    ev_signal_start(loop, &sigterm);
    fprintf(stderr, "http_echo: listening on %s\n", addr);
    ev_run(loop, 0);
    sl_http_server_stop(&srv);
    fprintf(stderr, "http_echo: %lu requests on %lu connections\n", srv.stats.requests,
            srv.stats.accepted);
    return 0;
}
