/* embed_c - sluice embedded in a C service, with the built-in policies.
 *
 * Routes and records synthetic requests in-process and runs the engine's ticks
 * on its own libev loop, as a service would. Time is virtual (one tick = one
 * simulated minute) so the example finishes in a moment; a real service passes
 * sl_clock_wall. The treatment's error rate jumps after simulated minute 30 and
 * the threshold guard rolls the test back.
 *
 * Build against an installed sluice:
 *   cc main.c $(pkg-config --cflags --libs sluice) -lev -o embed
 *   ./embed "$(pkg-config --variable=policydir sluice)"
 * Exit status 0 when the test was rolled back by the guard, 1 otherwise. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>

#include <host.h>
#include <sluice.h>

struct service {
    struct sl_engine *eng;
    double now; /* virtual seconds */
    unsigned long seed;
    int ticks;
    ev_timer tick_w;
};

static double service_clock(void *ud)
{
    return ((struct service *)ud)->now;
}

static double uniform(struct service *s)
{
    s->seed = s->seed * 6364136223846793005UL + 1442695040888963407UL;
    return (double)(s->seed >> 11) / 9007199254740992.0;
}

/* One simulated minute of traffic: 2,000 requests routed and recorded. */
static void serve_minute(struct service *s)
{
    char unit[32];
    for (int i = 0; i < 2000; i++) {
        struct sl_route r;
        snprintf(unit, sizeof unit, "user-%d", (int)(uniform(s) * 100000));
        if (sl_engine_route(s->eng, "ranker", unit, &r, NULL) || r.kind != SL_KIND_TEST)
            continue;
        double bad = r.arm == SL_ARM_TREATMENT && s->now > 30 * 60 ? 0.08 : 0.01;
        sl_engine_record_route(s->eng, &r, uniform(s) >= bad, 20 + 30 * uniform(s), NULL, 0, NULL);
    }
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct service *s = (struct service *)((char *)w - offsetof(struct service, tick_w));
    serve_minute(s);
    s->now += 60;
    struct sl_err err;
    if (sl_engine_tick(s->eng, &err))
        fprintf(stderr, "tick: %s\n", err.msg);
    struct sl_test_info t;
    sl_engine_test(s->eng, "checkout-model", &t, NULL);
    if (t.status != SL_TEST_RUNNING || ++s->ticks == 120)
        ev_break(loop, EVBREAK_ALL);
}

static int setup(struct service *s, const char *policy_dir, struct sl_host **host)
{
    struct sl_engine_opts o;
    struct sl_err err;
    sl_engine_opts_default(&o);
    o.clock = service_clock;
    o.clock_ud = s;
    if (!(s->eng = sl_engine_new(&o, &err)))
        return fprintf(stderr, "engine: %s\n", err.msg), -1;
    struct sl_host_opts ho;
    sl_host_opts_default(&ho);
    ho.dirs = &policy_dir;
    ho.ndirs = 1;
    if (!(*host = sl_host_new(s->eng, &ho, &err)))
        return fprintf(stderr, "policies: %s\n", err.msg), -1;
    struct sl_version_config v1 = {.model = "ranker", .version = "v1"};
    struct sl_version_config v2 = {.model = "ranker", .version = "v2"};
    struct sl_test_config c = {
        .id = "checkout-model",
        .name = "ranker v2",
        .model = "ranker",
        .control_version = "v1",
        .treatment_version = "v2",
        .policies = "{\"guards\":[{\"name\":\"threshold\",\"params\":{\"metric\":\"error_rate\","
                    "\"type\":\"maximum\",\"value\":0.05,\"action\":\"rollback\","
                    "\"window\":\"5m\"}}]}"};
    if (sl_engine_add_version(s->eng, &v1, &err) || sl_engine_add_version(s->eng, &v2, &err) ||
        sl_host_check_config(*host, c.policies, SL_KIND_TEST, &err) ||
        sl_engine_create_test(s->eng, &c, NULL, &err) ||
        sl_engine_act(s->eng, "checkout-model", SL_VERB_START, "embed", NULL, &err))
        return fprintf(stderr, "setup: %s\n", err.msg), -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *policy_dir = argc > 1 ? argv[1] : "policies";
    static struct service s = {.seed = 42};
    struct sl_host *host = NULL;
    int rc = 1;
    if (setup(&s, policy_dir, &host) == 0) {
        struct ev_loop *loop = ev_default_loop(0);
        ev_timer_init(&s.tick_w, on_tick, 0.001, 0.001); /* a simulated minute per ms */
        ev_timer_start(loop, &s.tick_w);
        ev_run(loop, 0);
        struct sl_test_info t;
        sl_engine_test(s.eng, "checkout-model", &t, NULL);
        printf("after %d simulated minutes: %s (%s)\n", s.ticks, sl_test_status_name(t.status),
               t.last_reason ? t.last_reason : "");
        rc = t.status == SL_TEST_ROLLED_BACK ? 0 : 1;
    }
    sl_host_delete(host);
    sl_engine_delete(s.eng);
    return rc;
}
