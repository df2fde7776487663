/* reproduce_checks: see reproduce_checks.h. The strict reader of checks.json: every
 * message is "SOURCE: json.path: what is wrong; allowed: ... (did you mean ...)", as
 * the config parser reports a config's errors (config_parse.c). */
#include "experiment/reproduce_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/param.h"

/* Words of the enums, in enum order (space-separated lists for vp_choice_*). */
static const char TF_WORDS[] = "none log2 ln square abs";
static const char STAT_WORDS[] = "mean median rms max_abs slope norm_var first_below";
static const char SEEDS_WORDS[] = "mean log2_mean pool";

typedef struct {
    const char *source;
    vp_err *err;
} ctx;

/* Ids seen so far (runs' or claims'), in an open-addressing set: linear probing over
 * 2^k >= 2n slots of pointers to the ids (NULL: empty). A file of n runs and claims is
 * checked in linear time (every id against every earlier one, and every claim's run
 * against every run, took 4.4 s for a 0.9-MB checks.json). */
typedef struct {
    const char **slot;
    size_t mask;
} id_set;

static int id_set_init(id_set *s, size_t n)
{
    size_t cap = 2;
    while (cap < 2 * n) cap *= 2;
    s->slot = calloc(cap, sizeof *s->slot);
    s->mask = cap - 1;
    return s->slot != NULL;
}

/* Where id is in s, or the empty slot it would take. */
static const char **id_slot(const id_set *s, const char *id)
{
    size_t k = (size_t)vp_fnv_bytes(VP_FNV_OFFSET, id, strlen(id)) & s->mask;
    while (s->slot[k] && strcmp(s->slot[k], id) != 0) k = (k + 1) & s->mask;
    return &s->slot[k];
}

static vp_status bad(const ctx *c, const char *path, const char *fmt, const char *what, const char *allowed,
                     const char *near)
{
    /* fmt holds one "%s" that stands for `what` (substituted here, not by printf) */
    char msg[600];
    const char *at = strstr(fmt, "%s");
    size_t pre = at ? (size_t)(at - fmt) : strlen(fmt);
    snprintf(msg, sizeof msg, "%.*s%s%s", (int)pre, fmt, at && what ? what : "", at ? at + 2 : "");
    return vp_fail(c->err, VP_ERR_CONFIG, "%s: %s: %s%s%s%s", c->source, path, msg, allowed ? "; allowed: " : "",
                   allowed ? allowed : "", near ? near : "");
}

/* Every key of object o must be one of `keys` (space-separated). */
static vp_status only_keys(const ctx *c, const cJSON *o, const char *path, const char *keys)
{
    if (!cJSON_IsObject(o)) return bad(c, path, "%s", "is not an object", NULL, NULL);
    for (const cJSON *k = o->child; k; k = k->next) {
        if (vp_choice_index(keys, k->string) >= 0) continue;
        char near[160], p[300];
        vp_did_you_mean(k->string, keys, near, sizeof near);
        snprintf(p, sizeof p, "%.200s.%.90s", path, k->string);
        return bad(c, p, "%s", "unknown key", keys, near);
    }
    return VP_OK;
}

/* A string member copied into a fresh allocation ("" when absent and optional). */
static vp_status str_dup(const ctx *c, const cJSON *o, const char *key, const char *path, int required, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[300];
    snprintf(p, sizeof p, "%.200s.%.90s", path, key);
    if (!v && !required) v = NULL;
    else if (!v) return bad(c, p, "%s", "is required", NULL, NULL);
    else if (!cJSON_IsString(v) || !*v->valuestring) return bad(c, p, "%s", "must be a non-empty string", NULL, NULL);
    *out = strdup(v ? v->valuestring : "");
    return *out ? VP_OK : vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
}

