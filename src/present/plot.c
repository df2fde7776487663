/* plot: see plot.h.
 *
 * Why not popen(): popen runs "sh -c", so the program name would need shell
 * quoting, a missing gnuplot only shows up as status 127 at pclose, and a
 * write after gnuplot died raises SIGPIPE, which kills the whole process
 * (a library must not change signal dispositions). Instead gnuplot's stdin is
 * one end of a Unix socket pair: send(..., MSG_NOSIGNAL) turns a dead reader
 * into EPIPE, posix_spawnp reports a missing program at once, and waitpid
 * gives the exit status that pclose would.
 *
 * Time limit and signals: gnuplot runs in a process group of its own, so it is killed
 * (with anything it started) as one. Every blocking step -- sending commands, waiting
 * for the exit -- polls in short slices and gives up when the caller's stop flag is set
 * (VP_ERR_INTERRUPTED) or the time limit ($VARPROP_GNUPLOT_TIMEOUT seconds, default
 * VP_PLOT_TIMEOUT_DEFAULT) has passed (VP_ERR_EXTERNAL); then the group is killed
 * and waited for, so no gnuplot outlives the chart.
 */
#include "present/plot.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct {
    char tmp[4096];
    char final[4096];
} plot_output;

struct vp_plot {
    pid_t pid;           /* also its process group */
    volatile sig_atomic_t *stop; /* may be NULL: non-zero = give up now */
    double limit;        /* seconds gnuplot may take (0: no limit) */
    double deadline;     /* monotonic time when it is up */
    char script_name[256];
    int fd;              /* our end of gnuplot's stdin; -1 once closed */
    FILE *log;           /* gnuplot's stdout + stderr (anonymous temp file) */
    vp_afile script;
    int have_script;
    vp_status status;    /* first failure, sticky */
    vp_err err;
    char dir[4096];
    plot_output *out;
    size_t nout;
};

/* ---- program lookup ---- */

const char *vp_plot_program(void)
{
    const char *env = getenv("VARPROP_GNUPLOT");
    return env && *env ? env : "gnuplot";
}

const char *vp_plot_missing_hint(void)
{
    const char *env = getenv("VARPROP_GNUPLOT");
    return env && *env ? VP_PLOT_ENV_HINT : VP_PLOT_INSTALL_HINT;
}

vp_status vp_plot_timeout(double *seconds, vp_err *err)
{
    const char *env = getenv("VARPROP_GNUPLOT_TIMEOUT");
    *seconds = VP_PLOT_TIMEOUT_DEFAULT;
    if (!env || !*env) return VP_OK;
    char *end;
    double v = strtod(env, &end);
    if (end == env || *end || !isfinite(v) || v < 0 || v > 1e9)
        return vp_fail(err, VP_ERR_USAGE, "VARPROP_GNUPLOT_TIMEOUT='%.40s' is not a number of seconds (0 = no limit)",
                       env);
    *seconds = v;
    return VP_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Why gnuplot must be stopped now: VP_ERR_INTERRUPTED (the stop flag),
 * VP_ERR_EXTERNAL (the time limit; p->err says so), else VP_OK. */
static vp_status must_stop(vp_plot *p)
{
    if (p->stop && *p->stop) {
        vp_fail(&p->err, VP_ERR_INTERRUPTED, "interrupted while gnuplot drew %s", p->script_name);
        return VP_ERR_INTERRUPTED;
    }
    if (p->limit > 0 && now_s() > p->deadline) {
        vp_fail(&p->err, VP_ERR_EXTERNAL, "gnuplot did not finish %s within %g s, so it was stopped (the time limit "
                "is VARPROP_GNUPLOT_TIMEOUT seconds, 0 for none)", p->script_name, p->limit);
        return VP_ERR_EXTERNAL;
    }
    return VP_OK;
}

void vp_plot_set_stop(vp_plot *p, volatile sig_atomic_t *stop) { p->stop = stop; }

static int executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int vp_plot_available(void)
{
    const char *prog = vp_plot_program();
    if (strchr(prog, '/')) return executable(prog);
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        char cand[4096];
        int k = snprintf(cand, sizeof cand, "%.*s/%s", (int)n, n ? path : ".", prog);
        if (n == 0) k = snprintf(cand, sizeof cand, "./%s", prog);
        if (k > 0 && (size_t)k < sizeof cand && executable(cand)) return 1;
        if (!colon) break;
        path = colon + 1;
    }
    return 0;
}

