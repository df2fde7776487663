/* net_config: "network.layers" -- the nested block list of a config -> the flat layer
 * list of core/net.h (experiment layer: the config parser makes a vp_net_spec, the
 * runner reads it).
 *
 * Blocks (docs/architectures.md): dense {width, activation, init, bias}, conv2d
 * {out_channels, kernel, stride = 1, padding = 0, activation, init, bias}, maxpool2d /
 * avgpool2d {size, stride = size}, flatten, layernorm, batchnorm, rmsnorm, residual
 * {branch, alpha = 1, norm: "pre" | "post" | "none", norm_type = "layernorm",
 * scheme: "none" | "fixup" | "skipinit" | "rezero"}, repeat {count, layers}. activation,
 * init and bias default to network.activation/init/bias. init may also be
 * "delta_orthogonal" (or {"name": "delta_orthogonal", "gain": g}).
 * Each layer's path names it: network.layers[2], network.layers[1][3].layers[0]
 * (repetition 3 of a repeat), ....branch[1], ....norm (a residual's norm layer).
 * Errors name the JSON path of the block (network.layers[1].layers[0].kernel: ...).
 */
#ifndef VP_NET_CONFIG_H
#define VP_NET_CONFIG_H

#include <cjson/cJSON.h>

#include "core/net.h"
#include "experiment/config_parse.h"
#include "experiment/config_types.h"

/* The conv2d blocks' own initializer (Xiao et al. 2018), outside the registry. */
#define VP_DELTA_ORTHOGONAL "delta_orthogonal"

/* Which of the network's defaults some layer takes (vp_net_spec.takes): a sweep over a
 * default that no layer takes would give identical variants (vp_sweep_expand refuses it). */
enum { VP_NET_TAKES_ACTIVATION = 1, VP_NET_TAKES_INIT = 2, VP_NET_TAKES_BIAS = 4 };

struct vp_net_spec {
    int n;
    vp_layer_spec *ls;  /* owned, with their paths */
    vp_shape in;
    char *layers_json;  /* owned: the "layers" array as given (for config.json) */
    int has_input_shape;
    unsigned takes;     /* VP_NET_TAKES_*: network.activation/init/bias used by some layer */
    char *own[3];       /* owned: JSON path of the first block that sets its own activation,
                           init, bias ("network.layers[1].init"), NULL if none (for messages) */
    int bn_one;         /* 1 + the first batchnorm layer at one position per channel (after a
                           dense layer), 0 if none: a batch of 1 gives it one value per channel */
};

/* Parse net (the "network" object, which has "layers") into v: v->net, and v->L and
 * v->widths as the per-layer output sizes (widths[0] the input's), so the runner's
 * generic parts see one "layer" per row. The defaults are v->act, v->winit, v->binit
 * (already parsed). What block networks do not have yet is refused here:
 * train.readout_init (the readout is the last layer), train.hist_bins > 0,
 * measure.histograms, measure.jacobian and measure.lengths. */
vp_status vp_cfg_net_layers(vp_cfg_ctx *c, const cJSON *root, const cJSON *net, vp_variant *v);
/* With "layers" (lay != NULL), depth, width and widths are errors; without it,
 * input_shape is. */
vp_status vp_cfg_net_clash(vp_cfg_ctx *c, const cJSON *net, const cJSON *lay);
void vp_net_spec_free(vp_net_spec *s);

/* The block network's hidden stack, the layers its ratios span (runs.csv act_ratio,
 * grad_ratio; 1-based, first..last): among the main-stream layers (those not inside a
 * residual branch or its pre-norm, so a wide bottleneck does not cut the stream of
 * residual outputs; nor a post-norm block's add, whose output is its norm's), the longest run of consecutive layers with the same output shape,
 * the first of equal runs -- the plain stack's rule (vp_mlp_stack) with shapes for
 * widths, a flatten joining no run. A readout, a pooling or a flatten that changes the
 * shape is so not part of what propagates. No run of two: all main-stream layers (the
 * first to the last). */
void vp_net_spec_stack(const vp_net_spec *ns, int *first, int *last);

/* The config path of a layer from its row path (vp_layer_spec.path): without the
 * repetition indices of repeat blocks ("network.layers[1][3].layers[0]" ->
 * "network.layers[1].layers[0]") and without a residual's ".norm". */
void vp_net_json_path(const char *row_path, char *out, size_t len);

#endif
