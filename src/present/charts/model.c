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

static int str_index(const char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return (int)i;
    return -1;
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
    ck_variant *nv = realloc(e->var, (e->nvar + 1) * sizeof *nv);
    if (!nv) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    e->var = nv;
    memset(&e->var[e->nvar], 0, sizeof *nv);
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
    const vp_table *r = e->tab[VP_CSV_RUNS];
    const char **seeds = calloc(vp_table_nrows(r) + 1, sizeof *seeds);
    if (!seeds) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < vp_table_nrows(r); i++) {
        const char *sd = vp_table_cell(r, i, cs);
        if (str_index(seeds, e->nseeds, sd) < 0) seeds[e->nseeds++] = sd;
    }
    free(seeds);
    const cJSON *cs_arr = cJSON_GetObjectItemCaseSensitive(e->cfg, "seeds");
    if (cJSON_IsArray(cs_arr) && cJSON_GetArraySize(cs_arr) > 0) e->nseeds = (size_t)cJSON_GetArraySize(cs_arr);
    return VP_OK;
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

/* Legend labels: the initializer, plus every swept key (other than activation and
 * initializer) whose value differs between variants of one activation, with its value
 * unless the initializer's label already says it -- a default value included, so
 * no label leaves a swept setting silent. */
static vp_status make_labels(ck_exper *e, vp_err *err)
{
    int *need = calloc(e->nsweep ? e->nsweep : 1, sizeof *need);
    if (!need) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < e->nsweep; k++) {
        if (strcmp(e->sweep[k], VP_SWEEP_ACTIVATION) == 0 || strcmp(e->sweep[k], VP_SWEEP_INIT) == 0) continue;
        for (size_t i = 0; i < e->nvar && !need[k]; i++)
            for (size_t j = i + 1; j < e->nvar && !need[k]; j++)
                if (strcmp(e->var[i].act, e->var[j].act) == 0 &&
                    strcmp(e->sweepval[i * e->nsweep + k], e->sweepval[j * e->nsweep + k]) != 0)
                    need[k] = 1;
    }
    for (size_t i = 0; i < e->nvar; i++) {
        ck_variant *v = &e->var[i];
        size_t n = (size_t)snprintf(v->label, sizeof v->label, "%s", v->init);
        for (size_t k = 0; k < e->nsweep && n < sizeof v->label; k++) {
            const char *key = ck_short_key(e->sweep[k]), *val = e->sweepval[i * e->nsweep + k];
            if (!need[k] || label_says(v->init, key, val)) continue;
            n += (size_t)snprintf(v->label + n, sizeof v->label - n, ", %s=%s", key, val);
        }
    }
    /* Two variants of one activation still alike (a sweep value that gives the same
     * label, e.g. a parameter spelled out at its default): their numbers tell them apart. */
    for (size_t i = 0; i < e->nvar; i++)
        for (size_t j = i + 1; j < e->nvar; j++)
            if (strcmp(e->var[i].act, e->var[j].act) == 0 && strcmp(e->var[i].label, e->var[j].label) == 0) {
                char same[400];
                snprintf(same, sizeof same, "%s", e->var[i].label);
                for (size_t k = i; k < e->nvar; k++)
                    if (strcmp(e->var[k].act, e->var[i].act) == 0 && strcmp(e->var[k].label, same) == 0) {
                        size_t n = strlen(e->var[k].label);
                        snprintf(e->var[k].label + n, sizeof e->var[k].label - n, " [#%d]", e->var[k].id);
                    }
            }
    for (size_t i = 0; i < e->nvar; i++)
        snprintf(e->var[i].name, sizeof e->var[i].name, "%s / %s", e->var[i].act, e->var[i].label);
    free(need);
    e->act = calloc(e->nvar, sizeof *e->act);
    e->style = calloc(e->nvar, sizeof *e->style);
    if (!e->act || !e->style) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < e->nvar; i++) {
        ck_variant *v = &e->var[i];
        int a = str_index(e->act, e->nact, v->act);
        if (a < 0) { a = (int)e->nact; e->act[e->nact++] = v->act; }
        v->panel = a;
        int s = str_index(e->style, e->nstyle, v->label);
        if (s < 0) { s = (int)e->nstyle; e->style[e->nstyle++] = v->label; }
        v->style = s;
    }
    return VP_OK;
}

