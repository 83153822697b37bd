/* client.c: the run server's clients: `smartty ctl` (commands and their replies, with the exit
 * status of a -c script), `watch` (plain timestamped lines, read-only), `ls` (the servers, stale
 * sockets removed) and `attach` (the dashboard when standard input and output are terminals, else a
 * plain console), all over sock.h's blocking connection. The attached dashboard's source is
 * client_dash.c's; nothing here trains or parses console commands beyond detach and quit. */
#include "server/client.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "console/console.h"
#include "console/events.h"
#include "console/repl.h"
#include "console/signals.h"
#include "server/server.h"
#include "server/sock.h"
#include "smartty/escape.h"
#include "smartty/str.h"

char cl_self[256]; /* this client's name, as its hello said it */

/* ---- the mirror ---- */

void cl_mirror_init(cl_mirror *m)
{
    memset(m, 0, sizeof *m);
    sm_eval_record_init(&m->st.eval);
    for (int i = 0; i < SM_HP_COUNT; i++)
        m->st.hp_changed_at[i] = -1;
}

void cl_mirror_free(cl_mirror *m)
{
    free(m->steps);
    free(m->evals);
    cl_mirror_init(m);
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *p = realloc(*arr, c * size);
    if (!p)
        return 0;
    *arr = p;
    *cap = c;
    return 1;
}

void cl_mirror_take(cl_mirror *m, const sv_msg *msg)
{
    if (msg->type == SV_MSG_STATUS) {
        m->st = msg->st;
        m->has_status = 1;
        return;
    }
    if (msg->type != SV_MSG_HISTORY)
        return;
    if (msg->first) {
        m->n_steps = m->n_evals = 0;
        m->generation++;
    }
    if (msg->n_steps && grow((void **)&m->steps, &m->cap_steps, m->n_steps + msg->n_steps, sizeof *m->steps)) {
        memcpy(m->steps + m->n_steps, msg->steps, msg->n_steps * sizeof *m->steps);
        m->n_steps += msg->n_steps;
    }
    if (msg->n_evals && grow((void **)&m->evals, &m->cap_evals, m->n_evals + msg->n_evals, sizeof *m->evals)) {
        memcpy(m->evals + m->n_evals, msg->evals, msg->n_evals * sizeof *m->evals);
        m->n_evals += msg->n_evals;
    }
    if (msg->last)
        m->history_done = 1;
}

/* ---- text ---- */

static void timestamp(char *buf, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

size_t cl_event_text(const sv_msg *msg, char *buf, size_t cap)
{
    const sm_session_event *ev = &msg->ev;
    if (ev->kind == SM_EVENT_CHANGE) {
        return (size_t)snprintf(buf, cap, "%s = %s (was %s) from step %lld%s%s", ev->name ? ev->name : "?",
                                ev->new_value ? ev->new_value : "?", ev->old_value ? ev->old_value : "?",
                                (long long)ev->step + 1, msg->by[0] ? ", by " : "", msg->by);
    }
    if (ev->kind == SM_EVENT_SNAPSHOT || ev->kind == SM_EVENT_REWIND) {
        int n = ev->kind == SM_EVENT_SNAPSHOT
                    ? snprintf(buf, cap, "snapshot '%s' at step %lld", ev->name ? ev->name : "?", (long long)ev->step)
                    : snprintf(buf, cap, "rewound to snapshot '%s' (step %lld, left step %lld)",
                               ev->name ? ev->name : "?", (long long)ev->step, (long long)ev->from_step);
        if (msg->by[0] && n >= 0 && (size_t)n < cap)
            n += snprintf(buf + n, cap - (size_t)n, ", by %s", msg->by);
        return n < 0 ? 0 : (size_t)n;
    }
    size_t n = con_event_text(ev, buf, cap);
    if (n && msg->by[0] && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " (by %s)", msg->by);
    return n;
}

/* A line to f; at an attached terminal's prompt (con_readline_print) the prompt is redrawn below. */
static void say(FILE *f, const char *fmt, ...) SM_PRINTF(2, 3);
static void say(FILE *f, const char *fmt, ...)
{
    sm_str s = SM_STR_INIT; /* whole, never cut short */
    va_list ap;
    va_start(ap, fmt);
    sm_str_vappendf(&s, fmt, ap);
    va_end(ap);
    con_readline_print(f, s.failed ? "smartty: out of memory printing a line\n" : sm_str_cstr(&s));
    sm_str_free(&s);
}

static void print_out(int kind, const char *text)
{
    FILE *f = kind == CON_OUT_ERROR ? stderr : stdout;
    char *safe = sm_text_escape_dup(text, SM_ESC_KEEP_NL);
    say(f, "%s%s\n", kind == CON_OUT_ERROR ? "error: " : "", safe ? safe : text);
    free(safe);
}

static void step_line(const sm_step_record *r, int64_t planned, char *buf, size_t cap)
{
    char pl[32] = "";
    if (planned > 0)
        snprintf(pl, sizeof pl, "/%lld", (long long)planned);
    snprintf(buf, cap, "step %lld%s epoch %d loss %.4f rs %.4f breg %.4f total %.4f grad_norm %.3g lr %.3g %.0f ex/s",
             (long long)r->step, pl, r->epoch + 1, r->loss, r->rs, r->breg, r->total, r->grad_norm, r->lr,
             r->examples_per_s);
}

static void eval_line(const sm_eval_record *v, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "dev step %lld loss %.4f", (long long)v->step, v->loss);
    const struct { const char *name; double x; } f[] = {{"acc", v->acc}, {"f1", v->f1}, {"mcc", v->mcc},
        {"macro_f1", v->macro_f1}, {"pearson", v->pearson}, {"spearman", v->spearman}};
    for (size_t i = 0; i < sizeof f / sizeof f[0] && n >= 0 && (size_t)n < cap; i++)
        if (!isnan(f[i].x))
            n += snprintf(buf + n, cap - (size_t)n, " %s %.4f", f[i].name, f[i].x);
}

