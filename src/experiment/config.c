/* config: see config.h. Schema (README "Config reference"):
 *   name*, description, seeds, precision, theory,
 *   network{depth, width, input_dim | widths, activation, init, bias},
 *   input{distribution, batch, path}, measure{histograms{layers, bins}, jacobian},
 *   train{...} (train_config.c), memory, memory_checkpoint_every, sweep{"dotted.key": [values...]}
 */
#include "experiment/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "experiment/config_parse.h"
#include "experiment/net_config.h"
#include "experiment/spec.h"
#include "experiment/sweep.h"

/* ---- defaults (the only place they live) ---- */
#define DEF_SEEDS 1
#define DEF_DEPTH 20
#define DEF_WIDTH 256
#define DEF_BATCH 256
#define DEF_ACT "relu"
#define DEF_INIT "he_normal"
#define DEF_BIAS "zeros"
#define DEF_HIST_BINS 100
#define DEF_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define FASHION_TRAIN 60000
#define MAX_DEPTH 100000
#define MAX_WIDTH (1 << 20)
#define MAX_BATCH (1 << 24)
#define MAX_JACOBIAN_WIDTH 4096
#define MAX_CONFIG_BYTES (16L << 20)

#define TOP_KEYS "name description seeds precision theory network input measure train memory memory_checkpoint_every sweep"
#define NETWORK_KEYS "depth width input_dim widths activation init bias layers input_shape"
#define INPUT_KEYS "distribution batch path std correlation"
#define MEASURE_KEYS "histograms jacobian lengths"
#define HIST_KEYS "layers bins"
#define PRECISIONS "float32 float64"
#define MEMORIES "store recompute"
#define INPUTS "normal uniform fashion-mnist"

const char *vp_input_name(vp_input_kind k)
{
    return k == VP_INPUT_UNIFORM ? "uniform" : k == VP_INPUT_FASHION_MNIST ? "fashion-mnist" : "normal";
}

/* ---- error context: JSON paths, rewritten into the sweep when a value came from it ---- */

