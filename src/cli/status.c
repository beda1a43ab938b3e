/* status.c - `sluice status [ID] [--json] [--watch N] [--url URL]`.
 *
 * Asks a running sluiced (HTTP API, loopback by default) for its tests and
 * canaries and prints one line each: status, allocation (with a sparkline of
 * its history on a terminal), requests, error rate, p99, always-valid p,
 * recommendation and the last decision's reason. --json prints the daemon's
 * snapshots as one JSON document. Uses POSIX sockets and cJSON. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct sl_url {
    char host[256];
    char port[16];
};

/* [http://]HOST[:PORT][/...], HOST a name, an IPv4 address or [IPv6],
 * PORT 1..65535 (default 7070); -1 otherwise. */
static int sl_url_parse(const char *url, struct sl_url *u)
{
    if (strstr(url, "://") && strncmp(url, "http://", 7) != 0)
        return -1; /* https and the rest: sluiced speaks plain HTTP on loopback */
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : url;
    size_t end = strcspn(p, "/");
    const char *close = *p == '[' ? memchr(p, ']', end) : NULL;
    if (*p == '[' && !close)
        return -1;
    const char *h = close ? p + 1 : p, *after = close ? close + 1 : p;
    const char *colon = memchr(after, ':', end - (size_t)(after - p));
    if (close && *after && after != colon && after != p + end)
        return -1; /* "[::1]x" */
    size_t hl = close ? (size_t)(close - h) : colon ? (size_t)(colon - p) : end;
    if (hl == 0 || hl >= sizeof u->host)
        return -1;
    snprintf(u->host, sizeof u->host, "%.*s", (int)hl, h);
    if (!colon) {
        snprintf(u->port, sizeof u->port, "7070");
        return 0;
    }
    size_t pl = end - (size_t)(colon - p) - 1;
    long port = 0;
    for (size_t i = 0; i < pl; i++) {
        if (colon[1 + i] < '0' || colon[1 + i] > '9' ||
            (port = port * 10 + colon[1 + i] - '0') > 65535)
            return -1;
    }
    if (pl == 0 || port < 1)
        return -1;
    snprintf(u->port, sizeof u->port, "%ld", port);
    return 0;
}

