/* libFuzzer harness: bytes -> vp_config_parse (the strict JSON config parser).
 * max_runs is small so a fuzzed sweep never asks for a huge variant table; every
 * result is freed (LeakSanitizer checks), every failure must be VP_ERR_CONFIG or
 * VP_ERR_NOMEM with a one-line message. Build and run: tests/fuzz/fuzz.mk. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vp_config_opts opts = { 50 };
    vp_experiment *e = NULL;
    vp_err err;
    memset(&err, 0, sizeof err);
    vp_status s = vp_config_parse((const char *)data, size, "fuzz.json", &opts, &e, &err);
    if (s == VP_OK) {
        if (!e || e->nvariants < 1 || e->nseeds < 1 || vp_experiment_runs(e) > 50 || !e->resolved_json) abort();
        for (int v = 0; v < e->nvariants; v++)
            if (e->variants[v].L < 1 || !e->variants[v].widths) abort();
        vp_experiment_free(e);
    } else {
        if (e) abort();                                      /* *out is NULL on failure */
        if (s != VP_ERR_CONFIG && s != VP_ERR_NOMEM) abort(); /* parsing fails only as a config error */
        if (!memchr(err.msg, '\0', sizeof err.msg) || err.msg[0] == '\0') abort();
    }
    return 0;
}
