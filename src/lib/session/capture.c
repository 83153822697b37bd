/* capture.c: the state capture's init and free (capture.h). Taking one is the session's
 * (session_state.c), writing and reading one the checkpoint's (checkpoint.c). */
#include "smartty/capture.h"

#include <stdlib.h>
#include <string.h>

void sm_capture_init(sm_capture *c)
{
    memset(c, 0, sizeof *c);
    sm_journal_init(&c->journal);
}

void sm_capture_free(sm_capture *c)
{
    if (!c)
        return;
    if (c->own_data)
        for (size_t i = 0; i < c->n_tensors; i++)
            sm_free_aligned(c->tensors[i].data);
    free(c->tensors);
    free(c->state);
    free(c->steps);
    free(c->evals);
    sm_journal_free(&c->journal);
    sm_capture_init(c);
}
