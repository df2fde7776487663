/* config: see config.h. The document (README "Config reference"):
 *   name*, description, seeds, sweep{"dotted.key": [values...]}, and one variant's keys
 *   (precision, theory, network, input, measure, train, memory, ...: variant.c)
 */
#include "experiment/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/param.h"
#include "experiment/config_parse.h"
#include "experiment/sweep.h"
#include "experiment/variant.h"

/* ---- defaults of the document (the only place they live; a variant's are variant.c's) ---- */
#define DEF_SEEDS 1
#define DEF_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define MAX_CONFIG_BYTES (16L << 20)

#define TOP_KEYS "name description seeds precision theory network input measure train memory memory_checkpoint_every sweep"

/* ---- top level ---- */
void vp_experiment_free(vp_experiment *e)
{
    if (!e) return;
    for (int v = 0; v < e->nvariants && e->variants; v++) vp_cfg_variant_free(&e->variants[v]);
    free(e->variants);
    for (int k = 0; k < e->nsweep && e->sweep_keys; k++) free(e->sweep_keys[k]);
    free(e->sweep_keys);
    if (e->sweep_values)
        for (long i = 0; i < (long)e->nvariants * e->nsweep; i++) free(e->sweep_values[i]);
    free(e->sweep_values);
    free(e->description);
    free(e->source);
    free(e->data_dir);
    free(e->seeds);
    cJSON_free(e->resolved_json);
    free(e);
}

/* ---- seeds: exact 64-bit integers, read from the text of their literals ----
 * cJSON keeps a number as a double only, which would round 2^53 + 1 to 2^53 and
 * 1.0000000000000001 to 1. A valid JSON text holds its number literals in the order
 * of a pre-order walk of its tree, so the k-th number of the tree is the k-th literal
 * of the text (cJSON accepts no other number syntax: a literal starts with '-' or a
 * digit and goes on with digits, '.', 'e', 'E', '+' and '-'). */

/* Number items in the subtree of j. */
static size_t count_numbers(const cJSON *j)
{
    if (cJSON_IsNumber(j)) return 1;
    size_t n = 0;
    for (const cJSON *it = j->child; it; it = it->next) n += count_numbers(it);
    return n;
}

/* Start and length of the number literals k0 .. k0 + n - 1 of the valid JSON text. */
static void number_literals(const char *text, size_t len, size_t k0, size_t n, const char **start, size_t *lens)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k < k0 + n; i++) {
        char ch = text[i];
        if (ch == '"') { /* skip the string: \" and \\ are escapes */
            for (i++; i < len && text[i] != '"'; i++)
                if (text[i] == '\\') i++;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t j = i;
            while (j < len && strchr("0123456789+-.eE", text[j]) && text[j]) j++;
            if (k >= k0) { start[k - k0] = text + i; lens[k - k0] = j - i; }
            k++;
            i = j - 1;
        }
    }
}

#define SEED_RANGE "a whole number from 0 to 18446744073709551615 (2^64 - 1) written in digits"

/* A seed literal: digits only, 0 to 2^64 - 1. */
static int seed_literal(const char *lit, size_t n, uint64_t *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf) return -1;
    for (size_t i = 0; i < n; i++)
        if (lit[i] < '0' || lit[i] > '9') return -1;
    memcpy(buf, lit, n);
    buf[n] = '\0';
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, 10);
    if (errno == ERANGE || v > UINT64_MAX) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* The "seeds" array sd of root: distinct exact integers. */
