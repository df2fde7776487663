/* MPI (issue 17): `mpirun -np 2 --oversubscribe varprop run` writes the bytes of a
 * single process (runs.csv's `seconds` aside); a rank killed mid-sweep is reported with
 * the run it held and --resume completes the sweep to the same bytes. The tests skip,
 * saying why, where mpirun is absent or varprop was built without MPI; a varprop built
 * without MPI must instead refuse to run under mpirun. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "base/sysmem.h"
#include "experiment/config.h"
#include "experiment/runner.h"

/* test_shard.c: every results file of b holds a's bytes (runs.csv: but `seconds`). */
void vt_expect_same_results(const char *a, const char *b, const char *what);

#define CFG                                                                                              \
    "{\"name\":\"mpi\",\"seeds\":5,\"network\":{\"depth\":40,\"width\":192},\"input\":{\"batch\":96},"    \
    "\"measure\":{\"histograms\":{\"layers\":[1,40],\"bins\":10}},"                                      \
    "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\",\"selu\"],\"network.init\":[\"he_normal\",\"orthogonal\"]}}"

static char dir[256];
static void mk(void) { vt_mktmp(dir, sizeof dir, "/tmp/varprop-mpi-"); }
static void rm(void) { vt_rmtree(dir); }
TestSuite(mpi, .init = mk, .fini = rm, .timeout = 180);

static int have_mpirun(void) { return system("command -v mpirun >/dev/null 2>&1") == 0; }

/* varprop was linked with libmpi (built with MPI). */
static int built_with_mpi(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ldd '%s' 2>/dev/null | grep -q libmpi", vt_bin());
    return system(cmd) == 0;
}

/* The mpirun words in front of the binary (root needs the flag). Open MPI leaks at
 * MPI_Finalize from plugins it has already unloaded (LeakSanitizer cannot even name them,
 * so no suppression can match): under `make sanitize` the ranks check everything else. */
static const char *mpirun(void)
{
    return geteuid() == 0
               ? "env ASAN_OPTIONS=detect_leaks=0 mpirun -x ASAN_OPTIONS --allow-run-as-root --oversubscribe -np 2"
               : "env ASAN_OPTIONS=detect_leaks=0 mpirun -x ASAN_OPTIONS --oversubscribe -np 2";
}

/* A skipped test never reaches the suite's .fini: its folder goes first. */
static void skip(const char *why)
{
    vt_rmtree(dir);
    cr_skip_test("%s", why);
}

static int skip_without_mpi(void)
{
    if (!have_mpirun()) {
        skip("mpirun not found: install openmpi-bin and libopenmpi-dev (make deps) and rebuild");
        return 1;
    }
    if (!built_with_mpi()) {
        skip("varprop was built without MPI (make clean && make with libopenmpi-dev installed)");
        return 1;
    }
    return 0;
}

static void reference(void)
{
    char *err = NULL;
    vt_write_file(dir, "c.json", CFG);
    int rc = vt_run(dir, NULL, &err, "run '%s/c.json' -o '%s/ref' --no-plot --quiet --threads 1", dir, dir);
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
}

Test(mpi, two_ranks_write_the_single_process_bytes)
{
    if (skip_without_mpi()) return;
    reference();
    char *err = NULL, env[300];
    snprintf(env, sizeof env, "%s", mpirun());
    int rc = vt_run_env(dir, env, NULL, &err, "run '%s/c.json' -o '%s/mpi' --no-plot --quiet --threads 1", dir, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    free(err);
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/ref", dir);
    snprintf(b, sizeof b, "%s/mpi", dir);
    vt_expect_same_results(a, b, "mpirun -np 2");
    /* and a second time into the same folder with 2 threads per rank: the lock, the
     * marker and the publishing are the single process's */
    rc = vt_run_env(dir, env, NULL, &err, "run '%s/c.json' -o '%s/mpi' --no-plot --quiet --threads 2", dir, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    free(err);
    vt_expect_same_results(a, b, "mpirun -np 2, --threads 2");
}

/* A /proc file whole (its size reads as 0, so not vt_slurp); NULL when unreadable. */
static char *proc_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            cap = cap * 2 + 8192;
            char *b = realloc(buf, cap);
            if (!b) break;
            buf = b;
        }
        size_t n = fread(buf + *len, 1, 4096, f);
        *len += n;
        if (n == 0) break;
    }
    fclose(f);
    if (buf) buf[*len] = '\0';
    return buf;
}

