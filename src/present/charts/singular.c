/* singular: the density of the singular values of the input-output Jacobian
 * (jacobian.csv), seeds pooled, one curve per variant on a log sigma axis. A singular
 * value below sigma_max * n * eps of its Jacobian (n of them, double precision eps, as
 * numpy.linalg.matrix_rank) is numerically zero: counted, said in the panel, not drawn. */
#include "present/charts/kit.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JAC_BINS 50
#define JAC_PANEL_LINES 3 /* variants named in a panel's count of zeros */

typedef struct {
    const ck_chart *chart;
    int *has;
    size_t *panel_points;
    size_t *zeros, *values; /* per variant: numerically zero singular values, all of them */
    double ymax;            /* the largest density: one y range for every panel */
    int mark_one; /* sigma = 1 inside the range */
} jac_ctx;

/* Lines of panel a's count of zeros: a heading, then one per variant (at most
 * JAC_PANEL_LINES variants; more: the total on the heading's line). */
static int zero_lines(const ck_exper *e, const jac_ctx *c, size_t a)
{
    size_t nv = 0;
    for (size_t i = 0; i < e->nvar; i++) nv += e->var[i].panel == (int)a && c->values[i];
    return nv > JAC_PANEL_LINES ? 1 : 1 + (int)nv;
}

/* The panel's count of numerically zero singular values, top left: per variant when
 * the panel has at most JAC_PANEL_LINES of them, else in all. */
static void zero_label(ck_gp *p, const ck_exper *e, const jac_ctx *c, size_t a)
{
    char line[700], q[QLEN];
    ck_sbuf b = { 0 };
    size_t nv = 0, zeros = 0, values = 0;
    for (size_t i = 0; i < e->nvar; i++)
        if (e->var[i].panel == (int)a && c->values[i]) { nv++; zeros += c->zeros[i]; values += c->values[i]; }
    for (size_t i = 0; i < e->nvar && nv <= JAC_PANEL_LINES; i++) {
        if (e->var[i].panel != (int)a || !c->values[i]) continue;
        if (e->colour_key >= 0) /* the curve's colour names it */
            snprintf(line, sizeof line, "%s=%s: %zu of %zu", ck_short_key(e->sweep[e->colour_key]),
                     e->colour_vals[e->var[i].rank], c->zeros[i], c->values[i]);
        else snprintf(line, sizeof line, "%s: %zu of %zu", e->var[i].label, c->zeros[i], c->values[i]);
        ck_printf(&b, ".\"\\n\".%s", vp_plot_quote(q, sizeof q, line));
    }
    if (nv > JAC_PANEL_LINES) ck_printf(&b, ".' %zu of %zu'", zeros, values);
    ck_cmd(p, "set label 2 'numerically 0 (σ < σ_max · n · ε):'%s at graph 0.02, graph 0.96 left front noenhanced "
              "font ',9'", b.s ? b.s : "");
    free(b.s);
}

static void jac_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const jac_ctx *c = vctx;
    ck_sbuf b = { 0 };
    size_t maxlen = 0;
    int colour = e->colour_key >= 0;
    size_t nkey = colour ? 0 : ck_style_key(e, c->has, &b, &maxlen, "linespoints");
    int kc = ck_key_cols(maxlen);
    double kh = colour ? ck_colour_bar_height(0, kc) : ck_key_height(nkey, kc);
    size_t np = e->nact < MAX_PANELS ? e->nact : MAX_PANELS;
    ck_box boxes[MAX_PANELS];
    int cols = ck_grid(np, kh + 0.01, 0.9, boxes);
    ck_titles_alike(p, e->act, boxes, np);
    ck_page_title(p, e, ck_page_words(c->chart));
    int lines = 1; /* one y range for every panel, with room for the longest count */
    for (size_t a = 0; a < np; a++)
        if (zero_lines(e, c, a) > lines) lines = zero_lines(e, c, a);
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
        zero_label(p, e, c, a);
        ck_cmd(p, "set yrange [0:%.6g]", c->ymax * (1.08 + 0.13 * lines)); /* room for the count above the curves */
        size_t curves[MAX_CURVES], total;
        size_t k = ck_panel_curves(e, (int)a, c->has, curves, &total);
        ck_reset(&b);
        char lc[96];
        for (size_t j = 0; j < k; j++)
            ck_printf(&b, "%s'%s.dat' index %zu using 1:2 with linespoints %s pi 5 notitle", j ? ", " : "",
                      c->chart->stem, curves[j], ck_lc(e, curves[j], lc, sizeof lc));
        ck_cmd(p, "plot %s", b.s);
        ck_cmd(p, "unset arrow 1; unset label 2");
    }
    ck_reset(&b);
    if (colour) ck_colour_bar(p, e, NULL, 0, kc);
    else {
        ck_style_key(e, c->has, &b, &maxlen, "linespoints");
        ck_key_strip(p, b.oom || !b.s ? "NaN notitle" : b.s, kh, kc);
    }
    free(b.s);
}

