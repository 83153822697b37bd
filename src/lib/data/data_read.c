/* data_read.c: the reader: delimited text (GLUE TSV without quoting, CSV with standard quoting)
 * streamed through libcsv into a dataset's rows of texts, pairs and labels, with the column layout
 * from the first row, file:line:column reports for bad rows and --limit. The dataset it fills
 * (label mapping, --sample, statistics, tokenization) is data.c's; it never prints. */
#include "smartty/data.h"
#include "lib/data/data_internal.h"

#include <csv.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One field of the current row: its bytes in the row buffer and where it starts in the file. */
typedef struct fieldref {
    size_t off, len;
    uint32_t line, col;
} fieldref;

typedef struct loader {
    const sm_data_opts *o;
    const char *name;       /* the path, for messages */
    sm_dataset *ds;
    sm_error *e;
    sm_status st;           /* first fatal status */
    int stop;               /* stop feeding: fatal error or --limit reached */
    struct csv_parser p;
    unsigned char delim;
    /* position of the next byte */
    uint64_t offset;        /* bytes of the file consumed */
    uint64_t line_start;    /* offset of the first byte of the current line */
    uint32_t line;          /* 1-based */
    unsigned char prev;
    int at_row_start, need_start;
    uint32_t fline, fcol;   /* where the field being read started */
    unsigned char head[3];  /* the first bytes, held back until a BOM is ruled in or out */
    int nhead, head_done;
    /* the current row */
    char *rowbuf;
    size_t rowlen, rowcap;
    fieldref *fields;
    size_t nf, fcap;
    int row_err;            /* a field of this row was over the size limit */
    uint32_t err_line, err_col;
    /* the layout, from the first row */
    int have_layout, ncols;
    int ci_text, ci_pair, ci_label; /* 0-based, -1 absent */
    char **header;          /* [ncols] names, or NULL */
    sm_str desc[3];         /* "column N (name)" of the text, pair and label columns, for messages */
} loader;

/* ---- small helpers ---- */

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' && s[i] != '\f' && s[i] != '\v')
            return 0;
    return 1;
}

/* Offset of the first byte that is not part of valid UTF-8 (no overlongs, no surrogates, at most
 * U+10FFFF), or len when all is valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else
            return i;
        if (i + n >= len)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int has_ext(const char *path, const char *ext)
{
    const char *b = basename_of(path), *d = strrchr(b, '.');
    return d && strcasecmp(d, ext) == 0;
}

/* "column 3 (label)" or "column 3". */
/* "column N (name)" for the text, pair or label column (set by set_col_descs once the layout is
 * known), whole however long the header name. */
static const char *col_desc(const loader *L, int ci)
{
    int k = ci == L->ci_text ? 0 : ci == L->ci_pair ? 1 : 2;
    return sm_str_cstr(&L->desc[k]);
}

static int set_col_descs(loader *L)
{
    int ci[3] = {L->ci_text, L->ci_pair, L->ci_label};
    for (int k = 0; k < 3; k++) {
        sm_str_reset(&L->desc[k]);
        if (L->header && ci[k] >= 0 && ci[k] < L->ncols)
            sm_str_appendf(&L->desc[k], "column %d (%s)", ci[k] + 1, L->header[ci[k]]);
        else
            sm_str_appendf(&L->desc[k], "column %d", ci[k] + 1);
        if (L->desc[k].failed)
            return 0;
    }
    return 1;
}

