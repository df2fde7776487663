/* test_reproduce: the paper suite (issue 16).
 *
 *  - the --fast suite of experiments/ as `make test` runs it: every claim that can run
 *    today is PASS, every NOT RUN claim says why (an issue that is not done), every
 *    FULL ONLY claim (a training run with no honest --fast version) says why, the exit
 *    code says whether all passed (FULL ONLY does not count against it), and report.md
 *    has every claim;
 *  - a full_only run is skipped by --fast and run without it;
 *  - checks.json errors: exit 2 with the JSON path, what is allowed and a did-you-mean,
 *    nothing written (not even the output folder);
 *  - the evaluation's arithmetic on hand-made CSV files: a mean's jackknife SE is
 *    s/sqrt(S) exactly, a difference leaves a seed out of both sides, a slope is exact.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "experiment/reproduce.h"
#include "experiment/reproduce_checks.h"
#include "harness.h"

/* ---- the fast suite ---- */

Test(reproduce, fast_suite_every_runnable_claim_passes, .timeout = 1800)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-repro-fast");
    char *out = NULL, *errs = NULL;
    int rc = vt_run(dir, &out, &errs, "reproduce all --fast --quiet --threads 2 -o %s/out --suite %s/experiments",
                    dir, vt_root());
    char path[512];
    snprintf(path, sizeof path, "%s/out/verdicts.json", dir);
    char *text = vt_slurp_text(path);
    cr_assert(text, "no verdicts.json (exit %d): %s", rc, errs);
    cJSON *root = cJSON_Parse(text);
    cr_assert(root);
    snprintf(path, sizeof path, "%s/out/report.md", dir);
    char *report = vt_slurp_text(path);
    cr_assert(report, "no report.md");
    int pass = 0, not_run = 0, full_only = 0, papers = 0;
    const cJSON *p, *c;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(root, "papers"))
    {
        papers++;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(p, "claims"))
        {
            const char *id = cJSON_GetObjectItem(c, "id")->valuestring, *v = cJSON_GetObjectItem(c, "verdict")->valuestring,
                       *why = cJSON_GetObjectItem(c, "reason")->valuestring;
            cr_expect(strstr(report, id), "report.md lacks claim %s", id);
            if (strcmp(v, "NOT RUN") == 0) {
                not_run++;
                /* a NOT RUN claim names the unfinished work it waits for */
                cr_expect(strstr(why, "issue") || strstr(why, "#1"), "%s: NOT RUN without a reason: '%s'", id, why);
                continue;
            }
            if (strcmp(v, "FULL ONLY") == 0) {
                full_only++;
                /* the run's reason: why a short version would not be honest */
                cr_expect(strstr(why, "full suite only: ") && strstr(why, "--fast"), "%s: FULL ONLY without a reason: '%s'",
                          id, why);
                continue;
            }
            const cJSON *m = cJSON_GetObjectItem(c, "measured");
            cr_expect_str_eq(v, "PASS", "%s/%s: %s, measured %g: %s", p->child->valuestring, id, v,
                             cJSON_IsNumber(m) ? m->valuedouble : NAN, why);
            pass += strcmp(v, "PASS") == 0;
        }
    }
    cr_expect_geq(papers, 10, "every paper folder of experiments/ runs");
    cr_expect_geq(pass, 38, "the runnable claims (brock2021's SPPs among them)");
    cr_expect_geq(full_only, 10, "the training claims: judged by the full suite only");
    cr_expect_eq(rc, not_run ? 1 : 0, "exit 0 only when every claim passes (stderr: %s)", errs);
    cr_expect(strstr(out, "PASS"), "summary line: %s", out);
    snprintf(path, sizeof path, "%s/out/he2015-claims.png", dir);
    cr_expect(vt_exists(path), "the claims chart (gnuplot is a dependency of the suite)");
    /* every claims chart's title in lines of at most 110 characters (a paper's full title ran off the page) */
    static const char *const papers_titled[] = { "brock2021", "he2015", "glorot2010" };
    for (size_t k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/out/%s-claims.gp", dir, papers_titled[k]);
        char *gp = vt_slurp_text(path);
        if (!gp) continue; /* a paper without a "near" claim draws none */
        const char *tl = strstr(gp, "set title ");
        cr_assert(tl, "%s: %.200s", path, gp);
        size_t run = 0;
        for (const char *q = tl + 10; *q && *q != '\n' && strncmp(q, " noenhanced", 11) != 0; q++) {
            if (strncmp(q, "\"\\n\"", 4) == 0) run = 0;
            else run++;
            cr_expect(run <= 110 + 4, "%s: a title line over 110 characters: %.300s", path, tl);
            if (run > 114) break;
        }
        free(gp);
    }
    cJSON_Delete(root);
    free(text), free(report), free(out), free(errs);
    vt_rmtree(dir);
}

