/* histograms: the distribution charts (hist_pre, hist_post, hist_grad_pre) from
 * histograms.csv: one panel per variant, one curve per measured layer (dark = early),
 * for the first seed in the file (chart table: quantity, xlabel). */
#include "present/charts/kit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HIST_LAYERS 8

/* Sequential colours for layers (dark = early), with dash types cycling. */
static const char *const LAYER_COLOURS[] = { "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60",
                                             "#cf4446", "#ed6925", "#fb9b06", "#c7a600" };

typedef struct {
    const ck_chart *chart;
    size_t npanel, nl;
    size_t panel_var[MAX_PANELS];
    long layer[MAX_HIST_LAYERS];
    int has[MAX_PANELS * MAX_HIST_LAYERS];
    double xlo[MAX_PANELS], xhi[MAX_PANELS]; /* range of the drawn bins */
    char seed[64];
} hist_ctx;

static const char *layer_colour(size_t k, size_t n) { return LAYER_COLOURS[ck_pick(k, n, 8)]; }

static void hist_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const hist_ctx *c = vctx;
    ck_sbuf b = { 0 };
    size_t nkey = c->nl + 0;
    int kc = 4;
    double kh = ck_key_height(nkey, kc);
    ck_box boxes[MAX_PANELS];
    int cols = ck_grid(c->npanel, kh + 0.01, 0.9, boxes);
    char what[300];
    snprintf(what, sizeof what, "%s (seed %s)", ck_page_words(c->chart), c->seed);
    ck_page_title(p, e, what);
    for (size_t i = 0; i < c->npanel; i++) {
        ck_panel_head(p, boxes[i], e->var[c->panel_var[i]].name, "set logscale y; set format y '10^{%L}'",
                      c->chart->xlabel, i % (size_t)cols == 0 ? "density" : NULL);
        if (c->xhi[i] > c->xlo[i]) ck_cmd(p, "set xtics %.6g", ck_nice_step(c->xhi[i] - c->xlo[i]));
        else ck_cmd(p, "set xtics autofreq");
        ck_reset(&b);
        const char *sep = "";
        for (size_t k = 0; k < c->nl; k++) {
            if (!c->has[i * MAX_HIST_LAYERS + k]) continue;
            ck_printf(&b, "%s'%s.dat' index %zu using 1:2 with lines lw 2 lc rgb '%s' dt %zu notitle", sep,
                      c->chart->stem, i * c->nl + k, layer_colour(k, c->nl), k % 5 + 1);
            sep = ", ";
        }
        if (!*sep) {
            ck_empty_panel(p, "set xrange [0:1]; set yrange [0.1:10]", "no positive densities to draw", "set autoscale");
            continue;
        }
        ck_cmd(p, "plot %s", b.s);
    }
    ck_reset(&b);
    for (size_t k = 0; k < c->nl; k++)
        ck_printf(&b, "%sNaN with lines lw 2 lc rgb '%s' dt %zu title 'layer %ld'", k ? ", " : "",
                  layer_colour(k, c->nl), k % 5 + 1, c->layer[k]);
    ck_key_strip(p, b.oom || !b.s ? "NaN notitle" : b.s, kh, kc);
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

typedef struct {
    size_t cv, cs, cl, cq, clo, chi, cd; /* histograms.csv columns */
    const char *quantity;
} hist_cols;

/* Row r is a bin of this chart's quantity in the chosen seed. */
static int in_chart(const vp_table *t, const hist_cols *hc, const hist_ctx *c, size_t r)
{
    return strcmp(vp_table_cell(t, r, hc->cq), hc->quantity) == 0 && strcmp(vp_table_cell(t, r, hc->cs), c->seed) == 0;
}

/* The first seed in the file, the layers and variants it has: the panels (evenly
 * spaced variants) and curves (evenly spaced layers). *nlay = 0: not measured. */
