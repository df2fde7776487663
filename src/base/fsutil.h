/* fsutil: atomic output files and directory helpers (output layer plumbing).
 *
 * Every file varprop writes goes through vp_afile: it is written to a hidden
 * temporary name in the same folder ("<dir>/.<base>.tmp.XXXXXX") and renamed over the
 * final name only when complete and flushed, so a reader never sees a partial file
 * and an interrupted run leaves the previous version intact. The XXXXXX are random
 * and the temporary is created with O_CREAT|O_EXCL, so nobody can plant a symbolic
 * link at a temporary's name and have varprop write through it.
 */
#ifndef VP_FSUTIL_H
#define VP_FSUTIL_H

#include <stdio.h>
#include "base/err.h"

typedef struct {
    FILE *fp;             /* write here between open and commit */
    char path[4096];      /* final path */
    char tmp[4096];       /* temporary path in the same folder */
    int no_sync;          /* skip fsync at commit: for intermediate files (run
                             fragments) that only need to survive the process,
                             not the machine; final results are synced */
} vp_afile;

/* Open `path` for atomic writing. On failure nothing is left behind. */
vp_status vp_afile_open(vp_afile *f, const char *path, vp_err *err);
/* The same with the temporary in folder `dir` (on the same file system as path). */
vp_status vp_afile_open_in(vp_afile *f, const char *path, const char *dir, vp_err *err);
/* Flush, check every write succeeded, close, rename into place. On failure the
 * temporary is removed and the old file (if any) is untouched. */
vp_status vp_afile_commit(vp_afile *f, vp_err *err);
/* Give up: close and remove the temporary. Safe on a never-opened (zeroed) vp_afile. */
void vp_afile_abort(vp_afile *f);

/* The part of a temporary's name between ".<base>" and its six random characters. */
#define VP_TMP_INFIX ".tmp."
/* Create an empty temporary for `path` (same folder, random name, O_EXCL) and put its
 * path in out, for files written by other programs (e.g. gnuplot's `set output`);
 * rename it with vp_rename_into_place. */
vp_status vp_tmp_create(const char *path, char *out, size_t len, vp_err *err);
/* 1 when the file name `name` (no folder) is a temporary made by vp_afile or
 * vp_tmp_create; then base gets the name of the file it stands for. */
int vp_tmp_base(const char *name, char *base, size_t len);
vp_status vp_rename_into_place(const char *tmp, const char *path, vp_err *err);

/* mkdir -p. Existing directories are fine. */
vp_status vp_mkdir_p(const char *path, vp_err *err);

/* Read the whole file `path` into a new NUL-terminated buffer (*out, caller frees;
 * *len = bytes read, the terminator not counted). A file of more than `max` bytes is
 * refused with VP_ERR_DATA ("<path>: larger than the N MiB limit") without reading
 * further; a missing or unreadable file is VP_ERR_IO with strerror. The buffer grows
 * with the data, so a short file never costs `max` bytes. On error *out is NULL. */
vp_status vp_read_file(const char *path, size_t max, char **out, size_t *len, vp_err *err);

/* out = a + "/" + b; error if it does not fit. */
vp_status vp_path_join(char *out, size_t len, const char *a, const char *b, vp_err *err);

/* A path as one word of a shell command that a message tells the user to run ("resume
 * with: varprop run C --resume -o DIR"): s itself when every byte is one the shell
 * takes literally (letters, digits, _ - . / , : = @ % +, and not empty), else s in single
 * quotes, each ' written as '\'' ("my runs/a" -> 'my runs/a'), in buf; a path starting
 * with '-' (a relative one that a command would read as an option) gets "./" in front.
 * When that does not fit in len bytes, s itself. */
const char *vp_shell_word(const char *s, char *buf, size_t len);

#endif
