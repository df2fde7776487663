/* kit: what every chart of src/present/charts/ shares (internal to this folder; the
 * public entry points are in present/charts.h). Prefix ck_ = chart kit.
 *
 *  - the experiment model (model.c): config.json and the CSV files of a results
 *    folder, the variants in id order with their panel (activation) and curve style
 *    (legend label), the swept keys and values, and the runs.csv summary;
 *  - text and numbers (kit.c): a growing string buffer, control-character cleaning,
 *    data-file numbers, evenly spaced subsets, round tic steps;
 *  - page layout (kit.c): styles, panel grids, the page title, legend strips;
 *  - files (kit.c): the tidy <stem>.dat, the chart's gnuplot script recorded in
 *    memory (ck_gp), and the chart's entry for the report;
 *  - rendering (kit.c): the recorded scripts of all charts run in two gnuplot
 *    processes side by side (several charts per process), each chart's script also
 *    written on its own as <stem>.gp, so it still redraws that chart alone;
 *  - the chart table (draw.c): one ck_chart row per chart, drawn in table order.
 *
 * Conventions shared by every chart:
 *  - data file <stem>.dat: whitespace-separated numbers, '?' for a missing
 *    value (non-finite, or not positive where the axis is logarithmic), one
 *    block per curve separated by two blank lines (gnuplot `index k`);
 *  - one style per curve identity (the initializer label, plus whichever swept
 *    keys are needed to tell two variants with the same activation and
 *    initializer apart): `set linetype` k gets a colour and a point type, and
 *    the same identity has the same linetype in every chart of the experiment;
 *  - measured curves are solid with points, theory curves dashed, seed ranges
 *    shaded; legends sit in a reserved strip at the bottom so they never cover
 *    data; all text from the config is quoted (vp_plot_quote) and noenhanced.
 */
#ifndef VP_CHARTS_KIT_H
#define VP_CHARTS_KIT_H

#include <stdio.h>
#include <cjson/cJSON.h>
#include "base/err.h"
#include "base/fsutil.h"
#include "core/net.h"
#include "present/plot.h"
#include "present/report.h"
#include "results/results.h"
#include "results/summary.h"
#include "results/table.h"

#define MAX_PANELS 12     /* panels per chart; more are left out (and said so) */
#define LEGEND_CURVES 8   /* curves per panel a legend of styles serves; beyond, colour by a swept number */
#define MAX_CURVES 64     /* curves per panel with a colour bar; evenly spaced subset beyond */
#define MAX_LEGEND_CURVES 24 /* curves per panel with a legend; evenly spaced subset beyond */
#define MAX_KEY 32        /* legend entries */
#define MAX_LT 64         /* linetypes defined; styles beyond get their colour inline */
#define COLOUR_LT (MAX_LT + 1) /* the linetype of every curve in colour mode (ck_lc) */
#define QLEN 1200         /* buffer for one quoted string */

/* ---- the experiment model (model.c) ---- */

typedef struct ck_job ck_job; /* a chart's recorded script (kit.c) */

typedef struct {
    int id;               /* the `variant` column */
    const char *act;      /* borrowed from a table */
    const char *init;
    int panel;            /* index into e->act */
    int style;            /* curve identity */
    int rank;             /* colour mode: rank of its colour_key value (0 = smallest) */
    char label[400];      /* legend: init label (+ distinguishing sweep values) */
    char name[600];       /* "activation / label" */
    size_t seeds;         /* its completed seeds (runs.csv) */
} ck_variant;

