/* cmd_theory: the `varprop theory` and `varprop gain` subcommands (cli.h).
 *
 *   varprop theory ACT [--param KEY=VALUE ...] [--sigma-w2 X] [--sigma-b2 Y] [--q0 Q] [--json]
 *   varprop theory ACT [--param KEY=VALUE ...] [--sigma-w2 X] [--sigma-b2 Y] --iterate L [--q0 Q] [--c0 C]
 *                  [--json | --csv]
 *   varprop theory ACT [--param KEY=VALUE ...] --critical [--sigma-b2 Y] [--json]
 *   (--sigma-w / --sigma-b: the same as standard deviations, as configs write them)
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
#include "theory/iterate.h"
#include "theory/theory.h"

static const char THEORY_USAGE[] =
    "Usage: varprop theory ACT [--param KEY=VALUE ...] [--sigma-w2 X] [--sigma-b2 Y] [--q0 Q] [--json]\n"
    "       varprop theory ACT [...] [--sigma-w2 X] [--sigma-b2 Y] --iterate L [--q0 Q] [--c0 C] [--json|--csv]\n"
    "       varprop theory ACT [--param KEY=VALUE ...] --critical [--sigma-b2 Y] [--json]\n"
    "\n"
    "Mean-field theory of a deep MLP with activation ACT at initialization\n"
    "(Poole et al. 2016, Schoenholz et al. 2017; see docs/theory.md).\n"
    "sigma_w2 = fan_in * Var[W], sigma_b2 = Var[b].\n"
    "\n"
    "Prints the fixed point q* of the length map reached from q0, chi1 =\n"
    "sigma_w2 E[phi'(sqrt(q*) z)^2], the depth scales xi_q and xi_c, the fixed\n"
    "correlation c* and the phase (ordered chi1 < 1, critical |chi1 - 1| <= 1e-8,\n"
    "chaotic chi1 > 1). With --iterate L: the maps layer by layer from the input,\n"
    "l = 0..L: q^l (q^1 = sigma_w2 q0 + sigma_b2, then the length map), the\n"
    "correlation c^l of two inputs with correlation c0, and chi^l = sigma_w2\n"
    "E[phi'(sqrt(q^l) z)^2] at that layer's own q^l (none at l = 0: the input has no phi).\n"
    "\n"
    "Options:\n"
    "  --param KEY=VALUE  activation parameter (repeatable), e.g. negative_slope=0.2\n"
    "  --sigma-w2 X       weight variance times fan-in (default 1)\n"
    "  --sigma-b2 Y       bias variance (default 0)\n"
    "  --sigma-w S        the same as a standard deviation: sigma_w2 = S^2 (configs' sigma_w)\n"
    "  --sigma-b S        sigma_b2 = S^2 (configs' sigma_b); give one form of each, not both\n"
    "  --q0 Q             E[x^2] of the input, where the length map starts (default 1)\n"
    "  --iterate L        the maps' iterates q^l, c^l and chi^l for l = 0..L (L <= 100000)\n"
    "  --c0 C             correlation of the two inputs for --iterate, in [-1, 1] (default 0)\n"
    "  --critical         print the point of the critical line chi1 = 1 at sigma_b2\n"
    "  --json             one JSON object instead of text (non-finite values are null)\n"
    "  --csv              with --iterate: CSV (layer,q,c,chi; empty cells where undefined)\n"
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

/* A failure of the theory library: a request it cannot answer (VP_ERR_USAGE, e.g. a
 * row-wise activation) is the user's error, exit 2; a numerical failure exits 1. */
static int runtime_error(const char *cmd, vp_status st, const vp_err *err)
{
    if (st == VP_ERR_USAGE) return vp_cli_usage_error(cmd, "%s", err->msg);
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
            vp_cli_json_num(o, "sigma_b2", sb);
            vp_cli_json_num(o, "sigma_w2", sw);
            vp_cli_json_num(o, "q_star", qs);
            vp_cli_json_num(o, "chi1", 1.0);
        }
        return vp_cli_json_emit(o);
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

/* A cell of the iterate table: %.10g text padded to a column (the last one not
 * padded), or %.17g CSV; "-" (text) or an empty cell (CSV) where undefined. */
static void iter_cell(double v, int csv, int last)
{
    if (csv)
        printf(isnan(v) ? "," : ",%.17g", v);
    else if (isnan(v))
        printf(last ? "%s" : "%-17s", "-");
    else
        printf(last ? "%.10g" : "%-17.10g", v);
}

