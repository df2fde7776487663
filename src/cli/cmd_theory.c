/* cmd_theory: the `varprop theory` and `varprop gain` subcommands (cli.h).
 *
 *   varprop theory ACT [--param KEY=VALUE ...] [--sigma-w2 X] [--sigma-b2 Y] [--q0 Q] [--json]
 *   varprop theory ACT [--param KEY=VALUE ...] --critical [--sigma-b2 Y] [--json]
 *   varprop gain [ACT [--param KEY=VALUE ...] | --all] [--json]
 *
 * Thin front ends over the theory module: parse, call, print. Exit codes:
 * 0 ok, 1 numerical failure (e.g. a diverging length map of a non-homogeneous phi; a
 * homogeneous one, relu at sigma_w2 > 2, is reported with q* = inf), 2 usage error. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "cli/cli_util.h"
#include "experiment/spec.h"
#include "theory/theory.h"

static const char THEORY_USAGE[] =
    "Usage: varprop theory ACT [--param KEY=VALUE ...] [--sigma-w2 X] [--sigma-b2 Y] [--q0 Q] [--json]\n"
    "       varprop theory ACT [--param KEY=VALUE ...] --critical [--sigma-b2 Y] [--json]\n"
    "\n"
    "Mean-field theory of a deep MLP with activation ACT at initialization\n"
    "(Poole et al. 2016, Schoenholz et al. 2017; see docs/theory.md).\n"
    "sigma_w2 = fan_in * Var[W], sigma_b2 = Var[b].\n"
    "\n"
    "Prints the fixed point q* of the length map reached from q0, chi1 =\n"
    "sigma_w2 E[phi'(sqrt(q*) z)^2], the depth scales xi_q and xi_c, the fixed\n"
    "correlation c* and the phase (ordered chi1 < 1, critical |chi1 - 1| <= 1e-8,\n"
    "chaotic chi1 > 1).\n"
    "\n"
    "Options:\n"
    "  --param KEY=VALUE  activation parameter (repeatable), e.g. negative_slope=0.2\n"
    "  --sigma-w2 X       weight variance times fan-in (default 1)\n"
    "  --sigma-b2 Y       bias variance (default 0)\n"
    "  --q0 Q             E[z^2] the length map starts from (default 1)\n"
    "  --critical         print the point of the critical line chi1 = 1 at sigma_b2\n"
    "  --json             one JSON object instead of text (non-finite values are null)\n"
    "  -h, --help         this help\n";

static const char GAIN_USAGE[] =
    "Usage: varprop gain [ACT [--param KEY=VALUE ...] | --all] [--json]\n"
    "\n"
    "Initialization gains of an activation (all activations without ACT or with --all):\n"
    "  pytorch         torch.nn.init.calculate_gain, or none where PyTorch raises\n"
    "  var_preserving  1/sqrt(E[phi(z)^2]), z ~ N(0,1): keeps E[h^2] with zero bias\n"
    "  critical        sqrt(sigma_w2) with chi1 = 1 at sigma_b2 = 0 (edge of chaos), and its q*\n"
    "  auto            what a config's \"gain\": \"auto\" uses: pytorch if it exists, else var_preserving\n"
    "\n"
    "Options:\n"
    "  --param KEY=VALUE  activation parameter (repeatable)\n"
    "  --all              table of every activation at default parameters\n"
    "  --json             JSON (an object, or an array with --all)\n"
    "  -h, --help         this help\n";

/* The activation NAME with its --param values (spec.h: the rules of a config).
 * 0, or 2 after a message. */
static int activation(const char *cmd, const char *name, const char *const *params, int nparams, vp_act *act)
{
    vp_err err;
    if (vp_spec_act(name, act, &err)) return vp_cli_usage_error(cmd, "%s", err.msg);
    return vp_cli_act_params(cmd, act, params, nparams);
}

static void json_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* Print a JSON item on one line and free it; 1 on allocation failure. */
static int json_emit(cJSON *item)
{
    char *s = item ? cJSON_PrintUnformatted(item) : NULL;
    cJSON_Delete(item);
    if (!s) {
        fprintf(stderr, "varprop: out of memory while printing JSON\n");
        return 1;
    }
    printf("%s\n", s);
    cJSON_free(s);
    return 0;
}

/* A failure of the theory library: a request it cannot answer (VP_ERR_USAGE, e.g. a
 * row-wise activation) is the user's error, exit 2; a numerical failure exits 1. */
static int runtime_error(const char *cmd, vp_status st, const vp_err *err)
{
    fprintf(stderr, "varprop %s: %s: %s\n", cmd, vp_status_str(st), err->msg);
    return vp_exit_code(st);
}

/* ---- theory ---- */

