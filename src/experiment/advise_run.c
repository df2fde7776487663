/* advise_run: see advise_run.h. */
#include "experiment/advise_run.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "experiment/config.h"
#include "experiment/runner.h"
#include "results/results.h"
#include "results/table.h"

const char *vp_snippet_name(vp_snippet_kind k)
{
    static const char *const names[VP_SNIPPET_COUNT] = { "mean_field", "variance_scaling", "xavier_normal" };
    return (unsigned)k < VP_SNIPPET_COUNT ? names[k] : "?";
}

/* Append printf-style text at *at; 0 when it no longer fits. */
static int put(char *buf, size_t len, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int put(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
    if (*at >= len) return 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, len - *at, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *at) return 0;
    *at += (size_t)n;
    return 1;
}

vp_status vp_advise_snippet(const vp_act *act, int depth, int width, const vp_advice *a, vp_snippet_kind kind,
                            char *buf, size_t len, vp_err *err)
{
    const double sigma_w = a->sigma_w, sigma_b = a->sigma_b;
    const vp_act_info *ai = vp_act_get(act->kind);
    const int D = VP_ADVISE_DIGITS;
    size_t at = 0;
    int ok = put(buf, len, &at, "{\"depth\": %d, \"width\": %d, \"activation\": ", depth, width);
    int custom = 0;
    for (int i = 0; i < ai->nparams; i++) custom |= act->p[i] != ai->params[i].def;
    if (!custom) {
        ok = ok && put(buf, len, &at, "\"%s\"", ai->name);
    } else {
        ok = ok && put(buf, len, &at, "{\"name\": \"%s\"", ai->name);
        for (int i = 0; i < ai->nparams; i++)
            if (act->p[i] != ai->params[i].def) {
                /* the shortest %.Ng that reads back as the same double */
                int digits = 15;
                char num[40];
                do snprintf(num, sizeof num, "%.*g", digits, act->p[i]);
                while (strtod(num, NULL) != act->p[i] && ++digits <= 17);
                ok = ok && put(buf, len, &at, ", \"%s\": %s", ai->params[i].name, num);
            }
        ok = ok && put(buf, len, &at, "}");
    }
    switch (kind) {
    case VP_SNIPPET_MEAN_FIELD:
        ok = ok && put(buf, len, &at, ", \"init\": {\"name\": \"mean_field\", \"sigma_w\": %.*g, \"sigma_b\": %.*g}", D,
                       sigma_w, D, sigma_b);
        break;
    case VP_SNIPPET_VARIANCE_SCALING:
        ok = ok && put(buf, len, &at, ", \"init\": {\"name\": \"variance_scaling\", \"scale\": %.*g, \"mode\": \"fan_in\", "
                       "\"distribution\": \"untruncated_normal\"}", D, a->sigma_w2);
        break;
    case VP_SNIPPET_XAVIER:
        ok = ok && put(buf, len, &at, ", \"init\": {\"name\": \"xavier_normal\", \"gain\": %.*g}", D, sigma_w);
        break;
    case VP_SNIPPET_COUNT:
        return vp_fail(err, VP_ERR_USAGE, "advise: no such snippet form");
    }
    if (kind != VP_SNIPPET_MEAN_FIELD) {
        if (sigma_b > 0)
            ok = ok && put(buf, len, &at, ", \"bias\": {\"name\": \"normal\", \"std\": %.*g}", D, sigma_b);
        else
            ok = ok && put(buf, len, &at, ", \"bias\": \"zeros\"");
    }
    ok = ok && put(buf, len, &at, "}");
    return ok ? VP_OK : vp_fail(err, VP_ERR_USAGE, "advise: the config snippet does not fit in %zu bytes", len);
}