/* --iterate: format 0 text, 1 JSON, 2 CSV. */
static int print_iterate(const vp_act *act, const char *label, double sw, double sb, double q0, double c0, int L,
                         int format, const vp_theory_ctx *ctx)
{
    vp_theory_layer *it = malloc((size_t)(L + 1) * sizeof *it);
    if (!it) {
        fprintf(stderr, "varprop theory: out of memory for %d layers\n", L);
        return 1;
    }
    vp_err err;
    vp_status st = vp_theory_iterate(ctx, act, sw, sb, q0, c0, L, it, &err);
    if (st != VP_OK) {
        free(it);
        return runtime_error("theory", st, &err);
    }
    if (format == 1) {
        cJSON *o = cJSON_CreateObject(), *arr = NULL;
        if (o) {
            cJSON_AddStringToObject(o, "activation", label);
            vp_cli_json_num(o, "sigma_w2", sw);
            vp_cli_json_num(o, "sigma_b2", sb);
            vp_cli_json_num(o, "q0", q0);
            vp_cli_json_num(o, "c0", c0);
            arr = cJSON_AddArrayToObject(o, "layers");
        }
        for (int l = 0; arr && l <= L; l++) {
            cJSON *r = cJSON_CreateObject();
            if (!r || !cJSON_AddItemToArray(arr, r)) {
                cJSON_Delete(r);
                cJSON_Delete(o);
                o = NULL;
                break;
            }
            cJSON_AddNumberToObject(r, "layer", l);
            vp_cli_json_num(r, "q", it[l].q);
            vp_cli_json_num(r, "c", it[l].c);
            vp_cli_json_num(r, "chi", it[l].chi);
        }
        free(it);
        return vp_cli_json_emit(arr ? o : (cJSON_Delete(o), NULL));
    }
    if (format == 2)
        printf("layer,q,c,chi\n");
    else
        printf("%s at sigma_w2 = %.10g, sigma_b2 = %.10g: the maps from q0 = %.10g, c0 = %.10g\n"
               "(chi^l = sigma_w2 E[phi'(sqrt(q^l) z)^2]; the input, l = 0, has no phi)\n"
               "%-6s %-17s%-17s%s\n", label, sw, sb, q0, c0, "layer", "q^l", "c^l", "chi^l");
    for (int l = 0; l <= L; l++) {
        if (format == 2)
            printf("%d", l);
        else
            printf("%-6d ", l);
        iter_cell(it[l].q, format == 2, 0);
        iter_cell(it[l].c, format == 2, 0);
        iter_cell(it[l].chi, format == 2, 1);
        printf("\n");
    }
    free(it);
    return 0;
}