static vp_status parse_seed_array(vp_cfg_ctx *c, const char *text, size_t len, const cJSON *root, const cJSON *sd,
                                  vp_experiment *e)
{
    int count = cJSON_GetArraySize(sd);
    if (count < 1 || count > 100000) return vp_cfg_fail(c, "seeds", "needs 1 to 100000 seeds, got %d", count);
    e->nseeds = count;
    e->seeds = malloc((size_t)count * sizeof *e->seeds);
    const char **lit = calloc((size_t)count, sizeof *lit); /* not found: NULL, length 0 (refused) */
    size_t *litlen = calloc((size_t)count, sizeof *litlen);
    /* Seeds seen so far, in an open-addressing set (linear probing, 2^k >= 2 count
     * slots, 1 + seed stored so that 0 marks an empty slot; the seed 2^64 - 1 is
     * compared apart): duplicates are found in linear time, at the first repeat in
     * array order. */
    size_t cap = 2;
    while (cap < 2 * (size_t)count) cap *= 2;
    uint64_t *seen = calloc(cap, sizeof *seen);
    vp_status st = VP_OK;
    if (!e->seeds || !lit || !litlen || !seen) st = vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
    size_t before = 0; /* numbers of the document before the seeds */
    for (const cJSON *it = root->child; it && it != sd && !st; it = it->next) before += count_numbers(it);
    if (!st) number_literals(text, len, before, (size_t)count, lit, litlen);
    int i = 0, have_max = 0;
    for (const cJSON *it = sd->child; it && !st; it = it->next, i++) {
        char p[64];
        snprintf(p, sizeof p, "seeds[%d]", i);
        /* every element before this one is a number: this is literal `before + i` */
        if (!cJSON_IsNumber(it)) {
            st = vp_cfg_fail(c, p, "expected " SEED_RANGE ", got %s", vp_cfg_type_name(it));
            break;
        }
        if (seed_literal(lit[i], litlen[i], &e->seeds[i])) {
            st = vp_cfg_fail(c, p, "%.*s is not " SEED_RANGE " (a seed is used exactly: no sign, fraction or "
                             "exponent)", (int)(litlen[i] > 40 ? 40 : litlen[i]), lit[i] ? lit[i] : "");
            break;
        }
        int dup = 0;
        if (e->seeds[i] == UINT64_MAX) {
            dup = have_max;
            have_max = 1;
        } else {
            uint64_t key = e->seeds[i] + 1, h = key * 0x9E3779B97F4A7C15ull;
            size_t k = (size_t)(h >> 32) & (cap - 1);
            while (seen[k] && seen[k] != key) k = (k + 1) & (cap - 1);
            dup = seen[k] != 0;
            seen[k] = key;
        }
        if (dup) st = vp_cfg_fail(c, p, "seed %llu is listed twice", (unsigned long long)e->seeds[i]);
    }
    free(seen);
    free(lit);
    free(litlen);
    return st;
}

static vp_status parse_header(vp_cfg_ctx *c, const char *text, size_t text_len, const cJSON *root, vp_experiment *e)
{
    vp_status s;
    if ((s = vp_cfg_check_keys(c, root, "", TOP_KEYS))) return s;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!name) return vp_cfg_fail(c, "name", "missing; every experiment needs a name (it names the output folders)");
    if (!cJSON_IsString(name)) return vp_cfg_fail(c, "name", "expected a string, got %s", vp_cfg_type_name(name));
    const char *n = name->valuestring;
    size_t len = strlen(n);
    if (len == 0 || len >= VP_NAME_MAX)
        return vp_cfg_fail(c, "name", "must have 1 to %d characters", VP_NAME_MAX - 1);
    if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
        return vp_cfg_fail(c, "name", "\"%s\" is not a plain name (it names a folder)", n);
    if (n[0] == '.')
        return vp_cfg_fail(c, "name", "\"%s\" is not a plain name: it starts with '.', and it names output "
                           "folders (results/<name>, plots/<name>), which would be hidden; start with a letter or digit", n);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)n[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.'))
            return vp_cfg_fail(c, "name", "\"%s\" is not a plain name: it names output folders, so only letters, "
                           "digits, '-', '_' and '.' are allowed (character %zu is not)", n, i + 1);
    }
    memcpy(e->name, n, len + 1);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "description");
    if (d && !cJSON_IsString(d)) return vp_cfg_fail(c, "description", "expected a string, got %s", vp_cfg_type_name(d));
    e->description = strdup(d ? d->valuestring : "");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *pth = cJSON_IsObject(in) ? cJSON_GetObjectItemCaseSensitive(in, "path") : NULL;
    e->data_dir = strdup(cJSON_IsString(pth) ? pth->valuestring : DEF_DATA_DIR);
    if (!e->description || !e->data_dir) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");

    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "seeds");
    if (!sd || cJSON_IsNumber(sd)) {
        int count = DEF_SEEDS;
        if ((s = vp_cfg_get_int(c, root, "seeds", "", 1, 100000, &count, NULL))) return s;
        e->nseeds = count;
        e->seeds = malloc((size_t)count * sizeof *e->seeds);
        if (!e->seeds) return vp_fail(c->err, VP_ERR_NOMEM, "out of memory");
        for (int i = 0; i < count; i++) e->seeds[i] = (uint64_t)i;
    } else if (cJSON_IsArray(sd)) {
        if ((s = parse_seed_array(c, text, text_len, root, sd, e))) return s;
    } else {
        return vp_cfg_fail(c, "seeds", "expected a count N (seeds 0..N-1) or an array of seeds, got %s", vp_cfg_type_name(sd));
    }
    return VP_OK;
}

