/* grid: the charts of a 2-D sweep drawn as a grid of cells, one per sweep point --
 * the heatmap (log10 of the median variance ratios over seeds) and the phase diagram
 * (measured and predicted depth scales), both with the chi_1 = 1 line when the
 * results folder has it. Shared: the grid (axes, values, cell edges), a panel of it,
 * its colour box, and the copy of critical_line.dat next to the scripts. */
#include "present/charts/kit.h"
#include "base/sort.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const ck_chart *chart;
    int kx, ky;             /* sweep key index on each axis */
    size_t nx, ny;
    const char *xv[256], *yv[256]; /* distinct values (borrowed) */
    const char **xt, **yt;  /* tic labels: the values, or (phase) their squares */
    int numeric[2];         /* the axis is placed at its values (numbers, roughly evenly spaced) */
    int number[2];          /* every value of the axis is a number */
    int indexed[2];         /* numbers placed one cell each, in order (place_cells): at[] keeps them */
    double at[2][256];      /* an indexed axis's values in the chart's coordinates (sigma; sigma^2 for the phase chart) */
    double xc[256], yc[256]; /* cell centres */
    double *line;           /* critical_line.dat's points (sigma_w, sigma_b), NaN pairs between segments */
    size_t nline;
    char xlabel[QLEN], ylabel[QLEN]; /* axis titles: a gnuplot string and its mode */
    double cmax;
    int critical;           /* critical_line.dat available */
    int labels;             /* print the value in each cell */
    int any_missing;
} grid_ctx;

static double num_or_nan(const char *s)
{
    double v;
    return vp_table_parse_num(s, &v) == VP_TABLE_NUM_OK ? v : NAN;
}

/* Tics at the sweep values (labelled with them, or blank when `labels` is 0);
 * a numeric axis with many values keeps automatic tics; numbers in order (`ordered`)
 * label at most ~12 of their tics (names are all labelled: no order tells a blank one). */
static void axis_tics(ck_gp *p, const char *axis, size_t n, const char *const *vals, const double *pos,
                      int numeric, int ordered, int labels)
{
    char q[QLEN];
    double gmin = INFINITY; /* values closer than 8% of the axis (squared sigmas): labels would crowd */
    for (size_t i = 1; i < n; i++) gmin = fmin(gmin, pos[i] - pos[i - 1]);
    if (numeric && (n > 15 || (n > 1 && gmin < 0.08 * (pos[n - 1] - pos[0])))) {
        ck_cmd(p, "set %stics autofreq; set format %s '%s'", axis, axis, labels ? "%g" : "");
        return;
    }
    ck_sbuf b = { 0 };
    size_t every = ordered && n > 16 ? (n + 11) / 12 : 1; /* every cell keeps its tic */
    for (size_t i = 0; i < n; i++)
        ck_printf(&b, "%s%s %.9g", i ? ", " : "",
                  labels && i % every == 0 ? vp_plot_quote(q, sizeof q, vals[i]) : "''", pos[i]);
    if (!b.oom && b.s) ck_cmd(p, "set %stics (%s) noenhanced", axis, b.s);
    free(b.s);
}

static size_t max_len(const char *const *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i]) > m) m = strlen(v[i]);
    return m;
}

/* Cell edges halfway between neighbouring centres. */
static void edges(const double *c, size_t n, size_t i, double *lo, double *hi)
{
    double w = n > 1 ? (i + 1 < n ? c[i + 1] - c[i] : c[i] - c[i - 1]) : 1.0;
    double wl = n > 1 ? (i > 0 ? c[i] - c[i - 1] : c[i + 1] - c[i]) : 1.0;
    *lo = c[i] - wl / 2;
    *hi = c[i] + w / 2;
}

/* The outer edges of the n cells centred at c[] (sorted). */
static void outer_edges(const double *c, size_t n, double *lo, double *hi)
{
    double unused;
    edges(c, n, 0, lo, &unused);
    edges(c, n, n - 1, &unused, hi);
}

/* The colour scale of a two-panel grid chart: on the right of panel 1 only, spanning
 * the panels' height; the axes span the grid's outer edges, so the panels' cells line
 * up whatever they hold (autoscaled, a row or column without any finite value -- a
 * '?' cell, not drawn -- narrowed one panel and put its labels on the border). */
static void grid_colorbox(ck_gp *p, const grid_ctx *c, int k, double bottom)
{
    if (k == 0) ck_cmd(p, "unset colorbox");
    else ck_cmd(p, "set colorbox user origin screen 0.9, screen %.4f size screen 0.018, screen %.4f", bottom,
                     0.86 - bottom);
    double xlo, xhi, ylo, yhi;
    outer_edges(c->xc, c->nx, &xlo, &xhi);
    outer_edges(c->yc, c->ny, &ylo, &yhi);
    ck_cmd(p, "set xrange [%.9g:%.9g]; set yrange [%.9g:%.9g]", xlo, xhi, ylo, yhi);
}

/* The panels' frame, two columns by `rows`: room for the y tick labels (left column
 * only; the right one shares them) and for rotated category labels under the x axis
 * (7 px per character); x labels on the bottom row only. */
typedef struct {
    double left, bottom, gap, w, h, vgap;
    int rot, rows;
} grid_frame;

