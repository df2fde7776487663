/* kit: see kit.h -- text, page layout, legends and the chart files. */
#include "present/charts/kit.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

size_t ck_text_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t k = 0; k < n; k++) c += ((unsigned char)s[k] & 0xC0) != 0x80;
    return c;
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

/* Multiples of step in [lo, hi], with a little slack for rounding at the ends. */
static double tics_within(double lo, double hi, double step)
{
    return floor(hi / step + 1e-9) - ceil(lo / step - 1e-9) + 1;
}

double ck_tic_step(double lo, double hi)
{
    double step = ck_nice_step(hi - lo);
    if (!(step > 0) || !isfinite(step) || tics_within(lo, hi, step) >= 3) return step;
    /* ck_nice_step rounds up, to as few as 1.6 steps over the range, and the multiples
     * of the step that land inside can then be 1 (the histograms' [-4.8, 4.8] got
     * step 5: only 0). The next smaller round value (5 -> 2 -> 1) divides the step
     * by at most 2.5, so at least 3.2 steps span the range: at least 3 tics. */
    double mag = pow(10, floor(log10(step) + 1e-9)), m = round(step / mag);
    return m >= 5 ? 2 * mag : m >= 2 ? mag : mag / 2;
}

/* The page in pixels (TERMINALS): titles are measured against its width, tic labels
 * against a panel's size on it. */
#define PAGE_W 1200.0
#define PAGE_H 800.0

/* ---- tics that a reader can read ---- */

/* A panel's labelled tics: at least 3 where they fit, apart by a line of text on a y axis
 * and by the widest label and a gap on an x axis (gnuplot's own choice looks at the range
 * only: 11 labels 14 px apart on train_hist's short panels, 2 on a training step axis or
 * on a log axis spanning 1 to 2 decades). */
#define TIC_GAP_Y 26.0  /* px between y labels: a line of 11 pt text (superscripts included) and half a line */
#define TIC_GAP_X 12.0  /* px between the ends of two x labels */
#define TIC_LEAST_Y 18.0 /* ... at least, for 3 labels on a short panel: an 11 pt line (~14 px) and a little */
#define TIC_LEAST_X 6.0
#define MAX_TICS 24
#define LOG_AXIS_TOP 8e307 /* the top of a log axis gnuplot 5.4 still draws (9e307: "range undefined or overflow") */

typedef struct {
    double v[MAX_TICS];
    int n;
} tic_list;

/* The width in pixels of the label "%g" of v (a linear axis's labels). */
static double label_px(double v)
{
    char s[64];
    snprintf(s, sizeof s, "%g", fabs(v) < 1e-12 ? 0.0 : v);
    return vp_plot_text_px(s, 11);
}

/* The smallest distance in pixels between two neighbouring labels of t, on an axis
 * [lo, hi] of px pixels (log: logarithmic): the room between their centres less, on an
 * x axis, half of each label's width; huge for fewer than two labels. */
static double tic_room(const tic_list *t, double lo, double hi, double px, char axis, int log)
{
    double room = INFINITY;
    for (int k = 1; k < t->n; k++) {
        double d = log ? log10(t->v[k] / t->v[k - 1]) / log10(hi / lo) : (t->v[k] - t->v[k - 1]) / (hi - lo);
        d *= px;
        if (axis == 'x') d -= (label_px(t->v[k]) + label_px(t->v[k - 1])) / 2;
        room = fmin(room, d);
    }
    return room;
}

/* Of the candidate tic lists c[0..n), in order of preference, the first with at least 5
 * labels that stay well apart, else 4, else 3; else the first with 3 that stay apart at
 * all (a short panel: 0, 2, .., 8 in 120 px rather than 0 and 5); else the one with the
 * most labels that do, else the one with the most room. */
static int pick_tics(const tic_list *c, int n, double lo, double hi, double px, char axis, int log)
{
    double gap = axis == 'x' ? TIC_GAP_X : TIC_GAP_Y, least = axis == 'x' ? TIC_LEAST_X : TIC_LEAST_Y, room[8];
    for (int k = 0; k < n && k < 8; k++) room[k] = tic_room(&c[k], lo, hi, px, axis, log);
    for (int want = 5; want >= 3; want--)
        for (int k = 0; k < n && k < 8; k++)
            if (c[k].n >= want && room[k] >= gap) return k;
    int fit = -1, most = 0;
    for (int k = 0; k < n && k < 8; k++)
        if (c[k].n >= 3 && room[k] >= least) return k;
    for (int k = 0; k < n && k < 8; k++) {
        if (room[k] >= least && (fit < 0 || c[k].n > c[fit].n)) fit = k;
        if (room[k] > room[most]) most = k;
    }
    return fit >= 0 ? fit : most;
}

/* The multiples of step within [lo, hi] (with slack for rounding at the ends). */
static void step_tics(tic_list *t, double lo, double hi, double step)
{
    t->n = 0;
    for (double k = ceil(lo / step - 1e-9); k * step <= hi * (1 + 1e-12) + step * 1e-9 && t->n < MAX_TICS; k++)
        t->v[t->n++] = fabs(k) < 0.5 ? 0 : k * step;
}

