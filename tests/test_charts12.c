/* Tests for the charts of issue 12 (src/present/charts/): drawing through shared gnuplot
 * processes, the phase chart, many-variant sweeps, the new by-layer charts, the
 * histograms and the Jacobian chart. Results folders are written here by hand (small
 * CSV files whose values the tests know) or taken from tests/fixtures. Run from the
 * repo root (make unit). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "present/charts.h"

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

/* ---- drawing: several charts per gnuplot process, two processes ---- */

static const char *const SMALL_STEMS[] = { "act_var_pre", "act_var_post", "grad_var", "wgrad_var", "hist_pre",
                                           "hist_post", "hist_grad_pre", "heatmap", "overview", "jacobian" };
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

/* gnuplot fails on one chart: that chart leaves nothing behind, the error names it, the
 * other charts (which shared its process) are complete, and no temporary is left. */
Test(charts12_speed, a_failing_chart_is_named_and_the_others_kept)
{
    char dir[64], plots[128], wrap[1024];
    vt_mktmp(dir, sizeof dir, "/tmp/vp_c12_");
    snprintf(wrap, sizeof wrap,
             "#!/bin/sh\nin=$(mktemp)\ncat > \"$in\"\n"
             "if grep -q \"'overview.dat'\" \"$in\"; then rm -f \"$in\"; echo '         line 0: injected failure' >&2; exit 1; fi\n"
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
