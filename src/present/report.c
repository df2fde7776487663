/* report: see report.h. */
#include "present/report.h"
#include "base/fsutil.h"
#include "results/table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_BYTES ((size_t)16 << 20)

/* ---- config.json ---- */

static vp_status read_file(const char *path, size_t max, char **out, size_t *len, vp_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return vp_fail(err, VP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    vp_status s = VP_OK;
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > max) { s = vp_fail(err, VP_ERR_DATA, "%s is larger than %zu MiB", path, max >> 20); break; }
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0) break;
    }
    if (!buf) s = vp_fail(err, VP_ERR_NOMEM, "out of memory reading %s", path);
    else if (!s && ferror(f)) s = vp_fail(err, VP_ERR_IO, "cannot read %s", path);
    fclose(f);
    if (s) { free(buf); return s; }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return VP_OK;
}

vp_status vp_report_read_config(const char *results_dir, cJSON **out, vp_err *err)
{
    char path[4096], *text;
    size_t len;
    *out = NULL;
    vp_status s = vp_path_join(path, sizeof path, results_dir, "config.json", err);
    if (s || (s = read_file(path, CONFIG_MAX_BYTES, &text, &len, err))) return s;
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

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* "median (min–max)" of the finite values, plus how many were not finite. */
static void ratio_cell(FILE *f, double *v, size_t n)
{
    size_t k = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(v[i])) v[k++] = v[i];
        else bad++;
    }
    if (k == 0) fputs("—", f);
    else {
        qsort(v, k, sizeof *v, cmp_d);
        double med = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
        md_number(f, med);
        if (k > 1) { fputs(" (", f); md_number(f, v[0]); fputs("–", f); md_number(f, v[k - 1]); fputs(")", f); }
    }
    if (bad) fprintf(f, "%s%zu non-finite", k ? "; " : " ", bad);
}

/* Verdict counts of a variant's rows, e.g. "stable ×2, exploding ×1". */
static void verdict_cell(FILE *f, const vp_table *t, const size_t *rows, size_t n, size_t col)
{
    const char *seen[16];
    size_t cnt[16], ns = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = vp_table_cell(t, rows[i], col);
        size_t k;
        for (k = 0; k < ns && strcmp(seen[k], v) != 0; k++) {}
        if (k == ns) {
            if (ns == 16) continue;
            seen[ns] = v;
            cnt[ns++] = 0;
        }
        cnt[k]++;
    }
    for (size_t k = 0; k < ns; k++) {
        if (k) fputs(", ", f);
        md_text(f, seen[k][0] ? seen[k] : "?");
        if (ns > 1 || n > 1) fprintf(f, " ×%zu", cnt[k]);
    }
    if (ns == 0) fputs("—", f);
}

static int is_core_key(const char *k)
{
    return strcmp(k, "network.activation") == 0 || strcmp(k, "network.init") == 0;
}

static vp_status summary_table(FILE *f, const vp_table *t, const cJSON *cfg, vp_err *err)
{
    size_t cv, ca, ci, car, cgr, cav, cgv;
    vp_status s;
    if ((s = vp_table_require(t, "variant", &cv, err)) || (s = vp_table_require(t, "activation", &ca, err)) ||
        (s = vp_table_require(t, "init", &ci, err)) || (s = vp_table_require(t, "act_ratio", &car, err)) ||
        (s = vp_table_require(t, "grad_ratio", &cgr, err)) || (s = vp_table_require(t, "act_verdict", &cav, err)) ||
        (s = vp_table_require(t, "grad_verdict", &cgv, err)))
        return s;
    int cst = vp_table_find(t, "status");
    size_t nr = vp_table_nrows(t);
    /* Extra columns: swept keys other than activation and initializer. */
    int xcol[32];
    const char *xname[32];
    size_t nx = 0;
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(cfg, "sweep"), *it;
    cJSON_ArrayForEach(it, sw) {
        if (!it->string || is_core_key(it->string) || nx == 32) continue;
        int c = vp_table_find(t, it->string);
        if (c >= 0) { xcol[nx] = c; xname[nx++] = it->string; }
    }
    size_t *rows = malloc((nr + 1) * sizeof *rows), *okrows = malloc((nr + 1) * sizeof *okrows);
    double *va = malloc((nr + 1) * sizeof *va), *vg = malloc((nr + 1) * sizeof *vg);
    int *done = calloc(nr + 1, sizeof *done);
    if (!rows || !okrows || !va || !vg || !done) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }

    fputs("| # | activation | initializer |", f);
    for (size_t k = 0; k < nx; k++) { fputc(' ', f); md_text(f, xname[k]); fputs(" |", f); }
    fputs(" act_ratio = Var[z^L]/Var[z^1] | activations | grad_ratio = Var[∂L/∂z^1]/Var[∂L/∂z^L] | gradients | seeds |\n", f);
    fputs("|---:|---|---|", f);
    for (size_t k = 0; k < nx; k++) fputs("---|", f);
    fputs("---:|---|---:|---|---|\n", f);
    /* Rows in variant order: repeatedly take the smallest id not yet listed. */
    for (;;) {
        double best = INFINITY;
        for (size_t r = 0; r < nr; r++) {
            double id;
            if (done[r]) continue;
            if ((s = vp_table_num(t, r, cv, &id, err))) goto end;
            if (id < best) best = id;
        }
        if (!isfinite(best)) break;
        size_t n = 0, nok = 0;
        for (size_t r = 0; r < nr; r++) {
            double id;
            vp_table_num(t, r, cv, &id, NULL);
            if (done[r] || id != best) continue;
            done[r] = 1;
            rows[n++] = r;
            if (cst < 0 || strcmp(vp_table_cell(t, r, (size_t)cst), "ok") == 0) {
                if ((s = vp_table_num(t, r, car, &va[nok], err)) || (s = vp_table_num(t, r, cgr, &vg[nok], err)))
                    goto end;
                okrows[nok++] = r;
            }
        }
        size_t r0 = rows[0];
        fprintf(f, "| %.0f | ", best);
        md_text(f, vp_table_cell(t, r0, ca));
        fputs(" | ", f);
        md_text(f, vp_table_cell(t, r0, ci));
        fputs(" |", f);
        for (size_t k = 0; k < nx; k++) { fputc(' ', f); md_text(f, vp_table_cell(t, r0, (size_t)xcol[k])); fputs(" |", f); }
        fputc(' ', f);
        ratio_cell(f, va, nok);
        fputs(" | ", f);
        verdict_cell(f, t, okrows, nok, cav);
        fputs(" | ", f);
        ratio_cell(f, vg, nok);
        fputs(" | ", f);
        verdict_cell(f, t, okrows, nok, cgv);
        fprintf(f, " | %zu ok", nok);
        if (n > nok) fprintf(f, ", %zu failed", n - nok);
        fputs(" |\n", f);
    }
    fputs("\nRatios: median over the seeds that ran (min–max in brackets). "
          "Verdicts are varprop's per-seed classification, with the number of seeds.\n\n", f);
