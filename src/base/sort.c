/* sort: see sort.h. */
#include "base/sort.h"

int vp_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int vp_cmp_double_desc(const void *a, const void *b) { return vp_cmp_double(b, a); }
