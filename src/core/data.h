/* data: real input data -- IDX image files (gzip-compressed, read with zlib),
 * e.g. Debian's dataset-fashion-mnist in /usr/share/datasets/fashion-mnist.
 *
 * The IDX format (LeCun): magic 0x00000803 for unsigned-byte 3-D data, then three
 * big-endian 32-bit sizes (count, rows, cols), then count*rows*cols bytes.
 * Malformed files (wrong magic, truncated, sizes that disagree with the data,
 * counts that would overflow) give VP_ERR_DATA with the file name and the problem.
 */
#ifndef VP_DATA_H
#define VP_DATA_H

#include <stddef.h>
#include "base/err.h"

/* Parse IDX image data from memory: the first `want` images (want <= count in the
 * header) as doubles in [0, 255], row-major [want, rows*cols]. *out is malloc'ed
 * (caller frees). `name` is used in messages. `len` is the buffer length; the
 * file must hold at least the images asked for. */
vp_status vp_idx_parse(const unsigned char *buf, size_t len, const char *name, int want,
                       double **out, int *dim, vp_err *err);

/* Read the first `want` images of a gzip (or plain) IDX file. */
vp_status vp_idx_load(const char *path, int want, double **out, int *dim, vp_err *err);

/* Standardize n values in place to mean 0 and (population) variance 1; a
 * constant block is only centred. */
void vp_standardize(double *x, size_t n);

#endif
