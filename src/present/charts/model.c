/* model: the experiment a results folder describes, as the charts see it (kit.h):
 * config.json and the CSV files, the variants in id order, their panels and curve
 * styles, the swept keys and values, the subtitle, and the runs.csv summary. */
#include "present/charts/kit.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- distinct strings ----
 * The model groups variants by strings (activations, labels, sweep values, seeds). A
 * search of the distinct strings so far for each of n strings is n times their number:
 * 40000 variants took 25 s. They are sorted instead (n log n). */

typedef struct {
    const char *s;
    size_t i;
} str_at;

static int cmp_str_at(const void *a, const void *b)
{
    const str_at *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The distinct strings of s[0..n) numbered in the order they first appear: id[i] is
 * s[i]'s number, first[d] (may be NULL) the first s[i] of number d, *nd how many. */
static vp_status first_seen(const char *const *s, size_t n, int *id, const char **first, size_t *nd, vp_err *err)
{
    str_at *by = malloc((n + 1) * sizeof *by);
    size_t *lead = malloc((n + 1) * sizeof *lead); /* lead[i]: the first index of s[i]'s string */
    if (!by || !lead) {
        free(by);
        free(lead);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) by[i] = (str_at){ s[i], i };
    qsort(by, n, sizeof *by, cmp_str_at);
    for (size_t k = 0; k < n; k++) lead[by[k].i] = k && strcmp(by[k].s, by[k - 1].s) == 0 ? lead[by[k - 1].i] : by[k].i;
    *nd = 0;
    for (size_t i = 0; i < n; i++) {
        if (lead[i] == i) {
            if (first) first[*nd] = s[i];
            id[i] = (int)(*nd)++;
        } else {
            id[i] = id[lead[i]];
        }
    }
    free(by);
    free(lead);
    return VP_OK;
}

/* Register variant `id` seen in row r of t (activation/init must agree). ca = ci =
 * (size_t)-1: the row's labels are not the variant's (a block network's layers.csv rows
 * carry each layer's own): only its id is checked. */
static vp_status see_variant(ck_exper *e, const vp_table *t, size_t r, long id, size_t ca, size_t ci, vp_err *err)
{
    if (ca == (size_t)-1) {
        if ((size_t)id < e->npos && e->pos[id] >= 0) return VP_OK;
        return vp_fail(err, VP_ERR_DATA, "%s:%zu: variant %ld is not in %s", vp_table_name(t), vp_table_line(t, r), id,
                       VP_FILE_RUNS);
    }
    const char *act = vp_table_cell(t, r, ca), *init = vp_table_cell(t, r, ci);
    if ((size_t)id >= e->npos) {
        size_t n = (size_t)id + 1 > 2 * e->npos ? (size_t)id + 1 : 2 * e->npos;
        int *p = realloc(e->pos, n * sizeof *p);
        if (!p) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        for (size_t i = e->npos; i < n; i++) p[i] = -1;
        e->pos = p;
        e->npos = n;
    }
    if (e->pos[id] >= 0) {
        ck_variant *v = &e->var[e->pos[id]];
        if (strcmp(v->act, act) != 0 || strcmp(v->init, init) != 0)
            return vp_fail(err, VP_ERR_DATA, "%s:%zu: variant %ld is '%s' / '%s' here but '%s' / '%s' elsewhere",
                           vp_table_name(t), vp_table_line(t, r), id, act, init, v->act, v->init);
        return VP_OK;
    }
    if (e->nvar == e->var_cap) { /* doubling: one more at a time copied every variant again */
        size_t cap = e->var_cap ? 2 * e->var_cap : 16;
        ck_variant *nv = realloc(e->var, cap * sizeof *nv);
        if (!nv) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        e->var = nv;
        e->var_cap = cap;
    }
    memset(&e->var[e->nvar], 0, sizeof *e->var);
    e->var[e->nvar].id = (int)id;
    e->var[e->nvar].act = act;
    e->var[e->nvar].init = init;
    e->pos[id] = (int)e->nvar++;
    return VP_OK;
}

static int cmp_variant(const void *a, const void *b)
{
    const ck_variant *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Every row of t names a variant (an id, its activation and initializer): register
 * them. `extra` must be there too (*cx: its index): the seed in runs.csv, the layer in
 * layers.csv, whose layers go to lrow_layer (NULL for runs.csv). */
static vp_status see_rows(ck_exper *e, const vp_table *t, vp_col extra, size_t *cx, int *lrow_layer, vp_err *err)
{
    size_t cv, ca, ci;
    vp_status s;
    if ((s = vp_table_require_col(t, VP_COL_VARIANT, &cv, err)) ||
        (s = vp_table_require_col(t, VP_COL_ACTIVATION, &ca, err)) ||
        (s = vp_table_require_col(t, VP_COL_INIT, &ci, err)) || (s = vp_table_require_col(t, extra, cx, err)))
        return s;
    if (lrow_layer && vp_table_find_col(t, VP_COL_BLOCK) >= 0) ca = ci = (size_t)-1; /* per-layer labels */
    for (size_t i = 0; i < vp_table_nrows(t); i++) {
        long id, layer;
        if ((s = vp_table_int(t, i, cv, 0, VP_VARIANT_MAX, &id, err)) || (s = see_variant(e, t, i, id, ca, ci, err)))
            return s;
        if (!lrow_layer) continue;
        if ((s = vp_table_int(t, i, *cx, 1, VP_LAYER_MAX, &layer, err))) return s;
        lrow_layer[i] = (int)layer;
        if (layer > e->nlayer) e->nlayer = (int)layer;
    }
    return VP_OK;
}

/* Distinct seeds in runs.csv (column cs), unless config.json lists them. */
static vp_status count_seeds(ck_exper *e, size_t cs, vp_err *err)
{
    const cJSON *cs_arr = cJSON_GetObjectItemCaseSensitive(e->cfg, "seeds");
    if (cJSON_IsArray(cs_arr) && cJSON_GetArraySize(cs_arr) > 0) {
        e->nseeds = (size_t)cJSON_GetArraySize(cs_arr);
        return VP_OK;
    }
    const vp_table *r = e->tab[VP_CSV_RUNS];
    size_t n = vp_table_nrows(r);
    const char **seeds = malloc((n + 1) * sizeof *seeds);
    int *id = malloc((n + 1) * sizeof *id);
    vp_status s = seeds && id ? VP_OK : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !s && i < n; i++) seeds[i] = vp_table_cell(r, i, cs);
    if (!s) s = first_seen(seeds, n, id, NULL, &e->nseeds, err);
    free(seeds);
    free(id);
    return s;
}

/* Swept keys, in config order, from config.json's "sweep" object. */
static vp_status read_sweep_keys(ck_exper *e, vp_err *err)
{
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(e->cfg, "sweep");
    if (!cJSON_IsObject(sw)) return VP_OK;
    size_t n = (size_t)cJSON_GetArraySize(sw);
    if (n == 0) return VP_OK;
    e->sweep = calloc(n, sizeof *e->sweep);
    if (!e->sweep) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, sw)
        if (it->string) e->sweep[e->nsweep++] = it->string;
    return VP_OK;
}

