/* act_kernels: ns per element of every fused elementwise activation kernel
 * (vp_act_info.kernel_f32 / kernel_f64, src/core/act.c), h = phi(z) and d = phi'(z) in
 * one pass, on the calling thread.
 *
 * Inputs: n pre-activations drawn once from N(0, sigma^2) (Box-Muller on a fixed
 * 64-bit LCG, so every run times the same numbers; sigma = 2 by default covers the
 * saturating and the linear regions of every activation). Each kernel is called on
 * the whole array repeatedly until --ms milliseconds have passed; the figure is
 * the best of --reps such timings divided by the elements processed, so a stray
 * interrupt does not count. n = 16384 keeps the float64 buffers (3 x 128 KiB) in L2,
 * which is the size of one layer's pre-activation block in the benchmark workloads
 * (width 256 x batch 256 = 65536 is 4x that and behaves the same).
 *
 * usage: act_kernels [--n N] [--ms T] [--reps K] [--sigma S] [NAME ...]
 *   NAME: only these activations (default: every elementwise one, registry order)
 * Output: one line per activation: name, f32 ns/elem, f64 ns/elem.
 *
 * Build (from the repository root, after `make varprop` has built the library):
 *   gcc -O2 -std=c11 -D_DEFAULT_SOURCE -Isrc bench/act_kernels.c build/libvarprop.a -lcjson -lopenblas -lz -lm -lpthread -o build/act_kernels
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/act.h"

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Uniform in (0, 1) from a 64-bit LCG (Knuth MMIX constants); 53 high bits. */
static double lcg_uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(*s >> 11) + 0.5) * 0x1p-53;
}

/* Sink so the compiler cannot drop the kernel calls. */
static volatile double sink;

/* Best-of-reps ns per element of one activation's fused kernel: float32 (z, h, d
 * are float arrays) or float64 (double arrays). */
static double time_kernel(const vp_act_info *info, int f64, const void *z, void *h, void *d, size_t n,
                          const double *p, double ms, int reps)
{
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        size_t calls = 0;
        double t0 = now_sec(), t;
        do {
            if (f64) info->kernel_f64(z, h, d, n, p);
            else info->kernel_f32(z, h, d, n, p);
            calls++;
            t = now_sec();
        } while (t - t0 < 1e-3 * ms);
        sink = f64 ? ((const double *)h)[n / 2] + ((const double *)d)[n / 3]
                   : (double)((const float *)h)[n / 2] + (double)((const float *)d)[n / 3];
        best = fmin(best, 1e9 * (t - t0) / ((double)calls * (double)n));
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t n = 16384;
    double ms = 40, sigma = 2.0;
    int reps = 5, first_name = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) n = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) ms = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sigma") == 0 && i + 1 < argc) sigma = strtod(argv[++i], NULL);
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: act_kernels [--n N] [--ms T] [--reps K] [--sigma S] [NAME ...]\n");
            return 2;
        } else {
            first_name = i;
            break;
        }
    }
    if (n < 4 || reps < 1 || !(ms > 0)) {
        fprintf(stderr, "act_kernels: need --n >= 4, --reps >= 1, --ms > 0\n");
        return 2;
    }
    float *zf = malloc(n * sizeof *zf), *hf = malloc(n * sizeof *hf), *df = malloc(n * sizeof *df);
    double *zd = malloc(n * sizeof *zd), *hd = malloc(n * sizeof *hd), *dd = malloc(n * sizeof *dd);
    if (!zf || !hf || !df || !zd || !hd || !dd) {
        fprintf(stderr, "act_kernels: out of memory\n");
        return 1;
    }
    uint64_t s = 20240611;
    for (size_t i = 0; i < n; i++) {
        double u1 = lcg_uniform(&s), u2 = lcg_uniform(&s);
        zd[i] = sigma * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        zf[i] = (float)zd[i];
    }
    printf("%-16s %10s %10s   (n = %zu, N(0, %g^2) inputs, best of %d x %g ms)\n", "activation", "f32 ns/el",
           "f64 ns/el", n, sigma, reps, ms);
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        const vp_act_info *info = vp_act_get((vp_act_kind)k);
        if (vp_act_rowwise(info)) continue;
        if (first_name < argc) {
            int wanted = 0;
            for (int i = first_name; i < argc; i++) wanted |= strcmp(argv[i], info->name) == 0;
            if (!wanted) continue;
        }
        vp_act a = vp_act_default((vp_act_kind)k);
        double t32 = time_kernel(info, 0, zf, hf, df, n, a.p, ms, reps);
        double t64 = time_kernel(info, 1, zd, hd, dd, n, a.p, ms, reps);
        printf("%-16s %10.2f %10.2f\n", info->name, t32, t64);
        fflush(stdout);
    }
    free(zf); free(hf); free(df); free(zd); free(hd); free(dd);
    return 0;
}
