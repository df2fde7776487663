/* cli_signal: how `run` and `plot` answer signals (CLI layer). The stop flag (with the
 * phase and whether to speak, which the handler reads) is the CLI's only mutable state:
 * a signal handler can do nothing else, and the library takes a pointer to the flag
 * (vp_runner_opts.stop, vp_charts_draw_stop) and holds none.
 *
 * SIGINT, SIGTERM and SIGHUP (a dropped ssh session) all ask to stop: the first sets
 * the flag and says so on stderr. What a second one does depends on the phase:
 *  - measuring (VP_SIG_RUNS): stop at once, _exit(130) -- fragments are atomic and
 *    nothing is written outside .parts/ until the runs are over;
 *  - anything else (VP_SIG_CHARTS): nothing more -- the chart code already stops on
 *    the first signal, kills gnuplot and removes its temporaries, which an _exit
 *    would leave behind.
 * Under mpirun every rank gets the signal (mpirun passes Ctrl-C on to each as SIGTERM)
 * and stops the same way, but only rank 0 says so: the others call vp_cli_signal_silent,
 * or the job's stderr would carry the line once per rank.
 * SIGPIPE is ignored: a closed stdout (`varprop run ... | head`) is a write error that
 * main reports at the end, never a silent death before the results are complete.
 */
#ifndef VP_CLI_SIGNAL_H
#define VP_CLI_SIGNAL_H

#include <signal.h>

typedef enum { VP_SIG_RUNS, VP_SIG_CHARTS } vp_sig_phase;

/* Install the handlers for `phase`; returns the stop flag. */
volatile sig_atomic_t *vp_cli_signals(vp_sig_phase phase);

/* Enter another phase (the handlers stay). */
void vp_cli_signal_phase(vp_sig_phase phase);

/* Stop as asked but write nothing (the handlers stay): for the ranks of an MPI job but
 * rank 0, which speaks for the job. */
void vp_cli_signal_silent(void);

#endif
