/* reproduce_eval: a checks.json quantity computed from a run's CSV files (see
 * reproduce_checks.h).
 *
 * The rows of the quantity's file that pass every filter are grouped by seed. Each
 * row gives v = col (/ over), transformed, shifted; each seed's rows give one
 * statistic (or all seeds' rows pooled give one), and the seeds' statistics are
 * averaged (or log2 of their mean is taken). The standard error is the delete-one
 * jackknife over seeds (Efron & Tibshirani 1993, ch. 11):
 *   se^2 = (S-1)/S * sum_s (theta_(s) - theta_(.))^2,
 * theta_(s) the quantity without seed s -- one rule for every statistic, ratios of
 * means and differences of two quantities (whose seeds are left out together) alike.
 */
#include "experiment/reproduce_checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/sort.h"

#define MAX_SEEDS 4096

void vp_repro_tables_free(vp_repro_tables *tb)
{
    for (int f = 0; f < VP_CSV_COUNT; f++) vp_table_free(tb->t[f]);
    memset(tb->t, 0, sizeof tb->t);
}

static vp_status table_of(vp_repro_tables *tb, vp_csv_file f, vp_table **out, vp_err *err)
{
    if (!tb->t[f]) {
        char path[4200];
        vp_status st = vp_path_join(path, sizeof path, tb->dir, vp_csv_layout_get(f)->file, err);
        if (st == VP_OK) st = vp_table_load(path, &tb->t[f], err);
        if (st) return st;
    }
    *out = tb->t[f];
    return VP_OK;
}

static vp_status column(const vp_table *t, const char *name, size_t *col, vp_err *err)
{
    vp_status st = vp_table_require(t, name, col, err);
    if (st) return vp_fail(err, VP_ERR_CONFIG, "%s", err->msg);
    return VP_OK;
}

/* The rows of one quantity, resolved: per selected row its seed index and v (and x,
 * the layer, for slopes). */
typedef struct {
    size_t n;
    int *seed;
    double *v, *x;
    int nseeds;
    char seeds[MAX_SEEDS][24];
} rows;

static void rows_free(rows *r)
{
    free(r->seed), free(r->v), free(r->x);
    free(r);
}

static int cell_passes(const char *cell, const vp_repro_where *w)
{
    if (w->kind == VP_WHERE_TEXT) return strcmp(cell, w->text) == 0;
    double d;
    if (vp_table_parse_num(cell, &d) != VP_TABLE_NUM_OK) return 0;
    return d >= w->lo && d <= w->hi;
}

/* A filter on a column the file lacks (jacobian.csv and lengths.csv have no activation,
 * init or sweep columns) is a filter on the variant: the variants whose runs.csv rows
 * pass it. ok[v] = 1 for those (ok has VP_VARIANT_MAX + 1 entries, zeroed). */
static vp_status variants_passing(vp_repro_tables *tb, const vp_repro_where *w, unsigned char *ok, vp_err *err)
{
    vp_table *runs = NULL;
    size_t wc, cv;
    vp_status st = table_of(tb, VP_CSV_RUNS, &runs, err);
    if (!st) st = column(runs, w->col, &wc, err);
    if (!st) st = vp_table_require_col(runs, VP_COL_VARIANT, &cv, err);
    for (size_t i = 0; !st && i < vp_table_nrows(runs); i++) {
        long v;
        st = vp_table_int(runs, i, cv, 0, VP_VARIANT_MAX, &v, err);
        if (!st && cell_passes(vp_table_cell(runs, i, wc), w)) ok[v] = 1;
    }
    return st;
}

static double transform(vp_repro_tf tf, double v)
{
    switch (tf) {
    case VP_TF_LOG2: return log2(v);
    case VP_TF_LN: return log(v);
    case VP_TF_SQUARE: return v * v;
    case VP_TF_ABS: return fabs(v);
    case VP_TF_NONE:
    case VP_TF_COUNT: break;
    }
    return v;
}

