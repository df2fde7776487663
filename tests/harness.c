/* Shared helpers of the Criterion tests: see harness.h. */
#include "harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rng.h"

const char *vt_bin(void)
{
    const char *b = getenv("VARPROP_BIN");
    cr_assert(b && *b, "VARPROP_BIN must name the varprop binary (make unit sets it)");
    return b;
}

const char *vt_root(void)
{
    const char *r = getenv("VARPROP_ROOT");
    cr_assert(r && *r, "VARPROP_ROOT must name the source tree (make unit sets it)");
    return r;
}

/* Reads f from its start; with whole, asserts every byte ftell counted was read. */
static char *read_stream(FILE *f, size_t *len, int whole)
{
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert(s);
    size_t got = fread(s, 1, (size_t)n, f);
    if (whole) cr_assert_eq(got, (size_t)n);
    s[got] = 0;
    fclose(f);
    if (len) *len = got;
    return s;
}

char *vt_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    return read_stream(f, len, 0);
}

char *vt_slurp_text(const char *path)
{
    char *s = vt_slurp(path, NULL);
    return s ? s : strdup("");
}

char *vt_slurp_must(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    return read_stream(f, len, 1);
}

void vt_write_file(const char *dir, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

int vt_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

int vt_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void vt_mktmp(char *buf, size_t len, const char *prefix)
{
    snprintf(buf, len, "%sXXXXXX", prefix);
    cr_assert_not_null(mkdtemp(buf));
}

int vt_count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char p[1200];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) n += vt_count_tmp(p);
        else if (strstr(de->d_name, ".tmp.")) n++;
    }
    closedir(d);
    return n;
}

int vt_spawn(char *const argv[], const char *const env[], const char *dir)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char p[1100];
        snprintf(p, sizeof p, "%s/.out", dir ? dir : "");
        int o = open(dir ? p : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        snprintf(p, sizeof p, "%s/.err", dir ? dir : "");
        int e = open(dir ? p : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        for (size_t i = 0; env && env[i]; i++) putenv((char *)env[i]);
        execv(vt_bin(), argv);
        _exit(127);
    }
    return pid;
}

void vt_await_file(const char *path)
{
    for (int i = 0; i < 20000 && !vt_exists(path); i++) usleep(1000);
    cr_assert(vt_exists(path), "%s never appeared", path);
}

void vt_teacher_batch(uint64_t xseed, uint32_t xstream, uint64_t tseed, size_t n, int dim, int classes, double *x,
                      int32_t *y)
{
    vp_rng r = vp_rng_make(xseed, xstream, VP_RNG_INPUT);
    vp_rng_normal_range(&r, 0, 0, n * (size_t)dim, x);
    for (size_t i = 0; i < n * (size_t)dim; i++) x[i] = (double)(float)x[i];
    double teach[4096];
    cr_assert((size_t)classes * (size_t)dim <= sizeof teach / sizeof *teach);
    vp_rng rt = vp_rng_make(tseed, 0, VP_RNG_INPUT);
    vp_rng_normal_range(&rt, 0, 0, (size_t)classes * (size_t)dim, teach);
    for (size_t i = 0; i < n; i++) {
        double best = -INFINITY;
        for (int c = 0; c < classes; c++) {
            double v = 0;
            for (int j = 0; j < dim; j++) v += x[i * (size_t)dim + (size_t)j] * teach[(size_t)c * (size_t)dim + (size_t)j];
            if (v > best) best = v, y[i] = c;
        }
    }
}

int vt_spawn_run_until(const char *cfg, const char *res, int run, const char *dir)
{
    char sum[4200];
    snprintf(sum, sizeof sum, "%s/.parts/run-%07d.sum", res, run);
    char *argv[] = { (char *)"varprop", (char *)"run", (char *)cfg, (char *)"-o", (char *)res, (char *)"--quiet",
                     (char *)"--threads", (char *)"1", (char *)"--no-plot", NULL };
    int pid = vt_spawn(argv, NULL, dir);
    vt_await_file(sum);
    return pid;
}

