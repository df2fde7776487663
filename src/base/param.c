/* param: see param.h. */
#include "base/param.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vp_choice_count(const char *choices)
{
    int n = 0;
    for (const char *s = choices; s && *s;) {
        while (*s == ' ') s++;
        if (!*s) break;
        n++;
        while (*s && *s != ' ') s++;
    }
    return n;
}

const char *vp_choice_word(const char *choices, int i, char *buf, size_t len)
{
    int k = 0;
    buf[0] = '\0';
    for (const char *s = choices; s && *s;) {
        while (*s == ' ') s++;
        if (!*s) break;
        const char *e = s;
        while (*e && *e != ' ') e++;
        if (k++ == i) {
            snprintf(buf, len, "%.*s", (int)(e - s), s);
            return buf;
        }
        s = e;
    }
    return buf;
}

int vp_choice_index(const char *choices, const char *word)
{
    char buf[128];
    int n = vp_choice_count(choices);
    for (int i = 0; i < n; i++)
        if (strcmp(vp_choice_word(choices, i, buf, sizeof buf), word) == 0) return i;
    return -1;
}

void vp_choices_list(const char *choices, char *buf, size_t len)
{
    char w[128];
    size_t used = 0;
    int n = vp_choice_count(choices);
    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                                 vp_choice_word(choices, i, w, sizeof w));
}

size_t vp_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return (size_t)-1; /* names are short; refuse pathological input */
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[lb];
}

/* ASCII lower case of s into out (cut at len). */
static void lower_copy(char *out, size_t len, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++) out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    out[i] = '\0';
}

/* Distances ignore ASCII case, so "ReLU" or "Tanh" (PyTorch's class names) find relu
 * and tanh; a name equal but for case is suggested too. */
void vp_did_you_mean(const char *name, const char *candidates, char *buf, size_t len)
{
    char w[128], lw[128], lname[128], best[128] = "";
    lower_copy(lname, sizeof lname, name);
    size_t bestd = (size_t)-1, n = strlen(lname);
    int count = vp_choice_count(candidates);
    for (int i = 0; i < count; i++) {
        vp_choice_word(candidates, i, w, sizeof w);
        lower_copy(lw, sizeof lw, w);
        size_t d = vp_edit_distance(lname, lw);
        if (n >= 3 && strncmp(lw, lname, n) == 0 && d > 1) d = 1; /* prefix of a longer name */
        if (d < bestd) { bestd = d; snprintf(best, sizeof best, "%s", w); }
    }
    size_t limit = n / 3 > 2 ? n / 3 : 2;
    if (best[0] && bestd <= limit && strcmp(best, name) != 0)
        snprintf(buf, len, " (did you mean \"%s\"?)", best);
    else
        buf[0] = '\0';
}

void vp_param_format(const vp_param *spec, double v, char *buf, size_t len)
{
    if (spec->type == VP_P_ENUM) {
        vp_choice_word(spec->choices, (int)v, buf, len);
        return;
    }
    vp_num_shortest(v, buf, len);
}

/* ---- numbers as text ---- */

void vp_num_shortest(double v, char *buf, size_t len)
{
    if (isnan(v)) { snprintf(buf, len, "nan"); return; }
    if (isinf(v)) { snprintf(buf, len, v > 0 ? "inf" : "-inf"); return; }
    char tmp[VP_NUM_CHARS];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(tmp, sizeof tmp, "%.*g", digits, v);
        if (digits == 17 || strtod(tmp, NULL) == v) break;
    }
    snprintf(buf, len, "%s", tmp);
}

static const char *skip_digits(const char *s, size_t *n)
{
    *n = 0;
    while (*s >= '0' && *s <= '9') { s++; ++*n; }
    return s;
}

int vp_parse_decimal(const char *text, double *out)
{
    const char *s = text;
    size_t whole, frac = 0, exp;
    if (*s == '+' || *s == '-') s++;
    s = skip_digits(s, &whole);
    if (*s == '.') s = skip_digits(s + 1, &frac);
    if (whole + frac == 0) return -1;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        s = skip_digits(s, &exp);
        if (exp == 0) return -1;
    }
    if (*s != '\0') return -1;
    /* The text is a number strtod reads whole, in any locale varprop runs in (C). */
    errno = 0;
    double v = strtod(text, NULL);
    if (errno == ERANGE) return -2;
    *out = v;
    return 0;
}

int vp_parse_long(const char *text, long *out)
{
    const char *s = text;
    size_t n;
    if (*s == '+' || *s == '-') s++;
    s = skip_digits(s, &n);
    if (n == 0 || *s != '\0') return -1;
    errno = 0;
    long v = strtol(text, NULL, 10);
    if (errno == ERANGE) return -2;
    *out = v;
    return 0;
}

/* One end of a range in `digits` significant digits: a bound that prints as a number
 * beyond it (the largest double below 1 prints "1") is that number, excluded. */
static void range_end(char *out, size_t len, int digits, double x, int upper, int *open)
{
    snprintf(out, len, "%.*g", digits, x);
    double shown = strtod(out, NULL);
    *open = upper ? shown > x : shown < x;
}

