/* End-to-end tests of the varprop binary (VARPROP_BIN, set by `make unit`):
 * CSV schema and row counts, exit codes, config errors that write nothing,
 * determinism across --threads, interruption and --resume; and the option parser
 * every subcommand shares (cli_util). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "experiment/config_types.h"
#include "harness.h"
#include "results/table.h"

static char tmpdir[256];

static void mk_tmp(void) { vt_mktmp(tmpdir, sizeof tmpdir, "/tmp/varprop-cli-"); }

static void rm_tmp(void) { vt_rmtree(tmpdir); }

static int same_file(const char *a, const char *b)
{
    char *x = vt_slurp_text(a), *y = vt_slurp_text(b);
    int same = strcmp(x, y) == 0 && x[0];
    free(x);
    free(y);
    return same;
}

#define SMALL "{\"name\":\"small\",\"seeds\":2,\"network\":{\"depth\":5,\"width\":16},\"input\":{\"batch\":8}," \
              "\"measure\":{\"histograms\":{\"layers\":[1,5],\"bins\":10}}," \
              "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\"],\"network.init\":[\"xavier_uniform\",\"he_normal\"]}}"

TestSuite(cli, .init = mk_tmp, .fini = rm_tmp);

Test(cli, help_and_exit_codes)
{
    char *o, *e;
    cr_assert_eq(vt_run(tmpdir, &o, &e, "--help"), 0);
    cr_assert(strstr(o, "run") && strstr(o, "list") && strstr(o, "init"));
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, " "), 2);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "rnu"), 2);
    cr_assert(strstr(e, "did you mean \"run\""), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run --help"), 0);
    cr_assert(strstr(o, "--threads"));
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run"), 2);
    cr_assert(strstr(e, "missing CONFIG"));
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run x.json --thread 2"), 2);
    cr_assert(strstr(e, "did you mean \"--threads\""), "%s", e);
    free(o); free(e);
}

Test(cli, run_writes_the_documented_csv_schema)
{
    char *o, *e, cfg[300], out[300], p[400];
    vt_write_file(tmpdir, "small.json", SMALL);
    snprintf(cfg, sizeof cfg, "%s/small.json", tmpdir);
    snprintf(out, sizeof out, "%s/res", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --threads 2 --plots %s/plots", cfg, out, tmpdir), 0, "%s", e);
    cr_assert(strstr(o, "vanishing") || strstr(o, "stable") || strstr(o, "exploding"), "summary: %s", o);
    cr_assert(strstr(o, out), "where results went: %s", o);
    free(o); free(e);
    snprintf(p, sizeof p, "%s/layers.csv", out);
    char *layers = vt_slurp_text(p);
    const char *hdr = "variant,activation,init,seed,layer,fan_in,fan_out,pre_mean,pre_var,post_mean,post_var,"
                      "grad_pre_var,grad_post_var,wgrad_var,unit_sq_mean,unit_var,dead_frac,saturated_frac,nonfinite,"
                      "subnormal,theory_pre_var,theory_grad_pre_var,theory_chi,pre_corr,theory_pre_corr,network.activation,"
                      "network.init\n";
    cr_assert_eq(strncmp(layers, hdr, strlen(hdr)), 0, "header: %.300s", layers);
    free(layers);
    /* 4 variants x 2 seeds x 5 layers + header */
    cr_assert_eq(vt_count_lines(p), 4 * 2 * 5 + 1);
    snprintf(p, sizeof p, "%s/runs.csv", out);
    cr_assert_eq(vt_count_lines(p), 4 * 2 + 1);
    char *runs = vt_slurp_text(p);
    cr_assert(strstr(runs, "variant,activation,init,seed,depth,batch,act_ratio,grad_ratio,act_verdict,grad_verdict,"
                           "nonfinite,subnormal,xi_grad,theory_chi1,theory_xi_c,xi_c,theory_xi_grad,theory_act_ratio,"
                           "theory_grad_ratio,seconds,status,"
                           "network.activation,network.init\n") == runs, "runs.csv header: %.300s", runs);
    free(runs);
    snprintf(p, sizeof p, "%s/histograms.csv", out);
    /* 8 runs x 2 layers x 3 quantities x 10 bins + header */
    cr_assert_eq(vt_count_lines(p), 8 * 2 * 3 * 10 + 1);
    snprintf(p, sizeof p, "%s/config.json", out);
    char *js = vt_slurp_text(p);
    cJSON *c = cJSON_Parse(js);
    cr_assert(c, "config.json is JSON");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c, "varprop_version")->valuestring, VP_VERSION);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "seeds")), 2);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "variants")), 4);
    cJSON_Delete(c);
    free(js);
    snprintf(p, sizeof p, "%s/.parts", out);
    cr_assert(!vt_exists(p), "fragments are removed after a complete run");
    /* the report's summary puts the theory beside each ratio (runs.csv's theory columns) */
    snprintf(p, sizeof p, "%s/plots/report.md", tmpdir);
    char *md = vt_slurp_text(p);
    cr_assert(strstr(md, "Var[z^L]/Var[z^1] | theory | activations |") &&
              strstr(md, "Var[∂L/∂z^1]/Var[∂L/∂z^L] | theory | gradients |"), "%.2000s", md);
    free(md);
}

