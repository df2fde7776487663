/* sweep: see sweep.h. */
#include "experiment/sweep.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/param.h"
#include "experiment/net_config.h"
#include "experiment/train_config.h"
#include "experiment/variant.h"
#include "results/results.h"

#define SWEEPABLE "precision theory network.depth network.width network.input_dim network.widths " \
                  "network.activation network.init network.bias input.distribution input.batch " \
                  "measure.jacobian measure.histograms"

/* ---- keys and labels ---- */

/* "name[i][j]" -> name and up to 8 indices; 0 if malformed. */
static int parse_indexed(const char *part, char *name, size_t len, int *idx, int *n)
{
    const char *b = strchr(part, '[');
    snprintf(name, len, "%.*s", (int)(b - part), part);
    *n = 0;
    while (*b == '[' && *n < 8) {
        char *end;
        long v = strtol(b + 1, &end, 10);
        if (end == b + 1 || *end != ']' || v < 0 || v > 1000000) return 0;
        idx[(*n)++] = (int)v;
        b = end + 1;
    }
    return *b == '\0' && *n > 0;
}

/* The element that "name[i]..." names in node, or NULL after a config error. */
static cJSON *sweep_index(vp_cfg_ctx *c, cJSON *node, const char *part, const char *key)
{
    char name[256];
    int idx[8], n;
    if (!parse_indexed(part, name, sizeof name, idx, &n)) {
        vp_cfg_fail(c, "sweep", "\"%s\": \"%s\" is not name[index]", key, part);
        return NULL;
    }
    cJSON *x = cJSON_GetObjectItemCaseSensitive(node, name);
    for (int k = 0; k < n; k++) {
        if (!cJSON_IsArray(x) || idx[k] >= cJSON_GetArraySize(x)) {
            vp_cfg_fail(c, "sweep", "\"%s\": the config has no element %d at \"%s\"", key, idx[k], part);
            return NULL;
        }
        x = cJSON_GetArrayItem(x, idx[k]);
    }
    return x;
}

/* Replace the element "name[i]..." of node by dup (owned). */
static vp_status sweep_replace(vp_cfg_ctx *c, cJSON *node, const char *part, cJSON *dup)
{
    char name[256];
    int idx[8], n;
    parse_indexed(part, name, sizeof name, idx, &n);
    cJSON *x = cJSON_GetObjectItemCaseSensitive(node, name);
    for (int k = 0; k + 1 < n; k++) x = cJSON_GetArrayItem(x, idx[k]);
    if (!cJSON_ReplaceItemInArray(x, idx[n - 1], dup)) {
        cJSON_Delete(dup);
        return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    }
    return VP_OK;
}

/* Set the dotted `key` of root to a copy of `value`. A string met on the way
 * (e.g. "init": "orthogonal" with key network.init.gain) becomes {"name": string}; an
 * absent registry entry with a default (network.init.gain without network.init)
 * becomes {"name": its default}, so the value is checked against the entry the variant
 * really uses ("he_normal has no parameter gain"). */
static vp_status set_dotted(vp_cfg_ctx *c, cJSON *root, const char *key, const cJSON *value)
{
    char buf[512], path[512] = "";
    snprintf(buf, sizeof buf, "%s", key);
    cJSON *node = root;
    char *save = NULL, *part = strtok_r(buf, ".", &save);
    while (part) {
        size_t pl = strlen(path);
        snprintf(path + pl, sizeof path - pl, "%s%s", pl ? "." : "", part); /* the JSON path down to part */
        char *next = strtok_r(NULL, ".", &save);
        cJSON *child;
        if (strchr(part, '[')) { /* into a block list: "layers[1]" (network.layers[1].count) */
            if ((child = sweep_index(c, node, part, key)) == NULL) return VP_ERR_CONFIG;
            if (!next) {
                cJSON *dup = cJSON_Duplicate(value, 1);
                if (!dup) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
                return sweep_replace(c, node, part, dup);
            }
            node = child;
            part = next;
            continue;
        }
        child = cJSON_GetObjectItemCaseSensitive(node, part);
        if (!next) {
            cJSON *dup = cJSON_Duplicate(value, 1);
            if (!dup) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
            if (child) cJSON_ReplaceItemInObjectCaseSensitive(node, part, dup);
            else cJSON_AddItemToObject(node, part, dup);
            return VP_OK;
        }
        if (!child) {
            const char *def = vp_cfg_default_entry(path);
            child = cJSON_AddObjectToObject(node, part);
            if (!child || (def && !cJSON_AddStringToObject(child, "name", def)))
                return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
        } else if (cJSON_IsString(child)) {
            cJSON *obj = cJSON_CreateObject();
            if (!obj || !cJSON_AddStringToObject(obj, "name", child->valuestring)) {
                cJSON_Delete(obj);
                return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
            }
            cJSON_ReplaceItemInObjectCaseSensitive(node, part, obj);
            child = obj;
        } else if (!cJSON_IsObject(child)) {
            return vp_cfg_fail(c, "sweep", "\"%s\": the config has %s at \"%s\", so it cannot be swept into",
                           key, vp_cfg_type_name(child), part);
        }
        node = child;
        part = next;
    }
    return VP_OK;
}

