/* "memory": "recompute" (core/mlp.h, docs/memory.md): weights drawn again from
 * (seed, l) when a pass needs them, activations kept at checkpoints every k layers
 * and recomputed between them in the backward pass.
 *
 * The claim is exact, so the tests are exact: every statistic (each double's bits),
 * every histogram bin and every per-example length of a recompute network equals the
 * store network's, for elementwise and row-wise activations (GLU's doubled z too),
 * initializers drawn entry by entry and orthogonal ones (a QR per layer), float32 and
 * float64, depths cut into whole segments and with a partial last one, k = 1, the
 * default and k > L, a non-uniform net, and products run on the calling thread or on
 * a pool of 2 (widths above VP_GEMM_BLOCK so that a product has several blocks). The
 * CLI writes the same CSV bytes in both modes for 1 and 2 threads.
 *
 * The memory estimate is checked against what vp_mlp_create_mem really allocates
 * (glibc's mallinfo2: arena and mmap'ed bytes): equal up to the allocator's headers
 * and the shape arrays, plus, in store mode, the one-layer draw scratch that
 * vp_mlp_init_params allocates for the time of the draw. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "core/act.h"
#include "core/init.h"
#include "core/gemm.h"
#include "core/mlp.h"
#include "core/rng.h"
#include "experiment/config.h"
#include "experiment/runner.h"
#include "experiment/spec.h"
#include "harness.h"

#define MAXL 16

typedef struct {
    vp_act_kind act;
    vp_init_kind init;
    vp_precision prec;
    int L, every, width;
    int nonuniform;     /* widths 20, 40, 30, ..., 30, 10 instead of all `width` */
} rc_case;

/* Everything one network reports for one forward + backward. */
typedef struct {
    vp_layer_stats st[MAXL];
    vp_histogram hist[MAXL * VP_HIST_QUANTITIES];
    double dens[MAXL * VP_HIST_QUANTITIES][16];
    double sq_len[MAXL * 64];
    double moments[2 * (MAXL + 1)]; /* LSUV's weight moments */
} rc_out;

static void widths_of(const rc_case *c, int *w)
{
    for (int l = 0; l <= c->L; l++) w[l] = c->width;
    if (c->nonuniform) {
        w[0] = 20;
        w[1] = 40;
        w[c->L] = 10;
    }
}

/* The run of case c in memory mode mem (NULL: store) on `threads` threads, into o;
 * with twice, the backward pass is run a second time (nothing left from the forward). */
static void run_case(const rc_case *c, const vp_mlp_memory *mem, int threads, int twice, rc_out *o)
{
    const int B = 8;
    int w[MAXL + 1];
    widths_of(c, w);
    vp_err err;
    vp_act act = vp_act_default(c->act);
    vp_init wi = vp_init_default(c->init), bi = vp_init_default(VP_INIT_NORMAL);
    cr_assert_eq(vp_spec_resolve_gains(&wi, &act, &err), VP_OK, "%s", err.msg);
    vp_pool *pool = NULL;
    if (threads > 1) cr_assert_eq(vp_pool_create(&pool, threads, &err), VP_OK, "%s", err.msg);
    vp_mlp *m;
    cr_assert_eq(vp_mlp_create_mem(&m, c->L, w, B, c->prec, act, mem, &err), VP_OK, "%s", err.msg);
    vp_mlp_set_pool(m, pool);
    cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, 7, &err), VP_OK, "%s", err.msg);
    double *x = malloc((size_t)B * (size_t)w[0] * sizeof *x);
    cr_assert_not_null(x);
    vp_rng r = vp_rng_make(3, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&r, 0, x, (size_t)B * (size_t)w[0]);
    vp_mlp_set_input(m, x);
    if (c->init == VP_INIT_LSUV) { /* rescaled in place, or rescalings replayed on every draw */
        int iters[MAXL];
        cr_assert_eq(vp_mlp_lsuv(m, 0.01, 5, iters, &err), VP_OK, "%s", err.msg);
        cr_assert_gt(iters[0], 0, "lsuv rescaled layer 1"); /* not vacuous: there is something to replay */
        for (int l = 1; l <= c->L; l++) vp_mlp_weight_moments(m, l, &o->moments[2 * l], &o->moments[2 * l + 1]);
    }
    memset(o, 0, sizeof *o);
    for (int l = 0; l < c->L; l++) /* histograms of layers 1, 2 and L */
        for (int q = 0; q < VP_HIST_QUANTITIES && (l < 2 || l == c->L - 1); q++) {
            size_t i = (size_t)l * VP_HIST_QUANTITIES + (size_t)q;
            o->hist[i].bins = 16;
            o->hist[i].density = o->dens[i];
        }
    vp_mlp_set_lengths(m, o->sq_len);
    cr_assert_eq(vp_mlp_forward(m, o->st, o->hist, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_mlp_backward(m, 7, o->st, o->hist, &err), VP_OK, "%s", err.msg);
    if (twice) cr_assert_eq(vp_mlp_backward(m, 7, o->st, o->hist, &err), VP_OK, "%s", err.msg);
    vp_mlp_free(m);
    vp_pool_free(pool);
    free(x);
}

