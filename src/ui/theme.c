/* theme.c: theme files (parsing into a copy, with file:line:column errors), the search path, and the
 * mapping of colours to what a terminal offers (256 -> 16 -> 8 -> none). Applying a theme to curses
 * is the dashboard's business, not this file's. */
#include "ui/theme.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/str.h"

static const char *const role_names[UI_ROLE_COUNT] = {
    "text", "dim", "title", "border", "good", "warn", "bad", "curve1", "curve2", "curve3",
    "curve4", "curve5", "curve6", "selection", "status", "prompt",
};

const char *ui_role_name(int role)
{
    return role >= 0 && role < UI_ROLE_COUNT ? role_names[role] : "?";
}

int ui_role_lookup(const char *name)
{
    for (int i = 0; i < UI_ROLE_COUNT; i++)
        if (!strcasecmp(name, role_names[i]))
            return i;
    return -1;
}

/* The built-in theme is the text of themes/default.theme, parsed like any file. */
static const char builtin_text[] =
    "text = default\n"
    "dim = 244\n"
    "title = bold cyan\n"
    "border = 240\n"
    "good = green\n"
    "warn = yellow\n"
    "bad = bold red\n"
    "curve1 = #5fafff\n"
    "curve2 = #ffaf5f\n"
    "curve3 = #87d75f\n"
    "curve4 = #d787d7\n"
    "curve5 = #5fd7d7\n"
    "curve6 = #d7d75f\n"
    "selection = black on cyan\n"
    "status = white on 236\n"
    "prompt = bold green\n";

void ui_theme_builtin(ui_theme *t)
{
    sm_error e;
    sm_status st = ui_theme_parse(builtin_text, "(built-in)", "default", t, &e);
    (void)st; /* the built-in text is covered by the tests */
}

static const char *const color_names[16] = {
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
    "bright-black", "bright-red", "bright-green", "bright-yellow", "bright-blue",
    "bright-magenta", "bright-cyan", "bright-white",
};

static const struct { const char *name; unsigned attr; } attr_names[] = {
    {"bold", UI_ATTR_BOLD}, {"dim", UI_ATTR_DIM}, {"underline", UI_ATTR_UNDERLINE},
    {"reverse", UI_ATTR_REVERSE}, {"italic", UI_ATTR_ITALIC},
};

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* 1: parsed a colour; 0: not a colour word at all; -1: looked like one but was bad (message set). */
static int parse_color(const char *w, ui_color *c, char *why, size_t cap)
{
    if (!strcasecmp(w, "default")) {
        c->kind = UI_COLOR_DEFAULT;
        c->value = 0;
        return 1;
    }
    if (w[0] == '#') {
        size_t n = strlen(w + 1);
        int v = 0;
        for (size_t i = 0; i < n && n == 6; i++) {
            int h = hexval((unsigned char)w[1 + i]);
            if (h < 0) {
                n = 0;
                break;
            }
            v = v * 16 + h;
        }
        if (n != 6) {
            snprintf(why, cap, "bad colour '%s': expected #rrggbb (six hex digits)", w);
            return -1;
        }
        c->kind = UI_COLOR_RGB;
        c->value = v;
        return 1;
    }
    if (isdigit((unsigned char)w[0])) {
        char *end;
        long v = strtol(w, &end, 10);
        if (*end) {
            snprintf(why, cap, "bad colour number '%s'", w);
            return -1;
        }
        if (v < 0 || v > 255) {
            snprintf(why, cap, "colour number %ld is out of range 0-255", v);
            return -1;
        }
        c->kind = UI_COLOR_INDEX;
        c->value = (int)v;
        return 1;
    }
    char norm[64];
    snprintf(norm, sizeof norm, "%s", w);
    for (char *p = norm; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!strncmp(norm, "bright", 6) && norm[6] && norm[6] != '-' &&
        strlen(norm) + 1 < sizeof norm) { /* brightred -> bright-red (when the dash fits) */
        memmove(norm + 7, norm + 6, strlen(norm + 6) + 1);
        norm[6] = '-';
    }
    if (!strcmp(norm, "gray") || !strcmp(norm, "grey"))
        snprintf(norm, sizeof norm, "bright-black");
    for (int i = 0; i < 16; i++)
        if (!strcmp(norm, color_names[i])) {
            c->kind = UI_COLOR_INDEX;
            c->value = i;
            return 1;
        }
    return 0;
}

/* Is the '#' at s[i] the start of a comment rather than a #rrggbb colour? At the start of a line
 * always; after a blank unless a hex digit follows ("# note" is a comment, "#5fafff" a colour). */
static int comment_at(const char *s, size_t i)
{
    size_t j = 0;
    while (j < i && isspace((unsigned char)s[j]))
        j++;
    if (j == i)
        return 1;
    if (!isspace((unsigned char)s[i - 1]))
        return 0;
    return hexval((unsigned char)s[i + 1]) < 0;
}

static sm_status line_err(sm_error *e, const char *file, int line, int col, const char *msg)
{
    return sm_err(e, SM_ERR_FORMAT, "%s:%d:%d: %s", file, line, col, msg);
}

