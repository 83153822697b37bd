/* synth.c: the synthetic source. Curves are made-up functions of the step plus seeded noise; the
 * "hyperparameters" are a short list the source keeps itself (lambda_s scales the rs curve, mu the
 * breg curve, lr the lr curve). Its header says it is synthetic. No model, no data, no threads: the
 * step counter follows the wall clock while "running". */
#include "ui/synth.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/dash.h"

typedef struct synth_knob {
    const char *name;
    double v;
    int group;
    double min, max;
    int64_t changed_at;
} synth_knob;

typedef struct snap {
    char name[64];
    int64_t step;
} snap;

struct ui_synth {
    double rate;
    int64_t planned, step;
    int run;
    double t0;      /* clock at the last resync of the running count */
    int64_t step0;  /* step at t0 */
    sm_rng rng;
    uint64_t seed;
    sm_step_record *hist;
    size_t n, cap;
    sm_eval_record *ev;
    size_t n_ev, cap_ev;
    synth_knob knob[10];
    int n_knob;
    snap snaps[16];
    int n_snaps;
    int fps;
    int quit;
};

static volatile sig_atomic_t synth_intr;
static void on_sigint(int sig)
{
    (void)sig;
    synth_intr = 1;
}

ui_synth *ui_synth_new(double steps_per_s, int64_t planned, uint64_t seed)
{
    ui_synth *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rate = steps_per_s > 0 ? steps_per_s : 20;
    s->planned = planned > 0 ? planned : 2000;
    s->seed = seed;
    sm_rng_seed(&s->rng, seed);
    static const synth_knob k[] = {
        {"lambda_s", 1, UI_KNOB_SMART, 0, 100, -1}, {"mu", 1, UI_KNOB_SMART, 0, 100, -1},
        {"eps", 1e-5, UI_KNOB_SMART, 0, 1, -1},     {"eta", 1e-3, UI_KNOB_SMART, 0, 1, -1},
        {"adv_steps", 1, UI_KNOB_SMART, 0, 10, -1}, {"lr", 5e-5, UI_KNOB_OPTIM, 0, 1, -1},
        {"weight_decay", 0.01, UI_KNOB_OPTIM, 0, 1, -1}, {"batch_size", 32, UI_KNOB_RUN, 1, 4096, -1},
    };
    s->n_knob = (int)(sizeof k / sizeof k[0]);
    memcpy(s->knob, k, sizeof k);
    s->run = UI_RUN_RUNNING;
    s->t0 = sm_now();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    return s;
}

void ui_synth_free(ui_synth *s)
{
    if (!s)
        return;
    signal(SIGINT, SIG_DFL);
    free(s->hist);
    free(s->ev);
    free(s);
}

static double kv(ui_synth *s, const char *name)
{
    for (int i = 0; i < s->n_knob; i++)
        if (!strcmp(s->knob[i].name, name))
            return s->knob[i].v;
    return 0;
}

