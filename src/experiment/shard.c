/* shard: see shard.h. This file holds the slices and the shard marker; merge.c the
 * merge. */
#include "experiment/shard.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/fsutil.h"
#include "base/hash.h"
#include "base/param.h"
#include "experiment/share.h"
#include "results/results.h"

vp_status vp_shard_parse(const char *text, int *k, int *n, vp_err *err)
{
    const char *slash = strchr(text, '/');
    char head[32];
    long a = 0, b = 0;
    size_t hl = slash ? (size_t)(slash - text) : 0;
    if (slash && hl < sizeof head) {
        memcpy(head, text, hl);
        head[hl] = '\0';
    }
    if (!slash || hl >= sizeof head || vp_parse_long(head, &a) || vp_parse_long(slash + 1, &b))
        return vp_fail(err, VP_ERR_USAGE, "--shard '%s': write K/N, slice K of N (e.g. --shard 3/8)", text);
    if (b < 1 || b > VP_SHARD_MAX)
        return vp_fail(err, VP_ERR_USAGE, "--shard %s: N must be from 1 to %d", text, VP_SHARD_MAX);
    if (a < 1 || a > b)
        return vp_fail(err, VP_ERR_USAGE, "--shard %s: K must be from 1 to N = %ld (slices are numbered from 1)",
                       text, b);
    *k = (int)a;
    *n = (int)b;
    return VP_OK;
}

/* The examples of a training data set, from the config alone (every job of an array
 * computes the same plan, and must not depend on reading files): fashion-mnist's
 * 60000 / 10000, the synthetic spec's n_train / n_test; IDX files are not read and count
 * as MNIST's 60000 / 10000 (a sweep rarely mixes data sets: the ratios between its runs
 * hold either way). Also the readout's width (the classes). */
static void train_examples(const vp_train_cfg *tc, double *n_train, double *n_test, double *classes)
{
    *n_train = 60000;
    *n_test = 10000;
    *classes = VP_FASHION_MNIST_CLASSES;
    if (tc->data.source == VP_DATA_SYNTHETIC) {
        *n_train = (double)tc->data.synth.n_train;
        *n_test = (double)tc->data.synth.n_test;
        *classes = tc->data.synth.classes;
    } else if (tc->data.source == VP_DATA_IDX && tc->data.classes) {
        *classes = tc->data.classes;
    }
}

/* Estimated work of a training run in multiply-adds, macs the hidden stack's per example:
 * a training run's cost ~ epochs x examples x per-example work. Every update is a
 * forward and a backward pass over its batch (3 multiply-adds per weight and example,
 * the readout included); every epoch (and epoch 0) evaluates, forward only, the test
 * split and eval_examples training examples; every track_every updates (and at step 0)
 * the probe does a forward and backward pass over one batch. The optimizer's update
 * (a few flops per weight per step, not per example) is left out. */
static double train_cost(const vp_variant *v, double macs)
{
    const vp_train_cfg *tc = &v->train;
    double n_train, n_test, classes;
    train_examples(tc, &n_train, &n_test, &classes);
    double per_ex = macs + (double)v->widths[v->L] * classes, batch = tc->batch;
    double per_epoch = ceil(n_train / batch), all = per_epoch * tc->epochs;
    double steps = tc->max_steps > 0 && (double)tc->max_steps < all ? (double)tc->max_steps : all;
    double examples = steps < all ? steps * batch : tc->epochs * n_train;
    double evals = ceil(steps / per_epoch) + 1, probes = floor(steps / tc->track_every) + 1;
    double probe_batch = batch < n_train ? batch : n_train;
    double eval_ex = n_test + ((double)tc->eval_examples < n_train ? (double)tc->eval_examples : n_train);
    return per_ex * (3.0 * examples + evals * eval_ex + 3.0 * probes * probe_batch);
}

/* Estimated work of run r in multiply-adds: the forward product and the two backward
 * ones (B n_{l-1} n_l each, twice as tall for a gated activation), the Jacobian's n_0
 * columns through every layer plus its SVD, and training (train_cost). Only the ratios
 * between runs matter. */
static double run_cost(const vp_experiment *e, int r)
{
    const vp_variant *v = &e->variants[r / e->nseeds];
    double macs = 0, z = vp_act_zwidth(vp_act_get(v->act.kind), 1);
    for (int l = 1; l <= v->L; l++) macs += (double)v->widths[l - 1] * v->widths[l] * z;
    double c = 3.0 * v->batch * macs;
    if (v->jacobian) {
        double n = v->widths[0] < v->widths[v->L] ? v->widths[0] : v->widths[v->L];
        c += v->widths[0] * macs + 4.0 * n * n * n;
    }
    if (v->train.on) c += train_cost(v, macs);
    return c;
}

