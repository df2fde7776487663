/* mpi_run: a sweep spread over the ranks of an MPI job (experiment layer, part of the
 * runner). Compiled with MPI when the Makefile finds Open MPI's mpicc (VP_HAVE_MPI);
 * without it the functions below say so and nothing else.
 *
 * `mpirun -np N varprop run CONFIG.json`: every rank runs one run at a time on an
 * engine thread, its products spread over the rank's own --threads (core/gemm.h); the
 * rank's main thread only talks. Rank 0 shares out the runs with dynamic balancing: a
 * rank that finishes a run sends its fragments (the bytes a single process would write
 * into .parts) and is given the next run at once -- the next of the parameter group it
 * holds when there is one (share.h), so ranks keep sharing weight draws. Rank 0 writes
 * every fragment itself, checks it as --resume does, and assembles, publishes, locks
 * and resumes exactly as one process: the files are the same bytes for any N.
 *
 * Signals: mpirun answers Ctrl-C, or a rank that dies, by sending SIGTERM to every rank
 * and SIGKILL one second later (odls_base_sigkill_timeout). So rank 0 stops handing out
 * runs on the first signal, asks every rank what it holds, and reports at once the
 * runs in progress, naming the ranks that did not answer (dead); the finished runs are
 * safe in .parts/ and `--resume` (with or without mpirun) redoes only the others.
 *
 * Lost ranks: under `mpirun --enable-recovery` a rank that dies ends nothing and sends
 * no signal. So every working rank's main thread sends a heartbeat each second, and a
 * rank rank 0 has not heard from for $VARPROP_MPI_SILENCE seconds (default 10; six times
 * that before its first message, while it may still load its data) is counted as lost: rank 0 reports it with the run it held, hands it nothing more, lets
 * the others finish every other run, publishes the CSVs of the finished runs and ends
 * the job non-zero (an interrupted run; MPI_Abort, since MPI_Finalize would wait for the
 * lost rank). `--resume` then does the lost runs.
 *
 * Messages (MPI_BYTE, tag VP_MPI_TAG): a rank sends [kind, run, status, draws] + payload
 * (READY: "host pid"; DONE: the fragments; FAIL: the message; HELD: the answer to
 * ABORT; BEAT: nothing); rank 0 answers [kind, run, group] (ASSIGN, NOMORE, ABORT).
 */
#ifndef VP_MPI_RUN_H
#define VP_MPI_RUN_H

#include <stddef.h>

#include "base/err.h"
#include "experiment/job.h"

typedef struct vp_mpi vp_mpi;

/* The size of the MPI job this process was started in, from the environment that
 * mpirun (OMPI_COMM_WORLD_SIZE) or a PMI launcher (PMI_SIZE) sets: 1 when none. */
int vp_mpi_env_size(void);
/* 1 when this varprop was built with MPI. */
int vp_mpi_built(void);

/* MPI_Init (threads: funneled) and the handle; VP_ERR_USAGE when varprop was built
 * without MPI or when MPI's size is not the launcher's. vp_mpi_end finalizes. */
vp_status vp_mpi_start(vp_mpi **m, vp_err *err);
int vp_mpi_rank(const vp_mpi *m);
int vp_mpi_size(const vp_mpi *m);
/* The ranks of the job on this rank's node, itself included (MPI_COMM_TYPE_SHARED: they
 * share its memory); 1 for NULL. */
int vp_mpi_node_ranks(const vp_mpi *m);

/* Rank 0's text (*text, *len; len < 0: rank 0 has none) reaches every rank: on the
 * others *text is a new buffer (caller frees), NUL-terminated. */
vp_status vp_mpi_share_text(vp_mpi *m, char **text, long *len, vp_err *err);

/* Rank 0, in place of the runner's worker threads: share out j's runs (j->todo,
 * j->groups) over the ranks and write what they send; failures go to j->status/err. */
void vp_mpi_serve(vp_job *j);
/* Any other rank: run what rank 0 assigns until it says there is no more. */
vp_status vp_mpi_work(vp_job *j, vp_err *err);

/* Every rank, at the end (NULL-safe): a rank that failed before it worked tells rank 0
 * (status s, err); rank 0 releases every rank still waiting; then MPI_Finalize -- or,
 * when a rank died, MPI_Abort (exit 130 for the job), since MPI_Finalize would wait for
 * it forever: call it after everything is written and said. */
void vp_mpi_end(vp_mpi *m, vp_status s, const vp_err *err);

#endif
