/* test_stats.c - src/core/stats against reference vectors and by hand.
 *
 * The vectors (tests/stats, one .tsv per function family) come from tests/stats/gen_vectors.py
 * (mpmath at 60+ digits, cross-checked with scipy); this program only reads
 * them, from the repository root (CTest's working directory). Tolerances:
 * 1e-12 relative for the distribution functions, 1e-9 for the tests built on
 * them. The hand-written checks pin the degenerate cases and the errors. */
#include "stats.h"
#include "tap.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC_DIR    "tests/stats/"
#define TOL_DIST   1e-12
#define TOL_FORM   1e-9
#define MAX_FIELDS 20
#define MAX_LIST   1024

/* ---- reading the vector files ----------------------------------------- */

struct tsv {
    FILE *f;
    const char *name;
    int lineno;
    char line[1 << 16];
    char *field[MAX_FIELDS];
    int nfield;
};

/* Split the next data line into fields; false at end of file. */
static bool tsv_next(struct tsv *t)
{
    while (fgets(t->line, sizeof t->line, t->f)) {
        t->lineno++;
        if (t->line[0] == '#' || t->line[0] == '\n')
            continue;
        t->line[strcspn(t->line, "\n")] = '\0';
        t->nfield = 0;
        for (char *s = t->line; s && t->nfield < MAX_FIELDS;) {
            t->field[t->nfield++] = s;
            s = strchr(s, '\t');
            if (s)
                *s++ = '\0';
        }
        return true;
    }
    return false;
}

/* Open a vector file and skip its header line. */
static bool tsv_open(struct tsv *t, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, VEC_DIR "%s", name);
    t->f = fopen(path, "r");
    t->name = name;
    t->lineno = 0;
    if (!ok(t->f != NULL, "vector file %s opens (run from the repository root)", path))
        return false;
    return tsv_next(t);
}

static double num(const struct tsv *t, int i)
{
    return strcmp(t->field[i], "-") == 0 ? NAN : strtod(t->field[i], NULL);
}

/* Parse "a,b,c" into out (at most MAX_LIST values); returns the count. */
static size_t parse_list(const char *s, double *out)
{
    size_t n = 0;
    for (char *end; *s && n < MAX_LIST; s = *end ? end + 1 : end)
        out[n++] = strtod(s, &end);
    return n;
}

/* |got - want| <= tol * scale, scale = max(|want|, floor): floor keeps a
 * bound that cancels to ~0 (a CI limit, a zero effect) from demanding
 * digits it never had. */
static bool close_to(double got, double want, double tol, double floor)
{
    if (got == want)
        return true;
    return fabs(got - want) <= tol * fmax(fabs(want), floor);
}

/* A failing field of a vector row, reported once as a diagnostic. */
static int report(const struct tsv *t, const char *what, double got, double want)
{
    tap_diag("%s:%d %s: got %.17g, want %.17g", t->name, t->lineno, what, got, want);
    return 1;
}

/* ---- distribution functions -------------------------------------------- */

static double ev_normal_cdf(double x, double df)
{
    (void)df;
    return sl_stats_normal_cdf(x);
}

static double ev_normal_sf(double x, double df)
{
    (void)df;
    return sl_stats_normal_sf(x);
}

static double ev_normal_ppf(double x, double df)
{
    (void)df;
    return sl_stats_normal_ppf(x);
}

/* The normal family is held to near machine precision (its far lower tail
 * needs the compensated erfc argument); the others to the contract. */
static const struct dist_fn {
    const char *name;
    double (*eval)(double x, double df);
    double tol;
} dist_fns[] = {
    {"normal_cdf", ev_normal_cdf, 1e-15},    {"normal_sf", ev_normal_sf, 1e-15},
    {"normal_ppf", ev_normal_ppf, 1e-15},    {"t_cdf", sl_stats_t_cdf, TOL_DIST},
    {"t_sf", sl_stats_t_sf, TOL_DIST},       {"t_ppf", sl_stats_t_ppf, TOL_DIST},
    {"chi2_sf", sl_stats_chi2_sf, TOL_DIST},
};
#define NDIST (sizeof dist_fns / sizeof dist_fns[0])

static void test_dist_vectors(void)
{
    struct tsv t;
    int rows[NDIST] = {0}, bad[NDIST] = {0};
    double worst[NDIST] = {0};
    if (!tsv_open(&t, "dist.tsv"))
        return;
    while (tsv_next(&t)) {
        size_t i = 0;
        while (i < NDIST && strcmp(dist_fns[i].name, t.field[0]) != 0)
            i++;
        if (i == NDIST)
            continue;
        double want = num(&t, 3), got = dist_fns[i].eval(num(&t, 1), num(&t, 2));
        double err = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
        rows[i]++;
        worst[i] = fmax(worst[i], isnan(err) ? INFINITY : err);
        if (!(err <= dist_fns[i].tol) && bad[i]++ < 10)
            report(&t, t.field[0], got, want);
    }
    fclose(t.f);
    for (size_t i = 0; i < NDIST; i++)
        ok(rows[i] > 0 && bad[i] == 0, "%s within %g of mpmath at %d points (worst %.2g)",
           dist_fns[i].name, dist_fns[i].tol, rows[i], worst[i]);
}

