/* cmd_state.c: the console's commands on what is loaded and kept: load, new, snapshot, rewind, save,
 * export, replay, source, predict, and the console's own theme, echo and quit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/commands_internal.h"
#include "console/events.h"
#include "console/parse.h"
#include "console/replay_trust.h"
#include "smartty/data.h"


/* Data options as on the command line (--limit 200, --limit=200) or in the console's short form
 * (limit=200, no-header), parsed by the library's shared parser into *o. Returns 0 or 1 (reported). */
static int data_options(con_ctx *c, int argc, char **argv, sm_data_opts *o)
{
    char *owned[CON_MAX_ARGS]; /* as long as typed: a fixed 300 bytes cut a long label list short */
    char *words[CON_MAX_ARGS + 1];
    int n = 0, rc = 0;
    for (int i = 0; i < argc && n < CON_MAX_ARGS; i++) {
        const char *w = argv[i];
        int value_of_prev = i > 0 && !strncmp(argv[i - 1], "--", 2) && !strchr(argv[i - 1], '=');
        size_t cap = strlen(w) + 3;
        if (!(owned[n] = malloc(cap))) {
            rc = con_error(c, "load: out of memory");
            break;
        }
        if (!strncmp(w, "--", 2) || value_of_prev)
            snprintf(owned[n], cap, "%s", w);
        else
            snprintf(owned[n], cap, "--%s", w);
        words[n] = owned[n];
        n++;
    }
    int count = n;
    words[n] = NULL;
    sm_error e;
    sm_data_opts_init(o);
    if (rc) {
        sm_data_opts_free(o);
    } else if (sm_data_opts_parse(o, &n, words, 0, &e) != SM_OK) {
        sm_data_opts_free(o);
        rc = con_cmd_failed(c, "load", e.msg);
    } else if (n > 0) {
        sm_data_opts_free(o);
        rc = con_error(c, "load: '%s' is not a data option (`help load` lists them)", words[0]);
    }
    for (int i = 0; i < count; i++)
        free(owned[i]);
    return rc;
}

/* 1 when the data options name --max-len (in any of the forms data_options reads). */
static int gives_max_len(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (!strncmp(w, "--", 2))
            w += 2;
        else if (i > 0 && !strncmp(argv[i - 1], "--", 2) && !strchr(argv[i - 1], '='))
            continue; /* the value of the option before */
        if ((!strncmp(w, "max-len", 7) || !strncmp(w, "max_len", 7)) && (w[7] == '\0' || w[7] == '='))
            return 1;
    }
    return 0;
}

int con_cmd_load(con_ctx *c, int argc, char **argv)
{
    sm_error e;
    if (!strcmp(argv[0], "model")) {
        if (argc > 2)
            return con_error(c, "load: argument 3 '%s': `load model PATH` takes no options", argv[2]);
        NEED(load_model, "load");
        if (c->be->load_model(c->be_ud, argv[1], &e) != SM_OK)
            return con_cmd_failed(c, "load model", e.msg);
        con_info(c, "loaded model %s", argv[1]);
        return 0;
    }
    sm_data_opts o;
    if (data_options(c, argc - 2, argv + 2, &o))
        return 1;
    if (!c->be || !c->be->load_data) {
        sm_data_opts_free(&o);
        return con_error(c, "load: " NO_SESSION);
    }
    /* --max-len (a data option) and max_len (a hyperparameter) are one setting, as for smartty train */
    if (gives_max_len(argc - 2, argv + 2) && o.max_len != (int)c->hp.v[SM_HP_MAX_LEN]) {
        char note[64];
        if (con_apply_hparam(c, "load", SM_HP_MAX_LEN, o.max_len, note, sizeof note)) {
            sm_data_opts_free(&o);
            return 1;
        }
        con_info(c, "max_len = %d", o.max_len);
    }
    sm_status st = c->be->load_data(c->be_ud, argv[0], argv[1], &o, &e);
    sm_data_opts_free(&o);
    if (st != SM_OK)
        return con_error(c, "load %s: %s", argv[0], e.msg);
    con_info(c, "loaded %s data %s", argv[0], argv[1]);
    return 0;
}

int con_cmd_new(con_ctx *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strchr(argv[i], '=') || argv[i][0] == '=')
            return con_error(c, "new: argument %d '%s': model options are NAME=VALUE "
                                "(vocab=FILE layers=2 hidden=128 heads=2 labels=2)", i + 1, argv[i]);
    NEED(new_model, "new");
    sm_error e;
    if (c->be->new_model(c->be_ud, argc - 1, argv + 1, &e) != SM_OK)
        return con_cmd_failed(c, "new model", e.msg);
    con_info(c, "new model ready (random weights)");
    return 0;
}

/* ---- running ---- */

int con_cmd_snapshot(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(snapshot, "snapshot");
    sm_error e;
    if (c->be->snapshot(c->be_ud, argv[0], &e) != SM_OK)
        return con_cmd_failed(c, "snapshot", e.msg);
    con_status st;
    con_status_get(c, &st);
    con_info(c, "snapshot %s at step %lld", argv[0], (long long)st.step);
    return 0;
}

int con_cmd_rewind(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(rewind, "rewind");
    con_status st;
    con_status_get(c, &st);
    int running = con_is_running(&st);
    int64_t step = 0;
    sm_error e;
    if (c->be->rewind(c->be_ud, argv[0], &step, &e) != SM_OK)
        return con_cmd_failed(c, "rewind", e.msg);
    con_status_get(c, &st);
    if (running) /* the session paused it first (at the step boundary it reached) */
        con_info(c, "rewind: training was running; it was paused first");
    con_info(c, "rewound to snapshot %s (step %lld)%s%s", argv[0], (long long)step, st.branch[0] ? ", on new branch " : "",
             st.branch);
    return 0;
}

