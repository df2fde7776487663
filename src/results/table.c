/* table: see table.h. */
#include "results/table.h"
#include "base/fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vp_table {
    char *buf;        /* the file, cells unquoted in place and NUL-terminated */
    char **cells;     /* (nrows + 1) * ncols pointers into buf; row 0 = header */
    size_t *lines;    /* nrows + 1 starting line numbers */
    size_t ncols;
    size_t nrows;
    char name[256];
};

/* ---- parsing ---- */

typedef struct {
    vp_table *t;
    size_t cap_cells;  /* allocated entries in t->cells */
    size_t cap_lines;
    size_t nfields;    /* fields in the record being read */
} parse_state;

static vp_status push_cell(parse_state *ps, char *cell, vp_err *err)
{
    vp_table *t = ps->t;
    size_t used = (t->nrows + (t->ncols ? 1 : 0)) * t->ncols + ps->nfields;
    if (t->ncols == 0 && ps->nfields >= VP_TABLE_MAX_COLS)
        return vp_fail(err, VP_ERR_DATA, "%s: more than %d columns", t->name, VP_TABLE_MAX_COLS);
    if (used >= ps->cap_cells) {
        size_t cap = ps->cap_cells ? ps->cap_cells * 2 : 256;
        char **c = realloc(t->cells, cap * sizeof *c);
        if (!c) return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory reading the table", t->name);
        t->cells = c;
        ps->cap_cells = cap;
    }
    t->cells[used] = cell;
    ps->nfields++;
    return VP_OK;
}

/* End of a record that started on `line`: check its width against the header. */
static vp_status end_record(parse_state *ps, size_t line, vp_err *err)
{
    vp_table *t = ps->t;
    if (t->ncols == 0) { /* the header */
        t->ncols = ps->nfields;
        for (size_t c = 0; c < t->ncols; c++) {
            if (t->cells[c][0] == '\0')
                return vp_fail(err, VP_ERR_DATA, "%s:%zu: header column %zu has an empty name",
                               t->name, line, c + 1);
            for (size_t d = 0; d < c; d++)
                if (strcmp(t->cells[c], t->cells[d]) == 0)
                    return vp_fail(err, VP_ERR_DATA, "%s:%zu: header names column '%s' twice",
                                   t->name, line, t->cells[c]);
        }
    } else {
        if (ps->nfields != t->ncols)
            return vp_fail(err, VP_ERR_DATA,
                           "%s:%zu: row has %zu field%s but the header has %zu (ragged or truncated row)",
                           t->name, line, ps->nfields, ps->nfields == 1 ? "" : "s", t->ncols);
        t->nrows++;
    }
    size_t idx = t->nrows; /* header at 0, data row r at r + 1 */
    if (idx >= ps->cap_lines) {
        size_t cap = ps->cap_lines ? ps->cap_lines * 2 : 64;
        size_t *l = realloc(t->lines, cap * sizeof *l);
        if (!l) return vp_fail(err, VP_ERR_NOMEM, "%s: out of memory reading the table", t->name);
        t->lines = l;
        ps->cap_lines = cap;
    }
    t->lines[idx] = line;
    ps->nfields = 0;
    return VP_OK;
}

/* Parse t->buf[0..len) in place. The read position r never falls behind the
 * write position w, because unquoting only ever shortens a field. */
static vp_status parse_buffer(vp_table *t, size_t len, vp_err *err)
{
    parse_state ps = { .t = t };
    char *b = t->buf;
    size_t r = 0, w = 0, line = 1;
    vp_status s;

    if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) r = 3; /* UTF-8 BOM */
    if (r >= len) return vp_fail(err, VP_ERR_DATA, "%s: empty file (no header row)", t->name);

    while (r < len) {
        size_t rec_line = line;
        for (;;) { /* one field per iteration */
            char *cell = b + w;
            if (b[r] == '"') {
                size_t qline = line;
                r++;
                for (;;) {
                    if (r >= len)
                        return vp_fail(err, VP_ERR_DATA, "%s:%zu: unterminated quoted field",
                                       t->name, qline);
                    char c = b[r];
                    if (c == '\0')
                        return vp_fail(err, VP_ERR_DATA, "%s:%zu: NUL byte in file", t->name, line);
                    if (c == '"') {
                        if (r + 1 < len && b[r + 1] == '"') { b[w++] = '"'; r += 2; continue; }
                        r++;
                        break;
                    }
                    if (c == '\n') line++;
                    b[w++] = c;
                    r++;
                }
                if (r < len && b[r] != ',' && b[r] != '\n' && b[r] != '\r')
                    return vp_fail(err, VP_ERR_DATA, "%s:%zu: unexpected character after a closing quote",
                                   t->name, line);
            } else {
                while (r < len && b[r] != ',' && b[r] != '\n' && b[r] != '\r') {
                    if (b[r] == '"')
                        return vp_fail(err, VP_ERR_DATA,
                                       "%s:%zu: quote inside an unquoted field (quote the whole field)",
                                       t->name, line);
                    if (b[r] == '\0')
                        return vp_fail(err, VP_ERR_DATA, "%s:%zu: NUL byte in file", t->name, line);
                    b[w++] = b[r++];
                }
            }
            /* r is at ',', '\r', '\n' or the end; terminate the cell at w <= r. */
            char delim = r < len ? b[r] : '\n';
            b[w++] = '\0';
            if ((s = push_cell(&ps, cell, err))) return s;
            if (delim == ',') { r++; continue; } /* at EOF the next field is empty */
            if (delim == '\r') {
                if (r + 1 >= len || b[r + 1] != '\n')
                    return vp_fail(err, VP_ERR_DATA, "%s:%zu: carriage return not followed by a line feed",
                                   t->name, line);
                r++;
            }
            if (r < len) { r++; line++; }
            break;
        }
        if ((s = end_record(&ps, rec_line, err))) return s;
    }
    return VP_OK;
}

