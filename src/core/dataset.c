/* dataset: see dataset.h. */
#include "core/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "core/data.h"
#include "core/rng.h"

#define SYNTH_MAX_CLASSES 65536
#define SYNTH_MAX_DIM (1 << 24)
#define SYNTH_MAX_HIDDEN 65536

static size_t elem_size(vp_precision prec) { return prec == VP_F32 ? sizeof(float) : sizeof(double); }

static void split_free(vp_split *s)
{
    free(s->x32);
    free(s->x64);
    free(s->y);
    memset(s, 0, sizeof *s);
}

void vp_dataset_free(vp_dataset *d)
{
    if (!d) return;
    split_free(&d->train);
    split_free(&d->test);
    memset(d, 0, sizeof *d);
}

/* x (and y, unless have_y) for n examples of dim values. */
static vp_status split_alloc(vp_split *s, size_t n, size_t dim, vp_precision prec, int have_y, vp_err *err)
{
    size_t m = n * dim > 0 ? n * dim : 1;
    if (prec == VP_F32) s->x32 = malloc(m * sizeof *s->x32);
    else s->x64 = malloc(m * sizeof *s->x64);
    if (!have_y) s->y = malloc((n ? n : 1) * sizeof *s->y);
    s->n = n;
    if ((s->x32 || s->x64) && s->y) return VP_OK;
    return vp_fail(err, VP_ERR_NOMEM, "out of memory for %zu examples of %zu values", n, dim);
}

/* Row i of s := v[0..dim) (rounded once to float for VP_F32). */
static void split_set_row(vp_split *s, size_t i, size_t dim, const double *v)
{
    if (s->x32)
        for (size_t j = 0; j < dim; j++) s->x32[i * dim + j] = (float)v[j];
    else
        memcpy(s->x64 + i * dim, v, dim * sizeof *v);
}

void vp_dataset_gather(const vp_dataset *d, const vp_split *s, const uint32_t *idx, size_t n, void *x,
                       int32_t *y)
{
    size_t dim = (size_t)d->dim;
    for (size_t i = 0; i < n; i++) {
        size_t r = idx[i];
        if (d->prec == VP_F32) memcpy((float *)x + i * dim, s->x32 + r * dim, dim * sizeof(float));
        else memcpy((double *)x + i * dim, s->x64 + r * dim, dim * sizeof(double));
        if (y) y[i] = s->y[r];
    }
}

/* ------------------------------------------------------------------ IDX sets */

enum { TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS, IDX_FILES };

static const char *idx_path(const vp_idx_paths *p, int f)
{
    return f == TRAIN_IMAGES ? p->train_images : f == TRAIN_LABELS ? p->train_labels
         : f == TEST_IMAGES  ? p->test_images  : p->test_labels;
}

/* The four headers agree: as many labels as images in each split, the same image
 * size in both, and at least one training image. */
static vp_status idx_agree(const vp_idx_paths *p, const vp_idx_info *in, vp_err *err)
{
    for (int f = TRAIN_IMAGES; f <= TEST_IMAGES; f += 2)
        if (in[f + 1].count != in[f].count)
            return vp_fail(err, VP_ERR_DATA, "%s: holds %u labels but its images %s hold %u images", idx_path(p, f + 1),
                           in[f + 1].count, idx_path(p, f), in[f].count);
    if (in[TEST_IMAGES].rows != in[TRAIN_IMAGES].rows || in[TEST_IMAGES].cols != in[TRAIN_IMAGES].cols)
        return vp_fail(err, VP_ERR_DATA, "%s: images of %u x %u but the training images %s are %u x %u",
                       p->test_images, in[TEST_IMAGES].rows, in[TEST_IMAGES].cols, p->train_images,
                       in[TRAIN_IMAGES].rows, in[TRAIN_IMAGES].cols);
    if (in[TRAIN_IMAGES].count == 0)
        return vp_fail(err, VP_ERR_DATA, "%s: holds no images; training needs at least one", p->train_images);
    return VP_OK;
}

