/* cli_util: see cli_util.h. */
#include "cli/cli_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/param.h"

int vp_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "varprop %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nUse varprop %s --help for usage.\n", cmd);
    return 2;
}

const char *vp_cli_value(int argc, char **argv, int *i, const char *cmd)
{
    if (*i + 1 >= argc) {
        vp_cli_usage_error(cmd, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int vp_cli_long(int argc, char **argv, int *i, long lo, long hi, long *out, const char *cmd)
{
    const char *opt = argv[*i];
    const char *v = vp_cli_value(argc, argv, i, cmd);
    if (!v) return 2;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno == ERANGE || x < lo || x > hi)
        return vp_cli_usage_error(cmd, "%s: \"%s\" is not an integer from %ld to %ld", opt, v, lo, hi);
    *out = x;
    return 0;
}

int vp_cli_unknown_option(const char *opt, const char *known, const char *cmd)
{
    char list[512], dym[160];
    vp_choices_list(known, list, sizeof list);
    vp_did_you_mean(opt, known, dym, sizeof dym);
    return vp_cli_usage_error(cmd, "unknown option %s%s; options: %s", opt, dym, list);
}
