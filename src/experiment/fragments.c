/* fragments: see fragments.h. */
#include "experiment/fragments.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/fsutil.h"
#include "base/lock.h"
#include "results/csv.h"
#include "results/results.h"

/* ---- one run's fragments ---- */
static void part_name(int r, const char *ext, char *out, size_t len)
{
    snprintf(out, len, VP_PART_FORMAT, r, ext);
}

static void part_path(const vp_job *j, int r, const char *ext, char *out, size_t len)
{
    char name[128];
    vp_err ignore; /* j->parts is a checked path: its fragments' paths fit */
    part_name(r, ext, name, sizeof name);
    if (vp_path_join(out, len, j->parts, name, &ignore)) out[0] = '\0';
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
                        const double *tpre, const double *tgrad, const vp_histogram *hist,
                        const double *sv, const vp_run_sum *sum, double seconds, vp_err *err)
{
    const vp_experiment *e = j->e;
    char act[256], init[256];
    vp_csv_run cr;
    csv_run(e, r, act, init, sizeof act, &cr);
    vp_afile f;
    vp_status s;

    if ((s = frag_open(j, r, vp_csv_layout_get(VP_CSV_LAYERS)->part, &f, err))) return s;
    vp_csv_layers_rows(f.fp, &cr, var->L, st, j->theory, tpre, tgrad);
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

    vp_csv_summary cs = { var->L, var->batch, sum->act_ratio, sum->grad_ratio,
                          vp_verdict_word(vp_verdict_classify(sum->act_ratio, sum->nonfinite)),
                          vp_verdict_word(vp_verdict_classify(sum->grad_ratio, sum->nonfinite)),
                          sum->nonfinite, sum->subnormal, sum->xi_grad, sum->theory_chi1, sum->theory_xi_c,
                          seconds, VP_STATUS_OK };
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

/* .parts/<file> = header + the fragment of every complete run, in run order (staged:
 * vp_frag_publish moves it into the results folder). */
static vp_status assemble(const vp_job *j, vp_csv_file file, vp_err *err)
{
    const vp_csv_layout *lay = vp_csv_layout_get(file);
    const char *ext = lay->part;
    char path[4200], frag[4200];
    vp_status s = vp_path_join(path, sizeof path, j->parts, lay->file, err);
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

vp_status vp_frag_assemble(const vp_job *j, vp_err *err)
{
    vp_status s = assemble(j, VP_CSV_LAYERS, err);
    if (!s) s = assemble(j, VP_CSV_RUNS, err);
    if (!s && any_hist(j->e)) s = assemble(j, VP_CSV_HIST, err);
    if (!s && any_jacobian(j->e)) s = assemble(j, VP_CSV_JACOBIAN, err);
    return s;
}

/* A name varprop writes in .parts: a run's fragment (VP_PART_FORMAT with a CSV's part
 * or VP_PART_DONE) or a results file staged there. */
static int parts_entry(const char *name)
{
    for (const char *const *n = vp_results_files(); *n; n++)
        if (strcmp(name, *n) == 0) return 1;
    const char *dot = strrchr(name, '.'), *digit = strpbrk(name, "0123456789");
    if (!dot || !digit || digit > dot) return 0;
    char *end;
    long r = strtol(digit, &end, 10);
    if (end != dot || r < 0 || r > 0x7fffffffL) return 0;
    const char *parts[VP_CSV_COUNT + 1];
    for (int f = 0; f < VP_CSV_COUNT; f++) parts[f] = vp_csv_layout_get((vp_csv_file)f)->part;
    parts[VP_CSV_COUNT] = VP_PART_DONE;
    for (int k = 0; k <= VP_CSV_COUNT; k++) {
        char want[128];
        part_name((int)r, parts[k], want, sizeof want);
        if (strcmp(want, name) == 0) return 1;
    }
    return 0;
}

vp_status vp_frag_prepare(const char *dir, vp_err *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno != ENOENT) return vp_fail(err, VP_ERR_IO, "cannot use %s: %s", dir, strerror(errno));
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return vp_fail(err, VP_ERR_IO, "cannot create folder %s: %s", dir, strerror(errno));
        if (lstat(dir, &st) != 0) return vp_fail(err, VP_ERR_IO, "cannot use %s: %s", dir, strerror(errno));
    }
    const char *what = S_ISLNK(st.st_mode) ? "is a symbolic link" : !S_ISDIR(st.st_mode) ? "is not a folder"
                       : st.st_uid != geteuid()                  ? "belongs to another user"
                                                                 : NULL;
    if (what)
        return vp_fail(err, VP_ERR_USAGE, "%s %s: varprop keeps its unfinished runs in a folder of its own there "
                       "and will not use this one; remove it", dir, what);
    return VP_OK;
}