static grid_frame frame_of(const grid_ctx *c, double kh, int rows)
{
    grid_frame f;
    f.left = 0.075 + fmin(0.3, (double)(c->numeric[1] ? 8 : max_len(c->yv, c->ny)) * 7.5 / 1200);
    f.rot = !c->numeric[0] && c->nx > 3;
    double xl = f.rot ? fmin(0.25, (double)max_len(c->xv, c->nx) * 7.0 * 0.5 / 800) : 0;
    f.bottom = kh + 0.09 + xl;
    f.gap = 0.04;
    f.w = (0.86 - f.left - f.gap) / 2;
    f.rows = rows;
    f.vgap = 0.07;
    f.h = (0.86 - f.bottom - (rows - 1) * f.vgap) / rows;
    return f;
}

/* The panel in `row`, column k of a 2-D sweep grid: margins, title, the "no value"
 * backdrop (`nodata`: gnuplot fill style), the axis titles and tics (y labels in the
 * left column k = 0, x labels on the bottom row). */
static void grid_panel(ck_gp *p, const grid_ctx *c, const grid_frame *f, const char *title, int row, int k,
                       const char *nodata)
{
    double l = f->left + k * (f->w + f->gap), t = 0.86 - row * (f->h + f->vgap);
    int bottom_row = row == f->rows - 1;
    ck_margins(p, (ck_box){ l, l + f->w, t - f->h, t });
    ck_cmd(p, "set title '%s'", title);
    ck_cmd(p, "unset key");
    ck_cmd(p, "set object 1 rectangle from graph 0, 0 to graph 1, 1 behind %s noborder", nodata);
    if (bottom_row) ck_cmd(p, "set xlabel %s", c->xlabel);
    else ck_cmd(p, "unset xlabel");
    if (k == 0) ck_cmd(p, "set ylabel %s", c->ylabel);
    else ck_cmd(p, "unset ylabel");
    axis_tics(p, "x", c->nx, c->xt, c->xc, c->numeric[0], c->indexed[0], bottom_row);
    axis_tics(p, "y", c->ny, c->yt, c->yc, c->numeric[1], c->indexed[1], k == 0);
    if (f->rot) ck_cmd(p, "set xtics rotate by 30 right");
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
static int sweep_grid(const ck_exper *e, grid_ctx *c, int *phase)
{
    int sig = strcmp(e->sweep[0], VP_SWEEP_SIGMA_B) == 0 && strcmp(e->sweep[1], VP_SWEEP_SIGMA_W) == 0;
    *phase = sig || (strcmp(e->sweep[0], VP_SWEEP_SIGMA_W) == 0 && strcmp(e->sweep[1], VP_SWEEP_SIGMA_B) == 0);
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
        c->number[a] = c->numeric[a];
        if (c->numeric[a]) qsort(v, n, sizeof *v, cmp_num_str);
        for (size_t i = 0; i < n; i++) cc[i] = c->numeric[a] ? num_or_nan(v[i]) : (double)(i + 1);
    }
    c->labels = c->nx <= 12 && c->ny <= 16;
    c->xt = c->xv;
    c->yt = c->yv;
    char q[QLEN];
    snprintf(c->xlabel, sizeof c->xlabel, "%s noenhanced", vp_plot_quote(q, sizeof q, e->sweep[c->kx]));
    snprintf(c->ylabel, sizeof c->ylabel, "%s noenhanced", vp_plot_quote(q, sizeof q, e->sweep[c->ky]));
    return 1;
}

/* Values far from evenly spaced (gains 1, 2, 1e6; rates 1e-3 .. 1; doublings 1, 2, 4, 8,
 * 16; sigma_w 0.001, 1, 2, 1000: a gap under a quarter of the largest) drawn at their
 * values squeeze the small ones into slivers: they go in their order, one cell each,
 * labelled with the values, and at[] keeps the values for the chi_1 = 1 line (the phase
 * chart squares them: square_axes). */
static void place_cells(grid_ctx *c)
{
    for (int a = 0; a < 2; a++) {
        size_t n = a ? c->ny : c->nx;
        double *cc = a ? c->yc : c->xc, gmin = INFINITY, gmax = 0;
        for (size_t i = 1; i < n; i++) gmin = fmin(gmin, cc[i] - cc[i - 1]), gmax = fmax(gmax, cc[i] - cc[i - 1]);
        if (!c->numeric[a] || n <= 2 || !(gmin < 0.25 * gmax)) continue;
        c->numeric[a] = 0;
        c->indexed[a] = 1;
        for (size_t i = 0; i < n; i++) {
            c->at[a][i] = cc[i];
            cc[i] = (double)(i + 1);
        }
    }
}

/* v (in the chart's coordinates) on axis a: itself on an axis at its values; on an
 * indexed one the cell position, linear between the two values around it (beyond the
 * ends, by the end's step: gnuplot clips the line at the grid's edge). */
static double place_value(const grid_ctx *c, int a, double v)
{
    size_t n = a ? c->ny : c->nx, i = 0;
    const double *at = c->at[a];
    if (!c->indexed[a] || !isfinite(v)) return v;
    while (i + 2 < n && v > at[i + 1]) i++;
    return (double)(i + 1) + (v - at[i]) / (at[i + 1] - at[i]);
}