Test(cli, same_config_same_bytes_whatever_the_thread_count)
{
    char *o, *e, cfg[300], a[300], b[300], pa[400], pb[400];
    vt_write_file(tmpdir, "small.json", SMALL);
    snprintf(cfg, sizeof cfg, "%s/small.json", tmpdir);
    snprintf(a, sizeof a, "%s/t1", tmpdir);
    snprintf(b, sizeof b, "%s/t2", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --threads 1 --quiet --no-plot", cfg, a), 0, "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --threads 2 --quiet --no-plot", cfg, b), 0, "%s", e);
    free(o); free(e);
    const char *files[] = { "layers.csv", "histograms.csv", "config.json" };
    for (int i = 0; i < 3; i++) {
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        cr_assert(same_file(pa, pb), "%s differs between --threads 1 and 2", files[i]);
    }
}

Test(cli, a_single_big_run_is_identical_with_blas_threads)
{
    /* one run: its pool splits each product into fixed blocks (core/gemm.h: width 600 is
     * two blocks of VP_GEMM_BLOCK = 512); the split must not change the bytes */
    char *o, *e, cfg[300], a[300], b[300], pa[400], pb[400];
    vt_write_file(tmpdir, "one.json",
                  "{\"name\":\"one\",\"network\":{\"depth\":4,\"width\":600},\"input\":{\"batch\":200}}");
    snprintf(cfg, sizeof cfg, "%s/one.json", tmpdir);
    snprintf(a, sizeof a, "%s/o1", tmpdir);
    snprintf(b, sizeof b, "%s/o2", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --threads 1 --quiet --no-plot", cfg, a), 0, "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --threads 2 --quiet --no-plot", cfg, b), 0, "%s", e);
    free(o); free(e);
    snprintf(pa, sizeof pa, "%s/layers.csv", a);
    snprintf(pb, sizeof pb, "%s/layers.csv", b);
    cr_assert(same_file(pa, pb));
}

/* A bad config: exit 2, one message naming the JSON path, nothing written. */
static void bad_config(const char *json, const char *frag)
{
    char *o, *e, cfg[300], out[300];
    vt_write_file(tmpdir, "bad.json", json);
    snprintf(cfg, sizeof cfg, "%s/bad.json", tmpdir);
    snprintf(out, sizeof out, "%s/never", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s", cfg, out), 2, "config %s", json);
    cr_assert(strstr(e, frag), "stderr \"%s\" lacks \"%s\"", e, frag);
    cr_assert(!vt_exists(out), "a refused config wrote %s", out);
    cr_assert(!strstr(o, " runs"), "a refused config printed the run banner: %s", o); /* data, memory too */
    free(o); free(e);
}

Test(cli, config_errors_exit_2_and_write_nothing)
{
    bad_config("{\"name\":\"x\",\"network\":{\"activation\":\"rleu\"}}", "did you mean \"relu\"");
    bad_config("{\"name\":\"x\",\"network\":{\"depth\":-3}}", "network.depth");
    /* a fashion-mnist folder that is not there: the user's error too, found before anything is written */
    bad_config("{\"name\":\"x\",\"network\":{\"depth\":2,\"width\":8},"
               "\"input\":{\"distribution\":\"fashion-mnist\",\"batch\":4,\"path\":\"/no/such/folder\"}}",
               "bad.json: input.path: the fashion-mnist images are not there");
    /* images that are not fashion-mnist's (before: exit 1 after the run banner, neither file nor setting named) */
    {
        char fm[400];
        snprintf(fm, sizeof fm, "%s/notfm", tmpdir);
        mkdir(fm, 0755);
        vt_write_file(fm, "train-images-idx3-ubyte.gz", "not a gzip file, not IDX either");
    }
    {
        char json[800];
        snprintf(json, sizeof json, "{\"name\":\"x\",\"network\":{\"depth\":2,\"width\":8},\"input\":{\"distribution\":"
                 "\"fashion-mnist\",\"batch\":4,\"path\":\"%s/notfm\"}}", tmpdir);
        char *o, *e, cfg[300], out[300];
        vt_write_file(tmpdir, "bad.json", json);
        snprintf(cfg, sizeof cfg, "%s/bad.json", tmpdir);
        snprintf(out, sizeof out, "%s/never", tmpdir);
        cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s", cfg, out), 1, "a malformed data file: exit 1 (%s)", e);
        cr_assert(strstr(e, "bad.json: input.path: not the fashion-mnist images: "), "%s", e);
        cr_assert(strstr(e, "notfm/train-images-idx3-ubyte.gz"), "the file named: %s", e);
        cr_assert(!strstr(o, " runs") && !vt_exists(out), "before the banner, nothing written: %s", o);
        free(o); free(e);
    }
    /* the same for a training data set: its setting named, after the file's (before: "train.dataset: cannot
     * open ...", without the file, after the run banner) */
    bad_config("{\"name\":\"x\",\"network\":{\"depth\":2,\"width\":8},"
               "\"train\":{\"dataset\":{\"name\":\"fashion-mnist\",\"path\":\"/no/such/folder\"}}}",
               "bad.json: train.dataset.path: the fashion-mnist files cannot be read");
    /* ... and where the path is swept, the variant and its sweep value */
    bad_config("{\"name\":\"x\",\"network\":{\"depth\":2,\"width\":8,\"input_dim\":784},"
               "\"train\":{\"dataset\":{\"name\":\"fashion-mnist\"}},"
               "\"sweep\":{\"train.dataset.path\":[\"/no/such/a\",\"/no/such/b\"]}}",
               "bad.json: train.dataset.path (variant 0: sweep[\"train.dataset.path\"] = /no/such/a): the fashion-mnist "
               "files cannot be read");
    bad_config("not json", "not valid JSON");
    bad_config("{\"name\":\"../../tmp/evil\"}", "not a plain name");
    bad_config("{\"name\":\"x\",\"sweep\":{\"network.width\":[8,\"wide\"]}}", "sweep[\"network.width\"][1]");
    /* memory: refused up front with the estimate (before: after the run banner) */
    bad_config("{\"name\":\"x\",\"network\":{\"depth\":2000,\"width\":65536},\"input\":{\"batch\":4096}}",
               "bad.json: one run needs about");
    char *o, *e;
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s/does-not-exist.json", tmpdir), 2);
    cr_assert(strstr(e, "cannot read config"));
    free(o); free(e);
}

Test(cli, unwritable_output_is_a_runtime_error)
{
    char *o, *e, cfg[300];
    vt_write_file(tmpdir, "small.json", SMALL);
    snprintf(cfg, sizeof cfg, "%s/small.json", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o /dev/null/out --quiet", cfg), 1);
    cr_assert(strstr(e, "/dev/null"), "%s", e);
    free(o); free(e);
}

Test(cli, list_prints_every_registry_name)
{
    char *o, *e;
    cr_assert_eq(vt_run(tmpdir, &o, &e, "list"), 0);
    const char *names[] = { "relu", "gelu_tanh", "selu", "hard_swish", "sparse_sigmoid", "xavier_uniform", "he_normal",
                            "variance_scaling", "orthogonal", "lsuv", "mean_field", "trunc_normal", "torch_linear" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) cr_assert(strstr(o, names[i]), "list lacks %s", names[i]);
    cr_assert(strstr(o, "fan_geo_avg"));
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "list activations"), 0);
    cr_assert(!strstr(o, "variance_scaling"));
    cr_expect(strstr(o, "aliases: \"swish\"\n"), "aliases are quoted: %s", o);
    free(o); free(e);
    /* the constant schedule's alias "none" is an alias, not "no aliases" */
    cr_assert_eq(vt_run(tmpdir, &o, &e, "list schedules"), 0);
    cr_expect(strstr(o, "aliases: \"none\"\n") && strstr(o, "aliases: \"step_lr\", \"steplr\"\n"), "%s", o);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "list initialisers"), 2);
    cr_assert(strstr(e, "unknown table initialisers (did you mean \"initializers\"?); tables: activations, "
                        "initializers, optimizers, schedules"), "%s", e); /* a table, not an option */
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "list relu"), 2); /* a row's name: where to find it */
    cr_assert(strstr(e, "relu is an activation, not a table: `varprop list activations` lists every activation"),
              "%s", e);
    free(o); free(e);
    /* the training rows: every optimizer and schedule, with its parameters */
    cr_assert_eq(vt_run(tmpdir, &o, &e, "list optimizers schedules"), 0);
    const char *train[] = { "sgd", "adamw", "nesterov=false", "beta2=0.999", "cosine", "warmup_steps=0" };
    for (size_t i = 0; i < sizeof train / sizeof *train; i++) cr_assert(strstr(o, train[i]), "list lacks %s", train[i]);
    cr_assert(!strstr(o, "he_normal"));
    free(o); free(e);
}

