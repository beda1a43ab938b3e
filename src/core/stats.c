/* stats.c - see stats.h for the contracts, formulas and references. */
#include "stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* The <math.h> M_ constants are not in C11; these are correctly rounded. */
#define SL_SQRT1_2_HI  0.70710678118654757       /* 1/sqrt(2) rounded to double */
#define SL_SQRT1_2_LO  (-4.8336466567264565e-17) /* 1/sqrt(2) - SL_SQRT1_2_HI */
#define SL_LN_SQRT_PI  0.57236494292470008707    /* ln sqrt(pi) = ln Gamma(1/2) */
#define SL_LN_SQRT_2PI 0.91893853320467274178    /* ln sqrt(2 pi) */
#define SL_2_SQRTPI    1.1283791670955125739     /* 2/sqrt(pi) */

/* Continued fractions and Newton loops stop at this relative change. */
#define SL_EPS 1e-16
/* Lentz's method replaces an exact zero denominator by this. */
#define SL_TINY 1e-300
/* Generous iteration caps: reaching one means a bug, not slow convergence. */
#define SL_CF_MAXIT   100000
#define SL_ROOT_MAXIT 200
/* Incomplete gamma: from this a on, Temme's expansion replaces the series. */
#define SL_TEMME_MIN_A 1e5
/* ln DBL_MAX, rounded down: quantiles beyond e^this are reported as inf. */
#define SL_LN_MAX 709.0
/* Below e^this a result is 0 in double precision: skip the series for it. */
#define SL_LN_UNDERFLOW (-746.0)

/* ===================================================================== *
 * Log-gamma, without lgamma(): lgamma() writes the global signgam, which is
 * a data race in a multi-threaded embedder, and differences of large
 * log-gammas must be formed from Stirling's series to keep their digits.
 * ===================================================================== */

/* Stirling's correction delta(x) = lnGamma(x) - ((x-1/2)ln x - x + ln sqrt(2 pi)),
 * sum of B_2k / (2k(2k-1) x^(2k-1)) (A&S 6.1.40); 8 terms reach 3e-17 at x = 10. */
static double stirling_delta(double x)
{
    static const double c[] = {1.0 / 12,   -1.0 / 360,      1.0 / 1260, -1.0 / 1680,
                               1.0 / 1188, -691.0 / 360360, 1.0 / 156,  -3617.0 / 122400};
    double r = 1 / x, r2 = r * r, s = 0;
    for (int k = (int)(sizeof c / sizeof c[0]) - 1; k >= 0; k--)
        s = s * r2 + c[k];
    return s * r;
}

/* ln Gamma(x) for x > 0: Stirling from 10 up, the recurrence below. */
static double lgam(double x)
{
    if (x >= 10)
        return (x - 0.5) * log(x) - x + SL_LN_SQRT_2PI + stirling_delta(x);
    double prod = 1, y = x + 1;
    for (; y < 10; y += 1)
        prod *= y;
    return lgam(y) - log(prod) - log(x);
}

/* ln Gamma(a+b) - ln Gamma(a) for a > 0, 0 < b <= 1, without the cancellation
 * of two numbers near a ln a when a is large. */
static double lgam_ratio(double a, double b)
{
    if (a < 10)
        return lgam(a + b) - lgam(a);
    return (a - 0.5) * log1p(b / a) + b * log(a + b) - b + stirling_delta(a + b) -
           stirling_delta(a);
}

/* ln B(a, 1/2) = ln Gamma(1/2) - (ln Gamma(a+1/2) - ln Gamma(a)). */
static double lbeta_half(double a)
{
    return SL_LN_SQRT_PI - lgam_ratio(a, 0.5);
}

/* ===================================================================== *
 * Normal distribution
 * ===================================================================== */

double sl_stats_normal_sf(double x)
{
    if (isnan(x) || isinf(x))
        return isnan(x) ? x : (x > 0 ? 0 : 1);
    /* erfc's relative error grows like 2 y^2 times that of its argument;
     * carry the rounding of x/sqrt 2 as a first-order correction. */
    double y = x * SL_SQRT1_2_HI;
    double dy = fma(x, SL_SQRT1_2_HI, -y) + x * SL_SQRT1_2_LO;
    return 0.5 * (erfc(y) - dy * SL_2_SQRTPI * exp(-y * y));
}

double sl_stats_normal_cdf(double x)
{
    return sl_stats_normal_sf(-x);
}

/* Whether a Newton-type iteration at x is done after this step: the step
 * is at rounding level, or it has stopped shrinking once small (the
 * function's own rounding noise then drives it). *prev holds |last step|. */
static bool settled(double step, double *prev, double x)
{
    double s = fabs(step), scale = fmax(fabs(x), DBL_MIN);
    bool done = s <= 4 * DBL_EPSILON * scale || (s <= 1e-9 * scale && s > 0.5 * *prev);
    *prev = s;
    return done;
}

/* ln phi(x), the standard normal log-density. */
static double normal_lpdf(double x)
{
    return -0.5 * x * x - SL_LN_SQRT_2PI;
}

/* x with Phi(x) - 1/2 = r, |r| < 1/4: Halley steps on erf, which keeps
 * relative accuracy for x near 0 (r = p - 1/2 is exact there). */
static double normal_ppf_central(double r)
{
    double x = r * 2.5066282746310002, prev = INFINITY; /* sqrt(2 pi): the slope at 0 */
    for (int i = 0; i < SL_ROOT_MAXIT; i++) {
        double f = 0.5 * erf(x * SL_SQRT1_2_HI) - r;
        double step = f / exp(normal_lpdf(x));
        step /= 1 + 0.5 * x * step;
        x -= step;
        if (settled(step, &prev, x))
            break;
    }
    return x;
}

/* x > 0 with 1 - Phi(x) = q, 0 < q <= 1/4: start from A&S 26.2.23
 * (|error| < 4.5e-4), then Newton on ln(1 - Phi), which is nearly linear
 * in x so a few steps reach full precision even at q = 1e-300. */
