/* complete.c: what can stand at the cursor: command names, then, by the command's argument spec,
 * keywords, hyperparameter and setting names, enum values, preset, theme and field names, and the
 * snapshots (`rewind`) and branches (`checkout`) the backend has. File
 * names are left to the host (readline completes paths); this file never touches readline. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "console/parse.h"
#include "smartty/session.h"

typedef struct sink {
    const char *prefix;
    size_t plen;
    void (*add)(void *ud, const char *w);
    void *ud;
} sink;

static void offer(sink *s, const char *w)
{
    if (!strncmp(w, s->prefix, s->plen))
        s->add(s->ud, w);
}

static void offer_keywords(sink *s, const char *alts)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", alts);
    for (char *save = NULL, *w = strtok_r(buf, "|", &save); w; w = strtok_r(NULL, "|", &save))
        offer(s, w);
}

static void offer_theme(void *ud, const char *name) { offer(ud, name); }

static void scan_themes(const char *dir, void (*add)(void *ud, const char *name), void *ud)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.')
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s", de->d_name);
        if (n > 6 && !strcmp(name + n - 6, ".theme"))
            name[n - 6] = '\0';
        add(ud, name);
    }
    closedir(d);
}

void con_theme_names(void (*add)(void *ud, const char *name), void *ud)
{
    char dir[4096]; /* a longer folder is not scanned (a cut name would be another folder) */
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    scan_themes("themes", add, ud);
    if (xdg && xdg[0] == '/') {
        if ((size_t)snprintf(dir, sizeof dir, "%s/smartty/themes", xdg) < sizeof dir)
            scan_themes(dir, add, ud);
    } else if (home && home[0]) {
        if ((size_t)snprintf(dir, sizeof dir, "%s/.config/smartty/themes", home) < sizeof dir)
            scan_themes(dir, add, ud);
    }
#ifdef SMARTTY_THEMESDIR
    scan_themes(SMARTTY_THEMESDIR, add, ud);
#endif
}

/* The names a rewind (snapshots; not the branches' latest states, which `checkout` takes) or a
 * checkout (branches) can take, from the backend: any thread, the session answers under its lock. */
static void offer_state_names(const con_ctx *c, sink *s, int branches)
{
    if (!c->be)
        return;
    if (branches && c->be->branches) {
        sm_branch_info *b = NULL;
        size_t n = c->be->branches(c->be_ud, &b);
        for (size_t i = 0; b && i < n; i++)
            offer(s, b[i].name);
        free(b);
    } else if (!branches && c->be->snapshots) {
        sm_snapshot_info *sn = NULL;
        size_t n = c->be->snapshots(c->be_ud, &sn);
        for (size_t i = 0; sn && i < n; i++)
            if (strncmp(sn[i].name, "branch ", 7))
                offer(s, sn[i].name);
        free(sn);
    }
}

/* Words of the line before the cursor; the last word is the one being completed (possibly ""). */
static int split_words(const char *line, con_tokens *t, const char **last)
{
    size_t len = strlen(line), off = 0, rest;
    char err[128];
    int col;
    /* only the command the cursor is in counts: skip commands ended by ; */
    for (;;) {
        if (con_tokenize(line + off, len - off, t, &rest, err, sizeof err, &col)) {
            con_tokens_free(t);
            return -1;
        }
        if (rest == 0 || line[off + rest - 1] != ';')
            break;
        con_tokens_free(t);
        off += rest;
    }
    int ends_blank = len > off && (line[len - 1] == ' ' || line[len - 1] == '\t');
    if (t->argc == 0 || ends_blank) {
        *last = "";
        return t->argc; /* completing a new word at index argc */
    }
    *last = t->argv[t->argc - 1];
    return t->argc - 1;
}

int con_complete(const con_ctx *c, const char *line, void (*add)(void *ud, const char *w), void *ud)
{
    con_tokens t;
    const char *last;
    int idx = split_words(line, &t, &last);
    if (idx < 0)
        return 0;
    sink s = {last, strlen(last), add, ud};
    size_t n;
    const con_cmd *tab = con_commands(&n);
    int files = 0;
    if (idx == 0) {
        for (size_t i = 0; i < n; i++)
            offer(&s, tab[i].name);
        con_tokens_free(&t);
        return 0;
    }
    const con_cmd *cmd;
    char err[256];
    if (con_cmd_lookup(tab, n, t.argv[0], &cmd, err, sizeof err) != CON_LOOKUP_FOUND) {
        con_tokens_free(&t);
        return 0;
    }
    con_arg_item items[16];
    int ni = con_spec_parse(cmd->args, items, 16);
    const con_arg_item *it = con_spec_item_at(items, ni, idx - 1);
    if (!it) {
        con_tokens_free(&t);
        return 0;
    }
    const char *ph = it->text;
    if (it->kind == CON_ARG_KEYWORD) {
        offer_keywords(&s, ph);
    } else if (!strcmp(ph, "PARAM")) {
        for (size_t i = 0; i < sm_hparam_count(); i++)
            offer(&s, sm_hparam_def_at((int)i)->name);
        for (size_t i = 0; i < con_setting_count(); i++)
            offer(&s, con_setting_at(i)->name);
    } else if (!strcmp(ph, "VALUE") && !strcmp(cmd->name, "set")) {
        int id = sm_hparam_lookup(t.argv[1]);
        const con_setting_def *d = con_setting_lookup(t.argv[1]);
        if (id >= 0 && sm_hparam_def_at(id)->type == SM_HP_ENUM) {
            for (const char *const *ch = sm_hparam_def_at(id)->choices; *ch; ch++)
                offer(&s, *ch);
        } else if (d && d->type == CON_SET_ENUM) {
            for (const char *const *ch = d->choices; *ch; ch++)
                offer(&s, *ch);
        } else if (d && d->type == CON_SET_BOOL) {
            offer(&s, "on");
            offer(&s, "off");
        }
    } else if (!strcmp(ph, "PRESET")) {
        for (const char *const *p = sm_hparam_presets(); *p; p++)
            offer(&s, *p);
    } else if (!strcmp(ph, "THEME")) {
        con_theme_names(offer_theme, &s);
    } else if (!strcmp(ph, "CMD")) {
        for (size_t i = 0; i < n; i++)
            offer(&s, tab[i].name);
    } else if (!strcmp(ph, "COND")) {
        for (size_t i = 0; i < sm_field_count(); i++)
            offer(&s, sm_field_at(i)->name);
        static const char *const words[] = {"nan", "and", "or", "not"};
        for (size_t i = 0; i < 4; i++)
            offer(&s, words[i]);
    } else if (!strcmp(ph, "ID")) {
        offer(&s, "all");
    } else if (!strcmp(ph, "NAME") && (!strcmp(cmd->name, "rewind") || !strcmp(cmd->name, "checkout"))) {
        offer_state_names(c, &s, cmd->name[0] == 'c');
    } else if (con_placeholder_is_path(ph)) {
        files = 1;
    }
    con_tokens_free(&t);
    return files;
}