/* x y xlo xhi ylo yhi of variant i's cell. */
static void cell_of(const ck_exper *e, const grid_ctx *c, size_t i, double out[6])
{
    const char *x = e->sweepval[i * 2 + (size_t)c->kx], *y = e->sweepval[i * 2 + (size_t)c->ky];
    size_t ix = 0, iy = 0;
    while (strcmp(c->xv[ix], x) != 0) ix++;
    while (strcmp(c->yv[iy], y) != 0) iy++;
    out[0] = c->xc[ix];
    out[1] = c->yc[iy];
    edges(c->xc, c->nx, ix, &out[2], &out[3]);
    edges(c->yc, c->ny, iy, &out[4], &out[5]);
}

/* "x y xlo xhi ylo yhi" of variant i's cell. */
static void put_cell(FILE *f, const ck_exper *e, const grid_ctx *c, size_t i)
{
    double v[6];
    cell_of(e, c, i, v);
    fprintf(f, "%.9g %.9g %.9g %.9g %.9g %.9g", v[0], v[1], v[2], v[3], v[4], v[5]);
}

/* critical_line.dat's text into c->line: "sigma_w sigma_b" per line, a blank line
 * between segments (a NaN pair), '#' comments; other lines are skipped. */
static vp_status read_line_points(grid_ctx *c, const char *text, vp_err *err)
{
    size_t cap = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        double w, b;
        int blank = 1;
        for (const char *q = l; *q && *q != '\n'; q++) blank &= *q == ' ' || *q == '\t' || *q == '\r';
        if (*l == '#') continue;
        if (blank) w = b = NAN;
        else if (sscanf(l, "%lf %lf", &w, &b) != 2) continue;
        if (c->nline + 1 > cap) {
            cap = cap ? 2 * cap : 256;
            double *p = realloc(c->line, cap * 2 * sizeof *p);
            if (!p) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
            c->line = p;
        }
        c->line[2 * c->nline] = w;
        c->line[2 * c->nline + 1] = b;
        c->nline++;
    }
    return VP_OK;
}

/* The chi_1 = 1 line through the cells of an indexed grid, as block `index` of the
 * chart's .dat: (sigma_w, sigma_b), squared for the phase chart, placed on each axis
 * (place_value); a blank line between segments. */
static void put_line_block(FILE *f, const grid_ctx *c, int index, int squared)
{
    fprintf(f, "\n\n# index %d: the chi_1 = 1 line of " VP_FILE_CRITICAL " in the cells' positions (linear between "
               "the values of the cells around it)\n",
            index);
    double pw = NAN, pb = NAN; /* the previous point */
    for (size_t i = 0; i < c->nline; i++) {
        double w = c->line[2 * i], b = c->line[2 * i + 1];
        if (isnan(w)) { fputs("\n", f); pw = pb = NAN; continue; }
        if (squared) w *= w, b *= b;
        /* The cell map is linear between the values only: a segment crossing cells is cut
         * where it crosses a value, or its straight image runs through the wrong cells
         * (a reviewer: tanh's line at sigma_b 0.001 drawn two cells off). */
        double ts[512];
        int nt = 0;
        for (int a = 0; a < 2 && isfinite(pw) && isfinite(pb); a++) {
            size_t n = a ? c->ny : c->nx;
            double p0 = a ? pb : pw, p1 = a ? b : w;
            for (size_t k = 0; c->indexed[a] && k < n && nt < 512; k++) {
                double t = (c->at[a][k] - p0) / (p1 - p0);
                if (t > 0 && t < 1) ts[nt++] = t;
            }
        }
        qsort(ts, (size_t)nt, sizeof *ts, vp_cmp_double);
        for (int k = 0; k < nt; k++) {
            double x = place_value(c, 0, pw + ts[k] * (w - pw)), y = place_value(c, 1, pb + ts[k] * (b - pb));
            if (isfinite(x) && isfinite(y)) fprintf(f, "%.9g %.9g\n", x, y);
        }
        double x = place_value(c, 0, w), y = place_value(c, 1, b);
        if (isfinite(x) && isfinite(y)) fprintf(f, "%.9g %.9g\n", x, y);
        else fputs("\n", f); /* no point: the segment ends */
        pw = w, pb = b;
    }
}

/* The runner may leave the chi_1 = 1 line in the results folder: copy it next to
 * the scripts and set c->critical (sigma sweeps on numeric axes); keep its points for
 * an indexed axis. */
static vp_status copy_critical(const ck_exper *e, grid_ctx *c, int phase, vp_err *err)
{
    if (!phase || !c->number[0] || !c->number[1]) return VP_OK;
    char src[4096];
    vp_status s = vp_path_join(src, sizeof src, e->results_dir, VP_FILE_CRITICAL, err);
    if (s) return s;
    FILE *in = fopen(src, "rb");
    if (!in) return VP_OK;
    char dst[4096];
    vp_afile cf = { 0 };
    if ((s = vp_path_join(dst, sizeof dst, e->plots_dir, VP_FILE_CRITICAL, err)) ||
        (s = vp_afile_open(&cf, dst, err))) { fclose(in); return s; }
    cf.no_sync = 1; /* a chart file: see CK_NO_SYNC (kit.h) */
    char buf[8192];
    size_t n;
    ck_sbuf text = { 0 };
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        fwrite(buf, 1, n, cf.fp);
        if (c->indexed[0] || c->indexed[1]) ck_printf(&text, "%.*s", (int)n, buf);
    }
    int bad = ferror(in);
    fclose(in);
    if (bad || text.oom) {
        free(text.s);
        vp_afile_abort(&cf);
        return bad ? vp_fail(err, VP_ERR_IO, "cannot read %s", src) : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    s = text.s ? read_line_points(c, text.s, err) : VP_OK;
    free(text.s);
    if (s || (s = vp_afile_commit(&cf, err))) { vp_afile_abort(&cf); return s; }
    c->critical = 1;
    return VP_OK;
}

