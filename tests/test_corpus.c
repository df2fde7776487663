/* Broken-input corpora (tests/corpus/, format in docs/robustness.md):
 *   configs/NAME.json + NAME.expect  through `varprop run` (VARPROP_BIN): exit code,
 *                                    stderr fragments, and nothing written;
 *   data/NAME.idx[.gz] + NAME.expect through vp_idx_load, vp_idx_parse (on the
 *                                    decompressed bytes) and the CLI (as the
 *                                    fashion-mnist train file of a tiny config).
 * Plus what is not committed: a >16 MiB config, written here at test time. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "experiment/config.h"
#include "core/data.h"
#include "harness.h"

#define MAX_CASES 400
#define MAX_FRAGS 16

static char cdir[256];

static void corpus_mk_tmp(void) { vt_mktmp(cdir, sizeof cdir, "/tmp/varprop-corpus-"); }

static void corpus_rm_tmp(void) { vt_rmtree(cdir); }

/* stderr is exactly one line "varprop: ...\n". */
static int one_message_line(const char *err)
{
    const char *nl = strchr(err, '\n');
    return strncmp(err, "varprop: ", 9) == 0 && nl && nl[1] == '\0';
}

/* A .expect file: line 1 the exit code; "@args ..." extra CLI arguments; every
 * other non-empty line a fragment of the message. A fragment "load:..." applies
 * to vp_idx_load and the CLI only, "parse:..." to vp_idx_parse only. */
typedef struct {
    int code;
    char args[256];
    int nfrag;
    char frag[MAX_FRAGS][256];
} expect;

static void read_expect(const char *path, expect *x)
{
    memset(x, 0, sizeof *x);
    FILE *f = fopen(path, "r");
    cr_assert(f, "missing %s", path);
    char line[256];
    cr_assert(fgets(line, sizeof line, f), "%s is empty", path);
    char *end;
    x->code = (int)strtol(line, &end, 10);
    cr_assert(end != line && (*end == '\n' || *end == '\0'), "%s: first line must be the exit code", path);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0]) continue;
        if (strncmp(line, "@args ", 6) == 0) { snprintf(x->args, sizeof x->args, "%s", line + 6); continue; }
        cr_assert(x->nfrag < MAX_FRAGS, "%s: too many fragments", path);
        snprintf(x->frag[x->nfrag++], sizeof x->frag[0], "%s", line);
    }
    fclose(f);
    cr_assert(x->nfrag > 0, "%s names no message fragment", path);
}

/* Fragment i applies to `mode` ("cli", "load" or "parse"); returns the text. */
static const char *frag_for(const expect *x, int i, const char *mode)
{
    const char *f = x->frag[i];
    if (strncmp(f, "load:", 5) == 0) return strcmp(mode, "parse") ? f + 5 : NULL;
    if (strncmp(f, "parse:", 6) == 0) return strcmp(mode, "parse") == 0 ? f + 6 : NULL;
    return f;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names in dir ending in `suffix` (not .expect); returns the count. */
static int list_cases(const char *dir, const char *suffix, char **names)
{
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open %s", dir);
    int n = 0;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l <= sl || strcmp(de->d_name + l - sl, suffix) != 0) continue;
        if (strstr(de->d_name, ".expect")) continue;
        cr_assert(n < MAX_CASES);
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    return n;
}

TestSuite(corpus, .init = corpus_mk_tmp, .fini = corpus_rm_tmp, .timeout = 240);

/* Every committed broken config: the documented exit code, one message with every
 * fragment, and no output folder. */
