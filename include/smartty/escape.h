/* escape.h: the one function through which smartty shows text that came from outside (file names,
 * file contents, typed commands, journal arguments) on a terminal: control bytes cannot reach it.
 * It does not quote for a shell or for JSON. */
#ifndef SMARTTY_ESCAPE_H
#define SMARTTY_ESCAPE_H

#include <stddef.h>

#define SM_ESC_KEEP_NL 1u /* keep newlines and tabs (multi-line text such as a report) */

/* Escape in for a terminal: C0 control bytes and DEL become \xNN (\t, \n, \r as such, unless
 * SM_ESC_KEEP_NL keeps \n and \t), C1 controls (U+0080..U+009F), the bidirectional controls
 * (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) and line separators (U+2028, U+2029) become
 * \u{NNNN}, each byte of invalid UTF-8 becomes \xNN; printable ASCII and valid UTF-8 pass. A
 * backslash is kept as it is, so escaped text escapes to itself. Writes whole escapes only, at most
 * cap bytes with the NUL; returns the length the whole escaped text needs (as snprintf). */
size_t sm_text_escape(char *out, size_t cap, const char *in, unsigned flags);

/* The same for the first len bytes of in (a NUL among them is shown as \x00). */
size_t sm_text_escape_n(char *out, size_t cap, const char *in, size_t len, unsigned flags);

/* The same into a new string (caller frees); NULL when out of memory. */
char *sm_text_escape_dup(const char *in, unsigned flags);

/* Escape e's message-sized buffer msg[cap] in place (messages are one line). */
void sm_text_escape_inplace(char *msg, size_t cap);

#endif
