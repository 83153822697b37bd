/* breakpoint.c: a small recursive-descent parser and evaluator for breakpoint conditions, and the
 * locked list of numbered breakpoints. Grammar:
 *   expr := and ('or' and)* ; and := unary ('and' unary)* ; unary := 'not' unary | atom
 *   atom := 'nan' | '(' expr ')' | FIELD OP NUMBER        (&& || ! are accepted for and or not) */
#include "console/breakpoint.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum tok_kind { T_END, T_WORD, T_NUM, T_OP, T_LP, T_RP, T_AND, T_OR, T_NOT, T_BAD } tok_kind;

typedef struct lexer {
    const char *s;
    size_t i;
    tok_kind kind;
    int col;          /* column of the current token */
    char text[64];    /* current token's text */
    double num;
    con_bp_cmp cmp;
    char *err;
    size_t cap;
    int *err_col;
} lexer;

static void next(lexer *L)
{
    const char *s = L->s;
    while (s[L->i] == ' ' || s[L->i] == '\t')
        L->i++;
    L->col = (int)L->i;
    L->text[0] = '\0';
    char c = s[L->i];
    if (!c) {
        L->kind = T_END;
        return;
    }
    size_t st = L->i;
    if (isalpha((unsigned char)c) || c == '_') {
        while (isalnum((unsigned char)s[L->i]) || s[L->i] == '_')
            L->i++;
        size_t n = L->i - st < sizeof L->text - 1 ? L->i - st : sizeof L->text - 1;
        memcpy(L->text, s + st, n);
        L->text[n] = '\0';
        L->kind = !strcmp(L->text, "and") ? T_AND : !strcmp(L->text, "or") ? T_OR
                : !strcmp(L->text, "not") ? T_NOT : T_WORD;
        return;
    }
    if (isdigit((unsigned char)c) || c == '.' || ((c == '-' || c == '+') &&
                                                  (isdigit((unsigned char)s[L->i + 1]) || s[L->i + 1] == '.'))) {
        char *end;
        errno = 0;
        L->num = strtod(s + st, &end);
        L->i = (size_t)(end - s);
        if (end == s + st) {
            L->i = st + 1;
            L->kind = T_BAD;
        } else {
            L->kind = T_NUM;
        }
        size_t n = L->i - st < sizeof L->text - 1 ? L->i - st : sizeof L->text - 1;
        memcpy(L->text, s + st, n);
        L->text[n] = '\0';
        return;
    }
    L->i++;
    char d = s[L->i];
    int two = 0; /* the token is two characters long */
    L->kind = T_BAD;
    switch (c) {
    case '(': L->kind = T_LP; break;
    case ')': L->kind = T_RP; break;
    case '<': L->kind = T_OP; two = d == '='; L->cmp = two ? CON_CMP_LE : CON_CMP_LT; break;
    case '>': L->kind = T_OP; two = d == '='; L->cmp = two ? CON_CMP_GE : CON_CMP_GT; break;
    case '=': two = d == '='; if (two) { L->kind = T_OP; L->cmp = CON_CMP_EQ; } break;
    case '!': two = d == '='; L->kind = two ? T_OP : T_NOT; L->cmp = CON_CMP_NE; break;
    case '&': two = d == '&'; if (two) L->kind = T_AND; break;
    case '|': two = d == '|'; if (two) L->kind = T_OR; break;
    default: break;
    }
    L->text[0] = c;
    L->text[1] = two ? d : '\0';
    L->text[2] = '\0';
    L->i += (size_t)two;
}

static int perr(lexer *L, const char *fmt, ...) SM_PRINTF(2, 3);

