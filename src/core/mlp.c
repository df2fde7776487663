/* mlp: see mlp.h. The precision-generic kernels live in mlp_impl.inc, included
 * once for float and once for double; this file holds allocation, parameter
 * initialization and the dispatch on precision. */
#include "core/mlp.h"
#include "core/gemm.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/simd.h"

struct vp_mlp {
    int L, B;
    int rows;                  /* rows the passes use: the first rows <= B of each block */
    int *w;                    /* widths n_0..n_L (outputs of each layer) */
    int *zw;                   /* width of z^l: n_l, or 2 n_l for GLU (index l = 1..L) */
    vp_precision prec;
    vp_act act;
    size_t *woff, *boff;       /* element offset of W^l, b^l (index l = 1..L) */
    size_t *zoff, *hoff;       /* offset of z^l (l = 1..L) and h^l (l = 0..L) */
    void *W, *b, *Z, *H;       /* parameter and activation blocks */
    void *g1, *g2;             /* two [B, n_max] gradient blocks */
    void *dW;                  /* one [n_l, n_{l-1}] weight-gradient block */
    double *acc;               /* 6 * n_max accumulators for the statistics */
    double *row;               /* 4 * n_max doubles: one row of a row-wise activation */
    unsigned char *alive;      /* n_max flags: phi' != 0 seen for the unit */
    void *probe;               /* [B, n_L] backward probe of seed probe_seed (probe_ok) */
    uint64_t probe_seed;
    int probe_ok;
    vp_pool *pool;             /* borrowed: runs the blocks of each product (NULL: this thread) */
    double *sq_len;            /* borrowed: B * L per-example ||z^l_b||^2 / n_l, or NULL */
    /* recompute mode (mlp.h): W holds one layer's weight, drawn again when needed */
    int recompute, every;      /* every: checkpoint interval k (store mode: 0) */
    vp_init winit;             /* the weight initializer and seed of vp_mlp_init_params */
    uint64_t seed;
    int wl;                    /* the layer whose weight W holds (0: none) */
    int fresh;                 /* a forward pass just ran: the last segment's z, h and W^L hold */
    double *wtmp;              /* wmax doubles: one layer's draw */
    struct lsuv_scale { int l; double s; } *scales; /* LSUV's rescalings, in order, replayed */
    size_t nscales, capscales; /*   on every draw of W^l (recompute mode) */
    double *wmom;              /* 2 (L + 1): LSUV's weight moments of layer l at [2l], [2l+1] */
    int wmom_ok;               /* wmom holds them (vp_mlp_lsuv ran on these weights) */
    vp_unit_draw *unit;        /* 2 (L + 1): the unit draws of W^l at [2l], b^l at [2l+1]; NULL: none */
};

/* Recompute mode, before layer l of a backward pass (defined below the kernels). */
static vp_status recompute_layer(vp_mlp *m, int l, vp_err *err);

/* Combine per-unit shifted sums into the reported moments:
 *   m_j = shift_j + s1_j/B,  v_j = (s2_j - s1_j^2/B)/B   (per unit, over the batch)
 *   mean = avg_j m_j,  unit_var = avg_j v_j,  unit_sq_mean = avg_j m_j^2,
 *   var = unit_var + avg_j (m_j - mean)^2   (law of total variance: the population
 *   variance over all B*n entries). Any non-finite entry makes every moment NaN:
 *   a statistic over non-finite values is reported as such, never as a number. */
static void finish_stats(size_t B, size_t n, const double *shift, const double *s1,
                         const double *s2, long long nonfinite, double *mean, double *var,
                         double *usq, double *uvar)
{
    if (nonfinite > 0) {
        *mean = *var = *usq = *uvar = NAN;
        return;
    }
    double Bd = (double)B, sm = 0, sv = 0, smm = 0;
    for (size_t j = 0; j < n; j++) {
        double mj = shift[j] + s1[j] / Bd;
        double vj = (s2[j] - s1[j] * s1[j] / Bd) / Bd;
        sm += mj;
        sv += vj > 0 ? vj : 0.0;
        smm += mj * mj;
    }
    double nd = (double)n;
    *mean = sm / nd;
    *uvar = sv / nd;
    *usq = smm / nd;
    double spread = 0;
    for (size_t j = 0; j < n; j++) {
        double dm = shift[j] + s1[j] / Bd - *mean;
        spread += dm * dm;
    }
    *var = *uvar + spread / nd;
}

