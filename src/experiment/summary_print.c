/* summary_print: see summary_print.h. */
#include "experiment/summary_print.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "results/results.h"
#include "results/summary.h"

static const char *verdict(double ratio, long long nonfinite)
{
    return vp_verdict_word(vp_verdict_classify(ratio, nonfinite));
}

void vp_runner_print_summary(const vp_job *j)
{
    const vp_experiment *e = j->e;
    FILE *out = j->o->out;
    if (!out) return;
    fprintf(out, "%-4s %-22s %-34s %12s %-11s %12s %-11s\n", "var", "activation", "init", "act ratio",
            "activations", "grad ratio", "gradients");
    double *a = malloc((size_t)e->nseeds * sizeof *a), *g = malloc((size_t)e->nseeds * sizeof *g);
    if (!a || !g) { free(a); free(g); return; }
    for (int v = 0; v < e->nvariants; v++) {
        int n = 0;
        long long nf = 0;
        for (int s = 0; s < e->nseeds; s++) {
            const vp_run_sum *rs = &j->sums[v * e->nseeds + s];
            if (!rs->done) continue;
            a[n] = rs->act_ratio;
            g[n] = rs->grad_ratio;
            nf += rs->nonfinite;
            n++;
        }
        if (!n) continue;
        char act[256], init[256];
        vp_act_label(&e->variants[v].act, act, sizeof act);
        vp_init_label(&e->variants[v].winit, init, sizeof init);
        double ma = vp_median(a, (size_t)n), mg = vp_median(g, (size_t)n);
        fprintf(out, "%-4d %-22s %-34s %12.4g %-11s %12.4g %-11s\n", v, act, init, isnan(ma) ? NAN : ma,
                verdict(ma, nf), isnan(mg) ? NAN : mg, verdict(mg, nf));
    }
    free(a);
    free(g);
    fprintf(out, "(ratios: Var[z^L]/Var[z^1] and Var[dL/dz^1]/Var[dL/dz^L], median over %d seed%s; "
                 "stable = within a factor %g)\n", e->nseeds, e->nseeds == 1 ? "" : "s", VP_STABLE_BAND);
    /* Numerical blow-up is a result: say where it happened. */
    int nf_runs = 0, sub_runs = 0;
    for (long r = 0; r < vp_experiment_runs(e); r++) {
        nf_runs += j->sums[r].done && j->sums[r].nonfinite > 0;
        sub_runs += j->sums[r].done && j->sums[r].subnormal > 0;
    }
    if (nf_runs)
        fprintf(out, "%d run%s overflowed to Inf/NaN: their moments are reported as nan from the first layer "
                     "with non-finite values (column %s in " VP_FILE_LAYERS " and " VP_FILE_RUNS ")\n",
                nf_runs, nf_runs == 1 ? "" : "s", vp_col_name(VP_COL_NONFINITE));
    if (sub_runs)
        fprintf(out, "%d run%s produced subnormal values (a vanishing signal losing precision; column subnormal)\n",
                sub_runs, sub_runs == 1 ? "" : "s");
}
