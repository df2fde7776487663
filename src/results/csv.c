/* csv: see csv.h. Every row is a vector of cells indexed by column (vp_col), filled by
 * name and written in the order of the file's layout. */
#include "results/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/param.h"

void vp_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void vp_csv_num(FILE *f, double v, int exact)
{
    char buf[VP_NUM_CHARS];
    if (isnan(v)) fputs("nan", f);          /* never glibc's "-nan" */
    else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
    else if (v == 0) fputs("0", f);          /* no "-0" */
    else if (!exact) fprintf(f, "%.9g", v);
    else {
        vp_num_shortest(v, buf, sizeof buf);
        fputs(buf, f);
    }
}

/* One value; which member is read is the column's kind. */
typedef union {
    long long i;          /* VP_KIND_INT */
    unsigned long long u; /* VP_KIND_UINT */
    double x;             /* VP_KIND_REAL, VP_KIND_OPT_REAL, VP_KIND_SECONDS */
    const char *s;        /* VP_KIND_TEXT */
} cell;

/* exact: write a real number so that it reads back as the same double (csv.h). */
static void put_cell(FILE *f, vp_col_kind kind, const cell *c, int exact)
{
    switch (kind) {
    case VP_KIND_INT: fprintf(f, "%lld", c->i); break;
    case VP_KIND_UINT: fprintf(f, "%llu", c->u); break;
    case VP_KIND_REAL: vp_csv_num(f, c->x, exact); break;
    case VP_KIND_OPT_REAL: if (!isnan(c->x)) vp_csv_num(f, c->x, exact); break;
    case VP_KIND_SECONDS: fprintf(f, "%.3f", c->x); break;
    case VP_KIND_TEXT: vp_csv_field(f, c->s); break;
    }
}

/* The sweep cells (",value" each) of a file with sweep columns, then the line end. */
static void end_line(FILE *f, const vp_csv_layout *lay, int n, char *const *cells)
{
    for (int k = 0; lay->sweep && k < n; k++) {
        fputc(',', f);
        vp_csv_field(f, cells[k]);
    }
    fputc('\n', f);
}

/* Is column c written under `flags` (VP_CSV_WITH_*)? */
static int col_written(const vp_column *c, int flags)
{
    return !(c->theory && !(flags & VP_CSV_WITH_THEORY)) && !(c->train && !(flags & VP_CSV_WITH_TRAIN)) &&
           !(c->blocks && !(flags & VP_CSV_WITH_BLOCKS));
}

void vp_csv_header(FILE *f, vp_csv_file file, int flags, int nsweep, char *const *sweep_keys)
{
    const vp_csv_layout *lay = vp_csv_layout_get(file);
    const char *sep = "";
    for (size_t i = 0; i < lay->ncols; i++) {
        const vp_column *c = vp_column_get(lay->cols[i]);
        if (!col_written(c, flags)) continue;
        fprintf(f, "%s%s", sep, c->name);
        sep = ",";
    }
    end_line(f, lay, nsweep, sweep_keys);
}

/* One row of `file` from the cells v[VP_COL_COUNT]. */
static void put_row(FILE *f, vp_csv_file file, const cell *v, int flags, const vp_csv_run *run)
{
    const vp_csv_layout *lay = vp_csv_layout_get(file);
    for (size_t i = 0; i < lay->ncols; i++) {
        const vp_column *c = vp_column_get(lay->cols[i]);
        if (!col_written(c, flags)) continue;
        if (i) fputc(',', f);
        put_cell(f, c->kind, &v[lay->cols[i]], run->prec == VP_F64 || c->theory);
    }
    end_line(f, lay, run->nsweep, run->sweep_values);
}

/* The run's identity cells, shared by every file. */
static void run_cells(cell *v, const vp_csv_run *r)
{
    memset(v, 0, VP_COL_COUNT * sizeof *v);
    v[VP_COL_VARIANT].i = r->variant;
    v[VP_COL_ACTIVATION].s = r->activation;
    v[VP_COL_INIT].s = r->init;
    v[VP_COL_SEED].u = (unsigned long long)r->seed;
}

