/* report: PLOTS_DIR/report.md, the one-page summary of an experiment.
 *
 * Contents: the experiment name and description, the setup in one line (swept
 * settings as their range), the summary table per variant from runs.csv (median
 * act_ratio and grad_ratio over seeds with their range, the verdicts and each
 * variant's seed count -- "2 of 3" when fewer than the config's seeds finished), every chart
 * embedded as a relative PNG link with its caption and notes (e.g. values not
 * drawn on a log axis), and the resolved config.json in a code block.
 * Text from the config is Markdown-escaped in table cells and fenced safely in
 * the code block. The file is written atomically.
 *
 * vp_report_read_config is shared with the charts: it parses
 * RESULTS_DIR/config.json (the caller frees the tree with cJSON_Delete).
 */
#ifndef VP_REPORT_H
#define VP_REPORT_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "base/err.h"

/* One chart as the report lists it. Plain value; strings are copied in. */
typedef struct {
    char stem[64];       /* <stem>.png / .svg / .gp / .dat in the plot folder */
    char title[200];     /* heading, plain text */
    char caption[1400];  /* what it shows and how to read it */
    char notes[800];     /* caveats, e.g. skipped values; "" if none */
} vp_report_chart;

/* Parse RESULTS_DIR/config.json. On success *out is owned by the caller. */
vp_status vp_report_read_config(const char *results_dir, cJSON **out, vp_err *err);

/* The values config.json's "sweep" lists for the dotted key (e.g. "network.depth"),
 * or NULL when that key was not swept. */
const cJSON *vp_report_swept(const cJSON *cfg, const char *key);

/* A setting of config.json as the page titles and the setup line show it: the
 * value at the dotted key (a number as %g, a string as it is) or, when the key was
 * swept -- config.json then holds only the default -- the range of the swept numbers
 * ("10–40") or "swept". 0 and "" when config.json has neither. */
int vp_report_setting(const cJSON *cfg, const char *key, char *buf, size_t len);

/* Write PLOTS_DIR/report.md for the results in RESULTS_DIR (config.json and
 * runs.csv are read again here) and the n charts drawn. */
vp_status vp_report_write(const char *results_dir, const char *plots_dir,
                          const vp_report_chart *charts, size_t n, vp_err *err);

#endif