/* ---- connecting ---- */

/* With no name: the only server there is, else a message listing them. */
static int pick_name(const char *cmd, const char *given, char *out, size_t cap)
{
    sm_error e;
    if (given) { /* checked before it is copied: a run name fits out, anything else is named whole */
        if (sv_name_check(given, &e) != SM_OK) {
            fprintf(stderr, "smartty %s: %s\n", cmd, e.msg);
            return 1;
        }
        snprintf(out, cap, "%s", given);
        return 0;
    }
    char dir[512];
    if (sv_sock_dir(dir, sizeof dir, 0, &e) != SM_OK) {
        fprintf(stderr, "smartty %s: no run server is running (%s)\n", cmd, e.msg);
        return 1;
    }
    DIR *d = opendir(dir);
    int n = 0;
    char names[2048] = "";
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!sv_name_ok(de->d_name))
            continue;
        int fd = sv_connect(de->d_name, NULL, &e);
        if (fd < 0)
            continue;
        close(fd);
        if (!n)
            snprintf(out, cap, "%s", de->d_name);
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", n ? ", " : "", de->d_name);
        n++;
    }
    if (d)
        closedir(d);
    if (n == 1)
        return 0;
    if (!n)
        fprintf(stderr, "smartty %s: no run server is running (`smartty serve` starts one)\n", cmd);
    else
        fprintf(stderr, "smartty %s: %d servers are running (%s): name one\n", cmd, n, names);
    return 1;
}

/* Connect and say hello as role; wait for the server's hello. Returns 0 or 1 (message printed). */
int cl_open(sv_conn *c, const char *cmd, const char *name, const char *role, int64_t history, int confirm,
            sv_msg *hello)
{
    sm_error e;
    int fd = sv_connect(name, NULL, &e);
    if (fd < 0) {
        fprintf(stderr, "smartty %s: %s\n", cmd, e.msg);
        return 1;
    }
    return cl_open_fd(c, fd, cmd, name, role, history, confirm, hello);
}

int cl_local;

