/* repro_report: see repro_report.h. */
#include "present/repro_report.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fsutil.h"
#include "present/charts.h"
#include "present/plot.h"
#include "results/results.h"

#define TERMINAL "pngcairo size 1100,650 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'"

/* `set title` of text t in lines that fit the page (vp_plot_quote_wrapped, measured as
 * every chart title is: a paper's full title and the chart's words ran off both sides).
 * gnuplot centres the title on the plot area, which the y axis's labels shift right, so
 * 110 px of the 1100-pixel page are kept clear on each side. */
static void title_wrapped(vp_plot *p, const char *t)
{
    char q[2400];
    vp_plot_quote_wrapped(q, sizeof q, t, vp_plot_chars_in(1100 - 2 * 110, 11), 4);
    vp_plot_cmd(p, "set title %s noenhanced", q);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Write `text` as OUT/name atomically. */
static vp_status write_file(const char *dir, const char *name, const char *text, vp_err *err)
{
    char path[4400];
    vp_afile f = { 0 };
    vp_status st = vp_path_join(path, sizeof path, dir, name, err);
    if (!st) st = vp_afile_open(&f, path, err);
    if (st) return st;
    if (fputs(text, f.fp) < 0) {
        vp_afile_abort(&f);
        return vp_fail(err, VP_ERR_IO, "%s: write failed", path);
    }
    return vp_afile_commit(&f, err);
}

/* A growing text buffer; on allocation failure it stays short and .oom is set. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
}

/* Markdown-safe single line: table pipes escaped, line breaks made spaces. */
static void put_md(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') put(b, "\\|");
        else if (*s == '\n' || *s == '\r') put(b, " ");
        else put(b, "%c", *s);
    }
}

/* The claims chart of one paper: (measured - expected) / tol with a 2-SE bar for each
 * claim with a two-sided tolerance. 0 when there is none. */
static vp_status claims_chart(const char *out, const cJSON *paper, int *drawn, volatile sig_atomic_t *stop,
                              vp_err *err)
{
    buf dat = { 0 };
    int n = 0;
    const cJSON *c;
    put(&dat, "# index  (measured-expected)/tol  2SE/tol  claim\n");
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(paper, "claims"))
    {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expect");
        double m = num(c, "measured"), se = num(c, "se"), v = num(e, "value"), t = num(e, "tol");
        if (strcmp(str(e, "kind"), "near") != 0 || !isfinite(m) || !(t > 0)) continue;
        put(&dat, "%d %.9g %.9g \"%s\"\n", n, (m - v) / t, isfinite(se) ? 2 * se / t : 0.0, str(c, "id"));
        n++;
    }
    *drawn = 0;
    vp_status st = dat.oom ? vp_fail(err, VP_ERR_NOMEM, "out of memory") : VP_OK;
    char stem[300], name[320];
    snprintf(stem, sizeof stem, "%s-claims", str(paper, "name"));
    if (!st && n > 0) {
        snprintf(name, sizeof name, "%s.dat", stem);
        st = write_file(out, name, dat.s, err);
        vp_plot *p = NULL;
        snprintf(name, sizeof name, "%s.gp", stem);
        if (!st) st = vp_plot_open(&p, out, name, err);
        if (!st) {
            char q[600], t[700];
            vp_plot_set_stop(p, stop);
            vp_plot_cmd(p, "set terminal " TERMINAL);
            snprintf(name, sizeof name, "%s.png", stem);
            vp_plot_output(p, name);
            snprintf(t, sizeof t, "%s: measured against expected, in units of the tolerance", str(paper, "title"));
            title_wrapped(p, t);
            vp_plot_cmd(p, "set ylabel '(measured - expected) / tolerance   (bars: 2 SE over seeds)'");
            vp_plot_cmd(p, "set xrange [-0.7:%d.7]", n - 1);
            vp_plot_cmd(p, "set yrange [-3:3]");
            vp_plot_cmd(p, "set xtics rotate by 30 right noenhanced");
            vp_plot_cmd(p, "set bmargin 9");
            vp_plot_cmd(p, "set grid ytics");
            vp_plot_cmd(p, "set object 1 rect from graph 0, first -1 to graph 1, first 1 fc rgb '#d8f0d8' fs solid 0.6 noborder behind");
            vp_plot_cmd(p, "set key top left");
            snprintf(name, sizeof name, "%s.dat", stem);
            vp_plot_cmd(p, "plot %s using 1:2:3:xtic(4) with yerrorbars pt 7 ps 1.5 lc rgb '#1f4e9c' title "
                           "'varprop (values off the axis are drawn at its edge)', "
                           "0 with lines dt 2 lc rgb '#a00000' title 'paper / theory (PASS band shaded)'",
                        vp_plot_quote(q, sizeof q, name));
            st = vp_plot_close(p, err);
            *drawn = st == VP_OK;
        }
    }
    free(dat.s);
    return st;
}

