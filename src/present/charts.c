/* charts: see charts.h. Layout of this file: the experiment model built from
 * the CSV files, helpers (text, data files, page layout, styles), one section
 * per chart, and the driver vp_charts_draw.
 *
 * Conventions shared by every chart:
 *  - data file <stem>.dat: whitespace-separated numbers, '?' for a missing
 *    value (non-finite, or not positive where the axis is logarithmic), one
 *    block per curve separated by two blank lines (gnuplot `index k`);
 *  - one style per curve identity (the initializer label, plus whichever swept
 *    keys are needed to tell two variants with the same activation and
 *    initializer apart): `set linetype` k gets a colour and a point type, and
 *    the same identity has the same linetype in every chart of the experiment;
 *  - measured curves are solid with points, theory curves dashed, seed ranges
 *    shaded; legends sit in a reserved strip at the bottom so they never cover
 *    data; all text from the config is quoted (vp_plot_quote) and noenhanced.
 */
#include "present/charts.h"
#include "base/fsutil.h"
#include "present/plot.h"
#include "present/report.h"
#include "results/table.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_PANELS 12     /* panels per chart; more are left out (and said so) */
#define MAX_CURVES 10     /* curves per panel; evenly spaced subset beyond */
#define MAX_KEY 16        /* legend entries */
#define MAX_LT 64         /* linetypes defined; styles beyond reuse them */
#define MAX_HIST_LAYERS 8
#define MAX_LABELS 24     /* overview: variants with full tick labels */
#define QLEN 1200         /* buffer for one quoted string */

/* ---- small helpers ---- */

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) { b->oom = 1; return; }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_reset(sbuf *b) { b->len = 0; if (b->s) b->s[0] = '\0'; }

/* Copy text into a comment or label context: control characters become spaces. */
static void clean_copy(char *out, size_t len, const char *s)
{
    snprintf(out, len, "%s", s);
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7F) *c = ' ';
}

static void clean_inplace(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7F) *s = ' ';
}

static void put_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, " %.9g", v);
    else fputs(" ?", f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of v[0..n) (sorted in place); NaN if n == 0. */
static void summarize(double *v, size_t n, double *med, double *lo, double *hi)
{
    if (n == 0) { *med = *lo = *hi = NAN; return; }
    qsort(v, n, sizeof *v, cmp_double);
    *lo = v[0];
    *hi = v[n - 1];
    *med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Evenly spaced subset of k out of n (k <= n): the j-th pick. */
static size_t pick(size_t j, size_t k, size_t n)
{
    return k <= 1 ? 0 : (size_t)((double)j * (double)(n - 1) / (double)(k - 1) + 0.5);
}

/* A round tic step giving about four intervals over `range`. */
static double nice_step(double range)
{
    double raw = range / 4, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* ---- the experiment model ---- */

typedef struct {
    int id;               /* the `variant` column */
    const char *act;      /* borrowed from a table */
    const char *init;
    int panel;            /* index into e->act */
    int style;            /* curve identity */
    char label[400];      /* legend: init label (+ distinguishing sweep values) */
    char name[600];       /* "activation / label" */
} variant;

typedef struct {
    const char *results_dir, *plots_dir;
    cJSON *cfg;
    char name[256];
    char subtitle[400];
    vp_table *layers, *runs, *hist, *jac;
    variant *var;
    size_t nvar;
    int *pos;             /* variant id -> index in var, -1 if absent */
    size_t npos;
    const char **act;     /* distinct activation labels (panels) */
    size_t nact;
    const char **style;   /* distinct curve labels */
    size_t nstyle;
    const char **sweep;   /* swept keys (from config.json "sweep") */
    size_t nsweep;
    const char **sweepval; /* nvar * nsweep cells, borrowed ("" if unknown) */
    int *lrow_var, *lrow_layer; /* per layers.csv row: variant index, layer */
    int nlayer;
    size_t nseeds;
    vp_report_chart *charts;
    size_t ncharts;
} exper;

static vp_status need_col(const vp_table *t, const char *name, size_t *c, vp_err *err)
{
    return vp_table_require(t, name, c, err);
}

/* Integer cell in [lo, hi]. */
static vp_status int_cell(const vp_table *t, size_t r, size_t c, long lo, long hi, long *out, vp_err *err)
{
    double v;
    vp_status s = vp_table_num(t, r, c, &v, err);
    if (s) return s;
    if (!(v >= (double)lo && v <= (double)hi) || v != floor(v))
        return vp_fail(err, VP_ERR_DATA, "%s:%zu: column '%s': '%s' is not an integer in [%ld, %ld]",
                       vp_table_name(t), vp_table_line(t, r), vp_table_colname(t, c),
                       vp_table_cell(t, r, c), lo, hi);
    *out = (long)v;
    return VP_OK;
}

static int str_index(const char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return (int)i;
    return -1;
}

/* Register variant `id` seen in row r of t (activation/init must agree). */
static vp_status see_variant(exper *e, const vp_table *t, size_t r, long id, size_t ca, size_t ci, vp_err *err)
{
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
        variant *v = &e->var[e->pos[id]];
        if (strcmp(v->act, act) != 0 || strcmp(v->init, init) != 0)
            return vp_fail(err, VP_ERR_DATA, "%s:%zu: variant %ld is '%s' / '%s' here but '%s' / '%s' elsewhere",
                           vp_table_name(t), vp_table_line(t, r), id, act, init, v->act, v->init);
        return VP_OK;
    }
    variant *nv = realloc(e->var, (e->nvar + 1) * sizeof *nv);
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
    const variant *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Swept keys, in config order, from config.json's "sweep" object. */
static vp_status read_sweep_keys(exper *e, vp_err *err)
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
static vp_status fill_sweep_values(exper *e, vp_err *err)
{
    if (e->nsweep == 0) return VP_OK;
    e->sweepval = calloc(e->nvar * e->nsweep, sizeof *e->sweepval);
    if (!e->sweepval) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < e->nvar * e->nsweep; i++) e->sweepval[i] = "";
    const vp_table *tabs[2] = { e->runs, e->layers };
    for (int ti = 0; ti < 2; ti++) {
        const vp_table *t = tabs[ti];
        size_t cv;
        if (need_col(t, "variant", &cv, err)) return VP_ERR_DATA;
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

/* Legend labels: the initializer, plus the swept keys (other than activation
 * and initializer) that differ between variants sharing both. */
static vp_status make_labels(exper *e, vp_err *err)
{
    int *need = calloc(e->nsweep ? e->nsweep : 1, sizeof *need);
    if (!need) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < e->nsweep; k++) {
        if (strcmp(e->sweep[k], "network.activation") == 0 || strcmp(e->sweep[k], "network.init") == 0) continue;
        for (size_t i = 0; i < e->nvar && !need[k]; i++)
            for (size_t j = i + 1; j < e->nvar && !need[k]; j++)
                if (strcmp(e->var[i].act, e->var[j].act) == 0 && strcmp(e->var[i].init, e->var[j].init) == 0 &&
                    strcmp(e->sweepval[i * e->nsweep + k], e->sweepval[j * e->nsweep + k]) != 0)
                    need[k] = 1;
    }
    for (size_t i = 0; i < e->nvar; i++) {
        variant *v = &e->var[i];
        size_t n = (size_t)snprintf(v->label, sizeof v->label, "%s", v->init);
        for (size_t k = 0; k < e->nsweep && n < sizeof v->label; k++) {
            if (!need[k]) continue;
            const char *dot = strrchr(e->sweep[k], '.');
            n += (size_t)snprintf(v->label + n, sizeof v->label - n, ", %s=%s",
                                  dot ? dot + 1 : e->sweep[k], e->sweepval[i * e->nsweep + k]);
        }
        snprintf(v->name, sizeof v->name, "%s / %s", v->act, v->label);
    }
    free(need);
    e->act = calloc(e->nvar, sizeof *e->act);
    e->style = calloc(e->nvar, sizeof *e->style);
    if (!e->act || !e->style) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < e->nvar; i++) {
        variant *v = &e->var[i];
        int a = str_index(e->act, e->nact, v->act);
        if (a < 0) { a = (int)e->nact; e->act[e->nact++] = v->act; }
        v->panel = a;
        int s = str_index(e->style, e->nstyle, v->label);
        if (s < 0) { s = (int)e->nstyle; e->style[e->nstyle++] = v->label; }
        v->style = s;
    }
    return VP_OK;
}

static double cfg_num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* "width 512 · depth 50 · batch 1024 · 3 seeds · float32" from config.json. */
static void make_subtitle(exper *e)
{
    char *s = e->subtitle;
    size_t len = sizeof e->subtitle, n = 0;
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(e->cfg, "network");
    double w = cfg_num(e->cfg, "network", "width");
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(net, "widths");
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
    double d = cfg_num(e->cfg, "network", "depth");
    if (!isfinite(d)) d = e->nlayer;
    n += (size_t)snprintf(s + n, len - n, "%sdepth %g", n ? " · " : "", d);
    double b = cfg_num(e->cfg, "input", "batch");
    if (isfinite(b) && n < len) n += (size_t)snprintf(s + n, len - n, " · batch %g", b);
    if (n < len) n += (size_t)snprintf(s + n, len - n, " · %zu seed%s", e->nseeds, e->nseeds == 1 ? "" : "s");
    const cJSON *prec = cJSON_GetObjectItemCaseSensitive(e->cfg, "precision");
    if (cJSON_IsString(prec) && n < len) snprintf(s + n, len - n, " · %s", prec->valuestring);
    clean_inplace(e->subtitle);
}

static vp_status load_table(const char *dir, const char *file, int optional, vp_table **out, vp_err *err)
{
    char path[4096];
    *out = NULL;
    vp_status s = vp_path_join(path, sizeof path, dir, file, err);
    if (s) return s;
    struct stat st;
    if (optional && stat(path, &st) != 0 && errno == ENOENT) return VP_OK;
    return vp_table_load(path, out, err);
}

static vp_status build_model(exper *e, vp_err *err)
{
    vp_status s;
    if ((s = vp_report_read_config(e->results_dir, &e->cfg, err))) return s;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e->cfg, "name");
    clean_copy(e->name, sizeof e->name, cJSON_IsString(nm) ? nm->valuestring : "varprop");
    if ((s = load_table(e->results_dir, "layers.csv", 0, &e->layers, err))) return s;
    if ((s = load_table(e->results_dir, "runs.csv", 0, &e->runs, err))) return s;
    if ((s = load_table(e->results_dir, "histograms.csv", 1, &e->hist, err))) return s;
    if ((s = load_table(e->results_dir, "jacobian.csv", 1, &e->jac, err))) return s;
    if ((s = read_sweep_keys(e, err))) return s;

    size_t cv, ca, ci, cl, cs;
    const vp_table *r = e->runs;
    if ((s = need_col(r, "variant", &cv, err)) || (s = need_col(r, "activation", &ca, err)) ||
        (s = need_col(r, "init", &ci, err)) || (s = need_col(r, "seed", &cs, err)))
        return s;
    const char **seeds = calloc(vp_table_nrows(r) + 1, sizeof *seeds);
    if (!seeds) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < vp_table_nrows(r); i++) {
        long id;
        if ((s = int_cell(r, i, cv, 0, 1000000, &id, err)) || (s = see_variant(e, r, i, id, ca, ci, err))) {
            free(seeds);
            return s;
        }
        const char *sd = vp_table_cell(r, i, cs);
        if (str_index(seeds, e->nseeds, sd) < 0) seeds[e->nseeds++] = sd;
    }
    free(seeds);
    const cJSON *cs_arr = cJSON_GetObjectItemCaseSensitive(e->cfg, "seeds");
    if (cJSON_IsArray(cs_arr) && cJSON_GetArraySize(cs_arr) > 0) e->nseeds = (size_t)cJSON_GetArraySize(cs_arr);

    const vp_table *l = e->layers;
    if ((s = need_col(l, "variant", &cv, err)) || (s = need_col(l, "activation", &ca, err)) ||
        (s = need_col(l, "init", &ci, err)) || (s = need_col(l, "layer", &cl, err)))
        return s;
    size_t nr = vp_table_nrows(l);
    e->lrow_var = malloc((nr + 1) * sizeof *e->lrow_var);
    e->lrow_layer = malloc((nr + 1) * sizeof *e->lrow_layer);
    if (!e->lrow_var || !e->lrow_layer) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nr; i++) {
        long id, layer;
        if ((s = int_cell(l, i, cv, 0, 1000000, &id, err)) || (s = see_variant(e, l, i, id, ca, ci, err)) ||
            (s = int_cell(l, i, cl, 1, 100000, &layer, err)))
            return s;
        e->lrow_layer[i] = (int)layer;
        if (layer > e->nlayer) e->nlayer = (int)layer;
    }
    if (e->nvar == 0) return vp_fail(err, VP_ERR_DATA, "%s: no runs to plot", vp_table_name(r));
    /* Variants in id order; rebuild the id map and the row -> variant index. */
    qsort(e->var, e->nvar, sizeof *e->var, cmp_variant);
    for (size_t i = 0; i < e->nvar; i++) e->pos[e->var[i].id] = (int)i;
    for (size_t i = 0; i < nr; i++) {
        double v;
        vp_table_num(l, i, cv, &v, NULL);
        e->lrow_var[i] = e->pos[(int)v];
    }
    if ((s = fill_sweep_values(e, err)) || (s = make_labels(e, err))) return s;
    make_subtitle(e);
    return VP_OK;
}

