/* spec: see spec.h. */
#include "experiment/spec.h"

#include <stdio.h>
#include <string.h>

#include "theory/theory.h"

/* ---- names ---- */
static void act_names(char *buf, size_t len)
{
    size_t u = 0;
    buf[0] = '\0';
    for (int k = 0; k < VP_ACT_COUNT && u < len; k++)
        u += (size_t)snprintf(buf + u, len - u, "%s%s", k ? " " : "", vp_act_get((vp_act_kind)k)->name);
}

vp_status vp_spec_act(const char *name, vp_act *out, vp_err *err)
{
    vp_act_kind k = vp_act_find(name);
    if (k == VP_ACT_COUNT) {
        char names[2048], list[2400], dym[160];
        act_names(names, sizeof names);
        vp_choices_list(names, list, sizeof list);
        vp_did_you_mean(name, names, dym, sizeof dym);
        return vp_fail(err, VP_ERR_CONFIG, "\"%s\" is not a known activation%s; known: %s (see `varprop list activations`)",
                       name, dym, list);
    }
    *out = vp_act_default(k);
    return VP_OK;
}

vp_status vp_spec_init(const char *name, int bias, vp_init *out, vp_err *err)
{
    vp_init_kind k = vp_init_find(name);
    if (k == VP_INIT_COUNT || !(bias ? vp_init_get(k)->bias_ok : vp_init_get(k)->weight_ok)) {
        char names[2048], list[2400], dym[160];
        vp_init_names(bias, names, sizeof names);
        vp_choices_list(names, list, sizeof list);
        vp_did_you_mean(name, names, dym, sizeof dym);
        return vp_fail(err, VP_ERR_CONFIG, "\"%s\" is not a known %s initializer%s; known: %s (see `varprop list initializers`)",
                       name, bias ? "bias" : "weight", dym, list);
    }
    *out = vp_init_default(k);
    return VP_OK;
}

/* ---- parameters ---- */
int vp_spec_param_index(const char *entry, const vp_param *params, int nparams, const char *key, vp_err *err)
{
    char names[512] = "", list[512], dym[160];
    for (int i = 0; i < nparams; i++) {
        if (strcmp(params[i].name, key) == 0) return i;
        size_t u = strlen(names);
        snprintf(names + u, sizeof names - u, "%s%s", i ? " " : "", params[i].name);
    }
    if (nparams == 0) vp_fail(err, VP_ERR_CONFIG, "%s takes no parameters", entry);
    else {
        vp_choices_list(names, list, sizeof list);
        vp_did_you_mean(key, names, dym, sizeof dym);
        vp_fail(err, VP_ERR_CONFIG, "%s has no parameter \"%s\"; its parameters are %s%s", entry, key, list, dym);
    }
    return -1;
}

/* One parameter of an entry from text; *auto_mask / *critical_mask (NULL for
 * entries without gains) keep which gains were given as words. */
static vp_status set_text(const char *entry, const vp_param *params, int nparams, double *p, unsigned *auto_mask,
                          unsigned *critical_mask, const char *key, const char *value, const char *where,
                          vp_err *err)
{
    int i = vp_spec_param_index(entry, params, nparams, key, err);
    if (i < 0) return VP_ERR_CONFIG;
    int word = 0; /* 1: "auto", 2: "critical" */
    if (vp_param_parse_text(&params[i], value, &p[i], &word, where, err)) return VP_ERR_CONFIG;
    if (auto_mask) *auto_mask = (*auto_mask & ~(1u << i)) | (word == 1 ? 1u << i : 0);
    if (critical_mask) *critical_mask = (*critical_mask & ~(1u << i)) | (word == 2 ? 1u << i : 0);
    return VP_OK;
}

vp_status vp_spec_act_param(vp_act *a, const char *key, const char *value, const char *where, vp_err *err)
{
    const vp_act_info *info = vp_act_get(a->kind);
    return set_text(info->name, info->params, info->nparams, a->p, NULL, NULL, key, value, where, err);
}

vp_status vp_spec_init_param(vp_init *in, const char *key, const char *value, const char *where, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    return set_text(info->name, info->params, info->nparams, in->p, &in->auto_mask, &in->critical_mask, key,
                    value, where, err);
}

/* ---- constraints between parameters ----
 * Pairs of parameters that bound an interval: lo < hi (lo <= hi unless strict). */
typedef struct {
    const char *lo, *hi;
    int strict;
    const char *needs;   /* the message after the entry's name */
} ordered_pair;

static const ordered_pair ACT_PAIRS[VP_ACT_COUNT] = {
    [VP_ACT_HARD_TANH] = { .lo = "min_val", .hi = "max_val", .strict = 1, .needs = "needs min_val < max_val" },
    [VP_ACT_RRELU] = { .lo = "lower", .hi = "upper", .strict = 0, .needs = "needs lower <= upper" },
};

#define BOUNDS "needs its lower bound below its upper bound"
#define CUTOFFS "needs its lower cut-off below its upper cut-off"
static const ordered_pair INIT_PAIRS[VP_INIT_COUNT] = {
    [VP_INIT_UNIFORM] = { .lo = "a", .hi = "b", .strict = 1, .needs = BOUNDS },
    [VP_INIT_RANDOM_UNIFORM] = { .lo = "minval", .hi = "maxval", .strict = 1, .needs = BOUNDS },
    [VP_INIT_TRUNC_NORMAL] = { .lo = "a", .hi = "b", .strict = 1, .needs = CUTOFFS },
    [VP_INIT_TRUNCATED_NORMAL] = { .lo = "lower", .hi = "upper", .strict = 1, .needs = CUTOFFS },
};

static vp_status check_pair(const ordered_pair *o, const char *entry, const vp_param *params, int nparams,
                            const double *p, vp_err *err)
{
    if (!o->lo) return VP_OK;
    int lo = -1, hi = -1;
    for (int i = 0; i < nparams; i++) {
        if (strcmp(params[i].name, o->lo) == 0) lo = i;
        if (strcmp(params[i].name, o->hi) == 0) hi = i;
    }
    if (lo < 0 || hi < 0) return VP_OK; /* the table names a parameter the row lacks: caught by test_config */
    if (o->strict ? p[lo] < p[hi] : p[lo] <= p[hi]) return VP_OK;
    return vp_fail(err, VP_ERR_CONFIG, "%s %s", entry, o->needs);
}

vp_status vp_spec_act_check(const vp_act *a, vp_err *err)
{
    const vp_act_info *info = vp_act_get(a->kind);
    return check_pair(&ACT_PAIRS[a->kind], info->name, info->params, info->nparams, a->p, err);
}

vp_status vp_spec_init_check(const vp_init *in, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    return check_pair(&INIT_PAIRS[in->kind], info->name, info->params, info->nparams, in->p, err);
}

/* ---- gains ---- */
vp_status vp_spec_resolve_gains(vp_init *in, const vp_act *act, vp_err *err)
{
    vp_err e2;
    double g = 1.0;
    if (in->auto_mask) {
        if (vp_theory_auto_gain(act, &g, &e2) != VP_OK)
            return vp_fail(err, VP_ERR_CONFIG, "\"auto\" gain for %s: %s; give a number", vp_act_get(act->kind)->name,
                           e2.msg);
        vp_init_resolve_auto(in, g);
    }
    if (in->critical_mask) {
        if (vp_theory_critical_gain(act, &g, &e2) != VP_OK)
            return vp_fail(err, VP_ERR_CONFIG, "\"critical\": %s; give a number", e2.msg);
        vp_init_resolve_critical(in, g);
    }
    return VP_OK;
}