/* The pid of rank `rank` of the job writing into `out` (its command line names it), or -1. */
static long rank_pid(const char *out, int rank)
{
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    struct dirent *de;
    long found = -1;
    while (d && found < 0 && (de = readdir(d))) {
        char path[300], *cmd, *env;
        size_t clen, elen;
        if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        if (!(cmd = proc_file(path, &clen))) continue;
        snprintf(path, sizeof path, "/proc/%s/environ", de->d_name);
        env = proc_file(path, &elen);
        int has_out = 0, is_rank = 0;
        for (size_t i = 0; i < clen; i += strlen(cmd + i) + 1) has_out |= strcmp(cmd + i, out) == 0;
        for (size_t i = 0; env && i < elen; i += strlen(env + i) + 1)
            is_rank |= strcmp(env + i, want) == 0;
        if (has_out && is_rank) found = strtol(de->d_name, NULL, 10);
        free(cmd);
        free(env);
    }
    if (d) closedir(d);
    return found;
}

static int finished_runs(const char *parts)
{
    DIR *d = opendir(parts);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d))) n += strstr(de->d_name, ".sum") != NULL && !strstr(de->d_name, ".tmp.");
    if (d) closedir(d);
    return n;
}

/* Rank 1 of `mpirun [flags] -np 2 varprop run` killed after 3 runs are finished, then
 * --resume by one process: the dead rank is reported with the run it held (`said`, in
 * rank 0's words), mpirun's exit status is *rc, and the results are the single run's.
 * *finished: the runs in .parts/ before --resume. */
static void kill_rank_1(const char *flags, const char *said, int *rc_mpirun, int *finished)
{
    reference();
    char out[300], parts[320], cmd[2400];
    snprintf(out, sizeof out, "%s/mpi", dir);
    snprintf(parts, sizeof parts, "%s/.parts", out);
    /* mpirun in the background, through the shell (its flags), output into dir */
    snprintf(cmd, sizeof cmd, "%s %s '%s' run '%s/c.json' -o '%s' --no-plot --quiet --threads 1 </dev/null >'%s/o' 2>'%s/e'; "
             "echo $? > '%s/rc'", mpirun(), flags, vt_bin(), dir, out, dir, dir, dir);
    char *argv[] = { (char *)"sh", (char *)"-c", cmd, NULL };
    pid_t sh = fork();
    cr_assert(sh >= 0);
    if (sh == 0) { execvp("sh", argv); _exit(127); }
    long pid = -1;
    for (int i = 0; i < 4000 && (pid < 0 || finished_runs(parts) < 3); i++) {
        if (pid < 0) pid = rank_pid(out, 1);
        usleep(5000);
    }
    if (pid <= 0) {
        char ep[400];
        snprintf(ep, sizeof ep, "%s/e", dir);
        char *e = vt_slurp_text(ep);
        cr_assert(pid > 0, "rank 1 was not found running (%d runs finished): %s", finished_runs(parts), e);
    }
    cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
    int rc = vt_wait_exit(sh, 90);
    cr_assert_eq(rc, 0, "the shell: %d", rc);
    char path[400];
    snprintf(path, sizeof path, "%s/e", dir);
    char *err = vt_slurp_text(path);
    /* said: the detection's words; "a|b" = either (which one depends on the moment of the kill) */
    char one[80], two[80] = "";
    snprintf(one, sizeof one, "%s", said);
    char *bar = strchr(one, '|');
    if (bar) {
        *bar = '\0';
        snprintf(two, sizeof two, "%s", bar + 1);
    }
    cr_expect(strstr(err, "rank 1 (host ") && (strstr(err, one) || (two[0] && strstr(err, two))) &&
                  strstr(err, "(it died or hangs); it held run "),
              "the dead rank and its run are reported: %s", err);
    cr_expect(strstr(err, "resume with: mpirun -np 2 varprop run"), "%s", err);
    free(err);
    snprintf(path, sizeof path, "%s/rc", dir);
    char *code = vt_slurp_text(path);
    *rc_mpirun = atoi(code);
    free(code);
    *finished = finished_runs(parts);
    /* the finished runs are in .parts: --resume (one process) does the rest */
    char *o = NULL;
    rc = vt_run(dir, NULL, &o, "run '%s/c.json' -o '%s' --no-plot --quiet --threads 1 --resume", dir, out);
    cr_assert_eq(rc, 0, "resume: exit %d: %s", rc, o);
    cr_expect(strstr(o, "already complete"), "%s", o);
    free(o);
    char ref[300];
    snprintf(ref, sizeof ref, "%s/ref", dir);
    vt_expect_same_results(ref, out, "killed rank, then --resume");
}

