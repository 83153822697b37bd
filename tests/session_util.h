/* session_util.h: what the session tests share: a copy of a session's whole state (every state
 * tensor, concatenated) to compare bit for bit. Header-only; include after check.h. */
#ifndef SMARTTY_TESTS_SESSION_UTIL_H
#define SMARTTY_TESTS_SESSION_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "smartty/session.h"

/* Copies of every state tensor, concatenated; *n receives the float count. Free with free(). */
static inline float *state_copy(sm_session *s, size_t *n)
{
    size_t total = 0, k = sm_session_tensor_count(s);
    for (size_t i = 0; i < k; i++) {
        sm_state_tensor t;
        sm_session_tensor_at(s, i, &t);
        total += t.n;
    }
    float *out = malloc((total ? total : 1) * sizeof *out), *p = out;
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < k; i++) {
        sm_state_tensor t;
        sm_session_tensor_at(s, i, &t);
        memcpy(p, t.data, t.n * sizeof *p);
        p += t.n;
    }
    *n = total;
    return out;
}

#endif
