/* data: see data.h. */
#include "core/data.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAGIC_U8_3D 0x00000803u
#define IDX_HEADER 16

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Magic and image size of an IDX header; count returned unchecked. */
static vp_status check_header(const unsigned char *buf, size_t len, const char *name, uint32_t *count,
                              int *dim, vp_err *err)
{
    if (len < IDX_HEADER)
        return vp_fail(err, VP_ERR_DATA, "%s: truncated IDX header (%zu bytes, need 16)", name, len);
    uint32_t magic = be32(buf);
    if (magic != IDX_MAGIC_U8_3D)
        return vp_fail(err, VP_ERR_DATA, "%s: wrong IDX magic 0x%08x (expected 0x%08x: unsigned bytes, 3 dimensions)",
                       name, magic, IDX_MAGIC_U8_3D);
    uint32_t rows = be32(buf + 8), cols = be32(buf + 12);
    if (rows == 0 || cols == 0 || (uint64_t)rows * cols > (1u << 24))
        return vp_fail(err, VP_ERR_DATA, "%s: implausible image size %u x %u in the header", name, rows, cols);
    *count = be32(buf + 4);
    *dim = (int)((uint64_t)rows * cols);
    return VP_OK;
}

vp_status vp_idx_parse(const unsigned char *buf, size_t len, const char *name, int want,
                       double **out, int *dim, vp_err *err)
{
    *out = NULL;
    uint32_t count;
    int d;
    vp_status s = check_header(buf, len, name, &count, &d, err);
    if (s) return s;
    if (want < 0 || (uint32_t)want > count)
        return vp_fail(err, VP_ERR_DATA, "%s: holds %u images, %d requested", name, count, want);
    uint64_t need = (uint64_t)want * d;
    uint64_t have = len - IDX_HEADER;
    uint64_t declared = (uint64_t)count * d;
    if (have != declared)
        return vp_fail(err, VP_ERR_DATA, "%s: %s: the header declares %u images of %u x %u (%llu bytes) but "
                       "the data holds %llu bytes", name, have < declared ? "truncated" : "sizes disagree",
                       count, be32(buf + 8), be32(buf + 12), (unsigned long long)declared, (unsigned long long)have);
    double *x = malloc((size_t)(need ? need : 1) * sizeof *x);
    if (!x) return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory for %d images", name, want);
    for (uint64_t i = 0; i < need; i++) x[i] = (double)buf[IDX_HEADER + i];
    *out = x;
    *dim = d;
    return VP_OK;
}

vp_status vp_idx_load(const char *path, int want, double **out, int *dim, vp_err *err)
{
    *out = NULL;
    gzFile gz = gzopen(path, "rb");
    if (!gz) return vp_fail(err, VP_ERR_IO, "cannot open %s: %s", path, strerror(errno ? errno : ENOENT));
    unsigned char head[IDX_HEADER];
    int n = gzread(gz, head, IDX_HEADER);
    int zerr = 0;
    if (n < 0) {
        /* gzerror's text lives in gz: format the message before closing it */
        vp_status ds = vp_fail(err, VP_ERR_DATA, "%s: gzip error: %s", path, gzerror(gz, &zerr));
        gzclose(gz);
        return ds;
    }
    uint32_t count;
    int d;
    vp_status s = check_header(head, (size_t)n, path, &count, &d, err);
    if (s) { gzclose(gz); return s; }
    if ((uint32_t)want > be32(head + 4)) {
        gzclose(gz);
        return vp_fail(err, VP_ERR_DATA, "%s: holds %u images, %d requested", path, be32(head + 4), want);
    }
    /* Read the whole declared body plus one byte, so truncation and trailing data
     * are both detected by vp_idx_parse. The header bounds it (<= 2^32 * 2^24 is
     * refused above by the size checks only for rows*cols; cap the total too). */
    uint64_t declared = (uint64_t)be32(head + 4) * (uint64_t)d;
    if (declared > (1ull << 32)) {
        gzclose(gz);
        return vp_fail(err, VP_ERR_DATA, "%s: header declares %llu bytes of images; refusing more than 4 GiB",
                       path, (unsigned long long)declared);
    }
    size_t body = (size_t)declared + 1;
    /* The buffer grows with what the file really holds (doubling from 16 MiB), so a
     * header that declares gigabytes over a short file costs no more than the file. */
    size_t cap = body < (16u << 20) ? body : (16u << 20);
    unsigned char *buf = malloc(IDX_HEADER + cap);
    if (!buf) { gzclose(gz); return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory", path); }
    memcpy(buf, head, IDX_HEADER);
    size_t got = 0;
    while (got < body) {
        if (got == cap) {
            size_t ncap = cap * 2 < body ? cap * 2 : body;
            unsigned char *nb = realloc(buf, IDX_HEADER + ncap);
            if (!nb) { s = vp_fail(err, VP_ERR_NOMEM, "%s: out of memory", path); break; }
            buf = nb;
            cap = ncap;
        }
        unsigned chunk = cap - got > (1u << 30) ? (1u << 30) : (unsigned)(cap - got);
        int r = gzread(gz, buf + IDX_HEADER + got, chunk);
        if (r < 0) {
            const char *m = gzerror(gz, &zerr);
            s = vp_fail(err, VP_ERR_DATA, "%s: gzip error: %s (corrupt or truncated file)", path, m);
            break;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    gzclose(gz);
    if (!s) s = vp_idx_parse(buf, IDX_HEADER + got, path, want, out, dim, err);
    free(buf);
    return s;
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