static void test_dist_edges(void)
{
    ok(sl_stats_normal_cdf(-INFINITY) == 0 && sl_stats_normal_cdf(INFINITY) == 1,
       "normal_cdf at -inf and +inf is 0 and 1");
    ok(sl_stats_normal_ppf(0) == -INFINITY && sl_stats_normal_ppf(1) == INFINITY,
       "normal_ppf(0) = -inf, normal_ppf(1) = +inf");
    ok(isnan(sl_stats_normal_ppf(-0.1)) && isnan(sl_stats_normal_ppf(1.5)) &&
           isnan(sl_stats_normal_ppf(NAN)) && isnan(sl_stats_normal_cdf(NAN)),
       "normal functions give NaN only for NaN or out-of-domain input");
    ok(isnan(sl_stats_t_sf(1, 0)) && isnan(sl_stats_t_sf(1, -2)) && isnan(sl_stats_t_cdf(NAN, 3)) &&
           isnan(sl_stats_t_ppf(0.5, NAN)) && isnan(sl_stats_chi2_sf(1, 0)),
       "t and chi2 give NaN for df <= 0 or NaN input");
    ok(sl_stats_t_sf(0, 0.3) == 0.5 && sl_stats_t_cdf(INFINITY, 2) == 1 &&
           sl_stats_t_cdf(-INFINITY, 2) == 0 && sl_stats_t_ppf(0.5, 7) == 0,
       "t distribution: centre and infinite arguments are exact");
    ok(sl_stats_t_sf(2.5, INFINITY) == sl_stats_normal_sf(2.5) &&
           sl_stats_t_ppf(0.9, INFINITY) == sl_stats_normal_ppf(0.9),
       "df = inf is the normal distribution");
    ok(sl_stats_chi2_sf(0, 3) == 1 && sl_stats_chi2_sf(-1, 3) == 1 &&
           sl_stats_chi2_sf(INFINITY, 3) == 0,
       "chi2_sf is 1 for x <= 0 and 0 at +inf");
    double worst = 0;
    for (double df = 0.3; df < 1e9; df *= 3.7)
        for (double p = 1e-12; p < 1; p = p * 7 + 0.01) {
            double x = sl_stats_t_ppf(p, df), back = sl_stats_t_cdf(x, df);
            worst = fmax(worst, fabs(back - p) / p);
        }
    ok(worst < 1e-13, "t_cdf(t_ppf(p, df), df) returns p (worst rel err %.2g)", worst);
    ok(sl_stats_t_sf(1e-300, 5) == 0.5 && sl_stats_t_ppf(1e-320, 1) == -INFINITY,
       "t: tiny arguments and quantiles past the doubles do not crash");
    static const double extreme[] = {0,     5e-324, 1e-300, 1e-17,  0.5, 1,       2,
                                     1e154, 1e200,  1e300,  -1e300, -3,  INFINITY};
    int nans = 0;
    for (size_t i = 0; i < sizeof extreme / sizeof extreme[0]; i++)
        for (size_t j = 0; j < sizeof extreme / sizeof extreme[0]; j++) {
            double x = extreme[i], df = extreme[j];
            if (df > 0)
                nans += isnan(sl_stats_t_cdf(x, df)) + isnan(sl_stats_chi2_sf(x, df)) +
                        (x >= 0 && x <= 1 && isnan(sl_stats_t_ppf(x, df)));
        }
    ok(nans == 0, "no NaN from t and chi2 at extreme arguments and df (5e-324 .. inf)");
}

/* ---- Welch ----------------------------------------------------------------- */

static int check_welch_row(const struct tsv *t, const struct sl_welch *w)
{
    static const char *const names[] = {"diff", "se", "t", "df", "p", "ci_low", "ci_high"};
    double got[] = {w->diff, w->se, w->t, w->df, w->p, w->ci_low, w->ci_high};
    double se = num(t, 9), fails = 0;
    for (int i = 0; i < 7; i++) {
        double want = num(t, 8 + i);
        double floor = i == 0 || i >= 5 ? se : (i == 2 ? 1e-300 : 0);
        if (!close_to(got[i], want, TOL_FORM, floor))
            fails += report(t, names[i], got[i], want);
    }
    return fails > 0;
}

