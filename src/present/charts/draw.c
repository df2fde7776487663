/* draw: the chart table -- one row per chart, in the order they are drawn and listed
 * in the report -- and the entry points of present/charts.h. */
#include "present/charts.h"
#include "present/charts/kit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/lock.h"

static const ck_chart CHARTS[] = {
    { .stem = "act_var_pre", .source = VP_CSV_LAYERS, .draw = ck_draw_lines,
      .column = VP_COL_PRE_VAR, .theory = VP_COL_THEORY_PRE_VAR, .ylabel = "Var[z^{/:Italic l}]",
      .title = "pre-activation variance Var[zˡ] by layer",
      .caption = "Variance of the pre-activations z^l = W^l h^(l-1) + b^l at each layer: median over seeds (line with "
                 "points) and the seed range (shaded), one panel per activation, one colour and marker per initializer. "
                 "A flat line means the forward signal keeps its scale; a straight slope on this log axis is geometric "
                 "growth or decay. Dashed: the mean-field prediction when theory is on." },
    { .stem = "act_var_post", .source = VP_CSV_LAYERS, .draw = ck_draw_lines,
      .column = VP_COL_POST_VAR, .theory = VP_COL_NONE, .ylabel = "Var[h^{/:Italic l}]",
      .title = "post-activation variance Var[hˡ] by layer",
      .caption = "Variance of the activations h^l = φ(z^l) after the nonlinearity, same layout as the pre-activation "
                 "chart, measured only: no theory line (layers.csv has the theory of z^l, not of h^l)." },
    { .stem = "grad_var", .source = VP_CSV_LAYERS, .draw = ck_draw_lines,
      .column = VP_COL_GRAD_PRE_VAR, .theory = VP_COL_THEORY_GRAD_PRE_VAR, .ylabel = "Var[∂L/∂z^{/:Italic l}]",
      .title = "back-propagated gradient variance Var[∂L/∂zˡ] by layer",
      .caption = "Variance of the gradient of the loss with respect to the pre-activations, back-propagated from the "
                 "last layer (right) to the first (left). Dashed: the mean-field prediction when theory is on." },
    { .stem = "wgrad_var", .source = VP_CSV_LAYERS, .draw = ck_draw_lines,
      .column = VP_COL_WGRAD_VAR, .theory = VP_COL_NONE, .ylabel = "Var[∂L/∂W^{/:Italic l}]",
      .title = "weight-gradient variance Var[∂L/∂Wˡ] by layer",
      .caption = "Variance of the weight gradients per layer: unequal values across layers mean unequal effective "
                 "learning rates (Glorot & Bengio 2010)." },
    { .stem = "act_mean", .source = VP_CSV_LAYERS, .draw = ck_draw_lines, .axis = CK_AXIS_LINEAR, .zero_line = 1,
      .column = VP_COL_PRE_MEAN, .theory = VP_COL_NONE, .ylabel = "mean of z^{/:Italic l}", .what = "mean of z",
      .column2 = VP_COL_POST_MEAN, .ylabel2 = "mean of h^{/:Italic l}", .what2 = "mean of h",
      .title = "mean of pre-activations zˡ and activations hˡ by layer",
      .caption = "Mean over the batch and the units of the pre-activations z^l (left of each pair) and of the activations "
                 "h^l (right), median over seeds with the seed range shaded, dotted at 0. SELU's self-normalizing fixed "
                 "point keeps the mean of h at 0 (Klambauer et al. 2017); ReLU-like activations shift it above 0." },
    { .stem = "spp", .source = VP_CSV_LAYERS, .draw = ck_draw_lines,
      .column = VP_COL_UNIT_SQ_MEAN, .theory = VP_COL_NONE, .ylabel = "squared channel mean",
      .what = "avg squared channel mean", .column2 = VP_COL_UNIT_VAR, .ylabel2 = "channel variance",
      .what2 = "avg channel variance",
      .title = "Signal propagation plot: average squared channel mean and channel variance of hˡ",
      .caption = "The Signal Propagation Plot of Brock et al. 2021 for the activations h^l: per layer, the average over "
                 "units (channels) of a unit's squared batch mean (left of each pair) and of a unit's batch variance "
                 "(right), median over seeds, log axis. A squared mean that grows to rival the variance is a mean shift: "
                 "the units share an offset and the examples look more and more alike with depth." },
    { .stem = "spp_residual", .source = VP_CSV_LAYERS, .draw = ck_draw_spp_residual,
      .title = "Signal propagation plot of the residual blocks",
      .caption = "Brock et al. 2021's Signal Propagation Plot of a residual network: per residual block (x = its index "
                 "in the network), the average squared channel mean (left) and the average channel variance (middle) "
                 "of the block's output, the stream x + α f(x), and the variance of the branch output f(x) before α "
                 "(right; over all its entries, where Brock et al. average per channel). Median over seeds, seed range "
                 "shaded, log axes. Un-normalized blocks grow the stream geometrically, pre-norm ones linearly, "
                 "post-norm ones keep it at 1." },
    { .stem = "dead_saturated", .source = VP_CSV_LAYERS, .draw = ck_draw_lines, .axis = CK_AXIS_UNIT,
      .column = VP_COL_DEAD_FRAC, .theory = VP_COL_NONE, .ylabel = "fraction of units", .what = "dead units",
      .column2 = VP_COL_SATURATED_FRAC, .ylabel2 = "fraction of entries", .what2 = "saturated entries",
      .title = "dead and saturated units by layer",
      .caption = "Left of each pair: the fraction of units whose derivative φ'(z) is 0 for every example of the batch "
                 "(dead: no gradient reaches their weights). Right: the fraction of entries where |φ'(z)| is below 5% of "
                 "its peak (saturated, for bounded activations such as tanh and sigmoid). Median over seeds, seed range "
                 "shaded." },
    { .stem = "corr", .source = VP_CSV_LAYERS, .draw = ck_draw_lines, .axis = CK_AXIS_LINEAR,
      .column = VP_COL_PRE_CORR, .theory = VP_COL_THEORY_PRE_CORR, .ylabel = "correlation c^{/:Italic l}",
      .title = "correlation map: correlation of pre-activations between examples by layer",
      .caption = "Mean pairwise correlation c^l of the pre-activations z^l between the examples of the batch, median "
                 "over seeds (seed range shaded), with the mean-field correlation map iterated from the input "
                 "correlation c^0 dashed (Poole et al. 2016). In the ordered phase c^l goes to 1, every input looks "
                 "alike deep in the net; in the chaotic phase it settles at a fixed point c* < 1." },
    { .stem = "hist_pre", .source = VP_CSV_HIST, .draw = ck_draw_hist,
      .quantity = VP_HIST_PRE, .xlabel = "z^{/:Italic l}",
      .title = "distribution of pre-activations zˡ per layer",
      .caption = "Histogram densities of the pre-activations at the measured layers (one curve per layer, dark = "
                 "early, light = late), one panel per variant: a distribution that widens or narrows with depth shows "
                 "the variance drifting (Glorot & Bengio 2010, fig. 6)." },
    { .stem = "hist_post", .source = VP_CSV_HIST, .draw = ck_draw_hist,
      .quantity = VP_HIST_POST, .xlabel = "h^{/:Italic l}",
      .title = "distribution of activations hˡ per layer",
      .caption = "Histogram densities of the activation values after the nonlinearity per measured layer; mass piling "
                 "up at the ends of a bounded activation means saturation, a spike at 0 dead or inactive units." },
    { .stem = "hist_grad_pre", .source = VP_CSV_HIST, .draw = ck_draw_hist,
      .quantity = VP_HIST_GRAD_PRE, .xlabel = "∂L/∂z^{/:Italic l}",
      .title = "distribution of back-propagated gradients ∂L/∂zˡ per layer",
      .caption = "Histogram densities of the back-propagated gradients per measured layer: curves that spread apart "
                 "across layers mean the gradient scale changes with depth (Glorot & Bengio 2010, fig. 7)." },
    { .stem = "heatmap", .source = VP_CSV_RUNS, .draw = ck_draw_heatmap,
      .title = "Variance ratio over the 2-D sweep",
      .page = "log10 of the variance ratio across depth per sweep point",
      .caption = "Colour: median over seeds of log10 of the last-to-first layer variance ratio over the hidden "
                 "stack (runs.csv act_ratio, grad_ratio; a block network's layer outputs a..b), for activations "
                 "(Var[z^L]/Var[z^1], left) and back-propagated gradients (Var[∂L/∂z^1]/Var[∂L/∂z^L], right). "
                 "White = 0 = variance preserved; blue = vanishing, red = exploding; colours saturate at the range "
                 "ends. Each cell prints its value." },
    { .stem = "phase", .source = VP_CSV_RUNS, .draw = ck_draw_phase,
      .title = "Phase diagram: depth scale of signal propagation",
      .page = "depth scale ξ of signal propagation, measured vs mean-field theory",
      .caption = NULL /* names the colour range, which depends on the depth: see grid.c */ },
    { .stem = "overview", .source = VP_CSV_RUNS, .draw = ck_draw_overview,
      .title = "Overview: variance ratio across depth per variant",
      .page = "last-to-first-layer variance ratio per variant",
      .caption = "Bars: median over seeds of the last-to-first layer variance ratio over the hidden stack "
                 "(runs.csv act_ratio, grad_ratio; a block network's layer outputs a..b) for activations "
                 "(Var[z^L]/Var[z^1], top) and gradients (Var[∂L/∂z^1]/Var[∂L/∂z^L], bottom) on a log axis; "
                 "the dotted line at 1 means the variance is preserved. Whiskers span the seeds; "
                 "the fill gives the verdict of the majority of seeds." },
    { .stem = "jacobian", .source = VP_CSV_JACOBIAN, .draw = ck_draw_jacobian,
      .title = "Singular values of the input–output Jacobian",
      .page = "singular values of the input–output Jacobian",
      .caption = "Density of the singular values σ of the network's input-output Jacobian, seeds pooled, one curve "
                 "per variant, on a log σ axis. Mass concentrated near σ = 1 (dotted) is dynamical isometry; a wide "
                 "spread means some input directions are amplified and others suppressed." },
    { .stem = "train_loss", .source = VP_CSV_TRAIN, .draw = ck_draw_train_loss,
      .title = "Training loss by step",
      .caption = "The training loss of each step's batch (before its update), median over seeds (line) with the seed "
                 "range shaded, one panel per activation, one colour per initializer, log axis. An initialization that "
                 "lets the signal through learns at once; one that stalls stays at the loss of a uniform guess "
                 "(ln 10 = 2.3 for ten classes), as in He et al. 2015, fig. 3." },
    { .stem = "train_acc", .source = VP_CSV_EVAL, .draw = ck_draw_train_acc,
      .title = "Test accuracy by epoch",
      .caption = "Accuracy on the test split after each epoch (epoch 0: at initialization), median over seeds with the "
                 "seed range shaded." },
    { .stem = "train_var", .source = VP_CSV_LAYERS_TRAIN, .draw = ck_draw_train_var,
      .title = "Per-layer activation and gradient variance during training",
      .caption = "Var[z^l] (left) and Var[∂L/∂z^l] (right) of every layer, measured on a fixed probe batch every "
                 "track_every steps and at the last, median over seeds, one line per layer from dark (layer 1) to light (the readout): "
                 "how the forward and backward signal of each layer changes as the network learns (Glorot & Bengio "
                 "2010, figs. 2-5)." },
    { .stem = "train_hist", .source = VP_CSV_HIST_TRAIN, .draw = ck_draw_train_hist,
      .title = "The colourful dimension: activation histograms during training",
      .caption = "Each column is the histogram of the activations h^l of the probe batch at one tracked step, coloured "
                 "by log10 of the density (fastai's ActivationStats colourful dimension; first seed, a few layers per "
                 "variant). Mass collapsing to one value (a bright band at 0) means dead or saturated units; a smooth "
                 "spread that keeps its width means the layer keeps passing signal while it learns." },
};