/* ---- quoting ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    unsigned cp = c & (0x3Fu >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

char *vp_plot_quote(char *out, size_t len, const char *s)
{
    /* Room: opening quote, closing quote, "..." and NUL. */
    size_t limit = len - 6, w = 0;
    const unsigned char *u = (const unsigned char *)s;
    int cut = 0;
    out[w++] = '\'';
    while (*u) {
        size_t n = utf8_len(u);
        char piece[4];
        size_t plen;
        if (n == 0) { piece[0] = '?'; plen = 1; n = 1; }
        else if (n == 1 && (*u < 0x20 || *u == 0x7F)) { piece[0] = ' '; plen = 1; }
        else if (n == 1 && *u == '\'') { piece[0] = '\''; piece[1] = '\''; plen = 2; }
        else { memcpy(piece, u, n); plen = n; }
        if (w + plen > limit) { cut = 1; break; }
        memcpy(out + w, piece, plen);
        w += plen;
        u += n;
    }
    if (cut) { memcpy(out + w, "...", 3); w += 3; }
    out[w++] = '\'';
    out[w] = '\0';
    return out;
}

double vp_plot_text_px(const char *s, double pt)
{
    size_t chars = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) chars += (*u & 0xC0) != 0x80;
    return (double)chars * VP_PLOT_CHAR_EM * pt;
}

size_t vp_plot_chars_in(double px, double pt)
{
    double n = floor(px / (VP_PLOT_CHAR_EM * pt));
    return n >= 1 ? (size_t)n : 1;
}

/* The end of the line of text u of at most width characters: where the text ends,
 * else its last space when the next character is not one (so no word is split), else
 * the width-th character (a word longer than the line). */
static const unsigned char *line_end(const unsigned char *u, size_t width)
{
    const unsigned char *end = u, *space = NULL;
    for (size_t chars = 0; *end && chars < width; chars++) {
        size_t n = utf8_len(end);
        if (*end == ' ') space = end;
        end += n ? n : 1;
    }
    if (*end && *end != ' ' && space && space > u) end = space;
    return end;
}

size_t vp_plot_quote_wrapped(char *out, size_t len, const char *s, size_t width, size_t max_lines)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t lines = 0, w = 0, n = strlen(s);
    int full = 0; /* out has no room for the next line: the text stops there */
    char *line = malloc(n + 8), *q = malloc(2 * n + 16);
    if (width < 2) width = 2;
    if (max_lines < 1) max_lines = 1;
    snprintf(out, len, "''");
    if (!line || !q) {
        free(line);
        free(q);
        vp_plot_quote(out, len, s);
        return 1;
    }
    while (*u == ' ') u++;
    do {
        const unsigned char *end = line_end(u, width), *next = end;
        while (*next == ' ') next++;
        lines++;
        if (lines <= max_lines) {
            int cut = lines == max_lines && *next; /* the last line allowed, and text left */
            if (cut) end = line_end(u, width - 1);
            while (end > u && end[-1] == ' ') end--;
            snprintf(line, n + 8, "%.*s%s", (int)(end - u), (const char *)u, cut ? "…" : "");
            vp_plot_quote(q, 2 * n + 16, line);
            const char *sep = lines > 1 ? ".\"\\n\"." : "";
            if (!full && w + strlen(sep) + strlen(q) < len) w += (size_t)snprintf(out + w, len - w, "%s%s", sep, q);
            else full = 1;
        }
        u = next;
    } while (*u);
    free(line);
    free(q);
    return lines;
}

