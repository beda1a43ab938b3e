/* test_store_sqlite.c - the SQLite store: an engine saved and checkpointed
 * comes back in a second engine with the same configs, states, allocation,
 * metrics, routing, history order, overrides, policy state and event log; a
 * writer killed with SIGKILL mid-way leaves an intact database holding every
 * acknowledged commit; newer schemas and foreign files are refused; a bad row
 * is reported and skipped while the rest loads. Measures commit latency with
 * synchronous=FULL and the checkpoint of 1,000 running tests. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "codec.h"
#include "sluice.h"
#include "store.h"
#include "tap.h"

static double now_s = 1000;
static char dir[256];

static double test_clock(void *ud)
{
    (void)ud;
    return now_s;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void path_in_dir(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* The daemon's sink: every event goes to the store, except while loading
 * (registering the stored models logs add_version events again). */
struct sink {
    struct sl_store *store;
    bool loading;
    int failures, ignored;
};

static void sink_event(void *ud, const struct sl_event *ev)
{
    struct sink *k = ud;
    if (k->loading || !k->store) {
        k->ignored++;
        return;
    }
    k->failures += sl_store_append_event(k->store, ev, NULL) != 0;
}

static struct sl_engine *new_engine(struct sink *k, int max_tests)
{
    struct sl_engine_opts o;
    sl_engine_opts_default(&o);
    o.clock = test_clock;
    o.sink = sink_event;
    o.sink_ud = k;
    o.max_tests = max_tests;
    o.history = 2000;
    return sl_engine_new(&o, NULL);
}

static void add_version(struct sl_engine *e, const char *model, const char *v, const char *path,
                        const char *config, int health)
{
    struct sl_version_config c = {
        .model = model, .version = v, .path = path, .config = config, .health = health};
    sl_engine_add_version(e, &c, NULL);
}

static void traffic(struct sl_engine *e, const char *key, int n, int seed)
{
    char unit[48];
    for (int i = 0; i < n; i++) {
        struct sl_route r;
        snprintf(unit, sizeof unit, "u%d-%d", seed, i);
        if (sl_engine_route(e, key, unit, &r, NULL) || r.arm < 0)
            continue;
        struct sl_sample s = {0, (double)(i % 5)};
        sl_engine_record(e, r.id, r.arm, i % 13 != 0, 3.0 + (i % 40) * (r.arm ? 1.3 : 1.0), &s,
                         sl_engine_metric_index(e, r.id, "clicks") == 0, NULL);
    }
}

static void tick(struct sl_engine *e, double seconds)
{
    now_s += seconds;
    sl_engine_tick(e, NULL);
}

/* ---- the scenario ------------------------------------------------------------------ */

static const char *const clicks[] = {"clicks"};

static void build_models(struct sl_engine *e)
{
    add_version(e, "m", "v1", "/models/m/1", "{\"layers\":3}", SL_HEALTH_HEALTHY);
    add_version(e, "m", "v2", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "k", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "k", "v2", NULL, "not json", SL_HEALTH_HEALTHY);
    add_version(e, "h", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "h", "v2", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "q", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "q", "v2", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "s", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "s", "v2", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "z", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "z", "v2", NULL, NULL, SL_HEALTH_DEGRADED);
    sl_engine_set_live(e, "z", "v2", "user", NULL);
}

static void create_tests(struct sl_engine *e)
{
    struct sl_ramp_step ramp[] = {{0, 10, -1}, {0.5, 30, -1}, {2, 50, -1}};
    struct sl_test_config t1 = {.id = "t1",
                                .name = "ranker",
                                .model = "m",
                                .control_version = "v1",
                                .treatment_version = "v2",
                                .ramp = ramp,
                                .nramp = 3,
                                .success_metrics = clicks,
                                .nsuccess = 1,
                                .minimum_effect_size = 0.2,
                                .policies = "{\"ramp\":{\"name\":\"linear\"}}"};
    struct sl_test_config t2 = {.id = "t2",
                                .name = "finished",
                                .model = "h",
                                .control_version = "v1",
                                .treatment_version = "v2"};
    struct sl_test_config t3 = {.id = "t3",
                                .name = "sticky",
                                .model = "s",
                                .control_version = "v1",
                                .treatment_version = "v2",
                                .routing = SL_ROUTING_STICKY};
    sl_engine_create_test(e, &t1, NULL, NULL);
    sl_engine_create_test(e, &t2, NULL, NULL);
    sl_engine_create_test(e, &t3, NULL, NULL);
    struct sl_canary_config c1 = {.id = "c1",
                                  .name = "canary",
                                  .model = "k",
                                  .canary = "v2",
                                  .traffic = 20,
                                  .metrics = clicks,
                                  .nmetrics = 1};
    struct sl_canary_config c0 = {.id = "c0", .name = "doomed", .model = "q", .canary = "v2"};
    sl_engine_create_canary(e, &c1, NULL, NULL);
    sl_engine_create_canary(e, &c0, NULL, NULL);
}

/* Drive the objects as the daemon would, saving after each lifecycle change. */
static void run_scenario(struct sl_engine *e, struct sl_store *st)
{
    const char *ids[] = {"t1", "t2", "t3", "c1", "c0"};
    for (int i = 0; i < 5; i++) {
        sl_engine_act(e, ids[i], SL_VERB_START, "user", "go", NULL);
        i < 3 ? sl_store_save_test(st, e, ids[i], NULL) : sl_store_save_canary(st, e, ids[i], NULL);
    }
    sl_engine_set_override(e, "t3", "pinned-a", 1, NULL);
    sl_engine_set_override(e, "t3", "pinned-b", 0, NULL);
    for (int k = 0; k < 6; k++) {
        traffic(e, "m", 1500, k);
        traffic(e, "k", 400, k);
        traffic(e, "h", 300, k);
        traffic(e, "s", 300, k);
        traffic(e, "q", 200, k);
        tick(e, 600);
        if (k == 2) {
            sl_engine_act(e, "t2", SL_VERB_STOP, "user", "done", NULL);
            sl_store_save_test(st, e, "t2", NULL);
        }
        if (k == 3) {
            sl_engine_rollback_canary(e, "c0", SL_TRIGGER_MANUAL, "user", "bad", NULL);
            sl_store_save_canary(st, e, "c0", NULL);
        }
    }
    sl_engine_emit(e, SL_EVENT_DECISION, "t1", "policy:linear", "set_traffic", "ramp",
                   "{\"age\":1.5}", 30, NULL);
}

