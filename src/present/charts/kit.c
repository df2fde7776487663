/* kit: see kit.h -- text, page layout, legends and the chart files. */
#include "present/charts/kit.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- text and numbers ---- */

void ck_printf(ck_sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) { b->oom = 1; return; }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ck_reset(ck_sbuf *b) { b->len = 0; if (b->s) b->s[0] = '\0'; }

void ck_clean(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7F) *s = ' ';
}

void ck_clean_copy(char *out, size_t len, const char *s)
{
    snprintf(out, len, "%s", s);
    ck_clean(out);
}

void ck_put_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, " %.9g", v);
    else fputs(" ?", f);
}

void ck_put_escaped(FILE *f, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '\\') fputs("\\\\", f);
        else if (*c == '\n') fputs("\\n", f);
        else if (*c == '\r') fputs("\\r", f);
        else if (*c == '\t') fputs("\\t", f);
        else if (*c < 0x20 || *c == 0x7F) fprintf(f, "\\x%02X", *c);
        else fputc(*c, f);
    }
}

int ck_partial_seeds(const ck_exper *e) { return e->seeds_lo < e->nseeds; }

size_t ck_pick(size_t j, size_t k, size_t n)
{
    return k <= 1 ? 0 : (size_t)((double)j * (double)(n - 1) / (double)(k - 1) + 0.5);
}

