/* cmd_plot: `varprop plot RESULTS_DIR [-o PLOTS_DIR]` -- redraw every chart and
 * the report of a results folder from its CSV files alone (see charts.h). */
#include "present/charts.h"
#include "cli/cli.h"
#include "base/err.h"
#include "present/plot.h"

#include <stdio.h>
#include <string.h>

static void plot_usage(FILE *f)
{
    fputs("usage: varprop plot RESULTS_DIR [-o PLOTS_DIR]\n"
          "\n"
          "Draw the charts and report.md of a results folder written by `varprop run`,\n"
          "reading only its files (config.json, layers.csv, runs.csv, and histograms.csv,\n"
          "jacobian.csv, critical_line.dat when present). Each chart is a PNG and an SVG\n"
          "next to the gnuplot script (.gp) and data file (.dat) that redraw it.\n"
          "\n"
          "  -o, --output PLOTS_DIR  where to write (default: plots/<name>, <name> from config.json)\n"
          "  -h, --help              show this help\n"
          "\n"
          "Needs gnuplot (apt-get install gnuplot-nox); VARPROP_GNUPLOT overrides the program.\n",
          f);
}

static int plot_usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "varprop plot: %s%s%s\nUse varprop plot --help for help.\n", msg, arg ? " " : "", arg ? arg : "");
    return 2;
}

int vp_cmd_plot(int argc, char **argv)
{
    const char *results = NULL, *plots = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            plot_usage(stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc) return plot_usage_error("option needs a folder:", a);
            if (plots) return plot_usage_error("option given twice:", a);
            plots = argv[++i];
        } else if (strncmp(a, "--output=", 9) == 0) {
            if (plots) return plot_usage_error("option given twice:", "--output");
            plots = a + 9;
        } else if (a[0] == '-' && a[1] != '\0') {
            return plot_usage_error("unknown option", a);
        } else if (!results) {
            results = a;
        } else {
            return plot_usage_error("unexpected argument", a);
        }
    }
    if (!results) return plot_usage_error("missing RESULTS_DIR", NULL);
    if (plots && !*plots) return plot_usage_error("empty PLOTS_DIR", NULL);

    vp_err err = { "" };
    char defdir[4096];
    vp_status s = VP_OK;
    if (!plots) {
        s = vp_charts_default_dir(results, defdir, sizeof defdir, &err);
        plots = defdir;
    }
    if (!s) s = vp_charts_draw(results, plots, &err);
    if (s) {
        fprintf(stderr, "varprop plot: %s\n", err.msg);
        return vp_exit_code(s);
    }
    printf("varprop plot: charts and report in %s/report.md\n", plots);
    return 0;
}
