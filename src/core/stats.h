/* stats.h - the statistics sluice's decisions rest on.
 *
 * Provides fixed-horizon tests on summary statistics (Welch t, relative lift,
 * two proportions), the sample-ratio-mismatch check, Mann-Whitney U over raw
 * samples or over bucketed latency sketches, power / sample size / minimum
 * detectable effect, always-valid sequential inference (mSPRT, and
 * GrowthBook's asymptotic confidence sequences) with a tracker that lives in
 * caller memory, multiple-testing adjustments (Holm, Benjamini-Hochberg) and
 * the distribution functions all of these rest on (normal, Student t,
 * chi-square).
 *
 * Uses only libc and libm (no external maths library); reports errors through
 * err.h. Must not know engines, tests, metrics, sketches or Lua: callers hand
 * in numbers (or, for Mann-Whitney over a sketch, a plain array of bucket
 * counts) and get numbers back in caller-supplied structs.
 *
 * Conventions, everywhere in this header:
 *  - arm 1 is control, arm 2 is treatment; every difference is
 *    treatment - control (m2 - m1);
 *  - v1, v2 are sample variances (divisor n - 1), n1, n2 unit counts;
 *  - alpha is the two-sided significance level, 0 < alpha < 1;
 *  - p-values come from upper-tail functions, never from 1 - cdf, so a p of
 *    1e-45 is reported as such instead of underflowing to 0;
 *  - functions that validate return 0 on success and -1 with *err filled
 *    (SL_EINVAL for bad arguments, SL_ENOMEM if scratch memory cannot be
 *    had); *out is left untouched on error. err may be NULL.
 * The formulas and the pitfalls they avoid are restated in docs/stats.md. */
#ifndef SL_STATS_H
#define SL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* ---- distribution functions --------------------------------------------
 * Plain functions returning double; NaN only for NaN or out-of-domain input
 * (df <= 0, p outside [0, 1]). df may be non-integer, below 1, or +inf (the
 * normal limit). Accuracy, relative, down to the smallest normal double,
 * against mpmath at 60+ digits (tests/stats/dist.tsv; df from 0.05 for t and
 * 0.001 for chi-square up to 1e20): better than 1e-15 for the normal
 * functions and than 1e-12 for t and chi-square (measured worst: 1.5e-13 t,
 * 9e-14 t quantile, 2e-13 chi-square, at arguments where the answer's own
 * condition number is that large, such as tails near 1e-300). */

/* Standard normal cdf, Phi(x) = erfc(-x/sqrt(2))/2, with the rounding of
 * x/sqrt(2) compensated so the far lower tail keeps full relative accuracy. */
double sl_stats_normal_cdf(double x);

/* Standard normal upper tail, 1 - Phi(x) = Phi(-x), without cancellation. */
double sl_stats_normal_sf(double x);

/* Standard normal quantile, Phi^-1(p). Returns -inf for p = 0, +inf for
 * p = 1. Starts from Abramowitz & Stegun 26.2.23 and polishes with Newton
 * steps on log Phi in the tails and on erf near the centre (where p - 1/2 is
 * exact), so small quantiles keep relative accuracy. */
double sl_stats_normal_ppf(double p);

/* Student t cdf with df degrees of freedom, F_df(x). For x <= 0,
 * F = I_{df/(df+x^2)}(df/2, 1/2) / 2 (regularized incomplete beta,
 * Abramowitz & Stegun 26.7.1 / 26.5.27); evaluated by the continued fraction
 * of A&S 26.5.8 (modified Lentz), or for df >= 30 near the centre by the
 * asymptotic expansion of DiDonato & Morris (ACM TOMS 708, 1992, "BGRAT"),
 * with every power and log-gamma ratio formed in log space. */
double sl_stats_t_cdf(double x, double df);

/* Student t upper tail, 1 - F_df(x) = F_df(-x), without cancellation. */
double sl_stats_t_sf(double x, double df);

