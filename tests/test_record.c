/* A results folder's config.json (the record) runs again as a config: it holds the
 * config as given ("source"), and parsed back it gives the same experiment -- every
 * variant the same network, data and measurements (vp_variant_json, the variant in
 * full) and the same record -- whatever the sweep; an edited record, a record without
 * a source (before 0.2.2) and a bad version are refused. End to end: a run of the
 * record repeats the CSV files. */
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
 * width (the resolved keys hold the base's input_dim, 32). */
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

/* Each form of a network's shape, swept or not, and block networks, the images and training data. */
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

/* Sweeps whose resolved base does not describe every variant: an entry's name swept
 * (the base entry's resolved parameters are not the new entry's defaults), a key that
 * only some variants take, the training data's kind (a reviewer's list: each re-ran
 * another experiment or was refused when the record was read through its resolved keys). */
Test(record, sweeps_the_resolved_base_cannot_describe_run_again)
{
    const char *train = "\"train\": {\"dataset\": {\"name\": \"synthetic\", \"dim\": 8, \"n_train\": 64, \"n_test\": 16},"
                        " \"epochs\": 1, \"batch\": 16";
    char cfg[1024];
    const char *sweeps[] = {
        "\"optimizer\": \"adam\"}, \"sweep\": {\"train.optimizer.name\": [\"adam\", \"adamw\"]}",
        "\"optimizer\": \"sgd\"}, \"sweep\": {\"train.optimizer.name\": [\"sgd\", \"adam\"]}",
        "\"schedule\": \"step\"}, \"sweep\": {\"train.schedule.name\": [\"step\", \"cosine\"]}",
        "\"optimizer\": \"sgd\"}, \"sweep\": {\"train.dataset.kind\": [\"clusters\", \"teacher\"]}",
    };
    for (size_t i = 0; i < sizeof sweeps / sizeof *sweeps; i++) {
        snprintf(cfg, sizeof cfg, "{\"name\": \"t\", \"network\": {\"depth\": 2, \"width\": 8}, %s, %s}", train, sweeps[i]);
        round_trip(cfg, cfg);
    }
    const char *nets[] = {
        "{\"name\": \"n\", \"network\": {\"depth\": 2, \"width\": 8, \"init\": \"uniform\"}, \"sweep\": {\"network.init.name\": "
        "[\"uniform\", \"trunc_normal\"]}}",
        "{\"name\": \"n\", \"network\": {\"depth\": 2, \"width\": 8}, \"sweep\": {\"network.init\": [\"he_normal\", \"mean_field\"]}}",
        "{\"name\": \"n\", \"network\": {\"depth\": 2, \"width\": 8, \"init\": \"mean_field\"}, \"sweep\": {\"network.init\": "
        "[\"mean_field\", \"he_normal\"]}}",
        "{\"name\": \"n\", \"network\": {\"depth\": 2, \"width\": 8, \"init\": \"he_normal\"}, \"sweep\": {\"network.init.name\": "
        "[\"he_normal\", \"orthogonal\"]}}",
        "{\"name\": \"n\", \"input\": {\"distribution\": \"fashion-mnist\", \"batch\": 4}, \"network\": {\"depth\": 2, \"width\": 8,"
        " \"input_dim\": 784}, \"sweep\": {\"input.distribution\": [\"fashion-mnist\", \"normal\"]}}",
    };
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++) round_trip(nets[i], nets[i]);
}

/* The seeds come from their literals in the source, whatever the record's key order
 * (a record re-serialized with sorted keys, as jq -S or Python's sort_keys do; cJSON,
 * as here, keeps integers exact below 2^53 only, and a seed it rounded is refused). */
Test(record, a_reordered_record_keeps_its_seeds)
{
    const char *cfg = "{\"name\": \"s\", \"seeds\": [11, 4096], \"network\": {\"depth\": 3, \"width\": 8,"
                      " \"input_dim\": 5}, \"input\": {\"batch\": 4}}";
    vp_experiment *a = parse_ok(cfg, "cfg.json");
    cJSON *j = cJSON_Parse(a->resolved_json), *sorted = cJSON_CreateObject();
    cr_assert(j && sorted);
    /* the members in reverse order: "source" first, "seeds" after "network" */
    while (j->child) {
        cJSON *last = j->child;
        while (last->next) last = last->next;
        cJSON_AddItemToObject(sorted, last->string, cJSON_DetachItemViaPointer(j, last));
    }
    char *text = cJSON_Print(sorted);
    vp_experiment *b = parse_ok(text, "sorted.json");
    cr_assert_eq(b->nseeds, 2);
    cr_assert_eq(b->seeds[0], 11);
    cr_assert_eq(b->seeds[1], 4096);
    cJSON_free(text);
    cJSON_Delete(j);
    cJSON_Delete(sorted);
    vp_experiment_free(a);
    vp_experiment_free(b);
}

/* An edited record is refused, naming the first difference: it runs from its source,
 * so an edit of the resolved keys would otherwise be ignored. */
