/* check_proto.c: tests of the run server's wire protocol (src/server/proto.c): every message type
 * survives an encode/decode round trip with its records bit for bit (NaN and infinities included);
 * malformed, oversized, unknown and wrong-version frames are refused with their codes; the line
 * framer splits, joins and drops oversized lines; decimation keeps the first and the last record;
 * a client's wait for one answer (sock.c) queues the other frames in order. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <unistd.h>

#include "server/proto.h"
#include "server/sock.h"
#include "testutil.h"

static sm_step_record mkstep(int64_t i)
{
    sm_step_record r;
    memset(&r, 0, sizeof r);
    r.step = i;
    r.epoch = (int)(i / 10);
    r.loss = 0.1 + 1.0 / 3.0 * (double)i;
    r.rs = 1e-300;
    r.breg = -0.0;
    r.total = r.loss + 2;
    r.grad_norm = INFINITY;
    r.delta_norm = NAN;
    r.lr = 2e-5;
    r.batch_size = 32;
    r.skipped = (int)(i & 1);
    r.rs_skipped = 1;
    return r;
}

static sv_msg round_trip(const sv_msg *m)
{
    size_t len;
    char *line = sv_encode(m, &len);
    ck_assert_ptr_nonnull(line);
    ck_assert_uint_eq(line[len - 1], '\n');
    ck_assert_ptr_null(memchr(line, '\n', len - 1));
    sv_msg out;
    char code[32];
    sm_error e;
    ck_assert_msg(sv_decode(line, len, &out, code, &e) == SM_OK, "%s: %s", line, e.msg);
    free(line);
    ck_assert_int_eq(out.type, m->type);
    return out;
}

static void same_step(const sm_step_record *a, const sm_step_record *b)
{
    ck_assert_int_eq(a->step, b->step);
    ck_assert_int_eq(a->epoch, b->epoch);
    ck_assert_int_eq(a->skipped, b->skipped);
    ck_assert_int_eq(a->rs_skipped, b->rs_skipped);
    ck_assert_int_eq(a->batch_size, b->batch_size);
    ck_assert(a->loss == b->loss && a->total == b->total && a->lr == b->lr && a->rs == b->rs);
    ck_assert(signbit(a->breg) == signbit(b->breg));
    ck_assert(isinf(b->grad_norm) && b->grad_norm > 0);
    ck_assert(isnan(b->delta_norm));
}

START_TEST(test_round_trips)
{
    sv_msg m, o;
    sv_msg_init(&m, SV_MSG_HELLO);
    snprintf(m.role, sizeof m.role, "attach");
    snprintf(m.who, sizeof m.who, "ana@pts/3 pid 77");
    m.history = 5000;
    o = round_trip(&m);
    ck_assert_str_eq(o.role, "attach");
    ck_assert_str_eq(o.who, "ana@pts/3 pid 77");
    ck_assert_int_eq(o.history, 5000);
    ck_assert_int_eq(o.proto, SV_PROTO_VERSION);
    ck_assert_int_eq(o.confirm, 0);
    sv_msg_free(&o);
    m.confirm = 1; /* an interactive console: it can answer a question */
    o = round_trip(&m);
    ck_assert_int_eq(o.confirm, 1);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_INTR); /* Ctrl-C in a console */
    o = round_trip(&m);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_CMD);
    m.id = 42;
    char cmd[] = "set lambda_s 3; show \"status\" \xc3\xa9";
    m.text = cmd;
    o = round_trip(&m);
    ck_assert_int_eq(o.id, 42);
    ck_assert_str_eq(o.text, m.text);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_OUT);
    m.id = 7;
    m.kind = 5;
    char out[] = "lambda_s = 3\nfrom step 12";
    m.text = out;
    o = round_trip(&m);
    ck_assert_int_eq(o.kind, 5);
    ck_assert_str_eq(o.text, m.text);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_REPLY);
    m.id = 7;
    m.status = 1;
    o = round_trip(&m);
    ck_assert_int_eq(o.status, 1);
    ck_assert_int_eq(o.id, 7);
    ck_assert_str_eq(o.ask, "");
    sv_msg_free(&o);
    snprintf(m.ask, sizeof m.ask, "shut down and lose the unsaved training? [y/N] ");
    o = round_trip(&m);
    ck_assert_str_eq(o.ask, m.ask);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_EVENT);
    m.ev.kind = SM_EVENT_CHANGE;
    m.ev.step = 120;
    m.ev.epoch = 2;
    m.ev.name = "lambda_s";
    m.ev.old_value = "1";
    m.ev.new_value = "3";
    m.ev.has_rec = 1;
    m.ev.rec = mkstep(120);
    snprintf(m.by, sizeof m.by, "B");
    o = round_trip(&m);
    ck_assert_int_eq(o.ev.kind, SM_EVENT_CHANGE);
    ck_assert_int_eq(o.ev.step, 120);
    ck_assert_int_eq(o.ev.epoch, 2);
    ck_assert_str_eq(o.ev.name, "lambda_s");
    ck_assert_str_eq(o.ev.old_value, "1");
    ck_assert_str_eq(o.ev.new_value, "3");
    ck_assert_ptr_null(o.ev.msg);
    ck_assert_str_eq(o.by, "B");
    same_step(&m.ev.rec, &o.ev.rec);
    ck_assert(!o.ev.has_eval);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_EVENT);
    m.ev.kind = SM_EVENT_REWIND;
    m.ev.step = 10;
    m.ev.from_step = 30;
    m.ev.name = "a";
    m.ev.has_eval = 1;
    sm_eval_record_init(&m.ev.eval);
    m.ev.eval.acc = 0.875;
    m.ev.eval.n = 872;
    o = round_trip(&m);
    ck_assert_int_eq(o.ev.from_step, 30);
    ck_assert(o.ev.has_eval && o.ev.eval.acc == 0.875 && o.ev.eval.n == 872 && isnan(o.ev.eval.f1));
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_STATUS);
    m.st.state = 2;
    m.st.step = 99;
    m.st.planned = 1000;
    m.st.unsaved = 99;
    m.st.has_step = 1;
    m.st.last = mkstep(99);
    snprintf(m.st.model, sizeof m.st.model, "models/bert-tiny");
    sm_hparams hp;
    sm_hparams_default(&hp);
    for (int i = 0; i < SM_HP_COUNT; i++) {
        m.st.hp[i] = hp.v[i];
        m.st.hp_changed_at[i] = -1;
    }
    int ls = sm_hparam_lookup("lambda_s");
    ck_assert_int_ge(ls, 0);
    m.st.hp[ls] = 3;
    m.st.hp_changed_at[ls] = 57;
    m.st.clients = 3;
    snprintf(m.st.branch, sizeof m.st.branch, "a.2");
    m.st.explore_variant = 2;
    m.st.explore_total = 3;
    m.st.eval_done = 1216;
    m.st.eval_total = 16000;
    m.st.ui_fps = 12;
    m.st.evals_left = 4;
    o = round_trip(&m);
    ck_assert_int_eq(o.st.evals_left, 4);
    ck_assert_int_eq(o.st.eval_done, 1216);
    ck_assert_int_eq(o.st.eval_total, 16000);
    ck_assert_int_eq(o.st.ui_fps, 12);
    ck_assert_str_eq(o.st.branch, "a.2");
    ck_assert_int_eq(o.st.explore_variant, 2);
    ck_assert_int_eq(o.st.explore_total, 3);
    ck_assert_int_eq(o.st.state, 2);
    ck_assert_int_eq(o.st.step, 99);
    ck_assert_int_eq(o.st.planned, 1000);
    ck_assert_int_eq(o.st.clients, 3);
    ck_assert_str_eq(o.st.model, "models/bert-tiny");
    ck_assert(o.st.hp[ls] == 3);
    ck_assert_int_eq(o.st.hp_changed_at[ls], 57);
    ck_assert(!o.st.has_eval);
    same_step(&m.st.last, &o.st.last);
    for (int i = 0; i < SM_HP_COUNT; i++)
        ck_assert_msg(o.st.hp[i] == m.st.hp[i] || (isnan(o.st.hp[i]) && isnan(m.st.hp[i])), "hp %d", i);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_HISTORY);
    sm_step_record steps[40];
    for (int i = 0; i < 40; i++)
        steps[i] = mkstep(i + 1);
    sm_eval_record ev;
    sm_eval_record_init(&ev);
    ev.step = 20;
    ev.loss = 0.5;
    m.steps = steps;
    m.n_steps = 40;
    m.evals = &ev;
    m.n_evals = 1;
    m.total = 40;
    m.last = 1;
    o = round_trip(&m);
    ck_assert_uint_eq(o.n_steps, 40);
    ck_assert_uint_eq(o.n_evals, 1);
    for (int i = 0; i < 40; i++)
        same_step(&steps[i], &o.steps[i]);
    ck_assert(o.evals[0].loss == 0.5 && o.evals[0].step == 20);
    ck_assert(o.last && o.total == 40);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_BRANCHES); /* protocol 2: the compare view's request and its answer */
    o = round_trip(&m);
    sv_msg_free(&o);
    sv_msg_init(&m, SV_MSG_BRANCH);
    m.index = 1;
    m.count = 3;
    snprintf(m.name, sizeof m.name, "a.2");
    snprintf(m.knobs, sizeof m.knobs, "lambda_s=1");
    m.fork_step = 10;
    m.active = 1;
    m.steps = steps;
    m.n_steps = 40;
    m.evals = &ev;
    m.n_evals = 1;
    o = round_trip(&m);
    ck_assert(o.index == 1 && o.count == 3 && o.fork_step == 10 && o.active);
    ck_assert_str_eq(o.name, "a.2");
    ck_assert_str_eq(o.knobs, "lambda_s=1");
    ck_assert_uint_eq(o.n_steps, 40);
    for (int i = 0; i < 40; i++)
        same_step(&steps[i], &o.steps[i]);
    ck_assert(o.n_evals == 1 && o.evals[0].loss == 0.5);
    sv_msg_free(&o);
    sv_msg_init(&m, SV_MSG_BRANCH); /* none */
    o = round_trip(&m);
    ck_assert(o.count == 0 && o.n_steps == 0 && !o.name[0]);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_ERROR);
    snprintf(m.code, sizeof m.code, "too_large");
    char err[] = "the frame is over the limit";
    m.text = err;
    o = round_trip(&m);
    ck_assert_str_eq(o.code, "too_large");
    ck_assert_str_eq(o.text, m.text);
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_DETACH);
    o = round_trip(&m);
    sv_msg_free(&o);
}
END_TEST

