/* init: see init.h. Formulas and constants: docs/reference/initializers.md
 * (PyTorch torch/nn/init.py, Keras 3 keras/src/initializers, JAX
 * jax/_src/nn/initializers.py). Each row's formula is its `dist` function below;
 * the draw, moments and support are init_dist.c's, derived from it. */
#include "core/init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "core/init_dist.h"

#define UNUSED(x) (void)(x)
#define BIG 1e6

/* ---- choice lists (indices are stored as parameter values) ---- */
#define KAIMING_MODES "fan_in fan_out"
/* calculate_gain names, each an activation of the act registry ("linear" is identity's alias) */
#define KAIMING_NONLIN "linear sigmoid tanh relu leaky_relu selu"
enum { NL_LINEAR, NL_SIGMOID, NL_TANH, NL_RELU, NL_LEAKY_RELU, NL_SELU };
#define VS_MODES "fan_in fan_out fan_avg fan_geo_avg" /* kaiming's modes are the first two */
enum { MODE_FAN_IN, MODE_FAN_OUT, MODE_FAN_AVG, MODE_FAN_GEO_AVG };
#define VS_DISTS "truncated_normal normal uniform untruncated_normal"
enum { DIST_TRUNC, DIST_NORMAL, DIST_UNIFORM, DIST_UNTRUNC };

double vp_init_kaiming_gain(int nonlinearity, double a)
{
    char name[32];
    vp_act act = vp_act_default(vp_act_find(vp_choice_word(KAIMING_NONLIN, nonlinearity, name, sizeof name)));
    int slope = vp_act_param_index(vp_act_get(act.kind), "negative_slope");
    if (slope >= 0) act.p[slope] = a;
    return vp_act_torch_gain(&act);
}

/* The fan n of a mode (variance_scaling, kaiming). */
static double fan(int mode, size_t fan_out, size_t fan_in)
{
    switch (mode) {
    case MODE_FAN_OUT: return (double)fan_out;
    case MODE_FAN_AVG: return 0.5 * (double)(fan_in + fan_out);
    case MODE_FAN_GEO_AVG: return sqrt((double)fan_in * (double)fan_out);
    default: return (double)fan_in;
    }
}

/* ---- the formulas: one dist function per row ---- */
#define DIST(name) static void name(const vp_init *in, size_t fo, size_t fi, int is_bias, vp_init_dist *d)
#define P(name) vp_init_param(in, name)

