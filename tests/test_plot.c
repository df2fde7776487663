/* Tests for the gnuplot pipe (src/present/plot.c), the charts (src/present/charts.c), the
 * report (src/present/report.c) and `varprop plot` (src/cli/cmd_plot.c), on the results
 * folders in tests/fixtures (see make_fixtures.py). Run from the repo root. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "present/charts.h"
#include "harness.h"
#include "cli/cli.h"
#include "present/plot.h"

#define FIXTURES "tests/fixtures"

/* ---- helpers ---- */

static int plt_exists(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return vt_exists(p);
}

static char *plt_slurp(const char *dir, const char *name, size_t *len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return vt_slurp_must(p, len);
}

/* PNG signature, then the IHDR chunk with width and height (big-endian). */
static void plt_check_png(const char *dir, const char *name, unsigned w, unsigned h)
{
    size_t n;
    unsigned char *b = (unsigned char *)plt_slurp(dir, name, &n);
    static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
    cr_assert(n > 24 && memcmp(b, sig, 8) == 0, "%s is not a PNG", name);
    cr_assert(memcmp(b + 12, "IHDR", 4) == 0, "%s has no IHDR first", name);
    unsigned pw = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    unsigned ph = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    cr_assert(pw == w && ph == h, "%s is %ux%u, want %ux%u", name, pw, ph, w, h);
    free(b);
}

static void plt_check_svg(const char *dir, const char *name)
{
    char *b = plt_slurp(dir, name, NULL);
    cr_assert(strncmp(b, "<?xml", 5) == 0 || strstr(b, "<svg"), "%s does not start an SVG", name);
    cr_assert(strstr(b, "<svg") && strstr(b, "</svg>"), "%s is not a complete SVG", name);
    free(b);
}

/* No temporary ("*.tmp.<pid>") files left in dir. */
static void plt_no_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        cr_assert(strstr(de->d_name, ".tmp.") == NULL, "temporary left behind: %s", de->d_name);
    closedir(d);
}

static const char *const ALL_STEMS[] = { "act_var_pre", "act_var_post", "grad_var", "wgrad_var", "act_mean", "spp",
                                         "dead_saturated", "hist_pre", "hist_post", "hist_grad_pre", "heatmap",
                                         "overview", "jacobian" };
#define NSTEMS (sizeof ALL_STEMS / sizeof ALL_STEMS[0])

static void plt_check_chart(const char *dir, const char *stem)
{
    char f[128];
    snprintf(f, sizeof f, "%s.png", stem);
    plt_check_png(dir, f, 1200, 800);
    snprintf(f, sizeof f, "%s.svg", stem);
    plt_check_svg(dir, f);
    snprintf(f, sizeof f, "%s.gp", stem);
    cr_assert(plt_exists(dir, f), "missing %s", f);
    snprintf(f, sizeof f, "%s.dat", stem);
    cr_assert(plt_exists(dir, f), "missing %s", f);
}

/* ---- the pipe ---- */

Test(vp_plot_pipe, quote_neutralises_gnuplot_syntax)
{
    char q[64];
    cr_assert_str_eq(vp_plot_quote(q, sizeof q, "he_normal"), "'he_normal'");
    cr_assert_str_eq(vp_plot_quote(q, sizeof q, "a'b"), "'a''b'");
    cr_assert_str_eq(vp_plot_quote(q, sizeof q, "x\ny\tz"), "'x y z'");
    cr_assert_str_eq(vp_plot_quote(q, sizeof q, "`ls` @m"), "'`ls` @m'"); /* inert inside '...' */
    cr_assert_str_eq(vp_plot_quote(q, sizeof q, "bad\xff utf8"), "'bad? utf8'");
    char small[12];
    vp_plot_quote(small, sizeof small, "abcdefghijklmnop");
    cr_assert_str_eq(small, "'abcde...'");
    vp_plot_quote(small, sizeof small, "''''''''");
    cr_assert_eq(small[0], '\'');
    cr_assert_eq(small[strlen(small) - 1], '\'');
}

/* A title broken into lines that fit: at spaces, a word longer than a line cut, UTF-8
 * characters counted as one, quotes still doubled, and the last line allowed ending in
 * "…" when text is left (the count says how many lines all of it needs). */
