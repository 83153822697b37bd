/* backend.c: the console's link to the training session. This build has no session library yet
 * (include/smartty/session.h has not landed), so no backend is attached and every command that
 * needs one says so; the console's own commands (help, set/get, breakpoints, settings) work. */
#include "console/backend.h"

void con_backend_attach(con_ctx *c) { con_set_backend(c, NULL, NULL); }

void con_backend_detach(con_ctx *c) { con_set_backend(c, NULL, NULL); }
