/* blocks: see blocks.h. */
#include "theory/blocks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Gaussian expectations of one layer's phi, per position ---- */

/* The expectations a layer needs, with the last value of each kind remembered (the
 * interior positions of a conv map share one q), the homogeneous shortcut for q unknown
 * or infinite, and the first failure kept as the run's note. */
typedef struct {
    const vp_theory_ctx *ctx;
    const vp_act *act;
    int homog, layer;
    double lq[3], lv[3];
    vp_status st;
    vp_err note;
} expecter;

static void ex_layer(expecter *e, const vp_act *act, int layer)
{
    double neg, pos;
    e->act = act;
    e->homog = vp_act_slopes(act, &neg, &pos);
    e->layer = layer;
    for (int k = 0; k < 3; k++) e->lq[k] = e->lv[k] = NAN;
}

static int slot(vp_theory_exp1 kind) { return kind == VP_EXP_PHI ? 0 : kind == VP_EXP_PHI2 ? 1 : 2; }

static double ex_at(expecter *e, vp_theory_exp1 kind, double q)
{
    double v = NAN;
    vp_err err;
    vp_status s = vp_theory_expect(e->ctx, e->act, kind, q, &v, &err);
    if (s != VP_OK) {
        if (e->st == VP_OK) {
            e->st = s;
            e->note = err;
            vp_err_prefix(&e->note, "layer %d", e->layer + 1);
        }
        return NAN;
    }
    return v;
}

/* E[g(sqrt(q) z)] for g = phi, phi^2, phi'^2; NaN when unknown. A homogeneous phi scales:
 * E[phi'^2] is the same at every q, E[phi^2](q) = q E[phi^2](1), E[phi](q) = sqrt(q) E[phi](1). */
static double ex(expecter *e, vp_theory_exp1 kind, double q)
{
    int k = slot(kind);
    if (q == e->lq[k]) return e->lv[k];
    double v = NAN;
    if (isfinite(q) && q >= 0) {
        v = ex_at(e, kind, q);
    } else if (e->homog && !(q < 0)) {
        double one = ex_at(e, kind, 1.0);
        if (kind == VP_EXP_DPHI2) v = one;
        else if (!isnan(q)) v = one == 0 ? 0 : kind == VP_EXP_PHI2 ? INFINITY : copysign(INFINITY, one);
    }
    e->lq[k] = q;
    e->lv[k] = v;
    return v;
}

/* ---- tensors: per-position moments ---- */

typedef struct {
    int np;             /* positions */
    double *s, *mu, *g; /* np each */
} tensor;

static double avg(const double *x, int n)
{
    double a = 0;
    for (int p = 0; p < n; p++) a += x[p];
    return a / n;
}

/* x[p] of a map with np positions read at a position of an m-position map (m = np, or
 * one of them has a single position). */
static double at(const double *x, int np, int p) { return np == 1 ? x[0] : x[p]; }

static double variance(const tensor *t)
{
    double m = avg(t->mu, t->np);
    return avg(t->s, t->np) - m * m;
}

/* Positions of layer i's output: H W, except the layers that keep their input's shape
 * and map (flatten, the norms: a flattened map stays a map). */
static int positions(const vp_theory_net_in *in, const int *np, int i)
{
    if (in->ls[i].kind == VP_LAYER_FLATTEN || vp_layer_is_norm(in->ls[i].kind)) return np[i]; /* tensor i: its input */
    if (in->ls[i].kind == VP_LAYER_RESIDUAL) {
        int a = np[i], b = np[in->ls[i].skip + 1];
        return a > b ? a : b;
    }
    return in->shapes[i].h * in->shapes[i].w;
}

/* The input position that tap (ky, kx) of output position (oy, ox) reads, or -1 in the
 * zero padding. */
static int tap_src(const vp_layer_spec *l, vp_shape a, int oy, int ox, int ky, int kx)
{
    int y = oy * l->stride + ky - l->padding, x = ox * l->stride + kx - l->padding;
    return y < 0 || y >= a.h || x < 0 || x >= a.w ? -1 : y * a.w + x;
}

/* Tap range of a conv: every tap, or the centre one for delta_orthogonal (its weight
 * there is sigma_w2, not sigma_w2 / k^2). */
static void taps(const vp_layer_spec *l, int *k0, int *k1, double *wt)
{
    if (l->wdraw == VP_WDRAW_DELTA_ORTHOGONAL) {
        *k0 = (l->kernel - 1) / 2;
        *k1 = *k0 + 1;
        *wt = 1.0;
    } else {
        *k0 = 0;
        *k1 = l->kernel;
        *wt = 1.0 / ((double)l->kernel * l->kernel);
    }
}

