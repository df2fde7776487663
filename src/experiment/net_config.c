/* net_config: see net_config.h. */
#include "experiment/net_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv.h"
#include "core/mlp.h"
#include "experiment/spec.h"

#define BLOCK_TYPES "dense conv2d maxpool2d avgpool2d flatten layernorm batchnorm rmsnorm residual repeat"
#define NORMS "pre post none"
#define NORM_TYPES "layernorm batchnorm rmsnorm"
#define SCHEMES "none fixup skipinit rezero"
#define MAX_LAYERS 100000
#define MAX_DIM (1 << 20)

/* A path into out (cut at len, which holds any path a config can have). */
static void __attribute__((format(printf, 3, 4))) pathf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

typedef struct {
    vp_cfg_ctx *c;
    const vp_variant *v;  /* the defaults: act, winit, binit */
    vp_layer_spec *ls;
    int n, cap;
    unsigned takes;       /* VP_NET_TAKES_*: the defaults some layer took */
    char *own[3];         /* the first JSON path that sets each of them itself (owned) */
} builder;

/* Note the JSON path p of a block's own activation / init / bias (k = 0, 1, 2), the first one only. */
static vp_status own_key(builder *b, int k, const char *p)
{
    if (!b->own[k] && !(b->own[k] = strdup(p))) return vp_fail(b->c->err, VP_ERR_NOMEM, "out of memory");
    return VP_OK;
}

/* Room for `want` layers (at most MAX_LAYERS: push refuses more). */
static vp_status reserve(builder *b, long want)
{
    if (want > MAX_LAYERS) want = MAX_LAYERS;
    if (want <= b->cap) return VP_OK;
    int cap = b->cap ? b->cap : 16;
    while (cap < want) cap = 2 * cap < MAX_LAYERS ? 2 * cap : MAX_LAYERS;
    vp_layer_spec *ls = realloc(b->ls, (size_t)cap * sizeof *ls);
    if (!ls) return vp_fail(b->c->err, VP_ERR_NOMEM, "out of memory");
    b->ls = ls;
    b->cap = cap;
    return VP_OK;
}

static vp_status push(builder *b, const vp_layer_spec *l, const char *path)
{
    if (b->n >= MAX_LAYERS)
        return vp_cfg_fail(b->c, "network.layers", "more than %d layers after expanding repeat blocks", MAX_LAYERS);
    vp_status s = reserve(b, b->n + 1L);
    if (s) return s;
    b->ls[b->n] = *l;
    if (!(b->ls[b->n].path = strdup(path))) return vp_fail(b->c->err, VP_ERR_NOMEM, "out of memory");
    b->n++;
    return VP_OK;
}

/* activation, init (or delta_orthogonal) and bias of a dense/conv2d block. */
static vp_status weights(builder *b, const cJSON *o, const char *jp, vp_layer_spec *l)
{
    vp_cfg_ctx *c = b->c;
    char p[600];
    vp_status s;
    l->act = b->v->act;
    l->winit = b->v->winit;
    l->binit = b->v->binit;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "activation");
    vp_cfg_join(p, sizeof p, jp, "activation");
    if (a && (s = vp_cfg_entry(c, a, p, &l->act, NULL, 0))) return s;
    if (!a) b->takes |= VP_NET_TAKES_ACTIVATION;
    else if ((s = own_key(b, 0, p))) return s;
    if (vp_act_rowwise(vp_act_get(l->act.kind)))
        return vp_cfg_fail(c, p, "%s acts on whole rows; blocks take elementwise activations (put a dense layer "
                           "with \"linear\" and compare outside)", vp_act_get(l->act.kind)->name);
    const cJSON *wi = cJSON_GetObjectItemCaseSensitive(o, "init");
    vp_cfg_join(p, sizeof p, jp, "init");
    const char *nm = NULL;
    if (wi && (s = vp_cfg_entry_name(c, wi, p, &nm))) return s;
    if (wi && (s = own_key(b, 1, p))) return s;
    if (nm && strcmp(nm, VP_DELTA_ORTHOGONAL) == 0) {
        l->wdraw = VP_WDRAW_DELTA_ORTHOGONAL;
        l->delta_gain = 1.0;
        if (cJSON_IsObject(wi)) {
            if ((s = vp_cfg_check_keys(c, wi, p, "name gain"))) return s;
            if ((s = vp_cfg_get_num(c, wi, "gain", p, 0, 1e6, 0, &l->delta_gain, NULL))) return s;
        }
    } else if (wi) {
        if ((s = vp_cfg_entry(c, wi, p, NULL, &l->winit, 0))) return s;
    } else {
        b->takes |= VP_NET_TAKES_INIT;
    }
    vp_err e2;
    if (l->wdraw == VP_WDRAW_REGISTRY && vp_spec_resolve_gains(&l->winit, &l->act, &e2))
        return vp_cfg_fail(c, p, "%s", e2.msg);
    const vp_init_info *ii = vp_init_get(l->winit.kind);
    if (l->wdraw == VP_WDRAW_REGISTRY && ii->data_dependent)
        return vp_cfg_fail(c, p, "%s rescales a plain stack layer by layer; block networks take the other "
                           "initializers", ii->name);
    const cJSON *bi = cJSON_GetObjectItemCaseSensitive(o, "bias");
    vp_cfg_join(p, sizeof p, jp, "bias");
    if (bi && l->wdraw == VP_WDRAW_REGISTRY && ii->sets_bias)
        return vp_cfg_fail(c, p, "%s sets the biases itself (sigma_b); remove \"bias\"", ii->name);
    if (bi && (s = vp_cfg_entry(c, bi, p, NULL, &l->binit, 1))) return s;
    if (bi && (s = own_key(b, 2, p))) return s;
    if (!bi && !(l->wdraw == VP_WDRAW_REGISTRY && ii->sets_bias)) b->takes |= VP_NET_TAKES_BIAS;
    return VP_OK;
}

