/* merge: `varprop merge` -- finished shards (shard.h) joined into the results folder a
 * single run writes (experiment layer). The shards are checked first, from their
 * markers alone (nothing is written before every check has passed); then their
 * fragments are linked into the output's .parts, checked as --resume checks a run, and
 * assembled, published and summarised by the runner's own code (fragments.h). */
#include "experiment/shard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/fsutil.h"
#include "experiment/fragments.h"
#include "experiment/job.h"
#include "experiment/config.h"
#include "experiment/predict.h"
#include "experiment/summary_print.h"
#include "results/results.h"

struct vp_merge {
    int n;          /* slices */
    char **dir;     /* dir[k - 1]: the shard folder of slice k (owned) */
};


void vp_merge_close(vp_merge *m)
{
    if (!m) return;
    for (int k = 0; m->dir && k < m->n; k++) free(m->dir[k]);
    free(m->dir);
    free(m);
}

/* The refusal of shards a and b whose config hashes differ, naming the first setting
 * that differs: in the configs as resolved (the hash's text, defaults written out), so
 * a default written in one file only is no difference; else in their texts; else the
 * hashes. */
static vp_status different_configs(const char *da, const vp_shard_marker *a, const char *db, const vp_shard_marker *b,
                                   vp_err *err)
{
    char what[9000], na[4200], nb[4200];
    snprintf(na, sizeof na, "in %s", da);
    snprintf(nb, sizeof nb, "in %s", db);
    vp_config_opts co = { 0 };
    vp_experiment *ea = NULL, *eb = NULL;
    vp_err ignore;
    int found = !vp_config_parse(a->config, strlen(a->config), da, &co, &ea, &ignore) &&
                !vp_config_parse(b->config, strlen(b->config), db, &co, &eb, &ignore) &&
                vp_config_diff(ea->resolved_json, na, eb->resolved_json, nb, what, sizeof what);
    vp_experiment_free(ea);
    vp_experiment_free(eb);
    if (!found && !vp_config_diff(a->config, na, b->config, nb, what, sizeof what))
        snprintf(what, sizeof what, "config hash %s against %s", a->hash, b->hash);
    return vp_fail(err, VP_ERR_USAGE, "%s and %s are shards of different configs (%s)", da, db, what);
}

