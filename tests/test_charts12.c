/* Tests for the charts of issue 12 (src/present/charts/): drawing through shared gnuplot
 * processes, the phase chart, many-variant sweeps, the new by-layer charts, the
 * histograms and the Jacobian chart. Results folders are written here by hand (small
 * CSV files whose values the tests know) or taken from tests/fixtures. Run from the
 * repo root (make unit). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "present/charts.h"
#include "present/charts/kit.h"

#define FIXTURES "tests/fixtures"

static char *c12_read(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return vt_slurp_must(p, NULL);
}

static int c12_exists(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return vt_exists(p);
}

/* An executable shell script DIR/NAME. */
static void c12_script(const char *dir, const char *name, const char *text)
{
    char p[4096];
    vt_write_file(dir, name, text);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert_eq(chmod(p, 0755), 0);
}

/* A fresh folder DIR with DIR/res (made) for a results folder and DIR/plots (not made). */
static void c12_dirs(char dir[64], char res[128], char plots[128])
{
    vt_mktmp(dir, 64, "/tmp/vp_c12_");
    snprintf(res, 128, "%s/res", dir);
    snprintf(plots, 128, "%s/plots", dir);
    cr_assert_eq(mkdir(res, 0755), 0);
}

/* The charts of results folder res into plots, which must succeed. */
static void c12_draw(const char *res, const char *plots)
{
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(res, plots, &err), VP_OK, "%s", err.msg);
}

/* ---- drawing: several charts per gnuplot process, two processes ---- */

static const char *const SMALL_STEMS[] = { "act_var_pre", "act_var_post", "grad_var", "wgrad_var", "act_mean", "spp",
                                           "dead_saturated", "hist_pre", "hist_post", "hist_grad_pre", "heatmap",
                                           "overview", "jacobian" };
#define NSMALL (sizeof SMALL_STEMS / sizeof SMALL_STEMS[0])

/* All ten charts of tests/fixtures/small come from at most two gnuplot processes
 * (one per chart before), and each chart's script still redraws it alone. */
Test(charts12_speed, several_charts_per_gnuplot_process)
{
    char dir[64], plots[128], wrap[1024], cmd[512];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_c12_");
    snprintf(wrap, sizeof wrap, "#!/bin/sh\necho started >> '%s/starts'\nexec gnuplot \"$@\"\n", dir);
    c12_script(dir, "gp", wrap);
    snprintf(wrap, sizeof wrap, "%s/gp", dir);
    setenv("VARPROP_GNUPLOT", wrap, 1);
    snprintf(plots, sizeof plots, "%s/plots", dir);
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", plots, &err), VP_OK, "%s", err.msg);
    snprintf(cmd, sizeof cmd, "%s/starts", dir);
    int starts = vt_count_lines(cmd);
    cr_assert(starts >= 1 && starts <= 2, "%d gnuplot processes for %zu charts", starts, NSMALL);
    unsetenv("VARPROP_GNUPLOT");
    for (size_t i = 0; i < NSMALL; i++) {
        char png[256];
        snprintf(png, sizeof png, "%s/%s.png", plots, SMALL_STEMS[i]);
        cr_assert_eq(unlink(png), 0, "%s was drawn", png);
        /* the script holds no trace of the shared process */
        snprintf(png, sizeof png, "%s.gp", SMALL_STEMS[i]);
        char *gp = c12_read(plots, png);
        cr_assert(strstr(gp, "reset session") == NULL && strstr(gp, ".tmp.") == NULL, "%s", png);
        free(gp);
        snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot %s.gp 2>/dev/null", plots, SMALL_STEMS[i]);
        int rc = system(cmd);
        cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "gnuplot %s.gp alone", SMALL_STEMS[i]);
        snprintf(png, sizeof png, "%s.png", SMALL_STEMS[i]);
        cr_assert(c12_exists(plots, png), "%s.gp redrew %s", SMALL_STEMS[i], png);
    }
    vt_rmtree(dir);
}

/* The pipe carries `load` commands, not the scripts: gnuplot reads a pipe one byte per
 * read() call, a file through stdio buffers. */
Test(charts12_speed, scripts_reach_gnuplot_as_files)
{
    char dir[64], plots[128], wrap[1024], path[256];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_c12_");
    snprintf(wrap, sizeof wrap, "#!/bin/sh\ntee -a '%s/stdin' | gnuplot \"$@\"\n", dir);
    c12_script(dir, "gp", wrap);
    snprintf(wrap, sizeof wrap, "%s/gp", dir);
    setenv("VARPROP_GNUPLOT", wrap, 1);
    snprintf(plots, sizeof plots, "%s/plots", dir);
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", plots, &err), VP_OK, "%s", err.msg);
    unsetenv("VARPROP_GNUPLOT");
    size_t piped = 0, scripts = 0, n;
    snprintf(path, sizeof path, "%s/stdin", dir);
    char *in = vt_slurp_must(path, &piped);
    for (size_t i = 0; i < NSMALL; i++) {
        snprintf(path, sizeof path, "%s/%s.gp", plots, SMALL_STEMS[i]);
        free(vt_slurp_must(path, &n));
        scripts += n;
        char load[128];
        snprintf(load, sizeof load, "%s.part1.gp", SMALL_STEMS[i]); /* in a temporary's name */
        const char *at = strstr(in, load);
        cr_assert(at && at - in > 6, "%s is loaded from a file", SMALL_STEMS[i]);
        const char *bol = at;
        while (bol > in && bol[-1] != '\n') bol--;
        cr_assert(strncmp(bol, "load '", 6) == 0, "%.60s", bol);
    }
    cr_assert(piped * 10 < scripts, "%zu bytes piped for %zu bytes of scripts", piped, scripts);
    free(in);
    DIR *d = opendir(plots);
    struct dirent *de;
    while ((de = readdir(d))) cr_assert(strstr(de->d_name, ".part") == NULL, "temporary script %s left", de->d_name);
    closedir(d);
    vt_rmtree(dir);
}

/* gnuplot fails on one chart: that chart leaves nothing behind, the error names it, the
 * other charts (which shared its process) are complete, and no temporary is left. */
Test(charts12_speed, a_failing_chart_is_named_and_the_others_kept)
{
    char dir[64], plots[128], wrap[1024];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_c12_");
    snprintf(wrap, sizeof wrap,
             "#!/bin/sh\nin=$(mktemp)\ncat > \"$in\"\n"
             "if grep -q \"^load '.*overview\\.part\" \"$in\"; then rm -f \"$in\"; echo '         line 0: injected failure' >&2; exit 1; fi\n"
             "gnuplot < \"$in\"; rc=$?; rm -f \"$in\"; exit $rc\n");
    c12_script(dir, "gp", wrap);
    snprintf(wrap, sizeof wrap, "%s/gp", dir);
    setenv("VARPROP_GNUPLOT", wrap, 1);
    snprintf(plots, sizeof plots, "%s/plots", dir);
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", plots, &err), VP_ERR_EXTERNAL);
    cr_assert(strstr(err.msg, "chart overview") && strstr(err.msg, "injected failure"), "%s", err.msg);
    cr_assert(!c12_exists(plots, "overview.png") && !c12_exists(plots, "overview.svg") &&
              !c12_exists(plots, "overview.gp"), "the failed chart leaves nothing");
    for (size_t i = 0; i < NSMALL; i++) {
        if (strcmp(SMALL_STEMS[i], "overview") == 0) continue;
        char f[128];
        snprintf(f, sizeof f, "%s.png", SMALL_STEMS[i]);
        cr_assert(c12_exists(plots, f), "%s is kept", f);
        snprintf(f, sizeof f, "%s.gp", SMALL_STEMS[i]);
        cr_assert(c12_exists(plots, f), "%s is kept", f);
    }
    DIR *d = opendir(plots);
    struct dirent *de;
    while ((de = readdir(d))) cr_assert(strstr(de->d_name, ".tmp.") == NULL, "temporary %s", de->d_name);
    closedir(d);
    cr_assert(!c12_exists(plots, "report.md"));
    unsetenv("VARPROP_GNUPLOT");
    vt_rmtree(dir);
}

/* ---- a results folder written by hand ---- */

/* DIR/config.json with this name, sweep object text (JSON) and depth; seeds [0, 1]. */
static void c12_config(const char *dir, const char *sweep, int depth, int theory)
{
    char cfg[4096];
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"c12\", \"seeds\": [0, 1], \"precision\": \"float64\", \"theory\": %s,\n"
             " \"network\": {\"depth\": %d, \"width\": 8, \"activation\": \"tanh\", \"init\": \"he_normal\"},\n"
             " \"input\": {\"distribution\": \"normal\", \"batch\": 16},\n \"sweep\": %s}\n",
             theory ? "true" : "false", depth, sweep);
    vt_write_file(dir, "config.json", cfg);
}

/* Redraw <stem>.png by hand in the plots folder: `gnuplot ARGS <stem>.gp` exits 0 and
 * writes the PNG again. */
static void c12_redraw(const char *plots, const char *args, const char *stem)
{
    char cmd[1024], png[160];
    snprintf(cmd, sizeof cmd, "cd '%s' && rm -f %s.png && gnuplot %s %s.gp 2>/dev/null", plots, stem, args, stem);
    int rc = system(cmd);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "gnuplot %s %s.gp failed", args, stem);
    snprintf(png, sizeof png, "%s.png", stem);
    cr_assert(c12_exists(plots, png), "%s not drawn again", png);
}

/* A growing text buffer for CSV files. */
typedef struct {
    char *s;
    size_t len, cap;
} c12_buf;

static void c12_add(c12_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void c12_add(c12_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        cr_assert_not_null(b->s);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void c12_save(const char *dir, const char *name, c12_buf *b)
{
    vt_write_file(dir, name, b->s ? b->s : "");
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* The runs.csv row prefix of variant v, seed s: ratios 1 (stable). */
#define RUNS_HEAD "variant,activation,init,seed,depth,batch,act_ratio,grad_ratio,act_verdict,grad_verdict,nonfinite"

/* n variants of activation `act` swept over one key (config.json "sweep": sweep_json),
 * variant v with initializer label inits[v] and swept value vals[v]; one seed, 3
 * layers, Var[z^l] = v + l. */
static void c12_one_key(const char *dir, const char *sweep_json, const char *key, int n, const char *act,
                        const char *const *inits, const char *const *vals)
{
    c12_config(dir, sweep_json, 3, 0);
    c12_buf r = { 0 }, l = { 0 };
    c12_add(&r, RUNS_HEAD ",status,%s\n", key);
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,%s\n", key);
    for (int v = 0; v < n; v++) {
        c12_add(&r, "%d,%s,%s,0,3,16,1,1,stable,stable,0,ok,%s\n", v, act, inits[v], vals[v]);
        for (int layer = 1; layer <= 3; layer++) c12_add(&l, "%d,%s,%s,0,%d,%d,%s\n", v, act, inits[v], layer, v + layer, vals[v]);
    }
    c12_save(dir, "runs.csv", &r);
    c12_save(dir, "layers.csv", &l);
}

/* ---- item 1: the phase chart ---- */

/* A 2 x 2 sigma grid (sigma_w 1, 2; sigma_b 0, 0.5) with the columns of issue 12:
 * theory_xi_grad (signed: negative in the chaotic phase) and a measured xi_c. */
static void c12_sigma_grid(const char *dir, int with_new_columns)
{
    c12_config(dir, "{\"network.init.sigma_w\": [1, 2], \"network.init.sigma_b\": [0, 0.5]}", 6, 1);
    c12_buf r = { 0 }, l = { 0 };
    c12_add(&r, RUNS_HEAD ",xi_grad,theory_chi1,theory_xi_c%s,status,network.init.sigma_w,network.init.sigma_b\n",
            with_new_columns ? ",theory_xi_grad,xi_c" : "");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,network.init.sigma_w,network.init.sigma_b\n");
    static const double sw[4] = { 1, 1, 2, 2 }, sb[4] = { 0, 0.5, 0, 0.5 };
    static const double chi[4] = { 0.5, 0.8, 2.0, 1.5 };
    for (int v = 0; v < 4; v++)
        for (int seed = 0; seed < 2; seed++) {
            double xi = 1 / fabs(log(chi[v])) * (1 + 0.1 * seed); /* measured: near the prediction */
            c12_add(&r, "%d,tanh,mf,%d,6,16,1,1,stable,stable,0,%.17g,%.17g,%.17g", v, seed, xi, chi[v], 2.0 + v);
            if (with_new_columns) c12_add(&r, ",%.17g,%.17g", -1 / log(chi[v]), 3.0 + v + seed);
            c12_add(&r, ",ok,%g,%g\n", sw[v], sb[v]);
            for (int layer = 1; layer <= 6; layer++)
                c12_add(&l, "%d,tanh,mf,%d,%d,1,%g,%g\n", v, seed, layer, sw[v], sb[v]);
        }
    c12_save(dir, "runs.csv", &r);
    c12_save(dir, "layers.csv", &l);
}

/* The .dat block `index k` of a grid chart: its data lines. */
static char *c12_block(const char *dat, int k)
{
    char head[32];
    snprintf(head, sizeof head, "# index %d:", k);
    const char *b = strstr(dat, head);
    cr_assert_not_null(b, "no block %d", k);
    b = strchr(b, '\n') + 1;
    const char *end = strstr(b, "\n\n");
    size_t n = end ? (size_t)(end - b + 1) : strlen(b);
    char *out = malloc(n + 1);
    memcpy(out, b, n);
    out[n] = '\0';
    return out;
}

/* Measured xi_grad beside -1/ln chi_1 (from theory_chi1 when the file has no
 * theory_xi_grad), on sigma_w^2 x sigma_b^2 axes with the chi_1 = 1 line; xi_c not
 * measured is said in the panel. tests/fixtures/sigma: xi_grad = 1/|ln chi_1| exactly. */
Test(charts12_phase, measured_xi_grad_beside_minus_one_over_ln_chi1)
{
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_c12_");
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/sigma", dir, &err), VP_OK, "%s", err.msg);
    char *dat = c12_read(dir, "phase.dat");
    cr_assert(strstr(dat, "# index 1: 1/|ln theory_chi1|\n"), "the prediction comes from theory_chi1");
    cr_assert(strstr(dat, "# index 2: not measured (no xi_c in runs.csv)\n"));
    cr_assert(strstr(dat, "# index 3: theory_xi_c\n"));
    char *m = c12_block(dat, 0), *t = c12_block(dat, 1);
    /* every cell with a measured value has the same value predicted (1/|ln g| both) */
    size_t same = 0;
    for (char *a = m, *b = t; *a; a = strchr(a, '\n') + 1, b = strchr(b, '\n') + 1) {
        if (strstr(a, " ? ") && strstr(a, " ? ") < strchr(a, '\n')) continue;
        cr_assert_eq(strncmp(a, b, (size_t)(strchr(a, '\n') - a)), 0, "cell differs:\n%.80s\n%.80s", a, b);
        same++;
    }
    cr_assert_eq(same, 8, "8 of 9 cells measured");
    /* sigma_w = 2 -> x = 4; sigma_b = 0.6 -> y = 0.36; edges halfway in sigma^2 */
    cr_assert(strstr(m, "4 0.36 2.5 5.5 0.225 0.495 ? – 0\n"), "%s", m);
    cr_assert(strstr(t, "4 0.36 2.5 5.5 0.225 0.495 0.780680441 0.8 16777215\n"), "1/|ln 0.3*3*1.2| = 0.78: %s", t);
    free(m);
    free(t);
    free(dat);
    char *gp = c12_read(dir, "phase.gp");
    cr_assert(strstr(gp, "set xlabel 'σ_{w}^{2}'") && strstr(gp, "set ylabel 'σ_{b}^{2}'"));
    cr_assert(strstr(gp, "'critical_line.dat' using ($1**2):($2**2) with lines"), "chi_1 = 1 on squared axes");
    cr_assert(strstr(gp, "set label 1 'not measured (no xi_c in runs.csv)' at graph 0.5, 0.5"), "said in the panel");
    cr_assert(strstr(gp, "set xtics ('0.25' 0.25, '1' 1, '4' 4)"), "tics at sigma_w^2");
    free(gp);
    vt_rmtree(dir);
}

/* theory_xi_grad (signed, -1/ln chi_1) and a measured xi_c are used when runs.csv has them. */
Test(charts12_phase, new_columns_theory_xi_grad_and_measured_xi_c)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_sigma_grid(res, 1);
    c12_draw(res, plots);
    char *dat = c12_read(plots, "phase.dat");
    cr_assert(strstr(dat, "# index 1: theory_xi_grad\n") && strstr(dat, "# index 2: xi_c\n"), "%s", dat);
    char *t = c12_block(dat, 1), *c = c12_block(dat, 2);
    /* chi_1 = 2 (sigma_w 2, sigma_b 0): -1/ln 2 = -1.4427, drawn as its size 1.4427 */
    cr_assert(strstr(t, "4 0 2.5 5.5 -0.125 0.125 1.44269504 1.4 "), "%s", t);
    /* xi_c of variant 1: median of 4 and 5 over the two seeds */
    cr_assert(strstr(c, "1 0.25 -0.5 2.5 0.125 0.375 4.5 4.5 "), "%s", c);
    free(t);
    free(c);
    free(dat);
    char *gp = c12_read(plots, "phase.gp");
    cr_assert(strstr(gp, "not measured") == NULL);
    cr_assert(strstr(gp, "'phase.dat' index 2 using 1:2:3:4:5:6:7 with boxxyerror"), "the measured xi_c panel");
    free(gp);
    vt_rmtree(dir);
}

/* An even sigma grid (Schoenholz et al.'s 11 x 11) is uneven in sigma^2: tics at round
 * sigma^2 values instead of one crowded label per value, and the cells near 0, too small
 * for a printed value, keep their colour without one. */
Test(charts12_phase, uneven_sigma_squared_grid_stays_readable)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_config(res, "{\"network.init.sigma_w\": [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3], "
                    "\"network.init.sigma_b\": [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]}", 30, 1);
    c12_buf r = { 0 }, l = { 0 };
    c12_add(&r, RUNS_HEAD ",xi_grad,theory_chi1,theory_xi_c,status,network.init.sigma_w,network.init.sigma_b\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,network.init.sigma_w,network.init.sigma_b\n");
    for (int v = 0; v < 121; v++) {
        double sw = 0.5 + 0.25 * (v / 11), sb = 0.1 * (v % 11);
        c12_add(&r, "%d,tanh,mf,0,30,16,1,1,stable,stable,0,%g,%g,3,ok,%g,%g\n", v, 2.0 + v % 7, sw * sw / 2, sw, sb);
        c12_add(&l, "%d,tanh,mf,0,1,1,%g,%g\n", v, sw, sb);
    }
    c12_save(res, "runs.csv", &r);
    c12_save(res, "layers.csv", &l);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "phase.gp");
    cr_assert(strstr(gp, "set xtics autofreq; set format x '%g'"), "round sigma_w^2 tics");
    free(gp);
    char *dat = c12_read(plots, "phase.dat"), *m = c12_block(dat, 0);
    /* sigma_w = 0.5, sigma_b = 0: 0.25 wide, 0.005 high in sigma^2: no room; sigma_w = 3,
     * sigma_b = 1: 9 x 1 */
    cr_assert(strncmp(m, "0.25 0 ", 7) == 0 && strstr(m, " \"\" "), "%.80s", m);
    cr_assert(strstr(m, "\n9 1 8.28125 9.71875 0.905 1.095 3 3.0 16777215\n"), "%s", m);
    free(m);
    free(dat);
    vt_rmtree(dir);
}

