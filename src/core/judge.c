/* judge.c - applying judgement: decisions from the evaluator, on each tick.
 *
 * The core asks the evaluator (the policy host) for decisions per hook, picks
 * among them (guards: rollback beats pause beats reduce beats alert), checks
 * that each is legal, applies it through the same paths an operator uses, and
 * logs every decision — applied or shadow — with the policy, its version, the
 * reason and the inputs it read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "judge.h"

#define SL_MAX_DECISIONS 32

void sl_engine_set_evaluator(struct sl_engine *eng, const struct sl_evaluator *ev)
{
    if (ev)
        eng->evaluator = *ev;
    else
        memset(&eng->evaluator, 0, sizeof eng->evaluator);
}

struct sl_evaluator sl_engine_evaluator(const struct sl_engine *eng)
{
    return eng->evaluator;
}

int sl_decide_rank(int action)
{
    static const int rank[] = {
        [SL_DECIDE_NONE] = 0,        [SL_DECIDE_RESUME] = 1, [SL_DECIDE_ALERT] = 2,
        [SL_DECIDE_SET_TRAFFIC] = 3, [SL_DECIDE_PAUSE] = 4,  [SL_DECIDE_ROLLBACK] = 5,
        [SL_DECIDE_PROMOTE] = 1,
    };
    return action >= 0 && action <= SL_DECIDE_PROMOTE ? rank[action] : -1;
}

static int sl_decision_check(const struct sl_decision *d, struct sl_err *err)
{
    if (d->hook < 0 || d->hook >= SL_NHOOKS)
        return sl_err_set(err, SL_EINVAL, "decision: unknown hook %d", d->hook);
    if (sl_decide_rank(d->action) < 0)
        return sl_err_set(err, SL_EINVAL, "decision: unknown action %d", d->action);
    if (d->action == SL_DECIDE_SET_TRAFFIC && !(d->treatment >= 0 && d->treatment <= 100))
        return sl_err_set(err, SL_EINVAL, "decision: treatment %g is outside [0,100]",
                          d->treatment);
    if (d->recommendation < SL_REC_NONE || d->recommendation > SL_REC_DECREASE_TRAFFIC)
        return sl_err_set(err, SL_EINVAL, "decision: unknown recommendation %d", d->recommendation);
    if (d->trigger < SL_TRIGGER_NONE || d->trigger > SL_TRIGGER_MANUAL)
        return sl_err_set(err, SL_EINVAL, "decision: unknown trigger %d", d->trigger);
    return 0;
}

/* s as the body of a JSON string (quotes, backslashes and control bytes
 * escaped), truncated to fit out. */
static const char *sl_json_escape(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; *s && o + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, size - o, "\\%c", c);
        else if (c < 0x20)
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

/* The event detail: {"policy":..,"version":..,"hook":..,"shadow":..,
 * "recommendation":..,"inputs":{..}}. inputs is JSON from the evaluator. */
static char *sl_decision_detail(const struct sl_decision *d)
{
    const char *inputs = d->inputs && d->inputs[0] ? d->inputs : "{}";
    size_t n = strlen(inputs) + 1024;
    char *s = malloc(n), name[400], version[200];
    if (s)
        snprintf(s, n,
                 "{\"policy\":\"%s\",\"version\":\"%s\",\"hook\":\"%s\",\"shadow\":%s,"
                 "\"recommendation\":\"%s\",\"inputs\":%s}",
                 sl_json_escape(d->policy, name, sizeof name),
                 sl_json_escape(d->version, version, sizeof version), sl_hook_name(d->hook),
                 d->shadow ? "true" : "false", sl_recommendation_name(d->recommendation), inputs);
    return s;
}

static void sl_decision_log(struct sl_engine *eng, const char *id, const struct sl_decision *d,
                            const char *action)
{
    char actor[96];
    snprintf(actor, sizeof actor, "policy:%s", d->policy[0] ? d->policy : "?");
    char *detail = sl_decision_detail(d);
    double v = d->action == SL_DECIDE_SET_TRAFFIC ? d->treatment : NAN;
    sl_engine_emit(eng, SL_EVENT_DECISION, id, actor, action, d->reason, detail, v, NULL);
    free(detail);
}

/* ---- applying ------------------------------------------------------------------- */

static int sl_apply_recommendation(struct sl_engine *eng, struct sl_test *t,
                                   const struct sl_decision *d)
{
    /* Reasons quote live numbers and change every tick: log changes of the
     * recommendation itself, keep the latest reason for snapshots. */
    bool changed = t->recommendation != d->recommendation;
    t->recommendation = d->recommendation;
    free(t->recommendation_reason);
    t->recommendation_reason = strdup(d->reason);
    if (changed) /* a recommendation repeats every tick: log changes only */
        sl_decision_log(eng, t->cfg.id, d, sl_recommendation_name(d->recommendation));
    return 0;
}

