/* data: see data.h. */
#include "core/data.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_U8_1D 0x00000801u
#define IDX_MAGIC_U8_3D 0x00000803u
#define IDX_HEADER_MAX 16
/* Deflate's maximum expansion (zlib FAQ: "the limit is 1032:1"): 258 bytes per
 * 2-bit match at best; gzip headers and block headers only lower it. */
#define GZIP_MAX_RATIO 1032u
#define SKIP_CHUNK (64u << 10)

/* A checked IDX header. */
typedef struct {
    vp_idx_info info;
    size_t head;       /* header bytes: 4 + 4 * dimensions */
    uint64_t item;     /* bytes per item */
    uint64_t declared; /* count * item: the data bytes the header promises */
} idx_header;

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static size_t header_len(vp_idx_kind kind) { return kind == VP_IDX_IMAGES ? 16 : 8; }

/* "3 images of 28 x 28" / "3 labels", for messages. */
static const char *describe(const idx_header *h, char *buf, size_t len)
{
    if (h->info.kind == VP_IDX_IMAGES)
        snprintf(buf, len, "%u images of %u x %u", h->info.count, h->info.rows, h->info.cols);
    else
        snprintf(buf, len, "%u labels", h->info.count);
    return buf;
}

/* Magic and sizes of an IDX header of `kind` in buf[0, len). */
static vp_status check_header(const unsigned char *buf, size_t len, const char *name, vp_idx_kind kind,
                              idx_header *h, vp_err *err)
{
    memset(h, 0, sizeof *h);
    h->info.kind = kind;
    h->head = header_len(kind);
    if (len < h->head)
        return vp_fail(err, VP_ERR_DATA, "%s: truncated IDX header (%zu bytes, need %zu)", name, len, h->head);
    uint32_t magic = be32(buf);
    uint32_t want = kind == VP_IDX_IMAGES ? IDX_MAGIC_U8_3D : IDX_MAGIC_U8_1D;
    uint32_t other = kind == VP_IDX_IMAGES ? IDX_MAGIC_U8_1D : IDX_MAGIC_U8_3D;
    if (magic != want)
        return vp_fail(err, VP_ERR_DATA, "%s: wrong IDX magic 0x%08x (expected 0x%08x: unsigned bytes, %s)%s", name,
                       magic, want, kind == VP_IDX_IMAGES ? "3 dimensions" : "1 dimension",
                       magic != other ? ""
                       : kind == VP_IDX_IMAGES ? ": this is an IDX label file, not images"
                                               : ": this is an IDX image file, not labels");
    h->info.count = be32(buf + 4);
    h->info.rows = h->info.cols = 1;
    if (kind == VP_IDX_IMAGES) {
        uint32_t rows = be32(buf + 8), cols = be32(buf + 12);
        if (rows == 0 || cols == 0 || (uint64_t)rows * cols > (1u << 24))
            return vp_fail(err, VP_ERR_DATA, "%s: implausible image size %u x %u in the header", name, rows, cols);
        h->info.rows = rows;
        h->info.cols = cols;
    }
    h->item = (uint64_t)h->info.rows * h->info.cols;
    h->declared = (uint64_t)h->info.count * h->item; /* < 2^56 */
    return VP_OK;
}

/* The data holds `have` bytes where the header declares h->declared. */
static vp_status size_mismatch(const char *name, const idx_header *h, uint64_t have, vp_err *err)
{
    char what[96];
    return vp_fail(err, VP_ERR_DATA, "%s: %s: the header declares %s (%llu bytes) but the data holds %llu bytes", name,
                   have < h->declared ? "truncated" : "sizes disagree", describe(h, what, sizeof what),
                   (unsigned long long)h->declared, (unsigned long long)have);
}

static vp_status check_want(const char *name, const idx_header *h, int want, vp_err *err)
{
    if (want < 0 || (uint32_t)want > h->info.count)
        return vp_fail(err, VP_ERR_DATA, "%s: holds %u %s, %d requested", name, h->info.count,
                       h->info.kind == VP_IDX_IMAGES ? "images" : "labels", want);
    return VP_OK;
}

static void bytes_to_double(const unsigned char *b, size_t n, double *x)
{
    for (size_t i = 0; i < n; i++) x[i] = (double)b[i];
}