/* A 2-D sweep over categories (activation x init) or over anything but the two sigmas
 * has no phase chart, even with every depth-scale column present. */
Test(charts12_phase, refused_for_categorical_sweeps)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_config(res, "{\"network.activation\": [\"tanh\", \"relu\"], \"network.init\": [\"a\", \"b\"]}", 4, 1);
    c12_buf r = { 0 }, l = { 0 };
    c12_add(&r, RUNS_HEAD ",xi_grad,theory_chi1,theory_xi_c,status,network.activation,network.init\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,network.activation,network.init\n");
    for (int v = 0; v < 4; v++) {
        const char *act = v < 2 ? "tanh" : "relu", *init = v % 2 ? "b" : "a";
        c12_add(&r, "%d,%s,%s,0,4,16,1,1,stable,stable,0,3,0.7,3,ok,%s,%s\n", v, act, init, act, init);
        for (int layer = 1; layer <= 4; layer++) c12_add(&l, "%d,%s,%s,0,%d,1,%s,%s\n", v, act, init, layer, act, init);
    }
    c12_save(res, "runs.csv", &r);
    c12_save(res, "layers.csv", &l);
    c12_draw(res, plots);
    cr_assert(c12_exists(plots, "heatmap.png"), "the heatmap is drawn for any 2-D sweep");
    cr_assert(!c12_exists(plots, "phase.png") && !c12_exists(plots, "phase.dat") && !c12_exists(plots, "phase.gp"));
    char *md = c12_read(plots, "report.md");
    cr_assert(strstr(md, "phase.png") == NULL);
    free(md);
    vt_rmtree(dir);
}

/* ---- item 3: many variants ---- */

static const char *const SW12[12] = { "0.5", "0.75", "1", "1.1", "1.25", "1.4", "1.5", "1.75", "2", "2.5", "3", "4" };

/* tanh and relu x 12 sigma_w x 2 sigma_b (48 variants, 12 curves per activation and
 * sigma_b), depth 5, Var[z^l] = (sigma_w^2/2)^(l-1) for relu, sigma_w^(l-1) for tanh,
 * and the same value as the theory column (so the charts draw dashed theory lines). */
static void c12_many(const char *dir, int overflow)
{
    c12_config(dir, "{\"network.activation\": [\"tanh\", \"relu\"], \"network.init.sigma_w\": "
                    "[0.5, 0.75, 1, 1.1, 1.25, 1.4, 1.5, 1.75, 2, 2.5, 3, 4], \"network.init.sigma_b\": [0, 0.3]}", 5, 0);
    c12_buf r = { 0 }, l = { 0 };
    c12_add(&r, RUNS_HEAD ",status,network.activation,network.init.sigma_w,network.init.sigma_b\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,theory_pre_var,network.activation,network.init.sigma_w,"
                "network.init.sigma_b\n");
    int v = 0;
    for (int a = 0; a < 2; a++)
        for (int w = 0; w < 12; w++)
            for (int b = 0; b < 2; b++, v++) {
                const char *act = a ? "relu" : "tanh", *sb = b ? "0.3" : "0";
                double g = a ? atof(SW12[w]) * atof(SW12[w]) / 2 : atof(SW12[w]);
                for (int seed = 0; seed < 2; seed++) {
                    if (v == overflow) /* the activations' variance overflowed */
                        c12_add(&r, "%d,%s,mean_field,%d,5,16,inf,1,exploding,stable,0,ok,%s,%s,%s\n", v, act, seed, act,
                                SW12[w], sb);
                    else
                        c12_add(&r, "%d,%s,mean_field,%d,5,16,%.17g,1,%s,stable,0,ok,%s,%s,%s\n", v, act, seed,
                                pow(g, 4), pow(g, 4) > 10 ? "exploding" : pow(g, 4) < 0.1 ? "vanishing" : "stable", act,
                                SW12[w], sb);
                    for (int layer = 1; layer <= 5; layer++)
                        c12_add(&l, "%d,%s,mean_field,%d,%d,%.17g,%.17g,%s,%s,%s\n", v, act, seed, layer, pow(g, layer - 1),
                                pow(g, layer - 1), act, SW12[w], sb);
                }
            }
    c12_save(dir, "runs.csv", &r);
    c12_save(dir, "layers.csv", &l);
}

/* The PNG half of a script (the SVG half repeats it). */
static char *c12_png_part(const char *gp)
{
    const char *a = strstr(gp, "set terminal pngcairo"), *b = strstr(gp, "set terminal svg");
    cr_assert(a && b && b > a);
    char *out = strndup(a, (size_t)(b - a));
    cr_assert_not_null(out);
    return out;
}

/* More than 8 curves per panel, a numeric sweep: the curves are coloured by sigma_w with
 * a colour bar (no legend of 24 labels), sigma_b gets panels of its own, so in every
 * panel the 12 curves have 12 different colours; every panel title names what differs;
 * every panel has the same y range. */
Test(charts12_many, colour_bar_for_a_numeric_sweep)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_many(res, -1);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "act_var_pre.gp"), *png = c12_png_part(gp);
    cr_assert(strstr(png, "set colorbox horizontal user origin"), "a colour bar");
    cr_assert(strstr(png, "set label 1 'network.init.sigma_w' at screen"), "named by the swept key");
    cr_assert(strstr(png, "set cbtics ('0.5' 0, '0.75' 1, '1' 2, '1.1' 3, '1.25' 4, '1.4' 5, '1.5' 6, '1.75' 7, "
                          "'2' 8, '2.5' 9, '3' 10, '4' 11)"), "every sigma_w value on the bar");
    cr_assert(strstr(png, "title 'mean_field") == NULL, "no legend of labels");
    cr_assert(strstr(png, "with linespoints lc rgb '#444444' lw 2 pt 7 ps 0.8 title 'measured'"),
              "the key says which curves are measured (the bar gives only their colours)");
    cr_assert(strstr(png, "center center horizontal maxcols 4 Left reverse samplen 5"), "its entries in rows of 4");
    static const char *const titles[4] = { "'tanh, sigma_b=0'", "'tanh, sigma_b=0.3'", "'relu, sigma_b=0'",
                                           "'relu, sigma_b=0.3'" };
    /* each panel: its title, then one plot that reads its 12 curves in one clause (every
     * step-th block, coloured by the blocks' colour_rank column) and their dashed theory
     * in another; the 12 blocks have ranks 0..11 once each and are the panel's variants */
    char *dat = c12_read(plots, "act_var_pre.dat");
    cr_assert(strstr(dat, "# layer median min max theory n colour_rank\n"), "the rank column is named");
    const char *at = png;
    for (int k = 0; k < 4; k++) {
        char t[64];
        snprintf(t, sizeof t, "set title %s noenhanced", titles[k]);
        at = strstr(at, t);
        cr_assert_not_null(at, "panel %s", titles[k]);
        const char *plot = strstr(at, "\nplot ");
        cr_assert_not_null(plot);
        int a0, a1, step, n = 0;
        cr_assert_eq(sscanf(plot, "\nplot 'act_var_pre.dat' index %d:%d:%d using 1:2:7 with linespoints lt %*d lc palette z%n",
                            &a0, &a1, &step, &n), 3, "panel %s: %.160s", titles[k], plot + 1);
        cr_assert(n > 0);
        char theory[160];
        snprintf(theory, sizeof theory, "'act_var_pre.dat' index %d:%d:%d using 1:5:7 with lines", a0, a1, step);
        const char *end = strchr(plot + 1, '\n');
        const char *th = strstr(plot, theory);
        cr_assert(th && th < end, "panel %s: the dashed theory of the same blocks", titles[k]);
        cr_assert(step > 0 && (a1 - a0) / step == 11 && (a1 - a0) % step == 0, "panel %s: 12 blocks", titles[k]);
        int seen[12] = { 0 };
        for (int blk = a0; blk <= a1; blk += step) {
            char *rows = c12_block(dat, blk), *save = NULL;
            int rank = -1;
            for (char *line = strtok_r(rows, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] == '#') continue;
                int r;
                cr_assert_eq(sscanf(line, "%*s %*s %*s %*s %*s %*s %d", &r), 1, "block %d: %s", blk, line);
                cr_assert(rank < 0 || r == rank, "block %d: one rank for the whole curve", blk);
                rank = r;
            }
            cr_assert(rank >= 0 && rank < 12, "block %d: rank %d", blk, rank);
            seen[rank]++;
            free(rows);
            /* the block is a variant of this panel: its label names the panel's activation and sigma_b */
            char head[32];
            snprintf(head, sizeof head, "# index %d: ", blk);
            const char *h = strstr(dat, head), *hend = strchr(h, '\n');
            char want[64];
            snprintf(want, sizeof want, "%s / mean_field", k < 2 ? "tanh" : "relu");
            const char *w = strstr(h, want);
            cr_assert(w && w < hend, "block %d belongs to panel %s", blk, titles[k]);
            w = strstr(h, k % 2 ? "sigma_b=0.3" : "sigma_b=0\n");
            cr_assert(w && w <= hend, "block %d belongs to panel %s", blk, titles[k]);
        }
        for (int r = 0; r < 12; r++) cr_assert_eq(seen[r], 1, "panel %s: colour %d used %d times", titles[k], r, seen[r]);
    }
    free(dat);
    /* one y range for all four panels: 0.5^4/... up to (4^2/2)^4 */
    const char *y = strstr(png, "set yrange [");
    cr_assert_not_null(y);
    char first[64];
    snprintf(first, sizeof first, "%.*s", (int)(strchr(y, '\n') - y), y);
    size_t ny = 0;
    for (const char *c = y; c; c = strstr(c + 1, "set yrange [")) {
        if (strncmp(c, "set yrange [0:1]", 16) == 0) continue; /* the legend strip */
        cr_assert_eq(strncmp(c, first, strlen(first)), 0, "%.40s vs %s", c, first);
        ny++;
    }
    cr_assert_eq(ny, 4);
    free(png);
    free(gp);
    /* the data: 48 blocks, the panel's other keys in each block's name */
    dat = c12_read(plots, "act_var_pre.dat");
    cr_assert(strstr(dat, "# index 47: variant 47, relu / mean_field, sigma_w=4, sigma_b=0.3\n"), "labels complete");
    free(dat);
    vt_rmtree(dir);
}

/* A panel whose drawable curves are not evenly spaced blocks (here variant 2, in the
 * panel tanh / sigma_b = 0 with variants 0, 2, ..., 22, has no finite value, measured or
 * predicted: a variant with its theory alone is still a curve) gets one clause per curve
 * with its palette colour inline; the other panels keep one clause for all their curves.
 * Both kinds draw. */
