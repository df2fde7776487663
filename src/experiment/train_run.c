/* train_run: see train_run.h. */
#include "experiment/train_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net_train.h"
#include "core/train.h"
#include "experiment/net_config.h"
#include "experiment/fragments.h"
#include "results/csv.h"

/* Seconds between two progress lines of a training run. */
#define PROGRESS_EVERY 0.25

void vp_train_out_free(vp_train_out *o)
{
    if (!o) return;
    for (int k = 0; k < VP_TRAIN_FILES; k++) free(o->rows[k]);
    memset(o, 0, sizeof *o);
}

/* ---- data sets ---- */

/* Index of the first variant before v with v's data set and precision, or v. */
static int first_alike(const vp_experiment *e, int v)
{
    for (int u = 0; u < v; u++)
        if (e->variants[u].prec == e->variants[v].prec && vp_train_same_data(&e->variants[u].train, &e->variants[v].train))
            return u;
    return v;
}

/* A data set's failure as the config error it is for variant v (exit 2), under
 * train.dataset (a subset larger than the files, a damaged file): the file is named in
 * the message, and a missing fashion-mnist folder names the setting that gives it -- as
 * the sweep's value where a train.dataset key is swept; out of memory stays what it is. */
/* 1 when key starts with one of the space-separated prefixes. */
static int swept_under(const char *key, const char *prefixes)
{
    for (const char *p = prefixes; *p;) {
        size_t n = strcspn(p, " ");
        if (strncmp(key, p, n) == 0) return 1;
        p += n;
        while (*p == ' ') p++;
    }
    return 0;
}

/* " (variant v: sweep["k"] = value, ...)" for the swept keys starting with one of the
 * space-separated `prefixes`, or "" when none is: what made variant v, capped
 * (vp_err_prefix keeps ~500 characters). */
static void variant_sweep(const vp_experiment *e, int v, const char *prefixes, char *at, size_t len)
{
    char where[400] = "";
    size_t n = 0;
    for (int k = 0; k < e->nsweep && n < sizeof where; k++)
        if (swept_under(e->sweep_keys[k], prefixes))
            n += (size_t)snprintf(where + n, sizeof where - n, "%s sweep[\"%.60s\"] = %.80s", n ? "," : "",
                                  e->sweep_keys[k], e->sweep_values[(size_t)v * (size_t)e->nsweep + (size_t)k]);
    at[0] = '\0';
    if (where[0]) snprintf(at, len, " (variant %d:%s)", v, where);
}

static vp_status data_error(const vp_experiment *e, int v, vp_status s, vp_err *err)
{
    if (s == VP_ERR_NOMEM) return s;
    /* every swept train.dataset key with variant v's value: the error after the prefix
     * names the file again */
    char at[500];
    variant_sweep(e, v, "train.dataset", at, sizeof at);
    if (e->variants[v].train.data.source == VP_DATA_FASHION_MNIST && s == VP_ERR_IO)
        vp_err_prefix(err, "train.dataset.path%s: the fashion-mnist files cannot be read (give train.dataset.path, or "
                      "install the Debian package dataset-fashion-mnist)", at);
    else
        vp_err_prefix(err, "train.dataset%s", at);
    return VP_ERR_CONFIG;
}

static int classes_hint(const vp_train_cfg *tc);

/* A block network's training setup error (core/net_train.h: "<row path>: ...") as a config
 * error: the layer's config path, and the sweep values that made variant v. */