static double normal_isf_tail(double q)
{
    double t = sqrt(-2 * log(q));
    double x = t - (2.515517 + t * (0.802853 + t * 0.010328)) /
                       (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
    double prev = INFINITY;
    for (int i = 0; i < SL_ROOT_MAXIT; i++) {
        double sf = sl_stats_normal_sf(x);
        double step = (log(sf) - log(q)) * sf / exp(normal_lpdf(x));
        x += step;
        if (settled(step, &prev, x))
            break;
    }
    return x;
}

double sl_stats_normal_ppf(double p)
{
    /* Callers ask for the same few quantiles (alpha/2, power) again and
     * again: each thread remembers its last answer. */
    static _Thread_local double last_p = NAN, last_x;
    if (p == last_p)
        return last_x;
    if (!(p >= 0 && p <= 1))
        return NAN;
    double x = p == 0 || p == 1       ? (p == 0 ? -INFINITY : INFINITY)
               : p > 0.25 && p < 0.75 ? normal_ppf_central(p - 0.5)
               : p < 0.5              ? -normal_isf_tail(p)
                                      : normal_isf_tail(1 - p); /* 1 - p is exact */
    last_p = p;
    last_x = x;
    return x;
}

/* z with 1 - Phi(z) = q, for 0 < q <= 1/2, without forming 1 - q. */
static double normal_isf(double q)
{
    return -sl_stats_normal_ppf(q);
}

/* ===================================================================== *
 * Student t through the incomplete beta function I_x(a, 1/2)
 *
 * For t > 0, P(T > t) = I_x(a, 1/2) / 2 with a = df/2, x = df/(df+t^2),
 * and P(0 < T < t) = I_y(1/2, a) / 2 with y = 1 - x = t^2/(df+t^2).
 * ===================================================================== */

/* A t value seen as an incomplete-beta argument; the logs are formed from
 * z = t^2/df with log1p so that a ln x keeps its digits when a is huge. */
struct tbeta {
    double a;        /* df/2 */
    double x, y;     /* df/(df+t^2) and t^2/(df+t^2) */
    double lnx, lny; /* their logs */
};

static void tbeta_init(struct tbeta *b, double t, double df)
{
    double z = t * t / df;
    b->a = df / 2;
    if (z >= DBL_MIN && z <= DBL_MAX) {
        b->lnx = -log1p(z);
        b->lny = log(z) + b->lnx;
        b->x = 1 / (1 + z);
        b->y = z / (1 + z);
        return;
    }
    /* t^2/df over- or underflows: the same quantities from ln z. */
    double lnz = 2 * log(fabs(t)) - log(df);
    b->lnx = lnz > 0 ? -(lnz + log1p(exp(-lnz))) : -log1p(exp(lnz));
    b->lny = lnz + b->lnx;
    b->x = exp(b->lnx);
    b->y = exp(b->lny);
}

/* Continued fraction of I_x(a, b) (A&S 26.5.8), evaluated by the modified
 * Lentz method: I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * beta_cf(a, b, x).
 * It converges fast for x below the mean, about (a+1)/(a+b+2). */
static double beta_cf(double a, double b, double x)
{
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    d = 1 / (fabs(d) < SL_TINY ? SL_TINY : d);
    double h = d;
    for (int m = 1; m <= SL_CF_MAXIT; m++) {
        double step = 1;
        for (int odd = 0; odd < 2; odd++) {
            double aa = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                            : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + aa * d;
            d = 1 / (fabs(d) < SL_TINY ? SL_TINY : d);
            c = 1 + aa / c;
            c = fabs(c) < SL_TINY ? SL_TINY : c;
            step = d * c;
            h *= step;
        }
        if (fabs(step - 1) < SL_EPS)
            break;
    }
    return h;
}

#define SL_BGRAT_TERMS 30

/* I_x(a, 1/2) for a >= 15 and x >= 1/e by the asymptotic expansion of
 * DiDonato & Morris (ACM TOMS 18(3), 1992, sec. 9, "BGRAT"): with t = e^-s,
 *   I_x(a,b) = Gamma(a+b)/(Gamma(a) T^b) sum_n p_n T^-2n Gamma(b+2n, u)/Gamma(b),
 * T = a + (b-1)/2, u = -T ln x, where p_n are the coefficients of
 * (sinh(s/2)/(s/2))^(b-1) in s^2n (J.C.P. Miller's power recurrence).
 * The terms shrink like (2n)!/(2 pi T)^2n, so 30 terms are ample for T >= 15;
 * this is what keeps huge df (n = 10^7 per arm and beyond) fast and exact. */
/* p_n for b = 1/2, computed once before main() by a library constructor and
 * read-only afterwards (no shared mutable state, and ~450 multiply-adds saved
 * per call: the engine evaluates t quantiles for every test on every tick). */
static double sl_bgrat_p[SL_BGRAT_TERMS];

__attribute__((constructor)) static void sl_bgrat_coefficients(void)
{
    const double b = 0.5;
    double q[SL_BGRAT_TERMS]; /* q_m = 1/(4^m (2m+1)!) */
    sl_bgrat_p[0] = q[0] = 1;
    for (int n = 1; n < SL_BGRAT_TERMS; n++) {
        q[n] = q[n - 1] / (4.0 * (2 * n) * (2 * n + 1));
        double s = 0;
        for (int m = 1; m <= n; m++)
            s += (b * m - n) * q[m] * sl_bgrat_p[n - m];
        sl_bgrat_p[n] = s / n;
    }
}

static double beta_bgrat_half(double a, double lnx)
{
    const double b = 0.5;
    const double *p = sl_bgrat_p;
    double tt = a + (b - 1) / 2, u = -tt * lnx;
    /* Gamma(a+b)/(Gamma(a) T^b) -> 1; a + b - T = 3/4 for b = 1/2. */
    double lnc = lgam_ratio(a, b) - b * log(tt);
    /* g = Gamma(b+k, u)/Gamma(b) by the stable upward recurrence
     * g_{k+1} = (b+k) g_k + r_k, r_k = u^(b+k) e^-u / Gamma(b). */
    double g = erfc(sqrt(u)), r = exp(b * log(u) - u - SL_LN_SQRT_PI);
    double sum = g, tpow = 1;
    for (int n = 1; n < SL_BGRAT_TERMS; n++) {
        for (int k = 2 * n - 2; k < 2 * n; k++) {
            g = (b + k) * g + r;
            r *= u;
        }
        tpow /= tt * tt;
        double term = p[n] * tpow * g;
        sum += term;
        if (fabs(term) <= 1e-17 * sum)
            break;
    }
    return exp(lnc) * sum;
}

/* I_x(a, 1/2) into *w and its complement I_y(1/2, a) into *w1, each computed
 * directly where it is the smaller one (the other is 1 minus it). */
static void ibeta_half(const struct tbeta *b, double *w, double *w1)
{
    double a = b->a;
    if (b->y < 1.5 / (a + 2.5)) { /* x beyond the mean (a+1)/(a+b+2) */
        double lnpre = 0.5 * b->lny + a * b->lnx + log(2.0) - lbeta_half(a);
        *w1 = lnpre < SL_LN_UNDERFLOW ? 0 : exp(lnpre) * beta_cf(0.5, a, b->y);
        *w = 1 - *w1;
    } else if (a >= 15 && b->lnx >= -1) {
        *w = beta_bgrat_half(a, b->lnx);
        *w1 = 1 - *w;
    } else {
        double lnpre = a * b->lnx + 0.5 * b->lny - log(a) - lbeta_half(a);
        *w = lnpre < SL_LN_UNDERFLOW ? 0 : exp(lnpre) * beta_cf(a, 0.5, b->x);
        *w1 = 1 - *w;
    }
}

double sl_stats_t_sf(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(df))
        return sl_stats_normal_sf(t);
    if (t == 0 || isinf(t))
        return t == 0 ? 0.5 : (t > 0 ? 0 : 1);
    if (df / 2 == 0) /* df below 1e-323: all the mass is at +-inf */
        return 0.5;
    struct tbeta b;
    double w, w1;
    tbeta_init(&b, t, df);
    ibeta_half(&b, &w, &w1);
    return t > 0 ? 0.5 * w : 0.5 + 0.5 * w1;
}