Test(charts12_many, uneven_curves_get_a_clause_each)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_many(res, -1);
    char *l = c12_read(res, "layers.csv");
    c12_buf out = { 0 };
    for (char *save = NULL, *line = strtok_r(l, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "2,", 2) == 0) { /* variant,activation,init,seed,layer,pre_var,theory_pre_var,...: nan */
            char *c = line;
            for (int f = 0; f < 5; f++) c = strchr(c, ',') + 1;
            c12_add(&out, "%.*snan,nan%s\n", (int)(c - line), line, strchr(strchr(c, ',') + 1, ','));
        } else
            c12_add(&out, "%s\n", line);
    }
    free(l);
    c12_save(res, "layers.csv", &out);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "act_var_pre.gp"), *png = c12_png_part(gp);
    const char *p0 = strstr(png, "set title 'tanh, sigma_b=0' noenhanced"), *p1 = strstr(png, "set title 'tanh, sigma_b=0.3'");
    cr_assert(p0 && p1);
    const char *plot0 = strstr(p0, "\nplot "), *plot1 = strstr(p1, "\nplot ");
    static const char want0[] = "\nplot 'act_var_pre.dat' index 0 using 1:2 with linespoints lt 65 lc palette cb 0 ",
                      want1[] = "\nplot 'act_var_pre.dat' index 1:23:2 using 1:2:7 ";
    cr_assert(strncmp(plot0, want0, strlen(want0)) == 0, "%.120s", plot0 + 1);
    cr_assert(strstr(plot0, "'act_var_pre.dat' index 4 using 1:2 with linespoints lt 65 lc palette cb 2 "), "sigma_w 1.1");
    cr_assert(strstr(plot0, "index 2 using") == NULL || strstr(plot0, "index 2 using") > strchr(plot0 + 1, '\n'),
              "no curve for the variant without values");
    cr_assert(strncmp(plot1, want1, strlen(want1)) == 0, "%.120s", plot1 + 1);
    free(png);
    free(gp);
    c12_redraw(plots, "", "act_var_pre");
    vt_rmtree(dir);
}

/* The colour-bar scripts run through gnuplot without a warning: a point type or size
 * on a `with lines` or `filledcurves` element makes gnuplot echo the whole plot
 * command per element (a 200-run grid wrote megabytes to stderr and spent seconds of
 * system time on it). The only warning allowed is the one for an empty block. */
Test(charts12_many, colour_bar_scripts_draw_without_warnings)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_many(res, -1);
    c12_draw(res, plots);
    static const char *const stems[] = { "act_var_pre", "overview" };
    for (size_t s = 0; s < sizeof stems / sizeof stems[0]; s++) {
        char cmd[512], log[192];
        snprintf(log, sizeof log, "%s/%s.log", dir, stems[s]);
        snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot %s.gp >/dev/null 2>'%s'", plots, stems[s], log);
        int rc = system(cmd);
        cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "gnuplot %s.gp failed", stems[s]);
        char *err = vt_slurp_must(log, NULL);
        for (char *w = strstr(err, "warning:"); w; w = strstr(w + 1, "warning:"))
            cr_assert(strncmp(w, "warning: Skipping data file with no valid points", 48) == 0, "%s.gp: %.200s", stems[s], w);
        free(err);
    }
    vt_rmtree(dir);
}

/* More than 8 curves per panel that differ only by a category (12 initializers): every
 * style its own colour, the legend lists all 12, every curve is drawn. */
Test(charts12_many, distinct_colours_for_many_categories)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    static const char *const inits[12] = { "i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9", "i10", "i11" };
    c12_one_key(res, "{\"network.init\": [\"i0\", \"i1\", \"i2\", \"i3\", \"i4\", \"i5\", \"i6\", \"i7\", \"i8\", "
                     "\"i9\", \"i10\", \"i11\"]}", "network.init", 12, "tanh", inits, inits);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "act_var_pre.gp"), *png = c12_png_part(gp);
    char colours[12][8];
    for (int i = 0; i < 12; i++) {
        char lt[48];
        snprintf(lt, sizeof lt, "set linetype %d lc rgb '", i + 1);
        const char *c = strstr(gp, lt);
        cr_assert_not_null(c, "linetype %d", i + 1);
        memcpy(colours[i], c + strlen(lt), 7);
        colours[i][7] = '\0';
        for (int j = 0; j < i; j++) cr_assert_str_neq(colours[i], colours[j], "styles %d and %d share a colour", i, j);
        char entry[48];
        snprintf(entry, sizeof entry, "title 'i%d'", i);
        cr_assert(strstr(png, entry), "legend entry %s", entry);
        snprintf(entry, sizeof entry, "'act_var_pre.dat' index %d using 1:2 ", i);
        cr_assert(strstr(png, entry), "curve %d drawn", i);
    }
    cr_assert(strstr(png, "set colorbox horizontal") == NULL, "categories: a legend, not a colour bar");
    cr_assert(strstr(png, "title 'measured'") == NULL, "a legend's own samples show the measured curves");
    free(png);
    free(gp);
    char *md = c12_read(plots, "report.md");
    cr_assert(strstr(md, "evenly spaced") == NULL, "no curve left out");
    free(md);
    vt_rmtree(dir);
}

/* Two variants whose labels coincide (a parameter at its default gives the same
 * canonical label) get their variant numbers, so they are told apart. */
Test(charts12_many, alike_labels_get_their_numbers)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    static const char *const he[2] = { "he_normal", "he_normal" };
    c12_one_key(res, "{\"network.init\": [\"he_normal\", {\"name\": \"he_normal\", \"gain\": 1.4142135623730951}]}",
                "network.init", 2, "relu", he, he);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "act_var_pre.gp");
    cr_assert(strstr(gp, "title 'he_normal [#0]'") && strstr(gp, "title 'he_normal [#1]'"), "told apart");
    cr_assert(strstr(gp, "set linetype 2 lc rgb"), "two styles, two colours");
    free(gp);
    vt_rmtree(dir);
}

/* The model of a 40000-variant sweep (200 gains x 200 batches of one activation; no
 * seeds in config.json: three in runs.csv) groups every variant: colour by gain, a panel
 * per batch, and the last variant, given the first one's values, told apart by its
 * number. (Each grouping searched the distinct values so far: 25 s for such a folder.) */
Test(charts12_many, a_40000_variant_sweep_is_grouped_whole)
{
    enum { G = 200, N = G * G };
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    vt_write_file(res, "config.json", "{\"name\": \"big\", \"network\": {\"depth\": 1, \"width\": 2}, "
                                      "\"sweep\": {\"network.init.gain\": [], \"input.batch\": []}}");
    c12_buf r = { 0 }, l = { 0 };
    c12_add(&r, RUNS_HEAD ",status,network.init.gain,input.batch\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,network.init.gain,input.batch\n");
    for (int v = 0; v < N; v++) {
        int g = v + 1 < N ? v / G : 0, b = v + 1 < N ? v % G : 0; /* the last: the first one's values */
        c12_add(&r, "%d,relu,orthogonal,%d,1,%d,1,1,stable,stable,0,ok,%g,%d\n", v, v % 3, b + 1, 0.01 * (g + 1), b + 1);
        c12_add(&l, "%d,relu,orthogonal,%d,1,1,%g,%d\n", v, v % 3, 0.01 * (g + 1), b + 1);
    }
    c12_save(res, "runs.csv", &r);
    c12_save(res, "layers.csv", &l);
    ck_exper e;
    memset(&e, 0, sizeof e);
    e.results_dir = res;
    e.plots_dir = plots;
    vp_err err = { "" };
    cr_assert_eq(ck_model_build(&e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e.nvar, (size_t)N);
    cr_assert_eq(e.nseeds, 3);
    cr_assert_eq(e.colour_key, 0);
    cr_assert_eq(e.ncolour, (size_t)G);
    cr_assert_eq(e.nact, (size_t)G);
    cr_assert_str_eq(e.act[G - 1], "relu, batch=200");
    int wrong = -1;
    for (int v = 0; v + 1 < N && wrong < 0; v++)
        if (e.var[v].rank != v / G || e.var[v].panel != v % G || (v > 0 && strstr(e.var[v].label, "[#")))
            wrong = v;
    cr_assert_eq(wrong, -1, "variant %d: rank %d, panel %d, label %s", wrong, e.var[wrong < 0 ? 0 : wrong].rank,
                 e.var[wrong < 0 ? 0 : wrong].panel, e.var[wrong < 0 ? 0 : wrong].label);
    cr_assert_str_eq(e.var[0].label, "orthogonal, gain=0.01, batch=1 [#0]");
    cr_assert_str_eq(e.var[N - 1].label, "orthogonal, gain=0.01, batch=1 [#39999]");
    cr_assert(e.var[N - 1].rank == 0 && e.var[N - 1].panel == 0);
    cr_assert_eq(e.nstyle, (size_t)N);
    cr_assert_str_eq(e.colour_vals[0], "0.01");
    cr_assert_str_eq(e.colour_vals[G - 1], "2");
    ck_model_free(&e);
    vt_rmtree(dir);
}

/* A swept setting at its default value is not left out of a label (the initializer's
 * own label drops defaults): mean_field(sigma_w=0.5) beside mean_field, sigma_w=1. */
Test(charts12_many, no_silent_defaults_in_labels)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    static const char *const init[2] = { "mean_field(sigma_w=0.5)", "mean_field" }, *const sw[2] = { "0.5", "1" };
    c12_one_key(res, "{\"network.init.sigma_w\": [0.5, 1]}", "network.init.sigma_w", 2, "tanh", init, sw);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "act_var_pre.gp");
    cr_assert(strstr(gp, "title 'mean_field(sigma_w=0.5)'"), "the label says it already");
    cr_assert(strstr(gp, "title 'mean_field, sigma_w=1'"), "the default value is said");
    free(gp);
    vt_rmtree(dir);
}

/* The overview numbers its bars as the summary table does (its # column, 0-based), with
 * more than 24 variants too; a variant whose ratio overflowed is a bar to the panel's
 * edge, not a gap. */
Test(charts12_many, overview_numbers_and_overflow_bars)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_many(res, 5); /* variant 5: act_ratio inf on both seeds */
    c12_draw(res, plots);
    char *gp = c12_read(plots, "overview.gp");
    cr_assert(strstr(gp, "set xtics ('0' 1, '2' 3, '4' 5, '6' 7"), "bar i+1 is variant i");
    cr_assert(strstr(gp, "set xlabel 'variant # (the first column of the summary table in report.md)'"));
    cr_assert(strstr(gp, "'overview.dat' index 12 using 1:(sqrt($4*$5)):2:3:4:5:6 with boxxyerror"), "overflow bars");
    cr_assert(strstr(gp, "set label 15 '∞' at 6, graph 0.93"), "labelled");
    free(gp);
    char *dat = c12_read(plots, "overview.dat"), *blk = c12_block(dat, 12);
    /* bar 6 (variant 5) from ratio 1 up to the panel's top, in the exploding colour */
    cr_assert(strncmp(blk, "6 5.65 6.35 1 ", 14) == 0 && strstr(blk, " 11671595\n"), "%s", blk);
    free(blk);
    free(dat);
    char *md = c12_read(plots, "report.md");
    cr_assert(strstr(md, "| 5 | tanh | mean\\_field | 1 | 0.3 | — 2 non-finite | exploding ×2 |"), "variant 5 is #5 in the table");
    free(md);
    vt_rmtree(dir);
}

/* The tick labels under the overview's lower panel, measured as gnuplot sets them at
 * font ',9' on the 1200 x 800 PNG: about 6.5 px a character, 13 px a line, the panels
 * 840 px wide. */
typedef struct {
    int n;              /* labels */
    size_t longest;     /* characters of the longest line */
    int lines;          /* lines of the tallest label */
    int rotate;         /* degrees, 0 = horizontal */
    double bottom;      /* the panel's bottom margin, screen fraction */
} c12_tics;

static c12_tics c12_overview_tics(const char *plots)
{
    char *gp = c12_read(plots, "overview.gp"), *png = c12_png_part(gp);
    c12_tics t = { 0 };
    const char *at = strstr(png, "set xtics ('"), *bm = NULL;
    cr_assert_not_null(at, "labelled bars");
    for (const char *m = strstr(png, "set bmargin at screen "); m && m < at; m = strstr(m + 1, "set bmargin at screen "))
        bm = m;
    cr_assert(bm && sscanf(bm, "set bmargin at screen %lf", &t.bottom) == 1);
    at += strlen("set xtics (");
    int lines = 1;
    size_t line = 0;
    while (*at == '\'') { /* 'piece' ["\n". 'piece' ...] position, */
        for (at++; *at && !(at[0] == '\'' && at[1] != '\''); at++) {
            if (at[0] == '\'') at++; /* a doubled quote is one character */
            line += ((unsigned char)*at & 0xC0) != 0x80;
        }
        cr_assert(*at == '\'', "unterminated label");
        at++;
        if (line > t.longest) t.longest = line;
        line = 0;
        if (strncmp(at, ".\"\\n\".", 6) == 0) {
            at += 6;
            lines++;
            continue;
        }
        if (lines > t.lines) t.lines = lines;
        lines = 1;
        t.n++;
        at = strpbrk(at, ",)");
        cr_assert_not_null(at);
        if (*at++ == ')') break;
        while (*at == ' ') at++;
    }
    const char *rot = strstr(at, "rotate by ");
    if (rot && rot < strchr(at, '\n')) t.rotate = atoi(rot + strlen("rotate by "));
    free(png);
    free(gp);
    return t;
}

/* The labels of n bars neither overlap nor leave the canvas: horizontal, each line is
 * no wider than its bar's slot; rotated, neighbours are a line height apart across the
 * text, and the longest fits between the axis and the page's bottom. */
static void c12_tics_fit(const c12_tics *t, int n)
{
    double slot = 840.0 / n;
    cr_assert_eq(t->n, n, "a label per bar");
    if (t->rotate == 0) {
        cr_assert_leq(t->longest * 6.5, slot, "%zu characters in a %.0f px slot", t->longest, slot);
        return;
    }
    double s = fabs(sin(t->rotate * M_PI / 180));
    cr_assert_eq(t->lines, 1, "a rotated label is one line");
    cr_assert_geq(slot * s, 13, "rotated neighbours %.1f px apart", slot * s);
    cr_assert_leq((t->longest * 6.5 + 13) * s, t->bottom * 800 - 30, "the longest label ends on the page");
}

/* The sweep of a user's tanh grid, 6 sigma_w x 4 sigma_b (24 variants), and a 3 x 2
 * one: the sigma_w values, then the sigma_b key and values (JSON). */
#define GRID24 "[0.5,1,1.5,2,2.5,3],\"network.init.sigma_b\":[0,0.1,0.3,0.5]"
#define GRID6 "[0.5,1,1.5],\"network.init.sigma_b\":[0,0.3]"

/* `varprop run` of the config text cfg (saved as DIR/cfg.json) into res (which must not
 * exist) with its charts in plots; it must succeed, and say nothing of gnuplot. */