/* ---- checks.json errors ---- */

static const char TINY_CONFIG[] =
    "{\"name\": \"tiny\", \"seeds\": 2, \"network\": {\"depth\": 3, \"width\": 8}, \"input\": {\"batch\": 4}}";

/* A fresh folder DIR holding a suite DIR/suite/p/ with the config c.json (the tiny one
 * when NULL) and `checks`. */
static void make_suite(char *dir, size_t len, const char *prefix, const char *config, const char *checks)
{
    char sub[300];
    vt_mktmp(dir, len, prefix);
    snprintf(sub, sizeof sub, "%s/suite", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/suite/p", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    vt_write_file(sub, "c.json", config ? config : TINY_CONFIG);
    vt_write_file(sub, "checks.json", checks);
}

/* make_suite (with `config`, or the tiny one when NULL), then reproduce p; asserts exit 2,
 * a message holding every `want`, and no output folder. */
static void expect_refused_with(const char *config, const char *checks, const char *want1, const char *want2)
{
    char dir[256];
    make_suite(dir, sizeof dir, "/tmp/varprop-repro-bad", config, checks);
    char *errs = NULL;
    int rc = vt_run(dir, NULL, &errs, "reproduce p --suite %s/suite -o %s/out", dir, dir);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, errs);
    cr_expect(strstr(errs, want1), "'%s' not in: %s", want1, errs);
    if (want2) cr_expect(strstr(errs, want2), "'%s' not in: %s", want2, errs);
    char out[300];
    snprintf(out, sizeof out, "%s/out", dir);
    cr_expect(!vt_exists(out), "nothing written on a checks.json error");
    free(errs);
    vt_rmtree(dir);
}

static void expect_refused(const char *checks, const char *want1, const char *want2)
{
    expect_refused_with(NULL, checks, want1, want2);
}

#define CLAIM_HEAD "\"id\": \"a\", \"statement\": \"s\", \"tag\": \"t\", \"source\": \"x\", \"why_tol\": \"w\", "
#define RUNS "\"paper\": \"P\", \"runs\": [{\"id\": \"r\", \"config\": \"c.json\"}], "
/* the claims of a suite whose one claim on run r always passes */
#define ONE_CLAIM                                                                                                  \
    "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", "                                                \
    "\"quantity\": {\"file\": \"runs.csv\", \"column\": \"act_ratio\"}, \"expect\": {\"max\": 1e9}}]}"

Test(reproduce_checks, unknown_key_names_its_path_and_the_near_key)
{
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"statment\": \"s\", \"run\": \"r\", \"figure\": \"f\", "
                   "\"quantity\": {\"file\": \"runs.csv\", \"column\": \"act_ratio\"}, \"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].statment: unknown key", "did you mean \"statement\"");
}

Test(reproduce_checks, unknown_column_and_file_are_refused_with_did_you_mean)
{
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", "
                   "\"quantity\": {\"file\": \"layers.csv\", \"column\": \"pre_vra\"}, \"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].quantity.column", "did you mean \"pre_var\"");
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", "
                   "\"quantity\": {\"file\": \"layer.csv\", \"column\": \"pre_var\"}, \"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].quantity.file", "did you mean \"layers.csv\"");
}

