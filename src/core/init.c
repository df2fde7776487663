/* init: see init.h. Formulas and constants: ../shared/reference/initializers.md
 * (PyTorch torch/nn/init.py, Keras 3 keras/src/initializers, JAX jax/_src/nn/initializers.py). */
#include "core/init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNUSED(x) (void)(x)
#define BIG 1e6
/* Std of N(0,1) truncated to (-2, 2): Keras/JAX VarianceScaling divide by it so the
 * post-truncation std is the requested one. sqrt(1 - 4 phi(2)/(2 Phi(2) - 1)). */
#define TRUNC2_STD 0.87962566103423978

/* LAPACK (exported by OpenBLAS): QR factorization and forming Q. Column-major. */
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
                    double *work, const int *lwork, int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
                    const double *tau, double *work, const int *lwork, int *info);
extern void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau,
                    float *work, const int *lwork, int *info);
extern void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda,
                    const float *tau, float *work, const int *lwork, int *info);

/* ---- choice lists (indices are stored as parameter values) ---- */
#define KAIMING_MODES "fan_in fan_out"
#define KAIMING_NONLIN "linear sigmoid tanh relu leaky_relu selu"
enum { NL_LINEAR, NL_SIGMOID, NL_TANH, NL_RELU, NL_LEAKY_RELU, NL_SELU };
#define VS_MODES "fan_in fan_out fan_avg fan_geo_avg"
enum { MODE_FAN_IN, MODE_FAN_OUT, MODE_FAN_AVG, MODE_FAN_GEO_AVG };
#define VS_DISTS "truncated_normal normal uniform untruncated_normal"
enum { DIST_TRUNC, DIST_NORMAL, DIST_UNIFORM, DIST_UNTRUNC };

double vp_init_kaiming_gain(int nonlinearity, double a)
{
    switch (nonlinearity) {
    case NL_SIGMOID:
    case NL_LINEAR: return 1.0;
    case NL_TANH: return 5.0 / 3.0;
    case NL_RELU: return M_SQRT2;
    case NL_SELU: return 0.75;
    default: return sqrt(2.0 / (1.0 + a * a)); /* leaky_relu with negative slope a */
    }
}

/* ---- standard normal truncated to [lo, hi] (standard units) ----
 * Same two regimes as PyTorch's trunc_normal_ (PR #174997): if the interval holds
 * more than 30% of the mass, redraw N(0,1) until inside; otherwise propose
 * U(lo, hi) and accept with probability exp(-x^2/2) / exp(-mode^2/2). Attempt k of
 * element i uses element i of stream k, so the result does not depend on thread count. */
static double Phi(double x) { return 0.5 * erfc(-x * M_SQRT1_2); }
static double npdf(double x) { return exp(-0.5 * x * x) / sqrt(2.0 * M_PI); }

static vp_status trunc_std_normal(const vp_rng *rng, size_t n, double lo, double hi, double *out,
                                  vp_err *err)
{
    if (!(lo < hi)) return vp_fail(err, VP_ERR_CONFIG, "truncation bounds must satisfy a < b");
    double mass = Phi(hi) - Phi(lo);
    double mode = lo > 0 ? lo : (hi < 0 ? hi : 0.0);
    const uint32_t max_draws = 1u << 20;
    /* Attempt 0 of every element in one pass (element i of normal stream 0, made a
     * block at a time); only the rejected elements go on to streams 1, 2, ... */
    if (mass > 0.3) vp_rng_normal_fill(rng, 0, out, n);
    for (size_t i = 0; i < n; i++) {
        if (mass > 0.3 && out[i] >= lo && out[i] <= hi) continue;
        uint32_t k = mass > 0.3 ? 1 : 0;
        for (;; k++) {
            if (k >= max_draws)
                return vp_fail(err, VP_ERR_NUMERIC,
                               "truncated normal: no accepted draw in %u tries (interval [%g, %g] "
                               "standard deviations holds too little mass)", max_draws, lo, hi);
            if (mass > 0.3) {
                double z = vp_rng_normal_at(rng, i, k); /* element i of normal stream k */
                if (z >= lo && z <= hi) { out[i] = z; break; }
            } else {
                double u[2];
                vp_rng_uniform2(rng, i, k, u);
                double x = lo + (hi - lo) * u[0];
                if (log(u[1]) <= -0.5 * (x * x - mode * mode)) { out[i] = x; break; }
            }
        }
    }
    return VP_OK;
}

/* Moments of N(0,1) truncated to [a, b]. */
static void trunc_moments(double a, double b, double *m, double *v)
{
    double Z = Phi(b) - Phi(a);
    double pa = isfinite(a) ? npdf(a) : 0, pb = isfinite(b) ? npdf(b) : 0;
    double apa = isfinite(a) ? a * pa : 0, bpb = isfinite(b) ? b * pb : 0;
    *m = (pa - pb) / Z;
    *v = 1.0 + (apa - bpb) / Z - (*m) * (*m);
}

