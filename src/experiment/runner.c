/* runner: see runner.h. This file is the driver -- memory check, input data,
 * the results folder, the worker threads and their scheduling, assembly and the
 * summary at the end. Its parts: run.c (one run), share.c (runs that share their
 * parameters), fragments.c (the .parts/ files, assembly, --resume), predict.c
 * (theory beside a run, the critical line) and summary_print.c (verdicts, the
 * terminal table); job.h is the state they share. */
#include "experiment/runner.h"

#include <cblas.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/sysmem.h"
#include "core/data.h"
#include "experiment/fragments.h"
#include "experiment/mpi_run.h"
#include "experiment/job.h"
#include "experiment/net_config.h"
#include "experiment/predict.h"
#include "experiment/run.h"
#include "experiment/share.h"
#include "experiment/shard.h"
#include "experiment/summary_print.h"
#include "experiment/train_run.h"
#include "results/results.h"

/* OpenBLAS: stops its thread pool (exported, used by its fork handler; not in cblas.h). */
extern int blas_thread_shutdown_(void);

#define FASHION_FILE "train-images-idx3-ubyte.gz"

/* ---- memory ---- */
/* One run of variant v in memory mode mem. */
static double run_bytes(const vp_variant *var, const vp_mlp_memory *mem)
{
    double b = var->net ? vp_net_bytes(var->net->ls, var->net->n, var->net->in, var->batch, var->prec)
                        : vp_mlp_bytes_mem(var->L, var->widths, var->batch, var->prec, var->act, mem);
    b += 8.0 * (double)var->batch * var->widths[0];                      /* input in double */
    b += 64.0 * var->L;                                                  /* stats */
    if (var->hist_bins) b += 8.0 * var->hist_bins * VP_HIST_QUANTITIES * var->L;
    if (var->jacobian) {
        int nmax = 0;
        for (int l = 0; l <= var->L; l++) nmax = var->widths[l] > nmax ? var->widths[l] : nmax;
        b += 8.0 * 4.0 * (double)nmax * nmax;                            /* product, W copy, SVD work */
    }
    return b + vp_train_run_bytes(var);                                  /* training, after the measurement */
}

double vp_runner_run_bytes(const vp_experiment *e, int v)
{
    return run_bytes(&e->variants[v], &e->variants[v].mem);
}

/* The largest run of the sweep with "memory": "recompute" (default checkpoints), or 0
 * when a variant cannot run so (vp_config_recompute_conflict) or already does. */
static double recompute_bytes(const vp_experiment *e)
{
    const vp_mlp_memory rc = { 1, 0 };
    double most = 0;
    for (int v = 0; v < e->nvariants; v++) {
        const char *path;
        if (e->variants[v].mem.recompute || vp_config_recompute_conflict(&e->variants[v], &path)) return 0;
        double b = run_bytes(&e->variants[v], &rc);
        most = b > most ? b : most;
    }
    return most;
}

/* Images of the data set the sweep reads: the largest batch of a fashion-mnist variant. */
static int data_images(const vp_experiment *e)
{
    int need = 0;
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].input == VP_INPUT_FASHION_MNIST && e->variants[v].batch > need) need = e->variants[v].batch;
    return need;
}

/* The fashion-mnist input images' file (a FASHION_FILE under e->data_dir) can be
 * read (else VP_ERR_CONFIG: the folder is the user's to fix), and its header
 * (vp_idx_peek) declares enough 28 x 28 images for the largest batch (else
 * VP_ERR_DATA, a malformed data file: exit 1, docs/robustness.md), both naming
 * input.path and the file. */
