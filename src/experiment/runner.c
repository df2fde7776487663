/* runner: see runner.h. */
#include "experiment/runner.h"

#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "results/csv.h"
#include "core/data.h"
#include "base/fsutil.h"
#include "core/mlp.h"
#include "core/jacobian.h"
#include "core/rng.h"
#include "theory/theory.h"

/* OpenBLAS: stops its thread pool (exported, used by its fork handler; not in cblas.h). */
extern int blas_thread_shutdown_(void);

#define FASHION_FILE "train-images-idx3-ubyte.gz"
static const char *const HIST_NAMES[VP_HIST_QUANTITIES] = { "pre", "post", "grad_pre" };

/* Summary of one run, kept in memory (a few numbers per run) for the table. */
typedef struct {
    int done;
    double act_ratio, grad_ratio;
    long long nonfinite, subnormal;
    double xi_grad, theory_chi1, theory_xi_c;
} run_sum;

typedef struct {
    const vp_experiment *e;
    const vp_runner_opts *o;
    char parts[4096];
    const double *data;          /* fashion-mnist pixels [n, 784] or NULL */
    int theory;                  /* layers.csv has the theory columns */
    vp_theory_ctx tctx;          /* quadrature rules, read-only once made */
    int *todo;                   /* run indices to execute, runs sharing parameters adjacent */
    int ntodo, finished, draws;
    int ngroups, next_group;     /* groups of runs with the same parameters (see group_runs) */
    int *gbeg, *gnext;           /* group g is todo[gbeg[g] .. gbeg[g+1]); gnext[g]: its next run */
    run_sum *sums;               /* per run index */
    vp_status status;            /* first failure */
    vp_err err;
    double t0;
    pthread_mutex_t lock;
} job;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *verdict(double ratio, long long nonfinite)
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

/* ---- memory ---- */
double vp_runner_run_bytes(const vp_experiment *e, int v)
{
    const vp_variant *var = &e->variants[v];
    double b = vp_mlp_bytes(var->L, var->widths, var->batch, var->prec, var->act);
    b += 8.0 * (double)var->batch * var->widths[0];                      /* input in double */
    b += 64.0 * var->L;                                                  /* stats */
    if (var->hist_bins) b += 8.0 * var->hist_bins * VP_HIST_QUANTITIES * var->L;
    if (var->jacobian) {
        int nmax = 0;
        for (int l = 0; l <= var->L; l++) nmax = var->widths[l] > nmax ? var->widths[l] : nmax;
        b += 8.0 * 4.0 * (double)nmax * nmax;                            /* product, W copy, SVD work */
    }
    return b;
}

static double available_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb > 0) return kb * 1024.0;
    return (double)sysconf(_SC_AVPHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
}

/* ---- fragments ---- */
static void part_path(const job *j, int r, const char *ext, char *out, size_t len)
{
    snprintf(out, len, "%s/run-%07d.%s", j->parts, r, ext);
}

static void csv_run(const vp_experiment *e, int r, char *act, char *init, size_t len, vp_csv_run *cr)
{
    int v = r / e->nseeds, s = r % e->nseeds;
    vp_act_label(&e->variants[v].act, act, len);
    vp_init_label(&e->variants[v].winit, init, len);
    cr->variant = v;
    cr->activation = act;
    cr->init = init;
    cr->seed = e->seeds[s];
    cr->nsweep = e->nsweep;
    cr->sweep_values = e->nsweep ? &e->sweep_values[(size_t)v * (size_t)e->nsweep] : NULL;
}

/* Input batch for (variant, seed): N(0,1), U(-sqrt3, sqrt3) (unit variance), or the
 * first `batch` fashion-mnist images standardized over the batch. */
static void make_input(const job *j, const vp_variant *var, uint64_t seed, double *x)
{
    size_t n = (size_t)var->batch * (size_t)var->widths[0];
    vp_rng r = vp_rng_make(seed, 0, VP_RNG_INPUT);
    switch (var->input) {
    case VP_INPUT_UNIFORM:
        vp_rng_uniform_fill(&r, 0, x, n);
        for (size_t i = 0; i < n; i++) x[i] = sqrt(3.0) * (2.0 * x[i] - 1.0);
        break;
    case VP_INPUT_FASHION_MNIST:
        memcpy(x, j->data, n * sizeof *x);
        vp_standardize(x, n);
        break;
    case VP_INPUT_NORMAL:
        vp_rng_normal_fill(&r, 0, x, n);
        break;
    }
}

