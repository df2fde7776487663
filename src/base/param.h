/* param: typed parameters of registry entries (activations, initializers) and
 * name matching shared by config parsing and the command line.
 *
 * A registry row lists its parameters as vp_param specs; values are stored as
 * doubles (an enum parameter stores the index of its choice). What the act and
 * init registries do alike with them -- find a row by name or alias, fill in the
 * defaults, look a parameter up by name, check the values, write a label -- is
 * written here once. Pure functions, no state.
 */
#ifndef VP_PARAM_H
#define VP_PARAM_H

#include <stddef.h>
#include "base/err.h"

typedef enum {
    VP_P_NUM,   /* a finite number in [lo, hi] */
    VP_P_INT,   /* an integer in [lo, hi] */
    VP_P_ENUM,  /* one of the space-separated words in `choices`; value = index */
    VP_P_GAIN,  /* a number in [lo, hi], "auto" (the activation's own gain) or
                   "critical" (the gain that puts the net at chi_1 = 1) */
} vp_ptype;

typedef struct {
    const char *name;
    vp_ptype type;
    double def;            /* default value (enum: index of the default choice) */
    double lo, hi;         /* allowed closed range for numbers */
    const char *choices;   /* VP_P_ENUM only */
    const char *help;
} vp_param;

/* Number of space-separated words in `choices`, and word i copied into buf. */
int vp_choice_count(const char *choices);
const char *vp_choice_word(const char *choices, int i, char *buf, size_t len);
/* Index of `word` in `choices`, or -1. */
int vp_choice_index(const char *choices, const char *word);

/* "a, b, c" rendering of space-separated choices. */
void vp_choices_list(const char *choices, char *buf, size_t len);

/* Edit distance (Levenshtein), for "did you mean". */
size_t vp_edit_distance(const char *a, const char *b);

/* If some candidate (space-separated list) is close to `name` (edit distance
 * <= max(2, len/3), or a prefix match), write ` (did you mean "x"?)` into buf,
 * else write "". */
void vp_did_you_mean(const char *name, const char *candidates, char *buf, size_t len);

/* Render a parameter value the way configs spell it: an enum word, or the number in
 * its shortest form that reads back as the same double (vp_num_shortest), so two
 * different values never get the same text (labels tell every value apart). */
void vp_param_format(const vp_param *spec, double v, char *buf, size_t len);

/* ---- numbers as text ---- */

/* The shortest of "%.15g", "%.16g", "%.17g" that strtod reads back as exactly v
 * ("%.17g" always does); "nan", "inf", "-inf" for the non-finite values. buf of at
 * least VP_NUM_CHARS bytes holds any result. */
#define VP_NUM_CHARS 32
void vp_num_shortest(double v, char *buf, size_t len);

/* A plain decimal number, the whole text: an optional sign, digits with an optional
 * fraction (".5", "5." and "5.5" are fine), an optional exponent (e or E, optional
 * sign, digits). No blanks, hex ("0x10"), "inf"/"nan" words or trailing text.
 * 0 with *out set; -1 if the text is not of that form; -2 if it overflows the double
 * range or underflows to 0 or a subnormal (ERANGE). */
int vp_parse_decimal(const char *text, double *out);

/* A plain decimal integer, the whole text: an optional sign and digits only.
 * 0 with *out set; -1 if the text is not of that form; -2 if it overflows a long. */
int vp_parse_long(const char *text, long *out);

/* Parse a command-line text value for `spec` (numbers: vp_parse_decimal); *is_auto is
 * set to 1 for GAIN "auto" and 2 for "critical".
 * Errors name `where` (e.g. "--param gain"). */
vp_status vp_param_parse_text(const vp_param *spec, const char *text, double *out, int *is_auto,
                              const char *where, vp_err *err);

/* The allowed range of a number parameter, its ends in `digits` significant digits:
 * "[lo, hi]", with ")" or "(" where an end prints as a number it excludes (hi = the
 * largest double below 1: "[0, 1)"). */
void vp_param_range(const vp_param *spec, int digits, char *out, size_t len);
/* Check a value against spec: finite, in [lo, hi], an integer for VP_P_INT; for
 * VP_P_ENUM the index of one of the choices. VP_ERR_CONFIG naming `where`. */
vp_status vp_param_check(const vp_param *spec, double v, const char *where, vp_err *err);

/* ---- a registry row's parameter list (specs[0..n-1]) and values p[0..n-1] ---- */

/* 1 if word is a row's canonical name or one of its space-separated aliases. */
int vp_name_is(const char *name, const char *aliases, const char *word);

/* Index of the parameter called `name`, or -1. */
int vp_param_find(const vp_param *specs, int n, const char *name);

/* p[i] = specs[i].def for every parameter. */
void vp_param_defaults(const vp_param *specs, int n, double *p);

/* The value of the parameter called `name`; a name the row does not have is an
 * internal error (abort): callers name parameters that exist. */
double vp_param_get(const vp_param *specs, int n, const double *p, const char *name);

/* A row's values are valid: vp_param_check of every value (`owner`, the row's
 * name, and the parameter's name make the `where`: "rrelu lower: ..."), then the
 * row's own rule among them: `why` is NULL when it holds, else the reason, which
 * follows the owner ("hard_tanh needs min_val < max_val"). VP_ERR_CONFIG. */
vp_status vp_param_check_row(const char *owner, const vp_param *specs, int n, const double *p, const char *why,
                             vp_err *err);

/* Label of a row with its values: the name, then "(k=v,...)" for the parameters
 * that differ from their defaults (vp_param_format); a parameter whose bit is set
 * in auto_mask or critical_mask shows "auto" or "critical" instead, default or not.
 * E.g. "leaky_relu(negative_slope=0.2)", "orthogonal(gain=auto)". Truncated to len. */
void vp_param_label(const char *name, const vp_param *specs, int n, const double *p, unsigned auto_mask,
                    unsigned critical_mask, char *buf, size_t len);

#endif