/* How many values a normalization layer normalizes together, and how many directions
 * its Jacobian projects out. */
static void norm_group(const vp_theory_net_in *in, int i, double *n, double *k)
{
    vp_shape o = in->shapes[i];
    *k = in->ls[i].kind == VP_LAYER_RMSNORM ? 1 : 2;
    *n = in->ls[i].kind == VP_LAYER_BATCHNORM ? (double)in->batch * o.h * o.w : (double)vp_shape_size(o);
}

/* ---- forward ---- */

static void forward(const vp_theory_net_in *in, int i, const tensor *a, tensor *o, double *q, expecter *e, double *pre,
                    double *chi)
{
    const vp_layer_spec *l = &in->ls[i];
    double sw2 = in->w[i].sigma_w2, sb2 = in->w[i].sigma_b2;
    switch (l->kind) {
    case VP_LAYER_DENSE:
    case VP_LAYER_CONV2D: {
        ex_layer(e, &l->act, i);
        if (l->kind == VP_LAYER_DENSE) {
            q[0] = sw2 * avg(a->s, a->np) + sb2;
        } else {
            vp_shape sa = i ? in->shapes[i - 1] : in->in, so = in->shapes[i];
            int k0, k1;
            double wt;
            taps(l, &k0, &k1, &wt);
            for (int oy = 0; oy < so.h; oy++)
                for (int ox = 0; ox < so.w; ox++) {
                    double sum = 0;
                    for (int ky = k0; ky < k1; ky++)
                        for (int kx = k0; kx < k1; kx++) {
                            int src = tap_src(l, sa, oy, ox, ky, kx);
                            if (src >= 0) sum += a->s[src];
                        }
                    q[oy * so.w + ox] = sw2 * wt * sum + sb2;
                }
        }
        double c = 0;
        for (int p = 0; p < o->np; p++) {
            o->s[p] = ex(e, VP_EXP_PHI2, q[p]);
            o->mu[p] = ex(e, VP_EXP_PHI, q[p]);
            c += ex(e, VP_EXP_DPHI2, q[p]);
        }
        pre[i] = avg(q, o->np);
        chi[i] = sw2 * c / o->np;
        return;
    }
    case VP_LAYER_FLATTEN:
        memcpy(o->s, a->s, (size_t)a->np * sizeof *o->s);
        memcpy(o->mu, a->mu, (size_t)a->np * sizeof *o->mu);
        chi[i] = 1;
        break;
    case VP_LAYER_LAYERNORM:
    case VP_LAYER_BATCHNORM:
    case VP_LAYER_RMSNORM: {
        int rms = l->kind == VP_LAYER_RMSNORM;
        double m = rms ? 0 : avg(a->mu, a->np), V = rms ? avg(a->s, a->np) : variance(a);
        double eps = rms ? in->rms_eps : 1e-5, d = V + eps, n, k;
        norm_group(in, i, &n, &k);
        for (int p = 0; p < o->np; p++) {
            if (isnan(V)) { /* input unknown: unit gain resets q to 1, eps neglected */
                o->s[p] = 1;
                o->mu[p] = rms ? NAN : 0;
                continue;
            }
            o->s[p] = (a->s[p] - 2 * a->mu[p] * m + m * m) / d;
            o->mu[p] = (a->mu[p] - m) / sqrt(d);
        }
        /* The Jacobian divides by the norm's own estimate sigma^2 of the n values, not by V:
         * n sigma^2 / V ~ chi^2 with d = n - 1 degrees of freedom (centred; rmsnorm: d = n,
         * exact for zero-mean values, an approximation for others, whose sum of squares is a
         * noncentral chi^2), and E[1/chi^2_d] = 1/(d - 2), so E[1/sigma^2] = n / ((d - 2) V):
         * n/(n-3) above (1 - k/n)/V for layernorm -- 23% at n = 16. eps enters as in
         * sigma^2 + eps (exact at eps = 0 and as V -> 0); d <= 2: the mean is infinite, no
         * prediction. */
        double m2 = (rms ? n : n - 1) - 2;
        chi[i] = m2 > 0 ? (1 - k / n) * n / (m2 * V + n * eps) : NAN;
        /* Batchnorm's n values are one channel across the batch: their variance is
         * V (1 - c), c the correlation between the batch's examples, which the recursion
         * does not carry (it is ~0 only for independent inputs through odd phi without
         * bias; ReLU stacks drive it towards 1, and the gain up by 1/(1 - c): measured
         * 1.28 per block in a post-norm ReLU stack). No backward prediction through it. */
        if (l->kind == VP_LAYER_BATCHNORM) chi[i] = NAN;
        break;
    }
    case VP_LAYER_RESIDUAL: {
        const tensor *sk = a - (i - l->skip - 1); /* tensor skip + 1 */
        double al = l->alpha;
        for (int p = 0; p < o->np; p++) {
            double ss = at(sk->s, sk->np, p), ms = at(sk->mu, sk->np, p);
            double sb = at(a->s, a->np, p), mb = at(a->mu, a->np, p);
            o->s[p] = ss + al * al * sb + (al != 0 ? 2 * al * ms * mb : 0);
            o->mu[p] = ms + (al != 0 ? al * mb : 0);
        }
        break; /* chi: after the backward pass through the branch */
    }
    case VP_LAYER_MAXPOOL2D:
    case VP_LAYER_AVGPOOL2D: {
        vp_shape sa = i ? in->shapes[i - 1] : in->in, so = in->shapes[i];
        double k2 = (double)l->kernel * l->kernel, cover = (double)so.h * so.w * k2 / ((double)sa.h * sa.w);
        for (int p = 0; p < o->np; p++) o->s[p] = o->mu[p] = NAN;
        chi[i] = l->stride != l->kernel || l->kind == VP_LAYER_MAXPOOL2D ? NAN : cover / (k2 * k2);
        break;
    }
    case VP_LAYER_KIND_COUNT:
        break;
    }
    pre[i] = variance(o);
}