/* ---- mean-field predictions beside the measurements ----
 * sigma_w^2(l) = fan_in * Var[W^l] from the initializer's formula, or from the drawn
 * weights for data-dependent ones (LSUV); sigma_b^2(l) = Var[b^l]; q0 = mean x^2 of
 * the input batch. Mean-field theory assumes zero-mean i.i.d. random weights and
 * zero-mean biases: for deterministic or non-centred initializers (identity,
 * constant, U[0,1), ...) and for row-wise activations (softmax family, GLU) there
 * is no prediction and the cells stay empty. */
static int theory_inputs(const vp_variant *var, const vp_mlp *m, double *sw2, double *sb2)
{
    const vp_init_info *wi = vp_init_get(var->winit.kind);
    if (vp_act_rowwise(vp_act_get(var->act.kind))) return 0; /* mean field: elementwise phi only */
    for (int l = 1; l <= var->L; l++) {
        size_t fo = (size_t)var->widths[l], fi = (size_t)var->widths[l - 1];
        double mean, v, bmean, bv;
        if (wi->data_dependent) {
            vp_mlp_weight_moments(m, l, &sw2[l - 1], &sb2[l - 1]);
            continue;
        }
        if (!vp_init_moments(&var->winit, fo, fi, 0, &mean, &v) || mean != 0.0 || v == 0.0) return 0;
        const vp_init *bi = wi->sets_bias ? &var->winit : &var->binit;
        if (!vp_init_moments(bi, fo, fi, 1, &bmean, &bv) || bmean != 0.0) return 0;
        sw2[l - 1] = (double)fi * v;
        sb2[l - 1] = bv;
    }
    return 1;
}

/* Measured depth scale of the backward pass: Var[dL/dz^l] ~ exp(-(L-l)/xi), so xi =
 * 1/|slope| of the least-squares line through (l, ln Var[dL/dz^l]) over the layers
 * with a finite positive variance (mean-field: xi_grad = -1/ln chi_1, Schoenholz
 * et al. 2017). NaN with fewer than 3 such layers, +inf for a flat line. */
static double fit_xi_grad(int L, const vp_layer_stats *st)
{
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int l = 0; l < L; l++) {
        double v = st[l].grad_pre_var;
        if (!(v > 0) || !isfinite(v)) continue;
        double x = l + 1, y = log(v);
        n++; sx += x; sy += y; sxx += x * x; sxy += x * y;
    }
    if (n < 3) return NAN;
    double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    return slope == 0 ? INFINITY : 1.0 / fabs(slope);
}

static double mean_square(const double *x, size_t n)
{
    double q = 0;
    for (size_t i = 0; i < n; i++) q += x[i] * x[i];
    return q / (double)n;
}

/* The mean-field picture of this run, from sigma_w^2(l), sigma_b^2(l) and the mean
 * square q0 of its own input batch: per-layer predictions (pre, grad; NaN where the
 * theory does not apply) and chi_1, xi_c at the last layer's (sigma_w^2, sigma_b^2)
 * (NaN where the maps have no fixed point, e.g. an exploding ReLU net). */
static vp_status theory(const job *j, const vp_variant *var, const vp_mlp *m, const double *x, double *pre,
                        double *grad, run_sum *sum, vp_err *err)
{
    double q0 = mean_square(x, (size_t)var->batch * (size_t)var->widths[0]);
    double *sw2 = malloc((size_t)var->L * sizeof *sw2), *sb2 = malloc((size_t)var->L * sizeof *sb2);
    vp_status s = VP_OK;
    if (!sw2 || !sb2) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    else if (theory_inputs(var, m, sw2, sb2)) {
        s = vp_theory_layer_predictions(&j->tctx, &var->act, var->L, var->widths, sw2, sb2, q0, pre, grad, err);
        vp_theory_point pt;
        vp_err ignore;
        if (!s && vp_theory_analyze(&j->tctx, &var->act, sw2[var->L - 1], sb2[var->L - 1], q0, &pt, &ignore) == VP_OK) {
            sum->theory_chi1 = pt.chi1;
            sum->theory_xi_c = pt.xi_c;
        }
    }
    free(sw2);
    free(sb2);
    return s;
}

/* Open the `ext` fragment of run r. Fragments need not survive a machine crash
 * (a rerun with --resume redoes what is missing), so they are not fsync'ed. */
static vp_status frag_open(const job *j, int r, const char *ext, vp_afile *f, vp_err *err)
{
    char path[4200];
    part_path(j, r, ext, path, sizeof path);
    vp_status s = vp_afile_open(f, path, err);
    f->no_sync = 1;
    return s;
}