static vp_status choose(const ck_exper *e, const vp_table *t, const hist_cols *hc, hist_ctx *c, long *layers,
                        int *vhas, size_t *nlay, size_t *nv, vp_err *err)
{
    size_t nr = vp_table_nrows(t);
    vp_status s;
    *nlay = 0;
    for (size_t r = 0; r < nr; r++) {
        if (strcmp(vp_table_cell(t, r, hc->cq), hc->quantity) != 0) continue;
        if (!c->seed[0]) ck_clean_copy(c->seed, sizeof c->seed, vp_table_cell(t, r, hc->cs));
        if (!in_chart(t, hc, c, r)) continue;
        long id, layer;
        if ((s = vp_table_int(t, r, hc->cv, 0, VP_VARIANT_MAX, &id, err)) ||
            (s = vp_table_int(t, r, hc->cl, 1, VP_LAYER_MAX, &layer, err)) ||
            (s = ck_known_variant(e, t, r, hc->cv, &id, err)))
            return s;
        vhas[e->pos[id]] = 1;
        size_t k;
        for (k = 0; k < *nlay && layers[k] != layer; k++) {}
        if (k == *nlay) layers[(*nlay)++] = layer;
    }
    if (*nlay == 0) return VP_OK;
    qsort(layers, *nlay, sizeof *layers, cmp_long);
    c->nl = *nlay < MAX_HIST_LAYERS ? *nlay : MAX_HIST_LAYERS;
    for (size_t k = 0; k < c->nl; k++) c->layer[k] = layers[ck_pick(k, c->nl, *nlay)];
    *nv = 0;
    for (size_t i = 0; i < e->nvar; i++) *nv += (size_t)vhas[i];
    c->npanel = *nv < MAX_PANELS ? *nv : MAX_PANELS;
    for (size_t j = 0, seen = 0, i = 0; i < e->nvar && j < c->npanel; i++) {
        if (!vhas[i]) continue;
        if (seen++ == ck_pick(j, c->npanel, *nv)) c->panel_var[j++] = i;
    }
    for (size_t i = 0; i < MAX_PANELS; i++) { c->xlo[i] = INFINITY; c->xhi[i] = -INFINITY; }
    return VP_OK;
}

/* <stem>.dat: one block per (panel, layer) of bin centres and densities; counts the
 * bins not drawn on the log density axis. */
static vp_status write_dat(const ck_exper *e, const vp_table *t, const hist_cols *hc, hist_ctx *c, bin *bins,
                           size_t *total, size_t *nonfinite, size_t *nonpos, vp_err *err)
{
    size_t nr = vp_table_nrows(t);
    vp_afile af = { 0 };
    vp_status s = ck_dat_open(e, c->chart, &af, err);
    if (s) return s;
    fprintf(af.fp, "# distribution of %s (%s, quantity %s, seed %s): bin centre, density; "
                   "'?' = empty or non-finite bin (not drawn on the log axis)\n",
            c->chart->xlabel, vp_csv_layout_get(c->chart->source)->file, hc->quantity, c->seed);
    for (size_t i = 0; i < c->npanel; i++)
        for (size_t k = 0; k < c->nl; k++) {
            size_t nb = 0, vi = c->panel_var[i];
            for (size_t r = 0; r < nr; r++) {
                if (!in_chart(t, hc, c, r)) continue;
                long id, layer;
                vp_table_int(t, r, hc->cv, 0, VP_VARIANT_MAX, &id, NULL);
                vp_table_int(t, r, hc->cl, 1, VP_LAYER_MAX, &layer, NULL);
                if (e->pos[id] != (int)vi || layer != c->layer[k]) continue;
                bin *bn = &bins[nb++];
                if ((s = vp_table_num(t, r, hc->clo, &bn->lo, err)) || (s = vp_table_num(t, r, hc->chi, &bn->hi, err)) ||
                    (s = vp_table_num(t, r, hc->cd, &bn->d, err)))
                    goto end;
            }
            qsort(bins, nb, sizeof *bins, cmp_bin);
            char lab[700];
            ck_clean_copy(lab, sizeof lab, e->var[vi].name);
            fprintf(af.fp, "%s# index %zu: variant %d (%s), layer %ld\n# centre density\n",
                    i + k ? "\n\n" : "", i * c->nl + k, e->var[vi].id, lab, c->layer[k]);
            for (size_t j = 0; j < nb; j++) {
                double x = 0.5 * (bins[j].lo + bins[j].hi), d = bins[j].d;
                (*total)++;
                if (!isfinite(d) || !isfinite(x)) { (*nonfinite)++; d = NAN; }
                else if (d <= 0) { (*nonpos)++; d = NAN; }
                else {
                    c->has[i * MAX_HIST_LAYERS + k] = 1;
                    c->xlo[i] = fmin(c->xlo[i], x);
                    c->xhi[i] = fmax(c->xhi[i], x);
                }
                ck_put_num(af.fp, x);
                ck_put_num(af.fp, d);
                fputc('\n', af.fp);
            }
            if (nb == 0) fputs("? ?\n", af.fp);
        }
    s = vp_afile_commit(&af, err);
end:
    vp_afile_abort(&af);
    return s;
}

