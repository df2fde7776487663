/* results: the results format, written once -- every file name, every CSV column
 * (name, meaning, unit, kind), which columns each CSV has and in what order, the
 * verdict words and the histogram quantity words. The writer (csv.c), the reader
 * (table.c), the per-variant summary (summary.c), the runner and the charts all take
 * these facts from here, so a column is renamed or added in one row of one table.
 *
 * A results folder (`varprop run -o DIR`) holds config.json, layers.csv, runs.csv,
 * histograms.csv and jacobian.csv (when measured), critical_line.dat (sigma sweeps),
 * and .parts/ while runs are in progress (one fragment per run and CSV, assembled at
 * the end; the "sum" fragment marks a finished run). A plot folder holds report.md and
 * <stem>.png/.svg/.gp/.dat per chart (src/present/charts/). Both hold the marker
 * .varprop, which makes them varprop's and which a process locks while it writes
 * (base/lock.h). README.md ("Output files")
 * describes the columns for users; the meanings below are the same text, shorter.
 */
#ifndef VP_RESULTS_H
#define VP_RESULTS_H

#include <stddef.h>
#include "core/mlp.h"

/* ---- file names ---- */

/* String literals, so help texts and messages can splice them: "no " VP_FILE_RUNS. */
#define VP_FILE_CONFIG "config.json"         /* the resolved config, one JSON object + "\n" */
/* config.json's largest size: it holds the resolved config and the config's own text
 * (at most 16 MiB) escaped as a JSON string; a config whose record would be larger is
 * refused when it is read (experiment/sweep.c), so every reader can take any record. */
#define VP_RECORD_MAX_BYTES ((size_t)64 << 20)
#define VP_FILE_LAYERS "layers.csv"          /* one row per (variant, seed, layer) */
#define VP_FILE_RUNS "runs.csv"              /* one row per (variant, seed) */
#define VP_FILE_HIST "histograms.csv"        /* one row per histogram bin */
#define VP_FILE_JACOBIAN "jacobian.csv"      /* one row per singular value */
#define VP_FILE_LENGTHS "lengths.csv"        /* one row per (variant, seed, example, layer) */
/* Training (a config with "train"; docs/training.md "Outputs"): */
#define VP_FILE_TRAIN "train.csv"            /* one row per (variant, seed, training step) */
#define VP_FILE_EVAL "eval.csv"              /* one row per (variant, seed, epoch); epoch 0 = before training */
#define VP_FILE_LAYERS_TRAIN "layers_train.csv" /* layers.csv on the probe batch, per (variant, seed, tracked step, layer) */
#define VP_FILE_HIST_TRAIN "hist_train.csv"  /* activation histograms on the probe batch, per tracked step and layer */
#define VP_FILE_CRITICAL "critical_line.dat" /* "sigma_w sigma_b" points of chi_1 = 1 */
#define VP_FILE_REPORT "report.md"           /* in the plot folder */
#define VP_FILE_MARKER ".varprop"            /* "varprop VERSION ...": the folder is varprop's; locked while in use */
#define VP_FILE_SHARD "shard.json"         /* a finished shard of a sweep (experiment/shard.h) */
#define VP_FILE_CHECKS "checks.json"        /* a paper's claims (experiments/<paper>/, docs/reproduce.md) */
#define VP_FILE_VERDICTS "verdicts.json"    /* `varprop reproduce`: every claim's numbers and verdict */
#define VP_FILE_PAPER_README "README.md"   /* a paper folder's description (experiments/<paper>/) */

/* The files a run writes in a results folder, in the order it publishes them (the CSVs,
 * the critical line, config.json last), NULL-terminated. */
const char *const *vp_results_files(void);
#define VP_DIR_PARTS ".parts"                /* run fragments while a run is in progress */
#define VP_PART_SLICE "slice"                /* in VP_DIR_PARTS: which runs the folder holds, "all" or
                                                "shard K/N" (--resume refuses another) */
/* A finished run's file: VP_DIR_PARTS "/" VP_PART_FORMAT with the run index and
 * VP_PART_DONE (experiment/fragments.h: its marker and the run's fragment of each CSV,
 * named by vp_csv_layout.part). Earlier builds wrote one file per part, the part's name
 * in place of VP_PART_DONE: those names are still cleared with .parts, and --resume
 * redoes their runs. */