vp_status vp_cfg_fail(vp_cfg_ctx *c, const char *path, const char *fmt, ...)
{
    char shown[512], what[768];
    snprintf(shown, sizeof shown, "%s", path);
    for (int k = 0; k < c->nsweep && c->keys; k++) {
        size_t n = strlen(c->keys[k]);
        if (strncmp(path, c->keys[k], n) == 0 && (path[n] == '\0' || path[n] == '.')) {
            snprintf(shown, sizeof shown, "sweep[\"%s\"][%d]%s", c->keys[k], c->idx[k], path + n);
            break;
        }
    }
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

/* ---- memory: "store" (every weight and activation kept) or "recompute" ---- */

const char *vp_config_recompute_conflict(const vp_variant *v, const char **path)
{
    if (v->train.on) {
        *path = "train";
        return "training keeps every weight and its optimizer state (store mode)";
    }
    if (v->jacobian) {
        *path = "measure.jacobian";
        return "the Jacobian spectrum multiplies every W^l of the network at once (J = prod D^l W^l)";
    }
    if (v->net) {
        *path = "network.layers";
        return "block networks (docs/architectures.md) keep their weights; recompute covers the plain "
               "depth/width stack";
    }
    return NULL;
}

/* "memory" and "memory_checkpoint_every" (core/mlp.h vp_mlp_memory, docs/memory.md). */
static vp_status cfg_memory(vp_cfg_ctx *c, const cJSON *root, vp_variant *v)
{
    int mode = 0, has_every = 0;
    vp_status s;
    if ((s = vp_cfg_get_choice(c, root, "memory", "", MEMORIES, &mode))) return s;
    if ((s = vp_cfg_get_int(c, root, "memory_checkpoint_every", "", 1, MAX_DEPTH, &v->mem.every, &has_every))) return s;
    v->mem.recompute = mode == 1;
    if (has_every && !v->mem.recompute)
        return vp_cfg_fail(c, "memory_checkpoint_every", "only used with \"memory\": \"recompute\" (store mode keeps "
                           "every activation)");
    const char *path, *why = v->mem.recompute ? vp_config_recompute_conflict(v, &path) : NULL;
    if (why)
        return vp_cfg_fail(c, path, "not available with \"memory\": \"recompute\": %s; remove one or the other", why);
    return VP_OK;
}

/* ---- one variant: everything but name/description/seeds/sweep ---- */
vp_status vp_cfg_variant(vp_cfg_ctx *c, const cJSON *root, vp_variant *v)
{
    vp_status s;
    memset(v, 0, sizeof *v);
    int prec = 0, inp = VP_INPUT_NORMAL;
    v->theory = 1;
    if ((s = vp_cfg_get_choice(c, root, "precision", "", PRECISIONS, &prec))) return s;
    v->prec = prec ? VP_F64 : VP_F32;
    if ((s = vp_cfg_get_bool(c, root, "theory", "", &v->theory))) return s;

    /* input (parsed first: fashion-mnist fixes the input dimension) */
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    v->batch = DEF_BATCH;
    v->in_std = 1.0;
    if (in) {
        if (!cJSON_IsObject(in)) return vp_cfg_fail(c, "input", "expected an object, got %s", vp_cfg_type_name(in));
        if ((s = vp_cfg_check_keys(c, in, "input", INPUT_KEYS))) return s;
        if ((s = vp_cfg_get_choice(c, in, "distribution", "input", INPUTS, &inp))) return s;
        if ((s = vp_cfg_get_int(c, in, "batch", "input", 1, MAX_BATCH, &v->batch, NULL))) return s;
        if ((s = vp_cfg_get_num(c, in, "std", "input", 0, 1e150, 0, &v->in_std, NULL))) return s;
        if (!(v->in_std > 0)) return vp_cfg_fail(c, "input.std", "must be > 0 (the inputs' per-entry standard deviation)");
        if ((s = vp_cfg_get_num(c, in, "correlation", "input", -1, 1, 0, &v->in_corr, &v->has_corr))) return s;
        if (v->has_corr && !(v->in_corr > -1 && v->in_corr < 1))
            return vp_cfg_fail(c, "input.correlation", "%.10g is out of range; allowed: strictly between -1 and 1", v->in_corr);
        /* B exchangeable vectors with pairwise correlation c0: the Gram matrix
         * (1-c0) I + c0 11^T is positive semi-definite only for c0 >= -1/(B-1). */
        if (v->has_corr && v->batch >= 2 && v->in_corr < -1.0 / (v->batch - 1))
            return vp_cfg_fail(c, "input.correlation", "%.10g is impossible for a batch of %d: %d exchangeable vectors "
                               "need a correlation >= -1/(batch-1) = %.10g", v->in_corr, v->batch, v->batch,
                               -1.0 / (v->batch - 1));
        const cJSON *pth = cJSON_GetObjectItemCaseSensitive(in, "path");
        if (pth && !cJSON_IsString(pth)) return vp_cfg_fail(c, "input.path", "expected a folder path string, got %s", vp_cfg_type_name(pth));
        if (pth && inp != VP_INPUT_FASHION_MNIST)
            return vp_cfg_fail(c, "input.path", "only used with \"distribution\": \"fashion-mnist\"");
    }
    v->input = (vp_input_kind)inp;
    if (v->input == VP_INPUT_FASHION_MNIST && v->batch > FASHION_TRAIN)
        return vp_cfg_fail(c, "input.batch", "%d is more than the %d images of the fashion-mnist train split",
                       v->batch, FASHION_TRAIN);

    /* network */
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(root, "network");
    cJSON *tmp = NULL; /* an absent "network" means every default */
    if (!net) net = tmp = cJSON_CreateObject();
    if (!net) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    s = VP_OK;
    if (!cJSON_IsObject(net)) { s = vp_cfg_fail(c, "network", "expected an object, got %s", vp_cfg_type_name(net)); goto net_end; }
    if ((s = vp_cfg_check_keys(c, net, "network", NETWORK_KEYS))) goto net_end;
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(net, "widths");
    const cJSON *lay = cJSON_GetObjectItemCaseSensitive(net, "layers"); /* a block network: net_config.c */
    if ((s = vp_cfg_net_clash(c, net, lay))) goto net_end;
    if (lay) {
    } else if (ws) {
        const char *clash[] = { "depth", "width", "input_dim" };
        for (int i = 0; i < 3; i++)
            if (cJSON_GetObjectItemCaseSensitive(net, clash[i])) {
                char p[64];
                snprintf(p, sizeof p, "network.%s", clash[i]);
                s = vp_cfg_fail(c, p, "network.widths replaces depth, width and input_dim; give one or the other");
                goto net_end;
            }
        if (!cJSON_IsArray(ws)) { s = vp_cfg_fail(c, "network.widths", "expected an array of layer widths [n0, n1, ..., nL], got %s", vp_cfg_type_name(ws)); goto net_end; }
        int n = cJSON_GetArraySize(ws);
        if (n < 2 || n > MAX_DEPTH + 1) { s = vp_cfg_fail(c, "network.widths", "needs 2 to %d widths (input and at least one layer), got %d", MAX_DEPTH + 1, n); goto net_end; }
        v->L = n - 1;
        v->widths = malloc((size_t)n * sizeof *v->widths);
        if (!v->widths) { s = vp_fail(c->err, VP_ERR_NOMEM, "out of memory"); goto net_end; }
        int i = 0;
        for (const cJSON *it = ws->child; it; it = it->next, i++) {
            char p[64];
            snprintf(p, sizeof p, "network.widths[%d]", i);
            if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble != floor(it->valuedouble) ||
                it->valuedouble < 1 || it->valuedouble > MAX_WIDTH) {
                s = vp_cfg_fail(c, p, "expected an integer from 1 to %d", MAX_WIDTH);
                goto net_end;
            }
            v->widths[i] = (int)it->valuedouble;
        }
    } else {
        int depth = DEF_DEPTH, width = DEF_WIDTH, input_dim = -1, has_in = 0;
        if ((s = vp_cfg_get_int(c, net, "depth", "network", 1, MAX_DEPTH, &depth, NULL))) goto net_end;
        if ((s = vp_cfg_get_int(c, net, "width", "network", 1, MAX_WIDTH, &width, NULL))) goto net_end;
        if ((s = vp_cfg_get_int(c, net, "input_dim", "network", 1, MAX_WIDTH, &input_dim, &has_in))) goto net_end;
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "train");
        int train_dim = tr ? vp_cfg_train_input_dim(tr) : 0; /* the training data's width, when the config says it */
        if (!has_in) input_dim = v->input == VP_INPUT_FASHION_MNIST ? VP_FASHION_DIM : train_dim ? train_dim : width;
        v->L = depth;
        v->widths = malloc((size_t)(depth + 1) * sizeof *v->widths);
        if (!v->widths) { s = vp_fail(c->err, VP_ERR_NOMEM, "out of memory"); goto net_end; }
        v->widths[0] = input_dim;
        for (int l = 1; l <= depth; l++) v->widths[l] = width;
    }
    if (!lay && v->input == VP_INPUT_FASHION_MNIST && v->widths[0] != VP_FASHION_DIM) {
        s = vp_cfg_fail(c, ws ? "network.widths[0]" : "network.input_dim",
                    "fashion-mnist images have %d pixels, so the input width must be %d (got %d)",
                    VP_FASHION_DIM, VP_FASHION_DIM, v->widths[0]);
        goto net_end;
    }
    /* activation, init, bias */
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(net, "activation");
    v->act = vp_act_default(vp_act_find(DEF_ACT));
    if (a && (s = vp_cfg_entry(c, a, "network.activation", &v->act, NULL, 0))) goto net_end;
    const cJSON *wi = cJSON_GetObjectItemCaseSensitive(net, "init");
    v->winit = vp_init_default(vp_init_find(DEF_INIT));
    if (wi && (s = vp_cfg_entry(c, wi, "network.init", NULL, &v->winit, 0))) goto net_end;
    vp_err e2;
    if (vp_spec_resolve_gains(&v->winit, &v->act, &e2)) {
        s = vp_cfg_fail(c, "network.init.gain", "%s", e2.msg);
        goto net_end;
    }
    const cJSON *bi = cJSON_GetObjectItemCaseSensitive(net, "bias");
    v->binit = vp_init_default(vp_init_find(DEF_BIAS));
    if (bi && vp_init_get(v->winit.kind)->sets_bias) {
        s = vp_cfg_fail(c, "network.bias", "%s sets the biases itself (sigma_b); remove \"bias\"",
                    vp_init_get(v->winit.kind)->name);
        goto net_end;
    }
    if (bi && (s = vp_cfg_entry(c, bi, "network.bias", NULL, &v->binit, 1))) goto net_end;
    if (lay && (s = vp_cfg_net_layers(c, root, net, v))) goto net_end;