Test(cli, init_prints_the_drawn_weights)
{
    char *o, *e, *o2, *e2;
    cr_assert_eq(vt_run(tmpdir, &o, &e, "init he_normal --fan-in 100 --fan-out 50 --seed 3"), 0, "%s", e);
    int lines = 0;
    double sum = 0, sq = 0;
    for (char *s = o; *s;) {
        char *end;
        double w = strtod(s, &end);
        cr_assert(end != s && *end == '\n');
        sum += w;
        sq += w * w;
        lines++;
        s = end + 1;
    }
    cr_assert_eq(lines, 5000);
    /* He normal: Var = 2/fan_in = 0.02; the sample second moment of 5000 normals has
     * relative standard error sqrt(2/5000) = 2%, so 10% is > 5 standard errors. */
    cr_assert_float_eq(sq / lines, 0.02, 0.002);
    cr_assert(strstr(e, "mean") && strstr(e, "variance") && strstr(e, "expected"), "%s", e);
    cr_assert_eq(vt_run(tmpdir, &o2, &e2, "init kaiming_normal --fan-in 100 --fan-out 50 --seed 3"), 0);
    cr_assert_str_eq(o, o2, "alias gives the same draw");
    free(o); free(e); free(o2); free(e2);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "init orthogonal --fan-in 4 --fan-out 3 --count 5 --param gain=2"), 0, "%s", e);
    int n = 0;
    for (char *s = o; *s; s++) n += *s == '\n';
    cr_assert_eq(n, 5);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "init he_normal --fan-in 3 --fan-out 3 --count 0"), 2,
                 "no values: no mean or variance to report");
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "init xavier_unifrom --fan-in 3 --fan-out 3"), 2);
    cr_assert(strstr(e, "did you mean \"xavier_uniform\""), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "init variance_scaling --fan-in 3 --fan-out 3 --param mode=fan_avgg"), 2);
    cr_assert(strstr(e, "did you mean \"fan_avg\""), "%s", e);
    free(o); free(e);
}

