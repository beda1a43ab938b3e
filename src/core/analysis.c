#include "analysis.h"

#include <math.h>
#include <string.h>

/* Summary statistics (n, mean, sample variance) of one analysed quantity. */
struct sl_summary {
    double n, mean, var;
};

static struct sl_summary sl_summary_errors(const struct sl_mtotal *t)
{
    double n = (double)t->n, p = n > 0 ? (double)t->errors / n : 0;
    return (struct sl_summary){n, p, n > 1 ? p * (1 - p) * n / (n - 1) : 0};
}

static struct sl_summary sl_summary_latency(const struct sl_mtotal *t)
{
    double n = (double)t->n;
    return (struct sl_summary){n, n > 0 ? t->mean : 0, n > 1 ? t->m2 / (n - 1) : 0};
}

static struct sl_summary sl_summary_metric(const struct sl_mtotal *t, int j)
{
    double n = (double)t->mcount[j];
    if (n < 1)
        return (struct sl_summary){0, 0, 0};
    double mean = t->msum[j] / n;
    double var = n > 1 ? fmax(0, (t->msumsq[j] - t->msum[j] * mean) / (n - 1)) : 0;
    return (struct sl_summary){n, mean, var};
}

static void sl_seq_setup(struct sl_seq *s, double alpha, double tau2)
{
    struct sl_seq_config c;
    sl_stats_seq_config_init(&c);
    c.alpha = alpha;
    if (tau2 > 0) {
        c.tau2 = tau2;
    } else {
        c.method = SL_SEQ_GROWTHBOOK;
    }
    (void)sl_stats_seq_init(s, &c, NULL);
}

void sl_analysis_init(struct sl_analysis *a, double alpha, double mes, int nmetrics)
{
    memset(a, 0, sizeof *a);
    sl_seq_setup(&a->seq_error, alpha, 0);
    sl_seq_setup(&a->seq_latency, alpha, 0);
    for (int j = 0; j < nmetrics; j++)
        sl_seq_setup(&a->seq_metric[j], alpha, mes * mes);
    a->seq_ready = true;
}

void sl_analysis_account(struct sl_analysis *a, struct sl_mvar *const var[2], double control_pct,
                         double treatment_pct)
{
    struct sl_mtotal t0, t1;
    sl_mvar_counts(var[0], &t0);
    sl_mvar_counts(var[1], &t1);
    uint64_t total = t0.n + t1.n;
    double in_test = control_pct + treatment_pct;
    if (total > a->seen_total && in_test > 0) {
        double d = (double)(total - a->seen_total);
        a->expected_treatment += d * treatment_pct / in_test;
        a->expected_control += d * control_pct / in_test;
    }
    a->seen_total = total;
}

static void sl_seq_feed(struct sl_seq *s, struct sl_summary x, struct sl_summary y)
{
    struct sl_seq_result r;
    if (x.n >= 2 && y.n >= 2)
        (void)sl_stats_seq_update(s, x.mean, x.var, x.n, y.mean, y.var, y.n, &r, NULL);
}

void sl_analysis_look(struct sl_analysis *a, struct sl_mvar *const var[2], int nmetrics)
{
    struct sl_mtotal t0, t1;
    sl_mvar_counts(var[0], &t0);
    sl_mvar_counts(var[1], &t1);
    sl_seq_feed(&a->seq_error, sl_summary_errors(&t0), sl_summary_errors(&t1));
    sl_seq_feed(&a->seq_latency, sl_summary_latency(&t0), sl_summary_latency(&t1));
    for (int j = 0; j < nmetrics; j++)
        sl_seq_feed(&a->seq_metric[j], sl_summary_metric(&t0, j), sl_summary_metric(&t1, j));
}

/* ---- reading ----------------------------------------------------------------------- */

static void sl_fill_seq(struct sl_metric_analysis *m, const struct sl_seq *s)
{
    m->seq_p = s->p;
    m->seq_ci_low = s->ci_low;
    m->seq_ci_high = s->ci_high;
    m->looks = s->looks;
}

