/* check_session.c: tests of the training session on a toy backend: runs split any way give the same
 * weights, `set` is journalled at the step it took effect, breakpoints stop before the update (and
 * resume applies or discards it), snapshots rewind exactly, a journal replays to the same weights,
 * the trainer thread obeys pause/step/resume/stop, non-finite updates are skipped and reported. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartty/session.h"
#include "testutil.h"
#include "toy_backend.h"

#define NW 7 /* toy weights */

/* A session over a fresh toy backend (its copy in *be, when be is not NULL: toy_hold_eval). */
static sm_session *new_session_be(sm_session_backend *be)
{
    sm_session_backend local;
    sm_hparams hp;
    sm_error e;
    sm_session *s;
    if (!be)
        be = &local;
    toy_hparams(&hp);
    ck_assert_int_eq(toy_backend(be, NULL, &e), SM_OK);
    ck_assert_int_eq(sm_session_new(be, &hp, &s, &e), SM_OK);
    return s;
}

static sm_session *new_session(void) { return new_session_be(NULL); }


static void all_state(sm_session *s, float *out) /* weights, momentum, teacher */
{
    for (size_t i = 0; i < 3; i++) {
        sm_state_tensor t;
        sm_session_tensor_at(s, i, &t);
        memcpy(out + i * NW, t.data, sizeof(float) * NW);
    }
}

static void ok(sm_status st, const sm_session_reply *r)
{
    ck_assert_msg(st == SM_OK, "command failed: %s", r->err.msg);
}

/* A threaded session training without end (for 20 ms so far). */
static sm_session *running_session(void)
{
    sm_session *s = new_session();
    sm_error e;
    sm_session_reply r;
    ck_assert_int_eq(sm_session_start(s, &e), SM_OK);
    ok(sm_session_train(s, 100000000, &r), &r);
    usleep(20000);
    return s;
}

/* s's journal replayed in a fresh session gives s's state; returns the replay's step count */
static int64_t check_replay(sm_session *s)
{
    sm_journal j;
    sm_error e;
    ck_assert_int_eq(sm_session_journal(s, &j, &e), SM_OK);
    sm_session *p = new_session();
    for (size_t i = 0; i < j.n; i++)
        ck_assert_msg(sm_session_apply_event(p, &j.ev[i], &e) == SM_OK, "%s", e.msg);
    float w[3 * NW], wp[3 * NW];
    all_state(s, w);
    all_state(p, wp);
    ck_assert_mem_eq(w, wp, sizeof w);
    int64_t n = sm_session_step_count(p);
    sm_journal_free(&j);
    sm_session_free(p);
    return n;
}

START_TEST(test_split_runs_identical)
{
    sm_session *a = new_session(), *b = new_session();
    sm_session_reply r;
    ok(sm_session_train(a, 17, &r), &r);
    ck_assert_int_eq(sm_session_step_count(a), 17);
    ok(sm_session_train(b, 5, &r), &r);
    ok(sm_session_step(b, 4, &r), &r);
    ok(sm_session_train(b, 8, &r), &r);
    ck_assert_int_eq(sm_session_step_count(b), 17);
    float wa[3 * NW], wb[3 * NW];
    all_state(a, wa);
    all_state(b, wb);
    ck_assert_mem_eq(wa, wb, sizeof wa);
    /* and the state actually moved */
    sm_session *c = new_session();
    float wc[3 * NW];
    ok(sm_session_train(c, 16, &r), &r);
    all_state(c, wc);
    ck_assert(memcmp(wa, wc, sizeof wa) != 0);
    sm_session_view v;
    sm_session_view_get(a, &v);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    ck_assert_int_eq(v.step, 17);
    ck_assert_int_eq(v.last.step, 17);
    ck_assert(v.has_eval); /* evaluated at the end of each epoch (eval_every 0) and of the run */
    sm_session_free(a);
    sm_session_free(b);
    sm_session_free(c);
}
END_TEST

/* evals_left: the evaluations still to come, at epoch ends (7 steps each) or every eval_every steps,
 * and at the run's end */
