/* Config parsing: defaults, sweeps, and every class of config error with the
 * message a user sees (JSON path, what is wrong, what is allowed, did you mean). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/spec.h"

static vp_status parse(const char *json, vp_experiment **e, vp_err *err)
{
    vp_config_opts o = { VP_DEFAULT_MAX_RUNS };
    return vp_config_parse(json, strlen(json), "cfg.json", &o, e, err);
}

/* The config must be refused with VP_ERR_CONFIG and a message holding every fragment. */
static void refused(const char *json, const char *frag1, const char *frag2)
{
    vp_experiment *e = NULL;
    vp_err err = { "" };
    vp_status s = parse(json, &e, &err);
    cr_assert_eq(s, VP_ERR_CONFIG, "accepted: %s", json);
    cr_assert_null(e);
    cr_assert(strstr(err.msg, frag1), "message \"%s\" lacks \"%s\"", err.msg, frag1);
    if (frag2) cr_assert(strstr(err.msg, frag2), "message \"%s\" lacks \"%s\"", err.msg, frag2);
}

Test(config, defaults_are_filled_in)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\": \"x\"}", &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->nvariants, 1);
    cr_assert_eq(e->nseeds, 1);
    cr_assert_eq(e->seeds[0], 0);
    const vp_variant *v = &e->variants[0];
    cr_assert_eq(v->L, 20);
    cr_assert_eq(v->widths[0], 256);
    cr_assert_eq(v->widths[20], 256);
    cr_assert_eq(v->act.kind, VP_ACT_RELU);
    cr_assert_eq(v->winit.kind, VP_INIT_KAIMING_NORMAL);
    cr_assert_eq(v->binit.kind, VP_INIT_ZEROS);
    cr_assert_eq(v->batch, 256);
    cr_assert_eq(v->prec, VP_F32);
    cr_assert(strstr(e->resolved_json, "\"varprop_version\""));
    cr_assert(strstr(e->resolved_json, "\"he_normal\""));
    vp_experiment_free(e);
}

