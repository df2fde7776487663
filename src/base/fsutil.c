/* fsutil: see fsutil.h. */
#include "base/fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *vp_shell_word(const char *s, char *buf, size_t len)
{
    int dash = *s == '-'; /* "-o" would be read as an option: "./-o" */
    if (*s && !dash && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./,:=@%+") == strlen(s))
        return s;
    size_t n = 0;
    if (len < 5) return s;
    if (dash) buf[n++] = '.', buf[n++] = '/';
    buf[n++] = '\'';
    for (const char *p = s; *p; p++) {
        size_t k = *p == '\'' ? 4 : 1; /* ' ends the quotes, \' is a quote, ' opens them again */
        if (n + k + 2 > len) return s; /* does not fit: unquoted */
        memcpy(buf + n, k == 4 ? "'\\''" : p, k);
        n += k;
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    return buf;
}

vp_status vp_path_join(char *out, size_t len, const char *a, const char *b, vp_err *err)
{
    size_t na = strlen(a); /* a folder typed as "dir/" (or "dir//") joins with one slash: messages name the file */
    while (na > 1 && a[na - 1] == '/') na--;
    const char *sep = na == 1 && a[0] == '/' ? "" : "/";
    int n = snprintf(out, len, "%.*s%s%s", (int)na, a, sep, b);
    if (n < 0 || (size_t)n >= len) return vp_fail(err, VP_ERR_IO, "path too long: %.*s%s%s", (int)na, a, sep, b);
    return VP_OK;
}

/* Six characters nobody can guess: from getrandom(), else (no entropy source) from
 * the clock, the pid and a stack address. Only their unpredictability matters: the
 * file is created with O_EXCL, so a name that exists is simply drawn again. */
static void random_suffix(char out[7])
{
    static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[6];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = (unsigned long long)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^
                               (unsigned long long)getpid() << 20 ^ (unsigned long long)(uintptr_t)&ts;
        for (int i = 0; i < 6; i++, x >>= 8) r[i] = (unsigned char)x;
    }
    for (int i = 0; i < 6; i++) out[i] = ALNUM[r[i] % (sizeof ALNUM - 1)];
    out[6] = '\0';
}

/* Create a fresh temporary for `path` in folder `dir` (NULL: path's own folder),
 * "<dir>/.<base>.tmp.XXXXXX", with O_CREAT|O_EXCL: a name that exists -- a planted
 * symbolic link included -- is never opened, another is drawn. With fp, the file is
 * opened for writing (fopen "wx", so the stdio stream is an ordinary fopen'ed one);
 * without, it is created empty and closed (for files another program writes). */
static vp_status tmp_create(const char *path, const char *dir, char *out, size_t len, FILE **fp, vp_err *err)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    for (int attempt = 0; attempt < 100; attempt++) {
        char sfx[7];
        random_suffix(sfx);
        int n = dir ? snprintf(out, len, "%s/.%s" VP_TMP_INFIX "%s", dir, base, sfx)
                    : snprintf(out, len, "%.*s.%s" VP_TMP_INFIX "%s", dirlen, path, base, sfx);
        if (n < 0 || (size_t)n >= len) return vp_fail(err, VP_ERR_IO, "path too long: %s", path);
        if (fp) {
            *fp = fopen(out, "wx");
            if (*fp) return VP_OK;
        } else {
            int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
            if (fd >= 0) { close(fd); return VP_OK; }
        }
        if (errno != EEXIST) return vp_fail(err, VP_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return vp_fail(err, VP_ERR_IO, "cannot write %s: no free temporary name", path);
}

vp_status vp_tmp_create(const char *path, char *out, size_t len, vp_err *err)
{
    return tmp_create(path, NULL, out, len, NULL, err);
}

int vp_tmp_base(const char *name, char *base, size_t len)
{
    size_t n = strlen(name), infix = strlen(VP_TMP_INFIX);
    if (n < 1 + 1 + infix + 6 || name[0] != '.') return 0;
    const char *sfx = name + n - 6;
    for (int i = 0; i < 6; i++)
        if (!isalnum((unsigned char)sfx[i])) return 0;
    if (memcmp(sfx - infix, VP_TMP_INFIX, infix) != 0) return 0;
    size_t blen = (size_t)(sfx - infix - (name + 1));
    if (blen + 1 > len) return 0;
    memcpy(base, name + 1, blen);
    base[blen] = '\0';
    return 1;
}

vp_status vp_rename_into_place(const char *tmp, const char *path, vp_err *err)
{
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return vp_fail(err, VP_ERR_IO, "cannot move %s into place: %s", path, strerror(e));
    }
    return VP_OK;
}

vp_status vp_afile_open_in(vp_afile *f, const char *path, const char *dir, vp_err *err)
{
    memset(f, 0, sizeof *f);
    if (strlen(path) >= sizeof f->path) return vp_fail(err, VP_ERR_IO, "path too long: %s", path);
    strcpy(f->path, path);
    return tmp_create(path, dir, f->tmp, sizeof f->tmp, &f->fp, err);
}

vp_status vp_afile_open(vp_afile *f, const char *path, vp_err *err)
{
    return vp_afile_open_in(f, path, NULL, err);
}

vp_status vp_afile_commit(vp_afile *f, vp_err *err)
{
    if (!f->fp) return vp_fail(err, VP_ERR_IO, "internal: commit of an unopened file");
    int bad = ferror(f->fp);
    int e = errno;
    if (fflush(f->fp) != 0) { bad = 1; e = errno; }
    if (!f->no_sync && fsync(fileno(f->fp)) != 0 && errno != EINVAL) { bad = 1; e = errno; }
    if (fclose(f->fp) != 0) { bad = 1; e = errno; }
    f->fp = NULL;
    if (bad) {
        unlink(f->tmp);
        return vp_fail(err, VP_ERR_IO, "writing %s failed: %s", f->path, strerror(e ? e : EIO));
    }
    return vp_rename_into_place(f->tmp, f->path, err);
}

void vp_afile_abort(vp_afile *f)
{
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
        unlink(f->tmp);
    }
}

vp_status vp_mkdir_p(const char *path, vp_err *err)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return vp_fail(err, VP_ERR_IO, "bad folder path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return vp_fail(err, VP_ERR_IO, "cannot create folder %s: %s", buf, strerror(errno));
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return vp_fail(err, VP_ERR_IO, "%s exists and is not a folder", path);
    return VP_OK;
}

vp_status vp_read_file(const char *path, size_t max, char **out, size_t *len, vp_err *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return vp_fail(err, VP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    vp_status s = VP_OK;
    if (!buf) s = vp_fail(err, VP_ERR_NOMEM, "out of memory reading %s", path);
    while (!s) {
        if (n == cap - 1) { /* full but for the terminator: grow, unless past the cap */
            if (n > max) break;
            size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2; /* room for max + 1 bytes + NUL */
            char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory reading %s", path); break; }
            buf = nb;
            cap = ncap;
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0) break;
    }
    if (!s && ferror(f)) s = vp_fail(err, VP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (!s && n > max) s = vp_fail(err, VP_ERR_DATA, "%s: larger than the %zu MiB limit", path, max >> 20);
    fclose(f);
    if (s) { free(buf); return s; }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return VP_OK;
}
