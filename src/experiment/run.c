/* run: see run.h. */
#include "experiment/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data.h"
#include "core/jacobian.h"
#include "core/rng.h"
#include "experiment/fragments.h"
#include "experiment/net_config.h"
#include "experiment/predict.h"
#include "experiment/train_run.h"

void vp_worker_init(vp_worker *w)
{
    *w = (vp_worker){ .net = NULL, .net_group = -1, .x = NULL };
}

void vp_worker_release(vp_worker *w)
{
    vp_mlp_free(w->net);
    free(w->x);
    vp_worker_init(w);
}

/* Input batch for (variant, seed): N(0,1), U(-sqrt3, sqrt3) (unit variance), or the
 * first `batch` fashion-mnist images standardized over the batch. */
/* vp_make_input (run.h): the run's input batch x[b * n0 + i]: entries of the chosen distribution with mean 0
 * and variance 1 (fashion-mnist after standardization over the batch), then
 *  - input.correlation c0 >= 0: x_b = sqrt(c0) s + sqrt(1 - c0) e_b with one shared
 *    s ~ N(0, I) (its own stream): pairwise correlation c0 between examples, per-entry
 *    variance 1;
 *  - c0 < 0 (no shared component can do it): x_b = a e_b + g ebar, ebar the batch mean
 *    of the e_b, a = sqrt(1 - c0), g = sqrt(1 + (B - 1) c0) - a: per entry, the batch's
 *    covariance is (1 - c0) I + c0 11^T exactly, which needs c0 >= -1/(B-1) (variant.c);
 *  - every entry times input.std, so q0 = std^2. */
void vp_make_input(const double *data, const vp_variant *var, uint64_t seed, double *x)
{
    size_t B = (size_t)var->batch, n0 = (size_t)var->widths[0], n = B * n0;
    vp_rng r = vp_rng_make(seed, 0, VP_RNG_INPUT);
    switch (var->input) {
    case VP_INPUT_UNIFORM:
        vp_rng_uniform_fill(&r, 0, x, n);
        for (size_t i = 0; i < n; i++) x[i] = sqrt(3.0) * (2.0 * x[i] - 1.0);
        break;
    case VP_INPUT_FASHION_MNIST:
        memcpy(x, data, n * sizeof *x);
        vp_standardize(x, n);
        break;
    case VP_INPUT_NORMAL:
        vp_rng_normal_fill(&r, 0, x, n);
        break;
    }
    if (var->has_corr && var->in_corr >= 0) {
        double c0 = var->in_corr, a = sqrt(1.0 - c0), g = sqrt(c0);
        vp_rng rs = vp_rng_make(seed, 1, VP_RNG_INPUT);
        for (size_t i = 0; i < n0; i++) {
            double si = vp_rng_normal_at(&rs, i, 0);
            for (size_t b = 0; b < B; b++) x[b * n0 + i] = g * si + a * x[b * n0 + i];
        }
    } else if (var->has_corr && B >= 2) {
        double c0 = var->in_corr, a = sqrt(1.0 - c0), g = sqrt(fmax(0.0, 1.0 + (double)(B - 1) * c0)) - a;
        for (size_t i = 0; i < n0; i++) {
            double mean = 0;
            for (size_t b = 0; b < B; b++) mean += x[b * n0 + i];
            mean /= (double)B;
            for (size_t b = 0; b < B; b++) x[b * n0 + i] = a * x[b * n0 + i] + g * mean;
        }
    }
    if (var->in_std != 1.0)
        for (size_t i = 0; i < n; i++) x[i] *= var->in_std;
}

/* Measured depth scale of the backward pass: Var[dL/dz^l] ~ exp(-(L-l)/xi), so xi =
 * 1/|slope| of the least-squares line through (l, ln Var[dL/dz^l]) over the layers
 * first..last of the hidden stack with a finite positive variance (mean-field:
 * xi_grad = -1/ln chi_1, Schoenholz et al. 2017). NaN with fewer than 3 such layers,
 * +inf for a flat line. */
typedef struct { double n, sx, sy, sxx, sxy; } lsq; /* least-squares line, point by point */

