/* results: see results.h. The column table, the file layouts and the words. */
#include "results/results.h"

#include <math.h>
#include <string.h>

/* ---- verdicts ---- */

static const char *const VERDICT_WORDS[VP_VERDICT_COUNT] = {
    [VP_VERDICT_VANISHING] = "vanishing",
    [VP_VERDICT_STABLE] = "stable",
    [VP_VERDICT_EXPLODING] = "exploding",
    [VP_VERDICT_NONFINITE] = "non-finite",
    [VP_VERDICT_OTHER] = "other",
};

vp_verdict vp_verdict_classify(double ratio, long long nonfinite)
{
    if (nonfinite > 0) return VP_VERDICT_NONFINITE;
    /* 0/0: both ends of the net carry exactly zero signal (it underflowed on the
     * way, e.g. relu'(0) = 0 everywhere): it vanished completely. x/0 = inf. */
    if (isnan(ratio)) return VP_VERDICT_VANISHING;
    if (isinf(ratio)) return VP_VERDICT_EXPLODING;
    if (ratio < 1.0 / VP_STABLE_BAND) return VP_VERDICT_VANISHING;
    if (ratio > VP_STABLE_BAND) return VP_VERDICT_EXPLODING;
    return VP_VERDICT_STABLE;
}

const char *vp_verdict_word(vp_verdict v)
{
    return v >= 0 && v < VP_VERDICT_COUNT ? VERDICT_WORDS[v] : VERDICT_WORDS[VP_VERDICT_OTHER];
}

vp_verdict vp_verdict_parse(const char *word)
{
    for (int v = 0; v < VP_VERDICT_OTHER; v++)
        if (strcmp(word, VERDICT_WORDS[v]) == 0) return (vp_verdict)v;
    return VP_VERDICT_OTHER;
}

static const char *const QUANTITY_WORDS[VP_HIST_QUANTITIES] = {
    [VP_HIST_PRE] = "pre",
    [VP_HIST_POST] = "post",
    [VP_HIST_GRAD_PRE] = "grad_pre",
};

const char *vp_hist_quantity_word(vp_hist_quantity q) { return QUANTITY_WORDS[q]; }

/* ---- the column table ---- */