int cl_open_fd(sv_conn *c, int fd, const char *cmd, const char *name, const char *role, int64_t history,
               int confirm, sv_msg *hello)
{
    sm_error e;
    sv_conn_init(c, fd);
    sv_msg m;
    sv_msg_init(&m, SV_MSG_HELLO);
    snprintf(m.role, sizeof m.role, "%s", role);
    sv_client_name(m.who, sizeof m.who);
    const char *as = getenv("SMARTTY_CLIENT_NAME");
    if (as && *as)
        snprintf(m.who, sizeof m.who, "%s", as);
    m.history = history;
    m.confirm = confirm;
    snprintf(cl_self, sizeof cl_self, "%s", m.who);
    int sent = sv_conn_send(c, &m, &e) == 0;
    /* a person waiting (attach, watch) waits for a busy server (inside a long command, such as a
       load), told so after 5 s, until it answers or Ctrl-C; ctl and ls give up after 5 s */
    int patient = sent && (!strcmp(role, "attach") || !strcmp(role, "watch"));
    double t0 = sm_now();
    int told = 0;
    for (;;) {
        /* a refused connection may close before the hello is read: its error frame is still there
           (a signal ends the read early: the time waited is the clock's, not the reads') */
        int r = sv_conn_recv(c, hello, 0.5, &e);
        if (r == 0 && sent && !con_sig_int && !con_sig_quit && sm_now() - t0 < 5.0)
            continue;
        if (r == 0 && patient && !con_sig_int && !con_sig_quit) {
            if (!told)
                fprintf(stderr, "smartty %s: %s does not answer yet (busy inside a long command, or stopped): "
                        "waiting; Ctrl-C gives up\n", cmd, name);
            told = 1;
            continue;
        }
        if (r == 0) {
            fprintf(stderr, "smartty %s: %s: the server does not answer%s\n", cmd, name,
                    con_sig_int || con_sig_quit ? " (gave up)" : "");
        } else if (r < 0) {
            fprintf(stderr, "smartty %s: %s: %s\n", cmd, name, e.msg);
        } else if (hello->type == SV_MSG_ERROR) {
            fprintf(stderr, "smartty %s: %s: %s\n", cmd, name, hello->text ? hello->text : "refused");
            sv_msg_free(hello);
        } else if (hello->type != SV_MSG_HELLO) {
            sv_msg_free(hello);
            continue;
        } else {
            return 0;
        }
        sv_conn_close(c);
        return 1;
    }
}

/* ---- completion and Ctrl-C ---- */

static int server_lacks_complete; /* it answered unknown_type: an older server, not asked again */

/* Without the server's answer, the command names starting with word (NULL: none), which this program
 * knows as the server does. */
static void local_commands(const char *word, void (*add)(void *ud, const char *w), void *ud)
{
    if (!word)
        return;
    size_t n, len = strlen(word);
    const con_cmd *tab = con_commands(&n);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(tab[i].name, word, len))
            add(ud, tab[i].name);
}

/* The word being typed when it is a command's name (the line's last command has no space yet), else
 * NULL. */
static const char *command_word(const char *line)
{
    const char *p = strrchr(line, ';');
    p = p ? p + 1 : line;
    while (*p == ' ' || *p == '\t')
        p++;
    return p[strcspn(p, " \t")] ? NULL : p;
}

int cl_complete(sv_conn *c, const char *line, void (*add)(void *ud, const char *w), void *ud)
{
    const char *word = command_word(line);
    /* `shutdown` is left to be typed whole: `sh` stays `show`, as in a local console */
    if (word && !strncmp("detach", word, strlen(word)))
        add(ud, "detach");
    if (c->fd < 0)
        return 0;
    if (server_lacks_complete) {
        local_commands(word, add, ud);
        return 0;
    }
    static int64_t next_id;
    sv_msg m;
    sm_error e;
    sv_msg_init(&m, SV_MSG_COMPLETE);
    m.id = ++next_id;
    m.text = (char *)(uintptr_t)line;
    if (sv_conn_send(c, &m, &e)) /* gone (or a line over the frame limit): the next read says so */
        return 0;
    sv_msg r;
    int k = sv_conn_await(c, SV_MSG_COMPLETION, m.id, "'complete'", CL_COMPLETE_WAIT, &r);
    if (k == -3)
        server_lacks_complete = 1;
    if (k != 1) {
        if (k != -1) /* no answer in time (the server is inside a long command) or an older server */
            local_commands(word, add, ud);
        return 0;
    }
    for (size_t i = 0; i < r.n_words; i++)
        add(ud, r.words[i]);
    int file = r.file;
    sv_msg_free(&r);
    return file;
}

int cl_interrupt(sv_conn *c, const cl_mirror *mir, int busy)
{
    if (!busy && (!mir->has_status || (mir->st.state != CON_RUN_RUNNING && mir->st.state != CON_RUN_STEPPING)))
        return 0;
    sv_msg m;
    sm_error e;
    sv_msg_init(&m, SV_MSG_INTR);
    return sv_conn_send(c, &m, &e) == 0;
}

/* ---- ctl ---- */