static vp_status blocks(builder *b, const cJSON *arr, const char *jp, const char *rp);

/* One block at JSON path jp, its layers named from rp. */
static vp_status block(builder *b, const cJSON *o, const char *jp, const char *rp)
{
    vp_cfg_ctx *c = b->c;
    char p[600], q[600];
    vp_status s;
    if (!cJSON_IsObject(o)) return vp_cfg_fail(c, jp, "expected a block object {\"type\": ...}, got %s", vp_cfg_type_name(o));
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    vp_cfg_join(p, sizeof p, jp, "type");
    if (!cJSON_IsString(ty)) {
        char list[256];
        vp_choices_list(BLOCK_TYPES, list, sizeof list);
        return vp_cfg_fail(c, ty ? p : jp, "needs \"type\": one of %s", list);
    }
    int t = vp_choice_index(BLOCK_TYPES, ty->valuestring);
    if (t < 0) {
        char list[256], dym[160];
        vp_choices_list(BLOCK_TYPES, list, sizeof list);
        vp_did_you_mean(ty->valuestring, BLOCK_TYPES, dym, sizeof dym);
        return vp_cfg_fail(c, p, "unknown block type \"%s\"%s; allowed: %s", ty->valuestring, dym, list);
    }
    const char *tname = ty->valuestring;
    if (strcmp(tname, "repeat") == 0) {
        if ((s = vp_cfg_check_keys(c, o, jp, "type count layers"))) return s;
        int count = 1, has = 0;
        if ((s = vp_cfg_get_int(c, o, "count", jp, 1, MAX_LAYERS, &count, &has))) return s;
        if (!has) return vp_cfg_fail(c, jp, "repeat needs \"count\" (how many times) and \"layers\"");
        vp_cfg_join(p, sizeof p, jp, "layers");
        pathf(q, sizeof q, "%s[0].layers", rp);
        int first = b->n;
        if ((s = blocks(b, cJSON_GetObjectItemCaseSensitive(o, "layers"), p, q))) return s;
        /* Repetitions 1 .. count-1 are the layers of repetition 0 again: parsing the same
         * blocks gives the same layers and the same messages (their JSON paths have no
         * repetition index), so they are copied, with the repetition index of their row
         * path and a residual's skip index moved on (parsing each again took seconds for
         * a count of 100000). */
        int m = b->n - first;
        size_t q0 = strlen(q); /* the row paths of repetition 0 start with q */
        if ((s = reserve(b, b->n + (long)m * (count - 1)))) return s;
        size_t head = strlen(rp) + 1; /* q holds rp "[" already: rp "[" r "].layers" */
        if (head > sizeof q - 1) head = sizeof q - 1;
        for (int r = 1; r < count; r++) {
            snprintf(q + head, sizeof q - head, "%d].layers", r);
            size_t ql = strlen(q);
            for (int i = 0; i < m; i++) {
                vp_layer_spec l = b->ls[first + i];
                char path[600]; /* q and the rest of the path, cut as pathf cuts */
                size_t rest = strlen(l.path + q0);
                if (ql + rest >= sizeof path) rest = sizeof path - 1 - ql;
                memcpy(path, q, ql);
                memcpy(path + ql, l.path + q0, rest);
                path[ql + rest] = '\0';
                if (l.kind == VP_LAYER_RESIDUAL) l.skip += r * m;
                if ((s = push(b, &l, path))) return s;
            }
        }
        return VP_OK;
    }
    if (strcmp(tname, "residual") == 0) {
        if ((s = vp_cfg_check_keys(c, o, jp, "type branch alpha norm norm_type scheme"))) return s;
        int norm = 2, nt = 0, scheme = 0, has_alpha = 0;
        vp_layer_spec r = vp_layer_plain(VP_LAYER_RESIDUAL);
        if ((s = vp_cfg_get_num(c, o, "alpha", jp, -1e6, 1e6, 0, &r.alpha, &has_alpha))) return s;
        if ((s = vp_cfg_get_choice(c, o, "norm", jp, NORMS, &norm))) return s;
        if ((s = vp_cfg_get_choice(c, o, "norm_type", jp, NORM_TYPES, &nt))) return s;
        if ((s = vp_cfg_get_choice(c, o, "scheme", jp, SCHEMES, &scheme))) return s;
        vp_cfg_join(p, sizeof p, jp, "alpha");
        if ((scheme == 2 || scheme == 3) && has_alpha && r.alpha != 0)
            return vp_cfg_fail(c, p, "%s starts the branch scale at 0; remove \"alpha\"", scheme == 2 ? "skipinit" : "rezero");
        if (scheme == 2 || scheme == 3) r.alpha = 0;
        r.fixup = scheme == 1;
        r.alpha_param = scheme != 0; /* SkipInit, ReZero: alpha from 0; Fixup: its multiplier (from alpha) */
        vp_layer_kind nk = nt == 0 ? VP_LAYER_LAYERNORM : nt == 1 ? VP_LAYER_BATCHNORM : VP_LAYER_RMSNORM;
        r.skip = b->n - 1;
        pathf(q, sizeof q, "%s.norm", rp);
        vp_layer_spec nl = vp_layer_plain(nk);
        if (norm == 0 && (s = push(b, &nl, q))) return s;
        int first = b->n;
        vp_cfg_join(p, sizeof p, jp, "branch");
        char rq[600];
        pathf(rq, sizeof rq, "%s.branch", rp);
        if ((s = blocks(b, cJSON_GetObjectItemCaseSensitive(o, "branch"), p, rq))) return s;
        if (b->n == first) return vp_cfg_fail(c, p, "an empty branch; give at least one block");
        if ((s = push(b, &r, rp))) return s;
        if (norm == 1 && (s = push(b, &nl, q))) return s;
        return VP_OK;
    }
    vp_layer_spec l = vp_layer_plain(vp_layer_kind_find(tname));
    switch (l.kind) {
    case VP_LAYER_DENSE:
        if ((s = vp_cfg_check_keys(c, o, jp, "type width activation init bias"))) return s;
        if ((s = vp_cfg_get_int(c, o, "width", jp, 1, MAX_DIM, &l.out, NULL))) return s;
        if (!l.out) return vp_cfg_fail(c, jp, "dense needs \"width\" (its number of outputs)");
        if ((s = weights(b, o, jp, &l))) return s;
        break;
    case VP_LAYER_CONV2D:
        if ((s = vp_cfg_check_keys(c, o, jp, "type out_channels kernel stride padding activation init bias"))) return s;
        if ((s = vp_cfg_get_int(c, o, "out_channels", jp, 1, MAX_DIM, &l.out, NULL))) return s;
        if ((s = vp_cfg_get_int(c, o, "kernel", jp, 1, 4096, &l.kernel, NULL))) return s;
        if ((s = vp_cfg_get_int(c, o, "stride", jp, 1, 4096, &l.stride, NULL))) return s;
        if ((s = vp_cfg_get_int(c, o, "padding", jp, 0, 4096, &l.padding, NULL))) return s;
        if (!l.out || !l.kernel) return vp_cfg_fail(c, jp, "conv2d needs \"out_channels\" and \"kernel\"");
        if ((s = weights(b, o, jp, &l))) return s;
        vp_cfg_join(p, sizeof p, jp, "init");
        if (l.wdraw == VP_WDRAW_REGISTRY && !vp_conv_init_ok(&l.winit, l.kernel))
            return vp_cfg_fail(c, p, "%s draws 2-D weights only (PyTorch eye_/sparse_); for a %dx%d kernel use e.g. "
                               "delta_orthogonal or orthogonal", vp_init_get(l.winit.kind)->name, l.kernel, l.kernel);
        break;
    case VP_LAYER_MAXPOOL2D:
    case VP_LAYER_AVGPOOL2D:
        if ((s = vp_cfg_check_keys(c, o, jp, "type size stride"))) return s;
        if ((s = vp_cfg_get_int(c, o, "size", jp, 1, 4096, &l.kernel, NULL))) return s;
        if (!l.kernel) return vp_cfg_fail(c, jp, "%s needs \"size\" (the window is size x size)", tname);
        l.stride = l.kernel;
        if ((s = vp_cfg_get_int(c, o, "stride", jp, 1, 4096, &l.stride, NULL))) return s;
        break;
    case VP_LAYER_FLATTEN:
    case VP_LAYER_LAYERNORM:
    case VP_LAYER_BATCHNORM:
    case VP_LAYER_RMSNORM:
        if ((s = vp_cfg_check_keys(c, o, jp, "type"))) return s;
        break;
    case VP_LAYER_RESIDUAL:
    case VP_LAYER_KIND_COUNT:
        return vp_cfg_fail(c, p, "internal: block type");
    }
    return push(b, &l, rp);
}