/* Student t quantile, F_df^-1(p): safeguarded Newton iteration on the log of
 * the tail (or, for 1/4 < p < 3/4, of the central probability) in log x,
 * bracketed so it converges for df < 1 where quantiles are astronomically
 * large. Returns -inf for p = 0, +inf for p = 1. */
double sl_stats_t_ppf(double p, double df);

/* Chi-square upper tail, Q(df/2, x/2) (regularized upper incomplete gamma,
 * A&S 26.4.19): the series 6.5.29 or the continued fraction 6.5.31, with the
 * prefactor x^a e^-x / Gamma(a) formed from a Stirling-series log-gamma and
 * log1p(r) - r so that large df does not cancel; a Taylor form for df < 0.2
 * near the origin; and for df >= 2e5 Temme's uniform asymptotic expansion
 * (DLMF 8.12), which stays exact and fast up to df = 1e20 and beyond.
 * Returns 1 for x <= 0. */
double sl_stats_chi2_sf(double x, double df);

/* ---- fixed-horizon tests ---------------------------------------------- */

/* Result of a Welch test (absolute or relative). */
struct sl_welch {
    double diff;    /* m2 - m1, or (m2 - m1)/|m1| for the relative lift */
    double se;      /* standard error of diff */
    double t;       /* diff / se */
    double df;      /* Welch-Satterthwaite degrees of freedom */
    double p;       /* two-sided p-value, 2 * t_sf(|t|, df) */
    double ci_low;  /* diff - t_{1-alpha/2, df} * se */
    double ci_high; /* diff + t_{1-alpha/2, df} * se */
};

/* Welch's unequal-variance t-test from summary statistics (Welch 1947;
 * Satterthwaite 1946):
 *   se^2 = v1/n1 + v2/n2,
 *   df   = se^4 / ((v1/n1)^2/(n1-1) + (v2/n2)^2/(n2-1)),
 *   t    = (m2 - m1)/se,  p = 2 t_sf(|t|, df),
 *   CI   = diff -+ t_ppf(1 - alpha/2, df) * se.
 * Matches scipy.stats.ttest_ind_from_stats(m2, sqrt(v2), n2, m1, sqrt(v1),
 * n1, equal_var=False). Degenerate: if v1 = v2 = 0 then se = 0,
 * df = n1 + n2 - 2, the CI is [diff, diff], and t = 0, p = 1 when diff = 0,
 * else t = +-inf, p = 0 (two constant arms differ for sure).
 * Errors: a non-finite input, n < 2, negative variance, alpha outside (0,1). */
int sl_stats_welch(double m1, double v1, double n1, double m2, double v2, double n2, double alpha,
                   struct sl_welch *out, struct sl_err *err);

/* Relative lift (m2 - m1)/|m1| as GrowthBook computes it
 * (gbstats/utils.py frequentist_variance; frequentist/tests.py TTest): the
 * delta-method variance for the ratio of independent means,
 *   se^2 = v2/(n2 m1^2) + v1 m2^2/(n1 m1^4),
 * the Welch-Satterthwaite df of the raw variances (as sl_stats_welch), and
 * t, p, CI = lift -+ t_ppf(1 - alpha/2, df) * se. Same degenerate rules as
 * sl_stats_welch. Errors: as sl_stats_welch, and m1 = 0 (the lift is
 * undefined; the message says so). */
int sl_stats_welch_relative(double m1, double v1, double n1, double m2, double v2, double n2,
                            double alpha, struct sl_welch *out, struct sl_err *err);

/* Result of the two-proportion test. */
struct sl_proportions {
    double p1, p2; /* s1/n1 and s2/n2 (0 for an empty arm) */
    double diff;   /* p2 - p1 */
    double z;      /* pooled z statistic */
    double p;      /* two-sided p-value from z */
    double ci_low; /* unpooled Wald interval for diff */
    double ci_high;
};