/* Quote a path exactly (no replacements, no cut); -1 if impossible. */
static int quote_exact(char *out, size_t len, const char *s)
{
    size_t w = 0;
    if (len < 3) return -1;
    out[w++] = '\'';
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (*u < 0x20 || *u == 0x7F) return -1;
        if (w + 4 > len) return -1; /* this char (maybe doubled), closing quote, NUL */
        if (*u == '\'') out[w++] = '\'';
        out[w++] = (char)*u;
    }
    out[w++] = '\'';
    out[w] = '\0';
    return 0;
}

/* ---- sending ---- */

static vp_status plot_failed(vp_plot *p, vp_status s)
{
    if (p->status == VP_OK) p->status = s;
    return p->status;
}

static vp_status send_all(vp_plot *p, const char *buf, size_t n)
{
    while (n > 0) {
        vp_status why = must_stop(p);
        if (why) return plot_failed(p, why);
        ssize_t k = send(p->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) { /* gnuplot is not reading: wait a slice */
                struct pollfd pf = { p->fd, POLLOUT, 0 };
                poll(&pf, 1, 50);
                continue;
            }
            int e = errno;
            vp_fail(&p->err, VP_ERR_EXTERNAL, "cannot send commands to gnuplot: %s", strerror(e));
            return plot_failed(p, VP_ERR_EXTERNAL);
        }
        buf += k;
        n -= (size_t)k;
    }
    return VP_OK;
}

/* Format into a fresh heap string ending in '\n' (no fixed-size buffers). */
static char *vformat_line(const char *fmt, va_list ap, size_t *len)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 2);
    if (!s) return NULL;
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    s[n] = '\n';
    s[n + 1] = '\0';
    *len = (size_t)n + 1;
    return s;
}

/* Send `line` (ending in '\n') to gnuplot and/or the script. */
static vp_status emit(vp_plot *p, const char *line, size_t n, int to_pipe, int to_script)
{
    if (p->status) return p->status;
    if (memchr(line, '\n', n - 1)) { /* only our own formats get here; keep it that way */
        vp_fail(&p->err, VP_ERR_EXTERNAL, "internal: gnuplot command contains a line break");
        return plot_failed(p, VP_ERR_EXTERNAL);
    }
    if (to_pipe && send_all(p, line, n)) return p->status;
    if (to_script && p->have_script && fwrite(line, 1, n, p->script.fp) != n) {
        vp_fail(&p->err, VP_ERR_IO, "cannot write %s: %s", p->script.path, strerror(errno));
        return plot_failed(p, VP_ERR_IO);
    }
    return VP_OK;
}

/* Format one line and send it: a command to gnuplot and the script, or a comment
 * ("# " + the line, control characters blanked) to the script only. */
static vp_status vsend(vp_plot *p, int comment, const char *fmt, va_list ap)
{
    size_t n = 0;
    char *line = vformat_line(fmt, ap, &n);
    if (!line) {
        vp_fail(&p->err, VP_ERR_NOMEM, "out of memory formatting a gnuplot %s", comment ? "comment" : "command");
        return plot_failed(p, VP_ERR_NOMEM);
    }
    vp_status s = VP_OK;
    if (!comment) s = emit(p, line, n, 1, 1);
    else {
        for (size_t i = 0; i + 1 < n; i++)
            if ((unsigned char)line[i] < 0x20) line[i] = ' ';
        if (p->have_script && (fputs("# ", p->script.fp) == EOF || fwrite(line, 1, n, p->script.fp) != n)) {
            vp_fail(&p->err, VP_ERR_IO, "cannot write %s: %s", p->script.path, strerror(errno));
            s = plot_failed(p, VP_ERR_IO);
        }
    }
    free(line);
    return s;
}

vp_status vp_plot_cmd(vp_plot *p, const char *fmt, ...)
{
    if (p->status) return p->status;
    va_list ap;
    va_start(ap, fmt);
    vp_status s = vsend(p, 0, fmt, ap);
    va_end(ap);
    return s;
}

vp_status vp_plot_comment(vp_plot *p, const char *fmt, ...)
{
    if (p->status) return p->status;
    va_list ap;
    va_start(ap, fmt);
    vp_status s = vsend(p, 1, fmt, ap);
    va_end(ap);
    return s;
}