/* 1-based line and column of byte offset pos of text. */
static void line_col(const char *text, size_t pos, size_t *line, size_t *col)
{
    *line = 1, *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') { ++*line; *col = 1; } else ++*col;
    }
}

/* The usual reasons a hand-written config is not JSON, found outside strings by a scan
 * of the text (cJSON's error offset is often a token or two later): a comment, a
 * trailing comma before } or ], a single-quoted string, two values without a comma
 * between them. Returns the reason and sets *at to its offset, or NULL. */
static const char *json_hint(const char *text, size_t len, size_t *at)
{
    int in_str = 0;
    char prev = 0; /* the last character outside strings and blanks */
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = 0, prev = '"';
            continue;
        }
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
        *at = i;
        if (ch == '/' && i + 1 < len && (text[i + 1] == '/' || text[i + 1] == '*'))
            return "JSON has no comments; remove the comment";
        if ((ch == '}' || ch == ']') && prev == ',') {
            for (*at = i; *at > 0 && text[*at] != ','; --*at) {}
            return ch == '}' ? "a comma before '}' with no member after it; remove the trailing comma"
                             : "a comma before ']' with no value after it; remove the trailing comma";
        }
        if (ch == '\'') return "JSON strings take double quotes (\"...\"), not single quotes";
        if (ch == '"' && prev == '"') return "a ':' or ',' is missing before this string";
        if (ch == '"' && (prev == '}' || prev == ']' || (prev >= '0' && prev <= '9') || prev == 'e' || prev == 'l'))
            return "a comma is missing before this value";
        if (ch == '"') in_str = 1;
        prev = ch;
    }
    return NULL;
}

/* One walk of the (cJSON-parsed) text, outside strings and in them:
 * - *num_at: the offset of the first number outside the grammar of RFC 8259, section 6
 *   -- minus? int frac? exp?, int = 0 | [1-9][0-9]*, frac = . [0-9]+, exp = [eE] [+-]?
 *   [0-9]+ -- or len. cJSON hands any run of [0-9+-.eE] to strtod, so it reads 025156 as
 *   25156 and takes "1.", "-.5" and "1.e3", which jq and Python's json refuse. The walk
 *   stops there (that error is reported first).
 * - *nul_at: the offset of the first \u0000 escape inside a string, or len. cJSON would
 *   decode it to a NUL byte and every C string after it would silently end there
 *   ("a\u0000b" read as "a"), so such a config is refused instead. */
static void scan_values(const char *text, size_t len, size_t *num_at, size_t *nul_at)
{
    int in_string = 0;
    *num_at = *nul_at = len;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_string) {
            if (ch == '"') in_string = 0;
            else if (ch == '\\' && i + 1 < len) {
                if (*nul_at == len && text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
                    *nul_at = i;
                i++; /* the escaped character (a \uXXXX's hex digits are plain characters) */
            }
            continue;
        }
        if (ch == '"') in_string = 1;
        if (ch != '-' && !(ch >= '0' && ch <= '9')) continue;
        size_t j = i + (ch == '-');
#define DIGITS(k) while ((k) < len && text[k] >= '0' && text[k] <= '9') (k)++
        size_t d = j;
        DIGITS(j);
        int ok = j > d && (text[d] != '0' || j == d + 1);
        if (ok && j < len && text[j] == '.') {
            d = ++j;
            DIGITS(j);
            ok = j > d;
        }
        if (ok && j < len && (text[j] == 'e' || text[j] == 'E')) {
            j++;
            if (j < len && (text[j] == '+' || text[j] == '-')) j++;
            d = j;
            DIGITS(j);
            ok = j > d;
        }
#undef DIGITS
        if (!ok || (j < len && text[j] && strchr("0123456789+-.eE", text[j]))) {
            *num_at = i;
            return;
        }
        i = j - 1;
    }
}

