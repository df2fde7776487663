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
#include "base/sysmem.h"
#include "experiment/spec.h"

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
    const vp_cli_opt opts[] = {
        { .name = "--fan-in", .num_l = &fan_in, .lo = 1, .hi = 1L << 20 },
        { .name = "--fan-out", .num_l = &fan_out, .lo = 1, .hi = 1L << 20 },
        { .name = "--param", .list = params, .max = 16, .n = &np },
        { .name = "--seed", .num_l = &seed, .lo = 0, .hi = 1L << 53 },
        { .name = "--count", .num_l = &cnt, .lo = 1, .hi = 1L << 40 }, /* 0 values have no mean or variance */
        { .name = "--activation", .str = &actname },
        { .name = "--precision", .str = &prec },
        { .name = NULL },
    };
    const vp_cli_cmd cmd = { .cmd = "init", .usage = USAGE, .opts = opts, .arg = &name,
                             .one_arg = "one initializer NAME only" };
    int rc = vp_cli_parse(&cmd, argc, argv);
    if (rc >= 0) return rc;
    if (!name) return vp_cli_usage_error("init", "missing initializer NAME (see varprop list initializers)");
    if (fan_in < 0 || fan_out < 0) return vp_cli_usage_error("init", "--fan-in and --fan-out are required");
    int f64 = strcmp(prec, "float64") == 0;
    if (!f64 && strcmp(prec, "float32") != 0)
        return vp_cli_usage_error("init", "--precision: \"%s\" is not one of float32, float64", prec);

    vp_err err;
    vp_init in;
    if (vp_spec_init(name, 0, &in, &err)) return vp_cli_usage_error("init", "%s", err.msg);
    const vp_init_info *info = vp_init_get(in.kind);
    if (info->data_dependent)
        return vp_cli_usage_error("init", "%s depends on the network and its input batch; it starts from "
                                  "`orthogonal` and rescales in `varprop run`", info->name);
    if (vp_cli_init_params("init", &in, params, np)) return 2;
    vp_act act; /* checked even when no gain needs it: a name varprop does not know is an error */
    if (vp_spec_act(actname, &act, &err)) return vp_cli_usage_error("init", "--activation: %s", err.msg);
    if ((in.auto_mask | in.critical_mask) && vp_spec_resolve_gains(&in, &act, &err))
        return vp_cli_usage_error("init", "%s", err.msg);
    size_t n = (size_t)fan_in * (size_t)fan_out;
    size_t K = cnt < 0 ? n : (size_t)cnt;
    if (K > n) return vp_cli_usage_error("init", "--count %zu is more than the %zu weights", K, n);
    vp_rng rng = vp_rng_make((uint64_t)seed, 1, VP_RNG_WEIGHT);
    in.single = !f64; /* as a float32 network draws it (orthogonal: QR in float32) */
    /* Draw only the K values printed where entries are independent of one another
     * (the same bits as the whole draw's first K); sparse and orthogonal need the
     * whole matrix. */
    double *W = malloc((K ? K : 1) * sizeof *W);
    int done = 0;
    vp_status s = W ? vp_init_weight_range(&in, (size_t)fan_out, (size_t)fan_in, 0, K, &rng, W, &done, &err) : VP_ERR_NOMEM;
    if (!s && !done) { /* the whole matrix (and, for orthogonal, a QR of it) */
        free(W);
        W = NULL;
        vp_mem_limit lim;
        vp_mem_available("", &lim);
        double need = 3.0 * (double)n * sizeof *W; /* the weight, the QR's copy and work */
        if (lim.bytes >= 0 && need > lim.bytes) {
            fprintf(stderr, "varprop init: %s draws the whole %ld x %ld matrix: about %.0f MiB, more than the "
                            "%.0f MiB left under %s; use a smaller --fan-in/--fan-out\n",
                    info->name, fan_out, fan_in, need / 1048576.0, lim.bytes / 1048576.0, lim.what);
            return 2;
        }
        W = malloc(n * sizeof *W);
        s = W ? vp_init_weight(&in, (size_t)fan_out, (size_t)fan_in, &rng, W, &err) : VP_ERR_NOMEM;
    }
    if (s == VP_ERR_NOMEM && !W) snprintf(err.msg, sizeof err.msg, "out of memory for %zu weights", done ? K : n);
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
    fprintf(stderr, "%s [%ld x %ld], seed %ld: %zu value%s, mean %.6g, variance %.6g", label, fan_out, fan_in,
            seed, K, K == 1 ? "" : "s", mean, K ? sq / (double)K : NAN);
    if (vp_init_moments(&in, (size_t)fan_out, (size_t)fan_in, 0, &emean, &evar))
        fprintf(stderr, " (expected mean %.6g, variance %.6g)", emean, evar);
    fputc('\n', stderr);
    free(W);
    return 0;
}