static void c12_run_config(const char *dir, const char *res, const char *plots, const char *cfg)
{
    char *o = NULL, *e = NULL;
    vt_write_file(dir, "cfg.json", cfg);
    cr_assert_eq(vt_run(dir, &o, &e, "run %s/cfg.json -o %s --plots %s --quiet --threads 1", dir, res, plots), 0, "%s", e);
    cr_assert(!strstr(e, "gnuplot"), "%s", e);
    free(o);
    free(e);
}

/* That grid's `varprop run` on a tiny network (depth 2, width 4, one seed) into res
 * (which must not exist) with its charts in plots. */
static void c12_run_grid(const char *dir, const char *res, const char *plots, const char *sweep)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"name\":\"grid\",\"seeds\":1,\"network\":{\"depth\":2,\"width\":4,\"activation\":\"tanh\","
             "\"init\":{\"name\":\"mean_field\",\"sigma_w\":1,\"sigma_b\":0}},\"input\":{\"batch\":4},"
             "\"sweep\":{\"network.init.sigma_w\":%s}}", sweep);
    c12_run_config(dir, res, plots, cfg);
}

/* A user's 24-variant tanh sigma_w x sigma_b grid: the labels, wrapped at 8 characters
 * (52 px) under 35 px bars, were printed over each other; now they are rotated, one
 * line each. Six variants keep their wrapped lines under the bars, and labels too long
 * for the page give way to the variant numbers. */
Test(charts12_many, overview_labels_fit_their_bars)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    rmdir(res);
    static const char *const sweeps[2] = { GRID24, GRID6 };
    for (int k = 0; k < 2; k++) {
        c12_run_grid(dir, res, plots, sweeps[k]);
        c12_tics t = c12_overview_tics(plots);
        c12_tics_fit(&t, k ? 6 : 24);
        if (k) cr_assert(t.rotate == 0 && t.lines > 1, "a few variants: wrapped lines under the bars, as before");
        else cr_assert_neq(t.rotate, 0, "24 variants: rotated");
        vt_rmtree(res);
        vt_rmtree(plots);
    }
    /* 20 labels of 66 characters: rotated they would reach 310 px down, over a third of the page */
    char inits[20][80], vals[20][16];
    const char *ip[20], *vp[20];
    for (int v = 0; v < 20; v++) {
        snprintf(inits[v], sizeof inits[v], "an_initializer_with_a_rather_long_name_number_%02d(gain=1.5)", v);
        snprintf(vals[v], sizeof vals[v], "%d", v);
        ip[v] = inits[v];
        vp[v] = vals[v];
    }
    cr_assert_eq(mkdir(res, 0755), 0);
    c12_one_key(res, "{\"network.init.gain\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]}",
                "network.init.gain", 20, "tanh", ip, vp);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "overview.gp");
    cr_assert(strstr(gp, "set xtics ('0' 1, '2' 3, '4' 5"), "variant numbers");
    cr_assert(strstr(gp, "set xlabel 'variant # (the first column of the summary table in report.md)'"));
    free(gp);
    vt_rmtree(dir);
}

/* The by-layer charts of the user's 24-variant grid (8 panels: sigma_b x (z, h) in 4
 * columns): a pair chart's titles broke in some panels and not in others, and a title
 * set after a broken one kept its small font. Every chart's titles now break alike and
 * stay clear of each other and of the page's edge. */
Test(charts12_many, panel_titles_break_alike_and_stay_clear)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    rmdir(res);
    c12_run_grid(dir, res, plots, GRID24);
    static const char *const stems[] = { "act_var_pre.gp", "grad_var.gp", "act_mean.gp", "spp.gp", "dead_saturated.gp",
                                         "corr.gp" };
    for (size_t k = 0; k < sizeof stems / sizeof stems[0]; k++) {
        char *gp = c12_read(plots, stems[k]);
        vt_check_panel_titles(gp, stems[k]);
        free(gp);
    }
    vt_rmtree(dir);
}

/* ---- item 2: the new by-layer charts ---- */

/* 2 variants (tanh, relu; he_normal) x 2 seeds x 3 layers with every layers.csv statistic
 * the new charts read, pre_corr and theory_pre_corr included; value = f(column, variant,
 * seed, layer) known here. */
static double c12_val(int col, int v, int seed, int layer)
{
    double base = (col + 1) * 0.01 * (v + 1) * layer;
    return col == 2 || col == 3 ? base * (seed ? 3 : 1) : base + seed * 0.002; /* sq mean, var: positive */
}

static const char *const NEWCOLS[8] = { "pre_mean", "post_mean", "unit_sq_mean", "unit_var",
                                        "dead_frac", "saturated_frac", "pre_corr", "theory_pre_corr" };

static void c12_layers_rich(const char *dir, int with_corr)
{
    c12_config(dir, "{\"network.activation\": [\"tanh\", \"relu\"]}", 3, 1);
    c12_buf r = { 0 }, l = { 0 };
    c12_add(&r, RUNS_HEAD ",status,network.activation\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var");
    for (int c = 0; c < (with_corr ? 8 : 6); c++) c12_add(&l, ",%s", NEWCOLS[c]);
    c12_add(&l, ",network.activation\n");
    for (int v = 0; v < 2; v++)
        for (int seed = 0; seed < 2; seed++) {
            const char *act = v ? "relu" : "tanh";
            c12_add(&r, "%d,%s,he_normal,%d,3,16,1,1,stable,stable,0,ok,%s\n", v, act, seed, act);
            for (int layer = 1; layer <= 3; layer++) {
                c12_add(&l, "%d,%s,he_normal,%d,%d,1", v, act, seed, layer);
                for (int c = 0; c < (with_corr ? 8 : 6); c++) {
                    double x = c12_val(c, v, seed, layer);
                    if (c == 0) x = -x; /* a negative mean: drawn on the linear axis */
                    if (c == 7) x = 0.5 + 0.1 * layer; /* theory: the same for every seed */
                    c12_add(&l, ",%.17g", x);
                }
                c12_add(&l, ",%s\n", act);
            }
        }
    c12_save(dir, "runs.csv", &r);
    c12_save(dir, "layers.csv", &l);
}

/* The row of `layer` in block k of a line chart's .dat: median min max theory n. */
static void c12_dat_row(const char *dat, int k, int layer, double out[5])
{
    char *b = c12_block(dat, k);
    const char *row = b;
    while (*row == '#') row = strchr(row, '\n') + 1;
    for (int i = 1; i < layer; i++) row = strchr(row, '\n') + 1;
    char th[32];
    int got = sscanf(row, "%*d %lf %lf %lf %31s %lf", &out[0], &out[1], &out[2], th, &out[4]);
    cr_assert_eq(got, 5, "row %d of block %d: %s", layer, k, row);
    out[3] = strcmp(th, "?") == 0 ? NAN : atof(th);
    free(b);
}

static void c12_check(const char *dat, int k, int col, int v, int layer, double sign)
{
    double row[5], a = sign * c12_val(col, v, 0, layer), b = sign * c12_val(col, v, 1, layer);
    c12_dat_row(dat, k, layer, row);
    cr_assert(fabs(row[0] - (a + b) / 2) <= 1e-8 * fabs(a + b) && fabs(row[1] - fmin(a, b)) <= 1e-8 * fabs(a) &&
                  fabs(row[2] - fmax(a, b)) <= 1e-8 * fabs(b) && row[4] == 2,
              "block %d layer %d: %g %g %g n=%g, want %g %g %g", k, layer, row[0], row[1], row[2], row[4], (a + b) / 2,
              fmin(a, b), fmax(a, b));
}

/* act_mean (pre_mean, post_mean on a linear axis with the 0 line), spp (unit_sq_mean,
 * unit_var), dead_saturated (dead_frac, saturated_frac on [0, 1]): their .dat files hold
 * the median, min and max over seeds of the CSV values, per variant and layer. */
Test(charts12_new, mean_spp_and_dead_saturated_from_the_csv)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_layers_rich(res, 0);
    c12_draw(res, plots);
    static const char *const stems[3] = { "act_mean", "spp", "dead_saturated" };
    for (int s = 0; s < 3; s++) {
        char f[64];
        snprintf(f, sizeof f, "%s.dat", stems[s]);
        char *dat = c12_read(plots, f);
        char head[128];
        snprintf(head, sizeof head, "# %s (blocks 0-1) and %s (blocks 2-3) by layer", NEWCOLS[2 * s], NEWCOLS[2 * s + 1]);
        cr_assert(strstr(dat, head), "%s: %s", f, dat);
        for (int q = 0; q < 2; q++)
            for (int v = 0; v < 2; v++)
                for (int layer = 1; layer <= 3; layer++)
                    c12_check(dat, q * 2 + v, 2 * s + q, v, layer, s == 0 && q == 0 ? -1 : 1);
        free(dat);
        snprintf(f, sizeof f, "%s.gp", stems[s]);
        char *gp = c12_read(plots, f);
        cr_assert(strstr(gp, "set title 'tanh — ") && strstr(gp, "set title 'relu — "), "a pair of panels per activation");
        if (s == 0) {
            cr_assert(strstr(gp, "set arrow 1 from graph 0, first 0 to graph 1, first 0"), "the 0 line");
            cr_assert(strstr(gp, "set logscale y") == NULL, "a linear axis: the mean may be negative");
        }
        if (s == 1) cr_assert(strstr(gp, "set logscale y"), "spp on a log axis");
        if (s == 2) cr_assert(strstr(gp, "set yrange [-0.03:1.03]"), "fractions on [0, 1]");
        free(gp);
        snprintf(f, sizeof f, "%s.png", stems[s]);
        cr_assert(c12_exists(plots, f));
    }
    cr_assert(!c12_exists(plots, "corr.png") && !c12_exists(plots, "corr.dat"), "no pre_corr column, no corr chart");
    char *md = c12_read(plots, "report.md");
    cr_assert(strstr(md, "](act_mean.png)") && strstr(md, "](spp.png)") && strstr(md, "](dead_saturated.png)"));
    cr_assert(strstr(md, "Brock et al. 2021") && strstr(md, "Klambauer et al. 2017"));
    free(md);
    vt_rmtree(dir);
}

/* With pre_corr and theory_pre_corr in layers.csv, the correlation map: measured c^l
 * per variant and layer, the c-map iterate dashed. */
Test(charts12_new, correlation_map_when_layers_csv_has_it)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_layers_rich(res, 1);
    c12_draw(res, plots);
    char *dat = c12_read(plots, "corr.dat");
    cr_assert(strstr(dat, "# pre_corr by layer: median, min and max over seeds of the finite values; "
                          "theory = theory_pre_corr"), "%s", dat);
    for (int v = 0; v < 2; v++)
        for (int layer = 1; layer <= 3; layer++) {
            c12_check(dat, v, 6, v, layer, 1);
            double row[5];
            c12_dat_row(dat, v, layer, row);
            cr_assert(fabs(row[3] - (0.5 + 0.1 * layer)) < 1e-12, "theory %g at layer %d", row[3], layer);
        }
    free(dat);
    char *gp = c12_read(plots, "corr.gp");
    cr_assert(strstr(gp, "'corr.dat' index 0 using 1:5 with lines lt 1 lw 4 dt 2"), "theory dashed");
    cr_assert(strstr(gp, "title 'theory (dashed)'"));
    free(gp);
    cr_assert(c12_exists(plots, "corr.png") && c12_exists(plots, "corr.svg"));
    vt_rmtree(dir);
}

/* ---- item 4: histograms ---- */

/* One variant, seeds 7 and 0 (in that order in the file), layers 1 and 2 of `pre`:
 * seed 0's bins span [-1, 3], seed 7's [-2, 1]; density d = 0.1 * (bin + 1). */
static void c12_hist_folder(const char *dir)
{
    c12_config(dir, "{\"network.init\": [\"he_normal\"]}", 2, 0);
    vt_write_file(dir, "runs.csv", RUNS_HEAD ",status,network.init\n0,relu,he_normal,7,2,16,1,1,stable,stable,0,ok,he_normal\n"
                                  "0,relu,he_normal,0,2,16,1,1,stable,stable,0,ok,he_normal\n");
    vt_write_file(dir, "layers.csv", "variant,activation,init,seed,layer,pre_var,network.init\n"
                                    "0,relu,he_normal,7,1,1,he_normal\n0,relu,he_normal,7,2,1,he_normal\n"
                                    "0,relu,he_normal,0,1,1,he_normal\n0,relu,he_normal,0,2,1,he_normal\n");
    c12_buf h = { 0 };
    c12_add(&h, "variant,seed,layer,quantity,bin_lo,bin_hi,density\n");
    static const int seeds[2] = { 7, 0 };
    for (int si = 0; si < 2; si++)
        for (int layer = 1; layer <= 2; layer++)
            for (int b = 0; b < 4; b++) {
                double lo = seeds[si] == 0 ? -1 : -2, w = seeds[si] == 0 ? 1 : 0.75;
                c12_add(&h, "%d,%d,%d,pre,%.17g,%.17g,%.17g\n", 0, seeds[si], layer, lo + b * w, lo + (b + 1) * w,
                        b == 2 ? 0.0 : 0.1 * (b + 1));
            }
    c12_save(dir, "histograms.csv", &h);
}

/* Linear density (log an option of the script), x symmetric about 0 over every seed's
 * bins, every seed in the .dat file (blocks (panel*layers + layer)*seeds + seed, seeds
 * ascending), the first drawn; the script redraws any seed on either axis. */
Test(charts12_hist, linear_symmetric_every_seed)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_hist_folder(res);
    c12_draw(res, plots);
    char *dat = c12_read(plots, "hist_pre.dat");
    cr_assert(strstr(dat, "# block ((panel * 2) + layer) * 2 + seed, seeds in this order: 0 7\n"), "%s", dat);
    /* block 3 = layer 2 (k = 1), seed 7 (s = 1): centres -1.625 .. 0.625, densities 0.1 0.2 0 0.4 */
    cr_assert(strstr(dat, "# index 3: variant 0 (relu / he_normal), layer 2, seed 7\n# centre density\n"
                          " -1.625 0.1\n -0.875 0.2\n -0.125 0\n 0.625 0.4\n"), "%s", dat);
    cr_assert(strstr(dat, "# index 0: variant 0 (relu / he_normal), layer 1, seed 0\n# centre density\n"
                          " -0.5 0.1\n 0.5 0.2\n 1.5 0\n 2.5 0.4\n"), "%s", dat);
    free(dat);
    char *gp = c12_read(plots, "hist_pre.gp");
    cr_assert(strstr(gp, "set xrange [-3:3]"), "symmetric over both seeds' bins [-2, 3]");
    cr_assert(strstr(gp, "if (logy) { set logscale y; set format y '10^{%L}' } else { set format y '%g' }"));
    cr_assert(strstr(gp, "if (!exists(\"logy\")) logy = 0"), "linear density unless asked");
    cr_assert(strstr(gp, "if (logy) { set yrange [0.05:0.8]; set ytics autofreq } else { set yrange [0:0.42]; set ytics 0.1 }"),
              "%s", gp);
    cr_assert(strstr(gp, "'hist_pre.dat' index (0 + seed_index) using 1:2") &&
              strstr(gp, "'hist_pre.dat' index (2 + seed_index) using 1:2"), "both layers, the chosen seed");
    cr_assert(strstr(gp, "seeds = '0 7'"));
    free(gp);
    char *md = c12_read(plots, "report.md");
    cr_assert(strstr(md, "Seed 0 of 2 (0 7) drawn"), "the report says which seed");
    cr_assert(strstr(md, " `gnuplot -e 'seed_index=K' hist_pre.gp` draws the K-th") && !strstr(md, "\\`gnuplot"),
              "the command as Markdown code, not escaped backticks");
    free(md);
    /* seed 7 on a log axis, by hand */
    c12_redraw(plots, "-e 'seed_index=1; logy=1'", "hist_pre");
    vt_rmtree(dir);
}

