/* csv: writes the CSV files of results.h (results layer; formats, computes nothing).
 *
 * Header and rows both come from the file's layout in results.c: the header is the
 * layout's column names, a row is the layout's columns in order, each value written
 * as its column's kind says (results.h vp_col_kind), so the same results always give
 * the same bytes. Real numbers are written with the precision of what they were
 * computed from: every real cell of a float64 run, and the theory columns of any run
 * (the mean-field module computes in double), in the shortest form that reads back as
 * the same double; the measured cells of a float32 run with 9 significant digits,
 * which carry every float32 value exactly (a float needs at most 9). RFC 4180: text fields containing , " CR or LF are quoted with ""
 * doubling. Layers and runs rows end with one cell per swept key.
 */
#ifndef VP_CSV_H
#define VP_CSV_H

#include <stdint.h>
#include <stdio.h>
#include "core/mlp.h"
#include "core/net.h"
#include "results/results.h"

/* Identity of one run, shared by every row it writes. */
typedef struct {
    int variant;
    const char *activation;      /* label */
    const char *init;            /* label */
    uint64_t seed;
    int nsweep;
    char *const *sweep_values;   /* nsweep labels */
    vp_precision prec;           /* the run's precision: how its measured numbers are written */
} vp_csv_run;

/* Per-run summary (runs.csv). */
typedef struct {
    int depth, batch;
    double act_ratio, grad_ratio;
    const char *act_verdict, *grad_verdict; /* vp_verdict_word() */
    long long nonfinite, subnormal;
    double xi_grad;               /* measured depth scale of the gradient variance */
    double theory_chi1, theory_xi_c; /* written only with theory on; NaN -> empty */
    double seconds;
    const char *status;           /* VP_STATUS_OK for a completed run */
    double xi_c;                  /* measured correlation depth scale; NaN -> empty */
    double theory_xi_grad;        /* -1/ln chi_1; written only with theory on */
    long diverged_step;           /* > 0: the training step whose loss was NaN/Inf (status
                                     VP_STATUS_DIVERGED); written only with VP_CSV_WITH_TRAIN */
    double theory_act_ratio, theory_grad_ratio; /* the ratios predicted; written only with theory on */
} vp_csv_summary;

/* One RFC 4180 field (VP_KIND_TEXT). */
void vp_csv_field(FILE *f, const char *s);
/* One number (VP_KIND_REAL): nan / inf / -inf, never "-0"; a finite value with 9
 * significant digits (%.9g), or with exact = 1 in its shortest form that reads back
 * as the same double (vp_num_shortest). */
void vp_csv_num(FILE *f, double v, int exact);

/* The header line of `file`: its column names (theory columns with VP_CSV_WITH_THEORY in
 * flags, training columns with VP_CSV_WITH_TRAIN; results.h), then the swept keys when
 * the file has sweep columns (nsweep, sweep_keys ignored otherwise). A plain 0/1
 * "theory" is a flags value. */
void vp_csv_header(FILE *f, vp_csv_file file, int flags, int nsweep, char *const *sweep_keys);

void vp_csv_layers_header(FILE *f, int theory, int nsweep, char *const *sweep_keys);
/* theory_pre / theory_grad / theory_chi / theory_corr: NULL when theory is off; NaN entries -> empty cell. */
void vp_csv_layers_rows(FILE *f, const vp_csv_run *run, int L, const vp_layer_stats *st, int theory,
                        const double *theory_pre, const double *theory_grad, const double *theory_chi,
                        const double *theory_corr);

/* layers.csv rows of a block network (core/net.h): one per layer output, with its
 * block path (ls[l].path), type, output shape and parameter count (from the input shape
 * `in`) and the residual columns; `activation` and `init` are
 * the layer's own (dense, conv2d: vp_act_label / vp_init_label, delta_orthogonal(gain=g);
 * other layers: empty), not run->activation/init. theory_*: as vp_csv_layers_rows (NULL:
 * empty cells). flags as vp_csv_header's (VP_CSV_WITH_BLOCKS implied). */
void vp_csv_block_rows(FILE *f, const vp_csv_run *run, int n, const vp_block_stats *st, const vp_layer_spec *ls,
                       vp_shape in, int flags, const double *theory_pre, const double *theory_grad,
                       const double *theory_chi, const double *theory_corr);

void vp_csv_runs_header(FILE *f, int theory, int nsweep, char *const *sweep_keys);
/* flags as vp_csv_header's. */
void vp_csv_runs_row(FILE *f, const vp_csv_run *run, int flags, const vp_csv_summary *s);

void vp_csv_hist_header(FILE *f);
void vp_csv_hist_rows(FILE *f, const vp_csv_run *run, int layer, const char *quantity,
                      const vp_histogram *h);

void vp_csv_jacobian_header(FILE *f);
void vp_csv_jacobian_rows(FILE *f, const vp_csv_run *run, int n, const double *sv);

/* lengths.csv rows of one run: sq_len[b * L + l - 1] = ||z^l_b||^2 / n_l, example-major. */
void vp_csv_lengths_rows(FILE *f, const vp_csv_run *run, int B, int L, const double *sq_len);

/* ---- training (docs/training.md "Outputs") ---- */

/* train.csv: one step (epoch 1-based: the epoch it belongs to). */
void vp_csv_train_row(FILE *f, const vp_csv_run *run, long epoch, long step, double loss, double lr,
                      double grad_norm);
/* eval.csv: after `epoch` epochs (0: before training) and `step` updates; NaN -> empty cell. */
void vp_csv_eval_row(FILE *f, const vp_csv_run *run, long epoch, long step, double test_loss, double test_acc,
                     double train_acc);
/* layers_train.csv: the n layers' statistics of the probe after `step` updates. */
void vp_csv_layers_train_rows(FILE *f, const vp_csv_run *run, long step, int n, const vp_layer_stats *st);
/* layers_train.csv rows of a block network: as vp_csv_block_rows' (the layer's own labels,
 * block, type, the residual columns), without theory. */
void vp_csv_layers_train_block_rows(FILE *f, const vp_csv_run *run, long step, int n, const vp_block_stats *st,
                                    const vp_layer_spec *ls);
/* hist_train.csv: one histogram of the probe after `step` updates. */
void vp_csv_hist_train_rows(FILE *f, const vp_csv_run *run, long step, int layer, const char *quantity,
                            const vp_histogram *h);

#endif
