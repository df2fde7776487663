/* overview: the last-to-first variance ratio of every variant as bars on a log axis
 * (median over seeds, whiskers for the seed range), activations on top and gradients
 * below, each bar filled with the verdict of the majority of seeds (runs.csv summary). */
#include "present/charts/kit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 24     /* variants with full tick labels */

/* Verdict fills: colour, and a hatching pattern that keeps them apart in greyscale. */
static const char *const VERDICT_COLOUR[VP_VERDICT_COUNT] = {
    [VP_VERDICT_VANISHING] = "#2166ac", [VP_VERDICT_STABLE] = "#4d9221", [VP_VERDICT_EXPLODING] = "#b2182b",
    [VP_VERDICT_NONFINITE] = "#000000", [VP_VERDICT_OTHER] = "#999999",
};
static const int VERDICT_PATTERN[VP_VERDICT_COUNT] = {
    [VP_VERDICT_VANISHING] = 4, [VP_VERDICT_STABLE] = 0, [VP_VERDICT_EXPLODING] = 5,
    [VP_VERDICT_NONFINITE] = 2, [VP_VERDICT_OTHER] = 1,
};

typedef struct {
    const ck_chart *chart;
    const vp_ratio_summary **rs[VP_RATIO_COUNT]; /* per variant */
    int used[VP_VERDICT_COUNT];
    int overflow[2];  /* variants whose ratio has no finite positive median */
    double ylo[2], yhi[2];
    int full;         /* every bar labelled (else variant numbers along the axis) */
    size_t width;     /* characters per label line; 0: one line, rotated */
    double bottom;    /* the lower panel's bottom, above the labels */
} over_ctx;

/* Tick label font: ',9' is about 6.5 px a character on the 1200 x 800 canvas, and a
 * line about 13 px high; the panels span 0.7 of its width. */
#define LABEL_PX 6.5
#define LINE_PX 13.0
#define PLOT_PX (0.7 * 1200)
#define ROTATE_DEG 45

/* Tick label for variant i: its number in the summary table and the activation, then the legend label wrapped at
 * commas or an opening bracket into lines of about `width` characters (a
 * piece is cut hard only when much longer); width 0: all of it on one line, for
 * rotated labels. Appends to b when b is non-NULL; returns the number of lines and
 * sets *longest to the characters of its longest line. */
static size_t wrapped_label(const ck_exper *e, size_t i, size_t width, ck_sbuf *b, size_t *longest)
{
    char q[QLEN], piece[420];
    const char *s = e->var[i].label;
    size_t lines = 1;
    char head[300];
    if (width == 0) {
        char one[sizeof head + sizeof e->var[i].label];
        snprintf(one, sizeof one, "#%d %s %s", e->var[i].id, e->var[i].act, s);
        if (b) ck_printf(b, "%s", vp_plot_quote(q, sizeof q, one));
        *longest = ck_text_chars(one, strlen(one));
        return 1;
    }
    snprintf(head, sizeof head, "#%d %s", e->var[i].id, e->var[i].act); /* the summary table's # */
    if (b) ck_printf(b, "%s", vp_plot_quote(q, sizeof q, head));
    *longest = ck_text_chars(head, strlen(head));
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
        if (b) ck_printf(b, ".\"\\n\".%s", vp_plot_quote(q, sizeof q, piece));
        size_t c = ck_text_chars(s, cut);
        if (c > *longest) *longest = c;
        lines++;
        s += cut;
    }
    return lines;
}

/* The x axis of panel k: blank tics on top, labels (or positions) at the bottom.
 * width: characters per label line, 0 for one-line labels rotated so neighbours do
 * not overlap. */