/* Offset of the first byte of text that is not part of well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or len. */
static size_t utf8_invalid(const char *text, size_t len)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned c = t[i];
        size_t n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
        if (n == 9 || n > len - 1 - i) return i; /* not a first byte, or cut short */
        /* the second byte's range depends on the first (overlongs, surrogates, > U+10FFFF) */
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        for (size_t k = 1; k <= n; k++)
            if (t[i + k] < (k == 1 ? lo : 0x80) || t[i + k] > (k == 1 ? hi : 0xBF)) return i;
        i += n + 1;
    }
    return len;
}

/* ---- a results folder's config.json run as a config ----
 * config.json (sweep.c) holds the resolved config for readers and, as "source", the
 * config's text as given: `varprop run R/config.json -o R2` parses that text, exactly
 * as the first run did (the seeds from their literals too), so every variant is the
 * same. The resolved keys are not read as a config: they are the base and the sweep,
 * and a sweep that changes an entry's name (train.optimizer.name adam -> adamw,
 * network.init.name) would run with the base entry's parameters. They are compared
 * exactly with what the source gives now (first_diff: numbers as doubles, not within
 * cJSON_Compare's relative epsilon; the seeds by their literals), so
 * an edited record is refused rather than run as something it does not say (and a
 * record of another version whose resolved form differs, which the refusal names). A
 * record before 0.2.2 holds no source. */

static vp_status config_parse(const char *text, size_t len, const char *source, const vp_config_opts *opts,
                              int record_ok, vp_experiment **out, vp_err *err);
static int tree_diff(const cJSON *ja, const char *a_name, const cJSON *jb, const char *b_name, char *out, size_t len);

/* The record's seeds (exact, from their literals in text) against e's. */
static int same_seeds(const char *text, size_t len, const cJSON *root, const vp_experiment *e)
{
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "seeds");
    if (!cJSON_IsArray(sd) || cJSON_GetArraySize(sd) != e->nseeds) return 0;
    vp_err ignore;
    vp_cfg_ctx c = { "record", 0, NULL, NULL, &ignore };
    vp_experiment rec = { .nseeds = 0 };
    int same = !parse_seed_array(&c, text, len, root, sd, &rec) && rec.nseeds == e->nseeds;
    for (int i = 0; same && i < e->nseeds; i++) same = rec.seeds[i] == e->seeds[i];
    free(rec.seeds);
    return same;
}

static vp_status parse_record(const char *text, size_t len, const cJSON *root, const char *name,
                              const vp_config_opts *opts, vp_experiment **out, vp_err *err)
{
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "varprop_version"),
                *src = cJSON_GetObjectItemCaseSensitive(root, "source");
    const char *v = cJSON_IsString(ver) ? ver->valuestring : "";
    if (!v[0] || strlen(v) >= sizeof((vp_experiment *)0)->record_version)
        return vp_fail(err, VP_ERR_CONFIG, "%s: varprop_version: expected the version that wrote this results "
                       "config.json, a string such as \"%s\" (1 to %zu characters)", name, VP_VERSION,
                       sizeof((vp_experiment *)0)->record_version - 1);
    if (!src)
        return vp_fail(err, VP_ERR_CONFIG, "%s: a results config.json of varprop %s, which holds the resolved config "
                       "only; that runs again only through the config it came from (a record of varprop 0.2.2 or "
                       "later holds it as \"source\"), so run that config (a config has no \"varprop_version\")",
                       name, v);
    if (!cJSON_IsString(src))
        return vp_fail(err, VP_ERR_CONFIG, "%s: source: expected the config's text as a JSON string, got %s", name,
                       vp_cfg_type_name(src));
    char inner[600];
    snprintf(inner, sizeof inner, "%s (its \"source\")", name);
    vp_experiment *e = NULL;
    vp_status s = config_parse(src->valuestring, strlen(src->valuestring), inner, opts, 0, &e, err);
    if (s) return s;
    snprintf(e->record_version, sizeof e->record_version, "%s", v);
    /* the record against what its source gives now: the version aside, the seeds by their literals */
    cJSON *was = cJSON_Duplicate(root, 1), *now = cJSON_Parse(e->resolved_json);
    if (!was || !now) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    int same = 0;
    char diff[1500] = "seeds: the record's list is not the source's"; /* the trees, not their prints: cJSON */
    if (!s) {
        cJSON_DeleteItemFromObjectCaseSensitive(was, "varprop_version");
        cJSON_DeleteItemFromObjectCaseSensitive(now, "varprop_version");
        same = same_seeds(text, len, root, e); /* as numbers they could differ past 2^53 unseen */
        cJSON_DeleteItemFromObjectCaseSensitive(was, "seeds");
        cJSON_DeleteItemFromObjectCaseSensitive(now, "seeds");   /* prints 0.1 + 2^-55 as 0.1 */
        same = same && !tree_diff(was, "in the record", now, "from its source", diff, sizeof diff);
    }
    if (!s && !same) {
        char q[8192];
        const char *qname = vp_shell_word(name, q, sizeof q); /* a word of the jq command */
        if (strcmp(v, VP_VERSION) == 0)
            s = vp_fail(err, VP_ERR_CONFIG, "%s: the resolved config differs from what its \"source\" gives (%s): it "
                        "was edited; a results config.json runs from its \"source\", the config as given: copy that "
                        "out as a config and edit it there (jq -r .source %s > my.json)", name, diff, qname);
        else
            s = vp_fail(err, VP_ERR_CONFIG, "%s: written by varprop %s, whose resolved config differs from what this "
                        "version %s makes of its \"source\" (%s); copy the \"source\" out and run it as a config to run "
                        "it with this version (jq -r .source %s > my.json)", name, v, VP_VERSION, diff, qname);
    }
    cJSON_Delete(was);
    cJSON_Delete(now);
    if (s) vp_experiment_free(e);
    else *out = e;
    return s;
}