#define SAME_BITS(a, b, what, l) \
    cr_assert(memcmp(&(a), &(b), sizeof(a)) == 0, "%s of layer %d: %.17g (store) vs %.17g (recompute)", what, l, \
              (double)(a), (double)(b))

/* The double fields of vp_layer_stats. */
#define FIELD(x) { #x, offsetof(vp_layer_stats, x) }
static const struct { const char *name; size_t off; } STAT_FIELDS[] = {
    FIELD(pre_mean), FIELD(pre_var), FIELD(pre_corr), FIELD(post_mean), FIELD(post_var), FIELD(grad_pre_var),
    FIELD(grad_post_var), FIELD(wgrad_var), FIELD(unit_sq_mean), FIELD(unit_var), FIELD(dead_frac),
    FIELD(saturated_frac),
};

static void same_outputs(const rc_case *c, const rc_out *s, const rc_out *r)
{
    for (int l = 0; l < c->L; l++) {
        const vp_layer_stats *a = &s->st[l], *b = &r->st[l];
        cr_assert_eq(a->layer, b->layer);
        cr_assert_eq(a->fan_in, b->fan_in);
        cr_assert_eq(a->fan_out, b->fan_out);
        for (size_t f = 0; f < sizeof STAT_FIELDS / sizeof *STAT_FIELDS; f++) {
            double va, vb;
            memcpy(&va, (const char *)a + STAT_FIELDS[f].off, sizeof va);
            memcpy(&vb, (const char *)b + STAT_FIELDS[f].off, sizeof vb);
            SAME_BITS(va, vb, STAT_FIELDS[f].name, l + 1);
        }
        cr_assert_eq(a->nonfinite, b->nonfinite);
        cr_assert_eq(a->subnormal, b->subnormal);
        for (int q = 0; q < VP_HIST_QUANTITIES; q++) {
            const vp_histogram *ha = &s->hist[l * VP_HIST_QUANTITIES + q], *hb = &r->hist[l * VP_HIST_QUANTITIES + q];
            if (!ha->density) continue;
            SAME_BITS(ha->lo, hb->lo, "histogram lo", l + 1);
            SAME_BITS(ha->hi, hb->hi, "histogram hi", l + 1);
            cr_assert(memcmp(ha->density, hb->density, 16 * sizeof(double)) == 0, "histogram %d of layer %d", q, l + 1);
        }
    }
    cr_assert(memcmp(s->sq_len, r->sq_len, sizeof s->sq_len) == 0, "per-example lengths");
    cr_assert(memcmp(s->moments, r->moments, sizeof s->moments) == 0, "lsuv's weight moments");
    /* not vacuous: the pass produced finite, non-zero statistics */
    cr_assert(r->st[0].grad_pre_var > 0 && isfinite(r->st[c->L - 1].pre_var));
}

static void check_case(const rc_case *c)
{
    static rc_out s, r; /* large: not on the stack */
    run_case(c, NULL, 1, 0, &s);
    vp_mlp_memory mem = { 1, c->every };
    for (int threads = 1; threads <= 2; threads++)
        for (int twice = 0; twice <= 1; twice++) {
            run_case(c, &mem, threads, twice, &r);
            same_outputs(c, &s, &r);
        }
}

/* wider than one product block: on a pool of 2 the products are split */
enum { WIDE = VP_GEMM_BLOCK + 88 };