static vp_status blocks(builder *b, const cJSON *arr, const char *jp, const char *rp)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return vp_cfg_fail(b->c, jp, "expected a non-empty array of blocks [{\"type\": ...}, ...], got %s",
                           arr ? vp_cfg_type_name(arr) : "nothing");
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        char p[600], q[600];
        pathf(p, sizeof p, "%s[%d]", jp, i);
        pathf(q, sizeof q, "%s[%d]", rp, i);
        vp_status s = block(b, it, p, q);
        if (s) return s;
    }
    return VP_OK;
}

void vp_net_spec_free(vp_net_spec *s)
{
    if (!s) return;
    for (int i = 0; s->ls && i < s->n; i++) free(s->ls[i].path);
    free(s->ls);
    free(s->layers_json);
    for (int k = 0; k < 3; k++) free(s->own[k]);
    free(s);
}

void vp_net_spec_stack(const vp_net_spec *ns, int *first, int *last)
{
    int n = ns->n, k = 0;
    *first = 1;
    *last = n;
    vp_shape *sh = malloc((size_t)n * sizeof *sh);
    int *main = malloc((size_t)n * sizeof *main);    /* the main stream's layers, in order (0-based) */
    int *id = malloc(((size_t)n + 1) * sizeof *id);  /* id[1..k]: equal for a run of one shape */
    unsigned char *inner = calloc((size_t)n + 1, 1); /* inside some residual branch (or its pre-norm) */
    int bad;
    vp_err ignore; /* the config checked the shapes */
    if (sh && main && id && inner && !vp_net_shapes(ns->ls, n, ns->in, sh, &bad, &ignore)) {
        for (int i = 0; i < n; i++)
            if (ns->ls[i].kind == VP_LAYER_RESIDUAL) {
                for (int j = ns->ls[i].skip + 1; j < i; j++) inner[j] = 1;
                /* a post-norm block's output is its norm's (the next layer, path P.norm): the
                   add x + f(x) before it is inside the block, as its pre-norm would be */
                size_t pl = strlen(ns->ls[i].path);
                if (i + 1 < n && vp_layer_is_norm(ns->ls[i + 1].kind) &&
                    strncmp(ns->ls[i + 1].path, ns->ls[i].path, pl) == 0 && strcmp(ns->ls[i + 1].path + pl, ".norm") == 0)
                    inner[i] = 1;
            }
        for (int i = 0; i < n; i++)
            if (!inner[i]) main[k++] = i;
        id[0] = 0;
        for (int t = 1; t <= k; t++) {
            const vp_shape *a = &sh[main[t - 1]], *p = t > 1 ? &sh[main[t - 2]] : NULL;
            /* a flatten keeps the size but not the layout: it joins no run */
            int flat = ns->ls[main[t - 1]].kind == VP_LAYER_FLATTEN || (p && ns->ls[main[t - 2]].kind == VP_LAYER_FLATTEN);
            int same = p && !flat && p->c == a->c && p->h == a->h && p->w == a->w && p->flat == a->flat;
            id[t] = same ? id[t - 1] : t;
        }
        int f, l;
        vp_mlp_stack(k, id, &f, &l);
        *first = main[f - 1] + 1;
        *last = main[l - 1] + 1;
    }
    free(sh);
    free(main);
    free(id);
    free(inner);
}