static vp_status gather(const vp_repro_quantity *q, vp_repro_tables *tb, rows **out, vp_err *err)
{
    vp_table *t = NULL;
    vp_status st = table_of(tb, q->file, &t, err);
    if (st) return st;
    size_t wc[VP_REPRO_MAX_WHERE], cv, co = 0, cs, cl = 0, cvar = 0;
    unsigned char *ok[VP_REPRO_MAX_WHERE] = { NULL };
    for (int k = 0; !st && k < q->nwhere; k++) {
        int c = vp_table_find(t, q->where[k].col);
        if (c >= 0) {
            wc[k] = (size_t)c;
        } else if (q->file != VP_CSV_RUNS) {
            if (!(ok[k] = calloc((size_t)VP_VARIANT_MAX + 1, 1))) st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
            if (!st) st = variants_passing(tb, &q->where[k], ok[k], err);
            if (!st) st = vp_table_require_col(t, VP_COL_VARIANT, &cvar, err);
        } else {
            st = column(t, q->where[k].col, &wc[k], err);
        }
    }
    if (!st) st = column(t, q->col, &cv, err);
    if (!st && *q->over) st = column(t, q->over, &co, err);
    if (!st) st = vp_table_require_col(t, VP_COL_SEED, &cs, err);
    if (!st && q->stat == VP_ST_SLOPE) st = vp_table_require_col(t, VP_COL_LAYER, &cl, err);
    if (!st && q->stat == VP_ST_FIRST_BELOW) st = vp_table_require_col(t, VP_COL_STEP, &cl, err);
    size_t nr = st ? 0 : vp_table_nrows(t);
    rows *r = calloc(1, sizeof *r);
    if (r) {
        r->seed = malloc((nr + 1) * sizeof *r->seed);
        r->v = malloc((nr + 1) * sizeof *r->v);
        r->x = malloc((nr + 1) * sizeof *r->x);
    }
    if (!st && (!r || !r->seed || !r->v || !r->x)) st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < nr; i++) {
        int pass = 1;
        for (int k = 0; pass && k < q->nwhere; k++) {
            long var = 0;
            if (ok[k]) st = vp_table_int(t, i, cvar, 0, VP_VARIANT_MAX, &var, err);
            pass = !st && (ok[k] ? ok[k][var] : cell_passes(vp_table_cell(t, i, wc[k]), &q->where[k]));
        }
        if (!pass) continue;
        double v, o = 1, x = 0;
        st = vp_table_num(t, i, cv, &v, err);
        if (!st && *q->over) st = vp_table_num(t, i, co, &o, err);
        if (!st && (q->stat == VP_ST_SLOPE || q->stat == VP_ST_FIRST_BELOW)) st = vp_table_num(t, i, cl, &x, err);
        if (st) break;
        /* a diverged training's last loss is NaN: for first_below a row that is not below */
        if ((isnan(v) || isnan(o)) && q->stat != VP_ST_FIRST_BELOW) {
            st = vp_fail(err, VP_ERR_DATA, "%s:%zu: %s%s%s is empty or nan", vp_table_name(t), vp_table_line(t, i),
                         q->col, *q->over ? " / " : "", q->over);
            break;
        }
        const char *s = vp_table_cell(t, i, cs);
        int si = r->n && strcmp(r->seeds[r->seed[r->n - 1]], s) == 0 ? r->seed[r->n - 1] : 0; /* rows come by seed */
        while (si < r->nseeds && strcmp(r->seeds[si], s) != 0) si++;
        if (si == r->nseeds) {
            if (r->nseeds == MAX_SEEDS) {
                st = vp_fail(err, VP_ERR_DATA, "%s: more than %d seeds", vp_table_name(t), MAX_SEEDS);
                break;
            }
            snprintf(r->seeds[r->nseeds++], sizeof r->seeds[0], "%s", s);
        }
        r->seed[r->n] = si;
        r->v[r->n] = transform(q->tf, v / o) + q->shift;
        r->x[r->n] = x / q->per_layers;
        r->n++;
    }
    if (!st && r->n == 0) st = vp_fail(err, VP_ERR_DATA, "%s: no row matches the claim's filters", vp_table_name(t));
    for (int k = 0; k < q->nwhere; k++) free(ok[k]);
    if (st) {
        if (r) rows_free(r);
        return st;
    }
    *out = r;
    return VP_OK;
}

/* The statistic of the rows whose seed is `only` (-1: every seed) and not `skip`. */
static double stat_of(const rows *r, const vp_repro_quantity *q, int only, int skip, double *buf)
{
    size_t m = 0;
    double s1 = 0, s2 = 0, mx = 0, sx = 0, sxx = 0, sxy = 0, first = INFINITY;
    for (size_t i = 0; i < r->n; i++) {
        if ((only >= 0 && r->seed[i] != only) || r->seed[i] == skip) continue;
        double v = r->v[i];
        buf[m++] = v;
        s1 += v, s2 += v * v, sx += r->x[i], sxx += r->x[i] * r->x[i], sxy += r->x[i] * v;
        if (fabs(v) > mx || isnan(v)) mx = fabs(v);
        if (v <= q->below && r->x[i] < first) first = r->x[i]; /* in any row order; NaN is never below */
    }
    if (m == 0) return NAN;
    vp_repro_stat stat = q->stat;
    double n = (double)m, mean = s1 / n;
    switch (stat) {
    case VP_ST_MEAN: return mean;
    case VP_ST_RMS: return sqrt(s2 / n);
    case VP_ST_MAX_ABS: return mx;
    case VP_ST_NORM_VAR: return (s2 / n) / (mean * mean) - 1.0;
    case VP_ST_SLOPE: {
        double d = n * sxx - sx * sx;
        return d > 0 ? (n * sxy - sx * s1) / d : NAN;
    }
    case VP_ST_FIRST_BELOW: return isfinite(first) ? first : q->never;
    case VP_ST_MEDIAN:
        qsort(buf, m, sizeof *buf, vp_cmp_double);
        return m % 2 ? buf[m / 2] : 0.5 * (buf[m / 2 - 1] + buf[m / 2]);
    case VP_ST_COUNT: break;
    }
    return NAN;
}

