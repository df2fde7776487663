/* cli: the subcommands of the varprop command line. Each takes the arguments
 * after the subcommand name (argv[0] is the subcommand itself) and returns the
 * process exit code (0 ok, 1 runtime failure, 2 usage/config error, 130
 * interrupted); main() owns the table and is the only place that exits.
 * Each vp_cmd_* is defined in src/cli/cmd_<name>.c; options are parsed by
 * cli_util.h (vp_cli_parse). */
#ifndef VP_CLI_H
#define VP_CLI_H

int vp_cmd_run(int argc, char **argv);
int vp_cmd_list(int argc, char **argv);
int vp_cmd_init(int argc, char **argv);
int vp_cmd_plot(int argc, char **argv);
int vp_cmd_theory(int argc, char **argv);
int vp_cmd_gain(int argc, char **argv);
int vp_cmd_advise(int argc, char **argv);
int vp_cmd_reproduce(int argc, char **argv);

#endif
