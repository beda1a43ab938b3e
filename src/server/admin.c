/* SO_PEERCRED, struct ucred and accept4 are GNU/Linux. */
#define _GNU_SOURCE
#include "admin.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "lsl_json.h"
#include "lsl_stats.h"
#include "snapshot.h"

#define SL_ADMIN_FRAME_MAX (1 << 20)
#define SL_ADMIN_WBUF_MAX  (8u << 20) /* replies queued for a slow reader */

struct sl_admin_conn {
    ev_io w;
    ev_timer more; /* a further pipelined frame waits for the next loop turn */
    ev_io ww;      /* EV_WRITE while a reply is still queued */
    char *wbuf;
    size_t wlen, wcap;
    bool broken; /* write failed or the queue overflowed: close */
    int fd;
    unsigned uid;
    struct sl_admin *admin;
    struct sl_sandbox *sb;
    char *in;
    size_t inlen, incap;
    char *out; /* what print() and the results produced */
    size_t outlen, outcap;
    bool full; /* out reached the frame limit: the rest of this chunk's output is dropped */
    struct sl_admin_conn *next;
};

/* ---- output ----------------------------------------------------------------------- */

static void sl_out(struct sl_admin_conn *c, const char *s, size_t n)
{
    if (c->full)
        return;
    if (c->outlen + n + 1 > c->outcap) {
        size_t need = c->outlen + n + 1, cap = need * 2 < SL_ADMIN_FRAME_MAX ? need * 2 : need;
        char *p = need <= SL_ADMIN_FRAME_MAX ? realloc(c->out, cap) : NULL;
        if (!p) {
            static const char cut[] = "\n... output cut at the frame limit\n";
            char *q = realloc(c->out, c->outlen + sizeof cut);
            c->full = true; /* said once; later output is dropped */
            if (q) {
                c->out = q;
                c->outcap = c->outlen + sizeof cut;
                memcpy(c->out + c->outlen, cut, sizeof cut);
                c->outlen += sizeof cut - 1;
            }
            return;
        }
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
    c->out[c->outlen] = '\0';
}

static void sl_outs(struct sl_admin_conn *c, const char *s)
{
    sl_out(c, s, strlen(s));
}

/* A value as Lua-ish text: tables with sorted keys, nested up to 6 levels,
 * cycles marked; no metamethods run (raw access only). Everything the walk
 * allocates belongs to Lua, so an error mid-walk (out of memory) leaks
 * nothing; the walk stops once the output is full. */
static void sl_pretty(lua_State *L, struct sl_admin_conn *c, int idx, int depth, int seen);

struct sl_key_ref {
    const char *name; /* anchored in the names table */
    lua_Integer i;    /* index into the keys table */
    bool isnum;       /* numbers first, in numeric order; then the rest by name */
    double num;
};

static int sl_key_cmp(const void *a, const void *b)
{
    const struct sl_key_ref *x = a, *y = b;
    if (x->isnum != y->isnum)
        return x->isnum ? -1 : 1;
    if (x->isnum)
        return (x->num > y->num) - (x->num < y->num);
    return strcmp(x->name, y->name);
}

static void sl_pretty_table(lua_State *L, struct sl_admin_conn *c, int idx, int depth, int seen)
{
    lua_pushvalue(L, idx);
    if (lua_rawget(L, seen) != LUA_TNIL || depth > 6) {
        lua_pop(L, 1);
        sl_outs(c, depth > 6 ? "{...}" : "<cycle>");
        return;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen); /* on the path from the root: a cycle */
    lua_newtable(L);     /* keys */
    int keys = lua_gettop(L);
    lua_newtable(L); /* names: each key as text, keeping the strings alive */
    int names = keys + 1;
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* STACK: key value */
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
        int t = lua_type(L, -1);
        if (t == LUA_TNUMBER) {
            lua_pushvalue(L, -1);
            lua_tostring(L, -1); /* converts the copy, not the key lua_next needs */
        } else if (t == LUA_TSTRING) {
            lua_pushvalue(L, -1);
        } else {
            lua_pushfstring(L, "[%s]", luaL_typename(L, -1));
        }
        lua_rawseti(L, names, n);
    }
    struct sl_key_ref *refs = lua_newuserdatauv(L, (size_t)n * sizeof *refs + 1, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, names, i);
        refs[i - 1] = (struct sl_key_ref){lua_tostring(L, -1), i, false, 0};
        lua_pop(L, 1);
        if (lua_rawgeti(L, keys, i) == LUA_TNUMBER)
            refs[i - 1].isnum = true, refs[i - 1].num = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    qsort(refs, (size_t)n, sizeof *refs, sl_key_cmp);
    sl_outs(c, "{");
    for (lua_Integer i = 0; i < n && !c->full; i++) {
        char pad[32];
        snprintf(pad, sizeof pad, "\n%*s", 2 * (depth + 1), "");
        sl_outs(c, pad);
        sl_outs(c, refs[i].name);
        sl_outs(c, " = ");
        lua_rawgeti(L, keys, refs[i].i);
        lua_rawget(L, idx);
        sl_pretty(L, c, lua_gettop(L), depth + 1, seen);
        lua_pop(L, 1);
    }
    lua_pop(L, 3); /* refs, names, keys */
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, seen); /* off the path: a table seen twice is not a cycle */
    char end[32];
    snprintf(end, sizeof end, n ? "\n%*s}" : "}", 2 * depth, "");
    sl_outs(c, end);
}