net_end:
    cJSON_Delete(tmp);
    if (s) return s;
    if ((s = vp_cfg_train(c, cJSON_GetObjectItemCaseSensitive(root, "train"), v))) return s;

    /* measure */
    const cJSON *me = cJSON_GetObjectItemCaseSensitive(root, "measure");
    if (me) {
        if (!cJSON_IsObject(me)) return vp_cfg_fail(c, "measure", "expected an object, got %s", vp_cfg_type_name(me));
        if ((s = vp_cfg_check_keys(c, me, "measure", MEASURE_KEYS))) return s;
        if ((s = vp_cfg_get_bool(c, me, "jacobian", "measure", &v->jacobian))) return s;
        if ((s = vp_cfg_get_bool(c, me, "lengths", "measure", &v->lengths))) return s;
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(me, "histograms");
        if (h && !cJSON_IsNull(h)) {
            if (!cJSON_IsObject(h)) return vp_cfg_fail(c, "measure.histograms", "expected an object {\"layers\": [...], \"bins\": n}, got %s", vp_cfg_type_name(h));
            if ((s = vp_cfg_check_keys(c, h, "measure.histograms", HIST_KEYS))) return s;
            v->hist_bins = DEF_HIST_BINS;
            if ((s = vp_cfg_get_int(c, h, "bins", "measure.histograms", 2, 100000, &v->hist_bins, NULL))) return s;
            const cJSON *ls = cJSON_GetObjectItemCaseSensitive(h, "layers");
            if (!ls) return vp_cfg_fail(c, "measure.histograms", "needs \"layers\": [l1, l2, ...]");
            if (!cJSON_IsArray(ls) || cJSON_GetArraySize(ls) == 0)
                return vp_cfg_fail(c, "measure.histograms.layers", "expected a non-empty array of layer numbers 1..%d", v->L);
            v->hist_layers = calloc((size_t)v->L, 1);
            if (!v->hist_layers) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
            int i = 0;
            for (const cJSON *it = ls->child; it; it = it->next, i++) {
                char p[96];
                snprintf(p, sizeof p, "measure.histograms.layers[%d]", i);
                if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 1 ||
                    it->valuedouble > v->L)
                    return vp_cfg_fail(c, p, "expected a layer number from 1 to %d (the depth)", v->L);
                v->hist_layers[(int)it->valuedouble - 1] = 1;
            }
        }
        if (v->jacobian && vp_act_rowwise(vp_act_get(v->act.kind)))
            return vp_cfg_fail(c, "measure.jacobian", "the Jacobian spectrum needs an elementwise activation "
                           "(J = prod D^l W^l); %s acts on whole rows", vp_act_get(v->act.kind)->name);
        if (v->jacobian)
            for (int l = 0; l <= v->L; l++)
                if (v->widths[l] > MAX_JACOBIAN_WIDTH)
                    return vp_cfg_fail(c, "measure.jacobian", "the Jacobian spectrum is limited to widths up to %d (layer %d has %d)",
                                   MAX_JACOBIAN_WIDTH, l, v->widths[l]);
    }
    return cfg_memory(c, root, v);
}