/* One made-up step. */
static void advance(ui_synth *s)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        sm_step_record *h = realloc(s->hist, nc * sizeof *h);
        if (!h)
            return;
        s->hist = h;
        s->cap = nc;
    }
    s->step++;
    double t = (double)s->step;
    sm_step_record r;
    memset(&r, 0, sizeof r);
    r.step = s->step;
    r.epoch = (int)(s->step * 3 / (s->planned + 1));
    double noise = 0.08 * (sm_rng_uniform(&s->rng) - 0.5);
    r.loss = 0.69 * exp(-t / 400.0) + 0.08 + noise;
    r.rs_raw = 0.05 * exp(-t / 800.0) + 0.01 + 0.01 * sm_rng_uniform(&s->rng);
    r.breg_raw = 0.02 + 0.01 * sm_rng_uniform(&s->rng);
    r.rs = kv(s, "lambda_s") * r.rs_raw;
    r.breg = kv(s, "mu") * r.breg_raw;
    r.total = r.loss + r.rs + r.breg;
    double warm = 0.1 * (double)s->planned;
    r.lr = kv(s, "lr") * (t < warm ? t / warm : fmax(0.0, (s->planned - t) / (s->planned - warm)));
    r.grad_norm = 2.0 * exp(-t / 600.0) + 0.5 + 0.3 * sm_rng_uniform(&s->rng);
    r.delta_norm = kv(s, "eps") * 1e5 * (0.5 + 0.1 * sm_rng_uniform(&s->rng));
    r.batch_size = (int)kv(s, "batch_size");
    r.examples_per_s = s->rate * r.batch_size;
    r.seconds = 1.0 / s->rate;
    s->hist[s->n++] = r;
    if (s->step % 100 == 0) {
        if (s->n_ev == s->cap_ev) {
            size_t nc = s->cap_ev ? s->cap_ev * 2 : 64;
            sm_eval_record *e = realloc(s->ev, nc * sizeof *e);
            if (!e)
                return;
            s->ev = e;
            s->cap_ev = nc;
        }
        sm_eval_record ev;
        sm_eval_record_init(&ev);
        ev.step = s->step;
        ev.epoch = r.epoch;
        ev.n = 400;
        ev.acc = 0.5 + 0.42 * (1 - exp(-t / 500.0)) + 0.01 * sm_rng_uniform(&s->rng);
        ev.loss = 0.7 * exp(-t / 500.0) + 0.2;
        s->ev[s->n_ev++] = ev;
        char msg[128];
        snprintf(msg, sizeof msg, "evaluation: dev acc %.4f (synthetic)", ev.acc);
        ui_dash_print(UI_LOG_EVENT, s->step, msg);
    }
    if (s->step >= s->planned) {
        s->run = UI_RUN_DONE;
        ui_dash_print(UI_LOG_EVENT, s->step, "run finished (synthetic)");
    }
}

static void catch_up(ui_synth *s)
{
    if (s->run != UI_RUN_RUNNING)
        return;
    int64_t target = s->step0 + (int64_t)((sm_now() - s->t0) * s->rate);
    while (s->step < target && s->run == UI_RUN_RUNNING)
        advance(s);
}

static void set_running(ui_synth *s, int run)
{
    s->run = run;
    s->t0 = sm_now();
    s->step0 = s->step;
}

static void st_fn(void *ud, ui_state *out)
{
    ui_synth *s = ud;
    catch_up(s);
    memset(out, 0, sizeof *out);
    snprintf(out->model, sizeof out->model, "synthetic signal (display test, no training)");
    snprintf(out->data, sizeof out->data, "none");
    out->run = s->run;
    out->step = s->step;
    out->planned = s->planned;
    out->fps = s->fps;
    if (s->n) {
        out->has_step = 1;
        out->last = s->hist[s->n - 1];
        out->epoch = out->last.epoch;
        out->examples_per_s = s->run == UI_RUN_RUNNING ? out->last.examples_per_s : 0;
    }
    if (s->n_ev) {
        out->has_eval = 1;
        out->eval = s->ev[s->n_ev - 1];
    }
}

static size_t steps_fn(void *ud, size_t from, sm_step_record *buf, size_t cap, size_t *total)
{
    ui_synth *s = ud;
    *total = s->n;
    size_t k = 0;
    for (size_t i = from; i < s->n && k < cap; i++)
        buf[k++] = s->hist[i];
    return k;
}

static size_t evals_fn(void *ud, size_t from, sm_eval_record *buf, size_t cap, size_t *total)
{
    ui_synth *s = ud;
    *total = s->n_ev;
    size_t k = 0;
    for (size_t i = from; i < s->n_ev && k < cap; i++)
        buf[k++] = s->ev[i];
    return k;
}