vp_status vp_plot_output(vp_plot *p, const char *name)
{
    if (p->status) return p->status;
    if (!*name || strchr(name, '/') || !p->dir[0]) {
        vp_fail(&p->err, VP_ERR_IO, "internal: output name '%s' is not a plain file name (or no plot folder)", name);
        return plot_failed(p, VP_ERR_IO);
    }
    plot_output *o = realloc(p->out, (p->nout + 1) * sizeof *o);
    if (!o) {
        vp_fail(&p->err, VP_ERR_NOMEM, "out of memory");
        return plot_failed(p, VP_ERR_NOMEM);
    }
    p->out = o;
    o = &p->out[p->nout];
    vp_err e;
    if (vp_path_join(o->final, sizeof o->final, p->dir, name, &e) ||
        vp_tmp_create(o->final, o->tmp, sizeof o->tmp, &e)) {
        p->err = e;
        return plot_failed(p, VP_ERR_IO);
    }
    p->nout++;
    /* gnuplot runs in p->dir, so both names are relative to it. */
    const char *tmpbase = strrchr(o->tmp, '/') + 1;
    char qt[512], qf[512];
    if (quote_exact(qt, sizeof qt, tmpbase) || quote_exact(qf, sizeof qf, name)) {
        vp_fail(&p->err, VP_ERR_IO, "internal: output name '%s' cannot be quoted", name);
        return plot_failed(p, VP_ERR_IO);
    }
    char line[1100];
    int n = snprintf(line, sizeof line, "set output %s\n", qt);
    if (emit(p, line, (size_t)n, 1, 0)) return p->status;
    n = snprintf(line, sizeof line, "set output %s\n", qf);
    return emit(p, line, (size_t)n, 0, 1);
}

/* ---- process lifetime ---- */

/* The pipe's "cd 'dir'\n" (malloc'ed, *n bytes), or why dir cannot be one. */
static vp_status cd_line(const char *dir, char **line, size_t *n, vp_err *err)
{
    *line = NULL;
    if (strlen(dir) >= sizeof ((vp_plot *)0)->dir) return vp_fail(err, VP_ERR_IO, "path too long: %s", dir);
    size_t qlen = 2 * strlen(dir) + 3;
    char *l = malloc(qlen + 4);
    if (!l) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    if (quote_exact(l + 3, qlen, dir)) {
        free(l);
        return vp_fail(err, VP_ERR_IO, "plot folder '%s' contains a control character", dir);
    }
    memcpy(l, "cd ", 3);
    *n = strlen(l);
    l[(*n)++] = '\n';
    *line = l;
    return VP_OK;
}

/* Send a cd_line (taken over) and work in dir from now on (pipe only: the script is
 * run from there). */
static vp_status send_cd(vp_plot *p, const char *dir, char *line, size_t n)
{
    strcpy(p->dir, dir);
    emit(p, line, n, 1, 0);
    free(line);
    return p->status;
}

/* "LD_PRELOAD=LIB[:inherited LD_PRELOAD]" for gnuplot, LIB being the PNG-speed library
 * (src/present/preload/png_speed.c: zlib level 3 and no row filter for pngcairo's
 * PNGs, 37% less CPU for the charts): $VARPROP_GNUPLOT_PRELOAD names it ("" = none),
 * else libvarprop-png.so beside the running program or in its build/ folder (where
 * make puts it). NULL when there is none, it cannot be read, or its path holds a
 * space or a colon (LD_PRELOAD's separators); then gnuplot writes libpng's default
 * PNGs. Malloc'ed. */
