/* training: the charts of a config with "train", drawn from its training files
 * (results.h VP_CSV_TRAIN ... VP_CSV_HIST_TRAIN) so `varprop plot` redraws them:
 *  - train_loss: the training loss against the step, one curve per variant (median
 *    over seeds, the seed range shaded), one panel per activation, log y axis;
 *  - train_acc: the test accuracy after each epoch (epoch 0: before training), alike;
 *  - train_var: per variant, the probe's Var[z^l] and Var[dL/dz^l] against the step,
 *    one line per layer, dark (first layer) to light (last), median over seeds
 *    (Glorot & Bengio 2010, figs. 2-5, during training);
 *  - train_hist: the "colourful dimension" (fastai's ActivationStats.color_dim): per
 *    variant and a few layers, the probe's histogram of h^l at each tracked step as
 *    one column of cells coloured by log10 of the density, step on x (first seed).
 * Curves of a variant keep its linetype (kit.h); the data are tidy blocks in
 * <stem>.dat as every chart's. */
#include "present/charts/kit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"

#define HEAT_LAYERS 4   /* layers shown per variant in the heat map */
#define VAR_VARIANTS 6  /* variants in train_var (two panels each) */
#define HEAT_VARIANTS 3 /* variants in train_hist (HEAT_LAYERS panels each) */

/* One row of a training table: its variant index, layer (0: none), seed rank, x, y. */
typedef struct {
    int vi, layer;
    double seed, x, y, y2;
} trow;

static int cmp_trow(const void *a, const void *b)
{
    const trow *p = a, *q = b;
    if (p->vi != q->vi) return (p->vi > q->vi) - (p->vi < q->vi);
    if (p->layer != q->layer) return (p->layer > q->layer) - (p->layer < q->layer);
    if (p->x != q->x) return (p->x > q->x) - (p->x < q->x);
    if (p->seed != q->seed) return (p->seed > q->seed) - (p->seed < q->seed);
    return (p->y2 > q->y2) - (p->y2 < q->y2); /* histograms: bins in order */
}

/* The rows of table t: variant, x column, y column (and y2, layer when given, or -1),
 * sorted by variant, layer, x and seed. */
static vp_status read_rows(const ck_exper *e, const vp_table *t, vp_col xc, vp_col yc, vp_col y2c, int with_layer,
                           trow **out, size_t *n, vp_err *err)
{
    size_t cv, cs, cx, cy, c2 = 0, cl = 0, nr = vp_table_nrows(t);
    vp_status s;
    if ((s = vp_table_require_col(t, VP_COL_VARIANT, &cv, err)) || (s = vp_table_require_col(t, VP_COL_SEED, &cs, err)) ||
        (s = vp_table_require_col(t, xc, &cx, err)) || (s = vp_table_require_col(t, yc, &cy, err)) ||
        (y2c != VP_COL_NONE && (s = vp_table_require_col(t, y2c, &c2, err))) ||
        (with_layer && (s = vp_table_require_col(t, VP_COL_LAYER, &cl, err))))
        return s;
    trow *r = malloc((nr + 1) * sizeof *r);
    if (!r) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nr && !s; i++) {
        long id, layer = 0;
        if ((s = ck_known_variant(e, t, i, cv, &id, err)) || (s = vp_table_num(t, i, cs, &r[i].seed, err)) ||
            (s = vp_table_num(t, i, cx, &r[i].x, err)) || (s = vp_table_num(t, i, cy, &r[i].y, err)) ||
            (with_layer && (s = vp_table_int(t, i, cl, 1, VP_LAYER_MAX, &layer, err))))
            break;
        r[i].y2 = NAN;
        if (y2c != VP_COL_NONE && (s = vp_table_num(t, i, c2, &r[i].y2, err))) break;
        r[i].vi = e->pos[id];
        r[i].layer = (int)layer;
    }
    if (s) { free(r); return s; }
    qsort(r, nr, sizeof *r, cmp_trow);
    *out = r;
    *n = nr;
    return VP_OK;
}

/* ---- loss and accuracy: one curve per variant ---- */

