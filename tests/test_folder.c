/* The results folder belongs to one varprop at a time, and to varprop (issue 11):
 * temporaries nobody can predict or redirect, the folder lock, the marker that makes a
 * folder varprop's, the .parts folder, staged publication, --resume's checks, and
 * closed standard descriptors. Library tests call src/base and src/experiment
 * directly; CLI tests run VARPROP_BIN through tests/harness.h. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/lock.h"
#include "harness.h"

static char tdir[256];

static void mk_tmp(void) { vt_mktmp(tdir, sizeof tdir, "/tmp/varprop-folder-"); }

static void rm_tmp(void) { vt_rmtree(tdir); }

TestSuite(folder, .init = mk_tmp, .fini = rm_tmp);

/* ---- temporaries ---- */

/* Before: the temporary of DIR/x.csv was DIR/.x.csv.tmp.<pid>, opened with fopen "w":
 * a symbolic link planted there was followed, the victim written, and the link then
 * renamed over x.csv. Now the name is random and created with O_EXCL. */
Test(folder, a_planted_symlink_at_a_temporary_name_is_never_followed)
{
    char path[400], victim[400], link[400];
    snprintf(path, sizeof path, "%s/x.csv", tdir);
    snprintf(victim, sizeof victim, "%s/victim", tdir);
    vt_write_file(tdir, "victim", "precious\n");
    snprintf(link, sizeof link, "%s/.x.csv.tmp.%ld", tdir, (long)getpid());
    cr_assert_eq(symlink(victim, link), 0);

    vp_afile f;
    vp_err err;
    cr_assert_eq(vp_afile_open(&f, path, &err), VP_OK, "%s", err.msg);
    cr_assert_neq(strcmp(f.tmp, link), 0, "the temporary name is predictable: %s", f.tmp);
    fputs("new\n", f.fp);
    cr_assert_eq(vp_afile_commit(&f, &err), VP_OK, "%s", err.msg);

    char *v = vt_slurp_must(victim, NULL), *x = vt_slurp_must(path, NULL);
    cr_assert_str_eq(v, "precious\n", "the symlink's target was written");
    cr_assert_str_eq(x, "new\n");
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert(S_ISREG(st.st_mode), "x.csv must be a regular file, not the planted link");
    free(v);
    free(x);
}

Test(folder, temporaries_are_random_and_recognised)
{
    char path[400], a[4200], b[4200], base[256];
    snprintf(path, sizeof path, "%s/chart.png", tdir);
    vp_err err;
    cr_assert_eq(vp_tmp_create(path, a, sizeof a, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_tmp_create(path, b, sizeof b, &err), VP_OK, "%s", err.msg);
    cr_assert_neq(strcmp(a, b), 0);
    cr_assert(vt_exists(a) && vt_exists(b), "vp_tmp_create creates the file");
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    cr_assert_null(strstr(strrchr(a, '/'), pid), "no pid in the name: %s", a);
    cr_assert(vp_tmp_base(strrchr(a, '/') + 1, base, sizeof base));
    cr_assert_str_eq(base, "chart.png");
    cr_assert_not(vp_tmp_base("chart.png", base, sizeof base));
    cr_assert_not(vp_tmp_base(".chart.png.tmp.12", base, sizeof base));
    cr_assert_not(vp_tmp_base(".chart.png.tmp.ab/def", base, sizeof base));
}

/* ---- helpers of the CLI tests ---- */

/* 1 variant x 2 seeds of 3 layers: quick. */
#define QUICK_CFG "{\"name\":\"quick\",\"seeds\":2,\"network\":{\"depth\":3,\"width\":8},\"input\":{\"batch\":8}}"
#define QUICK_RUNS 2
#define QUICK_DEPTH 3

/* 40 runs of 20 layers: a few seconds, long enough to act while it runs. */
#define LONG_CFG "{\"name\":\"long\",\"seeds\":8,\"network\":{\"depth\":20,\"width\":160},\"input\":{\"batch\":160}," \
                 "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\",\"gelu\",\"selu\",\"silu\"]}}"
#define LONG_RUNS 40
#define LONG_DEPTH 20

/* tdir/NAME.json holding text; its path in out. */
static void put_config(char *out, size_t len, const char *name, const char *text)
{
    char file[64];
    snprintf(file, sizeof file, "%s.json", name);
    vt_write_file(tdir, file, text);
    int n = snprintf(out, len, "%s/%s", tdir, file);
    cr_assert(n > 0 && (size_t)n < len);
}

/* Append "name size\n" for every entry under dir (recursively, sorted by readdir
 * order of a quiet folder) to buf: a listing that changes when anything is written. */
static void listing(const char *dir, char *buf, size_t len)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (strcmp(nm, ".") && strcmp(nm, "..")) {
            char p[1200];
            struct stat st;
            snprintf(p, sizeof p, "%s/%s", dir, nm);
            lstat(p, &st);
            size_t u = strlen(buf);
            snprintf(buf + u, len - u, "%s %lld %lld\n", p, (long long)st.st_size, (long long)st.st_mtim.tv_nsec);
            if (S_ISDIR(st.st_mode)) listing(p, buf, len);
        }
        free(names[i]);
    }
    if (n >= 0) free(names);
}