Test(reproduce_checks, unknown_run_and_bad_expectations_are_refused)
{
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"rr\", \"figure\": \"f\", "
                   "\"quantity\": {\"file\": \"runs.csv\", \"column\": \"act_ratio\"}, \"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].run: \"rr\" is not a run of this paper", "did you mean \"r\"");
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", "
                   "\"quantity\": {\"file\": \"runs.csv\", \"column\": \"act_ratio\"}, \"expect\": {\"value\": 1}}]}",
                   "checks.claims[0].expect: value needs exactly one of tol, rel_tol", NULL);
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", "
                   "\"quantity\": {\"file\": \"runs.csv\", \"column\": \"act_ratio\", \"stat\": \"slop\"}, "
                   "\"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].quantity.stat: \"slop\" is not known", "did you mean \"slope\"");
}

Test(reproduce_checks, a_bad_fast_override_is_a_config_error_before_any_run)
{
    char dir[256], sub[300];
    make_suite(dir, sizeof dir, "/tmp/varprop-repro-fastbad", NULL,
                  "{\"paper\": \"P\", \"runs\": [{\"id\": \"r\", \"config\": \"c.json\", \"fast\": {\"network.widht\": 4}}], "
                  ONE_CLAIM);
    char *errs = NULL;
    int rc = vt_run(dir, NULL, &errs, "reproduce p --fast --suite %s/suite -o %s/out", dir, dir);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, errs);
    cr_expect(strstr(errs, "network.widht"), "%s", errs);
    snprintf(sub, sizeof sub, "%s/out", dir);
    cr_expect(!vt_exists(sub));
    /* without --fast the same suite runs, and its one claim passes: exit 0 */
    free(errs);
    rc = vt_run(dir, NULL, &errs, "reproduce p --quiet --suite %s/suite -o %s/out", dir, dir);
    cr_expect_eq(rc, 0, "exit %d: %s", rc, errs);
    free(errs);
    vt_rmtree(dir);
}

/* A suite's config is read as strictly as one given to `run` (vp_config_json): a number
 * outside JSON's grammar is refused where it is in the file (cJSON took 010 as 10, and
 * the message named the text printed back, not the file's line). */
Test(reproduce_checks, a_suite_config_is_strict_json_named_by_line_and_column)
{
    expect_refused_with("{\"name\": \"tiny\", \"seeds\": 2,\n \"network\": {\"depth\": 03, \"width\": 8}}",
                        "{" RUNS ONE_CLAIM, "p/c.json:2:23: not valid JSON: the number 03;", NULL);
}

Test(reproduce_checks, per_layers_goes_with_a_slope_and_full_only_with_a_reason)
{
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", "
                   "\"quantity\": {\"file\": \"layers.csv\", \"column\": \"pre_var\", \"per_layers\": 3}, "
                   "\"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].quantity.per_layers: goes with \"stat\": \"slope\" only", NULL);
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", "
                   "\"quantity\": {\"file\": \"layers.csv\", \"column\": \"pre_var\", \"stat\": \"slope\", "
                   "\"per_layers\": 0.5}, \"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].quantity.per_layers: must be a number of layer rows", NULL);
    expect_refused("{\"paper\": \"P\", \"runs\": [{\"id\": \"r\", \"config\": \"c.json\", \"full_only\": true}], "
                   ONE_CLAIM,
                   "checks.runs[0].full_only: must be a non-empty string", NULL);
}

Test(reproduce, a_full_only_run_is_skipped_by_fast_and_judged_without_it)
{
    char dir[256], sub[300];
    make_suite(dir, sizeof dir, "/tmp/varprop-repro-fullonly", NULL,
               "{\"paper\": \"P\", \"runs\": [{\"id\": \"r\", \"config\": \"c.json\", \"full_only\": \"too long\"}], "
               ONE_CLAIM);
    char *out = NULL, *errs = NULL;
    int rc = vt_run(dir, &out, &errs, "reproduce p --fast --quiet --suite %s/suite -o %s/out", dir, dir);
    cr_expect_eq(rc, 0, "FULL ONLY does not fail the suite: exit %d: %s", rc, errs);
    cr_expect(strstr(out, "0 PASS, 0 FAIL, 0 NOT RUN, 1 FULL ONLY"), "%s", out);
    snprintf(sub, sizeof sub, "%s/out/p/r", dir);
    cr_expect(!vt_exists(sub), "--fast does not run a full_only run");
    snprintf(sub, sizeof sub, "%s/out/report.md", dir);
    char *report = vt_slurp_text(sub);
    cr_assert(report);
    cr_expect(strstr(report, "judged by the full suite only: too long"), "%s", report);
    free(report), free(out), free(errs);
    out = errs = NULL;
    rc = vt_run(dir, &out, &errs, "reproduce p --quiet --suite %s/suite -o %s/out", dir, dir);
    cr_expect_eq(rc, 0, "exit %d: %s", rc, errs);
    cr_expect(strstr(out, "1 PASS"), "%s", out);
    snprintf(sub, sizeof sub, "%s/out/p/r/runs.csv", dir);
    cr_expect(vt_exists(sub), "the full suite runs it");
    free(out), free(errs);
    vt_rmtree(dir);
}

