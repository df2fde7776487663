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
