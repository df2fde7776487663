/* config_parse: reading the values of one config document (experiment layer; the
 * lowest piece of the config parser, which config.c, variant.c, sweep.c, net_config.c
 * and train_config.c share): the error context that turns a JSON path into a message,
 * the typed readers that refuse a wrong type, range or name with it, and a registry
 * entry written back as JSON. It knows no variant or experiment (config_types.h); the
 * public interface of the parser is config.h. */
#ifndef VP_CONFIG_PARSE_H
#define VP_CONFIG_PARSE_H

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/param.h"
#include "core/act.h"
#include "core/init.h"

/* Error context: a path inside a value that came from the sweep is shown as
 * sweep["key"][i]... (keys/idx set while the sweep is expanded). */
typedef struct vp_cfg_ctx {
    const char *source;   /* names the config in messages */
    int nsweep;
    char **keys;          /* swept keys applied to this tree (NULL for the base) */
    const int *idx;       /* index into each key's value array */
    vp_err *err;
} vp_cfg_ctx;

/* The choices of an enum parameter that is a yes/no switch: it also takes, and the
 * resolved config writes, a JSON boolean (sgd's nesterov). */
#define VP_CFG_BOOL_CHOICES "false true"

/* "<source>: <path>: <what>" as VP_ERR_CONFIG. */
vp_status vp_cfg_fail(vp_cfg_ctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "a number", "a string", ... for messages. */
const char *vp_cfg_type_name(const cJSON *j);

/* ---- reading values; path is the JSON path of obj, key the member ---- */

/* out = path + "." + key (key alone at the top). */
void vp_cfg_join(char *out, size_t len, const char *path, const char *key);
/* Every key of obj must be in `allowed` (space-separated), and appear once. */
vp_status vp_cfg_check_keys(vp_cfg_ctx *c, const cJSON *obj, const char *path, const char *allowed);
/* Number in [lo, hi]; `integer` demands a whole number. Absent: *out untouched, VP_OK
 * (*present, when not NULL, says whether it was there). */
vp_status vp_cfg_get_num(vp_cfg_ctx *c, const cJSON *obj, const char *key, const char *path, double lo, double hi,
                         int integer, double *out, int *present);
vp_status vp_cfg_get_int(vp_cfg_ctx *c, const cJSON *obj, const char *key, const char *path, long lo, long hi,
                         int *out, int *present);
vp_status vp_cfg_get_bool(vp_cfg_ctx *c, const cJSON *obj, const char *key, const char *path, int *out);
/* A string that must be one of `choices` (space-separated): its index in *out. */
vp_status vp_cfg_get_choice(vp_cfg_ctx *c, const cJSON *obj, const char *key, const char *path, const char *choices,
                            int *out);
/* The parameters of a registry object {"name": ..., params} (every key but "name"),
 * by the row's specs: p[k] for spec k; "auto"/"critical" gains set the masks. */
vp_status vp_cfg_params(vp_cfg_ctx *c, const cJSON *obj, const char *path, const char *entry, const vp_param *spec,
                        int nparams, double *p, unsigned *auto_mask, unsigned *critical_mask);
/* The "name" of a registry entry given as a string or an object. */
vp_status vp_cfg_entry_name(vp_cfg_ctx *c, const cJSON *j, const char *path, const char **name);
/* An activation (act != NULL) or an initializer of weights or biases (in, bias). */
vp_status vp_cfg_entry(vp_cfg_ctx *c, const cJSON *j, const char *path, vp_act *act, vp_init *in, int bias);

/* The registry object {"name": ..., params} of the resolved config (config.json):
 * enum parameters as their words, "auto" / "critical" gains as those words. */
cJSON *vp_cfg_entry_json(const char *name, const vp_param *spec, int n, const double *p, unsigned auto_mask,
                         unsigned critical_mask);

#endif