static void sl_pretty(lua_State *L, struct sl_admin_conn *c, int idx, int depth, int seen)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TTABLE:
        sl_pretty_table(L, c, idx, depth, seen);
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        sl_outs(c, "\"");
        for (size_t i = 0; i < n; i++) { /* printable, quoted, escapes for the rest */
            unsigned char ch = (unsigned char)s[i];
            char esc[8];
            if (ch == '"' || ch == '\\' || ch < 0x20 || ch == 0x7f)
                snprintf(esc, sizeof esc,
                         ch == '\n'   ? "\\n"
                         : ch == '"'  ? "\\\""
                         : ch == '\\' ? "\\\\"
                                      : "\\%03u",
                         ch);
            else
                esc[0] = (char)ch, esc[1] = '\0';
            sl_outs(c, esc);
        }
        sl_outs(c, "\"");
        break;
    }
    case LUA_TNUMBER:
    case LUA_TBOOLEAN:
    case LUA_TNIL:
        sl_outs(c, lua_type(L, idx) == LUA_TBOOLEAN ? (lua_toboolean(L, idx) ? "true" : "false")
                   : lua_type(L, idx) == LUA_TNIL   ? "nil"
                                                    : (lua_pushvalue(L, idx), lua_tostring(L, -1)));
        if (lua_type(L, idx) == LUA_TNUMBER)
            lua_pop(L, 1);
        break;
    default:
        sl_outs(c, luaL_typename(L, idx));
    }
}

/* ---- helpers the REPL sees ------------------------------------------------------------ */

static struct sl_admin_conn *sl_conn_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static int sl_push_doc(lua_State *L, cJSON *j, const char *what)
{
    if (!j) {
        lua_pushnil(L);
        lua_pushfstring(L, "no %s", what);
        return 2;
    }
    sl_lua_push_json(L, j);
    cJSON_Delete(j);
    return 1;
}

static int sl_h_print(lua_State *L)
{
    struct sl_admin_conn *c = sl_conn_of(L);
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        int t = lua_type(L, i);
        if (i > 1)
            sl_outs(c, "\t");
        if (t == LUA_TSTRING || t == LUA_TNUMBER)
            sl_outs(c, lua_tostring(L, i));
        else {
            lua_newtable(L);
            sl_pretty(L, c, i, 0, lua_gettop(L));
            lua_pop(L, 1);
        }
    }
    sl_outs(c, "\n");
    return 0;
}