/* ---- the lock ---- */

/* Before: the second run went ahead, both wrote the same .parts and CSVs and exited 0. */
Test(folder, a_second_varprop_on_a_folder_in_use_is_refused_and_writes_nothing, .timeout = 120)
{
    char cfg[300], out[300], plots[300], *o, *e;
    put_config(cfg, sizeof cfg, "long", LONG_CFG);
    snprintf(out, sizeof out, "%s/res", tdir);
    snprintf(plots, sizeof plots, "%s/plots", tdir);
    pid_t first = vt_spawn_run_until(cfg, out, 1, NULL);
    kill(first, SIGSTOP); /* holds the folder, writes nothing meanwhile */
    static char before[1 << 16], after[1 << 16];
    before[0] = after[0] = '\0';
    listing(out, before, sizeof before);

    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, out), 2, "second run: %s", e);
    char want[120];
    snprintf(want, sizeof want, "folder in use by process %ld", (long)first);
    cr_assert(strstr(e, want), "message names the holder: %s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tdir, &o, &e, "plot %s -o %s", out, plots), 2, "plot of a folder being written: %s", e);
    cr_assert(strstr(e, want), "%s", e);
    cr_assert_not(vt_exists(plots), "the refused plot wrote nothing");
    free(o); free(e);
    listing(out, after, sizeof after);
    cr_assert_str_eq(before, after, "the refused commands wrote nothing into the folder");

    kill(first, SIGCONT);
    cr_assert_eq(vt_wait_exit(first, 100), 0);
    char p[400];
    snprintf(p, sizeof p, "%s/layers.csv", out);
    cr_assert_eq(vt_count_lines(p), LONG_RUNS * LONG_DEPTH + 1, "the first run's results are whole and unmixed");
    snprintf(p, sizeof p, "%s/runs.csv", out);
    cr_assert_eq(vt_count_lines(p), LONG_RUNS + 1);
    /* done: the folder is free again */
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --threads 2", cfg, out), 0, "%s", e);
    free(o); free(e);
}

/* ---- the marker ---- */