#define VP_PART_FORMAT "run-%07d.%s"
#define VP_PART_DONE "sum"

/* ---- words in cells ---- */

#define VP_STATUS_OK "ok" /* runs.csv status of a run that completed */
#define VP_STATUS_DIVERGED "diverged" /* runs.csv status of a training run whose loss became NaN/Inf: its
                                         measurement at initialization is complete, its training stopped at
                                         diverged_step */

/* Sweep columns are named by the swept config key; these keys mean something to the
 * readers (the activation and initializer are in every row anyway; a sigma_w x sigma_b
 * sweep is a phase diagram with a critical line). */
#define VP_SWEEP_ACTIVATION "network.activation"
#define VP_SWEEP_INIT "network.init"
#define VP_SWEEP_SIGMA_W "network.init.sigma_w"
#define VP_SWEEP_SIGMA_B "network.init.sigma_b"

/* Verdict of a last-to-first variance ratio (act_verdict, grad_verdict). The order is
 * part of the charts' output (overview.dat blocks) and breaks ties between verdicts. */
typedef enum {
    VP_VERDICT_VANISHING, /* ratio below 1/VP_STABLE_BAND, or nan (0/0: the signal underflowed to 0) */
    VP_VERDICT_STABLE,    /* within a factor VP_STABLE_BAND of 1 */
    VP_VERDICT_EXPLODING, /* above VP_STABLE_BAND, or inf */
    VP_VERDICT_NONFINITE, /* NaN/Inf appeared in the run's tensors */
    VP_VERDICT_OTHER,     /* a word varprop does not write (never written; for readers) */
    VP_VERDICT_COUNT
} vp_verdict;

/* Ratio band for the verdict: a final/first ratio within [1/10, 10] is "stable". */
#define VP_STABLE_BAND 10.0

/* The classification varprop writes: non-finite when the run had any NaN/Inf value. */
vp_verdict vp_verdict_classify(double ratio, long long nonfinite);
/* "vanishing", "stable", "exploding", "non-finite", "other". */
const char *vp_verdict_word(vp_verdict v);
/* The verdict a word names; any other word (or "") is VP_VERDICT_OTHER. */
vp_verdict vp_verdict_parse(const char *word);

/* histograms.csv `quantity`: "pre" (z^l), "post" (h^l), "grad_pre" (dL/dz^l). */
const char *vp_hist_quantity_word(vp_hist_quantity q);

/* ---- the column table ---- */

/* Every column of every CSV varprop writes; a column in several files (variant, seed,
 * nonfinite, ...) is one row. */
typedef enum {
    VP_COL_NONE = -1, /* "no column", e.g. a chart without a theory column */
    VP_COL_VARIANT,
    VP_COL_ACTIVATION,
    VP_COL_INIT,
    VP_COL_SEED,
    VP_COL_LAYER,
    VP_COL_FAN_IN,
    VP_COL_FAN_OUT,
    VP_COL_PRE_MEAN,
    VP_COL_PRE_VAR,
    VP_COL_POST_MEAN,
    VP_COL_POST_VAR,
    VP_COL_GRAD_PRE_VAR,
    VP_COL_GRAD_POST_VAR,
    VP_COL_WGRAD_VAR,
    VP_COL_UNIT_SQ_MEAN,
    VP_COL_UNIT_VAR,
    VP_COL_DEAD_FRAC,
    VP_COL_SATURATED_FRAC,
    VP_COL_NONFINITE,
    VP_COL_SUBNORMAL,
    VP_COL_THEORY_PRE_VAR,
    VP_COL_THEORY_GRAD_PRE_VAR,
    VP_COL_THEORY_CHI,
    VP_COL_DEPTH,
    VP_COL_BATCH,
    VP_COL_ACT_RATIO,
    VP_COL_GRAD_RATIO,
    VP_COL_ACT_VERDICT,
    VP_COL_GRAD_VERDICT,
    VP_COL_XI_GRAD,
    VP_COL_THEORY_CHI1,
    VP_COL_THEORY_XI_C,
    VP_COL_PRE_CORR,
    VP_COL_THEORY_PRE_CORR,
    VP_COL_XI_C,
    VP_COL_THEORY_XI_GRAD,
    VP_COL_THEORY_ACT_RATIO,
    VP_COL_THEORY_GRAD_RATIO,
    VP_COL_EXAMPLE,
    VP_COL_SQ_LEN,
    VP_COL_SECONDS,
    VP_COL_STATUS,
    VP_COL_QUANTITY,
    VP_COL_BIN_LO,
    VP_COL_BIN_HI,
    VP_COL_DENSITY,
    VP_COL_INDEX,
    VP_COL_SINGULAR_VALUE,
    /* training (written only when the experiment trains) */
    VP_COL_EPOCH,
    VP_COL_STEP,
    VP_COL_LOSS,
    VP_COL_LR,
    VP_COL_GRAD_NORM,
    VP_COL_TEST_LOSS,
    VP_COL_TEST_ACC,
    VP_COL_TRAIN_ACC,
    VP_COL_DIVERGED_STEP,
    /* block networks (network.layers; written only for them) */
    VP_COL_BLOCK,
    VP_COL_TYPE,
    VP_COL_BRANCH_VAR,
    VP_COL_SKIP_VAR,
    VP_COL_BRANCH_SKIP_RATIO,
    VP_COL_SHAPE,
    VP_COL_PARAMS,
    VP_COL_COUNT
} vp_col;