static void fatal(loader *L, sm_status st, const char *fmt, ...) SM_PRINTF(3, 4);
static void fatal(loader *L, sm_status st, const char *fmt, ...)
{
    if (L->st != SM_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    sm_verr(L->e, st, fmt, ap);
    va_end(ap);
    L->st = st;
    L->stop = 1;
}

/* A bad data row: fatal, or counted and skipped with --skip-bad. */
static void bad_row(loader *L, sm_status st, uint32_t line, uint32_t col, const char *fmt, ...)
    SM_PRINTF(5, 6);
static void bad_row(loader *L, sm_status st, uint32_t line, uint32_t col, const char *fmt, ...)
{
    sm_str what = SM_STR_INIT;
    sm_str_appendf(&what, "%s:%u:%u: ", L->name, line, col);
    va_list ap;
    va_start(ap, fmt);
    sm_str_vappendf(&what, fmt, ap);
    va_end(ap);
    sm_data_report *r = &L->ds->rep;
    if (what.failed) {
        fatal(L, SM_ERR_NOMEM, "%s:%u: out of memory reporting a bad row", L->name, line);
    } else if (!L->o->skip_bad) {
        fatal(L, st, "%s (or pass --skip-bad to skip such rows)", what.p);
    } else {
        r->skipped++;
        if (r->n_bad < SM_DATA_MAX_BAD)
            r->bad[r->n_bad++] = sm_str_take(&what);
    }
    sm_str_free(&what);
}

static int ds_reserve(loader *L, size_t need)
{
    sm_dataset *ds = L->ds;
    if (need <= ds->cap)
        return 1;
    size_t cap = ds->cap ? ds->cap * 2 : 1024;
    while (cap < need)
        cap *= 2;
#define GROW(field)                                                                 \
    do {                                                                            \
        void *np = realloc(ds->field, cap * sizeof *ds->field);                     \
        if (!np) {                                                                  \
            fatal(L, SM_ERR_NOMEM, "out of memory loading %s (%zu rows)", L->name, cap); \
            return 0;                                                               \
        }                                                                           \
        ds->field = np;                                                             \
    } while (0)
    GROW(text);
    GROW(lines);
    if (ds->has_pair)
        GROW(pair);
    if (ds->has_labels && ds->regression)
        GROW(targets);
    else if (ds->has_labels)
        GROW(labels);
    if (ds->has_labels && !ds->regression && !L->o->n_labels)
        GROW(lab_off);
#undef GROW
    ds->cap = cap;
    return 1;
}

/* Append len bytes and a NUL to the pool; NO_OFF when out of memory. */
static size_t pool_add(loader *L, const char *s, size_t len)
{
    sm_dataset *ds = L->ds;
    if (ds->pool_len + len + 1 > ds->pool_cap) {
        size_t cap = ds->pool_cap ? ds->pool_cap : 1 << 16;
        while (cap < ds->pool_len + len + 1)
            cap *= 2;
        char *np = realloc(ds->pool, cap);
        if (!np) {
            fatal(L, SM_ERR_NOMEM, "out of memory loading %s (%zu bytes of text)", L->name, cap);
            return NO_OFF;
        }
        ds->pool = np;
        ds->pool_cap = cap;
    }
    size_t off = ds->pool_len;
    if (len)
        memcpy(ds->pool + off, s, len);
    ds->pool[off + len] = '\0';
    ds->pool_len += len + 1;
    return off;
}

/* ---- the layout: which columns hold the texts and the label ---- */

static int find_header(const loader *L, const char *name)
{
    if (!L->header)
        return -1;
    for (int k = 0; k < L->ncols; k++)
        if (strcasecmp(L->header[k], name) == 0)
            return k;
    return -1;
}

/* Resolve a column spec (number or header name) to a 0-based index; -1 with a fatal error. */
static int resolve_col(loader *L, const char *opt, const char *spec)
{
    size_t n = strlen(spec);
    int digits = n > 0 && n < 10;
    for (size_t i = 0; i < n && digits; i++)
        digits = spec[i] >= '0' && spec[i] <= '9';
    if (digits) {
        long v = strtol(spec, NULL, 10);
        if (v >= 1 && v <= L->ncols)
            return (int)v - 1;
        fatal(L, SM_ERR_INVALID, "%s:%u: --%s %s: the file has %d column%s: give a number from 1 to %d%s",
              L->name, L->fields[0].line, opt, spec, L->ncols, L->ncols == 1 ? "" : "s", L->ncols,
              L->ncols == 1 ? " (is the delimiter right? see --delimiter)" : "");
        return -1;
    }
    if (!L->header) {
        fatal(L, SM_ERR_INVALID, "--%s %s: a column name needs a header row, and --no-header says there is "
              "none: give a 1-based column number", opt, spec);
        return -1;
    }
    for (int k = 0; k < L->ncols; k++)
        if (strcmp(L->header[k], spec) == 0)
            return k;
    sm_str names = SM_STR_INIT;
    for (int k = 0; k < L->ncols; k++)
        sm_str_appendf(&names, "%s%s", k ? ", " : "", L->header[k]);
    fatal(L, SM_ERR_NOTFOUND, "%s:%u: --%s '%s': no such column; the header has: %s", L->name,
          L->fields[0].line, opt, spec, names.failed ? "(out of memory listing them)" : sm_str_cstr(&names));
    sm_str_free(&names);
    return -1;
}

static void setup_layout(loader *L)
{
    const sm_data_opts *o = L->o;
    sm_dataset *ds = L->ds;
    L->ncols = (int)L->nf;
    L->have_layout = 1;
    if (L->row_err) {
        fatal(L, SM_ERR_FORMAT, "%s:%u:%u: the %s row has a field over %u bytes: is this the right file "
              "and delimiter?", L->name, L->err_line, L->err_col, o->no_header ? "first" : "header",
              SM_DATA_MAX_FIELD);
        return;
    }
    if (!o->no_header) {
        L->header = calloc((size_t)L->ncols, sizeof *L->header);
        if (!L->header) {
            fatal(L, SM_ERR_NOMEM, "out of memory reading the header of %s", L->name);
            return;
        }
        for (int k = 0; k < L->ncols; k++) {
            fieldref *f = &L->fields[k];
            const char *s = L->rowbuf + f->off;
            size_t bad = utf8_invalid_at((const unsigned char *)s, f->len);
            if (bad < f->len) {
                fatal(L, SM_ERR_FORMAT, "%s:%u:%u: invalid UTF-8 (byte 0x%02X) in the header: convert the "
                      "file to UTF-8, e.g. iconv -f latin1 -t utf-8", L->name, f->line,
                      f->col + (uint32_t)bad, (unsigned char)s[bad]);
                return;
            }
            if (!(L->header[k] = sm_strdup(s))) {
                fatal(L, SM_ERR_NOMEM, "out of memory reading the header of %s", L->name);
                return;
            }
        }
    }
    int auto_s1 = 0;
    if (o->text_col[0])
        L->ci_text = resolve_col(L, "text", o->text_col);
    else {
        int k = find_header(L, "sentence");
        if (k < 0)
            k = find_header(L, "text");
        if (k < 0 && (k = find_header(L, "sentence1")) >= 0)
            auto_s1 = 1;
        L->ci_text = k >= 0 ? k : 0;
    }
    if (L->stop)
        return;
    if (strcmp(o->pair_col, "none") == 0)
        L->ci_pair = -1;
    else if (o->pair_col[0])
        L->ci_pair = resolve_col(L, "text-pair", o->pair_col);
    else
        L->ci_pair = auto_s1 ? find_header(L, "sentence2") : -1;
    if (L->stop)
        return;
    if (strcmp(o->label_col, "none") == 0)
        L->ci_label = -1;
    else if (o->label_col[0])
        L->ci_label = resolve_col(L, "label", o->label_col);
    else {
        int k = find_header(L, "label");
        if (k < 0)
            k = L->ncols - 1;
        L->ci_label = (k == L->ci_text || k == L->ci_pair) ? -1 : k;
    }
    if (L->stop)
        return;
    if (L->ci_pair == L->ci_text) {
        fatal(L, SM_ERR_INVALID, "--text and --text-pair name the same column (%d): give two different columns",
              L->ci_text + 1);
        return;
    }
    if (L->ci_label >= 0 && (L->ci_label == L->ci_text || L->ci_label == L->ci_pair)) {
        fatal(L, SM_ERR_INVALID, "the label column (%d) is also a text column: give --label and --text "
              "different columns", L->ci_label + 1);
        return;
    }
    if (o->regression && L->ci_label < 0) {
        fatal(L, SM_ERR_INVALID, "--regression needs a label column: give --label COL");
        return;
    }
    ds->has_pair = L->ci_pair >= 0;
    ds->has_labels = L->ci_label >= 0;
    ds->regression = o->regression && ds->has_labels;
    sm_data_report *r = &ds->rep;
    r->header = !o->no_header;
    r->text_col = L->ci_text + 1;
    r->pair_col = L->ci_pair + 1;
    r->label_col = L->ci_label + 1;
    if ((L->header && (!data_rep_set(&r->text_name, L->header[L->ci_text]) ||
                       (L->ci_pair >= 0 && !data_rep_set(&r->pair_name, L->header[L->ci_pair])) ||
                       (L->ci_label >= 0 && !data_rep_set(&r->label_name, L->header[L->ci_label])))) ||
        !set_col_descs(L))
        fatal(L, SM_ERR_NOMEM, "%s: out of memory reading the header", L->name);
}

/* ---- one data row ---- */

/* Checks a text field; 0 (and the row reported bad) when it is not usable. */
static int check_text(loader *L, int ci)
{
    fieldref *f = &L->fields[ci];
    const char *s = L->rowbuf + f->off;
    size_t bad = utf8_invalid_at((const unsigned char *)s, f->len);
    if (bad < f->len) {
        bad_row(L, SM_ERR_FORMAT, f->line, f->col + (uint32_t)bad,
                "invalid UTF-8 (byte 0x%02X) in %s: convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8",
                (unsigned char)s[bad], col_desc(L, ci));
        return 0;
    }
    if (is_blank(s, f->len)) {
        bad_row(L, SM_ERR_FORMAT, f->line, f->col, "empty text in %s: fill it in or remove the row",
                col_desc(L, ci));
        return 0;
    }
    return 1;
}

static void data_row(loader *L)
{
    sm_dataset *ds = L->ds;
    const sm_data_opts *o = L->o;
    fieldref *f = L->fields;
    if (L->row_err) {
        bad_row(L, SM_ERR_FORMAT, L->err_line, L->err_col,
                "field over %u bytes: is the delimiter or quoting wrong (an unclosed \" with --quote csv?)",
                SM_DATA_MAX_FIELD);
        return;
    }
    if ((int)L->nf != L->ncols) {
        int more = (int)L->nf > L->ncols;
        fieldref *at = more ? &f[L->ncols] : &f[L->nf - 1];
        bad_row(L, SM_ERR_FORMAT, at->line, more ? at->col : at->col + (uint32_t)at->len,
                "%zu field%s where the %s has %d: check the delimiter (--delimiter tab|comma) and quoting "
                "(--quote none|csv)", L->nf, L->nf == 1 ? "" : "s", L->header ? "header" : "first row",
                L->ncols);
        return;
    }
    if (!check_text(L, L->ci_text) || (L->ci_pair >= 0 && !check_text(L, L->ci_pair)))
        return;
    int32_t label = -1;
    float target = 0.0f;
    size_t lab_off = NO_OFF;
    if (L->ci_label >= 0) {
        fieldref *lf = &f[L->ci_label];
        char *s = L->rowbuf + lf->off;
        size_t len = lf->len;
        uint32_t col = lf->col;
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
            col++;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
            len--;
        s[len] = '\0';
        const char *cd = col_desc(L, L->ci_label);
        size_t bad = utf8_invalid_at((const unsigned char *)s, len);
        if (bad < len) {
            bad_row(L, SM_ERR_FORMAT, lf->line, col + (uint32_t)bad,
                    "invalid UTF-8 (byte 0x%02X) in the label, %s: convert the file to UTF-8",
                    (unsigned char)s[bad], cd);
            return;
        }
        if (!len) {
            bad_row(L, SM_ERR_FORMAT, lf->line, lf->col, "empty label in %s: fill it in or remove the row", cd);
            return;
        }
        if (ds->regression) {
            char *end;
            errno = 0;
            double v = strtod(s, &end);
            if (end == s || *end) {
                bad_row(L, SM_ERR_FORMAT, lf->line, col, "cannot read '%.40s' in %s as a number: "
                        "--regression needs a float target in every row", s, cd);
                return;
            }
            if (!isfinite(v) || fabs(v) > 3.0e38) {
                bad_row(L, SM_ERR_NONFINITE, lf->line, col, "the target '%.40s' in %s is not a finite "
                        "float: give a number", s, cd);
                return;
            }
            if (fabs(v) > SM_DATA_MAX_TARGET) { /* its squared error would overflow the float state */
                bad_row(L, SM_ERR_RANGE, lf->line, col, "the target '%.40s' in %s is beyond +-%g, too large "
                        "to train on in float: scale the targets (e.g. divide them by a constant)", s, cd,
                        SM_DATA_MAX_TARGET);
                return;
            }
            target = (float)v;
        } else if (o->n_labels) {
            for (int k = 0; k < o->n_labels && label < 0; k++)
                if (strcmp(o->labels[k], s) == 0)
                    label = k;
            if (label < 0) {
                sm_str known = SM_STR_INIT;
                for (int k = 0; k < o->n_labels; k++)
                    sm_str_appendf(&known, "%s%s", k ? "," : "", o->labels[k]);
                bad_row(L, SM_ERR_NOTFOUND, lf->line, col, "label '%.60s' in %s is not one of the known labels "
                        "(%s): fix the row, or give the full list with --labels", s, cd,
                        known.failed ? "out of memory listing them" : sm_str_cstr(&known));
                sm_str_free(&known);
                return;
            }
        } else if ((lab_off = pool_add(L, s, len)) == NO_OFF)
            return;
    }
    if (!ds_reserve(L, ds->n + 1))
        return;
    size_t i = ds->n;
    fieldref *t = &f[L->ci_text];
    if ((ds->text[i] = pool_add(L, L->rowbuf + t->off, t->len)) == NO_OFF)
        return;
    if (ds->has_pair) {
        fieldref *b = &f[L->ci_pair];
        if ((ds->pair[i] = pool_add(L, L->rowbuf + b->off, b->len)) == NO_OFF)
            return;
    }
    if (ds->has_labels && ds->regression)
        ds->targets[i] = target;
    else if (ds->has_labels)
        ds->labels[i] = label;
    if (ds->lab_off)
        ds->lab_off[i] = lab_off;
    ds->lines[i] = f[0].line;
    ds->n++;
    if (o->limit && ds->n >= o->limit) {
        ds->rep.limited = 1;
        L->stop = 1;
    }
}

/* ---- libcsv callbacks ---- */

static void cb_field(void *s, size_t len, void *ud)
{
    loader *L = ud;
    L->need_start = 1;
    if (L->stop)
        return;
    if (L->nf == L->fcap) {
        size_t cap = L->fcap ? L->fcap * 2 : 16;
        fieldref *nf = realloc(L->fields, cap * sizeof *nf);
        if (!nf) {
            fatal(L, SM_ERR_NOMEM, "out of memory reading %s", L->name);
            return;
        }
        L->fields = nf;
        L->fcap = cap;
    }
    fieldref *f = &L->fields[L->nf++];
    f->line = L->fline;
    f->col = L->fcol;
    f->off = L->rowlen;
    f->len = 0;
    if (len > SM_DATA_MAX_FIELD) {
        if (!L->row_err) {
            L->row_err = 1;
            L->err_line = f->line;
            L->err_col = f->col;
        }
        len = 0;
    }
    if (L->rowlen + len + 1 > L->rowcap) {
        size_t cap = L->rowcap ? L->rowcap : 4096;
        while (cap < L->rowlen + len + 1)
            cap *= 2;
        char *nb = realloc(L->rowbuf, cap);
        if (!nb) {
            fatal(L, SM_ERR_NOMEM, "out of memory reading %s", L->name);
            return;
        }
        L->rowbuf = nb;
        L->rowcap = cap;
    }
    if (len)
        memcpy(L->rowbuf + L->rowlen, s, len);
    L->rowbuf[L->rowlen + len] = '\0';
    f->len = len;
    L->rowlen += len + 1;
}

static void cb_row(int c, void *ud)
{
    loader *L = ud;
    (void)c;
    if (!L->stop && L->nf > 0) {
        if (!L->have_layout) {
            setup_layout(L);
            if (L->o->no_header && !L->stop)
                data_row(L);
        } else
            data_row(L);
    }
    L->nf = 0;
    L->rowlen = 0;
    L->row_err = 0;
    L->at_row_start = 1;
    L->need_start = 1;
}

/* ---- feeding bytes ---- */

/* libcsv grows its field buffer by a fixed block (128 bytes) per realloc: quadratic on a long field.
 * These keep the real capacity in a header before the block and grow it geometrically, so most of
 * libcsv's reallocs return at once. */
typedef union grow_hdr {
    size_t cap;
    max_align_t align;
} grow_hdr;

static void *grow_realloc(void *p, size_t n)
{
    grow_hdr *h = p ? (grow_hdr *)p - 1 : NULL;
    if (h && n <= h->cap)
        return p;
    size_t cap = n < 4096 ? 4096 : n + n / 2;
    if (cap < n || cap > SIZE_MAX - sizeof *h)
        return NULL;
    grow_hdr *nh = realloc(h, sizeof *h + cap);
    if (!nh)
        return NULL;
    nh->cap = cap;
    return nh + 1;
}

static void grow_free(void *p)
{
    if (p)
        free((grow_hdr *)p - 1);
}

static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

/* Feed one chunk to libcsv; (cl, cc) is the position of its first byte. */
static void parse_chunk(loader *L, const unsigned char *p, size_t n, uint32_t cl, uint32_t cc)
{
    size_t done = csv_parse(&L->p, p, n, cb_field, cb_row, L);
    if (done == n || L->stop)
        return;
    if (csv_error(&L->p) == CSV_EPARSE)
        fatal(L, SM_ERR_FORMAT, "%s:%u:%u: a \" inside a field that is not quoted, or text after a closing \": "
              "quote the whole field and double each \" inside it, or use --quote none if \" is an ordinary "
              "character in this file", L->name, cl, cc + (uint32_t)done);
    else
        fatal(L, SM_ERR_NOMEM, "%s:%u:%u: %s", L->name, cl, cc, csv_strerror(csv_error(&L->p)));
}

/* Track positions and feed libcsv in chunks that end at a delimiter or line end, so that every
 * callback happens at a known byte (the fields' line:column come from that). */
static void process_bytes(loader *L, const unsigned char *buf, size_t len)
{
    size_t start = 0;
    uint32_t cl = L->line, cc = (uint32_t)(L->offset - L->line_start + 1);
    for (size_t i = 0; i < len && !L->stop; i++) {
        unsigned char c = buf[i];
        int term = c == '\n' || c == '\r';
        if (L->need_start && !(L->at_row_start && term)) {
            L->fline = L->line;
            L->fcol = (uint32_t)(L->offset - L->line_start + 1);
            L->need_start = 0;
            L->at_row_start = 0;
        }
        if (c == 0) {
            fatal(L, SM_ERR_FORMAT, "%s:%u:%u: NUL byte: this is not a text file (binary, or UTF-16?): give a "
                  "UTF-8 TSV or CSV file", L->name, L->line, (uint32_t)(L->offset - L->line_start + 1));
            return;
        }
        if (term && L->at_row_start && !(c == '\n' && L->prev == '\r'))
            L->ds->rep.blank_lines++;
        if (c == '\n') {
            if (L->prev != '\r')
                L->line++;
            else
                L->ds->rep.crlf = 1;
            L->line_start = L->offset + 1;
        } else if (c == '\r') {
            L->line++;
            L->line_start = L->offset + 1;
        }
        L->prev = c;
        L->offset++;
        if (term || c == L->delim) {
            parse_chunk(L, buf + start, i + 1 - start, cl, cc);
            start = i + 1;
            cl = L->line;
            cc = (uint32_t)(L->offset - L->line_start + 1);
        }
    }
    if (!L->stop && start < len)
        parse_chunk(L, buf + start, len - start, cl, cc);
}

static void feed(loader *L, const unsigned char *buf, size_t len)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    while (!L->head_done && len > 0) {
        L->head[L->nhead++] = *buf++;
        len--;
        int n = L->nhead;
        if (n < 3 && memcmp(L->head, bom, (size_t)n) == 0)
            continue;
        if (n == 1 && (L->head[0] == 0xFF || L->head[0] == 0xFE))
            continue;
        L->head_done = 1;
        if (n >= 2 && ((L->head[0] == 0xFF && L->head[1] == 0xFE) || (L->head[0] == 0xFE && L->head[1] == 0xFF))) {
            fatal(L, SM_ERR_FORMAT, "%s:1:1: UTF-16 byte-order mark: this file is UTF-16, not UTF-8: convert "
                  "it, e.g. iconv -f utf-16 -t utf-8", L->name);
            return;
        }
        if (n == 3 && memcmp(L->head, bom, 3) == 0) {
            L->ds->rep.bom = 1;
            L->offset = L->line_start = 3;
        } else
            process_bytes(L, L->head, (size_t)n);
    }
    if (len && !L->stop)
        process_bytes(L, buf, len);
}

