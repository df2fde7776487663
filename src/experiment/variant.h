/* variant: one variant of a config document -- everything but name, description,
 * seeds and the sweep -- parsed into a vp_variant (experiment layer; config.c calls it
 * for the base document, sweep.c for each point of the sweep).
 *
 * Ownership: vp_cfg_variant fills *v, whose arrays and strings vp_cfg_variant_free
 * releases (also after a failed parse).
 */
#ifndef VP_VARIANT_H
#define VP_VARIANT_H

#include <cjson/cJSON.h>

#include "base/err.h"
#include "experiment/config_parse.h"
#include "experiment/config_types.h"

/* Parse the variant described by the (sweep-free) document root into v. */
vp_status vp_cfg_variant(vp_cfg_ctx *c, const cJSON *root, vp_variant *v);
void vp_cfg_variant_free(vp_variant *v);

/* The default registry name of the entry at JSON path `path` when the document does
 * not give it ("network.activation": "relu", "network.init", "network.bias"), or NULL. */
const char *vp_cfg_default_entry(const char *path);

/* Why variant v cannot run with "memory": "recompute" (the JSON path in *path and the
 * reason), or NULL when it can: training and the Jacobian need every weight stored. */
const char *vp_config_recompute_conflict(const vp_variant *v, const char **path);

/* The activation and initializer labels of variant v as runs.csv and the terminal
 * summary show them (buffers of len): the network's activation and init, or
 * VP_LABEL_PER_LAYER for a block network none of whose layers takes that default (each
 * dense and conv2d block sets its own; layers.csv labels every layer). */
#define VP_LABEL_PER_LAYER "per-layer"
void vp_variant_labels(const vp_variant *v, char *act, char *init, size_t len);

/* Label of an input distribution ("normal", "uniform", "fashion-mnist"). */
const char *vp_input_name(vp_input_kind k);

#endif
