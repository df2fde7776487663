/* cmd_advise: `varprop advise ACT --depth L [--width N] [--sigma-b2 Y] [--check]`
 * (cli.h) -- the initialization on the critical line chi1 = 1 that keeps signal and
 * gradient alive through L layers (theory/advise.h), its predicted ratios, the config
 * snippet to paste (experiment/advise_run.h) and, with --check, a quick measurement of
 * that very snippet. Exit codes: 0 ok, 1 numerical or run failure, 2 usage error
 * (including a row-wise activation, where the theory does not apply). */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "experiment/advise_run.h"
#include "results/results.h"
#include "theory/advise.h"
#include "theory/theory.h"

/* The network a config gets when it names no width (experiment/variant.c's default;
 * tests/test_advise.c checks they agree). */
#define DEFAULT_WIDTH 256
/* --check: seeds 0..CHECK_SEEDS-1, and the batch, which the predicted spread assumes too. */
#define CHECK_SEEDS 4
#define BATCH 64

static const char USAGE[] =
    "Usage: varprop advise ACT --depth L [--width N] [--sigma-b2 Y | --sigma-b S] [--param KEY=VALUE ...]\n"
    "                      [--check] [--json]\n"
    "\n"
    "The initialization that keeps signal and gradient alive through L layers of ACT:\n"
    "a point (sigma_w2, sigma_b2) of the critical line chi1 = 1 (Poole et al. 2016,\n"
    "Schoenholz et al. 2017), its predicted forward ratio q^L/q^1 and backward ratio\n"
    "prod_{l<L} chi^l (what `varprop run` reports as act_ratio and grad_ratio), and the\n"
    "config to paste. The point is the one with the least predicted rms of ln(ratio) at\n"
    "this depth and width: mean-field ratios from unit-variance inputs plus the\n"
    "finite-width spread of a network's ratios (Hanin & Rolnick 2018), for a batch of 64;\n"
    "docs/theory.md (\"varprop advise\") derives it. ReLU-like activations get sigma_b2 = 0;\n"
    "activations without a usable critical point at sigma_b = 0 (tanh from unit inputs,\n"
    "gelu, selu) get the best point with sigma_b > 0. Where no point keeps both ratios\n"
    "within a factor 2 from unit-variance inputs (gelu), the advice scales the input\n"
    "(input.std) so that the first layer starts at the fixed point q*.\n"
    "\n"
    "Options:\n"
    "  --depth L          number of layers (1..100000)\n"
    "  --width N          width of every layer, input included (default 256, a config's default)\n"
    "  --sigma-b2 Y       use the critical point at this bias variance instead\n"
    "  --sigma-b S        the same as a standard deviation (sigma_b2 = S^2)\n"
    "  --param KEY=VALUE  activation parameter (repeatable), e.g. negative_slope=0.2\n"
    "  --check            run the mean_field snippet (4 seeds, batch 64) in a temporary folder\n"
    "                     and print the measured ratios next to the predicted ones\n"
    "  --json             one JSON object instead of text (non-finite values are null)\n"
    "  -h, --help         this help\n";

/* exp(ln ratio - V/2): the predicted median ratio of a network of the advised width. */
static double median_of(double ratio, double var) { return ratio * exp(-0.5 * var); }

/* Geometric mean of v[0..n). */
static double geomean(const double *v, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) s += log(v[i]);
    return exp(s / n);
}

static void minmax(const double *v, int n, double *lo, double *hi)
{
    *lo = *hi = v[0];
    for (int i = 1; i < n; i++) *lo = fmin(*lo, v[i]), *hi = fmax(*hi, v[i]);
}

/* The seeds' ln ratios agree with the prediction: their mean within 4 standard
 * errors of ln(median), the standard error sqrt(max(V, s^2)/n) from the predicted
 * variance V or the seeds' own sample variance s^2, whichever is larger
 * (docs/theory.md; tests/test_advise.c uses the same rule). */
static int agrees(const double *v, int n, double median, double var)
{
    double m = log(geomean(v, n)), ss = 0.0;
    for (int i = 0; i < n; i++) ss += (log(v[i]) - m) * (log(v[i]) - m);
    if (n > 1) var = fmax(var, ss / (n - 1));
    return fabs(m - log(median)) <= 4.0 * sqrt(var / n);
}

