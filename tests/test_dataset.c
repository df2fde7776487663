/* Tests of core/dataset: the Fashion-MNIST and IDX loaders (sizes, global
 * standardization with the training statistics, errors naming the file before any
 * data is read), synthetic data (separable clusters, a teacher network, the same
 * bytes for the same seed), the per-epoch shuffle and the batches. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/data.h"
#include "core/dataset.h"
#include "harness.h"

#define FASHION VP_FASHION_MNIST_DIR "/"

/* Mean and population standard deviation of n values, with Neumaier-compensated
 * sums, so the check itself is accurate to ~1e-16 whatever n. */
static void moments(const double *x, const float *xf, size_t n, double *mean, double *std)
{
    double s = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x ? x[i] : (double)xf[i], t = s + v;
        c += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
        s = t;
    }
    double m = (s + c) / (double)n;
    s = c = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (x ? x[i] : (double)xf[i]) - m, v = d * d, t = s + v;
        c += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
        s = t;
    }
    *mean = m;
    *std = sqrt((s + c) / (double)n);
}

/* ------------------------------------------------------------ Fashion-MNIST */

Test(dataset_fashion, sizes_and_global_standardization, .timeout = 120)
{
    vp_dataset d;
    vp_err err;
    cr_assert_eq(vp_dataset_load_fashion_mnist(&d, NULL, VP_F64, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(d.train.n, 60000);
    cr_expect_eq(d.test.n, 10000);
    cr_expect_eq(d.dim, 784);
    cr_expect_eq(d.classes, 10);
    cr_expect_eq(d.prec, VP_F64);
    cr_expect(d.train.x64 && d.test.x64 && !d.train.x32 && !d.test.x32);
    /* The statistics used: torchvision's Normalize((0.2860,), (0.3530,)) on [0, 1]. */
    cr_expect_leq(fabs(d.mean / 255 - 0.2860), 5e-5, "mean pixel %.6f", d.mean / 255);
    cr_expect_leq(fabs(d.std / 255 - 0.3530), 5e-5, "pixel std %.6f", d.std / 255);
    /* Train: mean 0 and std 1 over all 47,040,000 values, to 1e-12. */
    double m, s;
    moments(d.train.x64, NULL, d.train.n * 784, &m, &s);
    cr_expect_leq(fabs(m), 1e-12, "train mean %.3g", m);
    cr_expect_leq(fabs(s - 1), 1e-12, "train std - 1 = %.3g", s - 1);
    /* Test: the training statistics applied, so close to 0 and 1 but not equal. */
    double tm, ts;
    moments(d.test.x64, NULL, d.test.n * 784, &tm, &ts);
    cr_expect_leq(fabs(tm), 0.02, "test mean %g", tm);
    cr_expect_leq(fabs(ts - 1), 0.02, "test std %g", ts);
    cr_expect_gt(fabs(tm) + fabs(ts - 1), 1e-4, "test split standardized with its own statistics? %g %g", tm, ts);
    /* The same images in the same order: (raw - mean) / std of the files' bytes. */
    double *raw;
    int dim;
    cr_assert_eq(vp_idx_load(FASHION VP_FASHION_MNIST_TEST_IMAGES, 10000, &raw, &dim, &err), VP_OK, "%s", err.msg);
    for (size_t i = 0; i < 10000 * 784; i++)
        if (d.test.x64[i] != (raw[i] - d.mean) / d.std) cr_assert_fail("test value %zu", i);
    free(raw);
    int32_t *y;
    size_t n;
    cr_assert_eq(vp_idx_load_labels(FASHION VP_FASHION_MNIST_TRAIN_LABELS, 10, &y, &n, &err), VP_OK);
    cr_expect_eq(memcmp(y, d.train.y, n * sizeof *y), 0, "train labels in file order");
    free(y);

    /* float32: the float64 values rounded once. */
    vp_dataset f;
    cr_assert_eq(vp_dataset_load_fashion_mnist(&f, VP_FASHION_MNIST_DIR, VP_F32, &err), VP_OK, "%s", err.msg);
    cr_expect(f.train.x32 && f.test.x32 && !f.train.x64 && !f.test.x64);
    cr_expect_eq(f.mean, d.mean);
    cr_expect_eq(f.std, d.std);
    for (size_t i = 0; i < 60000 * 784; i++)
        if (f.train.x32[i] != (float)d.train.x64[i]) cr_assert_fail("float train value %zu", i);
    for (size_t i = 0; i < 10000 * 784; i++)
        if (f.test.x32[i] != (float)d.test.x64[i]) cr_assert_fail("float test value %zu", i);
    moments(NULL, f.train.x32, f.train.n * 784, &m, &s);
    cr_expect_leq(fabs(m), 1e-6, "float train mean %.3g", m);
    cr_expect_leq(fabs(s - 1), 1e-6, "float train std - 1 = %.3g", s - 1);
    vp_dataset_free(&f);
    vp_dataset_free(&d);
    cr_expect(!d.train.x64 && !d.train.y && d.train.n == 0, "freed and zeroed");
    vp_dataset_free(NULL);
}

/* ------------------------------------------------------- small IDX sets */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void write_bytes(const char *path, const unsigned char *b, size_t len, int gzip)
{
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        cr_assert_not_null(gz, "gzopen %s", path);
        cr_assert_eq(gzwrite(gz, b, (unsigned)len), (int)len);
        cr_assert_eq(gzclose(gz), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(b, 1, len, f), len);
        cr_assert_eq(fclose(f), 0);
    }
}

/* DIR/NAME: count images of rows x cols, pixel k of image i = (i * 31 + k * 7) % 256. */
static void write_images(const char *dir, const char *name, uint32_t count, uint32_t rows, uint32_t cols)
{
    size_t body = (size_t)count * rows * cols;
    unsigned char *b = malloc(16 + body);
    cr_assert_not_null(b);
    put_be32(b, 0x803);
    put_be32(b + 4, count);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < (size_t)rows * cols; k++)
            b[16 + i * rows * cols + k] = (unsigned char)((i * 31 + k * 7) % 256);
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_bytes(path, b, 16 + body, strstr(name, ".gz") != NULL);
    free(b);
}

