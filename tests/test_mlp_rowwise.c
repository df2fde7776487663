/* The network's forward and backward with a row-wise activation (softmax family,
 * GLU), against a plain reference computed here from the exported weights: z^l =
 * h^{l-1} W^lT (zero biases), h^l = F(z^l) row by row, dL/dh^L = the documented probe
 * (element e of the normal stream (seed, 0, PROBE, draw 0)), dL/dz^l = J_F^T dL/dh^l
 * (row_bwd, itself checked against finite differences in test_act.c),
 * dL/dh^{l-1} = dL/dz^l W^l, dL/dW^l = (1/B) dz^T h^{l-1}. Everything is float64, so
 * the library's variances must agree to 1e-12 relative: this checks the buffers,
 * widths (2n for GLU) and transposes of the row-wise path. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mlp.h"
#include "core/rng.h"

enum { L = 2, B = 5, N0 = 4, N1 = 6, N2 = 3 };

static double pop_var(const double *x, size_t n)
{
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    return v / (double)n;
}

static void check(vp_act_kind kind)
{
    const vp_act_info *info = vp_act_get(kind);
    vp_act act = vp_act_default(kind);
    int widths[L + 1] = { N0, N1, N2 };
    vp_mlp *m;
    vp_err err;
    cr_assert_eq(vp_mlp_create(&m, L, widths, B, VP_F64, act, &err), VP_OK, "%s", err.msg);
    vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_ZEROS);
    cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, 11, &err), VP_OK, "%s", err.msg);
    double x[B * N0];
    for (int i = 0; i < B * N0; i++) x[i] = sin(0.7 * i + 0.3) * 1.5;
    vp_mlp_set_input(m, x);
    vp_layer_stats st[L];
    cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK);
    cr_assert_eq(vp_mlp_backward(m, 11, st, NULL, &err), VP_OK);

    /* reference */
    int zw[L + 1] = { 0, vp_act_zwidth(info, N1), vp_act_zwidth(info, N2) };
    double *W[L + 1], *h[L + 1], *z[L + 1];
    h[0] = x;
    for (int l = 1; l <= L; l++) {
        W[l] = malloc(sizeof(double) * (size_t)(zw[l] * widths[l - 1]));
        z[l] = malloc(sizeof(double) * (size_t)(B * zw[l]));
        h[l] = malloc(sizeof(double) * (size_t)(B * widths[l]));
        vp_mlp_export_layer(m, l, 0, W[l], NULL);
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < zw[l]; i++) {
                double s = 0;
                for (int k = 0; k < widths[l - 1]; k++) s += h[l - 1][b * widths[l - 1] + k] * W[l][i * widths[l - 1] + k];
                z[l][b * zw[l] + i] = s;
            }
            info->row_fwd(&z[l][b * zw[l]], &h[l][b * widths[l]], (size_t)widths[l], act.p);
        }
        cr_expect_eq(st[l - 1].fan_out, zw[l]);
        cr_expect_float_eq(st[l - 1].pre_var, pop_var(z[l], (size_t)(B * zw[l])), 1e-12 * st[l - 1].pre_var + 1e-300, "%s l%d pre %.15g vs %.15g", info->name, l, st[l - 1].pre_var, pop_var(z[l], (size_t)(B * zw[l])));
        cr_expect_float_eq(st[l - 1].post_var, pop_var(h[l], (size_t)(B * widths[l])), 1e-12 * st[l - 1].post_var + 1e-300);
    }
    double gh[B * N1 * 2], gz[B * N1 * 2], gprev[B * N1 * 2], dW[N1 * 2 * N1];
    vp_rng probe = vp_rng_make(11, 0, VP_RNG_PROBE);
    vp_rng_normal_fill(&probe, 0, gh, (size_t)(B * N2));
    for (int l = L; l >= 1; l--) {
        int n = widths[l], nin = widths[l - 1];
        cr_expect_float_eq(st[l - 1].grad_post_var, pop_var(gh, (size_t)(B * n)), 1e-12 * st[l - 1].grad_post_var, "%s l%d",
                           info->name, l);
        for (int b = 0; b < B; b++)
            info->row_bwd(&z[l][b * zw[l]], &h[l][b * n], &gh[b * n], &gz[b * zw[l]], (size_t)n, act.p);
        cr_expect_float_eq(st[l - 1].grad_pre_var, pop_var(gz, (size_t)(B * zw[l])), 1e-12 * st[l - 1].grad_pre_var,
                           "%s l%d", info->name, l);
        for (int i = 0; i < zw[l]; i++)
            for (int k = 0; k < nin; k++) {
                double s = 0;
                for (int b = 0; b < B; b++) s += gz[b * zw[l] + i] * h[l - 1][b * nin + k];
                dW[i * nin + k] = s / B;
            }
        cr_expect_float_eq(st[l - 1].wgrad_var, pop_var(dW, (size_t)(zw[l] * nin)), 1e-12 * st[l - 1].wgrad_var, "%s l%d",
                           info->name, l);
        for (int b = 0; b < B; b++)
            for (int k = 0; k < nin; k++) {
                double s = 0;
                for (int i = 0; i < zw[l]; i++) s += gz[b * zw[l] + i] * W[l][i * nin + k];
                gprev[b * nin + k] = s;
            }
        memcpy(gh, gprev, sizeof(double) * (size_t)(B * nin));
    }
    for (int l = 1; l <= L; l++) {
        free(W[l]);
        free(z[l]);
        free(h[l]);
    }
    vp_mlp_free(m);
}

Test(mlp_rowwise, glu_matches_the_reference) { check(VP_ACT_GLU); }
Test(mlp_rowwise, softmax_matches_the_reference) { check(VP_ACT_SOFTMAX); }
Test(mlp_rowwise, log_softmax_matches_the_reference) { check(VP_ACT_LOG_SOFTMAX); }
Test(mlp_rowwise, standardize_matches_the_reference) { check(VP_ACT_STANDARDIZE); }
Test(mlp_rowwise, sparsemax_matches_the_reference) { check(VP_ACT_SPARSEMAX); }