/* log10 of each row's singular value in lv[] (NaN: not drawn) and its variant in rv[].
 * A value below sigma_max * n * DBL_EPSILON of its own Jacobian (variant and seed: n
 * singular values, the largest sigma_max) is numerically zero -- below the SVD's
 * rounding, as numpy.linalg.matrix_rank decides; the Jacobian is rank-deficient there,
 * e.g. where ReLU zeroes directions: counted in c->zeros, not drawn. Zero and
 * non-finite values are counted in *skipped. [*gmin, *gmax]: the drawn range. */
static vp_status log_values(const ck_exper *e, const vp_table *t, jac_ctx *c, int *rv, double *lv, size_t *skipped,
                            double *gmin, double *gmax, vp_err *err)
{
    size_t cv, cs, csv, nr = vp_table_nrows(t), ns = 0;
    vp_status s;
    if ((s = vp_table_require_col(t, VP_COL_VARIANT, &cv, err)) || (s = vp_table_require_col(t, VP_COL_SEED, &cs, err)) ||
        (s = vp_table_require_col(t, VP_COL_SINGULAR_VALUE, &csv, err)))
        return s;
    const char **seeds = malloc((nr + 1) * sizeof *seeds);
    size_t *rs = malloc((nr + 1) * sizeof *rs);
    if (!seeds || !rs) { free(seeds); free(rs); return vp_fail(err, VP_ERR_NOMEM, "out of memory"); }
    /* Pass 1: each row's variant and seed. */
    for (size_t r = 0; r < nr && !s; r++) {
        long id;
        if ((s = vp_table_int(t, r, cv, 0, VP_VARIANT_MAX, &id, err)) || (s = vp_table_num(t, r, csv, &lv[r], err)) ||
            (s = ck_known_variant(e, t, r, cv, &id, err)))
            break;
        rv[r] = e->pos[id];
        const char *sd = vp_table_cell(t, r, cs);
        for (rs[r] = 0; rs[r] < ns && strcmp(seeds[rs[r]], sd) != 0; rs[r]++) {}
        if (rs[r] == ns) seeds[ns++] = sd;
    }
    /* Pass 2: sigma_max and n of each Jacobian (variant, seed). */
    double *smax = s ? NULL : calloc(e->nvar * ns + 1, sizeof *smax);
    size_t *n = s ? NULL : calloc(e->nvar * ns + 1, sizeof *n);
    if (!s && (!smax || !n)) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < nr && !s; r++) {
        size_t j = (size_t)rv[r] * ns + rs[r];
        n[j]++;
        if (isfinite(lv[r]) && lv[r] > smax[j]) smax[j] = lv[r];
    }
    /* Pass 3: log10 of the values the SVD resolves. */
    for (size_t r = 0; r < nr && !s; r++) {
        size_t j = (size_t)rv[r] * ns + rs[r];
        double sv = lv[r];
        lv[r] = NAN;
        c->values[rv[r]]++;
        if (isfinite(sv) && sv < smax[j] * (double)n[j] * DBL_EPSILON) { c->zeros[rv[r]]++; continue; }
        if (!isfinite(sv) || sv <= 0) { (*skipped)++; continue; }
        lv[r] = log10(sv);
        *gmin = fmin(*gmin, lv[r]);
        *gmax = fmax(*gmax, lv[r]);
    }
    free(seeds);
    free(rs);
    free(smax);
    free(n);
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
                   "# sigma at the bin centre (bins equal in log10 sigma), density per unit log10 sigma of the values\n"
                   "# drawn; numerically zero = below sigma_max * n * eps of its Jacobian (n values, eps = %.3g), not drawn\n",
            vp_csv_layout_get(c->chart->source)->file, DBL_EPSILON);
    for (size_t i = 0; i < e->nvar; i++) {
        char lab[700];
        ck_clean_copy(lab, sizeof lab, e->var[i].name);
        fprintf(af.fp, "%s# index %zu: variant %d, %s (%zu values drawn, %zu of %zu numerically zero)\n", i ? "\n\n" : "",
                i, e->var[i].id, lab, cnt[i], c->zeros[i], c->values[i]);
        if (cnt[i] == 0) { fputs("? ?\n", af.fp); continue; }
        c->has[i] = 1;
        c->panel_points[e->var[i].panel]++;
        for (int k = 0; k < JAC_BINS; k++) {
            double d = hist[i * JAC_BINS + (size_t)k] / ((double)cnt[i] * w);
            c->ymax = fmax(c->ymax, d);
            fprintf(af.fp, "%.9g %.9g\n", pow(10, gmin + (k + 0.5) * w), d);
        }
    }
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    return s;
}