/* Two-proportion test (textbook, e.g. Agresti, Categorical Data Analysis,
 * 3rd ed., sec. 3.1.3 and 1.4.2):
 *   pooled p = (s1+s2)/(n1+n2),  z = (p2 - p1)/sqrt(p(1-p)(1/n1 + 1/n2)),
 *   p-value = erfc(|z|/sqrt 2) (two-sided, upper tail),
 *   CI = diff -+ Phi^-1(1 - alpha/2) sqrt(p1(1-p1)/n1 + p2(1-p2)/n2).
 * Note GrowthBook instead runs proportions through the Welch test with
 * variance p(1-p); call sl_stats_welch for that number.
 * Degenerate, defined: if either arm is empty (n = 0) its rate is 0 and the
 * result is z = 0, p = 1, CI = [-1, 1] (no information); if the pooled rate
 * is 0 or 1 (all-or-none in both arms) then z = 0, p = 1 and the CI is
 * [diff, diff] = [0, 0].
 * Errors: a non-finite or negative count, s > n, alpha outside (0,1). */
int sl_stats_proportions(double s1, double n1, double s2, double n2, double alpha,
                         struct sl_proportions *out, struct sl_err *err);

/* Result of the sample-ratio-mismatch check. */
struct sl_srm {
    double chi2; /* Pearson statistic (+inf for traffic on a zero-weight arm) */
    double df;   /* (number of arms with positive weight) - 1 */
    double p;    /* chi2_sf(chi2, df) */
};

/* Sample-ratio mismatch: Pearson's chi-square goodness of fit of the observed
 * unit counts to the configured weights (GrowthBook gbstats/utils.py
 * check_srm; its decision threshold is p < 0.001). Weights need not sum to 1:
 *   e_i = w_i / sum(w) * sum(o),  chi2 = sum over w_i > 0 of (o_i - e_i)^2/e_i.
 * Zero-weight arms: an arm of weight 0 that received no units carries no
 * information and is left out of the sum and of df; one that received units
 * is a mismatch for certain, so chi2 = +inf and p = 0. (GrowthBook leaves
 * such arms out of the sum but counts them in df.) If sum(o) = 0 then
 * chi2 = 0, p = 1.
 * Errors: k < 2, a non-finite or negative count or weight, fewer than two
 * positive weights. */
int sl_stats_srm(const double *observed, const double *weights, size_t k, struct sl_srm *out,
                 struct sl_err *err);

/* Result of a Mann-Whitney U test. */
struct sl_mann_whitney {
    double u; /* U of the first sample: pairs with x > y, plus half the ties */
    double z; /* continuity-corrected z, signed like u - n1 n2/2; 0 if |u - n1 n2/2| <= 1/2 */
    double p; /* two-sided p-value, erfc(|z|/sqrt 2), 1 when z = 0 */
};

/* Mann-Whitney U test (Mann & Whitney 1947), two-sided, normal approximation
 * with tie correction and continuity correction:
 *   mu = n1 n2/2,  sigma^2 = n1 n2/12 ((N+1) - sum(t^3 - t)/(N(N-1))),
 *   z  = sign(u - mu) (|u - mu| - 1/2)/sigma.
 * u and p match scipy.stats.mannwhitneyu(x, y, method='asymptotic').
 * Degenerate: if every value is tied (sigma = 0), z = 0 and p = 1.
 * x and y are borrowed and not modified; the function allocates (and frees)
 * a sorted copy of both. Errors: an empty sample, a NaN value, SL_ENOMEM. */
int sl_stats_mann_whitney(const double *x, size_t n1, const double *y, size_t n2,
                          struct sl_mann_whitney *out, struct sl_err *err);

/* The same test over two bucketed histograms with the same, ordered buckets
 * (a latency sketch's counts): bucket b holds c1[b] values of the first
 * sample and c2[b] of the second, all tied with each other and below every
 * value of bucket b + 1. No allocation. Errors: an empty sample. */
int sl_stats_mann_whitney_counts(const uint64_t *c1, const uint64_t *c2, size_t nbuckets,
                                 struct sl_mann_whitney *out, struct sl_err *err);