static vp_status check_input_images(const vp_experiment *e, vp_err *err)
{
    char path[4200];
    int need = data_images(e);
    vp_status s = need ? vp_path_join(path, sizeof path, e->data_dir, FASHION_FILE, err) : VP_OK;
    if (s || !need) return s;
    if (access(path, R_OK) != 0)
        return vp_fail(err, VP_ERR_CONFIG, "input.path: the fashion-mnist images %s (give input.path, or install the "
                       "Debian package dataset-fashion-mnist): cannot open %s: %s",
                       errno == ENOENT || errno == ENOTDIR ? "are not there" : "cannot be read", path, strerror(errno));
    vp_idx_info in;
    if ((s = vp_idx_peek(path, VP_IDX_IMAGES, &in, err))) {
        if (s != VP_ERR_NOMEM) vp_err_prefix(err, "input.path: not the fashion-mnist images");
        return s;
    }
    /* the messages of the readers (vp_idx_load, and the runner's size check after it) */
    if ((uint64_t)in.rows * in.cols != VP_FASHION_DIM)
        return vp_fail(err, VP_ERR_DATA, "input.path: %s: images have %llu pixels, fashion-mnist has %d (28 x 28)",
                       path, (unsigned long long)in.rows * in.cols, VP_FASHION_DIM);
    if (in.count < (uint32_t)need)
        return vp_fail(err, VP_ERR_DATA, "input.path: %s holds %u images, %d requested", path, in.count, need);
    return VP_OK;
}

double vp_runner_data_bytes(const vp_experiment *e)
{
    int need = data_images(e);
    double train = 0;
    if (e->train && vp_train_data_check(e, &train, NULL)) train = 0; /* refused earlier (vp_runner_run) */
    if (!need) return train;
    /* the pixels as doubles, their bytes as read, and the reader's first buffer */
    return train + (double)need * VP_FASHION_DIM * (8.0 + 1.0) + 16.0 * 1048576.0;
}

/* Address space each worker reserves without touching it -- counted only against
 * `ulimit -v`: OpenBLAS's GEMM buffer (128 MiB), a thread stack (8 MiB) and a malloc
 * arena (64 MiB). Measured: with less than this, OpenBLAS's first GEMM loops forever
 * on a failing allocation instead of reporting it. */
#define AS_PER_WORKER (200.0 * 1048576.0)

/* The memory check, before anything is allocated or written: the number of workers
 * (<= threads) whose runs fit beside the input data under the smallest limit, or a
 * refusal naming the estimate and the limit. */
static vp_status fit_workers(const vp_experiment *e, int threads, int sharers, int *workers, vp_err *err)
{
    double per_run = 0;
    for (int v = 0; v < e->nvariants; v++) {
        double b = vp_runner_run_bytes(e, v);
        per_run = b > per_run ? b : per_run;
    }
    double data = vp_runner_data_bytes(e);
    vp_mem_limit lim;
    vp_mem_available_shared("", sharers, &lim); /* sharers: the MPI ranks on this node */
    double reserve = lim.kind == VP_MEM_ADDRESS_SPACE ? AS_PER_WORKER : 0;
    if (lim.kind != VP_MEM_UNKNOWN && data + per_run + reserve > lim.bytes) {
        const double MiB = 1048576.0;
        char parts[240];
        int n = snprintf(parts, sizeof parts, "the network %.0f MiB", per_run / MiB);
        if (data > 0) n += snprintf(parts + n, sizeof parts - (size_t)n, ", the input data set %.0f MiB", data / MiB);
        if (reserve > 0)
            snprintf(parts + n, sizeof parts - (size_t)n, ", address space a thread reserves %.0f MiB", reserve / MiB);
        /* Store mode that does not fit where recompute mode would: say so. */
        double rc = recompute_bytes(e);
        char hint[200] = "";
        if (rc > 0 && data + rc + reserve <= lim.bytes)
            snprintf(hint, sizeof hint, ", or set \"memory\": \"recompute\" (weights drawn again when needed: "
                     "about %.0f MiB, docs/memory.md)", (data + rc + reserve) / MiB);
        return vp_fail(err, VP_ERR_CONFIG, "one run needs about %.0f MiB (%s) but only %.0f MiB is available under %s; "
                       "reduce depth, width or batch%s", (data + per_run + reserve) / MiB, parts, lim.bytes / MiB,
                       lim.what, hint);
    }
    *workers = threads;
    while (*workers > 1 && lim.kind != VP_MEM_UNKNOWN && data + (per_run + reserve) * *workers > lim.bytes) (*workers)--;
    return VP_OK;
}

