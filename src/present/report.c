/* report: see report.h. */
#include "present/report.h"
#include "base/fsutil.h"
#include "results/results.h"
#include "results/summary.h"
#include "results/table.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES VP_RECORD_MAX_BYTES

/* ---- config.json ---- */

vp_status vp_report_read_config(const char *results_dir, cJSON **out, vp_err *err)
{
    char path[4096], *text;
    size_t len;
    *out = NULL;
    vp_status s = vp_path_join(path, sizeof path, results_dir, VP_FILE_CONFIG, err);
    if (s || (s = vp_read_file(path, CONFIG_MAX_BYTES, &text, &len, err))) return s;
    const char *end = NULL;
    cJSON *cfg = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!cfg || !cJSON_IsObject(cfg)) {
        size_t line = 1;
        for (const char *c = text; end && c < end && *c; c++) line += *c == '\n';
        cJSON_Delete(cfg);
        free(text);
        return vp_fail(err, VP_ERR_DATA, "%s:%zu: not a valid JSON object", path, line);
    }
    free(text);
    *out = cfg;
    return VP_OK;
}

/* ---- settings ---- */

const cJSON *vp_report_swept(const cJSON *cfg, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "sweep"), key);
    return cJSON_IsArray(v) ? v : NULL;
}

int vp_report_setting(const cJSON *cfg, const char *key, char *buf, size_t len)
{
    const cJSON *sw = vp_report_swept(cfg, key), *it;
    buf[0] = '\0';
    if (sw) {
        double lo = INFINITY, hi = -INFINITY;
        int numbers = 1;
        cJSON_ArrayForEach(it, sw) {
            numbers &= cJSON_IsNumber(it);
            if (numbers) { lo = fmin(lo, it->valuedouble); hi = fmax(hi, it->valuedouble); }
        }
        if (!numbers || !(lo <= hi)) snprintf(buf, len, "swept");
        else if (lo == hi) snprintf(buf, len, "%g", lo);
        else snprintf(buf, len, "%g–%g", lo, hi);
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s", key);
    const cJSON *x = cfg;
    for (char *save = NULL, *part = strtok_r(path, ".", &save); part && x; part = strtok_r(NULL, ".", &save))
        x = cJSON_GetObjectItemCaseSensitive(x, part);
    if (cJSON_IsNumber(x)) snprintf(buf, len, "%g", x->valuedouble);
    else if (cJSON_IsString(x)) snprintf(buf, len, "%s", x->valuestring);
    else return 0;
    return 1;
}

/* ---- Markdown output ---- */

/* Text inside a Markdown line (never at its start): control characters become
 * spaces and every character with an inline Markdown, HTML or math meaning is
 * backslash-escaped, so text from a config can neither break the table nor
 * inject links, images, HTML or formulas. Block syntax (#, -, 1.) only acts at
 * the start of a line, and every call site writes a prefix first. */
static void md_text(FILE *f, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x20 || *c == 0x7F) { fputc(' ', f); continue; }
        if (strchr("\\`*_[]<>|~&!$", *c)) fputc('\\', f);
        fputc(*c, f);
    }
}

static void md_number(FILE *f, double v)
{
    if (isnan(v)) fputs("nan", f);
    else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.3g", v);
}

/* A fenced code block whose fence is longer than any backtick run inside. */
static void md_code(FILE *f, const char *lang, const char *text)
{
    size_t run = 0, best = 0;
    for (const char *c = text; *c; c++) {
        run = *c == '`' ? run + 1 : 0;
        if (run > best) best = run;
    }
    size_t fence = best < 3 ? 3 : best + 1;
    for (size_t i = 0; i < fence; i++) fputc('`', f);
    fprintf(f, "%s\n%s", lang, text);
    if (*text && text[strlen(text) - 1] != '\n') fputc('\n', f);
    for (size_t i = 0; i < fence; i++) fputc('`', f);
    fputs("\n\n", f);
}

/* ---- the summary table ---- */

/* The config's seed count (0 when config.json does not list them). */
static int config_seeds(const cJSON *cfg)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cfg, "seeds");
    return cJSON_IsArray(x) ? cJSON_GetArraySize(x) : 0;
}

/* 1 if some variant has fewer completed seeds than the config lists (an interrupted run). */
static int partial_seeds(const vp_summary *sum, const cJSON *cfg)
{
    for (size_t i = 0; i < sum->nvar; i++)
        if (sum->var[i].nok < (size_t)config_seeds(cfg)) return 1;
    return 0;
}