static double axis_px(ck_box b, char axis) { return axis == 'x' ? (b.r - b.l) * PAGE_W : (b.t - b.b) * PAGE_H; }

double ck_fit_step(double lo, double hi, ck_box b, char axis)
{
    if (!(hi > lo) || !isfinite(hi - lo)) return 1;
    /* round steps from one that labels at most 2 values down to a tenth of ck_tic_step's */
    tic_list c[8];
    double steps[8], top = ck_tic_step(lo, hi) * 10;
    if (!(top > 0) || !isfinite(top)) return 1;
    double mag = pow(10, floor(log10(top) + 1e-9)), m = round(top / mag);
    int n = 0;
    for (; n < 8; n++) {
        steps[n] = m * mag;
        step_tics(&c[n], lo, hi, steps[n]);
        m = m >= 5 ? 2 : m >= 2 ? 1 : (mag /= 10, 5);
    }
    return steps[pick_tics(c, n, lo, hi, axis_px(b, axis), axis, 0)];
}

/* The values m * 10^k within [lo, hi] for the mantissas m[0..nm) (ascending in [1, 10)). */
static void mantissa_tics(tic_list *t, double lo, double hi, const double *m, int nm)
{
    t->n = 0;
    for (double dec = pow(10, floor(log10(lo))); dec <= hi && t->n < MAX_TICS; dec *= 10)
        for (int j = 0; j < nm && t->n < MAX_TICS; j++) {
            double v = m[j] * dec;
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t->v[t->n++] = v;
        }
}

/* A log axis's label of v: "%g" when `plain` (every label of the axis lies in [0.001,
 * 10^4)), else m·10^{k} in enhanced text ("10^{k}" for m = 1). */
static void log_label(char *out, size_t len, double v, int plain)
{
    int k = (int)floor(log10(v) + 1e-9);
    double m = v / pow(10, k);
    if (plain) snprintf(out, len, "%.6g", v);
    else if (fabs(m - 1) < 1e-6) snprintf(out, len, "10^{%d}", k);
    else snprintf(out, len, "%.6g·10^{%d}", m, k);
}

void ck_log_yrange(ck_gp *p, double lo, double hi, double f, ck_box b, int powers)
{
    /* the padding factor from logarithms: at most e^(0.05 * 1500), hi/lo itself may overflow;
     * at least 1 + 1e-4: values that agree to 1e-15 (an orthogonal linear net keeps its
     * unit_sq_mean to the last bits) were padded by 1 + 1e-17, the range printed the same
     * number at both ends and gnuplot refused it ("Can't plot with an empty y range!") */
    double pad = f > 0 ? f : hi > lo ? fmax(exp(0.05 * (log(hi) - log(lo))), 1 + 1e-4) : 2.0;
    /* The padding stops at 1e-300 and 1e300, or a factor 2 beyond the data where they reach
     * past those: a float64 run fed inputs of std 1e150 has every Var[z^l] near 2e300, and
     * capping the top at 1e300 gave the inverted range [2.1e300:1e300], an empty chart. The
     * top stays below 8e307, where gnuplot's log axis still works (at 9e307 it gives up: "y
     * axis range undefined or overflow"); a value above it (within a factor 2 of
     * overflowing) is not drawn. */
    double a = fmax(lo / pad, fmin(lo / 2, 1e-300)), z = fmin(fmin(hi * pad, fmax(hi * 2, 1e300)), LOG_AXIS_TOP);
    if (!(a < z)) a = z / 10;
    if (!(a > 0)) a = lo; /* lo = hi = the smallest subnormal: lo / 2 rounds to 0 */
    if (!(a < z)) z = 4 * a;
    ck_cmd(p, "set yrange [%.6g:%.6g]", a, z);
    ck_log_tics(p, 'y', a, z, b, powers);
}

