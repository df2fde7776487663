/* cli_util: argument helpers shared by the subcommands (CLI layer). Each prints
 * its own message to stderr with a "Use varprop CMD --help" hint and returns the
 * exit code 2, or the parsed value. */
#ifndef VP_CLI_UTIL_H
#define VP_CLI_UTIL_H

/* The value after option argv[*i] (advances *i), or NULL after printing an error. */
const char *vp_cli_value(int argc, char **argv, int *i, const char *cmd);
/* An integer option value in [lo, hi]; 0 on success, 2 after an error message. */
int vp_cli_long(int argc, char **argv, int *i, long lo, long hi, long *out, const char *cmd);
/* Unknown option: message with did-you-mean among `known` (space-separated). Returns 2. */
int vp_cli_unknown_option(const char *opt, const char *known, const char *cmd);
/* printf-style usage error. Returns 2. */
int vp_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