double sl_stats_t_cdf(double x, double df)
{
    return sl_stats_t_sf(-x, df);
}

/* The equation a t quantile solves, in w = ln t (t > 0): ln F(t) = ln target
 * where F is the upper tail P(T > t) or, near the centre, P(0 < T < t). */
struct troot {
    double df;
    bool central;     /* F is P(0 < T < t) (increasing) rather than P(T > t) */
    double ln_target; /* ln of the wanted F */
};

/* G(w) = +-(ln F(t) - ln target) at t = e^w, signed to increase with w;
 * *slope = G'(w) = t F'(t) / F(t) in absolute value. */
static double troot_eval(const struct troot *r, double t, double *slope)
{
    struct tbeta b;
    double i, i1;
    tbeta_init(&b, t, r->df);
    ibeta_half(&b, &i, &i1);
    double lnf = log(0.5 * (r->central ? i1 : i));
    /* ln of the density: (a + 1/2) ln x - ln sqrt(df) - ln B(a, 1/2). */
    double lpdf = (b.a + 0.5) * b.lnx - 0.5 * log(r->df) - lbeta_half(b.a);
    *slope = exp(lpdf + log(t) - lnf);
    return r->central ? lnf - r->ln_target : r->ln_target - lnf;
}

/* A starting w for the root: the normal quantile with the first
 * Cornish-Fisher term or, where it lies far out (t^2 > 10 df: small df,
 * small q), the power-law tail P(T > t) ~ df^(df/2) t^-df / (df B(df/2, 1/2)). */
static double troot_start(double q, double df)
{
    double z = normal_isf(q), z2 = z * z, d = fmax(df, 1);
    /* three Cornish-Fisher terms: for q in [5e-4, 1/4], close enough to the
     * quantile from df = 30 on that one Newton step lands within rounding
     * (see t_isf's fast path), which is where Welch's df usually is */
    double w = log(z + z * (z2 + 1) / (4 * d) + z * ((5 * z2 + 16) * z2 + 3) / (96 * d * d) +
                   z * (((3 * z2 + 19) * z2 + 17) * z2 - 15) / (384 * d * d * d));
    double heavy = (0.5 * df * log(df) - log(df) - lbeta_half(df / 2) - log(q)) / df;
    return isfinite(heavy) && 2 * heavy > log(10 * df) && heavy > w ? heavy : w;
}

/* Widen [*lo, *hi] around w0 by doubling steps until G changes sign; false
 * if it does not within the doubles (the quantile over- or underflows). */
static bool troot_bracket(const struct troot *r, double w0, double *lo, double *hi)
{
    double slope, step = 1.0 / 64; /* the start is usually close (see troot_start) */
    bool up = troot_eval(r, exp(w0), &slope) < 0;
    *lo = *hi = w0;
    for (int i = 0; i < 64; i++, step *= 2) {
        double w = up ? fmin(*hi + step, SL_LN_MAX) : fmax(*lo - step, -SL_LN_MAX);
        bool below = troot_eval(r, exp(w), &slope) < 0;
        if (up)
            *lo = *hi, *hi = w;
        else
            *hi = *lo, *lo = w;
        if (below != up)
            return true;
        if (fabs(w) == SL_LN_MAX)
            return false;
    }
    return false;
}

/* t >= 0 with P(T > t) = q, 0 < q < 1/2: safeguarded Newton in ln t,
 * bisecting whenever a step would leave the bracket. The last step is
 * applied to t itself: e^w would cost |w| ulps where t is astronomically
 * large (df < 1). */
static double t_isf(double q, double df)
{
    struct troot r = {.df = df, .central = q > 0.25};
    r.ln_target = log(r.central ? 0.5 - q : q); /* 0.5 - q is exact for q > 1/4 */
    double lo, hi, w = troot_start(q, df), slope;
    /* Fast path, most of Welch's calls: from a close start Newton converges
     * quadratically, so once a step is within 1e-10, applying it as the slow
     * path's last step does leaves an error below rounding. Two or three
     * evaluations instead of about six; a step that does not halve sends
     * the search to the safeguarded path. */
    double step = troot_eval(&r, exp(w), &slope) / slope;
    for (int i = 0; i < 4 && isfinite(step) && fabs(step) <= 1e-2 * fmax(1, fabs(w)); i++) {
        double w1 = w - step, t1 = exp(w1), s1 = troot_eval(&r, t1, &slope) / slope;
        if (!(isfinite(s1) && fabs(s1) < 0.5 * fabs(step)))
            break; /* not converging as Newton should */
        if (fabs(s1) <= 1e-10 * fmax(1, fabs(w1)))
            return t1 * exp(-s1);
        w = w1;
        step = s1;
    }
    if (!troot_bracket(&r, w, &lo, &hi))
        return r.central ? 0 : INFINITY;
    w = fmin(fmax(w, lo), hi); /* Newton from the start, or the bracket's end nearest it */
    for (int i = 0; i < SL_ROOT_MAXIT; i++) {
        double g = troot_eval(&r, exp(w), &slope);
        if (g == 0)
            break;
        if (g < 0)
            lo = w;
        else
            hi = w;
        double next = w - g / slope;
        if (!(next > lo && next < hi))
            next = 0.5 * (lo + hi);
        double moved = fabs(next - w);
        w = next;
        if (moved <= 1e-13 * fmax(1, fabs(w)) || hi - lo <= 4e-16 * fmax(1, fabs(w)))
            break;
    }
    double t = exp(w), g = troot_eval(&r, t, &slope);
    return isfinite(g / slope) ? t * exp(-g / slope) : t;
}

