/* backend_session.c: the console's backend over a training session (session.h) with the BERT
 * backend, run on the session's own thread: commands post to its queue; the breakpoint hook
 * evaluates the console's breakpoints on the trainer thread before each update; events are queued
 * by the trainer thread and printed by the main thread (con_tick). Also `replay`, `predict`,
 * `show model|data|journal`. It does not draw anything and owns no terminal. */
#include "console/backend.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/checkpoint.h"
#include "smartty/config.h"
#include "smartty/data.h"
#include "smartty/hf.h"
#include "smartty/journal.h"
#include "smartty/model.h"
#include "smartty/session.h"
#include "smartty/tokenizer.h"

#define EVQ 256

typedef struct con_session {
    con_ctx *c;
    sm_session *s;
    int threaded;
    int has_model;
    int64_t saved_step;        /* the step of the last save or load */
    char model[256], data[256];
    pthread_mutex_t mu;        /* guards the event queue and the history */
    char *evq[EVQ];            /* messages from the trainer thread, oldest at head */
    int head, n;
    sm_step_record *hist;      /* [n_hist] the steps of this session, for the dashboard's curves */
    size_t n_hist, cap_hist;
    sm_eval_record *evals;     /* [n_evals] */
    size_t n_evals, cap_evals;
    double run_t0;             /* when the session last started running (trainer thread only) */
    int64_t run_step0;         /* and at which step */
    double run_busy;           /* seconds spent in the steps themselves since then */
} con_session;

#define HIST_MAX 200000 /* steps kept; beyond, the older half is dropped */

static con_session S;

/* ---- events and breakpoints (trainer thread) ---- */

static void push(const char *fmt, ...) SM_PRINTF(1, 2);

static void push(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&S.mu);
    if (S.n == EVQ) { /* full: drop the oldest */
        free(S.evq[S.head]);
        S.head = (S.head + 1) % EVQ;
        S.n--;
    }
    S.evq[(S.head + S.n) % EVQ] = sm_strdup(buf);
    S.n++;
    pthread_mutex_unlock(&S.mu);
}

static void format_eval(char *buf, size_t cap, const sm_eval_record *ev)
{
    size_t w = (size_t)snprintf(buf, cap, "dev at step %lld (%d examples):", (long long)ev->step, ev->n);
    for (size_t i = 0; i < sm_field_count() && w < cap; i++) {
        const sm_field_def *f = sm_field_at(i);
        double v = f->source == SM_FIELD_EVAL ? sm_field_value((int)i, NULL, ev) : NAN;
        if (!isnan(v))
            w += (size_t)snprintf(buf + w, cap - w, " %s %.4f", f->name + 4, v);
    }
}

/* Append one record to a history under S.mu (dropping the older half when it is full). */
static void hist_add(void **arr, size_t *n, size_t *cap, size_t size, const void *rec)
{
    if (*n == HIST_MAX) {
        memmove(*arr, (char *)*arr + size * (HIST_MAX / 2), size * (HIST_MAX - HIST_MAX / 2));
        *n = HIST_MAX - HIST_MAX / 2;
    }
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 1024;
        void *p = realloc(*arr, nc * size);
        if (!p)
            return;
        *arr = p;
        *cap = nc;
    }
    memcpy((char *)*arr + size * *n, rec, size);
    (*n)++;
}

/* Replace the histories by the session's own (after a rewind or a replay). */
static void hist_reload(void)
{
    sm_step_record *st = NULL;
    sm_eval_record *ev = NULL;
    size_t ns = sm_session_history(S.s, &st), ne = sm_session_evals(S.s, &ev);
    pthread_mutex_lock(&S.mu);
    free(S.hist);
    free(S.evals);
    S.hist = st;
    S.n_hist = S.cap_hist = st ? ns : 0;
    S.evals = ev;
    S.n_evals = S.cap_evals = ev ? ne : 0;
    pthread_mutex_unlock(&S.mu);
}

