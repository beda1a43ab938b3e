/* repl.c - `sluice repl [--socket PATH | --data DIR]`: a Lua REPL on a live sluiced.
 *
 * Connects to the daemon's admin socket (<data_dir>/sluiced.sock) and sends
 * each chunk as a frame ("<length>\n<bytes>"); the daemon evaluates it in a
 * sandboxed state that sees the live engine and answers
 * {"ok", "out", "incomplete"}. An incomplete chunk (lua.c's <eof> rule) is
 * continued on the next line. On a terminal: line editing, history
 * (~/.sluice_history) and tab completion through libedit, errors in colour;
 * otherwise lines are read from stdin, so transcripts can be piped in.
 *
 * --offline --data DIR inspects a stopped engine: its database is copied
 * (SQLite's backup API, DIR is only read) into a scratch directory, a
 * private sluiced is started on the copy with a frozen clock and no ticks,
 * and the REPL attaches to that. Decision: one evaluator (the daemon's
 * admin state) rather than a second in-process one, so offline and live
 * sessions offer exactly the same helpers; what a verb changes offline
 * lands in the copy and is discarded with it. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli.h"
#include "sluice.h"
#include "store.h"

static const char *const sl_repl_words[] = {
    "tests(",    "test(",  "canaries(", "canary(", "models(", "events(",
    "policies(", "route(", "pause(",    "resume(", "stop(",   "promote(",
    "rollback(", "stats.", "print(",    ".help",   ".exit",   NULL};

static char **sl_repl_ids; /* test and canary ids, for completion */
static size_t sl_repl_nids;

static const char *sl_repl_help =
    "Lua 5.4 on the live engine (sandboxed; expressions print their value).\n"
    "  tests(), test(id), canaries(), canary(id), models(), events(n), policies()\n"
    "  route(model, unit)        a dry run: nothing is recorded\n"
    "  pause/resume/stop/promote/rollback(id [, reason])   logged as repl:<uid>\n"
    "  stats.welch(...), stats.proportions(...), ...   the statistics module\n"
    "  print(...)   .help   .exit\n"
    "Example: test(\"t-1\").metrics.treatment.latency.p99\n";

static int sl_repl_connect(const char *path, bool quiet)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        if (!quiet)
            fprintf(stderr, "sluice: socket path too long (at most %zu bytes): %s\n",
                    sizeof sa.sun_path - 1, path);
        return -1;
    }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    if (!quiet)
        fprintf(stderr, "sluice: cannot connect to %s: %s%s\n", path, strerror(errno),
                errno == EACCES ? " (the admin socket is for the daemon's own user and root)" : "");
    if (fd >= 0)
        close(fd);
    return -1;
}

static int sl_repl_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0 && errno != EINTR)
            return -1;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
    return 0;
}

/* Read one reply frame; NULL when the daemon went away. */
static cJSON *sl_repl_read(int fd)
{
    char head[32];
    size_t h = 0;
    while (h + 1 < sizeof head && recv(fd, head + h, 1, 0) == 1 && head[h] != '\n')
        h++;
    head[h] = '\0';
    size_t len = strtoul(head, NULL, 10), got = 0;
    char *body = len && len < (8u << 20) ? malloc(len + 1) : NULL;
    while (body && got < len) {
        ssize_t r = recv(fd, body + got, len - got, 0);
        if (r <= 0) {
            free(body);
            return NULL;
        }
        got += (size_t)r;
    }
    if (!body)
        return NULL;
    body[len] = '\0';
    cJSON *j = cJSON_Parse(body);
    free(body);
    return j;
}

/* Send chunk; print the answer. Returns 1 if more lines are needed, -1 if
 * the connection is gone, else 0. */
static int sl_repl_eval(int fd, const char *chunk, bool tty)
{
    char head[32];
    int n = snprintf(head, sizeof head, "%zu\n", strlen(chunk));
    /* A failed write still reads: a refusing daemon says why, then closes. */
    if (sl_repl_write(fd, head, (size_t)n) == 0)
        (void)sl_repl_write(fd, chunk, strlen(chunk));
    cJSON *r = sl_repl_read(fd);
    if (!r)
        return -1;
    bool ok = cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"));
    bool more = cJSON_IsTrue(cJSON_GetObjectItem(r, "incomplete"));
    const char *out = cJSON_GetStringValue(cJSON_GetObjectItem(r, "out"));
    if (cJSON_IsTrue(cJSON_GetObjectItem(r, "fatal"))) {
        fprintf(stderr, "sluice: %s\n", out ? out : "refused");
        cJSON_Delete(r);
        return -2;
    }
    if (!more && out && *out)
        printf("%s%s%s%s", tty && !ok ? "\033[31m" : "", out, tty && !ok ? "\033[0m" : "",
               out[strlen(out) - 1] == '\n' ? "" : "\n");
    fflush(stdout);
    cJSON_Delete(r);
    return more ? 1 : 0;
}

