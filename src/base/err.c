/* err: see err.h. */
#include "base/err.h"

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
        /* One line, and no terminal escapes echoed from configs or file names. */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7F) *c = '?';
    }
    return s;
}

void vp_err_prefix(vp_err *err, const char *fmt, ...)
{
    if (!err) return;
    char head[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof head - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t hl = strlen(head);
    memcpy(head + hl, ": ", 3);
    hl += 2;
    size_t cap = sizeof err->msg - 1, ol = strnlen(err->msg, cap);
    if (hl >= cap) hl = cap;
    if (ol > cap - hl) ol = cap - hl; /* keep the message's beginning, drop its tail */
    memmove(err->msg + hl, err->msg, ol);
    memcpy(err->msg, head, hl);
    err->msg[hl + ol] = '\0';
}

int vp_exit_code(vp_status s)
{
    if (s == VP_OK) return 0;
    if (s == VP_ERR_USAGE || s == VP_ERR_CONFIG) return 2;
    if (s == VP_ERR_INTERRUPTED) return 130;
    return 1;
}
