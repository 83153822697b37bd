/* ckpt_common.h: what the checkpoint safety suites share: a toy session, loading a checkpoint back
 * (as the loader resolves it), and small file helpers. Header-only, for tests. */
#ifndef SMARTTY_CKPT_COMMON_H
#define SMARTTY_CKPT_COMMON_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/checkpoint.h"
#include "smartty/session.h"
#include "toy_backend.h"

static inline sm_session *cc_fresh(void)
{
    sm_session_backend be;
    sm_hparams hp;
    sm_error e;
    sm_session *s;
    toy_hparams(&hp);
    ck_assert_msg(toy_backend(&be, NULL, &e) == SM_OK, "%s", e.msg);
    ck_assert_int_eq(sm_session_new(&be, &hp, &s, &e), SM_OK);
    return s;
}

/* The step of the checkpoint at dir (resolved as the loader does), or -1 with e filled. */
static inline int64_t cc_load_step(const char *dir, sm_error *e)
{
    char real[4200];
    if (sm_checkpoint_resolve(dir, real, sizeof real) != SM_CKPT_SMARTTY) {
        sm_err(e, SM_ERR_NOTFOUND, "%s: no checkpoint", dir);
        return -1;
    }
    sm_session_backend be;
    sm_hparams hp;
    sm_session *s;
    sm_hparams_default(&hp);
    if (toy_backend(&be, real, e) != SM_OK || sm_session_new(&be, &hp, &s, e) != SM_OK)
        return -1;
    int64_t step = -1;
    if (sm_session_restore_checkpoint(s, real, e) == SM_OK)
        step = sm_session_step_count(s);
    sm_session_free(s);
    return step;
}

static inline void cc_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: cannot create", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The file's first line (into buf), or "" when it cannot be read. */
static inline const char *cc_read(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(buf, (int)cap, f))
            buf[0] = '\0';
        fclose(f);
    }
    return buf;
}

static inline void cc_sh(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

#endif