/* Would applying d change anything? Repeated guard verdicts are no-ops. */
static bool sl_decision_noop(const struct sl_engine *eng, const char *id,
                             const struct sl_decision *d)
{
    struct sl_test_info t;
    struct sl_canary_info k;
    if (sl_engine_test(eng, id, &t, NULL) == 0) {
        if (d->action == SL_DECIDE_PAUSE)
            return t.status == SL_TEST_PAUSED;
        if (d->action == SL_DECIDE_RESUME)
            return t.status == SL_TEST_RUNNING;
        if (d->action == SL_DECIDE_SET_TRAFFIC)
            return t.treatment_pct == d->treatment;
    } else if (sl_engine_canary(eng, id, &k, NULL) == 0) {
        if (d->action == SL_DECIDE_SET_TRAFFIC)
            return k.traffic_pct == d->treatment;
        if (d->action == SL_DECIDE_PAUSE || d->action == SL_DECIDE_RESUME)
            return true; /* canaries have no pause: a pausing guard holds the ramp only */
    }
    return false;
}

static int sl_apply_action(struct sl_engine *eng, const char *id, const struct sl_decision *d,
                           const char *actor, struct sl_err *err)
{
    struct sl_canary_info k;
    switch (d->action) {
    case SL_DECIDE_SET_TRAFFIC:
        return sl_engine_set_allocation(eng, id, d->treatment, actor, d->reason, err);
    case SL_DECIDE_PAUSE:
        return sl_engine_act(eng, id, SL_VERB_PAUSE, actor, d->reason, err);
    case SL_DECIDE_RESUME:
        return sl_engine_act(eng, id, SL_VERB_RESUME, actor, d->reason, err);
    case SL_DECIDE_PROMOTE:
        return sl_engine_act(eng, id, SL_VERB_PROMOTE, actor, d->reason, err);
    case SL_DECIDE_ROLLBACK:
        if (sl_engine_canary(eng, id, &k, NULL) == 0)
            return sl_engine_rollback_canary(
                eng, id, d->trigger ? d->trigger : SL_TRIGGER_CUSTOM_METRIC, actor, d->reason, err);
        return sl_engine_act(eng, id, SL_VERB_ROLLBACK, actor, d->reason, err);
    default:
        return 0;
    }
}

int sl_engine_apply(struct sl_engine *eng, const char *id, const struct sl_decision *d,
                    struct sl_err *err)
{
    if (sl_decision_check(d, err))
        return -1;
    struct sl_test *t = sl_engine_find_test(eng, id);
    int kind = t ? SL_KIND_TEST : sl_engine_find_canary(eng, id) ? SL_KIND_CANARY : SL_KIND_NONE;
    if (kind == SL_KIND_NONE)
        return sl_err_set(err, SL_ENOTFOUND, "unknown test or canary '%s'", id ? id : "");
    if (d->shadow) {
        sl_decision_log(eng, id, d, sl_decide_name(d->action));
        return 0;
    }
    if (d->hook == SL_HOOK_RECOMMEND && d->action == SL_DECIDE_NONE && kind == SL_KIND_TEST)
        return sl_apply_recommendation(eng, t, d);
    if (d->action == SL_DECIDE_NONE || sl_decision_noop(eng, id, d))
        return 0;
    char actor[96];
    snprintf(actor, sizeof actor, "policy:%s", d->policy[0] ? d->policy : "?");
    sl_decision_log(eng, id, d, sl_decide_name(d->action));
    return sl_apply_action(eng, id, d, actor, err);
}

/* ---- the tick's judgement --------------------------------------------------------- */

struct sl_batch {
    struct sl_decision d[SL_MAX_DECISIONS];
    size_t n;
    int configured;
};

static void sl_batch_free(struct sl_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->d[i].inputs);
        b->d[i].inputs = NULL;
    }
    b->n = 0;
}