void vp_cfg_variant_free(vp_variant *v)
{
    vp_net_spec_free(v->net);
    v->net = NULL;
    free(v->widths);
    free(v->hist_layers);
    v->widths = NULL;
    v->hist_layers = NULL;
    vp_train_cfg_free(&v->train);
}

/* ---- top level ---- */
void vp_experiment_free(vp_experiment *e)
{
    if (!e) return;
    for (int v = 0; v < e->nvariants && e->variants; v++) vp_cfg_variant_free(&e->variants[v]);
    free(e->variants);
    for (int k = 0; k < e->nsweep && e->sweep_keys; k++) free(e->sweep_keys[k]);
    free(e->sweep_keys);
    if (e->sweep_values)
        for (long i = 0; i < (long)e->nvariants * e->nsweep; i++) free(e->sweep_values[i]);
    free(e->sweep_values);
    free(e->description);
    free(e->data_dir);
    free(e->seeds);
    cJSON_free(e->resolved_json);
    free(e);
}

/* ---- seeds: exact 64-bit integers, read from the text of their literals ----
 * cJSON keeps a number as a double only, which would round 2^53 + 1 to 2^53 and
 * 1.0000000000000001 to 1. A valid JSON text holds its number literals in the order
 * of a pre-order walk of its tree, so the k-th number of the tree is the k-th literal
 * of the text (cJSON accepts no other number syntax: a literal starts with '-' or a
 * digit and goes on with digits, '.', 'e', 'E', '+' and '-'). */