/* A table that owns `buf` (len bytes + a NUL) and its parse; buf is freed on failure. */
static vp_status table_adopt(const char *name, char *buf, size_t len, vp_table **out, vp_err *err)
{
    vp_table *t = calloc(1, sizeof *t);
    if (!t) { free(buf); return vp_fail(err, VP_ERR_NOMEM, "out of memory reading %s", name); }
    t->buf = buf;
    snprintf(t->name, sizeof t->name, "%s", name);
    vp_status s = parse_buffer(t, len, err);
    if (s) { vp_table_free(t); return s; }
    *out = t;
    return VP_OK;
}

vp_status vp_table_parse(const char *text, size_t len, const char *name, vp_table **out, vp_err *err)
{
    *out = NULL;
    if (len > VP_TABLE_MAX_BYTES)
        return vp_fail(err, VP_ERR_DATA, "%s: larger than the %zu MiB limit", name, VP_TABLE_MAX_BYTES >> 20);
    char *buf = malloc(len + 1);
    if (!buf) return vp_fail(err, VP_ERR_NOMEM, "out of memory reading %s", name);
    if (len) memcpy(buf, text, len);
    buf[len] = '\0';
    return table_adopt(name, buf, len, out, err);
}

vp_status vp_table_load(const char *path, vp_table **out, vp_err *err)
{
    char *buf;
    size_t len;
    *out = NULL;
    vp_status s = vp_read_file(path, VP_TABLE_MAX_BYTES, &buf, &len, err);
    return s ? s : table_adopt(path, buf, len, out, err);
}

void vp_table_free(vp_table *t)
{
    if (!t) return;
    free(t->buf);
    free(t->cells);
    free(t->lines);
    free(t);
}

/* ---- access ---- */

size_t vp_table_nrows(const vp_table *t) { return t->nrows; }
size_t vp_table_ncols(const vp_table *t) { return t->ncols; }
const char *vp_table_name(const vp_table *t) { return t->name; }
const char *vp_table_colname(const vp_table *t, size_t c) { return t->cells[c]; }

int vp_table_find(const vp_table *t, const char *name)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (strcmp(t->cells[c], name) == 0) return (int)c;
    return -1;
}

vp_status vp_table_require(const vp_table *t, const char *name, size_t *col, vp_err *err)
{
    int c = vp_table_find(t, name);
    if (c < 0) return vp_fail(err, VP_ERR_DATA, "%s: no column named '%s'", t->name, name);
    *col = (size_t)c;
    return VP_OK;
}

int vp_table_find_col(const vp_table *t, vp_col c) { return vp_table_find(t, vp_col_name(c)); }

vp_status vp_table_require_col(const vp_table *t, vp_col c, size_t *col, vp_err *err)
{
    return vp_table_require(t, vp_col_name(c), col, err);
}

const char *vp_table_cell(const vp_table *t, size_t row, size_t col)
{
    return t->cells[(row + 1) * t->ncols + col];
}

size_t vp_table_line(const vp_table *t, size_t row) { return t->lines[row + 1]; }

static int is_blank(char c) { return c == ' ' || c == '\t'; }

vp_table_numkind vp_table_parse_num(const char *s, double *out)
{
    *out = NAN;
    while (is_blank(*s)) s++;
    if (*s == '\0') return VP_TABLE_NUM_EMPTY;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s) return VP_TABLE_NUM_BAD;
    while (is_blank(*end)) end++;
    if (*end != '\0') return VP_TABLE_NUM_BAD;
    /* ERANGE: overflow gives +-HUGE_VAL (= inf), underflow a denormal or 0: both
     * are the honest nearest values for variance statistics, so keep them. */
    *out = v;
    return VP_TABLE_NUM_OK;
}

vp_status vp_table_num(const vp_table *t, size_t row, size_t col, double *out, vp_err *err)
{
    const char *s = vp_table_cell(t, row, col);
    if (vp_table_parse_num(s, out) == VP_TABLE_NUM_BAD)
        return vp_fail(err, VP_ERR_DATA, "%s:%zu: column '%s': '%.60s' is not a number",
                       t->name, vp_table_line(t, row), t->cells[col], s);
    return VP_OK;
}

vp_status vp_table_int(const vp_table *t, size_t row, size_t col, long lo, long hi, long *out, vp_err *err)
{
    double v;
    vp_status s = vp_table_num(t, row, col, &v, err);
    if (s) return s;
    if (!(v >= (double)lo && v <= (double)hi) || v != floor(v))
        return vp_fail(err, VP_ERR_DATA, "%s:%zu: column '%s': '%s' is not an integer in [%ld, %ld]",
                       t->name, vp_table_line(t, row), t->cells[col], vp_table_cell(t, row, col), lo, hi);
    *out = (long)v;
    return VP_OK;
}
