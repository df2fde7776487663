/* config_parse: what the config parser's two files share while they read one
 * config document (experiment layer; private to config.c and sweep.c): the error
 * context that turns a JSON path into a message, and the parser of one variant
 * (everything but name, description, seeds and sweep). The public interface is
 * config.h. */
#ifndef VP_CONFIG_PARSE_H
#define VP_CONFIG_PARSE_H

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/param.h"
#include "experiment/config.h"

/* Error context: a path inside a value that came from the sweep is shown as
 * sweep["key"][i]... (keys/idx set while the sweep is expanded). */
typedef struct {
    const char *source;   /* names the config in messages */
    int nsweep;
    char **keys;          /* swept keys applied to this tree (NULL for the base) */
    const int *idx;       /* index into each key's value array */
    vp_err *err;
} vp_cfg_ctx;

/* "<source>: <path>: <what>" as VP_ERR_CONFIG. */
vp_status vp_cfg_fail(vp_cfg_ctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "a number", "a string", ... for messages. */
const char *vp_cfg_type_name(const cJSON *j);

/* ---- reading values (config.c); path is the JSON path of obj, key the member ---- */

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

/* The "train" object of a variant's document (src/experiment/train_config.c): fills
 * v->train, and the input width v->widths[0] must be the data set's (checked here for
 * the sources whose width the config fixes). Called after the network is parsed. */
vp_status vp_cfg_train(vp_cfg_ctx *c, const cJSON *train, vp_variant *v);
/* The input width the "train" object's data set fixes (0: not known from the config:
 * an IDX set, whose width its files say). */
int vp_cfg_train_input_dim(const cJSON *train);

/* Parse the variant described by the (sweep-free) document root into v; release
 * with vp_cfg_variant_free. */
vp_status vp_cfg_variant(vp_cfg_ctx *c, const cJSON *root, vp_variant *v);
void vp_cfg_variant_free(vp_variant *v);

#endif
