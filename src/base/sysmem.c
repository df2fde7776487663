/* sysmem: see sysmem.h. */
#include "base/sysmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Take a candidate limit if it is smaller than the one held; a limit of the node's
 * (sharers > 1: MemAvailable, a cgroup's) counts this process's share of it. */
static void consider(vp_mem_limit *m, double bytes, vp_mem_kind kind, const char *what, int sharers)
{
    char shared[600];
    if (bytes < 0) bytes = 0;
    if (sharers > 1) {
        bytes /= sharers;
        snprintf(shared, sizeof shared, "%s, split between the %d ranks of the MPI job on this node", what, sharers);
        what = shared;
    }
    if (m->kind != VP_MEM_UNKNOWN && bytes >= m->bytes) return;
    m->bytes = bytes;
    m->kind = kind;
    size_t n = strlen(what);
    if (n >= sizeof m->what) { /* keep the end of a long path: it names the file */
        what += n - (sizeof m->what - 4);
        snprintf(m->what, sizeof m->what, "...%s", what);
    } else {
        memcpy(m->what, what, n + 1);
    }
}

/* The number after "key" on a line of file path (e.g. "MemAvailable:" in meminfo),
 * times scale; -1 when absent. key NULL: the file's first word ("max": -1). */
static double read_number(const char *path, const char *key, double scale)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    double v = -1;
    size_t kl = key ? strlen(key) : 0;
    while (fgets(line, sizeof line, f)) {
        if (key && (strncmp(line, key, kl) != 0 || (line[kl] != ' ' && line[kl] != '\t'))) continue;
        char *end;
        double x = strtod(line + kl, &end);
        if (end != line + kl) v = x * scale;
        break;
    }
    fclose(f);
    return v;
}

/* One cgroup level: limit (limit_file) less usage (usage_file), the inactive page
 * cache (stat_key in memory.stat) not counted as used. */
static void cgroup_level(vp_mem_limit *m, const char *dir, const char *limit_file, const char *usage_file,
                         const char *stat_key, int sharers)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, limit_file);
    double limit = read_number(path, NULL, 1);
    if (limit < 0 || limit >= 0x1p62) return; /* "max", or v1's "no limit" (about 2^63) */
    snprintf(path, sizeof path, "%s/%s", dir, usage_file);
    double used = read_number(path, NULL, 1);
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    double cache = read_number(path, stat_key, 1);
    if (used < 0) used = 0;
    if (cache > 0 && cache < used) used -= cache;
    snprintf(path, sizeof path, "the cgroup limit %s/%s", dir, limit_file);
    consider(m, limit - used, VP_MEM_CGROUP, path, sharers);
}

/* Where the cgroup hierarchy of one kind is mounted: v2 ("cgroup2"), or v1 with the
 * memory controller. mount_root: the hierarchy path the mount shows (a cgroup
 * namespace mounts its own cgroup as "/"). 0 when none. */
static int find_mount(const char *root, int v2, char *point, size_t plen, char *mount_root, size_t rlen)
{
    char path[4200], line[4096];
    snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        /* ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS */
        char mroot[2048], mpoint[2048], fstype[64], source[256], super[1024] = "";
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %2047s %2047s", mroot, mpoint) != 2 ||
            sscanf(dash + 3, "%63s %255s %1023s", fstype, source, super) < 2)
            continue;
        if (v2 ? strcmp(fstype, "cgroup2") == 0
               : strcmp(fstype, "cgroup") == 0 && (strstr(super, ",memory") || strncmp(super, "memory", 6) == 0)) {
            snprintf(point, plen, "%s%s", root, mpoint);
            snprintf(mount_root, rlen, "%s", mroot);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* The cgroup limits of the process, at every level up to the hierarchy's root. */
static void cgroups(vp_mem_limit *m, const char *root, int sharers)
{
    char path[4200], line[4096];
    snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* ID:CONTROLLERS:PATH */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = '\0';
        const char *controllers = c1 + 1, *cg = c2 + 1;
        int v2 = controllers[0] == '\0', v1 = 0;
        for (const char *c = controllers; *c && !v2;) {
            size_t n = strcspn(c, ",");
            v1 |= n == 6 && strncmp(c, "memory", 6) == 0;
            c += n + (c[n] == ',');
        }
        if (!v1 && !v2) continue;
        char point[2200], mroot[2048];
        if (!find_mount(root, v2, point, sizeof point, mroot, sizeof mroot)) { /* the usual places */
            snprintf(point, sizeof point, "%s/sys/fs/cgroup%s", root, v2 ? "" : "/memory");
            snprintf(mroot, sizeof mroot, "/");
        }
        size_t rl = strlen(mroot);
        if (strcmp(mroot, "/") != 0 && strncmp(cg, mroot, rl) == 0 && (cg[rl] == '/' || cg[rl] == '\0')) cg += rl;
        char dir[4200];
        snprintf(dir, sizeof dir, "%s%s", point, strcmp(cg, "/") == 0 ? "" : cg);
        size_t plen = strlen(point);
        for (;;) {
            if (v2) cgroup_level(m, dir, "memory.max", "memory.current", "inactive_file", sharers);
            else cgroup_level(m, dir, "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file", sharers);
            char *slash = strrchr(dir, '/');
            if (strlen(dir) <= plen || !slash || (size_t)(slash - dir) < plen) break;
            *slash = '\0';
        }
    }
    fclose(f);
}

void vp_mem_available(const char *root, vp_mem_limit *out) { vp_mem_available_shared(root, 1, out); }

void vp_mem_available_shared(const char *root, int sharers, vp_mem_limit *out)
{
    out->bytes = -1;
    out->kind = VP_MEM_UNKNOWN;
    out->what[0] = '\0';
    char path[4200];
    snprintf(path, sizeof path, "%s/proc/meminfo", root);
    double avail = read_number(path, "MemAvailable:", 1024.0);
    if (avail >= 0) consider(out, avail, VP_MEM_AVAILABLE, "MemAvailable (/proc/meminfo)", sharers);
    cgroups(out, root, sharers);
    struct rlimit rl;
    if (root[0] == '\0' && getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        snprintf(path, sizeof path, "%s/proc/self/status", root);
        double mapped = read_number(path, "VmSize:", 1024.0);
        consider(out, (double)rl.rlim_cur - (mapped > 0 ? mapped : 0), VP_MEM_ADDRESS_SPACE, "ulimit -v (RLIMIT_AS)", 1);
    }
}