/* vp_batch_corr's estimator from the shifted per-column sums of finish_stats. */
static double finish_corr(size_t B, size_t n, const double *shift, const double *s1, const double *s2,
                          long long nonfinite)
{
    if (nonfinite > 0 || B < 2) return NAN;
    double Bd = (double)B, num = 0, den = 0;
    for (size_t j = 0; j < n; j++) {
        double mj = shift[j] + s1[j] / Bd;
        double vj = (s2[j] - s1[j] * s1[j] / Bd) / Bd;
        vj = vj > 0 ? vj : 0.0;
        num += mj * mj - vj / (Bd - 1);
        den += mj * mj + vj;
    }
    return den > 0 ? num / den : NAN;
}

/* ---- strips: the elementwise passes of a single run, on its pool ----
 * A single run owns a pool of threads for its products (core/gemm.h); its
 * elementwise passes (bias broadcast, activation, statistics) would otherwise run on
 * one of them while the others wait. Every per-unit sum adds its rows in row order
 * and every count is an integer, so cutting the units into strips of EW_STRIP columns
 * that the pool's threads take in any order gives the same bits as one pass over
 * whole rows. The strips depend on the width only, never on the thread count.
 * Without a pool of >= 2 threads (every run of a sweep on 2+ threads) or below two
 * strips, there is one strip: the whole rows, in the calling thread. */
#define EW_STRIP 128 /* columns: 512 bytes of a float row, 64-byte aligned for any aligned row */
#define EW_ROWS 64   /* rows of a bias-broadcast strip */

static size_t ew_strips(const vp_mlp *m, size_t n)
{
    if (vp_pool_threads(m->pool) < 2 || n < 2 * EW_STRIP) return 1;
    return (n + EW_STRIP - 1) / EW_STRIP;
}

/* Row strips of the bias broadcast of a [B, n] z (1: one pass in the calling thread). */
static size_t ew_row_strips(const vp_mlp *m, size_t B, size_t n)
{
    if (vp_pool_threads(m->pool) < 2 || B < 2 * EW_ROWS || B * n < ((size_t)1 << 16)) return 1;
    return (B + EW_ROWS - 1) / EW_ROWS;
}

/* fn(arg, c) for every strip c of `strips`: on the pool when there are several, else
 * strip 0 (the whole rows) in the calling thread, with no hand-off. */
static void ew_run(const vp_mlp *m, size_t strips, void (*fn)(void *arg, int c), void *arg)
{
    if (strips > 1) vp_pool_run(m->pool, (int)strips, fn, arg);
    else fn(arg, 0);
}

/* Columns [*j0, *j0 + *cols) of strip c of `strips` over n units. */
static void ew_strip(size_t n, size_t strips, int c, size_t *j0, size_t *cols)
{
    if (strips == 1) {
        *j0 = 0;
        *cols = n;
        return;
    }
    *j0 = (size_t)c * EW_STRIP;
    *cols = n - *j0 < EW_STRIP ? n - *j0 : EW_STRIP;
}

#define REAL float
#define REAL_MIN FLT_MIN
#define REAL_NEXTUP(x) nextafterf(x, INFINITY)
#define FN(x) x##_f32
#define GEMM vp_gemm_f32
#define KERNEL kernel_f32
#include "core/mlp_impl.inc"
#define REAL double
#define REAL_MIN DBL_MIN
#define REAL_NEXTUP(x) nextafter(x, INFINITY)
#define FN(x) x##_f64
#define GEMM vp_gemm_f64
#define KERNEL kernel_f64
#include "core/mlp_impl.inc"

static size_t real_size(vp_precision p) { return p == VP_F64 ? sizeof(double) : sizeof(float); }

int vp_mlp_checkpoint_every(int L, int every)
{
    if (every <= 0)
        for (every = 1; (long long)every * every < L;) every++; /* ceil(sqrt(L)), exactly */
    return every < 1 ? 1 : every > L ? L : every;
}

/* Element counts of each block; z^l has zwidth(n_l) columns (2 n_l for GLU). nmax
 * covers every layer width and every z width. Recompute mode (every = k > 0): W is
 * one layer (wmax), z has k slots and h has the L/k + 1 checkpoints h^0, h^k, ...
 * and k - 1 slots for the h^l between them, every slot [B, nmax]. */
typedef struct { size_t nw, nb, nz, nh, nmax, wmax; int every; } sizes;

