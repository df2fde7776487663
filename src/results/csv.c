/* csv: see csv.h. */
#include "results/csv.h"

#include <math.h>
#include <string.h>

void vp_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void vp_csv_num(FILE *f, double v)
{
    if (isnan(v)) fputs("nan", f);          /* never glibc's "-nan" */
    else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.9g", v == 0 ? 0.0 : v); /* no "-0" */
}

/* ",number", or "," (an empty cell) for NaN, which marks "no value" here. */
static void opt_num(FILE *f, double v)
{
    fputc(',', f);
    if (!isnan(v)) vp_csv_num(f, v);
}

static void run_prefix(FILE *f, const vp_csv_run *r)
{
    fprintf(f, "%d,", r->variant);
    vp_csv_field(f, r->activation);
    fputc(',', f);
    vp_csv_field(f, r->init);
    fprintf(f, ",%llu", (unsigned long long)r->seed);
}

static void sweep_cells(FILE *f, const vp_csv_run *r)
{
    for (int k = 0; k < r->nsweep; k++) {
        fputc(',', f);
        vp_csv_field(f, r->sweep_values[k]);
    }
    fputc('\n', f);
}

static void sweep_header(FILE *f, int nsweep, char *const *keys)
{
    for (int k = 0; k < nsweep; k++) {
        fputc(',', f);
        vp_csv_field(f, keys[k]);
    }
    fputc('\n', f);
}

void vp_csv_layers_header(FILE *f, int theory, int nsweep, char *const *sweep_keys)
{
    fputs("variant,activation,init,seed,layer,fan_in,fan_out,pre_mean,pre_var,post_mean,post_var,"
          "grad_pre_var,grad_post_var,wgrad_var,unit_sq_mean,unit_var,dead_frac,saturated_frac,nonfinite,subnormal", f);
    if (theory) fputs(",theory_pre_var,theory_grad_pre_var", f);
    sweep_header(f, nsweep, sweep_keys);
}

void vp_csv_layers_rows(FILE *f, const vp_csv_run *run, int L, const vp_layer_stats *st, int theory,
                        const double *theory_pre, const double *theory_grad)
{
    for (int l = 0; l < L; l++) {
        const vp_layer_stats *s = &st[l];
        run_prefix(f, run);
        fprintf(f, ",%d,%d,%d", s->layer, s->fan_in, s->fan_out);
        const double v[] = { s->pre_mean, s->pre_var, s->post_mean, s->post_var, s->grad_pre_var,
                             s->grad_post_var, s->wgrad_var, s->unit_sq_mean, s->unit_var,
                             s->dead_frac, s->saturated_frac };
        for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
            fputc(',', f);
            vp_csv_num(f, v[i]);
        }
        fprintf(f, ",%lld,%lld", s->nonfinite, s->subnormal);
        if (theory) {
            opt_num(f, theory_pre ? theory_pre[l] : NAN);
            opt_num(f, theory_grad ? theory_grad[l] : NAN);
        }
        sweep_cells(f, run);
    }
}

void vp_csv_runs_header(FILE *f, int theory, int nsweep, char *const *sweep_keys)
{
    fputs("variant,activation,init,seed,depth,batch,act_ratio,grad_ratio,act_verdict,grad_verdict,"
          "nonfinite,subnormal,xi_grad", f);
    if (theory) fputs(",theory_chi1,theory_xi_c", f);
    fputs(",seconds,status", f);
    sweep_header(f, nsweep, sweep_keys);
}

void vp_csv_runs_row(FILE *f, const vp_csv_run *run, int theory, const vp_csv_summary *s)
{
    run_prefix(f, run);
    fprintf(f, ",%d,%d,", s->depth, s->batch);
    vp_csv_num(f, s->act_ratio);
    fputc(',', f);
    vp_csv_num(f, s->grad_ratio);
    fprintf(f, ",%s,%s,%lld,%lld", s->act_verdict, s->grad_verdict, s->nonfinite, s->subnormal);
    opt_num(f, s->xi_grad);
    if (theory) {
        opt_num(f, s->theory_chi1);
        opt_num(f, s->theory_xi_c);
    }
    fprintf(f, ",%.3f,", s->seconds);
    vp_csv_field(f, s->status);
    sweep_cells(f, run);
}

void vp_csv_hist_header(FILE *f)
{
    fputs("variant,seed,layer,quantity,bin_lo,bin_hi,density\n", f);
}

void vp_csv_hist_rows(FILE *f, const vp_csv_run *run, int layer, const char *quantity,
                      const vp_histogram *h)
{
    double width = (h->hi - h->lo) / h->bins;
    for (int k = 0; k < h->bins; k++) {
        fprintf(f, "%d,%llu,%d,%s,", run->variant, (unsigned long long)run->seed, layer, quantity);
        vp_csv_num(f, h->lo + k * width);
        fputc(',', f);
        vp_csv_num(f, k + 1 == h->bins ? h->hi : h->lo + (k + 1) * width);
        fputc(',', f);
        vp_csv_num(f, h->density[k]);
        fputc('\n', f);
    }
}

void vp_csv_jacobian_header(FILE *f)
{
    fputs("variant,seed,index,singular_value\n", f);
}

void vp_csv_jacobian_rows(FILE *f, const vp_csv_run *run, int n, const double *sv)
{
    for (int i = 0; i < n; i++) {
        fprintf(f, "%d,%llu,%d,", run->variant, (unsigned long long)run->seed, i + 1);
        vp_csv_num(f, sv[i]);
        fputc('\n', f);
    }
}