static void free_model(exper *e)
{
    cJSON_Delete(e->cfg);
    vp_table_free(e->layers);
    vp_table_free(e->runs);
    vp_table_free(e->hist);
    vp_table_free(e->jac);
    free(e->var);
    free(e->pos);
    free(e->act);
    free(e->style);
    free(e->sweep);
    free(e->sweepval);
    free(e->lrow_var);
    free(e->lrow_layer);
    free(e->charts);
}

/* ---- styles and page layout ---- */

/* Okabe-Ito colours (colour-blind safe) and point types that differ in shape
 * and fill, so curves stay apart in greyscale. */
static const char *const COLOURS[] = { "#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                       "#E69F00", "#56B4E9", "#000000", "#8C6D31" };
static const int POINTS[] = { 7, 5, 9, 11, 13, 4, 6, 8 };
/* Sequential colours for layers (dark = early), with dash types cycling. */
static const char *const LAYER_COLOURS[] = { "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60",
                                             "#cf4446", "#ed6925", "#fb9b06", "#c7a600" };

#define NCOL (sizeof COLOURS / sizeof COLOURS[0])

static int lt_of(int style) { return style % MAX_LT + 1; }

static void define_styles(vp_plot *p, const exper *e)
{
    size_t n = e->nstyle < MAX_LT ? e->nstyle : MAX_LT;
    for (size_t i = 0; i < n; i++)
        vp_plot_cmd(p, "set linetype %zu lc rgb '%s' lw 2 pt %d ps 1.1 dt solid", i + 1,
                    COLOURS[i % NCOL], POINTS[(i + i / NCOL) % NCOL]);
}

typedef struct {
    double l, r, b, t;
} box;

static void set_margins(vp_plot *p, box b)
{
    vp_plot_cmd(p, "set lmargin at screen %.4f; set rmargin at screen %.4f; "
                   "set bmargin at screen %.4f; set tmargin at screen %.4f",
                b.l, b.r, b.b, b.t);
}

/* Plot areas for n panels in the screen band [bottom, top]; returns columns. */
static int grid(size_t n, double bottom, double top, box *out)
{
    int cols = n <= 3 ? (int)n : n == 4 ? 2 : n <= 9 ? 3 : 4;
    int rows = (int)((n + (size_t)cols - 1) / (size_t)cols);
    double cw = (0.99 - 0.01) / cols, ch = (top - bottom) / rows;
    for (size_t i = 0; i < n; i++) {
        int r = (int)i / cols, c = (int)i % cols;
        double x0 = 0.01 + c * cw, y1 = top - r * ch;
        out[i] = (box){ x0 + 0.075, x0 + cw - 0.02, y1 - ch + 0.075, y1 - 0.045 };
    }
    return cols;
}

static const char *const TERMINALS[2] = {
    "pngcairo size 1200,800 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'",
    "svg size 1200,800 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'",
};
static const char *const EXTS[2] = { "png", "svg" };

/* The page title: experiment name and chart, then the setup line. */
static void page_title(vp_plot *p, const exper *e, const char *what)
{
    char t[700], q1[QLEN], q2[QLEN];
    snprintf(t, sizeof t, "%s: %s", e->name, what);
    vp_plot_cmd(p, "set multiplot title %s.\"\\n\".%s font ',13' noenhanced",
                vp_plot_quote(q1, sizeof q1, t), vp_plot_quote(q2, sizeof q2, e->subtitle));
}

/* Height of a bottom legend strip for `n` entries of at most `maxlen` chars. */
static int key_cols(size_t maxlen) { return maxlen <= 26 ? 4 : maxlen <= 40 ? 3 : maxlen <= 64 ? 2 : 1; }
static double key_height(size_t n, int cols)
{
    size_t rows = (n + (size_t)cols - 1) / (size_t)cols;
    return 0.02 + 0.032 * (double)rows;
}

/* Draw the legend strip: `elems` are plot elements of NaN curves with titles. */
static void key_strip(vp_plot *p, const char *elems, double height, int cols)
{
    set_margins(p, (box){ 0.01, 0.99, 0.005, height });
    vp_plot_cmd(p, "unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; "
                   "unset logscale; unset label; unset arrow; unset colorbox");
    vp_plot_cmd(p, "set xrange [0:1]; set yrange [0:1]");
    vp_plot_cmd(p, "set key at screen 0.5, %.4f center center horizontal maxcols %d Left reverse "
                   "samplen 3 spacing 1.3 width 2 noenhanced nobox",
                height / 2 + 0.003, cols);
    vp_plot_cmd(p, "plot %s", elems);
}

/* ---- data files and rendering ---- */

static vp_status dat_open(const exper *e, const char *stem, vp_afile *af, vp_err *err)
{
    char path[4096], file[128];
    snprintf(file, sizeof file, "%s.dat", stem);
    vp_status s = vp_path_join(path, sizeof path, e->plots_dir, file, err);
    if (s) return s;
    if ((s = vp_afile_open(af, path, err))) return s;
    char nm[300];
    clean_copy(nm, sizeof nm, e->name);
    fprintf(af->fp, "# varprop chart data for %s.gp, experiment '%s' (from %s)\n", stem, nm, e->results_dir);
    return VP_OK;
}

typedef void (*body_fn)(vp_plot *p, const exper *e, const void *ctx);

static vp_status render(exper *e, const char *stem, const char *sources, body_fn body, const void *ctx, vp_err *err)
{
    vp_plot *p;
    char script[96], out[96];
    snprintf(script, sizeof script, "%s.gp", stem);
    vp_status s = vp_plot_open(&p, e->plots_dir, script, err);
    if (s) return s;
    vp_plot_comment(p, "varprop chart '%s' of experiment '%s', drawn from %s (tidy copy: %s.dat)",
                    stem, e->name, sources, stem);
    vp_plot_comment(p, "Redraw by hand: cd into this folder, then: gnuplot %s", script);
    vp_plot_cmd(p, "set encoding utf8");
    define_styles(p, e);
    for (int t = 0; t < 2; t++) {
        vp_plot_cmd(p, "set terminal %s", TERMINALS[t]);
        snprintf(out, sizeof out, "%s.%s", stem, EXTS[t]);
        vp_plot_output(p, out);
        vp_plot_cmd(p, "reset");
        vp_plot_cmd(p, "set datafile missing '?'");
        body(p, e, ctx);
        vp_plot_cmd(p, "unset multiplot");
    }
    s = vp_plot_close(p, err);
    if (s) vp_err_prefix(err, "chart %s", stem);
    return s;
}

static vp_status add_chart(exper *e, const char *stem, const char *title, const char *caption,
                           const char *notes, vp_err *err)
{
    vp_report_chart *c = realloc(e->charts, (e->ncharts + 1) * sizeof *c);
    if (!c) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    e->charts = c;
    c = &e->charts[e->ncharts++];
    memset(c, 0, sizeof *c);
    snprintf(c->stem, sizeof c->stem, "%s", stem);
    snprintf(c->title, sizeof c->title, "%s", title);
    snprintf(c->caption, sizeof c->caption, "%s", caption);
    snprintf(c->notes, sizeof c->notes, "%s", notes);
    return VP_OK;
}

/* Variants (indices into e->var) drawn in panel `panel`; at most MAX_CURVES. */
static size_t panel_curves(const exper *e, int panel, const int *has, size_t *out, size_t *total)
{
    size_t all[4096], n = 0, k;
    for (size_t i = 0; i < e->nvar && n < 4096; i++)
        if (e->var[i].panel == panel && (!has || has[i])) all[n++] = i;
    *total = n;
    k = n < MAX_CURVES ? n : MAX_CURVES;
    for (size_t j = 0; j < k; j++) out[j] = all[pick(j, k, n)];
    return k;
}

/* Append "N more ..." notes for panels and curves that were left out. */
static void note_subsets(const exper *e, const int *has, char *notes, size_t len)
{
    size_t n = strlen(notes), curves[MAX_CURVES], total;
    if (e->nact > MAX_PANELS)
        n += (size_t)snprintf(notes + n, len > n ? len - n : 0,
                              "Only the first %d of %zu activations have a panel. ", MAX_PANELS, e->nact);
    for (size_t a = 0; a < e->nact && a < MAX_PANELS; a++) {
        size_t k = panel_curves(e, (int)a, has, curves, &total);
        if (k < total && n < len)
            n += (size_t)snprintf(notes + n, len - n, "Panel %s shows %zu evenly spaced of %zu variants. ",
                                  e->act[a], k, total);
    }
}

/* Legend entries for the styles used by the shown curves (+ extras). */
static size_t style_key(const exper *e, const int *has, sbuf *b, size_t *maxlen, const char *kind)
{
    int used[MAX_LT] = { 0 };
    size_t curves[MAX_CURVES], total, n = 0;
    char q[QLEN];
    for (size_t a = 0; a < e->nact && a < MAX_PANELS; a++) {
        size_t k = panel_curves(e, (int)a, has, curves, &total);
        for (size_t j = 0; j < k; j++) {
            int st = e->var[curves[j]].style;
            if (used[st % MAX_LT] || n >= MAX_KEY) continue;
            used[st % MAX_LT] = 1;
            sb_printf(b, "%sNaN with %s lt %d title %s", n ? ", " : "", kind, lt_of(st),
                      vp_plot_quote(q, sizeof q, e->style[st]));
            size_t l = strlen(e->style[st]);
            if (l > *maxlen) *maxlen = l;
            n++;
        }
    }
    return n;
}

/* ---- charts 1-3: variance by layer ---- */

typedef struct {
    const char *stem, *column, *theory; /* theory column or NULL */
    const char *ylabel;                 /* enhanced text */
    const char *what;                   /* title words */
    const char *caption;
} line_spec;

typedef struct {
    const line_spec *spec;
    int *has;            /* per variant: any drawable point */
    int *has_theory;
    size_t *panel_points; /* drawable points per panel */
    int band;             /* more than one seed: draw min-max bands */
} line_ctx;

static void line_body(vp_plot *p, const exper *e, const void *vctx)
{
    const line_ctx *c = vctx;
    const line_spec *sp = c->spec;
    sbuf b = { 0 };
    char q[QLEN];
    size_t maxlen = 0, nkey;
    int any_theory = 0;
    for (size_t i = 0; i < e->nvar; i++) any_theory |= c->has_theory[i];
    nkey = style_key(e, c->has, &b, &maxlen, "linespoints");
    if (any_theory) { sb_printf(&b, ", NaN with lines lc rgb '#444444' lw 1.5 dt 2 title 'theory (dashed)'"); nkey++; }
    if (c->band) {
        sb_printf(&b, ", NaN with filledcurves lc rgb '#bbbbbb' fs solid 1.0 noborder title 'min–max over %zu seeds (shaded)'",
                  e->nseeds);
        nkey++;
        if (maxlen < 28) maxlen = 28;
    }
    int kc = key_cols(maxlen);
    double kh = key_height(nkey, kc);
    size_t np = e->nact < MAX_PANELS ? e->nact : MAX_PANELS;
    box boxes[MAX_PANELS];
    int cols = grid(np, kh + 0.01, 0.9, boxes);

    page_title(p, e, sp->what);
    for (size_t a = 0; a < np; a++) {
        set_margins(p, boxes[a]);
        vp_plot_cmd(p, "set title %s noenhanced", vp_plot_quote(q, sizeof q, e->act[a]));
        vp_plot_cmd(p, "unset key; set logscale y; set format y '10^{%%L}'; set mytics 10");
        vp_plot_cmd(p, "set grid xtics ytics lt 1 lc rgb '#e0e0e0' lw 1");
        vp_plot_cmd(p, "set xlabel 'layer {/:Italic l}'");
        if (a % (size_t)cols == 0) vp_plot_cmd(p, "set ylabel '%s'", sp->ylabel);
        else vp_plot_cmd(p, "unset ylabel");
        if (e->nlayer > 1) vp_plot_cmd(p, "set xrange [1:%d]; set xtics %.0f", e->nlayer,
                                       fmax(1, nice_step((double)e->nlayer - 1)));
        else vp_plot_cmd(p, "set xrange [0.5:1.5]; set xtics 1");
        /* Keep flat curves off the frame. */
        vp_plot_cmd(p, "set offsets 0, 0, graph 0.04, graph 0.04");
        if (c->panel_points[a] == 0) {
            vp_plot_cmd(p, "set yrange [0.1:10]");
            vp_plot_cmd(p, "set label 1 'no finite positive values to draw' at graph 0.5, 0.5 center");
            vp_plot_cmd(p, "plot NaN notitle");
            vp_plot_cmd(p, "unset label 1; set autoscale y");
            continue;
        }
        vp_plot_cmd(p, "set autoscale y");
        size_t curves[MAX_CURVES], total;
        size_t k = panel_curves(e, (int)a, c->has, curves, &total);
        int pi = e->nlayer > 12 ? e->nlayer / 10 : 1;
        sb_reset(&b);
        const char *sep = "";
        /* Bands first, then measurements, then theory, so lines stay on top. */
        if (c->band)
            for (size_t j = 0; j < k; j++, sep = ", ")
                sb_printf(&b, "%s'%s.dat' index %zu using 1:3:4 with filledcurves lt %d fs transparent solid 0.15 noborder notitle",
                          sep, sp->stem, curves[j], lt_of(e->var[curves[j]].style));
        for (size_t j = 0; j < k; j++, sep = ", ")
            sb_printf(&b, "%s'%s.dat' index %zu using 1:2 with linespoints lt %d pi %d notitle",
                      sep, sp->stem, curves[j], lt_of(e->var[curves[j]].style), pi);
        for (size_t j = 0; j < k; j++)
            if (c->has_theory[curves[j]])
                sb_printf(&b, ", '%s.dat' index %zu using 1:5 with lines lt %d lw 1.5 dt 2 notitle",
                          sp->stem, curves[j], lt_of(e->var[curves[j]].style));
        vp_plot_cmd(p, "plot %s", b.s);
    }
    sb_reset(&b);
    nkey = style_key(e, c->has, &b, &maxlen, "linespoints");
    if (any_theory) sb_printf(&b, ", NaN with lines lc rgb '#444444' lw 1.5 dt 2 title 'theory (dashed)'");
    if (c->band)
        sb_printf(&b, ", NaN with filledcurves lc rgb '#bbbbbb' fs solid 1.0 noborder title 'min–max over %zu seeds (shaded)'",
                  e->nseeds);
    key_strip(p, b.oom ? "NaN notitle" : b.s, kh, kc);
    free(b.s);
}

/* Aggregate layers.csv column `col` per (variant, layer): median/min/max over
 * seeds of the finite positive values; writes <stem>.dat and fills ctx. */
static vp_status line_chart(exper *e, const line_spec *sp, vp_err *err)
{
    const vp_table *t = e->layers;
    int cc = vp_table_find(t, sp->column);
    if (cc < 0) return VP_OK; /* an older results folder without this statistic */
    int ct = sp->theory ? vp_table_find(t, sp->theory) : -1;
    size_t nr = vp_table_nrows(t), L = (size_t)e->nlayer, nb = e->nvar * L;
    size_t *cnt = calloc(nb + 1, sizeof *cnt), *off = calloc(nb + 1, sizeof *off);
    double *val = malloc((nr + 1) * sizeof *val), *th = malloc((nr + 1) * sizeof *th);
    line_ctx c = { .spec = sp, .band = e->nseeds > 1 };
    c.has = calloc(e->nvar, sizeof *c.has);
    c.has_theory = calloc(e->nvar, sizeof *c.has_theory);
    c.panel_points = calloc(e->nact, sizeof *c.panel_points);
    vp_afile af = { 0 };
    vp_status s = VP_OK;
    size_t nonfinite = 0, nonpos = 0;
    if (!cnt || !off || !val || !th || !c.has || !c.has_theory || !c.panel_points) {
        s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        goto end;
    }
    for (size_t r = 0; r < nr; r++) cnt[(size_t)e->lrow_var[r] * L + (size_t)e->lrow_layer[r] - 1]++;
    for (size_t i = 1; i <= nb; i++) off[i] = off[i - 1] + cnt[i - 1];
    size_t *fillv = calloc(nb + 1, sizeof *fillv), *fillt = calloc(nb + 1, sizeof *fillt);
    if (!fillv || !fillt) { free(fillv); free(fillt); s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    for (size_t r = 0; r < nr && !s; r++) {
        size_t bi = (size_t)e->lrow_var[r] * L + (size_t)e->lrow_layer[r] - 1;
        double v;
        if ((s = vp_table_num(t, r, (size_t)cc, &v, err))) break;
        if (!isfinite(v)) nonfinite++;
        else if (v <= 0) nonpos++;
        else val[off[bi] + fillv[bi]++] = v;
        if (ct >= 0) {
            if ((s = vp_table_num(t, r, (size_t)ct, &v, err))) break;
            if (isfinite(v) && v > 0) th[off[bi] + fillt[bi]++] = v;
        }
    }
    if (!s && !(s = dat_open(e, sp->stem, &af, err))) {
        fprintf(af.fp, "# %s by layer: median, min and max over seeds of the finite positive values; "
                       "theory = %s (median over seeds); '?' = nothing to draw\n",
                sp->column, sp->theory ? sp->theory : "none");
        for (size_t i = 0; i < e->nvar; i++) {
            char lab[700];
            clean_copy(lab, sizeof lab, e->var[i].name);
            fprintf(af.fp, "%s# index %zu: variant %d, %s\n# layer median min max theory n\n",
                    i ? "\n\n" : "", i, e->var[i].id, lab);
            for (size_t l = 0; l < L; l++) {
                size_t bi = i * L + l;
                double med, lo, hi, tmed, tlo, thi;
                summarize(val + off[bi], fillv[bi], &med, &lo, &hi);
                summarize(th + off[bi], fillt[bi], &tmed, &tlo, &thi);
                fprintf(af.fp, "%zu", l + 1);
                put_num(af.fp, med);
                put_num(af.fp, lo);
                put_num(af.fp, hi);
                put_num(af.fp, tmed);
                fprintf(af.fp, " %zu\n", fillv[bi]);
                if (fillv[bi]) { c.has[i] = 1; c.panel_points[e->var[i].panel]++; }
                if (fillt[bi]) c.has_theory[i] = 1;
            }
        }
        s = vp_afile_commit(&af, err);
    }
    free(fillv);
    free(fillt);
    if (!s) s = render(e, sp->stem, "layers.csv", line_body, &c, err);
    if (!s) {
        char notes[800] = "";
        size_t n = 0;
        if (nonfinite || nonpos)
            n = (size_t)snprintf(notes, sizeof notes,
                                 "Not drawn on the log axis: %zu non-finite (nan/inf) and %zu non-positive of %zu values "
                                 "of %s; medians and ranges use the remaining seeds. ",
                                 nonfinite, nonpos, nr, sp->column);
        if (n < sizeof notes) note_subsets(e, c.has, notes + n, sizeof notes - n);
        s = add_chart(e, sp->stem, sp->what, sp->caption, notes, err);
    }
end:
    vp_afile_abort(&af);
    free(cnt);
    free(off);
    free(val);
    free(th);
    free(c.has);
    free(c.has_theory);
    free(c.panel_points);
    return s;
}

/* ---- chart 4: distributions (histograms.csv) ---- */

typedef struct {
    const char *stem, *quantity, *xlabel, *what;
    size_t npanel, nl;
    size_t panel_var[MAX_PANELS];
    long layer[MAX_HIST_LAYERS];
    int has[MAX_PANELS * MAX_HIST_LAYERS];
    double xlo[MAX_PANELS], xhi[MAX_PANELS]; /* range of the drawn bins */
    char seed[64];
} hist_ctx;

static const char *layer_colour(size_t k, size_t n) { return LAYER_COLOURS[pick(k, n, 8)]; }

static void hist_body(vp_plot *p, const exper *e, const void *vctx)
{
    const hist_ctx *c = vctx;
    sbuf b = { 0 };
    char q[QLEN];
    size_t nkey = c->nl + 0;
    int kc = 4;
    double kh = key_height(nkey, kc);
    box boxes[MAX_PANELS];
    int cols = grid(c->npanel, kh + 0.01, 0.9, boxes);
    char what[300];
    snprintf(what, sizeof what, "%s (seed %s)", c->what, c->seed);
    page_title(p, e, what);
    for (size_t i = 0; i < c->npanel; i++) {
        set_margins(p, boxes[i]);
        vp_plot_cmd(p, "set title %s noenhanced", vp_plot_quote(q, sizeof q, e->var[c->panel_var[i]].name));
        vp_plot_cmd(p, "unset key; set logscale y; set format y '10^{%%L}'");
        vp_plot_cmd(p, "set grid xtics ytics lt 1 lc rgb '#e0e0e0' lw 1");
        vp_plot_cmd(p, "set xlabel '%s'", c->xlabel);
        if (i % (size_t)cols == 0) vp_plot_cmd(p, "set ylabel 'density'");
        else vp_plot_cmd(p, "unset ylabel");
        if (c->xhi[i] > c->xlo[i]) vp_plot_cmd(p, "set xtics %.6g", nice_step(c->xhi[i] - c->xlo[i]));
        else vp_plot_cmd(p, "set xtics autofreq");
        sb_reset(&b);
        const char *sep = "";
        for (size_t k = 0; k < c->nl; k++) {
            if (!c->has[i * MAX_HIST_LAYERS + k]) continue;
            sb_printf(&b, "%s'%s.dat' index %zu using 1:2 with lines lw 2 lc rgb '%s' dt %zu notitle", sep,
                      c->stem, i * c->nl + k, layer_colour(k, c->nl), k % 5 + 1);
            sep = ", ";
        }
        if (!*sep) {
            vp_plot_cmd(p, "set xrange [0:1]; set yrange [0.1:10]");
            vp_plot_cmd(p, "set label 1 'no positive densities to draw' at graph 0.5, 0.5 center");
            vp_plot_cmd(p, "plot NaN notitle");
            vp_plot_cmd(p, "unset label 1; set autoscale");
            continue;
        }
        vp_plot_cmd(p, "plot %s", b.s);
    }
    sb_reset(&b);
    for (size_t k = 0; k < c->nl; k++)
        sb_printf(&b, "%sNaN with lines lw 2 lc rgb '%s' dt %zu title 'layer %ld'", k ? ", " : "",
                  layer_colour(k, c->nl), k % 5 + 1, c->layer[k]);
    key_strip(p, b.oom || !b.s ? "NaN notitle" : b.s, kh, kc);
    free(b.s);
}

typedef struct {
    double lo, hi, d;
} bin;

static int cmp_bin(const void *a, const void *b)
{
    const bin *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static vp_status hist_chart(exper *e, const char *quantity, const char *stem, const char *xlabel,
                            const char *what, const char *caption, vp_err *err)
{
    const vp_table *t = e->hist;
    size_t cv, cs, cl, cq, clo, chi, cd;
    vp_status s;
    if ((s = need_col(t, "variant", &cv, err)) || (s = need_col(t, "seed", &cs, err)) ||
        (s = need_col(t, "layer", &cl, err)) || (s = need_col(t, "quantity", &cq, err)) ||
        (s = need_col(t, "bin_lo", &clo, err)) || (s = need_col(t, "bin_hi", &chi, err)) ||
        (s = need_col(t, "density", &cd, err)))
        return s;
    size_t nr = vp_table_nrows(t);
    hist_ctx *c = calloc(1, sizeof *c);
    long *layers = malloc((nr + 1) * sizeof *layers);
    int *vhas = calloc(e->nvar, sizeof *vhas);
    bin *bins = malloc((nr + 1) * sizeof *bins);
    vp_afile af = { 0 };
    size_t nonfinite = 0, nonpos = 0, total = 0;
    if (!c || !layers || !vhas || !bins) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    c->stem = stem;
    c->quantity = quantity;
    c->xlabel = xlabel;
    c->what = what;
    /* The first seed in the file; the layers and variants it has. */
    size_t nlay = 0;
    for (size_t r = 0; r < nr; r++) {
        if (strcmp(vp_table_cell(t, r, cq), quantity) != 0) continue;
        if (!c->seed[0]) clean_copy(c->seed, sizeof c->seed, vp_table_cell(t, r, cs));
        if (strcmp(vp_table_cell(t, r, cs), c->seed) != 0) continue;
        long id, layer;
        if ((s = int_cell(t, r, cv, 0, 1000000, &id, err)) || (s = int_cell(t, r, cl, 1, 100000, &layer, err)))
            goto end;
        if ((size_t)id >= e->npos || e->pos[id] < 0)
            { s = vp_fail(err, VP_ERR_DATA, "%s:%zu: variant %ld is not in runs.csv", vp_table_name(t), vp_table_line(t, r), id); goto end; }
        vhas[e->pos[id]] = 1;
        size_t k;
        for (k = 0; k < nlay && layers[k] != layer; k++) {}
        if (k == nlay) layers[nlay++] = layer;
    }
    if (nlay == 0) goto end; /* this quantity was not measured */
    qsort(layers, nlay, sizeof *layers, cmp_long);
    c->nl = nlay < MAX_HIST_LAYERS ? nlay : MAX_HIST_LAYERS;
    for (size_t k = 0; k < c->nl; k++) c->layer[k] = layers[pick(k, c->nl, nlay)];
    size_t nv = 0;
    for (size_t i = 0; i < e->nvar; i++) nv += (size_t)vhas[i];
    c->npanel = nv < MAX_PANELS ? nv : MAX_PANELS;
    for (size_t j = 0, seen = 0, i = 0; i < e->nvar && j < c->npanel; i++) {
        if (!vhas[i]) continue;
        if (seen++ == pick(j, c->npanel, nv)) c->panel_var[j++] = i;
    }
    for (size_t i = 0; i < MAX_PANELS; i++) { c->xlo[i] = INFINITY; c->xhi[i] = -INFINITY; }
    if ((s = dat_open(e, stem, &af, err))) goto end;
    fprintf(af.fp, "# distribution of %s (histograms.csv, quantity %s, seed %s): bin centre, density; "
                   "'?' = empty or non-finite bin (not drawn on the log axis)\n", xlabel, quantity, c->seed);
    for (size_t i = 0; i < c->npanel; i++)
        for (size_t k = 0; k < c->nl; k++) {
            size_t nb = 0, vi = c->panel_var[i];
            for (size_t r = 0; r < nr; r++) {
                if (strcmp(vp_table_cell(t, r, cq), quantity) != 0 || strcmp(vp_table_cell(t, r, cs), c->seed) != 0)
                    continue;
                long id, layer;
                int_cell(t, r, cv, 0, 1000000, &id, NULL);
                int_cell(t, r, cl, 1, 100000, &layer, NULL);
                if (e->pos[id] != (int)vi || layer != c->layer[k]) continue;
                bin *bn = &bins[nb++];
                if ((s = vp_table_num(t, r, clo, &bn->lo, err)) || (s = vp_table_num(t, r, chi, &bn->hi, err)) ||
                    (s = vp_table_num(t, r, cd, &bn->d, err)))
                    goto end;
            }
            qsort(bins, nb, sizeof *bins, cmp_bin);
            char lab[700];
            clean_copy(lab, sizeof lab, e->var[vi].name);
            fprintf(af.fp, "%s# index %zu: variant %d (%s), layer %ld\n# centre density\n",
                    i + k ? "\n\n" : "", i * c->nl + k, e->var[vi].id, lab, c->layer[k]);
            for (size_t j = 0; j < nb; j++) {
                double x = 0.5 * (bins[j].lo + bins[j].hi), d = bins[j].d;
                total++;
                if (!isfinite(d) || !isfinite(x)) { nonfinite++; d = NAN; }
                else if (d <= 0) { nonpos++; d = NAN; }
                else {
                    c->has[i * MAX_HIST_LAYERS + k] = 1;
                    c->xlo[i] = fmin(c->xlo[i], x);
                    c->xhi[i] = fmax(c->xhi[i], x);
                }
                put_num(af.fp, x);
                put_num(af.fp, d);
                fputc('\n', af.fp);
            }
            if (nb == 0) fputs("? ?\n", af.fp);
        }
    if ((s = vp_afile_commit(&af, err))) goto end;
    if ((s = render(e, stem, "histograms.csv", hist_body, c, err))) goto end;
    char notes[800];
    size_t n = (size_t)snprintf(notes, sizeof notes,
                                "Seed %s only. Empty bins (%zu of %zu) are not drawn on the log density axis",
                                c->seed, nonpos, total);
    n += (size_t)snprintf(notes + n, sizeof notes - n, nonfinite ? "; %zu non-finite bins skipped. " : ". ", nonfinite);
    if (nlay > c->nl && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n, "%zu of %zu measured layers shown. ", c->nl, nlay);
    if (nv > c->npanel && n < sizeof notes)
        snprintf(notes + n, sizeof notes - n, "%zu evenly spaced of %zu variants shown. ", c->npanel, nv);
    s = add_chart(e, stem, what, caption, notes, err);
end:
    vp_afile_abort(&af);
    free(c);
    free(layers);
    free(vhas);
    free(bins);
    return s;
}

/* ---- per-variant summaries from runs.csv (charts 5 and 6) ---- */

enum { V_VANISH, V_STABLE, V_EXPLODE, V_NONFINITE, V_OTHER, V_COUNT };
static const char *const VERDICT[V_COUNT] = { "vanishing", "stable", "exploding", "non-finite", "other" };
static const char *const VERDICT_COLOUR[V_COUNT] = { "#2166ac", "#4d9221", "#b2182b", "#000000", "#999999" };
static const int VERDICT_PATTERN[V_COUNT] = { 4, 0, 5, 2, 1 }; /* fill patterns for greyscale */

typedef struct {
    double med, lo, hi; /* over ok seeds, of the finite values */
    size_t n, nonfinite;
    int verdict;        /* majority over ok seeds */
    double special;     /* representative non-finite/zero value when med is NaN */
} ratio_sum;

static int verdict_of(const char *s)
{
    for (int v = 0; v < V_OTHER; v++)
        if (strcmp(s, VERDICT[v]) == 0) return v;
    return V_OTHER;
}

/* Summaries of runs.csv column `col` and its verdict column for every variant. */
static vp_status ratio_summary(const exper *e, const char *col, const char *vcol, ratio_sum *out, vp_err *err)
{
    const vp_table *t = e->runs;
    size_t cv, cr, cvd;
    vp_status s;
    if ((s = need_col(t, "variant", &cv, err)) || (s = need_col(t, col, &cr, err)) || (s = need_col(t, vcol, &cvd, err)))
        return s;
    int cst = vp_table_find(t, "status");
    size_t nr = vp_table_nrows(t);
    double *v = malloc((nr + 1) * sizeof *v);
    size_t *votes = calloc(e->nvar * V_COUNT + 1, sizeof *votes);
    if (!v || !votes) { free(v); free(votes); return vp_fail(err, VP_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < e->nvar && !s; i++) {
        ratio_sum *o = &out[i];
        size_t n = 0;
        memset(o, 0, sizeof *o);
        o->special = NAN;
        for (size_t r = 0; r < nr; r++) {
            long id;
            if ((s = int_cell(t, r, cv, 0, 1000000, &id, err))) break;
            if (e->pos[id] != (int)i) continue;
            if (cst >= 0 && strcmp(vp_table_cell(t, r, (size_t)cst), "ok") != 0) continue;
            double x;
            if ((s = vp_table_num(t, r, cr, &x, err))) break;
            votes[i * V_COUNT + (size_t)verdict_of(vp_table_cell(t, r, cvd))]++;
            o->n++;
            if (isfinite(x) && x > 0) v[n++] = x;
            else { o->nonfinite++; if (isnan(o->special)) o->special = x; }
        }
        summarize(v, n, &o->med, &o->lo, &o->hi);
        int best = V_OTHER;
        size_t bv = 0;
        for (int k = 0; k < V_COUNT; k++)
            if (votes[i * V_COUNT + (size_t)k] > bv) { bv = votes[i * V_COUNT + (size_t)k]; best = k; }
        o->verdict = best;
    }
    free(v);
    free(votes);
    return s;
}

/* ---- chart 5: heatmap of a 2-D sweep ---- */

typedef struct {
    int kx, ky;             /* sweep key index on each axis */
    size_t nx, ny;
    const char *xv[256], *yv[256]; /* distinct values (borrowed) */
    int numeric[2];
    double xc[256], yc[256]; /* cell centres */
    double cmax;
    int critical;           /* critical_line.dat available */
    int labels;             /* print the value in each cell */
    int any_missing;
} heat_ctx;

static double num_or_nan(const char *s)
{
    double v;
    return vp_table_parse_num(s, &v) == VP_TABLE_NUM_OK ? v : NAN;
}

/* Tics at the sweep values (labelled with them, or blank when `labels` is 0);
 * a numeric axis with many values keeps automatic tics. */
static void axis_tics(vp_plot *p, const char *axis, size_t n, const char *const *vals, const double *pos,
                      int numeric, int labels)
{
    char q[QLEN];
    if (numeric && n > 15) {
        vp_plot_cmd(p, "set %stics autofreq; set format %s '%s'", axis, axis, labels ? "%g" : "");
        return;
    }
    sbuf b = { 0 };
    for (size_t i = 0; i < n; i++)
        sb_printf(&b, "%s%s %.9g", i ? ", " : "", labels ? vp_plot_quote(q, sizeof q, vals[i]) : "''", pos[i]);
    if (!b.oom && b.s) vp_plot_cmd(p, "set %stics (%s) noenhanced", axis, b.s);
    free(b.s);
}

static size_t max_len(const char *const *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i]) > m) m = strlen(v[i]);
    return m;
}

/* The colour scale of a two-panel grid chart: on the right of panel 1 only, spanning
 * the panels' height; cells fill the axes exactly. */
static void grid_colorbox(vp_plot *p, int k, double bottom)
{
    if (k == 0) vp_plot_cmd(p, "unset colorbox");
    else vp_plot_cmd(p, "set colorbox user origin screen 0.9, screen %.4f size screen 0.018, screen %.4f", bottom,
                     0.86 - bottom);
    vp_plot_cmd(p, "set xrange [*:*] noextend; set yrange [*:*] noextend");
}

/* One panel of a 2-D sweep grid (heatmap and phase charts): margins, title,
 * the "no value" backdrop (`nodata`: gnuplot fill style), axis labels named by
 * the swept keys and their tics (y labels on the left panel k = 0 only). */
static void grid_panel(vp_plot *p, const exper *e, const heat_ctx *c, box bx, const char *title, int k, int rot,
                       const char *nodata)
{
    char qx[QLEN], qy[QLEN];
    set_margins(p, bx);
    vp_plot_cmd(p, "set title '%s'", title);
    vp_plot_cmd(p, "unset key");
    vp_plot_cmd(p, "set object 1 rectangle from graph 0, 0 to graph 1, 1 behind %s noborder", nodata);
    vp_plot_cmd(p, "set xlabel %s noenhanced", vp_plot_quote(qx, sizeof qx, e->sweep[c->kx]));
    if (k == 0) vp_plot_cmd(p, "set ylabel %s noenhanced", vp_plot_quote(qy, sizeof qy, e->sweep[c->ky]));
    else vp_plot_cmd(p, "unset ylabel");
    axis_tics(p, "x", c->nx, c->xv, c->xc, c->numeric[0], 1);
    axis_tics(p, "y", c->ny, c->yv, c->yc, c->numeric[1], k == 0);
    if (rot) vp_plot_cmd(p, "set xtics rotate by 30 right");
}

static void heat_body(vp_plot *p, const exper *e, const void *vctx)
{
    const heat_ctx *c = vctx;
    double kh = key_height(2, 2);
    /* Room for the y tick labels (left panel only; the right one shares them)
     * and for rotated category labels under the x axis (7 px per character). */
    double left = 0.075 + fmin(0.3, (double)(c->numeric[1] ? 8 : max_len(c->yv, c->ny)) * 7.5 / 1200);
    int rot = !c->numeric[0] && c->nx > 3;
    double xl = rot ? fmin(0.25, (double)max_len(c->xv, c->nx) * 7.0 * 0.5 / 800) : 0;
    double bottom = kh + 0.09 + xl, gap = 0.04, w = (0.86 - left - gap) / 2;
    page_title(p, e, "log10 of the variance ratio across depth per sweep point");
    const char *panel_title[2] = { "activations: log_{10} Var[z^{L}] / Var[z^{1}]",
                                   "gradients: log_{10} Var[∂L/∂z^{1}] / Var[∂L/∂z^{L}]" };
    for (int k = 0; k < 2; k++) {
        grid_panel(p, e, c, (box){ left + k * (w + gap), left + k * (w + gap) + w, bottom, 0.86 }, panel_title[k], k,
                   rot, "fc rgb '#d9d9d9' fs solid 1.0");
        vp_plot_cmd(p, "set palette defined (-1 '#2166ac', -0.5 '#92c5de', 0 '#f7f7f7', 0.5 '#f4a582', 1 '#b2182b')");
        vp_plot_cmd(p, "set cbrange [%g:%g]", -c->cmax, c->cmax);
        vp_plot_cmd(p, "set cblabel 'log_{10} ratio  (0 = stable, < 0 vanishing, > 0 exploding)'");
        grid_colorbox(p, k, bottom);
        sbuf b = { 0 };
        sb_printf(&b, "'heatmap.dat' index %d using 1:2:3:4:5:6:7 with boxxyerror fs solid 1.0 noborder lc palette notitle", k);
        if (c->labels) sb_printf(&b, ", '' index %d using 1:2:8 with labels font ',9' notitle", k);
        if (c->critical) sb_printf(&b, ", 'critical_line.dat' using 1:2 with lines lw 2.5 lc rgb 'black' notitle");
        if (!b.oom) vp_plot_cmd(p, "plot %s", b.s);
        free(b.s);
    }
    vp_plot_cmd(p, "unset object 1");
    sbuf b = { 0 };
    sb_printf(&b, "NaN with boxes fs solid 1.0 lc rgb '#d9d9d9' title 'grey: no value (not in the sweep, or no finite ratio: see the label)'");
    if (c->critical) sb_printf(&b, ", NaN with lines lw 2.5 lc rgb 'black' title 'χ_1 = 1: order/chaos boundary (critical_line.dat)'");
    if (!b.oom) key_strip(p, b.s, kh, 1);
    free(b.s);
}

/* Cell edges halfway between neighbouring centres. */
static void edges(const double *c, size_t n, size_t i, double *lo, double *hi)
{
    double w = n > 1 ? (i + 1 < n ? c[i + 1] - c[i] : c[i] - c[i - 1]) : 1.0;
    double wl = n > 1 ? (i > 0 ? c[i] - c[i - 1] : c[i + 1] - c[i]) : 1.0;
    *lo = c[i] - wl / 2;
    *hi = c[i] + w / 2;
}

static int cmp_num_str(const void *a, const void *b)
{
    double x = num_or_nan(*(const char *const *)a), y = num_or_nan(*(const char *const *)b);
    return (x > y) - (x < y);
}

/* The grid of a 2-D sweep: which key goes across (sigma_w across, sigma_b up
 * for the sigma sweep, as in Poole et al. 2016), the distinct values on each
 * axis (sorted when numeric) and the cell centres. Sets *phase when the keys
 * are network.init.sigma_w and network.init.sigma_b. 0 if an axis has more
 * than 256 values (not a grid anyone can read). */
static int sweep_grid(const exper *e, heat_ctx *c, int *phase)
{
    int sig = (strcmp(e->sweep[0], "network.init.sigma_b") == 0 && strcmp(e->sweep[1], "network.init.sigma_w") == 0);
    *phase = sig || (strcmp(e->sweep[0], "network.init.sigma_w") == 0 && strcmp(e->sweep[1], "network.init.sigma_b") == 0);
    c->kx = sig ? 1 : 0;
    c->ky = 1 - c->kx;
    for (size_t i = 0; i < e->nvar; i++) {
        const char *x = e->sweepval[i * 2 + (size_t)c->kx], *y = e->sweepval[i * 2 + (size_t)c->ky];
        size_t j;
        for (j = 0; j < c->nx && strcmp(c->xv[j], x) != 0; j++) {}
        if (j == c->nx) { if (c->nx == 256) return 0; c->xv[c->nx++] = x; }
        for (j = 0; j < c->ny && strcmp(c->yv[j], y) != 0; j++) {}
        if (j == c->ny) { if (c->ny == 256) return 0; c->yv[c->ny++] = y; }
    }
    for (int a = 0; a < 2; a++) {
        size_t n = a ? c->ny : c->nx;
        const char **v = a ? c->yv : c->xv;
        double *cc = a ? c->yc : c->xc;
        c->numeric[a] = 1;
        for (size_t i = 0; i < n; i++) c->numeric[a] &= isfinite(num_or_nan(v[i]));
        if (c->numeric[a]) qsort(v, n, sizeof *v, cmp_num_str);
        for (size_t i = 0; i < n; i++) cc[i] = c->numeric[a] ? num_or_nan(v[i]) : (double)(i + 1);
    }
    c->labels = c->nx <= 12 && c->ny <= 16;
    return 1;
}

/* "x y xlo xhi ylo yhi" of variant i's cell. */
static void put_cell(FILE *f, const exper *e, const heat_ctx *c, size_t i)
{
    const char *x = e->sweepval[i * 2 + (size_t)c->kx], *y = e->sweepval[i * 2 + (size_t)c->ky];
    size_t ix = 0, iy = 0;
    while (strcmp(c->xv[ix], x) != 0) ix++;
    while (strcmp(c->yv[iy], y) != 0) iy++;
    double xl, xh, yl, yh;
    edges(c->xc, c->nx, ix, &xl, &xh);
    edges(c->yc, c->ny, iy, &yl, &yh);
    fprintf(f, "%.9g %.9g %.9g %.9g %.9g %.9g", c->xc[ix], c->yc[iy], xl, xh, yl, yh);
}

/* The theory module may leave the chi_1 = 1 line in the results folder: copy
 * it next to the scripts and set c->critical (sigma sweeps on numeric axes). */
static vp_status copy_critical(const exper *e, heat_ctx *c, int phase, vp_err *err)
{
    if (!phase || !c->numeric[0] || !c->numeric[1]) return VP_OK;
    char src[4096];
    vp_status s = vp_path_join(src, sizeof src, e->results_dir, "critical_line.dat", err);
    if (s) return s;
    FILE *in = fopen(src, "rb");
    if (!in) return VP_OK;
    char dst[4096];
    vp_afile cf = { 0 };
    if ((s = vp_path_join(dst, sizeof dst, e->plots_dir, "critical_line.dat", err)) ||
        (s = vp_afile_open(&cf, dst, err))) { fclose(in); return s; }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, cf.fp);
    int bad = ferror(in);
    fclose(in);
    if (bad) { vp_afile_abort(&cf); return vp_fail(err, VP_ERR_IO, "cannot read %s", src); }
    if ((s = vp_afile_commit(&cf, err))) return s;
    c->critical = 1;
    return VP_OK;
}