START_TEST(test_evals_left)
{
    sm_session *s = new_session();
    sm_session_reply r;
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.evals_left, 3); /* 3 epochs planned: 7, 14, 21 */
    ok(sm_session_train(s, 3, &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.evals_left, 3); /* the plan again once the run is done */
    ok(sm_session_set(s, "eval_every", "5", &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.evals_left, 5); /* 5, 10, 15, 20 and the end, 21 */
    ok(sm_session_set(s, "eval_every", "0", &r), &r);
    ok(sm_session_step(s, 4, &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 7);
    ck_assert_int_eq(v.evals_left, 2); /* 14, 21 */
    sm_session_free(s);
}
END_TEST

START_TEST(test_set_journalled)
{
    sm_session *s = new_session();
    sm_session_reply r;
    ok(sm_session_train(s, 6, &r), &r);
    ok(sm_session_set(s, "lr", "0.05", &r), &r);
    ck_assert_int_eq(r.step, 6);
    ck_assert_int_eq(r.effect_step, 7);
    ck_assert_msg(strstr(r.msg, "from step 7"), "%s", r.msg);
    ck_assert(sm_session_hparams(s)->v[SM_HP_LR] == 0.05);
    /* an alias resolves to the canonical name in the journal */
    ok(sm_session_set(s, "adv_alpha", "3", &r), &r);
    /* bad names and values are rejected with the range, and change nothing */
    ck_assert_int_ne(sm_session_set(s, "lr", "-1", &r), SM_OK);
    ck_assert_msg(strstr(r.err.msg, "lr"), "%s", r.err.msg);
    ck_assert_int_ne(sm_session_set(s, "nosuch", "1", &r), SM_OK);
    /* fixed values cannot change once training started */
    ck_assert_int_eq(sm_session_set(s, "batch_size", "4", &r), SM_ERR_STATE);
    ck_assert_msg(strstr(r.err.msg, "batch_size"), "%s", r.err.msg);
    sm_journal j;
    sm_error e;
    ck_assert_int_eq(sm_session_journal(s, &j, &e), SM_OK);
    int found = 0;
    for (size_t i = 0; i < j.n; i++) {
        if (!strcmp(j.ev[i].op, "set")) {
            ck_assert_int_eq(j.ev[i].step, 6);
            ck_assert_int_eq(j.ev[i].argc, 2);
            found += !strcmp(j.ev[i].argv[0], "lr") || !strcmp(j.ev[i].argv[0], "lambda_s");
        }
    }
    ck_assert_int_eq(found, 2);
    sm_journal_free(&j);
    sm_session_free(s);
}
END_TEST

typedef struct break_at {
    int64_t step;
    int fired;
} break_at;

static int hook(void *ud, char when, const sm_step_record *s, const sm_eval_record *ev, char *why,
                size_t cap)
{
    (void)ev;
    break_at *b = ud;
    if (when == 's' && s->step == b->step) {
        b->fired++;
        snprintf(why, cap, "step = %lld", (long long)s->step);
        return 1;
    }
    return 0;
}

START_TEST(test_breakpoint_apply_or_discard)
{
    float ref5[3 * NW], ref4[3 * NW], w[3 * NW];
    sm_session_reply r;
    sm_session *ref = new_session();
    ok(sm_session_train(ref, 4, &r), &r);
    all_state(ref, ref4);
    ok(sm_session_train(ref, 1, &r), &r);
    all_state(ref, ref5);

    for (int discard = 0; discard <= 1; discard++) {
        sm_session *s = new_session();
        break_at b = {5, 0};
        sm_session_set_break_fn(s, hook, &b);
        ok(sm_session_train(s, 10, &r), &r);
        ck_assert_int_eq(b.fired, 1);
        sm_session_view v;
        sm_session_view_get(s, &v);
        ck_assert_int_eq(v.state, SM_SESSION_AT_BREAK);
        ck_assert_int_eq(v.pending, 1);
        ck_assert_int_eq(v.pending_rec.step, 5);
        ck_assert_str_eq(v.why, "step = 5");
        ck_assert_int_eq(v.step, 4);
        all_state(s, w);
        ck_assert_mem_eq(w, ref4, sizeof w); /* before the update */
        /* a set at the breakpoint takes effect after the pending step */
        ok(sm_session_set(s, "lr", "0.1", &r), &r);
        ck_assert_int_eq(r.effect_step, 6);
        sm_session_set_break_fn(s, NULL, NULL);
        ok(sm_session_resume(s, discard ? SM_PENDING_DISCARD : SM_PENDING_APPLY, &r), &r);
        ck_assert_int_eq(sm_session_step_count(s), 10);
        sm_step_record *h;
        size_t n = sm_session_history(s, &h);
        ck_assert_uint_eq(n, 10);
        ck_assert_int_eq(h[4].step, 5);
        ck_assert_int_eq(h[4].skipped, discard);
        free(h);
        if (!discard) {
            sm_session *u = new_session();
            ok(sm_session_train(u, 10, &r), &r);
            float wu[3 * NW];
            all_state(u, wu);
            all_state(s, w);
            ck_assert_mem_eq(w, wu, sizeof w); /* applying = never having stopped */
            sm_session_free(u);
        }
        /* the journal replays to the same state, discard included */
        ck_assert_int_eq(check_replay(s), 10);
        sm_session_free(s);
    }
    sm_session_free(ref);
}
END_TEST

START_TEST(test_snapshot_rewind_replay)
{
    sm_session *s = new_session();
    sm_session_reply r;
    float at10[3 * NW], branch1[3 * NW], w[3 * NW];
    ok(sm_session_train(s, 10, &r), &r);
    ok(sm_session_named(s, SM_CMD_SNAPSHOT, "ten", &r), &r);
    all_state(s, at10);
    ok(sm_session_train(s, 7, &r), &r);
    all_state(s, branch1);
    ok(sm_session_named(s, SM_CMD_REWIND, "ten", &r), &r);
    ck_assert_int_eq(sm_session_step_count(s), 10);
    all_state(s, w);
    ck_assert_mem_eq(w, at10, sizeof w);
    ok(sm_session_train(s, 7, &r), &r); /* the same branch again: the same result */
    all_state(s, w);
    ck_assert_mem_eq(w, branch1, sizeof w);
    ok(sm_session_named(s, SM_CMD_REWIND, "ten", &r), &r);
    ok(sm_session_set(s, "lr", "0.3", &r), &r);
    ok(sm_session_train(s, 7, &r), &r);
    all_state(s, w);
    ck_assert(memcmp(w, branch1, sizeof w) != 0);
    ck_assert_int_eq(sm_session_named(s, SM_CMD_REWIND, "nine", &r), SM_ERR_NOTFOUND);
    ck_assert_msg(strstr(r.err.msg, "ten"), "%s", r.err.msg);

    sm_journal j;
    sm_error e;
    ck_assert_int_eq(sm_session_journal(s, &j, &e), SM_OK);
    char *text = sm_journal_to_text(&j);
    sm_journal_free(&j);
    sm_journal_init(&j);
    ck_assert_int_eq(sm_journal_parse(&j, text, strlen(text), "mem", &e), SM_OK);
    free(text);
    sm_session *p = new_session();
    for (size_t i = 0; i < j.n; i++)
        ck_assert_msg(sm_session_apply_event(p, &j.ev[i], &e) == SM_OK, "%s", e.msg);
    float wp[3 * NW];
    all_state(p, wp);
    ck_assert_mem_eq(w, wp, sizeof w);
    ck_assert_int_eq(sm_session_step_count(p), 17);
    /* a load is for the caller */
    sm_journal_event ev = {17, 0, "load_model", 0, NULL};
    ck_assert_int_eq(sm_session_apply_event(p, &ev, &e), SM_ERR_UNSUPPORTED);
    sm_journal_free(&j);
    sm_session_free(p);
    sm_session_free(s);
}
END_TEST

typedef struct counter {
    int warn, steps, done;
} counter;

static void on_event(void *ud, const sm_session_event *ev)
{
    counter *c = ud;
    c->warn += ev->kind == SM_EVENT_WARN;
    c->steps += ev->kind == SM_EVENT_STEP;
    c->done += ev->kind == SM_EVENT_DONE;
}

START_TEST(test_nonfinite_skipped)
{
    sm_session_backend be;
    sm_hparams hp;
    sm_error e;
    sm_session *s;
    toy_hparams(&hp);
    ck_assert_int_eq(toy_backend(&be, NULL, &e), SM_OK);
    toy_poison(&be, 3);
    ck_assert_int_eq(sm_session_new(&be, &hp, &s, &e), SM_OK);
    counter c = {0, 0, 0};
    sm_session_set_event_fn(s, on_event, &c);
    sm_session_reply r;
    ok(sm_session_train(s, 2, &r), &r);
    float before[3 * NW], after[3 * NW];
    all_state(s, before);
    ok(sm_session_train(s, 1, &r), &r);
    all_state(s, after);
    ck_assert_mem_eq(before, after, sizeof before);
    ck_assert_int_eq(c.warn, 1);
    ck_assert_int_eq(c.steps, 3);
    ck_assert_int_eq(c.done, 2);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.last.skipped, 1);
    ck_assert_int_eq(v.step, 3);
    sm_session_free(s);
}
END_TEST

/* the waiting hook: called while a long command runs on the trainer thread, never inside itself */
typedef struct wait_count {
    int calls, depth, max_depth, nested_ok;
    sm_session *s;
} wait_count;

static sm_status slow_call(sm_session *s, void *arg, sm_error *e)
{
    (void)s, (void)e;
    usleep(*(int *)arg);
    return SM_OK;
}

static int count_wait(void *ud, sm_cmd_kind kind)
{
    wait_count *w = ud;
    ck_assert_int_eq(kind, SM_CMD_CALL);
    w->calls++;
    if (++w->depth > w->max_depth)
        w->max_depth = w->depth;
    if (w->calls == 2) { /* a command posted from the hook waits for the long one, without the hook */
        int quick = 1000;
        sm_session_reply r;
        w->nested_ok = sm_session_call(w->s, slow_call, &quick, &r) == SM_OK;
    }
    w->depth--;
    return 1; /* asks it to end early: a call runs to its end all the same */
}

START_TEST(test_wait_hook)
{
    sm_session *s = new_session();
    sm_error e;
    sm_session_reply r;
    wait_count w = {.s = s};
    sm_session_set_wait_fn(s, count_wait, &w);
    ck_assert_int_eq(sm_session_start(s, &e), SM_OK);
    int long_us = 400000;
    ok(sm_session_call(s, slow_call, &long_us, &r), &r);
    ck_assert_int_ge(w.calls, 2); /* every 50 ms of the 400, until the second call's nested one */
    ck_assert_int_eq(w.max_depth, 1);
    ck_assert(w.nested_ok);
    int before = w.calls;
    sm_session_set_wait_fn(s, NULL, NULL);
    ok(sm_session_call(s, slow_call, &long_us, &r), &r);
    ck_assert_int_eq(w.calls, before);
    sm_session_free(s);
}
END_TEST

/* a pause posted from the hook while a command runs (a server's client, during another client's
 * eval) returns at once; the run pauses when that command ends, before any step */
typedef struct hook_pause {
    sm_session *s;
    int posted;
    sm_status st;
    sm_session_reply r;
} hook_pause;

static int pause_from_hook(void *ud, sm_cmd_kind kind)
{
    (void)kind;
    hook_pause *h = ud;
    if (!h->posted++)
        h->st = sm_session_simple(h->s, SM_CMD_PAUSE, &h->r);
    return 0;
}

START_TEST(test_pause_from_hook)
{
    sm_session *s = running_session();
    sm_session_reply r;
    hook_pause h = {.s = s};
    sm_session_set_wait_fn(s, pause_from_hook, &h);
    int us = 300000;
    ok(sm_session_call(s, slow_call, &us, &r), &r);
    sm_session_set_wait_fn(s, NULL, NULL);
    ck_assert_int_ge(h.posted, 2); /* called again after it: the pause did not hold the hook */
    ck_assert_int_eq(h.st, SM_OK);
    ck_assert_ptr_nonnull(strstr(h.r.msg, "pauses when the command running now ends"));
    ck_assert(sm_session_wait_idle(s, 10));
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_PAUSED);
    ck_assert_int_eq(v.step, h.r.step); /* no step after the call */
    sm_session_free(s);
}
END_TEST