/* A short name into a fixed buffer: letters, digits, '_', '-', '.'. */
static vp_status str_id(const ctx *c, const cJSON *o, const char *key, const char *path, int required, char *out,
                        size_t len)
{
    char *s = NULL;
    vp_status st = str_dup(c, o, key, path, required, &s);
    if (st) return st;
    char p[300];
    snprintf(p, sizeof p, "%.200s.%.90s", path, key);
    size_t n = strlen(s);
    int ok = n < len;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
             strchr("_-.", s[i]);
    if (ok) memcpy(out, s, n + 1);
    free(s);
    return ok ? VP_OK : bad(c, p, "%s", "must be a name of letters, digits, '_', '-', '.' (at most 63)", NULL, NULL);
}

static vp_status num(const ctx *c, const cJSON *o, const char *key, const char *path, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[300];
    snprintf(p, sizeof p, "%.200s.%.90s", path, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(c, p, "%s", "must be a finite number", NULL, NULL);
    *out = v->valuedouble;
    return VP_OK;
}

/* An enum word (optional: *out keeps its default when the key is absent). */
static vp_status word(const ctx *c, const cJSON *o, const char *key, const char *path, const char *words, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return VP_OK;
    char p[300], near[160];
    snprintf(p, sizeof p, "%.200s.%.90s", path, key);
    if (!cJSON_IsString(v)) return bad(c, p, "%s", "must be a string", words, NULL);
    int i = vp_choice_index(words, v->valuestring);
    if (i < 0) {
        vp_did_you_mean(v->valuestring, words, near, sizeof near);
        return bad(c, p, "\"%s\" is not known", v->valuestring, words, near);
    }
    *out = i;
    return VP_OK;
}

/* The results file a quantity reads, by its file name (results.h's layouts). */
static vp_status csv_file(const ctx *c, const cJSON *o, const char *path, vp_csv_file *out)
{
    char names[256] = "", p[300], near[160];
    size_t at = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "file");
    for (int f = 0; f < VP_CSV_COUNT; f++) {
        const char *fn = vp_csv_layout_get((vp_csv_file)f)->file;
        if (cJSON_IsString(v) && strcmp(v->valuestring, fn) == 0) {
            *out = (vp_csv_file)f;
            return VP_OK;
        }
        at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", f ? " " : "", fn);
    }
    snprintf(p, sizeof p, "%.200s.file", path);
    if (!cJSON_IsString(v)) return bad(c, p, "%s", "must name a results file", names, NULL);
    vp_did_you_mean(v->valuestring, names, near, sizeof near);
    return bad(c, p, "\"%s\" is not a results file", v->valuestring, names, near);
}

/* A column name: one of the results format's columns, or a swept key (it holds a '.',
 * checked against the file when the quantity is evaluated). */
static vp_status col_name(const ctx *c, const char *name, const char *path)
{
    if (strchr(name, '.')) return VP_OK;
    char names[2048] = "", near[160];
    size_t at = 0;
    for (int k = 0; k < VP_COL_COUNT; k++) {
        if (strcmp(name, vp_col_name((vp_col)k)) == 0) return VP_OK;
        if (at < sizeof names) at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", k ? " " : "", vp_col_name((vp_col)k));
    }
    vp_did_you_mean(name, names, near, sizeof near);
    return bad(c, path, "\"%s\" is not a results column", name, "the columns of README 'Output files' or a swept key",
               near);
}

static void quantity_free(vp_repro_quantity *q)
{
    if (!q) return;
    quantity_free(q->diff[0]);
    quantity_free(q->diff[1]);
    for (int i = 0; i < q->nwhere; i++) free(q->where[i].text);
    free(q);
}

