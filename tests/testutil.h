/* testutil.h: small helpers shared by the Check suites: locating ../shared (tests that need it skip,
 * with a message, where it is absent) and comparing float arrays with a tolerance. */
#ifndef SMARTTY_TESTUTIL_H
#define SMARTTY_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Path of a file or folder under the shared data (SMARTTY_SHARED, default ../shared), or NULL with a
 * SKIP message on stderr when it is absent. The returned string is static (one per call site). */
static inline const char *tu_shared(char *buf, size_t cap, const char *rel)
{
    const char *root = getenv("SMARTTY_SHARED");
    if (!root || !*root)
        root = "../shared";
    snprintf(buf, cap, "%s/%s", root, rel);
    struct stat st;
    if (stat(buf, &st) != 0) {
        fprintf(stderr, "SKIP: %s is absent (set SMARTTY_SHARED to the shared data folder)\n", buf);
        return NULL;
    }
    return buf;
}

/* |a-b| <= tol, or relative where |b| > 1. */
static inline int tu_close(double a, double b, double tol)
{
    double d = fabs(a - b), s = fabs(b) > 1.0 ? fabs(b) : 1.0;
    return d <= tol * s;
}

/* Index of the first element that is not close, or -1. */
static inline long tu_first_mismatch(const float *a, const float *b, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!tu_close(a[i], b[i], tol) || isnan(a[i]) != isnan(b[i]))
            return (long)i;
    return -1;
}

#endif