/* ---- power, sample size, minimum detectable effect ---------------------
 * Two-sided two-sample z-test with known common sd and n units per arm
 * (e.g. Chow, Shao & Wang, Sample Size Calculations in Clinical Research,
 * sec. 3.2): se = sd sqrt(2/n), z = Phi^-1(1 - alpha/2),
 *   power = Phi(|delta|/se - z) + Phi(-|delta|/se - z).
 * Both tails are kept, so the sample size is the exact solution of this
 * equation, not the one-tail textbook 2 sd^2 (z + z_power)^2 / delta^2
 * (which can be one unit larger). */

/* Power to detect delta with n_per_arm units per arm. delta = 0 gives alpha.
 * Errors: non-finite input, sd <= 0, n_per_arm < 2, alpha outside (0,1). */
int sl_stats_power(double delta, double sd, double n_per_arm, double alpha, double *power,
                   struct sl_err *err);

/* Units per arm needed to reach power for delta: the smallest whole number
 * n with power(n) >= power, and at least 2.
 * Errors: non-finite input, delta = 0, sd <= 0, alpha outside (0,1),
 * power outside (alpha, 1) (power <= alpha needs no data at all). */
int sl_stats_sample_size(double delta, double sd, double power, double alpha, double *n_per_arm,
                         struct sl_err *err);

/* Smallest |delta| detected with the given power at n_per_arm units per arm
 * (the positive root of the power equation).
 * Errors: non-finite input, sd <= 0, n_per_arm < 2, alpha outside (0,1),
 * power outside (alpha, 1). */
int sl_stats_mde(double sd, double n_per_arm, double power, double alpha, double *mde,
                 struct sl_err *err);

/* ---- always-valid sequential inference --------------------------------- */

/* One look of a mixture SPRT. */
struct sl_msprt {
    double log_lambda; /* ln of the mixture likelihood ratio (C only: never overflows) */
    double lambda;     /* exp(log_lambda); +inf once log_lambda > ~709 */
    double p;          /* min(1, 1/lambda), from exp(-log_lambda) */
    double ci_low;     /* diff -+ half-width: the thetas this look does not reject */
    double ci_high;
};

/* Mixture sequential probability ratio test for one look, normal data,
 * normal mixing distribution N(theta0, tau2) over the difference (Johari,
 * Koomen, Pekelis & Walsh, "Peeking at A/B tests", KDD 2017; "Always valid
 * inference", Operations Research 70(3), 2022). With s2 = v1/n1 + v2/n2 the
 * variance of diff:
 *   ln Lambda = 1/2 ln(s2/(s2+tau2)) + tau2 (diff-theta0)^2 / (2 s2 (s2+tau2)),
 *   p = min(1, 1/Lambda),
 *   CI = diff -+ sqrt(2 s2 (s2+tau2)/tau2 (ln(1/alpha) + 1/2 ln((s2+tau2)/s2))).
 * This one-look p is valid only as part of a sequence that takes the running
 * minimum; use struct sl_seq for that.
 * Errors: non-finite input, s2 <= 0, tau2 <= 0, alpha outside (0,1). */
int sl_stats_msprt(double diff, double s2, double tau2, double theta0, double alpha,
                   struct sl_msprt *out, struct sl_err *err);

enum sl_seq_method {
    SL_SEQ_MSPRT = 0, /* fixed tau2; p = running min, CI = running intersection */
    SL_SEQ_GROWTHBOOK /* GrowthBook's asymptotic confidence sequence (see below) */
};

/* Configuration of a sequential tracker. Start from sl_stats_seq_config_init. */
struct sl_seq_config {
    int method;    /* enum sl_seq_method */
    double alpha;  /* two-sided level, (0, 1); default 0.05 */
    double tau2;   /* mixing variance, > 0; required for SL_SEQ_MSPRT, unused otherwise */
    double theta0; /* difference under the null; default 0 */
    double n_star; /* GrowthBook tuning N* (total units of both arms), > 0; default 5000 */
    bool relative; /* test the relative lift (m2-m1)/|m1| (GrowthBook's default) */
};

/* A sequential tracker. Plain data in caller memory: it may be embedded,
 * copied and persisted byte for byte; no allocation, nothing to destroy. */