DIST(d_zeros) { UNUSED(in); UNUSED(fo); UNUSED(fi); UNUSED(is_bias); vp_dist_const(d, 0.0); }
DIST(d_ones) { UNUSED(in); UNUSED(fo); UNUSED(fi); UNUSED(is_bias); vp_dist_const(d, 1.0); }
DIST(d_constant) { UNUSED(fo); UNUSED(fi); UNUSED(is_bias); vp_dist_const(d, P("value")); }
DIST(d_uniform) { UNUSED(fo); UNUSED(fi); UNUSED(is_bias); vp_dist_uniform(d, P("a"), P("b")); }
DIST(d_random_uniform) { UNUSED(fo); UNUSED(fi); UNUSED(is_bias); vp_dist_uniform(d, P("minval"), P("maxval")); }
DIST(d_normal) { UNUSED(fo); UNUSED(fi); UNUSED(is_bias); vp_dist_normal(d, P("mean"), P("std")); }
DIST(d_random_normal) { UNUSED(fo); UNUSED(fi); UNUSED(is_bias); vp_dist_normal(d, P("mean"), P("stddev")); }
DIST(d_trunc_normal) /* PyTorch: absolute bounds a, b; no variance correction */
{
    UNUSED(fo); UNUSED(fi); UNUSED(is_bias);
    double mean = P("mean"), std = P("std");
    vp_dist_trunc(d, mean, std, (P("a") - mean) / std, (P("b") - mean) / std);
}
DIST(d_truncated_normal) /* Keras/JAX: bounds in units of stddev; no correction */
{
    UNUSED(fo); UNUSED(fi); UNUSED(is_bias);
    vp_dist_trunc(d, P("mean"), P("stddev"), P("lower"), P("upper"));
}
DIST(d_identity) { UNUSED(fo); UNUSED(fi); UNUSED(is_bias); vp_dist_eye(d, P("gain")); }
/* Glorot & Bengio 2010 Eq. 16: variance gain^2 2/(fan_in + fan_out). */
DIST(d_xavier_uniform) { UNUSED(is_bias); vp_dist_uniform_gain(d, P("gain"), 2.0, (double)(fi + fo)); }
DIST(d_xavier_normal) { UNUSED(is_bias); vp_dist_normal_gain(d, P("gain"), 2.0, (double)(fi + fo)); }
/* He et al. 2015: std = calculate_gain(nonlinearity, a) / sqrt(fan). */
static double kaiming_std(const vp_init *in, size_t fo, size_t fi)
{
    return vp_init_kaiming_gain((int)P("nonlinearity"), P("a")) / sqrt(fan((int)P("mode"), fo, fi));
}
DIST(d_kaiming_uniform) { UNUSED(is_bias); vp_dist_uniform_std(d, kaiming_std(in, fo, fi)); }
DIST(d_kaiming_normal) { UNUSED(is_bias); vp_dist_normal(d, 0.0, kaiming_std(in, fo, fi)); }
/* Keras/JAX variance_scaling: variance scale/n, in one of three shapes. */
static void variance_scaling(double scale, int mode, int dist, size_t fo, size_t fi, vp_init_dist *d)
{
    double var = scale / fan(mode, fo, fi);
    switch (dist) {
    case DIST_UNIFORM: vp_dist_uniform_var(d, var); break;
    case DIST_NORMAL:
    case DIST_UNTRUNC: vp_dist_normal_var(d, var); break;
    default: vp_dist_trunc2_var(d, var); break;
    }
}
DIST(d_lecun_uniform) { UNUSED(in); UNUSED(is_bias); variance_scaling(1.0, MODE_FAN_IN, DIST_UNIFORM, fo, fi, d); }
DIST(d_lecun_normal) { UNUSED(in); UNUSED(is_bias); variance_scaling(1.0, MODE_FAN_IN, DIST_TRUNC, fo, fi, d); }
DIST(d_variance_scaling)
{
    UNUSED(is_bias);
    variance_scaling(P("scale"), (int)P("mode"), (int)P("distribution"), fo, fi, d);
}
DIST(d_orthogonal) { UNUSED(is_bias); vp_dist_orthogonal(d, P("gain"), fo, fi); }
DIST(d_lsuv) { UNUSED(in); UNUSED(is_bias); vp_dist_orthogonal(d, 1.0, fo, fi); } /* the pre-init; mlp rescales */
DIST(d_sparse) { UNUSED(fi); UNUSED(is_bias); vp_dist_sparse(d, P("sparsity"), P("std"), fo); }
DIST(d_torch_linear) /* nn.Linear.reset_parameters: U(+-1/sqrt(fan_in)) for W and b */
{
    UNUSED(in); UNUSED(fo); UNUSED(is_bias);
    vp_dist_uniform_fan(d, 1.0, (double)fi);
}
DIST(d_mean_field) /* Poole et al. 2016: W ~ N(0, sigma_w^2/fan_in), b ~ N(0, sigma_b^2) */
{
    UNUSED(fo);
    if (is_bias) vp_dist_normal(d, 0.0, P("sigma_b"));
    else vp_dist_normal_fan(d, P("sigma_w"), (double)fi);
}

/* ---- rules among parameters (uniform: a < b, random_uniform: minval < maxval;
 * trunc_normal: a < b, truncated_normal: lower < upper) ---- */
static const char *c_uniform(const vp_init *in) { return in->p[0] < in->p[1] ? NULL : "needs its lower bound below its upper bound"; }
static const char *c_trunc(const vp_init *in) { return in->p[2] < in->p[3] ? NULL : "needs its lower cut-off below its upper cut-off"; }

/* ---- the registry ---- */
#define NUM(name, def, lo, hi, help) { name, VP_P_NUM, def, lo, hi, NULL, help }
#define GAIN1 { "gain", VP_P_GAIN, 1.0, 0, BIG, NULL, \
                "multiplier; \"auto\" = the activation's gain, \"critical\" = its chi_1 = 1 gain" }
/* kaiming_uniform_ / kaiming_normal_(a=0, mode='fan_in', nonlinearity='leaky_relu') */
#define KAIMING_PARAMS                                                                      \
    .nparams = 3,                                                                           \
    .params = { NUM("a", 0.0, -BIG, BIG, "negative slope for leaky_relu gain"),             \
                { "mode", VP_P_ENUM, MODE_FAN_IN, 0, 0, KAIMING_MODES, "which fan" },       \
                { "nonlinearity", VP_P_ENUM, NL_LEAKY_RELU, 0, 0, KAIMING_NONLIN, "calculate_gain name" } }
