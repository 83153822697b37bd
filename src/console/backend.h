/* backend.h: connecting the console to the training session (include/smartty/session.h): a
 * con_backend whose operations post to the session's queue, and the breakpoint hook. */
#ifndef SMARTTY_CONSOLE_BACKEND_H
#define SMARTTY_CONSOLE_BACKEND_H

#include "console/console.h"

/* Give c a training session (when this build has one) and hook its breakpoints into it. */
void con_backend_attach(con_ctx *c);
/* Stop the session's thread and free it. */
void con_backend_detach(con_ctx *c);

#endif
