/* commands.c: the console's command table (one const entry per command: name, aliases, argument
 * spec = usage, help, handler), `help` generated from it, and the helpers the handlers share. The
 * handlers live by theme in cmd_knobs.c, cmd_run.c and cmd_state.c (commands_internal.h). */
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

int con_cmd_failed(con_ctx *c, const char *cmd, const char *msg)
{
    size_t n = strlen(cmd);
    if (!strncmp(msg, cmd, n) && msg[n] == ':' && msg[n + 1] == ' ')
        return con_error(c, "%s", msg);
    return con_error(c, "%s: %s", cmd, msg);
}

void con_cmd_journal(con_ctx *c, const char *op, int argc, const char *const *argv)
{
    sm_error e;
    if (c->be && c->be->journal && c->be->journal(c->be_ud, op, argc, argv, &e) != SM_OK)
        con_cmd_failed(c, "journal", e.msg);
}

int con_is_running(const con_status *st)
{
    return st->state == CON_RUN_RUNNING || st->state == CON_RUN_STEPPING;
}

int con_in_run(const con_status *st)
{
    return con_is_running(st) || st->state == CON_RUN_PAUSED || st->state == CON_RUN_BREAK;
}

/* ---- help ---- */

static int cmd_help(con_ctx *c, int argc, char **argv);

static void help_fields(con_ctx *c)
{
    char buf[2048];
    size_t w = (size_t)snprintf(buf, sizeof buf, "fields:");
    for (size_t i = 0; i < sm_field_count() && w < sizeof buf; i++)
        w += (size_t)snprintf(buf + w, sizeof buf - w, " %s", sm_field_at(i)->name);
    con_print(c, "%s", buf);
}

static void help_settings(con_ctx *c)
{
    con_print(c, "console settings (after the hyperparameters; `show params` lists those):");
    for (size_t i = 0; i < con_setting_count(); i++) {
        const con_setting_def *d = con_setting_at(i);
        con_print(c, "  %-16s %s", d->name, d->help);
    }
}


