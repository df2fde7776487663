/* config_types: the parsed config's types -- one variant (vp_variant), the experiment
 * (vp_experiment), the parser's options and limits (experiment layer; types only).
 * Every piece of the parser (config.c, variant.c, sweep.c, net_config.c) fills them;
 * everything after the parser reads them through config.h. Ownership: config.h.
 */
#ifndef VP_CONFIG_TYPES_H
#define VP_CONFIG_TYPES_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "base/err.h"
#include "core/act.h"
#include "core/init.h"
#include "core/mlp.h"
#include "results/results.h"
#include "experiment/train_config.h"

/* 0.2.0 (session 8): a block network's ratios span its hidden stack, and the theory at
 * q* = 0 has no c* for a tanh-like phi: results of 0.1.0 are not resumed or merged into.
 * 0.2.1: a block network's runs.csv has theory_act_ratio and theory_grad_ratio (they were
 * empty), and eval.csv a step column: a resumed 0.2.0 folder would mix the two forms.
 * 0.2.2: config.json holds the config as given ("source") and runs again as a config
 * (config.c): a 0.2.1 folder's config.json would read as another config on --resume;
 * the training probe also runs at the last step (more layers_train.csv rows).
 * 0.2.3: theory_pre_corr of relu-like nets beyond q ~ 1e+-154 (it underflowed to 0), LSUV
 * runs that failed on a dead layer complete, configs with numbers outside JSON's grammar
 * (010) are refused: a 0.2.2 folder of such runs would mix the two. */
#define VP_VERSION "0.2.3"
#define VP_NAME_MAX 128

typedef enum { VP_INPUT_NORMAL, VP_INPUT_UNIFORM, VP_INPUT_FASHION_MNIST } vp_input_kind;

/* A block network from "network.layers" (experiment/net_config.h). */
typedef struct vp_net_spec vp_net_spec;

/* One fully resolved network/measurement setup. */
typedef struct {
    int L;
    int *widths;              /* n_0..n_L (owned) */
    vp_act act;
    vp_init winit;            /* "auto" gains already resolved */
    vp_init binit;            /* ignored when winit sets biases (mean_field) */
    vp_precision prec;
    vp_input_kind input;
    int batch;
    double in_std;            /* input.std: per-entry standard deviation of the inputs (default 1) */
    int has_corr;             /* input.correlation given */
    double in_corr;           /* input.correlation c0 in (-1, 1), >= -1/(batch-1) */
    int theory;               /* put mean-field predictions beside measurements */
    int hist_bins;            /* 0: no histograms */
    unsigned char *hist_layers; /* L flags (owned; NULL when hist_bins == 0) */
    int jacobian;             /* measure the input-output Jacobian spectrum */
    int lengths;              /* measure.lengths: per-example ||z^l_b||^2 / n_l (lengths.csv) */
    vp_train_cfg train;       /* "train": train.on = train after measuring (train_config.h) */
    vp_net_spec *net;         /* "network.layers" (owned), NULL for a plain stack; then L is its number of
                                 layers and widths[l] the values per example of layer l's output */
    vp_mlp_memory mem;        /* "memory" / "memory_checkpoint_every" (core/mlp.h, docs/memory.md) */
} vp_variant;

typedef struct {
    char name[VP_NAME_MAX];
    char record_version[32];  /* a results config.json run as a config: the varprop_version that wrote it
                                 (config.c); "" for a config */
    char *source;             /* owned: the config's text as given (a record's "source"), written into
                                 config.json so that the record runs again exactly */
    char *description;        /* owned, "" if absent */
    char *data_dir;           /* folder of the fashion-mnist .gz files (owned) */
    uint64_t *seeds;          /* owned */
    int nseeds;
    int nvariants;
    vp_variant *variants;     /* owned, nvariants */
    int nsweep;               /* swept keys */
    char **sweep_keys;        /* owned: dotted keys, e.g. "network.init" */
    char **sweep_values;      /* owned: label of variant v's value for key k at [v*nsweep + k] */
    char *resolved_json;      /* owned: the resolved config, written as config.json */
    int train;                /* the config has "train": every variant trains (the train.* keys
                                 can be swept, "train" itself cannot) */
} vp_experiment;

typedef struct {
    long max_runs;            /* refuse sweeps with more variant x seed runs (0: no limit
                                 but VP_MAX_RUNS) */
} vp_config_opts;

#define VP_DEFAULT_MAX_RUNS 10000

/* What one experiment can hold whatever --max-runs says, checked in 64-bit arithmetic
 * when the config is parsed (before anything is allocated for the variants or
 * written): variant ids up to VP_VARIANT_MAX (what the results readers take back),
 * runs up to INT_MAX (the runner numbers runs with an int), and a bounded number of
 * swept keys (every sweepable key and parameter fits many times over). */
#define VP_MAX_VARIANTS (VP_VARIANT_MAX + 1LL)
#define VP_MAX_RUNS ((long long)INT_MAX)
#define VP_SWEEP_MAX_KEYS 64

/* Number of runs (variants x seeds). */
static inline long vp_experiment_runs(const vp_experiment *e) { return (long)e->nvariants * e->nseeds; }

#endif
