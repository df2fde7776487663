/* sort: the qsort comparators of doubles, written once for every module that
 * sorts numbers (breakpoints, medians, sparsemax). Pure functions.
 *
 * Order: ascending (descending) by <, equal values compare 0. NaN compares equal
 * to everything, so arrays with NaN sort in an unspecified order: callers drop
 * NaN first where it can occur. */
#ifndef VP_SORT_H
#define VP_SORT_H

/* qsort comparators over const double *: ascending, and descending. */
int vp_cmp_double(const void *a, const void *b);
int vp_cmp_double_desc(const void *a, const void *b);

#endif
