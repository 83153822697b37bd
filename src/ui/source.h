/* source.h: what the dashboard draws from: a small interface (a struct of function pointers) over
 * whatever runs the training: the console hosting a session, or a synthetic signal for tests. All
 * calls come from the main thread; a source copies what it hands over (the dashboard keeps copies
 * and never holds pointers into the trainer's state). */
#ifndef SMARTTY_UI_SOURCE_H
#define SMARTTY_UI_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/record.h"

typedef enum ui_run_state {
    UI_RUN_EMPTY = 0, /* nothing loaded */
    UI_RUN_IDLE,      /* ready, not training */
    UI_RUN_RUNNING,
    UI_RUN_PAUSED,
    UI_RUN_BREAK,     /* paused at a breakpoint */
    UI_RUN_STEPPING,
    UI_RUN_DONE
} ui_run_state;

const char *ui_run_state_name(int s);

/* The latest state, copied. */
typedef struct ui_state {
    char model[4096];      /* what is loaded, for the header (whole: the header elides it) */
    char data[4096];
    int run;               /* ui_run_state */
    int64_t step, planned; /* completed steps; steps the run plans (0 unknown) */
    int epoch;
    double examples_per_s;
    int has_step;
    sm_step_record last;   /* the latest step, when has_step */
    int has_eval;
    sm_eval_record eval;   /* the latest evaluation, when has_eval */
    int fps;               /* frames a second the user asked for (`set ui_fps`); 0: the default */
    char note[1024];       /* e.g. why a breakpoint fired; "" when none */
    char branch[64];       /* the active branch ("" none) */
    int explore_variant;   /* an exploration runs: variant (1-based) of explore_total; else 0 */
    int explore_total;
    int64_t eval_done;     /* an evaluation in progress: dev rows done of eval_total; else both 0 */
    int64_t eval_total;
    int64_t evals_left;    /* evaluations the run still does (each about eval.seconds): in the ETA */
} ui_state;

/* One branch for the compare view, with copies of its records (its whole line: the parent's up to
 * the fork, then its own). The dashboard frees steps and evals. */
typedef struct ui_branch_curve {
    char name[64];
    char knobs[128];       /* the values that differ from its parent, "lambda_s=3" */
    int64_t fork_step;     /* where it forked (0 for the first branch) */
    int active;
    sm_step_record *steps;
    size_t n_steps;
    sm_eval_record *evals;
    size_t n_evals;
} ui_branch_curve;

enum { UI_KNOB_SMART = 0, UI_KNOB_OPTIM, UI_KNOB_RUN };

/* One hyperparameter, as the knob panel lists it. */
typedef struct ui_knob {
    char name[24];
    char value[24];    /* canonical text of the value */
    int group;         /* UI_KNOB_* */
    int64_t changed_at; /* step of the last change, -1 never changed */
} ui_knob;

/* Kinds of log lines (they choose a colour). */
typedef enum ui_log_kind {
    UI_LOG_OUTPUT = 0, /* the answer to a command */
    UI_LOG_INFO,
    UI_LOG_ERROR,
    UI_LOG_EVENT,      /* evaluations, checkpoints, the end of a run */
    UI_LOG_CHANGE,     /* a hyperparameter changed */
    UI_LOG_BREAK,      /* a breakpoint fired */
    UI_LOG_WARN,       /* warnings, library notices */
    UI_LOG_COMMAND     /* the command line as typed */
} ui_log_kind;

typedef struct ui_source {
    void *ud;
    /* The latest state (a copy). */
    void (*state)(void *ud, ui_state *out);
    /* Step records from position `from` (0-based) of the history on, at most cap; returns how many
     * were copied and sets *total to the history's length (a shorter history than before means
     * it was replaced, e.g. after a rewind: the dashboard fetches it again). */
    size_t (*steps)(void *ud, size_t from, sm_step_record *buf, size_t cap, size_t *total);
    size_t (*evals)(void *ud, size_t from, sm_eval_record *buf, size_t cap, size_t *total);
    /* Every hyperparameter, in table order; returns the count (at most cap). */
    int (*knobs)(void *ud, ui_knob *out, int cap);
    /* Run one command line; its output comes back through ui_dash_print. Returns 0 when it
     * succeeded, 1 when it failed. */
    int (*command)(void *ud, const char *line);
    /* Called once a frame and after each key: let the source deliver events (through
     * ui_dash_print) and act on signals. Returns 1 when the dashboard should end. */
    int (*tick)(void *ud);
    /* Completion candidates for the word at the end of line_to_cursor (NULL: none). Returns 1 when
     * the word is a file name (the dashboard lets readline complete paths). */
    int (*complete)(void *ud, const char *line_to_cursor, void (*add)(void *a, const char *w), void *a);
    /* The prompt of the command line (NULL: "smartty> "), e.g. a confirmation question. */
    const char *(*prompt)(void *ud);
    /* The exit status once the dashboard ends (NULL: 0). */
    int (*exit_status)(void *ud);
    /* The branches, in tree order, with their records (at most cap; NULL: the source has none). */
    int (*branches)(void *ud, ui_branch_curve *out, int cap);
} ui_source;

#endif
