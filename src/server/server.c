/* server.c: `smartty serve`: a run server detached from the terminal (double fork, its own session,
 * standard streams to a log) that owns a console over the training session and serves it on a Unix
 * socket (sock.h) to any number of clients: one poll() loop on the main thread accepts (owner and
 * root only, SO_PEERCRED), reads frames (proto.h), runs command lines with their output routed to
 * the client that sent them, and broadcasts typed events, records and status through bounded
 * per-client queues. The trainer thread never touches a socket. Clients are client.c's. */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "console/backend.h"
#include "console/events.h"
#include "console/host.h"
#include "console/parse.h"
#include "console/signals.h"
#include "server/proto.h"
#include "server/sock.h"

#define QUEUE_DEFAULT (16u * 1024 * 1024) /* bytes queued for one client before it is dropped */
#define HISTORY_DEFAULT 4000          /* points of the history sent on attach unless asked */
#define HISTORY_MAX 200000
#define FLUSH_S 0.1      /* live records go out at most this often: one history frame per interval */
#define LIVE_CHUNK 1024  /* records of a live history frame at most (1024 at ~240 B: a quarter MiB) */
#define MAX_CLIENTS 256

enum { ROLE_NONE = 0, ROLE_ATTACH, ROLE_WATCH, ROLE_CTL, ROLE_LS };
enum { ASK_NONE = 0, ASK_SHUTDOWN, ASK_QUIT }; /* the question a client's next line answers */

typedef struct client {
    int fd;
    int role;
    char who[256];
    long uid, pid;
    sv_lines in;
    char *q;          /* queued output, bytes [off, n) still to send */
    size_t n, off, cap;
    int closing;      /* send what is queued, then close */
    int dead;         /* close now */
    int64_t history;
    int confirm;      /* its hello said it can answer a question (an interactive console) */
    int asking;       /* ASK_*: its next command line answers that question */
    char *held;       /* a command line that came while another client's command waited (id held_id),
                         to run once that one ends; its later frames stay unread until then */
    int64_t held_id;
    uint64_t held_seq; /* arrival order among the held commands */
    int local;        /* the console of this process (sv_local_start): `quit` ends the session */
    struct client *next;
} client;

static struct {
    con_ctx c;
    char name[80];
    char path[512];
    int lfd;
    client *clients;
    int nclients;
    client *cur;           /* the client whose command runs */
    int in_cmd;            /* 1 while a client's command runs (srv_tick serves the others) */
    int in_tick;           /* 1 while srv_tick serves them (a command it runs does not serve again) */
    int nheld;             /* clients with a held command */
    uint64_t held_seq;
    int64_t cur_id;
    char author[256];      /* its name while its command and the events it caused are handled */
    int start_fd;          /* during the start commands: their output also goes to `serve` */
    size_t sent_steps, sent_evals;
    time_t started;
    double last_status_t;
    double last_push;    /* when push_records last sent */
    sv_status last_status;
    int stop;
    char stop_msg[512];
    size_t queue_max;      /* --queue */
    int local;             /* the in-process server of a local console: no socket, no log */
    volatile sig_atomic_t intr; /* Ctrl-C in a client (an interrupt frame): V.c.intr points here */
    char *notice;          /* said to the local console once it said hello (autosaves found) */
    int plain_progress;    /* the local plain console: timestamped progress lines, as it always printed */
} V;

/* ---- the log ---- */

