/* Shards and merge (issue 17): `varprop run CONFIG --shard K/N` runs slice K of N, and
 * `varprop merge` joins the N shards into exactly the files of a single run (runs.csv's
 * `seconds` aside); every refusal of merge exits 2 and writes nothing. The slices
 * themselves (experiment/shard.h) are checked in-process: a partition of the runs that
 * keeps the runs sharing their parameters together, the same plan every time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "harness.h"
#include "experiment/config.h"
#include "experiment/shard.h"

/* Histograms, the Jacobian, lengths and a sweep whose variants share weights (the
 * activation) and differ in cost (the depth): every fragment kind, uneven slices. */
#define SWEEP_CFG                                                                                        \
    "{\"name\":\"shardy\",\"seeds\":3,\"precision\":\"float64\",\"network\":{\"depth\":4,\"width\":12},"  \
    "\"input\":{\"batch\":6},\"measure\":{\"histograms\":{\"layers\":[1,2],\"bins\":8},\"jacobian\":true," \
    "\"lengths\":true},\"sweep\":{\"network.activation\":[\"relu\",\"tanh\",\"gelu\"],"                  \
    "\"network.depth\":[2,7]}}"

static const char *const FILES[] = { "layers.csv",  "runs.csv",         "histograms.csv", "jacobian.csv",
                                     "lengths.csv", "config.json",      "train.csv",      "eval.csv",
                                     "layers_train.csv", "hist_train.csv" };
#define NFILES (int)(sizeof FILES / sizeof FILES[0])

/* One CSV line without its field number `skip` (-1: none), fields joined by commas. */
static void drop_field(const char *line, size_t len, int skip, FILE *out)
{
    int field = 0, first = 1;
    for (size_t a = 0; a <= len;) {
        size_t b = a;
        while (b < len && line[b] != ',') b++;
        if (field != skip) {
            fprintf(out, "%s%.*s", first ? "" : ",", (int)(b - a), line + a);
            first = 0;
        }
        field++;
        a = b + 1;
    }
}

/* The text with runs.csv's wall-time column `seconds` taken out (no quoted commas in these files). */
static char *timeless(const char *text)
{
    const char *eol = strchr(text, '\n');
    size_t hlen = eol ? (size_t)(eol - text) : strlen(text);
    int skip = -1, field = 0;
    for (size_t i = 0; i < hlen; i++) {
        if ((i == 0 || text[i - 1] == ',') && strncmp(text + i, "seconds,", 8) == 0) skip = field;
        field += text[i] == ',';
    }
    char *buf = NULL;
    size_t blen = 0;
    FILE *out = open_memstream(&buf, &blen);
    cr_assert_not_null(out);
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        drop_field(p, n, skip, out);
        if (e) fputc('\n', out);
        p += n + (e ? 1 : 0);
    }
    fclose(out);
    return buf;
}

/* Every results file of folder b holds the bytes of a's (runs.csv: but `seconds`). Used
 * by test_mpi.c too. */
void vt_expect_same_results(const char *a, const char *b, const char *what);
void vt_expect_same_results(const char *a, const char *b, const char *what)
{
    for (int f = 0; f < NFILES; f++) {
        char pa[512], pb[512];
        snprintf(pa, sizeof pa, "%s/%s", a, FILES[f]);
        snprintf(pb, sizeof pb, "%s/%s", b, FILES[f]);
        char *ta = vt_slurp(pa, NULL), *tb = vt_slurp(pb, NULL);
        cr_expect((ta == NULL) == (tb == NULL), "%s: %s is in only one of %s and %s", what, FILES[f], a, b);
        if (ta && tb) {
            char *xa = timeless(ta), *xb = timeless(tb);
            cr_expect(strcmp(xa, xb) == 0, "%s: %s differs from the single run's", what, FILES[f]);
            free(xa);
            free(xb);
        }
        free(ta);
        free(tb);
    }
}

static char dir[256];
static void mk(void) { vt_mktmp(dir, sizeof dir, "/tmp/varprop-shard-"); }
static void rm(void) { vt_rmtree(dir); }
TestSuite(shard, .init = mk, .fini = rm, .timeout = 120);

