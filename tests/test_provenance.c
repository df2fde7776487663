/* Provenance and formats (issue 11): numbers that read back exactly, exact seeds,
 * labels that tell every value apart, linear config parsing, run counts within what
 * the runner can index, names, UTF-8 and paths that cannot break the files, strict
 * numbers on the command line, and summaries that show what was swept and how many
 * seeds each variant really has. docs/robustness.md ("Provenance and formats") lists
 * the guarantees these tests check. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/param.h"
#include "experiment/config.h"
#include "experiment/job.h"
#include "experiment/summary_print.h"
#include "harness.h"
#include "results/csv.h"
#include "results/table.h"

static char tmp[256];
static void mk_tmp(void) { vt_mktmp(tmp, sizeof tmp, "/tmp/varprop-prov-"); }
static void rm_tmp(void) { vt_rmtree(tmp); }
TestSuite(provenance, .init = mk_tmp, .fini = rm_tmp);

static vp_status parse_opts(const char *json, long max_runs, vp_experiment **e, vp_err *err)
{
    vp_config_opts o = { max_runs };
    return vp_config_parse(json, strlen(json), "cfg.json", &o, e, err);
}

static vp_status parse(const char *json, vp_experiment **e, vp_err *err)
{
    return parse_opts(json, VP_DEFAULT_MAX_RUNS, e, err);
}

/* The config must be refused (VP_ERR_CONFIG, nothing returned) with every fragment. */
static void refused(const char *json, long max_runs, const char *frag1, const char *frag2)
{
    vp_experiment *e = NULL;
    vp_err err = { "" };
    cr_assert_eq(parse_opts(json, max_runs, &e, &err), VP_ERR_CONFIG, "accepted: %.200s", json);
    cr_assert_null(e);
    cr_assert(strstr(err.msg, frag1), "message \"%s\" lacks \"%s\"", err.msg, frag1);
    if (frag2) cr_assert(strstr(err.msg, frag2), "message \"%s\" lacks \"%s\"", err.msg, frag2);
}

/* TMP/NAME.json with the text; its path in buf. */
/* The terminal summary of experiment e with the runs' sums, as text (the caller frees it). */
static char *summary_of(const vp_experiment *e, vp_run_sum *sums)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    vp_runner_opts o = { .out = f };
    vp_job j = { .e = e, .o = &o, .sums = sums };
    vp_runner_print_summary(&j);
    fclose(f);
    return text;
}

static void write_config(const char *name, const char *text, char *buf, size_t len)
{
    char file[128];
    snprintf(file, sizeof file, "%s.json", name);
    vt_write_file(tmp, file, text);
    snprintf(buf, len, "%s/%s", tmp, file);
}

/* Writes TMP/NAME.json and runs it into TMP/r (CSV only); asserts exit 0. */
static void run_into_r(const char *name, const char *text)
{
    char cfg[512], *o, *e;
    write_config(name, text, cfg, sizeof cfg);
    cr_assert_eq(vt_run(tmp, &o, &e, "run %s -o %s/r --no-plot --quiet", cfg, tmp), 0, "%s", e);
    free(o);
    free(e);
}

/* Column `name` of row r of a CSV file (borrowed from *t, which the caller frees). */
static const char *csv_cell(vp_table **t, const char *path, size_t r, const char *name)
{
    vp_err err;
    if (!*t) cr_assert_eq(vp_table_load(path, t, &err), VP_OK, "%s", err.msg);
    int c = vp_table_find(*t, name);
    cr_assert(c >= 0 && r < vp_table_nrows(*t), "%s: no column %s or row %zu", path, name, r);
    return vp_table_cell(*t, r, (size_t)c);
}

/* ---- 1. numbers in the CSV files read back as the doubles they were ---- */

Test(provenance, shortest_form_reads_back_exactly)
{
    char buf[VP_NUM_CHARS];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v)) continue;
        vp_num_shortest(v, buf, sizeof buf);
        cr_assert(strtod(buf, NULL) == v, "%s does not read back as %a", buf, v);
    }
    vp_num_shortest(0.1, buf, sizeof buf); /* and is short where a short form exists */
    cr_assert_str_eq(buf, "0.1");
    vp_num_shortest(1.0 / 3, buf, sizeof buf);
    cr_assert_str_eq(buf, "0.3333333333333333");
    vp_num_shortest(1000 + 1e-10, buf, sizeof buf);
    cr_assert_str_eq(buf, "1000.0000000001");
}