/* The shards, checked against each other and against the first (see shard.h). */
static vp_status check_shards(const char *const *dirs, int ndirs, vp_shard_marker *mk, vp_merge *m, vp_err *err)
{
    for (int i = 0; i < ndirs; i++) {
        vp_status s = vp_shard_read_marker(dirs[i], &mk[i], err);
        if (s) return s;
        if (strcmp(mk[i].version, VP_VERSION) != 0)
            return vp_fail(err, VP_ERR_USAGE, "%s was made by varprop %s, this is varprop %s: merge shards with the "
                           "varprop version that ran them", dirs[i], mk[i].version, VP_VERSION);
        if (strcmp(mk[i].hash, mk[0].hash) != 0)
            return different_configs(dirs[0], &mk[0], dirs[i], &mk[i], err);
        if (mk[i].n != mk[0].n)
            return vp_fail(err, VP_ERR_USAGE, "%s is shard %d/%d and %s is shard %d/%d: the shards of one sweep "
                           "share their N", dirs[0], mk[0].k, mk[0].n, dirs[i], mk[i].k, mk[i].n);
    }
    m->n = mk[0].n;
    if (!(m->dir = calloc((size_t)m->n, sizeof *m->dir))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    for (int i = 0; i < ndirs; i++) {
        char **slot = &m->dir[mk[i].k - 1];
        if (*slot)
            return vp_fail(err, VP_ERR_USAGE, "shard %d/%d given twice: %s and %s", mk[i].k, m->n, *slot, dirs[i]);
        if (!(*slot = strdup(dirs[i]))) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    char miss[400] = "";
    int nmiss = 0;
    size_t u = 0;
    for (int k = 0; k < m->n; k++)
        if (!m->dir[k] && nmiss++ < 8 && u < sizeof miss)
            u += (size_t)snprintf(miss + u, sizeof miss - u, "%s%d/%d", nmiss > 1 ? ", " : "", k + 1, m->n);
    if (nmiss)
        return vp_fail(err, VP_ERR_USAGE, "missing shard%s %s%s: a merge needs all %d slices of the sweep",
                       nmiss == 1 ? "" : "s", miss, nmiss > 8 ? ", ..." : "", m->n);
    return VP_OK;
}

vp_status vp_merge_open(const char *const *dirs, int ndirs, vp_merge **out, vp_experiment **e, vp_err *err)
{
    *out = NULL;
    *e = NULL;
    if (ndirs < 1) return vp_fail(err, VP_ERR_USAGE, "no shard folders to merge");
    vp_merge *m = calloc(1, sizeof *m);
    vp_shard_marker *mk = calloc((size_t)ndirs, sizeof *mk);
    vp_status s = m && mk ? check_shards(dirs, ndirs, mk, m, err) : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    if (!s) {
        char source[4200];
        snprintf(source, sizeof source, "%s/" VP_FILE_SHARD, dirs[0]);
        vp_config_opts co = { 0 }; /* the shard run took the sweep: no --max-runs limit here */
        s = vp_config_parse(mk[0].config, strlen(mk[0].config), source, &co, e, err);
        char hash[32];
        if (!s) vp_shard_config_hash(*e, hash);
        if (!s && strcmp(hash, mk[0].hash) != 0)
            s = vp_fail(err, VP_ERR_USAGE, "%s is damaged: its config resolves to hash %s, not %s", source, hash,
                        mk[0].hash);
    }
    for (int i = 0; mk && i < ndirs; i++) free(mk[i].config);
    free(mk);
    if (s) {
        vp_experiment_free(*e);
        *e = NULL;
        vp_merge_close(m);
        return s;
    }
    *out = m;
    return VP_OK;
}

/* ---- writing ---- */

/* dst = src, as a hard link, or a copy when they are on different file systems. 0 when
 * src does not exist. */
static vp_status link_or_copy(const char *src, const char *dst, int *found, vp_err *err)
{
    *found = 1;
    if (link(src, dst) == 0) return VP_OK;
    if (errno == ENOENT) { *found = 0; return VP_OK; }
    if (errno != EXDEV && errno != EPERM && errno != EMLINK)
        return vp_fail(err, VP_ERR_IO, "cannot link %s to %s: %s", src, dst, strerror(errno));
    char *buf = NULL;
    size_t len;
    vp_afile f;
    vp_status s = vp_read_file(src, (size_t)1 << 40, &buf, &len, err);
    if (!s && !(s = vp_afile_open(&f, dst, err))) {
        fwrite(buf, 1, len, f.fp);
        s = vp_afile_commit(&f, err);
    }
    free(buf);
    return s;
}

/* Run r's file (its marker and fragments) from shard folder dir into j's .parts. */
static vp_status import_run(const vp_job *j, const char *dir, int r, vp_err *err)
{
    char name[128], src[4200], dst[4200], sp[4200];
    int found;
    snprintf(name, sizeof name, VP_PART_FORMAT, r, VP_PART_DONE);
    vp_status s = vp_path_join(sp, sizeof sp, dir, VP_DIR_PARTS, err);
    if (!s) s = vp_path_join(src, sizeof src, sp, name, err);
    if (!s) s = vp_path_join(dst, sizeof dst, j->parts, name, err);
    if (!s) s = link_or_copy(src, dst, &found, err);
    return s;
}

/* The length of dir's longest prefix (at a '/') that exists: what mkdir -p will not make. */
static size_t existing_prefix(const char *dir)
{
    char buf[4200];
    struct stat st;
    size_t n = strlen(dir);
    if (n >= sizeof buf) return n;
    memcpy(buf, dir, n + 1);
    for (;;) {
        if (stat(buf, &st) == 0) return n;
        while (n > 0 && buf[n - 1] != '/') n--; /* the last component */
        while (n > 1 && buf[n - 1] == '/') n--; /* and its separators (a leading "/" stays) */
        if (n == 0) return 0;                   /* relative: none of it exists */
        buf[n] = '\0';
    }
}

static int is_stamp(const char *name) { return strcmp(name, VP_FILE_MARKER) == 0; }

/* After a failed merge, the folder as it was: the marker the claim added, only while it is
 * all the folder holds (a failure after some tables were published keeps the folder
 * varprop's), then the folders mkdir -p made for it, from the leaf up to the first that
 * existed (rmdir takes only empty ones). */
static void take_back(const char *dir, const char *stamp, int had_marker, size_t existed)
{
    if (!had_marker && vp_folder_all(dir, is_stamp)) unlink(stamp);
    char buf[4200];
    size_t n = strlen(dir);
    if (n >= sizeof buf) return;
    memcpy(buf, dir, n + 1);
    for (;;) {
        while (n > existed && n > 1 && buf[n - 1] == '/') n--; /* "a/b/": the separators first */
        buf[n] = '\0';
        if (n <= existed) return;
        size_t c = n;
        while (c > 0 && buf[c - 1] != '/') c--; /* the last component buf[c..n) */
        /* "." names the folder before it (nothing to remove); a made folder: rmdir (empty only) */
        if (!(n - c == 1 && buf[c] == '.') && rmdir(buf) != 0) return;
        n = c;
    }
}

vp_status vp_merge_write(const vp_merge *m, const vp_experiment *e, const vp_runner_opts *o, vp_runner_result *res,
                         vp_err *err)
{
    int total = (int)vp_experiment_runs(e);
    memset(res, 0, sizeof *res);
    res->total = total;
    vp_job j;
    memset(&j, 0, sizeof j);
    j.e = e;
    j.o = o;
    for (int v = 0; v < e->nvariants; v++) j.theory |= e->variants[v].theory;
    int *slice = malloc((size_t)total * sizeof *slice);
    j.sums = calloc((size_t)total, sizeof *j.sums);
    vp_crit_line *cl = malloc(sizeof *cl);
    vp_folder_lock own = VP_FOLDER_LOCK_INIT, *lock = o->lock ? o->lock : &own;
    const vp_claim claim = { VP_FILE_MARKER, VP_FOLDER_STAMP, 1, 0, vp_runner_legacy_folder };
    int staged = 0;
    vp_status s = slice && j.sums && cl ? VP_OK : vp_fail(err, VP_ERR_NOMEM, "out of memory");
    struct stat so, sd;
    for (int k = 0; !s && k < m->n; k++) /* the output's .parts is cleared first: never a shard's */
        if (stat(o->out_dir, &so) == 0 && stat(m->dir[k], &sd) == 0 && so.st_dev == sd.st_dev && so.st_ino == sd.st_ino)
            s = vp_fail(err, VP_ERR_USAGE, "-o %s is shard %d/%d itself: merge into another folder", o->out_dir, k + 1,
                        m->n);
    if (!s) s = vp_shard_assign(e, m->n, slice, err);
    if (!s) s = vp_path_join(j.parts, sizeof j.parts, o->out_dir, VP_DIR_PARTS, err);
    /* what the claim adds, taken back if the merge fails: nothing is left of it then */
    char stamp_path[4200];
    int had_marker = 1;
    size_t existed = existing_prefix(o->out_dir);
    if (!s && !(s = vp_path_join(stamp_path, sizeof stamp_path, o->out_dir, VP_FILE_MARKER, err)))
        had_marker = lstat(stamp_path, &so) == 0;
    if (!s && !lock->held) s = vp_folder_claim(o->out_dir, &claim, lock, err);
    int claimed = !s;
    if (!s) s = vp_frag_prepare(j.parts, err);
    if (!s) {
        staged = 1;
        vp_frag_clear(j.parts, 0);
        s = vp_frag_stage_config(&j, err);
    }
    for (int r = 0; !s && r < total; r++) {
        const char *dir = m->dir[slice[r] - 1];
        char why[512] = "";
        if ((s = import_run(&j, dir, r, err))) break;
        if (vp_frag_load_done(&j, r, why, sizeof why) != 1)
            s = vp_fail(err, VP_ERR_DATA, "%s (shard %d/%d): run %d: %s; run the shard again with --resume", dir,
                        slice[r], m->n, r, why[0] ? why : "not finished");
    }
    if (!s) {
        res->done = total;
        vp_predict_critical_line(NULL, e, cl);
        s = vp_frag_assemble(&j, err);
        if (!s) s = vp_predict_critical_line_write(e, j.parts, cl, err);
        if (!s) s = vp_frag_publish(&j, &res->kept, &res->kept_other, err); /* every run: kept_other stays 0 */
    }
    if (staged) vp_frag_clear(j.parts, 1); /* the links, and any staged file left by a failure */
    if (s && claimed) take_back(o->out_dir, stamp_path, had_marker, existed);
    if (!s) vp_runner_print_summary(&j);
    vp_folder_release(&own);
    free(cl);
    free(slice);
    free(j.sums);
    return s;
}
