/* lines: the by-layer charts -- one layers.csv statistic per layer (act_var_pre,
 * act_var_post, grad_var, wgrad_var, corr) or two side by side (act_mean, spp,
 * dead_saturated): one panel per activation (and statistic), one curve per variant with
 * the median over seeds, the seed range shaded and the mean-field prediction dashed
 * (chart table: column, theory, ylabel, column2, ylabel2, axis). Every panel of a
 * statistic has the same y range. A block network's curves mark each layer's type with
 * its own point type (ck_block_pt; the .dat's last column), named in the legend. */
#include "present/charts/kit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The mean-field prediction's line: dashed, in its curve's colour, twice as thick as the
 * measured line (lw 2) and drawn over it, so that where theory and measurement agree
 * the dashes show as beads on the line (thinner dashes vanished under it) and where they
 * part the dashed line is plainly the theory. */
#define THEORY_STYLE "lw 4 dt 2"

#define NQ_MAX 2
#define RANK_COL 7 /* colour mode, not a block network: the .dat column of the colour rank */

typedef struct {
    const ck_chart *chart;
    size_t nq;            /* statistics: 1, or 2 side by side */
    int col[NQ_MAX], theory;  /* layers.csv columns; theory -1: none */
    const char *name[NQ_MAX];
    int *has;             /* per statistic and variant (q * nvar + i): any drawable point */
    int *has_any;         /* per variant: any statistic or theory drawable (a curve in the legend) */
    int *has_theory;      /* per variant (statistic 0) */
    int *curve;           /* per statistic and variant: a curve, measured or its theory alone */
    size_t *panel_points; /* drawable points per statistic and panel (q * nact + a) */
    int band;             /* more than one seed and a legend: draw min-max bands */
    double ylo[NQ_MAX], yhi[NQ_MAX]; /* the drawn values' range, per statistic */
    int *btype;           /* block network: per (variant, layer) bucket its layer type, -1 none; NULL otherwise */
    double *bpos;         /* block network with residual blocks: per bucket its place along the stream
                             (kit.h lrow_pos), the x; NULL: the layer number */
    int bpresent[VP_LAYER_KIND_COUNT]; /* the types drawn: one legend entry each */
} line_ctx;

/* The legend: curve styles (or the colour bar's extra entries), the layer types'
 * markers of a block network, the theory and band marks. */
static size_t line_key(const ck_exper *e, const line_ctx *c, int any_theory, ck_sbuf *b, size_t *maxlen)
{
    size_t nkey = e->colour_key < 0 ? ck_style_key(e, c->has_any, b, maxlen, c->btype ? "lines" : "linespoints") : 0;
    if (c->btype) {
        if (nkey) ck_printf(b, ", ");
        nkey += ck_block_key(c->bpresent, b, maxlen);
    }
    const char *sep = nkey ? ", " : "";
    if (e->colour_key >= 0) { /* the colour bar names the curves; say which ones are the measurements
                                 * (a block network's points mark layer types: a line alone) */
        ck_printf(b, "%sNaN with %s lc rgb '#444444' lw 2 pt 7 ps 0.8 title 'measured'", sep,
                  c->btype ? "lines" : "linespoints");
        nkey++;
        sep = ", ";
    }
    if (any_theory) {
        /* thinner in the key than in the plot: at lw 4 its short sample shows a single dash */
        ck_printf(b, "%sNaN with lines lc rgb '#444444' lw 2 dt 2 title 'theory (dashed)'", sep);
        nkey++;
        sep = ", ";
    }
    /* one layer: the seed range is a bar (curve_clauses) */
    const char *mark = e->nlayer == 1 ? "lines lc rgb '#444444' lw 2" : "filledcurves lc rgb '#bbbbbb' fs solid 1.0 noborder";
    const char *how = e->nlayer == 1 ? "bar" : "shaded";
    if (c->band && ck_partial_seeds(e)) {
        ck_printf(b, "%sNaN with %s title 'min–max over the completed seeds of each variant (%s)'", sep, mark, how);
        nkey++;
    } else if (c->band) {
        ck_printf(b, "%sNaN with %s title 'min–max over %zu seeds (%s)'", sep, mark, e->nseeds, how);
        nkey++;
    }
    return nkey;
}

