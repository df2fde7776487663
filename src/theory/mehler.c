/* mehler: see mehler.h. */
#include "theory/mehler.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "core/normal.h"
#include "core/simd.h"

/* E[phi(u1) phi(u2)] for u1, u2 ~ N(0, q) with correlation c, from Mehler's formula
 * (the Hermite expansion of the bivariate normal density; O'Donnell, "Analysis of
 * Boolean Functions" (2014) Prop. 11.33, and the "dual activation" of Daniely et al.,
 * NeurIPS 2016, Lemma 11):
 *   E[phi(u1) phi(u2)] = sum_k a_k^2 c^k,   a_k = E[phi(sqrt(q) z) psi_k(z)],
 * psi_k = He_k / sqrt(k!) the orthonormal probabilists' Hermite polynomials,
 *   psi_0 = 1, psi_1 = z, psi_{k+1} = (z psi_k - sqrt(k) psi_{k-1}) / sqrt(k+1).
 * Truncation is certified: every a_k^2 >= 0 and sum_k a_k^2 = E[phi^2] (Parseval), so
 * the terms after K add at most |c|^{K+1} R_K, R_K = E[phi^2] - sum_{k<=K} a_k^2, and
 * the sum stops at the first K where that is below MEH_TOL E[phi^2].
 * The a_k are 1-D integrals by the trapezoid rule on h Z, |z| <= MEH_Z (lattice1's
 * error laws): the Fourier transform of psi_k(z) e^{-z^2/2} is w^k e^{-w^2/2}/sqrt(k!)
 * in size, a band around |w| = sqrt(k) of width ~1, so the step is lattice1's
 * shortened by that band (2 pi/h = 2 pi/h1 + sqrt(K) + 6 for the K terms a value may
 * need: MEH_KMAX for a shared object, fewer for one small |c|), and |z| goes to 12
 * (psi_k e^{-z^2/4} is bounded by ~1.09, Cramer's inequality, so the truncated tail of
 * a_k is below e^{-36}). The sum is certified by the even sublattice (the same a_k
 * from the nodes of 2h Z) as every lattice rule here. One set of 1-D nodes and K short
 * dot products replace the 2-D lattice: about 10x less work at the correlations the
 * maps visit; near c = 1 with long tails (large q, |c|^K not small) it declines and
 * the 2-D lattice runs.
 * Returns 0 with *out set when certified; -1 (nothing set) to fall back. */
#define MEH_KMAX 128
#define MEH_Z 12.0
#define MEH_TOL 1e-13

/* The coefficient pair of step k: a = sum_i W[i] p[i] and a2 = sum_i W2[i] p[i] over
 * i < m (W, W2 the even or odd parts by k's parity, on the lattice and on its even
 * sublattice), then the recurrence (pm, p) <- (p, (z p - sqrt(k) pm) / sqrt(k+1)) in
 * place, so that p holds psi_{k+1} for the next step. Eight interleaved lanes (a fixed
 * order: the same bits on every clone). */
VP_CLONES
static void meh_step(int m, const double *restrict z, double *restrict pm, double *restrict p,
                     const double *restrict W, const double *restrict W2, double s0, double s1, double *a,
                     double *a2)
{
    double l1[8] = { 0 }, l2[8] = { 0 };
    int i = 0;
    if (!W) { /* a known zero: the recurrence alone */
        for (; i < m; i++) {
            double v = p[i];
            p[i] = (z[i] * v - s0 * pm[i]) * s1;
            pm[i] = v;
        }
        *a = *a2 = 0.0;
        return;
    }
    for (; i + 8 <= m; i += 8)
        for (int j = 0; j < 8; j++) {
            double v = p[i + j];
            l1[j] += W[i + j] * v, l2[j] += W2[i + j] * v;
            p[i + j] = (z[i + j] * v - s0 * pm[i + j]) * s1;
            pm[i + j] = v;
        }
    for (int j = 0; i + j < m; j++) {
        double v = p[i + j];
        l1[j] += W[i + j] * v, l2[j] += W2[i + j] * v;
        p[i + j] = (z[i + j] * v - s0 * pm[i + j]) * s1;
        pm[i + j] = v;
    }
    double r1 = 0.0, r2 = 0.0;
    for (int j = 0; j < 8; j++) r1 += l1[j], r2 += l2[j];
    *a = r1, *a2 = r2;
}

/* The Hermite coefficients of phi at one q, extended on demand (vp_theory_mehler in
 * expect.h). Nodes i = 0..m-1 at z = i h with their mirrors folded in: psi_k(-z) =
 * (-1)^k psi_k(z), so a_k takes the even part Ev of the weighted phi for even k and
 * the odd part Od for odd k (Ev2, Od2: the same on the even sublattice). */
struct vp_theory_mehler {
    double q, phi2;
    int m, kmax, K;          /* nodes; the most terms its step allows; b[0..K) known */
    int odd, even;           /* phi odd (Ev = 0) or even (Od = 0) on the nodes: skip those dots */
    double b[MEH_KMAX + 1], b2[MEH_KMAX + 1];
    double Z[LAT_MAXN + 1], Ev[LAT_MAXN + 1], Od[LAT_MAXN + 1], Ev2[LAT_MAXN + 1], Od2[LAT_MAXN + 1];
    double P0[LAT_MAXN + 1], P1[LAT_MAXN + 1]; /* psi_{K-1}, psi_K */
};