int sv_ctl_main(int argc, char **argv)
{
    int keep_going = 0, i = 1;
    if (i < argc && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
        printf("usage: smartty ctl [-e] NAME 'CMD; CMD' ['CMD'...]\n"
               "  runs the commands on the server NAME as a -c script would, printing their replies\n"
               "  -e  keep going after a failed command\n"
               "  Ctrl-C interrupts the command in progress as in a console (a wait or step pauses the run,\n"
               "  an eval stops); a second Ctrl-C leaves at once (exit 130), the command running on\n"
               "exit status: 0 every command succeeded, 1 one failed or the server is unreachable, 2 usage\n");
        return 0;
    }
    if (i < argc && !strcmp(argv[i], "-e")) {
        keep_going = 1;
        i++;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: smartty ctl [-e] NAME 'CMD; CMD' ['CMD'...]\n");
        return 2;
    }
    const char *name = argv[i++];
    con_signals_install(0);
    sv_conn c;
    sv_msg hello;
    if (cl_open(&c, "ctl", name, "ctl", 0, 0, &hello))
        return 1;
    sv_msg_free(&hello);
    int status = 0, interrupted = 0;
    for (int64_t id = 1; i < argc; i++, id++) {
        sv_msg m;
        sm_error e;
        sv_msg_init(&m, SV_MSG_CMD);
        m.id = id;
        m.text = argv[i];
        if (sv_conn_send(&c, &m, &e)) {
            fprintf(stderr, "smartty ctl: %s: %s\n", name, e.msg);
            sv_conn_close(&c);
            return 1;
        }
        for (;;) {
            sv_msg r;
            int k = sv_conn_recv(&c, &r, 0.25, &e);
            if (k < 0) {
                fprintf(stderr, "smartty ctl: the server '%s' ended before answering (%s)\n", name, e.msg);
                sv_conn_close(&c);
                return 1;
            }
            if (con_sig_quit || (con_sig_int && interrupted)) { /* the second Ctrl-C, a hangup, a kill */
                if (k > 0)
                    sv_msg_free(&r);
                fprintf(stderr, "smartty ctl: left without the reply: '%s' goes on on %s\n", argv[i], name);
                sv_conn_close(&c);
                return con_sig_quit ? 128 + con_sig_quit : 130;
            }
            if (con_sig_int) { /* the first: the server interrupts the command, as a console's Ctrl-C */
                con_sig_int = 0;
                interrupted = 1;
                if (!cl_interrupt(&c, NULL, 1))
                    fprintf(stderr, "smartty ctl: %s: the interrupt could not be sent\n", name);
            }
            if (k == 0)
                continue;
            int done = 0;
            if (r.type == SV_MSG_OUT && r.id == id) {
                print_out(r.kind, r.text);
            } else if (r.type == SV_MSG_REPLY && r.id == id) {
                done = 1;
                if (r.status)
                    status = 1;
            } else if (r.type == SV_MSG_ERROR) {
                fprintf(stderr, "smartty ctl: %s: %s\n", name, r.text ? r.text : r.code);
                done = 1;
                status = 1;
            } else if (r.type == SV_MSG_BYE && r.text && strcmp(r.text, "detached")) {
                fprintf(stderr, "smartty ctl: %s\n", r.text);
            }
            sv_msg_free(&r);
            if (done)
                break;
        }
        if (status && !keep_going)
            break;
    }
    sv_conn_close(&c);
    return status;
}

/* ---- watch ---- */