/* The JSON path of a layer's block: its row path without the repetition indices
 * ("network.layers[1][3].layers[0]" -> "network.layers[1].layers[0]") and without a
 * residual's ".norm". */
void vp_net_json_path(const char *rp, char *out, size_t len)
{
    size_t o = 0;
    for (const char *s = rp; *s && o + 1 < len; s++) {
        if (s[0] == ']' && s[1] == '[') { /* skip "[r]" after "[i]" */
            out[o++] = ']';
            s = strchr(s + 1, ']');
            if (!s) break;
            continue;
        }
        out[o++] = *s;
    }
    out[o] = '\0';
    char *nm = strstr(out, ".norm");
    if (nm && nm[5] == '\0') *nm = '\0';
}

vp_status vp_cfg_net_clash(vp_cfg_ctx *c, const cJSON *net, const cJSON *lay)
{
    const char *clash[] = { "depth", "width", "widths" };
    for (int i = 0; lay && i < 3; i++)
        if (cJSON_GetObjectItemCaseSensitive(net, clash[i])) {
            char p[64];
            snprintf(p, sizeof p, "network.%s", clash[i]);
            return vp_cfg_fail(c, p, "network.layers describes the whole network; remove \"%s\" (the widths are "
                               "the blocks')", clash[i]);
        }
    if (!lay && cJSON_GetObjectItemCaseSensitive(net, "input_shape"))
        return vp_cfg_fail(c, "network.input_shape", "only used with network.layers (a plain stack takes input_dim)");
    return VP_OK;
}

