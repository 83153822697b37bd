/* core.c: the console context, its one output path, the dispatcher (tokenize, look up, check the
 * arguments, run the handler), running files, waiting for a run and the rate-limited progress
 * lines. It reads no terminal and knows no display: repl.c and the dashboard host it. */
#include "console/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "console/events.h"
#include "console/parse.h"
#include "smartty/str.h"

const char *con_run_state_name(con_run_state s)
{
    static const char *const names[] = {"no model", "idle", "running", "paused", "at a breakpoint",
                                        "stepping", "done"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

void con_init(con_ctx *c, con_out_fn out, void *ud)
{
    memset(c, 0, sizeof *c);
    c->out = out;
    c->out_ud = ud;
    con_settings_default(&c->set);
    con_breaks_init(&c->breaks);
    sm_hparams_default(&c->hp);
    for (int i = 0; i < SM_HP_COUNT; i++)
        c->hp_changed_at[i] = -1;
    c->last_progress_step = -1;
    c->last_progress = -1e300; /* the first progress line is always due */
}

void con_free(con_ctx *c) { con_breaks_destroy(&c->breaks); }

void con_set_backend(con_ctx *c, const con_backend *be, void *ud)
{
    c->be = be;
    c->be_ud = ud;
}

void con_set_host(con_ctx *c, const con_host *host, void *ud)
{
    c->host = host;
    c->host_ud = ud;
}

static void emit(con_ctx *c, con_out_kind kind, const char *prefix, const char *fmt, va_list ap)
    SM_PRINTF(4, 0);
static void emit(con_ctx *c, con_out_kind kind, const char *prefix, const char *fmt, va_list ap)
{
    sm_str b = SM_STR_INIT; /* whole, however long: a message is never cut */
    if (prefix)
        sm_str_appendf(&b, "%s: ", prefix);
    sm_str_vappendf(&b, fmt, ap);
    if (b.failed) {
        sm_str_reset(&b);
        sm_str_append(&b, "(out of memory formatting a message)");
    }
    while (b.len && b.p[b.len - 1] == '\n')
        b.p[--b.len] = '\0';
    if (c->out)
        c->out(c->out_ud, kind, sm_str_cstr(&b));
    sm_str_free(&b);
}

#define EMIT(kind, prefix)            \
    do {                              \
        va_list ap;                   \
        va_start(ap, fmt);            \
        emit(c, kind, prefix, fmt, ap); \
        va_end(ap);                   \
    } while (0)

void con_print(con_ctx *c, const char *fmt, ...) { EMIT(CON_OUT_RESULT, NULL); }
void con_info(con_ctx *c, const char *fmt, ...) { EMIT(CON_OUT_INFO, NULL); }
void con_event(con_ctx *c, const char *fmt, ...) { EMIT(CON_OUT_EVENT, NULL); }
void con_progress(con_ctx *c, const char *fmt, ...) { EMIT(CON_OUT_PROGRESS, NULL); }
void con_change(con_ctx *c, const char *fmt, ...) { EMIT(CON_OUT_CHANGE, NULL); }

void con_session_event(con_ctx *c, const sm_session_event *ev)
{
    if (c->host && c->host->event) {
        c->host->event(c->host_ud, ev);
        return;
    }
    char buf[8192];
    if (con_event_text(ev, buf, sizeof buf))
        con_event(c, "%s", buf);
}

int con_error(con_ctx *c, const char *fmt, ...)
{
    EMIT(CON_OUT_ERROR, c->where);
    return 1;
}

int con_error_at(con_ctx *c, const char *text, int col, const char *fmt, ...)
{
    sm_str msg = SM_STR_INIT, pad = SM_STR_INIT;
    va_list ap;
    va_start(ap, fmt);
    sm_str_vappendf(&msg, fmt, ap);
    va_end(ap);
    for (int i = 0; i < col; i++)
        sm_str_append(&pad, " ");
    sm_str_append(&pad, "^");
    int rc = con_error(c, "%s\n  %s\n  %s", sm_str_cstr(&msg), text, sm_str_cstr(&pad));
    sm_str_free(&msg);
    sm_str_free(&pad);
    return rc;
}

/* The words of cmd's path arguments (con_placeholder_is_path) with a leading ~ expanded, in place in
 * t->argv, quoted or not; the new strings go to owned[] for the caller to free. 0, or 1 (reported). */
static int expand_paths(con_ctx *c, const con_cmd *cmd, con_tokens *t, char **owned, const char *segment)
{
    con_arg_item items[16];
    int n = con_spec_parse(cmd->args, items, 16);
    for (int i = 1; i < t->argc; i++) {
        const con_arg_item *it = con_spec_item_at(items, n, i - 1);
        if (!it || it->kind != CON_ARG_WORD || !con_placeholder_is_path(it->text) || t->argv[i][0] != '~')
            continue;
        char err[512];
        if (con_expand_home(t->argv[i], &owned[i], err, sizeof err))
            return con_error_at(c, segment, t->col[i], "%s: argument %d (%s): %s", cmd->name, i, it->text, err);
        t->argv[i] = owned[i];
    }
    return 0;
}

static int exec_words(con_ctx *c, con_tokens *t, const char *segment)
{
    size_t n;
    const con_cmd *tab = con_commands(&n), *cmd;
    char err[1024];
    if (con_cmd_lookup(tab, n, t->argv[0], &cmd, err, sizeof err) != CON_LOOKUP_FOUND)
        return con_error(c, "%s", err);
    int bad;
    if (con_args_check(cmd, t->argc - 1, t->argv + 1, err, sizeof err, &bad)) {
        if (bad >= 0 && bad + 1 < t->argc)
            return con_error_at(c, segment, t->col[bad + 1], "%s", err);
        return con_error(c, "%s", err);
    }
    if (c->set.echo && !c->interactive)
        con_info(c, "> %s", segment);
    char *owned[CON_MAX_ARGS + 1] = {NULL};
    int rc = expand_paths(c, cmd, t, owned, segment);
    if (!rc && c->be && c->be->poll) /* what the trainer reported comes before this command's answer */
        c->be->poll(c->be_ud, c);
    if (!rc)
        rc = cmd->exec(c, t->argc - 1, t->argv + 1) ? 1 : 0;
    for (int i = 0; i <= CON_MAX_ARGS; i++)
        free(owned[i]);
    return rc;
}

static int answer_confirm(con_ctx *c, const char *line)
{
    c->confirm_quit = 0;
    while (*line == ' ' || *line == '\t')
        line++;
    if (line[0] == 'y' || line[0] == 'Y') {
        c->quit = 1;
        return 0;
    }
    con_info(c, "not quitting");
    return 0;
}

int con_exec_line(con_ctx *c, const char *line)
{
    if (c->confirm_quit)
        return answer_confirm(c, line);
    size_t len = strlen(line), off = 0;
    int status = 0;
    while (off < len && !c->quit && !(c->hup && *c->hup)) {
        con_tokens t;
        size_t rest;
        char err[256];
        int col;
        if (con_tokenize(line + off, len - off, &t, &rest, err, sizeof err, &col)) {
            con_tokens_free(&t);
            return con_error_at(c, line + off, col, "%s", err);
        }
        sm_str seg = SM_STR_INIT; /* the command as typed, whole, for echo and error carets */
        if (sm_str_appendn(&seg, line + off, rest) != SM_OK) {
            con_tokens_free(&t);
            return con_error(c, "out of memory reading the command line");
        }
        if (seg.len && seg.p[seg.len - 1] == ';')
            seg.p[--seg.len] = '\0';
        int rc = t.argc ? exec_words(c, &t, seg.p) : 0;
        sm_str_free(&seg);
        con_tokens_free(&t);
        if (rc)
            status = 1;
        if (rc && c->set.on_error == CON_ON_ERROR_STOP)
            break;
        off += rest;
    }
    return status;
}

int con_exec_stream(con_ctx *c, FILE *f, const char *name)
{
    const char *saved_where = c->where;
    sm_str where = SM_STR_INIT;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int status = 0;
    ssize_t got = 0;
    int read_errno = 0;
    while (!c->quit && (errno = 0, got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        sm_str_reset(&where);
        if (sm_str_appendf(&where, "%s:%ld", name, lineno) != SM_OK) {
            c->where = saved_where;
            status = con_error(c, "%s:%ld: out of memory", name, lineno);
            break;
        }
        c->where = where.p;
        if (con_exec_line(c, line)) {
            status = 1;
            if (c->set.on_error == CON_ON_ERROR_STOP)
                break;
        }
        if (c->hup && *c->hup)
            break;
        if (c->intr && *c->intr && !c->interactive) {
            *c->intr = 0;
            status = con_error(c, "interrupted");
            break;
        }
        c->where = saved_where;
    }
    read_errno = errno;
    c->where = saved_where;
    sm_str_free(&where);
    /* a read error is not the end of the file (a signal, EINTR, is handled by the caller) */
    if (got < 0 && ferror(f) && !c->quit && read_errno != EINTR)
        status = con_error(c, "%s: cannot read line %ld: %s", name, lineno + 1, strerror(read_errno));
    free(line);
    return status;
}

int con_exec_file(con_ctx *c, const char *path)
{
    /* opened without waiting: a named pipe with no writer would block the open for ever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = NULL;
    struct stat sb;
    if (fd < 0)
        return con_error(c, "cannot open '%s': %s", path, strerror(errno));
    /* a folder opens but cannot be read, a device such as /dev/zero never ends a line, and a pipe
     * may never end at all */
    if (fstat(fd, &sb) == 0 && (S_ISDIR(sb.st_mode) || S_ISBLK(sb.st_mode) || S_ISFIFO(sb.st_mode) ||
                                S_ISSOCK(sb.st_mode) || (S_ISCHR(sb.st_mode) && !isatty(fd)))) {
        close(fd);
        return con_error(c, "'%s' is %s, not a file of commands: give a text file with one command a line%s",
                         path, S_ISDIR(sb.st_mode) ? "a folder" : S_ISFIFO(sb.st_mode) ? "a named pipe"
                               : S_ISSOCK(sb.st_mode) ? "a socket" : "a device",
                         S_ISFIFO(sb.st_mode) ? " (commands from another program go to standard input: "
                                                "prog | smartty)" : "");
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 || !(f = fdopen(fd, "r"))) {
        int err = errno;
        close(fd);
        return con_error(c, "cannot open '%s': %s", path, strerror(err));
    }
    int status = con_exec_stream(c, f, path);
    fclose(f);
    return status;
}

void con_status_get(con_ctx *c, con_status *st)
{
    memset(st, 0, sizeof *st);
    sm_eval_record_init(&st->eval);
    st->state = CON_RUN_EMPTY;
    if (c->be && c->be->status)
        c->be->status(c->be_ud, st);
}

static void timestamp(char *buf, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void con_tick(con_ctx *c, int plain_progress)
{
    if (c->be && c->be->poll)
        c->be->poll(c->be_ud, c);
    if (c->host && c->host->tick)
        c->host->tick(c->host_ud);
    if (!plain_progress)
        return;
    con_status st;
    con_status_get(c, &st);
    if (!st.has_step || st.last.step == c->last_progress_step)
        return;
    double now = sm_now();
    int running = st.state == CON_RUN_RUNNING || st.state == CON_RUN_STEPPING;
    if (running && now - c->last_progress < c->set.progress_every)
        return;
    c->last_progress = now;
    c->last_progress_step = st.last.step;
    char ts[32], planned[32] = "";
    timestamp(ts, sizeof ts);
    if (st.planned > 0)
        snprintf(planned, sizeof planned, "/%lld", (long long)st.planned);
    const sm_step_record *r = &st.last;
    con_progress(c, "%s step %lld%s epoch %d loss %.4f rs %.4f breg %.4f total %.4f grad_norm %.3g lr %.3g %.0f ex/s",
                 ts, (long long)r->step, planned, r->epoch + 1, r->loss, r->rs, r->breg, r->total,
                 r->grad_norm, r->lr, r->examples_per_s);
}

static int wait_run(con_ctx *c, int64_t until_step);

int con_wait_run(con_ctx *c, int64_t until_step)
{
    if (!c->be || !c->be->status)
        return 0;
    con_tick(c, c->plain_progress); /* the command's own events first, as the command's */
    c->waiting++;
    int rc = wait_run(c, until_step);
    c->waiting--;
    return rc;
}

static int wait_run(con_ctx *c, int64_t until_step)
{
    for (;;) {
        con_status st;
        con_status_get(c, &st);
        if (st.state != CON_RUN_RUNNING && st.state != CON_RUN_STEPPING)
            break;
        if (until_step > 0 && st.step >= until_step)
            break;
        if (c->hup && *c->hup)
            return 2;
        if (c->intr && *c->intr) {
            *c->intr = 0;
            sm_error e;
            if (c->be->pause && c->be->pause(c->be_ud, &e) != SM_OK)
                con_error(c, "pause: %s", e.msg);
            con_tick(c, c->plain_progress);
            con_info(c, "interrupted: training paused (`resume` continues)");
            return 1;
        }
        if (c->be->wait)
            c->be->wait(c->be_ud, 0.1);
        else
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        con_tick(c, c->plain_progress);
    }
    con_tick(c, c->plain_progress);
    return 0;
}

const char *con_prompt(const con_ctx *c)
{
    return c->confirm_quit ? "quit and lose the unsaved training? [y/N] " : "smartty> ";
}

static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0700) && errno != EEXIST ? -1 : 0;
}

char *con_state_path(char *buf, size_t cap, const char *name, int mkdir_ok)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[4096]; /* a longer folder is refused (NULL), never cut into another one */
    int w;
    if (xdg && xdg[0] == '/')
        w = snprintf(dir, sizeof dir, "%s/smartty", xdg);
    else if (home && home[0])
        w = snprintf(dir, sizeof dir, "%s/.local/state/smartty", home);
    else
        w = snprintf(dir, sizeof dir, ".");
    if (w < 0 || (size_t)w >= sizeof dir)
        return NULL;
    if (mkdir_ok && strcmp(dir, ".") && mkdir_p(dir))
        snprintf(dir, sizeof dir, ".");
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? NULL : buf;
}