int vp_charts_can_draw(void) { return vp_plot_available(); }

/* The files a chart writes besides its data: <stem>.EXT. */
static const char *const CHART_EXTS[] = { "png", "svg", "gp", "dat" };

/* A name vp_charts_draw writes in a plots folder. */
static int plots_entry(const char *name)
{
    if (strcmp(name, VP_FILE_REPORT) == 0 || strcmp(name, VP_FILE_CRITICAL) == 0) return 1;
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    int ext = 0;
    for (size_t k = 0; k < sizeof CHART_EXTS / sizeof CHART_EXTS[0]; k++) ext |= strcmp(dot + 1, CHART_EXTS[k]) == 0;
    for (size_t i = 0; ext && i < sizeof CHARTS / sizeof CHARTS[0]; i++)
        if (strlen(CHARTS[i].stem) == (size_t)(dot - name) && strncmp(name, CHARTS[i].stem, (size_t)(dot - name)) == 0)
            return 1;
    return 0;
}

int vp_charts_legacy_folder(const char *dir)
{
    char report[4200];
    struct stat st;
    snprintf(report, sizeof report, "%s/%s", dir, VP_FILE_REPORT);
    return stat(report, &st) == 0 && vp_folder_all(dir, plots_entry);
}

vp_status vp_charts_dir_for_name(const char *n, char *out, size_t len, vp_err *err)
{
    int bad = n[0] == '.' || !n[0];
    for (const unsigned char *c = (const unsigned char *)n; *c; c++)
        bad |= *c == '/' || *c == '\\' || *c < 0x20 || *c == 0x7F;
    char shown[120];
    ck_clean_copy(shown, sizeof shown, n);
    if (bad) return vp_fail(err, VP_ERR_CONFIG, "experiment name '%s' is not a plain folder name; pass -o PLOTS_DIR", shown);
    if ((size_t)snprintf(out, len, "plots/%s", n) >= len)
        return vp_fail(err, VP_ERR_CONFIG, "experiment name '%s' is too long for a folder name", shown);
    return VP_OK;
}

