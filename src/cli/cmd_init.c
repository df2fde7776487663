/* cmd_init: `varprop init NAME --fan-in N --fan-out M [--param KEY=VALUE ...]
 * [--seed S] [--count K] [--activation ACT] [--precision float32|float64]` --
 * print the weights an initializer draws for a [fan_out, fan_in] weight, one per
 * line in row-major order, and their mean and variance on stderr. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "core/init.h"
#include "core/rng.h"
#include "theory/theory.h"

static const char USAGE[] =
    "usage: varprop init NAME --fan-in N --fan-out M [--param KEY=VALUE ...] [--seed S]\n"
    "                    [--count K] [--activation ACT] [--precision float32|float64]\n"
    "\n"
    "Prints K weights (default: all fan_out x fan_in, row-major, PyTorch layout [fan_out, fan_in])\n"
    "drawn by initializer NAME with seed S (default 0) for layer 1, exactly as `varprop run`\n"
    "draws them; their mean and variance go to stderr. --param gain=auto (or =critical) uses\n"
    "the gain of --activation (default relu). Values are rounded to --precision (default float32).\n";

int vp_cmd_init(int argc, char **argv)
{
    const char *name = NULL, *actname = "relu", *prec = "float32";
    long fan_in = -1, fan_out = -1, seed = 0, cnt = -1;
    const char *params[16];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { fputs(USAGE, stdout); return 0; }
        else if (strcmp(a, "--fan-in") == 0) { if (vp_cli_long(argc, argv, &i, 1, 1L << 20, &fan_in, "init")) return 2; }
        else if (strcmp(a, "--fan-out") == 0) { if (vp_cli_long(argc, argv, &i, 1, 1L << 20, &fan_out, "init")) return 2; }
        else if (strcmp(a, "--seed") == 0) { if (vp_cli_long(argc, argv, &i, 0, 1L << 53, &seed, "init")) return 2; }
        else if (strcmp(a, "--count") == 0) { if (vp_cli_long(argc, argv, &i, 0, 1L << 40, &cnt, "init")) return 2; }
        else if (strcmp(a, "--activation") == 0) { if (!(actname = vp_cli_value(argc, argv, &i, "init"))) return 2; }
        else if (strcmp(a, "--precision") == 0) { if (!(prec = vp_cli_value(argc, argv, &i, "init"))) return 2; }
        else if (strcmp(a, "--param") == 0) {
            const char *v = vp_cli_value(argc, argv, &i, "init");
            if (!v) return 2;
            if (np == 16) return vp_cli_usage_error("init", "at most 16 --param options");
            params[np++] = v;
        } else if (a[0] == '-' && a[1]) {
            return vp_cli_unknown_option(a, "--fan-in --fan-out --param --seed --count --activation --precision --help", "init");
        } else if (!name) name = a;
        else return vp_cli_usage_error("init", "one initializer NAME only (got \"%s\" too)", a);
    }
    if (!name) return vp_cli_usage_error("init", "missing initializer NAME (see varprop list initializers)");
    if (fan_in < 0 || fan_out < 0) return vp_cli_usage_error("init", "--fan-in and --fan-out are required");
    int f64 = strcmp(prec, "float64") == 0;
    if (!f64 && strcmp(prec, "float32") != 0)
        return vp_cli_usage_error("init", "--precision: \"%s\" is not one of float32, float64", prec);

    char names[2048], list[2400], dym[160];
    vp_init_kind k = vp_init_find(name);
    vp_init_names(0, names, sizeof names);
    if (k == VP_INIT_COUNT || !vp_init_get(k)->weight_ok) {
        vp_choices_list(names, list, sizeof list);
        vp_did_you_mean(name, names, dym, sizeof dym);
        return vp_cli_usage_error("init", "\"%s\" is not a known weight initializer%s; known: %s", name, dym, list);
    }
    const vp_init_info *info = vp_init_get(k);
    if (info->data_dependent)
        return vp_cli_usage_error("init", "%s depends on the network and its input batch; it starts from "
                                  "`orthogonal` and rescales in `varprop run`", info->name);
    vp_init in = vp_init_default(k);
    for (int p = 0; p < np; p++) {
        char key[64];
        const char *eq = strchr(params[p], '=');
        if (!eq || eq == params[p] || (size_t)(eq - params[p]) >= sizeof key)
            return vp_cli_usage_error("init", "--param \"%s\": expected KEY=VALUE", params[p]);
        snprintf(key, sizeof key, "%.*s", (int)(eq - params[p]), params[p]);
        int idx = vp_init_param_index(info, key);
        if (idx < 0) {
            char pn[256] = "";
            size_t u = 0;
            for (int q = 0; q < info->nparams; q++) u += (size_t)snprintf(pn + u, sizeof pn - u, "%s%s", q ? " " : "", info->params[q].name);
            vp_did_you_mean(key, pn, dym, sizeof dym);
            return vp_cli_usage_error("init", "%s has no parameter \"%s\"%s; its parameters: %s", info->name, key, dym,
                                      info->nparams ? pn : "none");
        }
        int is_auto;
        vp_err err;
        char where[96];
        snprintf(where, sizeof where, "--param %s", key);
        if (vp_param_parse_text(&info->params[idx], eq + 1, &in.p[idx], &is_auto, where, &err))
            return vp_cli_usage_error("init", "%s", err.msg);
        if (is_auto == 1) in.auto_mask |= 1u << idx;
        if (is_auto == 2) in.critical_mask |= 1u << idx;
    }
    if (in.auto_mask | in.critical_mask) {
        vp_act_kind ak = vp_act_find(actname);
        if (ak == VP_ACT_COUNT) return vp_cli_usage_error("init", "--activation: \"%s\" is not a known activation", actname);
        vp_act act = vp_act_default(ak);
        vp_err gerr;
        double g = 1.0;
        if (in.auto_mask) {
            if (vp_theory_auto_gain(&act, &g, &gerr)) return vp_cli_usage_error("init", "\"auto\" gain: %s", gerr.msg);
            vp_init_resolve_auto(&in, g);
        }
        if (in.critical_mask) {
            if (vp_theory_critical_gain(&act, &g, &gerr))
                return vp_cli_usage_error("init", "\"critical\": %s", gerr.msg);
            vp_init_resolve_critical(&in, g);
        }
    }
    size_t n = (size_t)fan_in * (size_t)fan_out;
    size_t K = cnt < 0 ? n : (size_t)cnt;
    if (K > n) return vp_cli_usage_error("init", "--count %zu is more than the %zu weights", K, n);
    double *W = malloc(n * sizeof *W);
    if (!W) { fprintf(stderr, "varprop init: out of memory\n"); return 1; }
    vp_rng rng = vp_rng_make((uint64_t)seed, 1, VP_RNG_WEIGHT);
    in.single = !f64; /* as a float32 network draws it (orthogonal: QR in float32) */
    vp_err err;
    vp_status s = vp_init_weight(&in, (size_t)fan_out, (size_t)fan_in, &rng, W, &err);
    if (s) { fprintf(stderr, "varprop init: %s\n", err.msg); free(W); return vp_exit_code(s); }
    double sum = 0, sq = 0;
    for (size_t i = 0; i < K; i++) {
        double w = f64 ? W[i] : (double)(float)W[i];
        printf("%.9g\n", w);
        sum += w;
    }
    double mean = K ? sum / (double)K : NAN;
    for (size_t i = 0; i < K; i++) {
        double w = f64 ? W[i] : (double)(float)W[i];
        sq += (w - mean) * (w - mean);
    }
    char label[256];
    vp_init_label(&in, label, sizeof label);
    double emean, evar;
    fprintf(stderr, "%s [%ld x %ld], seed %ld: %zu values, mean %.6g, variance %.6g", label, fan_out, fan_in,
            seed, K, mean, K ? sq / (double)K : NAN);
    if (vp_init_moments(&in, (size_t)fan_out, (size_t)fan_in, 0, &emean, &evar))
        fprintf(stderr, " (expected mean %.6g, variance %.6g)", emean, evar);
    fputc('\n', stderr);
    free(W);
    return 0;
}