Test(provenance, csv_reals_follow_the_precision_of_their_data)
{
    vp_layer_stats st = { .layer = 1, .fan_in = 2, .fan_out = 2, .pre_mean = 1000 + 1e-10, .pre_var = 1.0 / 3,
                          .post_mean = -0.0, .post_var = 2, .grad_pre_var = 1e-300 / 7 };
    double tpre = 2.0 / 3, tgrad = 0.1, tchi = 1.0 / 7;
    vp_csv_run run = { .variant = 0, .activation = "relu", .init = "he_normal", .seed = 1 };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    run.prec = VP_F64;
    vp_csv_layers_rows(f, &run, 1, &st, 1, &tpre, &tgrad, &tchi, NULL);
    run.prec = VP_F32;
    vp_csv_layers_rows(f, &run, 1, &st, 1, &tpre, &tgrad, &tchi, NULL);
    fclose(f);
    char *f32 = strchr(text, '\n') + 1;
    /* float64: every real cell reads back exactly; -0 is still "0" */
    cr_assert(strncmp(text, "0,relu,he_normal,1,1,2,2,1000.0000000001,0.3333333333333333,0,2,", 63) == 0, "%s", text);
    cr_assert(strstr(text, ",1.4285714285714285e-301,"), "%s", text);
    /* float32: measured cells keep 9 significant digits (what a float holds), theory
     * cells (computed in double) read back exactly */
    cr_assert(strncmp(f32, "0,relu,he_normal,1,1,2,2,1000,0.333333333,0,2,1.42857143e-301,", 62) == 0, "%s", f32);
    cr_assert(strstr(f32, ",0.6666666666666666,0.1,0.14285714285714285,0,\n"), "%s", f32);
    free(text);
}

/* A float64 histogram around 1000 (biases 1000, weights of std 1e-9): every bin edge
 * reads back as its own double. At %.9g every edge was "1000". */
Test(provenance, float64_histogram_edges_around_1000_are_distinct)
{
    run_into_r("h1000", "{\"name\":\"h1000\",\"precision\":\"float64\",\"network\":{\"depth\":1,\"width\":16,"
               "\"init\":{\"name\":\"normal\",\"std\":1e-9},\"bias\":{\"name\":\"constant\",\"value\":1000}},"
               "\"input\":{\"batch\":16},\"measure\":{\"histograms\":{\"layers\":[1],\"bins\":8}}}");
    char path[512];
    snprintf(path, sizeof path, "%s/r/histograms.csv", tmp);
    vp_table *t = NULL;
    double prev = -INFINITY;
    size_t n = 0;
    for (size_t r = 0; r < 8; r++) {
        if (strcmp(csv_cell(&t, path, r, "quantity"), "pre") != 0) continue;
        const char *lo = csv_cell(&t, path, r, "bin_lo"), *hi = csv_cell(&t, path, r, "bin_hi");
        double l = strtod(lo, NULL), h = strtod(hi, NULL);
        cr_assert(fabs(l - 1000) < 1e-6 && l > prev && h > l, "row %zu: edges %s, %s", r, lo, hi);
        if (r + 1 < 8) cr_assert_str_eq(hi, csv_cell(&t, path, r + 1, "bin_lo"), "adjacent bins share their edge");
        prev = l;
        n++;
    }
    cr_assert_eq(n, 8);
    snprintf(path, sizeof path, "%s/r/layers.csv", tmp);
    vp_table_free(t);
    t = NULL;
    double pre = strtod(csv_cell(&t, path, 0, "pre_mean"), NULL);
    cr_assert(pre != 1000 && fabs(pre - 1000) < 1e-6, "pre_mean %.17g: the digits below 1e-9 are there", pre);
    vp_table_free(t);
}

/* ---- 2. seeds are exact; integers stay integers; labels tell values apart ---- */

Test(provenance, seeds_are_exact_64_bit_integers)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"s\",\"seeds\":[0, 9007199254740993, 18446744073709551615, 5000000000000000]}",
                       &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->seeds[1], 9007199254740993ull, "2^53 + 1 was rounded to %llu", (unsigned long long)e->seeds[1]);
    cr_assert_eq(e->seeds[2], UINT64_MAX);
    /* config.json writes them as the same integers (cJSON alone printed 5e+15) */
    cr_assert(strstr(e->resolved_json, "[0, 9007199254740993, 18446744073709551615, 5000000000000000]"), "%s",
              e->resolved_json);
    cr_assert(!strstr(e->resolved_json, "e+"), "%s", e->resolved_json);
    vp_experiment_free(e);
    /* what cannot be taken exactly is refused, with the seed's path */
    refused("{\"name\":\"s\",\"seeds\":[18446744073709551616]}", 0, "seeds[0]", "whole number");
    refused("{\"name\":\"s\",\"seeds\":[1, 1.0000000000000001]}", 0, "seeds[1]", "1.0000000000000001 is not");
    refused("{\"name\":\"s\",\"seeds\":[1e3]}", 0, "seeds[0]", "no sign, fraction or exponent");
    refused("{\"name\":\"s\",\"seeds\":[-1]}", 0, "seeds[0]", "whole number");
    refused("{\"name\":\"s\",\"seeds\":[7, \"8\"]}", 0, "seeds[1]", "got a string");
    refused("{\"name\":\"s\",\"seeds\":[18446744073709551615, 18446744073709551615]}", 0, "seeds[1]",
            "listed twice");
    /* numbers elsewhere in the document do not shift which literal is a seed */
    cr_assert_eq(parse("{\"name\":\"s\",\"network\":{\"depth\":3,\"widths\":[4,5,6,7]},\"input\":{\"batch\":2},"
                       "\"seeds\":[9007199254740995,-0]}", &e, &err), VP_ERR_CONFIG);
    cr_assert(strstr(err.msg, "seeds[1]: -0 is not"), "%s", err.msg);
}

