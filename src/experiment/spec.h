/* spec: a registry entry from its name and parameters -- an activation or an
 * initializer -- and the "auto" / "critical" gain rules (experiment layer).
 * One piece for every front end: the config parser (config_parse.c, variant.c,
 * train_config.c: JSON values) and the command line (`varprop theory`, `gain`, `init`:
 * KEY=VALUE text) look names up, find parameters, check the constraints between
 * parameters and resolve gains here, so a name or value means the same thing and is
 * refused with the same words wherever it is written.
 *
 * Messages say what is wrong and what is allowed ("did you mean" where a near
 * name exists) but not where: each caller puts its own location in front (a JSON
 * path, an option). Errors are VP_ERR_CONFIG (a value the user can fix). Pure
 * functions of the static registries and the theory module; no state.
 */
#ifndef VP_SPEC_H
#define VP_SPEC_H

#include "base/err.h"
#include "base/param.h"
#include "core/act.h"
#include "core/init.h"

/* The activation called `name` (canonical or alias), every parameter at its default. */
vp_status vp_spec_act(const char *name, vp_act *out, vp_err *err);

/* The initializer called `name`, usable for weights (bias = 0) or biases (bias = 1),
 * every parameter at its default. */
vp_status vp_spec_init(const char *name, int bias, vp_init *out, vp_err *err);

/* Index of the parameter `key` of registry entry `entry` (params[0..nparams)), or
 * -1 with a message ("relu takes no parameters", "... has no parameter ...; its
 * parameters are ..."). */
int vp_spec_param_index(const char *entry, const vp_param *params, int nparams, const char *key, vp_err *err);

/* Set parameter `key` from command-line text `value` (a number, an enum word, or
 * for a gain "auto" / "critical", which set the gain's bit in auto_mask /
 * critical_mask). Value errors name `where` (e.g. "--param gain"). */
vp_status vp_spec_act_param(vp_act *a, const char *key, const char *value, const char *where, vp_err *err);
vp_status vp_spec_init_param(vp_init *in, const char *key, const char *value, const char *where, vp_err *err);

/* Constraints between parameters (e.g. hard_tanh min_val < max_val, uniform a < b). */
vp_status vp_spec_act_check(const vp_act *a, vp_err *err);
vp_status vp_spec_init_check(const vp_init *in, vp_err *err);

/* Replace the "auto" gains of `in` by act's gain (PyTorch's calculate_gain where
 * PyTorch has one, else the variance-preserving 1/sqrt(E[phi(z)^2]); theory.h,
 * vp_theory_auto_gain) and the "critical" gains by sqrt(sigma_w^2) on the
 * order-to-chaos line chi_1 = 1 at sigma_b^2 = 0 (vp_theory_critical_gain; tanh 1,
 * relu sqrt 2). `varprop gain ACT` shows both. */
vp_status vp_spec_resolve_gains(vp_init *in, const vp_act *act, vp_err *err);

#endif