/* Ascending order of number cells (each parses: the colour key is numeric). */
static int cmp_num_cell(const void *a, const void *b)
{
    double x = NAN, y = NAN;
    vp_table_parse_num(*(const char *const *)a, &x);
    vp_table_parse_num(*(const char *const *)b, &y);
    return (x > y) - (x < y);
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
    size_t *count = calloc(e->nact + 1, sizeof *count), maxc = 0;
    if (!count) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < e->nvar; i++)
        if (++count[e->var[i].panel] > maxc) maxc = count[e->var[i].panel];
    free(count);
    if (maxc <= LEGEND_CURVES || e->nsweep == 0) return VP_OK;
    int *vary = calloc(e->nsweep, sizeof *vary);
    const char **vals = calloc(e->nvar + 1, sizeof *vals);
    if (!vary || !vals) { free(vary); free(vals); return vp_fail(err, VP_ERR_NOMEM, "out of memory"); }
    size_t best = 0;
    for (size_t k = 0; k < e->nsweep; k++) {
        if (strcmp(e->sweep[k], VP_SWEEP_ACTIVATION) == 0) continue;
        int numeric = 1;
        size_t nv = 0;
        for (size_t i = 0; i < e->nvar; i++) {
            const char *v = e->sweepval[i * e->nsweep + k];
            double x;
            numeric &= vp_table_parse_num(v, &x) == VP_TABLE_NUM_OK && isfinite(x);
            if (str_index(vals, nv, v) < 0) vals[nv++] = v;
            for (size_t j = 0; j < i && !vary[k]; j++)
                vary[k] = e->var[j].panel == e->var[i].panel && strcmp(e->sweepval[j * e->nsweep + k], v) != 0;
        }
        if (vary[k] && numeric && nv > best) { best = nv; e->colour_key = (int)k; }
    }
    vp_status s = VP_OK;
    if (e->colour_key < 0) goto end;
    /* the colour key's values, ascending, and each variant's rank among them */
    size_t ck = (size_t)e->colour_key;
    e->ncolour = 0;
    for (size_t i = 0; i < e->nvar; i++) {
        const char *v = e->sweepval[i * e->nsweep + ck];
        if (str_index(vals, e->ncolour, v) < 0) vals[e->ncolour++] = v;
    }
    qsort(vals, e->ncolour, sizeof *vals, cmp_num_cell);
    for (size_t i = 0; i < e->nvar; i++) e->var[i].rank = str_index(vals, e->ncolour, e->sweepval[i * e->nsweep + ck]);
    e->colour_vals = vals;
    vals = NULL;
    /* panels: the activation and every other key that varies within an activation */
    e->act_owned = calloc(e->nvar, sizeof *e->act_owned);
    if (!e->act_owned) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    e->nact = 0;
    for (size_t i = 0; i < e->nvar; i++) {
        char t[600];
        size_t n = (size_t)snprintf(t, sizeof t, "%s", e->var[i].act);
        for (size_t k = 0; k < e->nsweep && n < sizeof t; k++)
            if (vary[k] && k != ck)
                n += (size_t)snprintf(t + n, sizeof t - n, ", %s=%s", ck_short_key(e->sweep[k]), e->sweepval[i * e->nsweep + k]);
        int a = str_index((const char **)e->act_owned, e->nact, t);
        if (a < 0) {
            if (!(e->act_owned[e->nact] = strdup(t))) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
            a = (int)e->nact++;
        }
        e->var[i].panel = a;
    }
    for (size_t a = 0; a < e->nact; a++) e->act[a] = e->act_owned[a];
end:
    free(vary);
    free(vals);
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
