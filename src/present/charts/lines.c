/* lines: the variance-by-layer charts (act_var_pre, act_var_post, grad_var, wgrad_var):
 * one panel per activation, one curve per variant with the median over seeds, the
 * seed range shaded and the mean-field prediction dashed (chart table: column, theory). */
#include "present/charts/kit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const ck_chart *chart;
    int *has;            /* per variant: any drawable point */
    int *has_theory;
    size_t *panel_points; /* drawable points per panel */
    int band;             /* more than one seed: draw min-max bands */
} line_ctx;

/* The legend: curve styles, then the theory and band marks when drawn. */
static size_t line_key(const ck_exper *e, const line_ctx *c, int any_theory, ck_sbuf *b, size_t *maxlen)
{
    size_t nkey = ck_style_key(e, c->has, b, maxlen, "linespoints");
    if (any_theory) { ck_printf(b, ", NaN with lines lc rgb '#444444' lw 1.5 dt 2 title 'theory (dashed)'"); nkey++; }
    if (c->band && ck_partial_seeds(e)) {
        ck_printf(b, ", NaN with filledcurves lc rgb '#bbbbbb' fs solid 1.0 noborder title 'min–max over the completed "
                     "seeds of each variant (shaded)'");
        nkey++;
    } else if (c->band) {
        ck_printf(b, ", NaN with filledcurves lc rgb '#bbbbbb' fs solid 1.0 noborder title 'min–max over %zu seeds (shaded)'",
                  e->nseeds);
        nkey++;
    }
    return nkey;
}

static void line_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const line_ctx *c = vctx;
    const ck_chart *ch = c->chart;
    ck_sbuf b = { 0 };
    size_t maxlen = 0, nkey;
    int any_theory = 0;
    for (size_t i = 0; i < e->nvar; i++) any_theory |= c->has_theory[i];
    nkey = line_key(e, c, any_theory, &b, &maxlen);
    if (c->band && maxlen < (ck_partial_seeds(e) ? 48 : 28)) maxlen = ck_partial_seeds(e) ? 48 : 28;
    int kc = ck_key_cols(maxlen);
    double kh = ck_key_height(nkey, kc);
    size_t np = e->nact < MAX_PANELS ? e->nact : MAX_PANELS;
    ck_box boxes[MAX_PANELS];
    int cols = ck_grid(np, kh + 0.01, 0.9, boxes);

    ck_page_title(p, e, ck_page_words(ch));
    for (size_t a = 0; a < np; a++) {
        ck_panel_head(p, boxes[a], e->act[a], "set logscale y; set format y '10^{%L}'; set mytics 10",
                      "layer {/:Italic l}", a % (size_t)cols == 0 ? ch->ylabel : NULL);
        if (e->nlayer > 1) ck_cmd(p, "set xrange [1:%d]; set xtics %.0f", e->nlayer,
                                       fmax(1, ck_nice_step((double)e->nlayer - 1)));
        else ck_cmd(p, "set xrange [0.5:1.5]; set xtics 1");
        /* Keep flat curves off the frame. */
        ck_cmd(p, "set offsets 0, 0, graph 0.04, graph 0.04");
        if (c->panel_points[a] == 0) {
            ck_empty_panel(p, "set yrange [0.1:10]", "no finite positive values to draw", "set autoscale y");
            continue;
        }
        ck_cmd(p, "set autoscale y");
        size_t curves[MAX_CURVES], total;
        size_t k = ck_panel_curves(e, (int)a, c->has, curves, &total);
        int pi = e->nlayer > 12 ? e->nlayer / 10 : 1;
        ck_reset(&b);
        const char *sep = "";
        /* Bands first, then measurements, then theory, so lines stay on top. */
        if (c->band)
            for (size_t j = 0; j < k; j++, sep = ", ")
                ck_printf(&b, "%s'%s.dat' index %zu using 1:3:4 with filledcurves lt %d fs transparent solid 0.15 noborder notitle",
                          sep, ch->stem, curves[j], ck_lt(e->var[curves[j]].style));
        for (size_t j = 0; j < k; j++, sep = ", ")
            ck_printf(&b, "%s'%s.dat' index %zu using 1:2 with linespoints lt %d pi %d notitle",
                      sep, ch->stem, curves[j], ck_lt(e->var[curves[j]].style), pi);
        for (size_t j = 0; j < k; j++)
            if (c->has_theory[curves[j]])
                ck_printf(&b, ", '%s.dat' index %zu using 1:5 with lines lt %d lw 1.5 dt 2 notitle",
                          ch->stem, curves[j], ck_lt(e->var[curves[j]].style));
        ck_cmd(p, "plot %s", b.s);
    }
    ck_reset(&b);
    line_key(e, c, any_theory, &b, &maxlen);
    ck_key_strip(p, b.oom ? "NaN notitle" : b.s, kh, kc);
    free(b.s);
}