/* The completion frames: the line, the candidates in order (escapes and UTF-8 included), the file
 * flag; the caps on the candidates are kept when adding. */
START_TEST(test_completion)
{
    sv_msg m, o;
    char line[] = "set lambd";
    sv_msg_init(&m, SV_MSG_COMPLETE);
    m.id = 42;
    m.text = line;
    o = round_trip(&m);
    ck_assert_int_eq(o.id, 42);
    ck_assert_str_eq(o.text, "set lambd");
    sv_msg_free(&o);

    sv_msg_init(&m, SV_MSG_COMPLETION);
    m.id = -3;
    ck_assert(sv_msg_add_word(&m, "lambda_s"));
    ck_assert(sv_msg_add_word(&m, "a \"b\"\tc"));
    ck_assert(sv_msg_add_word(&m, "\xc3\xa9t\xc3\xa9"));
    o = round_trip(&m);
    ck_assert_int_eq(o.id, -3);
    ck_assert_int_eq(o.file, 0);
    ck_assert_uint_eq(o.n_words, 3);
    ck_assert_str_eq(o.words[0], "lambda_s");
    ck_assert_str_eq(o.words[1], "a \"b\"\tc");
    ck_assert_str_eq(o.words[2], "\xc3\xa9t\xc3\xa9");
    sv_msg_free(&o);
    sv_msg_free(&m);

    sv_msg_init(&m, SV_MSG_COMPLETION); /* a file name: no candidates, the client completes paths */
    m.file = 1;
    o = round_trip(&m);
    ck_assert_int_eq(o.file, 1);
    ck_assert_uint_eq(o.n_words, 0);
    sv_msg_free(&o);

    /* the caps: a word of SV_COMPLETE_WORD bytes is not taken, nor a word past SV_COMPLETE_WORDS */
    sv_msg_init(&m, SV_MSG_COMPLETION);
    char *w = malloc(SV_COMPLETE_WORD + 1);
    memset(w, 'x', SV_COMPLETE_WORD);
    w[SV_COMPLETE_WORD] = '\0';
    ck_assert(!sv_msg_add_word(&m, w));
    w[SV_COMPLETE_WORD - 1] = '\0';
    ck_assert(sv_msg_add_word(&m, w));
    for (int i = 1; i < SV_COMPLETE_WORDS; i++) {
        char b[16];
        snprintf(b, sizeof b, "w%d", i);
        ck_assert(sv_msg_add_word(&m, b));
    }
    ck_assert(!sv_msg_add_word(&m, "one-more"));
    ck_assert_uint_eq(m.n_words, SV_COMPLETE_WORDS);
    o = round_trip(&m); /* the largest frame the caps allow encodes and decodes */
    ck_assert_uint_eq(o.n_words, SV_COMPLETE_WORDS);
    ck_assert_str_eq(o.words[SV_COMPLETE_WORDS - 1], "w999");
    sv_msg_free(&o);
    sv_msg_free(&m);
    /* SV_COMPLETE_BYTES in all: 128 words of 1023 bytes fit, then no more */
    sv_msg_init(&m, SV_MSG_COMPLETION);
    int taken = 0;
    while (sv_msg_add_word(&m, w))
        taken++;
    ck_assert_int_eq(taken, SV_COMPLETE_BYTES / (SV_COMPLETE_WORD - 1));
    /* escaped as \u0001 each byte, the fullest frame still fits SV_FRAME_MAX */
    sv_msg_free(&m);
    sv_msg_init(&m, SV_MSG_COMPLETION);
    memset(w, 1, SV_COMPLETE_WORD - 1);
    while (sv_msg_add_word(&m, w))
        ;
    o = round_trip(&m);
    ck_assert_uint_eq(o.n_words, m.n_words);
    sv_msg_free(&o);
    sv_msg_free(&m);
    free(w);
}
END_TEST

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    ck_assert_int_eq(write(fd, s, n), (ssize_t)n);
}