/* What the runner does not do for block networks yet. */
static vp_status unsupported(vp_cfg_ctx *c, const cJSON *root)
{
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "train");
    const cJSON *ri = cJSON_IsObject(tr) ? cJSON_GetObjectItemCaseSensitive(tr, "readout_init") : NULL;
    if (ri && !cJSON_IsNull(ri)) /* null: the default, as config.json writes it */
        return vp_cfg_fail(c, "train.readout_init", "a block network's readout is its last layer (network.layers); "
                           "give that layer's \"init\" instead");
    const cJSON *hb = cJSON_IsObject(tr) ? cJSON_GetObjectItemCaseSensitive(tr, "hist_bins") : NULL;
    if (cJSON_IsNumber(hb) && hb->valuedouble != 0)
        return vp_cfg_fail(c, "train.hist_bins", "activation histograms are not tracked for block networks "
                           "(network.layers) yet; remove it or give 0");
    const cJSON *me = cJSON_GetObjectItemCaseSensitive(root, "measure");
    const char *keys[] = { "histograms", "jacobian", "lengths" };
    for (int i = 0; cJSON_IsObject(me) && i < 3; i++) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(me, keys[i]);
        if (k && !cJSON_IsNull(k) && !cJSON_IsFalse(k)) {
            char p[64];
            snprintf(p, sizeof p, "measure.%s", keys[i]);
            return vp_cfg_fail(c, p, "not measured for block networks (network.layers) yet; remove it");
        }
    }
    return VP_OK;
}