Test(vp_plot_pipe, quote_wrapped_breaks_at_spaces_within_the_width)
{
    char q[256];
    cr_assert_eq(vp_plot_quote_wrapped(q, sizeof q, "he_normal", 20, 3), 1);
    cr_assert_str_eq(q, "'he_normal'");
    cr_assert_eq(vp_plot_quote_wrapped(q, sizeof q, "aaa bbb ccc ddd", 8, 3), 2);
    cr_assert_str_eq(q, "'aaa bbb'.\"\\n\".'ccc ddd'");
    cr_assert_eq(vp_plot_quote_wrapped(q, sizeof q, "abcdefghij kl", 4, 9), 4, "a long word is cut");
    cr_assert_str_eq(q, "'abcd'.\"\\n\".'efgh'.\"\\n\".'ij'.\"\\n\".'kl'");
    cr_assert_eq(vp_plot_quote_wrapped(q, sizeof q, "σ² · σ² ·", 5, 3), 2, "characters, not bytes");
    cr_assert_str_eq(q, "'σ² ·'.\"\\n\".'σ² ·'");
    cr_assert_eq(vp_plot_quote_wrapped(q, sizeof q, "it's a b c d", 4, 2), 3, "all of it needs 3 lines");
    cr_assert_str_eq(q, "'it''s'.\"\\n\".'a b…'");
    cr_assert_eq(vp_plot_chars_in(1180, 13), 126);
    cr_assert_float_eq(vp_plot_text_px("σ²ab", 10), 4 * VP_PLOT_CHAR_EM * 10, 1e-12);
}

Test(vp_plot_pipe, draws_png_and_tees_script)
{
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_plot *p;
    vp_err err = { "" };
    cr_assert_eq(vp_plot_open(&p, dir, "x.gp", &err), VP_OK, "%s", err.msg);
    vp_plot_cmd(p, "set terminal pngcairo size 1200,800");
    vp_plot_output(p, "x.png");
    vp_plot_comment(p, "a comment\nwith a newline");
    cr_assert_eq(vp_plot_cmd(p, "plot sin(x) title %s", "'sine'"), VP_OK);
    cr_assert_eq(vp_plot_close(p, &err), VP_OK, "%s", err.msg);
    plt_check_png(dir, "x.png", 1200, 800);
    char *gp = plt_slurp(dir, "x.gp", NULL);
    cr_assert(strstr(gp, "set output 'x.png'\n"), "script must name the final output: %s", gp);
    cr_assert(strstr(gp, ".tmp.") == NULL, "script must not name temporaries");
    cr_assert(strstr(gp, "# a comment with a newline\n"));
    cr_assert(strstr(gp, "cd ") == NULL, "the cd is for the pipe only");
    free(gp);
    plt_no_temporaries(dir);
    vt_rmtree(dir);
}

Test(vp_plot_pipe, gnuplot_error_is_reported_and_nothing_left)
{
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_plot *p;
    vp_err err = { "" };
    cr_assert_eq(vp_plot_open(&p, dir, "bad.gp", &err), VP_OK, "%s", err.msg);
    vp_plot_cmd(p, "set terminal pngcairo size 1200,800");
    vp_plot_output(p, "bad.png");
    vp_plot_cmd(p, "plot sin(x)");
    vp_plot_cmd(p, "frobnicate the axes");
    vp_status s = vp_plot_close(p, &err);
    cr_assert_eq(s, VP_ERR_EXTERNAL);
    cr_assert(strstr(err.msg, "gnuplot") && strstr(err.msg, "invalid command"), "message: %s", err.msg);
    cr_assert(strstr(err.msg, "frobnicate"), "message should name the command: %s", err.msg);
    cr_assert(!plt_exists(dir, "bad.png"), "no output after a failure");
    cr_assert(!plt_exists(dir, "bad.gp"), "no script after a failure");
    plt_no_temporaries(dir);
    vt_rmtree(dir);
}

Test(vp_plot_pipe, missing_gnuplot_env_override)
{
    setenv("VARPROP_GNUPLOT", "/nonexistent/bin/gnuplot", 1);
    cr_assert_eq(vp_plot_available(), 0);
    cr_assert_eq(vp_charts_can_draw(), 0);
    cr_assert_str_eq(vp_plot_program(), "/nonexistent/bin/gnuplot");
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_plot *p = NULL;
    vp_err err = { "" };
    cr_assert_eq(vp_plot_open(&p, dir, "x.gp", &err), VP_ERR_EXTERNAL);
    cr_assert_null(p);
    cr_assert(strstr(err.msg, "VARPROP_GNUPLOT names no program that runs"), "%s", err.msg); /* not "install gnuplot" */
    cr_assert(!plt_exists(dir, "x.gp"));
    plt_no_temporaries(dir);

    /* The charts entry point says so before touching anything. */
    char plots[128];
    snprintf(plots, sizeof plots, "%s/plots", dir);
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", plots, &err), VP_ERR_EXTERNAL);
    cr_assert(strstr(err.msg, "VARPROP_GNUPLOT names no program that runs"), "%s", err.msg);
    cr_assert(!plt_exists(dir, "plots"));
    vt_rmtree(dir);
}