static void logf_(const char *fmt, ...) SM_PRINTF(1, 2);
static void logf_(const char *fmt, ...)
{
    if (V.local) /* a local console: stderr is its terminal */
        return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

/* ---- queues ---- */

static void client_flush(client *cl)
{
    while (cl->off < cl->n && !cl->dead) {
        ssize_t k = send(cl->fd, cl->q + cl->off, cl->n - cl->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            cl->dead = 1;
            return;
        }
        cl->off += (size_t)k;
    }
    if (cl->off == cl->n)
        cl->off = cl->n = 0;
}

static void client_send_raw(client *cl, const char *line, size_t len)
{
    if (cl->dead)
        return;
    if (cl->off && cl->off == cl->n)
        cl->off = cl->n = 0;
    if (cl->n - cl->off + len > V.queue_max) {
        /* it fell behind: say so without waiting (best effort) and drop it */
        logf_("client %s (%s) fell behind with %zu bytes queued: disconnected", cl->who,
              cl->role == ROLE_WATCH ? "watch" : "attach", cl->n - cl->off);
        static const char bye[] = "{\"type\":\"bye\",\"msg\":\"disconnected: this client fell behind the run "
                                  "(its queue was full); attach again\"}\n";
        cl->off = cl->n = 0;
        send(cl->fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT); /* ends a frame cut short */
        send(cl->fd, bye, sizeof bye - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        cl->dead = 1;
        return;
    }
    if (cl->off > 0 && cl->n + len > cl->cap) {
        memmove(cl->q, cl->q + cl->off, cl->n - cl->off);
        cl->n -= cl->off;
        cl->off = 0;
    }
    if (cl->n + len > cl->cap) {
        size_t cap = cl->cap ? cl->cap : 65536;
        while (cap < cl->n + len)
            cap *= 2;
        char *p = realloc(cl->q, cap);
        if (!p) {
            cl->dead = 1;
            return;
        }
        cl->q = p;
        cl->cap = cap;
    }
    memcpy(cl->q + cl->n, line, len);
    cl->n += len;
    client_flush(cl);
}

static void client_send(client *cl, const sv_msg *m)
{
    size_t len;
    char *line = sv_encode(m, &len);
    if (!line) {
        logf_("a %s frame for %s could not be encoded (out of memory or too large)", sv_msg_type_name(m->type),
              cl->who);
        return;
    }
    client_send_raw(cl, line, len);
    free(line);
}

/* Send m to every client whose role is in the mask (1 << role). */
static void broadcast(const sv_msg *m, unsigned roles)
{
    char *line = NULL;
    size_t len = 0;
    for (client *cl = V.clients; cl; cl = cl->next) {
        if (cl->dead || cl->closing || !(roles & (1u << cl->role)))
            continue;
        if (!line && !(line = sv_encode(m, &len)))
            return;
        client_send_raw(cl, line, len);
    }
    free(line);
}

static void send_error(client *cl, const char *code, const char *msg)
{
    sv_msg m;
    sv_msg_init(&m, SV_MSG_ERROR);
    snprintf(m.code, sizeof m.code, "%s", code);
    m.text = (char *)(uintptr_t)msg;
    client_send(cl, &m);
    logf_("%s: refused a frame (%s): %s", cl->who[0] ? cl->who : "a client", code, msg);
}

static void send_bye(client *cl, const char *msg)
{
    sv_msg m;
    sv_msg_init(&m, SV_MSG_BYE);
    m.text = (char *)(uintptr_t)msg;
    client_send(cl, &m);
    cl->closing = 1;
}

/* ---- the console's output and events ---- */

static const char *kind_word(con_out_kind k)
{
    static const char *const w[] = {"result", "info", "error", "progress", "event", "change"};
    return (unsigned)k < 6 ? w[k] : "?";
}

static void srv_out(void *ud, con_out_kind kind, const char *text)
{
    (void)ud;
    logf_("%s%s%s%s: %s", V.author[0] ? "[" : "", V.author, V.author[0] ? "] " : "", kind_word(kind), text);
    if (V.start_fd >= 0) {
        dprintf(V.start_fd, "%s%s\n", kind == CON_OUT_ERROR ? "error: " : "", text);
        return;
    }
    sv_msg m;
    sv_msg_init(&m, SV_MSG_OUT);
    m.kind = (int)kind;
    m.text = (char *)(uintptr_t)text;
    if (V.cur) {
        m.id = V.cur_id;
        client_send(V.cur, &m);
    } else {
        m.id = 0; /* not the answer to a command: every attached console shows it */
        broadcast(&m, 1u << ROLE_ATTACH | 1u << ROLE_WATCH);
    }
}

static void srv_event(void *ud, const sm_session_event *ev)
{
    (void)ud;
    char text[8192];
    /* while a command waits for the run (`wait`, `step N`), what the run does is nobody's */
    const char *by = V.c.waiting ? "" : V.author;
    size_t n = con_event_text(ev, text, sizeof text);
    if (ev->kind == SM_EVENT_CHANGE)
        logf_("[%s] change: %s %s -> %s after step %lld", by[0] ? by : "run", ev->name ? ev->name : "?",
              ev->old_value ? ev->old_value : "?", ev->new_value ? ev->new_value : "?", (long long)ev->step);
    else if (n)
        logf_("event %s: %s", sm_event_kind_name(ev->kind), text);
    sv_msg m;
    sv_msg_init(&m, SV_MSG_EVENT);
    m.ev = *ev;
    snprintf(m.by, sizeof m.by, "%s", by);
    broadcast(&m, 1u << ROLE_ATTACH | 1u << ROLE_WATCH);
    /* m.ev's strings are the caller's: nothing to free */
}

static void push_records(int force);
static void send_status(client *only);

static void accept_clients(void);
static void client_drain(client *cl);
static void client_read(client *cl);

/* While a client's command waits for the run (`wait`, `step N`, `train` with train_wait), the loop
 * below is not running: from here every client's records, status and queued output keep moving,
 * new connections are accepted and greeted, and frames are read. A command that came meanwhile
 * runs at once when it only reads (show, get, help, echo: they would run while training anyway),
 * even with others' commands held (a monitor's `show status` does not wait behind them; a held
 * client's own later frames are not read until its held command ran); any other is held, and the
 * held ones run in arrival order once the waiting command ends, as a local console runs what was
 * typed during a `wait` after it. */
static void srv_tick(void *ud)
{
    (void)ud;
    if (!V.in_cmd || V.in_tick)
        return;
    V.in_tick = 1;
    send_status(NULL); /* a new state before the records of the steps taken in it */
    push_records(0);
    for (client *cl = V.clients; cl; cl = cl->next)
        if (cl->off < cl->n)
            client_flush(cl);
    struct pollfd pf[1 + MAX_CLIENTS];
    client *who[1 + MAX_CLIENTS];
    nfds_t n = 0;
    pf[n++] = (struct pollfd){V.lfd, POLLIN, 0};
    for (client *cl = V.clients; cl && n < 1 + MAX_CLIENTS; cl = cl->next) {
        if (cl->dead || cl->held) /* a held client's later frames wait for its held command */
            continue;
        who[n] = cl;
        pf[n++] = (struct pollfd){cl->fd, POLLIN, 0};
    }
    if (poll(pf, n, 0) > 0) {
        for (nfds_t i = 1; i < n; i++)
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
                client_read(who[i]);
        if (pf[0].revents & POLLIN)
            accept_clients();
    }
    /* frames already read but not yet handled (an interrupt that came in one read with the
       waiting command: the waiting client's own drain is further up the stack) */
    for (client *cl = V.clients; cl; cl = cl->next)
        if (!cl->dead && !cl->held && (cl->in.start < cl->in.line_end || cl->in.overflowed))
            client_drain(cl);
    V.in_tick = 0;
}

static const con_host srv_host = {.theme = NULL, .event = srv_event, .tick = srv_tick};

/* ---- status and records ---- */

/* The lengths of the backend's histories (a copy of nothing: a real buffer, capacity 0). */
static void history_len(size_t *steps, size_t *evals)
{
    sm_step_record s1;
    sm_eval_record e1;
    *steps = *evals = 0;
    if (V.c.be && V.c.be->steps)
        V.c.be->steps(V.c.be_ud, 0, &s1, 0, steps);
    if (V.c.be && V.c.be->evals)
        V.c.be->evals(V.c.be_ud, 0, &e1, 0, evals);
}

static void status_fill(sv_status *s)
{
    memset(s, 0, sizeof *s);
    con_status st;
    con_status_get(&V.c, &st);
    s->state = (int)st.state;
    s->step = st.step;
    s->planned = st.planned;
    s->unsaved = st.unsaved;
    s->epoch = st.epoch;
    s->has_step = st.has_step;
    s->last = st.last;
    s->has_eval = st.has_eval;
    if (st.has_eval)
        s->eval = st.eval;
    else
        sm_eval_record_init(&s->eval);
    memcpy(s->model, st.model, sizeof s->model);
    memcpy(s->data, st.data, sizeof s->data);
    snprintf(s->branch, sizeof s->branch, "%s", st.branch);
    s->explore_variant = st.explore_variant;
    s->explore_total = st.explore_total;
    s->eval_done = st.eval_done;
    s->eval_total = st.eval_total;
    s->evals_left = st.evals_left;
    for (int i = 0; i < SM_HP_COUNT; i++) {
        s->hp[i] = V.c.hp.v[i];
        s->hp_changed_at[i] = V.c.hp_changed_at[i];
    }
    int n = 0;
    for (client *cl = V.clients; cl; cl = cl->next)
        n += !cl->dead && (cl->role == ROLE_ATTACH || cl->role == ROLE_WATCH || cl->role == ROLE_CTL);
    s->clients = n;
    s->ui_fps = V.c.set.ui_fps;
    s->total_steps = (int64_t)V.sent_steps;
}

static void send_status(client *only)
{
    sv_msg m;
    sv_msg_init(&m, SV_MSG_STATUS);
    status_fill(&m.st);
    if (only) {
        client_send(only, &m);
        return;
    }
    double now = sm_now();
    if (!memcmp(&m.st, &V.last_status, sizeof m.st) && now - V.last_status_t < 5)
        return;
    /* the step count changes all the time: at most five a second; a new state (running, paused,
       stepping) goes at once, so that a console's Ctrl-C knows whether there is a run to pause */
    if (now - V.last_status_t < 0.2 && m.st.state == V.last_status.state)
        return;
    V.last_status = m.st;
    V.last_status_t = now;
    broadcast(&m, 1u << ROLE_ATTACH | 1u << ROLE_WATCH);
}

/* The whole history (the steps reduced to at most cl->history points, the last kept), in chunks. */
static void send_history(client *cl)
{
    const con_backend *be = V.c.be;
    sm_step_record *steps = NULL;
    sm_eval_record *evals = NULL;
    size_t ns = 0, ne = 0, total = 0;
    size_t te = 0;
    history_len(&total, &te);
    if (be && be->steps) {
        steps = total ? malloc(total * sizeof *steps) : NULL;
        if (steps)
            ns = be->steps(V.c.be_ud, 0, steps, total, &total);
    }
    size_t all_steps = ns;
    if (be && be->evals) {
        evals = te ? malloc(te * sizeof *evals) : NULL;
        if (evals)
            ne = be->evals(V.c.be_ud, 0, evals, te, &te);
    }
    size_t max = cl->history > 0 ? (size_t)cl->history : HISTORY_DEFAULT;
    ns = sv_decimate_steps(steps, ns, max);
    size_t is = 0, ie = 0;
    int first = 1;
    do {
        sv_msg m;
        sv_msg_init(&m, SV_MSG_HISTORY);
        m.first = first;
        first = 0;
        m.n_steps = ns - is < SV_HISTORY_CHUNK ? ns - is : SV_HISTORY_CHUNK;
        m.steps = m.n_steps ? steps + is : NULL;
        is += m.n_steps;
        m.n_evals = ne - ie < SV_HISTORY_CHUNK ? ne - ie : SV_HISTORY_CHUNK;
        m.evals = m.n_evals ? evals + ie : NULL;
        ie += m.n_evals;
        m.total = (int64_t)all_steps;
        m.last = is == ns && ie == ne;
        client_send(cl, &m);
    } while ((is < ns || ie < ne) && !cl->dead);
    free(steps);
    free(evals);
}

/* The branches with their records, one branch frame each (steps reduced like the history, the
 * latest evaluations), for a client's compare view; a single frame with count 0 when there are none. */
static void send_branches(client *cl)
{
    const con_backend *be = V.c.be;
    sm_branch_info *b = NULL;
    size_t n = be && be->branches && be->branch_records ? be->branches(V.c.be_ud, &b) : 0;
    if (!b)
        n = 0;
    sv_msg m;
    if (!n) {
        sv_msg_init(&m, SV_MSG_BRANCH);
        client_send(cl, &m);
    }
    for (size_t i = 0; i < n && !cl->dead; i++) {
        sv_msg_init(&m, SV_MSG_BRANCH);
        m.index = (int64_t)i;
        m.count = (int64_t)n;
        snprintf(m.name, sizeof m.name, "%s", b[i].name);
        sm_branch_knobs(&b[i].hp, &b[i].fork_hp, m.knobs, sizeof m.knobs);
        m.fork_step = b[i].fork_step;
        m.active = b[i].active;
        sm_error e;
        if (be->branch_records(V.c.be_ud, b[i].name, &m.steps, &m.n_steps, &m.evals, &m.n_evals, &e) != SM_OK) {
            m.steps = NULL;
            m.evals = NULL;
            m.n_steps = m.n_evals = 0;
        }
        m.n_steps = sv_decimate_steps(m.steps, m.n_steps, SV_BRANCH_STEPS);
        if (m.n_evals > SV_BRANCH_EVALS) {
            memmove(m.evals, m.evals + (m.n_evals - SV_BRANCH_EVALS), SV_BRANCH_EVALS * sizeof *m.evals);
            m.n_evals = SV_BRANCH_EVALS;
        }
        client_send(cl, &m);
        free(m.steps);
        free(m.evals);
    }
    free(b);
}

/* New step and evaluation records since the last call go to every attached and watching client,
 * coalesced per flush interval (FLUSH_S) unless forced (after a command, at the end);
 * a history that became shorter (a rewind, a replay) is sent again whole to the attached ones. */
static void push_records(int force)
{
    const con_backend *be = V.c.be;
    if (!be || !be->steps || !be->evals)
        return;
    size_t total = 0;
    static sm_step_record sbuf[LIVE_CHUNK]; /* the main thread's only: off its stack */
    sm_eval_record ebuf[64];
    size_t te = 0;
    history_len(&total, &te);
    if (total < V.sent_steps || te < V.sent_evals) {
        V.sent_steps = total;
        V.sent_evals = te;
        for (client *cl = V.clients; cl; cl = cl->next)
            if (cl->role == ROLE_ATTACH && !cl->dead && !cl->closing)
                send_history(cl);
        return;
    }
    /* coalesced: whatever the loop's wakeups, the records of a flush interval go out together, in
       one frame (a few when a fast run made more than LIVE_CHUNK), encoded once for every client */
    double now = sm_now();
    if (!force && now - V.last_push < FLUSH_S)
        return;
    V.last_push = now;
    for (int rounds = 0; rounds < 16; rounds++) {
        size_t k = be->steps(V.c.be_ud, V.sent_steps, sbuf, LIVE_CHUNK, &total);
        size_t ke = be->evals(V.c.be_ud, V.sent_evals, ebuf, 64, &te);
        if (!k && !ke)
            break;
        sv_msg m;
        sv_msg_init(&m, SV_MSG_HISTORY);
        m.steps = k ? sbuf : NULL;
        m.n_steps = k;
        m.evals = ke ? ebuf : NULL;
        m.n_evals = ke;
        V.sent_steps += k;
        V.sent_evals += ke;
        m.total = (int64_t)V.sent_steps;
        broadcast(&m, 1u << ROLE_ATTACH | 1u << ROLE_WATCH);
    }
}

/* ---- commands ---- */

static int read_only(const char *word)
{
    static const char *const ro[] = {"help", "get", "show", "echo", "predict", "export", "theme", "wait", NULL};
    for (int i = 0; ro[i]; i++)
        if (!strcmp(word, ro[i]))
            return 1;
    return 0;
}

/* The line's commands as the console splits them (parse.h: quotes, escapes, `;`, comments; words
 * of any length): *first receives the first command's words and *first_at where that command
 * starts in line (the caller frees first); *all_ro is 1 when pred holds for every command's name. Returns
 * how many commands the line holds, or -1 when it does not split (the console reports where). */
static int line_commands(const char *line, con_tokens *first, size_t *first_at, int (*pred)(const char *),
                         int *all_ro)
{
    size_t len = strlen(line), off = 0;
    int n = 0;
    first->argc = 0;
    first->argv[0] = NULL;
    first->buf = NULL;
    *first_at = 0;
    *all_ro = 1;
    while (off < len) {
        con_tokens t;
        size_t rest;
        char err[128];
        int col;
        if (con_tokenize(line + off, len - off, &t, &rest, err, sizeof err, &col)) {
            con_tokens_free(&t);
            con_tokens_free(first);
            return -1;
        }
        if (t.argc) {
            if (!pred(t.argv[0]))
                *all_ro = 0;
            if (!n++) {
                *first = t;
                *first_at = off;
                t.buf = NULL;
            }
        }
        con_tokens_free(&t);
        if (!rest)
            break;
        off += rest;
    }
    return n;
}

static int is_yes(const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strcspn(line, " \t\r\n");
    const char *end = line + n;
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    return !*end && ((n == 1 && (line[0] == 'y' || line[0] == 'Y')) || (n == 3 && !strncasecmp(line, "yes", 3)));
}

/* The reply to command id; ask (NULL none): the prompt of the question its next line answers. */
static void reply_ask(client *cl, int64_t id, int status, const char *ask)
{
    sv_msg m;
    sv_msg_init(&m, SV_MSG_REPLY);
    m.id = id;
    m.status = status;
    if (ask)
        snprintf(m.ask, sizeof m.ask, "%s", ask);
    client_send(cl, &m);
}

static void reply(client *cl, int64_t id, int status) { reply_ask(cl, id, status, NULL); }

static void out_to(client *cl, int64_t id, con_out_kind kind, const char *text)
{
    sv_msg m;
    sv_msg_init(&m, SV_MSG_OUT);
    m.id = id;
    m.kind = (int)kind;
    m.text = (char *)(uintptr_t)text;
    client_send(cl, &m);
}

/* Run a line as the console would, its output to cl. Returns its status. */
static int run_line(client *cl, int64_t id, const char *line)
{
    V.cur = cl;
    V.cur_id = id;
    /* the author its events name; a local console is the session's one author: none named */
    snprintf(V.author, sizeof V.author, "%s", cl->local ? "" : cl->who);
    int outer = V.in_cmd;
    V.in_cmd = 1;
    int rc = con_exec_line(&V.c, line);
    V.in_cmd = outer;
    con_tick(&V.c, 0); /* the events it caused carry its author */
    push_records(1);  /* what the command trained (`step 5`) is there before its reply */
    V.cur = NULL;
    V.author[0] = '\0';
    return rc;
}

/* While a client's command waits for the run (`wait`, `step N`), which may be for ever: pause the run,
 * which ends the wait, so that the server can end (and a save is of the run as it stopped). 1 when it
 * paused it. */
static int pause_the_wait(void)
{
    if (!V.in_cmd || !V.c.be || !V.c.be->pause)
        return 0;
    con_status st;
    con_status_get(&V.c, &st);
    if (st.state != CON_RUN_RUNNING && st.state != CON_RUN_STEPPING)
        return 0;
    sm_error e;
    if (V.c.be->pause(V.c.be_ud, &e) != SM_OK) {
        logf_("shutdown: pause: %s", e.msg);
        return 0;
    }
    return 1;
}

/* A server that shuts down does not wait for another client's `eval` (seconds to minutes on a large
 * dev set): it ends before its next batch, and its client is told so ("evaluation interrupted"). */
static void end_their_eval(client *cl, int64_t id)
{
    if (V.in_cmd && V.c.be && V.c.be->cancel_eval && V.c.be->cancel_eval(V.c.be_ud))
        out_to(cl, id, CON_OUT_INFO, "shutdown: the evaluation another client runs ends early");
}

static void shut_down(client *cl, int64_t id)
{
    pause_the_wait();
    end_their_eval(cl, id);
    out_to(cl, id, CON_OUT_INFO, "the server shuts down");
    reply(cl, id, 0);
    V.stop = 1;
    snprintf(V.stop_msg, sizeof V.stop_msg, "the server '%s' was shut down by %s", V.name, cl->who);
}

/* `shutdown`, `shutdown force`, `shutdown save DIR`: t is the command's words, cmd its text. Unsaved
 * training is asked about when the client can answer (its hello said confirm), as a local console's
 * `quit` asks; anyone else is refused with the ways out. */
static void handle_shutdown(client *cl, int64_t id, const con_tokens *t, const char *cmd)
{
    int force = t->argc == 2 && !strcmp(t->argv[1], "force");
    if (!(t->argc == 1 || force || (t->argc == 3 && !strcmp(t->argv[1], "save")))) {
        out_to(cl, id, CON_OUT_ERROR, "shutdown: usage: `shutdown`, `shutdown save DIR` or `shutdown force`");
        reply(cl, id, 1);
        return;
    }
    if (t->argc == 3) {
        int paused = pause_the_wait(); /* the save is of the run as it stopped: no step after it is lost */
        end_their_eval(cl, id);        /* the save waits behind it (shut_down then finds none) */
        /* `save DIR` as typed, so the console reads DIR (quotes, escapes, ~) as it reads it locally */
        if (run_line(cl, id, cmd + t->col[1]) != 0) {
            out_to(cl, id, CON_OUT_ERROR, paused ? "shutdown: the save failed: the server goes on, its run paused "
                                                   "(`resume` continues it)"
                                                 : "shutdown: the save failed: the server goes on");
            reply(cl, id, 1);
            return;
        }
    } else if (!force) {
        con_status st;
        con_status_get(&V.c, &st);
        if (st.unsaved > 0) {
            char msg[300];
            const char *s = st.unsaved == 1 ? "" : "s", *are = st.unsaved == 1 ? "is" : "are";
            if (cl->confirm) {
                snprintf(msg, sizeof msg, "%lld step%s of training %s unsaved (`shutdown save DIR` keeps them). "
                         "Shut down anyway? [y/N]", (long long)st.unsaved, s, are);
                out_to(cl, id, CON_OUT_INFO, msg);
                cl->asking = ASK_SHUTDOWN;
                reply_ask(cl, id, 0, "shut down and lose the unsaved training? [y/N] ");
                return;
            }
            snprintf(msg, sizeof msg, "shutdown: %lld step%s of training %s unsaved: `shutdown save DIR` keeps "
                     "them, `shutdown force` ends without saving", (long long)st.unsaved, s, are);
            out_to(cl, id, CON_OUT_ERROR, msg);
            reply(cl, id, 1);
            return;
        }
    }
    shut_down(cl, id);
}

/* After a local console's command: `quit` asked its question (the next line answers it, as at the
 * local prompt) or ended the session. */
static void local_after(client *cl, int64_t id, int rc)
{
    if (V.c.confirm_quit) {
        cl->asking = ASK_QUIT;
        reply_ask(cl, id, rc, con_prompt(&V.c));
        return;
    }
    reply(cl, id, rc);
    send_status(cl);
    if (V.c.quit) {
        V.stop = 1;
        snprintf(V.stop_msg, sizeof V.stop_msg, "quit");
    }
}

static void handle_cmd(client *cl, int64_t id, const char *line)
{
    if (cl->asking == ASK_QUIT) { /* a local console's answer to `quit`'s question: the console takes it */
        cl->asking = ASK_NONE;
        local_after(cl, id, run_line(cl, id, line));
        return;
    }
    if (cl->asking == ASK_SHUTDOWN) { /* the answer to `shutdown`'s question, whatever the line says */
        cl->asking = ASK_NONE;
        if (is_yes(line)) {
            shut_down(cl, id);
        } else {
            out_to(cl, id, CON_OUT_INFO, "not shutting down: the server goes on");
            reply(cl, id, 0);
        }
        return;
    }
    con_tokens t;
    size_t at;
    int all_ro;
    int n = line_commands(line, &t, &at, read_only, &all_ro);
    int alone = n == 1; /* the line's only command: the server's own words are answered here */
    if (cl->local && alone && !strcmp(t.argv[0], "detach")) {
        con_tokens_free(&t);
        out_to(cl, id, CON_OUT_ERROR, "detach: this console's run lives in this process and ends with it (`quit`); "
               "`smartty serve` starts a run that outlives the terminal, to attach to and detach from");
        reply(cl, id, 1);
        return;
    }
    if (cl->local && n >= 1) { /* the console of this process: its lines run as a local console's */
        con_tokens_free(&t);
        local_after(cl, id, run_line(cl, id, line));
        return;
    }
    if (alone && t.argc <= 2 && (!strcmp(t.argv[0], "detach") || !strcmp(t.argv[0], "quit"))) {
        con_tokens_free(&t);
        out_to(cl, id, CON_OUT_INFO, "detached: the run goes on (`smartty attach` comes back)");
        reply(cl, id, 0);
        send_bye(cl, "detached");
        return;
    }
    if (alone && !strcmp(t.argv[0], "shutdown")) {
        handle_shutdown(cl, id, &t, line + at);
        con_tokens_free(&t);
        return;
    }
    int help = alone && t.argc == 1 && !strcmp(t.argv[0], "help");
    con_tokens_free(&t);
    if (n >= 1 && !all_ro && V.c.be && V.c.be->journal) {
        /* the journal records who asked (replay skips these marks) */
        const char *args[2] = {cl->who, line};
        sm_error e;
        if (V.c.be->journal(V.c.be_ud, "by", 2, args, &e) != SM_OK)
            logf_("journal: %s", e.msg);
    }
    int rc = run_line(cl, id, line);
    if (help)
        out_to(cl, id, CON_OUT_RESULT, "attached to a run server:\n"
               "  detach                                   leave, the run goes on (also quit, F10, closing the terminal)\n"
               "  shutdown [save DIR | force]              end the server (with unsaved training: asks in an\n"
               "                                           attached terminal, refused from ctl and scripts)");
    if (V.c.quit) { /* `quit` inside a longer line: the client leaves, the run stays */
        V.c.quit = 0;
        V.c.confirm_quit = 0;
        send_bye(cl, "detached");
    }
    V.c.confirm_quit = 0;
    reply(cl, id, rc);
    send_status(cl);
}

/* Commands that only read the run: they may run while another client's command waits. */
static int reads_only(const char *word)
{
    return !strcmp(word, "show") || !strcmp(word, "get") || !strcmp(word, "help") || !strcmp(word, "echo");
}

/* A command line that came while another client's command waits (V.in_cmd): run it now when it
 * only reads and nothing is held before it, or when it is `pause` alone (what Ctrl-C in an attached
 * console sends: it pauses at once and ends the wait, as a local console's Ctrl-C in a wait does),
 * else hold it (takes *line). */
static void cmd_during_wait(client *cl, int64_t id, char **line)
{
    con_tokens t;
    size_t at;
    int all = 0;
    int n = !cl->asking ? line_commands(*line, &t, &at, reads_only, &all) : 0;
    int pause_now = n == 1 && t.argc == 1 && !strcmp(t.argv[0], "pause");
    /* `shutdown` and the answer to its question are not held either: the wait may never end (a
       shutdown that goes ahead pauses the run, which ends the wait) */
    int shutdown_now = cl->asking == ASK_SHUTDOWN || (n == 1 && !strcmp(t.argv[0], "shutdown"));
    if (n > 0)
        con_tokens_free(&t);
    if (pause_now || shutdown_now || (n > 0 && all && cl != V.cur)) {
        client *cur = V.cur;
        int64_t cur_id = V.cur_id;
        char author[sizeof V.author];
        memcpy(author, V.author, sizeof author);
        int waiting = V.c.waiting, stopped = V.stop;
        V.c.waiting = 0; /* its events are its own */
        handle_cmd(cl, id, *line);
        V.c.waiting = waiting;
        V.cur = cur;
        V.cur_id = cur_id;
        memcpy(V.author, author, sizeof author);
        if (V.stop && !stopped && cur && cur != cl) { /* the waiting command learns why its wait ends */
            char msg[sizeof V.stop_msg + 40];
            snprintf(msg, sizeof msg, "%s: the wait ends", V.stop_msg);
            out_to(cur, cur_id, CON_OUT_INFO, msg);
        }
        return;
    }
    cl->held = *line;
    *line = NULL;
    cl->held_id = id;
    cl->held_seq = ++V.held_seq;
    V.nheld++;
}


/* The held commands, in arrival order, then the frames that waited behind them (which may hold
 * others again, when one of them waits: then those). */
static void run_held(void)
{
    do {
        while (V.nheld && !V.stop) {
            client *first = NULL;
            for (client *cl = V.clients; cl; cl = cl->next)
                if (cl->held && (!first || cl->held_seq < first->held_seq))
                    first = cl;
            if (!first)
                break;
            char *line = first->held;
            first->held = NULL;
            V.nheld--;
            if (!first->dead)
                handle_cmd(first, first->held_id, line);
            free(line);
        }
        for (client *cl = V.clients; cl && !V.stop; cl = cl->next)
            if (!cl->held)
                client_drain(cl);
    } while (V.nheld && !V.stop);
}

static void complete_add(void *ud, const char *w)
{
    sv_msg *m = ud;
    for (size_t i = 0; i < m->n_words; i++)
        if (!strcmp(m->words[i], w))
            return;
    sv_msg_add_word(m, w); /* past the caps the rest are left out (docs/protocol.md) */
}

/* A complete frame: the console's candidates for the word at the end of line (read-only, so at
 * any time, during another client's wait too); a file name is said so, the client completes paths
 * (its working folder may differ from the server's). */
static void handle_complete(client *cl, int64_t id, const char *line)
{
    sv_msg m;
    sv_msg_init(&m, SV_MSG_COMPLETION);
    m.id = id;
    m.file = con_complete(&V.c, line, complete_add, &m) ? 1 : 0;
    client_send(cl, &m);
    sv_msg_free(&m);
}

static void handle_frame(client *cl, const char *line, size_t len)
{
    sv_msg m;
    char code[32];
    sm_error e;
    if (sv_decode(line, len, &m, code, &e) != SM_OK) {
        send_error(cl, code, e.msg);
        if (!strcmp(code, "version"))
            send_bye(cl, "wrong protocol version");
        return;
    }
    if (cl->role == ROLE_NONE) {
        if (m.type != SV_MSG_HELLO) {
            send_error(cl, "state", "the first frame must be a hello");
        } else {
            int role = !strcmp(m.role, "attach") ? ROLE_ATTACH : !strcmp(m.role, "watch") ? ROLE_WATCH
                     : !strcmp(m.role, "ctl")    ? ROLE_CTL    : !strcmp(m.role, "ls") ? ROLE_LS : ROLE_NONE;
            if (role == ROLE_NONE) {
                send_error(cl, "malformed", "hello: role must be attach, watch, ctl or ls");
            } else {
                cl->role = role;
                snprintf(cl->who, sizeof cl->who, "%s", m.who[0] ? m.who : "?");
                cl->history = m.history > HISTORY_MAX ? HISTORY_MAX : m.history;
                cl->confirm = m.confirm && role == ROLE_ATTACH;
                sv_msg h;
                sv_msg_init(&h, SV_MSG_HELLO);
                snprintf(h.who, sizeof h.who, "%s", V.name);
                h.pid = getpid();
                h.started = (int64_t)V.started;
                client_send(cl, &h);
                send_status(cl);
                if (role == ROLE_ATTACH)
                    send_history(cl);
                if (cl->local && V.notice) { /* what the console says on opening (autosaves found) */
                    out_to(cl, 0, CON_OUT_INFO, V.notice);
                    free(V.notice);
                    V.notice = NULL;
                }
                if (role == ROLE_LS)
                    send_bye(cl, "listed");
                if (role != ROLE_LS)
                    logf_("%s: %s (uid %ld, pid %ld)", cl->who, m.role, cl->uid, cl->pid);
            }
        }
    } else if (m.type == SV_MSG_CMD) {
        if (cl->role == ROLE_WATCH || cl->role == ROLE_LS)
            send_error(cl, "state", "this connection is read-only (watch): use `smartty attach` or `smartty ctl`");
        else if (V.in_cmd)
            cmd_during_wait(cl, m.id, &m.text);
        else
            handle_cmd(cl, m.id, m.text);
    } else if (m.type == SV_MSG_DETACH) {
        send_bye(cl, "detached");
    } else if (m.type == SV_MSG_INTR && (cl->role == ROLE_ATTACH || cl->role == ROLE_CTL)) {
        /* Ctrl-C in a console: a command that waits for the run (`wait`, `step N`) ends and the run
           pauses, as in a local console; else a running training pauses (con_handle_signals) */
        if (V.in_cmd) {
            V.intr = 1; /* con_wait_run pauses the run and returns */
        } else {
            V.cur = cl;
            V.cur_id = 0;
            snprintf(V.author, sizeof V.author, "%s", cl->local ? "" : cl->who);
            if (con_interrupt(&V.c)) {
                con_tick(&V.c, 0);
                send_status(cl); /* its console knows at once (a second Ctrl-C then clears the line) */
                send_status(NULL);
            }
            V.cur = NULL;
            V.author[0] = '\0';
        }
    } else if (m.type == SV_MSG_BRANCHES && cl->role != ROLE_LS) {
        send_branches(cl);
    } else if (m.type == SV_MSG_COMPLETE && cl->role != ROLE_LS) {
        handle_complete(cl, m.id, m.text);
    } else if (m.type == SV_MSG_HELLO) {
        send_error(cl, "state", "hello was already said");
    } else {
        char msg[96];
        snprintf(msg, sizeof msg, "a client does not send %s frames", sv_msg_type_name(m.type));
        send_error(cl, "unknown_type", msg);
    }
    sv_msg_free(&m);
}

/* The whole frames cl has sent and that are read (none after a held command: they wait for it). */
static void client_drain(client *cl)
{
    const char *line;
    size_t len;
    int r;
    while (!cl->dead && !cl->closing && !cl->held && (r = sv_lines_next(&cl->in, &line, &len)) != 0) {
        if (r < 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "the frame is over the limit of %d bytes: dropped", SV_FRAME_MAX);
            send_error(cl, "too_large", msg);
        } else {
            handle_frame(cl, line, len);
        }
    }
}

static void client_read(client *cl)
{
    char buf[65536];
    for (int rounds = 0; rounds < 4 && !cl->dead && !cl->held; rounds++) {
        ssize_t k = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            if (sv_lines_pending(&cl->in))
                logf_("%s: the connection ended in the middle of a frame (%zu bytes dropped)",
                      cl->who[0] ? cl->who : "a client", sv_lines_pending(&cl->in));
            cl->dead = 1;
            return;
        }
        if (sv_lines_feed(&cl->in, buf, (size_t)k)) {
            cl->dead = 1;
            return;
        }
        client_drain(cl);
    }
}