/* Every file opened, its header checked, the headers compared. */
static vp_status idx_check(const vp_idx_paths *p, int classes, vp_idx_info *in, vp_err *err)
{
    static const char *const key[IDX_FILES] = { "train_images", "train_labels", "test_images", "test_labels" };
    for (int f = 0; f < IDX_FILES; f++)
        if (!idx_path(p, f) || !idx_path(p, f)[0])
            return vp_fail(err, VP_ERR_CONFIG, "idx dataset: %s is not set (four files are needed: train_images, "
                           "train_labels, test_images, test_labels)", key[f]);
    if (classes < 0 || classes > 256)
        return vp_fail(err, VP_ERR_CONFIG, "idx dataset: %d classes; IDX labels are bytes, so 1..256 (or 0: the "
                       "largest training label + 1)", classes);
    for (int f = 0; f < IDX_FILES; f++) {
        vp_status s = vp_idx_peek(idx_path(p, f), f % 2 ? VP_IDX_LABELS : VP_IDX_IMAGES, &in[f], err);
        if (s) return s;
    }
    return idx_agree(p, in, err);
}

/* What a load holds at its peak: the examples taken in the network's precision, and while
 * they are made, every image of both files as bytes and every label (a subset is cut from
 * the whole files). */
static double idx_bytes(const vp_idx_info *in, size_t take_train, size_t take_test, vp_precision prec)
{
    double all = (double)in[TRAIN_IMAGES].count + (double)in[TEST_IMAGES].count;
    double n = (double)(take_train ? take_train : in[TRAIN_IMAGES].count) +
               (double)(take_test ? take_test : in[TEST_IMAGES].count);
    double dim = (double)in[TRAIN_IMAGES].rows * in[TRAIN_IMAGES].cols;
    return n * dim * (double)elem_size(prec) + all * (dim + sizeof(int32_t));
}

/* Global mean and population standard deviation of n bytes, from their histogram
 * (the sum is an exact integer; the squared deviations are 256 terms). */
static void byte_moments(const unsigned char *b, size_t n, double *mean, double *std)
{
    uint64_t hist[256] = { 0 }, sum = 0;
    for (size_t i = 0; i < n; i++) hist[b[i]]++;
    for (int v = 0; v < 256; v++) sum += (uint64_t)v * hist[v];
    double m = (double)sum / (double)n, q = 0;
    for (int v = 0; v < 256; v++) q += (double)hist[v] * ((v - m) * (v - m));
    *mean = m;
    *std = sqrt(q / (double)n);
}

/* s->x := (b - mean) / std for n * dim bytes, through a 256-entry table. */
static void standardize_into(vp_split *s, const unsigned char *b, size_t n, double mean, double std)
{
    double lut[256];
    float lut32[256];
    for (int v = 0; v < 256; v++) {
        lut[v] = (v - mean) / std;
        lut32[v] = (float)lut[v];
    }
    if (s->x32)
        for (size_t i = 0; i < n; i++) s->x32[i] = lut32[b[i]];
    else
        for (size_t i = 0; i < n; i++) s->x64[i] = lut[b[i]];
}

/* One split's labels (checked < classes) and raw image bytes; the counts are
 * compared with the headers checked before (the files may have changed since). */
static vp_status idx_read_split(const vp_idx_paths *p, int images, const vp_idx_info *in, int classes,
                                vp_split *s, unsigned char **bytes, vp_err *err)
{
    size_t n;
    vp_idx_info got[IDX_FILES];
    memcpy(got, in, sizeof got);
    vp_status st = vp_idx_load_labels(idx_path(p, images + 1), classes, &s->y, &n, err);
    if (!st) st = vp_idx_read_all(idx_path(p, images), VP_IDX_IMAGES, bytes, &got[images], err);
    got[images + 1].count = (uint32_t)n;
    if (!st) st = idx_agree(p, got, err);
    s->n = n;
    return st;
}

/* A subset of take_train, take_test examples (0: all) within the files' counts in[]. */
static vp_status idx_take_check(const vp_idx_paths *p, const vp_idx_info *in, size_t take_train, size_t take_test,
                                vp_err *err)
{
    static const char *const key[2] = { "n_train", "n_test" };
    size_t take[2] = { take_train, take_test };
    for (int k = 0; k < 2; k++) {
        size_t have = in[k ? TEST_IMAGES : TRAIN_IMAGES].count;
        if (take[k] > have && have == 0)
            return vp_fail(err, VP_ERR_CONFIG, "%s is %zu, but %s holds no examples", key[k], take[k],
                           idx_path(p, k ? TEST_IMAGES : TRAIN_IMAGES));
        if (take[k] > have)
            return vp_fail(err, VP_ERR_CONFIG, "%s is %zu, more than the %zu examples of %s; allowed 1..%zu (or leave "
                           "it out: all of them)", key[k], take[k], have, idx_path(p, k ? TEST_IMAGES : TRAIN_IMAGES),
                           have);
    }
    return VP_OK;
}