vp_status ck_draw_jacobian(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    const vp_table *t = e->tab[VP_CSV_JACOBIAN];
    size_t nr = vp_table_nrows(t);
    jac_ctx c = { .chart = ch, .has = calloc(e->nvar, sizeof(int)), .panel_points = calloc(e->nact, sizeof(size_t)),
                  .zeros = calloc(e->nvar + 1, sizeof(size_t)), .values = calloc(e->nvar + 1, sizeof(size_t)) };
    double *hist = calloc(e->nvar * JAC_BINS + 1, sizeof *hist);
    size_t *cnt = calloc(e->nvar + 1, sizeof *cnt);
    int *rv = malloc((nr + 1) * sizeof *rv);
    double *lv = malloc((nr + 1) * sizeof *lv);
    size_t skipped = 0, rankdef = 0;
    double gmin = INFINITY, gmax = -INFINITY;
    vp_status s;
    if (!c.has || !c.panel_points || !c.zeros || !c.values || !hist || !cnt || !rv || !lv) {
        s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        goto end;
    }
    if ((s = log_values(e, t, &c, rv, lv, &skipped, &gmin, &gmax, err))) goto end;
    for (size_t i = 0; i < e->nvar; i++) rankdef += c.zeros[i];
    /* Values within a tenth of a decade (an orthogonal linear net: every sigma is 1 to
     * 1e-15) share a decade centred on them: bins of 1e-17 decades gave densities of 6e16
     * per unit log10 sigma, a spike no axis could read. */
    if (!(gmax - gmin >= 0.1)) {
        double mid = isfinite(gmin) ? 0.5 * (gmin + gmax) : 0;
        gmin = mid - 0.5 - 0.5 / JAC_BINS; /* mid at the centre of a bin, not on an edge */
        gmax = gmin + 1;
    }
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
                              "%zu singular values are numerically zero, below σ_max · n · ε of their Jacobian (n singular "
                              "values, ε = 2.2e-16: the SVD's rounding, as numpy's matrix_rank): the Jacobian is "
                              "rank-deficient there; each panel gives the count per variant; they are not drawn. ", rankdef);
    ck_note_subsets(e, c.has, notes + n, sizeof notes - n);
    s = ck_add_chart(e, ch, NULL, notes, err);
end:
    free(c.has);
    free(c.panel_points);
    free(c.zeros);
    free(c.values);
    free(hist);
    free(cnt);
    free(rv);
    free(lv);
    return s;
}