static const con_cmd commands[] = {
    {
        .name = "help",
        .aliases = "?",
        .args = "[CMD]",
        .help = "show the commands, or one command's usage and help",
        .exec = cmd_help,
    },
    {
        .name = "load",
        .aliases = "",
        .args = "model|train|dev PATH [OPTIONS...]",
        .help = "load a model (Hugging Face folder or smartty checkpoint) or a data file\n"
                "  load model PATH            a folder with config.json, vocab.txt and weights; a smartty checkpoint\n"
                "                             gives its weights, labels and tokenizer to a fresh run (`resume DIR` continues it)\n"
                "  load train|dev FILE [OPTIONS...]   a TSV or CSV file and its data options (below)",
        .exec = con_cmd_load,
    },
    {
        .name = "new",
        .aliases = "",
        .args = "model [OPTIONS...]",
        .help = "make a classifier with random weights from a shape and a vocabulary\n"
                "  options: vocab=FILE (required) layers=N hidden=N heads=N intermediate=N num_labels=N labels=A,B,...\n"
                "  max_position=N seed=N (defaults 2 layers, hidden 128, 2 heads, intermediate 4*hidden, labels 0 and 1,\n"
                "  512 positions, seed 42);\n"
                "  it is written to $XDG_STATE_HOME/smartty/new-model-PID-N so that a journal can replay it",
        .exec = con_cmd_new,
    },
    {
        .name = "set",
        .aliases = "",
        .args = "PARAM VALUE",
        .help = "set a hyperparameter (checked against its range) or a console setting\n"
                "  during a run the change takes effect at the next step boundary, and the reply says which step",
        .exec = con_cmd_set,
    },
    {
        .name = "get",
        .aliases = "",
        .args = "[PARAM]",
        .help = "show a hyperparameter or setting (all of them without PARAM)",
        .exec = con_cmd_get,
    },
    {
        .name = "show",
        .aliases = "",
        .args = "params|model|data|journal|breaks|settings|status|fields|branches|snapshots|explore|compare [NAME...]",
        .help = "show one part of the session: its knobs, model, data, journal, breakpoints, status or branches\n"
                "  params, model, data, journal, breaks, settings, status: the hyperparameters, the model, the\n"
                "  data, the journal, the breakpoints, the console settings, the run's status; fields: the record\n"
                "  fields that breakpoints can test; branches: the branch tree; snapshots: each snapshot's bytes\n"
                "  and where it is; explore: the last exploration's table; compare [BRANCH...]: the dashboard's\n"
                "  compare view of those branches (all)",
        .exec = con_cmd_show,
    },
    {
        .name = "preset",
        .aliases = "",
        .args = "PRESET",
        .help = "apply a preset of SMART hyperparameters (vanilla, paper, mtdnn, r3f)",
        .exec = con_cmd_preset,
    },
    {
        .name = "train",
        .aliases = "",
        .args = "[N [steps|epochs]]",
        .help = "train for N steps or epochs (without N: the configured epochs)\n"
                "  in scripts `train` returns when the run stops (set train_wait off to continue at once)",
        .exec = con_cmd_train,
    },
    {
        .name = "wait",
        .aliases = "",
        .args = "[N]",
        .help = "wait until the run stops, or until step N",
        .exec = con_cmd_wait,
    },
    {
        .name = "pause",
        .aliases = "",
        .args = "",
        .help = "pause training after the current step",
        .exec = con_cmd_pause,
    },
    {
        .name = "resume",
        .aliases = "continue c",
        .args = "[WHAT...]",
        .help = "resume a paused run; at a breakpoint the pending update is applied (the default) or discarded\n"
                "  resume apply|discard: what to do with the pending update at a breakpoint\n"
                "  resume DIR [TRAIN_FILE]: continue checkpoint DIR: its model, complete state and the data it saved\n"
                "  (TRAIN_FILE: where its training file is now, when it moved); `load model DIR` starts afresh from it",
        .exec = con_cmd_resume,
    },
    {
        .name = "step",
        .aliases = "s",
        .args = "[N]",
        .help = "from a paused run, run exactly N optimizer steps (default 1) and show the last one's metrics\n"
                "  at a breakpoint the pending update is applied and counts as the first step",
        .exec = con_cmd_step,
    },
    {
        .name = "eval",
        .aliases = "",
        .args = "",
        .help = "evaluate on the dev set now",
        .exec = con_cmd_eval,
    },
    {
        .name = "stop",
        .aliases = "",
        .args = "",
        .help = "end the run (the model keeps its weights; `train` starts a new run)",
        .exec = con_cmd_stop,
    },
    {
        .name = "break",
        .aliases = "b",
        .args = "COND...",
        .help = "pause before a step's update when COND holds; COND is nan, or FIELD OP NUMBER joined with and/or/not\n"
                "  OP is one of < <= > >= == !=; e.g. break loss > 2.5, break grad_norm > 10 or nan\n"
                "  dev_ fields are checked when an evaluation completes; the others before each update",
        .exec = con_cmd_break,
    },
    {
        .name = "delete",
        .aliases = "",
        .args = "[ID]",
        .help = "delete breakpoint ID (`show breaks` numbers them); without ID (or with all), every one",
        .exec = con_cmd_delete,
    },
    {
        .name = "snapshot",
        .aliases = "",
        .args = "NAME",
        .help = "keep the complete training state in memory under NAME",
        .exec = con_cmd_snapshot,
    },
    {
        .name = "rewind",
        .aliases = "",
        .args = "NAME",
        .help = "return exactly to snapshot NAME (a pending breakpoint update is discarded)",
        .exec = con_cmd_rewind,
    },
    {
        .name = "branches",
        .aliases = "",
        .args = "",
        .help = "list the branches as a tree: parent snapshot and step, steps, knobs, last and best dev metric, wall time",
        .exec = con_cmd_branches,
    },
    {
        .name = "checkout",
        .aliases = "",
        .args = "NAME",
        .help = "return exactly to branch NAME's latest state (a running training is paused first)",
        .exec = con_cmd_checkout,
    },
    {
        .name = "branch",
        .aliases = "",
        .args = "[NAME]",
        .help = "rename the active branch to NAME (without NAME: list the branches)\n"
                "  a rewind to a snapshot starts a new branch, named after it: a.1, a.2, ...",
        .exec = con_cmd_branch,
    },
    {
        .name = "explore",
        .aliases = "",
        .args = "GRID...",
        .help = "train each combination of values from a snapshot, each as a branch, and compare them\n"
                "  explore PARAM=V1,V2,... [PARAM2=...] steps N [from SNAPSHOT] [keep best]\n"
                "  without from, the current state is taken as a snapshot first; at the end a table sorted by the\n"
                "  task's dev metric, and a checkout of the best (keep best) or of the branch it started from;\n"
                "  it runs like `train` (pause, stop, breakpoints; \"variant 2/3\" in the header)",
        .exec = con_cmd_explore,
    },
    {
        .name = "save",
        .aliases = "",
        .args = "DIR",
        .help = "write a checkpoint (weights, optimizer, teacher, RNG, data position, journal) to DIR",
        .exec = con_cmd_save,
    },
    {
        .name = "export",
        .aliases = "",
        .args = "metrics|compare FILE.csv",
        .help = "write the step and evaluation records to a CSV file (with the branch of each step)\n"
                "  export compare FILE.csv: one row per branch (knobs, steps, last and best dev metric, examples/s)",
        .exec = con_cmd_export,
    },
    {
        .name = "replay",
        .aliases = "",
        .args = "FILE [force]",
        .help = "run a journal (a checkpoint's journal.jsonl) from the start in a new session\n"
                "  with unsaved training it refuses unless force is given (the training would be lost);\n"
                "  a journal that loads files is untrusted: it lists them and waits for force",
        .exec = con_cmd_replay,
    },
    {
        .name = "source",
        .aliases = "",
        .args = "FILE",
        .help = "run the console commands in FILE",
        .exec = con_cmd_source,
    },
    {
        .name = "predict",
        .aliases = "",
        .args = "TEXT...",
        .help = "classify TEXT, or the pair TEXT || TEXT_B, with the current model",
        .exec = con_cmd_predict,
    },
    {
        .name = "theme",
        .aliases = "",
        .args = "THEME",
        .help = "switch the dashboard's theme",
        .exec = con_cmd_theme,
    },
    {
        .name = "echo",
        .aliases = "",
        .args = "[TEXT...]",
        .help = "print TEXT",
        .exec = con_cmd_echo,
    },
    {
        .name = "quit",
        .aliases = "exit q",
        .args = "[force]",
        .help = "leave (asks first when training is unsaved, unless force or in a script, where it never saves)\n"
                "  Ctrl-C pauses a run (at the prompt it clears the line; it never ends the console).\n"
                "  SIGHUP or SIGTERM finish the current step, save unsaved training atomically to\n"
                "  $XDG_STATE_HOME/smartty/autosave-PID (else ~/.local/state/smartty/autosave-PID), say where, and exit",
        .exec = con_cmd_quit,
    },
};