/* "median (min–max)" of the finite values, plus how many were not finite. */
static void ratio_cell(FILE *f, const vp_ratio_summary *r)
{
    const vp_stat *v = &r->finite;
    size_t bad = r->n - v->n;
    if (v->n == 0) fputs("—", f);
    else {
        md_number(f, v->med);
        if (v->n > 1) { fputs(" (", f); md_number(f, v->lo); fputs("–", f); md_number(f, v->hi); fputs(")", f); }
    }
    if (bad) fprintf(f, "%s%zu non-finite", v->n ? "; " : " ", bad);
}

/* Verdict counts of a variant's seeds, e.g. "stable ×2, exploding ×1". */
static void verdict_cell(FILE *f, const vp_ratio_summary *r)
{
    for (size_t k = 0; k < r->nseen; k++) {
        if (k) fputs(", ", f);
        md_text(f, vp_verdict_word(r->seen[k]));
        if (r->nseen > 1 || r->n > 1) fprintf(f, " ×%zu", r->votes[r->seen[k]]);
    }
    if (r->nseen == 0) fputs("—", f);
}

static int is_core_key(const char *k)
{
    return strcmp(k, VP_SWEEP_ACTIVATION) == 0 || strcmp(k, VP_SWEEP_INIT) == 0;
}

/* The columns that name a variant in a report table: activation, initializer and the
 * other swept keys (runs.csv's columns of their values). */
typedef struct {
    size_t ca, ci;
    int xcol[32];
    const char *xname[32];
    size_t nx;
} label_cols;

static vp_status label_columns(const vp_table *t, const cJSON *cfg, label_cols *lc, vp_err *err)
{
    vp_status s;
    lc->nx = 0;
    if ((s = vp_table_require_col(t, VP_COL_ACTIVATION, &lc->ca, err)) || (s = vp_table_require_col(t, VP_COL_INIT, &lc->ci, err)))
        return s;
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(cfg, "sweep"), *it;
    cJSON_ArrayForEach(it, sw) {
        if (!it->string || is_core_key(it->string) || lc->nx == 32) continue;
        int c = vp_table_find(t, it->string);
        if (c >= 0) { lc->xcol[lc->nx] = c; lc->xname[lc->nx++] = it->string; }
    }
    return VP_OK;
}

/* "| # | activation | initializer | key ... |" */
static void label_head(FILE *f, const label_cols *lc)
{
    fputs("| # | activation | initializer |", f);
    for (size_t k = 0; k < lc->nx; k++) { fputc(' ', f); md_text(f, lc->xname[k]); fputs(" |", f); }
}

/* "| id | act | init | values ... |" of the variant whose first runs.csv row is r0 */
static void label_cells(FILE *f, const vp_table *t, const label_cols *lc, long id, size_t r0)
{
    fprintf(f, "| %ld | ", id);
    md_text(f, vp_table_cell(t, r0, lc->ca));
    fputs(" | ", f);
    md_text(f, vp_table_cell(t, r0, lc->ci));
    fputs(" |", f);
    for (size_t k = 0; k < lc->nx; k++) { fputc(' ', f); md_text(f, vp_table_cell(t, r0, (size_t)lc->xcol[k])); fputs(" |", f); }
}

/* One row per variant: its labels and extra swept values (from its first row), the
 * ratios and verdicts over its seeds that ran, the seed counts. */