/* Fill sweep values of each variant from the first row naming it. */
static vp_status fill_sweep_values(ck_exper *e, vp_err *err)
{
    if (e->nsweep == 0) return VP_OK;
    e->sweepval = calloc(e->nvar * e->nsweep, sizeof *e->sweepval);
    if (!e->sweepval) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < e->nvar * e->nsweep; i++) e->sweepval[i] = "";
    const vp_table *tabs[2] = { e->tab[VP_CSV_RUNS], e->tab[VP_CSV_LAYERS] };
    for (int ti = 0; ti < 2; ti++) {
        const vp_table *t = tabs[ti];
        size_t cv;
        if (vp_table_require_col(t, VP_COL_VARIANT, &cv, err)) return VP_ERR_DATA;
        for (size_t k = 0; k < e->nsweep; k++) {
            int c = vp_table_find(t, e->sweep[k]);
            if (c < 0) continue;
            for (size_t r = 0; r < vp_table_nrows(t); r++) {
                double v;
                if (vp_table_num(t, r, cv, &v, err)) return VP_ERR_DATA;
                int id = (int)v;
                if (id < 0 || (size_t)id >= e->npos || e->pos[id] < 0) continue;
                const char **cell = &e->sweepval[(size_t)e->pos[id] * e->nsweep + k];
                if (!**cell) *cell = vp_table_cell(t, r, (size_t)c);
            }
        }
    }
    return VP_OK;
}

const char *ck_short_key(const char *k)
{
    const char *dot = strrchr(k, '.');
    return dot ? dot + 1 : k;
}

