/* data_internal.h: the dataset's structure, shared by the reader (data_read.c) and the dataset
 * (data.c), the few functions they share, and the loader's streaming entry point for tests and the
 * fuzz harness. Not part of the public API. */
#ifndef SMARTTY_DATA_INTERNAL_H
#define SMARTTY_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/data.h"

#define NO_OFF ((size_t)-1)

struct sm_dataset {
    size_t n, cap;          /* rows, allocated rows */
    char *pool;             /* all texts (and, while loading, label strings), NUL-terminated */
    size_t pool_len, pool_cap;
    size_t *text;           /* [n] offset of the text in pool */
    size_t *pair;           /* [n] offset of the second text, or NULL without a pair column */
    int32_t *labels;        /* [n] class ids, or NULL */
    float *targets;         /* [n] regression targets, or NULL */
    uint32_t *lines;        /* [n] line of the row in the file */
    size_t *lab_off;        /* [n] label strings in pool while loading without a fixed mapping */
    char **label_names;     /* [n_labels] */
    int n_labels;
    size_t *label_counts;   /* [n_labels] */
    int has_pair, has_labels, regression, max_len;
    int32_t *tok_ids;       /* [tok_off[n]] all rows' ids, one after another */
    int32_t *tok_types;     /* [tok_off[n]] their token types */
    size_t *tok_off;        /* [n+1] row i is tok_ids[tok_off[i] .. tok_off[i+1]) */
    sm_data_report rep;
};

/* The report's text fields are the dataset's own whole copies, an empty string when unset:
 * data_report_init sets them all so, data_rep_set replaces one by a copy of src (0: out of memory). */
void data_report_init(sm_data_report *r);
int data_rep_set(char **dst, const char *src);

/* After the reader: the label mapping (fixed by the options, or built from the labels seen), the
 * default label column's sanity check, --sample, the label counts and target statistics. name is
 * the path for messages; have_layout 0 when the file had no row at all. */
sm_status data_finalize(sm_dataset *ds, const sm_data_opts *o, const char *name, int have_layout,
                        sm_error *e);

/* The same as sm_dataset_load_mem, but the bytes reach the parser `chunk` bytes at a time (0: all
 * at once), so that every buffer boundary can be exercised. */
sm_status sm_dataset_load_chunked(const char *name, const void *data, size_t len, size_t chunk,
                                  const sm_data_opts *o, sm_dataset **out, sm_error *e);

#endif