Test(vp_plot_pipe, missing_gnuplot_on_path)
{
    unsetenv("VARPROP_GNUPLOT");
    setenv("PATH", "/nonexistent-dir", 1);
    cr_assert_eq(vp_plot_available(), 0);
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_plot *p = NULL;
    vp_err err = { "" };
    cr_assert_eq(vp_plot_open(&p, dir, NULL, &err), VP_ERR_EXTERNAL);
    cr_assert(strstr(err.msg, "gnuplot-nox"), "%s", err.msg);
    setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
    vt_rmtree(dir);
}

Test(vp_plot_pipe, hostile_text_does_not_execute)
{
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    char evil[4][512], pw[4][128];
    for (int i = 0; i < 4; i++) snprintf(pw[i], sizeof pw[i], "%s/pwned%d", dir, i);
    snprintf(evil[0], sizeof evil[0], "a'; system('touch %s'); '", pw[0]);
    snprintf(evil[1], sizeof evil[1], "`touch %s`", pw[1]);
    snprintf(evil[2], sizeof evil[2], "x\n!touch %s\n", pw[2]);
    snprintf(evil[3], sizeof evil[3], "\" . system(\"touch %s\") . \"", pw[3]);
    vp_plot *p;
    vp_err err = { "" };
    cr_assert_eq(vp_plot_open(&p, dir, "h.gp", &err), VP_OK, "%s", err.msg);
    vp_plot_cmd(p, "set terminal pngcairo size 1200,800");
    vp_plot_output(p, "h.png");
    vp_plot_cmd(p, "cmd = 'touch %s'", pw[0]);
    char q[1200];
    for (int i = 0; i < 4; i++) {
        vp_plot_cmd(p, "set title %s noenhanced", vp_plot_quote(q, sizeof q, evil[i]));
        vp_plot_cmd(p, "set label %d %s at graph 0.5, 0.5", i + 1, vp_plot_quote(q, sizeof q, evil[i]));
    }
    vp_plot_cmd(p, "set xlabel %s", vp_plot_quote(q, sizeof q, "@cmd"));
    vp_plot_cmd(p, "plot x title %s noenhanced", vp_plot_quote(q, sizeof q, evil[0]));
    cr_assert_eq(vp_plot_close(p, &err), VP_OK, "%s", err.msg);
    for (int i = 0; i < 4; i++) cr_assert(access(pw[i], F_OK) != 0, "hostile text %d ran a command", i);
    plt_check_png(dir, "h.png", 1200, 800);
    vt_rmtree(dir);
}

Test(vp_plot_pipe, control_characters_in_folder_refused)
{
    vp_plot *p = NULL;
    vp_err err = { "" };
    cr_assert_eq(vp_plot_open(&p, "/tmp/bad\ndir", "x.gp", &err), VP_ERR_IO);
    cr_assert(strstr(err.msg, "control character"), "%s", err.msg);
    vp_plot_close(NULL, &err);
    vp_plot_abort(NULL);
}

/* ---- the charts ---- */

Test(vp_charts, every_chart_of_a_full_folder)
{
    char dir[64], plots[128];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    snprintf(plots, sizeof plots, "%s/plots/small", dir); /* created on demand */
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", plots, &err), VP_OK, "%s", err.msg);
    for (size_t i = 0; i < NSTEMS; i++) plt_check_chart(plots, ALL_STEMS[i]);
    plt_no_temporaries(plots);

    char *md = plt_slurp(plots, "report.md", NULL);
    cr_assert(strstr(md, "# Variance propagation: small"));
    cr_assert(strstr(md, "Fixture: two activations"));
    for (size_t i = 0; i < NSTEMS; i++) {
        char link[64];
        snprintf(link, sizeof link, "](%s.png)", ALL_STEMS[i]);
        cr_assert(strstr(md, link), "report lacks %s", link);
    }
    cr_assert(strstr(md, "variance\\_scaling(scale=2,mode=fan\\_avg,distribution=truncated\\_normal)"),
              "summary row for the quoted init label");
    cr_assert(strstr(md, "2 non-finite (nan/inf) and 1 non-positive"), "the skipped values are reported");
    cr_assert(strstr(md, "```json\n{"), "config in a code block");
    cr_assert(strstr(md, "\"truncated_normal\"") == NULL || strstr(md, "```json"));
    free(md);

    /* The theory prediction is in the data and drawn dashed. */
    char *dat = plt_slurp(plots, "act_var_pre.dat", NULL);
    cr_assert(strstr(dat, "theory"));
    free(dat);
    char *gp = plt_slurp(plots, "act_var_pre.gp", NULL);
    cr_assert(strstr(gp, "using 1:5 with lines") && strstr(gp, "dt 2"));
    cr_assert(strstr(gp, "set terminal pngcairo size 1200,800") && strstr(gp, "set terminal svg"));
    free(gp);
    vt_rmtree(dir);
}

