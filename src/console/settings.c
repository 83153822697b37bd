/* settings.c: the console settings table and its parse/format; values are validated against the
 * table's bounds or choices and errors name the allowed values. */
#include "console/settings.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "console/parse.h"

static const char *const on_error_choices[] = {"stop", "continue", NULL};

static const con_setting_def defs[] = {
    {"on_error", CON_SET_ENUM, 0, 0, CON_ON_ERROR_STOP, on_error_choices, offsetof(con_settings, on_error),
     "what a script does after a failed command: stop (exit status 1) or continue"},
    {"ui_fps", CON_SET_INT, 1, 60, 4, NULL, offsetof(con_settings, ui_fps),
     "dashboard frames per second at most"},
    {"progress_every", CON_SET_FLOAT, 0.05, 3600, 2.0, NULL, offsetof(con_settings, progress_every),
     "seconds between plain progress lines when the output is not a terminal"},
    {"echo", CON_SET_BOOL, 0, 1, 0, NULL, offsetof(con_settings, echo),
     "echo each command of a script before running it"},
    {"confirm", CON_SET_BOOL, 0, 1, 1, NULL, offsetof(con_settings, confirm),
     "ask before `quit` discards unsaved training (interactive only)"},
    {"train_wait", CON_SET_BOOL, 0, 1, 1, NULL, offsetof(con_settings, train_wait),
     "`train` returns only when the run stops (on in scripts; the interactive console starts off)"},
    {"snapshot_budget", CON_SET_FLOAT, 0, 1e9, 0, NULL, offsetof(con_settings, snapshot_budget),
     "MiB of snapshots and branch states kept in memory (0: no limit); beyond, the oldest spill to disk"},
};

size_t con_setting_count(void) { return sizeof defs / sizeof defs[0]; }

const con_setting_def *con_setting_at(size_t i) { return i < con_setting_count() ? &defs[i] : NULL; }

const con_setting_def *con_setting_lookup(const char *name)
{
    for (size_t i = 0; i < con_setting_count(); i++)
        if (!strcmp(defs[i].name, name))
            return &defs[i];
    return NULL;
}

static int *int_at(con_settings *s, const con_setting_def *d) { return (int *)(void *)((char *)s + d->offset); }
static double *dbl_at(con_settings *s, const con_setting_def *d) { return (double *)(void *)((char *)s + d->offset); }
static int cint_at(const con_settings *s, const con_setting_def *d)
{
    int v;
    memcpy(&v, (const char *)s + d->offset, sizeof v);
    return v;
}
static double cdbl_at(const con_settings *s, const con_setting_def *d)
{
    double v;
    memcpy(&v, (const char *)s + d->offset, sizeof v);
    return v;
}

void con_settings_default(con_settings *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < con_setting_count(); i++) {
        const con_setting_def *d = &defs[i];
        if (d->type == CON_SET_FLOAT)
            *dbl_at(s, d) = d->def;
        else
            *int_at(s, d) = (int)d->def;
    }
}

int con_setting_set(con_settings *s, const char *name, const char *value, char *err, size_t cap)
{
    const con_setting_def *d = con_setting_lookup(name);
    char why[256];
    if (!d) {
        snprintf(err, cap, "unknown setting '%s'", name);
        return -1;
    }
    switch (d->type) {
    case CON_SET_BOOL: {
        int b;
        if (con_parse_bool(value, &b, why, sizeof why))
            goto bad;
        *int_at(s, d) = b;
        return 0;
    }
    case CON_SET_INT: {
        long long v;
        if (con_parse_long(value, (long long)d->min, (long long)d->max, &v, why, sizeof why))
            goto bad;
        *int_at(s, d) = (int)v;
        return 0;
    }
    case CON_SET_FLOAT: {
        double v;
        if (con_parse_double(value, d->min, d->max, &v, why, sizeof why))
            goto bad;
        *dbl_at(s, d) = v;
        return 0;
    }
    case CON_SET_ENUM: {
        int k = con_parse_choice(value, d->choices, why, sizeof why);
        if (k < 0)
            goto bad;
        *int_at(s, d) = k;
        return 0;
    }
    }
bad:
    snprintf(err, cap, "%s: %s", name, why);
    return -1;
}

void con_setting_format(const con_settings *s, const con_setting_def *d, char *buf, size_t cap)
{
    switch (d->type) {
    case CON_SET_BOOL: snprintf(buf, cap, "%s", cint_at(s, d) ? "on" : "off"); break;
    case CON_SET_INT: snprintf(buf, cap, "%d", cint_at(s, d)); break;
    case CON_SET_FLOAT: snprintf(buf, cap, "%g", cdbl_at(s, d)); break;
    case CON_SET_ENUM: snprintf(buf, cap, "%s", d->choices[cint_at(s, d)]); break;
    }
}