/* ---- scheduling ---- */
static void progress(vp_job *j)
{
    const vp_runner_opts *o = j->o;
    if (!o->progress || !o->log) return;
    int total = j->ntodo, done = j->finished, width = 30;
    int fill = total ? done * width / total : width;
    double el = vp_job_now() - j->t0, eta = done ? el * (total - done) / done : 0;
    fprintf(o->log, "\r  [%.*s%*s] %d/%d runs  %.1fs elapsed, ~%.0fs left ", fill,
            "##############################", width - fill, "", done, total, el, eta);
    if (done == total) fputc('\n', o->log);
    fflush(o->log);
}

static void *worker(void *arg)
{
    vp_job *j = arg;
    vp_worker w;
    vp_worker_init(&w);
    int g = -1; /* group of the run in progress */
    for (;;) {
        pthread_mutex_lock(&j->lock);
        int stop = j->status != VP_OK || (j->o->stop && *j->o->stop);
        int r = stop ? -1 : vp_job_next(j, &g);
        pthread_mutex_unlock(&j->lock);
        if (r < 0) break;
        vp_err e;
        int drew = 0;
        vp_status s = vp_run_one(j, r, &w, !j->o->no_share && w.net_group == g, &drew, &e);
        w.net_group = !s && vp_share_params(&j->e->variants[r / j->e->nseeds]) ? g : -1;
        if (s) w.x_ok = 0;
        pthread_mutex_lock(&j->lock);
        j->draws += drew;
        /* a training run abandoned at a stop request is not finished and not a failure */
        if (s && s != VP_ERR_INTERRUPTED && j->status == VP_OK) { j->status = s; j->err = e; }
        if (!s) { j->finished++; progress(j); }
        pthread_mutex_unlock(&j->lock);
    }
    vp_worker_release(&w);
    return NULL;
}

static int any_theory(const vp_experiment *e)
{
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].theory) return 1;
    return 0;
}

/* ---- driver ---- */

/* The config's checks that need no writing (vp_runner_check); *workers: the runs at
 * once that fit. */
static vp_status preflight(const vp_experiment *e, const vp_runner_opts *o, int *workers, vp_err *err)
{
    int total = (int)vp_experiment_runs(e);
    *workers = o->threads < total ? o->threads : total;
    if (*workers < 1 || o->mpi) *workers = 1; /* MPI: one run at a time per rank, on all its threads */
    /* The data: the input images (check_input_images: a missing folder exit 2, a malformed
     * file exit 1) and every training file (vp_train_data_check: exit 2 either way). */
    vp_status s = check_input_images(e, err);
    if (!s) s = vp_train_data_check(e, NULL, err);
    /* Memory, before anything is allocated or written. */
    if (!s) s = fit_workers(e, *workers, vp_mpi_node_ranks(o->mpi), workers, err);
    return s;
}

/* --resume: the folder exists and holds this config's results (vp_runner_run checks
 * both again, the second once it holds the folder). */
static vp_status resume_check(const vp_experiment *e, const vp_runner_opts *o, vp_err *err)
{
    struct stat st;
    if (stat(o->out_dir, &st) != 0)
        return vp_fail(err, VP_ERR_CONFIG, "--resume: cannot open %s: %s; nothing to resume", o->out_dir,
                       strerror(errno));
    vp_job j;
    memset(&j, 0, sizeof j);
    j.e = e;
    j.o = o;
    int nothing;
    vp_status s = vp_path_join(j.parts, sizeof j.parts, o->out_dir, VP_DIR_PARTS, err);
    return s ? s : vp_frag_check_resume(&j, &nothing, err);
}

/* The results folder's claim: new, empty or made by varprop (an earlier build's too). */
static const vp_claim RESULTS_CLAIM = { VP_FILE_MARKER, VP_FOLDER_STAMP, 1, 0, vp_runner_legacy_folder };

