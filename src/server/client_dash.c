/* client_dash.c: the dashboard attached to a run server: a ui_source (ui/source.h) whose state,
 * curves and knobs come from the local mirror (client.h) that status and history frames keep, whose
 * command lines go to the server (their output comes back as frames into the log), and whose events
 * are the server's typed events with their authors. `detach`, `quit` and `theme` are answered here.
 * No drawing here (src/ui draws) and no training. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "console/repl.h"
#include "console/signals.h"
#include "server/client.h"
#include "ui/dash.h"

static struct {
    sv_conn *c;
    const char *name;
    cl_mirror mir;
    int64_t next_id;
    int end, status;
    char end_msg[512];
    unsigned seen_generation;
    char last_break[1024];
    /* the branches for the compare view (protocol 2: asked with a branches frame while the view
       is on, answered with one branch frame each) */
    ui_branch_curve br[64], br_new[64];
    int n_br, n_br_new;
    int br_pending, br_stale;
    double br_asked;
    /* what the last rewind restored (its event): the mirrored latest step record may still be the
       abandoned branch's; the header then shows the restored one, as the local console's did */
    struct {
        int valid, has_rec, has_eval;
        int64_t step;
        int epoch;
        sm_step_record rec;
        sm_eval_record eval;
    } rewound;
    char ask[128]; /* the server asked a question (`shutdown` with unsaved training): its prompt; the
                      next line is the answer, sent as it is */
} A;

static void curves_free(ui_branch_curve *b, int *n)
{
    for (int i = 0; i < *n; i++) {
        free(b[i].steps);
        free(b[i].evals);
    }
    memset(b, 0, sizeof *b * (size_t)*n);
    *n = 0;
}

/* A branch frame: the i-th of count; the set replaces the last once its last frame is in. */
static void take_branch(sv_msg *m)
{
    if (m->count == 0 || m->index == 0)
        curves_free(A.br_new, &A.n_br_new);
    if (m->count > 0 && m->index == A.n_br_new && A.n_br_new < 64) {
        ui_branch_curve *o = &A.br_new[A.n_br_new++];
        snprintf(o->name, sizeof o->name, "%s", m->name);
        snprintf(o->knobs, sizeof o->knobs, "%s", m->knobs);
        o->fork_step = m->fork_step;
        o->active = m->active;
        o->steps = m->steps;
        o->n_steps = m->n_steps;
        o->evals = m->evals;
        o->n_evals = m->n_evals;
        m->steps = NULL; /* the curve owns them now */
        m->evals = NULL;
        m->n_steps = m->n_evals = 0;
    }
    if (m->count == 0 || m->index + 1 >= m->count) {
        curves_free(A.br, &A.n_br);
        memcpy(A.br, A.br_new, sizeof A.br_new[0] * (size_t)A.n_br_new);
        A.n_br = A.n_br_new;
        memset(A.br_new, 0, sizeof A.br_new);
        A.n_br_new = 0;
        A.br_pending = 0;
        ui_dash_compare_refresh();
    }
}

/* The compare view's branches: copies of the last set the server sent; asks again when the view
 * opens, after a branch event, and every two seconds while it is open. */
static int branches_fn(void *ud, ui_branch_curve *out, int cap)
{
    (void)ud;
    double now = sm_now();
    if (A.br_pending && now - A.br_asked > 10)
        A.br_pending = 0; /* lost: ask again */
    if (!A.br_pending && (A.br_stale || A.br_asked == 0 || now - A.br_asked > 2)) {
        sv_msg m;
        sm_error e;
        sv_msg_init(&m, SV_MSG_BRANCHES);
        if (!sv_conn_send(A.c, &m, &e)) {
            A.br_pending = 1;
            A.br_stale = 0;
            A.br_asked = now;
        }
    }
    int k = 0;
    for (int i = 0; i < A.n_br && k < cap; i++) {
        ui_branch_curve *o = &out[k];
        *o = A.br[i];
        o->steps = A.br[i].n_steps ? malloc(A.br[i].n_steps * sizeof *o->steps) : NULL;
        o->evals = A.br[i].n_evals ? malloc(A.br[i].n_evals * sizeof *o->evals) : NULL;
        if ((A.br[i].n_steps && !o->steps) || (A.br[i].n_evals && !o->evals)) {
            free(o->steps);
            free(o->evals);
            continue;
        }
        if (o->steps)
            memcpy(o->steps, A.br[i].steps, A.br[i].n_steps * sizeof *o->steps);
        if (o->evals)
            memcpy(o->evals, A.br[i].evals, A.br[i].n_evals * sizeof *o->evals);
        k++;
    }
    return k;
}