/* SIGINT mid-sweep: exit 130, consistent CSVs of the finished runs, then --resume
 * completes with files byte-identical to an uninterrupted run. */
Test(cli, interrupt_then_resume_gives_identical_results, .timeout = 120)
{
    char cfg[300], full[300], part[300], parts[400], p1[400], p2[400], *o, *e;
    vt_write_file(tmpdir, "many.json",
                  "{\"name\":\"many\",\"seeds\":4,\"network\":{\"depth\":20,\"width\":192},\"input\":{\"batch\":192},"
                  "\"sweep\":{\"network.init\":[\"xavier_uniform\",\"he_normal\",\"lecun_normal\",\"orthogonal\","
                  "\"he_uniform\",\"xavier_normal\",\"torch_linear\",\"lecun_uniform\"],"
                  "\"network.activation\":[\"relu\",\"tanh\",\"gelu\",\"selu\",\"silu\"]}}");
    snprintf(cfg, sizeof cfg, "%s/many.json", tmpdir);
    snprintf(full, sizeof full, "%s/full", tmpdir);
    snprintf(part, sizeof part, "%s/part", tmpdir);
    snprintf(parts, sizeof parts, "%s/.parts", part);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --quiet --threads 2 --no-plot", cfg, full), 0, "%s", e);
    free(o); free(e);

    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        if (chdir(tmpdir) != 0) _exit(126); /* its charts in tmpdir/plots, not the checkout's */
        execl(vt_bin(), "varprop", "run", cfg, "-o", part, "--quiet", "--threads", "2", (char *)NULL);
        _exit(127);
    }
    /* wait until a few runs are complete (their .sum markers exist), then interrupt */
    for (int tries = 0; tries < 20000; tries++) {
        char m[500];
        snprintf(m, sizeof m, "%s/run-0000004.sum", parts);
        if (vt_exists(m)) break;
        usleep(1000);
    }
    kill(pid, SIGINT);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "interrupted run exits 130 (status %d)", st);
    snprintf(p1, sizeof p1, "%s/layers.csv", part);
    int rows = vt_count_lines(p1) - 1;
    cr_assert(rows > 0 && rows % 20 == 0, "partial layers.csv holds whole runs only (%d rows)", rows);
    cr_assert(rows < 160 * 20, "the run was interrupted before the end");
    snprintf(p2, sizeof p2, "%s/runs.csv", part);
    cr_assert_eq(vt_count_lines(p2) - 1, rows / 20, "runs.csv and layers.csv agree");

    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --quiet --threads 1 --resume --no-plot", cfg, part), 0, "%s", e);
    free(o); free(e);
    snprintf(p2, sizeof p2, "%s/layers.csv", full);
    cr_assert(same_file(p1, p2), "resumed layers.csv is byte-identical to the uninterrupted one");
    cr_assert(!vt_exists(parts));
}

/* SMALL's results in tmpdir/r (no note: a new folder), then small.json with 3 seeds
 * instead of 2, whose first difference is "seeds". cfg, out: their paths. */
static void small_results_then_three_seeds(char cfg[300], char out[300])
{
    char *o, *e;
    vt_write_file(tmpdir, "small.json", SMALL);
    snprintf(cfg, 300, "%s/small.json", tmpdir);
    snprintf(out, 300, "%s/r", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, out), 0, "%s", e);
    cr_assert_not(strstr(e, "note:"), "no note into a new folder: %s", e);
    free(o); free(e);
    vt_write_file(tmpdir, "small.json", "{\"name\":\"small\",\"seeds\":3}");
}

Test(cli, resume_refuses_a_different_config)
{
    char *o, *e, cfg[300], out[300];
    small_results_then_three_seeds(cfg, out);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --resume", cfg, out), 2);
    cr_assert(strstr(e, "different config (seeds: [0,1] there, [0,1,2] in this config)"), "%s", e);
    cr_assert(!strstr(o, " runs"), "refused before the run banner: %s", o);
    free(o); free(e);
}

/* Before: the note said only "a different config"; now it says what differs first. */
Test(cli, replacing_another_configs_results_notes_what_differs)
{
    char *o, *e, cfg[300], out[300];
    small_results_then_three_seeds(cfg, out);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, out), 0, "%s", e);
    cr_assert(strstr(e, "holds the results of a different config (seeds: [0,1] there, [0,1,2] in this config)"),
              "%s", e);
    free(o); free(e);
}