static vp_status parse_where(const ctx *c, const cJSON *w, const char *path, vp_repro_quantity *q)
{
    if (!cJSON_IsObject(w)) return bad(c, path, "%s", "must be an object: column -> value, number or [lo, hi]", NULL, NULL);
    for (const cJSON *k = w->child; k; k = k->next) {
        char p[300];
        snprintf(p, sizeof p, "%.200s.%.90s", path, k->string);
        if (q->nwhere == VP_REPRO_MAX_WHERE) return bad(c, p, "%s", "too many filters (at most 8)", NULL, NULL);
        vp_status st = col_name(c, k->string, p);
        if (st) return st;
        if (strlen(k->string) >= VP_REPRO_ID_MAX) return bad(c, p, "%s", "column name too long", NULL, NULL);
        vp_repro_where *f = &q->where[q->nwhere];
        snprintf(f->col, sizeof f->col, "%s", k->string);
        if (cJSON_IsString(k)) {
            f->kind = VP_WHERE_TEXT;
            if (!(f->text = strdup(k->valuestring))) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
        } else if (cJSON_IsNumber(k) && isfinite(k->valuedouble)) {
            f->kind = VP_WHERE_NUM;
            f->lo = f->hi = k->valuedouble;
        } else if (cJSON_IsArray(k) && cJSON_GetArraySize(k) == 2 && cJSON_IsNumber(k->child) &&
                   cJSON_IsNumber(k->child->next) && k->child->valuedouble <= k->child->next->valuedouble) {
            f->kind = VP_WHERE_RANGE;
            f->lo = k->child->valuedouble;
            f->hi = k->child->next->valuedouble;
        } else {
            return bad(c, p, "%s", "must be a string, a number or [lo, hi] with lo <= hi", NULL, NULL);
        }
        q->nwhere++;
    }
    return VP_OK;
}

static vp_status parse_quantity(const ctx *c, const cJSON *o, const char *path, vp_repro_quantity **out)
{
    vp_repro_quantity *q = calloc(1, sizeof *q);
    if (!q) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    vp_status st = VP_OK;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "diff");
    if (d) {
        st = only_keys(c, o, path, "diff");
        char p[300];
        snprintf(p, sizeof p, "%.200s.diff", path);
        if (!st && !(cJSON_IsArray(d) && cJSON_GetArraySize(d) == 2))
            st = bad(c, p, "%s", "must be [quantity, quantity] (the first minus the second)", NULL, NULL);
        for (int i = 0; !st && i < 2; i++) {
            char pi[320];
            snprintf(pi, sizeof pi, "%s[%d]", p, i);
            st = parse_quantity(c, cJSON_GetArrayItem(d, i), pi, &q->diff[i]);
        }
    } else {
        st = only_keys(c, o, path, "file where column over transform shift stat seeds per_layers below never");
        if (!st) st = csv_file(c, o, path, &q->file);
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "where");
        char p[300];
        snprintf(p, sizeof p, "%.200s.where", path);
        if (!st && w) st = parse_where(c, w, p, q);
        if (!st) st = str_id(c, o, "column", path, 1, q->col, sizeof q->col);
        if (!st) snprintf(p, sizeof p, "%.200s.column", path), st = col_name(c, q->col, p);
        if (!st && cJSON_GetObjectItemCaseSensitive(o, "over")) {
            st = str_id(c, o, "over", path, 1, q->over, sizeof q->over);
            if (!st) snprintf(p, sizeof p, "%.200s.over", path), st = col_name(c, q->over, p);
        }
        int tf = VP_TF_NONE, stat = VP_ST_MEAN, seeds = VP_SEEDS_MEAN;
        if (!st) st = word(c, o, "transform", path, TF_WORDS, &tf);
        if (!st) st = word(c, o, "stat", path, STAT_WORDS, &stat);
        if (!st) st = word(c, o, "seeds", path, SEEDS_WORDS, &seeds);
        if (!st && cJSON_GetObjectItemCaseSensitive(o, "shift")) st = num(c, o, "shift", path, &q->shift);
        q->per_layers = 1;
        if (!st && cJSON_GetObjectItemCaseSensitive(o, "per_layers")) {
            /* a block of k layer rows (a residual block's norm, branch layers and add): the
             * slope is per block when x counts blocks */
            snprintf(p, sizeof p, "%.200s.per_layers", path);
            st = num(c, o, "per_layers", path, &q->per_layers);
            if (!st && !(q->per_layers >= 1 && q->per_layers <= 1e6))
                st = bad(c, p, "%s", "must be a number of layer rows per step of the slope, 1..1e6", NULL, NULL);
            if (!st && stat != VP_ST_SLOPE) st = bad(c, p, "%s", "goes with \"stat\": \"slope\" only", NULL, NULL);
        }
        /* first_below: the threshold and the censoring value, both required, and only with it */
        int has_below = cJSON_HasObjectItem(o, "below"), has_never = cJSON_HasObjectItem(o, "never");
        if (!st && stat == VP_ST_FIRST_BELOW && !(has_below && has_never))
            st = bad(c, path, "%s", "\"stat\": \"first_below\" needs \"below\" (the threshold) and \"never\" (the "
                     "value of a seed that never gets there, e.g. the steps run + 1)", NULL, NULL);
        if (!st && stat != VP_ST_FIRST_BELOW && (has_below || has_never))
            st = bad(c, path, "%s", "below and never go with \"stat\": \"first_below\" only", NULL, NULL);
        if (!st && has_below) st = num(c, o, "below", path, &q->below);
        if (!st && has_never) st = num(c, o, "never", path, &q->never);
        q->tf = (vp_repro_tf)tf;
        q->stat = (vp_repro_stat)stat;
        q->seeds = (vp_repro_seeds)seeds;
    }
    if (st) {
        quantity_free(q);
        return st;
    }
    *out = q;
    return VP_OK;
}