static void st_fn(void *ud, ui_state *out)
{
    (void)ud;
    const sv_status *s = &A.mir.st;
    memset(out, 0, sizeof *out);
    snprintf(out->model, sizeof out->model, "%s", s->model[0] ? s->model : "no model (`load model PATH`)");
    snprintf(out->data, sizeof out->data, "%s", s->data);
    static const int map[] = {UI_RUN_EMPTY, UI_RUN_IDLE, UI_RUN_RUNNING, UI_RUN_PAUSED, UI_RUN_BREAK,
                              UI_RUN_STEPPING, UI_RUN_DONE};
    out->run = (unsigned)s->state < sizeof map / sizeof map[0] ? map[s->state] : UI_RUN_IDLE;
    out->step = s->step;
    out->planned = s->planned;
    out->epoch = s->epoch;
    out->has_step = s->has_step;
    out->last = s->last;
    out->examples_per_s = s->has_step ? s->last.examples_per_s : 0;
    out->has_eval = s->has_eval;
    out->eval = s->eval;
    if (A.rewound.valid && A.rewound.step != s->step)
        A.rewound.valid = 0; /* training went on from the restored step */
    if (A.rewound.valid && s->has_step && s->last.step > s->step) { /* the record of the branch left */
        out->epoch = A.rewound.epoch;
        out->has_step = A.rewound.has_rec;
        out->last = A.rewound.rec;
        out->examples_per_s = A.rewound.has_rec ? A.rewound.rec.examples_per_s : 0;
    }
    if (out->has_eval && out->eval.step > s->step) { /* an evaluation of the branch left */
        out->has_eval = A.rewound.valid && A.rewound.has_eval;
        out->eval = A.rewound.eval;
    }
    out->fps = s->ui_fps;
    snprintf(out->branch, sizeof out->branch, "%s", s->branch);
    out->explore_variant = s->explore_variant;
    out->explore_total = s->explore_total;
    out->eval_done = s->eval_done;
    out->eval_total = s->eval_total;
    out->evals_left = s->evals_left;
    if (s->state == CON_RUN_BREAK)
        snprintf(out->note, sizeof out->note, "%s", A.last_break);
}

static size_t steps_fn(void *ud, size_t from, sm_step_record *buf, size_t cap, size_t *total)
{
    (void)ud;
    if (A.seen_generation != A.mir.generation) { /* a new whole history: the dashboard fetches again */
        A.seen_generation = A.mir.generation;
        *total = 0;
        return 0;
    }
    *total = A.mir.n_steps;
    if (from >= A.mir.n_steps)
        return 0;
    size_t k = A.mir.n_steps - from < cap ? A.mir.n_steps - from : cap;
    memcpy(buf, A.mir.steps + from, k * sizeof *buf);
    return k;
}

static size_t evals_fn(void *ud, size_t from, sm_eval_record *buf, size_t cap, size_t *total)
{
    (void)ud;
    *total = A.mir.n_evals;
    if (from >= A.mir.n_evals)
        return 0;
    size_t k = A.mir.n_evals - from < cap ? A.mir.n_evals - from : cap;
    memcpy(buf, A.mir.evals + from, k * sizeof *buf);
    return k;
}

static int knobs_fn(void *ud, ui_knob *out, int cap)
{
    (void)ud;
    int n = 0;
    for (int id = 0; id < (int)sm_hparam_count() && n < cap; id++, n++) {
        const sm_hparam_def *d = sm_hparam_def_at(id);
        snprintf(out[n].name, sizeof out[n].name, "%s", d->name);
        sm_hparam_format(id, A.mir.st.hp[id], out[n].value, sizeof out[n].value);
        out[n].group = d->group == SM_HP_GROUP_SMART ? UI_KNOB_SMART
                     : d->group == SM_HP_GROUP_OPTIM ? UI_KNOB_OPTIM : UI_KNOB_RUN;
        out[n].changed_at = A.mir.st.hp_changed_at[id];
    }
    return n;
}

static int first_word_is(const char *line, const char *w)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strlen(w);
    return !strncmp(line, w, n) && (line[n] == '\0' || line[n] == ' ' || line[n] == '\t');
}

static void end_with(int status, const char *msg)
{
    A.end = 1;
    A.status = status;
    snprintf(A.end_msg, sizeof A.end_msg, "%s", msg);
}

static int send_line(const char *line)
{
    sv_msg m;
    sm_error e;
    sv_msg_init(&m, SV_MSG_CMD);
    m.id = A.next_id++;
    m.text = (char *)(uintptr_t)line;
    if (sv_conn_send(A.c, &m, &e)) {
        char msg[600];
        snprintf(msg, sizeof msg, "the server '%s' ended (%s)", A.name, e.msg);
        end_with(1, msg);
        return 1;
    }
    return 0; /* the reply comes back through tick */
}

