/* advise_run: the config side of `varprop advise` (experiment layer) -- the
 * "network" object that puts an advised (sigma_w, sigma_b) into a config, and a
 * quick measurement of it: the config parsed in memory (config.h), run by the
 * runner (runner.h) into a temporary folder, its runs.csv ratios read back
 * (results/table.h), the folder removed.
 *
 * The snippet text is what `varprop advise` prints and what the measurement runs,
 * so the user pastes exactly what was checked. No state.
 */
#ifndef VP_ADVISE_RUN_H
#define VP_ADVISE_RUN_H

#include <stddef.h>

#include "base/err.h"
#include "core/act.h"
#include "theory/advise.h"

/* The three ways to write the advised weights and biases:
 *   mean_field        "init": {"name": "mean_field", "sigma_w": sw, "sigma_b": sb}
 *   variance_scaling  "init": {"name": "variance_scaling", "scale": sw2, "mode": "fan_in",
 *                     "distribution": "untruncated_normal"}, "bias": "zeros" or
 *                     {"name": "normal", "std": sb} -- the same distributions
 *   xavier_normal     "init": {"name": "xavier_normal", "gain": sw} with the same bias:
 *                     N(0, gain^2 2/(fan_in + fan_out)) is N(0, sw^2/fan_in) because every
 *                     layer of the snippet's network is square (input_dim = width) */
typedef enum { VP_SNIPPET_MEAN_FIELD, VP_SNIPPET_VARIANCE_SCALING, VP_SNIPPET_XAVIER, VP_SNIPPET_COUNT } vp_snippet_kind;

/* "mean_field", "variance_scaling", "xavier_normal". */
const char *vp_snippet_name(vp_snippet_kind k);

/* The value of a config's "network" key, one line of JSON: depth, width, the
 * activation (its name, or an object with its non-default parameters) and the
 * advice's weights and biases written as `kind` (sigma_w, sigma_b, and sigma_w2
 * for the variance_scaling scale, with %.9g: VP_ADVISE_DIGITS). VP_ERR_USAGE if it
 * does not fit in len bytes. */
vp_status vp_advise_snippet(const vp_act *act, int depth, int width, const vp_advice *a, vp_snippet_kind kind,
                            char *buf, size_t len, vp_err *err);

#define VP_ADVISE_CHECK_MAX_SEEDS 64

/* The measured ratios of each seed 0..nseeds-1 (runs.csv act_ratio, grad_ratio). */
typedef struct {
    int nseeds;
    double act_ratio[VP_ADVISE_CHECK_MAX_SEEDS];
    double grad_ratio[VP_ADVISE_CHECK_MAX_SEEDS];
} vp_advise_measured;

/* The value of a config's "input" key for the advice: {"std": S} with the advice's
 * input_std (%.9g), or {} when it is 1 (the default). VP_ERR_USAGE if it does not fit. */
vp_status vp_advise_input_snippet(const vp_advice *a, char *buf, size_t len, vp_err *err);

/* Run the config {"name": "advise-check", "seeds": nseeds, "theory": false,
 * "network": NETWORK, "input": {"batch": batch, "std": input_std}} (std left out when
 * it is 1) with `threads` threads in a new
 * folder tmp_parent/varprop-advise-XXXXXX (tmp_parent NULL: $TMPDIR, else /tmp),
 * read its runs.csv and remove the folder (also on failure). nseeds in
 * 1..VP_ADVISE_CHECK_MAX_SEEDS. Errors: the config's (VP_ERR_CONFIG: the snippet is
 * not a valid network), the runner's, I/O. */
vp_status vp_advise_measure(const char *network, double input_std, int nseeds, int batch, int threads,
                            const char *tmp_parent, vp_advise_measured *out, vp_err *err);

#endif