Test(config, sweep_is_a_cartesian_product_first_key_slowest)
{
    vp_experiment *e;
    vp_err err;
    const char *j = "{\"name\":\"s\",\"seeds\":[3,7],\"network\":{\"depth\":4,\"width\":8},"
                    "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\"],"
                    "\"network.init\":[\"xavier_uniform\",{\"name\":\"orthogonal\",\"gain\":2},\"lecun_normal\"]}}";
    cr_assert_eq(parse(j, &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->nvariants, 6);
    cr_assert_eq(vp_experiment_runs(e), 12);
    cr_assert_eq(e->seeds[1], 7);
    cr_assert_str_eq(e->sweep_keys[0], "network.activation");
    cr_assert_eq(e->variants[0].act.kind, VP_ACT_RELU);
    cr_assert_eq(e->variants[2].act.kind, VP_ACT_RELU);
    cr_assert_eq(e->variants[3].act.kind, VP_ACT_TANH);
    cr_assert_eq(e->variants[4].winit.kind, VP_INIT_ORTHOGONAL);
    cr_assert_float_eq(e->variants[4].winit.p[0], 2.0, 0);
    cr_assert_str_eq(e->sweep_values[4 * 2 + 1], "orthogonal(gain=2)");
    cr_assert_str_eq(e->sweep_values[5 * 2 + 0], "tanh");
    vp_experiment_free(e);
}

Test(config, sweep_into_a_parameter_of_a_named_init)
{
    vp_experiment *e;
    vp_err err;
    const char *j = "{\"name\":\"p\",\"network\":{\"init\":\"mean_field\",\"activation\":\"tanh\"},"
                    "\"sweep\":{\"network.init.sigma_w\":[0.5,1.5],\"network.init.sigma_b\":[0,0.3]}}";
    cr_assert_eq(parse(j, &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->nvariants, 4);
    cr_assert_float_eq(e->variants[3].winit.p[0], 1.5, 0);
    cr_assert_float_eq(e->variants[3].winit.p[1], 0.3, 0);
    cr_assert_str_eq(e->sweep_values[3 * 2 + 1], "0.3");
    vp_experiment_free(e);
}

/* A parameter of an entry the document leaves at its default is swept on that default
 * (he_normal, relu), and a parameter the default does not have is named as such. */
Test(config, sweep_into_a_parameter_of_a_default_entry)
{
    vp_experiment *e;
    vp_err err;
    const char *j = "{\"name\":\"p\",\"sweep\":{\"network.init.mode\":[\"fan_in\",\"fan_out\"]}}";
    cr_assert_eq(parse(j, &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->nvariants, 2);
    cr_assert_eq(e->variants[1].winit.kind, VP_INIT_KAIMING_NORMAL);
    cr_assert_neq(e->variants[0].winit.p[1], e->variants[1].winit.p[1], "mode is swept");
    vp_experiment_free(e);
    refused("{\"name\":\"x\",\"sweep\":{\"network.init.gain\":[1,2]}}", "sweep[\"network.init.gain\"][0]",
            "he_normal has no parameter \"gain\"");
    refused("{\"name\":\"x\",\"sweep\":{\"network.activation.negative_slope\":[0.1]}}",
            "sweep[\"network.activation.negative_slope\"][0]", "relu takes no parameters");
}

/* A value listed twice would run one variant twice: refused, whatever its spelling. */
Test(config, a_swept_value_listed_twice_is_refused)
{
    refused("{\"name\":\"x\",\"sweep\":{\"network.activation\":[\"tanh\",\"relu\",\"tanh\"]}}",
            "sweep[\"network.activation\"][2]: the same value as sweep[\"network.activation\"][0] (both: tanh)", "seeds");
    refused("{\"name\":\"x\",\"network\":{\"init\":\"mean_field\"},\"sweep\":{\"network.init.sigma_w\":[1,1.5,1.0]}}",
            "sweep[\"network.init.sigma_w\"][2]: the same value as sweep[\"network.init.sigma_w\"][0]", NULL);
    refused("{\"name\":\"x\",\"sweep\":{\"network.depth\":[3,4],\"network.init\":[\"orthogonal\","
            "{\"gain\":1,\"name\":\"orthogonal\"}]}}",
            "sweep[\"network.init\"][1]: the same value as sweep[\"network.init\"][0] (both: orthogonal)", NULL);
    /* ... while values that differ in their last bit are different variants */
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"x\",\"network\":{\"init\":\"mean_field\"},"
                       "\"sweep\":{\"network.init.sigma_w\":[1,1.0000000000000002]}}", &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->nvariants, 2);
    vp_experiment_free(e);
}

/* A long sweep of one value listed over and over (200000 times: --max-runs 0) is refused
 * at the first pair in variant order, here the 9 listed twice before the 3 comes back.
 * (Every listing of a value was compared with every other: 200000 took minutes; the
 * timeout only keeps that from hanging the suite.) */
Test(config, a_value_listed_200000_times_is_refused_at_the_first_pair, .timeout = 60)
{
    enum { N = 200000 };
    char *j = malloc(2 * N + 256);
    cr_assert_not_null(j);
    size_t u = (size_t)sprintf(j, "{\"name\":\"x\",\"network\":{\"depth\":1,\"width\":2},\"input\":{\"batch\":1},"
                                  "\"sweep\":{\"input.batch\":[3,9,9");
    for (int i = 3; i < N; i++) u += (size_t)sprintf(j + u, ",3");
    strcpy(j + u, "]}}");
    vp_config_opts o = { 0 };
    vp_experiment *e = NULL;
    vp_err err = { "" };
    cr_assert_eq(vp_config_parse(j, strlen(j), "cfg.json", &o, &e, &err), VP_ERR_CONFIG, "accepted");
    cr_assert_null(e);
    cr_assert(strstr(err.msg, "sweep[\"input.batch\"][2]: the same value as sweep[\"input.batch\"][1] (both: 9)"), "%s",
              err.msg);
    free(j);
}

/* A block network whose blocks all set their own activation / init / bias takes none of
 * the network's defaults: sweeping one (or a parameter of it) would give the same
 * network under different labels. Refused; a default that one block takes is fine. */
Test(config, a_sweep_over_a_default_no_block_takes_is_refused)
{
#define BLOCKS(b0, b1, sweep) "{\"name\":\"x\",\"input\":{\"batch\":4},\"network\":{\"input_dim\":8," \
    "\"init\":\"xavier_normal\",\"layers\":[{\"type\":\"dense\",\"width\":8" b0 "}," \
    "{\"type\":\"repeat\",\"count\":2,\"layers\":[{\"type\":\"dense\",\"width\":8" b1 "}]}]},\"sweep\":{" sweep "}}"
#define OWN ",\"activation\":\"tanh\",\"init\":\"he_normal\",\"bias\":\"zeros\""
    refused(BLOCKS(OWN, OWN, "\"network.init\":[\"he_normal\",\"orthogonal\"]"),
            "sweep[\"network.init\"]: no layer takes network.init: every dense and conv2d block", "network.layers[0].init");
    refused(BLOCKS(OWN, OWN, "\"network.init.gain\":[1,2]"), "sweep[\"network.init.gain\"]: no layer takes network.init",
            NULL);
    /* the example is the first block that sets its own, a key that can be swept */
    refused("{\"name\":\"x\",\"input\":{\"batch\":4},\"network\":{\"input_dim\":8,\"layers\":[{\"type\":\"repeat\","
            "\"count\":2,\"layers\":[{\"type\":\"dense\",\"width\":8,\"init\":\"he_normal\"}]}]},"
            "\"sweep\":{\"network.init\":[\"he_normal\",\"orthogonal\"]}}",
            "no layer takes network.init", "sweep a block's own key (e.g. \"network.layers[0].layers[0].init\")");
    refused(BLOCKS(OWN, OWN, "\"network.activation\":[\"relu\",\"selu\"]"),
            "sweep[\"network.activation\"]: no layer takes network.activation", NULL);
    refused(BLOCKS(OWN, OWN, "\"network.bias\":[\"zeros\",\"ones\"]"), "sweep[\"network.bias\"]: no layer takes network.bias",
            "sets the biases");
    /* the repeated block (the second and third layers) takes the default: three variants */
    const char *ok[] = { BLOCKS(OWN, ",\"activation\":\"tanh\",\"bias\":\"zeros\"",
                                "\"network.init\":[\"he_normal\",\"orthogonal\",\"xavier_uniform\"]"),
                         BLOCKS(OWN, OWN, "\"network.layers[0].init\":[\"he_normal\",\"orthogonal\",\"lecun_normal\"]") };
    for (int i = 0; i < 2; i++) {
        vp_experiment *e;
        vp_err err;
        cr_assert_eq(parse(ok[i], &e, &err), VP_OK, "%s", err.msg);
        cr_assert_eq(e->nvariants, 3);
        vp_experiment_free(e);
    }
#undef OWN
#undef BLOCKS
}

/* delta_orthogonal is a conv2d block's own init: as network.init the refusal says where it goes. */
Test(config, delta_orthogonal_as_network_init_says_where_it_goes)
{
    refused("{\"name\":\"x\",\"network\":{\"init\":\"delta_orthogonal\"}}",
            "network.init: \"delta_orthogonal\" is a conv2d block's own initializer", "in the blocks of network.layers");
    refused("{\"name\":\"x\",\"sweep\":{\"network.depht\":[2,3]}}", "not a sweepable key",
            "any key inside network.layers");
    /* a misspelt gain word is echoed, with the nearest word */
    refused("{\"name\":\"x\",\"network\":{\"init\":{\"name\":\"orthogonal\",\"gain\":\"critcal\"}}}",
            "network.init.gain: expected a number, \"auto\" or \"critical\", got \"critcal\"",
            "(did you mean \"critical\"?)");
}

/* A yes/no parameter takes a JSON boolean (or its word), and config.json writes the boolean. */
Test(config, a_switch_parameter_is_a_json_boolean)
{
#define SWITCH_CFG(v) "{\"name\":\"x\",\"network\":{\"depth\":2,\"width\":4,\"input_dim\":8}," \
                      "\"train\":{\"dataset\":{\"name\":\"synthetic\",\"dim\":8}," \
                      "\"optimizer\":{\"name\":\"sgd\",\"momentum\":0.9,\"nesterov\":" v "}}}"
    const char *ok[] = { SWITCH_CFG("true"), SWITCH_CFG("\"true\"") };
    for (int i = 0; i < 2; i++) {
        const char *j = ok[i];
        vp_experiment *e;
        vp_err err;
        cr_assert_eq(parse(j, &e, &err), VP_OK, "%s", err.msg);
        cr_expect_eq(e->variants[0].train.optim.p[VP_SGD_NESTEROV], 1.0);
        const char *nv = strstr(e->resolved_json, "\"nesterov\":");
        cr_assert(nv, "%s", e->resolved_json);
        nv += strlen("\"nesterov\":");
        while (*nv == ' ' || *nv == '\t') nv++;
        cr_expect(strncmp(nv, "true", 4) == 0, "config.json writes the boolean: %s", e->resolved_json);
        vp_experiment_free(e);
    }
    refused(SWITCH_CFG("1"), "train.optimizer.nesterov", "false, true");
#undef SWITCH_CFG
}

Test(config, auto_gain_resolves_to_pytorch_gain)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"g\",\"network\":{\"activation\":\"tanh\",\"init\":{\"name\":\"xavier_normal\",\"gain\":\"auto\"}}}",
                       &e, &err), VP_OK, "%s", err.msg);
    cr_assert_float_eq(e->variants[0].winit.p[0], 5.0 / 3.0, 1e-15);
    vp_experiment_free(e);
}