static int sl_h_list(lua_State *L, bool tests)
{
    struct sl_engine *eng = sl_conn_of(L)->admin->daemon->eng;
    cJSON *a = cJSON_CreateArray();
    size_t n = tests ? sl_engine_test_count(eng) : sl_engine_canary_count(eng);
    for (size_t i = 0; i < n; i++) {
        struct sl_test_info t;
        struct sl_canary_info k;
        if (tests && sl_engine_test_at(eng, i, &t) == 0)
            cJSON_AddItemToArray(a, sl_snap_test(eng, t.config->id, NULL, 0));
        else if (!tests && sl_engine_canary_at(eng, i, &k) == 0)
            cJSON_AddItemToArray(a, sl_snap_canary(eng, k.config->id, NULL, 0));
    }
    return sl_push_doc(L, a, "list");
}

static int sl_h_tests(lua_State *L)
{
    return sl_h_list(L, true);
}

static int sl_h_canaries(lua_State *L)
{
    return sl_h_list(L, false);
}

static int sl_h_test(lua_State *L)
{
    struct sl_engine *eng = sl_conn_of(L)->admin->daemon->eng;
    const char *id = luaL_checkstring(L, 1);
    return sl_push_doc(L, sl_snap_test(eng, id, (const double[]){300, 1800}, 2), "such test");
}

static int sl_h_canary(lua_State *L)
{
    struct sl_engine *eng = sl_conn_of(L)->admin->daemon->eng;
    const char *id = luaL_checkstring(L, 1);
    return sl_push_doc(L, sl_snap_canary(eng, id, (const double[]){300, 1800}, 2), "such canary");
}

static int sl_h_models(lua_State *L)
{
    return sl_push_doc(L, sl_snap_models(sl_conn_of(L)->admin->daemon->eng), "models");
}

static int sl_h_policies(lua_State *L)
{
    struct sl_daemon *d = sl_conn_of(L)->admin->daemon;
    return sl_push_doc(L, sl_snap_policies(d->host ? sl_host_policies(d->host) : NULL), "policies");
}

static int sl_h_events(lua_State *L)
{
    struct sl_engine *eng = sl_conn_of(L)->admin->daemon->eng;
    lua_Integer n = luaL_optinteger(L, 1, 20);
    luaL_argcheck(L, n >= 0 && n <= 1000, 1, "0..1000 events");
    uint64_t last = sl_engine_last_seq(eng);
    const struct sl_event *evs[1000];
    size_t got = sl_engine_events(eng, last > (uint64_t)n ? last - (uint64_t)n : 0, evs, (size_t)n);
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < got; i++)
        cJSON_AddItemToArray(a, sl_snap_event(evs[i]));
    return sl_push_doc(L, a, "events");
}

/* route(model_or_id, unit): a dry run; nothing is recorded. */
static int sl_h_route(lua_State *L)
{
    struct sl_engine *eng = sl_conn_of(L)->admin->daemon->eng;
    struct sl_route r;
    struct sl_err err;
    if (sl_engine_route(eng, luaL_checkstring(L, 1), luaL_checkstring(L, 2), &r, &err)) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_createtable(L, 0, 4);
    lua_pushstring(L, r.variant);
    lua_setfield(L, -2, "variant");
    lua_pushstring(L, r.version);
    lua_setfield(L, -2, "version");
    if (r.id) {
        lua_pushstring(L, r.id);
        lua_setfield(L, -2, "test");
    }
    return 1;
}

/* pause/resume/stop/promote/rollback(id [, reason]): audited, committed. */
static int sl_h_verb(lua_State *L)
{
    struct sl_admin_conn *c = sl_conn_of(L);
    int verb = (int)lua_tointeger(L, lua_upvalueindex(2));
    const char *id = luaL_checkstring(L, 1), *reason = luaL_optstring(L, 2, "from the REPL");
    char actor[32];
    snprintf(actor, sizeof actor, "repl:%u", c->uid);
    struct sl_err err;
    struct sl_daemon *d = c->admin->daemon;
    if (sl_engine_act(d->eng, id, verb, actor, reason, &err) || sl_daemon_flush(d, &err)) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static void sl_admin_globals(struct sl_admin_conn *c)
{
    lua_State *L = sl_sandbox_state(c->sb);
    static const luaL_Reg fns[] = {{"print", sl_h_print},   {"tests", sl_h_tests},
                                   {"test", sl_h_test},     {"canaries", sl_h_canaries},
                                   {"canary", sl_h_canary}, {"models", sl_h_models},
                                   {"events", sl_h_events}, {"policies", sl_h_policies},
                                   {"route", sl_h_route},   {NULL, NULL}};
    static const struct {
        const char *name;
        int verb;
    } verbs[] = {{"pause", SL_VERB_PAUSE},
                 {"resume", SL_VERB_RESUME},
                 {"stop", SL_VERB_STOP},
                 {"promote", SL_VERB_PROMOTE},
                 {"rollback", SL_VERB_ROLLBACK}};
    lua_pushglobaltable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushlightuserdata(L, c);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        lua_pushlightuserdata(L, c);
        lua_pushinteger(L, verbs[i].verb);
        lua_pushcclosure(L, sl_h_verb, 2);
        lua_setfield(L, -2, verbs[i].name);
    }
    sl_lua_push_stats(L);
    lua_setfield(L, -2, "stats");
    lua_pop(L, 1);
}