/* DIR/NAME: count labels, label i = i % modulus, label `bad_at` (if < count) = bad. */
static void write_labels(const char *dir, const char *name, uint32_t count, int modulus, uint32_t bad_at, int bad)
{
    unsigned char *b = malloc(8 + count);
    cr_assert_not_null(b);
    put_be32(b, 0x801);
    put_be32(b + 4, count);
    for (uint32_t i = 0; i < count; i++) b[8 + i] = (unsigned char)(i == bad_at ? bad : (int)(i % (uint32_t)modulus));
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_bytes(path, b, 8 + count, strstr(name, ".gz") != NULL);
    free(b);
}

typedef struct {
    char dir[256];
    char f[4][700];
    vp_idx_paths p;
} idx_set;

/* A valid set in a fresh folder: 50 train and 20 test images of 4 x 5, labels i % 7. */
static void idx_set_make(idx_set *s)
{
    char dir[sizeof s->dir]; /* a separate object: GCC's -Wrestrict sees s->dir and s->f as one */
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-dataset-");
    memcpy(s->dir, dir, sizeof dir);
    const char *names[4] = { "tr-img.gz", "tr-lab.gz", "te-img", "te-lab" };
    for (int i = 0; i < 4; i++) snprintf(s->f[i], sizeof s->f[i], "%s/%s", dir, names[i]);
    s->p = (vp_idx_paths){ s->f[0], s->f[1], s->f[2], s->f[3] };
    write_images(s->dir, names[0], 50, 4, 5);
    write_labels(s->dir, names[1], 50, 7, UINT32_MAX, 0);
    write_images(s->dir, names[2], 20, 4, 5);
    write_labels(s->dir, names[3], 20, 7, UINT32_MAX, 0);
}

/* Expect status st and a message naming `file` and holding `frag`; the dataset
 * left zeroed. */
static void expect_fail(vp_status got, vp_status st, const vp_dataset *d, const vp_err *err, const char *file,
                        const char *frag)
{
    cr_expect_eq(got, st, "status %d, want %d (%s)", (int)got, (int)st, got ? err->msg : "ok");
    if (!got) return;
    if (file) cr_expect_neq(strstr(err->msg, file), NULL, "message does not name %s: %s", file, err->msg);
    cr_expect_neq(strstr(err->msg, frag), NULL, "message lacks \"%s\": %s", frag, err->msg);
    if (d) cr_expect(!d->train.x64 && !d->train.x32 && !d->train.y && !d->test.y && d->train.n == 0);
}