static const vp_column COLUMNS[VP_COL_COUNT] = {
    [VP_COL_VARIANT] = { .name = "variant", .kind = VP_KIND_INT, .unit = "",
                         .meaning = "0-based index of the sweep variant (config.json `variants` lists them)" },
    [VP_COL_ACTIVATION] = { .name = "activation", .kind = VP_KIND_TEXT, .unit = "",
                            .meaning = "canonical activation label with its non-default parameters" },
    [VP_COL_INIT] = { .name = "init", .kind = VP_KIND_TEXT, .unit = "",
                      .meaning = "canonical weight-initializer label, e.g. orthogonal(gain=1.4142)" },
    [VP_COL_SEED] = { .name = "seed", .kind = VP_KIND_UINT, .unit = "", .meaning = "the seed" },
    [VP_COL_LAYER] = { .name = "layer", .kind = VP_KIND_INT, .unit = "", .meaning = "l, 1..L" },
    [VP_COL_FAN_IN] = { .name = "fan_in", .kind = VP_KIND_INT, .unit = "units", .meaning = "n_{l-1}" },
    [VP_COL_FAN_OUT] = { .name = "fan_out", .kind = VP_KIND_INT, .unit = "units",
                         .meaning = "the weight's fan_out: n_l (2 n_l for glu)" },
    [VP_COL_PRE_MEAN] = { .name = "pre_mean", .kind = VP_KIND_REAL, .unit = "z", .meaning = "mean of z^l" },
    [VP_COL_PRE_VAR] = { .name = "pre_var", .kind = VP_KIND_REAL, .unit = "z^2", .meaning = "Var[z^l]" },
    [VP_COL_POST_MEAN] = { .name = "post_mean", .kind = VP_KIND_REAL, .unit = "h", .meaning = "mean of h^l" },
    [VP_COL_POST_VAR] = { .name = "post_var", .kind = VP_KIND_REAL, .unit = "h^2", .meaning = "Var[h^l]" },
    [VP_COL_GRAD_PRE_VAR] = { .name = "grad_pre_var", .kind = VP_KIND_REAL, .unit = "(dL/dz)^2",
                              .meaning = "Var[dL/dz^l]" },
    [VP_COL_GRAD_POST_VAR] = { .name = "grad_post_var", .kind = VP_KIND_REAL, .unit = "(dL/dh)^2",
                               .meaning = "Var[dL/dh^l]" },
    [VP_COL_WGRAD_VAR] = { .name = "wgrad_var", .kind = VP_KIND_REAL, .unit = "(dL/dW)^2",
                           .meaning = "Var[dL/dW^l] over the n_l x n_{l-1} entries" },
    [VP_COL_UNIT_SQ_MEAN] = { .name = "unit_sq_mean", .kind = VP_KIND_REAL, .unit = "h^2",
                              .meaning = "average over units of the squared per-unit batch mean of h^l "
                                         "(Brock et al. 2021)" },
    [VP_COL_UNIT_VAR] = { .name = "unit_var", .kind = VP_KIND_REAL, .unit = "h^2",
                          .meaning = "average over units of the per-unit batch variance of h^l" },
    [VP_COL_DEAD_FRAC] = { .name = "dead_frac", .kind = VP_KIND_REAL, .unit = "",
                           .meaning = "fraction of units whose phi'(z) is 0 for every example" },
    [VP_COL_SATURATED_FRAC] = { .name = "saturated_frac", .kind = VP_KIND_REAL, .unit = "",
                                .meaning = "fraction of entries where |phi'(z)| < 5% of its peak "
                                           "(bounded activations)" },
    [VP_COL_NONFINITE] = { .name = "nonfinite", .kind = VP_KIND_INT, .unit = "entries",
                           .meaning = "NaN/Inf entries (layers.csv: in the layer's tensors; runs.csv: summed, plus "
                                      "NaN Jacobian singular values)" },
    [VP_COL_SUBNORMAL] = { .name = "subnormal", .kind = VP_KIND_INT, .unit = "entries",
                           .meaning = "subnormal entries in the same tensors" },
    [VP_COL_THEORY_PRE_VAR] = { .name = "theory_pre_var", .kind = VP_KIND_OPT_REAL, .unit = "z^2", .theory = 1,
                                .meaning = "mean-field prediction of E[(z^l)^2]; empty where it does not apply" },
    [VP_COL_THEORY_GRAD_PRE_VAR] = { .name = "theory_grad_pre_var", .kind = VP_KIND_OPT_REAL,
                                     .unit = "(dL/dz)^2", .theory = 1,
                                     .meaning = "mean-field prediction of E[(dL/dz^l)^2]" },
    [VP_COL_THEORY_CHI] = { .name = "theory_chi", .kind = VP_KIND_OPT_REAL, .unit = "", .theory = 1,
                            .meaning = "chi at this layer's q^l: sigma_w^2(l) E[phi'(sqrt(q^l) z)^2] (chi_1 at a fixed point)" },
    [VP_COL_DEPTH] = { .name = "depth", .kind = VP_KIND_INT, .unit = "layers", .meaning = "L" },
    [VP_COL_BATCH] = { .name = "batch", .kind = VP_KIND_INT, .unit = "examples", .meaning = "input batch size" },
    [VP_COL_ACT_RATIO] = { .name = "act_ratio", .kind = VP_KIND_REAL, .unit = "",
                           .meaning = "Var[z^b]/Var[z^a] over the hidden stack a..b: the longest run of layers of "
                                      "equal width (1..L when all are; a readout of another width is left out)" },
    [VP_COL_GRAD_RATIO] = { .name = "grad_ratio", .kind = VP_KIND_REAL, .unit = "",
                            .meaning = "Var[dL/dz^a]/Var[dL/dz^b] over the hidden stack, growth along the backward pass" },
    [VP_COL_ACT_VERDICT] = { .name = "act_verdict", .kind = VP_KIND_TEXT, .unit = "",
                             .meaning = "verdict of act_ratio (vp_verdict)" },
    [VP_COL_GRAD_VERDICT] = { .name = "grad_verdict", .kind = VP_KIND_TEXT, .unit = "",
                              .meaning = "verdict of grad_ratio (vp_verdict)" },
    [VP_COL_XI_GRAD] = { .name = "xi_grad", .kind = VP_KIND_OPT_REAL, .unit = "layers",
                         .meaning = "measured depth scale: 1/|slope| of ln Var[dL/dz^l] against l over the hidden stack" },
    [VP_COL_THEORY_CHI1] = { .name = "theory_chi1", .kind = VP_KIND_OPT_REAL, .unit = "", .theory = 1,
                             .meaning = "chi_1 at the sigma_w^2, sigma_b^2 of the hidden stack's last layer" },
    [VP_COL_THEORY_XI_C] = { .name = "theory_xi_c", .kind = VP_KIND_OPT_REAL, .unit = "layers", .theory = 1,
                             .meaning = "correlation depth scale xi_c; empty where the maps have no fixed point" },
    [VP_COL_PRE_CORR] = { .name = "pre_corr", .kind = VP_KIND_REAL, .unit = "",
                          .meaning = "mean pairwise correlation of z^l across examples: [sum_{a!=b} <z_a,z_b>/(B(B-1))] / "
                                     "[sum_b ||z_b||^2/B] (nan for a batch of 1)" },
    [VP_COL_THEORY_PRE_CORR] = { .name = "theory_pre_corr", .kind = VP_KIND_OPT_REAL, .unit = "", .theory = 1,
                                 .meaning = "the correlation map iterated from c^0 (input.correlation, else the "
                                            "measured correlation of the input batch)" },
    [VP_COL_XI_C] = { .name = "xi_c", .kind = VP_KIND_OPT_REAL, .unit = "layers",
                      .meaning = "measured correlation depth scale: -1/slope of ln|pre_corr - c*| against l over the "
                                 "hidden stack's layers above the noise floor 1/sqrt(B n_l); c* from the theory" },
    [VP_COL_THEORY_XI_GRAD] = { .name = "theory_xi_grad", .kind = VP_KIND_OPT_REAL, .unit = "layers", .theory = 1,
                                .meaning = "-1/ln chi_1 (negative: gradients grow towards the input)" },
    [VP_COL_THEORY_ACT_RATIO] = { .name = "theory_act_ratio", .kind = VP_KIND_OPT_REAL, .unit = "", .theory = 1,
                                  .meaning = "act_ratio predicted: the same quotient of theory_pre_var (a block network: "
                                             "of the layer outputs' predicted variances); empty where a layer has no "
                                             "prediction" },
    [VP_COL_THEORY_GRAD_RATIO] = { .name = "theory_grad_ratio", .kind = VP_KIND_OPT_REAL, .unit = "", .theory = 1,
                                   .meaning = "grad_ratio predicted: the same quotient of theory_grad_pre_var (a block "
                                              "network: of the layer outputs' predicted gradient second moments)" },
    [VP_COL_EXAMPLE] = { .name = "example", .kind = VP_KIND_INT, .unit = "",
                         .meaning = "1-based index of the example in the input batch" },
    [VP_COL_SQ_LEN] = { .name = "sq_len", .kind = VP_KIND_REAL, .unit = "z^2",
                        .meaning = "||z^l_b||^2 / n_l, the squared length of example b's pre-activation per unit "
                                   "(Hanin & Rolnick 2018)" },
    [VP_COL_SECONDS] = { .name = "seconds", .kind = VP_KIND_SECONDS, .unit = "s",
                         .meaning = "wall time (the only column that varies between identical runs)" },
    [VP_COL_STATUS] = { .name = "status", .kind = VP_KIND_TEXT, .unit = "",
                        .meaning = VP_STATUS_OK " for a completed run" },
    [VP_COL_QUANTITY] = { .name = "quantity", .kind = VP_KIND_TEXT, .unit = "",
                          .meaning = "pre = z^l, post = h^l, grad_pre = dL/dz^l" },
    [VP_COL_BIN_LO] = { .name = "bin_lo", .kind = VP_KIND_REAL, .unit = "value", .meaning = "lower bin edge" },
    [VP_COL_BIN_HI] = { .name = "bin_hi", .kind = VP_KIND_REAL, .unit = "value", .meaning = "upper bin edge" },
    [VP_COL_DENSITY] = { .name = "density", .kind = VP_KIND_REAL, .unit = "1/value",
                         .meaning = "normalized so that the sum of density x width is 1" },
    [VP_COL_INDEX] = { .name = "index", .kind = VP_KIND_INT, .unit = "",
                       .meaning = "1-based rank, singular values in descending order" },
    [VP_COL_SINGULAR_VALUE] = { .name = "singular_value", .kind = VP_KIND_REAL, .unit = "",
                                .meaning = "singular value of the input-output Jacobian at the first example" },
    [VP_COL_EPOCH] = { .name = "epoch", .kind = VP_KIND_INT, .unit = "epochs",
                       .meaning = "train.csv: the epoch the step belongs to (1-based); eval.csv: epochs completed "
                                  "(0 = before training; the last one partial when train.max_steps ends it: see step)" },
    [VP_COL_STEP] = { .name = "step", .kind = VP_KIND_INT, .unit = "updates",
                      .meaning = "optimizer updates done (train.csv: 1 for the first; layers_train.csv, "
                                 "hist_train.csv and eval.csv: measured after this many, 0 = at initialization)" },
    [VP_COL_LOSS] = { .name = "loss", .kind = VP_KIND_REAL, .unit = "",
                      .meaning = "training loss of the step's batch, before its update (nan/inf: diverged)" },
    [VP_COL_LR] = { .name = "lr", .kind = VP_KIND_REAL, .unit = "", .meaning = "learning rate of the step's update" },
    [VP_COL_GRAD_NORM] = { .name = "grad_norm", .kind = VP_KIND_REAL, .unit = "",
                           .meaning = "L2 norm of the whole gradient (every weight and bias), before the update" },
    [VP_COL_TEST_LOSS] = { .name = "test_loss", .kind = VP_KIND_OPT_REAL, .unit = "",
                           .meaning = "mean loss over the test split (empty: no test split)" },
    [VP_COL_TEST_ACC] = { .name = "test_acc", .kind = VP_KIND_OPT_REAL, .unit = "",
                          .meaning = "fraction of the test split classified correctly (empty: no test split)" },
    [VP_COL_TRAIN_ACC] = { .name = "train_acc", .kind = VP_KIND_OPT_REAL, .unit = "",
                           .meaning = "fraction classified correctly of the first train.eval_examples training "
                                      "examples (empty: 0 asked for)" },
    [VP_COL_DIVERGED_STEP] = { .name = "diverged_step", .kind = VP_KIND_OPT_REAL, .unit = "updates", .train = 1,
                               .meaning = "the training step whose loss was NaN/Inf (status " VP_STATUS_DIVERGED
                                          "); empty for a run that trained to the end" },
    [VP_COL_BLOCK] = { .name = "block", .kind = VP_KIND_TEXT, .unit = "", .blocks = 1,
                       .meaning = "where the layer is in network.layers, e.g. network.layers[1][3].layers[0].branch[1] "
                                  "(repetition 3 of a repeat block; .norm: a residual's norm)" },
    [VP_COL_TYPE] = { .name = "type", .kind = VP_KIND_TEXT, .unit = "", .blocks = 1,
                      .meaning = "the layer's type: dense, conv2d, maxpool2d, avgpool2d, flatten, layernorm, batchnorm, "
                                 "rmsnorm, residual (its row: the stream x + alpha f(x) after the add)" },
    [VP_COL_BRANCH_VAR] = { .name = "branch_var", .kind = VP_KIND_OPT_REAL, .unit = "x^2", .blocks = 1,
                            .meaning = "residual rows: variance of the branch output f(x) before alpha (empty elsewhere)" },
    [VP_COL_SKIP_VAR] = { .name = "skip_var", .kind = VP_KIND_OPT_REAL, .unit = "x^2", .blocks = 1,
                          .meaning = "residual rows: variance of the skip path x (empty elsewhere)" },
    [VP_COL_BRANCH_SKIP_RATIO] = { .name = "branch_skip_ratio", .kind = VP_KIND_OPT_REAL, .unit = "", .blocks = 1,
                                   .meaning = "residual rows: alpha^2 branch_var / skip_var, the variance the block adds "
                                              "relative to what it carries (empty elsewhere)" },
    [VP_COL_SHAPE] = { .name = "shape", .kind = VP_KIND_TEXT, .unit = "", .blocks = 1,
                       .meaning = "the layer's output per example: [C, H, W], or [n] when flat" },
    [VP_COL_PARAMS] = { .name = "params", .kind = VP_KIND_INT, .unit = "parameters", .blocks = 1,
                        .meaning = "weights and biases of the layer (dense, conv2d; 0 for the others)" },
};