/* The pixels of a PNG written by cairo (8-bit RGB or RGBA, not interlaced), unfiltered;
 * *zlib_level: the FLEVEL field of the zlib stream's header (0 fastest .. 3 best). */
static unsigned char *plt_png_pixels(const char *dir, const char *name, size_t *len, int *zlib_level)
{
    size_t n;
    unsigned char *b = (unsigned char *)plt_slurp(dir, name, &n), *z = NULL;
    size_t zn = 0, w = 0, h = 0, bpp = 0;
    for (size_t i = 8; i + 12 <= n;) {
        size_t cl = (size_t)b[i] << 24 | (size_t)b[i + 1] << 16 | (size_t)b[i + 2] << 8 | b[i + 3];
        const unsigned char *d = b + i + 8;
        cr_assert(i + 12 + cl <= n, "%s: truncated chunk", name);
        if (memcmp(b + i + 4, "IHDR", 4) == 0) {
            w = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
            h = (size_t)d[4] << 24 | (size_t)d[5] << 16 | (size_t)d[6] << 8 | d[7];
            cr_assert(d[8] == 8 && (d[9] == 6 || d[9] == 2) && d[12] == 0, "%s: not 8-bit RGB(A)", name);
            bpp = d[9] == 6 ? 4 : 3;
        } else if (memcmp(b + i + 4, "IDAT", 4) == 0) {
            z = realloc(z, zn + cl);
            cr_assert_not_null(z);
            memcpy(z + zn, d, cl);
            zn += cl;
        }
        i += 12 + cl;
    }
    cr_assert(w && h && zn > 2, "%s: no image", name);
    *zlib_level = z[1] >> 6;
    uLongf rawn = (uLongf)(h * (1 + w * bpp));
    unsigned char *raw = malloc(rawn), *px = malloc(h * w * bpp);
    cr_assert(raw && px);
    cr_assert_eq(uncompress(raw, &rawn, z, (uLong)zn), Z_OK, "%s: bad zlib stream", name);
    cr_assert_eq(rawn, h * (1 + w * bpp));
    size_t stride = w * bpp;
    for (size_t y = 0; y < h; y++) { /* PNG's five filters (spec 9.2), bytes of bpp apart */
        const unsigned char *f = raw + y * (1 + stride) + 1;
        unsigned char *o = px + y * stride, *up = y ? o - stride : NULL;
        for (size_t x = 0; x < stride; x++) {
            int a = x >= bpp ? o[x - bpp] : 0, u = up ? up[x] : 0, c = up && x >= bpp ? up[x - bpp] : 0, p, pr;
            switch (f[-1]) {
            case 0: pr = 0; break;
            case 1: pr = a; break;
            case 2: pr = u; break;
            case 3: pr = (a + u) / 2; break;
            case 4:
                p = a + u - c;
                pr = abs(p - a) <= abs(p - u) && abs(p - a) <= abs(p - c) ? a : abs(p - u) <= abs(p - c) ? u : c;
                break;
            default: cr_assert_fail("%s: row %zu: filter %d", name, y, f[-1]); pr = 0;
            }
            o[x] = (unsigned char)(f[x] + pr);
        }
    }
    free(raw);
    free(z);
    free(b);
    *len = h * stride;
    return px;
}

/* gnuplot runs with the PNG-speed library preloaded (src/present/preload/png_speed.c):
 * its PNGs are zlib level 3 (FLEVEL 1, "fast") where libpng's default is 6 (FLEVEL 2),
 * and hold exactly the pixels of the PNG gnuplot writes without it
 * (VARPROP_GNUPLOT_PRELOAD=""). */
