/* train_config: see train_config.h. The "train" object of one variant's document, read
 * with the config parser's helpers (config_parse.h): the same messages -- JSON path,
 * what is wrong, what is allowed, did you mean -- and a swept value's path shown in
 * the sweep. */
#include "experiment/train_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/param.h"
#include "experiment/config_parse.h"
#include "experiment/spec.h"

/* ---- defaults (the only place they live; docs/training.md lists them) ---- */
#define DEF_EPOCHS 1
#define DEF_BATCH 128
#define DEF_OPTIM "sgd"
#define DEF_SCHED "constant"
#define DEF_LOSS "cross_entropy"
#define DEF_TRACK_EVERY 50
#define DEF_HIST_BINS 40
#define DEF_EVAL_EXAMPLES 10000
#define MAX_EPOCHS 100000
#define MAX_BATCH (1 << 20)
#define MAX_TRACK (1 << 30)
#define MAX_HIST_BINS 1000
#define MAX_EXAMPLES 4294967295.0 /* 2^32 - 1: what a split can hold (core/dataset.h) */
#define MAX_SEED 9007199254740992.0 /* 2^53: a JSON number is a double */

#define TRAIN_KEYS "dataset epochs max_steps batch optimizer schedule loss track_every readout_init hist_bins eval_examples"
#define SOURCES "fashion-mnist idx synthetic"
#define FASHION_KEYS "name path n_train n_test"
#define IDX_KEYS "name format train_images train_labels test_images test_labels classes n_train n_test"
#define SYNTH_KEYS "name kind seed classes dim n_train n_test separation hidden"
#define SYNTH_KINDS "clusters teacher"
#define IDX_FILES "train_images train_labels test_images test_labels"

void vp_train_cfg_free(vp_train_cfg *t)
{
    for (int k = 0; k < 5; k++) free(t->paths[k]);
    memset(t, 0, sizeof *t);
}

static vp_status dup_path(vp_cfg_ctx *c, vp_train_cfg *t, int k, const char *s, const char **out)
{
    free(t->paths[k]);
    t->paths[k] = strdup(s);
    if (!t->paths[k]) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    *out = t->paths[k];
    return VP_OK;
}

/* The data set's source: a string, or the object's "name" / "format" (one of them). */
static vp_status source_of(vp_cfg_ctx *c, const cJSON *d, int *src)
{
    const cJSON *j = d;
    const char *path = "train.dataset";
    char list[128], dym[160];
    vp_choices_list(SOURCES, list, sizeof list);
    if (cJSON_IsObject(d)) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "name"), *f = cJSON_GetObjectItemCaseSensitive(d, "format");
        if (n && f) return vp_cfg_fail(c, "train.dataset.format", "give \"name\" or \"format\", not both");
        if (!n && !f) return vp_cfg_fail(c, "train.dataset", "object needs a \"name\" (one of %s) or \"format\": \"idx\"", list);
        j = n ? n : f;
        path = n ? "train.dataset.name" : "train.dataset.format";
    } else if (!cJSON_IsString(d)) {
        return vp_cfg_fail(c, path, "expected one of %s or an object, got %s", list, vp_cfg_type_name(d));
    }
    if (!cJSON_IsString(j)) return vp_cfg_fail(c, path, "expected one of %s, got %s", list, vp_cfg_type_name(j));
    *src = vp_choice_index(SOURCES, j->valuestring);
    if (*src < 0) {
        vp_did_you_mean(j->valuestring, SOURCES, dym, sizeof dym);
        return vp_cfg_fail(c, path, "\"%s\" is not one of %s%s", j->valuestring, list, dym);
    }
    return VP_OK;
}

