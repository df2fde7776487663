/* sweep: a config's "sweep" -- dotted keys, each with an array of values -- expanded
 * into variants, the labels of each variant's swept values, and the resolved config
 * written as config.json (experiment layer; private to the config parser, whose
 * public interface is config.h). Variants are the cartesian product of the value
 * arrays in row-major order (the first key varies slowest); each is parsed from the
 * document with the values set into it, so a swept value is checked like a written
 * one and its errors point into the sweep (sweep["key"][i]). */
#ifndef VP_SWEEP_H
#define VP_SWEEP_H

#include <cjson/cJSON.h>

#include "experiment/config_parse.h"
#include "experiment/config_types.h"

/* Fill e's variants, sweep keys and values and resolved_json from the document
 * root, whose sweep-free variant is `base`; refuse more than opts->max_runs runs and
 * the limits of config.h (VP_MAX_VARIANTS, VP_MAX_RUNS, VP_SWEEP_MAX_KEYS). The work
 * is linear in the number of variants: each copies the sweep-free document only. */
vp_status vp_sweep_expand(vp_cfg_ctx *c, const cJSON *root, const vp_variant *base, const vp_config_opts *opts,
                          vp_experiment *e);

/* Variant v of e in full, as config.json would hold it were v the sweep-free config
 * (precision, theory, network, input, measure, train, memory; one line of JSON,
 * owned by the caller, cJSON_free): two variants with the same text run the same
 * network on the same data. NULL when out of memory. */
char *vp_variant_json(const vp_experiment *e, const vp_variant *v);

#endif