Test(recompute, same_bits_as_store_mode, .timeout = 120)
{
    const rc_case cases[] = {
        /* L = 7, k = 3: segments 3, 3, 1 (a partial last one) */
        { VP_ACT_RELU, VP_INIT_KAIMING_NORMAL, VP_F32, 7, 3, WIDE, 0 },
        /* whole segments; orthogonal weights (QR per layer) in float64 */
        { VP_ACT_TANH, VP_INIT_ORTHOGONAL, VP_F64, 9, 3, WIDE, 0 },
        { VP_ACT_TANH, VP_INIT_ORTHOGONAL, VP_F32, 5, 2, 64, 0 },
        /* the default k = ceil(sqrt(10)) = 4: 4, 4, 2 */
        { VP_ACT_SELU, VP_INIT_XAVIER_UNIFORM, VP_F32, 10, 0, 48, 0 },
        /* row-wise activations: GLU (z twice as wide as h), softmax; mean_field sets biases */
        { VP_ACT_GLU, VP_INIT_MEAN_FIELD, VP_F64, 5, 2, 40, 0 },
        { VP_ACT_SOFTMAX, VP_INIT_XAVIER_NORMAL, VP_F32, 6, 1, 32, 0 },
        /* k > L: one segment; k = 1: every h a checkpoint */
        { VP_ACT_GELU, VP_INIT_TRUNC_NORMAL, VP_F64, 4, 50, 24, 0 },
        { VP_ACT_RELU, VP_INIT_SPARSE, VP_F32, 6, 1, 32, 0 },
        /* non-uniform widths 20 -> 40 -> 30 ... -> 10 */
        { VP_ACT_TANH, VP_INIT_KAIMING_UNIFORM, VP_F64, 6, 4, 30, 1 },
        /* LSUV: rescalings recorded and replayed on every draw; uniform weights drawn first */
        { VP_ACT_TANH, VP_INIT_LSUV, VP_F32, 7, 3, WIDE, 0 },
        { VP_ACT_RELU, VP_INIT_LSUV, VP_F64, 5, 2, 32, 0 },
        /* a single layer */
        { VP_ACT_RELU, VP_INIT_KAIMING_NORMAL, VP_F32, 1, 0, WIDE, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i]);
}

Test(recompute, checkpoint_interval)
{
    cr_assert_eq(vp_mlp_checkpoint_every(1, 0), 1);
    cr_assert_eq(vp_mlp_checkpoint_every(2, 0), 2);
    cr_assert_eq(vp_mlp_checkpoint_every(4, 0), 2);
    cr_assert_eq(vp_mlp_checkpoint_every(5, 0), 3);
    cr_assert_eq(vp_mlp_checkpoint_every(100, 0), 10);
    cr_assert_eq(vp_mlp_checkpoint_every(1000, 0), 32);
    cr_assert_eq(vp_mlp_checkpoint_every(10, 25), 10, "clamped to the depth");
    cr_assert_eq(vp_mlp_checkpoint_every(10, 3), 3);
}

#if !defined(__SANITIZE_ADDRESS__) /* ASan's allocator does not report mallinfo2 */
/* Bytes malloc holds right now (arena + mmap'ed chunks). */
static double held(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}

static void estimate_matches(int L, const int *w, int B, vp_precision prec, vp_act act, const vp_mlp_memory *mem)
{
    vp_err err;
    vp_mlp *m;
    double before = held();
    cr_assert_eq(vp_mlp_create_mem(&m, L, w, B, prec, act, mem, &err), VP_OK, "%s", err.msg);
    double got = held() - before, est = vp_mlp_bytes_mem(L, w, B, prec, act, mem);
    vp_mlp_free(m);
    size_t wmax = 0;
    for (int l = 1; l <= L; l++) {
        size_t ws = (size_t)vp_act_zwidth(vp_act_get(act.kind), w[l]) * (size_t)w[l - 1];
        wmax = ws > wmax ? ws : wmax;
    }
    /* store mode: the draw scratch is vp_mlp_init_params', not the network's */
    double scratch = mem && mem->recompute ? 0 : 8.0 * (double)wmax;
    /* not estimated: malloc's headers (16 bytes for each of the ~20 blocks) */
    cr_assert(got <= est + 1024, "allocated %.0f bytes, estimated %.0f", got, est);
    cr_assert(est - scratch - got <= 1024, "estimated %.0f bytes (%.0f scratch), allocated %.0f", est, scratch, got);
}

#endif