int con_cmd_save(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(save, "save");
    sm_error e;
    if (c->be->save(c->be_ud, argv[0], &e) != SM_OK)
        return con_cmd_failed(c, "save", e.msg);
    con_status st;
    con_status_get(c, &st);
    con_info(c, "saved step %lld to %s", (long long)st.step, argv[0]);
    return 0;
}

int con_cmd_export(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    size_t n = strlen(argv[1]);
    if (n < 5 || strcmp(argv[1] + n - 4, ".csv"))
        return con_error(c, "export: argument 2 '%s': the file name must end in .csv", argv[1]);
    if (!strcmp(argv[0], "compare"))
        return con_export_compare(c, argv[1]);
    NEED(export_metrics, "export");
    sm_error e;
    if (c->be->export_metrics(c->be_ud, argv[1], &e) != SM_OK)
        return con_cmd_failed(c, "export", e.msg);
    con_info(c, "wrote metrics to %s", argv[1]);
    return 0;
}

int con_cmd_replay(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(replay, "replay");
    con_status st;
    con_status_get(c, &st);
    if (con_in_run(&st))
        return con_error(c, "replay: a run is in progress; `stop` first");
    if (st.unsaved > 0 && access(argv[0], R_OK) != 0) /* a typo is reported as such, before the warning */
        return con_error(c, "replay: %s: cannot open: %s", argv[0], strerror(errno));
    if (st.unsaved > 0 && !(argc > 1 && !strcmp(argv[1], "force")))
        return con_error(c, "replay: %s: replaying starts a new session, and %lld step%s of training would be lost: "
                            "`save DIR` first, or `replay %s force`", argv[0], (long long)st.unsaved,
                         st.unsaved == 1 ? "" : "s", argv[0]);
    if (con_replay_trusted(c, argv[0], argc > 1 && !strcmp(argv[1], "force")))
        return 1; /* a journal is untrusted: the files it reads are named, and replay waits for force */
    sm_error e;
    if (c->be->replay(c->be_ud, argv[0], &e) != SM_OK)
        return con_cmd_failed(c, "replay", e.msg);
    con_status_get(c, &st);
    con_info(c, "replayed %s: step %lld", argv[0], (long long)st.step);
    return 0;
}

int con_cmd_source(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    if (c->depth >= 8)
        return con_error(c, "source: %s: nested too deeply (at most 8 files)", argv[0]);
    c->depth++;
    int interactive = c->interactive;
    c->interactive = 0;
    int rc = con_exec_file(c, argv[0]);
    c->interactive = interactive;
    c->depth--;
    return rc;
}

int con_cmd_predict(con_ctx *c, int argc, char **argv)
{
    int sep = -1;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "||")) {
            if (sep >= 0)
                return con_error(c, "predict: argument %d: a second '||' (one separates TEXT and TEXT_B)", i + 1);
            sep = i;
        }
    if (sep == 0 || sep == argc - 1)
        return con_error(c, "predict: argument %d: '||' needs text on both sides", sep + 1);
    NEED(predict, "predict");
    /* the texts whole: a fixed buffer cut a long one short, even inside a UTF-8 character */
    size_t cap = 1;
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 1;
    char *a = malloc(cap), *b = malloc(cap);
    if (!a || !b) {
        free(a);
        free(b);
        return con_error(c, "predict: out of memory");
    }
    con_join(a, cap, sep < 0 ? argc : sep, argv);
    if (sep >= 0)
        con_join(b, cap, argc - sep - 1, argv + sep + 1);
    char out[1024];
    sm_error e;
    sm_status st = c->be->predict(c->be_ud, a, sep >= 0 ? b : NULL, out, sizeof out, &e);
    free(a);
    free(b);
    if (st != SM_OK)
        return con_cmd_failed(c, "predict", e.msg);
    con_print(c, "%s", out);
    return 0;
}

int con_cmd_theme(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    if (!c->host || !c->host->theme)
        return con_error(c, "theme: there is no dashboard (the output is not a terminal, or it is off)");
    sm_error e;
    if (c->host->theme(c->host_ud, argv[0], &e) != SM_OK)
        return con_cmd_failed(c, "theme", e.msg);
    return 0;
}

int con_cmd_echo(con_ctx *c, int argc, char **argv)
{
    size_t cap = 1; /* the words whole (a 4 KiB buffer cut them) */
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 1;
    char *buf = malloc(cap);
    if (!buf)
        return con_error(c, "echo: out of memory");
    con_print(c, "%s", con_join(buf, cap, argc, argv));
    free(buf);
    return 0;
}

int con_cmd_quit(con_ctx *c, int argc, char **argv)
{
    con_status st;
    con_status_get(c, &st);
    int force = argc && !strcmp(argv[0], "force");
    if (st.unsaved > 0 && c->interactive && c->set.confirm && !force) {
        c->confirm_quit = 1;
        con_info(c, "%lld step%s of training %s unsaved (`save DIR` keeps them). Quit anyway? [y/N]",
                 (long long)st.unsaved, st.unsaved == 1 ? "" : "s", st.unsaved == 1 ? "is" : "are");
        return 0;
    }
    c->quit = 1;
    return 0;
}