Test(provenance, seeds_beyond_2_53_reach_the_csv_exactly)
{
    run_into_r("big", "{\"name\":\"big\",\"seeds\":[9007199254740993],\"network\":{\"depth\":1,\"width\":4},"
               "\"input\":{\"batch\":4}}");
    char path[512];
    snprintf(path, sizeof path, "%s/r/runs.csv", tmp);
    vp_table *t = NULL;
    cr_assert_str_eq(csv_cell(&t, path, 0, "seed"), "9007199254740993");
    vp_table_free(t);
    snprintf(path, sizeof path, "%s/r/config.json", tmp);
    char *c = vt_slurp_must(path, NULL);
    cr_assert(strstr(c, "[9007199254740993]"), "%s", c);
    free(c);
}

Test(provenance, sweep_labels_tell_every_value_apart)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"l\",\"network\":{\"init\":\"orthogonal\"},"
                       "\"sweep\":{\"network.init.gain\":[1, 1.0000000000000002]}}", &e, &err), VP_OK, "%s", err.msg);
    cr_assert_str_eq(e->sweep_values[0], "1");
    cr_assert_str_eq(e->sweep_values[1], "1.0000000000000002");
    vp_experiment_free(e);
    /* a swept entry's label (and the init column) carries every digit too */
    cr_assert_eq(parse("{\"name\":\"l\",\"sweep\":{\"network.init\":[{\"name\":\"orthogonal\",\"gain\":1.25},"
                       "{\"name\":\"orthogonal\",\"gain\":1.2500000000000002}]}}", &e, &err), VP_OK, "%s", err.msg);
    cr_assert_str_eq(e->sweep_values[0], "orthogonal(gain=1.25)");
    cr_assert_str_eq(e->sweep_values[1], "orthogonal(gain=1.2500000000000002)");
    vp_experiment_free(e);
}

/* ---- 3. parsing is linear in the sweep ---- */

static size_t cjson_bytes;
static void *counting_malloc(size_t n)
{
    cjson_bytes += n;
    return malloc(n);
}

/* Bytes cJSON allocates while a sweep of n values is parsed. */
static size_t parse_bytes(int n)
{
    char *json = malloc((size_t)n * 24 + 256);
    size_t u = (size_t)sprintf(json, "{\"name\":\"lin\",\"network\":{\"depth\":1,\"width\":2,\"init\":\"orthogonal\"},"
                                     "\"input\":{\"batch\":2},\"sweep\":{\"network.init.gain\":[");
    for (int i = 0; i < n; i++) u += (size_t)sprintf(json + u, "%s%d", i ? "," : "", i + 1);
    strcpy(json + u, "]}}");
    cJSON_Hooks hooks = { counting_malloc, free };
    cJSON_InitHooks(&hooks);
    cjson_bytes = 0;
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse_opts(json, 0, &e, &err), VP_OK, "%s", err.msg);
    size_t bytes = cjson_bytes;
    cJSON_InitHooks(NULL);
    vp_experiment_free(e);
    free(json);
    return bytes;
}

/* Work per variant must not grow with the sweep: 4x the values, about 4x the bytes
 * (each variant used to copy the whole document, sweep included: 16x). Counted in
 * bytes, not timed, so the test is exact on any machine. */
Test(provenance, config_parse_work_is_linear_in_the_sweep)
{
    size_t a = parse_bytes(500), b = parse_bytes(2000);
    cr_assert(b < 5 * a, "500 values: %zu bytes, 2000 values: %zu bytes (x%.1f)", a, b, (double)b / (double)a);
}

/* ---- 4. run counts the runner cannot index are refused before anything is made ---- */