static vp_status write_fragments(const job *j, int r, const vp_variant *var, const vp_layer_stats *st,
                                 const double *tpre, const double *tgrad, const vp_histogram *hist,
                                 const double *sv, const run_sum *sum, double seconds, vp_err *err)
{
    const vp_experiment *e = j->e;
    char act[256], init[256];
    vp_csv_run cr;
    csv_run(e, r, act, init, sizeof act, &cr);
    vp_afile f;
    vp_status s;

    if ((s = frag_open(j, r, "layers", &f, err))) return s;
    vp_csv_layers_rows(f.fp, &cr, var->L, st, j->theory, tpre, tgrad);
    if ((s = vp_afile_commit(&f, err))) return s;

    if (hist) {
        if ((s = frag_open(j, r, "hist", &f, err))) return s;
        for (int l = 1; l <= var->L; l++)
            for (int q = 0; q < VP_HIST_QUANTITIES; q++) {
                const vp_histogram *h = &hist[(size_t)(l - 1) * VP_HIST_QUANTITIES + (size_t)q];
                if (h->density) vp_csv_hist_rows(f.fp, &cr, l, HIST_NAMES[q], h);
            }
        if ((s = vp_afile_commit(&f, err))) return s;
    }

    if (sv) {
        if ((s = frag_open(j, r, "jac", &f, err))) return s;
        int n = var->widths[0] < var->widths[var->L] ? var->widths[0] : var->widths[var->L];
        vp_csv_jacobian_rows(f.fp, &cr, n, sv);
        if ((s = vp_afile_commit(&f, err))) return s;
    }

    vp_csv_summary cs = { var->L, var->batch, sum->act_ratio, sum->grad_ratio,
                          verdict(sum->act_ratio, sum->nonfinite), verdict(sum->grad_ratio, sum->nonfinite),
                          sum->nonfinite, sum->subnormal, sum->xi_grad, sum->theory_chi1, sum->theory_xi_c,
                          seconds, "ok" };
    if ((s = frag_open(j, r, "runs", &f, err))) return s;
    vp_csv_runs_row(f.fp, &cr, j->theory, &cs);
    if ((s = vp_afile_commit(&f, err))) return s;

    /* The .sum marker is written last: its presence means the run is complete. */
    if ((s = frag_open(j, r, "sum", &f, err))) return s;
    fprintf(f.fp, "%.17g %.17g %lld %lld\n", sum->act_ratio, sum->grad_ratio, sum->nonfinite, sum->subnormal);
    return vp_afile_commit(&f, err);
}

/* ---- runs that share their parameters ----
 * A run's weights and biases are a pure function of its shape, precision, weight
 * and bias initializers and seed (init.h, rng.h): runs that differ only in the
 * activation or the input draw exactly the same numbers. The runner puts such
 * runs next to each other (a group) and a worker that runs several runs of a
 * group in a row draws the parameters once; the network keeps them, since the
 * passes never write W or b. Results do not depend on the grouping: a shared
 * draw is bit for bit the draw the run would have made. Data-dependent
 * initializers (LSUV rescales W with the activation's own forward pass) and
 * networks whose z width differs (GLU) never share. */
static int shares_params(const vp_variant *var)
{
    return !vp_init_get(var->winit.kind)->data_dependent;
}

static int same_params(const vp_experiment *e, int ra, int rb)
{
    const vp_variant *a = &e->variants[ra / e->nseeds], *b = &e->variants[rb / e->nseeds];
    if (e->seeds[ra % e->nseeds] != e->seeds[rb % e->nseeds] || !shares_params(a) || !shares_params(b)) return 0;
    if (a->L != b->L || a->batch != b->batch || a->prec != b->prec ||
        memcmp(a->widths, b->widths, (size_t)(a->L + 1) * sizeof *a->widths) != 0)
        return 0;
    if (vp_act_zwidth(vp_act_get(a->act.kind), 1) != vp_act_zwidth(vp_act_get(b->act.kind), 1)) return 0;
    return vp_init_same(&a->winit, &b->winit) && vp_init_same(&a->binit, &b->binit);
}

/* FNV-1a over 64-bit words: equal parameters give equal keys (the converse is
 * checked with same_params). Runs that never share get their run index mixed in. */