/* The y range every panel of statistic q shares: the drawn values with a margin; a log
 * axis's tics listed for panel b (ck_log_tics). */
static void y_range(ck_gp *p, const ck_chart *ch, double lo, double hi, ck_box b)
{
    if (ch->axis == CK_AXIS_UNIT) { ck_cmd(p, "set yrange [-0.03:1.03]"); return; }
    if (ch->axis == CK_AXIS_LOG) {
        ck_log_yrange(p, lo, hi, 0, b, 1);
    } else {
        /* At least 1e-4 of the values each side: a gain sweep of a one-layer net has the same
         * correlation in every variant to 1e-8 (c^1 does not depend on the weights' scale),
         * and a margin of 5% of that spread printed both ends as 0.214249: gnuplot refused
         * the empty range ("Can't plot with an empty y range!") and the run exited 1. One
         * value alone: half its size each side. */
        double m = fmax(hi > lo ? 0.05 * (hi - lo) : 0.5 * fabs(hi), 1e-4 * fmax(fabs(lo), fabs(hi)));
        if (!(m > 0)) m = 0.05;
        ck_cmd(p, "set yrange [%.6g:%.6g]; set ytics %.6g", lo - m, hi + m, ck_tic_step(lo - m, hi + m));
    }
}

/* The step of curves[0..k) if they are evenly spaced (k >= 1; a single curve has step
 * 1), else 0. */
static size_t progression(const size_t *curves, size_t k)
{
    size_t step = k > 1 ? curves[1] - curves[0] : 1;
    for (size_t j = 1; j < k; j++)
        if (curves[j] <= curves[j - 1] || curves[j] - curves[j - 1] != step) return 0;
    return step;
}

static void curve_clauses(const ck_exper *e, const line_ctx *c, size_t k, const size_t *curves, size_t blk, size_t q,
                          int pi, ck_sbuf *b);

/* Panel a of statistic q: axes, range, then bands, measurements and theory, so lines
 * stay on top. */
static void line_panel(ck_gp *p, const ck_exper *e, const line_ctx *c, ck_box box, size_t a, size_t q, int ylab,
                       const char *title, ck_sbuf *b)
{
    const ck_chart *ch = c->chart;
    const char *axes = ch->axis == CK_AXIS_LOG ? "set logscale y; set format y '10^{%L}'"
                                               : "set format y '%g'";
    ck_panel_head(p, box, title, axes, c->bpos ? "block {/:Italic k}: its layers in ({/:Italic k}−1, {/:Italic k}], its output at {/:Italic k}"
                                                : "layer {/:Italic l}",
                  ylab ? (q ? ch->ylabel2 : ch->ylabel) : NULL);
    if (c->bpos) ck_cmd(p, "set xrange [0:%.9g]; set xtics %.0f", e->pos_max, fmax(1, ck_tic_step(0, e->pos_max)));
    else if (e->nlayer > 1) ck_cmd(p, "set xrange [1:%d]; set xtics %.0f", e->nlayer, fmax(1, ck_tic_step(1, e->nlayer)));
    else ck_cmd(p, "set xrange [0.5:1.5]; set xtics 1");
    if (c->panel_points[q * e->nact + a] == 0) {
        ck_empty_panel(p, ch->axis == CK_AXIS_LOG ? "set yrange [0.1:10]" : "set yrange [-1:1]",
                       ch->axis == CK_AXIS_LOG ? "no finite positive values to draw" : "no finite values to draw",
                       "set autoscale y");
        return;
    }
    y_range(p, ch, c->ylo[q], c->yhi[q], box);
    if (ch->zero_line) ck_cmd(p, "set arrow 1 from graph 0, first 0 to graph 1, first 0 nohead lc rgb '#777777' dt 3");
    /* a variant with nothing measured to draw (every value nan, or 0 on the log axis) keeps
     * its curve when its theory has values: the theory alone, dashed */
    size_t curves[MAX_CURVES], total;
    size_t k = ck_panel_curves(e, (int)a, c->curve + q * e->nvar, curves, &total);
    int pi = e->nlayer > 12 ? e->nlayer / 10 : 1;
    size_t blk = q * e->nvar, step;
    ck_reset(b);
    if (e->colour_key >= 0 && !c->btype && !c->band && e->nlayer > 1 && (step = progression(curves, k))) {
        /* Colour mode: the panel's curves are every step-th block from the first, so one
         * clause reads them all (`index first:last:step`), each block coloured by its rank
         * column; per-curve clauses would make gnuplot reopen the .dat and scan it from
         * the top once per curve (200 curves: 400 scans of a 300 KB file per terminal). A
         * block without theory values holds `?` there and draws no dashed line. */
        size_t a0 = blk + curves[0], a1 = blk + curves[k - 1];
        int any_theory = 0;
        for (size_t j = 0; j < k; j++) any_theory |= c->has_theory[curves[j]];
        ck_printf(b, "'%s.dat' index %zu:%zu:%zu using 1:2:%d with linespoints lt %d lc palette z pi %d notitle",
                  ch->stem, a0, a1, step, RANK_COL, COLOUR_LT, pi);
        if (q == 0 && any_theory)
            ck_printf(b, ", '%s.dat' index %zu:%zu:%zu using 1:5:%d with lines lt %d lc palette z " THEORY_STYLE " notitle",
                      ch->stem, a0, a1, step, RANK_COL, COLOUR_LT);
    } else {
        /* markers every `every` layers, curve j's from layer 1 + j mod every: curves that
         * coincide (xavier_normal and lecun_normal at equal fans) show each one's markers,
         * not one curve hidden under the other. Every curve has layers of its own when the
         * depth leaves each at least 3 markers (L >= 3k). */
        int every = e->nlayer > 12 && k > 1 && (size_t)e->nlayer >= 3 * k && (int)k > pi ? (int)k : pi;
        curve_clauses(e, c, k, curves, blk, q, every, b);
    }
    ck_cmd(p, "plot %s", b->s);
    if (ch->zero_line) ck_cmd(p, "unset arrow 1");
}