typedef struct {
    const ck_chart *chart;
    int logy;
    int whole_x;           /* x counts epochs: tics at whole numbers */
    int *has;              /* per variant: its x with a drawable value (a count: 1 is a lone point) */
    size_t *panel_points;  /* per panel */
    double xlo, xhi, ylo, yhi;
    int band;
    size_t smooth;         /* largest half-width of the running mean (0: none) */
    const char *xlabel, *ylabel;
} curve_ctx;

static void curve_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const curve_ctx *c = vctx;
    ck_sbuf b = { 0 };
    size_t maxlen = 0, nkey = ck_style_key(e, c->has, &b, &maxlen, "linespoints");
    int kc = ck_key_cols(maxlen);
    double kh = ck_key_height(nkey ? nkey : 1, kc);
    size_t np = e->nact < MAX_PANELS ? e->nact : MAX_PANELS;
    ck_box boxes[MAX_PANELS];
    int cols = ck_grid(np, kh + 0.01, 0.9, boxes);
    ck_titles_alike(p, e->act, boxes, np);
    ck_page_title(p, e, ck_page_words(c->chart));
    char lc[96];
    for (size_t a = 0; a < np; a++) {
        ck_panel_head(p, boxes[a], e->act[a], c->logy ? "set logscale y; set format y '%g'" : "set format y '%g'",
                      c->xlabel, a % (size_t)cols == 0 ? c->ylabel : NULL);
        if (!c->panel_points[a]) {
            ck_empty_panel(p, "set yrange [0.1:10]", "no finite values to draw", "set autoscale y");
            continue;
        }
        double m = c->xhi > c->xlo ? 0.02 * (c->xhi - c->xlo) : 0.5, x0 = c->xlo - m, x1 = c->xhi + m;
        double step = ck_fit_step(x0, x1, boxes[a], 'x');
        ck_cmd(p, "set xrange [%.9g:%.9g]; set xtics %.9g", x0, x1, c->whole_x ? fmax(1, step) : step); /* epochs: whole */
        if (c->logy) {
            /* every panel's own tics, always set: a loss axis of 1 to 2 decades had only 1 or 2
             * labels of gnuplot's (powers of 10), and one within a decade was listed only
             * when the data (not the axis, 1.44 times wider) spanned less than a decade */
            ck_log_yrange(p, c->ylo, c->yhi, 1.2, boxes[a], 0);
        } else
            ck_cmd(p, "set yrange [-0.03:1.03]; set ytics %.9g", ck_fit_step(-0.03, 1.03, boxes[a], 'y'));
        size_t curves[MAX_CURVES], total, k = ck_panel_curves(e, (int)a, c->has, curves, &total);
        const char *sep = "";
        ck_reset(&b);
        for (size_t j = 0; c->band && j < k; j++)
            if (c->has[curves[j]] > 1) {
                ck_printf(&b, "%s'%s.dat' index %zu using 1:3:4 with filledcurves %s fs transparent solid 0.15 noborder "
                              "notitle", sep, c->chart->stem, curves[j], ck_lc(e, curves[j], lc, sizeof lc));
                sep = ", ";
            }
        /* smoothed: the per-step median thin, its running mean (column 6) thick over it. A
         * curve of one drawable point (a training that diverged at step 2: the loss of step
         * 1 alone) is its point and the seed range as a bar: a line of one point draws
         * nothing, and the chart was blank under a legend of its curves. */
        for (size_t j = 0; j < k; j++, sep = ", ")
            if (c->has[curves[j]] == 1)
                ck_printf(&b, "%s'%s.dat' index %zu using 1:2:3:4 with yerrorbars %s ps 1.2 notitle", sep,
                          c->chart->stem, curves[j], ck_lc(e, curves[j], lc, sizeof lc));
            else
                ck_printf(&b, "%s'%s.dat' index %zu using 1:2 with %s %s notitle", sep, c->chart->stem, curves[j],
                          c->smooth ? "lines lw 0.6" : c->logy ? "lines lw 1.5" : "linespoints",
                          ck_lc(e, curves[j], lc, sizeof lc));
        for (size_t j = 0; c->smooth && j < k; j++)
            ck_printf(&b, ", '%s.dat' index %zu using 1:6 with lines lw 2.5 %s notitle", c->chart->stem, curves[j],
                      ck_lc(e, curves[j], lc, sizeof lc));
        ck_cmd(p, "plot %s", b.oom || !b.s ? "NaN notitle" : b.s);
    }
    ck_reset(&b);
    maxlen = 0;
    ck_style_key(e, c->has, &b, &maxlen, "linespoints");
    ck_key_strip(p, b.oom || !b.s ? "NaN notitle" : b.s, kh, kc);
    free(b.s);
}