static vp_status heat_chart(exper *e, vp_err *err)
{
    if (e->nsweep != 2) return VP_OK;
    heat_ctx *c = calloc(1, sizeof *c);
    ratio_sum *rs[2] = { calloc(e->nvar, sizeof(ratio_sum)), calloc(e->nvar, sizeof(ratio_sum)) };
    vp_afile af = { 0 };
    vp_status s = VP_OK;
    int phase = 0;
    if (!c || !rs[0] || !rs[1]) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    if (!sweep_grid(e, c, &phase)) goto end;
    if ((s = ratio_summary(e, "act_ratio", "act_verdict", rs[0], err)) ||
        (s = ratio_summary(e, "grad_ratio", "grad_verdict", rs[1], err)))
        goto end;
    double m = 1;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < e->nvar; i++)
            if (rs[k][i].n > rs[k][i].nonfinite && fabs(log10(rs[k][i].med)) > m) m = fabs(log10(rs[k][i].med));
    c->cmax = ceil(m);
    if ((s = copy_critical(e, c, phase, err))) goto end;
    if ((s = dat_open(e, "heatmap", &af, err))) goto end;
    fprintf(af.fp, "# median over seeds of log10(act_ratio) (index 0) and log10(grad_ratio) (index 1), from runs.csv\n"
                   "# x y xlo xhi ylo yhi value(clipped to the colour range, '?' = no finite ratio) label\n");
    for (int k = 0; k < 2; k++) {
        fprintf(af.fp, "%s# index %d: %s\n", k ? "\n\n" : "", k, k ? "grad_ratio" : "act_ratio");
        for (size_t i = 0; i < e->nvar; i++) {
            const ratio_sum *r = &rs[k][i];
            double z = NAN;
            char lab[32];
            if (r->n > r->nonfinite) {
                z = log10(r->med);
                snprintf(lab, sizeof lab, "%.1f", z);
                z = fmax(-c->cmax, fmin(c->cmax, z));
            } else {
                snprintf(lab, sizeof lab, "%s", r->n == 0 ? "failed" : isnan(r->special) ? "nan" : r->special > 0 ? "inf" : "0");
                if (!isnan(r->special)) z = r->special > 0 ? c->cmax : -c->cmax;
                c->any_missing = 1;
            }
            put_cell(af.fp, e, c, i);
            put_num(af.fp, z);
            fprintf(af.fp, " %s\n", lab);
        }
    }
    if ((s = vp_afile_commit(&af, err))) goto end;
    if ((s = render(e, "heatmap", "runs.csv", heat_body, c, err))) goto end;
    char notes[800] = "";
    if (c->any_missing)
        snprintf(notes, sizeof notes, "Sweep points without a finite positive ratio over any seed are labelled "
                                      "inf (drawn at the top of the colour range), 0 (bottom) or nan (blank). ");
    if (phase && !c->critical)
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes),
                 "No critical_line.dat in the results folder, so the χ₁ = 1 line is not drawn.");
    s = add_chart(e, "heatmap", "Variance ratio over the 2-D sweep",
                  "Colour: median over seeds of log10 of the last-to-first layer variance ratio, for activations "
                  "(Var[z^L]/Var[z^1], left) and back-propagated gradients (Var[∂L/∂z^1]/Var[∂L/∂z^L], right). "
                  "White = 0 = variance preserved; blue = vanishing, red = exploding; colours saturate at the range ends. "
                  "Each cell prints its value.",
                  notes, err);
