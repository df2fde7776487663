/* net: see net.h. The precision-generic passes live in net_impl.inc (included once
 * for float, once for double); this file holds the layer kinds, shape inference,
 * allocation, parameter draws and the dispatch on precision. */
#include "core/net.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv.h"
#include "core/gemm.h"
#include "core/rng.h"

static const char *const KIND_NAMES[VP_LAYER_KIND_COUNT] = {
    [VP_LAYER_DENSE] = "dense",         [VP_LAYER_CONV2D] = "conv2d",       [VP_LAYER_MAXPOOL2D] = "maxpool2d",
    [VP_LAYER_AVGPOOL2D] = "avgpool2d", [VP_LAYER_FLATTEN] = "flatten",     [VP_LAYER_LAYERNORM] = "layernorm",
    [VP_LAYER_BATCHNORM] = "batchnorm", [VP_LAYER_RMSNORM] = "rmsnorm",     [VP_LAYER_RESIDUAL] = "residual",
};
_Static_assert(sizeof KIND_NAMES / sizeof KIND_NAMES[0] == VP_LAYER_KIND_COUNT, "KIND_NAMES out of sync");

const char *vp_layer_kind_name(vp_layer_kind k) { return k < VP_LAYER_KIND_COUNT ? KIND_NAMES[k] : "?"; }

vp_layer_kind vp_layer_kind_find(const char *name)
{
    for (int k = 0; k < VP_LAYER_KIND_COUNT; k++)
        if (strcmp(name, KIND_NAMES[k]) == 0) return (vp_layer_kind)k;
    return VP_LAYER_KIND_COUNT;
}

vp_layer_spec vp_layer_plain(vp_layer_kind k)
{
    vp_layer_spec l;
    memset(&l, 0, sizeof l);
    l.kind = k;
    l.wscale = 1.0;
    l.stride = 1;
    l.skip = -1;
    l.alpha = 1.0;
    return l;
}

int vp_layer_has_weights(vp_layer_kind k) { return k == VP_LAYER_DENSE || k == VP_LAYER_CONV2D; }
int vp_layer_is_norm(vp_layer_kind k)
{
    return k == VP_LAYER_LAYERNORM || k == VP_LAYER_BATCHNORM || k == VP_LAYER_RMSNORM;
}

void vp_shape_text(vp_shape s, char *buf, size_t len)
{
    if (s.flat) snprintf(buf, len, "[%zu]", vp_shape_size(s));
    else snprintf(buf, len, "[%d, %d, %d]", s.c, s.h, s.w);
}

/* Output shape of one layer from its input shape; NULL if it fits, else why. */
static const char *layer_shape(const vp_layer_spec *l, vp_shape in, vp_shape skip, vp_shape *out, char *why,
                               size_t wlen)
{
    char a[64], b[64];
    vp_shape_text(in, a, sizeof a);
    *out = in;
    switch (l->kind) {
    case VP_LAYER_DENSE:
        if (!in.flat) {
            snprintf(why, wlen, "dense needs a flat input [n], it gets %s (put {\"type\": \"flatten\"} before it)", a);
            return why;
        }
        *out = (vp_shape){ l->out, 1, 1, 1 };
        return NULL;
    case VP_LAYER_CONV2D:
    case VP_LAYER_MAXPOOL2D:
    case VP_LAYER_AVGPOOL2D: {
        const char *nm = vp_layer_kind_name(l->kind);
        if (in.flat) {
            snprintf(why, wlen, "%s needs an image input [C, H, W], it gets the flat %s (a flatten or dense layer "
                     "comes before it)", nm, a);
            return why;
        }
        int pad = l->kind == VP_LAYER_CONV2D ? l->padding : 0;
        int ho = vp_conv_out_dim(in.h, l->kernel, l->stride, pad), wo = vp_conv_out_dim(in.w, l->kernel, l->stride, pad);
        if (ho < 1 || wo < 1) {
            snprintf(why, wlen, "a %dx%d window (padding %d) does not fit the input %s", l->kernel, l->kernel, pad, a);
            return why;
        }
        *out = (vp_shape){ l->kind == VP_LAYER_CONV2D ? l->out : in.c, ho, wo, 0 };
        return NULL;
    }
    case VP_LAYER_FLATTEN:
        *out = (vp_shape){ (int)vp_shape_size(in), 1, 1, 1 };
        return NULL;
    case VP_LAYER_BATCHNORM:
    case VP_LAYER_LAYERNORM:
    case VP_LAYER_RMSNORM:
        return NULL;
    case VP_LAYER_RESIDUAL:
        if (in.c != skip.c || in.h != skip.h || in.w != skip.w || in.flat != skip.flat) {
            vp_shape_text(skip, b, sizeof b);
            snprintf(why, wlen, "the branch maps the stream %s to %s; x + alpha f(x) needs both the same shape", b, a);
            return why;
        }
        return NULL;
    case VP_LAYER_KIND_COUNT:
        break;
    }
    snprintf(why, wlen, "unknown layer kind");
    return why;
}