static sizes layout(int L, const int *w, int B, vp_act act, const vp_mlp_memory *mem)
{
    const vp_act_info *ai = vp_act_get(act.kind);
    sizes c = { 0, 0, 0, (size_t)B * (size_t)w[0], (size_t)w[0], 0, 0 };
    for (int l = 1; l <= L; l++) {
        size_t zw = (size_t)vp_act_zwidth(ai, w[l]);
        size_t ws = zw * (size_t)w[l - 1];
        c.nw += ws;
        c.nb += zw;
        c.nz += (size_t)B * zw;
        c.nh += (size_t)B * (size_t)w[l];
        if (zw > c.nmax) c.nmax = zw;
        if (ws > c.wmax) c.wmax = ws;
    }
    if (mem && mem->recompute) {
        size_t k = (size_t)vp_mlp_checkpoint_every(L, mem->every), slot = (size_t)B * c.nmax;
        c.every = (int)k;
        c.nw = c.wmax;
        c.nz = k * slot;
        c.nh = ((size_t)L / k + k) * slot;
    }
    return c;
}

/* The unit draws of every layer's W and b, in bytes (store mode; 0 in recompute mode). */
static double unit_cache_bytes(const sizes *c) { return c->every ? 0.0 : 8.0 * ((double)c->nw + (double)c->nb); }

void vp_mlp_set_unit_cache(vp_mlp *m, int on)
{
    if (on && !m->unit && !m->recompute) {
        sizes c = layout(m->L, m->w, m->B, m->act, NULL);
        if (unit_cache_bytes(&c) <= VP_MLP_UNIT_CACHE_BYTES) m->unit = calloc(2 * ((size_t)m->L + 1), sizeof *m->unit);
    } else if (!on && m->unit) {
        for (int k = 0; k < 2 * (m->L + 1); k++) vp_unit_draw_free(&m->unit[k]);
        free(m->unit);
        m->unit = NULL;
    }
}

/* The unit draw slot of W^l (is_bias 0) or b^l, or NULL (no cache; recompute mode). */
static vp_unit_draw *unit_slot(const vp_mlp *m, int l, int is_bias)
{
    return m->unit && !m->recompute ? &m->unit[2 * (size_t)l + (size_t)is_bias] : NULL;
}

double vp_mlp_bytes_mem(int L, const int *w, int B, vp_precision prec, vp_act act, const vp_mlp_memory *mem)
{
    sizes c = layout(L, w, B, act, mem);
    double elems = (double)c.nw + (double)c.nb + (double)c.nz + (double)c.nh + 2.0 * (double)B * (double)c.nmax +
                   (double)c.wmax + (double)B * (double)w[L];
    /* + the double scratch used while drawing one layer's weights (kept in recompute mode),
     * the statistics' accumulators and flags, and the shape arrays (2 int, 4 size_t) */
    double unit = unit_cache_bytes(&c); /* + the unit draws (vp_mlp_set_unit_cache), where they are kept */
    return elems * (double)real_size(prec) + 8.0 * ((double)c.wmax + 10.0 * (double)c.nmax) + (double)c.nmax +
           40.0 * (L + 1) + (c.every ? 16.0 * (L + 1) : 0) /* + LSUV's weight moments (recompute) */
           + (unit <= VP_MLP_UNIT_CACHE_BYTES ? unit : 0.0);
}

double vp_mlp_bytes(int L, const int *w, int B, vp_precision prec, vp_act act)
{
    return vp_mlp_bytes_mem(L, w, B, prec, act, NULL);
}

void vp_mlp_free(vp_mlp *m)
{
    if (!m) return;
    free(m->w);
    free(m->zw);
    free(m->row);
    free(m->woff);
    free(m->boff);
    free(m->zoff);
    free(m->hoff);
    free(m->W);
    free(m->b);
    free(m->Z);
    free(m->H);
    free(m->g1);
    free(m->g2);
    free(m->dW);
    free(m->acc);
    free(m->alive);
    free(m->probe);
    free(m->wtmp);
    free(m->scales);
    free(m->wmom);
    vp_mlp_set_unit_cache(m, 0);
    free(m);
}

vp_status vp_mlp_create(vp_mlp **out, int L, const int *widths, int batch, vp_precision prec,
                        vp_act act, vp_err *err)
{
    return vp_mlp_create_mem(out, L, widths, batch, prec, act, NULL, err);
}

