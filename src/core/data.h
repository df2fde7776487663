/* data: real input data -- IDX image and label files (gzip-compressed or plain,
 * read with zlib), e.g. Debian's dataset-fashion-mnist in
 * /usr/share/datasets/fashion-mnist.
 *
 * The IDX format (LeCun): a big-endian magic 0x000008NN (unsigned bytes, NN
 * dimensions), then NN big-endian 32-bit sizes, then the bytes.
 *   images  0x00000803, sizes (count, rows, cols), count*rows*cols bytes
 *   labels  0x00000801, size  (count),             count bytes, each a class index
 * Malformed files (wrong magic, truncated, sizes that disagree with the data,
 * counts that would overflow, labels out of range, damaged gzip) give VP_ERR_DATA
 * with the file name and the problem; a file that cannot be opened, VP_ERR_IO.
 *
 * Memory and time: the file readers keep only the items asked for and stream past
 * the rest of the file through a fixed 64 KiB buffer, still checking that the file
 * holds exactly what its header declares. A header that declares more than the file
 * can hold is refused from the header and the file's size alone, before reading
 * the data: a plain file must be exactly header + data; a gzip file cannot inflate
 * to more than 1032 times its size (deflate's limit).
 */
#ifndef VP_DATA_H
#define VP_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

/* Parse IDX image data from memory: the first `want` images (want <= count in the
 * header) as doubles in [0, 255], row-major [want, rows*cols]. *out is malloc'ed
 * (caller frees). `name` is used in messages. `len` is the buffer length; the
 * buffer must hold exactly the images its header declares. */
vp_status vp_idx_parse(const unsigned char *buf, size_t len, const char *name, int want,
                       double **out, int *dim, vp_err *err);

/* Read the first `want` images of a gzip (or plain) IDX image file, as
 * vp_idx_parse: doubles in [0, 255], [want, rows*cols]. Memory: the `want` images,
 * whatever the file declares. */
vp_status vp_idx_load(const char *path, int want, double **out, int *dim, vp_err *err);

typedef enum { VP_IDX_IMAGES, VP_IDX_LABELS } vp_idx_kind;

/* An IDX file's header. Labels have rows = cols = 1. */
typedef struct {
    vp_idx_kind kind;
    uint32_t count, rows, cols;
} vp_idx_info;

/* Open an IDX file and check its header and size against the file (as the readers
 * do) without reading its data: a missing, mistyped or truncated file fails here,
 * in milliseconds. The data itself (gzip damage, truncation inside a gzip stream,
 * label values) is checked only by a read. */
vp_status vp_idx_peek(const char *path, vp_idx_kind kind, vp_idx_info *info, vp_err *err);

/* Every item of an IDX file as bytes: images [count, rows*cols] or labels [count].
 * *out is malloc'ed (caller frees; NULL on failure). Label values are not checked
 * here (vp_idx_load_labels does). */
vp_status vp_idx_read_all(const char *path, vp_idx_kind kind, unsigned char **out, vp_idx_info *info,
                          vp_err *err);

/* Every label of an IDX label file (magic 0x00000801) as int32 class indices,
 * each checked to be below `classes` (1..256); classes = 0 accepts any byte. *out
 * is malloc'ed (caller frees; NULL on failure), *n its length. */
vp_status vp_idx_load_labels(const char *path, int classes, int32_t **out, size_t *n, vp_err *err);

/* Standardize n values in place to mean 0 and (population) variance 1; a
 * constant block is only centred. */
void vp_standardize(double *x, size_t n);

#endif