/* One clause per curve of a panel (curves[0..k), statistic q whose blocks start at blk):
 * bands, measurements, theory. */
static void curve_clauses(const ck_exper *e, const line_ctx *c, size_t k, const size_t *curves, size_t blk, size_t q,
                          int pi, ck_sbuf *b)
{
    const ck_chart *ch = c->chart;
    char lc[96];
    const char *sep = "";
    /* A network of one layer: a band or a line through one point draws nothing, and the
     * theory and seed range its legend promised were missing. The seed range is a bar
     * there, the theory a dashed dash across the point. */
    int one = e->nlayer == 1;
    for (size_t j = 0; c->band && j < k; j++)
        if (c->has[blk + curves[j]]) {
            ck_printf(b, one ? "%s'%s.dat' index %zu using 1:2:3:4 with yerrorbars %s ps 0 notitle"
                             : "%s'%s.dat' index %zu using 1:3:4 with filledcurves %s fs transparent solid 0.15 noborder "
                               "notitle",
                      sep, ch->stem, blk + curves[j], ck_lc(e, curves[j], lc, sizeof lc));
            sep = ", ";
        }
    for (size_t j = 0; j < k; j++) {
        if (!c->has[blk + curves[j]]) continue; /* its theory alone */
        if (c->btype) /* the layer types as point types (column 7) on a plain line */
            ck_printf(b, "%s'%s.dat' index %zu using 1:2 with lines %s notitle, '%s.dat' index %zu using 1:2:7 with "
                         "points pt variable ps 1.2 %s notitle",
                      sep, ch->stem, blk + curves[j], ck_lc(e, curves[j], lc, sizeof lc), ch->stem, blk + curves[j],
                      ck_lc(e, curves[j], lc, sizeof lc));
        else if (pi > 1 && k > 1) /* staggered markers (above) */
            ck_printf(b, "%s'%s.dat' index %zu using 1:2 with lines %s notitle, '%s.dat' index %zu every %d::%zu using "
                         "1:2 with points %s notitle",
                      sep, ch->stem, blk + curves[j], ck_lc(e, curves[j], lc, sizeof lc), ch->stem, blk + curves[j], pi,
                      j % (size_t)pi, ck_lc(e, curves[j], lc, sizeof lc));
        else
            ck_printf(b, "%s'%s.dat' index %zu using 1:2 with linespoints %s pi %d notitle", sep, ch->stem,
                      blk + curves[j], ck_lc(e, curves[j], lc, sizeof lc), pi);
        sep = ", ";
    }
    for (size_t j = 0; q == 0 && j < k; j++)
        if (c->has_theory[curves[j]]) {
            ck_printf(b, one ? "%s'%s.dat' index %zu using ($1-0.2):5:(0.4):(0) with vectors nohead %s " THEORY_STYLE
                               " notitle"
                             : "%s'%s.dat' index %zu using 1:5 with lines %s " THEORY_STYLE " notitle",
                      sep, ch->stem, curves[j], ck_lc(e, curves[j], lc, sizeof lc));
            sep = ", ";
        }
}