end:
    vp_afile_abort(&af);
    free(c);
    free(rs[0]);
    free(rs[1]);
    return s;
}

/* ---- chart 5b: phase diagram of the depth scales (xi_grad, theory_xi_c) ---- */

typedef struct {
    heat_ctx g;
    double lo, hi;   /* colour range of xi (log scale) */
    double depth;
} phase_ctx;

/* Cell text for a depth scale: 1 decimal below 10, integers up to 9999. */
static void xi_label(char *out, size_t len, double xi)
{
    if (isinf(xi)) snprintf(out, len, "∞");
    else if (xi < 0.05) snprintf(out, len, "%.1g", xi);
    else if (xi < 9.95) snprintf(out, len, "%.1f", xi);
    else if (xi < 9999.5) snprintf(out, len, "%.0f", xi);
    else snprintf(out, len, "%.0e", xi);
}

static void phase_body(vp_plot *p, const exper *e, const void *vctx)
{
    const phase_ctx *pc = vctx;
    const heat_ctx *c = &pc->g;
    double kh = 0.13;
    double left = 0.075 + fmin(0.3, (double)(c->numeric[1] ? 8 : max_len(c->yv, c->ny)) * 7.5 / 1200);
    int rot = !c->numeric[0] && c->nx > 3;
    double xl = rot ? fmin(0.25, (double)max_len(c->xv, c->nx) * 7.0 * 0.5 / 800) : 0;
    double bottom = kh + 0.09 + xl, gap = 0.04, w = (0.86 - left - gap) / 2;
    page_title(p, e, "depth scale ξ of signal propagation, measured vs mean-field theory");
    const char *panel_title[2] = { "measured ξ_{∇} (median over seeds)", "mean-field prediction ξ_{c}" };
    /* Colour bar tics at 1-3-10 steps, with the network depth marked. */
    sbuf t = { 0 };
    for (double d = 1e-3; d <= pc->hi * 1.0001; d *= 10)
        for (int m = 0; m < 2; m++) {
            double v = m ? 3 * d : d;
            if (v < pc->lo * 0.9999 || v > pc->hi * 1.0001 || fabs(log10(v / pc->depth)) < 0.2) continue;
            sb_printf(&t, "%s'%g' %g", t.len ? ", " : "", v, v);
        }
    sb_printf(&t, "%s'depth %g' %g", t.len ? ", " : "", pc->depth, pc->depth);
    for (int k = 0; k < 2; k++) {
        /* no value: hatched, so it cannot pass for a palette colour in greyscale */
        grid_panel(p, e, c, (box){ left + k * (w + gap), left + k * (w + gap) + w, bottom, 0.86 }, panel_title[k], k,
                   rot, "fc rgb '#969696' fs pattern 4");
        /* viridis: lightness rises monotonically, so it reads in greyscale */
        vp_plot_cmd(p, "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')");
        vp_plot_cmd(p, "set logscale cb; set cbrange [%g:%g]", pc->lo, pc->hi);
        if (!t.oom && t.s) vp_plot_cmd(p, "set cbtics (%s)", t.s);
        vp_plot_cmd(p, "set cblabel 'ξ in layers, log scale (clipped to [%g, %g] = 10 × depth; ∞ = top)'",
                    pc->lo, pc->hi);
        grid_colorbox(p, k, bottom);
        sbuf b = { 0 };
        sb_printf(&b, "'phase.dat' index %d using 1:2:3:4:5:6:7 with boxxyerror fs solid 1.0 noborder lc palette notitle", k);
        /* The line, then a patch of each cell's colour under its number, so the
         * line passes behind the digits instead of through them. */
        if (c->critical) sb_printf(&b, ", 'critical_line.dat' using 1:2 with lines lw 2.5 lc rgb 'black' notitle");
        if (c->critical && c->labels)
            sb_printf(&b, ", 'phase.dat' index %d using 1:2:(($4-$3)*0.3):(($6-$5)*0.17):7 with boxxyerror "
                          "fs solid 1.0 noborder lc palette notitle", k);
        if (c->labels) sb_printf(&b, ", 'phase.dat' index %d using 1:2:8:9 with labels tc rgb variable font ',9' notitle", k);
        if (!b.oom) vp_plot_cmd(p, "plot %s", b.s);
        free(b.s);
    }
    free(t.s);
    vp_plot_cmd(p, "unset object 1");
    /* Legend strip: the two marks on one row, then what ξ is. */
    set_margins(p, (box){ 0.01, 0.99, 0.005, kh });
    vp_plot_cmd(p, "unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; "
                   "unset logscale; unset label; unset arrow; unset colorbox");
    vp_plot_cmd(p, "set xrange [0:1]; set yrange [0:1]");
    vp_plot_cmd(p, "set label 1 'ξ = depth scale in layers: a signal grows or decays by a factor e every ξ layers, so "
                   "larger ξ = deeper propagation (nets train up to a depth of about 6ξ_{c}, Schoenholz et al. 2017).' "
                   "at screen 0.5, %.4f center font ',10'", kh * 0.47);
    vp_plot_cmd(p, "set label 2 'Left: ξ_{∇} = 1/|slope| of ln Var[∂L/∂z^{l}] against l. Right: ξ_{c} of the correlation map. "
                   "Theory: ξ_{∇} = 1/|ln χ_{1}|, equal to ξ_{c} only in the ordered phase; both → ∞ at χ_{1} = 1.' "
                   "at screen 0.5, %.4f center font ',10'", kh * 0.2);
    vp_plot_cmd(p, "set key at screen 0.5, %.4f center center horizontal maxrows 1 Left reverse "
                   "samplen 3 spacing 1.3 width 2 noenhanced nobox", kh * 0.80);
    sbuf b = { 0 };
    sb_printf(&b, "NaN with boxes fs pattern 4 lc rgb '#969696' title 'hatched, –: no value (empty in runs.csv, or not in the sweep)'");
    if (c->critical) sb_printf(&b, ", NaN with lines lw 2.5 lc rgb 'black' title 'χ₁ = 1: order/chaos boundary (critical_line.dat)'");
    if (!b.oom) vp_plot_cmd(p, "plot %s", b.s);
    free(b.s);
}

