/* text.h: fitting text into cells for the dashboard: wrapping a long line at spaces (a word longer
 * than the row is split), and eliding the middle of a path that does not fit ("/tmp/…/model"), so
 * that nothing is cut at its end. Pure (no curses): unit-tested in check_ui. Widths count code
 * points. */
#ifndef SMARTTY_UI_TEXT_H
#define SMARTTY_UI_TEXT_H

#include <stddef.h>

/* Code points in s. */
int ui_text_len(const char *s);

/* The first row of s in width cells: returns its length in bytes and sets *advance to the bytes to
 * skip to the next row's start (the space it broke at included). A row ends at the last space that
 * fits, or mid-word when a word is longer than the row. Returns 0 with *advance 0 at the end. */
size_t ui_wrap_row(const char *s, int width, size_t *advance);

/* s in at most width cells into out[cap]: whole when it fits, else its middle replaced by ell ("…" or
 * "..."), keeping the first and last path components when they fit ("/tmp/…/model", "…/model") and
 * otherwise the start and the end of the text. Returns out. */
char *ui_elide_middle(const char *s, int width, const char *ell, char *out, size_t cap);

#endif