/* ---- the heatmap ---- */

static void heat_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const grid_ctx *c = vctx;
    double kh = ck_key_height(2, 2);
    grid_frame f = frame_of(c, kh, 1);
    ck_page_title(p, e, ck_page_words(c->chart));
    const char *panel_title[2] = { "activations: log_{10} Var[z^{L}] / Var[z^{1}]",
                                   "gradients: log_{10} Var[∂L/∂z^{1}] / Var[∂L/∂z^{L}]" };
    for (int k = 0; k < 2; k++) {
        grid_panel(p, c, &f, panel_title[k], 0, k, "fc rgb '#d9d9d9' fs solid 1.0");
        ck_cmd(p, "set palette defined (-1 '#2166ac', -0.5 '#92c5de', 0 '#f7f7f7', 0.5 '#f4a582', 1 '#b2182b')");
        ck_cmd(p, "set cbrange [%g:%g]", -c->cmax, c->cmax);
        ck_cmd(p, "set cblabel 'log_{10} ratio  (0 = stable, < 0 vanishing, > 0 exploding)'");
        grid_colorbox(p, c, k, f.bottom);
        ck_sbuf b = { 0 };
        ck_printf(&b, "'%s.dat' index %d using 1:2:3:4:5:6:7 with boxxyerror fs solid 1.0 noborder lc palette notitle",
                  c->chart->stem, k);
        if (c->labels) ck_printf(&b, ", '' index %d using 1:2:8 with labels font ',9' notitle", k);
        if (c->critical && (c->indexed[0] || c->indexed[1])) /* the line in the cells' positions */
            ck_printf(&b, ", '%s.dat' index 2 using 1:2 with lines lw 2.5 lc rgb 'black' notitle", c->chart->stem);
        else if (c->critical)
            ck_printf(&b, ", '" VP_FILE_CRITICAL "' using 1:2 with lines lw 2.5 lc rgb 'black' notitle");
        if (!b.oom) ck_cmd(p, "plot %s", b.s);
        free(b.s);
    }
    ck_cmd(p, "unset object 1");
    ck_sbuf b = { 0 };
    ck_printf(&b, "NaN with boxes fs solid 1.0 lc rgb '#d9d9d9' title 'grey: no value (not in the sweep, or no finite ratio: see the label)'");
    if (c->critical)
        ck_printf(&b, ", NaN with lines lw 2.5 lc rgb 'black' title 'χ_1 = 1: order/chaos boundary (" VP_FILE_CRITICAL ")'");
    if (!b.oom) ck_key_strip(p, b.s, kh, 1);
    free(b.s);
}

/* Median log10 ratio per cell, clipped to the colour range, with its label. */
static vp_status heat_dat(const ck_exper *e, grid_ctx *c, const vp_summary *sum, vp_err *err)
{
    vp_afile af = { 0 };
    vp_status s = ck_dat_open(e, c->chart, &af, err);
    if (s) return s;
    fprintf(af.fp, "# median over seeds of log10(%s) (index 0) and log10(%s) (index 1), from %s\n"
                   "# x y xlo xhi ylo yhi value(clipped to the colour range, '?' = no finite ratio) label\n",
            vp_col_name(VP_COL_ACT_RATIO), vp_col_name(VP_COL_GRAD_RATIO), VP_FILE_RUNS);
    for (int k = 0; k < VP_RATIO_COUNT; k++) {
        fprintf(af.fp, "%s# index %d: %s\n", k ? "\n\n" : "", k, vp_col_name(vp_ratio_col((vp_ratio)k)));
        for (size_t i = 0; i < e->nvar; i++) {
            const vp_ratio_summary *r = vp_summary_ratio(sum, e->var[i].id, (vp_ratio)k);
            double z = NAN;
            char lab[32];
            if (r->positive.n > 0) {
                z = log10(r->positive.med);
                snprintf(lab, sizeof lab, "%.1f", z);
                z = fmax(-c->cmax, fmin(c->cmax, z));
            } else {
                snprintf(lab, sizeof lab, "%s", r->n == 0 ? "failed" : isnan(r->special) ? "nan" : r->special > 0 ? "inf" : "0");
                if (!isnan(r->special)) z = r->special > 0 ? c->cmax : -c->cmax;
                c->any_missing = 1;
            }
            put_cell(af.fp, e, c, i);
            ck_put_num(af.fp, z);
            fprintf(af.fp, " %s\n", lab);
        }
    }
    if (c->critical && (c->indexed[0] || c->indexed[1])) put_line_block(af.fp, c, 2, 0);
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    return s;
}