/* Before: `-o DIR` wrote config.json, layers.csv, runs.csv over whatever DIR held. */
Test(folder, a_folder_varprop_did_not_make_is_refused_untouched)
{
    char cfg[300], proj[300], res[300], empty[300], p[400], *o, *e;
    put_config(cfg, sizeof cfg, "quick", QUICK_CFG);
    snprintf(proj, sizeof proj, "%s/proj", tdir);
    cr_assert_eq(mkdir(proj, 0777), 0);
    vt_write_file(proj, "config.json", "{\"mine\": true}\n");
    vt_write_file(proj, "runs.csv", "my,own,data\n");
    static char before[1 << 14], after[1 << 14];
    before[0] = after[0] = '\0';
    listing(proj, before, sizeof before);

    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, proj), 2, "%s", e);
    cr_assert(strstr(e, "not a varprop folder"), "%s", e);
    free(o); free(e);
    /* without --quiet: refused before the run banner (it came after it, as if the runs had begun) */
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --no-plot", cfg, proj), 2, "%s", e);
    cr_assert(strstr(e, "not a varprop folder") && !strstr(o, " run"), "banner: %s", o);
    free(o); free(e);
    snprintf(res, sizeof res, "%s/res", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 0, "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tdir, &o, &e, "plot %s -o %s", res, proj), 2, "plots into a user folder: %s", e);
    cr_assert(strstr(e, "not a varprop folder"), "%s", e);
    free(o); free(e);
    /* `run --plots` into it is refused before the runs: no results folder, no lost work */
    char res2[300];
    snprintf(res2, sizeof res2, "%s/res2", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --plots %s", cfg, res2, proj), 2, "%s", e);
    cr_assert(strstr(e, "not a varprop folder") && strstr(e, "--plots"), "%s", e);
    cr_assert_not(vt_exists(res2), "a run refused for its charts folder wrote its results");
    free(o); free(e);
    listing(proj, after, sizeof after);
    cr_assert_str_eq(before, after, "the user's folder is untouched");
    char *c = vt_slurp_must(strcat(strcpy(p, proj), "/config.json"), NULL);
    cr_assert_str_eq(c, "{\"mine\": true}\n");
    free(c);

    /* an empty folder is fine, and becomes varprop's; so is a folder varprop made */
    snprintf(empty, sizeof empty, "%s/empty", tdir);
    cr_assert_eq(mkdir(empty, 0777), 0);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, empty), 0, "%s", e);
    free(o); free(e);
    snprintf(p, sizeof p, "%s/.varprop", empty);
    cr_assert(vt_exists(p), "the marker is written");
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, empty), 0, "%s", e);
    free(o); free(e);
}

/* Before: `varprop run R/config.json -o R` replaced its own input. */
Test(folder, a_run_never_writes_over_its_own_config)
{
    char cfg[300], res[300], in[400], link[400], *o, *e;
    put_config(cfg, sizeof cfg, "quick", QUICK_CFG);
    snprintf(res, sizeof res, "%s/res", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 0, "%s", e);
    free(o); free(e);
    snprintf(in, sizeof in, "%s/config.json", res);
    /* a config that resolves differently from the one that made the folder */
    vt_write_file(res, "config.json", "{\"name\":\"quick\",\"seeds\":3,\"network\":{\"depth\":3,\"width\":8}}\n");
    char *before = vt_slurp_must(in, NULL);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", in, res), 2, "%s", e);
    cr_assert(strstr(e, "a file this run writes"), "%s", e);
    free(o); free(e);
    snprintf(link, sizeof link, "%s/link.json", tdir);
    cr_assert_eq(symlink(in, link), 0);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", link, res), 2, "through a link: %s", e);
    free(o); free(e);
    char *after = vt_slurp_must(in, NULL);
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
}

/* Folders made before the marker existed are recognised and marked; one with a
 * foreign file is not. */
Test(folder, results_and_plots_of_an_earlier_varprop_are_adopted, .timeout = 120)
{
    char cfg[300], res[300], plots[300], p[400], *o, *e;
    put_config(cfg, sizeof cfg, "quick", QUICK_CFG);
    snprintf(res, sizeof res, "%s/res", tdir);
    snprintf(plots, sizeof plots, "%s/plots", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --plots %s", cfg, res, plots), 0, "%s", e);
    free(o); free(e);
    snprintf(p, sizeof p, "%s/.varprop", res);
    cr_assert_eq(unlink(p), 0);
    snprintf(p, sizeof p, "%s/.varprop", plots);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --plots %s", cfg, res, plots), 0, "%s", e);
    free(o); free(e);
    cr_assert(vt_exists(p), "the plots folder is marked");
    snprintf(p, sizeof p, "%s/.varprop", res);
    cr_assert(vt_exists(p), "the results folder is marked");
    cr_assert_eq(unlink(p), 0);
    vt_write_file(res, "notes.txt", "mine\n");
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 2, "%s", e);
    free(o); free(e);
}