vp_status vp_idx_parse(const unsigned char *buf, size_t len, const char *name, int want,
                       double **out, int *dim, vp_err *err)
{
    *out = NULL;
    idx_header h;
    vp_status s = check_header(buf, len, name, VP_IDX_IMAGES, &h, err);
    if (!s) s = check_want(name, &h, want, err);
    if (!s && len - h.head != h.declared) s = size_mismatch(name, &h, len - h.head, err);
    if (s) return s;
    size_t need = (size_t)want * (size_t)h.item;
    double *x = malloc((need ? need : 1) * sizeof *x);
    if (!x) return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory for %d images", name, want);
    bytes_to_double(buf + h.head, need, x);
    *out = x;
    *dim = (int)h.item;
    return VP_OK;
}

/* ------------------------------------------------------------ the file reader */

/* An IDX file being read: header checked, `got` data bytes read so far. */
typedef struct {
    const char *path;
    gzFile gz;
    idx_header h;
    uint64_t got;
} idx_stream;

static void stream_close(idx_stream *st)
{
    if (st->gz) gzclose(st->gz);
    st->gz = NULL;
}

/* Up to n bytes into buf (NULL: read and drop, through scratch); *done = bytes read,
 * short only at the end of the data. A gzip error fails with the file's name. */
static vp_status stream_read(idx_stream *st, unsigned char *buf, uint64_t n, unsigned char *scratch,
                             uint64_t *done, vp_err *err)
{
    *done = 0;
    while (*done < n) {
        uint64_t left = n - *done;
        unsigned chunk = buf ? (left > (1u << 30) ? (1u << 30) : (unsigned)left)
                             : (left > SKIP_CHUNK ? SKIP_CHUNK : (unsigned)left);
        int r = gzread(st->gz, buf ? buf + *done : scratch, chunk);
        /* A gzip stream cut short ends with a short read and Z_BUF_ERROR, so the
         * error state is checked at the end too. */
        int zerr = Z_OK;
        const char *m = r <= 0 ? gzerror(st->gz, &zerr) : "";
        if (r < 0 || zerr != Z_OK) {
            /* gzerror's text lives in gz: format the message before closing it. It
             * starts with the name gzdopen was given ("<fd:3>: "): drop that. */
            const char *c = strstr(m, ">: ");
            return vp_fail(err, VP_ERR_DATA, "%s: gzip error: %s (corrupt or truncated file)", st->path,
                           strncmp(m, "<fd:", 4) == 0 && c ? c + 3 : m);
        }
        if (r == 0) break;
        *done += (uint64_t)r;
    }
    return VP_OK;
}

/* Open `path`, read and check its header, and check the declared size against the
 * file's real size (exact for a plain file; deflate's 1032:1 limit for gzip). */