static int cmd_fn(void *ud, const char *line)
{
    (void)ud;
    if (A.ask[0]) { /* the answer to the server's question, whatever it says (`quit` too) */
        A.ask[0] = '\0';
        return send_line(line);
    }
    if (!cl_local && (first_word_is(line, "detach") || first_word_is(line, "quit"))) {
        char msg[300];
        snprintf(msg, sizeof msg, "detached from '%s': the run goes on (`smartty attach %s` comes back)", A.name,
                 A.name);
        end_with(0, msg);
        return 0;
    }
    if (first_word_is(line, "theme")) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        p += 5;
        while (*p == ' ' || *p == '\t')
            p++;
        sm_error e;
        if (!*p) {
            ui_dash_print(UI_LOG_ERROR, -1, "theme: give a theme's name");
            return 1;
        }
        if (ui_dash_theme(p, &e) != SM_OK) {
            ui_dash_print(UI_LOG_ERROR, -1, e.msg);
            return 1;
        }
        return 0;
    }
    if (first_word_is(line, "show") && !strchr(line, ';')) { /* `show compare`: the view is drawn here */
        char buf[1024], *argv[16], *save = NULL;
        int argc = 0;
        snprintf(buf, sizeof buf, "%s", line);
        for (char *w = strtok_r(buf, " \t", &save); w && argc < 16; w = strtok_r(NULL, " \t", &save))
            argv[argc++] = w;
        if (argc >= 2 && !strcmp(argv[1], "compare") && strlen(line) < sizeof buf) {
            int off = argc == 3 && !strcmp(argv[2], "off");
            ui_dash_compare(!off, off ? 0 : argc - 2, argv + 2);
            A.br_stale = 1;
            return 0;
        }
    }
    return send_line(line);
}

static const char *prompt_fn(void *ud)
{
    (void)ud;
    return A.ask[0] ? A.ask : "smartty> ";
}

static const int out_kind[] = {
    [CON_OUT_RESULT] = UI_LOG_OUTPUT, [CON_OUT_INFO] = UI_LOG_INFO,   [CON_OUT_ERROR] = UI_LOG_ERROR,
    [CON_OUT_PROGRESS] = UI_LOG_INFO, [CON_OUT_EVENT] = UI_LOG_EVENT, [CON_OUT_CHANGE] = UI_LOG_CHANGE,
};

static int tick_fn(void *ud)
{
    (void)ud;
    if (con_sig_quit && !cl_local) { /* the terminal closed (SIGHUP) or SIGTERM: detach, the run goes on */
        end_with(0, "hung up: detached, the run goes on");
        return 1;
    } /* a local console's session autosaves and ends: its bye comes */
    if (con_sig_int) { /* Ctrl-C: the server pauses a running training, ending a `wait` or `step N` */
        con_sig_int = 0;
        sv_msg m;
        sm_error e;
        sv_msg_init(&m, SV_MSG_INTR);
        sv_conn_send(A.c, &m, &e);
    }
    for (int i = 0; i < 512 && !A.end; i++) {
        sv_msg m;
        sm_error e;
        int k = sv_conn_recv(A.c, &m, 0, &e);
        if (k == 0)
            break;
        if (k == -2) {
            ui_dash_print(UI_LOG_WARN, -1, e.msg);
            continue;
        }
        if (k < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "the server '%s' ended (the connection closed)", A.name);
            end_with(1, msg);
            break;
        }
        cl_mirror_take(&A.mir, &m);
        if (m.type == SV_MSG_OUT) {
            ui_dash_print((unsigned)m.kind < sizeof out_kind / sizeof out_kind[0] ? out_kind[m.kind] : UI_LOG_OUTPUT,
                          -1, m.text);
        } else if (m.type == SV_MSG_EVENT) {
            char text[8192] = "";
            if (m.ev.kind != SM_EVENT_CHANGE || (m.by[0] && strcmp(m.by, cl_self)))
                cl_event_text(&m, text, sizeof text);
            if (m.ev.kind == SM_EVENT_BRANCH || m.ev.kind == SM_EVENT_REWIND || m.ev.kind == SM_EVENT_SNAPSHOT)
                A.br_stale = 1;
            if (m.ev.kind == SM_EVENT_BREAK)
                snprintf(A.last_break, sizeof A.last_break, "%s", text[0] ? text : "breakpoint");
            if (m.ev.kind == SM_EVENT_REWIND) {
                A.rewound.valid = 1;
                A.rewound.step = m.ev.step;
                A.rewound.epoch = m.ev.epoch;
                A.rewound.has_rec = m.ev.has_rec;
                A.rewound.rec = m.ev.rec;
                A.rewound.has_eval = m.ev.has_eval;
                A.rewound.eval = m.ev.eval;
            }
            ui_dash_event(&m.ev, text);
        } else if (m.type == SV_MSG_REPLY) {
            if (m.ask[0])
                snprintf(A.ask, sizeof A.ask, "%s", m.ask);
        } else if (m.type == SV_MSG_BRANCH) {
            take_branch(&m);
        } else if (m.type == SV_MSG_ERROR) {
            ui_dash_print(UI_LOG_ERROR, -1, m.text ? m.text : m.code);
        } else if (m.type == SV_MSG_BYE) {
            /* detached, or shut down on request: a clean end; anything else is not */
            int clean = m.text && (!strcmp(m.text, "detached") || strstr(m.text, "was shut down by"));
            if (cl_local) /* `quit`, or a signal's autosave (the session said so): the status is its own */
                end_with(0, "");
            else
                end_with(clean ? 0 : 1, m.text ? m.text : "the server ended");
        }
        sv_msg_free(&m);
    }
    return A.end;
}