static vp_status check_sweep_key(vp_cfg_ctx *c, const cJSON *root, const char *key)
{
    static const char *const prefixes[] = { "network.activation.", "network.init.", "network.bias." };
    if (vp_choice_index(SWEEPABLE, key) >= 0) return VP_OK;
    /* Any key inside "train" (checked when the variant is parsed), of a config that trains. */
    if (strncmp(key, "train.", 6) == 0 && key[6] && key[strlen(key) - 1] != '.' && !strstr(key, "..")) {
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "train"))) return VP_OK;
        char p[600];
        snprintf(p, sizeof p, "sweep[\"%s\"]", key);
        return vp_cfg_fail(c, p, "the config has no \"train\" object to sweep into; add \"train\": {...} (every "
                           "variant trains, or none)");
    }
    /* Any key inside network.layers (e.g. network.layers[1].count): checked when set and parsed. */
    if (strncmp(key, "network.layers[", 15) == 0 && key[strlen(key) - 1] != '.' && !strstr(key, "..")) {
        if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "network"), "layers")))
            return VP_OK;
        char p[600];
        snprintf(p, sizeof p, "sweep[\"%s\"]", key);
        return vp_cfg_fail(c, p, "the config has no network.layers to sweep into");
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0 && strlen(key) > strlen(prefixes[i]) &&
            !strchr(key + strlen(prefixes[i]), '.'))
            return VP_OK; /* a parameter: checked when the variant is parsed */
    char list[1024], dym[160];
    vp_choices_list(SWEEPABLE, list, sizeof list);
    vp_did_you_mean(key, SWEEPABLE, dym, sizeof dym);
    char p[600];
    snprintf(p, sizeof p, "sweep[\"%s\"]", key);
    return vp_cfg_fail(c, p, "not a sweepable key%s; sweepable: %s, or network.activation.<param>, "
                   "network.init.<param>, network.bias.<param>, any key inside network.layers (e.g. "
                   "network.layers[0].count), or any train.<key> (e.g. train.optimizer.lr)", dym, list);
}