static char *preload_entry(void)
{
    char lib[4096];
    const char *set = getenv("VARPROP_GNUPLOT_PRELOAD");
    if (set) {
        if (!*set || strlen(set) >= sizeof lib) return NULL;
        snprintf(lib, sizeof lib, "%s", set);
    } else {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return NULL;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash) return NULL;
        *slash = '\0';
        static const char *const where[] = { "/libvarprop-png.so", "/build/libvarprop-png.so" };
        size_t i = 0;
        for (; i < sizeof where / sizeof *where; i++)
            if ((size_t)snprintf(lib, sizeof lib, "%s%s", exe, where[i]) < sizeof lib && access(lib, R_OK) == 0) break;
        if (i == sizeof where / sizeof *where) return NULL;
    }
    if (strpbrk(lib, " :") || access(lib, R_OK) != 0) return NULL;
    const char *old = getenv("LD_PRELOAD");
    int keep = old && *old;
    size_t len = strlen("LD_PRELOAD=") + strlen(lib) + (keep ? 1 + strlen(old) : 0) + 1;
    char *e = malloc(len);
    if (e) snprintf(e, len, "LD_PRELOAD=%s%s%s", lib, keep ? ":" : "", keep ? old : "");
    return e;
}

/* gnuplot's environment: ours, plus glibc malloc tunables unless GLIBC_TUNABLES is set,
 * and preload (preload_entry; NULL: none) in place of any inherited LD_PRELOAD.
 * cairo allocates each chart's 1200x800 image surface (3.7 MB) and more buffers above
 * glibc's mmap threshold, so every chart maps fresh pages and the kernel zero-fills them
 * on first touch, and trims the heap after each; with higher thresholds the freed memory
 * is reused by the next chart of the same process: half the page faults, ~15 ms less
 * system time per process for the reference sweep's charts (docs/charts.md). The
 * pointers are borrowed from environ and preload; free the array only. NULL: out of
 * memory. */
static char **gnuplot_env(char *preload)
{
    static char tunables[] = "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=134217728";
    size_t n = 0, k = 0;
    int have = 0;
    for (; environ[n]; n++) have |= strncmp(environ[n], "GLIBC_TUNABLES=", 15) == 0;
    char **env = malloc((n + 3) * sizeof *env);
    if (!env) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!preload || strncmp(environ[i], "LD_PRELOAD=", 11) != 0) env[k++] = environ[i];
    if (!have) env[k++] = tunables;
    if (preload) env[k++] = preload;
    env[k] = NULL;
    return env;
}

vp_status vp_plot_open(vp_plot **out, const char *dir, const char *script, vp_err *err)
{
    *out = NULL;
    vp_plot *p = calloc(1, sizeof *p);
    if (!p) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    p->fd = -1;
    p->pid = -1;
    vp_status s = VP_OK;
    int sv[2] = { -1, -1 };
    char *cd = NULL;
    size_t cdlen = 0;
    const char *prog = vp_plot_program();

    if ((s = vp_plot_timeout(&p->limit, err))) goto fail;
    snprintf(p->script_name, sizeof p->script_name, "%s", script ? script : "a chart");
    if (script && !dir) { s = vp_fail(err, VP_ERR_IO, "internal: a script needs a plot folder"); goto fail; }
    if (dir && (s = cd_line(dir, &cd, &cdlen, err))) goto fail;
    if (script) {
        char path[4096];
        if ((s = vp_path_join(path, sizeof path, dir, script, err))) goto fail;
        if ((s = vp_afile_open(&p->script, path, err))) goto fail;
        p->have_script = 1;
    }

    p->log = tmpfile();
    if (!p->log) { s = vp_fail(err, VP_ERR_IO, "cannot create a temporary file for gnuplot's messages: %s", strerror(errno)); goto fail; }
    int logfd = fileno(p->log);
    if (fcntl(logfd, F_SETFD, FD_CLOEXEC) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        s = vp_fail(err, VP_ERR_IO, "cannot create the gnuplot pipe: %s", strerror(errno));
        goto fail;
    }
    shutdown(sv[0], SHUT_RD); /* one-way: we only write */

    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto fail; }
    /* dup2 clears close-on-exec on the target, so only 0, 1 and 2 survive. */
    int rc = posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, logfd, 1);
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, logfd, 2);
    char arg0[] = "gnuplot";
    char *argv[] = { arg0, NULL };
    /* Its own process group (killed as one), the default action for every signal
     * varprop handles or ignores, and no signal blocked. */
    posix_spawnattr_t at;
    sigset_t def, none;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGHUP);
    int arc = posix_spawnattr_init(&at);
    if (!arc) arc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (!arc) arc = posix_spawnattr_setpgroup(&at, 0);
    if (!arc) arc = posix_spawnattr_setsigdefault(&at, &def);
    if (!arc) arc = posix_spawnattr_setsigmask(&at, &none);
    if (!rc) rc = arc;
    char *preload = rc ? NULL : preload_entry();
    char **env = rc ? NULL : gnuplot_env(preload);
    if (!rc && !env) rc = ENOMEM;
    if (!rc) rc = posix_spawnp(&p->pid, prog, &fa, &at, argv, env);
    free(env);
    free(preload);
    if (!arc) posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    sv[1] = -1;
    if (rc != 0) {
        p->pid = -1;
        if (rc == ENOENT || rc == EACCES || rc == ENOTDIR)
            s = vp_fail(err, VP_ERR_EXTERNAL, "cannot run '%s' (%s); %s", prog, strerror(rc), vp_plot_missing_hint());
        else
            s = vp_fail(err, VP_ERR_EXTERNAL, "cannot start '%s': %s", prog, strerror(rc));
        goto fail;
    }
    p->fd = sv[0];
    sv[0] = -1;
    p->deadline = now_s() + p->limit;
    if (cd && (s = send_cd(p, dir, cd, cdlen))) {
        cd = NULL;
        if (err) *err = p->err;
        goto fail;
    }
    *out = p;
    return VP_OK;
