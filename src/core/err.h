/* err.h - the one error convention of the sluice library.
 *
 * Provides struct sl_err (a code and a message) and sl_err_set(), used by every
 * layer: functions return 0 / -1 (or NULL) and fill a caller-supplied
 * struct sl_err. Library code never prints. Uses only libc; knows nothing of
 * any other module. */
#ifndef SL_ERR_H
#define SL_ERR_H

enum sl_errcode {
    SL_OK = 0,
    SL_EINVAL,    /* bad argument or configuration value */
    SL_ENOTFOUND, /* unknown model, version, test, canary or variant */
    SL_EEXIST,    /* duplicate id */
    SL_ESTATE,    /* illegal state transition */
    SL_ELIMIT,    /* a configured bound is reached (concurrent tests, ...) */
    SL_ENOMEM,    /* allocation failed */
    SL_ECONFLICT, /* the model is already claimed by another test or canary */
    SL_EINTERNAL  /* a bug: please report */
};

#define SL_ERR_MSG_MAX 320

struct sl_err {
    int code; /* enum sl_errcode */
    char msg[SL_ERR_MSG_MAX];
};

/* Fill *err (which may be NULL) and return -1, so callers can write
 * `return sl_err_set(err, SL_EINVAL, "...")`. In debug builds (no NDEBUG and
 * SL_ERR_WHERE defined) the message is suffixed with file:line. */
int sl_err_set_at(struct sl_err *err, int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define sl_err_set(err, code, ...) sl_err_set_at((err), (code), __FILE__, __LINE__, __VA_ARGS__)

/* Clear *err (may be NULL) to SL_OK and an empty message. */
void sl_err_clear(struct sl_err *err);

/* Stable lower-case name of a code: "invalid", "not_found", "exists", ... */
const char *sl_err_name(int code);

#endif
