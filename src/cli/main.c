/* main: the varprop command line -- a table of subcommands (cli.h); the only
 * place that exits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "experiment/config.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static const command COMMANDS[] = {
    { "run", vp_cmd_run, "run an experiment config: per-layer activation and gradient variance as CSV" },
    { "list", vp_cmd_list, "list activations and initializers with formulas and parameters" },
    { "init", vp_cmd_init, "print the weights an initializer draws" },
    { "plot", vp_cmd_plot, "redraw the charts and report of a results folder" },
    { "theory", vp_cmd_theory, "mean-field theory: q*, chi1, depth scales, phase, critical line" },
    { "gain", vp_cmd_gain, "initialization gains: PyTorch, variance-preserving, critical" },
    { "merge", vp_cmd_merge, "join the shards of a sweep (run --shard K/N) into one results folder" },
    { "advise", vp_cmd_advise, "the initialization that keeps signal and gradient alive through L layers" },
    { "reproduce", vp_cmd_reproduce, "run the classic papers' experiments and judge each claim: PASS / FAIL / NOT RUN" },
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f)
{
    fprintf(f, "varprop %s: does the signal survive a deep network, or does it vanish or explode?\n\n"
               "usage: varprop COMMAND [options]   (varprop COMMAND --help for each)\n\ncommands:\n", VP_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "\nexit codes: 0 success, 1 runtime failure, 2 usage or config error, 130 interrupted\n");
}

/* A standard descriptor closed at start would be the number of the first file varprop
 * opens, and a message for stderr (a signal's) or stdout would be written into a
 * results file: open /dev/null onto each closed one (open takes the lowest free
 * number). 0, or -1 when /dev/null cannot be opened. */
static int guard_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int n = open("/dev/null", O_RDWR);
        if (n < 0) return -1;
        if (n != fd) { dup2(n, fd); close(n); }
    }
    return 0;
}

/* A command's exit code, made 1 (from 0) when its output to stdout could not be written
 * -- a full disk, a closed pipe (SIGPIPE is ignored by `run` and `plot`, so that
 * `varprop run ... | head` still completes its results) -- which is said on stderr. */
static int stdout_checked(int rc)
{
    int earlier = ferror(stdout);
    if (fflush(stdout) != 0)
        fprintf(stderr, "varprop: cannot write to standard output: %s\n", strerror(errno));
    else if (earlier)
        fprintf(stderr, "varprop: cannot write to standard output: a write failed\n");
    else
        return rc;
    return rc ? rc : 1;
}

int main(int argc, char **argv)
{
    if (guard_std_fds() != 0) return 1;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return stdout_checked(0);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("varprop %s\n", VP_VERSION);
        return stdout_checked(0);
    }
    char names[256] = "";
    size_t u = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return stdout_checked(COMMANDS[i].fn(argc - 1, argv + 1));
        u += (size_t)snprintf(names + u, sizeof names - u, "%s%s", i ? " " : "", COMMANDS[i].name);
    }
    return vp_cli_unknown_option(argv[1], names, "");
}
