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

#include <zlib.h>

#include "base/fsutil.h"
#include "base/lock.h"
#include "experiment/config.h"
#include "experiment/net_config.h"
#include "experiment/shard.h"
#include "experiment/variant.h"
#include "results/csv.h"
#include "results/results.h"

static vp_status sync_folder(const char *dir, vp_err *err);

/* A run's file starts with this line; its marker ends with RUN_FILE_CHECK and the
 * CRC-32 of the summary and fragment lines (vp_frag_write). */
#define RUN_FILE_TAG "varprop run 1"
#define RUN_FILE_CHECK "check"

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

void vp_frag_csv_run(const vp_experiment *e, int r, char *act, char *init, size_t len, vp_csv_run *cr)
{
    int v = r / e->nseeds, s = r % e->nseeds;
    vp_variant_labels(&e->variants[v], act, init, len);
    cr->variant = v;
    cr->activation = act;
    cr->init = init;
    cr->seed = e->seeds[s];
    cr->nsweep = e->nsweep;
    cr->sweep_values = e->nsweep ? &e->sweep_values[(size_t)v * (size_t)e->nsweep] : NULL;
    cr->prec = e->variants[v].prec;
}

/* A run's fragments as they are made: each is formatted in memory (mem), kept in
 * body, and described by one line of the marker; vp_frag_write then writes the run's
 * one file: the marker, a blank line, the fragments' bytes in the lines' order. */
typedef struct {
    FILE *mem;
    char *buf;
    size_t len;
    FILE *body_mem;               /* the fragments, one after another */
    char *body;
    size_t body_len;
    char lines[VP_CSV_COUNT][96]; /* "<part> <rows> <bytes> <crc32>" */
    int n;
} frag_set;

/* Rows and CRC-32 of a fragment's bytes. */
static void frag_sums(const char *buf, size_t len, long *rows, unsigned long *crc)
{
    *rows = 0;
    for (size_t i = 0; i < len; i++) *rows += buf[i] == '\n';
    uLong c = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < len;) {
        uInt k = len - off > (1u << 30) ? (1u << 30) : (uInt)(len - off);
        c = crc32(c, (const Bytef *)buf + off, k);
        off += k;
    }
    *crc = c;
}

static vp_status frag_begin(frag_set *fs, vp_err *err)
{
    fs->buf = NULL;
    fs->len = 0;
    fs->mem = open_memstream(&fs->buf, &fs->len);
    return fs->mem ? VP_OK : vp_fail(err, VP_ERR_NOMEM, "out of memory");
}

vp_status vp_frag_put(const vp_job *j, int r, const char *ext, const char *buf, size_t len, vp_err *err)
{
    if (j->sink) return j->sink->put(j->sink, r, ext, buf, len, err);
    char path[4200];
    vp_afile f;
    part_path(j, r, ext, path, sizeof path);
    vp_status s = vp_afile_open(&f, path, err);
    if (s) return s;
    /* Renamed into place complete, but not fsynced (an fsync cost ~1 ms a file here: as
     * much as the products of a 30-layer width-128 run): a crash of the process leaves
     * whole files; a crash of the machine may lose the bytes or names of the last runs'
     * files, which --resume finds out (every fragment is checked against the bytes, rows
     * and CRC-32 its marker records, and a run whose file is missing or damaged runs
     * again). The assembled tables are synced when they are published. */
    f.no_sync = 1;
    fwrite(buf, 1, len, f.fp);
    return vp_afile_commit(&f, err);
}

