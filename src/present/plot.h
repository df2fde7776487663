/* plot: the gnuplot pipe. One vp_plot = one gnuplot process = one chart script.
 *
 * vp_plot_open starts gnuplot (no shell in between: posix_spawnp with an argv),
 * its stdin connected to us, its stdout and stderr captured in an anonymous
 * temporary file. Every command goes both to gnuplot and to a script file
 * ("<dir>/<name>.gp", written atomically) so `cd <dir> && gnuplot <name>.gp`
 * redraws the chart by hand. gnuplot runs in <dir>, so the script and the pipe
 * use the same relative file names.
 *
 * Output files: vp_plot_output sends `set output` with a temporary name in the
 * pipe and the final name in the script; vp_plot_close renames the outputs into
 * place only if gnuplot exited with status 0, otherwise it deletes them and
 * returns VP_ERR_EXTERNAL with gnuplot's own first error line.
 *
 * Errors while sending are sticky (like ferror): vp_plot_cmd returns the status,
 * later commands are skipped, and vp_plot_close reports the first failure
 * (preferring gnuplot's message when gnuplot died).
 *
 * Safety: never pass text from a config or file name as the format; quote it
 * with vp_plot_quote and use it as a %s argument. gnuplot does not expand
 * backquotes or @macros inside single-quoted strings, and vp_plot_quote doubles
 * single quotes and removes control characters, so quoted text stays a string.
 *
 * The gnuplot program is $VARPROP_GNUPLOT when set (a path or a name looked up
 * in PATH), else "gnuplot". No DISPLAY is needed: charts set file terminals.
 *
 * Each gnuplot may run for $VARPROP_GNUPLOT_TIMEOUT seconds (default
 * VP_PLOT_TIMEOUT_DEFAULT; 0: no limit): past that, or as soon as the stop flag
 * (vp_plot_set_stop) is set, its process group is killed, its outputs deleted, and the
 * chart fails (VP_ERR_EXTERNAL with a message naming the limit, or VP_ERR_INTERRUPTED).
 */
#ifndef VP_PLOT_H
#define VP_PLOT_H

#include <stddef.h>
#include "base/err.h"

#define VP_PLOT_INSTALL_HINT \
    "gnuplot not found: install it (apt-get install gnuplot-nox) and run `varprop plot RESULTS_DIR` to draw the charts"
#define VP_PLOT_ENV_HINT \
    "VARPROP_GNUPLOT names no program that runs: point it at gnuplot, or unset it to use gnuplot from PATH, and run " \
    "`varprop plot RESULTS_DIR` to draw the charts"

/* What to do when gnuplot cannot run: VP_PLOT_ENV_HINT when VARPROP_GNUPLOT chose the
 * program (installing gnuplot would not help), else VP_PLOT_INSTALL_HINT. */
const char *vp_plot_missing_hint(void);

#include <signal.h>

#define VP_PLOT_TIMEOUT_DEFAULT 60.0 /* seconds */

typedef struct vp_plot vp_plot;

/* The time limit of one gnuplot from $VARPROP_GNUPLOT_TIMEOUT: a number of seconds >= 0
 * (0: none); VP_ERR_USAGE for anything else. */
vp_status vp_plot_timeout(double *seconds, vp_err *err);

/* Give up (VP_ERR_INTERRUPTED) as soon as *stop is non-zero (stop may be NULL). */
void vp_plot_set_stop(vp_plot *p, volatile sig_atomic_t *stop);

/* The gnuplot program varprop will run ($VARPROP_GNUPLOT or "gnuplot"). Borrowed. */
const char *vp_plot_program(void);

/* 1 if that program exists and is executable (searched in PATH when it has no '/'). */
int vp_plot_available(void);

/* Start gnuplot in folder `dir` and open "<dir>/<script>" for the command tee
 * (script may be NULL: no tee). gnuplot missing -> VP_ERR_EXTERNAL with
 * vp_plot_missing_hint() in the message. On success *out is freed by close/abort.
 * dir may be NULL (then so must script): gnuplot starts at once, and vp_plot_cd gives
 * it its folder before any output -- so it can load while the folder is not made yet. */
vp_status vp_plot_open(vp_plot **out, const char *dir, const char *script, vp_err *err);

/* gnuplot works in folder `dir` from now on (the pipe's `cd`; output names are
 * relative to it). Returns the sticky status. */
vp_status vp_plot_cd(vp_plot *p, const char *dir, vp_err *err);

/* Send one command line (printf format; a newline is appended) to gnuplot and
 * the script. The format must be a literal; user text goes in via %s of a
 * vp_plot_quote result. Returns the sticky status. */
vp_status vp_plot_cmd(vp_plot *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write a comment line ("# text") to the script only. */
vp_status vp_plot_comment(vp_plot *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `set output` for the file `name` in the plot folder (a plain file name, no
 * '/'): gnuplot writes a temporary that close renames to `name`. */
vp_status vp_plot_output(vp_plot *p, const char *name);

/* Finish: end gnuplot's input, wait for it, check its exit status; on success
 * rename the outputs into place and commit the script. On failure nothing new
 * is left behind and err holds gnuplot's message (VP_ERR_EXTERNAL) or the I/O
 * error. Frees p (NULL-safe: returns VP_OK). */
vp_status vp_plot_close(vp_plot *p, vp_err *err);

/* Give up: stop gnuplot, delete temporaries, keep no script. Frees p (NULL-safe). */
void vp_plot_abort(vp_plot *p);

/* Write s as a gnuplot single-quoted string literal into out (always
 * NUL-terminated; needs len >= 8). Single quotes are doubled, control
 * characters become spaces, invalid UTF-8 bytes become '?', and text that does
 * not fit is cut at a character boundary and ends in "...". Returns out. */
char *vp_plot_quote(char *out, size_t len, const char *s);

/* Titles are measured in characters (UTF-8 characters, not bytes) of the charts' Sans
 * font: an average one is VP_PLOT_CHAR_EM pixels wide per point of font size on the
 * 1200- and 1100-pixel pages (86 characters of a 13 pt page title spanned 801 px, 0.72;
 * a 33-character 11 pt panel title 254 px, 0.70). The width in pixels of text s at pt
 * points, and the characters that fit px pixels at pt points. */
#define VP_PLOT_CHAR_EM 0.72
double vp_plot_text_px(const char *s, double pt);
size_t vp_plot_chars_in(double px, double pt);

/* Text s as a gnuplot string expression in lines of at most `width` characters:
 * broken at spaces (a word longer than a line is cut), each line quoted as by
 * vp_plot_quote, joined by ."\n". (a title that runs off the page is unreadable at
 * both ends). At most max_lines lines (>= 1) are written, the last then ending in
 * "…"; out is always a valid expression (needs len >= 16). Returns the number of lines
 * the whole text needs, which may be more than max_lines. */
size_t vp_plot_quote_wrapped(char *out, size_t len, const char *s, size_t width, size_t max_lines);

#endif