/* Waiting for an answer (sv_conn_await, what Tab completion does) loses no frame: the others come
 * out of sv_conn_recv afterwards in their order (an undecodable one as an error frame), a late
 * answer is dropped, an older server's unknown_type ends the wait, a full queue ends it with the
 * rest left on the socket, and a closed connection is said. */
START_TEST(test_await)
{
    int sp[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    sv_conn c;
    sv_conn_init(&c, sp[0]);
    put(sp[1], "{\"type\":\"status\",\"status\":{\"state\":2,\"step\":7}}\n"
               "garbage\n"
               "{\"type\":\"completion\",\"id\":1,\"words\":[\"late\"]}\n"
               "{\"type\":\"out\",\"id\":0,\"kind\":1,\"text\":\"x\"}\n"
               "{\"type\":\"completion\",\"id\":2,\"words\":[\"show\"],\"file\":false}\n"
               "{\"type\":\"bye\",\"msg\":\"after\"}\n");
    sv_msg m;
    sm_error e;
    ck_assert_int_eq(sv_conn_await(&c, SV_MSG_COMPLETION, 2, "'complete'", 2.0, &m), 1);
    ck_assert_uint_eq(m.n_words, 1);
    ck_assert_str_eq(m.words[0], "show");
    sv_msg_free(&m);
    ck_assert(sv_conn_pending(&c));
    static const sv_msg_type want[] = {SV_MSG_STATUS, SV_MSG_ERROR, SV_MSG_OUT, SV_MSG_BYE};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sv_conn_recv(&c, &m, 1.0, &e), 1);
        ck_assert_msg(m.type == want[i], "frame %d: %s", i, sv_msg_type_name(m.type));
        if (i == 0)
            ck_assert_int_eq(m.st.step, 7);
        if (i == 1)
            ck_assert_str_eq(m.code, "malformed");
        sv_msg_free(&m);
    }
    ck_assert(!sv_conn_pending(&c));
    ck_assert_int_eq(sv_conn_recv(&c, &m, 0, &e), 0);
    /* two frames in one read: the second, read but not decoded, is pending (poll would not see it) */
    put(sp[1], "{\"type\":\"out\",\"id\":0,\"kind\":1,\"text\":\"a\"}\n{\"type\":\"out\",\"id\":0,\"kind\":1,\"text\":\"b\"}\n");
    ck_assert_int_eq(sv_conn_recv(&c, &m, 1.0, &e), 1);
    sv_msg_free(&m);
    ck_assert(sv_conn_pending(&c));
    ck_assert_int_eq(sv_conn_recv(&c, &m, 0, &e), 1);
    ck_assert_str_eq(m.text, "b");
    sv_msg_free(&m);
    ck_assert(!sv_conn_pending(&c));

    /* an older server: unknown_type naming the request */
    put(sp[1], "{\"type\":\"error\",\"code\":\"unknown_type\",\"msg\":\"unknown frame type 'complete'\"}\n");
    ck_assert_int_eq(sv_conn_await(&c, SV_MSG_COMPLETION, 3, "'complete'", 2.0, &m), -3);
    ck_assert(!sv_conn_pending(&c));
    /* no answer: 0 once the time is up */
    ck_assert_int_eq(sv_conn_await(&c, SV_MSG_COMPLETION, 4, "'complete'", 0.05, &m), 0);

    /* more frames than the queue holds: the wait ends, the rest stay on the socket */
    char f[128];
    for (int i = 0; i < SV_CONN_HELD_MAX + 5; i++) {
        snprintf(f, sizeof f, "{\"type\":\"out\",\"id\":%d,\"kind\":0,\"text\":\"\"}\n", i);
        put(sp[1], f);
    }
    put(sp[1], "{\"type\":\"completion\",\"id\":5,\"words\":[],\"file\":true}\n");
    ck_assert_int_eq(sv_conn_await(&c, SV_MSG_COMPLETION, 5, "'complete'", 2.0, &m), 0);
    for (int i = 0; i < SV_CONN_HELD_MAX + 5; i++) {
        ck_assert_int_eq(sv_conn_recv(&c, &m, 1.0, &e), 1);
        ck_assert_int_eq(m.type, SV_MSG_OUT);
        ck_assert_int_eq(m.id, i);
        sv_msg_free(&m);
    }
    ck_assert_int_eq(sv_conn_recv(&c, &m, 1.0, &e), 1); /* the answer is still there, unlost */
    ck_assert_int_eq(m.type, SV_MSG_COMPLETION);
    ck_assert_int_eq(m.file, 1);
    sv_msg_free(&m);

    /* frames held when the peer closes: the wait says so, the frames still come, then the end */
    put(sp[1], "{\"type\":\"out\",\"id\":0,\"kind\":0,\"text\":\"last\"}\n");
    close(sp[1]);
    ck_assert_int_eq(sv_conn_await(&c, SV_MSG_COMPLETION, 6, "'complete'", 2.0, &m), -1);
    ck_assert_int_eq(sv_conn_recv(&c, &m, 1.0, &e), 1);
    ck_assert_str_eq(m.text, "last");
    sv_msg_free(&m);
    ck_assert_int_eq(sv_conn_recv(&c, &m, 1.0, &e), -1);
    sv_conn_close(&c); /* frees what is still queued (none here) */
}
END_TEST