/* Config `name` (text json) run as shards 1..n into DIR/<name>-<k>. */
static void make_shards(const char *name, const char *json, int n)
{
    char file[64];
    snprintf(file, sizeof file, "%s.json", name);
    vt_write_file(dir, file, json);
    for (int k = 1; k <= n; k++) {
        char *err = NULL;
        int rc = vt_run(dir, NULL, &err, "run '%s/%s.json' --shard %d/%d -o '%s/%s-%d' --quiet --threads 1", dir, name,
                        k, n, dir, name, k);
        cr_assert_eq(rc, 0, "shard %d/%d: exit %d: %s", k, n, rc, err);
        free(err);
    }
}

Test(shard, merged_shards_are_the_single_run)
{
    char ref[300], merged[300], *err = NULL;
    vt_write_file(dir, "c.json", SWEEP_CFG);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    cr_assert_eq(vt_run(dir, NULL, &err, "run '%s/c.json' -o '%s' --no-plot --quiet", dir, ref), 0, "%s", err);
    free(err);
    for (int n = 1; n <= 4; n += 3) { /* N = 1, and N = 4 over 18 runs in 6 groups: uneven slices */
        char name[16];
        snprintf(name, sizeof name, "c%d", n);
        make_shards(name, SWEEP_CFG, n);
        snprintf(merged, sizeof merged, "%s/merged%d", dir, n);
        char list[1400] = "";
        for (int k = n; k >= 1; k--) /* any order */
            snprintf(list + strlen(list), sizeof list - strlen(list), " '%s/%s-%d'", dir, name, k);
        int rc = vt_run(dir, NULL, &err, "merge%s -o '%s' --no-plot --quiet", list, merged);
        cr_assert_eq(rc, 0, "merge of %d shards: exit %d: %s", n, rc, err);
        free(err);
        vt_expect_same_results(ref, merged, n == 1 ? "1 shard" : "4 shards");
        char parts[400];
        snprintf(parts, sizeof parts, "%s/.parts", merged);
        cr_expect_not(vt_exists(parts), "merge left its .parts behind");
    }
}

/* Training runs (issue 14) shard the same way: a run is a run, its training files are
 * fragments like the others. Two variants x two seeds on synthetic clusters. */
#define TRAIN_CFG                                                                                           \
    "{\"name\":\"shardtrain\",\"seeds\":2,\"network\":{\"depth\":3,\"width\":16},"                          \
    "\"train\":{\"dataset\":{\"name\":\"synthetic\",\"kind\":\"clusters\",\"n_train\":256,\"n_test\":64,"    \
    "\"dim\":16},\"epochs\":1,\"batch\":32,\"track_every\":4},"                                          \
    "\"sweep\":{\"network.init\":[\"he_normal\",\"xavier_uniform\"]}}"

Test(shard, training_runs_merge_to_the_single_run)
{
    char ref[300], merged[300], *err = NULL;
    vt_write_file(dir, "t.json", TRAIN_CFG);
    snprintf(ref, sizeof ref, "%s/tref", dir);
    cr_assert_eq(vt_run(dir, NULL, &err, "run '%s/t.json' -o '%s' --no-plot --quiet", dir, ref), 0, "%s", err);
    free(err);
    make_shards("t3", TRAIN_CFG, 3);
    snprintf(merged, sizeof merged, "%s/tmerged", dir);
    int rc = vt_run(dir, NULL, &err, "merge '%s/t3-1' '%s/t3-2' '%s/t3-3' -o '%s' --no-plot --quiet", dir, dir, dir,
                    merged);
    cr_assert_eq(rc, 0, "merge: exit %d: %s", rc, err);
    free(err);
    char tf[400];
    snprintf(tf, sizeof tf, "%s/train.csv", merged);
    cr_assert(vt_exists(tf), "the merged folder has no train.csv");
    vt_expect_same_results(ref, merged, "3 training shards");
}

/* The marker says what the shard is; an interrupted shard has none. */
Test(shard, a_shard_folder_is_sealed_when_complete)
{
    make_shards("c", SWEEP_CFG, 2);
    char path[400];
    snprintf(path, sizeof path, "%s/c-1/shard.json", dir);
    char *m = vt_slurp_must(path, NULL);
    cr_expect(strstr(m, "\"shard\":\t1") && strstr(m, "\"shards\":\t2") && strstr(m, "\"varprop_version\":\t\"" VP_VERSION),
              "%s", m);
    cr_expect(strstr(m, "config_hash"), "%s", m);
    free(m);
    snprintf(path, sizeof path, "%s/c-1/layers.csv", dir);
    cr_expect_not(vt_exists(path), "a shard keeps fragments, not tables");
}