vp_status vp_charts_default_dir(const char *results_dir, char *out, size_t len, vp_err *err)
{
    cJSON *cfg;
    vp_status s = vp_report_read_config(results_dir, &cfg, err);
    if (s) return s;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "name");
    if (!cJSON_IsString(nm) || !nm->valuestring[0])
        s = vp_fail(err, VP_ERR_CONFIG, "%s/" VP_FILE_CONFIG " has no \"name\"; pass -o PLOTS_DIR", results_dir);
    else
        s = vp_charts_dir_for_name(nm->valuestring, out, len, err);
    cJSON_Delete(cfg);
    return s;
}

/* After a complete drawing: remove the files of the charts an earlier drawing made
 * that this one did not (their data is gone from the results), and the copy of the
 * critical line when the results have none, so nothing stale sits beside the report. */
static void remove_stale(const ck_exper *e)
{
    char path[4200];
    struct stat st;
    for (size_t i = 0; i < sizeof CHARTS / sizeof CHARTS[0]; i++) {
        int drawn = 0;
        for (size_t k = 0; k < e->ncharts && !drawn; k++) drawn = strcmp(e->charts[k].stem, CHARTS[i].stem) == 0;
        for (size_t x = 0; !drawn && x < sizeof CHART_EXTS / sizeof CHART_EXTS[0]; x++) {
            snprintf(path, sizeof path, "%s/%s.%s", e->plots_dir, CHARTS[i].stem, CHART_EXTS[x]);
            unlink(path);
        }
    }
    snprintf(path, sizeof path, "%s/%s", e->results_dir, VP_FILE_CRITICAL);
    if (stat(path, &st) != 0) {
        snprintf(path, sizeof path, "%s/%s", e->plots_dir, VP_FILE_CRITICAL);
        unlink(path);
    }
}