/* Add the fragment formatted since frag_begin to the run's file as its `ext` part. */
static vp_status frag_end(const char *ext, frag_set *fs, vp_err *err)
{
    int bad = fclose(fs->mem) != 0;
    fs->mem = NULL;
    vp_status s = bad ? vp_fail(err, VP_ERR_NOMEM, "out of memory") : VP_OK;
    if (!s) {
        long rows;
        unsigned long crc;
        frag_sums(fs->buf, fs->len, &rows, &crc);
        snprintf(fs->lines[fs->n++], sizeof fs->lines[0], "%s %ld %zu %08lx", ext, rows, fs->len, crc);
        if (fwrite(fs->buf, 1, fs->len, fs->body_mem) != fs->len) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    free(fs->buf);
    fs->buf = NULL;
    return s;
}

/* The fragments of vp_frag_write, each begun and ended; the marker and the file. */
static vp_status frag_rows(const vp_job *j, int r, const vp_variant *var, const vp_layer_stats *st,
                           const vp_block_stats *bst, const double *tpre, const double *tgrad, const double *tchi,
                           const double *tcorr, const vp_histogram *hist, const double *sv, const double *sq_len,
                           const vp_train_out *tout, const vp_run_sum *sum, double seconds, frag_set *fs,
                           vp_err *err)
{
    const vp_experiment *e = j->e;
    char act[256], init[256];
    vp_csv_run cr;
    vp_frag_csv_run(e, r, act, init, sizeof act, &cr);
    vp_status s;

    if ((s = frag_begin(fs, err))) return s;
    if (bst) vp_csv_block_rows(fs->mem, &cr, var->L, bst, var->net->ls, var->net->in, j->theory, tpre, tgrad, tchi, tcorr);
    else vp_csv_layers_rows(fs->mem, &cr, var->L, st, j->theory, tpre, tgrad, tchi, tcorr);
    if ((s = frag_end(vp_csv_layout_get(VP_CSV_LAYERS)->part, fs, err))) return s;

    if (hist) {
        if ((s = frag_begin(fs, err))) return s;
        for (int l = 1; l <= var->L; l++)
            for (int q = 0; q < VP_HIST_QUANTITIES; q++) {
                const vp_histogram *h = &hist[(size_t)(l - 1) * VP_HIST_QUANTITIES + (size_t)q];
                if (h->density) vp_csv_hist_rows(fs->mem, &cr, l, vp_hist_quantity_word((vp_hist_quantity)q), h);
            }
        if ((s = frag_end(vp_csv_layout_get(VP_CSV_HIST)->part, fs, err))) return s;
    }

    if (sv) {
        if ((s = frag_begin(fs, err))) return s;
        int n = var->widths[0] < var->widths[var->L] ? var->widths[0] : var->widths[var->L];
        vp_csv_jacobian_rows(fs->mem, &cr, n, sv);
        if ((s = frag_end(vp_csv_layout_get(VP_CSV_JACOBIAN)->part, fs, err))) return s;
    }

    if (sq_len) {
        if ((s = frag_begin(fs, err))) return s;
        vp_csv_lengths_rows(fs->mem, &cr, var->batch, var->L, sq_len);
        if ((s = frag_end(vp_csv_layout_get(VP_CSV_LENGTHS)->part, fs, err))) return s;
    }

    for (int k = 0; tout && k < VP_TRAIN_FILES; k++) { /* training rows, formatted by train_run.c */
        if ((s = frag_begin(fs, err))) return s;
        fwrite(tout->rows[k], 1, tout->len[k], fs->mem);
        if ((s = frag_end(vp_csv_layout_get((vp_csv_file)(VP_CSV_FIRST_TRAIN + k))->part, fs, err))) return s;
    }

    vp_csv_summary cs = { var->L, var->batch, sum->act_ratio, sum->grad_ratio,
                          vp_verdict_word(vp_verdict_classify(sum->act_ratio, sum->nonfinite)),
                          vp_verdict_word(vp_verdict_classify(sum->grad_ratio, sum->nonfinite)),
                          sum->nonfinite, sum->subnormal, sum->xi_grad, sum->theory_chi1, sum->theory_xi_c,
                          seconds, tout && tout->diverged_step ? VP_STATUS_DIVERGED : VP_STATUS_OK, sum->xi_c,
                          sum->theory_xi_grad, tout ? tout->diverged_step : 0, sum->theory_act_ratio,
                          sum->theory_grad_ratio };
    if ((s = frag_begin(fs, err))) return s;
    vp_csv_runs_row(fs->mem, &cr, j->theory | (e->train ? VP_CSV_WITH_TRAIN : 0), &cs);
    if ((s = frag_end(vp_csv_layout_get(VP_CSV_RUNS)->part, fs, err))) return s;

    /* The run's file: the marker (a tag line, the summary line, one line per fragment
     * saying its rows, bytes and CRC-32, and a line with the CRC-32 of the summary and
     * fragment lines), a blank line, the fragments. One file a run, written
     * atomically: its presence means the run is complete (creating a file cost ~0.3 ms
     * here, and a run of 30 layers of 128x128 takes ~5 ms), and --resume checks every
     * fragment against its line, so it still finds out if a crash of the machine lost
     * bytes (neither the file nor the folder is synced for each run: that would cost
     * more than the check). */
    char head[VP_CSV_COUNT * 96 + 256];
    size_t hl = (size_t)snprintf(head, sizeof head, "%.17g %.17g %lld %lld %.17g %.17g %.17g %.17g\n", sum->act_ratio,
                                 sum->grad_ratio, sum->nonfinite, sum->subnormal, sum->test_acc,
                                 sum->theory_act_ratio, sum->theory_grad_ratio, sum->diverged_step);
    for (int k = 0; k < fs->n && hl < sizeof head; k++)
        hl += (size_t)snprintf(head + hl, sizeof head - hl, "%s\n", fs->lines[k]);
    if (hl >= sizeof head) return vp_fail(err, VP_ERR_NOMEM, "internal: a run's marker does not fit");
    long hrows;
    unsigned long hcrc;
    frag_sums(head, hl, &hrows, &hcrc);
    if ((s = frag_begin(fs, err))) return s;
    fprintf(fs->mem, RUN_FILE_TAG "\n%s" RUN_FILE_CHECK " %08lx\n\n", head, hcrc);
    int bad = fclose(fs->body_mem) != 0;
    fs->body_mem = NULL;
    if (!bad) bad = fwrite(fs->body, 1, fs->body_len, fs->mem) != fs->body_len;
    bad |= fclose(fs->mem) != 0;
    fs->mem = NULL;
    s = bad ? vp_fail(err, VP_ERR_NOMEM, "out of memory") : VP_OK;
    if (!s) s = vp_frag_put(j, r, VP_PART_DONE, fs->buf, fs->len, err);
    return s;
}

vp_status vp_frag_write(const vp_job *j, int r, const vp_variant *var, const vp_layer_stats *st,
                        const vp_block_stats *bst, const double *tpre, const double *tgrad, const double *tchi, const double *tcorr,
                        const vp_histogram *hist,
                        const double *sv, const double *sq_len, const vp_train_out *tout,
                        const vp_run_sum *sum, double seconds, vp_err *err)
{
    frag_set fs = { .n = 0 };
    fs.body_mem = open_memstream(&fs.body, &fs.body_len);
    if (!fs.body_mem) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    vp_status s = frag_rows(j, r, var, st, bst, tpre, tgrad, tchi, tcorr, hist, sv, sq_len, tout, sum, seconds, &fs, err);
    if (fs.mem) fclose(fs.mem);
    if (fs.body_mem) fclose(fs.body_mem);
    free(fs.buf);
    free(fs.body);
    return s;
}

/* ---- a run's file ---- */

/* The parts of a run's file (vp_frag_write): its summary line, and per fragment its
 * part name, the rows, bytes and CRC-32 the marker records, and where its bytes are. */
typedef struct {
    char ext[32];
    long rows;
    size_t bytes;
    unsigned long crc;
    const char *data;
} run_part;

typedef struct {
    const char *summary;          /* the summary line, summary_len bytes (not terminated) */
    size_t summary_len;
    int n;
    run_part part[VP_CSV_COUNT];
} run_file;

/* Split the file's bytes; 0 and a reason in why when they are not a run's file of this
 * format (a marker without its tag: an earlier build's, whose fragments were files of
 * their own). The marker's own CRC covers the summary and fragment lines, each
 * fragment's its bytes (checked by the caller: frag_ok). */
static int run_file_parse(const char *buf, size_t len, const char *name, run_file *rf, char *why, size_t wlen)
{
    const char *end = buf + len, *tag = RUN_FILE_TAG "\n";
    rf->n = 0;
    if (len < strlen(tag) || memcmp(buf, tag, strlen(tag)) != 0) {
        snprintf(why, wlen, "%s is %s", name, len && buf[0] >= '0' && buf[0] <= '9' ? "from an earlier varprop build "
                 "(a file per fragment), which this one does not read" : "damaged: not a run's file");
        return 0;
    }
    rf->summary = buf + strlen(tag);
    const char *nl = memchr(rf->summary, '\n', (size_t)(end - rf->summary));
    if (!nl) {
        snprintf(why, wlen, "%s is damaged: no marker", name);
        return 0;
    }
    rf->summary_len = (size_t)(nl - rf->summary);
    size_t off_data = 0;
    for (const char *line = nl + 1;;) {
        const char *eol = line < end ? memchr(line, '\n', (size_t)(end - line)) : NULL;
        if (!eol) {
            snprintf(why, wlen, "%s is damaged: its marker has no end", name);
            return 0;
        }
        char line_buf[128];
        size_t ll = (size_t)(eol - line);
        if (ll >= sizeof line_buf) {
            snprintf(why, wlen, "%s is damaged: its marker has an unknown line", name);
            return 0;
        }
        memcpy(line_buf, line, ll);
        line_buf[ll] = '\0';
        unsigned long mcrc;
        int used = 0;
        if (sscanf(line_buf, RUN_FILE_CHECK " %lx%n", &mcrc, &used) == 1 && used == (int)ll) {
            long hrows;
            unsigned long hcrc;
            frag_sums(rf->summary, (size_t)(line - rf->summary), &hrows, &hcrc);
            const char *data = eol + 2;
            if (hcrc != mcrc) {
                snprintf(why, wlen, "%s is damaged: its marker's checksum is %08lx, its lines give %08lx", name, mcrc,
                         hcrc);
                return 0;
            }
            if (eol + 1 >= end || eol[1] != '\n' || (size_t)(end - data) != off_data) {
                snprintf(why, wlen, "%s holds %zu bytes of fragments, its marker says %zu", name,
                         eol + 1 < end ? (size_t)(end - data) : 0, off_data);
                return 0;
            }
            for (int k = 0; k < rf->n; k++) {
                rf->part[k].data = data;
                data += rf->part[k].bytes;
            }
            return 1;
        }
        int k = rf->n;
        if (k == VP_CSV_COUNT ||
            sscanf(line_buf, "%31s %ld %zu %lx%n", rf->part[k].ext, &rf->part[k].rows, &rf->part[k].bytes,
                   &rf->part[k].crc, &used) != 4 || used != (int)ll || rf->part[k].rows < 0) {
            snprintf(why, wlen, "%s is damaged: its marker has an unknown line", name);
            return 0;
        }
        if (rf->part[k].bytes > len) {
            snprintf(why, wlen, "%s is cut short: its %s fragment is %zu bytes, the file %zu", name, rf->part[k].ext,
                     rf->part[k].bytes, len);
            return 0;
        }
        off_data += rf->part[k].bytes;
        rf->n++;
        line = eol + 1;
    }
}

/* The fragment `ext` of a parsed run file, or NULL. */
static const run_part *run_file_part(const run_file *rf, const char *ext)
{
    for (int i = 0; i < rf->n; i++)
        if (strcmp(rf->part[i].ext, ext) == 0) return &rf->part[i];
    return NULL;
}

/* ---- assembly ---- */

/* Read run r's file whole; VP_ERR_IO when it cannot be read. */
static vp_status read_run_file(const vp_job *j, int r, char **buf, size_t *len, vp_err *err)
{
    char path[4200];
    part_path(j, r, VP_PART_DONE, path, sizeof path);
    return vp_read_file(path, (size_t)1 << 40, buf, len, err);
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

/* .parts/<file> for each CSV the experiment writes = its header + that fragment of
 * every complete run, in run order (staged: vp_frag_publish moves them into the
 * results folder). Each run's file is read once. */
vp_status vp_frag_assemble(const vp_job *j, vp_err *err)
{
    const vp_experiment *e = j->e;
    int want[VP_CSV_COUNT] = { 0 };
    want[VP_CSV_LAYERS] = want[VP_CSV_RUNS] = 1;
    want[VP_CSV_HIST] = any_hist(e);
    want[VP_CSV_JACOBIAN] = any_jacobian(e);
    want[VP_CSV_LENGTHS] = any_lengths(e);
    for (int f = VP_CSV_FIRST_TRAIN; f < VP_CSV_COUNT; f++) want[f] = e->train;
    vp_afile out[VP_CSV_COUNT];
    memset(out, 0, sizeof out);
    vp_status s = VP_OK;
    int flags = j->theory | (e->train ? VP_CSV_WITH_TRAIN : 0) | (e->variants[0].net ? VP_CSV_WITH_BLOCKS : 0);
    for (int f = 0; f < VP_CSV_COUNT && !s; f++) {
        char path[4200];
        if (!want[f]) continue;
        if ((s = vp_path_join(path, sizeof path, j->parts, vp_csv_layout_get((vp_csv_file)f)->file, err)) ||
            (s = vp_afile_open(&out[f], path, err)))
            break;
        vp_csv_header(out[f].fp, (vp_csv_file)f, flags, e->nsweep, e->sweep_keys);
    }
    for (int r = 0; r < vp_experiment_runs(e) && !s; r++) {
        if (!j->sums[r].done) continue;
        char *buf = NULL, name[128], why[512];
        size_t len = 0;
        run_file rf;
        if ((s = read_run_file(j, r, &buf, &len, err))) break;
        part_name(r, VP_PART_DONE, name, sizeof name);
        if (!run_file_parse(buf, len, name, &rf, why, sizeof why)) s = vp_fail(err, VP_ERR_DATA, "%s", why);
        for (int f = 0; f < VP_CSV_COUNT && !s; f++) {
            const run_part *pt = want[f] ? run_file_part(&rf, vp_csv_layout_get((vp_csv_file)f)->part) : NULL;
            if (pt) fwrite(pt->data, 1, pt->bytes, out[f].fp);
        }
        free(buf);
    }
    for (int f = 0; f < VP_CSV_COUNT; f++) {
        if (!want[f]) continue;
        if (s) vp_afile_abort(&out[f]);
        else s = vp_afile_commit(&out[f], err);
    }
    return s;
}

/* A name varprop writes in .parts: a run's fragment (VP_PART_FORMAT with a CSV's part
 * or VP_PART_DONE) or a results file staged there. */
static int parts_entry(const char *name)
{
    if (strcmp(name, VP_PART_SLICE) == 0) return 1;
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
        vp_read_file(path, VP_RECORD_MAX_BYTES, &text, &len, &ignore))
        return 0;
    cJSON *cfg = cJSON_ParseWithLength(text, len);
    int ours = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cfg, "varprop_version"));
    cJSON_Delete(cfg);
    free(text);
    return ours;
}

