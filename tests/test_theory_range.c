/* The theory over the whole range of its inputs (issue 11, "Numbers that are
 * silently wrong"):
 *  - homogeneous activations whose length map diverges still have chi_1 and a phase
 *    (`varprop theory relu --sigma-w2 2.5`: chi1 = 1.25, q* = inf, chaotic, exit 0);
 *  - the length map is carried down to the bottom of the double range: no constant
 *    floor (the old Q_FLOOR = 1e-30 made every prediction below ~5e-31 a constant);
 *  - activations whose q collapses to ~1e-18 (tanhshrink: q' ~ (5/3) sigma_w2 q^3)
 *    have accurate expectations there (small-q expansion), and a prediction that
 *    cannot be computed leaves empty cells with a note, never a failed run. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "theory/theory.h"

static vp_theory_ctx ctx_of(int force_quadrature)
{
    vp_theory_ctx c;
    vp_err err;
    cr_assert_eq(vp_theory_ctx_init(&c, &err), VP_OK, "%s", err.msg);
    c.force_quadrature = force_quadrature;
    return c;
}

static int rel_close(double got, double want, double rtol)
{
    return fabs(got - want) <= rtol * fabs(want);
}

/* ---- item: homogeneous activations beyond their critical point ---- */

Test(theory_range, homogeneous_rows_past_criticality_have_chi1_and_a_phase)
{
    /* phi(u) = pos u (u > 0), neg u (u < 0): E[phi'^2] = (neg^2 + pos^2)/2 at every q,
     * so chi_1 = sigma_w2 (neg^2 + pos^2)/2 whether or not q^l converges. The length
     * map q' = chi_1 q + sigma_b2 diverges for chi_1 > 1 (geometric) and for chi_1 = 1
     * with sigma_b2 > 0 (linear): q* = inf, and the phase is read off chi_1, as for
     * tanh. Before, vp_theory_analyze failed (exit 1, "numerical error"). */
    vp_theory_ctx ctx = ctx_of(0);
    struct { vp_act_kind k; double p0, p1; } rows[] = {
        { VP_ACT_IDENTITY, 0, 0 }, { VP_ACT_RELU, 0, 0 }, { VP_ACT_LEAKY_RELU, 0.2, 0 },
        { VP_ACT_PRELU, -0.5, 0 }, { VP_ACT_RRELU, 0.1, 0.5 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        vp_act a = vp_act_default(rows[i].k);
        int np = vp_act_get(a.kind)->nparams;
        if (np > 0) a.p[0] = rows[i].p0;
        if (np > 1) a.p[1] = rows[i].p1;
        double neg, pos;
        cr_assert(vp_act_slopes(&a, &neg, &pos));
        double m = 0.5 * (neg * neg + pos * pos);
        const char *name = vp_act_get(a.kind)->name;
        /* chaotic: sigma_w2 25% past the critical 1/m, with and without bias */
        for (int b = 0; b < 2; b++) {
            vp_theory_point pt;
            vp_err err;
            double sw = 1.25 / m, sb = b ? 0.3 : 0.0;
            cr_assert_eq(vp_theory_analyze(&ctx, &a, sw, sb, 1.0, &pt, &err), VP_OK, "%s: %s", name, err.msg);
            cr_expect(isinf(pt.q_star) && pt.q_star > 0, "%s: q* = %g", name, pt.q_star);
            cr_expect(rel_close(pt.chi1, 1.25, 1e-15), "%s: chi1 = %.17g", name, pt.chi1);
            cr_expect_eq(pt.phase, VP_PHASE_CHAOTIC, "%s: phase %s", name, vp_theory_phase_name(pt.phase));
            cr_expect(isnan(pt.c_star) && isnan(pt.xi_c), "%s: c* %g xi_c %g", name, pt.c_star, pt.xi_c);
            cr_expect(isinf(pt.xi_q), "%s: xi_q %g", name, pt.xi_q);
        }
        /* critical with a bias: q^l grows linearly, chi_1 = 1 */
        vp_theory_point pt;
        vp_err err;
        cr_assert_eq(vp_theory_analyze(&ctx, &a, 1.0 / m, 0.1, 1.0, &pt, &err), VP_OK, "%s: %s", name, err.msg);
        cr_expect(isinf(pt.q_star), "%s: q* = %g", name, pt.q_star);
        cr_expect_eq(pt.phase, VP_PHASE_CRITICAL, "%s critical: %s (chi1 %.17g)", name,
                     vp_theory_phase_name(pt.phase), pt.chi1);
        /* ordered: a finite fixed point, as before */
        cr_assert_eq(vp_theory_analyze(&ctx, &a, 0.5 / m, 0.1, 1.0, &pt, &err), VP_OK, "%s: %s", name, err.msg);
        cr_expect(rel_close(pt.q_star, 0.2, 1e-14) && pt.phase == VP_PHASE_ORDERED, "%s: q* %g", name, pt.q_star);
    }
    /* A non-homogeneous diverging map is still an error: its chi_1 depends on q. */
    vp_act ex = vp_act_default(VP_ACT_EXPONENTIAL);
    vp_theory_point pt;
    vp_err err;
    cr_expect_eq(vp_theory_analyze(&ctx, &ex, 2.0, 0.0, 1.0, &pt, &err), VP_ERR_NUMERIC);
}

Test(theory_range, cli_relu_past_criticality_exits_0)
{
    /* The command. */
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-theory-range-");
    char *out = NULL, *errs = NULL;
    int rc = vt_run(dir, &out, &errs, "theory relu --sigma-w2 2.5");
    cr_expect_eq(rc, 0, "exit %d: %s", rc, errs);
    cr_expect_str_empty(errs, "%s", errs);
    cr_expect(strstr(out, "chi1   1.25 ") != NULL, "%s", out);
    cr_expect(strstr(out, "q*     inf ") != NULL, "%s", out);
    cr_expect(strstr(out, "phase  chaotic") != NULL, "%s", out);
    free(out), free(errs);
    rc = vt_run(dir, &out, &errs, "theory relu --sigma-w2 2.5 --json");
    cr_expect_eq(rc, 0, "exit %d: %s", rc, errs);
    cr_expect(strstr(out, "\"q_star\":null") && strstr(out, "\"chi1\":1.25,") && strstr(out, "\"phase\":\"chaotic\""),
              "%s", out);
    free(out), free(errs);
    /* leaky_relu: chi1 = 2.5 (1 + 0.01^2)/2 = 1.250125 */
    rc = vt_run(dir, &out, &errs, "theory leaky_relu --sigma-w2 2.5");
    cr_expect_eq(rc, 0, "exit %d: %s", rc, errs);
    cr_expect(strstr(out, "chi1   1.250125 ") && strstr(out, "phase  chaotic"), "%s", out);
    free(out), free(errs);
    vt_rmtree(dir);
}