/* The entries of folder d as "name:size:inode:mtime " in name order (a file rewritten
 * through a rename gets a new inode, one rewritten in place a new mtime). */
static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void vt_listing(const char *d, char *buf, size_t len)
{
    DIR *dh = opendir(d);
    cr_assert_not_null(dh, "%s", d);
    char *names[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && n < 256)
        if (de->d_name[0] != '.') names[n++] = strdup(de->d_name);
    closedir(dh);
    qsort(names, (size_t)n, sizeof *names, by_name);
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        char p[600];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", d, names[i]);
        cr_assert_eq(stat(p, &st), 0, "%s", p);
        if (at < len)
            at += (size_t)snprintf(buf + at, len - at, "%s:%lld:%llu:%lld.%09ld ", names[i], (long long)st.st_size,
                                   (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        free(names[i]);
    }
}

/* A shard folder is resumed as that shard only: --resume with another --shard, or
 * without one, would add another slice's runs beside its own (a folder of two slices
 * that merge then refuses); a folder of the whole sweep is not resumed as a shard.
 * Each is exit 2 before anything is written -- also for an interrupted shard, which has
 * no marker (.parts/slice says what it holds). The right --shard still resumes. */
Test(shard, resume_keeps_a_folder_to_its_slice)
{
    make_shards("c", SWEEP_CFG, 3);
    char parts[400], before[4000], after[4000], marker[400];
    snprintf(parts, sizeof parts, "%s/c-2/.parts", dir);
    snprintf(marker, sizeof marker, "%s/c-2/shard.json", dir);
    vt_listing(parts, before, sizeof before);
    static const struct { const char *shard, *want; } bad[] = {
        { "--shard 1/3", "holds shard 2/3 of this config's runs, not shard 1/3; resume it with --shard 2/3" },
        { "--shard 2/4", "holds shard 2/3 of this config's runs, not shard 2/4; resume it with --shard 2/3" },
        { "", "holds shard 2/3 of this config's runs, not the whole sweep; resume it with --shard 2/3" },
    };
    for (int pass = 0; pass < 2; pass++) { /* sealed, then as if interrupted (no marker) */
        if (pass) cr_assert_eq(unlink(marker), 0);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char *err = NULL, *out = NULL;
            int rc = vt_run(dir, &out, &err, "run '%s/c.json' --resume %s -o '%s/c-2' --no-plot --threads 1", dir,
                            bad[i].shard, dir);
            cr_expect_eq(rc, 2, "resume %s (pass %d): exit %d: %s", bad[i].shard, pass, rc, err);
            cr_expect(strstr(err, bad[i].want), "resume %s (pass %d): %s", bad[i].shard, pass, err);
            cr_expect(!strstr(out, " runs"), "refused before the banner: %s", out);
            vt_listing(parts, after, sizeof after);
            cr_expect_str_eq(after, before, "resume %s (pass %d) changed .parts", bad[i].shard, pass);
            free(err);
            free(out);
        }
    }
    char *err = NULL;
    cr_expect_eq(vt_run(dir, NULL, &err, "run '%s/c.json' --resume --shard 2/3 -o '%s/c-2' --quiet --threads 1", dir,
                        dir), 0, "%s", err);
    free(err);
    cr_expect(vt_exists(marker), "the shard resumed as itself is sealed again");
    /* the whole sweep's folder is not a shard */
    cr_assert_eq(vt_run(dir, NULL, &err, "run '%s/c.json' -o '%s/all' --no-plot --quiet --threads 1", dir, dir), 0,
                 "%s", err);
    free(err);
    cr_expect_eq(vt_run(dir, NULL, &err, "run '%s/c.json' --resume --shard 1/3 -o '%s/all' --no-plot --threads 1", dir,
                        dir), 2);
    cr_expect(strstr(err, "holds the whole sweep of this config's runs, not shard 1/3; resume it without --shard"),
              "%s", err);
    free(err);
    /* nor is a new shard run into it (without --resume): it kept the tables beside the shard's
       fragments, which plot then drew and merge took as a shard */
    char allp[400], before_all[4000], after_all[4000];
    snprintf(allp, sizeof allp, "%s/all", dir);
    vt_listing(allp, before_all, sizeof before_all);
    cr_expect_eq(vt_run(dir, NULL, &err, "run '%s/c.json' --shard 1/3 -o '%s/all' --no-plot --threads 1", dir, dir), 2);
    cr_expect(strstr(err, "holds the results of a whole run") && strstr(err, "choose another -o"), "%s", err);
    free(err);
    vt_listing(allp, after_all, sizeof after_all);
    cr_expect_str_eq(after_all, before_all, "the refused shard run changed the folder");
}

