/* nodes: see nodes.h. */
#include "theory/nodes.h"

#include "core/simd.h"
#include "core/vmath.h"

void vp_nodes_act(const vp_act *act, actfn *a)
{
    const vp_act_info *info = vp_act_get(act->kind);
    a->f = info->f_accurate ? info->f_accurate : info->f, a->df = info->df, a->p = act->p;
    a->kernel = info->f_accurate ? NULL : info->kernel_f64;
    a->nk = info->kinks ? info->kinks(act->p, a->kinks) : 0;
    a->xl = info->exp_linear != NULL;
    if (a->xl) info->exp_linear(act->p, &a->xa, &a->xb, &a->xk);
}

void vp_nodes_eval(const actfn *a, const double *u, double *f, double *d, size_t n, double *scratch)
{
    if (a->kernel) {
        a->kernel(u, f ? f : scratch, d ? d : scratch, n, a->p);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (f) f[i] = a->f(u[i], a->p);
        if (d) d[i] = a->df(u[i], a->p);
    }
}

VP_CLONES
void vp_nodes_gauss(double h, int m, double scale, double *restrict w)
{
    for (int i = 0; i < m; i++) {
        double z = i * h;
        w[i] = scale * vm_exp(-0.5 * z * z);
    }
}
