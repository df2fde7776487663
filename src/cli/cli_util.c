/* cli_util: see cli_util.h. */
#include "cli/cli_util.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/param.h"
#include "experiment/spec.h"

#define MAX_OPTS 32

/* cmd "" is varprop itself: "varprop: ...", "Use varprop --help". */
int vp_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "varprop%s%s: ", *cmd ? " " : "", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nUse varprop%s%s --help for usage.\n", *cmd ? " " : "", cmd);
    return 2;
}

int vp_cli_unknown_word(const char *what, const char *word, const char *known, const char *cmd)
{
    char list[1024], dym[160];
    vp_choices_list(known, list, sizeof list);
    vp_did_you_mean(word, known, dym, sizeof dym);
    return vp_cli_usage_error(cmd, "unknown %s %s%s; %ss: %s", what, word[0] ? word : "\"\" (an empty argument)",
                              dym, what, list);
}

int vp_cli_unknown_option(const char *opt, const char *known, const char *cmd)
{
    return vp_cli_unknown_word(*cmd ? "option" : "command", opt, known, cmd);
}

/* ---- the parser ---- */

/* Row of c->opts that `a` names ("--opt", its alias, or "--opt=VALUE" for an option
 * with a value, then *inline_value points after the '='), or -1. */
static int find_opt(const vp_cli_cmd *c, const char *a, const char **inline_value)
{
    *inline_value = NULL;
    for (int k = 0; c->opts[k].name; k++) {
        const vp_cli_opt *o = &c->opts[k];
        const char *names[2] = { o->name, o->alias };
        for (int i = 0; i < 2; i++) {
            if (!names[i]) continue;
            size_t len = strlen(names[i]);
            if (strcmp(a, names[i]) == 0) return k;
            if (!o->flag && strncmp(names[i], "--", 2) == 0 && strncmp(a, names[i], len) == 0 && a[len] == '=') {
                *inline_value = a + len + 1;
                return k;
            }
        }
    }
    return -1;
}

/* The options' names and aliases, then --help, space-separated (for messages). */
/* The options' names, space-separated; words_only: the bare-word ones alone. */
static void known_options(const vp_cli_cmd *c, int words_only, char *buf, size_t len)
{
    size_t u = 0;
    buf[0] = '\0';
    for (int k = 0; c->opts[k].name && u < len; k++) {
        if (words_only && c->opts[k].name[0] == '-') continue;
        u += (size_t)snprintf(buf + u, len - u, "%s ", c->opts[k].name);
        if (c->opts[k].alias && u < len) u += (size_t)snprintf(buf + u, len - u, "%s ", c->opts[k].alias);
    }
    if (u < len && !words_only) snprintf(buf + u, len - u, "--help");
    else if (u > 0 && u <= len) buf[u - 1] = '\0';
}

/* Store option o's value v (the text after it). 0 or 2 after a message. */
static int take_value(const vp_cli_cmd *c, const vp_cli_opt *o, const char *opt, const char *v)
{
    if (o->str) {
        *o->str = v;
    } else if (o->num_l) {
        long x = 0;
        if (vp_parse_long(v, &x) || x < o->lo || x > o->hi)
            return vp_cli_usage_error(c->cmd, "%s: \"%s\" is not an integer from %ld to %ld", opt, v, o->lo, o->hi);
        *o->num_l = x;
    } else if (o->num_d) {
        double x = NAN;
        if (vp_parse_decimal(v, &x) || !isfinite(x) || x < o->min)
            return vp_cli_usage_error(c->cmd, "%s expects a finite number >= %g (plain decimal, e.g. 0.5 or 1e-3), "
                                      "got \"%s\"", opt, o->min, v);
        *o->num_d = x;
    } else if (o->list) {
        if (*o->n == o->max) return vp_cli_usage_error(c->cmd, "at most %d %s options", o->max, opt);
        o->list[(*o->n)++] = v;
    }
    return 0;
}