const vp_column *vp_column_get(vp_col c) { return &COLUMNS[c]; }
const char *vp_col_name(vp_col c) { return COLUMNS[c].name; }

/* ---- the files ---- */

static const vp_col LAYERS_COLS[] = {
    VP_COL_VARIANT, VP_COL_ACTIVATION, VP_COL_INIT, VP_COL_SEED, VP_COL_LAYER, VP_COL_BLOCK, VP_COL_TYPE,
    VP_COL_SHAPE, VP_COL_PARAMS, VP_COL_FAN_IN, VP_COL_FAN_OUT,
    VP_COL_PRE_MEAN, VP_COL_PRE_VAR, VP_COL_POST_MEAN, VP_COL_POST_VAR, VP_COL_GRAD_PRE_VAR,
    VP_COL_GRAD_POST_VAR, VP_COL_WGRAD_VAR, VP_COL_UNIT_SQ_MEAN, VP_COL_UNIT_VAR, VP_COL_DEAD_FRAC,
    VP_COL_SATURATED_FRAC, VP_COL_NONFINITE, VP_COL_SUBNORMAL, VP_COL_THEORY_PRE_VAR, VP_COL_THEORY_GRAD_PRE_VAR,
    VP_COL_THEORY_CHI, VP_COL_PRE_CORR, VP_COL_THEORY_PRE_CORR, VP_COL_BRANCH_VAR, VP_COL_SKIP_VAR,
    VP_COL_BRANCH_SKIP_RATIO,
};
static const vp_col RUNS_COLS[] = {
    VP_COL_VARIANT, VP_COL_ACTIVATION, VP_COL_INIT, VP_COL_SEED, VP_COL_DEPTH, VP_COL_BATCH,
    VP_COL_ACT_RATIO, VP_COL_GRAD_RATIO, VP_COL_ACT_VERDICT, VP_COL_GRAD_VERDICT, VP_COL_NONFINITE,
    VP_COL_SUBNORMAL, VP_COL_XI_GRAD, VP_COL_THEORY_CHI1, VP_COL_THEORY_XI_C, VP_COL_XI_C, VP_COL_THEORY_XI_GRAD,
    VP_COL_THEORY_ACT_RATIO, VP_COL_THEORY_GRAD_RATIO, VP_COL_SECONDS, VP_COL_STATUS, VP_COL_DIVERGED_STEP,
};
static const vp_col HIST_COLS[] = {
    VP_COL_VARIANT, VP_COL_SEED, VP_COL_LAYER, VP_COL_QUANTITY, VP_COL_BIN_LO, VP_COL_BIN_HI, VP_COL_DENSITY,
};
static const vp_col JACOBIAN_COLS[] = { VP_COL_VARIANT, VP_COL_SEED, VP_COL_INDEX, VP_COL_SINGULAR_VALUE };
static const vp_col LENGTHS_COLS[] = { VP_COL_VARIANT, VP_COL_SEED, VP_COL_EXAMPLE, VP_COL_LAYER, VP_COL_SQ_LEN };
static const vp_col TRAIN_COLS[] = { VP_COL_VARIANT, VP_COL_ACTIVATION, VP_COL_INIT, VP_COL_SEED, VP_COL_EPOCH,
                                     VP_COL_STEP, VP_COL_LOSS, VP_COL_LR, VP_COL_GRAD_NORM };