/* --resume of a finished shard is what it is of a finished whole run: "nothing to
 * resume", the same exit status, nothing written (it rewrote the marker and the staged
 * config and slice, and said "resuming: all runs already complete"). A sealed shard that
 * has lost a run since is not finished: --resume runs that run again and seals anew. */
Test(shard, resume_of_a_finished_shard_has_nothing_to_do_and_writes_nothing)
{
    make_shards("c", SWEEP_CFG, 2);
    char *out = NULL, *err = NULL, all[300];
    snprintf(all, sizeof all, "%s/all", dir);
    cr_assert_eq(vt_run(dir, NULL, &err, "run '%s/c.json' -o '%s' --no-plot --quiet --threads 1", dir, all), 0, "%s",
                 err);
    free(err);
    int whole = vt_run(dir, NULL, &err, "run '%s/c.json' -o '%s' --no-plot --resume --threads 1", dir, all);
    cr_assert(strstr(err, "nothing to resume: "), "the whole run's answer: %s", err);
    free(err);

    char sdir[300], parts[320], marker[340], top_b[4000], top_a[4000], parts_b[4000], parts_a[4000];
    snprintf(sdir, sizeof sdir, "%s/c-1", dir);
    snprintf(parts, sizeof parts, "%s/.parts", sdir);
    snprintf(marker, sizeof marker, "%s/shard.json", sdir);
    char *mark_b = vt_slurp_must(marker, NULL);
    vt_listing(sdir, top_b, sizeof top_b);
    vt_listing(parts, parts_b, sizeof parts_b);
    usleep(50000); /* past the file system's clock tick: a rewrite gets another mtime */
    int rc = vt_run(dir, &out, &err, "run '%s/c.json' --shard 1/2 --resume -o '%s' --no-plot --threads 1", dir, sdir);
    cr_expect_eq(rc, whole, "exit %d, a finished whole run's %d: %s", rc, whole, err);
    cr_expect(strstr(err, "varprop: nothing to resume: ") && strstr(err, " runs of shard 1/2 of this config"), "%s",
              err);
    cr_expect(!strstr(err, "resuming") && !strstr(out, "complete in"), "%s%s", out, err);
    free(out);
    free(err);
    vt_listing(sdir, top_a, sizeof top_a);
    vt_listing(parts, parts_a, sizeof parts_a);
    cr_expect_str_eq(top_a, top_b, "the shard folder changed");
    cr_expect_str_eq(parts_a, parts_b, "its .parts changed");
    char *mark_a = vt_slurp_must(marker, NULL);
    cr_expect_str_eq(mark_a, mark_b, "the marker changed");
    free(mark_a);
    free(mark_b);

    /* one run's file gone: resumed, sealed again, and the merge is the single run */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm \"$(ls '%s'/*.sum | head -1)\"", parts);
    cr_assert_eq(system(cmd), 0);
    rc = vt_run(dir, NULL, &err, "run '%s/c.json' --shard 1/2 --resume -o '%s' --no-plot --threads 1", dir, sdir);
    cr_expect_eq(rc, 0, "exit %d: %s", rc, err);
    cr_expect(strstr(err, "already complete") && !strstr(err, "nothing to resume"), "%s", err);
    free(err);
    cr_expect(vt_exists(marker), "sealed again");
    rc = vt_run(dir, NULL, &err, "merge '%s' '%s/c-2' -o '%s/merged' --no-plot --quiet", sdir, dir, dir);
    cr_assert_eq(rc, 0, "merge: exit %d: %s", rc, err);
    free(err);
    char merged[300];
    snprintf(merged, sizeof merged, "%s/merged", dir);
    vt_expect_same_results(all, merged, "a shard resumed after losing a run");
}