/* Label of variant v's value for swept key. */
static char *sweep_label(vp_cfg_ctx *c, const char *key, const cJSON *value, const vp_variant *v, int child_swept)
{
    char buf[512];
    /* With a key inside the entry swept too (network.init and network.init.gain), the
     * variant's entry holds that key's value as well: the label is of the swept value
     * alone, so that the two sweep columns stay a grid (xavier_normal x 0.8, not
     * xavier_normal(gain=0.8) x 0.8). */
    vp_act act;
    vp_init in;
    vp_err ignore;
    vp_err *keep = c->err;
    int is_act = strcmp(key, VP_SWEEP_ACTIVATION) == 0, is_bias = strcmp(key, "network.bias") == 0,
        entry = is_act || is_bias || strcmp(key, VP_SWEEP_INIT) == 0;
    c->err = &ignore;
    int alone = child_swept && entry && !vp_cfg_entry(c, value, key, is_act ? &act : NULL, is_act ? NULL : &in, is_bias);
    c->err = keep;
    if (entry && child_swept && !alone) { /* complete only with the key inside it: the value as listed, */
        size_t u = 0;                        /* name(k=v,...) as labels read */
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(value, "name");
        if (cJSON_IsString(value)) u = (size_t)snprintf(buf, sizeof buf, "%s", value->valuestring);
        else if (cJSON_IsString(nm)) u = (size_t)snprintf(buf, sizeof buf, "%s(", nm->valuestring);
        for (const cJSON *m = cJSON_IsString(nm) ? value->child : NULL; m && u < sizeof buf; m = m->next) {
            if (m == nm) continue;
            char num[40], *t = cJSON_IsNumber(m) ? NULL : cJSON_PrintUnformatted(m);
            if (cJSON_IsNumber(m)) vp_num_shortest(m->valuedouble, num, sizeof num);
            u += (size_t)snprintf(buf + u, sizeof buf - u, "%s%s=%s", buf[u - 1] == '(' ? "" : ",", m->string,
                                  cJSON_IsNumber(m) ? num : cJSON_IsString(m) ? m->valuestring : t ? t : "?");
            cJSON_free(t);
        }
        if (cJSON_IsString(nm) && u < sizeof buf && buf[u - 1] == '(') buf[u - 1] = '\0'; /* the name alone */
        else if (cJSON_IsString(nm) && u < sizeof buf) snprintf(buf + u, sizeof buf - u, ")");
        if (!cJSON_IsString(value) && !cJSON_IsString(nm)) {
            char *t = cJSON_PrintUnformatted(value);
            snprintf(buf, sizeof buf, "%s", t ? t : "?");
            cJSON_free(t);
        }
    } else if (is_act) vp_act_label(alone ? &act : &v->act, buf, sizeof buf);
    else if (is_bias) vp_init_label(alone ? &in : &v->binit, buf, sizeof buf);
    else if (entry) vp_init_label(alone ? &in : &v->winit, buf, sizeof buf);
    else if (cJSON_IsNumber(value)) vp_num_shortest(value->valuedouble, buf, sizeof buf); /* 1 and 1 + 2^-52 differ */
    else if (cJSON_IsString(value)) snprintf(buf, sizeof buf, "%s", value->valuestring);
    else if (cJSON_IsBool(value)) snprintf(buf, sizeof buf, "%s", cJSON_IsTrue(value) ? "true" : "false");
    else {
        char *s = cJSON_PrintUnformatted(value);
        snprintf(buf, sizeof buf, "%s", s ? s : "?");
        free(s);
    }
    return strdup(buf);
}

/* ---- the resolved config ----
 * config.json is the config as varprop read it -- every default filled in, every name
 * in its canonical spelling, "auto" gains kept as "auto" (they follow a swept
 * activation), each variant's swept labels -- for readers, plus the version that
 * wrote it and the config's own text ("source"), from which it runs again
 * (config.c: the resolved keys alone are the base and the sweep, and a sweep that
 * changes an entry's name, train.optimizer.name say, would re-run with the base
 * entry's resolved parameters). */

