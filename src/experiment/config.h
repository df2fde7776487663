/* config: the JSON experiment config (cJSON) -> plain structs (experiment layer).
 *
 * Strict: unknown keys, wrong types, out-of-range or non-finite numbers and
 * unknown names are errors (VP_ERR_CONFIG) whose message names the JSON path,
 * what is wrong, what is allowed and, where a near name exists, "did you mean".
 * No cJSON pointer escapes this module. The parser's pieces, from the top: config.c
 * (the document: name, description, seeds, the sweep's expansion through sweep.c),
 * variant.c (one variant), net_config.c and train_config.c (network.layers, train),
 * config_parse.c (typed values, JSON paths in messages); the types are
 * config_types.h's. Every default lives in config.c (the document's), variant.c (a
 * variant's) or train_config.c (training's). The schema is documented in README.md
 * ("Config reference").
 *
 * Ownership: vp_config_load allocates a vp_experiment; vp_experiment_free
 * releases it (NULL-safe). Variants are the cartesian product of the sweep, in
 * row-major order (the first sweep key varies slowest).
 */
#ifndef VP_CONFIG_H
#define VP_CONFIG_H

#include <stddef.h>
#include "base/err.h"
#include "experiment/config_types.h"
#include "experiment/variant.h"

/* Parse and validate a config held in memory; `source` names it in messages. */
vp_status vp_config_parse(const char *text, size_t len, const char *source, const vp_config_opts *opts,
                          vp_experiment **out, vp_err *err);
/* A config's JSON text parsed strictly, for every reader of configs: RFC 8259 (cJSON
 * alone takes 010 and 1. through strtod), UTF-8, no NUL, nothing after the value; a
 * refusal names the line and column, with a hint for the usual slips (comments,
 * trailing commas, single quotes). *out is the tree (the caller's), NULL on failure. */
struct cJSON;
vp_status vp_config_json(const char *text, size_t len, const char *source, struct cJSON **out, vp_err *err);
/* Read and parse a config file (at most 16 MiB). */
vp_status vp_config_load(const char *path, const vp_config_opts *opts, vp_experiment **out, vp_err *err);
void vp_experiment_free(vp_experiment *e);

/* The first place two configs' JSON texts differ (keys in a's order, then keys only b
 * has), as "network.depth: 3 <a_name>, 4 <b_name>" ("absent" for a missing key) in
 * out: 1; 0 when they hold the same values or one does not parse. For messages that
 * refuse to mix results of different configs. */
int vp_config_diff(const char *a, const char *a_name, const char *b, const char *b_name, char *out, size_t len);

#endif
