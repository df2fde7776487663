/* histograms: the distribution charts (hist_pre, hist_post, hist_grad_pre) from
 * histograms.csv, as in Glorot & Bengio 2010 (figs. 6-7): one panel per variant, one
 * curve per measured layer (dark = early), linear density over an x range symmetric
 * about 0. Every seed is in the .dat file; the chart draws the first, and the script's
 * variables pick another seed or a log density axis (chart table: quantity, xlabel). */
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
    size_t npanel, nl, ns;
    size_t panel_var[MAX_PANELS];
    long layer[MAX_HIST_LAYERS];
    int has[MAX_PANELS * MAX_HIST_LAYERS]; /* a drawable bin in some seed */
    double xmax[MAX_PANELS];               /* largest |bin edge| of the panel, every seed */
    double ymax[MAX_PANELS], ymin[MAX_PANELS]; /* largest density, smallest positive one */
    const char **seeds;                    /* ns distinct seeds, ascending (borrowed) */
    char seedlist[512];                    /* the seeds, blank-separated */
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
    const char *tp[MAX_PANELS];
    for (size_t i = 0; i < c->npanel; i++) tp[i] = e->var[c->panel_var[i]].name;
    ck_titles_alike(p, tp, boxes, c->npanel);
    char q3[QLEN];
    /* The options, for `gnuplot -e 'seed_index=1; logy=1' <stem>.gp`. */
    ck_cmd(p, "if (!exists(\"seed_index\")) seed_index = 0  # which seed: 0 .. %zu, in the order of `seeds`", c->ns - 1);
    ck_cmd(p, "if (!exists(\"logy\")) logy = 0  # 1: log density axis");
    ck_cmd(p, "seeds = %s", vp_plot_quote(q3, sizeof q3, c->seedlist));
    size_t longest = 0; /* the widest " (seed N)" */
    for (size_t k = 0; k < c->ns; k++) longest = strlen(c->seeds[k]) > longest ? strlen(c->seeds[k]) : longest;
    ck_page_title_with(p, e, ck_page_words(c->chart), ".' (seed '.word(seeds, seed_index + 1).')'", longest + 8);
    for (size_t i = 0; i < c->npanel; i++) {
        ck_panel_head(p, boxes[i], e->var[c->panel_var[i]].name,
                      "if (logy) { set logscale y; set format y '10^{%L}' } else { set format y '%g' }",
                      c->chart->xlabel, i % (size_t)cols == 0 ? "density" : NULL);
        if (c->ymax[i] <= 0) {
            ck_empty_panel(p, "set xrange [-1:1]; set yrange [0:1]", "no densities to draw", "set autoscale");
            continue;
        }
        /* symmetric about 0, over every seed's bins, so a seed's shift shows */
        ck_cmd(p, "set xrange [%.9g:%.9g]; set xtics %.6g", -c->xmax[i], c->xmax[i], ck_tic_step(-c->xmax[i], c->xmax[i]));
        /* the linear density axis's tics a line apart (gnuplot's own put 10 labels on a short
         * panel of a 3-row grid); the log axis keeps gnuplot's powers of 10 (`set ytics STEP`
         * alone hangs gnuplot 5.4 on a log axis) */
        ck_cmd(p, "if (logy) { set yrange [%.6g:%.6g]; set ytics autofreq } else { set yrange [0:%.6g]; set ytics %.6g }",
               c->ymin[i] / 2, c->ymax[i] * 2, c->ymax[i] * 1.05, ck_fit_step(0, c->ymax[i] * 1.05, boxes[i], 'y'));
        ck_reset(&b);
        const char *sep = "";
        for (size_t k = 0; k < c->nl; k++) {
            if (!c->has[i * MAX_HIST_LAYERS + k]) continue;
            ck_printf(&b, "%s'%s.dat' index (%zu + seed_index) using 1:2 with lines lw 2 lc rgb '%s' dt %zu notitle", sep,
                      c->chart->stem, (i * c->nl + k) * c->ns, layer_colour(k, c->nl), k % 5 + 1);
            sep = ", ";
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

/* Seeds in ascending numeric order (they are integers). */
static int cmp_seed(const void *a, const void *b)
{
    double x = NAN, y = NAN;
    vp_table_parse_num(*(const char *const *)a, &x);
    vp_table_parse_num(*(const char *const *)b, &y);
    return (x > y) - (x < y);
}

typedef struct {
    size_t cv, cs, cl, cq, clo, chi, cd; /* histograms.csv columns */
    const char *quantity;
} hist_cols;

/* The seeds, layers and variants this quantity has: the panels (evenly spaced
 * variants) and curves (evenly spaced layers). *nlay = 0: not measured. */
static vp_status choose(const ck_exper *e, const vp_table *t, const hist_cols *hc, hist_ctx *c, long *layers,
                        int *vhas, size_t *nlay, size_t *nv, vp_err *err)
{
    size_t nr = vp_table_nrows(t);
    vp_status s;
    *nlay = 0;
    for (size_t r = 0; r < nr; r++) {
        if (strcmp(vp_table_cell(t, r, hc->cq), hc->quantity) != 0) continue;
        long id, layer;
        if ((s = vp_table_int(t, r, hc->cv, 0, VP_VARIANT_MAX, &id, err)) ||
            (s = vp_table_int(t, r, hc->cl, 1, VP_LAYER_MAX, &layer, err)) ||
            (s = ck_known_variant(e, t, r, hc->cv, &id, err)))
            return s;
        vhas[e->pos[id]] = 1;
        size_t k;
        for (k = 0; k < *nlay && layers[k] != layer; k++) {}
        if (k == *nlay) layers[(*nlay)++] = layer;
        const char *sd = vp_table_cell(t, r, hc->cs);
        for (k = 0; k < c->ns && strcmp(c->seeds[k], sd) != 0; k++) {}
        if (k == c->ns) c->seeds[c->ns++] = sd;
    }
    if (*nlay == 0) return VP_OK;
    qsort(layers, *nlay, sizeof *layers, cmp_long);
    qsort(c->seeds, c->ns, sizeof *c->seeds, cmp_seed);
    size_t n = 0;
    for (size_t k = 0; k < c->ns && n < sizeof c->seedlist; k++)
        n += (size_t)snprintf(c->seedlist + n, sizeof c->seedlist - n, "%s%s", k ? " " : "", c->seeds[k]);
    ck_clean(c->seedlist);
    c->nl = *nlay < MAX_HIST_LAYERS ? *nlay : MAX_HIST_LAYERS;
    for (size_t k = 0; k < c->nl; k++) c->layer[k] = layers[ck_pick(k, c->nl, *nlay)];
    *nv = 0;
    for (size_t i = 0; i < e->nvar; i++) *nv += (size_t)vhas[i];
    c->npanel = *nv < MAX_PANELS ? *nv : MAX_PANELS;
    for (size_t j = 0, seen = 0, i = 0; i < e->nvar && j < c->npanel; i++) {
        if (!vhas[i]) continue;
        if (seen++ == ck_pick(j, c->npanel, *nv)) c->panel_var[j++] = i;
    }
    return VP_OK;
}

/* The block (panel, layer, seed) of row r, or -1 when the chart does not draw it. */
static long block_of(const ck_exper *e, const vp_table *t, const hist_cols *hc, const hist_ctx *c, const int *panel_of,
                     size_t r)
{
    if (strcmp(vp_table_cell(t, r, hc->cq), hc->quantity) != 0) return -1;
    long id, layer;
    vp_table_int(t, r, hc->cv, 0, VP_VARIANT_MAX, &id, NULL); /* checked by choose */
    vp_table_int(t, r, hc->cl, 1, VP_LAYER_MAX, &layer, NULL);
    int i = panel_of[e->pos[id]];
    size_t k, sd;
    for (k = 0; k < c->nl && c->layer[k] != layer; k++) {}
    const char *seed = vp_table_cell(t, r, hc->cs);
    for (sd = 0; sd < c->ns && strcmp(c->seeds[sd], seed) != 0; sd++) {}
    if (i < 0 || k == c->nl) return -1;
    return (long)(((size_t)i * c->nl + k) * c->ns + sd);
}

/* <stem>.dat: one block per (panel, layer, seed) of bin centres and densities, block
 * ((panel * layers) + layer) * seeds + seed; counts the bins not drawn. rows: room for
 * every row of t. */
static vp_status write_dat(const ck_exper *e, const vp_table *t, const hist_cols *hc, hist_ctx *c, bin *bins,
                           size_t *rows, size_t *total, size_t *nonfinite, size_t *empty, vp_err *err)
{
    size_t nr = vp_table_nrows(t), nb = c->npanel * c->nl * c->ns;
    int *panel_of = malloc((e->nvar + 1) * sizeof *panel_of);
    size_t *start = calloc(nb + 2, sizeof *start);
    vp_afile af = { 0 };
    vp_status s = VP_OK;
    if (!panel_of || !start) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    for (size_t i = 0; i < e->nvar; i++) panel_of[i] = -1;
    for (size_t i = 0; i < c->npanel; i++) panel_of[c->panel_var[i]] = (int)i;
    /* rows grouped by block in one pass (counting sort) */
    for (size_t r = 0; r < nr; r++) {
        long b = block_of(e, t, hc, c, panel_of, r);
        if (b >= 0) start[b + 2]++;
    }
    for (size_t b = 2; b < nb + 2; b++) start[b] += start[b - 1];
    for (size_t r = 0; r < nr; r++) {
        long b = block_of(e, t, hc, c, panel_of, r);
        if (b >= 0) rows[start[b + 1]++] = r;
    }
    if ((s = ck_dat_open(e, c->chart, &af, err))) goto end;
    fprintf(af.fp, "# distribution of %s (%s, quantity %s): bin centre, density; '?' = no bin or a non-finite one\n"
                   "# block ((panel * %zu) + layer) * %zu + seed, seeds in this order: %s\n",
            c->chart->xlabel, vp_csv_layout_get(c->chart->source)->file, hc->quantity, c->nl, c->ns, c->seedlist);
    for (size_t i = 0; i < c->npanel; i++) {
        c->xmax[i] = 0;
        c->ymax[i] = 0;
        c->ymin[i] = INFINITY;
        for (size_t k = 0; k < c->nl; k++)
            for (size_t sd = 0; sd < c->ns; sd++) {
                size_t b = (i * c->nl + k) * c->ns + sd, n = 0, vi = c->panel_var[i];
                for (size_t j = start[b]; j < start[b + 1]; j++) {
                    bin *bn = &bins[n++];
                    if ((s = vp_table_num(t, rows[j], hc->clo, &bn->lo, err)) ||
                        (s = vp_table_num(t, rows[j], hc->chi, &bn->hi, err)) ||
                        (s = vp_table_num(t, rows[j], hc->cd, &bn->d, err)))
                        goto end;
                }
                qsort(bins, n, sizeof *bins, cmp_bin);
                char lab[700];
                ck_clean_copy(lab, sizeof lab, e->var[vi].name);
                fprintf(af.fp, "%s# index %zu: variant %d (%s), layer %ld, seed %s\n# centre density\n", b ? "\n\n" : "",
                        b, e->var[vi].id, lab, c->layer[k], c->seeds[sd]);
                for (size_t j = 0; j < n; j++) {
                    double x = 0.5 * (bins[j].lo + bins[j].hi), d = bins[j].d;
                    (*total)++;
                    if (!isfinite(d) || !isfinite(x) || !isfinite(bins[j].lo) || !isfinite(bins[j].hi)) {
                        (*nonfinite)++;
                        d = NAN;
                    } else {
                        *empty += d <= 0;
                        c->has[i * MAX_HIST_LAYERS + k] = 1;
                        c->xmax[i] = fmax(c->xmax[i], fmax(fabs(bins[j].lo), fabs(bins[j].hi)));
                        c->ymax[i] = fmax(c->ymax[i], d);
                        if (d > 0) c->ymin[i] = fmin(c->ymin[i], d);
                    }
                    ck_put_num(af.fp, x);
                    ck_put_num(af.fp, d);
                    fputc('\n', af.fp);
                }
                if (n == 0) fputs("? ?\n", af.fp);
            }
        if (!(c->xmax[i] > 0)) c->xmax[i] = 1;
    }
    s = vp_afile_commit(&af, err);
end:
    vp_afile_abort(&af);
    free(panel_of);
    free(start);
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
    size_t *rows = malloc((nr + 1) * sizeof *rows);
    size_t nonfinite = 0, empty = 0, total = 0, nlay = 0, nv = 0;
    if (c) c->seeds = malloc((nr + 1) * sizeof *c->seeds);
    if (!c || !c->seeds || !layers || !vhas || !bins || !rows) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    c->chart = ch;
    if ((s = choose(e, t, &hc, c, layers, vhas, &nlay, &nv, err)) || nlay == 0) goto end; /* 0: not measured */
    if ((s = write_dat(e, t, &hc, c, bins, rows, &total, &nonfinite, &empty, err))) goto end;
    if ((s = ck_render(e, ch, hist_body, c, err))) goto end;
    /* The redraw commands are varprop's own Markdown: in the caption, which report.md
     * writes as it is (notes are escaped: they may quote the config). Seeds are digits. */
    char notes[800], caption[1400];
    snprintf(caption, sizeof caption,
             "%s Seed %s of %zu (%s) drawn; %s.dat holds every seed: `gnuplot -e 'seed_index=K' %s.gp` draws the "
             "K-th (from 0), `-e 'logy=1'` a log density axis (which cannot show the %zu empty of %zu bins).",
             ch->caption, c->seeds[0], c->ns, c->seedlist, ch->stem, ch->stem, empty, total);
    size_t n = 0;
    notes[0] = '\0';
    if (nonfinite && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n, "%zu non-finite bins skipped. ", nonfinite);
    if (nlay > c->nl && n < sizeof notes)
        n += (size_t)snprintf(notes + n, sizeof notes - n, "%zu of %zu measured layers shown. ", c->nl, nlay);
    if (nv > c->npanel && n < sizeof notes)
        snprintf(notes + n, sizeof notes - n, "%zu evenly spaced of %zu variants shown. ", c->npanel, nv);
    s = ck_add_chart(e, ch, caption, notes, err);
end:
    if (c) free(c->seeds);
    free(c);
    free(layers);
    free(vhas);
    free(bins);
    free(rows);
    return s;
}