vp_status vp_net_shapes(const vp_layer_spec *ls, int n, vp_shape in, vp_shape *out, int *bad, vp_err *err)
{
    char why[256];
    for (int i = 0; i < n; i++) {
        vp_shape x = i ? out[i - 1] : in;
        vp_shape skip = ls[i].kind == VP_LAYER_RESIDUAL && ls[i].skip >= 0 ? out[ls[i].skip] : in;
        if (layer_shape(&ls[i], x, skip, &out[i], why, sizeof why)) {
            if (bad) *bad = i;
            return vp_fail(err, VP_ERR_CONFIG, "%s", why);
        }
        if (vp_shape_size(out[i]) > (size_t)1 << 28) {
            if (bad) *bad = i;
            return vp_fail(err, VP_ERR_CONFIG, "the output (%zu values per example) is too large", vp_shape_size(out[i]));
        }
    }
    return VP_OK;
}

size_t vp_net_layer_aux(const vp_layer_spec *l, vp_shape out)
{
    switch (l->kind) {
    case VP_LAYER_LAYERNORM: return 2 * vp_shape_size(out);
    case VP_LAYER_RMSNORM: return vp_shape_size(out);
    case VP_LAYER_BATCHNORM: return 2 * (size_t)out.c;
    case VP_LAYER_RESIDUAL: return l->alpha_param ? 1 : 0;
    case VP_LAYER_DENSE:
    case VP_LAYER_CONV2D: return l->prebias ? 1 : 0;
    case VP_LAYER_MAXPOOL2D:
    case VP_LAYER_AVGPOOL2D:
    case VP_LAYER_FLATTEN:
    case VP_LAYER_KIND_COUNT:
        break;
    }
    return 0;
}

size_t vp_net_layer_params(const vp_layer_spec *l, vp_shape in)
{
    if (l->kind == VP_LAYER_DENSE) return (size_t)l->out * (vp_shape_size(in) + 1);
    if (l->kind == VP_LAYER_CONV2D) return (size_t)l->out * ((size_t)in.c * (size_t)l->kernel * (size_t)l->kernel + 1);
    return 0;
}

vp_status vp_net_fixup(vp_layer_spec *ls, int n, int *bad, vp_err *err)
{
    int L = 0;
    for (int i = 0; i < n; i++) L += ls[i].kind == VP_LAYER_RESIDUAL && ls[i].fixup;
    for (int i = 0; i < n; i++) {
        if (ls[i].kind != VP_LAYER_RESIDUAL || !ls[i].fixup) continue;
        int m = 0, last = -1;
        for (int j = ls[i].skip + 1; j < i; j++)
            if (vp_layer_has_weights(ls[j].kind)) m++, last = j;
        if (m < 2) {
            if (bad) *bad = i;
            return vp_fail(err, VP_ERR_CONFIG, "Fixup scales branches of m >= 2 weight layers by L^(-1/(2m-2)); "
                           "this branch has %d", m);
        }
        double scale = pow((double)L, -1.0 / (2.0 * m - 2.0));
        for (int j = ls[i].skip + 1; j < i; j++)
            if (vp_layer_has_weights(ls[j].kind)) {
                ls[j].wscale = j == last ? 0.0 : scale;
                ls[j].prebias = 1;
            }
    }
    return VP_OK;
}