/* an evaluation whose poster's hook asks it to stop ends with SM_ERR_CANCELLED and records nothing;
 * the next one (not asked) runs */
static int stop_evals(void *ud, sm_cmd_kind kind)
{
    (void)ud;
    return kind == SM_CMD_EVAL;
}

static void *post_slow(void *arg)
{
    sm_session *s = arg;
    int us = 300000;
    sm_session_reply r;
    sm_session_call(s, slow_call, &us, &r);
    return NULL;
}

START_TEST(test_wait_hook_cancels_eval)
{
    sm_session *s = new_session();
    sm_error e;
    sm_session_reply r;
    ck_assert_int_eq(sm_session_start(s, &e), SM_OK);
    sm_session_set_wait_fn(s, stop_evals, NULL);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, post_slow, s), 0);
    usleep(50000); /* the slow call runs: the evaluation waits behind it, and is asked to stop */
    ck_assert_int_eq(sm_session_simple(s, SM_CMD_EVAL, &r), SM_ERR_CANCELLED);
    ck_assert_ptr_nonnull(strstr(r.err.msg, "interrupted"));
    pthread_join(th, NULL);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert(!v.has_eval);
    sm_session_set_wait_fn(s, NULL, NULL);
    ok(sm_session_simple(s, SM_CMD_EVAL, &r), &r);
    sm_session_view_get(s, &v);
    ck_assert(v.has_eval);
    sm_session_free(s);
}
END_TEST