/* mpirun's default: a dead rank makes mpirun SIGTERM every rank and SIGKILL them 1 s
 * later; a slower build (ASan) may need longer to publish the CSVs of the finished runs
 * and say how to resume (the knob docs/cluster.md gives). */
Test(mpi, a_killed_rank_is_reported_and_resume_completes)
{
    if (skip_without_mpi()) return;
    int rc, finished;
    /* rank 0 says "did not answer" after mpirun's signal, or "has been silent" when
     * mpirun (on a loaded machine) is slower to signal than VARPROP_MPI_SILENCE */
    kill_rank_1("--mca odls_base_sigkill_timeout 20", "rank 1 (host ", &rc, &finished);
    cr_expect(rc != 0, "mpirun exit %d", rc);
}

/* Ctrl-C to mpirun: it sends SIGTERM to every rank (then SIGKILL 1 s later), and every
 * rank stops after its run in progress -- but the job says "stopping after the runs in
 * progress" once (rank 0's), not once per rank; rank 0 still reports the interruption
 * and how to resume. The test sends the ranks mpirun's SIGTERM itself: mpirun's SIGKILL a
 * second later could cut rank 0's report short on a loaded machine, and putting it off
 * (odls_base_sigkill_timeout) puts off the SIGTERM as long (docs/cluster.md): the sweep
 * ends first. */
Test(mpi, an_interrupt_is_announced_once_for_the_job)
{
    if (skip_without_mpi()) return;
    /* long enough (60 runs of ~0.2 s) that the signal comes while runs remain */
    vt_write_file(dir, "i.json", "{\"name\":\"int\",\"seeds\":20,\"network\":{\"depth\":60,\"width\":512},"
                  "\"input\":{\"batch\":256},\"sweep\":{\"network.activation\":[\"relu\",\"tanh\",\"selu\"]}}");
    char out[300], parts[320], cmd[2400];
    snprintf(out, sizeof out, "%s/int", dir);
    snprintf(parts, sizeof parts, "%s/.parts", out);
    snprintf(cmd, sizeof cmd, "exec %s '%s' run '%s/i.json' -o '%s' --no-plot --quiet --threads 1 </dev/null "
             ">'%s/o' 2>'%s/e'", mpirun(), vt_bin(), dir, out, dir, dir);
    char *argv[] = { (char *)"sh", (char *)"-c", cmd, NULL };
    pid_t job = fork();
    cr_assert(job >= 0);
    if (job == 0) { execvp("sh", argv); _exit(127); }
    long pid[2] = { -1, -1 };
    for (int i = 0; i < 4000 && (pid[0] < 0 || pid[1] < 0 || finished_runs(parts) < 1); i++) {
        for (int r = 0; r < 2; r++)
            if (pid[r] < 0) pid[r] = rank_pid(out, r);
        usleep(5000);
    }
    cr_assert(pid[0] > 0 && pid[1] > 0, "the ranks were not found running");
    for (int r = 0; r < 2; r++) cr_assert_eq(kill((pid_t)pid[r], SIGTERM), 0);
    int rc = vt_wait_exit(job, 90);
    char path[400];
    snprintf(path, sizeof path, "%s/e", dir);
    char *err = vt_slurp_text(path);
    int said = 0;
    for (const char *p = err; (p = strstr(p, "stopping after the runs in progress")); p++) said++;
    cr_expect_eq(said, 1, "the stop is announced once, not once per rank (mpirun exit %d): %s", rc, err);
    cr_expect(strstr(err, "interrupted after ") && strstr(err, "resume with: mpirun -np 2 varprop run"),
              "rank 0 reports the interruption: %s", err);
    cr_expect_lt(finished_runs(parts), 60, "the ranks stopped before the end");
    free(err);
}

