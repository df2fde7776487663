/* Same config, same bytes, whatever --threads: the guarantee checked through the CLI
 * for the cases a sweep test does not reach -- a single run (its threads go to the
 * products, core/gemm's fixed blocks), orthogonal initialization (LAPACK QR, which
 * with OpenBLAS's own threading gave thread-dependent bits), float64, histograms and
 * the Jacobian spectrum. Each config is run with 1, 2, 3 and 8 threads (8 > the cores
 * of a small machine: more threads than blocks, idle workers) and every CSV file is
 * compared byte for byte; runs.csv without its wall-time column `seconds`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "harness.h"

/* The file's text with the `seconds` column of runs.csv removed (it is the last
 * numeric column before `status`; the rows here have no quoted commas). */
static char *without_seconds(char *text)
{
    int col = -1, c = 0;
    for (const char *p = text; *p && *p != '\n'; p++) {
        if (strncmp(p, "seconds,", 8) == 0 && (p == text || p[-1] == ',')) { col = c; break; }
        if (*p == ',') c++;
    }
    if (col < 0) return text;
    char *out = malloc(strlen(text) + 1), *o = out;
    cr_assert(out);
    c = 0;
    int skip = (col == 0);
    for (const char *p = text; *p; p++) {
        if (*p == '\n') { c = 0; skip = (col == 0); *o++ = '\n'; continue; }
        if (*p == ',') { c++; if (c == col) { skip = 1; continue; } if (c == col + 1) skip = 0; }
        if (!skip) *o++ = *p;
    }
    *o = '\0';
    free(text);
    return out;
}

static void same_bytes_for_every_thread_count(const char *json, const char *const *files, int nfiles)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-det-");
    vt_write_file(dir, "c.json", json);
    const int threads[] = { 1, 2, 3, 8 };
    char *ref[8] = {0};
    for (int t = 0; t < 4; t++) {
        char *err = NULL;
        int rc = vt_run(dir, NULL, &err, "run '%s/c.json' -o '%s/out%d' --no-plot --quiet --threads %d", dir, dir,
                        threads[t], threads[t]);
        cr_assert_eq(rc, 0, "--threads %d: exit %d: %s", threads[t], rc, err);
        free(err);
        for (int f = 0; f < nfiles; f++) {
            char path[512];
            snprintf(path, sizeof path, "%s/out%d/%s", dir, threads[t], files[f]);
            char *text = without_seconds(vt_slurp_must(path, NULL));
            if (t == 0) ref[f] = text;
            else {
                cr_expect_str_eq(text, ref[f], "%s differs between --threads 1 and --threads %d", files[f], threads[t]);
                free(text);
            }
        }
    }
    for (int f = 0; f < nfiles; f++) free(ref[f]);
    vt_rmtree(dir);
}

static const char *const ALL[] = { "layers.csv", "runs.csv", "histograms.csv", "jacobian.csv" };

/* One example: the forward products are 1 x n (OpenBLAS's threading split them by
 * thread count before), orthogonal weights by QR. */
Test(determinism, single_run_batch_one_orthogonal)
{
    same_bytes_for_every_thread_count(
        "{\"name\":\"d1\",\"seeds\":1,\"network\":{\"depth\":5,\"width\":1100,\"activation\":\"tanh\",\"init\":\"orthogonal\"},"
        "\"input\":{\"batch\":1}}", ALL, 2);
}

/* A wide input layer (a tall QR) and a batch larger than one block (VP_GEMM_BLOCK 512). */
Test(determinism, single_run_wide_input)
{
    _Static_assert(VP_GEMM_BLOCK < 600, "the batch of 600 spans two product blocks");
    same_bytes_for_every_thread_count(
        "{\"name\":\"d2\",\"seeds\":1,\"network\":{\"depth\":3,\"width\":64,\"input_dim\":40000,\"activation\":\"tanh\","
        "\"init\":\"orthogonal\"},\"input\":{\"batch\":600}}", ALL, 2);
}

/* float64 with histograms and the Jacobian spectrum, shapes across block edges. */
Test(determinism, single_run_float64_histograms_jacobian)
{
    same_bytes_for_every_thread_count(
        "{\"name\":\"d3\",\"seeds\":1,\"precision\":\"float64\",\"network\":{\"depth\":4,\"width\":520,\"activation\":\"tanh\","
        "\"init\":\"orthogonal\",\"bias\":{\"name\":\"normal\",\"std\":0.05}},\"input\":{\"batch\":300},"
        "\"measure\":{\"histograms\":{\"layers\":[1,4],\"bins\":30},\"jacobian\":true}}", ALL, 4);
}

/* A sweep (runs in parallel, one BLAS thread each) in float64 with everything on. */
Test(determinism, sweep_float64_histograms_jacobian)
{
    same_bytes_for_every_thread_count(
        "{\"name\":\"d4\",\"seeds\":2,\"precision\":\"float64\",\"network\":{\"depth\":4,\"width\":300,\"activation\":\"tanh\","
        "\"init\":\"orthogonal\"},\"input\":{\"batch\":64},"
        "\"measure\":{\"histograms\":{\"layers\":[2],\"bins\":20},\"jacobian\":true},"
        "\"sweep\":{\"network.activation\":[\"tanh\",\"relu\",\"gelu\"]}}", ALL, 4);
}

/* A single run's elementwise passes (activation, statistics, bias broadcast) cut into
 * column strips that the pool's threads share (core/mlp.c, ew_strips): widths that
 * are not a multiple of the strip, a batch that is not a multiple of acc_rows' four
 * rows, a blow-up to Inf/NaN (selu, std 3) and a collapse into subnormals (relu, std
 * 0.005 over 40 layers); --threads 1 takes whole rows in one thread. */
Test(determinism, single_run_strips_blowup_and_subnormals)
{
    same_bytes_for_every_thread_count(
        "{\"name\":\"d5\",\"seeds\":1,\"network\":{\"depth\":30,\"width\":1030,\"activation\":\"selu\","
        "\"init\":{\"name\":\"normal\",\"std\":3.0}},\"input\":{\"batch\":103}}", ALL, 2);
    same_bytes_for_every_thread_count(
        "{\"name\":\"d6\",\"seeds\":1,\"network\":{\"depth\":40,\"width\":700,\"activation\":\"relu\","
        "\"init\":{\"name\":\"normal\",\"std\":0.005},\"bias\":\"zeros\"},\"input\":{\"batch\":61}}", ALL, 2);
}
