/* signals.c: handlers that set flags and nothing else (see signals.h). What the flags mean is
 * decided by repl.c's loop and by con_wait_run. */
#include "console/signals.h"

#include <string.h>

volatile sig_atomic_t con_sig_int;
volatile sig_atomic_t con_sig_quit;
volatile sig_atomic_t con_sig_winch;

static void on_int(int sig)
{
    (void)sig;
    con_sig_int = 1;
}

static void on_quit(int sig) { con_sig_quit = sig; }

static void on_winch(int sig)
{
    (void)sig;
    con_sig_winch = 1;
}

static void handle(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(sig, &sa, NULL);
}

void con_signals_install(int winch)
{
    handle(SIGINT, on_int);
    handle(SIGHUP, on_quit);
    handle(SIGTERM, on_quit);
    if (winch)
        handle(SIGWINCH, on_winch);
    handle(SIGPIPE, SIG_IGN);
}