static size_t fan_for(int mode, size_t fan_out, size_t fan_in, double *n)
{
    switch (mode) {
    case MODE_FAN_OUT: *n = (double)fan_out; break;
    case MODE_FAN_AVG: *n = 0.5 * (double)(fan_in + fan_out); break;
    case MODE_FAN_GEO_AVG: *n = sqrt((double)fan_in * (double)fan_out); break;
    default: *n = (double)fan_in; break;
    }
    return 0;
}

/* ---- generic draws ---- */
static void fill_uniform(const vp_rng *rng, size_t n, double lo, double hi, double *out)
{
    vp_rng_uniform_fill(rng, 0, out, n);
    for (size_t i = 0; i < n; i++) out[i] = lo + (hi - lo) * out[i];
}
static void fill_normal(const vp_rng *rng, size_t n, double mean, double std, double *out)
{
    vp_rng_normal_fill(rng, 0, out, n);
    for (size_t i = 0; i < n; i++) out[i] = mean + std * out[i];
}
/* Keras/JAX truncated normal with post-truncation std `std` (TRUNC2_STD correction). */
static vp_status fill_vs_trunc(const vp_rng *rng, size_t n, double std, double *out, vp_err *err)
{
    vp_status s = trunc_std_normal(rng, n, -2.0, 2.0, out, err);
    for (size_t i = 0; !s && i < n; i++) out[i] *= std / TRUNC2_STD;
    return s;
}

static size_t count(size_t fo, size_t fi, int is_bias) { return is_bias ? fo : fo * fi; }

/* ---- one draw function per row ---- */
#define DRAW(name) static vp_status name(const vp_init *in, size_t fo, size_t fi, int is_bias, \
                                         const vp_rng *rng, double *out, vp_err *err)