/* Labelled tics of every "set Arange [lo:hi]; set Atics STEP" in a script (A = axis,
 * 'x' or 'y'): the fewest multiples of STEP within [lo, hi] (gnuplot labels those);
 * *n counts the axes. */
static int c12_fewest_tics(const char *gp, char axis, int *n)
{
    int fewest = 1 << 30;
    const char *range = axis == 'x' ? "set xrange [" : "set yrange [";
    *n = 0;
    double lo, hi, step;
    for (const char *at = strstr(gp, range); at; at = strstr(at + 1, range)) {
        int got = axis == 'x' ? sscanf(at, "set xrange [%lf:%lf]; set xtics %lf", &lo, &hi, &step)
                              : sscanf(at, "set yrange [%lf:%lf]; set ytics %lf", &lo, &hi, &step);
        if (got != 3) continue;
        int tics = (int)(floor(hi / step + 1e-9) - ceil(lo / step - 1e-9) + 1);
        if (tics < fewest) fewest = tics;
        ++*n;
    }
    return fewest;
}

/* A user's demo histograms (z^l of ReLU with xavier_uniform, bins out to |4.8|) had
 * `set xrange [-4.80:4.80]; set xtics 5`: one tic, 0. Every panel's symmetric axis now
 * labels at least 3 values, for half-widths either side of a round step. */
Test(charts12_hist, every_panel_labels_three_values)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    static const double half[6] = { 4.79766941, 0.999863923, 26.262228, 4.16817522, 7.01448917, 0.0042 };
    c12_config(res, "{\"network.init.gain\": [0, 1, 2, 3, 4, 5]}", 1, 0);
    c12_buf r = { 0 }, l = { 0 }, h = { 0 };
    c12_add(&r, RUNS_HEAD ",status,network.init.gain\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,network.init.gain\n");
    c12_add(&h, "variant,seed,layer,quantity,bin_lo,bin_hi,density\n");
    for (int v = 0; v < 6; v++) {
        c12_add(&r, "%d,relu,he_normal(gain=%d),0,1,16,1,1,stable,stable,0,ok,%d\n", v, v, v);
        c12_add(&l, "%d,relu,he_normal(gain=%d),0,1,1,%d\n", v, v, v);
        for (int b = 0; b < 4; b++) /* 4 bins over [-half, half] */
            c12_add(&h, "%d,0,1,pre,%.17g,%.17g,0.1\n", v, -half[v] + b * half[v] / 2, -half[v] + (b + 1) * half[v] / 2);
    }
    c12_save(res, "runs.csv", &r);
    c12_save(res, "layers.csv", &l);
    c12_save(res, "histograms.csv", &h);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "hist_pre.gp");
    int axes, fewest = c12_fewest_tics(gp, 'x', &axes);
    cr_assert_eq(axes, 12, "6 panels, PNG and SVG: %d", axes);
    cr_assert_geq(fewest, 3, "a panel labels %d values", fewest);
    cr_assert(strstr(gp, "set xrange [-4.79766941:4.79766941]; set xtics 2\n"), "the demo's panel: -4 .. 4");
    free(gp);
    vt_rmtree(dir);
}

/* The by-layer charts of a 10-layer network labelled only layers 5 and 10 (`set xtics
 * 5` over [1:10]), and a linear axis from -0.045 to 0.945 only 0 and 0.5 (a new user's
 * demo act_mean.png): each of their axes now labels at least 3 values. */
Test(charts12_new, every_by_layer_axis_labels_three_values)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_config(res, "{\"network.activation\": [\"relu\"]}", 10, 0);
    vt_write_file(res, "runs.csv", RUNS_HEAD ",status,network.activation\n0,relu,he_normal,0,10,16,1,1,stable,stable,0,ok,relu\n");
    c12_buf l = { 0 };
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,pre_mean,post_mean,network.activation\n");
    for (int layer = 1; layer <= 10; layer++) /* means: pre -0.01 .. -0.1, post 0 .. 0.9 */
        c12_add(&l, "0,relu,he_normal,0,%d,1,%g,%g,relu\n", layer, -0.01 * layer, 0.1 * (layer - 1));
    c12_save(res, "layers.csv", &l);
    c12_draw(res, plots);
    static const char *const stems[2] = { "act_var_pre.gp", "act_mean.gp" };
    for (int k = 0; k < 2; k++) {
        char *gp = c12_read(plots, stems[k]);
        int axes, fewest = c12_fewest_tics(gp, 'x', &axes);
        cr_assert(axes > 0 && fewest >= 3, "%s: a layer axis labels %d values", stems[k], fewest);
        cr_assert(strstr(gp, "set xrange [1:10]; set xtics 2\n"), "%s: layers 2, 4, .. 10", stems[k]);
        if (k == 1) {
            fewest = c12_fewest_tics(gp, 'y', &axes);
            cr_assert(axes == 4 && fewest >= 3, "act_mean: a mean axis labels %d values", fewest);
        }
        free(gp);
    }
    vt_rmtree(dir);
}

/* ---- item 5: the Jacobian chart ---- */

/* Numerically zero = below sigma_max * n * eps of its own Jacobian (variant, seed):
 * seed 0 (n = 5, sigma_max = 2: threshold 2.2e-15) has 1e-15 and 0 below, 5e-15 above;
 * seed 1 (n = 4, sigma_max = 4: 3.6e-15) has 2e-15 below. The panel says 3 of 9. */
Test(charts12_jacobian, numerically_zero_count_in_the_panel)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_config(res, "{\"network.init\": [\"he_normal\"]}", 2, 0);
    vt_write_file(res, "runs.csv", RUNS_HEAD ",status,network.init\n0,relu,he_normal,0,2,16,1,1,stable,stable,0,ok,he_normal\n"
                                  "0,relu,he_normal,1,2,16,1,1,stable,stable,0,ok,he_normal\n");
    vt_write_file(res, "layers.csv", "variant,activation,init,seed,layer,pre_var,network.init\n"
                                    "0,relu,he_normal,0,1,1,he_normal\n0,relu,he_normal,1,1,1,he_normal\n");
    vt_write_file(res, "jacobian.csv", "variant,seed,index,singular_value\n"
                                      "0,0,1,2\n0,0,2,1\n0,0,3,5e-15\n0,0,4,1e-15\n0,0,5,0\n"
                                      "0,1,1,4\n0,1,2,1\n0,1,3,0.5\n0,1,4,2e-15\n");
    c12_draw(res, plots);
    char *gp = c12_read(plots, "jacobian.gp");
    cr_assert(strstr(gp, "set label 2 'numerically 0 (σ < σ_max · n · ε):'.\"\\n\".'he_normal: 3 of 9' at graph 0.02"),
              "the count in the panel");
    free(gp);
    char *dat = c12_read(plots, "jacobian.dat");
    cr_assert(strstr(dat, "# index 0: variant 0, relu / he_normal (6 values drawn, 3 of 9 numerically zero)\n"), "%s", dat);
    free(dat);
    char *md = c12_read(plots, "report.md");
    cr_assert(strstr(md, "3 singular values are numerically zero, below σ\\_max · n · ε"), "the report says it too");
    free(md);
    vt_rmtree(dir);
}

/* Before: 12 of 20 long values were put on the colour bar at rounded, uneven steps, and
 * neighbours 1 apart overlapped ("0.7631.58947"). Now the tics are every step-th value
 * from the first, as many as the bar holds at their length (~90 characters: each label
 * its length + 2), with the smallest step that fits. */
Test(charts12_many, colour_bar_tics_are_evenly_stepped_and_fit)
{
    char dir[64], res[128], plots[128], *o = NULL, *e = NULL;
    c12_dirs(dir, res, plots);
    const char *cfg = "{\"name\":\"cb\",\"theory\":false,\"network\":{\"depth\":2,\"width\":4,\"activation\":\"tanh\","
                      "\"init\":{\"name\":\"mean_field\",\"sigma_w\":1,\"sigma_b\":0}},\"input\":{\"batch\":4},"
                      "\"sweep\":{\"network.init.sigma_w\":[0.5,0.631579,0.763158,0.894737,1.026316,1.157895,1.289474,"
                      "1.421053,1.552632,1.684211,1.815789,1.947368,2.078947,2.210526,2.342105,2.473684,2.605263,"
                      "2.736842,2.868421,3.0]}}";
    vt_write_file(dir, "cb.json", cfg);
    rmdir(res);
    cr_assert_eq(vt_run(dir, &o, &e, "run %s/cb.json -o %s --plots %s --quiet", dir, res, plots), 0, "%s", e);
    free(o);
    free(e);
    char *gp = c12_read(plots, "act_var_pre.gp"), *tics = strstr(gp, "set cbtics (");
    cr_assert(tics, "a colour bar's tics");
    int idx[32], n = 0, used;
    size_t maxlen = strlen("0.631579"); /* the longest value */
    char label[64];
    for (const char *at = tics + strlen("set cbtics ("); n < 32 && sscanf(at, " '%63[^']' %d%n", label, &idx[n], &used) == 2;
         n++) {
        at += used;
        if (*at == ',') at++;
    }
    cr_assert_geq(n, 2, "%s", tics);
    int step = idx[1] - idx[0];
    cr_expect_eq(idx[0], 0, "the first value is labelled");
    for (int k = 1; k < n; k++) cr_expect_eq(idx[k] - idx[k - 1], step, "evenly stepped: %s", tics);
    size_t fit = 90 / (maxlen + 2) + 1; /* labels the bar holds */
    cr_expect_leq((size_t)n, fit, "the labels fit the bar: %s", tics);
    cr_expect_gt(step, 1, "20 labels of 8 characters do not fit: %s", tics);
    if (step > 1) cr_expect_gt((size_t)(19 / (step - 1) + 1), fit, "a smaller step would not fit: %s", tics);
    cr_expect_gt(idx[n - 1] + step, 19, "every step up to the last value: %s", tics);
    free(gp);
    vt_rmtree(dir); /* it was left in /tmp */
}

/* ---- titles that fit the page ---- */

/* The lines of every page title ("set multiplot title ...") of script gp, PNG half: each
 * fits the 1200-pixel page at its font (0.72 px a character per point: 86 characters of
 * a 13 pt title spanned 801 px), two lines at most at 13 pt, three at 11 pt. Returns the
 * widest line's characters. */
static size_t c12_check_page_title(const char *gp, const char *what)
{
    const char *t = strstr(gp, "set multiplot title ");
    cr_assert(t, "%s: a page title", what);
    const char *eol = strchr(t, '\n'), *font = strstr(t, " font ',");
    cr_assert(font && font < eol, "%s: %.*s", what, (int)(eol - t), t);
    int pt = atoi(font + 8), lines = 1;
    size_t chars = 0, widest = 0;
    for (const char *at = t + strlen("set multiplot title "); at < font;) {
        if (*at == '\'') {
            for (at++; at < font && !(at[0] == '\'' && at[1] != '\''); at++) {
                if (at[0] == '\'') at++;
                chars += ((unsigned char)*at & 0xC0) != 0x80;
            }
            at++;
        } else if (strncmp(at, "\"\\n\"", 4) == 0) {
            widest = chars > widest ? chars : widest;
            chars = 0;
            lines++;
            at += 4;
        } else if (strncmp(at, "word(", 5) == 0) { /* a histogram's seed: one digit here */
            chars++;
            at = strchr(at, ')') + 1;
        } else
            at++;
    }
    widest = chars > widest ? chars : widest;
    cr_expect(pt == 13 || pt == 11, "%s: font %d", what, pt);
    cr_expect_leq(lines, pt == 13 ? 2 : 3, "%s: %d lines at %d pt: %.*s", what, lines, pt, (int)(eol - t), t);
    cr_expect_leq(widest * 0.72 * pt, 1180, "%s: a line of %zu characters at %d pt is wider than the page: %.*s", what,
                  widest, pt, (int)(eol - t), t);
    return widest;
}

/* A long experiment name put the page title on one line at 13 pt, over 1500 px on a
 * 1200-pixel page (its ends cut off). Every chart's title now breaks (after the name,
 * else at spaces) into lines that fit, at a smaller font when it needs three. */
Test(charts12_titles, page_titles_fit_the_page)
{
    char dir[64], res[128], plots[128], cfg[2048];
    c12_dirs(dir, res, plots);
    snprintf(cfg, sizeof cfg,
             "{\"name\": \"%s\", \"seeds\": [0, 1], \"precision\": \"float64\", \"theory\": false,\n"
             " \"network\": {\"depth\": 3, \"width\": 8, \"activation\": \"tanh\", \"init\": \"he_normal\"},\n"
             " \"input\": {\"distribution\": \"normal\", \"batch\": 16},\n \"sweep\": {\"network.init.gain\": [1, 2]}}\n",
             "a_study_of_initializers_for_deep_tanh_networks_across_gains_and_depths_with_histograms_of_every_layer_"
             "and_a_long_name_to_say_so");
    vt_write_file(res, "config.json", cfg);
    c12_buf r = { 0 }, l = { 0 }, h = { 0 };
    c12_add(&r, RUNS_HEAD ",status,network.init.gain\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,network.init.gain\n");
    c12_add(&h, "variant,seed,layer,quantity,bin_lo,bin_hi,density\n");
    for (int v = 0; v < 2; v++) {
        c12_add(&r, "%d,tanh,he_normal(gain=%d),0,3,16,1,1,stable,stable,0,ok,%d\n", v, v + 1, v + 1);
        for (int layer = 1; layer <= 3; layer++) c12_add(&l, "%d,tanh,he_normal(gain=%d),0,%d,%d,%d\n", v, v + 1, layer, v + layer, v + 1);
        c12_add(&h, "%d,0,1,pre,-1,0,0.5\n%d,0,1,pre,0,1,0.5\n", v, v);
    }
    c12_save(res, "runs.csv", &r);
    c12_save(res, "layers.csv", &l);
    c12_save(res, "histograms.csv", &h);
    c12_draw(res, plots);
    static const char *const stems[] = { "act_var_pre.gp", "overview.gp", "hist_pre.gp" };
    for (size_t k = 0; k < sizeof stems / sizeof stems[0]; k++) {
        char *gp = c12_read(plots, stems[k]);
        c12_check_page_title(gp, stems[k]);
        free(gp);
    }
    vt_rmtree(dir);
}

/* ---- tics a reader can read ---- */

#define C12_GAP_Y 16.0 /* px between two y labels: an 11 pt label is ~14 px tall */
#define C12_CHAR 7.7   /* px a character of an 11 pt label */

