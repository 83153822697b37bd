/* theme.h: colour themes: files of `role = [attributes] colour [on colour]` lines giving each semantic
 * role (text, dim, title, border, good, warn, bad, curve1..curve6, selection, status, prompt) a style.
 * Parsing fills a copy that the caller applies only when the whole file parsed; the mapping of
 * #rrggbb and 256-colour numbers to what the terminal has is pure arithmetic. No curses here. */
#ifndef SMARTTY_UI_THEME_H
#define SMARTTY_UI_THEME_H

#include <stddef.h>

#include "smartty/common.h"
#include "ui/canvas.h"

typedef enum ui_color_kind { UI_COLOR_DEFAULT = 0, UI_COLOR_INDEX, UI_COLOR_RGB } ui_color_kind;

typedef struct ui_color {
    int kind;  /* ui_color_kind */
    int value; /* INDEX: 0-255; RGB: 0xRRGGBB */
} ui_color;

enum {
    UI_ATTR_BOLD = 1,
    UI_ATTR_DIM = 2,
    UI_ATTR_UNDERLINE = 4,
    UI_ATTR_REVERSE = 8,
    UI_ATTR_ITALIC = 16
};

typedef struct ui_style {
    ui_color fg, bg;
    unsigned attrs; /* UI_ATTR_* */
} ui_style;

typedef struct ui_theme {
    char name[64];
    ui_style role[UI_ROLE_COUNT];
} ui_theme;

const char *ui_role_name(int role);
int ui_role_lookup(const char *name); /* role, or -1 */

/* The built-in dark theme (the same as themes/default.theme): always available. */
void ui_theme_builtin(ui_theme *t);

/* Parse a theme from text. `file` names the source in messages ("file:line: what is wrong").
 * On success *out is filled (roles the file does not set take the `text` style); on failure *out is
 * left untouched. */
sm_status ui_theme_parse(const char *text, const char *file, const char *name, ui_theme *out,
                         sm_error *e);

/* Find NAME.theme in the directories (NULL-terminated list; NAME containing '/' is a path) and
 * parse it; path_out (may be NULL) receives the file used. */
sm_status ui_theme_load(const char *name, const char *const *dirs, ui_theme *out, char *path_out,
                        size_t path_cap, sm_error *e);

/* The directories searched, in order: $SMARTTY_THEMES, $XDG_CONFIG_HOME/smartty/themes (or
 * ~/.config/smartty/themes), then the compiled-in ones (source tree, installed). Fills dirs (cap
 * entries including the NULL terminator) using buf for storage. */
void ui_theme_dirs(const char **dirs, size_t cap, char *buf, size_t buf_cap, const char *src_dir,
                   const char *installed_dir);

/* Theme names (file names without .theme) found in dirs, sorted, without duplicates; returns how
 * many were written to names (each of name_cap bytes). */
size_t ui_theme_list(const char *const *dirs, char (*names)[64], size_t max_names);

/* The terminal colour index to use for c when the terminal has ncolors colours (256, 88, 16, 8):
 * -1 for the default colour or when ncolors < 8. RGB and high indices map to the nearest colour the
 * terminal has. */
int ui_color_resolve(ui_color c, int ncolors);

/* RGB of a 256-colour index (xterm's palette). */
int ui_color_index_rgb(int idx);

#endif