/* A config with `seeds` seeds and a sweep of n widths (JSON text, malloc'ed). */
static char *wide_sweep(int seeds, int n)
{
    char *json = malloc((size_t)n * 12 + 256);
    size_t u = (size_t)sprintf(json, "{\"name\":\"wide\",\"seeds\":%d,\"network\":{\"depth\":1},"
                                     "\"input\":{\"batch\":2},\"sweep\":{\"network.width\":[", seeds);
    for (int i = 0; i < n; i++) u += (size_t)sprintf(json + u, "%s%d", i ? "," : "", i + 1);
    strcpy(json + u, "]}}");
    return json;
}

Test(provenance, run_counts_beyond_the_runner_are_refused)
{
    /* 65536 variants x 65536 seeds = 2^32 runs: an int count wrapped to 0 */
    char *j = wide_sweep(65536, 65536);
    refused(j, 0, "4294967296 runs", "(2147483647)");
    free(j);
    /* 2^31 runs, one more than an int holds: silently negative before */
    j = wide_sweep(32768, 65536);
    refused(j, 0, "2147483648 runs", "(2147483647)");
    free(j);
    /* variants beyond what the results readers take back: 101^3 > 1000001 */
    char *v = malloc(4096);
    size_t u = (size_t)sprintf(v, "{\"name\":\"v\",\"sweep\":{");
    const char *keys[3] = { "network.depth", "network.width", "input.batch" };
    for (int k = 0; k < 3; k++) {
        u += (size_t)sprintf(v + u, "%s\"%s\":[", k ? "," : "", keys[k]);
        for (int i = 1; i <= 101; i++) u += (size_t)sprintf(v + u, "%s%d", i > 1 ? "," : "", i);
        u += (size_t)sprintf(v + u, "]");
    }
    strcpy(v + u, "}}");
    refused(v, 0, "sweep[\"input.batch\"]: the sweep has at least 1030301 variants", "at most 1000001");
    free(v);

    /* From the command line: exit 2 with the count and the limit, no folder made. */
    char cfg[512], *o, *e, out[512];
    j = wide_sweep(65536, 65536);
    write_config("wide", j, cfg, sizeof cfg);
    free(j);
    snprintf(out, sizeof out, "%s/out", tmp);
    cr_assert_eq(vt_run(tmp, &o, &e, "run %s -o %s --no-plot --max-runs 0", cfg, out), 2, "%s", e);
    cr_assert(strstr(e, "65536 variants x 65536 seeds = 4294967296 runs") && strstr(e, "2147483647"), "%s", e);
    cr_assert(!vt_exists(out), "the output folder was created");
    free(o); free(e);
}

/* ---- 5. names, UTF-8 and paths ---- */

Test(provenance, hidden_name_is_refused_in_the_config_check)
{
    refused("{\"name\":\".hidden\"}", 0, "name", "starts with '.'");
    refused("{\"name\":\".a.b\"}", 0, "name", "not a plain name");
    char cfg[512], *o, *e, out[512];
    write_config("dot", "{\"name\":\".x\",\"network\":{\"depth\":1,\"width\":2},\"input\":{\"batch\":2}}", cfg,
                 sizeof cfg);
    snprintf(out, sizeof out, "%s/out", tmp);
    cr_assert_eq(vt_run(tmp, &o, &e, "run %s -o %s", cfg, out), 2, "%s", e);
    cr_assert(!vt_exists(out), "the output folder was created before the refusal");
    free(o); free(e);
}

Test(provenance, non_utf8_text_is_refused_with_its_offset)
{
    const char *bad[] = { "{\"name\":\"u\",\"description\":\"caf\xE9\"}",      /* Latin-1 */
                          "{\"name\":\"u\",\"description\":\"\xC0\xAF\"}",      /* overlong '/' */
                          "{\"name\":\"u\",\"description\":\"\xED\xA0\x80\"}",  /* a surrogate */
                          "{\"name\":\"u\",\"description\":\"\xF4\x90\x80\x80\"}", /* above U+10FFFF */
                          "{\"name\":\"u\",\"description\":\"ab\xE2\x82\"}" };   /* cut short */
    const char *offset[] = { "offset 30 (0xE9)", "offset 27 (0xC0)", "offset 27 (0xED)", "offset 27 (0xF4)",
                             "offset 29 (0xE2)" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refused(bad[i], 0, offset[i], "not valid UTF-8");
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"u\",\"description\":\"caf\xC3\xA9 \xF0\x9F\x98\x80 \xED\x9F\xBF\"}", &e, &err),
                 VP_OK, "valid UTF-8 is kept: %s", err.msg);
    cr_assert(strstr(e->resolved_json, "caf\xC3\xA9 \xF0\x9F\x98\x80"));
    vp_experiment_free(e);
}