/* ---- comparisons ------------------------------------------------------------------- */

static bool same_metrics(struct sl_engine *a, struct sl_engine *b, const char *id, int arm,
                         double window)
{
    struct sl_variant_metrics x, y;
    if (sl_engine_metrics(a, id, arm, window, &x, NULL) ||
        sl_engine_metrics(b, id, arm, window, &y, NULL))
        return false;
    bool q = x.requests == 0 || x.quantiles[SL_Q99] == y.quantiles[SL_Q99];
    return x.requests == y.requests && x.errors == y.errors && q && x.nmetrics == y.nmetrics &&
           (x.nmetrics == 0 || x.metrics[0].sum == y.metrics[0].sum);
}

static bool same_routing(struct sl_engine *a, struct sl_engine *b, const char *key)
{
    bool same = true;
    char unit[32];
    for (int i = 0; i < 2000; i++) {
        struct sl_route ra, rb;
        snprintf(unit, sizeof unit, "x%d", i);
        same &= sl_engine_route(a, key, unit, &ra, NULL) == 0 &&
                sl_engine_route(b, key, unit, &rb, NULL) == 0 && ra.arm == rb.arm &&
                strcmp(ra.version, rb.version) == 0;
    }
    return same;
}

static bool same_config(struct sl_engine *a, struct sl_engine *b, const char *id)
{
    struct sl_test_info x, y;
    if (sl_engine_test(a, id, &x, NULL) || sl_engine_test(b, id, &y, NULL))
        return false;
    char *p = sl_codec_test_json(x.config), *q = sl_codec_test_json(y.config);
    bool same = p && q && strcmp(p, q) == 0;
    free(p);
    free(q);
    return same;
}

static void compare_models(struct sl_engine *a, struct sl_engine *b)
{
    bool same = sl_engine_model_count(a) == sl_engine_model_count(b);
    struct sl_model_info x, y;
    for (size_t i = 0; same && sl_engine_model_at(a, i, &x) == 0; i++) {
        same &= sl_engine_model_at(b, i, &y) == 0 && strcmp(x.id, y.id) == 0 &&
                strcmp(x.live, y.live) == 0 && x.nversions == y.nversions;
        struct sl_version_info v, w;
        for (size_t j = 0; same && sl_engine_model_version_at(a, x.id, j, &v) == 0; j++) {
            same &= sl_engine_model_version_at(b, y.id, j, &w) == 0 &&
                    strcmp(v.version, w.version) == 0 && v.health == w.health;
            same &= (!v.path && !w.path) || (v.path && w.path && !strcmp(v.path, w.path));
            same &=
                (!v.config && !w.config) || (v.config && w.config && !strcmp(v.config, w.config));
        }
    }
    ok(same, "models: order, versions, paths, configs, health and live versions are back");
}

static void compare_tests(struct sl_engine *a, struct sl_engine *b)
{
    struct sl_test_info x, y;
    sl_engine_test(a, "t1", &x, NULL);
    sl_engine_test(b, "t1", &y, NULL);
    ok(y.status == SL_TEST_RUNNING && y.treatment_pct == x.treatment_pct &&
           y.ramp_step == x.ramp_step && y.nalloc_history == x.nalloc_history &&
           y.created_at == x.created_at && y.started_at == x.started_at,
       "t1: running with its allocation (%.0f%%), ramp step and allocation history",
       y.treatment_pct);
    near(y.running_seconds, x.running_seconds, 1e-9, "t1: running time is back");
    ok(same_config(a, b, "t1") && same_config(a, b, "t3") && same_config(a, b, "t2"),
       "configs (with policies) are the same");
    is_str(y.config->policies, "{\"ramp\":{\"name\":\"linear\"}}", "t1: policies text kept");
    ok(same_routing(a, b, "m") && same_routing(a, b, "k") && same_routing(a, b, "z"),
       "every unit routes the same after the restore (test, canary, live version)");
    for (int arm = 0; arm < 2; arm++) {
        ok(same_metrics(a, b, "t1", arm, 0) && same_metrics(a, b, "t1", arm, 1800),
           "t1 arm %d: requests, errors, p99, custom metric, 30-minute window", arm);
        ok(same_metrics(a, b, "c1", arm, 0) && same_metrics(a, b, "c1", arm, 600),
           "c1 arm %d: metrics and window are back", arm);
        ok(same_metrics(a, b, "t2", arm, 0), "t2 (history) arm %d: metrics are back", arm);
    }
    struct sl_test_stats sa, sb;
    sl_engine_test_stats(a, "t1", &sa, NULL);
    sl_engine_test_stats(b, "t1", &sb, NULL);
    ok(sa.metrics[0].looks == sb.metrics[0].looks && sa.metrics[0].seq_p == sb.metrics[0].seq_p &&
           sa.srm_p == sb.srm_p,
       "t1: sequential trackers and SRM bookkeeping are back (%llu looks)",
       (unsigned long long)sb.metrics[0].looks);
}

