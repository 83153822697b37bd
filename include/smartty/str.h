/* str.h: sm_str, the library's growable string: append text or printf-formatted text, reset, free.
 * It never truncates: an append that cannot grow the buffer fails with SM_ERR_NOMEM, leaves the text
 * as it was and marks the string failed, so a run of appends can be checked once at the end.
 * It knows no encoding (bytes in, bytes out) and never prints. */
#ifndef SMARTTY_STR_H
#define SMARTTY_STR_H

#include <stdarg.h>
#include <stddef.h>

#include "smartty/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sm_str {
    char *p;     /* NUL-terminated text, NULL until the first append (sm_str_cstr gives "") */
    size_t len;  /* bytes before the NUL */
    size_t cap;  /* bytes allocated */
    int failed;  /* an append ran out of memory since the last reset */
} sm_str;

#define SM_STR_INIT {NULL, 0, 0, 0}

void sm_str_init(sm_str *s);
/* Append n bytes / a C string / printf-formatted text. SM_OK, or SM_ERR_NOMEM with the text unchanged
 * (SM_ERR_INVALID for a format vsnprintf refuses). */
sm_status sm_str_appendn(sm_str *s, const char *text, size_t n);
sm_status sm_str_append(sm_str *s, const char *text);
sm_status sm_str_appendf(sm_str *s, const char *fmt, ...) SM_PRINTF(2, 3);
sm_status sm_str_vappendf(sm_str *s, const char *fmt, va_list ap) SM_PRINTF(2, 0);
/* Empty the text (keeping the memory) and clear the failed mark. */
void sm_str_reset(sm_str *s);
void sm_str_free(sm_str *s);
/* The text; "" for a string never appended to. Valid until the next append, reset or free. */
const char *sm_str_cstr(const sm_str *s);
/* Hand the text over to the caller (free() it; never NULL unless out of memory) and empty s. */
char *sm_str_take(sm_str *s);
/* SM_OK, or SM_ERR_NOMEM with e saying "out of memory building <what>" when an append failed. */
sm_status sm_str_status(const sm_str *s, sm_error *e, const char *what);

#ifdef __cplusplus
}
#endif

#endif