static void test_welch_vectors(void)
{
    struct tsv t;
    int rows = 0, bad = 0;
    if (!tsv_open(&t, "welch.tsv"))
        return;
    while (tsv_next(&t)) {
        struct sl_welch w;
        struct sl_err err;
        double a[7];
        for (int i = 0; i < 7; i++)
            a[i] = num(&t, 1 + i);
        int (*fn)(double, double, double, double, double, double, double, struct sl_welch *,
                  struct sl_err *) =
            strcmp(t.field[0], "welch") == 0 ? sl_stats_welch : sl_stats_welch_relative;
        rows++;
        if (fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], &w, &err) != 0)
            bad += report(&t, err.msg, 0, 0);
        else
            bad += check_welch_row(&t, &w);
    }
    fclose(t.f);
    ok(rows > 0 && bad == 0,
       "welch and welch_relative match %d reference rows (n = 2..1e7, "
       "p down to 1e-300)",
       rows);
}

static void test_welch_by_hand(void)
{
    struct sl_welch w = {.p = -1}, keep;
    struct sl_err err;
    ok(sl_stats_welch(5, 0, 10, 5, 0, 12, 0.05, &w, &err) == 0 && w.t == 0 && w.p == 1 &&
           w.se == 0 && w.df == 20 && w.ci_low == 0 && w.ci_high == 0,
       "welch: two constant equal arms give t = 0, p = 1, df = n1 + n2 - 2, CI [0, 0]");
    ok(sl_stats_welch(5, 0, 10, 6, 0, 12, 0.05, &w, &err) == 0 && w.t == INFINITY && w.p == 0 &&
           w.ci_low == 1 && w.ci_high == 1,
       "welch: two constant different arms give t = +inf, p = 0, CI [diff, diff]");
    ok(sl_stats_welch(5, 0, 10, 6, 4, 5, 0.05, &w, &err) == 0 && fabs(w.df - 4) < 1e-12,
       "welch: one constant arm leaves the other's n - 1 degrees of freedom");
    keep = w;
    ok(sl_stats_welch(5, 1, 1, 6, 4, 5, 0.05, &w, &err) == -1 && err.code == SL_EINVAL &&
           strstr(err.msg, "n1") && memcmp(&w, &keep, sizeof w) == 0,
       "welch: n1 < 2 is an error naming n1, result untouched (%s)", err.msg);
    ok(sl_stats_welch(5, 1, 10, 6, -4, 5, 0.05, &w, &err) == -1 && strstr(err.msg, "v2"),
       "welch: negative variance is an error (%s)", err.msg);
    ok(sl_stats_welch(NAN, 1, 10, 6, 4, 5, 0.05, &w, &err) == -1 && strstr(err.msg, "m1"),
       "welch: NaN mean is an error (%s)", err.msg);
    ok(sl_stats_welch(1, INFINITY, 10, 6, 4, 5, 0.05, &w, &err) == -1,
       "welch: infinite variance is an error");
    ok(sl_stats_welch(1, 1, 10, 6, 4, 5, 0, &w, &err) == -1 &&
           sl_stats_welch(1, 1, 10, 6, 4, 5, 1, &w, &err) == -1 &&
           sl_stats_welch(1, 1, 10, 6, 4, 5, NAN, &w, &err) == -1 && strstr(err.msg, "alpha"),
       "welch: alpha outside (0, 1) is an error (%s)", err.msg);
    ok(sl_stats_welch_relative(0, 1, 10, 6, 4, 5, 0.05, &w, &err) == -1 &&
           strstr(err.msg, "undefined"),
       "welch_relative: control mean 0 is an error saying the lift is undefined (%s)", err.msg);
    ok(sl_stats_welch(1, 1, 10, 2, 1, 10, 0.05, &w, NULL) == 0 &&
           sl_stats_welch(1, 1, 0, 2, 1, 10, 0.05, &w, NULL) == -1,
       "welch: err may be NULL");
    struct sl_welch a, b;
    sl_stats_welch(10, 4, 30, 12, 9, 40, 0.05, &a, NULL);
    sl_stats_welch(12, 9, 40, 10, 4, 30, 0.05, &b, NULL);
    ok(a.diff == -b.diff && a.t == -b.t && a.p == b.p && a.ci_low == -b.ci_high,
       "welch: swapping the arms flips diff, t and the CI and keeps p");
}

/* ---- proportions ------------------------------------------------------------ */

static void test_proportions_vectors(void)
{
    static const char *const names[] = {"p1", "p2", "diff", "z", "p", "ci_low", "ci_high"};
    struct tsv t;
    int rows = 0, bad = 0;
    if (!tsv_open(&t, "proportions.tsv"))
        return;
    while (tsv_next(&t)) {
        struct sl_proportions r;
        rows++;
        if (sl_stats_proportions(num(&t, 0), num(&t, 1), num(&t, 2), num(&t, 3), num(&t, 4), &r,
                                 NULL) != 0) {
            bad += report(&t, "call failed", 0, 0);
            continue;
        }
        double got[] = {r.p1, r.p2, r.diff, r.z, r.p, r.ci_low, r.ci_high};
        double span = fabs(num(&t, 11) - num(&t, 10));
        for (int i = 0; i < 7; i++)
            if (!close_to(got[i], num(&t, 5 + i), TOL_FORM, i >= 5 ? span : 0))
                bad += report(&t, names[i], got[i], num(&t, 5 + i));
    }
    fclose(t.f);
    ok(rows > 0 && bad == 0, "proportions match %d reference rows (rates 1e-4 to 0.9999)", rows);
}