/* A slope claim's chart: the measured per-layer curve and the expected law through it. */
static vp_status slope_chart(const char *out, const cJSON *paper, const cJSON *c, volatile sig_atomic_t *stop,
                             vp_err *err)
{
    const cJSON *curve = cJSON_GetObjectItemCaseSensitive(c, "curve"), *e = cJSON_GetObjectItemCaseSensitive(c, "expect"),
                *pt;
    double sx = 0, sy = 0, lo = INFINITY, hi = -INFINITY;
    int n = 0;
    buf dat = { 0 };
    put(&dat, "# layer  measured (per-layer mean over seeds of the claim's value)\n");
    cJSON_ArrayForEach(pt, curve)
    {
        double x = cJSON_GetArrayItem(pt, 0)->valuedouble, y = cJSON_GetArrayItem(pt, 1)->valuedouble;
        put(&dat, "%.9g %.9g\n", x, y);
        sx += x, sy += y, n++;
        lo = x < lo ? x : lo, hi = x > hi ? x : hi;
    }
    if (dat.oom) {
        free(dat.s);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    char stem[300], name[320], q[600], t[800];
    snprintf(stem, sizeof stem, "%s-%s", str(paper, "name"), str(c, "id"));
    snprintf(name, sizeof name, "%s.dat", stem);
    vp_status st = write_file(out, name, dat.s, err);
    free(dat.s);
    vp_plot *p = NULL;
    snprintf(name, sizeof name, "%s.gp", stem);
    if (!st) st = vp_plot_open(&p, out, name, err);
    if (st) return st;
    vp_plot_set_stop(p, stop);
    double k = num(e, "value"), tol = num(e, "tol");
    vp_plot_cmd(p, "set terminal " TERMINAL);
    snprintf(name, sizeof name, "%s.png", stem);
    vp_plot_output(p, name);
    /* per_layers k > 1: x counts blocks of k layer rows (layer / k) */
    double per = num(c, "per_layers");
    char unit[64] = "layer";
    if (per > 1) snprintf(unit, sizeof unit, "block (%g layer rows)", per);
    snprintf(t, sizeof t, "%s: measured (points) beside the expected slope %.4g per %s (line; dashed: +-%.3g)",
             str(c, "id"), k, per > 1 ? "block" : "layer", tol);
    title_wrapped(p, t);
    snprintf(t, sizeof t, "%s%s", unit, per > 1 ? ": layer / per_layers" : "");
    vp_plot_cmd(p, "set xlabel %s noenhanced", vp_plot_quote(q, sizeof q, t));
    snprintf(t, sizeof t, "%s, mean over seeds", str(c, "value_label"));
    vp_plot_cmd(p, "set ylabel %s noenhanced", vp_plot_quote(q, sizeof q, t));
    vp_plot_cmd(p, "set grid");
    vp_plot_cmd(p, "set key bottom left");
    vp_plot_cmd(p, "xm = %.17g; ym = %.17g; k = %.17g; t = %.17g", sx / n, sy / n, k, tol);
    vp_plot_cmd(p, "set xrange [%.17g:%.17g]", lo - 0.5, hi + 0.5);
    snprintf(name, sizeof name, "%s.dat", stem);
    vp_plot_cmd(p, "plot %s using 1:2 with linespoints pt 7 lw 2 lc rgb '#1f4e9c' title 'varprop', "
                   "ym + k*(x-xm) with lines lw 2 lc rgb '#a00000' title 'paper / theory slope', "
                   "ym + (k-t)*(x-xm) with lines dt 2 lc rgb '#a00000' notitle, "
                   "ym + (k+t)*(x-xm) with lines dt 2 lc rgb '#a00000' notitle",
                vp_plot_quote(q, sizeof q, name));
    return vp_plot_close(p, err);
}

/* The path of `target` (relative to the working folder, or absolute) as seen from the
 * folder `from`, for a link in a file there: absolute when either cannot be resolved. */
static void rel_link(const char *from, const char *target, char *out, size_t len)
{
    char a[PATH_MAX], t[PATH_MAX];
    if (!realpath(from, a) || !realpath(target, t)) {
        snprintf(out, len, "%s", target);
        return;
    }
    size_t common = 0, i = 0;
    for (; a[i] && a[i] == t[i]; i++)
        if (a[i] == '/') common = i;
    if (!a[i] && t[i] == '/') common = i; /* from is a prefix folder of target */
    size_t at = 0;
    for (const char *s = a + common; *s; s++)
        if (*s == '/' && at + 3 < len) at += (size_t)snprintf(out + at, len - at, "../");
    snprintf(out + at, len - at, "%s", t + common + 1);
}

/* "1.234 ± 0.05" of a claim's expectation. */
static void expect_text(const cJSON *e, char *s, size_t len)
{
    const char *kind = str(e, "kind");
    double v = num(e, "value"), t = num(e, "tol");
    if (strcmp(kind, "near") == 0) snprintf(s, len, "%.4g ± %.3g%s", v, t, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "relative")) ? " (relative tolerance)" : "");
    else snprintf(s, len, "%s %.4g", strcmp(kind, "max") == 0 ? "≤" : "≥", v);
}