static int knobs_fn(void *ud, ui_knob *out, int cap)
{
    ui_synth *s = ud;
    int n = 0;
    for (int i = 0; i < s->n_knob && n < cap; i++, n++) {
        memset(&out[n], 0, sizeof out[n]);
        snprintf(out[n].name, sizeof out[n].name, "%s", s->knob[i].name);
        snprintf(out[n].value, sizeof out[n].value, "%g", s->knob[i].v);
        out[n].group = s->knob[i].group;
        out[n].changed_at = s->knob[i].changed_at;
    }
    return n;
}

static int fail(const char *fmt, ...) SM_PRINTF(1, 2);
static int fail(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ui_dash_print(UI_LOG_ERROR, -1, buf);
    return 1;
}

static int cmd_fn(void *ud, const char *line)
{
    ui_synth *s = ud;
    catch_up(s);
    char w[4][128] = {{0}};
    for (const char *p = line; *p;) { /* a longer word is refused, not read cut (sscanf's %127s) */
        size_t len = strcspn(p, " \t\n");
        if (len >= sizeof w[0])
            return fail("a word of %zu characters: the synthetic demo reads words of at most %zu", len,
                        sizeof w[0] - 1);
        p += len;
        p += strspn(p, " \t\n");
    }
    int n = sscanf(line, "%127s %127s %127s %127s", w[0], w[1], w[2], w[3]);
    char msg[256];
    if (n < 1)
        return 0;
    if (!strcmp(w[0], "set") && n == 3) {
        if (!strcmp(w[1], "ui_fps")) {
            int f = atoi(w[2]);
            if (f < 1 || f > 60)
                return fail("set: ui_fps must be 1-60, not %s", w[2]);
            s->fps = f;
            snprintf(msg, sizeof msg, "ui_fps = %d", f);
            ui_dash_print(UI_LOG_INFO, -1, msg);
            return 0;
        }
        for (int i = 0; i < s->n_knob; i++)
            if (!strcmp(s->knob[i].name, w[1])) {
                char *end;
                double v = strtod(w[2], &end);
                if (*end || v < s->knob[i].min || v > s->knob[i].max)
                    return fail("set: bad value '%s'", w[2]);
                char old[32], now[32];
                snprintf(old, sizeof old, "%g", s->knob[i].v);
                snprintf(now, sizeof now, "%g", v);
                s->knob[i].v = v;
                s->knob[i].changed_at = s->step + 1;
                snprintf(msg, sizeof msg, "%s = %g (takes effect at step %lld)", w[1], v, (long long)s->step + 1);
                sm_session_event ev = {.kind = SM_EVENT_CHANGE, .step = s->step + 1, .name = w[1],
                                       .old_value = old, .new_value = now};
                ui_dash_event(&ev, msg);
                return 0;
            }
        return fail("set: unknown name '%s'", w[1]);
    }
    if (!strcmp(w[0], "pause") && n == 1) {
        if (s->run != UI_RUN_RUNNING)
            return fail("pause: not running");
        set_running(s, UI_RUN_PAUSED);
        ui_dash_print(UI_LOG_EVENT, s->step, "paused");
        return 0;
    }
    if ((!strcmp(w[0], "resume") || !strcmp(w[0], "train")) && n == 1) {
        if (s->run == UI_RUN_DONE)
            return fail("%s: the run is finished", w[0]);
        set_running(s, UI_RUN_RUNNING);
        ui_dash_print(UI_LOG_EVENT, s->step, "running");
        return 0;
    }
    if (!strcmp(w[0], "step") && n <= 2) {
        long k = n == 2 ? atol(w[1]) : 1;
        if (k < 1)
            return fail("step: N must be a positive integer, not '%s'", w[1]);
        if (s->run == UI_RUN_RUNNING)
            return fail("step: pause first");
        for (long i = 0; i < k && s->step < s->planned; i++)
            advance(s);
        if (s->run != UI_RUN_DONE)
            set_running(s, UI_RUN_PAUSED);
        snprintf(msg, sizeof msg, "stepped %ld: step %lld, loss %.4f", k, (long long)s->step,
                 s->n ? s->hist[s->n - 1].loss : NAN);
        ui_dash_print(UI_LOG_OUTPUT, s->step, msg);
        return 0;
    }
    if (!strcmp(w[0], "snapshot") && n == 2 && s->n_snaps < 16) {
        snprintf(s->snaps[s->n_snaps].name, sizeof s->snaps[0].name, "%s", w[1]);
        s->snaps[s->n_snaps++].step = s->step;
        snprintf(msg, sizeof msg, "snapshot %s at step %lld", w[1], (long long)s->step);
        sm_session_event ev = {.kind = SM_EVENT_SNAPSHOT, .step = s->step, .name = w[1]};
        ui_dash_event(&ev, msg);
        return 0;
    }
    if (!strcmp(w[0], "rewind") && n == 2) {
        for (int i = 0; i < s->n_snaps; i++)
            if (!strcmp(s->snaps[i].name, w[1])) {
                s->step = s->snaps[i].step;
                s->n = (size_t)s->step;
                while (s->n_ev && s->ev[s->n_ev - 1].step > s->step)
                    s->n_ev--;
                set_running(s, UI_RUN_PAUSED);
                snprintf(msg, sizeof msg, "rewound to %s (step %lld)", w[1], (long long)s->step);
                sm_session_event ev = {.kind = SM_EVENT_REWIND, .step = s->step, .name = w[1]};
                ui_dash_event(&ev, msg);
                return 0;
            }
        return fail("rewind: no snapshot '%s'", w[1]);
    }
    if (!strcmp(w[0], "theme") && n == 2) {
        sm_error e;
        if (ui_dash_theme(w[1], &e))
            return fail("theme: %s", e.msg);
        snprintf(msg, sizeof msg, "theme %s", w[1]);
        ui_dash_print(UI_LOG_INFO, -1, msg);
        return 0;
    }
    if (!strcmp(w[0], "quit") && (n == 1 || (n == 2 && !strcmp(w[1], "force")))) {
        s->quit = 1;
        return 0;
    }
    if (!strcmp(w[0], "help")) {
        ui_dash_print(UI_LOG_OUTPUT, -1,
                      "synthetic source commands: set NAME VALUE, pause, resume, train, step [N], "
                      "snapshot NAME, rewind NAME, theme NAME, set ui_fps N, quit");
        return 0;
    }
    return fail("unknown or malformed command: %s (try help)", line);
}