static void test_proportions_by_hand(void)
{
    struct sl_proportions r;
    struct sl_err err;
    ok(sl_stats_proportions(0, 0, 3, 10, 0.05, &r, &err) == 0 && r.p1 == 0 && r.z == 0 &&
           r.p == 1 && r.ci_low == -1 && r.ci_high == 1,
       "proportions: an empty arm (0/0) gives z = 0, p = 1, CI [-1, 1]");
    ok(sl_stats_proportions(0, 50, 0, 70, 0.05, &r, &err) == 0 && r.z == 0 && r.p == 1 &&
           r.ci_low == 0 && r.ci_high == 0,
       "proportions: none in both arms gives z = 0, p = 1, CI [0, 0]");
    ok(sl_stats_proportions(50, 50, 70, 70, 0.05, &r, &err) == 0 && r.z == 0 && r.p == 1 &&
           r.diff == 0,
       "proportions: all in both arms gives z = 0, p = 1");
    ok(sl_stats_proportions(0, 50, 50, 50, 0.05, &r, &err) == 0 && r.z > 7 && r.p < 1e-12 &&
           r.ci_low == 1 && r.ci_high == 1,
       "proportions: none versus all is significant with a zero-width CI");
    ok(sl_stats_proportions(11, 10, 3, 10, 0.05, &r, &err) == -1 && strstr(err.msg, "s1"),
       "proportions: s > n is an error (%s)", err.msg);
    ok(sl_stats_proportions(1, 10, -3, 10, 0.05, &r, &err) == -1 &&
           sl_stats_proportions(1, NAN, 3, 10, 0.05, &r, &err) == -1 &&
           sl_stats_proportions(1, 10, 3, 10, 2, &r, &err) == -1,
       "proportions: negative or NaN counts and a bad alpha are errors");
}

/* ---- SRM ------------------------------------------------------------------ */

static void test_srm_vectors(void)
{
    struct tsv t;
    int rows = 0, bad = 0;
    double o[MAX_LIST], w[MAX_LIST];
    if (!tsv_open(&t, "srm.tsv"))
        return;
    while (tsv_next(&t)) {
        struct sl_srm r;
        size_t k = parse_list(t.field[0], o);
        rows++;
        if (parse_list(t.field[1], w) != k || sl_stats_srm(o, w, k, &r, NULL) != 0) {
            bad += report(&t, "call failed", 0, 0);
            continue;
        }
        if (!close_to(r.chi2, num(&t, 2), TOL_FORM, 1))
            bad += report(&t, "chi2", r.chi2, num(&t, 2));
        if (r.df != num(&t, 3))
            bad += report(&t, "df", r.df, num(&t, 3));
        if (!close_to(r.p, num(&t, 4), TOL_FORM, 0))
            bad += report(&t, "p", r.p, num(&t, 4));
    }
    fclose(t.f);
    ok(rows > 0 && bad == 0, "srm matches %d reference rows (scipy chisquare cross-checked)", rows);
}

static void test_srm_by_hand(void)
{
    struct sl_srm r;
    struct sl_err err;
    double o3[] = {100, 5, 110}, w3[] = {1, 0, 1};
    ok(sl_stats_srm(o3, w3, 3, &r, &err) == 0 && r.chi2 == INFINITY && r.p == 0 && r.df == 1,
       "srm: traffic on a zero-weight arm is a certain mismatch (chi2 = inf, p = 0)");
    double z3[] = {100, 0, 110};
    ok(sl_stats_srm(z3, w3, 3, &r, &err) == 0 && r.df == 1 && r.p > 0.4,
       "srm: an idle zero-weight arm is left out of the sum and of df");
    double none[] = {0, 0};
    double w2[] = {1, 3};
    ok(sl_stats_srm(none, w2, 2, &r, &err) == 0 && r.chi2 == 0 && r.p == 1,
       "srm: no units at all gives chi2 = 0, p = 1");
    ok(sl_stats_srm(none, w2, 1, &r, &err) == -1 && strstr(err.msg, "2 variants"),
       "srm: a single variant is an error (%s)", err.msg);
    double wz[] = {0, 1};
    ok(sl_stats_srm(none, wz, 2, &r, &err) == -1 && strstr(err.msg, "positive"),
       "srm: fewer than two positive weights is an error (%s)", err.msg);
    double wneg[] = {-1, 2}, onan[] = {NAN, 3};
    ok(sl_stats_srm(none, wneg, 2, &r, &err) == -1 && sl_stats_srm(onan, w2, 2, &r, &err) == -1,
       "srm: negative weights and NaN counts are errors");
}