static void claim_section(buf *b, const cJSON *paper, const cJSON *c, int have_curve_chart)
{
    const char *v = str(c, "verdict");
    put(b, "\n<a id=\"%s\"></a>\n\n### %s — **%s**\n\n> ", str(c, "id"), str(c, "id"), v);
    put_md(b, str(c, "statement"));
    put(b, " [%s]\n\n- Source: ", str(c, "tag"));
    put_md(b, str(c, "source"));
    put(b, "\n");
    if (strcmp(v, "NOT RUN") == 0 || strcmp(v, "FULL ONLY") == 0) {
        put(b, strcmp(v, "NOT RUN") == 0 ? "- Not run: " : "- Not run by `--fast`: ");
        put_md(b, str(c, "reason"));
        put(b, "\n");
        return;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expect"), *run;
    char ex[200];
    expect_text(e, ex, sizeof ex);
    double m = num(c, "measured"), se = num(c, "se");
    put(b, "- Measured: **%.4g**", m);
    if (isfinite(se)) put(b, " (SE %.2g over %d seeds, jackknife)", se, (int)num(c, "nseeds"));
    put(b, " — expected: %s%s\n- Tolerance: ", ex, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "fast")) ? " (fast mode)" : "");
    put_md(b, str(c, "why_tol"));
    put(b, "\n- Verdict: %s — ", v);
    put_md(b, str(c, "reason"));
    put(b, "\n");
    if (*str(c, "note")) {
        put(b, "- Note: ");
        put_md(b, str(c, "note"));
        put(b, "\n");
    }
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(paper, "runs"))
        if (strcmp(str(run, "id"), str(c, "run")) == 0)
            put(b, "\n![%s](%s/%s.png)\n", str(c, "figure"), str(run, "plots"), str(c, "figure"));
    if (have_curve_chart) put(b, "\n![varprop beside the paper](%s-%s.png)\n", str(paper, "name"), str(c, "id"));
}

