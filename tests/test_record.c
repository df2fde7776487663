/* A results folder's config.json (the record) runs again as a config: parsed back,
 * it gives the same experiment -- every variant the same network, data and
 * measurements (vp_variant_json, the variant in full) and the same record -- and
 * what it adds to a config is checked (varprop_version, variants, a plain stack's
 * shape written twice). End to end: a run of the record repeats the CSV files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/sweep.h"
#include "harness.h"

static vp_experiment *parse_ok(const char *text, const char *source)
{
    vp_config_opts o = { 0 };
    vp_experiment *e = NULL;
    vp_err err = { "" };
    cr_assert_eq(vp_config_parse(text, strlen(text), source, &o, &e, &err), VP_OK, "%s: %s", source, err.msg);
    return e;
}

/* The record of text parses back into the same experiment, and its own record is the
 * same text. */
static void round_trip(const char *text, const char *source)
{
    vp_experiment *a = parse_ok(text, source);
    char rec[600];
    snprintf(rec, sizeof rec, "%s's config.json", source);
    vp_experiment *b = parse_ok(a->resolved_json, rec);
    cr_assert_str_eq(b->resolved_json, a->resolved_json, "%s: the record of the record differs", source);
    cr_assert_str_eq(b->record_version, VP_VERSION);
    cr_assert_str_eq(a->record_version, "", "%s: a config is not a record", source);
    cr_assert_eq(b->nvariants, a->nvariants, "%s", source);
    cr_assert_eq(b->nseeds, a->nseeds, "%s", source);
    for (int i = 0; i < a->nseeds; i++) cr_assert_eq(b->seeds[i], a->seeds[i], "%s", source);
    for (int v = 0; v < a->nvariants; v++) {
        char *ja = vp_variant_json(a, &a->variants[v]), *jb = vp_variant_json(b, &b->variants[v]);
        cr_assert(ja && jb);
        cr_assert_str_eq(jb, ja, "%s: variant %d differs when run from the record", source, v);
        for (int k = 0; k < a->nsweep; k++)
            cr_assert_str_eq(b->sweep_values[v * b->nsweep + k], a->sweep_values[v * a->nsweep + k]);
        cJSON_free(ja);
        cJSON_free(jb);
    }
    vp_experiment_free(a);
    vp_experiment_free(b);
}

/* The record of text, with its first occurrence of `from` replaced by `to`. */
static char *edited_record(const char *text, const char *from, const char *to)
{
    vp_experiment *a = parse_ok(text, "cfg.json");
    const char *at = strstr(a->resolved_json, from);
    cr_assert(at, "the record lacks \"%s\":\n%s", from, a->resolved_json);
    size_t n = strlen(a->resolved_json) + strlen(to) + 1;
    char *out = malloc(n);
    cr_assert(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - a->resolved_json), a->resolved_json, to, at + strlen(from));
    vp_experiment_free(a);
    return out;
}

static void refused(const char *text, const char *frag1, const char *frag2)
{
    vp_config_opts o = { 0 };
    vp_experiment *e = NULL;
    vp_err err = { "" };
    cr_assert_eq(vp_config_parse(text, strlen(text), "rec.json", &o, &e, &err), VP_ERR_CONFIG, "accepted:\n%s", text);
    cr_assert_null(e);
    cr_assert(strstr(err.msg, frag1), "\"%s\" lacks \"%s\"", err.msg, frag1);
    if (frag2) cr_assert(strstr(err.msg, frag2), "\"%s\" lacks \"%s\"", err.msg, frag2);
}

/* Every config of dir (*.json but checks.json); with `accepted_only`, those that parse
 * (the test corpus holds refused ones too). */
static int round_trip_folder_of(const char *dir, int accepted_only)
{
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open %s", dir);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 || strcmp(de->d_name, "checks.json") == 0) continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char *text = vt_slurp_must(path, NULL);
        vp_config_opts o = { 0 };
        vp_experiment *e = NULL;
        vp_err err;
        int ok = !accepted_only || vp_config_parse(text, strlen(text), path, &o, &e, &err) == VP_OK;
        vp_experiment_free(e);
        if (ok) {
            round_trip(text, path);
            n++;
        }
        free(text);
    }
    closedir(d);
    return n;
}

static int round_trip_folder(const char *dir) { return round_trip_folder_of(dir, 0); }

Test(record, every_shipped_config_runs_again_from_its_record, .timeout = 60)
{
    char dir[1024];
    int n = 0;
    snprintf(dir, sizeof dir, "%s/configs", vt_root());
    n += round_trip_folder(dir);
    snprintf(dir, sizeof dir, "%s/experiments", vt_root());
    n += round_trip_folder(dir);
    DIR *d = opendir(dir);
    cr_assert(d);
    for (struct dirent *de; (de = readdir(d));) {
        char sub[1400];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.' || strchr(de->d_name, '.')) continue; /* the paper folders have no dot */
        DIR *probe = opendir(sub);
        if (!probe) continue;
        closedir(probe);
        n += round_trip_folder(sub);
    }
    closedir(d);
    cr_assert_geq(n, 20, "only %d configs found", n);
}

