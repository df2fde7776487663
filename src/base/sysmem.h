/* sysmem: how much memory this process may still take, and which limit says so
 * (base layer).
 *
 * The smallest of:
 *  - MemAvailable in /proc/meminfo: the machine's;
 *  - each cgroup memory limit on the way from the process's cgroup up to the root of
 *    its hierarchy (containers, Slurm jobs, systemd units): v2 memory.max, v1
 *    memory.limit_in_bytes, less the usage (memory.current / memory.usage_in_bytes)
 *    not counting the inactive page cache the kernel would reclaim first;
 *  - RLIMIT_AS (`ulimit -v`) less the address space already mapped (VmSize in
 *    /proc/self/status). This one counts address space, not memory: callers add what
 *    is reserved without being touched (thread stacks, allocator arenas, BLAS buffers).
 * Files that are missing or unreadable are no limit.
 *
 * Processes that share a node (the ranks of an MPI job on one machine) check at the
 * same moment and each sees the whole of MemAvailable and of its cgroups' room (a
 * Slurm job's cgroup holds all its tasks on the node): each may take only its share,
 * 1/sharers of those limits. RLIMIT_AS is each process's own.
 */
#ifndef VP_SYSMEM_H
#define VP_SYSMEM_H

typedef enum {
    VP_MEM_UNKNOWN,       /* no source could be read */
    VP_MEM_AVAILABLE,     /* MemAvailable */
    VP_MEM_CGROUP,        /* a cgroup limit */
    VP_MEM_ADDRESS_SPACE  /* RLIMIT_AS */
} vp_mem_kind;

typedef struct {
    double bytes;         /* what is left under the smallest limit (< 0: unknown) */
    vp_mem_kind kind;
    char what[512];       /* that limit, for messages: "MemAvailable (/proc/meminfo)",
                             "the cgroup limit /sys/fs/cgroup/job/memory.max",
                             "ulimit -v (RLIMIT_AS)" */
} vp_mem_limit;

/* Read the limits. root is prefixed to every /proc and /sys path ("" for this
 * system; tests pass a folder holding a fake tree); RLIMIT_AS is read only when
 * root is "". */
void vp_mem_available(const char *root, vp_mem_limit *out);
/* The same for one of `sharers` processes that share the node (>= 1): its share of
 * the node's limits (`what` then says so). */
void vp_mem_available_shared(const char *root, int sharers, vp_mem_limit *out);

#endif