/* Build mh for terms up to kmax at q: 0, or -1 where the rule does not apply (too many
 * nodes, E[phi^2] not certified or not > 0). */
static int meh_build(const actfn *a, double q, int kmax, vp_theory_mehler *mh)
{
    double sq = sqrt(q);
    double w1 = fmax(TWO_PI * sq / LAT_HU, sqrt(2.0 * LAT_E)); /* 2 pi / lattice1's step */
    double h = TWO_PI / (w1 + sqrt((double)kmax) + 6.0);
    double nd = ceil(MEH_Z / h);
    if (!(nd <= LAT_MAXN)) return -1;
    int n = (int)nd, m = n + 1;
    size_t m2 = (size_t)(2 * n + 1);
    double U[2 * LAT_MAXN + 1], F[2 * LAT_MAXN + 1], S[2 * LAT_MAXN + 1];
    for (size_t k = 0; k < m2; k++) U[k] = sq * (((double)k - n) * h); /* node i = k - n */
    vp_nodes_eval(a, U, F, NULL, m2, S);
    double phi2 = 0.0, phi2e = 0.0;
    vp_nodes_gauss(h, m, h * VP_INV_SQRT_2PI, S); /* S: eval_nodes' scratch, free again */
    mh->odd = mh->even = 1;
    for (int i = 0; i < m; i++) {
        double w = S[i], fp = F[n + i], fm = F[n - i];
        double t = i == 0 ? w * fp * fp : w * (fp * fp + fm * fm);
        mh->Z[i] = i * h;
        mh->Ev[i] = i == 0 ? w * fp : w * (fp + fm);
        mh->Od[i] = i == 0 ? 0.0 : w * (fp - fm);
        mh->Ev2[i] = (i & 1) ? 0.0 : 2.0 * mh->Ev[i];
        mh->Od2[i] = (i & 1) ? 0.0 : 2.0 * mh->Od[i];
        mh->odd &= mh->Ev[i] == 0.0, mh->even &= mh->Od[i] == 0.0;
        phi2 += t;
        if ((i & 1) == 0) phi2e += 2.0 * t;
        mh->P0[i] = 0.0; /* psi_{-1} */
        mh->P1[i] = 1.0; /* psi_0 */
    }
    if (!isfinite(phi2) || !(phi2 > 0) || !(fabs(phi2 - phi2e) <= LAT_DELTA * phi2)) return -1;
    mh->q = q, mh->phi2 = phi2, mh->m = m, mh->kmax = kmax, mh->K = 0;
    return 0;
}

/* sum_k b_k c^k, extending the coefficients as needed: 0 with *out set when the
 * truncation bound and the sublattice agree, else -1. */
int vp_mehler_eval(vp_theory_mehler *mh, double c, double *out)
{
    if (!(fabs(c) < 1.0)) return -1;
    double s1 = 0.0, s2 = 0.0, cum = 0.0, ck = 1.0, phi2 = mh->phi2;
    for (int k = 0; k <= mh->kmax; k++) {
        if (k == mh->K) {
            double ak, a2k;
            int zero = (k & 1) ? mh->even : mh->odd; /* the even part of an odd phi is 0 */
            meh_step(mh->m, mh->Z, mh->P0, mh->P1, zero ? NULL : (k & 1) ? mh->Od : mh->Ev,
                     (k & 1) ? mh->Od2 : mh->Ev2, sqrt((double)k), 1.0 / sqrt(k + 1.0), &ak, &a2k);
            mh->b[k] = ak * ak, mh->b2[k] = a2k * a2k, mh->K++;
        }
        s1 += mh->b[k] * ck, s2 += mh->b2[k] * ck, cum += mh->b[k];
        ck *= c;
        if (fabs(ck) * fmax(phi2 - cum, 0.0) <= MEH_TOL * phi2) {
            if (!isfinite(s1) || !isfinite(s2) || !(fabs(s1 - s2) <= LAT_DELTA * phi2)) return -1;
            *out = s1;
            return 0;
        }
    }
    return -1;
}

/* One value at (q, c): the step sized for the terms this c can need (|c|^{K+1} <=
 * MEH_TOL ends the sum whatever R_K is), so small |c| gets few, coarse nodes. */
int vp_mehler_one(const actfn *a, double q, double c, double *out)
{
    if (!(fabs(c) < 1.0)) return -1;
    double kc = c == 0.0 ? 0.0 : ceil(log(MEH_TOL) / log(fabs(c))) - 1.0;
    vp_theory_mehler mh;
    if (meh_build(a, q, kc < MEH_KMAX ? (int)kc : MEH_KMAX, &mh) != 0) return -1;
    return vp_mehler_eval(&mh, c, out);
}

vp_theory_mehler *vp_mehler_make(const actfn *a, double q)
{
    vp_theory_mehler *mh = malloc(sizeof *mh);
    if (mh && meh_build(a, q, MEH_KMAX, mh) != 0) {
        free(mh);
        mh = NULL;
    }
    return mh;
}

double vp_mehler_q(const vp_theory_mehler *mh) { return mh->q; }