/* ---- staging and publishing ---- */

int vp_frag_holds_config(const char *path, const char *resolved_json, vp_status *s, vp_err *err)
{
    size_t want = strlen(resolved_json) + 1, n = 0;
    char *buf = NULL;
    vp_err rerr;
    /* a longer file (VP_ERR_DATA from vp_read_file) differs as well */
    vp_status r = vp_read_file(path, want, &buf, &n, &rerr);
    if (r == VP_ERR_IO) return -1;
    if (r == VP_ERR_NOMEM) { *s = vp_fail(err, r, "%s", rerr.msg); return 0; }
    int same = !r && n == want && memcmp(buf, resolved_json, want - 1) == 0 && buf[want - 1] == '\n';
    free(buf);
    return same;
}

int vp_frag_config_diff(const char *path, const char *resolved_json, char *out, size_t len)
{
    char *text = NULL;
    size_t n;
    vp_err ignore;
    int found = !vp_read_file(path, VP_RECORD_MAX_BYTES, &text, &n, &ignore) &&
                vp_config_diff(text, "there", resolved_json, "in this config", out, len);
    free(text);
    return found;
}

int vp_frag_other_version(const char *path, char *out, size_t len)
{
    char *text = NULL;
    size_t n;
    vp_err ignore;
    if (vp_read_file(path, VP_RECORD_MAX_BYTES, &text, &n, &ignore)) return 0;
    cJSON *root = cJSON_ParseWithLength(text, n);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "varprop_version");
    int other = cJSON_IsString(v) && strcmp(v->valuestring, VP_VERSION) != 0;
    if (other) snprintf(out, len, "%s", v->valuestring);
    cJSON_Delete(root);
    free(text);
    return other;
}

