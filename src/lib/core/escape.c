/* escape.c: sm_text_escape, making outside text safe to show on a terminal (see escape.h). A plain
 * byte scanner with its own UTF-8 decoding; it does not judge whether a character is printable
 * beyond the controls listed in escape.h. */
#include "smartty/escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4, within left bytes) and its code point, or 0 when
 * invalid. */
static int utf8_seq(const unsigned char *s, size_t left, unsigned *cp)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if ((size_t)n > left)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

static int hidden_cp(unsigned cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

size_t sm_text_escape(char *out, size_t cap, const char *in, unsigned flags)
{
    return sm_text_escape_n(out, cap, in ? in : "", in ? strlen(in) : 0, flags);
}

size_t sm_text_escape_n(char *out, size_t cap, const char *in, size_t inlen, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)in, *end = s + inlen;
    size_t need = 0, used = 0;
    int full = cap == 0;
    while (s < end) {
        char unit[16];
        const char *src = unit;
        size_t n;
        unsigned cp;
        int len = utf8_seq(s, (size_t)(end - s), &cp);
        if (len == 0) {
            n = (size_t)snprintf(unit, sizeof unit, "\\x%02x", *s);
            len = 1;
        } else if (len == 1 && (cp < 0x20 || cp == 0x7f)) {
            if ((flags & SM_ESC_KEEP_NL) && (cp == '\n' || cp == '\t'))
                unit[0] = (char)cp, n = 1;
            else if (cp == '\n' || cp == '\t' || cp == '\r')
                n = (size_t)snprintf(unit, sizeof unit, "\\%c", cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r');
            else
                n = (size_t)snprintf(unit, sizeof unit, "\\x%02x", cp);
        } else if (hidden_cp(cp)) {
            n = (size_t)snprintf(unit, sizeof unit, "\\u{%04x}", cp);
        } else {
            src = (const char *)s, n = (size_t)len;
        }
        s += len;
        need += n;
        if (!full && used + n < cap) {
            memcpy(out + used, src, n);
            used += n;
        } else {
            full = 1;
        }
    }
    if (cap)
        out[used] = '\0';
    return need;
}

char *sm_text_escape_dup(const char *in, unsigned flags)
{
    size_t n = sm_text_escape(NULL, 0, in, flags);
    char *out = malloc(n + 1);
    if (out)
        sm_text_escape(out, n + 1, in, flags);
    return out;
}

void sm_text_escape_inplace(char *msg, size_t cap)
{
    const unsigned char *s = (const unsigned char *)msg;
    int clean = 1;
    for (; *s && clean; s++)
        clean = *s >= 0x20 && *s < 0x7f;
    if (clean || cap == 0)
        return;
    char *copy = strdup(msg);
    if (!copy) { /* no memory: blank out the controls at least */
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        return;
    }
    sm_text_escape(msg, cap, copy, 0);
    free(copy);
}
