/* err: status codes and caller-owned error messages for the varprop library.
 *
 * Every library function that can fail returns a vp_status and, on failure,
 * writes a one-line, user-facing message into a caller-supplied vp_err.
 * No globals, no exit(): only main() decides how the process ends.
 * Ownership: vp_err is a plain value owned by the caller (usually on its stack).
 */
#ifndef VP_ERR_H
#define VP_ERR_H

#include <stddef.h>

typedef enum {
    VP_OK = 0,
    VP_ERR_USAGE,     /* bad command line */
    VP_ERR_CONFIG,    /* bad experiment config (JSON path in the message) */
    VP_ERR_NOMEM,     /* allocation failed, or a size estimate exceeds memory */
    VP_ERR_IO,        /* file or pipe I/O failed */
    VP_ERR_DATA,      /* malformed data file (IDX, gzip) */
    VP_ERR_NUMERIC,   /* a numerical routine failed (e.g. LAPACK info != 0) */
    VP_ERR_INTERRUPTED, /* stopped by a signal; finished work is kept */
    VP_ERR_EXTERNAL,  /* an external program (gnuplot) failed */
    VP_STATUS_COUNT
} vp_status;

typedef struct {
    char msg[1024];
} vp_err;

/* Short fixed name of a status ("config error", ...). Never NULL. */
const char *vp_status_str(vp_status s);

/* Format a message into err (may be NULL) and return s. printf-style. */
vp_status vp_fail(vp_err *err, vp_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "prefix: " to an existing message (for adding context). */
void vp_err_prefix(vp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Process exit code for a status: 0 ok, 2 usage/config, 130 interrupted, 1 else. */
int vp_exit_code(vp_status s);

#endif