static int print_critical(const vp_act *act, const char *label, double sb, int json, const vp_theory_ctx *ctx)
{
    double sw = NAN, qs = NAN;
    vp_err err;
    vp_status st = vp_theory_critical(ctx, act, sb, &sw, &qs, &err);
    if (st != VP_OK) return runtime_error("theory", st, &err);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "activation", label);
            json_num(o, "sigma_b2", sb);
            json_num(o, "sigma_w2", sw);
            json_num(o, "q_star", qs);
            json_num(o, "chi1", 1.0);
        }
        return json_emit(o);
    }
    printf("%s: critical line chi1 = 1 at sigma_b2 = %.10g\n", label, sb);
    printf("  sigma_w2  %.10g   (gain sqrt(sigma_w2) = %.10g)\n", sw, sqrt(sw));
    if (isnan(qs))
        printf("  q*        any     (the length map is the identity: q^l = q^0)\n");
    else if (isinf(qs))
        printf("  q*        inf     (the length map diverges: chi1 = 1 needs sigma_b2 = 0 here)\n");
    else if (qs == 0.0)
        printf("  q*        0       (the q* -> 0 limit: signals shrink to 0 algebraically)\n");
    else
        printf("  q*        %.10g\n", qs);
    return 0;
}

int vp_cmd_theory(int argc, char **argv)
{
    const char *cmd = "theory";
    const char *name = NULL;
    const char *params[16];
    int nparams = 0, json = 0, critical = 0, have_sw = 0;
    double sw = 1.0, sb = 0.0, q0 = 1.0;
    const vp_cli_opt opts[] = {
        { .name = "--param", .list = params, .max = 16, .n = &nparams },
        { .name = "--sigma-w2", .num_d = &sw, .min = 0, .given = &have_sw },
        { .name = "--sigma-b2", .num_d = &sb, .min = 0 },
        { .name = "--q0", .num_d = &q0, .min = 0 },
        { .name = "--critical", .flag = &critical },
        { .name = "--json", .flag = &json },
        { .name = NULL },
    };
    const vp_cli_cmd c = { .cmd = cmd, .usage = THEORY_USAGE, .opts = opts, .arg = &name,
                           .one_arg = "one activation only" };
    int rc = vp_cli_parse(&c, argc, argv);
    if (rc >= 0) return rc;
    if (!name) return vp_cli_usage_error(cmd, "missing the activation name");
    if (critical && have_sw) return vp_cli_usage_error(cmd, "--critical computes sigma_w2; do not pass --sigma-w2");
    vp_act act;
    if ((rc = activation(cmd, name, params, nparams, &act))) return rc;

    char label[160];
    vp_act_label(&act, label, sizeof label);
    vp_theory_ctx ctx;
    vp_err err;
    vp_status st = vp_theory_ctx_init(&ctx, &err);
    if (st != VP_OK) return runtime_error(cmd, st, &err);
    if (critical) return print_critical(&act, label, sb, json, &ctx);

    vp_theory_point pt;
    st = vp_theory_analyze(&ctx, &act, sw, sb, q0, &pt, &err);
    if (st != VP_OK) return runtime_error(cmd, st, &err);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "activation", label);
            json_num(o, "sigma_w2", sw);
            json_num(o, "sigma_b2", sb);
            json_num(o, "q0", q0);
            json_num(o, "q_star", pt.q_star);
            json_num(o, "chi1", pt.chi1);
            json_num(o, "xi_q", pt.xi_q);
            json_num(o, "xi_c", pt.xi_c);
            json_num(o, "c_star", pt.c_star);
            cJSON_AddStringToObject(o, "phase", vp_theory_phase_name(pt.phase));
        }
        return json_emit(o);
    }
    printf("%s at sigma_w2 = %.10g, sigma_b2 = %.10g (length map started at q0 = %.10g)\n", label, sw, sb, q0);
    if (isinf(pt.q_star)) {
        /* A homogeneous phi whose length map diverges (vp_theory_analyze). */
        printf("  q*     %-14s the length map diverges: q^l grows without bound (slope %.6g%s)\n", "inf", pt.qslope,
               pt.qslope > 1.0 ? ", geometric" : " with sigma_b2 > 0, linear");
        printf("  chi1   %-14.10g sigma_w2 E[phi'(sqrt(q) z)^2], the same at every q (phi is homogeneous)\n", pt.chi1);
        printf("  xi_q   %-14.10g q^l does not converge\n", pt.xi_q);
        printf("  xi_c   %-14s no fixed point of the correlation map at finite q\n", "none");
        printf("  c*     none\n");
    } else {
        printf("  q*     %-14.10g fixed point of q -> sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2\n", pt.q_star);
        printf("  chi1   %-14.10g sigma_w2 E[phi'(sqrt(q*) z)^2]\n", pt.chi1);
        printf("  xi_q   %-14.10g depth scale of q^l -> q* (map slope %.6g)\n", pt.xi_q, pt.qslope);
        printf("  xi_c   %-14.10g depth scale of c^l -> c*\n", pt.xi_c);
        printf("  c*     %-14.10g fixed point of the correlation map\n", pt.c_star);
    }
    printf("  phase  %s (chi1 - 1 = %+.3e; critical when |chi1 - 1| <= %g)\n", vp_theory_phase_name(pt.phase),
           pt.chi1 - 1.0, VP_THEORY_CRIT_TOL);
    return 0;
}

/* ---- gain ---- */