Test(reproduce, unknown_paper_is_a_usage_error_with_did_you_mean)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-repro-name");
    char *errs = NULL;
    int rc = vt_run(dir, NULL, &errs, "reproduce he2105 --suite %s/experiments -o %s/out", vt_root(), dir);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(errs, "unknown paper he2105") && strstr(errs, "did you mean \"he2015\""), "%s", errs);
    free(errs);
    /* no NAME: the papers are listed; no suite folder: says where it is looked for */
    rc = vt_run(dir, NULL, &errs, "reproduce --suite %s/experiments -o %s/out", vt_root(), dir);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(errs, "missing NAME: one of all,") && strstr(errs, "he2015"), "%s", errs);
    free(errs);
    rc = vt_run(dir, NULL, &errs, "reproduce all --suite %s/no-such-suite -o %s/out", dir, dir);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(errs, "no such suite folder") && strstr(errs, "--suite"), "%s", errs);
    free(errs);
    char p[400];
    snprintf(p, sizeof p, "%s/out", dir);
    cr_expect_not(vt_exists(p), "a refused reproduce made its folder");
    vt_rmtree(dir);
}

/* A checks.json of nruns runs r0.. and nclaims claims c0.. on run r<nruns - 1>, near the
 * 1-MiB limit for 10000 and 3000; the last run's id, the last claim's id or its run
 * replaced when given (malloc'ed). */
static char *long_checks(int nruns, int nclaims, const char *last_run, const char *last_claim, const char *last_on)
{
    char *t = malloc((size_t)nruns * 48 + (size_t)nclaims * 240 + 64), id[32], on[32];
    cr_assert_not_null(t);
    size_t u = (size_t)sprintf(t, "{\"paper\": \"P\", \"runs\": [");
    for (int i = 0; i < nruns; i++) {
        snprintf(id, sizeof id, "r%d", i);
        u += (size_t)sprintf(t + u, "%s{\"id\": \"%s\", \"config\": \"c.json\"}", i ? ", " : "",
                             i + 1 == nruns && last_run ? last_run : id);
    }
    u += (size_t)sprintf(t + u, "], \"claims\": [");
    snprintf(on, sizeof on, "r%d", nruns - 1);
    for (int i = 0; i < nclaims; i++) {
        int last = i + 1 == nclaims;
        snprintf(id, sizeof id, "c%d", i);
        u += (size_t)sprintf(t + u, "%s{\"id\": \"%s\", \"statement\": \"s\", \"tag\": \"t\", \"source\": \"x\", "
                             "\"why_tol\": \"w\", \"run\": \"%s\", \"figure\": \"f\", \"quantity\": {\"file\": "
                             "\"runs.csv\", \"column\": \"act_ratio\"}, \"expect\": {\"max\": 1e9}}",
                             i ? ", " : "", last && last_claim ? last_claim : id, last && last_on ? last_on : on);
    }
    strcpy(t + u, "]}");
    return t;
}

static void long_checks_refused(char *text, const char *want)
{
    vp_repro_paper p;
    vp_err err = { "" };
    cr_assert_eq(vp_repro_paper_parse(text, strlen(text), "t", "p", 0, &p, &err), VP_ERR_CONFIG, "accepted");
    cr_assert(strstr(err.msg, want), "'%s' not in: %s", want, err.msg);
    free(text);
}

/* The longest checks.json (1 MiB: 10000 runs, 3000 claims) is read whole, and a repeated
 * id or an unknown run in its last entry is named there. (Every id was compared with
 * every earlier one, and every claim's run looked up by formatting the list of runs:
 * seconds for such a file.) */