static void over_xtics(ck_gp *p, const ck_exper *e, int k, int full, size_t width)
{
    if (k == 0) {
        ck_cmd(p, "set xtics 1, 1, %zu scale 0.5; set format x ''; unset xlabel", e->nvar);
    } else if (full) {
        ck_sbuf b = { 0 };
        size_t longest;
        for (size_t i = 0; i < e->nvar; i++) {
            ck_printf(&b, "%s", i ? ", " : "");
            wrapped_label(e, i, width, &b, &longest);
            ck_printf(&b, " %zu", i + 1);
        }
        /* Rotated down to the right: each label starts at its bar, so the first ones
         * stay on the canvas (rotated the other way they would run off its left edge). */
        if (!b.oom && width)
            ck_cmd(p, "set xtics (%s) noenhanced scale 0.5 font ',9'", b.s);
        else if (!b.oom)
            ck_cmd(p, "set xtics (%s) noenhanced scale 0.5 font ',9' rotate by -%d left", b.s, ROTATE_DEG);
        free(b.s);
        ck_cmd(p, "unset xlabel");
    } else { /* bar i+1 is labelled with its variant number, the summary table's # */
        size_t step = e->nvar > 48 ? e->nvar / 24 : 2;
        ck_sbuf b = { 0 };
        for (size_t i = 0; i < e->nvar; i += step) ck_printf(&b, "%s'%d' %zu", i ? ", " : "", e->var[i].id, i + 1);
        if (!b.oom) ck_cmd(p, "set xtics (%s) scale 0.5", b.s);
        free(b.s);
        ck_cmd(p, "set xlabel 'variant # (the first column of the summary table in " VP_FILE_REPORT ")'");
    }
}

/* The bars of panel k: one block per verdict, hatching over the tint, whiskers. */
static void over_bars(ck_gp *p, const over_ctx *c, int k)
{
    const char *stem = c->chart->stem;
    ck_sbuf b = { 0 };
    const char *sep = "";
    for (int v = 0; v < VP_VERDICT_COUNT; v++) {
        if (!c->used[v]) continue;
        ck_printf(&b, "%s'%s.dat' index %d using 1:2:3:4:5:6 with boxxyerror lc rgb '%s' fs solid 0.35 border notitle",
                  sep, stem, k * VP_VERDICT_COUNT + v, VERDICT_COLOUR[v]);
        sep = ", ";
    }
    if (*sep) {
        for (int v = 0; v < VP_VERDICT_COUNT; v++) /* hatching over the tint keeps verdicts apart in greyscale */
            if (c->used[v] && VERDICT_PATTERN[v])
                ck_printf(&b, ", '%s.dat' index %d using 1:2:3:4:5:6 with boxxyerror lc rgb '%s' fs pattern %d noborder notitle",
                          stem, k * VP_VERDICT_COUNT + v, VERDICT_COLOUR[v], VERDICT_PATTERN[v]);
        ck_printf(&b, ", '%s.dat' index %d using 1:2:3:4 with yerrorbars lc rgb 'black' pt 7 ps 0.5 lw 1 notitle",
                  stem, 2 * VP_VERDICT_COUNT + k);
    }
    if (c->overflow[k]) /* to the panel's edge, cross-hatched, in the colour of its verdict */
        ck_printf(&b, "%s'%s.dat' index %d using 1:(sqrt($4*$5)):2:3:4:5:6 with boxxyerror lc rgb variable fs pattern 2 "
                      "border notitle", *sep ? ", " : "", stem, 2 * VP_VERDICT_COUNT + 2 + k);
    else if (!*sep)
        ck_printf(&b, "NaN notitle");
    if (!b.oom) ck_cmd(p, "plot %s", b.s);
    free(b.s);
}