/* The quantity of one leaf without seed `skip` (-1: none). */
static double leaf_value(const vp_repro_quantity *q, const rows *r, int skip, double *buf)
{
    if (q->seeds == VP_SEEDS_POOL) return stat_of(r, q, -1, skip, buf);
    double sum = 0;
    int k = 0;
    for (int s = 0; s < r->nseeds; s++) {
        if (s == skip) continue;
        sum += stat_of(r, q, s, -1, buf);
        k++;
    }
    if (k == 0) return NAN;
    return q->seeds == VP_SEEDS_LOG2_MEAN ? log2(sum / k) : sum / k;
}

/* A quantity tree's leaves, gathered in order. */
typedef struct {
    const vp_repro_quantity *q[16];
    rows *r[16];
    int n;
} leaves;

static vp_status collect(const vp_repro_quantity *q, vp_repro_tables *tb, leaves *lv, vp_err *err)
{
    if (q->diff[0]) {
        vp_status st = collect(q->diff[0], tb, lv, err);
        return st ? st : collect(q->diff[1], tb, lv, err);
    }
    if (lv->n == 16) return vp_fail(err, VP_ERR_CONFIG, "a quantity has more than 16 parts");
    lv->q[lv->n] = q;
    vp_status st = gather(q, tb, &lv->r[lv->n], err);
    if (!st) lv->n++;
    return st;
}

/* Value of the tree with the seed named `skip` left out of every leaf (NULL: none). */
static double tree_value(const vp_repro_quantity *q, const leaves *lv, int *next, const char *skip, double *buf)
{
    if (q->diff[0]) {
        double a = tree_value(q->diff[0], lv, next, skip, buf);
        return a - tree_value(q->diff[1], lv, next, skip, buf);
    }
    const rows *r = lv->r[(*next)++];
    int si = -1;
    for (int s = 0; skip && s < r->nseeds; s++)
        if (strcmp(r->seeds[s], skip) == 0) si = s;
    return leaf_value(q, r, si, buf);
}

vp_status vp_repro_eval(const vp_repro_quantity *q, vp_repro_tables *tb, double *value, double *se, int *nseeds,
                        vp_repro_curve *curve, vp_err *err)
{
    leaves lv = { .n = 0 };
    vp_status st = collect(q, tb, &lv, err);
    size_t most = 0;
    for (int i = 0; i < lv.n; i++) most = lv.r[i]->n > most ? lv.r[i]->n : most;
    double *buf = st ? NULL : malloc((most + 1) * sizeof *buf);
    if (!st && !buf) st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    if (!st) {
        int next = 0;
        *value = tree_value(q, &lv, &next, NULL, buf);
        const rows *r0 = lv.r[0];
        int S = r0->nseeds;
        *nseeds = S;
        double th[MAX_SEEDS], mean = 0, ss = 0;
        for (int s = 0; s < S; s++) {
            next = 0;
            th[s] = tree_value(q, &lv, &next, r0->seeds[s], buf);
            mean += th[s] / S;
        }
        for (int s = 0; s < S; s++) ss += (th[s] - mean) * (th[s] - mean);
        *se = S > 1 ? sqrt((S - 1.0) / S * ss) : NAN;
        if (curve) {
            /* per-layer mean over seeds of v (first leaf): what the slope is fitted to */
            curve->n = 0;
            for (size_t i = 0; q->stat == VP_ST_SLOPE && !q->diff[0] && i < r0->n; i++) {
                int k = 0;
                while (k < curve->n && curve->x[k] != r0->x[i]) k++;
                if (k == curve->n) {
                    if (k == VP_REPRO_CURVE_MAX) continue;
                    curve->x[k] = r0->x[i], curve->y[k] = 0, curve->n++;
                }
                curve->y[k] += r0->v[i] / S;
            }
        }
    }
    free(buf);
    for (int i = 0; i < lv.n; i++) rows_free(lv.r[i]);
    return st;
}