vp_status vp_charts_draw(const char *results_dir, const char *plots_dir, vp_err *err)
{
    return vp_charts_draw_stop(results_dir, plots_dir, NULL, err);
}

vp_status vp_charts_draw_stop(const char *results_dir, const char *plots_dir, volatile sig_atomic_t *stop,
                              vp_err *err)
{
    if (!vp_plot_available())
        return vp_fail(err, VP_ERR_EXTERNAL, "cannot run '%s'; %s", vp_plot_program(), vp_plot_missing_hint());
    double limit;
    vp_status s = vp_plot_timeout(&limit, err); /* a bad value is refused before anything is drawn */
    if (s) return s;
    ck_exper e;
    memset(&e, 0, sizeof e);
    e.results_dir = results_dir;
    e.plots_dir = plots_dir;
    e.stop = stop;
    /* The gnuplot processes (ck_render's) start first and load their libraries and
     * fonts (a small plot into /dev/null, pipe only) while the tables are read: ~20 ms
     * of each one's start-up leave the critical path (docs/charts.md, "Speed"). */
    for (int q = 0; q < CK_PROCS && !s; q++) {
        if ((s = vp_plot_open(&e.proc[q], NULL, NULL, err))) break;
        vp_plot_set_stop(e.proc[q], stop);
        vp_plot_cmd(e.proc[q], "set terminal pngcairo size 320,240");
        vp_plot_cmd(e.proc[q], "set output '/dev/null'");
        vp_plot_cmd(e.proc[q], "unset key");
        vp_plot_cmd(e.proc[q], "plot x");
        vp_plot_cmd(e.proc[q], "unset output");
    }
    if (!s) s = ck_model_build(&e, err);
    if (!s) s = vp_mkdir_p(plots_dir, err);
    for (int q = 0; q < CK_PROCS && !s; q++) s = vp_plot_cd(e.proc[q], plots_dir, err);
    for (size_t i = 0; !s && i < sizeof CHARTS / sizeof CHARTS[0]; i++) {
        if (stop && *stop) s = vp_fail(err, VP_ERR_INTERRUPTED, "interrupted while drawing the charts");
        else if (e.tab[CHARTS[i].source]) s = CHARTS[i].draw(&e, &CHARTS[i], err);
    }
    if (!s) s = ck_render_all(&e, err);
    if (!s) s = vp_report_write(results_dir, plots_dir, e.charts, e.ncharts, err);
    if (!s) remove_stale(&e);
    ck_model_free(&e);
    return s;
}
