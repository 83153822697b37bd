/* breakpoint.h: breakpoint conditions on training records: `nan`, `FIELD OP NUMBER` (OP one of
 * < <= > >= == !=, FIELD any name of record.h), combined with and/or/not and parentheses; and the
 * numbered list of breakpoints (`break`, `delete N`, `show breaks`). The list is safe to check from
 * the trainer's thread while the console edits it. No knowledge of the session or of printing. */
#ifndef SMARTTY_CONSOLE_BREAKPOINT_H
#define SMARTTY_CONSOLE_BREAKPOINT_H

#include <pthread.h>
#include <stddef.h>

#include "smartty/record.h"

#define CON_BP_MAX_NODES 64
#define CON_BP_MAX 32

typedef enum con_bp_op {
    CON_BP_NAN,  /* loss, total or grad_norm not finite, or the step was skipped */
    CON_BP_CMP,  /* field op number */
    CON_BP_AND,
    CON_BP_OR,
    CON_BP_NOT
} con_bp_op;

typedef enum con_bp_cmp { CON_CMP_LT, CON_CMP_LE, CON_CMP_GT, CON_CMP_GE, CON_CMP_EQ, CON_CMP_NE } con_bp_cmp;

typedef struct con_bp_node {
    con_bp_op op;
    con_bp_cmp cmp;  /* CMP */
    int field;       /* CMP: index in record.h's field table */
    double number;   /* CMP */
    int a, b;        /* AND, OR: operand nodes; NOT: a */
} con_bp_node;

/* A parsed condition: a tree in a fixed array, root at index root. */
typedef struct con_bp_expr {
    con_bp_node node[CON_BP_MAX_NODES];
    int n, root;
    int uses_eval;   /* 1: reads dev_ fields (checked when an evaluation completes) */
    int uses_step;   /* 1: reads step fields or nan (checked before each update) */
} con_bp_expr;

/* Parse text. Returns 0, or -1 with err ("expected a number after '>'") and *err_col, the 0-based
 * column of the bad token in text. */
int con_bp_parse(const char *text, con_bp_expr *x, char *err, size_t cap, int *err_col);

/* Evaluate on a step record and the latest evaluation (NULL: dev fields are NaN). A comparison with
 * a NaN value is false (so `dev_acc < 0.6` does not fire before the first evaluation). */
int con_bp_eval(const con_bp_expr *x, const sm_step_record *s, const sm_eval_record *ev);

/* Describe why x holds: "loss = 2.71 > 2.5" for each comparison that is true (and nan details). */
void con_bp_explain(const con_bp_expr *x, const sm_step_record *s, const sm_eval_record *ev, char *buf,
                    size_t cap);

typedef struct con_breakpoint {
    int id;          /* 1-based, never reused within a session */
    char text[256];  /* the condition as typed */
    con_bp_expr expr;
    long hits;
} con_breakpoint;

typedef struct con_breaks {
    pthread_mutex_t lock;
    con_breakpoint bp[CON_BP_MAX];
    int n, next_id;
} con_breaks;

void con_breaks_init(con_breaks *b);
void con_breaks_destroy(con_breaks *b);
/* Parse and add; returns the new id, or -1 with err (and *err_col as for con_bp_parse). */
int con_breaks_add(con_breaks *b, const char *text, char *err, size_t cap, int *err_col);
/* Remove breakpoint id; 0 or -1 when there is none. */
int con_breaks_delete(con_breaks *b, int id);
void con_breaks_clear(con_breaks *b);
/* Check every breakpoint whose kind matches (when: 's' before an update, with s; 'e' after an
 * evaluation, with ev and the last step s). Returns the id of the first that fires (its hit count
 * goes up and why receives "breakpoint 2 (loss > 2.5): loss = 2.71"), or 0. */
int con_breaks_check(con_breaks *b, char when, const sm_step_record *s, const sm_eval_record *ev,
                     char *why, size_t cap);

#endif
