/* main: the varprop command line -- a table of subcommands (cli.h); the only
 * place that exits. */
#include <stdio.h>
#include <string.h>

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
    { "advise", vp_cmd_advise, "the initialization that keeps signal and gradient alive through L layers" },
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f)
{
    fprintf(f, "varprop %s: does the signal survive a deep network, or does it vanish or explode?\n\n"
               "usage: varprop COMMAND [options]   (varprop COMMAND --help for each)\n\ncommands:\n", VP_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "\nexit codes: 0 success, 1 runtime failure, 2 usage or config error, 130 interrupted\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("varprop %s\n", VP_VERSION);
        return 0;
    }
    char names[256] = "";
    size_t u = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].fn(argc - 1, argv + 1);
        u += (size_t)snprintf(names + u, sizeof names - u, "%s%s", i ? " " : "", COMMANDS[i].name);
    }
    return vp_cli_unknown_option(argv[1], names, "");
}