static const vp_col EVAL_COLS[] = { VP_COL_VARIANT, VP_COL_ACTIVATION, VP_COL_INIT, VP_COL_SEED, VP_COL_EPOCH,
                                    VP_COL_STEP, VP_COL_TEST_LOSS, VP_COL_TEST_ACC, VP_COL_TRAIN_ACC };
/* layers.csv's measured columns with the step after the seed (no theory: the mean-field
 * predictions are of the network at initialization, which layers.csv holds); the block
 * columns for block networks, as in layers.csv. */
static const vp_col LAYERS_TRAIN_COLS[] = {
    VP_COL_VARIANT, VP_COL_ACTIVATION, VP_COL_INIT, VP_COL_SEED, VP_COL_STEP, VP_COL_LAYER, VP_COL_BLOCK,
    VP_COL_TYPE, VP_COL_FAN_IN,
    VP_COL_FAN_OUT, VP_COL_PRE_MEAN, VP_COL_PRE_VAR, VP_COL_POST_MEAN, VP_COL_POST_VAR, VP_COL_GRAD_PRE_VAR,
    VP_COL_GRAD_POST_VAR, VP_COL_WGRAD_VAR, VP_COL_UNIT_SQ_MEAN, VP_COL_UNIT_VAR, VP_COL_DEAD_FRAC,
    VP_COL_SATURATED_FRAC, VP_COL_NONFINITE, VP_COL_SUBNORMAL, VP_COL_PRE_CORR, VP_COL_BRANCH_VAR,
    VP_COL_SKIP_VAR, VP_COL_BRANCH_SKIP_RATIO,
};
static const vp_col HIST_TRAIN_COLS[] = {
    VP_COL_VARIANT, VP_COL_SEED, VP_COL_STEP, VP_COL_LAYER, VP_COL_QUANTITY, VP_COL_BIN_LO, VP_COL_BIN_HI,
    VP_COL_DENSITY,
};