Test(dataset_idx, loads_a_small_set)
{
    idx_set s;
    idx_set_make(&s);
    vp_dataset d;
    vp_err err;
    cr_assert_eq(vp_dataset_load_idx(&d, &s.p, 0, VP_F64, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(d.train.n, 50);
    cr_expect_eq(d.test.n, 20);
    cr_expect_eq(d.dim, 20);
    cr_expect_eq(d.classes, 7, "classes = 0: the largest training label + 1");
    for (size_t i = 0; i < 50; i++) cr_expect_eq(d.train.y[i], (int32_t)(i % 7));
    /* Pixel values back from the standardization, in file order. */
    for (size_t i = 0; i < 20; i++)
        for (size_t k = 0; k < 20; k++) {
            double want = (double)((i * 31 + k * 7) % 256);
            cr_expect_leq(fabs(d.test.x64[i * 20 + k] * d.std + d.mean - want), 1e-12, "test %zu,%zu", i, k);
        }
    double bytes;
    vp_dataset_spec spec = { .source = VP_DATA_IDX, .idx = s.p, .classes = 7 };
    cr_assert_eq(vp_dataset_check(&spec, VP_F32, &bytes, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(bytes, 70.0 * 20 * 4 + 70.0 * (20 + 4), "the floats, and at the peak the files' bytes and labels");
    /* gather: rows and labels by index, in the dataset's precision */
    const uint32_t idx[3] = { 49, 0, 7 };
    double x[3 * 20];
    int32_t y[3];
    vp_dataset_gather(&d, &d.train, idx, 3, x, y);
    for (int r = 0; r < 3; r++) {
        cr_expect_eq(memcmp(x + r * 20, d.train.x64 + idx[r] * 20, 20 * sizeof(double)), 0);
        cr_expect_eq(y[r], d.train.y[idx[r]]);
    }
    vp_dataset_free(&d);
    vp_dataset f;
    cr_assert_eq(vp_dataset_load(&f, &spec, VP_F32, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(f.classes, 7);
    float xf[3 * 20];
    vp_dataset_gather(&f, &f.test, idx + 1, 2, xf, NULL);
    cr_expect_eq(memcmp(xf, f.test.x32 + 0, 20 * sizeof(float)), 0);
    cr_expect_eq(memcmp(xf + 20, f.test.x32 + 7 * 20, 20 * sizeof(float)), 0);
    vp_dataset_free(&f);
    vt_rmtree(s.dir);
}

/* n_train, n_test (spec take_train, take_test): the first examples of each split, in file
 * order, standardized with the mean and population standard deviation of the training
 * examples taken (pixel (i, k) of the fixture is (31 i + 7 k) mod 256); the classes are
 * the whole training file's (labels i % 7: the first 3 examples hold only 0..2); the bytes
 * estimate counts the subset; more than a file holds is refused naming key and file. */
Test(dataset_idx, a_subset_is_the_first_examples)
{
    idx_set s;
    idx_set_make(&s);
    vp_dataset d;
    vp_err err;
    vp_dataset_spec spec = { .source = VP_DATA_IDX, .idx = s.p, .classes = 0, .take_train = 3, .take_test = 5 };
    double bytes;
    cr_assert_eq(vp_dataset_check(&spec, VP_F64, &bytes, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(bytes, 8.0 * 20 * 8 + 70.0 * (20 + 4), "the subset's doubles; the whole files are read to cut it");
    cr_assert_eq(vp_dataset_load(&d, &spec, VP_F64, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(d.train.n, 3);
    cr_expect_eq(d.test.n, 5);
    cr_expect_eq(d.classes, 7, "the classes of the whole training file");
    double m = 0, q = 0;
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 20; k++) m += (double)((i * 31 + k * 7) % 256);
    m /= 60;
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 20; k++) q += ((double)((i * 31 + k * 7) % 256) - m) * ((double)((i * 31 + k * 7) % 256) - m);
    double sd = sqrt(q / 60);
    cr_expect_leq(fabs(d.mean - m), 1e-12 * m, "mean of the 3 training examples: %.17g, want %.17g", d.mean, m);
    cr_expect_leq(fabs(d.std - sd), 1e-12 * sd, "std of the 3 training examples: %.17g, want %.17g", d.std, sd);
    for (size_t i = 0; i < 3; i++) {
        cr_expect_eq(d.train.y[i], (int32_t)i);
        for (size_t k = 0; k < 20; k++)
            cr_expect_leq(fabs(d.train.x64[i * 20 + k] - ((double)((i * 31 + k * 7) % 256) - m) / sd), 1e-12);
    }
    for (size_t i = 0; i < 5; i++) {
        cr_expect_eq(d.test.y[i], (int32_t)(i % 7));
        for (size_t k = 0; k < 20; k++)
            cr_expect_leq(fabs(d.test.x64[i * 20 + k] - ((double)((i * 31 + k * 7) % 256) - m) / sd), 1e-12);
    }
    vp_dataset_free(&d);
    /* the whole file: take 0 */
    spec.take_train = 50;
    spec.take_test = 0;
    cr_assert_eq(vp_dataset_load(&d, &spec, VP_F32, &err), VP_OK, "%s", err.msg);
    cr_expect(d.train.n == 50 && d.test.n == 20);
    vp_dataset_free(&d);
    spec.take_train = 51;
    expect_fail(vp_dataset_check(&spec, VP_F64, NULL, &err), VP_ERR_CONFIG, NULL, &err, s.f[0],
                "n_train is 51, more than the 50 examples");
    expect_fail(vp_dataset_load(&d, &spec, VP_F64, &err), VP_ERR_CONFIG, &d, &err, s.f[0], "allowed 1..50");
    spec.take_train = 0;
    spec.take_test = 21;
    expect_fail(vp_dataset_check(&spec, VP_F64, NULL, &err), VP_ERR_CONFIG, NULL, &err, s.f[2],
                "n_test is 21, more than the 20 examples");
    /* a test file of no images: said so, not "allowed 1..0" */
    write_images(s.dir, "te-img", 0, 4, 5);
    write_labels(s.dir, "te-lab", 0, 7, UINT32_MAX, 0);
    spec.take_test = 1;
    expect_fail(vp_dataset_check(&spec, VP_F64, NULL, &err), VP_ERR_CONFIG, NULL, &err, s.f[2], "holds no examples");
    vt_rmtree(s.dir);
}

Test(dataset_idx, damaged_and_missing_files_are_named)
{
    idx_set s;
    idx_set_make(&s);
    vp_dataset d;
    vp_err err;
    char path[800];
    /* Label count disagreeing with the images: both files named. */
    write_labels(s.dir, "tr-lab.gz", 49, 7, UINT32_MAX, 0);
    expect_fail(vp_dataset_load_idx(&d, &s.p, 7, VP_F64, &err), VP_ERR_DATA, &d, &err, s.f[1], "holds 49 labels");
    cr_expect_neq(strstr(err.msg, s.f[0]), NULL, "%s", err.msg);
    cr_expect_neq(strstr(err.msg, "50 images"), NULL, "%s", err.msg);
    write_labels(s.dir, "tr-lab.gz", 50, 7, UINT32_MAX, 0);
    /* Test images of another size. */
    write_images(s.dir, "te-img", 20, 5, 4);
    expect_fail(vp_dataset_load_idx(&d, &s.p, 7, VP_F64, &err), VP_ERR_DATA, &d, &err, s.f[2], "5 x 4");
    write_images(s.dir, "te-img", 20, 4, 5);
    /* A test label out of range (7 classes given; and 7 inferred from the training labels). */
    write_labels(s.dir, "te-lab", 20, 7, 13, 7);
    expect_fail(vp_dataset_load_idx(&d, &s.p, 7, VP_F64, &err), VP_ERR_DATA, &d, &err, s.f[3],
                "label 7 at index 13 is out of range");
    expect_fail(vp_dataset_load_idx(&d, &s.p, 0, VP_F64, &err), VP_ERR_DATA, &d, &err, s.f[3],
                "label 7 at index 13 is out of range");
    write_labels(s.dir, "te-lab", 20, 7, UINT32_MAX, 0);
    /* Every training label 0: not a classification. */
    write_labels(s.dir, "tr-lab.gz", 50, 1, UINT32_MAX, 0);
    expect_fail(vp_dataset_load_idx(&d, &s.p, 0, VP_F64, &err), VP_ERR_DATA, &d, &err, s.f[1], "at least 2 classes");
    write_labels(s.dir, "tr-lab.gz", 50, 7, UINT32_MAX, 0);
    /* Labels and images swapped. */
    vp_idx_paths sw = { s.f[1], s.f[0], s.f[2], s.f[3] };
    expect_fail(vp_dataset_load_idx(&d, &sw, 7, VP_F64, &err), VP_ERR_DATA, &d, &err, s.f[1], "label file");
    /* Damaged gzip data in the training images. */
    snprintf(path, sizeof path, "%s/tr-img.gz", s.dir);
    {
        size_t len;
        char *z = vt_slurp(path, &len);
        cr_assert_not_null(z);
        for (size_t i = 30; i + 8 < len; i += 5) z[i] ^= 0x5A;
        write_bytes(path, (unsigned char *)z, len, 0);
        free(z);
    }
    expect_fail(vp_dataset_load_idx(&d, &s.p, 7, VP_F64, &err), VP_ERR_DATA, &d, &err, s.f[0], "gzip error");
    write_images(s.dir, "tr-img.gz", 50, 4, 5);
    /* A missing file is reported before any data is read: with a training label out
     * of range (seen only by reading the labels, which come first) and the test labels
     * missing, the missing file is the error -- found from the headers alone. */
    write_labels(s.dir, "tr-lab.gz", 50, 7, 3, 9);
    expect_fail(vp_dataset_load_idx(&d, &s.p, 7, VP_F64, &err), VP_ERR_DATA, &d, &err, s.f[1], "label 9 at index 3");
    cr_assert_eq(unlink(s.f[3]), 0);
    expect_fail(vp_dataset_load_idx(&d, &s.p, 7, VP_F64, &err), VP_ERR_IO, &d, &err, s.f[3], "cannot open");
    vp_dataset_spec spec = { .source = VP_DATA_IDX, .idx = s.p, .classes = 7 };
    expect_fail(vp_dataset_check(&spec, VP_F64, NULL, &err), VP_ERR_IO, NULL, &err, s.f[3], "cannot open");
    /* A path not given, and a class count outside 0..256. */
    spec.idx.test_labels = NULL;
    expect_fail(vp_dataset_load(&d, &spec, VP_F64, &err), VP_ERR_CONFIG, &d, &err, NULL, "test_labels is not set");
    spec.idx.test_labels = s.f[3];
    spec.classes = 300;
    expect_fail(vp_dataset_check(&spec, VP_F64, NULL, &err), VP_ERR_CONFIG, NULL, &err, NULL, "300 classes");
    /* fashion-mnist in a folder without the files: the first file named. */
    snprintf(path, sizeof path, "%s/" VP_FASHION_MNIST_TRAIN_IMAGES, s.dir);
    expect_fail(vp_dataset_load_fashion_mnist(&d, s.dir, VP_F32, &err), VP_ERR_IO, &d, &err, path, "cannot open");
    vt_rmtree(s.dir);
}

/* ---------------------------------------------------------------- synthetic */

/* Accuracy on the test split of the nearest-centroid classifier fitted on the train split. */
static double nearest_centroid(const vp_dataset *d)
{
    size_t C = (size_t)d->classes, D = (size_t)d->dim;
    double *cen = calloc(C * D, sizeof *cen);
    size_t *cnt = calloc(C, sizeof *cnt);
    cr_assert(cen && cnt);
    for (size_t i = 0; i < d->train.n; i++) {
        size_t c = (size_t)d->train.y[i];
        cnt[c]++;
        for (size_t j = 0; j < D; j++) cen[c * D + j] += d->train.x64[i * D + j];
    }
    for (size_t c = 0; c < C; c++)
        for (size_t j = 0; j < D; j++) cen[c * D + j] /= (double)(cnt[c] ? cnt[c] : 1);
    size_t ok = 0;
    for (size_t i = 0; i < d->test.n; i++) {
        size_t best = 0;
        double bd = INFINITY;
        for (size_t c = 0; c < C; c++) {
            double s = 0;
            for (size_t j = 0; j < D; j++) {
                double t = d->test.x64[i * D + j] - cen[c * D + j];
                s += t * t;
            }
            if (s < bd) { bd = s; best = c; }
        }
        ok += best == (size_t)d->test.y[i];
    }
    free(cen);
    free(cnt);
    return (double)ok / (double)d->test.n;
}

Test(dataset_synth, clusters_are_separable_at_the_default_separation)
{
    for (uint64_t seed = 0; seed < 3; seed++) {
        vp_synth_spec sp = vp_synth_default(VP_SYNTH_CLUSTERS);
        sp.seed = seed;
        vp_dataset d;
        vp_err err;
        cr_assert_eq(vp_dataset_synthetic(&d, &sp, VP_F64, &err), VP_OK, "%s", err.msg);
        cr_expect_eq(d.train.n, 10000);
        cr_expect_eq(d.test.n, 2000);
        cr_expect_eq(d.dim, 32);
        cr_expect_eq(d.classes, 10);
        double acc = nearest_centroid(&d);
        cr_expect_gt(acc, 0.97, "seed %llu: nearest-centroid accuracy %.4f", (unsigned long long)seed, acc);
        /* Balanced labels; within-class noise N(0, 1): the per-class variance about
         * the class's sample mean, averaged over dimensions, is 1 within 5%. */
        size_t D = 32;
        for (int c = 0; c < 10; c++) {
            double mu[32] = { 0 }, v = 0;
            size_t n = 0;
            for (size_t i = (size_t)c; i < d.train.n; i += 10, n++) {
                cr_assert_eq(d.train.y[i], c);
                for (size_t j = 0; j < D; j++) mu[j] += d.train.x64[i * D + j];
            }
            for (size_t j = 0; j < D; j++) mu[j] /= (double)n;
            for (size_t i = (size_t)c; i < d.train.n; i += 10)
                for (size_t j = 0; j < D; j++) v += pow(d.train.x64[i * D + j] - mu[j], 2);
            v /= (double)(n * D);
            cr_expect_leq(fabs(v - 1), 0.05, "class %d within-class variance %g", c, v);
        }
        vp_dataset_free(&d);
    }
    /* Separation 0: every class has the same mean, so nothing beats chance by much. */
    vp_synth_spec sp = vp_synth_default(VP_SYNTH_CLUSTERS);
    sp.separation = 0;
    vp_dataset d;
    vp_err err;
    cr_assert_eq(vp_dataset_synthetic(&d, &sp, VP_F64, &err), VP_OK, "%s", err.msg);
    double acc = nearest_centroid(&d);
    cr_expect_lt(acc, 0.2, "separation 0: accuracy %.3f", acc);
    vp_dataset_free(&d);
}

Test(dataset_synth, teacher_labels)
{
    vp_synth_spec sp = vp_synth_default(VP_SYNTH_TEACHER);
    sp.seed = 7;
    vp_dataset d;
    vp_err err;
    cr_assert_eq(vp_dataset_synthetic(&d, &sp, VP_F64, &err), VP_OK, "%s", err.msg);
    /* Inputs N(0, I). */
    double m, s;
    moments(d.train.x64, NULL, d.train.n * 32, &m, &s);
    cr_expect_leq(fabs(m), 0.01, "input mean %g", m);
    cr_expect_leq(fabs(s - 1), 0.01, "input std %g", s);
    /* Every class is some input's argmax, none takes more than a third. */
    size_t per[10] = { 0 };
    for (size_t i = 0; i < d.train.n; i++) {
        cr_assert(d.train.y[i] >= 0 && d.train.y[i] < 10);
        per[d.train.y[i]]++;
    }
    for (int c = 0; c < 10; c++) cr_expect(per[c] > 100 && per[c] < 3333, "class %d: %zu of 10000", c, per[c]);
    /* A function of the input: the labels of a smooth network are mostly shared by
     * nearby inputs, so nearest-neighbour (train -> test) beats chance (0.1) by far. */
    size_t ok = 0;
    for (size_t i = 0; i < 500; i++) {
        size_t best = 0;
        double bd = INFINITY;
        for (size_t k = 0; k < d.train.n; k++) {
            double t = 0;
            for (size_t j = 0; j < 32; j++) t += pow(d.test.x64[i * 32 + j] - d.train.x64[k * 32 + j], 2);
            if (t < bd) { bd = t; best = k; }
        }
        ok += d.train.y[best] == d.test.y[i];
    }
    cr_expect_gt(ok, 150, "nearest-neighbour agreement %zu / 500", ok);
    vp_dataset_free(&d);
}

/* FNV-1a 64 of n bytes. */
static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t dataset_hash(const vp_dataset *d)
{
    size_t e = d->prec == VP_F32 ? sizeof(float) : sizeof(double);
    uint64_t h = 0xcbf29ce484222325ull;
    const vp_split *sp[2] = { &d->train, &d->test };
    for (int k = 0; k < 2; k++) {
        h = fnv(d->prec == VP_F32 ? (const void *)sp[k]->x32 : (const void *)sp[k]->x64, sp[k]->n * (size_t)d->dim * e, h);
        h = fnv(sp[k]->y, sp[k]->n * sizeof(int32_t), h);
    }
    return h;
}

Test(dataset_synth, same_seed_same_bytes)
{
    for (int kind = 0; kind < 2; kind++) {
        vp_synth_spec sp = vp_synth_default((vp_synth_kind)kind);
        sp.seed = 12345;
        sp.n_train = 1000;
        sp.n_test = 300;
        vp_dataset a, b, c, f, big;
        vp_err err;
        cr_assert_eq(vp_dataset_synthetic(&a, &sp, VP_F64, &err), VP_OK, "%s", err.msg);
        cr_assert_eq(vp_dataset_synthetic(&b, &sp, VP_F64, &err), VP_OK, "%s", err.msg);
        cr_expect_eq(dataset_hash(&a), dataset_hash(&b), "kind %d: same seed, same bytes", kind);
        cr_expect_eq(memcmp(a.train.x64, b.train.x64, 1000 * 32 * sizeof(double)), 0);
        sp.seed = 12346;
        cr_assert_eq(vp_dataset_synthetic(&c, &sp, VP_F64, &err), VP_OK, "%s", err.msg);
        cr_expect_neq(dataset_hash(&a), dataset_hash(&c), "kind %d: another seed, other data", kind);
        sp.seed = 12345;
        /* float32: the float64 values rounded once, the same labels. */
        cr_assert_eq(vp_dataset_synthetic(&f, &sp, VP_F32, &err), VP_OK, "%s", err.msg);
        for (size_t i = 0; i < 1000 * 32; i++) cr_assert_eq(f.train.x32[i], (float)a.train.x64[i], "value %zu", i);
        cr_expect_eq(memcmp(f.test.y, a.test.y, 300 * sizeof(int32_t)), 0);
        /* Counter-based: a larger set starts with the smaller one's examples. */
        sp.n_train = 3000;
        sp.n_test = 301;
        cr_assert_eq(vp_dataset_synthetic(&big, &sp, VP_F64, &err), VP_OK, "%s", err.msg);
        cr_expect_eq(memcmp(big.train.x64, a.train.x64, 1000 * 32 * sizeof(double)), 0);
        cr_expect_eq(memcmp(big.test.x64, a.test.x64, 300 * 32 * sizeof(double)), 0);
        cr_expect_eq(memcmp(big.train.y, a.train.y, 1000 * sizeof(int32_t)), 0);
        vp_dataset_free(&a);
        vp_dataset_free(&b);
        vp_dataset_free(&c);
        vp_dataset_free(&f);
        vp_dataset_free(&big);
    }
    /* The clusters' bytes are pinned (normal draws, products and sums; no tanh), so a
     * change of the generator or the recipe shows up here. */
    vp_synth_spec sp = vp_synth_default(VP_SYNTH_CLUSTERS);
    sp.seed = 1;
    sp.n_train = 200;
    sp.n_test = 50;
    vp_dataset a;
    vp_err err;
    cr_assert_eq(vp_dataset_synthetic(&a, &sp, VP_F64, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(dataset_hash(&a), UINT64_C(0xf67755f7b035658c), "pinned hash: %#llx", (unsigned long long)dataset_hash(&a));
    vp_dataset_free(&a);
}

Test(dataset_synth, bad_specs_name_the_parameter)
{
    vp_synth_spec sp;
    vp_dataset d;
    vp_err err;
#define BAD(kind, field, value, frag)                                                                     \
    do {                                                                                                  \
        sp = vp_synth_default(kind);                                                                      \
        sp.field = value;                                                                                 \
        expect_fail(vp_dataset_synthetic(&d, &sp, VP_F64, &err), VP_ERR_CONFIG, &d, &err, NULL, frag);   \
        vp_dataset_spec spec = { .source = VP_DATA_SYNTHETIC, .synth = sp };                              \
        expect_fail(vp_dataset_check(&spec, VP_F64, NULL, &err), VP_ERR_CONFIG, NULL, &err, NULL, frag);  \
    } while (0)
    BAD(VP_SYNTH_CLUSTERS, classes, 1, "classes is 1");
    BAD(VP_SYNTH_TEACHER, classes, 70000, "classes is 70000");
    BAD(VP_SYNTH_CLUSTERS, dim, 0, "dim is 0");
    BAD(VP_SYNTH_CLUSTERS, n_train, 0, "n_train 0");
    BAD(VP_SYNTH_CLUSTERS, n_test, (size_t)1 << 33, "n_test");
    BAD(VP_SYNTH_CLUSTERS, separation, -1, "separation is -1");
    BAD(VP_SYNTH_CLUSTERS, separation, NAN, "separation is nan");
    BAD(VP_SYNTH_TEACHER, hidden, 0, "hidden is 0");
#undef BAD
    /* n_test = 0 is allowed; the memory estimate counts both splits. */
    sp = vp_synth_default(VP_SYNTH_TEACHER);
    sp.n_test = 0;
    vp_dataset_spec spec = { .source = VP_DATA_SYNTHETIC, .synth = sp };
    double bytes;
    cr_assert_eq(vp_dataset_check(&spec, VP_F32, &bytes, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(bytes, 10000.0 * 32 * 4 + 10000.0 * 4);
    cr_assert_eq(vp_dataset_load(&d, &spec, VP_F32, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(d.test.n, 0);
    vp_dataset_free(&d);
}

/* ------------------------------------------------------ shuffle and batches */

static int is_permutation(const uint32_t *p, size_t n)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    cr_assert_not_null(seen);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        if (p[i] >= n || seen[p[i]]) ok = 0;
        else seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

Test(dataset_shuffle, permutations_that_differ_between_epochs)
{
    const size_t sizes[] = { 0, 1, 2, 3, 10, 1000, 60000 };
    vp_err err;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        uint32_t *p = malloc((n ? n : 1) * sizeof *p), *q = malloc((n ? n : 1) * sizeof *q);
        cr_assert(p && q);
        for (uint32_t e = 0; e < 4; e++) {
            cr_assert_eq(vp_shuffle(99, e, n, p, &err), VP_OK, "%s", err.msg);
            cr_expect(is_permutation(p, n), "n %zu epoch %u: not a permutation", n, e);
            if (n >= 10 && e > 0) cr_expect_neq(memcmp(p, q, n * sizeof *p), 0, "n %zu: epochs %u and %u equal", n, e - 1, e);
            memcpy(q, p, n * sizeof *p);
        }
        free(p);
        free(q);
    }
    /* Ten epochs of 1000: pairwise different, and different from the identity and for another seed. */
    uint32_t (*ep)[1000] = malloc(11 * sizeof *ep);
    cr_assert_not_null(ep);
    for (uint32_t e = 0; e < 10; e++) cr_assert_eq(vp_shuffle(5, e, 1000, ep[e], &err), VP_OK);
    for (int a = 0; a < 10; a++)
        for (int b = a + 1; b < 10; b++) cr_expect_neq(memcmp(ep[a], ep[b], sizeof ep[a]), 0, "epochs %d %d", a, b);
    cr_assert_eq(vp_shuffle(6, 0, 1000, ep[10], &err), VP_OK);
    cr_expect_neq(memcmp(ep[0], ep[10], sizeof ep[0]), 0, "seeds 5 and 6");
    size_t fixed = 0;
    for (uint32_t i = 0; i < 1000; i++) fixed += ep[0][i] == i;
    cr_expect_lt(fixed, 10, "%zu fixed points (a uniform permutation has ~1)", fixed);
    /* Same (seed, epoch): the same bytes, in whatever order the epochs are asked for. */
    uint32_t again[1000];
    for (int e = 9; e >= 0; e--) {
        cr_assert_eq(vp_shuffle(5, (uint32_t)e, 1000, again, &err), VP_OK);
        cr_expect_eq(memcmp(again, ep[e], sizeof again), 0, "epoch %d recomputed", e);
    }
    free(ep);
    /* Pinned: the stream of (seed 42, epoch 3) never changes. */
    uint32_t pin[1000];
    cr_assert_eq(vp_shuffle(42, 3, 1000, pin, &err), VP_OK);
    cr_expect_eq(fnv(pin, sizeof pin, 0xcbf29ce484222325ull), UINT64_C(0x997b5e62a8d57181), "pinned hash %#llx",
                 (unsigned long long)fnv(pin, sizeof pin, 0xcbf29ce484222325ull));
    /* Limits. */
    cr_expect_eq(vp_shuffle(1, VP_SHUFFLE_MAX_EPOCH + 1, 3, pin, &err), VP_ERR_USAGE);
    cr_expect_neq(strstr(err.msg, "epoch"), NULL, "%s", err.msg);
    cr_expect_eq(vp_shuffle(1, VP_SHUFFLE_MAX_EPOCH, 3, pin, &err), VP_OK);
}

/* Unbiased: over 20,000 epochs of n = 10, where element 0 lands (and what lands
 * in position 9) is uniform -- chi-square with 9 degrees of freedom below 27.9
 * (p = 0.001; the draws are fixed by the seed, so the test is deterministic). */
Test(dataset_shuffle, uniform_positions)
{
    size_t where0[10] = { 0 }, last[10] = { 0 };
    uint32_t p[10];
    vp_err err;
    const uint32_t epochs = 20000;
    for (uint32_t e = 0; e < epochs; e++) {
        cr_assert_eq(vp_shuffle(2024, e, 10, p, &err), VP_OK);
        for (int i = 0; i < 10; i++)
            if (p[i] == 0) where0[i]++;
        last[p[9]]++;
    }
    double c0 = 0, c9 = 0, want = epochs / 10.0;
    for (int i = 0; i < 10; i++) {
        c0 += pow((double)where0[i] - want, 2) / want;
        c9 += pow((double)last[i] - want, 2) / want;
    }
    cr_expect_lt(c0, 27.9, "position of element 0: chi2 %.2f", c0);
    cr_expect_lt(c9, 27.9, "element at position 9: chi2 %.2f", c9);
}

typedef struct {
    uint32_t first, step;
    uint32_t (*out)[777];
} shuffle_job;

static void *shuffle_thread(void *arg)
{
    shuffle_job *j = arg;
    vp_err err;
    for (uint32_t e = j->first; e < 16; e += j->step) vp_shuffle(314, e, 777, j->out[e], &err);
    return NULL;
}

/* The order of an epoch does not depend on which thread computes it, or how many. */
Test(dataset_shuffle, independent_of_threads)
{
    uint32_t (*serial)[777] = malloc(16 * sizeof *serial), (*par)[777] = malloc(16 * sizeof *par);
    cr_assert(serial && par);
    shuffle_job one = { 0, 1, serial };
    shuffle_thread(&one);
    pthread_t t[4];
    shuffle_job jobs[4];
    for (uint32_t i = 0; i < 4; i++) {
        jobs[i] = (shuffle_job){ 3 - i, 4, par }; /* epochs in another order, 4 at a time */
        cr_assert_eq(pthread_create(&t[i], NULL, shuffle_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    cr_expect_eq(memcmp(serial, par, 16 * sizeof *serial), 0);
    free(serial);
    free(par);
}

Test(dataset_batches, last_partial_batch_is_kept)
{
    vp_batches b;
    vp_err err;
    const uint32_t *idx;
    cr_assert_eq(vp_batches_init(&b, 10, 4, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(vp_batches_count(&b), 3);
    cr_expect_eq(vp_batches_next(&b, &idx), 0, "no batch before an epoch starts");
    cr_assert_eq(vp_batches_epoch(&b, 8, 2, &err), VP_OK);
    uint32_t perm[10];
    cr_assert_eq(vp_shuffle(8, 2, 10, perm, &err), VP_OK);
    const size_t want[3] = { 4, 4, 2 };
    size_t seen = 0;
    for (int k = 0; k < 3; k++) {
        size_t m = vp_batches_next(&b, &idx);
        cr_expect_eq(m, want[k], "batch %d size %zu", k, m);
        cr_expect_eq(memcmp(idx, perm + seen, m * sizeof *idx), 0, "batch %d = the next slice of the order", k);
        const uint32_t *at;
        cr_expect_eq(vp_batches_at(&b, (size_t)k, &at), m);
        cr_expect_eq(at, idx);
        seen += m;
    }
    cr_expect_eq(vp_batches_next(&b, &idx), 0, "epoch done");
    cr_expect_null(idx);
    /* Resume mid-epoch: set next. */
    b.next = 2;
    cr_expect_eq(vp_batches_next(&b, &idx), 2);
    cr_expect_eq(idx, b.perm + 8);
    /* A new epoch: another order, from the start. */
    cr_assert_eq(vp_batches_epoch(&b, 8, 3, &err), VP_OK);
    cr_expect_eq(b.next, 0);
    cr_expect(is_permutation(b.perm, 10));
    vp_batches_free(&b);
    vp_batches_free(&b); /* twice: harmless */
    /* Exact multiples, a batch larger than the set, an empty set. */
    const size_t cases[][3] = { { 8, 4, 2 }, { 5, 128, 1 }, { 0, 3, 0 }, { 60000, 128, 469 }, { 7, 1, 7 } };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cr_assert_eq(vp_batches_init(&b, cases[c][0], cases[c][1], &err), VP_OK);
        cr_assert_eq(vp_batches_epoch(&b, 1, 0, &err), VP_OK);
        cr_expect_eq(vp_batches_count(&b), cases[c][2], "n %zu batch %zu", cases[c][0], cases[c][1]);
        size_t total = 0, m, k = 0;
        while ((m = vp_batches_next(&b, &idx))) {
            total += m;
            cr_expect(m == cases[c][1] || (k == cases[c][2] - 1 && m == cases[c][0] % cases[c][1]));
            k++;
        }
        cr_expect_eq(total, cases[c][0]);
        vp_batches_free(&b);
    }
    cr_expect_eq(vp_batches_init(&b, 10, 0, &err), VP_ERR_USAGE);
    cr_expect_null(b.perm);
}