/* ---- completion --------------------------------------------------------------------- */

static int sl_repl_words_of(int fd, const char *q, char ***list, size_t *n);

static int sl_repl_sock = -1; /* the session, for completing fields on a terminal */
static char **sl_repl_fields;
static size_t sl_repl_nfields;

/* "a.b.pa" -> the fields of a.b that start with "pa", as "a.b.<field>".
 * Only plain dotted names are evaluated on Tab: nothing that could call. */
static char *sl_repl_complete_field(const char *text, int state)
{
    static size_t i;
    const char *dot = strrchr(text, '.');
    if (!state) {
        i = 0;
        for (size_t k = 0; k < sl_repl_nfields; k++)
            free(sl_repl_fields[k]);
        sl_repl_nfields = 0;
        for (const char *p = text; p < dot; p++)
            if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.'))
                return NULL;
        if (dot == text || !(isalpha((unsigned char)text[0]) || text[0] == '_') || dot - text > 200)
            return NULL;
        char q[512];
        snprintf(q, sizeof q,
                 "(function() local t = %.*s if type(t) ~= 'table' then return '' end "
                 "local k = {} for n in pairs(t) do if type(n) == 'string' then k[#k+1] = n "
                 "end end table.sort(k) return table.concat(k, ' ') end)()",
                 (int)(dot - text), text);
        (void)sl_repl_words_of(sl_repl_sock, q, &sl_repl_fields, &sl_repl_nfields);
    }
    size_t n = strlen(dot + 1);
    for (; i < sl_repl_nfields; i++)
        if (strncmp(sl_repl_fields[i], dot + 1, n) == 0) {
            size_t len = (size_t)(dot - text) + 1 + strlen(sl_repl_fields[i]) + 1;
            char *w = malloc(len);
            if (w)
                snprintf(w, len, "%.*s.%s", (int)(dot - text), text, sl_repl_fields[i++]);
            return w;
        }
    return NULL;
}

static char *sl_repl_complete(const char *text, int state)
{
    static size_t i;
    if (strchr(text, '.') && sl_repl_sock >= 0)
        return sl_repl_complete_field(text, state);
    if (!state)
        i = 0;
    size_t n = strlen(text), nwords = sizeof sl_repl_words / sizeof sl_repl_words[0] - 1;
    for (; i < nwords + sl_repl_nids; i++) {
        const char *w = i < nwords ? sl_repl_words[i] : sl_repl_ids[i - nwords];
        if (strncmp(w, text, n) == 0) {
            i++;
            return strdup(w);
        }
    }
    return NULL;
}

/* Ask the daemon for its ids once, for completion. */
/* Returns -1 when the daemon refused the connection (it says why first). */
/* Send a chunk whose value is a space-separated word list; the words are
 * appended to *list. Returns -1 when the daemon refused the connection (it
 * says why first), else 0. */
static int sl_repl_words_of(int fd, const char *q, char ***list, size_t *n)
{
    char head[32];
    int hn = snprintf(head, sizeof head, "%zu\n", strlen(q));
    if (sl_repl_write(fd, head, (size_t)hn) == 0)
        (void)sl_repl_write(fd, q, strlen(q));
    cJSON *r = sl_repl_read(fd);
    if (r && cJSON_IsTrue(cJSON_GetObjectItem(r, "fatal"))) {
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(r, "out"));
        fprintf(stderr, "sluice: %s\n", why ? why : "refused");
        cJSON_Delete(r);
        return -1;
    }
    const char *out = r && cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"))
                          ? cJSON_GetStringValue(cJSON_GetObjectItem(r, "out"))
                          : NULL;
    char *copy = out ? strdup(out) : NULL;
    for (char *w = copy ? strtok(copy, " \"\n") : NULL; w; w = strtok(NULL, " \"\n")) {
        char **grown = realloc(*list, (*n + 1) * sizeof *grown);
        if (!grown)
            break;
        *list = grown;
        (*list)[(*n)++] = strdup(w);
    }
    free(copy);
    cJSON_Delete(r);
    return 0;
}

static int sl_repl_fetch_ids(int fd)
{
    return sl_repl_words_of(fd,
                            "(function() local t = {} for _, x in ipairs(tests()) do "
                            "t[#t+1] = x.id end for _, x in ipairs(canaries()) do "
                            "t[#t+1] = x.id end return table.concat(t, ' ') end)()",
                            &sl_repl_ids, &sl_repl_nids);
}

/* ---- the loop -------------------------------------------------------------------------- */

static char *sl_repl_line(bool tty, bool more)
{
    if (tty)
        return readline(more ? "   ...> " : "sluice> ");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    return line;
}