double sl_stats_t_ppf(double p, double df)
{
    if (!(p >= 0 && p <= 1) || !(df > 0))
        return NAN;
    if (isinf(df))
        return sl_stats_normal_ppf(p);
    if (p == 0 || p == 1 || p == 0.5)
        return p == 0.5 ? 0 : (p == 0 ? -INFINITY : INFINITY);
    return p < 0.5 ? -t_isf(p, df) : t_isf(1 - p, df);
}

/* ===================================================================== *
 * Chi-square through the regularized incomplete gamma function
 * ===================================================================== */

/* ln(1 + r) - r for r > -1, by its series when |r| is small. */
static double log1pmx(double r)
{
    if (fabs(r) > 0.5)
        return log1p(r) - r;
    double s = 0, pw = r;
    for (int k = 2; k < 200; k++) {
        pw *= -r;
        double term = pw / k;
        s += term;
        if (fabs(term) <= 1e-17 * fabs(s))
            break;
    }
    return s;
}

/* ln(x^a e^-x / Gamma(a)); for a >= 10 as
 * a (ln(1+r) - r) + ln sqrt(a) - ln sqrt(2 pi) - delta(a), r = (x-a)/a,
 * so that the two terms near a ln a never meet. */
static double gamma_lnprefix(double a, double x)
{
    if (a < 10)
        return a * log(x) - x - lgam(a);
    return a * log1pmx((x - a) / a) + 0.5 * log(a) - SL_LN_SQRT_2PI - stirling_delta(a);
}

/* sum_n x^n / ((a+1)...(a+n)), so that P(a, x) = prefix/a * sum (A&S 6.5.29). */
static double gamma_series(double a, double x)
{
    double term = 1, sum = 1;
    for (int n = 1; n <= SL_CF_MAXIT; n++) {
        term *= x / (a + n);
        sum += term;
        if (term <= SL_EPS * sum)
            break;
    }
    return sum;
}

/* Continued fraction (A&S 6.5.31, modified Lentz) with Q(a, x) = prefix * cf. */
static double gamma_cf(double a, double x)
{
    double b = x + 1 - a, c = 1 / SL_TINY, d = 1 / b, h = d;
    for (int i = 1; i <= SL_CF_MAXIT; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        d = 1 / (fabs(d) < SL_TINY ? SL_TINY : d);
        c = b + an / c;
        c = fabs(c) < SL_TINY ? SL_TINY : c;
        double step = d * c;
        h *= step;
        if (fabs(step - 1) < SL_EPS)
            break;
    }
    return h;
}

/* ln Gamma(1 + a) for 0 < a < 0.1 by its Taylor series (A&S 6.1.33),
 *   -euler a + sum_k (-1)^k zeta(k) a^k / k,
 * which keeps relative accuracy where ln Gamma(11 + a) - ln(...) would not. */
static double lgam1p_small(double a)
{
    static const double zeta[] = {
        1.6449340668482264, 1.2020569031595942, 1.0823232337111381, 1.03692775514337,
        1.0173430619844492, 1.008349277381923,  1.0040773561979444, 1.0020083928260821,
        1.000994575127818,  1.0004941886041194, 1.000246086553308,  1.0001227133475785,
        1.0000612481350588, 1.000030588236307,  1.0000152822594086, 1.0000076371976379,
        1.000003817293265,  1.0000019082127165, 1.0000009539620338}; /* zeta(2..20) */
    double s = 0;
    for (int k = (int)(sizeof zeta / sizeof zeta[0]) + 1; k >= 2; k--)
        s = s * -a + zeta[k - 2] / k;
    return a * (-0.5772156649015329 + a * s);
}

/* Q(a, x) for a < 0.1, x <= 1.1, where Q ~ a E1(x) is small and 1 - P would
 * cancel: from gamma(a, x) = sum_n (-1)^n x^(a+n)/(n! (a+n)) (A&S 6.5.29),
 *   Q = ((Gamma(1+a) - 1) - (x^a - 1) - x^a a S) / Gamma(1+a),
 *   S = sum_{n>=1} (-x)^n / (n! (a+n)),
 * each bracket formed by expm1 so the O(a) terms keep their digits. */
static double gamma_q_small_a(double a, double x)
{
    double s = 0, term = 1;
    for (int n = 1; n < 200; n++) {
        term *= -x / n;
        s += term / (a + n);
        if (fabs(term) <= 1e-17 * fabs(s))
            break;
    }
    double lg = lgam1p_small(a), xm1 = expm1(a * log(x));
    return (expm1(lg) - xm1 - (xm1 + 1) * a * s) / exp(lg);
}

/* Q(a, x) for large a by Temme's uniform asymptotic expansion (N.M. Temme,
 * SIAM J. Math. Anal. 10, 1979; DLMF 8.12.3, 8.12.8-8.12.10, 8.12.12):
 *   Q = erfc(eta sqrt(a/2))/2 + e^(-a eta^2/2)/sqrt(2 pi a) (c0(eta) + c1(eta)/a),
 *   eta^2/2 = lambda - 1 - ln lambda, lambda = x/a, eta of the sign of lambda - 1,
 *   c0 = 1/(lambda-1) - 1/eta,
 *   c1 = 1/eta^3 - 1/(lambda-1)^3 - 1/(lambda-1)^2 - 1/(12(lambda-1)),
 * with their Taylor series where those cancel (|eta| < 1e-3). The next term
 * is c2/a^2 ~ 1e-15 relative for a >= 1e5; the series and the continued
 * fraction would need O(sqrt a) steps there. */