/* ---- evaluation ------------------------------------------------------------------------ */

static bool sl_admin_incomplete(const char *msg)
{
    size_t n = strlen(msg);
    return n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
}

/* Protected: print every argument (the chunk's results), tab-separated. */
static int sl_admin_print_results(lua_State *L)
{
    struct sl_admin_conn *c = sl_conn_of(L);
    int n = lua_gettop(L);
    lua_newtable(L); /* seen, for cycles */
    for (int i = 1; i <= n; i++) {
        sl_pretty(L, c, i, 0, n + 1);
        sl_outs(c, i < n ? "\t" : "\n");
    }
    return 0;
}

/* Compile "return <src>" first (so expressions print), else src itself. */
static int sl_admin_compile(lua_State *L, const char *src, size_t len, bool *incomplete)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "return ");
    luaL_addlstring(&b, src, len);
    luaL_pushresult(&b);
    if (luaL_loadbufferx(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=repl", "t") == LUA_OK) {
        lua_remove(L, -2);
        return 0;
    }
    lua_pop(L, 2);
    if (luaL_loadbufferx(L, src, len, "=repl", "t") == LUA_OK)
        return 0;
    *incomplete = sl_admin_incomplete(lua_tostring(L, -1));
    return -1;
}

static bool sl_admin_eval(struct sl_admin_conn *c, const char *src, size_t len, bool *incomplete)
{
    lua_State *L = sl_sandbox_state(c->sb);
    int base = lua_gettop(L);
    struct sl_err err;
    bool ok = false;
    *incomplete = false;
    c->outlen = 0;
    c->full = false;
    if (!lua_checkstack(L, 8) || sl_admin_compile(L, src, len, incomplete)) {
        if (!*incomplete)
            sl_outs(c, lua_gettop(L) > base ? lua_tostring(L, -1) : "out of memory");
        goto done;
    }
    int st = sl_sandbox_call(c->sb, 0, LUA_MULTRET, &err);
    if (st != SL_CALL_OK) {
        sl_outs(c, st == SL_CALL_BUDGET || st == SL_CALL_TIMEOUT ? "interrupted: " : "");
        sl_outs(c, err.msg);
        goto done;
    }
    /* Printing allocates (it may raise): it runs protected, as Lua code does. */
    int nres = lua_gettop(L) - base;
    lua_pushlightuserdata(L, c);
    lua_pushcclosure(L, sl_admin_print_results, 1);
    lua_insert(L, base + 1);
    if (sl_sandbox_call(c->sb, nres, 0, &err) != SL_CALL_OK)
        sl_outs(c, err.msg);
    ok = true;
done:
    lua_settop(L, base);
    return ok;
}

/* ---- framing and I/O -------------------------------------------------------------------- */

/* Write what the socket takes now; the rest waits for EV_WRITE. The loop
 * never blocks on a client that does not read. */
static void sl_admin_flush(struct sl_admin_conn *c)
{
    size_t done = 0;
    while (done < c->wlen) {
        ssize_t w = send(c->fd, c->wbuf + done, c->wlen - done, MSG_NOSIGNAL);
        if (w > 0)
            done += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else {
            if (w < 0 && errno != EAGAIN)
                c->broken = true;
            break;
        }
    }
    memmove(c->wbuf, c->wbuf + done, c->wlen - done);
    c->wlen -= done;
    if (c->wlen && !c->broken)
        ev_io_start(c->admin->loop, &c->ww);
    else
        ev_io_stop(c->admin->loop, &c->ww);
}