/* GET path; returns the malloc'd body of a 200 answer, or NULL with a message. */
static char *sl_http_get(const struct sl_url *u, const char *path)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    char *body = NULL;
    int fd = -1;
    int gai = getaddrinfo(u->host, u->port, &hints, &ai);
    if (gai != 0 || (fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0 ||
        connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        bool v6 = strchr(u->host, ':') != NULL;
        fprintf(stderr, "sluice: cannot reach sluiced at %s%s%s:%s (%s)\n", v6 ? "[" : "", u->host,
                v6 ? "]" : "", u->port, gai ? gai_strerror(gai) : strerror(errno));
        goto done;
    }
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     path, u->host);
    if (send(fd, req, (size_t)n, 0) != n)
        goto done;
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    ssize_t got;
    while (buf && (got = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
        len += (size_t)got;
        if (len + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    if (buf) {
        buf[len] = '\0';
        char *sep = strstr(buf, "\r\n\r\n");
        if (sep && strncmp(buf, "HTTP/1.1 200", 12) == 0)
            body = strdup(sep + 4);
        else
            fprintf(stderr, "sluice: %s answered: %.80s\n", path, sep ? sep + 4 : buf);
        free(buf);
    }
done:
    if (fd >= 0)
        close(fd);
    if (ai)
        freeaddrinfo(ai);
    return body;
}

static double sl_num_at(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *v = o;
    for (char *k = strtok(buf, "."); k && v; k = strtok(NULL, "."))
        v = cJSON_GetObjectItemCaseSensitive(v, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *sl_str_at(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* ▁▂▃▄▅▆▇█ of the allocation history, last 16 points. */
static void sl_sparkline(const cJSON *hist, char *out, size_t size)
{
    static const char *const bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    int n = cJSON_GetArraySize(hist), from = n > 16 ? n - 16 : 0;
    size_t o = 0;
    out[0] = '\0';
    for (int i = from; i < n && o + 4 < size; i++) {
        double pct = sl_num_at(cJSON_GetArrayItem(hist, i), "treatment");
        int b = pct < 0 ? 0 : (int)(pct / 100.0 * 7.999);
        o += (size_t)snprintf(out + o, size - o, "%s", bars[b < 0 ? 0 : b > 7 ? 7 : b]);
    }
}

static void sl_status_line(const cJSON *s, bool tty)
{
    bool canary = strcmp(sl_str_at(s, "kind"), "canary") == 0;
    const char *arm = canary ? "metrics.canary" : "metrics.treatment";
    char path[64], spark[128], seqs[16] = "-";
    double share = canary ? sl_num_at(s, "traffic") : sl_num_at(s, "allocation.treatment");
    snprintf(path, sizeof path, "%s.requests", arm);
    double req = sl_num_at(s, path);
    snprintf(path, sizeof path, "%s.error_rate", arm);
    double err = sl_num_at(s, path);
    snprintf(path, sizeof path, "%s.latency.p99", arm);
    double p99 = sl_num_at(s, path);
    double seq = sl_num_at(s, "stats.error_rate.sequential.p");
    if (seq >= 0)
        snprintf(seqs, sizeof seqs, seq < 1e-4 ? "<1e-4" : "%.4f", seq);
    sl_sparkline(cJSON_GetObjectItemCaseSensitive(s, "allocation_history"), spark, sizeof spark);
    printf("%-18s %-7s %-12s %5.1f%% %s %9.0f req  err %6.2f%%  p99 %7.1f ms  seq p %-6s %s\n",
           sl_str_at(s, "id"), canary ? "canary" : "test", sl_str_at(s, "status"), share,
           tty ? spark : "", req < 0 ? 0 : req, err < 0 ? 0 : 100 * err, p99 < 0 ? 0 : p99, seqs,
           sl_str_at(s, "recommendation"));
    const char *why = sl_str_at(s, "last_reason");
    if (*why)
        printf("%-18s last: %.100s\n", "", why);
}

struct sl_status_args {
    const char *id;
    bool json;
    double watch;
    struct sl_url url;
};

/* Fetch one list ("tests" or "canaries"), keeping the entries that match. */
static int sl_status_fetch(const struct sl_status_args *a, const char *path, const char *key,
                           cJSON *into)
{
    char *body = sl_http_get(&a->url, path);
    cJSON *doc = body ? cJSON_Parse(body) : NULL;
    free(body);
    if (!doc)
        return -1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, key);
    cJSON *keep = cJSON_AddArrayToObject(into, key);
    for (const cJSON *s = list ? list->child : NULL; s; s = s->next)
        if (!a->id || strcmp(sl_str_at(s, "id"), a->id) == 0)
            cJSON_AddItemToArray(keep, cJSON_Duplicate(s, true));
    cJSON_Delete(doc);
    return cJSON_GetArraySize(keep);
}

static int sl_status_once(const struct sl_status_args *a, bool tty)
{
    cJSON *all = cJSON_CreateObject();
    int nt = sl_status_fetch(a, "/v1/tests", "tests", all);
    int nc = nt < 0 ? -1 : sl_status_fetch(a, "/v1/canaries", "canaries", all);
    if (nt < 0 || nc < 0) {
        cJSON_Delete(all);
        return 1;
    }
    if (a->json) {
        char *text = cJSON_Print(all);
        puts(text ? text : "{}");
        free(text);
    } else if (nt + nc == 0) {
        printf(a->id ? "no test or canary '%s'\n" : "no active tests or canaries%s\n",
               a->id ? a->id : "");
    }
    for (const cJSON *s = a->json ? NULL : cJSON_GetObjectItem(all, "tests")->child; s; s = s->next)
        sl_status_line(s, tty);
    for (const cJSON *s = a->json ? NULL : cJSON_GetObjectItem(all, "canaries")->child; s;
         s = s->next)
        sl_status_line(s, tty);
    cJSON_Delete(all);
    return a->id && nt + nc == 0 ? 1 : 0;
}

int sl_cmd_status(int argc, char **argv)
{
    struct sl_status_args a = {0};
    const char *url = getenv("SLUICE_URL") ? getenv("SLUICE_URL") : "http://127.0.0.1:7070";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            a.json = true;
        else if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc)
            a.watch = atof(argv[++i]);
        else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (argv[i][0] != '-' && !a.id)
            a.id = argv[i];
        else {
            fprintf(stderr, "usage: sluice status [ID] [--json] [--watch SECONDS] [--url URL]\n");
            return 2;
        }
    }
    if (sl_url_parse(url, &a.url)) {
        fprintf(stderr, "sluice: bad --url '%s' (expected [http://]HOST[:PORT], PORT 1-65535)\n",
                url);
        return 2;
    }
    bool tty = isatty(STDOUT_FILENO);
    for (;;) {
        if (a.watch > 0 && tty)
            printf("\033[H\033[2J");
        int rc = sl_status_once(&a, tty);
        if (!(a.watch > 0) || rc)
            return rc;
        struct timespec ts = {(time_t)a.watch, (long)((a.watch - (double)(time_t)a.watch) * 1e9)};
        nanosleep(&ts, NULL);
    }
}
