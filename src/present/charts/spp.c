/* spp: the Signal Propagation Plot of a residual network (Brock, De, Smith 2021, §1.1 of
 * residual-norm-conv.md) -- per residual block, against the block's index in the network:
 * the average squared channel mean and the average channel variance of the block's
 * output (the stream x + alpha f(x): layers.csv unit_sq_mean, unit_var of its residual
 * row) and the variance of its branch output f(x) (branch_var). Median over seeds with
 * the seed range shaded, one row of three panels per activation, one curve per variant,
 * log axes. Drawn only when layers.csv has residual rows. */
#include "present/charts/kit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NQ 3

static const vp_col SPP_COLS[NQ] = { VP_COL_UNIT_SQ_MEAN, VP_COL_UNIT_VAR, VP_COL_BRANCH_VAR };
static const char *const SPP_WHAT[NQ] = { "avg squared channel mean", "avg channel variance", "residual branch variance" };

typedef struct {
    const ck_chart *chart;
    int nblock;           /* most residual blocks of a variant */
    int *has;             /* per statistic and variant: any drawable point */
    int *has_any;         /* per variant */
    size_t *panel_points; /* per statistic and panel */
    int band;
    double lo, hi;        /* every drawn value (one range for the three panels: they compare) */
} spp_ctx;

static void spp_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const spp_ctx *c = vctx;
    const ck_chart *ch = c->chart;
    ck_sbuf b = { 0 };
    size_t maxlen = 28;
    size_t nkey = ck_style_key(e, c->has_any, &b, &maxlen, "linespoints");
    if (c->band) {
        ck_printf(&b, "%sNaN with filledcurves lc rgb '#bbbbbb' fs solid 1.0 noborder title 'min–max over the seeds "
                      "(shaded)'", nkey ? ", " : "");
        nkey++;
    }
    int kc = ck_key_cols(maxlen);
    double kh = ck_key_height(nkey, kc);
    size_t np = e->nact < MAX_PANELS / NQ ? e->nact : MAX_PANELS / NQ;
    ck_box boxes[MAX_PANELS];
    ck_grid_cols(np * NQ, NQ, kh + 0.01, 0.9, boxes);
    char titles[MAX_PANELS][700], lc[96];
    const char *tp[MAX_PANELS];
    for (size_t k = 0; k < np * NQ; k++) {
        snprintf(titles[k], sizeof titles[k], "%s — %s", e->act[k / NQ], SPP_WHAT[k % NQ]);
        tp[k] = titles[k];
    }
    ck_titles_alike(p, tp, boxes, np * NQ);
    ck_page_title(p, e, ck_page_words(ch));
    ck_sbuf pl = { 0 };
    for (size_t a = 0; a < np; a++)
        for (size_t q = 0; q < NQ; q++) {
            ck_panel_head(p, boxes[a * NQ + q], titles[a * NQ + q], "set logscale y; set format y '10^{%L}'",
                          "residual block", q == 0 ? "value" : NULL);
            if (c->nblock > 1) ck_cmd(p, "set xrange [1:%d]; set xtics %.0f", c->nblock, fmax(1, ck_tic_step(1, c->nblock)));
            else ck_cmd(p, "set xrange [0.5:1.5]; set xtics 1");
            if (c->panel_points[q * e->nact + a] == 0) {
                ck_empty_panel(p, "set yrange [0.1:10]", "no finite positive values to draw", "set autoscale y");
                continue;
            }
            ck_log_yrange(p, c->lo, c->hi, 0, boxes[a * NQ + q], 1);
            size_t curves[MAX_CURVES], total, k = ck_panel_curves(e, (int)a, c->has + q * e->nvar, curves, &total);
            ck_reset(&pl);
            const char *sep = "";
            for (size_t j = 0; c->band && j < k; j++, sep = ", ")
                ck_printf(&pl, "%s'%s.dat' index %zu using 1:3:4 with filledcurves %s fs transparent solid 0.15 noborder "
                               "notitle", sep, ch->stem, q * e->nvar + curves[j], ck_lc(e, curves[j], lc, sizeof lc));
            for (size_t j = 0; j < k; j++, sep = ", ")
                ck_printf(&pl, "%s'%s.dat' index %zu using 1:2 with linespoints %s notitle", sep, ch->stem,
                          q * e->nvar + curves[j], ck_lc(e, curves[j], lc, sizeof lc));
            ck_cmd(p, "plot %s", pl.s ? pl.s : "NaN notitle");
        }
    ck_key_strip(p, b.oom || !b.s ? "NaN notitle" : b.s, kh, kc);
    free(b.s);
    free(pl.s);
}

