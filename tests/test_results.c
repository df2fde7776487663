/* Tests for the results format (src/results/results.c, csv.c, summary.c): the CSV
 * headers and rows written from the column table keep their exact bytes, the column
 * table is consistent, verdicts classify and round-trip, and the per-variant summary
 * of runs.csv (medians, ranges, verdict counts) that the charts and the report show. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results/csv.h"
#include "results/results.h"
#include "results/summary.h"
#include "results/table.h"

/* ---- writing ---- */

typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} res_mem;

static void res_open(res_mem *m)
{
    m->f = open_memstream(&m->buf, &m->len);
    cr_assert_not_null(m->f);
}

/* Close and compare the written bytes with `want`. */
static void res_check(res_mem *m, const char *want)
{
    cr_assert_eq(fclose(m->f), 0);
    cr_assert_str_eq(m->buf, want);
    free(m->buf);
}

static const char LAYERS_HEADER[] =
    "variant,activation,init,seed,layer,fan_in,fan_out,pre_mean,pre_var,post_mean,post_var,"
    "grad_pre_var,grad_post_var,wgrad_var,unit_sq_mean,unit_var,dead_frac,saturated_frac,nonfinite,subnormal";
static const char RUNS_HEADER[] = "variant,activation,init,seed,depth,batch,act_ratio,grad_ratio,act_verdict,"
                                  "grad_verdict,nonfinite,subnormal,xi_grad";

Test(vp_results, headers_keep_their_bytes)
{
    char *keys[] = { (char *)"network.init", (char *)"a,b" };
    res_mem m;
    res_open(&m);
    vp_csv_layers_header(m.f, 0, 0, NULL);
    vp_csv_layers_header(m.f, 1, 2, keys);
    vp_csv_runs_header(m.f, 0, 0, NULL);
    vp_csv_runs_header(m.f, 1, 1, keys);
    vp_csv_hist_header(m.f);
    vp_csv_jacobian_header(m.f);
    char want[2048];
    snprintf(want, sizeof want,
             "%s,pre_corr\n%s,theory_pre_var,theory_grad_pre_var,theory_chi,pre_corr,theory_pre_corr,network.init,"
             "\"a,b\"\n%s,xi_c,seconds,status\n%s,theory_chi1,theory_xi_c,xi_c,theory_xi_grad,theory_act_ratio,"
             "theory_grad_ratio,seconds,status,network.init\n"
             "variant,seed,layer,quantity,bin_lo,bin_hi,density\nvariant,seed,index,singular_value\n",
             LAYERS_HEADER, LAYERS_HEADER, RUNS_HEADER, RUNS_HEADER);
    res_check(&m, want);
}

Test(vp_results, rows_keep_their_bytes)
{
    char *vals[] = { (char *)"say \"x\"" };
    vp_csv_run run = { .variant = 3, .activation = "relu", .init = "orthogonal(gain=1,x)",
                       .seed = UINT64_MAX, .nsweep = 1, .sweep_values = vals };
    vp_csv_summary s = { .depth = 5, .batch = 16, .act_ratio = -0.0, .grad_ratio = NAN,
                         .act_verdict = "stable", .grad_verdict = "non-finite", .nonfinite = 2, .subnormal = 0,
                         .xi_grad = NAN, .theory_chi1 = NAN, .theory_xi_c = 2.5, .seconds = 1.23456,
                         .status = VP_STATUS_OK, .xi_c = 4, .theory_xi_grad = NAN, .theory_act_ratio = 0.5,
                         .theory_grad_ratio = NAN };
    res_mem m;
    res_open(&m);
    vp_csv_runs_row(m.f, &run, 1, &s);
    vp_csv_runs_row(m.f, &run, 0, &s);
    res_check(&m, "3,relu,\"orthogonal(gain=1,x)\",18446744073709551615,5,16,0,nan,stable,non-finite,2,0,,,2.5,4,,0.5,,1.235,"
                  "ok,\"say \"\"x\"\"\"\n"
                  "3,relu,\"orthogonal(gain=1,x)\",18446744073709551615,5,16,0,nan,stable,non-finite,2,0,,4,1.235,"
                  "ok,\"say \"\"x\"\"\"\n");

    vp_layer_stats st = { .layer = 1, .fan_in = 4, .fan_out = 8, .pre_mean = 0.1, .pre_var = 1.0 / 3,
                          .post_mean = INFINITY, .post_var = -INFINITY, .grad_pre_var = 2, .grad_post_var = 3,
                          .wgrad_var = 1e-300, .unit_sq_mean = 0, .unit_var = 5, .dead_frac = 0.25,
                          .saturated_frac = 0, .nonfinite = 7, .subnormal = 9, .pre_corr = 0.5 };
    double tpre = 1.5;
    res_open(&m);
    vp_csv_layers_rows(m.f, &run, 1, &st, 1, &tpre, NULL, NULL, NULL);
    vp_csv_layers_rows(m.f, &run, 1, &st, 0, NULL, NULL, NULL, NULL);
    res_check(&m, "3,relu,\"orthogonal(gain=1,x)\",18446744073709551615,1,4,8,0.1,0.333333333,inf,-inf,2,3,1e-300,"
                  "0,5,0.25,0,7,9,1.5,,,0.5,,\"say \"\"x\"\"\"\n"
                  "3,relu,\"orthogonal(gain=1,x)\",18446744073709551615,1,4,8,0.1,0.333333333,inf,-inf,2,3,1e-300,"
                  "0,5,0.25,0,7,9,0.5,\"say \"\"x\"\"\"\n");

    run.seed = 7;
    double dens[2] = { 0.5, 1.5 }, sv[2] = { 2, 0.5 };
    vp_histogram h = { .lo = 0, .hi = 1, .bins = 2, .density = dens };
    res_open(&m);
    vp_csv_hist_rows(m.f, &run, 3, vp_hist_quantity_word(VP_HIST_PRE), &h);
    vp_csv_jacobian_rows(m.f, &run, 2, sv);
    res_check(&m, "3,7,3,pre,0,0.5,0.5\n3,7,3,pre,0.5,1,1.5\n3,7,1,2\n3,7,2,0.5\n");
}