typedef struct {
    const char *results_dir, *plots_dir;
    volatile sig_atomic_t *stop; /* may be NULL: non-zero = stop drawing (vp_plot_set_stop) */
    cJSON *cfg;
    char name[256];
    char subtitle[400];
    vp_table *tab[VP_CSV_COUNT]; /* NULL: an optional file that is absent */
    vp_summary sum;       /* of runs.csv, made by the first chart that asks */
    int have_sum;
    ck_variant *var;      /* in id order */
    size_t nvar, var_cap; /* var_cap: allocated */
    int *pos;             /* variant id -> index in var, -1 if absent */
    size_t npos;
    const char **act;     /* panel titles: the activation labels, and in colour mode the other
                             swept values that differ within an activation too */
    size_t nact;          /* panels */
    char **act_owned;     /* colour mode: the composed titles */
    int colour_key;       /* -1: a legend of styles; else the swept key (index into sweep) whose
                             value colours the curves, with a colour bar */
    const char **colour_vals; /* its distinct values, ascending (borrowed) */
    size_t ncolour;
    const char **style;   /* distinct curve labels */
    size_t nstyle;
    const char **sweep;   /* swept keys (from config.json "sweep") */
    size_t nsweep;
    const char **sweepval; /* nvar * nsweep cells, borrowed ("" if unknown) */
    int *lrow_var, *lrow_layer; /* per layers.csv row: variant index, layer */
    int *lrow_type;       /* per layers.csv row of a block network: its vp_layer_kind; NULL for a plain stack */
    double *lrow_pos;     /* per layers.csv row of a block network with residual blocks: its place along the
                             stream (ck_stream_positions); NULL otherwise: the layer number is the x */
    double pos_max;       /* the largest lrow_pos */
    int nlayer;
    size_t nseeds;        /* the config's seeds */
    size_t seeds_lo, seeds_hi; /* fewest and most completed seeds of a variant (runs.csv) */
    vp_report_chart *charts;
    size_t ncharts;
    ck_job *jobs;         /* recorded scripts (kit.c) */
    size_t njobs;
    vp_plot *proc[2];     /* CK_PROCS gnuplot processes drawing them */
    double load[2];
} ck_exper;

vp_status ck_model_build(ck_exper *e, vp_err *err);
void ck_model_free(ck_exper *e);
/* The runs.csv summary (built on the first call). */
vp_status ck_summary(ck_exper *e, const vp_summary **out, vp_err *err);
/* A swept key's last part ("sigma_w" of "network.init.sigma_w"), as labels show it. */
const char *ck_short_key(const char *key);
/* config.json number o[a] or o[a][b]; NaN if absent. */
double ck_cfg_num(const cJSON *o, const char *a, const char *b);
/* A variant id cell of table t that must be one of the model's variants. */
vp_status ck_known_variant(const ck_exper *e, const vp_table *t, size_t row, size_t col, long *id, vp_err *err);

/* ---- the chart table (draw.c) ---- */

typedef struct ck_chart ck_chart;
/* The y axis of a line chart: logarithmic (only finite positive values drawn), linear
 * (every finite value), or the unit interval (fractions, [0, 1] fixed). Every panel of a
 * quantity shares one range, so panels compare at a glance. */
typedef enum { CK_AXIS_LOG, CK_AXIS_LINEAR, CK_AXIS_UNIT } ck_axis;
typedef vp_status (*ck_draw_fn)(ck_exper *e, const ck_chart *c, vp_err *err);

struct ck_chart {
    const char *stem;     /* <stem>.png / .svg / .gp / .dat */
    vp_csv_file source;   /* the CSV it reads; no chart when that file is absent */
    ck_draw_fn draw;
    const char *title;    /* heading in the report */
    const char *page;     /* words in the chart's page title; NULL = title */
    const char *caption;  /* report text; NULL: the chart writes it (it quotes the data) */
    /* line charts (lines.c): one statistic by layer, or two side by side (ylabel2 set) */
    vp_col column;        /* layers.csv statistic: no chart when the file lacks it (older folders) */
    vp_col theory;        /* its mean-field column, or VP_COL_NONE */
    const char *ylabel;   /* enhanced text */
    const char *what;     /* two statistics: words for the first in the panel titles */
    vp_col column2;       /* the second statistic (no theory), when ylabel2 is set */
    const char *ylabel2, *what2;
    ck_axis axis;         /* y axis */
    int zero_line;        /* a dotted line at y = 0 */
    /* histograms (histograms.c) */
    vp_hist_quantity quantity;
    const char *xlabel;   /* enhanced text */
};