static vp_status parse_synthetic(vp_cfg_ctx *c, const cJSON *d, vp_synth_spec *sp)
{
    const char *P = "train.dataset";
    int kind = 0;
    vp_status s;
    if (d && (s = vp_cfg_get_choice(c, d, "kind", P, SYNTH_KINDS, &kind))) return s;
    *sp = vp_synth_default(kind ? VP_SYNTH_TEACHER : VP_SYNTH_CLUSTERS);
    if (!d) return VP_OK;
    double seed = 0, n_train = (double)sp->n_train, n_test = (double)sp->n_test;
    if ((s = vp_cfg_get_num(c, d, "seed", P, 0, MAX_SEED, 1, &seed, NULL)) ||
        (s = vp_cfg_get_int(c, d, "classes", P, 2, 65536, &sp->classes, NULL)) ||
        (s = vp_cfg_get_int(c, d, "dim", P, 1, 1 << 24, &sp->dim, NULL)) ||
        (s = vp_cfg_get_num(c, d, "n_train", P, 1, MAX_EXAMPLES, 1, &n_train, NULL)) ||
        (s = vp_cfg_get_num(c, d, "n_test", P, 0, MAX_EXAMPLES, 1, &n_test, NULL)) ||
        (s = vp_cfg_get_num(c, d, "separation", P, 0, 1e150, 0, &sp->separation, NULL)) ||
        (s = vp_cfg_get_int(c, d, "hidden", P, 1, 65536, &sp->hidden, NULL)))
        return s;
    sp->seed = (uint64_t)seed;
    sp->n_train = (size_t)n_train;
    sp->n_test = (size_t)n_test;
    if (sp->kind == VP_SYNTH_CLUSTERS && cJSON_GetObjectItemCaseSensitive(d, "hidden"))
        return vp_cfg_fail(c, "train.dataset.hidden", "only used with \"kind\": \"teacher\"");
    if (sp->kind == VP_SYNTH_TEACHER && cJSON_GetObjectItemCaseSensitive(d, "separation"))
        return vp_cfg_fail(c, "train.dataset.separation", "only used with \"kind\": \"clusters\"");
    return VP_OK;
}

/* A file source's subset: n_train, n_test (the first examples of each split); left out,
 * the whole split (0 in the spec). The files' counts are checked with the files
 * (vp_dataset_check), before anything is written. */
static vp_status parse_take(vp_cfg_ctx *c, const cJSON *obj, vp_dataset_spec *sp)
{
    double n_train = 0, n_test = 0;
    vp_status s;
    if (!obj) return VP_OK;
    if ((s = vp_cfg_get_num(c, obj, "n_train", "train.dataset", 1, MAX_EXAMPLES, 1, &n_train, NULL)) ||
        (s = vp_cfg_get_num(c, obj, "n_test", "train.dataset", 1, MAX_EXAMPLES, 1, &n_test, NULL)))
        return s;
    sp->take_train = (size_t)n_train;
    sp->take_test = (size_t)n_test;
    return VP_OK;
}

static vp_status parse_dataset(vp_cfg_ctx *c, const cJSON *d, vp_train_cfg *t)
{
    vp_status s;
    int src = 0;
    if (d && (s = source_of(c, d, &src))) return s;
    const cJSON *obj = cJSON_IsObject(d) ? d : NULL;
    vp_dataset_spec *sp = &t->data;
    memset(sp, 0, sizeof *sp);
    static const char *const KEYS[] = { FASHION_KEYS, IDX_KEYS, SYNTH_KEYS };
    if (obj && (s = vp_cfg_check_keys(c, obj, "train.dataset", KEYS[src]))) return s;
    switch (src) {
    case 0: { /* fashion-mnist */
        sp->source = VP_DATA_FASHION_MNIST;
        const cJSON *p = obj ? cJSON_GetObjectItemCaseSensitive(obj, "path") : NULL;
        if (p && (!cJSON_IsString(p) || !p->valuestring[0]))
            return vp_cfg_fail(c, "train.dataset.path", "expected a folder path string, got %s", vp_cfg_type_name(p));
        if ((s = parse_take(c, obj, sp))) return s;
        return dup_path(c, t, 0, p ? p->valuestring : VP_FASHION_MNIST_DIR, &sp->dir);
    }
    case 1: { /* idx */
        sp->source = VP_DATA_IDX;
        if (!obj)
            return vp_cfg_fail(c, "train.dataset", "\"idx\" needs an object {\"format\": \"idx\", \"train_images\": "
                               "..., \"train_labels\": ..., \"test_images\": ..., \"test_labels\": ...}");
        const char **dst[4] = { &sp->idx.train_images, &sp->idx.train_labels, &sp->idx.test_images,
                                &sp->idx.test_labels };
        for (int k = 0; k < 4; k++) {
            char key[32], p[64];
            vp_choice_word(IDX_FILES, k, key, sizeof key);
            snprintf(p, sizeof p, "train.dataset.%s", key);
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, key);
            if (!f) return vp_cfg_fail(c, p, "missing; an IDX data set names its four files (%s)", IDX_FILES);
            if (!cJSON_IsString(f) || !f->valuestring[0])
                return vp_cfg_fail(c, p, "expected a file path string, got %s", vp_cfg_type_name(f));
            if ((s = dup_path(c, t, k + 1, f->valuestring, dst[k]))) return s;
        }
        if ((s = parse_take(c, obj, sp))) return s;
        return vp_cfg_get_int(c, obj, "classes", "train.dataset", 0, 256, &sp->classes, NULL);
    }
    default:
        sp->source = VP_DATA_SYNTHETIC;
        return parse_synthetic(c, obj, &sp->synth);
    }
}