void vp_csv_layers_header(FILE *f, int theory, int nsweep, char *const *sweep_keys)
{
    vp_csv_header(f, VP_CSV_LAYERS, theory, nsweep, sweep_keys);
}

/* The measured cells of one layer's statistics. */
static void layer_cells(cell *v, const vp_layer_stats *s)
{
    v[VP_COL_LAYER].i = s->layer;
    v[VP_COL_FAN_IN].i = s->fan_in;
    v[VP_COL_FAN_OUT].i = s->fan_out;
    v[VP_COL_PRE_MEAN].x = s->pre_mean;
    v[VP_COL_PRE_VAR].x = s->pre_var;
    v[VP_COL_POST_MEAN].x = s->post_mean;
    v[VP_COL_POST_VAR].x = s->post_var;
    v[VP_COL_GRAD_PRE_VAR].x = s->grad_pre_var;
    v[VP_COL_GRAD_POST_VAR].x = s->grad_post_var;
    v[VP_COL_WGRAD_VAR].x = s->wgrad_var;
    v[VP_COL_UNIT_SQ_MEAN].x = s->unit_sq_mean;
    v[VP_COL_UNIT_VAR].x = s->unit_var;
    v[VP_COL_DEAD_FRAC].x = s->dead_frac;
    v[VP_COL_SATURATED_FRAC].x = s->saturated_frac;
    v[VP_COL_NONFINITE].i = s->nonfinite;
    v[VP_COL_SUBNORMAL].i = s->subnormal;
    v[VP_COL_PRE_CORR].x = s->pre_corr;
}

void vp_csv_layers_rows(FILE *f, const vp_csv_run *run, int L, const vp_layer_stats *st, int theory,
                        const double *theory_pre, const double *theory_grad, const double *theory_chi,
                        const double *theory_corr)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    for (int l = 0; l < L; l++) {
        layer_cells(v, &st[l]);
        v[VP_COL_THEORY_PRE_VAR].x = theory_pre ? theory_pre[l] : NAN;
        v[VP_COL_THEORY_GRAD_PRE_VAR].x = theory_grad ? theory_grad[l] : NAN;
        v[VP_COL_THEORY_CHI].x = theory_chi ? theory_chi[l] : NAN;
        v[VP_COL_THEORY_PRE_CORR].x = theory_corr ? theory_corr[l] : NAN;
        put_row(f, VP_CSV_LAYERS, v, theory, run);
    }
}

/* The activation and initializer labels of a block-network layer: its own (dense,
 * conv2d), empty for layers without weights. */
static void block_labels(const vp_layer_spec *l, char *act, char *init, size_t len)
{
    act[0] = init[0] = '\0';
    if (!vp_layer_has_weights(l->kind)) return;
    vp_act_label(&l->act, act, len);
    if (l->wdraw == VP_WDRAW_DELTA_ORTHOGONAL) {
        if (l->delta_gain == 1.0) snprintf(init, len, "delta_orthogonal");
        else snprintf(init, len, "delta_orthogonal(gain=%.9g)", l->delta_gain);
    } else {
        vp_init_label(&l->winit, init, len);
    }
}

/* The cells of block-network layer l beyond its statistics: its labels (act, init:
 * buffers of len), path, type and residual columns. */
static void block_cells(cell *v, const vp_block_stats *st, const vp_layer_spec *ls, int l, char *act, char *init,
                        size_t len)
{
    layer_cells(v, &st[l].s);
    block_labels(&ls[l], act, init, len);
    v[VP_COL_ACTIVATION].s = act;
    v[VP_COL_INIT].s = init;
    v[VP_COL_BLOCK].s = ls[l].path ? ls[l].path : "";
    v[VP_COL_TYPE].s = vp_layer_kind_name(ls[l].kind);
    v[VP_COL_BRANCH_VAR].x = st[l].branch_var;
    v[VP_COL_SKIP_VAR].x = st[l].skip_var;
    v[VP_COL_BRANCH_SKIP_RATIO].x = st[l].branch_skip_ratio;
}

