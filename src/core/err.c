#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sl_err_set_at(struct sl_err *err, int code, const char *file, int line, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
#ifdef SL_ERR_WHERE
    if (n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, " (%s:%d)", file, line);
#else
    (void)n;
    (void)file;
    (void)line;
#endif
    return -1;
}

void sl_err_clear(struct sl_err *err)
{
    if (!err)
        return;
    err->code = SL_OK;
    err->msg[0] = '\0';
}

const char *sl_err_name(int code)
{
    static const char *const names[] = {
        [SL_OK] = "ok",
        [SL_EINVAL] = "invalid",
        [SL_ENOTFOUND] = "not_found",
        [SL_EEXIST] = "exists",
        [SL_ESTATE] = "bad_state",
        [SL_ELIMIT] = "limit",
        [SL_ENOMEM] = "no_memory",
        [SL_ECONFLICT] = "conflict",
        [SL_EINTERNAL] = "internal",
    };
    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0])
        return "unknown";
    return names[code];
}