/* Number items in the subtree of j. */
static size_t count_numbers(const cJSON *j)
{
    if (cJSON_IsNumber(j)) return 1;
    size_t n = 0;
    for (const cJSON *it = j->child; it; it = it->next) n += count_numbers(it);
    return n;
}

/* Start and length of the number literals k0 .. k0 + n - 1 of the valid JSON text. */
static void number_literals(const char *text, size_t len, size_t k0, size_t n, const char **start, size_t *lens)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k < k0 + n; i++) {
        char ch = text[i];
        if (ch == '"') { /* skip the string: \" and \\ are escapes */
            for (i++; i < len && text[i] != '"'; i++)
                if (text[i] == '\\') i++;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t j = i;
            while (j < len && strchr("0123456789+-.eE", text[j]) && text[j]) j++;
            if (k >= k0) { start[k - k0] = text + i; lens[k - k0] = j - i; }
            k++;
            i = j - 1;
        }
    }
}

#define SEED_RANGE "a whole number from 0 to 18446744073709551615 (2^64 - 1) written in digits"

/* A seed literal: digits only, 0 to 2^64 - 1. */
static int seed_literal(const char *lit, size_t n, uint64_t *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf) return -1;
    for (size_t i = 0; i < n; i++)
        if (lit[i] < '0' || lit[i] > '9') return -1;
    memcpy(buf, lit, n);
    buf[n] = '\0';
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, 10);
    if (errno == ERANGE || v > UINT64_MAX) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* The "seeds" array sd of root: distinct exact integers. */
static vp_status parse_seed_array(vp_cfg_ctx *c, const char *text, size_t len, const cJSON *root, const cJSON *sd,
                                  vp_experiment *e)
{
    int count = cJSON_GetArraySize(sd);
    if (count < 1 || count > 100000) return vp_cfg_fail(c, "seeds", "needs 1 to 100000 seeds, got %d", count);
    e->nseeds = count;
    e->seeds = malloc((size_t)count * sizeof *e->seeds);
    const char **lit = calloc((size_t)count, sizeof *lit); /* not found: NULL, length 0 (refused) */
    size_t *litlen = calloc((size_t)count, sizeof *litlen);
    /* Seeds seen so far, in an open-addressing set (linear probing, 2^k >= 2 count
     * slots, 1 + seed stored so that 0 marks an empty slot; the seed 2^64 - 1 is
     * compared apart): duplicates are found in linear time, at the first repeat in
     * array order. */
    size_t cap = 2;
    while (cap < 2 * (size_t)count) cap *= 2;
    uint64_t *seen = calloc(cap, sizeof *seen);
    vp_status st = VP_OK;
    if (!e->seeds || !lit || !litlen || !seen) st = vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    size_t before = 0; /* numbers of the document before the seeds */
    for (const cJSON *it = root->child; it && it != sd && !st; it = it->next) before += count_numbers(it);
    if (!st) number_literals(text, len, before, (size_t)count, lit, litlen);
    int i = 0, have_max = 0;
    for (const cJSON *it = sd->child; it && !st; it = it->next, i++) {
        char p[64];
        snprintf(p, sizeof p, "seeds[%d]", i);
        /* every element before this one is a number: this is literal `before + i` */
        if (!cJSON_IsNumber(it)) {
            st = vp_cfg_fail(c, p, "expected " SEED_RANGE ", got %s", vp_cfg_type_name(it));
            break;
        }
        if (seed_literal(lit[i], litlen[i], &e->seeds[i])) {
            st = vp_cfg_fail(c, p, "%.*s is not " SEED_RANGE " (a seed is used exactly: no sign, fraction or "
                             "exponent)", (int)(litlen[i] > 40 ? 40 : litlen[i]), lit[i] ? lit[i] : "");
            break;
        }
        int dup = 0;
        if (e->seeds[i] == UINT64_MAX) {
            dup = have_max;
            have_max = 1;
        } else {
            uint64_t key = e->seeds[i] + 1, h = key * 0x9E3779B97F4A7C15ull;
            size_t k = (size_t)(h >> 32) & (cap - 1);
            while (seen[k] && seen[k] != key) k = (k + 1) & (cap - 1);
            dup = seen[k] != 0;
            seen[k] = key;
        }
        if (dup) st = vp_cfg_fail(c, p, "seed %llu is listed twice", (unsigned long long)e->seeds[i]);
    }
    free(seen);
    free(lit);
    free(litlen);
    return st;
}

