/* canvas.c: the cell grid the chart and panes draw into, and the small UTF-8 helpers it needs.
 * No curses, no colours: roles are resolved to attributes by the dashboard. */
#include "ui/canvas.h"

#include <stdlib.h>
#include <string.h>

int ui_canvas_init(ui_canvas *c, int w, int h)
{
    c->w = c->h = 0;
    c->cells = NULL;
    if (w <= 0 || h <= 0)
        return -1;
    c->cells = malloc((size_t)w * (size_t)h * sizeof *c->cells);
    if (!c->cells)
        return -1;
    c->w = w;
    c->h = h;
    ui_canvas_clear(c);
    return 0;
}

void ui_canvas_free(ui_canvas *c)
{
    free(c->cells);
    c->cells = NULL;
    c->w = c->h = 0;
}

void ui_canvas_clear(ui_canvas *c)
{
    for (int i = 0; i < c->w * c->h; i++) {
        c->cells[i].ch = ' ';
        c->cells[i].role = UI_ROLE_TEXT;
    }
}

ui_cell *ui_canvas_at(ui_canvas *c, int y, int x)
{
    if (!c->cells || y < 0 || x < 0 || y >= c->h || x >= c->w)
        return NULL;
    return &c->cells[y * c->w + x];
}

int ui_utf8_encode(uint32_t cp, char *buf)
{
    if (cp < 0x80) {
        buf[0] = (char)cp;
        buf[1] = 0;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        buf[2] = 0;
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        buf[3] = 0;
        return 3;
    }
    buf[0] = (char)(0xF0 | (cp >> 18));
    buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (char)(0x80 | (cp & 0x3F));
    buf[4] = 0;
    return 4;
}

int ui_utf8_decode(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!u[0])
        return 0;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    int len = (u[0] & 0xE0) == 0xC0 ? 2 : (u[0] & 0xF0) == 0xE0 ? 3 : (u[0] & 0xF8) == 0xF0 ? 4 : 0;
    uint32_t v = len == 2 ? u[0] & 0x1Fu : len == 3 ? u[0] & 0x0Fu : u[0] & 0x07u;
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            len = 0;
            break;
        }
        v = (v << 6) | (u[i] & 0x3Fu);
    }
    if (len == 0) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

int ui_canvas_text(ui_canvas *c, int y, int x, const char *utf8, int role)
{
    int n = 0;
    uint32_t cp;
    int k;
    while ((k = ui_utf8_decode(utf8, &cp)) > 0) {
        utf8 += k;
        ui_cell *cell = ui_canvas_at(c, y, x + n);
        if (!cell)
            break;
        cell->ch = cp;
        cell->role = (uint8_t)role;
        n++;
    }
    return n;
}
