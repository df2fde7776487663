/* singular: the density of the singular values of the input-output Jacobian
 * (jacobian.csv), seeds pooled, one curve per variant on a log sigma axis, with the
 * numerically-zero values of a rank-deficient Jacobian counted instead of drawn. */
#include "present/charts/kit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JAC_BINS 50
#define JAC_RANK_RTOL 1e-12 /* below this fraction of sigma_max a singular value is numerically 0 */

typedef struct {
    const ck_chart *chart;
    int *has;
    size_t *panel_points;
    int mark_one; /* sigma = 1 inside the range */
} jac_ctx;

static void jac_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const jac_ctx *c = vctx;
    ck_sbuf b = { 0 };
    size_t maxlen = 0;
    int colour = e->colour_key >= 0;
    size_t nkey = colour ? 0 : ck_style_key(e, c->has, &b, &maxlen, "linespoints");
    int kc = ck_key_cols(maxlen);
    double kh = colour ? 0.105 : ck_key_height(nkey, kc);
    size_t np = e->nact < MAX_PANELS ? e->nact : MAX_PANELS;
    ck_box boxes[MAX_PANELS];
    int cols = ck_grid(np, kh + 0.01, 0.9, boxes);
    ck_page_title(p, e, ck_page_words(c->chart));
    if (colour) ck_colour_scale(p, e);
    ck_cmd(p, "unset colorbox");
    for (size_t a = 0; a < np; a++) {
        ck_panel_head(p, boxes[a], e->act[a], "set logscale x; set format x '10^{%L}'", "singular value σ",
                      a % (size_t)cols == 0 ? "density per unit log_{10} σ" : NULL);
        if (c->mark_one) ck_cmd(p, "set arrow 1 from 1, graph 0 to 1, graph 1 nohead lc rgb '#777777' dt 3");
        if (c->panel_points[a] == 0) {
            ck_empty_panel(p, "set xrange [0.1:10]; set yrange [0:1]", "no finite positive singular values",
                           "unset arrow 1; set autoscale");
            continue;
        }
        ck_cmd(p, "set yrange [0:*]");
        size_t curves[MAX_CURVES], total;
        size_t k = ck_panel_curves(e, (int)a, c->has, curves, &total);
        ck_reset(&b);
        char lc[96];
        for (size_t j = 0; j < k; j++)
            ck_printf(&b, "%s'%s.dat' index %zu using 1:2 with linespoints %s pi 5 notitle", j ? ", " : "",
                      c->chart->stem, curves[j], ck_lc(e, curves[j], lc, sizeof lc));
        ck_cmd(p, "plot %s", b.s);
        ck_cmd(p, "unset arrow 1");
    }
    ck_reset(&b);
    if (colour) ck_colour_bar(p, e, kh, NULL);
    else {
        ck_style_key(e, c->has, &b, &maxlen, "linespoints");
        ck_key_strip(p, b.oom || !b.s ? "NaN notitle" : b.s, kh, kc);
    }
    free(b.s);
}

/* log10 of each row's singular value in lv[] (NaN: not drawn) and its variant in
 * rv[]. Values below JAC_RANK_RTOL * sigma_max of their variant are numerically
 * zero (a double-precision SVD is accurate to ~1e-16 sigma_max): the Jacobian is
 * rank-deficient there, e.g. where ReLU zeroes directions; they are counted in
 * *rankdef, zero and non-finite ones in *skipped. [*gmin, *gmax]: the drawn range. */