static vp_status parse_header(vp_cfg_ctx *c, const char *text, size_t text_len, const cJSON *root, vp_experiment *e)
{
    vp_status s;
    if ((s = vp_cfg_check_keys(c, root, "", TOP_KEYS))) return s;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!name) return vp_cfg_fail(c, "name", "missing; every experiment needs a name (it names the output folders)");
    if (!cJSON_IsString(name)) return vp_cfg_fail(c, "name", "expected a string, got %s", vp_cfg_type_name(name));
    const char *n = name->valuestring;
    size_t len = strlen(n);
    if (len == 0 || len >= VP_NAME_MAX)
        return vp_cfg_fail(c, "name", "must have 1 to %d characters", VP_NAME_MAX - 1);
    if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
        return vp_cfg_fail(c, "name", "\"%s\" is not a plain name (it names a folder)", n);
    if (n[0] == '.')
        return vp_cfg_fail(c, "name", "\"%s\" is not a plain name: it starts with '.', and it names output "
                           "folders (results/<name>, plots/<name>), which would be hidden; start with a letter or digit", n);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)n[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.'))
            return vp_cfg_fail(c, "name", "\"%s\" is not a plain name: it names output folders, so only letters, "
                           "digits, '-', '_' and '.' are allowed (character %zu is not)", n, i + 1);
    }
    memcpy(e->name, n, len + 1);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "description");
    if (d && !cJSON_IsString(d)) return vp_cfg_fail(c, "description", "expected a string, got %s", vp_cfg_type_name(d));
    e->description = strdup(d ? d->valuestring : "");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *pth = cJSON_IsObject(in) ? cJSON_GetObjectItemCaseSensitive(in, "path") : NULL;
    e->data_dir = strdup(cJSON_IsString(pth) ? pth->valuestring : DEF_DATA_DIR);
    if (!e->description || !e->data_dir) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");

    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "seeds");
    if (!sd || cJSON_IsNumber(sd)) {
        int count = DEF_SEEDS;
        if ((s = vp_cfg_get_int(c, root, "seeds", "", 1, 100000, &count, NULL))) return s;
        e->nseeds = count;
        e->seeds = malloc((size_t)count * sizeof *e->seeds);
        if (!e->seeds) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
        for (int i = 0; i < count; i++) e->seeds[i] = (uint64_t)i;
    } else if (cJSON_IsArray(sd)) {
        if ((s = parse_seed_array(c, text, text_len, root, sd, e))) return s;
    } else {
        return vp_cfg_fail(c, "seeds", "expected a count N (seeds 0..N-1) or an array of seeds, got %s", vp_cfg_type_name(sd));
    }
    return VP_OK;
}

/* 1-based line and column of byte offset pos of text. */
static void line_col(const char *text, size_t pos, size_t *line, size_t *col)
{
    *line = 1, *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') { ++*line; *col = 1; } else ++*col;
    }
}

/* Offset of the first \u0000 escape inside a string of the (valid JSON) text, or len.
 * cJSON would decode it to a NUL byte and every C string after it would silently end
 * there ("a\u0000b" read as "a"), so such a config is refused instead. */
static size_t nul_escape(const char *text, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '"') in_string = !in_string;
        else if (in_string && text[i] == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) return i;
            i++; /* the escaped character (a \uXXXX's hex digits are plain characters) */
        }
    }
    return len;
}