/* PyTorch has no gain for gelu: "auto" is then the variance-preserving gain
 * 1/sqrt(E[gelu(z)^2]) = 1/sqrt(0.425221) (initializers.md §4.2, 4 printed digits). */
Test(config, auto_gain_without_pytorch_gain_preserves_the_second_moment)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"g\",\"network\":{\"activation\":\"gelu\",\"init\":{\"name\":\"orthogonal\",\"gain\":\"auto\"}}}",
                       &e, &err), VP_OK, "%s", err.msg);
    cr_assert_float_eq(e->variants[0].winit.p[0], 1.5335, 1e-4);
    vp_experiment_free(e);
}

/* "critical": chi_1 = 1 at sigma_b^2 = 0 -- sigma_w^2 = 1/phi'(0)^2 = 1 for tanh,
 * 1/E[relu'(z)^2] = 2 for relu; gelu never gets there (varprop gain gelu). */
Test(config, critical_gain_puts_the_net_at_chi1_equal_1)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"c\",\"network\":{\"init\":{\"name\":\"orthogonal\",\"gain\":\"critical\"}},"
                       "\"sweep\":{\"network.activation\":[\"tanh\",\"relu\"]}}", &e, &err), VP_OK, "%s", err.msg);
    cr_assert_float_eq(e->variants[0].winit.p[0], 1.0, 1e-9);
    cr_assert_float_eq(e->variants[1].winit.p[0], M_SQRT2, 1e-9);
    cr_assert_str_eq(e->sweep_values[0], "tanh");
    cr_assert(strstr(e->resolved_json, "\"critical\""));
    vp_experiment_free(e);
    refused("{\"name\":\"c\",\"network\":{\"activation\":\"gelu\",\"init\":{\"name\":\"orthogonal\",\"gain\":\"critical\"}}}",
            "network.init.gain", "never reaches chi_1 = 1");
}

Test(config, widths_give_a_non_uniform_net)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"w\",\"network\":{\"widths\":[10,20,5]}}", &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->variants[0].L, 2);
    cr_assert_eq(e->variants[0].widths[1], 20);
    vp_experiment_free(e);
}

Test(config, fashion_mnist_sets_input_dim)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\":\"f\",\"input\":{\"distribution\":\"fashion-mnist\",\"batch\":64}}", &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->variants[0].widths[0], 784);
    cr_assert_eq(e->variants[0].input, VP_INPUT_FASHION_MNIST);
    vp_experiment_free(e);
    refused("{\"name\":\"f\",\"network\":{\"input_dim\":100},\"input\":{\"distribution\":\"fashion-mnist\"}}",
            "network.input_dim", "784");
    refused("{\"name\":\"f\",\"input\":{\"distribution\":\"fashion-mnist\",\"batch\":60001}}", "input.batch", "60000");
}

