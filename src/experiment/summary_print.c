/* summary_print: see summary_print.h. */
#include "experiment/summary_print.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const char *vp_runner_verdict(double ratio, long long nonfinite)
{
    if (nonfinite > 0) return "non-finite";
    /* 0/0: both ends of the net carry exactly zero signal (it underflowed on the
     * way, e.g. relu'(0) = 0 everywhere): it vanished completely. x/0 = inf. */
    if (isnan(ratio)) return "vanishing";
    if (isinf(ratio)) return "exploding";
    if (ratio < 1.0 / VP_STABLE_BAND) return "vanishing";
    if (ratio > VP_STABLE_BAND) return "exploding";
    return "stable";
}

/* ---- summary table ---- */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
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
        double ma = median(a, n), mg = median(g, n);
        fprintf(out, "%-4d %-22s %-34s %12.4g %-11s %12.4g %-11s\n", v, act, init, isnan(ma) ? NAN : ma,
                vp_runner_verdict(ma, nf), isnan(mg) ? NAN : mg, vp_runner_verdict(mg, nf));
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
                     "with non-finite values (column nonfinite in layers.csv and runs.csv)\n",
                nf_runs, nf_runs == 1 ? "" : "s");
    if (sub_runs)
        fprintf(out, "%d run%s produced subnormal values (a vanishing signal losing precision; column subnormal)\n",
                sub_runs, sub_runs == 1 ? "" : "s");
}