/* The verdict legend on the right. */
static void over_key(ck_gp *p, const over_ctx *c, double bottom)
{
    ck_margins(p, (ck_box){ 0.82, 0.99, bottom, 0.86 });
    ck_cmd(p, "unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; "
                   "unset logscale; unset label; unset arrow; set xrange [0:1]; set yrange [0:1]");
    ck_cmd(p, "set key at screen 0.83, 0.85 left top vertical Left reverse samplen 2 spacing 1.5 title 'verdict' noenhanced");
    ck_sbuf b = { 0 };
    const char *sep = "";
    size_t nk = 0;
    for (int v = 0; v < VP_VERDICT_COUNT; v++) {
        if (!c->used[v]) continue;
        if (VERDICT_PATTERN[v])
            ck_printf(&b, "%sNaN with boxes lc rgb '%s' fs pattern %d border title '%s'", sep, VERDICT_COLOUR[v],
                      VERDICT_PATTERN[v], vp_verdict_word((vp_verdict)v));
        else
            ck_printf(&b, "%sNaN with boxes lc rgb '%s' fs solid 0.35 border title '%s'", sep, VERDICT_COLOUR[v],
                      vp_verdict_word((vp_verdict)v));
        sep = ", ";
        nk++;
    }
    if (c->overflow[0] || c->overflow[1]) {
        ck_printf(&b, "%sNaN with boxes lc rgb '#555555' fs pattern 2 border title 'overflow: ∞, 0, nan'", sep);
        sep = ", ";
        nk++;
    }
    ck_cmd(p, "set label 1 'bar: median over seeds' at screen 0.835, %.3f left font ',10'", 0.8 - 0.035 * (double)nk);
    ck_cmd(p, "set label 2 'whisker: min–max' at screen 0.835, %.3f left font ',10'", 0.77 - 0.035 * (double)nk);
    ck_cmd(p, "set label 3 'dotted: ratio 1' at screen 0.835, %.3f left font ',10'", 0.74 - 0.035 * (double)nk);
    if (!*sep) ck_printf(&b, "NaN notitle");
    if (!b.oom) ck_cmd(p, "plot %s", b.s);
    free(b.s);
}

/* How the bars are labelled. Wrapped lines under each bar while the longest fits its
 * slot, as for a few variants; when it does not (a 24-point sigma_w x sigma_b grid
 * gives 35 px slots, and the shortest wrap is 8 characters, 52 px, so neighbours
 * overwrote each other), one line per label rotated by ROTATE_DEG: neighbours are then
 * slot * sin(ROTATE_DEG) apart across the text, 25 px for 24 variants, room for its 13 px
 * line. Labels too long for a third of the page rotated (or too many variants) give
 * way to variant numbers, which the summary table resolves. */
static void over_layout(const ck_exper *e, over_ctx *c)
{
    double slot = PLOT_PX / (double)e->nvar, sine = sin(ROTATE_DEG * M_PI / 180);
    size_t lines = 1, longest = 0, l;
    c->width = (size_t)fmax(8, fmin(40, slot / LABEL_PX));
    for (size_t i = 0; i < e->nvar; i++) {
        size_t n = wrapped_label(e, i, c->width, NULL, &l);
        if (n > lines) lines = n;
        if (l > longest) longest = l;
    }
    c->full = e->nvar <= MAX_LABELS;
    c->bottom = 0.1;
    if (!c->full) return;
    if ((double)longest * LABEL_PX <= slot) {
        c->bottom = 0.05 + 0.0185 * (double)lines;
        return;
    }
    c->width = 0;
    longest = 0;
    for (size_t i = 0; i < e->nvar; i++) {
        wrapped_label(e, i, 0, NULL, &l);
        if (l > longest) longest = l;
    }
    double drop = ((double)longest * LABEL_PX + LINE_PX) * sine; /* px below the axis */
    if (drop > 800.0 / 3) c->full = 0;
    else c->bottom = 0.05 + drop / 800;
}