/* A folder of another varprop version (its config.json says 0.0.1 here) is named as such:
 * --resume says to resume it with that version (it said "a different config" and to
 * resume with that config, which fails again), a run without --resume notes whose
 * results it replaces. */
Test(cli, another_versions_folder_is_named_by_its_version)
{
    char *o, *e, cfg[300], out[300], path[400];
    vt_write_file(tmpdir, "v.json", "{\"name\":\"v\",\"network\":{\"depth\":2,\"width\":4},\"input\":{\"batch\":4}}");
    snprintf(cfg, sizeof cfg, "%s/v.json", tmpdir);
    snprintf(out, sizeof out, "%s/v", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, out), 0, "%s", e);
    free(o); free(e);
    snprintf(path, sizeof path, "%s/config.json", out);
    char *rec = vt_slurp_text(path), *at = strstr(rec, "\"" VP_VERSION "\"");
    cr_assert(at);
    memcpy(at + 1, "0.0.1", 5); /* VP_VERSION is 5 characters, x.y.z */
    vt_write_file(out, "config.json", rec);
    free(rec);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --resume", cfg, out), 2);
    cr_assert(strstr(e, "--resume: ") && strstr(e, "/v holds the results of varprop 0.0.1, this is varprop " VP_VERSION
                                                    ": resume it with varprop 0.0.1, or run without --resume to start over"),
              "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, out), 0, "%s", e);
    cr_assert(strstr(e, "/v holds varprop 0.0.1's results (this is " VP_VERSION "); this run replaces them"), "%s", e);
    free(o); free(e);
}

/* docs/registry.md is generated from the registry tables; it must not drift. */
Test(cli, registry_doc_is_current)
{
    const char *root = vt_root();
    char p[600], *o, *e;
    snprintf(p, sizeof p, "%s/docs/registry.head.md", root);
    char *head = vt_slurp_text(p);
    snprintf(p, sizeof p, "%s/docs/registry.md", root);
    char *doc = vt_slurp_text(p);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "list --markdown"), 0);
    size_t hl = strlen(head);
    cr_assert(hl > 0 && strncmp(doc, head, hl) == 0 && strcmp(doc + hl, o) == 0,
              "docs/registry.md is out of date: run make docs");
    free(head); free(doc); free(o); free(e);
}

/* gnuplot missing: the CSV results stand, one warning says how to install it, exit 0.
 * When VARPROP_GNUPLOT names a program that does not run, the warning says so instead
 * (it said "install gnuplot", which would not help). */
Test(cli, missing_gnuplot_is_a_warning_not_a_failure)
{
    char *o, *e, cfg[300], p[400];
    vt_write_file(tmpdir, "small.json", SMALL);
    snprintf(cfg, sizeof cfg, "%s/small.json", tmpdir);
    const char *envs[] = { "PATH=/nonexistent VARPROP_GNUPLOT=", "VARPROP_GNUPLOT=/nonexistent/gnuplot" };
    const char *says[] = { "cannot run 'gnuplot'; gnuplot not found: install it (apt-get install gnuplot-nox)",
                           "cannot run '/nonexistent/gnuplot'; VARPROP_GNUPLOT names no program that runs: point it "
                           "at gnuplot, or unset it" };
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/r%d", tmpdir, i);
        cr_assert_eq(vt_run_env(tmpdir, envs[i], &o, &e, "run %s -o %s --plots %s/p --quiet", cfg, p, tmpdir), 0,
                     "%s", e);
        cr_assert(strstr(e, "warning: charts not drawn") && strstr(e, says[i]), "%s", e);
        snprintf(p, sizeof p, "%s/r%d/layers.csv", tmpdir, i);
        cr_assert_eq(vt_count_lines(p), 4 * 2 * 5 + 1);
        snprintf(p, sizeof p, "%s/p", tmpdir);
        cr_assert(!vt_exists(p), "no plots folder without gnuplot");
        free(o); free(e);
    }
}

/* Row-wise activations run end to end: GLU's weights have fan_out 2n, softmax rows
 * sum to 1 so every layer's post_mean is exactly 1/n (up to float32 rounding,
 * 1e-6 relative), and no theory is claimed for them (empty cells). */