DRAW(draw_const)
{
    UNUSED(rng); UNUSED(err);
    double v = in->kind == VP_INIT_ONES ? 1.0 : in->kind == VP_INIT_CONSTANT ? in->p[0] : 0.0;
    size_t n = count(fo, fi, is_bias);
    for (size_t i = 0; i < n; i++) out[i] = v;
    return VP_OK;
}
DRAW(draw_uniform) { UNUSED(err); fill_uniform(rng, count(fo, fi, is_bias), in->p[0], in->p[1], out); return VP_OK; }
DRAW(draw_normal) { UNUSED(err); fill_normal(rng, count(fo, fi, is_bias), in->p[0], in->p[1], out); return VP_OK; }
DRAW(draw_trunc_normal) /* PyTorch: mean, std, absolute bounds a, b; no variance correction */
{
    double mean = in->p[0], std = in->p[1];
    size_t n = count(fo, fi, is_bias);
    vp_status s = trunc_std_normal(rng, n, (in->p[2] - mean) / std, (in->p[3] - mean) / std, out, err);
    for (size_t i = 0; !s && i < n; i++) out[i] = mean + std * out[i];
    return s;
}
DRAW(draw_truncated_normal) /* Keras/JAX: bounds in units of stddev; no correction */
{
    double mean = in->p[0], std = in->p[1];
    size_t n = count(fo, fi, is_bias);
    vp_status s = trunc_std_normal(rng, n, in->p[2], in->p[3], out, err);
    for (size_t i = 0; !s && i < n; i++) out[i] = mean + std * out[i];
    return s;
}
DRAW(draw_identity)
{
    UNUSED(rng); UNUSED(err); UNUSED(is_bias);
    for (size_t r = 0; r < fo; r++)
        for (size_t c = 0; c < fi; c++) out[r * fi + c] = (r == c) ? in->p[0] : 0.0;
    return VP_OK;
}
DRAW(draw_xavier_uniform)
{
    UNUSED(err); UNUSED(is_bias);
    double bound = sqrt(3.0) * in->p[0] * sqrt(2.0 / (double)(fi + fo));
    fill_uniform(rng, fo * fi, -bound, bound, out);
    return VP_OK;
}
DRAW(draw_xavier_normal)
{
    UNUSED(err); UNUSED(is_bias);
    fill_normal(rng, fo * fi, 0.0, in->p[0] * sqrt(2.0 / (double)(fi + fo)), out);
    return VP_OK;
}
static double kaiming_std(const vp_init *in, size_t fo, size_t fi)
{
    double gain = vp_init_kaiming_gain((int)in->p[2], in->p[0]);
    return gain / sqrt((double)((int)in->p[1] == 1 ? fo : fi));
}
DRAW(draw_kaiming_uniform)
{
    UNUSED(err); UNUSED(is_bias);
    double bound = sqrt(3.0) * kaiming_std(in, fo, fi);
    fill_uniform(rng, fo * fi, -bound, bound, out);
    return VP_OK;
}
DRAW(draw_kaiming_normal)
{
    UNUSED(err); UNUSED(is_bias);
    fill_normal(rng, fo * fi, 0.0, kaiming_std(in, fo, fi), out);
    return VP_OK;
}
/* variance_scaling core: variance = scale / n, three distributions. */
static vp_status vs_draw(double scale, int mode, int dist, size_t fo, size_t fi, const vp_rng *rng,
                         double *out, vp_err *err)
{
    double n;
    fan_for(mode, fo, fi, &n);
    double var = scale / n;
    switch (dist) {
    case DIST_UNIFORM: fill_uniform(rng, fo * fi, -sqrt(3.0 * var), sqrt(3.0 * var), out); return VP_OK;
    case DIST_NORMAL:
    case DIST_UNTRUNC: fill_normal(rng, fo * fi, 0.0, sqrt(var), out); return VP_OK;
    default: return fill_vs_trunc(rng, fo * fi, sqrt(var), out, err);
    }
}
DRAW(draw_lecun_uniform) { UNUSED(in); UNUSED(is_bias); return vs_draw(1.0, MODE_FAN_IN, DIST_UNIFORM, fo, fi, rng, out, err); }
DRAW(draw_lecun_normal) { UNUSED(in); UNUSED(is_bias); return vs_draw(1.0, MODE_FAN_IN, DIST_TRUNC, fo, fi, rng, out, err); }
DRAW(draw_variance_scaling)
{
    UNUSED(is_bias);
    return vs_draw(in->p[0], (int)in->p[1], (int)in->p[2], fo, fi, rng, out, err);
}
DRAW(draw_orthogonal) { UNUSED(is_bias); return vp_init_orthogonal(fo, fi, in->p[0], in->single, rng, out, err); }
DRAW(draw_lsuv) { UNUSED(is_bias); return vp_init_orthogonal(fo, fi, 1.0, in->single, rng, out, err); }
DRAW(draw_sparse) /* PyTorch sparse_: N(0, std^2), then ceil(sparsity*rows) zeros per column */
{
    UNUSED(err); UNUSED(is_bias);
    fill_normal(rng, fo * fi, 0.0, in->p[1], out);
    size_t zeros = (size_t)ceil(in->p[0] * (double)fo);
    if (zeros > fo) zeros = fo;
    vp_rng mask = vp_rng_make(rng->seed, rng->layer, VP_RNG_MASK);
    size_t *perm = malloc(fo * sizeof *perm);
    if (!perm) return vp_fail(err, VP_ERR_NOMEM, "sparse init: out of memory");
    for (size_t c = 0; c < fi; c++) {
        /* partial Fisher-Yates: the first `zeros` entries of a random permutation of rows */
        for (size_t r = 0; r < fo; r++) perm[r] = r;
        for (size_t k = 0; k < zeros; k++) {
            size_t j = k + (size_t)vp_rng_below(&mask, (uint64_t)c * fo + k, 0, fo - k);
            size_t t = perm[k]; perm[k] = perm[j]; perm[j] = t;
            out[perm[k] * fi + c] = 0.0;
        }
    }
    free(perm);
    return VP_OK;
}
DRAW(draw_torch_linear) /* nn.Linear.reset_parameters: U(+-1/sqrt(fan_in)) for W and b */
{
    UNUSED(in); UNUSED(err);
    double bound = fi > 0 ? 1.0 / sqrt((double)fi) : 0.0;
    fill_uniform(rng, count(fo, fi, is_bias), -bound, bound, out);
    return VP_OK;
}
DRAW(draw_mean_field) /* Poole et al. 2016: W ~ N(0, sigma_w^2/fan_in), b ~ N(0, sigma_b^2) */
{
    UNUSED(err);
    if (is_bias) fill_normal(rng, fo, 0.0, in->p[1], out);
    else fill_normal(rng, fo * fi, 0.0, in->p[0] / sqrt((double)fi), out);
    return VP_OK;
}

/* ---- the registry ---- */
#define GAIN1 { "gain", VP_P_GAIN, 1.0, 0, BIG, NULL, \
                "multiplier; \"auto\" = the activation's gain, \"critical\" = its chi_1 = 1 gain" }