/* Half-width of the running mean of a curve of n points on a log axis: n/40 on each
 * side (a window of ~5% of the curve), so a loss curve of 400 steps averages 21 and
 * the trend shows through the batch-to-batch noise; curves of a few points (accuracy
 * per epoch) are not smoothed. */
static size_t smooth_half(size_t n, int logy) { return logy ? n / 40 : 0; }

/* out[i]: the mean of log(med) over the points within h of i (the geometric running
 * mean, the natural average on a log axis), NaN where none of them is finite. */
static void running_geomean(const double *med, size_t n, size_t h, double *out)
{
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        size_t k = 0;
        for (size_t j = i > h ? i - h : 0; j <= i + h && j < n; j++)
            if (isfinite(med[j]) && med[j] > 0) { sum += log(med[j]); k++; }
        out[i] = k ? exp(sum / (double)k) : NAN;
    }
}

/* <stem>.dat: per variant (block = its index), per x the median, min and max over the
 * seeds of the finite (and, on a log axis, positive) values, their count, and the
 * median's running geometric mean (smooth_half; equal to the median where unsmoothed). */
static vp_status curve_dat(const ck_exper *e, curve_ctx *c, const trow *r, size_t n, vp_err *err)
{
    vp_afile af = { 0 };
    vp_status s = ck_dat_open(e, c->chart, &af, err);
    if (s) return s;
    double *vals = malloc((n + 1) * sizeof *vals), *xs = malloc((n + 1) * sizeof *xs);
    double *med = malloc((n + 1) * 3 * sizeof *med), *sm = malloc((n + 1) * sizeof *sm);
    size_t *cnt = malloc((n + 1) * sizeof *cnt);
    if (!vals || !xs || !med || !sm || !cnt) {
        free(vals); free(xs); free(med); free(sm); free(cnt);
        vp_afile_abort(&af);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    fprintf(af.fp, "# %s by %s: median, min and max over seeds, their count, the median's running geometric mean\n",
            c->ylabel, c->xlabel);
    size_t i = 0;
    for (size_t v = 0; v < e->nvar; v++) {
        char lab[700];
        ck_clean_copy(lab, sizeof lab, e->var[v].name);
        fprintf(af.fp, "%s# index %zu: variant %d, %s\n# x median min max n smooth\n", v ? "\n\n" : "", v, e->var[v].id,
                lab);
        size_t rows = 0;
        while (i < n && r[i].vi < (int)v) i++;
        while (i < n && r[i].vi == (int)v) {
            size_t k = 0, i0 = i;
            for (; i < n && r[i].vi == (int)v && r[i].x == r[i0].x; i++)
                if (isfinite(r[i].y) && (!c->logy || r[i].y > 0)) vals[k++] = r[i].y;
            qsort(vals, k, sizeof *vals, vp_cmp_double);
            vp_stat st = vp_stat_of(vals, k);
            xs[rows] = r[i0].x;
            med[rows] = k ? st.med : NAN;
            med[n + 1 + rows] = st.lo;
            med[2 * (n + 1) + rows] = st.hi;
            cnt[rows++] = k;
            if (!k) continue;
            c->has[v]++;
            c->panel_points[e->var[v].panel]++;
            c->xlo = fmin(c->xlo, r[i0].x);
            c->xhi = fmax(c->xhi, r[i0].x);
            c->ylo = fmin(c->ylo, st.lo);
            c->yhi = fmax(c->yhi, st.hi);
        }
        size_t h = smooth_half(rows, c->logy);
        if (h) running_geomean(med, rows, h, sm);
        else memcpy(sm, med, rows * sizeof *sm);
        c->smooth = h > c->smooth ? h : c->smooth;
        for (size_t j = 0; j < rows; j++) {
            fprintf(af.fp, "%.9g", xs[j]);
            ck_put_num(af.fp, med[j]);
            ck_put_num(af.fp, med[n + 1 + j]);
            ck_put_num(af.fp, med[2 * (n + 1) + j]);
            fprintf(af.fp, " %zu", cnt[j]);
            ck_put_num(af.fp, sm[j]);
            fputc('\n', af.fp);
        }
        if (!rows) fputs("? ? ? ? 0 ?\n", af.fp);
    }
    free(vals); free(xs); free(med); free(sm); free(cnt);
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    return s;
}

/* The subtitle of the training charts: the network, then the training settings
 * ("dataset fashion-mnist · batch 64 · 5 epochs · adam lr 0.001 · 3 seeds"), in place of
 * the measurement's ("batch" there is the measurement batch, input.batch). */
static void train_subtitle(const ck_exper *e, char *s, size_t len)
{
    char v[256], w[256];
    size_t n = 0;
    if (vp_report_setting(e->cfg, "network.width", v, sizeof v))
        n += (size_t)snprintf(s + n, len - n, "width %s · ", v);
    if (vp_report_setting(e->cfg, "network.depth", v, sizeof v) && n < len)
        n += (size_t)snprintf(s + n, len - n, "depth %s · ", v);
    if ((vp_report_setting(e->cfg, "train.dataset.name", v, sizeof v) ||
         vp_report_setting(e->cfg, "train.dataset", v, sizeof v)) && n < len)
        n += (size_t)snprintf(s + n, len - n, "%s · ", v);
    if (vp_report_setting(e->cfg, "train.batch", v, sizeof v) && n < len)
        n += (size_t)snprintf(s + n, len - n, "batch %s · ", v);
    if (vp_report_setting(e->cfg, "train.epochs", v, sizeof v) && n < len) {
        int capped = vp_report_setting(e->cfg, "train.max_steps", w, sizeof w) && strcmp(w, "0") != 0;
        if (capped) /* max_steps may end the training before its epochs: say both */
            n += (size_t)snprintf(s + n, len - n, "%s epoch%s, at most %s steps · ", v, strcmp(v, "1") ? "s" : "", w);
        else
            n += (size_t)snprintf(s + n, len - n, "%s epoch%s · ", v, strcmp(v, "1") ? "s" : "");
    }
    if (vp_report_setting(e->cfg, "train.optimizer.name", v, sizeof v) && n < len) {
        /* a swept optimizer says so ("swept lr 0.001" read as if the lr were swept) */
        n += (size_t)snprintf(s + n, len - n, "%s", strcmp(v, "swept") ? v : "optimizer swept,");
        if (vp_report_setting(e->cfg, "train.optimizer.lr", w, sizeof w) && n < len)
            n += (size_t)snprintf(s + n, len - n, " lr %s", w);
        if (n < len) n += (size_t)snprintf(s + n, len - n, " · ");
    }
    if (n < len) snprintf(s + n, len - n, "%zu seed%s", e->nseeds, e->nseeds == 1 ? "" : "s");
    ck_clean(s);
}

/* ck_render with the training subtitle on the page. */
static vp_status render_train(ck_exper *e, const ck_chart *ch, ck_body_fn body, const void *ctx, vp_err *err)
{
    char sub[sizeof e->subtitle];
    train_subtitle(e, sub, sizeof sub);
    return ck_render_sub(e, ch, sub, body, ctx, err);
}

static vp_status draw_curves(ck_exper *e, const ck_chart *ch, vp_csv_file f, vp_col xc, vp_col yc, int logy,
                             const char *xlabel, const char *ylabel, vp_err *err)
{
    curve_ctx c = { .chart = ch, .logy = logy, .whole_x = xc == VP_COL_EPOCH, .has = calloc(e->nvar + 1, sizeof(int)),
                    .panel_points = calloc(e->nact + 1, sizeof(size_t)), .xlo = INFINITY, .xhi = -INFINITY,
                    .ylo = INFINITY, .yhi = -INFINITY, .band = e->nseeds > 1, .xlabel = xlabel, .ylabel = ylabel };
    trow *r = NULL;
    size_t n = 0;
    vp_status s = !c.has || !c.panel_points ? vp_fail(err, VP_ERR_NOMEM, "out of memory") : VP_OK;
    if (!s) s = read_rows(e, e->tab[f], xc, yc, VP_COL_NONE, 0, &r, &n, err);
    if (!s) s = curve_dat(e, &c, r, n, err);
    if (!s) s = render_train(e, ch, curve_body, &c, err);
    char notes[600] = "";
    if (c.smooth)
        snprintf(notes, sizeof notes, "Thin lines: the median over seeds at each step; thick lines: its running "
                 "geometric mean over up to %zu steps. ", 2 * c.smooth + 1);
    ck_note_subsets(e, c.has, notes, sizeof notes);
    if (!s) s = ck_add_chart(e, ch, NULL, notes, err);
    free(r);
    free(c.has);
    free(c.panel_points);
    return s;
}

vp_status ck_draw_train_loss(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    return draw_curves(e, ch, VP_CSV_TRAIN, VP_COL_STEP, VP_COL_LOSS, 1, "step", "training loss", err);
}

vp_status ck_draw_train_acc(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    return draw_curves(e, ch, VP_CSV_EVAL, VP_COL_EPOCH, VP_COL_TEST_ACC, 0, "epoch", "test accuracy", err);
}

/* ---- per-layer variance during training ---- */

typedef struct {
    const ck_chart *chart;
    size_t nv;            /* variants drawn */
    int L;                /* deepest layer */
    double ylo[2], yhi[2], xhi;
    size_t most[VAR_VARIANTS]; /* per variant, the most steps with a value in one of its lines: 1, a
                                  training stopped before its first tracked step (diverged), draws points */
} var_ctx;

/* The panel titles hold config text, so they are noenhanced (kit.h) and write a
 * superscript as the other charts' titles do, in Unicode (draw.c: "Var[zˡ]"); the
 * axis labels, varprop's own text, are enhanced ("z^{/:Italic l}"). */

/* name and layer l in superscript digits: "h¹", "h¹²". */
static void layer_sup(char *out, size_t len, const char *name, int l)
{
    static const char *const SUP[10] = { "⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹" };
    char digits[16];
    size_t n = (size_t)snprintf(out, len, "%s", name);
    snprintf(digits, sizeof digits, "%d", l);
    for (const char *d = digits; *d && n < len; d++)
        n += (size_t)snprintf(out + n, len - n, "%s", *d >= '0' && *d <= '9' ? SUP[*d - '0'] : "");
}

static void var_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const var_ctx *c = vctx;
    static const char *const what[2] = { "Var[zˡ]", "Var[∂L/∂zˡ]" };
    ck_box boxes[MAX_PANELS];
    char titles[MAX_PANELS][800];
    const char *tp[MAX_PANELS];
    double kh = ck_key_height(1, 2);
    int cols = c->nv <= 1 ? 2 : 4;
    ck_grid_cols(c->nv * 2, cols, kh + 0.01, 0.9, boxes);
    /* The y label beside the first column only, as the other charts have it, and only
     * where it fits beside its panel, reaching at most 20 px past each end (the row
     * above's x label sits ~35 px below it): with 3 rows, 215 px of "variance on the
     * probe batch" beside 125 px panels ran into that row's labels, in two columns. */
    const char *ylabel = vp_plot_text_px("variance on the probe batch", 11) <= (boxes[0].t - boxes[0].b) * 800 + 40
                             ? "variance on the probe batch"
                             : "variance";
    for (size_t i = 0; i < c->nv * 2; i++) {
        snprintf(titles[i], sizeof titles[i], "%s — %s", e->var[i / 2].name, what[i % 2]);
        tp[i] = titles[i];
    }
    ck_titles_alike(p, tp, boxes, c->nv * 2);
    ck_page_title(p, e, ck_page_words(c->chart));
    ck_cmd(p, "set palette defined (0 '#08306b', 0.5 '#4292c6', 1 '#c6dbef'); set cbrange [1:%d]; unset colorbox",
           c->L > 1 ? c->L : 2);
    ck_sbuf b = { 0 };
    for (size_t v = 0; v < c->nv; v++)
        for (int q = 0; q < 2; q++) {
            const char *title = titles[v * 2 + (size_t)q];
            ck_panel_head(p, boxes[v * 2 + (size_t)q], title, "set logscale y; set format y '10^{%L}'", "step",
                          (v * 2 + (size_t)q) % (size_t)cols == 0 ? ylabel : NULL);
            if (!(c->yhi[q] >= c->ylo[q]) || c->ylo[q] <= 0) {
                ck_empty_panel(p, "set yrange [0.1:10]", "no finite positive values to draw", "set autoscale y");
                continue;
            }
            ck_box bx = boxes[v * 2 + (size_t)q];
            if (c->xhi > 0) ck_cmd(p, "set xrange [0:%.9g]; set xtics %.9g", c->xhi, ck_fit_step(0, c->xhi, bx, 'x'));
            else ck_cmd(p, "set xrange [-1:1]; set xtics 1"); /* step 0 alone: in the middle */
            ck_log_yrange(p, c->ylo[q], c->yhi[q], 1.5, bx, 1);
            ck_reset(&b);
            /* a line of one point draws nothing: the panels of a training that diverged
             * before its first tracked step (step 0 alone) were blank */
            for (int l = 1; l <= c->L; l++)
                ck_printf(&b, "%s'%s.dat' index %zu using 1:2 with %s lw 1.3 lc palette cb %d notitle", l > 1 ? ", " : "",
                          c->chart->stem, (v * 2 + (size_t)q) * (size_t)c->L + (size_t)(l - 1),
                          c->most[v] > 1 ? "lines" : "linespoints pt 7 ps 1", l);
            ck_cmd(p, "plot %s", b.oom || !b.s ? "NaN notitle" : b.s);
        }
    ck_reset(&b);
    ck_printf(&b, "NaN with lines lw 2 lc rgb '#08306b' title 'layer 1 (dark)', NaN with lines lw 2 lc rgb '#c6dbef' "
                  "title 'layer %d (light; the readout)'", c->L);
    ck_key_strip(p, b.oom ? "NaN notitle" : b.s, kh, 2);
    free(b.s);
}