vp_status vp_mlp_create_mem(vp_mlp **out, int L, const int *widths, int batch, vp_precision prec,
                            vp_act act, const vp_mlp_memory *mem, vp_err *err)
{
    *out = NULL;
    if (L < 1 || batch < 1) return vp_fail(err, VP_ERR_CONFIG, "network needs depth >= 1 and batch >= 1");
    vp_mlp *m = calloc(1, sizeof *m);
    if (!m) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    m->L = L;
    m->B = batch;
    m->rows = batch;
    m->prec = prec;
    m->act = act;
    size_t rs = real_size(prec);
    sizes c = layout(L, widths, batch, act, mem);
    size_t nw = c.nw, nb = c.nb, nz = c.nz, nh = c.nh, nmax = c.nmax, wmax = c.wmax;
    m->recompute = c.every > 0;
    m->every = c.every;
    m->w = malloc((size_t)(L + 1) * sizeof *m->w);
    m->zw = calloc((size_t)(L + 1), sizeof *m->zw);
    m->row = malloc(4 * nmax * sizeof *m->row);
    m->woff = calloc((size_t)(L + 1), sizeof *m->woff);
    m->boff = calloc((size_t)(L + 1), sizeof *m->boff);
    m->zoff = calloc((size_t)(L + 1), sizeof *m->zoff);
    m->hoff = calloc((size_t)(L + 1), sizeof *m->hoff);
    m->W = malloc(nw * rs);
    m->b = malloc(nb * rs);
    m->Z = malloc(nz * rs);
    m->H = malloc(nh * rs);
    m->g1 = malloc((size_t)batch * nmax * rs);
    m->g2 = malloc((size_t)batch * nmax * rs);
    m->dW = malloc(wmax * rs);
    m->acc = malloc(6 * nmax * sizeof *m->acc);
    m->alive = malloc(nmax);
    m->probe = malloc((size_t)batch * (size_t)widths[L] * rs);
    if (m->recompute) {
        m->wtmp = malloc(wmax * sizeof *m->wtmp);
        m->wmom = malloc(2 * (size_t)(L + 1) * sizeof *m->wmom);
    }
    if ((m->recompute && (!m->wtmp || !m->wmom)) || !m->probe || !m->w || !m->zw || !m->row || !m->woff || !m->boff || !m->zoff || !m->hoff || !m->W || !m->b || !m->Z || !m->H ||
        !m->g1 || !m->g2 || !m->dW || !m->acc || !m->alive) {
        double mb = vp_mlp_bytes_mem(L, widths, batch, prec, act, mem) / 1048576.0;
        vp_mlp_free(m);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory allocating a network of %.0f MiB", mb);
    }
    memcpy(m->w, widths, (size_t)(L + 1) * sizeof *m->w);
    size_t wo = 0, bo = 0, zo = 0, ho = (size_t)batch * (size_t)widths[0];
    for (int l = 1; l <= L; l++) {
        m->zw[l] = vp_act_zwidth(vp_act_get(act.kind), widths[l]);
        m->woff[l] = wo;
        m->boff[l] = bo;
        m->zoff[l] = zo;
        m->hoff[l] = ho;
        wo += (size_t)m->zw[l] * (size_t)widths[l - 1];
        bo += (size_t)m->zw[l];
        zo += (size_t)batch * (size_t)m->zw[l];
        ho += (size_t)batch * (size_t)widths[l];
        if (m->recompute) { /* slots of [B, nmax]: z in slot (l-1) % k; h^l a checkpoint or slot l % k */
            size_t k = (size_t)m->every, slot = (size_t)batch * nmax, ul = (size_t)l;
            m->woff[l] = 0;
            m->zoff[l] = ((ul - 1) % k) * slot;
            m->hoff[l] = (ul % k == 0 ? ul / k : (size_t)L / k + ul % k) * slot;
        }
    }
    *out = m;
    return VP_OK;
}

int vp_mlp_same_memory(const vp_mlp *m, const vp_mlp_memory *mem)
{
    int rc = mem && mem->recompute;
    if (!m || rc != m->recompute) return 0;
    return !rc || vp_mlp_checkpoint_every(m->L, mem->every) == m->every;
}

int vp_mlp_same_shape(const vp_mlp *m, int L, const int *widths, int batch, vp_precision prec, vp_act act)
{
    if (!m || m->L != L || m->B != batch || m->prec != prec) return 0;
    if (vp_act_zwidth(vp_act_get(act.kind), widths[L]) != m->zw[L]) return 0; /* GLU doubles z */
    return memcmp(m->w, widths, (size_t)(L + 1) * sizeof *widths) == 0;
}

void vp_mlp_set_act(vp_mlp *m, vp_act act) { m->act = act; }

int vp_mlp_depth(const vp_mlp *m) { return m->L; }
int vp_mlp_width(const vp_mlp *m, int l) { return m->w[l]; }

void vp_mlp_stack(int L, const int *widths, int *first, int *last)
{
    int best = 1, blen = 1;
    for (int a = 1; a <= L;) {
        int b = a;
        while (b < L && widths[b + 1] == widths[a]) b++;
        if (b - a + 1 > blen) best = a, blen = b - a + 1;
        a = b + 1;
    }
    if (blen < 2) best = 1, blen = L;
    *first = best;
    *last = best + blen - 1;
}