typedef struct { double cost; int g; } group_cost;

static int cmp_cost_desc(const void *pa, const void *pb)
{
    const group_cost *a = pa, *b = pb;
    if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
    return (a->g > b->g) - (a->g < b->g);
}

/* Slice a is less loaded than slice b, or as loaded and numbered lower. */
static int lighter(const double *load, int a, int b) { return load[a] < load[b] || (load[a] == load[b] && a < b); }

/* heap[0 .. n): slices in a binary min-heap by lighter(); heap[0] after its load grew
 * moves down to its place. */
static void heap_down(int *heap, int n, const double *load)
{
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && lighter(load, heap[l], heap[m])) m = l;
        if (r < n && lighter(load, heap[r], heap[m])) m = r;
        if (m == i) return;
        int t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

/* The slice (1..n) of every run: slice[r]. */
vp_status vp_shard_assign(const vp_experiment *e, int n, int *slice, vp_err *err)
{
    int total = (int)vp_experiment_runs(e);
    int *runs = malloc((size_t)total * sizeof *runs), *heap = malloc((size_t)n * sizeof *heap);
    double *load = calloc((size_t)n, sizeof *load);
    group_cost *gc = NULL;
    vp_run_groups g = { 0, NULL, NULL };
    vp_status s = runs && heap && load ? VP_OK : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (int r = 0; !s && r < total; r++) runs[r] = r;
    if (!s) s = vp_share_group(e, runs, total, &g, err);
    if (!s && !(gc = malloc((size_t)g.ngroups * sizeof *gc))) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < g.ngroups; i++) {
        gc[i] = (group_cost){ 0, i };
        for (int t = g.beg[i]; t < g.beg[i + 1]; t++) gc[i].cost += run_cost(e, runs[t]);
    }
    if (!s) qsort(gc, (size_t)g.ngroups, sizeof *gc, cmp_cost_desc);
    /* Greedy LPT: each group, largest first, to the least loaded slice (the lowest
     * numbered among equals), taken from a heap of the slices: a scan of every slice
     * for every group made 1000000 runs into 100000 slices 117 s, in every job. The
     * costs are sums and products of integers (and ceil/floor of their quotients) in a
     * fixed order, IEEE-rounded the same way everywhere: the same doubles on every
     * machine, so every job of an array finds the same plan. */
    for (int q = 0; !s && q < n; q++) heap[q] = q; /* every load 0: in order */
    for (int i = 0; !s && i < g.ngroups; i++) {
        int best = heap[0];
        load[best] += gc[i].cost;
        heap_down(heap, n, load);
        for (int t = g.beg[gc[i].g]; t < g.beg[gc[i].g + 1]; t++) slice[runs[t]] = best + 1;
    }
    free(runs);
    free(heap);
    free(load);
    free(gc);
    vp_share_groups_free(&g);
    return s;
}

vp_status vp_shard_plan(const vp_experiment *e, int k, int n, const char *source, size_t source_len, vp_shard *sh,
                        vp_err *err)
{
    int total = (int)vp_experiment_runs(e);
    *sh = (vp_shard){ .k = k, .n = n, .source = source, .source_len = source_len };
    int *slice = malloc((size_t)total * sizeof *slice);
    sh->mine = calloc((size_t)total, 1);
    vp_status s = slice && sh->mine ? vp_shard_assign(e, n, slice, err) : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (int r = 0; !s && r < total; r++) {
        sh->mine[r] = slice[r] == k;
        sh->count += sh->mine[r];
    }
    free(slice);
    if (s) vp_shard_free(sh);
    return s;
}

void vp_shard_free(vp_shard *sh)
{
    if (!sh) return;
    free(sh->mine);
    sh->mine = NULL;
}

unsigned long long vp_shard_hash(const char *text, size_t len)
{
    return (unsigned long long)vp_fnv_bytes(VP_FNV_OFFSET, text, len);
}

void vp_shard_config_hash(const vp_experiment *e, char hash[32])
{
    snprintf(hash, 32, "%016llx", vp_shard_hash(e->resolved_json, strlen(e->resolved_json)));
}

