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

/* A path in a command that a message tells the user to run is one shell word that the
 * shell gives back as the path: /bin/sh prints each word back unchanged (spaces,
 * quotes, $, backquotes, globs, a newline), and plain paths are left as typed. */
Test(vp_shell_word, the_shell_reads_the_word_back_as_the_path)
{
    const char *paths[] = { "results/a", "my runs/a b", "it's", "'", "''x''", "$HOME/`id`", "a*b?[c]",
                            "semi;colon&amp|pipe", "new\nline", "~user", "-o", "" };
    char q[256], cmd[400];
    cr_assert_str_eq(vp_shell_word("results/deep_tanh-2.x", q, sizeof q), "results/deep_tanh-2.x");
    cr_assert_str_eq(vp_shell_word("my runs", q, sizeof q), "'my runs'");
    cr_assert_str_eq(vp_shell_word("-o", q, sizeof q), "./'-o'", "not an option");
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        const char *w = vp_shell_word(paths[i], q, sizeof q);
        snprintf(cmd, sizeof cmd, "printf '%%s' %s", w);
        FILE *p = popen(cmd, "r");
        cr_assert(p);
        char got[256] = "";
        size_t n = fread(got, 1, sizeof got - 1, p);
        got[n] = '\0';
        cr_assert_eq(pclose(p), 0, "%s", cmd);
        char want[64]; /* a leading dash: the same file as ./-o, not an option */
        snprintf(want, sizeof want, "%s%s", paths[i][0] == '-' ? "./" : "", paths[i]);
        cr_assert_str_eq(got, want, "the shell read %s as \"%s\"", w, got);
    }
    /* a quoted form that does not fit is not cut: the path itself */
    cr_assert_str_eq(vp_shell_word("a b c d", q, 8), "a b c d");
    cr_assert_str_eq(vp_shell_word("a b c", q, 8), "'a b c'");
}