static vp_status log_values(const ck_exper *e, const vp_table *t, int *rv, double *lv, size_t *skipped,
                            size_t *rankdef, double *gmin, double *gmax, vp_err *err)
{
    size_t cv, csv, nr = vp_table_nrows(t);
    vp_status s;
    if ((s = vp_table_require_col(t, VP_COL_VARIANT, &cv, err)) ||
        (s = vp_table_require_col(t, VP_COL_SINGULAR_VALUE, &csv, err)))
        return s;
    double *smax = calloc(e->nvar + 1, sizeof *smax);
    if (!smax) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    /* Pass 1: the largest singular value of each variant. */
    for (size_t r = 0; r < nr; r++) {
        long id;
        double sv;
        if ((s = vp_table_int(t, r, cv, 0, VP_VARIANT_MAX, &id, err)) || (s = vp_table_num(t, r, csv, &sv, err)) ||
            (s = ck_known_variant(e, t, r, cv, &id, err)))
            break;
        rv[r] = e->pos[id];
        lv[r] = sv;
        if (isfinite(sv) && sv > smax[rv[r]]) smax[rv[r]] = sv;
    }
    /* Pass 2: log10 of the values the SVD resolves. */
    for (size_t r = 0; r < nr && !s; r++) {
        double sv = lv[r];
        lv[r] = NAN;
        if (!isfinite(sv) || sv <= 0) { (*skipped)++; continue; }
        if (sv < JAC_RANK_RTOL * smax[rv[r]]) { (*rankdef)++; continue; }
        lv[r] = log10(sv);
        *gmin = fmin(*gmin, lv[r]);
        *gmax = fmax(*gmax, lv[r]);
    }
    free(smax);
    return s;
}

/* jacobian.dat: per variant the density per unit log10 sigma in JAC_BINS bins. */
static vp_status jac_dat(const ck_exper *e, jac_ctx *c, const double *hist, const size_t *cnt, double gmin, double w,
                         vp_err *err)
{
    vp_afile af = { 0 };
    vp_status s = ck_dat_open(e, c->chart, &af, err);
    if (s) return s;
    fprintf(af.fp, "# singular values of the input-output Jacobian (%s), all seeds pooled:\n"
                   "# sigma at the bin centre (bins equal in log10 sigma), density per unit log10 sigma\n",
            vp_csv_layout_get(c->chart->source)->file);
    for (size_t i = 0; i < e->nvar; i++) {
        char lab[700];
        ck_clean_copy(lab, sizeof lab, e->var[i].name);
        fprintf(af.fp, "%s# index %zu: variant %d, %s (%zu values)\n", i ? "\n\n" : "", i, e->var[i].id, lab, cnt[i]);
        if (cnt[i] == 0) { fputs("? ?\n", af.fp); continue; }
        c->has[i] = 1;
        c->panel_points[e->var[i].panel]++;
        for (int k = 0; k < JAC_BINS; k++)
            fprintf(af.fp, "%.9g %.9g\n", pow(10, gmin + (k + 0.5) * w),
                    hist[i * JAC_BINS + (size_t)k] / ((double)cnt[i] * w));
    }
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    return s;
}

vp_status ck_draw_jacobian(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    const vp_table *t = e->tab[VP_CSV_JACOBIAN];
    size_t nr = vp_table_nrows(t);
    jac_ctx c = { ch, calloc(e->nvar, sizeof(int)), calloc(e->nact, sizeof(size_t)), 0 };
    double *hist = calloc(e->nvar * JAC_BINS + 1, sizeof *hist);
    size_t *cnt = calloc(e->nvar + 1, sizeof *cnt);
    int *rv = malloc((nr + 1) * sizeof *rv);
    double *lv = malloc((nr + 1) * sizeof *lv);
    size_t skipped = 0, rankdef = 0;
    double gmin = INFINITY, gmax = -INFINITY;
    vp_status s;
    if (!c.has || !c.panel_points || !hist || !cnt || !rv || !lv) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    if ((s = log_values(e, t, rv, lv, &skipped, &rankdef, &gmin, &gmax, err))) goto end;
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
    if ((s = jac_dat(e, &c, hist, cnt, gmin, w, err)) || (s = ck_render(e, ch, jac_body, &c, err))) goto end;
    char notes[800] = "";
    size_t n = 0;
    if (skipped)
        n = (size_t)snprintf(notes, sizeof notes, "%zu zero or non-finite singular values are not drawn on the log axis. ", skipped);
    if (rankdef && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n,
                              "%zu singular values below %.0e of their variant's largest are numerically zero "
                              "(the Jacobian is rank-deficient there) and are not drawn. ", rankdef, JAC_RANK_RTOL);
    ck_note_subsets(e, c.has, notes + n, sizeof notes - n);
    s = ck_add_chart(e, ch, NULL, notes, err);
end:
    free(c.has);
    free(c.panel_points);
    free(hist);
    free(cnt);
    free(rv);
    free(lv);
    return s;
}