static void refused(const char *frame, const char *want_code)
{
    sv_msg m;
    char code[32];
    sm_error e;
    ck_assert_msg(sv_decode(frame, strlen(frame), &m, code, &e) != SM_OK, "accepted: %s", frame);
    ck_assert_msg(!strcmp(code, want_code), "%s: code %s, not %s (%s)", frame, code, want_code, e.msg);
    ck_assert_msg(e.msg[0], "%s: no message", frame);
    ck_assert_ptr_null(m.text);
}

START_TEST(test_refused)
{
    refused("", "malformed");
    refused("{\"type\":\"cmd\",\"id\":1,\"line\":\"x\"", "malformed"); /* truncated */
    refused("[1,2]", "malformed");
    refused("{\"id\":1}", "malformed");
    refused("{\"type\":\"launch\"}", "unknown_type");
    refused("{\"type\":\"hello\",\"proto\":99}", "version");
    refused("{\"type\":\"hello\"}", "malformed");
    refused("{\"type\":\"hello\",\"proto\":1}", "version"); /* protocol 1 lacked branches */
    refused("{\"type\":\"hello\",\"proto\":2,\"role\":\"attach\",\"confirm\":1}", "malformed");
    refused("{\"type\":\"reply\",\"id\":1,\"status\":0,\"ask\":7}", "malformed");
    refused("{\"type\":\"branch\",\"index\":3,\"count\":2,\"name\":\"a\",\"steps\":[],\"evals\":[]}",
            "malformed");
    refused("{\"type\":\"branch\",\"index\":0,\"count\":1,\"steps\":[],\"evals\":[]}", "malformed");
    refused("{\"type\":\"branch\",\"index\":0,\"count\":1,\"name\":\"a\",\"steps\":[[1]],\"evals\":[]}",
            "malformed");
    refused("{\"type\":\"status\",\"status\":{\"state\":1,\"step\":0,\"branch\":7}}", "malformed");
    refused("{\"type\":\"cmd\",\"id\":\"1\",\"line\":\"x\"}", "malformed");
    refused("{\"type\":\"cmd\",\"id\":1}", "malformed");
    refused("{\"type\":\"cmd\",\"id\":1,\"line\":\"a\\u0000b\"}", "malformed");
    refused("{\"type\":\"cmd\",\"id\":1,\"id\":2,\"line\":\"x\"}", "malformed");
    refused("{\"type\":\"event\",\"event\":{\"kind\":\"nope\",\"step\":1}}", "malformed");
    refused("{\"type\":\"event\",\"event\":{\"kind\":\"step\",\"step\":1,\"rec\":[1,2]}}", "malformed");
    refused("{\"type\":\"history\",\"steps\":[[1]],\"evals\":[]}", "malformed");
    refused("{\"type\":\"status\",\"status\":{\"state\":1,\"step\":1,\"ui_fps\":-3}}", "malformed");
    refused("{\"type\":\"status\",\"status\":{\"state\":1,\"step\":1,\"eval_done\":9,\"eval_total\":8}}", "malformed");
    refused("{\"type\":\"status\",\"status\":{\"state\":1,\"step\":1,\"eval_done\":-1,\"eval_total\":8}}", "malformed");
    refused("{\"type\":\"status\",\"status\":{\"state\":1,\"step\":1,\"evals_left\":-2}}", "malformed");
    refused("{\"type\":\"status\",\"status\":{\"state\":1,\"step\":1,\"evals_left\":\"3\"}}", "malformed");
    refused("{\"type\":\"status\",\"status\":{\"state\":1,\"step\":1,\"ui_fps\":\"9\"}}", "malformed");
    refused("{\"type\":\"status\",\"status\":{\"state\":1,\"step\":1,\"hp\":{\"lr\":\"x\"}}}", "malformed");
    refused("{\"type\":\"complete\",\"id\":1}", "malformed");
    refused("{\"type\":\"complete\",\"line\":\"sh\"}", "malformed");
    refused("{\"type\":\"complete\",\"id\":1,\"line\":[\"sh\"]}", "malformed");
    refused("{\"type\":\"complete\",\"id\":1,\"line\":\"s\\u0000h\"}", "malformed");
    refused("{\"type\":\"completion\",\"words\":[]}", "malformed");
    refused("{\"type\":\"completion\",\"id\":1}", "malformed");
    refused("{\"type\":\"completion\",\"id\":1,\"words\":\"show\"}", "malformed");
    refused("{\"type\":\"completion\",\"id\":1,\"words\":[\"show\",7]}", "malformed");
    refused("{\"type\":\"completion\",\"id\":1,\"words\":[\"show\",null]}", "malformed");
    refused("{\"type\":\"completion\",\"id\":1,\"words\":[[\"show\"]]}", "malformed");
    refused("{\"type\":\"completion\",\"id\":1,\"words\":[\"\"]}", "malformed");
    refused("{\"type\":\"completion\",\"id\":1,\"words\":[\"a\\u0000b\"]}", "malformed");
    refused("{\"type\":\"completion\",\"id\":1,\"words\":[],\"file\":1}", "malformed");
    {
        /* over SV_COMPLETE_WORDS candidates, and one candidate of SV_COMPLETE_WORD bytes */
        size_t cap = 16 * (SV_COMPLETE_WORDS + 1) + SV_COMPLETE_WORD + 64, n;
        char *f = malloc(cap);
        n = (size_t)snprintf(f, cap, "{\"type\":\"completion\",\"id\":1,\"words\":[");
        for (int i = 0; i <= SV_COMPLETE_WORDS; i++)
            n += (size_t)snprintf(f + n, cap - n, "%s\"w%d\"", i ? "," : "", i);
        snprintf(f + n, cap - n, "]}");
        refused(f, "malformed");
        n = (size_t)snprintf(f, cap, "{\"type\":\"completion\",\"id\":1,\"words\":[\"");
        memset(f + n, 'x', SV_COMPLETE_WORD);
        snprintf(f + n + SV_COMPLETE_WORD, cap - n - SV_COMPLETE_WORD, "\"]}");
        refused(f, "malformed");
        free(f);
    }
    char *big = malloc(SV_FRAME_MAX + 10);
    memset(big, ' ', SV_FRAME_MAX + 9);
    big[SV_FRAME_MAX + 9] = '\0';
    refused(big, "too_large");
    free(big);
}
END_TEST