static double gamma_q_temme(double a, double x)
{
    double r = (x - a) / a, eta = copysign(sqrt(-2 * log1pmx(r)), r), c0, c1;
    if (fabs(eta) < 1e-3) {
        c0 = -1.0 / 3 + eta * (1.0 / 12 + eta * (-2.0 / 135 + eta / 864));
        c1 = -1.0 / 540 - eta / 288;
    } else {
        c0 = 1 / r - 1 / eta;
        c1 = 1 / (eta * eta * eta) - 1 / (r * r * r) - 1 / (r * r) - 1 / (12 * r);
    }
    double y = eta * sqrt(a / 2);
    return 0.5 * erfc(y) + exp(-y * y - 0.5 * log(a) - SL_LN_SQRT_2PI) * (c0 + c1 / a);
}

/* Regularized upper incomplete gamma Q(a, x), a > 0, 0 < x < inf. */
static double gamma_q(double a, double x)
{
    if (a >= SL_TEMME_MIN_A)
        return gamma_q_temme(a, x);
    if (a < 0.1 && x <= 1.1)
        return gamma_q_small_a(a, x);
    double pre = exp(gamma_lnprefix(a, x));
    if (x < a + 1) /* the series for P, Q = 1 - P */
        return 1 - pre / a * gamma_series(a, x);
    return pre * gamma_cf(a, x);
}

double sl_stats_chi2_sf(double x, double df)
{
    if (isnan(x) || !(df > 0))
        return NAN;
    if (x <= 0 || isinf(df))
        return 1;
    if (isinf(x) || df / 2 == 0) /* df below 1e-323: all the mass is at 0 */
        return 0;
    return x / 2 == 0 ? 1 : gamma_q(df / 2, x / 2);
}

/* ===================================================================== *
 * Argument checks: each returns 0, or -1 with *err naming the argument.
 * ===================================================================== */

static int check_finite(double v, const char *name, struct sl_err *err)
{
    if (isfinite(v))
        return 0;
    return sl_err_set(err, SL_EINVAL, "%s must be a finite number (got %g)", name, v);
}

static int check_n(double n, const char *name, struct sl_err *err)
{
    if (isfinite(n) && n >= 2)
        return 0;
    return sl_err_set(err, SL_EINVAL, "%s must be at least 2 (got %g)", name, n);
}

static int check_nonneg(double v, const char *name, struct sl_err *err)
{
    if (isfinite(v) && v >= 0)
        return 0;
    return sl_err_set(err, SL_EINVAL, "%s must be a finite number >= 0 (got %g)", name, v);
}

static int check_positive(double v, const char *name, struct sl_err *err)
{
    if (isfinite(v) && v > 0)
        return 0;
    return sl_err_set(err, SL_EINVAL, "%s must be a finite number > 0 (got %g)", name, v);
}

static int check_alpha(double alpha, struct sl_err *err)
{
    if (alpha > 0 && alpha < 1)
        return 0;
    return sl_err_set(err, SL_EINVAL, "alpha must be in (0, 1) (got %g)", alpha);
}

/* Summary statistics of both arms: finite means, variances >= 0, n >= 2. */
static int check_arms(double m1, double v1, double n1, double m2, double v2, double n2,
                      struct sl_err *err)
{
    if (check_finite(m1, "m1", err) || check_nonneg(v1, "v1 (variance)", err) ||
        check_n(n1, "n1", err) || check_finite(m2, "m2", err) ||
        check_nonneg(v2, "v2 (variance)", err) || check_n(n2, "n2", err))
        return -1;
    return 0;
}

/* ===================================================================== *
 * Welch and relative lift
 * ===================================================================== */

/* Welch-Satterthwaite df of the raw variances, written with the shares
 * f_i = (v_i/n_i)/se^2 so no fourth power can overflow. */
static double welch_df(double v1, double n1, double v2, double n2)
{
    double e1 = v1 / n1, e2 = v2 / n2, s2 = e1 + e2;
    if (s2 == 0)
        return n1 + n2 - 2;
    double f1 = e1 / s2, f2 = e2 / s2;
    return 1 / (f1 * f1 / (n1 - 1) + f2 * f2 / (n2 - 1));
}

/* t, two-sided p and t-quantile CI for an estimate, with the se = 0 rule. */
static void t_result(double diff, double se, double df, double alpha, struct sl_welch *out)
{
    out->diff = diff;
    out->se = se;
    out->df = df;
    if (se == 0) {
        out->t = diff == 0 ? 0 : copysign(INFINITY, diff);
        out->p = diff == 0 ? 1 : 0;
        out->ci_low = out->ci_high = diff;
        return;
    }
    out->t = diff / se;
    out->p = fmin(1, 2 * sl_stats_t_sf(fabs(out->t), df));
    double half = t_isf(alpha / 2, df) * se;
    out->ci_low = diff - half;
    out->ci_high = diff + half;
}

int sl_stats_welch(double m1, double v1, double n1, double m2, double v2, double n2, double alpha,
                   struct sl_welch *out, struct sl_err *err)
{
    if (check_arms(m1, v1, n1, m2, v2, n2, err) || check_alpha(alpha, err))
        return -1;
    double se = sqrt(v1 / n1 + v2 / n2);
    t_result(m2 - m1, se, welch_df(v1, n1, v2, n2), alpha, out);
    return 0;
}

/* Delta-method se of (m2 - m1)/|m1|: sqrt(v2/n2 + v1/n1 (m2/m1)^2) / |m1|. */
static double relative_se(double m1, double v1, double n1, double m2, double v2, double n2)
{
    double ratio = m2 / m1;
    return sqrt(v2 / n2 + v1 / n1 * ratio * ratio) / fabs(m1);
}

int sl_stats_welch_relative(double m1, double v1, double n1, double m2, double v2, double n2,
                            double alpha, struct sl_welch *out, struct sl_err *err)
{
    if (check_arms(m1, v1, n1, m2, v2, n2, err) || check_alpha(alpha, err))
        return -1;
    if (m1 == 0)
        return sl_err_set(err, SL_EINVAL, "relative lift is undefined: control mean m1 is 0");
    double se = relative_se(m1, v1, n1, m2, v2, n2);
    t_result((m2 - m1) / fabs(m1), se, welch_df(v1, n1, v2, n2), alpha, out);
    return 0;
}

