#include "tap.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int tap_count;
static int tap_failed;

static bool tap_report(bool cond, const char *file, int line, const char *what)
{
    tap_count++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, what);
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    return cond;
}

bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return tap_report(cond, file, line, what);
}

bool tap_is_int(long long got, long long want, const char *file, int line, const char *what)
{
    bool r = tap_report(got == want, file, line, what);
    if (!r)
        printf("#   got %lld, want %lld\n", got, want);
    return r;
}

bool tap_is_str(const char *got, const char *want, const char *file, int line, const char *what)
{
    bool r = tap_report(got && want && strcmp(got, want) == 0, file, line, what);
    if (!r)
        printf("#   got \"%s\", want \"%s\"\n", got ? got : "(null)", want ? want : "(null)");
    return r;
}

bool tap_near(double got, double want, double rel_tol, const char *file, int line, const char *what)
{
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1e-300;
    bool cond = got == want || fabs(got - want) <= rel_tol * scale;
    bool r = tap_report(cond, file, line, what);
    if (!r)
        printf("#   got %.17g, want %.17g (rel err %.3g > %.3g)\n", got, want,
               fabs(got - want) / scale, rel_tol);
    return r;
}

void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

int tap_done(void)
{
    printf("1..%d\n", tap_count);
    if (tap_failed)
        printf("# %d of %d checks failed\n", tap_failed, tap_count);
    return tap_failed ? 1 : (tap_count ? 0 : 2);
}

/* ---- the watchdog ---------------------------------------------------------- */

static const char *tap_current = "";

static void tap_watchdog(int sig)
{
    static const char msg[] = "Bail out! a test did not finish in 20 s: ";
    (void)sig;
    (void)!write(1, msg, sizeof msg - 1);
    (void)!write(1, tap_current, strlen(tap_current));
    (void)!write(1, "\n", 1);
    _exit(1);
}

void tap_run(const char *name, void (*test)(void))
{
    signal(SIGALRM, tap_watchdog);
    tap_current = name;
    alarm(20);
    test();
    alarm(0);
}