/* ---- the network ---- */

struct vp_net {
    int n, B, Bcap;            /* B: examples of the passes (vp_net_set_batch), <= Bcap: allocated */
    int input_grad;            /* compute dL/d(input) (default 1; trainers need not) */
    vp_precision prec;
    vp_layer_spec *ls;        /* copied, paths owned */
    vp_shape in, *sh;         /* sh[i]: output of layer i */
    size_t *xoff;             /* xoff[i + 1]: output of layer i in X and G; xoff[0] = 0: the input */
    size_t *zoff;             /* z / phi' of dense and conv2d layers in Z */
    size_t *woff, *boff;      /* weights and biases in W/b (dW/db alike) */
    size_t *aoff, *roff;      /* auxiliary parameters in A (dA alike), running statistics in R */
    size_t *soff;             /* prebias layers: their input x + s in XS */
    void *XS;
    void *X, *G, *Z, *W, *b, *dW, *db;
    void *A, *dA, *R;         /* gamma/beta/alpha, their gradients; batchnorm running mean, var */
    size_t na, nr;
    vp_bn_mode bn_mode;
    void *S;                  /* [B, max size] scratch: dL/dz */
    void *col, *gcol;         /* conv scratch: the largest [C_in k^2, H_out W_out] */
    double *acc;              /* statistics accumulators */
    size_t nacc;
    unsigned char *alive;     /* per channel: phi' != 0 seen */
    void *probe;
    uint64_t probe_seed;
    int probe_ok;
    vp_pool *pool;
};

static size_t real_size(vp_precision p) { return p == VP_F64 ? sizeof(double) : sizeof(float); }

/* Input shape of layer i. */
static vp_shape in_shape(const vp_net *t, int i) { return i ? t->sh[i - 1] : t->in; }

/* Element counts of every block of a net (fills the offsets when nt is not NULL). */
typedef struct { size_t x, z, w, b, a, r, xs, smax, colmax, accn, cmax, wmax, ortho, ortho_side; } net_counts;

static void count(const vp_layer_spec *ls, int n, vp_shape in, const vp_shape *sh, int B, vp_net *nt,
                  net_counts *c)
{
    memset(c, 0, sizeof *c);
    c->x = (size_t)B * vp_shape_size(in);
    c->smax = vp_shape_size(in);
    c->cmax = (size_t)in.c;
    if (nt) nt->xoff[0] = 0;
    for (int i = 0; i < n; i++) {
        vp_shape a = i ? sh[i - 1] : in, o = sh[i];
        size_t so = vp_shape_size(o);
        if (nt) {
            nt->xoff[i + 1] = c->x;
            nt->zoff[i] = c->z;
            nt->woff[i] = c->w;
            nt->boff[i] = c->b;
            nt->aoff[i] = c->a;
            nt->roff[i] = c->r;
            nt->soff[i] = c->xs;
        }
        if (vp_layer_has_weights(ls[i].kind) && ls[i].prebias) c->xs += (size_t)B * vp_shape_size(a);
        c->a += vp_net_layer_aux(&ls[i], o);
        if (ls[i].kind == VP_LAYER_BATCHNORM) c->r += 2 * (size_t)o.c;
        c->x += (size_t)B * so;
        if (so > c->smax) c->smax = so;
        if ((size_t)o.c > c->cmax) c->cmax = (size_t)o.c;
        if (vp_layer_has_weights(ls[i].kind)) {
            size_t k2 = ls[i].kind == VP_LAYER_CONV2D ? (size_t)ls[i].kernel * (size_t)ls[i].kernel : 1;
            size_t fi = ls[i].kind == VP_LAYER_CONV2D ? (size_t)a.c * k2 : vp_shape_size(a);
            c->z += (size_t)B * so;
            c->w += (size_t)ls[i].out * fi;
            c->b += (size_t)ls[i].out;
            if ((size_t)ls[i].out * fi > c->wmax) c->wmax = (size_t)ls[i].out * fi;
            /* an orthogonal draw's QR of the out x fi matrix (delta_orthogonal: of the centre
               tap, C_out x C_in, and that tap kept apart): its elements, counted in bytes in
               vp_net_bytes */
            int delta = ls[i].wdraw == VP_WDRAW_DELTA_ORTHOGONAL;
            size_t qr = delta ? 2 * (size_t)ls[i].out * (size_t)a.c
                        : ls[i].winit.kind == VP_INIT_ORTHOGONAL ? (size_t)ls[i].out * fi
                                                                 : 0;
            size_t side = qr ? (size_t)ls[i].out + (delta ? (size_t)a.c : fi) : 0;
            if (qr > c->ortho) c->ortho = qr;
            if (side > c->ortho_side) c->ortho_side = side;
            if (fi > c->accn) c->accn = fi;
            if (ls[i].kind == VP_LAYER_CONV2D) {
                size_t cs = fi * (size_t)o.h * (size_t)o.w;
                if (cs > c->colmax) c->colmax = cs;
            }
        }
    }
    if (c->smax > c->accn) c->accn = c->smax;
    c->accn = 2 * c->accn + 2 * c->cmax + 16;
}