static int sl_repl_loop(int fd, bool tty)
{
    char *chunk = NULL;
    size_t len = 0;
    int rc = 0;
    for (char *line; (line = sl_repl_line(tty, len > 0));) {
        if (len == 0 && strcmp(line, ".exit") == 0) {
            free(line);
            break;
        }
        if (len == 0 && strcmp(line, ".help") == 0) {
            fputs(sl_repl_help, stdout);
            free(line);
            continue;
        }
        if (tty && *line)
            add_history(line);
        size_t n = strlen(line);
        char *c = realloc(chunk, len + n + 2);
        if (!c) {
            free(line);
            break;
        }
        chunk = c;
        memcpy(chunk + len, line, n);
        len += n;
        chunk[len++] = '\n';
        chunk[len] = '\0';
        free(line);
        int r = sl_repl_eval(fd, chunk, tty);
        if (r < 0) {
            if (r == -1)
                fprintf(stderr, "sluice: the daemon closed the connection\n");
            rc = 1;
            break;
        }
        if (r == 0)
            len = 0;
    }
    free(chunk);
    return rc;
}

/* ---- --offline: a private daemon on a scratch copy -------------------------------------- */

struct sl_offline {
    char dir[64];
    pid_t pid;
};

/* On SIGINT/SIGTERM/SIGHUP mid-session: stop the private daemon and remove
 * the scratch copy with async-signal-safe calls only (paths made up front). */
static char sl_offline_files[7][96];
static pid_t sl_offline_pid;

static void sl_offline_signal(int sig)
{
    if (sl_offline_pid > 0)
        kill(sl_offline_pid, SIGTERM);
    for (int i = 0; i < 6; i++)
        unlink(sl_offline_files[i]);
    rmdir(sl_offline_files[6]);
    _exit(128 + sig);
}

static void sl_offline_trap(const struct sl_offline *o)
{
    static const char *const names[] = {"sluice.db",    "sluice.db-wal", "sluice.db-shm",
                                        "sluiced.sock", "sluiced.log",   "offline.json"};
    for (int i = 0; i < 6; i++)
        snprintf(sl_offline_files[i], sizeof sl_offline_files[i], "%s/%s", o->dir, names[i]);
    snprintf(sl_offline_files[6], sizeof sl_offline_files[6], "%s", o->dir);
    sl_offline_pid = o->pid;
    struct sigaction sa = {.sa_handler = sl_offline_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void sl_offline_cleanup(struct sl_offline *o)
{
    if (o->pid > 0) {
        kill(o->pid, SIGTERM);
        waitpid(o->pid, NULL, 0);
    }
    DIR *d = opendir(o->dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char f[512];
        snprintf(f, sizeof f, "%s/%s", o->dir, e->d_name);
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(f);
    }
    if (d)
        closedir(d);
    rmdir(o->dir);
}

/* sluiced beside this binary (build tree or bin/), else on PATH. */
static void sl_offline_exec(const char *dir, const char *conf)
{
    char self[1024], daemon[1100] = "sluiced";
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(daemon, sizeof daemon, "%s/sluiced", self);
            if (access(daemon, X_OK) != 0)
                snprintf(daemon, sizeof daemon, "sluiced");
        }
    }
    /* Its own session (a terminal hangup is not its SIGHUP-reload), and it
     * dies with us. */
    setsid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1)
        _exit(0);
    char log[128];
    snprintf(log, sizeof log, "%s/sluiced.log", dir);
    if (!freopen(log, "w", stderr) || !freopen("/dev/null", "w", stdout))
        _exit(127);
    execlp(daemon, daemon, "--config", conf, "--data", dir, "--listen", "127.0.0.1:0",
           (char *)NULL);
    fprintf(stderr, "sluice: cannot run %s: %s\n", daemon, strerror(errno));
    _exit(127);
}