/* 1 when the label already says key=value (followed by ',', ')' or its end): an
 * initializer's parameters are in its label unless they have their default value. */
static int label_says(const char *label, const char *key, const char *value)
{
    char kv[300];
    size_t n = (size_t)snprintf(kv, sizeof kv, "%s=%s", key, value);
    for (const char *s = strstr(label, kv); s && n < sizeof kv; s = strstr(s + 1, kv))
        if ((s == label || s[-1] == '(' || s[-1] == ',' || s[-1] == ' ') && strchr(",)", s[n])) return 1;
    return 0;
}

/* A variant's label within its activation's panel, for sorting (then by position). */
typedef struct {
    int act;
    const char *label;
    size_t i;
} act_label;

static int cmp_act_label(const void *a, const void *b)
{
    const act_label *x = a, *y = b;
    if (x->act != y->act) return (x->act > y->act) - (x->act < y->act);
    int c = strcmp(x->label, y->label);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* k-th swept value of variant i. */
static const char *sweep_val(const ck_exper *e, size_t i, size_t k) { return e->sweepval[i * e->nsweep + k]; }

/* 1 when swept key k has two values among the variants of one panel (panel[i]: variant
 * i's, of npanel); seen: npanel slots. */
static int varies_within(const ck_exper *e, size_t k, const int *panel, size_t npanel, const char **seen)
{
    memset(seen, 0, npanel * sizeof *seen);
    for (size_t i = 0; i < e->nvar; i++) {
        const char **first = &seen[panel[i]];
        if (!*first) *first = sweep_val(e, i, k);
        else if (strcmp(*first, sweep_val(e, i, k)) != 0) return 1;
    }
    return 0;
}

/* Legend labels: the initializer, plus every swept key (other than activation and
 * initializer) whose value differs between variants of one activation, with its value
 * unless the initializer's label already says it -- a default value included, so
 * no label leaves a swept setting silent. */
static vp_status make_labels(ck_exper *e, vp_err *err)
{
    size_t n = e->nvar;
    int *need = calloc(e->nsweep ? e->nsweep : 1, sizeof *need), *panel = malloc((n + 1) * sizeof *panel),
        *style = malloc((n + 1) * sizeof *style);
    const char **strs = malloc((n + 1) * sizeof *strs);
    act_label *al = malloc((n + 1) * sizeof *al);
    e->act = calloc(n + 1, sizeof *e->act);
    e->style = calloc(n + 1, sizeof *e->style);
    vp_status s = need && panel && style && strs && al && e->act && e->style ? VP_OK
                                                                           : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    /* the panels: the activations, in the order they first appear */
    for (size_t i = 0; !s && i < n; i++) strs[i] = e->var[i].act;
    if (!s) s = first_seen(strs, n, panel, e->act, &e->nact, err);
    for (size_t k = 0; !s && k < e->nsweep; k++)
        if (strcmp(e->sweep[k], VP_SWEEP_ACTIVATION) != 0 && strcmp(e->sweep[k], VP_SWEEP_INIT) != 0)
            need[k] = varies_within(e, k, panel, e->nact, strs);
    for (size_t i = 0; !s && i < n; i++) {
        ck_variant *v = &e->var[i];
        v->panel = panel[i];
        size_t u = (size_t)snprintf(v->label, sizeof v->label, "%s", v->init);
        for (size_t k = 0; k < e->nsweep && u < sizeof v->label; k++) {
            const char *key = ck_short_key(e->sweep[k]), *val = sweep_val(e, i, k);
            if (!need[k] || label_says(v->init, key, val)) continue;
            u += (size_t)snprintf(v->label + u, sizeof v->label - u, ", %s=%s", key, val);
        }
    }
    /* Two variants of one activation still alike (a sweep value that gives the same
     * label, e.g. a parameter spelled out at its default): their numbers tell them apart. */
    for (size_t i = 0; !s && i < n; i++) al[i] = (act_label){ panel[i], e->var[i].label, i };
    if (!s) qsort(al, n, sizeof *al, cmp_act_label);
    for (size_t g = 0, end; !s && g < n; g = end) {
        for (end = g + 1; end < n && al[end].act == al[g].act && strcmp(al[end].label, al[g].label) == 0; end++) {}
        for (size_t k = g; end - g > 1 && k < end; k++) {
            ck_variant *v = &e->var[al[k].i];
            size_t u = strlen(v->label);
            snprintf(v->label + u, sizeof v->label - u, " [#%d]", v->id);
        }
    }
    for (size_t i = 0; !s && i < n; i++) {
        snprintf(e->var[i].name, sizeof e->var[i].name, "%s / %s", e->var[i].act, e->var[i].label);
        strs[i] = e->var[i].label;
    }
    /* the curve identities: the labels, in the order they first appear */
    if (!s) s = first_seen(strs, n, style, e->style, &e->nstyle, err);
    for (size_t i = 0; !s && i < n; i++) e->var[i].style = style[i];
    free(need);
    free(panel);
    free(style);
    free(strs);
    free(al);
    return s;
}

/* Ascending order of number cells (each parses: the colour key is numeric), equal
 * numbers in the order they first appear. */
static int cmp_num_at(const void *a, const void *b)
{
    const str_at *p = a, *q = b;
    double x = NAN, y = NAN;
    vp_table_parse_num(p->s, &x);
    vp_table_parse_num(q->s, &y);
    if (x != y) return (x > y) - (x < y);
    return (p->i > q->i) - (p->i < q->i);
}

/* More than LEGEND_CURVES variants in an activation's panel: colour the curves by the
 * swept number that varies within the panels and has the most values (a colour bar
 * names it), and give each combination of the other swept values that vary within an
 * activation its own panel, so every curve in a panel differs only by that number and
 * has a colour of its own. Without such a number (only categories vary) the legend of
 * styles stays, each style with a colour of its own. */
static vp_status choose_colours(ck_exper *e, vp_err *err)
{
    e->colour_key = -1;
    size_t *count = calloc(e->nact + 1, sizeof *count), maxc = 0, n = e->nvar;
    if (!count) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (++count[e->var[i].panel] > maxc) maxc = count[e->var[i].panel];
    free(count);
    if (maxc <= LEGEND_CURVES || e->nsweep == 0) return VP_OK;
    int *vary = calloc(e->nsweep, sizeof *vary), *id = malloc((n + 1) * sizeof *id),
        *panel = malloc((n + 1) * sizeof *panel);
    const char **col = malloc((n + 1) * sizeof *col), **vals = calloc(n + 1, sizeof *vals);
    str_at *by = malloc((n + 1) * sizeof *by);
    char **title = calloc(n + 1, sizeof *title);
    vp_status s = vary && id && panel && col && vals && by && title ? VP_OK
                                                                    : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !s && i < n; i++) panel[i] = e->var[i].panel;
    size_t best = 0;
    for (size_t k = 0; !s && k < e->nsweep; k++) {
        if (strcmp(e->sweep[k], VP_SWEEP_ACTIVATION) == 0) continue;
        int numeric = 1;
        size_t nv = 0;
        for (size_t i = 0; i < n; i++) {
            double x;
            col[i] = sweep_val(e, i, k);
            numeric &= vp_table_parse_num(col[i], &x) == VP_TABLE_NUM_OK && isfinite(x);
        }
        vary[k] = varies_within(e, k, panel, e->nact, vals);
        if (!(s = first_seen(col, n, id, NULL, &nv, err)) && vary[k] && numeric && nv > best) {
            best = nv;
            e->colour_key = (int)k;
        }
    }
    if (s || e->colour_key < 0) goto end;
    /* the colour key's values, ascending, and each variant's rank among them */
    size_t ck = (size_t)e->colour_key;
    for (size_t i = 0; i < n; i++) col[i] = sweep_val(e, i, ck);
    if ((s = first_seen(col, n, id, vals, &e->ncolour, err))) goto end;
    for (size_t d = 0; d < e->ncolour; d++) by[d] = (str_at){ vals[d], d };
    qsort(by, e->ncolour, sizeof *by, cmp_num_at);
    for (size_t r = 0; r < e->ncolour; r++) {
        vals[r] = by[r].s;
        panel[by[r].i] = (int)r; /* panel: the rank of each distinct value, for now */
    }
    for (size_t i = 0; i < n; i++) e->var[i].rank = panel[id[i]];
    e->colour_vals = vals;
    vals = NULL;
    /* panels: the activation and every other key that varies within an activation */
    e->act_owned = calloc(n + 1, sizeof *e->act_owned);
    if (!e->act_owned) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    for (size_t i = 0; i < n; i++) {
        char t[600];
        size_t u = (size_t)snprintf(t, sizeof t, "%s", e->var[i].act);
        for (size_t k = 0; k < e->nsweep && u < sizeof t; k++)
            if (vary[k] && k != ck)
                u += (size_t)snprintf(t + u, sizeof t - u, ", %s=%s", ck_short_key(e->sweep[k]), sweep_val(e, i, k));
        if (!(title[i] = strdup(t))) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    }
    if ((s = first_seen((const char *const *)title, n, id, (const char **)e->act_owned, &e->nact, err))) goto end;
    for (size_t i = 0; i < n; i++) {
        e->var[i].panel = id[i];
        if (e->act_owned[id[i]] == title[i]) title[i] = NULL; /* kept: the panel's title */
    }
    for (size_t a = 0; a < e->nact; a++) e->act[a] = e->act_owned[a];
end:
    for (size_t i = 0; title && i < n; i++) free(title[i]);
    free(title);
    free(vary);
    free(id);
    free(panel);
    free(col);
    free(vals);
    free(by);
    return s;
}

