/* config_parse: see config_parse.h. */
#include "experiment/config_parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/spec.h"

/* ---- error context: JSON paths, rewritten into the sweep when a value came from it ---- */

vp_status vp_cfg_fail(vp_cfg_ctx *c, const char *path, const char *fmt, ...)
{
    char shown[512], what[768];
    snprintf(shown, sizeof shown, "%s", path);
    int mapped = strncmp(path, "sweep", 5) == 0; /* a path into the sweep already says which */
    /* The swept key the value came from: the longest that holds the path (with network.init
     * and network.init.gain both swept, a bad gain is network.init.gain's value, set into
     * network.init's after it). */
    int best = -1;
    size_t best_n = 0;
    for (int k = 0; !mapped && k < c->nsweep && c->keys; k++) {
        size_t n = strlen(c->keys[k]);
        if (n > best_n && strncmp(path, c->keys[k], n) == 0 && (path[n] == '\0' || path[n] == '.'))
            best = k, best_n = n;
    }
    if (best >= 0) {
        snprintf(shown, sizeof shown, "sweep[\"%s\"][%d]%s", c->keys[best], c->idx[best], path + best_n);
        mapped = 1;
    }
    /* A variant's error at a key no sweep sets (a combination: a swept width that a block's
     * initializer cannot take): the sweep values that made the variant. */
    for (int k = 0, at = (int)strlen(shown); !mapped && k < c->nsweep && c->keys && at < (int)sizeof shown; k++)
        at += snprintf(shown + at, sizeof shown - (size_t)at, "%s sweep[\"%s\"][%d]%s", k ? "," : " (with",
                       c->keys[k], c->idx[k], k + 1 == c->nsweep ? ")" : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vp_fail(c->err, VP_ERR_CONFIG, "%s: %s: %s", c->source, shown, what);
}

void vp_cfg_join(char *out, size_t len, const char *path, const char *key)
{
    snprintf(out, len, "%s%s%s", path, path[0] ? "." : "", key);
}

const char *vp_cfg_type_name(const cJSON *j)
{
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsObject(j)) return "an object";
    return "invalid";
}

/* Every key of obj must be in `allowed` (space-separated), and appear once. */
vp_status vp_cfg_check_keys(vp_cfg_ctx *c, const cJSON *obj, const char *path, const char *allowed)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        char p[512], list[512], dym[160];
        vp_cfg_join(p, sizeof p, path, it->string ? it->string : "");
        if (!it->string || vp_choice_index(allowed, it->string) < 0) {
            vp_choices_list(allowed, list, sizeof list);
            vp_did_you_mean(it->string ? it->string : "", allowed, dym, sizeof dym);
            return vp_cfg_fail(c, p, "unknown key; allowed keys here are %s%s", list, dym);
        }
        for (const cJSON *o = obj->child; o != it; o = o->next)
            if (strcmp(o->string, it->string) == 0) return vp_cfg_fail(c, p, "key given twice");
    }
    return VP_OK;
}

/* Number in [lo, hi]; `integer` demands a whole number. Absent: *out untouched, returns OK. */
vp_status vp_cfg_get_num(vp_cfg_ctx *c, const cJSON *obj, const char *key, const char *path, double lo,
                         double hi, int integer, double *out, int *present)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    char p[512];
    vp_cfg_join(p, sizeof p, path, key);
    if (present) *present = j != NULL;
    if (!j) return VP_OK;
    if (!cJSON_IsNumber(j)) return vp_cfg_fail(c, p, "expected %s, got %s", integer ? "an integer" : "a number", vp_cfg_type_name(j));
    double v = j->valuedouble;
    if (!isfinite(v)) return vp_cfg_fail(c, p, "%g is not a finite number", v);
    if (integer && v != floor(v)) return vp_cfg_fail(c, p, "%.10g is not an integer", v);
    if (v < lo || v > hi) return vp_cfg_fail(c, p, "%.10g is out of range; allowed: %.10g to %.10g", v, lo, hi);
    *out = v;
    return VP_OK;
}

