/* lock: see lock.h. */
#include "base/lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"

/* 1 when the folder open at dfd has no entry but . and .. (-1: cannot read it). */
static int folder_empty(int dfd)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return -1;
    }
    rewinddir(d);
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d)))
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* Open the marker in dfd: >= 0 the descriptor, -1 absent, -2 error (errno set). */
static int open_marker(int dfd, const char *marker, int shared, int create)
{
    int flags = (shared ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    int fd = create ? openat(dfd, marker, flags | O_CREAT | O_EXCL, 0644) : openat(dfd, marker, flags);
    if (fd >= 0) return fd;
    return errno == ENOENT || (create && errno == EEXIST) ? -1 : -2;
}

/* The refusals of a claim (and of vp_folder_check), worded once. */
static vp_status in_use(const char *dir, int shared, long pid, vp_err *err)
{
    if (pid > 0)
        return vp_fail(err, VP_ERR_USAGE, "%s: folder in use by process %ld (another varprop %s it); wait for it "
                       "to finish or choose another folder", dir, pid, shared ? "writing" : "using");
    return vp_fail(err, VP_ERR_USAGE, "%s: folder in use by another process; wait for it to finish or choose "
                   "another folder", dir);
}

static vp_status not_ours(const char *dir, const vp_claim *c, vp_err *err)
{
    return vp_fail(err, VP_ERR_USAGE, "%s is not empty and is not a varprop folder (it has no %s); varprop "
                   "writes only into a new or empty folder or one it made: choose another folder (or, if an "
                   "earlier varprop made this one, delete it)", dir, c->marker);
}

static vp_status marker_error(const char *dir, const vp_claim *c, int e, vp_err *err)
{
    if (e == ELOOP)
        return vp_fail(err, VP_ERR_USAGE, "%s/%s is a symbolic link, not a marker varprop made; remove it", dir,
                       c->marker);
    return vp_fail(err, VP_ERR_IO, "cannot open %s/%s: %s", dir, c->marker, strerror(e));
}

static vp_status not_regular(const char *dir, const vp_claim *c, vp_err *err)
{
    return vp_fail(err, VP_ERR_USAGE, "%s/%s is not a regular file, not a marker varprop made; remove it", dir,
                   c->marker);
}

static vp_status lock_marker(const char *dir, int fd, int shared, vp_err *err)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = shared ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) == 0) return VP_OK;
    if (errno != EACCES && errno != EAGAIN)
        return vp_fail(err, VP_ERR_IO, "%s: cannot lock the folder: %s", dir, strerror(errno));
    memset(&fl, 0, sizeof fl);
    fl.l_type = shared ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    long pid = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? (long)fl.l_pid : 0;
    return in_use(dir, shared, pid, err);
}

vp_status vp_folder_claim(const char *dir, const vp_claim *c, vp_folder_lock *lk, vp_err *err)
{
    struct stat st;
    vp_status s;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || !c->create)
            return vp_fail(err, VP_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
        if ((s = vp_mkdir_p(dir, err))) return s;
    } else if (!S_ISDIR(st.st_mode)) {
        return vp_fail(err, VP_ERR_IO, "%s exists and is not a folder", dir);
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return vp_fail(err, VP_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
    int fd = -1, created = 0;
    s = VP_OK;
    /* Twice: another varprop may create the marker between our two looks. */
    for (int attempt = 0; attempt < 2 && fd < 0 && !s; attempt++) {
        fd = open_marker(dfd, c->marker, c->shared, 0);
        if (fd >= 0 || fd == -2) break;
        if (c->shared) break; /* a reader never writes: an unmarked folder is read unlocked */
        int empty = folder_empty(dfd);
        if (empty < 0) { fd = -2; break; }
        if (!empty && c->adopt && c->adopt(dir)) empty = 1;
        if (!empty) {
            if (attempt == 0) continue;
            s = not_ours(dir, c, err);
            break;
        }
        fd = open_marker(dfd, c->marker, 0, 1);
        created = fd >= 0;
    }
    if (!s && fd == -2) s = marker_error(dir, c, errno, err);
    struct stat ms;
    if (!s && fd >= 0 && (fstat(fd, &ms) != 0 || !S_ISREG(ms.st_mode))) s = not_regular(dir, c, err);
    if (!s && fd >= 0) s = lock_marker(dir, fd, c->shared, err);
    if (!s && created && c->stamp) {
        size_t n = strlen(c->stamp);
        if (write(fd, c->stamp, n) != (ssize_t)n)
            s = vp_fail(err, VP_ERR_IO, "cannot write %s/%s: %s", dir, c->marker, strerror(errno));
    }
    struct stat ds;
    if (!s && fstat(dfd, &ds) != 0) s = vp_fail(err, VP_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
    close(dfd);
    if (s) {
        if (fd >= 0) close(fd);
        return s;
    }
    lk->fd = fd;
    lk->dev = ds.st_dev;
    lk->ino = ds.st_ino;
    lk->held = 1;
    return VP_OK;
}

vp_status vp_folder_check(const char *dir, const vp_claim *c, vp_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT && c->create) return VP_OK;
        return vp_fail(err, VP_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) return vp_fail(err, VP_ERR_IO, "%s exists and is not a folder", dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return vp_fail(err, VP_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
    vp_status s = VP_OK;
    int fd = open_marker(dfd, c->marker, 1, 0); /* read-only: a look, not a claim */
    if (fd == -1 && !c->shared) {
        int empty = folder_empty(dfd);
        if (empty == 0 && c->adopt && c->adopt(dir)) empty = 1;
        if (empty < 0) s = vp_fail(err, VP_ERR_IO, "cannot read folder %s", dir);
        else if (!empty) s = not_ours(dir, c, err);
    } else if (fd == -2) {
        s = marker_error(dir, c, errno, err);
    }
    struct stat ms;
    if (!s && fd >= 0 && (fstat(fd, &ms) != 0 || !S_ISREG(ms.st_mode))) s = not_regular(dir, c, err);
    if (!s && fd >= 0) { /* another process holding a lock that ours would conflict with */
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = c->shared ? F_RDLCK : F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) s = in_use(dir, c->shared, (long)fl.l_pid, err);
    }
    if (fd >= 0) close(fd);
    close(dfd);
    return s;
}

int vp_folder_all(const char *dir, int (*ours)(const char *name))
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int all = 1;
    char base[256];
    while (all && (de = readdir(d))) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) continue;
        all = ours(n) || (vp_tmp_base(n, base, sizeof base) && ours(base));
    }
    closedir(d);
    return all;
}

void vp_folder_release(vp_folder_lock *lk)
{
    if (!lk) return;
    if (lk->fd >= 0) close(lk->fd);
    lk->fd = -1;
    lk->held = 0;
}

int vp_folder_same(const vp_folder_lock *lk, const char *dir)
{
    struct stat st;
    return lk && lk->held && stat(dir, &st) == 0 && st.st_dev == lk->dev && st.st_ino == lk->ino;
}