/* The width at which the 1-s.d. spread of both ratios is within a factor 2:
 * V scales as 1/width. */
static double width_for_factor2(const vp_advice *a, int width)
{
    double v = fmax(a->var_fwd, a->var_bwd), t = log(2.0) * log(2.0);
    return v <= t ? width : ceil(width * v / t);
}

static cJSON *ratio_json(double mf, double var)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    vp_cli_json_num(o, "mean_field", mf);
    vp_cli_json_num(o, "median", median_of(mf, var));
    vp_cli_json_num(o, "sd_ln", sqrt(var));
    return o;
}

static cJSON *measured_json(const vp_advise_measured *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "seeds", m->nseeds);
    cJSON_AddNumberToObject(o, "batch", BATCH);
    cJSON_AddItemToObject(o, "forward", cJSON_CreateDoubleArray(m->act_ratio, m->nseeds));
    cJSON_AddItemToObject(o, "backward", cJSON_CreateDoubleArray(m->grad_ratio, m->nseeds));
    vp_cli_json_num(o, "forward_geomean", geomean(m->act_ratio, m->nseeds));
    vp_cli_json_num(o, "backward_geomean", geomean(m->grad_ratio, m->nseeds));
    return o;
}

static const char *rule_word(vp_advise_rule r)
{
    return r == VP_ADVISE_BEST ? "least_rms" : r == VP_ADVISE_MATCHED_INPUT ? "matched_input" : "given_sigma_b2";
}

/* A repelling fixed point with a spread beyond a factor 10: the small-noise model behind
 * the median and spread (fluctuations that stay small around q*) no longer holds, and a
 * finite-width run leaves q* geometrically -- to 0 or to overflow (NaN/Inf) --, so the
 * median is not a prediction to act on. */
static int runs_away(const vp_advice *a)
{
    return a->qslope > 1 + 1e-9 && fmax(a->var_fwd, a->var_bwd) > log(10.0) * log(10.0);
}

/* The ends of the searched range of q* (theory/advise.h). */
static double grid_q(int k) { return pow(10.0, 0.25 * k); }

/* A q* at an end of the searched range is the range's best point, not the line's
 * (theory/advise.h, q_edge): say which, and what the grid's next point outside gives. */
static void print_edge_note(const vp_advice *a)
{
    if (!a->q_edge) return;
    printf("  note: q* = %.6g is the %s end of the q* searched (%g .. %g), where the predicted rms\n",
           a->q_star, a->q_edge > 0 ? "top" : "bottom", grid_q(VP_ADVISE_GRID_LO), grid_q(VP_ADVISE_GRID_HI));
    if (a->beyond_better)
        printf("        of ln(ratio) still falls (%.6g; %.6g at q* = %.6g, outside): the line's best point\n"
               "        lies beyond the range, and this one is only the best within it\n",
               a->rms, a->rms_beyond, a->q_beyond);
    else
        printf("        of ln(ratio) is least on the grid (%.6g; %.6g at q* = %.6g, outside): the line's\n"
               "        best point is near this edge, on either side of it (not refined past the edge)\n",
               a->rms, a->rms_beyond, a->q_beyond);
}

static cJSON *edge_json(const vp_advice *a)
{
    if (!a->q_edge) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "side", a->q_edge > 0 ? "top" : "bottom");
    vp_cli_json_num(o, "q_beyond", a->q_beyond);
    vp_cli_json_num(o, "rms_beyond", a->rms_beyond);
    cJSON_AddBoolToObject(o, "better_beyond", a->beyond_better);
    return o;
}

