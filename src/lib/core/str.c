/* str.c: sm_str, the growable string (str.h): the buffer doubles as it fills, formatted appends run
 * vsnprintf twice (measure, then write). Nothing here prints, aborts or cuts text short. */
#include "smartty/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sm_str_init(sm_str *s)
{
    s->p = NULL;
    s->len = s->cap = 0;
    s->failed = 0;
}

/* Room for `more` bytes after len, and the NUL. */
static sm_status grow(sm_str *s, size_t more)
{
    if (more > (size_t)-1 / 2 - s->len - 1) {
        s->failed = 1;
        return SM_ERR_NOMEM;
    }
    size_t need = s->len + more + 1;
    if (need <= s->cap)
        return SM_OK;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(s->p, cap);
    if (!p) {
        s->failed = 1;
        return SM_ERR_NOMEM;
    }
    if (!s->p)
        p[0] = '\0';
    s->p = p;
    s->cap = cap;
    return SM_OK;
}

sm_status sm_str_appendn(sm_str *s, const char *text, size_t n)
{
    if (grow(s, n) != SM_OK)
        return SM_ERR_NOMEM;
    if (n)
        memcpy(s->p + s->len, text, n);
    s->len += n;
    s->p[s->len] = '\0';
    return SM_OK;
}

sm_status sm_str_append(sm_str *s, const char *text)
{
    return sm_str_appendn(s, text, strlen(text));
}

sm_status sm_str_vappendf(sm_str *s, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) { /* a format vsnprintf refuses (an encoding error): nothing is appended */
        va_end(again);
        s->failed = 1;
        return SM_ERR_INVALID;
    }
    if (grow(s, (size_t)n) != SM_OK) {
        va_end(again);
        return SM_ERR_NOMEM;
    }
    vsnprintf(s->p + s->len, (size_t)n + 1, fmt, again);
    va_end(again);
    s->len += (size_t)n;
    return SM_OK;
}

sm_status sm_str_appendf(sm_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sm_status st = sm_str_vappendf(s, fmt, ap);
    va_end(ap);
    return st;
}

void sm_str_reset(sm_str *s)
{
    s->len = 0;
    if (s->p)
        s->p[0] = '\0';
    s->failed = 0;
}

void sm_str_free(sm_str *s)
{
    free(s->p);
    sm_str_init(s);
}

const char *sm_str_cstr(const sm_str *s)
{
    return s->p ? s->p : "";
}

char *sm_str_take(sm_str *s)
{
    char *p = s->p ? s->p : sm_strdup("");
    sm_str_init(s);
    return p;
}

sm_status sm_str_status(const sm_str *s, sm_error *e, const char *what)
{
    if (!s->failed)
        return SM_OK;
    return sm_err(e, SM_ERR_NOMEM, "out of memory building %s", what);
}
