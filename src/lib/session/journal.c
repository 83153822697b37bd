/* journal.c: the session journal's events and their JSON-lines text (jansson). It stores and
 * (de)serialises events; it does not interpret them: sm_session_apply_event does. */
#include "smartty/journal.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

void sm_journal_init(sm_journal *j) { memset(j, 0, sizeof *j); }

static void event_free(sm_journal_event *ev)
{
    for (int i = 0; i < ev->argc; i++)
        free(ev->argv[i]);
    free(ev->argv);
    ev->argv = NULL;
    ev->argc = 0;
}

void sm_journal_clear(sm_journal *j)
{
    for (size_t i = 0; i < j->n; i++)
        event_free(&j->ev[i]);
    j->n = 0;
}

void sm_journal_free(sm_journal *j)
{
    sm_journal_clear(j);
    free(j->ev);
    sm_journal_init(j);
}

static int op_valid(const char *op)
{
    size_t n = strlen(op);
    if (n == 0 || n >= sizeof ((sm_journal_event *)0)->op)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)op[i]) || isdigit((unsigned char)op[i]) || op[i] == '_'))
            return 0;
    return 1;
}

static double now_unix(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec * 1e-6;
}

sm_status sm_journal_add(sm_journal *j, int64_t step, double time, const char *op, int argc,
                         const char *const *argv, sm_error *e)
{
    if (!op || !op_valid(op))
        return sm_err(e, SM_ERR_INVALID,
                      "journal: bad event name '%s' (lowercase letters, digits and '_', at most 31)",
                      op ? op : "(null)");
    if (argc < 0 || (argc > 0 && !argv))
        return sm_err(e, SM_ERR_INVALID, "journal: event '%s' has a bad argument list", op);
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 16;
        sm_journal_event *ev = realloc(j->ev, cap * sizeof *ev);
        if (!ev)
            return sm_err(e, SM_ERR_NOMEM, "journal: out of memory for %zu events", cap);
        j->ev = ev;
        j->cap = cap;
    }
    sm_journal_event *ev = &j->ev[j->n];
    memset(ev, 0, sizeof *ev);
    ev->step = step;
    ev->time = time != 0 ? time : now_unix();
    snprintf(ev->op, sizeof ev->op, "%s", op);
    if (argc > 0) {
        ev->argv = calloc((size_t)argc, sizeof *ev->argv);
        if (!ev->argv)
            return sm_err(e, SM_ERR_NOMEM, "journal: out of memory");
        for (int i = 0; i < argc; i++) {
            ev->argv[i] = sm_strdup(argv[i] ? argv[i] : "");
            if (!ev->argv[i]) {
                ev->argc = i;
                event_free(ev);
                return sm_err(e, SM_ERR_NOMEM, "journal: out of memory");
            }
        }
        ev->argc = argc;
    }
    j->n++;
    return SM_OK;
}

sm_status sm_journal_add_event(sm_journal *j, const sm_journal_event *ev, sm_error *e)
{
    return sm_journal_add(j, ev->step, ev->time, ev->op, ev->argc, (const char *const *)ev->argv, e);
}

sm_status sm_journal_copy(sm_journal *dst, const sm_journal *src, sm_error *e)
{
    sm_journal_init(dst);
    for (size_t i = 0; i < src->n; i++) {
        sm_status st = sm_journal_add_event(dst, &src->ev[i], e);
        if (st != SM_OK) {
            sm_journal_free(dst);
            return st;
        }
    }
    return SM_OK;
}

static json_t *event_to_json(const sm_journal_event *ev)
{
    json_t *o = json_object(), *a = json_array();
    if (!o || !a) {
        json_decref(o);
        json_decref(a);
        return NULL;
    }
    for (int i = 0; i < ev->argc; i++)
        json_array_append_new(a, json_string(ev->argv[i]));
    json_object_set_new(o, "step", json_integer((json_int_t)ev->step));
    json_object_set_new(o, "op", json_string(ev->op));
    json_object_set_new(o, "args", a);
    json_object_set_new(o, "time", json_real(ev->time));
    return o;
}

char *sm_journal_to_text(const sm_journal *j)
{
    size_t cap = 256, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < j->n; i++) {
        json_t *o = event_to_json(&j->ev[i]);
        char *line = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        json_decref(o);
        if (!line) {
            free(out);
            return NULL;
        }
        size_t len = strlen(line);
        if (n + len + 2 > cap) {
            while (n + len + 2 > cap)
                cap *= 2;
            char *p = realloc(out, cap);
            if (!p) {
                free(line);
                free(out);
                return NULL;
            }
            out = p;
        }
        memcpy(out + n, line, len);
        n += len;
        out[n++] = '\n';
        out[n] = '\0';
        free(line);
    }
    return out;
}