vp_status vp_cfg_net_layers(vp_cfg_ctx *c, const cJSON *root, const cJSON *net, vp_variant *v)
{
    vp_status s = unsupported(c, root);
    if (s) return s;
    builder b = { .c = c, .v = v };
    vp_net_spec *ns = calloc(1, sizeof *ns);
    if (!ns) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    const cJSON *shp = cJSON_GetObjectItemCaseSensitive(net, "input_shape");
    int dim = 0, has_dim = 0;
    if ((s = vp_cfg_get_int(c, net, "input_dim", "network", 1, MAX_DIM, &dim, &has_dim))) goto fail;
    if (shp && has_dim) {
        s = vp_cfg_fail(c, "network.input_dim", "give network.input_shape [C, H, W] or network.input_dim, not both");
        goto fail;
    }
    if (shp) {
        int d[3] = { 0, 0, 0 }, k = 0;
        if (!cJSON_IsArray(shp) || cJSON_GetArraySize(shp) != 3) {
            s = vp_cfg_fail(c, "network.input_shape", "expected [channels, height, width], got %s", vp_cfg_type_name(shp));
            goto fail;
        }
        for (const cJSON *it = shp->child; it; it = it->next, k++)
            if (!cJSON_IsNumber(it) || it->valuedouble != (double)(int)it->valuedouble || it->valuedouble < 1 ||
                it->valuedouble > MAX_DIM) {
                char p[64];
                snprintf(p, sizeof p, "network.input_shape[%d]", k);
                s = vp_cfg_fail(c, p, "expected an integer from 1 to %d", MAX_DIM);
                goto fail;
            } else
                d[k] = (int)it->valuedouble;
        ns->in = (vp_shape){ d[0], d[1], d[2], 0 };
        ns->has_input_shape = 1;
    } else if (has_dim) {
        ns->in = (vp_shape){ dim, 1, 1, 1 };
    } else if (v->input == VP_INPUT_FASHION_MNIST) {
        ns->in = (vp_shape){ 1, 28, 28, 0 };
        ns->has_input_shape = 1;
    } else {
        s = vp_cfg_fail(c, "network", "network.layers needs the input: \"input_shape\": [C, H, W] or \"input_dim\": n");
        goto fail;
    }
    if (v->input == VP_INPUT_FASHION_MNIST && vp_shape_size(ns->in) != VP_FASHION_DIM) {
        s = vp_cfg_fail(c, shp ? "network.input_shape" : "network.input_dim",
                        "fashion-mnist images have %d pixels ([1, 28, 28]), the input here has %zu", VP_FASHION_DIM,
                        vp_shape_size(ns->in));
        goto fail;
    }
    if ((s = blocks(&b, cJSON_GetObjectItemCaseSensitive(net, "layers"), "network.layers", "network.layers"))) goto fail;
    ns->ls = b.ls;
    ns->n = b.n;
    ns->takes = b.takes;
    for (int k = 0; k < 3; k++) {
        ns->own[k] = b.own[k];
        b.own[k] = NULL;
    }
    b.ls = NULL;
    b.n = 0;
    int bad = -1;
    vp_err e2;
    char jp[600];
    if (vp_net_fixup(ns->ls, ns->n, &bad, &e2)) {
        vp_net_json_path(ns->ls[bad].path, jp, sizeof jp);
        s = vp_cfg_fail(c, jp, "%s", e2.msg);
        goto fail;
    }
    vp_shape *sh = malloc((size_t)ns->n * sizeof *sh);
    if (!sh) { s = vp_fail(c->err, VP_ERR_NOMEM, "out of memory"); goto fail; }
    if (vp_net_shapes(ns->ls, ns->n, ns->in, sh, &bad, &e2)) {
        free(sh);
        vp_net_json_path(ns->ls[bad].path, jp, sizeof jp);
        s = vp_cfg_fail(c, jp, "%s", e2.msg);
        goto fail;
    }
    for (int i = 0; i < ns->n; i++) { /* what the draw would refuse, found before anything runs */
        int cin = i ? sh[i - 1].c : ns->in.c;
        const vp_shape *pin = i ? &sh[i - 1] : &ns->in;
        if (ns->ls[i].kind == VP_LAYER_BATCHNORM && pin->h * pin->w == 1 && !ns->bn_one) ns->bn_one = i + 1;
        if (ns->ls[i].kind == VP_LAYER_CONV2D && ns->ls[i].wdraw == VP_WDRAW_DELTA_ORTHOGONAL && cin > ns->ls[i].out) {
            vp_net_json_path(ns->ls[i].path, jp, sizeof jp);
            s = vp_cfg_fail(c, jp, "delta_orthogonal needs in_channels <= out_channels (an orthogonal %d x %d centre "
                            "tap keeps every input direction); got %d > %d", ns->ls[i].out, cin, cin, ns->ls[i].out);
            free(sh);
            goto fail;
        }
    }
    v->L = ns->n;
    free(v->widths);
    v->widths = malloc((size_t)(ns->n + 1) * sizeof *v->widths);
    if (!v->widths) { free(sh); s = vp_fail(c->err, VP_ERR_NOMEM, "out of memory"); goto fail; }
    v->widths[0] = (int)vp_shape_size(ns->in);
    for (int i = 0; i < ns->n; i++) v->widths[i + 1] = (int)vp_shape_size(sh[i]);
    free(sh);
    ns->layers_json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(net, "layers"));
    if (!ns->layers_json) { s = vp_fail(c->err, VP_ERR_NOMEM, "out of memory"); goto fail; }
    v->net = ns;
    return VP_OK;
fail:
    for (int i = 0; i < b.n; i++) free(b.ls[i].path);
    free(b.ls);
    for (int k = 0; k < 3; k++) free(b.own[k]);
    vp_net_spec_free(ns);
    return s;
}