START_TEST(test_thread_control)
{
    sm_session *s = running_session();
    sm_session_reply r;
    ok(sm_session_simple(s, SM_CMD_PAUSE, &r), &r);
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_PAUSED);
    int64_t at = v.step;
    ck_assert_int_gt(at, 0);
    ck_assert_int_eq(r.step, at);
    ok(sm_session_step(s, 3, &r), &r);
    ck_assert(sm_session_wait_idle(s, 10));
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, at + 3);
    ck_assert_int_eq(v.state, SM_SESSION_PAUSED);
    ok(sm_session_set(s, "lambda_s", "3", &r), &r);
    ck_assert_int_eq(r.step, at + 3);
    ck_assert_int_eq(r.effect_step, at + 4);
    sm_session_view_get(s, &v);
    ck_assert(v.hp.v[SM_HP_LAMBDA_S] == 3);
    ck_assert_int_eq(sm_session_simple(s, SM_CMD_TRAIN, &r), SM_ERR_STATE);
    ok(sm_session_resume(s, SM_PENDING_APPLY, &r), &r);
    usleep(5000);
    ok(sm_session_set(s, "lr", "0.01", &r), &r); /* while running */
    ck_assert_int_gt(r.effect_step, at + 3);
    ok(sm_session_simple(s, SM_CMD_STOP, &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    ck_assert_int_eq(sm_session_simple(s, SM_CMD_PAUSE, &r), SM_ERR_STATE);
    /* the journal replays the threaded run exactly */
    sm_session_join(s);
    check_replay(s);
    sm_session_free(s);
}
END_TEST

/* `train N` or `train N epochs` so large that the end step does not fit in 64 bits trains without
 * end (the end step saturates) instead of overflowing (smartty train --resume DIR --steps 2^63-1). */
START_TEST(test_train_huge_count)
{
    sm_session *s = new_session();
    sm_error e;
    sm_session_reply r;
    ok(sm_session_train(s, 5, &r), &r);
    ck_assert_int_eq(sm_session_start(s, &e), SM_OK);
    ok(sm_session_train(s, INT64_MAX, &r), &r);
    ck_assert_msg(strstr(r.msg, "from step 5 to 9223372036854775807"), "%s", r.msg);
    ok(sm_session_simple(s, SM_CMD_STOP, &r), &r);
    sm_session_cmd c;
    memset(&c, 0, sizeof c);
    c.kind = SM_CMD_TRAIN;
    c.epochs = INT64_MAX / 2;
    ok(sm_session_command(s, &c, &r), &r);
    ck_assert_msg(strstr(r.msg, "to 9223372036854775807"), "%s", r.msg);
    ok(sm_session_simple(s, SM_CMD_STOP, &r), &r);
    sm_session_join(s);
    sm_session_free(s);
}
END_TEST

START_TEST(test_thread_breakpoint)
{
    sm_session *s = new_session();
    sm_error e;
    sm_session_reply r;
    break_at b = {7, 0};
    sm_session_set_break_fn(s, hook, &b);
    ck_assert_int_eq(sm_session_start(s, &e), SM_OK);
    ok(sm_session_train(s, 20, &r), &r);
    ck_assert(sm_session_wait_idle(s, 10));
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_AT_BREAK);
    ck_assert_int_eq(v.step, 6);
    ok(sm_session_named(s, SM_CMD_SNAPSHOT, "brk", &r), &r);
    ok(sm_session_step(s, 2, &r), &r); /* applies the pending update, then one more */
    ck_assert(sm_session_wait_idle(s, 10));
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 8);
    ck_assert_int_eq(v.state, SM_SESSION_PAUSED);
    ok(sm_session_named(s, SM_CMD_REWIND, "brk", &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 6);
    ok(sm_session_resume(s, SM_PENDING_APPLY, &r), &r);
    ck_assert(sm_session_wait_idle(s, 10));
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_AT_BREAK); /* the same step 7 again */
    ck_assert_int_eq(v.step, 6);
    ck_assert_int_eq(b.fired, 2);
    b.step = -1;
    ok(sm_session_resume(s, SM_PENDING_APPLY, &r), &r);
    ck_assert(sm_session_wait_idle(s, 10));
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 20);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    sm_session_free(s);
}
END_TEST