int sv_watch_main(int argc, char **argv)
{
    const char *given = NULL;
    double every = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: smartty watch [--every SECONDS] [NAME]\n"
                   "  plain timestamped lines of the run NAME (steps every SECONDS, default 2; every evaluation;\n"
                   "  every change with who made it), read-only. NAME may be left out when one server runs.\n"
                   "exit status: 0 the server shut down, 1 it ended otherwise or could not be reached\n");
            return 0;
        }
        if (!strcmp(argv[i], "--every") && i + 1 < argc) {
            char *end;
            every = strtod(argv[++i], &end);
            if (*end || !(every >= 0)) {
                fprintf(stderr, "smartty watch: --every takes seconds, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-' && !given) {
            given = argv[i];
        } else {
            fprintf(stderr, "usage: smartty watch [--every SECONDS] [NAME]\n");
            return 2;
        }
    }
    char name[128];
    if (pick_name("watch", given, name, sizeof name))
        return 1;
    con_signals_install(0);
    sv_conn c;
    sv_msg hello;
    if (cl_open(&c, "watch", name, "watch", 0, 0, &hello))
        return 1;
    sv_msg_free(&hello);
    double last = 0;
    int64_t planned = 0, shown_step = -1;
    sm_step_record pending;
    int has_pending = 0;
    char ts[32], line[8192];
    for (;;) {
        sv_msg m;
        sm_error e;
        int k = sv_conn_recv(&c, &m, 0.5, &e);
        if (con_sig_quit || con_sig_int) {
            if (k > 0)
                sv_msg_free(&m); /* the frame that came with the signal */
            sv_conn_close(&c);
            return 0;
        }
        if (has_pending && sm_now() - last >= every && pending.step != shown_step) {
            timestamp(ts, sizeof ts);
            step_line(&pending, planned, line, sizeof line);
            printf("%s %s\n", ts, line);
            fflush(stdout);
            last = sm_now();
            shown_step = pending.step;
            has_pending = 0;
        }
        if (k == 0)
            continue;
        if (k == -2) {
            fprintf(stderr, "smartty watch: %s\n", e.msg);
            continue;
        }
        if (k < 0) {
            fprintf(stderr, "smartty watch: the server '%s' ended (the connection closed)\n", name);
            sv_conn_close(&c);
            return 1;
        }
        timestamp(ts, sizeof ts);
        if (m.type == SV_MSG_STATUS) {
            planned = m.st.planned;
        } else if (m.type == SV_MSG_HISTORY) {
            if (m.n_steps) {
                pending = m.steps[m.n_steps - 1];
                has_pending = 1;
            }
            for (size_t i = 0; i < m.n_evals; i++) {
                eval_line(&m.evals[i], line, sizeof line);
                printf("%s %s\n", ts, line);
            }
        } else if (m.type == SV_MSG_EVENT) {
            if (m.ev.kind == SM_EVENT_STATE)
                printf("%s state %s\n", ts, m.ev.msg ? m.ev.msg : sm_session_state_name((sm_session_state)m.ev.state));
            else if (m.ev.kind != SM_EVENT_EVAL && m.ev.kind != SM_EVENT_STEP && cl_event_text(&m, line, sizeof line))
                printf("%s %s %s\n", ts, sm_event_kind_name(m.ev.kind), line);
        } else if (m.type == SV_MSG_OUT && m.id == 0) {
            printf("%s %s\n", ts, m.text);
        } else if (m.type == SV_MSG_BYE) {
            int clean = m.text && strstr(m.text, "was shut down by");
            printf("%s %s\n", ts, m.text ? m.text : "the server ended");
            fflush(stdout);
            sv_msg_free(&m);
            sv_conn_close(&c);
            return clean ? 0 : 1;
        }
        fflush(stdout);
        sv_msg_free(&m);
    }
}

/* ---- ls ---- */

static void ls_header(int *shown)
{
    if (!(*shown)++)
        printf("%-16s %8s %-9s %-15s %-20s %7s  %s\n", "NAME", "PID", "STATE", "STEP", "STARTED", "CLIENTS",
               "MODEL / DATA");
}

int sv_ls_main(int argc, char **argv)
{
    if (argc > 1) {
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
            printf("usage: smartty ls\n  lists the run servers: name, pid, state, step of planned, started, "
                   "clients, model, data;\n  removes the sockets of servers that are gone\n");
            return 0;
        }
        fprintf(stderr, "usage: smartty ls\n");
        return 2;
    }
    char dir[512];
    sm_error e;
    if (sv_sock_dir(dir, sizeof dir, 0, &e) != SM_OK) {
        printf("no run servers\n");
        return 0;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "smartty ls: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int shown = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!sv_name_ok(de->d_name))
            continue;
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode))
            continue;
        int stale = 0, fd = sv_connect(de->d_name, &stale, &e);
        if (fd < 0) {
            if (stale && unlink(path) == 0)
                fprintf(stderr, "smartty ls: removed the stale socket %s (its server is gone)\n", path);
            continue;
        }
        struct ucred cr;
        socklen_t crl = sizeof cr;
        long long peer = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) == 0 ? (long long)cr.pid : -1;
        close(fd);
        sv_conn c;
        sv_msg hello, st;
        if (cl_open(&c, "ls", de->d_name, "ls", 0, 0, &hello)) {
            /* it is there (it accepted) but does not answer: listed, not left out */
            ls_header(&shown);
            char pid[24] = "?";
            if (peer > 0)
                snprintf(pid, sizeof pid, "%lld", peer);
            printf("%-16s %8s %-9s %-15s %-20s %7s  %s\n", de->d_name, pid, "busy", "?", "?", "?",
                   "(does not answer: inside a long command, or stopped)");
            continue;
        }
        int got = 0;
        for (int tries = 0; tries < 8 && !got; tries++) {
            int k = sv_conn_recv(&c, &st, 2.0, &e);
            if (k < 0)
                break;
            if (k > 0 && st.type == SV_MSG_STATUS)
                got = 1;
            else if (k > 0)
                sv_msg_free(&st);
        }
        sv_conn_close(&c);
        ls_header(&shown);
        char started[32] = "?", step[48] = "?";
        time_t t = (time_t)hello.started;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (got)
            snprintf(step, sizeof step, "%lld/%lld", (long long)st.st.step, (long long)st.st.planned);
        printf("%-16s %8lld %-9s %-15s %-20s %7d  %s%s%s\n", hello.who, (long long)hello.pid,
               got ? con_run_state_name((con_run_state)st.st.state) : "?", step, started, got ? st.st.clients : 0,
               got && st.st.model[0] ? st.st.model : "-", got && st.st.data[0] ? " / " : "",
               got ? st.st.data : "");
        sv_msg_free(&hello);
        if (got)
            sv_msg_free(&st);
    }
    closedir(d);
    if (!shown)
        printf("no run servers\n");
    return 0;
}