/* mpirun --enable-recovery keeps the job alive when a rank dies, and no signal comes:
 * rank 0 counts the rank as lost once it has been silent for VARPROP_MPI_SILENCE
 * seconds (10: its heartbeats stop), and the other rank finishes every other run --
 * all but the one the dead rank held. (Open MPI 4.1's mpirun exits 0 under
 * --enable-recovery whatever its processes return, MPI_Abort's 130 included, so its
 * status says nothing here.) */
Test(mpi, under_enable_recovery_a_killed_rank_is_found_and_the_others_finish)
{
    if (skip_without_mpi()) return;
    int rc, finished;
    /* found by its silence -- or, killed in the middle of sending a run's fragments, by the
     * broken message (a CI run under the sanitizers saw that once) */
    kill_rank_1("--enable-recovery", "has been silent for |stopped in the middle of a message", &rc, &finished);
    cr_expect_eq(finished, 29, "runs finished of 30 before --resume: all but the lost rank's (mpirun exit %d)", rc);
}

/* The memory check of ranks that share a node (base/sysmem.h): each may take its share
 * of the node's limits -- MemAvailable and the cgroups' room -- read from a fake tree. */
Test(mpi, ranks_on_one_node_split_its_memory)
{
    char path[400], cmd[900];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/proc/self' '%s/sys/fs/cgroup/job'", dir, dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/proc", dir);
    vt_write_file(path, "meminfo", "MemTotal: 16000000 kB\nMemAvailable:    8388608 kB\n");
    vp_mem_limit one, four;
    vp_mem_available(dir, &one);
    vp_mem_available_shared(dir, 4, &four);
    cr_assert_eq(one.kind, VP_MEM_AVAILABLE);
    cr_assert_eq(four.kind, VP_MEM_AVAILABLE);
    cr_expect_float_eq(one.bytes, 8192.0 * 1048576, 1);
    cr_expect_float_eq(four.bytes, 2048.0 * 1048576, 1, "%g", four.bytes);
    cr_expect(strstr(four.what, "MemAvailable") && strstr(four.what, "4 ranks"), "%s", four.what);
    /* a cgroup (v2, a Slurm job's: all its tasks on the node) is split the same way */
    vt_write_file(path, "self/cgroup", "0::/job\n");
    snprintf(path, sizeof path, "%s/sys/fs/cgroup/job", dir);
    vt_write_file(path, "memory.max", "1073741824\n");
    vt_write_file(path, "memory.current", "209715200\n");
    vp_mem_available_shared(dir, 2, &four);
    cr_assert_eq(four.kind, VP_MEM_CGROUP, "%s", four.what);
    cr_expect_float_eq(four.bytes, (1024.0 - 200.0) / 2 * 1048576, 1, "%g", four.bytes);
    cr_expect(strstr(four.what, "memory.max") && strstr(four.what, "2 ranks"), "%s", four.what);
}