static int sl_ask(struct sl_engine *eng, int kind, const char *id, int hook, struct sl_batch *b)
{
    struct sl_err err;
    b->n = 0; /* not a memset of the batch (20 KiB): the evaluator writes each decision whole */
    b->configured = eng->evaluator.evaluate(eng->evaluator.ud, eng, kind, id, hook, b->d,
                                            SL_MAX_DECISIONS, &b->n, &err);
    if (b->n > SL_MAX_DECISIONS)
        b->n = SL_MAX_DECISIONS;
    for (size_t i = 0; i < b->n; i++)
        b->d[i].hook = hook;
    if (b->configured < 0) {
        sl_engine_emit(eng, SL_EVENT_ERROR, id, "engine", sl_hook_name(hook), err.msg, NULL, NAN,
                       NULL);
        b->n = 0;
    }
    return b->configured;
}

/* Apply the strongest non-shadow decision, log the others (shadow ones as
 * shadow, weaker alerts as alerts). Returns true when a guard fired. */
static bool sl_apply_guards(struct sl_engine *eng, const char *id, struct sl_batch *b)
{
    int best = -1;
    for (size_t i = 0; i < b->n; i++)
        if (!b->d[i].shadow && b->d[i].action != SL_DECIDE_NONE &&
            (best < 0 || sl_decide_rank(b->d[i].action) > sl_decide_rank(b->d[best].action)))
            best = (int)i;
    /* A winner that changes nothing (pause on a paused test, every tick while
     * its condition holds) is not logged, and neither are those it beats. */
    bool quiet = best >= 0 && sl_decision_noop(eng, id, &b->d[best]);
    for (size_t i = 0; i < b->n; i++) {
        struct sl_decision *d = &b->d[i];
        if ((int)i == best || d->action == SL_DECIDE_NONE)
            continue;
        if (d->shadow) {
            (void)sl_engine_apply(eng, id, d, NULL);
        } else if (!quiet) { /* logged as what it was, not applied: the stronger one wins */
            char what[32];
            snprintf(what, sizeof what, "%s/overridden", sl_decide_name(d->action));
            sl_decision_log(eng, id, d, what);
        }
    }
    if (best >= 0) {
        struct sl_err err;
        if (sl_engine_apply(eng, id, &b->d[best], &err))
            sl_engine_emit(eng, SL_EVENT_ERROR, id, "engine", "apply", err.msg, NULL, NAN, NULL);
    }
    return best >= 0;
}

/* Whether the auto flags act on recommendation rec (else it is only reported). */
static bool sl_verdict_acts(int rec, bool auto_promote, bool auto_rollback)
{
    return (rec == SL_REC_PROMOTE && auto_promote) || (rec == SL_REC_ROLLBACK && auto_rollback);
}

bool sl_engine_recommendation_logged(const struct sl_engine *eng, const char *id, int rec)
{
    const struct sl_test *t = sl_engine_find_test(eng, id);
    return !t || t->recommendation != rec ||
           sl_verdict_acts(rec, t->cfg.auto_promote, t->cfg.auto_rollback);
}

/* The recommendation a verdict carries: a canary's promotion decision says
 * it as its action. */
static int sl_verdict_rec(int kind, const struct sl_decision *d)
{
    if (kind != SL_KIND_CANARY || d->recommendation != SL_REC_NONE)
        return d->recommendation;
    return d->action == SL_DECIDE_PROMOTE    ? SL_REC_PROMOTE
           : d->action == SL_DECIDE_ROLLBACK ? SL_REC_ROLLBACK
                                             : SL_REC_NONE;
}

static bool sl_auto_flags(const struct sl_engine *eng, int kind, const char *id, bool *promote,
                          bool *rollback)
{
    const struct sl_test *t = kind == SL_KIND_TEST ? sl_engine_find_test(eng, id) : NULL;
    const struct sl_canary *k = kind == SL_KIND_CANARY ? sl_engine_find_canary(eng, id) : NULL;
    *promote = t ? t->cfg.auto_promote : k && k->cfg.auto_promote;
    *rollback = t ? t->cfg.auto_rollback : k && k->cfg.auto_rollback;
    return t || k;
}

int sl_engine_verdict_pick(const struct sl_engine *eng, int kind, const char *id,
                           const struct sl_decision *d, size_t n)
{
    bool promote, rollback;
    int last = -1;
    if (!sl_auto_flags(eng, kind, id, &promote, &rollback))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (d[i].shadow)
            continue;
        if (sl_verdict_acts(sl_verdict_rec(kind, &d[i]), promote, rollback))
            return (int)i;
        last = (int)i;
    }
    return last;
}