/* kaiming_uniform_ / kaiming_normal_(a=0, mode='fan_in', nonlinearity='leaky_relu') */
#define KAIMING_PARAMS                                                                      \
    {{ "a", VP_P_NUM, 0.0, -BIG, BIG, NULL, "negative slope for leaky_relu gain" },          \
     { "mode", VP_P_ENUM, 0, 0, 0, KAIMING_MODES, "which fan" },                           \
     { "nonlinearity", VP_P_ENUM, NL_LEAKY_RELU, 0, 0, KAIMING_NONLIN, "calculate_gain name" }}
#define W_ONLY 0, 1
#define W_AND_B 1, 1
static const vp_init_info INIT_TABLE[VP_INIT_COUNT] = {
    [VP_INIT_ZEROS] = { "zeros", "zero", "0", "all three", 0, {{0}}, draw_const, W_AND_B, 0, 0 },
    [VP_INIT_ONES] = { "ones", "one", "1", "all three", 0, {{0}}, draw_const, W_AND_B, 0, 0 },
    [VP_INIT_CONSTANT] = { "constant", "", "value", "PyTorch constant_, Keras Constant, JAX constant",
        1, {{ "value", VP_P_NUM, 0.0, -BIG, BIG, NULL, "fill value" }}, draw_const, W_AND_B, 0, 0 },
    [VP_INIT_UNIFORM] = { "uniform", "", "U[a, b)", "PyTorch uniform_(a=0, b=1); JAX uniform(scale) = U[0, scale)",
        2, {{ "a", VP_P_NUM, 0.0, -BIG, BIG, NULL, "lower bound" }, { "b", VP_P_NUM, 1.0, -BIG, BIG, NULL, "upper bound (> a)" }},
        draw_uniform, W_AND_B, 0, 0 },
    [VP_INIT_NORMAL] = { "normal", "", "N(mean, std^2)", "PyTorch normal_(0, 1); JAX normal(stddev=0.01) via std",
        2, {{ "mean", VP_P_NUM, 0.0, -BIG, BIG, NULL, "mean" }, { "std", VP_P_NUM, 1.0, 0, BIG, NULL, "standard deviation" }},
        draw_normal, W_AND_B, 0, 0 },
    [VP_INIT_TRUNC_NORMAL] = { "trunc_normal", "", "N(mean, std^2) restricted to [a, b] (absolute bounds, no std correction)",
        "PyTorch trunc_normal_(mean=0, std=1, a=-2, b=2), rejection sampling as PyTorch >= 2026",
        4, {{ "mean", VP_P_NUM, 0.0, -BIG, BIG, NULL, "mean" }, { "std", VP_P_NUM, 1.0, 1e-30, BIG, NULL, "std before truncation" },
            { "a", VP_P_NUM, -2.0, -BIG, BIG, NULL, "absolute lower cut-off" }, { "b", VP_P_NUM, 2.0, -BIG, BIG, NULL, "absolute upper cut-off" }},
        draw_trunc_normal, W_AND_B, 0, 0 },
    [VP_INIT_TRUNCATED_NORMAL] = { "truncated_normal", "", "N(mean, stddev^2) restricted to mean + [lower, upper]*stddev, no correction",
        "Keras TruncatedNormal(0, 0.05) (+-2 stddev); JAX truncated_normal(stddev=0.01, lower=-2, upper=2)",
        4, {{ "mean", VP_P_NUM, 0.0, -BIG, BIG, NULL, "mean" }, { "stddev", VP_P_NUM, 0.05, 1e-30, BIG, NULL, "std before truncation" },
            { "lower", VP_P_NUM, -2.0, -BIG, BIG, NULL, "lower cut-off in stddevs" }, { "upper", VP_P_NUM, 2.0, -BIG, BIG, NULL, "upper cut-off in stddevs" }},
        draw_truncated_normal, W_AND_B, 0, 0 },
    [VP_INIT_RANDOM_NORMAL] = { "random_normal", "", "N(mean, stddev^2)", "Keras RandomNormal(0, 0.05)",
        2, {{ "mean", VP_P_NUM, 0.0, -BIG, BIG, NULL, "mean" }, { "stddev", VP_P_NUM, 0.05, 0, BIG, NULL, "standard deviation" }},
        draw_normal, W_AND_B, 0, 0 },
    [VP_INIT_RANDOM_UNIFORM] = { "random_uniform", "", "U[minval, maxval)", "Keras RandomUniform(-0.05, 0.05)",
        2, {{ "minval", VP_P_NUM, -0.05, -BIG, BIG, NULL, "lower bound" }, { "maxval", VP_P_NUM, 0.05, -BIG, BIG, NULL, "upper bound" }},
        draw_uniform, W_AND_B, 0, 0 },
    [VP_INIT_IDENTITY] = { "identity", "eye", "gain * eye(fan_out, fan_in) (rectangular)", "PyTorch eye_, Keras Identity(gain=1)",
        1, { GAIN1 }, draw_identity, W_ONLY, 0, 0 },
    [VP_INIT_XAVIER_UNIFORM] = { "xavier_uniform", "glorot_uniform", "U(+-gain*sqrt(6/(fan_in+fan_out)))",
        "Glorot & Bengio 2010 Eq. 16; PyTorch xavier_uniform_, Keras/JAX glorot_uniform", 1, { GAIN1 },
        draw_xavier_uniform, W_ONLY, 0, 0 },
    [VP_INIT_XAVIER_NORMAL] = { "xavier_normal", "glorot_normal", "N(0, gain^2*2/(fan_in+fan_out)), untruncated",
        "PyTorch xavier_normal_ (Keras/JAX glorot_normal is truncated: variance_scaling(1, fan_avg, truncated_normal))",
        1, { GAIN1 }, draw_xavier_normal, W_ONLY, 0, 0 },
    [VP_INIT_KAIMING_UNIFORM] = { "he_uniform", "kaiming_uniform", "U(+-sqrt(3)*gain/sqrt(fan)), gain = calculate_gain(nonlinearity, a)",
        "He et al. 2015; PyTorch kaiming_uniform_(a=0, mode=fan_in, nonlinearity=leaky_relu) = Keras/JAX he_uniform",
        3, KAIMING_PARAMS,
        draw_kaiming_uniform, W_ONLY, 0, 0 },
    [VP_INIT_KAIMING_NORMAL] = { "he_normal", "kaiming_normal", "N(0, gain^2/fan), untruncated, gain = calculate_gain(nonlinearity, a)",
        "He et al. 2015 Eq. 10; PyTorch kaiming_normal_ (Keras/JAX he_normal is truncated: variance_scaling(2, fan_in, truncated_normal))",
        3, KAIMING_PARAMS,
        draw_kaiming_normal, W_ONLY, 0, 0 },
    [VP_INIT_LECUN_UNIFORM] = { "lecun_uniform", "", "U(+-sqrt(3/fan_in))", "Keras LecunUniform, JAX lecun_uniform",
        0, {{0}}, draw_lecun_uniform, W_ONLY, 0, 0 },
    [VP_INIT_LECUN_NORMAL] = { "lecun_normal", "", "truncated normal (+-2 std), post-truncation std sqrt(1/fan_in)",
        "Keras LecunNormal, JAX lecun_normal (Flax Dense default)", 0, {{0}}, draw_lecun_normal, W_ONLY, 0, 0 },
    [VP_INIT_VARIANCE_SCALING] = { "variance_scaling", "", "variance scale/n, n = fan per mode; truncated_normal divides std by 0.87962566",
        "Keras VarianceScaling / JAX variance_scaling; normal = untruncated (as JAX; Keras maps normal to truncated)",
        3, {{ "scale", VP_P_NUM, 1.0, 1e-30, BIG, NULL, "variance multiplier, > 0" },
            { "mode", VP_P_ENUM, MODE_FAN_IN, 0, 0, VS_MODES, "which fan" },
            { "distribution", VP_P_ENUM, DIST_TRUNC, 0, 0, VS_DISTS, "shape of the draw" }},
        draw_variance_scaling, W_ONLY, 0, 0 },
    [VP_INIT_ORTHOGONAL] = { "orthogonal", "", "gain * Q, Q from QR of a Gaussian matrix, sign-corrected",
        "Saxe et al. 2014; PyTorch orthogonal_, Keras Orthogonal, JAX orthogonal; QR in the net's precision", 1, { GAIN1 },
        draw_orthogonal, W_ONLY, 0, 0 },
    [VP_INIT_SPARSE] = { "sparse", "", "N(0, std^2) with ceil(sparsity*fan_out) zeros per column",
        "Martens 2010; PyTorch sparse_(sparsity, std=0.01)",
        2, {{ "sparsity", VP_P_NUM, 0.1, 0, 1, NULL, "fraction of zeros per column" },
            { "std", VP_P_NUM, 0.01, 0, BIG, NULL, "std of the non-zeros" }},
        draw_sparse, W_ONLY, 0, 0 },
    [VP_INIT_TORCH_LINEAR] = { "torch_linear", "pytorch_default", "U(+-1/sqrt(fan_in)) (weights and biases)",
        "PyTorch nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)), Var = 1/(3 fan_in)",
        0, {{0}}, draw_torch_linear, W_AND_B, 0, 0 },
    [VP_INIT_LSUV] = { "lsuv", "", "orthogonal, then W /= sqrt(Var[z]) per layer until |Var[z]-1| < tol",
        "Mishkin & Matas 2016 (layer-sequential unit variance, on the input batch)",
        2, {{ "tol", VP_P_NUM, 0.1, 1e-9, 1, NULL, "tolerance on |Var[z] - 1|" },
            { "max_iter", VP_P_INT, 10, 1, 1000, NULL, "rescaling iterations per layer" }},
        draw_lsuv, W_ONLY, 1, 0 },
    [VP_INIT_MEAN_FIELD] = { "mean_field", "", "W ~ N(0, sigma_w^2/fan_in), b ~ N(0, sigma_b^2)",
        "Poole et al. 2016, Schoenholz et al. 2017 (sets the biases too)",
        2, {{ "sigma_w", VP_P_NUM, 1.0, 0, BIG, NULL, "weight std times sqrt(fan_in)" },
            { "sigma_b", VP_P_NUM, 0.0, 0, BIG, NULL, "bias std" }},
        draw_mean_field, W_ONLY, 0, 1 },
};