/* The accepted configs of the parser's test corpora (tests/corpus/configs, the fuzz
 * seeds); the fuzz harness checks the same on every input it accepts. */
Test(record, every_accepted_corpus_config_runs_again, .timeout = 60)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/corpus/configs", vt_root());
    int n = round_trip_folder_of(dir, 1);
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus_config", vt_root());
    n += round_trip_folder_of(dir, 1);
    cr_assert_geq(n, 10, "only %d accepted configs found", n);
}

/* A swept width with input_dim left to its default: each variant's input is its own
 * width. The record leaves input_dim out (it wrote the base's, and every variant
 * would have run with input 32). */
Test(record, a_swept_width_keeps_its_default_input)
{
    const char *cfg = "{\"name\": \"w\", \"network\": {\"depth\": 3, \"width\": 32}, \"input\": {\"batch\": 4},"
                      " \"sweep\": {\"network.width\": [8, 16]}}";
    round_trip(cfg, "swept width");
    vp_experiment *a = parse_ok(cfg, "cfg.json");
    vp_experiment *b = parse_ok(a->resolved_json, "rec.json");
    cr_assert_eq(b->variants[0].widths[0], 8);
    cr_assert_eq(b->variants[1].widths[0], 16);
    vp_experiment_free(a);
    vp_experiment_free(b);
}

/* The shapes a record holds twice, and each form a sweep needs back. */
Test(record, every_form_of_the_shape_runs_again)
{
    const char *cfgs[] = {
        "{\"name\": \"d\", \"network\": {\"depth\": 4, \"width\": 16}, \"sweep\": {\"network.depth\": [2, 6]}}",
        "{\"name\": \"i\", \"network\": {\"depth\": 4, \"width\": 16, \"input_dim\": 5}, \"sweep\": {\"network.width\": [8, 12]}}",
        "{\"name\": \"u\", \"network\": {\"widths\": [16, 16, 16]}, \"sweep\": {\"network.widths\": [[8, 8, 8], [4, 6, 2]]}}",
        "{\"name\": \"n\", \"network\": {\"widths\": [7, 16, 9, 3]}}",
        "{\"name\": \"f\", \"input\": {\"distribution\": \"fashion-mnist\", \"batch\": 8}, \"network\": {\"depth\": 2, \"width\": 32}}",
        "{\"name\": \"b\", \"network\": {\"input_shape\": [1, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 4,"
        " \"kernel\": 3}, {\"type\": \"flatten\"}, {\"type\": \"dense\", \"width\": 10}]}, \"sweep\": {\"network.init\": [\"he_normal\", \"xavier_uniform\"]}}",
        /* the input width from the training data's, swept */
        "{\"name\": \"t\", \"network\": {\"depth\": 2, \"width\": 16}, \"train\": {\"dataset\": {\"name\": \"synthetic\","
        " \"kind\": \"clusters\", \"dim\": 32, \"classes\": 4, \"n_train\": 64, \"n_test\": 32}, \"epochs\": 1, \"batch\": 16},"
        " \"sweep\": {\"train.dataset.dim\": [8, 12]}}",
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) round_trip(cfgs[i], cfgs[i]);
}

Test(record, an_edited_sweep_with_the_old_variants_is_refused)
{
    const char *cfg = "{\"name\": \"s\", \"network\": {\"depth\": 3, \"width\": 8}, \"sweep\": {\"network.activation\": "
                      "[\"relu\", \"tanh\"]}}";
    char *t = edited_record(cfg, "\"tanh\"]", "\"selu\"]");
    refused(t, "variants[1][\"network.activation\"]: \"tanh\", the sweep gives \"selu\"", "remove \"variants\"");
    free(t);
    t = edited_record(cfg, "\"tanh\"]", "\"tanh\", \"selu\"]");
    refused(t, "variants: lists 2 variants, the sweep gives 3", NULL);
    free(t);
    /* removing the list runs the edited sweep */
    t = edited_record(cfg, "\"tanh\"]", "\"selu\"]");
    char *cut = strstr(t, ",\n\t\"variants\"");
    cr_assert(cut);
    strcpy(cut, "\n}");
    vp_experiment *e = parse_ok(t, "edited");
    cr_assert_str_eq(e->sweep_values[1], "selu");
    vp_experiment_free(e);
    free(t);
}