Test(config, not_json)
{
    refused("", "empty", NULL);
    refused("{\"name\": \"x\",\n  \"seeds\": }", "cfg.json:2:", "not valid JSON");
    refused("{\"name\": \"x\", \"network\": {\"depth\": 3", "truncated", NULL);
    refused("[1, 2]", "must be a JSON object", NULL);
    refused("{\"name\":\"x\"} trailing", "after the JSON", NULL);
    /* the usual slips of a hand-written config, named where they are (not where cJSON stopped) */
    refused("{\"name\": \"x\", // mine\n \"seeds\": 2}", "cfg.json:1:15: not valid JSON", "no comments");
    refused("{\"name\": \"x\",\n \"network\": {\"depth\": 3,}}", "cfg.json:2:24:", "trailing comma");
    refused("{\"name\": \"x\", \"seeds\": [1, 2, ]}", "cfg.json:1:29:", "comma before ']'");
    refused("{'name': 'x'}", "cfg.json:1:2:", "double quotes");
    refused("{\"name\": \"x\"\n \"seeds\": 2}", "cfg.json:2:2:", "':' or ',' is missing");
    refused("{\"name\": \"x\", \"seeds\": 2 \"theory\": true}", "cfg.json:1:26:", "comma is missing");
    /* ... but not inside a string, whatever it holds */
    refused("{\"name\": \"x\", \"description\": \"a, } // b \\\" ,]\"", "truncated", NULL);
    /* numbers outside JSON's grammar, which cJSON reads through strtod (025 as 25) */
    refused("{\"name\": \"x\",\n \"network\": {\"depth\": 025}}", "cfg.json:2:23: not valid JSON: the number 025;",
            "without leading zeros");
    refused("{\"name\": \"x\", \"seeds\": [1, 00]}", "cfg.json:1:28:", "the number 00;");
    refused("{\"name\": \"x\", \"input\": {\"std\": 1.}}", "cfg.json:1:32:", "the number 1.;");
    refused("{\"name\": \"x\", \"input\": {\"std\": -.5}}", "the number -.5;", NULL);
    refused("{\"name\": \"x\", \"input\": {\"std\": 2.e-1}}", "the number 2.e-1;", NULL);
    /* a number at the very end of a text that is not NUL-terminated: its message stops at
     * the text's end (the scan read on past it: the fuzzer's 00001e308) */
    {
        const char buf[] = "00001e3089999";
        vp_experiment *ne = NULL;
        vp_err nerr;
        vp_config_opts no = { 0 };
        cr_assert_eq(vp_config_parse(buf, 9, "end.json", &no, &ne, &nerr), VP_ERR_CONFIG);
        cr_assert(strstr(nerr.msg, "end.json:1:1: not valid JSON: the number 00001e308; "), "%s", nerr.msg);
    }
    /* ... and every form the grammar has is taken, also a number-like string */
    vp_experiment *ok = NULL;
    vp_err oerr;
    vp_config_opts oo = { 0 };
    const char *fine = "{\"name\": \"x\", \"description\": \"025 1. -.5\", \"seeds\": [0, 10], \"network\": "
                       "{\"depth\": 2, \"width\": 4}, \"input\": {\"std\": 0.5e+0, \"batch\": 1E1, \"correlation\": -0.0}}";
    cr_assert_eq(vp_config_parse(fine, strlen(fine), "fine", &oo, &ok, &oerr), VP_OK, "%s", oerr.msg);
    cr_assert_eq(ok->variants[0].batch, 10);
    vp_experiment_free(ok);
    const char bin[] = "{\"name\":\"x\0\"}";
    vp_experiment *e = NULL;
    vp_err err;
    vp_config_opts o = { 0 };
    cr_assert_eq(vp_config_parse(bin, sizeof bin - 1, "bin", &o, &e, &err), VP_ERR_CONFIG);
    cr_assert(strstr(err.msg, "NUL"));
}

Test(config, deeply_nested_json_is_refused_not_crashed)
{
    static char buf[20000];
    size_t n = 0;
    n += (size_t)sprintf(buf, "{\"name\":\"x\",\"description\":");
    for (int i = 0; i < 5000; i++) buf[n++] = '[';
    for (int i = 0; i < 5000; i++) buf[n++] = ']';
    buf[n++] = '}';
    buf[n] = 0;
    refused(buf, "not valid JSON", NULL);
}

Test(config, unknown_keys_with_did_you_mean)
{
    refused("{\"name\":\"x\",\"netwrok\":{}}", "netwrok: unknown key", "did you mean \"network\"");
    refused("{\"name\":\"x\",\"network\":{\"dept\":3}}", "network.dept: unknown key", "did you mean \"depth\"");
    refused("{\"name\":\"x\",\"input\":{\"batch\":3,\"batch\":4}}", "input.batch", "twice");
}

Test(config, wrong_types_and_ranges)
{
    refused("{\"name\":\"x\",\"network\":{\"depth\":\"50\"}}", "network.depth", "expected an integer, got a string");
    refused("{\"name\":\"x\",\"network\":{\"depth\":2.5}}", "network.depth", "not an integer");
    refused("{\"name\":\"x\",\"network\":{\"depth\":0}}", "network.depth", "out of range");
    refused("{\"name\":\"x\",\"network\":{\"width\":-4}}", "network.width", "out of range");
    refused("{\"name\":\"x\",\"network\":{\"width\":1e999}}", "network.width", "not a finite number");
    refused("{\"name\":\"x\",\"input\":{\"batch\":1e12}}", "input.batch", "out of range");
    refused("{\"name\":\"x\",\"theory\":1}", "theory", "expected true or false");
    refused("{\"name\":\"x\",\"network\":{\"init\":{\"name\":\"normal\",\"std\":-1}}}", "network.init.std", "out of range");
    /* an excluded end is shown excluded: Adam's betas stop at the largest double below 1 */
    refused("{\"name\":\"x\",\"network\":{\"depth\":2,\"width\":4},\"train\":{\"dataset\":{\"name\":\"synthetic\","
            "\"dim\":4},\"optimizer\":{\"name\":\"adam\",\"beta1\":1}}}",
            "train.optimizer.beta1: 1 is out of range [0, 1) (", NULL);
    /* ... and the value as given, in its shortest exact form (it printed "1") */
    refused("{\"name\":\"x\",\"network\":{\"depth\":2,\"width\":4},\"train\":{\"dataset\":{\"name\":\"synthetic\","
            "\"dim\":4},\"optimizer\":{\"name\":\"sgd\",\"lr\":0.1,\"momentum\":1.00000000001}}}",
            "train.optimizer.momentum: 1.00000000001 is out of range [0, 1] (", NULL);
    refused("{\"name\":\"x\",\"network\":{\"init\":{\"name\":\"xavier_uniform\",\"gain\":\"big\"}}}", "network.init.gain",
            "a number, \"auto\" or \"critical\"");
    /* \u0000 would end every C string there ("a\u0000b" read as "a"): refused with its
     * place; an escaped backslash followed by the text u0000 is an ordinary string */
    refused("{\"name\":\"x\",\n \"description\":\"a\\u0000b\"}", "cfg.json:2:18:", "NUL");
    refused("{\"na\\u0000me\":\"x\"}", "cfg.json:1:5:", "NUL");
    {
        vp_experiment *e = NULL;
        vp_err err = { "" };
        cr_expect_eq(parse("{\"name\":\"x\",\"description\":\"a\\\\u0000b\"}", &e, &err), VP_OK, "%s", err.msg);
        if (e) cr_expect_str_eq(e->description, "a\\u0000b");
        vp_experiment_free(e);
    }
    refused("{\"name\":\"x\",\"seeds\":[1,1]}", "seeds[1]", "twice");
    /* the first problem in array order is the one reported */
    refused("{\"name\":\"x\",\"seeds\":[7,\"a\",7]}", "seeds[1]", "whole number");
    refused("{\"name\":\"x\",\"seeds\":[7,0,7,\"a\"]}", "seeds[2]", "seed 7 is listed twice");
    refused("{\"name\":\"x\",\"seeds\":[0,9007199254740992,1,9007199254740992]}", "seeds[3]", "twice");
    refused("{\"name\":\"x\",\"seeds\":[-1]}", "seeds[0]", "whole number");
    refused("{\"name\":\"x\",\"seeds\":\"3\"}", "seeds", "count N");
}