/* Median over the ok seeds of runs.csv column `col` per variant, +inf kept
 * (a flat line or criticality), empty and nan cells left out: NaN = no value. */
static vp_status xi_median(const exper *e, size_t col, double *out, vp_err *err)
{
    const vp_table *t = e->runs;
    size_t cv;
    vp_status s = need_col(t, "variant", &cv, err);
    if (s) return s;
    int cst = vp_table_find(t, "status");
    size_t nr = vp_table_nrows(t);
    double *v = malloc((nr + 1) * sizeof *v), lo, hi;
    if (!v) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < e->nvar && !s; i++) {
        size_t n = 0;
        for (size_t r = 0; r < nr; r++) {
            long id;
            double x;
            if ((s = int_cell(t, r, cv, 0, 1000000, &id, err))) break;
            if (e->pos[id] != (int)i) continue;
            if (cst >= 0 && strcmp(vp_table_cell(t, r, (size_t)cst), "ok") != 0) continue;
            if ((s = vp_table_num(t, r, col, &x, err))) break;
            if (!isnan(x)) v[n++] = fabs(x);
        }
        summarize(v, n, &out[i], &lo, &hi);
    }
    free(v);
    return s;
}

static vp_status phase_chart(exper *e, vp_err *err)
{
    int cx = vp_table_find(e->runs, "xi_grad"), ct = vp_table_find(e->runs, "theory_xi_c");
    if (e->nsweep != 2 || cx < 0 || ct < 0) return VP_OK;
    phase_ctx *pc = calloc(1, sizeof *pc);
    double *xi[2] = { calloc(e->nvar + 1, sizeof(double)), calloc(e->nvar + 1, sizeof(double)) };
    vp_afile af = { 0 };
    vp_status s = VP_OK;
    int phase = 0;
    if (!pc || !xi[0] || !xi[1]) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    heat_ctx *c = &pc->g;
    if (!sweep_grid(e, c, &phase)) goto end;
    if ((s = xi_median(e, (size_t)cx, xi[0], err)) || (s = xi_median(e, (size_t)ct, xi[1], err))) goto end;
    /* the deepest network (depth may be swept) */
    pc->depth = fmax(fmax(cfg_num(e->cfg, "network", "depth"), (double)e->nlayer), 1.0);
    pc->lo = 0.3;
    pc->hi = 10 * pc->depth;
    if ((s = copy_critical(e, c, phase, err))) goto end;
    if ((s = dat_open(e, "phase", &af, err))) goto end;
    fprintf(af.fp, "# depth scales xi in layers, median over seeds from runs.csv: xi_grad (index 0), theory_xi_c (index 1)\n"
                   "# x y xlo xhi ylo yhi colour(xi clipped to [%g, %g], inf = top, '?' = no value) label text_rgb\n",
            pc->lo, pc->hi);
    size_t none[2] = { 0, 0 }, inf[2] = { 0, 0 };
    double llo = log10(pc->lo), lhi = log10(pc->hi);
    for (int k = 0; k < 2; k++) {
        fprintf(af.fp, "%s# index %d: %s\n", k ? "\n\n" : "", k, k ? "theory_xi_c" : "xi_grad");
        for (size_t i = 0; i < e->nvar; i++) {
            double x = xi[k][i], z = NAN;
            char lab[32] = "–";
            if (isnan(x)) none[k]++;
            else {
                inf[k] += isinf(x);
                xi_label(lab, sizeof lab, x);
                z = fmax(pc->lo, fmin(pc->hi, x));
            }
            /* white text on the dark half of the palette */
            int white = !isnan(z) && (log10(z) - llo) / (lhi - llo) < 0.55;
            put_cell(af.fp, e, c, i);
            put_num(af.fp, z);
            fprintf(af.fp, " %s %d\n", lab, white ? 0xFFFFFF : 0);
        }
    }
    if ((s = vp_afile_commit(&af, err))) goto end;
    if ((s = render(e, "phase", "runs.csv", phase_body, pc, err))) goto end;
    char notes[800] = "";
    size_t n = 0;
    if (none[0] && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n, "%zu of %zu sweep points have no measured ξ_∇ "
                              "(fewer than 3 layers with a finite gradient variance). ", none[0], e->nvar);
    if (none[1] == e->nvar && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n, "No sweep point has a mean-field ξ_c (theory off, or "
                              "no prediction for this network), so the right panel is empty. ");
    else if (none[1] && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n, "%zu of %zu sweep points have no mean-field ξ_c "
                              "(the theory module gave no prediction there). ", none[1], e->nvar);
    if ((inf[0] || inf[1]) && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n, "Infinite depth scales (%zu measured, %zu predicted) "
                              "are labelled ∞ and drawn at the top of the colour range. ", inf[0], inf[1]);
    if (phase && !c->critical && n < sizeof notes)
        snprintf(notes + n, sizeof notes - n, "No critical_line.dat in the results folder, so the χ₁ = 1 line is not drawn.");
    char caption[900];
    snprintf(caption, sizeof caption,
             "Phase diagram of the depth scale ξ (in layers) over the 2-D sweep: measured ξ_∇ (left, 1/|slope| of "
             "ln Var[∂L/∂z^l] against l, median over seeds) and the mean-field prediction ξ_c (right), on one "
             "sequential log colour scale clipped to [%g, %g] (10 × depth). Dark = signals die within a few layers, "
             "bright = they cross the network. Mean-field theory predicts ξ_∇ = −1/ln χ₁, equal to ξ_c in the ordered "
             "phase; both diverge on the χ₁ = 1 line (Poole et al. 2016, Schoenholz et al. 2017). In the chaotic "
             "phase the gradients explode at the rate 1/ln χ₁ while ξ_c describes correlations, so there the two "
             "panels need not agree.",
             pc->lo, pc->hi);
    s = add_chart(e, "phase", "Phase diagram: depth scale of signal propagation", caption, notes, err);
end:
    vp_afile_abort(&af);
    free(pc);
    free(xi[0]);
    free(xi[1]);
    return s;
}

