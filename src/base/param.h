/* param: typed parameters of registry entries (activations, initializers) and
 * name matching shared by config parsing and the command line.
 *
 * A registry row lists its parameters as vp_param specs; values are stored as
 * doubles (an enum parameter stores the index of its choice). Pure functions, no state.
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

/* Check a numeric value against spec (finite, range, integer). */
vp_status vp_param_check(const vp_param *spec, double v, const char *where, vp_err *err);

#endif