static void finish(loader *L)
{
    if (!L->head_done && !L->stop) {
        L->head_done = 1;
        process_bytes(L, L->head, (size_t)L->nhead);
    }
    if (L->stop)
        return;
    if (csv_fini(&L->p, cb_field, cb_row, L) != 0 && !L->stop)
        fatal(L, SM_ERR_FORMAT, "%s:%u:%u: a quoted field is never closed: close its \", or use --quote none "
              "if \" is an ordinary character in this file", L->name, L->fline, L->fcol);
}

/* ---- loading ---- */

sm_status sm_dataset_load_chunked(const char *name, const void *data, size_t len, size_t chunk,
                                  const sm_data_opts *o, sm_dataset **out, sm_error *e)
{
    *out = NULL;
    sm_data_opts defaults;
    if (!o) {
        sm_data_opts_init(&defaults);
        o = &defaults;
    }
    if (!name)
        name = "(data)";
    sm_dataset *ds = sm_calloc(1, sizeof *ds, e, "dataset");
    if (!ds)
        return SM_ERR_NOMEM;
    int csv_ext = has_ext(name, ".csv");
    sm_data_report *r = &ds->rep;
    data_report_init(r);
    if (!data_rep_set(&r->path, name)) {
        sm_dataset_free(ds);
        return sm_err(e, SM_ERR_NOMEM, "out of memory loading %s", name);
    }
    r->quote = o->quote != SM_QUOTE_AUTO ? o->quote : csv_ext ? SM_QUOTE_CSV : SM_QUOTE_NONE;
    r->quote_by_ext = o->quote == SM_QUOTE_AUTO;
    r->delimiter = o->delimiter == SM_DELIM_COMMA ? ',' : o->delimiter == SM_DELIM_TAB ? '\t' : csv_ext ? ',' : '\t';
    ds->max_len = o->max_len > 0 ? o->max_len : 128;

    loader L;
    memset(&L, 0, sizeof L);
    L.o = o;
    L.name = name;
    L.ds = ds;
    L.e = e;
    L.line = 1;
    L.at_row_start = L.need_start = 1;
    L.delim = (unsigned char)r->delimiter;
    L.ci_text = L.ci_pair = L.ci_label = -1;
    /* standard quoting is strict: a stray " is reported where it is, not silently absorbed */
    unsigned char copts = r->quote == SM_QUOTE_CSV ? CSV_STRICT | CSV_STRICT_FINI : 0;
    if (csv_init(&L.p, copts) != 0) {
        sm_dataset_free(ds);
        return sm_err(e, SM_ERR_NOMEM, "out of memory starting the CSV parser");
    }
    csv_set_delim(&L.p, L.delim);
    /* --quote none: NUL bytes are rejected before they reach libcsv, so NUL as the quote character
     * means no byte ever opens a quoted field */
    csv_set_quote(&L.p, r->quote == SM_QUOTE_CSV ? CSV_QUOTE : 0);
    csv_set_space_func(&L.p, no_space);
    csv_set_realloc_func(&L.p, grow_realloc);
    csv_set_free_func(&L.p, grow_free);
    const unsigned char *bytes = data;
    if (chunk == 0)
        chunk = len;
    for (size_t at = 0; at < len && !L.stop; at += chunk)
        feed(&L, bytes + at, len - at < chunk ? len - at : chunk);
    finish(&L);
    csv_free(&L.p);
    free(L.rowbuf);
    free(L.fields);
    for (int k = 0; k < 3; k++)
        sm_str_free(&L.desc[k]);
    if (L.header)
        for (int k = 0; k < L.ncols; k++)
            free(L.header[k]);
    free(L.header);
    sm_status st = L.st;
    if (st == SM_OK)
        st = data_finalize(ds, o, name, L.have_layout, e);
    if (st != SM_OK) {
        sm_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SM_OK;
}

sm_status sm_dataset_load_mem(const char *name, const void *data, size_t len, const sm_data_opts *o,
                              sm_dataset **out, sm_error *e)
{
    return sm_dataset_load_chunked(name, data, len, 0, o, out, e);
}

sm_status sm_dataset_load(const char *path, const sm_data_opts *o, sm_dataset **out, sm_error *e)
{
    char *data;
    size_t len;
    *out = NULL;
    sm_status st = sm_read_file(path, &data, &len, 0, e);
    if (st != SM_OK)
        return st;
    st = sm_dataset_load_mem(path, data, len, o, out, e);
    free(data);
    return st;
}