/* A folder typed with a trailing '/' (or several) is printed with one: merge said
 * "merged 18 runs into DIR/new/a/b//", and run "results in DIR/r//", "complete in
 * DIR/s1//", "charts and report in DIR/p//". */
Test(shard, folders_typed_with_slashes_are_printed_with_one)
{
    vt_write_file(dir, "c.json", SWEEP_CFG);
    char *out = NULL, want[400];
    const char *shards[] = { "s1/", "s2//" };
    for (int k = 1; k <= 2; k++) {
        cr_assert_eq(vt_run(dir, &out, NULL, "run '%s/c.json' --shard %d/2 -o '%s/%s' --threads 1", dir, k, dir,
                            shards[k - 1]), 0);
        snprintf(want, sizeof want, "complete in %s/s%d/ (", dir, k);
        cr_expect(strstr(out, want) && !strstr(out, "//"), "%s", out);
        free(out);
    }
    cr_assert_eq(vt_run(dir, &out, NULL, "merge '%s/s1' '%s/s2' -o '%s/new/a/b/' --no-plot", dir, dir, dir), 0);
    snprintf(want, sizeof want, "varprop: merged 18 runs into %s/new/a/b/ (", dir);
    cr_expect(strstr(out, want) && !strstr(out, "//"), "%s", out);
    free(out);
    int charts = system("command -v gnuplot >/dev/null 2>&1") == 0;
    cr_assert_eq(vt_run(dir, &out, NULL, "run '%s/c.json' -o '%s/r//' --plots '%s/p/' --threads 1", dir, dir, dir), 0);
    snprintf(want, sizeof want, "varprop: results in %s/r/ (", dir);
    cr_expect(strstr(out, want) && !strstr(out, "//"), "%s", out);
    snprintf(want, sizeof want, "varprop: charts and report in %s/p/ (", dir);
    cr_expect(!charts || strstr(out, want), "%s", out);
    free(out);
    if (!charts) return;
    cr_assert_eq(vt_run(dir, &out, NULL, "plot '%s/r' -o '%s/p2//'", dir, dir), 0);
    snprintf(want, sizeof want, "varprop plot: charts and report in %s/p2/report.md", dir);
    cr_expect(strstr(out, want), "%s", out);
    free(out);
}

/* ---- refusals: exit 2, a message naming the problem, nothing written ---- */

static void refused(const char *args, const char *fragment)
{
    char *err = NULL, out[300];
    snprintf(out, sizeof out, "%s/out", dir);
    int rc = vt_run(dir, NULL, &err, "merge %s -o '%s' --no-plot", args, out);
    cr_expect_eq(rc, 2, "merge %s: exit %d: %s", args, rc, err);
    cr_expect(strstr(err, fragment), "merge %s: expected \"%s\" in: %s", args, fragment, err);
    cr_expect_not(vt_exists(out), "merge %s wrote %s", args, out);
    free(err);
}