static int tick_fn(void *ud)
{
    ui_synth *s = ud;
    if (synth_intr) {
        synth_intr = 0;
        if (s->run == UI_RUN_RUNNING) {
            catch_up(s);
            set_running(s, UI_RUN_PAUSED);
            ui_dash_print(UI_LOG_EVENT, s->step, "paused (Ctrl-C)");
        }
    }
    return s->quit;
}

static void add_if(void (*add)(void *, const char *), void *a, const char *w) { add(a, w); }

static int complete_fn(void *ud, const char *line, void (*add)(void *a, const char *w), void *a)
{
    ui_synth *s = ud;
    const char *sp = strrchr(line, ' ');
    if (!sp) {
        static const char *const cmds[] = {"set", "pause", "resume", "train", "step", "snapshot",
                                           "rewind", "theme", "help", "quit"};
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
            add_if(add, a, cmds[i]);
    } else if (!strncmp(line, "set ", 4) && !strchr(line + 4, ' ')) {
        for (int i = 0; i < s->n_knob; i++)
            add_if(add, a, s->knob[i].name);
        add_if(add, a, "ui_fps");
    }
    return 0;
}

static int exit_fn(void *ud)
{
    (void)ud;
    return 0;
}

void ui_synth_source(ui_synth *s, ui_source *out)
{
    memset(out, 0, sizeof *out);
    out->ud = s;
    out->state = st_fn;
    out->steps = steps_fn;
    out->evals = evals_fn;
    out->knobs = knobs_fn;
    out->command = cmd_fn;
    out->tick = tick_fn;
    out->complete = complete_fn;
    out->exit_status = exit_fn;
}
