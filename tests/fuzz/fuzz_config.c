/* libFuzzer harness: bytes -> vp_config_parse (the strict JSON config parser).
 * max_runs is small so a fuzzed sweep never asks for a huge variant table: each
 * variant may hold the 100000 layers a config allows, and the harness parses it twice
 * (the record) at ~2 us a layer under ASan: 8 such variants take 2.5 s (50 took 10.8 s
 * and 2.2 GB, past the 10-s timeout and the rss limit of fuzz.mk). Every
 * result is freed (LeakSanitizer checks), every failure must be VP_ERR_CONFIG or
 * VP_ERR_NOMEM with a one-line message, and an accepted config's record (config.json)
 * must parse back into the same experiment: the same record, the same variants in
 * full (vp_variant_json; tests/test_record.c). Build and run: tests/fuzz/fuzz.mk. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RUNS 8

/* e's config.json, run as a config, is e again; aborts when it is not. */
static void record_runs_again(const vp_experiment *e, const vp_config_opts *opts)
{
    vp_experiment *r = NULL;
    vp_err err;
    if (vp_config_parse(e->resolved_json, strlen(e->resolved_json), "config.json", opts, &r, &err) != VP_OK) abort();
    if (strcmp(r->resolved_json, e->resolved_json) != 0 || r->nvariants != e->nvariants) abort();
    for (int v = 0; v < e->nvariants; v++) {
        char *a = vp_variant_json(e, &e->variants[v]), *b = vp_variant_json(r, &r->variants[v]);
        if (!a || !b || strcmp(a, b) != 0) abort();
        cJSON_free(a);
        cJSON_free(b);
    }
    vp_experiment_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vp_config_opts opts = { MAX_RUNS };
    vp_experiment *e = NULL;
    vp_err err;
    memset(&err, 0, sizeof err);
    vp_status s = vp_config_parse((const char *)data, size, "fuzz.json", &opts, &e, &err);
    if (s == VP_OK) {
        if (!e || e->nvariants < 1 || e->nseeds < 1 || vp_experiment_runs(e) > MAX_RUNS || !e->resolved_json) abort();
        for (int v = 0; v < e->nvariants; v++)
            if (e->variants[v].L < 1 || !e->variants[v].widths) abort();
        record_runs_again(e, &opts);
        vp_experiment_free(e);
    } else {
        if (e) abort();                                      /* *out is NULL on failure */
        if (s != VP_ERR_CONFIG && s != VP_ERR_NOMEM) abort(); /* parsing fails only as a config error */
        if (!memchr(err.msg, '\0', sizeof err.msg) || err.msg[0] == '\0') abort();
    }
    return 0;
}