vp_status vp_config_parse(const char *text, size_t len, const char *source, const vp_config_opts *opts,
                          vp_experiment **out, vp_err *err)
{
    return config_parse(text, len, source, opts, 1, out, err);
}

vp_status vp_config_json(const char *text, size_t len, const char *source, cJSON **out, vp_err *err)
{
    *out = NULL;
    if (len == 0) return vp_fail(err, VP_ERR_CONFIG, "%s: the file is empty; a config is a JSON object", source);
    if (memchr(text, '\0', len))
        return vp_fail(err, VP_ERR_CONFIG, "%s: contains a NUL byte; a config is a JSON text file", source);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t pos = end && end >= text ? (size_t)(end - text) : 0, line, col, last = len;
        while (last > 0 && (text[last - 1] == ' ' || text[last - 1] == '\n' || text[last - 1] == '\r' ||
                            text[last - 1] == '\t'))
            last--;
        size_t at = 0;
        const char *why = json_hint(text, len, &at);
        if (why) {
            line_col(text, at, &line, &col);
            return vp_fail(err, VP_ERR_CONFIG, "%s:%zu:%zu: not valid JSON: %s", source, line, col, why);
        }
        line_col(text, pos < len ? pos : len, &line, &col);
        return vp_fail(err, VP_ERR_CONFIG, "%s:%zu:%zu: not valid JSON%s", source, line, col,
                       pos + 1 >= last ? " (the text ends too early: truncated?)" : "");
    }
    for (const char *p = end; p && p < text + len; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            cJSON_Delete(root);
            return vp_fail(err, VP_ERR_CONFIG, "%s: unexpected text after the JSON object", source);
        }
    size_t num_at, nul_at;
    scan_values(text, len, &num_at, &nul_at);
    if (num_at < len) {
        cJSON_Delete(root);
        size_t line, col, n = 0; /* the number's text: text is not NUL-terminated */
        while (num_at + n < len && strchr("0123456789+-.eE", text[num_at + n]) && text[num_at + n]) n++;
        line_col(text, num_at, &line, &col);
        return vp_fail(err, VP_ERR_CONFIG, "%s:%zu:%zu: not valid JSON: the number %.*s%s; JSON writes numbers without "
                       "leading zeros and with digits on both sides of '.' and after 'e' (25, 0.5, 1e-3)", source,
                       line, col, (int)(n < 40 ? n : 40), text + num_at, n > 40 ? "..." : "");
    }
    /* JSON text is UTF-8 (RFC 8259), and strings reach config.json and the reports:
     * a byte that is not UTF-8 is refused where it is, not copied on. */
    size_t bad = utf8_invalid(text, len);
    if (bad < len || nul_at < len) {
        cJSON_Delete(root);
        size_t at = bad < nul_at ? bad : nul_at, line, col; /* the first of the two */
        char what[160];
        if (bad < nul_at)
            snprintf(what, sizeof what, "the byte at offset %zu (0x%02X) is not valid UTF-8; a config is UTF-8 "
                     "text (JSON)", bad, (unsigned)(unsigned char)text[bad]);
        else
            snprintf(what, sizeof what, "a string holds \\u0000 (a NUL character), which no config value can contain");
        line_col(text, at, &line, &col);
        return vp_fail(err, VP_ERR_CONFIG, "%s:%zu:%zu: %s", source, line, col, what);
    }
    *out = root;
    return VP_OK;
}