typedef struct theme_sink {
    const char *prefix;
    void (*add)(void *a, const char *w);
    void *a;
} theme_sink;

static void theme_offer(void *ud, const char *name)
{
    theme_sink *t = ud;
    if (!strncmp(name, t->prefix, strlen(t->prefix)))
        t->add(t->a, name);
}

/* Tab: the server's candidates (client.c), file names completed here by readline; a theme's name
 * (`theme` alone on the line, answered here) from this client's theme folders. */
static int complete_fn(void *ud, const char *line, void (*add)(void *a, const char *w), void *a)
{
    (void)ud;
    const char *p = line + strspn(line, " \t");
    if (!strncmp(p, "theme", 5) && (p[5] == ' ' || p[5] == '\t') && !strpbrk(p, ";\"'\\")) {
        p += 5 + strspn(p + 5, " \t");
        if (!p[strcspn(p, " \t")]) { /* the cursor is in theme's one word */
            theme_sink t = {p, add, a};
            con_theme_names(theme_offer, &t);
            return 0;
        }
    }
    return cl_complete(A.c, line, add, a);
}

static int exit_fn(void *ud)
{
    (void)ud;
    return A.status;
}

int cl_dash_run(sv_conn *c, const char *name, ui_options *o)
{
    memset(&A, 0, sizeof A);
    A.c = c;
    A.name = name;
    A.next_id = 1;
    cl_mirror_init(&A.mir);
    /* the status and the history first, so the first frame shows the whole run */
    double end = sm_now() + 10;
    while (!A.mir.history_done && !A.end && sm_now() < end) {
        sv_msg m;
        sm_error e;
        int k = sv_conn_recv(c, &m, 0.5, &e);
        if (k < 0 && k != -2) {
            fprintf(stderr, "smartty attach: the server '%s' ended (the connection closed)\n", name);
            sv_conn_close(c);
            cl_mirror_free(&A.mir);
            return 1;
        }
        if (k > 0) {
            cl_mirror_take(&A.mir, &m);
            sv_msg_free(&m);
        }
    }
    A.seen_generation = A.mir.generation;
    ui_source src;
    memset(&src, 0, sizeof src);
    src.state = st_fn;
    src.steps = steps_fn;
    src.evals = evals_fn;
    src.knobs = knobs_fn;
    src.command = cmd_fn;
    src.tick = tick_fn;
    src.exit_status = exit_fn;
    src.branches = branches_fn;
    src.prompt = prompt_fn;
    src.complete = complete_fn;
    if (!o->history_path)
        o->history_path = con_history_path(); /* the local console's history, kept across sessions */
    o->quit_key = cl_local ? "quit" : "detach";
    int status = ui_dash_run(&src, o);
    if (cl_local && !A.end) { /* the dashboard ended by itself (--exit-when-done): the session ends, as it did */
        send_line("quit force");
        double until = sm_now() + 5;
        while (!A.end && sm_now() < until) {
            sv_msg m;
            sm_error e;
            int k = sv_conn_recv(c, &m, 0.2, &e);
            if (k == -1)
                break;
            if (k > 0) {
                if (m.type == SV_MSG_BYE)
                    A.end = 1;
                sv_msg_free(&m);
            }
        }
    }
    if (A.end_msg[0])
        fprintf(stderr, "smartty%s: %s\n", cl_local ? "" : " attach", A.end_msg);
    sv_conn_close(c);
    cl_mirror_free(&A.mir);
    curves_free(A.br, &A.n_br);
    curves_free(A.br_new, &A.n_br_new);
    return status;
}