Test(shard, every_merge_refusal_exits_2_and_writes_nothing)
{
    make_shards("c", SWEEP_CFG, 3);
    make_shards("two", SWEEP_CFG, 2);
    make_shards("other", "{\"name\":\"shardy\",\"seeds\":2,\"network\":{\"depth\":3,\"width\":8},\"input\":{\"batch\":4}}", 3);
    char a[2000];
#define D(x) dir, x
    snprintf(a, sizeof a, "'%s/%s' '%s/%s'", D("c-1"), D("c-2"));
    refused(a, "missing shard 3/3");
    snprintf(a, sizeof a, "'%s/%s'", D("c-2"));
    refused(a, "missing shards 1/3, 3/3");
    snprintf(a, sizeof a, "'%s/%s' '%s/%s' '%s/%s' '%s/%s'", D("c-1"), D("c-2"), D("c-2"), D("c-3"));
    refused(a, "shard 2/3 given twice");
    snprintf(a, sizeof a, "'%s/%s' '%s/%s' '%s/%s'", D("c-1"), D("c-2"), D("other-3"));
    refused(a, "different configs (seeds: [0,1,2] in "); /* what differs, first, and whose */
    refused(a, "other-3)");
    /* the configs as resolved are compared: a default written out in one file only ("theory": true) is no
     * difference, the depth is (before: "theory: absent in ..., true in ...") */
    make_shards("deeper", "{\"name\":\"shardy\",\"theory\":true,\"seeds\":3,\"precision\":\"float64\","
                          "\"network\":{\"depth\":4,\"width\":12},\"input\":{\"batch\":6},\"measure\":"
                          "{\"histograms\":{\"layers\":[1,2],\"bins\":8},\"jacobian\":true,\"lengths\":true},"
                          "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\",\"gelu\"],\"network.depth\":[2,8]}}", 3);
    snprintf(a, sizeof a, "'%s/%s' '%s/%s' '%s/%s'", D("c-1"), D("c-2"), D("deeper-3"));
    refused(a, "different configs (sweep[\"network.depth\"][1]: 7 in ");
    snprintf(a, sizeof a, "'%s/%s' '%s/%s' '%s/%s'", D("c-1"), D("c-2"), D("two-2"));
    refused(a, "share their N");
    snprintf(a, sizeof a, "'%s/%s'", D("nothing-here"));
    refused(a, "no such shard folder");
    snprintf(a, sizeof a, "'%s/%s'", D("not-a-shard"));
    { char p[400]; snprintf(p, sizeof p, "%s/not-a-shard", dir); cr_assert_eq(mkdir(p, 0777), 0); }
    refused(a, "not a shard folder");
    { /* a charts folder varprop would refuse: refused before the merge writes its results */
        char *err = NULL, out[300], user[300];
        snprintf(out, sizeof out, "%s/out", dir);
        snprintf(user, sizeof user, "%s/mine", dir);
        cr_assert_eq(mkdir(user, 0777), 0);
        vt_write_file(user, "notes.txt", "mine\n");
        int rc = vt_run(dir, NULL, &err, "merge '%s/c-1' '%s/c-2' '%s/c-3' -o '%s' --plots '%s'", dir, dir, dir, out, user);
        cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
        cr_expect(strstr(err, "varprop merge: charts folder (--plots)") && strstr(err, "not a varprop folder"), "%s", err);
        cr_expect_not(vt_exists(out), "a merge refused for its charts folder wrote %s", out);
        free(err);
    }
    { /* into a shard's own folder: its fragments would be cleared */
        char *err = NULL;
        int rc = vt_run(dir, NULL, &err, "merge '%s/c-1' '%s/c-2' '%s/c-3' -o '%s/c-2' --no-plot", dir, dir, dir, dir);
        cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
        cr_expect(strstr(err, "is shard 2/3 itself"), "%s", err);
        free(err);
    }

    /* another version: the marker edited */
    char path[400], *m;
    snprintf(path, sizeof path, "%s/c-3/shard.json", dir);
    m = vt_slurp_must(path, NULL);
    char *v = strstr(m, VP_VERSION);
    cr_assert(v);
    char *edited = malloc(strlen(m) + 8);
    snprintf(edited, strlen(m) + 8, "%.*s9.9.9%s", (int)(v - m), m, v + strlen(VP_VERSION));
    vt_write_file(dir, "c-3/shard.json", edited);
    snprintf(a, sizeof a, "'%s/%s' '%s/%s' '%s/%s'", D("c-1"), D("c-2"), D("c-3"));
    refused(a, "made by varprop 9.9.9");
    vt_write_file(dir, "c-3/shard.json", "{\"shard\": 3}");
    refused(a, "damaged");
    /* unfinished: no marker, fragments in .parts */
    cr_assert_eq(remove(path), 0);
    refused(a, "unfinished shard");
    free(m);
    free(edited);
#undef D
}

/* A fragment damaged after the shard finished: merge fails (exit 1), names the shard
 * and the run, and publishes nothing. */
