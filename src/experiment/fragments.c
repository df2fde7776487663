/* fragments: see fragments.h. */
#include "experiment/fragments.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "results/csv.h"
#include "results/results.h"

/* ---- one run's fragments ---- */
static void part_path(const vp_job *j, int r, const char *ext, char *out, size_t len)
{
    snprintf(out, len, "%s/" VP_PART_FORMAT, j->parts, r, ext);
}

static void csv_run(const vp_experiment *e, int r, char *act, char *init, size_t len, vp_csv_run *cr)
{
    int v = r / e->nseeds, s = r % e->nseeds;
    vp_act_label(&e->variants[v].act, act, len);
    vp_init_label(&e->variants[v].winit, init, len);
    cr->variant = v;
    cr->activation = act;
    cr->init = init;
    cr->seed = e->seeds[s];
    cr->nsweep = e->nsweep;
    cr->sweep_values = e->nsweep ? &e->sweep_values[(size_t)v * (size_t)e->nsweep] : NULL;
    cr->prec = e->variants[v].prec;
}

/* Open the `ext` fragment of run r. Fragments need not survive a machine crash
 * (a rerun with --resume redoes what is missing), so they are not fsync'ed. */
static vp_status frag_open(const vp_job *j, int r, const char *ext, vp_afile *f, vp_err *err)
{
    char path[4200];
    part_path(j, r, ext, path, sizeof path);
    vp_status s = vp_afile_open(f, path, err);
    f->no_sync = 1;
    return s;
}

vp_status vp_frag_write(const vp_job *j, int r, const vp_variant *var, const vp_layer_stats *st,
                        const double *tpre, const double *tgrad, const double *tchi, const double *tcorr,
                        const vp_histogram *hist,
                        const double *sv, const double *sq_len, const vp_run_sum *sum, double seconds,
                        vp_err *err)
{
    const vp_experiment *e = j->e;
    char act[256], init[256];
    vp_csv_run cr;
    csv_run(e, r, act, init, sizeof act, &cr);
    vp_afile f;
    vp_status s;

    if ((s = frag_open(j, r, vp_csv_layout_get(VP_CSV_LAYERS)->part, &f, err))) return s;
    vp_csv_layers_rows(f.fp, &cr, var->L, st, j->theory, tpre, tgrad, tchi, tcorr);
    if ((s = vp_afile_commit(&f, err))) return s;

    if (hist) {
        if ((s = frag_open(j, r, vp_csv_layout_get(VP_CSV_HIST)->part, &f, err))) return s;
        for (int l = 1; l <= var->L; l++)
            for (int q = 0; q < VP_HIST_QUANTITIES; q++) {
                const vp_histogram *h = &hist[(size_t)(l - 1) * VP_HIST_QUANTITIES + (size_t)q];
                if (h->density) vp_csv_hist_rows(f.fp, &cr, l, vp_hist_quantity_word((vp_hist_quantity)q), h);
            }
        if ((s = vp_afile_commit(&f, err))) return s;
    }

    if (sv) {
        if ((s = frag_open(j, r, vp_csv_layout_get(VP_CSV_JACOBIAN)->part, &f, err))) return s;
        int n = var->widths[0] < var->widths[var->L] ? var->widths[0] : var->widths[var->L];
        vp_csv_jacobian_rows(f.fp, &cr, n, sv);
        if ((s = vp_afile_commit(&f, err))) return s;
    }

    if (sq_len) {
        if ((s = frag_open(j, r, vp_csv_layout_get(VP_CSV_LENGTHS)->part, &f, err))) return s;
        vp_csv_lengths_rows(f.fp, &cr, var->batch, var->L, sq_len);
        if ((s = vp_afile_commit(&f, err))) return s;
    }

    vp_csv_summary cs = { var->L, var->batch, sum->act_ratio, sum->grad_ratio,
                          vp_verdict_word(vp_verdict_classify(sum->act_ratio, sum->nonfinite)),
                          vp_verdict_word(vp_verdict_classify(sum->grad_ratio, sum->nonfinite)),
                          sum->nonfinite, sum->subnormal, sum->xi_grad, sum->theory_chi1, sum->theory_xi_c,
                          seconds, VP_STATUS_OK, sum->xi_c, sum->theory_xi_grad };
    if ((s = frag_open(j, r, vp_csv_layout_get(VP_CSV_RUNS)->part, &f, err))) return s;
    vp_csv_runs_row(f.fp, &cr, j->theory, &cs);
    if ((s = vp_afile_commit(&f, err))) return s;

    /* The .sum marker is written last: its presence means the run is complete. */
    if ((s = frag_open(j, r, VP_PART_DONE, &f, err))) return s;
    fprintf(f.fp, "%.17g %.17g %lld %lld\n", sum->act_ratio, sum->grad_ratio, sum->nonfinite, sum->subnormal);
    return vp_afile_commit(&f, err);
}