/* ---- backward ---- */

static void backward(const vp_theory_net_in *in, int i, tensor *a, const tensor *o, const double *q, expecter *e,
                     double *grad, const double *chi, double *gz)
{
    const vp_layer_spec *l = &in->ls[i];
    double sw2 = in->w[i].sigma_w2;
    vp_shape sa = i ? in->shapes[i - 1] : in->in, so = in->shapes[i];
    switch (l->kind) {
    case VP_LAYER_DENSE:
    case VP_LAYER_CONV2D: {
        ex_layer(e, &l->act, i);
        for (int p = 0; p < o->np; p++) gz[p] = o->g[p] * ex(e, VP_EXP_DPHI2, q[p]);
        grad[i] = avg(gz, o->np);
        if (l->kind == VP_LAYER_DENSE) {
            double add = sw2 * ((double)vp_shape_size(so) / (double)vp_shape_size(sa)) * gz[0];
            for (int p = 0; p < a->np; p++) a->g[p] += add;
            return;
        }
        int k0, k1;
        double wt;
        taps(l, &k0, &k1, &wt);
        double f = sw2 * wt * (double)so.c / (double)sa.c;
        for (int oy = 0; oy < so.h; oy++)
            for (int ox = 0; ox < so.w; ox++)
                for (int ky = k0; ky < k1; ky++)
                    for (int kx = k0; kx < k1; kx++) {
                        int src = tap_src(l, sa, oy, ox, ky, kx);
                        if (src >= 0) a->g[src] += f * gz[oy * so.w + ox];
                    }
        return;
    }
    case VP_LAYER_MAXPOOL2D:
    case VP_LAYER_AVGPOOL2D: {
        /* avgpool: each covered entry gets exactly g_out / k^2 of its window. maxpool: no
         * prediction -- the window's maximum gets it all, and whether phi' is 0 there is
         * not independent of its being the maximum (gradient independence fails). */
        double k2 = (double)l->kernel * l->kernel, f = 1 / (k2 * k2);
        if (l->stride != l->kernel || l->kind == VP_LAYER_MAXPOOL2D) f = NAN;
        for (int oy = 0; oy < so.h; oy++)
            for (int ox = 0; ox < so.w; ox++)
                for (int ky = 0; ky < l->kernel; ky++)
                    for (int kx = 0; kx < l->kernel; kx++) {
                        int src = tap_src(l, sa, oy, ox, ky, kx);
                        if (src >= 0) a->g[src] += f * o->g[oy * so.w + ox];
                    }
        break;
    }
    case VP_LAYER_FLATTEN:
    case VP_LAYER_LAYERNORM:
    case VP_LAYER_BATCHNORM:
    case VP_LAYER_RMSNORM:
        for (int p = 0; p < a->np; p++) a->g[p] += chi[i] * o->g[p];
        break;
    case VP_LAYER_RESIDUAL: {
        tensor *sk = a - (i - l->skip - 1);
        for (int p = 0; p < sk->np; p++) sk->g[p] += o->np == sk->np ? o->g[p] : avg(o->g, o->np);
        for (int p = 0; p < a->np; p++) a->g[p] += l->alpha * l->alpha * (o->np == a->np ? o->g[p] : avg(o->g, o->np));
        break;
    }
    case VP_LAYER_KIND_COUNT:
        break;
    }
    grad[i] = avg(o->g, o->np);
}