Test(cli, rowwise_activations_run)
{
    char *o, *e, cfg[300], p[400];
    vt_write_file(tmpdir, "rw.json", "{\"name\":\"rw\",\"network\":{\"depth\":3,\"width\":16},\"input\":{\"batch\":8},"
                                     "\"sweep\":{\"network.activation\":[\"glu\",\"softmax\",\"sparsemax\",\"log_softmax\"]}}");
    snprintf(cfg, sizeof cfg, "%s/rw.json", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s/r --no-plot --quiet", cfg, tmpdir), 0, "%s", e);
    free(o); free(e);
    snprintf(p, sizeof p, "%s/r/layers.csv", tmpdir);
    vp_table *t;
    vp_err err;
    cr_assert_eq(vp_table_load(p, &t, &err), VP_OK, "%s", err.msg);
    size_t ca, cf, cm, ct, cg;
    cr_assert_eq(vp_table_require(t, "activation", &ca, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "fan_out", &cf, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "post_mean", &cm, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "theory_pre_var", &ct, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "grad_pre_var", &cg, &err), VP_OK);
    cr_assert_eq(vp_table_nrows(t), 4 * 3);
    for (size_t r = 0; r < vp_table_nrows(t); r++) {
        const char *act = vp_table_cell(t, r, ca);
        double fo, pm, g;
        cr_assert_eq(vp_table_num(t, r, cf, &fo, &err), VP_OK);
        cr_assert_eq(vp_table_num(t, r, cm, &pm, &err), VP_OK);
        cr_assert_eq(vp_table_num(t, r, cg, &g, &err), VP_OK);
        cr_expect_eq(fo, strcmp(act, "glu") == 0 ? 32.0 : 16.0, "%s: fan_out %g", act, fo);
        if (strcmp(act, "softmax") == 0 || strcmp(act, "sparsemax") == 0)
            cr_expect(fabs(pm - 1.0 / 16) < 1e-6, "%s: post_mean %.9g, rows sum to 1", act, pm);
        cr_expect(isfinite(g) && g > 0, "%s: grad_pre_var %g", act, g);
        cr_expect_str_empty(vp_table_cell(t, r, ct), "%s: no mean-field prediction", act);
    }
    vp_table_free(t);
}

/* Every subcommand parses its options with the one table-driven parser (cli_util):
 * values as "--opt V" or "--opt=V", ranges, repeatable lists, a value option given
 * twice, unknown options with did-you-mean, one positional argument. */
static int parse_args(const vp_cli_cmd *c, const char *const *args, int n)
{
    char *argv[16];
    for (int i = 0; i < n && i < 16; i++) argv[i] = (char *)args[i];
    return vp_cli_parse(c, n, argv);
}

Test(cli, one_option_parser_for_every_subcommand, .init = cr_redirect_stderr)
{
    const char *s = NULL, *arg = NULL, *list[2];
    long l = 7;
    double d = 1.0;
    int f = 0, n = 0, given = 0;
    const vp_cli_opt opts[] = {
        { .name = "--flag", .flag = &f },
        { .name = "-s", .alias = "--str", .str = &s },
        { .name = "--long", .num_l = &l, .lo = 1, .hi = 10 },
        { .name = "--num", .num_d = &d, .min = 0, .given = &given },
        { .name = "--item", .list = list, .max = 2, .n = &n },
        { .name = NULL },
    };
    const vp_cli_cmd c = { .cmd = "t", .usage = "usage\n", .opts = opts, .arg = &arg, .one_arg = "one X only" };
    const char *ok[] = { "t", "X", "--flag", "--str=a", "--long", "3", "--num=0.5", "--item", "p", "--item=q" };
    cr_assert_eq(parse_args(&c, ok, 10), -1);
    cr_expect(f == 1 && strcmp(s, "a") == 0 && l == 3 && d == 0.5 && given == 1 && strcmp(arg, "X") == 0);
    cr_expect(n == 2 && strcmp(list[0], "p") == 0 && strcmp(list[1], "q") == 0);
    const char *bad[][3] = {
        { "t", "-s", NULL },           /* needs a value */
        { "t", "--long", "11" },       /* out of range */
        { "t", "--num", "-1" },        /* below the minimum */
        { "t", "--lnog", "3" },        /* unknown */
        { "t", "-s=a", "x" },          /* no inline value for a short name: unknown */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        arg = NULL, s = NULL, n = 0;
        cr_expect_eq(parse_args(&c, bad[i], bad[i][2] ? 3 : 2), 2, "case %zu accepted", i);
    }
    const char *twice[] = { "t", "-s", "a", "--str", "b" }, *extra[] = { "t", "X", "Y" };
    const char *third[] = { "t", "--item=1", "--item=2", "--item=3" };
    const char *help[] = { "t", "--bogus-later", "-h" }, *help_first[] = { "t", "-h", "--bogus" };
    arg = NULL, s = NULL, n = 0;
    cr_expect_eq(parse_args(&c, twice, 5), 2);
    arg = NULL;
    cr_expect_eq(parse_args(&c, extra, 3), 2);
    n = 0;
    cr_expect_eq(parse_args(&c, third, 4), 2);
    cr_expect_eq(parse_args(&c, help, 3), 2, "options are read in order");
    cr_redirect_stdout();
    cr_expect_eq(parse_args(&c, help_first, 3), 0);
}

Test(cli, subcommands_share_the_option_and_entry_rules)
{
    char *o, *e, path[600];
    /* the same ordered-pair rule as a config (spec.h) */
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory hard_tanh --param min_val=2 --param max_val=1"), 2);
    cr_expect(strstr(e, "hard_tanh needs min_val < max_val"), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "init uniform --fan-in 2 --fan-out 2 --param a=1 --param b=0"), 2);
    cr_expect(strstr(e, "uniform needs its lower bound below its upper bound"), "%s", e);
    free(o); free(e);
    /* names and parameters with the config's did-you-mean */
    cr_assert_eq(vt_run(tmpdir, &o, &e, "gain rellu"), 2);
    cr_expect(strstr(e, "\"rellu\" is not a known activation (did you mean \"relu\"?)"), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory leaky_relu --param negative_slop=0.2"), 2);
    cr_expect(strstr(e, "did you mean \"negative_slope\""), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "init orthogonal --fan-in 2 --fan-out 2 --param gain=critical --activation gelu"), 2);
    cr_expect(strstr(e, "\"critical\": gelu never reaches chi_1 = 1"), "%s", e);
    free(o); free(e);
    /* the same option rules everywhere: plot's --output=DIR and given-twice, run's too */
    cr_assert_eq(vt_run(tmpdir, &o, &e, "plot x -o a --output=b"), 2);
    cr_expect(strstr(e, "-o is given twice") && strstr(e, "Use varprop plot --help"), "%s", e);
    free(o); free(e);
    /* plot takes a results folder: a config file, a missing path or a folder without
     * config.json is a usage error that says so, and nothing is drawn */
    vt_write_file(tmpdir, "cfg-not-results.json", "{\"name\":\"x\"}");
    cr_assert_eq(vt_run(tmpdir, &o, &e, "plot %s/cfg-not-results.json", tmpdir), 2, "%s", e);
    cr_expect(strstr(e, "is a file, not a results folder") && strstr(e, "cfg-not-results.json"), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "plot %s/no-such-results", tmpdir), 2, "%s", e);
    cr_expect(strstr(e, "no such results folder"), "%s", e);
    free(o); free(e);
    cr_assert_eq(mkdir(strcat(strcpy(path, tmpdir), "/not-results"), 0777), 0);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "plot %s/not-results -o %s/not-results-plots", tmpdir, tmpdir), 2, "%s", e);
    cr_expect(strstr(e, "holds no config.json") && strstr(e, "not a results folder") && !strstr(e, "--resume"),
              "a folder varprop did not make gets no resume hint: %s", e);
    cr_expect_not(vt_exists(strcat(strcpy(path, tmpdir), "/not-results-plots")), "a refused plot made its folder");
    free(o); free(e);
    /* a finished shard: merge, not `run --resume` without its --shard (which would make it another slice) */
    vt_write_file(tmpdir, "sh.json", "{\"name\":\"sh\",\"seeds\":2,\"network\":{\"depth\":2,\"width\":4},"
                                     "\"input\":{\"batch\":4}}");
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s/sh.json --shard 1/2 -o %s/sh-1 --quiet", tmpdir, tmpdir), 0, "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "plot %s/sh-1", tmpdir), 2, "%s", e);
    cr_expect(strstr(e, "is a shard folder") && strstr(e, "varprop merge") && !strstr(e, "--resume"), "%s", e);
    free(o); free(e);
    /* the same shard stopped before its end (no shard.json): finish it with its --shard, then merge */
    cr_assert_eq(unlink(strcat(strcpy(path, tmpdir), "/sh-1/shard.json")), 0);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "plot %s/sh-1", tmpdir), 2, "%s", e);
    cr_expect(strstr(e, "is shard 1/2 of a sweep, stopped before the end") && strstr(e, "--shard 1/2 --resume") &&
              strstr(e, "varprop merge"), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run x.json --threads=2 --threads 3"), 2);
    cr_expect(strstr(e, "--threads is given twice"), "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --sigma-w2=1.5 --json"), 0, "%s", e);
    cr_expect(strstr(o, "\"sigma_w2\":1.5"), "%s", o);
    free(o); free(e);
}