START_TEST(test_export_metrics)
{
    sm_session *s = new_session();
    sm_session_reply r;
    sm_error e;
    ok(sm_session_set(s, "eval_every", "4", &r), &r);
    ok(sm_session_train(s, 9, &r), &r);
    const char *path = "check_session_metrics.tmp.csv";
    ck_assert_int_eq(sm_session_export_metrics(s, path, &e), SM_OK);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert(!strncmp(line, "step,epoch,loss,", 16));
    ck_assert_ptr_nonnull(strstr(line, "dev_acc"));
    int rows = 0, with_dev = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        char *last = strrchr(line, ','); /* the last column names the branch (issue 15) */
        ck_assert_str_eq(last, ",main\n");
        with_dev += last[-1] != ','; /* the column before it (dev_spearman) is empty */
        int commas = 0;
        for (char *p = line; *p; p++)
            commas += *p == ',';
        ck_assert_int_eq(commas, (int)sm_field_count());
    }
    fclose(f);
    unlink(path);
    ck_assert_int_eq(rows, 9);
    ck_assert_int_eq(with_dev, 0); /* no regression metrics on a classification task */
    sm_eval_record *ev;
    size_t ne = sm_session_evals(s, &ev);
    ck_assert_uint_eq(ne, 3); /* steps 4, 8 and the run's end at 9 */
    ck_assert_int_eq(ev[0].step, 4);
    ck_assert_int_eq(ev[2].step, 9);
    free(ev);
    sm_session_free(s);
}
END_TEST

static int eval_hook(void *ud, char when, const sm_step_record *s, const sm_eval_record *ev, char *why,
                     size_t cap)
{
    (void)s;
    int *fired = ud;
    if (when == 'e' && ev->acc >= 0) {
        ++*fired;
        snprintf(why, cap, "dev_acc = %g", ev->acc);
        return 1;
    }
    return 0;
}

