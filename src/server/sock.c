/* sock.c: the sockets' folder, run names, connecting and the clients' blocking frame I/O (sock.h).
 * The server's non-blocking side is server.c's. */
#include "server/sock.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

sm_status sv_sock_dir(char *buf, size_t cap, int create, sm_error *e)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    int n = rt && rt[0] == '/' ? snprintf(buf, cap, "%s/smartty", rt)
                               : snprintf(buf, cap, "/tmp/smartty-%ld", (long)getuid());
    if (n < 0 || (size_t)n >= cap)
        return sm_err(e, SM_ERR_RANGE, "the sockets' folder name is too long ($XDG_RUNTIME_DIR)");
    if (create && mkdir(buf, 0700) != 0 && errno != EEXIST)
        return sm_err(e, SM_ERR_IO, "%s: cannot make the sockets' folder: %s", buf, strerror(errno));
    struct stat sb;
    if (lstat(buf, &sb) != 0)
        return sm_err(e, SM_ERR_IO, "%s: %s", buf, errno == ENOENT ? "no run server has been started here" : strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return sm_err(e, SM_ERR_INVALID, "%s is not a folder: remove it", buf);
    if (sb.st_uid != getuid())
        return sm_err(e, SM_ERR_INVALID, "%s belongs to uid %ld, not to you: the sockets stay unused (set "
                      "XDG_RUNTIME_DIR or remove the folder)", buf, (long)sb.st_uid);
    if ((sb.st_mode & 0777) != 0700 && chmod(buf, 0700) != 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot make it private (mode 0700): %s", buf, strerror(errno));
    return SM_OK;
}

int sv_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (!n || n > 64 || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

sm_status sv_name_check(const char *name, sm_error *e)
{
    if (!sv_name_ok(name))
        return sm_err(e, SM_ERR_INVALID, "'%s' is not a run name: use 1 to 64 letters, digits, '_', '.' or "
                      "'-' (not first)", name);
    return SM_OK;
}

sm_status sv_sock_path(char *buf, size_t cap, const char *name, int create, sm_error *e)
{
    if (sv_name_check(name, e) != SM_OK)
        return SM_ERR_INVALID;
    char dir[512];
    sm_status st = sv_sock_dir(dir, sizeof dir, create, e);
    if (st != SM_OK)
        return st;
    struct sockaddr_un sa;
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap || (size_t)n >= sizeof sa.sun_path)
        return sm_err(e, SM_ERR_RANGE, "%s/%s: too long for a socket (at most %zu bytes)", dir, name,
                      sizeof sa.sun_path - 1);
    return SM_OK;
}

int sv_connect(const char *name, int *stale, sm_error *e)
{
    char path[512];
    if (stale)
        *stale = 0;
    if (sv_sock_path(path, sizeof path, name, 0, e) != SM_OK)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sm_err(e, SM_ERR_IO, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        if (err == ECONNREFUSED && stale)
            *stale = 1;
        if (err == ENOENT)
            sm_err(e, SM_ERR_IO, "no run server named '%s' (`smartty ls` lists them)", name);
        else if (err == ECONNREFUSED)
            sm_err(e, SM_ERR_IO, "the server '%s' is gone (its socket %s is stale: `smartty ls` removes it)",
                   name, path);
        else
            sm_err(e, SM_ERR_IO, "%s: %s", path, strerror(err));
        return -1;
    }
    return fd;
}

void sv_conn_init(sv_conn *c, int fd)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    sv_lines_init(&c->in);
}

void sv_conn_close(sv_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    sv_lines_free(&c->in);
    for (size_t i = c->held_head; i < c->n_held; i++)
        sv_msg_free(&c->held[i]);
    free(c->held);
    c->held = NULL;
    c->n_held = c->held_head = c->cap_held = 0;
}

int sv_conn_hold(sv_conn *c, sv_msg *m)
{
    if (c->held_head && c->n_held == c->cap_held) { /* the taken ones make room */
        memmove(c->held, c->held + c->held_head, (c->n_held - c->held_head) * sizeof *c->held);
        c->n_held -= c->held_head;
        c->held_head = 0;
    }
    if (c->n_held == c->cap_held) {
        if (c->cap_held >= SV_CONN_HELD_MAX)
            return -1;
        size_t cap = c->cap_held ? 2 * c->cap_held : 16;
        sv_msg *p = realloc(c->held, cap * sizeof *p);
        if (!p)
            return -1;
        c->held = p;
        c->cap_held = cap;
    }
    c->held[c->n_held++] = *m;
    return 0;
}