vp_status ck_draw_hist(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    const vp_table *t = e->tab[VP_CSV_HIST];
    hist_cols hc = { .quantity = vp_hist_quantity_word(ch->quantity) };
    vp_status s;
    if ((s = vp_table_require_col(t, VP_COL_VARIANT, &hc.cv, err)) || (s = vp_table_require_col(t, VP_COL_SEED, &hc.cs, err)) ||
        (s = vp_table_require_col(t, VP_COL_LAYER, &hc.cl, err)) ||
        (s = vp_table_require_col(t, VP_COL_QUANTITY, &hc.cq, err)) ||
        (s = vp_table_require_col(t, VP_COL_BIN_LO, &hc.clo, err)) ||
        (s = vp_table_require_col(t, VP_COL_BIN_HI, &hc.chi, err)) ||
        (s = vp_table_require_col(t, VP_COL_DENSITY, &hc.cd, err)))
        return s;
    size_t nr = vp_table_nrows(t);
    hist_ctx *c = calloc(1, sizeof *c);
    long *layers = malloc((nr + 1) * sizeof *layers);
    int *vhas = calloc(e->nvar, sizeof *vhas);
    bin *bins = malloc((nr + 1) * sizeof *bins);
    size_t nonfinite = 0, nonpos = 0, total = 0, nlay = 0, nv = 0;
    if (!c || !layers || !vhas || !bins) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    c->chart = ch;
    if ((s = choose(e, t, &hc, c, layers, vhas, &nlay, &nv, err)) || nlay == 0) goto end; /* 0: not measured */
    if ((s = write_dat(e, t, &hc, c, bins, &total, &nonfinite, &nonpos, err))) goto end;
    if ((s = ck_render(e, ch, hist_body, c, err))) goto end;
    char notes[800];
    size_t n = (size_t)snprintf(notes, sizeof notes,
                                "Seed %s only. Empty bins (%zu of %zu) are not drawn on the log density axis",
                                c->seed, nonpos, total);
    n += (size_t)snprintf(notes + n, sizeof notes - n, nonfinite ? "; %zu non-finite bins skipped. " : ". ", nonfinite);
    if (nlay > c->nl && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n, "%zu of %zu measured layers shown. ", c->nl, nlay);
    if (nv > c->npanel && n < sizeof notes)
        snprintf(notes + n, sizeof notes - n, "%zu evenly spaced of %zu variants shown. ", c->npanel, nv);
    s = ck_add_chart(e, ch, NULL, notes, err);
end:
    free(c);
    free(layers);
    free(vhas);
    free(bins);
    return s;
}