/* Store n doubles into block `blk` at element offset `off`, in the net's precision. */
static void store(const vp_mlp *m, void *blk, size_t off, const double *src, size_t n)
{
    if (m->prec == VP_F64) store_f64((double *)blk + off, src, n);
    else store_f32((float *)blk + off, src, n);
}

static void scale_weight(vp_mlp *m, int l, double s);

/* Entries per chunk of an entrywise weight draw (16 KiB of doubles: in L1). */
#define DRAW_CHUNK 2048

/* W^l's draw (stream rw) stored into W at woff[l] in the net's precision, with tmp
 * (wmax doubles) as scratch. An entrywise initializer without the unit-draw cache is
 * drawn DRAW_CHUNK entries at a time (vp_init_weight_range: entry i depends only on
 * the stream and i), so its doubles stay in L1 and W is written once, instead of a
 * pass of 8 bytes an entry out to memory and back (a sixth of a 1024-wide layer's
 * draw); a float32 net's normal initializer with the cache is mapped from the cached
 * normals straight into W; the others draw the whole matrix into tmp. Same bits. */
static vp_status draw_store(vp_mlp *m, const vp_init *winit, int l, const vp_rng *rw, double *tmp, vp_err *err)
{
    size_t fo = (size_t)m->zw[l], fi = (size_t)m->w[l - 1], n = fo * fi; /* fan_out of W: z's width */
    vp_unit_draw *u = unit_slot(m, l, 0);
    int done = 0, hit;
    if (u && m->prec == VP_F32 && vp_init_draw_cached_f32(winit, fo, fi, 0, rw, u, (float *)m->W + m->woff[l], &hit))
        return VP_OK; /* the cached unit draw mapped straight into W */
    for (size_t start = 0; !u && start < n; start += DRAW_CHUNK) {
        size_t k = n - start < DRAW_CHUNK ? n - start : DRAW_CHUNK;
        vp_status s = vp_init_weight_range(winit, fo, fi, start, k, rw, tmp, &done, err);
        if (s) return s;
        if (!done) break;
        store(m, m->W, m->woff[l] + start, tmp, k);
    }
    if (done) return VP_OK;
    vp_status s = vp_init_draw_cached(winit, fo, fi, 0, rw, u, tmp, &hit, err);
    if (!s) store(m, m->W, m->woff[l], tmp, n);
    return s;
}

/* W^l drawn from its stream (seed, l, WEIGHT) with tmp as scratch, into W at woff[l]
 * (recompute mode: the one-layer buffer, which then holds layer l), then LSUV's
 * rescalings of layer l replayed in their order (recompute mode: the same roundings,
 * so the same bits as the stored weight LSUV rescaled in place). */
static vp_status draw_weight(vp_mlp *m, const vp_init *winit, uint64_t seed, int l, double *tmp, vp_err *err)
{
    vp_rng rw = vp_rng_make(seed, (uint32_t)l, VP_RNG_WEIGHT);
    m->wl = 0;
    vp_status s = draw_store(m, winit, l, &rw, tmp, err);
    if (s) return s;
    for (size_t i = 0; i < m->nscales; i++)
        if (m->scales[i].l == l) scale_weight(m, l, m->scales[i].s);
    m->wl = l;
    return VP_OK;
}

/* Recompute mode: W^l in the weight buffer, drawn again unless it is there already. */
static vp_status ensure_weight(vp_mlp *m, int l, vp_err *err)
{
    if (!m->recompute || m->wl == l) return VP_OK;
    vp_status s = draw_weight(m, &m->winit, m->seed, l, m->wtmp, err);
    if (s) vp_err_prefix(err, "drawing the weights of layer %d again", l);
    return s;
}

/* Store mode on a pool of T > 1 threads: the weights of layers 1..L drawn in
 * parallel, T worker loops taking layers in order from a counter, each with its own
 * scratch. Every layer has its own stream (seed, l, WEIGHT) and its own place in W,
 * so the bits do not depend on which thread draws which layer. (Drawing 100 layers
 * of 1024 x 1024 normals was a sixth of a single large run's CPU, on one core while
 * the other waited.) A layer whose draw fails is left to the caller, which draws it
 * again in order for the message. */
typedef struct {
    vp_mlp *m;
    const vp_init *wi;
    uint64_t seed;
    double *tmp;          /* T * wmax doubles */
    size_t wmax;
    atomic_int next;      /* layers handed out */
    vp_status *st;        /* per layer, [1..L] */
} par_draw;