Test(reproduce_checks, the_longest_checks_file_names_an_error_in_its_last_entry)
{
    char *text = long_checks(10000, 3000, NULL, NULL, NULL);
    cr_assert_leq(strlen(text), (size_t)1 << 20);
    vp_repro_paper p;
    vp_err err;
    cr_assert_eq(vp_repro_paper_parse(text, strlen(text), "t", "p", 0, &p, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(p.nruns, 10000);
    cr_assert_eq(p.nclaims, 3000);
    cr_assert_str_eq(p.claims[2999].id, "c2999");
    cr_assert_str_eq(p.claims[2999].run, "r9999");
    vp_repro_paper_free(&p);
    free(text);
    long_checks_refused(long_checks(10000, 3000, "r0", NULL, NULL), "checks.runs[9999]: id \"r0\" is used twice");
    long_checks_refused(long_checks(10000, 3000, NULL, "c0", NULL), "checks.claims[2999]: id \"c0\" is used twice");
    long_checks_refused(long_checks(10000, 3000, NULL, NULL, "r10000"),
                        "checks.claims[2999].run: \"r10000\" is not a run of this paper");
}

/* ---- the evaluation on hand-made files ---- */

/* One claim's quantity, parsed from JSON text by the real reader. */
static vp_repro_paper one_claim(const char *quantity)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", \"quantity\": %s, "
             "\"expect\": {\"max\": 1}}]}",
             quantity);
    vp_repro_paper p;
    vp_err err;
    cr_assert_eq(vp_repro_paper_parse(text, strlen(text), "t", "p", 0, &p, &err), VP_OK, "%s", err.msg);
    return p;
}

static double eval(const char *dir, const char *quantity, double *se, int *ns)
{
    vp_repro_paper p = one_claim(quantity);
    vp_repro_tables tb = { .t = { NULL } };
    snprintf(tb.dir, sizeof tb.dir, "%s", dir);
    double v = NAN;
    vp_err err;
    vp_repro_curve curve;
    cr_assert_eq(vp_repro_eval(p.claims[0].q, &tb, &v, se, ns, &curve, &err), VP_OK, "%s", err.msg);
    vp_repro_tables_free(&tb);
    vp_repro_paper_free(&p);
    return v;
}

Test(reproduce_eval, jackknife_of_a_mean_is_the_standard_error)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-repro-eval");
    /* variant 0: 5 seeds of act_ratio; variant 1: the same + 1 */
    const double x[5] = { 1.0, 2.0, 4.0, 3.5, 0.5 };
    char csv[1024];
    size_t at = (size_t)snprintf(csv, sizeof csv, "variant,init,seed,act_ratio\n");
    for (int v = 0; v < 2; v++)
        for (int s = 0; s < 5; s++)
            at += (size_t)snprintf(csv + at, sizeof csv - at, "%d,%s,%d,%.17g\n", v, v ? "b" : "a", s, x[s] + v);
    vt_write_file(dir, "runs.csv", csv);
    double mean = 0, ss = 0, se;
    for (int s = 0; s < 5; s++) mean += x[s] / 5;
    for (int s = 0; s < 5; s++) ss += (x[s] - mean) * (x[s] - mean);
    int ns;
    double m = eval(dir, "{\"file\": \"runs.csv\", \"where\": {\"init\": \"a\"}, \"column\": \"act_ratio\"}", &se, &ns);
    cr_expect_float_eq(m, mean, 1e-14);
    cr_expect_float_eq(se, sqrt(ss / 4 / 5), 1e-14, "delete-one jackknife of a mean = s/sqrt(S)");
    cr_expect_eq(ns, 5);
    /* b - a is 1 for every seed: a difference leaves the same seed out of both sides */
    m = eval(dir, "{\"diff\": [{\"file\": \"runs.csv\", \"where\": {\"init\": \"b\"}, \"column\": \"act_ratio\"}, "
                  "{\"file\": \"runs.csv\", \"where\": {\"init\": \"a\"}, \"column\": \"act_ratio\"}]}", &se, &ns);
    cr_expect_float_eq(m, 1.0, 1e-14);
    cr_expect_float_eq(se, 0.0, 1e-14);
    /* log2 of the mean */
    m = eval(dir, "{\"file\": \"runs.csv\", \"where\": {\"init\": \"a\"}, \"column\": \"act_ratio\", \"seeds\": \"log2_mean\"}",
             &se, &ns);
    cr_expect_float_eq(m, log2(mean), 1e-14);
    vt_rmtree(dir);
}