static int holds_config(const vp_job *j, const char *path, vp_status *s, vp_err *err)
{
    return vp_frag_holds_config(path, j->e->resolved_json, s, err);
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

/* Which of the config's runs a folder holds: "all", or "shard K/N". */
static void slice_name(const vp_shard *sh, char *buf, size_t len)
{
    if (sh) snprintf(buf, len, "shard %d/%d", sh->k, sh->n);
    else snprintf(buf, len, "all");
}

vp_status vp_frag_stage_config(const vp_job *j, vp_err *err)
{
    char path[4200], slice[64];
    vp_afile f;
    unstage(j, 0);
    /* the slice first, then the config (what --resume looks for): a --resume of another
       slice (or of the whole sweep) would turn this folder's runs into a mix of two */
    slice_name(j->o->shard, slice, sizeof slice);
    vp_status s = vp_path_join(path, sizeof path, j->parts, VP_PART_SLICE, err);
    if (s || (s = vp_afile_open(&f, path, err))) return s;
    fprintf(f.fp, "%s\n", slice);
    if ((s = vp_afile_commit(&f, err))) return s;
    if ((s = vp_path_join(path, sizeof path, j->parts, VP_FILE_CONFIG, err)) || (s = vp_afile_open(&f, path, err)))
        return s;
    fputs(j->e->resolved_json, f.fp);
    fputc('\n', f.fp);
    return vp_afile_commit(&f, err);
}

/* The slice a folder holds (slice_name's form): its .parts' VP_PART_SLICE, else a sealed
 * shard's marker, else "all" when its results are published (a finished run of every
 * run); 0 when none of them says (a folder of an earlier build). */
int vp_frag_read_slice(const char *out_dir, char *buf, size_t len)
{
    char path[4200], *text = NULL;
    size_t n;
    vp_err ignore;
    if (vp_path_join(path, sizeof path, out_dir, VP_DIR_PARTS "/" VP_PART_SLICE, &ignore) ||
        vp_read_file(path, 256, &text, &n, &ignore))
        return 0;
    snprintf(buf, len, "%.*s", (int)strcspn(text, "\n"), text);
    free(text);
    return 1;
}

static int folder_slice(const vp_job *j, int published, char *buf, size_t len)
{
    vp_err ignore;
    if (vp_frag_read_slice(j->o->out_dir, buf, len)) return 1;
    vp_shard_marker mk;
    if (!vp_shard_read_marker(j->o->out_dir, &mk, &ignore)) { /* a sealed shard (its .parts of an earlier build) */
        snprintf(buf, len, "shard %d/%d", mk.k, mk.n);
        free(mk.config);
        return 1;
    }
    if (!published) return 0;
    snprintf(buf, len, "all");
    return 1;
}

vp_status vp_frag_publish(const vp_job *j, long *kept, int *other, vp_err *err)
{
    const char *out = j->o->out_dir;
    char from[4200], to[4200];
    vp_status s = VP_OK;
    *kept = 0;
    *other = 0;
    if ((s = vp_path_join(to, sizeof to, out, VP_FILE_CONFIG, err))) return s;
    int same = holds_config(j, to, &s, err);
    if (s) return s;
    long now = -1;
    if (same >= 0 && !vp_path_join(from, sizeof from, j->parts, VP_FILE_RUNS, err)) now = data_rows(from);
    if (same > 0) {
        /* The folder holds results of this same config: never replace them by fewer runs. */
        long old = -1;
        if (!vp_path_join(to, sizeof to, out, VP_FILE_RUNS, err)) old = data_rows(to);
        if (now < vp_experiment_runs(j->e) && old > now) {
            *kept = old;
            unstage(j, 1);
            return VP_OK;
        }
    } else if (same == 0 && now < vp_experiment_runs(j->e)) {
        /* Another config's results and an unfinished run: they stay until the run completes
         * (the run said so before it started: "interrupt it now to keep them"). */
        *other = 1;
        unstage(j, 1);
        return VP_OK;
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

/* Check the fragment `ext` of a parsed run file against its marker line; rows < 0:
 * any row count. 0 and a reason in why when it fails. */
static int frag_ok(const run_file *rf, const char *name, const char *ext, long rows, char *why, size_t wlen)
{
    const run_part *pt = run_file_part(rf, ext);
    if (!pt) {
        snprintf(why, wlen, "%s has no %s fragment", name, ext);
        return 0;
    }
    long frows;
    unsigned long crc;
    frag_sums(pt->data, pt->bytes, &frows, &crc);
    if (frows != pt->rows || crc != pt->crc)
        snprintf(why, wlen, "%s: its %s fragment holds %zu bytes in %ld rows (checksum %08lx), its marker says %ld rows "
                 "(%08lx)", name, ext, pt->bytes, frows, crc, pt->rows, pt->crc);
    else if (rows >= 0 && frows != rows)
        snprintf(why, wlen, "%s: its %s fragment holds %ld rows, the run has %ld", name, ext, frows, rows);
    else
        return 1;
    return 0;
}

int vp_frag_load_done(vp_job *j, int r, char *why, size_t wlen)
{
    char path[4200], name[128], *text = NULL;
    size_t len;
    vp_err rerr;
    part_path(j, r, VP_PART_DONE, path, sizeof path);
    part_name(r, VP_PART_DONE, name, sizeof name);
    if (read_run_file(j, r, &text, &len, &rerr)) return 0;
    vp_run_sum s = { 1, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0 };
    run_file rf;
    int ok = run_file_parse(text, len, name, &rf, why, wlen);
    int n = 0;
    if (ok) {
        /* the summary line, parsed in a copy (the file's bytes are not terminated) */
        char line[512];
        ok = rf.summary_len < sizeof line;
        if (ok) {
            memcpy(line, rf.summary, rf.summary_len);
            line[rf.summary_len] = '\0';
            ok = sscanf(line, "%lf %lf %lld %lld%n", &s.act_ratio, &s.grad_ratio, &s.nonfinite, &s.subnormal, &n) == 4;
        }
        if (ok) { /* the final test accuracy, the theory's two ratios, the diverged step (absent from older
                     markers: NaN, and 0 steps) */
            double *opt[] = { &s.test_acc, &s.theory_act_ratio, &s.theory_grad_ratio, &s.diverged_step };
            char *at = line + n, *end;
            for (size_t k = 0; k < sizeof opt / sizeof *opt; k++, at = end) {
                double x = strtod(at, &end);
                if (end == at) break;
                *opt[k] = x;
            }
        }
        if (!ok) snprintf(why, wlen, "%s is damaged: its summary line", name);
    }
    const vp_variant *var = &j->e->variants[r / j->e->nseeds];
    ok = ok && frag_ok(&rf, name, vp_csv_layout_get(VP_CSV_LAYERS)->part, var->L, why, wlen) &&
         frag_ok(&rf, name, vp_csv_layout_get(VP_CSV_RUNS)->part, 1, why, wlen) &&
         (!var->hist_bins || frag_ok(&rf, name, vp_csv_layout_get(VP_CSV_HIST)->part, -1, why, wlen)) &&
         (!var->jacobian || frag_ok(&rf, name, vp_csv_layout_get(VP_CSV_JACOBIAN)->part, -1, why, wlen)) &&
         (!var->lengths || frag_ok(&rf, name, vp_csv_layout_get(VP_CSV_LENGTHS)->part, -1, why, wlen));
    for (int f = VP_CSV_FIRST_TRAIN; ok && var->train.on && f < VP_CSV_COUNT; f++) /* training runs */
        ok = frag_ok(&rf, name, vp_csv_layout_get((vp_csv_file)f)->part, -1, why, wlen);
    free(text);
    if (!ok) {
        unlink(path); /* the run is done again */
        return -1;
    }
    j->sums[r] = s;
    return 1;
}

vp_status vp_frag_check_resume(const vp_job *j, int *nothing, vp_err *err)
{
    /* The unfinished runs' config (staged in .parts), else the published one. */
    char staged[4200], published[4200], runs[4200];
    vp_status s = VP_OK;
    *nothing = 0;
    if ((s = vp_path_join(staged, sizeof staged, j->parts, VP_FILE_CONFIG, err)) ||
        (s = vp_path_join(published, sizeof published, j->o->out_dir, VP_FILE_CONFIG, err)) ||
        (s = vp_path_join(runs, sizeof runs, j->o->out_dir, VP_FILE_RUNS, err)))
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
    if (!same) {
        char what[4400], ver[64];
        if (vp_frag_other_version(path, ver, sizeof ver))
            return vp_fail(err, VP_ERR_CONFIG, "--resume: %s%s holds %s of varprop %s, this is varprop %s: resume it "
                           "with varprop %s, or run without --resume to %s, or choose another -o", j->o->out_dir,
                           path == staged ? "/" VP_DIR_PARTS : "", path == staged ? "the unfinished runs" : "the results",
                           ver, VP_VERSION, ver, path == staged ? "discard them and start over" : "start over");
        if (!vp_frag_config_diff(path, j->e->resolved_json, what, sizeof what))
            snprintf(what, sizeof what, "%s differs", path);
        if (path == staged) /* an interrupted run of another config, kept apart from the results */
            return vp_fail(err, VP_ERR_CONFIG, "--resume: %s/" VP_DIR_PARTS " holds the unfinished runs of a different "
                           "config (%s); resume with that config, or run without --resume to discard them and start "
                           "over, or choose another -o", j->o->out_dir, what);
        return vp_fail(err, VP_ERR_CONFIG, "--resume: the results in %s were made by a different config "
                       "(%s); run without --resume to start over, or choose another -o", j->o->out_dir, what);
    }
    char want[64], have[256];
    slice_name(j->o->shard, want, sizeof want);
    if (folder_slice(j, path == published, have, sizeof have) && strcmp(have, want) != 0) {
        char how[300];
        if (strncmp(have, "shard ", 6) == 0) snprintf(how, sizeof how, "with --shard %s", have + 6);
        else snprintf(how, sizeof how, "without --shard");
        return vp_fail(err, VP_ERR_CONFIG, "--resume: %s holds %s of this config's runs, not %s; resume it %s, or "
                       "choose another -o", j->o->out_dir, strcmp(have, "all") ? have : "the whole sweep",
                       strcmp(want, "all") ? want : "the whole sweep", how);
    }
    /* No unpublished attempt, and the published tables hold every run: finished. */
    *nothing = path == published && data_rows(runs) >= vp_experiment_runs(j->e);
    return VP_OK;
}