static uint64_t fnv(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) h = (h ^ ((v >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
    return h;
}
static uint64_t init_key(uint64_t h, const vp_init *in)
{
    h = fnv(h, (uint64_t)in->kind);
    for (int i = 0; i < vp_init_get(in->kind)->nparams; i++) {
        double p = in->p[i] == 0 ? 0.0 : in->p[i]; /* -0 == 0 */
        uint64_t bits;
        memcpy(&bits, &p, sizeof bits);
        h = fnv(h, bits);
    }
    return h;
}
static uint64_t params_key(const vp_experiment *e, int r)
{
    const vp_variant *v = &e->variants[r / e->nseeds];
    uint64_t h = fnv(0xcbf29ce484222325ULL, e->seeds[r % e->nseeds]);
    if (!shares_params(v)) return fnv(h, ~(uint64_t)r);
    h = fnv(h, (uint64_t)v->L);
    h = fnv(h, (uint64_t)v->batch);
    h = fnv(h, (uint64_t)v->prec);
    h = fnv(h, (uint64_t)vp_act_zwidth(vp_act_get(v->act.kind), 1));
    for (int l = 0; l <= v->L; l++) h = fnv(h, (uint64_t)v->widths[l]);
    return init_key(init_key(h, &v->winit), &v->binit);
}

typedef struct { uint64_t key; int r, g; } group_item;
static int cmp_item(const void *pa, const void *pb)
{
    const group_item *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->r > b->r) - (a->r < b->r);
}

/* Reorder j->todo into groups of runs with the same parameters, groups in the
 * order of their first run, runs in run order within a group; fill gbeg/gnext. */
static vp_status group_runs(job *j, vp_err *err)
{
    int n = j->ntodo;
    group_item *it = malloc((size_t)(n ? n : 1) * sizeof *it);
    int *first = malloc((size_t)(n ? n : 1) * sizeof *first);
    j->gbeg = malloc((size_t)(n + 1) * sizeof *j->gbeg);
    j->gnext = malloc((size_t)(n ? n : 1) * sizeof *j->gnext);
    if (!it || !first || !j->gbeg || !j->gnext) {
        free(it);
        free(first);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) it[i] = (group_item){ params_key(j->e, j->todo[i]), j->todo[i], -1 };
    qsort(it, (size_t)n, sizeof *it, cmp_item);
    int ng = 0;
    for (int a = 0, b; a < n; a = b) { /* [a, b): one key; usually one group */
        for (b = a; b < n && it[b].key == it[a].key; b++) {
            for (int k = a; k < b && it[b].g < 0; k++)
                if (same_params(j->e, it[k].r, it[b].r)) it[b].g = it[k].g;
            if (it[b].g < 0) { it[b].g = ng; first[ng++] = it[b].r; }
        }
    }
    for (int i = 0; i < n; i++) it[i].key = (uint64_t)first[it[i].g];
    qsort(it, (size_t)n, sizeof *it, cmp_item);
    j->ngroups = 0;
    for (int i = 0; i < n; i++) {
        if (i == 0 || it[i].g != it[i - 1].g) {
            j->gbeg[j->ngroups] = j->gnext[j->ngroups] = i;
            j->ngroups++;
        }
        j->todo[i] = it[i].r;
    }
    j->gbeg[j->ngroups] = n;
    free(it);
    free(first);
    return VP_OK;
}

/* ---- one run ---- */
/* What a worker keeps between runs: its network (with the parameters of group
 * net_group, or -1) and the input batch of its last run (x_ok), keyed by what the
 * input depends on. */
typedef struct {
    vp_mlp *net;
    int net_group;
    double *x;
    size_t xcap;
    int x_ok, x_input, x_batch, x_n0;
    uint64_t x_seed;
} worker_state;

/* The input batch of a run, made unless the worker's last run had the same one. */
static vp_status run_input(const job *j, const vp_variant *var, uint64_t seed, worker_state *w, vp_err *err)
{
    size_t n = (size_t)var->batch * (size_t)var->widths[0];
    if (w->x_ok && w->x_input == (int)var->input && w->x_batch == var->batch && w->x_n0 == var->widths[0] &&
        w->x_seed == seed)
        return VP_OK;
    w->x_ok = 0;
    if (n > w->xcap) {
        free(w->x);
        w->xcap = 0;
        if (!(w->x = malloc(n * sizeof *w->x))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        w->xcap = n;
    }
    make_input(j, var, seed, w->x);
    w->x_ok = 1;
    w->x_input = (int)var->input;
    w->x_batch = var->batch;
    w->x_n0 = var->widths[0];
    w->x_seed = seed;
    return VP_OK;
}

/* One run. w->net is the worker's network, kept between runs of the same shape so
 * a sweep does not allocate (and page in) a network per run. With params_ready
 * the network already holds this run's weights and biases (the worker's previous
 * run was of the same parameter group) and they are not drawn again;
 * *drew says whether they were. */
static vp_status run_one(job *j, int r, worker_state *w, int params_ready, int *drew, vp_err *err)
{
    const vp_experiment *e = j->e;
    int v = r / e->nseeds;
    uint64_t seed = e->seeds[r % e->nseeds];
    const vp_variant *var = &e->variants[v];
    double t0 = now();
    vp_mlp *m = NULL, **net = &w->net;
    double *x = NULL;
    vp_layer_stats *st = calloc((size_t)var->L, sizeof *st);
    vp_histogram *hist = NULL;
    double *tpre = calloc((size_t)var->L, sizeof *tpre), *tgrad = calloc((size_t)var->L, sizeof *tgrad);
    double *sv = NULL;
    vp_status s = VP_OK;
    if (!st || !tpre || !tgrad) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    for (int l = 0; l < var->L; l++) tpre[l] = tgrad[l] = NAN;
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
    if (vp_mlp_same_shape(*net, var->L, var->widths, var->batch, var->prec, var->act)) {
        vp_mlp_set_act(*net, var->act);
    } else {
        vp_mlp_free(*net);
        *net = NULL;
        params_ready = 0;
        if ((s = vp_mlp_create(net, var->L, var->widths, var->batch, var->prec, var->act, err))) goto end;
    }
    m = *net;
    *drew = !params_ready;
    if (!params_ready && (s = vp_mlp_init_params(m, &var->winit, &var->binit, seed, err))) goto end;
    if ((s = run_input(j, var, seed, w, err))) goto end;
    x = w->x;
    vp_mlp_set_input(m, x);
    if (var->winit.kind == VP_INIT_LSUV &&
        (s = vp_mlp_lsuv(m, var->winit.p[0], (int)var->winit.p[1], NULL, err)))
        goto end;
    if ((s = vp_mlp_forward(m, st, hist, err))) goto end;
    if (var->jacobian) {
        int n = var->widths[0] < var->widths[var->L] ? var->widths[0] : var->widths[var->L];
        sv = malloc((size_t)n * sizeof *sv);
        if (!sv) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
        if ((s = vp_jacobian_mlp_svals(m, 0, sv, err))) goto end;
    }
    if ((s = vp_mlp_backward(m, seed, st, hist, err))) goto end;

    run_sum sum = { 1, st[var->L - 1].pre_var / st[0].pre_var, st[0].grad_pre_var / st[var->L - 1].grad_pre_var,
                    0, 0, fit_xi_grad(var->L, st), NAN, NAN };
    for (int l = 0; l < var->L; l++) {
        sum.nonfinite += st[l].nonfinite;
        sum.subnormal += st[l].subnormal;
    }
    if (var->theory && (s = theory(j, var, m, x, tpre, tgrad, &sum, err))) goto end;
    s = write_fragments(j, r, var, st, tpre, tgrad, hist, sv, &sum, now() - t0, err);
    if (!s) j->sums[r] = sum;
end:
    if (s) vp_err_prefix(err, "run %d (variant %d, seed %llu)", r, v, (unsigned long long)seed);
    free(st);
    free(tpre);
    free(tgrad);
    free(sv);
    for (size_t i = 0; hist && i < (size_t)var->L * VP_HIST_QUANTITIES; i++) free(hist[i].density);
    free(hist);
    return s;
}

static void progress(job *j)
{
    const vp_runner_opts *o = j->o;
    if (!o->progress || !o->log) return;
    int total = j->ntodo, done = j->finished, width = 30;
    int fill = total ? done * width / total : width;
    double el = now() - j->t0, eta = done ? el * (total - done) / done : 0;
    fprintf(o->log, "\r  [%.*s%*s] %d/%d runs  %.1fs elapsed, ~%.0fs left ", fill,
            "##############################", width - fill, "", done, total, el, eta);
    if (done == total) fputc('\n', o->log);
    fflush(o->log);
}

/* The next run for a worker whose last run was of group *g (-1: none): the next
 * run of the same group while it has one, else the first run of the next group
 * nobody has started, else (the tail of the sweep) a run of the group with the
 * most runs left, so that no worker idles while another has a queue. Under lock. */
static int next_run(job *j, int *g)
{
    if (*g < 0 || j->gnext[*g] == j->gbeg[*g + 1]) {
        if (j->next_group < j->ngroups) {
            *g = j->next_group++;
        } else {
            int best = -1, left = 0;
            for (int k = 0; k < j->ngroups; k++)
                if (j->gbeg[k + 1] - j->gnext[k] > left) { left = j->gbeg[k + 1] - j->gnext[k]; best = k; }
            if (best < 0) return -1;
            *g = best;
        }
    }
    return j->todo[j->gnext[*g]++];
}

static void *worker(void *arg)
{
    job *j = arg;
    worker_state w = { NULL, -1, NULL, 0, 0, 0, 0, 0, 0 };
    int g = -1; /* group of the run in progress */
    for (;;) {
        pthread_mutex_lock(&j->lock);
        int stop = j->status != VP_OK || (j->o->stop && *j->o->stop);
        int r = stop ? -1 : next_run(j, &g);
        pthread_mutex_unlock(&j->lock);
        if (r < 0) break;
        vp_err e;
        int drew = 0;
        vp_status s = run_one(j, r, &w, !j->o->no_share && w.net_group == g, &drew, &e);
        w.net_group = !s && shares_params(&j->e->variants[r / j->e->nseeds]) ? g : -1;
        if (s) w.x_ok = 0;
        pthread_mutex_lock(&j->lock);
        j->draws += drew;
        if (s && j->status == VP_OK) { j->status = s; j->err = e; }
        if (!s) { j->finished++; progress(j); }
        pthread_mutex_unlock(&j->lock);
    }
    vp_mlp_free(w.net);
    free(w.x);
    return NULL;
}

/* ---- assembly ---- */
static vp_status append_file(FILE *out, const char *path, vp_err *err)
{
    FILE *in = fopen(path, "rb");
    if (!in) return vp_fail(err, VP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    int bad = ferror(in);
    fclose(in);
    return bad ? vp_fail(err, VP_ERR_IO, "cannot read %s", path) : VP_OK;
}

typedef void (*header_fn)(FILE *f, const job *j);
static void h_layers(FILE *f, const job *j) { vp_csv_layers_header(f, j->theory, j->e->nsweep, j->e->sweep_keys); }
static void h_runs(FILE *f, const job *j) { vp_csv_runs_header(f, j->theory, j->e->nsweep, j->e->sweep_keys); }
static void h_hist(FILE *f, const job *j) { (void)j; vp_csv_hist_header(f); }
static void h_jac(FILE *f, const job *j) { (void)j; vp_csv_jacobian_header(f); }

/* out/<name> = header + the `ext` fragment of every complete run, in run order. */
static vp_status assemble(const job *j, const char *name, const char *ext, header_fn header, vp_err *err)
{
    char path[4200], frag[4200];
    vp_status s = vp_path_join(path, sizeof path, j->o->out_dir, name, err);
    if (s) return s;
    vp_afile f;
    if ((s = vp_afile_open(&f, path, err))) return s;
    header(f.fp, j);
    for (int r = 0; r < vp_experiment_runs(j->e) && !s; r++) {
        if (!j->sums[r].done) continue;
        part_path(j, r, ext, frag, sizeof frag);
        s = append_file(f.fp, frag, err);
    }
    if (s) { vp_afile_abort(&f); return s; }
    return vp_afile_commit(&f, err);
}

static int any_hist(const vp_experiment *e)
{
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].hist_bins) return 1;
    return 0;
}

static int any_jacobian(const vp_experiment *e)
{
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].jacobian) return 1;
    return 0;
}