#define COLS(a) .cols = (a), .ncols = sizeof(a) / sizeof(a)[0]
static const vp_csv_layout LAYOUTS[VP_CSV_COUNT] = {
    [VP_CSV_LAYERS] = { .file = VP_FILE_LAYERS, .part = "layers", COLS(LAYERS_COLS), .sweep = 1 },
    [VP_CSV_RUNS] = { .file = VP_FILE_RUNS, .part = "runs", COLS(RUNS_COLS), .sweep = 1 },
    [VP_CSV_HIST] = { .file = VP_FILE_HIST, .part = "hist", COLS(HIST_COLS) },
    [VP_CSV_JACOBIAN] = { .file = VP_FILE_JACOBIAN, .part = "jac", COLS(JACOBIAN_COLS) },
    [VP_CSV_LENGTHS] = { .file = VP_FILE_LENGTHS, .part = "len", COLS(LENGTHS_COLS) },
    [VP_CSV_TRAIN] = { .file = VP_FILE_TRAIN, .part = "train", COLS(TRAIN_COLS) },
    [VP_CSV_EVAL] = { .file = VP_FILE_EVAL, .part = "eval", COLS(EVAL_COLS) },
    [VP_CSV_LAYERS_TRAIN] = { .file = VP_FILE_LAYERS_TRAIN, .part = "ltrain", COLS(LAYERS_TRAIN_COLS), .sweep = 1 },
    [VP_CSV_HIST_TRAIN] = { .file = VP_FILE_HIST_TRAIN, .part = "htrain", COLS(HIST_TRAIN_COLS) },
};

const vp_csv_layout *vp_csv_layout_get(vp_csv_file f) { return &LAYOUTS[f]; }

/* In publishing order (results.h). */
static const char *const RESULTS_FILES[] = { VP_FILE_LAYERS,   VP_FILE_RUNS,        VP_FILE_HIST,
                                             VP_FILE_JACOBIAN, VP_FILE_LENGTHS,     VP_FILE_TRAIN,
                                             VP_FILE_EVAL,     VP_FILE_LAYERS_TRAIN, VP_FILE_HIST_TRAIN,
                                             VP_FILE_CRITICAL, VP_FILE_CONFIG,      NULL };

const char *const *vp_results_files(void) { return RESULTS_FILES; }
