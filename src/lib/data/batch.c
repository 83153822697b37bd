/* batch.c: padded batches from a tokenized dataset, and the batcher: per-epoch seeded shuffling,
 * optional length bucketing, file order for evaluation, and a position that is plain data so a
 * resumed run draws exactly the same batches. It does not tokenize or load (data.c). */
#include "smartty/batch.h"

#include "smartty/data.h"

#include <stdlib.h>
#include <string.h>

sm_status sm_batch_reserve(sm_batch *b, int B, int T, int regression, sm_error *e)
{
    if (B <= 0 || T <= 0)
        return sm_err(e, SM_ERR_INVALID, "batch shape %dx%d: both must be positive", B, T);
    if (B > b->cap_B || T > b->cap_T || (regression ? !b->targets : !b->labels)) {
        int cb = B > b->cap_B ? B : b->cap_B, ct = T > b->cap_T ? T : b->cap_T;
        size_t bt = (size_t)cb * (size_t)ct;
        int32_t *ids = realloc(b->ids, bt * sizeof *ids);
        if (ids)
            b->ids = ids;
        int32_t *types = realloc(b->types, bt * sizeof *types);
        if (types)
            b->types = types;
        float *mask = realloc(b->mask, bt * sizeof *mask);
        if (mask)
            b->mask = mask;
        int32_t *lengths = realloc(b->lengths, (size_t)cb * sizeof *lengths);
        if (lengths)
            b->lengths = lengths;
        uint32_t *rows = realloc(b->rows, (size_t)cb * sizeof *rows);
        if (rows)
            b->rows = rows;
        int ok = ids && types && mask && lengths && rows;
        if (regression) {
            free(b->labels);
            b->labels = NULL;
            float *t = realloc(b->targets, (size_t)cb * sizeof *t);
            if (t)
                b->targets = t;
            ok = ok && t;
        } else {
            free(b->targets);
            b->targets = NULL;
            int32_t *l = realloc(b->labels, (size_t)cb * sizeof *l);
            if (l)
                b->labels = l;
            ok = ok && l;
        }
        if (!ok)
            return sm_err(e, SM_ERR_NOMEM, "out of memory for a batch of %dx%d tokens", cb, ct);
        b->cap_B = cb;
        b->cap_T = ct;
    }
    return SM_OK;
}

void sm_batch_free(sm_batch *b)
{
    if (!b)
        return;
    free(b->ids);
    free(b->types);
    free(b->mask);
    free(b->lengths);
    free(b->labels);
    free(b->targets);
    free(b->rows);
    memset(b, 0, sizeof *b);
}

/* ids/types/mask [n, T]: row b's tokens, then pad_id / 0 / 0 up to T (T = the longest row). */
sm_status sm_batch_fill(sm_batch *b, const sm_dataset *ds, const uint32_t *rows, int n, int32_t pad_id,
                        sm_error *e)
{
    if (!sm_dataset_tokenized(ds))
        return sm_err(e, SM_ERR_STATE, "the dataset is not tokenized: call sm_dataset_tokenize first");
    if (n <= 0)
        return sm_err(e, SM_ERR_INVALID, "a batch needs at least one row");
    size_t N = sm_dataset_size(ds);
    int T = 1;
    for (int i = 0; i < n; i++) {
        if (rows[i] >= N)
            return sm_err(e, SM_ERR_RANGE, "row %u is outside the dataset (%zu rows)", rows[i], N);
        int32_t len = sm_dataset_tokens(ds, rows[i], NULL, NULL);
        T = len > T ? len : T;
    }
    int regression = sm_dataset_is_regression(ds);
    sm_status st = sm_batch_reserve(b, n, T, regression, e);
    if (st != SM_OK)
        return st;
    b->B = n;
    b->T = T;
    for (int i = 0; i < n; i++) {
        const int32_t *ids, *types;
        int32_t len = sm_dataset_tokens(ds, rows[i], &ids, &types);
        size_t base = (size_t)i * (size_t)T;
        memcpy(b->ids + base, ids, (size_t)len * sizeof *ids);
        memcpy(b->types + base, types, (size_t)len * sizeof *types);
        for (int t = 0; t < len; t++)
            b->mask[base + (size_t)t] = 1.0f;
        for (int t = len; t < T; t++) {
            b->ids[base + (size_t)t] = pad_id;
            b->types[base + (size_t)t] = 0;
            b->mask[base + (size_t)t] = 0.0f;
        }
        b->lengths[i] = len;
        b->rows[i] = rows[i];
        if (regression)
            b->targets[i] = sm_dataset_target(ds, rows[i]);
        else
            b->labels[i] = sm_dataset_label(ds, rows[i]);
    }
    return SM_OK;
}