int vp_cmd_theory(int argc, char **argv)
{
    const char *cmd = "theory";
    const char *name = NULL;
    const char *params[16];
    int nparams = 0, json = 0, csv = 0, critical = 0, have_sw = 0, have_sb = 0, have_sw1 = 0, have_sb1 = 0;
    int have_iter = 0, have_c0 = 0;
    double sw = 1.0, sb = 0.0, sw1 = 0.0, sb1 = 0.0, q0 = 1.0, c0 = 0.0;
    long iterate = 0;
    const vp_cli_opt opts[] = {
        { .name = "--param", .list = params, .max = 16, .n = &nparams },
        { .name = "--sigma-w2", .num_d = &sw, .min = 0, .given = &have_sw },
        { .name = "--sigma-b2", .num_d = &sb, .min = 0, .given = &have_sb },
        { .name = "--sigma-w", .num_d = &sw1, .min = 0, .given = &have_sw1 },
        { .name = "--sigma-b", .num_d = &sb1, .min = 0, .given = &have_sb1 },
        { .name = "--q0", .num_d = &q0, .min = 0 },
        { .name = "--iterate", .num_l = &iterate, .lo = 0, .hi = VP_THEORY_MAX_ITERATE, .given = &have_iter },
        { .name = "--c0", .num_d = &c0, .min = -1, .given = &have_c0 },
        { .name = "--critical", .flag = &critical },
        { .name = "--json", .flag = &json },
        { .name = "--csv", .flag = &csv },
        { .name = NULL },
    };
    const vp_cli_cmd c = { .cmd = cmd, .usage = THEORY_USAGE, .opts = opts, .arg = &name,
                           .one_arg = "one activation only" };
    int rc = vp_cli_parse(&c, argc, argv);
    if (rc >= 0) return rc;
    if (!name) return vp_cli_usage_error(cmd, "missing the activation name");
    if ((rc = vp_cli_sigma2(cmd, "sigma-w", have_sw, have_sw1, sw1, &sw))) return rc;
    if ((rc = vp_cli_sigma2(cmd, "sigma-b", have_sb, have_sb1, sb1, &sb))) return rc;
    if (critical && (have_sw || have_sw1))
        return vp_cli_usage_error(cmd, "--critical computes sigma_w2; do not pass --sigma-w2 or --sigma-w");
    if (critical && have_iter) return vp_cli_usage_error(cmd, "give --critical or --iterate, not both");
    if (have_c0 && !have_iter) return vp_cli_usage_error(cmd, "--c0 is the inputs' correlation for --iterate");
    if (have_c0 && c0 > 1) return vp_cli_usage_error(cmd, "--c0 %g: a correlation must be in [-1, 1]", c0);
    if (csv && !have_iter) return vp_cli_usage_error(cmd, "--csv prints the --iterate table; give --iterate L");
    if (csv && json) return vp_cli_usage_error(cmd, "give --json or --csv, not both");
    vp_act act;
    if ((rc = vp_cli_activation(cmd, name, params, nparams, &act))) return rc;

    char label[160];
    vp_act_label(&act, label, sizeof label);
    vp_theory_ctx ctx;
    vp_err err;
    vp_status st = vp_theory_ctx_init(&ctx, &err);
    if (st != VP_OK) return runtime_error(cmd, st, &err);
    if (critical) return print_critical(&act, label, sb, json, &ctx);
    if (have_iter) return print_iterate(&act, label, sw, sb, q0, c0, (int)iterate, json ? 1 : csv ? 2 : 0, &ctx);

    vp_theory_point pt;
    st = vp_theory_analyze(&ctx, &act, sw, sb, q0, &pt, &err);
    if (st != VP_OK) return runtime_error(cmd, st, &err);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "activation", label);
            vp_cli_json_num(o, "sigma_w2", sw);
            vp_cli_json_num(o, "sigma_b2", sb);
            vp_cli_json_num(o, "q0", q0);
            vp_cli_json_num(o, "q_star", pt.q_star);
            vp_cli_json_num(o, "chi1", pt.chi1);
            vp_cli_json_num(o, "xi_q", pt.xi_q);
            vp_cli_json_num(o, "xi_c", pt.xi_c);
            vp_cli_json_num(o, "c_star", pt.c_star);
            cJSON_AddStringToObject(o, "phase", vp_theory_phase_name(pt.phase));
        }
        return vp_cli_json_emit(o);
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
        if (pt.q_star == 0.0 && isnan(pt.c_star) && pt.phase != VP_PHASE_CHAOTIC) { /* vp_theory_analyze */
            printf("  xi_c   %-14s q* = 0: the correlation map tends to c -> c, c^l settles near c^0 (no\n"
                   "                        exponential approach, no c*); `theory --iterate` follows c^l\n", "inf");
            printf("  c*     none\n");
        } else {
            printf("  xi_c   %-14.10g depth scale of c^l -> c*\n", pt.xi_c);
            printf("  c*     %-14.10g fixed point of the correlation map\n", pt.c_star);
        }
    }
    printf("  phase  %s (chi1 - 1 = %+.3e; critical when |chi1 - 1| <= %g)\n", vp_theory_phase_name(pt.phase),
           pt.chi1 - 1.0, VP_THEORY_CRIT_TOL);
    return 0;
}

/* ---- gain ---- */

static cJSON *gain_json(const char *label, const vp_theory_gains *g, double autog, const char *note)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "activation", label);
    vp_cli_json_num(o, "pytorch", g->torch);
    vp_cli_json_num(o, "var_preserving", g->var_preserving);
    vp_cli_json_num(o, "critical", g->critical);
    vp_cli_json_num(o, "critical_q_star", g->critical_q_star);
    vp_cli_json_num(o, "auto", autog);
    if (note && !cJSON_AddStringToObject(o, "note", note)) {
        cJSON_Delete(o);
        return NULL;
    }
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
        if ((rc = vp_cli_activation(cmd, name, params, nparams, &act))) return rc;
        char label[160], b1[64], b2[64];
        vp_act_label(&act, label, sizeof label);
        vp_theory_gains g;
        double autog;
        if ((st = gains_for(&ctx, &act, &g, &autog, &err)) != VP_OK) return runtime_error(cmd, st, &err);
        if (json) return vp_cli_json_emit(gain_json(label, &g, autog, vp_act_get(act.kind)->gain_note));
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
        if (vp_act_get(act.kind)->gain_note) printf("  note: %s\n", vp_act_get(act.kind)->gain_note);
        return 0;
    }

    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (json && !arr) return vp_cli_json_emit(NULL);
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
            cJSON *o = gain_json(label, &g, autog, vp_act_get(act.kind)->gain_note);
            if (!o || !cJSON_AddItemToArray(arr, o)) {
                cJSON_Delete(o);
                cJSON_Delete(arr);
                return vp_cli_json_emit(NULL);
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
    return json ? vp_cli_json_emit(arr) : 0;
}