double vp_net_bytes(const vp_layer_spec *ls, int n, vp_shape in, int batch, vp_precision prec)
{
    vp_shape *sh = malloc((size_t)(n > 0 ? n : 1) * sizeof *sh);
    if (!sh || vp_net_shapes(ls, n, in, sh, NULL, NULL)) {
        free(sh);
        return 0;
    }
    net_counts c;
    count(ls, n, in, sh, batch, NULL, &c);
    free(sh);
    double elems = 2.0 * (double)c.x + (double)c.z + 2.0 * ((double)c.w + (double)c.b + (double)c.a) + (double)c.r +
                   (double)c.xs +
                   (double)batch * (double)c.smax +
                   2.0 * (double)c.colmax + (double)batch * (double)c.smax /* probe */;
    /* doubles: the statistics' accumulators, and one layer's draw at a time (vp_net_init_params
       draws each layer into a buffer of the largest layer's weights, then rounds it into W);
       an orthogonal draw's QR works on a copy beside it (init_orthogonal.c: float32 keeps the
       Gaussian draw in double too, 12 bytes an element; float64 8), plus LAPACK's blocked
       workspace, bounded here by 64 rows and columns of the matrix */
    double qr = (prec == VP_F32 ? 12.0 : 8.0) * (double)c.ortho + 8.0 * 64.0 * (double)c.ortho_side;
    return elems * (double)real_size(prec) + 8.0 * ((double)c.accn + (double)c.wmax) + (c.ortho ? qr : 0.0) +
           (double)c.cmax;
}

void vp_net_free(vp_net *net)
{
    if (!net) return;
    for (int i = 0; net->ls && i < net->n; i++) free(net->ls[i].path);
    free(net->ls);
    free(net->sh);
    free(net->xoff);
    free(net->zoff);
    free(net->woff);
    free(net->boff);
    free(net->aoff);
    free(net->roff);
    free(net->soff);
    free(net->XS);
    free(net->A);
    free(net->dA);
    free(net->R);
    free(net->X);
    free(net->G);
    free(net->Z);
    free(net->W);
    free(net->b);
    free(net->dW);
    free(net->db);
    free(net->S);
    free(net->col);
    free(net->gcol);
    free(net->acc);
    free(net->alive);
    free(net->probe);
    free(net);
}

static void *alloc_n(size_t n, size_t es) { return calloc(n ? n : 1, es); }

/* The auxiliary parameters and running statistics at initialization: gamma = 1,
 * beta = 0 (PyTorch's elementwise affine), a trained alpha at the spec's value,
 * running mean 0 and variance 1 (PyTorch's BatchNorm). */
