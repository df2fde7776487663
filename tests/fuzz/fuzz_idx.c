/* libFuzzer harness: bytes -> vp_idx_parse (the IDX image reader) with a bounded
 * number of images. The first byte picks `want` (0..7) so "more images than the
 * file holds" is explored too; the rest is the IDX buffer. On success every pixel
 * is read back (ASan checks the bounds); on failure the status must be
 * VP_ERR_DATA (or VP_ERR_NOMEM) and nothing is returned. Build: tests/fuzz/fuzz.mk. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int want = data[0] & 7;
    const unsigned char *buf = data + 1;
    size_t len = size - 1;
    /* copy so that a read past `len` is a heap overflow ASan sees */
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) return 0;
    if (len) memcpy(copy, buf, len);
    double *x = (double *)1;
    int dim = -1;
    vp_err err;
    vp_status s = vp_idx_parse(copy, len, "fuzz.idx", want, &x, &dim, &err);
    if (s == VP_OK) {
        if (!x || dim < 1 || (size_t)want * (size_t)dim > len) abort();
        double sum = 0;
        for (size_t i = 0; i < (size_t)want * (size_t)dim; i++) {
            if (x[i] < 0 || x[i] > 255) abort();
            sum += x[i];
        }
        if (sum < 0) abort();
        free(x);
    } else {
        if (x) abort();
        if (s != VP_ERR_DATA && s != VP_ERR_NOMEM) abort();
        if (!memchr(err.msg, '\0', sizeof err.msg) || err.msg[0] == '\0') abort();
    }
    free(copy);
    return 0;
}