void ck_log_tics(ck_gp *p, char axis, double lo, double hi, ck_box b, int powers)
{
    ck_sbuf t = { 0 };
    char lab[64];
    double px = axis_px(b, axis), decades = log10(hi) - log10(lo); /* hi / lo may overflow */
    if (!(lo > 0) || !(hi > lo) || !isfinite(decades)) {
        ck_cmd(p, "set %ctics autofreq", axis);
        return;
    }
    int k0 = (int)ceil(log10(lo) - 1e-9), k1 = (int)floor(log10(hi) + 1e-9);
    if (k1 - k0 + 1 >= 3) {
        /* powers of 10 every s decades (1, 2, 5, 10, 20, ...): at most 10 labels, apart by
         * a line; unlabelled tics at the decades between (s <= 5), or at 2..9 times each
         * decade when s = 1 and a decade has room for them */
        int s = 1;
        for (int mult = 1; s < 1000000 && (decades / s > 9 || px * s / decades < TIC_GAP_Y); mult *= 10)
            s = decades / (2 * mult) <= 9 && px * 2 * mult / decades >= TIC_GAP_Y   ? 2 * mult
                : decades / (5 * mult) <= 9 && px * 5 * mult / decades >= TIC_GAP_Y ? 5 * mult
                                                                                     : 10 * mult;
        int plain = !powers && k0 >= -3 && k1 <= 3, first = (int)ceil((double)k0 / s) * s;
        for (int k = first; k <= k1; k += s) {
            log_label(lab, sizeof lab, pow(10, k), plain);
            ck_printf(&t, "%s'%s' 1e%d", k == first ? "" : ", ", lab, k);
        }
        if (s > 1 && s <= 5)
            for (int k = k0; k <= k1; k++)
                if (k % s) ck_printf(&t, ", '' 1e%d 1", k);
        if (s == 1 && px / decades >= 40)
            for (int k = k0 - 1; k <= k1; k++)
                for (int m = 2; m <= 9; m++)
                    if (m * pow(10, k) >= lo && m * pow(10, k) <= hi) ck_printf(&t, ", '' %de%d 1", m, k);
    } else {
        /* fewer than 3 powers of 10: the 1-2-5 values of each decade, 1-3 where those
         * crowd, 1-2-3-5 or finer ones on a shorter axis, else evenly stepped ones (a loss
         * from 2.1 to 2.3) */
        static const double M125[] = { 1, 2, 5 }, M13[] = { 1, 3 }, M1235[] = { 1, 2, 3, 5 },
                            MFINE[] = { 1, 1.5, 2, 3, 4, 5, 6, 8 };
        tic_list c[5];
        mantissa_tics(&c[0], lo, hi, M125, 3);
        mantissa_tics(&c[1], lo, hi, M13, 2);
        mantissa_tics(&c[2], lo, hi, M1235, 4);
        mantissa_tics(&c[3], lo, hi, MFINE, 8);
        step_tics(&c[4], lo, hi, ck_tic_step(lo, hi));
        int k = pick_tics(c, 5, lo, hi, px, axis, 1), plain = 1;
        for (int j = 0; j < c[k].n; j++) plain &= c[k].v[j] >= 1e-3 * (1 - 1e-9) && c[k].v[j] < 1e4;
        for (int j = 0; j < c[k].n; j++) {
            if (!(c[k].v[j] > 0)) continue;
            log_label(lab, sizeof lab, c[k].v[j], plain);
            ck_printf(&t, "%s'%s' %.9g", t.len ? ", " : "", lab, c[k].v[j]);
        }
    }
    if (!t.oom && t.s) ck_cmd(p, "set %ctics (%s)", axis, t.s);
    else ck_cmd(p, "set %ctics autofreq", axis);
    free(t.s);
}

/* ---- styles and page layout ---- */

/* Okabe-Ito colours (colour-blind safe) and point types that differ in shape
 * and fill, so curves stay apart in greyscale. */