Test(vp_results, column_table_is_consistent)
{
    int used[VP_COL_COUNT] = { 0 };
    for (int c = 0; c < VP_COL_COUNT; c++) {
        const vp_column *col = vp_column_get((vp_col)c);
        cr_assert(col->name && col->name[0] && col->meaning && col->meaning[0] && col->unit, "column %d", c);
        cr_assert_eq(vp_col_name((vp_col)c), col->name);
        for (int d = 0; d < c; d++) cr_assert_str_neq(col->name, vp_col_name((vp_col)d), "name twice");
    }
    for (int f = 0; f < VP_CSV_COUNT; f++) {
        const vp_csv_layout *lay = vp_csv_layout_get((vp_csv_file)f);
        cr_assert(lay->file && lay->part && lay->ncols > 0);
        cr_assert_eq(lay->cols[0], VP_COL_VARIANT, "every file starts with the variant");
        for (size_t i = 0; i < lay->ncols; i++) used[lay->cols[i]] = 1;
    }
    for (int c = 0; c < VP_COL_COUNT; c++) cr_assert(used[c], "column %s is in no file", vp_col_name((vp_col)c));
    cr_assert_str_eq(vp_csv_layout_get(VP_CSV_RUNS)->file, VP_FILE_RUNS);
    cr_assert_str_eq(vp_hist_quantity_word(VP_HIST_GRAD_PRE), "grad_pre");
}

Test(vp_results, verdicts)
{
    cr_assert_eq(vp_verdict_classify(0.05, 0), VP_VERDICT_VANISHING);
    cr_assert_eq(vp_verdict_classify(NAN, 0), VP_VERDICT_VANISHING); /* 0/0: underflowed to zero */
    cr_assert_eq(vp_verdict_classify(INFINITY, 0), VP_VERDICT_EXPLODING);
    cr_assert_eq(vp_verdict_classify(20, 0), VP_VERDICT_EXPLODING);
    cr_assert_eq(vp_verdict_classify(1.0 / VP_STABLE_BAND, 0), VP_VERDICT_STABLE);
    cr_assert_eq(vp_verdict_classify(VP_STABLE_BAND, 0), VP_VERDICT_STABLE);
    cr_assert_eq(vp_verdict_classify(1, 3), VP_VERDICT_NONFINITE);
    for (int v = 0; v < VP_VERDICT_COUNT; v++)
        cr_assert_eq(vp_verdict_parse(vp_verdict_word((vp_verdict)v)), v);
    cr_assert_str_eq(vp_verdict_word(VP_VERDICT_NONFINITE), "non-finite");
    cr_assert_eq(vp_verdict_parse("bogus"), VP_VERDICT_OTHER);
    cr_assert_eq(vp_verdict_parse(""), VP_VERDICT_OTHER);
}

Test(vp_results, medians_and_ranges)
{
    vp_stat s = vp_stat_of(NULL, 0);
    cr_assert(s.n == 0 && isnan(s.med) && isnan(s.lo) && isnan(s.hi));
    double odd[] = { 3, 1, 2 }, even[] = { 4, 1, 3, 2 };
    s = vp_stat_of(odd, 3);
    cr_assert(s.n == 3 && s.med == 2 && s.lo == 1 && s.hi == 3);
    cr_assert_eq(vp_median(even, 4), 2.5);
    cr_assert(even[0] == 1 && even[3] == 4, "sorted in place");
}

/* ---- the runs.csv summary ---- */

static vp_table *res_table(const char *text)
{
    vp_table *t = NULL;
    vp_err err = { "" };
    cr_assert_eq(vp_table_parse(text, strlen(text), "runs.csv", &t, &err), VP_OK, "%s", err.msg);
    return t;
}

