/* tap.h - a tiny TAP producer for the C unit tests.
 *
 * Provides ok/is/near checks that print TAP lines and count failures, and
 * tap_done() which prints the plan and returns the process exit status;
 * tap_run() runs one test function under a 20 s watchdog, so a hang (a
 * sandbox hole, a lost wake-up) fails naming the test instead of stalling CI.
 * Uses stdio, signal and alarm; knows nothing of sluice. */
#ifndef SL_TAP_H
#define SL_TAP_H

#include <stdbool.h>
#include <stdint.h>

bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool tap_is_int(long long got, long long want, const char *file, int line, const char *what);
bool tap_is_str(const char *got, const char *want, const char *file, int line, const char *what);
bool tap_near(double got, double want, double rel_tol, const char *file, int line,
              const char *what);
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void);
void tap_run(const char *name, void (*test)(void));

#define ok(cond, ...)           tap_ok((cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, what) tap_is_int((got), (want), __FILE__, __LINE__, (what))
#define is_str(got, want, what) tap_is_str((got), (want), __FILE__, __LINE__, (what))
/* near: |got - want| <= rel_tol * max(|want|, tiny) */
#define near(got, want, tol, what) tap_near((got), (want), (tol), __FILE__, __LINE__, (what))
#define RUN(test)                  tap_run(#test, test)

#endif