/* record_ok: a results config.json is taken (parse_record); not inside one's source. */
static vp_status config_parse(const char *text, size_t len, const char *source, const vp_config_opts *opts,
                              int record_ok, vp_experiment **out, vp_err *err)
{
    *out = NULL;
    vp_cfg_ctx c = { source, 0, NULL, NULL, err };
    cJSON *root = NULL;
    vp_status js = vp_config_json(text, len, source, &root, err);
    if (js) return js;
    if (cJSON_IsObject(root) && cJSON_HasObjectItem(root, "varprop_version")) { /* a results config.json */
        vp_status rs = record_ok ? parse_record(text, len, root, source, opts, out, err)
                                 : vp_fail(err, VP_ERR_CONFIG, "%s: holds a results config.json, not a config", source);
        cJSON_Delete(root);
        return rs;
    }
    if (len > (size_t)MAX_CONFIG_BYTES) { /* a record may be larger (VP_RECORD_MAX_BYTES), a config not */
        cJSON_Delete(root);
        return vp_fail(err, VP_ERR_CONFIG, "%s: larger than %ld MiB; not a config", source, MAX_CONFIG_BYTES >> 20);
    }
    vp_status s = VP_OK;
    vp_experiment *e = calloc(1, sizeof *e);
    vp_variant base = { 0 };
    if (!e || !(e->source = malloc(len + 1))) { s = vp_fail(err, VP_ERR_NOMEM, "out of memory"); goto end; }
    memcpy(e->source, text, len);
    e->source[len] = '\0';
    if (!cJSON_IsObject(root)) { s = vp_fail(err, VP_ERR_CONFIG, "%s: the config must be a JSON object {...}, got %s", source, vp_cfg_type_name(root)); goto end; }
    if ((s = parse_header(&c, text, len, root, e))) goto end;
    if ((s = vp_cfg_variant(&c, root, &base))) goto end;

    s = vp_sweep_expand(&c, root, &base, opts, e);
end:
    cJSON_Delete(root);
    vp_cfg_variant_free(&base);
    if (s) vp_experiment_free(e);
    else *out = e;
    return s;
}

vp_status vp_config_load(const char *path, const vp_config_opts *opts, vp_experiment **out, vp_err *err)
{
    *out = NULL;
    char *buf;
    size_t n;
    vp_err rerr;
    vp_status s = vp_read_file(path, VP_RECORD_MAX_BYTES, &buf, &n, &rerr);
    if (s == VP_ERR_DATA) /* vp_read_file: more than a results config.json can hold */
        return vp_fail(err, VP_ERR_CONFIG, "%s: larger than %zu MiB; neither a config (at most %ld MiB) nor a "
                       "results config.json", path, VP_RECORD_MAX_BYTES >> 20, MAX_CONFIG_BYTES >> 20);
    if (s == VP_ERR_NOMEM) return vp_fail(err, s, "%s", rerr.msg);
    if (s) return vp_fail(err, VP_ERR_CONFIG, "cannot read config: %s", rerr.msg);
    s = vp_config_parse(buf, n, path, opts, out, err);
    free(buf);
    return s;
}

/* ---- comparing two resolved configs ---- */

/* Append ".key" (["key"] for a key with a dot or bracket, as a sweep's keys: the
 * config messages' form) or "[i]" to a JSON path; 0 when it does not fit. */