static int print_json(const char *label, const vp_advise_net *net, const vp_advice *a,
                      char snip[VP_SNIPPET_COUNT][1024], const char *input, const vp_advise_measured *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return vp_cli_json_emit(NULL);
    cJSON_AddStringToObject(o, "activation", label);
    cJSON_AddNumberToObject(o, "depth", net->depth);
    cJSON_AddNumberToObject(o, "width", net->width);
    cJSON_AddNumberToObject(o, "batch", net->batch);
    cJSON_AddNumberToObject(o, "q0", a->input_std * a->input_std);
    cJSON_AddNumberToObject(o, "input_std", a->input_std);
    cJSON_AddStringToObject(o, "rule", rule_word(a->rule));
    if (a->rule == VP_ADVISE_MATCHED_INPUT) vp_cli_json_num(o, "unit_input_rms", a->unit_rms);
    vp_cli_json_num(o, "sigma_w2", a->sigma_w2);
    vp_cli_json_num(o, "sigma_b2", a->sigma_b2);
    vp_cli_json_num(o, "sigma_w", a->sigma_w);
    vp_cli_json_num(o, "sigma_b", a->sigma_b);
    vp_cli_json_num(o, "q_star", a->q_star);
    vp_cli_json_num(o, "chi1", a->chi1);
    vp_cli_json_num(o, "qslope", a->qslope);
    vp_cli_json_num(o, "rms", a->rms);
    cJSON_AddItemToObject(o, "q_star_edge", edge_json(a)); /* null: q* inside the searched range */
    cJSON_AddBoolToObject(o, "runaway", runs_away(a)); /* the median and spread do not apply */
    cJSON_AddItemToObject(o, "forward", ratio_json(a->fwd, a->var_fwd));
    cJSON_AddItemToObject(o, "backward", ratio_json(a->bwd, a->var_bwd));
    cJSON *sn = cJSON_AddObjectToObject(o, "network");
    for (int k = 0; sn && k < VP_SNIPPET_COUNT; k++)
        cJSON_AddItemToObject(sn, vp_snippet_name((vp_snippet_kind)k), cJSON_Parse(snip[k]));
    cJSON_AddItemToObject(o, "input", cJSON_Parse(input));
    if (m) cJSON_AddItemToObject(o, "measured", measured_json(m));
    return vp_cli_json_emit(o);
}