/* The chart families. */
vp_status ck_draw_lines(ck_exper *e, const ck_chart *c, vp_err *err);
vp_status ck_draw_hist(ck_exper *e, const ck_chart *c, vp_err *err);
vp_status ck_draw_heatmap(ck_exper *e, const ck_chart *c, vp_err *err);
vp_status ck_draw_phase(ck_exper *e, const ck_chart *c, vp_err *err);
vp_status ck_draw_overview(ck_exper *e, const ck_chart *c, vp_err *err);
vp_status ck_draw_jacobian(ck_exper *e, const ck_chart *c, vp_err *err);
/* spp.c: the Signal Propagation Plot of a residual network's blocks */
vp_status ck_draw_spp_residual(ck_exper *e, const ck_chart *c, vp_err *err);
/* training.c: the charts of a config with "train" */
vp_status ck_draw_train_loss(ck_exper *e, const ck_chart *c, vp_err *err);
vp_status ck_draw_train_acc(ck_exper *e, const ck_chart *c, vp_err *err);
vp_status ck_draw_train_var(ck_exper *e, const ck_chart *c, vp_err *err);
vp_status ck_draw_train_hist(ck_exper *e, const ck_chart *c, vp_err *err);

/* ---- text and numbers (kit.c) ---- */

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} ck_sbuf;

/* A chart's gnuplot script, recorded: one entry per line, a kind byte ('C' command,
 * '#' comment for the .gp file only, 'O' an output file name) then the text. The
 * chart bodies write commands with ck_cmd exactly as they would to a vp_plot: the
 * format is a literal, text from the config goes in through vp_plot_quote and %s. */
typedef struct {
    ck_sbuf s;
    int bad;              /* a command held a line break (an internal error) */
    const char *subtitle; /* borrowed: the page's subtitle (ck_page_title) */
    int titles_alike;     /* ck_titles_alike: 1 every panel title breaks, -1 none; 0 each as it needs */
} ck_gp;

