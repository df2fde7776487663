/* lock: a folder that belongs to varprop, and to one varprop process at a time
 * (base layer).
 *
 * A folder varprop writes (a results folder, a plots folder) carries a marker file
 * whose name the caller gives (VP_FILE_MARKER, results/results.h). Claiming a folder:
 *  - a missing folder is created (when asked: vp_claim.create) and marked;
 *  - an empty folder is marked;
 *  - a folder holding the marker (a regular file, not a symbolic link) is varprop's;
 *  - a folder the caller's `adopt` recognises as made by an earlier varprop (before
 *    the marker existed) is marked;
 *  - any other folder is refused (VP_ERR_USAGE, "not a varprop folder"): varprop
 *    never writes into a folder it did not make, such as `-o .`.
 * The marker is then locked with a POSIX record lock (fcntl F_SETLK): exclusive for a
 * writer, shared for a reader. A folder locked by another process is refused at once
 * (VP_ERR_USAGE, "folder in use by process N"). The kernel drops the lock when the
 * process ends, however it ends (kill -9 included), so no stale lock outlives it.
 *
 * A POSIX lock belongs to the process, not to the descriptor: closing any other
 * descriptor of the same marker would drop it. So a process claims a folder once;
 * vp_folder_same tells whether a second folder is the one already held.
 */
#ifndef VP_LOCK_H
#define VP_LOCK_H

#include <sys/types.h>
#include "base/err.h"

typedef struct {
    int fd;     /* the locked marker; -1: nothing locked */
    dev_t dev;  /* the folder (valid once claimed, locked or not) */
    ino_t ino;
    int held;   /* 1 once claimed */
} vp_folder_lock;

#define VP_FOLDER_LOCK_INIT { -1, 0, 0, 0 }

typedef struct {
    const char *marker; /* file name of the marker (no '/') */
    const char *stamp;  /* text written into a marker varprop creates */
    int create;         /* create a missing folder (mkdir -p) */
    int shared;         /* reader: a shared lock; a folder without the marker is then
                           read as it is, unlocked, and nothing is written into it */
    int (*adopt)(const char *dir); /* may be NULL: 1 when an unmarked, non-empty folder
                           holds only what an earlier varprop wrote there */
} vp_claim;

/* Claim folder `dir` as described above. On failure nothing was created (but for a
 * missing folder's parents when the marker cannot be made) and *lk is unchanged. */
vp_status vp_folder_claim(const char *dir, const vp_claim *c, vp_folder_lock *lk, vp_err *err);

/* Would vp_folder_claim(dir, c) succeed now? The same refusals (not a folder, not
 * varprop's, a marker that is not a regular file, in use by another process), but
 * nothing is created, marked or locked: for a command that will claim the folder only
 * after long work (`varprop run`'s charts folder, claimed after the runs). A missing
 * folder passes when c->create is set. Not for a folder this process holds: closing
 * the marker it opened would drop the process's lock (see above). */
vp_status vp_folder_check(const char *dir, const vp_claim *c, vp_err *err);

/* Release the lock (NULL-safe; a never-claimed lock is fine). */
void vp_folder_release(vp_folder_lock *lk);

/* 1 when every entry of folder `dir` (. and .. aside) is a name `ours` accepts, or a
 * temporary (fsutil.h) of such a name; 0 otherwise or when dir cannot be read. For
 * vp_claim.adopt functions. */
int vp_folder_all(const char *dir, int (*ours)(const char *name));

/* 1 when `dir` is the folder lk claimed. */
int vp_folder_same(const vp_folder_lock *lk, const char *dir);

#endif