START_TEST(test_eval_break_and_stop)
{
    sm_session *s = new_session();
    sm_session_reply r;
    int fired = 0;
    sm_session_set_break_fn(s, eval_hook, &fired);
    ok(sm_session_train(s, 20, &r), &r); /* 7 batches per epoch: evaluates after step 7 */
    sm_session_view v;
    sm_session_view_get(s, &v);
    ck_assert_int_eq(fired, 1);
    ck_assert_int_eq(v.state, SM_SESSION_AT_BREAK);
    ck_assert_int_eq(v.pending, 0); /* an evaluation breakpoint leaves no update pending */
    ck_assert_int_eq(v.step, 7);
    ck_assert(!strncmp(v.why, "dev_acc = ", 10));
    /* a step breakpoint, then stop: the pending update is discarded */
    break_at b = {9, 0};
    sm_session_set_break_fn(s, hook, &b);
    ok(sm_session_resume(s, SM_PENDING_APPLY, &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_AT_BREAK);
    ck_assert_int_eq(v.pending, 1);
    float before[3 * NW], after[3 * NW];
    all_state(s, before);
    ok(sm_session_simple(s, SM_CMD_STOP, &r), &r);
    all_state(s, after);
    ck_assert_mem_eq(before, after, sizeof before);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    ck_assert_int_eq(v.step, 9);
    ck_assert_int_eq(v.last.skipped, 1);
    sm_journal j;
    sm_error e;
    ck_assert_int_eq(sm_session_journal(s, &j, &e), SM_OK);
    ck_assert_str_eq(j.ev[j.n - 2].op, "discard");
    ck_assert_int_eq(j.ev[j.n - 2].step, 8);
    ck_assert_str_eq(j.ev[j.n - 1].op, "stop");
    ck_assert_int_eq(j.ev[j.n - 1].step, 9);
    sm_journal_free(&j);
    sm_session_free(s);
}
END_TEST

/* The typed events: copies kept by the observer carry the names, values and restored steps. */
typedef struct kept_events {
    sm_session_event ev[64];
    int n;
} kept_events;

static void keep_event(void *ud, const sm_session_event *ev)
{
    kept_events *k = ud;
    sm_error e;
    if (ev->kind != SM_EVENT_STEP && k->n < 64)
        ck_assert_int_eq(sm_session_event_copy(&k->ev[k->n++], ev, &e), SM_OK);
}

static const sm_session_event *find_event(const kept_events *k, sm_event_kind kind)
{
    for (int i = 0; i < k->n; i++)
        if (k->ev[i].kind == kind)
            return &k->ev[i];
    return NULL;
}

/* Wait (up to 20 s) until the session's own evaluation runs; returns its view. */
static sm_session_view wait_for_eval(sm_session *s)
{
    sm_session_view v;
    for (int i = 0; i < 20000; i++) {
        sm_session_view_get(s, &v);
        if (v.eval_total)
            return v;
        usleep(1000);
    }
    ck_abort_msg("the run's evaluation never started (step %lld)", (long long)v.step);
    return v;
}

/* Interrupt (the console's Ctrl-C) and wait (up to 20 s) until the run pauses; returns its view. */
static sm_session_view interrupt_until_paused(sm_session *s)
{
    sm_session_view v;
    sm_session_interrupt(s);
    sm_session_view_get(s, &v);
    for (int i = 0; i < 20000 && v.state != SM_SESSION_PAUSED; i++) {
        usleep(1000);
        sm_session_view_get(s, &v);
    }
    return v;
}

static sm_session *held_session(sm_session_backend *be)
{
    sm_error e;
    sm_session *s = new_session_be(be);
    toy_hold_eval(be, 1);
    ck_assert_int_eq(sm_session_start(s, &e), SM_OK);
    return s;
}

/* A pause that comes during the run's own evaluation ends it early; the evaluation is owed and runs
 * again, whole, when the run resumes: records, weights and journal as in a run never paused. */
START_TEST(test_pause_ends_own_eval)
{
    sm_session_reply r;
    sm_session *ref = new_session(); /* the same run, never paused */
    ok(sm_session_train(ref, 10, &r), &r); /* evaluates after step 7 (the epoch's end) and 10 (the run's) */
    sm_eval_record *rev;
    size_t rn = sm_session_evals(ref, &rev);
    ck_assert_int_eq(rn, 2);
    float want[3 * NW], got[3 * NW];
    all_state(ref, want);

    sm_session_backend be;
    sm_session *s = held_session(&be);
    static kept_events k;
    k.n = 0;
    sm_session_set_event_fn(s, keep_event, &k);
    ok(sm_session_train(s, 10, &r), &r);
    sm_session_view v = wait_for_eval(s);
    ck_assert_int_eq(v.step, 7);
    ok(sm_session_simple(s, SM_CMD_PAUSE, &r), &r); /* it does not wait for the evaluation */
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_PAUSED);
    ck_assert_int_eq(v.step, 7);
    ck_assert_int_eq(v.eval_owed, 7);
    ck_assert_int_eq(v.evals_left, 2); /* the owed one and the run's last (10) */
    ck_assert_int_eq(v.eval_total, 0);
    ck_assert(!v.has_eval); /* nothing was recorded */
    toy_hold_eval(&be, 0);
    ok(sm_session_resume(s, SM_PENDING_APPLY, &r), &r);
    ck_assert(sm_session_wait_idle(s, 20));
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    ck_assert_int_eq(v.step, 10);
    ck_assert_int_eq(v.eval_owed, -1);
    sm_session_join(s);
    sm_eval_record *ev;
    size_t n = sm_session_evals(s, &ev);
    ck_assert_int_eq(n, 2); /* the owed one ran at step 7, once */
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(ev[i].step, rev[i].step);
        ck_assert(ev[i].loss == rev[i].loss && ev[i].acc == rev[i].acc);
    }
    all_state(s, got);
    ck_assert_mem_eq(want, got, sizeof want);
    int said = 0;
    for (int i = 0; i < k.n; i++)
        said += k.ev[i].kind == SM_EVENT_NOTICE && k.ev[i].msg && strstr(k.ev[i].msg, "step 7: evaluation interrupted") &&
                strstr(k.ev[i].msg, "runs it again");
    ck_assert_int_eq(said, 1);
    check_replay(s); /* the journal replays to the same weights */
    free(ev);
    free(rev);
    sm_session_free(s);
    sm_session_free(ref);
    for (int i = 0; i < k.n; i++)
        sm_session_event_free(&k.ev[i]);
}
END_TEST

/* A new session from the checkpoint in dir. */
static sm_session *restored(const char *dir)
{
    sm_session_backend be;
    sm_hparams hp;
    sm_session *s;
    sm_error e;
    sm_hparams_default(&hp);
    ck_assert_int_eq(toy_backend(&be, dir, &e), SM_OK);
    ck_assert_int_eq(sm_session_new(&be, &hp, &s, &e), SM_OK);
    ck_assert_msg(sm_session_restore_checkpoint(s, dir, &e) == SM_OK, "%s", e.msg);
    return s;
}