static void sl_fill_power(struct sl_metric_analysis *m, struct sl_summary x, struct sl_summary y,
                          double alpha, double mes)
{
    m->power = m->needed = NAN;
    double sd = sqrt((x.var + y.var) / 2), n = fmin(x.n, y.n), need;
    if (!(mes > 0) || !(sd > 0) || n < 2)
        return;
    (void)sl_stats_power(mes, sd, n, alpha, &m->power, NULL);
    if (sl_stats_sample_size(mes, sd, 0.8, alpha, &need, NULL) == 0)
        m->needed = fmax(0, need - n);
}

static void sl_fill_welch(struct sl_metric_analysis *m, struct sl_summary x, struct sl_summary y,
                          double alpha)
{
    struct sl_welch w;
    m->n1 = x.n < 0x1p64 ? (uint64_t)x.n : UINT64_MAX; /* a count near 2^64 rounds up to it */
    m->n2 = y.n < 0x1p64 ? (uint64_t)y.n : UINT64_MAX;
    m->mean1 = x.mean;
    m->mean2 = y.mean;
    m->valid = x.n >= 2 && y.n >= 2 &&
               sl_stats_welch(x.mean, x.var, x.n, y.mean, y.var, y.n, alpha, &w, NULL) == 0;
    if (!m->valid)
        return;
    m->diff = w.diff;
    m->se = w.se;
    m->p = w.p;
    m->ci_low = w.ci_low;
    m->ci_high = w.ci_high;
}

static void sl_fill_errors(struct sl_metric_analysis *m, const struct sl_mtotal *t0,
                           const struct sl_mtotal *t1, double alpha)
{
    struct sl_proportions pr;
    m->name = "error_rate";
    m->n1 = t0->n;
    m->n2 = t1->n;
    m->valid = t0->n >= 2 && t1->n >= 2 &&
               sl_stats_proportions((double)t0->errors, (double)t0->n, (double)t1->errors,
                                    (double)t1->n, alpha, &pr, NULL) == 0;
    if (!m->valid)
        return;
    m->mean1 = pr.p1;
    m->mean2 = pr.p2;
    m->diff = pr.diff;
    m->se = sqrt(pr.p1 * (1 - pr.p1) / (double)t0->n + pr.p2 * (1 - pr.p2) / (double)t1->n);
    m->p = pr.p;
    m->ci_low = pr.ci_low;
    m->ci_high = pr.ci_high;
}

static void sl_fill_srm(const struct sl_analysis *a, const struct sl_mtotal *t0,
                        const struct sl_mtotal *t1, struct sl_test_stats *out)
{
    double obs[2] = {(double)t0->n, (double)t1->n};
    double w[2] = {a->expected_control, a->expected_treatment};
    struct sl_srm r;
    out->srm_chi2 = 0;
    out->srm_p = 1;
    out->expected_treatment_share = w[0] + w[1] > 0 ? w[1] / (w[0] + w[1]) : NAN;
    if (w[0] > 0 && w[1] > 0 && sl_stats_srm(obs, w, 2, &r, NULL) == 0) {
        out->srm_chi2 = r.chi2;
        out->srm_p = r.p;
    }
}

void sl_analysis_read(const struct sl_analysis *a, struct sl_mvar *const var[2], int nmetrics,
                      const char *const *names, double alpha, double mes, struct sl_test_stats *out)
{
    struct sl_mtotal t0, t1;
    memset(out, 0, sizeof *out);
    sl_mvar_counts(var[0], &t0);
    sl_mvar_counts(var[1], &t1);
    sl_fill_srm(a, &t0, &t1, out);
    sl_fill_errors(&out->error_rate, &t0, &t1, alpha);
    sl_fill_seq(&out->error_rate, &a->seq_error);
    out->error_rate.power = out->error_rate.needed = NAN;
    out->latency.name = "latency";
    sl_fill_welch(&out->latency, sl_summary_latency(&t0), sl_summary_latency(&t1), alpha);
    sl_fill_seq(&out->latency, &a->seq_latency);
    out->latency.power = out->latency.needed = NAN;
    out->nmetrics = (size_t)nmetrics;
    for (int j = 0; j < nmetrics; j++) {
        struct sl_metric_analysis *m = &out->metrics[j];
        struct sl_summary x = sl_summary_metric(&t0, j), y = sl_summary_metric(&t1, j);
        m->name = names[j];
        sl_fill_welch(m, x, y, alpha);
        sl_fill_seq(m, &a->seq_metric[j]);
        sl_fill_power(m, x, y, alpha, mes);
    }
}
