/* cmd_list: `varprop list [activations|initializers|optimizers|schedules]` -- every
 * registry row with its formula, parameters and defaults, printed from the same
 * tables that parse configs (act.c, init.c, optim.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/act.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "core/init.h"
#include "core/optim.h"

static const char USAGE[] =
    "usage: varprop list [activations|initializers|optimizers|schedules] [--markdown]\n"
    "\n"
    "Lists every activation and initializer varprop knows, and the optimizers and learning-\n"
    "rate schedules of \"train\", with its formula, parameters (name=default [range]) and\n"
    "where its convention comes from. --markdown prints the tables of docs/registry.md.\n";

/* Text for a Markdown table cell: '|' would end the cell. */
static void md_text(const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputc('\\', stdout);
        fputc(*s, stdout);
    }
}

/* Markdown: one table row per registry row (docs/registry.md is this output). */
static void md_params(const vp_param *p, int n)
{
    if (n == 0) fputs("—", stdout);
    for (int i = 0; i < n; i++) {
        char def[64], choices[256];
        vp_param_format(&p[i], p[i].def, def, sizeof def);
        printf("%s`%s=%s`", i ? "<br>" : "", p[i].name, def);
        if (p[i].type == VP_P_ENUM) {
            vp_choices_list(p[i].choices, choices, sizeof choices);
            printf(" (%s)", choices);
        } else if (p[i].type == VP_P_GAIN) {
            fputs(", `\"auto\"` or `\"critical\"`", stdout);
        }
    }
}

/* A registry row's aliases (space-separated) as a list a reader cannot take for a
 * word of the sentence: each one quoted ("none" is the constant schedule's alias),
 * "—" when there are none; q is the quote (" for text, ` for Markdown). */
static void print_aliases(const char *aliases, char q)
{
    if (!aliases[0]) {
        fputs("—", stdout);
        return;
    }
    for (const char *p = aliases; *p;) {
        size_t n = strcspn(p, " ");
        printf("%s%c%.*s%c", p == aliases ? "" : ", ", q, (int)n, p, q);
        p += n;
        while (*p == ' ') p++;
    }
}

/* One training row as a Markdown table row. */
static void md_train_row(const char *name, const char *aliases, const char *rule, const vp_param *params, int nparams,
                         const char *origin)
{
    printf("| `%s` | ", name);
    print_aliases(aliases, '`');
    fputs(" | `", stdout);
    md_text(rule);
    fputs("` | ", stdout);
    md_params(params, nparams);
    printf(" | %s |\n", origin);
}

/* The training rows (optimizers, schedules) as Markdown tables. */
static void markdown_train(int optims, int scheds)
{
    if (optims)
        printf("## Optimizers of \"train\" (%d)\n\n| name | aliases | update | parameters | source |\n|---|---|---|---|---|\n",
               VP_OPTIM_COUNT);
    for (int k = 0; optims && k < VP_OPTIM_COUNT; k++) {
        const vp_optim_info *o = vp_optim_get((vp_optim_kind)k);
        md_train_row(o->name, o->aliases, o->rule, o->params, o->nparams, o->origin);
    }
    if (optims && scheds) fputc('\n', stdout);
    if (scheds)
        printf("## Learning-rate schedules of \"train\" (%d)\n\n| name | aliases | lr(step) | parameters | source |\n"
               "|---|---|---|---|---|\n", VP_SCHED_COUNT);
    for (int k = 0; scheds && k < VP_SCHED_COUNT; k++) {
        const vp_sched_info *sc = vp_sched_get((vp_sched_kind)k);
        md_train_row(sc->name, sc->aliases, sc->formula, sc->params, sc->nparams, sc->origin);
    }
}

static void markdown(int acts, int inits)
{
    if (acts) {
        printf("## Activations (%d)\n\n| name | aliases | φ(x) | parameters | PyTorch gain | source |\n|---|---|---|---|---|---|\n", VP_ACT_COUNT);
        for (int k = 0; k < VP_ACT_COUNT; k++) {
            const vp_act_info *a = vp_act_get((vp_act_kind)k);
            vp_act d = vp_act_default((vp_act_kind)k);
            printf("| `%s` | ", a->name);
            print_aliases(a->aliases, '`');
            fputs(" | `", stdout);
            md_text(a->formula);
            fputs("` | ", stdout);
            md_params(a->params, a->nparams);
            if (!isnan(vp_act_torch_gain(&d))) printf(" | %.6g", vp_act_torch_gain(&d));
            else fputs(" | none", stdout);
            printf(" | %s |\n", a->origin);
        }
    }
    if (acts && inits) fputc('\n', stdout);
    if (inits) {
        printf("## Initializers (%d)\n\n| name | aliases | distribution | parameters | use | source |\n|---|---|---|---|---|---|\n", VP_INIT_COUNT);
        for (int k = 0; k < VP_INIT_COUNT; k++) {
            const vp_init_info *in = vp_init_get((vp_init_kind)k);
            printf("| `%s` | ", in->name);
            print_aliases(in->aliases, '`');
            fputs(" | ", stdout);
            md_text(in->formula);
            fputs(" | ", stdout);
            md_params(in->params, in->nparams);
            printf(" | %s%s%s | %s |\n", in->weight_ok ? "W" : "", in->bias_ok ? " b" : "",
                   in->sets_bias ? " (sets b)" : in->data_dependent ? " (data)" : "", in->origin);
        }
    }
}