/* Queue n bytes; a client that lets more than SL_ADMIN_WBUF_MAX pile up is
 * disconnected (a cut reply would corrupt the framing). */
static void sl_admin_send(struct sl_admin_conn *c, const char *p, size_t n)
{
    if (c->broken)
        return;
    if (c->wlen + n > c->wcap) {
        size_t cap = (c->wlen + n) * 2;
        char *b = c->wlen + n <= SL_ADMIN_WBUF_MAX ? realloc(c->wbuf, cap) : NULL;
        if (!b) {
            c->broken = true;
            return;
        }
        c->wbuf = b;
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
}

static void sl_admin_reply(struct sl_admin_conn *c, bool ok, bool incomplete)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", ok);
    cJSON_AddStringToObject(o, "out", c->out ? c->out : "");
    cJSON_AddBoolToObject(o, "incomplete", incomplete);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char head[32];
    int n = snprintf(head, sizeof head, "%zu\n", text ? strlen(text) : 2);
    sl_admin_send(c, head, (size_t)n);
    sl_admin_send(c, text ? text : "{}", text ? strlen(text) : 2);
    free(text);
    sl_admin_flush(c);
}

static void sl_admin_close(struct sl_admin_conn *c)
{
    struct sl_admin *a = c->admin;
    ev_io_stop(a->loop, &c->w);
    ev_timer_stop(a->loop, &c->more);
    ev_io_stop(a->loop, &c->ww);
    close(c->fd);
    for (struct sl_admin_conn **pp = &a->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    sl_sandbox_delete(c->sb);
    free(c->in);
    free(c->out);
    free(c->wbuf);
    free(c);
}

/* Handle one complete frame from the input buffer: -1 on a protocol error,
 * 1 when another complete frame is already waiting, else 0. One frame per
 * wake-up, so a client that pipelines many chunks gets one budget's worth
 * of the loop at a time and HTTP is polled in between. */
static int sl_admin_frame(struct sl_admin_conn *c)
{
    for (int round = 0; round < 2; round++) {
        char *nl = memchr(c->in, '\n', c->inlen);
        if (!nl)
            return c->inlen > 32 ? -1 : 0;
        char *end;
        unsigned long len = strtoul(c->in, &end, 10);
        if (end != nl || len > SL_ADMIN_FRAME_MAX)
            return -1;
        size_t head = (size_t)(nl - c->in) + 1;
        if (c->inlen < head + len)
            return 0;
        if (round == 1)
            return 1;
        bool incomplete;
        bool ok = sl_admin_eval(c, c->in + head, len, &incomplete);
        sl_admin_reply(c, ok, incomplete);
        memmove(c->in, c->in + head + len, c->inlen - head - len);
        c->inlen -= head + len;
    }
    return 0;
}

static void sl_admin_step(struct sl_admin_conn *c)
{
    if (c->wlen) /* the last reply is still queued: the client is not reading */
        return;
    int r = sl_admin_frame(c);
    if (r < 0 || c->broken)
        sl_admin_close(c);
    else if (r > 0 && !c->wlen)
        ev_timer_start(c->admin->loop, &c->more); /* after the next poll */
}

static void sl_admin_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sl_admin_conn *c = sl_container_of(w, struct sl_admin_conn, ww);
    sl_admin_flush(c);
    if (c->broken)
        sl_admin_close(c);
    else if (!c->wlen)
        sl_admin_step(c); /* frames that arrived meanwhile */
}

static void sl_admin_more(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sl_admin_step(sl_container_of(w, struct sl_admin_conn, more));
}

static void sl_admin_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sl_admin_conn *c = sl_container_of(w, struct sl_admin_conn, w);
    if (c->inlen + 4096 > c->incap) {
        size_t cap = c->incap ? c->incap * 2 : 8192;
        char *p = cap <= 2 * SL_ADMIN_FRAME_MAX ? realloc(c->in, cap) : NULL;
        if (!p) {
            sl_admin_close(c);
            return;
        }
        c->in = p;
        c->incap = cap;
    }
    ssize_t n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        sl_admin_close(c);
        return;
    }
    if (n > 0)
        c->inlen += (size_t)n;
    if (!ev_is_active(&c->more))
        sl_admin_step(c);
}

