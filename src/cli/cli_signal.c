/* cli_signal: see cli_signal.h. */
#include "cli/cli_signal.h"

#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t phase;
static volatile sig_atomic_t silent; /* a rank other than 0 of an MPI job: rank 0 speaks */

static void on_signal(int sig)
{
    (void)sig;
    if (stop_requested) {
        if (phase == VP_SIG_RUNS) _exit(130); /* second signal: stop at once (fragments are atomic) */
        return;
    }
    stop_requested = 1;
    if (silent) return;
    static const char runs[] = "\nvarprop: stopping after the runs in progress (signal again to stop at once)\n",
                      charts[] = "\nvarprop: stopping\n";
    ssize_t w = phase == VP_SIG_RUNS ? write(2, runs, sizeof runs - 1) : write(2, charts, sizeof charts - 1);
    (void)w;
}

volatile sig_atomic_t *vp_cli_signals(vp_sig_phase p)
{
    phase = p;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return &stop_requested;
}

void vp_cli_signal_phase(vp_sig_phase p) { phase = p; }

void vp_cli_signal_silent(void) { silent = 1; }