static void line_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const line_ctx *c = vctx;
    const ck_chart *ch = c->chart;
    ck_sbuf b = { 0 };
    size_t maxlen = 0, nkey;
    int any_theory = 0, colour = e->colour_key >= 0;
    for (size_t i = 0; i < e->nvar; i++) any_theory |= c->has_theory[i];
    nkey = line_key(e, c, any_theory, &b, &maxlen);
    if (c->band && maxlen < (ck_partial_seeds(e) ? 48 : 28)) maxlen = ck_partial_seeds(e) ? 48 : 28;
    int kc = ck_key_cols(maxlen);
    double kh = colour ? ck_colour_bar_height(nkey, kc) : ck_key_height(nkey, kc);
    size_t per = MAX_PANELS / c->nq, np = e->nact < per ? e->nact : per;
    ck_box boxes[MAX_PANELS];
    int cols;
    if (c->nq == 1) cols = ck_grid(np, kh + 0.01, 0.9, boxes);
    else ck_grid_cols(np * 2, cols = np <= 3 ? 2 : 4, kh + 0.01, 0.9, boxes); /* a statistic's pair side by side */

    /* Panel titles: the activation, and for a pair which statistic */
    char titles[MAX_PANELS][700];
    const char *tp[MAX_PANELS];
    for (size_t k = 0; k < np * c->nq; k++) {
        size_t a = k / c->nq, q = k % c->nq;
        if (c->nq == 1) snprintf(titles[k], sizeof titles[k], "%s", e->act[a]);
        else snprintf(titles[k], sizeof titles[k], "%s — %s", e->act[a], q ? ch->what2 : ch->what);
        tp[k] = titles[k];
    }
    ck_titles_alike(p, tp, boxes, np * c->nq);
    ck_page_title(p, e, ck_page_words(ch));
    if (colour) ck_colour_scale(p, e);
    ck_cmd(p, "unset colorbox");
    for (size_t a = 0; a < np; a++)
        for (size_t q = 0; q < c->nq; q++) {
            size_t k = a * c->nq + q;
            line_panel(p, e, c, boxes[k], a, q, c->nq == 1 && k % (size_t)cols == 0, titles[k], &b); /* pairs: titles say it */
        }
    ck_reset(&b);
    line_key(e, c, any_theory, &b, &maxlen);
    if (colour) ck_colour_bar(p, e, b.oom ? NULL : b.s, nkey, kc);
    else ck_key_strip(p, b.oom || !b.s ? "NaN notitle" : b.s, kh, kc);
    free(b.s);
}

/* One statistic's blocks of <stem>.dat: per variant and layer, the median, min and max
 * over seeds of the drawable values, and the median theory value. val/th hold the values
 * of bucket (variant, layer) bi at off[bi] .. off[bi] + fillv[bi] (fillt[bi]). */