Test(vp_charts, png_speed_library_keeps_the_pixels)
{
    char dir[64], fast[128], plain[128];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    snprintf(fast, sizeof fast, "%s/fast", dir);
    snprintf(plain, sizeof plain, "%s/plain", dir);
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", fast, &err), VP_OK, "%s", err.msg);
    setenv("VARPROP_GNUPLOT_PRELOAD", "", 1);
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", plain, &err), VP_OK, "%s", err.msg);
    unsetenv("VARPROP_GNUPLOT_PRELOAD");
    static const char *const pngs[] = { "act_var_pre.png", "heatmap.png", "overview.png" };
    for (size_t i = 0; i < sizeof pngs / sizeof *pngs; i++) {
        size_t n1, n2;
        int l1, l2;
        unsigned char *a = plt_png_pixels(fast, pngs[i], &n1, &l1), *b = plt_png_pixels(plain, pngs[i], &n2, &l2);
        cr_expect_eq(l1, 1, "%s: zlib level class %d with the library", pngs[i], l1);
        cr_expect_eq(l2, 2, "%s: zlib level class %d without it", pngs[i], l2);
        cr_assert(n1 == n2 && memcmp(a, b, n1) == 0, "%s: the pixels differ", pngs[i]);
        free(a);
        free(b);
    }
    vt_rmtree(dir);
}

Test(vp_charts, scripts_regenerate_their_charts)
{
    char dir[64], cmd[512];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", dir, &err), VP_OK, "%s", err.msg);
    for (size_t i = 0; i < NSTEMS; i++) {
        char png[160], svg[160];
        snprintf(png, sizeof png, "%s/%s.png", dir, ALL_STEMS[i]);
        snprintf(svg, sizeof svg, "%s/%s.svg", dir, ALL_STEMS[i]);
        cr_assert_eq(unlink(png), 0);
        cr_assert_eq(unlink(svg), 0);
        snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot %s.gp 2>/dev/null", dir, ALL_STEMS[i]);
        int rc = system(cmd);
        cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "gnuplot %s.gp failed", ALL_STEMS[i]);
        snprintf(png, sizeof png, "%s.png", ALL_STEMS[i]);
        snprintf(svg, sizeof svg, "%s.svg", ALL_STEMS[i]);
        plt_check_png(dir, png, 1200, 800);
        plt_check_svg(dir, svg);
    }
    vt_rmtree(dir);
}

Test(vp_charts, two_dimensional_sweep_heatmap_with_critical_line)
{
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/sigma", dir, &err), VP_OK, "%s", err.msg);
    plt_check_chart(dir, "heatmap");
    plt_check_chart(dir, "overview");
    cr_assert(plt_exists(dir, "critical_line.dat"), "the overlay is copied next to the script");
    cr_assert(!plt_exists(dir, "hist_pre.png") && !plt_exists(dir, "jacobian.png"), "no data, no chart");
    char *gp = plt_slurp(dir, "heatmap.gp", NULL);
    cr_assert(strstr(gp, "'critical_line.dat' using 1:2 with lines"));
    cr_assert(strstr(gp, "set xlabel 'network.init.sigma_w'"), "sigma_w across");
    cr_assert(strstr(gp, "set ylabel 'network.init.sigma_b'"), "sigma_b up");
    free(gp);
    char *dat = plt_slurp(dir, "heatmap.dat", NULL);
    cr_assert(strstr(dat, "# index 1: grad_ratio"));
    free(dat);
    vt_rmtree(dir);
}

/* The phase diagram: measured xi_grad and predicted theory_xi_c over the sigma
 * sweep, with the chi_1 = 1 line, and a script that redraws it by hand. */