static void par_draw_worker(void *arg, int w)
{
    par_draw *d = arg;
    vp_mlp *m = d->m;
    double *tmp = d->tmp + (size_t)w * d->wmax;
    for (int l; (l = atomic_fetch_add_explicit(&d->next, 1, memory_order_relaxed) + 1) <= m->L;) {
        vp_rng rw = vp_rng_make(d->seed, (uint32_t)l, VP_RNG_WEIGHT);
        vp_err ignore;
        d->st[l] = draw_store(m, d->wi, l, &rw, tmp, &ignore);
    }
}

/* 1 when every layer's weight was drawn in parallel (else nothing is drawn, or the
 * failed layers are marked in st for the sequential loop). */
static int draw_weights_parallel(vp_mlp *m, const vp_init *wi, uint64_t seed, size_t wmax, vp_status *st)
{
    int T = vp_pool_threads(m->pool);
    if (m->recompute || T < 2 || m->L < 2) return 0;
    par_draw d = { .m = m, .wi = wi, .seed = seed, .wmax = wmax, .st = st };
    d.tmp = malloc((size_t)T * wmax * sizeof *d.tmp);
    if (!d.tmp) return 0; /* the sequential draw needs one scratch only */
    atomic_init(&d.next, 0);
    vp_pool_run(m->pool, T, par_draw_worker, &d);
    free(d.tmp);
    return 1;
}

vp_status vp_mlp_init_params(vp_mlp *m, const vp_init *winit, const vp_init *binit, uint64_t seed,
                             vp_err *err)
{
    const vp_init_info *wi = vp_init_get(winit->kind);
    size_t wmax = 0;
    for (int l = 1; l <= m->L; l++) {
        size_t ws = (size_t)m->zw[l] * (size_t)m->w[l - 1];
        if (ws > wmax) wmax = ws;
    }
    double *tmp = m->recompute ? m->wtmp : malloc(wmax * sizeof *tmp);
    if (!tmp) return vp_fail(err, VP_ERR_NOMEM, "out of memory drawing weights");
    vp_status s = VP_OK;
    vp_init wi_prec = *winit; /* a float32 net lets the initializer compute in float32 */
    wi_prec.single = m->prec == VP_F32;
    m->winit = wi_prec; /* recompute mode draws the weights in the passes */
    m->seed = seed;
    m->wl = 0;
    m->fresh = 0;
    m->nscales = 0; /* new weights: nothing rescaled yet */
    m->wmom_ok = 0;
    vp_status *pst = calloc((size_t)m->L + 1, sizeof *pst);
    int par = pst && draw_weights_parallel(m, &wi_prec, seed, wmax, pst);
    for (int l = 1; l <= m->L && !s; l++) {
        size_t fo = (size_t)m->zw[l], fi = (size_t)m->w[l - 1];
        vp_rng rb = vp_rng_make(seed, (uint32_t)l, VP_RNG_BIAS);
        if (!m->recompute && (!par || pst[l]) && (s = draw_weight(m, &wi_prec, seed, l, tmp, err))) break;
        int hit;
        s = vp_init_draw_cached(wi->sets_bias ? winit : binit, fo, fi, 1, &rb, unit_slot(m, l, 1), tmp, &hit, err);
        if (s) break;
        store(m, m->b, m->boff[l], tmp, fo);
    }
    free(pst);
    if (!m->recompute) free(tmp);
    if (s) vp_err_prefix(err, "initializing weights");
    return s;
}

void vp_mlp_set_input(vp_mlp *m, const double *x)
{
    store(m, m->H, 0, x, (size_t)m->B * (size_t)m->w[0]);
}

static void layer_forward(vp_mlp *m, int l, vp_layer_stats *st, vp_histogram *hist)
{
    st->layer = l;
    st->fan_in = m->w[l - 1];
    st->fan_out = m->zw[l];
    if (m->prec == VP_F64) layer_forward_f64(m, l, st, hist);
    else layer_forward_f32(m, l, st, hist);
}

vp_status vp_mlp_forward(vp_mlp *m, vp_layer_stats *stats, vp_histogram *hist, vp_err *err)
{
    m->fresh = 0;
    for (int l = 1; l <= m->L; l++) {
        vp_status s = ensure_weight(m, l, err);
        if (s) return s;
        layer_forward(m, l, &stats[l - 1], hist ? hist + (size_t)(l - 1) * VP_HIST_QUANTITIES : NULL);
    }
    m->fresh = m->recompute; /* the last segment's slots and W^L are this pass's */
    return VP_OK;
}

/* Recompute mode, before the backward step of layer l (it reads phi'(z^l) -- z^l for
 * a row-wise activation, and h^l --, h^{l-1} and, for l > 1, W^l): at the top layer
 * b of a segment a..b (a = k floor((l-1)/k) + 1), the forward from checkpoint
 * h^{a-1} again through layers a..b, which refills the segment's slots with the same
 * bits as the forward pass (same products, same kernel calls); the statistics are
 * taken again and dropped. The last segment of a backward that follows the forward
 * pass is still there. Then W^l for dL/dh^{l-1} = dL/dz^l W^l. */