vp_status ck_draw_heatmap(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    if (e->nsweep != 2) return VP_OK;
    grid_ctx *c = calloc(1, sizeof *c);
    const vp_summary *sum;
    vp_status s = VP_OK;
    int phase = 0;
    if (!c) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    c->chart = ch;
    if (!sweep_grid(e, c, &phase)) goto end;
    place_cells(c);
    if ((s = ck_summary(e, &sum, err))) goto end;
    double m = 1;
    for (int k = 0; k < VP_RATIO_COUNT; k++)
        for (size_t i = 0; i < e->nvar; i++) {
            const vp_ratio_summary *r = vp_summary_ratio(sum, e->var[i].id, (vp_ratio)k);
            if (r->positive.n > 0 && fabs(log10(r->positive.med)) > m) m = fabs(log10(r->positive.med));
        }
    c->cmax = ceil(m);
    if ((s = copy_critical(e, c, phase, err)) || (s = heat_dat(e, c, sum, err)) ||
        (s = ck_render(e, ch, heat_body, c, err)))
        goto end;
    char notes[800] = "";
    if (c->any_missing)
        snprintf(notes, sizeof notes, "Sweep points without a finite positive ratio over any seed are labelled "
                                      "inf (drawn at the top of the colour range), 0 (bottom) or nan (blank). ");
    if (phase && !c->critical)
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes),
                 "No " VP_FILE_CRITICAL " in the results folder, so the χ₁ = 1 line is not drawn.");
    s = ck_add_chart(e, ch, NULL, notes, err);
end:
    if (c) free(c->line);
    free(c);
    return s;
}

/* ---- the phase diagram of the depth scales ---- */

/* The four panels, in .dat index order: measured and predicted gradient depth scale
 * (top), measured and predicted correlation depth scale (bottom). */
enum { XI_GRAD, XI_GRAD_TH, XI_C, XI_C_TH, XI_N };
#define PHASE_KEY 0.13 /* height of the strip under the panels */

static const char *const XI_TITLE[XI_N] = {
    "measured ξ_{∇} (median over seeds)", "mean field: ξ_{∇} = 1/|ln χ_{1}|",
    "measured ξ_{c} (median over seeds)", "mean field: ξ_{c} = −1/ln χ_{c}",
};