/* ---- chart 6: overview of the ratios with verdicts ---- */

typedef struct {
    ratio_sum *rs[2];
    int used[V_COUNT];
    double ylo[2], yhi[2];
} over_ctx;

/* Tick label for variant i: the activation, then the legend label wrapped at
 * commas or an opening bracket into lines of about `width` characters (a
 * piece is cut hard only when much longer). Appends to b when b is non-NULL;
 * returns the number of lines. */
static size_t wrapped_label(const exper *e, size_t i, size_t width, sbuf *b)
{
    char q[QLEN], piece[420];
    const char *s = e->var[i].label;
    size_t lines = 1;
    if (b) sb_printf(b, "%s", vp_plot_quote(q, sizeof q, e->var[i].act));
    while (*s) {
        size_t n = strlen(s), cut = n;
        if (n > width && n > 2) {
            cut = 0;
            for (size_t k = 0; k < n && k < width; k++)
                if (s[k] == ',' || s[k] == '(') cut = k + 1;
            if (cut == 0) cut = n <= width + 10 ? n : width;
            if (n - cut <= 2) cut = n; /* never leave a lone ")" */
            while (cut < n && ((unsigned char)s[cut] & 0xC0) == 0x80) cut++; /* keep UTF-8 whole */
        }
        snprintf(piece, sizeof piece, "%.*s", (int)cut, s);
        if (b) sb_printf(b, ".\"\\n\".%s", vp_plot_quote(q, sizeof q, piece));
        lines++;
        s += cut;
    }
    return lines;
}