/* The labelled values (a value with a label not '', or none: the format's; no level) of
 * the tic list at `at` ("(...)") that lie in [lo, hi], into v[0..max); returns their
 * number. */
static int c12_tic_list(const char *at, double lo, double hi, double *v, int max)
{
    int n = 0;
    cr_assert_eq(*at, '(', "%.60s", at);
    for (at++; *at && *at != ')';) {
        while (*at == ' ' || *at == ',') at++;
        int labelled = 1;
        if (*at == '\'' || *at == '"') {
            char q = *at++;
            labelled = *at != q;
            while (*at && *at != q) at++;
            at++;
        }
        char *end;
        double x = strtod(at, &end);
        cr_assert(end != at, "a tic value: %.60s", at);
        at = end;
        while (*at == ' ') at++;
        if (*at >= '0' && *at <= '9') { /* a level: a minor tic */
            labelled = 0;
            while (*at >= '0' && *at <= '9') at++;
        }
        if (labelled && x >= lo * (1 - 1e-9) && x <= hi * (1 + 1e-9) && n < max) v[n++] = x;
    }
    return n;
}

/* Checks the axes of every panel of the PNG half of script gp ("what" names it): a panel's
 * "set xrange [a:b]; set xtics S" labels at least 3 values whose labels (C12_CHAR px a
 * character) leave a gap between them; its y axis (logarithmic when logy) labels at
 * least 3 values C12_GAP_Y px apart or more, from a "set ytics (...)" list or a "set
 * yrange [lo:hi]; set ytics S" -- on a log axis without a list, gnuplot labels the powers
 * of 10 inside it, which are counted instead. Returns the panels with data checked. */
static int c12_check_tics(const char *gp, const char *what, int logy)
{
    double l = 0, r = 1, b = 0, t = 1, ylo = NAN, yhi = NAN, v[64];
    int panels = 0, ychecked = 0;
    const char *end = strstr(gp, "set terminal svg");
    for (const char *line = gp; line && *line && (!end || line < end); line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *eol = strchr(line, '\n');
        int len = eol ? (int)(eol - line) : (int)strlen(line);
        double a, z, step;
        sscanf(line, "set lmargin at screen %lf; set rmargin at screen %lf; set bmargin at screen %lf; set tmargin at screen %lf",
               &l, &r, &b, &t);
        if (sscanf(line, "set xrange [%lf:%lf]; set xtics %lf", &a, &z, &step) == 3) {
            int n = 0;
            double px = step / (z - a) * (r - l) * 1200, widest = 0;
            for (double k = ceil(a / step - 1e-9); k * step <= z + 1e-9 * step; k++, n++) {
                char s[64];
                snprintf(s, sizeof s, "%g", fabs(k) < 0.5 ? 0.0 : k * step);
                widest = fmax(widest, strlen(s) * C12_CHAR);
            }
            cr_expect_geq(n, 3, "%s: the x axis labels %d values: %.*s", what, n, len, line);
            cr_expect_geq(px - widest, 4, "%s: x labels %g px wide, %g px apart: %.*s", what, widest, px, len, line);
        }
        const char *yr = strstr(line, "set yrange ["), *lin = strstr(line, "} else { set yrange [");
        if (lin && lin < line + len) yr = lin + strlen("} else { "); /* a histogram: its default, linear axis */
        if (yr && yr < line + len) {
            cr_assert_eq(sscanf(yr, "set yrange [%lf:%lf]", &ylo, &yhi), 2, "%.*s", len, line);
            ychecked = 0;
            if (sscanf(yr, "set yrange [%*f:%*f]; set ytics %lf", &step) == 1) {
                int n = 0;
                for (double k = ceil(ylo / step - 1e-9); k * step <= yhi + 1e-9 * step; k++) v[n++ < 64 ? n - 1 : 63] = k * step;
                double px = step / (yhi - ylo) * (t - b) * 800;
                cr_expect_geq(n, 3, "%s: the y axis labels %d values: %.*s", what, n, len, line);
                cr_expect_geq(px, C12_GAP_Y, "%s: y labels %g px apart: %.*s", what, px, len, line);
                ychecked = 1;
            }
        }
        if (strncmp(line, "set ytics (", 11) == 0) {
            int n = c12_tic_list(line + 10, ylo, yhi, v, 64);
            double closest = INFINITY;
            for (int k = 1; k < n; k++)
                closest = fmin(closest, (logy ? log10(v[k] / v[k - 1]) / log10(yhi / ylo) : (v[k] - v[k - 1]) / (yhi - ylo)) *
                                            (t - b) * 800);
            cr_expect_geq(n, 3, "%s: the y axis [%g, %g] labels %d values: %.*s", what, ylo, yhi, n, len, line);
            cr_expect_geq(closest, C12_GAP_Y, "%s: y labels %g px apart: %.*s", what, closest, len, line);
            ychecked = 1;
        }
        if (strncmp(line, "plot '", 6) == 0) {
            if (!ychecked && logy) { /* gnuplot's own: the powers of 10 inside */
                int n = (int)(floor(log10(yhi) + 1e-9) - ceil(log10(ylo) - 1e-9) + 1);
                cr_expect_geq(n, 3, "%s: no tics chosen; gnuplot labels the %d powers of 10 in [%g, %g]", what, n, ylo, yhi);
            } else
                cr_expect(ychecked, "%s: the panel's y tics were not chosen for it (gnuplot's own crowd a short panel)", what);
            panels++;
        }
    }
    return panels;
}

/* A results folder for the training charts: config.json swept over `nact` activations
 * acts[] (a panel each), runs.csv and layers.csv, train.csv with `steps` steps whose loss
 * falls from hi to lo (seed 1 at 1.05 times seed 0's, and at the middle step at band,
 * when band > 0: a seed's noisy batch widens the axis), and when `tracked`, layers_train.csv
 * (Var[z^l] from 10^-layer to 1, Var[dL/dz^l] 10^-6 .. 10^-3) and hist_train.csv (8 bins
 * over [-span, span] for variant v's span[v]) every 10 steps up to `steps` for 6 layers. */
static void c12_training(const char *res, int nact, const char *const *acts, int steps, double hi, double lo, double band,
                         int tracked, const double *span)
{
    char sweep[512] = "{\"network.activation\": [";
    for (int v = 0; v < nact; v++) snprintf(sweep + strlen(sweep), sizeof sweep - strlen(sweep), "%s\"%s\"", v ? ", " : "", acts[v]);
    strcat(sweep, "]}");
    c12_config(res, sweep, 6, 0);
    c12_buf r = { 0 }, l = { 0 }, tr = { 0 }, lt = { 0 }, ht = { 0 }, ev = { 0 };
    c12_add(&r, RUNS_HEAD ",status,network.activation\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,network.activation\n");
    c12_add(&tr, "variant,activation,init,seed,epoch,step,loss,lr,grad_norm\n");
    c12_add(&lt, "variant,activation,init,seed,step,layer,pre_var,grad_pre_var,network.activation\n");
    c12_add(&ht, "variant,seed,step,layer,quantity,bin_lo,bin_hi,density\n");
    c12_add(&ev, "variant,activation,init,seed,epoch,step,test_loss,test_acc,train_acc\n");
    for (int v = 0; v < nact; v++)
        for (int seed = 0; seed < 2; seed++) {
            c12_add(&r, "%d,%s,he_normal,%d,6,16,1,1,stable,stable,0,ok,%s\n", v, acts[v], seed, acts[v]);
            for (int layer = 1; layer <= 6; layer++) c12_add(&l, "%d,%s,he_normal,%d,%d,1,%s\n", v, acts[v], seed, layer, acts[v]);
            for (int e = 0; e <= 3; e++)
                c12_add(&ev, "%d,%s,he_normal,%d,%d,%d,1,%g,%g\n", v, acts[v], seed, e, e * steps / 3, 0.1 + 0.25 * e, 0.1 + 0.25 * e);
            for (int s = 1; s <= steps; s++) {
                double loss = hi * pow(lo / hi, (s - 1.0) / (steps - 1.0)) * (seed ? 1.05 : 1);
                if (seed && band > 0 && s == steps / 2) loss = band;
                c12_add(&tr, "%d,%s,he_normal,%d,1,%d,%.17g,0.1,1\n", v, acts[v], seed, s, loss);
            }
            for (int s = 0; tracked && s <= steps; s += 10)
                for (int layer = 1; layer <= 6; layer++) {
                    c12_add(&lt, "%d,%s,he_normal,%d,%d,%d,%.17g,%.17g,%s\n", v, acts[v], seed, s, layer,
                            pow(10, -layer * (1 - s / (double)steps)), 1e-6 * pow(10, layer / 2.0), acts[v]);
                    for (int k = 0; k < 8; k++)
                        c12_add(&ht, "%d,%d,%d,%d,post,%.17g,%.17g,%g\n", v, seed, s, layer, span[v] * (k / 4.0 - 1),
                                span[v] * ((k + 1) / 4.0 - 1), 0.1 + k % 3);
                }
        }
    c12_save(res, "runs.csv", &r);
    c12_save(res, "layers.csv", &l);
    c12_save(res, "train.csv", &tr);
    c12_save(res, "eval.csv", &ev);
    if (tracked) {
        c12_save(res, "layers_train.csv", &lt);
        c12_save(res, "hist_train.csv", &ht);
    } else {
        free(lt.s);
        free(ht.s);
    }
}

/* A training loss on a log axis: gnuplot labels only the powers of 10 inside, so an axis
 * of 1 to 2 decades showed 1 or 2 labels (train_quick: 0.1 and 1 on 0.018 .. 2.9); the
 * rule for one within a decade went by the data, so a loss of 4 .. 0.6 whose seed range
 * reached 0.35 slipped past it (its axis spans more than a decade). Each axis now labels
 * at least 3 values, a line apart, in one large panel or nine small ones; so do the
 * accuracy chart's epoch and [0, 1] axes (gnuplot's 6 labels crowded a short panel). */
Test(charts12_tics, training_loss_log_axes_label_three_values_a_line_apart)
{
    static const char *const acts[9] = { "tanh", "relu", "gelu", "selu", "elu", "silu", "softplus", "sigmoid", "linear" };
    static const struct {
        int nact;
        double hi, lo, band;
    } cases[] = { { 1, 4, 0.6, 0.35 }, { 1, 2.4, 0.018, 0 }, { 9, 2.4, 0.018, 0 }, { 1, 2.3, 2.1, 0 },
                  { 9, 4, 0.6, 0.35 }, { 9, 10, 1e-5, 0 },    { 1, 3, 1e-9, 0 } };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char dir[64], res[128], plots[128], what[96];
        c12_dirs(dir, res, plots);
        c12_training(res, cases[k].nact, acts, 200, cases[k].hi, cases[k].lo, cases[k].band, 0, NULL);
        c12_draw(res, plots);
        char *gp = c12_read(plots, "train_loss.gp");
        snprintf(what, sizeof what, "train_loss, %d panel(s), loss %g .. %g, band to %g", cases[k].nact, cases[k].hi,
                 cases[k].lo, cases[k].band);
        cr_expect_eq(c12_check_tics(gp, what, 1), cases[k].nact, "%s: every panel checked", what);
        free(gp);
        gp = c12_read(plots, "train_acc.gp"); /* and the accuracy's epochs and [0, 1] */
        snprintf(what, sizeof what, "train_acc, %d panel(s)", cases[k].nact);
        cr_expect_eq(c12_check_tics(gp, what, 0), cases[k].nact, "%s: every panel checked", what);
        free(gp);
        vt_rmtree(dir);
    }
}

/* train_hist with 3 variants (3 rows of short panels) let gnuplot label its activation
 * axes, 11 values in ~120 px; train_var and train_hist labelled a step axis of 90 steps
 * at 0 and 50 only (a step of 50 from ~4 intervals rounded up). Every panel now labels at
 * least 3 values on both axes, its labels apart. */
Test(charts12_tics, training_step_and_histogram_axes_label_three_values_apart)
{
    static const char *const acts[3] = { "tanh", "relu", "selu" };
    static const double span[3] = { 1, 0.25, 0.0021 };
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_training(res, 3, acts, 90, 2.3, 0.5, 0, 1, span);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "train_hist.gp");
    cr_expect_eq(c12_check_tics(gp, "train_hist", 0), 12, "3 rows of 4 panels");
    free(gp);
    gp = c12_read(plots, "train_var.gp");
    cr_expect_eq(c12_check_tics(gp, "train_var", 1), 6, "3 variants, 2 panels each");
    free(gp);
    vt_rmtree(dir);
}

/* A by-layer chart of stable variances (Var[z^l] from 1.1 to 1.6, He-initialized ReLU):
 * its log axis held no power of 10, so gnuplot labelled nothing on it. Every log axis
 * of a chart now gets its own list: the values 1.2, 1.4, 1.6 here. And the legend's
 * sample of the dashed theory line is 5 characters long: at 3 it showed one dash and a
 * dot, which read as no line style at all. */
Test(charts12_tics, by_layer_log_axes_without_a_decade_label_three_values)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_config(res, "{\"network.init\": [\"he_normal\", \"orthogonal\"]}", 6, 1);
    c12_buf r = { 0 }, l = { 0 };
    c12_add(&r, RUNS_HEAD ",status,network.init\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,theory_pre_var,post_var,network.init\n");
    for (int v = 0; v < 2; v++) {
        const char *init = v ? "orthogonal" : "he_normal";
        c12_add(&r, "%d,relu,%s,0,6,16,1,1,stable,stable,0,ok,%s\n", v, init, init);
        for (int layer = 1; layer <= 6; layer++)
            c12_add(&l, "%d,relu,%s,0,%d,%g,%g,%g,%s\n", v, init, layer, 1 + 0.1 * layer, 1.35, 0.01 * pow(10, layer * 0.5),
                    init);
    }
    c12_save(res, "runs.csv", &r);
    c12_save(res, "layers.csv", &l);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "act_var_pre.gp");
    cr_expect_eq(c12_check_tics(gp, "act_var_pre (1.1 .. 1.6)", 1), 1, "one panel");
    const char *theory = strstr(gp, "title 'theory (dashed)'"), *key = theory;
    cr_assert(theory, "the theory's legend entry");
    while (key > gp && strncmp(key, "set key ", 8) != 0) key--;
    const char *samplen = strstr(key, " samplen ");
    cr_assert(samplen && samplen < theory, "the legend's key: %.200s", key);
    cr_expect_geq(atof(samplen + 9), 5, "a sample of two dashes: %.200s", key);
    free(gp);
    gp = c12_read(plots, "act_var_post.gp");
    cr_expect_eq(c12_check_tics(gp, "act_var_post (0.03 .. 10)", 1), 1, "one panel");
    free(gp);
    vt_rmtree(dir);
}

/* Histograms of 9 variants (3 rows of short panels) let gnuplot label their density
 * axes: 0 to 4.5 by 0.5, 10 labels in ~120 px, printed over each other. Each panel's
 * labels are now a line apart, at least 3 of them, and its x labels apart too. */
