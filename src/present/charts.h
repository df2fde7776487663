/* charts: the varprop charts, drawn from a results folder's files only.
 *
 * Reads RESULTS_DIR/config.json, layers.csv, runs.csv and, when present,
 * histograms.csv, jacobian.csv and critical_line.dat; writes into PLOTS_DIR,
 * for every chart <stem>: <stem>.png (pngcairo 1200x800), <stem>.svg, the
 * gnuplot script <stem>.gp and the tidy data file <stem>.dat it reads, so
 * `cd PLOTS_DIR && gnuplot <stem>.gp` redraws the chart by hand; then
 * report.md (see report.h). Every file is written atomically.
 *
 * Charts (stems): act_var_pre, act_var_post (Var[z^l], Var[h^l] by layer),
 * grad_var (Var[dL/dz^l]), wgrad_var (Var[dL/dW^l]), hist_pre, hist_post,
 * hist_grad_pre (distributions, if histograms.csv), heatmap (2-D sweeps),
 * overview (final/first variance ratios with verdicts), phase (measured and
 * predicted depth scales over a 2-D sweep, with the chi_1 = 1 line), jacobian (singular
 * values, if jacobian.csv). docs/charts.md describes each one.
 *
 * The code is in src/present/charts/: kit.h (shared pieces and conventions),
 * draw.c (the chart table: one row per chart, in drawing order), one file per
 * chart family. Every number a chart shows comes from the files, never from a run
 * in memory, so `varprop plot` redraws any results folder.
 */
#ifndef VP_CHARTS_H
#define VP_CHARTS_H

#include <signal.h>
#include "base/err.h"

/* Draw every chart and the report. plots_dir is created if needed.
 * If gnuplot cannot be run nothing is written and the result is
 * VP_ERR_EXTERNAL with vp_plot_missing_hint() in err: callers that treat charts
 * as optional check vp_charts_can_draw() first (see below). */
vp_status vp_charts_draw(const char *results_dir, const char *plots_dir, vp_err *err);

/* vp_charts_draw that stops as soon as *stop is non-zero (a signal): the gnuplot at
 * work is killed, no temporary is left, and the result is VP_ERR_INTERRUPTED. */
vp_status vp_charts_draw_stop(const char *results_dir, const char *plots_dir, volatile sig_atomic_t *stop,
                              vp_err *err);

/* 1 if gnuplot can be run (same test vp_charts_draw makes). When it returns 0,
 * `varprop run` keeps its CSV results, prints vp_plot_missing_hint() (plot.h) as a
 * one-line warning and exits 0. */
int vp_charts_can_draw(void);

/* 1 when the unmarked folder `dir` is a plots folder an earlier varprop made: it holds
 * report.md and nothing but chart files (<stem>.png/.svg/.gp/.dat), report.md,
 * critical_line.dat and their temporaries (a vp_claim.adopt, base/lock.h). */
int vp_charts_legacy_folder(const char *dir);

/* The default plot folder for a results folder: "plots/<name>" where <name>
 * is config.json's "name". A name that is not a plain folder name (empty,
 * '/', leading '.', control characters) is VP_ERR_CONFIG. */
vp_status vp_charts_default_dir(const char *results_dir, char *out, size_t len, vp_err *err);
/* The same folder from the experiment's name ("plots/<name>"), the same refusals. */
vp_status vp_charts_dir_for_name(const char *name, char *out, size_t len, vp_err *err);

#endif