/* A registry entry of core/optim.h given as j: `name` (found: its row index, -1 when
 * no row has it: refused with did-you-mean against `names`) and, for an object, its
 * parameters by the row's specs into p. */
static vp_status parse_registry(vp_cfg_ctx *c, const cJSON *j, const char *path, const char *names, int found,
                                const char *name, const char *row, const vp_param *spec, int nparams, double *p)
{
    char list[256], dym[160], np[128];
    vp_cfg_join(np, sizeof np, path, "name");
    if (found < 0) {
        vp_choices_list(names, list, sizeof list);
        vp_did_you_mean(name, names, dym, sizeof dym);
        return vp_cfg_fail(c, cJSON_IsObject(j) ? np : path, "\"%s\" is not one of %s%s", name, list, dym);
    }
    unsigned none = 0, none2 = 0;
    if (!cJSON_IsObject(j)) return VP_OK;
    vp_status s = vp_cfg_params(c, j, path, row, spec, nparams, p, &none, &none2);
    if (!s && (none || none2)) return vp_cfg_fail(c, path, "\"auto\" and \"critical\" are gains of initializers");
    return s;
}

/* The name of an optimizer or schedule entry: a string, or an object's "name" -- which
 * an object may leave out for the default (so "train.optimizer.lr" can be swept into a
 * config that names no optimizer). */
static vp_status registry_name(vp_cfg_ctx *c, const cJSON *j, const char *path, const char **name)
{
    if (cJSON_IsObject(j) && !cJSON_GetObjectItemCaseSensitive(j, "name")) return VP_OK;
    return vp_cfg_entry_name(c, j, path, name);
}

static vp_status parse_optimizer(vp_cfg_ctx *c, const cJSON *j, vp_optim *o)
{
    const char *name = DEF_OPTIM, *path = "train.optimizer";
    vp_status s;
    if (j && (s = registry_name(c, j, path, &name))) return s;
    vp_optim_kind k = vp_optim_find(name);
    char names[128];
    vp_optim_names(names, sizeof names);
    if (k < VP_OPTIM_COUNT) *o = vp_optim_default(k);
    const vp_optim_info *in = k < VP_OPTIM_COUNT ? vp_optim_get(k) : NULL;
    if (j && (s = parse_registry(c, j, path, names, k < VP_OPTIM_COUNT ? (int)k : -1, name, in ? in->name : "",
                                 in ? in->params : NULL, in ? in->nparams : 0, o->p)))
        return s;
    vp_err e2;
    if (vp_optim_check(o, &e2)) return vp_cfg_fail(c, path, "%s", e2.msg);
    return VP_OK;
}

