/* Tests of IDX loading (src/core/data.c) and standardization. Malformed buffers are
 * heap-allocated with their exact length, so an out-of-bounds read shows up
 * under `make sanitize` (ASan). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include "core/data.h"
#include "core/rng.h"
#include "harness.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist/"
#define FASHION FASHION_DIR "train-images-idx3-ubyte.gz"

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX image file: header (magic, count, rows, cols) then `body` bytes with
 * value (i * 7 + 3) % 256; the buffer is exactly 16 + body bytes long. */
static unsigned char *make_idx(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols, size_t body, size_t *len)
{
    *len = 16 + body;
    unsigned char *b = malloc(*len);
    cr_assert_not_null(b);
    put_be32(b, magic);
    put_be32(b + 4, count);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (size_t i = 0; i < body; i++) b[16 + i] = (unsigned char)((i * 7 + 3) % 256);
    return b;
}

/* Expect VP_ERR_DATA, *out left NULL, and a message holding `frag` and the name. */
static void expect_data_error(const unsigned char *buf, size_t len, int want, const char *frag)
{
    double *out = (double *)(uintptr_t)1;
    int dim = -7;
    vp_err err;
    err.msg[0] = '\0';
    vp_status s = vp_idx_parse(buf, len, "t.idx", want, &out, &dim, &err);
    cr_expect_eq(s, VP_ERR_DATA, "status %d for %s", s, frag);
    cr_expect_null(out, "no output on error (%s)", frag);
    cr_expect_neq(strstr(err.msg, frag), NULL, "message \"%s\" should mention \"%s\"", err.msg, frag);
    cr_expect_neq(strstr(err.msg, "t.idx"), NULL, "message \"%s\" should name the file", err.msg);
    if (s == VP_OK) free(out);
}