static vp_status summary_table(FILE *f, const vp_table *t, const vp_summary *sum, const cJSON *cfg, vp_err *err)
{
    label_cols lc;
    vp_status s = label_columns(t, cfg, &lc, err);
    if (s) return s;
    size_t nseeds = (size_t)config_seeds(cfg);
    /* the theory's ratios beside the measured ones, where runs.csv has them */
    int theory = vp_table_find_col(t, vp_ratio_theory_col(VP_RATIO_ACT)) >= 0;
    label_head(f, &lc);
    /* a block network's ratios are of layer outputs a..b, its hidden stack (run.c) */
    int blocks = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "network"),
                                                                "layers"));
    fprintf(f, " %s = %s |%s activations | %s = %s |%s gradients | seeds |\n", vp_col_name(VP_COL_ACT_RATIO),
            blocks ? "Var[out^b]/Var[out^a]" : "Var[z^L]/Var[z^1]", theory ? " theory |" : "",
            vp_col_name(VP_COL_GRAD_RATIO), blocks ? "Var[∂L/∂out^a]/Var[∂L/∂out^b]" : "Var[∂L/∂z^1]/Var[∂L/∂z^L]",
            theory ? " theory |" : "");
    fputs("|---:|---|---|", f);
    for (size_t k = 0; k < lc.nx; k++) fputs("---|", f);
    fprintf(f, "---:|%s---|---:|%s---|---|\n", theory ? "---:|" : "", theory ? "---:|" : "");
    for (size_t i = 0; i < sum->nvar; i++) {
        const vp_variant_summary *v = &sum->var[i];
        label_cells(f, t, &lc, v->id, v->first_row);
        for (int k = 0; k < VP_RATIO_COUNT; k++) {
            fputs(k ? " | " : " ", f);
            ratio_cell(f, &v->ratio[k]);
            if (theory && v->theory[k].n) fprintf(f, " | %.3g", v->theory[k].med);
            else if (theory) fputs(" | —", f);
            fputs(" | ", f);
            verdict_cell(f, &v->ratio[k]);
        }
        fprintf(f, " | %zu", v->nok);
        if (v->nok < nseeds) fprintf(f, " of %zu", nseeds); /* an interrupted run: the real count */
        fputs(" ok", f);
        if (v->nrows > v->nok) fprintf(f, ", %zu failed", v->nrows - v->nok);
        fputs(" |\n", f);
    }
    fputs("\nRatios: median over the seeds that ran (min–max in brackets). "
          "Verdicts are varprop's per-seed classification, with the number of seeds.", f);
    if (blocks)
        fputs(" Block network: out^a .. out^b are the layer outputs of its hidden stack, the longest run of "
              "consecutive layers of one output shape outside residual branches (all of them when no two share "
              "one; the terminal summary names a..b).", f);
    if (theory && blocks)
        fprintf(f, " Theory: the same ratios of the layer outputs predicted by mean-field theory for an infinitely "
                   "wide net (%s, %s; median over the seeds; — where a layer a..b has no prediction, e.g. after a "
                   "pool); per layer in layers.csv.", vp_col_name(VP_COL_THEORY_ACT_RATIO),
                vp_col_name(VP_COL_THEORY_GRAD_RATIO));
    if (theory && !blocks)
        fprintf(f, " Theory: the same ratios predicted by mean-field theory for an infinitely wide net (%s, %s; median "
                   "over the seeds; — where nothing is predicted).", vp_col_name(VP_COL_THEORY_ACT_RATIO),
                vp_col_name(VP_COL_THEORY_GRAD_RATIO));
    fputs("\n\n", f);
    return VP_OK;
}

/* ---- the report ---- */

/* " word value," for a setting config.json has (vp_report_setting). */
static void setting(FILE *f, const cJSON *cfg, const char *key, const char *word)
{
    char v[256];
    if (!vp_report_setting(cfg, key, v, sizeof v)) return;
    fprintf(f, " %s%s", word, word[0] ? " " : "");
    md_text(f, v);
    fputc(',', f);
}

/* The setup line; `partial`: some variant has fewer finished seeds than the config. */
static void setup_line(FILE *f, const cJSON *cfg, int partial)
{
    const cJSON *x;
    fputs("**Setup:**", f);
    setting(f, cfg, "network.depth", "depth");
    if (vp_report_swept(cfg, "network.widths")) fputs(" widths swept,", f);
    else {
        setting(f, cfg, "network.width", "width");
        setting(f, cfg, "network.input_dim", "input dimension");
    }
    setting(f, cfg, "input.batch", "batch");
    setting(f, cfg, "input.distribution", "inputs");
    if (config_seeds(cfg))
        fprintf(f, " %d seeds%s,", config_seeds(cfg), partial ? " (not all finished: see the seeds column)" : "");
    setting(f, cfg, "precision", "");
    x = cJSON_GetObjectItemCaseSensitive(cfg, "theory");
    fprintf(f, " theory %s.", vp_report_swept(cfg, "theory") ? "swept" : cJSON_IsTrue(x) ? "on" : "off");
    if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(cfg, "varprop_version"))) {
        fputs(" varprop ", f);
        md_text(f, x->valuestring);
        fputc('.', f);
    }
    fputs("\n\n", f);
}