static vp_status stream_open(idx_stream *st, const char *path, vp_idx_kind kind, vp_err *err)
{
    memset(st, 0, sizeof *st);
    st->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vp_fail(err, VP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        vp_status s = vp_fail(err, VP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        close(fd);
        return s;
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return vp_fail(err, VP_ERR_IO, "cannot read %s: it is a directory, not an IDX file", path);
    }
    st->gz = gzdopen(fd, "rb");
    if (!st->gz) {
        close(fd);
        return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory opening it", path);
    }
    gzbuffer(st->gz, 128u << 10);
    unsigned char head[IDX_HEADER_MAX];
    uint64_t n;
    vp_status s = stream_read(st, head, header_len(kind), NULL, &n, err);
    if (!s) s = check_header(head, (size_t)n, path, kind, &st->h, err);
    if (!s && S_ISREG(sb.st_mode)) {
        uint64_t size = (uint64_t)sb.st_size;
        if (gzdirect(st->gz)) {
            if (size - st->h.head != st->h.declared) s = size_mismatch(path, &st->h, size - st->h.head, err);
        } else if (st->h.declared + st->h.head > size * GZIP_MAX_RATIO) {
            char what[96];
            s = vp_fail(err, VP_ERR_DATA, "%s: truncated: the header declares %s (%llu bytes) but a gzip file of "
                        "%llu bytes inflates to at most %llu bytes", path, describe(&st->h, what, sizeof what),
                        (unsigned long long)st->h.declared, (unsigned long long)size,
                        (unsigned long long)(size * GZIP_MAX_RATIO));
        }
    }
    if (s) stream_close(st);
    return s;
}

/* The first `want` items into out (want * item bytes), then the rest of the data
 * read and dropped, checking the file holds exactly the declared data. Closes st. */
static vp_status stream_finish(idx_stream *st, uint32_t want, unsigned char *out, vp_err *err)
{
    unsigned char *scratch = malloc(SKIP_CHUNK);
    if (!scratch) {
        stream_close(st);
        return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory", st->path);
    }
    uint64_t keep = (uint64_t)want * st->h.item, n;
    vp_status s = stream_read(st, out, keep, scratch, &n, err);
    st->got = n;
    if (!s && st->got == keep) { /* the rest, to the end, so trailing data is counted too */
        s = stream_read(st, NULL, UINT64_MAX, scratch, &n, err);
        st->got += n;
    }
    if (!s && st->got != st->h.declared) s = size_mismatch(st->path, &st->h, st->got, err);
    free(scratch);
    stream_close(st);
    return s;
}

vp_status vp_idx_peek(const char *path, vp_idx_kind kind, vp_idx_info *info, vp_err *err)
{
    idx_stream st;
    vp_status s = stream_open(&st, path, kind, err);
    if (s) return s;
    *info = st.h.info;
    stream_close(&st);
    return VP_OK;
}

/* The first `want` items of the file as bytes (malloc'ed). */
static vp_status read_items(const char *path, vp_idx_kind kind, int want_all, int want, unsigned char **out,
                            idx_header *h, vp_err *err)
{
    *out = NULL;
    idx_stream st;
    vp_status s = stream_open(&st, path, kind, err);
    if (s) return s;
    *h = st.h;
    if (want_all && st.h.info.count > INT32_MAX)
        s = vp_fail(err, VP_ERR_DATA, "%s: the header declares %u items; varprop reads at most %d", path,
                    st.h.info.count, INT32_MAX);
    else if (want_all)
        want = (int)st.h.info.count;
    if (s || (s = check_want(path, &st.h, want, err))) {
        stream_close(&st);
        return s;
    }
    uint64_t bytes = (uint64_t)want * st.h.item;
    unsigned char *b = bytes > SIZE_MAX - 1 ? NULL : malloc(bytes ? (size_t)bytes : 1);
    if (!b) {
        stream_close(&st);
        char what[96];
        return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory for %s (%llu bytes)", path,
                       describe(&st.h, what, sizeof what), (unsigned long long)bytes);
    }
    if ((s = stream_finish(&st, (uint32_t)want, b, err))) {
        free(b);
        return s;
    }
    *out = b;
    return VP_OK;
}

vp_status vp_idx_load(const char *path, int want, double **out, int *dim, vp_err *err)
{
    *out = NULL;
    unsigned char *b;
    idx_header h;
    vp_status s = read_items(path, VP_IDX_IMAGES, 0, want, &b, &h, err);
    if (s) return s;
    size_t n = (size_t)want * (size_t)h.item;
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) {
        free(b);
        return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory for %d images", path, want);
    }
    bytes_to_double(b, n, x);
    free(b);
    *out = x;
    *dim = (int)h.item;
    return VP_OK;
}

vp_status vp_idx_read_all(const char *path, vp_idx_kind kind, unsigned char **out, vp_idx_info *info,
                          vp_err *err)
{
    idx_header h;
    vp_status s = read_items(path, kind, 1, 0, out, &h, err);
    if (!s) *info = h.info;
    return s;
}

vp_status vp_idx_load_labels(const char *path, int classes, int32_t **out, size_t *n, vp_err *err)
{
    *out = NULL;
    *n = 0;
    if (classes < 0 || classes > 256)
        return vp_fail(err, VP_ERR_USAGE, "%s: %d classes asked for; IDX labels are bytes (1..256 classes)", path,
                       classes);
    unsigned char *b;
    vp_idx_info info;
    vp_status s = vp_idx_read_all(path, VP_IDX_LABELS, &b, &info, err);
    if (s) return s;
    size_t count = info.count;
    for (size_t i = 0; classes && i < count; i++)
        if (b[i] >= classes) {
            s = vp_fail(err, VP_ERR_DATA, "%s: label %u at index %zu is out of range: %d classes (labels 0..%d)",
                        path, b[i], i, classes, classes - 1);
            free(b);
            return s;
        }
    int32_t *y = malloc((count ? count : 1) * sizeof *y);
    if (!y) {
        free(b);
        return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory for %zu labels", path, count);
    }
    for (size_t i = 0; i < count; i++) y[i] = b[i];
    free(b);
    *out = y;
    *n = count;
    return VP_OK;
}

void vp_standardize(double *x, size_t n)
{
    if (n == 0) return;
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) mean += x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (double)n;
    double inv = var > 0 ? 1.0 / sqrt(var) : 1.0;
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - mean) * inv;
}