static void lsq_add(lsq *f, double x, double y)
{
    f->n++; f->sx += x; f->sy += y; f->sxx += x * x; f->sxy += x * y;
}

/* The slope; NaN with fewer than 3 points. */
static double lsq_slope(const lsq *f)
{
    if (f->n < 3) return NAN;
    return (f->n * f->sxy - f->sx * f->sy) / (f->n * f->sxx - f->sx * f->sx);
}

static double fit_xi_grad(int first, int last, const vp_layer_stats *st)
{
    lsq f = { 0, 0, 0, 0, 0 };
    for (int l = first - 1; l < last; l++) {
        double v = st[l].grad_pre_var;
        if (!(v > 0) || !isfinite(v)) continue;
        lsq_add(&f, l + 1, log(v));
    }
    double slope = lsq_slope(&f);
    return slope == 0 ? INFINITY : 1.0 / fabs(slope);
}

/* Measured correlation depth scale: |c^l - c*| ~ exp(-l/xi_c), so xi_c = -1/slope of the
 * least-squares line through (l, ln|c^l - c*|) over the layers first..last of the
 * hidden stack where |c^l - c*| is above the noise floor 1/sqrt(B n_l) of the batch
 * estimate c^l (st[].pre_corr). Meaningful where the approach to c* is exponential
 * and starts away from it: in the ordered phase (c* = 1) from any c0 < 1; in the
 * chaotic phase only from c0 near c* (far from it the map is not linear); at
 * criticality the approach is algebraic and the fit says little. NaN with fewer than
 * 3 such layers, no c* or a rising line (|c^l - c*| grows); +inf for a flat line. */
static double fit_xi_c(int first, int last, const vp_layer_stats *st, const int *widths, int B, double c_star)
{
    lsq f = { 0, 0, 0, 0, 0 };
    if (!isfinite(c_star)) return NAN;
    for (int l = first - 1; l < last; l++) {
        double d = fabs(st[l].pre_corr - c_star);
        if (!isfinite(d) || !(d > 1.0 / sqrt((double)B * widths[l + 1]))) continue;
        lsq_add(&f, l + 1, log(d));
    }
    double slope = lsq_slope(&f);
    /* a flat line: no decay, an infinite depth scale; a rising one (the distance grows:
     * noise above the floor, or no approach to this c*): no depth scale at all -- -1/slope
     * would be a negative "depth" */
    return slope == 0 ? INFINITY : slope > 0 ? NAN : -1.0 / slope;
}

/* A run whose theory could not be computed to accuracy everywhere: its cells are
 * empty and the log (stderr) says which and why, one line per run -- the measurement
 * itself stands. */
static void theory_note(vp_job *j, int r, int v, uint64_t seed, const vp_err *why)
{
    FILE *log = j->o->log;
    if (!log) return;
    pthread_mutex_lock(&j->lock);
    fprintf(log, "%svarprop: note: run %d (variant %d, seed %llu): theory cells left empty: %s\n",
            j->o->progress ? "\n" : "", r, v, (unsigned long long)seed, why->msg);
    pthread_mutex_unlock(&j->lock);
}

/* A run whose LSUV met layers it cannot rescale (Var[z^l] = 0 or not finite: iters -1)
 * says so on the log, one line per run: those layers kept their drawn weights, and the
 * measurement shows what they do (a dead layer, an overflow). */
static void lsuv_note(vp_job *j, int r, int v, uint64_t seed, const int *iters, int L)
{
    FILE *log = j->o->log;
    int n = 0, first = 0;
    for (int l = L; l >= 1; l--)
        if (iters[l - 1] < 0) n++, first = l;
    if (!log || !n) return;
    pthread_mutex_lock(&j->lock);
    fprintf(log, "%svarprop: note: run %d (variant %d, seed %llu): lsuv cannot rescale %d layer%s (first: layer %d), "
                 "whose Var[z] on the input batch is 0 or not finite; %s kept %s drawn weights\n",
            j->o->progress ? "\n" : "", r, v, (unsigned long long)seed, n, n == 1 ? "" : "s", first,
            n == 1 ? "it" : "they", n == 1 ? "its" : "their");
    pthread_mutex_unlock(&j->lock);
}