vp_status vp_shard_seal(const vp_experiment *e, const vp_shard *sh, const char *out_dir, vp_err *err)
{
    char path[4200], hash[32];
    vp_status s = vp_path_join(path, sizeof path, out_dir, VP_FILE_SHARD, err);
    if (s) return s;
    vp_shard_config_hash(e, hash);
    cJSON *o = cJSON_CreateObject();
    char *src = malloc(sh->source_len + 1), *text = NULL;
    if (src) {
        memcpy(src, sh->source, sh->source_len);
        src[sh->source_len] = '\0';
    }
    if (o && src && cJSON_AddStringToObject(o, "varprop_version", VP_VERSION) &&
        cJSON_AddNumberToObject(o, "shard", sh->k) && cJSON_AddNumberToObject(o, "shards", sh->n) &&
        cJSON_AddNumberToObject(o, "runs", sh->count) && cJSON_AddStringToObject(o, "config_hash", hash) &&
        cJSON_AddStringToObject(o, "config", src))
        text = cJSON_Print(o);
    cJSON_Delete(o);
    free(src);
    if (!text) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    vp_afile f;
    if (!(s = vp_afile_open(&f, path, err))) {
        fputs(text, f.fp);
        fputc('\n', f.fp);
        s = vp_afile_commit(&f, err);
    }
    cJSON_free(text);
    return s;
}

void vp_shard_unseal(const char *out_dir)
{
    char path[4200];
    vp_err ignore;
    if (!vp_path_join(path, sizeof path, out_dir, VP_FILE_SHARD, &ignore)) unlink(path);
}

int vp_shard_sealed(const vp_experiment *e, const vp_shard *sh, const char *out_dir)
{
    vp_shard_marker mk;
    vp_err ignore;
    char hash[32];
    if (vp_shard_read_marker(out_dir, &mk, &ignore)) return 0;
    vp_shard_config_hash(e, hash);
    int same = strcmp(mk.version, VP_VERSION) == 0 && mk.k == sh->k && mk.n == sh->n && mk.runs == sh->count &&
               strcmp(mk.hash, hash) == 0;
    free(mk.config);
    return same;
}

vp_status vp_shard_read_marker(const char *dir, vp_shard_marker *mk, vp_err *err)
{
    char path[4200], *text = NULL;
    size_t len;
    vp_err rerr;
    memset(mk, 0, sizeof *mk);
    vp_status s = vp_path_join(path, sizeof path, dir, VP_FILE_SHARD, err);
    if (s) return s;
    if (vp_read_file(path, (size_t)32 << 20, &text, &len, &rerr)) {
        char staged[4200], q[8192];
        int unfinished = !vp_path_join(staged, sizeof staged, dir, VP_DIR_PARTS "/" VP_FILE_CONFIG, &rerr) &&
                         access(staged, F_OK) == 0;
        if (unfinished)
            return vp_fail(err, VP_ERR_USAGE, "%s is an unfinished shard (no " VP_FILE_SHARD "): finish it with "
                           "varprop run CONFIG --shard K/N --resume -o %s", dir, vp_shell_word(dir, q, sizeof q));
        struct stat st;
        if (stat(dir, &st) != 0) return vp_fail(err, VP_ERR_USAGE, "%s: no such shard folder", dir);
        return vp_fail(err, VP_ERR_USAGE, "%s is not a shard folder (no " VP_FILE_SHARD "; shards are made by "
                       "varprop run CONFIG --shard K/N)", dir);
    }
    cJSON *o = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "varprop_version"),
                *k = cJSON_GetObjectItemCaseSensitive(o, "shard"), *n = cJSON_GetObjectItemCaseSensitive(o, "shards"),
                *r = cJSON_GetObjectItemCaseSensitive(o, "runs"), *h = cJSON_GetObjectItemCaseSensitive(o, "config_hash"),
                *c = cJSON_GetObjectItemCaseSensitive(o, "config");
    int ok = cJSON_IsString(v) && cJSON_IsNumber(k) && cJSON_IsNumber(n) && cJSON_IsNumber(r) && cJSON_IsString(h) &&
             cJSON_IsString(c) && n->valuedouble >= 1 && n->valuedouble <= VP_SHARD_MAX && k->valuedouble >= 1 &&
             k->valuedouble <= n->valuedouble && k->valuedouble == (int)k->valuedouble &&
             n->valuedouble == (int)n->valuedouble && r->valuedouble >= 0 && r->valuedouble <= VP_MAX_RUNS;
    if (ok) {
        mk->k = (int)k->valuedouble;
        mk->n = (int)n->valuedouble;
        mk->runs = (int)r->valuedouble;
        snprintf(mk->version, sizeof mk->version, "%s", v->valuestring);
        snprintf(mk->hash, sizeof mk->hash, "%s", h->valuestring);
        mk->config = strdup(c->valuestring);
    }
    cJSON_Delete(o);
    if (!ok) return vp_fail(err, VP_ERR_USAGE, "%s is damaged: not a shard marker varprop wrote", path);
    return mk->config ? VP_OK : vp_fail(err, VP_ERR_NOMEM, "out of memory");
}
