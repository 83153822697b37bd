/* local.c: the local console (`smartty` in a terminal, `smartty demo`) as a client of an in-process
 * run server: the session runs on a thread with the server's code (sv_local_start), and this thread
 * runs the same client as `smartty attach` over a socket pair, so what works locally works attached.
 * No socket in the file system: nobody else can attach to a local console. */
#include <stdio.h>

#include "console/signals.h"
#include "server/client.h"
#include "server/server.h"
#include "ui/dash.h"

int sv_local_console(int dash, ui_options *o, const char *notice)
{
    con_signals_install(!dash);
    int fd;
    char err[256];
    if (sv_local_start(notice, !dash, &fd, err, sizeof err)) {
        fprintf(stderr, "smartty: %s\n", err);
        return 1;
    }
    cl_local = 1;
    sv_conn c;
    sv_msg hello;
    int rc;
    if (cl_open_fd(&c, fd, "console", "local", "attach", 20000, 1, &hello)) {
        rc = 1; /* the session's thread ends once its client is gone */
    } else {
        sv_msg_free(&hello);
        rc = dash ? cl_dash_run(&c, "local", o) : cl_attach_plain(&c, "local", 1);
    }
    int src = sv_local_join();
    return src ? src : rc;
}