double ck_cfg_num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* "width 512 · depth 50 · batch 1024 · 3 seeds · float32" from config.json; a swept
 * setting shows its range ("depth 10–40"), and an interrupted run the completed seeds
 * per variant ("1–3 of 3 seeds per variant"). */
static void make_subtitle(ck_exper *e)
{
    char *s = e->subtitle, v[256];
    size_t len = sizeof e->subtitle, n = 0;
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(e->cfg, "network");
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(net, "widths");
    if (vp_report_swept(e->cfg, "network.widths")) {
        n += (size_t)snprintf(s + n, len - n, "widths swept");
    } else if (vp_report_swept(e->cfg, "network.width")) {
        vp_report_setting(e->cfg, "network.width", v, sizeof v);
        n += (size_t)snprintf(s + n, len - n, "width %s", v);
    } else {
        double w = ck_cfg_num(e->cfg, "network", "width");
        if (cJSON_IsArray(ws) && cJSON_GetArraySize(ws) > 0) {
            double lo = INFINITY, hi = -INFINITY;
            const cJSON *it;
            cJSON_ArrayForEach(it, ws) if (cJSON_IsNumber(it)) {
                lo = fmin(lo, it->valuedouble);
                hi = fmax(hi, it->valuedouble);
            }
            if (lo < hi) n += (size_t)snprintf(s + n, len - n, "widths %g–%g", lo, hi);
            else if (isfinite(lo)) w = lo;
        }
        if (n == 0 && isfinite(w)) n += (size_t)snprintf(s + n, len - n, "width %g", w);
    }
    if (!vp_report_setting(e->cfg, "network.depth", v, sizeof v)) snprintf(v, sizeof v, "%d", e->nlayer);
    if (n < len) n += (size_t)snprintf(s + n, len - n, "%sdepth %s", n ? " · " : "", v);
    if (vp_report_setting(e->cfg, "input.batch", v, sizeof v) && n < len)
        n += (size_t)snprintf(s + n, len - n, " · batch %s", v);
    if (n < len && !ck_partial_seeds(e))
        n += (size_t)snprintf(s + n, len - n, " · %zu seed%s", e->nseeds, e->nseeds == 1 ? "" : "s");
    else if (n < len && e->seeds_lo == e->seeds_hi)
        n += (size_t)snprintf(s + n, len - n, " · %zu of %zu seeds per variant", e->seeds_lo, e->nseeds);
    else if (n < len)
        n += (size_t)snprintf(s + n, len - n, " · %zu–%zu of %zu seeds per variant", e->seeds_lo, e->seeds_hi,
                              e->nseeds);
    if (vp_report_setting(e->cfg, "precision", v, sizeof v) && n < len) snprintf(s + n, len - n, " · %s", v);
    ck_clean(e->subtitle);
}