/* "expect": {"value", "tol" | "rel_tol"} or {"max"} or {"min"}, each with a "fast_"
 * twin used by --fast (absent: the full-run number): a fast run's smaller width may
 * move the expected value itself (finite-width terms), and its fewer seeds widen the
 * tolerance. */
static vp_status parse_expect(const ctx *c, const cJSON *o, const char *path, int fast, vp_repro_expect *e)
{
    vp_status st = only_keys(c, o, path, "value fast_value tol rel_tol fast_tol fast_rel_tol max fast_max min fast_min");
    if (st) return st;
    int has_v = cJSON_HasObjectItem(o, "value"), has_max = cJSON_HasObjectItem(o, "max"),
        has_min = cJSON_HasObjectItem(o, "min");
    if (has_v + has_max + has_min != 1)
        return bad(c, path, "%s", "needs exactly one of value (with tol or rel_tol), max, min", NULL, NULL);
    const char *key = has_v ? "value" : has_max ? "max" : "min";
    e->kind = has_v ? VP_EXPECT_NEAR : has_max ? VP_EXPECT_MAX : VP_EXPECT_MIN;
    if ((st = num(c, o, key, path, &e->value))) return st;
    if (!has_v) {
        char fk[16];
        snprintf(fk, sizeof fk, "fast_%s", key);
        if (fast && cJSON_HasObjectItem(o, fk)) st = num(c, o, fk, path, &e->value);
        if (!st && (cJSON_HasObjectItem(o, "tol") || cJSON_HasObjectItem(o, "rel_tol")))
            st = bad(c, path, "%s", "tol and rel_tol go with value, not with max or min", NULL, NULL);
        return st;
    }
    int abs_t = cJSON_HasObjectItem(o, "tol"), rel_t = cJSON_HasObjectItem(o, "rel_tol");
    if (abs_t == rel_t) return bad(c, path, "%s", "value needs exactly one of tol, rel_tol", NULL, NULL);
    e->relative = rel_t;
    const char *tk = rel_t ? "rel_tol" : "tol", *fk = rel_t ? "fast_rel_tol" : "fast_tol";
    if (fast && cJSON_HasObjectItem(o, "fast_value") && (st = num(c, o, "fast_value", path, &e->value))) return st;
    if ((st = num(c, o, tk, path, &e->tol))) return st;
    if (fast && cJSON_HasObjectItem(o, fk) && (st = num(c, o, fk, path, &e->tol))) return st;
    if (!(e->tol > 0)) return bad(c, path, "%s", "the tolerance must be > 0", NULL, NULL);
    if (rel_t) e->tol *= fabs(e->value);
    return VP_OK;
}