/* A results folder whose path holds a newline: every .dat comment stays one line. */
Test(provenance, newline_in_the_results_path_is_escaped_in_dat_comments)
{
    char cfg[512], *o, *e;
    write_config("nl", "{\"name\":\"nl\",\"seeds\":2,\"network\":{\"depth\":3,\"width\":4},\"input\":{\"batch\":4}}",
                 cfg, sizeof cfg);
    cr_assert_eq(vt_run(tmp, &o, &e, "run %s -o '%s/a\nb' --no-plot --quiet", cfg, tmp), 0, "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmp, &o, &e, "plot '%s/a\nb' -o %s/p", tmp, tmp), 0, "%s", e);
    free(o); free(e);
    char path[512];
    snprintf(path, sizeof path, "%s/p/act_var_pre.dat", tmp);
    char *dat = vt_slurp_must(path, NULL);
    char *nl = strchr(dat, '\n');
    cr_assert(nl && strstr(dat, "/a\\nb)") && strstr(dat, "/a\\nb)") < nl, "first line: %.200s", dat);
    cr_assert_eq(nl[1], '#', "the second line is a comment too: %.200s", dat);
    free(dat);
}

/* ---- 6. strict numbers, names and inputs on the command line ---- */

Test(provenance, cli_numbers_are_plain_decimal)
{
    static const char *const refused_args[] = {
        "init orthogonal --fan-in 2 --fan-out 2 --param gain=0x10",
        "init orthogonal --fan-in 2 --fan-out 2 --param 'gain= 1'",
        "init orthogonal --fan-in 2 --fan-out 2 --param 'gain=1 '",
        "init orthogonal --fan-in 2 --fan-out 2 --param gain=inf",
        "init orthogonal --fan-in ' 2' --fan-out 2",
        "init orthogonal --fan-in 2 --fan-out '2 '",
        "theory tanh --sigma-w2 0x1p1",
        "theory tanh --sigma-w2 ' 1.5'",
        "theory tanh --sigma-w2 1.5e",
    };
    char *o, *e;
    for (size_t i = 0; i < sizeof refused_args / sizeof *refused_args; i++) {
        cr_assert_eq(vt_run(tmp, &o, &e, "%s", refused_args[i]), 2, "accepted: %s", refused_args[i]);
        cr_assert(strstr(e, "not a number") || strstr(e, "not an integer") || strstr(e, "plain decimal"),
                  "%s: %s", refused_args[i], e);
        free(o); free(e);
    }
    static const char *const accepted_args[] = {
        "init orthogonal --fan-in 2 --fan-out 2 --param gain=1e-3 --count 1",
        "init orthogonal --fan-in 2 --fan-out 2 --param gain=.5 --count 1",
        "init orthogonal --fan-in +2 --fan-out 2 --param gain=2. --count 1",
        "theory tanh --sigma-w2 1.5E0 --sigma-b2 0",
    };
    for (size_t i = 0; i < sizeof accepted_args / sizeof *accepted_args; i++) {
        cr_assert_eq(vt_run(tmp, &o, &e, "%s", accepted_args[i]), 0, "%s: %s", accepted_args[i], e);
        free(o); free(e);
    }
}

Test(provenance, init_refuses_an_unknown_activation)
{
    char *o, *e;
    cr_assert_eq(vt_run(tmp, &o, &e, "init he_normal --fan-in 2 --fan-out 2 --activation nonsense"), 2);
    cr_assert(strstr(e, "--activation: \"nonsense\" is not a known activation"), "%s", e);
    cr_assert_str_eq(o, "", "no weights printed");
    free(o); free(e);
    cr_assert_eq(vt_run(tmp, &o, &e, "init he_normal --fan-in 2 --fan-out 2 --activation rellu"), 2);
    cr_assert(strstr(e, "did you mean \"relu\""), "%s", e);
    free(o); free(e);
}

Test(provenance, output_given_twice_is_refused)
{
    char *o, *e;
    cr_assert_eq(vt_run(tmp, &o, &e, "run x.json -o %s/a -o %s/b", tmp, tmp), 2);
    cr_assert(strstr(e, "-o is given twice"), "%s", e);
    free(o); free(e);
}

/* A results folder whose `file` (layers.csv or runs.csv) holds only its header, plotted. */
static void plot_header_only(const char *file)
{
    char *o, *e, path[512];
    run_into_r("ho", "{\"name\":\"ho\",\"network\":{\"depth\":2,\"width\":4},\"input\":{\"batch\":4}}");
    snprintf(path, sizeof path, "%s/r/%s", tmp, file);
    char *csv = vt_slurp_must(path, NULL);
    strchr(csv, '\n')[1] = '\0'; /* the header line alone */
    snprintf(path, sizeof path, "%s/r", tmp);
    vt_write_file(path, file, csv);
    free(csv);
    cr_assert_eq(vt_run(tmp, &o, &e, "plot %s/r -o %s/p", tmp, tmp), 1, "%s", e);
    cr_assert(strstr(e, "no runs in") && strstr(e, file) && !strstr(e, "gnuplot"), "%s", e);
    snprintf(path, sizeof path, "%s/p", tmp);
    cr_assert(!vt_exists(path), "the plot folder was made");
    free(o); free(e);
}

Test(provenance, plot_of_a_header_only_layers_csv_says_no_runs) { plot_header_only("layers.csv"); }
Test(provenance, plot_of_a_header_only_runs_csv_says_no_runs) { plot_header_only("runs.csv"); }

/* ---- 7. what was swept, and how many seeds each variant really has ---- */

Test(provenance, terminal_summary_shows_swept_keys_and_real_seed_counts)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"t\",\"seeds\":3,\"network\":{\"width\":4},\"input\":{\"batch\":4},"
                       "\"sweep\":{\"network.depth\":[10,40],\"input.batch\":[4]}}", &e, &err), VP_OK, "%s", err.msg);
