/* sock.h: what the run server and its clients share about the transport: the folder of the sockets
 * ($XDG_RUNTIME_DIR/smartty, else /tmp/smartty-UID; mode 0700, owned by the user), the socket of a
 * run name, connecting (telling a live server from a stale socket), and blocking frame I/O with a
 * deadline for the clients. No protocol logic (proto.h) and no console here. */
#ifndef SMARTTY_SERVER_SOCK_H
#define SMARTTY_SERVER_SOCK_H

#include <stddef.h>

#include "server/proto.h"
#include "smartty/common.h"

/* The folder of the sockets into buf; create: make it (mode 0700) when missing. Refuses (e) a folder
 * owned by someone else or open to others (it is then made 0700 when it is ours). */
sm_status sv_sock_dir(char *buf, size_t cap, int create, sm_error *e);
/* A run name is 1 to 64 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
int sv_name_ok(const char *name);
/* SM_OK, or why name is not a run name (naming it whole). */
sm_status sv_name_check(const char *name, sm_error *e);
sm_status sv_sock_path(char *buf, size_t cap, const char *name, int create, sm_error *e);

/* Connect to the server of name: the descriptor, or -1 with e saying why. *stale (may be NULL) is
 * set to 1 when a socket file exists but no server answers on it. */
int sv_connect(const char *name, int *stale, sm_error *e);

/* A client's connection: blocking sends, reads of whole frames with a deadline, and a small queue
 * of frames read while waiting for one in particular (a completion), handed out first. */
#define SV_CONN_HELD_MAX 256 /* frames the queue holds at most */
typedef struct sv_conn {
    int fd;
    sv_lines in;
    sv_msg *held; /* [held_head, n_held) queued frames, oldest first */
    size_t n_held, held_head, cap_held;
} sv_conn;
void sv_conn_init(sv_conn *c, int fd);
void sv_conn_close(sv_conn *c);
/* Encode and send m whole. Returns 0, or -1 (the peer is gone; e says so). */
int sv_conn_send(sv_conn *c, const sv_msg *m, sm_error *e);
/* The next frame into m (caller frees), a queued one first: 1; 0 nothing within timeout seconds (< 0:
 * wait); -1 the connection ended or failed (e says how); -2 a frame that does not decode (e says why). */
int sv_conn_recv(sv_conn *c, sv_msg *m, double timeout, sm_error *e);
/* As sv_conn_recv, from the socket only (the queue is left alone). */
int sv_conn_read(sv_conn *c, sv_msg *m, double timeout, sm_error *e);
/* Queue m (taken: the caller no longer frees it) for the next sv_conn_recv. Returns 0, or -1 when
 * the queue holds SV_CONN_HELD_MAX frames or memory ran out (m is left to the caller). */
int sv_conn_hold(sv_conn *c, sv_msg *m);
/* 1 when frames are queued or whole lines already read wait to be decoded (poll on the
 * descriptor does not see them). */
int sv_conn_pending(const sv_conn *c);
/* Wait up to timeout seconds for the frame of type with id (the answer to a request just sent),
 * queuing every other frame for the next sv_conn_recv, in order (a frame that does not decode is
 * queued as an error frame, code malformed; an answer of that type with another id, a late one, is
 * dropped). Returns 1 with it in out (caller frees); 0 none in time, or the queue is full
 * (SV_CONN_HELD_MAX: the rest stay unread on the socket), or a signal came (the caller looks at its
 * flags); -1 the connection ended (the next read sees it too); -3 the server does not know the
 * request (it answered unknown_type naming req_name, which is not queued). */
int sv_conn_await(sv_conn *c, sv_msg_type type, int64_t id, const char *req_name, double timeout, sv_msg *out);

/* "user@tty pid N" for this process (the author of its commands). */
void sv_client_name(char *buf, size_t cap);

#endif
