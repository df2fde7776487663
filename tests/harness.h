/* Shared helpers of the Criterion tests (tests/harness.c): the varprop binary and
 * source tree named by the environment (`make unit` sets both), temporary folders,
 * small files, and running `varprop ARGS` with its output captured.
 *
 * The helpers assert with cr_assert, so they are for use inside a test (or a
 * suite's .init/.fini): a failed assertion fails the calling test. */
#ifndef VARPROP_TESTS_HARNESS_H
#define VARPROP_TESTS_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* $VARPROP_BIN, the varprop binary under test; asserts it is set and not empty. */
const char *vt_bin(void);

/* $VARPROP_ROOT, the source tree (tests/corpus, docs, ...); asserts it is set. */
const char *vt_root(void);

/* The whole file, NUL-terminated (malloc'ed); *len (when len is not NULL) gets the
 * byte count. NULL when the file cannot be opened. */
char *vt_slurp(const char *path, size_t *len);

/* As vt_slurp, but an empty string (malloc'ed) when the file cannot be opened. */
char *vt_slurp_text(const char *path);

/* As vt_slurp, but asserts the file opens ("cannot open PATH") and is read whole. */
char *vt_slurp_must(const char *path, size_t *len);

/* Writes text to DIR/NAME (created or truncated); asserts it opens and closes. */
void vt_write_file(const char *dir, const char *name, const char *text);

/* Newlines in the file, or -1 when it cannot be opened. */
int vt_count_lines(const char *path);

/* 1 when path names something stat() can see, else 0. */
int vt_exists(const char *path);

/* Creates a fresh folder PREFIXXXXXXX (mkdtemp) and writes its path into buf;
 * asserts it was made. e.g. vt_mktmp(dir, sizeof dir, "/tmp/varprop-cli-"). */
void vt_mktmp(char *buf, size_t len, const char *prefix);

/* Temporaries (names holding ".tmp.") under dir, recursively; 0 when dir cannot be read. */
int vt_count_tmp(const char *dir);

/* Starts VARPROP_BIN with argv (argv[0] is its name) in the background, env's
 * "NAME=VALUE" entries (NULL-terminated; env may be NULL) added, stdout and stderr in
 * DIR/.out and DIR/.err (dir NULL: /dev/null). Returns its pid. */
int vt_spawn(char *const argv[], const char *const env[], const char *dir);

/* A labelled batch for the PyTorch-agreement tests: n x dim inputs, element stream
 * (xseed, xstream) of N(0, 1) rounded to float32 (both precisions train on the same
 * numbers), labels from a fixed linear teacher drawn from (tseed, 0), argmax_c <x, t_c>
 * over `classes` (dim * classes <= 4096), so there is something to learn. */
void vt_teacher_batch(uint64_t xseed, uint32_t xstream, uint64_t tseed, size_t n, int dim, int classes, double *x,
                      int32_t *y);

/* Waits (up to ~20 s) until path exists; asserts it does. */
void vt_await_file(const char *path);

/* Starts `varprop run CFG -o RES --quiet --threads 1 --no-plot` in the background
 * (output as vt_spawn's, dir NULL: /dev/null) and waits until run `run` is complete
 * (its .parts marker exists). Returns the pid, for the signal the test sends. */
int vt_spawn_run_until(const char *cfg, const char *res, int run, const char *dir);

/* The exit code of child pid (128 + the signal number when killed), waiting at most
 * `seconds`; past that the child is killed and the calling test fails. */
int vt_wait_exit(int pid, int seconds);

/* rm -rf DIR; asserts it succeeded. */
void vt_rmtree(const char *dir);

/* Runs `$VARPROP_BIN ARGS` through the shell, ARGS being shell words formatted
 * from fmt. With out (err) not NULL, stdout (stderr) is captured in DIR/.stdout
 * (DIR/.stderr) and *out (*err) gets its text, malloc'ed ("" when nothing could be
 * read); with NULL it goes to /dev/null. Returns the exit code, or 128 + the
 * signal number when the binary was killed by a signal. */
int vt_run(const char *dir, char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* As vt_run, with env (shell words such as "env A=1 B='x'", or NULL for none)
 * put in front of the binary. */
int vt_run_env(const char *dir, const char *env, char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The va_list form of vt_run_env. */
int vt_vrun(const char *dir, const char *env, char **out, char **err, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* The panel titles of a chart script (<stem>.gp, its PNG half) read evenly and stay
 * clear: every title ck_panel_head set is on one line at the default font, or every
 * one broken into two in the smaller font (neighbours alike), and each line, at
 * 7.7 px a character at 11 pt (6.3 px at 9 pt) centred on its panel, stays on the
 * 1200 px page and within half the gap to the next panel. `what` names the chart in
 * the failure messages. */
void vt_check_panel_titles(const char *gp, const char *what);

#endif
