/* proto.h: the wire protocol between a run server (`smartty serve`) and its clients (attach, watch,
 * ctl, ls): one JSON object per line (jansson), at most SV_FRAME_MAX bytes a line, version
 * SV_PROTO_VERSION; docs/protocol.md is its description. Encoding, decoding and line framing only:
 * no sockets, no threads, no output here, so the decoder can be fuzzed (tests/fuzz/fuzz_proto.c). */
#ifndef SMARTTY_SERVER_PROTO_H
#define SMARTTY_SERVER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"
#include "smartty/hparams.h"
#include "smartty/record.h"
#include "smartty/session.h"

#define SV_PROTO_VERSION 2 /* 2: branches and exploration (status members, branches/branch frames) */
#define SV_FRAME_MAX (1024 * 1024) /* bytes of one line, its newline included */
#define SV_HISTORY_CHUNK 256        /* records per history frame */
#define SV_BRANCH_STEPS 1500        /* step records of a branch frame at most (reduced like history) */
#define SV_BRANCH_EVALS 500         /* evaluation records of a branch frame at most (the latest) */
#define SV_COMPLETE_WORDS 1000      /* candidates of a completion frame at most */
#define SV_COMPLETE_WORD 1024       /* bytes of one candidate at most (its NUL excluded: under this) */
#define SV_COMPLETE_BYTES (128 * 1024) /* bytes of all the candidates of a completion frame at most (so
                                          the frame, escaped, stays under SV_FRAME_MAX) */

typedef enum sv_msg_type {
    SV_MSG_HELLO = 0, /* both ways, first: versions, the client's role and name, the server's name */
    SV_MSG_CMD,       /* client: a command line with an id */
    SV_MSG_OUT,       /* server: one output line of a command (id), with its con_out_kind */
    SV_MSG_REPLY,     /* server: the command (id) ended with this exit status */
    SV_MSG_EVENT,     /* server: a typed session event, with its author when a client caused it */
    SV_MSG_STATUS,    /* server: the run's status and hyperparameters */
    SV_MSG_HISTORY,   /* server: a chunk of recorded steps and evaluations (on attach) */
    SV_MSG_ERROR,     /* server: a frame was refused (code, msg) */
    SV_MSG_BYE,       /* server: the connection ends (msg says why) */
    SV_MSG_DETACH,    /* client: leave, the run goes on */
    SV_MSG_BRANCHES,  /* client: send me the branches with their records (the compare view) */
    SV_MSG_BRANCH,    /* server: one branch of count (index 0-based; count 0: there are none) */
    SV_MSG_COMPLETE,  /* client: the candidates for the word at the end of a line (id, the line up to
                         the cursor); an older server answers an unknown_type error */
    SV_MSG_COMPLETION, /* server: the answer to complete (id): the candidates, file 1: a file name */
    SV_MSG_INTR,      /* client: Ctrl-C: pause the run, ending a command that waits for it */
    SV_MSG_COUNT
} sv_msg_type;

const char *sv_msg_type_name(sv_msg_type t);

/* The run as a status frame carries it (the console's con_status and hyperparameters). */
typedef struct sv_status {
    int state; /* con_run_state */
    int64_t step, planned, unsaved;
    int epoch;
    int has_step, has_eval;
    sm_step_record last;
    sm_eval_record eval;
    char model[4096], data[4096];
    double hp[SM_HP_COUNT];
    int64_t hp_changed_at[SM_HP_COUNT];
    int clients;
    int ui_fps;          /* `set ui_fps` (0: the dashboard's default) */
    int64_t total_steps; /* records in the server's history */
    char branch[64];     /* the active branch ("" none) */
    int explore_variant; /* an exploration runs: variant (1-based) of explore_total; else 0 */
    int explore_total;
    int64_t eval_done;   /* an evaluation in progress: dev rows done of eval_total; else both 0 */
    int64_t eval_total;
    int64_t evals_left;  /* evaluations the run still does (for the dashboard's ETA); 0 none */
} sv_status;