Test(shard, a_damaged_fragment_fails_the_merge)
{
    make_shards("c", SWEEP_CFG, 2);
    char parts[400], cmd[800];
    snprintf(parts, sizeof parts, "%s/c-2/.parts", dir);
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/*.sum | head -1); printf 'x' >> \"$f\"", parts);
    cr_assert_eq(system(cmd), 0);
    char *err = NULL;
    int rc = vt_run(dir, NULL, &err, "merge '%s/c-1' '%s/c-2' -o '%s/out' --no-plot", dir, dir, dir);
    cr_expect_eq(rc, 1, "exit %d: %s", rc, err);
    cr_expect(strstr(err, "c-2 (shard 2/2): run ") && strstr(err, "--resume"), "%s", err);
    char p[400];
    snprintf(p, sizeof p, "%s/out", dir);
    cr_expect_not(vt_exists(p), "a failed merge leaves no folder behind (it left one holding only its marker)");
    free(err);
    /* into an empty folder of the user's: left empty */
    cr_assert_eq(mkdir(p, 0755), 0);
    rc = vt_run(dir, NULL, &err, "merge '%s/c-1' '%s/c-2' -o '%s' --no-plot", dir, dir, p);
    cr_expect_eq(rc, 1, "exit %d: %s", rc, err);
    char listing[4000];
    vt_listing(p, listing, sizeof listing);
    cr_expect_str_empty(listing, "%s", listing);
    snprintf(p, sizeof p, "%s/out/.varprop", dir);
    cr_expect_not(vt_exists(p), "its marker taken back");
    free(err);
    /* folders mkdir -p made for a nested -o go too, up to the first that existed */
    rc = vt_run(dir, NULL, &err, "merge '%s/c-1' '%s/c-2' -o '%s/new/a/b' --no-plot", dir, dir, dir);
    cr_expect_eq(rc, 1, "exit %d: %s", rc, err);
    snprintf(p, sizeof p, "%s/new", dir);
    cr_expect_not(vt_exists(p), "a failed merge left %s (made for -o DIR/new/a/b)", p);
    free(err);
    /* a trailing slash and a "." in the path: the same */
    rc = vt_run(dir, NULL, &err, "merge '%s/c-1' '%s/c-2' -o '%s/new/a/./b/' --no-plot", dir, dir, dir);
    cr_expect_eq(rc, 1, "exit %d: %s", rc, err);
    cr_expect_not(vt_exists(p), "a failed merge left %s (made for -o DIR/new/a/./b/)", p);
    free(err);
}

Test(shard, bad_shard_arguments_are_usage_errors)
{
    vt_write_file(dir, "c.json", SWEEP_CFG);
    const char *bad[] = { "0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/100001" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        int rc = vt_run(dir, NULL, &err, "run '%s/c.json' --shard '%s' -o '%s/o' --quiet", dir, bad[i], dir);
        cr_expect_eq(rc, 2, "--shard %s: exit %d", bad[i], rc);
        cr_expect(strstr(err, "--shard"), "--shard %s: %s", bad[i], err);
        free(err);
    }
}

/* ---- the slices, in-process ---- */

Test(shard, slices_partition_the_runs_and_keep_shared_weights_together)
{
    vp_experiment *e = NULL;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(SWEEP_CFG, strlen(SWEEP_CFG), "t", &co, &e, &err), VP_OK, "%s", err.msg);
    int total = (int)vp_experiment_runs(e);
    const int ns[] = { 1, 2, 3, 5, 7, 40 };
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t], *owner = calloc((size_t)total, sizeof *owner), *again = calloc((size_t)total, sizeof *again);
        cr_assert(owner && again);
        cr_assert_eq(vp_shard_assign(e, n, again, &err), VP_OK);
        int counted = 0;
        for (int k = 1; k <= n; k++) {
            vp_shard sh;
            cr_assert_eq(vp_shard_plan(e, k, n, "", 0, &sh, &err), VP_OK, "%s", err.msg);
            int c = 0;
            for (int r = 0; r < total; r++)
                if (sh.mine[r]) {
                    cr_expect_eq(owner[r], 0, "N=%d: run %d in slices %d and %d", n, r, owner[r], k);
                    owner[r] = k;
                    c++;
                }
            cr_expect_eq(c, sh.count);
            counted += c;
            vp_shard_free(&sh);
        }
        cr_expect_eq(counted, total, "N=%d: %d of %d runs in a slice", n, counted, total);
        for (int r = 0; r < total; r++) {
            cr_expect_eq(owner[r], again[r], "N=%d: run %d: the plan changed between calls", n, r);
            /* runs differing only in the activation (variants 2 apart here: activation is
             * the first sweep key over 2 depths) share weights: one slice */
            int v = r / e->nseeds;
            if (v >= 2) cr_expect_eq(owner[r], owner[r - 2 * e->nseeds], "N=%d: run %d left its group", n, r);
        }
        free(owner);
        free(again);
    }
    vp_experiment_free(e);
}