START_TEST(test_lines)
{
    sv_lines l;
    sv_lines_init(&l);
    const char *line;
    size_t len;
    ck_assert_int_eq(sv_lines_feed(&l, "ab", 2), 0);
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), 0);
    ck_assert_uint_eq(sv_lines_pending(&l), 2);
    ck_assert_int_eq(sv_lines_feed(&l, "c\nde\n\nf", 7), 0);
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), 1);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(line, "abc", 3));
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), 1);
    ck_assert(len == 2 && !memcmp(line, "de", 2));
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), 1);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), 0);
    ck_assert_uint_eq(sv_lines_pending(&l), 1);
    /* an oversized line in pieces: dropped to its newline, reported once, the next line intact */
    char *chunk = malloc(65536);
    memset(chunk, 'x', 65536);
    for (int i = 0; i < 17; i++)
        ck_assert_int_eq(sv_lines_feed(&l, chunk, 65536), 0);
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), -1);
    ck_assert_int_eq(sv_lines_feed(&l, "yy\nok\n", 6), 0);
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), 1);
    ck_assert(len == 2 && !memcmp(line, "ok", 2));
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), 0);
    /* exactly at the limit (newline included) passes */
    char *lim = malloc(SV_FRAME_MAX);
    memset(lim, 'z', SV_FRAME_MAX - 1);
    lim[SV_FRAME_MAX - 1] = '\n';
    ck_assert_int_eq(sv_lines_feed(&l, lim, SV_FRAME_MAX), 0);
    ck_assert_int_eq(sv_lines_next(&l, &line, &len), 1);
    ck_assert_uint_eq(len, SV_FRAME_MAX - 1);
    free(lim);
    free(chunk);
    sv_lines_free(&l);
}
END_TEST

START_TEST(test_decimate)
{
    sm_step_record r[1000];
    for (int i = 0; i < 1000; i++)
        r[i] = mkstep(i + 1);
    ck_assert_uint_eq(sv_decimate_steps(r, 1000, 0), 1000);
    ck_assert_uint_eq(sv_decimate_steps(r, 1000, 2000), 1000);
    size_t k = sv_decimate_steps(r, 1000, 100);
    ck_assert_uint_eq(k, 100);
    ck_assert_int_eq(r[0].step, 1);
    ck_assert_int_eq(r[99].step, 1000);
    for (size_t i = 1; i < k; i++)
        ck_assert_int_gt(r[i].step, r[i - 1].step);
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trips);
    tcase_add_test(tc, test_completion);
    tcase_add_test(tc, test_await);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_lines);
    tcase_add_test(tc, test_decimate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(proto_suite());
}