Test(corpus, every_broken_config_is_refused_and_writes_nothing)
{
    char dir[600], *names[MAX_CASES];
    snprintf(dir, sizeof dir, "%s/tests/corpus/configs", vt_root());
    int n = list_cases(dir, ".json", names);
    cr_assert_geq(n, 80, "the config corpus has only %d cases", n);
    for (int i = 0; i < n; i++) {
        char cfg[900], exp[900], out[400], *err;
        expect x;
        snprintf(cfg, sizeof cfg, "%s/%s", dir, names[i]);
        snprintf(exp, sizeof exp, "%s/%.*s.expect", dir, (int)(strlen(names[i]) - 5), names[i]);
        read_expect(exp, &x);
        snprintf(out, sizeof out, "%s/out", cdir);
        int code = vt_run(cdir, NULL, &err, "run '%s' -o '%s' --no-plot %s", cfg, out, x.args);
        cr_expect_eq(code, x.code, "%s: exit %d, expected %d; stderr: %s", names[i], code, x.code, err);
        for (int k = 0; k < x.nfrag; k++)
            cr_expect(strstr(err, x.frag[k]), "%s: stderr lacks \"%s\": %s", names[i], x.frag[k], err);
        cr_expect(!vt_exists(out), "%s: a refused config wrote %s", names[i], out);
        if (vt_exists(out)) vt_rmtree(out);
        free(err);
        free(names[i]);
    }
}

/* The corpus configs are refused by the library too, before any run: each one either
 * fails vp_config_load with VP_ERR_CONFIG, or (size refusals) parses and is left to
 * the runner's memory estimate. Checks the in-process path frees what it built. */
Test(corpus, broken_configs_fail_in_process_without_leaks)
{
    char dir[600], *names[MAX_CASES];
    snprintf(dir, sizeof dir, "%s/tests/corpus/configs", vt_root());
    int n = list_cases(dir, ".json", names);
    int refused = 0;
    for (int i = 0; i < n; i++) {
        char cfg[900];
        snprintf(cfg, sizeof cfg, "%s/%s", dir, names[i]);
        vp_experiment *e = (vp_experiment *)1;
        vp_err err;
        vp_config_opts o = { strstr(names[i], "max_runs_0") ? 0 : VP_DEFAULT_MAX_RUNS };
        vp_status s = vp_config_load(cfg, &o, &e, &err);
        if (s) {
            cr_expect_eq(s, VP_ERR_CONFIG, "%s: status %d: %s", names[i], (int)s, err.msg);
            cr_expect_null(e, "%s: *out must be NULL on failure", names[i]);
            cr_expect(strlen(err.msg) > 0 && strlen(err.msg) < sizeof err.msg - 1, "%s: message", names[i]);
            refused++;
        } else {
            cr_expect(strstr(names[i], "absurd"), "%s parses in-process: only the size refusals may", names[i]);
            vp_experiment_free(e);
        }
        free(names[i]);
    }
    cr_expect_geq(refused, n - 2, "%d of %d refused by the parser", refused, n);
}

/* > 16 MiB: refused by size before parsing (not committed: written here). */
Test(corpus, enormous_config_is_refused)
{
    char cfg[400], out[400], *err;
    snprintf(cfg, sizeof cfg, "%s/enormous.json", cdir);
    snprintf(out, sizeof out, "%s/out", cdir);
    FILE *f = fopen(cfg, "w");
    cr_assert(f);
    fputs("{\"name\": \"big\", \"description\": \"", f);
    static char chunk[1 << 16];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 17 * 16; i++) fwrite(chunk, 1, sizeof chunk, f); /* 17 MiB */
    fputs("\"}\n", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(vt_run(cdir, NULL, &err, "run '%s' -o '%s'", cfg, out), 2, "%s", err);
    cr_assert(strstr(err, "larger than 16 MiB"), "%s", err);
    cr_assert(!vt_exists(out));
    free(err);
}

/* The decompressed bytes of a (gzip or plain) file, as far as zlib gets. */
static unsigned char *gunzip_all(const char *path, size_t *len)
{
    gzFile gz = gzopen(path, "rb");
    cr_assert(gz, "gzopen %s", path);
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    cr_assert(b);
    for (;;) {
        if (n == cap) { cap *= 2; b = realloc(b, cap); cr_assert(b); }
        int r = gzread(gz, b + n, (unsigned)(cap - n));
        if (r <= 0) break;
        n += (size_t)r;
    }
    gzclose(gz);
    *len = n;
    return b;
}