Test(config, many_seeds_and_a_late_duplicate)
{
    /* 100000 distinct seeds (the maximum) are accepted; the same list with its last
     * seed replaced by an earlier one is refused at that index. */
    enum { N = 100000 };
    char *json = malloc((size_t)N * 8 + 64);
    cr_assert_not_null(json);
    size_t u = (size_t)sprintf(json, "{\"name\":\"x\",\"seeds\":[");
    for (int i = 0; i < N; i++) u += (size_t)sprintf(json + u, "%s%d", i ? "," : "", 3 * i + 1);
    size_t tail = u;
    sprintf(json + u, "]}");
    vp_experiment *e = NULL;
    vp_err err = { "" };
    vp_config_opts unlimited = { 0 }; /* 100000 runs: past the default run limit */
    cr_assert_eq(vp_config_parse(json, strlen(json), "cfg.json", &unlimited, &e, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(e->nseeds, N);
    cr_expect_eq(e->seeds[N - 1], (uint64_t)(3 * (N - 1) + 1));
    vp_experiment_free(e);
    u = tail;
    while (json[u - 1] != ',') u--;
    sprintf(json + u, "%d]}", 3 * 12345 + 1);
    char where[32];
    snprintf(where, sizeof where, "seeds[%d]", N - 1);
    e = NULL;
    cr_assert_eq(vp_config_parse(json, strlen(json), "cfg.json", &unlimited, &e, &err), VP_ERR_CONFIG);
    cr_assert_null(e);
    cr_expect(strstr(err.msg, where) && strstr(err.msg, "seed 37036 is listed twice"), "%s", err.msg);
    free(json);
}

Test(config, unknown_names_with_did_you_mean)
{
    refused("{\"name\":\"x\",\"network\":{\"activation\":\"rleu\"}}", "network.activation: \"rleu\" is not a known activation",
            "did you mean \"relu\"");
    refused("{\"name\":\"x\",\"network\":{\"init\":\"he_normall\"}}", "network.init", "did you mean \"he_normal\"");
    /* PyTorch's spellings differ in case only: suggested, whatever the case */
    refused("{\"name\":\"x\",\"network\":{\"activation\":\"ReLU\"}}", "network.activation: \"ReLU\" is not a known activation",
            "did you mean \"relu\"");
    refused("{\"name\":\"x\",\"network\":{\"init\":\"Xavier_Normal\"}}", "network.init", "did you mean \"xavier_normal\"");
    refused("{\"name\":\"x\",\"precision\":\"FLOAT64\"}", "precision", "did you mean \"float64\"");
    refused("{\"name\":\"x\",\"network\":{\"init\":{\"name\":\"variance_scaling\",\"scale\":2,\"mode\":\"fan_avgg\"}}}",
            "network.init.mode: \"fan_avgg\" is not one of fan_in, fan_out, fan_avg, fan_geo_avg (did you mean \"fan_avg\"?)",
            NULL);
    refused("{\"name\":\"x\",\"network\":{\"activation\":{\"name\":\"leaky_relu\",\"slope\":0.2}}}",
            "network.activation.slope", "negative_slope");
    refused("{\"name\":\"x\",\"network\":{\"bias\":\"orthogonal\"}}", "network.bias", "not a known bias initializer");
    refused("{\"name\":\"x\",\"precision\":\"float16\"}", "precision", "float32, float64");
}

Test(config, names_must_be_plain)
{
    refused("{\"name\":\"../etc\"}", "name", "not a plain name");
    refused("{\"name\":\"a/b\"}", "name", "not a plain name");
    refused("{\"name\":\"..\"}", "name", "not a plain name");
    refused("{\"name\":\".\"}", "name", "not a plain name");
    refused("{\"name\":\"\"}", "name", "1 to");
    refused("{\"description\":\"no name\"}", "name", "missing");
    refused("{\"name\":\"a b\"}", "name", "not a plain name");
}

Test(config, inconsistent_network_settings)
{
    refused("{\"name\":\"x\",\"network\":{\"widths\":[4,4],\"depth\":3}}", "network.depth", "widths replaces");
    refused("{\"name\":\"x\",\"network\":{\"widths\":[4]}}", "network.widths", "2 to");
    refused("{\"name\":\"x\",\"network\":{\"widths\":[4,0]}}", "network.widths[1]", "integer from 1");
    refused("{\"name\":\"x\",\"network\":{\"init\":\"mean_field\",\"bias\":\"zeros\"}}", "network.bias", "sets the biases");
    refused("{\"name\":\"x\",\"network\":{\"activation\":{\"name\":\"hard_tanh\",\"min_val\":1,\"max_val\":0}}}",
            "network.activation", "min_val < max_val");
    refused("{\"name\":\"x\",\"network\":{\"depth\":5},\"measure\":{\"histograms\":{\"layers\":[6]}}}",
            "measure.histograms.layers[0]", "1 to 5");
    refused("{\"name\":\"x\",\"network\":{\"width\":5000},\"measure\":{\"jacobian\":true}}", "measure.jacobian", "4096");
    /* one example through a layer of one unit at an end of the ratios' span: a variance of
     * one number (0/0 ratios, the verdict "vanishing" beside a finite theory) */
    refused("{\"name\":\"x\",\"network\":{\"depth\":10,\"width\":1},\"input\":{\"batch\":1}}", "input.batch",
            "1 with layer 1 of width 1, an end of the span the ratios divide");
    refused("{\"name\":\"x\",\"network\":{\"widths\":[4,1,1,4]},\"input\":{\"batch\":1}}", "input.batch",
            "layer 1 of width 1");
    vp_experiment *e = NULL;
    vp_err err;
    /* two examples, two units, or one unit inside the span (its ratios are defined) */
    cr_assert_eq(parse("{\"name\":\"x\",\"network\":{\"widths\":[4,8,1,8]},\"input\":{\"batch\":2}}", &e, &err), VP_OK,
                 "%s", err.msg);
    vp_experiment_free(e);
    cr_assert_eq(parse("{\"name\":\"x\",\"network\":{\"widths\":[4,4,1,4]},\"input\":{\"batch\":1}}", &e, &err), VP_OK,
                 "%s", err.msg);
    vp_experiment_free(e);
    cr_assert_eq(parse("{\"name\":\"x\",\"network\":{\"depth\":2,\"width\":2},\"input\":{\"batch\":1}}", &e, &err), VP_OK,
                 "%s", err.msg);
    vp_experiment_free(e);
}

Test(config, sweep_errors_name_the_sweep_entry)
{
    refused("{\"name\":\"x\",\"sweep\":{\"network.activaton\":[\"relu\"]}}", "sweep[\"network.activaton\"]",
            "did you mean \"network.activation\"");
    refused("{\"name\":\"x\",\"sweep\":{\"network.depth\":[]}}", "sweep[\"network.depth\"]", "non-empty array");
    refused("{\"name\":\"x\",\"sweep\":{\"network.activation\":[\"relu\",\"tnah\"]}}",
            "sweep[\"network.activation\"][1]", "did you mean \"tanh\"");
    refused("{\"name\":\"x\",\"network\":{\"init\":\"mean_field\"},\"sweep\":{\"network.init.sigma_w\":[1,-2]}}",
            "sweep[\"network.init.sigma_w\"][1]", "out of range");
    refused("{\"name\":\"x\",\"sweep\":{\"name\":[\"a\"]}}", "sweep[\"name\"]", "not a sweepable key");
}

Test(config, run_count_limit_and_override)
{
    const char *j = "{\"name\":\"big\",\"seeds\":100,\"network\":{\"init\":\"mean_field\"},"
                    "\"sweep\":{\"network.init.sigma_w\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,"
                    "21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,"
                    "51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,"
                    "81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101]}}";
    refused(j, "10100 runs", "--max-runs");
    vp_experiment *e;
    vp_err err;
    vp_config_opts o = { 0 };
    cr_assert_eq(vp_config_parse(j, strlen(j), "big", &o, &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_experiment_runs(e), 10100);
    vp_experiment_free(e);
}

/* spec.h: the one place a name and parameters become an entry, for configs and the
 * command line alike. Every ordered pair of parameters is refused when reversed
 * (a misspelt parameter name in spec.c's pair tables would let it through). */
Test(spec, ordered_parameter_pairs_are_checked)
{
    static const struct { int act; int kind; const char *lo, *hi, *want; } cases[] = {
        { 1, VP_ACT_HARD_TANH, "min_val", "max_val", "hard_tanh needs min_val < max_val" },
        { 1, VP_ACT_RRELU, "lower", "upper", "rrelu needs lower <= upper" },
        { 0, VP_INIT_UNIFORM, "a", "b", "uniform needs its lower bound below its upper bound" },
        { 0, VP_INIT_RANDOM_UNIFORM, "minval", "maxval", "random_uniform needs its lower bound" },
        { 0, VP_INIT_TRUNC_NORMAL, "a", "b", "trunc_normal needs its lower cut-off below its upper cut-off" },
        { 0, VP_INIT_TRUNCATED_NORMAL, "lower", "upper", "truncated_normal needs its lower cut-off" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vp_err err = { "" };
        vp_act a = vp_act_default(VP_ACT_RELU);
        vp_init in = vp_init_default(VP_INIT_ZEROS);
        if (cases[i].act) a = vp_act_default((vp_act_kind)cases[i].kind);
        else in = vp_init_default((vp_init_kind)cases[i].kind);
        cr_assert_eq(cases[i].act ? vp_spec_act_check(&a, &err) : vp_spec_init_check(&in, &err), VP_OK,
                     "defaults of case %zu refused: %s", i, err.msg);
        vp_status s1 = cases[i].act ? vp_spec_act_param(&a, cases[i].lo, "2", "lo", &err)
                                    : vp_spec_init_param(&in, cases[i].lo, "2", "lo", &err);
        vp_status s2 = cases[i].act ? vp_spec_act_param(&a, cases[i].hi, "1", "hi", &err)
                                    : vp_spec_init_param(&in, cases[i].hi, "1", "hi", &err);
        cr_assert(s1 == VP_OK && s2 == VP_OK, "case %zu: %s", i, err.msg);
        cr_assert_eq(cases[i].act ? vp_spec_act_check(&a, &err) : vp_spec_init_check(&in, &err), VP_ERR_CONFIG,
                     "case %zu: reversed pair accepted", i);
        cr_expect(strstr(err.msg, cases[i].want), "case %zu: \"%s\"", i, err.msg);
    }
}

Test(spec, names_parameters_and_gains)
{
    vp_act a;
    vp_init in;
    vp_err err = { "" };
    cr_assert_eq(vp_spec_act("hardtanh", &a, &err), VP_OK, "an alias: %s", err.msg);
    cr_expect_eq(a.kind, VP_ACT_HARD_TANH);
    cr_assert_eq(vp_spec_act("rellu", &a, &err), VP_ERR_CONFIG);
    cr_expect(strstr(err.msg, "did you mean \"relu\"") && strstr(err.msg, "known: identity, relu"), "%s", err.msg);
    cr_assert_eq(vp_spec_init("zeros", 1, &in, &err), VP_OK);
    cr_assert_eq(vp_spec_init("orthogonal", 1, &in, &err), VP_ERR_CONFIG, "not a bias initializer");
    cr_expect(strstr(err.msg, "not a known bias initializer"), "%s", err.msg);

    cr_assert_eq(vp_spec_act("relu", &a, &err), VP_OK);
    cr_assert_eq(vp_spec_act_param(&a, "slope", "1", "--param slope", &err), VP_ERR_CONFIG);
    cr_expect_str_eq(err.msg, "relu takes no parameters");
    cr_assert_eq(vp_spec_act("leaky_relu", &a, &err), VP_OK);
    cr_assert_eq(vp_spec_act_param(&a, "negative_slop", "1", "--param negative_slop", &err), VP_ERR_CONFIG);
    cr_expect(strstr(err.msg, "did you mean \"negative_slope\""), "%s", err.msg);
    cr_assert_eq(vp_spec_act_param(&a, "negative_slope", "abc", "--param negative_slope", &err), VP_ERR_CONFIG);
    cr_expect(strstr(err.msg, "--param negative_slope: \"abc\" is not a number"), "%s", err.msg);

    /* "auto" and "critical" words set their bit; a number given later clears it. */
    cr_assert_eq(vp_spec_init("orthogonal", 0, &in, &err), VP_OK);
    cr_assert_eq(vp_spec_init_param(&in, "gain", "critical", "g", &err), VP_OK, "%s", err.msg);
    cr_expect(in.critical_mask == 1u && in.auto_mask == 0);
    cr_assert_eq(vp_spec_init_param(&in, "gain", "auto", "g", &err), VP_OK, "%s", err.msg);
    cr_expect(in.critical_mask == 0 && in.auto_mask == 1u);
    vp_act tanh_act = vp_act_default(VP_ACT_TANH);
    cr_assert_eq(vp_spec_resolve_gains(&in, &tanh_act, &err), VP_OK, "%s", err.msg);
    cr_expect_float_eq(in.p[0], 5.0 / 3.0, 1e-15, "PyTorch's tanh gain, got %.17g", in.p[0]);
    cr_assert_eq(vp_spec_init_param(&in, "gain", "critical", "g", &err), VP_OK);
    vp_act gelu = vp_act_default(VP_ACT_GELU);
    cr_assert_eq(vp_spec_resolve_gains(&in, &gelu, &err), VP_ERR_CONFIG);
    cr_expect(strstr(err.msg, "\"critical\": ") && strstr(err.msg, "give a number"), "%s", err.msg);
    cr_assert_eq(vp_spec_init_param(&in, "gain", "2", "g", &err), VP_OK);
    cr_expect(in.critical_mask == 0 && in.auto_mask == 0 && in.p[0] == 2.0);
}

/* vp_config_diff names the first place two configs differ, in a's key order: a changed
 * value, a key only one has, another type, a list of another length; 0 when equal. */
Test(config, config_diff_names_the_first_difference)
{
    char out[200];
    const char *a = "{\"name\":\"x\",\"network\":{\"depth\":3,\"widths\":[8,8],\"init\":{\"name\":\"he\"}},\"seeds\":[0]}";
    cr_expect_eq(vp_config_diff(a, "A", a, "B", out, sizeof out), 0);
    cr_expect_eq(vp_config_diff(a, "A", "{\"network\":{\"depth\":3,\"widths\":[8,8],\"init\":{\"name\":\"he\"}},"
                                           "\"seeds\":[0],\"name\":\"x\"}", "B", out, sizeof out), 0,
                 "key order alone is no difference: %s", out);
    struct { const char *b, *want; } cases[] = {
        { "{\"name\":\"x\",\"network\":{\"depth\":4,\"widths\":[8,8],\"init\":{\"name\":\"he\"}},\"seeds\":[0]}",
          "network.depth: 3 A, 4 B" },
        { "{\"name\":\"x\",\"network\":{\"depth\":3,\"widths\":[8,9],\"init\":{\"name\":\"he\"}},\"seeds\":[0]}",
          "network.widths[1]: 8 A, 9 B" },
        { "{\"name\":\"x\",\"network\":{\"depth\":3,\"widths\":[8,8,8],\"init\":{\"name\":\"he\"}},\"seeds\":[0]}",
          "network.widths: [8,8] A, [8,8,8] B" },
        { "{\"name\":\"x\",\"network\":{\"depth\":3,\"widths\":[8,8],\"init\":\"he\"},\"seeds\":[0]}",
          "network.init: {\"name\":\"he\"} A, \"he\" B" },
        { "{\"name\":\"x\",\"network\":{\"depth\":3,\"widths\":[8,8],\"init\":{\"name\":\"he\"}}}",
          "seeds: [0] A, absent B" },
        { "{\"name\":\"x\",\"network\":{\"depth\":3,\"widths\":[8,8],\"init\":{\"name\":\"he\",\"gain\":2}},"
          "\"seeds\":[0]}", "network.init.gain: absent A, 2 B" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_expect_eq(vp_config_diff(a, "A", cases[i].b, "B", out, sizeof out), 1, "case %zu", i);
        cr_expect_str_eq(out, cases[i].want, "case %zu", i);
    }
    cr_expect_eq(vp_config_diff("{", "A", a, "B", out, sizeof out), 0, "a config that does not parse");
    /* numbers compare exactly (cJSON_Compare calls these two equal) */
    cr_expect_eq(vp_config_diff("{\"x\":1}", "A", "{\"x\":1.0000000000000002}", "B", out, sizeof out), 1);
    cr_expect(strncmp(out, "x: 1 A, 1.0000000000000002 B", 28) == 0, "%s", out);
    /* a key too long for the path: the difference is still found, named by the parent */
    char ka[700], kb[700], key[320];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(ka, sizeof ka, "{\"net\":{\"%s\":1}}", key);
    snprintf(kb, sizeof kb, "{\"net\":{\"%s\":2}}", key);
    cr_expect_eq(vp_config_diff(ka, "A", kb, "B", out, sizeof out), 1);
    cr_expect(strncmp(out, "net: {", 6) == 0, "%s", out);
    cr_expect_eq(vp_config_diff(ka, "A", ka, "B", out, sizeof out), 0, "the same long key is no difference");
}

/* An entry and a key inside it swept together, the entry listed last: each variant has
 * the swept gain (network.init replaced the whole entry after the gain was set: variants
 * 0 and 2 ran one network under the labels 0.8 and 2), the entry's label is the swept
 * value alone (the two columns a grid: xavier_normal x 0.8), and a bad value is named in
 * its own sweep entry (it was named sweep["network.init"][0].gain). */
Test(config, an_entry_and_a_key_inside_it_swept_together)
{
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\": \"g\", \"network\": {\"depth\": 3, \"width\": 8, \"activation\": \"tanh\"},"
                       " \"sweep\": {\"network.init.gain\": [0.8, 2], \"network.init\": [\"xavier_normal\", \"orthogonal\"]}}",
                       &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->nvariants, 4);
    const char *want[4] = { "xavier_normal(gain=0.8)", "orthogonal(gain=0.8)", "xavier_normal(gain=2)",
                            "orthogonal(gain=2)" };
    for (int v = 0; v < 4; v++) {
        char lab[128];
        vp_init_label(&e->variants[v].winit, lab, sizeof lab);
        cr_assert_str_eq(lab, want[v], "variant %d", v);
        cr_assert_str_eq(e->sweep_values[v * 2 + 1], v % 2 ? "orthogonal" : "xavier_normal");
        cr_assert_str_eq(e->sweep_values[v * 2], v < 2 ? "0.8" : "2");
    }
    vp_experiment_free(e);
    refused("{\"name\": \"g\", \"network\": {\"depth\": 3, \"width\": 8}, \"sweep\": {\"network.init\": "
            "[\"xavier_normal\", \"orthogonal\"], \"network.init.gain\": [0.8, \"big\"]}}",
            "cfg.json: sweep[\"network.init.gain\"][1]: expected a number", NULL);
}

/* An entry value that gives a key also swept inside it would be overridden by that key's
 * value and labelled with its own: refused (variants ran gain 0.5 under "orthogonal(gain=2)",
 * and two such values were one network twice). An entry complete only with the swept key
 * (uniform a=2 needs b > 2) is labelled as listed, so the columns stay a grid. */
Test(config, an_entry_value_giving_a_swept_key_is_refused)
{
    refused("{\"name\": \"d\", \"network\": {\"depth\": 3, \"width\": 8}, \"sweep\": {\"network.init\": [{\"name\": "
            "\"orthogonal\", \"gain\": 1.5}, {\"name\": \"orthogonal\", \"gain\": 2}], \"network.init.gain\": [0.5]}}",
            "sweep[\"network.init\"][0]: gives gain itself, which sweep[\"network.init.gain\"] sets in every variant", NULL);
    refused("{\"name\": \"d\", \"network\": {\"depth\": 3, \"width\": 8}, \"sweep\": {\"network.init\": [\"he_normal\", "
            "\"orthogonal\"], \"network.init.name\": [\"orthogonal\", \"xavier_normal\"]}}",
            "sweep[\"network.init\"][0]: gives name itself", NULL);
    refused("{\"name\": \"d\", \"network\": {\"depth\": 2, \"width\": 8}, \"train\": {\"dataset\": {\"name\": "
            "\"synthetic\", \"dim\": 8, \"n_train\": 64, \"n_test\": 16}, \"epochs\": 1, \"batch\": 16}, \"sweep\": "
            "{\"train.optimizer.lr\": [0.05], \"train.optimizer\": [\"sgd\", {\"name\": \"sgd\", \"lr\": 0.2}]}}",
            "sweep[\"train.optimizer\"][1]: gives lr itself", NULL);
    vp_experiment *e;
    vp_err err;
    cr_assert_eq(parse("{\"name\": \"u\", \"network\": {\"depth\": 3, \"width\": 8}, \"sweep\": {\"network.init\": "
                       "[{\"name\": \"uniform\", \"a\": 2}, {\"name\": \"uniform\", \"a\": -2}], \"network.init.b\": [3, 4]}}",
                       &e, &err), VP_OK, "%s", err.msg);
    const char *want[4] = { "uniform(a=2)", "uniform(a=2)", "uniform(a=-2)", "uniform(a=-2)" };
    for (int v = 0; v < 4; v++) cr_assert_str_eq(e->sweep_values[v * 2], want[v], "variant %d", v);
    vp_experiment_free(e);
}