static void on_event(void *ud, const sm_session_event *ev)
{
    (void)ud;
    char buf[600];
    if (ev->kind == SM_EVENT_STEP && ev->rec) {
        S.run_busy += ev->rec->seconds;
        pthread_mutex_lock(&S.mu);
        hist_add((void **)&S.hist, &S.n_hist, &S.cap_hist, sizeof *S.hist, ev->rec);
        pthread_mutex_unlock(&S.mu);
    }
    if (ev->kind == SM_EVENT_EVAL && ev->ev) {
        pthread_mutex_lock(&S.mu);
        hist_add((void **)&S.evals, &S.n_evals, &S.cap_evals, sizeof *S.evals, ev->ev);
        pthread_mutex_unlock(&S.mu);
    }
    switch (ev->kind) {
    case SM_EVENT_EVAL:
        if (ev->ev) {
            format_eval(buf, sizeof buf, ev->ev);
            push("%s", buf);
        }
        break;
    case SM_EVENT_BREAK:
        if (ev->rec)
            push("%s; paused before the update of step %lld (`resume` applies it, `resume discard` drops it)",
                 ev->msg ? ev->msg : "breakpoint", (long long)ev->rec->step);
        else
            push("%s; paused after the evaluation at step %lld", ev->msg ? ev->msg : "breakpoint",
                 (long long)ev->step);
        break;
    case SM_EVENT_CHECKPOINT: push("checkpoint written to %s", ev->msg ? ev->msg : "?"); break;
    case SM_EVENT_WARN: push("warning at step %lld: %s", (long long)ev->step, ev->msg ? ev->msg : ""); break;
    case SM_EVENT_STATE:
        if (ev->msg && strcmp(ev->msg, sm_session_state_name(SM_SESSION_RUNNING)) == 0) {
            S.run_t0 = sm_now();
            S.run_step0 = ev->step;
            S.run_busy = 0;
        }
        break;
    case SM_EVENT_DONE: {
        /* the throughput of the stretch that just ended: what the dashboard's cost is measured on */
        double dt = S.run_t0 > 0 ? sm_now() - S.run_t0 : 0;
        long long n = (long long)(ev->step - S.run_step0);
        if (dt > 0 && n > 0)
            push("run finished at step %lld: %lld steps in %.2f s since it last started running "
                 "(%.2f steps/s, evaluations included; %.2f s in the steps themselves)", (long long)ev->step, n,
                 dt, (double)n / dt, S.run_busy);
        else
            push("run finished at step %lld", (long long)ev->step);
        break;
    }
    case SM_EVENT_ERROR: push("training stopped at step %lld: %s", (long long)ev->step, ev->msg ? ev->msg : ""); break;
    default: break;
    }
}

/* The library's notices and warnings (any thread) join the event queue. */
static void on_log(void *ud, sm_log_level level, const char *msg)
{
    (void)ud;
    if (level >= SM_LOG_NOTICE)
        push("%s%s", level == SM_LOG_WARN ? "warning: " : "", msg);
}

static int on_break(void *ud, char when, const sm_step_record *s, const sm_eval_record *ev, char *why,
                    size_t cap)
{
    con_ctx *c = ud;
    return con_breaks_check(&c->breaks, when, s, ev, why, cap) > 0;
}

/* ---- life ---- */

static sm_status session_make(sm_session **out, sm_error *e)
{
    sm_session_backend be;
    sm_status st = sm_bert_backend_new(&be, e);
    if (st != SM_OK)
        return st;
    sm_hparams hp;
    sm_hparams_default(&hp);
    if ((st = sm_session_new(&be, &hp, out, e)) != SM_OK)
        return st;
    sm_session_set_event_fn(*out, on_event, NULL);
    return SM_OK;
}

/* Start the trainer thread with the console's signals blocked, so that they reach the main
 * thread (whose loop reads the flags) and never the trainer. */