static const char RUNS[] = "variant,activation,init,seed,act_ratio,grad_ratio,act_verdict,grad_verdict,status\n"
                           "2,tanh,he,0,0.5,2,stable,stable,ok\n"
                           "0,relu,he,0,0,1,vanishing,stable,ok\n"
                           "0,relu,he,1,inf,1,exploding,stable,ok\n"
                           "2,tanh,he,1,nan,x,non-finite,stable,failed\n"
                           "2,tanh,he,2,0.25,4,stable,bogus,ok\n";

Test(vp_summary, groups_ratios_and_verdicts)
{
    vp_table *t = res_table(RUNS);
    vp_summary s;
    vp_err err = { "" };
    cr_assert_eq(vp_summary_build(t, &s, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(s.nvar, 2);
    const vp_variant_summary *a = &s.var[0], *b = &s.var[1];
    cr_assert(a->id == 0 && a->first_row == 1 && a->nrows == 2 && a->nok == 2);
    cr_assert(b->id == 2 && b->first_row == 0 && b->nrows == 3 && b->nok == 2);
    cr_assert(b->ok[0] == 0 && b->ok[1] == 4, "the failed run is left out");

    const vp_ratio_summary *r = &a->ratio[VP_RATIO_ACT]; /* 0 and inf */
    cr_assert(r->n == 2 && r->finite.n == 1 && r->finite.med == 0 && r->positive.n == 0 && isnan(r->positive.med));
    cr_assert_eq(r->special, 0, "the first value a log axis cannot draw");
    cr_assert(r->nseen == 2 && r->seen[0] == VP_VERDICT_VANISHING && r->seen[1] == VP_VERDICT_EXPLODING);
    cr_assert_eq(r->majority, VP_VERDICT_VANISHING, "a tie goes to the lower verdict");

    r = &b->ratio[VP_RATIO_ACT]; /* 0.5 and 0.25 */
    cr_assert(r->positive.n == 2 && r->positive.med == 0.375 && r->positive.lo == 0.25 && r->positive.hi == 0.5);
    cr_assert(isnan(r->special) && r->majority == VP_VERDICT_STABLE && r->votes[VP_VERDICT_STABLE] == 2);
    r = &b->ratio[VP_RATIO_GRAD]; /* the failed row's "x" is never parsed */
    cr_assert(r->nseen == 2 && r->seen[1] == VP_VERDICT_OTHER && r->majority == VP_VERDICT_STABLE);

    cr_assert_null(vp_summary_find(&s, 1));
    cr_assert_eq(vp_summary_find(&s, 2), b);
    r = vp_summary_ratio(&s, 1, VP_RATIO_GRAD);
    cr_assert(r->n == 0 && isnan(r->positive.med) && isnan(r->special) && r->majority == VP_VERDICT_OTHER);
    double v[3];
    size_t col = (size_t)vp_table_find_col(t, VP_COL_GRAD_RATIO);
    cr_assert_eq(vp_summary_values(&s, b, col, v, &err), VP_OK);
    cr_assert(v[0] == 2 && v[1] == 4);
    vp_summary_free(&s);
    vp_summary_free(&s); /* safe twice */
    vp_table_free(t);
}

static void res_bad(const char *text, const char *want)
{
    vp_table *t = res_table(text);
    vp_summary s;
    vp_err err = { "" };
    cr_assert_eq(vp_summary_build(t, &s, &err), VP_ERR_DATA, "expected an error for %s", want);
    cr_assert(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
    cr_assert_null(s.var);
    vp_table_free(t);
}

Test(vp_summary, clear_errors)
{
    res_bad("variant,act_ratio,grad_ratio,act_verdict\n0,1,1,stable\n", "no column named 'grad_verdict'");
    res_bad("act_ratio\n1\n", "no column named 'variant'");
    res_bad("variant,act_ratio,grad_ratio,act_verdict,grad_verdict\n1.5,1,1,stable,stable\n",
            "runs.csv:2: column 'variant': '1.5' is not an integer in [0, 1000000]");
    res_bad("variant,act_ratio,grad_ratio,act_verdict,grad_verdict\n0,abc,1,stable,stable\n",
            "runs.csv:2: column 'act_ratio': 'abc' is not a number");
}

/* Every CSV a run can write is staged and published (vp_results_files is the
 * publishing list; lengths.csv was once missing from it and never appeared). */
Test(results, every_csv_layout_is_published)
{
    for (int f = 0; f < VP_CSV_COUNT; f++) {
        const char *name = vp_csv_layout_get((vp_csv_file)f)->file;
        int found = 0;
        for (const char *const *n = vp_results_files(); *n; n++) found |= strcmp(*n, name) == 0;
        cr_expect(found, "%s is not in vp_results_files()", name);
    }
}