#define W_ONLY .weight_ok = 1
#define W_AND_B .bias_ok = 1, .weight_ok = 1
static const vp_init_info INIT_TABLE[VP_INIT_COUNT] = {
    [VP_INIT_ZEROS] = { .name = "zeros", .aliases = "zero", .formula = "0", .origin = "all three",
        .dist = d_zeros, W_AND_B },
    [VP_INIT_ONES] = { .name = "ones", .aliases = "one", .formula = "1", .origin = "all three",
        .dist = d_ones, W_AND_B },
    [VP_INIT_CONSTANT] = { .name = "constant", .aliases = "", .formula = "value",
        .origin = "PyTorch constant_, Keras Constant, JAX constant",
        .nparams = 1, .params = { NUM("value", 0.0, -BIG, BIG, "fill value") }, .dist = d_constant, W_AND_B },
    [VP_INIT_UNIFORM] = { .name = "uniform", .aliases = "", .formula = "U[a, b)",
        .origin = "PyTorch uniform_(a=0, b=1); JAX uniform(scale) = U[0, scale)",
        .nparams = 2, .params = { NUM("a", 0.0, -BIG, BIG, "lower bound"), NUM("b", 1.0, -BIG, BIG, "upper bound (> a)") },
        .dist = d_uniform, .check = c_uniform, W_AND_B },
    [VP_INIT_NORMAL] = { .name = "normal", .aliases = "", .formula = "N(mean, std^2)",
        .origin = "PyTorch normal_(0, 1); JAX normal(stddev=0.01) via std",
        .nparams = 2, .params = { NUM("mean", 0.0, -BIG, BIG, "mean"), NUM("std", 1.0, 0, BIG, "standard deviation") },
        .dist = d_normal, W_AND_B },
    [VP_INIT_TRUNC_NORMAL] = { .name = "trunc_normal", .aliases = "",
        .formula = "N(mean, std^2) restricted to [a, b] (absolute bounds, no std correction)",
        .origin = "PyTorch trunc_normal_(mean=0, std=1, a=-2, b=2), rejection sampling as PyTorch's main branch since Feb 2026 (PR #174997; releases before it invert the CDF)",
        .nparams = 4, .params = { NUM("mean", 0.0, -BIG, BIG, "mean"), NUM("std", 1.0, 1e-30, BIG, "std before truncation"),
                                  NUM("a", -2.0, -BIG, BIG, "absolute lower cut-off"), NUM("b", 2.0, -BIG, BIG, "absolute upper cut-off") },
        .dist = d_trunc_normal, .check = c_trunc, W_AND_B },
    [VP_INIT_TRUNCATED_NORMAL] = { .name = "truncated_normal", .aliases = "",
        .formula = "N(mean, stddev^2) restricted to mean + [lower, upper]*stddev, no correction",
        .origin = "Keras TruncatedNormal(0, 0.05) (+-2 stddev); JAX truncated_normal(stddev=0.01, lower=-2, upper=2)",
        .nparams = 4, .params = { NUM("mean", 0.0, -BIG, BIG, "mean"), NUM("stddev", 0.05, 1e-30, BIG, "std before truncation"),
                                  NUM("lower", -2.0, -BIG, BIG, "lower cut-off in stddevs"), NUM("upper", 2.0, -BIG, BIG, "upper cut-off in stddevs") },
        .dist = d_truncated_normal, .check = c_trunc, W_AND_B },
    [VP_INIT_RANDOM_NORMAL] = { .name = "random_normal", .aliases = "", .formula = "N(mean, stddev^2)",
        .origin = "Keras RandomNormal(0, 0.05)",
        .nparams = 2, .params = { NUM("mean", 0.0, -BIG, BIG, "mean"), NUM("stddev", 0.05, 0, BIG, "standard deviation") },
        .dist = d_random_normal, W_AND_B },
    [VP_INIT_RANDOM_UNIFORM] = { .name = "random_uniform", .aliases = "", .formula = "U[minval, maxval)",
        .origin = "Keras RandomUniform(-0.05, 0.05)",
        .nparams = 2, .params = { NUM("minval", -0.05, -BIG, BIG, "lower bound"), NUM("maxval", 0.05, -BIG, BIG, "upper bound") },
        .dist = d_random_uniform, .check = c_uniform, W_AND_B },
    [VP_INIT_IDENTITY] = { .name = "identity", .aliases = "eye", .formula = "gain * eye(fan_out, fan_in) (rectangular)",
        .origin = "PyTorch eye_, Keras Identity(gain=1)", .nparams = 1, .params = { GAIN1 }, .dist = d_identity, W_ONLY },
    [VP_INIT_XAVIER_UNIFORM] = { .name = "xavier_uniform", .aliases = "glorot_uniform",
        .formula = "U(+-gain*sqrt(6/(fan_in+fan_out)))",
        .origin = "Glorot & Bengio 2010 Eq. 16; PyTorch xavier_uniform_, Keras/JAX glorot_uniform",
        .nparams = 1, .params = { GAIN1 }, .dist = d_xavier_uniform, W_ONLY },
    [VP_INIT_XAVIER_NORMAL] = { .name = "xavier_normal", .aliases = "glorot_normal",
        .formula = "N(0, gain^2*2/(fan_in+fan_out)), untruncated",
        .origin = "PyTorch xavier_normal_ (Keras/JAX glorot_normal is truncated: variance_scaling(1, fan_avg, truncated_normal))",
        .nparams = 1, .params = { GAIN1 }, .dist = d_xavier_normal, W_ONLY },
    [VP_INIT_KAIMING_UNIFORM] = { .name = "he_uniform", .aliases = "kaiming_uniform",
        .formula = "U(+-sqrt(3)*gain/sqrt(fan)), gain = calculate_gain(nonlinearity, a)",
        .origin = "He et al. 2015; PyTorch kaiming_uniform_(a=0, mode=fan_in, nonlinearity=leaky_relu) = Keras/JAX he_uniform",
        KAIMING_PARAMS, .dist = d_kaiming_uniform, W_ONLY },
    [VP_INIT_KAIMING_NORMAL] = { .name = "he_normal", .aliases = "kaiming_normal",
        .formula = "N(0, gain^2/fan), untruncated, gain = calculate_gain(nonlinearity, a)",
        .origin = "He et al. 2015 Eq. 10; PyTorch kaiming_normal_ (Keras/JAX he_normal is truncated: variance_scaling(2, fan_in, truncated_normal))",
        KAIMING_PARAMS, .dist = d_kaiming_normal, W_ONLY },
    [VP_INIT_LECUN_UNIFORM] = { .name = "lecun_uniform", .aliases = "", .formula = "U(+-sqrt(3/fan_in))",
        .origin = "Keras LecunUniform, JAX lecun_uniform", .dist = d_lecun_uniform, W_ONLY },
    [VP_INIT_LECUN_NORMAL] = { .name = "lecun_normal", .aliases = "",
        .formula = "truncated normal (+-2 std), post-truncation std sqrt(1/fan_in)",
        .origin = "Keras LecunNormal, JAX lecun_normal (Flax Dense default)", .dist = d_lecun_normal, W_ONLY },
    [VP_INIT_VARIANCE_SCALING] = { .name = "variance_scaling", .aliases = "",
        .formula = "variance scale/n, n = fan per mode; truncated_normal divides std by 0.87962566",
        .origin = "Keras VarianceScaling / JAX variance_scaling; normal = untruncated (as JAX; Keras maps normal to truncated)",
        .nparams = 3, .params = { NUM("scale", 1.0, 1e-30, BIG, "variance multiplier, > 0"),
                                  { "mode", VP_P_ENUM, MODE_FAN_IN, 0, 0, VS_MODES, "which fan" },
                                  { "distribution", VP_P_ENUM, DIST_TRUNC, 0, 0, VS_DISTS, "shape of the draw" } },
        .dist = d_variance_scaling, W_ONLY },
    [VP_INIT_ORTHOGONAL] = { .name = "orthogonal", .aliases = "",
        .formula = "gain * Q, Q from QR of a Gaussian matrix, sign-corrected",
        .origin = "Saxe et al. 2014; PyTorch orthogonal_, Keras Orthogonal, JAX orthogonal; QR in the net's precision",
        .nparams = 1, .params = { GAIN1 }, .dist = d_orthogonal, W_ONLY },
    [VP_INIT_SPARSE] = { .name = "sparse", .aliases = "", .formula = "N(0, std^2) with ceil(sparsity*fan_out) zeros per column",
        .origin = "Martens 2010; PyTorch sparse_(sparsity, std=0.01)",
        .nparams = 2, .params = { NUM("sparsity", 0.1, 0, 1, "fraction of zeros per column"),
                                  NUM("std", 0.01, 0, BIG, "std of the non-zeros") },
        .dist = d_sparse, W_ONLY },
    [VP_INIT_TORCH_LINEAR] = { .name = "torch_linear", .aliases = "pytorch_default",
        .formula = "U(+-1/sqrt(fan_in)) (weights and biases)",
        .origin = "PyTorch nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)), Var = 1/(3 fan_in)",
        .dist = d_torch_linear, W_AND_B },
    [VP_INIT_LSUV] = { .name = "lsuv", .aliases = "",
        .formula = "orthogonal, then W /= sqrt(Var[z]) per layer until |Var[z]-1| < tol",
        .origin = "Mishkin & Matas 2016 (layer-sequential unit variance, on the input batch)",
        .nparams = 2, .params = { NUM("tol", 0.1, 1e-9, 1, "tolerance on |Var[z] - 1|"),
                                  { "max_iter", VP_P_INT, 10, 1, 1000, NULL, "rescaling iterations per layer" } },
        .dist = d_lsuv, W_ONLY, .data_dependent = 1 },
    [VP_INIT_MEAN_FIELD] = { .name = "mean_field", .aliases = "", .formula = "W ~ N(0, sigma_w^2/fan_in), b ~ N(0, sigma_b^2)",
        .origin = "Poole et al. 2016, Schoenholz et al. 2017 (sets the biases too)",
        .nparams = 2, .params = { NUM("sigma_w", 1.0, 0, BIG, "weight std times sqrt(fan_in)"),
                                  NUM("sigma_b", 0.0, 0, BIG, "bias std") },
        .dist = d_mean_field, W_ONLY, .sets_bias = 1 },
};