/* Fewest and most completed seeds of a variant, from the runs.csv summary. Without
 * one (a runs.csv the summary refuses; the charts that need it say why) every
 * variant counts as complete. */
static void count_completed(ck_exper *e)
{
    const vp_summary *sum = NULL;
    vp_err ignored;
    int have = ck_summary(e, &sum, &ignored) == VP_OK;
    e->seeds_lo = have ? SIZE_MAX : e->nseeds;
    e->seeds_hi = have ? 0 : e->nseeds;
    for (size_t i = 0; i < e->nvar; i++) {
        const vp_variant_summary *v = have ? vp_summary_find(sum, e->var[i].id) : NULL;
        size_t n = !have ? e->nseeds : v ? v->nok : 0;
        e->var[i].seeds = n;
        if (n < e->seeds_lo) e->seeds_lo = n;
        if (n > e->seeds_hi) e->seeds_hi = n;
    }
}

/* The CSV files, in vp_csv_file order; histograms, the Jacobian and the training files
 * may be absent. */
static vp_status load_tables(ck_exper *e, vp_err *err)
{
    for (int f = 0; f < VP_CSV_COUNT; f++) {
        char path[4096];
        struct stat st;
        vp_status s = vp_path_join(path, sizeof path, e->results_dir, vp_csv_layout_get((vp_csv_file)f)->file, err);
        if (s) return s;
        if (f == VP_CSV_LENGTHS) continue; /* per-example lengths: no chart reads them */
        int optional = f == VP_CSV_HIST || f == VP_CSV_JACOBIAN || f >= VP_CSV_FIRST_TRAIN; /* training files too */
        if (optional && stat(path, &st) != 0 && errno == ENOENT) continue;
        if ((s = vp_table_load(path, &e->tab[f], err))) return s;
        /* a header and no rows: nothing to draw, which gnuplot would only say as an error */
        if (!optional && vp_table_nrows(e->tab[f]) == 0)
            return vp_fail(err, VP_ERR_DATA, "no runs in %s (it holds only its header row): nothing to plot", path);
    }
    return VP_OK;
}