static void compare_rest(struct sl_engine *a, struct sl_engine *b)
{
    struct sl_canary_info x, y;
    sl_engine_canary(a, "c1", &x, NULL);
    sl_engine_canary(b, "c1", &y, NULL);
    ok(y.status == x.status && y.traffic_pct == x.traffic_pct && y.nchecks == x.nchecks &&
           y.nchecks > 0 && y.checks[y.nchecks - 1].at == x.checks[x.nchecks - 1].at,
       "c1: %s with its traffic and %zu health checks", sl_canary_status_name(y.status), y.nchecks);
    int k0, k1;
    const char *h0 = sl_engine_history_at(b, 0, &k0), *h1 = sl_engine_history_at(b, 1, &k1);
    ok(sl_engine_history_count(b) == 2 && h0 && h1 && !strcmp(h0, "c0") && k0 == SL_KIND_CANARY &&
           !strcmp(h1, "t2") && k1 == SL_KIND_TEST,
       "history is back newest first (c0, t2)");
    sl_engine_canary(b, "c0", &y, NULL);
    ok(y.in_history && y.outcome && !strcmp(y.outcome, "rolled_back"),
       "c0: rolled back, in history");
    struct sl_route r;
    ok(sl_engine_route(b, "s", "pinned-a", &r, NULL) == 0 && r.arm == 1 &&
           sl_engine_route(b, "s", "pinned-b", &r, NULL) == 0 && r.arm == 0,
       "t3: sticky overrides are back");
    struct sl_model_info m;
    sl_engine_model(b, "z", &m, NULL);
    is_str(m.live, "v2", "z: the live version set by hand is back");
}

/* ---- policy state and events ------------------------------------------------------- */

struct policy_seen {
    int n;
    char last[128];
    bool refuse_c1;
};

static int on_policy(void *ud, const char *id, const char *policy, const char *json,
                     struct sl_err *err)
{
    struct policy_seen *p = ud;
    if (p->refuse_c1 && strcmp(id, "c1") == 0)
        return sl_err_set(err, SL_ENOTFOUND, "no policy '%s' loaded", policy);
    p->n++;
    snprintf(p->last, sizeof p->last, "%s/%s=%s", id, policy, json);
    return 0;
}

struct events_seen {
    uint64_t n, first, last;
    bool ordered, detail;
};

static int on_event(void *ud, const struct sl_event *ev)
{
    struct events_seen *s = ud;
    s->ordered &= s->n == 0 || ev->seq == s->last + 1;
    if (s->n++ == 0)
        s->first = ev->seq;
    s->last = ev->seq;
    s->detail |= ev->detail && strcmp(ev->detail, "{\"age\":1.5}") == 0 &&
                 ev->kind == SL_EVENT_DECISION && ev->value == 30;
    return 0;
}

/* ---- save, load, compare ----------------------------------------------------------- */

static void check_events(struct sl_store *st, struct sl_engine *b,
                         const struct sl_store_report *rep, const struct sink *kb)
{
    struct sl_err err = {0};
    struct events_seen es = {.ordered = true};
    ok(sl_store_events(st, 0, 100000, on_event, &es, &err) == 0 && es.n == rep->events &&
           es.first == 1 && es.ordered && es.detail,
       "events(since 0): the whole log in order, decision detail intact");
    es = (struct events_seen){.ordered = true};
    sl_store_events(st, rep->last_seq - 5, 3, on_event, &es, NULL);
    ok(es.n == 3 && es.first == rep->last_seq - 4, "events(since, limit) pages the log");
    sl_engine_emit(b, SL_EVENT_ERROR, "t1", "engine", "probe", "after restart", NULL, NAN, NULL);
    ok(sl_engine_last_seq(b) > rep->last_seq && kb->ignored > 0,
       "new events continue after the stored log (seq %llu); restore-time ones were ignored",
       (unsigned long long)sl_engine_last_seq(b));
}

/* Engine A, saved and checkpointed as the daemon would, into db. */
static struct sl_engine *save_engine(const char *db)
{
    struct sl_store st;
    struct sl_err err = {0};
    ok(sl_store_sqlite_open(&st, db, &err) == 0, "store opened (%s)", err.msg);
    struct stat sb = {0};
    stat(db, &sb);
    ok((sb.st_mode & 0777) == 0600, "database file is mode 0600 (%o)",
       (unsigned)(sb.st_mode & 0777));
    static struct sink ka;
    ka = (struct sink){.store = &st};
    struct sl_engine *a = new_engine(&ka, 100);
    build_models(a);
    ok(sl_store_save_models(&st, a, &err) == 0, "models saved");
    create_tests(a);
    run_scenario(a, &st);
    sl_store_save_policy_state(&st, "t1", "linear", "{\"step\":3}", NULL);
    sl_store_save_policy_state(&st, "c1", "error_rate", "{\"strikes\":1}", NULL);
    sl_store_save_policy_state(&st, "t1", "gone", "{}", NULL);
    sl_store_save_policy_state(&st, "t1", "gone", NULL, NULL);
    ok(sl_store_save_all(&st, a, &err) == 0, "save_all (%s)", err.msg);
    traffic(a, "m", 700, 77);
    tick(a, 30);
    ok(sl_store_checkpoint(&st, a, &err) == 0, "checkpoint (%s)", err.msg);
    ok(ka.failures == 0, "every event was appended (%d failures)", ka.failures);
    sl_store_close(&st);
    sl_store_close(&st); /* twice is harmless */
    ka.store = NULL;
    return a;
}