static int perr(lexer *L, const char *fmt, ...)
{
    char m[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(L->err, L->cap, "%s at column %d", m, L->col + 1);
    if (L->err_col)
        *L->err_col = L->col;
    return -1;
}

static int add(con_bp_expr *x, lexer *L, con_bp_node nd)
{
    if (x->n == CON_BP_MAX_NODES)
        return perr(L, "condition too long (at most %d terms)", CON_BP_MAX_NODES);
    x->node[x->n] = nd;
    return x->n++;
}

/* The current token for messages: 'x' in quotes, or the end. */
static const char *tok_name(lexer *L)
{
    static _Thread_local char buf[80];
    if (L->kind == T_END)
        return "the end";
    snprintf(buf, sizeof buf, "'%s'", L->text);
    return buf;
}

static int parse_or(con_bp_expr *x, lexer *L, int depth);

static int parse_unary(con_bp_expr *x, lexer *L, int depth)
{
    if (depth > 32)
        return perr(L, "condition nested too deeply at %s (at most 32 levels)", tok_name(L));
    if (L->kind == T_NOT) {
        next(L);
        int a = parse_unary(x, L, depth + 1);
        if (a < 0)
            return -1;
        return add(x, L, (con_bp_node){.op = CON_BP_NOT, .a = a});
    }
    if (L->kind == T_LP) {
        next(L);
        int a = parse_or(x, L, depth + 1);
        if (a < 0)
            return -1;
        if (L->kind != T_RP)
            return perr(L, "expected ')' but found %s", tok_name(L));
        next(L);
        return a;
    }
    if (L->kind != T_WORD) {
        if (L->kind == T_END)
            return perr(L, "expected a condition (nan, or FIELD OP NUMBER such as loss > 2.5) but found the end");
        return perr(L, "expected nan or a field name but found %s", tok_name(L));
    }
    if (!strcmp(L->text, "nan")) {
        x->uses_step = 1;
        next(L);
        return add(x, L, (con_bp_node){.op = CON_BP_NAN});
    }
    int f = sm_field_lookup(L->text);
    if (f < 0)
        return perr(L, "unknown field '%s' (`help break` lists the fields)", L->text);
    if (sm_field_at((size_t)f)->source == SM_FIELD_EVAL)
        x->uses_eval = 1;
    else
        x->uses_step = 1;
    next(L);
    if (L->kind != T_OP)
        return perr(L, "expected a comparison (< <= > >= == !=) but found %s", tok_name(L));
    con_bp_cmp cmp = L->cmp;
    next(L);
    if (L->kind != T_NUM)
        return perr(L, "expected a number but found %s", tok_name(L));
    if (isnan(L->num))
        return perr(L, "'%s' is not a number to compare with (use `break nan`)", L->text);
    if (isinf(L->num)) /* 1e999 and inf: a comparison with infinity is always or never true */
        return perr(L, "'%s' is beyond the range of a double (about 1.8e308): give a finite threshold, or "
                       "`break nan` for non-finite values", L->text);
    double v = L->num;
    next(L);
    return add(x, L, (con_bp_node){.op = CON_BP_CMP, .cmp = cmp, .field = f, .number = v});
}

static int parse_and(con_bp_expr *x, lexer *L, int depth)
{
    int a = parse_unary(x, L, depth);
    while (a >= 0 && L->kind == T_AND) {
        next(L);
        int b = parse_unary(x, L, depth);
        if (b < 0)
            return -1;
        a = add(x, L, (con_bp_node){.op = CON_BP_AND, .a = a, .b = b});
    }
    return a;
}

static int parse_or(con_bp_expr *x, lexer *L, int depth)
{
    int a = parse_and(x, L, depth);
    while (a >= 0 && L->kind == T_OR) {
        next(L);
        int b = parse_and(x, L, depth);
        if (b < 0)
            return -1;
        a = add(x, L, (con_bp_node){.op = CON_BP_OR, .a = a, .b = b});
    }
    return a;
}

int con_bp_parse(const char *text, con_bp_expr *x, char *err, size_t cap, int *err_col)
{
    memset(x, 0, sizeof *x);
    lexer L = {.s = text, .err = err, .cap = cap, .err_col = err_col};
    next(&L);
    int root = parse_or(x, &L, 0);
    if (root < 0)
        return -1;
    if (L.kind != T_END)
        return perr(&L, "unexpected %s (join conditions with and/or)", tok_name(&L));
    x->root = root;
    return 0;
}

static int is_nan_step(const sm_step_record *s)
{
    return s && (s->skipped || !isfinite(s->loss) || !isfinite(s->total) || !isfinite(s->grad_norm));
}

static int cmp_holds(const con_bp_node *nd, double v)
{
    if (isnan(v))
        return 0;
    switch (nd->cmp) {
    case CON_CMP_LT: return v < nd->number;
    case CON_CMP_LE: return v <= nd->number;
    case CON_CMP_GT: return v > nd->number;
    case CON_CMP_GE: return v >= nd->number;
    case CON_CMP_EQ: return v == nd->number;
    case CON_CMP_NE: return v != nd->number;
    }
    return 0;
}

static int eval_node(const con_bp_expr *x, int i, const sm_step_record *s, const sm_eval_record *ev)
{
    const con_bp_node *nd = &x->node[i];
    switch (nd->op) {
    case CON_BP_NAN: return is_nan_step(s);
    case CON_BP_CMP: return cmp_holds(nd, sm_field_value(nd->field, s, ev));
    case CON_BP_AND: return eval_node(x, nd->a, s, ev) && eval_node(x, nd->b, s, ev);
    case CON_BP_OR: return eval_node(x, nd->a, s, ev) || eval_node(x, nd->b, s, ev);
    case CON_BP_NOT: return !eval_node(x, nd->a, s, ev);
    }
    return 0;
}

int con_bp_eval(const con_bp_expr *x, const sm_step_record *s, const sm_eval_record *ev)
{
    if (x->n == 0)
        return 0;
    return eval_node(x, x->root, s, ev);
}

static const char *cmp_text(con_bp_cmp c)
{
    static const char *const t[] = {"<", "<=", ">", ">=", "==", "!="};
    return t[c];
}

void con_bp_explain(const con_bp_expr *x, const sm_step_record *s, const sm_eval_record *ev, char *buf,
                    size_t cap)
{
    size_t w = 0;
    if (!cap)
        return;
    buf[0] = '\0';
    for (int i = 0; i < x->n && w < cap; i++) {
        const con_bp_node *nd = &x->node[i];
        const char *sep = w ? ", " : "";
        if (nd->op == CON_BP_NAN && is_nan_step(s))
            w += (size_t)snprintf(buf + w, cap - w, "%snon-finite step: loss = %g, total = %g, grad_norm = %g%s",
                                  sep, s->loss, s->total, s->grad_norm, s->skipped ? " (skipped)" : "");
        else if (nd->op == CON_BP_CMP) {
            double v = sm_field_value(nd->field, s, ev);
            if (cmp_holds(nd, v))
                w += (size_t)snprintf(buf + w, cap - w, "%s%s = %g %s %g", sep, sm_field_at((size_t)nd->field)->name,
                                      v, cmp_text(nd->cmp), nd->number);
        }
    }
}

void con_breaks_init(con_breaks *b)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->lock, NULL);
    b->next_id = 1;
}