static vp_status recompute_layer(vp_mlp *m, int l, vp_err *err)
{
    int a = (l - 1) / m->every * m->every + 1, b = a + m->every - 1 < m->L ? a + m->every - 1 : m->L;
    vp_status s = VP_OK;
    if (l == b && !(m->fresh && l == m->L)) {
        double *sq_len = m->sq_len; /* the forward pass's lengths are not taken twice */
        vp_layer_stats st;
        m->sq_len = NULL;
        for (int i = a; i <= b && !s; i++)
            if (!(s = ensure_weight(m, i, err))) layer_forward(m, i, &st, NULL);
        m->sq_len = sq_len;
    }
    m->fresh = 0;
    return s ? s : l > 1 ? ensure_weight(m, l, err) : VP_OK;
}

vp_status vp_mlp_backward(vp_mlp *m, uint64_t seed, vp_layer_stats *stats, vp_histogram *hist,
                          vp_err *err)
{
    if (m->prec == VP_F64) return backward_f64(m, seed, stats, hist, err);
    return backward_f32(m, seed, stats, hist, err);
}

/* Variance of z^l for the current weights (affine only; z is left holding z^l). */
static double z_variance(vp_mlp *m, int l)
{
    size_t B = (size_t)m->rows, n = (size_t)m->zw[l];
    double mean, var, usq, uvar;
    long long nf = 0, sub = 0;
    if (m->prec == VP_F64) {
        affine_f64(m, l);
        block_stats_f64((double *)m->Z + m->zoff[l], B, n, m->acc, &mean, &var, &usq, &uvar, &nf, &sub);
    } else {
        affine_f32(m, l);
        block_stats_f32((float *)m->Z + m->zoff[l], B, n, m->acc, &mean, &var, &usq, &uvar, &nf, &sub);
    }
    return var;
}

/* W^l *= s in the net's precision (W^l in W at woff[l]). */
static void scale_weight(vp_mlp *m, int l, double s)
{
    size_t nw = (size_t)m->zw[l] * (size_t)m->w[l - 1];
    if (m->prec == VP_F64) scale_f64((double *)m->W + m->woff[l], nw, s);
    else scale_f32((float *)m->W + m->woff[l], nw, s);
}

/* Recompute mode: LSUV's rescaling s of layer l, kept for every later draw of W^l. */
static vp_status record_scale(vp_mlp *m, int l, double s, vp_err *err)
{
    if (m->nscales == m->capscales) {
        size_t cap = m->capscales ? 2 * m->capscales : 64;
        struct lsuv_scale *p = realloc(m->scales, cap * sizeof *p);
        if (!p) return vp_fail(err, VP_ERR_NOMEM, "out of memory recording lsuv's rescalings");
        m->scales = p;
        m->capscales = cap;
    }
    m->scales[m->nscales++] = (struct lsuv_scale){ l, s };
    return VP_OK;
}

static void moments_now(const vp_mlp *m, int l, double *sigma_w2, double *sigma_b2);

/* In recompute mode each layer's weight is drawn, rescaled in the buffer and its
 * rescalings recorded (draw_weight replays them), and its moments kept for
 * vp_mlp_weight_moments: the same operations on the same values as in store mode. */
vp_status vp_mlp_lsuv(vp_mlp *m, double tol, int max_iter, int *iters_out, vp_err *err)
{
    vp_layer_stats st;
    m->fresh = 0;
    for (int l = 1; l <= m->L; l++) {
        int it = 0;
        vp_status s = ensure_weight(m, l, err);
        if (s) return s;
        for (;;) {
            double var = z_variance(m, l);
            /* Var[z^l] = 0 (a dead layer: relu under a negative bias passes only b^l) or not
             * finite (an overflow): no rescaling gives unit variance. The layer keeps the
             * weights it has, and the measurement reports what they do; this used to fail
             * the run, and with it the whole sweep. */
            if (!isfinite(var) || var <= 0) {
                it = -1;
                break;
            }
            if (fabs(var - 1.0) < tol || it >= max_iter) break;
            double sc = 1.0 / sqrt(var);
            scale_weight(m, l, sc);
            if (m->recompute && (s = record_scale(m, l, sc, err))) return s;
            it++;
        }
        if (iters_out) iters_out[l - 1] = it;
        if (m->recompute) moments_now(m, l, &m->wmom[2 * l], &m->wmom[2 * l + 1]);
        layer_forward(m, l, &st, NULL); /* h^l for the next layer */
    }
    m->wmom_ok = m->recompute;
    return VP_OK;
}