vp_status ck_draw_train_var(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    var_ctx c = { .chart = ch, .nv = e->nvar < VAR_VARIANTS ? e->nvar : VAR_VARIANTS, .L = 0,
                  .ylo = { INFINITY, INFINITY }, .yhi = { -INFINITY, -INFINITY }, .xhi = 0 };
    trow *r = NULL;
    size_t n = 0;
    vp_status s = read_rows(e, e->tab[VP_CSV_LAYERS_TRAIN], VP_COL_STEP, VP_COL_PRE_VAR, VP_COL_GRAD_PRE_VAR, 1, &r, &n,
                            err);
    if (s) return s;
    for (size_t i = 0; i < n; i++) c.L = r[i].layer > c.L ? r[i].layer : c.L;
    vp_afile af = { 0 };
    double *vals = malloc((n + 1) * sizeof *vals);
    if (!vals) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    if (!s) s = ck_dat_open(e, ch, &af, err);
    if (!s) fprintf(af.fp, "# per variant, quantity (pre_var, grad_pre_var) and layer: step, median over seeds\n");
    size_t i = 0;
    for (size_t v = 0; !s && v < c.nv; v++)
        for (int q = 0; q < 2; q++) {
            size_t i0v = i;
            for (int l = 1; l <= c.L; l++) {
                size_t blk = (v * 2 + (size_t)q) * (size_t)c.L + (size_t)(l - 1);
                fprintf(af.fp, "%s# index %zu: variant %d, %s, layer %d\n", blk ? "\n\n" : "", blk, e->var[v].id,
                        q ? "grad_pre_var" : "pre_var", l);
                size_t rows = 0, drawn = 0;
                for (i = i0v; i < n && (r[i].vi < (int)v || (r[i].vi == (int)v && r[i].layer < l)); i++) {}
                while (i < n && r[i].vi == (int)v && r[i].layer == l) {
                    size_t k = 0, j0 = i;
                    for (; i < n && r[i].vi == (int)v && r[i].layer == l && r[i].x == r[j0].x; i++) {
                        double y = q ? r[i].y2 : r[i].y;
                        if (isfinite(y) && y > 0) vals[k++] = y;
                    }
                    qsort(vals, k, sizeof *vals, vp_cmp_double);
                    vp_stat st = vp_stat_of(vals, k);
                    fprintf(af.fp, "%.9g", r[j0].x);
                    ck_put_num(af.fp, st.med);
                    fputc('\n', af.fp);
                    rows++;
                    if (k) {
                        c.ylo[q] = fmin(c.ylo[q], st.med);
                        c.yhi[q] = fmax(c.yhi[q], st.med);
                        c.xhi = fmax(c.xhi, r[j0].x);
                        drawn++;
                    }
                }
                c.most[v] = drawn > c.most[v] ? drawn : c.most[v];
                if (!rows) fputs("? ?\n", af.fp);
            }
            i = i0v;
        }
    if (!s) s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    if (!s) s = render_train(e, ch, var_body, &c, err);
    char notes[300] = "";
    if (e->nvar > c.nv)
        snprintf(notes, sizeof notes, "The first %zu of %zu variants are drawn. ", c.nv, e->nvar);
    if (!s) s = ck_add_chart(e, ch, NULL, notes, err);
    free(vals);
    free(r);
    return s;
}