/* The keys of one variant (precision .. memory) into the object r. */
static void variant_into(cJSON *r, const vp_experiment *e, const vp_variant *base)
{
    cJSON_AddStringToObject(r, "precision", base->prec == VP_F64 ? "float64" : "float32");
    cJSON_AddBoolToObject(r, "theory", base->theory);
    cJSON *net = cJSON_AddObjectToObject(r, "network");
    if (base->net) { /* a block network: its input and blocks as given (net_config.h) */
        const vp_shape *in = &base->net->in;
        if (in->flat) cJSON_AddNumberToObject(net, "input_dim", base->widths[0]);
        else cJSON_AddItemToObject(net, "input_shape", cJSON_CreateIntArray((const int[]){ in->c, in->h, in->w }, 3));
        cJSON_AddItemToObject(net, "layers", cJSON_Parse(base->net->layers_json));
    } else {
        cJSON_AddNumberToObject(net, "depth", base->L);
        int uniform = 1;
        for (int l = 2; l <= base->L; l++) uniform &= base->widths[l] == base->widths[1];
        if (uniform) cJSON_AddNumberToObject(net, "width", base->widths[1]);
        cJSON_AddNumberToObject(net, "input_dim", base->widths[0]);
        cJSON_AddItemToObject(net, "widths", cJSON_CreateIntArray(base->widths, base->L + 1));
    }
    const vp_act_info *ai = vp_act_get(base->act.kind);
    cJSON_AddItemToObject(net, "activation", vp_cfg_entry_json(ai->name, ai->params, ai->nparams, base->act.p, 0, 0));
    const vp_init_info *wi = vp_init_get(base->winit.kind);
    cJSON_AddItemToObject(net, "init", vp_cfg_entry_json(wi->name, wi->params, wi->nparams, base->winit.p, base->winit.auto_mask,
                                                  base->winit.critical_mask));
    if (wi->sets_bias) cJSON_AddNullToObject(net, "bias");
    else {
        const vp_init_info *bi = vp_init_get(base->binit.kind);
        cJSON_AddItemToObject(net, "bias", vp_cfg_entry_json(bi->name, bi->params, bi->nparams, base->binit.p, 0, 0));
    }
    cJSON *in = cJSON_AddObjectToObject(r, "input");
    cJSON_AddStringToObject(in, "distribution", vp_input_name(base->input));
    cJSON_AddNumberToObject(in, "batch", base->batch);
    /* written when given (a config without them resolves as before they existed) */
    if (base->in_std != 1.0) cJSON_AddNumberToObject(in, "std", base->in_std);
    if (base->has_corr) cJSON_AddNumberToObject(in, "correlation", base->in_corr);
    if (base->input == VP_INPUT_FASHION_MNIST) cJSON_AddStringToObject(in, "path", e->data_dir);
    cJSON *me = cJSON_AddObjectToObject(r, "measure");
    if (base->hist_bins) {
        cJSON *h = cJSON_AddObjectToObject(me, "histograms");
        cJSON *ls = cJSON_AddArrayToObject(h, "layers");
        for (int l = 0; l < base->L; l++)
            if (base->hist_layers[l]) cJSON_AddItemToArray(ls, cJSON_CreateNumber(l + 1));
        cJSON_AddNumberToObject(h, "bins", base->hist_bins);
    } else {
        cJSON_AddNullToObject(me, "histograms");
    }
    cJSON_AddBoolToObject(me, "jacobian", base->jacobian);
    if (base->lengths) cJSON_AddBoolToObject(me, "lengths", 1); /* written when asked for */
    if (base->train.on) cJSON_AddItemToObject(r, "train", vp_train_cfg_json(&base->train)); /* written when given */
    if (base->mem.recompute) cJSON_AddStringToObject(r, "memory", "recompute");   /* written when given */
    if (base->mem.every) cJSON_AddNumberToObject(r, "memory_checkpoint_every", base->mem.every);
}

char *vp_variant_json(const vp_experiment *e, const vp_variant *v)
{
    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    variant_into(r, e, v);
    char *s = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return s;
}

static char *resolved_json(const vp_experiment *e, const vp_variant *base, const cJSON *sweep)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "varprop_version", VP_VERSION);
    cJSON_AddStringToObject(r, "name", e->name);
    cJSON_AddStringToObject(r, "description", e->description);
    cJSON *seeds = cJSON_AddArrayToObject(r, "seeds");
    for (int i = 0; i < e->nseeds; i++) { /* integers as integers: cJSON would print 2^53 as 9.007199254740992e+15 */
        char digits[24];
        snprintf(digits, sizeof digits, "%llu", (unsigned long long)e->seeds[i]);
        cJSON_AddItemToArray(seeds, cJSON_CreateRaw(digits));
    }
    variant_into(r, e, base);
    cJSON_AddItemToObject(r, "sweep", sweep ? cJSON_Duplicate(sweep, 1) : cJSON_CreateObject());
    cJSON *vs = cJSON_AddArrayToObject(r, "variants");
    for (int v = 0; v < e->nvariants; v++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "variant", v);
        for (int k = 0; k < e->nsweep; k++)
            cJSON_AddStringToObject(o, e->sweep_keys[k], e->sweep_values[(size_t)v * (size_t)e->nsweep + (size_t)k]);
        cJSON_AddItemToArray(vs, o);
    }
    cJSON_AddStringToObject(r, "source", e->source);
    char *s = cJSON_Print(r);
    cJSON_Delete(r);
    return s;
}

/* ---- expansion ---- */

/* The swept keys of the (object) sweep: checked, copied into e->sweep_keys, and each
 * key's values listed in vals[k][0 .. sizes[k]) (so that variant v finds its value in
 * constant time); *nvar gets the number of variants, within VP_MAX_VARIANTS. */