/* An owed evaluation belongs to the state: a checkpoint saved while it is owed owes it when restored
 * (it runs before the next step, so the resumed run records what a run never paused records), and so
 * does a snapshot taken then, when the run rewinds to it. */
START_TEST(test_owed_eval_kept)
{
    sm_session_reply r;
    sm_session *ref = new_session(); /* the same run, never paused */
    ok(sm_session_train(ref, 10, &r), &r);
    sm_eval_record *rev;
    size_t rn = sm_session_evals(ref, &rev);
    ck_assert_int_eq(rn, 2); /* after step 7 (the epoch's end) and 10 (the run's) */
    float want[3 * NW], got[3 * NW];
    all_state(ref, want);

    sm_session_backend be;
    sm_session *s = held_session(&be);
    ok(sm_session_train(s, 10, &r), &r);
    sm_session_view v = wait_for_eval(s);
    ck_assert_int_eq(v.step, 7);
    ok(sm_session_simple(s, SM_CMD_PAUSE, &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.eval_owed, 7);
    char tmp[512], dir[600];
    tu_mkdtemp(tmp, sizeof tmp, "check_session_owed");
    snprintf(dir, sizeof dir, "%s/ckpt", tmp);
    ok(sm_session_named(s, SM_CMD_SAVE, dir, &r), &r);
    ok(sm_session_named(s, SM_CMD_SNAPSHOT, "owed", &r), &r);
    toy_hold_eval(&be, 0);

    /* a new session from the checkpoint owes the evaluation after step 7 */
    sm_session *b = restored(dir);
    sm_session_view_get(b, &v);
    ck_assert_int_eq(v.step, 7);
    ck_assert_int_eq(v.eval_owed, 7);
    ck_assert_int_eq(v.evals_left >= 1, 1);
    ok(sm_session_train(b, 3, &r), &r);
    sm_session_view_get(b, &v);
    ck_assert_int_eq(v.step, 10);
    ck_assert_int_eq(v.eval_owed, -1);
    sm_eval_record *ev;
    size_t n = sm_session_evals(b, &ev);
    ck_assert_int_eq(n, 2); /* the owed one at step 7, then the run's end */
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(ev[i].step, rev[i].step);
        ck_assert(ev[i].loss == rev[i].loss && ev[i].acc == rev[i].acc);
    }
    free(ev);
    all_state(b, got);
    ck_assert_mem_eq(want, got, sizeof want);
    sm_session_free(b);

    /* the paused session runs it, then a rewind to the snapshot owes it again */
    ok(sm_session_resume(s, SM_PENDING_APPLY, &r), &r);
    ck_assert(sm_session_wait_idle(s, 20));
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 10);
    ck_assert_int_eq(v.eval_owed, -1);
    ok(sm_session_named(s, SM_CMD_REWIND, "owed", &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.step, 7);
    ck_assert_int_eq(v.eval_owed, 7);
    sm_session_join(s);
    check_replay(s); /* the journal, rewind included, replays to the same weights */
    sm_session_free(s);
    sm_session_free(ref);
    free(rev);
    ck_assert_int_eq(tu_rmtree(tmp), 0);
}
END_TEST

/* A checkpoint saved while the run's last evaluation is owed: the plan's steps are all done, and
 * `train` (as `smartty train --resume` calls it) runs the evaluation and ends the run. */
START_TEST(test_owed_last_eval_resumed)
{
    sm_session_reply r;
    sm_session_backend be;
    sm_session *s = held_session(&be);
    ok(sm_session_set(s, "epochs", "1", &r), &r); /* the plan: 7 steps */
    ok(sm_session_train(s, 0, &r), &r);
    sm_session_view v = wait_for_eval(s);
    ck_assert_int_eq(v.step, 7);
    v = interrupt_until_paused(s);
    ck_assert_int_eq(v.state, SM_SESSION_PAUSED);
    ck_assert_int_eq(v.eval_owed, 7);
    char tmp[512], dir[600];
    tu_mkdtemp(tmp, sizeof tmp, "check_session_last");
    snprintf(dir, sizeof dir, "%s/ckpt", tmp);
    ok(sm_session_named(s, SM_CMD_SAVE, dir, &r), &r);
    toy_hold_eval(&be, 0);
    ok(sm_session_simple(s, SM_CMD_STOP, &r), &r);
    sm_session_join(s);
    sm_session_free(s);
    sm_session *b = restored(dir);
    ok(sm_session_train(b, 0, &r), &r);
    ck_assert_msg(strstr(r.msg, "evaluation after step 7 is owed"), "%s", r.msg);
    sm_session_view_get(b, &v);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    ck_assert_int_eq(v.step, 7);
    ck_assert(v.has_eval && v.eval.step == 7);
    ck_assert_int_eq(v.eval_owed, -1);
    ck_assert_int_eq(sm_session_train(b, 0, &r), SM_ERR_STATE); /* now the plan is done */
    sm_session_free(b);
    ck_assert_int_eq(tu_rmtree(tmp), 0);
}
END_TEST