/* Median [min, max] over seeds of vals[0..n) (sorted here), as a table cell. */
static void stat_cell(FILE *f, double *vals, size_t n)
{
    qsort(vals, n, sizeof *vals, vp_cmp_double);
    vp_stat st = vp_stat_of(vals, n);
    fputs(" | ", f);
    if (!st.n) { fputs("–", f); return; }
    fprintf(f, "%.4f", st.med);
    if (n > 1) fprintf(f, " [%.4f, %.4f]", st.lo, st.hi);
}

/* 1 if runs.csv says the run of variant id with seed `seed` (its text) diverged. */
static int run_diverged(const vp_table *runs, size_t crv, size_t crs, size_t cst, long id, const char *seed)
{
    for (size_t r = 0; r < vp_table_nrows(runs); r++) {
        long v;
        if (vp_table_int(runs, r, crv, 0, VP_VARIANT_MAX, &v, NULL) == VP_OK && v == id &&
            strcmp(vp_table_cell(runs, r, crs), seed) == 0)
            return strcmp(vp_table_cell(runs, r, cst), VP_STATUS_DIVERGED) == 0;
    }
    return 0;
}

/* "## Training" (a results folder with eval.csv): per variant (named as in the summary,
 * swept keys too) the final accuracies -- each seed's last eval.csv row, diverged seeds
 * left out -- and the runs that diverged (runs.csv status). */
static vp_status training_section(FILE *f, const char *results_dir, const vp_table *runs, const vp_summary *sum,
                                  const cJSON *cfg, vp_err *err)
{
    char path[4096];
    vp_table *ev = NULL;
    vp_status s = vp_path_join(path, sizeof path, results_dir, VP_FILE_EVAL, err);
    if (s || access(path, F_OK) != 0) return s;
    if ((s = vp_table_load(path, &ev, err))) return s;
    size_t cv, cs, ce, ct, ca, cst = 0, crv = 0, crs = 0, nr = vp_table_nrows(ev);
    label_cols lc;
    if ((s = vp_table_require_col(ev, VP_COL_VARIANT, &cv, err)) || (s = vp_table_require_col(ev, VP_COL_SEED, &cs, err)) ||
        (s = vp_table_require_col(ev, VP_COL_EPOCH, &ce, err)) || (s = vp_table_require_col(ev, VP_COL_TEST_ACC, &ct, err)) ||
        (s = vp_table_require_col(ev, VP_COL_TRAIN_ACC, &ca, err)) ||
        (s = vp_table_require_col(runs, VP_COL_STATUS, &cst, err)) || (s = vp_table_require_col(runs, VP_COL_VARIANT, &crv, err)) ||
        (s = vp_table_require_col(runs, VP_COL_SEED, &crs, err)) || (s = label_columns(runs, cfg, &lc, err))) {
        vp_table_free(ev);
        return s;
    }
    double *test = malloc((nr + 1) * sizeof *test), *train = malloc((nr + 1) * sizeof *train);
    if (!test || !train) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    fputs("## Training\n\nFinal accuracies: each seed's last evaluation (eval.csv), median [min, max] over the seeds "
          "that did not diverge (– when none is left); diverged: runs whose loss became NaN/Inf (runs.csv status), "
          "whose last evaluation is from before the divergence.\n\n", f);
    label_head(f, &lc);
    fputs(" epochs | test accuracy | train accuracy | diverged |\n|---:|---|---|", f);
    for (size_t k = 0; k < lc.nx; k++) fputs("---|", f);
    fputs("---|---|---|---|\n", f);
    for (size_t i = 0; !s && i < sum->nvar; i++) {
        long id = sum->var[i].id, epochs = 0, diverged = 0;
        size_t n = 0;
        /* eval.csv is in run order: a seed's rows are consecutive, its last one final */
        for (size_t r = 0; r < nr && !s; r++) {
            long v, e, vn = -1;
            if ((s = vp_table_int(ev, r, cv, 0, VP_VARIANT_MAX, &v, err)) || (s = vp_table_int(ev, r, ce, 0, 1L << 40, &e, err)))
                break;
            if (v != id) continue;
            if (r + 1 < nr && vp_table_int(ev, r + 1, cv, 0, VP_VARIANT_MAX, &vn, NULL) == VP_OK && vn == id &&
                strcmp(vp_table_cell(ev, r + 1, cs), vp_table_cell(ev, r, cs)) == 0)
                continue; /* not the seed's last row */
            epochs = e > epochs ? e : epochs;
            if (run_diverged(runs, crv, crs, cst, id, vp_table_cell(ev, r, cs))) continue; /* an accuracy from before */
            vp_table_num(ev, r, ct, &test[n], NULL);
            vp_table_num(ev, r, ca, &train[n], NULL);
            if (!isfinite(test[n])) test[n] = NAN;
            n++;
        }
        for (size_t r = 0; r < vp_table_nrows(runs); r++) {
            long v;
            if (vp_table_int(runs, r, crv, 0, VP_VARIANT_MAX, &v, NULL) == VP_OK && v == id &&
                strcmp(vp_table_cell(runs, r, cst), VP_STATUS_DIVERGED) == 0)
                diverged++;
        }
        size_t kt = 0, ka = 0;
        for (size_t k = 0; k < n; k++) {
            if (isfinite(test[k])) test[kt++] = test[k];
            if (isfinite(train[k])) train[ka++] = train[k];
        }
        label_cells(f, runs, &lc, id, sum->var[i].first_row);
        fprintf(f, " %ld", epochs);
        stat_cell(f, test, kt);
        stat_cell(f, train, ka);
        fprintf(f, " | %ld of %zu |\n", diverged, sum->var[i].nrows);
    }
    fputs("\n", f);
    free(test);
    free(train);
    vp_table_free(ev);
    return s;
}