/* The first take examples of a split read whole (take = 0 or >= n: all): its count, as
 * the labels are a prefix already. */
static void split_take(vp_split *s, size_t take)
{
    if (take && take < s->n) s->n = take;
}

static vp_status load_idx_take(vp_dataset *d, const vp_idx_paths *paths, int classes, size_t take_train,
                               size_t take_test, vp_precision prec, vp_err *err)
{
    memset(d, 0, sizeof *d);
    vp_idx_info in[IDX_FILES];
    vp_status s = idx_check(paths, classes, in, err);
    if (!s) s = idx_take_check(paths, in, take_train, take_test, err);
    if (s) return s;
    d->prec = prec;
    d->dim = (int)(in[TRAIN_IMAGES].rows * in[TRAIN_IMAGES].cols);
    size_t dim = (size_t)d->dim;
    unsigned char *train = NULL, *test = NULL;
    s = idx_read_split(paths, TRAIN_IMAGES, in, classes, &d->train, &train, err);
    if (!s && classes == 0) { /* the largest training label + 1 (of the whole file: a subset has the same classes) */
        for (size_t i = 0; i < d->train.n; i++)
            if (d->train.y[i] >= classes) classes = d->train.y[i] + 1;
        if (classes < 2)
            s = vp_fail(err, VP_ERR_DATA, "%s: every label is 0; a classifier needs at least 2 classes",
                        paths->train_labels);
    }
    d->classes = classes;
    split_take(&d->train, take_train);
    if (!s) s = idx_read_split(paths, TEST_IMAGES, in, classes, &d->test, &test, err);
    split_take(&d->test, take_test);
    if (!s) s = split_alloc(&d->train, d->train.n, dim, prec, 1, err);
    if (!s) s = split_alloc(&d->test, d->test.n, dim, prec, 1, err);
    if (!s) {
        byte_moments(train, d->train.n * dim, &d->mean, &d->std);
        if (!(d->std > 0)) d->std = 1; /* constant images: only centred */
        standardize_into(&d->train, train, d->train.n * dim, d->mean, d->std);
        standardize_into(&d->test, test, d->test.n * dim, d->mean, d->std);
    }
    free(train);
    free(test);
    if (s) vp_dataset_free(d);
    return s;
}

vp_status vp_dataset_load_idx(vp_dataset *d, const vp_idx_paths *paths, int classes, vp_precision prec,
                              vp_err *err)
{
    return load_idx_take(d, paths, classes, 0, 0, prec, err);
}

/* The four Fashion-MNIST paths under dir. */
typedef struct {
    char f[IDX_FILES][4200];
    vp_idx_paths p;
} fashion_paths;

static vp_status fashion_paths_make(fashion_paths *fp, const char *dir, vp_err *err)
{
    static const char *const names[IDX_FILES] = { VP_FASHION_MNIST_TRAIN_IMAGES, VP_FASHION_MNIST_TRAIN_LABELS,
                                                  VP_FASHION_MNIST_TEST_IMAGES, VP_FASHION_MNIST_TEST_LABELS };
    if (!dir || !dir[0]) dir = VP_FASHION_MNIST_DIR;
    for (int f = 0; f < IDX_FILES; f++) {
        vp_status s = vp_path_join(fp->f[f], sizeof fp->f[f], dir, names[f], err);
        if (s) return s;
    }
    fp->p = (vp_idx_paths){ fp->f[TRAIN_IMAGES], fp->f[TRAIN_LABELS], fp->f[TEST_IMAGES], fp->f[TEST_LABELS] };
    return VP_OK;
}