void vp_mlp_export_layer(const vp_mlp *m, int l, int b, double *W, double *dphi)
{
    size_t n = (size_t)m->zw[l], nin = (size_t)m->w[l - 1]; /* W^l has z's width of rows */
    size_t zo = m->zoff[l] + (size_t)b * n;
    if (m->prec == VP_F64) {
        if (W) load_f64(W, (const double *)m->W + m->woff[l], n * nin);
        if (dphi) load_f64(dphi, (const double *)m->Z + zo, n);
    } else {
        if (W) load_f32(W, (const float *)m->W + m->woff[l], n * nin);
        if (dphi) load_f32(dphi, (const float *)m->Z + zo, n);
    }
}

void vp_mlp_weight_moments(const vp_mlp *m, int l, double *sigma_w2, double *sigma_b2)
{
    if (m->recompute) { /* no stored weight: the moments vp_mlp_lsuv took (NaN without it) */
        *sigma_w2 = m->wmom_ok ? m->wmom[2 * l] : NAN;
        *sigma_b2 = m->wmom_ok ? m->wmom[2 * l + 1] : NAN;
        return;
    }
    moments_now(m, l, sigma_w2, sigma_b2);
}

/* fan_in mean(W^2) and mean(b^2) of layer l from the weight in W at woff[l]. */
static void moments_now(const vp_mlp *m, int l, double *sigma_w2, double *sigma_b2)
{
    size_t n = (size_t)m->zw[l], nin = (size_t)m->w[l - 1];
    double sw, sb;
    if (m->prec == VP_F64) {
        sw = sum_sq_f64((const double *)m->W + m->woff[l], n * nin);
        sb = sum_sq_f64((const double *)m->b + m->boff[l], n);
    } else {
        sw = sum_sq_f32((const float *)m->W + m->woff[l], n * nin);
        sb = sum_sq_f32((const float *)m->b + m->boff[l], n);
    }
    *sigma_w2 = sw / (double)n;  /* fan_in * mean(W^2) = sum / n_out */
    *sigma_b2 = sb / (double)n;
}

void vp_mlp_set_pool(vp_mlp *m, vp_pool *pool) { m->pool = pool; }
void vp_mlp_set_lengths(vp_mlp *m, double *sq_len) { m->sq_len = sq_len; }

double vp_batch_corr(const double *x, int B, int n)
{
    if (B < 2 || n < 1) return NAN;
    double *acc = malloc(3 * (size_t)n * sizeof *acc);
    if (!acc) return NAN;
    long long sub = 0, nf = acc_rows_f64(x, (size_t)B, (size_t)n, (size_t)n, acc, acc + n, acc + 2 * n, 1, &sub);
    double c = finish_corr((size_t)B, (size_t)n, acc, acc + n, acc + 2 * n, nf);
    free(acc);
    return c;
}

/* ---- training support (core/train.h) ---- */

void vp_mlp_set_rows(vp_mlp *m, int n) { m->rows = n >= 1 && n <= m->B ? n : m->B; }
int vp_mlp_rows(const vp_mlp *m) { return m->rows; }
vp_precision vp_mlp_precision(const vp_mlp *m) { return m->prec; }

void vp_mlp_view(vp_mlp *m, int l, vp_mlp_layer_view *v)
{
    size_t rs = real_size(m->prec);
    v->fan_in = l >= 1 ? m->w[l - 1] : 0;
    v->fan_out = m->w[l];
    v->h = (char *)m->H + m->hoff[l] * rs;
    v->W = l >= 1 ? (char *)m->W + m->woff[l] * rs : NULL;
    v->b = l >= 1 ? (char *)m->b + m->boff[l] * rs : NULL;
    v->z = l >= 1 ? (char *)m->Z + m->zoff[l] * rs : NULL;
}

vp_status vp_mlp_backward_from(vp_mlp *m, const void *g, double wscale, vp_layer_stats *stats,
                               vp_histogram *hist, vp_err *err)
{
    if (m->prec == VP_F64) return backward_from_f64(m, g, wscale, stats, hist, err);
    return backward_from_f32(m, g, (float)wscale, stats, hist, err);
}

void vp_linear_stats(vp_precision prec, const void *z, const void *gz, const void *dW, size_t rows,
                     size_t fan_in, size_t fan_out, double *acc, vp_layer_stats *st)
{
    if (prec == VP_F64) linear_stats_f64(z, gz, dW, rows, fan_in, fan_out, acc, st);
    else linear_stats_f32(z, gz, dW, rows, fan_in, fan_out, acc, st);
}