static void print_params(const vp_param *p, int n)
{
    for (int i = 0; i < n; i++) {
        char def[64], choices[256], range[140];
        vp_param_format(&p[i], p[i].def, def, sizeof def);
        if (p[i].type == VP_P_ENUM) {
            vp_choices_list(p[i].choices, choices, sizeof choices);
            printf("      %s=%s  one of: %s  (%s)\n", p[i].name, def, choices, p[i].help);
        } else {
            vp_param_range(&p[i], 6, range, sizeof range); /* %g's digits */
            printf("      %s=%s  %s%s  (%s)\n", p[i].name, def, range,
                   p[i].type == VP_P_GAIN ? ", \"auto\" or \"critical\"" : p[i].type == VP_P_INT ? " integer" : "", p[i].help);
        }
    }
}

static void list_activations(void)
{
    printf("activations (%d):\n", VP_ACT_COUNT);
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        const vp_act_info *a = vp_act_get((vp_act_kind)k);
        vp_act d = vp_act_default((vp_act_kind)k);
        printf("  %-16s %s\n", a->name, a->formula);
        if (a->aliases[0]) {
            fputs("      aliases: ", stdout);
            print_aliases(a->aliases, '"');
            fputc('\n', stdout);
        }
        if (!isnan(vp_act_torch_gain(&d))) printf("      PyTorch calculate_gain: %.6g\n", vp_act_torch_gain(&d));
        else printf("      PyTorch calculate_gain: none (PyTorch raises)\n");
        print_params(a->params, a->nparams);
        printf("      source: %s\n", a->origin);
    }
}

static void list_initializers(void)
{
    printf("initializers (%d):\n", VP_INIT_COUNT);
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        const vp_init_info *in = vp_init_get((vp_init_kind)k);
        printf("  %-16s %s\n", in->name, in->formula);
        if (in->aliases[0]) {
            fputs("      aliases: ", stdout);
            print_aliases(in->aliases, '"');
            fputc('\n', stdout);
        }
        printf("      use: %s%s%s%s\n", in->weight_ok ? "weights" : "", in->weight_ok && in->bias_ok ? ", " : "",
               in->bias_ok ? "biases" : "", in->sets_bias ? " (sets the biases too; no \"bias\" key)" :
               in->data_dependent ? " (data-dependent: uses the input batch)" : "");
        print_params(in->params, in->nparams);
        printf("      source: %s\n", in->origin);
    }
}

/* One training row as text: name, rule, aliases, parameters, source. */
static void print_train_row(const char *name, const char *rule, const char *aliases, const vp_param *params,
                            int nparams, const char *origin)
{
    printf("  %-16s %s\n", name, rule);
    if (aliases[0]) {
        fputs("      aliases: ", stdout);
        print_aliases(aliases, '"');
        fputc('\n', stdout);
    }
    print_params(params, nparams);
    printf("      source: %s\n", origin);
}

/* Optimizers and schedules as text. */
static void list_train(int optims, int scheds)
{
    if (optims) printf("optimizers of \"train\" (%d):\n", VP_OPTIM_COUNT);
    for (int k = 0; optims && k < VP_OPTIM_COUNT; k++) {
        const vp_optim_info *o = vp_optim_get((vp_optim_kind)k);
        print_train_row(o->name, o->rule, o->aliases, o->params, o->nparams, o->origin);
    }
    if (optims && scheds) printf("\n");
    if (scheds) printf("learning-rate schedules of \"train\" (%d):\n", VP_SCHED_COUNT);
    for (int k = 0; scheds && k < VP_SCHED_COUNT; k++) {
        const vp_sched_info *sc = vp_sched_get((vp_sched_kind)k);
        print_train_row(sc->name, sc->formula, sc->aliases, sc->params, sc->nparams, sc->origin);
    }
}

int vp_cmd_list(int argc, char **argv)
{
    int a = 0, i = 0, o = 0, sc = 0, md = 0;
    const vp_cli_opt opts[] = {
        { .name = "activations", .flag = &a },
        { .name = "initializers", .flag = &i },
        { .name = "optimizers", .flag = &o },
        { .name = "schedules", .flag = &sc },
        { .name = "--markdown", .flag = &md },
        { .name = NULL },
    };
    const vp_cli_cmd cmd = { .cmd = "list", .usage = USAGE, .opts = opts, .word_kind = "table" };
    for (int k = 1; k < argc; k++) { /* `list relu`: a name of a table's row, not a table */
        int act = vp_act_find(argv[k]) != VP_ACT_COUNT, init = vp_init_find(argv[k]) != VP_INIT_COUNT;
        if (argv[k][0] && (act || init))
            return vp_cli_usage_error("list", "%s is %s, not a table: `varprop list %s` lists %s with its formula and "
                                      "parameters", argv[k], act ? "an activation" : "an initializer",
                                      act ? "activations" : "initializers", act ? "every activation" : "every initializer");
    }
    int rc = vp_cli_parse(&cmd, argc, argv);
    if (rc >= 0) return rc;
    if (!a && !i && !o && !sc) a = i = o = sc = 1; /* none named: every table */
    if (md) {
        markdown(a, i);
        if ((a || i) && (o || sc)) fputc('\n', stdout);
        markdown_train(o, sc);
        return 0;
    }
    if (a) list_activations();
    if (a && i) printf("\n");
    if (i) list_initializers();
    if ((a || i) && (o || sc)) printf("\n");
    list_train(o, sc);
    return 0;
}