Test(charts12_tics, histogram_density_axes_a_line_apart)
{
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_config(res, "{\"network.init.gain\": [0, 1, 2, 3, 4, 5, 6, 7, 8]}", 1, 0);
    c12_buf r = { 0 }, l = { 0 }, h = { 0 };
    c12_add(&r, RUNS_HEAD ",status,network.init.gain\n");
    c12_add(&l, "variant,activation,init,seed,layer,pre_var,network.init.gain\n");
    c12_add(&h, "variant,seed,layer,quantity,bin_lo,bin_hi,density\n");
    for (int v = 0; v < 9; v++) {
        c12_add(&r, "%d,relu,he_normal(gain=%d),0,1,16,1,1,stable,stable,0,ok,%d\n", v, v, v);
        c12_add(&l, "%d,relu,he_normal(gain=%d),0,1,1,%d\n", v, v, v);
        for (int b = 0; b < 4; b++) /* a peak of 4.3 (x 10^(v - 4)) */
            c12_add(&h, "%d,0,1,pre,%d,%d,%g\n", v, b - 2, b - 1, (b == 2 ? 4.3 : 0.5) * pow(10, v - 4));
    }
    c12_save(res, "runs.csv", &r);
    c12_save(res, "layers.csv", &l);
    c12_save(res, "histograms.csv", &h);
    c12_draw(res, plots);
    char *gp = c12_read(plots, "hist_pre.gp");
    cr_expect_eq(c12_check_tics(gp, "hist_pre", 0), 9, "9 panels");
    free(gp);
    vt_rmtree(dir);
}

/* Every "set ylabel '...'" of the PNG half of script gp fits beside its panel: its
 * characters (enhanced markup aside) at C12_CHAR px reach at most 20 px past either end
 * (a row's x label sits ~35 px below the panel: further, the rotated label runs into it).
 * Returns the labels checked. */
static int c12_check_ylabels(const char *gp, const char *what)
{
    double b = 0, t = 1, l, r;
    int n = 0;
    const char *end = strstr(gp, "set terminal svg");
    for (const char *line = gp; line && *line && (!end || line < end); line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        sscanf(line, "set lmargin at screen %lf; set rmargin at screen %lf; set bmargin at screen %lf; set tmargin at screen %lf",
               &l, &r, &b, &t);
        if (strncmp(line, "set ylabel '", 12) != 0) continue;
        size_t chars = 0;
        for (const char *c = line + 12; *c && *c != '\'' && *c != '\n'; c++) {
            if (strncmp(c, "/:Italic ", 9) == 0) c += 8;
            else if (!strchr("{}^_", *c)) chars += ((unsigned char)*c & 0xC0) != 0x80;
        }
        cr_expect_leq(chars * C12_CHAR, (t - b) * 800 + 40, "%s: a y label of %zu characters beside a %g px panel: %.60s",
                      what, chars, (t - b) * 800, line);
        n++;
    }
    return n;
}

/* train_var of 6 variants (3 rows of 125 px panels) wrote "variance on the probe batch"
 * (~210 px rotated) beside the first and the third column, into the row above's x
 * labels. The y labels of the training charts now fit beside their panels. */
Test(charts12_tics, training_y_labels_fit_beside_their_panels)
{
    static const char *const acts[6] = { "tanh", "relu", "gelu", "selu", "elu", "silu" };
    static const double span[6] = { 1, 1, 1, 1, 1, 1 };
    char dir[64], res[128], plots[128];
    c12_dirs(dir, res, plots);
    c12_training(res, 6, acts, 90, 2.3, 0.5, 0, 1, span);
    c12_draw(res, plots);
    static const char *const stems[] = { "train_var.gp", "train_hist.gp", "train_loss.gp", "train_acc.gp" };
    for (size_t k = 0; k < sizeof stems / sizeof stems[0]; k++) {
        char *gp = c12_read(plots, stems[k]);
        cr_expect_gt(c12_check_ylabels(gp, stems[k]), 0, "%s has y labels", stems[k]);
        free(gp);
    }
    vt_rmtree(dir);
}

/* ---- extreme sweeps ---- */

/* DIR/x.json holding json, run into DIR/res with its charts in DIR/plots (c12_dirs):
 * exit 0, no gnuplot error. */
static void c12_run_json(char dir[64], char res[128], char plots[128], const char *json)
{
    c12_dirs(dir, res, plots);
    rmdir(res);
    c12_run_config(dir, res, plots, json);
}

/* Every "set yrange [lo:hi]" of PLOTS/gpn is finite, increasing, and holds [need_lo, need_hi]
 * (INFINITY, -INFINITY: any values). */
static void c12_yranges_hold(const char *plots, const char *gpn, double need_lo, double need_hi)
{
    char *gp = c12_read(plots, gpn);
    int n = 0;
    for (const char *r = gp; (r = strstr(r, "set yrange [")); r++) {
        double lo, hi;
        if (strstr(r, "set yrange [0:1]") == r) continue; /* the legend strip */
        cr_assert_eq(sscanf(r, "set yrange [%lf:%lf]", &lo, &hi), 2, "%s: %.40s", gpn, r);
        cr_assert(isfinite(lo) && isfinite(hi) && lo < hi, "%s: %.40s", gpn, r);
        cr_assert(lo <= need_lo && hi >= need_hi, "%s: %.40s does not hold [%g, %g]", gpn, r, need_lo, need_hi);
        n++;
    }
    cr_assert(n > 0, "%s sets no y range", gpn);
    free(gp);
}

/* gain 1e6 next to gains 1 and 2, depth 100: relu's predicted variance reaches ~1e305
 * (double) while gain 1's vanishes to ~1e-33. The by-layer charts padded their log range
 * with (hi/lo)^0.05, which overflowed to inf: gnuplot refused "set yrange [0:inf]" and
 * `run` lost its charts. The heatmap placed the rows at 1, 2 and 1e6 (gains 1 and 2 a
 * sliver at the bottom) and autoscaled each panel: the gradients panel, whose gain-1e6
 * row has no finite ratio, ended at another height than its neighbour, with its "nan"
 * labels on the border. Now uneven values take one row each, in order, and both panels
 * span the grid's edges. */
Test(charts12_extreme, exploding_theory_and_uneven_gains_still_chart)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"network\":{\"depth\":100,\"width\":16,\"init\":{\"name\":\"orthogonal\",\"gain\":1}},"
                 "\"input\":{\"batch\":16},\"sweep\":{\"network.activation\":[\"relu\",\"tanh\"],"
                 "\"network.init.gain\":[1,2,1e6]}}");
    static const char *const stems[] = { "act_var_pre", "act_var_post", "grad_var", "wgrad_var", "spp", "heatmap" };
    for (size_t k = 0; k < sizeof stems / sizeof *stems; k++) {
        char png[64], gpn[64];
        snprintf(png, sizeof png, "%s.png", stems[k]);
        snprintf(gpn, sizeof gpn, "%s.gp", stems[k]);
        cr_assert(c12_exists(plots, png), "%s was not drawn", png);
        c12_yranges_hold(plots, gpn, INFINITY, -INFINITY);
    }
    char *gp = c12_read(plots, "heatmap.gp");
    cr_assert(strstr(gp, "set ytics ('1' 1, '2' 2, '1000000' 3) noenhanced"), "one row per gain, in order");
    const char *r = gp;
    int n = 0;
    while ((r = strstr(r, "set xrange [0.5:2.5]; set yrange [0.5:3.5]"))) n++, r++;
    cr_assert_eq(n, 4, "both panels (PNG and SVG) span the whole grid: %d", n);
    free(gp);
    char *dat = c12_read(plots, "heatmap.dat");
    cr_assert(strstr(dat, "\n1 3 0.5 1.5 2.5 3.5 ? nan\n"), "relu at gain 1e6: a grey cell labelled nan, in the grid");
    free(dat);
    vt_rmtree(dir);
}

/* Curves that coincide: xavier_normal and lecun_normal give tanh the same variance at
 * equal fans, and with markers on the same layers one curve hid the other while the
 * legend listed both (a new user's find). Each curve now has marker layers of its own:
 * at depth 20 (a marker every 2 layers before) the 3 curves put theirs every 3 layers,
 * from layers 1, 2 and 3 (with every 2, the first and third shared theirs). */
Test(charts12_extreme, coinciding_curves_show_each_ones_markers)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                   "{\"name\":\"co\",\"network\":{\"depth\":20,\"width\":16,\"activation\":\"tanh\"},\"input\":{\"batch\":16},"
                   "\"sweep\":{\"network.init\":[\"xavier_normal\",\"lecun_normal\",\"he_normal\"]}}");
    char *gp = c12_read(plots, "act_var_pre.gp"), *png = c12_png_part(gp);
    for (int j = 0; j < 3; j++) {
        char want[128];
        snprintf(want, sizeof want, "'act_var_pre.dat' index %d every 3::%d using 1:2 with points lt %d notitle", j, j,
                 j + 1);
        cr_assert(strstr(png, want), "curve %d: no \"%s\" in\n%s", j, want, png);
    }
    cr_assert(!strstr(png, " pi 2 "), "no curve keeps the shared marker layers");
    free(png);
    free(gp);
    vt_rmtree(dir);
}

/* Heatmap tics: 18 activation names are all labelled (no order tells an unlabelled
 * column; labelling every other one hid sigmoid and hard_sigmoid); 18 doubling gains go
 * in order, one cell each (at their values 1 and 2 were slivers), with about 12 labels. */
Test(charts12_extreme, heatmap_labels_every_name_and_thins_ordered_numbers)
{
    char dir[64], res[128], plots[128];
    static const char NAMES[] = "[\"identity\",\"relu\",\"relu6\",\"leaky_relu\",\"elu\",\"celu\",\"selu\",\"gelu\","
                                "\"silu\",\"mish\",\"sigmoid\",\"hard_sigmoid\",\"tanh\",\"hard_tanh\",\"softplus\","
                                "\"softsign\",\"log_sigmoid\",\"tanhshrink\"]";
    char cfg[1024], want[1024];
    c12_dirs(dir, res, plots);
    rmdir(res);
    snprintf(cfg, sizeof cfg, "{\"name\":\"n\",\"network\":{\"depth\":2,\"width\":4},\"input\":{\"batch\":4},\"sweep\":"
                              "{\"network.activation\":%s,\"network.init\":[\"he_normal\",\"xavier_normal\"]}}", NAMES);
    c12_run_config(dir, res, plots, cfg);
    char *gp = c12_read(plots, "heatmap.gp");
    size_t at = (size_t)snprintf(want, sizeof want, "set xtics (");
    const char *n = NAMES + 1;
    for (int i = 1; *n == '"'; i++) {
        const char *end = strchr(n + 1, '"');
        at += (size_t)snprintf(want + at, sizeof want - at, "%s'%.*s' %d", i > 1 ? ", " : "", (int)(end - n - 1), n + 1, i);
        n = end + 2;
    }
    snprintf(want + at, sizeof want - at, ")");
    cr_assert(strstr(gp, want), "no \"%s\" in the heatmap script", want);
    free(gp);
    vt_rmtree(res);
    vt_rmtree(plots);
    c12_run_config(dir, res, plots,
                   "{\"name\":\"g\",\"network\":{\"depth\":2,\"width\":4,\"init\":{\"name\":\"orthogonal\",\"gain\":1}},"
                   "\"input\":{\"batch\":4},\"sweep\":{\"network.activation\":[\"relu\",\"tanh\"],\"network.init.gain\":"
                   "[1,2,4,8,16,32,64,128,256,512,1024,2048,4096,8192,16384,32768,65536,131072]}}");
    gp = c12_read(plots, "heatmap.gp");
    cr_assert(strstr(gp, "set ytics ('1' 1, '' 2, '4' 3, '' 4, '16' 5, '' 6, '64' 7, "), "%s", gp);
    cr_assert(strstr(gp, "'' 16, '65536' 17, '' 18) noenhanced"));
    free(gp);
    vt_rmtree(dir);
}

/* The y range of a chart holds its values whatever their size. A linear orthogonal net
 * keeps the variance to a few ulps: the range, padded by 5% of next to nothing, printed
 * as one number and gnuplot refused it ("empty y range": spp, corr and report.md were
 * lost). A float64 net at 1e150 inputs reaches 2e306: the range must reach it too (a
 * first fix capped it at 1e300, upside down below the values). */
Test(charts12_extreme, nearly_constant_and_huge_values_keep_their_charts)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots, "{\"name\":\"a\",\"network\":{\"depth\":10,\"width\":128,\"activation\":\"linear\","
                                    "\"init\":\"orthogonal\"}}");
    static const char *const drawn[] = { "act_var_pre.png", "spp.png", "corr.png", "grad_var.png", "report.md" };
    for (size_t k = 0; k < sizeof drawn / sizeof *drawn; k++) cr_assert(c12_exists(plots, drawn[k]), "%s", drawn[k]);
    vt_rmtree(res);
    vt_rmtree(plots);
    c12_run_config(dir, res, plots, "{\"name\":\"big\",\"precision\":\"float64\",\"network\":{\"depth\":3,\"width\":8,"
                                    "\"activation\":\"identity\",\"init\":{\"name\":\"orthogonal\",\"gain\":10}},"
                                    "\"input\":{\"std\":1e150,\"batch\":8}}");
    char *gp = c12_read(plots, "act_var_pre.gp"), *dat = c12_read(plots, "act_var_pre.dat");
    double lo, hi, vmax = 0;
    const char *r = strstr(gp, "set yrange [");
    cr_assert(r && sscanf(r, "set yrange [%lf:%lf]", &lo, &hi) == 2);
    for (const char *l = dat; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        double layer, v;
        if (*l != '#' && sscanf(l, "%lf %lf", &layer, &v) == 2) vmax = fmax(vmax, v);
    }
    cr_assert(vmax > 1e306, "the values reach %g", vmax);
    cr_assert(lo < hi && hi >= vmax, "range [%g:%g] for values up to %g", lo, hi, vmax);
    free(gp);
    free(dat);
    vt_rmtree(dir);
}

/* A stable float64 relu net fed inputs of std 1e150: every Var[z^l] is 2e300 .. 1e301,
 * finite and in range for a double. ck_log_yrange capped the padded range at 1e300
 * above the data, so the range came out inverted ([2.1e300:1e300]) and the by-layer
 * charts of an ordinary run were empty. Now the cap only limits the padding: the range
 * holds every drawn value up to 8e307 (gnuplot's log axis fails beyond about that). */
Test(charts12_extreme, values_beyond_1e300_keep_an_increasing_range_that_holds_them)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"precision\":\"float64\",\"network\":{\"depth\":5,\"width\":16,\"activation\":"
                 "\"relu\",\"init\":\"he_normal\"},\"input\":{\"batch\":8,\"std\":1e150}}");
    c12_yranges_hold(plots, "act_var_pre.gp", 2.25e300, 9.8e300);
    c12_yranges_hold(plots, "act_var_post.gp", 8.6e299, 4.05e300);
    vt_rmtree(dir);
}