/* ---- attach, plain ---- */

static int is_detach(const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strcspn(line, " \t");
    const char *rest = line + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return !*rest && ((n == 6 && !strncmp(line, "detach", 6)) || (n == 4 && !strncmp(line, "quit", 4)));
}

/* The plain console at a terminal: readline as the local console's prompt has it (history, Tab
 * completion from the server, Ctrl-C clearing the line); each accepted line goes into the plain
 * loop's input as if read, and the prompt is away until its reply. */
static struct {
    sv_conn *c;
    char *inbuf;
    size_t *have, cap;
    const int *asked;
    const char *ask;
    int eof;
} PT;

static void tty_line(void *ud, const char *line)
{
    (void)ud;
    if (!line) { /* Ctrl-D: `detach` attached; `quit` in a local console, and yes to its question */
        fputc('\n', stdout);
        if (cl_local)
            line = *PT.asked ? "y" : "quit";
        else if (*PT.asked)
            PT.eof = 1;
        else
            line = "detach";
        con_readline_pause();
        if (!line)
            return;
    }
    size_t n = strlen(line);
    if (*PT.have + n + 1 > PT.cap) {
        say(stderr, "smartty attach: a command line over %zu bytes: dropped\n", PT.cap - 1);
        return;
    }
    if (!*PT.asked)
        con_readline_add_history(line);
    memcpy(PT.inbuf + *PT.have, line, n);
    PT.inbuf[*PT.have + n] = '\n';
    *PT.have += n + 1;
    con_readline_pause(); /* no prompt until the reply */
}

static int tty_complete(void *ud, const char *line, void (*add)(void *a, const char *w), void *a)
{
    (void)ud;
    return cl_complete(PT.c, line, add, a);
}

static const char *tty_prompt(void *ud)
{
    (void)ud;
    return *PT.asked && PT.ask[0] ? PT.ask : "smartty> ";
}

/* Ctrl-C at an idle prompt: a reminder of unsaved training, as the local console always gave. */
static void unsaved_note(void *ud)
{
    const cl_mirror *mir = ud;
    if (mir->has_status && mir->st.unsaved > 0)
        printf("%lld step%s of training %s unsaved: %s\n", (long long)mir->st.unsaved,
               mir->st.unsaved == 1 ? "" : "s", mir->st.unsaved == 1 ? "is" : "are",
               cl_local ? "`save DIR` keeps them, `quit` asks first"
                        : "`save DIR` keeps them; the run goes on when you detach");
}