static void set_aux(vp_net *t)
{
    int f64 = t->prec == VP_F64;
    for (int i = 0; i < t->n; i++) {
        const vp_layer_spec *l = &t->ls[i];
        size_t na = vp_net_layer_aux(l, t->sh[i]), ng = l->kind == VP_LAYER_RMSNORM ? na : na / 2;
        for (size_t k = 0; k < na; k++) {
            /* residual: alpha; dense/conv2d: the prebias 0; norms: gamma 1, then beta 0 */
            double v = l->kind == VP_LAYER_RESIDUAL ? l->alpha : vp_layer_is_norm(l->kind) && k < ng ? 1.0 : 0.0;
            if (f64) ((double *)t->A)[t->aoff[i] + k] = v;
            else ((float *)t->A)[t->aoff[i] + k] = (float)v;
        }
        if (l->kind != VP_LAYER_BATCHNORM) continue;
        size_t C = (size_t)t->sh[i].c;
        for (size_t k = 0; k < 2 * C; k++) {
            double v = k < C ? 0.0 : 1.0;
            if (f64) ((double *)t->R)[t->roff[i] + k] = v;
            else ((float *)t->R)[t->roff[i] + k] = (float)v;
        }
    }
}

vp_status vp_net_create(vp_net **out, const vp_layer_spec *ls, int n, vp_shape in, int batch, vp_precision prec,
                        vp_err *err)
{
    *out = NULL;
    if (n < 1 || batch < 1) return vp_fail(err, VP_ERR_USAGE, "a network needs at least one layer and one example");
    vp_net *t = calloc(1, sizeof *t);
    if (!t) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    t->n = n;
    t->B = t->Bcap = batch;
    t->input_grad = 1;
    t->prec = prec;
    t->in = in;
    t->ls = calloc((size_t)n, sizeof *t->ls);
    t->sh = calloc((size_t)n, sizeof *t->sh);
    t->xoff = calloc((size_t)n + 1, sizeof *t->xoff);
    t->zoff = calloc((size_t)n, sizeof *t->zoff);
    t->woff = calloc((size_t)n, sizeof *t->woff);
    t->boff = calloc((size_t)n, sizeof *t->boff);
    t->aoff = calloc((size_t)n, sizeof *t->aoff);
    t->roff = calloc((size_t)n, sizeof *t->roff);
    t->soff = calloc((size_t)n, sizeof *t->soff);
    if (!t->ls || !t->sh || !t->xoff || !t->zoff || !t->woff || !t->boff || !t->aoff || !t->roff || !t->soff)
        goto nomem;
    for (int i = 0; i < n; i++) {
        t->ls[i] = ls[i];
        t->ls[i].path = NULL;
        if (ls[i].path && !(t->ls[i].path = strdup(ls[i].path))) goto nomem;
    }
    vp_status s = vp_net_shapes(ls, n, in, t->sh, NULL, err);
    if (s) {
        vp_net_free(t);
        return s;
    }
    net_counts c;
    count(ls, n, in, t->sh, batch, t, &c);
    size_t rs = real_size(prec);
    t->X = alloc_n(c.x, rs);
    t->G = alloc_n(c.x, rs);
    t->Z = alloc_n(c.z, rs);
    t->W = alloc_n(c.w, rs);
    t->b = alloc_n(c.b, rs);
    t->dW = alloc_n(c.w, rs);
    t->db = alloc_n(c.b, rs);
    t->na = c.a;
    t->nr = c.r;
    t->A = alloc_n(c.a, rs);
    t->dA = alloc_n(c.a, rs);
    t->R = alloc_n(c.r, rs);
    t->XS = alloc_n(c.xs, rs);
    t->S = alloc_n((size_t)batch * c.smax, rs);
    t->col = alloc_n(c.colmax, rs);
    t->gcol = alloc_n(c.colmax, rs);
    t->probe = alloc_n((size_t)batch * vp_shape_size(t->sh[n - 1]), rs);
    t->nacc = c.accn;
    t->acc = alloc_n(c.accn, sizeof(double));
    t->alive = alloc_n(c.cmax, 1);
    if (!t->X || !t->G || !t->Z || !t->W || !t->b || !t->dW || !t->db || !t->S || !t->col || !t->gcol || !t->probe ||
        !t->acc || !t->alive || !t->A || !t->dA || !t->R || !t->XS)
        goto nomem;
    set_aux(t);
    *out = t;
    return VP_OK;
nomem:
    vp_net_free(t);
    return vp_fail(err, VP_ERR_NOMEM, "out of memory allocating the network");
}