int vp_cli_parse(const vp_cli_cmd *c, int argc, char **argv)
{
    unsigned char seen[MAX_OPTS] = { 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(c->usage, stdout);
            return 0;
        }
        int k = find_opt(c, a, &v);
        if (k >= 0) {
            const vp_cli_opt *o = &c->opts[k];
            if (o->given) *o->given = 1;
            if (o->flag) {
                *o->flag = 1;
                continue;
            }
            if (k < MAX_OPTS && seen[k]++ && !o->list) return vp_cli_usage_error(c->cmd, "%s is given twice", o->name);
            if (!v) {
                if (i + 1 >= argc) return vp_cli_usage_error(c->cmd, "%s needs a value", a);
                v = argv[++i];
            }
            if (take_value(c, o, o->name, v)) return 2;
        } else if ((a[0] == '-' && a[1]) || !c->arg) {
            char known[512];
            int word = c->word_kind && a[0] != '-'; /* list foo: an unknown table, not option */
            known_options(c, word, known, sizeof known);
            return word ? vp_cli_unknown_word(c->word_kind, a, known, c->cmd) : vp_cli_unknown_option(a, known, c->cmd);
        } else if (!*c->arg) {
            *c->arg = a;
        } else {
            return vp_cli_usage_error(c->cmd, "unexpected argument \"%s\" (%s)", a, c->one_arg);
        }
    }
    return -1;
}

/* ---- --param KEY=VALUE ---- */

/* Split "KEY=VALUE" into key (buffer of len) and *value; 0 or 2 after a message. */
static int split_param(const char *cmd, const char *kv, char *key, size_t len, const char **value)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || (size_t)(eq - kv) >= len)
        return vp_cli_usage_error(cmd, "--param \"%s\": expected KEY=VALUE", kv);
    snprintf(key, len, "%.*s", (int)(eq - kv), kv);
    *value = eq + 1;
    return 0;
}

/* Apply every KEY=VALUE with `set` (a spec.h setter), then the entry's checks. */
typedef vp_status (*param_setter)(void *entry, const char *key, const char *value, const char *where, vp_err *err);
typedef vp_status (*entry_check)(const void *entry, vp_err *err);

static int apply_params(const char *cmd, param_setter set, entry_check check, void *entry, const char *const *kv,
                        int n)
{
    vp_err err;
    for (int i = 0; i < n; i++) {
        char key[64], where[96];
        const char *value = NULL;
        if (split_param(cmd, kv[i], key, sizeof key, &value)) return 2;
        snprintf(where, sizeof where, "--param %s", key);
        if (set(entry, key, value, where, &err)) return vp_cli_usage_error(cmd, "%s", err.msg);
    }
    if (check(entry, &err)) return vp_cli_usage_error(cmd, "%s", err.msg);
    return 0;
}

static vp_status set_act(void *a, const char *key, const char *value, const char *where, vp_err *err)
{
    return vp_spec_act_param(a, key, value, where, err);
}
static vp_status check_act(const void *a, vp_err *err) { return vp_spec_act_check(a, err); }
static vp_status set_init(void *in, const char *key, const char *value, const char *where, vp_err *err)
{
    return vp_spec_init_param(in, key, value, where, err);
}
static vp_status check_init(const void *in, vp_err *err) { return vp_spec_init_check(in, err); }

int vp_cli_act_params(const char *cmd, vp_act *a, const char *const *kv, int n)
{
    return apply_params(cmd, set_act, check_act, a, kv, n);
}

int vp_cli_init_params(const char *cmd, vp_init *in, const char *const *kv, int n)
{
    return apply_params(cmd, set_init, check_init, in, kv, n);
}

void vp_cli_json_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

int vp_cli_json_emit(cJSON *item)
{
    char *s = item ? cJSON_PrintUnformatted(item) : NULL;
    cJSON_Delete(item);
    if (!s) {
        fprintf(stderr, "varprop: out of memory while printing JSON\n");
        return 1;
    }
    printf("%s\n", s);
    cJSON_free(s);
    return 0;
}

const char *vp_cli_folder(const char *dir, char *buf, size_t len)
{
    size_t n = strlen(dir);
    while (n > 0 && dir[n - 1] == '/') n--; /* "/" itself: "" and the '/' below */
    snprintf(buf, len, "%.*s/", (int)n, dir);
    return buf;
}

int vp_cli_activation(const char *cmd, const char *name, const char *const *params, int nparams, vp_act *act)
{
    vp_err err;
    if (vp_spec_act(name, act, &err)) return vp_cli_usage_error(cmd, "%s", err.msg);
    return vp_cli_act_params(cmd, act, params, nparams);
}

int vp_cli_sigma2(const char *cmd, const char *name, int have2, int have1, double s1, double *v2)
{
    if (have2 && have1) return vp_cli_usage_error(cmd, "give --%s2 or --%s, not both", name, name);
    if (have1) *v2 = s1 * s1;
    return 0;
}