/* ---- Mann-Whitney ------------------------------------------------------------ */

/* Bucket counts from a list of whole numbers 0..n-1 (value = bucket). */
static void to_counts(const double *v, size_t n, uint64_t *c, size_t nb)
{
    memset(c, 0, nb * sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[(size_t)v[i]]++;
}

static int check_mw(const struct tsv *t, const struct sl_mann_whitney *r)
{
    int bad = 0;
    if (!close_to(r->u, num(t, 3), TOL_FORM, 1))
        bad += report(t, "u", r->u, num(t, 3));
    if (!close_to(r->z, num(t, 4), TOL_FORM, 1e-300))
        bad += report(t, "z", r->z, num(t, 4));
    if (!close_to(r->p, num(t, 5), TOL_FORM, 0))
        bad += report(t, "p", r->p, num(t, 5));
    return bad;
}

static void test_mw_vectors(void)
{
    static double x[MAX_LIST], y[MAX_LIST];
    static uint64_t c1[MAX_LIST], c2[MAX_LIST];
    struct tsv t;
    int rows = 0, bad = 0, counts = 0;
    if (!tsv_open(&t, "mann_whitney.tsv"))
        return;
    while (tsv_next(&t)) {
        struct sl_mann_whitney r;
        size_t n1 = parse_list(t.field[1], x), n2 = parse_list(t.field[2], y);
        rows++;
        if (strcmp(t.field[0], "counts") == 0) {
            for (size_t i = 0; i < MAX_LIST; i++)
                c1[i] = i < n1 ? (uint64_t)x[i] : 0, c2[i] = i < n2 ? (uint64_t)y[i] : 0;
            counts++;
            bad += sl_stats_mann_whitney_counts(c1, c2, n1 > n2 ? n1 : n2, &r, NULL) != 0 ||
                   check_mw(&t, &r);
            continue;
        }
        bad += sl_stats_mann_whitney(x, n1, y, n2, &r, NULL) != 0 || check_mw(&t, &r);
    }
    fclose(t.f);
    ok(rows > 0 && counts > 0 && bad == 0,
       "mann_whitney and mann_whitney_counts match %d rows (scipy asymptotic)", rows);
}

static void test_mw_by_hand(void)
{
    double x[] = {3, 1, 4, 1, 5, 9, 2, 6}, y[] = {2, 7, 1, 8, 2, 8};
    struct sl_mann_whitney a, b, c;
    struct sl_err err;
    uint64_t c1[10], c2[10];
    sl_stats_mann_whitney(x, 8, y, 6, &a, NULL);
    sl_stats_mann_whitney(y, 6, x, 8, &b, NULL);
    ok(a.u + b.u == 48 && a.z == -b.z && a.p == b.p,
       "mann_whitney: swapping samples gives U2 = n1 n2 - U1, -z, same p");
    to_counts(x, 8, c1, 10);
    to_counts(y, 6, c2, 10);
    ok(sl_stats_mann_whitney_counts(c1, c2, 10, &c, NULL) == 0 && c.u == a.u && c.z == a.z &&
           c.p == a.p,
       "mann_whitney_counts over buckets equals mann_whitney over the same whole numbers");
    ok(x[0] == 3 && y[0] == 2, "mann_whitney leaves the caller's arrays unsorted");
    double same[] = {4, 4, 4};
    ok(sl_stats_mann_whitney(same, 3, same, 2, &a, NULL) == 0 && a.z == 0 && a.p == 1 && a.u == 3,
       "mann_whitney: all values tied gives z = 0, p = 1");
    ok(sl_stats_mann_whitney(x, 0, y, 6, &a, &err) == -1 && strstr(err.msg, "empty"),
       "mann_whitney: an empty sample is an error (%s)", err.msg);
    double bad[] = {1, NAN};
    ok(sl_stats_mann_whitney(x, 8, bad, 2, &a, &err) == -1 && strstr(err.msg, "y[2]"),
       "mann_whitney: a NaN value is an error naming it (%s)", err.msg);
    uint64_t z[3] = {0}, o[3] = {0, 4, 0};
    ok(sl_stats_mann_whitney_counts(z, o, 3, &a, &err) == -1,
       "mann_whitney_counts: an empty sample is an error");
}

/* ---- power, sample size, MDE ----------------------------------------------- */

static void test_power_vectors(void)
{
    struct tsv t;
    int rows = 0, bad = 0;
    if (!tsv_open(&t, "power.tsv"))
        return;
    while (tsv_next(&t)) {
        double got = NAN, a = num(&t, 1), b = num(&t, 2), c = num(&t, 3), alpha = num(&t, 4);
        int rc = -1;
        if (strcmp(t.field[0], "power") == 0)
            rc = sl_stats_power(a, b, c, alpha, &got, NULL);
        else if (strcmp(t.field[0], "sample_size") == 0)
            rc = sl_stats_sample_size(a, b, c, alpha, &got, NULL);
        else
            rc = sl_stats_mde(a, b, c, alpha, &got, NULL);
        rows++;
        if (rc != 0 || !close_to(got, num(&t, 5), TOL_FORM, 0))
            bad += report(&t, t.field[0], got, num(&t, 5));
    }
    fclose(t.f);
    ok(rows > 0 && bad == 0, "power, sample_size and mde match %d reference rows", rows);
}

static void test_power_by_hand(void)
{
    double pw, n, d;
    struct sl_err err;
    ok(sl_stats_power(0, 1, 100, 0.05, &pw, NULL) == 0 && fabs(pw - 0.05) < 1e-15,
       "power: no effect gives alpha");
    ok(sl_stats_sample_size(0.2, 1, 0.8, 0.05, &n, NULL) == 0 &&
           sl_stats_power(0.2, 1, n, 0.05, &pw, NULL) == 0 && pw >= 0.8 &&
           sl_stats_power(0.2, 1, n - 1, 0.05, &pw, NULL) == 0 && pw < 0.8,
       "sample_size is the smallest n reaching the power (n = %g)", n);
    ok(sl_stats_mde(1, 393, 0.8, 0.05, &d, NULL) == 0 &&
           sl_stats_power(d, 1, 393, 0.05, &pw, NULL) == 0 && fabs(pw - 0.8) < 1e-12,
       "power at the mde is the target power");
    ok(sl_stats_sample_size(100, 1, 0.8, 0.05, &n, NULL) == 0 && n == 2,
       "sample_size is at least 2");
    ok(sl_stats_sample_size(0, 1, 0.8, 0.05, &n, &err) == -1 && strstr(err.msg, "delta"),
       "sample_size: delta = 0 is an error (%s)", err.msg);
    ok(sl_stats_sample_size(0.1, 1, 0.04, 0.05, &n, &err) == -1 && strstr(err.msg, "power"),
       "sample_size: power <= alpha is an error (%s)", err.msg);
    ok(sl_stats_power(0.1, 0, 100, 0.05, &pw, &err) == -1 && strstr(err.msg, "sd"),
       "power: sd = 0 is an error (%s)", err.msg);
    ok(sl_stats_power(0.1, 1, 1, 0.05, &pw, &err) == -1 &&
           sl_stats_mde(1, 1.5, 0.8, 0.05, &d, &err) == -1 &&
           sl_stats_mde(1, 100, 1, 0.05, &d, &err) == -1,
       "power and mde: n < 2 and power = 1 are errors");
}

/* ---- mSPRT and the sequential tracker --------------------------------------- */

static void test_msprt_vectors(void)
{
    struct tsv t;
    int rows = 0, bad = 0;
    if (!tsv_open(&t, "msprt.tsv"))
        return;
    while (tsv_next(&t)) {
        struct sl_msprt m;
        rows++;
        if (sl_stats_msprt(num(&t, 0), num(&t, 1), num(&t, 2), num(&t, 3), num(&t, 4), &m, NULL) !=
            0) {
            bad += report(&t, "call failed", 0, 0);
            continue;
        }
        double got[] = {m.log_lambda, m.lambda, m.p, m.ci_low, m.ci_high};
        double span = num(&t, 9) - num(&t, 8);
        for (int i = 0; i < 5; i++)
            if (!close_to(got[i], num(&t, 5 + i), TOL_FORM, i >= 3 ? span : 1e-300))
                bad += report(&t, "msprt field", got[i], num(&t, 5 + i));
    }
    fclose(t.f);
    ok(rows > 0 && bad == 0, "msprt matches %d reference rows", rows);
}

static void test_msprt_by_hand(void)
{
    struct sl_msprt m;
    struct sl_err err;
    ok(sl_stats_msprt(50, 1e-4, 1, 0, 0.05, &m, NULL) == 0 && m.lambda == INFINITY && m.p == 0 &&
           m.log_lambda > 709 && isfinite(m.log_lambda),
       "msprt: an overwhelming look gives lambda = inf, p = 0, finite log_lambda");
    ok(sl_stats_msprt(0.1, 0, 1, 0, 0.05, &m, &err) == -1 && strstr(err.msg, "s2"),
       "msprt: s2 = 0 is an error (%s)", err.msg);
    ok(sl_stats_msprt(0.1, 1, -1, 0, 0.05, &m, &err) == -1 && strstr(err.msg, "tau2"),
       "msprt: tau2 <= 0 is an error (%s)", err.msg);
    ok(sl_stats_msprt(0.1, 1, 1, NAN, 0.05, &m, &err) == -1 &&
           sl_stats_msprt(0.1, 1, 1, 0, 1, &m, &err) == -1,
       "msprt: NaN theta0 and alpha = 1 are errors");
}

static void test_seq_config(void)
{
    struct sl_seq_config c;
    struct sl_seq s;
    struct sl_err err;
    sl_stats_seq_config_init(&c);
    ok(c.method == SL_SEQ_MSPRT && c.alpha == 0.05 && c.n_star == 5000 && c.theta0 == 0 &&
           !c.relative,
       "seq_config_init: mSPRT, alpha 0.05, N* 5000, theta0 0, absolute");
    ok(sl_stats_seq_init(&s, &c, &err) == -1 && strstr(err.msg, "tau2"),
       "seq_init: mSPRT without tau2 is an error (%s)", err.msg);
    c.tau2 = 0.01;
    c.alpha = 1.5;
    ok(sl_stats_seq_init(&s, &c, &err) == -1 && strstr(err.msg, "alpha"),
       "seq_init: a bad alpha is an error");
    c.alpha = 0.05;
    c.method = 7;
    ok(sl_stats_seq_init(&s, &c, &err) == -1 && strstr(err.msg, "method"),
       "seq_init: an unknown method is an error");
    c.method = SL_SEQ_GROWTHBOOK;
    c.n_star = 0;
    ok(sl_stats_seq_init(&s, &c, &err) == -1 && strstr(err.msg, "n_star"),
       "seq_init: GrowthBook with N* = 0 is an error");
    c.n_star = 5000;
    ok(sl_stats_seq_init(&s, &c, &err) == 0 && s.p == 1 && s.looks == 0 && s.ci_low == -INFINITY &&
           s.ci_high == INFINITY,
       "seq_init: before any look p = 1 and the CI is the whole line");
}

static void test_seq_msprt(void)
{
    struct sl_seq_config c;
    struct sl_seq s, before;
    struct sl_seq_result r;
    struct sl_err err;
    sl_stats_seq_config_init(&c);
    c.tau2 = 0.01;
    sl_stats_seq_init(&s, &c, NULL);
    /* Looks of an experiment whose evidence first grows and then fades. */
    static const double looks[][6] = {{10, 4, 100, 10.3, 4, 100},
                                      {10, 4, 300, 10.4, 4, 300},
                                      {10, 4, 600, 10.45, 4, 600},
                                      {10, 4, 900, 10.1, 4, 900},
                                      {10, 4, 2000, 10.0, 4, 2000}};
    double lastp = 1, lo = -INFINITY, hi = INFINITY;
    bool monotone = true, nested = true, fell = false;
    for (size_t i = 0; i < sizeof looks / sizeof looks[0]; i++) {
        const double *l = looks[i];
        sl_stats_seq_update(&s, l[0], l[1], l[2], l[3], l[4], l[5], &r, NULL);
        struct sl_msprt one;
        sl_stats_msprt(l[3] - l[0], l[1] / l[2] + l[4] / l[5], 0.01, 0, 0.05, &one, NULL);
        monotone &= r.p <= lastp && r.p == fmin(lastp, one.p);
        nested &= r.ci_low >= lo && r.ci_high <= hi && r.ci_low <= r.ci_high;
        fell |= one.p > r.p;
        lastp = r.p, lo = r.ci_low, hi = r.ci_high;
    }
    ok(monotone, "seq (mSPRT): p is the running minimum of the looks' min(1, 1/lambda)");
    ok(fell, "seq (mSPRT): a later look with less evidence does not raise p");
    ok(nested, "seq (mSPRT): the CI is the running intersection (nested)");
    ok(r.looks == 5 && s.looks == 5, "seq: looks are counted");
    before = s;
    ok(sl_stats_seq_update(&s, 10, 4, 1, 10, 4, 50, &r, &err) == -1 &&
           memcmp(&s, &before, sizeof s) == 0,
       "seq: a bad update (n1 < 2) is an error and leaves the state untouched (%s)", err.msg);
    ok(sl_stats_seq_update(&s, 10, 0, 50, 12, 0, 50, &r, NULL) == 0 && r.lambda == 1 &&
           r.p == before.p && r.ci_low == before.ci_low && s.looks == 6,
       "seq: a zero-variance look counts but leaves p and the CI as they were");
}

static void test_seq_edges(void)
{
    struct sl_seq_config c;
    struct sl_seq s;
    struct sl_seq_result r;
    sl_stats_seq_config_init(&c);
    c.tau2 = 1;
    sl_stats_seq_init(&s, &c, NULL);
    sl_stats_seq_update(&s, 0, 1, 1e4, 1, 1, 1e4, &r, NULL);
    double lo = r.ci_low;
    sl_stats_seq_update(&s, 0, 1, 1e4, -1, 1, 1e4, &r, NULL);
    ok(r.ci_low == lo && r.ci_high == lo && r.p < 1e-100,
       "seq: disjoint looks shrink the running CI to the old bound nearest the new interval");
    c.relative = true;
    sl_stats_seq_init(&s, &c, NULL);
    ok(sl_stats_seq_update(&s, 0, 1, 50, 1, 1, 50, &r, NULL) == 0 && r.lambda == 1 && r.p == 1 &&
           r.looks == 1,
       "seq (relative): a look with control mean 0 counts but changes nothing");
    sl_stats_seq_update(&s, 10, 4, 400, 11, 4, 400, &r, NULL);
    ok(fabs(r.diff - 0.1) < 1e-15 && r.looks == 2 && r.p < 1,
       "seq (relative): tracks the lift (m2 - m1)/|m1|");
}

/* GrowthBook mode against growthbook.tsv: each group of looks is one experiment. */
static void test_seq_growthbook(void)
{
    struct tsv t;
    int rows = 0, bad = 0, rises = 0;
    struct sl_seq s;
    double cur[3] = {-1, -1, -1}, lastp = 2;
    if (!tsv_open(&t, "growthbook.tsv"))
        return;
    while (tsv_next(&t)) {
        struct sl_seq_result r;
        if (num(&t, 0) != cur[0] || num(&t, 1) != cur[1] || num(&t, 2) != cur[2]) {
            struct sl_seq_config c;
            sl_stats_seq_config_init(&c);
            c.method = SL_SEQ_GROWTHBOOK;
            c.relative = num(&t, 0) != 0;
            c.alpha = num(&t, 1);
            c.n_star = num(&t, 2);
            sl_stats_seq_init(&s, &c, NULL);
            cur[0] = num(&t, 0), cur[1] = num(&t, 1), cur[2] = num(&t, 2), lastp = 2;
        }
        rows++;
        sl_stats_seq_update(&s, num(&t, 3), num(&t, 4), num(&t, 5), num(&t, 6), num(&t, 7),
                            num(&t, 8), &r, NULL);
        double span = num(&t, 11) - num(&t, 10);
        if (!close_to(r.p, num(&t, 9), TOL_FORM, 0))
            bad += report(&t, "p", r.p, num(&t, 9));
        if (!close_to(r.ci_low, num(&t, 10), TOL_FORM, span))
            bad += report(&t, "ci_low", r.ci_low, num(&t, 10));
        if (!close_to(r.ci_high, num(&t, 11), TOL_FORM, span))
            bad += report(&t, "ci_high", r.ci_high, num(&t, 11));
        rises += r.p > lastp;
        lastp = r.p;
    }
    fclose(t.f);
    ok(rows > 0 && bad == 0, "seq (GrowthBook) matches its formulas on %d looks", rows);
    ok(rises > 0, "seq (GrowthBook): p is per look, as GrowthBook reports it (it rose %d times)",
       rises);
}

/* ---- multiple testing -------------------------------------------------------- */

static void test_adjust_vectors(void)
{
    static double p[MAX_LIST], want[MAX_LIST], got[MAX_LIST];
    struct tsv t;
    int rows = 0, bad = 0;
    if (!tsv_open(&t, "adjust.tsv"))
        return;
    while (tsv_next(&t)) {
        size_t k = parse_list(t.field[1], p);
        parse_list(t.field[2], want);
        int (*fn)(const double *, size_t, double *, struct sl_err *) =
            strcmp(t.field[0], "holm") == 0 ? sl_stats_holm : sl_stats_bh;
        rows++;
        if (fn(p, k, got, NULL) != 0) {
            bad += report(&t, "call failed", 0, 0);
            continue;
        }
        for (size_t i = 0; i < k; i++)
            if (!close_to(got[i], want[i], 1e-15, 0))
                bad += report(&t, t.field[0], got[i], want[i]);
        fn(p, k, p, NULL); /* in place */
        for (size_t i = 0; i < k; i++)
            if (p[i] != got[i])
                bad += report(&t, "in place", p[i], got[i]);
    }
    fclose(t.f);
    ok(rows > 0 && bad == 0, "holm and bh match their definitions on %d rows, also in place", rows);
}

static void test_adjust_by_hand(void)
{
    double p[] = {0.2, 1.5}, adj[2];
    struct sl_err err;
    ok(sl_stats_holm(p, 0, adj, &err) == -1 && strstr(err.msg, "no p-values"),
       "holm: no p-values is an error (%s)", err.msg);
    ok(sl_stats_bh(p, 2, adj, &err) == -1 && strstr(err.msg, "p-value 2"),
       "bh: a p-value above 1 is an error naming it (%s)", err.msg);
    double n[] = {NAN};
    ok(sl_stats_holm(n, 1, adj, &err) == -1, "holm: NaN is an error");
}

int main(void)
{
    test_dist_vectors();
    test_dist_edges();
    test_welch_vectors();
    test_welch_by_hand();
    test_proportions_vectors();
    test_proportions_by_hand();
    test_srm_vectors();
    test_srm_by_hand();
    test_mw_vectors();
    test_mw_by_hand();
    test_power_vectors();
    test_power_by_hand();
    test_msprt_vectors();
    test_msprt_by_hand();
    test_seq_config();
    test_seq_msprt();
    test_seq_edges();
    test_seq_growthbook();
    test_adjust_vectors();
    test_adjust_by_hand();
    return tap_done();
}