/* MemTotal of this machine in bytes (0: unknown). */
static double mem_total(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %lf kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

/* Under mpirun -np 2 on one machine, a run that fits once but not twice in its memory
 * is refused (exit 2, nothing written), the message naming the 2 ranks. The run needs
 * more than half of MemTotal, so no amount of freed memory lets two start; it is only
 * checked, never run. */
Test(mpi, two_ranks_on_one_node_are_refused_a_run_only_one_fits)
{
    if (skip_without_mpi()) return;
    vp_mem_limit lim;
    vp_mem_available("", &lim);
    double total = mem_total(), need = 0;
    char cfg[300];
    for (int w = 1024; w <= 65536 && need <= 0.55 * total; w += 256) {
        snprintf(cfg, sizeof cfg, "{\"name\":\"mem\",\"seeds\":1,\"network\":{\"depth\":100,\"width\":%d},"
                 "\"input\":{\"batch\":256}}", w);
        vp_experiment *e = NULL;
        vp_err err;
        vp_config_opts co = { 0 };
        cr_assert_eq(vp_config_parse(cfg, strlen(cfg), "mem", &co, &e, &err), VP_OK, "%s", err.msg);
        need = vp_runner_run_bytes(e, 0) + vp_runner_data_bytes(e);
        vp_experiment_free(e);
    }
    if (lim.kind == VP_MEM_UNKNOWN || total <= 0 || need >= 0.95 * lim.bytes) {
        skip("less than about half of this machine's memory is available: no run fits once but not twice");
        return;
    }
    vt_write_file(dir, "m.json", cfg);
    char *err = NULL;
    int rc = vt_run_env(dir, mpirun(), NULL, &err, "run '%s/m.json' -o '%s/out' --no-plot --quiet", dir, dir);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
    cr_expect(strstr(err, "split between the 2 ranks of the MPI job on this node") && strstr(err, "MiB"), "%s", err);
    char p[300];
    snprintf(p, sizeof p, "%s/out", dir);
    cr_expect_not(vt_exists(p), "nothing is written");
    free(err);
}

/* A VARPROP_MPI_SILENCE out of range is refused by every rank (exit 2, nothing written):
 * only rank 0 checked it, and rank 1 waited in its first broadcast for ever. The suite's
 * timeout bounds the test; the command has its own, so a hang shows as 124. */
Test(mpi, a_bad_silence_limit_is_refused_by_every_rank, .timeout = 120)
{
    if (skip_without_mpi()) return;
    vt_write_file(dir, "c.json", CFG);
    char cmd[1600], p[400];
    snprintf(cmd, sizeof cmd, "cd '%s' && VARPROP_MPI_SILENCE=1 timeout 60 %s -x VARPROP_MPI_SILENCE '%s' run c.json "
             "-o out --no-plot --quiet --threads 1 > out.txt 2> err.txt; echo $? > rc.txt", dir, mpirun(), vt_bin());
    cr_assert_neq(system(cmd), -1);
    snprintf(p, sizeof p, "%s/rc.txt", dir);
    char *rct = vt_slurp_must(p, NULL);
    snprintf(p, sizeof p, "%s/err.txt", dir);
    char *errt = vt_slurp_must(p, NULL);
    cr_expect_eq(atoi(rct), 2, "exit %s (124: the job hung): %s", rct, errt);
    cr_expect(strstr(errt, "VARPROP_MPI_SILENCE='1' is not a number of seconds from 3 to 1e6"), "%s", errt);
    snprintf(p, sizeof p, "%s/out", dir);
    cr_expect_not(vt_exists(p), "nothing is written");
    free(rct);
    free(errt);
}

/* A varprop without MPI started as one of N processes refuses, instead of running N
 * copies into one folder. The launcher's environment is enough to tell. */
Test(mpi, without_mpi_a_job_of_several_processes_is_refused)
{
    if (built_with_mpi()) {
        skip("varprop is built with MPI (the refusal is for builds without)");
        return;
    }
    vt_write_file(dir, "c.json", CFG);
    char *err = NULL;
    int rc = vt_run_env(dir, "env OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0", NULL, &err,
                        "run '%s/c.json' -o '%s/out' --no-plot", dir, dir);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
    cr_expect(strstr(err, "built without MPI") && strstr(err, "mpirun"), "%s", err);
    char p[300];
    snprintf(p, sizeof p, "%s/out", dir);
    cr_expect_not(vt_exists(p));
    free(err);
}