struct sl_seq {
    struct sl_seq_config cfg;
    double rho2;    /* GrowthBook rho^2, from alpha and n_star */
    uint64_t looks; /* accepted updates */
    double p;       /* reported always-valid p (1 before any look) */
    double ci_low;  /* reported interval (-inf, +inf) before any look */
    double ci_high;
};

/* Result of one tracker update. */
struct sl_seq_result {
    double diff;   /* this look's estimate: m2 - m1, or the relative lift */
    double se;     /* its standard error */
    double lambda; /* this look's mixture likelihood ratio (may be +inf) */
    double p;      /* always-valid p after this look */
    double ci_low; /* always-valid interval after this look */
    double ci_high;
    uint64_t looks; /* accepted updates so far, this one included */
};

/* Fill *cfg with the defaults: SL_SEQ_MSPRT, alpha 0.05, tau2 0 (must be
 * set), theta0 0, n_star 5000, absolute difference. */
void sl_stats_seq_config_init(struct sl_seq_config *cfg);

/* Validate *cfg (copied) and reset *seq to "no look yet": p = 1,
 * CI = (-inf, +inf). Errors: alpha outside (0,1), tau2 <= 0 or non-finite
 * for SL_SEQ_MSPRT, n_star <= 0 or non-finite for SL_SEQ_GROWTHBOOK, an
 * unknown method, a non-finite theta0. */
int sl_stats_seq_init(struct sl_seq *seq, const struct sl_seq_config *cfg, struct sl_err *err);

/* Feed the cumulative summary statistics of both arms at one look and get
 * the always-valid p and CI.
 * SL_SEQ_MSPRT: this look's Lambda is sl_stats_msprt(diff, se^2, tau2,
 * theta0, alpha); p = min over looks of min(1, 1/Lambda) (non-increasing),
 * CI = intersection of the looks' intervals (nested). If the intersection
 * would be empty (possible, with probability <= alpha, when the model is
 * right), it shrinks to the bound of the previous interval nearest to the
 * new one.
 * SL_SEQ_GROWTHBOOK (Waudby-Smith et al., arXiv:2103.06476v7, eqs. 9 and
 * 155; gbstats/frequentist/tests.py SequentialTwoSidedTTest):
 *   rho^2 = (-2 ln alpha + ln(-2 ln alpha + 1))/N*,  N = n1 + n2,
 *   tau2 = rho^2 N se^2 in the formulas above,
 * which is GrowthBook's e-value and half-width
 *   w = se sqrt(N) sqrt(2(N rho^2 + 1)/(N^2 rho^2) ln(sqrt(N rho^2 + 1)/alpha)).
 * As in GrowthBook, p and CI are this look's own values (p can rise between
 * looks), so users coming from GrowthBook get identical answers.
 * A look with se = 0 (both variances 0), or with m1 = 0 in relative mode,
 * carries no usable variance estimate: it counts as a look but leaves p and
 * the CI as they were (lambda = 1 is reported).
 * Errors (state untouched): non-finite input, n < 2, negative variance. */
int sl_stats_seq_update(struct sl_seq *seq, double m1, double v1, double n1, double m2, double v2,
                        double n2, struct sl_seq_result *out, struct sl_err *err);

/* ---- multiple testing --------------------------------------------------
 * Both take k >= 1 p-values in [0, 1] and write k adjusted p-values to adj
 * (which may be the same array as p). They allocate (and free) a sort index.
 * Errors: k = 0, a p outside [0, 1] or NaN, SL_ENOMEM. */

/* Holm-Bonferroni step-down (Holm 1979), family-wise error control: with
 * p_(1) <= ... <= p_(k),  adj_(i) = max_{j <= i} min(1, (k - j + 1) p_(j)). */
int sl_stats_holm(const double *p, size_t k, double *adj, struct sl_err *err);

/* Benjamini-Hochberg step-up (Benjamini & Hochberg 1995), false-discovery
 * rate control: adj_(i) = min_{j >= i} min(1, k p_(j) / j). */
int sl_stats_bh(const double *p, size_t k, double *adj, struct sl_err *err);

#endif
