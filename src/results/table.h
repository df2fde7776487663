/* table: a small, strict RFC-4180 CSV reader (header row + data rows).
 *
 * The whole file is read into one buffer (vp_read_file, at most VP_TABLE_MAX_BYTES) and the
 * cells are unquoted in place, so a table is two allocations plus the file.
 * Accepted: quoted fields with "" escapes, commas and line breaks inside quotes,
 * LF or CRLF line ends, a missing final line break, an optional UTF-8 BOM.
 * Rejected with "file:line: reason": a row whose field count differs from the
 * header's (ragged or truncated rows), an unterminated quote, text after a
 * closing quote, a quote inside an unquoted field, a bare CR, a NUL byte,
 * an empty or duplicated header name, a file over the size limit.
 *
 * Numbers are parsed on demand with strtod: "nan", "inf", "-inf" (any case)
 * give the IEEE values, an empty cell is "missing" (NaN with its own return
 * code), anything else that is not entirely a number is an error.
 * Ownership: vp_table_load returns a table the caller frees with
 * vp_table_free (NULL-safe); every string it hands out is borrowed from it.
 */
#ifndef VP_TABLE_H
#define VP_TABLE_H

#include <stddef.h>
#include "base/err.h"
#include "results/results.h"

#define VP_TABLE_MAX_BYTES ((size_t)256 << 20) /* 256 MiB per file */
#define VP_TABLE_MAX_COLS 4096

typedef struct vp_table vp_table;

/* Read and parse the CSV file `path`. On success *out owns the table. */
vp_status vp_table_load(const char *path, vp_table **out, vp_err *err);

/* Parse `len` bytes of CSV text (copied; `text` need not be NUL-terminated).
 * `name` is used in error messages in place of a file name. */
vp_status vp_table_parse(const char *text, size_t len, const char *name,
                         vp_table **out, vp_err *err);

void vp_table_free(vp_table *t);

size_t vp_table_nrows(const vp_table *t); /* data rows, header excluded */
size_t vp_table_ncols(const vp_table *t);
const char *vp_table_name(const vp_table *t); /* the file name given to load/parse */

/* Header name of column c (c < ncols). Borrowed. */
const char *vp_table_colname(const vp_table *t, size_t c);

/* Index of the column named exactly `name`, or -1 if there is none. */
int vp_table_find(const vp_table *t, const char *name);

/* Like vp_table_find, but a missing column is an error naming the file. */
vp_status vp_table_require(const vp_table *t, const char *name, size_t *col, vp_err *err);

/* The same for a column of the results format (results.h). */
int vp_table_find_col(const vp_table *t, vp_col c);
vp_status vp_table_require_col(const vp_table *t, vp_col c, size_t *col, vp_err *err);

/* Text of a cell (row < nrows, col < ncols); "" for an empty cell. Borrowed. */
const char *vp_table_cell(const vp_table *t, size_t row, size_t col);

/* 1-based line of the file where data row `row` starts (for messages). */
size_t vp_table_line(const vp_table *t, size_t row);

typedef enum {
    VP_TABLE_NUM_OK,    /* a number, possibly nan or +-inf */
    VP_TABLE_NUM_EMPTY, /* empty (or blank) cell; *out = NaN */
    VP_TABLE_NUM_BAD    /* not a number; *out = NaN */
} vp_table_numkind;

/* Parse cell text as a double. Leading/trailing blanks are ignored. */
vp_table_numkind vp_table_parse_num(const char *s, double *out);

/* The cell as a number: empty -> NaN and VP_OK; not a number -> VP_ERR_DATA
 * with "file:line: column 'name': 'text' is not a number". */
vp_status vp_table_num(const vp_table *t, size_t row, size_t col, double *out, vp_err *err);

/* The cell as an integer in [lo, hi]: anything else (empty, a fraction, out of range)
 * is VP_ERR_DATA with "file:line: column 'name': 'text' is not an integer in [lo, hi]". */
vp_status vp_table_int(const vp_table *t, size_t row, size_t col, long lo, long hi, long *out, vp_err *err);

#endif
