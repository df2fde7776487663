/* cli_util: the one option parser of every subcommand, and the helpers they share
 * (CLI layer). A subcommand describes its options in a table (vp_cli_opt rows,
 * designated fields) and calls vp_cli_parse; the parser handles -h/--help, values
 * ("--opt VALUE" or "--opt=VALUE"), integer and number ranges, repeatable options,
 * options given twice, the positional argument, and unknown options with a
 * "did you mean". Every message goes to stderr as "varprop CMD: ..." with a
 * "Use varprop CMD --help" hint, and the exit code is 2.
 */
#ifndef VP_CLI_UTIL_H
#define VP_CLI_UTIL_H

#include <stddef.h>

#include "core/act.h"
#include "core/init.h"

/* One option. Exactly one of flag, str, num_l, num_d, list is set, and it says
 * what the option takes:
 *   flag   no value; *flag = 1
 *   str    any text; *str = it
 *   num_l  an integer in [lo, hi], written as plain digits (vp_parse_long)
 *   num_d  a finite number >= min, in plain decimal form (vp_parse_decimal: no
 *          blanks, hex or words)
 *   list   repeatable: up to max values, appended at list[*n]
 * A value option given twice is an error (a list collects instead). */
typedef struct {
    const char *name;        /* "--fan-in" as typed (list's bare words too: "activations") */
    const char *alias;       /* another spelling ("-o" / "--output") or NULL */
    int *flag;
    const char **str;
    long *num_l;
    long lo, hi;
    double *num_d;
    double min;
    const char **list;
    int max;
    int *n;
    int *given;              /* may be NULL: set to 1 when the option appears */
} vp_cli_opt;

typedef struct {
    const char *cmd;         /* "init": names the subcommand in messages */
    const char *usage;       /* printed to stdout by -h / --help */
    const vp_cli_opt *opts;  /* ends with a row whose name is NULL */
    const char **arg;        /* the one positional argument; NULL: the command takes none,
                                and a word that is no option is an unknown option */
    const char *one_arg;     /* what a second positional argument is told, e.g. "one activation only" */
    const char *word_kind;   /* the command's bare-word options are of this kind ("table": list's
                                activations, ...): an unknown bare word is an unknown one of them */
} vp_cli_cmd;

/* Parse argv[1..argc) (argv[0] is the subcommand). Returns -1 when the command
 * should go on, 0 after printing the usage, 2 after a usage error message. */
int vp_cli_parse(const vp_cli_cmd *c, int argc, char **argv);

/* Apply "KEY=VALUE" texts (--param) to an activation / initializer by name, with the
 * same rules as a config (experiment/spec.h): parameter names, ranges, enum words,
 * "auto" / "critical" gains, ordered pairs such as hard_tanh min_val < max_val.
 * 0, or 2 after a message. */
int vp_cli_act_params(const char *cmd, vp_act *a, const char *const *kv, int n);
int vp_cli_init_params(const char *cmd, vp_init *in, const char *const *kv, int n);

/* The activation NAME with its --param values (experiment/spec.h: the rules of a
 * config), as `theory`, `gain` and `advise` take it. 0, or 2 after a message. */
int vp_cli_activation(const char *cmd, const char *name, const char *const *params, int nparams, vp_act *act);

/* A variance given either as --NAME2 VALUE or as --NAME S (a standard deviation,
 * as configs write sigma_w / sigma_b): *v2 = S^2 when the second form was given.
 * Both forms is a usage error naming --NAME2 and --NAME. 0, or 2 after a message. */
int vp_cli_sigma2(const char *cmd, const char *name, int have2, int have1, double s1, double *v2);

/* Folder `dir` as a message names it before a file or "(...)": its text with one '/'
 * at the end however many were typed ("-o new/a/b/" and "-o new/a/b" both print
 * "new/a/b/"; "/" stays "/"), in buf (strlen(dir) + 2 bytes always fit). Returns buf. */
const char *vp_cli_folder(const char *dir, char *buf, size_t len);

/* JSON output of the subcommands (cJSON): a number, or null where it is not finite. */
struct cJSON;
void vp_cli_json_num(struct cJSON *o, const char *key, double v);
/* Print a JSON item on one line to stdout and free it; NULL (an allocation that
 * failed while building it) prints a message instead. Returns 0, or 1 on failure. */
int vp_cli_json_emit(struct cJSON *item);

/* Unknown option: message with did-you-mean among `known` (space-separated). Returns 2. */
/* "unknown WHAT WORD (did you mean ...); WHATs: KNOWN..." as a usage error (exit 2);
 * known is space-separated. */
int vp_cli_unknown_word(const char *what, const char *word, const char *known, const char *cmd);
int vp_cli_unknown_option(const char *opt, const char *known, const char *cmd);
/* printf-style usage error. Returns 2. */
int vp_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
