/* replay_trust.c: before `replay`, list the files the journal will read (the paths of its load
 * events and of their file options), and go on only when told to (`force`): a crafted journal could
 * otherwise load any file the user can read and show it. It does not replay or check the files. */
#include "console/replay_trust.h"

#include <stdlib.h>
#include <string.h>

#include "smartty/journal.h"

/* Append "OP PATH" to list (cap bytes), "; "-separated. */
static void add(char *list, size_t cap, size_t *n, int *count, const char *op, const char *file)
{
    if (*n < cap)
        *n += (size_t)snprintf(list + *n, cap - *n, "%s%s %s", *count ? "; " : "", op, file);
    (*count)++;
}

int con_replay_trusted(con_ctx *c, const char *path, int force)
{
    sm_journal j;
    sm_error e;
    sm_journal_init(&j);
    if (sm_journal_load(&j, path, &e) != SM_OK) {
        sm_journal_free(&j);
        return 0;
    }
    char list[2048] = "";
    size_t n = 0;
    int count = 0;
    for (size_t i = 0; i < j.n; i++) {
        const sm_journal_event *ev = &j.ev[i];
        if (strncmp(ev->op, "load", 4) || ev->argc < 1)
            continue;
        add(list, sizeof list, &n, &count, ev->op, ev->argv[0]);
        for (int k = 1; k < ev->argc; k++) { /* options naming files, e.g. vocab=PATH */
            const char *eq = strchr(ev->argv[k], '=');
            if (eq && strchr(eq + 1, '/'))
                add(list, sizeof list, &n, &count, ev->op, eq + 1);
        }
    }
    sm_journal_free(&j);
    if (count == 0)
        return 0;
    if (n >= sizeof list)
        snprintf(list + sizeof list - 5, 5, "...");
    if (force) {
        con_info(c, "replay: %s reads %s", path, list);
        return 0;
    }
    return con_error(c, "replay: %s will read %d file%s: %s. A journal is instructions from whoever wrote it: "
                     "if you trust these, `replay %s force`", path, count, count == 1 ? "" : "s", list, path);
}