static int any_theory(const vp_experiment *e)
{
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].theory) return 1;
    return 0;
}

/* Phase diagram (Poole et al. 2016, Schoenholz et al. 2017): when the sweep is over
 * network.init.sigma_w x network.init.sigma_b of mean_field, the order-to-chaos line
 * chi_1 = 1 as "sigma_w sigma_b" points (critical_line.dat, read by the heatmap) over
 * the swept sigma_b range; points where chi_1 = 1 is unreachable are left out.
 * Computed (critical_line_points) by the main thread while the other workers start
 * on the runs, so its ~0.1 s of quadrature is not a serial tail; written at the end. */
#define CRIT_STEPS 100
typedef struct {
    int wanted, n;
    double sw[CRIT_STEPS + 1], sb[CRIT_STEPS + 1];
    vp_status s;
    vp_err err;
} crit_line;

static void critical_line_points(const job *j, crit_line *cl)
{
    const vp_experiment *e = j->e;
    cl->n = 0;
    cl->s = VP_OK;
    cl->wanted = e->nsweep == 2 && strcmp(e->sweep_keys[0], "network.init.sigma_w") == 0 &&
                 strcmp(e->sweep_keys[1], "network.init.sigma_b") == 0 &&
                 e->variants[0].winit.kind == VP_INIT_MEAN_FIELD;
    if (!cl->wanted) return;
    double bmin = INFINITY, bmax = -INFINITY;
    for (int v = 0; v < e->nvariants; v++) {
        double b = e->variants[v].winit.p[1];
        bmin = b < bmin ? b : bmin;
        bmax = b > bmax ? b : bmax;
    }
    vp_theory_ctx ctx;
    if ((cl->s = vp_theory_ctx_init(&ctx, &cl->err))) return;
    for (int k = 0; k <= CRIT_STEPS; k++) {
        double sb = bmin + (bmax - bmin) * k / CRIT_STEPS, sw2, qs;
        vp_err ignore;
        if (vp_theory_critical(&ctx, &e->variants[0].act, sb * sb, &sw2, &qs, &ignore) == VP_OK && isfinite(sw2)) {
            cl->sw[cl->n] = sqrt(sw2);
            cl->sb[cl->n++] = sb;
        }
    }
}