static vp_status setup_error(const vp_experiment *e, int v, vp_status s, vp_err *err)
{
    if (s == VP_ERR_NOMEM) return s;
    const vp_net_spec *ns = e->variants[v].net;
    char jp[600] = "", at[500], rest[sizeof err->msg];
    for (int i = 0; i < ns->n && !jp[0]; i++) {
        size_t pl = strlen(ns->ls[i].path);
        if (strncmp(err->msg, ns->ls[i].path, pl) == 0 && strncmp(err->msg + pl, ": ", 2) == 0) {
            vp_net_json_path(ns->ls[i].path, jp, sizeof jp);
            snprintf(rest, sizeof rest, "%s", err->msg + pl + 2);
        }
    }
    variant_sweep(e, v, "network.layers network.input train.dataset", at, sizeof at); /* what shapes the net, the classes */
    if (jp[0]) vp_fail(err, VP_ERR_CONFIG, "%s%s: %s", jp, at, rest);
    else if (at[0]) vp_err_prefix(err, "%s", at + 1);
    return VP_ERR_CONFIG;
}

/* The classes of variant v's data known without loading it (fashion-mnist, synthetic, an
 * idx set that gives them), else 0: its labels say. */
static int classes_known(const vp_variant *var)
{
    return var->train.data.source == VP_DATA_IDX ? var->train.data.classes : classes_hint(&var->train);
}

/* A block network's training setup for `classes` (its readout, its residual scales) as a
 * config error of variant v. */
static vp_status setup_check(const vp_experiment *e, int v, int classes, vp_err *err)
{
    const vp_net_spec *ns = e->variants[v].net;
    vp_status s = vp_net_trainer_check(ns->ls, ns->n, ns->in, classes, err);
    return s ? setup_error(e, v, s, err) : VP_OK;
}

vp_status vp_train_data_check(const vp_experiment *e, double *bytes, vp_err *err)
{
    double total = 0;
    for (int v = 0; e->train && v < e->nvariants; v++) {
        if (first_alike(e, v) != v) continue;
        double b = 0;
        vp_status s = vp_dataset_check(&e->variants[v].train.data, e->variants[v].prec, &b, err);
        if (s) return data_error(e, v, s, err);
        total += b;
    }
    /* A block network's readout (its last layer gives one value per class) and its residual
     * scales, before the banner where the classes are known without the data: an idx set with
     * classes 0 has them in its labels (checked at the load, still before anything is written). */
    for (int v = 0; e->train && v < e->nvariants; v++) {
        vp_status s = e->variants[v].net && classes_known(&e->variants[v]) > 0
                          ? setup_check(e, v, classes_known(&e->variants[v]), err)
                          : VP_OK;
        if (s) return s;
    }
    if (bytes) *bytes = total;
    return VP_OK;
}

void vp_train_data_free(vp_train_data *td)
{
    for (int k = 0; k < td->n && td->sets; k++) vp_dataset_free(&td->sets[k]);
    free(td->sets);
    free(td->of_variant);
    memset(td, 0, sizeof *td);
}