/* The owner of a layers.csv row of a block network, from its block path (layers.csv
 * `block`): the outermost residual it belongs to -- the path before its first ".branch[",
 * or before a final ".norm" (a residual's pre- or post-norm), or its own path for a
 * residual row -- as a length of the path; 0 for a layer of the main stream. */
static size_t owner_len(const char *path, int is_residual)
{
    const char *b = strstr(path, ".branch[");
    if (b) return (size_t)(b - path);
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".norm") == 0) return n - 5;
    return is_residual ? n : 0;
}

/* Block networks with residual blocks: each row's place along the stream, so that
 * variants with different blocks line up block by block (a pre-norm block has one more
 * row than a plain one: by layer number, block k sat at row 3k in one and 4k in the
 * other). A main-stream layer takes the next whole number; the m rows of one residual
 * block (its norm, its branch, the residual add, a post-norm) share the next unit,
 * k - 1 + j/m for j = 1..m, so the block's output sits at k. Rows of a run are
 * consecutive, their layers counting up from 1. Without residual blocks nothing is set:
 * the layer number is the place. */
static vp_status stream_positions(ck_exper *e, const vp_table *l, vp_err *err)
{
    int cb = vp_table_find_col(l, VP_COL_BLOCK);
    size_t nr = vp_table_nrows(l), any = 0;
    if (cb < 0 || !e->lrow_type) return VP_OK;
    for (size_t i = 0; i < nr; i++) any += e->lrow_type[i] == VP_LAYER_RESIDUAL;
    if (!any) return VP_OK;
    if (!(e->lrow_pos = malloc((nr + 1) * sizeof *e->lrow_pos))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    e->pos_max = 0;
    double base = 0; /* the stream position before the current row */
    for (size_t i = 0; i < nr;) {
        if (i == 0 || e->lrow_layer[i] <= e->lrow_layer[i - 1]) base = 0; /* a new run */
        const char *path = vp_table_cell(l, i, (size_t)cb);
        size_t own = owner_len(path, e->lrow_type[i] == VP_LAYER_RESIDUAL), m = 1;
        if (own) /* the rest of this block: the following rows of the same owner, in the same run */
            while (i + m < nr && e->lrow_layer[i + m] > e->lrow_layer[i + m - 1]) {
                const char *q = vp_table_cell(l, i + m, (size_t)cb);
                if (owner_len(q, e->lrow_type[i + m] == VP_LAYER_RESIDUAL) != own || strncmp(q, path, own) != 0) break;
                m++;
            }
        for (size_t j = 1; j <= m; j++) e->lrow_pos[i + j - 1] = base + (double)j / (double)m;
        base += 1;
        if (base > e->pos_max) e->pos_max = base;
        i += m;
    }
    return VP_OK;
}

vp_status ck_model_build(ck_exper *e, vp_err *err)
{
    vp_status s;
    if ((s = vp_report_read_config(e->results_dir, &e->cfg, err))) return s;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e->cfg, "name");
    ck_clean_copy(e->name, sizeof e->name, cJSON_IsString(nm) ? nm->valuestring : "varprop");
    if ((s = load_tables(e, err)) || (s = read_sweep_keys(e, err))) return s;
    const vp_table *r = e->tab[VP_CSV_RUNS], *l = e->tab[VP_CSV_LAYERS];
    size_t cs, cl, cv, nr = vp_table_nrows(l);
    if ((s = see_rows(e, r, VP_COL_SEED, &cs, NULL, err)) || (s = count_seeds(e, cs, err))) return s;
    e->lrow_var = malloc((nr + 1) * sizeof *e->lrow_var);
    e->lrow_layer = malloc((nr + 1) * sizeof *e->lrow_layer);
    if (!e->lrow_var || !e->lrow_layer) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    if ((s = see_rows(e, l, VP_COL_LAYER, &cl, e->lrow_layer, err))) return s;
    if (e->nvar == 0) return vp_fail(err, VP_ERR_DATA, "%s: no runs to plot", vp_table_name(r));
    /* Variants in id order; rebuild the id map and the row -> variant index. */
    qsort(e->var, e->nvar, sizeof *e->var, cmp_variant);
    for (size_t i = 0; i < e->nvar; i++) e->pos[e->var[i].id] = (int)i;
    vp_table_require_col(l, VP_COL_VARIANT, &cv, NULL);
    for (size_t i = 0; i < nr; i++) {
        double v;
        vp_table_num(l, i, cv, &v, NULL);
        e->lrow_var[i] = e->pos[(int)v];
    }
    /* A block network's rows name their layer's type (core/net.h's spelling). */
    int ct = vp_table_find_col(l, VP_COL_TYPE);
    if (ct >= 0) {
        if (!(e->lrow_type = malloc((nr + 1) * sizeof *e->lrow_type))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < nr; i++) {
            vp_layer_kind k = vp_layer_kind_find(vp_table_cell(l, i, (size_t)ct));
            if (k == VP_LAYER_KIND_COUNT)
                return vp_fail(err, VP_ERR_DATA, "%s:%zu: column 'type': '%s' is not a layer type", vp_table_name(l),
                               vp_table_line(l, i), vp_table_cell(l, i, (size_t)ct));
            e->lrow_type[i] = (int)k;
        }
    }
    if ((s = stream_positions(e, l, err))) return s;
    if ((s = fill_sweep_values(e, err)) || (s = make_labels(e, err)) || (s = choose_colours(e, err))) return s;
    count_completed(e);
    make_subtitle(e);
    return VP_OK;
}