Test(record, an_edited_record_is_refused)
{
    const char *cfg = "{\"name\": \"s\", \"network\": {\"depth\": 3, \"width\": 8}, \"sweep\": {\"network.activation\": "
                      "[\"relu\", \"tanh\"]}}";
    char *t = edited_record(cfg, "\"depth\":\t3", "\"depth\":\t5");
    refused(t, "rec.json: the resolved config differs from what its \"source\" gives (network.depth: 5 in the record, "
               "3 from its source): it was edited", "copy that out as a config");
    free(t);
    t = edited_record(cfg, "\"network.activation\":\t\"tanh\"", "\"network.activation\":\t\"selu\"");
    refused(t, "variants[1][\"network.activation\"]: \"selu\" in the record, \"tanh\" from its source", NULL);
    free(t);
    /* another version's record that differs: named as such */
    t = edited_record(cfg, "\"" VP_VERSION "\"", "\"0.9.0\"");
    char *u = strstr(t, "\"depth\":\t3");
    cr_assert(u);
    u[9] = '4';
    refused(t, "written by varprop 0.9.0, whose resolved config differs from what this version " VP_VERSION, "network.depth");
    free(t);
}

/* The deepest network (depth 100000: a widths list of 100001 numbers) runs again from
 * its record, and an edit of the list's last element is named by its index: the two
 * lists are compared element by element, in one walk (indexing each element from the
 * list's head took 45 s here, 69 s on another machine; the fuzzer's timeout found it:
 * the limit of 30 s, a hundred times what the one walk takes, is that regression's
 * guard, not a speed claim). */
Test(record, the_deepest_networks_record_is_compared_element_by_element, .timeout = 30)
{
    const char *cfg = "{\"name\": \"deep\", \"network\": {\"depth\": 100000, \"width\": 3}}";
    round_trip(cfg, "deep.json");
    char *t = edited_record(cfg, "3],\n\t\t\"activation\"", "7],\n\t\t\"activation\"");
    refused(t, "(network.widths[100000]: 7 in the record, 3 from its source): it was edited", NULL);
    free(t);
}

/* The comparison is exact: a value edited within cJSON_Compare's relative epsilon, or a
 * seed edited to another literal of the same double, is an edit (they ran the source's
 * value while the record said another). */
Test(record, an_edit_below_doubles_precision_is_refused)
{
    const char *cfg = "{\"name\": \"x\", \"seeds\": [1, 18446744073709551615], \"network\": {\"depth\": 2, \"width\": 4},"
                      " \"input\": {\"batch\": 4, \"std\": 0.1}}";
    char *t = edited_record(cfg, "\"std\":\t0.1", "\"std\":\t0.10000000000000002");
    refused(t, "(input.std: 0.10000000000000002 in the record, 0.1 from its source)", NULL);
    free(t);
    t = edited_record(cfg, "18446744073709551615", "18446744073709550000"); /* within cJSON_Compare's epsilon */
    refused(t, "the resolved config differs from what its \"source\" gives (seeds: the record's list is not the source's)", NULL);
    free(t);
    t = edited_record(cfg, "18446744073709551615", "18446744073709551614"); /* the same double, another seed */
    refused(t, "(seeds: the record's list is not the source's)", NULL);
    free(t);
    t = edited_record(cfg, "18446744073709551615", "18446744073709549568"); /* the next double down */
    refused(t, "(seeds: the record's list is not the source's)", NULL);
    free(t);
}

Test(record, records_without_a_source_or_version_are_refused)
{
    char *t = edited_record("{\"name\": \"v\"}", "\"" VP_VERSION "\"", "2");
    refused(t, "varprop_version: expected the version that wrote this results config.json", NULL);
    free(t);
    t = edited_record("{\"name\": \"v\"}", "\"" VP_VERSION "\"", "\"\"");
    refused(t, "varprop_version: expected the version", "1 to 31 characters");
    free(t);
    /* a 0.2.1 record: the resolved config only */
    t = edited_record("{\"name\": \"v\"}", ",\n\t\"source\":", ",\n\t\"was_source\":");
    refused(t, "a results config.json of varprop " VP_VERSION ", which holds the resolved config only", "run that config");
    free(t);
    t = edited_record("{\"name\": \"v\"}", "\"source\":\t\"", "\"source\":\t3, \"x\": \"");
    refused(t, "source: expected the config's text as a JSON string, got a number", NULL);
    free(t);
    /* a source that is itself a record */
    vp_experiment *a = parse_ok("{\"name\": \"v\"}", "cfg.json");
    cJSON *j = cJSON_Parse(a->resolved_json);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "source", cJSON_CreateString(a->resolved_json));
    char *text = cJSON_Print(j);
    refused(text, "(its \"source\"): holds a results config.json, not a config", NULL);
    cJSON_free(text);
    /* ... also with the key written with an escape (a text search would miss it) */
    char *esc = edited_record("{\"name\": \"v\"}", "\"varprop_version\"", "\"varprop\\u005fversion\"");
    cJSON_ReplaceItemInObjectCaseSensitive(j, "source", cJSON_CreateString(esc));
    text = cJSON_Print(j);
    refused(text, "(its \"source\"): holds a results config.json, not a config", NULL);
    cJSON_free(text);
    free(esc);
    cJSON_Delete(j);
    vp_experiment_free(a);
    /* an error in the source names it */
    t = edited_record("{\"name\": \"v\"}", "\"source\":\t\"{\\\"name\\\": \\\"v\\\"}\"",
                      "\"source\":\t\"{\\\"name\\\": \\\"v\\\", \\\"seeds\\\": -1}\"");
    refused(t, "rec.json (its \"source\"): seeds", NULL);
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