static vp_status load_fashion_take(vp_dataset *d, const char *dir, size_t take_train, size_t take_test,
                                   vp_precision prec, vp_err *err)
{
    memset(d, 0, sizeof *d);
    fashion_paths *fp = malloc(sizeof *fp);
    if (!fp) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    vp_status s = fashion_paths_make(fp, dir, err);
    if (!s) s = load_idx_take(d, &fp->p, VP_FASHION_MNIST_CLASSES, take_train, take_test, prec, err);
    free(fp);
    return s;
}

vp_status vp_dataset_load_fashion_mnist(vp_dataset *d, const char *dir, vp_precision prec, vp_err *err)
{
    return load_fashion_take(d, dir, 0, 0, prec, err);
}

/* ---------------------------------------------------------------- synthetic */

vp_synth_spec vp_synth_default(vp_synth_kind kind)
{
    return (vp_synth_spec){ .kind = kind, .seed = 0, .classes = 10, .dim = 32, .n_train = 10000, .n_test = 2000,
                            .separation = 8.0, .hidden = 64 };
}

static vp_status synth_check(const vp_synth_spec *sp, vp_err *err)
{
    if (sp->kind != VP_SYNTH_CLUSTERS && sp->kind != VP_SYNTH_TEACHER)
        return vp_fail(err, VP_ERR_CONFIG, "synthetic data: unknown kind %d (clusters or teacher)", (int)sp->kind);
    if (sp->classes < 2 || sp->classes > SYNTH_MAX_CLASSES)
        return vp_fail(err, VP_ERR_CONFIG, "synthetic data: classes is %d; allowed 2..%d", sp->classes,
                       SYNTH_MAX_CLASSES);
    if (sp->dim < 1 || sp->dim > SYNTH_MAX_DIM)
        return vp_fail(err, VP_ERR_CONFIG, "synthetic data: dim is %d; allowed 1..%d", sp->dim, SYNTH_MAX_DIM);
    if (sp->n_train < 1 || sp->n_train > UINT32_MAX || sp->n_test > UINT32_MAX)
        return vp_fail(err, VP_ERR_CONFIG, "synthetic data: n_train %zu, n_test %zu; allowed n_train 1..%u, "
                       "n_test 0..%u", sp->n_train, sp->n_test, UINT32_MAX, UINT32_MAX);
    /* the normal streams' element index i * dim + j stays below 2^33 (distinct counters) */
    if ((double)(sp->n_train > sp->n_test ? sp->n_train : sp->n_test) * sp->dim > 0x1p33)
        return vp_fail(err, VP_ERR_CONFIG, "synthetic data: %zu examples of %d values is more than 2^33 values in "
                       "one split", sp->n_train > sp->n_test ? sp->n_train : sp->n_test, sp->dim);
    if (sp->kind == VP_SYNTH_CLUSTERS && !(sp->separation >= 0 && isfinite(sp->separation)))
        return vp_fail(err, VP_ERR_CONFIG, "synthetic data: separation is %g; allowed a finite number >= 0",
                       sp->separation);
    if (sp->kind == VP_SYNTH_TEACHER && (sp->hidden < 1 || sp->hidden > SYNTH_MAX_HIDDEN))
        return vp_fail(err, VP_ERR_CONFIG, "synthetic data: hidden is %d; allowed 1..%d", sp->hidden,
                       SYNTH_MAX_HIDDEN);
    return VP_OK;
}

static double synth_bytes(const vp_synth_spec *sp, vp_precision prec)
{
    double n = (double)sp->n_train + (double)sp->n_test;
    return n * sp->dim * (double)elem_size(prec) + n * sizeof(int32_t);
}

/* n draws of N(0, scale^2): elements [0, n) of the normal stream of `layer`. */
static double *synth_normals(uint64_t seed, uint32_t layer, size_t n, double scale)
{
    double *v = malloc(n * sizeof *v);
    if (!v) return NULL;
    vp_rng r = vp_rng_make(seed, layer, VP_RNG_INPUT);
    vp_rng_normal_range(&r, 0, 0, n, v);
    for (size_t i = 0; i < n; i++) v[i] *= scale;
    return v;
}

/* The teacher's label of x: argmax_c (w2 tanh(w1 x))_c, the first maximum; h and z
 * are scratch of hidden and classes values. */
