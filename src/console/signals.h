/* signals.h: the console's signal handlers, which only set flags: SIGINT (pause training / clear
 * the line), SIGHUP and SIGTERM (save and leave), SIGWINCH (for the dashboard). The host's loop
 * reads and clears the flags; nothing else happens in a handler. */
#ifndef SMARTTY_CONSOLE_SIGNALS_H
#define SMARTTY_CONSOLE_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t con_sig_int;   /* count of SIGINTs not yet handled */
extern volatile sig_atomic_t con_sig_quit;  /* the signal number of a SIGHUP or SIGTERM, else 0 */
extern volatile sig_atomic_t con_sig_winch; /* 1 after SIGWINCH */

/* Install the handlers (without SA_RESTART, so a blocking read returns EINTR) and ignore SIGPIPE.
 * winch 0 leaves SIGWINCH alone (curses then installs its own and reports KEY_RESIZE). */
void con_signals_install(int winch);

#endif