vp_status vp_cfg_get_int(vp_cfg_ctx *c, const cJSON *obj, const char *key, const char *path, long lo,
                         long hi, int *out, int *present)
{
    double v = *out;
    vp_status s = vp_cfg_get_num(c, obj, key, path, (double)lo, (double)hi, 1, &v, present);
    *out = (int)v;
    return s;
}

vp_status vp_cfg_get_bool(vp_cfg_ctx *c, const cJSON *obj, const char *key, const char *path, int *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    char p[512];
    vp_cfg_join(p, sizeof p, path, key);
    if (!j) return VP_OK;
    if (!cJSON_IsBool(j)) return vp_cfg_fail(c, p, "expected true or false, got %s", vp_cfg_type_name(j));
    *out = cJSON_IsTrue(j);
    return VP_OK;
}

/* A string that must be one of `choices`. */
vp_status vp_cfg_get_choice(vp_cfg_ctx *c, const cJSON *obj, const char *key, const char *path,
                            const char *choices, int *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    char p[512], list[512], dym[160];
    vp_cfg_join(p, sizeof p, path, key);
    if (!j) return VP_OK;
    vp_choices_list(choices, list, sizeof list);
    if (!cJSON_IsString(j)) return vp_cfg_fail(c, p, "expected one of %s, got %s", list, vp_cfg_type_name(j));
    int i = vp_choice_index(choices, j->valuestring);
    if (i < 0) {
        vp_did_you_mean(j->valuestring, choices, dym, sizeof dym);
        return vp_cfg_fail(c, p, "\"%s\" is not one of %s%s", j->valuestring, list, dym);
    }
    *out = i;
    return VP_OK;
}

/* ---- registry entries: "name" or {"name": ..., params} ---- */

/* Parameters of a registry object: every key but "name" must be a parameter (found
 * by spec.h); the JSON value's type decides how it is read. */
vp_status vp_cfg_params(vp_cfg_ctx *c, const cJSON *obj, const char *path, const char *entry,
                              const vp_param *spec, int nparams, double *p, unsigned *auto_mask,
                              unsigned *critical_mask)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        char pp[512];
        vp_cfg_join(pp, sizeof pp, path, it->string);
        if (strcmp(it->string, "name") == 0) continue;
        vp_err e2;
        int k = vp_spec_param_index(entry, spec, nparams, it->string, &e2);
        if (k < 0) return vp_cfg_fail(c, pp, "%s", e2.msg);
        for (const cJSON *o = obj->child; o != it; o = o->next)
            if (strcmp(o->string, it->string) == 0) return vp_cfg_fail(c, pp, "key given twice");
        const vp_param *sp = &spec[k];
        if (sp->type == VP_P_ENUM && cJSON_IsBool(it) && strcmp(sp->choices, VP_CFG_BOOL_CHOICES) == 0) {
            p[k] = cJSON_IsTrue(it) ? 1 : 0; /* a yes/no parameter (sgd's nesterov) takes a JSON boolean */
            continue;
        }
        if (sp->type == VP_P_ENUM) {
            int idx = (int)sp->def;
            vp_status s = vp_cfg_get_choice(c, obj, it->string, path, sp->choices, &idx);
            if (s) return s;
            p[k] = idx;
            continue;
        }
        if (sp->type == VP_P_GAIN && cJSON_IsString(it) && strcmp(it->valuestring, "auto") == 0) {
            *auto_mask |= 1u << k;
            continue;
        }
        if (sp->type == VP_P_GAIN && cJSON_IsString(it) && strcmp(it->valuestring, "critical") == 0) {
            *critical_mask |= 1u << k;
            continue;
        }
        if (sp->type == VP_P_GAIN && cJSON_IsString(it)) { /* a misspelt word: echo it, and the nearest */
            char dym[160];
            vp_did_you_mean(it->valuestring, "auto critical", dym, sizeof dym);
            return vp_cfg_fail(c, pp, "expected a number, \"auto\" or \"critical\", got \"%.80s\"%s", it->valuestring,
                               dym);
        }
        if (!cJSON_IsNumber(it))
            return vp_cfg_fail(c, pp, "expected %s, got %s", sp->type == VP_P_GAIN ? "a number, \"auto\" or \"critical\"" :
                           sp->type == VP_P_INT ? "an integer" : "a number", vp_cfg_type_name(it));
        if (vp_param_check(sp, it->valuedouble, "x", &e2) != VP_OK)
            return vp_cfg_fail(c, pp, "%s", e2.msg + 3);
        p[k] = it->valuedouble;
    }
    return VP_OK;
}

