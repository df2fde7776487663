/* config_parse: what the config parser's two files share while they read one
 * config document (experiment layer; private to config.c and sweep.c): the error
 * context that turns a JSON path into a message, and the parser of one variant
 * (everything but name, description, seeds and sweep). The public interface is
 * config.h. */
#ifndef VP_CONFIG_PARSE_H
#define VP_CONFIG_PARSE_H

#include <cjson/cJSON.h>

#include "base/err.h"
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

/* Parse the variant described by the (sweep-free) document root into v; release
 * with vp_cfg_variant_free. */
vp_status vp_cfg_variant(vp_cfg_ctx *c, const cJSON *root, vp_variant *v);
void vp_cfg_variant_free(vp_variant *v);

#endif
