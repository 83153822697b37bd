/* data.h: the data layer: delimited text (TSV/CSV through libcsv) loaded into a dataset of texts,
 * text pairs and labels; the data options shared by every command that loads data; loading reports;
 * and tokenization into one compact pool (the batcher that turns a dataset into padded batches is
 * batch.h's). It never prints: reports come back as a struct and as text the caller prints. */
#ifndef SMARTTY_DATA_H
#define SMARTTY_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"
#include "smartty/str.h"
#include "smartty/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SM_DATA_MAX_FIELD (1u << 20) /* a field longer than this (bytes) is a bad row */
#define SM_DATA_MAX_BAD 5            /* bad rows whose message the report keeps */
#define SM_DATA_COL_MAX 1024         /* longest column spec (number or header name); longer is refused */
#define SM_DATA_REPORT_LABELS 60     /* classes listed by sm_data_report_format */
#define SM_DATA_MAX_TARGET 1e9       /* a regression target beyond +-this is a bad row (its square
                                        * would overflow the float optimizer state) */

typedef enum sm_quote {
    SM_QUOTE_AUTO = 0, /* by extension: .csv standard quoting, anything else none */
    SM_QUOTE_NONE,     /* GLUE TSV: a " is an ordinary character */
    SM_QUOTE_CSV       /* RFC 4180: "..." fields, "" for a quote inside, newlines allowed inside */
} sm_quote;

typedef enum sm_delim {
    SM_DELIM_AUTO = 0, /* by extension: .csv comma, anything else tab */
    SM_DELIM_TAB,
    SM_DELIM_COMMA
} sm_delim;

/* The data options, the same wherever data is loaded (predict, train, the console's load).
 * Initialise with sm_data_opts_init, free with sm_data_opts_free. Defaults (documented in
 * sm_data_opts_usage): text column auto, label column auto, header on, delimiter and quoting by
 * extension, labels sorted, classification, all rows, seed 42, stop at the first bad row,
 * max length 128. */
typedef struct sm_data_opts {
    char text_col[SM_DATA_COL_MAX];  /* 1-based number or header name; "" auto */
    char pair_col[SM_DATA_COL_MAX];  /* "" auto (sentence2 after an auto sentence1), "none" */
    char label_col[SM_DATA_COL_MAX]; /* "" auto (header "label", else the last column), "none" */
    int no_header;                   /* the first row is data */
    sm_delim delimiter;
    sm_quote quote;
    char **labels;                   /* [n_labels] fixed label mapping (id = index), or NULL */
    int n_labels;
    int regression;                  /* the label column is a float target */
    size_t limit;                    /* keep the first N good rows; 0 all */
    size_t sample;                   /* then keep a reproducible random N of them; 0 all */
    uint64_t seed;                   /* for --sample */
    int skip_bad;                    /* skip bad rows (counted and reported) instead of failing */
    int max_len;                     /* token limit per example, [CLS] and [SEP]s included */
} sm_data_opts;

void sm_data_opts_init(sm_data_opts *o);
void sm_data_opts_free(sm_data_opts *o);
/* Deep copy (dst is overwritten; free it first if it held labels). */
sm_status sm_data_opts_copy(sm_data_opts *dst, const sm_data_opts *src, sm_error *e);
/* Fix the label mapping (id k = names[k]), e.g. from a model or a train set. n = 0 clears it.
 * Duplicate or empty names are an error. */
sm_status sm_data_opts_set_labels(sm_data_opts *o, const char *const *names, int n, sm_error *e);

/* Consume the data option at argv[i] (`--opt VALUE` or `--opt=VALUE`). Returns the number of argv
 * entries used (1 or 2), 0 when argv[i] is not a data option (the caller handles it), or -1 with e
 * filled when its value is missing or bad (the message names the option and the allowed values). */
int sm_data_opts_parse_one(sm_data_opts *o, int argc, char **argv, int i, sm_error *e);
/* Consume every data option in argv[first..*argc), compacting argv so that on return
 * argv[first..*argc) holds the other arguments, in order. A lone "--" ends option parsing. */
sm_status sm_data_opts_parse(sm_data_opts *o, int *argc, char **argv, int first, sm_error *e);
/* One line per option, generated from the option table: "  --text COL   ...". */
const char *sm_data_opts_usage(void);

const char *sm_quote_name(sm_quote q); /* "none", "csv", "auto" */