static void write_blocks(const ck_exper *e, line_ctx *c, size_t q, FILE *f, double *val, double *th, const size_t *off,
                         const size_t *fillv, const size_t *fillt)
{
    size_t L = (size_t)e->nlayer;
    for (size_t i = 0; i < e->nvar; i++) {
        char lab[700];
        size_t blk = q * e->nvar + i;
        ck_clean_copy(lab, sizeof lab, e->var[i].name);
        fprintf(f, "%s# index %zu: ", blk ? "\n\n" : "", blk);
        if (c->nq > 1) fprintf(f, "%s of ", c->name[q]);
        fprintf(f, "variant %d, %s", e->var[i].id, lab);
        if (ck_partial_seeds(e)) fprintf(f, " (%zu of %zu seeds completed)", e->var[i].seeds, e->nseeds);
        fprintf(f, "\n# %s median min max theory n%s%s\n", c->bpos ? "position" : "layer", c->btype ? " point_type" : "",
                e->colour_key >= 0 ? " colour_rank" : "");
        for (size_t l = 0; l < L; l++) {
            size_t bi = i * L + l;
            vp_stat m = vp_stat_of(val + off[bi], fillv[bi]), t = vp_stat_of(th + off[bi], fillt[bi]);
            if (c->bpos && isnan(c->bpos[bi])) continue; /* no row of this variant has layer l + 1 */
            if (c->bpos) fprintf(f, "%.9g", c->bpos[bi]);
            else fprintf(f, "%zu", l + 1);
            ck_put_num(f, m.med);
            ck_put_num(f, m.lo);
            ck_put_num(f, m.hi);
            ck_put_num(f, t.med);
            fprintf(f, " %zu", fillv[bi]);
            if (c->btype) fprintf(f, " %d", ck_block_pt(c->btype[bi]));
            if (e->colour_key >= 0) fprintf(f, " %d", e->var[i].rank);
            fputs("\n", f);
            if (fillv[bi]) {
                if (c->btype && c->btype[bi] >= 0) c->bpresent[c->btype[bi]] = 1;
                c->has[blk] = 1;
                c->ylo[q] = fmin(c->ylo[q], m.lo);
                c->yhi[q] = fmax(c->yhi[q], m.hi);
            }
            if (fillt[bi] && q == 0) {
                c->has_theory[i] = 1;
                c->ylo[q] = fmin(c->ylo[q], t.med);
                c->yhi[q] = fmax(c->yhi[q], t.med);
            }
            if (fillv[bi] || (fillt[bi] && q == 0)) { /* something drawn: the measurement or the theory */
                c->curve[blk] = c->has_any[i] = 1;
                c->panel_points[q * e->nact + (size_t)e->var[i].panel]++;
            }
        }
    }
}

/* The note naming the variants that have no value of a statistic to draw (all nan, or
 * 0 on a log axis: an overflow, or a signal that vanished to exactly 0): the legend still
 * lists those with a theory (drawn alone, dashed); a variant with neither is in no curve
 * and no legend, which the note says. Returns the characters written. */
static size_t nothing_measured(const ck_exper *e, const line_ctx *c, char *out, size_t len)
{
    size_t n = 0, listed = 0, missing = 0;
    for (size_t i = 0; i < e->nvar; i++) {
        int none = 1;
        for (size_t q = 0; q < c->nq; q++) none &= !c->has[q * e->nvar + i];
        missing += none;
    }
    if (!missing || !len) return 0;
    n += (size_t)snprintf(out, len, "Nothing measured to draw for %zu of %zu variants (", missing, e->nvar);
    for (size_t i = 0; i < e->nvar && n < len; i++) {
        int none = 1;
        for (size_t q = 0; q < c->nq; q++) none &= !c->has[q * e->nvar + i];
        if (!none) continue;
        if (listed == 6) {
            n += (size_t)snprintf(out + n, len - n, ", and %zu more", missing - listed);
            break;
        }
        n += (size_t)snprintf(out + n, len - n, "%s#%d %s: %s", listed ? "; " : "", e->var[i].id, e->var[i].name,
                              c->has_theory[i] ? "its theory alone, dashed" : "not drawn");
        listed++;
    }
    if (n < len) n += (size_t)snprintf(out + n, len - n, "). ");
    return n < len ? n : len - 1;
}

typedef struct {
    size_t nonfinite, nonpos, total;
    size_t unweighted; /* wgrad_var of a block network's layers without weights: nan by definition */
} skipped;

/* Statistic q of every layers.csv row into its (variant, layer) bucket: the values the
 * axis can draw (finite; positive too on a log axis), and theory values alike. */