static int32_t teacher_label(const vp_synth_spec *sp, const double *w1, const double *w2, const double *x,
                             double *h, double *z)
{
    size_t dim = (size_t)sp->dim, hid = (size_t)sp->hidden;
    for (size_t k = 0; k < hid; k++) {
        double a = 0;
        for (size_t j = 0; j < dim; j++) a += w1[k * dim + j] * x[j];
        h[k] = tanh(a);
    }
    int32_t best = 0;
    for (int c = 0; c < sp->classes; c++) {
        double a = 0;
        for (size_t k = 0; k < hid; k++) a += w2[(size_t)c * hid + k] * h[k];
        z[c] = a;
        if (a > z[best]) best = c;
    }
    return best;
}

/* One split: example i from elements [i*dim, (i+1)*dim) of the normal stream of
 * `layer`; clusters add the class mean (label i mod classes), the teacher labels it. */
static void synth_split(const vp_synth_spec *sp, uint32_t layer, const double *means, const double *w1,
                        const double *w2, double *scratch, vp_split *s)
{
    size_t dim = (size_t)sp->dim;
    double *row = scratch, *h = scratch + dim, *z = h + (sp->kind == VP_SYNTH_TEACHER ? sp->hidden : 0);
    vp_rng r = vp_rng_make(sp->seed, layer, VP_RNG_INPUT);
    for (size_t i = 0; i < s->n; i++) {
        vp_rng_normal_range(&r, 0, (uint64_t)i * dim, dim, row);
        if (sp->kind == VP_SYNTH_CLUSTERS) {
            s->y[i] = (int32_t)(i % (size_t)sp->classes);
            const double *mu = means + (size_t)s->y[i] * dim;
            for (size_t j = 0; j < dim; j++) row[j] += mu[j];
        } else {
            s->y[i] = teacher_label(sp, w1, w2, row, h, z);
        }
        split_set_row(s, i, dim, row);
    }
}

vp_status vp_dataset_synthetic(vp_dataset *d, const vp_synth_spec *sp, vp_precision prec, vp_err *err)
{
    memset(d, 0, sizeof *d);
    vp_status s = synth_check(sp, err);
    if (s) return s;
    size_t dim = (size_t)sp->dim, cls = (size_t)sp->classes, hid = (size_t)sp->hidden;
    *d = (vp_dataset){ .prec = prec, .dim = sp->dim, .classes = sp->classes, .mean = 0, .std = 1 };
    double *means = NULL, *w1 = NULL, *w2 = NULL, *scratch = malloc((dim + hid + cls) * sizeof *scratch);
    if (sp->kind == VP_SYNTH_CLUSTERS) {
        means = synth_normals(sp->seed, VP_SYNTH_LAYER_MEANS, cls * dim, sp->separation / sqrt(2.0 * (double)dim));
    } else {
        w1 = synth_normals(sp->seed, VP_SYNTH_LAYER_W1, hid * dim, 1.0 / sqrt((double)dim));
        w2 = synth_normals(sp->seed, VP_SYNTH_LAYER_W2, cls * hid, 1.0 / sqrt((double)hid));
    }
    if (!scratch || (sp->kind == VP_SYNTH_CLUSTERS ? !means : !w1 || !w2))
        s = vp_fail(err, VP_ERR_NOMEM, "synthetic data: out of memory");
    if (!s) s = split_alloc(&d->train, sp->n_train, dim, prec, 0, err);
    if (!s) s = split_alloc(&d->test, sp->n_test, dim, prec, 0, err);
    if (!s) {
        synth_split(sp, VP_SYNTH_LAYER_TRAIN, means, w1, w2, scratch, &d->train);
        synth_split(sp, VP_SYNTH_LAYER_TEST, means, w1, w2, scratch, &d->test);
    }
    free(means);
    free(w1);
    free(w2);
    free(scratch);
    if (s) vp_dataset_free(d);
    return s;
}

/* ---------------------------------------------------------------- the spec */