const vp_init_info *vp_init_get(vp_init_kind k)
{
    if ((unsigned)k >= VP_INIT_COUNT) abort(); /* internal invariant: kinds come from vp_init_find */
    return &INIT_TABLE[k];
}

vp_init_kind vp_init_find(const char *name)
{
    for (int k = 0; k < VP_INIT_COUNT; k++)
        if (vp_name_is(INIT_TABLE[k].name, INIT_TABLE[k].aliases, name)) return (vp_init_kind)k;
    return VP_INIT_COUNT;
}

vp_init vp_init_default(vp_init_kind k)
{
    vp_init in = { k, {0}, 0, 0, 0, 0 };
    const vp_init_info *info = vp_init_get(k);
    vp_param_defaults(info->params, info->nparams, in.p);
    return in;
}

int vp_init_param_index(const vp_init_info *info, const char *name)
{
    return vp_param_find(info->params, info->nparams, name);
}

double vp_init_param(const vp_init *in, const char *name)
{
    const vp_init_info *info = vp_init_get(in->kind);
    return vp_param_get(info->params, info->nparams, in->p, name);
}

vp_status vp_init_check(const vp_init *in, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    const char *why = info->check ? info->check(in) : NULL;
    return vp_param_check_row(info->name, info->params, info->nparams, in->p, why, err);
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
    vp_param_label(info->name, info->params, info->nparams, in->p, in->auto_mask, in->critical_mask, buf, len);
}