void vp_net_set_pool(vp_net *net, vp_pool *pool) { net->pool = pool; }
int vp_net_batch(const vp_net *net) { return net->B; }
void vp_net_set_input_grad(vp_net *net, int on) { net->input_grad = on; }

vp_status vp_net_set_batch(vp_net *net, int n, vp_err *err)
{
    if (n < 1 || n > net->Bcap)
        return vp_fail(err, VP_ERR_USAGE, "a batch of %d examples (1..%d for this network)", n, net->Bcap);
    net->B = n;
    return VP_OK;
}

void *vp_net_data(vp_net *net, int i) { return (char *)net->X + net->xoff[i + 1] * real_size(net->prec); }
void *vp_net_grad_data(vp_net *net, int i) { return (char *)net->G + net->xoff[i + 1] * real_size(net->prec); }

vp_net_params vp_net_param_blocks(vp_net *net)
{
    vp_net_params p = { net->W, net->b, net->dW, net->db, 0, 0, net->A, net->dA, net->na };
    for (int i = 0; i < net->n; i++)
        if (vp_layer_has_weights(net->ls[i].kind)) {
            p.nw = net->woff[i] + vp_net_layer_params(&net->ls[i], in_shape(net, i)) - (size_t)net->ls[i].out;
            p.nb = net->boff[i] + (size_t)net->ls[i].out;
        }
    return p;
}

void vp_net_layer_offsets(const vp_net *net, int i, size_t *woff, size_t *boff)
{
    if (woff) *woff = net->woff[i];
    if (boff) *boff = net->boff[i];
}
size_t vp_net_layer_aux_offset(const vp_net *net, int i) { return net->aoff[i]; }
void vp_net_set_bn_mode(vp_net *net, vp_bn_mode mode) { net->bn_mode = mode; }
void *vp_net_running(vp_net *net, size_t *nr)
{
    if (nr) *nr = net->nr;
    return net->R;
}
int vp_net_layers(const vp_net *net) { return net->n; }
vp_shape vp_net_shape(const vp_net *net, int i) { return i < 0 ? net->in : net->sh[i]; }
const vp_layer_spec *vp_net_layer(const vp_net *net, int i) { return &net->ls[i]; }


#define REAL float
#define REAL_EPS FLT_EPSILON
#define REAL_MIN_NORMAL FLT_MIN
#define FN(x) x##_f32
#define GEMM vp_gemm_f32
#define KERNEL kernel_f32
#define IM2COL vp_im2col_f32
#define COL2IM vp_col2im_add_f32
#define COL2IM_SUM vp_col2im_sum_f32
#include "core/net_impl.inc"
#define REAL double
#define REAL_EPS DBL_EPSILON
#define REAL_MIN_NORMAL DBL_MIN
#define FN(x) x##_f64
#define GEMM vp_gemm_f64
#define KERNEL kernel_f64
#define IM2COL vp_im2col_f64
#define COL2IM vp_col2im_add_f64
#define COL2IM_SUM vp_col2im_sum_f64
#include "core/net_impl.inc"

/* Copy n doubles into block + off in the net's precision, and back. */
static void put(const vp_net *t, void *blk, size_t off, const double *src, size_t n)
{
    if (t->prec == VP_F64) memcpy((double *)blk + off, src, n * sizeof *src);
    else
        for (size_t i = 0; i < n; i++) ((float *)blk)[off + i] = (float)src[i];
}