static vp_status parse_schedule(vp_cfg_ctx *c, const cJSON *j, vp_sched *o)
{
    const char *name = DEF_SCHED, *path = "train.schedule";
    vp_status s;
    if (j && (s = registry_name(c, j, path, &name))) return s;
    vp_sched_kind k = vp_sched_find(name);
    char names[128];
    vp_sched_names(names, sizeof names);
    if (k < VP_SCHED_COUNT) *o = vp_sched_default(k);
    const vp_sched_info *in = k < VP_SCHED_COUNT ? vp_sched_get(k) : NULL;
    if (j && (s = parse_registry(c, j, path, names, k < VP_SCHED_COUNT ? (int)k : -1, name, in ? in->name : "",
                                 in ? in->params : NULL, in ? in->nparams : 0, o->p)))
        return s;
    vp_err e2;
    if (vp_sched_check(o, &e2)) return vp_cfg_fail(c, path, "%s", e2.msg);
    return VP_OK;
}

static vp_status parse_loss(vp_cfg_ctx *c, const cJSON *j, vp_loss_kind *out)
{
    char names[128], list[160], dym[160];
    vp_loss_names(names, sizeof names);
    vp_choices_list(names, list, sizeof list);
    *out = vp_loss_find(DEF_LOSS);
    if (!j) return VP_OK;
    if (!cJSON_IsString(j)) return vp_cfg_fail(c, "train.loss", "expected one of %s, got %s", list, vp_cfg_type_name(j));
    *out = vp_loss_find(j->valuestring);
    if (*out == VP_LOSS_COUNT) {
        vp_did_you_mean(j->valuestring, names, dym, sizeof dym);
        return vp_cfg_fail(c, "train.loss", "\"%s\" is not one of %s%s", j->valuestring, list, dym);
    }
    return VP_OK;
}

int vp_cfg_train_input_dim(const cJSON *train)
{
    const cJSON *d = cJSON_IsObject(train) ? cJSON_GetObjectItemCaseSensitive(train, "dataset") : NULL;
    const cJSON *n = cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "name") : d;
    const char *src = !d ? "fashion-mnist" : cJSON_IsString(n) ? n->valuestring : "";
    if (strcmp(src, "fashion-mnist") == 0) return VP_FASHION_DIM;
    if (strcmp(src, "synthetic") != 0) return 0;
    const cJSON *dim = cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "dim") : NULL;
    if (cJSON_IsNumber(dim) && dim->valuedouble >= 1 && dim->valuedouble <= (1 << 24) &&
        dim->valuedouble == floor(dim->valuedouble))
        return (int)dim->valuedouble;
    return vp_synth_default(VP_SYNTH_CLUSTERS).dim;
}

