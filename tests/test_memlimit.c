/* The memory check (issue 11): the smallest of MemAvailable, the cgroup limits (v1 and
 * v2, read from fake /proc and /sys trees) and `ulimit -v`, with the input data set
 * counted, refused before anything is written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/sysmem.h"
#include "experiment/config.h"
#include "experiment/runner.h"
#include "harness.h"

static char mdir[256];

static void mk_tmp(void) { vt_mktmp(mdir, sizeof mdir, "/tmp/varprop-mem-"); }

static void rm_tmp(void) { vt_rmtree(mdir); }

TestSuite(memlimit, .init = mk_tmp, .fini = rm_tmp);

#define MiB (1024.0 * 1024.0)

/* mdir/REL (folders made as needed) holding text. */
static void put(const char *rel, const char *text)
{
    char path[800], cmd[900];
    snprintf(path, sizeof path, "%s/%s", mdir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    cr_assert_eq(system(cmd), 0);
    *slash = '/';
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

Test(memlimit, meminfo_alone)
{
    put("proc/meminfo", "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    8388608 kB\n");
    vp_mem_limit m;
    vp_mem_available(mdir, &m);
    cr_assert_eq(m.kind, VP_MEM_AVAILABLE);
    cr_assert_float_eq(m.bytes, 8192.0 * MiB, 1);
    cr_assert(strstr(m.what, "MemAvailable"), "%s", m.what);
}

/* cgroup v2 (a Slurm step inside a job): the job's memory.max is the limit; the step
 * has none ("max"); inactive page cache is not counted as used. */
Test(memlimit, cgroup_v2_limit_of_an_enclosing_group)
{
    put("proc/meminfo", "MemAvailable:    8388608 kB\n");
    put("proc/self/cgroup", "0::/job/step\n");
    put("proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
                               "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
    put("sys/fs/cgroup/job/memory.max", "1073741824\n");
    put("sys/fs/cgroup/job/memory.current", "314572800\n");
    put("sys/fs/cgroup/job/memory.stat", "anon 100\nfile 200\ninactive_file 104857600\nactive_file 5\n");
    put("sys/fs/cgroup/job/step/memory.max", "max\n");
    put("sys/fs/cgroup/job/step/memory.current", "1000\n");
    vp_mem_limit m;
    vp_mem_available(mdir, &m);
    cr_assert_eq(m.kind, VP_MEM_CGROUP, "kind %d: %s", m.kind, m.what);
    cr_assert_float_eq(m.bytes, 1024.0 * MiB - 200.0 * MiB, 1);
    cr_assert(strstr(m.what, "/sys/fs/cgroup/job/memory.max"), "%s", m.what);
}

/* cgroup v1 (memory controller mounted with others), inside a cgroup namespace whose
 * mount shows the group's own path as its root. */
Test(memlimit, cgroup_v1_limit_in_a_namespace)
{
    put("proc/meminfo", "MemAvailable:    8388608 kB\n");
    put("proc/self/cgroup", "5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n");
    put("proc/self/mountinfo", "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
    put("sys/fs/cgroup/memory/memory.limit_in_bytes", "536870912\n");
    put("sys/fs/cgroup/memory/memory.usage_in_bytes", "12582912\n");
    put("sys/fs/cgroup/memory/memory.stat", "cache 0\ntotal_inactive_file 0\n");
    vp_mem_limit m;
    vp_mem_available(mdir, &m);
    cr_assert_eq(m.kind, VP_MEM_CGROUP, "kind %d: %s", m.kind, m.what);
    cr_assert_float_eq(m.bytes, 500.0 * MiB, 1);
    /* no limit ("about 2^63") is no limit */
    put("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    vp_mem_available(mdir, &m);
    cr_assert_eq(m.kind, VP_MEM_AVAILABLE, "%s", m.what);
}

/* The input data set counts: fashion-mnist adds its pixels (as doubles and as read). */
Test(memlimit, the_data_set_is_part_of_the_estimate)
{
    const char *gen = "{\"name\":\"g\",\"network\":{\"depth\":2,\"width\":784},\"input\":{\"batch\":5000}}";
    const char *fm = "{\"name\":\"f\",\"network\":{\"depth\":2,\"width\":784},"
                     "\"input\":{\"distribution\":\"fashion-mnist\",\"batch\":5000}}";
    vp_experiment *e;
    vp_err err;
    vp_config_opts o = { 100 };
    cr_assert_eq(vp_config_parse(gen, strlen(gen), "g", &o, &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_runner_data_bytes(e), 0);
    vp_experiment_free(e);
    cr_assert_eq(vp_config_parse(fm, strlen(fm), "f", &o, &e, &err), VP_OK, "%s", err.msg);
    cr_assert_geq(vp_runner_data_bytes(e), 5000.0 * 784 * 8, "the pixels as doubles at least");
    vp_experiment_free(e);
}

/* Before: the check read only MemAvailable; under `ulimit -v` a run went ahead and
 * OpenBLAS then looped forever on its failing allocation (or malloc failed midway).
 * Now: exit 2, the estimate and the limit in the message, nothing written. */
Test(memlimit, ulimit_v_is_a_limit, .timeout = 120)
{
    if (getenv("ASAN_OPTIONS")) { /* a skipped test's .fini does not run */
        vt_rmtree(mdir);
        cr_skip_test("AddressSanitizer reserves terabytes of address space: no ulimit -v");
    }
    char big[300], small[300], out[300], *o, *e;
    vt_write_file(mdir, "big.json", "{\"name\":\"big\",\"seeds\":1,\"network\":{\"depth\":20,\"width\":4096},"
                                    "\"input\":{\"batch\":4096}}");
    vt_write_file(mdir, "small.json", "{\"name\":\"small\",\"seeds\":2,\"network\":{\"depth\":3,\"width\":8},"
                                      "\"input\":{\"batch\":8}}");
    snprintf(big, sizeof big, "%s/big.json", mdir);
    snprintf(small, sizeof small, "%s/small.json", mdir);
    snprintf(out, sizeof out, "%s/out", mdir);
    /* about 1 GB of address space: the big run needs over 4 GiB, the small one fits */
    const char *env = "ulimit -v 1000000 && timeout -s KILL 60";
    int rc = vt_run_env(mdir, env, &o, &e, "run %s -o %s --no-plot --quiet", big, out);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, e);
    cr_assert(strstr(e, "ulimit -v") && strstr(e, "MiB"), "%s", e);
    cr_assert_not(vt_exists(out), "nothing is written");
    free(o); free(e);
    rc = vt_run_env(mdir, env, &o, &e, "run %s -o %s --no-plot --quiet --threads 2", small, out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, e);
    free(o); free(e);
}
