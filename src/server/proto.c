/* proto.c: the run server's wire protocol (proto.h, docs/protocol.md): messages to and from JSON
 * lines through jansson, records and session events field by field, non-finite numbers as null
 * (NaN) or "inf"/"-inf", and the line framer with its size limit. No sockets and no output here. */
#include "server/proto.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *const type_names[SV_MSG_COUNT] = {
    [SV_MSG_HELLO] = "hello",   [SV_MSG_CMD] = "cmd",     [SV_MSG_OUT] = "out",
    [SV_MSG_REPLY] = "reply",   [SV_MSG_EVENT] = "event", [SV_MSG_STATUS] = "status",
    [SV_MSG_HISTORY] = "history", [SV_MSG_ERROR] = "error", [SV_MSG_BYE] = "bye",
    [SV_MSG_DETACH] = "detach", [SV_MSG_BRANCHES] = "branches", [SV_MSG_BRANCH] = "branch",
    [SV_MSG_COMPLETE] = "complete", [SV_MSG_COMPLETION] = "completion",
    [SV_MSG_INTR] = "interrupt",
};

const char *sv_msg_type_name(sv_msg_type t)
{
    return (unsigned)t < SV_MSG_COUNT ? type_names[t] : "?";
}

void sv_msg_init(sv_msg *m, sv_msg_type t)
{
    memset(m, 0, sizeof *m);
    m->type = t;
    m->proto = SV_PROTO_VERSION;
    sm_eval_record_init(&m->ev.eval);
    sm_eval_record_init(&m->st.eval);
}

void sv_msg_free(sv_msg *m)
{
    free(m->text);
    sm_session_event_free(&m->ev);
    free(m->steps);
    free(m->evals);
    for (size_t i = 0; i < m->n_words; i++)
        free(m->words[i]);
    free(m->words);
    sv_msg_type t = m->type;
    sv_msg_init(m, t);
}

int sv_msg_add_word(sv_msg *m, const char *w)
{
    size_t len = strlen(w);
    if (len >= SV_COMPLETE_WORD || m->n_words >= SV_COMPLETE_WORDS || m->word_bytes + len > SV_COMPLETE_BYTES)
        return 0;
    if (!m->words) { /* room for every candidate at once: the array never moves */
        m->words = malloc(SV_COMPLETE_WORDS * sizeof *m->words);
        if (!m->words)
            return 0;
    }
    char *d = strdup(w);
    if (!d)
        return 0;
    m->words[m->n_words++] = d;
    m->word_bytes += len;
    return 1;
}

/* ---- numbers ---- */

static json_t *num(double v)
{
    if (isnan(v))
        return json_null();
    if (isinf(v))
        return json_string(v > 0 ? "inf" : "-inf");
    return json_real(v);
}

/* 1 when j is a number (or null/"inf"/"-inf") and *out its value. */
static int get_num(const json_t *j, double *out)
{
    if (json_is_null(j)) {
        *out = NAN;
        return 1;
    }
    if (json_is_number(j)) {
        *out = json_number_value(j);
        return 1;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        if (!strcmp(s, "inf")) {
            *out = INFINITY;
            return 1;
        }
        if (!strcmp(s, "-inf")) {
            *out = -INFINITY;
            return 1;
        }
    }
    return 0;
}

static int get_int(const json_t *j, int64_t lo, int64_t hi, int64_t *out)
{
    if (!json_is_integer(j))
        return 0;
    json_int_t v = json_integer_value(j);
    if (v < lo || v > hi)
        return 0;
    *out = (int64_t)v;
    return 1;
}

/* ---- records ---- */

typedef struct fdef {
    const char *name;
    size_t off;
    char type; /* 'd' double, 'l' int64, 'i' int */
} fdef;

#define SF(f, t) {#f, offsetof(sm_step_record, f), t}
static const fdef step_fields[] = {
    SF(step, 'l'), SF(epoch, 'i'), SF(loss, 'd'), SF(rs, 'd'), SF(breg, 'd'), SF(total, 'd'),
    SF(rs_raw, 'd'), SF(breg_raw, 'd'), SF(grad_norm, 'd'), SF(delta_norm, 'd'), SF(lr, 'd'),
    SF(beta, 'd'), SF(examples_per_s, 'd'), SF(tokens_per_s, 'd'), SF(seconds, 'd'),
    SF(batch_size, 'i'), SF(skipped, 'i'), SF(rs_skipped, 'i'),
};
#define EF(f, t) {#f, offsetof(sm_eval_record, f), t}
static const fdef eval_fields[] = {
    EF(step, 'l'), EF(epoch, 'i'), EF(n, 'i'), EF(loss, 'd'), EF(acc, 'd'), EF(f1, 'd'), EF(mcc, 'd'),
    EF(macro_f1, 'd'), EF(pearson, 'd'), EF(spearman, 'd'), EF(seconds, 'd'),
};
#define NFIELDS(a) (sizeof(a) / sizeof(a)[0])