/* ---- draw, moments and support: all from the row's dist ---- */

vp_status vp_init_weight(const vp_init *in, size_t fan_out, size_t fan_in, const vp_rng *rng,
                         double *W, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    if (!info->weight_ok) return vp_fail(err, VP_ERR_CONFIG, "not a weight initializer");
    if ((in->auto_mask | in->critical_mask) && !in->auto_resolved)
        return vp_fail(err, VP_ERR_CONFIG, "internal: unresolved \"auto\" gain for %s", info->name);
    vp_init_dist d;
    info->dist(in, fan_out, fan_in, 0, &d);
    return vp_dist_draw(&d, in->single, fan_out, fan_in, 0, rng, W, err);
}

vp_status vp_init_weight_range(const vp_init *in, size_t fan_out, size_t fan_in, size_t start, size_t k,
                               const vp_rng *rng, double *W, int *done, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    *done = 0;
    if (!info->weight_ok) return vp_fail(err, VP_ERR_CONFIG, "not a weight initializer");
    if ((in->auto_mask | in->critical_mask) && !in->auto_resolved)
        return vp_fail(err, VP_ERR_CONFIG, "internal: unresolved \"auto\" gain for %s", info->name);
    vp_init_dist d;
    info->dist(in, fan_out, fan_in, 0, &d);
    if (!vp_dist_entrywise(&d)) return VP_OK;
    *done = 1;
    return vp_dist_draw_range(&d, fan_out, fan_in, 0, start, k, rng, W, err);
}

