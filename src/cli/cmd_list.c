/* cmd_list: `varprop list [activations|initializers]` -- every registry row with
 * its formula, parameters and defaults, printed from the same tables that parse
 * configs (act.c, init.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/act.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "core/init.h"

static const char USAGE[] =
    "usage: varprop list [activations|initializers] [--markdown]\n"
    "\n"
    "Lists every activation and initializer varprop knows, with its formula, parameters\n"
    "(name=default [range]) and where its convention comes from. --markdown prints the\n"
    "tables of docs/registry.md.\n";

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

static void markdown(int acts, int inits)
{
    if (acts) {
        printf("## Activations (%d)\n\n| name | aliases | φ(x) | parameters | PyTorch gain | source |\n|---|---|---|---|---|---|\n", VP_ACT_COUNT);
        for (int k = 0; k < VP_ACT_COUNT; k++) {
            const vp_act_info *a = vp_act_get((vp_act_kind)k);
            vp_act d = vp_act_default((vp_act_kind)k);
            printf("| `%s` | %s | `", a->name, a->aliases);
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
            printf("| `%s` | %s | ", in->name, in->aliases);
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
        char def[64], choices[256];
        vp_param_format(&p[i], p[i].def, def, sizeof def);
        if (p[i].type == VP_P_ENUM) {
            vp_choices_list(p[i].choices, choices, sizeof choices);
            printf("      %s=%s  one of: %s  (%s)\n", p[i].name, def, choices, p[i].help);
        } else {
            printf("      %s=%s  [%g, %g]%s  (%s)\n", p[i].name, def, p[i].lo, p[i].hi,
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
        if (a->aliases[0]) printf("      aliases: %s\n", a->aliases);
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
        if (in->aliases[0]) printf("      aliases: %s\n", in->aliases);
        printf("      use: %s%s%s%s\n", in->weight_ok ? "weights" : "", in->weight_ok && in->bias_ok ? ", " : "",
               in->bias_ok ? "biases" : "", in->sets_bias ? " (sets the biases too; no \"bias\" key)" :
               in->data_dependent ? " (data-dependent: uses the input batch)" : "");
        print_params(in->params, in->nparams);
        printf("      source: %s\n", in->origin);
    }
}

int vp_cmd_list(int argc, char **argv)
{
    int acts_only = 0, inits_only = 0, md = 0;
    const vp_cli_opt opts[] = {
        { .name = "activations", .flag = &acts_only },
        { .name = "initializers", .flag = &inits_only },
        { .name = "--markdown", .flag = &md },
        { .name = NULL },
    };
    const vp_cli_cmd cmd = { .cmd = "list", .usage = USAGE, .opts = opts };
    int rc = vp_cli_parse(&cmd, argc, argv);
    if (rc >= 0) return rc;
    int acts = !inits_only, inits = !acts_only;
    if (md) {
        markdown(acts, inits);
        return 0;
    }
    if (acts) list_activations();
    if (acts && inits) printf("\n");
    if (inits) list_initializers();
    return 0;
}