static cJSON *gain_json(const char *label, const vp_theory_gains *g, double autog)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "activation", label);
    json_num(o, "pytorch", g->torch);
    json_num(o, "var_preserving", g->var_preserving);
    json_num(o, "critical", g->critical);
    json_num(o, "critical_q_star", g->critical_q_star);
    json_num(o, "auto", autog);
    return o;
}

/* Gains of act; auto = pytorch if it exists else var_preserving (as vp_theory_auto_gain). */
static vp_status gains_for(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_gains *g, double *autog,
                           vp_err *err)
{
    vp_status st = vp_theory_gains_of(ctx, act, g, err);
    *autog = isnan(g->torch) ? g->var_preserving : g->torch;
    return st;
}

static void fmt_gain(char *buf, size_t len, double v, const char *none)
{
    if (isnan(v))
        snprintf(buf, len, "%s", none);
    else
        snprintf(buf, len, "%.6f", v);
}

int vp_cmd_gain(int argc, char **argv)
{
    const char *cmd = "gain";
    const char *name = NULL;
    const char *params[16];
    int nparams = 0, json = 0, all = 0;
    const vp_cli_opt opts[] = {
        { .name = "--param", .list = params, .max = 16, .n = &nparams },
        { .name = "--all", .flag = &all },
        { .name = "--json", .flag = &json },
        { .name = NULL },
    };
    const vp_cli_cmd c = { .cmd = cmd, .usage = GAIN_USAGE, .opts = opts, .arg = &name,
                           .one_arg = "one activation only" };
    int rc = vp_cli_parse(&c, argc, argv);
    if (rc >= 0) return rc;
    if (all && name) return vp_cli_usage_error(cmd, "give an activation or --all, not both");
    if (!name && nparams) return vp_cli_usage_error(cmd, "--param needs an activation");
    vp_theory_ctx ctx;
    vp_err err;
    vp_status st = vp_theory_ctx_init(&ctx, &err);
    if (st != VP_OK) return runtime_error(cmd, st, &err);

    if (name) {
        vp_act act;
        if ((rc = activation(cmd, name, params, nparams, &act))) return rc;
        char label[160], b1[64], b2[64];
        vp_act_label(&act, label, sizeof label);
        vp_theory_gains g;
        double autog;
        if ((st = gains_for(&ctx, &act, &g, &autog, &err)) != VP_OK) return runtime_error(cmd, st, &err);
        if (json) return json_emit(gain_json(label, &g, autog));
        fmt_gain(b1, sizeof b1, g.torch, "none (PyTorch raises)");
        fmt_gain(b2, sizeof b2, g.critical, "none (chi1 = 1 is not reached at sigma_b2 = 0)");
        printf("%s\n", label);
        printf("  pytorch          %s\n", b1);
        printf("  var_preserving   %.6f   1/sqrt(E[phi(z)^2])\n", g.var_preserving);
        if (isnan(g.critical))
            printf("  critical         %s\n", b2);
        else if (isnan(g.critical_q_star))
            printf("  critical         %s   sigma_w2 = %.6g, every q is a fixed point\n", b2, g.critical * g.critical);
        else
            printf("  critical         %s   sigma_w2 = %.6g, q* = %.6g%s\n", b2, g.critical * g.critical,
                   g.critical_q_star, g.critical_q_star == 0.0 ? " (limit q* -> 0)" : "");
        printf("  auto             %.6f   (\"gain\": \"auto\")\n", autog);
        return 0;
    }

    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (json && !arr) return json_emit(NULL);
    if (!json)
        printf("%-16s %-10s %-15s %-10s %-11s %s\n", "activation", "pytorch", "var_preserving", "critical",
               "critical_q*", "auto");
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        vp_act act = vp_act_default((vp_act_kind)k);
        const char *label = vp_act_get(act.kind)->name;
        if (vp_act_rowwise(vp_act_get(act.kind))) continue; /* no gains: not elementwise */
        vp_theory_gains g;
        double autog;
        if ((st = gains_for(&ctx, &act, &g, &autog, &err)) != VP_OK) {
            cJSON_Delete(arr);
            return runtime_error(cmd, st, &err);
        }
        if (json) {
            cJSON *o = gain_json(label, &g, autog);
            if (!o || !cJSON_AddItemToArray(arr, o)) {
                cJSON_Delete(o);
                cJSON_Delete(arr);
                return json_emit(NULL);
            }
            continue;
        }
        char b1[32], b3[32], b4[32];
        fmt_gain(b1, sizeof b1, g.torch, "none");
        fmt_gain(b3, sizeof b3, g.critical, "none");
        if (isnan(g.critical))
            snprintf(b4, sizeof b4, "-");
        else if (isnan(g.critical_q_star))
            snprintf(b4, sizeof b4, "any");
        else
            snprintf(b4, sizeof b4, "%.4g", g.critical_q_star);
        printf("%-16s %-10s %-15.6f %-10s %-11s %.6f\n", label, b1, g.var_preserving, b3, b4, autog);
    }
    return json ? json_emit(arr) : 0;
}
