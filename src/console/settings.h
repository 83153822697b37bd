/* settings.h: the console's own settings (`set on_error continue`, `set ui_fps 10`), declared once
 * in a table with type, bounds, default and help (after tmux's options-table.c). `set` and `get`
 * consult this table after the hyperparameter table. Training hyperparameters are not here. */
#ifndef SMARTTY_CONSOLE_SETTINGS_H
#define SMARTTY_CONSOLE_SETTINGS_H

#include <stddef.h>

typedef enum con_on_error { CON_ON_ERROR_STOP = 0, CON_ON_ERROR_CONTINUE } con_on_error;

typedef struct con_settings {
    int on_error;            /* con_on_error: what a script does after a failed command */
    int ui_fps;              /* dashboard frames per second at most */
    double progress_every;   /* seconds between plain progress lines (no terminal) */
    int echo;                /* 1: scripts echo each command before running it */
    int confirm;             /* 1: interactive `quit` asks when training is unsaved */
    int train_wait;          /* 1: `train` returns when the run stops (scripts); 0: at once */
    double snapshot_budget;  /* MiB of snapshots kept in memory (0: no limit); beyond, they spill */
} con_settings;

typedef enum con_setting_type { CON_SET_BOOL, CON_SET_INT, CON_SET_FLOAT, CON_SET_ENUM } con_setting_type;

typedef struct con_setting_def {
    const char *name;
    con_setting_type type;
    double min, max, def;        /* INT, FLOAT bounds; def also for BOOL (0/1) and ENUM (index) */
    const char *const *choices;  /* ENUM: NULL-terminated */
    size_t offset;               /* of the int or double in con_settings */
    const char *help;
} con_setting_def;

size_t con_setting_count(void);
const con_setting_def *con_setting_at(size_t i);
const con_setting_def *con_setting_lookup(const char *name);
void con_settings_default(con_settings *s);
/* Parse and store; returns 0 or -1 with err naming the setting, the value and what is allowed. */
int con_setting_set(con_settings *s, const char *name, const char *value, char *err, size_t cap);
/* Canonical text of a setting's current value. */
void con_setting_format(const con_settings *s, const con_setting_def *d, char *buf, size_t cap);

#endif