/* Recommendations act only where the test's auto flags allow. */
static void sl_apply_verdicts(struct sl_engine *eng, int kind, const char *id, struct sl_batch *b,
                              bool auto_promote, bool auto_rollback)
{
    for (size_t i = 0; i < b->n; i++) {
        struct sl_decision *d = &b->d[i];
        int rec = sl_verdict_rec(kind, d);
        if (d->shadow) { /* logged as shadow, never applied nor remembered */
            (void)sl_engine_apply(eng, id, d, NULL);
            continue;
        }
        bool act = sl_verdict_acts(rec, auto_promote, auto_rollback);
        struct sl_decision r = *d;
        r.action = SL_DECIDE_NONE;
        struct sl_test *t = kind == SL_KIND_TEST ? sl_engine_find_test(eng, id) : NULL;
        if (t && act) /* remembered; the action below is the event */
            t->recommendation = rec;
        else if (t)
            (void)sl_engine_apply(eng, id, &r, NULL); /* remember and report */
        else if (!act && rec != SL_REC_NONE)
            sl_decision_log(eng, id, d, sl_recommendation_name(rec));
        if (act) {
            r.action = rec == SL_REC_PROMOTE ? SL_DECIDE_PROMOTE : SL_DECIDE_ROLLBACK;
            struct sl_err err;
            if (sl_engine_apply(eng, id, &r, &err))
                sl_engine_emit(eng, SL_EVENT_ERROR, id, "engine", "apply", err.msg, NULL, NAN,
                               NULL);
            return;
        }
    }
}

/* While a guard fires the ramp may only step back: an increase is logged as
 * held and not applied. */
static void sl_apply_ramp(struct sl_engine *eng, const char *id, struct sl_batch *b, bool held,
                          double current)
{
    for (size_t i = b->n; i-- > 0;) { /* the last configured ramp policy with an opinion */
        struct sl_decision *d = &b->d[i];
        if (d->shadow || d->action == SL_DECIDE_NONE)
            continue;
        if (held && d->action == SL_DECIDE_SET_TRAFFIC && d->treatment > current) {
            sl_decision_log(eng, id, d, "set_traffic/held");
            break;
        }
        struct sl_err err;
        if (sl_engine_apply(eng, id, d, &err))
            sl_engine_emit(eng, SL_EVENT_ERROR, id, "engine", "apply", err.msg, NULL, NAN, NULL);
        break;
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->d[i].shadow)
            (void)sl_engine_apply(eng, id, &b->d[i], NULL);
}

bool sl_judge_test(struct sl_engine *eng, struct sl_test *t, bool *ramp_done)
{
    struct sl_batch b;
    const char *id = t->cfg.id;
    *ramp_done = false;
    if (!eng->evaluator.evaluate)
        return false;
    sl_ask(eng, SL_KIND_TEST, id, SL_HOOK_GUARD, &b);
    bool held = sl_apply_guards(eng, id, &b);
    sl_batch_free(&b);
    if (t->in_history || !(t->status == SL_TEST_RUNNING || t->status == SL_TEST_PAUSED))
        return held;
    sl_ask(eng, SL_KIND_TEST, id, SL_HOOK_RECOMMEND, &b);
    sl_apply_verdicts(eng, SL_KIND_TEST, id, &b, t->cfg.auto_promote, t->cfg.auto_rollback);
    sl_batch_free(&b);
    if (t->in_history || t->status != SL_TEST_RUNNING)
        return held;
    if (sl_ask(eng, SL_KIND_TEST, id, SL_HOOK_RAMP, &b) > 0) {
        *ramp_done = true;
        sl_apply_ramp(eng, id, &b, held, t->treatment_pct);
    }
    sl_batch_free(&b);
    return held;
}

void sl_judge_canary(struct sl_engine *eng, struct sl_canary *k)
{
    struct sl_batch b;
    const char *id = k->cfg.id;
    if (!eng->evaluator.evaluate || k->status != SL_CANARY_MONITORING)
        return;
    sl_ask(eng, SL_KIND_CANARY, id, SL_HOOK_GUARD, &b);
    bool held = sl_apply_guards(eng, id, &b);
    sl_batch_free(&b);
    if (k->in_history || k->status != SL_CANARY_MONITORING)
        return;
    if (!held) { /* no promotion while a guard fires */
        sl_ask(eng, SL_KIND_CANARY, id, SL_HOOK_PROMOTION, &b);
        sl_apply_verdicts(eng, SL_KIND_CANARY, id, &b, k->cfg.auto_promote, k->cfg.auto_rollback);
        sl_batch_free(&b);
    }
    if (k->in_history || k->status != SL_CANARY_MONITORING)
        return;
    if (sl_ask(eng, SL_KIND_CANARY, id, SL_HOOK_RAMP, &b) > 0)
        sl_apply_ramp(eng, id, &b, held, k->traffic_pct);
    sl_batch_free(&b);
}