fail:
    free(cd);
    if (sv[0] >= 0) close(sv[0]);
    if (sv[1] >= 0) close(sv[1]);
    vp_plot_abort(p);
    return s;
}

vp_status vp_plot_cd(vp_plot *p, const char *dir, vp_err *err)
{
    char *line;
    size_t n;
    if (p->status) { if (err) *err = p->err; return p->status; }
    vp_status s = cd_line(dir, &line, &n, err);
    if (!s && (s = send_cd(p, dir, line, n)) && err) *err = p->err;
    return s;
}

/* gnuplot's first error, from its captured output. gnuplot prints
 *     gnuplot> bad command
 *              ^
 *              line 0: invalid command
 * (or '"file" line N: ...'); we report "invalid command (in: bad command)". */
static void read_gnuplot_error(vp_plot *p, char *msg, size_t len)
{
    char line[1024], cmd[512] = "", first[512] = "";
    msg[0] = '\0';
    if (!p->log || fflush(p->log) != 0 || fseek(p->log, 0, SEEK_SET) != 0) return;
    while (fgets(line, sizeof line, p->log)) {
        line[strcspn(line, "\r\n")] = '\0';
        for (char *c = line; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7F) *c = ' ';
        char *t = line;
        while (*t == ' ') t++;
        if (*t == '\0' || strcmp(t, "^") == 0) continue;
        if (strncmp(t, "gnuplot> ", 9) == 0) { snprintf(cmd, sizeof cmd, "%s", t + 9); continue; }
        const char *m = NULL;
        if (strncmp(t, "line ", 5) == 0 || t[0] == '"') {
            const char *colon = strstr(t, ": ");
            if (colon && (strncmp(t, "line ", 5) == 0 || strstr(t, "\" line "))) m = colon + 2;
        }
        if (m) {
            if (cmd[0]) snprintf(msg, len, "%s (in: %.300s)", m, cmd);
            else snprintf(msg, len, "%s", m);
            return;
        }
        if (!first[0] && strncasecmp(t, "warning:", 8) != 0) snprintf(first, sizeof first, "%.500s", t);
    }
    snprintf(msg, len, "%s", first);
}

/* Kill gnuplot's process group and reap gnuplot. */
static void kill_process(vp_plot *p)
{
    if (p->pid <= 0) return;
    kill(-p->pid, SIGKILL);
    kill(p->pid, SIGKILL); /* should setpgid have failed */
    int st;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {}
    p->pid = -1;
}

/* Close the pipe and wait for gnuplot to exit -- in slices, until the stop flag or the
 * time limit says to kill it (then p->status and p->err say why). Returns the wait
 * status, or -1. */
