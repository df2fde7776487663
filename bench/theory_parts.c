/* theory_parts: CPU milliseconds of the mean-field theory of the 200-point tanh phase
 * grid (bench/w3_phase.json: sigma_w 0.5..3 in 20 steps x sigma_b 0..1 in 10, depth 30,
 * width 128), by part, on the calling thread, without the networks: what
 * `varprop run` computes per run (vp_theory_layer_predictions, vp_theory_corr_predictions
 * from q0 = 1 and c0 = 0.002 -- a batch of 128 standard normal inputs has a mean pairwise
 * correlation of that size -- and vp_theory_analyze) and once per experiment (the
 * critical line: vp_theory_critical at 101 sigma_b, as vp_predict_critical_line does).
 * Each part's figure is the best of --reps passes over the grid, so a stray interrupt does
 * not count; the checksum line lets two builds be compared for the same numbers.
 *
 * usage: theory_parts [--reps K]   (default 7)
 * Build and run from the repository root: make bench-theory
 * The paired end-to-end figure (run with theory - run without) is bench/chart_bench.py's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "theory/expect.h"
#include "theory/theory.h"

#define L 30
#define CRIT_STEPS 100

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int reps = 7;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: theory_parts [--reps K]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    vp_theory_ctx ctx;
    vp_err err;
    if (vp_theory_ctx_init(&ctx, &err) != VP_OK) {
        fprintf(stderr, "theory_parts: %s\n", err.msg);
        return 1;
    }
    vp_act act = vp_act_default(vp_act_find("tanh"));
    int widths[L + 1];
    for (int i = 0; i <= L; i++) widths[i] = 128;
    double sw2[L], sb2[L], pre[L], grad[L], chi[L], corr[L];
    double best[4] = { INFINITY, INFINITY, INFINITY, INFINITY }, check = 0.0;
    for (int rep = 0; rep < reps; rep++) {
        double t[4] = { 0 };
        check = 0.0;
        for (int i = 0; i < 20; i++)
            for (int j = 0; j < 10; j++) {
                double sw = 0.5 + 2.5 * i / 19.0, sb = j / 9.0;
                for (int l = 0; l < L; l++) sw2[l] = sw * sw, sb2[l] = sb * sb;
                double t0 = now_sec();
                vp_theory_layer_predictions(&ctx, &act, L, widths, sw2, sb2, 1.0, pre, grad, chi, &err);
                double t1 = now_sec();
                vp_theory_corr_predictions(&ctx, &act, L, sw2, sb2, 1.0, 0.002, pre, corr, &err);
                double t2 = now_sec();
                vp_theory_point pt;
                int ok = vp_theory_analyze(&ctx, &act, sw2[0], sb2[0], 1.0, &pt, &err) == VP_OK;
                double t3 = now_sec();
                t[0] += t1 - t0, t[1] += t2 - t1, t[2] += t3 - t2;
                check += pre[L - 1] + corr[L - 1] + (ok && isfinite(pt.c_star) ? pt.c_star : 0.0);
            }
        double t0 = now_sec();
        for (int k = 0; k <= CRIT_STEPS; k++) {
            double sb = (double)k / CRIT_STEPS, w2, qs;
            if (vp_theory_critical(&ctx, &act, sb * sb, &w2, &qs, &err) == VP_OK && isfinite(w2)) check += w2;
        }
        t[3] = now_sec() - t0;
        for (int k = 0; k < 4; k++)
            if (t[k] < best[k]) best[k] = t[k];
    }
    printf("tanh phase grid theory, CPU ms, best of %d: layer predictions %.1f, correlation predictions %.1f, "
           "analyze %.1f, critical line %.1f, total %.1f (checksum %.17g)\n",
           reps, 1e3 * best[0], 1e3 * best[1], 1e3 * best[2], 1e3 * best[3],
           1e3 * (best[0] + best[1] + best[2] + best[3]), check);
    return 0;
}