static vp_status bucket(const ck_exper *e, const line_ctx *c, size_t q, double *val, double *th, const size_t *off,
                        size_t *fillv, size_t *fillt, skipped *sk, vp_err *err)
{
    const vp_table *t = e->tab[VP_CSV_LAYERS];
    size_t nr = vp_table_nrows(t), L = (size_t)e->nlayer;
    int logy = c->chart->axis == CK_AXIS_LOG, ct = q == 0 ? c->theory : -1;
    vp_status s = VP_OK;
    for (size_t r = 0; r < nr && !s; r++) {
        size_t bi = (size_t)e->lrow_var[r] * L + (size_t)e->lrow_layer[r] - 1;
        double v;
        if ((s = vp_table_num(t, r, (size_t)c->col[q], &v, err))) break;
        if (c->chart->column == VP_COL_WGRAD_VAR && e->lrow_type && e->lrow_type[r] != VP_LAYER_DENSE &&
            e->lrow_type[r] != VP_LAYER_CONV2D && isnan(v)) {
            sk->unweighted++; /* a norm, pool, flatten or residual add has no dL/dW: not an overflow */
            continue;
        }
        sk->total++;
        if (!isfinite(v)) sk->nonfinite++;
        else if (logy && v <= 0) sk->nonpos++;
        else val[off[bi] + fillv[bi]++] = v;
        if (ct >= 0) {
            if ((s = vp_table_num(t, r, (size_t)ct, &v, err))) break;
            if (isfinite(v) && (!logy || v > 0)) th[off[bi] + fillt[bi]++] = v;
        }
    }
    return s;
}

/* Aggregate the layers.csv statistics per (variant, layer) over seeds, write <stem>.dat,
 * draw, and add the chart with notes on what the axis cannot show. */
