/* replay_trust.h: the files a journal makes `replay` read, shown before replaying (a journal is
 * untrusted input). */
#ifndef SMARTTY_CONSOLE_REPLAY_TRUST_H
#define SMARTTY_CONSOLE_REPLAY_TRUST_H

#include "console/console.h"

/* 0 when path's journal names no file to read, or force is set (the files are then listed as
 * information); else an error listing them and saying how to go on (`replay PATH force`), and 1.
 * A journal that cannot be read gives 0: replay itself reports why. */
int con_replay_trusted(con_ctx *c, const char *path, int force);

#endif