static void test_round_trip(const char *db)
{
    struct sl_err err = {0};
    struct sl_engine *a = save_engine(db);
    struct sl_store st2;
    ok(sl_store_sqlite_open(&st2, db, &err) == 0, "reopened");
    struct sink kb = {.store = &st2, .loading = true};
    struct sl_engine *b = new_engine(&kb, 100);
    struct sl_store_report rep;
    struct policy_seen ps = {0};
    ok(sl_store_load(&st2, b, on_policy, &ps, &rep, &err) == 0, "load (%s)", err.msg);
    kb.loading = false;
    char line[512];
    sl_store_report_line(&rep, line, sizeof line);
    tap_diag("%s", line);
    ok(rep.nfailures == 0 && rep.tests == 2 && rep.canaries == 1 && rep.history == 2 &&
           rep.versions == 12 && rep.metrics == 5 && rep.overrides == 2,
       "report: 12 versions, 2 tests, 1 canary, 2 finished, 5 with metrics, 2 overrides");
    ok(ps.n == 2 && rep.policy_states == 2, "two policy states handed back, the deleted one not");
    ok(rep.last_seq == sl_engine_last_seq(a) && rep.events == rep.last_seq,
       "the whole event log is stored (%llu events)", (unsigned long long)rep.events);
    compare_models(a, b);
    compare_tests(a, b);
    compare_rest(a, b);

    check_events(&st2, b, &rep, &kb);
    sl_engine_delete(b);
    sl_engine_delete(a);
    sl_store_close(&st2);
}

/* ---- bad rows ---------------------------------------------------------------------- */

static void sql(const char *db, const char *stmt)
{
    sqlite3 *h;
    sqlite3_open(db, &h);
    char *msg = NULL;
    if (sqlite3_exec(h, stmt, NULL, NULL, &msg) != SQLITE_OK)
        tap_diag("sql failed: %s", msg);
    sqlite3_free(msg);
    sqlite3_close(h);
}

/* Flip one byte in the middle of a stored metrics blob. */
static void corrupt_blob(const char *db, const char *id, int arm)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    sqlite3_open(db, &h);
    sqlite3_prepare_v2(h, "SELECT blob FROM metrics WHERE id = ?1 AND arm = ?2", -1, &st, NULL);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, arm);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_bytes(st, 0) : 0;
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (n > 0)
        memcpy(b, sqlite3_column_blob(st, 0), (size_t)n);
    sqlite3_finalize(st);
    b[n / 2] ^= 0x5a;
    sqlite3_prepare_v2(h, "UPDATE metrics SET blob = ?3 WHERE id = ?1 AND arm = ?2", -1, &st, NULL);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, arm);
    sqlite3_bind_blob(st, 3, b, n, SQLITE_STATIC);
    ok(n > 0 && sqlite3_step(st) == SQLITE_DONE, "corrupted %s arm %d's blob (%d bytes)", id, arm,
       n);
    sqlite3_finalize(st);
    sqlite3_close(h);
    free(b);
}

static void test_bad_rows(const char *db)
{
    corrupt_blob(db, "t1", 1);
    sql(db, "UPDATE objects SET config = '{\"name\":5}' WHERE id = 't3'");
    struct sl_store st;
    struct sl_err err = {0};
    sl_store_sqlite_open(&st, db, &err);
    struct sink k = {.loading = true};
    struct sl_engine *e = new_engine(&k, 100);
    struct sl_store_report rep;
    struct policy_seen ps = {.refuse_c1 = true};
    ok(sl_store_load(&st, e, on_policy, &ps, &rep, &err) == 0, "a store with bad rows loads");
    for (size_t i = 0; i < rep.nfailures; i++)
        tap_diag("reported: %s %s: %s", rep.failures[i].id, rep.failures[i].what,
                 rep.failures[i].msg);
    ok(rep.nfailures == 3 && !strcmp(rep.failures[0].id, "t1") &&
           !strcmp(rep.failures[0].what, "metrics") &&
           strstr(rep.failures[0].msg, "restored without metrics") &&
           !strcmp(rep.failures[1].id, "t3") && !strcmp(rep.failures[1].what, "config") &&
           strstr(rep.failures[1].msg, "name: expected a string") &&
           !strcmp(rep.failures[2].what, "policy"),
       "report names t1's metrics, t3's config and the refused policy state");
    struct sl_variant_metrics m0, m1;
    struct sl_test_info ti;
    ok(sl_engine_test(e, "t1", &ti, NULL) == 0 && ti.status == SL_TEST_RUNNING &&
           sl_engine_metrics(e, "t1", 0, 0, &m0, NULL) == 0 &&
           sl_engine_metrics(e, "t1", 1, 0, &m1, NULL) == 0 && m0.requests == 0 && m1.requests == 0,
       "t1 is restored running, without metrics (neither arm: no half-restored split)");
    ok(sl_engine_test(e, "t3", &ti, NULL) == -1, "t3 (bad config) is not restored");
    ok(rep.tests == 1 && rep.canaries == 1 && rep.history == 2 && rep.metrics == 3 &&
           sl_engine_metrics(e, "c1", 1, 0, &m1, NULL) == 0 && m1.requests > 0,
       "the rest is restored, with metrics");
    sl_engine_delete(e);
    sl_store_close(&st);
}

/* ---- transactions and deletion ----------------------------------------------------- */

static int count_rows(const char *db, const char *table)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    char q[128];
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM %s", table);
    sqlite3_open(db, &h);
    int n = sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW
                ? sqlite3_column_int(st, 0)
                : -1;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static int load_policies(const char *db, struct policy_seen *ps, struct sl_store_report *rep)
{
    struct sl_store st;
    struct sink k = {.loading = true};
    struct sl_engine *e = new_engine(&k, 100);
    int rc = sl_store_sqlite_open(&st, db, NULL) || sl_store_load(&st, e, on_policy, ps, rep, NULL);
    sl_engine_delete(e);
    sl_store_close(&st);
    return rc;
}