vp_status ck_draw_spp_residual(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    const vp_table *t = e->tab[VP_CSV_LAYERS];
    int col[NQ];
    for (int q = 0; q < NQ; q++)
        if ((col[q] = vp_table_find_col(t, SPP_COLS[q])) < 0) return VP_OK; /* not a block network */
    if (!e->lrow_type) return VP_OK;
    size_t nr = vp_table_nrows(t);
    /* Each residual row's block index within its run (rows of a run are consecutive,
     * their layers counting up from 1). */
    int *blk = malloc((nr + 1) * sizeof *blk), nblock = 0;
    if (!blk) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t r = 0, k = 0; r < nr; r++) {
        if (r == 0 || e->lrow_layer[r] <= e->lrow_layer[r - 1]) k = 0;
        blk[r] = e->lrow_type[r] == VP_LAYER_RESIDUAL ? (int)++k : 0;
        if (blk[r] > nblock) nblock = blk[r];
    }
    if (nblock == 0) {
        free(blk);
        return VP_OK; /* no residual blocks: no SPP of them */
    }
    spp_ctx c = { .chart = ch, .nblock = nblock, .band = e->nseeds > 1, .lo = INFINITY, .hi = -INFINITY };
    size_t nb = e->nvar * (size_t)nblock;
    size_t *cnt = calloc(nb + 1, sizeof *cnt), *off = calloc(nb + 2, sizeof *off), *fill = calloc(nb + 1, sizeof *fill);
    double *val = malloc((nr + 1) * sizeof *val);
    c.has = calloc(NQ * e->nvar, sizeof *c.has);
    c.has_any = calloc(e->nvar, sizeof *c.has_any);
    c.panel_points = calloc(NQ * e->nact, sizeof *c.panel_points);
    vp_afile af = { 0 };
    vp_status s = VP_OK;
    size_t skipped = 0, total = 0;
    if (!cnt || !off || !fill || !val || !c.has || !c.has_any || !c.panel_points) {
        s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        goto end;
    }
    for (size_t r = 0; r < nr; r++)
        if (blk[r]) cnt[(size_t)e->lrow_var[r] * (size_t)nblock + (size_t)blk[r] - 1]++;
    for (size_t i = 1; i <= nb; i++) off[i] = off[i - 1] + cnt[i - 1];
    if ((s = ck_dat_open(e, ch, &af, err))) goto end;
    fprintf(af.fp, "# SPP of the residual blocks (Brock et al. 2021): blocks 0-%zu %s, %zu-%zu %s, %zu-%zu %s (layers.csv "
                   "%s, %s, %s of the residual rows); median, min and max over seeds of the finite positive values\n",
            e->nvar - 1, SPP_WHAT[0], e->nvar, 2 * e->nvar - 1, SPP_WHAT[1], 2 * e->nvar, 3 * e->nvar - 1, SPP_WHAT[2],
            vp_col_name(SPP_COLS[0]), vp_col_name(SPP_COLS[1]), vp_col_name(SPP_COLS[2]));
    for (int q = 0; q < NQ && !s; q++) {
        memset(fill, 0, (nb + 1) * sizeof *fill);
        for (size_t r = 0; r < nr && !s; r++) {
            if (!blk[r]) continue;
            size_t bi = (size_t)e->lrow_var[r] * (size_t)nblock + (size_t)blk[r] - 1;
            double v;
            if ((s = vp_table_num(t, r, (size_t)col[q], &v, err))) break;
            total++;
            if (isfinite(v) && v > 0) val[off[bi] + fill[bi]++] = v;
            else skipped++;
        }
        for (size_t i = 0; i < e->nvar && !s; i++) {
            char lab[700];
            size_t bl = (size_t)q * e->nvar + i;
            ck_clean_copy(lab, sizeof lab, e->var[i].name);
            fprintf(af.fp, "%s# index %zu: %s of variant %d, %s\n# block median min max n\n", bl ? "\n\n" : "", bl,
                    SPP_WHAT[q], e->var[i].id, lab);
            for (int k = 0; k < nblock; k++) {
                size_t bi = i * (size_t)nblock + (size_t)k;
                vp_stat m = vp_stat_of(val + off[bi], fill[bi]);
                fprintf(af.fp, "%d", k + 1);
                ck_put_num(af.fp, m.med);
                ck_put_num(af.fp, m.lo);
                ck_put_num(af.fp, m.hi);
                fprintf(af.fp, " %zu\n", fill[bi]);
                if (!fill[bi]) continue;
                c.has[bl] = c.has_any[i] = 1;
                c.panel_points[(size_t)q * e->nact + (size_t)e->var[i].panel]++;
                c.lo = fmin(c.lo, m.lo);
                c.hi = fmax(c.hi, m.hi);
            }
        }
    }
    if (!s) s = vp_afile_commit(&af, err);
    if (!s) s = ck_render(e, ch, spp_body, &c, err);
    if (!s) {
        char notes[600] = "";
        if (skipped)
            snprintf(notes, sizeof notes, "Not drawn on the log axis: %zu non-finite or non-positive of %zu values. ",
                     skipped, total);
        if (e->nact > MAX_PANELS / NQ)
            snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "Panels for the first %d of %zu activations. ",
                     MAX_PANELS / NQ, e->nact);
        s = ck_add_chart(e, ch, NULL, notes, err);
    }
end:
    vp_afile_abort(&af);
    free(blk);
    free(cnt);
    free(off);
    free(fill);
    free(val);
    free(c.has);
    free(c.has_any);
    free(c.panel_points);
    return s;
}
