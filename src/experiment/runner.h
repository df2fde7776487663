/* runner: executes an experiment -- every variant x seed -- and writes its
 * results folder (experiment layer; drives the numeric core, calls csv).
 *
 * Output (README "Output files"): config.json, layers.csv, runs.csv and, when
 * asked for, histograms.csv and jacobian.csv. Each finished run is first saved
 * as fragments in <out>/.parts/ (atomically), and the CSV files are assembled
 * from the fragments in canonical order (variant, then seed), so the bytes never
 * depend on thread count or scheduling, an interrupted sweep leaves consistent
 * CSVs of the runs that finished, and --resume skips them.
 *
 * Parallelism: one level at a time. With several runs, `threads` runs execute
 * concurrently, each with single-threaded BLAS; a single run gets all threads
 * in BLAS. Memory is estimated up front and a config that cannot fit is
 * refused before anything is allocated or written.
 *
 * The folder: out_dir is claimed (base/lock.h) -- created with its marker, or an
 * empty folder marked, or a folder varprop made; any other folder is refused -- and
 * locked for the whole call, so a second varprop is refused with "folder in use".
 */
#ifndef VP_RUNNER_H
#define VP_RUNNER_H

#include <signal.h>
#include <stdio.h>
#include "experiment/config.h"
#include "base/err.h"
#include "base/lock.h"

/* The text of the marker (VP_FILE_MARKER) varprop puts in a folder it makes. */
#define VP_FOLDER_STAMP "varprop " VP_VERSION "\n"

typedef struct {
    const char *out_dir;              /* results folder (created if missing) */
    int threads;                      /* >= 1 */
    int progress;                     /* draw a progress bar on `log` */
    int resume;                       /* keep runs already complete in out_dir (which must exist) */
    volatile sig_atomic_t *stop;      /* may be NULL; non-zero: finish runs in progress, then stop */
    FILE *out;                        /* summary table (NULL: none) */
    FILE *log;                        /* progress and notes (NULL: none) */
    int no_share;                     /* draw every run's parameters, never reuse a worker's
                                         (results are the same bits either way) */
    vp_folder_lock *lock;             /* NULL: the runner locks out_dir for the call. Else, if
                                         not yet held, the runner claims out_dir into it (after
                                         the checks that write nothing) and leaves it held for the
                                         caller to release, so the folder stays locked for what the
                                         caller does next (the charts) */
    const struct vp_shard *shard;     /* NULL: every run; else only the runs of this slice, into a
                                         shard folder (experiment/shard.h) */
    struct vp_mpi *mpi;               /* NULL: this process alone; else this rank of an MPI job,
                                         which shares out the runs (experiment/mpi_run.h) */
} vp_runner_opts;

typedef struct {
    int total, done, skipped;         /* runs in the experiment, finished now, kept from before */
    int interrupted;
    int nothing_to_resume;            /* --resume found every run of this config in the folder:
                                         nothing was run or written */
    long kept;                        /* > 0: the folder already held this many runs of this
                                         config, more than were finished: its results were kept
                                         and the finished runs stay in .parts for --resume */
    int kept_other;                   /* an unfinished run into a folder of another config's results:
                                         those were kept, the finished runs stay in .parts */
    int draws;                        /* parameter draws made: runs that share their weights
                                         and biases (same shape, initializers and seed) share
                                         a draw when one worker runs them in a row */
} vp_runner_result;


/* The config's checks vp_runner_run makes before it writes anything, for a caller to
 * make before it prints anything (vp_runner_run makes them again): the data the runs
 * read (the fashion-mnist input images: input.path; every training data set's files:
 * train.dataset...), the memory of o->threads runs at once (at least one must fit), and
 * with o->resume that o->out_dir exists and holds this config's results.
 * VP_ERR_CONFIG naming the setting to fix (or --resume); VP_ERR_NOMEM. */
vp_status vp_runner_check(const vp_experiment *e, const vp_runner_opts *o, vp_err *err);

/* Estimated peak bytes of one run of variant v (network, input, scratch). */
double vp_runner_run_bytes(const vp_experiment *e, int v);
/* Estimated bytes of the input data set, loaded once and shared by every run
 * (fashion-mnist; 0 for generated input). The memory check counts it beside the runs,
 * against the smallest of MemAvailable, the cgroup limits and `ulimit -v`
 * (base/sysmem.h), and refuses a config that does not fit before anything is written. */
double vp_runner_data_bytes(const vp_experiment *e);

vp_status vp_runner_run(const vp_experiment *e, const vp_runner_opts *o, vp_runner_result *res, vp_err *err);

/* 1 when the unmarked folder `dir` is a results folder an earlier varprop made (only
 * results files, .parts and temporaries, and a config.json with "varprop_version"):
 * the vp_claim.adopt of a results folder (fragments.c). */
int vp_runner_legacy_folder(const char *dir);

#endif