/* What loading found, for the caller to show (sm_data_report_format) or inspect. */
typedef struct sm_data_report {
    char *path;           /* the name the data was loaded under, whole (the dataset owns the texts here) */
    size_t rows;          /* rows in the dataset (after --limit and --sample) */
    size_t rows_read;     /* good rows read (before --sample) */
    size_t skipped;       /* bad rows skipped with --skip-bad */
    size_t blank_lines;   /* empty lines, ignored */
    int header;           /* the first row was a header */
    int bom;              /* a UTF-8 byte-order mark was stripped */
    int crlf;             /* CR LF line ends were seen */
    char delimiter;       /* '\t' or ',' */
    sm_quote quote;       /* quoting used: SM_QUOTE_NONE or SM_QUOTE_CSV */
    int quote_by_ext;     /* quote came from the file's extension, not --quote */
    int text_col, pair_col, label_col;     /* 1-based, 0 when absent */
    char *text_name, *pair_name, *label_name; /* header names, whole; "" without a header */
    int limited;          /* --limit stopped reading */
    int sampled;          /* --sample subsampled */
    int n_bad;            /* messages kept in bad[] */
    char *bad[SM_DATA_MAX_BAD];            /* the first bad rows' messages (file:line:col: ...), whole */
    double target_min, target_max, target_mean; /* regression targets */
    /* filled by sm_dataset_tokenize: lengths before truncation, nearest-rank percentiles */
    int tokenized;
    int max_len;
    int32_t len_p50, len_p90, len_p95, len_p99, len_max;
    size_t truncated;     /* examples longer than max_len, cut to it */
} sm_data_report;

typedef struct sm_dataset sm_dataset;

/* Load a delimited file. The dataset owns copies of all texts. */
sm_status sm_dataset_load(const char *path, const sm_data_opts *o, sm_dataset **out, sm_error *e);
/* The same from memory; name stands for the path in messages and picks defaults by extension. */
sm_status sm_dataset_load_mem(const char *name, const void *data, size_t len, const sm_data_opts *o,
                              sm_dataset **out, sm_error *e);
void sm_dataset_free(sm_dataset *ds);

size_t sm_dataset_size(const sm_dataset *ds);
int sm_dataset_has_pair(const sm_dataset *ds);
int sm_dataset_has_labels(const sm_dataset *ds);
int sm_dataset_is_regression(const sm_dataset *ds);
const char *sm_dataset_text(const sm_dataset *ds, size_t i);
const char *sm_dataset_text_pair(const sm_dataset *ds, size_t i); /* NULL without a pair */
int32_t sm_dataset_label(const sm_dataset *ds, size_t i);  /* class id; -1 when none */
float sm_dataset_target(const sm_dataset *ds, size_t i);   /* regression target; 0 when none */
uint32_t sm_dataset_line(const sm_dataset *ds, size_t i);  /* line of the row in its file */
int sm_dataset_num_labels(const sm_dataset *ds);
const char *sm_dataset_label_name(const sm_dataset *ds, int k);
/* All class names in id order ([sm_dataset_num_labels]), e.g. to fix a dev set's mapping to the
 * train set's: sm_data_opts_set_labels(&dev_opts, sm_dataset_label_names(train), n, e). */
const char *const *sm_dataset_label_names(const sm_dataset *ds);
size_t sm_dataset_label_count(const sm_dataset *ds, int k); /* rows with class k */
const sm_data_report *sm_dataset_report(const sm_dataset *ds);

/* Tokenize every row with sm_tokenizer_encode_pair into one id pool (max_len 0: the load options'
 * --max-len). Fills the report's length percentiles (lengths before truncation). */
sm_status sm_dataset_tokenize(sm_dataset *ds, const sm_tokenizer *tok, int max_len, sm_error *e);
/* The same with any encoder of [CLS] a [SEP] (b [SEP]) truncated to max_len (0: no limit), which
 * clears and fills ids and types (growing their v with realloc) — sm_tokenizer_encode_pair's contract. */
typedef sm_status (*sm_encode_fn)(void *ud, const char *a, const char *b, int max_len, sm_ids *ids,
                                  sm_ids *types, sm_error *e);
sm_status sm_dataset_tokenize_fn(sm_dataset *ds, sm_encode_fn encode, void *ud, int max_len, sm_error *e);
int sm_dataset_tokenized(const sm_dataset *ds);
/* Row i's tokens: returns the length and points *ids and *types (either may be NULL) at them. */
int32_t sm_dataset_tokens(const sm_dataset *ds, size_t i, const int32_t **ids, const int32_t **types);

/* The report as text, one fact per line, appended to out (never cut short). */
sm_status sm_data_report_append(const sm_dataset *ds, sm_str *out, sm_error *e);
/* The same into buf; returns the length it needed (like snprintf), 0 when out of memory. */
size_t sm_data_report_format(const sm_dataset *ds, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