static void test_transactions(void)
{
    char db[300];
    path_in_dir(db, sizeof db, "txn.db");
    struct sl_store st;
    struct sl_err err = {0};
    sl_store_sqlite_open(&st, db, &err);
    struct sink k = {.store = &st};
    struct sl_engine *e = new_engine(&k, 100);
    ok(sl_store_commit(&st, &err) == -1 && err.code == SL_ESTATE, "commit without begin: %s",
       err.msg);
    sl_store_begin(&st, NULL);
    sl_store_save_policy_state(&st, "x", "kept", "1", NULL);
    sl_store_begin(&st, NULL);
    sl_store_save_policy_state(&st, "x", "inner", "2", NULL);
    sl_store_rollback(&st, NULL);
    ok(sl_store_save_test(&st, e, "nope", &err) == -1 && err.code == SL_ENOTFOUND,
       "saving an unknown test fails (%s)", err.msg);
    ok(sl_store_commit(&st, &err) == 0, "the outer transaction still commits");
    struct policy_seen ps = {0};
    struct sl_store_report rep;
    load_policies(db, &ps, &rep);
    ok(ps.n == 1 && strcmp(ps.last, "x/kept=1") == 0,
       "an inner rollback undid only the inner work (%s)", ps.last);
    sl_store_begin(&st, NULL);
    sl_store_save_policy_state(&st, "x", "lost", "3", NULL);
    sl_store_rollback(&st, NULL);
    ps = (struct policy_seen){0};
    load_policies(db, &ps, &rep);
    ok(ps.n == 1, "an outer rollback undid everything");
    sl_engine_delete(e);
    sl_store_close(&st);
}

/* A store at dir/name, and an engine logging into it with model m at v1
 * and v2; *k is the engine's sink. */
static struct sl_engine *store_and_engine(const char *name, char *db, size_t n, struct sl_store *st,
                                          struct sink *k)
{
    path_in_dir(db, n, name);
    sl_store_sqlite_open(st, db, NULL);
    *k = (struct sink){.store = st};
    struct sl_engine *e = new_engine(k, 100);
    add_version(e, "m", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "m", "v2", NULL, NULL, SL_HEALTH_HEALTHY);
    return e;
}

static void test_delete(void)
{
    char db[300];
    struct sl_store st;
    struct sl_err err = {0};
    struct sink k;
    struct sl_engine *e = store_and_engine("delete.db", db, sizeof db, &st, &k);
    struct sl_test_config c = {.id = "gone",
                               .name = "g",
                               .model = "m",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .routing = SL_ROUTING_STICKY};
    sl_engine_create_test(e, &c, NULL, NULL);
    sl_engine_act(e, "gone", SL_VERB_START, "user", NULL, NULL);
    sl_engine_set_override(e, "gone", "u1", 1, NULL);
    sl_store_save_all(&st, e, NULL);
    sl_store_checkpoint(&st, e, NULL);
    sl_store_save_policy_state(&st, "gone", "p", "{}", NULL);
    sl_store_save_policy_state(&st, "other", "p", "{}", NULL);
    ok(count_rows(db, "metrics") == 2 && count_rows(db, "overrides") == 1,
       "an object has metrics and overrides rows");
    ok(sl_store_delete_object(&st, "gone", &err) == 0 && count_rows(db, "objects") == 0 &&
           count_rows(db, "metrics") == 0 && count_rows(db, "overrides") == 0 &&
           count_rows(db, "policy_state") == 1,
       "delete_object removes its row, metrics, overrides and policy states");
    ok(sl_store_delete_object(&st, "never-was", &err) == 0, "deleting an unknown id is fine");
    sl_engine_delete(e);
    sl_store_close(&st);
}

/* ---- pruning the event log ------------------------------------------------------- */

struct pruned_seen {
    uint64_t n, old, old_creates, upto;
};

static int on_pruned(void *ud, const struct sl_event *ev)
{
    struct pruned_seen *s = ud;
    s->n++;
    if (ev->seq <= s->upto) {
        s->old++;
        s->old_creates += strcmp(ev->action, "create") == 0;
    }
    return 0;
}

/* prune_events keeps the newest events and every creation; ids of tests
 * whose rows and events are gone are still never handed out again. */