Test(recompute, memory_estimate_is_the_allocation)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("AddressSanitizer's allocator does not report mallinfo2");
#else
    int w[201];
    for (int l = 0; l <= 200; l++) w[l] = 256;
    vp_act relu = vp_act_default(VP_ACT_RELU), glu = vp_act_default(VP_ACT_GLU);
    const vp_mlp_memory rc = { 1, 0 }, rc7 = { 1, 7 };
    estimate_matches(200, w, 64, VP_F32, relu, NULL);
    estimate_matches(200, w, 64, VP_F32, relu, &rc);
    estimate_matches(200, w, 64, VP_F64, relu, &rc7);
    estimate_matches(30, w, 16, VP_F64, glu, &rc);
    /* deep: recompute holds one weight and ~2 sqrt(L) activation slots instead of L of each */
    double st = vp_mlp_bytes_mem(200, w, 64, VP_F32, relu, NULL), re = vp_mlp_bytes_mem(200, w, 64, VP_F32, relu, &rc);
    cr_assert_lt(re * 10, st, "recompute %.0f bytes, store %.0f", re, st);
#endif
}

/* ---- through the CLI ---- */

static char dir[256];
static void rc_mk(void) { vt_mktmp(dir, sizeof dir, "/tmp/varprop-recompute-"); }
static void rc_rm(void) { vt_rmtree(dir); }

/* runs.csv without its `seconds` column (wall time: the one field that may differ);
 * no field of these runs holds a comma. */
static char *runs_without_seconds(const char *path)
{
    char *t = vt_slurp_must(path, NULL), *out = calloc(strlen(t) + 1, 1), *o = out;
    cr_assert_not_null(out);
    int col = -1, c = 0;
    for (const char *p = t; *p != '\n' && *p; p++) { /* the header names the column */
        if ((p == t || p[-1] == ',') && strncmp(p, "seconds", 7) == 0 && (p[7] == ',' || p[7] == '\n')) col = c;
        c += *p == ',';
    }
    cr_assert_geq(col, 0);
    c = 0;
    for (const char *p = t; *p; p++) {
        if (*p == '\n') c = 0;
        else if (*p == ',') c++;
        /* field col and the comma that ends it (the comma before it for the last field) */
        if (c == col && *p != '\n' && !(col == 0 && *p == ',')) continue;
        if (c == col + 1 && *p == ',' && col > 0) { *o++ = ','; continue; }
        *o++ = *p;
    }
    free(t);
    return out;
}

Test(recompute, cli_same_bytes, .init = rc_mk, .fini = rc_rm, .timeout = 120)
{
    const char *body = "\"seeds\": 2, \"network\": {\"depth\": 7, \"width\": 300, \"init\": \"orthogonal\"}, "
                       "\"input\": {\"batch\": 16}, \"measure\": {\"histograms\": {\"layers\": [1, 4, 7], \"bins\": 20}, "
                       "\"lengths\": true}, \"sweep\": {\"network.activation\": [\"relu\", \"tanh\", \"glu\"], "
                       "\"network.init\": [\"orthogonal\", \"lsuv\"]}";
    char cfg[600];
    snprintf(cfg, sizeof cfg, "{\"name\": \"st\", %s}", body);
    vt_write_file(dir, "st.json", cfg);
    snprintf(cfg, sizeof cfg, "{\"name\": \"rc\", \"memory\": \"recompute\", \"memory_checkpoint_every\": 3, %s}", body);
    vt_write_file(dir, "rc.json", cfg);
    char *err;
    int rc = vt_run(dir, NULL, &err, "run '%s/st.json' -o '%s/st' --no-plot --quiet --threads 1", dir, dir);
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    const char *files[] = { "layers.csv", "histograms.csv", "lengths.csv" };
    for (int t = 1; t <= 2; t++) {
        rc = vt_run(dir, NULL, &err, "run '%s/rc.json' -o '%s/rc%d' --no-plot --quiet --threads %d", dir, dir, t, t);
        cr_assert_eq(rc, 0, "%s", err);
        free(err);
        for (int f = 0; f < 3; f++) {
            char a[400], b[400];
            snprintf(a, sizeof a, "%s/st/%s", dir, files[f]);
            snprintf(b, sizeof b, "%s/rc%d/%s", dir, t, files[f]);
            char *ta = vt_slurp_must(a, NULL), *tb = vt_slurp_must(b, NULL);
            cr_assert_str_eq(ta, tb, "%s differs (recompute, --threads %d)", files[f], t);
            free(ta);
            free(tb);
        }
        char a[400], b[400];
        snprintf(a, sizeof a, "%s/st/runs.csv", dir);
        snprintf(b, sizeof b, "%s/rc%d/runs.csv", dir, t);
        char *ra = runs_without_seconds(a), *rb = runs_without_seconds(b);
        cr_assert_str_eq(ra, rb, "runs.csv differs beyond seconds (--threads %d)", t);
        free(ra);
        free(rb);
        snprintf(b, sizeof b, "%s/rc%d/config.json", dir, t);
        char *conf = vt_slurp_must(b, NULL);
        cr_assert(strstr(conf, "\"memory\":\t\"recompute\""), "config.json says the mode: %s", conf);
        free(conf);
    }
}