/* Offset of the first byte of text that is not part of well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or len. */
static size_t utf8_invalid(const char *text, size_t len)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned c = t[i];
        size_t n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
        if (n == 9 || n > len - 1 - i) return i; /* not a first byte, or cut short */
        /* the second byte's range depends on the first (overlongs, surrogates, > U+10FFFF) */
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        for (size_t k = 1; k <= n; k++)
            if (t[i + k] < (k == 1 ? lo : 0x80) || t[i + k] > (k == 1 ? hi : 0xBF)) return i;
        i += n + 1;
    }
    return len;
}

vp_status vp_config_parse(const char *text, size_t len, const char *source, const vp_config_opts *opts,
                          vp_experiment **out, vp_err *err)
{
    *out = NULL;
    vp_cfg_ctx c = { source, 0, NULL, NULL, err };
    if (len == 0) return vp_fail(err, VP_ERR_CONFIG, "%s: the file is empty; a config is a JSON object", source);
    if (memchr(text, '\0', len))
        return vp_fail(err, VP_ERR_CONFIG, "%s: contains a NUL byte; a config is a JSON text file", source);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t pos = end && end >= text ? (size_t)(end - text) : 0, line, col, last = len;
        while (last > 0 && (text[last - 1] == ' ' || text[last - 1] == '\n' || text[last - 1] == '\r' ||
                            text[last - 1] == '\t'))
            last--;
        line_col(text, pos < len ? pos : len, &line, &col);
        return vp_fail(err, VP_ERR_CONFIG, "%s:%zu:%zu: not valid JSON%s", source, line, col,
                       pos + 1 >= last ? " (the text ends too early: truncated?)" : "");
    }
    for (const char *p = end; p && p < text + len; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            cJSON_Delete(root);
            return vp_fail(err, VP_ERR_CONFIG, "%s: unexpected text after the JSON object", source);
        }
    /* JSON text is UTF-8 (RFC 8259), and strings reach config.json and the reports:
     * a byte that is not UTF-8 is refused where it is, not copied on. */
    size_t bad = utf8_invalid(text, len), nul_at = nul_escape(text, len);
    if (bad < len || nul_at < len) {
        cJSON_Delete(root);
        size_t at = bad < nul_at ? bad : nul_at, line, col; /* the first of the two */
        char what[160];
        if (bad < nul_at)
            snprintf(what, sizeof what, "the byte at offset %zu (0x%02X) is not valid UTF-8; a config is UTF-8 "
                     "text (JSON)", bad, (unsigned)(unsigned char)text[bad]);
        else
            snprintf(what, sizeof what, "a string holds \\u0000 (a NUL character), which no config value can contain");
        line_col(text, at, &line, &col);
        return vp_fail(err, VP_ERR_CONFIG, "%s:%zu:%zu: %s", source, line, col, what);
    }
    vp_status s = VP_OK;
    vp_experiment *e = calloc(1, sizeof *e);
    vp_variant base = { 0 };
    if (!e) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    if (!cJSON_IsObject(root)) { s = vp_fail(err, VP_ERR_CONFIG, "%s: the config must be a JSON object {...}, got %s", source, vp_cfg_type_name(root)); goto end; }
    if ((s = parse_header(&c, text, len, root, e))) goto end;
    if ((s = vp_cfg_variant(&c, root, &base))) goto end;

    s = vp_sweep_expand(&c, root, &base, opts, e);
end:
    cJSON_Delete(root);
    vp_cfg_variant_free(&base);
    if (s) vp_experiment_free(e);
    else *out = e;
    return s;
}

vp_status vp_config_load(const char *path, const vp_config_opts *opts, vp_experiment **out, vp_err *err)
{
    *out = NULL;
    char *buf;
    size_t n;
    vp_err rerr;
    vp_status s = vp_read_file(path, (size_t)MAX_CONFIG_BYTES, &buf, &n, &rerr);
    if (s == VP_ERR_DATA) /* vp_read_file: more than MAX_CONFIG_BYTES */
        return vp_fail(err, VP_ERR_CONFIG, "%s: larger than %ld MiB; not a config", path, MAX_CONFIG_BYTES >> 20);
    if (s == VP_ERR_NOMEM) return vp_fail(err, s, "%s", rerr.msg);
    if (s) return vp_fail(err, VP_ERR_CONFIG, "cannot read config: %s", rerr.msg);
    s = vp_config_parse(buf, n, path, opts, out, err);
    free(buf);
    return s;
}