/* The value index of each swept key for variant v: variants are the cartesian product in
 * row-major order, so v is a mixed-radix number, the last key fastest. */
static void value_indices(long long v, int nsweep, const int *sizes, int *idx)
{
    for (int k = nsweep - 1; k >= 0; k--) {
        idx[k] = (int)(v % sizes[k]);
        v /= sizes[k];
    }
}

/* ---- a value listed twice ----
 * Two variants whose swept values have the same labels are one variant run twice
 * (labels tell every value apart: provenance/sweep_labels_tell_every_value_apart), so
 * the labels, not the JSON text, decide: 1 and 1.0, "orthogonal" and {"name":
 * "orthogonal"}, or an object with its members in another order are the same value. */

typedef struct { uint64_t h; long long v; } hashed;

static int cmp_hashed(const void *a, const void *b)
{
    const hashed *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

/* Variants v and w have the same label for every swept key. */
static int same_labels(const vp_experiment *e, long long v, long long w)
{
    for (int k = 0; k < e->nsweep; k++)
        if (strcmp(e->sweep_values[v * e->nsweep + k], e->sweep_values[w * e->nsweep + k]) != 0) return 0;
    return 1;
}

/* Refuse a sweep with two identical variants, naming the value listed twice; n log n
 * in the variants. */
static vp_status no_identical_variants(vp_cfg_ctx *c, const vp_experiment *e, const int *sizes)
{
    long long n = e->nvariants;
    hashed *hv = malloc((size_t)n * sizeof *hv);
    if (!hv) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    for (long long v = 0; v < n; v++) {
        uint64_t h = VP_FNV_OFFSET; /* over the labels, 0x1f between them */
        for (int k = 0; k < e->nsweep; k++) {
            const char *lab = e->sweep_values[v * e->nsweep + k];
            h = vp_fnv_bytes(h, lab, strlen(lab));
            h = vp_fnv_bytes(h, "\x1f", 1);
        }
        hv[v] = (hashed){ h, v };
    }
    qsort(hv, (size_t)n, sizeof *hv, cmp_hashed);
    /* The first identical pair in variant order: b the least variant identical to an
     * earlier one, a the first of those. Within a group of equal hashes (in variant
     * order) that is the group's first variant identical to an earlier one, so each
     * group stops there: a value listed n times is one comparison, not n^2 / 2 (100000
     * times took 29 s); only distinct labels of one hash are compared pairwise. */
    long long a = -1, b = -1;
    for (long long g = 0, end; g < n; g = end) {
        for (end = g + 1; end < n && hv[end].h == hv[g].h; end++) {}
        int found = 0;
        for (long long j = g + 1; j < end && !found; j++)
            for (long long i = g; i < j && !found; i++)
                if ((found = same_labels(e, hv[i].v, hv[j].v)) && (b < 0 || hv[j].v < b)) a = hv[i].v, b = hv[j].v;
    }
    free(hv);
    if (b < 0) return VP_OK;
    int ia[VP_SWEEP_MAX_KEYS] = { 0 }, ib[VP_SWEEP_MAX_KEYS] = { 0 }, k = 0;
    const char *const *lab = (const char *const *)e->sweep_values + b * e->nsweep; /* variant b's labels */
    value_indices(a, e->nsweep, sizes, ia);
    value_indices(b, e->nsweep, sizes, ib);
    while (k + 1 < e->nsweep && ia[k] == ib[k]) k++; /* a != b: some key differs */
    char p[700];
    snprintf(p, sizeof p, "sweep[\"%s\"][%d]", e->sweep_keys[k], ib[k]);
    return vp_cfg_fail(c, p, "the same value as sweep[\"%s\"][%d] (both: %s), so two variants would be "
                       "identical; list each value once (repeat runs with \"seeds\")", e->sweep_keys[k], ia[k],
                       lab[k]);
}

/* ---- a default that no layer takes ----
 * In a block network, network.activation, network.init and network.bias are defaults
 * for the dense and conv2d blocks that do not set their own (docs/architectures.md).
 * When every block sets its own, sweeping the default (or one of its parameters,
 * network.init.gain, ...) changes no layer: the variants would be the same network
 * under different labels. Refused, naming what would have been swept. */
static vp_status no_idle_defaults(vp_cfg_ctx *c, const vp_experiment *e)
{
    static const struct { const char *key; unsigned bit; } DEFAULTS[] = { /* in vp_net_spec.own's order */
        { "network.activation", VP_NET_TAKES_ACTIVATION }, { "network.init", VP_NET_TAKES_INIT },
        { "network.bias", VP_NET_TAKES_BIAS } };
    for (int k = 0; k < e->nsweep; k++)
        for (size_t d = 0; d < sizeof DEFAULTS / sizeof *DEFAULTS; d++) {
            const char *key = e->sweep_keys[k], *def = DEFAULTS[d].key;
            size_t n = strlen(def);
            if (strncmp(key, def, n) != 0 || (key[n] != '\0' && key[n] != '.')) continue;
            int taken = 0;
            for (int v = 0; v < e->nvariants && !taken; v++)
                taken = !e->variants[v].net || (e->variants[v].net->takes & DEFAULTS[d].bit);
            if (taken) continue;
            char p[600];
            snprintf(p, sizeof p, "sweep[\"%s\"]", key);
            const char *own = e->variants[0].net->own[d];
            char eg[300] = "";
            if (own) snprintf(eg, sizeof eg, " (e.g. \"%.280s\")", own);
            return vp_cfg_fail(c, p, "no layer takes %s: every dense and conv2d block of network.layers sets its "
                               "own \"%s\"%s, so the variants would be the same network under different labels; "
                               "remove \"%s\" from the blocks that should follow %s, or sweep a block's own key%s",
                               def, def + 8,
                               DEFAULTS[d].bit == VP_NET_TAKES_BIAS ? " (or has an init that sets the biases)" : "",
                               def + 8, def, eg);
        }
    return VP_OK;
}

/* ---- an entry and a key inside it, both swept ----
 * The entry is set first and the key after it (set_order), so the key's value wins. An
 * entry value that gives that key itself would be overridden, and its label would name
 * what did not run (network.init {"name": "orthogonal", "gain": 2} with network.init.gain
 * [0.5] ran gain 0.5 under "orthogonal(gain=2)"; two such values were one network twice),
 * so it is refused. `rest` is the key's path below the entry (".gain", "[0].count"); a
 * name given as a plain string ("orthogonal") gives ".name". */
/* key's path below parent ("network.init.gain" below "network.init": ".gain"), or NULL
 * when key is not inside parent ("network.initx", or parent itself). */
static const char *inside(const char *key, const char *parent)
{
    size_t n = strlen(parent);
    return strncmp(key, parent, n) == 0 && (key[n] == '.' || key[n] == '[') ? key + n : NULL;
}

static int gives_path(const cJSON *v, const char *rest)
{
    while (*rest) {
        if (*rest == '[') {
            char *end;
            long i = strtol(rest + 1, &end, 10);
            if (*end != ']' || !cJSON_IsArray(v) || i < 0 || i >= cJSON_GetArraySize(v)) return 0;
            v = cJSON_GetArrayItem(v, (int)i);
            rest = end + 1;
            continue;
        }
        if (*rest != '.') return 0;
        size_t n = strcspn(rest + 1, ".[");
        char seg[128];
        if (n >= sizeof seg) return 0;
        memcpy(seg, rest + 1, n);
        seg[n] = '\0';
        rest += 1 + n;
        if (cJSON_IsString(v)) return strcmp(seg, "name") == 0 && !*rest;
        if (!cJSON_IsObject(v) || !(v = cJSON_GetObjectItemCaseSensitive(v, seg))) return 0;
    }
    return 1;
}

static vp_status no_overridden_values(vp_cfg_ctx *c, const vp_experiment *e, const cJSON ***vals, const int *sizes)
{
    for (int k = 0; k < e->nsweep; k++)
        for (int o = 0; o < e->nsweep; o++) {
            const char *rest = inside(e->sweep_keys[o], e->sweep_keys[k]);
            if (!rest) continue;
            for (int i = 0; i < sizes[k]; i++)
                if (gives_path(vals[k][i], rest)) {
                    char p[700];
                    snprintf(p, sizeof p, "sweep[\"%s\"][%d]", e->sweep_keys[k], i);
                    return vp_cfg_fail(c, p, "gives %s itself, which sweep[\"%s\"] sets in every variant (it would "
                                       "replace this value, and the label would name what did not run); give it in "
                                       "one place: remove it here, or drop sweep[\"%s\"]", rest + (*rest == '.'),
                                       e->sweep_keys[o], e->sweep_keys[o]);
                }
        }
    return VP_OK;
}

static vp_status sweep_keys(vp_cfg_ctx *c, const cJSON *root, const cJSON *sweep, vp_experiment *e, const cJSON ***vals, int *sizes,
                            long long *nvar)
{
    int k = 0;
    *nvar = 1;
    for (const cJSON *it = sweep->child; it; it = it->next, k++) {
        char p[600];
        vp_status s;
        snprintf(p, sizeof p, "sweep[\"%s\"]", it->string);
        if ((s = check_sweep_key(c, root, it->string))) return s;
        for (int o = 0; o < k; o++) /* at most VP_SWEEP_MAX_KEYS keys: a bounded loop */
            if (strcmp(e->sweep_keys[o], it->string) == 0) return vp_cfg_fail(c, p, "key given twice");
        if (!cJSON_IsArray(it) || !it->child) return vp_cfg_fail(c, p, "expected a non-empty array of values");
        e->sweep_keys[k] = strdup(it->string);
        if (!e->sweep_keys[k]) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
        sizes[k] = cJSON_GetArraySize(it);
        if (sizes[k] > VP_MAX_VARIANTS / *nvar) /* the product would pass the limit: never overflows */
            return vp_cfg_fail(c, p, "the sweep has at least %lld variants; at most %lld fit in one experiment "
                               "(variant ids 0 to %ld); shrink it", *nvar * sizes[k], (long long)VP_MAX_VARIANTS,
                               (long)VP_VARIANT_MAX);
        *nvar *= sizes[k];
        vals[k] = malloc((size_t)sizes[k] * sizeof *vals[k]);
        if (!vals[k]) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
        int i = 0;
        for (const cJSON *v = it->child; v; v = v->next) vals[k][i++] = v;
    }
    return VP_OK;
}

vp_status vp_sweep_expand(vp_cfg_ctx *c, const cJSON *root, const vp_variant *base, const vp_config_opts *opts,
                          vp_experiment *e)
{
    vp_err *err = c->err;
    vp_status s = VP_OK;
    int *idx = NULL, *sizes = NULL;
    const cJSON ***vals = NULL;
    cJSON *tree = NULL, *bare = NULL;
    /* sweep: validate keys and value arrays, count variants */
    const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(root, "sweep");
    long long nvar = 1;
    if (sweep) {
        if (!cJSON_IsObject(sweep)) { s = vp_cfg_fail(c, "sweep", "expected an object {\"dotted.key\": [values...]}, got %s", vp_cfg_type_name(sweep)); goto end; }
        int nkeys = cJSON_GetArraySize(sweep);
        if (nkeys > VP_SWEEP_MAX_KEYS) {
            s = vp_cfg_fail(c, "sweep", "%d swept keys; at most %d can be swept together", nkeys, VP_SWEEP_MAX_KEYS);
            goto end;
        }
        e->nsweep = nkeys;
        e->sweep_keys = calloc((size_t)nkeys + 1, sizeof *e->sweep_keys);
        sizes = calloc((size_t)nkeys + 1, sizeof *sizes);
        vals = calloc((size_t)nkeys + 1, sizeof *vals);
        if (!e->sweep_keys || !sizes || !vals) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
        if ((s = sweep_keys(c, root, sweep, e, vals, sizes, &nvar))) goto end;
        if ((s = no_overridden_values(c, e, vals, sizes))) goto end;
    }
    /* Runs in 64 bits (nvar <= VP_MAX_VARIANTS and nseeds <= 100000: no overflow), checked
     * against the runner's limit and then the user's -- before anything is allocated
     * for the variants or written. */
    long long runs = nvar * e->nseeds;
    long limit = opts && opts->max_runs >= 0 ? opts->max_runs : VP_DEFAULT_MAX_RUNS;
    if (runs > VP_MAX_RUNS) {
        s = vp_fail(err, VP_ERR_CONFIG, "%s: sweep: %lld variant%s x %d seed%s = %lld runs is more than varprop can "
                    "run in one experiment (%lld); shrink the sweep or split it", c->source, nvar, nvar == 1 ? "" : "s",
                    e->nseeds, e->nseeds == 1 ? "" : "s", runs, (long long)VP_MAX_RUNS);
        goto end;
    }
    if (limit > 0 && runs > limit) {
        s = vp_fail(err, VP_ERR_CONFIG, "%s: sweep: %lld variant%s x %d seed%s = %lld runs is more than the limit of "
                    "%ld; shrink the sweep or pass --max-runs N", c->source, nvar, nvar == 1 ? "" : "s", e->nseeds,
                    e->nseeds == 1 ? "" : "s", runs, limit);
        goto end;
    }
    e->nvariants = (int)nvar;
    e->variants = calloc((size_t)nvar, sizeof *e->variants);
    e->sweep_values = calloc((size_t)nvar * (size_t)(e->nsweep ? e->nsweep : 1), sizeof *e->sweep_values);
    idx = calloc((size_t)e->nsweep + 1, sizeof *idx);
    /* set_order: the values are set into each variant's document entries first, then the
     * keys inside them (fewer path steps first; the user's order among equals), so that
     * network.init listed after network.init.gain does not replace the swept gain with its
     * own default (the variants ran one network under two gain labels). child[k]: a key
     * inside key k is swept too. */
    int order[VP_SWEEP_MAX_KEYS + 1], child[VP_SWEEP_MAX_KEYS + 1], steps[VP_SWEEP_MAX_KEYS + 1];
    for (int k = 0; k < e->nsweep; k++) {
        steps[k] = 0;
        for (const char *q = e->sweep_keys[k]; *q; q++) steps[k] += *q == '.' || *q == '[';
        child[k] = 0;
        for (int o = 0; o < e->nsweep; o++) child[k] |= inside(e->sweep_keys[o], e->sweep_keys[k]) != NULL;
        int i = k; /* insertion: stable */
        while (i > 0 && steps[order[i - 1]] > steps[k]) order[i] = order[i - 1], i--;
        order[i] = k;
    }
    /* The document without its sweep, copied once: each variant copies only this, so
     * the work per variant does not grow with the sweep (linear parsing). */
    bare = cJSON_Duplicate(root, 1);
    if (!e->variants || !e->sweep_values || !idx || !bare) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    cJSON_DeleteItemFromObjectCaseSensitive(bare, "sweep");
    c->nsweep = e->nsweep;
    c->keys = e->sweep_keys;
    c->idx = idx;
    for (long long v = 0; v < nvar; v++) {
        value_indices(v, e->nsweep, sizes, idx);
        tree = cJSON_Duplicate(bare, 1);
        if (!tree) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
        for (int i = 0; i < e->nsweep; i++) /* an entry before the keys inside it (set_order) */
            if ((s = set_dotted(c, tree, e->sweep_keys[order[i]], vals[order[i]][idx[order[i]]]))) goto end;
        if ((s = vp_cfg_variant(c, tree, &e->variants[v]))) goto end;
        for (int k = 0; k < e->nsweep; k++) {
            char **slot = &e->sweep_values[v * e->nsweep + k];
            *slot = sweep_label(c, e->sweep_keys[k], vals[k][idx[k]], &e->variants[v], child[k]);
            if (!*slot) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
        }
        cJSON_Delete(tree);
        tree = NULL;
    }
    if (e->nsweep && (s = no_identical_variants(c, e, sizes))) goto end;
    if (e->nsweep && (s = no_idle_defaults(c, e))) goto end;
    e->train = base->train.on;
    e->resolved_json = resolved_json(e, base, sweep);
    if (!e->resolved_json) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    else if (strlen(e->resolved_json) >= VP_RECORD_MAX_BYTES)
        s = vp_fail(err, VP_ERR_CONFIG, "%s: its %s would take %zu MiB, more than the %zu MiB every reader of it "
                    "takes (it holds the resolved config and the config's text); shorten the description or the "
                    "sweep", c->source, VP_FILE_CONFIG, (strlen(e->resolved_json) >> 20) + 1, VP_RECORD_MAX_BYTES >> 20);
end:
    c->nsweep = 0; /* idx is freed below: back to messages about the base document */
    c->keys = NULL;
    c->idx = NULL;
    cJSON_Delete(tree);
    cJSON_Delete(bare);
    for (int k = 0; vals && k < e->nsweep; k++) free(vals[k]);
    free(vals);
    free(idx);
    free(sizes);
    return s;
}