vp_status vp_cfg_train(vp_cfg_ctx *c, const cJSON *j, const vp_act *act, int input_width, vp_train_cfg *t)
{
    vp_status s;
    memset(t, 0, sizeof *t);
    if (!j) return VP_OK;
    if (!cJSON_IsObject(j)) return vp_cfg_fail(c, "train", "expected an object, got %s", vp_cfg_type_name(j));
    if ((s = vp_cfg_check_keys(c, j, "train", TRAIN_KEYS))) return s;
    t->on = 1;
    t->epochs = DEF_EPOCHS;
    t->batch = DEF_BATCH;
    t->track_every = DEF_TRACK_EVERY;
    t->hist_bins = DEF_HIST_BINS;
    double eval = DEF_EVAL_EXAMPLES, max_steps = 0;
    if ((s = parse_dataset(c, cJSON_GetObjectItemCaseSensitive(j, "dataset"), t)) ||
        (s = vp_cfg_get_int(c, j, "epochs", "train", 1, MAX_EPOCHS, &t->epochs, NULL)) ||
        (s = vp_cfg_get_num(c, j, "max_steps", "train", 0, 1e15, 1, &max_steps, NULL)) ||
        (s = vp_cfg_get_int(c, j, "batch", "train", 1, MAX_BATCH, &t->batch, NULL)) ||
        (s = parse_optimizer(c, cJSON_GetObjectItemCaseSensitive(j, "optimizer"), &t->optim)) ||
        (s = parse_schedule(c, cJSON_GetObjectItemCaseSensitive(j, "schedule"), &t->sched)) ||
        (s = parse_loss(c, cJSON_GetObjectItemCaseSensitive(j, "loss"), &t->loss)) ||
        (s = vp_cfg_get_int(c, j, "track_every", "train", 1, MAX_TRACK, &t->track_every, NULL)) ||
        (s = vp_cfg_get_int(c, j, "hist_bins", "train", 0, MAX_HIST_BINS, &t->hist_bins, NULL)) ||
        (s = vp_cfg_get_num(c, j, "eval_examples", "train", 0, MAX_EXAMPLES, 1, &eval, NULL)))
        return s;
    t->eval_examples = (long)eval;
    t->max_steps = (long)max_steps;
    if (t->hist_bins == 1) return vp_cfg_fail(c, "train.hist_bins", "1 is out of range; allowed: 0 (none) or 2 to %d", MAX_HIST_BINS);
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(j, "readout_init");
    if (ri && !cJSON_IsNull(ri)) {
        t->has_readout_init = 1;
        if ((s = vp_cfg_entry(c, ri, "train.readout_init", NULL, &t->readout_init, 0))) return s;
        vp_err e2;
        if (vp_spec_resolve_gains(&t->readout_init, act, &e2))
            return vp_cfg_fail(c, "train.readout_init.gain", "%s", e2.msg);
        if (t->readout_init.kind == VP_INIT_LSUV)
            return vp_cfg_fail(c, "train.readout_init", "lsuv rescales with a forward pass; the readout is drawn directly");
    }
    /* What the trainer takes (core/train.h). */
    const vp_act_info *ai = vp_act_get(act->kind);
    if (vp_act_rowwise(ai))
        return vp_cfg_fail(c, "network.activation", "training (\"train\") needs an elementwise activation; %s acts on "
                           "whole rows (see `varprop list activations`)", ai->name);
    /* network.init lsuv trains from the weights LSUV rescaled on the measurement batch
     * (input.*): train_run.c's vp_train_take_hidden. Block networks refuse lsuv
     * (net_config.c: data-dependent initializers are not drawn per layer). */
    int dim = t->data.source == VP_DATA_FASHION_MNIST ? VP_FASHION_DIM
              : t->data.source == VP_DATA_SYNTHETIC   ? t->data.synth.dim
                                                      : 0;
    if (dim && input_width != dim)
        return vp_cfg_fail(c, "network.input_dim", "the training data set (train.dataset) has %d inputs per example, so "
                           "the input width must be %d (got %d)", dim, dim, input_width);
    return VP_OK;
}

/* ---- the resolved object ---- */

/* A subset, when there is one (a whole split writes nothing: the config.json of a run
 * on the whole files is as before). */
static void take_json(cJSON *o, const vp_dataset_spec *d)
{
    if (d->take_train) cJSON_AddNumberToObject(o, "n_train", (double)d->take_train);
    if (d->take_test) cJSON_AddNumberToObject(o, "n_test", (double)d->take_test);
}

static cJSON *dataset_json(const vp_train_cfg *t)
{
    const vp_dataset_spec *d = &t->data;
    cJSON *o = cJSON_CreateObject();
    switch (d->source) {
    case VP_DATA_FASHION_MNIST:
        cJSON_AddStringToObject(o, "name", "fashion-mnist");
        cJSON_AddStringToObject(o, "path", d->dir);
        take_json(o, d);
        break;
    case VP_DATA_IDX:
        cJSON_AddStringToObject(o, "format", "idx");
        cJSON_AddStringToObject(o, "train_images", d->idx.train_images);
        cJSON_AddStringToObject(o, "train_labels", d->idx.train_labels);
        cJSON_AddStringToObject(o, "test_images", d->idx.test_images);
        cJSON_AddStringToObject(o, "test_labels", d->idx.test_labels);
        cJSON_AddNumberToObject(o, "classes", d->classes);
        take_json(o, d);
        break;
    case VP_DATA_SYNTHETIC: {
        const vp_synth_spec *s = &d->synth;
        char seed[24];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
        cJSON_AddStringToObject(o, "name", "synthetic");
        cJSON_AddStringToObject(o, "kind", s->kind == VP_SYNTH_TEACHER ? "teacher" : "clusters");
        cJSON_AddItemToObject(o, "seed", cJSON_CreateRaw(seed));
        cJSON_AddNumberToObject(o, "classes", s->classes);
        cJSON_AddNumberToObject(o, "dim", s->dim);
        cJSON_AddNumberToObject(o, "n_train", (double)s->n_train);
        cJSON_AddNumberToObject(o, "n_test", (double)s->n_test);
        if (s->kind == VP_SYNTH_TEACHER) cJSON_AddNumberToObject(o, "hidden", s->hidden);
        else cJSON_AddNumberToObject(o, "separation", s->separation);
        break;
    }
    }
    return o;
}