typedef struct {
    grid_ctx g;
    double lo, hi;   /* colour range of xi (log scale) */
    double depth;
    double xlo, xhi, ylo, yhi; /* the grid's outer edges */
    char sq[2][256][24]; /* tic labels: sigma^2 */
    const char *sqp[2][256];
    int col[XI_N];   /* runs.csv column of each panel, -1: not in the file */
    int from_chi;    /* the predicted xi_grad comes from theory_chi1 */
    char src[XI_N][64]; /* where each panel's numbers come from */
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

/* The legend strip: the two marks on one row, then what xi is. */
static void phase_key(ck_gp *p, const grid_ctx *c, double kh)
{
    ck_margins(p, (ck_box){ 0.01, 0.99, 0.005, kh });
    ck_cmd(p, "unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; "
              "unset logscale; unset label; unset arrow; unset colorbox");
    ck_cmd(p, "set xrange [0:1]; set yrange [0:1]");
    ck_cmd(p, "set label 1 'ξ = depth scale in layers: a signal grows or decays by a factor e every ξ layers, so "
              "larger ξ = deeper propagation (nets train up to a depth of about 6ξ_{c}, Schoenholz et al. 2017).' "
              "at screen 0.5, %.4f center font ',10'", kh * 0.47);
    ck_cmd(p, "set label 2 'Top: ξ_{∇} = 1/|slope| of ln Var[∂L/∂z^{l}] against l, and its prediction 1/|ln χ_{1}|. "
              "Bottom: the correlation depth scale ξ_{c}. Ordered phase (q* > 0): ξ_{∇} = ξ_{c}; both → ∞ at χ_{1} = 1.' "
              "at screen 0.5, %.4f center font ',10'", kh * 0.2);
    ck_cmd(p, "set key at screen 0.5, %.4f center center horizontal maxrows 1 Left reverse "
              "samplen 3 spacing 1.3 width 2 noenhanced nobox", kh * 0.80);
    ck_sbuf b = { 0 };
    ck_printf(&b, "NaN with boxes fs pattern 4 lc rgb '#969696' title 'hatched, –: no value (empty in " VP_FILE_RUNS
                  ", or not in the sweep)'");
    if (c->critical)
        ck_printf(&b, ", NaN with lines lw 2.5 lc rgb 'black' title 'χ₁ = 1: order/chaos boundary (" VP_FILE_CRITICAL ")'");
    if (!b.oom) ck_cmd(p, "plot %s", b.s);
    free(b.s);
}

static void phase_body(ck_gp *p, const ck_exper *e, const void *vctx)
{
    const phase_ctx *pc = vctx;
    const grid_ctx *c = &pc->g;
    const char *stem = c->chart->stem;
    double kh = PHASE_KEY;
    grid_frame f = frame_of(c, kh, 2);
    ck_page_title(p, e, ck_page_words(c->chart));
    /* Colour bar tics at 1-3-10 steps, with the network depth marked. */
    ck_sbuf t = { 0 };
    for (double d = 1e-3; d <= pc->hi * 1.0001; d *= 10)
        for (int m = 0; m < 2; m++) {
            double v = m ? 3 * d : d;
            if (v < pc->lo * 0.9999 || v > pc->hi * 1.0001 || fabs(log10(v / pc->depth)) < 0.2) continue;
            ck_printf(&t, "%s'%g' %g", t.len ? ", " : "", v, v);
        }
    ck_printf(&t, "%s'depth %g' %g", t.len ? ", " : "", pc->depth, pc->depth);
    ck_cmd(p, "set style textbox opaque noborder");
    for (int k = 0; k < XI_N; k++) {
        int row = k / 2, col = k % 2;
        /* no value: hatched, so it cannot pass for a palette colour in greyscale */
        grid_panel(p, c, &f, XI_TITLE[k], row, col, "fc rgb '#969696' fs pattern 4");
        /* viridis: lightness rises monotonically, so it reads in greyscale */
        ck_cmd(p, "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')");
        ck_cmd(p, "set logscale cb; set cbrange [%g:%g]", pc->lo, pc->hi);
        if (!t.oom && t.s) ck_cmd(p, "set cbtics (%s)", t.s);
        ck_cmd(p, "set cblabel 'ξ in layers, log scale (clipped to [%g, %g] = 10 × depth; ∞ = top)'", pc->lo, pc->hi);
        if (k == XI_N - 1)
            ck_cmd(p, "set colorbox user origin screen 0.9, screen %.4f size screen 0.018, screen %.4f", f.bottom,
                   0.86 - f.bottom);
        else ck_cmd(p, "unset colorbox");
        ck_cmd(p, "set xrange [%.9g:%.9g]; set yrange [%.9g:%.9g]", pc->xlo, pc->xhi, pc->ylo, pc->yhi);
        ck_sbuf b = { 0 };
        if (pc->col[k] < 0) {
            ck_cmd(p, "set label 1 '%s' at graph 0.5, 0.5 center front boxed noenhanced font ',10'", pc->src[k]);
            ck_printf(&b, "NaN notitle");
        } else {
            ck_printf(&b, "'%s.dat' index %d using 1:2:3:4:5:6:7 with boxxyerror fs solid 1.0 noborder lc palette notitle",
                      stem, k);
        }
        /* The line (sigma_w^2 across, sigma_b^2 up), then a patch of each cell's colour under
         * its number, so the line passes behind the digits instead of through them. */
        if (c->critical && (c->indexed[0] || c->indexed[1])) /* the line in the cells' positions */
            ck_printf(&b, ", '%s.dat' index %d using 1:2 with lines lw 2.5 lc rgb 'black' notitle", stem, XI_N);
        else if (c->critical)
            ck_printf(&b, ", '" VP_FILE_CRITICAL "' using ($1**2):($2**2) with lines lw 2.5 lc rgb 'black' notitle");
        if (pc->col[k] >= 0 && c->critical && c->labels)
            /* inside the cell, which need not be centred on its point (uneven sigma^2 steps) */
            ck_printf(&b, ", '%s.dat' index %d using 1:2:(0.6*($1-$3<$4-$1?$1-$3:$4-$1)):"
                          "(0.34*($2-$5<$6-$2?$2-$5:$6-$2)):7 with boxxyerror fs solid 1.0 noborder lc palette notitle",
                      stem, k);
        if (pc->col[k] >= 0 && c->labels)
            ck_printf(&b, ", '%s.dat' index %d using 1:2:8:9 with labels tc rgb variable font ',9' notitle", stem, k);
        if (!b.oom) ck_cmd(p, "plot %s", b.s);
        if (pc->col[k] < 0) ck_cmd(p, "unset label 1");
        free(b.s);
    }
    free(t.s);
    ck_cmd(p, "unset object 1");
    phase_key(p, c, kh);
}

/* Median over the completed seeds of runs.csv column `col` per variant, as a depth
 * scale: |value|, or 1/|ln value| for chi_1 (from_chi; inf at chi_1 = 1); +inf kept
 * (a flat line or criticality), empty and nan cells left out: NaN = no value. */
static vp_status xi_median(const ck_exper *e, const vp_summary *sum, int col, int from_chi, double *out, vp_err *err)
{
    double *v = malloc((vp_table_nrows(sum->runs) + 1) * sizeof *v);
    if (!v) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    vp_status s = VP_OK;
    for (size_t i = 0; i < e->nvar && !s; i++) {
        const vp_variant_summary *var = vp_summary_find(sum, e->var[i].id);
        size_t n = 0;
        if (col >= 0 && var && !(s = vp_summary_values(sum, var, (size_t)col, v, err)))
            for (size_t j = 0; j < var->nok; j++) {
                double x = from_chi ? (v[j] > 0 ? 1 / fabs(log(v[j])) : NAN) : fabs(v[j]);
                if (!isnan(x)) v[n++] = x;
            }
        out[i] = vp_median(v, n);
    }
    free(v);
    return s;
}

/* 1 when a cell is large enough for its printed depth scale `lab` (font 9: about 6 px a
 * character, 12 px high) in a panel of the frame; small cells of an uneven grid stay bare. */
static int label_fits(const phase_ctx *pc, const grid_frame *f, const double *cell, const char *lab)
{
    double wpx = (cell[3] - cell[2]) / (pc->xhi - pc->xlo) * f->w * 1200;
    double hpx = (cell[5] - cell[4]) / (pc->yhi - pc->ylo) * f->h * 800;
    size_t chars = 0;
    for (const unsigned char *u = (const unsigned char *)lab; *u; u++) chars += (*u & 0xC0) != 0x80;
    return wpx >= 6.0 * (double)chars + 6 && hpx >= 13;
}

/* phase.dat: per panel and cell the depth scale clipped to the colour range, its label
 * and the label colour; counts the cells without a value and the infinite ones. */
static vp_status phase_dat(const ck_exper *e, phase_ctx *pc, double *const xi[XI_N], size_t none[XI_N],
                           size_t inf[XI_N], vp_err *err)
{
    const grid_ctx *c = &pc->g;
    vp_afile af = { 0 };
    vp_status s = ck_dat_open(e, c->chart, &af, err);
    if (s) return s;
    grid_frame f = frame_of(c, PHASE_KEY, 2);
    fprintf(af.fp, "# depth scales xi in layers from %s, median over seeds, over x = sigma_w^2 and y = sigma_b^2 "
                   "(the squares of %s and %s)\n"
                   "# x y xlo xhi ylo yhi colour(xi clipped to [%g, %g], inf = top, '?' = no value) label "
                   "(\"\": too small a cell for it) text_rgb\n",
            VP_FILE_RUNS, VP_SWEEP_SIGMA_W, VP_SWEEP_SIGMA_B, pc->lo, pc->hi);
    double llo = log10(pc->lo), lhi = log10(pc->hi);
    for (int k = 0; k < XI_N; k++) {
        fprintf(af.fp, "%s# index %d: %s\n", k ? "\n\n" : "", k, pc->src[k]);
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
            double cell[6];
            cell_of(e, c, i, cell);
            fprintf(af.fp, "%.9g %.9g %.9g %.9g %.9g %.9g", cell[0], cell[1], cell[2], cell[3], cell[4], cell[5]);
            ck_put_num(af.fp, z);
            fprintf(af.fp, " %s %d\n", label_fits(pc, &f, cell, lab) ? lab : "\"\"", white ? 0xFFFFFF : 0);
        }
    }
    if (c->critical && (c->indexed[0] || c->indexed[1])) put_line_block(af.fp, c, XI_N, 1);
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    return s;
}