static int finish_process(vp_plot *p)
{
    if (p->fd >= 0) { close(p->fd); p->fd = -1; }
    if (p->pid <= 0) return -1;
    for (;;) {
        siginfo_t si;
        si.si_pid = 0;
        int r = waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT);
        if (r == 0 && si.si_pid == p->pid) {
            /* Exited, not yet reaped (so its pid still names the group): end anything it
             * left running there, then reap it. */
            int st;
            kill(-p->pid, SIGKILL);
            pid_t w;
            do w = waitpid(p->pid, &st, 0); while (w < 0 && errno == EINTR);
            p->pid = -1;
            return w < 0 ? -1 : st;
        }
        if (r < 0 && errno != EINTR) {
            p->pid = -1;
            return -1;
        }
        vp_status why = must_stop(p);
        if (why) {
            p->status = why; /* overrides: the stop is what the caller must see */
            kill_process(p);
            return -1;
        }
        struct timespec slice = { 0, 10 * 1000 * 1000 };
        nanosleep(&slice, NULL);
    }
}

static void plot_free(vp_plot *p)
{
    if (p->log) fclose(p->log);
    free(p->out);
    free(p);
}

void vp_plot_abort(vp_plot *p)
{
    if (!p) return;
    if (p->fd >= 0) { close(p->fd); p->fd = -1; }
    kill_process(p); /* giving up: no need to wait for gnuplot to finish */
    for (size_t i = 0; i < p->nout; i++) unlink(p->out[i].tmp);
    if (p->have_script) vp_afile_abort(&p->script);
    plot_free(p);
}

vp_status vp_plot_close(vp_plot *p, vp_err *err)
{
    if (!p) return VP_OK;
    if (!p->status) {
        static const char bye[] = "unset output\nexit\n";
        emit(p, "unset output\n", 13, 1, 1);
        emit(p, bye + 13, sizeof bye - 14, 1, 0);
    }
    int st = finish_process(p);
    char gmsg[700];
    read_gnuplot_error(p, gmsg, sizeof gmsg);
    vp_status s = VP_OK;
    if (st == -1 && (p->status == VP_ERR_INTERRUPTED || p->status == VP_ERR_EXTERNAL)) {
        s = p->status; /* stopped or out of time (or, for EXTERNAL, already failing) */
        if (err) *err = p->err;
    } else if (st == -1) {
        s = vp_fail(err, VP_ERR_EXTERNAL, "lost track of the gnuplot process");
    } else if (WIFSIGNALED(st)) {
        s = vp_fail(err, VP_ERR_EXTERNAL, "gnuplot was killed by signal %d", WTERMSIG(st));
    } else if (WEXITSTATUS(st) != 0) {
        if (gmsg[0]) s = vp_fail(err, VP_ERR_EXTERNAL, "gnuplot: %s", gmsg);
        else s = vp_fail(err, VP_ERR_EXTERNAL, "gnuplot exited with status %d", WEXITSTATUS(st));
    } else if (p->status) {
        s = p->status;
        if (err) *err = p->err;
    }
    if (s) {
        for (size_t i = 0; i < p->nout; i++) unlink(p->out[i].tmp);
        if (p->have_script) vp_afile_abort(&p->script);
        plot_free(p);
        return s;
    }
    for (size_t i = 0; i < p->nout; i++) {
        struct stat sb;
        if (stat(p->out[i].tmp, &sb) != 0 || sb.st_size == 0) {
            s = vp_fail(err, VP_ERR_EXTERNAL, "gnuplot did not write %s%s%s", p->out[i].final,
                        gmsg[0] ? ": " : "", gmsg);
            break;
        }
    }
    for (size_t i = 0; i < p->nout; i++) {
        if (s) { unlink(p->out[i].tmp); continue; }
        s = vp_rename_into_place(p->out[i].tmp, p->out[i].final, err);
    }
    if (p->have_script) {
        if (s) vp_afile_abort(&p->script);
        else s = vp_afile_commit(&p->script, err);
    }
    plot_free(p);
    return s;
}