Test(vp_charts, phase_diagram_of_depth_scales)
{
    char dir[64], cmd[512];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/sigma", dir, &err), VP_OK, "%s", err.msg);
    plt_check_chart(dir, "phase");
    plt_check_chart(dir, "heatmap");
    plt_no_temporaries(dir);
    char *gp = plt_slurp(dir, "phase.gp", NULL);
    cr_assert(strstr(gp, "set terminal pngcairo size 1200,800") && strstr(gp, "set terminal svg"));
    cr_assert(strstr(gp, "'critical_line.dat' using ($1**2):($2**2) with lines"), "the chi_1 = 1 line is drawn");
    cr_assert(strstr(gp, "set xlabel 'σ_{w}^{2}'"), "sigma_w^2 across");
    cr_assert(strstr(gp, "set ylabel 'σ_{b}^{2}'"), "sigma_b^2 up");
    cr_assert(strstr(gp, "set logscale cb; set cbrange [0.3:50]"), "log colour scale clipped to [0.3, 10 x depth]");
    cr_assert(strstr(gp, "'phase.dat' index 1 using 1:2:8:9 with labels"), "cell labels on the theory panel");
    free(gp);
    char *dat = plt_slurp(dir, "phase.dat", NULL);
    cr_assert(strstr(dat, "# index 0: xi_grad") && strstr(dat, "# index 3: theory_xi_c"));
    cr_assert(strstr(dat, " 50 ∞ "), "inf is drawn at the top of the scale and labelled");
    cr_assert(strstr(dat, " ? – "), "an empty cell has no colour and a dash");
    cr_assert(strstr(dat, " 10.4920587 10 0\n"), "xi = 10.49 is labelled as an integer");
    cr_assert(strstr(dat, " 0.830583545 0.8 "), "xi < 10 has one decimal");
    free(dat);
    char *md = plt_slurp(dir, "report.md", NULL);
    cr_assert(strstr(md, "](phase.png)"), "the report embeds the phase chart");
    cr_assert(strstr(md, "1 of 9 sweep points have no measured"), "empty cells are counted in the notes");
    free(md);

    /* The script alone redraws both outputs. */
    char png[160], svg[160];
    snprintf(png, sizeof png, "%s/phase.png", dir);
    snprintf(svg, sizeof svg, "%s/phase.svg", dir);
    cr_assert_eq(unlink(png), 0);
    cr_assert_eq(unlink(svg), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot phase.gp 2>/dev/null", dir);
    int rc = system(cmd);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "gnuplot phase.gp failed");
    plt_check_png(dir, "phase.png", 1200, 800);
    plt_check_svg(dir, "phase.svg");
    vt_rmtree(dir);
}

/* A 2-D sweep without the depth-scale columns draws the heatmap but no phase chart;
 * without the theory columns the predicted panels say so. */
Test(vp_charts, no_phase_chart_without_depth_scales)
{
    char dir[64], plots[128], cmd[1024];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_err err = { "" };
    /* small/: a 2-D sweep (activation x init) without xi columns */
    snprintf(plots, sizeof plots, "%s/small", dir);
    cr_assert_eq(vp_charts_draw(FIXTURES "/small", plots, &err), VP_OK, "%s", err.msg);
    plt_check_chart(plots, "heatmap");
    cr_assert(!plt_exists(plots, "phase.png") && !plt_exists(plots, "phase.gp") && !plt_exists(plots, "phase.dat"));
    char *md = plt_slurp(plots, "report.md", NULL);
    cr_assert(strstr(md, "phase.png") == NULL, "no phase chart in the report");
    free(md);
    /* sigma/ with theory off: xi_grad present, theory_xi_c and theory_chi1 dropped */
    snprintf(cmd, sizeof cmd, "mkdir '%s/res' && cp " FIXTURES "/sigma/config.json " FIXTURES "/sigma/layers.csv "
                              FIXTURES "/sigma/critical_line.dat '%s/res'/ && cut -d, -f1-12,15- " FIXTURES
                              "/sigma/runs.csv > '%s/res/runs.csv'", dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    char *runs = plt_slurp(dir, "res/runs.csv", NULL);
    cr_assert(strstr(runs, "xi_grad,seconds") && !strstr(runs, "theory_xi_c"), "fixture columns moved?");
    free(runs);
    char res[128];
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(plots, sizeof plots, "%s/sigma", dir);
    cr_assert_eq(vp_charts_draw(res, plots, &err), VP_OK, "%s", err.msg);
    plt_check_chart(plots, "heatmap");
    plt_check_chart(plots, "phase");
    char *pgp = plt_slurp(plots, "phase.gp", NULL);
    cr_assert(strstr(pgp, "set label 1 'theory off (no theory_chi1 in runs.csv)'"), "the panel says why it is empty");
    cr_assert(strstr(pgp, "set label 1 'theory off (no theory_xi_c in runs.csv)'"), "the panel says why it is empty");
    free(pgp);
    vt_rmtree(dir);
}

Test(vp_charts, hostile_config_text_stays_text)
{
    const char *pw[] = { "/tmp/varprop_pwned_q", "/tmp/varprop_pwned_bq", "/tmp/varprop_pwned_i",
                         "/tmp/varprop_pwned_dq", "/tmp/varprop_pwned_n" };
    for (size_t i = 0; i < 5; i++) unlink(pw[i]);
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(FIXTURES "/hostile", dir, &err), VP_OK, "%s", err.msg);
    for (size_t i = 0; i < 5; i++) cr_assert(access(pw[i], F_OK) != 0, "%s was created", pw[i]);
    plt_check_chart(dir, "act_var_pre");
    plt_check_chart(dir, "overview");
    char *md = plt_slurp(dir, "report.md", NULL);
    /* Outside the config's code block, text from the config is escaped. */
    char *fence = strstr(md, "```json");
    cr_assert_not_null(fence);
    *fence = '\0';
    cr_assert(strstr(md, "<script>") == NULL, "HTML must be escaped");
    cr_assert(strstr(md, "\\<script\\>"));
    cr_assert(strstr(md, "\\| table \\| breaker"), "pipes must not open table cells");
    cr_assert(strstr(md, "![img]") == NULL && strstr(md, "\\!\\[img\\]"), "no injected image");
    free(md);
    /* The default folder refuses a name that is not a plain folder name. */
    char out[256];
    cr_assert_eq(vp_charts_default_dir(FIXTURES "/hostile", out, sizeof out, &err), VP_ERR_CONFIG);
    cr_assert(strstr(err.msg, "-o PLOTS_DIR"), "%s", err.msg);
    vt_rmtree(dir);
}