static const char *const COLOURS[] = { "#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                       "#E69F00", "#56B4E9", "#000000", "#8C6D31" };
static const int POINTS[] = { 7, 5, 9, 11, 13, 4, 6, 8 };
#define NCOL (sizeof COLOURS / sizeof COLOURS[0])

int ck_lt(int style) { return style % MAX_LT + 1; }

/* The colour of style i of n: Okabe-Ito up to 8 styles; beyond, n hues evenly round the
 * colour wheel, neighbours apart in lightness too, so no two styles share a colour. */
static void style_colour(size_t i, size_t n, char out[8])
{
    if (n <= NCOL) { snprintf(out, 8, "%s", COLOURS[i]); return; }
    static const double LIGHT[3] = { 0.55, 0.85, 0.70 };
    double h = 6.0 * (double)i / (double)n, sat = 0.8, v = LIGHT[i % 3], f = h - floor(h);
    double pp = v * (1 - sat), q = v * (1 - sat * f), t = v * (1 - sat * (1 - f)), r, g, b;
    switch ((int)h % 6) {
    case 0: r = v, g = t, b = pp; break;
    case 1: r = q, g = v, b = pp; break;
    case 2: r = pp, g = v, b = t; break;
    case 3: r = pp, g = q, b = v; break;
    case 4: r = t, g = pp, b = v; break;
    default: r = v, g = pp, b = q; break;
    }
    snprintf(out, 8, "#%02X%02X%02X", (unsigned)lround(r * 255), (unsigned)lround(g * 255), (unsigned)lround(b * 255));
}

static void define_styles(ck_gp *p, const ck_exper *e)
{
    size_t n = e->nstyle < MAX_LT ? e->nstyle : MAX_LT;
    char rgb[8];
    for (size_t i = 0; i < n; i++) {
        style_colour(i, e->nstyle, rgb);
        ck_cmd(p, "set linetype %zu lc rgb '%s' lw 2 pt %d ps 1.1 dt solid", i + 1, rgb, POINTS[(i + i / NCOL) % NCOL]);
    }
    /* Colour mode: one linetype for every curve, its colour from the palette (ck_lc). The
       point type lives here, not in the plot clause: gnuplot rejects `pt`/`ps` on a
       `with lines` or `filledcurves` element with a warning that echoes the whole plot
       command (with 200 curves, megabytes on stderr and seconds of system time). */
    if (e->colour_key >= 0) ck_cmd(p, "set linetype %d lw 2 pt 7 ps 0.8 dt solid", COLOUR_LT);
}

/* "lt N" of a style, with its colour inline beyond the MAX_LT defined linetypes. */
static const char *style_lc(const ck_exper *e, int st, char *buf, size_t len)
{
    char rgb[8];
    if (st < MAX_LT) snprintf(buf, len, "lt %d", ck_lt(st));
    else {
        style_colour((size_t)st, e->nstyle, rgb);
        snprintf(buf, len, "lt %d lc rgb '%s'", ck_lt(st), rgb);
    }
    return buf;
}

const char *ck_lc(const ck_exper *e, size_t vi, char *buf, size_t len)
{
    if (e->colour_key >= 0) snprintf(buf, len, "lt %d lc palette cb %d", COLOUR_LT, e->var[vi].rank);
    else style_lc(e, e->var[vi].style, buf, len);
    return buf;
}

void ck_colour_scale(ck_gp *p, const ck_exper *e)
{
    char q[QLEN];
    /* viridis without its palest end, which vanishes on white */
    ck_cmd(p, "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#bddf26')");
    if (e->ncolour > 1) ck_cmd(p, "set cbrange [0:%zu]", e->ncolour - 1);
    else ck_cmd(p, "set cbrange [-0.5:0.5]");
    ck_sbuf b = { 0 };
    /* Tics at every step-th value from the first, as many as fit: the bar (0.55 of the
     * page) holds ~90 characters of its font, and each label needs its length + 2. */
    size_t maxlen = 1;
    for (size_t r = 0; r < e->ncolour; r++)
        if (strlen(e->colour_vals[r]) > maxlen) maxlen = strlen(e->colour_vals[r]);
    size_t fit = 90 / (maxlen + 2) + 1, step = 1;
    if (fit < 2) fit = 2;
    /* the least step whose floor((n - 1) / step) + 1 labels fit */
    if (e->ncolour > fit) step = (e->ncolour - 1) / fit + 1;
    for (size_t r = 0; r < e->ncolour; r += step)
        ck_printf(&b, "%s%s %zu", r ? ", " : "", vp_plot_quote(q, sizeof q, e->colour_vals[r]), r);
    if (!b.oom && b.s) ck_cmd(p, "set cbtics (%s) noenhanced font ',9'", b.s);
    free(b.s);
}

/* rows of nkey entries, cols to a row (at least one row) */
static int key_rows(size_t nkey, int cols) { return nkey > (size_t)cols ? (int)((nkey + (size_t)cols - 1) / (size_t)cols) : 1; }

double ck_colour_bar_height(size_t nkey, int cols) { return 0.105 + 0.032 * (key_rows(nkey, cols) - 1); }

void ck_colour_bar(ck_gp *p, const ck_exper *e, const char *elems, size_t nkey, int cols)
{
    char q[QLEN];
    int extra = key_rows(nkey, cols) - 1; /* rows of entries beyond the first */
    double height = ck_colour_bar_height(nkey, cols);
    ck_margins(p, (ck_box){ 0.01, 0.99, 0.005, height });
    ck_cmd(p, "unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; "
              "unset logscale; unset label; unset arrow");
    ck_cmd(p, "set xrange [0:1]; set yrange [0:1]");
    ck_colour_scale(p, e);
    double y = height - 0.058 - 0.032 * extra; /* the bar, its value tics under it, its key on its left */
    ck_cmd(p, "set colorbox horizontal user origin screen 0.3, screen %.4f size screen 0.55, screen 0.022 border", y);
    ck_cmd(p, "set label 1 %s at screen 0.29, screen %.4f right noenhanced", vp_plot_quote(q, sizeof q, e->sweep[e->colour_key]),
           y + 0.011);
    ck_cmd(p, "set key at screen 0.5, %.4f center center horizontal maxcols %d Left reverse samplen 5 spacing 1.3 "
              "width 2 noenhanced nobox", height - 0.013 - 0.016 * extra, cols); /* samplen 5: two dashes of the theory's line */
    ck_cmd(p, "plot NaN with lines lc palette cb 0 notitle%s%s", elems && *elems ? ", " : "", elems ? elems : "");
}

void ck_margins(ck_gp *p, ck_box b)
{
    ck_cmd(p, "set lmargin at screen %.4f; set rmargin at screen %.4f; "
                   "set bmargin at screen %.4f; set tmargin at screen %.4f",
                b.l, b.r, b.b, b.t);
}

int ck_grid(size_t n, double bottom, double top, ck_box *out)
{
    int cols = n <= 3 ? (int)n : n == 4 ? 2 : n <= 9 ? 3 : 4;
    ck_grid_cols(n, cols, bottom, top, out);
    return cols;
}

void ck_grid_cols(size_t n, int cols, double bottom, double top, ck_box *out)
{
    int rows = (int)((n + (size_t)cols - 1) / (size_t)cols);
    double cw = (0.99 - 0.01) / cols, ch = (top - bottom) / rows;
    for (size_t i = 0; i < n; i++) {
        int r = (int)i / cols, c = (int)i % cols;
        double x0 = 0.01 + c * cw, y1 = top - r * ch;
        out[i] = (ck_box){ x0 + 0.075, x0 + cw - 0.02, y1 - ch + 0.075, y1 - 0.045 };
    }
}

/* The page title's first part, "<name>: <what>", in at most max_lines lines of `width`
 * characters into q (len bytes): broken after the name when name and words each fit a
 * line, else wherever the spaces fall. Returns the lines it needs. */
static size_t title_lines(char *q, size_t len, const ck_exper *e, const char *what, size_t width, size_t max_lines)
{
    char full[700], name[300], q2[3 * QLEN];
    snprintf(full, sizeof full, "%s: %s", e->name, what);
    snprintf(name, sizeof name, "%s:", e->name);
    size_t n = vp_plot_quote_wrapped(q, len, full, width, max_lines);
    if (n < 2 || max_lines < 2 || vp_plot_quote_wrapped(q2, sizeof q2, what, width, 1) > 1 ||
        vp_plot_quote_wrapped(q, len, name, width, 1) > 1 || strlen(q) + strlen(q2) + 8 >= len)
        return vp_plot_quote_wrapped(q, len, full, width, max_lines);
    strcat(q, ".\"\\n\".");
    strcat(q, q2);
    return 2;
}

void ck_page_title_with(ck_gp *p, const ck_exper *e, const char *what, const char *suffix, size_t suffix_chars)
{
    char q1[3 * QLEN], q2[3 * QLEN];
    const char *sub = p->subtitle ? p->subtitle : e->subtitle;
    int pt = 13;
    size_t w = vp_plot_chars_in(PAGE_W - 20, pt), room = w > suffix_chars + 20 ? w - suffix_chars : 20;
    size_t nt = title_lines(q1, sizeof q1, e, what, room, 2), ns = vp_plot_quote_wrapped(q2, sizeof q2, sub, w, 1);
    if (nt + ns > 2) { /* a smaller font, and a third line */
        pt = 11;
        w = vp_plot_chars_in(PAGE_W - 20, pt);
        room = w > suffix_chars + 20 ? w - suffix_chars : 20;
        nt = title_lines(q1, sizeof q1, e, what, room, 2);
        vp_plot_quote_wrapped(q2, sizeof q2, sub, w, nt > 1 ? 1 : 2);
    }
    ck_cmd(p, "set multiplot title %s%s.\"\\n\".%s font ',%d' noenhanced", q1, suffix ? suffix : "", q2, pt);
}

void ck_page_title(ck_gp *p, const ck_exper *e, const char *what) { ck_page_title_with(p, e, what, NULL, 0); }

/* Whether a panel title is wider than it may be: centred on its panel, reaching beyond
 * each side at most 0.035 of the page (half the gap to the next panel), less at the
 * page's edge (a last column's title ran off it), measured at 11 pt as every title is
 * (vp_plot_text_px: 'tanh / orthogonal(gain=auto) — h¹', 33 characters, is 254 px wide). */
static int title_too_wide(const char *title, ck_box b)
{
    double room = fmin(0.035, fmin(b.l, 1 - b.r) - 0.005);
    return vp_plot_text_px(title, 11) > (b.r - b.l + 2 * room) * PAGE_W;
}

void ck_titles_alike(ck_gp *p, const char *const *titles, const ck_box *boxes, size_t n)
{
    p->titles_alike = -1;
    for (size_t i = 0; i < n; i++)
        if (title_too_wide(titles[i], boxes[i])) p->titles_alike = 1;
}

void ck_panel_head(ck_gp *p, ck_box b, const char *title, const char *axes, const char *xlabel,
                   const char *ylabel)
{
    char q[QLEN], q2[QLEN], first[600];
    ck_margins(p, b);
    /* A title wider than the panel breaks once: after the activation's " / ", else at
     * the ", " nearest its middle. */
    int wide = p->titles_alike ? p->titles_alike > 0 : title_too_wide(title, b);
    size_t len = strlen(title), cut = 0;
    const char *slash = strstr(title, " / ");
    if (wide && slash) cut = (size_t)(slash - title) + 2;
    for (size_t i = 1; wide && !slash && i + 1 < len; i++)
        if (title[i] == ',' && (!cut || (i + 1 > len / 2 ? i + 1 - len / 2 : len / 2 - i - 1) <
                                            (cut > len / 2 ? cut - len / 2 : len / 2 - cut)))
            cut = i + 1;
    if (cut) {
        snprintf(first, sizeof first, "%.*s", (int)cut, title);
        ck_cmd(p, "set title %s.\"\\n\".%s noenhanced font ',9' offset 0, -0.4", vp_plot_quote(q, sizeof q, first),
               vp_plot_quote(q2, sizeof q2, title + cut + (title[cut] == ' ')));
    } else { /* the default font and place: a title set with neither kept a broken one's */
        ck_cmd(p, "set title %s noenhanced font '' offset 0, 0", vp_plot_quote(q, sizeof q, title));
    }
    ck_cmd(p, "unset key; %s", axes);
    ck_cmd(p, "set grid xtics ytics lt 1 lc rgb '#e0e0e0' lw 1");
    ck_cmd(p, "set xlabel '%s'", xlabel);
    if (ylabel) ck_cmd(p, "set ylabel '%s'", ylabel);
    else ck_cmd(p, "unset ylabel");
}

void ck_empty_panel(ck_gp *p, const char *ranges, const char *message, const char *reset)
{
    ck_cmd(p, "%s", ranges);
    ck_cmd(p, "set label 1 '%s' at graph 0.5, 0.5 center", message);
    ck_cmd(p, "plot NaN notitle");
    ck_cmd(p, "unset label 1; %s", reset);
}

const char *ck_page_words(const ck_chart *c) { return c->page ? c->page : c->title; }

int ck_key_cols(size_t maxlen) { return maxlen <= 26 ? 4 : maxlen <= 40 ? 3 : maxlen <= 64 ? 2 : 1; }

double ck_key_height(size_t n, int cols)
{
    size_t rows = (n + (size_t)cols - 1) / (size_t)cols;
    return 0.02 + 0.032 * (double)rows;
}

void ck_key_strip(ck_gp *p, const char *elems, double height, int cols)
{
    ck_margins(p, (ck_box){ 0.01, 0.99, 0.005, height });
    ck_cmd(p, "unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; "
                   "unset logscale; unset label; unset arrow; unset colorbox");
    ck_cmd(p, "set xrange [0:1]; set yrange [0:1]");
    ck_cmd(p, "set key at screen 0.5, %.4f center center horizontal maxcols %d Left reverse "
                   "samplen 5 spacing 1.3 width 2 noenhanced nobox", /* samplen 5: two dashes of a dashed line */
                height / 2 + 0.003, cols);
    ck_cmd(p, "plot %s", elems);
}

size_t ck_panel_curves(const ck_exper *e, int panel, const int *has, size_t *out, size_t *total)
{
    size_t all[4096], n = 0, k;
    for (size_t i = 0; i < e->nvar && n < 4096; i++)
        if (e->var[i].panel == panel && (!has || has[i])) all[n++] = i;
    *total = n;
    size_t cap = e->colour_key >= 0 ? MAX_CURVES : MAX_LEGEND_CURVES;
    k = n < cap ? n : cap;
    for (size_t j = 0; j < k; j++) out[j] = all[ck_pick(j, k, n)];
    return k;
}

void ck_note_subsets(const ck_exper *e, const int *has, char *notes, size_t len)
{
    size_t n = strlen(notes), curves[MAX_CURVES], total;
    if (e->nact > MAX_PANELS)
        n += (size_t)snprintf(notes + n, len > n ? len - n : 0,
                              "Only the first %d of %zu panels are drawn. ", MAX_PANELS, e->nact);
    for (size_t a = 0; a < e->nact && a < MAX_PANELS; a++) {
        size_t k = ck_panel_curves(e, (int)a, has, curves, &total);
        if (k < total && n < len)
            n += (size_t)snprintf(notes + n, len - n, "Panel %s shows %zu evenly spaced of %zu variants. ",
                                  e->act[a], k, total);
    }
}

size_t ck_style_key(const ck_exper *e, const int *has, ck_sbuf *b, size_t *maxlen, const char *kind)
{
    int *used = calloc(e->nstyle + 1, sizeof *used);
    size_t curves[MAX_CURVES], total, n = 0;
    char q[QLEN], lc[64];
    if (!used) { b->oom = 1; return 0; }
    for (size_t a = 0; a < e->nact && a < MAX_PANELS; a++) {
        size_t k = ck_panel_curves(e, (int)a, has, curves, &total);
        for (size_t j = 0; j < k; j++) {
            int st = e->var[curves[j]].style;
            if (used[st] || n >= MAX_KEY) continue;
            used[st] = 1;
            ck_printf(b, "%sNaN with %s %s title %s", n ? ", " : "", kind, style_lc(e, st, lc, sizeof lc),
                      vp_plot_quote(q, sizeof q, e->style[st]));
            size_t l = strlen(e->style[st]);
            if (l > *maxlen) *maxlen = l;
            n++;
        }
    }
    free(used);
    return n;
}

/* The marker of each layer type in the by-layer charts of a block network: filled
 * shapes for the layers with weights, open ones for the rest (gnuplot point types). */
static const int BLOCK_PT[VP_LAYER_KIND_COUNT] = {
    [VP_LAYER_DENSE] = 7,     /* filled circle */
    [VP_LAYER_CONV2D] = 5,    /* filled square */
    [VP_LAYER_MAXPOOL2D] = 8, /* open triangle */
    [VP_LAYER_AVGPOOL2D] = 10,/* open triangle, down */
    [VP_LAYER_FLATTEN] = 1,   /* plus */
    [VP_LAYER_LAYERNORM] = 12,/* open diamond */
    [VP_LAYER_BATCHNORM] = 4, /* open square */
    [VP_LAYER_RMSNORM] = 2,   /* cross */
    [VP_LAYER_RESIDUAL] = 6,  /* open circle */
};

int ck_block_pt(int k) { return k >= 0 && k < VP_LAYER_KIND_COUNT ? BLOCK_PT[k] : 0; }

size_t ck_block_key(const int *present, ck_sbuf *b, size_t *maxlen)
{
    size_t n = 0;
    for (int k = 0; k < VP_LAYER_KIND_COUNT; k++) {
        if (!present[k]) continue;
        const char *name = vp_layer_kind_name((vp_layer_kind)k);
        ck_printf(b, "%sNaN with points pt %d ps 1.2 lc rgb '#444444' title '%s'", n++ ? ", " : "", BLOCK_PT[k], name);
        if (strlen(name) > *maxlen) *maxlen = strlen(name);
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
    af->no_sync = 1; /* a chart file: see CK_NO_SYNC */
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

/* ---- the recorded script ---- */

static void gp_vadd(ck_gp *p, char kind, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *line = n < 0 ? NULL : malloc((size_t)n + 1);
    if (!line) { p->s.oom = 1; return; }
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    if (kind == '#') ck_clean(line);
    else if (strpbrk(line, "\n\r")) p->bad = 1; /* only our own formats get here; keep it that way */
    ck_printf(&p->s, "%c%s\n", kind, line);
    free(line);
}

void ck_cmd(ck_gp *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gp_vadd(p, 'C', fmt, ap);
    va_end(ap);
}

void ck_comment(ck_gp *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gp_vadd(p, '#', fmt, ap);
    va_end(ap);
}

#define CK_SEGS 4 /* stretches of a script between outputs: before PNG, PNG, SVG */

struct ck_job {
    char stem[64];
    ck_gp gp;
    int proc;             /* the gnuplot process drawing it */
    vp_afile seg[CK_SEGS]; /* the stretches gnuplot loads, while it may still read them */
};

/* The temporary script files of job j: gone (once its gnuplot process has finished). */
static void drop_segments(ck_job *j)
{
    for (int k = 0; k < CK_SEGS; k++) vp_afile_abort(&j->seg[k]); /* removes the temporary */
}

/* Send job j's script to gnuplot p, the chart ending with its outputs closed. gnuplot
 * reads a pipe one byte per read() call (245,000 system calls for the charts of the
 * 84-run reference sweep) but a file through stdio buffers, so the commands go into
 * temporary files in the plot folder, one per stretch between two outputs, and the
 * pipe carries `load` for each and `set output` (vp_plot_output: temporary names,
 * renamed when gnuplot succeeds). The files stay until drop_segments. */
static vp_status send_job(const ck_exper *e, vp_plot *p, ck_job *j, vp_err *err)
{
    char path[4096], file[128];
    int k = 0;
    vp_status s = VP_OK;
    vp_plot_cmd(p, "reset session"); /* pipe only: a fresh gnuplot for every chart */
    for (const char *l = j->gp.s.s; l && *l && !s; k++) {
        if (k == CK_SEGS) return vp_fail(err, VP_ERR_EXTERNAL, "chart %s: internal: too many outputs", j->stem);
        snprintf(file, sizeof file, "%s.part%d.gp", j->stem, k);
        if ((s = vp_path_join(path, sizeof path, e->plots_dir, file, err)) || (s = vp_afile_open(&j->seg[k], path, err)))
            break;
        for (; *l && *l != 'O'; l = strchr(l, '\n') + 1)
            if (*l == 'C') fwrite(l + 1, 1, (size_t)(strchr(l, '\n') - l), j->seg[k].fp);
        if (fflush(j->seg[k].fp) != 0 || ferror(j->seg[k].fp)) {
            s = vp_fail(err, VP_ERR_IO, "cannot write %s", j->seg[k].tmp);
            break;
        }
        vp_plot_cmd(p, "load '%s'", strrchr(j->seg[k].tmp, '/') + 1); /* gnuplot works in the plot folder */
        if (*l == 'O') {
            const char *nl = strchr(l, '\n');
            char name[96];
            snprintf(name, sizeof name, "%.*s", (int)(nl - l - 1), l + 1);
            vp_plot_output(p, name);
            l = nl + 1;
        }
    }
    vp_plot_cmd(p, "unset output");
    return s;
}

/* Record the chart, then hand it at once to the process with the least work so far
 * (a fixed part, then bytes of script and data: gnuplot's work grows with the lines
 * it draws), so gnuplot draws while the next chart's data is prepared. */
vp_status ck_render(ck_exper *e, const ck_chart *c, ck_body_fn body, const void *ctx, vp_err *err)
{
    return ck_render_sub(e, c, e->subtitle, body, ctx, err);
}

vp_status ck_render_sub(ck_exper *e, const ck_chart *c, const char *subtitle, ck_body_fn body, const void *ctx,
                        vp_err *err)
{
    ck_job *jobs = realloc(e->jobs, (e->njobs + 1) * sizeof *jobs);
    if (!jobs) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    e->jobs = jobs;
    ck_job *j = &e->jobs[e->njobs++];
    memset(j, 0, sizeof *j);
    snprintf(j->stem, sizeof j->stem, "%s", c->stem);
    ck_gp *p = &j->gp;
    p->subtitle = subtitle;
    char out[96];
    ck_comment(p, "varprop chart '%s' of experiment '%s', drawn from %s (tidy copy: %s.dat)", c->stem, e->name,
               vp_csv_layout_get(c->source)->file, c->stem);
    ck_comment(p, "Redraw by hand: cd into this folder, then: gnuplot %s.gp", c->stem);
    ck_cmd(p, "set encoding utf8");
    define_styles(p, e);
    for (int t = 0; t < 2; t++) {
        ck_cmd(p, "set terminal %s", TERMINALS[t]);
        snprintf(out, sizeof out, "%s.%s", c->stem, EXTS[t]);
        ck_printf(&p->s, "O%s\n", out);
        ck_cmd(p, "reset");
        ck_cmd(p, "set datafile missing '?'");
        body(p, e, ctx);
        ck_cmd(p, "unset multiplot");
    }
    p->subtitle = NULL; /* borrowed for the recording only */
    if (p->s.oom) return vp_fail(err, VP_ERR_NOMEM, "out of memory recording chart %s", c->stem);
    if (p->bad) return vp_fail(err, VP_ERR_EXTERNAL, "chart %s: internal: gnuplot command contains a line break", c->stem);
    vp_status s = VP_OK;
    for (int q = 0; q < CK_PROCS && !s; q++)
        if (!e->proc[q] && !(s = vp_plot_open(&e->proc[q], e->plots_dir, NULL, err))) vp_plot_set_stop(e->proc[q], e->stop);
    if (s) return s;
    char path[4096], file[128];
    struct stat st;
    snprintf(file, sizeof file, "%s.dat", c->stem);
    double w = 40000 + (double)p->s.len; /* a chart's fixed part: its PNG's encoding, ~40 KB of script */
    if (!vp_path_join(path, sizeof path, e->plots_dir, file, NULL) && stat(path, &st) == 0) w += (double)st.st_size / 4;
    for (int q = 1; q < CK_PROCS; q++)
        if (e->load[q] < e->load[j->proc]) j->proc = q;
    e->load[j->proc] += w;
    return send_job(e, e->proc[j->proc], j, err);
}

/* <stem>.gp: the recorded script with the final output names. */
static vp_status write_script(const ck_exper *e, const ck_job *j, vp_err *err)
{
    char path[4096], file[128];
    vp_afile af = { 0 };
    snprintf(file, sizeof file, "%s.gp", j->stem);
    vp_status s = vp_path_join(path, sizeof path, e->plots_dir, file, err);
    if (s || (s = vp_afile_open(&af, path, err))) return s;
    af.no_sync = 1; /* a chart file: see CK_NO_SYNC */
    for (const char *l = j->gp.s.s; l && *l;) {
        const char *nl = strchr(l, '\n');
        int n = (int)(nl - l - 1);
        if (l[0] == '#') fprintf(af.fp, "# %.*s\n", n, l + 1);
        else if (l[0] == 'O') fprintf(af.fp, "set output '%.*s'\n", n, l + 1);
        else fprintf(af.fp, "%.*s\n", n, l + 1);
        l = nl + 1;
    }
    fputs("unset output\n", af.fp);
    s = vp_afile_commit(&af, err);
    vp_afile_abort(&af);
    return s;
}

/* Chart j alone in its own gnuplot process, then its script. */
static vp_status draw_alone(ck_exper *e, ck_job *j, vp_err *err)
{
    vp_plot *p;
    vp_status s = vp_plot_open(&p, e->plots_dir, NULL, err);
    if (!s) vp_plot_set_stop(p, e->stop);
    if (s) return s;
    if ((s = send_job(e, p, j, err))) vp_plot_abort(p);
    else if (!(s = vp_plot_close(p, err))) s = write_script(e, j, err);
    drop_segments(j);
    if (s) vp_err_prefix(err, "chart %s", j->stem);
    return s;
}

vp_status ck_render_all(ck_exper *e, vp_err *err)
{
    vp_status sq[CK_PROCS], s = VP_OK;
    vp_err eq[CK_PROCS];
    for (int q = 0; q < CK_PROCS; q++) { /* the processes draw side by side: wait for each */
        sq[q] = vp_plot_close(e->proc[q], &eq[q]); /* NULL-safe */
        e->proc[q] = NULL;
    }
    for (size_t i = 0; i < e->njobs; i++) drop_segments(&e->jobs[i]);
    /* In table order: the script of a chart drawn, or the chart once more on its own
     * when its process failed; every chart that can be drawn is. The error: what gnuplot
     * said when the process failed (it is the first word on what went wrong; alone, a
     * chart may stop differently), named after the first of its charts that fails alone
     * too; other failures (writing a script) as they come; the first one kept. */
    vp_err e1;
    for (size_t i = 0; i < e->njobs; i++) {
        int q = e->jobs[i].proc;
        vp_status si = sq[q] ? draw_alone(e, &e->jobs[i], &e1) : write_script(e, &e->jobs[i], &e1);
        if (si && sq[q] && si == VP_ERR_EXTERNAL) {
            e1 = eq[q];
            vp_err_prefix(&e1, "chart %s", e->jobs[i].stem);
            si = sq[q];
        }
        if (si && !s) {
            s = si;
            if (err) *err = e1;
        }
    }
    for (int q = 0; q < CK_PROCS && !s; q++)
        if (sq[q]) { /* it failed with other charts but not alone */
            s = sq[q];
            if (err) *err = eq[q];
        }
    return s;
}

void ck_jobs_free(ck_exper *e)
{
    for (int q = 0; q < CK_PROCS; q++) {
        vp_plot_abort(e->proc[q]); /* NULL-safe */
        e->proc[q] = NULL;
    }
    for (size_t i = 0; i < e->njobs; i++) {
        drop_segments(&e->jobs[i]);
        free(e->jobs[i].gp.s.s);
    }
    free(e->jobs);
    e->jobs = NULL;
    e->njobs = 0;
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
