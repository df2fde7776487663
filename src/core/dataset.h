/* dataset: a classification data set held in memory -- a train split and a test
 * split, each images [n, dim] row-major (float or double) with int32 labels in
 * [0, classes) -- loaded from IDX files or drawn from a seed; and the order in
 * which training visits it (a per-epoch shuffle and the batches).
 *
 * Owns: the sources (Fashion-MNIST, any MNIST-format IDX set, synthetic Gaussian
 * clusters or a teacher network), the standardization of IDX images, the
 * shuffle and the batch order. Not owned: the IDX format itself (core/data.h),
 * the network, the training loop, the config keys (the config layer fills a
 * vp_dataset_spec).
 *
 * Standardization (IDX sources): GLOBAL, as torchvision's
 * Normalize((0.2860,), (0.3530,)) for Fashion-MNIST -- one mean and one standard
 * deviation over every pixel of every TRAINING image (population std, divisor
 * n * dim), applied to both splits: x' = (x - mean) / std, computed in double (from
 * the exact byte histogram of the training images) and rounded once to float for
 * VP_F32. The training split then has mean 0 and std 1 to rounding; the test split
 * only nearly (its own statistics differ). A constant training set is only centred
 * (std = 1). Synthetic data is not standardized (mean 0, std 1 recorded).
 *
 * Errors: every file is opened and its header checked (existence, magic, sizes
 * against the file size, label count = image count, equal image sizes in both
 * splits) before any data is read; a missing file is VP_ERR_IO, a damaged one
 * VP_ERR_DATA, a bad synthetic spec VP_ERR_CONFIG; every message names the file
 * (or the synthetic parameter) and what is wrong. On failure nothing is kept.
 *
 * Randomness: everything random is a pure function of a seed through the
 * counter-based generator (core/rng.h), so results are the same bytes on every
 * run, in any call order, whatever the thread count:
 *   synthetic data  vp_rng_make(spec.seed, VP_SYNTH_LAYER_*, VP_RNG_INPUT)
 *   shuffle         vp_rng_make(seed, VP_SHUFFLE_LAYER, VP_RNG_TRAIN), draw = epoch
 * Other users of VP_RNG_TRAIN / VP_RNG_INPUT should keep off these layers.
 *
 * No globals; the dataset is a plain value owned by the caller (vp_dataset_free).
 */
#ifndef VP_DATASET_H
#define VP_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/mlp.h" /* vp_precision */

/* Debian's dataset-fashion-mnist. */
#define VP_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define VP_FASHION_MNIST_TRAIN_IMAGES "train-images-idx3-ubyte.gz"
#define VP_FASHION_MNIST_TRAIN_LABELS "train-labels-idx1-ubyte.gz"
#define VP_FASHION_MNIST_TEST_IMAGES "t10k-images-idx3-ubyte.gz"
#define VP_FASHION_MNIST_TEST_LABELS "t10k-labels-idx1-ubyte.gz"
#define VP_FASHION_MNIST_CLASSES 10

/* Generator layers of the synthetic data (purpose VP_RNG_INPUT) and the shuffle
 * (purpose VP_RNG_TRAIN). */
enum {
    VP_SYNTH_LAYER_MEANS = 0x5D000001,   /* cluster means */
    VP_SYNTH_LAYER_W1 = 0x5D000002,      /* teacher weights, layer 1 */
    VP_SYNTH_LAYER_W2 = 0x5D000003,      /* teacher weights, layer 2 */
    VP_SYNTH_LAYER_TRAIN = 0x5D000004,   /* train inputs (noise for clusters) */
    VP_SYNTH_LAYER_TEST = 0x5D000005,    /* test inputs */
};
#define VP_SHUFFLE_LAYER 0xFFFFFFFFu
#define VP_SHUFFLE_MAX_EPOCH ((1u << 24) - 1) /* the epoch is the draw of vp_rng_below */

/* One split: n examples, x [n, dim] in the dataset's precision (exactly one of
 * x32 / x64 is set, the other NULL), y [n]. */
typedef struct {
    size_t n;
    float *x32;
    double *x64;
    int32_t *y;
} vp_split;

typedef struct {
    vp_precision prec;
    int dim, classes;
    vp_split train, test;
    double mean, std; /* applied to both splits: x' = (x - mean) / std; 0 and 1 when none */
} vp_dataset;

/* The four files of an MNIST-format set. */
typedef struct {
    const char *train_images, *train_labels, *test_images, *test_labels;
} vp_idx_paths;

typedef enum { VP_SYNTH_CLUSTERS, VP_SYNTH_TEACHER } vp_synth_kind;

/* Synthetic data.
 * clusters: class c has mean mu_c = separation / sqrt(2 dim) * g_c, g_c ~ N(0, I_dim)
 *           (so E|mu_c - mu_c'|^2 = separation^2: separation is the root-mean-square
 *           distance between two class means in units of the within-class standard
 *           deviation); example i has label i mod classes and x = mu_y + N(0, I_dim).
 * teacher:  x ~ N(0, I_dim); label = argmax_c (W2 tanh(W1 x))_c (the first maximum),
 *           W1 [hidden, dim] ~ N(0, 1/dim), W2 [classes, hidden] ~ N(0, 1/hidden), no
 *           biases: a fixed random 2-layer tanh network. Classes come out roughly,
 *           not exactly, balanced. */