Test(reproduce_eval, slope_norm_var_and_filters_through_runs_csv)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-repro-eval2");
    /* layers.csv: log2 v = -1.5 layer + seed, so the slope is -1.5 for every seed */
    char csv[4096];
    size_t at = (size_t)snprintf(csv, sizeof csv, "variant,seed,layer,pre_var\n");
    for (int s = 0; s < 3; s++)
        for (int l = 1; l <= 6; l++) at += (size_t)snprintf(csv + at, sizeof csv - at, "0,%d,%d,%.17g\n", s, l, exp2(-1.5 * l + s));
    vt_write_file(dir, "layers.csv", csv);
    double se;
    int ns;
    double m = eval(dir, "{\"file\": \"layers.csv\", \"column\": \"pre_var\", \"transform\": \"log2\", \"stat\": \"slope\"}",
                    &se, &ns);
    cr_expect_float_eq(m, -1.5, 1e-12);
    cr_expect_float_eq(se, 0.0, 1e-12);
    /* per_layers 3: x counts blocks of 3 layer rows, so the slope is 3 times the per-row one */
    m = eval(dir, "{\"file\": \"layers.csv\", \"column\": \"pre_var\", \"transform\": \"log2\", \"stat\": \"slope\", "
                  "\"per_layers\": 3}", &se, &ns);
    cr_expect_float_eq(m, -4.5, 1e-12);
    /* jacobian.csv has no init column: the filter goes through runs.csv's variants */
    vt_write_file(dir, "runs.csv", "variant,init,seed\n0,g,0\n0,g,1\n1,o,0\n1,o,1\n");
    vt_write_file(dir, "jacobian.csv",
                  "variant,seed,index,singular_value\n0,0,0,2\n0,0,1,0\n0,1,0,2\n0,1,1,0\n1,0,0,1\n1,0,1,1\n1,1,0,1\n1,1,1,1\n");
    m = eval(dir, "{\"file\": \"jacobian.csv\", \"where\": {\"init\": \"g\"}, \"column\": \"singular_value\", "
                  "\"transform\": \"square\", \"stat\": \"norm_var\"}", &se, &ns);
    cr_expect_float_eq(m, 1.0, 1e-14, "s^2 in {4, 0}: mean 2, mean square 8, 8/4 - 1 = 1");
    m = eval(dir, "{\"file\": \"jacobian.csv\", \"where\": {\"init\": \"o\"}, \"column\": \"singular_value\", "
                  "\"shift\": -1, \"stat\": \"max_abs\"}", &se, &ns);
    cr_expect_float_eq(m, 0.0, 1e-14);
    vt_rmtree(dir);
}

Test(reproduce_eval, training_files_and_a_sweep_filter_through_runs_csv)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-repro-eval3");
    /* eval.csv has no sweep columns: {"network.depth": 60} selects variant 1 through runs.csv,
     * "epoch": 1 the row after the first epoch */
    vt_write_file(dir, "runs.csv", "variant,init,seed,network.depth\n0,g,0,10\n0,g,1,10\n1,g,0,60\n1,g,1,60\n");
    vt_write_file(dir, "eval.csv",
                  "variant,activation,init,seed,epoch,step,test_loss,test_acc,train_acc\n"
                  "0,tanh,g,0,0,0,2.3,0.1,0.1\n0,tanh,g,0,1,9,0.5,0.8,0.81\n0,tanh,g,1,0,0,2.3,0.1,0.1\n0,tanh,g,1,1,9,0.4,0.9,0.91\n"
                  "1,tanh,g,0,0,0,2.3,0.1,0.1\n1,tanh,g,0,1,9,2.2,0.2,0.21\n1,tanh,g,1,0,0,2.3,0.1,0.1\n1,tanh,g,1,1,9,2.3,0.1,0.11\n");
    double se;
    int ns;
    double m = eval(dir, "{\"file\": \"eval.csv\", \"where\": {\"network.depth\": 60, \"epoch\": 1}, \"column\": \"train_acc\"}",
                    &se, &ns);
    cr_expect_float_eq(m, 0.16, 1e-12, "the mean of 0.21 and 0.11");
    cr_expect_float_eq(se, 0.05, 1e-12, "s/sqrt(2) of two seeds");
    cr_expect_eq(ns, 2);
    /* a difference of the two depths' test losses after the epoch: (2.2 + 2.3)/2 - (0.5 + 0.4)/2 */
    m = eval(dir, "{\"diff\": [{\"file\": \"eval.csv\", \"where\": {\"network.depth\": 60, \"epoch\": 1}, \"column\": \"test_loss\"}, "
                  "{\"file\": \"eval.csv\", \"where\": {\"network.depth\": 10, \"epoch\": 1}, \"column\": \"test_loss\"}]}",
             &se, &ns);
    cr_expect_float_eq(m, 1.8, 1e-12);
    vt_rmtree(dir);
}