/* How a column's values are written (csv.c) -- the same results always give the
 * same bytes. */
typedef enum {
    VP_KIND_INT,      /* decimal integer ("%lld") */
    VP_KIND_UINT,     /* unsigned decimal ("%llu"): seeds */
    VP_KIND_REAL,     /* float64 runs and theory columns: the shortest text that reads back
                         as the same double (at most 17 significant digits); measured values
                         of float32 runs: "%.9g" (9 significant digits, enough for any float);
                         nan, inf, -inf; never "-0" (csv.h) */
    VP_KIND_OPT_REAL, /* as VP_KIND_REAL, but NaN ("no value") is an empty cell */
    VP_KIND_SECONDS,  /* "%.3f" */
    VP_KIND_TEXT      /* RFC 4180 field: quoted when it holds , " CR or LF */
} vp_col_kind;

typedef struct {
    const char *name;    /* header name */
    const char *meaning; /* one line, for people */
    const char *unit;    /* "" when dimensionless */
    vp_col_kind kind;
    int theory;          /* written only when theory is on */
    int train;           /* written only when the experiment trains (runs.csv diverged_step) */
    int blocks;          /* written only for block networks (layers.csv block, type, ...) */
} vp_column;

/* What a header or row of a file holds beyond its fixed columns: the `flags` of the
 * writers (csv.h), a bit set. VP_CSV_WITH_THEORY is 1, so a plain 0/1 "theory" is a
 * valid flags value. */
#define VP_CSV_WITH_THEORY 1
#define VP_CSV_WITH_TRAIN 2
#define VP_CSV_WITH_BLOCKS 4

const vp_column *vp_column_get(vp_col c);
const char *vp_col_name(vp_col c);

/* Integer columns a reader accepts: variant ids in [0, VP_VARIANT_MAX], layers in
 * [1, VP_LAYER_MAX] (far beyond what a config may ask for). */
#define VP_VARIANT_MAX 1000000L
#define VP_LAYER_MAX 100000L

/* ---- the CSV files ---- */

typedef enum {
    VP_CSV_LAYERS,
    VP_CSV_RUNS,
    VP_CSV_HIST,
    VP_CSV_JACOBIAN,
    VP_CSV_LENGTHS,
    VP_CSV_TRAIN,        /* training files: present only when the experiment trains */
    VP_CSV_EVAL,
    VP_CSV_LAYERS_TRAIN,
    VP_CSV_HIST_TRAIN,
    VP_CSV_COUNT
} vp_csv_file;

/* The first training file: files from here on are written only by a config with "train". */
#define VP_CSV_FIRST_TRAIN VP_CSV_TRAIN

typedef struct {
    const char *file;   /* VP_FILE_* */
    const char *part;   /* fragment name in .parts/ */
    const vp_col *cols; /* in file order (theory columns only with theory on) */
    size_t ncols;
    int sweep;          /* one column per swept key follows */
} vp_csv_layout;

const vp_csv_layout *vp_csv_layout_get(vp_csv_file f);

#endif
