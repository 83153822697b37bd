/* testutil.h: what the Check suites share: running a suite (tu_run: exit 77, skipped, when none of its
 * tests can run here), the shared data (tests that need it are registered only where it is), a
 * private temporary folder under $TMPDIR removed without a shell, and float comparisons. */
#ifndef SMARTTY_TESTUTIL_H
#define SMARTTY_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- which tests a program runs ----
 * TU_LOCAL tests need nothing outside the tree; TU_SHARED tests need the shared data. A source with
 * both kinds defines TU_SPLIT before including this file and is linked twice (mk/ fragments): as
 * tests/check_x it runs the local tests, as tests/check_x_shared the shared ones, so that automake
 * counts each program as passed or as skipped whole. A source without TU_SPLIT runs both kinds. */
#define TU_LOCAL 1
#define TU_SHARED 2

static inline int tu_part(void)
{
#ifdef TU_SPLIT
    const char *name = program_invocation_short_name;
    size_t n = strlen(name);
    return n > 7 && !strcmp(name + n - 7, "_shared") ? TU_SHARED : TU_LOCAL;
#else
    return TU_LOCAL | TU_SHARED;
#endif
}

/* The shared data folder (SMARTTY_SHARED, default ../shared), or NULL when it is not there. */
static inline const char *tu_shared_root(void)
{
    const char *root = getenv("SMARTTY_SHARED");
    if (!root || !*root)
        root = "../shared";
    struct stat st;
    return stat(root, &st) == 0 && S_ISDIR(st.st_mode) ? root : NULL;
}

/* 1 when this program should register its tests of kind `part`: it runs that kind and, for
 * TU_SHARED, the shared data is there (else it says why on stderr, once). */
static inline int tu_want(int part)
{
    if (!(tu_part() & part))
        return 0;
    if (part == TU_SHARED && !tu_shared_root()) {
        static int said;
        if (!said++)
            fprintf(stderr, "SKIP: the tests that need the shared data: %s is absent (set SMARTTY_SHARED)\n",
                    getenv("SMARTTY_SHARED") && *getenv("SMARTTY_SHARED") ? getenv("SMARTTY_SHARED")
                                                                          : "../shared");
        return 0;
    }
    return 1;
}

/* Path of rel under the shared data, in buf. Only tests registered by tu_want(TU_SHARED) call it, so
 * the folder is there: a file missing from it fails the test (the shared data is incomplete), and
 * NULL comes back only outside a test. */
static inline const char *tu_shared(char *buf, size_t cap, const char *rel)
{
    const char *root = tu_shared_root();
    if (!root) {
        fprintf(stderr, "SKIP: the shared data is absent (set SMARTTY_SHARED)\n");
        return NULL;
    }
    ck_assert_msg((size_t)snprintf(buf, cap, "%s/%s", root, rel) < cap, "shared path too long: %s/%s", root, rel);
    struct stat st;
    ck_assert_msg(stat(buf, &st) == 0, "%s is missing from the shared data (%s)", rel, root);
    return buf;
}

/* Run every test of s; EXIT_FAILURE when one failed, 77 (skipped) when none was registered (all of
 * them need what is absent), else EXIT_SUCCESS. Frees s. */
static inline int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        return EXIT_FAILURE;
    if (run == 0) {
        fprintf(stderr, "SKIP: no test of this program can run here\n");
        return 77;
    }
    return EXIT_SUCCESS;
}

/* The source tree: SMARTTY_SRCDIR (set by make check), else the one this test was built from. */
static inline const char *tu_srcdir(void)
{
    const char *src = getenv("SMARTTY_SRCDIR");
#ifdef TU_SRCDIR
    if (!src || !*src)
        src = TU_SRCDIR;
#endif
    ck_assert_msg(src && *src, "SMARTTY_SRCDIR is not set");
    return src;
}

/* ---- temporary folders ---- */

/* A fresh private folder $TMPDIR/tag.XXXXXX (else under /tmp) into buf; the test fails when it cannot
 * be made. */
static inline char *tu_mkdtemp(char *buf, size_t cap, const char *tag)
{
    const char *t = getenv("TMPDIR");
    ck_assert_msg((size_t)snprintf(buf, cap, "%s/%s.XXXXXX", t && *t ? t : "/tmp", tag) < cap,
                  "temporary folder name too long");
    ck_assert_msg(mkdtemp(buf) != NULL, "cannot make a temporary folder %s", buf);
    return buf;
}

static inline int tu_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove path and everything under it (depth first, links not followed); 0 when all of it went. */
static inline int tu_rmtree(const char *path)
{
    return nftw(path, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- numbers ---- */

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