end:
    free(rows);
    free(okrows);
    free(va);
    free(vg);
    free(done);
    return s;
}

/* ---- the report ---- */

static void setup_line(FILE *f, const cJSON *cfg)
{
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(cfg, "network");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(cfg, "input");
    const cJSON *x;
    fputs("**Setup:**", f);
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(net, "depth"))) fprintf(f, " depth %g,", x->valuedouble);
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(net, "width"))) fprintf(f, " width %g,", x->valuedouble);
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(net, "input_dim"))) fprintf(f, " input dimension %g,", x->valuedouble);
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(in, "batch"))) fprintf(f, " batch %g,", x->valuedouble);
    if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(in, "distribution"))) {
        fputs(" inputs ", f);
        md_text(f, x->valuestring);
        fputc(',', f);
    }
    if (cJSON_IsArray(x = cJSON_GetObjectItemCaseSensitive(cfg, "seeds"))) fprintf(f, " %d seeds,", cJSON_GetArraySize(x));
    if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(cfg, "precision"))) { fputc(' ', f); md_text(f, x->valuestring); fputc(',', f); }
    x = cJSON_GetObjectItemCaseSensitive(cfg, "theory");
    fprintf(f, " theory %s.", cJSON_IsTrue(x) ? "on" : "off");
    if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(cfg, "varprop_version"))) {
        fputs(" varprop ", f);
        md_text(f, x->valuestring);
        fputc('.', f);
    }
    fputs("\n\n", f);
}

vp_status vp_report_write(const char *results_dir, const char *plots_dir,
                          const vp_report_chart *charts, size_t n, vp_err *err)
{
    cJSON *cfg = NULL;
    vp_table *runs = NULL;
    char path[4096], *cfgtext = NULL;
    size_t cfglen;
    vp_afile af = { 0 };
    vp_status s;
    if ((s = vp_report_read_config(results_dir, &cfg, err))) return s;
    if ((s = vp_path_join(path, sizeof path, results_dir, "config.json", err)) ||
        (s = read_file(path, CONFIG_MAX_BYTES, &cfgtext, &cfglen, err)))
        goto end;
    if ((s = vp_path_join(path, sizeof path, results_dir, "runs.csv", err)) || (s = vp_table_load(path, &runs, err)))
        goto end;
    if ((s = vp_path_join(path, sizeof path, plots_dir, "report.md", err)) || (s = vp_afile_open(&af, path, err)))
        goto end;
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
    setup_line(f, cfg);
    fputs("Results folder: ", f);
    md_text(f, results_dir);
    fputs(". Everything below was drawn from its CSV files.\n\n## Summary\n\n", f);
    if ((s = summary_table(f, runs, cfg, err))) goto end;

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
    md_code(f, "json", cfgtext);
    s = vp_afile_commit(&af, err);
end:
    vp_afile_abort(&af);
    cJSON_Delete(cfg);
    vp_table_free(runs);
    free(cfgtext);
    return s;
}