/* run_ids: the ids of p's runs. */
static vp_status parse_claim(const ctx *c, const cJSON *o, const char *path, const vp_repro_paper *p,
                             const id_set *run_ids, int fast, vp_repro_claim *cl)
{
    vp_status st = only_keys(c, o, path, "id statement tag source run figure quantity expect why_tol note not_run");
    if (!st) st = str_id(c, o, "id", path, 1, cl->id, sizeof cl->id);
    if (!st) st = str_dup(c, o, "statement", path, 1, &cl->statement);
    if (!st) st = str_dup(c, o, "tag", path, 1, &cl->tag);
    if (!st) st = str_dup(c, o, "source", path, 1, &cl->source);
    if (!st) st = str_dup(c, o, "note", path, 0, &cl->note);
    if (!st) st = str_dup(c, o, "not_run", path, 0, &cl->not_run);
    if (!st) st = str_dup(c, o, "why_tol", path, !*cl->not_run, &cl->why_tol);
    if (st || *cl->not_run) {
        if (!st && (cJSON_HasObjectItem(o, "quantity") || cJSON_HasObjectItem(o, "run")))
            st = bad(c, path, "%s", "a not_run claim has no run or quantity", NULL, NULL);
        return st;
    }
    st = str_id(c, o, "run", path, 1, cl->run, sizeof cl->run);
    char runs[1024] = "", near[160], pr[300];
    snprintf(pr, sizeof pr, "%.200s.run", path);
    if (!st && !*id_slot(run_ids, cl->run)) {
        size_t at = 0;
        for (int i = 0; i < p->nruns && at < sizeof runs - 1; i++)
            at += (size_t)snprintf(runs + at, sizeof runs - at, "%s%s", i ? " " : "", p->runs[i].id);
        vp_did_you_mean(cl->run, runs, near, sizeof near);
        st = bad(c, pr, "\"%s\" is not a run of this paper", cl->run, runs, near);
    }
    if (!st) st = str_id(c, o, "figure", path, 1, cl->figure, sizeof cl->figure);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "quantity"), *e = cJSON_GetObjectItemCaseSensitive(o, "expect");
    char pq[300], pe[300];
    snprintf(pq, sizeof pq, "%.200s.quantity", path);
    snprintf(pe, sizeof pe, "%.200s.expect", path);
    if (!st && !q) st = bad(c, pq, "%s", "is required", NULL, NULL);
    if (!st) st = parse_quantity(c, q, pq, &cl->q);
    if (!st && !e) st = bad(c, pe, "%s", "is required", NULL, NULL);
    if (!st) st = parse_expect(c, e, pe, fast, &cl->expect);
    return st;
}

static vp_status parse_run(const ctx *c, const cJSON *o, const char *path, vp_repro_run_spec *r)
{
    vp_status st = only_keys(c, o, path, "id config fast full_only");
    if (!st) st = str_id(c, o, "id", path, 1, r->id, sizeof r->id);
    if (!st) st = str_id(c, o, "config", path, 1, r->config, sizeof r->config);
    if (!st) st = str_dup(c, o, "full_only", path, 0, &r->full_only);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "fast");
    char p[300];
    snprintf(p, sizeof p, "%.200s.fast", path);
    if (!st && f && !cJSON_IsObject(f)) st = bad(c, p, "%s", "must be an object: dotted config key -> value", NULL, NULL);
    if (!st && f && !(r->fast = cJSON_Duplicate(f, 1))) st = vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    return st;
}

void vp_repro_paper_free(vp_repro_paper *p)
{
    if (!p) return;
    free(p->title);
    for (int i = 0; i < p->nruns; i++) cJSON_Delete(p->runs[i].fast), free(p->runs[i].full_only);
    free(p->runs);
    for (int i = 0; i < p->nclaims; i++) {
        vp_repro_claim *cl = &p->claims[i];
        free(cl->statement), free(cl->tag), free(cl->source), free(cl->why_tol), free(cl->note), free(cl->not_run);
        quantity_free(cl->q);
    }
    free(p->claims);
    memset(p, 0, sizeof *p);
}