typedef struct sv_msg {
    sv_msg_type type;
    int proto;          /* HELLO: SV_PROTO_VERSION of the sender */
    char role[16];      /* HELLO from a client: "attach", "watch", "ctl" or "ls" */
    char who[256];      /* HELLO: the client's name (user@tty pid N), or the server's run name */
    int64_t pid;        /* HELLO from the server: its pid */
    int64_t started;    /* HELLO from the server: Unix time it started */
    int64_t history;    /* HELLO from a client: history points wanted (0 none) */
    int confirm;        /* HELLO from a client: 1 it can answer a question (an interactive console) */
    int64_t id;         /* CMD, OUT, REPLY, COMPLETE, COMPLETION */
    int kind;           /* OUT: con_out_kind */
    int status;         /* REPLY: 0 every command succeeded, 1 one failed */
    char ask[128];      /* REPLY: "" or the prompt of a question the client's next line answers */
    char code[32];      /* ERROR: too_large, malformed, unknown_type, version, state */
    char *text;         /* CMD, COMPLETE: the line; OUT: the text; ERROR, BYE: the message (owned) */
    sm_session_event ev; /* EVENT: owned strings */
    char by[256];       /* EVENT: who caused it ("" the run itself) */
    sv_status st;       /* STATUS */
    sm_step_record *steps; /* HISTORY: [n_steps] owned */
    size_t n_steps;
    sm_eval_record *evals; /* HISTORY: [n_evals] owned */
    size_t n_evals;
    int64_t total;      /* HISTORY: records the server holds */
    int64_t index, count; /* BRANCH: this branch's place in the tree order, and how many there are */
    char name[64];      /* BRANCH: its name */
    char knobs[128];    /* BRANCH: the values that differ from its parent ("lambda_s=3") */
    int64_t fork_step;  /* BRANCH: where it forked */
    int active;         /* BRANCH: 1 the active branch */
    int first, last;    /* HISTORY: 1 on the first chunk of a full history (the mirror restarts),
                           1 on its last; live appends have both 0 */
    char **words;       /* COMPLETION: [n_words] owned candidates (at most SV_COMPLETE_WORDS) */
    size_t n_words;
    size_t word_bytes;  /* COMPLETION: their bytes together (at most SV_COMPLETE_BYTES) */
    int file;           /* COMPLETION: 1 the word is a file name: the client completes paths itself */
} sv_msg;

void sv_msg_init(sv_msg *m, sv_msg_type t);
void sv_msg_free(sv_msg *m);
/* Add a candidate to a COMPLETION frame (a copy). Returns 1, or 0 when it is not taken: over
 * SV_COMPLETE_WORD bytes, the frame holds SV_COMPLETE_WORDS or SV_COMPLETE_BYTES already, or out of
 * memory. */
int sv_msg_add_word(sv_msg *m, const char *w);

/* The frame of m: one JSON object and '\n' (caller frees), *len its length; NULL when out of memory
 * or too large for SV_FRAME_MAX. */
char *sv_encode(const sv_msg *m, size_t *len);
/* Decode one frame (with or without its newline). On failure m is left empty, e says what and code
 * (at least 32 bytes) receives the error code to answer with ("malformed", "unknown_type",
 * "version", "too_large"). */
sm_status sv_decode(const char *buf, size_t len, sv_msg *m, char *code, sm_error *e);

/* Line framing over a byte stream: feed what read() returned, then take whole lines. A line longer
 * than SV_FRAME_MAX is dropped up to its newline and reported once by sv_lines_next (returns -1). */
typedef struct sv_lines {
    char *buf;
    size_t n, cap;
    size_t start;    /* where the next whole line begins */
    size_t line_end; /* just past the last newline held */
    int skipping;    /* inside an oversized line */
    int overflowed;  /* oversized lines dropped and not yet reported */
} sv_lines;
void sv_lines_init(sv_lines *l);
void sv_lines_free(sv_lines *l);
/* Returns 0, or -1 when out of memory. */
int sv_lines_feed(sv_lines *l, const char *data, size_t n);
/* 1: the next whole line is in line and len (without '\n', valid until the next call); 0: none yet; -1:
 * an oversized line was dropped. */
int sv_lines_next(sv_lines *l, const char **line, size_t *len);
/* Bytes held of an unfinished line (a peer that closes with some left sent a truncated frame). */
size_t sv_lines_pending(const sv_lines *l);

/* Reduce n records to at most max by keeping every k-th and always the last (max 0: no limit).
 * Returns the count kept, written in place (oldest first). */
size_t sv_decimate_steps(sm_step_record *r, size_t n, size_t max);

#endif