static void print_text(const char *label, const vp_advise_net *net, const vp_advice *a,
                       char snip[VP_SNIPPET_COUNT][1024], const char *input)
{
    printf("%s, depth %d, width %d: initialization on the critical line chi1 = 1\n", label, net->depth, net->width);
    printf("  sigma_w2  %-12.6g sigma_w  %.9g\n", a->sigma_w2, a->sigma_w);
    printf("  sigma_b2  %-12.6g sigma_b  %.9g\n", a->sigma_b2, a->sigma_b);
    if (isnan(a->q_star))
        printf("  q*        any          (the length map is the identity: q^l = q^1)\n");
    else if (isinf(a->q_star))
        printf("  q*        inf          (the length map grows by sigma_b2 a layer)\n");
    else
        printf("  q*        %-12.6g fixed point of the length map, slope %.5g%s\n", a->q_star, a->qslope,
               a->qslope > 1 + 1e-9 ? " (> 1: it repels; finite-width noise grows)" : "");
    if (a->rule == VP_ADVISE_BEST)
        printf("  chosen: least predicted rms of ln(ratio) at this depth and width (docs/theory.md)\n");
    else if (a->rule == VP_ADVISE_MATCHED_INPUT)
        printf("  chosen: from unit-variance inputs no point of the line keeps both ratios within a\n"
               "          factor 2 at this depth (best rms of ln ratio %.3g); with the input scaled to\n"
               "          std %.9g (E[x^2] = E[phi^2] at q*) the first layer starts at q* and stays:\n"
               "          the least predicted rms of ln(ratio) with that input (docs/theory.md)\n",
               a->unit_rms, a->input_std);
    else
        printf("  chosen: the critical point at the given sigma_b2\n");
    print_edge_note(a);
    printf("\npredicted at depth %d (inputs with E[x^2] = %.6g, batch %d):\n", net->depth,
           a->input_std * a->input_std, net->batch);
    printf("  %-24s %-18s %s\n", "", "forward q^L/q^1", "backward prod chi^l");
    printf("  %-24s %-18.4g %.4g\n", "infinite width", a->fwd, a->bwd);
    char w[64];
    snprintf(w, sizeof w, "width %d: median", net->width);
    printf("  %-24s %-18.4g %.4g\n", w, median_of(a->fwd, a->var_fwd), median_of(a->bwd, a->var_bwd));
    char f1[32], f2[32];
    snprintf(f1, sizeof f1, "x/ %.3g", exp(sqrt(a->var_fwd)));
    snprintf(f2, sizeof f2, "x/ %.3g", exp(sqrt(a->var_bwd)));
    printf("  %-24s %-18s %s   (1 s.d. over seeds)\n", "          spread", f1, f2);
    int runaway = runs_away(a);
    if (runaway)
        printf("  note: the fixed point repels (slope %.3g) and the predicted spread is beyond a factor 10:\n"
               "        a finite-width run leaves q* geometrically, to 0 or to overflow (NaN/Inf), and the\n"
               "        median above is outside the small-noise model it comes from. No initialization\n"
               "        keeps this activation's signal at this depth and width: a shallower net, or a\n"
               "        wider one (the spread shrinks as 1/sqrt(width)), is the way out\n", a->qslope);
    for (int k = 0; k < 2 && !runaway; k++) {
        double med = k ? median_of(a->bwd, a->var_bwd) : median_of(a->fwd, a->var_fwd);
        vp_verdict v = vp_verdict_classify(med, 0);
        if (v != VP_VERDICT_STABLE)
            printf("  note: even here the %s is %s at this depth (median ratio %.3g, outside [1/%g, %g])\n",
                   k ? "gradient" : "signal", vp_verdict_word(v), med, VP_STABLE_BAND, VP_STABLE_BAND);
    }
    double mf = fmax(fabs(log(a->fwd)), fabs(log(a->bwd)));
    double md = fmax(fabs(log(median_of(a->fwd, a->var_fwd))), fabs(log(median_of(a->bwd, a->var_bwd))));
    if (!(mf <= log(2.0)) && a->rule == VP_ADVISE_GIVEN_SB)
        printf("  note: at this sigma_b2 the ratios are not within a factor 2 at this depth (even at\n"
               "        infinite width); without --sigma-b2 advise picks the best point of the line\n");
    else if (!(mf <= log(2.0)))
        printf("  note: no point of the critical line keeps both ratios within a factor 2 at this depth\n"
               "        %s (even at infinite width)\n",
               a->rule == VP_ADVISE_MATCHED_INPUT ? "from unit-variance inputs, nor with the matched input"
                                                  : "for unit-variance inputs");
    else if (!runaway && (!(md <= log(2.0)) || fmax(a->var_fwd, a->var_bwd) > log(2.0) * log(2.0)))
        printf("  note: the width limits it: the spread shrinks as 1/sqrt(width); width >= %.0f keeps\n"
               "        1 s.d. within a factor 2\n", width_for_factor2(a, net->width));
    if (a->input_std == 1.0)
        printf("\nconfig: the \"network\" of an experiment (input: the default normal, or any with E[x^2] = 1)\n");
    else
        printf("\nconfig: the \"network\" and \"input\" of an experiment (input.std scales any distribution\n"
               "  of the measured batch, not a \"train\" data set -- fashion-mnist and idx are standardized\n"
               "  to std 1, synthetic data is used as drawn --, so training starts from another q)\n"
               "  \"input\": %s\n", input);
    for (int k = 0; k < VP_SNIPPET_COUNT; k++)
        printf("  %s%s\n    \"network\": %s\n", vp_snippet_name((vp_snippet_kind)k),
               k == VP_SNIPPET_MEAN_FIELD  ? ":"
               : k == VP_SNIPPET_XAVIER    ? " (the same weights: every layer is square):"
                                           : " (the same weights and biases):",
               snip[k]);
}

static void print_measured(const vp_advise_net *net, const vp_advice *a, const vp_advise_measured *m)
{
    double gf = geomean(m->act_ratio, m->nseeds), gb = geomean(m->grad_ratio, m->nseeds), lf, hf, lb, hb;
    minmax(m->act_ratio, m->nseeds, &lf, &hf);
    minmax(m->grad_ratio, m->nseeds, &lb, &hb);
    int okf = agrees(m->act_ratio, m->nseeds, median_of(a->fwd, a->var_fwd), a->var_fwd);
    int okb = agrees(m->grad_ratio, m->nseeds, median_of(a->bwd, a->var_bwd), a->var_bwd);
    printf("\nmeasured (varprop run of the mean_field network%s, seeds 0..%d, batch %d):\n",
           a->input_std == 1.0 ? "" : " and input", m->nseeds - 1, net->batch);
    printf("  %-24s %-18s %s\n", "", "forward", "backward");
    printf("  %-24s %-18.4g %.4g\n", "geometric mean", gf, gb);
    char r1[64], r2[64];
    snprintf(r1, sizeof r1, "%.3g .. %.3g", lf, hf);
    snprintf(r2, sizeof r2, "%.3g .. %.3g", lb, hb);
    printf("  %-24s %-18s %s\n", "seeds", r1, r2);
    printf("  %-24s %-18s %s\n", "vs predicted median", okf ? "agrees" : "DIFFERS", okb ? "agrees" : "DIFFERS");
    printf("  (agrees: mean ln ratio within 4 standard errors of the median's; docs/theory.md)\n");
    if (!isfinite(gf) || !isfinite(gb))
        printf("  note: some seeds' ratios are not finite numbers (the run overflowed or vanished to 0:\n"
               "        NaN/Inf, counted in runs.csv's nonfinite column), so their geometric mean is not either\n");
}

