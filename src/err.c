/* err: see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const STATUS_NAME[VP_STATUS_COUNT] = {
    [VP_OK] = "ok",
    [VP_ERR_USAGE] = "usage error",
    [VP_ERR_CONFIG] = "config error",
    [VP_ERR_NOMEM] = "out of memory",
    [VP_ERR_IO] = "I/O error",
    [VP_ERR_DATA] = "data error",
    [VP_ERR_NUMERIC] = "numerical error",
    [VP_ERR_INTERRUPTED] = "interrupted",
    [VP_ERR_EXTERNAL] = "external program failed",
};

const char *vp_status_str(vp_status s)
{
    if ((unsigned)s >= VP_STATUS_COUNT || !STATUS_NAME[s]) return "unknown status";
    return STATUS_NAME[s];
}

vp_status vp_fail(vp_err *err, vp_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

void vp_err_prefix(vp_err *err, const char *fmt, ...)
{
    if (!err) return;
    char head[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", head, old);
}

int vp_exit_code(vp_status s)
{
    switch (s) {
    case VP_OK: return 0;
    case VP_ERR_USAGE:
    case VP_ERR_CONFIG: return 2;
    case VP_ERR_INTERRUPTED: return 130;
    default: return 1;
    }
}