void vp_param_range(const vp_param *spec, int digits, char *out, size_t len)
{
    char lo[64], hi[64];
    int lopen, hopen;
    range_end(lo, sizeof lo, digits, spec->lo, 0, &lopen);
    range_end(hi, sizeof hi, digits, spec->hi, 1, &hopen);
    snprintf(out, len, "%c%s, %s%c", lopen ? '(' : '[', lo, hi, hopen ? ')' : ']');
}

vp_status vp_param_check(const vp_param *spec, double v, const char *where, vp_err *err)
{
    if (!isfinite(v)) return vp_fail(err, VP_ERR_CONFIG, "%s: %g is not a finite number", where, v);
    if (spec->type == VP_P_ENUM) {
        if (v >= 0 && v < vp_choice_count(spec->choices) && v == floor(v)) return VP_OK;
        char list[512];
        vp_choices_list(spec->choices, list, sizeof list);
        return vp_fail(err, VP_ERR_CONFIG, "%s: %.10g is not the index of one of %s", where, v, list);
    }
    if (v < spec->lo || v > spec->hi) {
        char range[140], val[40];
        vp_param_range(spec, 10, range, sizeof range);
        vp_num_shortest(v, val, sizeof val); /* 1.00000000001, not "1", beside "[0, 1]" */
        return vp_fail(err, VP_ERR_CONFIG, "%s: %s is out of range %s (%s)", where, val, range, spec->help);
    }
    if (spec->type == VP_P_INT && v != floor(v))
        return vp_fail(err, VP_ERR_CONFIG, "%s: %.10g is not an integer", where, v);
    return VP_OK;
}

vp_status vp_param_parse_text(const vp_param *spec, const char *text, double *out, int *is_auto,
                              const char *where, vp_err *err)
{
    *is_auto = 0;
    if (spec->type == VP_P_ENUM) {
        int i = vp_choice_index(spec->choices, text);
        if (i < 0) {
            char list[512], dym[160];
            vp_choices_list(spec->choices, list, sizeof list);
            vp_did_you_mean(text, spec->choices, dym, sizeof dym);
            return vp_fail(err, VP_ERR_USAGE, "%s: \"%s\" is not one of %s%s", where, text, list, dym);
        }
        *out = i;
        return VP_OK;
    }
    if (spec->type == VP_P_GAIN && (strcmp(text, "auto") == 0 || strcmp(text, "critical") == 0)) {
        *is_auto = text[0] == 'a' ? 1 : 2;
        *out = spec->def;
        return VP_OK;
    }
    double v;
    int rc = vp_parse_decimal(text, &v);
    if (rc == -2) return vp_fail(err, VP_ERR_USAGE, "%s: \"%s\" is beyond the range of a double", where, text);
    if (rc)
        return vp_fail(err, VP_ERR_USAGE, "%s: \"%s\" is not a number%s (plain decimal, e.g. 0.5 or 1e-3)",
                       where, text, spec->type == VP_P_GAIN ? ", \"auto\" or \"critical\"" : "");
    vp_status s = vp_param_check(spec, v, where, err);
    if (s) return VP_ERR_USAGE;
    *out = v;
    return VP_OK;
}

int vp_name_is(const char *name, const char *aliases, const char *word)
{
    return strcmp(name, word) == 0 || vp_choice_index(aliases, word) >= 0;
}

int vp_param_find(const vp_param *specs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(specs[i].name, name) == 0) return i;
    return -1;
}

void vp_param_defaults(const vp_param *specs, int n, double *p)
{
    for (int i = 0; i < n; i++) p[i] = specs[i].def;
}

double vp_param_get(const vp_param *specs, int n, const double *p, const char *name)
{
    int i = vp_param_find(specs, n, name);
    if (i < 0) abort(); /* internal invariant: callers name a parameter of the row */
    return p[i];
}

vp_status vp_param_check_row(const char *owner, const vp_param *specs, int n, const double *p, const char *why,
                             vp_err *err)
{
    for (int i = 0; i < n; i++) {
        char where[160];
        snprintf(where, sizeof where, "%s %s", owner, specs[i].name);
        vp_status s = vp_param_check(&specs[i], p[i], where, err);
        if (s) return s;
    }
    return why ? vp_fail(err, VP_ERR_CONFIG, "%s %s", owner, why) : VP_OK;
}

void vp_param_label(const char *name, const vp_param *specs, int n, const double *p, unsigned auto_mask,
                    unsigned critical_mask, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "%s", name);
    int first = 1;
    for (int i = 0; i < n && used < len; i++) {
        char v[64];
        if (auto_mask & (1u << i)) snprintf(v, sizeof v, "auto");
        else if (critical_mask & (1u << i)) snprintf(v, sizeof v, "critical");
        else if (p[i] == specs[i].def) continue;
        else vp_param_format(&specs[i], p[i], v, sizeof v);
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", first ? "(" : ",", specs[i].name, v);
        first = 0;
    }
    if (!first && used < len) snprintf(buf + used, len - used, ")");
}