/* A --no-plot run after a run that drew charts into the default plots/<name>: those
 * charts now show other results, and the run says so (run in tmpdir: its default
 * folders are tmpdir/results and tmpdir/plots). */
Test(cli, no_plot_run_notes_the_earlier_charts_left_in_place)
{
    char cfg[300], cd[400], *o, *e;
    vt_write_file(tmpdir, "np.json", "{\"name\":\"np\",\"network\":{\"depth\":2,\"width\":4},\"input\":{\"batch\":4}}");
    snprintf(cfg, sizeof cfg, "%s/np.json", tmpdir);
    snprintf(cd, sizeof cd, "cd '%s' &&", tmpdir);
    cr_assert_eq(vt_run_env(tmpdir, cd, &o, &e, "run %s --no-plot", cfg), 0, "%s", e);
    cr_assert(!strstr(o, "still holds"), "no charts yet: %s", o);
    free(o); free(e);
    cr_assert_eq(vt_run_env(tmpdir, cd, &o, &e, "run %s --quiet", cfg), 0, "%s", e);
    free(o); free(e);
    cr_assert_eq(vt_run_env(tmpdir, cd, &o, &e, "run %s --no-plot", cfg), 0, "%s", e);
    cr_assert(strstr(o, "varprop: note: plots/np/ still holds the charts of an earlier run, not of these results; "
                        "varprop plot results/np redraws them"), "%s", o);
    free(o); free(e);
}

/* selu at depth 50: lecun_normal keeps it near unit variance, he_normal explodes it, and
 * the exploding net's units far below zero give selu'(z) = lambda alpha e^z underflowing
 * to subnormals -- in the exploding variant only. The summary's note named "a vanishing
 * signal" beside an exploding verdict; it now gives the other cause and the variant. */