static void test_prune_events(void)
{
    char db[300];
    struct sl_store st;
    struct sl_err err = {0};
    struct sink k;
    struct sl_engine *e = store_and_engine("prune.db", db, sizeof db, &st, &k);
    char ids[3][SL_ID_MAX + 1];
    for (int i = 0; i < 3; i++) {
        struct sl_test_config c = {.name = "p",
                                   .model = "m",
                                   .control_version = "v1",
                                   .treatment_version = "v2",
                                   .routing = SL_ROUTING_HASH};
        sl_engine_create_test(e, &c, ids[i], NULL);
        sl_engine_act(e, ids[i], SL_VERB_START, "user", NULL, NULL);
        for (int j = 0; j < 20; j++) {
            sl_engine_act(e, ids[i], SL_VERB_PAUSE, "user", NULL, NULL);
            sl_engine_act(e, ids[i], SL_VERB_RESUME, "user", NULL, NULL);
        }
        sl_engine_act(e, ids[i], SL_VERB_STOP, "user", NULL, NULL);
    }
    sl_store_save_all(&st, e, NULL);
    for (int i = 0; i < 3; i++) /* as when the history evicts them */
        sl_store_delete_object(&st, ids[i], NULL);
    uint64_t last = sl_engine_last_seq(e), upto = last - 10;
    uint64_t rows = (uint64_t)count_rows(db, "events");
    ok(k.failures == 0 && rows == last && last > 120, "%llu events stored",
       (unsigned long long)rows);
    size_t deleted = 0, total = 0;
    int calls = 0, failed = 0;
    do { /* 50 rows at a time, as the daemon does 10,000 */
        failed += sl_store_prune_events(&st, 0, upto, 50, &deleted, &err) != 0;
        total += deleted;
    } while (deleted == 50 && ++calls < 10);
    ok(!failed && total == rows - 13 && calls == 2,
       "prune_events in 50-row steps: %zu rows in %d full steps and a last (%s)", total, calls,
       err.msg);
    struct pruned_seen s = {.upto = upto};
    sl_store_events(&st, 0, 1000000, on_pruned, &s, NULL);
    ok(s.n == 13 && s.old == 3 && s.old_creates == 3,
       "the newest 10 are kept, and of the older ones only the 3 creations (%llu kept, %llu older)",
       (unsigned long long)s.n, (unsigned long long)s.old);
    ok(sl_store_prune_events(&st, 0, upto, 50, &deleted, &err) == 0 && deleted == 0 &&
           count_rows(db, "events") == 13,
       "pruning again up to the same seq changes nothing");
    int rc = sl_store_prune_events(&st, upto, last - 1, 50, &deleted, &err);
    ok(rc == 0 && deleted == 9 && count_rows(db, "events") == 4,
       "from after on: 9 more go; the newest and the 3 creations stay (%zu)", deleted);
    sl_engine_delete(e);
    sl_store_close(&st);

    /* restart: the next id follows the highest ever created, not the stored rows */
    struct sl_store st2;
    sl_store_sqlite_open(&st2, db, &err);
    struct sink kb = {.store = &st2, .loading = true};
    struct sl_engine *b = new_engine(&kb, 100);
    struct sl_store_report rep;
    struct policy_seen ps = {0};
    ok(sl_store_load(&st2, b, on_policy, &ps, &rep, &err) == 0, "a pruned store loads (%s)",
       err.msg);
    kb.loading = false;
    add_version(b, "m", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(b, "m", "v2", NULL, NULL, SL_HEALTH_HEALTHY);
    struct sl_test_config c = {.name = "after",
                               .model = "m",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .routing = SL_ROUTING_HASH};
    char id[SL_ID_MAX + 1] = "";
    sl_engine_create_test(b, &c, id, &err);
    bool reused = false;
    for (int i = 0; i < 3; i++)
        reused |= strcmp(id, ids[i]) == 0;
    ok(id[0] && !reused, "the next id (%s) is none of the pruned tests' (%s, %s, %s)", id, ids[0],
       ids[1], ids[2]);
    sl_engine_delete(b);
    sl_store_close(&st2);
}

/* ---- schema ------------------------------------------------------------------------ */

static void test_schema(void)
{
    char db[300];
    struct sl_store st;
    struct sl_err err = {0};
    path_in_dir(db, sizeof db, "newer.db");
    ok(sl_store_sqlite_open(&st, db, &err) == 0, "a new database is created at schema %d",
       sl_store_sqlite_schema_version());
    sl_store_close(&st);
    sql(db, "UPDATE schema_version SET version = 99");
    ok(sl_store_sqlite_open(&st, db, &err) == -1 && err.code == SL_EINVAL &&
           strstr(err.msg, "schema version 99, newer") && st.ops == NULL,
       "a newer schema is refused: %s", err.msg);
    path_in_dir(db, sizeof db, "foreign.db");
    sql(db, "CREATE TABLE accounts (id INTEGER)");
    ok(sl_store_sqlite_open(&st, db, &err) == -1 && strstr(err.msg, "not a sluice database"),
       "another application's database is refused: %s", err.msg);
    path_in_dir(db, sizeof db, "text.db");
    FILE *f = fopen(db, "w");
    fputs("this is not a database, just some text that is long enough to have a header\n", f);
    fclose(f);
    ok(sl_store_sqlite_open(&st, db, &err) == -1, "a text file is refused: %s", err.msg);
    path_in_dir(db, sizeof db, "no/such/dir.db");
    ok(sl_store_sqlite_open(&st, db, &err) == -1 && strstr(err.msg, "cannot open"),
       "a missing directory is an error: %s", err.msg);
    ok(sl_store_checkpoint(&st, NULL, &err) == -1 && err.code == SL_ESTATE,
       "a store that failed to open refuses calls");
}

/* ---- crash ------------------------------------------------------------------------- */

#define CRASH_BATCH 300

static double crash_pct(int i)
{
    return 5 + i % 90;
}

/* What the child tells the parent: a commit returned, or a batch begins. */
struct crash_msg {
    uint64_t kind; /* 0: commit acknowledged, 1: batch transaction begins */
    uint64_t seq;  /* last event seq committed */
    uint64_t i;    /* iteration */
};

static void crash_tell(int fd, uint64_t kind, uint64_t seq, int i)
{
    struct crash_msg m = {kind, seq, (uint64_t)i};
    if (write(fd, &m, sizeof m) != sizeof m)
        _exit(4);
}

/* One transaction of many rows, all tagged with iteration i. */
static int crash_batch(struct sl_store *st, int fd, int i)
{
    char policy[32], json[96];
    crash_tell(fd, 1, 0, i);
    if (sl_store_begin(st, NULL))
        return -1;
    for (int j = 0; j < CRASH_BATCH; j++) {
        snprintf(policy, sizeof policy, "p%d", j);
        snprintf(json, sizeof json, "{\"iter\":%d,\"pad\":\"%040d\"}", i, j);
        if (sl_store_save_policy_state(st, "t", policy, json, NULL))
            return -1;
    }
    return sl_store_commit(st, NULL);
}

static struct sl_engine *crash_engine(struct sl_store *st, struct sink *k)
{
    struct sl_engine *e = new_engine(k, 100);
    add_version(e, "m", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "m", "v2", NULL, NULL, SL_HEALTH_HEALTHY);
    struct sl_test_config c = {
        .id = "t", .name = "t", .model = "m", .control_version = "v1", .treatment_version = "v2"};
    sl_engine_create_test(e, &c, NULL, NULL);
    sl_engine_act(e, "t", SL_VERB_START, "user", NULL, NULL);
    tick(e, 1);
    sl_store_save_all(st, e, NULL);
    return e;
}

/* The child: commit allocation changes one by one, acknowledging each on fd
 * after its commit returns, with checkpoints and a batch transaction between. */
static void crash_child(const char *db, int fd)
{
    struct sl_store st;
    if (sl_store_sqlite_open(&st, db, NULL))
        _exit(2);
    struct sink k = {.store = &st};
    struct sl_engine *e = crash_engine(&st, &k);
    for (int i = 0;; i++) {
        sl_engine_set_allocation(e, "t", crash_pct(i), "user", NULL, NULL);
        if (sl_store_save_test(&st, e, "t", NULL))
            _exit(3);
        crash_tell(fd, 0, sl_engine_last_seq(e), i);
        traffic(e, "m", 50, i);
        if (i % 7 == 0 && sl_store_checkpoint(&st, e, NULL))
            _exit(5);
        if (i % 5 == 0 && crash_batch(&st, fd, i))
            _exit(6);
    }
}

static bool integrity_ok(const char *db)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    sqlite3_open(db, &h);
    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL);
    bool good = sqlite3_step(st) == SQLITE_ROW &&
                strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return good;
}