/* The notes: sweep points without a value, infinite depth scales, no critical line. */
static void phase_notes(const ck_exper *e, const phase_ctx *pc, const size_t none[XI_N], const size_t inf[XI_N],
                        char *notes, size_t len)
{
    static const char *const what[XI_N] = { "measured ξ_∇", "predicted ξ_∇", "measured ξ_c", "predicted ξ_c" };
    size_t n = 0;
    notes[0] = '\0';
    for (int k = 0; k < XI_N && n < len; k++) {
        if (pc->col[k] < 0) n += (size_t)snprintf(notes + n, len - n, "No %s: %s. ", what[k], pc->src[k]);
        else if (none[k] == e->nvar) n += (size_t)snprintf(notes + n, len - n, "No sweep point has a %s. ", what[k]);
        else if (none[k] && k == XI_GRAD)
            n += (size_t)snprintf(notes + n, len - n, "%zu of %zu sweep points have no measured ξ_∇ "
                                  "(fewer than 3 layers with a finite gradient variance). ", none[k], e->nvar);
        else if (none[k])
            n += (size_t)snprintf(notes + n, len - n, "%zu of %zu sweep points have no %s. ", none[k], e->nvar, what[k]);
    }
    size_t ninf = 0;
    for (int k = 0; k < XI_N; k++) ninf += inf[k];
    if (ninf && n < len)
        n += (size_t)snprintf(notes + n, len - n, "Infinite depth scales (%zu measured ξ_∇, %zu predicted ξ_∇, %zu "
                              "measured ξ_c, %zu predicted ξ_c) are labelled ∞ and drawn at the top of the colour "
                              "range. ", inf[0], inf[1], inf[2], inf[3]);
    if (!pc->g.critical && n < len)
        snprintf(notes + n, len - n, "No " VP_FILE_CRITICAL " in the results folder, so the χ₁ = 1 line is not drawn.");
}

/* Which runs.csv column each panel shows (-1: none, with the reason as its source). */
static void phase_sources(const vp_table *runs, phase_ctx *pc)
{
    pc->col[XI_GRAD] = vp_table_find_col(runs, VP_COL_XI_GRAD);
    snprintf(pc->src[XI_GRAD], sizeof pc->src[XI_GRAD], "%s", vp_col_name(VP_COL_XI_GRAD));
    pc->col[XI_GRAD_TH] = vp_table_find_col(runs, VP_COL_THEORY_XI_GRAD);
    snprintf(pc->src[XI_GRAD_TH], sizeof pc->src[XI_GRAD_TH], "%s", vp_col_name(VP_COL_THEORY_XI_GRAD));
    if (pc->col[XI_GRAD_TH] < 0 && (pc->col[XI_GRAD_TH] = vp_table_find_col(runs, VP_COL_THEORY_CHI1)) >= 0) {
        pc->from_chi = 1;
        snprintf(pc->src[XI_GRAD_TH], sizeof pc->src[XI_GRAD_TH], "1/|ln %s|", vp_col_name(VP_COL_THEORY_CHI1));
    } else if (pc->col[XI_GRAD_TH] < 0) {
        snprintf(pc->src[XI_GRAD_TH], sizeof pc->src[XI_GRAD_TH], "theory off (no %s in " VP_FILE_RUNS ")",
                 vp_col_name(VP_COL_THEORY_CHI1));
    }
    pc->col[XI_C] = vp_table_find_col(runs, VP_COL_XI_C);
    snprintf(pc->src[XI_C], sizeof pc->src[XI_C], pc->col[XI_C] >= 0 ? "%s" : "not measured (no %s in " VP_FILE_RUNS ")",
             vp_col_name(VP_COL_XI_C));
    pc->col[XI_C_TH] = vp_table_find_col(runs, VP_COL_THEORY_XI_C);
    snprintf(pc->src[XI_C_TH], sizeof pc->src[XI_C_TH],
             pc->col[XI_C_TH] >= 0 ? "%s" : "theory off (no %s in " VP_FILE_RUNS ")", vp_col_name(VP_COL_THEORY_XI_C));
}