/* The "name" of a registry entry given as string or object. */
vp_status vp_cfg_entry_name(vp_cfg_ctx *c, const cJSON *j, const char *path, const char **name)
{
    if (cJSON_IsString(j)) { *name = j->valuestring; return VP_OK; }
    if (!cJSON_IsObject(j)) return vp_cfg_fail(c, path, "expected a name or an object {\"name\": ...}, got %s", vp_cfg_type_name(j));
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
    char p[512];
    vp_cfg_join(p, sizeof p, path, "name");
    if (!n) return vp_cfg_fail(c, path, "object needs a \"name\"");
    if (!cJSON_IsString(n)) return vp_cfg_fail(c, p, "expected a string, got %s", vp_cfg_type_name(n));
    *name = n->valuestring;
    return VP_OK;
}

/* An activation (act != NULL) or an initializer for weights or biases (in, bias):
 * "name" or {"name": ..., params}, looked up and checked by spec.h. */
vp_status vp_cfg_entry(vp_cfg_ctx *c, const cJSON *j, const char *path, vp_act *act, vp_init *in, int bias)
{
    const char *name = NULL;
    vp_status s = vp_cfg_entry_name(c, j, path, &name);
    if (s) return s;
    char np[512];
    vp_err e2;
    vp_cfg_join(np, sizeof np, path, "name");
    if (act ? vp_spec_act(name, act, &e2) : vp_spec_init(name, bias, in, &e2))
        return vp_cfg_fail(c, cJSON_IsObject(j) ? np : path, "%s", e2.msg);
    if (cJSON_IsObject(j)) {
        unsigned none = 0, none2 = 0;
        const vp_act_info *ai = act ? vp_act_get(act->kind) : NULL;
        const vp_init_info *ii = act ? NULL : vp_init_get(in->kind);
        s = act ? vp_cfg_params(c, j, path, ai->name, ai->params, ai->nparams, act->p, &none, &none2)
                : vp_cfg_params(c, j, path, ii->name, ii->params, ii->nparams, in->p, &in->auto_mask,
                               &in->critical_mask);
        if (s) return s;
    }
    if (act ? vp_spec_act_check(act, &e2) : vp_spec_init_check(in, &e2)) return vp_cfg_fail(c, path, "%s", e2.msg);
    return VP_OK;
}

/* ---- a registry entry as the resolved config writes it ---- */
cJSON *vp_cfg_entry_json(const char *name, const vp_param *spec, int n, const double *p, unsigned auto_mask,
                         unsigned critical_mask)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    for (int i = 0; i < n; i++) {
        if (spec[i].type == VP_P_ENUM && strcmp(spec[i].choices, VP_CFG_BOOL_CHOICES) == 0) {
            cJSON_AddBoolToObject(o, spec[i].name, p[i] != 0);
        } else if (spec[i].type == VP_P_ENUM) {
            char w[64];
            cJSON_AddStringToObject(o, spec[i].name, vp_choice_word(spec[i].choices, (int)p[i], w, sizeof w));
        } else if (auto_mask & (1u << i)) {
            cJSON_AddStringToObject(o, spec[i].name, "auto");
        } else if (critical_mask & (1u << i)) {
            cJSON_AddStringToObject(o, spec[i].name, "critical");
        } else {
            cJSON_AddNumberToObject(o, spec[i].name, p[i]);
        }
    }
    return o;
}