void ck_cmd(ck_gp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ck_comment(ck_gp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void ck_printf(ck_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ck_reset(ck_sbuf *b);
/* Characters of UTF-8 text s[0..n) (its continuation bytes do not count): what a
 * label's width goes by. */
size_t ck_text_chars(const char *s, size_t n);
/* Copy text into a comment or label context: control characters become spaces. */
void ck_clean_copy(char *out, size_t len, const char *s);
void ck_clean(char *s);
/* " %.9g", or " ?" for a non-finite value (a .dat cell). */
void ck_put_num(FILE *f, double v);
/* Text in a comment line, every byte kept: \ becomes \\, a line break \n or \r, a tab
 * \t, any other control character \xNN (a path may hold any of them). */
void ck_put_escaped(FILE *f, const char *s);
/* 1 when some variant has fewer completed seeds than the config lists (an
 * interrupted run): the charts then say each variant's count. */
int ck_partial_seeds(const ck_exper *e);
/* Evenly spaced subset of k out of n (k <= n): the j-th pick. */
size_t ck_pick(size_t j, size_t k, size_t n);
/* A round tic step giving about four intervals over `range`. */
double ck_nice_step(double range);
/* A round tic step for the axis [lo, hi] that labels at least 3 of its values: ck_nice_step's,
 * or the next smaller round one when fewer of its multiples lie in the range. */
double ck_tic_step(double lo, double hi);

/* ---- page layout (kit.c) ---- */

typedef struct {
    double l, r, b, t;
} ck_box;

/* The tic step of the linear axis [lo, hi] ('x' or 'y') of panel b: the coarsest round
 * step (1, 2, 5 x 10^k) that labels at least 5 values, else 4, else 3, whose labels stay apart on
 * the page (a line of text on a y axis; the labels' widths and a gap on an x axis). */
double ck_fit_step(double lo, double hi, ck_box b, char axis);
/* `set Atics (...)` of the log axis [lo, hi] ('x' or 'y') of panel b, always listed (the
 * tics of the previous panel would stay; gnuplot 5.4 hangs on `set ytics STEP` alone on a
 * log axis): with 3 or more powers of 10 inside, those of every 1, 2, 5, 10, ... decades
 * (at most 10 labels, a line apart), labelled 10^{k} when `powers`, else as numbers where
 * all lie in [0.001, 1000]; with fewer, the 1-2-5 values of each decade, 1-3 where those
 * crowd, 1-2-3-5 or finer ones on a shorter axis, else evenly stepped values: at least 3
 * labels (5 where they fit), a line apart. */
void ck_log_tics(ck_gp *p, char axis, double lo, double hi, ck_box b, int powers);

/* A log y axis over the drawn values [lo, hi] (finite, 0 < lo <= hi) of panel b: its
 * range padded by the factor f at each end -- f <= 0: 5% of the decades spanned each
 * side (2 when lo = hi) -- and its tics (ck_log_tics). The factor is worked out in
 * logarithms and the padding kept within [1e-300, 1e300] (never cutting the data: values
 * beyond stay inside, up to 8e307): runs that explode reach ~1e305 in double (the theory,
 * the statistics) while others vanish to 1e-33, and hi/lo or hi*f overflowed to inf,
 * which gnuplot refused ("undefined variable: inf"): the chart was lost. */
void ck_log_yrange(ck_gp *p, double lo, double hi, double f, ck_box b, int powers);

int ck_lt(int style); /* linetype of a curve style */
/* The line colour and type of variant vi in a plot element: "lt N" (its style), with an
 * inline colour beyond MAX_LT styles, or in colour mode its palette colour. */
const char *ck_lc(const ck_exper *e, size_t vi, char *buf, size_t len);
/* Colour mode: the palette, cbrange and tics of the colour key (rank -> value). */
void ck_colour_scale(ck_gp *p, const ck_exper *e);
/* Colour mode: the height of the legend strip for nkey legend entries in rows of at most
 * cols: the colour bar with its tics (0.105) and a row per further line of entries. */
double ck_colour_bar_height(size_t nkey, int cols);
/* Colour mode: the legend strip of ck_colour_bar_height(nkey, cols): a horizontal colour
 * bar named by the colour key, and above it the nkey legend entries `elems` (NULL: none),
 * at most cols to a row. */
void ck_colour_bar(ck_gp *p, const ck_exper *e, const char *elems, size_t nkey, int cols);
void ck_margins(ck_gp *p, ck_box b);
/* Plot areas for n panels in the screen band [bottom, top]; returns columns. */
int ck_grid(size_t n, double bottom, double top, ck_box *out);
/* The same with `cols` columns. */
void ck_grid_cols(size_t n, int cols, double bottom, double top, ck_box *out);
/* The page title: experiment name and `what`, then the setup line, each broken at spaces
 * into lines that fit the page's width (vp_plot_quote_wrapped): at 13 pt while the two
 * take two lines together, else at 11 pt in up to three, the title in at most two (the
 * panels' own titles begin ~60 px below the page's top: a fourth line would cover them). */
void ck_page_title(ck_gp *p, const ck_exper *e, const char *what);
/* The same with `suffix`, a gnuplot string expression (".' (seed '.word(...).')'") of at
 * most suffix_chars characters, after the title's last line. */
void ck_page_title_with(ck_gp *p, const ck_exper *e, const char *what, const char *suffix, size_t suffix_chars);
/* A chart's words for its page title (its page, else its title). */
const char *ck_page_words(const ck_chart *c);
/* A panel's frame: margins, its (quoted) title, no key, `axes` (scales and formats),
 * the light grid, the x label and the y label (NULL: none, for panels after the first
 * of a row). Labels are enhanced text from varprop, never from the config. */
void ck_panel_head(ck_gp *p, ck_box b, const char *title, const char *axes, const char *xlabel,
                   const char *ylabel);
/* Panels whose titles share one pattern (the training charts: a variant, then what
 * the panel shows) break them alike: the titles[i] of boxes[i] (i < n) that
 * ck_panel_head will be given either all break, when one is too wide for its panel,
 * or none does, so neighbours keep one font and one height. */
void ck_titles_alike(ck_gp *p, const char *const *titles, const ck_box *boxes, size_t n);
/* A panel with nothing to draw: `ranges`, a centred message, then `reset`. */
void ck_empty_panel(ck_gp *p, const char *ranges, const char *message, const char *reset);
/* Legend strip at the bottom: columns for entries of at most `maxlen` characters,
 * its height for n entries, and the strip itself (`elems`: NaN plot elements). */
int ck_key_cols(size_t maxlen);
double ck_key_height(size_t n, int cols);
void ck_key_strip(ck_gp *p, const char *elems, double height, int cols);
/* Variants (indices into e->var) drawn in panel `panel` (has: per variant, NULL = all);
 * at most MAX_CURVES, evenly spaced; *total = all that could be drawn. */
size_t ck_panel_curves(const ck_exper *e, int panel, const int *has, size_t *out, size_t *total);
/* Append "N more ..." notes for panels and curves that were left out. */
void ck_note_subsets(const ck_exper *e, const int *has, char *notes, size_t len);
/* Legend entries for the styles of the shown curves; returns their number. */
size_t ck_style_key(const ck_exper *e, const int *has, ck_sbuf *b, size_t *maxlen, const char *kind);

/* Block networks: the point type that marks layers of kind k (a vp_layer_kind) in the
 * by-layer charts, and the legend entries ("NaN with points pt N title 'conv2d'") of
 * the kinds present[k] != 0; returns their number. */
int ck_block_pt(int k);
size_t ck_block_key(const int *present, ck_sbuf *b, size_t *maxlen);

/* ---- files (kit.c) ---- */

/* CK_NO_SYNC: the files of a plot folder (.dat, .gp, report.md, critical_line.dat) are
 * written to a temporary name and renamed into place complete, like gnuplot's PNG and SVG,
 * but not fsynced: they are drawn from the results folder (`varprop plot` redraws them),
 * and an fsync costs ~8 ms a file on a disk with the PNGs just written -- 80 ms of the
 * 84-run reference sweep's 0.3 s, after gnuplot has finished. */

/* Open PLOTS_DIR/<stem>.dat and write its first comment line. */
vp_status ck_dat_open(const ck_exper *e, const ck_chart *c, vp_afile *af, vp_err *err);

typedef void (*ck_body_fn)(ck_gp *p, const ck_exper *e, const void *ctx);
/* Record the chart's script (`body` runs once per terminal, PNG then SVG) and send it
 * to one of the gnuplot processes; ck_render_all waits for them. */
vp_status ck_render(ck_exper *e, const ck_chart *c, ck_body_fn body, const void *ctx, vp_err *err);
/* ck_render with another subtitle on the page than e->subtitle (the training charts'). */
vp_status ck_render_sub(ck_exper *e, const ck_chart *c, const char *subtitle, ck_body_fn body, const void *ctx,
                        vp_err *err);
/* Finish drawing: <stem>.png and .svg from gnuplot, then <stem>.gp. The charts are
 * shared out over CK_PROCS gnuplot processes that run side by side (each starts, and
 * loads its fonts, once for several charts; each chart starts with `reset session`,
 * sent to the pipe only, so no state passes between charts). When a process fails,
 * its charts are drawn again one per process, so a failing chart leaves nothing of
 * itself behind, the others are kept, and the error names it. */
vp_status ck_render_all(ck_exper *e, vp_err *err);
#define CK_PROCS 2 /* = the length of ck_exper's proc and load */
/* Free the recorded scripts; stop processes still open (an error before ck_render_all). */
void ck_jobs_free(ck_exper *e);
/* The chart's entry in the report; caption NULL = the table's. */
vp_status ck_add_chart(ck_exper *e, const ck_chart *c, const char *caption, const char *notes, vp_err *err);

#endif