vp_status ck_summary(ck_exper *e, const vp_summary **out, vp_err *err)
{
    if (!e->have_sum) {
        vp_status s = vp_summary_build(e->tab[VP_CSV_RUNS], &e->sum, err);
        if (s) return s;
        e->have_sum = 1;
    }
    *out = &e->sum;
    return VP_OK;
}

vp_status ck_known_variant(const ck_exper *e, const vp_table *t, size_t row, size_t col, long *id, vp_err *err)
{
    vp_status s = vp_table_int(t, row, col, 0, VP_VARIANT_MAX, id, err);
    if (!s && ((size_t)*id >= e->npos || e->pos[*id] < 0))
        s = vp_fail(err, VP_ERR_DATA, "%s:%zu: variant %ld is not in " VP_FILE_RUNS, vp_table_name(t),
                    vp_table_line(t, row), *id);
    return s;
}

void ck_model_free(ck_exper *e)
{
    cJSON_Delete(e->cfg);
    for (int f = 0; f < VP_CSV_COUNT; f++) vp_table_free(e->tab[f]);
    if (e->have_sum) vp_summary_free(&e->sum);
    free(e->var);
    free(e->pos);
    free(e->act);
    for (size_t i = 0; e->act_owned && i < e->nact; i++) free(e->act_owned[i]);
    free(e->act_owned);
    free(e->colour_vals);
    free(e->style);
    free(e->sweep);
    free(e->sweepval);
    free(e->lrow_var);
    free(e->lrow_layer);
    free(e->lrow_type);
    free(e->lrow_pos);
    free(e->charts);
    ck_jobs_free(e);
}
