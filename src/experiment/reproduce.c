/* reproduce: see reproduce.h. Runs each chosen paper's configs and judges its claims. */
#include "experiment/reproduce.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/fsutil.h"
#include "experiment/config.h"
#include "experiment/reproduce_checks.h"
#include "experiment/runner.h"

#define CHECKS_MAX_BYTES ((size_t)1 << 20)

const char *vp_repro_verdict_word(vp_repro_verdict v)
{
    static const char *const words[VP_REPRO_VERDICT_COUNT] = {
        [VP_REPRO_PASS] = "PASS", [VP_REPRO_FAIL] = "FAIL", [VP_REPRO_NOT_RUN] = "NOT RUN",
        [VP_REPRO_FULL_ONLY] = "FULL ONLY" };
    return (unsigned)v < VP_REPRO_VERDICT_COUNT ? words[v] : "?";
}

static int by_name(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

vp_status vp_repro_list(const char *suite_dir, char names[][128], int max, int *n, vp_err *err)
{
    DIR *d = opendir(suite_dir);
    if (!d) return vp_fail(err, VP_ERR_USAGE, "%s: %s (the suite folder: experiments/)", suite_dir, strerror(errno));
    *n = 0;
    struct dirent *e;
    vp_status st = VP_OK;
    while (!st && (e = readdir(d))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= 128) continue;
        char path[4400];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s/%s/%s", suite_dir, e->d_name, VP_FILE_CHECKS) >= (int)sizeof path ||
            stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (*n == max) st = vp_fail(err, VP_ERR_USAGE, "%s: more than %d papers", suite_dir, max);
        else memcpy(names[(*n)++], e->d_name, strlen(e->d_name) + 1); /* < 128: checked above */
    }
    closedir(d);
    if (!st) qsort(names, (size_t)*n, 128, by_name);
    return st;
}

static vp_status load_paper(const char *suite_dir, const char *paper, int fast, vp_repro_paper *p, vp_err *err)
{
    char path[4400];
    if (snprintf(path, sizeof path, "%s/%s/%s", suite_dir, paper, VP_FILE_CHECKS) >= (int)sizeof path)
        return vp_fail(err, VP_ERR_USAGE, "%s: path too long", paper);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vp_fail(err, VP_ERR_USAGE, "no paper \"%s\" in %s (no %s)", paper, suite_dir, path);
    char *text = NULL;
    size_t len = 0;
    vp_status st = vp_read_file(path, CHECKS_MAX_BYTES, &text, &len, err);
    if (!st) st = vp_repro_paper_parse(text, len, path, paper, fast, p, err);
    free(text);
    return st;
}


/* Set the dotted key of a config's JSON to a copy of v ("sweep.K" sets sweep key K,
 * whose name has dots of its own). Missing objects on the way are created. */
static vp_status set_dotted(cJSON *root, const char *key, const cJSON *v, const char *source, vp_err *err)
{
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", key) >= (int)sizeof buf)
        return vp_fail(err, VP_ERR_CONFIG, "%s: fast.%s: key too long", source, key);
    cJSON *o = root;
    char *part = buf;
    for (;;) {
        char *dot = strncmp(buf, "sweep.", 6) == 0 && part != buf ? NULL : strchr(part, '.');
        if (dot) *dot = '\0';
        if (!dot) {
            cJSON *copy = cJSON_Duplicate(v, 1);
            if (!copy) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
            if (cJSON_HasObjectItem(o, part)) cJSON_ReplaceItemInObjectCaseSensitive(o, part, copy);
            else cJSON_AddItemToObject(o, part, copy);
            return VP_OK;
        }
        cJSON *next = cJSON_GetObjectItemCaseSensitive(o, part);
        if (!next) next = cJSON_AddObjectToObject(o, part);
        if (!cJSON_IsObject(next))
            return vp_fail(err, VP_ERR_CONFIG, "%s: fast.%s: \"%s\" is not an object in the config", source, key, part);
        o = next;
        part = dot + 1;
    }
}

