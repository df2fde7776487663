/* init: the initializer registry -- one row per weight/bias initializer.
 *
 * Names and math follow PyTorch torch.nn.init for every name PyTorch has
 * (he_normal = kaiming_normal_, untruncated; trunc_normal with absolute bounds;
 * xavier_normal untruncated), Keras 3 / JAX for the names only they have
 * (lecun_*, variance_scaling, random_normal, truncated_normal, ...), see
 * docs/reference/initializers.md and docs/registry.md.
 *
 * A row carries every property of its initializer: names, formula text,
 * parameters and the rule among them (check), where it may be used, and its
 * formula written once as a `dist` function -- the distribution of one entry
 * for a given shape (init_dist.h) -- from which the draw, the exact moments and
 * the support all derive. The kaiming gain is the act registry's
 * calculate_gain (vp_act_torch_gain); the orthogonal QR is init_orthogonal.c's.
 *
 * Weights have PyTorch layout [fan_out, fan_in], row-major: y = x W^T.
 * Every draw is a pure function of (vp_init, shape, vp_rng): see rng.h.
 * The table is static const; the library holds no state.
 */
#ifndef VP_INIT_H
#define VP_INIT_H

#include <stddef.h>
#include "base/err.h"
#include "base/param.h"
#include "core/rng.h"

#define VP_INIT_MAX_PARAMS 4

typedef enum {
    VP_INIT_ZEROS, VP_INIT_ONES, VP_INIT_CONSTANT, VP_INIT_UNIFORM, VP_INIT_NORMAL,
    VP_INIT_TRUNC_NORMAL, VP_INIT_TRUNCATED_NORMAL, VP_INIT_RANDOM_NORMAL, VP_INIT_RANDOM_UNIFORM,
    VP_INIT_IDENTITY, VP_INIT_XAVIER_UNIFORM, VP_INIT_XAVIER_NORMAL, VP_INIT_KAIMING_UNIFORM,
    VP_INIT_KAIMING_NORMAL, VP_INIT_LECUN_UNIFORM, VP_INIT_LECUN_NORMAL, VP_INIT_VARIANCE_SCALING,
    VP_INIT_ORTHOGONAL, VP_INIT_SPARSE, VP_INIT_TORCH_LINEAR, VP_INIT_LSUV, VP_INIT_MEAN_FIELD,
    VP_INIT_COUNT
} vp_init_kind;

/* An initializer with its parameter values. `auto_mask` bit i set means
 * parameter i is a gain given as "auto": the caller resolves it (to the
 * activation's gain) with vp_init_resolve_auto before drawing; the label keeps
 * saying "auto" so one initializer looks the same under every activation. */
typedef struct {
    vp_init_kind kind;
    double p[VP_INIT_MAX_PARAMS];
    unsigned auto_mask;
    unsigned critical_mask; /* gains given as "critical": chi_1 = 1 at sigma_b^2 = 0 */
    int auto_resolved;  /* the "auto" / "critical" values in p are filled in */
    int single;         /* the draw will be stored in float32, so an initializer may compute
                           in float32 as PyTorch does for a float32 tensor (orthogonal: the
                           QR); 0: everything in double */
} vp_init;

typedef struct vp_init_info vp_init_info;
/* The distribution of one entry: shape and parameters (core/init_dist.h). */
typedef struct vp_init_dist vp_init_dist;

struct vp_init_info {
    const char *name;       /* canonical: config spelling and CSV label */
    const char *aliases;    /* space-separated */
    const char *formula;    /* the distribution, as text */
    const char *origin;     /* library and convention */
    int nparams;
    vp_param params[VP_INIT_MAX_PARAMS];
    /* The formula: the distribution of one entry of a [fan_out, fan_in] weight (or,
     * is_bias, of a length-fan_out bias whose layer has fan_in inputs). */
    void (*dist)(const vp_init *in, size_t fan_out, size_t fan_in, int is_bias, vp_init_dist *d);
    /* The rule among the parameters that their ranges cannot say (uniform: a < b):
     * NULL if it holds, else the reason, a phrase that follows the row's name. */
    const char *(*check)(const vp_init *in);
    int bias_ok;            /* usable as a bias initializer */
    int weight_ok;          /* usable as a weight initializer */
    int data_dependent;     /* needs the network and input batch (LSUV): drawn by mlp */
    int sets_bias;          /* also defines the biases (mean_field) */
};

const vp_init_info *vp_init_get(vp_init_kind k); /* k < VP_INIT_COUNT, else abort */
vp_init_kind vp_init_find(const char *name);   /* VP_INIT_COUNT if unknown */
vp_init vp_init_default(vp_init_kind k);
/* Index of the parameter called `name`, or -1. */
int vp_init_param_index(const vp_init_info *info, const char *name);
/* The value of in's parameter called `name` (e.g. "sigma_b"); a name the row does
 * not have is an internal error (abort), so callers name parameters that exist. */
double vp_init_param(const vp_init *in, const char *name);

/* VP_OK if every parameter of in is in its range and the row's rule holds; else
 * VP_ERR_CONFIG with a message that names the row ("uniform needs its lower bound
 * below its upper bound"). Unresolved "auto"/"critical" gains hold their default. */