/* "## Network" (a block network: layers.csv has the block columns): the layers of the
 * first run as a table -- path, type, output shape, parameters -- with the total, then
 * the variants whose network differs from it (a swept repeat count, say) with their
 * layer and parameter counts. */
static vp_status network_section(FILE *f, const char *results_dir, vp_err *err)
{
    char path[4096];
    vp_table *t = NULL;
    vp_status s = vp_path_join(path, sizeof path, results_dir, VP_FILE_LAYERS, err);
    if (s || (s = vp_table_load(path, &t, err))) return s;
    size_t cv, cl, cb, ct, csh, cp, nr = vp_table_nrows(t);
    if (vp_table_find_col(t, VP_COL_BLOCK) < 0 || vp_table_find_col(t, VP_COL_PARAMS) < 0 || nr == 0) {
        vp_table_free(t); /* a plain stack, or a folder from before the block columns */
        return VP_OK;
    }
    if ((s = vp_table_require_col(t, VP_COL_VARIANT, &cv, err)) || (s = vp_table_require_col(t, VP_COL_LAYER, &cl, err)) ||
        (s = vp_table_require_col(t, VP_COL_BLOCK, &cb, err)) || (s = vp_table_require_col(t, VP_COL_TYPE, &ct, err)) ||
        (s = vp_table_require_col(t, VP_COL_SHAPE, &csh, err)) || (s = vp_table_require_col(t, VP_COL_PARAMS, &cp, err))) {
        vp_table_free(t);
        return s;
    }
    fputs("## Network\n\nThe block network (network.layers) as varprop flattened it: one row per layer output of "
          "layers.csv (block = its path, output shape per example, parameters = weights, biases and the trained norm γ/β, residual α and Fixup scalar biases).\n\n"
          "| layer | block | type | output shape | parameters |\n|---|---|---|---|---|\n", f);
    /* A run's rows are consecutive and its layers count up from 1. */
    long id = 0, prev = 0, layer = 0, pr = 0, n = 0, total = 0, n0 = 0, total0 = 0, last_noted = -1;
    int runs = 0, noted = 0;
    for (size_t r = 0; r <= nr && !s; r++) {
        if (r < nr && ((s = vp_table_int(t, r, cl, 1, VP_LAYER_MAX, &layer, err)) ||
                       (s = vp_table_int(t, r, cp, 0, LONG_MAX, &pr, err))))
            break;
        if (r > 0 && (r == nr || layer <= prev)) { /* run `runs` ended at row r - 1 */
            if (runs++ == 0) {
                fprintf(f, "| | **total** | | | **%ld** |\n\n", total);
                n0 = n;
                total0 = total;
            } else if ((n != n0 || total != total0) && id != last_noted) {
                fprintf(f, "%s variant %ld: %ld layers, %ld parameters", noted++ ? ";" : "Variants with another network:",
                        id, n, total);
                last_noted = id;
            }
            n = total = 0;
        }
        if (r == nr) break;
        if ((s = vp_table_int(t, r, cv, 0, VP_VARIANT_MAX, &id, err))) break;
        prev = layer;
        n++;
        total += pr;
        if (runs == 0) {
            fprintf(f, "| %ld | ", layer);
            md_text(f, vp_table_cell(t, r, cb));
            fputs(" | ", f);
            md_text(f, vp_table_cell(t, r, ct));
            fputs(" | ", f);
            md_text(f, vp_table_cell(t, r, csh));
            fprintf(f, " | %ld |\n", pr);
        }
    }
    if (noted) fputs(".\n\n", f);
    vp_table_free(t);
    return s;
}