static void over_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const over_ctx *c = vctx;
    ck_page_title(p, e, ck_page_words(c->chart));
    ck_cmd(p, "set style textbox opaque noborder"); /* marker text readable over the hatching */
    /* a block network (lrow_type set): layer outputs a..b of its hidden stack (run.c) */
    const char *ylab[2] = { "Var[z^{L}] / Var[z^{1}]", "Var[∂L/∂z^{1}] / Var[∂L/∂z^{L}]" };
    if (e->lrow_type) {
        ylab[0] = "Var[out^{b}] / Var[out^{a}]";
        ylab[1] = "Var[∂L/∂out^{a}] / Var[∂L/∂out^{b}]";
    }
    const char *ttl[2] = { "activations", "back-propagated gradients" };
    double bottom = c->bottom, mid = bottom + (0.86 - bottom) / 2;
    for (int k = 0; k < 2; k++) {
        ck_box bx = { 0.1, 0.8, k ? bottom : mid + 0.04, k ? mid - 0.02 : 0.86 };
        ck_margins(p, bx);
        ck_cmd(p, "set title '%s'", ttl[k]);
        ck_cmd(p, "set logscale y; set format y '10^{%%L}'; set ylabel '%s'", ylab[k]);
        ck_cmd(p, "set yrange [%g:%g]; set xrange [0.4:%zu.6]", c->ylo[k], c->yhi[k], e->nvar);
        ck_cmd(p, "set grid ytics lt 1 lc rgb '#e0e0e0' lw 1");
        ck_cmd(p, "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#555555' dt 3");
        ck_cmd(p, "unset key; unset label");
        over_xtics(p, e, k, c->full, c->width);
        /* Non-finite medians: a text marker at the top or bottom of the panel. */
        for (size_t i = 0; i < e->nvar; i++) {
            const vp_ratio_summary *r = c->rs[k][i];
            if (r->positive.n > 0) continue;
            const char *txt = r->n == 0 ? "failed" : isnan(r->special) ? "nan" : r->special > 0 ? "∞" : "0";
            int top = !(r->n && !isnan(r->special) && r->special <= 0);
            ck_cmd(p, "set label %zu '%s' at %zu, graph %s center front boxed tc rgb '%s' font ',10'", i + 10, txt,
                        i + 1, top ? "0.93" : "0.07", VERDICT_COLOUR[r->majority]);
        }
        over_bars(p, c, k);
        ck_cmd(p, "unset arrow 1; unset label");
    }
    over_key(p, c, bottom);
}

/* overview.dat: per ratio one block per verdict of bars, then the whiskers. */
static vp_status over_dat(const ck_exper *e, const over_ctx *c, vp_err *err)
{
    vp_afile af = { 0 };
    vp_status s = ck_dat_open(e, c->chart, &af, err);
    if (s) return s;
    const char *name[VP_RATIO_COUNT];
    for (int k = 0; k < VP_RATIO_COUNT; k++) name[k] = vp_col_name(vp_ratio_col((vp_ratio)k));
    fprintf(af.fp, "# last/first-layer variance ratios from %s (%s runs), median over seeds of the finite positive "
                   "values\n# blocks 0-%d: %s by verdict (", VP_FILE_RUNS, VP_STATUS_OK, VP_VERDICT_COUNT - 1, name[0]);
    for (int v = 0; v < VP_VERDICT_COUNT; v++) fprintf(af.fp, "%s%s", v ? ", " : "", vp_verdict_word((vp_verdict)v));
    fprintf(af.fp, "); %d-%d: %s;\n# %d: %s error bars, %d: %s error bars\n"
                   "# x median box_xlo box_xhi box_ylo box_yhi (block %d/%d: x median min max)\n",
            VP_VERDICT_COUNT, 2 * VP_VERDICT_COUNT - 1, name[1], 2 * VP_VERDICT_COUNT, name[0],
            2 * VP_VERDICT_COUNT + 1, name[1], 2 * VP_VERDICT_COUNT, 2 * VP_VERDICT_COUNT + 1);
    int blk = 0;
    for (int k = 0; k < VP_RATIO_COUNT; k++)
        for (int v = 0; v < VP_VERDICT_COUNT; v++, blk++) {
            fprintf(af.fp, "%s# index %d: %s, verdict %s\n", blk ? "\n\n" : "", blk, name[k],
                    vp_verdict_word((vp_verdict)v));
            int any = 0;
            for (size_t i = 0; i < e->nvar; i++) {
                const vp_ratio_summary *r = c->rs[k][i];
                double med = r->positive.med;
                if (r->majority != (vp_verdict)v || r->positive.n == 0) continue;
                fprintf(af.fp, "%zu %.9g %.9g %.9g %.9g %.9g\n", i + 1, med, (double)i + 0.65, (double)i + 1.35,
                        fmin(1.0, med), fmax(1.0, med));
                any = 1;
            }
            if (!any) fputs("? ? ? ? ? ?\n", af.fp);
        }
    for (int k = 0; k < VP_RATIO_COUNT; k++) {
        fprintf(af.fp, "\n\n# index %d: %s min-max over seeds (a seed's inf or 0 reaches the panel's edge)\n",
                2 * VP_VERDICT_COUNT + k, name[k]);
        int any = 0;
        for (size_t i = 0; i < e->nvar; i++) {
            const vp_ratio_summary *r = c->rs[k][i];
            if (r->positive.n == 0) continue;
            double lo = r->positive.lo, hi = r->positive.hi;
            if (r->positive.n < r->n && !isnan(r->special)) { /* some seed overflowed: show where */
                if (r->special > 0) hi = c->yhi[k];
                else lo = c->ylo[k];
            }
            fprintf(af.fp, "%zu %.9g %.9g %.9g\n", i + 1, r->positive.med, lo, hi);
            any = 1;
        }
        if (!any) fputs("? ? ? ?\n", af.fp);
    }
    for (int k = 0; k < VP_RATIO_COUNT; k++) {
        fprintf(af.fp, "\n\n# index %d: %s overflow bars (no finite positive median): x xlo xhi ylo yhi rgb, "
                       "up to the panel's top for inf, down to its bottom for 0, across it for nan and failed runs\n",
                2 * VP_VERDICT_COUNT + 2 + k, name[k]);
        int any = 0;
        for (size_t i = 0; i < e->nvar; i++) {
            const vp_ratio_summary *r = c->rs[k][i];
            if (r->positive.n > 0) continue;
            vp_verdict v = r->n == 0 ? VP_VERDICT_OTHER : r->majority;
            double lo = c->ylo[k], hi = c->yhi[k];
            if (r->n && !isnan(r->special) && r->special > 0) lo = 1;
            else if (r->n && !isnan(r->special)) hi = 1;
            fprintf(af.fp, "%zu %.9g %.9g %.9g %.9g %ld\n", i + 1, (double)i + 0.65, (double)i + 1.35, lo, hi,
                    strtol(VERDICT_COLOUR[v] + 1, NULL, 16));
            any = 1;
        }
        if (!any) fputs("? ? ? ? ? ?\n", af.fp);
    }
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    return s;
}