struct batch_seen {
    int n, iter;
    bool same;
};

static int on_batch(void *ud, const char *id, const char *policy, const char *json,
                    struct sl_err *err)
{
    struct batch_seen *b = ud;
    int iter = -1;
    (void)id;
    (void)policy;
    (void)err;
    if (sscanf(json, "{\"iter\":%d", &iter) != 1)
        iter = -2;
    b->same &= b->n == 0 || iter == b->iter;
    b->iter = iter;
    b->n++;
    return 0;
}

/* Run the child; SIGKILL it as soon as it begins a batch transaction after
 * `acks` acknowledged commits. *last: the last acknowledgement. */
static int crash_run(const char *db, int acks, struct crash_msg *last, int *batch)
{
    int p[2], status = 0, n = 0;
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        crash_child(db, p[1]);
    }
    close(p[1]);
    struct crash_msg m;
    while (read(p[0], &m, sizeof m) == sizeof m) {
        if (m.kind == 0) {
            n++;
            *last = m;
        }
        if (m.kind == 1 && n >= acks) {
            *batch = (int)m.i;
            kill(pid, SIGKILL);
            break;
        }
    }
    waitpid(pid, &status, 0);
    close(p[0]);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? n : -1;
}

static void crash_round(int round, int acks_before_kill)
{
    char db[300], name[32];
    snprintf(name, sizeof name, "crash%d.db", round);
    path_in_dir(db, sizeof db, name);
    struct crash_msg last = {0};
    int batch = -1, acks = crash_run(db, acks_before_kill, &last, &batch);
    ok(acks >= acks_before_kill && last.seq > 0,
       "round %d: writer killed with SIGKILL inside batch %d, after %d acknowledged commits", round,
       batch, acks);
    ok(integrity_ok(db), "round %d: PRAGMA integrity_check = ok", round);

    struct sl_store st;
    struct sl_err err = {0};
    struct sink k = {.loading = true};
    struct sl_engine *e = new_engine(&k, 100);
    struct sl_store_report rep;
    struct batch_seen bs = {.iter = -1, .same = true};
    ok(sl_store_sqlite_open(&st, db, &err) == 0 &&
           sl_store_load(&st, e, on_batch, &bs, &rep, &err) == 0 && rep.nfailures == 0 &&
           rep.tests == 1,
       "round %d: the store loads cleanly (%s)", round, err.msg);
    ok(bs.n == CRASH_BATCH && bs.same && (bs.iter == batch - 5 || bs.iter == batch),
       "round %d: batches are all or nothing: %d rows, all of batch %d (%s)", round, bs.n, bs.iter,
       bs.iter == batch ? "the killed one had committed" : "the killed one is absent");
    struct events_seen es = {.ordered = true};
    sl_store_events(&st, 0, 1000000, on_event, &es, NULL);
    ok(es.ordered && es.first == 1 && es.last >= last.seq,
       "round %d: every acknowledged event is there (up to seq %llu, stored %llu)", round,
       (unsigned long long)last.seq, (unsigned long long)es.last);
    struct sl_test_info ti;
    sl_engine_test(e, "t", &ti, NULL);
    ok(ti.treatment_pct == crash_pct((int)last.i),
       "round %d: the last acknowledged allocation is stored (%.0f%%)", round, ti.treatment_pct);
    sl_engine_delete(e);
    sl_store_close(&st);
}

/* ---- measurements ------------------------------------------------------------------ */

static struct sl_engine *one_running_test(struct sink *k)
{
    struct sl_engine *e = new_engine(k, 100);
    add_version(e, "m", "v1", NULL, NULL, SL_HEALTH_HEALTHY);
    add_version(e, "m", "v2", NULL, NULL, SL_HEALTH_HEALTHY);
    struct sl_test_config c = {.id = "t",
                               .name = "t",
                               .model = "m",
                               .control_version = "v1",
                               .treatment_version = "v2",
                               .success_metrics = clicks,
                               .nsuccess = 1};
    sl_engine_create_test(e, &c, NULL, NULL);
    sl_engine_act(e, "t", SL_VERB_START, "user", NULL, NULL);
    tick(e, 1);
    return e;
}