const vp_init_info *vp_init_get(vp_init_kind k)
{
    if ((unsigned)k >= VP_INIT_COUNT) abort(); /* internal invariant: kinds come from vp_init_find */
    return &INIT_TABLE[k];
}

vp_init_kind vp_init_find(const char *name)
{
    for (int k = 0; k < VP_INIT_COUNT; k++)
        if (strcmp(INIT_TABLE[k].name, name) == 0 || vp_choice_index(INIT_TABLE[k].aliases, name) >= 0)
            return (vp_init_kind)k;
    return VP_INIT_COUNT;
}

vp_init vp_init_default(vp_init_kind k)
{
    vp_init in = { k, {0}, 0, 0, 0, 0 };
    const vp_init_info *info = vp_init_get(k);
    for (int i = 0; i < info->nparams; i++) in.p[i] = info->params[i].def;
    return in;
}

int vp_init_param_index(const vp_init_info *info, const char *name)
{
    for (int i = 0; i < info->nparams; i++)
        if (strcmp(info->params[i].name, name) == 0) return i;
    return -1;
}

void vp_init_names(int bias, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < VP_INIT_COUNT && used < len; k++) {
        if (bias ? !INIT_TABLE[k].bias_ok : !INIT_TABLE[k].weight_ok) continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", INIT_TABLE[k].name);
    }
}