static void data_expect_path(const char *dir, const char *name, char *out, size_t len)
{
    const char *dot = strstr(name, ".idx");
    cr_assert(dot, "%s: data corpus files are NAME.idx or NAME.idx.gz", name);
    snprintf(out, len, "%s/%.*s.expect", dir, (int)(dot - name), name);
}

Test(corpus, broken_idx_files_are_data_errors_in_the_library)
{
    char dir[600], *names[MAX_CASES];
    snprintf(dir, sizeof dir, "%s/tests/corpus/data", vt_root());
    int n = list_cases(dir, "", names);
    cr_assert_geq(n, 15, "the data corpus has only %d cases", n);
    for (int i = 0; i < n; i++) {
        char path[900], exp[900];
        expect x;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        data_expect_path(dir, names[i], exp, sizeof exp);
        read_expect(exp, &x);
        double *img = (double *)1;
        int dim = -7;
        vp_err err;
        vp_status s = vp_idx_load(path, 2, &img, &dim, &err);
        cr_expect_eq(s, VP_ERR_DATA, "%s: vp_idx_load status %d (%s)", names[i], (int)s, s ? err.msg : "ok");
        cr_expect_null(img, "%s: no images on failure", names[i]);
        if (s) {
            cr_expect(strstr(err.msg, path), "%s: message does not name the file: %s", names[i], err.msg);
            for (int k = 0; k < x.nfrag; k++) {
                const char *fr = frag_for(&x, k, "load");
                if (fr) cr_expect(strstr(err.msg, fr), "%s: load message lacks \"%s\": %s", names[i], fr, err.msg);
            }
        }
        if (!s) free(img);

        size_t len;
        unsigned char *buf = gunzip_all(path, &len);
        img = (double *)1;
        s = vp_idx_parse(buf, len, names[i], 2, &img, &dim, &err);
        cr_expect_eq(s, VP_ERR_DATA, "%s: vp_idx_parse status %d (%s)", names[i], (int)s, s ? err.msg : "ok");
        cr_expect_null(img, "%s: no images on failure", names[i]);
        if (s)
            for (int k = 0; k < x.nfrag; k++) {
                const char *fr = frag_for(&x, k, "parse");
                if (fr) cr_expect(strstr(err.msg, fr), "%s: parse message lacks \"%s\": %s", names[i], fr, err.msg);
            }
        if (!s) free(img);
        free(buf);
        free(names[i]);
    }
}