/* Same uid as the daemon, or root; anyone else is refused before any Lua. */
static bool sl_admin_peer_ok(int fd, unsigned *uid)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return false;
    *uid = cred.uid;
    return cred.uid == 0 || cred.uid == geteuid();
}

static void sl_admin_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct sl_admin *a = sl_container_of(w, struct sl_admin, accept_w);
    int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    unsigned uid = 0;
    if (fd >= 0)
        (void)sl_admin_adopt(a, fd, sl_admin_peer_ok(fd, &uid), uid);
}

int sl_admin_adopt(struct sl_admin *a, int fd, bool peer_ok, unsigned uid)
{
    struct sl_admin_conn *c = peer_ok ? calloc(1, sizeof *c) : NULL;
    if (c)
        c->sb = sl_sandbox_new(&a->limits, NULL);
    if (!c || !c->sb) {
        static const char refused[] = "{\"ok\":false,\"fatal\":true,\"out\":\"refused: the admin "
                                      "socket serves the daemon's own user and root\"}";
        if (!c) {
            char head[32];
            int n = snprintf(head, sizeof head, "%zu\n", sizeof refused - 1);
            if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n)
                (void)!send(fd, refused, sizeof refused - 1, MSG_NOSIGNAL); /* best effort */
        }
        free(c);
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->uid = uid;
    c->admin = a;
    sl_admin_globals(c);
    ev_io_init(&c->w, sl_admin_read, fd, EV_READ);
    ev_timer_init(&c->more, sl_admin_more, 0, 0);
    ev_io_init(&c->ww, sl_admin_writable, fd, EV_WRITE);
    ev_io_start(a->loop, &c->w);
    c->next = a->conns;
    a->conns = c;
    return 0;
}

void sl_admin_init(struct sl_admin *a, struct ev_loop *loop, struct sl_daemon *d)
{
    memset(a, 0, sizeof *a);
    a->loop = loop;
    a->daemon = d;
    a->fd = -1;
    sl_sandbox_limits_default(&a->limits);
    a->limits.instructions = 200000000; /* an operator's query may do real work... */
    a->limits.wall_ms = 250;            /* ...but the loop serves HTTP again soon */
    a->limits.memory_bytes = 64u << 20;
}

int sl_admin_start(struct sl_admin *a, struct ev_loop *loop, struct sl_daemon *d, const char *path,
                   struct sl_err *err)
{
    sl_admin_init(a, loop, d);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return sl_err_set(err, SL_EINVAL, "admin socket path too long: %s", path);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    /* A socket that answers belongs to a live daemon on the same data dir:
     * refuse rather than steal it. One that does not is left from a crash. */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (probe >= 0)
        close(probe);
    if (live)
        return sl_err_set(err, SL_ESTATE,
                          "another sluiced is serving %s (its admin socket answers)", path);
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
        return sl_err_set(err, SL_EINVAL, "%s exists and is not a socket", path);
    unlink(path);
    a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177); /* the socket is born 0600 */
    int rc = a->fd < 0 ? -1 : bind(a->fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc || chmod(path, 0600) || listen(a->fd, 16)) {
        sl_err_set(err, SL_EINTERNAL, "admin socket %s: %s", path, strerror(errno));
        if (a->fd >= 0)
            close(a->fd);
        a->fd = -1;
        return -1;
    }
    snprintf(a->path, sizeof a->path, "%s", path);
    ev_io_init(&a->accept_w, sl_admin_accept, a->fd, EV_READ);
    ev_io_start(loop, &a->accept_w);
    return 0;
}

void sl_admin_stop(struct sl_admin *a)
{
    while (a->conns)
        sl_admin_close(a->conns);
    if (a->fd >= 0) {
        ev_io_stop(a->loop, &a->accept_w);
        close(a->fd);
        unlink(a->path);
        a->fd = -1;
    }
}
