/* mehler (private to src/theory/; expect.h has the public vp_theory_mehler API that
 * expect.c builds on it): E[phi(u1) phi(u2)] at equal lengths q by Mehler's formula,
 * sum_k a_k^2 c^k, with a certified truncation (the derivation: mehler.c). Depends only
 * on nodes.h, so expect.c's rules and this one share nodes without a circle. */
#ifndef VP_THEORY_MEHLER_H
#define VP_THEORY_MEHLER_H

#include "theory/expect.h"
#include "theory/nodes.h"

/* One value at (q, c), the step sized for the terms this c can need: 0 with *out set
 * when certified, -1 (nothing set) to fall back. */
int vp_mehler_one(const actfn *a, double q, double c, double *out);

/* The shared object at q (heap; release with free()): NULL where the rule does not
 * apply (too many nodes, E[phi^2] not certified) or memory is short. */
vp_theory_mehler *vp_mehler_make(const actfn *a, double q);
/* The series at c, extending the coefficients as needed: 0 with *out set when
 * certified, else -1. */
int vp_mehler_eval(vp_theory_mehler *mh, double c, double *out);
double vp_mehler_q(const vp_theory_mehler *mh);

#endif