vp_status vp_repro_report(const char *out_dir, volatile sig_atomic_t *stop, vp_err *err)
{
    char path[4400], *text = NULL;
    size_t len = 0;
    vp_status st = vp_path_join(path, sizeof path, out_dir, VP_FILE_VERDICTS, err);
    if (!st) st = vp_read_file(path, (size_t)64 << 20, &text, &len, err);
    if (st) return st;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return vp_fail(err, VP_ERR_DATA, "%s: not valid JSON", path);
    int charts = vp_charts_can_draw();
    buf b = { 0 };
    const cJSON *paper, *c, *run;
    int count[4] = { 0, 0, 0, 0 };
    cJSON_ArrayForEach(paper, cJSON_GetObjectItemCaseSensitive(root, "papers"))
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(paper, "claims"))
        {
            const char *v = str(c, "verdict");
            count[strcmp(v, "PASS") == 0 ? 0 : strcmp(v, "FAIL") == 0 ? 1 : strcmp(v, "NOT RUN") == 0 ? 2 : 3]++;
        }
    int fast = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "fast"));
    put(&b, "# varprop reproduce: the classic papers' claims\n\n");
    put(&b, "Mode: %s. Runs took %.1f s. **%d PASS, %d FAIL, %d NOT RUN",
        fast ? "`--fast` (small widths, fewer seeds, wider tolerances)" : "full", num(root, "seconds"), count[0],
        count[1], count[2]);
    if (count[3]) put(&b, ", %d FULL ONLY", count[3]);
    put(&b, "** (exit 0 only when every claim passes%s).\n",
        count[3] ? "; FULL ONLY claims have no honest --fast version and are judged by the full suite" : "");
    put(&b, "Every expected value and tolerance was written into the paper's checks.json from the paper or the "
            "theory before varprop's result was seen (docs/reproduce.md).\n");
    if (!charts) put(&b, "\n*Charts not drawn: %s.*\n", vp_plot_missing_hint());
    put(&b, "\n| paper | claim | verdict | measured | expected |\n|---|---|---|---|---|\n");
    cJSON_ArrayForEach(paper, cJSON_GetObjectItemCaseSensitive(root, "papers"))
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(paper, "claims"))
        {
            char ex[200] = "—", ms[64] = "—";
            if (cJSON_GetObjectItemCaseSensitive(c, "expect")) {
                expect_text(cJSON_GetObjectItemCaseSensitive(c, "expect"), ex, sizeof ex);
                snprintf(ms, sizeof ms, "%.4g", num(c, "measured"));
            }
            put(&b, "| %s | [%s](#%s) | %s | %s | %s |\n", str(paper, "name"), str(c, "id"), str(c, "id"),
                str(c, "verdict"), ms, ex);
        }
    cJSON_ArrayForEach(paper, cJSON_GetObjectItemCaseSensitive(root, "papers"))
    {
        if (st) break;
        char link[4400];
        rel_link(out_dir, str(paper, "readme"), link, sizeof link);
        put(&b, "\n## %s (`%s`)\n\nSetup and how varprop's runs differ from the paper's: [%s](%s). Runs:",
            str(paper, "title"), str(paper, "name"), str(paper, "readme"), link);
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(paper, "runs")) == 0)
            put(&b, " none (every claim of this paper is NOT RUN)");
        cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(paper, "runs"))
        {
            put(&b, " `%s` (%s, %.1f s; results `%s/`, charts and their report `%s/`)", str(run, "id"), str(run, "config"),
                num(run, "seconds"), str(run, "results"), str(run, "plots"));
            if (charts && !st) {
                char rdir[4400], pdir[4400];
                snprintf(rdir, sizeof rdir, "%s/%s", out_dir, str(run, "results"));
                snprintf(pdir, sizeof pdir, "%s/%s", out_dir, str(run, "plots"));
                st = vp_charts_draw_stop(rdir, pdir, stop, err);
            }
        }
        put(&b, ".\n");
        int drawn = 0;
        if (charts && !st) st = claims_chart(out_dir, paper, &drawn, stop, err);
        if (drawn) put(&b, "\n![claims of %s](%s-claims.png)\n", str(paper, "name"), str(paper, "name"));
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(paper, "claims"))
        {
            int curve = charts && !st && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "slope")) &&
                        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "curve")) > 1;
            if (curve) st = slope_chart(out_dir, paper, c, stop, err);
            claim_section(&b, paper, c, curve && !st);
        }
    }
    cJSON_Delete(root);
    if (!st && b.oom) st = vp_fail(err, VP_ERR_NOMEM, "out of memory writing the report");
    if (!st) st = write_file(out_dir, VP_FILE_REPORT, b.s, err);
    free(b.s);
    return st;
}
