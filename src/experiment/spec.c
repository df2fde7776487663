/* spec: see spec.h. */
#include "experiment/spec.h"

#include <stdio.h>
#include <string.h>

#include "experiment/net_config.h"
#include "theory/theory.h"

/* ---- names ---- */

vp_status vp_spec_act(const char *name, vp_act *out, vp_err *err)
{
    vp_act_kind k = vp_act_find(name);
    if (k == VP_ACT_COUNT) {
        char names[2048], list[2400], dym[160];
        vp_act_names(0, names, sizeof names);
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
    if (!bias && strcmp(name, VP_DELTA_ORTHOGONAL) == 0) /* a block's own init, read by net_config.c */
        return vp_fail(err, VP_ERR_CONFIG, "\"%s\" is a conv2d block's own initializer: set \"init\": \"%s\" in "
                       "the blocks of network.layers (it cannot be network.init or a plain stack's init)", name, name);
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

/* ---- constraints between parameters: the registry rows' own rules ---- */
vp_status vp_spec_act_check(const vp_act *a, vp_err *err) { return vp_act_check(a, err); }

vp_status vp_spec_init_check(const vp_init *in, vp_err *err) { return vp_init_check(in, err); }

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
