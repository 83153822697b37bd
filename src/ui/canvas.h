/* canvas.h: a grid of cells (a Unicode code point and a colour role each) that the chart renderer
 * and the dashboard's panes draw into. Knows nothing of curses: the dashboard copies it to a window. */
#ifndef SMARTTY_UI_CANVAS_H
#define SMARTTY_UI_CANVAS_H

#include <stddef.h>
#include <stdint.h>

/* Semantic colour roles; a theme gives each a style. */
typedef enum ui_role {
    UI_ROLE_TEXT = 0,
    UI_ROLE_DIM,
    UI_ROLE_TITLE,
    UI_ROLE_BORDER,
    UI_ROLE_GOOD,
    UI_ROLE_WARN,
    UI_ROLE_BAD,
    UI_ROLE_CURVE1,
    UI_ROLE_CURVE2,
    UI_ROLE_CURVE3,
    UI_ROLE_CURVE4,
    UI_ROLE_CURVE5,
    UI_ROLE_CURVE6,
    UI_ROLE_SELECTION,
    UI_ROLE_STATUS,
    UI_ROLE_PROMPT,
    UI_ROLE_COUNT
} ui_role;

typedef struct ui_cell {
    uint32_t ch;  /* Unicode code point; ' ' when empty */
    uint8_t role; /* ui_role */
} ui_cell;

typedef struct ui_canvas {
    int w, h;
    ui_cell *cells; /* [h][w], owned by whoever made the canvas */
} ui_canvas;

/* Allocate a w x h canvas of blanks (NULL cells on failure or an empty size). */
int ui_canvas_init(ui_canvas *c, int w, int h);
void ui_canvas_free(ui_canvas *c);
void ui_canvas_clear(ui_canvas *c);
/* The cell at (y, x), or NULL outside the canvas. */
ui_cell *ui_canvas_at(ui_canvas *c, int y, int x);
/* Write UTF-8 text from (y, x), clipped at the right edge; returns the number of cells written. */
int ui_canvas_text(ui_canvas *c, int y, int x, const char *utf8, int role);
/* Encode a code point as UTF-8 into buf (at least 5 bytes); returns the length. */
int ui_utf8_encode(uint32_t cp, char *buf);
/* Decode one code point from s; returns bytes consumed (0 at the end of the string). Invalid
 * sequences decode as U+FFFD, one byte at a time. */
int ui_utf8_decode(const char *s, uint32_t *cp);

#endif