int vp_cmd_advise(int argc, char **argv)
{
    const char *cmd = "advise";
    const char *name = NULL;
    const char *params[16];
    int nparams = 0, json = 0, check = 0, have_depth = 0, have_sb2 = 0, have_sb = 0;
    long depth = 0, width = DEFAULT_WIDTH;
    double sb2 = NAN, sb = 0.0;
    const vp_cli_opt opts[] = {
        { .name = "--depth", .num_l = &depth, .lo = 1, .hi = VP_ADVISE_MAX_DEPTH, .given = &have_depth },
        { .name = "--width", .num_l = &width, .lo = 1, .hi = 1L << 20 },
        { .name = "--sigma-b2", .num_d = &sb2, .min = 0, .given = &have_sb2 },
        { .name = "--sigma-b", .num_d = &sb, .min = 0, .given = &have_sb },
        { .name = "--param", .list = params, .max = 16, .n = &nparams },
        { .name = "--check", .flag = &check },
        { .name = "--json", .flag = &json },
        { .name = NULL },
    };
    const vp_cli_cmd c = { .cmd = cmd, .usage = USAGE, .opts = opts, .arg = &name, .one_arg = "one activation only" };
    int rc = vp_cli_parse(&c, argc, argv);
    if (rc >= 0) return rc;
    if (!name) return vp_cli_usage_error(cmd, "missing the activation name");
    if (!have_depth) return vp_cli_usage_error(cmd, "missing --depth L (the advice depends on the depth)");
    if ((rc = vp_cli_sigma2(cmd, "sigma-b", have_sb2, have_sb, sb, &sb2))) return rc;
    vp_act act;
    if ((rc = vp_cli_activation(cmd, name, params, nparams, &act))) return rc;
    char label[160];
    vp_act_label(&act, label, sizeof label);
    if (vp_act_rowwise(vp_act_get(act.kind)))
        return vp_cli_usage_error(cmd, "%s is a row-wise activation (it maps each example's whole row of z^l "
                                  "at once): the mean-field theory behind advise covers elementwise activations, "
                                  "so there is no critical line to advise from", label);

    vp_theory_ctx ctx;
    vp_err err;
    vp_advise_net net = { (int)depth, (int)width, BATCH, 1.0 };
    vp_advice a;
    vp_status st = vp_theory_ctx_init(&ctx, &err);
    if (st == VP_OK) st = vp_advise(&ctx, &act, &net, sb2, &a, &err);
    char snip[VP_SNIPPET_COUNT][1024], input[128];
    for (int k = 0; st == VP_OK && k < VP_SNIPPET_COUNT; k++)
        st = vp_advise_snippet(&act, net.depth, net.width, &a, (vp_snippet_kind)k, snip[k], sizeof snip[k], &err);
    if (st == VP_OK) st = vp_advise_input_snippet(&a, input, sizeof input, &err);
    if (st != VP_OK) {
        fprintf(stderr, "varprop advise: %s\n", err.msg);
        return vp_exit_code(st);
    }
    if (!json) print_text(label, &net, &a, snip, input);
    vp_advise_measured m;
    if (check) {
        if (!json) fflush(stdout);
        long threads = sysconf(_SC_NPROCESSORS_ONLN);
        st = vp_advise_measure(snip[VP_SNIPPET_MEAN_FIELD], a.input_std, CHECK_SEEDS, BATCH,
                               threads < 1 ? 1 : (int)threads, NULL, &m, &err);
        if (st != VP_OK) {
            fprintf(stderr, "varprop advise: --check: %s\n", err.msg);
            return vp_exit_code(st);
        }
        if (!json) print_measured(&net, &a, &m);
    }
    return json ? print_json(label, &net, &a, snip, input, check ? &m : NULL) : 0;
}
