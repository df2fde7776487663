/* Helpers shared by the issue-11 number tests (test_nonfinite.c, test_predict.c,
 * test_theory_range.c): run a config through the CLI and read its results. Static
 * inline, so each test file takes what it uses; they assert like harness.h's. */
#ifndef VARPROP_TESTS_RUN_UTIL_H
#define VARPROP_TESTS_RUN_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "results/table.h"

/* A fresh folder DIR (PREFIX...) holding c.json = config, run as `varprop run c.json
 * -o DIR/out --no-plot --quiet`; asserts exit 0 and nothing on stderr. */
static inline void vt_run_config(char *dir, size_t len, const char *prefix, const char *config)
{
    vt_mktmp(dir, len, prefix);
    vt_write_file(dir, "c.json", config);
    char *out = NULL, *errs = NULL;
    int rc = vt_run(dir, &out, &errs, "run %s/c.json -o %s/out --no-plot --quiet", dir, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errs);
    cr_expect_str_empty(errs, "stderr: %s", errs);
    free(out);
    free(errs);
}

/* DIR/out/FILE as a table (asserts it loads). */
static inline vp_table *vt_out_table(const char *dir, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/out/%s", dir, file);
    vp_table *t = NULL;
    vp_err err;
    cr_assert_eq(vp_table_load(path, &t, &err), VP_OK, "%s", err.msg);
    return t;
}

#endif