Test(reproduce_eval, first_below_is_the_first_step_at_the_threshold_censored_by_never)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-repro-eval4");
    /* train.csv, rows out of step order on purpose: seed 0 first gets to loss <= 1 at step
     * 30 (the dip at 20 is 1.2), seed 1 at step 10, seed 2 never (it diverges: NaN at 40) */
    vt_write_file(dir, "train.csv",
                  "variant,activation,init,seed,epoch,step,loss,lr,grad_norm\n"
                  "0,relu,a,0,1,30,0.9,0.1,1\n0,relu,a,0,1,10,2.0,0.1,1\n0,relu,a,0,1,20,1.2,0.1,1\n0,relu,a,0,1,40,0.5,0.1,1\n"
                  "0,relu,a,1,1,10,1.0,0.1,1\n0,relu,a,1,1,20,1.5,0.1,1\n0,relu,a,1,1,30,0.8,0.1,1\n0,relu,a,1,1,40,0.7,0.1,1\n"
                  "0,relu,a,2,1,10,2.0,0.1,1\n0,relu,a,2,1,20,3.0,0.1,1\n0,relu,a,2,1,30,9.0,0.1,1\n0,relu,a,2,1,40,nan,0.1,1\n");
    double se;
    int ns;
    double m = eval(dir, "{\"file\": \"train.csv\", \"column\": \"loss\", \"stat\": \"first_below\", \"below\": 1, "
                         "\"never\": 1000}", &se, &ns);
    cr_expect_float_eq(m, (30.0 + 10.0 + 1000.0) / 3, 1e-12, "30, 10 and the censored 1000");
    cr_expect_eq(ns, 3);
    /* jackknife of a mean over three seeds: s / sqrt(3) */
    double mu = 1040.0 / 3, ss = (30 - mu) * (30 - mu) + (10 - mu) * (10 - mu) + (1000 - mu) * (1000 - mu);
    cr_expect_float_eq(se, sqrt(ss / 2 / 3), 1e-9);
    /* log2 of the mean time over the seeds whose every row passes the filter */
    m = eval(dir, "{\"file\": \"train.csv\", \"where\": {\"seed\": [0, 1]}, \"column\": \"loss\", \"stat\": \"first_below\", "
                  "\"below\": 1, \"never\": 1000, \"seeds\": \"log2_mean\"}", &se, &ns);
    cr_expect_float_eq(m, log2(20.0), 1e-12);
    vt_rmtree(dir);
}

Test(reproduce_checks, below_and_never_go_with_first_below_only)
{
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", \"quantity\": "
                   "{\"file\": \"train.csv\", \"column\": \"loss\", \"stat\": \"first_below\", \"below\": 1}, "
                   "\"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].quantity", "needs \"below\"");
    expect_refused("{" RUNS "\"claims\": [{" CLAIM_HEAD "\"run\": \"r\", \"figure\": \"f\", \"quantity\": "
                   "{\"file\": \"train.csv\", \"column\": \"loss\", \"never\": 5}, \"expect\": {\"max\": 1}}]}",
                   "checks.claims[0].quantity", "\"first_below\" only");
}
