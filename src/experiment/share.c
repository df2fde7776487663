/* share: see share.h. Groups are found by a hash of everything the parameters
 * depend on (params_key), confirmed field by field (same_params). */
#include "experiment/share.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

int vp_share_params(const vp_variant *var)
{
    return !vp_init_get(var->winit.kind)->data_dependent;
}

static int same_params(const vp_experiment *e, int ra, int rb)
{
    const vp_variant *a = &e->variants[ra / e->nseeds], *b = &e->variants[rb / e->nseeds];
    if (e->seeds[ra % e->nseeds] != e->seeds[rb % e->nseeds] || !vp_share_params(a) || !vp_share_params(b))
        return 0;
    if (a->L != b->L || a->batch != b->batch || a->prec != b->prec ||
        memcmp(a->widths, b->widths, (size_t)(a->L + 1) * sizeof *a->widths) != 0)
        return 0;
    if (vp_act_zwidth(vp_act_get(a->act.kind), 1) != vp_act_zwidth(vp_act_get(b->act.kind), 1)) return 0;
    return vp_init_same(&a->winit, &b->winit) && vp_init_same(&a->binit, &b->binit);
}

/* Keys are FNV-1a over 64-bit words (base/hash.h): equal parameters give equal keys
 * (the converse is checked with same_params). Runs that never share get their run
 * index mixed in. */
static uint64_t init_key(uint64_t h, const vp_init *in)
{
    h = vp_fnv_u64(h, (uint64_t)in->kind);
    for (int i = 0; i < vp_init_get(in->kind)->nparams; i++) {
        double p = in->p[i] == 0 ? 0.0 : in->p[i]; /* -0 == 0 */
        uint64_t bits;
        memcpy(&bits, &p, sizeof bits);
        h = vp_fnv_u64(h, bits);
    }
    return h;
}
static uint64_t params_key(const vp_experiment *e, int r)
{
    const vp_variant *v = &e->variants[r / e->nseeds];
    uint64_t h = vp_fnv_u64(VP_FNV_OFFSET, e->seeds[r % e->nseeds]);
    if (!vp_share_params(v)) return vp_fnv_u64(h, ~(uint64_t)r);
    h = vp_fnv_u64(h, (uint64_t)v->L);
    h = vp_fnv_u64(h, (uint64_t)v->batch);
    h = vp_fnv_u64(h, (uint64_t)v->prec);
    h = vp_fnv_u64(h, (uint64_t)vp_act_zwidth(vp_act_get(v->act.kind), 1));
    for (int l = 0; l <= v->L; l++) h = vp_fnv_u64(h, (uint64_t)v->widths[l]);
    return init_key(init_key(h, &v->winit), &v->binit);
}

typedef struct { uint64_t key; int r, g; } group_item;
static int cmp_item(const void *pa, const void *pb)
{
    const group_item *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->r > b->r) - (a->r < b->r);
}

vp_status vp_share_group(const vp_experiment *e, int *todo, int n, vp_run_groups *g, vp_err *err)
{
    group_item *it = malloc((size_t)(n ? n : 1) * sizeof *it);
    int *first = malloc((size_t)(n ? n : 1) * sizeof *first);
    g->beg = malloc((size_t)(n + 1) * sizeof *g->beg);
    g->next = malloc((size_t)(n ? n : 1) * sizeof *g->next);
    if (!it || !first || !g->beg || !g->next) {
        free(it);
        free(first);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) it[i] = (group_item){ params_key(e, todo[i]), todo[i], -1 };
    qsort(it, (size_t)n, sizeof *it, cmp_item);
    int ng = 0;
    for (int a = 0, b; a < n; a = b) { /* [a, b): one key; usually one group */
        for (b = a; b < n && it[b].key == it[a].key; b++) {
            for (int k = a; k < b && it[b].g < 0; k++)
                if (same_params(e, it[k].r, it[b].r)) it[b].g = it[k].g;
            if (it[b].g < 0) { it[b].g = ng; first[ng++] = it[b].r; }
        }
    }
    for (int i = 0; i < n; i++) it[i].key = (uint64_t)first[it[i].g];
    qsort(it, (size_t)n, sizeof *it, cmp_item);
    g->ngroups = 0;
    for (int i = 0; i < n; i++) {
        if (i == 0 || it[i].g != it[i - 1].g) {
            g->beg[g->ngroups] = g->next[g->ngroups] = i;
            g->ngroups++;
        }
        todo[i] = it[i].r;
    }
    g->beg[g->ngroups] = n;
    free(it);
    free(first);
    return VP_OK;
}

void vp_share_groups_free(vp_run_groups *g)
{
    free(g->beg);
    free(g->next);
    g->beg = g->next = NULL;
    g->ngroups = 0;
}

int vp_share_next(vp_run_groups *gr, const int *todo, int *next_group, int *g)
{
    if (*g < 0 || gr->next[*g] == gr->beg[*g + 1]) {
        if (*next_group < gr->ngroups) {
            *g = (*next_group)++;
        } else {
            int best = -1, left = 0;
            for (int k = 0; k < gr->ngroups; k++)
                if (gr->beg[k + 1] - gr->next[k] > left) {
                    left = gr->beg[k + 1] - gr->next[k];
                    best = k;
                }
            if (best < 0) return -1;
            *g = best;
        }
    }
    return todo[gr->next[*g]++];
}