static void measure_commit(const char *db)
{
    struct sl_store st;
    struct sl_err err = {0};
    sl_store_sqlite_open(&st, db, &err);
    struct sink k = {.store = &st, .loading = true};
    struct sl_engine *e = one_running_test(&k);
    double worst = 0, total = 0;
    int n = 100, fails = 0;
    for (int i = 0; i < n; i++) {
        sl_engine_set_allocation(e, "t", 10 + i % 50, "user", NULL, NULL);
        double t0 = mono_ms();
        fails += sl_store_save_test(&st, e, "t", &err) != 0;
        double dt = mono_ms() - t0;
        total += dt;
        worst = dt > worst ? dt : worst;
    }
    ok(fails == 0, "%d save_test commits", n);
    tap_diag("save_test commit (synchronous=FULL): mean %.3f ms, max %.3f ms over %d", total / n,
             worst, n);
    k.loading = false;
    total = 0;
    for (int i = 0; i < n; i++) {
        double t0 = mono_ms();
        sl_engine_emit(e, SL_EVENT_DECISION, "t", "policy:x", "alert", "probe", NULL, NAN, NULL);
        total += mono_ms() - t0;
    }
    tap_diag("append_event, own commit (synchronous=FULL): mean %.3f ms", total / n);
    sl_engine_delete(e);
    sl_store_close(&st);
}

static struct sl_engine *thousand_tests(struct sink *k, int n)
{
    struct sl_engine *e = new_engine(k, n + 10);
    char model[32], id[32];
    for (int i = 0; i < n; i++) {
        snprintf(model, sizeof model, "m%d", i);
        snprintf(id, sizeof id, "t%d", i);
        add_version(e, model, "v1", NULL, NULL, SL_HEALTH_HEALTHY);
        add_version(e, model, "v2", NULL, NULL, SL_HEALTH_HEALTHY);
        struct sl_test_config c = {.id = id,
                                   .name = id,
                                   .model = model,
                                   .control_version = "v1",
                                   .treatment_version = "v2",
                                   .success_metrics = clicks,
                                   .nsuccess = 1};
        sl_engine_create_test(e, &c, NULL, NULL);
        sl_engine_act(e, id, SL_VERB_START, "user", NULL, NULL);
    }
    return e;
}

/* 200 results per test, latencies spread over 2 ms .. 1.2 s; one window slot. */
static void thousand_traffic(struct sl_engine *e, int n, int seed)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "t%d", i);
        for (int k = 0; k < 200; k++) {
            struct sl_sample s = {0, k % 3};
            sl_engine_record(e, id, k & 1, (k + seed) % 23 != 0, 2 + (k * 37 + seed) % 700 * 1.7,
                             &s, 1, NULL);
        }
    }
    tick(e, 60);
}

static double timed_checkpoint(struct sl_store *st, struct sl_engine *e, int *fails)
{
    struct sl_err err = {0};
    double t0 = mono_ms();
    *fails += sl_store_checkpoint(st, e, &err) != 0;
    return mono_ms() - t0;
}

static void measure_load(const char *db, struct sl_engine *e, int n)
{
    struct sl_store st;
    struct sl_err err = {0};
    sl_store_sqlite_open(&st, db, &err);
    struct sink kb = {.loading = true};
    struct sl_engine *b = new_engine(&kb, n + 10);
    struct sl_store_report rep;
    double t0 = mono_ms();
    ok(sl_store_load(&st, b, NULL, NULL, &rep, &err) == 0 && rep.tests == (size_t)n &&
           rep.metrics == (size_t)n && rep.nfailures == 0,
       "all %d tests load back with metrics", n);
    tap_diag("load of %d running tests with metrics: %.1f ms", n, mono_ms() - t0);
    ok(same_metrics(e, b, "t999", 1, 0) && same_metrics(e, b, "t0", 0, 120),
       "the metrics are the same");
    sl_engine_delete(b);
    sl_store_close(&st);
}

static void measure_checkpoint(const char *db)
{
    const int n = 1000;
    struct sl_store st;
    struct sl_err err = {0};
    sl_store_sqlite_open(&st, db, &err);
    struct sink k = {.store = NULL};
    struct sl_engine *e = thousand_tests(&k, n);
    thousand_traffic(e, n, 1);
    double t0 = mono_ms();
    int fails = sl_store_save_all(&st, e, &err) != 0;
    tap_diag("save_all of %d running tests: %.1f ms", n, mono_ms() - t0);
    double first = timed_checkpoint(&st, e, &fails);
    thousand_traffic(e, n, 2);
    double changed = timed_checkpoint(&st, e, &fails);
    double same = timed_checkpoint(&st, e, &fails);
    thousand_traffic(e, n, 3);
    double again = timed_checkpoint(&st, e, &fails);
    ok(fails == 0, "checkpoints of %d running tests succeed", n);
    size_t raw = sl_engine_save_metrics(e, "t0", 0, NULL, 0, NULL), packed;
    struct sl_store_scratch sc = {0};
    const void *blob;
    uint64_t sum;
    sl_store_metrics_blob(e, "t0", 0, &sc, &blob, &packed, &sum, NULL);
    sl_store_scratch_free(&sc);
    tap_diag("checkpoint of %d running tests (2 arms x %zu bytes, packed %zu, + state): "
             "first %.1f ms, all changed %.1f ms / %.1f ms, nothing changed %.1f ms",
             n, raw, packed, first, changed, again, same);
    sl_store_close(&st);
    measure_load(db, e, n);
    sl_engine_delete(e);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/sl-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    char db[300];
    path_in_dir(db, sizeof db, "sluice.db");
    test_round_trip(db);
    test_bad_rows(db);
    test_schema();
    test_transactions();
    test_delete();
    test_prune_events();
    for (int round = 1; round <= 3; round++)
        crash_round(round, 40 * round);
    path_in_dir(db, sizeof db, "commit.db");
    measure_commit(db);
    path_in_dir(db, sizeof db, "ckpt.db");
    measure_checkpoint(db);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        tap_diag("could not remove %s", dir);
    return tap_done();
}