vp_status vp_theory_net_predictions(const vp_theory_ctx *ctxp, const vp_theory_net_in *in, double *pre, double *grad,
                                    double *chi_out, double *post, double *gpost, vp_err *err)
{
    int n = in->n;
    vp_theory_ctx own;
    vp_status s = VP_OK;
    if (!ctxp) {
        if ((s = vp_theory_ctx_init(&own, err)) != VP_OK) return s;
        ctxp = &own;
    }
    /* np[t]: positions of tensor t (0: the input, i + 1: layer i's output). */
    int *np = malloc((size_t)(n + 1) * sizeof *np);
    tensor *t = calloc((size_t)n + 1, sizeof *t);
    size_t *off = malloc((size_t)(n + 2) * sizeof *off);
    double *chi = chi_out ? chi_out : malloc((size_t)n * sizeof *chi);
    /* A residual's gain is known when the backward pass has gone through its branch:
     * snap[r] = avg g of its skip tensor before; first[i] the first residual whose branch
     * starts at layer i (skip = i - 1), next[r] the next such one. */
    double *snap = malloc((size_t)n * sizeof *snap);
    int *first = malloc((size_t)n * sizeof *first), *next = malloc((size_t)n * sizeof *next);
    double *mem = NULL, *q = NULL, *gz = NULL;
    if (!np || !t || !off || !chi || !snap || !first || !next) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    for (int i = 0; i < n; i++) first[i] = -1;
    for (int r = n - 1; r >= 0; r--)
        if (in->ls[r].kind == VP_LAYER_RESIDUAL && in->ls[r].skip + 1 < n) {
            next[r] = first[in->ls[r].skip + 1];
            first[in->ls[r].skip + 1] = r;
        }
    np[0] = in->in.h * in->in.w;
    off[0] = 0;
    off[1] = (size_t)np[0];
    for (int i = 0; i < n; i++) {
        np[i + 1] = positions(in, np, i);
        off[i + 2] = off[i + 1] + (size_t)np[i + 1];
    }
    size_t tot = off[n + 1], maxp = 0;
    for (int i = 0; i <= n; i++) maxp = (size_t)np[i] > maxp ? (size_t)np[i] : maxp;
    mem = calloc(3 * tot, sizeof *mem);
    q = calloc(tot, sizeof *q); /* q maps of dense/conv layers at their output's offset */
    gz = malloc(maxp * sizeof *gz);
    if (!mem || !q || !gz) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    for (int k = 0; k <= n; k++)
        t[k] = (tensor){ np[k], mem + off[k], mem + tot + off[k], mem + 2 * tot + off[k] };
    memcpy(t[0].s, in->in_s, (size_t)np[0] * sizeof *t[0].s);
    memcpy(t[0].mu, in->in_mu, (size_t)np[0] * sizeof *t[0].mu);
    expecter e = { .ctx = ctxp, .st = VP_OK };
    for (int i = 0; i < n; i++) {
        pre[i] = grad[i] = chi[i] = NAN;
        forward(in, i, &t[i], &t[i + 1], q + off[i + 1], &e, pre, chi);
    }
    for (int p = 0; p < np[n]; p++) t[n].g[p] = 1; /* the N(0,1) probe */
    for (int i = n - 1; i >= 0; i--) {
        const vp_layer_spec *l = &in->ls[i];
        if (l->kind == VP_LAYER_RESIDUAL) snap[i] = avg(t[l->skip + 1].g, np[l->skip + 1]);
        backward(in, i, &t[i], &t[i + 1], q + off[i + 1], &e, grad, chi, gz);
        /* Residuals whose branch starts here (layer i reads their skip tensor): their
         * gain is what the branch and the skip added to the skip tensor, per unit of g_out. */
        for (int r = first[i]; r >= 0; r = next[r])
            chi[r] = (avg(t[i].g, np[i]) - snap[r]) / avg(t[r + 1].g, np[r + 1]);
    }
    for (int i = 0; i < n; i++) { /* every reader of tensor i + 1 has added its part by now */
        if (post) post[i] = variance(&t[i + 1]);
        if (gpost) gpost[i] = avg(t[i + 1].g, np[i + 1]);
    }
    if (e.st != VP_OK && err) *err = e.note;
    s = e.st;
end:
    free(np);
    free(t);
    free(off);
    if (!chi_out) free(chi);
    free(snap);
    free(first);
    free(next);
    free(mem);
    free(q);
    free(gz);
    return s;
}