vp_status vp_runner_check(const vp_experiment *e, const vp_runner_opts *o, vp_err *err)
{
    int workers;
    vp_status s = o->resume ? resume_check(e, o, err) : VP_OK;
    /* a folder that will be refused (not varprop's, in use), before the banner too */
    if (!s) s = vp_folder_check(o->out_dir, &RESULTS_CLAIM, err);
    return s ? s : preflight(e, o, &workers, err);
}

vp_status vp_runner_run(const vp_experiment *e, const vp_runner_opts *o, vp_runner_result *res, vp_err *err)
{
    int total = (int)vp_experiment_runs(e);
    memset(res, 0, sizeof *res);
    res->total = total;
    struct stat st;
    if (o->resume && stat(o->out_dir, &st) != 0) /* (the message: resume_check's) */
        return resume_check(e, o, err);
    int workers;
    vp_status ms = preflight(e, o, &workers, err);
    if (ms) return ms;
    /* OpenBLAS always runs one thread per call: its own threading splits a product by
     * the thread count, and LAPACK's blocked QR (orthogonal init) then gives different
     * bits for different --threads. Parallelism is varprop's: several runs at once, or
     * for a single worker a pool that runs the fixed blocks of each product
     * (core/gemm.h) -- the same bits for any thread count. */
    openblas_set_num_threads(1);
    /* OpenBLAS's own pool (started when the library loads) then has nothing to do, but
     * each pool thread spins on sched_yield for ~2^28 cycles (~0.1 s) before sleeping --
     * a whole core at the start of every run of varprop. Stop it. */
    blas_thread_shutdown_();

    vp_folder_lock own = VP_FOLDER_LOCK_INIT, *lock = o->lock ? o->lock : &own;
    vp_job j;
    memset(&j, 0, sizeof j);
    j.e = e;
    j.o = o;
    j.theory = any_theory(e);
    vp_status s = vp_path_join(j.parts, sizeof j.parts, o->out_dir, VP_DIR_PARTS, err);
    if (!s && j.theory) s = vp_theory_ctx_init(&j.tctx, err);
    if (!s && workers == 1 && o->threads > 1) s = vp_pool_create(&j.pool, o->threads, err);
    if (s) return s;
    j.sums = calloc((size_t)total, sizeof *j.sums);
    j.todo = malloc((size_t)total * sizeof *j.todo);
    double *data = NULL;
    vp_crit_line *cl = NULL;
    vp_train_data tdata = { 0, NULL, NULL };
    if (!j.sums || !j.todo) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    /* Real data, loaded once and shared read-only -- before anything is written,
     * so a broken data file leaves no output behind. */
    int need = data_images(e);
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
    if (e->train && (s = vp_train_data_load(e, &tdata, err))) goto end; /* still nothing written */
    j.tdata = &tdata;
    if (vp_mpi_rank(o->mpi) > 0) { /* another rank of an MPI job: runs what rank 0 assigns */
        s = vp_mpi_work(&j, err);
        goto end;
    }
    if (!lock->held && (s = vp_folder_claim(o->out_dir, &RESULTS_CLAIM, lock, err))) goto end;
    if (o->resume && (s = vp_frag_check_resume(&j, &res->nothing_to_resume, err))) goto end;
    if (res->nothing_to_resume) goto end;
    if ((s = vp_frag_prepare(j.parts, err))) goto end;
    /* Damaged runs: the first one's reason, then the numbers of the next few (so that
     * every damaged run can be looked at), and how many more. */
    enum { LISTED = 10 };
    int damaged = 0;
    char why[600] = "", also[160] = "";
    size_t alen = 0;
    for (int r = 0; r < total; r++) {
        char w[512];
        if (!vp_shard_owns(o->shard, r)) continue;
        int done = o->resume ? vp_frag_load_done(&j, r, w, sizeof w) : 0;
        if (done < 0 && !damaged++) snprintf(why, sizeof why, "run %d: %s", r, w);
        else if (done < 0 && damaged <= LISTED + 1 && alen < sizeof also)
            alen += (size_t)snprintf(also + alen, sizeof also - alen, "%s%d", damaged == 2 ? "" : ", ", r);
        if (done > 0) { res->skipped++; continue; }
        j.todo[j.ntodo++] = r;
    }
    /* A finished shard keeps its runs in .parts, not in tables: it is finished when it is
     * sealed for this slice and every run of it checks out -- then, as for a finished
     * whole run, nothing is run or written (not even the marker and the staged config). */
    if (o->resume && o->shard && !damaged && !j.ntodo && vp_shard_sealed(e, o->shard, o->out_dir)) {
        res->nothing_to_resume = 1;
        goto end;
    }
    if (o->log && damaged)
        fprintf(o->log, "varprop: resuming: %d finished run%s failed the check of %s fragments (%s%s%s", damaged,
                damaged == 1 ? "" : "s", damaged == 1 ? "its" : "their", why,
                damaged == 1 ? "" : damaged == 2 ? "; also run " : "; also runs ", also);
    if (o->log && damaged > LISTED + 1) fprintf(o->log, " and %d more", damaged - LISTED - 1);
    if (o->log && damaged) fprintf(o->log, "); run again\n");
    if (o->log && res->skipped) /* of the runs this folder holds: a shard's slice, or all */
        fprintf(o->log, "varprop: resuming: %d of %d runs already complete\n", res->skipped,
                o->shard ? o->shard->count : total);
    vp_shard_unseal(o->out_dir); /* a shard's marker: sealed again when its slice is complete */
    if (!o->resume) vp_frag_clear(j.parts, 0);
    if ((s = vp_frag_stage_config(&j, err))) goto end;
    if ((s = vp_share_group(e, j.todo, j.ntodo, &j.groups, err))) goto end;

    pthread_mutex_init(&j.lock, NULL);
    j.t0 = vp_job_now();
    pthread_t tid[256];
    int started = 0;
    if (workers > 256) workers = 256;
    for (int t = 1; t < workers; t++)
        if (pthread_create(&tid[started], NULL, worker, &j) == 0) started++;
    cl = malloc(sizeof *cl); /* while the other workers run */
    if (cl) vp_predict_critical_line(j.theory ? &j.tctx : NULL, e, cl);
    if (o->mpi) vp_mpi_serve(&j); /* the runs spread over the ranks (mpi_run.h) */
    else worker(&j);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j.lock);
    res->done = j.finished;
    res->draws = j.draws;
    if (j.status) {
        s = j.status;
        *err = j.err;
    }

    /* Consistent CSVs of every complete run, staged in .parts/ and published with
     * config.json last -- unless a run failed: then the finished runs stay in .parts/
     * for --resume, and results already in the folder are not replaced by tables of
     * fewer runs. */
    if (!s && !o->shard) {
        vp_status as = vp_frag_assemble(&j, err);
        if (!as && !cl) as = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        if (!as) as = vp_predict_critical_line_write(e, j.parts, cl, err);
        if (!as) as = vp_frag_publish(&j, &res->kept, &res->kept_other, err);
        s = as;
    }
    int want = vp_shard_runs(o->shard, e), complete = res->done + res->skipped == want;
    if (!s && complete && o->shard) s = vp_shard_seal(e, o->shard, o->out_dir, err); /* fragments stay */
    else if (!s && complete) vp_frag_clear(j.parts, 1);
    if (!s && !complete) {
        res->interrupted = 1;
        s = vp_fail(err, VP_ERR_INTERRUPTED, "interrupted after %d of %d runs", res->done + res->skipped, want);
    }
    if (!s || s == VP_ERR_INTERRUPTED) vp_runner_print_summary(&j);
end:
    vp_pool_free(j.pool);
    vp_folder_release(&own);
    free(cl);
    free(data);
    vp_train_data_free(&tdata);
    free(j.sums);
    free(j.todo);
    vp_share_groups_free(&j.groups);
    return s;
}