/* A training that diverged at step 2 (relu, sgd lr 1e12): train.csv holds one finite loss
 * per seed (step 1) and layers_train.csv the probe at step 0 alone. train_loss drew each
 * variant `with lines` and train_var each layer too: a line of one point draws nothing,
 * so both charts were blank under legends naming their curves. A lone point is now drawn
 * as a point (the loss with its seed range as a bar). */
Test(charts12_extreme, a_training_that_diverged_at_once_still_draws_its_points)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"seeds\":2,\"network\":{\"depth\":4,\"width\":16,\"activation\":\"relu\"},"
                 "\"input\":{\"batch\":16},\"train\":{\"dataset\":{\"name\":\"synthetic\",\"kind\":\"clusters\","
                 "\"dim\":16,\"classes\":4,\"n_train\":256,\"n_test\":64},\"epochs\":1,\"batch\":32,"
                 "\"optimizer\":{\"name\":\"sgd\",\"lr\":1e12},\"track_every\":5}}");
    char *runs = c12_read(res, "runs.csv");
    cr_assert(strstr(runs, ",diverged,2"), "both seeds diverge at step 2: %s", runs);
    free(runs);
    char *dat = c12_read(plots, "train_loss.dat");
    cr_assert(strstr(dat, "\n1 ") && strstr(dat, "\n2 ? ? ? 0 ?\n"), "one finite loss, at step 1: %s", dat);
    free(dat);
    char *gp = c12_read(plots, "train_loss.gp");
    cr_assert(strstr(gp, "'train_loss.dat' index 0 using 1:2:3:4 with yerrorbars"), "the lone loss is a point: %s", gp);
    cr_assert(!strstr(gp, "index 0 using 1:2 with lines"), "no line of one point: %s", gp);
    free(gp);
    gp = c12_read(plots, "train_var.gp");
    cr_assert(strstr(gp, "'train_var.dat' index 0 using 1:2 with linespoints pt 7"), "step 0 alone: points");
    cr_assert(!strstr(gp, "with lines lw 1.3"), "no line of one point");
    cr_assert(strstr(gp, "set xrange [-1:1]"), "step 0 in the middle of its axis");
    free(gp);
    vt_rmtree(dir);
}

/* A network of one layer: each curve of the by-layer charts is one point. Its theory
 * (`with lines`) and its seed range (`filledcurves`) drew nothing, under a legend that
 * named both. The theory is now a dashed dash across the point, the range a bar. */
Test(charts12_extreme, one_layer_draws_its_theory_and_seed_range)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"seeds\":2,\"network\":{\"depth\":1,\"width\":8,\"activation\":\"tanh\"},"
                 "\"input\":{\"batch\":4},\"sweep\":{\"network.init\":[\"he_normal\",\"xavier_normal\"]}}");
    char *gp = c12_read(plots, "act_var_pre.gp");
    for (int v = 0; v < 2; v++) {
        char want[128];
        snprintf(want, sizeof want, "'act_var_pre.dat' index %d using ($1-0.2):5:(0.4):(0) with vectors nohead", v);
        cr_assert(strstr(gp, want), "variant %d's theory: %s", v, gp);
        snprintf(want, sizeof want, "'act_var_pre.dat' index %d using 1:2:3:4 with yerrorbars", v);
        cr_assert(strstr(gp, want), "variant %d's seed range: %s", v, gp);
    }
    cr_assert(!strstr(gp, "with filledcurves lt"), "no band of one point");
    cr_assert(strstr(gp, "min–max over 2 seeds (bar)"), "the legend says it is a bar");
    free(gp);
    vt_rmtree(dir);
}

/* A gain sweep of a one-layer tanh net, one seed: the layer's correlation c^1 does not
 * depend on the weights' scale, so every variant's pre_corr (and the theory's) agree to
 * 1e-8. The linear y range took 5% of that spread each side and printed both ends as
 * 0.214249: gnuplot refused the corr chart ("Can't plot with an empty y range!"), the
 * run exited 1 and report.md was not written. The margin is now at least 1e-4 of the
 * values. */
Test(charts12_extreme, values_that_agree_to_1e_8_still_get_a_y_range)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"network\":{\"depth\":1,\"width\":8,\"activation\":\"tanh\",\"init\":\"orthogonal\"},"
                 "\"input\":{\"batch\":4},\"sweep\":{\"network.init.gain\":[0.5,1,1.4]}}");
    cr_assert(c12_exists(plots, "corr.png") && c12_exists(plots, "report.md"), "charts drawn");
    char *gp = c12_read(plots, "corr.gp");
    const char *r = strstr(gp, "set yrange [");
    double lo, hi;
    cr_assert(r && sscanf(r, "set yrange [%lf:%lf]", &lo, &hi) == 2 && lo < 0.214248 && hi > 0.214249, "%.60s", r);
    free(gp);
    vt_rmtree(dir);
}

/* A linear net with orthogonal weights in float64 keeps its statistics to the last bits
 * (unit_sq_mean 0.462070337 at every layer, up to 1e-16 apart). The log range's padding,
 * 5% of the decades spanned, was a factor 1 + 1e-17: both ends printed as 0.46207,
 * gnuplot refused the spp chart ("Can't plot with an empty y range!") and the run exited
 * 1 without report.md. The padding is now at least a factor 1 + 1e-4. */
Test(charts12_extreme, a_flat_log_chart_still_gets_a_y_range)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"precision\":\"float64\",\"network\":{\"depth\":3,\"width\":8,\"activation\":"
                 "\"linear\",\"init\":\"orthogonal\"},\"input\":{\"batch\":4}}");
    cr_assert(c12_exists(plots, "spp.png") && c12_exists(plots, "report.md"), "charts drawn");
    c12_yranges_hold(plots, "spp.gp", INFINITY, -INFINITY); /* increasing, whatever the values */
    c12_yranges_hold(plots, "act_var_pre.gp", INFINITY, -INFINITY);
    vt_rmtree(dir);
}

/* The Jacobian of a linear net with orthogonal weights has every singular value 1 (to
 * 1e-15). The bins spanned the values' own range, 1e-16 decades: a density of 6e16 per
 * unit log10 sigma on the y axis. Values within a tenth of a decade now share a decade
 * centred on them: one bin holds them all, density 1/width = 50. */
Test(charts12_extreme, equal_singular_values_fill_one_bin_of_a_decade)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"precision\":\"float64\",\"network\":{\"depth\":3,\"width\":8,\"activation\":"
                 "\"linear\",\"init\":\"orthogonal\"},\"input\":{\"batch\":4},\"measure\":{\"jacobian\":true}}");
    char *dat = c12_read(plots, "jacobian.dat");
    double first = NAN, last = NAN, s, d, dmax = 0;
    int nonzero = 0;
    for (char *line = strtok(dat, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '#' && sscanf(line, "%lf %lf", &s, &d) == 2) {
            if (isnan(first)) first = s;
            last = s;
            nonzero += d > 0;
            dmax = fmax(dmax, d);
        }
    cr_assert(log10(last / first) > 0.9, "bins from %g to %g", first, last);
    cr_assert_eq(nonzero, 1, "one bin holds the 8 values");
    cr_assert(dmax > 49 && dmax < 51, "density %g", dmax);
    free(dat);
    vt_rmtree(dir);
}

/* A sigma_w x sigma_b sweep over values far from evenly spaced (sigma_w 0.001 .. 1000,
 * sigma_b 0, 0.001, 1000) kept its values' positions, for its chi_1 = 1 line: every cell
 * but the largest was a sliver at the edge, with the values' labels printed over each
 * other, in the heatmap and the phase chart alike. Now such values take one cell each
 * (as any other uneven sweep since 32742ea), and the line is drawn through the cells,
 * linear between the values around it (a block of the chart's .dat). An even sigma grid
 * keeps its positions (charts12_phase/uneven_sigma_squared_grid_stays_readable). */
Test(charts12_extreme, an_uneven_sigma_grid_takes_one_cell_per_value)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"network\":{\"depth\":4,\"width\":8,\"activation\":\"relu\",\"init\":\"mean_field\"},"
                 "\"input\":{\"batch\":4},\"sweep\":{\"network.init.sigma_w\":[0.001,1,1.4142,2,1000],"
                 "\"network.init.sigma_b\":[0,0.001,1000]}}");
    char *gp = c12_read(plots, "heatmap.gp");
    cr_assert(strstr(gp, "set xtics ('0.001' 1, '1' 2, '1.4142' 3, '2' 4, '1000' 5) noenhanced"), "%s", gp);
    cr_assert(strstr(gp, "set ytics ('0' 1, '0.001' 2, '1000' 3) noenhanced"), "%s", gp);
    cr_assert(strstr(gp, "'heatmap.dat' index 2 using 1:2 with lines lw 2.5 lc rgb 'black'"), "the line in cells");
    free(gp);
    /* relu's line sigma_w = sqrt 2, just right of the cell of 1.4142, from sigma_b = 0 (row 1) up */
    char *dat = c12_read(plots, "heatmap.dat"), *line = c12_block(dat, 2);
    double x, y;
    cr_assert(sscanf(line, "%lf %lf", &x, &y) == 2 && fabs(x - 3.0000232) < 1e-6 && y == 1, "%.60s", line);
    free(line);
    free(dat);
    gp = c12_read(plots, "phase.gp");
    cr_assert(strstr(gp, "set ytics ('0' 1, '1e-06' 2, '1e+06' 3) noenhanced"), "sigma_b^2, one row each: %s", gp);
    cr_assert(strstr(gp, "'phase.dat' index 4 using 1:2 with lines lw 2.5 lc rgb 'black'"), "the line in cells");
    free(gp);
    dat = c12_read(plots, "phase.dat");
    line = c12_block(dat, 4);
    cr_assert(sscanf(line, "%lf %lf", &x, &y) == 2 && fabs(x - 3.0000192) < 1e-6 && y == 1, "%.60s", line);
    free(line);
    free(dat);
    vt_rmtree(dir);
}

/* relu at orthogonal gains 1e-6, 1 and 1e6, depth 30, float32: at gain 1e-6 z^L
 * underflows to exactly 0, so every gradient is 0 (relu'(0) = 0) -- nothing to draw on the
 * log axis -- while the theory predicts 0.5 at the last layer down to 1e-296; at gain 1e6
 * every gradient is nan. grad_var drew gain 1 alone: the variants without a drawable
 * measurement lost their theory curve and their legend entry (while the y range still
 * stretched to 1e-300 for that theory), and nothing said why. Now such a variant keeps its
 * theory, dashed, and its legend entry, and the note names every variant with nothing
 * measured. */
Test(charts12_extreme, a_variant_with_nothing_measured_keeps_its_theory_and_is_named)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"network\":{\"depth\":30,\"width\":16,\"activation\":\"relu\",\"init\":\"orthogonal\"},"
                 "\"input\":{\"batch\":8},\"sweep\":{\"network.init.gain\":[1e-6,1,1e6]}}");
    char *gp = c12_read(plots, "grad_var.gp");
    cr_assert(strstr(gp, "'grad_var.dat' index 0 using 1:5 with lines"), "gain 1e-6: its theory: %s", gp);
    cr_assert(!strstr(gp, "'grad_var.dat' index 0 using 1:2 "), "gain 1e-6: no measurement to draw");
    cr_assert(strstr(gp, "title 'orthogonal(gain=1e-06)'"), "gain 1e-6 in the legend");
    cr_assert(!strstr(gp, "title 'orthogonal(gain=1000000)'"), "gain 1e6: nothing at all to draw");
    free(gp);
    char *rep = c12_read(plots, "report.md");
    cr_assert(strstr(rep, "Nothing measured to draw for 2 of 3 variants (#0 relu / orthogonal(gain=1e-06): its theory "
                          "alone, dashed; #2 relu / orthogonal(gain=1000000): not drawn)"), "%s", rep);
    free(rep);
    vt_rmtree(dir);
}

/* A pre-norm residual block network: its layernorm and residual-add rows have wgrad_var
 * nan by definition (no weights, docs/architectures.md). The wgrad_var chart's note
 * counted them as "non-finite (nan/inf)" values, which reads as an overflow in a healthy
 * run; they are now named for what they are. */
Test(charts12_extreme, layers_without_weights_are_not_called_non_finite)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"x\",\"network\":{\"input_dim\":8,\"activation\":\"relu\",\"layers\":[{\"type\":\"repeat\","
                 "\"count\":3,\"layers\":[{\"type\":\"residual\",\"norm\":\"pre\",\"branch\":[{\"type\":\"dense\","
                 "\"width\":8}]}]}]},\"input\":{\"batch\":4}}");
    char *rep = c12_read(plots, "report.md"), *w = strstr(rep, "(wgrad_var.dat)");
    cr_assert(w, "%s", rep);
    char *next = strstr(w, "\n### ");
    if (next) *next = '\0';
    cr_assert(strstr(w, "Layers without weights (norms, pools, flatten, residual adds: 6 rows) have no ∂L/∂W"), "%s", w);
    cr_assert(!strstr(w, "non-finite"), "%s", w);
    free(rep);
    vt_rmtree(dir);
}

/* tanh's chi_1 = 1 line on an uneven sigma grid: critical_line.dat steps 10 in sigma_b
 * (sigma_w 1 at sigma_b 0, 4.53 at 10), and its straight image between those points
 * crossed the sigma_b = 0.001 row in the sigma_w = 2 cell; the line is sigma_w ~ 1.009
 * there. A segment is now cut where it crosses a cell's value, so at the row's centre
 * (y = 2) the line lies in the sigma_w = 1 cell (x in [1.5, 2.5]), in both charts (within
 * the cell it is still linear between critical_line.dat's points: ~1.0003, not 1.009). */
Test(charts12_extreme, the_critical_line_crosses_uneven_cells_where_it_is)
{
    char dir[64], res[128], plots[128];
    c12_run_json(dir, res, plots,
                 "{\"name\":\"ug\",\"network\":{\"depth\":4,\"width\":16,\"activation\":\"tanh\",\"init\":{\"name\":"
                 "\"mean_field\",\"sigma_w\":1,\"sigma_b\":0}},\"input\":{\"batch\":8},\"sweep\":{\"network.init.sigma_w\":"
                 "[0.001,1,1.4142,2,1000],\"network.init.sigma_b\":[0,0.001,1000]}}");
    static const char *const files[2][2] = { { "heatmap.dat", "# index 2:" }, { "phase.dat", "# index 4:" } };
    for (int k = 0; k < 2; k++) { /* the phase chart: sigma^2 axes, the same row, the same cell */
        char *dat = c12_read(plots, files[k][0]);
        const char *l = strstr(dat, files[k][1]);
        cr_assert(l, "no chi_1 = 1 block in %s", files[k][0]);
        int found = 0;
        for (l = strchr(l, '\n'); l && *++l; l = strchr(l, '\n')) {
            double x, y;
            if (sscanf(l, "%lf %lf", &x, &y) == 2 && y == 2.0) {
                cr_assert(x > 1.5 && x < 2.5, "%s: at the sigma_b = 0.001 row the line is at x = %g", files[k][0], x);
                found = 1;
            }
        }
        cr_assert(found, "%s: the line has no point on the sigma_b = 0.001 row's centre", files[k][0]);
        free(dat);
    }
    vt_rmtree(dir);
}