/* Returns a connected fd, or -1 with a message. */
static int sl_offline_start(struct sl_offline *o, const char *data)
{
    char live[1024], src[1024], dst[128], conf[128], sock[128];
    snprintf(live, sizeof live, "%s/sluiced.sock", data);
    int probe = sl_repl_connect(live, true);
    if (probe >= 0) {
        close(probe);
        fprintf(stderr,
                "sluice: a daemon is running on %s; attach to it with "
                "`sluice repl --data %s`\n",
                data, data);
        return -1;
    }
    snprintf(o->dir, sizeof o->dir, "/tmp/sluice-offline-XXXXXX");
    if (!mkdtemp(o->dir)) {
        fprintf(stderr, "sluice: cannot make a scratch directory: %s\n", strerror(errno));
        return -1;
    }
    snprintf(src, sizeof src, "%s/sluice.db", data);
    snprintf(dst, sizeof dst, "%s/sluice.db", o->dir);
    struct sl_err err = {0};
    if (sl_store_sqlite_snapshot(src, dst, &err)) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        return -1;
    }
    snprintf(conf, sizeof conf, "%s/offline.json", o->dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    /* The clock barely moves and no tick or checkpoint comes: what you see is
     * what was stored. */
    /* Its HTTP port (loopback, ephemeral) gets a random token nobody is told:
     * the copy is reachable only through the REPL. */
    unsigned char rnd[16] = {0};
    FILE *ur = fopen("/dev/urandom", "rb");
    size_t got = ur ? fread(rnd, 1, sizeof rnd, ur) : 0;
    if (ur)
        fclose(ur);
    if (got != sizeof rnd) {
        fclose(f);
        fprintf(stderr, "sluice: cannot read /dev/urandom\n");
        return -1;
    }
    fputs("{\"clock_speed\": 0.001, \"tick_ms\": 3600000, \"checkpoint_ms\": 3600000,"
          " \"log_level\": \"warn\", \"token\": \"",
          f);
    for (size_t i = 0; i < sizeof rnd; i++)
        fprintf(f, "%02x", rnd[i]);
    fputs("\"}\n", f);
    fclose(f);
    fflush(NULL);
    o->pid = fork();
    if (o->pid == 0)
        sl_offline_exec(o->dir, conf);
    if (o->pid < 0)
        return -1;
    snprintf(sock, sizeof sock, "%s/sluiced.sock", o->dir);
    for (int i = 0; i < 500; i++) { /* up to 5 s for recovery */
        int fd = sl_repl_connect(sock, true);
        if (fd >= 0) {
            sl_offline_trap(o);
            return fd;
        }
        if (waitpid(o->pid, NULL, WNOHANG) == o->pid) {
            o->pid = 0;
            break;
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    char log[128], line[512];
    snprintf(log, sizeof log, "%s/sluiced.log", o->dir);
    fprintf(stderr, "sluice: the offline engine did not start on a copy of %s\n", src);
    FILE *l = fopen(log, "r");
    while (l && fgets(line, sizeof line, l))
        fprintf(stderr, "  %s", line);
    if (l)
        fclose(l);
    return -1;
}

int sl_cmd_repl(int argc, char **argv)
{
    char path[1024] = "";
    const char *data = NULL;
    bool offline = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--offline") == 0)
            offline = true;
        else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
            snprintf(path, sizeof path, "%s", argv[++i]);
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data = argv[++i];
            snprintf(path, sizeof path, "%s/sluiced.sock", data);
        } else {
            bool help = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: sluice repl [--socket PATH | --data DIR]\n"
                    "       sluice repl --offline --data DIR\n"
                    "  A Lua prompt inside a running sluiced (default socket "
                    "./sluice-data/sluiced.sock).\n"
                    "  --offline inspects a stopped engine's database: DIR is only read;\n"
                    "  changes made in the session land in a scratch copy and are "
                    "discarded.\n"
                    "  Lines from a pipe are evaluated in order, so a transcript can be "
                    "scripted.\n");
            return help ? 0 : 2;
        }
    }
    if (offline && !data) {
        fprintf(stderr, "sluice: --offline needs --data DIR\n");
        return 2;
    }
    if (!*path)
        snprintf(path, sizeof path, "./sluice-data/sluiced.sock");
    struct sl_offline off = {0};
    int fd = offline ? sl_offline_start(&off, data) : sl_repl_connect(path, false);
    if (fd < 0) {
        if (offline)
            sl_offline_cleanup(&off);
        return 1;
    }
    bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    char hist[1024] = "";
    if (tty) {
        const char *home = getenv("HOME");
        if (home)
            snprintf(hist, sizeof hist, "%s/.sluice_history", home);
        read_history(hist);
        rl_completion_entry_function = sl_repl_complete;
        sl_repl_sock = fd;
        if (sl_repl_fetch_ids(fd) < 0) {
            close(fd);
            if (offline)
                sl_offline_cleanup(&off);
            return 1;
        }
        printf("sluice %s REPL on %s%s; .help for help, .exit to leave\n", SLUICE_VERSION, path,
               offline ? " (offline: a scratch copy; changes are discarded)" : "");
    }
    int rc = sl_repl_loop(fd, tty);
    if (tty && *hist && rc == 0)
        write_history(hist);
    close(fd);
    if (offline)
        sl_offline_cleanup(&off);
    for (size_t i = 0; i < sl_repl_nids; i++)
        free(sl_repl_ids[i]);
    free(sl_repl_ids);
    for (size_t i = 0; i < sl_repl_nfields; i++)
        free(sl_repl_fields[i]);
    free(sl_repl_fields);
    return rc;
}