vp_status ck_draw_overview(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    over_ctx c = { .chart = ch };
    const vp_summary *sum;
    vp_status s = VP_OK;
    for (int k = 0; k < VP_RATIO_COUNT; k++) c.rs[k] = calloc(e->nvar, sizeof *c.rs[k]);
    if (!c.rs[0] || !c.rs[1]) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    if ((s = ck_summary(e, &sum, err))) goto end;
    size_t nspecial = 0;
    double lo = 1, hi = 1; /* one range for both panels */
    for (int k = 0; k < VP_RATIO_COUNT; k++)
        for (size_t i = 0; i < e->nvar; i++) {
            const vp_ratio_summary *r = c.rs[k][i] = vp_summary_ratio(sum, e->var[i].id, (vp_ratio)k);
            if (r->positive.n > 0) {
                lo = fmin(lo, r->positive.lo);
                hi = fmax(hi, r->positive.hi);
                c.used[r->majority] = 1;
            } else {
                nspecial++;
                c.overflow[k] = 1;
            }
        }
    /* Room above and below for the markers of non-finite ratios. */
    for (int k = 0; k < VP_RATIO_COUNT; k++) {
        c.ylo[k] = pow(10, floor(log10(lo)) - 0.5);
        c.yhi[k] = pow(10, ceil(log10(hi)) + 0.5);
    }
    over_layout(e, &c);
    if ((s = over_dat(e, &c, err)) || (s = ck_render(e, ch, over_body, &c, err))) goto end;
    char notes[800] = "";
    size_t n = 0;
    if (nspecial)
        n = (size_t)snprintf(notes, sizeof notes, "%zu bars have no finite positive median: they are drawn "
                                                  "cross-hatched to the panel's edge (up for ∞, down for 0, across "
                                                  "for nan and failed runs) and labelled. ", nspecial);
    if (!c.full)
        snprintf(notes + n, sizeof notes - n, "With %zu variants the x axis shows the variant numbers of the "
                                              "summary table (its first column). ", e->nvar);
    s = ck_add_chart(e, ch, NULL, notes, err);
end:
    free(c.rs[0]);
    free(c.rs[1]);
    return s;
}
