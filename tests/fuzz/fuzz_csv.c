/* fuzz_csv.c: libFuzzer harness for the data loader: arbitrary bytes as a file, read with an option
 * combination and a parser chunk size taken from the first three bytes, then the report, a
 * stand-in tokenization and one epoch of batches. Looks for crashes and sanitizer reports only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/data/data_internal.h"
#include "smartty/batch.h"
#include "smartty/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int push(sm_ids *v, int32_t x)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        int32_t *p = realloc(v->v, cap * sizeof *p);
        if (!p)
            return 0;
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return 1;
}

/* [CLS] one id per byte of a (and b) [SEP], cut to max_len from the end. */
static sm_status byte_encoder(void *ud, const char *a, const char *b, int max_len, sm_ids *ids, sm_ids *types,
                              sm_error *e)
{
    (void)ud;
    ids->n = types->n = 0;
    size_t la = strlen(a), lb = b ? strlen(b) : 0, extra = b ? 3 : 2;
    while (max_len > 0 && la + lb + extra > (size_t)max_len) {
        if (la > lb)
            la--;
        else
            lb--;
    }
    int ok = push(ids, 1) && push(types, 0);
    for (size_t i = 0; i < la && ok; i++)
        ok = push(ids, (unsigned char)a[i] + 3) && push(types, 0);
    ok = ok && push(ids, 2) && push(types, 0);
    for (size_t i = 0; b && i < lb && ok; i++)
        ok = push(ids, (unsigned char)b[i] + 3) && push(types, 1);
    if (b)
        ok = ok && push(ids, 2) && push(types, 1);
    return ok ? SM_OK : sm_err(e, SM_ERR_NOMEM, "out of memory");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t f = data[0], g = data[1], chunk = data[2];
    data += 3;
    size -= 3;
    sm_data_opts o;
    sm_data_opts_init(&o);
    o.quote = (f & 1) ? SM_QUOTE_CSV : (f & 2) ? SM_QUOTE_NONE : SM_QUOTE_AUTO;
    o.delimiter = (f & 4) ? SM_DELIM_COMMA : SM_DELIM_AUTO;
    o.no_header = (f >> 3) & 1;
    o.skip_bad = (f >> 4) & 1;
    o.regression = (f >> 5) & 1;
    if ((f >> 6) & 1) {
        const char *names[] = {"0", "1", "pos"};
        sm_error e;
        if (sm_data_opts_set_labels(&o, names, 3, &e) != SM_OK)
            abort();
    }
    if (g & 3)
        snprintf(o.text_col, sizeof o.text_col, "%d", g & 3);
    if ((g >> 2) & 3)
        snprintf(o.label_col, sizeof o.label_col, "%d", (g >> 2) & 3);
    if ((g >> 4) & 1)
        strcpy(o.pair_col, (g >> 5) & 1 ? "none" : "3");
    if ((g >> 6) & 1)
        o.limit = 5;
    if ((g >> 7) & 1) {
        o.sample = 3;
        o.seed = chunk;
    }
    const char *name = (f >> 7) & 1 ? "fuzz.csv" : "fuzz.tsv";
    sm_dataset *ds = NULL;
    sm_error e;
    sm_status st = sm_dataset_load_chunked(name, data, size, chunk, &o, &ds, &e);
    if (st == SM_OK) {
        char rep[4096];
        sm_data_report_format(ds, rep, sizeof rep);
        for (size_t i = 0; i < sm_dataset_size(ds); i++) {
            if (!sm_dataset_text(ds, i))
                abort();
            (void)sm_dataset_text_pair(ds, i);
            (void)sm_dataset_label(ds, i);
        }
        if (sm_dataset_tokenize_fn(ds, byte_encoder, NULL, 3 + chunk % 40, &e) == SM_OK) {
            sm_batcher_opts bo = sm_batcher_default_opts();
            bo.batch_size = 1 + chunk % 4;
            bo.bucket = f & 3;
            bo.shuffle = (g & 1) || bo.bucket;
            sm_batcher *b;
            if (sm_batcher_new(ds, &bo, 0, &b, &e) == SM_OK) {
                sm_batch batch = {0};
                size_t nb = sm_batcher_batches_per_epoch(b);
                for (size_t k = 0; k < nb + 1; k++)
                    if (sm_batcher_next(b, &batch, NULL, &e) != SM_OK)
                        abort();
                sm_batch_pos pos;
                sm_batcher_position(b, &pos);
                if (sm_batcher_restore(b, &pos, &e) != SM_OK)
                    abort();
                sm_batch_free(&batch);
                sm_batcher_free(b);
            }
        }
        sm_dataset_free(ds);
    } else if (!e.msg[0]) {
        abort(); /* every failure explains itself */
    }
    sm_data_opts_free(&o);
    return 0;
}