typedef struct {
    vp_synth_kind kind;
    uint64_t seed;
    int classes;         /* >= 2 */
    int dim;             /* >= 1 */
    size_t n_train;      /* >= 1 */
    size_t n_test;       /* >= 0 */
    double separation;   /* clusters: >= 0, finite */
    int hidden;          /* teacher: >= 1 */
} vp_synth_spec;

/* The defaults: seed 0, 10 classes, dim 32, 10000 train and 2000 test examples,
 * separation 8 (a nearest-centroid classifier scores 99.75-100% on the test split,
 * seeds 0-3),
 * hidden 64. */
vp_synth_spec vp_synth_default(vp_synth_kind kind);

typedef enum { VP_DATA_FASHION_MNIST, VP_DATA_IDX, VP_DATA_SYNTHETIC } vp_data_source;

/* What to load: the config's "train.dataset". Strings are borrowed. */
typedef struct {
    vp_data_source source;
    const char *dir;      /* fashion-mnist: the folder (NULL: VP_FASHION_MNIST_DIR) */
    vp_idx_paths idx;     /* idx: the four files */
    int classes;          /* idx: 1..256, or 0 = the largest training label + 1 */
    size_t take_train;    /* fashion-mnist, idx: the first take_train training examples (1..the file's
                             count; 0: all of them) */
    size_t take_test;     /* the same for the test split */
    vp_synth_spec synth;  /* synthetic */
} vp_dataset_spec;

/* Check a spec without loading the data -- every file opened and its header and
 * size checked, counts and image sizes compared across files, a subset (take_train,
 * take_test) within the files' counts, synthetic parameters checked -- and give the
 * bytes vp_dataset_load will hold (bytes may be NULL).
 * Milliseconds: meant for refusing a config before anything is written. */
vp_status vp_dataset_check(const vp_dataset_spec *spec, vp_precision prec, double *bytes, vp_err *err);

/* Load (vp_dataset_check first, then the data). A subset of a file source is the first
 * examples of each split, and the standardization's mean and standard deviation are
 * those of the training examples taken (what the network sees). On failure *d is zeroed. */
vp_status vp_dataset_load(vp_dataset *d, const vp_dataset_spec *spec, vp_precision prec, vp_err *err);

/* The three sources directly. */
vp_status vp_dataset_load_fashion_mnist(vp_dataset *d, const char *dir, vp_precision prec, vp_err *err);
vp_status vp_dataset_load_idx(vp_dataset *d, const vp_idx_paths *paths, int classes, vp_precision prec,
                              vp_err *err);
vp_status vp_dataset_synthetic(vp_dataset *d, const vp_synth_spec *spec, vp_precision prec, vp_err *err);

void vp_dataset_free(vp_dataset *d); /* frees the arrays and zeroes *d; NULL-safe */

/* Examples idx[0..n) of split s (of d) into x ([n, d->dim] in d->prec: float * or
 * double *) and y ([n]; may be NULL). Every idx[i] must be < s->n. */
void vp_dataset_gather(const vp_dataset *d, const vp_split *s, const uint32_t *idx, size_t n, void *x,
                       int32_t *y);

/* ------------------------------------------------------ shuffle and batches */

/* perm[0..n) = the order of epoch `epoch` (0-based): a Fisher-Yates shuffle of
 * 0..n-1 whose step i (i = n-1 down to 1) swaps perm[i] with perm[j],
 * j = vp_rng_below(vp_rng_make(seed, VP_SHUFFLE_LAYER, VP_RNG_TRAIN), i, epoch, i + 1).
 * A pure function of (seed, epoch, n). Fails (VP_ERR_USAGE) for n > 2^32 - 1 or
 * epoch > VP_SHUFFLE_MAX_EPOCH. */
vp_status vp_shuffle(uint64_t seed, uint32_t epoch, size_t n, uint32_t *perm, vp_err *err);

/* The batches of one epoch: consecutive slices of the permutation, each `batch`
 * long but the last, which keeps the remainder (PyTorch's drop_last=False):
 * ceil(n / batch) batches. */
typedef struct {
    uint32_t *perm; /* [n], owned */
    size_t n, batch;
    size_t next;    /* the next batch vp_batches_next gives; set it to resume mid-epoch */
} vp_batches;

/* Allocate for n examples in batches of `batch` (>= 1); no order yet. */
vp_status vp_batches_init(vp_batches *b, size_t n, size_t batch, vp_err *err);
/* Start epoch `epoch`: perm = vp_shuffle(seed, epoch, n); next = 0. */
vp_status vp_batches_epoch(vp_batches *b, uint64_t seed, uint32_t epoch, vp_err *err);
size_t vp_batches_count(const vp_batches *b);
/* Batch k (< vp_batches_count): *idx = its example indices; returns its size (0 when
 * k is past the end). */
size_t vp_batches_at(const vp_batches *b, size_t k, const uint32_t **idx);
/* The next batch of the epoch (vp_batches_at(next++)); 0 when the epoch is done. */
size_t vp_batches_next(vp_batches *b, const uint32_t **idx);
void vp_batches_free(vp_batches *b);

#endif
