/* repro_report: the report of `varprop reproduce` (present layer) -- issue 16.
 *
 * Reads OUT/verdicts.json (VP_FILE_VERDICTS, written by experiment/reproduce.h) and
 *  - draws every run's charts (charts.h) into OUT/<paper>/<run>-plots/,
 *  - draws per paper OUT/<paper>-claims.png: each claim with a two-sided tolerance as
 *    (measured - expected) / tolerance with its 2-SE bar, the PASS band [-1, 1] shaded,
 *    i.e. varprop's number beside the paper's,
 *  - draws per slope claim OUT/<paper>-<claim>.png: the measured per-layer curve (mean
 *    over seeds) beside the paper's law -- a line of the expected slope through the
 *    curve's centre, with the tolerance's slopes dashed,
 *  - writes OUT/report.md (VP_FILE_REPORT): a summary table, then per paper and claim the
 *    statement with its provenance tag, the source, the figure, measured against
 *    expected with the tolerance and why, and PASS / FAIL / NOT RUN with the reason.
 * Every file is written atomically; charts go through the gnuplot pipe (plot.h).
 */
#ifndef VP_REPRO_REPORT_H
#define VP_REPRO_REPORT_H

#include <signal.h>

#include "base/err.h"

/* Draw the charts and write OUT/report.md from OUT/verdicts.json. Without gnuplot the
 * charts are left out (the report says so) and the report is still written. `stop`
 * may be NULL. */
vp_status vp_repro_report(const char *out_dir, volatile sig_atomic_t *stop, vp_err *err);

#endif