Test(data_idx, parses_a_correct_file)
{
    size_t len;
    unsigned char *b = make_idx(0x803, 3, 2, 3, 18, &len);
    double *x;
    int dim;
    vp_err err;
    cr_assert_eq(vp_idx_parse(b, len, "t.idx", 3, &x, &dim, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(dim, 6);
    for (int i = 0; i < 18; i++) cr_expect_eq(x[i], (double)((i * 7 + 3) % 256), "pixel %d", i);
    free(x);
    /* Fewer images than the file holds: the first ones. */
    cr_assert_eq(vp_idx_parse(b, len, "t.idx", 2, &x, &dim, &err), VP_OK, "%s", err.msg);
    for (int i = 0; i < 12; i++) cr_expect_eq(x[i], (double)((i * 7 + 3) % 256));
    free(x);
    /* Zero images asked for: a valid empty result. */
    cr_assert_eq(vp_idx_parse(b, len, "t.idx", 0, &x, &dim, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(dim, 6);
    free(x);
    free(b);
    /* Bytes 0 and 255 map to 0.0 and 255.0 (unsigned). */
    unsigned char *c = make_idx(0x803, 1, 1, 2, 2, &len);
    c[16] = 0;
    c[17] = 255;
    cr_assert_eq(vp_idx_parse(c, len, "t.idx", 1, &x, &dim, &err), VP_OK);
    cr_expect_eq(x[0], 0.0);
    cr_expect_eq(x[1], 255.0);
    free(x);
    free(c);
}

Test(data_idx, malformed_buffers)
{
    size_t len;
    unsigned char *b;
    /* Wrong magic: an IDX label file (0x801) and garbage. */
    b = make_idx(0x801, 3, 2, 3, 18, &len);
    expect_data_error(b, len, 1, "magic");
    free(b);
    b = make_idx(0x1f8b0800, 3, 2, 3, 18, &len); /* a gzip stream handed to the parser */
    expect_data_error(b, len, 1, "magic");
    free(b);
    /* Truncated header: 0, 4 and 15 bytes. */
    const size_t short_lens[3] = { 0, 4, 15 };
    for (int i = 0; i < 3; i++) {
        unsigned char *h = make_idx(0x803, 1, 1, 1, 1, &len);
        unsigned char *t = malloc(short_lens[i] ? short_lens[i] : 1);
        cr_assert_not_null(t);
        memcpy(t, h, short_lens[i]);
        expect_data_error(t, short_lens[i], 1, "header");
        free(t);
        free(h);
    }
    /* Truncated data: 3 images of 6 bytes declared, 17 present. */
    b = make_idx(0x803, 3, 2, 3, 17, &len);
    expect_data_error(b, len, 1, "truncated");
    free(b);
    /* Trailing bytes: 19 present. */
    b = make_idx(0x803, 3, 2, 3, 19, &len);
    expect_data_error(b, len, 1, "disagree");
    free(b);
    /* Image sizes whose product overflows 32 bits, or is zero. */
    b = make_idx(0x803, 1, 65536, 65536, 4, &len);
    expect_data_error(b, len, 1, "image size");
    free(b);
    b = make_idx(0x803, 1, 0xffffffffu, 2, 4, &len);
    expect_data_error(b, len, 1, "image size");
    free(b);
    b = make_idx(0x803, 1, 0, 28, 4, &len);
    expect_data_error(b, len, 1, "image size");
    free(b);
    /* A count whose byte total overflows 32 bits (2^32 - 1 images of 784 bytes)
     * with a tiny body: must be refused as truncated, never read. */
    b = make_idx(0x803, 0xffffffffu, 28, 28, 784, &len);
    expect_data_error(b, len, 1, "truncated");
    free(b);
    /* want > count, and negative want. */
    b = make_idx(0x803, 3, 2, 3, 18, &len);
    expect_data_error(b, len, 4, "requested");
    expect_data_error(b, len, -1, "requested");
    free(b);
}

/* mkdtemp directory for files written by a test. */
static void temp_dir(char *buf, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, len, "%s/vp_data_XXXXXX", base && base[0] ? base : "/tmp");
    cr_assert_not_null(mkdtemp(buf), "mkdtemp %s", buf);
}

static void write_gz(const char *path, const unsigned char *buf, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    cr_assert_not_null(gz, "gzopen %s", path);
    cr_assert_eq(gzwrite(gz, buf, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(gz), Z_OK);
}

static void write_plain(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

Test(data_idx, load_gzip_plain_missing_and_corrupt)
{
    char dir[512], gzp[600], plain[600], cut[600], bad[600], missing[600];
    temp_dir(dir, sizeof dir);
    snprintf(gzp, sizeof gzp, "%s/imgs.idx3.gz", dir);
    snprintf(plain, sizeof plain, "%s/imgs.idx3", dir);
    snprintf(cut, sizeof cut, "%s/cut.gz", dir);
    snprintf(bad, sizeof bad, "%s/trailing.gz", dir);
    snprintf(missing, sizeof missing, "%s/does-not-exist.gz", dir);
    size_t len;
    unsigned char *b = make_idx(0x803, 50, 4, 5, 1000, &len);
    write_gz(gzp, b, len);
    write_plain(plain, b, len);
    double *x;
    int dim;
    vp_err err;
    /* gzip and plain files load the same pixels. */
    const char *paths[2] = { gzp, plain };
    for (int p = 0; p < 2; p++) {
        cr_assert_eq(vp_idx_load(paths[p], 10, &x, &dim, &err), VP_OK, "%s: %s", paths[p], err.msg);
        cr_expect_eq(dim, 20);
        for (int i = 0; i < 200; i++) cr_expect_eq(x[i], (double)b[16 + i], "%s pixel %d", paths[p], i);
        free(x);
    }
    cr_expect_eq(vp_idx_load(gzp, 51, &x, &dim, &err), VP_ERR_DATA, "more images than the file holds");
    cr_expect_null(x);
    cr_expect_neq(strstr(err.msg, "requested"), NULL, "%s", err.msg);
    /* Missing file: an error naming the path (and nothing allocated). */
    x = (double *)(uintptr_t)1;
    vp_status s = vp_idx_load(missing, 1, &x, &dim, &err);
    cr_expect_neq(s, VP_OK);
    cr_expect_null(x);
    cr_expect_neq(strstr(err.msg, missing), NULL, "%s", err.msg);
    /* Trailing data after the declared images (inside the gzip stream). */
    unsigned char *t = make_idx(0x803, 50, 4, 5, 1001, &len);
    write_gz(bad, t, len);
    cr_expect_eq(vp_idx_load(bad, 1, &x, &dim, &err), VP_ERR_DATA);
    cr_expect_neq(strstr(err.msg, "disagree"), NULL, "%s", err.msg);
    free(t);
    /* A header declaring 3 GiB of images over a 1000-byte body: refused as truncated
     * (from the file's size: see header_beyond_the_gzip_limit_is_refused_up_front). */
    {
        char big[640];
        snprintf(big, sizeof big, "%s/declares-3gib.gz", dir);
        unsigned char *h = make_idx(0x803, 4000000, 28, 28, 1000, &len);
        write_gz(big, h, len);
        x = (double *)(uintptr_t)1;
        cr_expect_eq(vp_idx_load(big, 1, &x, &dim, &err), VP_ERR_DATA);
        cr_expect_null(x);
        cr_expect_neq(strstr(err.msg, "truncated"), NULL, "%s", err.msg);
        free(h);
        unlink(big);
    }
    /* A gzip file cut in the middle of the compressed stream. */
    {
        FILE *f = fopen(gzp, "rb");
        cr_assert_not_null(f);
        unsigned char whole[4096];
        size_t n = fread(whole, 1, sizeof whole, f);
        fclose(f);
        cr_assert_gt(n, 40);
        write_plain(cut, whole, n / 2);
    }
    s = vp_idx_load(cut, 1, &x, &dim, &err);
    cr_expect_eq(s, VP_ERR_DATA, "cut gzip: status %d (%s)", s, err.msg);
    cr_expect_null(x);
    cr_expect_neq(strstr(err.msg, cut), NULL, "message names the file: %s", err.msg);
    free(b);
    unlink(gzp);
    unlink(plain);
    unlink(cut);
    unlink(bad);
    rmdir(dir);
}

Test(data_idx, fashion_mnist_installed, .timeout = 60)
{
    /* Installed by `make deps` (Debian dataset-fashion-mnist): required, not optional. */
    cr_assert_eq(access(FASHION, R_OK), 0, "%s is missing: run make deps", FASHION);
    double *x;
    int dim;
    vp_err err;
    cr_assert_eq(vp_idx_load(FASHION, 100, &x, &dim, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(dim, 784);
    double sum = 0;
    for (int i = 0; i < 100 * 784; i++) {
        cr_assert(x[i] >= 0 && x[i] <= 255 && x[i] == floor(x[i]), "pixel %d = %g", i, x[i]);
        sum += x[i];
    }
    /* Fashion-MNIST's mean pixel is 72.9 (over 60000 images); 100 images are
     * within a wide band of it, and certainly neither blank nor saturated. */
    double mean = sum / (100.0 * 784);
    cr_expect(mean > 30 && mean < 120, "mean pixel %g", mean);
    free(x);
}

Test(data_std, standardize)
{
    /* Mean 0 and population variance 1 to rounding (1e-12), for data with a large
     * offset (mean 1e4, sd 3: two-pass centring keeps full precision). */
    const size_t n = 10001;
    double *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    vp_rng r = vp_rng_make(1, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&r, 0, x, n);
    for (size_t i = 0; i < n; i++) x[i] = 1e4 + 3 * x[i];
    vp_standardize(x, n);
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    v /= (double)n;
    cr_expect_leq(fabs(m), 1e-12, "mean %g", m);
    cr_expect_leq(fabs(v - 1), 1e-12, "variance %.15g", v);
    /* A constant block is only centred (no division by zero, no NaN). */
    double c[5] = { 7, 7, 7, 7, 7 };
    vp_standardize(c, 5);
    for (int i = 0; i < 5; i++) cr_expect_eq(c[i], 0.0);
    double one = 3.5;
    vp_standardize(&one, 1);
    cr_expect_eq(one, 0.0);
    vp_standardize(NULL, 0);
    free(x);
}

/* Peak resident memory of this process in KiB (Criterion runs each test in its own
 * process, so the peak is this test's). */
static long peak_rss_kib(void)
{
    struct rusage ru;
    cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

/* Issue 11: a small .gz whose header declares many images (here 200,000 blank
 * 28 x 28 images: 157 MB inflated, a few hundred KB on disk) costs only the images
 * asked for: the reader keeps `want` images and streams past the rest (still
 * checking that the file holds exactly what its header declares). */
Test(data_idx, streams_past_unwanted_images, .timeout = 60)
{
    char dir[512], path[600];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/many-blank.idx3.gz", dir);
    const uint32_t count = 200000, side = 28;
    unsigned char head[16];
    put_be32(head, 0x803);
    put_be32(head + 4, count);
    put_be32(head + 8, side);
    put_be32(head + 12, side);
    gzFile gz = gzopen(path, "wb1");
    cr_assert_not_null(gz);
    cr_assert_eq(gzwrite(gz, head, 16), 16);
    const size_t chunk = (size_t)side * side * 1000;
    unsigned char *zeros = calloc(chunk, 1);
    cr_assert_not_null(zeros);
    zeros[0] = 9; /* first pixel of image 0, checked below */
    for (uint32_t i = 0; i < count / 1000; i++) {
        cr_assert_eq(gzwrite(gz, zeros, (unsigned)chunk), (int)chunk);
        zeros[0] = 0;
    }
    cr_assert_eq(gzclose(gz), Z_OK);
    free(zeros);

    long before = peak_rss_kib();
    double *x;
    int dim;
    vp_err err;
    cr_assert_eq(vp_idx_load(path, 8, &x, &dim, &err), VP_OK, "%s", err.msg);
    long grew = peak_rss_kib() - before;
    cr_expect_eq(dim, 784);
    cr_expect_eq(x[0], 9.0);
    cr_expect_eq(x[8 * 784 - 1], 0.0);
    free(x);
    /* 157 MB declared; the 8 images are 50 KB (as doubles): allow 16 MiB of slack
     * for zlib's window and the reader's scratch buffer. */
    cr_expect_lt(grew, 16 * 1024, "peak memory grew by %ld KiB reading 8 images of a 157 MB file", grew);
    unlink(path);
    rmdir(dir);
}

/* A gzip file cannot inflate to more than 1032 times its size (deflate's limit), so a
 * header declaring more than that is refused from the header and the file size alone:
 * immediately, without inflating anything. */
Test(data_idx, header_beyond_the_gzip_limit_is_refused_up_front)
{
    char dir[512], path[600];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/declares-too-much.gz", dir);
    size_t len;
    unsigned char *h = make_idx(0x803, 4000000, 28, 28, 1000, &len);
    write_gz(path, h, len);
    free(h);
    double *x = (double *)(uintptr_t)1;
    int dim;
    vp_err err;
    cr_expect_eq(vp_idx_load(path, 1, &x, &dim, &err), VP_ERR_DATA);
    cr_expect_null(x);
    cr_expect_neq(strstr(err.msg, path), NULL, "%s", err.msg);
    cr_expect_neq(strstr(err.msg, "truncated"), NULL, "%s", err.msg);
    cr_expect_neq(strstr(err.msg, "at most"), NULL, "the gzip limit is named: %s", err.msg);
    unlink(path);
    rmdir(dir);
}

/* ------------------------------------------------------------------ labels */

/* An IDX label file: magic, count, then `body` bytes i % 10 (exact length). */
static unsigned char *make_labels(uint32_t magic, uint32_t count, size_t body, size_t *len)
{
    *len = 8 + body;
    unsigned char *b = malloc(*len);
    cr_assert_not_null(b);
    put_be32(b, magic);
    put_be32(b + 4, count);
    for (size_t i = 0; i < body; i++) b[8 + i] = (unsigned char)(i % 10);
    return b;
}

Test(data_labels, reads_gzip_and_plain)
{
    char dir[512], gzp[600], plain[600];
    temp_dir(dir, sizeof dir);
    snprintf(gzp, sizeof gzp, "%s/labels.idx1.gz", dir);
    snprintf(plain, sizeof plain, "%s/labels.idx1", dir);
    size_t len;
    unsigned char *b = make_labels(0x801, 257, 257, &len);
    b[8 + 3] = 9;
    write_gz(gzp, b, len);
    write_plain(plain, b, len);
    const char *paths[2] = { gzp, plain };
    vp_err err;
    for (int p = 0; p < 2; p++) {
        int32_t *y;
        size_t n;
        cr_assert_eq(vp_idx_load_labels(paths[p], 10, &y, &n, &err), VP_OK, "%s", err.msg);
        cr_expect_eq(n, 257);
        for (size_t i = 0; i < n; i++) cr_expect_eq(y[i], (int32_t)b[8 + i], "%s label %zu", paths[p], i);
        free(y);
        vp_idx_info info;
        cr_assert_eq(vp_idx_peek(paths[p], VP_IDX_LABELS, &info, &err), VP_OK, "%s", err.msg);
        cr_expect_eq(info.kind, VP_IDX_LABELS);
        cr_expect_eq(info.count, 257);
        cr_expect_eq(info.rows * info.cols, 1);
    }
    /* The smallest class count that holds them all: 10; 9 refuses the first 9. */
    int32_t *y = (int32_t *)(uintptr_t)1;
    size_t n = 7;
    cr_expect_eq(vp_idx_load_labels(gzp, 9, &y, &n, &err), VP_ERR_DATA);
    cr_expect_null(y);
    cr_expect_eq(n, 0);
    cr_expect_neq(strstr(err.msg, "label 9 at index 3 is out of range: 9 classes (labels 0..8)"), NULL, "%s", err.msg);
    /* classes = 0: any byte is a label. */
    b[8 + 100] = 255;
    write_plain(plain, b, len);
    cr_assert_eq(vp_idx_load_labels(plain, 0, &y, &n, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(y[100], 255);
    free(y);
    cr_expect_eq(vp_idx_load_labels(plain, 256, &y, &n, &err), VP_OK, "%s", err.msg);
    free(y);
    /* Class counts outside 0..256 are the caller's mistake. */
    cr_expect_eq(vp_idx_load_labels(plain, 257, &y, &n, &err), VP_ERR_USAGE);
    cr_expect_eq(vp_idx_load_labels(plain, -1, &y, &n, &err), VP_ERR_USAGE);
    cr_expect_null(y);
    /* An empty label file is valid (0 labels). */
    free(b);
    b = make_labels(0x801, 0, 0, &len);
    write_gz(gzp, b, len);
    cr_assert_eq(vp_idx_load_labels(gzp, 10, &y, &n, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(n, 0);
    free(y);
    /* A missing file: VP_ERR_IO naming it. */
    char missing[640];
    snprintf(missing, sizeof missing, "%s/nope.idx1.gz", dir);
    cr_expect_eq(vp_idx_load_labels(missing, 10, &y, &n, &err), VP_ERR_IO);
    cr_expect_neq(strstr(err.msg, missing), NULL, "%s", err.msg);
    /* Images where labels belong, and labels where images belong: the message says which. */
    double *x;
    int dim;
    cr_expect_eq(vp_idx_load(plain, 1, &x, &dim, &err), VP_ERR_DATA);
    cr_expect_neq(strstr(err.msg, "label file, not images"), NULL, "%s", err.msg);
    free(b);
    unlink(gzp);
    unlink(plain);
    rmdir(dir);
}

/* tests/corpus/labels/NAME.idx1[.gz] + NAME.expect (tests/corpus/make_label_corpus.py):
 * each damaged label file is VP_ERR_DATA from vp_idx_load_labels(path, 10, ...), with
 * nothing returned and a message naming the file and holding every fragment. */
Test(data_labels, damaged_label_corpus)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tests/corpus/labels", vt_root());
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    int cases = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *dot = strstr(e->d_name, ".idx1");
        if (!dot) continue;
        char path[1200], exp[1200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(exp, sizeof exp, "%s/%.*s.expect", dir, (int)(dot - e->d_name), e->d_name);
        char *text = vt_slurp(exp, NULL);
        cr_assert_not_null(text, "%s has no .expect", e->d_name);
        int32_t *y = (int32_t *)(uintptr_t)1;
        size_t n = 7;
        vp_err err;
        vp_status s = vp_idx_load_labels(path, 10, &y, &n, &err);
        cr_expect_eq(s, VP_ERR_DATA, "%s: status %d (%s)", e->d_name, (int)s, s ? err.msg : "ok");
        cr_expect_null(y, "%s: no labels on failure", e->d_name);
        cr_expect_eq(n, 0, "%s", e->d_name);
        if (s == VP_OK) free(y);
        cr_expect_neq(strstr(err.msg, path), NULL, "%s: message does not name the file: %s", e->d_name, err.msg);
        int frags = 0;
        char *save = NULL;
        strtok_r(text, "\n", &save); /* the exit code */
        for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save), frags++)
            cr_expect_neq(strstr(err.msg, line), NULL, "%s: message lacks \"%s\": %s", e->d_name, line, err.msg);
        cr_expect_gt(frags, 0, "%s names no fragment", e->d_name);
        free(text);
        cases++;
    }
    closedir(d);
    cr_expect_geq(cases, 14, "only %d label corpus cases", cases);
}

/* The real files: 60,000 and 10,000 labels, 10 classes, each class exactly a tenth
 * (Fashion-MNIST is balanced). */
Test(data_labels, fashion_mnist_labels, .timeout = 60)
{
    const char *files[2] = { FASHION_DIR "train-labels-idx1-ubyte.gz", FASHION_DIR "t10k-labels-idx1-ubyte.gz" };
    const size_t sizes[2] = { 60000, 10000 };
    for (int f = 0; f < 2; f++) {
        int32_t *y;
        size_t n;
        vp_err err;
        cr_assert_eq(vp_idx_load_labels(files[f], 10, &y, &n, &err), VP_OK, "%s", err.msg);
        cr_expect_eq(n, sizes[f]);
        size_t per[10] = { 0 };
        for (size_t i = 0; i < n; i++) per[y[i]]++;
        for (int c = 0; c < 10; c++) cr_expect_eq(per[c], sizes[f] / 10, "%s class %d: %zu", files[f], c, per[c]);
        free(y);
    }
}