static int path_push(char *path, size_t len, size_t at, const char *key, int index)
{
    int n = !key                     ? snprintf(path + at, len - at, "[%d]", index)
            : strpbrk(key, ".[]\"") ? snprintf(path + at, len - at, "[\"%s\"]", key)
                                     : snprintf(path + at, len - at, "%s%s", at ? "." : "", key);
    return n > 0 && (size_t)n < len - at;
}

/* The value of a JSON node in at most len - 1 characters ("..." when cut). */
static void value_text(const cJSON *v, char *out, size_t len)
{
    if (cJSON_IsNumber(v)) { /* in full (cJSON prints 15 digits where they compare equal by its epsilon) */
        vp_num_shortest(v->valuedouble, out, len);
        return;
    }
    char *t = v ? cJSON_PrintUnformatted(v) : NULL;
    if (!t) snprintf(out, len, "%s", v ? "?" : "absent");
    else if (strlen(t) < len) snprintf(out, len, "%s", t);
    else snprintf(out, len, "%.*s...", (int)(len > 4 ? len - 4 : 0), t);
    cJSON_free(t);
}

/* Depth-first: 1 with the path of the first place a and b differ (a key present in
 * one only, another type, another value, a list of another length). */
static int first_diff(const cJSON *a, const cJSON *b, char *path, size_t len, size_t at, const cJSON **da,
                      const cJSON **db)
{
    *da = a;
    *db = b;
    if (!a || !b || (a->type & 0xFF) != (b->type & 0xFF)) return 1;
    if (cJSON_IsObject(a)) {
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!path_push(path, len, at, x->string, 0)) { /* too deep to name: the parent's path */
                char deep[64];
                path[at] = '\0';
                if (!first_diff(x, y, deep, sizeof deep, 0, da, db)) continue;
                *da = a;
                *db = b;
                return 1;
            }
            if (first_diff(x, y, path, len, strlen(path), da, db)) return 1;
        }
        for (const cJSON *y = b->child; y; y = y->next)
            if (!cJSON_GetObjectItemCaseSensitive(a, y->string)) {
                if (!path_push(path, len, at, y->string, 0)) return 1;
                *da = NULL;
                *db = y;
                return 1;
            }
        path[at] = '\0';
        return 0;
    }
    if (cJSON_IsArray(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) return 1; /* lists of different lengths: shown whole */
        /* both lists walked together (cJSON_GetArrayItem(a, i) walks from the head: a
         * depth-100000 widths list took minutes) */
        int i = 0;
        for (const cJSON *x = a->child, *y = b->child; x && y; x = x->next, y = y->next, i++) {
            if (!path_push(path, len, at, NULL, i)) { /* too deep to name: the list's path */
                char deep[64];
                path[at] = '\0';
                if (!first_diff(x, y, deep, sizeof deep, 0, da, db)) continue;
                *da = a;
                *db = b;
                return 1;
            }
            if (first_diff(x, y, path, len, strlen(path), da, db)) return 1;
        }
        path[at] = '\0';
        return 0;
    }
    /* scalars, exactly (cJSON_Compare would call numbers within a relative 2^-52 equal) */
    if (cJSON_IsNumber(a)) return a->valuedouble != b->valuedouble;
    if (cJSON_IsString(a)) return strcmp(a->valuestring, b->valuestring) != 0;
    return 0; /* true, false, null: the type says it all */
}

static int tree_diff(const cJSON *ja, const char *a_name, const cJSON *jb, const char *b_name, char *out, size_t len)
{
    char path[256] = "", va[80], vb[80];
    const cJSON *da = NULL, *db = NULL;
    int differ = ja && jb && first_diff(ja, jb, path, sizeof path, 0, &da, &db);
    if (differ && strcmp(path, "source") == 0 && cJSON_IsString(da) && cJSON_IsString(db)) {
        /* config.json's last key: every resolved setting is the same, the text is not */
        snprintf(out, len, "source: the config's text differs, though its settings resolve the same");
    } else if (differ) {
        value_text(da, va, sizeof va);
        value_text(db, vb, sizeof vb);
        snprintf(out, len, "%s: %s %s, %s %s", path[0] ? path : "the whole config", va, a_name, vb, b_name);
    }
    return differ;
}

int vp_config_diff(const char *a, const char *a_name, const char *b, const char *b_name, char *out, size_t len)
{
    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    int differ = tree_diff(ja, a_name, jb, b_name, out, len);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return differ;
}
