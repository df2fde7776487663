/* inject: an LD_PRELOAD shim that makes file output fail with ENOSPC ("No space
 * left on device") after a byte budget, to test that varprop reports a full disk
 * and never replaces good results with partial ones (tests/test_faults.c).
 *
 *   VP_INJECT_ENOSPC_AFTER=N   bytes the process may write to affected files in
 *                              total; every write past them fails with ENOSPC
 *                              (the write that crosses the limit is short).
 *   VP_INJECT_MATCH=TEXT       optional: only files whose path contains TEXT are
 *                              affected (default: every file opened for writing;
 *                              with a MATCH, raw write() is never affected).
 *   VP_INJECT_LEAK=N           leak N bytes (allocated and touched) at every fopen
 *                              for writing: a deliberate leak, the positive control
 *                              of tests/test_memory.c.
 *
 * Why fopen and not write(): glibc's stdio flushes through an internal alias of
 * write() that LD_PRELOAD cannot interpose, and every file varprop writes is
 * opened with fopen (fsutil.c, vp_afile). So fopen(path, "w"/"wx"/"a"/"r+") is
 * replaced by a real open() plus a fopencookie() stream whose write callback
 * charges the budget; fileno() is interposed so fsync(fileno(fp)) still reaches
 * the real descriptor. write() on a regular file (fd > 2) is charged too.
 * Without VP_INJECT_ENOSPC_AFTER the shim passes everything through.
 *
 * Built by tests/test_faults.c with `cc -shared -fPIC` (no sanitizers: it is
 * preloaded into the plain and the ASan binary alike; the latter needs
 * ASAN_OPTIONS=verify_asan_link_order=0). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*fileno_fn)(FILE *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static long long budget = -1; /* -1: inactive */
static long long leak;        /* bytes leaked per fopen for writing */
static void *volatile leak_sink;
static const char *match;
static long long used;        /* bytes charged so far (atomic) */
static fopen_fn real_fopen, real_fopen64;
static fileno_fn real_fileno;

static void setup(void)
{
    const char *b = getenv("VP_INJECT_ENOSPC_AFTER");
    if (b && *b) budget = atoll(b);
    const char *l = getenv("VP_INJECT_LEAK");
    if (l && *l) leak = atoll(l);
    match = getenv("VP_INJECT_MATCH");
    if (match && !*match) match = NULL;
    real_fopen = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
    real_fopen64 = (fopen_fn)dlsym(RTLD_NEXT, "fopen64");
    real_fileno = (fileno_fn)dlsym(RTLD_NEXT, "fileno");
}

/* Reserve up to n bytes of the budget; returns how many may be written. */
static size_t charge(size_t n)
{
    long long before = __atomic_fetch_add(&used, (long long)n, __ATOMIC_SEQ_CST);
    if (before >= budget) return 0;
    long long left = budget - before;
    return (long long)n <= left ? n : (size_t)left;
}

static ssize_t raw_write(int fd, const void *buf, size_t n)
{
    return syscall(SYS_write, fd, buf, n);
}

/* ---- fopen streams ---- */
typedef struct {
    int fd;
} cookie;

#define MAXF 256
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *files[MAXF];
static int fds[MAXF];

static ssize_t ck_write(void *c, const char *buf, size_t n)
{
    cookie *k = c;
    size_t ok = charge(n), done = 0;
    while (done < ok) {
        ssize_t w = raw_write(k->fd, buf + done, ok - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            return (ssize_t)done; /* errno set by write */
        }
        done += (size_t)w;
    }
    if (done < n) errno = ENOSPC;
    return (ssize_t)done; /* fopencookie: a short count (never negative) is the error */
}

static ssize_t ck_read(void *c, char *buf, size_t n)
{
    cookie *k = c;
    return read(k->fd, buf, n);
}

static int ck_seek(void *c, off64_t *pos, int whence)
{
    cookie *k = c;
    off_t r = lseek(k->fd, (off_t)*pos, whence);
    if (r < 0) return -1;
    *pos = r;
    return 0;
}

static int ck_close(void *c)
{
    cookie *k = c;
    int fd = k->fd;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAXF; i++)
        if (files[i] && fds[i] == fd) { files[i] = NULL; break; }
    pthread_mutex_unlock(&lock);
    free(k);
    return close(fd);
}

static FILE *wrap(const char *path, const char *mode, fopen_fn real)
{
    pthread_once(&once, setup);
    int writes = strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+');
    if (writes && leak > 0) {
        void *lost = malloc((size_t)leak);
        if (lost) memset(lost, 1, (size_t)leak);
        leak_sink = lost; /* never freed, on purpose */
    }
    if (budget < 0 || !writes || (match && !strstr(path, match)) || !real) return real ? real(path, mode) : NULL;
    int flags = strchr(mode, '+') ? O_RDWR : O_WRONLY;
    if (mode[0] == 'w') flags |= O_CREAT | O_TRUNC;
    if (strchr(mode, 'x')) flags |= O_EXCL; /* "wx": vp_afile's temporaries */
    else if (mode[0] == 'a') flags |= O_CREAT | O_APPEND;
    int fd = open(path, flags | O_CLOEXEC, 0666);
    if (fd < 0) return NULL;
    cookie *k = malloc(sizeof *k);
    if (!k) { close(fd); errno = ENOMEM; return NULL; }
    k->fd = fd;
    cookie_io_functions_t io = { ck_read, ck_write, ck_seek, ck_close };
    FILE *f = fopencookie(k, mode, io);
    if (!f) { free(k); close(fd); return NULL; }
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAXF; i++)
        if (!files[i]) { files[i] = f; fds[i] = fd; break; }
    pthread_mutex_unlock(&lock);
    return f;
}

FILE *fopen(const char *path, const char *mode)
{
    pthread_once(&once, setup);
    return wrap(path, mode, real_fopen);
}

FILE *fopen64(const char *path, const char *mode)
{
    pthread_once(&once, setup);
    return wrap(path, mode, real_fopen64 ? real_fopen64 : real_fopen);
}

int fileno(FILE *f)
{
    pthread_once(&once, setup);
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAXF; i++)
        if (files[i] == f) {
            int fd = fds[i];
            pthread_mutex_unlock(&lock);
            return fd;
        }
    pthread_mutex_unlock(&lock);
    return real_fileno(f);
}

/* ---- raw write() on regular files ---- */
ssize_t write(int fd, const void *buf, size_t n)
{
    pthread_once(&once, setup);
    struct stat st;
    if (budget < 0 || fd <= 2 || match || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return raw_write(fd, buf, n);
    size_t ok = charge(n);
    if (ok == 0 && n > 0) { errno = ENOSPC; return -1; }
    return raw_write(fd, buf, ok);
}