int sv_conn_pending(const sv_conn *c)
{
    return c->held_head < c->n_held || c->in.start < c->in.line_end || c->in.overflowed;
}

static double now_s(void);

int sv_conn_await(sv_conn *c, sv_msg_type type, int64_t id, const char *req_name, double timeout, sv_msg *out)
{
    double end = now_s() + timeout;
    for (;;) {
        double left = end - now_s();
        if (left <= 0 || c->n_held - c->held_head >= SV_CONN_HELD_MAX)
            return 0;
        sv_msg r;
        sm_error e;
        int k = sv_conn_read(c, &r, left, &e);
        if (k == 0)
            return 0; /* the time is up, or a signal: the caller's flags come first */
        if (k == -1)
            return -1;
        if (k == -2) {
            sv_msg_init(&r, SV_MSG_ERROR);
            snprintf(r.code, sizeof r.code, "malformed");
            r.text = strdup(e.msg);
        } else if (r.type == type) {
            if (r.id == id) {
                *out = r;
                return 1;
            }
            sv_msg_free(&r); /* the late answer to an earlier request */
            continue;
        } else if (r.type == SV_MSG_ERROR && !strcmp(r.code, "unknown_type") && r.text && req_name &&
                   strstr(r.text, req_name)) {
            sv_msg_free(&r);
            return -3;
        }
        if (sv_conn_hold(c, &r))
            sv_msg_free(&r); /* out of memory */
    }
}

int sv_conn_send(sv_conn *c, const sv_msg *m, sm_error *e)
{
    size_t n;
    char *line = sv_encode(m, &n);
    if (!line) {
        sm_err(e, SM_ERR_NOMEM, "a %s frame could not be encoded (out of memory, or over %d bytes)",
               sv_msg_type_name(m->type), SV_FRAME_MAX);
        return -1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t k = send(c->fd, line + off, n - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            sm_err(e, SM_ERR_IO, "the server closed the connection (%s)", k < 0 ? strerror(errno) : "end of file");
            free(line);
            return -1;
        }
        off += (size_t)k;
    }
    free(line);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int sv_conn_recv(sv_conn *c, sv_msg *m, double timeout, sm_error *e)
{
    if (c->held_head < c->n_held) {
        *m = c->held[c->held_head++];
        if (c->held_head == c->n_held)
            c->held_head = c->n_held = 0;
        return 1;
    }
    return sv_conn_read(c, m, timeout, e);
}

int sv_conn_read(sv_conn *c, sv_msg *m, double timeout, sm_error *e)
{
    double end = now_s() + timeout;
    int polled = 0;
    for (;;) {
        const char *line;
        size_t len;
        int r = sv_lines_next(&c->in, &line, &len);
        if (r < 0) {
            sm_err(e, SM_ERR_FORMAT, "the server sent a frame over %d bytes", SV_FRAME_MAX);
            return -2;
        }
        if (r > 0) {
            char code[32];
            return sv_decode(line, len, m, code, e) == SM_OK ? 1 : -2;
        }
        int ms = -1;
        if (timeout >= 0) {
            double left = end - now_s();
            if (left <= 0 && polled)
                return 0;
            ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        polled = 1;
        struct pollfd p = {c->fd, POLLIN, 0};
        int pr = poll(&p, 1, ms);
        if (pr < 0 && errno == EINTR)
            return 0; /* a signal: let the caller look at its flags */
        if (pr < 0) {
            sm_err(e, SM_ERR_IO, "poll: %s", strerror(errno));
            return -1;
        }
        if (pr == 0)
            continue;
        char buf[65536];
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0) {
            sm_err(e, SM_ERR_IO, "the connection ended%s%s", k < 0 ? ": " : "", k < 0 ? strerror(errno) : "");
            return -1;
        }
        if (sv_lines_feed(&c->in, buf, (size_t)k)) {
            sm_err(e, SM_ERR_NOMEM, "out of memory");
            return -1;
        }
    }
}

void sv_client_name(char *buf, size_t cap)
{
    const char *user = getenv("USER");
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name)
        user = pw->pw_name;
    const char *tty = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
    if (tty && !strncmp(tty, "/dev/", 5))
        tty += 5;
    snprintf(buf, cap, "%s@%s pid %ld", user ? user : "?", tty ? tty : "notty", (long)getpid());
}