vp_status vp_dataset_check(const vp_dataset_spec *spec, vp_precision prec, double *bytes, vp_err *err)
{
    double b = 0;
    vp_status s = VP_OK;
    vp_idx_info in[IDX_FILES];
    switch (spec->source) {
    case VP_DATA_FASHION_MNIST: {
        fashion_paths *fp = malloc(sizeof *fp);
        if (!fp) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
        s = fashion_paths_make(fp, spec->dir, err);
        if (!s) s = idx_check(&fp->p, VP_FASHION_MNIST_CLASSES, in, err);
        if (!s) s = idx_take_check(&fp->p, in, spec->take_train, spec->take_test, err);
        free(fp);
        if (!s) b = idx_bytes(in, spec->take_train, spec->take_test, prec);
        break;
    }
    case VP_DATA_IDX:
        s = idx_check(&spec->idx, spec->classes, in, err);
        if (!s) s = idx_take_check(&spec->idx, in, spec->take_train, spec->take_test, err);
        if (!s) b = idx_bytes(in, spec->take_train, spec->take_test, prec);
        break;
    case VP_DATA_SYNTHETIC:
        s = synth_check(&spec->synth, err);
        if (!s) b = synth_bytes(&spec->synth, prec);
        break;
    default:
        s = vp_fail(err, VP_ERR_CONFIG, "unknown dataset source %d", (int)spec->source);
    }
    if (!s && bytes) *bytes = b;
    return s;
}

vp_status vp_dataset_load(vp_dataset *d, const vp_dataset_spec *spec, vp_precision prec, vp_err *err)
{
    memset(d, 0, sizeof *d);
    switch (spec->source) {
    case VP_DATA_FASHION_MNIST: return load_fashion_take(d, spec->dir, spec->take_train, spec->take_test, prec, err);
    case VP_DATA_IDX:
        return load_idx_take(d, &spec->idx, spec->classes, spec->take_train, spec->take_test, prec, err);
    case VP_DATA_SYNTHETIC: return vp_dataset_synthetic(d, &spec->synth, prec, err);
    default: return vp_fail(err, VP_ERR_CONFIG, "unknown dataset source %d", (int)spec->source);
    }
}

/* ------------------------------------------------------ shuffle and batches */

vp_status vp_shuffle(uint64_t seed, uint32_t epoch, size_t n, uint32_t *perm, vp_err *err)
{
    if (n > UINT32_MAX)
        return vp_fail(err, VP_ERR_USAGE, "shuffle: %zu examples; at most %u", n, UINT32_MAX);
    if (epoch > VP_SHUFFLE_MAX_EPOCH)
        return vp_fail(err, VP_ERR_USAGE, "shuffle: epoch %u; at most %u", epoch, VP_SHUFFLE_MAX_EPOCH);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    vp_rng r = vp_rng_make(seed, VP_SHUFFLE_LAYER, VP_RNG_TRAIN);
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)vp_rng_below(&r, i, epoch, (uint64_t)i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    return VP_OK;
}

vp_status vp_batches_init(vp_batches *b, size_t n, size_t batch, vp_err *err)
{
    memset(b, 0, sizeof *b);
    if (batch < 1) return vp_fail(err, VP_ERR_USAGE, "batches: batch size 0; at least 1");
    if (n > UINT32_MAX) return vp_fail(err, VP_ERR_USAGE, "batches: %zu examples; at most %u", n, UINT32_MAX);
    if (!(b->perm = malloc((n ? n : 1) * sizeof *b->perm)))
        return vp_fail(err, VP_ERR_NOMEM, "out of memory for the order of %zu examples", n);
    b->n = n;
    b->batch = batch;
    b->next = vp_batches_count(b); /* no epoch started: nothing to give */
    return VP_OK;
}

vp_status vp_batches_epoch(vp_batches *b, uint64_t seed, uint32_t epoch, vp_err *err)
{
    vp_status s = vp_shuffle(seed, epoch, b->n, b->perm, err);
    if (!s) b->next = 0;
    return s;
}

size_t vp_batches_count(const vp_batches *b) { return b->batch ? (b->n + b->batch - 1) / b->batch : 0; }

size_t vp_batches_at(const vp_batches *b, size_t k, const uint32_t **idx)
{
    *idx = NULL;
    if (k >= vp_batches_count(b)) return 0;
    size_t start = k * b->batch, left = b->n - start;
    *idx = b->perm + start;
    return left < b->batch ? left : b->batch;
}

size_t vp_batches_next(vp_batches *b, const uint32_t **idx)
{
    size_t m = vp_batches_at(b, b->next, idx);
    if (m) b->next++;
    return m;
}

void vp_batches_free(vp_batches *b)
{
    if (!b) return;
    free(b->perm);
    memset(b, 0, sizeof *b);
}