static void over_body(vp_plot *p, const exper *e, const void *vctx)
{
    const over_ctx *c = vctx;
    int full = e->nvar <= MAX_LABELS;
    /* Characters per tick label line: the plot is 0.7 of 1200 px, ~6.5 px per character at 9 pt. */
    size_t width = (size_t)fmax(8, fmin(40, 0.7 * 1200 / (double)e->nvar / 6.5)), lines = 1;
    for (size_t i = 0; full && i < e->nvar; i++) {
        size_t l = wrapped_label(e, i, width, NULL);
        if (l > lines) lines = l;
    }
    page_title(p, e, "last-to-first-layer variance ratio per variant");
    const char *ylab[2] = { "Var[z^{L}] / Var[z^{1}]", "Var[∂L/∂z^{1}] / Var[∂L/∂z^{L}]" };
    const char *ttl[2] = { "activations", "back-propagated gradients" };
    double bottom = full ? 0.05 + 0.0185 * (double)lines : 0.1, mid = bottom + (0.86 - bottom) / 2;
    for (int k = 0; k < 2; k++) {
        box bx = { 0.1, 0.8, k ? bottom : mid + 0.04, k ? mid - 0.02 : 0.86 };
        set_margins(p, bx);
        vp_plot_cmd(p, "set title '%s'", ttl[k]);
        vp_plot_cmd(p, "set logscale y; set format y '10^{%%L}'; set ylabel '%s'", ylab[k]);
        vp_plot_cmd(p, "set yrange [%g:%g]; set xrange [0.4:%zu.6]", c->ylo[k], c->yhi[k], e->nvar);
        vp_plot_cmd(p, "set grid ytics lt 1 lc rgb '#e0e0e0' lw 1");
        vp_plot_cmd(p, "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#555555' dt 3");
        vp_plot_cmd(p, "unset key; unset label");
        if (k == 0) {
            vp_plot_cmd(p, "set xtics 1, 1, %zu scale 0.5; set format x ''; unset xlabel", e->nvar);
        } else if (full) {
            sbuf b = { 0 };
            for (size_t i = 0; i < e->nvar; i++) {
                sb_printf(&b, "%s", i ? ", " : "");
                wrapped_label(e, i, width, &b);
                sb_printf(&b, " %zu", i + 1);
            }
            if (!b.oom) vp_plot_cmd(p, "set xtics (%s) noenhanced scale 0.5 font ',9'", b.s);
            free(b.s);
            vp_plot_cmd(p, "unset xlabel");
        } else {
            vp_plot_cmd(p, "set xtics 1, %zu; set format x '%%.0f'", e->nvar > 48 ? e->nvar / 24 : 2);
            vp_plot_cmd(p, "set xlabel 'variant position (1 = first variant; see the summary table in report.md)'");
        }
        /* Non-finite medians: a text marker at the top or bottom of the panel. */
        for (size_t i = 0; i < e->nvar; i++) {
            const ratio_sum *r = &c->rs[k][i];
            if (r->n > r->nonfinite) continue;
            const char *txt = r->n == 0 ? "failed" : isnan(r->special) ? "nan" : r->special > 0 ? "∞" : "0";
            int top = !(r->n && !isnan(r->special) && r->special <= 0);
            vp_plot_cmd(p, "set label %zu '%s' at %zu, graph %s center tc rgb '%s' font ',10'", i + 10, txt,
                        i + 1, top ? "0.93" : "0.07", VERDICT_COLOUR[c->rs[k][i].verdict]);
        }
        sbuf b = { 0 };
        const char *sep = "";
        for (int v = 0; v < V_COUNT; v++) {
            if (!c->used[v]) continue;
            sb_printf(&b, "%s'overview.dat' index %d using 1:2:3:4:5:6 with boxxyerror lc rgb '%s' fs solid 0.35 border notitle",
                      sep, k * V_COUNT + v, VERDICT_COLOUR[v]);
            sep = ", ";
        }
        if (*sep) {
            for (int v = 0; v < V_COUNT; v++) /* hatching over the tint keeps verdicts apart in greyscale */
                if (c->used[v] && VERDICT_PATTERN[v])
                    sb_printf(&b, ", 'overview.dat' index %d using 1:2:3:4:5:6 with boxxyerror lc rgb '%s' fs pattern %d noborder notitle",
                              k * V_COUNT + v, VERDICT_COLOUR[v], VERDICT_PATTERN[v]);
            sb_printf(&b, ", 'overview.dat' index %d using 1:2:3:4 with yerrorbars lc rgb 'black' pt 7 ps 0.5 lw 1 notitle",
                      2 * V_COUNT + k);
        } else {
            sb_printf(&b, "NaN notitle");
        }
        if (!b.oom) vp_plot_cmd(p, "plot %s", b.s);
        free(b.s);
        vp_plot_cmd(p, "unset arrow 1; unset label");
    }
    /* Legend on the right. */
    set_margins(p, (box){ 0.82, 0.99, bottom, 0.86 });
    vp_plot_cmd(p, "unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; "
                   "unset logscale; unset label; unset arrow; set xrange [0:1]; set yrange [0:1]");
    vp_plot_cmd(p, "set key at screen 0.83, 0.85 left top vertical Left reverse samplen 2 spacing 1.5 title 'verdict' noenhanced");
    sbuf b = { 0 };
    const char *sep = "";
    size_t nk = 0;
    for (int v = 0; v < V_COUNT; v++) {
        if (!c->used[v]) continue;
        if (VERDICT_PATTERN[v])
            sb_printf(&b, "%sNaN with boxes lc rgb '%s' fs pattern %d border title '%s'", sep, VERDICT_COLOUR[v],
                      VERDICT_PATTERN[v], VERDICT[v]);
        else
            sb_printf(&b, "%sNaN with boxes lc rgb '%s' fs solid 0.35 border title '%s'", sep, VERDICT_COLOUR[v],
                      VERDICT[v]);
        sep = ", ";
        nk++;
    }
    vp_plot_cmd(p, "set label 1 'bar: median over seeds' at screen 0.835, %.3f left font ',10'", 0.8 - 0.035 * (double)nk);
    vp_plot_cmd(p, "set label 2 'whisker: min–max' at screen 0.835, %.3f left font ',10'", 0.77 - 0.035 * (double)nk);
    vp_plot_cmd(p, "set label 3 'dotted: ratio 1' at screen 0.835, %.3f left font ',10'", 0.74 - 0.035 * (double)nk);
    if (!*sep) sb_printf(&b, "NaN notitle");
    if (!b.oom) vp_plot_cmd(p, "plot %s", b.s);
    free(b.s);
}

static vp_status over_chart(exper *e, vp_err *err)
{
    over_ctx c = { { calloc(e->nvar, sizeof(ratio_sum)), calloc(e->nvar, sizeof(ratio_sum)) }, { 0 }, { 0 }, { 0 } };
    vp_afile af = { 0 };
    vp_status s = VP_OK;
    if (!c.rs[0] || !c.rs[1]) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    if ((s = ratio_summary(e, "act_ratio", "act_verdict", c.rs[0], err)) ||
        (s = ratio_summary(e, "grad_ratio", "grad_verdict", c.rs[1], err)))
        goto end;
    size_t nspecial = 0;
    for (int k = 0; k < 2; k++) {
        double lo = 1, hi = 1;
        for (size_t i = 0; i < e->nvar; i++) {
            const ratio_sum *r = &c.rs[k][i];
            if (r->n > r->nonfinite) { lo = fmin(lo, r->lo); hi = fmax(hi, r->hi); c.used[r->verdict] = 1; }
            else nspecial++;
        }
        /* Room above and below for the markers of non-finite ratios. */
        c.ylo[k] = pow(10, floor(log10(lo)) - 0.5);
        c.yhi[k] = pow(10, ceil(log10(hi)) + 0.5);
    }
    if ((s = dat_open(e, "overview", &af, err))) goto end;
    fprintf(af.fp, "# last/first-layer variance ratios from runs.csv (ok runs), median over seeds of the finite positive values\n"
                   "# blocks 0-4: act_ratio by verdict (vanishing, stable, exploding, non-finite, other); 5-9: grad_ratio;\n"
                   "# 10: act_ratio error bars, 11: grad_ratio error bars\n"
                   "# x median box_xlo box_xhi box_ylo box_yhi (block 10/11: x median min max)\n");
    int blk = 0;
    for (int k = 0; k < 2; k++)
        for (int v = 0; v < V_COUNT; v++, blk++) {
            fprintf(af.fp, "%s# index %d: %s, verdict %s\n", blk ? "\n\n" : "", blk, k ? "grad_ratio" : "act_ratio", VERDICT[v]);
            int any = 0;
            for (size_t i = 0; i < e->nvar; i++) {
                const ratio_sum *r = &c.rs[k][i];
                if (r->verdict != v || r->n == r->nonfinite) continue;
                fprintf(af.fp, "%zu %.9g %.9g %.9g %.9g %.9g\n", i + 1, r->med, (double)i + 0.65, (double)i + 1.35,
                        fmin(1.0, r->med), fmax(1.0, r->med));
                any = 1;
            }
            if (!any) fputs("? ? ? ? ? ?\n", af.fp);
        }
    for (int k = 0; k < 2; k++) {
        fprintf(af.fp, "\n\n# index %d: %s min-max over seeds\n", 2 * V_COUNT + k, k ? "grad_ratio" : "act_ratio");
        int any = 0;
        for (size_t i = 0; i < e->nvar; i++) {
            const ratio_sum *r = &c.rs[k][i];
            if (r->n == r->nonfinite) continue;
            fprintf(af.fp, "%zu %.9g %.9g %.9g\n", i + 1, r->med, r->lo, r->hi);
            any = 1;
        }
        if (!any) fputs("? ? ? ?\n", af.fp);
    }
    if ((s = vp_afile_commit(&af, err))) goto end;
    if ((s = render(e, "overview", "runs.csv", over_body, &c, err))) goto end;
    char notes[800] = "";
    size_t n = 0;
    if (nspecial)
        n = (size_t)snprintf(notes, sizeof notes, "%zu bars have no finite positive median and are marked "
                                                  "∞, 0, nan or failed instead of drawn. ", nspecial);
    if (e->nvar > MAX_LABELS)
        snprintf(notes + n, sizeof notes - n, "With %zu variants the x axis shows positions; "
                                              "the summary table lists them in the same order. ", e->nvar);
    s = add_chart(e, "overview", "Overview: variance ratio across depth per variant",
                  "Bars: median over seeds of the last-to-first layer variance ratio for activations "
                  "(Var[z^L]/Var[z^1], top) and gradients (Var[∂L/∂z^1]/Var[∂L/∂z^L], bottom) on a log axis; "
                  "the dotted line at 1 means the variance is preserved. Whiskers span the seeds; "
                  "the fill gives the verdict of the majority of seeds.",
                  notes, err);
end:
    vp_afile_abort(&af);
    free(c.rs[0]);
    free(c.rs[1]);
    return s;
}

/* ---- chart 7: Jacobian singular values ---- */

#define JAC_BINS 50
#define JAC_RANK_RTOL 1e-12 /* below this fraction of sigma_max a singular value is numerically 0 */

typedef struct {
    int *has;
    size_t *panel_points;
    int mark_one; /* sigma = 1 inside the range */
} jac_ctx;