/* A record as an array in its table's order (compact: histories hold many). */
static json_t *rec_to_json(const void *rec, const fdef *f, size_t nf)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < nf; i++) {
        const char *p = (const char *)rec + f[i].off;
        json_t *v;
        if (f[i].type == 'd') {
            double d;
            memcpy(&d, p, sizeof d);
            v = num(d);
        } else if (f[i].type == 'l') {
            int64_t x;
            memcpy(&x, p, sizeof x);
            v = json_integer((json_int_t)x);
        } else {
            int x;
            memcpy(&x, p, sizeof x);
            v = json_integer(x);
        }
        if (json_array_append_new(a, v)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int rec_from_json(const json_t *a, void *rec, const fdef *f, size_t nf)
{
    if (!json_is_array(a) || json_array_size(a) != nf)
        return 0;
    for (size_t i = 0; i < nf; i++) {
        const json_t *v = json_array_get(a, i);
        char *p = (char *)rec + f[i].off;
        if (f[i].type == 'd') {
            double d;
            if (!get_num(v, &d))
                return 0;
            memcpy(p, &d, sizeof d);
        } else {
            int64_t x;
            int64_t lo = f[i].type == 'l' ? INT64_MIN : -2147483647 - 1;
            int64_t hi = f[i].type == 'l' ? INT64_MAX : 2147483647;
            if (!get_int(v, lo, hi, &x))
                return 0;
            if (f[i].type == 'l') {
                memcpy(p, &x, sizeof x);
            } else {
                int y = (int)x;
                memcpy(p, &y, sizeof y);
            }
        }
    }
    return 1;
}

static json_t *step_json(const sm_step_record *r) { return rec_to_json(r, step_fields, NFIELDS(step_fields)); }
static json_t *eval_json(const sm_eval_record *r) { return rec_to_json(r, eval_fields, NFIELDS(eval_fields)); }
static int step_from(const json_t *j, sm_step_record *r)
{
    memset(r, 0, sizeof *r);
    return rec_from_json(j, r, step_fields, NFIELDS(step_fields));
}
static int eval_from(const json_t *j, sm_eval_record *r)
{
    sm_eval_record_init(r);
    return rec_from_json(j, r, eval_fields, NFIELDS(eval_fields));
}

/* ---- encoding ---- */

static int set(json_t *o, const char *k, json_t *v)
{
    return v && !json_object_set_new(o, k, v) ? 0 : -1;
}

static int set_str(json_t *o, const char *k, const char *s)
{
    return set(o, k, json_string(s ? s : ""));
}

static json_t *event_json(const sm_session_event *ev)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = set_str(o, "kind", sm_event_kind_name(ev->kind));
    bad |= set(o, "step", json_integer(ev->step));
    bad |= set(o, "epoch", json_integer(ev->epoch));
    if (ev->kind == SM_EVENT_REWIND)
        bad |= set(o, "from_step", json_integer(ev->from_step));
    if (ev->kind == SM_EVENT_STATE)
        bad |= set(o, "state", json_integer(ev->state));
    if (ev->kind == SM_EVENT_NOTICE || ev->kind == SM_EVENT_REPLY)
        bad |= set(o, "level", json_integer(ev->level));
    if (ev->has_rec)
        bad |= set(o, "rec", step_json(&ev->rec));
    if (ev->has_eval)
        bad |= set(o, "eval", eval_json(&ev->eval));
    if (ev->name)
        bad |= set_str(o, "name", ev->name);
    if (ev->old_value)
        bad |= set_str(o, "old", ev->old_value);
    if (ev->new_value)
        bad |= set_str(o, "new", ev->new_value);
    if (ev->msg)
        bad |= set_str(o, "msg", ev->msg);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *status_json(const sv_status *s)
{
    json_t *o = json_object(), *hp = json_object(), *at = json_object();
    int bad = !o || !hp || !at;
    if (!bad) {
        bad |= set(o, "state", json_integer(s->state));
        bad |= set(o, "step", json_integer(s->step));
        bad |= set(o, "planned", json_integer(s->planned));
        bad |= set(o, "unsaved", json_integer(s->unsaved));
        bad |= set(o, "epoch", json_integer(s->epoch));
        bad |= set(o, "clients", json_integer(s->clients));
        if (s->ui_fps)
            bad |= set(o, "ui_fps", json_integer(s->ui_fps));
        bad |= set(o, "total_steps", json_integer(s->total_steps));
        if (s->has_step)
            bad |= set(o, "last", step_json(&s->last));
        if (s->has_eval)
            bad |= set(o, "eval", eval_json(&s->eval));
        bad |= set_str(o, "model", s->model);
        bad |= set_str(o, "data", s->data);
        if (s->branch[0])
            bad |= set_str(o, "branch", s->branch);
        if (s->explore_total) {
            bad |= set(o, "explore_variant", json_integer(s->explore_variant));
            bad |= set(o, "explore_total", json_integer(s->explore_total));
        }
        if (s->eval_total) {
            bad |= set(o, "eval_done", json_integer(s->eval_done));
            bad |= set(o, "eval_total", json_integer(s->eval_total));
        }
        if (s->evals_left)
            bad |= set(o, "evals_left", json_integer(s->evals_left));
        for (int id = 0; id < SM_HP_COUNT && !bad; id++) {
            const char *name = sm_hparam_def_at(id)->name;
            bad |= set(hp, name, num(s->hp[id]));
            if (s->hp_changed_at[id] >= 0)
                bad |= set(at, name, json_integer(s->hp_changed_at[id]));
        }
    }
    if (!bad) {
        bad |= set(o, "hp", hp);
        hp = NULL;
        bad |= set(o, "hp_changed_at", at);
        at = NULL;
    }
    json_decref(hp);
    json_decref(at);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *sv_encode(const sv_msg *m, size_t *len)
{
    json_t *o = json_object();
    if (!o || (unsigned)m->type >= SV_MSG_COUNT) {
        json_decref(o);
        return NULL;
    }
    int bad = set_str(o, "type", type_names[m->type]);
    switch (m->type) {
    case SV_MSG_HELLO:
        bad |= set(o, "proto", json_integer(m->proto));
        bad |= set_str(o, "who", m->who);
        if (m->role[0]) {
            bad |= set_str(o, "role", m->role);
            bad |= set(o, "history", json_integer(m->history));
            if (m->confirm)
                bad |= set(o, "confirm", json_true());
        } else {
            bad |= set(o, "pid", json_integer(m->pid));
            bad |= set(o, "started", json_integer(m->started));
        }
        break;
    case SV_MSG_CMD:
        bad |= set(o, "id", json_integer(m->id));
        bad |= set_str(o, "line", m->text);
        break;
    case SV_MSG_OUT:
        bad |= set(o, "id", json_integer(m->id));
        bad |= set(o, "kind", json_integer(m->kind));
        bad |= set_str(o, "text", m->text);
        break;
    case SV_MSG_REPLY:
        bad |= set(o, "id", json_integer(m->id));
        bad |= set(o, "status", json_integer(m->status));
        if (m->ask[0])
            bad |= set_str(o, "ask", m->ask);
        break;
    case SV_MSG_EVENT:
        bad |= set(o, "event", event_json(&m->ev));
        if (m->by[0])
            bad |= set_str(o, "by", m->by);
        break;
    case SV_MSG_STATUS:
        bad |= set(o, "status", status_json(&m->st));
        break;
    case SV_MSG_HISTORY: {
        json_t *s = json_array(), *ev = json_array();
        bad |= !s || !ev;
        for (size_t i = 0; !bad && i < m->n_steps; i++)
            bad |= json_array_append_new(s, step_json(&m->steps[i]));
        for (size_t i = 0; !bad && i < m->n_evals; i++)
            bad |= json_array_append_new(ev, eval_json(&m->evals[i]));
        bad |= set(o, "steps", s);
        bad |= set(o, "evals", ev);
        bad |= set(o, "total", json_integer(m->total));
        bad |= set(o, "first", json_boolean(m->first));
        bad |= set(o, "last", json_boolean(m->last));
        break;
    }
    case SV_MSG_BRANCH: {
        bad |= set(o, "index", json_integer(m->index));
        bad |= set(o, "count", json_integer(m->count));
        if (m->count > 0) {
            json_t *s = json_array(), *ev = json_array();
            bad |= !s || !ev;
            for (size_t i = 0; !bad && i < m->n_steps; i++)
                bad |= json_array_append_new(s, step_json(&m->steps[i]));
            for (size_t i = 0; !bad && i < m->n_evals; i++)
                bad |= json_array_append_new(ev, eval_json(&m->evals[i]));
            bad |= set_str(o, "name", m->name);
            bad |= set_str(o, "knobs", m->knobs);
            bad |= set(o, "fork_step", json_integer(m->fork_step));
            bad |= set(o, "active", json_boolean(m->active));
            bad |= set(o, "steps", s);
            bad |= set(o, "evals", ev);
        }
        break;
    }
    case SV_MSG_COMPLETE:
        bad |= set(o, "id", json_integer(m->id));
        bad |= set_str(o, "line", m->text);
        break;
    case SV_MSG_COMPLETION: {
        json_t *w = json_array();
        bad |= !w;
        for (size_t i = 0; !bad && i < m->n_words; i++)
            bad |= json_array_append_new(w, json_string(m->words[i]));
        bad |= set(o, "id", json_integer(m->id));
        bad |= set(o, "words", w);
        bad |= set(o, "file", json_boolean(m->file));
        break;
    }
    case SV_MSG_ERROR:
        bad |= set_str(o, "code", m->code);
        bad |= set_str(o, "msg", m->text);
        break;
    case SV_MSG_BYE:
        bad |= set_str(o, "msg", m->text);
        break;
    case SV_MSG_DETACH:
    case SV_MSG_BRANCHES:
    case SV_MSG_INTR:
    case SV_MSG_COUNT: break;
    }
    char *txt = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!txt)
        return NULL;
    size_t n = strlen(txt);
    if (n + 1 > SV_FRAME_MAX) {
        free(txt);
        return NULL;
    }
    char *line = realloc(txt, n + 2);
    if (!line) {
        free(txt);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    if (len)
        *len = n + 1;
    return line;
}

/* ---- decoding ---- */

typedef struct dctx {
    char *code;
    sm_error *e;
} dctx;

static sm_status fail(dctx *d, const char *code, const char *fmt, ...) SM_PRINTF(3, 4);
static sm_status fail(dctx *d, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(d->code, 32, "%s", code);
    return sm_err(d->e, code[0] == 'v' ? SM_ERR_UNSUPPORTED : SM_ERR_FORMAT, "%s", msg);
}

/* A string member into buf (cap bytes, whole or refused); absent: "" when optional. */
static int str_into(const json_t *o, const char *k, char *buf, size_t cap, int optional)
{
    const json_t *v = json_object_get(o, k);
    if (!v) {
        buf[0] = '\0';
        return optional;
    }
    if (!json_is_string(v) || json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
        return 0;
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return 1;
}

/* A string member as an owned copy (NUL inside refused). */
static int str_dup(const json_t *o, const char *k, char **out, int optional)
{
    const json_t *v = json_object_get(o, k);
    *out = NULL;
    if (!v)
        return optional;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return 0;
    *out = strdup(json_string_value(v));
    return *out != NULL;
}

static int int_of(const json_t *o, const char *k, int64_t lo, int64_t hi, int64_t *out, int optional)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return optional;
    return get_int(v, lo, hi, out);
}

static int kind_lookup(const char *name)
{
    for (int k = 0; k < SM_EVENT_KIND_COUNT; k++)
        if (!strcmp(sm_event_kind_name((sm_event_kind)k), name))
            return k;
    return -1;
}

static sm_status event_from(dctx *d, const json_t *o, sm_session_event *ev)
{
    if (!json_is_object(o))
        return fail(d, "malformed", "event: %s is not an object", "the event");
    char kind[32];
    if (!str_into(o, "kind", kind, sizeof kind, 0) || kind_lookup(kind) < 0)
        return fail(d, "malformed", "event: %s is missing or unknown", "kind");
    sm_session_event tmp;
    memset(&tmp, 0, sizeof tmp);
    sm_eval_record_init(&tmp.eval);
    tmp.kind = (sm_event_kind)kind_lookup(kind);
    int64_t x = 0;
    if (!int_of(o, "step", INT64_MIN, INT64_MAX, &tmp.step, 0))
        return fail(d, "malformed", "event: %s is missing or not an integer", "step");
    if (!int_of(o, "from_step", INT64_MIN, INT64_MAX, &tmp.from_step, 1))
        return fail(d, "malformed", "event: %s is not an integer", "from_step");
    x = 0;
    if (!int_of(o, "epoch", 0, 1 << 30, &x, 1))
        return fail(d, "malformed", "event: %s is not an integer", "epoch");
    tmp.epoch = (int)x;
    x = 0;
    if (!int_of(o, "state", 0, 64, &x, 1))
        return fail(d, "malformed", "event: %s is not a small integer", "state");
    tmp.state = (int)x;
    x = 0;
    if (!int_of(o, "level", 0, 64, &x, 1))
        return fail(d, "malformed", "event: %s is not a small integer", "level");
    tmp.level = (int)x;
    const json_t *r = json_object_get(o, "rec");
    if (r) {
        if (!step_from(r, &tmp.rec))
            return fail(d, "malformed", "event: %s is not a step record", "rec");
        tmp.has_rec = 1;
    }
    r = json_object_get(o, "eval");
    if (r) {
        if (!eval_from(r, &tmp.eval))
            return fail(d, "malformed", "event: %s is not an evaluation record", "eval");
        tmp.has_eval = 1;
    }
    char *name = NULL, *old = NULL, *nw = NULL, *msg = NULL;
    int ok = str_dup(o, "name", &name, 1) && str_dup(o, "old", &old, 1) && str_dup(o, "new", &nw, 1) &&
             str_dup(o, "msg", &msg, 1);
    if (!ok) {
        free(name);
        free(old);
        free(nw);
        free(msg);
        return fail(d, "malformed", "event: %s must be strings", "name, old, new and msg");
    }
    tmp.name = name;
    tmp.old_value = old;
    tmp.new_value = nw;
    tmp.msg = msg;
    *ev = tmp;
    return SM_OK;
}

static sm_status status_from(dctx *d, const json_t *o, sv_status *s)
{
    if (!json_is_object(o))
        return fail(d, "malformed", "status: %s is not an object", "the status");
    int64_t x;
    memset(s, 0, sizeof *s);
    sm_eval_record_init(&s->eval);
    if (!int_of(o, "state", 0, 64, &x, 0))
        return fail(d, "malformed", "status: %s is missing or not a small integer", "state");
    s->state = (int)x;
    if (!int_of(o, "step", INT64_MIN, INT64_MAX, &s->step, 0) ||
        !int_of(o, "planned", INT64_MIN, INT64_MAX, &s->planned, 1) ||
        !int_of(o, "unsaved", INT64_MIN, INT64_MAX, &s->unsaved, 1) ||
        !int_of(o, "total_steps", INT64_MIN, INT64_MAX, &s->total_steps, 1))
        return fail(d, "malformed", "status: %s must be integers", "step, planned, unsaved and total_steps");
    x = 0;
    if (!int_of(o, "epoch", 0, 1 << 30, &x, 1))
        return fail(d, "malformed", "status: %s is not an integer", "epoch");
    s->epoch = (int)x;
    x = 0;
    if (!int_of(o, "clients", 0, 1 << 30, &x, 1))
        return fail(d, "malformed", "status: %s is not an integer", "clients");
    s->clients = (int)x;
    x = 0;
    if (!int_of(o, "ui_fps", 0, 1000, &x, 1))
        return fail(d, "malformed", "status: %s is not an integer from 0 to 1000", "ui_fps");
    s->ui_fps = (int)x;
    const json_t *r = json_object_get(o, "last");
    if (r) {
        if (!step_from(r, &s->last))
            return fail(d, "malformed", "status: %s is not a step record", "last");
        s->has_step = 1;
    }
    r = json_object_get(o, "eval");
    if (r) {
        if (!eval_from(r, &s->eval))
            return fail(d, "malformed", "status: %s is not an evaluation record", "eval");
        s->has_eval = 1;
    }
    if (!str_into(o, "model", s->model, sizeof s->model, 1) || !str_into(o, "data", s->data, sizeof s->data, 1))
        return fail(d, "malformed", "status: %s must be strings under 4096 bytes", "model and data");
    if (!str_into(o, "branch", s->branch, sizeof s->branch, 1))
        return fail(d, "malformed", "status: %s must be a string under 64 bytes", "branch");
    x = 0;
    if (!int_of(o, "explore_variant", 0, 1 << 20, &x, 1))
        return fail(d, "malformed", "status: %s is not a small integer", "explore_variant");
    s->explore_variant = (int)x;
    x = 0;
    if (!int_of(o, "explore_total", 0, 1 << 20, &x, 1))
        return fail(d, "malformed", "status: %s is not a small integer", "explore_total");
    s->explore_total = (int)x;
    s->eval_done = s->eval_total = 0;
    if (!int_of(o, "eval_total", 0, INT64_MAX, &s->eval_total, 1) ||
        !int_of(o, "eval_done", 0, s->eval_total, &s->eval_done, 1))
        return fail(d, "malformed", "status: %s", "eval_done and eval_total must be integers, 0 <= eval_done <= eval_total");
    s->evals_left = 0;
    if (!int_of(o, "evals_left", 0, INT64_MAX, &s->evals_left, 1))
        return fail(d, "malformed", "status: %s is not a non-negative integer", "evals_left");
    sm_hparams def;
    sm_hparams_default(&def);
    const json_t *hp = json_object_get(o, "hp"), *at = json_object_get(o, "hp_changed_at");
    if ((hp && !json_is_object(hp)) || (at && !json_is_object(at)))
        return fail(d, "malformed", "status: %s must be objects", "hp and hp_changed_at");
    for (int id = 0; id < SM_HP_COUNT; id++) {
        const char *name = sm_hparam_def_at(id)->name;
        const json_t *v = hp ? json_object_get(hp, name) : NULL;
        s->hp[id] = def.v[id];
        s->hp_changed_at[id] = -1;
        if (v && !get_num(v, &s->hp[id]))
            return fail(d, "malformed", "status: hyperparameter %s is not a number", name);
        v = at ? json_object_get(at, name) : NULL;
        if (v && !get_int(v, INT64_MIN, INT64_MAX, &s->hp_changed_at[id]))
            return fail(d, "malformed", "status: hp_changed_at.%s is not an integer", name);
    }
    return SM_OK;
}

static sm_status records_from(dctx *d, const json_t *o, sv_msg *m)
{
    const json_t *s = json_object_get(o, "steps"), *ev = json_object_get(o, "evals");
    if (!json_is_array(s) || !json_is_array(ev))
        return fail(d, "malformed", "%s: %s must be arrays", type_names[m->type], "steps and evals");
    size_t ns = json_array_size(s), ne = json_array_size(ev);
    m->steps = ns ? malloc(ns * sizeof *m->steps) : NULL;
    m->evals = ne ? malloc(ne * sizeof *m->evals) : NULL;
    if ((ns && !m->steps) || (ne && !m->evals))
        return fail(d, "malformed", "%s: %s", type_names[m->type], "out of memory");
    for (size_t i = 0; i < ns; i++)
        if (!step_from(json_array_get(s, i), &m->steps[i]))
            return fail(d, "malformed", "%s: %s holds a bad step record", type_names[m->type], "steps");
    for (size_t i = 0; i < ne; i++)
        if (!eval_from(json_array_get(ev, i), &m->evals[i]))
            return fail(d, "malformed", "%s: %s holds a bad evaluation record", type_names[m->type], "evals");
    m->n_steps = ns;
    m->n_evals = ne;
    return SM_OK;
}

static sm_status branch_from(dctx *d, const json_t *o, sv_msg *m)
{
    if (!int_of(o, "index", 0, 1 << 20, &m->index, 0) || !int_of(o, "count", 0, 1 << 20, &m->count, 0))
        return fail(d, "malformed", "branch: %s must be integers", "index and count");
    if (m->count == 0)
        return SM_OK;
    if (m->index >= m->count)
        return fail(d, "malformed", "branch: %s", "index is not below count");
    if (!str_into(o, "name", m->name, sizeof m->name, 0) || !str_into(o, "knobs", m->knobs, sizeof m->knobs, 1))
        return fail(d, "malformed", "branch: %s", "name (under 64 bytes) and knobs (under 128) must be strings");
    if (!int_of(o, "fork_step", INT64_MIN, INT64_MAX, &m->fork_step, 1))
        return fail(d, "malformed", "branch: %s is not an integer", "fork_step");
    const json_t *a = json_object_get(o, "active");
    if (a && !json_is_boolean(a))
        return fail(d, "malformed", "branch: %s must be a boolean", "active");
    m->active = a ? json_is_true(a) : 0;
    return records_from(d, o, m);
}

static sm_status history_from(dctx *d, const json_t *o, sv_msg *m)
{
    sm_status st = records_from(d, o, m);
    if (st != SM_OK)
        return st;
    if (!int_of(o, "total", 0, INT64_MAX, &m->total, 1))
        return fail(d, "malformed", "history: %s is not an integer", "total");
    const json_t *l = json_object_get(o, "last"), *f = json_object_get(o, "first");
    if ((l && !json_is_boolean(l)) || (f && !json_is_boolean(f)))
        return fail(d, "malformed", "history: %s must be booleans", "first and last");
    m->last = l ? json_is_true(l) : 0;
    m->first = f ? json_is_true(f) : 0;
    return SM_OK;
}

static sm_status completion_from(dctx *d, const json_t *o, sv_msg *m)
{
    if (!int_of(o, "id", INT64_MIN, INT64_MAX, &m->id, 0))
        return fail(d, "malformed", "completion: %s is missing or not an integer", "id");
    const json_t *w = json_object_get(o, "words"), *f = json_object_get(o, "file");
    if (!json_is_array(w))
        return fail(d, "malformed", "completion: %s is missing or not an array", "words");
    if (f && !json_is_boolean(f))
        return fail(d, "malformed", "completion: %s must be a boolean", "file");
    m->file = f ? json_is_true(f) : 0;
    size_t n = json_array_size(w);
    if (n > SV_COMPLETE_WORDS)
        return fail(d, "malformed", "completion: %zu words, over the limit of %d", n, SV_COMPLETE_WORDS);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(w, i);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return fail(d, "malformed", "completion: words[%zu] is not a string (without NUL)", i);
        if (!json_string_length(v) || json_string_length(v) >= SV_COMPLETE_WORD)
            return fail(d, "malformed", "completion: words[%zu] is empty or over %d bytes", i, SV_COMPLETE_WORD - 1);
        if (!sv_msg_add_word(m, json_string_value(v)))
            return fail(d, "malformed", "completion: the words are over %d bytes together (or out of memory)",
                        SV_COMPLETE_BYTES);
    }
    return SM_OK;
}

static sm_status decode_obj(dctx *d, const json_t *o, sv_msg *m)
{
    char type[32];
    if (!str_into(o, "type", type, sizeof type, 0))
        return fail(d, "malformed", "the frame has no %s (a string)", "\"type\"");
    int t = -1;
    for (int i = 0; i < SV_MSG_COUNT; i++)
        if (!strcmp(type, type_names[i]))
            t = i;
    if (t < 0)
        return fail(d, "unknown_type", "unknown frame type '%s'", type);
    sv_msg_init(m, (sv_msg_type)t);
    int64_t x = 0;
    switch (m->type) {
    case SV_MSG_HELLO:
        if (!int_of(o, "proto", 0, 1 << 30, &x, 0))
            return fail(d, "malformed", "hello: %s is missing or not an integer", "proto");
        m->proto = (int)x;
        if (m->proto != SV_PROTO_VERSION) {
            snprintf(d->code, 32, "version");
            return sm_err(d->e, SM_ERR_UNSUPPORTED, "hello: protocol version %d, this smartty speaks %d: use the "
                          "same smartty on both ends", m->proto, SV_PROTO_VERSION);
        }
        if (!str_into(o, "who", m->who, sizeof m->who, 1) || !str_into(o, "role", m->role, sizeof m->role, 1))
            return fail(d, "malformed", "hello: %s must be short strings", "who and role");
        if (!int_of(o, "pid", 0, INT64_MAX, &m->pid, 1) || !int_of(o, "started", INT64_MIN, INT64_MAX, &m->started, 1) ||
            !int_of(o, "history", 0, INT64_MAX, &m->history, 1))
            return fail(d, "malformed", "hello: %s must be integers", "pid, started and history");
        {
            const json_t *cf = json_object_get(o, "confirm");
            if (cf && !json_is_boolean(cf))
                return fail(d, "malformed", "hello: %s must be a boolean", "confirm");
            m->confirm = cf ? json_is_true(cf) : 0;
        }
        break;
    case SV_MSG_CMD:
    case SV_MSG_COMPLETE: /* a command line, or one up to the cursor */
        if (!int_of(o, "id", INT64_MIN, INT64_MAX, &m->id, 0))
            return fail(d, "malformed", "%s: %s is missing or not an integer", type_names[m->type], "id");
        if (!str_dup(o, "line", &m->text, 0))
            return fail(d, "malformed", "%s: %s is missing or not a string (without NUL)", type_names[m->type],
                        "line");
        break;
    case SV_MSG_OUT:
        if (!int_of(o, "id", INT64_MIN, INT64_MAX, &m->id, 0) || !int_of(o, "kind", 0, 64, &x, 0))
            return fail(d, "malformed", "out: %s must be integers", "id and kind");
        m->kind = (int)x;
        if (!str_dup(o, "text", &m->text, 0))
            return fail(d, "malformed", "out: %s is missing or not a string", "text");
        break;
    case SV_MSG_REPLY:
        if (!int_of(o, "id", INT64_MIN, INT64_MAX, &m->id, 0) || !int_of(o, "status", 0, 255, &x, 0))
            return fail(d, "malformed", "reply: %s must be integers", "id and status");
        m->status = (int)x;
        if (!str_into(o, "ask", m->ask, sizeof m->ask, 1))
            return fail(d, "malformed", "reply: %s must be a string under 128 bytes", "ask");
        break;
    case SV_MSG_EVENT: {
        sm_status st = event_from(d, json_object_get(o, "event"), &m->ev);
        if (st != SM_OK)
            return st;
        if (!str_into(o, "by", m->by, sizeof m->by, 1))
            return fail(d, "malformed", "event: %s must be a short string", "by");
        break;
    }
    case SV_MSG_STATUS: return status_from(d, json_object_get(o, "status"), &m->st);
    case SV_MSG_HISTORY: return history_from(d, o, m);
    case SV_MSG_BRANCH: return branch_from(d, o, m);
    case SV_MSG_COMPLETION: return completion_from(d, o, m);
    case SV_MSG_ERROR:
        if (!str_into(o, "code", m->code, sizeof m->code, 1) || !str_dup(o, "msg", &m->text, 1))
            return fail(d, "malformed", "error: %s must be strings", "code and msg");
        break;
    case SV_MSG_BYE:
        if (!str_dup(o, "msg", &m->text, 1))
            return fail(d, "malformed", "bye: %s must be a string", "msg");
        break;
    case SV_MSG_DETACH:
    case SV_MSG_BRANCHES:
    case SV_MSG_INTR:
    case SV_MSG_COUNT: break;
    }
    return SM_OK;
}

sm_status sv_decode(const char *buf, size_t len, sv_msg *m, char *code, sm_error *e)
{
    dctx d = {code, e};
    code[0] = '\0';
    sv_msg_init(m, SV_MSG_HELLO);
    if (len && buf[len - 1] == '\n')
        len--;
    if (len + 1 > SV_FRAME_MAX)
        return fail(&d, "too_large", "the frame is over the limit of %s bytes", "1048576");
    json_error_t je;
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(code, 32, "malformed");
        return sm_err(e, SM_ERR_FORMAT, "the frame is not JSON: %s at column %d", je.text, je.column);
    }
    sm_status st;
    if (!json_is_object(o))
        st = fail(&d, "malformed", "the frame is not %s", "a JSON object");
    else
        st = decode_obj(&d, o, m);
    json_decref(o);
    if (st != SM_OK)
        sv_msg_free(m);
    return st;
}

/* ---- framing ---- */

void sv_lines_init(sv_lines *l) { memset(l, 0, sizeof *l); }

void sv_lines_free(sv_lines *l)
{
    free(l->buf);
    sv_lines_init(l);
}

int sv_lines_feed(sv_lines *l, const char *data, size_t n)
{
    if (l->start) { /* drop the lines already taken */
        memmove(l->buf, l->buf + l->start, l->n - l->start);
        l->n -= l->start;
        l->line_end -= l->start;
        l->start = 0;
    }
    while (n) {
        const char *nl = memchr(data, '\n', n);
        size_t seg = nl ? (size_t)(nl - data) + 1 : n;
        if (l->skipping) { /* the rest of an oversized line */
            if (nl)
                l->skipping = 0;
        } else if (l->n - l->line_end + seg > SV_FRAME_MAX) { /* this line goes over the limit */
            l->n = l->line_end;
            l->overflowed++;
            if (!nl)
                l->skipping = 1;
        } else {
            if (l->n + seg > l->cap) {
                size_t cap = l->cap ? l->cap : 4096;
                while (cap < l->n + seg)
                    cap *= 2;
                char *p = realloc(l->buf, cap);
                if (!p)
                    return -1;
                l->buf = p;
                l->cap = cap;
            }
            memcpy(l->buf + l->n, data, seg);
            l->n += seg;
            if (nl)
                l->line_end = l->n;
        }
        data += seg;
        n -= seg;
    }
    return 0;
}

int sv_lines_next(sv_lines *l, const char **line, size_t *len)
{
    if (l->overflowed) {
        l->overflowed--;
        return -1;
    }
    if (l->start >= l->line_end)
        return 0;
    char *p = memchr(l->buf + l->start, '\n', l->line_end - l->start);
    *line = l->buf + l->start;
    *len = (size_t)(p - (l->buf + l->start));
    *p = '\0';
    l->start = (size_t)(p + 1 - l->buf);
    return 1;
}

size_t sv_lines_pending(const sv_lines *l) { return l->n - l->line_end + (l->skipping ? 1 : 0); }

size_t sv_decimate_steps(sm_step_record *r, size_t n, size_t max)
{
    if (!max || n <= max)
        return n;
    /* keep positions floor(i * (n - 1) / (max - 1)), i in [0, max): the first and the last */
    if (max == 1) {
        r[0] = r[n - 1];
        return 1;
    }
    for (size_t i = 0; i < max; i++) {
        size_t j = (size_t)((unsigned long long)i * (n - 1) / (max - 1));
        r[i] = r[j];
    }
    return max;
}