/* The marker must be a regular file: a link or a FIFO planted under its name is refused. */
Test(folder, a_planted_marker_is_refused)
{
    char dir[300], m[400];
    snprintf(dir, sizeof dir, "%s/d", tdir);
    cr_assert_eq(mkdir(dir, 0777), 0);
    snprintf(m, sizeof m, "%s/.varprop", dir);
    cr_assert_eq(symlink("/etc/passwd", m), 0);
    vp_folder_lock lk = VP_FOLDER_LOCK_INIT;
    const vp_claim c = { ".varprop", "varprop\n", 1, 0, NULL };
    vp_err err;
    cr_assert_eq(vp_folder_claim(dir, &c, &lk, &err), VP_ERR_USAGE);
    cr_assert(strstr(err.msg, "symbolic link"), "%s", err.msg);
    cr_assert_eq(unlink(m), 0);
    cr_assert_eq(mkfifo(m, 0600), 0);
    cr_assert_eq(vp_folder_claim(dir, &c, &lk, &err), VP_ERR_USAGE, "a FIFO marker must not block or pass");
    cr_assert_eq(unlink(m), 0);
    cr_assert_eq(vp_folder_claim(dir, &c, &lk, &err), VP_OK, "%s", err.msg);
    cr_assert(vp_folder_same(&lk, dir));
    vp_folder_release(&lk);
}

/* ---- .parts ---- */

/* Before: a .parts that was a symbolic link had every file of its target deleted. */
Test(folder, a_parts_link_or_foreign_folder_is_refused)
{
    char cfg[300], res[300], victim[300], parts[400], p[500], *o, *e;
    put_config(cfg, sizeof cfg, "quick", QUICK_CFG);
    snprintf(res, sizeof res, "%s/res", tdir);
    snprintf(victim, sizeof victim, "%s/victim", tdir);
    snprintf(parts, sizeof parts, "%s/.parts", res);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 0, "%s", e);
    free(o); free(e);
    cr_assert_eq(mkdir(victim, 0777), 0);
    vt_write_file(victim, "thesis.tex", "years of work\n");
    vt_write_file(victim, "run-0000000.layers", "looks like a fragment\n");
    cr_assert_eq(symlink(victim, parts), 0);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 2, "%s", e);
    cr_assert(strstr(e, "symbolic link"), "%s", e);
    free(o); free(e);
    snprintf(p, sizeof p, "%s/thesis.tex", victim);
    cr_assert(vt_exists(p), "the link's target was emptied");
    snprintf(p, sizeof p, "%s/run-0000000.layers", victim);
    cr_assert(vt_exists(p), "the link's target was emptied");
    cr_assert_eq(unlink(parts), 0);

    vt_write_file(res, ".parts", "a file\n");
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 2, "%s", e);
    cr_assert(strstr(e, "not a folder"), "%s", e);
    free(o); free(e);
    cr_assert_eq(unlink(parts), 0);

    if (geteuid() == 0) { /* only root can give a folder away */
        cr_assert_eq(mkdir(parts, 0700), 0);
        cr_assert_eq(chown(parts, 65534, 65534), 0);
        cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 2, "%s", e);
        cr_assert(strstr(e, "another user"), "%s", e);
        free(o); free(e);
        cr_assert_eq(rmdir(parts), 0);
    }
}

/* Before: clearing .parts deleted every file in it. Now only fragment names varprop
 * writes (and their temporaries) go; other files, and so the folder, stay. */