static void jac_body(vp_plot *p, const exper *e, const void *vctx)
{
    const jac_ctx *c = vctx;
    sbuf b = { 0 };
    char q[QLEN];
    size_t maxlen = 0;
    size_t nkey = style_key(e, c->has, &b, &maxlen, "linespoints");
    int kc = key_cols(maxlen);
    double kh = key_height(nkey, kc);
    size_t np = e->nact < MAX_PANELS ? e->nact : MAX_PANELS;
    box boxes[MAX_PANELS];
    int cols = grid(np, kh + 0.01, 0.9, boxes);
    page_title(p, e, "singular values of the input–output Jacobian");
    for (size_t a = 0; a < np; a++) {
        set_margins(p, boxes[a]);
        vp_plot_cmd(p, "set title %s noenhanced", vp_plot_quote(q, sizeof q, e->act[a]));
        vp_plot_cmd(p, "unset key; set logscale x; set format x '10^{%%L}'");
        vp_plot_cmd(p, "set grid xtics ytics lt 1 lc rgb '#e0e0e0' lw 1");
        vp_plot_cmd(p, "set xlabel 'singular value σ'");
        if (a % (size_t)cols == 0) vp_plot_cmd(p, "set ylabel 'density per unit log_{10} σ'");
        else vp_plot_cmd(p, "unset ylabel");
        if (c->mark_one) vp_plot_cmd(p, "set arrow 1 from 1, graph 0 to 1, graph 1 nohead lc rgb '#777777' dt 3");
        if (c->panel_points[a] == 0) {
            vp_plot_cmd(p, "set xrange [0.1:10]; set yrange [0:1]");
            vp_plot_cmd(p, "set label 1 'no finite positive singular values' at graph 0.5, 0.5 center");
            vp_plot_cmd(p, "plot NaN notitle");
            vp_plot_cmd(p, "unset label 1; unset arrow 1; set autoscale");
            continue;
        }
        vp_plot_cmd(p, "set yrange [0:*]");
        size_t curves[MAX_CURVES], total;
        size_t k = panel_curves(e, (int)a, c->has, curves, &total);
        sb_reset(&b);
        for (size_t j = 0; j < k; j++)
            sb_printf(&b, "%s'jacobian.dat' index %zu using 1:2 with linespoints lt %d pi 5 notitle", j ? ", " : "",
                      curves[j], lt_of(e->var[curves[j]].style));
        vp_plot_cmd(p, "plot %s", b.s);
        vp_plot_cmd(p, "unset arrow 1");
    }
    sb_reset(&b);
    style_key(e, c->has, &b, &maxlen, "linespoints");
    key_strip(p, b.oom || !b.s ? "NaN notitle" : b.s, kh, kc);
    free(b.s);
}

static vp_status jac_chart(exper *e, vp_err *err)
{
    const vp_table *t = e->jac;
    size_t cv, csv;
    vp_status s;
    if ((s = need_col(t, "variant", &cv, err)) || (s = need_col(t, "singular_value", &csv, err))) return s;
    size_t nr = vp_table_nrows(t);
    jac_ctx c = { calloc(e->nvar, sizeof(int)), calloc(e->nact, sizeof(size_t)), 0 };
    double *hist = calloc(e->nvar * JAC_BINS + 1, sizeof *hist);
    size_t *cnt = calloc(e->nvar + 1, sizeof *cnt);
    int *rv = malloc((nr + 1) * sizeof *rv);
    double *lv = malloc((nr + 1) * sizeof *lv);
    vp_afile af = { 0 };
    size_t skipped = 0, rankdef = 0;
    if (!c.has || !c.panel_points || !hist || !cnt || !rv || !lv) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    double gmin = INFINITY, gmax = -INFINITY;
    /* Pass 1: the largest singular value of each variant. */
    double *smax = calloc(e->nvar + 1, sizeof *smax);
    if (!smax) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    for (size_t r = 0; r < nr; r++) {
        long id;
        double sv;
        if ((s = int_cell(t, r, cv, 0, 1000000, &id, err)) || (s = vp_table_num(t, r, csv, &sv, err))) break;
        if ((size_t)id >= e->npos || e->pos[id] < 0) {
            s = vp_fail(err, VP_ERR_DATA, "%s:%zu: variant %ld is not in runs.csv", vp_table_name(t), vp_table_line(t, r), id);
            break;
        }
        rv[r] = e->pos[id];
        lv[r] = sv;
        if (isfinite(sv) && sv > smax[rv[r]]) smax[rv[r]] = sv;
    }
    /* Pass 2: log10 of the values the SVD resolves. Singular values below
     * JAC_RANK_RTOL * sigma_max are numerically zero (a double-precision SVD is
     * accurate to ~1e-16 sigma_max): the Jacobian is rank-deficient there, e.g. where
     * ReLU zeroes directions; they are counted in the note, not drawn. */
    for (size_t r = 0; r < nr && !s; r++) {
        double sv = lv[r];
        lv[r] = NAN;
        if (!isfinite(sv) || sv <= 0) { skipped++; continue; }
        if (sv < JAC_RANK_RTOL * smax[rv[r]]) { rankdef++; continue; }
        lv[r] = log10(sv);
        gmin = fmin(gmin, lv[r]);
        gmax = fmax(gmax, lv[r]);
    }
    free(smax);
    if (s) goto end;
    if (!(gmax > gmin)) { gmin = isfinite(gmin) ? gmin - 0.5 : -0.5; gmax = gmin + 1; }
    double w = (gmax - gmin) / JAC_BINS;
    for (size_t r = 0; r < nr; r++) {
        if (isnan(lv[r])) continue;
        int bi = (int)((lv[r] - gmin) / w);
        if (bi >= JAC_BINS) bi = JAC_BINS - 1;
        hist[(size_t)rv[r] * JAC_BINS + (size_t)bi] += 1;
        cnt[rv[r]]++;
    }
    c.mark_one = gmin < 0 && gmax > 0;
    if ((s = dat_open(e, "jacobian", &af, err))) goto end;
    fprintf(af.fp, "# singular values of the input-output Jacobian (jacobian.csv), all seeds pooled:\n"
                   "# sigma at the bin centre (bins equal in log10 sigma), density per unit log10 sigma\n");
    for (size_t i = 0; i < e->nvar; i++) {
        char lab[700];
        clean_copy(lab, sizeof lab, e->var[i].name);
        fprintf(af.fp, "%s# index %zu: variant %d, %s (%zu values)\n", i ? "\n\n" : "", i, e->var[i].id, lab, cnt[i]);
        if (cnt[i] == 0) { fputs("? ?\n", af.fp); continue; }
        c.has[i] = 1;
        c.panel_points[e->var[i].panel]++;
        for (int k = 0; k < JAC_BINS; k++)
            fprintf(af.fp, "%.9g %.9g\n", pow(10, gmin + (k + 0.5) * w),
                    hist[i * JAC_BINS + (size_t)k] / ((double)cnt[i] * w));
    }
    if ((s = vp_afile_commit(&af, err))) goto end;
    if ((s = render(e, "jacobian", "jacobian.csv", jac_body, &c, err))) goto end;
    char notes[800] = "";
    size_t n = 0;
    if (skipped)
        n = (size_t)snprintf(notes, sizeof notes, "%zu zero or non-finite singular values are not drawn on the log axis. ", skipped);
    if (rankdef && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n,
                              "%zu singular values below %.0e of their variant's largest are numerically zero "
                              "(the Jacobian is rank-deficient there) and are not drawn. ", rankdef, JAC_RANK_RTOL);
    note_subsets(e, c.has, notes + n, sizeof notes - n);
    s = add_chart(e, "jacobian", "Singular values of the input–output Jacobian",
                  "Density of the singular values σ of the network's input-output Jacobian, seeds pooled, "
                  "one curve per variant, on a log σ axis. Mass concentrated near σ = 1 (dotted) is dynamical isometry; "
                  "a wide spread means some input directions are amplified and others suppressed.",
                  notes, err);
end:
    vp_afile_abort(&af);
    free(c.has);
    free(c.panel_points);
    free(hist);
    free(cnt);
    free(rv);
    free(lv);
    return s;
}

/* ---- driver ---- */

static const line_spec LINE_CHARTS[] = {
    { "act_var_pre", "pre_var", "theory_pre_var", "Var[z^{/:Italic l}]", "pre-activation variance Var[zˡ] by layer",
      "Variance of the pre-activations z^l = W^l h^(l-1) + b^l at each layer: median over seeds (line with points) "
      "and the seed range (shaded), one panel per activation, one colour and marker per initializer. "
      "A flat line means the forward signal keeps its scale; a straight slope on this log axis is geometric "
      "growth or decay. Dashed: the mean-field prediction when theory is on." },
    { "act_var_post", "post_var", NULL, "Var[h^{/:Italic l}]", "post-activation variance Var[hˡ] by layer",
      "Variance of the activations h^l = φ(z^l) after the nonlinearity, same layout as the pre-activation chart." },
    { "grad_var", "grad_pre_var", "theory_grad_pre_var", "Var[∂L/∂z^{/:Italic l}]",
      "back-propagated gradient variance Var[∂L/∂zˡ] by layer",
      "Variance of the gradient of the loss with respect to the pre-activations, back-propagated from the last "
      "layer (right) to the first (left). Dashed: the mean-field prediction when theory is on." },
    { "wgrad_var", "wgrad_var", NULL, "Var[∂L/∂W^{/:Italic l}]", "weight-gradient variance Var[∂L/∂Wˡ] by layer",
      "Variance of the weight gradients per layer: unequal values across layers mean unequal effective "
      "learning rates (Glorot & Bengio 2010)." },
};

int vp_charts_can_draw(void) { return vp_plot_available(); }

vp_status vp_charts_default_dir(const char *results_dir, char *out, size_t len, vp_err *err)
{
    cJSON *cfg;
    vp_status s = vp_report_read_config(results_dir, &cfg, err);
    if (s) return s;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "name");
    if (!cJSON_IsString(nm) || !nm->valuestring[0]) {
        s = vp_fail(err, VP_ERR_CONFIG, "%s/config.json has no \"name\"; pass -o PLOTS_DIR", results_dir);
    } else {
        const char *n = nm->valuestring;
        int bad = n[0] == '.';
        for (const unsigned char *c = (const unsigned char *)n; *c; c++)
            bad |= *c == '/' || *c == '\\' || *c < 0x20 || *c == 0x7F;
        char shown[120];
        clean_copy(shown, sizeof shown, n);
        if (bad)
            s = vp_fail(err, VP_ERR_CONFIG, "experiment name '%s' is not a plain folder name; pass -o PLOTS_DIR", shown);
        else if ((size_t)snprintf(out, len, "plots/%s", n) >= len)
            s = vp_fail(err, VP_ERR_CONFIG, "experiment name '%s' is too long for a folder name", shown);
    }
    cJSON_Delete(cfg);
    return s;
}

vp_status vp_charts_draw(const char *results_dir, const char *plots_dir, vp_err *err)
{
    if (!vp_plot_available())
        return vp_fail(err, VP_ERR_EXTERNAL, "cannot run '%s'; %s", vp_plot_program(), VP_PLOT_INSTALL_HINT);
    exper e;
    memset(&e, 0, sizeof e);
    e.results_dir = results_dir;
    e.plots_dir = plots_dir;
    vp_status s = build_model(&e, err);
    if (!s) s = vp_mkdir_p(plots_dir, err);
    for (size_t i = 0; !s && i < sizeof LINE_CHARTS / sizeof LINE_CHARTS[0]; i++) s = line_chart(&e, &LINE_CHARTS[i], err);
    if (!s && e.hist) {
        s = hist_chart(&e, "pre", "hist_pre", "z^{/:Italic l}", "distribution of pre-activations zˡ per layer",
                       "Histogram densities of the pre-activations at the measured layers (one curve per layer, "
                       "dark = early, light = late), one panel per variant: a distribution that widens or narrows "
                       "with depth shows the variance drifting (Glorot & Bengio 2010, fig. 6).", err);
        if (!s) s = hist_chart(&e, "post", "hist_post", "h^{/:Italic l}", "distribution of activations hˡ per layer",
                               "Histogram densities of the activation values after the nonlinearity per measured layer; "
                               "mass piling up at the ends of a bounded activation means saturation, a spike at 0 "
                               "dead or inactive units.", err);
        if (!s) s = hist_chart(&e, "grad_pre", "hist_grad_pre", "∂L/∂z^{/:Italic l}",
                               "distribution of back-propagated gradients ∂L/∂zˡ per layer",
                               "Histogram densities of the back-propagated gradients per measured layer: curves that "
                               "spread apart across layers mean the gradient scale changes with depth "
                               "(Glorot & Bengio 2010, fig. 7).", err);
    }
    if (!s) s = heat_chart(&e, err);
    if (!s) s = phase_chart(&e, err);
    if (!s) s = over_chart(&e, err);
    if (!s && e.jac) s = jac_chart(&e, err);
    if (!s) s = vp_report_write(results_dir, plots_dir, e.charts, e.ncharts, err);
    free_model(&e);
    return s;
}