vp_status vp_report_write(const char *results_dir, const char *plots_dir,
                          const vp_report_chart *charts, size_t n, vp_err *err)
{
    cJSON *cfg = NULL;
    vp_table *runs = NULL;
    char path[4096], *cfgtext = NULL;
    size_t cfglen;
    vp_afile af = { 0 };
    vp_summary sum;
    int have_sum = 0;
    vp_status s;
    if ((s = vp_report_read_config(results_dir, &cfg, err))) return s;
    if ((s = vp_path_join(path, sizeof path, results_dir, VP_FILE_CONFIG, err)) ||
        (s = vp_read_file(path, CONFIG_MAX_BYTES, &cfgtext, &cfglen, err)))
        goto end;
    if ((s = vp_path_join(path, sizeof path, results_dir, VP_FILE_RUNS, err)) || (s = vp_table_load(path, &runs, err)))
        goto end;
    if ((s = vp_path_join(path, sizeof path, plots_dir, VP_FILE_REPORT, err)) || (s = vp_afile_open(&af, path, err)))
        goto end;
    af.no_sync = 1; /* drawn from the results folder like the charts: renamed complete, not fsynced (CK_NO_SYNC) */
    FILE *f = af.fp;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "name");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(cfg, "description");
    fputs("# Variance propagation: ", f);
    md_text(f, cJSON_IsString(nm) ? nm->valuestring : "unnamed experiment");
    fputs("\n\n", f);
    if (cJSON_IsString(desc) && desc->valuestring[0]) {
        fputs("**Description:** ", f);
        md_text(f, desc->valuestring);
        fputs("\n\n", f);
    }
    if ((s = vp_summary_build(runs, &sum, err))) goto end;
    have_sum = 1;
    setup_line(f, cfg, partial_seeds(&sum, cfg));
    fputs("Results folder: ", f);
    md_text(f, results_dir);
    fputs(". Everything below was drawn from its CSV files.\n\n## Summary\n\n", f);
    if ((s = summary_table(f, runs, &sum, cfg, err))) goto end;
    if ((s = network_section(f, results_dir, err))) goto end;
    if ((s = training_section(f, results_dir, runs, &sum, cfg, err))) goto end;

    fputs("## Charts\n\n", f);
    for (size_t i = 0; i < n; i++) {
        const vp_report_chart *c = &charts[i];
        /* Titles and captions are varprop's own text (Markdown-safe); notes may
         * quote labels from the config and are escaped. */
        fprintf(f, "### %s\n\n%s\n\n![%s](%s.png)", c->title, c->caption, c->title, c->stem);
        fprintf(f, "\n\n[SVG](%s.svg) · [gnuplot script](%s.gp) · [data](%s.dat)\n\n",
                c->stem, c->stem, c->stem);
        if (c->notes[0]) {
            fputs("> **Note.** ", f);
            md_text(f, c->notes);
            fputs("\n\n", f);
        }
    }
    fputs("To redraw a chart by hand: `cd` into this folder and run `gnuplot <chart>.gp`; "
          "to redraw everything from the results: `varprop plot RESULTS_DIR -o PLOTS_DIR`.\n\n", f);
    fputs("## Resolved configuration\n\n", f);
    /* config.json ends with "source", the config's own text as one escaped line: shown as
     * the config, not as that line (a record varprop wrote has it last, a tab in) */
    char *src = strstr(cfgtext, ",\n\t\"source\":\t\"");
    const char *after = src ? strchr(src + 2, '\n') : NULL; /* the line's end: the string escapes its newlines */
    if (after && strcmp(after, "\n}\n") == 0) strcpy(src, "\n}\n");
    else src = NULL;
    md_code(f, "json", cfgtext);
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(cfg, "source");
    if (src && cJSON_IsString(given)) {
        fputs("The config as given (config.json's `source`, from which `varprop run` runs it again):\n\n", f);
        md_code(f, "json", given->valuestring);
    }
    s = vp_afile_commit(&af, err);
end:
    vp_afile_abort(&af);
    if (have_sum) vp_summary_free(&sum);
    cJSON_Delete(cfg);
    vp_table_free(runs);
    free(cfgtext);
    return s;
}