sm_status ui_theme_parse(const char *text, const char *file, const char *name, ui_theme *out,
                         sm_error *e)
{
    ui_theme t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name ? name : "");
    int set_at[UI_ROLE_COUNT] = {0};
    int lineno = 0;
    const char *p = text;
    char why[200];
    while (*p) {
        lineno++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char buf[512];
        if (len >= sizeof buf)
            return line_err(e, file, lineno, 1, "line too long (at most 511 characters)");
        memcpy(buf, p, len);
        buf[len] = 0;
        if (len && buf[len - 1] == '\r')
            buf[len - 1] = 0;
        p = eol ? eol + 1 : p + len;
        for (size_t i = 0; buf[i]; i++)
            if (buf[i] == '#' && comment_at(buf, i)) {
                buf[i] = 0;
                break;
            }
        char *s = buf;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(why, sizeof why, "expected 'role = style', found '%.60s' (no '=')", s);
            return line_err(e, file, lineno, (int)(s - buf) + 1, why);
        }
        char key[64];
        size_t kl = (size_t)(eq - s);
        while (kl && isspace((unsigned char)s[kl - 1]))
            kl--;
        if (kl == 0)
            return line_err(e, file, lineno, (int)(s - buf) + 1, "missing role name before '='");
        snprintf(key, sizeof key, "%.*s", (int)(kl < 63 ? kl : 63), s);
        int role = ui_role_lookup(key);
        if (role < 0) {
            snprintf(why, sizeof why,
                     "unknown role '%s' (roles: text dim title border good warn bad curve1..curve6 "
                     "selection status prompt)", key);
            return line_err(e, file, lineno, (int)(s - buf) + 1, why);
        }
        if (set_at[role]) {
            snprintf(why, sizeof why, "role '%s' is set twice (first on line %d)", key, set_at[role]);
            return line_err(e, file, lineno, (int)(s - buf) + 1, why);
        }
        ui_style st;
        memset(&st, 0, sizeof st);
        int have_fg = 0, have_bg = 0, want_bg = 0, ntok = 0;
        char *v = eq + 1;
        for (;;) {
            while (isspace((unsigned char)*v))
                v++;
            if (!*v)
                break;
            char *w = v;
            while (*v && !isspace((unsigned char)*v))
                v++;
            char save = *v;
            *v = 0;
            int col = (int)(w - buf) + 1;
            ntok++;
            ui_color c;
            int pc;
            if (have_bg) {
                snprintf(why, sizeof why, "unexpected '%s' after the background colour", w);
                return line_err(e, file, lineno, col, why);
            }
            if (!want_bg && !strcasecmp(w, "on")) {
                want_bg = 1;
            } else if ((pc = parse_color(w, &c, why, sizeof why)) < 0) {
                return line_err(e, file, lineno, col, why);
            } else if (pc > 0) {
                if (want_bg) {
                    st.bg = c;
                    have_bg = 1;
                } else if (have_fg) {
                    snprintf(why, sizeof why,
                             "second foreground colour '%s' (write 'FG on BG' for a background)", w);
                    return line_err(e, file, lineno, col, why);
                } else {
                    st.fg = c;
                    have_fg = 1;
                }
            } else {
                unsigned a = 0;
                for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++)
                    if (!strcasecmp(w, attr_names[i].name))
                        a = attr_names[i].attr;
                if (want_bg) {
                    snprintf(why, sizeof why, "'on' must be followed by a background colour, not '%s'", w);
                    return line_err(e, file, lineno, col, why);
                }
                if (!a) {
                    snprintf(why, sizeof why,
                             "unknown colour or attribute '%s' (colours: a name such as cyan or "
                             "bright-red, 0-255, #rrggbb, default; attributes: bold dim "
                             "underline reverse italic)", w);
                    return line_err(e, file, lineno, col, why);
                }
                st.attrs |= a;
            }
            *v = save;
        }
        if (ntok == 0) {
            snprintf(why, sizeof why, "role '%s' has no style after '='", key);
            return line_err(e, file, lineno, (int)(eq - buf) + 2, why);
        }
        if (want_bg && !have_bg)
            return line_err(e, file, lineno, (int)strlen(buf),
                            "'on' must be followed by a background colour");
        t.role[role] = st;
        set_at[role] = lineno;
    }
    for (int r = 0; r < UI_ROLE_COUNT; r++)
        if (!set_at[r] && r != UI_ROLE_TEXT)
            t.role[r] = t.role[UI_ROLE_TEXT];
    *out = t;
    return SM_OK;
}