/* ---- assembly ---- */
static vp_status append_file(FILE *out, const char *path, vp_err *err)
{
    FILE *in = fopen(path, "rb");
    if (!in) return vp_fail(err, VP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    int bad = ferror(in);
    fclose(in);
    return bad ? vp_fail(err, VP_ERR_IO, "cannot read %s", path) : VP_OK;
}

/* out/<file> = header + the fragment of every complete run, in run order. */
static vp_status assemble(const vp_job *j, vp_csv_file file, vp_err *err)
{
    const vp_csv_layout *lay = vp_csv_layout_get(file);
    const char *ext = lay->part;
    char path[4200], frag[4200];
    vp_status s = vp_path_join(path, sizeof path, j->o->out_dir, lay->file, err);
    if (s) return s;
    vp_afile f;
    if ((s = vp_afile_open(&f, path, err))) return s;
    vp_csv_header(f.fp, file, j->theory, j->e->nsweep, j->e->sweep_keys);
    for (int r = 0; r < vp_experiment_runs(j->e) && !s; r++) {
        if (!j->sums[r].done) continue;
        part_path(j, r, ext, frag, sizeof frag);
        s = append_file(f.fp, frag, err);
    }
    if (s) { vp_afile_abort(&f); return s; }
    return vp_afile_commit(&f, err);
}

static int any_hist(const vp_experiment *e)
{
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].hist_bins) return 1;
    return 0;
}

static int any_jacobian(const vp_experiment *e)
{
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].jacobian) return 1;
    return 0;
}

static int any_lengths(const vp_experiment *e)
{
    for (int v = 0; v < e->nvariants; v++)
        if (e->variants[v].lengths) return 1;
    return 0;
}

vp_status vp_frag_assemble(const vp_job *j, vp_err *err)
{
    vp_status s = assemble(j, VP_CSV_LAYERS, err);
    if (!s) s = assemble(j, VP_CSV_RUNS, err);
    if (!s && any_hist(j->e)) s = assemble(j, VP_CSV_HIST, err);
    if (!s && any_jacobian(j->e)) s = assemble(j, VP_CSV_JACOBIAN, err);
    if (!s && any_lengths(j->e)) s = assemble(j, VP_CSV_LENGTHS, err);
    return s;
}

void vp_frag_clear(const char *dir, int rmdir_too)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[4400];
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    if (rmdir_too) rmdir(dir);
}

/* ---- resume ---- */
vp_status vp_frag_write_config(const vp_job *j, vp_err *err)
{
    char path[4200];
    vp_afile f;
    vp_status s = vp_path_join(path, sizeof path, j->o->out_dir, VP_FILE_CONFIG, err);
    if (s || (s = vp_afile_open(&f, path, err))) return s;
    fputs(j->e->resolved_json, f.fp);
    fputc('\n', f.fp);
    return vp_afile_commit(&f, err);
}

int vp_frag_load_done(vp_job *j, int r)
{
    char path[4200];
    part_path(j, r, "sum", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    vp_run_sum s = { 1, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN };
    int ok = fscanf(f, "%lf %lf %lld %lld", &s.act_ratio, &s.grad_ratio, &s.nonfinite, &s.subnormal) == 4;
    fclose(f);
    if (ok) j->sums[r] = s;
    return ok;
}

vp_status vp_frag_check_resume(const vp_job *j, vp_err *err)
{
    char path[4200];
    vp_status s = vp_path_join(path, sizeof path, j->o->out_dir, VP_FILE_CONFIG, err);
    if (s) return s;
    /* config.json holds the resolved config and a final newline: a longer file
     * (VP_ERR_DATA from vp_read_file) differs as well. */
    size_t want = strlen(j->e->resolved_json) + 1, n = 0;
    char *buf = NULL;
    vp_err rerr;
    s = vp_read_file(path, want, &buf, &n, &rerr);
    if (s == VP_ERR_IO)
        return vp_fail(err, VP_ERR_CONFIG, "--resume: %s has no " VP_FILE_CONFIG "; nothing to resume", j->o->out_dir);
    if (s == VP_ERR_NOMEM) return vp_fail(err, s, "%s", rerr.msg);
    int same = !s && n == want && memcmp(buf, j->e->resolved_json, want - 1) == 0 && buf[want - 1] == '\n';
    free(buf);
    if (!same)
        return vp_fail(err, VP_ERR_CONFIG, "--resume: the results in %s were made by a different config "
                       "(" VP_FILE_CONFIG " differs); run without --resume to start over, or choose another -o",
                       j->o->out_dir);
    return VP_OK;
}
