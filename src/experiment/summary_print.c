/* summary_print: see summary_print.h. */
#include "experiment/summary_print.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/net_config.h"
#include "experiment/variant.h"
#include "results/results.h"
#include "results/summary.h"

#define MAX_VALUE_WIDTH 40 /* a longer swept value (a widths array) overflows its column */
#define MAX_LABEL_WIDTH 80 /* a longer activation or init label overflows its column */

static const char *verdict(double ratio, long long nonfinite)
{
    return vp_verdict_word(vp_verdict_classify(ratio, nonfinite));
}

/* Swept key k is shown when its values differ between variants; the activation and
 * the initializer are always shown, in their own columns. */
static int shown_key(const vp_experiment *e, int k)
{
    const char *key = e->sweep_keys[k];
    if (strcmp(key, VP_SWEEP_ACTIVATION) == 0 || strcmp(key, VP_SWEEP_INIT) == 0) return 0;
    for (int v = 1; v < e->nvariants; v++)
        if (strcmp(e->sweep_values[(size_t)v * (size_t)e->nsweep + (size_t)k], e->sweep_values[k]) != 0) return 1;
    return 0;
}

/* A swept key's column heading: the key without "network.". */
static const char *key_heading(const char *key)
{
    return strncmp(key, "network.", 8) == 0 ? key + 8 : key;
}

/* A cell of the seeds' median where some are NaN: the median of the others, or "-"
 * when none has one (a theory ratio: theory off for the variant, a block network, a
 * layer without a prediction; the test accuracy: diverged, or no test split). t is
 * reordered; `fixed` prints %.4f (an accuracy), else %.4g. */
static void median_cell(FILE *out, double *t, size_t n, int fixed)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(t[i])) t[k++] = t[i];
    if (!k) fprintf(out, " %9s", "-");
    else if (fixed) fprintf(out, " %9.4f", vp_median(t, k));
    else fprintf(out, " %9.4g", vp_median(t, k));
}