/* A tiny fashion-mnist config reading TRAIN in the folder `data`. */
static void data_config(const char *cfg, const char *data)
{
    FILE *f = fopen(cfg, "w");
    cr_assert(f);
    fprintf(f, "{\"name\": \"d\", \"network\": {\"depth\": 2, \"width\": 8}, "
               "\"input\": {\"distribution\": \"fashion-mnist\", \"batch\": 2, \"path\": \"%s\"}}\n", data);
    cr_assert_eq(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *b = vt_slurp(from, &n);
    cr_assert(b, "read %s", from);
    FILE *f = fopen(to, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
    free(b);
}

#define TRAIN "train-images-idx3-ubyte.gz"

Test(corpus, broken_idx_files_fail_the_run_naming_the_file)
{
    char dir[600], data[400], cfg[400], *names[MAX_CASES];
    snprintf(dir, sizeof dir, "%s/tests/corpus/data", vt_root());
    snprintf(data, sizeof data, "%s/data", cdir);
    snprintf(cfg, sizeof cfg, "%s/data.json", cdir);
    cr_assert_eq(mkdir(data, 0777), 0);
    data_config(cfg, data);
    int n = list_cases(dir, "", names);
    for (int i = 0; i < n; i++) {
        char src[900], dst[600], exp[900], out[600], *err;
        expect x;
        snprintf(src, sizeof src, "%s/%s", dir, names[i]);
        snprintf(dst, sizeof dst, "%s/" TRAIN, data);
        snprintf(out, sizeof out, "%s/out-%d", cdir, i);
        data_expect_path(dir, names[i], exp, sizeof exp);
        read_expect(exp, &x);
        copy_file(src, dst);
        int code = vt_run(cdir, NULL, &err, "run '%s' -o '%s' --no-plot --quiet --threads 1", cfg, out);
        cr_expect_eq(code, x.code, "%s: exit %d, expected %d: %s", names[i], code, x.code, err);
        cr_expect(strstr(err, TRAIN), "%s: message does not name the file: %s", names[i], err);
        for (int k = 0; k < x.nfrag; k++) {
            const char *fr = frag_for(&x, k, "cli");
            if (fr) cr_expect(strstr(err, fr), "%s: stderr lacks \"%s\": %s", names[i], fr, err);
        }
        char csv[700];
        snprintf(csv, sizeof csv, "%s/layers.csv", out);
        cr_expect(!vt_exists(csv), "%s: results written from a broken data file", names[i]);
        free(err);
        free(names[i]);
    }
}

/* Messages are one line (err.h) and never echo control characters from the
 * config: a name or value holding a newline or a terminal escape sequence must not
 * reach the terminal raw. */
Test(corpus, messages_are_one_line_without_control_characters)
{
    static const char *const cases[] = {
        "name_newline.json", /* {"name": "a\nb"} */
        "control_in_value.json",
    };
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tests/corpus/configs", vt_root());
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char cfg[900], out[400], *err;
        snprintf(cfg, sizeof cfg, "%s/%s", dir, cases[i]);
        snprintf(out, sizeof out, "%s/out", cdir);
        cr_expect_eq(vt_run(cdir, NULL, &err, "run '%s' -o '%s' --no-plot", cfg, out), 2, "%s: %s", cases[i], err);
        cr_expect(one_message_line(err), "%s: expected exactly one \"varprop: ...\" line: %s", cases[i], err);
        int ctl = 0;
        for (const unsigned char *c = (const unsigned char *)err; *c; c++) ctl |= (*c < 0x20 && *c != '\n') || *c == 0x7F;
        cr_expect(!ctl, "%s: the message carries a control character from the config", cases[i]);
        free(err);
    }
}

/* A well-formed IDX file whose images are not 28 x 28: the network's input width
 * (784 for fashion-mnist) disagrees with the data, which must be an error naming
 * the file -- not a read past the end of the image buffer. */
Test(corpus, idx_images_of_the_wrong_size_are_refused)
{
    char data[400], cfg[400], out[400], path[600], *err;
    snprintf(data, sizeof data, "%s/data", cdir);
    snprintf(cfg, sizeof cfg, "%s/data.json", cdir);
    snprintf(out, sizeof out, "%s/out", cdir);
    snprintf(path, sizeof path, "%s/" TRAIN, data);
    cr_assert_eq(mkdir(data, 0777), 0);
    data_config(cfg, data);
    gzFile gz = gzopen(path, "wb");
    cr_assert(gz);
    /* magic 0x803, 4 images of 2 x 2, then 16 pixels */
    static const unsigned char idx[32] = { 0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 2,
                                           1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    cr_assert_eq(gzwrite(gz, idx, sizeof idx), (int)sizeof idx);
    cr_assert_eq(gzclose(gz), Z_OK);
    int code = vt_run(cdir, NULL, &err, "run '%s' -o '%s' --no-plot --quiet --threads 1", cfg, out);
    cr_expect_eq(code, 1, "exit %d: %s", code, err);
    cr_expect(strstr(err, TRAIN), "%s", err);
    free(err);
}