Test(vp_charts, default_dir_and_bad_folders)
{
    char out[256];
    vp_err err = { "" };
    cr_assert_eq(vp_charts_default_dir(FIXTURES "/small", out, sizeof out, &err), VP_OK, "%s", err.msg);
    cr_assert_str_eq(out, "plots/small");
    cr_assert_eq(vp_charts_draw("/nonexistent/results", "/tmp/never", &err), VP_ERR_IO);
    cr_assert(strstr(err.msg, "config.json"), "%s", err.msg);
}

#define VS "variance_scaling(scale=2,mode=fan_avg,distribution=truncated_normal)"
#define VS_MD "variance\\_scaling(scale=2,mode=fan\\_avg,distribution=truncated\\_normal)"

/* The per-seed ratios a log axis cannot draw (0, inf, nan) and a failed run: the report
 * summarizes the finite values, the heatmap and the overview mark what they cannot draw. */
Test(vp_charts, summary_of_zero_infinite_and_failed_runs)
{
    char dir[64], plots[128], cmd[512];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    snprintf(cmd, sizeof cmd, "cp " FIXTURES "/small/config.json " FIXTURES "/small/layers.csv '%s'/", dir);
    cr_assert_eq(system(cmd), 0);
    vt_write_file(dir, "runs.csv",
        "variant,activation,init,seed,depth,batch,act_ratio,grad_ratio,act_verdict,grad_verdict,nonfinite,seconds,"
        "status,network.activation,network.init\n"
        "0,relu,he_normal,0,6,16,0,1,vanishing,stable,0,0.01,ok,relu,he_normal\n"
        "0,relu,he_normal,1,6,16,inf,1,exploding,stable,0,0.01,ok,relu,he_normal\n"
        "1,relu,\"" VS "\",0,6,16,0.0322894836,nan,vanishing,non-finite,0,0.01,ok,relu,\"" VS "\"\n"
        "1,relu,\"" VS "\",1,6,16,0.0319590265,32,vanishing,exploding,0,0.01,ok,relu,\"" VS "\"\n"
        "2,tanh,he_normal,0,6,16,0.29669545,3.05175781,stable,stable,0,0.01,failed,tanh,he_normal\n"
        "2,tanh,he_normal,1,6,16,0.332761361,3.05175781,stable,stable,0,0.01,ok,tanh,he_normal\n"
        "2,tanh,he_normal,2,6,16,0.332761361,0,stable,vanishing,0,0.01,ok,tanh,he_normal\n"
        "3,tanh,\"" VS "\",0,6,16,0,0.0953674316,vanishing,vanishing,0,0.01,ok,tanh,\"" VS "\"\n"
        "3,tanh,\"" VS "\",1,6,16,10.6783866,0.0953674316,exploding,vanishing,0,0.01,ok,tanh,\"" VS "\"\n");
    snprintf(plots, sizeof plots, "%s/plots", dir);
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(dir, plots, &err), VP_OK, "%s", err.msg);
    char *md = plt_slurp(plots, "report.md", NULL);
    static const char *const rows[] = {
        "| 0 | relu | he\\_normal | 0; 1 non-finite | vanishing ×1, exploding ×1 | 1 (1–1) | stable ×2 | 2 ok |\n",
        "| 1 | relu | " VS_MD " | 0.0321 (0.032–0.0323) | vanishing ×2 | 32; 1 non-finite | "
        "non-finite ×1, exploding ×1 | 2 ok |\n",
        "| 2 | tanh | he\\_normal | 0.333 (0.333–0.333) | stable ×2 | 1.53 (0–3.05) | stable ×1, vanishing ×1 | "
        "2 ok, 1 failed |\n",
        "| 3 | tanh | " VS_MD " | 5.34 (0–10.7) | vanishing ×1, exploding ×1 | 0.0954 (0.0954–0.0954) | "
        "vanishing ×2 | 2 ok |\n",
    };
    for (size_t i = 0; i < 4; i++) cr_assert(strstr(md, rows[i]), "report lacks the row %s", rows[i]);
    free(md);
    char *dat = plt_slurp(plots, "heatmap.dat", NULL);
    cr_assert(strstr(dat, "# index 0: act_ratio\n1 1 0.5 1.5 0.5 1.5 -2 0\n"), "0 is drawn at the bottom, labelled 0");
    free(dat);
    char *gp = plt_slurp(plots, "overview.gp", NULL);
    cr_assert(strstr(gp, "set label 10 '0' at 1, graph 0.07 center front boxed tc rgb '#2166ac'"), "0 marked at the bottom");
    free(gp);
    vt_rmtree(dir);
}