/* ---- the colourful dimension ---- */

typedef struct {
    const ck_chart *chart;
    size_t nv, nl;
    int layers[HEAT_LAYERS];
    double cblo, cbhi;
    double xhi, ylo[HEAT_VARIANTS * HEAT_LAYERS], yhi[HEAT_VARIANTS * HEAT_LAYERS];
} heat_ctx;

static void heat_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const heat_ctx *c = vctx;
    ck_box boxes[MAX_PANELS];
    char titles[MAX_PANELS][800], h[64];
    const char *tp[MAX_PANELS];
    ck_grid_cols(c->nv * c->nl, (int)c->nl, 0.08, 0.9, boxes);
    for (size_t i = 0; i < c->nv * c->nl; i++) {
        layer_sup(h, sizeof h, "h", c->layers[i % c->nl]);
        snprintf(titles[i], sizeof titles[i], "%s — %s", e->var[i / c->nl].name, h);
        tp[i] = titles[i];
    }
    ck_titles_alike(p, tp, boxes, c->nv * c->nl);
    ck_page_title(p, e, ck_page_words(c->chart));
    ck_cmd(p, "set palette defined (0 '#000004', 0.25 '#51127c', 0.5 '#b73779', 0.75 '#fc8961', 1 '#fcfdbf')");
    ck_cmd(p, "set cbrange [%.6g:%.6g]", c->cblo, c->cbhi > c->cblo ? c->cbhi : c->cblo + 1);
    for (size_t v = 0; v < c->nv; v++)
        for (size_t k = 0; k < c->nl; k++) {
            size_t pi = v * c->nl + k;
            /* The first panel carries the colour bar, in the strip below the panels, named
             * on its left as the line charts' bar is (kit.c ck_colour_bar): a cblabel goes
             * under the bar's value tics, off the page this low, and lifted it lay on the bar. */
            ck_panel_head(p, boxes[pi], titles[pi],
                          pi ? "set format y '%g'; unset colorbox; unset label 2"
                             : "set format y '%g'; set colorbox horizontal user origin screen 0.3, screen 0.03 size "
                               "screen 0.4, screen 0.015; set cbtics; "
                               "set label 2 'log_{10} density' at screen 0.29, screen 0.0375 right",
                          "step", k == 0 ? "activation value" : NULL);
            if (!(c->yhi[pi] > c->ylo[pi])) {
                ck_empty_panel(p, "set yrange [-1:1]", "no histogram to draw", "set autoscale y");
                continue;
            }
            double xhi = c->xhi > 0 ? c->xhi : 1; /* tics a line apart: 11 labels crowded a short panel */
            ck_cmd(p, "set xrange [0:%.9g]; set xtics %.9g; set yrange [%.6g:%.6g]; set ytics %.9g", xhi,
                   ck_fit_step(0, xhi, boxes[pi], 'x'), c->ylo[pi], c->yhi[pi],
                   ck_fit_step(c->ylo[pi], c->yhi[pi], boxes[pi], 'y'));
            ck_cmd(p, "plot '%s.dat' index %zu using 1:2:3:4:5 with boxxyerror fs solid 1.0 noborder lc palette notitle",
                   c->chart->stem, pi);
        }
}