/* The grid on sigma_w^2 across and sigma_b^2 up: centres (one cell per value where the
 * sigmas are far from evenly spaced: place_cells), tic labels and outer edges. 0 when a
 * sigma is negative (its square would fold the axis). */
static int square_axes(phase_ctx *pc)
{
    grid_ctx *c = &pc->g;
    /* sigma values far from evenly spaced (0.001, 1, 2, 1000) take one cell each; an even
     * sigma grid, uneven in sigma^2 (Schoenholz et al.'s 0.5, 0.75, ..., 3), keeps the
     * positions of its squares */
    place_cells(c);
    for (int a = 0; a < 2; a++) {
        size_t n = a ? c->ny : c->nx;
        double *cc = a ? c->yc : c->xc;
        for (size_t i = 0; i < n; i++) {
            double *v = c->indexed[a] ? &c->at[a][i] : &cc[i];
            if (*v < 0) return 0;
            *v *= *v;
            snprintf(pc->sq[a][i], sizeof pc->sq[a][i], "%.4g", *v);
            pc->sqp[a][i] = pc->sq[a][i];
        }
    }
    outer_edges(c->xc, c->nx, &pc->xlo, &pc->xhi);
    outer_edges(c->yc, c->ny, &pc->ylo, &pc->yhi);
    c->xt = pc->sqp[0];
    c->yt = pc->sqp[1];
    snprintf(c->xlabel, sizeof c->xlabel, "'σ_{w}^{2}'");
    snprintf(c->ylabel, sizeof c->ylabel, "'σ_{b}^{2}'");
    return 1;
}

vp_status ck_draw_phase(ck_exper *e, const ck_chart *ch, vp_err *err)
{
    const vp_table *runs = e->tab[VP_CSV_RUNS];
    if (e->nsweep != 2 || vp_table_find_col(runs, VP_COL_XI_GRAD) < 0) return VP_OK;
    phase_ctx *pc = calloc(1, sizeof *pc);
    double *xi[XI_N] = { NULL };
    const vp_summary *sum;
    vp_status s = VP_OK;
    int phase = 0;
    for (int k = 0; k < XI_N; k++) xi[k] = calloc(e->nvar + 1, sizeof(double));
    if (!pc || !xi[0] || !xi[1] || !xi[2] || !xi[3]) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    grid_ctx *c = &pc->g;
    c->chart = ch;
    /* Only a numeric sigma_w x sigma_b grid: depth scales over categories say nothing. */
    if (!sweep_grid(e, c, &phase) || !phase || !c->number[0] || !c->number[1] || !square_axes(pc)) goto end;
    phase_sources(runs, pc);
    if ((s = ck_summary(e, &sum, err))) goto end;
    for (int k = 0; k < XI_N && !s; k++) s = xi_median(e, sum, pc->col[k], k == XI_GRAD_TH && pc->from_chi, xi[k], err);
    if (s) goto end;
    /* the deepest network (depth may be swept) */
    pc->depth = fmax(fmax(ck_cfg_num(e->cfg, "network", "depth"), (double)e->nlayer), 1.0);
    pc->lo = 0.3;
    pc->hi = 10 * pc->depth;
    size_t none[XI_N] = { 0 }, inf[XI_N] = { 0 };
    if ((s = copy_critical(e, c, phase, err)) || (s = phase_dat(e, pc, xi, none, inf, err)) ||
        (s = ck_render(e, ch, phase_body, pc, err)))
        goto end;
    char notes[800], caption[1300];
    phase_notes(e, pc, none, inf, notes, sizeof notes);
    snprintf(caption, sizeof caption,
             "Phase diagram of the depth scales (in layers) over σ_w² (across) and σ_b² (up), as Poole et al. 2016: "
             "top, the measured gradient depth scale ξ_∇ (1/|slope| of ln Var[∂L/∂z^l] against l, median over "
             "seeds) beside its mean-field prediction 1/|ln χ₁|; bottom, the measured correlation depth scale ξ_c "
             "beside the mean-field ξ_c = −1/ln χ_c. One sequential log colour scale clipped to [%g, %g] (10 × "
             "depth): dark = signals die within a few layers, bright = they cross the network. Both diverge on the "
             "χ₁ = 1 line (Schoenholz et al. 2017); in the ordered phase ξ_∇ = ξ_c. The measured ξ_c is the rate "
             "of an exponential approach to the theory's c*: it can match the prediction in the ordered phase, but "
             "in the chaotic phase only from an input correlation c⁰ near c* (input.correlation); at σ_b = 0 with "
             "q* = 0 a tanh-like φ has no c* (measured cells empty, the theory ∞: cˡ settles near c⁰; "
             "docs/theory.md).",
             pc->lo, pc->hi);
    s = ck_add_chart(e, ch, caption, notes, err);
end:
    if (pc) free(pc->g.line);
    free(pc);
    for (int k = 0; k < XI_N; k++) free(xi[k]);
    return s;
}