Test(folder, clearing_parts_deletes_only_varprops_fragments)
{
    char cfg[300], res[300], parts[400], p[500], *o, *e;
    put_config(cfg, sizeof cfg, "quick", QUICK_CFG);
    snprintf(res, sizeof res, "%s/res", tdir);
    snprintf(parts, sizeof parts, "%s/.parts", res);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 0, "%s", e);
    free(o); free(e);
    cr_assert_eq(mkdir(parts, 0700), 0);
    const char *mine[] = { "notes.txt", "run-0000000.layers.bak", "run-0000000.sum~", "run-x.sum", ".hidden" };
    const char *ours[] = { "run-0000000.layers", "run-0000007.sum", "run-0000001.jac", ".run-0000000.runs.tmp.Ab12Cd",
                           "layers.csv" };
    for (size_t i = 0; i < 5; i++) vt_write_file(parts, mine[i], "keep\n");
    for (size_t i = 0; i < 5; i++) vt_write_file(parts, ours[i], "stale\n");
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 0, "%s", e);
    free(o); free(e);
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", parts, mine[i]);
        cr_assert(vt_exists(p), "%s was deleted", mine[i]);
        snprintf(p, sizeof p, "%s/%s", parts, ours[i]);
        cr_assert_not(vt_exists(p), "stale %s left", ours[i]);
    }
    snprintf(p, sizeof p, "%s/layers.csv", res);
    cr_assert_eq(vt_count_lines(p), QUICK_RUNS * QUICK_DEPTH + 1);
}

/* ---- staged publication ---- */

/* tanh mean_field over a sigma_w x sigma_b grid, with histograms and the Jacobian:
 * every optional output (histograms.csv, jacobian.csv, critical_line.dat). */
#define RICH_CFG "{\"name\":\"rich\",\"seeds\":1,\"network\":{\"depth\":4,\"width\":8,\"activation\":\"tanh\"," \
                 "\"init\":\"mean_field\"},\"input\":{\"batch\":8},\"measure\":{\"histograms\":{\"layers\":[1,4]," \
                 "\"bins\":8},\"jacobian\":true},\"sweep\":{\"network.init.sigma_w\":[0.5,2.0]," \
                 "\"network.init.sigma_b\":[0.0,0.3]}}"

/* The three files a folder's results are read by, for before/after comparisons. */
static const char *const RESULT_FILES[3] = { "config.json", "layers.csv", "runs.csv" };

/* The quick config's results in TMP/res, then the long config run into it and stopped
 * by `sig` once run `run` is complete (exit `code`; its stderr in TMP/.err): the quick
 * results' three files must be as they were. lng and res (300 bytes) get the long
 * config's path and the folder. */
static void stopped_over_quick(int sig, int run, int code, char *lng, char *res)
{
    char quick[300], p[400], *o, *e, *before[3];
    put_config(quick, sizeof quick, "quick", QUICK_CFG);
    put_config(lng, 300, "long", LONG_CFG);
    snprintf(res, 300, "%s/res", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", quick, res), 0, "%s", e);
    free(o); free(e);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", res, RESULT_FILES[i]);
        before[i] = vt_slurp_must(p, NULL);
    }
    pid_t pid = vt_spawn_run_until(lng, res, run, tdir);
    kill(pid, sig);
    cr_assert_eq(vt_wait_exit(pid, 100), code);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", res, RESULT_FILES[i]);
        char *after = vt_slurp_must(p, NULL);
        cr_assert_str_eq(before[i], after, "%s changed under a run of another config stopped by signal %d",
                         RESULT_FILES[i], sig);
        free(before[i]);
        free(after);
    }
}

/* Before: config.json was replaced when the run started, so a run killed midway left
 * the new config beside the earlier config's tables. */
Test(folder, a_killed_run_never_leaves_its_config_over_other_results, .timeout = 120)
{
    char lng[300], res[300], p[400], *o, *e;
    stopped_over_quick(SIGKILL, 2, 128 + SIGKILL, lng, res);
    /* the killed run's finished runs are there to resume */
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --resume", lng, res), 0, "%s", e);
    free(o); free(e);
    snprintf(p, sizeof p, "%s/layers.csv", res);
    cr_assert_eq(vt_count_lines(p), LONG_RUNS * LONG_DEPTH + 1);
}

/* An interrupted run (SIGINT: it stops after the runs in progress) into a folder of
 * another config's results keeps them, as the run's note promised ("this run replaces them
 * when it finishes (interrupt it now to keep them"): it published its partial tables over
 * them. --resume then completes it, and the folder holds its whole results. */