sm_status ui_theme_load(const char *name, const char *const *dirs, ui_theme *out, char *path_out,
                        size_t path_cap, sm_error *e)
{
    char path[4096];
    const char *found = NULL;
    if (!name || !*name)
        return sm_err(e, SM_ERR_INVALID, "the theme name is empty: give a name such as light, or the path of "
                      "a .theme file"); /* the caller says `theme:` or --theme */
    if (strchr(name, '/')) {
        if (sm_file_exists(name))
            found = name;
    } else {
        char file[300];
        if ((size_t)snprintf(file, sizeof file, "%s.theme", name) >= sizeof file) /* refused, not cut */
            return sm_err(e, SM_ERR_INVALID, "the theme name is %zu bytes long: give at most %zu", strlen(name),
                          sizeof file - 7);
        for (size_t i = 0; dirs && dirs[i] && !found; i++)
            if (sm_path_join(path, sizeof path, dirs[i], file) && sm_file_exists(path))
                found = path;
    }
    if (!found) {
        sm_str where = SM_STR_INIT;
        for (size_t i = 0; dirs && dirs[i]; i++)
            sm_str_appendf(&where, "%s%s", i ? ", " : "", dirs[i]);
        sm_err(e, SM_ERR_NOTFOUND, "theme '%s' not found: no %s.theme in %s", name, name,
               where.len ? sm_str_cstr(&where) : "(no theme directory)");
        sm_str_free(&where);
        return SM_ERR_NOTFOUND;
    }
    char *text = NULL;
    size_t len;
    sm_status st = sm_read_file(found, &text, &len, 1 << 20, e);
    if (st)
        return st;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    char nm[64];
    snprintf(nm, sizeof nm, "%s", base);
    char *dot = strstr(nm, ".theme");
    if (dot)
        *dot = 0;
    st = ui_theme_parse(text, found, nm, out, e);
    free(text);
    if (!st && path_out)
        snprintf(path_out, path_cap, "%s", found);
    return st;
}

void ui_theme_dirs(const char **dirs, size_t cap, char *buf, size_t buf_cap, const char *src_dir,
                   const char *installed_dir)
{
    size_t n = 0;
    const char *env = getenv("SMARTTY_THEMES");
    if (env && *env && n + 1 < cap)
        dirs[n++] = env;
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int k = -1;
    if (xdg && *xdg)
        k = snprintf(buf, buf_cap, "%s/smartty/themes", xdg);
    else if (home && *home)
        k = snprintf(buf, buf_cap, "%s/.config/smartty/themes", home);
    if (k > 0 && (size_t)k < buf_cap && n + 1 < cap)
        dirs[n++] = buf;
    if (src_dir && *src_dir && n + 1 < cap)
        dirs[n++] = src_dir;
    if (installed_dir && *installed_dir && n + 1 < cap)
        dirs[n++] = installed_dir;
    if (cap)
        dirs[n] = NULL;
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

size_t ui_theme_list(const char *const *dirs, char (*names)[64], size_t max_names)
{
    size_t n = 0;
    for (size_t i = 0; dirs && dirs[i]; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d)) && n < max_names) {
            size_t l = strlen(de->d_name);
            if (l <= 6 || l - 6 >= 64 || strcmp(de->d_name + l - 6, ".theme"))
                continue;
            char nm[64];
            snprintf(nm, sizeof nm, "%.*s", (int)(l - 6), de->d_name);
            int dup = 0;
            for (size_t j = 0; j < n && !dup; j++)
                dup = !strcmp(names[j], nm);
            if (!dup)
                memcpy(names[n++], nm, sizeof nm);
        }
        closedir(d);
    }
    qsort(names, n, sizeof names[0], cmp_names);
    return n;
}

static const int ansi16[16] = {
    0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5,
    0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff,
};

int ui_color_index_rgb(int idx)
{
    if (idx < 0)
        return 0;
    if (idx < 16)
        return ansi16[idx];
    if (idx < 232) {
        static const int lv[6] = {0, 95, 135, 175, 215, 255};
        int i = idx - 16;
        return lv[i / 36] << 16 | lv[(i / 6) % 6] << 8 | lv[i % 6];
    }
    int g = 8 + 10 * (idx - 232);
    return g << 16 | g << 8 | g;
}

static long dist2(int a, int b)
{
    long dr = ((a >> 16) & 255) - ((b >> 16) & 255), dg = ((a >> 8) & 255) - ((b >> 8) & 255),
         db = (a & 255) - (b & 255);
    return dr * dr + dg * dg + db * db;
}

static int nearest(int rgb, int lo, int hi)
{
    int best = lo;
    long bd = -1;
    for (int i = lo; i < hi; i++) {
        long d = dist2(rgb, ui_color_index_rgb(i));
        if (bd < 0 || d < bd) {
            bd = d;
            best = i;
        }
    }
    return best;
}

int ui_color_resolve(ui_color c, int ncolors)
{
    if (c.kind == UI_COLOR_DEFAULT || ncolors < 8)
        return -1;
    if (c.kind == UI_COLOR_INDEX) {
        if (c.value < 16 && c.value < ncolors)
            return c.value;
        if (ncolors >= 256)
            return c.value;
        if (c.value < 16) /* bright colour on an 8-colour terminal */
            return c.value - 8;
    }
    int rgb = c.kind == UI_COLOR_RGB ? c.value : ui_color_index_rgb(c.value);
    if (ncolors >= 256)
        return nearest(rgb, 16, 256);
    return nearest(rgb, 0, ncolors >= 16 ? 16 : 8);
}