static void resolve_mask(vp_init *in, unsigned mask, double gain)
{
    for (int i = 0; i < VP_INIT_MAX_PARAMS; i++)
        if (mask & (1u << i)) in->p[i] = gain;
    in->auto_resolved = 1;
}

void vp_init_resolve_auto(vp_init *in, double gain) { resolve_mask(in, in->auto_mask, gain); }
void vp_init_resolve_critical(vp_init *in, double gain) { resolve_mask(in, in->critical_mask, gain); }

int vp_init_same(const vp_init *a, const vp_init *b)
{
    if (a->kind != b->kind || a->auto_resolved != b->auto_resolved) return 0;
    const vp_init_info *info = vp_init_get(a->kind);
    for (int i = 0; i < info->nparams; i++)
        if (!(a->p[i] == b->p[i])) return 0;
    return 1;
}

void vp_init_label(const vp_init *in, char *buf, size_t len)
{
    const vp_init_info *info = vp_init_get(in->kind);
    size_t used = (size_t)snprintf(buf, len, "%s", info->name);
    int first = 1;
    for (int i = 0; i < info->nparams && used < len; i++) {
        char v[64];
        if (in->auto_mask & (1u << i)) snprintf(v, sizeof v, "auto");
        else if (in->critical_mask & (1u << i)) snprintf(v, sizeof v, "critical");
        else if (in->p[i] == info->params[i].def) continue;
        else vp_param_format(&info->params[i], in->p[i], v, sizeof v);
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", first ? "(" : ",", info->params[i].name, v);
        first = 0;
    }
    if (!first && used < len) snprintf(buf + used, len - used, ")");
}

vp_status vp_init_weight(const vp_init *in, size_t fan_out, size_t fan_in, const vp_rng *rng,
                         double *W, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    if (!info->weight_ok) return vp_fail(err, VP_ERR_CONFIG, "not a weight initializer");
    if ((in->auto_mask | in->critical_mask) && !in->auto_resolved)
        return vp_fail(err, VP_ERR_CONFIG, "internal: unresolved \"auto\" gain for %s", info->name);
    return info->draw(in, fan_out, fan_in, 0, rng, W, err);
}

vp_status vp_init_bias(const vp_init *in, size_t fan_out, size_t fan_in, const vp_rng *rng,
                       double *b, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    if (!(info->bias_ok || info->sets_bias))
        return vp_fail(err, VP_ERR_CONFIG, "%s cannot initialize biases", info->name);
    return info->draw(in, fan_out, fan_in, 1, rng, b, err);
}

int vp_init_moments(const vp_init *in, size_t fo, size_t fi, int is_bias, double *mean, double *var)
{
    const double *p = in->p;
    double n, m, v;
    *mean = 0.0;
    *var = 0.0;
    switch (in->kind) {
    case VP_INIT_ZEROS: return 1;
    case VP_INIT_ONES: *mean = 1.0; return 1;
    case VP_INIT_CONSTANT: *mean = p[0]; return 1;
    case VP_INIT_UNIFORM:
    case VP_INIT_RANDOM_UNIFORM: *mean = 0.5 * (p[0] + p[1]); *var = (p[1] - p[0]) * (p[1] - p[0]) / 12.0; return 1;
    case VP_INIT_NORMAL:
    case VP_INIT_RANDOM_NORMAL: *mean = p[0]; *var = p[1] * p[1]; return 1;
    case VP_INIT_TRUNC_NORMAL:
        trunc_moments((p[2] - p[0]) / p[1], (p[3] - p[0]) / p[1], &m, &v);
        *mean = p[0] + p[1] * m; *var = p[1] * p[1] * v; return 1;
    case VP_INIT_TRUNCATED_NORMAL:
        trunc_moments(p[2], p[3], &m, &v);
        *mean = p[0] + p[1] * m; *var = p[1] * p[1] * v; return 1;
    case VP_INIT_IDENTITY: return 0;
    case VP_INIT_XAVIER_UNIFORM:
    case VP_INIT_XAVIER_NORMAL: *var = p[0] * p[0] * 2.0 / (double)(fi + fo); return 1;
    case VP_INIT_KAIMING_UNIFORM:
    case VP_INIT_KAIMING_NORMAL: { double s = kaiming_std(in, fo, fi); *var = s * s; return 1; }
    case VP_INIT_LECUN_UNIFORM:
    case VP_INIT_LECUN_NORMAL: *var = 1.0 / (double)fi; return 1;
    case VP_INIT_VARIANCE_SCALING: fan_for((int)p[1], fo, fi, &n); *var = p[0] / n; return 1;
    case VP_INIT_ORTHOGONAL: *var = p[0] * p[0] / (double)(fo > fi ? fo : fi); return 1;
    case VP_INIT_SPARSE: {
        double zeros = ceil(p[0] * (double)fo);
        if (zeros > (double)fo) zeros = (double)fo;
        *var = p[1] * p[1] * (1.0 - zeros / (double)fo);
        return 1;
    }
    case VP_INIT_TORCH_LINEAR: *var = fi > 0 ? 1.0 / (3.0 * (double)fi) : 0.0; return 1;
    case VP_INIT_LSUV: return 0;
    case VP_INIT_MEAN_FIELD: *var = is_bias ? p[1] * p[1] : p[0] * p[0] / (double)fi; return 1;
    case VP_INIT_COUNT: break;
    }
    return 0;
}

int vp_init_support(const vp_init *in, size_t fo, size_t fi, int is_bias, double *lo, double *hi)
{
    const double *p = in->p;
    double mean, var;
    *lo = -INFINITY;
    *hi = INFINITY;
    switch (in->kind) {
    case VP_INIT_UNIFORM:
    case VP_INIT_RANDOM_UNIFORM: *lo = p[0]; *hi = p[1]; return 1;
    case VP_INIT_TRUNC_NORMAL: *lo = p[2]; *hi = p[3]; return 1;
    case VP_INIT_TRUNCATED_NORMAL: *lo = p[0] + p[2] * p[1]; *hi = p[0] + p[3] * p[1]; return 1;
    case VP_INIT_XAVIER_UNIFORM:
    case VP_INIT_KAIMING_UNIFORM:
    case VP_INIT_LECUN_UNIFORM:
    case VP_INIT_TORCH_LINEAR:
        vp_init_moments(in, fo, fi, is_bias, &mean, &var);
        *hi = sqrt(3.0 * var); *lo = -*hi; return 1;
    case VP_INIT_VARIANCE_SCALING:
        vp_init_moments(in, fo, fi, is_bias, &mean, &var);
        if ((int)p[2] == DIST_UNIFORM) { *hi = sqrt(3.0 * var); *lo = -*hi; return 1; }
        if ((int)p[2] == DIST_TRUNC) { *hi = 2.0 * sqrt(var) / TRUNC2_STD; *lo = -*hi; return 1; }
        return 0;
    case VP_INIT_LECUN_NORMAL:
        *hi = 2.0 / sqrt((double)fi) / TRUNC2_STD; *lo = -*hi; return 1;
    case VP_INIT_ORTHOGONAL:
    case VP_INIT_LSUV: *hi = in->kind == VP_INIT_LSUV ? 1.0 : p[0]; *lo = -*hi; return 1;
    case VP_INIT_ZEROS: *lo = *hi = 0; return 1;
    case VP_INIT_ONES: *lo = *hi = 1; return 1;
    case VP_INIT_CONSTANT: *lo = *hi = p[0]; return 1;
    case VP_INIT_IDENTITY: *lo = p[0] < 0 ? p[0] : 0; *hi = p[0] > 0 ? p[0] : 0; return 1;
    case VP_INIT_NORMAL: case VP_INIT_RANDOM_NORMAL: case VP_INIT_XAVIER_NORMAL:
    case VP_INIT_KAIMING_NORMAL: case VP_INIT_SPARSE: case VP_INIT_MEAN_FIELD: case VP_INIT_COUNT:
        break;
    }
    return 0;
}

/* LAPACK QR in double or single precision on the same void buffers. */
static void geqrf(int single, int m, int n, void *a, void *tau, void *work, int lwork, int *info)
{
    if (single) sgeqrf_(&m, &n, a, &m, tau, work, &lwork, info);
    else dgeqrf_(&m, &n, a, &m, tau, work, &lwork, info);
}
static void orgqr(int single, int m, int n, void *a, const void *tau, void *work, int lwork, int *info)
{
    if (single) sorgqr_(&m, &n, &n, a, &m, tau, work, &lwork, info);
    else dorgqr_(&m, &n, &n, a, &m, tau, work, &lwork, info);
}
static double elem(int single, const void *a, size_t i)
{
    return single ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

vp_status vp_init_orthogonal(size_t rows, size_t cols, double gain, int single, const vp_rng *rng, double *W,
                             vp_err *err)
{
    /* Work on the tall orientation m x n (m >= n) in column-major order, as PyTorch
     * transposes when rows < cols. Q (m x n) has orthonormal columns. */
    int transposed = rows < cols;
    size_t m = transposed ? cols : rows, n = transposed ? rows : cols;
    if (m > 1u << 20 || n > 1u << 16) return vp_fail(err, VP_ERR_CONFIG, "orthogonal: matrix too large");
    int im = (int)m, in = (int)n, info = 0, lwork;
    size_t es = single ? sizeof(float) : sizeof(double);
    double wq[2] = { 0, 0 }; /* workspace-size answers (a float or a double) */
    /* the Gaussian matrix is drawn in double (the same numbers for both precisions),
     * through a double scratch g when the QR runs in float32 */
    double *g = single ? malloc(m * n * sizeof *g) : NULL, *sign = malloc(n * sizeof *sign);
    void *a = malloc(m * n * es), *tau = malloc(n * es), *work = NULL;
    vp_status s = VP_OK;
    if ((single && !g) || !a || !tau || !sign) { s = vp_fail(err, VP_ERR_NOMEM, "orthogonal: out of memory"); goto end; }
    vp_rng_normal_fill(rng, 0, single ? g : (double *)a, m * n);
    for (size_t i = 0; single && i < m * n; i++) ((float *)a)[i] = (float)g[i];
    geqrf(single, im, in, a, tau, wq, -1, &info);
    lwork = (int)elem(single, wq, 0);
    orgqr(single, im, in, a, tau, wq, -1, &info);
    if ((int)elem(single, wq, 0) > lwork) lwork = (int)elem(single, wq, 0);
    if (lwork < 1) lwork = 1;
    work = malloc((size_t)lwork * es);
    if (!work) { s = vp_fail(err, VP_ERR_NOMEM, "orthogonal: out of memory"); goto end; }
    geqrf(single, im, in, a, tau, work, lwork, &info);
    if (info != 0) { s = vp_fail(err, VP_ERR_NUMERIC, "orthogonal: QR (geqrf) failed (info=%d)", info); goto end; }
    /* Signs of diag(R) (Mezzadri 2007): makes Q Haar-distributed. Read before orgqr
     * overwrites R. */
    for (size_t j = 0; j < n; j++) sign[j] = elem(single, a, j + j * m) < 0 ? -1.0 : 1.0;
    orgqr(single, im, in, a, tau, work, lwork, &info);
    if (info != 0) { s = vp_fail(err, VP_ERR_NUMERIC, "orthogonal: forming Q (orgqr) failed (info=%d)", info); goto end; }
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < m; i++) {
            double q = gain * sign[j] * elem(single, a, i + j * m);
            /* not transposed: W[i][j] (rows = m); transposed: W = Q^T, W[j][i] */
            if (transposed) W[j * cols + i] = q;
            else W[i * cols + j] = q;
        }
end:
    free(g);
    free(sign);
    free(a);
    free(tau);
    free(work);
    return s;
}
