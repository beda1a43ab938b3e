/* fuzz_common.h - what the libFuzzer targets share: a daemon with an
 * in-memory engine (no store, no listening socket, a fixed clock) and a
 * driver that feeds bytes to a server connection over a socketpair and
 * collects what comes back.
 *
 * Uses the server layer (daemon.h: the HTTP server, the API routes, the
 * admin REPL) and libev. Every target builds a fresh daemon per input, so a
 * crash reproduces from its input alone. */
#ifndef SL_FUZZ_COMMON_H
#define SL_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "snapshot.h"

#define FZ_T0 1767225600.0 /* the engine clock starts here: 2026-01-01T00:00:00Z */

/* The policy directory of the source tree (built-in policies). */
#define FZ_POLICIES SLUICE_SOURCE_DIR "/policies"

/* A daemon whose engine reads d->virt0 as its clock (advance it to move
 * time), with a policy host over policy_dir (FZ_POLICIES: the built-in
 * policies; NULL: no host), an HTTP server over the
 * API routes that listens nowhere (sl_http_server_init) and an admin REPL
 * without a socket (sl_admin_init). Aborts when it cannot be built: that is
 * a harness failure, not a finding. */
void fz_daemon_open(struct sl_daemon *d, const char *policy_dir);
/* The engine clock of fz_daemon_open: ud is the daemon, the time d->virt0. */
double fz_clock(void *ud);
/* Register model versions and create and start a test from JSON texts (as
 * the API would decode them); aborts on failure. The test's id goes to id. */
void fz_add_versions(struct sl_engine *eng, const char *model, const char *v1, const char *v2);
void fz_start_test(struct sl_engine *eng, const char *json, char *id);
void fz_daemon_close(struct sl_daemon *d);

/* Connect a socketpair end to the daemon's HTTP server (admin false) or
 * REPL (admin true), send data[0..n) in pieces of `piece` bytes (0: all at
 * once) with loop turns in between (the engine ticks after each turn that
 * made progress, as the daemon's tick timer would), shut our side, and run
 * the loop until
 * the server closes the connection. What the server sent is returned
 * (malloc'd, NUL-terminated, *outlen bytes). Our side is shut only once
 * everything is sent and the server has been idle for a few loop turns, so
 * pipelined requests are all answered. A server that never closes spins
 * here until libFuzzer's -timeout reports the input: a hang is a finding. */
char *fz_converse(struct sl_daemon *d, bool admin, const uint8_t *data, size_t n, size_t piece,
                  size_t *outlen);

/* The libFuzzer entry points each target defines. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message: a broken invariant found by a target. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Write seed dir/name: the selector byte first, then n bytes of p (the
 * FUZZ_SEEDGEN mode of the targets whose seeds the code produces). */
void fz_write_seed(const char *dir, const char *name, int first, const void *p, size_t n);

#endif
