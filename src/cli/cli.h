/* cli: the subcommands of the varprop command line. Each takes the arguments
 * after the subcommand name (argv[0] is the subcommand itself) and returns the
 * process exit code (0 ok, 1 runtime failure, 2 usage/config error, 130
 * interrupted); main() owns the table and is the only place that exits.
 * Each vp_cmd_* is defined in src/cli/cmd_<name>.c; options are parsed by
 * cli_util.h (vp_cli_parse). */
#ifndef VP_CLI_H
#define VP_CLI_H

#include <signal.h>
#include "base/err.h"
#include "base/lock.h"

int vp_cmd_run(int argc, char **argv);
int vp_cmd_list(int argc, char **argv);
int vp_cmd_init(int argc, char **argv);
int vp_cmd_plot(int argc, char **argv);
int vp_cmd_theory(int argc, char **argv);
int vp_cmd_gain(int argc, char **argv);
int vp_cmd_advise(int argc, char **argv);
int vp_cmd_merge(int argc, char **argv);

/* The charts and report of results folder `results` into `plots` (NULL: the default
 * plots/<name>/), as `run` and `merge` draw them after their results (cmd_run.c):
 * gnuplot missing is a warning, failing an error; results_lock may hold the folder. */
/* Before the work (runs, a merge): the charts folder (plots, or plots/<name>) must be
 * one the charts may claim afterwards, so a folder varprop would refuse is refused
 * before anything is written (exit 2), not after a whole sweep. Nothing is created or
 * locked here (vp_folder_check). */
vp_status vp_cli_check_plots(const char *plots, const char *name, vp_err *err);
vp_status vp_cli_draw_charts(const char *results, const char *plots, int quiet, const vp_folder_lock *results_lock,
                             volatile sig_atomic_t *stop, vp_err *err);
int vp_cmd_reproduce(int argc, char **argv);

#endif