static vp_status critical_line_write(const job *j, const crit_line *cl, vp_err *err)
{
    if (!cl->wanted) return VP_OK;
    if (cl->s) {
        *err = cl->err;
        return cl->s;
    }
    char path[4200];
    vp_status s = vp_path_join(path, sizeof path, j->o->out_dir, "critical_line.dat", err);
    if (s) return s;
    vp_afile f;
    if ((s = vp_afile_open(&f, path, err))) return s;
    fprintf(f.fp, "# chi_1 = 1 (order/chaos boundary) for %s: sigma_w sigma_b\n",
            vp_act_get(j->e->variants[0].act.kind)->name);
    for (int k = 0; k < cl->n; k++) fprintf(f.fp, "%.9g %.9g\n", cl->sw[k], cl->sb[k]);
    return vp_afile_commit(&f, err);
}

/* Remove every file in the parts folder (and the folder when `rmdir_too`). */
static void clear_parts(const char *dir, int rmdir_too)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[4400];
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    if (rmdir_too) rmdir(dir);
}

/* Load the .sum markers of runs already complete (resume). */
static int load_done(job *j, int r)
{
    char path[4200];
    part_path(j, r, "sum", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    run_sum s = { 1, 0, 0, 0, 0, NAN, NAN, NAN };
    int ok = fscanf(f, "%lf %lf %lld %lld", &s.act_ratio, &s.grad_ratio, &s.nonfinite, &s.subnormal) == 4;
    fclose(f);
    if (ok) j->sums[r] = s;
    return ok;
}

static vp_status check_resume_config(const job *j, vp_err *err)
{
    char path[4200];
    vp_status s = vp_path_join(path, sizeof path, j->o->out_dir, "config.json", err);
    if (s) return s;
    FILE *f = fopen(path, "rb");
    if (!f) return vp_fail(err, VP_ERR_CONFIG, "--resume: %s has no config.json; nothing to resume", j->o->out_dir);
    /* config.json holds the resolved config and a final newline */
    size_t want = strlen(j->e->resolved_json) + 1;
    char *buf = malloc(want + 1);
    size_t n = buf ? fread(buf, 1, want + 1, f) : 0;
    fclose(f);
    int same = buf && n == want && memcmp(buf, j->e->resolved_json, want - 1) == 0 && buf[want - 1] == '\n';
    free(buf);
    if (!same)
        return vp_fail(err, VP_ERR_CONFIG, "--resume: the results in %s were made by a different config "
                       "(config.json differs); run without --resume to start over, or choose another -o",
                       j->o->out_dir);
    return VP_OK;
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

static void print_summary(const job *j)
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
            const run_sum *rs = &j->sums[v * e->nseeds + s];
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
                     "with non-finite values (column nonfinite in layers.csv and runs.csv)\n",
                nf_runs, nf_runs == 1 ? "" : "s");
    if (sub_runs)
        fprintf(out, "%d run%s produced subnormal values (a vanishing signal losing precision; column subnormal)\n",
                sub_runs, sub_runs == 1 ? "" : "s");
}