#define DONE { .done = 1, .act_ratio = 0.5, .grad_ratio = 0.25, .xi_grad = NAN, .theory_chi1 = NAN, .theory_xi_c = NAN, \
               .xi_c = NAN, .theory_xi_grad = NAN, .test_acc = NAN, .theory_act_ratio = NAN, .theory_grad_ratio = NAN }
    vp_run_sum sums[6] = { DONE, DONE, DONE, DONE };
#undef DONE
    char *text = summary_of(e, sums); /* variant 1 (depth 40) finished 1 of 3 seeds */
    char *row0 = strchr(text, '\n') + 1, *row1 = strchr(row0, '\n') + 1;
    cr_assert(strstr(text, " depth ") && !strstr(text, "batch"), "the swept key that differs, only: %s", text);
    cr_assert(strncmp(row0 + 1, row1 + 1, (size_t)(strchr(row0, '\n') - row0 - 1)) != 0, "rows look alike:\n%s", text);
    cr_assert(strstr(row0, " 10 ") && strstr(row1, " 40 "), "%s", text);
    cr_assert(strstr(row0, " 3 of 3\n") && strstr(row1, " 1 of 3\n"), "%s", text);
    cr_assert(strstr(text, "median over each variant's finished seeds") && !strstr(text, "median over 3 seeds"), "%s",
              text);
    free(text);
    vp_experiment_free(e);
}

/* A block network's summary says what its ratios are (layer outputs a..b: its hidden
 * stack, here the two layers of width 8 before the readout of 3) and that their
 * predictions are of the same outputs; the plain stack's "unequal widths" note is not printed for it. */
Test(provenance, terminal_summary_of_a_block_network_names_its_ratios)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"b\",\"seeds\":1,\"network\":{\"input_dim\":8,\"layers\":["
                       "{\"type\":\"dense\",\"width\":8},{\"type\":\"dense\",\"width\":8},"
                       "{\"type\":\"dense\",\"width\":3,\"activation\":\"linear\"}]},\"input\":{\"batch\":4}}",
                       &e, &err), VP_OK, "%s", err.msg);
    vp_run_sum sums[1] = { { .done = 1, .act_ratio = 0.5, .grad_ratio = 0.25, .xi_grad = NAN, .theory_chi1 = NAN,
                             .theory_xi_c = NAN, .xi_c = NAN, .theory_xi_grad = NAN, .test_acc = NAN,
                             .theory_act_ratio = 0.375, .theory_grad_ratio = 0.125 } };
    char *text = summary_of(e, sums);
    cr_assert(strstr(text, "(ratios: Var[out^b]/Var[out^a] and Var[dL/dout^a]/Var[dL/dout^b] of the layer outputs a..b"),
              "%s", text);
    cr_assert(strstr(text, "(a..b: the longest run of consecutive layers of one output shape outside residual "
                           "branches, all of them if no two share one; variant 0: layers 1..2 of 3)"), "%s", text);
    cr_assert(strstr(text, "(theory: the same ratios of the layer outputs predicted by mean-field theory"), "%s", text);
    cr_assert(strstr(text, " 0.375 ") && strstr(text, " 0.125 "), "the predicted ratios beside the measured: %s", text);
    cr_assert(!strstr(text, "unequal widths"), "%s", text);
    cr_assert(!strstr(text, "values per example"), "a..b of one size needs no size note: %s", text);
    free(text);
    vp_experiment_free(e);
}

/* A span whose ends differ in size (no two consecutive layers share a shape: all of them,
 * the readout included, as in LeNet) says so: per-entry ratios then move with the size
 * (the project's conv comparison read "vanishing" with no word of it). */