const con_cmd *con_commands(size_t *n)
{
    *n = sizeof commands / sizeof commands[0];
    return commands;
}

static int cmd_help(con_ctx *c, int argc, char **argv)
{
    size_t n;
    const con_cmd *tab = con_commands(&n);
    if (argc == 0) {
        con_print(c, "commands (a unique prefix is enough; `help CMD` for more):");
        for (size_t i = 0; i < n; i++) {
            /* the usage whole, and the help's first line (a summary) beside it, or under it when the
             * usage is wider than its column */
            const char *nl = strchr(tab[i].help, '\n');
            int hl = nl ? (int)(nl - tab[i].help) : (int)strlen(tab[i].help);
            int uw = (int)(strlen(tab[i].name) + 1 + strlen(tab[i].args));
            if (uw <= 40)
                con_print(c, "  %s %s%*s %.*s", tab[i].name, tab[i].args, 40 - uw, "", hl, tab[i].help);
            else
                con_print(c, "  %s %s\n  %40s %.*s", tab[i].name, tab[i].args, "", hl, tab[i].help);
        }
        con_print(c, "a PATH, FILE or DIR (and resume's DIR) may begin with ~ or ~user, quoted or not: ~/x is $HOME/x");
        return 0;
    }
    const con_cmd *cmd;
    char err[512];
    if (con_cmd_lookup(tab, n, argv[0], &cmd, err, sizeof err) != CON_LOOKUP_FOUND)
        return con_error(c, "help: %s", err);
    con_print(c, "usage: %s %s%s%s\n  %s", cmd->name, cmd->args, cmd->aliases[0] ? "\naliases: " : "",
              cmd->aliases, cmd->help);
    con_arg_item items[16];
    int ni = con_spec_parse(cmd->args, items, 16);
    for (int i = 0; i < ni; i++)
        if (items[i].kind == CON_ARG_WORD && con_placeholder_is_path(items[i].text)) {
            con_print(c, "  %s may begin with ~ or ~user, quoted or not: ~/x is $HOME/x", items[i].text);
            break;
        }
    if (!strcmp(cmd->name, "break"))
        help_fields(c);
    if (!strcmp(cmd->name, "set") || !strcmp(cmd->name, "get"))
        help_settings(c);
    if (!strcmp(cmd->name, "load"))
        con_print(c, "data options (also written NAME=VALUE, e.g. limit=200 text=sentence):\n%s",
                  sm_data_opts_usage());
    return 0;
}
