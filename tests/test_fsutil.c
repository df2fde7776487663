/* Tests of the base layer's file helpers (src/base/fsutil.c): vp_read_file's size cap
 * at its exact boundary, across the buffer's growth steps, empty and missing files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"

static void write_bytes(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    for (size_t i = 0; i < n; i++) fputc('a' + (int)(i % 26), f);
    cr_assert_eq(fclose(f), 0);
}

Test(vp_read_file, cap_is_exact_at_every_size)
{
    char dir[] = "/tmp/vp_fsutil_XXXXXX", path[256];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    /* sizes around the first buffer (4096) and its doublings, and tiny caps */
    const size_t sizes[] = { 0, 1, 4094, 4095, 4096, 4097, 8191, 8192, 8193, 70000 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        write_bytes(path, n);
        const size_t caps[] = { n, n + 1, n ? n - 1 : 0 };
        for (size_t c = 0; c < 3; c++) {
            char *buf = NULL;
            size_t len = 99;
            vp_err err = {0};
            vp_status s = vp_read_file(path, caps[c], &buf, &len, &err);
            if (n <= caps[c]) {
                cr_assert_eq(s, VP_OK, "size %zu cap %zu: %s", n, caps[c], err.msg);
                cr_assert_eq(len, n);
                cr_assert_eq(buf[n], '\0');
                for (size_t k = 0; k < n; k++) cr_assert_eq(buf[k], 'a' + (int)(k % 26));
            } else {
                cr_assert_eq(s, VP_ERR_DATA, "size %zu cap %zu accepted", n, caps[c]);
                cr_assert_null(buf);
                cr_assert(strstr(err.msg, "larger than"), "%s", err.msg);
            }
            free(buf);
        }
    }
    unlink(path);
    rmdir(dir);
}

Test(vp_read_file, missing_file_is_an_io_error)
{
    char *buf = (char *)1;
    size_t len;
    vp_err err = {0};
    cr_assert_eq(vp_read_file("/nonexistent/varprop/file", 100, &buf, &len, &err), VP_ERR_IO);
    cr_assert_null(buf);
    cr_assert(strstr(err.msg, "/nonexistent/varprop/file"), "%s", err.msg);
}

/* A folder typed with trailing slashes joins with one: messages name "dir/file". */
Test(vp_path_join, one_slash_between_folder_and_name)
{
    const char *cases[][3] = { { "dir", "f", "dir/f" },   { "dir/", "f", "dir/f" }, { "a/b//", "f", "a/b/f" },
                               { "/", "f", "/f" },        { "//", "f", "/f" },      { ".", "f", "./f" } };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[64];
        vp_err err;
        cr_assert_eq(vp_path_join(out, sizeof out, cases[i][0], cases[i][1], &err), VP_OK);
        cr_assert_str_eq(out, cases[i][2], "join(\"%s\", \"%s\")", cases[i][0], cases[i][1]);
    }
    char small[6];
    vp_err err;
    cr_assert_eq(vp_path_join(small, sizeof small, "dir/", "f", &err), VP_OK); /* "dir/f" fits in 6 */
    cr_assert_neq(vp_path_join(small, sizeof small, "dir/", "fg", &err), VP_OK);
}