Test(provenance, terminal_summary_says_when_a_span_changes_size)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"le\",\"seeds\":1,\"network\":{\"input_shape\":[1,8,8],\"layers\":["
                       "{\"type\":\"conv2d\",\"out_channels\":3,\"kernel\":3},{\"type\":\"maxpool2d\",\"size\":2},"
                       "{\"type\":\"flatten\"},{\"type\":\"dense\",\"width\":10,\"activation\":\"linear\"}]},"
                       "\"input\":{\"batch\":4},\"sweep\":{\"network.init\":[\"he_uniform\",\"xavier_uniform\"]}}",
                       &e, &err), VP_OK, "%s", err.msg);
    vp_run_sum sums[2];
    for (int i = 0; i < 2; i++)
        sums[i] = (vp_run_sum){ .done = 1, .act_ratio = 1, .grad_ratio = 0.01, .xi_grad = NAN, .theory_chi1 = NAN,
                                .theory_xi_c = NAN, .xi_c = NAN, .theory_xi_grad = NAN, .test_acc = NAN,
                                .theory_act_ratio = NAN, .theory_grad_ratio = NAN };
    char *text = summary_of(e, sums);
    /* conv 3x6x6 = 108 values, pool 3x3x3 = 27, flatten 27, readout 10: layers 1..4 */
    cr_assert(strstr(text, "variants 0-1: layers 1..4 of 4)"), "%s", text);
    cr_assert(strstr(text, "(every variant: layers 1..4 have outputs of 108 and 10 values per example, so the "
                           "per-entry gradient ratio moves with that size alone, by about 10/108 under fan_in "
                           "initializers; docs/architectures.md)"), "%s", text);
    free(text);
    vp_experiment_free(e);
}

/* Every variant's a..b, runs of variants with one span grouped (it named variant 0 and the
 * first that differed only: a none/pre/post-norm sweep's third span was nowhere). */
Test(provenance, terminal_summary_names_every_variants_span)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"sp\",\"seeds\":1,\"network\":{\"input_dim\":16,\"layers\":[{\"type\":\"repeat\","
                       "\"count\":3,\"layers\":[{\"type\":\"residual\",\"branch\":[{\"type\":\"dense\",\"width\":16},"
                       "{\"type\":\"dense\",\"width\":16,\"activation\":\"linear\"}]}]},{\"type\":\"dense\",\"width\":3,"
                       "\"activation\":\"linear\"}]},\"input\":{\"batch\":16},\"sweep\":{\"network.layers[0].layers[0].norm\":"
                       "[\"none\",\"pre\",\"post\"],\"network.layers[0].count\":[3,4]}}",
                       &e, &err), VP_OK, "%s", err.msg);
    vp_run_sum sums[6];
    for (int i = 0; i < 6; i++)
        sums[i] = (vp_run_sum){ .done = 1, .act_ratio = 1, .grad_ratio = 1, .xi_grad = NAN, .theory_chi1 = NAN,
                                .theory_xi_c = NAN, .xi_c = NAN, .theory_xi_grad = NAN, .test_acc = NAN,
                                .theory_act_ratio = NAN, .theory_grad_ratio = NAN };
    char *text = summary_of(e, sums);
    /* variants: (none, 3) (none, 4) (pre, 3) (pre, 4) (post, 3) (post, 4); pre and post blocks have 4 rows, the
       post-norm stack's span its norm outputs */
    cr_expect(strstr(text, "variant 0: layers 3..9 of 10; variant 1: layers 3..12 of 13; variant 2: layers 4..12 of 13; "
                           "variant 3: layers 4..16 of 17; variant 4: layers 4..12 of 13; variant 5: layers 4..16 of 17)"),
              "%s", text);
    free(text);
    vp_experiment_free(e);
    /* the norm alone: pre and post share a span, one group */
    cr_assert_eq(parse("{\"name\":\"sp\",\"seeds\":1,\"network\":{\"input_dim\":16,\"layers\":[{\"type\":\"repeat\","
                       "\"count\":3,\"layers\":[{\"type\":\"residual\",\"branch\":[{\"type\":\"dense\",\"width\":16},"
                       "{\"type\":\"dense\",\"width\":16,\"activation\":\"linear\"}]}]},{\"type\":\"dense\",\"width\":3,"
                       "\"activation\":\"linear\"}]},\"input\":{\"batch\":16},\"sweep\":{\"network.layers[0].layers[0].norm\":"
                       "[\"none\",\"pre\",\"post\"]}}",
                       &e, &err), VP_OK, "%s", err.msg);
    text = summary_of(e, sums);
    cr_expect(strstr(text, "; variant 0: layers 3..9 of 10; variants 1-2: layers 4..12 of 13)"), "%s", text);
    free(text);
    vp_experiment_free(e);
}

/* A finished run of a depth sweep, then one seed of its last variant taken out, as an
 * interrupted run leaves it; plotted. */