/* Refused with exit 2, the JSON path and the reason, nothing written. */
static void refused(const char *json, const char *path, const char *what)
{
    vt_write_file(dir, "bad.json", json);
    char *err;
    int rc = vt_run(dir, NULL, &err, "run '%s/bad.json' -o '%s/bad' --no-plot --quiet", dir, dir);
    cr_assert_eq(rc, 2, "%s: exit %d: %s", json, rc, err);
    cr_assert(strstr(err, path) && strstr(err, what), "%s: %s", json, err);
    char out[400];
    snprintf(out, sizeof out, "%s/bad", dir);
    cr_assert_not(vt_exists(out), "nothing written for %s", json);
    free(err);
}

Test(recompute, refusals, .init = rc_mk, .fini = rc_rm, .timeout = 60)
{
    refused("{\"name\": \"x\", \"memory\": \"recompute\", \"train\": {\"dataset\": \"synthetic\"}}", "train:",
            "training keeps every weight");
    refused("{\"name\": \"x\", \"memory\": \"recompute\", \"measure\": {\"jacobian\": true}}", "measure.jacobian:",
            "every W^l");
    refused("{\"name\": \"x\", \"memory\": \"recompte\"}", "memory:", "did you mean \"recompute\"");
    refused("{\"name\": \"x\", \"memory\": 1}", "memory:", "store, recompute");
    refused("{\"name\": \"x\", \"memory_checkpoint_every\": 4}", "memory_checkpoint_every:", "only used with");
    refused("{\"name\": \"x\", \"memory\": \"recompute\", \"memory_checkpoint_every\": 0}", "memory_checkpoint_every:",
            "1");
}

/* A store run that does not fit is refused with the recompute estimate when that fits. */
Test(recompute, refusal_suggests_recompute, .init = rc_mk, .fini = rc_rm, .timeout = 60)
{
    if (getenv("ASAN_OPTIONS")) cr_skip_test("AddressSanitizer reserves terabytes of address space: no ulimit -v");
    const char *big = "{\"name\": \"deep\", \"network\": {\"depth\": 300, \"width\": 1024}, \"input\": {\"batch\": 8}}";
    vt_write_file(dir, "deep.json", big);
    char *err;
    int rc = vt_run_env(dir, "ulimit -v 1000000 && timeout -s KILL 60", NULL, &err,
                        "run '%s/deep.json' -o '%s/deep' --no-plot --quiet", dir, dir);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
    cr_assert(strstr(err, "\"memory\": \"recompute\""), "%s", err);
    free(err);
    /* the estimate the message gives is the recompute run's, well under the limit */
    vp_experiment *e;
    vp_config_opts o = { 0 };
    vp_err verr;
    const char *rcj = "{\"name\": \"deep\", \"memory\": \"recompute\", \"network\": {\"depth\": 300, \"width\": 1024}, "
                      "\"input\": {\"batch\": 8}}";
    cr_assert_eq(vp_config_parse(rcj, strlen(rcj), "rc", &o, &e, &verr), VP_OK, "%s", verr.msg);
    cr_assert_lt(vp_runner_run_bytes(e, 0), 64.0 * 1048576.0);
    vp_experiment_free(e);
    /* a config that cannot recompute (the Jacobian) gets no such suggestion */
    vt_write_file(dir, "jac.json", "{\"name\": \"jac\", \"network\": {\"depth\": 300, \"width\": 1024}, "
                                   "\"input\": {\"batch\": 8}, \"measure\": {\"jacobian\": true}}");
    rc = vt_run_env(dir, "ulimit -v 1000000 && timeout -s KILL 60", NULL, &err,
                    "run '%s/jac.json' -o '%s/jac' --no-plot --quiet", dir, dir);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
    cr_assert_not(strstr(err, "\"memory\": \"recompute\""), "%s", err); /* (the message names the file, in a
                                                                         folder whose name says recompute) */
    cr_assert(strstr(err, "one run needs about"), "%s", err);
    free(err);
}