vp_status ck_draw_train_hist(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    const vp_table *t = e->tab[VP_CSV_HIST_TRAIN];
    heat_ctx c = { .chart = ch, .nv = e->nvar < HEAT_VARIANTS ? e->nvar : HEAT_VARIANTS, .cblo = INFINITY,
                   .cbhi = -INFINITY, .xhi = 0 };
    trow *r = NULL;
    size_t n = 0, clo, chi;
    vp_status s;
    if ((s = vp_table_require_col(t, VP_COL_BIN_LO, &clo, err)) || (s = vp_table_require_col(t, VP_COL_BIN_HI, &chi, err)))
        return s;
    /* rows by variant, layer, step, seed; x = step, y = density, y2 = row index (bin edges) */
    if ((s = read_rows(e, t, VP_COL_STEP, VP_COL_DENSITY, VP_COL_BIN_LO, 1, &r, &n, err))) return s;
    if (!n) { /* train.hist_bins 0, or a block network: no histograms tracked, no chart */
        free(r);
        return VP_OK;
    }
    int L = 0;
    for (size_t i = 0; i < n; i++) L = r[i].layer > L ? r[i].layer : L;
    c.nl = L < HEAT_LAYERS ? (size_t)L : HEAT_LAYERS;
    for (size_t k = 0; k < c.nl; k++) c.layers[k] = 1 + (int)ck_pick(k, c.nl, (size_t)L);
    for (size_t k = 0; k < HEAT_VARIANTS * HEAT_LAYERS; k++) c.ylo[k] = INFINITY, c.yhi[k] = -INFINITY;
    vp_afile af = { 0 };
    if ((s = ck_dat_open(e, ch, &af, err))) { free(r); return s; }
    fprintf(af.fp, "# per variant (first seed) and layer: step, value at the bin centre, half the step span, half the "
                   "bin width, log10 density (? where 0)\n");
    for (size_t v = 0; v < c.nv; v++)
        for (size_t k = 0; k < c.nl; k++) {
            size_t pi = v * c.nl + k;
            fprintf(af.fp, "%s# index %zu: variant %d, layer %d\n", pi ? "\n\n" : "", pi, e->var[v].id, c.layers[k]);
            size_t i = 0, rows = 0;
            while (i < n && (r[i].vi < (int)v || (r[i].vi == (int)v && r[i].layer < c.layers[k]))) i++;
            double seed0 = i < n ? r[i].seed : 0;
            /* the steps of this layer's histograms: each cell spans to the next step, the last
             * as far as the one before it (the probe at the last step, often a few steps after
             * the previous one, drew a sliver of one step) */
            double span = 1;
            for (; i < n && r[i].vi == (int)v && r[i].layer == c.layers[k];) {
                size_t j0 = i;
                while (i < n && r[i].vi == (int)v && r[i].layer == c.layers[k] && r[i].x == r[j0].x) i++;
                int more = i < n && r[i].vi == (int)v && r[i].layer == c.layers[k];
                double next = more ? r[i].x : r[j0].x + span;
                if (more) span = r[i].x - r[j0].x;
                for (size_t j = j0; j < i; j++) {
                    if (r[j].seed != seed0) continue;
                    double lo = r[j].y2, w;
                    /* the bin's upper edge: the next bin's lower edge of the same histogram, or
                     * the first bin's width */
                    w = j + 1 < i && r[j + 1].seed == seed0 && r[j + 1].y2 > lo ? r[j + 1].y2 - lo
                        : j > j0 && r[j - 1].seed == seed0                    ? lo - r[j - 1].y2
                                                                              : 1;
                    double d = r[j].y > 0 && isfinite(r[j].y) ? log10(r[j].y) : NAN;
                    fprintf(af.fp, "%.9g %.9g %.9g %.9g", (r[j0].x + next) / 2, lo + w / 2, (next - r[j0].x) / 2, w / 2);
                    ck_put_num(af.fp, d);
                    fputc('\n', af.fp);
                    rows++;
                    c.xhi = fmax(c.xhi, next);
                    c.ylo[pi] = fmin(c.ylo[pi], lo);
                    c.yhi[pi] = fmax(c.yhi[pi], lo + w);
                    if (isfinite(d)) { c.cblo = fmin(c.cblo, d); c.cbhi = fmax(c.cbhi, d); }
                }
            }
            if (!rows) fputs("? ? ? ? ?\n", af.fp);
        }
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    if (!isfinite(c.cblo)) c.cblo = 0, c.cbhi = 1;
    if (!s) s = render_train(e, ch, heat_body, &c, err);
    char notes[300] = "";
    if (e->nvar > c.nv) snprintf(notes, sizeof notes, "The first %zu of %zu variants are drawn. ", c.nv, e->nvar);
    if (!s) s = ck_add_chart(e, ch, NULL, notes, err);
    free(r);
    return s;
}