vp_status vp_init_bias(const vp_init *in, size_t fan_out, size_t fan_in, const vp_rng *rng,
                       double *b, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    if (!(info->bias_ok || info->sets_bias))
        return vp_fail(err, VP_ERR_CONFIG, "%s cannot initialize biases", info->name);
    vp_init_dist d;
    info->dist(in, fan_out, fan_in, 1, &d);
    return vp_dist_draw(&d, in->single, fan_out, fan_in, 1, rng, b, err);
}

/* The unit draw of a normal initializer: when `in` draws normal entries (checks passed)
 * and u can hold its n standard normals, u->z holds those of rng (drawn now unless
 * *hit), *d the distribution, *n the count; returns 1. Else 0, nothing drawn. */
static int unit_z(const vp_init *in, size_t fan_out, size_t fan_in, int is_bias, const vp_rng *rng,
                  vp_unit_draw *u, vp_init_dist *d, size_t *n, int *hit)
{
    const vp_init_info *info = vp_init_get(in->kind);
    *hit = 0;
    int ok = is_bias ? info->bias_ok || info->sets_bias : info->weight_ok;
    if (!u || !ok || ((in->auto_mask | in->critical_mask) && !in->auto_resolved)) return 0;
    info->dist(in, fan_out, fan_in, is_bias, d);
    *n = is_bias ? fan_out : fan_out * fan_in;
    if (d->shape != VP_SHAPE_NORMAL) return 0;
    if (u->valid && u->n == *n && u->rng.seed == rng->seed && u->rng.layer == rng->layer &&
        u->rng.purpose == rng->purpose) {
        *hit = 1;
        return 1;
    }
    if (u->cap < *n) {
        double *z = realloc(u->z, *n * sizeof *z);
        if (!z) return 0; /* no cache */
        u->z = z;
        u->cap = *n;
    }
    vp_rng_normal_fill(rng, 0, u->z, *n); /* draw_n's draw for VP_SHAPE_NORMAL */
    u->rng = *rng;
    u->n = *n;
    u->valid = 1;
    return 1;
}

vp_status vp_init_draw_cached(const vp_init *in, size_t fan_out, size_t fan_in, int is_bias, const vp_rng *rng,
                              vp_unit_draw *u, double *out, int *hit, vp_err *err)
{
    vp_init_dist d;
    size_t n;
    if (unit_z(in, fan_out, fan_in, is_bias, rng, u, &d, &n, hit)) {
        vp_dist_normal_map(&d, u->z, n, out);
        return VP_OK;
    }
    /* their checks and messages, and the other shapes */
    return is_bias ? vp_init_bias(in, fan_out, fan_in, rng, out, err) : vp_init_weight(in, fan_out, fan_in, rng, out, err);
}

int vp_init_draw_cached_f32(const vp_init *in, size_t fan_out, size_t fan_in, int is_bias, const vp_rng *rng,
                            vp_unit_draw *u, float *out, int *hit)
{
    vp_init_dist d;
    size_t n;
    if (!unit_z(in, fan_out, fan_in, is_bias, rng, u, &d, &n, hit)) return 0;
    vp_dist_normal_map_f32(&d, u->z, n, out);
    return 1;
}

void vp_unit_draw_free(vp_unit_draw *u)
{
    if (!u) return;
    free(u->z);
    *u = (vp_unit_draw){ .valid = 0 };
}

int vp_init_moments(const vp_init *in, size_t fo, size_t fi, int is_bias, double *mean, double *var)
{
    const vp_init_info *info = vp_init_get(in->kind);
    vp_init_dist d;
    info->dist(in, fo, fi, is_bias, &d);
    int has = d.has_moments && !info->data_dependent; /* lsuv: its rescaling depends on the data */
    *mean = has ? d.mean : 0.0;
    *var = has ? d.var : 0.0;
    return has;
}

int vp_init_support(const vp_init *in, size_t fo, size_t fi, int is_bias, double *lo, double *hi)
{
    vp_init_dist d;
    vp_init_get(in->kind)->dist(in, fo, fi, is_bias, &d);
    return vp_dist_support(&d, lo, hi);
}