vp_status vp_init_check(const vp_init *in, vp_err *err);

/* Space-separated list of all names (canonical) usable as weights (bias=0) or biases. */
void vp_init_names(int bias, char *buf, size_t len);

/* Replace every "auto" gain by `gain` (e.g. the activation's PyTorch gain). */
void vp_init_resolve_auto(vp_init *in, double gain);
/* The same for the "critical" gains. */
void vp_init_resolve_critical(vp_init *in, double gain);

/* 1 if a and b draw the same numbers for every shape and stream: the same
 * initializer with the same parameter values ("auto"/"critical" gains compared
 * by their resolved values). Lets a sweep draw the weights it shares once. */
int vp_init_same(const vp_init *a, const vp_init *b);

/* Label: name plus non-default parameters, e.g. "orthogonal(gain=1.4142)". */
void vp_init_label(const vp_init *in, char *buf, size_t len);

/* Draw a weight [fan_out, fan_in] (row-major). Not for data-dependent inits. */
vp_status vp_init_weight(const vp_init *in, size_t fan_out, size_t fan_in, const vp_rng *rng,
                         double *W, vp_err *err);
/* Entries [start, start + k) (row-major, clipped to the weight) of vp_init_weight's
 * draw, the same bits, drawing nothing else, where the initializer's entries are
 * independent of one another (returns 1 in *done); for sparse and orthogonal, whose
 * entries depend on a column or the whole matrix, nothing is drawn and *done is 0
 * (draw the whole weight). */
vp_status vp_init_weight_range(const vp_init *in, size_t fan_out, size_t fan_in, size_t start, size_t k,
                               const vp_rng *rng, double *W, int *done, vp_err *err);
/* Draw a bias of length fan_out for a layer with fan_in inputs. */
vp_status vp_init_bias(const vp_init *in, size_t fan_out, size_t fan_in, const vp_rng *rng,
                       double *b, vp_err *err);

/* One layer's unit draw, kept between runs by core/mlp: the n standard normals z of
 * stream rng (draw 0). A normal initializer's weights or biases are loc + scale z
 * (init_dist.c), so runs whose parameters differ only in loc and scale -- a
 * sigma_w x sigma_b grid, he_normal beside xavier_normal, with the same seed and shape
 * -- can share z and skip the generator: the same operations on the same z give the
 * same bits as drawing. Ownership: z is malloc'ed here, vp_unit_draw_free releases it. */
typedef struct {
    vp_rng rng;
    size_t n, cap;
    int valid;
    double *z;
} vp_unit_draw;

/* vp_init_weight (is_bias 0) or vp_init_bias (is_bias 1), with a normal initializer's
 * z taken from u when u holds the draw of rng with this many values, else drawn into
 * u first (u NULL, or no memory for it: no cache). *hit: 1 when z came from u. */
vp_status vp_init_draw_cached(const vp_init *in, size_t fan_out, size_t fan_in, int is_bias, const vp_rng *rng,
                              vp_unit_draw *u, double *out, int *hit, vp_err *err);
/* Its normal case written straight into float32 out: when the initializer is normal
 * and u can hold (or holds) its draw, out gets loc + scale z rounded once to float --
 * the bits of vp_init_draw_cached followed by a float store, without the double
 * array -- and 1 is returned; else 0 and nothing is written (use vp_init_draw_cached,
 * which also gives the error messages). */
int vp_init_draw_cached_f32(const vp_init *in, size_t fan_out, size_t fan_in, int is_bias, const vp_rng *rng,
                            vp_unit_draw *u, float *out, int *hit);
void vp_unit_draw_free(vp_unit_draw *u);

/* Exact mean and variance of one weight entry under `in` for this shape, from the
 * row's distribution (init_dist.h), if the initializer defines them (returns 1),
 * else 0 (identity, lsuv: data or structure dependent). Bias moments with
 * is_bias = 1. Used by the theory predictions (sigma_w^2 = fan_in * Var[W]) and
 * by the moment tests. */
int vp_init_moments(const vp_init *in, size_t fan_out, size_t fan_in, int is_bias, double *mean,
                    double *var);

/* Support of one entry: [lo, hi] (may be +-inf), the bounds the draw itself uses
 * (a uniform's computed bound, a truncation's cut-offs mapped back through
 * mean + std z), so every drawn value lies inside. Returns 1 if bounded. */
int vp_init_support(const vp_init *in, size_t fan_out, size_t fan_in, int is_bias, double *lo,
                    double *hi);

/* Orthogonal [rows, cols] matrix (rows orthonormal if rows <= cols, else columns),
 * QR of a Gaussian matrix with sign correction (Mezzadri 2007), times gain; the QR
 * in float32 (sgeqrf/sorgqr, half the time) with `single`, else in double. */
vp_status vp_init_orthogonal(size_t rows, size_t cols, double gain, int single, const vp_rng *rng, double *W,
                             vp_err *err);

/* PyTorch calculate_gain for the kaiming `nonlinearity` choice index (a name of
 * the act registry: linear, sigmoid, tanh, relu, leaky_relu, selu) with negative
 * slope a for leaky_relu: the act row's torch_gain (vp_act_torch_gain). */
double vp_init_kaiming_gain(int nonlinearity, double a);

#endif