void con_breaks_destroy(con_breaks *b) { pthread_mutex_destroy(&b->lock); }

int con_breaks_add(con_breaks *b, const char *text, char *err, size_t cap, int *err_col)
{
    con_bp_expr x;
    if (strlen(text) >= sizeof b->bp[0].text) { /* kept as typed for `show breaks`: refused, not cut */
        snprintf(err, cap, "the condition is %zu bytes long: at most %zu are kept", strlen(text),
                 sizeof b->bp[0].text - 1);
        if (err_col)
            *err_col = (int)sizeof b->bp[0].text - 1;
        return -1;
    }
    if (con_bp_parse(text, &x, err, cap, err_col))
        return -1;
    pthread_mutex_lock(&b->lock);
    if (b->n == CON_BP_MAX) {
        pthread_mutex_unlock(&b->lock);
        snprintf(err, cap, "too many breakpoints (at most %d): `delete N` one first", CON_BP_MAX);
        if (err_col)
            *err_col = 0;
        return -1;
    }
    con_breakpoint *bp = &b->bp[b->n++];
    bp->id = b->next_id++;
    snprintf(bp->text, sizeof bp->text, "%s", text);
    bp->expr = x;
    bp->hits = 0;
    int id = bp->id;
    pthread_mutex_unlock(&b->lock);
    return id;
}

int con_breaks_delete(con_breaks *b, int id)
{
    int rc = -1;
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < b->n; i++)
        if (b->bp[i].id == id) {
            memmove(&b->bp[i], &b->bp[i + 1], (size_t)(b->n - i - 1) * sizeof b->bp[0]);
            b->n--;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void con_breaks_clear(con_breaks *b)
{
    pthread_mutex_lock(&b->lock);
    b->n = 0;
    pthread_mutex_unlock(&b->lock);
}

int con_breaks_check(con_breaks *b, char when, const sm_step_record *s, const sm_eval_record *ev,
                     char *why, size_t cap)
{
    int fired = 0;
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < b->n && !fired; i++) {
        con_breakpoint *bp = &b->bp[i];
        int kind_ok = when == 'e' ? bp->expr.uses_eval : bp->expr.uses_step && !bp->expr.uses_eval;
        if (!kind_ok || !con_bp_eval(&bp->expr, s, ev))
            continue;
        bp->hits++;
        fired = bp->id;
        if (why && cap) {
            char ex[512];
            con_bp_explain(&bp->expr, s, ev, ex, sizeof ex);
            snprintf(why, cap, "breakpoint %d (%s): %s", bp->id, bp->text, ex[0] ? ex : "condition holds");
        }
    }
    pthread_mutex_unlock(&b->lock);
    return fired;
}