void vp_frag_clear(const char *dir, int rmdir_too)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d && dfd >= 0) close(dfd);
    struct dirent *de;
    char base[256];
    while (d && (de = readdir(d)))
        if (parts_entry(de->d_name) || (vp_tmp_base(de->d_name, base, sizeof base) && parts_entry(base)))
            unlinkat(dfd, de->d_name, 0);
    if (d) closedir(d);
    if (rmdir_too) rmdir(dir);
}

/* ---- the folder ---- */

static int results_entry(const char *name)
{
    if (strcmp(name, VP_DIR_PARTS) == 0) return 1;
    for (const char *const *n = vp_results_files(); *n; n++)
        if (strcmp(name, *n) == 0) return 1;
    return 0;
}

int vp_runner_legacy_folder(const char *dir)
{
    char path[4200], *text = NULL;
    size_t len;
    vp_err ignore;
    if (!vp_folder_all(dir, results_entry) || vp_path_join(path, sizeof path, dir, VP_FILE_CONFIG, &ignore) ||
        vp_read_file(path, (size_t)16 << 20, &text, &len, &ignore))
        return 0;
    cJSON *cfg = cJSON_ParseWithLength(text, len);
    int ours = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cfg, "varprop_version"));
    cJSON_Delete(cfg);
    free(text);
    return ours;
}

/* ---- staging and publishing ---- */

/* Does the file at path hold exactly this experiment's config.json (the resolved config
 * and a final newline)? 1 yes, 0 no, -1 there is no such file; VP_ERR_NOMEM in *s. */
static int holds_config(const vp_job *j, const char *path, vp_status *s, vp_err *err)
{
    size_t want = strlen(j->e->resolved_json) + 1, n = 0;
    char *buf = NULL;
    vp_err rerr;
    /* a longer file (VP_ERR_DATA from vp_read_file) differs as well */
    vp_status r = vp_read_file(path, want, &buf, &n, &rerr);
    if (r == VP_ERR_IO) return -1;
    if (r == VP_ERR_NOMEM) { *s = vp_fail(err, r, "%s", rerr.msg); return 0; }
    int same = !r && n == want && memcmp(buf, j->e->resolved_json, want - 1) == 0 && buf[want - 1] == '\n';
    free(buf);
    return same;
}

/* Data rows of a CSV file (lines after the header); -1 if it cannot be read. */
static long data_rows(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    long lines = 0;
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++) lines += buf[i] == '\n';
    fclose(f);
    return lines > 0 ? lines - 1 : 0;
}