/* The input batch of a run, made unless the worker's last run had the same one. */
static vp_status run_input(const vp_job *j, const vp_variant *var, uint64_t seed, vp_worker *w, vp_err *err)
{
    size_t n = (size_t)var->batch * (size_t)var->widths[0];
    if (w->x_ok && w->x_input == (int)var->input && w->x_batch == var->batch && w->x_n0 == var->widths[0] &&
        w->x_seed == seed && w->x_std == var->in_std && w->x_has_corr == var->has_corr && w->x_corr == var->in_corr)
        return VP_OK;
    w->x_ok = 0;
    if (n > w->xcap) {
        free(w->x);
        w->xcap = 0;
        if (!(w->x = malloc(n * sizeof *w->x))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        w->xcap = n;
    }
    vp_make_input(j->data, var, seed, w->x);
    w->x_ok = 1;
    w->x_input = (int)var->input;
    w->x_batch = var->batch;
    w->x_n0 = var->widths[0];
    w->x_seed = seed;
    w->x_std = var->in_std;
    w->x_has_corr = var->has_corr;
    w->x_corr = var->in_corr;
    return VP_OK;
}

/* A run of a block network (network.layers): its net made for the run, the forward
 * and backward pass, one layers.csv row per layer output, and the mean-field
 * predictions beside them (vp_predict_net: the per-layer cells, and the predicted
 * ratios; runs.csv's chi1 and xi cells stay empty -- a block list has no fixed point).
 * The ratios span the hidden stack (vp_net_spec_stack: the longest run of layers of one
 * output shape): its last layer's output variance over its first's (activations) and
 * the first's output-gradient variance over the last's; no depth scale yet. */
static vp_status run_blocks(vp_job *j, int r, vp_worker *w, int *drew, vp_err *err)
{
    const vp_experiment *e = j->e;
    int v = r / e->nseeds;
    uint64_t seed = e->seeds[r % e->nseeds];
    const vp_variant *var = &e->variants[v];
    double t0 = vp_job_now();
    vp_net *t = NULL;
    vp_train_out tout = { .diverged_step = 0 };
    vp_block_stats *st = calloc((size_t)var->L, sizeof *st);
    double *th = var->theory ? malloc(6 * (size_t)var->L * sizeof *th) : NULL;
    vp_status s = st && (th || !var->theory) ? VP_OK : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    *drew = 1;
    if (!s) s = vp_net_create(&t, var->net->ls, var->net->n, var->net->in, var->batch, var->prec, err);
    if (!s) {
        vp_net_set_pool(t, j->pool);
        s = vp_net_init_params(t, seed, err);
    }
    if (!s) s = run_input(j, var, seed, w, err);
    if (!s) {
        vp_net_set_input(t, w->x);
        s = vp_net_forward(t, st, err);
    }
    if (!s) s = vp_net_backward(t, seed, st, err);
    if (!s) {
        int L = var->L, a, b; /* the hidden stack: the longest run of layers of one output shape */
        vp_net_spec_stack(var->net, &a, &b);
        vp_run_sum sum = { 1, st[b - 1].s.post_var / st[a - 1].s.post_var,
                           st[a - 1].s.grad_post_var / st[b - 1].s.grad_post_var, 0, 0, NAN, NAN, NAN, NAN, NAN, NAN,
                           NAN, NAN, 0 };
        for (int l = 0; l < L; l++) {
            sum.nonfinite += st[l].s.nonfinite;
            sum.subnormal += st[l].s.subnormal;
        }
        vp_prediction pr = { .pre = NULL }; /* with theory on: six arrays of L in th */
        if (th)
            pr = (vp_prediction){ .pre = th, .grad = th + L, .chi = th + 2 * (size_t)L, .corr = th + 3 * (size_t)L,
                                  .post = th + 4 * (size_t)L, .gpost = th + 5 * (size_t)L };
        if (th && !(s = vp_predict_net(&j->tctx, var, w->x, &pr, err)) && pr.partial) theory_note(j, r, v, seed, &pr.note);
        if (th && !s) { /* the ratios' predictions: the same outputs and gradients a..b (NaN: no prediction) */
            sum.theory_act_ratio = pr.post[b - 1] / pr.post[a - 1];
            sum.theory_grad_ratio = pr.gpost[a - 1] / pr.gpost[b - 1];
        }
        if (!s && var->train.on) s = vp_train_one(j, r, NULL, &tout, err); /* core/net_train.h through train_run.c */
        if (!s && var->train.on) {
            sum.test_acc = tout.test_acc;
            sum.diverged_step = (double)tout.diverged_step;
        }
        if (!s)
            s = vp_frag_write(j, r, var, NULL, st, th ? pr.pre : NULL, th ? pr.grad : NULL, th ? pr.chi : NULL,
                              th ? pr.corr : NULL, NULL, NULL, NULL, var->train.on ? &tout : NULL, &sum,
                              vp_job_now() - t0, err);
        if (!s) j->sums[r] = sum;
    }
    if (s) vp_err_prefix(err, "run %d (variant %d, seed %llu)", r, v, (unsigned long long)seed);
    vp_net_free(t);
    free(st);
    free(th);
    vp_train_out_free(&tout);
    return s;
}

vp_status vp_run_one(vp_job *j, int r, vp_worker *w, int params_ready, int *drew, vp_err *err)
{
    if (j->e->variants[r / j->e->nseeds].net) return run_blocks(j, r, w, drew, err);
    const vp_experiment *e = j->e;
    int v = r / e->nseeds;
    uint64_t seed = e->seeds[r % e->nseeds];
    const vp_variant *var = &e->variants[v];
    double t0 = vp_job_now();
    vp_mlp *m = NULL, **net = &w->net;
    double *x = NULL;
    vp_layer_stats *st = calloc((size_t)var->L, sizeof *st);
    vp_histogram *hist = NULL;
    double *tpre = calloc((size_t)var->L, sizeof *tpre), *tgrad = calloc((size_t)var->L, sizeof *tgrad);
    double *tchi = calloc((size_t)var->L, sizeof *tchi), *tcorr = calloc((size_t)var->L, sizeof *tcorr);
    double *sv = NULL, *sq_len = NULL;
    vp_train_out tout = { .diverged_step = 0 };
    vp_status s = VP_OK;
    if (!st || !tpre || !tgrad || !tchi || !tcorr) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    for (int l = 0; l < var->L; l++) tpre[l] = tgrad[l] = tchi[l] = tcorr[l] = NAN;
    if (var->hist_bins) {
        hist = calloc((size_t)var->L * VP_HIST_QUANTITIES, sizeof *hist);
        if (!hist) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
        for (int l = 0; l < var->L; l++)
            for (int q = 0; q < VP_HIST_QUANTITIES && var->hist_layers[l]; q++) {
                vp_histogram *h = &hist[(size_t)l * VP_HIST_QUANTITIES + (size_t)q];
                h->bins = var->hist_bins;
                h->density = malloc((size_t)var->hist_bins * sizeof *h->density);
                if (!h->density) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
            }
    }
    if (vp_mlp_same_shape(*net, var->L, var->widths, var->batch, var->prec, var->act) &&
        vp_mlp_same_memory(*net, &var->mem)) {
        vp_mlp_set_act(*net, var->act);
    } else {
        vp_mlp_free(*net);
        *net = NULL;
        params_ready = 0;
        if ((s = vp_mlp_create_mem(net, var->L, var->widths, var->batch, var->prec, var->act, &var->mem, err))) goto end;
    }
    m = *net;
    vp_mlp_set_pool(m, j->pool);
    /* the standard normals of normal initializers, kept for the worker's next run of the
       same seed and shape (a sigma grid: one generator pass for all of it); --no-share,
       every run draws its own, as the peer's loop does */
    vp_mlp_set_unit_cache(m, !j->o->no_share);
    *drew = !params_ready;
    if (!params_ready && (s = vp_mlp_init_params(m, &var->winit, &var->binit, seed, err))) goto end;
    if ((s = run_input(j, var, seed, w, err))) goto end;
    x = w->x;
    vp_mlp_set_input(m, x);
    if (var->winit.kind == VP_INIT_LSUV) {
        double tol = vp_init_param(&var->winit, "tol");
        int max_iter = (int)vp_init_param(&var->winit, "max_iter");
        int *iters = malloc((size_t)var->L * sizeof *iters);
        if (!iters) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
        if (!(s = vp_mlp_lsuv(m, tol, max_iter, iters, err))) lsuv_note(j, r, v, seed, iters, var->L);
        free(iters);
        if (s) goto end;
    }
    if (var->lengths && !(sq_len = malloc((size_t)var->batch * (size_t)var->L * sizeof *sq_len))) {
        s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        goto end;
    }
    vp_mlp_set_lengths(m, sq_len);
    s = vp_mlp_forward(m, st, hist, err);
    vp_mlp_set_lengths(m, NULL); /* the buffer is this run's */
    if (s) goto end;
    if (var->jacobian) {
        int n = var->widths[0] < var->widths[var->L] ? var->widths[0] : var->widths[var->L];
        sv = malloc((size_t)n * sizeof *sv);
        if (!sv) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
        if ((s = vp_jacobian_mlp_svals(m, 0, sv, err))) goto end;
    }
    if ((s = vp_mlp_backward(m, seed, st, hist, err))) goto end;

    /* Ratios and the depth scale over the hidden stack (layers a..b of equal width):
     * a readout of another width is not part of what propagates. */
    int a, b;
    vp_mlp_stack(var->L, var->widths, &a, &b);
    vp_run_sum sum = { 1, st[b - 1].pre_var / st[a - 1].pre_var, st[a - 1].grad_pre_var / st[b - 1].grad_pre_var,
                    0, 0, fit_xi_grad(a, b, st), NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0 };
    for (int l = 0; l < var->L; l++) {
        sum.nonfinite += st[l].nonfinite;
        sum.subnormal += st[l].subnormal;
    }
    /* A Jacobian with NaN/Inf entries has NaN singular values (core/jacobian.h): a
     * result, counted with the run's non-finite values. */
    for (int i = 0; sv && i < (var->widths[0] < var->widths[var->L] ? var->widths[0] : var->widths[var->L]); i++)
        sum.nonfinite += isnan(sv[i]);
    if (var->theory) {
        vp_prediction pr = { .pre = tpre, .grad = tgrad, .chi = tchi, .corr = tcorr };
        if ((s = vp_predict_run(&j->tctx, var, m, x, &pr, err))) goto end;
        sum.theory_chi1 = pr.chi1;
        sum.theory_xi_c = pr.xi_c;
        sum.theory_xi_grad = pr.xi_grad;
        sum.theory_act_ratio = tpre[b - 1] / tpre[a - 1]; /* NaN where a layer has no prediction */
        sum.theory_grad_ratio = tgrad[a - 1] / tgrad[b - 1];
        sum.xi_c = fit_xi_c(a, b, st, var->widths, var->batch, pr.c_star);
        if (pr.partial) theory_note(j, r, v, seed, &pr.note);
    }
    /* A config with "train": the run trains next, and its rows go out with the measurement's;
     * with lsuv it starts from the weights LSUV rescaled above (train_run.h). */
    if (var->train.on && (s = vp_train_one(j, r, var->winit.kind == VP_INIT_LSUV ? m : NULL, &tout, err))) goto end;
    if (var->train.on) {
        sum.test_acc = tout.test_acc;
        sum.diverged_step = (double)tout.diverged_step;
    }
    s = vp_frag_write(j, r, var, st, NULL, tpre, tgrad, tchi, tcorr, hist, sv, sq_len, var->train.on ? &tout : NULL, &sum,
                      vp_job_now() - t0, err);
    if (!s) j->sums[r] = sum;
end:
    if (s) vp_err_prefix(err, "run %d (variant %d, seed %llu)", r, v, (unsigned long long)seed);
    free(st);
    free(tpre);
    free(tgrad);
    free(tchi);
    free(tcorr);
    free(sv);
    free(sq_len);
    vp_train_out_free(&tout);
    for (size_t i = 0; hist && i < (size_t)var->L * VP_HIST_QUANTITIES; i++) free(hist[i].density);
    free(hist);
    return s;
}