Test(cli, subnormal_note_names_its_variants_and_both_causes)
{
    char cfg[300], out[300], runs[400], *o, *e;
    vt_write_file(tmpdir, "sn.json", "{\"name\":\"sn\",\"seeds\":2,\"network\":{\"depth\":50,\"width\":64,\"activation\":"
                                     "\"selu\"},\"input\":{\"batch\":32},\"sweep\":{\"network.init\":[\"lecun_normal\","
                                     "\"he_normal\"]}}");
    snprintf(cfg, sizeof cfg, "%s/sn.json", tmpdir);
    snprintf(out, sizeof out, "%s/sn", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --no-plot --threads 1", cfg, out), 0, "%s", e);
    /* runs.csv: subnormal > 0 exactly in variant 1's runs, whose verdicts are exploding */
    snprintf(runs, sizeof runs, "%s/runs.csv", out);
    vp_table *t = NULL;
    vp_err err;
    cr_assert_eq(vp_table_load(runs, &t, &err), VP_OK, "%s", err.msg);
    int cv = vp_table_find(t, "variant"), cs = vp_table_find(t, "subnormal"), ca = vp_table_find(t, "act_verdict");
    cr_assert(cv >= 0 && cs >= 0 && ca >= 0);
    int sub1 = 0;
    for (size_t r = 0; r < vp_table_nrows(t); r++) {
        int v = atoi(vp_table_cell(t, r, (size_t)cv)), sub = atoi(vp_table_cell(t, r, (size_t)cs)) > 0;
        cr_assert_eq(sub, v == 1, "row %zu: variant %d, subnormal %s", r, v, vp_table_cell(t, r, (size_t)cs));
        if (v == 1) cr_assert_str_eq(vp_table_cell(t, r, (size_t)ca), "exploding");
        sub1 += sub;
    }
    vp_table_free(t);
    cr_assert_eq(sub1, 2);
    cr_assert(strstr(o, "2 runs produced subnormal values (finite, with fewer significant bits: a vanishing signal, or "
                        "units deep in a flat region of the activation, as selu/elu's e^z for z << 0 in an exploding "
                        "net; variant 1; column subnormal in layers.csv and runs.csv)"), "%s", o);
    free(o);
    free(e);
}

/* `gain selu` says what PyTorch's 3/4 costs (text and --json "note"); tanh has no note. */
Test(cli, gain_prints_the_registrys_note)
{
    char *o, *e;
    cr_assert_eq(vt_run(tmpdir, &o, &e, "gain selu"), 0, "%s", e);
    cr_assert(strstr(o, "  auto             0.750000   (\"gain\": \"auto\")\n  note: PyTorch's 3/4 is empirical and gives "
                        "up self-normalization"), "%s", o);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "gain selu --json"), 0, "%s", e);
    cr_assert(strstr(o, ",\"note\":\"PyTorch's 3/4 is empirical"), "%s", o);
    free(o); free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "gain tanh"), 0, "%s", e);
    cr_assert(!strstr(o, "note"), "%s", o);
    free(o); free(e);
}
/* LSUV on a net whose layers it cannot rescale: relu under a bias of -1000 passes only
 * b^l from layer 2 on (Var[z^2] = 0), a sweep beside tanh. vp_mlp_lsuv failed ("lsuv:
 * layer 2 has Var[z] = 0 on the input batch; cannot rescale"), the run failed and the
 * whole sweep with it: exit 1, no results, no charts. Such a layer now keeps its drawn
 * weights, the log says so once per run, and every run is measured (relu's dead net
 * vanishes). */
Test(cli, lsuv_on_a_dead_layer_is_a_result_not_a_failed_sweep)
{
    char cfg[300], out[300], *o, *e;
    vt_write_file(tmpdir, "dead.json",
                  "{\"name\":\"dead\",\"seeds\":2,\"network\":{\"depth\":4,\"width\":8,\"init\":\"lsuv\","
                  "\"bias\":{\"name\":\"constant\",\"value\":-1000}},\"input\":{\"batch\":4},"
                  "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\"]}}");
    snprintf(cfg, sizeof cfg, "%s/dead.json", tmpdir);
    snprintf(out, sizeof out, "%s/out", tmpdir);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "run %s -o %s --no-plot --threads 1", cfg, out), 0, "%s", e);
    cr_assert(strstr(e, "varprop: note: run 0 (variant 0, seed 0): lsuv cannot rescale 3 layers (first: layer 2), "
                        "whose Var[z] on the input batch is 0 or not finite; they kept their drawn weights\n"), "%s", e);
    cr_assert(strstr(o, "relu ") && strstr(o, "vanishing"), "%s", o);
    char runs[400];
    snprintf(runs, sizeof runs, "%s/runs.csv", out);
    char *t = vt_slurp_text(runs);
    int rows = 0;
    for (const char *p = t; (p = strstr(p, ",ok")); p++) rows++;
    cr_assert_eq(rows, 4, "every run measured: %s", t);
    free(t);
    free(o);
    free(e);
}