/* An interrupt (the console's Ctrl-C) during the run's last evaluation pauses the run instead of
 * ending it; `resume` runs the evaluation and ends the run. A stop during the evaluation drops it. */
START_TEST(test_interrupt_ends_own_eval)
{
    sm_session_reply r;
    sm_session_backend be;
    sm_session *s = held_session(&be);
    ok(sm_session_train(s, 7, &r), &r);
    sm_session_view v = wait_for_eval(s);
    ck_assert_int_eq(v.step, 7);
    v = interrupt_until_paused(s);
    ck_assert_int_eq(v.state, SM_SESSION_PAUSED); /* not done: its evaluation is owed */
    ck_assert_int_eq(v.eval_owed, 7);
    toy_hold_eval(&be, 0);
    ok(sm_session_resume(s, SM_PENDING_APPLY, &r), &r);
    ck_assert(sm_session_wait_idle(s, 20));
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    ck_assert_int_eq(v.step, 7);
    ck_assert(v.has_eval);
    ck_assert_int_eq(v.eval.step, 7);
    ck_assert_int_eq(v.eval_owed, -1);
    /* a stop during the next epoch's evaluation drops it: the next step comes without it */
    toy_hold_eval(&be, 1);
    ok(sm_session_train(s, 20, &r), &r);
    v = wait_for_eval(s);
    ck_assert_int_eq(v.step, 14);
    ok(sm_session_simple(s, SM_CMD_STOP, &r), &r);
    sm_session_view_get(s, &v);
    ck_assert_int_eq(v.state, SM_SESSION_STOPPED);
    ck_assert_int_eq(v.eval_owed, -1);
    toy_hold_eval(&be, 0);
    ok(sm_session_train(s, 1, &r), &r);
    ck_assert(sm_session_wait_idle(s, 20));
    sm_session_join(s);
    sm_eval_record *ev;
    size_t n = sm_session_evals(s, &ev);
    ck_assert_int_eq(n, 2); /* step 7, then the end of the one-step run (15); none at 14 */
    ck_assert_int_eq(ev[0].step, 7);
    ck_assert_int_eq(ev[1].step, 15);
    free(ev);
    sm_session_free(s);
}
END_TEST

START_TEST(test_typed_events)
{
    sm_session *s = new_session();
    static kept_events k;
    k.n = 0;
    sm_session_set_event_fn(s, keep_event, &k);
    sm_session_reply r;
    ok(sm_session_train(s, 3, &r), &r);
    ok(sm_session_named(s, SM_CMD_SNAPSHOT, "a", &r), &r);
    ok(sm_session_set(s, "lambda_s", "3", &r), &r);
    ok(sm_session_train(s, 4, &r), &r);
    ok(sm_session_named(s, SM_CMD_REWIND, "a", &r), &r);
    const sm_session_event *sn = find_event(&k, SM_EVENT_SNAPSHOT), *ch = find_event(&k, SM_EVENT_CHANGE);
    const sm_session_event *rw = find_event(&k, SM_EVENT_REWIND), *st = find_event(&k, SM_EVENT_STATE);
    ck_assert_ptr_nonnull(sn);
    ck_assert_str_eq(sn->name, "a");
    ck_assert_int_eq(sn->step, 3);
    ck_assert_ptr_nonnull(ch);
    ck_assert_str_eq(ch->name, "lambda_s");
    ck_assert_str_eq(ch->old_value, "1");
    ck_assert_str_eq(ch->new_value, "3");
    ck_assert_int_eq(ch->step, 3); /* the last step with the old value */
    ck_assert_ptr_nonnull(rw);
    ck_assert_str_eq(rw->name, "a");
    ck_assert_int_eq(rw->step, 3);
    ck_assert_int_eq(rw->from_step, 7);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(st->state, SM_SESSION_RUNNING);
    sm_session_free(s);
    for (int i = 0; i < k.n; i++)
        sm_session_event_free(&k.ev[i]); /* the copies outlive the session */
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_split_runs_identical);
    tcase_add_test(tc, test_set_journalled);
    tcase_add_test(tc, test_breakpoint_apply_or_discard);
    tcase_add_test(tc, test_snapshot_rewind_replay);
    tcase_add_test(tc, test_nonfinite_skipped);
    tcase_add_test(tc, test_thread_control);
    tcase_add_test(tc, test_wait_hook);
    tcase_add_test(tc, test_wait_hook_cancels_eval);
    tcase_add_test(tc, test_pause_from_hook);
    tcase_add_test(tc, test_train_huge_count);
    tcase_add_test(tc, test_thread_breakpoint);
    tcase_add_test(tc, test_export_metrics);
    tcase_add_test(tc, test_eval_break_and_stop);
    tcase_add_test(tc, test_typed_events);
    tcase_add_test(tc, test_pause_ends_own_eval);
    tcase_add_test(tc, test_owed_eval_kept);
    tcase_add_test(tc, test_owed_last_eval_resumed);
    tcase_add_test(tc, test_evals_left);
    tcase_add_test(tc, test_interrupt_ends_own_eval);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(session_suite());
}