void vp_csv_block_rows(FILE *f, const vp_csv_run *run, int n, const vp_block_stats *st, const vp_layer_spec *ls,
                       vp_shape in, int flags, const double *theory_pre, const double *theory_grad,
                       const double *theory_chi, const double *theory_corr)
{
    cell v[VP_COL_COUNT];
    char act[256], init[256], shape[96];
    vp_shape *sh = malloc((size_t)n * sizeof *sh);
    int bad;
    vp_err e;
    if (sh && vp_net_shapes(ls, n, in, sh, &bad, &e)) { /* the config checked them */
        free(sh);
        sh = NULL;
    }
    run_cells(v, run);
    for (int l = 0; l < n; l++) {
        block_cells(v, st, ls, l, act, init, sizeof act);
        shape[0] = '\0';
        if (sh) vp_shape_text(sh[l], shape, sizeof shape);
        v[VP_COL_SHAPE].s = shape; /* empty only when out of memory */
        /* what PyTorch's parameters() counts: weights and biases, plus the trained norm
         * gamma/beta, residual alpha and Fixup scalar biases (vp_net_layer_aux) */
        v[VP_COL_PARAMS].i =
            sh ? (long long)(vp_net_layer_params(&ls[l], l ? sh[l - 1] : in) + vp_net_layer_aux(&ls[l], sh[l])) : 0;
        v[VP_COL_THEORY_PRE_VAR].x = theory_pre ? theory_pre[l] : NAN;
        v[VP_COL_THEORY_GRAD_PRE_VAR].x = theory_grad ? theory_grad[l] : NAN;
        v[VP_COL_THEORY_CHI].x = theory_chi ? theory_chi[l] : NAN;
        v[VP_COL_THEORY_PRE_CORR].x = theory_corr ? theory_corr[l] : NAN;
        put_row(f, VP_CSV_LAYERS, v, flags | VP_CSV_WITH_BLOCKS, run);
    }
    free(sh);
}

void vp_csv_runs_header(FILE *f, int theory, int nsweep, char *const *sweep_keys)
{
    vp_csv_header(f, VP_CSV_RUNS, theory, nsweep, sweep_keys);
}

void vp_csv_runs_row(FILE *f, const vp_csv_run *run, int flags, const vp_csv_summary *s)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    v[VP_COL_DEPTH].i = s->depth;
    v[VP_COL_BATCH].i = s->batch;
    v[VP_COL_ACT_RATIO].x = s->act_ratio;
    v[VP_COL_GRAD_RATIO].x = s->grad_ratio;
    v[VP_COL_ACT_VERDICT].s = s->act_verdict;
    v[VP_COL_GRAD_VERDICT].s = s->grad_verdict;
    v[VP_COL_NONFINITE].i = s->nonfinite;
    v[VP_COL_SUBNORMAL].i = s->subnormal;
    v[VP_COL_XI_GRAD].x = s->xi_grad;
    v[VP_COL_THEORY_CHI1].x = s->theory_chi1;
    v[VP_COL_THEORY_XI_C].x = s->theory_xi_c;
    v[VP_COL_XI_C].x = s->xi_c;
    v[VP_COL_THEORY_XI_GRAD].x = s->theory_xi_grad;
    v[VP_COL_THEORY_ACT_RATIO].x = s->theory_act_ratio;
    v[VP_COL_THEORY_GRAD_RATIO].x = s->theory_grad_ratio;
    v[VP_COL_SECONDS].x = s->seconds;
    v[VP_COL_STATUS].s = s->status;
    v[VP_COL_DIVERGED_STEP].x = s->diverged_step > 0 ? (double)s->diverged_step : NAN;
    put_row(f, VP_CSV_RUNS, v, flags, run);
}

void vp_csv_hist_header(FILE *f) { vp_csv_header(f, VP_CSV_HIST, 0, 0, NULL); }

/* The rows of one histogram into `file` (histograms.csv, or hist_train.csv with the
 * step already in v). */