static void get(const vp_net *t, const void *blk, size_t off, double *dst, size_t n)
{
    if (t->prec == VP_F64) memcpy(dst, (const double *)blk + off, n * sizeof *dst);
    else
        for (size_t i = 0; i < n; i++) dst[i] = (double)((const float *)blk)[off + i];
}

vp_status vp_net_init_params(vp_net *t, uint64_t seed, vp_err *err)
{
    size_t wmax = 1;
    for (int i = 0; i < t->n; i++)
        if (vp_layer_has_weights(t->ls[i].kind)) {
            size_t k2 = t->ls[i].kind == VP_LAYER_CONV2D ? (size_t)t->ls[i].kernel * (size_t)t->ls[i].kernel : 1;
            size_t fi = t->ls[i].kind == VP_LAYER_CONV2D ? (size_t)in_shape(t, i).c * k2 : vp_shape_size(in_shape(t, i));
            if ((size_t)t->ls[i].out * fi > wmax) wmax = (size_t)t->ls[i].out * fi;
        }
    double *tmp = malloc(wmax * sizeof *tmp);
    if (!tmp) return vp_fail(err, VP_ERR_NOMEM, "out of memory drawing weights");
    vp_status s = VP_OK;
    for (int i = 0; i < t->n && !s; i++) {
        const vp_layer_spec *l = &t->ls[i];
        if (!vp_layer_has_weights(l->kind)) continue;
        vp_shape a = in_shape(t, i);
        int k = l->kind == VP_LAYER_CONV2D ? l->kernel : 1;
        int cin = l->kind == VP_LAYER_CONV2D ? a.c : (int)vp_shape_size(a);
        size_t nw = (size_t)l->out * (size_t)cin * (size_t)k * (size_t)k;
        vp_rng rw = vp_rng_make(seed, (uint32_t)(i + 1), VP_RNG_WEIGHT);
        vp_rng rb = vp_rng_make(seed, (uint32_t)(i + 1), VP_RNG_BIAS);
        vp_init wi = l->winit;
        wi.single = t->prec == VP_F32;
        if (l->wdraw == VP_WDRAW_DELTA_ORTHOGONAL)
            s = vp_delta_orthogonal(l->out, cin, k, l->delta_gain, wi.single, &rw, tmp, err);
        else
            s = vp_conv_init_weight(&wi, l->out, cin, k, &rw, tmp, err);
        if (s) {
            vp_err_prefix(err, "%s", l->path ? l->path : "layer");
            break;
        }
        if (l->wscale != 1.0)
            for (size_t e = 0; e < nw; e++) tmp[e] *= l->wscale;
        put(t, t->W, t->woff[i], tmp, nw);
        int sets_bias = l->wdraw == VP_WDRAW_REGISTRY && vp_init_get(l->winit.kind)->sets_bias;
        s = vp_conv_init_bias(sets_bias ? &l->winit : &l->binit, l->out, cin, k, &rb, tmp, err);
        if (s) {
            vp_err_prefix(err, "%s", l->path ? l->path : "layer");
            break;
        }
        put(t, t->b, t->boff[i], tmp, (size_t)l->out);
    }
    free(tmp);
    if (!s) set_aux(t);
    return s;
}

void vp_net_set_input(vp_net *t, const double *x) { put(t, t->X, 0, x, (size_t)t->B * vp_shape_size(t->in)); }
void vp_net_set_input_raw(vp_net *t, const void *x)
{
    memcpy(t->X, x, (size_t)t->B * vp_shape_size(t->in) * real_size(t->prec));
}

