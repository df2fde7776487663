/* summary: see summary.h. */
#include "results/summary.h"
#include "base/sort.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

vp_stat vp_stat_of(double *v, size_t n)
{
    if (n == 0) return (vp_stat){ 0, NAN, NAN, NAN };
    qsort(v, n, sizeof *v, vp_cmp_double);
    return (vp_stat){ n, n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v[0], v[n - 1] };
}

double vp_median(double *v, size_t n) { return vp_stat_of(v, n).med; }

static const vp_col RATIO_COLS[VP_RATIO_COUNT][3] = {
    [VP_RATIO_ACT] = { VP_COL_ACT_RATIO, VP_COL_ACT_VERDICT, VP_COL_THEORY_ACT_RATIO },
    [VP_RATIO_GRAD] = { VP_COL_GRAD_RATIO, VP_COL_GRAD_VERDICT, VP_COL_THEORY_GRAD_RATIO },
};

vp_col vp_ratio_col(vp_ratio k) { return RATIO_COLS[k][0]; }
vp_col vp_ratio_verdict_col(vp_ratio k) { return RATIO_COLS[k][1]; }
vp_col vp_ratio_theory_col(vp_ratio k) { return RATIO_COLS[k][2]; }

void vp_ratio_summarize(double *v, const vp_verdict *verdicts, size_t n, vp_ratio_summary *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->special = NAN;
    out->majority = VP_VERDICT_OTHER;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        vp_verdict d = verdicts[i];
        if (out->votes[d]++ == 0) out->seen[out->nseen++] = d;
        if (!(isfinite(v[i]) && v[i] > 0) && isnan(out->special)) out->special = v[i];
        if (isfinite(v[i])) v[k++] = v[i];
    }
    size_t best = 0;
    for (int d = 0; d < VP_VERDICT_COUNT; d++)
        if (out->votes[d] > best) { best = out->votes[d]; out->majority = (vp_verdict)d; }
    out->finite = vp_stat_of(v, k); /* sorted now: the positive values are a tail */
    size_t p = 0;
    while (p < k && !(v[p] > 0)) p++;
    out->positive = vp_stat_of(v + p, k - p);
}

typedef struct {
    long id;
    size_t row;
} id_row;

static int cmp_id_row(const void *a, const void *b)
{
    const id_row *x = a, *y = b;
    if (x->id != y->id) return (x->id > y->id) - (x->id < y->id);
    return (x->row > y->row) - (x->row < y->row);
}

/* Rows grouped by variant: s->var[i].id, first_row, nrows, ok, nok. */
static vp_status group_rows(const vp_table *t, vp_summary *s, vp_err *err)
{
    size_t cv, nr = vp_table_nrows(t);
    vp_status st = vp_table_require_col(t, VP_COL_VARIANT, &cv, err);
    if (st) return st;
    int cst = vp_table_find_col(t, VP_COL_STATUS);
    id_row *ir = malloc((nr + 1) * sizeof *ir);
    s->var = calloc(nr + 1, sizeof *s->var);
    s->rows = malloc((nr + 1) * sizeof *s->rows);
    if (!ir || !s->var || !s->rows) { free(ir); return vp_fail(err, VP_ERR_NOMEM, "out of memory"); }
    for (size_t r = 0; r < nr; r++) {
        ir[r].row = r;
        if ((st = vp_table_int(t, r, cv, 0, VP_VARIANT_MAX, &ir[r].id, err))) { free(ir); return st; }
    }
    qsort(ir, nr, sizeof *ir, cmp_id_row);
    size_t used = 0;
    for (size_t i = 0; i < nr; i++) {
        if (i == 0 || ir[i].id != ir[i - 1].id) {
            vp_variant_summary *v = &s->var[s->nvar++];
            v->id = ir[i].id;
            v->first_row = ir[i].row;
            v->ok = s->rows + used;
        }
        vp_variant_summary *v = &s->var[s->nvar - 1];
        v->nrows++;
        /* a diverged training run's measurement at initialization is complete */
        const char *status = cst < 0 ? VP_STATUS_OK : vp_table_cell(t, ir[i].row, (size_t)cst);
        if (strcmp(status, VP_STATUS_OK) == 0 || strcmp(status, VP_STATUS_DIVERGED) == 0) {
            s->rows[used++] = ir[i].row;
            v->nok++;
        }
    }
    free(ir);
    return VP_OK;
}

vp_status vp_summary_build(const vp_table *t, vp_summary *out, vp_err *err)
{
    memset(out, 0, sizeof *out);
    out->runs = t;
    vp_status s = group_rows(t, out, err);
    size_t nr = vp_table_nrows(t);
    double *v = malloc((nr + 1) * sizeof *v);
    vp_verdict *vd = malloc((nr + 1) * sizeof *vd);
    if (!s && (!v || !vd)) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (int k = 0; k < VP_RATIO_COUNT && !s; k++) {
        size_t cr, cvd;
        if ((s = vp_table_require_col(t, vp_ratio_col((vp_ratio)k), &cr, err)) ||
            (s = vp_table_require_col(t, vp_ratio_verdict_col((vp_ratio)k), &cvd, err)))
            break;
        for (size_t i = 0; i < out->nvar && !s; i++) {
            vp_variant_summary *var = &out->var[i];
            s = vp_summary_values(out, var, cr, v, err);
            for (size_t j = 0; j < var->nok && !s; j++)
                vd[j] = vp_verdict_parse(vp_table_cell(t, var->ok[j], cvd));
            if (!s) vp_ratio_summarize(v, vd, var->nok, &var->ratio[k]);
        }
        /* the prediction, where runs.csv has it (theory on): over the seeds with a value */
        int ct = vp_table_find_col(t, vp_ratio_theory_col((vp_ratio)k));
        for (size_t i = 0; i < out->nvar && !s; i++) {
            vp_variant_summary *var = &out->var[i];
            size_t n = 0;
            if (ct >= 0 && !(s = vp_summary_values(out, var, (size_t)ct, v, err)))
                for (size_t j = 0; j < var->nok; j++)
                    if (isfinite(v[j])) v[n++] = v[j];
            var->theory[k] = vp_stat_of(v, n);
        }
    }
    free(v);
    free(vd);
    if (s) vp_summary_free(out);
    return s;
}

void vp_summary_free(vp_summary *s)
{
    free(s->var);
    free(s->rows);
    s->var = NULL;
    s->rows = NULL;
    s->nvar = 0;
}

const vp_variant_summary *vp_summary_find(const vp_summary *s, long id)
{
    size_t lo = 0, hi = s->nvar;
    while (lo < hi) { /* var is sorted by id */
        size_t mid = lo + (hi - lo) / 2;
        if (s->var[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->nvar && s->var[lo].id == id ? &s->var[lo] : NULL;
}

static const vp_ratio_summary EMPTY_RATIO = {
    .finite = { 0, NAN, NAN, NAN },
    .positive = { 0, NAN, NAN, NAN },
    .special = NAN,
    .majority = VP_VERDICT_OTHER,
};

const vp_ratio_summary *vp_summary_ratio(const vp_summary *s, long id, vp_ratio k)
{
    const vp_variant_summary *v = vp_summary_find(s, id);
    return v ? &v->ratio[k] : &EMPTY_RATIO;
}

vp_status vp_summary_values(const vp_summary *s, const vp_variant_summary *v, size_t col, double *out,
                            vp_err *err)
{
    for (size_t j = 0; j < v->nok; j++) {
        vp_status st = vp_table_num(s->runs, v->ok[j], col, &out[j], err);
        if (st) return st;
    }
    return VP_OK;
}