/* ---- driver ---- */
vp_status vp_runner_run(const vp_experiment *e, const vp_runner_opts *o, vp_runner_result *res, vp_err *err)
{
    int total = (int)vp_experiment_runs(e);
    memset(res, 0, sizeof *res);
    res->total = total;

    /* Memory, before anything is allocated or written. */
    double per_run = 0;
    for (int v = 0; v < e->nvariants; v++) {
        double b = vp_runner_run_bytes(e, v);
        per_run = b > per_run ? b : per_run;
    }
    double avail = available_bytes();
    if (per_run > avail)
        return vp_fail(err, VP_ERR_CONFIG, "one run needs about %.0f MiB but only %.0f MiB of memory is available; "
                       "reduce depth, width or batch", per_run / 1048576.0, avail / 1048576.0);
    int workers = o->threads < total ? o->threads : total;
    if (workers < 1) workers = 1;
    while (workers > 1 && per_run * workers > avail) workers--;
    openblas_set_num_threads(workers > 1 ? 1 : o->threads);
    /* With one BLAS thread per worker, OpenBLAS's own pool (started when the library
     * loads) has nothing to do, but each pool thread spins on sched_yield for ~2^28
     * cycles (~0.1 s) before sleeping -- a whole core at the start of every run of
     * varprop. Stop the pool; OpenBLAS restarts it by itself before a multi-threaded
     * call (exec_blas_async re-initializes a stopped pool, as after fork()). */
    if (workers > 1 || o->threads == 1) blas_thread_shutdown_();

    job j;
    memset(&j, 0, sizeof j);
    j.e = e;
    j.o = o;
    j.theory = any_theory(e);
    vp_status s = vp_path_join(j.parts, sizeof j.parts, o->out_dir, ".parts", err);
    if (!s && j.theory) s = vp_theory_ctx_init(&j.tctx, err);
    if (s) return s;
    j.sums = calloc((size_t)total, sizeof *j.sums);
    j.todo = malloc((size_t)total * sizeof *j.todo);
    double *data = NULL;
    crit_line *cl = NULL;
    if (!j.sums || !j.todo) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    /* Real data, loaded once and shared read-only -- before anything is written,
     * so a broken data file leaves no output behind. */
    int need = 0;
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].input == VP_INPUT_FASHION_MNIST && e->variants[v].batch > need) need = e->variants[v].batch;
    if (need) {
        char path[4200];
        int dim;
        if ((s = vp_path_join(path, sizeof path, e->data_dir, FASHION_FILE, err))) goto end;
        if ((s = vp_idx_load(path, need, &data, &dim, err))) goto end;
        if (dim != VP_FASHION_DIM) { /* the config fixed the input width for fashion-mnist */
            s = vp_fail(err, VP_ERR_DATA, "%s: images have %d pixels, fashion-mnist has %d (28 x 28)", path, dim,
                        VP_FASHION_DIM);
            goto end;
        }
        j.data = data;
    }
    if ((s = vp_mkdir_p(o->out_dir, err))) goto end;
    if (o->resume && (s = check_resume_config(&j, err))) goto end;
    if ((s = vp_mkdir_p(j.parts, err))) goto end;
    if (!o->resume) clear_parts(j.parts, 0);
    {
        char path[4200];
        vp_afile f;
        if ((s = vp_path_join(path, sizeof path, o->out_dir, "config.json", err))) goto end;
        if ((s = vp_afile_open(&f, path, err))) goto end;
        fputs(e->resolved_json, f.fp);
        fputc('\n', f.fp);
        if ((s = vp_afile_commit(&f, err))) goto end;
    }
    for (int r = 0; r < total; r++) {
        if (o->resume && load_done(&j, r)) { res->skipped++; continue; }
        j.todo[j.ntodo++] = r;
    }
    if (o->log && res->skipped)
        fprintf(o->log, "varprop: resuming: %d of %d runs already complete\n", res->skipped, total);
    if ((s = group_runs(&j, err))) goto end;

    pthread_mutex_init(&j.lock, NULL);
    j.t0 = now();
    pthread_t tid[256];
    int started = 0;
    if (workers > 256) workers = 256;
    for (int t = 1; t < workers; t++)
        if (pthread_create(&tid[started], NULL, worker, &j) == 0) started++;
    cl = malloc(sizeof *cl); /* while the other workers run */
    if (cl) critical_line_points(&j, cl);
    worker(&j);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j.lock);
    res->done = j.finished;
    res->draws = j.draws;
    if (j.status) {
        s = j.status;
        *err = j.err;
    }

    /* Consistent CSVs of every complete run -- unless a run failed: then the
     * finished runs stay in .parts/ for --resume, and results already in the
     * folder are not replaced by tables of fewer runs. */
    if (!s) {
        vp_status as = assemble(&j, "layers.csv", "layers", h_layers, err);
        if (!as) as = assemble(&j, "runs.csv", "runs", h_runs, err);
        if (!as && any_hist(e)) as = assemble(&j, "histograms.csv", "hist", h_hist, err);
        if (!as && any_jacobian(e)) as = assemble(&j, "jacobian.csv", "jac", h_jac, err);
        if (!as && !cl) as = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        if (!as) as = critical_line_write(&j, cl, err);
        s = as;
    }
    int complete = res->done + res->skipped == total;
    if (!s && complete) clear_parts(j.parts, 1);
    if (!s && !complete) {
        res->interrupted = 1;
        s = vp_fail(err, VP_ERR_INTERRUPTED, "interrupted after %d of %d runs", res->done + res->skipped, total);
    }
    if (!s || s == VP_ERR_INTERRUPTED) print_summary(&j);
end:
    free(cl);
    free(data);
    free(j.sums);
    free(j.todo);
    free(j.gbeg);
    free(j.gnext);
    return s;
}