vp_status vp_net_forward(vp_net *t, vp_block_stats *stats, vp_err *err)
{
    for (int i = 0; t->bn_mode == VP_BN_BATCH_UPDATE && i < t->n; i++) {
        vp_shape o = t->sh[i];
        if (t->ls[i].kind == VP_LAYER_BATCHNORM && (size_t)t->B * (size_t)o.h * (size_t)o.w < 2)
            return vp_fail(err, VP_ERR_USAGE, "%s: batchnorm in training needs more than 1 value per channel (got a "
                           "batch of %d x %d positions)", t->ls[i].path ? t->ls[i].path : "a layer", t->B, o.h * o.w);
    }
    for (int i = 0; i < t->n; i++) {
        vp_block_stats *st = stats ? &stats[i] : NULL;
        if (t->prec == VP_F64) forward_layer_f64(t, i, st);
        else forward_layer_f32(t, i, st);
    }
    return VP_OK;
}

vp_status vp_net_backward_given(vp_net *t, double wscale, vp_block_stats *stats, vp_err *err)
{
    (void)err;
    memset(t->G, 0, t->xoff[t->n] * real_size(t->prec));
    for (int i = t->n - 1; i >= 0; i--) {
        vp_block_stats *st = stats ? &stats[i] : NULL;
        if (t->prec == VP_F64) backward_layer_f64(t, i, wscale, st);
        else backward_layer_f32(t, i, wscale, st);
    }
    return VP_OK;
}

vp_status vp_net_backward_from(vp_net *t, const double *g, double wscale, vp_block_stats *stats, vp_err *err)
{
    put(t, t->G, t->xoff[t->n], g, (size_t)t->B * vp_shape_size(t->sh[t->n - 1]));
    return vp_net_backward_given(t, wscale, stats, err);
}

vp_status vp_net_backward(vp_net *t, uint64_t seed, vp_block_stats *stats, vp_err *err)
{
    size_t per = vp_shape_size(t->sh[t->n - 1]), nlast = (size_t)t->B * per;
    double *g = malloc(nlast * sizeof *g);
    if (!g) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    /* element e of the row-major [B, n] probe is element e of the stream, as vp_mlp_backward */
    vp_rng pr = vp_rng_make(seed, 0, VP_RNG_PROBE);
    vp_rng_normal_range(&pr, 0, 0, nlast, g);
    vp_status s = vp_net_backward_from(t, g, 1.0 / (double)t->B, stats, err);
    free(g);
    return s;
}

void vp_net_export(const vp_net *t, int i, double *out, double *grad, double *W, double *b, double *dW, double *db)
{
    size_t n = (size_t)t->B * vp_shape_size(vp_net_shape(t, i));
    if (out) get(t, t->X, t->xoff[i + 1], out, n);
    if (grad) get(t, t->G, t->xoff[i + 1], grad, n);
    if (i < 0 || !vp_layer_has_weights(t->ls[i].kind)) return;
    size_t nw = vp_net_layer_params(&t->ls[i], in_shape(t, i)) - (size_t)t->ls[i].out;
    if (W) get(t, t->W, t->woff[i], W, nw);
    if (b) get(t, t->b, t->boff[i], b, (size_t)t->ls[i].out);
    if (dW) get(t, t->dW, t->woff[i], dW, nw);
    if (db) get(t, t->db, t->boff[i], db, (size_t)t->ls[i].out);
}

void vp_net_export_aux(const vp_net *t, int i, double *a, double *da)
{
    size_t na = vp_net_layer_aux(&t->ls[i], t->sh[i]);
    if (a) get(t, t->A, t->aoff[i], a, na);
    if (da) get(t, t->dA, t->aoff[i], da, na);
}

void vp_net_import_aux(vp_net *t, int i, const double *a)
{
    put(t, t->A, t->aoff[i], a, vp_net_layer_aux(&t->ls[i], t->sh[i]));
}

void vp_net_import(vp_net *t, int i, const double *W, const double *b)
{
    if (!vp_layer_has_weights(t->ls[i].kind)) return;
    size_t nw = vp_net_layer_params(&t->ls[i], in_shape(t, i)) - (size_t)t->ls[i].out;
    if (W) put(t, t->W, t->woff[i], W, nw);
    if (b) put(t, t->b, t->boff[i], b, (size_t)t->ls[i].out);
}
