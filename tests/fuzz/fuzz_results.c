/* libFuzzer harness: bytes -> a results folder -> what `varprop plot` reads from it.
 * The input is split at NUL bytes into config.json, layers.csv, runs.csv,
 * histograms.csv and jacobian.csv (a missing part: that file is absent); the parts
 * are written into a private folder and read back exactly as the charts and the
 * report read them: the chart model (every CSV through results/table, variants,
 * labels, sweep values), the per-variant summary and report.md. gnuplot is never
 * started (the draw functions are not called), so a run is a few file writes.
 * Any status is acceptable for a broken folder; a crash, a leak, an out-of-bounds
 * read or undefined behaviour is a bug. Build: tests/fuzz/fuzz.mk. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "present/charts/kit.h"
#include "base/fsutil.h"
#include "present/report.h"
#include "results/results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const FILES[] = { VP_FILE_CONFIG, VP_FILE_LAYERS, VP_FILE_RUNS, VP_FILE_HIST, VP_FILE_JACOBIAN };
#define NFILES (sizeof FILES / sizeof *FILES)

static char dir[64], plots[80];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) { /* one folder for the whole fuzzing process */
        snprintf(dir, sizeof dir, "/tmp/varprop-fuzz-results-XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(plots, sizeof plots, "%s/plots", dir);
    }
    size_t start = 0;
    for (size_t k = 0; k < NFILES; k++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", dir, FILES[k]);
        unlink(path);
        if (start > size) continue; /* fewer parts than files: the rest are absent */
        const uint8_t *end = start < size ? memchr(data + start, 0, size - start) : NULL;
        size_t n = end ? (size_t)(end - (data + start)) : size - start;
        FILE *f = fopen(path, "wb");
        if (!f) abort();
        if (n && fwrite(data + start, 1, n, f) != n) abort();
        if (fclose(f) != 0) abort();
        start += n + 1;
    }
    ck_exper e;
    memset(&e, 0, sizeof e);
    e.results_dir = dir;
    e.plots_dir = plots;
    vp_err err;
    vp_status s = ck_model_build(&e, &err);
    if (!s) {
        const vp_summary *sum = NULL;
        if (e.tab[VP_CSV_RUNS]) (void)ck_summary(&e, &sum, &err);
        if (vp_mkdir_p(plots, &err) == VP_OK) (void)vp_report_write(dir, plots, e.charts, e.ncharts, &err);
    }
    ck_model_free(&e);
    return 0;
}