vp_status vp_repro_paper_parse(const char *text, size_t len, const char *source, const char *name, int fast,
                               vp_repro_paper *out, vp_err *err)
{
    memset(out, 0, sizeof *out);
    ctx c = { source, err };
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) return vp_fail(err, VP_ERR_CONFIG, "%s: not valid JSON", source);
    snprintf(out->name, sizeof out->name, "%s", name);
    vp_status st = only_keys(&c, root, "checks", "paper runs claims");
    if (!st) st = str_dup(&c, root, "paper", "checks", 1, &out->title);
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs"),
                *claims = cJSON_GetObjectItemCaseSensitive(root, "claims");
    if (!st && !cJSON_IsArray(runs)) st = bad(&c, "checks.runs", "%s", "must be an array of runs", NULL, NULL);
    if (!st && !(cJSON_IsArray(claims) && cJSON_GetArraySize(claims) > 0))
        st = bad(&c, "checks.claims", "%s", "must be a non-empty array of claims", NULL, NULL);
    if (!st) {
        out->nruns = cJSON_GetArraySize(runs);
        out->nclaims = cJSON_GetArraySize(claims);
        out->runs = calloc((size_t)out->nruns + 1, sizeof *out->runs);
        out->claims = calloc((size_t)out->nclaims, sizeof *out->claims);
        if (!out->runs || !out->claims) st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    id_set run_ids = { NULL, 0 }, claim_ids = { NULL, 0 };
    if (!st && (!id_set_init(&run_ids, (size_t)out->nruns) || !id_set_init(&claim_ids, (size_t)out->nclaims)))
        st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    const cJSON *it = st ? NULL : runs->child; /* the lists walked once (cJSON_GetArrayItem walks from the head) */
    for (int i = 0; !st && i < out->nruns; i++, it = it->next) {
        char p[64];
        snprintf(p, sizeof p, "checks.runs[%d]", i);
        st = parse_run(&c, it, p, &out->runs[i]);
        const char **slot = st ? NULL : id_slot(&run_ids, out->runs[i].id);
        if (slot && *slot) st = bad(&c, p, "id \"%s\" is used twice", out->runs[i].id, NULL, NULL);
        else if (slot) *slot = out->runs[i].id;
    }
    it = st ? NULL : claims->child;
    for (int i = 0; !st && i < out->nclaims; i++, it = it->next) {
        char p[64];
        snprintf(p, sizeof p, "checks.claims[%d]", i);
        vp_repro_claim *cl = &out->claims[i];
        st = parse_claim(&c, it, p, out, &run_ids, fast, cl);
        const char **slot = st ? NULL : id_slot(&claim_ids, cl->id);
        if (slot && *slot) st = bad(&c, p, "id \"%s\" is used twice", cl->id, NULL, NULL);
        else if (slot) *slot = cl->id;
    }
    free(run_ids.slot);
    free(claim_ids.slot);
    cJSON_Delete(root);
    if (st) vp_repro_paper_free(out);
    return st;
}

void vp_repro_value_label(const vp_repro_quantity *q, char *buf, size_t len)
{
    if (q->diff[0]) {
        snprintf(buf, len, "difference of two quantities");
        return;
    }
    char tf[16] = "", ratio[160];
    if (q->tf != VP_TF_NONE) vp_choice_word(TF_WORDS, (int)q->tf, tf, sizeof tf);
    if (*q->over) snprintf(ratio, sizeof ratio, "%s / %s", q->col, q->over);
    else snprintf(ratio, sizeof ratio, "%s", q->col);
    int n = q->tf == VP_TF_SQUARE ? snprintf(buf, len, "(%s)^2", ratio)
            : *tf                 ? snprintf(buf, len, "%s(%s)", tf, ratio)
                                  : snprintf(buf, len, "%s", ratio);
    if (q->shift != 0 && n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, " %+g", q->shift);
}