/* ===================================================================== *
 * Two proportions
 * ===================================================================== */

static int check_count(double s, double n, const char *sname, const char *nname, struct sl_err *err)
{
    if (check_nonneg(s, sname, err) || check_nonneg(n, nname, err))
        return -1;
    if (s > n)
        return sl_err_set(err, SL_EINVAL, "%s (%g) exceeds %s (%g)", sname, s, nname, n);
    return 0;
}

int sl_stats_proportions(double s1, double n1, double s2, double n2, double alpha,
                         struct sl_proportions *out, struct sl_err *err)
{
    if (check_count(s1, n1, "s1", "n1", err) || check_count(s2, n2, "s2", "n2", err) ||
        check_alpha(alpha, err))
        return -1;
    struct sl_proportions r = {.p1 = n1 > 0 ? s1 / n1 : 0, .p2 = n2 > 0 ? s2 / n2 : 0, .p = 1};
    r.diff = r.p2 - r.p1;
    if (n1 == 0 || n2 == 0) {
        r.ci_low = -1;
        r.ci_high = 1;
        *out = r;
        return 0;
    }
    /* p(1-p) as s(n-s)/n^2: no 1 - p, so rare and near-certain rates keep their digits. */
    double pooled = (s1 + s2) * ((n1 - s1) + (n2 - s2)) / ((n1 + n2) * (n1 + n2));
    double v0 = pooled * (1 / n1 + 1 / n2);
    if (v0 > 0) {
        r.z = r.diff / sqrt(v0);
        r.p = fmin(1, 2 * sl_stats_normal_sf(fabs(r.z)));
    }
    double half = normal_isf(alpha / 2) *
                  sqrt(s1 * (n1 - s1) / (n1 * n1 * n1) + s2 * (n2 - s2) / (n2 * n2 * n2));
    r.ci_low = r.diff - half;
    r.ci_high = r.diff + half;
    *out = r;
    return 0;
}

/* ===================================================================== *
 * Sample-ratio mismatch
 * ===================================================================== */

/* Validate the arms; count those with positive weight and sum both columns. */
static int srm_scan(const double *o, const double *w, size_t k, size_t *npos, double *so,
                    double *sw, struct sl_err *err)
{
    if (k < 2)
        return sl_err_set(err, SL_EINVAL, "need at least 2 variants (got %zu)", k);
    *npos = 0;
    *so = *sw = 0;
    for (size_t i = 0; i < k; i++) {
        if (!(isfinite(o[i]) && o[i] >= 0) || !(isfinite(w[i]) && w[i] >= 0))
            return sl_err_set(err, SL_EINVAL,
                              "count and weight %zu must be finite and >= 0 (got %g, %g)", i + 1,
                              o[i], w[i]);
        *npos += w[i] > 0;
        *so += o[i];
        *sw += w[i];
    }
    if (*npos < 2)
        return sl_err_set(err, SL_EINVAL, "weights must include at least 2 positive values");
    return 0;
}

int sl_stats_srm(const double *observed, const double *weights, size_t k, struct sl_srm *out,
                 struct sl_err *err)
{
    size_t npos = 0;
    double so = 0, sw = 0;
    if (srm_scan(observed, weights, k, &npos, &so, &sw, err))
        return -1;
    struct sl_srm r = {.df = (double)(npos - 1), .p = 1};
    for (size_t i = 0; i < k && so > 0; i++) {
        if (weights[i] == 0 && observed[i] > 0)
            r.chi2 = INFINITY;
        if (weights[i] == 0)
            continue;
        double e = weights[i] / sw * so, d = observed[i] - e;
        r.chi2 += d * d / e;
    }
    r.p = sl_stats_chi2_sf(r.chi2, r.df);
    *out = r;
    return 0;
}

/* ===================================================================== *
 * Mann-Whitney U
 * ===================================================================== */

/* Accumulates U and the tie term over tie groups visited in increasing order. */
struct mw_acc {
    double n1, n2;  /* units seen so far in each sample */
    double u;       /* pairs (x > y) + ties/2 */
    double ties;    /* sum over tie groups of t^3 - t */
    double largest; /* largest tie group */
};

/* Add a group of a values of x and b values of y, all equal, above all before. */
static void mw_group(struct mw_acc *acc, double a, double b)
{
    double t = a + b;
    acc->u += a * (acc->n2 + 0.5 * b);
    acc->ties += (t - 1) * t * (t + 1);
    acc->largest = fmax(acc->largest, t);
    acc->n1 += a;
    acc->n2 += b;
}