double ck_nice_step(double range)
{
    double raw = range / 4, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* ---- styles and page layout ---- */

/* Okabe-Ito colours (colour-blind safe) and point types that differ in shape
 * and fill, so curves stay apart in greyscale. */
static const char *const COLOURS[] = { "#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                       "#E69F00", "#56B4E9", "#000000", "#8C6D31" };
static const int POINTS[] = { 7, 5, 9, 11, 13, 4, 6, 8 };
#define NCOL (sizeof COLOURS / sizeof COLOURS[0])

int ck_lt(int style) { return style % MAX_LT + 1; }

static void define_styles(vp_plot *p, const ck_exper *e)
{
    size_t n = e->nstyle < MAX_LT ? e->nstyle : MAX_LT;
    for (size_t i = 0; i < n; i++)
        vp_plot_cmd(p, "set linetype %zu lc rgb '%s' lw 2 pt %d ps 1.1 dt solid", i + 1,
                    COLOURS[i % NCOL], POINTS[(i + i / NCOL) % NCOL]);
}

void ck_margins(vp_plot *p, ck_box b)
{
    vp_plot_cmd(p, "set lmargin at screen %.4f; set rmargin at screen %.4f; "
                   "set bmargin at screen %.4f; set tmargin at screen %.4f",
                b.l, b.r, b.b, b.t);
}

int ck_grid(size_t n, double bottom, double top, ck_box *out)
{
    int cols = n <= 3 ? (int)n : n == 4 ? 2 : n <= 9 ? 3 : 4;
    int rows = (int)((n + (size_t)cols - 1) / (size_t)cols);
    double cw = (0.99 - 0.01) / cols, ch = (top - bottom) / rows;
    for (size_t i = 0; i < n; i++) {
        int r = (int)i / cols, c = (int)i % cols;
        double x0 = 0.01 + c * cw, y1 = top - r * ch;
        out[i] = (ck_box){ x0 + 0.075, x0 + cw - 0.02, y1 - ch + 0.075, y1 - 0.045 };
    }
    return cols;
}

void ck_page_title(vp_plot *p, const ck_exper *e, const char *what)
{
    char t[700], q1[QLEN], q2[QLEN];
    snprintf(t, sizeof t, "%s: %s", e->name, what);
    vp_plot_cmd(p, "set multiplot title %s.\"\\n\".%s font ',13' noenhanced",
                vp_plot_quote(q1, sizeof q1, t), vp_plot_quote(q2, sizeof q2, e->subtitle));
}

void ck_panel_head(vp_plot *p, ck_box b, const char *title, const char *axes, const char *xlabel,
                   const char *ylabel)
{
    char q[QLEN];
    ck_margins(p, b);
    vp_plot_cmd(p, "set title %s noenhanced", vp_plot_quote(q, sizeof q, title));
    vp_plot_cmd(p, "unset key; %s", axes);
    vp_plot_cmd(p, "set grid xtics ytics lt 1 lc rgb '#e0e0e0' lw 1");
    vp_plot_cmd(p, "set xlabel '%s'", xlabel);
    if (ylabel) vp_plot_cmd(p, "set ylabel '%s'", ylabel);
    else vp_plot_cmd(p, "unset ylabel");
}

void ck_empty_panel(vp_plot *p, const char *ranges, const char *message, const char *reset)
{
    vp_plot_cmd(p, "%s", ranges);
    vp_plot_cmd(p, "set label 1 '%s' at graph 0.5, 0.5 center", message);
    vp_plot_cmd(p, "plot NaN notitle");
    vp_plot_cmd(p, "unset label 1; %s", reset);
}

const char *ck_page_words(const ck_chart *c) { return c->page ? c->page : c->title; }

int ck_key_cols(size_t maxlen) { return maxlen <= 26 ? 4 : maxlen <= 40 ? 3 : maxlen <= 64 ? 2 : 1; }

double ck_key_height(size_t n, int cols)
{
    size_t rows = (n + (size_t)cols - 1) / (size_t)cols;
    return 0.02 + 0.032 * (double)rows;
}

void ck_key_strip(vp_plot *p, const char *elems, double height, int cols)
{
    ck_margins(p, (ck_box){ 0.01, 0.99, 0.005, height });
    vp_plot_cmd(p, "unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; "
                   "unset logscale; unset label; unset arrow; unset colorbox");
    vp_plot_cmd(p, "set xrange [0:1]; set yrange [0:1]");
    vp_plot_cmd(p, "set key at screen 0.5, %.4f center center horizontal maxcols %d Left reverse "
                   "samplen 3 spacing 1.3 width 2 noenhanced nobox",
                height / 2 + 0.003, cols);
    vp_plot_cmd(p, "plot %s", elems);
}

size_t ck_panel_curves(const ck_exper *e, int panel, const int *has, size_t *out, size_t *total)
{
    size_t all[4096], n = 0, k;
    for (size_t i = 0; i < e->nvar && n < 4096; i++)
        if (e->var[i].panel == panel && (!has || has[i])) all[n++] = i;
    *total = n;
    k = n < MAX_CURVES ? n : MAX_CURVES;
    for (size_t j = 0; j < k; j++) out[j] = all[ck_pick(j, k, n)];
    return k;
}

void ck_note_subsets(const ck_exper *e, const int *has, char *notes, size_t len)
{
    size_t n = strlen(notes), curves[MAX_CURVES], total;
    if (e->nact > MAX_PANELS)
        n += (size_t)snprintf(notes + n, len > n ? len - n : 0,
                              "Only the first %d of %zu activations have a panel. ", MAX_PANELS, e->nact);
    for (size_t a = 0; a < e->nact && a < MAX_PANELS; a++) {
        size_t k = ck_panel_curves(e, (int)a, has, curves, &total);
        if (k < total && n < len)
            n += (size_t)snprintf(notes + n, len - n, "Panel %s shows %zu evenly spaced of %zu variants. ",
                                  e->act[a], k, total);
    }
}

size_t ck_style_key(const ck_exper *e, const int *has, ck_sbuf *b, size_t *maxlen, const char *kind)
{
    int used[MAX_LT] = { 0 };
    size_t curves[MAX_CURVES], total, n = 0;
    char q[QLEN];
    for (size_t a = 0; a < e->nact && a < MAX_PANELS; a++) {
        size_t k = ck_panel_curves(e, (int)a, has, curves, &total);
        for (size_t j = 0; j < k; j++) {
            int st = e->var[curves[j]].style;
            if (used[st % MAX_LT] || n >= MAX_KEY) continue;
            used[st % MAX_LT] = 1;
            ck_printf(b, "%sNaN with %s lt %d title %s", n ? ", " : "", kind, ck_lt(st),
                      vp_plot_quote(q, sizeof q, e->style[st]));
            size_t l = strlen(e->style[st]);
            if (l > *maxlen) *maxlen = l;
            n++;
        }
    }
    return n;
}

/* ---- data files and rendering ---- */

vp_status ck_dat_open(const ck_exper *e, const ck_chart *c, vp_afile *af, vp_err *err)
{
    char path[4096], file[128];
    snprintf(file, sizeof file, "%s.dat", c->stem);
    vp_status s = vp_path_join(path, sizeof path, e->plots_dir, file, err);
    if (s) return s;
    if ((s = vp_afile_open(af, path, err))) return s;
    char nm[300];
    ck_clean_copy(nm, sizeof nm, e->name);
    fprintf(af->fp, "# varprop chart data for %s.gp, experiment '%s' (from ", c->stem, nm);
    ck_put_escaped(af->fp, e->results_dir); /* one line, whatever the path holds */
    fputs(")\n", af->fp);
    return VP_OK;
}

static const char *const TERMINALS[2] = {
    "pngcairo size 1200,800 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'",
    "svg size 1200,800 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'",
};
static const char *const EXTS[2] = { "png", "svg" };

vp_status ck_render(ck_exper *e, const ck_chart *c, ck_body_fn body, const void *ctx, vp_err *err)
{
    vp_plot *p;
    char script[96], out[96];
    snprintf(script, sizeof script, "%s.gp", c->stem);
    vp_status s = vp_plot_open(&p, e->plots_dir, script, err);
    if (s) return s;
    vp_plot_set_stop(p, e->stop);
    vp_plot_comment(p, "varprop chart '%s' of experiment '%s', drawn from %s (tidy copy: %s.dat)",
                    c->stem, e->name, vp_csv_layout_get(c->source)->file, c->stem);
    vp_plot_comment(p, "Redraw by hand: cd into this folder, then: gnuplot %s", script);
    vp_plot_cmd(p, "set encoding utf8");
    define_styles(p, e);
    for (int t = 0; t < 2; t++) {
        vp_plot_cmd(p, "set terminal %s", TERMINALS[t]);
        snprintf(out, sizeof out, "%s.%s", c->stem, EXTS[t]);
        vp_plot_output(p, out);
        vp_plot_cmd(p, "reset");
        vp_plot_cmd(p, "set datafile missing '?'");
        body(p, e, ctx);
        vp_plot_cmd(p, "unset multiplot");
    }
    s = vp_plot_close(p, err);
    if (s) vp_err_prefix(err, "chart %s", c->stem);
    return s;
}

vp_status ck_add_chart(ck_exper *e, const ck_chart *c, const char *caption, const char *notes, vp_err *err)
{
    vp_report_chart *r = realloc(e->charts, (e->ncharts + 1) * sizeof *r);
    if (!r) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    e->charts = r;
    r = &e->charts[e->ncharts++];
    memset(r, 0, sizeof *r);
    snprintf(r->stem, sizeof r->stem, "%s", c->stem);
    snprintf(r->title, sizeof r->title, "%s", c->title);
    snprintf(r->caption, sizeof r->caption, "%s", caption ? caption : c->caption);
    snprintf(r->notes, sizeof r->notes, "%s", notes);
    return VP_OK;
}
