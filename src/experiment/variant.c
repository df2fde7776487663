/* variant: see variant.h. Schema of one variant (README "Config reference"):
 *   precision, theory, network{depth, width, input_dim | widths, activation, init, bias,
 *   layers (net_config.c)}, input{distribution, batch, path, std, correlation},
 *   measure{histograms{layers, bins}, jacobian, lengths}, train{...} (train_config.c),
 *   memory, memory_checkpoint_every
 */
#include "experiment/variant.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config_parse.h"
#include "experiment/net_config.h"
#include "experiment/spec.h"
#include "experiment/train_config.h"

/* ---- defaults of a variant (the only place they live; the document's own are config.c's) ---- */
#define DEF_DEPTH 20
#define DEF_WIDTH 256
#define DEF_BATCH 256
#define DEF_ACT "relu"
#define DEF_INIT "he_normal"
#define DEF_BIAS "zeros"
#define DEF_HIST_BINS 100
#define FASHION_TRAIN 60000
#define MAX_DEPTH 100000
#define MAX_WIDTH (1 << 20)
#define MAX_BATCH (1 << 24)
#define MAX_JACOBIAN_WIDTH 4096
#define NETWORK_KEYS "depth width input_dim widths activation init bias layers input_shape"
#define INPUT_KEYS "distribution batch path std correlation"
#define MEASURE_KEYS "histograms jacobian lengths"
#define HIST_KEYS "layers bins"
#define PRECISIONS "float32 float64"
#define MEMORIES "store recompute"
#define INPUTS "normal uniform fashion-mnist"

const char *vp_cfg_default_entry(const char *path)
{
    static const struct { const char *path, *name; } D[] = {
        { "network.activation", DEF_ACT }, { "network.init", DEF_INIT }, { "network.bias", DEF_BIAS } };
    for (size_t i = 0; i < sizeof D / sizeof D[0]; i++)
        if (strcmp(path, D[i].path) == 0) return D[i].name;
    return NULL;
}

const char *vp_input_name(vp_input_kind k)
{
    return k == VP_INPUT_UNIFORM ? "uniform" : k == VP_INPUT_FASHION_MNIST ? "fashion-mnist" : "normal";
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
        /* open ends: read over all numbers, then refused with the range as it is */
        if ((s = vp_cfg_get_num(c, in, "std", "input", -DBL_MAX, DBL_MAX, 0, &v->in_std, NULL))) return s;
        if (!(v->in_std > 0 && v->in_std <= 1e150))
            return vp_cfg_fail(c, "input.std", "%.10g is out of range; allowed: (0, 1e+150], the inputs' per-entry "
                               "standard deviation (> 0)", v->in_std);
        if ((s = vp_cfg_get_num(c, in, "correlation", "input", -DBL_MAX, DBL_MAX, 0, &v->in_corr, &v->has_corr)))
            return s;
        if (v->has_corr && !(v->in_corr > -1 && v->in_corr < 1))
            return vp_cfg_fail(c, "input.correlation", "%.10g is out of range; allowed: (-1, 1), strictly between -1 "
                               "and 1", v->in_corr);
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
    /* The ratios span the hidden stack's first and last layers (vp_mlp_stack): one unit
     * there measured on one example is one number, its variance 0 and the ratio 0/0 or
     * x/0 (the summary said "nan ... vanishing" beside a theory of 3). A width-1 layer
     * inside the span keeps defined ratios. */
    if (!v->net && v->batch == 1) {
        int first, last;
        vp_mlp_stack(v->L, v->widths, &first, &last);
        int l = v->widths[first] == 1 ? first : v->widths[last] == 1 ? last : 0;
        if (l)
            return vp_cfg_fail(c, "input.batch", "1 with layer %d of width 1, an end of the span the ratios divide: "
                               "its variance over one number is 0, so the ratios are undefined; give input.batch >= 2 "
                               "(or that layer a width >= 2)", l);
    }
    if ((s = vp_cfg_train(c, cJSON_GetObjectItemCaseSensitive(root, "train"), &v->act, v->widths[0], &v->train)))
        return s;
    if (v->net) v->train.hist_bins = 0; /* not tracked for block networks: config.json says what ran, and re-runs */
    /* A batchnorm block at one position per channel standardizes one value per channel at
     * a batch of 1, measured or trained: its output is 0, every ratio through it 0/0
     * (PyTorch refuses it: "Expected more than 1 value per channel when training"). */
    if (v->net && v->net->bn_one && (v->batch == 1 || (v->train.on && v->train.batch == 1))) {
        char jp[600];
        vp_net_json_path(v->net->ls[v->net->bn_one - 1].path, jp, sizeof jp);
        if (v->batch == 1)
            return vp_cfg_fail(c, jp, "batchnorm over one value per channel (input.batch 1 at 1 x 1 positions): its "
                               "output is 0; give input.batch >= 2");
        return vp_cfg_fail(c, "train.batch", "1 gives the batchnorm block %s one value per channel in training (its "
                           "output is 0, its gradient too); give train.batch >= 2", jp);
    }

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

void vp_variant_labels(const vp_variant *v, char *act, char *init, size_t len)
{
    unsigned takes = v->net ? v->net->takes : VP_NET_TAKES_ACTIVATION | VP_NET_TAKES_INIT;
    if (takes & VP_NET_TAKES_ACTIVATION) vp_act_label(&v->act, act, len);
    else snprintf(act, len, "%s", VP_LABEL_PER_LAYER);
    if (takes & VP_NET_TAKES_INIT) vp_init_label(&v->winit, init, len);
    else snprintf(init, len, "%s", VP_LABEL_PER_LAYER);
}