static void client_free(client *cl)
{
    if (cl->role == ROLE_ATTACH || cl->role == ROLE_WATCH || cl->role == ROLE_CTL)
        logf_("%s: left", cl->who);
    close(cl->fd);
    sv_lines_free(&cl->in);
    if (cl->held)
        V.nheld--;
    free(cl->held);
    free(cl->q);
    free(cl);
}

/* A new connection's client (its hello still to come), first in the list; NULL out of memory. */
static client *client_add(int fd, long uid, long pid)
{
    client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    cl->fd = fd;
    cl->uid = uid;
    cl->pid = pid;
    sv_lines_init(&cl->in);
    cl->next = V.clients;
    V.clients = cl;
    V.nclients++;
    return cl;
}

static void accept_clients(void)
{
    for (;;) {
        int fd = accept4(V.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct ucred cr;
        socklen_t cl_len = sizeof cr;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl_len) != 0) {
            logf_("refused a connection: SO_PEERCRED: %s", strerror(errno));
            close(fd);
            continue;
        }
        if (cr.uid != getuid() && cr.uid != 0) {
            logf_("refused a connection from uid %ld (pid %ld): only uid %ld and root may connect", (long)cr.uid,
                  (long)cr.pid, (long)getuid());
            char msg[256];
            int n = snprintf(msg, sizeof msg, "{\"type\":\"error\",\"code\":\"refused\",\"msg\":\"refused: uid %ld "
                             "does not own this run (only uid %ld and root may connect)\"}\n",
                             (long)cr.uid, (long)getuid());
            send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        if (V.nclients >= MAX_CLIENTS) {
            static const char full[] = "{\"type\":\"error\",\"code\":\"state\",\"msg\":\"too many clients\"}\n";
            send(fd, full, sizeof full - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        if (!client_add(fd, (long)cr.uid, (long)cr.pid))
            close(fd);
    }
}

static void reap_clients(void)
{
    client **pp = &V.clients;
    while (*pp) {
        client *cl = *pp;
        if (cl->closing && cl->off == cl->n)
            cl->dead = 1;
        if (cl->dead) {
            *pp = cl->next;
            V.nclients--;
            client_free(cl);
        } else {
            pp = &cl->next;
        }
    }
}

/* ---- the socket ---- */

static int listen_on(const char *name, char *err, size_t cap)
{
    sm_error e;
    if (sv_sock_path(V.path, sizeof V.path, name, 1, &e) != SM_OK) {
        snprintf(err, cap, "%s", e.msg);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, cap, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, V.path, strlen(V.path) + 1);
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc != 0 && errno == EADDRINUSE) {
        int stale = 0, c = sv_connect(name, &stale, &e);
        if (c >= 0) {
            close(c);
            umask(old);
            close(fd);
            snprintf(err, cap, "a server named '%s' is already running (%s): choose another --name, or "
                     "`smartty ctl %s shutdown`", name, V.path, name);
            return -1;
        }
        if (stale) {
            logf_("removed the stale socket %s", V.path);
            unlink(V.path);
            rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
        } else {
            errno = EADDRINUSE;
        }
    }
    umask(old);
    if (rc != 0 || chmod(V.path, 0600) != 0 || listen(fd, 64) != 0) {
        snprintf(err, cap, "%s: %s", V.path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the server's life ---- */

static void on_term(int sig) { con_sig_quit = sig; }

static void serve_loop(void)
{
    struct pollfd *pf = NULL;
    size_t pcap = 0;
    while (!V.stop) {
        run_held(); /* what came while a command waited, before anything newer */
        reap_clients();
        if (V.stop)
            break;
        size_t n = 1 + (size_t)V.nclients;
        if (n > pcap) {
            struct pollfd *p = realloc(pf, n * sizeof *pf);
            if (!p)
                break;
            pf = p;
            pcap = n;
        }
        pf[0] = (struct pollfd){V.lfd, POLLIN, 0};
        size_t i = 1;
        for (client *cl = V.clients; cl; cl = cl->next, i++)
            pf[i] = (struct pollfd){cl->fd, (short)((cl->held ? 0 : POLLIN) | (cl->off < cl->n ? POLLOUT : 0)), 0};
        int r = poll(pf, n, 100);
        if (r > 0) {
            i = 1;
            for (client *cl = V.clients; cl && i < n; cl = cl->next, i++) {
                if (pf[i].revents & POLLOUT)
                    client_flush(cl);
                if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
                    client_read(cl);
            }
            if (pf[0].revents & POLLIN)
                accept_clients();
        }
        reap_clients();
        if (V.local && !V.clients) { /* the console went without `quit`: keep its training, as a hang-up does */
            char path[1200];
            if (con_autosave(&V.c, path, sizeof path) == 0 && path[0])
                fprintf(stderr, "smartty: the console ended: training saved to %s\n", path);
            break;
        }
        V.intr = 0; /* a Ctrl-C that came as a command ended: it was for that command */
        if (con_handle_signals(&V.c)) {
            snprintf(V.stop_msg, sizeof V.stop_msg, "the server '%s' ended: %s", V.name,
                     con_sig_quit == SIGTERM ? "terminated (SIGTERM; unsaved training was autosaved, see its log)"
                                             : "signal");
            break;
        }
        V.c.quit = 0;
        con_tick(&V.c, V.plain_progress);
        push_records(0);
        send_status(NULL);
    }
    free(pf);
}

static void serve_end(void)
{
    push_records(1); /* the last records before the bye */
    for (client *cl = V.clients; cl; cl = cl->next) {
        if (cl->dead)
            continue;
        if (cl->role != ROLE_NONE && !cl->closing)
            send_bye(cl, V.stop_msg[0] ? V.stop_msg : "the server ended");
        /* a short blocking flush: the last words reach who is listening */
        double end = sm_now() + 1.0;
        while (cl->off < cl->n && !cl->dead && sm_now() < end) {
            struct pollfd p = {cl->fd, POLLOUT, 0};
            poll(&p, 1, 50);
            client_flush(cl);
        }
    }
    while (V.clients) {
        client *cl = V.clients;
        V.clients = cl->next;
        client_free(cl);
    }
    close(V.lfd);
    unlink(V.path);
    logf_("%s", V.stop_msg[0] ? V.stop_msg : "the server ended");
}

/* The server's console over the training session, served or local: a console's Ctrl-C comes as an
 * interrupt frame (V.intr), SIGHUP/SIGTERM through con_sig_quit, errors do not end the run, `train`
 * returns at once, and the session's events go to the clients (srv_host). */
static void session_open(void)
{
    con_init(&V.c, srv_out, NULL);
    con_backend_attach(&V.c);
    V.c.intr = &V.intr;
    V.c.hup = &con_sig_quit;
    V.c.interactive = 1;
    V.c.set.train_wait = 0;
    con_set_host(&V.c, &srv_host, NULL);
}

typedef struct job {
    char kind;
    const char *arg;
} job;

static void usage(FILE *f)
{
    fprintf(f, "usage: smartty serve [--name NAME] [-x FILE]... [-c 'CMD; CMD']... [-e] [--log FILE]\n"
               "  starts a run server detached from the terminal that runs the commands (typically `load model`,\n"
               "  `load train`, `preset`, `train`) and goes on with no client attached; prints the run's name\n"
               "  once it answers. `smartty attach|watch|ctl NAME` connect to it, `smartty ls` lists servers.\n"
               "  --name NAME  the run's name (default: run1, run2, ...: the first free)\n"
               "  --log FILE   where the server's output goes (default $XDG_STATE_HOME/smartty/serve-NAME.log)\n"
               "  --queue BYTES  output held for one client that does not read before it is dropped (16 MiB)\n"
               "exit status: 0 the server runs, 1 it could not start or a start command failed, 2 usage error\n");
}

/* The grandchild: becomes the server. status_fd receives the start commands' output and then a line
 * "\001STATUS N" (N 0 or 1), or closes without it when the server fails before. */
static int server_main(const char *name, const char *logpath, job *jobs, int njobs, int keep_going, int status_fd,
                       size_t queue_max)
{
    int devnull = open("/dev/null", O_RDWR);
    int lf = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (devnull < 0 || lf < 0) {
        dprintf(status_fd, "error: %s: %s\n", lf < 0 ? logpath : "/dev/null", strerror(errno));
        return 1;
    }
    dup2(devnull, STDIN_FILENO);
    dup2(lf, STDOUT_FILENO);
    dup2(lf, STDERR_FILENO);
    close(devnull);
    close(lf);
    memset(&V, 0, sizeof V);
    V.start_fd = status_fd;
    V.lfd = -1;
    V.queue_max = queue_max;
    snprintf(V.name, sizeof V.name, "%s", name);
    V.started = time(NULL);
    char err[700];
    V.lfd = listen_on(name, err, sizeof err);
    if (V.lfd < 0) {
        dprintf(status_fd, "error: %s\n", err);
        logf_("%s", err);
        return 1;
    }
    logf_("server '%s' (pid %ld) listening on %s", name, (long)getpid(), V.path);
    session_open();
    con_signals_install(0);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    V.c.set.confirm = 0;
    if (keep_going)
        V.c.set.on_error = CON_ON_ERROR_CONTINUE;
    int status = 0;
    for (int j = 0; j < njobs; j++) {
        snprintf(V.author, sizeof V.author, "serve");
        int rc = jobs[j].kind == 'c' ? con_exec_line(&V.c, jobs[j].arg) : con_exec_file(&V.c, jobs[j].arg);
        V.author[0] = '\0';
        if (rc) {
            status = 1;
            if (V.c.set.on_error == CON_ON_ERROR_STOP)
                break;
        }
    }
    V.c.quit = 0;
    V.c.confirm_quit = 0; /* confirm stays off: a client's `quit` only detaches it, so nothing to ask */
    con_tick(&V.c, 0);
    int going = !status || V.c.set.on_error != CON_ON_ERROR_STOP;
    dprintf(status_fd, "\001STATUS %d %d\n", status, going);
    close(status_fd);
    V.start_fd = -1;
    if (status && V.c.set.on_error == CON_ON_ERROR_STOP) {
        snprintf(V.stop_msg, sizeof V.stop_msg, "a start command failed: the server '%s' ends", name);
    } else {
        serve_loop();
    }
    serve_end();
    int rc = V.c.exit_status;
    con_backend_detach(&V.c);
    con_free(&V.c);
    return rc;
}

int sv_serve_main(int argc, char **argv)
{
    job jobs[64];
    int njobs = 0, keep_going = 0;
    const char *name = NULL, *logpath = NULL;
    size_t queue_max = QUEUE_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-e")) {
            keep_going = 1;
        } else if ((!strcmp(a, "-x") || !strcmp(a, "-c")) && i + 1 < argc && njobs < 64) {
            jobs[njobs++] = (job){a[1], argv[++i]};
        } else if (!strcmp(a, "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(a, "--log") && i + 1 < argc) {
            logpath = argv[++i];
        } else if (!strcmp(a, "--queue") && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long long q = strtoull(argv[++i], &end, 10);
            if (*end || errno || argv[i][0] == '-' || q < 4096 || q > (1ull << 32)) {
                fprintf(stderr, "smartty serve: --queue wants bytes from 4096 to 4294967296, not '%s'\n", argv[i]);
                return 2;
            }
            queue_max = (size_t)q;
        } else {
            fprintf(stderr, "smartty serve: %s '%s'\n", a[0] == '-' && i + 1 >= argc ? "missing argument after" : "unknown option", a);
            usage(stderr);
            return 2;
        }
    }
    sm_error e;
    char path[512], autoname[16];
    if (name) {
        if (sv_sock_path(path, sizeof path, name, 1, &e) != SM_OK) {
            fprintf(stderr, "smartty serve: %s\n", e.msg);
            return 2;
        }
        int stale = 0, fd = sv_connect(name, &stale, &e);
        if (fd >= 0) {
            close(fd);
            fprintf(stderr, "smartty serve: a server named '%s' is already running (%s): choose another --name, "
                    "or end it with `smartty ctl %s shutdown`\n", name, path, name);
            return 1;
        }
        if (stale) {
            unlink(path);
            fprintf(stderr, "smartty serve: removed the stale socket %s (its server is gone)\n", path);
        }
    } else {
        for (int k = 1; k < 1000 && !name; k++) {
            snprintf(autoname, sizeof autoname, "run%d", k);
            if (sv_sock_path(path, sizeof path, autoname, 1, &e) != SM_OK) {
                fprintf(stderr, "smartty serve: %s\n", e.msg);
                return 1;
            }
            struct stat sb;
            int stale = 0, fd = -1;
            if (lstat(path, &sb) == 0 && (fd = sv_connect(autoname, &stale, &e)) >= 0) {
                close(fd);
                continue;
            }
            if (stale)
                unlink(path);
            name = autoname;
        }
        if (!name) {
            fprintf(stderr, "smartty serve: no free run name: give --name\n");
            return 1;
        }
    }
    char deflog[1200];
    if (!logpath) {
        char leaf[128];
        snprintf(leaf, sizeof leaf, "serve-%s.log", name);
        if (!con_state_path(deflog, sizeof deflog, leaf, 1)) {
            fprintf(stderr, "smartty serve: the state folder's path is too long: give --log FILE\n");
            return 1;
        }
        logpath = deflog;
    }
    int pfd[2];
    if (pipe(pfd) != 0) {
        fprintf(stderr, "smartty serve: pipe: %s\n", strerror(errno));
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "smartty serve: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        close(pfd[0]);
        if (setsid() < 0)
            _exit(1);
        signal(SIGHUP, SIG_IGN);
        pid_t p2 = fork();
        if (p2 < 0)
            _exit(1);
        if (p2 > 0)
            _exit(0);
        _exit(server_main(name, logpath, jobs, njobs, keep_going, pfd[1], queue_max));
    }
    close(pfd[1]);
    waitpid(pid, NULL, 0);
    /* the start commands' output, then the status line */
    char buf[4096];
    size_t have = 0;
    int status = -1, going = 0;
    for (;;) {
        ssize_t k = read(pfd[0], buf + have, sizeof buf - 1 - have);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        have += (size_t)k;
        buf[have] = '\0';
        char *nl;
        while ((nl = memchr(buf, '\n', have))) {
            *nl = '\0';
            if (buf[0] == '\001' && !strncmp(buf + 1, "STATUS ", 7)) {
                if (sscanf(buf + 8, "%d %d", &status, &going) != 2)
                    status = -1;
            } else
                fprintf(!strncmp(buf, "error: ", 7) ? stderr : stdout, "%s\n", buf);
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have - used);
            have -= used;
        }
        if (have == sizeof buf - 1) { /* a very long line: pass it on as it is */
            fwrite(buf, 1, have, stdout);
            have = 0;
        }
    }
    close(pfd[0]);
    if (status < 0) {
        fprintf(stderr, "smartty serve: the server '%s' did not start (its log: %s)\n", name, logpath);
        return 1;
    }
    if (status) {
        fprintf(stderr, "smartty serve: a start command failed: the server '%s' %s (its log: %s)\n", name,
                going ? "runs on (-e)" : "ended", logpath);
        if (going)
            printf("%s\n", name);
        return 1;
    }
    printf("%s\n", name);
    fflush(stdout);
    return 0;
}

/* ---- the local console's server ---- */

static pthread_t local_thread;
static int local_rc;

static void *local_main(void *arg)
{
    (void)arg;
    serve_loop();
    serve_end();
    local_rc = V.c.exit_status;
    con_backend_detach(&V.c);
    con_free(&V.c);
    free(V.notice);
    V.notice = NULL;
    return NULL;
}

int sv_local_start(const char *notice, int plain_progress, int *fd, char *err, size_t cap)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, cap, "socketpair: %s", strerror(errno));
        return 1;
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    memset(&V, 0, sizeof V);
    V.local = 1;
    V.lfd = -1; /* nothing listens: the one client is this process's console */
    V.start_fd = -1;
    V.queue_max = QUEUE_DEFAULT;
    snprintf(V.name, sizeof V.name, "local");
    V.started = time(NULL);
    V.notice = notice && *notice ? strdup(notice) : NULL;
    V.plain_progress = plain_progress;
    client *cl = client_add(sv[0], (long)getuid(), (long)getpid());
    if (!cl) {
        close(sv[0]);
        close(sv[1]);
        snprintf(err, cap, "out of memory");
        return 1;
    }
    cl->local = 1;
    session_open(); /* SIGHUP and SIGTERM: autosave and end, as the console always did */
    int rc = pthread_create(&local_thread, NULL, local_main, NULL);
    if (rc) {
        snprintf(err, cap, "starting the session's thread: %s", strerror(rc));
        con_backend_detach(&V.c);
        con_free(&V.c);
        client_free(cl);
        V.clients = NULL;
        close(sv[1]);
        return 1;
    }
    *fd = sv[1];
    return 0;
}

int sv_local_join(void)
{
    pthread_join(local_thread, NULL);
    return local_rc;
}