/* The run's config, with its fast overrides when asked for, parsed by config.c. */
static vp_status load_config(const char *suite_dir, const vp_repro_paper *p, const vp_repro_run_spec *r, int fast,
                             vp_experiment **out, vp_err *err)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s/%s", suite_dir, p->name, r->config);
    char *text = NULL, *printed = NULL;
    size_t len = 0;
    vp_status st = vp_read_file(path, (size_t)16 << 20, &text, &len, err);
    if (st) return st;
    cJSON *root = NULL;
    st = vp_config_json(text, len, path, &root, err); /* as strict as a config given to run, with line:column */
    for (const cJSON *k = fast && r->fast ? r->fast->child : NULL; !st && k; k = k->next)
        st = set_dotted(root, k->string, k, path, err);
    if (!st && !(printed = cJSON_PrintUnformatted(root))) st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    vp_config_opts copts = { VP_DEFAULT_MAX_RUNS };
    if (!st) st = vp_config_parse(printed, strlen(printed), path, &copts, out, err);
    cJSON_Delete(root);
    free(printed);
    free(text);
    return st;
}

vp_status vp_repro_check(const char *suite_dir, const char *const *papers, int npapers, int fast, vp_err *err)
{
    vp_status st = VP_OK;
    for (int i = 0; !st && i < npapers; i++) {
        vp_repro_paper p;
        if ((st = load_paper(suite_dir, papers[i], fast, &p, err))) break;
        for (int r = 0; !st && r < p.nruns; r++) {
            vp_experiment *e = NULL;
            st = load_config(suite_dir, &p, &p.runs[r], fast && !*p.runs[r].full_only, &e, err);
            vp_experiment_free(e);
        }
        vp_repro_paper_free(&p);
    }
    return st;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* Judge one claim into a JSON object of the verdicts file; `skipped` (NULL: the run ran)
 * is the full_only reason of a run --fast did not run. */
static vp_repro_verdict judge(const vp_repro_claim *cl, vp_repro_tables *tb, cJSON *o, int fast, const char *skipped)
{
    char reason[1400];
    vp_repro_verdict v = VP_REPRO_NOT_RUN;
    const vp_repro_expect *e = &cl->expect;
    if (*cl->not_run) {
        snprintf(reason, sizeof reason, "%s", cl->not_run);
    } else if (skipped) {
        v = VP_REPRO_FULL_ONLY;
        snprintf(reason, sizeof reason, "judged by the full suite only: %s", skipped);
        cJSON_AddStringToObject(o, "run", cl->run);
    } else {
        double m = NAN, se = NAN;
        int ns = 0;
        vp_repro_curve curve;
        vp_err err = { "" };
        vp_status st = vp_repro_eval(cl->q, tb, &m, &se, &ns, &curve, &err);
        v = VP_REPRO_FAIL;
        if (st) {
            snprintf(reason, sizeof reason, "no measurement: %s", err.msg);
        } else if (!isfinite(m)) {
            snprintf(reason, sizeof reason, "the measured quantity is %g, not a finite number", m);
        } else {
            double d = e->kind == VP_EXPECT_NEAR ? fabs(m - e->value) : m - e->value;
            int ok = e->kind == VP_EXPECT_NEAR ? d <= e->tol : e->kind == VP_EXPECT_MAX ? m <= e->value : m >= e->value;
            v = ok ? VP_REPRO_PASS : VP_REPRO_FAIL;
            int n = e->kind == VP_EXPECT_NEAR
                        ? snprintf(reason, sizeof reason, "|measured - expected| = %.4g %s tolerance %.4g", d,
                                   ok ? "<=" : ">", e->tol)
                        : snprintf(reason, sizeof reason, "measured %.4g %s the bound %.4g", m,
                                   ok ? (e->kind == VP_EXPECT_MAX ? "<=" : ">=") : "is beyond", e->value);
            if (e->kind == VP_EXPECT_NEAR && isfinite(se) && 2 * se > e->tol && n > 0 && (size_t)n < sizeof reason)
                snprintf(reason + n, sizeof reason - (size_t)n,
                         "; note: 2 SE = %.3g exceeds the tolerance, too few seeds for it to be sharp", 2 * se);
        }
        add_num(o, "measured", m);
        add_num(o, "se", se);
        cJSON_AddNumberToObject(o, "nseeds", ns);
        if (!st && curve.n > 1) {
            cJSON *c = cJSON_AddArrayToObject(o, "curve");
            for (int i = 0; i < curve.n; i++) {
                double xy[2] = { curve.x[i], curve.y[i] };
                cJSON_AddItemToArray(c, cJSON_CreateDoubleArray(xy, 2));
            }
        }
        cJSON *ex = cJSON_AddObjectToObject(o, "expect");
        static const char *const kinds[] = { [VP_EXPECT_NEAR] = "near", [VP_EXPECT_MAX] = "max", [VP_EXPECT_MIN] = "min" };
        cJSON_AddStringToObject(ex, "kind", kinds[e->kind]);
        add_num(ex, "value", e->value);
        if (e->kind == VP_EXPECT_NEAR) add_num(ex, "tol", e->tol);
        cJSON_AddBoolToObject(ex, "relative", e->relative);
        cJSON_AddBoolToObject(ex, "fast", fast);
        cJSON_AddBoolToObject(o, "slope", cl->q->stat == VP_ST_SLOPE && !cl->q->diff[0]);
        if (cl->q->stat == VP_ST_SLOPE && !cl->q->diff[0]) add_num(o, "per_layers", cl->q->per_layers);
        char label[300];
        vp_repro_value_label(cl->q, label, sizeof label);
        cJSON_AddStringToObject(o, "value_label", label);
        cJSON_AddStringToObject(o, "run", cl->run);
        cJSON_AddStringToObject(o, "figure", cl->figure);
    }
    cJSON_AddStringToObject(o, "verdict", vp_repro_verdict_word(v));
    cJSON_AddStringToObject(o, "reason", reason);
    return v;
}

static vp_status run_paper(const char *suite_dir, const vp_repro_paper *p, const vp_repro_opts *o, cJSON *jp,
                           vp_repro_summary *sum, vp_err *err)
{
    char pdir[4400];
    vp_status st = vp_path_join(pdir, sizeof pdir, o->out_dir, p->name, err);
    if (!st) st = vp_mkdir_p(pdir, err);
    cJSON *jruns = cJSON_AddArrayToObject(jp, "runs"), *jclaims = cJSON_AddArrayToObject(jp, "claims");
    vp_repro_tables *tb = calloc((size_t)p->nruns + 1, sizeof *tb);
    if (!st && (!tb || !jruns || !jclaims)) st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (int i = 0; !st && i < p->nruns; i++) {
        const vp_repro_run_spec *r = &p->runs[i];
        if (o->fast && *r->full_only) {
            if (o->log) fprintf(o->log, "varprop reproduce: %s/%s: full suite only, skipped\n", p->name, r->id);
            continue;
        }
        vp_experiment *e = NULL;
        st = load_config(suite_dir, p, r, o->fast, &e, err);
        if (!st) st = vp_path_join(tb[i].dir, sizeof tb[i].dir, pdir, r->id, err);
        if (!st && o->log) fprintf(o->log, "varprop reproduce: %s/%s: %ld runs ...\n", p->name, r->id, vp_experiment_runs(e));
        double t0 = now_s();
        vp_runner_opts ro = { .out_dir = tb[i].dir, .threads = o->threads, .stop = o->stop };
        vp_runner_result res;
        if (!st) st = vp_runner_run(e, &ro, &res, err);
        if (!st && res.interrupted) st = vp_fail(err, VP_ERR_INTERRUPTED, "interrupted during %s/%s", p->name, r->id);
        vp_experiment_free(e);
        double dt = now_s() - t0;
        sum->seconds += dt;
        if (st) {
            vp_err_prefix(err, "%s/%s", p->name, r->id);
            break;
        }
        cJSON *jr = cJSON_CreateObject();
        cJSON_AddItemToArray(jruns, jr);
        char rel[400], plots[420];
        snprintf(rel, sizeof rel, "%s/%s", p->name, r->id);
        snprintf(plots, sizeof plots, "%s/%s-plots", p->name, r->id);
        cJSON_AddStringToObject(jr, "id", r->id);
        cJSON_AddStringToObject(jr, "config", r->config);
        cJSON_AddStringToObject(jr, "results", rel);
        cJSON_AddStringToObject(jr, "plots", plots);
        cJSON_AddNumberToObject(jr, "seconds", dt);
        if (o->log) fprintf(o->log, "varprop reproduce: %s/%s done in %.1f s\n", p->name, r->id, dt);
    }
    for (int c = 0; !st && c < p->nclaims; c++) {
        const vp_repro_claim *cl = &p->claims[c];
        int ri = 0;
        while (ri < p->nruns && *cl->run && strcmp(p->runs[ri].id, cl->run) != 0) ri++;
        cJSON *jc = cJSON_CreateObject();
        cJSON_AddItemToArray(jclaims, jc);
        cJSON_AddStringToObject(jc, "id", cl->id);
        cJSON_AddStringToObject(jc, "statement", cl->statement);
        cJSON_AddStringToObject(jc, "tag", cl->tag);
        cJSON_AddStringToObject(jc, "source", cl->source);
        cJSON_AddStringToObject(jc, "why_tol", cl->why_tol);
        cJSON_AddStringToObject(jc, "note", cl->note);
        const char *skipped = ri < p->nruns && o->fast && *p->runs[ri].full_only ? p->runs[ri].full_only : NULL;
        vp_repro_verdict v = judge(cl, &tb[ri < p->nruns ? ri : 0], jc, o->fast, skipped);
        sum->count[v]++;
        if (o->log)
            fprintf(o->log, "varprop reproduce: %-8s %s/%s\n", vp_repro_verdict_word(v), p->name, cl->id);
    }
    for (int i = 0; tb && i < p->nruns; i++) vp_repro_tables_free(&tb[i]);
    free(tb);
    return st;
}

vp_status vp_repro_run(const char *const *papers, int npapers, const vp_repro_opts *o, vp_repro_summary *sum,
                       vp_err *err)
{
    memset(sum, 0, sizeof *sum);
    if (npapers < 1 || npapers > VP_REPRO_MAX_PAPERS || o->threads < 1)
        return vp_fail(err, VP_ERR_USAGE, "reproduce: 1..%d papers and threads >= 1", VP_REPRO_MAX_PAPERS);
    vp_status st = vp_repro_check(o->suite_dir, papers, npapers, o->fast, err);
    if (st) return st;
    vp_repro_paper *ps = calloc((size_t)npapers, sizeof *ps);
    if (!ps) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    int loaded = 0;
    for (; !st && loaded < npapers; loaded++) {
        st = load_paper(o->suite_dir, papers[loaded], o->fast, &ps[loaded], err);
        if (st) break;
    }
    cJSON *root = cJSON_CreateObject(), *jpapers = root ? cJSON_AddArrayToObject(root, "papers") : NULL;
    if (!st && !jpapers) st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    if (!st) {
        cJSON_AddBoolToObject(root, "fast", o->fast);
        cJSON_AddStringToObject(root, "suite", o->suite_dir);
    }
    for (int i = 0; !st && i < npapers; i++) {
        cJSON *jp = cJSON_CreateObject();
        cJSON_AddItemToArray(jpapers, jp);
        cJSON_AddStringToObject(jp, "name", ps[i].name);
        cJSON_AddStringToObject(jp, "title", ps[i].title);
        char readme[400];
        snprintf(readme, sizeof readme, "%s/%s/%s", o->suite_dir, ps[i].name, VP_FILE_PAPER_README);
        cJSON_AddStringToObject(jp, "readme", readme);
        st = run_paper(o->suite_dir, &ps[i], o, jp, sum, err);
    }
    if (!st) cJSON_AddNumberToObject(root, "seconds", sum->seconds);
    char *text = st ? NULL : cJSON_Print(root);
    if (!st && !text) st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    if (!st) {
        char path[4400];
        vp_afile f = { 0 };
        st = vp_path_join(path, sizeof path, o->out_dir, VP_FILE_VERDICTS, err);
        if (!st) st = vp_afile_open(&f, path, err);
        if (!st && (fputs(text, f.fp) < 0 || fputc('\n', f.fp) < 0)) {
            vp_afile_abort(&f);
            st = vp_fail(err, VP_ERR_IO, "%s: write failed", path);
        } else if (!st) {
            st = vp_afile_commit(&f, err);
        }
    }
    free(text);
    cJSON_Delete(root);
    for (int i = 0; i < loaded && i < npapers; i++) vp_repro_paper_free(&ps[i]);
    free(ps);
    return st;
}
