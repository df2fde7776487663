/* train_config: a variant's "train" object -- what to train on, for how long, with
 * which optimizer, schedule and loss, and what to track while it trains (experiment
 * layer; parsed by train_config.c through the config parser's helpers, config_parse.h).
 *
 * Schema (docs/training.md "Config", every default there and in train_config.c):
 *   train{dataset, epochs, max_steps, batch, optimizer, schedule, loss, track_every,
 *         readout_init, hist_bins, eval_examples}
 *   dataset: "fashion-mnist" | "synthetic" | "idx" (then an object) |
 *            {"name": "fashion-mnist", "path": DIR} |
 *            {"format": "idx", "train_images", "train_labels", "test_images", "test_labels", "classes"} |
 *            {"name": "synthetic", "kind": "clusters" | "teacher", "seed", "classes", "dim",
 *             "n_train", "n_test", "separation", "hidden"}
 *   optimizer, schedule: a registry name or {"name": ..., parameters} (core/optim.h rows)
 * Every train.* key is sweepable ("train.optimizer.lr"); a swept value is checked as a
 * written one.
 *
 * Ownership: the strings of a vp_train_cfg are owned by it (vp_train_cfg_free); its
 * vp_dataset_spec borrows them.
 */
#ifndef VP_TRAIN_CONFIG_H
#define VP_TRAIN_CONFIG_H

#include <cjson/cJSON.h>

#include "base/err.h"
#include "core/act.h"
#include "core/dataset.h"
#include "core/init.h"
#include "core/loss.h"
#include "core/optim.h"
#include "experiment/config_parse.h"

#define VP_FASHION_DIM 784 /* fashion-mnist images: 28 x 28 pixels */

typedef struct {
    int on;                   /* the config has "train": every run trains after its measurement */
    vp_dataset_spec data;     /* strings borrowed from `paths` */
    char *paths[5];           /* owned: the fashion-mnist folder and the four IDX files (NULL: unset) */
    int epochs;
    long max_steps;           /* > 0: stop after this many updates, even mid-epoch (0: no limit) */
    int batch;                /* examples per step */
    vp_optim optim;
    vp_sched sched;
    vp_loss_kind loss;
    int track_every;          /* probe every this many steps (and at step 0) */
    int has_readout_init;     /* readout_init given; else the readout is drawn by network.init */
    vp_init readout_init;
    int hist_bins;            /* bins of the probe's activation histograms (hist_train.csv); 0: none */
    long eval_examples;       /* training examples train_acc is measured on (the first ones) */
} vp_train_cfg;

void vp_train_cfg_free(vp_train_cfg *t);

/* The resolved "train" object (every key, defaults filled in) for config.json. */
cJSON *vp_train_cfg_json(const vp_train_cfg *t);

/* 1 when a and b train on the same data set (the runner loads each data set once). */
int vp_train_same_data(const vp_train_cfg *a, const vp_train_cfg *b);

/* The "train" object of a variant's document (absent: t->on = 0) into t. The input
 * width must be the data set's where the config fixes it (fashion-mnist, synthetic);
 * act is the network's activation (readout_init's "auto" gain, elementwise only).
 * Called after the network is parsed. */
vp_status vp_cfg_train(vp_cfg_ctx *c, const cJSON *train, const vp_act *act, int input_width, vp_train_cfg *t);
/* The input width the "train" object's data set fixes (0: not known from the config:
 * an IDX set, whose width its files say). */
int vp_cfg_train_input_dim(const cJSON *train);

/* Label of the data set ("fashion-mnist", "synthetic clusters", the train images path). */
const char *vp_train_data_label(const vp_train_cfg *t);

#endif
