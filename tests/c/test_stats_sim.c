/* test_stats_sim.c - why the engine uses always-valid p-values: simulation.
 *
 * Seeded Monte Carlo (xoshiro256** seeded by splitmix64, normals by
 * Marsaglia's polar method), so every run sees the same numbers:
 *  - 2,000 A/A tests, each looked at 50 times. Rejecting the first time the
 *    fixed-horizon Welch p drops below alpha ("peeking") must visibly exceed
 *    alpha; rejecting on the always-valid p (mSPRT, and GrowthBook's
 *    confidence sequence) must stay within alpha plus Monte-Carlo slack.
 *  - 10,000 fixed-horizon A/B tests at two designs: the share that Welch
 *    rejects must lie within 2 points of sl_stats_power().
 * The measured rates are printed as TAP diagnostics (docs/stats.md quotes them). */
#include "rng.h"
#include "stats.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>

#define ALPHA 0.05

/* ---- a small, seeded generator -------------------------------------------- */

/* Uniform on (-1, 1) from the top 53 bits. */
static double rng_sym(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-52 - 1;
}

/* Standard normal by Marsaglia's polar method (no trigonometry, so the
 * stream does not depend on libm's sin/cos rounding). */
static double rng_normal(struct rng *r)
{
    double u, v, s;
    do {
        u = rng_sym(r);
        v = rng_sym(r);
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    return u * sqrt(-2 * log(s) / s);
}

/* ---- one arm's running summary (Welford) ---------------------------------- */

struct arm {
    double n, mean, m2;
};

static void arm_add(struct arm *a, double x)
{
    a->n += 1;
    double d = x - a->mean;
    a->mean += d / a->n;
    a->m2 += d * (x - a->mean);
}

static double arm_var(const struct arm *a)
{
    return a->m2 / (a->n - 1);
}

static void arm_fill(struct arm *a, struct rng *r, int k, double mu, double sd)
{
    for (int i = 0; i < k; i++)
        arm_add(a, mu + sd * rng_normal(r));
}

/* ---- A/A with peeking ------------------------------------------------------ */

#define AA_SIMS  2000
#define AA_LOOKS 50
#define AA_BATCH 20 /* units per arm between looks: n = 20..1000 per arm */

struct aa_counts {
    int naive, last, msprt, growthbook; /* last: Welch at the final look only */
};

/* One A/A experiment; counts which procedures ever rejected. */
static void aa_one(struct rng *r, const struct sl_seq_config *cm, const struct sl_seq_config *cg,
                   struct aa_counts *c)
{
    struct arm a = {0}, b = {0};
    struct sl_seq sm, sg;
    bool naive = false, msprt = false, gb = false;
    sl_stats_seq_init(&sm, cm, NULL);
    sl_stats_seq_init(&sg, cg, NULL);
    for (int look = 0; look < AA_LOOKS; look++) {
        struct sl_welch w;
        struct sl_seq_result rm, rg;
        arm_fill(&a, r, AA_BATCH, 10, 2);
        arm_fill(&b, r, AA_BATCH, 10, 2);
        double va = arm_var(&a), vb = arm_var(&b);
        sl_stats_welch(a.mean, va, a.n, b.mean, vb, b.n, ALPHA, &w, NULL);
        sl_stats_seq_update(&sm, a.mean, va, a.n, b.mean, vb, b.n, &rm, NULL);
        sl_stats_seq_update(&sg, a.mean, va, a.n, b.mean, vb, b.n, &rg, NULL);
        naive |= w.p < ALPHA;
        c->last += look == AA_LOOKS - 1 && w.p < ALPHA;
        msprt |= rm.p <= ALPHA;
        gb |= rg.p <= ALPHA;
    }
    c->naive += naive;
    c->msprt += msprt;
    c->growthbook += gb;
}

static void test_aa_peeking(void)
{
    struct rng r;
    struct sl_seq_config cm, cg;
    struct aa_counts c = {0};
    rng_seed(&r, 20240611);
    sl_stats_seq_config_init(&cm);
    cm.tau2 = 0.25; /* mixing sd 0.5 = a quarter of the unit sd */
    sl_stats_seq_config_init(&cg);
    cg.method = SL_SEQ_GROWTHBOOK;
    for (int i = 0; i < AA_SIMS; i++)
        aa_one(&r, &cm, &cg, &c);
    double naive = (double)c.naive / AA_SIMS, msprt = (double)c.msprt / AA_SIMS;
    double gb = (double)c.growthbook / AA_SIMS, last = (double)c.last / AA_SIMS;
    double slack = 3 * sqrt(ALPHA * (1 - ALPHA) / AA_SIMS);
    tap_diag("A/A, %d tests x %d looks, alpha %.2f: naive Welch peeking rejects %.4f, "
             "Welch at the last look only %.4f, always-valid mSPRT (tau2 0.25) %.4f, "
             "GrowthBook (N* 5000) %.4f",
             AA_SIMS, AA_LOOKS, ALPHA, naive, last, msprt, gb);
    ok(fabs(last - ALPHA) <= slack, "Welch looked at once is calibrated: %.4f is alpha +- %.4f",
       last, slack);
    ok(naive > 2 * ALPHA, "peeking at the fixed-horizon p inflates false positives: %.3f > 2 alpha",
       naive);
    ok(msprt <= ALPHA + slack, "always-valid mSPRT p keeps them within alpha: %.4f <= %.4f", msprt,
       ALPHA + slack);
    ok(gb <= ALPHA + slack,
       "GrowthBook's confidence sequence keeps them within alpha: %.4f <= %.4f", gb, ALPHA + slack);
}

/* ---- A/B power ---------------------------------------------------------------- */

#define AB_SIMS 10000

/* Share of fixed-horizon A/B tests the Welch test rejects, against power(). */
static void ab_power(struct rng *r, double delta, double sd, int n)
{
    int rejected = 0;
    for (int i = 0; i < AB_SIMS; i++) {
        struct arm a = {0}, b = {0};
        struct sl_welch w;
        arm_fill(&a, r, n, 5, sd);
        arm_fill(&b, r, n, 5 + delta, sd);
        sl_stats_welch(a.mean, arm_var(&a), a.n, b.mean, arm_var(&b), b.n, ALPHA, &w, NULL);
        rejected += w.p < ALPHA;
    }
    double want, got = (double)rejected / AB_SIMS;
    sl_stats_power(delta, sd, n, ALPHA, &want, NULL);
    tap_diag("A/B, %d tests, delta %g, sd %g, n %d per arm: rejected %.4f, power() %.4f", AB_SIMS,
             delta, sd, n, got, want);
    ok(fabs(got - want) <= 0.02, "simulated power %.4f is within 2 points of power() = %.4f", got,
       want);
}

static void test_ab_power(void)
{
    struct rng r;
    rng_seed(&r, 7);
    ab_power(&r, 0.5, 2, 200);
    ab_power(&r, 0.3, 1, 175);
}

int main(void)
{
    test_aa_peeking();
    test_ab_power();
    return tap_done();
}
