/* host.c: the console's hosting, once for every program that runs it (see host.h): open and close
 * over the training session, plain output, and the reaction to the signal flags. The prompt's part
 * is the client's (server/client.c); nothing here draws. */
#include "console/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/backend.h"
#include "console/signals.h"
#include "smartty/escape.h"

void con_out_plain(void *ud, con_out_kind kind, const char *text)
{
    (void)ud;
    FILE *f = kind == CON_OUT_ERROR ? stderr : stdout;
    char *safe = sm_text_escape_dup(text, SM_ESC_KEEP_NL); /* file names, data, journal arguments */
    fprintf(f, "%s%s\n", kind == CON_OUT_ERROR ? "error: " : "", safe ? safe : "(out of memory)");
    free(safe);
    fflush(f);
}

void con_host_open(con_ctx *c, con_out_fn out, int dashboard)
{
    con_init(c, out, NULL);
    con_backend_attach(c);
    con_signals_install(!dashboard);
    c->intr = &con_sig_int;
    c->hup = &con_sig_quit;
}

void con_host_close(con_ctx *c)
{
    con_backend_detach(c);
    con_free(c);
}

int con_autosave(con_ctx *c, char *path, size_t cap)
{
    con_status st;
    con_status_get(c, &st);
    path[0] = '\0';
    if (st.unsaved <= 0 || !c->be || !c->be->save)
        return 0;
    sm_error e;
    if ((st.state == CON_RUN_RUNNING || st.state == CON_RUN_STEPPING) && c->be->pause &&
        c->be->pause(c->be_ud, &e) != SM_OK)
        con_error(c, "autosave: pausing: %s", e.msg);
    char name[64];
    snprintf(name, sizeof name, "autosave-%ld", (long)getpid());
    if (!con_state_path(path, cap, name, 1))
        return con_error(c, "autosave: the path of the state directory is too long");
    if (c->be->save(c->be_ud, path, &e) != SM_OK) {
        con_error(c, "autosave to %s failed: %s", path, e.msg);
        return 1;
    }
    con_status_get(c, &st);
    con_event(c, "autosaved step %lld to %s", (long long)st.step, path);
    return 0;
}

int con_handle_signals(con_ctx *c)
{
    if (con_sig_quit) {
        int sig = con_sig_quit;
        char path[1200];
        con_event(c, "%s: finishing the current step and saving", sig == SIGHUP ? "SIGHUP" : "SIGTERM");
        int rc = con_autosave(c, path, sizeof path);
        if (path[0] && !rc)
            fprintf(stderr, "smartty: %s: training saved to %s\n", sig == SIGHUP ? "hangup" : "terminated", path);
        else if (!rc)
            con_event(c, "no unsaved training: nothing to save");
        c->exit_status = rc ? 1 : 128 + sig; /* as `smartty train`: the script did not finish */
        c->quit = 1;
        return 1;
    }
    if (c->intr && *c->intr) { /* Ctrl-C here (con_sig_int), or an attached console's (the server's flag) */
        *c->intr = 0;
        con_interrupt(c);
    }
    return c->quit;
}

int con_interrupt(con_ctx *c)
{
    con_status st;
    con_status_get(c, &st);
    if (!(st.state == CON_RUN_RUNNING || st.state == CON_RUN_STEPPING) || !c->be || !c->be->pause)
        return 0;
    sm_error e;
    if (c->be->pause(c->be_ud, &e) != SM_OK)
        con_error(c, "pause: %s", e.msg);
    else
        con_info(c, "paused (Ctrl-C); `resume` continues, `step` steps");
    return 1;
}