static void hist_rows(FILE *f, vp_csv_file file, cell *v, const vp_csv_run *run, int layer, const char *quantity,
                      const vp_histogram *h)
{
    v[VP_COL_LAYER].i = layer;
    v[VP_COL_QUANTITY].s = quantity;
    double width = (h->hi - h->lo) / h->bins;
    for (int k = 0; k < h->bins; k++) {
        v[VP_COL_BIN_LO].x = h->lo + k * width;
        v[VP_COL_BIN_HI].x = k + 1 == h->bins ? h->hi : h->lo + (k + 1) * width;
        v[VP_COL_DENSITY].x = h->density[k];
        put_row(f, file, v, 0, run);
    }
}

void vp_csv_hist_rows(FILE *f, const vp_csv_run *run, int layer, const char *quantity,
                      const vp_histogram *h)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    hist_rows(f, VP_CSV_HIST, v, run, layer, quantity, h);
}

void vp_csv_jacobian_header(FILE *f) { vp_csv_header(f, VP_CSV_JACOBIAN, 0, 0, NULL); }

void vp_csv_jacobian_rows(FILE *f, const vp_csv_run *run, int n, const double *sv)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    for (int i = 0; i < n; i++) {
        v[VP_COL_INDEX].i = i + 1;
        v[VP_COL_SINGULAR_VALUE].x = sv[i];
        put_row(f, VP_CSV_JACOBIAN, v, 0, run);
    }
}

void vp_csv_lengths_rows(FILE *f, const vp_csv_run *run, int B, int L, const double *sq_len)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    for (int b = 0; b < B; b++)
        for (int l = 1; l <= L; l++) {
            v[VP_COL_EXAMPLE].i = b + 1;
            v[VP_COL_LAYER].i = l;
            v[VP_COL_SQ_LEN].x = sq_len[(size_t)b * (size_t)L + (size_t)(l - 1)];
            put_row(f, VP_CSV_LENGTHS, v, 0, run);
        }
}

/* ---- training ---- */

void vp_csv_train_row(FILE *f, const vp_csv_run *run, long epoch, long step, double loss, double lr,
                      double grad_norm)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    v[VP_COL_EPOCH].i = epoch;
    v[VP_COL_STEP].i = step;
    v[VP_COL_LOSS].x = loss;
    v[VP_COL_LR].x = lr;
    v[VP_COL_GRAD_NORM].x = grad_norm;
    put_row(f, VP_CSV_TRAIN, v, 0, run);
}

void vp_csv_eval_row(FILE *f, const vp_csv_run *run, long epoch, long step, double test_loss, double test_acc,
                     double train_acc)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    v[VP_COL_EPOCH].i = epoch;
    v[VP_COL_STEP].i = step;
    v[VP_COL_TEST_LOSS].x = test_loss;
    v[VP_COL_TEST_ACC].x = test_acc;
    v[VP_COL_TRAIN_ACC].x = train_acc;
    put_row(f, VP_CSV_EVAL, v, 0, run);
}

void vp_csv_layers_train_rows(FILE *f, const vp_csv_run *run, long step, int n, const vp_layer_stats *st)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    v[VP_COL_STEP].i = step;
    for (int l = 0; l < n; l++) {
        layer_cells(v, &st[l]);
        put_row(f, VP_CSV_LAYERS_TRAIN, v, 0, run);
    }
}

void vp_csv_layers_train_block_rows(FILE *f, const vp_csv_run *run, long step, int n, const vp_block_stats *st,
                                    const vp_layer_spec *ls)
{
    cell v[VP_COL_COUNT];
    char act[256], init[256];
    run_cells(v, run);
    v[VP_COL_STEP].i = step;
    for (int l = 0; l < n; l++) {
        block_cells(v, st, ls, l, act, init, sizeof act);
        put_row(f, VP_CSV_LAYERS_TRAIN, v, VP_CSV_WITH_BLOCKS, run);
    }
}

void vp_csv_hist_train_rows(FILE *f, const vp_csv_run *run, long step, int layer, const char *quantity,
                            const vp_histogram *h)
{
    cell v[VP_COL_COUNT];
    run_cells(v, run);
    v[VP_COL_STEP].i = step;
    hist_rows(f, VP_CSV_HIST_TRAIN, v, run, layer, quantity, h);
}