vp_status vp_train_data_load(const vp_experiment *e, vp_train_data *td, vp_err *err)
{
    memset(td, 0, sizeof *td);
    td->sets = calloc((size_t)e->nvariants, sizeof *td->sets);
    td->of_variant = malloc((size_t)e->nvariants * sizeof *td->of_variant);
    if (!td->sets || !td->of_variant) {
        vp_train_data_free(td);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    for (int v = 0; v < e->nvariants; v++) {
        const vp_variant *var = &e->variants[v];
        int u = first_alike(e, v);
        if (u != v) {
            td->of_variant[v] = td->of_variant[u];
            continue;
        }
        vp_dataset *d = &td->sets[td->n];
        vp_status s = vp_dataset_load(d, &var->train.data, var->prec, err);
        if (s) {
            vp_train_data_free(td);
            return data_error(e, v, s, err);
        }
        td->of_variant[v] = td->n++;
        /* An IDX set's width is known from its files only. */
        if (d->dim != var->widths[0]) {
            vp_fail(err, VP_ERR_CONFIG, "train.dataset: %s holds examples of %d values, but the network's input "
                    "width (network.input_dim) is %d", vp_train_data_label(&var->train), d->dim, var->widths[0]);
            vp_train_data_free(td);
            return VP_ERR_CONFIG;
        }
    }
    /* A block network's readout is its last layer: it must give one value per class --
       checked before the banner where the classes were known (vp_train_data_check), here
       where the labels said them */
    for (int v = 0; v < e->nvariants; v++) {
        const vp_variant *var = &e->variants[v];
        if (!var->net || classes_known(var) > 0) continue;
        vp_status s = setup_check(e, v, td->sets[td->of_variant[v]].classes, err);
        if (s) {
            vp_train_data_free(td);
            return s;
        }
    }
    return VP_OK;
}

/* ---- memory ---- */

static long long steps_per_epoch(size_t n, int batch) { return (long long)((n + (size_t)batch - 1) / (size_t)batch); }

static int classes_hint(const vp_train_cfg *tc)
{
    switch (tc->data.source) {
    case VP_DATA_FASHION_MNIST: return VP_FASHION_MNIST_CLASSES;
    case VP_DATA_IDX: return tc->data.classes ? tc->data.classes : 256; /* at most: the estimate is an upper bound */
    case VP_DATA_SYNTHETIC: return tc->data.synth.classes;
    }
    return 2;
}

double vp_train_run_bytes(const vp_variant *var)
{
    const vp_train_cfg *tc = &var->train;
    if (!tc->on) return 0;
    vp_train_opts o = { classes_hint(tc), tc->loss, tc->optim, tc->sched, 1 };
    double rs = var->prec == VP_F64 ? 8.0 : 4.0, B = tc->batch, n0 = var->widths[0];
    double b = var->net ? vp_net_trainer_bytes(var->net->ls, var->net->n, var->net->in, tc->batch, var->prec, &o) +
                              (double)sizeof(vp_block_stats) * var->L
                        : vp_trainer_bytes(var->L, var->widths, tc->batch, var->prec, var->act, &o);
    b += 2.0 * B * (n0 * rs + 4.0 + 4.0);                              /* a batch and the probe, indices */
    b += (double)sizeof(vp_layer_stats) * (var->L + 1);
    b += 8.0 * tc->hist_bins * var->L;                                  /* the probe's histograms */
    return b;
}

/* ---- LSUV (Mishkin & Matas 2016) ---- */

vp_status vp_train_take_hidden(vp_trainer *t, const vp_mlp *m, vp_err *err)
{
    int L = vp_mlp_depth(m);
    if (vp_trainer_depth(t) != L)
        return vp_fail(err, VP_ERR_CONFIG, "the LSUV network has %d layers, the trainer %d hidden ones", L,
                       vp_trainer_depth(t));
    size_t most = 0;
    for (int l = 1; l <= L; l++) {
        size_t n = (size_t)vp_mlp_width(m, l) * (size_t)vp_mlp_width(m, l - 1);
        most = n > most ? n : most;
    }
    double *W = malloc(most * sizeof *W);
    if (!W) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (int l = 1; l <= L; l++) {
        vp_mlp_export_layer(m, l, 0, W, NULL);
        vp_trainer_set_layer(t, l, W, NULL); /* the biases stay the trainer's (the same draw) */
    }
    free(W);
    return VP_OK;
}

/* ---- one run ---- */

/* What one training run holds while it runs. */
typedef struct {
    vp_job *j;
    int r, v;
    const vp_variant *var;
    const vp_train_cfg *tc;
    const vp_dataset *d;
    vp_trainer *t;                     /* a plain stack (depth/width) */
    vp_net_trainer *nt;                /* or a block network (network.layers): its last layer is the readout */
    vp_block_stats *bst;               /* nt's probe: L */
    vp_csv_run cr;
    char act[256], init[256];
    FILE *mem[VP_TRAIN_FILES];         /* the four files' rows (open_memstream) */
    void *px;                          /* probe batch: the first P training examples */
    int32_t *py;
    size_t P;
    vp_layer_stats *st;                /* L + 1 */
    vp_histogram *hist;                /* L * VP_HIST_QUANTITIES, post only */
    double last_print, t0;
    long long done;                    /* examples trained on */
    double test_acc;                   /* test accuracy of the last evaluation (NaN: none) */
} trun;

static FILE *file_of(trun *tr, vp_csv_file f) { return tr->mem[f - VP_CSV_FIRST_TRAIN]; }

static const void *split_x(const vp_dataset *d, const vp_split *s)
{
    return d->prec == VP_F64 ? (const void *)s->x64 : (const void *)s->x32;
}

/* The trainer's eval, whichever kind of network. */
static vp_status eval_split(trun *tr, const void *x, const int32_t *y, size_t n, double *loss, long long *correct,
                            vp_err *err)
{
    if (tr->nt) return vp_net_trainer_eval(tr->nt, x, y, n, loss, correct, err);
    return vp_trainer_eval(tr->t, x, y, n, loss, correct, err);
}

/* eval.csv row after `epoch` epochs (the last one partial when max_steps ends training
 * mid-epoch), `step` updates. */
static vp_status evaluate(trun *tr, long epoch, long step, vp_err *err)
{
    const vp_dataset *d = tr->d;
    double test_loss = NAN, test_acc = NAN, train_acc = NAN, loss;
    long long correct;
    vp_status s;
    if (d->test.n > 0) {
        if ((s = eval_split(tr, split_x(d, &d->test), d->test.y, d->test.n, &test_loss, &correct, err))) return s;
        test_acc = (double)correct / (double)d->test.n;
    }
    size_t ne = (size_t)tr->tc->eval_examples < d->train.n ? (size_t)tr->tc->eval_examples : d->train.n;
    if (ne > 0) {
        if ((s = eval_split(tr, split_x(d, &d->train), d->train.y, ne, &loss, &correct, err))) return s;
        train_acc = (double)correct / (double)ne;
    }
    vp_csv_eval_row(file_of(tr, VP_CSV_EVAL), &tr->cr, epoch, step, test_loss, test_acc, train_acc);
    tr->test_acc = test_acc;
    return VP_OK;
}

/* layers_train.csv and hist_train.csv rows of the probe after `step` updates. */
static vp_status probe(trun *tr, long step, vp_err *err)
{
    int L = tr->var->L;
    if (tr->nt) { /* one row per layer (the last is the readout); no histograms */
        vp_status s = vp_net_trainer_probe(tr->nt, tr->px, tr->py, tr->P, tr->bst, err);
        if (s) return s;
        vp_csv_layers_train_block_rows(file_of(tr, VP_CSV_LAYERS_TRAIN), &tr->cr, step, L, tr->bst, tr->var->net->ls);
        return VP_OK;
    }
    vp_status s = vp_trainer_probe(tr->t, tr->px, tr->py, tr->P, tr->st, tr->hist, err);
    if (s) return s;
    vp_csv_layers_train_rows(file_of(tr, VP_CSV_LAYERS_TRAIN), &tr->cr, step, L + 1, tr->st);
    for (int l = 1; tr->hist && l <= L; l++) {
        const vp_histogram *h = &tr->hist[(size_t)(l - 1) * VP_HIST_QUANTITIES + VP_HIST_POST];
        vp_csv_hist_train_rows(file_of(tr, VP_CSV_HIST_TRAIN), &tr->cr, step, l, vp_hist_quantity_word(VP_HIST_POST), h);
    }
    return VP_OK;
}

/* One progress line (a terminal's: rewritten in place), at most every PROGRESS_EVERY s. */
static void progress(trun *tr, long epoch, long step, long steps, double loss)
{
    const vp_runner_opts *o = tr->j->o;
    double now = vp_job_now();
    if (!o->progress || !o->log || now - tr->last_print < PROGRESS_EVERY) return;
    tr->last_print = now;
    double rate = now > tr->t0 ? (double)tr->done / (now - tr->t0) : 0;
    pthread_mutex_lock(&tr->j->lock);
    fprintf(o->log, "\r  training variant %d seed %llu  epoch %ld/%d  step %ld/%ld  loss %.4g  %.0f samples/s   ", tr->v,
            (unsigned long long)tr->cr.seed, epoch, tr->tc->epochs, step, steps, loss, rate);
    fflush(o->log);
    pthread_mutex_unlock(&tr->j->lock);
}

/* Updates the run makes: every batch of every epoch, or train.max_steps when fewer. */
static long total_steps(const trun *tr)
{
    long long all = steps_per_epoch(tr->d->train.n, tr->tc->batch) * tr->tc->epochs;
    return (long)(tr->tc->max_steps > 0 && tr->tc->max_steps < all ? tr->tc->max_steps : all);
}

static vp_status setup(trun *tr, const vp_mlp *lsuv_net, vp_err *err)
{
    const vp_variant *var = tr->var;
    const vp_train_cfg *tc = tr->tc;
    const vp_dataset *d = tr->d;
    vp_train_opts o = { d->classes, tc->loss, tc->optim, tc->sched, total_steps(tr) };
    vp_status s;
    if (var->net) {
        s = vp_net_trainer_create(&tr->nt, var->net->ls, var->net->n, var->net->in, tc->batch, var->prec, &o, err);
        if (s) return s;
        vp_net_trainer_set_pool(tr->nt, tr->j->pool);
        if ((s = vp_net_trainer_init_params(tr->nt, tr->cr.seed, err))) return s;
        if (!(tr->bst = calloc((size_t)var->L, sizeof *tr->bst))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    } else {
        s = vp_trainer_create(&tr->t, var->L, var->widths, tc->batch, var->prec, var->act, &o, err);
        if (s) return s;
        vp_trainer_set_pool(tr->t, tr->j->pool);
        const vp_init *rinit = tc->has_readout_init ? &tc->readout_init : &var->winit;
        if ((s = vp_trainer_init_params(tr->t, &var->winit, &var->binit, rinit, &var->binit, tr->cr.seed, err)))
            return s;
        /* lsuv: the orthonormal pre-init just drawn is replaced by the weights LSUV
         * rescaled on the measurement batch */
        if (lsuv_net && (s = vp_train_take_hidden(tr->t, lsuv_net, err))) return s;
    }
    size_t rs = var->prec == VP_F64 ? sizeof(double) : sizeof(float);
    tr->P = (size_t)tc->batch < d->train.n ? (size_t)tc->batch : d->train.n;
    tr->px = malloc(tr->P * (size_t)d->dim * rs);
    tr->py = malloc(tr->P * sizeof *tr->py);
    uint32_t *idx = malloc(tr->P * sizeof *idx);
    tr->st = calloc((size_t)var->L + 1, sizeof *tr->st);
    if (!tr->px || !tr->py || !idx || !tr->st) {
        free(idx);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < tr->P; i++) idx[i] = (uint32_t)i;
    vp_dataset_gather(d, &d->train, idx, tr->P, tr->px, tr->py);
    free(idx);
    if (tc->hist_bins && !var->net) {
        tr->hist = calloc((size_t)var->L * VP_HIST_QUANTITIES, sizeof *tr->hist);
        if (!tr->hist) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        for (int l = 0; l < var->L; l++) {
            vp_histogram *h = &tr->hist[(size_t)l * VP_HIST_QUANTITIES + VP_HIST_POST];
            h->bins = tc->hist_bins;
            if (!(h->density = malloc((size_t)tc->hist_bins * sizeof *h->density)))
                return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        }
    }
    return VP_OK;
}

/* The epochs: shuffled batches, a train.csv row per step, the probe every track_every
 * steps and at the last, an eval.csv row per epoch (and one after the last step when max_steps ends
 * training mid-epoch); stops at a non-finite loss or a stop request. */
static vp_status train_loop(trun *tr, vp_train_out *out, vp_err *err)
{
    const vp_train_cfg *tc = tr->tc;
    const vp_dataset *d = tr->d;
    size_t rs = tr->var->prec == VP_F64 ? sizeof(double) : sizeof(float);
    vp_batches b;
    vp_status s = vp_batches_init(&b, d->train.n, (size_t)tc->batch, err);
    if (s) return s;
    void *xb = malloc((size_t)tc->batch * (size_t)d->dim * rs);
    int32_t *yb = malloc((size_t)tc->batch * sizeof *yb);
    long steps = total_steps(tr), step = 0;
    if (!xb || !yb) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    volatile sig_atomic_t *stop = tr->j->o->stop;
    for (int ep = 0; !s && ep < tc->epochs && !out->diverged_step && step < steps; ep++) {
        if ((s = vp_batches_epoch(&b, tr->cr.seed, (uint32_t)ep, err))) break;
        const uint32_t *idx;
        size_t n;
        while (!s && step < steps && (n = vp_batches_next(&b, &idx)) > 0) {
            if (stop && *stop) {
                s = vp_fail(err, VP_ERR_INTERRUPTED, "interrupted while training");
                break;
            }
            vp_train_step_info info;
            vp_dataset_gather(d, &d->train, idx, n, xb, yb);
            s = tr->nt ? vp_net_trainer_step(tr->nt, xb, yb, n, &info, err) : vp_trainer_step(tr->t, xb, yb, n, &info, err);
            if (s) break;
            step = info.step;
            tr->done += (long long)n;
            vp_csv_train_row(file_of(tr, VP_CSV_TRAIN), &tr->cr, ep + 1, info.step, info.loss, info.lr, info.grad_norm);
            if (!isfinite(info.loss)) {
                out->diverged_step = info.step;
                break;
            }
            /* and at the last step: a training shorter than track_every (or not a multiple of it)
               showed step 0 only, or stopped short of its end state */
            if ((info.step % tc->track_every == 0 || info.step == steps) && (s = probe(tr, info.step, err))) break;
            progress(tr, ep + 1, info.step, steps, info.loss);
        }
        if (!s && !out->diverged_step) s = evaluate(tr, ep + 1, step, err);
    }
    free(xb);
    free(yb);
    vp_batches_free(&b);
    return s;
}

vp_status vp_train_one(vp_job *j, int r, const vp_mlp *lsuv_net, vp_train_out *out, vp_err *err)
{
    memset(out, 0, sizeof *out);
    out->test_acc = NAN;
    trun tr;
    memset(&tr, 0, sizeof tr);
    tr.test_acc = NAN;
    tr.j = j;
    tr.r = r;
    tr.v = r / j->e->nseeds;
    tr.var = &j->e->variants[tr.v];
    tr.tc = &tr.var->train;
    tr.d = &j->tdata->sets[j->tdata->of_variant[tr.v]];
    tr.t0 = vp_job_now();
    vp_frag_csv_run(j->e, r, tr.act, tr.init, sizeof tr.act, &tr.cr);
    vp_status s = VP_OK;
    for (int k = 0; k < VP_TRAIN_FILES && !s; k++)
        if (!(tr.mem[k] = open_memstream(&out->rows[k], &out->len[k]))) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    if (!s) s = setup(&tr, lsuv_net, err);
    if (!s) s = evaluate(&tr, 0, 0, err);
    if (!s) s = probe(&tr, 0, err);
    if (!s) s = train_loop(&tr, out, err);
    out->test_acc = out->diverged_step ? NAN : tr.test_acc; /* a diverged training has no final accuracy */
    for (int k = 0; k < VP_TRAIN_FILES; k++)
        if (tr.mem[k] && fclose(tr.mem[k]) != 0 && !s) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    vp_trainer_free(tr.t);
    vp_net_trainer_free(tr.nt);
    free(tr.bst);
    free(tr.px);
    free(tr.py);
    free(tr.st);
    for (size_t i = 0; tr.hist && i < (size_t)tr.var->L * VP_HIST_QUANTITIES; i++) free(tr.hist[i].density);
    free(tr.hist);
    if (s) vp_train_out_free(out);
    return s;
}
