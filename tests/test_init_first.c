/* vp_init_weight_range: entries [start, start + k) of a weight, drawn alone, are the
 * same bits as those of the whole draw, for every weight initializer whose entries
 * are independent (so `varprop init --count 1` of a 20000 x 20000 weight draws one
 * value, not 400 million, and a network draws its weights in chunks that stay in
 * cache); sparse and orthogonal say they need the whole matrix. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "core/init.h"
#include "core/rng.h"
#include "experiment/spec.h"
#include "harness.h"

enum { FO = 29, FI = 31, N = FO * FI };

/* Every range of `in`'s draw against the whole draw: 1 when it is entrywise (every range
 * the same bits, nothing written past it), 0 when it needs the whole matrix. */
static int ranges_match(const vp_init *in, const char *name, double *whole, double *part)
{
    const size_t ks[] = { 0, 1, 7, 31, 32, 500, N };
    /* even and odd starts (the lane-parallel generators take even ones), one past a
     * 16-entry block, the last entry, and past the end */
    const size_t starts[] = { 0, 1, 2, 17, 64, 333, N - 1, N, N + 5 };
    vp_err err;
    vp_rng rng = vp_rng_make(11, 3, VP_RNG_WEIGHT);
    cr_assert_eq(vp_init_weight(in, FO, FI, &rng, whole, &err), VP_OK, "%s: %s", name, err.msg);
    int entrywise = -1;
    for (size_t j = 0; j < sizeof ks / sizeof *ks; j++)
        for (size_t t = 0; t < sizeof starts / sizeof *starts; t++) {
            size_t st = starts[t], want = st >= N ? 0 : (ks[j] < N - st ? ks[j] : N - st);
            int done = -1;
            memset(part, 0xff, N * sizeof *part);
            cr_assert_eq(vp_init_weight_range(in, FO, FI, st, ks[j], &rng, part, &done, &err), VP_OK, "%s", err.msg);
            cr_assert(entrywise < 0 || done == entrywise, "%s: entrywise for some ranges only", name);
            entrywise = done;
            if (!done) continue;
            cr_assert_eq(memcmp(part, whole + (st < N ? st : N), want * sizeof *part), 0, "%s: [%zu, %zu + %zu) differ",
                         name, st, st, ks[j]);
            if (want < N) { /* nothing past the range (clipped to the weight) is written */
                unsigned char ff[sizeof(double)];
                memset(ff, 0xff, sizeof ff);
                cr_assert_eq(memcmp(&part[want], ff, sizeof ff), 0, "%s wrote past [%zu, %zu + %zu)", name, st, st,
                             ks[j]);
            }
        }
    return entrywise;
}

Test(init_first, any_range_equals_the_whole_draw_for_every_entrywise_row)
{
    double *whole = malloc(N * sizeof *whole), *part = malloc(N * sizeof *part);
    cr_assert(whole && part);
    int entrywise = 0, whole_only = 0;
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        const vp_init_info *info = vp_init_get((vp_init_kind)k);
        if (!info->weight_ok || info->data_dependent) continue;
        for (int single = 0; single < 2; single++) {
            vp_init in = vp_init_default((vp_init_kind)k);
            in.single = single;
            vp_err err;
            vp_act relu = vp_act_default(VP_ACT_RELU);
            cr_assert_eq(vp_spec_resolve_gains(&in, &relu, &err), VP_OK, "%s: %s", info->name, err.msg);
            int e = ranges_match(&in, info->name, whole, part);
            entrywise += e && !single;
            whole_only += !e && !single;
        }
    }
    cr_assert_eq(whole_only, 2, "sparse and orthogonal need the whole matrix (got %d)", whole_only);
    cr_assert_geq(entrywise, 15, "entrywise rows: %d", entrywise);
    /* trunc_normal's other regime: a window of 2% of the mass, drawn by uniform proposals
     * (attempt k of element i), not by redrawing normals */
    vp_init tn = vp_init_default(VP_INIT_TRUNC_NORMAL);
    tn.p[2] = 2;
    tn.p[3] = 3;
    cr_assert_eq(ranges_match(&tn, "trunc_normal(a=2,b=3)", whole, part), 1);
    free(whole);
    free(part);
}

/* Through the CLI: one value of a 20000 x 20000 he_normal weight is drawn alone (it
 * drew 400 M values, 3.2 GB, before); an orthogonal weight that cannot fit in memory
 * is refused with exit 2 and the estimate, before anything is allocated. */
Test(init_first, cli_draws_what_it_prints_and_refuses_what_cannot_fit)
{
    char dir[256], *out = NULL, *err = NULL;
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-initfirst-");
    cr_assert_eq(vt_run(dir, &out, &err, "init he_normal --fan-in 20000 --fan-out 20000 --count 1"), 0, "%s", err);
    size_t lines = 0;
    for (const char *p = out; *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 1, "one value: %s", out);
    cr_assert(strstr(err, ": 1 value, mean"), "%s", err);
    free(out); free(err);
    cr_assert_eq(vt_run(dir, &out, &err, "init orthogonal --fan-in 1000000 --fan-out 1000000 --count 1"), 2, "%s", err);
    cr_assert(strstr(err, "MiB") && strstr(err, "whole"), "%s", err);
    free(out); free(err);
    vt_rmtree(dir);
}