int vt_wait_exit(int pid, int seconds)
{
    int st;
    for (long i = 0; i < seconds * 100L; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    cr_assert_fail("process %d did not exit within %d s", pid, seconds);
    return -1;
}

void vt_rmtree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

int vt_vrun(const char *dir, const char *env, char **out, char **err, const char *fmt, va_list ap)
{
    char args[4096], cmd[12288], o[1100], e[1100];
    vsnprintf(args, sizeof args, fmt, ap);
    if (out) snprintf(o, sizeof o, "'%s/.stdout'", dir);
    else snprintf(o, sizeof o, "/dev/null");
    if (err) snprintf(e, sizeof e, "'%s/.stderr'", dir);
    else snprintf(e, sizeof e, "/dev/null");
    int n = snprintf(cmd, sizeof cmd, "%s%s%s %s >%s 2>%s", env ? env : "", env ? " " : "", vt_bin(), args, o, e);
    cr_assert(n > 0 && (size_t)n < sizeof cmd, "command too long: %.200s...", cmd);
    int st = system(cmd);
    if (out) {
        snprintf(o, sizeof o, "%s/.stdout", dir);
        *out = vt_slurp_text(o);
    }
    if (err) {
        snprintf(e, sizeof e, "%s/.stderr", dir);
        *err = vt_slurp_text(e);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int vt_run(const char *dir, char **out, char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int code = vt_vrun(dir, NULL, out, err, fmt, ap);
    va_end(ap);
    return code;
}

int vt_run_env(const char *dir, const char *env, char **out, char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int code = vt_vrun(dir, env, out, err, fmt, ap);
    va_end(ap);
    return code;
}

void vt_check_panel_titles(const char *gp, const char *what)
{
    const char *end = strstr(gp, "set terminal svg"), *margin = NULL;
    int titles = 0, broken = 0;
    for (const char *t = strstr(gp, "set title '"); t && (!end || t < end); t = strstr(t + 1, "set title '")) {
        for (const char *m = strstr(margin ? margin + 1 : gp, "set lmargin at screen "); m && m < t;
             m = strstr(m + 1, "set lmargin at screen "))
            margin = m;
        double l, r;
        cr_assert(margin && sscanf(margin, "set lmargin at screen %lf; set rmargin at screen %lf", &l, &r) == 2,
                  "%s: no margins before %.60s", what, t);
        const char *eol = strchr(t, '\n'), *at = t + strlen("set title ");
        int lines = 0;
        size_t widest = 0;
        while (*at == '\'') { /* 'line' ["\n". 'line'] */
            size_t chars = 0;
            for (at++; *at && !(at[0] == '\'' && at[1] != '\''); at++) {
                if (at[0] == '\'') at++;
                chars += ((unsigned char)*at & 0xC0) != 0x80;
            }
            at++;
            lines++;
            if (chars > widest) widest = chars;
            if (strncmp(at, ".\"\\n\".", 6) != 0) break;
            at += 6;
        }
        int small = strstr(at, "font ',9'") && strstr(at, "font ',9'") < eol;
        cr_assert(lines == 1 || small, "%s: a broken title in the smaller font: %.*s", what, (int)(eol - t), t);
        cr_assert(lines == 2 || (strstr(at, "font ''") && strstr(at, "font ''") < eol),
                  "%s: a title on one line at the default font (a title set with no font keeps a broken one's): %.*s",
                  what, (int)(eol - t), t);
        double half = (double)widest * (small ? 6.3 : 7.7) / 2, centre = (l + r) / 2 * 1200;
        cr_assert(centre - half >= 0 && centre + half <= 1200, "%s: off the page: %.*s", what, (int)(eol - t), t);
        cr_assert_leq(half, (r - l) / 2 * 1200 + 0.0475 * 1200, "%s: into the next panel's title: %.*s", what,
                      (int)(eol - t), t);
        titles++;
        broken += lines == 2;
    }
    cr_assert_gt(titles, 0, "%s: no panel titles", what);
    cr_assert(broken == 0 || broken == titles, "%s: %d of %d titles broken", what, broken, titles);
}