/* line is the text of line lineno from column col0 + 1 on (after its leading blanks). */
static sm_status parse_line(sm_journal *j, const char *line, size_t len, size_t col0, const char *source,
                            size_t lineno, sm_error *e)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, 0, &je);
    if (!o)
        return sm_err(e, SM_ERR_FORMAT, "%s:%zu:%zu: not a JSON object: %s", source, lineno,
                      col0 + (je.column > 0 ? (size_t)je.column : 1), je.text);
    sm_status st = SM_OK;
    json_t *step = json_object_get(o, "step"), *op = json_object_get(o, "op");
    json_t *args = json_object_get(o, "args"), *tm = json_object_get(o, "time");
    const char **argv = NULL;
    int argc = 0;
    if (!json_is_object(o)) {
        st = sm_err(e, SM_ERR_FORMAT, "%s:%zu:1: an event must be a JSON object", source, lineno);
    } else if (!json_is_integer(step) || json_integer_value(step) < 0) {
        st = sm_err(e, SM_ERR_FORMAT, "%s:%zu:1: \"step\" must be a non-negative integer", source,
                    lineno);
    } else if (!json_is_string(op) || !op_valid(json_string_value(op))) {
        st = sm_err(e, SM_ERR_FORMAT,
                    "%s:%zu:1: \"op\" must be a lowercase word (letters, digits, '_')", source, lineno);
    } else if (args && !json_is_array(args)) {
        st = sm_err(e, SM_ERR_FORMAT, "%s:%zu:1: \"args\" must be an array of strings", source,
                    lineno);
    } else if (tm && !json_is_number(tm)) {
        st = sm_err(e, SM_ERR_FORMAT, "%s:%zu:1: \"time\" must be a number", source, lineno);
    } else {
        argc = args ? (int)json_array_size(args) : 0;
        if (argc > 0 && !(argv = calloc((size_t)argc, sizeof *argv)))
            st = sm_err(e, SM_ERR_NOMEM, "journal: out of memory");
        for (int i = 0; st == SM_OK && i < argc; i++) {
            json_t *s = json_array_get(args, (size_t)i);
            if (!json_is_string(s))
                st = sm_err(e, SM_ERR_FORMAT, "%s:%zu:1: argument %d of \"args\" is not a string",
                            source, lineno, i + 1);
            else
                argv[i] = json_string_value(s);
        }
        if (st == SM_OK)
            st = sm_journal_add(j, (int64_t)json_integer_value(step), tm ? json_number_value(tm) : 0,
                                json_string_value(op), argc, argv, e);
    }
    free(argv);
    json_decref(o);
    return st;
}

sm_status sm_journal_parse(sm_journal *j, const char *text, size_t len, const char *source,
                           sm_error *e)
{
    if (!source)
        source = "journal";
    size_t lineno = 0, i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        size_t a = i, b = end;
        while (a < b && isspace((unsigned char)text[a]))
            a++;
        while (b > a && isspace((unsigned char)text[b - 1]))
            b--;
        if (b > a && text[a] != '#') {
            sm_status st = parse_line(j, text + a, b - a, a - i, source, lineno, e);
            if (st != SM_OK)
                return st;
        }
        i = end + 1;
    }
    return SM_OK;
}

sm_status sm_journal_load(sm_journal *j, const char *path, sm_error *e)
{
    char *text;
    size_t len;
    sm_status st = sm_read_file(path, &text, &len, 0, e);
    if (st != SM_OK)
        return st;
    st = sm_journal_parse(j, text, len, path, e);
    free(text);
    return st;
}

sm_status sm_journal_save(const sm_journal *j, const char *path, sm_error *e)
{
    char *text = sm_journal_to_text(j);
    if (!text)
        return sm_err(e, SM_ERR_NOMEM, "%s: out of memory serialising the journal", path);
    sm_status st = sm_write_file_atomic(path, text, strlen(text), e);
    free(text);
    return st;
}

sm_status sm_journal_event_append(const sm_journal_event *ev, sm_str *out, sm_error *e)
{
    sm_str_appendf(out, "step %lld: %s", (long long)ev->step, ev->op);
    for (int i = 0; i < ev->argc; i++) {
        const char *a = ev->argv[i];
        int quote = *a == '\0' || strpbrk(a, " \t\"") != NULL;
        sm_str_appendf(out, quote ? " \"%s\"" : " %s", a);
    }
    return sm_str_status(out, e, "a journal line");
}

size_t sm_journal_event_format(const sm_journal_event *ev, char *buf, size_t cap)
{
    sm_str s = SM_STR_INIT;
    size_t n = sm_journal_event_append(ev, &s, NULL) == SM_OK ? s.len : 0;
    if (cap)
        snprintf(buf, cap, "%s", n ? s.p : "");
    sm_str_free(&s);
    return n;
}
