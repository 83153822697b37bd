/* bench_data.c: the time to load and tokenize all of SST-2's training set (67,349 rows) on one core,
 * split into reading+parsing and tokenizing, plus one shuffled, bucketed epoch of batches of 32; the
 * best of N runs. Target (issue 3, criterion 3): load + tokenize under 2 s.
 * Reproduce:  make bench && SMARTTY_SHARED=/work/shared ./bench/bench_data [runs, default 3] [file] [vocab]
 * Not a test: it prints numbers and the target they are held to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/batch.h"
#include "smartty/data.h"

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    const char *root = getenv("SMARTTY_SHARED");
    char data[1024], vocab[1024];
    snprintf(data, sizeof data, "%s/datasets/sst2/train.tsv", root && *root ? root : "../shared");
    snprintf(vocab, sizeof vocab, "%s/vocab/bert-base-uncased/vocab.txt", root && *root ? root : "../shared");
    if (argc > 2)
        snprintf(data, sizeof data, "%s", argv[2]);
    if (argc > 3)
        snprintf(vocab, sizeof vocab, "%s", argv[3]);
    if (runs < 1)
        runs = 1;
    sm_error e;
    sm_tokenizer *tok;
    if (sm_tokenizer_load(vocab, 1, &tok, &e) != SM_OK) {
        fprintf(stderr, "bench_data: %s (set SMARTTY_SHARED to the shared data folder)\n", e.msg);
        return 1;
    }
    sm_data_opts o;
    sm_data_opts_init(&o);
    double best_load = 1e30, best_tok = 1e30, best_total = 1e30, best_epoch = 1e30;
    size_t rows = 0, bytes = 0, tokens = 0, batches = 0;
    char report[4096] = "";
    for (int r = 0; r < runs; r++) {
        sm_dataset *ds;
        double t0 = sm_now();
        if (sm_dataset_load(data, &o, &ds, &e) != SM_OK) {
            fprintf(stderr, "bench_data: %s\n", e.msg);
            return 1;
        }
        double t1 = sm_now();
        if (sm_dataset_tokenize(ds, tok, 128, &e) != SM_OK) {
            fprintf(stderr, "bench_data: %s\n", e.msg);
            return 1;
        }
        double t2 = sm_now();
        sm_batcher_opts bo = sm_batcher_default_opts();
        bo.bucket = 50;
        sm_batcher *b;
        if (sm_batcher_new(ds, &bo, sm_tokenizer_pad_id(tok), &b, &e) != SM_OK) {
            fprintf(stderr, "bench_data: %s\n", e.msg);
            return 1;
        }
        sm_batch batch = {0};
        int end = 0;
        batches = 0;
        while (!end) {
            if (sm_batcher_next(b, &batch, &end, &e) != SM_OK) {
                fprintf(stderr, "bench_data: %s\n", e.msg);
                return 1;
            }
            batches++;
        }
        double t3 = sm_now();
        rows = sm_dataset_size(ds);
        bytes = 0;
        tokens = 0;
        for (size_t i = 0; i < rows; i++) {
            bytes += strlen(sm_dataset_text(ds, i));
            tokens += (size_t)sm_dataset_tokens(ds, i, NULL, NULL);
        }
        best_load = t1 - t0 < best_load ? t1 - t0 : best_load;
        best_tok = t2 - t1 < best_tok ? t2 - t1 : best_tok;
        best_total = t2 - t0 < best_total ? t2 - t0 : best_total;
        best_epoch = t3 - t2 < best_epoch ? t3 - t2 : best_epoch;
        sm_data_report_format(ds, report, sizeof report);
        sm_batch_free(&batch);
        sm_batcher_free(b);
        sm_dataset_free(ds);
    }
    printf("%s", report);
    printf("bench_data: %s, %zu rows, %.2f MB of text, %zu tokens; best of %d run%s, one core\n", data, rows,
           (double)bytes / 1e6, tokens, runs, runs == 1 ? "" : "s");
    printf("  load (read + parse):   %8.3f s  (%.0f rows/s)\n", best_load, (double)rows / best_load);
    printf("  tokenize (max-len 128): %7.3f s  (%.1f MB/s of text)\n", best_tok, (double)bytes / 1e6 / best_tok);
    printf("  load + tokenize:       %8.3f s  target < 2 s: %s\n", best_total, best_total < 2.0 ? "met" : "NOT met");
    printf("  one epoch of batches:  %8.3f s  (%zu batches of 32, shuffled, bucketed by 50)\n", best_epoch, batches);
    sm_data_opts_free(&o);
    sm_tokenizer_free(tok);
    return 0;
}