void vp_runner_print_summary(const vp_job *j)
{
    const vp_experiment *e = j->e;
    FILE *out = j->o->out;
    if (!out) return;
    double *a = malloc((size_t)e->nseeds * sizeof *a), *g = malloc((size_t)e->nseeds * sizeof *g);
    double *acc = malloc((size_t)e->nseeds * sizeof *acc);
    double *ta = malloc((size_t)e->nseeds * sizeof *ta), *tg = malloc((size_t)e->nseeds * sizeof *tg);
    int *width = calloc((size_t)e->nsweep + 1, sizeof *width);
    if (!a || !g || !acc || !ta || !tg || !width) {
        free(a); free(g); free(acc); free(ta); free(tg); free(width);
        return;
    }
    /* Columns: the swept keys that differ, and the finished seeds when a variant has
     * fewer than all of them (an interrupted run). */
    for (int k = 0; k < e->nsweep; k++) {
        if (!shown_key(e, k)) continue;
        width[k] = (int)strlen(key_heading(e->sweep_keys[k]));
        for (int v = 0; v < e->nvariants; v++) {
            int n = (int)strlen(e->sweep_values[(size_t)v * (size_t)e->nsweep + (size_t)k]);
            if (n > width[k]) width[k] = n < MAX_VALUE_WIDTH ? n : MAX_VALUE_WIDTH;
        }
    }
    int partial = 0;
    for (size_t r = 0; r < (size_t)vp_experiment_runs(e); r++) partial |= !j->sums[r].done;
    /* The activation and init columns: at least 22 and 34 wide, wider for longer labels
     * (mean_field(sigma_w=...,sigma_b=...)) up to MAX_LABEL_WIDTH, so the columns stay aligned. */
    int wact = 22, winit = 34;
    for (int v = 0; v < e->nvariants; v++) {
        char act[256], init[256];
        vp_variant_labels(&e->variants[v], act, init, sizeof act);
        int n = (int)strlen(act);
        if (n > wact) wact = n < MAX_LABEL_WIDTH ? n : MAX_LABEL_WIDTH;
        n = (int)strlen(init);
        if (n > winit) winit = n < MAX_LABEL_WIDTH ? n : MAX_LABEL_WIDTH;
    }

    fprintf(out, "%-4s %-*s %-*s", "var", wact, "activation", winit, "init");
    for (int k = 0; k < e->nsweep; k++)
        if (width[k]) fprintf(out, " %-*s", width[k], key_heading(e->sweep_keys[k]));
    /* The theory's ratios beside the measured ones, where any variant has theory on. */
    int theory = 0;
    for (int v = 0; v < e->nvariants; v++) theory |= e->variants[v].theory;
    /* each ratio, its theory, its verdict ("theory activations" read as one heading) */
    fprintf(out, " %12s%s %-11s %12s%s %-11s%s%s\n", "act ratio", theory ? "    theory" : "", "verdict",
            "grad ratio", theory ? "    theory" : "", "verdict", e->train ? "  test acc" : "", partial ? " seeds" : "");
    for (int v = 0; v < e->nvariants; v++) {
        int n = 0;
        long long nf = 0;
        for (int s = 0; s < e->nseeds; s++) {
            const vp_run_sum *rs = &j->sums[(size_t)v * (size_t)e->nseeds + (size_t)s];
            if (!rs->done) continue;
            a[n] = rs->act_ratio;
            g[n] = rs->grad_ratio;
            ta[n] = rs->theory_act_ratio;
            tg[n] = rs->theory_grad_ratio;
            acc[n] = rs->test_acc;
            nf += rs->nonfinite;
            n++;
        }
        if (!n) continue;
        char act[256], init[256];
        vp_variant_labels(&e->variants[v], act, init, sizeof act);
        double ma = vp_median(a, (size_t)n), mg = vp_median(g, (size_t)n);
        fprintf(out, "%-4d %-*s %-*s", v, wact, act, winit, init);
        for (int k = 0; k < e->nsweep; k++)
            if (width[k]) fprintf(out, " %-*s", width[k], e->sweep_values[(size_t)v * (size_t)e->nsweep + (size_t)k]);
        fprintf(out, " %12.4g", isnan(ma) ? NAN : ma);
        if (theory) median_cell(out, ta, (size_t)n, 0);
        fprintf(out, " %-11s %12.4g", verdict(ma, nf), isnan(mg) ? NAN : mg);
        if (theory) median_cell(out, tg, (size_t)n, 0);
        fprintf(out, " %-11s", verdict(mg, nf));
        if (e->train) median_cell(out, acc, (size_t)n, 1);
        if (partial) fprintf(out, " %d of %d", n, e->nseeds);
        fputc('\n', out);
    }
    free(a);
    free(g);
    free(acc);
    free(ta);
    free(tg);
    free(width);
    /* A block network's ratios are of layer outputs a..b, its hidden stack (run.c,
     * run_blocks), and so are their predictions (theory/blocks.h post, gpost). */
    int blocks = e->nvariants > 0 && e->variants[0].net;
    const char *what = blocks ? "Var[out^b]/Var[out^a] and Var[dL/dout^a]/Var[dL/dout^b] of the layer outputs a..b"
                              : "Var[z^L]/Var[z^1] and Var[dL/dz^1]/Var[dL/dz^L]";
    if (partial)
        fprintf(out, "(ratios: %s, median over each variant's finished seeds (column seeds); stable = within a "
                     "factor %g)\n", what, VP_STABLE_BAND);
    else
        fprintf(out, "(ratios: %s, median over %d seed%s; stable = within a factor %g)\n", what, e->nseeds,
                e->nseeds == 1 ? "" : "s", VP_STABLE_BAND);
    if (theory && blocks)
        fprintf(out, "(theory: the same ratios of the layer outputs predicted by mean-field theory for an infinitely "
                     "wide net from each run's input, - where a layer a..b has no prediction (after a pool, or a gradient "
                     "through batchnorm); per layer "
                     "in " VP_FILE_LAYERS ")\n");
    else if (theory)
        fprintf(out, "(theory: the same ratios predicted by mean-field theory for an infinitely wide net from each "
                     "run's input; per layer in " VP_FILE_LAYERS ")\n");
    if (e->train)
        fprintf(out, "(test acc: the test accuracy after training, median over the seeds that did not diverge; "
                     "- when none has one; per epoch in " VP_FILE_EVAL ")\n");
    /* Ratios of nets with a readout of another width (another output shape: a block
     * network's pooling, flatten, readout) span the hidden stack only. */
    if (blocks) { /* every variant's span */
        fprintf(out, "(a..b: the longest run of consecutive layers of one output shape outside residual branches, "
                     "all of them if no two share one;");
        /* runs of variants with one span, "variants 1-2: layers 4..12 of 13", up to a line's
           worth; each variant's span computed once. sized, alike, sv, sf, sl: below. */
        int groups = 0, first = 0, f = 0, l = 0, sized = 0, alike = 0, sv = -1, sf = 0, sl = 0;
        for (int v = 0; v <= e->nvariants; v++) {
            int fv = 0, lv = 0;
            if (v < e->nvariants) {
                vp_net_spec_stack(e->variants[v].net, &fv, &lv);
                const int *w = e->variants[v].widths;
                if (w[fv] != w[lv] && !sized++) sv = v, sf = fv, sl = lv;
                alike += w[fv] != w[lv] && fv == sf && lv == sl && w[fv] == e->variants[sv].widths[sf] &&
                         w[lv] == e->variants[sv].widths[sl];
            }
            if (v > 0 && v < e->nvariants && fv == f && lv == l && e->variants[v].L == e->variants[first].L) continue;
            if (v > 0) { /* the group first .. v-1 ends */
                if (groups < 8) {
                    if (v - first == 1) fprintf(out, "%s variant %d", groups ? ";" : "", first);
                    else fprintf(out, "%s variants %d-%d", groups ? ";" : "", first, v - 1);
                    fprintf(out, ": layers %d..%d of %d", f, l, e->variants[first].L);
                } else if (groups == 8) {
                    fprintf(out, "; ...");
                }
                groups++;
            }
            first = v, f = fv, l = lv;
        }
        fprintf(out, ")\n");
        /* A span whose ends differ in size (LeNet: all layers, from a 6x26x26 map to a 10-wide
         * readout) compares per-entry variances of different counts: under a fan_in initializer
         * the gradient's per-entry variance scales with n_out/n_in at each layer, so its ratio
         * moves with the size alone (docs/architectures.md). Said once, for the first such
         * variant (sv, its span sf..sl), and for all when they share its sizes (alike). */
        char who[64];
        if (sized == e->nvariants && alike == sized && sized > 1) snprintf(who, sizeof who, "every variant");
        else snprintf(who, sizeof who, "%svariant %d", sized == 1 ? "" : "e.g. ", sv);
        if (sized)
            fprintf(out, "(%s: layers %d..%d have outputs of %d and %d values per example, so the per-entry gradient "
                         "ratio moves with that size alone, by about %d/%d under fan_in initializers; "
                         "docs/architectures.md)\n",
                    who, sf, sl, e->variants[sv].widths[sf], e->variants[sv].widths[sl], e->variants[sv].widths[sl],
                    e->variants[sv].widths[sf]);
    }
    for (int v = 0; v < e->nvariants && !blocks; v++) {
        int first, last;
        vp_mlp_stack(e->variants[v].L, e->variants[v].widths, &first, &last);
        if (first != 1 || last != e->variants[v].L) {
            fprintf(out, "(unequal widths: ratios span the hidden stack of equal width, not the readout; variant %d: "
                         "layers %d..%d)\n", v, first, last);
            break;
        }
    }
    /* Numerical blow-up is a result: say where it happened. */
    int nf_runs = 0, sub_runs = 0, div_runs = 0, trained = 0;
    long first_div = -1;
    for (long r = 0; r < vp_experiment_runs(e); r++) {
        nf_runs += j->sums[r].done && j->sums[r].nonfinite > 0;
        sub_runs += j->sums[r].done && j->sums[r].subnormal > 0;
        trained += j->sums[r].done && e->train;
        if (j->sums[r].done && j->sums[r].diverged_step > 0 && !div_runs++) first_div = r;
    }
    if (div_runs)
        fprintf(out, "training diverged in %d of %d run%s (a NaN/Inf loss: status " VP_STATUS_DIVERGED " in "
                     VP_FILE_RUNS ", %s the step; first: variant %ld, seed %llu at step %.0f); their test acc is "
                     "not counted\n",
                div_runs, trained, trained == 1 ? "" : "s", vp_col_name(VP_COL_DIVERGED_STEP), first_div / e->nseeds,
                (unsigned long long)e->seeds[first_div % e->nseeds], j->sums[first_div].diverged_step);
    if (nf_runs)
        fprintf(out, "%d run%s overflowed to Inf/NaN: their moments are reported as nan from the first layer "
                     "with non-finite values (column %s in " VP_FILE_LAYERS " and " VP_FILE_RUNS ")\n",
                nf_runs, nf_runs == 1 ? "" : "s", vp_col_name(VP_COL_NONFINITE));
    if (sub_runs) {
        /* Subnormals come from a vanishing signal, or from units deep in a flat region
         * of the activation whatever the signal does: selu'(z) = lambda alpha e^z
         * underflows for z << 0, which an exploding selu net reaches (a new user read
         * "vanishing" beside an exploding verdict). Which variants, so it can be checked. */
        char vars[96] = "";
        size_t at = 0;
        int listed = 0, more = 0;
        for (int v = 0; v < e->nvariants; v++) {
            int has = 0;
            for (int s = 0; s < e->nseeds; s++) {
                const vp_run_sum *rs = &j->sums[(size_t)v * (size_t)e->nseeds + (size_t)s];
                has |= rs->done && rs->subnormal > 0;
            }
            if (!has) continue;
            if (listed == 6) { more = 1; continue; }
            at += (size_t)snprintf(vars + at, sizeof vars - at, "%s%d", listed++ ? ", " : "", v);
        }
        fprintf(out, "%d run%s produced subnormal values (finite, with fewer significant bits: a vanishing signal, or "
                     "units deep in a flat region of the activation, as selu/elu's e^z for z << 0 in an exploding net; "
                     "variant%s %s%s; column %s in " VP_FILE_LAYERS " and " VP_FILE_RUNS ")\n",
                sub_runs, sub_runs == 1 ? "" : "s", listed == 1 && !more ? "" : "s", vars, more ? ", ..." : "",
                vp_col_name(VP_COL_SUBNORMAL));
    }
}