static int mw_finish(const struct mw_acc *acc, struct sl_mann_whitney *out, struct sl_err *err)
{
    double n1 = acc->n1, n2 = acc->n2, nn = n1 + n2;
    if (n1 == 0 || n2 == 0)
        return sl_err_set(err, SL_EINVAL, "empty sample (n1 = %g, n2 = %g)", n1, n2);
    double mu = n1 * n2 / 2, dev = fabs(acc->u - mu) - 0.5;
    double var = n1 * n2 / 12 * ((nn + 1) - acc->ties / (nn * (nn - 1)));
    struct sl_mann_whitney r = {.u = acc->u, .z = 0, .p = 1};
    if (acc->largest < nn && var > 0 && dev > 0) { /* one tie group means sigma = 0 */
        r.z = copysign(dev / sqrt(var), acc->u - mu);
        r.p = fmin(1, 2 * sl_stats_normal_sf(fabs(r.z)));
    }
    *out = r;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Count the run of values equal to v starting at *i, and step past it. */
static double run_length(const double *s, size_t n, size_t *i, double v)
{
    size_t start = *i;
    while (*i < n && s[*i] == v)
        (*i)++;
    return (double)(*i - start);
}

int sl_stats_mann_whitney(const double *x, size_t n1, const double *y, size_t n2,
                          struct sl_mann_whitney *out, struct sl_err *err)
{
    if (n1 == 0 || n2 == 0)
        return sl_err_set(err, SL_EINVAL, "empty sample (n1 = %zu, n2 = %zu)", n1, n2);
    int rc = -1;
    double *xs = malloc((n1 + n2) * sizeof *xs);
    if (!xs) {
        sl_err_set(err, SL_ENOMEM, "cannot allocate %zu values", n1 + n2);
        goto done;
    }
    double *ys = xs + n1;
    for (size_t i = 0; i < n1 + n2; i++) {
        xs[i] = i < n1 ? x[i] : y[i - n1];
        if (isnan(xs[i])) {
            sl_err_set(err, SL_EINVAL, "%s[%zu] is NaN", i < n1 ? "x" : "y",
                       (i < n1 ? i : i - n1) + 1);
            goto done;
        }
    }
    qsort(xs, n1, sizeof *xs, cmp_double);
    qsort(ys, n2, sizeof *ys, cmp_double);
    struct mw_acc acc = {0};
    for (size_t i = 0, j = 0; i < n1 || j < n2;) {
        double v = j == n2 || (i < n1 && xs[i] < ys[j]) ? xs[i] : ys[j];
        double a = run_length(xs, n1, &i, v);
        mw_group(&acc, a, run_length(ys, n2, &j, v));
    }
    rc = mw_finish(&acc, out, err);
done:
    free(xs);
    return rc;
}

int sl_stats_mann_whitney_counts(const uint64_t *c1, const uint64_t *c2, size_t nbuckets,
                                 struct sl_mann_whitney *out, struct sl_err *err)
{
    struct mw_acc acc = {0};
    for (size_t b = 0; b < nbuckets; b++)
        if (c1[b] || c2[b])
            mw_group(&acc, (double)c1[b], (double)c2[b]);
    return mw_finish(&acc, out, err);
}

/* ===================================================================== *
 * Power, sample size, minimum detectable effect
 * ===================================================================== */

/* Power of the two-sided z-test at standardized effect k = |delta|/se. */
static double power_at(double k, double z)
{
    return sl_stats_normal_sf(z - k) + sl_stats_normal_sf(z + k);
}

/* k >= 0 with power_at(k, z) = power, alpha < power < 1, solved on the miss
 * rate beta(k) = Phi(z - k) - Phi(-z - k) = 1 - power, which is exact to
 * form and keeps its digits for power near 1. The one-tail textbook k0 =
 * z + Phi^-1(power) brackets the root from above, so Newton starts there. */
static double solve_k(double power, double z)
{
    double target = 1 - power, lo = 0, hi = z + sl_stats_normal_ppf(power);
    double k = hi, prev = INFINITY;
    for (int i = 0; i < SL_ROOT_MAXIT; i++) {
        double beta = sl_stats_normal_sf(k - z) - sl_stats_normal_sf(k + z);
        if (beta == target)
            break;
        if (beta > target)
            lo = k;
        else
            hi = k;
        double slope = exp(normal_lpdf(k + z)) - exp(normal_lpdf(k - z));
        double next = k - (beta - target) / slope;
        if (!(next > lo && next < hi))
            next = 0.5 * (lo + hi);
        double step = next - k;
        k = next;
        if (settled(step, &prev, k) || hi - lo <= 4 * DBL_EPSILON * hi)
            break;
    }
    return k;
}

static int check_design(double sd, double alpha, struct sl_err *err)
{
    if (check_positive(sd, "sd", err) || check_alpha(alpha, err))
        return -1;
    return 0;
}

static int check_target_power(double power, double alpha, struct sl_err *err)
{
    if (power > alpha && power < 1)
        return 0;
    return sl_err_set(err, SL_EINVAL, "power must be in (alpha, 1) = (%g, 1) (got %g)", alpha,
                      power);
}

int sl_stats_power(double delta, double sd, double n_per_arm, double alpha, double *power,
                   struct sl_err *err)
{
    if (check_finite(delta, "delta", err) || check_design(sd, alpha, err) ||
        check_n(n_per_arm, "n_per_arm", err))
        return -1;
    *power = power_at(fabs(delta) / (sd * sqrt(2 / n_per_arm)), normal_isf(alpha / 2));
    return 0;
}

int sl_stats_sample_size(double delta, double sd, double power, double alpha, double *n_per_arm,
                         struct sl_err *err)
{
    if (check_finite(delta, "delta", err) || check_design(sd, alpha, err) ||
        check_target_power(power, alpha, err))
        return -1;
    if (delta == 0)
        return sl_err_set(err, SL_EINVAL, "delta must not be 0 (no sample size detects it)");
    double z = normal_isf(alpha / 2), k = solve_k(power, z), ratio = fabs(delta) / sd;
    double n = fmax(2, ceil(2 * (k / ratio) * (k / ratio)));
    /* The root carries rounding: settle the whole number on the power itself. */
    if (n > 2 && power_at(ratio * sqrt((n - 1) / 2), z) >= power)
        n -= 1;
    else if (power_at(ratio * sqrt(n / 2), z) < power)
        n += 1;
    *n_per_arm = n;
    return 0;
}

int sl_stats_mde(double sd, double n_per_arm, double power, double alpha, double *mde,
                 struct sl_err *err)
{
    if (check_design(sd, alpha, err) || check_n(n_per_arm, "n_per_arm", err) ||
        check_target_power(power, alpha, err))
        return -1;
    *mde = solve_k(power, normal_isf(alpha / 2)) * sd * sqrt(2 / n_per_arm);
    return 0;
}

/* ===================================================================== *
 * Always-valid inference
 * ===================================================================== */

/* One mSPRT look on validated input. With r = tau2/s2:
 *   ln Lambda = -1/2 ln(1+r) + (d^2/(2 s2)) r/(1+r),
 *   half-width = sqrt(2 s2 (1 + 1/r) (ln(1/alpha) + 1/2 ln(1+r))). */
static int msprt_look(double diff, double s2, double tau2, double theta0, double alpha,
                      struct sl_msprt *out, struct sl_err *err)
{
    double r = tau2 / s2, d = diff - theta0, shrink = 1 / (1 + 1 / r);
    double ll = -0.5 * log1p(r) + d * d / (2 * s2) * shrink;
    double half = sqrt(2 * s2 * (1 + 1 / r) * (-log(alpha) + 0.5 * log1p(r)));
    if (isnan(ll) || isnan(half))
        return sl_err_set(err, SL_EINVAL, "s2 = %g and tau2 = %g are too far apart", s2, tau2);
    out->log_lambda = ll;
    out->lambda = exp(ll);
    out->p = fmin(1, exp(-ll));
    out->ci_low = diff - half;
    out->ci_high = diff + half;
    return 0;
}

int sl_stats_msprt(double diff, double s2, double tau2, double theta0, double alpha,
                   struct sl_msprt *out, struct sl_err *err)
{
    if (check_finite(diff, "diff", err) || check_positive(s2, "s2", err) ||
        check_positive(tau2, "tau2", err) || check_finite(theta0, "theta0", err) ||
        check_alpha(alpha, err))
        return -1;
    return msprt_look(diff, s2, tau2, theta0, alpha, out, err);
}

void sl_stats_seq_config_init(struct sl_seq_config *cfg)
{
    *cfg = (struct sl_seq_config){
        .method = SL_SEQ_MSPRT, .alpha = 0.05, .tau2 = 0, .theta0 = 0, .n_star = 5000};
}

static int check_seq_config(const struct sl_seq_config *cfg, struct sl_err *err)
{
    if (check_alpha(cfg->alpha, err) || check_finite(cfg->theta0, "theta0", err))
        return -1;
    if (cfg->method == SL_SEQ_MSPRT)
        return check_positive(cfg->tau2, "tau2", err);
    if (cfg->method == SL_SEQ_GROWTHBOOK)
        return check_positive(cfg->n_star, "n_star", err);
    return sl_err_set(err, SL_EINVAL, "unknown sequential method %d", cfg->method);
}

int sl_stats_seq_init(struct sl_seq *seq, const struct sl_seq_config *cfg, struct sl_err *err)
{
    if (check_seq_config(cfg, err))
        return -1;
    double l = -2 * log(cfg->alpha); /* GrowthBook's rho, eq. 161 of the paper */
    *seq = (struct sl_seq){.cfg = *cfg,
                           .rho2 = (l + log(l + 1)) / cfg->n_star,
                           .p = 1,
                           .ci_low = -INFINITY,
                           .ci_high = INFINITY};
    return 0;
}

/* This look's estimate and its variance; false if it carries no variance. */
static bool seq_estimate(const struct sl_seq *seq, double m1, double v1, double n1, double m2,
                         double v2, double n2, double *diff, double *s2)
{
    if (!seq->cfg.relative) {
        *diff = m2 - m1;
        *s2 = v1 / n1 + v2 / n2;
    } else if (m1 != 0) {
        double se = relative_se(m1, v1, n1, m2, v2, n2);
        *diff = (m2 - m1) / fabs(m1);
        *s2 = se * se;
    } else {
        *diff = *s2 = 0;
    }
    return *s2 > 0;
}

/* Running intersection; an empty one keeps the old bound nearest the new interval. */
static void ci_intersect(struct sl_seq *seq, double lo, double hi)
{
    if (lo > seq->ci_high)
        seq->ci_low = seq->ci_high;
    else if (hi < seq->ci_low)
        seq->ci_high = seq->ci_low;
    else {
        seq->ci_low = fmax(seq->ci_low, lo);
        seq->ci_high = fmin(seq->ci_high, hi);
    }
}

int sl_stats_seq_update(struct sl_seq *seq, double m1, double v1, double n1, double m2, double v2,
                        double n2, struct sl_seq_result *out, struct sl_err *err)
{
    if (check_arms(m1, v1, n1, m2, v2, n2, err))
        return -1;
    double diff, s2;
    struct sl_msprt look = {.lambda = 1};
    if (seq_estimate(seq, m1, v1, n1, m2, v2, n2, &diff, &s2)) {
        const struct sl_seq_config *c = &seq->cfg;
        double tau2 = c->method == SL_SEQ_MSPRT ? c->tau2 : seq->rho2 * (n1 + n2) * s2;
        if (msprt_look(diff, s2, tau2, c->theta0, c->alpha, &look, err))
            return -1;
        if (c->method == SL_SEQ_MSPRT) {
            seq->p = fmin(seq->p, look.p);
            ci_intersect(seq, look.ci_low, look.ci_high);
        } else {
            seq->p = look.p;
            seq->ci_low = look.ci_low;
            seq->ci_high = look.ci_high;
        }
    }
    seq->looks++;
    *out = (struct sl_seq_result){.diff = diff,
                                  .se = sqrt(s2),
                                  .lambda = look.lambda,
                                  .p = seq->p,
                                  .ci_low = seq->ci_low,
                                  .ci_high = seq->ci_high,
                                  .looks = seq->looks};
    return 0;
}

/* ===================================================================== *
 * Multiple testing
 * ===================================================================== */

struct ranked {
    double p;
    size_t i; /* position in the caller's array: ties keep their order */
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* A sorted, validated copy of p; NULL with *err filled on failure. */
static struct ranked *rank_pvalues(const double *p, size_t k, struct sl_err *err)
{
    if (k == 0) {
        sl_err_set(err, SL_EINVAL, "no p-values to adjust");
        return NULL;
    }
    for (size_t i = 0; i < k; i++)
        if (!(p[i] >= 0 && p[i] <= 1)) {
            sl_err_set(err, SL_EINVAL, "p-value %zu must be in [0, 1] (got %g)", i + 1, p[i]);
            return NULL;
        }
    struct ranked *r = malloc(k * sizeof *r);
    if (!r) {
        sl_err_set(err, SL_ENOMEM, "cannot allocate %zu ranks", k);
        return NULL;
    }
    for (size_t i = 0; i < k; i++)
        r[i] = (struct ranked){.p = p[i], .i = i};
    qsort(r, k, sizeof *r, cmp_ranked);
    return r;
}

int sl_stats_holm(const double *p, size_t k, double *adj, struct sl_err *err)
{
    struct ranked *r = rank_pvalues(p, k, err);
    if (!r)
        return -1;
    double run = 0;
    for (size_t j = 0; j < k; j++) {
        run = fmax(run, fmin(1, (double)(k - j) * r[j].p));
        adj[r[j].i] = run;
    }
    free(r);
    return 0;
}

int sl_stats_bh(const double *p, size_t k, double *adj, struct sl_err *err)
{
    struct ranked *r = rank_pvalues(p, k, err);
    if (!r)
        return -1;
    double run = 1;
    for (size_t j = k; j-- > 0;) {
        run = fmin(run, (double)k * r[j].p / (double)(j + 1));
        adj[r[j].i] = run;
    }
    free(r);
    return 0;
}
