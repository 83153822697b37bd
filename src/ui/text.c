/* text.c: wrapping and middle elision of UTF-8 text for the dashboard (see text.h). No curses. */
#include "ui/text.h"

#include <stdint.h>
#include <string.h>

#include "ui/canvas.h"

int ui_text_len(const char *s)
{
    int n = 0, k;
    uint32_t cp;
    while ((k = ui_utf8_decode(s, &cp)) > 0) {
        s += k;
        n++;
    }
    return n;
}

/* The byte offset of code point i of s (or its length when i is past the end). */
static size_t byte_at(const char *s, int i)
{
    const char *p = s;
    int k;
    uint32_t cp;
    while (i-- > 0 && (k = ui_utf8_decode(p, &cp)) > 0)
        p += k;
    return (size_t)(p - s);
}

size_t ui_wrap_row(const char *s, int width, size_t *advance)
{
    const char *p = s, *space = NULL;
    int cols = 0, k = 1;
    uint32_t cp;
    if (width < 1)
        width = 1;
    while (cols < width && (k = ui_utf8_decode(p, &cp)) > 0) {
        if (cp == ' ' && p > s)
            space = p;
        p += k;
        cols++;
    }
    size_t n = (size_t)(p - s);
    if (!*p) { /* the rest fits */
        *advance = n;
        return n;
    }
    if (*p == ' ') { /* the row ends right before a space */
        *advance = n + 1;
        return n;
    }
    if (space) { /* break at the last space of the row */
        *advance = (size_t)(space - s) + 1;
        return (size_t)(space - s);
    }
    *advance = n; /* a word longer than the row */
    return n;
}

static void put(char *out, size_t cap, size_t *w, const char *s, size_t n)
{
    if (*w + n >= cap)
        n = *w + 1 < cap ? cap - 1 - *w : 0;
    memcpy(out + *w, s, n);
    *w += n;
    out[*w] = 0;
}

char *ui_elide_middle(const char *s, int width, const char *ell, char *out, size_t cap)
{
    if (!cap)
        return out;
    out[0] = 0;
    int len = ui_text_len(s), el = ui_text_len(ell);
    size_t w = 0;
    if (len <= width) {
        put(out, cap, &w, s, strlen(s));
        return out;
    }
    if (width <= el) { /* room for the end only */
        const char *end = s + byte_at(s, len - (width > 0 ? width : 0));
        put(out, cap, &w, end, strlen(end));
        return out;
    }
    int room = width - el;
    /* the tail: the last component with its slash when it fits beside the ellipsis */
    const char *last = strrchr(s, '/');
    int tail = last && last[1] ? ui_text_len(last) : 0;
    if (tail <= 0 || tail > room)
        tail = room - room / 2; /* no path shape that fits: the start and the end of the text */
    int head_room = room - tail;
    /* the head: the first components whole ("/tmp" + "/"), when a slash falls within the room */
    int cut = -1;
    for (int i = head_room - 1; i >= 1 && cut < 0; i--)
        if (s[byte_at(s, i)] == '/')
            cut = i;
    if (cut > 0) {
        put(out, cap, &w, s, byte_at(s, cut + 1)); /* "/tmp/" */
    } else {
        put(out, cap, &w, s, byte_at(s, head_room));
    }
    put(out, cap, &w, ell, strlen(ell));
    const char *end = s + byte_at(s, len - tail);
    put(out, cap, &w, end, strlen(end));
    return out;
}
