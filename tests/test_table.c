/* Tests for the CSV reader (src/results/table.c): RFC-4180 quoting, numbers with
 * nan/inf, integers, empty cells, and clear errors for ragged or truncated files. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results/table.h"

static vp_table *tbl_parse_ok(const char *text)
{
    vp_table *t = NULL;
    vp_err err = { "" };
    vp_status s = vp_table_parse(text, strlen(text), "t.csv", &t, &err);
    cr_assert_eq(s, VP_OK, "parse failed: %s", err.msg);
    cr_assert_not_null(t);
    return t;
}

/* Parse text that must fail; returns the message. */
static void tbl_parse_bad(const char *text, const char *want, size_t len)
{
    vp_table *t = NULL;
    vp_err err = { "" };
    vp_status s = vp_table_parse(text, len ? len : strlen(text), "t.csv", &t, &err);
    cr_assert_eq(s, VP_ERR_DATA, "expected a data error for <%s>, got %d", text, s);
    cr_assert_null(t);
    cr_assert(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
}

Test(vp_table, header_rows_and_lookup)
{
    vp_table *t = tbl_parse_ok("variant,activation,init\n0,relu,he_normal\n1,tanh,xavier_uniform\n");
    cr_assert_eq(vp_table_ncols(t), 3);
    cr_assert_eq(vp_table_nrows(t), 2);
    cr_assert_str_eq(vp_table_colname(t, 2), "init");
    cr_assert_eq(vp_table_find(t, "activation"), 1);
    cr_assert_eq(vp_table_find(t, "nope"), -1);
    cr_assert_str_eq(vp_table_cell(t, 1, 1), "tanh");
    size_t c;
    vp_err err;
    cr_assert_eq(vp_table_require(t, "missing_col", &c, &err), VP_ERR_DATA);
    cr_assert(strstr(err.msg, "missing_col") && strstr(err.msg, "t.csv"));
    vp_table_free(t);
    vp_table_free(NULL);
}

Test(vp_table, rfc4180_quoting)
{
    vp_table *t = tbl_parse_ok(
        "init,note\r\n"
        "\"variance_scaling(scale=2,mode=fan_avg,distribution=truncated_normal)\",plain\r\n"
        "\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        "\"\",x");
    cr_assert_eq(vp_table_nrows(t), 3);
    cr_assert_str_eq(vp_table_cell(t, 0, 0), "variance_scaling(scale=2,mode=fan_avg,distribution=truncated_normal)");
    cr_assert_str_eq(vp_table_cell(t, 1, 0), "say \"hi\"");
    cr_assert_str_eq(vp_table_cell(t, 1, 1), "two\nlines");
    cr_assert_str_eq(vp_table_cell(t, 2, 0), "");
    cr_assert_str_eq(vp_table_cell(t, 2, 1), "x"); /* no final line break */
    cr_assert_eq(vp_table_line(t, 2), 5);          /* the quoted line break counts */
    vp_table_free(t);
}

Test(vp_table, empty_cells_and_bom)
{
    vp_table *t = tbl_parse_ok("\xEF\xBB\xBF" "a,b,c\n,,\n1,,3\n");
    cr_assert_str_eq(vp_table_colname(t, 0), "a");
    cr_assert_eq(vp_table_nrows(t), 2);
    for (int c = 0; c < 3; c++) cr_assert_str_eq(vp_table_cell(t, 0, (size_t)c), "");
    double v;
    vp_err err;
    cr_assert_eq(vp_table_num(t, 1, 1, &v, &err), VP_OK);
    cr_assert(isnan(v));
    cr_assert_eq(vp_table_parse_num("", &v), VP_TABLE_NUM_EMPTY);
    cr_assert_eq(vp_table_parse_num("  ", &v), VP_TABLE_NUM_EMPTY);
    vp_table_free(t);
}

Test(vp_table, numbers_nan_inf)
{
    double v;
    cr_assert_eq(vp_table_parse_num("1.5e-3", &v), VP_TABLE_NUM_OK);
    cr_assert_float_eq(v, 1.5e-3, 1e-18);
    cr_assert_eq(vp_table_parse_num("nan", &v), VP_TABLE_NUM_OK);
    cr_assert(isnan(v));
    cr_assert_eq(vp_table_parse_num("NaN", &v), VP_TABLE_NUM_OK);
    cr_assert(isnan(v));
    cr_assert_eq(vp_table_parse_num("inf", &v), VP_TABLE_NUM_OK);
    cr_assert(isinf(v) && v > 0);
    cr_assert_eq(vp_table_parse_num("-inf", &v), VP_TABLE_NUM_OK);
    cr_assert(isinf(v) && v < 0);
    cr_assert_eq(vp_table_parse_num(" 2 ", &v), VP_TABLE_NUM_OK);
    cr_assert_float_eq(v, 2.0, 0);
    cr_assert_eq(vp_table_parse_num("1e999", &v), VP_TABLE_NUM_OK); /* overflow: honest inf */
    cr_assert(isinf(v));
    cr_assert_eq(vp_table_parse_num("12abc", &v), VP_TABLE_NUM_BAD);
    cr_assert_eq(vp_table_parse_num("relu", &v), VP_TABLE_NUM_BAD);
    cr_assert(isnan(v));

    vp_table *t = tbl_parse_ok("x\nabc\n");
    vp_err err;
    cr_assert_eq(vp_table_num(t, 0, 0, &v, &err), VP_ERR_DATA);
    cr_assert(strstr(err.msg, "t.csv:2") && strstr(err.msg, "'abc'") && strstr(err.msg, "'x'"), "%s", err.msg);
    vp_table_free(t);
}

Test(vp_table, ragged_and_truncated_rows_rejected)
{
    tbl_parse_bad("a,b,c\n1,2,3\n4,5\n", "t.csv:3: row has 2 fields but the header has 3", 0);
    tbl_parse_bad("a,b\n1,2,3\n", "ragged", 0);
    tbl_parse_bad("a,b\n1,2\n3", "t.csv:3", 0);                 /* file cut mid-row */
    tbl_parse_bad("a,b\n1,\"unfinished\n", "t.csv:2: unterminated quoted field", 0);
    tbl_parse_bad("a,b\n1,\"x\"y\n", "after a closing quote", 0);
    tbl_parse_bad("a,b\n1,x\"y\n", "quote inside an unquoted field", 0);
    tbl_parse_bad("a,b\n1,2\r3,4\n", "carriage return", 0);
    tbl_parse_bad("a,b\n1,2\n\n3,4\n", "t.csv:3", 0);           /* blank line = 1-field row */
    tbl_parse_bad("a,a\n1,2\n", "twice", 0);
    tbl_parse_bad("a,,c\n1,2,3\n", "empty name", 0);
    tbl_parse_bad("", "empty file", 0);
    tbl_parse_bad("a,b\n1,\0\n", "NUL", 8);
}

Test(vp_table, load_file_and_missing_file)
{
    char path[] = "/tmp/vp_table_test_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *text = "variant,init\n0,\"orthogonal(gain=1.4142)\"\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    vp_table *t = NULL;
    vp_err err;
    cr_assert_eq(vp_table_load(path, &t, &err), VP_OK, "%s", err.msg);
    cr_assert_str_eq(vp_table_cell(t, 0, 1), "orthogonal(gain=1.4142)");
    cr_assert_str_eq(vp_table_name(t), path);
    vp_table_free(t);
    unlink(path);
    cr_assert_eq(vp_table_load(path, &t, &err), VP_ERR_IO);
    cr_assert_null(t);
    cr_assert(strstr(err.msg, path));
}

Test(vp_table, integer_cells_and_format_columns)
{
    vp_table *t = tbl_parse_ok("variant,x\n3,3.5\n-1,\n");
    vp_err err = { "" };
    long v;
    size_t c;
    cr_assert_eq(vp_table_require_col(t, VP_COL_VARIANT, &c, &err), VP_OK);
    cr_assert_eq(c, 0);
    cr_assert_eq(vp_table_find_col(t, VP_COL_SEED), -1);
    cr_assert_eq(vp_table_require_col(t, VP_COL_SEED, &c, &err), VP_ERR_DATA);
    cr_assert(strstr(err.msg, "'seed'"), "%s", err.msg);
    cr_assert_eq(vp_table_int(t, 0, 0, 0, 10, &v, &err), VP_OK);
    cr_assert_eq(v, 3);
    cr_assert_eq(vp_table_int(t, 0, 1, 0, 10, &v, &err), VP_ERR_DATA);
    cr_assert_eq(vp_table_int(t, 1, 0, 0, 10, &v, &err), VP_ERR_DATA);
    cr_assert(strstr(err.msg, "t.csv:3: column 'variant': '-1' is not an integer in [0, 10]"), "%s", err.msg);
    cr_assert_eq(vp_table_int(t, 1, 1, 0, 10, &v, &err), VP_ERR_DATA, "an empty cell is not an integer");
    vp_table_free(t);
}