/* The most slices of a sweep of a million runs of one cost (10000 gains x 100 seeds, no
 * two sharing weights): 100000 slices take 10 runs each; with 99999, the 10 runs left
 * after ten rounds go to slices 1 to 10, the lowest numbered of the least loaded. (Each
 * run's slice was found by scanning every slice: 100-120 s a plan, in every job; the
 * timeout only keeps that from passing unseen.) */
Test(shard, a_million_runs_deal_evenly_into_the_most_slices, .timeout = 60)
{
    char *cfg = malloc(10000 * 24 + 256);
    cr_assert_not_null(cfg);
    size_t u = (size_t)sprintf(cfg, "{\"name\":\"m\",\"seeds\":100,\"network\":{\"depth\":2,\"width\":4,\"init\":"
                                    "\"orthogonal\"},\"input\":{\"batch\":2},\"sweep\":{\"network.init.gain\":[");
    for (int i = 0; i < 10000; i++) u += (size_t)sprintf(cfg + u, "%s%d.5", i ? "," : "", i);
    strcpy(cfg + u, "]}}");
    vp_experiment *e = NULL;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(cfg, strlen(cfg), "t", &co, &e, &err), VP_OK, "%s", err.msg);
    free(cfg);
    int total = (int)vp_experiment_runs(e), *slice = malloc((size_t)total * sizeof *slice),
        *per = calloc(VP_SHARD_MAX + 1, sizeof *per);
    cr_assert(total == 1000000 && slice && per);
    for (int n = VP_SHARD_MAX; n >= VP_SHARD_MAX - 1; n--) {
        cr_assert_eq(vp_shard_assign(e, n, slice, &err), VP_OK, "%s", err.msg);
        memset(per, 0, (VP_SHARD_MAX + 1) * sizeof *per);
        for (int r = 0; r < total; r++) per[slice[r]]++;
        int wrong = 0;
        for (int k = 1; k <= n && !wrong; k++)
            if (per[k] != (n == VP_SHARD_MAX || k > 10 ? 10 : 11)) wrong = k;
        cr_assert_eq(wrong, 0, "N=%d: slice %d has %d runs", n, wrong, wrong ? per[wrong] : 0);
    }
    free(slice);
    free(per);
    vp_experiment_free(e);
}

/* Training dominates a training sweep's cost: the slices balance it. Three seeds of a
 * measurement batch of 1024 and three of 4 (6 groups, measuring 256 times apart) each
 * train one epoch of 4096 examples -- ~4x the measurement of the large batch, the same
 * for all. Measurement alone would deal the 3 large-batch groups 2 + 1 and put the 3
 * small ones beside the single one (2 groups against 4, training 1:2); with the
 * training term every slice trains 3 runs. */
Test(shard, slices_of_a_training_sweep_balance_its_training)
{
    const char *cfg = "{\"name\":\"tb\",\"seeds\":3,\"network\":{\"depth\":3,\"width\":16},\"input\":{\"batch\":4},"
                      "\"train\":{\"dataset\":{\"name\":\"synthetic\",\"n_train\":4096,\"n_test\":64,\"dim\":16},"
                      "\"epochs\":1,\"batch\":32,\"track_every\":64},\"sweep\":{\"input.batch\":[1024,4]}}";
    vp_experiment *e = NULL;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(cfg, strlen(cfg), "t", &co, &e, &err), VP_OK, "%s", err.msg);
    int total = (int)vp_experiment_runs(e), slice[6], per[3] = { 0, 0, 0 };
    cr_assert_eq(total, 6);
    cr_assert_eq(vp_shard_assign(e, 2, slice, &err), VP_OK, "%s", err.msg);
    for (int r = 0; r < total; r++) per[slice[r]]++;
    cr_expect(per[1] == 3 && per[2] == 3, "training runs per slice: %d and %d", per[1], per[2]);
    vp_experiment_free(e);
}
