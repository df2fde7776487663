/* shard: a sweep cut into N deterministic slices run apart (Slurm job arrays, any
 * machines), and the merge of the slices into the files one run writes (experiment
 * layer).
 *
 * Slices. Runs that share their parameters (share.h) stay in one slice, so a slice
 * keeps the single run's weight sharing. The groups are dealt out by estimated cost
 * (multiply-adds of the measurement, the Jacobian and, for a training run, of training:
 * ~ epochs x examples x per-example work, shard.c), largest first, each to the slice with the least estimated work so far (ties: the
 * lowest slice; the greedy LPT rule of Graham 1969, within 4/3 of the best balance),
 * from the config alone -- so every job of an array computes the same plan, whatever
 * machine it runs on, and a sweep over depth or width does not give one slice all
 * the deep nets.
 *
 * A shard folder (`varprop run CONFIG --shard K/N -o DIR`) is a results folder that
 * keeps its finished runs as fragments in DIR/.parts (fragments.h) and, once every run
 * of its slice is complete, the marker VP_FILE_SHARD: varprop version, K, N, the number
 * of runs, a hash of the resolved config and the config's own text. An interrupted
 * shard has no marker, and `--resume` finishes it like any run.
 *
 * Merge (`varprop merge SHARD_DIR... -o DIR`): the shards must be finished, of one
 * config and one varprop version (this one), of one N, with every K from 1 to N exactly
 * once; anything else is refused (VP_ERR_USAGE) before anything is written. Their
 * fragments are then linked (copied across file systems) into DIR/.parts, checked as
 * --resume checks them, and assembled and published exactly as a single run does, so
 * the CSV files are byte-identical to a single run's (runs.csv's `seconds` aside).
 */
#ifndef VP_SHARD_H
#define VP_SHARD_H

#include <stdio.h>

#include "base/err.h"
#include "base/lock.h"
#include "experiment/config.h"
#include "experiment/runner.h"

/* Largest N of --shard K/N. */
#define VP_SHARD_MAX 100000

/* Slice k of n of an experiment. vp_shard_plan fills it; vp_shard_free releases it. */
typedef struct vp_shard {
    int k, n;               /* 1 <= k <= n */
    unsigned char *mine;    /* per run index: 1 when the run is in slice k (owned) */
    int count;              /* runs in slice k */
    const char *source;     /* the config file's text (borrowed; kept in the marker for merge) */
    size_t source_len;
} vp_shard;

/* Parse "K/N" (1 <= K <= N <= VP_SHARD_MAX, plain digits). VP_ERR_USAGE with what is
 * wrong. */
vp_status vp_shard_parse(const char *text, int *k, int *n, vp_err *err);

/* Slice k of n of e (see above); source/source_len: the config's text. */
vp_status vp_shard_plan(const vp_experiment *e, int k, int n, const char *source, size_t source_len, vp_shard *sh,
                        vp_err *err);
void vp_shard_free(vp_shard *sh);
/* The slice (1..n) of every run of e: slice[r] (vp_experiment_runs(e) entries). */
vp_status vp_shard_assign(const vp_experiment *e, int n, int *slice, vp_err *err);

/* 1 when run r belongs to the slice (every run when sh is NULL: no sharding). */
static inline int vp_shard_owns(const vp_shard *sh, int r) { return !sh || sh->mine[r]; }

/* Runs to do: the slice's, or all of e's without sharding. */
static inline int vp_shard_runs(const vp_shard *sh, const vp_experiment *e)
{
    return sh ? sh->count : (int)vp_experiment_runs(e);
}

/* The shard marker in out_dir: written (synced, atomically) when the slice is complete
 * (seal), removed when a shard run starts over (unseal), so only a finished shard has
 * one. */
vp_status vp_shard_seal(const vp_experiment *e, const vp_shard *sh, const char *out_dir, vp_err *err);

/* What a shard folder's marker (VP_FILE_SHARD) says. */
typedef struct {
    int k, n, runs;
    char version[64], hash[32];
    char *config;   /* the config's text (owned: free it) */
} vp_shard_marker;

/* Read dir's marker into *mk. VP_ERR_USAGE when there is none (naming an unfinished
 * shard, a missing folder or a folder that is not a shard) or it is damaged;
 * VP_ERR_NOMEM. */
vp_status vp_shard_read_marker(const char *dir, vp_shard_marker *mk, vp_err *err);
void vp_shard_unseal(const char *out_dir);
/* 1 when out_dir's marker is the one vp_shard_seal would write for slice sh of e now
 * (this varprop, K/N, the number of runs, the config hash; the config's text may differ
 * in form only, the hash being the same): the slice was finished. */
int vp_shard_sealed(const vp_experiment *e, const vp_shard *sh, const char *out_dir);

/* The marker's config hash of e: vp_shard_hash of its resolved config, in hex. */
void vp_shard_config_hash(const vp_experiment *e, char hash[32]);

/* 64-bit FNV-1a of a text (the config hash of the marker). */
unsigned long long vp_shard_hash(const char *text, size_t len);

/* ---- merge ---- */

/* The shards being merged: vp_merge_open checks them and parses their config (*e,
 * owned by the caller: vp_experiment_free); vp_merge_close releases m. */
typedef struct vp_merge vp_merge;

vp_status vp_merge_open(const char *const *dirs, int ndirs, vp_merge **m, vp_experiment **e, vp_err *err);
void vp_merge_close(vp_merge *m);

/* Join the shards into results folder o->out_dir (claimed into o->lock as
 * vp_runner_run does; o->out gets the summary table): every run's fragments, checked,
 * assembled and published; res as vp_runner_run's (done = runs merged). */
vp_status vp_merge_write(const vp_merge *m, const vp_experiment *e, const vp_runner_opts *o, vp_runner_result *res,
                         vp_err *err);

#endif