Test(record, a_shape_written_twice_must_agree)
{
    const char *cfg = "{\"name\": \"a\", \"network\": {\"depth\": 3, \"width\": 8, \"input_dim\": 4}}";
    char *t = edited_record(cfg, "\"depth\":\t3", "\"depth\":\t5");
    refused(t, "network.depth: 5 disagrees with network.widths (4 entries: the input, then 3 layers)", NULL);
    free(t);
    t = edited_record(cfg, "\"width\":\t8", "\"width\":\t9");
    refused(t, "network.width: 9 disagrees", NULL);
    free(t);
    t = edited_record(cfg, "\"input_dim\":\t4", "\"input_dim\":\t8");
    refused(t, "network.input_dim: 8 disagrees", NULL);
    free(t);
    t = edited_record(cfg, "[4, 8, 8, 8]", "[4, 8, 8, 7]");
    refused(t, "network.width: 8 disagrees", NULL);
    free(t);
    /* a config (no varprop_version) keeps its rule: one form or the other */
    refused("{\"name\": \"c\", \"network\": {\"depth\": 2, \"widths\": [4, 4, 4]}}",
            "network.depth: network.widths replaces depth, width and input_dim", NULL);
}

Test(record, the_version_must_be_a_string)
{
    char *t = edited_record("{\"name\": \"v\"}", "\"" VP_VERSION "\"", "2");
    refused(t, "varprop_version: expected the version that wrote this results config.json", "got a number");
    free(t);
    t = edited_record("{\"name\": \"v\"}", "\"" VP_VERSION "\"", "\"0.1.0\"");
    vp_experiment *e = parse_ok(t, "old");
    cr_assert_str_eq(e->record_version, "0.1.0");
    vp_experiment_free(e);
    free(t);
}

/* runs.csv without its seconds column (timing), for comparing two runs. */
static char *runs_without_seconds(const char *path)
{
    char *text = vt_slurp_must(path, NULL);
    char *hdr_end = strchr(text, '\n');
    cr_assert(hdr_end);
    int col = 0, seconds = -1;
    for (char *p = text; p < hdr_end; p++) {
        if (p == text || p[-1] == ',') {
            if (strncmp(p, "seconds,", 8) == 0 || strncmp(p, "seconds\n", 8) == 0) seconds = col;
            col++;
        }
    }
    cr_assert_geq(seconds, 0, "runs.csv has no seconds column");
    char *out = malloc(strlen(text) + 1), *o = out;
    cr_assert(out);
    int c = 0;
    for (char *p = text; *p; p++) {
        if (*p == '\n') { c = 0; *o++ = *p; continue; }
        if (c != seconds) *o++ = *p;
        if (*p == ',') c++;
    }
    *o = '\0';
    free(text);
    return out;
}

Test(record, running_the_record_repeats_the_results, .timeout = 120)
{
    char dir[256], a[400], b[400], c[400];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-record-");
    vt_write_file(dir, "cfg.json",
                  "{\"name\": \"rec\", \"seeds\": 2, \"network\": {\"depth\": 4, \"width\": 24},"
                  " \"input\": {\"batch\": 16}, \"measure\": {\"histograms\": {\"layers\": [1, 4], \"bins\": 8}},"
                  " \"sweep\": {\"network.width\": [12, 20], \"network.activation\": [\"tanh\", \"relu\"]}}");
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    cr_assert_eq(vt_run(dir, NULL, NULL, "run %s/cfg.json -o %s --no-plot --quiet --threads 2", dir, a), 0);
    char *err = NULL;
    cr_assert_eq(vt_run(dir, NULL, &err, "run %s/config.json -o %s --no-plot --quiet --threads 1", a, b), 0, "%s", err);
    cr_assert_eq(strstr(err, "note:"), NULL, "a record of this version runs without a note: %s", err);
    free(err);
    const char *same[] = { "layers.csv", "histograms.csv", "config.json" };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        char pa[500], pb[500];
        snprintf(pa, sizeof pa, "%s/%s", a, same[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, same[i]);
        char *ta = vt_slurp_must(pa, NULL), *tb = vt_slurp_must(pb, NULL);
        cr_assert_str_eq(tb, ta, "%s differs when the record is run", same[i]);
        free(ta);
        free(tb);
    }
    char pa[500], pb[500];
    snprintf(pa, sizeof pa, "%s/runs.csv", a);
    snprintf(pb, sizeof pb, "%s/runs.csv", b);
    char *ra = runs_without_seconds(pa), *rb = runs_without_seconds(pb);
    cr_assert_str_eq(rb, ra, "runs.csv differs when the record is run");
    free(ra);
    free(rb);
    /* a record of another version runs, with a note saying so */
    snprintf(pa, sizeof pa, "%s/config.json", a);
    char *rec = vt_slurp_must(pa, NULL), *v = strstr(rec, "\"" VP_VERSION "\"");
    cr_assert(v);
    char edited[8192];
    snprintf(edited, sizeof edited, "%.*s\"0.0.1\"%s", (int)(v - rec), rec, v + strlen("\"" VP_VERSION "\""));
    vt_write_file(dir, "old.json", edited);
    free(rec);
    cr_assert_eq(vt_run(dir, NULL, &err, "run %s/old.json -o %s --no-plot --quiet --threads 1", dir, c), 0, "%s", err);
    cr_assert(strstr(err, "was written by varprop 0.0.1 and this is " VP_VERSION), "%s", err);
    free(err);
    vt_rmtree(dir);
}