vp_status ck_draw_lines(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    const vp_table *t = e->tab[VP_CSV_LAYERS];
    line_ctx c = { .chart = ch, .nq = ch->ylabel2 ? 2 : 1 };
    c.col[0] = vp_table_find_col(t, ch->column);
    c.name[0] = vp_col_name(ch->column);
    c.theory = ch->theory != VP_COL_NONE ? vp_table_find_col(t, ch->theory) : -1;
    if (c.nq == 2) {
        c.col[1] = vp_table_find_col(t, ch->column2);
        c.name[1] = vp_col_name(ch->column2);
    }
    for (size_t q = 0; q < c.nq; q++)
        if (c.col[q] < 0) return VP_OK; /* an older results folder without this statistic */
    size_t nr = vp_table_nrows(t), L = (size_t)e->nlayer, nb = e->nvar * L;
    size_t *cnt = calloc(nb + 1, sizeof *cnt), *off = calloc(nb + 1, sizeof *off);
    size_t *fillv = calloc(nb + 1, sizeof *fillv), *fillt = calloc(nb + 1, sizeof *fillt);
    double *val = malloc((nr + 1) * sizeof *val), *th = malloc((nr + 1) * sizeof *th);
    c.band = e->nseeds > 1 && e->colour_key < 0;
    c.has = calloc(c.nq * e->nvar, sizeof *c.has);
    c.has_any = calloc(e->nvar, sizeof *c.has_any);
    c.has_theory = calloc(e->nvar, sizeof *c.has_theory);
    c.curve = calloc(c.nq * e->nvar, sizeof *c.curve);
    c.panel_points = calloc(c.nq * e->nact, sizeof *c.panel_points);
    vp_status s = VP_OK;
    skipped sk = { 0, 0, 0, 0 };
    vp_afile af = { 0 };
    if (!cnt || !off || !fillv || !fillt || !val || !th || !c.has || !c.has_any || !c.has_theory || !c.curve ||
        !c.panel_points) {
        s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        goto end;
    }
    for (size_t r = 0; r < nr; r++) cnt[(size_t)e->lrow_var[r] * L + (size_t)e->lrow_layer[r] - 1]++;
    if (e->lrow_type) { /* a layer's type: its first row's (every seed of a variant has the same network) */
        if (!(c.btype = malloc((nb + 1) * sizeof *c.btype))) {
            s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
            goto end;
        }
        for (size_t i = 0; i <= nb; i++) c.btype[i] = -1;
        for (size_t r = 0; r < nr; r++) {
            size_t bi = (size_t)e->lrow_var[r] * L + (size_t)e->lrow_layer[r] - 1;
            if (c.btype[bi] < 0) c.btype[bi] = e->lrow_type[r];
        }
    }
    if (e->lrow_pos) { /* a layer's place along the stream: its first row's, as its type */
        if (!(c.bpos = malloc((nb + 1) * sizeof *c.bpos))) {
            s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
            goto end;
        }
        for (size_t i = 0; i <= nb; i++) c.bpos[i] = NAN;
        for (size_t r = 0; r < nr; r++) {
            size_t bi = (size_t)e->lrow_var[r] * L + (size_t)e->lrow_layer[r] - 1;
            if (isnan(c.bpos[bi])) c.bpos[bi] = e->lrow_pos[r];
        }
    }
    for (size_t i = 1; i <= nb; i++) off[i] = off[i - 1] + cnt[i - 1];
    if ((s = ck_dat_open(e, ch, &af, err))) goto end;
    const char *kept = ch->axis == CK_AXIS_LOG ? "finite positive" : "finite";
    if (c.nq == 1)
        fprintf(af.fp, "# %s by layer: median, min and max over seeds of the %s values; "
                       "theory = %s (median over seeds); '?' = nothing to draw\n",
                c.name[0], kept, c.theory >= 0 ? vp_table_colname(t, (size_t)c.theory) : "none");
    else
        fprintf(af.fp, "# %s (blocks 0-%zu) and %s (blocks %zu-%zu) by layer: median, min and max over seeds of the %s "
                       "values; '?' = nothing to draw\n",
                c.name[0], e->nvar - 1, c.name[1], e->nvar, 2 * e->nvar - 1, kept);
    for (size_t q = 0; q < c.nq && !s; q++) {
        c.ylo[q] = INFINITY;
        c.yhi[q] = -INFINITY;
        memset(fillv, 0, (nb + 1) * sizeof *fillv);
        memset(fillt, 0, (nb + 1) * sizeof *fillt);
        if (!(s = bucket(e, &c, q, val, th, off, fillv, fillt, &sk, err)))
            write_blocks(e, &c, q, af.fp, val, th, off, fillv, fillt);
    }
    if (!s) s = vp_afile_commit(&af, err);
    if (!s) s = ck_render(e, ch, line_body, &c, err);
    if (!s) {
        char notes[1600] = "";
        size_t n = 0;
        const char *what = c.nq == 1 ? c.name[0] : "the two statistics";
        if (ch->axis == CK_AXIS_LOG && (sk.nonfinite || sk.nonpos))
            n = (size_t)snprintf(notes, sizeof notes,
                                 "Not drawn on the log axis: %zu non-finite (nan/inf) and %zu non-positive of %zu values "
                                 "of %s; medians and ranges use the remaining seeds. ",
                                 sk.nonfinite, sk.nonpos, sk.total, what);
        else if (sk.nonfinite)
            n = (size_t)snprintf(notes, sizeof notes, "Not drawn: %zu non-finite (nan/inf) of %zu values of %s; medians "
                                 "and ranges use the remaining seeds. ", sk.nonfinite, sk.total, what);
        if (sk.unweighted && n < sizeof notes)
            n += (size_t)snprintf(notes + n, sizeof notes - n, "Layers without weights (norms, pools, flatten, "
                                  "residual adds: %zu rows) have no ∂L/∂W and no point. ", sk.unweighted);
        if (e->colour_key >= 0 && e->nseeds > 1 && n < sizeof notes)
            n += (size_t)snprintf(notes + n, sizeof notes - n, "Colour = %s (colour bar); the seed ranges are not "
                                  "shaded with this many curves (the .dat file has them). ", e->sweep[e->colour_key]);
        if (n < sizeof notes) n += nothing_measured(e, &c, notes + n, sizeof notes - n);
        if (n < sizeof notes) ck_note_subsets(e, c.has_any, notes + n, sizeof notes - n);
        if (c.nq == 2 && e->nact > MAX_PANELS / 2 && strlen(notes) < sizeof notes)
            snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "Panels for the first %d of %zu activations. ",
                     MAX_PANELS / 2, e->nact);
        s = ck_add_chart(e, ch, NULL, notes, err);
    }
end:
    vp_afile_abort(&af);
    free(cnt);
    free(off);
    free(fillv);
    free(fillt);
    free(val);
    free(th);
    free(c.has);
    free(c.has_any);
    free(c.has_theory);
    free(c.curve);
    free(c.panel_points);
    free(c.btype);
    free(c.bpos);
    return s;
}