/* rm -r of a results folder (files and one level of folders such as .parts/). */
static vp_status remove_tree(const char *dir, int depth, vp_err *err)
{
    DIR *d = opendir(dir);
    if (!d) return vp_fail(err, VP_ERR_IO, "%s: %s", dir, strerror(errno));
    vp_status st = VP_OK;
    struct dirent *e;
    char path[4096];
    while (st == VP_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if ((st = vp_path_join(path, sizeof path, dir, e->d_name, err)) != VP_OK) break;
        struct stat sb;
        if (lstat(path, &sb) != 0)
            st = vp_fail(err, VP_ERR_IO, "%s: %s", path, strerror(errno));
        else if (S_ISDIR(sb.st_mode))
            st = depth < 4 ? remove_tree(path, depth + 1, err) : vp_fail(err, VP_ERR_IO, "%s: nested too deep", path);
        else if (unlink(path) != 0)
            st = vp_fail(err, VP_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    closedir(d);
    if (st == VP_OK && rmdir(dir) != 0) st = vp_fail(err, VP_ERR_IO, "cannot remove %s: %s", dir, strerror(errno));
    return st;
}

/* runs.csv of dir: the ratios of seeds 0..n-1, in the file's order (one variant). */
static vp_status read_ratios(const char *dir, vp_advise_measured *out, int n, vp_err *err)
{
    char path[4096];
    vp_table *t = NULL;
    size_t ca, cg;
    vp_status st = vp_path_join(path, sizeof path, dir, VP_FILE_RUNS, err);
    if (st == VP_OK) st = vp_table_load(path, &t, err);
    if (st == VP_OK) st = vp_table_require_col(t, VP_COL_ACT_RATIO, &ca, err);
    if (st == VP_OK) st = vp_table_require_col(t, VP_COL_GRAD_RATIO, &cg, err);
    if (st == VP_OK && vp_table_nrows(t) != (size_t)n)
        st = vp_fail(err, VP_ERR_DATA, "%s: %zu runs, expected %d", path, vp_table_nrows(t), n);
    for (int i = 0; st == VP_OK && i < n; i++) {
        st = vp_table_num(t, (size_t)i, ca, &out->act_ratio[i], err);
        if (st == VP_OK) st = vp_table_num(t, (size_t)i, cg, &out->grad_ratio[i], err);
    }
    vp_table_free(t);
    if (st == VP_OK) out->nseeds = n;
    return st;
}

vp_status vp_advise_input_snippet(const vp_advice *a, char *buf, size_t len, vp_err *err)
{
    int n = a->input_std == 1.0 ? snprintf(buf, len, "{}") : snprintf(buf, len, "{\"std\": %.9g}", a->input_std);
    if (n < 0 || (size_t)n >= len) return vp_fail(err, VP_ERR_USAGE, "advise: input snippet longer than %zu bytes", len);
    return VP_OK;
}

vp_status vp_advise_measure(const char *network, double input_std, int nseeds, int batch, int threads,
                            const char *tmp_parent, vp_advise_measured *out, vp_err *err)
{
    if (nseeds < 1 || nseeds > VP_ADVISE_CHECK_MAX_SEEDS || batch < 1 || threads < 1 || !(input_std > 0) ||
        !isfinite(input_std))
        return vp_fail(err, VP_ERR_USAGE, "advise: a check needs 1..%d seeds, a batch >= 1, threads >= 1 and an "
                       "input std > 0", VP_ADVISE_CHECK_MAX_SEEDS);
    size_t len = strlen(network) + 256;
    char *text = malloc(len), stdtxt[64] = "";
    if (!text) return vp_fail(err, VP_ERR_NOMEM, "advise: out of memory");
    if (input_std != 1.0) snprintf(stdtxt, sizeof stdtxt, ", \"std\": %.9g", input_std);
    snprintf(text, len,
             "{\"name\": \"advise-check\", \"seeds\": %d, \"theory\": false, \"network\": %s, \"input\": {\"batch\": %d%s}}",
             nseeds, network, batch, stdtxt);
    vp_experiment *e = NULL;
    vp_config_opts copts = { VP_DEFAULT_MAX_RUNS };
    vp_status st = vp_config_parse(text, strlen(text), "advise snippet", &copts, &e, err);
    free(text);
    if (st != VP_OK) return st;

    const char *parent = tmp_parent ? tmp_parent : getenv("TMPDIR");
    if (!parent || !*parent) parent = "/tmp";
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/varprop-advise-XXXXXX", parent) >= (int)sizeof dir) {
        vp_experiment_free(e);
        return vp_fail(err, VP_ERR_USAGE, "advise: temporary folder name too long under %s", parent);
    }
    if (!mkdtemp(dir)) {
        vp_experiment_free(e);
        return vp_fail(err, VP_ERR_IO, "advise: cannot make a temporary folder in %s: %s", parent, strerror(errno));
    }
    vp_runner_opts o = { .out_dir = dir, .threads = threads };
    vp_runner_result res;
    st = vp_runner_run(e, &o, &res, err);
    if (st == VP_OK) st = read_ratios(dir, out, nseeds, err);
    vp_experiment_free(e);
    vp_err e2;
    vp_status rs = remove_tree(dir, 0, &e2);
    if (st == VP_OK && rs != VP_OK) {
        if (err) *err = e2;
        st = rs;
    }
    return st;
}