int cl_attach_plain(sv_conn *c, const char *name, int tty)
{
    cl_mirror mir;
    cl_mirror_init(&mir);
    int64_t next_id = 1, waiting = 0, shown_step = -1;
    int stdin_open = 1, status = 0;
    int asked = 0; /* the server asked a question: the next line is its answer, sent as it is */
    double last = 0;
    char line[8192], inbuf[65536], ask[128] = "";
    size_t have = 0;
    if (tty) {
        PT.c = c;
        PT.inbuf = inbuf;
        PT.have = &have;
        PT.cap = sizeof inbuf;
        PT.asked = &asked;
        PT.ask = ask;
        PT.eof = 0;
        con_rl_host h = {tty_line, tty_complete, tty_prompt, NULL};
        con_readline_start_host(&h);
    }
    for (;;) {
        if (con_sig_quit && !cl_local) {
            if (tty)
                con_readline_stop();
            sv_conn_close(c);
            cl_mirror_free(&mir);
            return status;
        }
        if (con_sig_quit) { /* a local console's session autosaves and ends: its bye comes */
            if (tty && stdin_open)
                con_readline_stop();
            stdin_open = 0, have = 0;
        }
        if (tty && PT.eof && !waiting) {
            stdin_open = 0;
            PT.eof = 0;
        }
        if (!stdin_open && !waiting && !memchr(inbuf, '\n', have) && cl_local && !con_sig_quit) {
            /* the end of the input ends a local console: `quit` (its question answered yes) */
            if (tty)
                con_readline_stop();
            snprintf(inbuf, sizeof inbuf, "%s\n", asked ? "y" : "quit force");
            have = strlen(inbuf);
        }
        if (!stdin_open && !waiting && !memchr(inbuf, '\n', have) && !cl_local) {
            sv_msg d;
            sm_error e;
            if (tty)
                con_readline_stop();
            sv_msg_init(&d, SV_MSG_DETACH);
            sv_conn_send(c, &d, &e);
            sv_conn_close(c);
            cl_mirror_free(&mir);
            return status;
        }
        struct pollfd p[2] = {{c->fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        int np = stdin_open && !waiting ? 2 : 1;
        int pr = poll(p, (nfds_t)np, sv_conn_pending(c) ? 0 : 200);
        if (pr < 0 && errno != EINTR)
            break;
        if (tty && np == 2 && pr > 0 && (p[1].revents & (POLLIN | POLLHUP))) {
            con_readline_feed();
        } else if (np == 2 && pr > 0 && (p[1].revents & (POLLIN | POLLHUP))) {
            ssize_t k = read(STDIN_FILENO, inbuf + have, sizeof inbuf - 1 - have);
            if (k <= 0) {
                stdin_open = 0;
                if (have && inbuf[have - 1] != '\n') /* a last line without its newline */
                    inbuf[have++] = '\n';
            } else {
                have += (size_t)k;
            }
            if (have == sizeof inbuf - 1 && !memchr(inbuf, '\n', have)) {
                fprintf(stderr, "smartty attach: a command line over %zu bytes: dropped\n", sizeof inbuf - 1);
                have = 0;
            }
        }
        /* the next command line, once the last one is answered */
        char *nl;
        if (!waiting && have && (nl = memchr(inbuf, '\n', have))) {
            *nl = '\0';
            size_t used = (size_t)(nl + 1 - inbuf);
            if (!asked && !cl_local && is_detach(inbuf)) {
                say(stdout, "detached from '%s': the run goes on\n", name);
                stdin_open = 0;
                have = 0;
                continue;
            }
            sv_msg m;
            sm_error e;
            sv_msg_init(&m, SV_MSG_CMD);
            m.id = next_id++;
            m.text = inbuf;
            if (sv_conn_send(c, &m, &e)) {
                if (tty)
                    con_readline_stop();
                fprintf(stderr, "smartty attach: the server '%s' ended (%s)\n", name, e.msg);
                cl_mirror_free(&mir);
                sv_conn_close(c);
                return 1;
            }
            waiting = m.id;
            asked = 0;
            memmove(inbuf, nl + 1, have - used);
            have -= used;
        }
        /* frames: at most 512 a pass, so that a run sending records faster than this console
           reads them (a small model on a loaded machine) cannot keep it from the keyboard and
           Ctrl-C; the rest wait in the connection (the poll above does not sleep on them) */
        for (int nf = 0; nf < 512; nf++) {
            sv_msg m;
            sm_error e;
            int k = sv_conn_recv(c, &m, 0, &e);
            if (k == 0)
                break;
            if (k == -2) {
                say(stderr, "smartty attach: %s\n", e.msg);
                continue;
            }
            if (k < 0) {
                if (tty)
                    con_readline_stop();
                fprintf(stderr, "smartty attach: the server '%s' ended (the connection closed)\n", name);
                cl_mirror_free(&mir);
                sv_conn_close(c);
                return 1;
            }
            cl_mirror_take(&mir, &m);
            if (m.type == SV_MSG_OUT) {
                print_out(m.kind, m.text);
            } else if (m.type == SV_MSG_REPLY) {
                int ours = m.id == waiting;
                if (ours)
                    waiting = 0;
                if (m.status)
                    status = 1;
                if (m.ask[0]) { /* the question's prompt, as the local console shows it */
                    asked = 1;
                    snprintf(ask, sizeof ask, "%s", m.ask);
                }
                if (tty && ours)
                    con_readline_resume();
            } else if (m.type == SV_MSG_EVENT) {
                if (m.ev.kind != SM_EVENT_STEP && m.ev.kind != SM_EVENT_STATE &&
                    (m.ev.kind != SM_EVENT_CHANGE || (m.by[0] && strcmp(m.by, cl_self))) &&
                    cl_event_text(&m, line, sizeof line))
                    say(stdout, "%s\n", line);
            } else if (m.type == SV_MSG_ERROR) {
                say(stderr, "smartty attach: %s\n", m.text ? m.text : m.code);
            } else if (m.type == SV_MSG_BYE) {
                int det = cl_local || (m.text && (!strcmp(m.text, "detached") || strstr(m.text, "was shut down by")));
                if (tty)
                    con_readline_stop();
                if (!cl_local && m.text && strcmp(m.text, "detached"))
                    fprintf(stderr, "smartty attach: %s\n", m.text ? m.text : "the server ended");
                sv_msg_free(&m);
                cl_mirror_free(&mir);
                sv_conn_close(c);
                return det ? status : 1;
            }
            fflush(stdout);
            sv_msg_free(&m);
        }
        /* Ctrl-C: pause a training run (ending a wait), else clear the line; after the frames, so
           that the state it goes by is the newest one read (another client may have just started
           a step) */
        if (tty && con_sig_int) {
            con_sig_int = 0;
            if (!cl_interrupt(c, &mir, waiting != 0) && con_readline_active())
                con_readline_interrupt(unsaved_note, &mir);
        }
        /* progress lines, as the plain console prints them */
        if (!cl_local && mir.n_steps && mir.history_done && sm_now() - last >= 2.0 &&
            mir.steps[mir.n_steps - 1].step != shown_step) {
            char ts[32];
            timestamp(ts, sizeof ts);
            step_line(&mir.steps[mir.n_steps - 1], mir.st.planned, line, sizeof line);
            say(stdout, "%s %s\n", ts, line);
            shown_step = mir.steps[mir.n_steps - 1].step;
            last = sm_now();
        }
    }
    if (tty)
        con_readline_stop();
    cl_mirror_free(&mir);
    sv_conn_close(c);
    return 1;
}

int sv_attach_main(int argc, char **argv)
{
    const char *given = NULL;
    int plain = 0;
    ui_options uo;
    ui_options_default(&uo);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: smartty attach [--plain] [--ascii] [--no-color] [--theme NAME] [NAME]\n"
                   "  opens the console on the run server NAME (may be left out when one runs): the dashboard\n"
                   "  when standard input and output are terminals, else a plain console reading commands\n"
                   "  from standard input. `detach` (or `quit`, or closing the terminal) leaves the run going;\n"
                   "  `shutdown [save DIR]` ends the server.\n"
                   "exit status: 0 detached, 1 the server ended or a command failed, 2 usage error\n");
            return 0;
        }
        if (!strcmp(a, "--plain"))
            plain = 1;
        else if (!strcmp(a, "--ascii"))
            uo.ascii = 1;
        else if (!strcmp(a, "--no-color"))
            uo.no_color = 1;
        else if (!strcmp(a, "--theme") && i + 1 < argc)
            uo.theme = argv[++i];
        else if (a[0] != '-' && !given)
            given = a;
        else {
            fprintf(stderr, "smartty attach: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    char name[128];
    if (pick_name("attach", given, name, sizeof name))
        return 1;
    int dash = !plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    con_signals_install(!dash);
    sv_conn c;
    sv_msg hello;
    /* a person at a terminal answers questions (`shutdown` with unsaved training asks); a pipe or a
       script is refused instead, as a non-interactive console is */
    int confirm = isatty(STDIN_FILENO);
    if (cl_open(&c, "attach", name, "attach", dash ? 20000 : 2000, confirm, &hello))
        return 1;
    sv_msg_free(&hello);
    if (dash)
        return cl_dash_run(&c, name, &uo);
    return cl_attach_plain(&c, name, confirm);
}