cJSON *vp_train_cfg_json(const vp_train_cfg *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "dataset", dataset_json(t));
    cJSON_AddNumberToObject(o, "epochs", t->epochs);
    cJSON_AddNumberToObject(o, "max_steps", (double)t->max_steps);
    cJSON_AddNumberToObject(o, "batch", t->batch);
    const vp_optim_info *oi = vp_optim_get(t->optim.kind);
    cJSON_AddItemToObject(o, "optimizer", vp_cfg_entry_json(oi->name, oi->params, oi->nparams, t->optim.p, 0, 0));
    const vp_sched_info *si = vp_sched_get(t->sched.kind);
    cJSON_AddItemToObject(o, "schedule", vp_cfg_entry_json(si->name, si->params, si->nparams, t->sched.p, 0, 0));
    cJSON_AddStringToObject(o, "loss", vp_loss_get(t->loss)->name);
    cJSON_AddNumberToObject(o, "track_every", t->track_every);
    if (t->has_readout_init) {
        const vp_init_info *ri = vp_init_get(t->readout_init.kind);
        cJSON_AddItemToObject(o, "readout_init", vp_cfg_entry_json(ri->name, ri->params, ri->nparams,
                                                                     t->readout_init.p, t->readout_init.auto_mask,
                                                                     t->readout_init.critical_mask));
    } else {
        cJSON_AddNullToObject(o, "readout_init");
    }
    cJSON_AddNumberToObject(o, "hist_bins", t->hist_bins);
    cJSON_AddNumberToObject(o, "eval_examples", (double)t->eval_examples);
    return o;
}

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

int vp_train_same_data(const vp_train_cfg *a, const vp_train_cfg *b)
{
    const vp_dataset_spec *x = &a->data, *y = &b->data;
    if (x->source != y->source || x->take_train != y->take_train || x->take_test != y->take_test) return 0;
    switch (x->source) {
    case VP_DATA_FASHION_MNIST: return same_str(x->dir, y->dir);
    case VP_DATA_IDX:
        return x->classes == y->classes && same_str(x->idx.train_images, y->idx.train_images) &&
               same_str(x->idx.train_labels, y->idx.train_labels) && same_str(x->idx.test_images, y->idx.test_images) &&
               same_str(x->idx.test_labels, y->idx.test_labels);
    case VP_DATA_SYNTHETIC: {
        const vp_synth_spec *p = &x->synth, *q = &y->synth;
        return p->kind == q->kind && p->seed == q->seed && p->classes == q->classes && p->dim == q->dim &&
               p->n_train == q->n_train && p->n_test == q->n_test && p->separation == q->separation &&
               p->hidden == q->hidden;
    }
    }
    return 0;
}

const char *vp_train_data_label(const vp_train_cfg *t)
{
    switch (t->data.source) {
    case VP_DATA_FASHION_MNIST: return "fashion-mnist";
    case VP_DATA_IDX: return t->data.idx.train_images;
    case VP_DATA_SYNTHETIC: return t->data.synth.kind == VP_SYNTH_TEACHER ? "synthetic teacher" : "synthetic clusters";
    }
    return "";
}