static vp_status sync_folder(const char *dir, vp_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return vp_fail(err, VP_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
    int bad = fsync(fd) != 0 && errno != EINVAL;
    int e = errno;
    close(fd);
    return bad ? vp_fail(err, VP_ERR_IO, "cannot sync folder %s: %s", dir, strerror(e)) : VP_OK;
}

/* Remove the results files staged in .parts (an unpublished attempt's). */
static void unstage(const vp_job *j, int keep_config)
{
    for (const char *const *n = vp_results_files(); *n; n++) {
        char path[4200];
        vp_err ignore;
        if (keep_config && strcmp(*n, VP_FILE_CONFIG) == 0) continue;
        if (!vp_path_join(path, sizeof path, j->parts, *n, &ignore)) unlink(path);
    }
}

vp_status vp_frag_stage_config(const vp_job *j, vp_err *err)
{
    char path[4200];
    vp_afile f;
    unstage(j, 0);
    vp_status s = vp_path_join(path, sizeof path, j->parts, VP_FILE_CONFIG, err);
    if (s || (s = vp_afile_open(&f, path, err))) return s;
    fputs(j->e->resolved_json, f.fp);
    fputc('\n', f.fp);
    return vp_afile_commit(&f, err);
}

vp_status vp_frag_publish(const vp_job *j, long *kept, vp_err *err)
{
    const char *out = j->o->out_dir;
    char from[4200], to[4200];
    vp_status s = VP_OK;
    *kept = 0;
    if ((s = vp_path_join(to, sizeof to, out, VP_FILE_CONFIG, err))) return s;
    int same = holds_config(j, to, &s, err);
    if (s) return s;
    if (same > 0) {
        /* The folder holds results of this same config: never replace them by fewer runs. */
        long now = -1, old = -1;
        if (!vp_path_join(from, sizeof from, j->parts, VP_FILE_RUNS, err)) now = data_rows(from);
        if (!vp_path_join(to, sizeof to, out, VP_FILE_RUNS, err)) old = data_rows(to);
        if (now < vp_experiment_runs(j->e) && old > now) {
            *kept = old;
            unstage(j, 1);
            return VP_OK;
        }
    } else if (same == 0) {
        /* Another config's results: from here until the new config.json is in place the
         * folder has none, so no reader ever pairs one config with another's tables. */
        if (unlink(to) != 0 && errno != ENOENT)
            return vp_fail(err, VP_ERR_IO, "cannot replace %s: %s", to, strerror(errno));
        if ((s = sync_folder(out, err))) return s;
    }
    for (const char *const *n = vp_results_files(); *n && !s; n++) {
        if ((s = vp_path_join(from, sizeof from, j->parts, *n, err)) ||
            (s = vp_path_join(to, sizeof to, out, *n, err)))
            break;
        if (strcmp(*n, VP_FILE_CONFIG) == 0 && (s = sync_folder(out, err))) break; /* the tables first */
        if (rename(from, to) == 0) continue;
        if (errno != ENOENT) {
            s = vp_fail(err, VP_ERR_IO, "cannot move %s into place: %s", to, strerror(errno));
        } else if (strcmp(*n, VP_FILE_CONFIG) == 0) {
            s = vp_fail(err, VP_ERR_IO, "internal: %s was not staged", from);
        } else if (unlink(to) != 0 && errno != ENOENT) { /* an earlier run's output this run does not make */
            s = vp_fail(err, VP_ERR_IO, "cannot remove %s: %s", to, strerror(errno));
        }
    }
    if (!s) s = sync_folder(out, err);
    return s;
}

/* ---- resume ---- */

int vp_frag_load_done(vp_job *j, int r)
{
    char path[4200];
    part_path(j, r, "sum", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    vp_run_sum s = { 1, 0, 0, 0, 0, NAN, NAN, NAN };
    int ok = fscanf(f, "%lf %lf %lld %lld", &s.act_ratio, &s.grad_ratio, &s.nonfinite, &s.subnormal) == 4;
    fclose(f);
    if (ok) j->sums[r] = s;
    return ok;
}

vp_status vp_frag_check_resume(const vp_job *j, vp_err *err)
{
    /* The unfinished runs' config (staged in .parts), else the published one. */
    char staged[4200], published[4200];
    vp_status s = VP_OK;
    if ((s = vp_path_join(staged, sizeof staged, j->parts, VP_FILE_CONFIG, err)) ||
        (s = vp_path_join(published, sizeof published, j->o->out_dir, VP_FILE_CONFIG, err)))
        return s;
    const char *path = staged;
    int same = holds_config(j, staged, &s, err);
    if (!s && same < 0) {
        path = published;
        same = holds_config(j, published, &s, err);
    }
    if (s) return s;
    if (same < 0)
        return vp_fail(err, VP_ERR_CONFIG, "--resume: %s has no " VP_FILE_CONFIG "; nothing to resume", j->o->out_dir);
    if (!same)
        return vp_fail(err, VP_ERR_CONFIG, "--resume: the results in %s were made by a different config "
                       "(%s differs); run without --resume to start over, or choose another -o",
                       j->o->out_dir, path);
    return VP_OK;
}