/* <stem>.dat: per variant and layer, the median, min and max over seeds of the finite
 * positive values of the column, and the median theory value. val/th hold the values
 * of bucket (variant, layer) bi at off[bi] .. off[bi] + fillv[bi] (fillt[bi]). */
static vp_status write_dat(ck_exper *e, line_ctx *c, double *val, double *th, const size_t *off,
                           const size_t *fillv, const size_t *fillt, vp_err *err)
{
    const ck_chart *ch = c->chart;
    size_t L = (size_t)e->nlayer;
    vp_afile af = { 0 };
    vp_status s = ck_dat_open(e, ch, &af, err);
    if (s) return s;
    fprintf(af.fp, "# %s by layer: median, min and max over seeds of the finite positive values; "
                   "theory = %s (median over seeds); '?' = nothing to draw\n",
            vp_col_name(ch->column), ch->theory != VP_COL_NONE ? vp_col_name(ch->theory) : "none");
    for (size_t i = 0; i < e->nvar; i++) {
        char lab[700];
        ck_clean_copy(lab, sizeof lab, e->var[i].name);
        fprintf(af.fp, "%s# index %zu: variant %d, %s", i ? "\n\n" : "", i, e->var[i].id, lab);
        if (ck_partial_seeds(e)) fprintf(af.fp, " (%zu of %zu seeds completed)", e->var[i].seeds, e->nseeds);
        fputs("\n# layer median min max theory n\n", af.fp);
        for (size_t l = 0; l < L; l++) {
            size_t bi = i * L + l;
            vp_stat m = vp_stat_of(val + off[bi], fillv[bi]), t = vp_stat_of(th + off[bi], fillt[bi]);
            fprintf(af.fp, "%zu", l + 1);
            ck_put_num(af.fp, m.med);
            ck_put_num(af.fp, m.lo);
            ck_put_num(af.fp, m.hi);
            ck_put_num(af.fp, t.med);
            fprintf(af.fp, " %zu\n", fillv[bi]);
            if (fillv[bi]) { c->has[i] = 1; c->panel_points[e->var[i].panel]++; }
            if (fillt[bi]) c->has_theory[i] = 1;
        }
    }
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    return s;
}

/* Aggregate the layers.csv column per (variant, layer) over seeds, write <stem>.dat,
 * draw, and add the chart with notes on what the log axis cannot show. */
vp_status ck_draw_lines(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    const vp_table *t = e->tab[VP_CSV_LAYERS];
    int cc = vp_table_find_col(t, ch->column);
    if (cc < 0) return VP_OK; /* an older results folder without this statistic */
    int ct = ch->theory != VP_COL_NONE ? vp_table_find_col(t, ch->theory) : -1;
    size_t nr = vp_table_nrows(t), L = (size_t)e->nlayer, nb = e->nvar * L;
    size_t *cnt = calloc(nb + 1, sizeof *cnt), *off = calloc(nb + 1, sizeof *off);
    size_t *fillv = calloc(nb + 1, sizeof *fillv), *fillt = calloc(nb + 1, sizeof *fillt);
    double *val = malloc((nr + 1) * sizeof *val), *th = malloc((nr + 1) * sizeof *th);
    line_ctx c = { .chart = ch, .band = e->nseeds > 1 };
    c.has = calloc(e->nvar, sizeof *c.has);
    c.has_theory = calloc(e->nvar, sizeof *c.has_theory);
    c.panel_points = calloc(e->nact, sizeof *c.panel_points);
    vp_status s = VP_OK;
    size_t nonfinite = 0, nonpos = 0;
    if (!cnt || !off || !fillv || !fillt || !val || !th || !c.has || !c.has_theory || !c.panel_points) {
        s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        goto end;
    }
    for (size_t r = 0; r < nr; r++) cnt[(size_t)e->lrow_var[r] * L + (size_t)e->lrow_layer[r] - 1]++;
    for (size_t i = 1; i <= nb; i++) off[i] = off[i - 1] + cnt[i - 1];
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
    if (!s) s = write_dat(e, &c, val, th, off, fillv, fillt, err);
    if (!s) s = ck_render(e, ch, line_body, &c, err);
    if (!s) {
        char notes[800] = "";
        size_t n = 0;
        if (nonfinite || nonpos)
            n = (size_t)snprintf(notes, sizeof notes,
                                 "Not drawn on the log axis: %zu non-finite (nan/inf) and %zu non-positive of %zu values "
                                 "of %s; medians and ranges use the remaining seeds. ",
                                 nonfinite, nonpos, nr, vp_col_name(ch->column));
        if (n < sizeof notes) ck_note_subsets(e, c.has, notes + n, sizeof notes - n);
        s = ck_add_chart(e, ch, NULL, notes, err);
    }
end:
    free(cnt);
    free(off);
    free(fillv);
    free(fillt);
    free(val);
    free(th);
    free(c.has);
    free(c.has_theory);
    free(c.panel_points);
    return s;
}