Test(provenance, charts_and_report_say_the_swept_range_and_each_variants_seeds)
{
    char cfg[512], *o, *e, path[512];
    write_config("dsw", "{\"name\":\"dsw\",\"seeds\":2,\"network\":{\"width\":4},\"input\":{\"batch\":4},"
                 "\"sweep\":{\"network.depth\":[10,40]}}", cfg, sizeof cfg);
    cr_assert_eq(vt_run(tmp, &o, &e, "run %s -o %s/r --plots %s/p --quiet", cfg, tmp, tmp), 0, "%s", e);
    free(o); free(e);
    snprintf(path, sizeof path, "%s/p/act_var_pre.gp", tmp);
    char *gp = vt_slurp_must(path, NULL);
    cr_assert(strstr(gp, "'width 4 · depth 10–40 · batch 4 · 2 seeds · float32'"), "subtitle: %.600s", gp);
    free(gp);
    snprintf(path, sizeof path, "%s/p/report.md", tmp);
    char *md = vt_slurp_must(path, NULL);
    cr_assert(strstr(md, "**Setup:** depth 10–40, width 4,"), "%.400s", md);
    free(md);

    /* drop seed 1 of variant 1 (depth 40) from both CSVs: lines "1,relu,he_normal,1,..." */
    const char *files[2] = { "runs.csv", "layers.csv" };
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/r/%s", tmp, files[k]);
        char *csv = vt_slurp_must(path, NULL), *out = calloc(strlen(csv) + 1, 1);
        size_t dropped = 0;
        for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
            if (strncmp(line, "1,relu,he_normal,1,", 19) == 0) { dropped++; continue; }
            strcat(strcat(out, line), "\n");
        }
        cr_assert(dropped > 0, "%s: no row of variant 1, seed 1", files[k]);
        free(csv);
        snprintf(path, sizeof path, "%s/r", tmp);
        vt_write_file(path, files[k], out);
        free(out);
    }
    cr_assert_eq(vt_run(tmp, &o, &e, "plot %s/r -o %s/q", tmp, tmp), 0, "%s", e);
    free(o); free(e);
    snprintf(path, sizeof path, "%s/q/act_var_pre.gp", tmp);
    gp = vt_slurp_must(path, NULL);
    cr_assert(strstr(gp, "· 1–2 of 2 seeds per variant ·"), "subtitle: %.600s", gp);
    cr_assert(strstr(gp, "min–max over the completed seeds of each variant") && !strstr(gp, "over 2 seeds"), "%s",
              gp);
    free(gp);
    snprintf(path, sizeof path, "%s/q/act_var_pre.dat", tmp);
    char *dat = vt_slurp_must(path, NULL);
    cr_assert(strstr(dat, "variant 0, ") && strstr(dat, "(2 of 2 seeds completed)") &&
              strstr(dat, "(1 of 2 seeds completed)"), "%s", dat);
    free(dat);
    snprintf(path, sizeof path, "%s/q/report.md", tmp);
    md = vt_slurp_must(path, NULL);
    cr_assert(strstr(md, "| 2 ok |") && strstr(md, "| 1 of 2 ok |"), "%s", md);
    cr_assert(strstr(md, "2 seeds (not all finished: see the seeds column)"), "%s", md);
    free(md);
}

/* README's sample output is what `make demo` prints (its table and footnote). */
Test(provenance, readme_sample_output_matches_the_demo, .timeout = 120)
{
    char path[512], *o, *e;
    snprintf(path, sizeof path, "%s/README.md", vt_root());
    char *readme = vt_slurp_must(path, NULL);
    const char *intro = strstr(readme, "`varprop run configs/demo.json` prints a summary per variant:\n\n```\n");
    cr_assert_not_null(intro, "README has no sample output block");
    char *block = strstr(intro, "```\n") + 4, *end = strstr(block, "```");
    cr_assert_not_null(end);
    *end = '\0';
    cr_assert_eq(vt_run(tmp, &o, &e, "run %s/configs/demo.json -o %s/r --no-plot --threads 2", vt_root(), tmp), 0,
                 "%s", e);
    /* every README line is a line of the output, in order, trailing blanks aside */
    const char *at = o;
    for (char *line = strtok(block, "\n"); line; line = strtok(NULL, "\n")) {
        const char *hit = NULL;
        for (const char *p = at; (p = strstr(p, line)); p++)
            if ((p == o || p[-1] == '\n') && strspn(p + strlen(line), " ") == strcspn(p + strlen(line), "\n")) {
                hit = p;
                break;
            }
        cr_assert_not_null(hit, "README line not in the demo's output:\n%s\noutput:\n%s", line, o);
        at = hit + strlen(line);
    }
    free(o); free(e);
    free(readme);
}