Test(folder, an_interrupted_run_keeps_another_configs_results, .timeout = 150)
{
    char lng[300], res[300], p[400], *o, *e;
    stopped_over_quick(SIGINT, 1, 130, lng, res);
    snprintf(p, sizeof p, "%s/.err", tdir);
    char *msg = vt_slurp_text(p);
    cr_assert(strstr(msg, "holds another config's results: they were kept"), "%s", msg);
    cr_assert(strstr(msg, "--resume -o"), "%s", msg);
    free(msg);
    /* the kept results' own config cannot resume into the other's unfinished runs: said so */
    char quick[300];
    snprintf(quick, sizeof quick, "%s/quick.json", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --resume", quick, res), 2);
    cr_assert(strstr(e, "/.parts holds the unfinished runs of a different config (name: \"long\" there, \"quick\" "
                        "in this config)"), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --resume", lng, res), 0, "%s", e);
    cr_assert(strstr(e, "resuming:") || !e[0], "%s", e);
    free(o); free(e);
    snprintf(p, sizeof p, "%s/layers.csv", res);
    cr_assert_eq(vt_count_lines(p), LONG_RUNS * LONG_DEPTH + 1);
    snprintf(p, sizeof p, "%s/config.json", res);
    char *cj = vt_slurp_must(p, NULL);
    cr_assert(strstr(cj, "\"name\":\t\"long\""), "the folder holds the completed run's config");
    free(cj);
}

/* Before: histograms.csv, jacobian.csv and critical_line.dat of an earlier run stayed
 * in the results folder, and their charts in the plots folder, beside a new run's
 * results that have none (and were drawn into its report). */
Test(folder, an_earlier_runs_optional_outputs_and_charts_are_removed, .timeout = 120)
{
    char rich[300], quick[300], res[300], plots[300], p[400], *o, *e;
    put_config(rich, sizeof rich, "rich", RICH_CFG);
    put_config(quick, sizeof quick, "quick", QUICK_CFG);
    snprintf(res, sizeof res, "%s/res", tdir);
    snprintf(plots, sizeof plots, "%s/plots", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --plots %s", rich, res, plots), 0, "%s", e);
    free(o); free(e);
    const char *optional[] = { "histograms.csv", "jacobian.csv", "critical_line.dat" };
    const char *charts[] = { "hist_pre.png", "hist_pre.dat", "hist_grad_pre.svg", "jacobian.png", "jacobian.gp",
                             "phase.png", "heatmap.dat", "critical_line.dat" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", res, optional[i]);
        cr_assert(vt_exists(p), "the rich run writes %s", optional[i]);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(p, sizeof p, "%s/%s", plots, charts[i]);
        cr_assert(vt_exists(p), "the rich run draws %s", charts[i]);
    }
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --plots %s", quick, res, plots), 0, "%s", e);
    free(o); free(e);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", res, optional[i]);
        cr_assert_not(vt_exists(p), "stale %s left in the results", optional[i]);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(p, sizeof p, "%s/%s", plots, charts[i]);
        cr_assert_not(vt_exists(p), "stale chart file %s left", charts[i]);
    }
    snprintf(p, sizeof p, "%s/act_var_pre.png", plots);
    cr_assert(vt_exists(p));
    snprintf(p, sizeof p, "%s/report.md", plots);
    char *rep = vt_slurp_must(p, NULL);
    cr_assert_null(strstr(rep, "hist_pre"), "the report lists no stale chart");
    free(rep);
}

/* ---- --resume ---- */

/* Before: --resume on a finished folder ran the whole sweep again (and an interrupt
 * then replaced the complete tables by fewer rows); into a missing folder it created
 * the folder, then refused. */
Test(folder, resume_of_a_finished_or_missing_folder_runs_and_writes_nothing, .timeout = 60)
{
    char cfg[300], res[300], missing[300], *o, *e;
    put_config(cfg, sizeof cfg, "quick", QUICK_CFG);
    snprintf(res, sizeof res, "%s/res", tdir);
    snprintf(missing, sizeof missing, "%s/missing", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 0, "%s", e);
    free(o); free(e);
    static char before[1 << 14], after[1 << 14];
    before[0] = after[0] = '\0';
    listing(res, before, sizeof before);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --no-plot --resume", cfg, res), 0, "%s", e);
    cr_assert(strstr(e, "nothing to resume"), "%s", e);
    free(o); free(e);
    listing(res, after, sizeof after);
    cr_assert_str_eq(before, after, "a finished folder is left as it is");

    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --resume", cfg, missing), 2, "%s", e);
    cr_assert(strstr(e, "nothing to resume"), "%s", e);
    free(o); free(e);
    cr_assert_not(vt_exists(missing), "--resume created the folder it refused");
}

/* Start LONG_CFG into res and interrupt it (SIGINT) once run 3 is complete. */
static void interrupted_long(const char *cfg, const char *res)
{
    pid_t pid = vt_spawn_run_until(cfg, res, 3, NULL);
    kill(pid, SIGINT);
    cr_assert_eq(vt_wait_exit(pid, 100), 130);
}

/* Before: an interrupted run of the same config replaced complete tables by the few
 * runs it had finished. */
Test(folder, an_interrupted_run_never_publishes_fewer_runs_than_the_folder_holds, .timeout = 120)
{
    char cfg[300], res[300], p[400], *o, *e;
    put_config(cfg, sizeof cfg, "long", LONG_CFG);
    snprintf(res, sizeof res, "%s/res", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --threads 2", cfg, res), 0, "%s", e);
    free(o); free(e);
    snprintf(p, sizeof p, "%s/layers.csv", res);
    char *full = vt_slurp_must(p, NULL);
    interrupted_long(cfg, res);
    char *now = vt_slurp_must(p, NULL);
    cr_assert_str_eq(full, now, "the complete results were replaced by fewer runs");
    free(now);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --resume", cfg, res), 0, "%s", e);
    free(o); free(e);
    now = vt_slurp_must(p, NULL);
    cr_assert_str_eq(full, now);
    free(now);
    free(full);
}

/* Before: --resume trusted every fragment with a .sum marker: an emptied, truncated or
 * altered fragment gave missing or ragged rows, with exit 0. (A run's fragments are now
 * in its marker's file, after the marker; the same three kinds of damage there.) */
Test(folder, resume_checks_each_fragment_and_redoes_damaged_runs, .timeout = 120)
{
    char cfg[300], full[300], res[300], p[400], *o, *e;
    put_config(cfg, sizeof cfg, "long", LONG_CFG);
    snprintf(full, sizeof full, "%s/full", tdir);
    snprintf(res, sizeof res, "%s/res", tdir);
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --threads 2", cfg, full), 0, "%s", e);
    free(o); free(e);
    interrupted_long(cfg, res);

    /* each run's file: its marker, a blank line, then its fragments (layers, ..., runs) */
    snprintf(p, sizeof p, "%s/.parts/run-0000009.sum", res); /* the fragments gone, the marker kept (run 9
                                                                 finished before run 3: the runs of a seed share
                                                                 their weights and run one after another) */
    char *r0 = vt_slurp_must(p, NULL), *blank = strstr(r0, "\n\n");
    cr_assert(blank);
    cr_assert_eq(truncate(p, (off_t)(blank + 2 - r0)), 0);
    free(r0);
    snprintf(p, sizeof p, "%s/.parts/run-0000001.sum", res); /* cut mid-row */
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(truncate(p, st.st_size - 7), 0);
    snprintf(p, sizeof p, "%s/.parts/run-0000002.sum", res); /* one byte of runs.csv's row changed, same length */
    size_t n2;
    char *r2 = vt_slurp_must(p, &n2);
    cr_assert(n2 > 2 && r2[n2 - 1] == '\n');
    char *row = r2 + n2 - 2;
    while (row > r2 && row[-1] != '\n') row--; /* the last line: the run's runs.csv row */
    char *digit = strpbrk(row + 10, "123456789");
    cr_assert(digit);
    *digit = *digit == '9' ? '8' : (char)(*digit + 1);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fwrite(r2, 1, n2, f);
    fclose(f);
    free(r2);

    /* run 8: its summary line, which the table shows, changed -- the marker's own checksum covers it */
    snprintf(p, sizeof p, "%s/.parts/run-0000008.sum", res);
    size_t n8;
    char *r8 = vt_slurp_must(p, &n8), *sum8 = strchr(r8, '\n') + 1; /* after the tag line */
    cr_assert(sum8[0] >= '0' && sum8[0] <= '9', "%s", r8);
    sum8[0] = sum8[0] == '9' ? '8' : (char)(sum8[0] + 1);
    f = fopen(p, "w");
    cr_assert(f);
    fwrite(r8, 1, n8, f);
    fclose(f);
    free(r8);
    /* run 0 as an earlier build left it: the marker alone, its fragments in files of their own */
    snprintf(p, sizeof p, "%s/.parts/run-0000000.sum", res);
    vt_write_file(tdir, "old.sum", "0.5 0.5 0 0 nan\nlayers 20 100 0badf00d\nruns 1 50 0badf00d\n");
    char old[400];
    snprintf(old, sizeof old, "%s/old.sum", tdir);
    cr_assert_eq(rename(old, p), 0);

    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --resume", cfg, res), 0, "%s", e);
    cr_assert(strstr(e, "5 finished runs failed the check"), "the damaged runs are reported: %s", e);
    cr_assert(strstr(e, "(run 0: run-0000000.sum is from an earlier varprop build"), "the first one's reason: %s", e);
    cr_assert(strstr(e, "; also runs 1, 2, 8, 9); run again"), "the others' numbers: %s", e);
    free(o); free(e);
    char a[400], b[400];
    snprintf(a, sizeof a, "%s/layers.csv", full);
    snprintf(b, sizeof b, "%s/layers.csv", res);
    char *x = vt_slurp_must(a, NULL), *y = vt_slurp_must(b, NULL);
    cr_assert_str_eq(x, y, "resumed layers.csv is byte-identical to an uninterrupted run's");
    free(x);
    free(y);
    snprintf(b, sizeof b, "%s/runs.csv", res);
    cr_assert_eq(vt_count_lines(b), LONG_RUNS + 1);
}

/* ---- standard descriptors ---- */

/* Before: with descriptor 2 (or 0, 1) closed at start, the first file varprop opened
 * took its number, and the stop message of a signal was written into that file -- a
 * fragment or a CSV. Now /dev/null stands in for every closed standard descriptor. */
Test(folder, closed_standard_descriptors_are_opened_on_dev_null, .timeout = 120)
{
    char cfg[300], res[300], sum[400], *o, *e;
    put_config(cfg, sizeof cfg, "long", LONG_CFG);
    snprintf(res, sizeof res, "%s/res", tdir);
    snprintf(sum, sizeof sum, "%s/.parts/run-0000002.sum", res);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(0);
        close(1);
        close(2);
        execl(vt_bin(), "varprop", "run", cfg, "-o", res, "--threads", "1", "--no-plot", (char *)NULL);
        _exit(127);
    }
    vt_await_file(sum);
    kill(pid, SIGSTOP);
    for (int fd = 0; fd < 3; fd++) {
        char link[64], target[512];
        snprintf(link, sizeof link, "/proc/%ld/fd/%d", (long)pid, fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        cr_assert_str_eq(target, "/dev/null", "descriptor %d is %s", fd, n > 0 ? target : "closed");
    }
    kill(pid, SIGCONT);
    kill(pid, SIGINT);
    cr_assert_eq(vt_wait_exit(pid, 100), 130);
    /* every table, fragment and marker holds only its own content */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "grep -rl 'stopping\\|summary\\|resume with' '%s' >/dev/null", res);
    cr_assert_neq(WEXITSTATUS(system(cmd)), 0, "a message landed in a results file");
    cr_assert_eq(vt_run(tdir, &o, &e, "run %s -o %s --quiet --no-plot --resume", cfg, res), 0, "%s", e);
    free(o); free(e);
}