static sm_status session_start(sm_session *s, sm_error *e)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGWINCH);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    sm_status st = sm_session_start(s, e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

/* ---- operations (main thread) ---- */

/* The console's copy of the hyperparameters follows the session's (a checkpoint's load, a rewind
 * or a replay bring their own). */
static void sync_hp(void)
{
    sm_session_view v;
    sm_session_view_get(S.s, &v);
    S.c->hp = v.hp;
}

static sm_status reply_status(const sm_session_reply *r, sm_error *e)
{
    if (r->status != SM_OK && e)
        *e = r->err;
    return r->status;
}

typedef struct load_arg {
    const char *path;
    int which;
    const sm_data_opts *o;
} load_arg;

static sm_status call_load_model(sm_session *s, void *arg, sm_error *e)
{
    return sm_session_load_model(s, ((load_arg *)arg)->path, e);
}

static sm_status call_load_data(sm_session *s, void *arg, sm_error *e)
{
    load_arg *a = arg;
    return sm_session_load_data(s, a->which, a->path, a->o, e);
}

static sm_status be_load_model(void *ud, const char *path, sm_error *e)
{
    (void)ud;
    load_arg a = {path, 0, NULL};
    sm_session_reply r;
    sm_session_call(S.s, call_load_model, &a, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    S.has_model = 1;
    S.saved_step = sm_session_step_count(S.s);
    snprintf(S.model, sizeof S.model, "%s", path);
    sync_hp();
    return SM_OK;
}

/* `new model`: a randomly initialised classifier of the given shape over a vocabulary, written as a
 * Hugging Face folder in the state directory (so the journal's load_model can replay it), then
 * loaded like any model. */
static sm_status be_new_model(void *ud, int argc, char *const *argv, sm_error *e)
{
    static const struct { const char *name; int min, max, def; } ints[] = {
        {"layers", 1, 48, 2}, {"hidden", 8, 4096, 128}, {"heads", 1, 64, 2}, {"intermediate", 0, 16384, 0},
        {"num_labels", 1, 1000, 2}, {"max_position", 8, 8192, 512}, {"seed", 0, 2147483647, 42},
    };
    enum { N_INTS = sizeof ints / sizeof ints[0] };
    int v[N_INTS];
    const char *vocab = NULL, *labels = NULL;
    for (int k = 0; k < N_INTS; k++)
        v[k] = ints[k].def;
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t n = eq ? (size_t)(eq - argv[i]) : 0;
        int found = 0;
        if (eq && n == 5 && !strncmp(argv[i], "vocab", 5)) {
            vocab = eq + 1;
            continue;
        }
        if (eq && n == 6 && !strncmp(argv[i], "labels", 6)) {
            labels = eq + 1;
            continue;
        }
        for (int k = 0; k < N_INTS && eq; k++) {
            if (strlen(ints[k].name) != n || strncmp(argv[i], ints[k].name, n))
                continue;
            char *end;
            long x = strtol(eq + 1, &end, 10);
            if (!eq[1] || *end || x < ints[k].min || x > ints[k].max)
                return sm_err(e, SM_ERR_RANGE, "option %d '%s': %s must be an integer in [%d, %d]", i + 1,
                              argv[i], ints[k].name, ints[k].min, ints[k].max);
            v[k] = (int)x;
            found = 1;
        }
        if (!found)
            return sm_err(e, SM_ERR_INVALID, "option %d '%s' is not one of layers, hidden, heads, intermediate, "
                          "num_labels, max_position, seed (=N), labels=A,B,... or vocab=FILE", i + 1, argv[i]);
    }
    if (!vocab)
        return sm_err(e, SM_ERR_INVALID, "vocab=FILE is needed (a vocab.txt, e.g. datasets/vocab.txt)");
    if (v[1] % v[2])
        return sm_err(e, SM_ERR_INVALID, "hidden (%d) must be a multiple of heads (%d)", v[1], v[2]);
    sm_tokenizer *tok = NULL;
    sm_status st = sm_tokenizer_load(vocab, -1, &tok, e);
    if (st != SM_OK)
        return st;
    sm_bert_config cfg;
    sm_config_default(&cfg);
    cfg.num_layers = v[0];
    cfg.hidden_size = v[1];
    cfg.num_heads = v[2];
    cfg.intermediate_size = v[3] ? v[3] : 4 * v[1];
    cfg.max_position = v[5];
    cfg.vocab_size = (int)sm_tokenizer_vocab_size(tok);
    cfg.pad_token_id = sm_tokenizer_pad_id(tok);
    sm_bert *m = NULL;
    char dir[1200] = "", name[96];
    static int made;
    snprintf(name, sizeof name, "new-model-%ld-%d", (long)getpid(), ++made);
    /* label names: labels=A,B,... or 0..num_labels-1 (as data files usually write them) */
    char namebuf[4096], *names[1000];
    int nl = 0;
    if (labels) {
        snprintf(namebuf, sizeof namebuf, "%s", labels);
        for (char *sv = NULL, *w = strtok_r(namebuf, ",", &sv); w && nl < 1000; w = strtok_r(NULL, ",", &sv))
            names[nl++] = w;
        if (nl == 0) /* else reported as "num_labels 0 is out of range", an option not given */
            st = sm_err(e, SM_ERR_INVALID, "labels='%s' names no class: give the names separated by commas, "
                        "e.g. labels=neg,pos", labels);
    } else {
        size_t off = 0;
        for (nl = 0; nl < v[4] && off + 8 < sizeof namebuf; nl++) {
            names[nl] = namebuf + off;
            off += (size_t)snprintf(namebuf + off, sizeof namebuf - off, "%d", nl) + 1;
        }
    }
    if (st == SM_OK && (st = sm_config_set_labels(&cfg, nl, (const char *const *)names, e)) == SM_OK &&
        (st = sm_bert_create(&m, &cfg, 0, e)) == SM_OK) {
        sm_rng r;
        sm_rng_seed(&r, (uint64_t)v[6]);
        sm_bert_init(m, &r);
        if (!con_state_path(dir, sizeof dir, name, 1))
            st = sm_err(e, SM_ERR_RANGE, "the state directory's path is too long");
        else
            st = sm_hf_save(dir, m, &cfg, tok, e);
    }
    sm_bert_free(m);
    sm_config_free(&cfg);
    sm_tokenizer_free(tok);
    if (st != SM_OK)
        return st;
    if ((st = be_load_model(ud, dir, e)) != SM_OK)
        return st;
    snprintf(S.model, sizeof S.model, "new: %d layers, hidden %d, %d heads", v[0], v[1], v[2]);
    con_info(S.c, "new model written to %s", dir);
    return SM_OK;
}

static sm_status be_load_data(void *ud, const char *split, const char *path, const sm_data_opts *o,
                              sm_error *e)
{
    (void)ud;
    load_arg a = {path, strcmp(split, "train") ? 1 : 0, o};
    sm_session_reply r;
    sm_session_call(S.s, call_load_data, &a, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    if (!a.which)
        snprintf(S.data, sizeof S.data, "%s", path);
    S.saved_step = sm_session_step_count(S.s); /* a resumed checkpoint is saved as it is */
    sync_hp();
    return SM_OK;
}

static sm_status be_set_hparam(void *ud, int id, double v, int64_t *at, sm_error *e)
{
    (void)ud;
    char txt[64];
    sm_hparam_format(id, v, txt, sizeof txt);
    sm_session_reply r;
    sm_session_set(S.s, sm_hparam_def_at(id)->name, txt, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    *at = r.effect_step - 1;
    return SM_OK;
}

static sm_status be_train(void *ud, int64_t count, int epochs, sm_error *e)
{
    (void)ud;
    sm_session_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.kind = SM_CMD_TRAIN;
    if (epochs)
        cmd.epochs = count;
    else
        cmd.n = count;
    sm_session_reply r;
    sm_session_command(S.s, &cmd, &r);
    return reply_status(&r, e);
}

static sm_status simple(sm_cmd_kind kind, sm_error *e)
{
    sm_session_reply r;
    sm_session_simple(S.s, kind, &r);
    return reply_status(&r, e);
}

static sm_status be_pause(void *ud, sm_error *e)
{
    (void)ud;
    return simple(SM_CMD_PAUSE, e);
}

static sm_status be_resume(void *ud, int apply, sm_error *e)
{
    (void)ud;
    sm_session_reply r;
    sm_session_resume(S.s, apply ? SM_PENDING_APPLY : SM_PENDING_DISCARD, &r);
    return reply_status(&r, e);
}

static sm_status be_step(void *ud, int64_t n, sm_error *e)
{
    (void)ud;
    sm_session_reply r;
    sm_session_step(S.s, n, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    con_wait_run(S.c, 0); /* the n steps run on the trainer thread; Ctrl-C pauses them */
    return SM_OK;
}

static sm_status be_eval(void *ud, sm_eval_record *out, sm_error *e)
{
    (void)ud;
    sm_status st = simple(SM_CMD_EVAL, e);
    if (st != SM_OK)
        return st;
    sm_session_view v;
    sm_session_view_get(S.s, &v);
    *out = v.eval;
    /* the event of this evaluation would print it a second time */
    pthread_mutex_lock(&S.mu);
    if (S.n && !strncmp(S.evq[(S.head + S.n - 1) % EVQ], "dev at step", 11)) {
        free(S.evq[(S.head + S.n - 1) % EVQ]);
        S.n--;
    }
    pthread_mutex_unlock(&S.mu);
    return SM_OK;
}

static sm_status be_stop(void *ud, sm_error *e)
{
    (void)ud;
    return simple(SM_CMD_STOP, e);
}

static sm_status be_snapshot(void *ud, const char *name, sm_error *e)
{
    (void)ud;
    sm_session_reply r;
    sm_session_named(S.s, SM_CMD_SNAPSHOT, name, &r);
    return reply_status(&r, e);
}

static sm_status be_rewind(void *ud, const char *name, int64_t *step, sm_error *e)
{
    (void)ud;
    sm_session_reply r;
    sm_session_named(S.s, SM_CMD_REWIND, name, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    *step = sm_session_step_count(S.s);
    sync_hp(); /* the snapshot's hyperparameters are back */
    hist_reload();
    return SM_OK;
}

static sm_status be_save(void *ud, const char *dir, sm_error *e)
{
    (void)ud;
    if (strlen(dir) >= sizeof ((sm_session_cmd *)0)->path)
        return sm_err(e, SM_ERR_INVALID, "the path is too long");
    sm_session_reply r;
    sm_session_named(S.s, SM_CMD_SAVE, dir, &r);
    if (r.status != SM_OK)
        return reply_status(&r, e);
    S.saved_step = r.step;
    /* the CHECKPOINT event repeats what `save` says */
    pthread_mutex_lock(&S.mu);
    if (S.n && !strncmp(S.evq[(S.head + S.n - 1) % EVQ], "checkpoint written", 18)) {
        free(S.evq[(S.head + S.n - 1) % EVQ]);
        S.n--;
    }
    pthread_mutex_unlock(&S.mu);
    return SM_OK;
}

static sm_status be_export(void *ud, const char *path, sm_error *e)
{
    (void)ud;
    return sm_session_export_metrics(S.s, path, e);
}

/* Replay: a fresh session without a thread applies the journal's events (loads included), then
 * replaces the console's session. */
static void replay_progress(void *ud, int64_t step, int64_t target)
{
    (void)ud;
    con_info(S.c, "replay: step %lld of %lld", (long long)step, (long long)target);
}

static sm_status be_replay(void *ud, const char *path, sm_error *e)
{
    (void)ud;
    sm_journal j;
    sm_journal_init(&j);
    sm_status st = sm_journal_load(&j, path, e);
    if (st == SM_OK && j.n == 0) /* it would only empty the session */
        st = sm_err(e, SM_ERR_INVALID, "%s: the journal holds no events: give a journal.jsonl that `save DIR` "
                    "wrote", path);
    sm_session *ns = NULL;
    if (st == SM_OK)
        st = session_make(&ns, e);
    if (st == SM_OK) /* progress, and Ctrl-C, SIGTERM or SIGHUP stop it as they stop training */
        sm_session_set_replay_watch(ns, S.c->intr, S.c->hup, replay_progress, NULL);
    int has_model = 0;
    char model[256] = "", data[256] = "";
    for (size_t i = 0; st == SM_OK && i < j.n; i++) {
        const sm_journal_event *ev = &j.ev[i];
        st = sm_session_replay_event(ns, ev, e);
        if (st != SM_OK)
            sm_err_prefix(e, "%s: event %zu (%s at step %lld)", path, i + 1, ev->op, (long long)ev->step);
        else if (!strcmp(ev->op, "load_model")) {
            has_model = 1;
            snprintf(model, sizeof model, "%s", ev->argv[0]);
        } else if (!strcmp(ev->op, "load_train")) {
            snprintf(data, sizeof data, "%s", ev->argv[0]);
        }
    }
    sm_journal_free(&j);
    if (st == SM_OK)
        st = session_start(ns, e);
    if (st != SM_OK) {
        if (ns)
            sm_session_free(ns);
        return st;
    }
    sm_session_free(S.s);
    S.s = ns;
    sm_session_set_break_fn(S.s, on_break, S.c);
    S.has_model = has_model;
    S.saved_step = sm_session_step_count(S.s);
    snprintf(S.model, sizeof S.model, "%s", model);
    snprintf(S.data, sizeof S.data, "%s", data);
    sync_hp();
    hist_reload();
    return SM_OK;
}

/* predict: tokenize, one forward pass in evaluation mode, the class probabilities. */
typedef struct predict_arg {
    const char *a, *b;
    char *out;
    size_t cap;
} predict_arg;

/* Class k's name: the training set's label (the session maps labels through it), else the model's. */
static const char *label_name(sm_session *s, const sm_bert_config *cfg, int k, char *buf, size_t cap)
{
    const sm_dataset *ds = sm_session_dataset(s, 0);
    if (ds && k < sm_dataset_num_labels(ds) && sm_dataset_label_name(ds, k))
        return sm_dataset_label_name(ds, k);
    return sm_config_label(cfg, k, buf, cap);
}

static sm_status call_predict(sm_session *s, void *arg, sm_error *e)
{
    predict_arg *p = arg;
    const sm_tokenizer *tok = sm_session_tokenizer(s);
    struct sm_bert *m = sm_session_model(s);
    if (!tok || !m)
        return sm_err(e, SM_ERR_STATE, "no model loaded (`load model PATH`)");
    const sm_bert_config *cfg = sm_bert_config_get(m);
    sm_ids ids = {0}, types = {0};
    int max_len = (int)sm_session_hparams(s)->v[SM_HP_MAX_LEN];
    if (max_len <= 0 || max_len > cfg->max_position)
        max_len = cfg->max_position;
    sm_status st = sm_tokenizer_encode_pair(tok, p->a, p->b, max_len, &ids, &types, e);
    sm_bert_acts *acts = NULL;
    int T = (int)ids.n;
    float mask[4096];
    int32_t len = T;
    if (st == SM_OK && T > 4096)
        st = sm_err(e, SM_ERR_RANGE, "the text is too long (%d tokens)", T);
    if (st == SM_OK)
        st = sm_bert_acts_create(&acts, m, 1, T, 0, e);
    if (st == SM_OK) {
        for (int t = 0; t < T; t++)
            mask[t] = 1.0f;
        sm_batch b;
        memset(&b, 0, sizeof b);
        b.B = 1;
        b.T = T;
        b.ids = ids.v;
        b.types = types.v;
        b.mask = mask;
        b.lengths = &len;
        st = sm_bert_forward(m, sm_bert_weights_const(m), acts, &b, SM_BERT_EVAL, NULL, e);
    }
    if (st == SM_OK) {
        const float *lg = sm_bert_acts_logits(acts);
        int C = cfg->num_labels;
        if (cfg->problem == SM_PROBLEM_REGRESSION) {
            snprintf(p->out, p->cap, "%.6g", lg[0]);
        } else {
            double mx = lg[0], z = 0;
            int best = 0;
            for (int k = 1; k < C; k++)
                if (lg[k] > mx) {
                    mx = lg[k];
                    best = k;
                }
            for (int k = 0; k < C; k++)
                z += exp(lg[k] - mx);
            char name[32];
            size_t w = (size_t)snprintf(p->out, p->cap, "%s", label_name(s, cfg, best, name, sizeof name));
            for (int k = 0; k < C && w < p->cap; k++)
                w += (size_t)snprintf(p->out + w, p->cap - w, "%s%s %.4f", k ? ", " : "  (",
                                      label_name(s, cfg, k, name, sizeof name), exp(lg[k] - mx) / z);
            if (w < p->cap)
                snprintf(p->out + w, p->cap - w, ")");
        }
    }
    sm_bert_acts_free(acts);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    return st;
}

static sm_status be_predict(void *ud, const char *a, const char *b, char *out, size_t cap, sm_error *e)
{
    (void)ud;
    predict_arg p = {a, b, out, cap};
    sm_session_reply r;
    sm_session_call(S.s, call_predict, &p, &r);
    return reply_status(&r, e);
}

typedef struct show_arg {
    const char *what;
    char *buf;
    size_t cap;
} show_arg;

static sm_status call_show(sm_session *s, void *arg, sm_error *e)
{
    show_arg *a = arg;
    a->buf[0] = '\0';
    if (!strcmp(a->what, "model")) {
        struct sm_bert *m = sm_session_model(s);
        if (!m)
            return sm_err(e, SM_ERR_STATE, "no model loaded (`load model PATH`)");
        const sm_bert_config *c = sm_bert_config_get(m);
        size_t w = (size_t)snprintf(a->buf, a->cap,
                                    "%s\n  %d layers, hidden %d, %d heads, intermediate %d, vocabulary %d, "
                                    "max positions %d, %zu parameters\n  %s with %d label%s:",
                                    S.model, c->num_layers, c->hidden_size, c->num_heads, c->intermediate_size,
                                    c->vocab_size, c->max_position, sm_bert_numel(m),
                                    c->problem == SM_PROBLEM_REGRESSION ? "regression" : "classification",
                                    c->num_labels, c->num_labels == 1 ? "" : "s");
        char name[32];
        for (int k = 0; k < c->num_labels && w < a->cap; k++)
            w += (size_t)snprintf(a->buf + w, a->cap - w, " %d=%s", k, label_name(s, c, k, name, sizeof name));
        return SM_OK;
    }
    size_t w = 0;
    for (int which = 0; which < 2 && w < a->cap; which++) {
        const sm_dataset *ds = sm_session_dataset(s, which);
        w += (size_t)snprintf(a->buf + w, a->cap - w, "%s%s: ", w ? "\n" : "", which ? "dev" : "train");
        if (!ds)
            w += (size_t)snprintf(a->buf + w, a->cap - w, "not loaded (`load %s FILE`)", which ? "dev" : "train");
        else
            w += sm_data_report_format(ds, a->buf + w, a->cap - w);
    }
    return SM_OK;
}

static sm_status be_show(void *ud, const char *what, con_ctx *c, sm_error *e)
{
    (void)ud;
    if (!strcmp(what, "journal")) {
        sm_journal j;
        sm_journal_init(&j);
        sm_status st = sm_session_journal(S.s, &j, e);
        if (st != SM_OK)
            return st;
        if (!j.n)
            con_print(c, "the journal is empty");
        for (size_t i = 0; i < j.n; i++) {
            char line[1024];
            sm_journal_event_format(&j.ev[i], line, sizeof line);
            con_print(c, "%s", line);
        }
        sm_journal_free(&j);
        return SM_OK;
    }
    char *buf = malloc(16384);
    if (!buf)
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    show_arg a = {what, buf, 16384};
    sm_session_reply r;
    sm_session_call(S.s, call_show, &a, &r);
    if (r.status == SM_OK)
        con_print(c, "%s", buf);
    free(buf);
    return reply_status(&r, e);
}

static void be_status(void *ud, con_status *st)
{
    (void)ud;
    sm_session_view v;
    sm_session_view_get(S.s, &v);
    switch (v.state) {
    case SM_SESSION_RUNNING: st->state = CON_RUN_RUNNING; break;
    case SM_SESSION_PAUSED: st->state = CON_RUN_PAUSED; break;
    case SM_SESSION_AT_BREAK: st->state = CON_RUN_BREAK; break;
    case SM_SESSION_STEPPING: st->state = CON_RUN_STEPPING; break;
    default: st->state = S.has_model ? CON_RUN_IDLE : CON_RUN_EMPTY; break;
    }
    st->step = v.step;
    st->planned = v.run_end ? v.run_end : v.planned;
    st->epoch = v.epoch;
    st->unsaved = v.dirty ? (v.step > S.saved_step ? v.step - S.saved_step : 1) : 0;
    st->has_step = v.has_step;
    st->last = v.last;
    st->has_eval = v.has_eval;
    if (v.has_eval)
        st->eval = v.eval;
    snprintf(st->model, sizeof st->model, "%s", S.model);
    snprintf(st->data, sizeof st->data, "%s", S.data);
}

static sm_status be_journal(void *ud, const char *op, int argc, const char *const *argv, sm_error *e)
{
    (void)ud;
    return sm_session_journal_add(S.s, op, argc, argv, e);
}

static size_t copy_from(const void *arr, size_t n, size_t size, size_t from, void *buf, size_t cap,
                        size_t *total)
{
    *total = n;
    if (from >= n)
        return 0;
    size_t k = n - from < cap ? n - from : cap;
    memcpy(buf, (const char *)arr + size * from, size * k);
    return k;
}

static size_t be_steps(void *ud, size_t from, sm_step_record *buf, size_t cap, size_t *total)
{
    (void)ud;
    pthread_mutex_lock(&S.mu);
    size_t k = copy_from(S.hist, S.n_hist, sizeof *S.hist, from, buf, cap, total);
    pthread_mutex_unlock(&S.mu);
    return k;
}

static size_t be_evals(void *ud, size_t from, sm_eval_record *buf, size_t cap, size_t *total)
{
    (void)ud;
    pthread_mutex_lock(&S.mu);
    size_t k = copy_from(S.evals, S.n_evals, sizeof *S.evals, from, buf, cap, total);
    pthread_mutex_unlock(&S.mu);
    return k;
}

static void be_wait(void *ud, double timeout)
{
    (void)ud;
    sm_session_wait_idle(S.s, timeout);
}

static void be_poll(void *ud, con_ctx *c)
{
    (void)ud;
    for (;;) {
        pthread_mutex_lock(&S.mu);
        char *msg = NULL;
        if (S.n) {
            msg = S.evq[S.head];
            S.head = (S.head + 1) % EVQ;
            S.n--;
        }
        pthread_mutex_unlock(&S.mu);
        if (!msg)
            break;
        con_event(c, "%s", msg);
        free(msg);
    }
}

static const con_backend session_backend = {
    .load_model = be_load_model,
    .new_model = be_new_model,
    .load_data = be_load_data,
    .set_hparam = be_set_hparam,
    .train = be_train,
    .pause = be_pause,
    .resume = be_resume,
    .step = be_step,
    .eval = be_eval,
    .stop = be_stop,
    .snapshot = be_snapshot,
    .rewind = be_rewind,
    .save = be_save,
    .export_metrics = be_export,
    .replay = be_replay,
    .predict = be_predict,
    .show = be_show,
    .status = be_status,
    .journal = be_journal,
    .steps = be_steps,
    .evals = be_evals,
    .wait = be_wait,
    .poll = be_poll,
};

void con_backend_attach(con_ctx *c)
{
    sm_error e;
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.mu, NULL);
    S.c = c;
    sm_log_set(on_log, NULL); /* a dashboard installs its own when it starts */
    if (session_make(&S.s, &e) != SM_OK || session_start(S.s, &e) != SM_OK) {
        if (S.s)
            sm_session_free(S.s);
        S.s = NULL;
        con_error(c, "the training session could not start: %s", e.msg);
        con_set_backend(c, NULL, NULL);
        return;
    }
    sm_session_set_break_fn(S.s, on_break, c);
    con_set_backend(c, &session_backend, &S);
}

void con_backend_detach(con_ctx *c)
{
    sm_log_set(NULL, NULL);
    if (S.s)
        sm_session_free(S.s);
    S.s = NULL;
    be_poll(NULL, c);
    for (; S.n; S.n--, S.head = (S.head + 1) % EVQ)
        free(S.evq[S.head]);
    free(S.hist);
    free(S.evals);
    pthread_mutex_destroy(&S.mu);
    con_set_backend(c, NULL, NULL);
}