Test(vp_charts, malformed_csv_is_a_clear_error)
{
    char dir[64], cmd[512];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    snprintf(cmd, sizeof cmd, "cp " FIXTURES "/sigma/config.json " FIXTURES "/sigma/layers.csv '%s'/ && "
                              "head -c 300 " FIXTURES "/sigma/runs.csv > '%s'/runs.csv", dir, dir);
    cr_assert_eq(system(cmd), 0);
    char plots[128];
    snprintf(plots, sizeof plots, "%s/plots", dir);
    vp_err err = { "" };
    cr_assert_eq(vp_charts_draw(dir, plots, &err), VP_ERR_DATA);
    cr_assert(strstr(err.msg, "runs.csv:") && strstr(err.msg, "ragged or truncated"), "%s", err.msg);
    vt_rmtree(dir);
}

/* ---- varprop plot ---- */

static int plt_cli(const char *const *args, int n)
{
    const char *bin = getenv("VARPROP_BIN");
    if (bin && *bin) {
        char cmd[4096];
        size_t k = (size_t)snprintf(cmd, sizeof cmd, "'%s' plot", bin);
        for (int i = 0; i < n; i++) k += (size_t)snprintf(cmd + k, sizeof cmd - k, " '%s'", args[i]);
        snprintf(cmd + k, sizeof cmd - k, " >/dev/null 2>&1");
        int rc = system(cmd);
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    }
    char *argv[16];
    argv[0] = (char *)"plot";
    for (int i = 0; i < n && i < 14; i++) argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    return vp_cmd_plot(n + 1, argv);
}

Test(vp_cmd_plot_cli, redraws_a_results_folder, .init = cr_redirect_stdout)
{
    char dir[64];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_plot_test_");
    const char *args[] = { FIXTURES "/small", "-o", dir };
    cr_assert_eq(plt_cli(args, 3), 0);
    for (size_t i = 0; i < NSTEMS; i++) plt_check_chart(dir, ALL_STEMS[i]);
    cr_assert(plt_exists(dir, "report.md"));
    vt_rmtree(dir);
}

Test(vp_cmd_plot_cli, usage_and_errors, .init = cr_redirect_stderr)
{
    const char *help[] = { "--help" };
    const char *none[] = { "-o" };
    const char *unknown[] = { "--frobnicate", FIXTURES "/small" };
    const char *two[] = { FIXTURES "/small", FIXTURES "/sigma" };
    const char *missing[] = { "/nonexistent/results", "-o", "/tmp/vp_never_written" };
    cr_redirect_stdout();
    cr_assert_eq(plt_cli(help, 1), 0);
    cr_assert_eq(plt_cli(NULL, 0), 2);
    cr_assert_eq(plt_cli(none, 1), 2);
    cr_assert_eq(plt_cli(unknown, 2), 2);
    cr_assert_eq(plt_cli(two, 2), 2);
    /* a missing RESULTS_DIR is the user's error, as a missing config is for run */
    cr_assert_eq(plt_cli(missing, 3), 2);
    cr_assert_not(plt_exists("/tmp", "vp_never_written"), "a refused plot made its folder");
}