struct sm_batcher {
    const sm_dataset *ds;
    sm_batcher_opts o;
    int32_t pad_id;
    size_t n;           /* rows */
    uint32_t *order;    /* [n] this epoch's rows, batch after batch */
    uint32_t *scratch;  /* [n] */
    size_t *starts;     /* [max batches + 1] batch k is order[starts[k] .. starts[k+1]) */
    uint32_t *perm;     /* [max batches] batch order when bucketing */
    size_t nb;          /* batches this epoch */
    sm_batch_pos pos;
    sm_rng next_rng;    /* the state after drawing this epoch's order: the next epoch draws from it */
};

sm_batcher_opts sm_batcher_default_opts(void)
{
    sm_batcher_opts o = {.batch_size = 32, .shuffle = 1, .bucket = 0, .drop_last = 0, .seed = 42};
    return o;
}

typedef struct len_key {
    int32_t len;
    uint32_t row;
} len_key;

static int cmp_len_key(const void *a, const void *b)
{
    const len_key *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Draw this epoch's order from pos.rng (a copy: pos keeps the state the order was drawn from). */
static sm_status draw_order(sm_batcher *b, sm_rng *rng, sm_error *e)
{
    size_t n = b->n, bs = (size_t)b->o.batch_size;
    for (size_t i = 0; i < n; i++)
        b->order[i] = (uint32_t)i;
    size_t used = n;
    if (b->o.drop_last)
        used = n / bs * bs;
    b->nb = (used + bs - 1) / bs;
    if (b->o.shuffle)
        sm_rng_shuffle(rng, b->order, n);
    if (b->o.shuffle && b->o.bucket > 0) {
        /* sort chunks of bucket*bs rows by length, then shuffle whole batches */
        size_t chunk = (size_t)b->o.bucket * bs;
        len_key *keys = sm_malloc((chunk < n ? chunk : n) * sizeof *keys, e, "bucket keys");
        if (!keys)
            return SM_ERR_NOMEM;
        for (size_t c0 = 0; c0 < n; c0 += chunk) {
            size_t m = n - c0 < chunk ? n - c0 : chunk;
            for (size_t k = 0; k < m; k++) {
                keys[k].row = b->order[c0 + k];
                keys[k].len = sm_dataset_tokens(b->ds, keys[k].row, NULL, NULL);
            }
            qsort(keys, m, sizeof *keys, cmp_len_key);
            for (size_t k = 0; k < m; k++)
                b->order[c0 + k] = keys[k].row;
        }
        free(keys);
        for (size_t k = 0; k < b->nb; k++)
            b->perm[k] = (uint32_t)k;
        sm_rng_shuffle(rng, b->perm, b->nb);
        size_t w = 0;
        for (size_t k = 0; k < b->nb; k++) {
            size_t s = (size_t)b->perm[k] * bs, end = s + bs < used ? s + bs : used;
            b->starts[k] = w;
            for (size_t i = s; i < end; i++)
                b->scratch[w++] = b->order[i];
        }
        b->starts[b->nb] = w;
        memcpy(b->order, b->scratch, w * sizeof *b->order);
    } else {
        for (size_t k = 0; k <= b->nb; k++)
            b->starts[k] = k * bs < used ? k * bs : used;
    }
    return SM_OK;
}

/* Draw the order of the epoch in b->pos, from a copy of its RNG state. */
static sm_status start_epoch(sm_batcher *b, sm_error *e)
{
    b->next_rng = b->pos.rng;
    return draw_order(b, &b->next_rng, e);
}

sm_status sm_batcher_new(const sm_dataset *ds, const sm_batcher_opts *o, int32_t pad_id, sm_batcher **out,
                         sm_error *e)
{
    *out = NULL;
    if (!sm_dataset_tokenized(ds))
        return sm_err(e, SM_ERR_STATE, "the dataset is not tokenized: call sm_dataset_tokenize first");
    if (o->batch_size <= 0)
        return sm_err(e, SM_ERR_INVALID, "batch size %d: give a positive number of examples", o->batch_size);
    if (o->bucket < 0)
        return sm_err(e, SM_ERR_INVALID, "bucket %d: give 0 (off) or a number of batches per bucket", o->bucket);
    size_t n = sm_dataset_size(ds);
    if (n > UINT32_MAX)
        return sm_err(e, SM_ERR_RANGE, "%zu rows: at most %u rows per dataset", n, UINT32_MAX);
    if (o->drop_last && n < (size_t)o->batch_size)
        return sm_err(e, SM_ERR_INVALID, "%zu rows make no full batch of %d: lower the batch size or keep the "
                      "last batch", n, o->batch_size);
    sm_batcher *b = sm_calloc(1, sizeof *b, e, "batcher");
    if (!b)
        return SM_ERR_NOMEM;
    size_t maxb = n / (size_t)o->batch_size + 2;
    b->ds = ds;
    b->o = *o;
    b->pad_id = pad_id;
    b->n = n;
    b->order = sm_malloc(n * sizeof *b->order + 1, e, "batch order");
    b->scratch = sm_malloc(n * sizeof *b->scratch + 1, e, "batch order");
    b->starts = sm_malloc(maxb * sizeof *b->starts, e, "batch starts");
    b->perm = sm_malloc(maxb * sizeof *b->perm, e, "batch order");
    if (!b->order || !b->scratch || !b->starts || !b->perm) {
        sm_batcher_free(b);
        return SM_ERR_NOMEM;
    }
    sm_rng_seed(&b->pos.rng, o->seed);
    b->pos.n_rows = n;
    b->pos.batch_size = (uint32_t)o->batch_size;
    sm_status st = start_epoch(b, e);
    if (st != SM_OK) {
        sm_batcher_free(b);
        return st;
    }
    *out = b;
    return SM_OK;
}

void sm_batcher_free(sm_batcher *b)
{
    if (!b)
        return;
    free(b->order);
    free(b->scratch);
    free(b->starts);
    free(b->perm);
    free(b);
}

size_t sm_batcher_batches_per_epoch(const sm_batcher *b) { return b->nb; }

sm_status sm_batcher_next(sm_batcher *b, sm_batch *out, int *epoch_end, sm_error *e)
{
    if (b->pos.index >= b->nb) {
        b->pos.rng = b->next_rng;
        b->pos.epoch++;
        b->pos.index = 0;
        sm_status st = start_epoch(b, e);
        if (st != SM_OK)
            return st;
    }
    size_t k = (size_t)b->pos.index;
    sm_status st = sm_batch_fill(out, b->ds, b->order + b->starts[k], (int)(b->starts[k + 1] - b->starts[k]),
                                 b->pad_id, e);
    if (st != SM_OK)
        return st;
    b->pos.index++;
    if (epoch_end)
        *epoch_end = b->pos.index >= b->nb;
    return SM_OK;
}

void sm_batcher_position(const sm_batcher *b, sm_batch_pos *pos) { *pos = b->pos; }

void sm_batch_pos_pack(const sm_batch_pos *pos, uint64_t out[SM_BATCH_POS_WORDS])
{
    uint64_t spare;
    memcpy(&spare, &pos->rng.spare, sizeof spare);
    out[0] = pos->epoch;
    out[1] = pos->index;
    for (int k = 0; k < 4; k++)
        out[2 + k] = pos->rng.s[k];
    out[6] = spare;
    out[7] = (uint64_t)pos->rng.has_spare;
    out[8] = pos->n_rows;
    out[9] = pos->batch_size;
}

void sm_batch_pos_unpack(sm_batch_pos *pos, const uint64_t in[SM_BATCH_POS_WORDS])
{
    memset(pos, 0, sizeof *pos);
    pos->epoch = in[0];
    pos->index = in[1];
    for (int k = 0; k < 4; k++)
        pos->rng.s[k] = in[2 + k];
    memcpy(&pos->rng.spare, &in[6], sizeof pos->rng.spare);
    pos->rng.has_spare = in[7] != 0;
    pos->n_rows = in[8];
    pos->batch_size = (uint32_t)in[9];
}

sm_status sm_batcher_restore(sm_batcher *b, const sm_batch_pos *pos, sm_error *e)
{
    if (pos->n_rows != b->n || pos->batch_size != (uint32_t)b->o.batch_size)
        return sm_err(e, SM_ERR_STATE, "the saved data position is for %llu rows in batches of %u, but this "
                      "dataset has %zu rows in batches of %d: load the same data with the same batch size",
                      (unsigned long long)pos->n_rows, pos->batch_size, b->n, b->o.batch_size);
    sm_batch_pos old = b->pos;
    b->pos = *pos;
    sm_status st = start_epoch(b, e);
    if (st == SM_OK && b->pos.index > b->nb)
        st = sm_err(e, SM_ERR_STATE, "the saved data position is batch %llu of an epoch of %zu batches: "
                    "load the same data with the same batching options", (unsigned long long)pos->index, b->nb);
    if (st != SM_OK) {
        b->pos = old;
        start_epoch(b, NULL);
    }
    return st;
}
